"""PyTorch's OneCycleLR (which cycles the optimizer's momentum too) and
CosineAnnealingWarmRestarts: their rates and momenta, the trace's columns, sweeps,
explain, resuming and rerunning, and what bad input is told. Each step is checked
against PyTorch by the oracle fixtures (``torch_*_onecycle*.json``,
``torch_*_cosine_restarts*.json``), which record the rate and momentum each step
used."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace.core import schedules
from gradtrace.core.schedules import LrSchedule
from gradtrace.tables import param_columns
from helpers import cut_and_resumed, run_cli


def line() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=100)
    return {"x": x, "y": 3 * x - 1 + rng.normal(0, 0.5, 100)}


def onecycle_by_hand(lr: float, total: int, pct: float) -> tuple[list, list]:
    """OneCycleLR's two cosine phases as its documentation states them: from
    lr/25 up to lr at step pct*total - 1, then down to lr/25/1e4 at the last;
    the momentum from 0.95 down to 0.85 and back."""

    def cos(a: float, b: float, f: float) -> float:
        return b + (a - b) * (1 + math.cos(math.pi * f)) / 2

    top = pct * total - 1
    rates, momenta = [], []
    for t in range(total):
        if t <= top:
            f = t / top
            rates.append(cos(lr / 25, lr, f))
            momenta.append(cos(0.95, 0.85, f))
        else:
            f = (t - top) / (total - 1 - top)
            rates.append(cos(lr, lr / 25 / 1e4, f))
            momenta.append(cos(0.85, 0.95, f))
    return rates, momenta


def test_onecycle_climbs_to_the_rate_and_anneals_with_the_momentum_opposite() -> None:
    s = LrSchedule.create("torch.onecycle")
    rates, momenta = onecycle_by_hand(0.1, 50, 0.3)
    np.testing.assert_allclose(s.epoch_rates(0.1, 50), rates, rtol=1e-13)
    np.testing.assert_allclose(s.momenta(50), momenta, rtol=1e-13)
    assert s.epoch_rates(0.1, 50)[14] == 0.1  # step pct * total - 1: the peak
    assert str(s).startswith("torch.onecycle(pct_start=0.3, anneal_strategy=cos")
    assert "total_steps" not in str(s)  # 0: the run's own, goes without saying


def test_onecycle_three_phases_and_linear_annealing() -> None:
    s = LrSchedule.create(
        "torch.onecycle", three_phase=True, anneal_strategy="linear", pct_start=0.25
    )
    rates = np.asarray(s.epoch_rates(1.0, 40))
    momenta = s.momenta(40)
    # up to lr at step 9 (pct_start * 40 - 1), down to lr/25 at step 18, then to
    # lr/25/1e4 at the last
    np.testing.assert_allclose(rates[:10], np.linspace(0.04, 1, 10), rtol=1e-12)
    np.testing.assert_allclose(rates[9:19], np.linspace(1, 0.04, 10), rtol=1e-12)
    np.testing.assert_allclose(rates[18:], np.linspace(0.04, 4e-6, 22), rtol=1e-12)
    np.testing.assert_allclose(momenta[:10], np.linspace(0.95, 0.85, 10), rtol=1e-12)
    np.testing.assert_allclose(momenta[9:19], np.linspace(0.85, 0.95, 10), rtol=1e-12)
    assert np.all(momenta[18:] == 0.95)


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(3, 3000),
    pct=st.floats(0.05, 0.95),
    three=st.booleans(),
    cos=st.booleans(),
)
def test_onecycle_by_numpy_is_its_python_recursion_to_rounding(
    total: int, pct: float, three: bool, cos: bool
) -> None:
    s = LrSchedule.create(
        "torch.onecycle",
        pct_start=pct,
        three_phase=three,
        anneal_strategy="cos" if cos else "linear",
    )
    try:
        s.check(total, 1)
    except ValueError:  # a phase of no length: PyTorch divides by zero there
        return
    exact = np.asarray(s._closed(0.3, total, exact=True))
    fast = s._closed(0.3, total, exact=False)
    np.testing.assert_allclose(fast, exact, rtol=1e-14, atol=1e-18)
    low = 0.3 / 25 / 1e4
    assert exact.max() <= 0.3 and exact.min() >= low * (1 - 1e-9)
    if not three:  # two phases end at lr/25/1e4
        assert exact[-1] == pytest.approx(low, rel=1e-9)


def test_cyclic_rises_and_falls_between_base_lr_and_lr() -> None:
    """CyclicLR, as its documentation states it: triangles from base_lr up to lr
    (its max_lr) over step_size_up steps and down over step_size_down, the
    momentum the other way between max_momentum and base_momentum;
    triangular2 halves each cycle's height, exp_range scales it by
    gamma**step."""
    s = LrSchedule.create("torch.cyclic", base_lr=0.1, step_size_up=4)
    rates = np.asarray(s.epoch_rates(0.5, 17))
    expected = 0.1 + 0.4 * np.array([0, 1, 2, 3, 4, 3, 2, 1] * 2 + [0]) / 4
    np.testing.assert_allclose(rates, expected, rtol=1e-14)
    momenta = s.momenta(17)
    np.testing.assert_allclose(momenta, 0.9 - 0.1 * (expected - 0.1) / 0.4)
    halved = LrSchedule.create(
        "torch.cyclic",
        base_lr=0.0,
        step_size_up=2,
        step_size_down=1,
        mode="triangular2",
    )
    peaks = np.asarray(halved.epoch_rates(1.0, 9))[[2, 5, 8]]
    np.testing.assert_allclose(peaks, [1.0, 0.5, 0.25], rtol=1e-14)
    ranged = LrSchedule.create(
        "torch.cyclic", base_lr=0.0, step_size_up=3, mode="exp_range", gamma=0.9
    )
    at = np.asarray(ranged.epoch_rates(1.0, 10))
    np.testing.assert_allclose(at[[3, 9]], [0.9**3, 0.9**9], rtol=1e-14)
    assert s.unit(per_epoch=10) == 1  # stepped after each batch, as its docs do


@settings(max_examples=30, deadline=None)
@given(
    up=st.integers(1, 50),
    down=st.integers(0, 50),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    n=st.integers(1, 2000),
)
def test_cyclic_by_numpy_is_its_python_loop_to_rounding(
    up: int, down: int, mode: str, n: int
) -> None:
    s = LrSchedule.create(
        "torch.cyclic",
        base_lr=0.01,
        step_size_up=up,
        step_size_down=down,
        mode=mode,
        gamma=0.999,
    )
    exact = s._cyclic(0.2, n, exact=True)
    fast = s._cyclic(0.2, n, exact=False)
    for a, b in zip(exact, fast, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-16)


def test_warm_restarts_cycles_grow_by_t_mult() -> None:
    s = LrSchedule.create("torch.cosine_restarts", T_0=2, T_mult=3, eta_min=0.1)
    rates = np.asarray(s.epoch_rates(1.1, 9))
    # restarts at epochs 0, 2 and 8; cycles of 2 and 6 epochs
    half = [(1 + math.cos(math.pi * i / n)) / 2 for n, i in [(2, 0), (2, 1)]]
    half += [(1 + math.cos(math.pi * i / 6)) / 2 for i in range(6)] + [1.0]
    np.testing.assert_allclose(rates, 0.1 + 1.0 * np.asarray(half), rtol=1e-14)


def test_the_trace_keeps_the_momentum_the_schedule_set() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.sgd",
        lr=0.1,
        lr_schedule="torch.onecycle:pct_start=0.4",
        batch_size=20,
        epochs=4,
        exact=False,
    )
    frame = trace.to_pandas()
    assert list(frame.columns[:5]) == ["step", "epoch", "batch", "lr", "momentum"]
    assert param_columns(frame) == ["w", "b"]
    _, momenta = onecycle_by_hand(0.1, 20, 0.4)
    np.testing.assert_allclose(frame["momentum"][1:], momenta, rtol=1e-13)
    # the given momentum (0) stays the optimizer's; the schedule's replaces it
    assert trace.info["optimizer"]["momentum"] == 0.0
    # so does the history, one row an epoch
    np.testing.assert_array_equal(trace.history()["momentum"], frame["momentum"][5::5])


def test_a_parameter_named_as_the_cycled_momentum_is_refused() -> None:
    with pytest.raises(gradtrace.InputError, match="parameter named beta1"):
        gradtrace.fit(
            {"x": np.arange(5.0), "y": np.arange(5.0)},
            model_expr="beta1 * x",
            optimizer="torch.adam",
            lr_schedule="torch.onecycle",
        )


@pytest.mark.parametrize(
    ("optimizer", "schedule"),
    [
        ("torch.adam", "torch.onecycle:pct_start=0.4"),
        ("torch.rmsprop", "torch.onecycle:base_momentum=0.5,max_momentum=0.8"),
        ("torch.sgd", "torch.cosine_restarts:T_0=3,T_mult=2,by_batch=true"),
        ("torch.adamw", "torch.cyclic:base_lr=0.001,step_size_up=3,mode=triangular2"),
    ],
)
def test_a_sweep_cycles_each_run_as_a_fit_does(optimizer: str, schedule: str) -> None:
    options = dict(optimizer=optimizer, batch_size=25, epochs=5, shuffle=False)
    sweep = gradtrace.sweep(
        line(), "line", lr=[0.01, 0.05], lr_schedule=schedule, **options
    )
    table = sweep.table.sort_values("lr")
    for lr, w in zip(table["lr"], table["w"], strict=True):
        single = gradtrace.fit(
            line(),
            "line",
            lr=lr,
            lr_schedule=schedule,
            exact=False,
            **options,  # type: ignore[arg-type]
        )
        assert w == pytest.approx(single.params["w"], rel=2e-5)


def test_a_sweep_of_the_cycled_momentum_is_refused() -> None:
    with pytest.raises(gradtrace.InputError, match="drop it from the sweep"):
        gradtrace.sweep(
            line(),
            "line",
            optimizer="torch.sgd",
            lr=[0.01],
            opt={"momentum": [0.5, 0.9]},
            lr_schedule="torch.onecycle",
            batch_size=50,
            epochs=2,
        )


def test_explain_gives_the_steps_own_momentum() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.adam",
        lr=0.05,
        lr_schedule="torch.onecycle",
        batch_size=25,
        epochs=3,
        exact=False,
    )
    frame = trace.to_pandas()
    step = 2
    update = trace.explain(step).attrs["update"]
    for name in ("w", "b"):
        assert update.loc[name, "after"] == pytest.approx(frame[name][step], rel=1e-6)
        # m after = m before + (1 - beta1) (g - m before), beta1 the step's
        m0, m1, g = update.loc[name, ["m before", "m after", "gradient"]]
        assert (m1 - m0) / (g - m0) == pytest.approx(1 - frame["beta1"][step], rel=1e-4)
    text = trace.explain_text(step)
    beta1 = f"{frame['beta1'][step]:.7g}"
    assert "this step's rate and beta1, from torch.onecycle: " in text
    assert beta1 in text and "beta1=0.9" not in text


def test_a_onecycle_run_resumes_to_the_uninterrupted_trace(tmp_path: Path) -> None:
    frame = pd.DataFrame(line())
    options = dict(
        optimizer="torch.adamw",
        lr=0.05,
        lr_schedule="torch.onecycle:three_phase=true",
        batch_size=20,
        epochs=5,
        shuffle=False,
    )
    whole = gradtrace.fit(frame, "line", **options)  # type: ignore[arg-type]
    cut, done = cut_and_resumed(frame, "line", options, tmp_path / "run", 4, 3)
    assert cut.status == "interrupted"
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())


def test_a_longer_rerun_of_a_onecycle_needs_its_total_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["fit", "seed001_line", "--optimizer", "torch.sgd", "--lr", "0.05"]
    base += ["--batch-size", "25", "--epochs", "2"]
    code, _, err = run_cli(
        [*base, "--lr-schedule", "torch.onecycle", "--out", "a"], capsys
    )
    assert code == 0, err
    code, _, err = run_cli(["rerun", "a", "--epochs", "4", "--out", "a4"], capsys)
    assert code == 2 and "spans its own steps (total_steps=0)" in err
    assert not Path("a4").exists()
    spanned = "torch.onecycle:total_steps=16"
    code, _, err = run_cli([*base, "--lr-schedule", spanned, "--out", "b"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["rerun", "b", "--epochs", "4", "--out", "b4"], capsys)
    assert code == 0, err
    whole = [*base[:-1], "4", "--lr-schedule", spanned, "--out", "whole"]
    assert run_cli(whole, capsys)[0] == 0
    pd.testing.assert_frame_equal(
        gradtrace.load("b4").to_pandas(), gradtrace.load("whole").to_pandas()
    )
    code, _, err = run_cli(["rerun", "b", "--epochs", "5", "--out", "b5"], capsys)
    assert code == 2 and "give total_steps of at least 20" in err


@pytest.mark.parametrize(
    "schedule",
    [
        "torch.onecycle:three_phase=true",
        "torch.cosine_restarts:T_0=7,T_mult=2,eta_min=0.001",
        "torch.cosine_restarts:T_0=30",
        "torch.cyclic:base_lr=0.01,step_size_up=7,mode=exp_range,gamma=0.999",
    ],
)
def test_a_long_run_keeps_pytorchs_rates_and_momenta(
    schedule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond TABLE_EPOCHS scheduler steps (here 50) the rates come from NumPy's
    closed form at once: within an ulp of PyTorch's, step by step by
    ``math``."""
    options = dict(
        optimizer="torch.sgd",
        lr=0.05,
        lr_schedule=schedule,
        batch_size=20,
        epochs=40,
        exact=False,
    )
    if "restarts" in schedule:
        options["lr_schedule"] += ",by_batch=true"
    tabled = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    monkeypatch.setattr(schedules, "TABLE_EPOCHS", 50)
    schedules._cycled_momenta.cache_clear()
    long = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    for column in ("lr", "momentum"):
        if column in tabled.to_pandas():
            ours = long.to_pandas()[column].to_numpy()[1:]
            pytorch = tabled.to_pandas()[column].to_numpy()[1:]
            ulps = np.abs(ours - pytorch) / np.spacing(pytorch.astype(np.float32))
            assert ulps.max() <= 1
    for name in ("w", "b"):
        assert long.params[name] == pytest.approx(tabled.params[name], rel=1e-5)


def test_the_diagnosis_takes_the_cycled_momentum() -> None:
    """Plain torch.sgd under OneCycleLR trains with momentum 0.85 to 0.95: the
    diagnosis judges the rate against momentum's limit at the smallest, 2(1 +
    0.85)/L, not plain gradient descent's 2/L (which called a rate that converges
    one that diverges)."""
    trace = gradtrace.fit(
        "seed001_line",
        optimizer="torch.sgd",
        lr=1.2,
        steps=200,
        lr_schedule="torch.onecycle",
    )
    said = " ".join(trace.info["diagnosis"]["findings"])
    assert "within the stable limit of gradient descent with momentum 0.85" in said
    assert "diverge" not in said and trace.status == "completed"


def test_a_schedule_too_long_to_tabulate_is_refused_before_it_is_built() -> None:
    schedule = LrSchedule.create("torch.onecycle")
    with pytest.raises(ValueError, match="at most 4194304"):
        schedule.check(schedules.MOST_TABLED * 100, 1)  # at once, not after 1e9 rows


def test_the_command_line_shows_the_cycle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--optimizer",
            "torch.adam",
            "--lr",
            "0.05",
            "--lr-schedule",
            "torch.onecycle",
            "--epochs",
            "10",
            "--batch-size",
            "50",
            "--out",
            str(tmp_path / "one"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "0.002 at step 1, 0.05 at its peak (step 6), to 2e-07 at the last" in out
    assert (
        "beta1 cycled by it (in place of the optimizer's): 0.95 at step 1, 0.85 at "
        "its lowest (step 6), 0.95 at the last"
    ) in out
    header = next(row for row in out.splitlines() if row.startswith("step"))
    assert header.split()[:6] == ["step", "epoch", "batch", "lr", "beta1", "w"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--optimizer", "torch.adagrad", "--lr-schedule", "torch.onecycle"],
            "torch.adagrad has none, as PyTorch says too: give "
            "torch.onecycle:cycle_momentum=false.",
        ),
        (
            ["--optimizer", "torch.rprop", "--lr-schedule", "torch.onecycle"],
            "torch.rprop has none, as PyTorch says too: give "
            "torch.onecycle:cycle_momentum=false.",
        ),
        (
            [
                "--optimizer",
                "torch.adadelta",
                "--lr-schedule",
                "torch.cyclic:base_lr=0.1",
            ],
            "torch.adadelta has none, as PyTorch says too: give "
            "torch.cyclic:cycle_momentum=false.",
        ),
        (
            ["--optimizer", "torch.nadam", "--lr-schedule", "torch.onecycle"],
            "does not cycle torch.nadam's: give torch.onecycle:cycle_momentum",
        ),
        (
            ["--optimizer", "keras.adam", "--lr-schedule", "torch.onecycle"],
            "does not cycle keras.adam's",
        ),
        (
            ["--epochs", "3", "--lr-schedule", "torch.onecycle:total_steps=2"],
            "torch.onecycle ends at total_steps=2, before the run's 3 steps "
            "(PyTorch stops: 'Tried to step 3 times'): give total_steps of at "
            "least 3",
        ),
        (
            ["--epochs", "10", "--lr-schedule", "torch.onecycle:pct_start=0.1"],
            "pct_start=0.1 of 10 steps leaves a phase of no length",
        ),
        (["--lr-schedule", "torch.onecycle:pct_start=1.5"], "from 0 to 1, got 1.5"),
        (["--lr-schedule", "torch.onecycle:anneal_strategy=cosine"], "'cos'?"),
        (["--lr-schedule", "torch.onecycle:div_factor=0"], "above 0, such as 25"),
        (["--lr-schedule", "torch.onecycle:total_steps=2.5"], "a whole number"),
        (["--lr-schedule", "torch.onecycle:by_batch=true"], "no parameter"),
        (["--lr-schedule", "torch.cosine_restarts"], "needs T_0"),
        (["--lr-schedule", "torch.cyclic"], "needs base_lr"),
        (  # the default optimizer, optax's sgd: the PyTorch one offered
            ["--lr-schedule", "torch.onecycle"],
            "does not cycle sgd's: train with --optimizer torch.sgd (or another",
        ),
        (
            ["--lr-schedule", "torch.cyclic:base_lr=0.1,step_size_up=0"],
            "step_size_up counts epochs: give a whole number of at least 1",
        ),
        (
            ["--epochs", "10", "--lr-schedule", "torch.onecycle:pct_start=1"],
            "pct_start=1 of 10 steps leaves a phase of no length",
        ),
        (
            ["--lr-schedule", "torch.onecycle:max_momentum=1"],
            "max_momentum is a momentum (beta1), from 0 up to but not 1",
        ),
        (["--lr-schedule", "torch.cyclic:base_lr=0.1,mode=triangle"], "'triangular'?"),
        (
            ["--optimizer", "torch.adagrad", "--lr-schedule", "torch.cyclic:base_lr=0"],
            "give torch.cyclic:cycle_momentum=false.",
        ),
        (["--lr-schedule", "torch.cosine_restarts:T_0=2,T_mult=0"], "T_mult counts"),
        (  # OneCycleLR(opt, max_lr, epochs=2, steps_per_epoch=5), as it is called
            ["--lr-schedule", "torch.onecycle:epochs=2,steps_per_epoch=5"],
            "takes total_steps, not epochs: it spans the run unless given "
            "(PyTorch's epochs * steps_per_epoch is total_steps",
        ),
    ],
)
def test_bad_cycles_are_told_what_to_give(
    args: list[str],
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["fit", "seed001_line", *args, "--out", "r"], capsys)
    assert code == 2 and said in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
