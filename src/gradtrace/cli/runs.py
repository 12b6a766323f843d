"""Looking at runs: ``gradtrace show``, ``export``, ``ls`` and ``rerun``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gradtrace.cli._options import (
    DATA_AGAIN,
    FORCE_FILES,
    already_exists,
    check_folder_of,
    check_out_file,
    force_option,
    load_run,
)


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
def show(run: Path) -> None:
    """Show a run: what ran, final parameters against the start and the truth, the
    final loss, how it ended, and its timings."""
    from gradtrace.api import load
    from gradtrace.cli._report import print_summary

    print_summary(load(run, thin=True), run, all_findings=True)


def _out(help: str, required: bool = False) -> Callable[..., Any]:
    """The -o/--out option of a command that writes a file or folder. A required
    one has no default: click 8.5 takes an explicit ``default=None`` for a value
    given, and lets a missing -o through as None."""
    extra: dict[str, Any] = {"required": True} if required else {"default": None}
    return click.option(
        "-o", "--out", "out", type=click.Path(path_type=Path), help=help, **extra
    )


#: export's formats by the suffix of -o: a name without one, and -, are CSV
EXPORT_SUFFIXES = {".csv": "csv", ".json": "json", ".parquet": "parquet"}


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="The trace as CSV (the default, unless -o names a .json or .parquet file).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='The trace as JSON: {"run": run.json, "trace": [rows]}.',
)
@_out(
    "File to write: .csv, .json or .parquet, by its name (default, or -: CSV on "
    "standard output)."
)
@click.option("--force", is_flag=True, help="Replace an existing -o file.")
def export(
    run: Path, as_csv: bool, as_json: bool, out: Path | None, force: bool
) -> None:
    """Export a run's trace as CSV, JSON or Parquet, a block of rows at a time."""
    from gradtrace.errors import InputError
    from gradtrace.store import load_info, trace_batches

    if as_csv and as_json:
        raise InputError("give --csv or --json, not both.")
    to_stdout = out is None or str(out) == "-"
    suffix = "" if to_stdout or out is None else out.suffix.lower()
    named = EXPORT_SUFFIXES.get(suffix, "csv" if suffix == "" else None)
    fmt = "json" if as_json else "csv" if as_csv else named
    if fmt is None:
        raise InputError(
            f"-o {str(out)!r}: export writes .csv, .json or .parquet files (CSV "
            "also without a suffix, or to standard output with -o -): name the "
            "file so, or give --csv or --json."
        )
    if suffix in EXPORT_SUFFIXES and named != fmt:
        raise InputError(
            f"-o {str(out)!r} names a {suffix[1:].upper()} file but --{fmt} writes "
            f"{fmt.upper()}: name it .{fmt}, or drop --{fmt}."
        )
    device = str(out).startswith("/dev/")  # /dev/stdout, say
    if out is not None and not to_stdout:
        check_out_file(out, force or device)
    info = load_info(run)
    batches = trace_batches(run, info)
    if to_stdout:
        _write_trace(sys.stdout, fmt, info, batches)
        return
    assert out is not None
    # a link or a device (/dev/stdout) is written through, never renamed over
    through = device or out.is_symlink() or (out.exists() and not out.is_file())
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if through:
            rows = _write_file(out, fmt, info, batches)
        else:
            rows = _write_file(tmp, fmt, info, batches)
            tmp.replace(out)
    except OSError as err:
        raise InputError(
            f"cannot write {str(out)!r} ({err.strerror or err}): choose a writable -o."
        ) from None
    finally:
        if not through:
            tmp.unlink(missing_ok=True)
    if not device:
        click.echo(f"wrote {rows} rows to {out}", err=True)


def _write_file(path: Path, fmt: str, info: dict[str, Any], batches: Any) -> int:
    """Write the trace's ``batches`` to ``path`` as ``fmt``; the rows written."""
    if fmt != "parquet":
        with open(path, "w") as handle:
            return _write_trace(handle, fmt, info, batches)
    import pyarrow.parquet as pq

    rows, writer = 0, None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_batch(batch.cast(writer.schema))
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_trace(handle: Any, fmt: str, info: dict[str, Any], batches: Any) -> int:
    """Write the trace's ``batches`` to the text stream ``handle`` as CSV or JSON,
    a block at a time: a reader that stops reading stops it at once, and no text
    of the whole trace is ever held. The rows written."""
    from gradtrace.store import json_text

    rows = 0

    def frames() -> Any:
        nonlocal rows
        for batch in batches:
            rows += batch.num_rows
            yield batch.to_pandas()

    if fmt == "json":
        for piece in json_text(info, frames()):
            handle.write(piece)
        return rows
    for i, frame in enumerate(frames()):
        handle.write(frame.to_csv(index=False, header=i == 0, float_format="%.9g"))
    return rows


@click.command(name="ls", context_settings={"max_content_width": 100})
@click.argument("folder", type=click.Path(path_type=Path), default=Path("runs"))
def ls_runs(folder: Path) -> None:
    """A table of the runs in FOLDER (default: runs)."""
    from gradtrace.cli._report import runs_table
    from gradtrace.errors import InputError

    if not folder.is_dir():
        raise InputError(
            f"{str(folder)!r} is not a folder: give the folder that holds "
            "the run folders (default runs)."
        )
    runs_table(folder)


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (default: runs/<date-time>-<model>).",
)
@force_option("run")
@DATA_AGAIN
def rerun(run: Path, out: Path | None, force: bool, data: Path | None) -> None:
    """Repeat a run from its run.json and check the new trace equals the old one.

    The data are read again from where the run read them; a data file that changed
    since (its SHA-256 differs) is refused. A run that read its data from standard
    input or Python, or whose file moved, reruns on --data FILE: the values must be
    those the run trained on (run.json's checksum).
    """
    from gradtrace.api import RunConfig, rerun_config, rerun_rows
    from gradtrace.cli import _report
    from gradtrace.cli.fit import default_out
    from gradtrace.errors import InputError
    from gradtrace.store import check_parts, load_info, same_traces

    info = load_info(run)
    remedy = "there is nothing to compare a rerun with; fit its configuration anew"
    check_parts(run, info, remedy)
    if data is None:
        _data_still_there(info)
        config = rerun_config(info)
    else:
        if str(data) == "-":
            raise InputError(
                "rerun reads --data twice (to check them against the run's, then to "
                "fit): give --data a file, not -."
            )
        load_run(run, data, thin=True)  # the values checked against the run's
        config = RunConfig(**info["config"])
        config.data = str(data)
    out = out or default_out(info["model"])
    # a long run writes its trace in parts as it goes; the two traces are then
    # compared a row group at a time, neither held whole
    new, late = _report.run_into_with_progress(config, out, force)
    if late:
        raise KeyboardInterrupt  # after the new run was saved
    compared = rerun_rows(info)
    same = same_traces(run, out, prefix=compared is not None, rows=compared)
    _report.print_run(new, out, None, quiet=True)
    if same and compared is not None and info["steps"] < new.steps:
        click.echo(
            f"{run} stopped after step {info['steps']}: its first {compared} rows "
            f"are the new run's first {compared} of {new.steps + 1}, identical."
        )
    elif same:
        click.echo(f"identical to {run}: {new.steps + 1} rows.")
    else:
        click.echo(f"error: the new trace differs from {run}.", err=True)
        raise click.exceptions.Exit(1)


def _data_still_there(info: dict[str, Any]) -> None:
    """Refuse to rerun, without --data, a run whose data cannot be read again: from
    standard input or Python, or from a file that is gone."""
    from gradtrace.data import DATASETS
    from gradtrace.errors import InputError

    source = info["config"].get("data")
    if source is None or source == "-":
        where = "standard input" if source == "-" else "Python"
        raise InputError(
            f"this run read its data from {where}: give them again with --data FILE "
            "(the values the run trained on)."
        )
    recorded = info["data"].get("path")
    if source not in DATASETS and not any(
        p and Path(p).is_file() for p in (source, recorded)
    ):
        raise InputError(
            f"the run's data file {source!r} is gone (it was at {recorded!r}): put "
            "it back, or give it with --data FILE."
        )


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@DATA_AGAIN
@click.option(
    "--quiet", "-q", is_flag=True, help="Print the summary (and notes and errors) only."
)
def resume(run: Path, data: Path | None, quiet: bool) -> None:
    """Continue an interrupted or checkpointed run (--checkpoint-every) in its folder,
    from its saved optimizer state, to the trace an uninterrupted run gives.

    The data are read again from where the run read them, or from --data (values
    that differ from the run's are refused). The trace goes on from the last
    checkpoint (parts written after it are dropped); run.json and state.npz are
    replaced atomically at every checkpoint and at the end.
    """
    from gradtrace import api
    from gradtrace.cli import _report

    def starting(done: int, n_steps: int, recorded: int) -> None:
        again = ""
        if recorded > done:
            # an interrupted run's trace goes past its last saved state
            again = (
                f" (its last saved state; steps {done + 1}-{recorded}, recorded "
                "when it stopped, are computed again)"
            )
        if not quiet:
            click.echo(f"resuming at step {done + 1} of {n_steps}{again}.")

    drawn = _pictures(run)
    trace = _report.with_progress(
        lambda progress: api.resume(
            run, data=data, progress=progress, starting=starting
        ),
        quiet,
    )
    _report.print_run(trace, run, None, quiet=True)
    if drawn:
        left = _pictures(run)
        said = (
            f"{', '.join(left)} in {run} show the run before it resumed"
            if left
            else f"{', '.join(drawn)} went with the folder's old version"
        )
        click.echo(f"note: {said}: gradtrace plot {run} draws them anew.", err=True)
    if trace.diverged:
        raise click.exceptions.Exit(1)
    if trace.status == "interrupted":
        raise click.exceptions.Exit(130)


def _pictures(run: Path) -> list[str]:
    """The pictures ``gradtrace plot`` drew into the run folder ``run``."""
    from gradtrace.plot import RUN_FIGURES

    return [name for name in RUN_FIGURES if (run / name).is_file()]


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--params",
    "params",
    default=None,
    metavar="A,B",
    help="The two parameters of the loss landscape (default: the first "
    "two); the others are held at their final values.",
)
@_out("Folder to draw into (default: RUN's own); made if missing.")
@DATA_AGAIN
@FORCE_FILES
def plot(
    run: Path, params: str | None, out: Path | None, data: Path | None, force: bool
) -> None:
    """Draw RUN's pictures into its folder (or --out): fit.png (the fit over the
    data), loss.png (per step and per epoch), params.png (each parameter per step
    against the optimum and the truth), landscape.png (loss contours with the path,
    a dot per step; over a random 100000 rows of larger data) and mse_loglik.png
    (MSE and log-likelihood over the location). A scatter of the data shows a
    random 20000 of its rows at most. Pictures in RUN are drawn anew; those in an
    --out folder are replaced with --force only."""
    from gradtrace import plot as plots
    from gradtrace.errors import InputError

    pair = None
    if params is not None:
        names = [p.strip() for p in params.split(",") if p.strip()]
        if len(names) != 2:
            raise InputError(
                f"--params takes two parameter names, got {params!r}: "
                "write --params w,b."
            )
        pair = (names[0], names[1])
    if out is not None and _same(out, run):
        out = None  # RUN's own folder: its pictures are drawn anew
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"{str(out)!r} is a file: give --out a folder.")
        check_folder_of(out, "--out", made=True)
        there = [out / name for name in plots.RUN_FIGURES if (out / name).exists()]
        if there and not force:
            raise already_exists(there[0], "--out")
    trace = load_run(run, data, thin=True)  # a long run: every k-th step, as kept
    folder = run if out is None else out
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(
                f"cannot make {str(out)!r} ({err.strerror or err}): choose another "
                "--out."
            ) from None
    for path in plots.plot_run(trace, folder, pair):
        click.echo(f"wrote {path}")


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@_out("The animation: fit.gif (or fit.mp4 where ffmpeg is installed).", required=True)
@click.option(
    "--every",
    type=int,
    default=None,
    help="Draw every k-th step (default: about 120 frames).",
)
@click.option(
    "--fps", type=int, default=10, show_default=True, help="Frames per second."
)
@DATA_AGAIN
@FORCE_FILES
def animate(
    run: Path, out: Path, every: int | None, fps: int, data: Path | None, force: bool
) -> None:
    """Animate RUN: the fit moving over the data, one frame per step (or every k-th),
    the step's batch highlighted, with step, epoch, batch and loss in the title."""
    from gradtrace.animate import animate as draw
    from gradtrace.errors import InputError

    if fps < 1:
        raise InputError(f"--fps must be at least 1, got {fps}.")
    check_out_file(out, force)
    path = draw(load_run(run, data), out, every=every, fps=fps)
    click.echo(f"wrote {path}")


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=click.Path(path_type=Path))
@_out("The HTML file (default: RUN/report.html).")
@DATA_AGAIN
@FORCE_FILES
def report(run: Path, out: Path | None, data: Path | None, force: bool) -> None:
    """Write a self-contained interactive HTML report of RUN: a slider and a play
    button over the steps, the fit over the data, the path on the loss landscape,
    the loss curve, the parameters and gradients, and the rows of each batch. It
    works offline: scripts, styles and data are inside the file. RUN/report.html
    is written anew; another -o file that exists is replaced with --force only."""
    from gradtrace.report import report as write

    if out is not None and not _same(out, run / "report.html"):
        check_out_file(out, force)
    path = write(load_run(run, data), out or run / "report.html")
    click.echo(f"wrote {path}")


def _same(a: Path, b: Path) -> bool:
    """Whether the paths ``a`` and ``b`` name the same place."""
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
