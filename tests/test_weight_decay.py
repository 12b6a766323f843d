"""Weight decay: the lr-find range test, sweeps, explain and the summary's
wording for presets that decay (their update rules are checked against PyTorch and
Keras by the oracle fixtures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gradtrace
import gradtrace.text
from gradtrace.lrfind import lr_find
from helpers import range_test_and_rebuilt


def line() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    return {"x": x, "y": 2 * x + 1 + rng.normal(0, 0.5, 200)}


@pytest.mark.parametrize("preset", ["torch.adamw", "keras.adamw", "adamw"])
def test_the_range_test_decays_at_each_steps_rate(preset: str) -> None:
    """The range test builds an AdamW preset at each step's rate, so the decay
    (w *= 1 - lr * wd) is scaled as a run at that rate scales it: its steps equal
    the preset's own, built at each rate in turn, on the same gradients."""
    ours, theirs = range_test_and_rebuilt(preset, weight_decay=0.5)
    for k in ("w", "b"):
        assert float(ours[k]) == pytest.approx(float(theirs[k]), rel=1e-6)
    # a decay not scaled by the rate would have shrunk w by 0.5 a step
    assert abs(float(ours["w"])) > 0.05


def test_lr_find_runs_an_adamw_preset() -> None:
    table, summary = lr_find(
        line(), "line", optimizer="torch.adamw", opt={"weight_decay": 0.1}, steps=60
    )
    assert len(table) == 60 and np.isfinite(table["batch_loss"].iloc[0])
    assert summary["min_loss_lr"] is not None


def test_a_decayed_run_is_told_why_it_stops_short_of_the_optimum() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.adamw",
        lr=0.05,
        opt={"weight_decay": 0.5},
        steps=600,
    )
    (said,) = [w for w in trace.warnings if "standard errors" in w]
    # still on its way (w rises 0.002 each 10 steps): more steps would get closer,
    # to where the decay balances the gradient
    assert "the run has not converged; more steps" in said
    assert "weight decay (0.5) also pulls every parameter toward 0" in said
    assert not any("has not moved" in w for w in trace.warnings)
    # Keras's SGD settled at its decayed point from step 93 on (a newcomer was
    # told b was stuck, and to rescale x or train in float64)
    settled = gradtrace.fit(
        "seed001_line",
        optimizer="keras.sgd",
        lr=0.5,
        opt={"weight_decay": 0.1},
        epochs=5000,
    )
    (said,) = settled.warnings  # and b is not said to be stuck there
    assert said.startswith("b ended 2.92 standard errors from the loss's optimum")
    # settled: the decay, in place of "has not converged; more steps would get
    # closer", which they would not
    assert "settles short of it, as this one has" in said and "more steps" not in said
    # the fixed point: the decay balances Adam's normalised step, short of 2
    assert 0 < trace.params["w"] < trace.info["optimum"]["w"]
    plain = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.adamw",
        lr=0.05,
        opt={"weight_decay": 0.0},
        steps=600,
    )
    assert not any("standard errors" in w for w in plain.warnings)


@pytest.mark.parametrize("optimizer", ["torch.rmsprop", "torch.sgd", "torch.adamw"])
def test_a_run_a_schedule_slowed_is_not_said_to_be_held_by_its_weight_decay(
    optimizer: str,
) -> None:
    """A run whose schedule cut its rate to a tenth moves little in its last
    steps, but by all its steps' sizes: it crawls, far from where the decay
    would hold it (a PyTorch user was told the decay held it, which 400 epochs
    at a fixed rate showed false)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([1.5, -0.7, 3.1]) + 0.4 + rng.normal(0, 0.3, 200)
    data = {"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "y": y}
    trace = gradtrace.fit(
        data,
        "linear",
        optimizer=optimizer,
        lr=0.01,
        opt={"weight_decay": 0.05},
        lr_schedule={"name": "torch.multistep", "milestones": [2, 4], "gamma": 0.3},
        batch_size=50,
        epochs=6,
        shuffle=False,
        dtype="float64",
    )
    (said,) = [w for w in trace.warnings if "standard errors" in w]
    assert "the run has not converged; more steps would get closer" in said
    assert "weight decay (0.05) also pulls every parameter toward 0" in said
    assert "as this one has" not in said


def test_explain_shows_what_the_decayed_step_added() -> None:
    """AdamW writes the decayed weight, then the step: explain's "added" is the
    new value minus the old, and its "after" is the trace's next value."""
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="keras.adamw",
        lr=0.1,
        opt={"weight_decay": 0.2},
        steps=5,
    )
    table = trace.explain(3).attrs["update"]
    frame = trace.to_pandas()
    for name in ("w", "b"):
        before, after = frame[name].iloc[2], frame[name].iloc[3]
        assert table.loc[name, "after"] == pytest.approx(after, rel=1e-6)
        assert table.loc[name, "added"] == pytest.approx(after - before, rel=1e-5)


def test_a_sweep_over_weight_decay_runs_each_value() -> None:
    sweep = gradtrace.sweep(
        line(),
        "line",
        optimizer="torch.adamw",
        lr=[0.05],
        opt={"weight_decay": [0.0, 0.5]},
        steps=300,
    )
    table = sweep.table.sort_values("weight_decay")
    w = table["w"].to_numpy()
    assert w[1] < w[0]  # the decay pulls w toward 0
    single = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.adamw",
        lr=0.05,
        opt={"weight_decay": 0.5},
        steps=300,
    )
    assert w[1] == pytest.approx(single.params["w"], rel=1e-5)


@pytest.mark.parametrize(
    ("preset", "hyper"),
    [
        ("keras.sgd", {"momentum": 0.9, "weight_decay": 0.1}),
        ("keras.adam", {"weight_decay": 0.1}),
        ("torch.sgd", {"momentum": 0.9, "weight_decay": 0.1}),
    ],
)
def test_explain_says_what_the_weight_decay_took(preset: str, hyper: dict) -> None:
    """Keras 3's weight_decay on any of its optimizers (decoupled): added is the
    decay, -w wd lr, plus the optimizer's own step, and explain names the decay;
    PyTorch's coupled form: the gradient the update took, g + wd w."""
    trace = gradtrace.fit(line(), "line", optimizer=preset, lr=0.01, opt=hyper, steps=4)
    text = trace.explain_text(3)
    table = trace.explain(3).attrs["update"]
    before = table["before"]
    if preset.startswith("keras"):
        assert "added includes the weight decay, -w * weight_decay * lr" in text
        shares = {k: -v * 0.1 * 0.01 for k, v in before.items()}
        assert f"w {gradtrace.text.fmt(shares['w'])}" in text
        if preset == "keras.sgd":  # the momentum buffer is the rest of what was added
            own = table["velocity after"] + pd.Series(shares)
            np.testing.assert_allclose(table["added"], own, rtol=1e-5)
    else:
        pulled = table["gradient"] + 0.1 * before
        assert "The update took the gradient plus weight_decay x w" in text
        assert f"w {gradtrace.text.fmt(pulled['w'])}" in text
    # a run without decay says nothing of one
    plain = gradtrace.fit(line(), "line", optimizer=preset, lr=0.01, steps=4)
    assert "weight decay" not in plain.explain_text(3)
