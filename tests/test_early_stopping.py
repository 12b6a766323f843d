"""Early stopping (``early_stopping=``, ``--early-stopping``), Keras's
``EarlyStopping`` callback: its rule against Keras 3.15's ``on_epoch_end``
written out here from its source, a run stopped a chunk at a time, restored
weights, and bad input. Checked against Keras's own runs in
``tests/oracle/test_validation.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace.core.early_stopping import EarlyStopping, judge
from gradtrace.errors import InputError
from helpers import ctrl_c_after, fit_refused, run_cli


class KerasEarlyStopping:
    """Keras 3.15's EarlyStopping.on_epoch_end and MonitorCallback, mode min or
    max, as its source has them (weights: the epoch they are from)."""

    def __init__(self, rule: EarlyStopping) -> None:
        self.rule = rule
        self.best = None  # on_train_begin's, whatever the baseline
        self.min_delta = abs(rule.min_delta)
        if not rule.rising:
            self.min_delta *= -1
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best_weights: int | None = None

    def improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        shifted = np.float32(value - self.min_delta)
        if self.rule.rising:
            return bool(shifted > np.float32(reference))
        return bool(shifted < np.float32(reference))

    def on_epoch_end(self, epoch: int, current: float) -> bool:
        """Whether training stops."""
        if epoch < self.rule.start_from_epoch:
            return False
        if self.rule.restore_best_weights and self.best_weights is None:
            self.best_weights = epoch
            self.best_epoch = epoch
        self.wait += 1
        if self.improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.rule.restore_best_weights:
                self.best_weights = epoch
            if self.rule.baseline is None or self.improvement(
                current, self.rule.baseline
            ):
                self.wait = 0
            return False
        if self.wait >= self.rule.patience and epoch > 0:
            self.stopped_epoch = epoch
            return True
        return False


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(0.5, 1.5, width=32) | st.sampled_from([1.0, 1.0001, 0.9999]),
        min_size=1,
        max_size=30,
    ),
    patience=st.integers(0, 4),
    min_delta=st.sampled_from([0.0, 1e-4, 0.01, -0.01]),
    mode=st.sampled_from(["auto", "min", "max"]),
    baseline=st.none() | st.sampled_from([0.9, 1.0, 1.2]),
    restore=st.booleans(),
    start=st.integers(0, 3),
)
def test_the_rule_is_keras(
    values: list[float],
    patience: int,
    min_delta: float,
    mode: str,
    baseline: float | None,
    restore: bool,
    start: int,
) -> None:
    rule = EarlyStopping(
        "val_loss", min_delta, patience, mode, baseline, restore, start
    )
    keras = KerasEarlyStopping(rule)
    stopped = None
    for epoch, value in enumerate(values):
        if keras.on_epoch_end(epoch, value):
            stopped = epoch + 1
            break
    got = judge(rule, values, np.float32)
    assert got.stopped_epoch == stopped
    if restore:
        kept = None if keras.best_weights is None else keras.best_weights + 1
        assert got.restored_epoch == kept
    else:
        assert got.restored_epoch is None


def line(n: int = 160, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.5, n)})


OPTIONS: dict[str, Any] = dict(
    lr=0.2,
    batch_size=16,
    epochs=60,
    shuffle=False,
    validation_split=0.25,
    early_stopping={"patience": 2, "restore_best_weights": True},
)


def test_a_run_stops_and_restores_its_best_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trace ends after the epoch it stopped; the final values are the
    best epoch's; a run in chunks stops at the same epoch, without running
    the chunks after it."""
    trace = gradtrace.fit(line(), **OPTIONS)
    said = trace.info["early_stopping"]
    history = trace.history()
    assert said["stopped_epoch"] == len(history) < 60
    best = int(history["val_loss"].to_numpy().argmin()) + 1
    assert said["best_epoch"] == said["restored_epoch"] == best
    row = history[history["epoch"] == best].iloc[0]
    assert trace.params == {"w": row["w"], "b": row["b"]}
    assert trace.info["params"] == trace.params
    assert trace.final_loss == row["loss_all_data"]
    assert "stopped early after epoch" in trace.message
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "7")
    chunked = gradtrace.fit(line(), **OPTIONS)
    pd.testing.assert_frame_equal(chunked.to_pandas(), trace.to_pandas())
    assert chunked.info["early_stopping"] == said


def test_the_likelihood_statistics_are_the_restored_weights() -> None:
    rng = np.random.default_rng(2)
    data = {"y": rng.normal(1.0, 2.0, 300)}
    trace = gradtrace.fit(
        data,
        "normal",
        lr=0.3,
        batch_size=30,
        epochs=80,
        shuffle=False,
        validation_split=0.2,
        early_stopping="patience=1,restore_best_weights=true",
    )
    said = trace.info["early_stopping"]
    assert said["stopped_epoch"] is not None
    restored = trace.to_pandas().set_index("step").loc[said["restored_step"]]
    y = data["y"][:240]
    loc, scale = restored["loc"], restored["scale"]
    loglik = np.sum(
        -0.5 * ((y - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)
    )
    got = trace.info["likelihood"]["final"]["loglik"]
    assert got == pytest.approx(loglik, rel=1e-5)


def test_an_interrupted_run_resumes_to_the_same_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = gradtrace.fit(line(), **OPTIONS)
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "9")
    folder = tmp_path / "run"
    cut = gradtrace.fit(line(), **OPTIONS, out=folder, progress=ctrl_c_after(3))
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder, data=line())
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())
    assert done.info["early_stopping"] == whole.info["early_stopping"]


def test_watching_the_training_loss_needs_no_validation_data() -> None:
    trace = gradtrace.fit(
        line(),
        lr=0.2,
        batch_size=16,
        epochs=200,
        early_stopping={"monitor": "loss", "min_delta": 1e-3, "patience": 1},
    )
    assert trace.info["early_stopping"]["stopped_epoch"] is not None
    assert trace.steps < 200 * 10


def stopped_on_seed003(
    stopping: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    """``gradtrace fit`` of seed 003's line with a validation split, RMSE and
    ``--early-stopping STOPPING`` into ``out``: what it printed."""
    code, said, err = run_cli(
        [
            "fit",
            "seed003_linear",
            "--validation-split",
            "0.2",
            "--batch-size",
            "32",
            "--epochs",
            "100",
            "--lr",
            "0.05",
            "--metric",
            "rmse",
            "--early-stopping",
            stopping,
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    return said


def test_the_cli_says_where_it_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    said = stopped_on_seed003(
        "monitor=val_root_mean_squared_error,patience=2,restore_best_weights=true",
        out,
        capsys,
    )
    assert "stopped early after epoch" in said and "restored as its best" in said
    assert "(epoch " in said and "'s, restored)" in said
    # the line of Keras's logged loss says which loss it set it beside: the
    # restored epoch's, not the last step's (a newcomer read the two as at odds)
    epoch = re.search(r"\(epoch (\d+)'s, restored\)", said).group(1)  # type: ignore[union-attr]
    assert f"over all the data at epoch {epoch}'s end, whose weights were" in said
    assert "after the last step" not in said
    code, said, err = run_cli(["rerun", str(out), "--out", str(tmp_path / "b")], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--early-stopping", "patience=2"], "early stopping watches val_loss"),
        (
            ["--early-stopping", "monitor=rmse"],
            "early stopping watches rmse: add --metric rmse",
        ),
        (["--early-stopping", "patience=-1"], "counts epochs: give a whole number"),
        (["--early-stopping", "patiense=2"], "has no argument 'patiense'"),
        (["--early-stopping", "monitor=val_acc"], "not 'val_acc'"),
        (["--early-stopping", "monitor=val_los"], "Did you mean 'val_loss'?"),
        (["--early-stopping", "monitor=vall_loss"], "Did you mean 'val_loss'?"),
        (["--early-stopping", "patience"], "takes KEY=VALUE"),
    ],
)
def test_bad_early_stopping_is_told_what_to_give(
    args: list[str], told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit_refused(["seed001_line", "--epochs", "3", *args], told, tmp_path / "r", capsys)


def _files(tmp_path: Path) -> tuple[str, str]:
    """A line's training rows and its validation rows, as Parquet files."""
    train, held = tmp_path / "train.parquet", tmp_path / "held.parquet"
    line().to_parquet(train)
    line(48, seed=9).to_parquet(held)
    return str(train), str(held)


def _same_stop(a: gradtrace.Trace, b: gradtrace.Trace) -> None:
    """Two runs that stopped at the same epoch with the same weights (the
    streamed one's sums taken a chunk at a time in float64 round apart)."""
    assert a.info["early_stopping"]["stopped_epoch"] is not None
    assert a.info["early_stopping"] == pytest.approx(b.info["early_stopping"])
    assert (a.status, a.steps) == (b.status, b.steps)
    assert a.params == pytest.approx(b.params, rel=1e-5)
    assert a.final_loss == pytest.approx(b.final_loss, rel=1e-5)
    ta, tb = a.to_pandas(), b.to_pandas()
    assert list(ta.columns) == list(tb.columns)
    for col in ta.columns:
        np.testing.assert_allclose(ta[col], tb[col], rtol=2e-5, atol=1e-6, err_msg=col)


@pytest.mark.parametrize(
    "options",
    [
        # mini-batches, watching the validation file's loss
        {"validation": True},
        # full batch: an epoch a step, read a chunk at a time
        {"validation": True, "batch_size": None, "lr": 0.1, "epochs": 400},
        # the training loss: Keras's running mean over the epoch's batches
        {"early_stopping": {"monitor": "loss", "min_delta": 1e-3, "patience": 1}},
    ],
    ids=["val_loss", "full-batch", "loss"],
)
def test_a_stream_stops_as_in_memory(tmp_path: Path, options: dict[str, Any]) -> None:
    """A streamed run (its file read 32 rows at a time, in order) stops after the
    in-memory run's epoch and restores its weights (the loss over all the data
    taken after each epoch, as a stream takes it)."""
    train, held = _files(tmp_path)
    settings = {**OPTIONS, "validation_split": None, "eval_every": 10, **options}
    if "batch_size" in options:
        settings["eval_every"] = 1
    if settings.pop("validation", False):
        settings["validation_data"] = held
    in_memory = gradtrace.fit(train, **settings)
    streamed = gradtrace.fit(train, **settings, stream=True, chunk_rows=32)
    _same_stop(streamed, in_memory)
    assert "stopped early after epoch" in streamed.message


def test_a_long_stream_stops_as_in_memory_and_resumes_to_the_same_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed run written in parts keeps the restored epoch's row; one
    interrupted and resumed from its checkpoint stops where the whole run did
    (the rule's state rides in the checkpoint)."""
    from gradtrace import run_parts

    train, held = _files(tmp_path)
    settings = {**OPTIONS, "validation_split": None, "validation_data": held}
    settings["eval_every"] = 10
    streamed = {**settings, "stream": True, "chunk_rows": 32}
    whole = gradtrace.fit(train, **settings)
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    parts = gradtrace.fit(train, **streamed, out=tmp_path / "parts")
    assert parts.info["trace"]["parts"] > 1
    _same_stop(gradtrace.load(tmp_path / "parts"), whole)
    folder = tmp_path / "cut"
    cut = gradtrace.fit(
        train, **streamed, out=folder, checkpoint_every=6, progress=ctrl_c_after(4)
    )
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder)
    _same_stop(done, whole)
    _same_stop(gradtrace.load(folder), whole)
    assert not (folder / "state.npz").exists()


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0.5, 1.5, width=32), min_size=1, max_size=25),
    cut=st.integers(0, 25),
    patience=st.integers(0, 3),
    restore=st.booleans(),
    baseline=st.none() | st.sampled_from([0.9, 1.2]),
)
def test_the_rule_goes_on_from_its_state(
    values: list[float],
    cut: int,
    patience: int,
    restore: bool,
    baseline: float | None,
) -> None:
    """Judged in two goes, its state saved and restored between them (a run
    resumed from a checkpoint), it decides as in one."""
    from gradtrace.core.early_stopping import Judging

    rule = EarlyStopping("val_loss", 0.0, patience, "auto", baseline, restore, 1)
    whole = judge(rule, values, np.float32)
    first = Judging(rule, np.float32)
    first.add(values[:cut])
    second = Judging(rule, np.float32)
    second.restore(first.state())
    assert second.add(values[cut:]) == whole


@pytest.mark.parametrize("batch_size", [16, None])
def test_a_run_written_in_parts_stops_as_in_memory(
    batch_size: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run (its trace written a part at a time, with checkpoints) stops at
    the same epoch, keeps the same rows and restores the same weights; one
    interrupted and resumed from its checkpoint does too (the rule's state
    rides in the checkpoint)."""
    from gradtrace import run_parts

    options: dict[str, Any] = {**OPTIONS, "batch_size": batch_size}
    if batch_size is None:  # full batch: an epoch a step
        options.update(lr=0.1, epochs=400)
    whole = gradtrace.fit(line(), **options)
    assert whole.info["early_stopping"]["stopped_epoch"] is not None
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "5")
    parts = gradtrace.fit(line(), **options, out=tmp_path / "parts")
    assert parts.info["trace"]["parts"] > 1
    loaded = gradtrace.load(tmp_path / "parts")
    pd.testing.assert_frame_equal(loaded.to_pandas(), whole.to_pandas())
    assert loaded.info["early_stopping"] == whole.info["early_stopping"]
    assert parts.params == whole.params == loaded.params
    folder = tmp_path / "cut"
    cut = gradtrace.fit(
        line(), **options, out=folder, checkpoint_every=6, progress=ctrl_c_after(4)
    )
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder, data=line())
    again = gradtrace.load(folder)
    pd.testing.assert_frame_equal(again.to_pandas(), whole.to_pandas())
    assert done.info["early_stopping"] == whole.info["early_stopping"]
    assert done.params == whole.params


def test_restored_weights_not_evaluated_get_their_loss(tmp_path: Path) -> None:
    """With --eval-every, the restored step's loss over all the data may not have
    been taken: it is taken at the restored values, and run.json's final_loss is
    it, not the last step's."""
    import json

    trace = gradtrace.fit(
        line(), **OPTIONS, eval_every=7, exact=False, out=tmp_path / "r"
    )
    said = trace.info["early_stopping"]
    assert said["restored_step"] != trace.steps
    row = trace.to_pandas().set_index("step").loc[said["restored_step"]]
    assert np.isnan(row["loss"]) and not np.isnan(trace.final_loss)
    frame = line().iloc[:120]
    residual = frame["y"] - (trace.params["w"] * frame["x"] + trace.params["b"])
    assert trace.final_loss == pytest.approx(np.mean(residual**2), rel=1e-5)
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["final_loss"] == pytest.approx(trace.final_loss)


def test_a_config_file_takes_early_stopping_as_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        "validation-split = 0.2\nepochs = 100\nbatch-size = 32\nlr = 0.05\n"
        "[early-stopping]\npatience = 2\nrestore_best_weights = true\n"
    )
    code, said, err = run_cli(
        [
            "fit",
            "seed003_linear",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "r"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert "stopped early after epoch" in said


def test_what_is_shown_of_a_restored_run_is_the_restored_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary's metric lines, fit.png's title and landscape.png's marker
    speak of the weights restored, not of the last epoch's."""
    out = tmp_path / "r"
    said = stopped_on_seed003("patience=2,restore_best_weights=true", out, capsys)
    trace = gradtrace.load(out)
    said_stop = trace.info["early_stopping"]
    row = trace.to_pandas().set_index("step").loc[said_stop["restored_step"]]
    assert f"rmse: {row['rmse']:.7g} on all the training data" in said
    title = trace.plot("fit").axes[0].get_title().replace("\n", " ")  # filled
    assert f"epoch {said_stop['restored_epoch']}'s weights restored" in title
    labels = [h.get_label() for h in trace.plot("landscape").axes[0].get_lines()]
    assert f"restored (epoch {said_stop['restored_epoch']})" in labels
    for ax in trace.plot("params").axes:
        marks = [h.get_label() for h in ax.get_lines()]
        assert f"restored (epoch {said_stop['restored_epoch']})" in marks


def test_a_stopped_run_says_so_and_its_values_are_the_restored_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer's notebook: the repr said "completed", the summary's
    validation figures were the last epoch's beside the restored weights, and a
    warning said more epochs would get closer, against the stop. Now the repr
    says it stopped and what it restored, ``attrs["validation"]`` and the
    command's val_loss line are the restored weights', and a parameter far from
    the training data's optimum is told why, not to train on."""
    trace = gradtrace.fit(line(), **OPTIONS)
    said = trace.info["early_stopping"]
    assert said["restored_epoch"] < said["stopped_epoch"]
    assert (
        f"stopped early after epoch {said['stopped_epoch']}, epoch "
        f"{said['restored_epoch']}'s weights restored;"
    ) in repr(trace)
    held = trace.summary().attrs["validation"]
    history = trace.history().set_index("epoch")
    assert held["epoch"] == said["restored_epoch"] and held["restored"]
    assert held["val_loss"] == history.loc[said["restored_epoch"], "val_loss"]
    assert held["last"] == {
        "val_loss": history["val_loss"].iloc[-1],
        "epoch": said["stopped_epoch"],
    }
    code, out, err = run_cli(
        ["fit", "seed001_line", "--lr", "0.001", "--steps", "3000", "-q"]
        + ["--validation-split", "0.2", "--early-stopping", "patience=2,min_delta=0.01"]
        + ["--out", str(tmp_path / "slow")],
        capsys,
    )
    assert code == 0, err
    (far,) = [x for x in out.splitlines() if "from the training data's optimum" in x]
    assert "early stopping ended the run after epoch" in far
    assert "short of it by design" in far and "more steps" not in far
    assert "moving toward its optimum" not in out


def test_a_python_caller_is_told_pythons_names_for_validation_data() -> None:
    """The message mixed the command line's flags with Python's arguments."""
    with pytest.raises(InputError) as told:
        gradtrace.fit(line(), early_stopping={"patience": 2})
    assert "(validation_split=0.2 or validation_data=...)" in str(told.value)
    assert "--" not in str(told.value)


def test_a_stop_decided_by_float_rounding_is_said_so() -> None:
    """A Keras user's run stopped an epoch apart from Keras's: its val_loss had
    settled to within a bit of its best, where the order of a sum decides. The
    run says which call was that close, with the values history() holds; a
    stop by a clear margin says nothing."""
    from gradtrace.core.early_stopping import EarlyStopping, close_calls

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 50)
    frame = pd.DataFrame({"x": x, "y": 1.7 * x - 0.8 + rng.normal(0, 0.5, 50)})
    options: dict[str, Any] = dict(
        optimizer="keras.sgd",
        lr=0.3,
        batch_size=40,
        epochs=300,
        shuffle=False,
        validation_split=0.2,
        init={"w": 0.5, "b": 0.0},
    )
    settled = gradtrace.fit(
        frame, early_stopping="patience=5,restore_best_weights=true", **options
    )
    (note,) = [n for n in settled.info["notices"] if "float rounding" in n]
    values = settled.history()["val_loss"].to_numpy(np.float64)
    calls = close_calls(EarlyStopping(patience=5), values, "float32")
    epoch, value, best = calls[0]
    assert f"call at epoch {epoch} (and {len(calls) - 1} more)" in note
    assert f"val_loss {value:.9g} against the best so far, {best:.9g}" in note
    assert abs(value - best) <= 4 * np.finfo(np.float32).eps * best
    clear = gradtrace.fit(frame, early_stopping="patience=2,min_delta=0.01", **options)
    assert clear.info["early_stopping"]["stopped_epoch"] is not None
    assert not any("float rounding" in n for n in clear.info["notices"])
