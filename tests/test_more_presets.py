"""PyTorch's Adagrad, Adamax, NAdam, RAdam, Adadelta, Rprop and Adam's amsgrad, and
Keras's Adagrad, Adamax, Nadam, Adadelta and Lion, beyond the oracle fixtures
(tests/oracle: each against the framework's own trace and state): the paths a
fixture does not take (a swept rate, the range test, float64), explain's table and
what the presets refuse."""

from __future__ import annotations

import numpy as np
import pytest

import gradtrace
from gradtrace.core import transforms
from gradtrace.errors import InputError
from helpers import range_test_and_rebuilt

CASES = [
    ("torch.adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("torch.adamax", {"weight_decay": 0.1}),
    ("torch.nadam", {}),
    ("torch.nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("torch.adam", {"amsgrad": True}),
    ("torch.adamw", {"amsgrad": True}),
    ("keras.adagrad", {"weight_decay": 0.1}),
    ("keras.adamax", {}),
    ("keras.nadam", {}),
    ("torch.adadelta", {"weight_decay": 0.1}),
    ("keras.adadelta", {"rho": 0.9}),
    ("torch.radam", {}),
    ("torch.radam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("keras.lion", {"weight_decay": 0.1}),
    ("torch.rprop", {"etaminus": 0.4}),
]


def line() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    return {"x": x, "y": 2 * x + 1 + rng.normal(0, 0.5, 200)}


@pytest.mark.parametrize(("preset", "hyper"), CASES)
def test_a_swept_rate_gives_the_fixed_rates_run(preset: str, hyper: dict) -> None:
    """A sweep traces the rate, so the rate's factors are computed in float32 (a
    fixed rate takes PyTorch's doubles from a table): within a few ulps."""
    sweep = gradtrace.sweep(
        line(), "line", optimizer=preset, lr=[0.02, 0.05], opt=hyper, steps=60
    )
    table = sweep.table.set_index("lr")
    for lr in (0.02, 0.05):
        single = gradtrace.fit(
            line(), "line", optimizer=preset, lr=lr, opt=hyper, steps=60
        )
        for name in ("w", "b"):
            assert table.loc[lr, name] == pytest.approx(single.params[name], rel=1e-5)


@pytest.mark.parametrize(("preset", "hyper"), CASES)
def test_float64_runs_agree_with_float32_runs(preset: str, hyper: dict) -> None:
    def run(dtype: str) -> gradtrace.Trace:
        return gradtrace.fit(
            line(),
            "line",
            optimizer=preset,
            lr=0.05,
            opt=hyper,
            steps=100,
            dtype=dtype,
            compute_dtype=dtype,
        )

    wide, narrow = run("float64"), run("float32")
    for name in ("w", "b"):
        assert wide.params[name] == pytest.approx(narrow.params[name], rel=2e-5)


def test_the_range_test_builds_nadam_at_each_steps_rate() -> None:
    """NAdam writes the weights twice (its updates are new values), so the range
    test builds it afresh at each step's rate rather than scaling its updates."""
    ours, theirs = range_test_and_rebuilt("torch.nadam")
    for k in ("w", "b"):
        assert float(ours[k]) == pytest.approx(float(theirs[k]), rel=1e-5)
    table, _ = gradtrace.lr_find(line(), "line", optimizer="torch.nadam", steps=40)
    assert np.isfinite(table["batch_loss"].to_numpy()).all()


def test_nadams_tables_end_where_its_momentum_settles() -> None:
    """The coefficients stop changing in float32 after about 10^5 steps (the
    momentum schedule 0.96^(0.004 t) falls below float32's resolution); the
    table ends there and later steps take its last entry."""
    first, second, correction = transforms.torch_nadam_tables(
        0.002, 0.9, 0.999, 0.004, np.float32
    )
    assert 50_000 < len(first) < transforms.NADAM_TABLE_STEPS
    # the settled coefficients: -lr (1 - beta1) and -lr beta1, once the running
    # product of the momenta has fallen to 0
    assert first[-1] == np.float32(-0.002 * (1 - 0.9))
    assert second[-1] == np.float32(-0.002 * 0.9)
    assert correction[-1] == np.float32(1.0)


@pytest.mark.parametrize(
    ("preset", "hyper", "slots"),
    [
        ("torch.adagrad", {}, ["sum"]),
        ("torch.adamax", {}, ["m", "u"]),
        ("torch.nadam", {}, ["m", "v"]),
        ("torch.adam", {"amsgrad": True}, ["m", "v", "v_max"]),
        ("keras.adagrad", {}, ["sum"]),
        ("keras.nadam", {}, ["m", "v"]),
    ],
)
def test_explain_shows_the_state_and_adds_up(
    preset: str, hyper: dict, slots: list[str]
) -> None:
    trace = gradtrace.fit(line(), "line", optimizer=preset, lr=0.05, opt=hyper, steps=5)
    table = trace.explain(3).attrs["update"]
    frame = trace.to_pandas()
    for slot in slots:
        assert f"{slot} after" in table.columns
    for name in ("w", "b"):
        before, after = frame[name].iloc[2], frame[name].iloc[3]
        assert table.loc[name, "after"] == pytest.approx(after, rel=1e-6)
        assert table.loc[name, "added"] == pytest.approx(after - before, rel=1e-5)


def test_nadams_decoupled_decay_is_explained_as_decoupled() -> None:
    hyper = {"weight_decay": 0.1, "decoupled_weight_decay": True}
    trace = gradtrace.fit(
        line(), "line", optimizer="torch.nadam", lr=0.01, opt=hyper, steps=4
    )
    assert "added includes the weight decay" in trace.explain_text(3)
    coupled = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.nadam",
        lr=0.01,
        opt={"weight_decay": 0.1},
        steps=4,
    )
    assert "gradient plus weight_decay x w" in coupled.explain_text(3)


@pytest.mark.parametrize(
    ("opt", "said"),
    [
        ({"momentum_decay": -1.0}, "momentum_decay"),
        ({"lr_decay": -0.5}, "lr_decay"),
        ({"amsgrad": True}, "amsgrad"),
    ],
)
def test_bad_hyper_parameters_are_refused(opt: dict, said: str) -> None:
    preset = "torch.adagrad" if "lr_decay" in opt else "torch.nadam"
    with pytest.raises(InputError, match=said):
        gradtrace.fit(line(), "line", optimizer=preset, opt=opt, steps=3)


def test_an_optimizer_named_as_a_framework_names_it_is_told_which_it_got() -> None:
    """ "Adam" (Keras's and PyTorch's class name) is optax's adam, whose epsilon
    and defaults differ from theirs: a note names the frameworks' presets."""
    import gradtrace

    said = gradtrace.fit("seed001_line", optimizer="Adam", epochs=1).notes
    assert any(
        "optimizer 'Adam' is taken as adam (optax's)" in n
        and "keras.adam or torch.adam" in n
        for n in said
    ), said
    for name in ("adam", "keras.adam", "MOMENTUM"):
        notes = gradtrace.fit("seed001_line", optimizer=name, epochs=1).notes
        assert not any("is taken as" in n for n in notes), (name, notes)


def test_a_float64_keras_run_notes_the_rate_keras_rounds_to_float32() -> None:
    """float64 variables with a Keras optimizer under Keras's default floatx step
    at float32(lr): a TensorFlow user's loop ran 3.4e-8 from a float64 run at
    lr 0.05, and nothing said why. Told, and given that rate, the note goes."""
    trace = gradtrace.fit(
        "seed001_line", optimizer="keras.sgd", lr=0.05, dtype="float64", steps=3
    )
    rounded = float(np.float32(0.05))
    assert (
        "Keras keeps the learning rate in a variable of its floatx, float32 by "
        f"default: float64 variables under it step at {rounded!r}, not 0.05 "
        f"(lr={rounded!r} takes that rate"
    ) in " ".join(trace.notes)
    again = gradtrace.fit(
        "seed001_line", optimizer="keras.sgd", lr=rounded, dtype="float64", steps=3
    )
    assert not any("floatx" in n for n in again.notes)
    plain = gradtrace.fit("seed001_line", optimizer="keras.sgd", lr=0.05, steps=3)
    assert not any("floatx" in n for n in plain.notes)


@pytest.mark.parametrize("preset", ["torch.radam", "torch.nadam"])
def test_a_sweep_over_tabled_betas_compiles_a_program_per_value(preset: str) -> None:
    """RAdam's and NAdam's rules tabulate their betas' terms in doubles before
    compiling (PyTorch's Python floats): a sweep over beta2 (and NAdam's beta1)
    runs each value as its own fit does, to the bit of the tables."""
    betas = {"beta2": [0.99, 0.999]}
    if preset == "torch.nadam":
        betas["beta1"] = [0.8, 0.9]
    sweep = gradtrace.sweep(
        line(), "line", optimizer=preset, lr=0.05, opt=betas, steps=40
    )
    table = sweep.table
    assert len(table) == (4 if preset == "torch.nadam" else 2)
    for _, row in table.iterrows():
        given = {k: float(row[k]) for k in betas}
        single = gradtrace.fit(
            line(), "line", optimizer=preset, lr=0.05, opt=given, steps=40
        )
        for name in ("w", "b"):
            assert row[name] == pytest.approx(single.params[name], rel=1e-6)


def test_radams_tables_settle_where_its_rectification_never_starts() -> None:
    """At beta2 <= 2/3 rho_t never passes 5: its NaN rectification settles, so
    the run still takes PyTorch's doubles from the tables."""
    tables = transforms.torch_radam_tables(0.9, 0.6)
    assert tables is not None and np.isnan(tables[2]).all()
    assert transforms.torch_radam_tables(0.9, 0.999) is not None


def test_rprop_is_told_its_rate_is_its_first_step_size() -> None:
    """Rprop reads the rate once: a schedule is told it changes nothing (and not
    that it brought the rate down), a loss that rose is sent to a sweep of first
    step sizes (not to the range test, which is refused, whatever the case)."""
    scheduled = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.rprop",
        lr_schedule="torch.exponential:gamma=0.5",
        epochs=40,
    )
    said = " ".join(scheduled.info["notices"])
    assert "reads the rate at its first step only" in said
    assert "brought the rate down" not in " ".join(scheduled.warnings)
    rose = gradtrace.fit(line(), "line", optimizer="torch.rprop", lr=40, steps=2)
    summary = " ".join(rose.warnings)
    assert "torch.rprop's first step size (the rate) is too large" in summary
    # in Python, the sweep as Python calls it
    call = "gradtrace.sweep(data, optimizer='torch.rprop', lr=[0.001, 0.01, 0.1])"
    assert call in summary
    assert "lr-find" not in summary and "lr_find" not in summary
    with pytest.raises(InputError, match="reads the rate once") as refused:
        gradtrace.lr_find(line(), "line", optimizer="Torch.Rprop")
    assert str(refused.value).endswith(f"sweep its first step size: {call}.")
