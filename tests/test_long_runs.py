"""Long runs: a trace written a part at a time as the run goes equals the trace held
whole, and the run keeps every k-th step in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.helpers import run_cli

import gradtrace
from gradtrace import api
from gradtrace.api import RunConfig, run
from gradtrace.store import TraceWriter


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of more than 7 steps write their trace in parts of 5 steps."""
    monkeypatch.setattr(api, "TRACE_PART_STEPS", 7)
    monkeypatch.setattr(api, "KEEP_ROWS", 10)
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "5")


def _frame(n: int = 103, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(size=n) * 0.3})


CASES = [
    # full batch: the loss after a chunk's last step is the next chunk's batch loss
    dict(model="line", lr=0.1, steps=43, metrics=["rmse", "r2"]),
    dict(model="normal", y="y", lr=0.05, steps=40, dtype="float64"),
    # mini-batches: Keras's running values carry over parts and restart at epochs
    dict(model="line", lr=0.05, batch_size=16, epochs=4, metrics=["mae"]),
    dict(model="line", lr=0.05, batch_size=10, epochs=3, shuffle=True, seed=5),
    # diverging, inside a part and at a part's end (full batch: the loss after it)
    dict(model="line", lr=3.0, batch_size=16, epochs=10),
    dict(model="line", lr=2.6, steps=60),
    dict(model="line", lr=3.0, steps=60),  # step 25: the end of the fifth part
]


@pytest.mark.parametrize("options", CASES, ids=lambda o: str(sorted(o.items())))
def test_a_trace_written_in_parts_equals_the_trace_held_whole(
    options: dict[str, Any], tmp_path: Path, small_parts: None
) -> None:
    frame = _frame()
    config = RunConfig(data=None, **{"shuffle": False, **options})
    whole = run(config, frame, "the frame")
    folder = tmp_path / "run"
    parted = run(config, frame, "the frame", trace_to=lambda: TraceWriter(folder))
    assert parted.writer is not None and "trace" in parted.info
    parted.save(folder)
    loaded = gradtrace.load(folder)
    assert len(list((folder / "trace.parquet").iterdir())) > 1
    assert (loaded.status, loaded.steps) == (whole.status, whole.steps)
    assert loaded.info["diverged_step"] == whole.info["diverged_step"]
    pd.testing.assert_frame_equal(loaded.to_pandas(), whole.to_pandas())
    # in memory: every k-th step and the last
    kept = parted.to_pandas()
    every = parted.info["trace"]["kept_every"]
    assert every > 1
    full = whole.to_pandas()
    assert kept["step"].iloc[-1] == whole.steps
    expected = full[(full["step"] % every == 0) | (full["step"] == whole.steps)]
    pd.testing.assert_frame_equal(kept, expected.reset_index(drop=True))
    assert parted.params == whole.params
    assert parted.final_loss == pytest.approx(whole.final_loss, nan_ok=True)


def test_a_short_run_or_a_checkpointed_one_is_held_whole(
    tmp_path: Path, small_parts: None
) -> None:
    frame = _frame()
    made: list[Path] = []

    def writer() -> TraceWriter:
        made.append(tmp_path / "run")
        return TraceWriter(tmp_path / "run")

    short = run(RunConfig(data=None, steps=7), frame, "f", trace_to=writer)
    assert short.writer is None and not made
    checkpointed = RunConfig(data=None, steps=20, checkpoint_every=10)
    held = run(checkpointed, frame, "f", trace_to=writer)
    assert held.writer is None and not made
    assert not list(tmp_path.iterdir())


def test_a_failed_run_leaves_no_folder(tmp_path: Path, small_parts: None) -> None:
    frame = _frame()
    config = RunConfig(data=None, steps=30, init={"w": float("nan")})
    with pytest.raises(gradtrace.InputError):
        run(config, frame, "f", trace_to=lambda: TraceWriter(tmp_path / "run"))
    assert not list(tmp_path.iterdir())


def test_the_cli_writes_a_long_run_in_parts(
    tmp_path: Path, small_parts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    _frame().to_csv(data, index=False)
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        ["fit", str(data), "--steps", "40", "--lr", "0.1", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert "completed 40 steps" in stdout
    trace = gradtrace.load(out)
    assert trace.steps == 40 and trace.info["trace"]["parts"] == 8
    assert len(trace.to_pandas()) == 41
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "run"]
    # a second run into the same folder is refused without --force, kept with it
    code, _, err = run_cli(
        ["fit", str(data), "--steps", "40", "--out", str(out)], capsys
    )
    assert code == 2 and "already exists" in err
    code, _, err = run_cli(
        ["fit", str(data), "--steps", "30", "--out", str(out), "--force"], capsys
    )
    assert code == 0, err
    assert gradtrace.load(out).steps == 30


def test_ctrl_c_while_a_finished_run_is_saved_keeps_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal

    from gradtrace import store

    save_run = store.save_run

    def interrupted_save(*args: Any, **kwargs: Any) -> Path:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the writing
        return save_run(*args, **kwargs)

    monkeypatch.setattr(store, "save_run", interrupted_save)
    out = tmp_path / "run"
    code, _, err = run_cli(["fit", "seed001_line", "--out", str(out), "-q"], capsys)
    assert code == 130
    assert "was saved first" in err
    assert gradtrace.load(out).status == "completed"


def test_an_interrupted_run_without_a_state_says_to_rerun_it() -> None:
    trace = gradtrace.fit("seed001_line", epochs=2)
    trace.info["status"] = "interrupted"
    assert "gradtrace rerun RUN" in trace.message
    trace.info["resumable"] = True
    assert "gradtrace resume RUN" in trace.message


def test_a_summary_says_when_the_last_loss_was_not_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace.cli._report import print_summary

    trace = gradtrace.fit("seed001_line", batch_size=10, epochs=2, eval_every=7)
    trace._frame.loc[trace._frame.index[-1], "loss"] = np.nan  # as if interrupted
    print_summary(trace, tmp_path)
    out = capsys.readouterr().out
    assert "after step 14 (not evaluated after the last step, 20)" in out
