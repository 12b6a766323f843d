"""Long runs: a trace written a part at a time as the run goes equals the trace held
whole, and the run keeps every k-th step in memory."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.helpers import ctrl_c_after, held_elsewhere, run_cli

import gradtrace
from gradtrace import api, run_parts
from gradtrace.api import run
from gradtrace.errors import RunFolderError
from gradtrace.run_config import RunConfig
from gradtrace.store import TraceWriter


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of more than 7 steps write their trace in parts of 5 steps."""
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    monkeypatch.setattr(run_parts, "KEEP_ROWS", 10)
    monkeypatch.setattr(run_parts, "KEEP_HEAD", 3)
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "5")


def _frame(n: int = 103, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(size=n) * 0.3})


CASES = [
    # full batch: the loss after a chunk's last step is the next chunk's batch loss
    dict(model="line", lr=0.1, steps=43, metrics=["rmse", "r2"]),
    dict(model="normal", y="y", lr=0.05, steps=40, dtype="float64"),
    # float64 values trained in log space, the loss in float32: each step's
    # converted point (Problem.point) carried across parts as within one
    dict(
        model="normal",
        y="y",
        lr=0.05,
        steps=40,
        dtype="float64",
        compute_dtype="float32",
        param_space="unconstrained",
    ),
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
    step = full["step"]
    # and each part's last row whose loss was evaluated
    last_taken = [
        int(part.loc[part["loss"].notna(), "step"].iloc[-1])
        for part in map(pd.read_parquet, sorted((folder / "trace.parquet").iterdir()))
        if part["loss"].notna().any()
    ]
    keep = (step % every == 0) | (step < 3) | (step == whole.steps)
    expected = full[keep | step.isin(last_taken)]
    pd.testing.assert_frame_equal(kept, expected.reset_index(drop=True))
    assert parted.params == whole.params
    assert parted.final_loss == pytest.approx(whole.final_loss, nan_ok=True)


def test_traces_are_written_zstd_compressed_without_dictionaries(
    tmp_path: Path, small_parts: None
) -> None:
    """A trace's floats are nearly all distinct: Arrow's dictionaries cost memory
    and time for nothing (``store.PARQUET_WRITE``), whole or in parts."""
    import pyarrow.parquet as pq

    config = RunConfig(data=None, model="line", lr=0.1, steps=20)
    run(config, _frame(), "the frame").save(tmp_path / "whole")
    parted = run(
        config,
        _frame(),
        "the frame",
        trace_to=lambda: TraceWriter(tmp_path / "parts"),
    )
    parted.save(tmp_path / "parts")
    files = [tmp_path / "whole" / "trace.parquet"]
    files += sorted((tmp_path / "parts" / "trace.parquet").iterdir())
    assert len(files) > 2
    for path in files:
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                column = meta.row_group(g).column(c)
                assert column.compression == "ZSTD", (path, column)
                assert not column.has_dictionary_page, (path, column)
    assert gradtrace.load(tmp_path / "parts").steps == 20


def test_a_short_run_is_held_whole(tmp_path: Path, small_parts: None) -> None:
    made: list[Path] = []

    def writer() -> TraceWriter:
        made.append(tmp_path / "run")
        return TraceWriter(tmp_path / "run")

    short = run(RunConfig(data=None, steps=7), _frame(), "f", trace_to=writer)
    assert short.writer is None and not made
    assert not list(tmp_path.iterdir())


class StopAfter(TraceWriter):
    """A writer whose run is interrupted (Ctrl-C) right after its n-th checkpoint,
    or killed there (the process dies: nothing more is written)."""

    def __init__(self, folder: Path, n: int, kill: bool = False) -> None:
        super().__init__(folder)
        self.n, self.kill, self.seen = n, kill, 0

    def checkpoint(self, info: dict[str, Any], state: dict[str, np.ndarray]) -> None:
        super().checkpoint(info, state)
        self.seen += 1
        if self.seen == self.n:
            raise (SystemExit if self.kill else KeyboardInterrupt)()


RESUMED = [
    # full batch: the loss after a part's last step is the next part's batch loss
    dict(model="line", lr=0.1, steps=43, checkpoint_every=5, metrics=["rmse", "r2"]),
    # Keras's running values restart at epochs and carry over the checkpoint;
    # shuffled batches go on with the saved epoch order
    dict(
        model="line",
        optimizer="keras.adam",
        lr=0.05,
        batch_size=16,
        epochs=4,
        shuffle=True,
        seed=3,
        checkpoint_every=6,
        metrics=["mae"],
    ),
    # a checkpoint every 9 steps with parts of 7: the first part past each 9th step
    dict(model="normal", lr=0.05, steps=40, dtype="float64", checkpoint_every=9),
    # diverges after the resumption
    dict(model="line", lr=2.6, steps=60, checkpoint_every=5),
]


@pytest.mark.parametrize("options", RESUMED, ids=lambda o: str(sorted(o.items())))
@pytest.mark.parametrize("kill", [False, True], ids=["ctrl-c", "killed"])
def test_a_checkpointed_run_in_parts_resumes_to_the_uninterrupted_trace(
    options: dict[str, Any], kill: bool, tmp_path: Path, small_parts: None
) -> None:
    from gradtrace.store import load_state

    frame = _frame()
    config = RunConfig(data=None, **{"shuffle": False, **options})
    whole = run(RunConfig(**{**config.to_dict(), "checkpoint_every": None}), frame, "f")
    folder = tmp_path / "run"
    writer = StopAfter(folder, 2, kill)
    if kill:
        with pytest.raises(SystemExit):
            run(config, frame, "f", trace_to=lambda: writer)
        # the process died after the checkpoint: the folder is that checkpoint
        writer.write(pd.DataFrame({"step": [-1]}))  # as if a later part was cut off
    else:
        cut = run(config, frame, "f", trace_to=lambda: writer)
        assert cut.status == "interrupted" and cut.info["resumable"]
        cut.save(folder)
    saved = gradtrace.load(folder)
    assert saved.status == ("running" if kill else "interrupted")
    assert 0 < saved.steps < whole.steps
    # the folder reads as the trace up to there, whatever else it holds
    pd.testing.assert_frame_equal(
        saved.to_pandas(), whole.to_pandas().iloc[: saved.steps + 1]
    )
    state = load_state(folder)
    assert int(state["t0"]) == saved.steps
    with pytest.raises(gradtrace.InputError, match="gradtrace resume RUN"):
        run(config, frame, "f", resume=state)
    parts = int(state["parts"])
    resumed = run(
        config,
        frame,
        "f",
        resume=state,
        trace_to=lambda: TraceWriter.reopen(folder, parts),
    )
    resumed.save(folder)
    done = gradtrace.load(folder)
    assert (done.status, done.steps) == (whole.status, whole.steps)
    assert not (folder / "state.npz").exists()
    files = list((folder / "trace.parquet").iterdir())
    assert len(files) == done.info["trace"]["parts"]
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())
    assert resumed.params == whole.params
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_run_with_checkpoints_replaces_an_old_folder_only_at_its_first(
    tmp_path: Path, small_parts: None
) -> None:
    folder = tmp_path / "run"
    run(RunConfig(data=None, steps=3), _frame(), "f").save(folder)
    config = RunConfig(data=None, steps=30, checkpoint_every=10, init={"w": 1e30})
    with pytest.raises(gradtrace.InputError):  # fails before any checkpoint
        run(config, _frame(), "f", trace_to=lambda: TraceWriter(folder, force=True))
    assert gradtrace.load(folder).steps == 3


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
    assert "was saved whole first" in err
    assert gradtrace.load(out).status == "completed"


def test_an_interrupted_run_without_a_state_says_to_rerun_it() -> None:
    trace = gradtrace.fit("seed001_line", epochs=2)
    trace.info["status"] = "interrupted"
    assert "gradtrace rerun RUN" in trace.message
    assert "gradtrace rerun 'runs/my run' runs it again" in trace.ending("runs/my run")
    trace.info["resumable"] = True
    assert "gradtrace.resume(RUN) continues it" in trace.message
    assert "(gradtrace resume runs/a continues it)" in trace.ending("runs/a")


def test_a_summary_says_when_the_last_loss_was_not_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace.cli._report import print_summary

    trace = gradtrace.fit("seed001_line", batch_size=10, epochs=2, eval_every=7)
    # as if interrupted after step 20 of 30, between two evaluations
    trace._frame.loc[trace._frame.index[-1], "loss"] = np.nan
    trace.info["schedule"]["n_steps"], trace.info["status"] = 30, "interrupted"
    print_summary(trace, tmp_path)
    out = capsys.readouterr().out
    assert "after step 14 (not evaluated after the last step, 20)" in out
    # the gap of the last loss taken
    gap = trace.to_pandas()["loss"].iloc[14] - trace.info["optimum_loss"]
    assert f"; optimum's loss {trace.info['optimum_loss']:.7g}" in out
    assert f"gap {gap:.3g}" in out
    # and its line in Python: the last loss taken, not nan
    taken = trace.to_pandas()["loss"].iloc[14]
    assert f"-> {taken:.7g} after step 14;" in repr(trace)


def test_a_long_run_reruns_in_parts_and_compares_part_by_part(
    tmp_path: Path, small_parts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace.store import same_traces

    data = tmp_path / "d.csv"
    _frame().to_csv(data, index=False)
    first, again = tmp_path / "a", tmp_path / "b"
    args = ["--batch-size", "16", "--epochs", "6", "--metric", "rmse", "-q"]
    code, _, err = run_cli(["fit", str(data), *args, "--out", str(first)], capsys)
    assert code == 0, err
    code, out, err = run_cli(["rerun", str(first), "--out", str(again)], capsys)
    assert code == 0, err
    assert "identical to" in out
    assert gradtrace.load(again).info["trace"]["parts"] > 1  # written in parts too
    # one changed value anywhere is found; so is a missing row, and a whole trace
    # (one file) against the same rows in parts
    part = again / "trace.parquet" / "part-000003.parquet"
    frame = pd.read_parquet(part)
    frame.to_parquet(part, index=False)  # written again by pandas: the same rows
    assert same_traces(first, again)
    frame.loc[2, "grad_w"] = np.nextafter(frame.loc[2, "grad_w"], np.inf)
    frame.to_parquet(part, index=False)
    assert not same_traces(first, again)
    whole = tmp_path / "whole"
    gradtrace.load(first).save(whole)
    assert (whole / "trace.parquet").is_file() and same_traces(first, whole)
    gradtrace.fit(str(data), batch_size=16, epochs=5, metrics="rmse").save(
        tmp_path / "short"
    )
    assert not same_traces(first, tmp_path / "short")


def test_an_unfinished_run_reruns_to_its_prefix_and_damage_is_named(
    tmp_path: Path, small_parts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    _frame().to_csv(data, index=False)
    folder = tmp_path / "cut"
    config = RunConfig(data=str(data), steps=40, lr=0.1, checkpoint_every=5)
    frame = pd.read_csv(data)
    with pytest.raises(SystemExit):  # killed after its second checkpoint
        run(config, frame, str(data), trace_to=lambda: StopAfter(folder, 2, True))
    code, out, err = run_cli(
        ["rerun", str(folder), "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0, err
    assert (
        "stopped after step 10: its first 10 rows are the new run's first 10 of 41"
        in out
    )
    # a fit into its folder is told it can go on, not only to --force it away
    again = ["fit", str(data), "--steps", "40", "--out", str(folder)]
    code, _, err = run_cli(again, capsys)
    assert code == 2 and err.rstrip().endswith(
        f"--force to replace it; it holds an unfinished run, which gradtrace "
        f"resume {folder} goes on with."
    )
    # what is missing or damaged is named, in one line, with what to do
    cases = [
        (tmp_path / "nowhere", "does not exist"),
    ]
    damaged = tmp_path / "damaged"
    run(config, frame, str(data), trace_to=lambda: StopAfter(damaged, 2)).save(damaged)
    (damaged / "state.npz").write_text("garbage")
    cases.append((damaged, "is damaged"))
    # cut short (a disk that filled, a copy stopped part way): a zip's start
    short = tmp_path / "short"
    run(config, frame, str(data), trace_to=lambda: StopAfter(short, 2)).save(short)
    whole = (short / "state.npz").read_bytes()
    (short / "state.npz").write_bytes(whole[:500])
    cases.append((short, "is damaged"))
    for folder_, message in cases:
        code, _, err = run_cli(["resume", str(folder_)], capsys)
        assert code == 2 and message in err, err
        assert len(err.strip().splitlines()) == 1
    (damaged / "state.npz").unlink()
    code, _, err = run_cli(["resume", str(damaged)], capsys)
    assert code == 2 and "gradtrace rerun RUN --out NEW" in err
    (damaged / "trace.parquet" / "part-000001.parquet").unlink()
    code, _, err = run_cli(["show", str(damaged)], capsys)
    assert code == 2 and "lacks" in err and "part-000001.parquet" in err


class CtrlCWhileWriting(TraceWriter):
    """A writer that gets a Ctrl-C (SIGINT to this process) while it writes its
    n-th part: the part, its state and its checkpoint are finished first."""

    def __init__(self, folder: Path, n: int) -> None:
        super().__init__(folder)
        self.n, self.written = n, 0

    def write(self, frame: pd.DataFrame, diverged: bool = False) -> None:
        import os
        import signal

        self.written += 1
        if self.written == self.n:
            os.kill(os.getpid(), signal.SIGINT)
        super().write(frame, diverged)


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1, steps=43, checkpoint_every=5, metrics=["rmse"]),  # full batch
        dict(lr=0.05, batch_size=16, epochs=4, shuffle=True, checkpoint_every=6),
    ],
    ids=["full-batch", "shuffled"],
)
def test_a_ctrl_c_while_a_part_is_written_leaves_a_run_that_resumes_exactly(
    options: dict[str, Any], tmp_path: Path, small_parts: None
) -> None:
    from gradtrace.store import load_state

    frame = _frame()
    config = RunConfig(data=None, **options)
    whole = run(RunConfig(**{**config.to_dict(), "checkpoint_every": None}), frame, "f")
    folder = tmp_path / "run"
    cut = run(config, frame, "f", trace_to=lambda: CtrlCWhileWriting(folder, 3))
    assert cut.status == "interrupted" and cut.info["resumable"]
    cut.save(folder)
    saved = gradtrace.load(folder).to_pandas()
    assert saved["step"].is_unique and len(saved) == cut.steps + 1
    state = load_state(folder)
    assert int(state["t0"]) <= cut.steps
    resumed = run(
        config,
        frame,
        "f",
        resume=state,
        trace_to=lambda: TraceWriter.reopen(folder, int(state["parts"])),
    )
    resumed.save(folder)
    pd.testing.assert_frame_equal(gradtrace.load(folder).to_pandas(), whole.to_pandas())


@pytest.mark.parametrize(
    ("options", "calls"),
    [
        # full batch, stopped while its second chunk runs: the first chunk is
        # written, and the state to go on from is the start (that chunk's last
        # loss, evaluated on its own, is redone)
        (dict(lr=0.1, steps=43, metrics=["rmse"]), 2),
        (dict(lr=0.1, steps=43), 3),  # ... or the first chunk's end
        (dict(lr=0.05, batch_size=16, epochs=4, shuffle=True), 2),
    ],
    ids=["full-batch-second-chunk", "full-batch-third-chunk", "shuffled"],
)
def test_a_ctrl_c_without_a_checkpoint_leaves_a_run_that_resumes_exactly(
    options: dict[str, Any], calls: int, tmp_path: Path, small_parts: None
) -> None:
    from gradtrace.store import load_state

    frame = _frame()
    config = RunConfig(data=None, **options)
    whole = run(config, frame, "f")
    folder = tmp_path / "run"
    cut = run(
        config,
        frame,
        "f",
        progress=ctrl_c_after(calls),
        trace_to=lambda: TraceWriter(folder),
    )
    assert cut.status == "interrupted" and cut.info["resumable"], cut.info
    assert 0 < cut.steps < whole.steps
    cut.save(folder)
    pd.testing.assert_frame_equal(
        gradtrace.load(folder).to_pandas(), whole.to_pandas().iloc[: cut.steps + 1]
    )
    state = load_state(folder)
    assert int(state["t0"]) <= cut.steps
    resumed = run(
        config,
        frame,
        "f",
        resume=state,
        trace_to=lambda: TraceWriter.reopen(folder, int(state["parts"])),
    )
    resumed.save(folder)
    pd.testing.assert_frame_equal(gradtrace.load(folder).to_pandas(), whole.to_pandas())


def test_a_killed_runs_temporary_folder_and_stray_files_are_cleared(
    tmp_path: Path, small_parts: None
) -> None:
    import os
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = tmp_path / f".run.{gone.pid}.x1y2.tmp"  # a run killed before its end
    alive = tmp_path / f".run.{os.getpid()}.a1b2.tmp"  # one still going
    for folder in (orphan, alive):
        (folder / "trace.parquet").mkdir(parents=True)
    folder = tmp_path / "run"
    config = RunConfig(data=None, steps=20, checkpoint_every=5)
    cut = run(config, _frame(), "f", trace_to=lambda: StopAfter(folder, 2))
    cut.save(folder)
    assert not orphan.exists() and alive.exists()
    # files half-written under hidden names when a process died go at a resumption
    stray = folder / "trace.parquet" / ".part-000009.parquet.tmp"
    stray.write_bytes(b"half")
    (folder / ".state.npz.tmp").write_bytes(b"half")
    TraceWriter.reopen(folder, 2)
    assert not stray.exists() and not (folder / ".state.npz.tmp").exists()


def _fitted_from_a_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: list[str],
    exit_code: int = 0,
) -> Path:
    """The run folder of ``gradtrace fit`` of ``_frame()`` written to a CSV file,
    with the options ``how`` (``exit_code``: 1 where the run diverges)."""
    data = tmp_path / "d.csv"
    _frame().to_csv(data, index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(["fit", str(data), *how, "-q", "--out", str(out)], capsys)
    assert code == exit_code, err
    return out


def test_pictures_and_the_summary_of_a_long_run_read_its_rows_thinned(
    tmp_path: Path, small_parts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _fitted_from_a_file(tmp_path, capsys, ["--batch-size", "16", "--epochs", "9"])
    whole = gradtrace.load(out).to_pandas()
    thin = gradtrace.load(out, thin=True)
    every = thin.info["trace"]["kept_every"]
    assert every > 1
    keep = (whole["step"] % every == 0) | (whole["step"] == thin.steps)
    keep |= whole["step"] < thin.info["trace"]["kept_head"]
    keep |= whole["batch"] == thin.info["schedule"]["batches_per_epoch"]
    # and each part's last row whose loss over all the data was evaluated: what a
    # run cut short ends on
    last_taken = [
        int(part.loc[part["loss"].notna(), "step"].iloc[-1])
        for part in map(pd.read_parquet, sorted((out / "trace.parquet").iterdir()))
    ]
    assert not set(last_taken) <= set(whole.loc[keep, "step"])  # not kept before
    keep |= whole["step"].isin(last_taken)
    expected = whole[keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(thin.to_pandas(), expected)
    assert len(expected) < len(whole)
    code, stdout, err = run_cli(["plot", str(out)], capsys)
    assert code == 0, err
    assert (out / "loss.png").stat().st_size > 10_000
    code, stdout, err = run_cli(["show", str(out)], capsys)
    assert code == 0, err
    assert f"{thin.steps} steps" in stdout


def test_a_folder_another_process_is_writing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two processes never write one run folder: the second is told to wait or to
    write elsewhere, and the folder is left as the first one has it."""

    out = tmp_path / "r"
    code, _, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--steps",
            "20",
            "--checkpoint-every",
            "10",
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    before = sorted(p.name for p in out.rglob("*"))
    with held_elsewhere("writing", out) as said:
        assert said == "True"
        for args in (
            ["fit", "seed001_line", "--steps", "20", "--out", str(out), "--force"],
            [
                "fit",
                "seed001_line",
                "--steps",
                "20",
                "--checkpoint-every",
                "5",
                "--out",
                str(out),
                "--force",
            ],
        ):
            code, _, err = run_cli([*args, "-q"], capsys)
            assert code == 2, args
            assert "is being written by another gradtrace process" in err
            assert len(err.strip().splitlines()) == 1
        with pytest.raises(RunFolderError, match="another gradtrace process"):
            TraceWriter.reopen(out, 1)  # what resume writes with
        assert sorted(p.name for p in out.rglob("*")) == before
    # the holder gone, the folder is free again; nothing was left beside it
    code, _, err = run_cli(
        ["fit", "seed001_line", "--steps", "20", "--out", str(out), "--force", "-q"],
        capsys,
    )
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_old_lock_files_nobody_holds_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from filelock import FileLock

    from gradtrace import store

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(store, "KEEP_LOCKS", 3)
    locks = tmp_path / "cache" / "gradtrace" / "locks"
    locks.mkdir(parents=True)
    old = [locks / f"{i}.lock" for i in range(5)]
    for path in old:
        path.touch()
        os.utime(path, (1e9, 1e9))
    held = FileLock(old[0], timeout=0)  # a run still writing its folder
    with held:
        lock = store.writing(tmp_path / "runs" / "r")
        assert lock is not None
        left = sorted(p.name for p in locks.iterdir())
    lock.release()
    assert len(left) == 2 and "0.lock" in left  # the held one, and r's own


def test_python_fit_checkpoints_into_out_and_resume_goes_on(
    tmp_path: Path, small_parts: None
) -> None:
    """gradtrace.fit(out=..., checkpoint_every=K) writes the run folder as the CLI
    does; a Ctrl-C (here raised from the progress callback) leaves it resumable,
    and gradtrace.resume(out, data=...) ends at the uninterrupted trace."""
    frame = _frame()
    options = dict(model="normal", y="y", lr=0.05, steps=40, dtype="float64")
    whole = gradtrace.fit(frame, **options)  # type: ignore[arg-type]
    calls: list[int] = []

    def ctrl_c_after_two(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    folder = tmp_path / "run"
    cut = gradtrace.fit(
        frame,
        **options,  # type: ignore[arg-type]
        out=folder,
        checkpoint_every=9,
        progress=ctrl_c_after_two,
    )
    assert cut.status == "interrupted" and 0 < cut.steps < 40
    _free(folder)
    assert gradtrace.load(folder).status == "interrupted"
    with pytest.raises(gradtrace.InputError, match="differ from the run's"):
        gradtrace.resume(folder, data=frame.iloc[:50])
    with pytest.raises(gradtrace.InputError, match="from Python") as again:
        gradtrace.resume(folder)  # its data came from Python: give them again
    # in Python's words only (it had read "data=... on the command line")
    assert str(again.value).endswith("give them again (data=...).")
    # what the run was given again must be the run's own
    changed = frame.assign(y=frame["y"] * 2)
    for kwargs, said in (
        (dict(data=changed), "these data differ from the run's"),
        (dict(data=frame, loss="huber"), "drop loss="),
        (dict(data=frame, model="normal"), "drop model="),
    ):
        with pytest.raises(gradtrace.InputError, match=said):
            gradtrace.resume(folder, **kwargs)  # type: ignore[arg-type]
    _free(folder)  # a failed resume let the folder go
    # a resumption stopped in its turn: its checkpoint keeps the run's record
    calls.clear()
    again = gradtrace.resume(folder, data=frame, progress=ctrl_c_after_two)
    assert again.status == "interrupted" and cut.steps < again.steps < 40
    saved = gradtrace.load(folder).info
    assert saved["created"] == cut.info["created"] and "resumed" in saved
    assert saved["timings"]["sessions"] == 2
    assert saved["data"]["source"] == "python data"
    done = gradtrace.resume(folder, data=frame)
    _free(folder)
    assert done.status == whole.status and done.steps == 40
    assert done.info["timings"]["sessions"] == 3
    assert done.info["data"]["source"] == "python data"
    assert done.info["created"] == cut.info["created"] <= done.info["resumed"]
    assert done.info["data"]["values_sha256"] == whole.info["data"]["values_sha256"]
    pd.testing.assert_frame_equal(gradtrace.load(folder).to_pandas(), whole.to_pandas())
    with pytest.raises(gradtrace.InputError, match="only an interrupted"):
        gradtrace.resume(folder, data=frame)
    with pytest.raises(gradtrace.InputError, match="give out="):
        gradtrace.fit(frame, **options, checkpoint_every=9)  # type: ignore[arg-type]
    # a short run with out= is simply saved there
    short = gradtrace.fit(frame, "line", steps=5, out=tmp_path / "short")
    pd.testing.assert_frame_equal(
        gradtrace.load(tmp_path / "short").to_pandas(), short.to_pandas()
    )


def _free(folder: Path) -> None:
    """No lock on ``folder`` is held any more: another process could take it."""
    from filelock import FileLock

    from gradtrace.store import lock_path

    with FileLock(lock_path(folder), timeout=0):  # a handle of its own
        pass


def test_resume_reads_a_file_given_again_and_asks_for_a_model_of_ones_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], small_parts: None
) -> None:
    """A run that read standard input resumes from --data FILE (its values
    checked); a run with a model object of its own asks for it again."""
    import io
    import sys

    csv = tmp_path / "d.csv"
    _frame().to_csv(csv, index=False)
    folder = tmp_path / "r"
    calls: list[int] = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkey = pytest.MonkeyPatch()
    monkey.setattr(sys, "stdin", io.StringIO(csv.read_text()))
    try:
        cut = gradtrace.fit(
            "-",
            "line",
            lr=0.05,
            steps=40,
            out=folder,
            checkpoint_every=9,
            progress=stop,
        )
    finally:
        monkey.undo()
    assert cut.status == "interrupted"
    code, _, err = run_cli(["resume", str(folder)], capsys)
    assert code == 2 and "--data FILE" in err
    other = tmp_path / "other.csv"
    _frame(seed=1).to_csv(other, index=False)
    code, _, err = run_cli(["resume", str(folder), "--data", str(other)], capsys)
    assert code == 2 and "differ from the run's" in err
    with pytest.MonkeyPatch.context() as inside:
        inside.chdir(folder)
        code, _, err = run_cli(["resume", ".", "--data", str(csv)], capsys)
    assert code == 2 and "from outside it (cd out of it first)" in err
    assert gradtrace.load(folder).status == "interrupted"
    (folder / "loss.png").write_bytes(b"drawn before")  # as gradtrace plot would
    code, out, err = run_cli(["resume", str(folder), "--data", str(csv)], capsys)
    assert code == 0, err
    assert f"note: loss.png in {folder} show the run before it resumed" in err
    whole = gradtrace.fit(_frame(), "line", lr=0.05, steps=40)
    pd.testing.assert_frame_equal(gradtrace.load(folder).to_pandas(), whole.to_pandas())
    assert gradtrace.load(folder).info["data"]["source"] == "standard input"

    model = gradtrace.Model(
        lambda p, x: p["a"] * x + p["b"], {"a": 0.0, "b": 0.0}, name="mine"
    )
    own = tmp_path / "own"
    calls.clear()
    gradtrace.fit(
        _frame(),
        model,
        lr=0.05,
        steps=40,
        out=own,
        checkpoint_every=9,
        progress=stop,
    )
    with pytest.raises(gradtrace.InputError, match="a model of your own"):
        gradtrace.resume(own, data=_frame())
    done = gradtrace.resume(own, data=_frame(), model=model)
    assert done.status == "completed"


def test_a_run_folder_is_made_with_the_users_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        gradtrace.fit("seed001_line", steps=3, out=tmp_path / "r")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o755


def test_a_fit_into_a_folder_being_written_is_refused_before_it_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    from gradtrace.store import lock_path

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained")

    monkeypatch.setattr(api, "run", no_training)
    out = tmp_path / "r"
    out.parent.mkdir(exist_ok=True)
    lock_path(out).parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_path(out), timeout=0):  # as another process holds it
        code, _, err = run_cli(["fit", "seed001_line", "--out", str(out)], capsys)
        assert code == 2 and "is being written by another gradtrace process" in err
        with pytest.raises(gradtrace.RunFolderError, match="another gradtrace"):
            gradtrace.fit("seed001_line", out=out)


def test_resume_takes_names_in_any_case_dropped_rows_and_own_objects_by_name(
    tmp_path: Path, small_parts: None
) -> None:
    """What the run accepted, resume accepts: a name typed in capitals, data whose
    missing rows the run dropped; a model object of one's own named like a
    built-in is asked for again, not replaced by the built-in."""
    frame = _frame()
    holes = frame.copy()
    holes.loc[[3, 50], "y"] = np.nan

    def interrupted(data: Any, model: Any, name: str, **options: Any) -> Path:
        calls: list[int] = []

        def stop(done: int, total: int) -> None:
            calls.append(done)
            if len(calls) == 3:
                raise KeyboardInterrupt

        folder = tmp_path / name
        cut = gradtrace.fit(
            data,
            model,
            lr=0.05,
            steps=40,
            out=folder,
            checkpoint_every=9,
            progress=stop,
            **options,
        )
        assert cut.status == "interrupted"
        return folder

    for data, model, options in (
        (frame, "Line", {"loss": "MSE"}),
        (holes, "line", {"drop_missing": True}),
    ):
        folder = interrupted(
            data, model, f"r{len(list(tmp_path.iterdir()))}", **options
        )
        done = gradtrace.resume(folder, data=data)
        whole = gradtrace.fit(data, model, lr=0.05, steps=40, **options)
        pd.testing.assert_frame_equal(
            gradtrace.load(folder).to_pandas(), whole.to_pandas()
        )
        assert done.status == "completed"
    mine = gradtrace.Model(
        lambda p, x: p["a"] * x + p["c"], {"a": 0.0, "c": 0.0}, name="my_line"
    )
    folder = interrupted(frame, mine, "own")
    with pytest.raises(gradtrace.InputError, match="given a model of your own"):
        gradtrace.resume(folder, data=frame)
    assert gradtrace.resume(folder, data=frame, model=mine).status == "completed"


def test_resuming_says_what_became_of_the_pictures_drawn_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "10")
    folder = tmp_path / "run"

    def stop(done: int, total: int) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    cut = gradtrace.fit("seed001_line", lr=0.05, steps=60, out=folder, progress=stop)
    assert cut.status == "interrupted" and not (folder / "trace.parquet").is_dir()
    (folder / "fit.png").write_bytes(b"drawn before")
    code, out, err = run_cli(["resume", str(folder), "-q"], capsys)
    assert code == 0, err
    assert "note: fit.png went with the folder's old version" in err
    assert "training" not in err and out.startswith("run ")  # -q: the summary
    assert out.rstrip().endswith("over 2 sessions.")  # the times add both
    assert gradtrace.load(folder).status == "completed"


def test_a_long_runs_printed_steps_are_kept_ones_whose_loss_was_taken(
    tmp_path: Path,
    small_parts: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gradtrace.cli._report import steps_table

    monkeypatch.setattr(run_parts, "KEEP_ROWS", 200)  # every 2nd step kept

    data = tmp_path / "d.csv"
    _frame(20).to_csv(data, index=False)
    args = ["fit", str(data), "--batch-size", "5", "--no-shuffle", "--no-exact"]
    out = tmp_path / "run"
    code, _, err = run_cli(
        [*args, "--steps", "400", "--eval-every", "7", "--out", str(out)], capsys
    )
    assert code == 0, err
    trace = gradtrace.load(out, thin=True)
    kept = trace.info["trace"]["kept_every"]
    assert kept > 1 and 7 % kept  # the two rules do not line up by themselves
    table = steps_table(trace, None)
    steps = [int(s) for s in table.columns[0]._cells]
    losses = list(table.columns[-1]._cells)
    assert len(steps) > 5
    assert all(s % 7 == 0 and s % kept == 0 for s in steps[:-1])
    assert all(cell for cell in losses)  # each printed row has its loss


def test_resuming_a_run_of_data_not_on_disk_asks_for_them_again() -> None:
    """A run fitted to a data frame or standard input is resumed with its data
    given again: the message says so (gradtrace resume RUN --data FILE)."""
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8.5]})
    trace = gradtrace.fit(frame, epochs=2)
    trace.info["status"], trace.info["resumable"] = "interrupted", True
    assert "gradtrace.resume(RUN, data=...) continues it" in trace.message
    assert "(gradtrace resume runs/a --data FILE continues it)" in trace.ending(
        "runs/a"
    )


def test_history_of_a_run_in_parts_has_every_epoch(
    tmp_path: Path, small_parts: None
) -> None:
    """A long run keeps every k-th row in memory; its history() reads each epoch's
    end from the parts, as the whole trace has them."""
    frame = _frame()
    options = dict(model="line", lr=0.05, batch_size=10, epochs=6, metrics=["mae"])
    whole = gradtrace.fit(frame, **options)  # type: ignore[arg-type]
    parted = gradtrace.fit(frame, **options, out=tmp_path / "run")  # type: ignore[arg-type]
    assert len(parted.to_pandas()) < len(whole.to_pandas())  # kept rows only
    expected = whole.history()
    assert len(expected) == 6 and expected["step"].tolist() == [
        11 * e for e in range(1, 7)
    ]
    pd.testing.assert_frame_equal(parted.history(), expected)
    pd.testing.assert_frame_equal(gradtrace.load(tmp_path / "run").history(), expected)


def test_a_run_of_more_epochs_than_a_thinned_load_keeps_exports_them_all(
    tmp_path: Path,
    small_parts: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Past THIN_EPOCHS epochs a thinned load keeps every k-th step only; export
    --per-epoch, show --keras and a thinned trace's history() still read each
    epoch's end from the parts (a newcomer's 230770 epochs came out as 4693)."""
    from gradtrace import store
    from gradtrace.cli import main

    monkeypatch.setattr(store, "THIN_EPOCHS", 3)
    frame = _frame()
    options = dict(model="line", lr=0.05, batch_size=10, epochs=6)
    expected = gradtrace.fit(frame, **options).history()  # type: ignore[arg-type]
    gradtrace.fit(frame, **options, out=tmp_path / "run")  # type: ignore[arg-type]
    thinned = gradtrace.load(tmp_path / "run", thin=True)
    assert (thinned.to_pandas()["batch"] == 11).sum() < 6
    pd.testing.assert_frame_equal(thinned.history(), expected)
    out = tmp_path / "epochs.csv"
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path / "run"), "--per-epoch", "-o", str(out)])
    assert pd.read_csv(out)["step"].tolist() == expected["step"].tolist()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["show", str(tmp_path / "run"), "--keras"])
    assert capsys.readouterr().out.count("Epoch ") == 6


def test_a_run_that_finishes_while_it_is_read_is_not_called_killed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """show and ls read run.json ("running"), then ask whether a process still
    holds the folder: a run that finished in between has let go of it, and read
    again it is completed, not "stopped ... it was killed" (a docs check saw it
    once at the end of a checkpointed run)."""
    import json

    from gradtrace import store
    from gradtrace.cli import main

    folder = tmp_path / "run"
    gradtrace.fit(_frame(), model="line", lr=0.1, steps=5, out=folder)
    path = folder / "run.json"
    done = path.read_text()
    path.write_text(json.dumps({**json.loads(done), "status": "running"}))

    def finishes_meanwhile(run: Path) -> bool:
        path.write_text(done)  # the writer's last run.json, then its lock let go
        return False

    monkeypatch.setattr(store, "being_written", finishes_meanwhile)
    assert gradtrace.load(folder).status == "completed"
    path.write_text(json.dumps({**json.loads(done), "status": "running"}))
    with pytest.raises(SystemExit):
        main(["ls", str(tmp_path)])
    listed = capsys.readouterr().out
    assert "completed" in listed and "stopped" not in listed


@pytest.mark.parametrize(
    "how", [["--batch-size", "16", "--epochs", "10"], ["--lr", "2.6", "--steps", "60"]]
)
def test_the_report_of_a_long_run_reads_its_rows_thinned(
    tmp_path: Path,
    small_parts: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: list[str],
) -> None:
    # the page draws at most MAX_FRAMES steps: the kept ones are enough (a run of
    # 3 million steps read whole took about 1 GB)
    from gradtrace.report import html

    out = _fitted_from_a_file(tmp_path, capsys, how, 1 if "--steps" in how else 0)
    whole, thin = gradtrace.load(out), gradtrace.load(out, thin=True)
    every = thin.info["trace"]["kept_every"]
    assert len(thin.to_pandas()) < len(whole.to_pandas()) and every > 1
    # as many frames as the whole trace gives every kept-th step
    monkeypatch.setattr(html, "MAX_FRAMES", math.ceil(whole.steps / every))
    a, b = html.payload(thin), html.payload(whole)
    assert a["frame_every"] == b["frame_every"] == every
    assert [f["step"] for f in a["frames"]] == [f["step"] for f in b["frames"]]
    for key in b:
        # the landscape is framed on the path (the kept steps' may be shorter);
        # the loss is drawn wherever each trace has it
        if key not in ("landscape", "loss_points"):
            assert a[key] == b[key], key
    taken = set(whole.to_pandas()["step"])
    assert {p[0] for p in a["loss_points"]} <= taken
    assert a["landscape"]["z"] and a["landscape"]["labels"] == b["landscape"]["labels"]
    if "--steps" in how:
        assert a["left_at"] is not None and a["left_at"] == b["left_at"]
    code, _, err = run_cli(["report", str(out)], capsys)
    assert code == 0, err
    assert (out / "report.html").stat().st_size > 10_000


def test_the_animation_of_a_long_run_draws_its_kept_steps(
    tmp_path: Path, small_parts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from gradtrace.animate import _frames, _Ready, frame_steps
    from gradtrace.plot import _run_data

    out = _fitted_from_a_file(
        tmp_path, capsys, ["--batch-size", "16", "--epochs", "10"]
    )
    whole, thin = gradtrace.load(out), gradtrace.load(out, thin=True)
    every = thin.info["trace"]["kept_every"]
    kept = set(thin.to_pandas()["step"])
    steps = [s for s in frame_steps(thin.steps, None, every) if s in kept]
    assert steps[-1] == thin.steps and every in steps and len(steps) < thin.steps
    # the same pictures as the whole trace's at those steps
    drawn = [
        np.asarray(image)
        for t in (thin, whole)
        for image in _frames(t, steps, _Ready(_run_data(t), t.to_pandas(), {}))
    ]
    for a, b in zip(drawn[: len(steps)], drawn[len(steps) :], strict=True):
        np.testing.assert_array_equal(a, b)
    gif = tmp_path / "fit.gif"
    code, _, err = run_cli(["animate", str(out), "-o", str(gif)], capsys)
    assert code == 0, err
    with Image.open(gif) as image:
        assert image.n_frames == len(steps)


def test_the_report_of_a_long_run_draws_its_descent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every k-th step of 2 million was step 1340 first: the descent had no frame
    from gradtrace.plot import LOG_STEPS
    from gradtrace.report import html

    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 1000)
    monkeypatch.setattr(run_parts, "KEEP_ROWS", 1000)
    monkeypatch.setattr(run_parts, "KEEP_HEAD", 100)
    out = _fitted_from_a_file(
        tmp_path, capsys, ["--steps", str(LOG_STEPS + 10), "--lr", "0.05"]
    )
    thin = gradtrace.load(out, thin=True)
    assert len(thin.to_pandas()) < 2000  # every kept-th step past the first 100
    for trace in (gradtrace.load(out), thin):
        page = html.payload(trace)
        steps = [f["step"] for f in page["frames"]]
        assert steps == sorted(set(steps)) and steps[-1] == trace.steps
        early = [s for s in steps if s < 200]
        assert early[:4] == [0, 1, 2, 3] and len(early) > 50, early
        # each frame its own step's values
        frame = trace.to_pandas().set_index("step")
        for f in page["frames"][:200:17]:
            assert f["params"]["w"] == pytest.approx(float(frame.loc[f["step"], "w"]))
        assert page["early_frames"]


def test_the_reports_loss_is_drawn_wherever_the_run_took_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher's interrupted run of 5 million steps took the loss every 50:
    the page drew it at the frames' steps alone, from the start to step 56050 in
    one line across the descent. The loss's own points are drawn, at most
    MAX_LOSS_POINTS of them, log-spaced on a long run's log axis
    (``test_loss_points_beyond_the_most_are_log_spaced_on_a_long_runs_axis``)."""
    from gradtrace.plot import LOG_STEPS
    from gradtrace.report import html

    out = _fitted_from_a_file(
        tmp_path,
        capsys,
        ["--steps", str(2 * LOG_STEPS), "--eval-every", "50", "--batch-size", "4"],
    )
    trace = gradtrace.load(out)
    page = html.payload(trace)
    framed = [f["step"] for f in page["frames"] if f["loss"] is not None]
    points = page["loss_points"]
    assert [p[0] for p in points] == list(range(0, 2 * LOG_STEPS + 1, 50))
    frame = trace.to_pandas().set_index("step")
    for step, loss in points[::37]:
        assert loss == pytest.approx(float(frame.loc[step, "loss"]))
    # the descent: the frames had few of them below step 1000
    assert len([s for s in framed if s < 1000]) < 10
    assert len([p for p in points if p[0] < 1000]) == 20


def test_loss_points_beyond_the_most_are_log_spaced_on_a_long_runs_axis() -> None:
    from gradtrace.report import html

    steps = np.arange(0, 1_000_001)
    loss = np.where(steps % 10 == 0, 1.0 / (1 + steps), np.nan)
    frame = pd.DataFrame({"step": steps, "loss": loss})
    log = html._loss_points(frame, log_steps=True)
    flat = html._loss_points(frame, log_steps=False)
    for points in (log, flat):
        at = [p[0] for p in points]
        assert len(at) <= html.MAX_LOSS_POINTS and at == sorted(set(at))
        assert at[0] == 0 and at[-1] == 1_000_000 and all(s % 10 == 0 for s in at)
    # log-spaced: every one taken in the first thousand steps; evenly: hardly any
    assert len([p for p in log if p[0] < 1000]) == 100
    assert len([p for p in flat if 0 < p[0] < 1000]) <= 2


@pytest.mark.parametrize(
    "how",
    [
        dict(optimizer="adam", lr=0.05, batch_size=10, epochs=6),
        dict(
            optimizer="torch.sgd",
            opt={"momentum": 0.9},
            lr=0.05,
            lr_schedule="torch.plateau:patience=0,factor=0.5,threshold=0.2",
            batch_size=20,
            epochs=12,
        ),
    ],
    ids=["adam", "plateau"],
)
def test_explain_of_a_long_run_reads_the_steps_it_needs_from_the_parts(
    tmp_path: Path,
    small_parts: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: dict[str, Any],
) -> None:
    """A long run kept thinned (in the session that ran it, or loaded thinned, as
    ``gradtrace explain`` loads it) explains any step as the whole trace does: its
    rows and the optimizer's replay come from the parts, a part at a time."""
    import pyarrow.parquet as pq

    frame = _frame()
    whole = gradtrace.fit(frame, "line", **how)  # type: ignore[arg-type]
    parted = gradtrace.fit(frame, "line", **how, out=tmp_path / "run")  # type: ignore[arg-type]
    thin = gradtrace.load(tmp_path / "run", thin=True, data=frame)
    assert len(thin.to_pandas()) < whole.steps + 1  # kept rows only
    reads: list[int] = []
    original = pq.ParquetFile.read

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        table = original(self, *args, **kwargs)
        reads.append(table.num_rows)
        return table

    monkeypatch.setattr(pq.ParquetFile, "read", counted)
    for step in sorted({1, 2, 7, 8, 9, 33, whole.steps - 1, whole.steps}):
        expected = whole.explain(step)
        for trace in (parted, thin):
            reads.clear()
            got = trace.explain(step)
            pd.testing.assert_frame_equal(got, expected)
            pd.testing.assert_frame_equal(got.attrs["update"], expected.attrs["update"])
            assert got.attrs["why"] == expected.attrs["why"]
            assert reads and max(reads) <= 7  # a part's rows at a time, never all
            assert trace.explain_text(step) == whole.explain_text(step)
    frame.to_csv(tmp_path / "d.csv", index=False)
    again = ["--data", str(tmp_path / "d.csv"), "-1"]
    code, stdout, err = run_cli(["explain", str(tmp_path / "run"), *again], capsys)
    assert code == 0, err
    assert f"Step {whole.steps} of {whole.steps}" in stdout
    assert stdout.count("\n") > 10


def test_a_trace_of_some_steps_without_its_folder_is_told_to_load_it() -> None:
    from gradtrace.trace import Trace

    whole = gradtrace.fit(_frame(), "line", optimizer="adam", lr=0.05, batch_size=10)
    some = Trace(whole.to_pandas().iloc[::2].reset_index(drop=True), whole.info)
    with pytest.raises(gradtrace.InputError, match="load the run from its folder"):
        some.explain(3)


def test_ctrl_c_during_the_last_steps_is_said_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C while the last compiled call ran came too late to stop it: the
    command said "completed" and exited 0, as if it had not come. The run is
    whole and saved; the command says so and exits 130."""
    import os
    import signal

    from gradtrace.cli import _report

    real = _report.with_progress

    def late(work: Any, quiet: bool = False) -> Any:
        def steps(progress: Any) -> Any:
            def told(done: int, total: int) -> None:
                progress(done, total)
                if done == total:  # the last call's steps are back
                    os.kill(os.getpid(), signal.SIGINT)

            return work(told)

        return real(steps, quiet)

    monkeypatch.setattr(_report, "with_progress", late)
    out = tmp_path / "run"
    code, _, err = run_cli(["fit", "seed001_line", "--out", str(out), "-q"], capsys)
    assert code == 130
    assert "interrupted as the run finished" in err and "saved whole first" in err
    assert gradtrace.load(out).status == "completed"


def test_a_damaged_part_is_named_and_not_blamed_on_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """export of a run with a damaged part said "cannot write 'e.csv' (cannot
    read the run folder ...): choose a writable -o"; the part is named now, with
    what to do, and nothing is written."""
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    folder = tmp_path / "run"
    code, _, err = run_cli(
        ["fit", "seed001_line", "--steps", "40", "--out", str(folder), "-q"], capsys
    )
    assert code == 0, err
    part = folder / "trace.parquet" / "part-000001.parquet"
    part.write_bytes(part.read_bytes()[:300])  # cut short
    out = tmp_path / "e.csv"
    code, _, err = run_cli(["export", str(folder), "-o", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(
        f"error: cannot read the run folder {str(folder)!r}: "
        "trace.parquet/part-000001.parquet is damaged ("
    )
    assert err.rstrip().endswith(
        "put back a copy of it, or fit the run again with the configuration in its "
        "run.json (gradtrace rerun, which compares the traces, cannot)."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.usefixtures("small_parts")
def test_print_every_step_of_a_thinned_run_says_what_it_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--print-every 1 on a run that keeps one step in k in memory printed every
    k-th step without a word."""
    args = ["fit", "seed001_line", "--steps", "40", "--print-every", "1"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    kept = gradtrace.load(tmp_path / "r").info["trace"]["kept_every"]
    assert kept > 1
    steps = [int(line.split()[0]) for line in out.splitlines()[1:4]]
    assert steps == [0, kept, 2 * kept]
    assert (
        f"note: printed steps {kept} apart, not 1: a run this long keeps one step "
        f"in {kept} in memory; its folder holds them all (gradtrace export "
        f"{tmp_path / 'r'} --csv)." in err
    )
