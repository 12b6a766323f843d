"""Ctrl-C: a run stops between two compiled calls and keeps the steps done, even
where Python dropped the KeyboardInterrupt; the command says "interrupted." and
exits 130, with no traceback, whenever it comes."""

from __future__ import annotations

import builtins
import os
import signal
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace import _console, run_parts
from gradtrace.api import run
from gradtrace.errors import INTERRUPTED
from gradtrace.run_config import RunConfig
from gradtrace.store import TraceWriter
from gradtrace.streaming import run_stream


@pytest.fixture(autouse=True)
def chunks_of_five(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "5")
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=103)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(size=103) * 0.3})


def _ctrl_c(how: str, at_call: int, calls: list[int]) -> Callable[[int, int], None]:
    """A progress callback that, at its ``at_call``-th call, sends this process a
    SIGINT or marks a Ctrl-C that Python dropped; ``calls`` gets each call's steps,
    and -1 where the code after the SIGINT ran (it was noted, not raised)."""

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == at_call:
            if how == "signal":
                os.kill(os.getpid(), signal.SIGINT)
                calls.append(-1)
            else:
                INTERRUPTED.set()

    return progress


@pytest.mark.parametrize("how", ["signal", "dropped"])
@pytest.mark.parametrize("where", ["held whole", "in parts"])
def test_a_ctrl_c_while_a_run_trains_keeps_the_calls_done(
    frame: pd.DataFrame, tmp_path: Path, how: str, where: str
) -> None:
    config = RunConfig(data=None, lr=0.05, batch_size=16, epochs=4)
    whole = run(config, frame, "f")
    trace_to = None
    if where == "in parts":
        trace_to = lambda: TraceWriter(tmp_path / "run")  # noqa: E731
    calls: list[int] = []
    try:
        # the third call: after the second compiled call of five steps
        progress = _ctrl_c(how, 3, calls)
        cut = run(config, frame, "f", progress=progress, trace_to=trace_to)
    finally:
        INTERRUPTED.clear()
    assert cut.status == "interrupted" and cut.steps == 10
    assert calls == ([0, 5, 10, -1] if how == "signal" else [0, 5, 10])
    if trace_to is not None:
        cut.save(tmp_path / "run")
        cut = gradtrace.load(tmp_path / "run")
    pd.testing.assert_frame_equal(cut.to_pandas(), whole.to_pandas().iloc[:11])


def test_a_streamed_run_stops_alike(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    config = RunConfig(
        data=str(path), stream=True, chunk_rows=32, lr=0.05, batch_size=16, epochs=3
    )
    whole = run_stream(config)
    try:
        cut = run_stream(config, progress=_ctrl_c("dropped", 2, []))
    finally:
        INTERRUPTED.clear()
    assert cut.status == "interrupted" and 0 < cut.steps < whole.steps
    pd.testing.assert_frame_equal(
        cut.to_pandas(), whole.to_pandas().iloc[: cut.steps + 1]
    )


def test_a_dropped_ctrl_c_is_not_reported_and_other_dropped_errors_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace import cli

    seen: list[Any] = []
    monkeypatch.setattr("sys.__unraisablehook__", seen.append)
    interrupt = types.SimpleNamespace(exc_value=KeyboardInterrupt())
    other = types.SimpleNamespace(exc_value=ValueError("x"))
    cli._unraisable(interrupt)  # type: ignore[arg-type]
    cli._unraisable(other)  # type: ignore[arg-type]
    assert seen == [other]
    assert capsys.readouterr().err == ""


def test_a_ctrl_c_while_the_command_is_imported_says_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = builtins.__import__

    def slow_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "gradtrace.cli":
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", slow_import)
    with pytest.raises(SystemExit) as ended:
        _console.main()
    assert ended.value.code == 130
    assert capsys.readouterr().err == "interrupted.\n"


def test_a_ctrl_c_in_the_last_call_leaves_a_finished_run_and_the_command_its_handler(
    frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C noted while the last compiled call ran: every step was done, so the
    run is completed, not interrupted. The command puts the caller's Ctrl-C
    handler back and forgets its Ctrl-C, so later runs in the process go on."""
    from gradtrace.cli import main

    config = RunConfig(data=None, lr=0.05, batch_size=16, epochs=4)
    calls: list[int] = []
    done = run(config, frame, "f", progress=_ctrl_c("dropped", 7, calls))
    assert INTERRUPTED.is_set()  # noted at the last call, after its steps
    INTERRUPTED.clear()
    assert calls[-1] == 28 and done.status == "completed" and done.steps == 28
    monkeypatch.chdir(tmp_path)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit):
        main(["fit", "seed001_line", "--steps", "3", "--quiet", "--no-exact"])
    assert signal.getsignal(signal.SIGINT) is before
    assert not INTERRUPTED.is_set()
    assert gradtrace.fit("seed001_line", steps=5).status == "completed"


def test_a_dropped_ctrl_c_stops_a_sweep_before_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C that Python dropped while the sweep's compiled calls ran (noted by
    the command's handler) stops the sweep: "interrupted.", exit 130, nothing
    written. Before, the sweep went on and wrote its table."""
    from gradtrace import sweeps
    from helpers import run_cli

    real = sweeps.run_sweep

    def dropped(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        INTERRUPTED.set()
        return result

    monkeypatch.setattr(sweeps, "run_sweep", dropped)
    out = tmp_path / "sweep"
    args = ["sweep", "seed001_line", "--lr", "0.01,0.1", "--steps", "20"]
    code, _, err = run_cli([*args, "--out", str(out)], capsys)
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    # why nothing is kept, and what to do (a research engineer saw "interrupted."
    # alone after 8 s of a 19 s sweep)
    assert "a sweep's configurations run together" in err and "none was kept" in err
    # after the log's line of progress, one line
    progress, said = err.strip().splitlines()
    assert progress.startswith("sweeping 2 configurations...")
    assert said.startswith("interrupted: ")
    assert not out.exists() or not any(out.iterdir())
    assert not INTERRUPTED.is_set()  # the command forgot it


def test_a_dropped_ctrl_c_stops_the_range_test() -> None:
    INTERRUPTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            gradtrace.lr_find("seed001_line", steps=20)
    finally:
        INTERRUPTED.clear()


def test_a_streamed_run_stopped_by_ctrl_c_resumes_to_the_whole_trace(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    """A streamed run into a folder kept no state at a Ctrl-C unless it had
    checkpoints, so it could only be run again from the start (each full-batch
    step a pass over the file): it keeps it now, and resume gives the trace of
    the run uninterrupted."""
    from helpers import ctrl_c_after

    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    options: dict[str, Any] = dict(
        stream=True, chunk_rows=32, lr=0.05, steps=40, exact=False
    )
    whole = gradtrace.fit(str(path), **options)
    cut = gradtrace.fit(
        str(path), **options, out=tmp_path / "run", progress=ctrl_c_after(3)
    )
    assert cut.status == "interrupted" and 0 < cut.steps < 40
    assert (tmp_path / "run" / "state.npz").is_file()
    done = gradtrace.resume(tmp_path / "run")
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())


def test_ctrl_c_while_drawing_the_pictures_keeps_the_saved_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C during --plot's drawing came after the run was saved whole, but
    was reported as the run interrupted; it now says the run is saved and which
    command draws the pictures, exit 130."""
    from gradtrace import plot as plots
    from helpers import run_cli

    def cut(*args: object, **kwargs: object) -> list[Path]:
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_run", cut)
    out = tmp_path / "run"
    code, _, err = run_cli(
        ["fit", "seed001_line", "--steps", "5", "--plot", "--out", str(out), "-q"],
        capsys,
    )
    assert code == 130
    assert err.strip() == (
        f"interrupted while drawing the pictures: the run in {out} is saved whole; "
        f"gradtrace plot {out} draws them."
    )
    assert gradtrace.load(out).status == "completed"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_terminated_command_saves_its_run_as_ctrl_c_does(
    tmp_path: Path, sig: str
) -> None:
    """timeout, docker, systemd and SLURM send TERM, a closed terminal HUP: the
    process died at once, nothing saved but a hidden half-written folder of 131
    MB; now it stops as Ctrl-C stops it, saves a run that resumes, and exits 128
    plus the signal's number (143 for TERM), as a shell reports it."""
    from helpers import start_program

    number = getattr(signal, sig, None)
    if number is None:
        pytest.skip(f"no {sig} here")
    args = ["fit", "seed001_line", "--steps", "100000000", "--batch-size", "4"]
    program = start_program(
        [*args, "--out", "run"], tmp_path, GRADTRACE_CHUNK_STEPS="5000"
    )
    assert program.stderr is not None
    for line in program.stderr:  # training has begun
        if line.startswith("training"):
            break
    program.send_signal(number)
    _, err = program.communicate(timeout=120)
    assert program.returncode == 128 + number, err
    assert "Traceback" not in err
    saved = gradtrace.load(tmp_path / "run")
    assert saved.status == "interrupted" and saved.info["resumable"]
    assert 0 < saved.steps < 100_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no half-written folder


def test_a_rerun_stopped_part_way_says_so_not_that_the_traces_differ(
    tmp_path: Path,
) -> None:
    """rerun stopped by Ctrl-C compared the part it ran with the whole run: "the
    new trace differs", exit 1, a false mismatch in a reproducibility script."""
    from helpers import start_program

    args = ["fit", "seed001_line", "--steps", "1000000", "--batch-size", "4", "-q"]
    first = start_program(
        [*args, "--out", "run"], tmp_path, GRADTRACE_CHUNK_STEPS="100000"
    )
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    program = start_program(
        ["rerun", "run", "--out", "again"], tmp_path, GRADTRACE_CHUNK_STEPS="5000"
    )
    assert program.stderr is not None
    for line in program.stderr:  # training has begun
        if line.startswith("training"):
            break
    program.send_signal(signal.SIGINT)
    _, err = program.communicate(timeout=120)
    assert program.returncode == 130, err
    assert "differs" not in err and "Traceback" not in err
    assert err.rstrip().endswith(
        "interrupted: not compared with run, whose 1000000 steps a rerun checks "
        "whole (the same rerun again, with --force)."
    )
    assert gradtrace.load(tmp_path / "again").status == "interrupted"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_ctrl_c_before_the_first_step_leaves_the_folder_as_it_was(
    frame: pd.DataFrame, tmp_path: Path, streamed: bool
) -> None:
    """A Ctrl-C while a run started (reading, compiling) replaced the completed
    run that --force was to replace with an interrupted run of no steps, which
    neither resume nor fit without --force would take."""
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    options: dict[str, Any] = {"stream": True, "chunk_rows": 32} if streamed else {}
    folder = tmp_path / "run"
    before = gradtrace.fit(str(path), steps=20, out=folder, **options)
    INTERRUPTED.set()  # a Ctrl-C that came before the first compiled call
    try:
        with pytest.raises(KeyboardInterrupt):
            gradtrace.fit(str(path), steps=30, out=folder, force=True, **options)
    finally:
        INTERRUPTED.clear()
    after = gradtrace.load(folder)
    assert (after.status, after.steps) == ("completed", 20)
    pd.testing.assert_frame_equal(after.to_pandas(), before.to_pandas())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet", "run"]


def test_a_python_callers_term_handler_and_nohup_stay_theirs(tmp_path: Path) -> None:
    """The command takes TERM and HUP over; the library does not: a script's own
    TERM handler ran no more while a fit saved (the fit returned "interrupted"
    and the script went on), and under nohup a HUP stopped the command."""
    import subprocess
    import sys
    import time

    script = (
        "import signal, sys, gradtrace\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n"
        "print('training', flush=True)\n"
        "gradtrace.fit('seed001_line', steps=100_000_000, batch_size=4, out='r')\n"
    )

    def started(args: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            args,
            cwd=tmp_path,
            env={**os.environ, "GRADTRACE_CHUNK_STEPS": "5000"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    caller = started([sys.executable, "-c", script])
    assert caller.stdout is not None
    caller.stdout.readline()
    caller.send_signal(signal.SIGTERM)
    caller.communicate(timeout=120)
    assert caller.returncode == 3  # the script's own handler ran
    if not hasattr(signal, "SIGHUP"):
        return
    command = f"{sys.executable} -m gradtrace fit seed001_line --steps 100000000"
    # HUP ignored, as nohup starts it
    nohup = started(["sh", "-c", f"trap '' HUP; exec {command} --batch-size 4 --out n"])
    assert nohup.stderr is not None
    for line in nohup.stderr:
        if line.startswith("training"):
            break
    nohup.send_signal(signal.SIGHUP)  # ignored: it goes on
    time.sleep(1.0)
    assert nohup.poll() is None
    nohup.send_signal(signal.SIGINT)
    nohup.communicate(timeout=120)
    assert nohup.returncode == 130


def test_a_term_while_a_run_saves_stops_the_commands_next_step() -> None:
    """A TERM held while a finished run was assembled or saved was dropped with
    it: a sweep or a range test went on until the system killed it."""
    from gradtrace.errors import STOPPED_BY, TAKEN_OVER

    TAKEN_OVER.add(signal.SIGTERM)  # as the command takes it over
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with run_parts.held_interrupts() as got:
            os.kill(os.getpid(), signal.SIGTERM)
        assert got == [signal.SIGTERM] and INTERRUPTED.is_set()
        assert STOPPED_BY[-1] == signal.SIGTERM
    finally:
        TAKEN_OVER.clear()
        STOPPED_BY.clear()
        INTERRUPTED.clear()
        signal.signal(signal.SIGTERM, previous)
    # a Python caller's run holds Ctrl-C alone
    assert run_parts.stopping_signals() == (signal.SIGINT,)
