"""ReduceLROnPlateau (``torch.plateau``, ``keras.plateau``): the rate the run
decides from its epoch losses, against the frameworks' rules written out here in
Python from their sources (PyTorch 2.14's ``ReduceLROnPlateau.step``, Keras
3.15's ``ReduceLROnPlateau.on_epoch_end``); the fixtures made by running them are
checked in ``tests/oracle/test_frameworks.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace import run_parts
from gradtrace.core import plateau
from gradtrace.core.schedules import LrSchedule
from helpers import ctrl_c_after, run_cli


def line(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=90)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.5, 90)})


def torch_rule(losses: list[float], lr: float, p: dict[str, Any]) -> list[float]:
    """The rate of each epoch by PyTorch's ReduceLROnPlateau.step (mode min)."""
    best, bad, cool, rates = float("inf"), 0, 0, []
    for current in losses:
        rates.append(lr)
        if p["threshold_mode"] == "rel":
            better = current < best * (1.0 - p["threshold"])
        else:
            better = current < best - p["threshold"]
        if better:
            best, bad = current, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > p["patience"]:
            new = max(lr * p["factor"], p["min_lr"])
            if lr - new > p["eps"]:
                lr = new
            cool, bad = p["cooldown"], 0
    return rates


def keras_rule(losses: list[float], lr: float, p: dict[str, Any]) -> list[float]:
    """The rate of each epoch by Keras's ReduceLROnPlateau.on_epoch_end (a loss:
    better by min_delta at least), the rate a float32 variable."""
    best, wait, cool, rates = None, 0, 0, []
    lr = float(np.float32(lr))
    for current in losses:
        rates.append(lr)
        if cool > 0:
            cool, wait = cool - 1, 0
        if best is None or np.float32(current + p["min_delta"]) < np.float32(best):
            best, wait = current, 0
        elif cool <= 0:
            wait += 1
            if wait >= p["patience"] and lr > np.float32(p["min_lr"]):
                lr = float(np.float32(max(lr * p["factor"], p["min_lr"])))
                cool, wait = p["cooldown"], 0
    return rates


def epoch_losses(
    frame: pd.DataFrame, framework: str, n_rows: int, batch_size: int
) -> list[float]:
    """Each epoch's loss as the framework's loop has it, from the trace's batch
    losses: PyTorch's ``running += loss.item() * len(xb)`` in doubles, then
    ``running / n``; Keras's ``Mean``, float32 sums of loss x rows and of rows."""
    out = []
    steps = frame[frame["step"] > 0]
    for _, epoch in steps.groupby("epoch"):
        losses = epoch["batch_loss"].to_numpy(np.float32)
        rows = np.minimum(
            batch_size, n_rows - (epoch["batch"].to_numpy() - 1) * batch_size
        )
        if framework == "torch":
            running = 0.0
            for loss, r in zip(losses, rows, strict=True):
                running += float(loss) * int(r)
            out.append(running / n_rows)
        else:
            total = count = np.float32(0)
            for loss, r in zip(losses, rows, strict=True):
                total = np.float32(total + np.float32(loss * np.float32(r)))
                count = np.float32(count + np.float32(r))
            out.append(float(np.float32(total / count)))
    return out


def epoch_rates(frame: pd.DataFrame) -> list[float]:
    return frame[frame["step"] > 0].groupby("epoch")["lr"].first().tolist()


@settings(max_examples=6, deadline=None)
@given(
    framework=st.sampled_from(["torch", "keras"]),
    factor=st.sampled_from([0.1, 0.5, 0.8]),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 2),
    threshold=st.sampled_from([0.0, 1e-4, 1e-2]),
    mode=st.sampled_from(["rel", "abs"]),
    min_lr=st.sampled_from([0.0, 0.01]),
)
def test_the_rates_follow_the_frameworks_rule_on_the_epoch_losses(
    framework: str,
    factor: float,
    patience: int,
    cooldown: int,
    threshold: float,
    mode: str,
    min_lr: float,
) -> None:
    params: dict[str, Any] = {
        "factor": factor,
        "patience": patience,
        "cooldown": cooldown,
        "min_lr": min_lr,
    }
    if framework == "torch":
        params |= {"threshold": threshold, "threshold_mode": mode}
    else:
        params["min_delta"] = threshold
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer=f"{framework}.sgd",
        lr=0.2,
        lr_schedule={"name": f"{framework}.plateau", **params},
        batch_size=32,
        epochs=25,
        exact=False,
    )
    frame = trace.to_pandas()
    losses = epoch_losses(frame, framework, 90, 32)
    full = LrSchedule.create(f"{framework}.plateau", **params).params
    rule = torch_rule if framework == "torch" else keras_rule
    want = rule(losses, 0.2, full)
    # the rates as the framework holds them: PyTorch's Python floats, Keras's
    # float32 variable
    assert epoch_rates(frame) == want


def test_the_levels_are_the_frameworks_cuts() -> None:
    """PyTorch cuts in doubles until a cut would move the rate by eps or less;
    Keras's rate is a float32 variable, cut while above min_lr."""
    torch = LrSchedule.create("torch.plateau", factor=0.1, min_lr=1e-4)
    rates, cuts = torch.plateau_levels(0.1, 100, 1, np.float64)
    # 0.1 * 0.1 * 0.1 * 0.1 is a shade above min_lr, so PyTorch takes it; the
    # cut after it would move the rate by less than eps
    rates_by_hand = [0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1 * 0.1]
    assert rates_by_hand[-1] > 1e-4
    assert rates.tolist() == rates_by_hand
    assert cuts.tolist() == [True, True, True, False]
    keras = LrSchedule.create("keras.plateau", factor=0.5, min_lr=0.02)
    rates, cuts = keras.plateau_levels(0.1, 100, 1, np.float32)
    assert rates.tolist() == np.asarray([0.1, 0.05, 0.025, 0.02], np.float32).tolist()
    assert cuts.tolist() == [True, True, True, False]
    # at most one cut an epoch: a 3-epoch run needs 4 levels at most
    many = LrSchedule.create("keras.plateau", factor=0.5)
    assert len(many.plateau_levels(1.0, 3, 1, np.float32)[0]) == 4


def test_a_patience_beyond_the_run_keeps_the_rate() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.adam",
        lr=0.05,
        lr_schedule="torch.plateau:patience=40",
        batch_size=30,
        epochs=20,
        exact=False,
    )
    rates = trace.to_pandas()["lr"].to_numpy()[1:]
    assert (rates == 0.05).all()  # PyTorch's Python float


def test_a_plateau_run_explains_resumes_and_writes_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lr column is the rate each update took, so explain replays a step
    at it and says where the rate was cut; a run stopped mid-epoch resumes to
    the uninterrupted trace (the plateau's state is in the checkpoint); a
    trace written a part at a time has the same rates."""
    options: dict[str, Any] = dict(
        optimizer="torch.sgd",
        opt={"momentum": 0.9},
        lr=0.1,
        lr_schedule="torch.plateau:patience=0,factor=0.5,threshold=0.2",
        batch_size=20,
        epochs=12,
        shuffle=False,
    )
    frame = line()
    whole = gradtrace.fit(frame, "line", **options)
    table = whole.to_pandas()
    rates = table["lr"].to_numpy()[1:]
    assert rates[-1] < rates[0]  # it did cut
    last = len(table) - 1
    update = whole.explain(last).attrs["update"]
    for name in ("w", "b"):
        assert update.loc[name, "after"] == pytest.approx(
            table[name].iloc[last], rel=1e-6
        )
    said = whole.explain_text(last)
    assert "this step's rate, from torch.plateau" in said and "(cut " in said
    assert "not cut yet" in whole.explain_text(1)
    folder = tmp_path / "run"
    cut = gradtrace.fit(
        frame,
        "line",
        **options,
        out=folder,
        checkpoint_every=7,  # mid-epoch: 5 batches an epoch
        progress=ctrl_c_after(3),
    )
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder, data=frame)
    pd.testing.assert_frame_equal(done.to_pandas(), table)
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    parts = gradtrace.fit(frame, "line", **options, out=tmp_path / "parts")
    pd.testing.assert_frame_equal(parts.to_pandas(), table)


def test_the_diagnosis_says_a_plateau_only_lowers_the_rate() -> None:
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="keras.sgd",
        lr=0.1,
        lr_schedule="keras.plateau:patience=2",
        batch_size=30,
        epochs=6,
    )
    said = " ".join(trace.info["diagnosis"]["findings"])
    assert "keras.plateau lowers the rate from 0.1" in said
    assert "never climbs" in said


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (
            ["--lr-schedule", "torch.plateau:factor=1"],
            "factor multiplies the rate at each cut, from 0 up to but not 1",
        ),
        (
            ["--lr-schedule", "keras.plateau:patience=2.5"],
            "patience counts epochs: give a whole number",
        ),
        (
            ["--lr-schedule", "torch.plateau:threshold_mode=relative"],
            "choose one of: rel, abs",
        ),
        (
            [
                "--lr-schedule",
                "torch.chained:schedulers=[torch.plateau(),torch.exponential(gamma=0.9)]",
            ],
            "cannot hold torch.plateau: its rate follows the epoch's loss",
        ),
    ],
)
def test_bad_plateaus_are_told_what_to_give(
    args: list[str], told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["fit", "seed001_line", "--epochs", "3", "--out", str(tmp_path / "r"), *args],
        capsys,
    )
    assert code != 0 and told in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("schedule", "batch_size"),
    [
        ("torch.plateau:patience=0,factor=0.5,threshold=0.2", 20),
        ("keras.plateau:patience=1,factor=0.5,min_delta=0.01", 20),
        ("torch.plateau:patience=0,factor=0.5,threshold=0.2", None),  # full batch
        # watching a validation file's loss, judged at the next epoch's start
        ("torch.plateau:monitor=val_loss,patience=0,factor=0.5,threshold=0.2", 20),
        ("keras.plateau:monitor=val_loss,patience=1,factor=0.5,min_delta=0.01", 20),
        ("keras.plateau:monitor=val_loss,patience=1,factor=0.5,min_delta=0.2", None),
    ],
)
def test_a_streamed_plateau_is_the_in_memory_one(
    schedule: str, batch_size: int | None, tmp_path: Path
) -> None:
    """With shuffling off, a file streamed in chunks of 40 rows takes the rates
    the same file read whole takes: the plateau's state rides in the carry
    from chunk to chunk, and a full-batch step (summed over the chunks) is an
    epoch of its own."""
    data = tmp_path / "d.parquet"
    frame = line().astype(np.float32)
    frame.to_parquet(data)
    options: dict[str, Any] = dict(
        optimizer=schedule.split(".")[0] + ".sgd",
        lr=0.1,
        lr_schedule=schedule,
        epochs=15,
        shuffle=False,
        exact=False,
    )
    if batch_size is not None:
        options["batch_size"] = batch_size
    if "val_loss" in schedule:
        held = tmp_path / "held.parquet"
        line(seed=8).astype(np.float32).iloc[:30].to_parquet(held)
        options["validation_data"] = str(held)
    whole = gradtrace.fit(str(data), "line", **options).to_pandas()
    streamed = gradtrace.fit(
        str(data), "line", stream=True, chunk_rows=40, **options
    ).to_pandas()
    rates = whole["lr"].to_numpy()[1:]
    assert rates[-1] < rates[0]  # it cut
    assert streamed["lr"].to_numpy()[1:].tolist() == rates.tolist()
    np.testing.assert_allclose(streamed["w"], whole["w"], rtol=1e-6)


@pytest.mark.parametrize(
    "schedule",
    [
        "torch.plateau:patience=0,factor=0.5,threshold=0.2",
        "keras.plateau:patience=1,factor=0.5,min_delta=0.01",
    ],
)
def test_a_sweep_gives_each_rate_the_plateau_a_fit_gives_it(schedule: str) -> None:
    """Each configuration of a sweep has its own plateau (its levels from its
    own rate, its rule called for it at each epoch's end): its final values are
    the single fit's."""
    optimizer = schedule.split(".")[0] + ".sgd"
    options: dict[str, Any] = dict(
        optimizer=optimizer, batch_size=20, epochs=15, shuffle=False
    )
    sweep = gradtrace.sweep(
        line(), "line", lr=[0.05, 0.2], lr_schedule=schedule, **options
    )
    table = sweep.table.sort_values("lr")
    for lr, w in zip(table["lr"], table["w"], strict=True):
        single = gradtrace.fit(
            line(), "line", lr=lr, lr_schedule=schedule, exact=False, **options
        )
        rates = single.to_pandas()["lr"].dropna().to_numpy()
        assert rates[-1] < rates[0]  # it cut
        assert w == single.params["w"]


def test_the_state_is_found_in_a_clipped_optimizers() -> None:
    """With clipping, the optimizer is a chain: the plateau's state is found
    inside it (the run reads its rate there)."""
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer="torch.sgd",
        lr=0.1,
        clip="torch.norm=0.5",
        lr_schedule="torch.plateau:patience=0,factor=0.5,threshold=0.2",
        batch_size=45,
        epochs=6,
        exact=False,
    )
    rates = trace.to_pandas()["lr"].to_numpy()[1:]
    assert rates.min() < rates[0]
    assert plateau.find((1, plateau.PlateauState(*range(3)))) is not None


def test_a_schedule_that_the_run_never_reaches_is_noticed() -> None:
    """A plateau whose patience outlasts the run, and a SequentialLR milestone
    past its end, are said before the run trains (they would change nothing)."""
    short = gradtrace.fit(
        line(), "line", lr=0.1, lr_schedule="keras.plateau:patience=4", epochs=5
    )
    said = " ".join(short.info["notices"])
    assert "keras.plateau with patience=4 cuts the rate after epoch 5" in said
    enough = gradtrace.fit(
        line(), "line", lr=0.1, lr_schedule="keras.plateau:patience=4", epochs=6
    )
    assert not any("plateau" in n for n in enough.info["notices"])
    late = gradtrace.fit(
        line(),
        "line",
        lr=0.1,
        lr_schedule="torch.sequential:schedulers=[torch.linear(),"
        "torch.step(step_size=2)],milestones=[6]",
        epochs=6,
    )
    said = " ".join(late.info["notices"])
    assert "milestone 6 lies past the run's 6 epochs" in said
    assert "torch.step never takes over" in said


@settings(max_examples=30, deadline=None)
@given(
    losses=st.lists(st.floats(2**-20, 2**14, width=32), min_size=1, max_size=60),
    rows=st.integers(1, 50_000),
)
def test_the_epoch_sum_is_pytorchs_sum_in_doubles(
    losses: list[float], rows: int
) -> None:
    """``exact_add`` keeps float32 ``loss * rows`` summed in a pair of float32
    numbers, compiled: the pair's sum is the doubles' sum that PyTorch's loop
    makes of ``loss.item() * len(xb)`` to 48 bits (each product exact; the pair
    rounds once its sum needs more bits), and equal to it where the terms' bits
    fit in 48."""
    import jax
    import jax.numpy as jnp

    batches = np.asarray(losses, np.float32)
    counts = np.full(len(batches), rows, np.int32)
    counts[-1] = max(1, rows // 3)  # a shorter last batch

    @jax.jit
    def total(values: Any, sizes: Any) -> Any:
        def add(pair: Any, item: Any) -> tuple[Any, None]:
            return plateau.exact_add(pair, item[0], item[1]), None

        return jax.lax.scan(add, jnp.zeros(2, jnp.float32), (values, sizes))[0]

    pair = np.asarray(total(batches, counts))
    running = 0.0
    for loss, r in zip(batches, counts, strict=True):
        running += float(loss) * int(r)
    ours = float(pair[0]) + float(pair[1])
    assert abs(ours - running) <= 2.0**-46 * running
    if len(set(losses)) == 1 and rows < 4096:  # 24 + 12 + 6 bits: exact
        assert ours == running


def _rule(name: str, **given: Any) -> Any:
    schedule = LrSchedule.create(name, **given)
    _, cuts = schedule.plateau_levels(0.1, 50, 1, np.float64)

    def rule(sums: Any, judged: Any) -> Any:
        return plateau.judge(name, schedule.params, np.float32, 10)(
            sums, judged, cuts[int(judged[0])]
        )

    return rule, len(cuts)


def _epoch(rule: Any, state: tuple[Any, ...], loss: float) -> tuple[Any, ...]:
    """One epoch's end, its loss ``loss`` (a mean over the rule's 10 rows):
    the state (level, best, wait, cooldown) after it."""
    sums = np.asarray([loss * 10, 0.0])
    judged = rule(sums, plateau._packed(*state))
    best = float(judged[1:3].copy().view(np.float64)[0])
    return int(judged[0]), best, int(judged[3]), int(judged[4])


def test_a_rate_at_its_floor_is_cut_no_more_as_each_framework_says() -> None:
    """At min_lr, Keras does not cut: its wait goes on counting and no cooldown
    starts; PyTorch's cut leaves the rate but starts the cooldown and resets its
    count of bad epochs."""
    none_yet = np.nan
    torch, n_levels = _rule("torch.plateau", patience=0, min_lr=0.1, cooldown=2)
    assert n_levels == 1  # the rate is at its floor from the start
    state: tuple[Any, ...] = (0, none_yet, 0, 0)
    state = _epoch(torch, state, 1.0)  # the first epoch: better than inf
    state = _epoch(torch, state, 1.0)  # bad: more than 0 of them -> a cut
    level, _, wait, cool = state
    assert (int(level), int(wait), int(cool)) == (0, 0, 2)
    keras, _ = _rule("keras.plateau", patience=1, min_lr=0.1, cooldown=2)
    state = (0, none_yet, 0, 0)
    for _ in range(4):
        state = _epoch(keras, state, 1.0)
    level, _, wait, cool = state
    assert (int(level), int(wait), int(cool)) == (0, 3, 0)
    # above the floor the same epochs cut, and the cooldown starts
    keras, _ = _rule("keras.plateau", patience=1, cooldown=2)
    state = (0, none_yet, 0, 0)
    for _ in range(2):
        state = _epoch(keras, state, 1.0)
    level, _, wait, cool = state
    assert (int(level), int(wait), int(cool)) == (1, 0, 2)


def test_keras_and_pytorch_arguments_that_change_nothing_are_taken() -> None:
    """``monitor="loss"``, ``mode="min"`` and ``verbose`` as the framework's code
    has them are taken (the same schedule); ``monitor="val_loss"`` watches the
    validation data's loss (``tests/test_validation.py``); another monitor or
    mode is told what is watched."""
    from gradtrace import validate

    plain = validate.lr_schedule({"name": "keras.plateau", "patience": 2})
    written = validate.lr_schedule(
        {
            "name": "keras.plateau",
            "monitor": "loss",
            "mode": "min",
            "verbose": 1,
            "patience": 2,
        }
    )
    assert written == plain
    assert validate.lr_schedule("torch.plateau:mode=min,patience=2") == (
        validate.lr_schedule("torch.plateau:patience=2")
    )
    with pytest.raises(gradtrace.InputError, match="not val_mae: give one of those"):
        validate.lr_schedule("keras.plateau:monitor=val_mae")
    watching = validate.lr_schedule("keras.plateau:monitor=val_loss")
    assert watching is not None and watching.params["monitor"] == "val_loss"
    with pytest.raises(gradtrace.InputError, match="mode=max is not supported"):
        validate.lr_schedule("torch.plateau:mode=max")


def test_the_summary_says_after_which_epochs_the_rate_was_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--optimizer",
            "keras.adam",
            "--lr",
            "0.05",
            "--batch-size",
            "16",
            "--epochs",
            "60",
            "--lr-schedule",
            "keras.plateau:patience=3,factor=0.5",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, err
    frame = gradtrace.load(tmp_path / "r").to_pandas()
    rates = frame[frame["step"] > 0].groupby("epoch")["lr"].first()
    cut = [str(e - 1) for e in rates.index[1:][np.diff(rates.to_numpy()) < 0]]
    assert cut  # it did cut
    which = "epoch" if len(cut) == 1 else "epochs"
    listed = cut[0] if len(cut) == 1 else ", ".join(cut[:-1]) + " and " + cut[-1]
    assert f"0.05 at step 1, cut after {which} {listed}, to " in out


def test_a_floor_not_below_the_rate_is_noticed() -> None:
    trace = gradtrace.fit(
        line(), "line", lr=0.05, lr_schedule="torch.plateau:min_lr=1", epochs=3
    )
    said = " ".join(trace.info["notices"])
    assert "min_lr=1 is not below the rate 0.05, so it never cuts it" in said


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_explain_replays_the_plateaus_count_as_the_run_kept_it(framework: str) -> None:
    """``plateau.replay`` over a trace's batch losses cuts where the run cut (so
    what explain says of the plateau's count is what the run held), and explain
    says it at a step: the epoch's loss, the best, the bad epochs."""
    from gradtrace.core import plateau as rules

    schedule = LrSchedule.create(
        f"{framework}.plateau", patience=2, factor=0.5, cooldown=1
    )
    trace = gradtrace.fit(
        line(),
        "line",
        optimizer=f"{framework}.sgd",
        lr=0.2,
        lr_schedule=schedule.to_dict(),
        batch_size=32,
        epochs=30,
        exact=False,
    )
    frame = trace.to_pandas()
    steps = frame[frame["step"] > 0]
    rates, cuts = schedule.plateau_levels(0.2, 90, 3, np.float32)
    rows = np.minimum(32, 90 - (steps["batch"].to_numpy() - 1) * 32)
    judged = rules.replay(
        schedule.name,
        schedule.params,
        cuts,
        np.float32,
        steps["batch_loss"].to_numpy(),
        rows,
        steps["epoch"].to_numpy(),
    )
    taken = steps.groupby("epoch")["lr"].first().to_numpy()
    assert len(judged) == 30
    assert [rates[j.level] for j in judged[:-1]] == taken[1:].tolist()
    assert taken[-1] < taken[0]  # it cut
    said = trace.explain_text(int(frame.index[-1]))
    last = judged[-2]  # before the last epoch's end
    assert "After epoch 29: its loss " in said
    assert f"{last.wait} bad epoch" in said


def test_the_advice_for_a_plateau_that_had_no_reason_to_cut() -> None:
    """A mini-batch run still on its way: a lower patience would not help (the
    loss was still falling); one that settled is told to cut sooner."""
    from gradtrace.advice import unconverged

    args: dict[str, Any] = dict(
        final={"w": 1.0},
        optimum={"w": 2.0},
        stderr={"w": 0.01},
        mini_batch=True,
        schedule="torch.plateau",
    )
    moving = unconverged(**args, settled=False)
    assert moving is not None and "once the loss stops falling" in moving
    assert "lower patience" not in moving
    still = unconverged(**args, settled=True)
    assert still is not None and "a lower patience or a smaller factor" in still
