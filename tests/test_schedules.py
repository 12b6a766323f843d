"""Learning-rate schedules: their rates (PyTorch's recursion, Keras's float32
functions), the trace's lr column, sweeps, explain, resuming, and what bad input
is told. Each schedule's steps are checked against PyTorch and Keras by the oracle
fixtures (``tests/oracle/fixtures/*_lr.json``), which record the rate each step
used."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace.core.schedules import LrSchedule
from gradtrace.tables import param_columns
from helpers import ctrl_c_after, cut_and_resumed, run_cli

WARM = "torch.linear(start_factor=0.1,total_iters=3)"
COS = "torch.cosine(T_max=9)"


def line() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=120)
    return {"x": x, "y": 2 * x + 1 + rng.normal(0, 0.3, 120)}


def test_pytorch_step_and_exponential_rates() -> None:
    step = LrSchedule.create("torch.step", step_size=3, gamma=0.5)
    assert step.epoch_rates(0.4, 7) == [0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1]
    exp = LrSchedule.create("torch.exponential", gamma=0.9)
    assert exp.epoch_rates(1.0, 4) == pytest.approx([1.0, 0.9, 0.81, 0.729], rel=1e-15)
    # once an epoch: every step of an epoch has its epoch's rate
    rates = step.rates_at(0.4, np.arange(12), per_epoch=2, n_steps=12)
    assert rates.tolist() == [0.4] * 6 + [0.2] * 6


@given(st.integers(1, 30), st.floats(0.0, 0.05), st.integers(1, 90))
def test_pytorch_cosine_recursion_follows_its_closed_form(
    t_max: int, eta_min: float, n_epochs: int
) -> None:
    """CosineAnnealingLR's chainable recursion (what PyTorch computes) stays on
    its closed form, restarts and all, to rounding."""
    schedule = LrSchedule.create("torch.cosine", T_max=t_max, eta_min=eta_min)
    rates = np.array(schedule.epoch_rates(0.1, n_epochs))
    e = np.arange(n_epochs)
    closed = eta_min + (0.1 - eta_min) * (1 + np.cos(np.pi * e / t_max)) / 2
    np.testing.assert_allclose(rates, closed, rtol=1e-9, atol=1e-12)


def test_pytorch_multistep_and_linear_rates() -> None:
    """MultiStepLR multiplies by gamma at each milestone, a milestone given twice
    twice; LinearLR starts at lr * start_factor (its constructor's step) and
    reaches lr * end_factor after total_iters epochs, by its chainable recursion."""
    multi = LrSchedule.create("torch.multistep", milestones=(2, 4, 4), gamma=0.5)
    assert multi.epoch_rates(0.8, 6) == [0.8, 0.8, 0.4, 0.4, 0.1, 0.1]
    linear = LrSchedule.create("torch.linear", start_factor=0.25, total_iters=3)
    assert linear.epoch_rates(0.4, 5) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4])
    # stepped after each batch: the rate changes within the epoch
    by_batch = LrSchedule.create("torch.multistep", milestones=(3,), by_batch=True)
    rates = by_batch.rates_at(1.0, np.arange(6), per_epoch=4, n_steps=6)
    assert rates.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    assert "by_batch" not in str(multi) and "by_batch=True" in str(by_batch)
    assert str(multi) == "torch.multistep(milestones=[2, 4, 4], gamma=0.5)"


@given(
    st.floats(0.01, 1.0),
    st.floats(0.0, 1.0),
    st.integers(1, 40),
    st.integers(1, 60),
)
def test_pytorch_linear_recursion_follows_its_closed_form(
    start: float, end: float, total: int, n_epochs: int
) -> None:
    schedule = LrSchedule.create(
        "torch.linear", start_factor=start, end_factor=end, total_iters=total
    )
    rates = np.array(schedule.epoch_rates(0.1, n_epochs))
    e = np.minimum(np.arange(n_epochs), total)
    closed = 0.1 * (start + (end - start) * e / total)
    np.testing.assert_allclose(rates, closed, rtol=1e-9, atol=1e-15)


@given(st.floats(0.0, 3.0), st.integers(1, 40), st.integers(1, 60))
def test_pytorch_polynomial_recursion_follows_its_closed_form(
    power: float, total: int, n_epochs: int
) -> None:
    """PolynomialLR's chainable recursion is lr (1 - e/total_iters)**power, 0 from
    total_iters epochs on (its tables beyond TABLE_EPOCHS are the closed form)."""
    schedule = LrSchedule.create("torch.polynomial", total_iters=total, power=power)
    rates = np.array(schedule.epoch_rates(0.1, n_epochs))
    e = np.minimum(np.arange(n_epochs), total)
    closed = 0.1 * (1.0 - e / total) ** power
    np.testing.assert_allclose(rates, closed, rtol=1e-9, atol=1e-15)


def test_keras_cosine_warms_up_then_decays_from_its_target() -> None:
    """CosineDecay with warmup_steps: a line from lr to warmup_target over the
    warm-up, then the cosine from the target over decay_steps, then alpha of
    the target."""
    cos = LrSchedule.create(
        "keras.cosine", decay_steps=4, alpha=0.1, warmup_steps=2, warmup_target=1.0
    )
    got = cos.rates_at(0.2, np.arange(9), per_epoch=1, n_steps=9)
    cosine = [1.0, 0.8681981, 0.55, 0.2318019, 0.1, 0.1, 0.1]
    np.testing.assert_allclose(got, [0.2, 0.6, *cosine], rtol=1e-6)


def test_keras_schedules_as_keras_computes_them() -> None:
    """Functions of the updates done before the step, in float32."""
    exp = LrSchedule.create("keras.exponential", decay_steps=4, decay_rate=0.5)
    rates = exp.rates_at(0.1, np.arange(9), per_epoch=3, n_steps=9)
    expected = np.float32(0.1) * np.float32(0.5) ** (np.arange(9, dtype=np.float32) / 4)
    np.testing.assert_allclose(rates, expected, rtol=1e-7)
    stairs = LrSchedule.create(
        "keras.inverse_time", decay_steps=2, decay_rate=1.0, staircase=True
    )
    got = stairs.rates_at(0.1, np.arange(6), per_epoch=1, n_steps=6)
    np.testing.assert_allclose(got, [0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3], rtol=1e-6)
    cos = LrSchedule.create("keras.cosine", decay_steps=4, alpha=0.1)
    got = cos.rates_at(1.0, np.arange(7), per_epoch=1, n_steps=7)
    np.testing.assert_allclose(
        got, [1.0, 0.8681981, 0.55, 0.2318019, 0.1, 0.1, 0.1], rtol=1e-6
    )


def _sgdr(lr: float, step: int, first: int, t_mul: float, m_mul: float, alpha: float):
    """Cosine decay with warm restarts, from the SGDR paper's definition in
    doubles: walk the cycles (first, first*t_mul, ...) to the one the step is in."""
    start, length, height = 0.0, float(first), 1.0
    while step >= start + length:
        start, length, height = start + length, length * t_mul, height * m_mul
    cosine = 0.5 * height * (1 + math.cos(math.pi * (step - start) / length))
    return lr * ((1 - alpha) * cosine + alpha)


@given(
    first=st.integers(1, 50),
    t_mul=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    m_mul=st.floats(0.0, 1.0),
    alpha=st.floats(0.0, 0.5),
)
def test_keras_cosine_restarts_restart_where_the_cycles_end(
    first: int, t_mul: float, m_mul: float, alpha: float
) -> None:
    """CosineDecayRestarts: each cycle t_mul times the last, from m_mul times the
    last height, within float32 rounding of the walk over the cycles (Keras finds
    the cycle by a logarithm, in float32; a step right at a restart may land in
    either cycle by an ulp, so those are left out)."""
    schedule = LrSchedule.create(
        "keras.cosine_restarts",
        first_decay_steps=first,
        t_mul=t_mul,
        m_mul=m_mul,
        alpha=alpha,
    )
    steps = np.arange(400)
    got = schedule.rates_at(0.3, steps, per_epoch=1, n_steps=400)
    ends, length, edge = set(), float(first), 0.0
    while edge < 400:
        edge += length
        length *= t_mul
        ends.add(round(edge))
    for step in steps:
        if t_mul != 1.0 and (step in ends or step + 1 in ends or step - 1 in ends):
            continue
        want = _sgdr(0.3, int(step), first, t_mul, m_mul, alpha)
        assert got[step] == pytest.approx(want, rel=2e-5, abs=1e-7), step


def test_lambda_and_multiplicative_rates_are_pytorchs_python_floats() -> None:
    """LambdaLR: base_lr * f(epoch); MultiplicativeLR: the last rate * f(epoch)
    from epoch 1; each in Python floats, as the lambda a PyTorch user writes
    for the same text computes them."""
    warm = LrSchedule.create("torch.lambda", lr_lambda="minimum(1, (epoch + 1) / 5)")
    got = warm.rates_at(0.1, np.arange(8), per_epoch=1, n_steps=8)
    assert got.tolist() == [0.1 * min(1, (e + 1) / 5) for e in range(8)]
    mult = LrSchedule.create("torch.multiplicative", lr_lambda="0.95**epoch")
    got = mult.rates_at(0.1, np.arange(6) * 3, per_epoch=3, n_steps=18)
    want = [0.1]
    for e in range(1, 6):
        want.append(want[-1] * 0.95**e)
    assert got.tolist() == want


@pytest.mark.parametrize(
    "text", ["0.95**epoch", "minimum(1, (epoch + 1) / 7)", "1 / (1 + 0.01 * epoch)"]
)
@pytest.mark.parametrize("name", ["torch.lambda", "torch.multiplicative"])
def test_lambda_tables_beyond_the_recursion_agree_with_it(name: str, text: str) -> None:
    """Past ``TABLE_EPOCHS`` (or for a sweep's traced rate) the rates come from
    NumPy's factors at once: within a few ulps of the Python floats."""
    schedule = LrSchedule.create(name, lr_lambda=text)
    exact = np.asarray(schedule.epoch_rates(0.1, 400))
    table = schedule._long(0.1, 400, np.float64)(np, np.arange(400))
    np.testing.assert_allclose(table, exact, rtol=1e-13, atol=0)


def test_keras_cosine_restarts_t_mul_of_1_in_float32_cycles_alike() -> None:
    """A t_mul that rounds to 1 in float32 takes Keras's branch of cycles alike
    (its log would be 0, and every rate not a number)."""
    near = LrSchedule.create(
        "keras.cosine_restarts", first_decay_steps=5, t_mul=1.00000001
    )
    alike = LrSchedule.create("keras.cosine_restarts", first_decay_steps=5, t_mul=1)
    steps = np.arange(23)
    got = near.rates_at(0.1, steps, per_epoch=1, n_steps=23)
    assert np.isfinite(got).all()
    assert got.tolist() == alike.rates_at(0.1, steps, per_epoch=1, n_steps=23).tolist()


def test_a_keras_warm_up_starts_from_a_rate_of_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keras's docs warm CosineDecay up from an initial rate of 0: a run may
    start at 0 there (and nowhere else); its diagnosis judges the rate the
    warm-up reaches, and a run that diverges is told to lower that one."""
    monkeypatch.chdir(tmp_path)
    warm = "keras.cosine:decay_steps=100,warmup_steps=20,warmup_target={}"
    options = dict(optimizer="keras.sgd", batch_size=25, epochs=30, lr=0.0)
    trace = gradtrace.fit(line(), "line", lr_schedule=warm.format(0.5), **options)
    rates = trace.to_pandas()["lr"].to_numpy()
    assert rates[1] == 0 and np.nanmax(rates) == pytest.approx(0.5)
    assert not trace.diverged
    findings = trace.info["diagnosis"]["findings"]
    assert any(
        "warms it up: the rate judged here is the highest" in f for f in findings
    )
    blown = gradtrace.fit(line(), "line", lr_schedule=warm.format(5), **options)
    assert blown.diverged and "try warmup_target=" in blown.message
    with pytest.raises(gradtrace.InputError, match="a warm-up from 0 is keras.cosine"):
        gradtrace.fit(line(), "line", lr=0.0)
    with pytest.raises(gradtrace.InputError, match="learning rate 0 leaves every"):
        gradtrace.fit(line(), "line", lr=0.0, lr_schedule="torch.exponential:gamma=2")
    code, _, err = run_cli(["fit", "seed001_line", "--lr", "0"], capsys)
    assert code == 2 and "a warm-up from 0 is keras.cosine" in err


def test_the_trace_records_each_steps_rate() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.sgd",
        lr=0.2,
        lr_schedule="torch.step:step_size=2,gamma=0.5",
        batch_size=40,
        epochs=5,
        exact=False,  # the rates are checked, not the optimum
    )
    frame = trace.to_pandas()
    assert list(frame.columns[:4]) == ["step", "epoch", "batch", "lr"]
    assert math.isnan(frame["lr"].iloc[0])
    by_epoch = frame.iloc[1:].groupby("epoch")["lr"].unique()
    assert [v.tolist() for v in by_epoch] == [[0.2], [0.2], [0.1], [0.1], [0.05]]
    assert param_columns(frame) == ["w", "b"]
    assert trace.info["lr_schedule"] == {
        "name": "torch.step",
        "step_size": 2,
        "gamma": 0.5,
        "by_batch": False,
    }
    # the same run as a dict; and no column without a schedule
    again = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.sgd",
        lr=0.2,
        lr_schedule={"name": "torch.step", "step_size": 2, "gamma": 0.5},
        batch_size=40,
        epochs=5,
        exact=False,
    )
    pd.testing.assert_frame_equal(again.to_pandas(), frame)
    plain = gradtrace.fit(line(), "line", lr=0.2, batch_size=40, epochs=5, exact=False)
    assert "lr" not in plain.to_pandas().columns


def test_a_parameter_named_lr_is_still_a_parameter() -> None:
    model = gradtrace.Model(lambda p, x: p["lr"] * x + p["b"], {"lr": 0.0, "b": 0.0})
    trace = gradtrace.fit(line(), model, lr=0.1, steps=20)
    assert param_columns(trace.to_pandas()) == ["lr", "b"]
    # with a schedule, whose column it would share, it is refused in one line
    with pytest.raises(gradtrace.InputError, match="parameter named lr and the run"):
        gradtrace.fit(
            line(), model, lr=0.1, steps=20, lr_schedule="torch.step:step_size=1"
        )


def test_a_schedule_given_as_its_object_reruns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schedule = LrSchedule.create("torch.step", step_size=2)
    folder = tmp_path / "run"
    frame = pd.DataFrame(line())
    frame.to_csv(tmp_path / "line.csv", index=False)
    gradtrace.fit(
        str(tmp_path / "line.csv"),
        "line",
        lr=0.1,
        epochs=4,
        batch_size=30,
        lr_schedule=schedule,
        out=folder,
    )
    code, out, _ = run_cli(["rerun", str(folder)], capsys)
    assert code == 0 and "identical" in out


def test_a_schedule_that_keeps_the_rate_changes_nothing() -> None:
    """float32 parameters computed in float64: the rate is cast to the parameters'
    dtype, so a schedule that never changes it gives the run without one."""
    options = dict(
        dtype="float32",
        compute_dtype="float64",
        batch_size=30,
        epochs=4,
        exact=False,  # the trained values are compared, not the optimum
    )
    for optimizer in ("sgd", "momentum", "adam", "torch.adam"):
        plain = gradtrace.fit(line(), "line", optimizer=optimizer, lr=0.05, **options)
        same = gradtrace.fit(
            line(),
            "line",
            optimizer=optimizer,
            lr=0.05,
            lr_schedule="torch.step:step_size=100000",
            **options,
        )
        assert same.params == plain.params, optimizer


def test_a_rate_decayed_to_nothing_is_said_so_not_blamed_on_x() -> None:
    trace = gradtrace.fit(
        "seed001_line",
        "line",
        lr=0.9,
        lr_schedule="torch.exponential:gamma=0.5",
        epochs=50,
        batch_size=32,
    )
    said = " ".join(trace.warnings)
    assert "the schedule torch.exponential brought the rate down to" in said
    assert "more steps would get closer" not in said and "--standardize" not in said
    assert "has not moved since" not in said
    assert "The schedule torch.exponential takes the rate from 0.9" in said


def test_a_mini_batch_run_stalled_by_its_schedule_is_told_short_of_ten_errors() -> None:
    """Mini-batch runs are told they are far off only beyond 10 standard errors
    (a fixed rate's scatter); a schedule that took the rate down exactly a
    hundredfold (0.1 -> 0.001) leaves no such scatter, so b, 6 errors off in a
    long valley, is said to be there, with why."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 10, 500)
    data = {"x": x, "y": 3 * x + 5 + rng.normal(0, 2, 500)}
    trace = gradtrace.fit(
        data,
        "line",
        optimizer="torch.nadam",
        lr=0.1,
        lr_schedule="torch.multistep:milestones=[10,20]",
        epochs=30,
        batch_size=32,
    )
    (said,) = [w for w in trace.warnings if "standard errors from its optimum" in w]
    assert said.startswith("b ended 6.")
    assert "the schedule torch.multistep brought the rate down to 0.001" in said


def test_a_decayed_rate_lands_nearer_the_optimum_than_a_fixed_one() -> None:
    """The advice's "a lower rate late in the run narrows the scatter": SGD on
    batches of 1 at 0.1 scatters; the same rate decayed tenfold ends nearer."""
    options = dict(optimizer="sgd", lr=0.1, batch_size=1, epochs=12, seed=3)
    fixed = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    decayed = gradtrace.fit(
        line(),
        "line",
        lr_schedule="torch.exponential:gamma=0.8",
        exact=False,  # the fixed rate's run gives the optimum
        **options,  # type: ignore[arg-type]
    )
    optimum = fixed.info["optimum"]

    def distance(t: gradtrace.Trace) -> float:
        return math.hypot(*(t.params[k] - optimum[k] for k in ("w", "b")))

    assert distance(decayed) < distance(fixed) / 3


@pytest.mark.parametrize(
    "schedule",
    [
        "torch.cosine:T_max=3,eta_min=0.01",
        "keras.exponential:decay_steps=5,decay_rate=0.3",
        "torch.multistep:milestones=[1,3],gamma=0.5",
        "torch.linear:start_factor=0.2,total_iters=3",
        "torch.step:step_size=3,gamma=0.5,by_batch=true",
        "keras.cosine:decay_steps=10,warmup_steps=3,warmup_target=0.3",
        "keras.polynomial:decay_steps=5,power=2,cycle=true",
        "keras.cosine_restarts:first_decay_steps=3,m_mul=0.5",
        "torch.lambda:lr_lambda=minimum(1, (epoch + 1) / 3)",
        "torch.multiplicative:lr_lambda=0.9**epoch,by_batch=true",
        "torch.constant:factor=0.5,total_iters=2",
        f"torch.sequential:schedulers=[{WARM},torch.cosine(T_max=3,eta_min=0.01)],"
        "milestones=[2]",
        "torch.chained:schedulers=[torch.constant(factor=0.5,total_iters=2),"
        "torch.exponential(gamma=0.8)],by_batch=true",
    ],
)
def test_a_sweep_gives_each_rate_the_schedule_a_fit_gives_it(schedule: str) -> None:
    options = dict(optimizer="keras.adam", batch_size=30, epochs=4, shuffle=False)
    sweep = gradtrace.sweep(
        line(), "line", lr=[0.05, 0.2], lr_schedule=schedule, **options
    )
    table = sweep.table.sort_values("lr")
    for lr, w in zip(table["lr"], table["w"], strict=True):
        single = gradtrace.fit(
            line(),
            "line",
            lr=lr,
            lr_schedule=schedule,
            exact=False,  # the sweep's w is compared, not the optimum
            **options,  # type: ignore[arg-type]
        )
        assert w == pytest.approx(single.params["w"], rel=1e-5)


def test_explain_replays_the_step_at_its_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.sgd",
        opt={"momentum": 0.9},
        lr=0.1,
        lr_schedule="torch.step:step_size=1,gamma=0.5",
        batch_size=40,
        epochs=3,
    )
    frame = trace.to_pandas()
    step = 7  # epoch 3: a quarter of the rate
    update = trace.explain(step).attrs["update"]
    for name in ("w", "b"):
        assert update.loc[name, "after"] == pytest.approx(
            frame[name].iloc[step], rel=1e-6
        )
    text = trace.explain_text(step)
    assert "this step's rate, from torch.step: 0.025" in text


def test_a_scheduled_run_resumes_to_the_uninterrupted_trace(tmp_path: Path) -> None:
    frame = pd.DataFrame(line())
    options = dict(
        optimizer="keras.adam",
        lr=0.1,
        lr_schedule="keras.inverse_time:decay_steps=3,decay_rate=0.5",
        batch_size=20,
        epochs=5,
        shuffle=False,
    )
    whole = gradtrace.fit(frame, "line", **options)  # type: ignore[arg-type]
    cut, done = cut_and_resumed(frame, "line", options, tmp_path / "run", 4, 3)
    assert cut.status == "interrupted"
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())


def test_the_command_line_prints_the_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        [
            "fit",
            "seed001_line",
            "--optimizer",
            "torch.sgd",
            "--lr",
            "0.1",
            "--lr-schedule",
            "torch.cosine:T_max=4",
            "--epochs",
            "4",
            "--batch-size",
            "50",
            "--out",
            str(tmp_path / "cos"),
        ],
        capsys,
    )
    assert code == 0
    assert "learning rate torch.cosine(T_max=4, eta_min=0.0): 0.1 at step 1 to " in out
    header = next(line for line in out.splitlines() if line.startswith("step"))
    assert header.split()[:5] == ["step", "epoch", "batch", "lr", "w"]
    code, out, _ = run_cli(["rerun", str(tmp_path / "cos")], capsys)
    assert code == 0 and "identical" in out


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("torch.stp", "Did you mean 'torch.step'?"),
        (
            "torch.step",
            "needs step_size: give it as torch.step:step_size=VALUE.",
        ),
        ("torch.step:step_size=0", "step_size counts epochs: give a whole number"),
        ("keras.cosine:decay_steps=2.5", "decay_steps counts steps"),
        ("torch.step:stepsize=2", "Did you mean 'step_size'?"),
        ("torch.step:step_size", "takes NAME:KEY=VALUE,KEY=VALUE"),
        ("torch.exponential:gamma=fast", "gamma must be a number"),
        ("torch.exponential:gamma=-1", "gamma must be a number >= 0"),
        ("torch.multistep:milestones=[-1,3]", "milestones are epochs, whole numbers"),
        (
            "torch.sequential:schedulers=[torch.linear(),torch.step(step_size=2)],"
            "milestones=[0]",
            "milestones are epochs, whole numbers of at least 1",
        ),
        ("torch.multistep:milestones=[2,x]", "milestones are epochs, whole numbers"),
        ("torch.multistep:milestones=[]", "needs at least one epoch"),
        ("torch.linear:start_factor=0", "start_factor is a share of the rate"),
        ("torch.linear:end_factor=1.5", "end_factor is a share of the rate"),
        ("keras.cosine:decay_steps=9,warmup_target=0.1", "give both"),
        ("keras.cosine:decay_steps=9,warmup_steps=2.5", "warmup_steps counts steps"),
        ("keras.piecewise:values=[0.1]", "needs boundaries"),
        (
            "keras.piecewise:boundaries=[10],values=[0.1]",
            "one more than them: got 1 boundaries and 1 values",
        ),
        (
            "keras.piecewise:boundaries=[10,5],values=[0.1,0.01,0.001]",
            "boundaries are steps in rising order, got [10, 5]",
        ),
        ("keras.piecewise:boundaries=[2.5],values=[1,2]", "whole numbers from 0"),
        ("keras.piecewise:boundaries=[2],values=[1,-2]", "rates, numbers >= 0"),
        ("keras.piecewise:boundaries=[],values=[1]", "needs at least one"),
        ("keras.polynomial", "needs decay_steps"),
        ("keras.cosine_restarts", "needs first_decay_steps"),
        (
            "keras.cosine_restarts:first_decay_steps=5,t_mul=0.5",
            "give 1 or more (below 1 the cycles shrink to nothing",
        ),
        ("keras.cosine_restarts:first_decay_steps=0", "counts steps"),
        ("keras.cosine_restarts:first_decay_steps=-3", "of at least 1, got '-3'"),
        ("keras.cosine:decay_steps=10,alpha=2", "a share of the rate from 0 to 1"),
        ("torch.lambda", "needs lr_lambda"),
        ("torch.lambda:lr_lambda=0.9**x", "an expression in epoch"),
        ("torch.lambda:lr_lambda=0.9**(epoch", "'(' was never closed"),
        ("torch.lambda:lr_lambda=1-epoch/3", "gives -0.33333333333333326 at epoch 4"),
        (
            "torch.multiplicative:lr_lambda=log(epoch - 1)",
            "fails (math domain error) at epoch 1",
        ),
        ("torch.lambda:lr_lambda=exp(1000*epoch)", "fails (math range error) at"),
        ("torch.constant:factor=0", "factor is a share of the rate, above 0 up to 1"),
        ("torch.constant:factor=1.5", "divides by it at total_iters), got 1.5"),
        ("torch.sequential:milestones=[3]", "needs schedulers"),
        (
            f"torch.sequential:schedulers=[{WARM},{COS}]",
            "needs milestones, the epochs where each schedule after the first takes "
            "over (1 here): add ,milestones=[5] after",
        ),
        (
            f"torch.sequential:schedulers=[{WARM},{COS}],milestones=[3,6]",
            "one fewer than the schedules: got 2 schedules and 2 milestones",
        ),
        (
            f"torch.sequential:schedulers=[{WARM},{COS},{WARM}],milestones=[6,3]",
            "milestones are epochs in rising order, got [6, 3]",
        ),
        (f"torch.sequential:schedulers=[{WARM}],milestones=[3]", "two or more"),
        ("torch.chained:schedulers=[]", "schedulers needs a schedule"),
        (
            f"torch.chained:schedulers=[torch.onecycle,{COS}]",
            "not torch.onecycle (its counts are its own",
        ),
        (
            f"torch.chained:schedulers=[{COS},torch.chained:schedulers=[{COS}]]",
            "not torch.chained",
        ),
        (
            "torch.chained:schedulers=[torch.exponential(gamma=0.9,by_batch=true)]",
            "give by_batch=true to torch.chained itself",
        ),
        ("torch.chained:schedulers=[torch.cosine(T_max=4]", "closing parenthesis"),
        (
            "torch.chained:schedulers=[torch.step:step_size=2,gamma=0.5]",
            "has 'gamma=0.5' outside a schedule's parentheses",
        ),
        ("torch.chained:schedulers=[torch.cosine(T_max=4)", "misses a bracket"),
        (
            f"torch.sequential:schedulers=[{WARM},{COS},milestones=[3]]",
            "schedulers misses the ']' that closes it before milestones=",
        ),
        (
            "torch.chained:schedulers=[torch.cosine()]",
            "needs T_max: give it as torch.cosine(T_max=VALUE).",
        ),
        (
            "torch.chained:schedulers=[torch.cosin(T_max=4)]",
            "in its schedulers: unknown learning-rate schedule 'torch.cosin'",
        ),
        ("torch.chained:schedulers=[torch.cosine(T_max=0)]", "T_max counts epochs"),
    ],
)
def test_bad_schedules_are_told_what_to_give(
    given: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["fit", "seed001_line", "--lr-schedule", given], capsys)
    assert code == 2 and said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_keras_piecewise_gives_the_rates_itself() -> None:
    """PiecewiseConstantDecay's values are the rates (Keras takes no initial
    rate): the run starts at values[0] without --lr, a given rate must be that
    one, and a sweep of rates is refused (they would all run alike). A rate
    changes after the step count passes a boundary: boundaries=[2] keeps the
    first value for steps 1-3 (counts 0-2)."""
    schedule = "keras.piecewise:boundaries=[2,4],values=[0.2,0.1,0.05]"
    options = dict(optimizer="keras.sgd", lr_schedule=schedule, steps=6, exact=False)
    trace = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    assert trace.info["optimizer"]["learning_rate"] == 0.2
    rates = trace.to_pandas()["lr"].to_numpy()[1:]
    np.testing.assert_array_equal(rates, np.float32([0.2, 0.2, 0.2, 0.1, 0.1, 0.05]))
    same = gradtrace.fit(line(), "line", lr=0.2, **options)  # type: ignore[arg-type]
    assert same.params == trace.params
    with pytest.raises(gradtrace.InputError, match="leave lr out, or give lr=0.2"):
        gradtrace.fit(line(), "line", lr=0.1, **options)  # type: ignore[arg-type]
    with pytest.raises(gradtrace.InputError, match="would all run alike"):
        gradtrace.sweep(
            line(), "line", lr=[0.2, 0.1], optimizer="keras.sgd", lr_schedule=schedule
        )


def test_python_is_told_a_rate_is_one_number_and_lr_find_sets_its_own() -> None:
    with pytest.raises(gradtrace.InputError, match="a rate that changes over the run"):
        gradtrace.fit(line(), "line", lr=lambda step: 0.1)  # type: ignore[arg-type]
    with pytest.raises(gradtrace.InputError, match="needs its 'name'"):
        gradtrace.fit(line(), "line", lr_schedule={"gamma": 0.5})
    with pytest.raises(gradtrace.InputError, match="drop lr_schedule"):
        gradtrace.lr_find(line(), "line", lr_schedule="torch.exponential:gamma=0.9")
    with pytest.raises(gradtrace.InputError, match="is written as text, an expr"):
        gradtrace.fit(
            line(),
            "line",
            lr_schedule={"name": "torch.lambda", "lr_lambda": lambda e: 0.9**e},
        )


@pytest.mark.parametrize(
    "schedule",
    [
        "torch.exponential:gamma=0.97",
        "torch.step:step_size=3,gamma=0.7",
        "torch.cosine:T_max=7,eta_min=0.001",
        "torch.multistep:milestones=[20,50,50,120],gamma=0.7",
        "torch.linear:start_factor=0.3,total_iters=90",
        "torch.polynomial:total_iters=120,power=1.5",
    ],
)
def test_a_run_of_many_epochs_keeps_pytorchs_rates(
    schedule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond TABLE_EPOCHS epochs (here 50) the rates come from two tables of
    powers, or a cosine's period: within two float32 ulps of PyTorch's recursion,
    the trace's column is the rate the run used, and the run follows the one with
    every epoch's rate in a table."""
    from gradtrace.core import schedules

    options = dict(
        optimizer="torch.sgd", lr=0.05, lr_schedule=schedule, steps=200, exact=False
    )
    tabled = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    monkeypatch.setattr(schedules, "TABLE_EPOCHS", 50)
    long = gradtrace.fit(line(), "line", **options)  # type: ignore[arg-type]
    ours = long.to_pandas()["lr"].to_numpy()[1:]
    pytorch = tabled.to_pandas()["lr"].to_numpy()[1:]
    ulps = np.abs(ours - pytorch) / np.spacing(pytorch.astype(np.float32))
    assert ulps.max() <= 2.5 and (ours != pytorch).any()
    for name in ("w", "b"):
        assert long.params[name] == pytest.approx(tabled.params[name], rel=1e-5)


CHAINABLE_TEXTS = [
    "torch.linear:start_factor=0.25,end_factor=0.5,total_iters=4",
    "torch.step:step_size=3,gamma=0.5",
    "torch.multistep:milestones=[2,5,5],gamma=0.3",
    "torch.exponential:gamma=0.9",
    "torch.cosine:T_max=7,eta_min=0.001",
    "torch.polynomial:total_iters=6,power=2",
    "torch.lambda:lr_lambda=0.9**epoch",
    "torch.multiplicative:lr_lambda=1 / (1 + 0.1 * epoch)",
]


@given(st.sampled_from(CHAINABLE_TEXTS), st.floats(1e-4, 2.0), st.integers(1, 40))
def test_a_chain_of_one_schedule_is_that_schedule(
    text: str, lr: float, epochs: int
) -> None:
    """ChainedScheduler([s]) steps s alone, so its rates are s's to the bit: the
    composites' step-by-step arithmetic against each schedule's own recursion."""
    from gradtrace.validate import lr_schedule

    alone = lr_schedule(text)
    assert alone is not None
    name, _, rest = text.partition(":")
    chained = lr_schedule(f"torch.chained:schedulers=[{name}({rest})]")
    assert chained is not None
    assert chained.epoch_rates(lr, epochs) == alone.epoch_rates(lr, epochs)


@given(st.floats(1e-4, 2.0), st.integers(1, 30), st.integers(1, 12))
def test_a_sequence_takes_each_schedule_from_the_rate_at_its_milestone(
    lr: float, epochs: int, mark: int
) -> None:
    """After its milestone the second schedule's rates are its own from lr,
    whatever the first did (a step decay's and a cosine's closed forms at 0 are
    lr)."""
    from gradtrace.validate import lr_schedule

    seq = lr_schedule(
        f"torch.sequential:schedulers=[{WARM},torch.exponential(gamma=0.8)],"
        f"milestones=[{mark}]"
    )
    assert seq is not None
    rates = seq.epoch_rates(lr, mark + epochs)
    alone = lr_schedule("torch.exponential:gamma=0.8")
    assert alone is not None
    assert rates[mark:] == alone.epoch_rates(lr, epochs)
    warm = lr_schedule(f"torch.linear:{WARM[len('torch.linear(') : -1]}")
    assert warm is not None
    assert rates[:mark] == warm.epoch_rates(lr, mark)


def test_a_composite_traces_explains_and_resumes(tmp_path: Path) -> None:
    """A warm-up and a cosine in sequence through the API: the trace's rates are
    the schedule's, explain replays a step at its rate, and a run cut short
    resumes to the uninterrupted trace."""
    schedule = f"torch.sequential:schedulers=[{WARM},{COS}],milestones=[3]"
    frame = pd.DataFrame(line())
    options = dict(
        optimizer="torch.sgd",
        lr=0.05,
        lr_schedule=schedule,
        batch_size=30,
        epochs=12,
        shuffle=False,
    )
    whole = gradtrace.fit(frame, "line", **options)  # type: ignore[arg-type]
    table = whole.to_pandas()
    rule = LrSchedule.create(**whole.info["lr_schedule"])
    want = rule.rates_at(0.05, np.arange(48), 4, 48)
    assert table["lr"].to_numpy()[1:].tolist() == want.tolist()
    assert want[0] == 0.05 * 0.1 and want[12] == 0.05  # PyTorch's Python floats
    assert "this step's rate, from torch.sequential: 0.05" in whole.explain_text(13)
    folder = tmp_path / "run"
    cut = gradtrace.fit(
        frame,
        "line",
        **options,  # type: ignore[arg-type]
        out=folder,
        checkpoint_every=8,
        progress=ctrl_c_after(3),
    )
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder, data=frame)
    pd.testing.assert_frame_equal(done.to_pandas(), table)


def test_keras_rates_come_from_one_table_for_the_whole_run() -> None:
    """The lr column of a run written in parts takes each part's rates from the
    one table the step reads (built once for the run's length, not once a part),
    so the column is the rate each step used."""
    import jax.numpy as jnp

    from gradtrace.core.schedules import _keras_rates

    schedule = LrSchedule.create("keras.cosine", decay_steps=50, alpha=0.1)
    _keras_rates.cache_clear()
    whole = schedule.rates_at(0.1, np.arange(100), 1, 100)
    parts = [
        schedule.rates_at(0.1, np.arange(a, a + 25), 1, 100) for a in (0, 25, 50, 75)
    ]
    assert np.concatenate(parts).tolist() == whole.tolist()
    assert _keras_rates.cache_info().misses == 1
    rate = schedule.rate_fn(0.1, 1, 100, np.float32)
    assert [float(rate(jnp.int32(c))) for c in range(100)] == whole.tolist()
    assert _keras_rates.cache_info().misses == 1


def test_a_schedule_as_the_summary_prints_it_is_taken_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary prints NAME(KEY=VALUE, ...); pasted into --lr-schedule it is
    the same schedule, and lr-find, which sets the rate itself, says so."""
    from gradtrace.validate import lr_schedule

    text = f"torch.sequential:schedulers=[{WARM},{COS}],milestones=[3]"
    schedule = lr_schedule(text)
    assert schedule is not None
    assert lr_schedule(str(schedule)) == schedule
    assert lr_schedule("torch.step(step_size=10, gamma=0.5)") == lr_schedule(
        "torch.step:step_size=10,gamma=0.5"
    )
    with pytest.raises(gradtrace.InputError, match="goes in torch.sequential's"):
        lr_schedule(["torch.step:step_size=2"])
    code, _, err = run_cli(
        ["lr-find", "seed001_line", "--lr-schedule", "torch.step:step_size=2"], capsys
    )
    assert code == 2 and "drop --lr-schedule" in err


@pytest.mark.parametrize(
    ("optimizer", "schedule", "said"),
    [
        ("keras.adam", "torch.step:step_size=2", "torch.step is PyTorch's schedule"),
        (
            "torch.sgd",
            "keras.exponential:decay_steps=2,decay_rate=0.5",
            "keras.exponential is Keras's schedule and torch.sgd PyTorch's optimizer",
        ),
        ("torch.sgd", "torch.step:step_size=2", None),
        ("sgd", "keras.exponential:decay_steps=2,decay_rate=0.5", None),
    ],
)
def test_one_frameworks_schedule_on_the_others_optimizer_is_noted(
    optimizer: str, schedule: str, said: str | None
) -> None:
    trace = gradtrace.fit(
        "seed001_line", optimizer=optimizer, lr_schedule=schedule, epochs=4, lr=0.1
    )
    notes = [n for n in trace.info["notices"] if "a pairing neither framework" in n]
    if said is None:
        assert not notes
    else:
        assert len(notes) == 1 and said in notes[0]
