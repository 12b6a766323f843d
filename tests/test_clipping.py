"""Gradient clipping: each form's arithmetic, the trace keeping the gradients before
it, sweeps, explain and what bad input is told. Each form is checked against
PyTorch and Keras by the oracle fixtures (``tests/oracle/fixtures/*clip*.json``)."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace.core.clipping import GradClip
from helpers import run_cli

GRADS = {"w": np.array([3.0, -4.0], np.float32), "b": np.float32(12.0)}


def clipped(name: str, value: float) -> dict[str, np.ndarray]:
    g = {k: jnp.asarray(v) for k, v in GRADS.items()}
    out, _ = GradClip.create(name, value).transform().update(g, None)
    return {k: np.asarray(v) for k, v in out.items()}


def test_each_form_scales_or_clamps_as_its_framework() -> None:
    total = 13.0  # sqrt(9 + 16 + 144)
    # PyTorch's clip_grad_norm_: all scaled by max_norm / (total + 1e-6)
    torch = clipped("torch.norm", 1.0)
    np.testing.assert_allclose(torch["w"], GRADS["w"] / (total + 1e-6), rtol=1e-6)
    # Keras's clipnorm: each variable on its own (w's norm 5, b's 12)
    keras = clipped("keras.norm", 1.0)
    np.testing.assert_allclose(keras["w"], GRADS["w"] / 5, rtol=1e-6)
    assert float(keras["b"]) == pytest.approx(1.0)
    # global norms: Keras's and optax's scale all together
    for name in ("keras.global_norm", "global_norm"):
        both = clipped(name, 6.5)
        np.testing.assert_allclose(both["w"], GRADS["w"] / 2, rtol=1e-6)
        assert float(both["b"]) == pytest.approx(6.0)
    # values: clamped each
    for name in ("torch.value", "keras.value", "value"):
        each = clipped(name, 3.5)
        assert each["w"].tolist() == [3.0, -3.5] and float(each["b"]) == 3.5
    # a norm within the bound leaves the gradients as they are
    assert clipped("keras.global_norm", 100.0)["w"].tolist() == [3.0, -4.0]


@given(st.floats(0.01, 100.0), st.floats(-50, 50), st.floats(-50, 50))
def test_a_clipped_norm_is_at_most_the_bound(bound: float, a: float, b: float) -> None:
    g = {"w": jnp.asarray([a, b], jnp.float32)}
    for name in ("torch.norm", "keras.norm", "keras.global_norm", "global_norm"):
        out, _ = GradClip.create(name, bound).transform().update(g, None)
        norm = float(jnp.linalg.norm(out["w"]))
        assert norm <= bound * (1 + 1e-5) + 1e-6
        if float(jnp.linalg.norm(g["w"])) <= bound * 0.999:  # within: unchanged
            np.testing.assert_allclose(out["w"], g["w"], rtol=1e-5, atol=1e-30)


def line() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    x = rng.normal(size=100)
    return {"x": x, "y": 3 * x + 1 + rng.normal(0, 0.5, 100)}


def test_clipping_keeps_a_rate_above_the_limit_from_blowing_up() -> None:
    """SGD at lr 2.5 on a line diverges; with the gradients clipped to a norm of
    1 each step moves at most 2.5 and the run ends where it can; the trace keeps
    the gradients before clipping."""
    blown = gradtrace.fit(line(), "line", lr=2.5, steps=60)
    assert blown.status == "diverged"
    kept = gradtrace.fit(line(), "line", lr=2.5, steps=60, clip="torch.norm=1")
    assert kept.status == "completed"
    frame = kept.to_pandas()
    steps = np.hypot(frame["w"].diff(), frame["b"].diff())[1:]
    assert float(steps.max()) <= 2.5 * (1 + 1e-5)
    grads = np.hypot(frame["grad_w"], frame["grad_b"])[1:]
    assert float(grads.max()) > 1.5  # recorded as computed, before clipping
    assert kept.info["clip"] == {"name": "torch.norm", "max_norm": 1.0}
    said = " ".join(kept.warnings)  # the diagnosis knows the steps are bounded
    assert "unclipped, it would diverge" in said and "it will diverge" not in said
    assert "Clipping (torch.norm(max_norm=1)) bounds each step" in said


def test_a_sweep_clips_as_a_fit_does() -> None:
    options = dict(clip="keras.global_norm=0.5", steps=40, optimizer="keras.sgd")
    sweep = gradtrace.sweep(line(), "line", lr=[0.5, 1.5], **options)
    for lr, w in zip(sweep.table["lr"], sweep.table["w"], strict=True):
        single = gradtrace.fit(line(), "line", lr=lr, **options)  # type: ignore[arg-type]
        assert w == pytest.approx(single.params["w"], rel=1e-5)


def test_explain_replays_the_clipped_update() -> None:
    trace = gradtrace.fit(line(), "line", lr=0.5, steps=5, clip="keras.norm=0.1")
    frame = trace.to_pandas()
    update = trace.explain(2).attrs["update"]
    assert update.loc["w", "after"] == pytest.approx(frame["w"].iloc[2], rel=1e-6)
    # each variable's step is the rate times a gradient of norm 0.1 at most
    assert abs(update.loc["w", "added"]) <= 0.5 * 0.1 * (1 + 1e-6)


def test_the_command_line_names_the_clipping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        'clip = "torch.norm=1.0"\nlr-schedule = "torch.step:step_size=2"\n'
    )
    args = [
        "fit",
        "seed001_line",
        "--config",
        str(config),
        "--lr",
        "2",
        "--epochs",
        "3",
    ]
    code, out, _ = run_cli([*args, "--out", str(tmp_path / "c")], capsys)
    assert code == 0
    assert "gradients clipped by torch.norm(max_norm=1.0) before each update" in out
    assert "learning rate torch.step(step_size=2, gamma=0.1)" in out
    code, out, _ = run_cli(["rerun", str(tmp_path / "c")], capsys)
    assert code == 0 and "identical" in out


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("torch.nrom=1", "Did you mean 'torch.norm'?"),
        (
            "torch.norm",
            "clipping 'torch.norm' needs its max_norm: give it as torch.norm=VALUE",
        ),
        ("torch.norm=-1", "max_norm must be a positive number, got '-1'"),
        ("torch.norm=big", "max_norm must be a number, got 'big'"),
        ("keras.norm:max_norm=1", "takes one parameter, clipnorm"),
        (
            "torch.norm=1.0,norm_type=inf",
            "takes one parameter, max_norm, not 'norm_type' (it clips by the "
            "2-norm, clip_grad_norm_'s default)",
        ),
        ("torch.value=1,foo=2", "takes one parameter, clip_value, not 'foo'"),
    ],
)
def test_bad_clipping_is_told_what_to_give(
    given: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["fit", "seed001_line", "--clip", given], capsys)
    assert code == 2 and said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_gradient_clipped_by_value_from_infinity_takes_a_step() -> None:
    """sqrt(a x) at a = 0 has an infinite gradient in a: clamped by value, as
    PyTorch's clip_grad_value_ and Keras's clipvalue clamp it, the step is finite
    and the run goes on; unclipped it stops there."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, 80)
    data = {"x": x, "y": np.sqrt(2.0 * x) + 0.5 + rng.normal(0, 0.05, 80)}
    model = gradtrace.Model(
        lambda p, x: jnp.sqrt(p["a"] * x) + p["b"], {"a": 0.0, "b": 0.5}
    )
    # b held: its gradient at a = 0 goes through sqrt's infinite slope too
    options = dict(fix={"b": 0.5}, lr=0.1, steps=300)
    clipped_run = gradtrace.fit(data, model, clip="torch.value=1", **options)
    frame = clipped_run.to_pandas()
    assert np.isinf(frame["grad_a"].iloc[1])  # recorded as computed
    assert frame["a"].iloc[1] == pytest.approx(0.1)  # -lr * clamp(-inf, -1, 1)
    assert clipped_run.status == "completed"
    assert clipped_run.params["a"] == pytest.approx(2.0, rel=0.1)
    assert gradtrace.fit(data, model, **options).status == "diverged"
