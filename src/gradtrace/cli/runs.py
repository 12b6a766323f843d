"""Looking at runs: ``gradtrace show``, ``export``, ``ls`` and ``rerun``."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gradtrace.cli._options import (
    DATA_AGAIN,
    FORCE_FILES,
    RUN_FOLDER,
    RUN_OR_SWEEP,
    WHOLE,
    already_exists,
    check_folder_of,
    check_out_file,
    dpi_option,
    force_option,
    load_run,
    out_option,
    python_objects,
    write_whole,
)
from gradtrace.paths import RUNS


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_OR_SWEEP)
@click.option(
    "--keras",
    is_flag=True,
    help="Print the run's epochs as Keras's model.fit(verbose=2) prints them: "
    "loss and --metric values as Keras logs them (running means over each epoch's "
    "batches), and val_ ones over the rows the run held out, if it held some, by "
    "Keras's metric names.",
)
def show(run: Path, keras: bool) -> None:
    """Show a run: what ran, final parameters against the start and the truth, the
    final loss, how it ended, and its timings; where the run has standard errors,
    its estimates as a statistician reads them: the exact optimum with its
    standard error, t (or z) against 0, p-value and interval (95%, or the level
    fit --level chose), and how many standard errors the run's final values are
    from it. Of a sweep's folder: what
    was swept, the best configuration, the 10 lowest where they settled (a
    mini-batch run's mean loss over the last tenth of its steps, a full batch's
    last) and how many diverged. RUN latest is the run or sweep made last."""
    from gradtrace.cli._report import print_estimates, print_summary
    from gradtrace.saved_runs import load
    from gradtrace.store import is_sweep

    if is_sweep(run):
        if keras:
            from gradtrace.errors import InputError

            raise InputError(
                f"--keras shows a run's epochs; {str(run)!r} is a sweep's folder: "
                "show it without --keras."
            )
        _show_sweep(run)
        return
    trace = load(run, thin=True)
    if keras:
        click.echo(trace.keras_log())
        if "validation" not in trace.info["data"]:
            # on standard error: standard output is the lines Keras prints
            click.echo(
                "note: this run held no rows out, so Keras prints no val_ values; "
                "given validation_data=(x, y) it would print the loss over all the "
                "data after each epoch's last step (Python: "
                "trace.keras_log(validation=True); --validation-split holds rows "
                "out).",
                err=True,
            )
        return
    print_summary(trace, run, all_findings=True)
    print_estimates(trace)


#: the configurations ``gradtrace show SWEEP`` lists
SHOWN_CONFIGS = 10


def _show_sweep(folder: Path) -> None:
    """What ``gradtrace sweep`` did in ``folder``: the sweep in a line, the best
    configuration, and a table of the lowest where they settled, as the best is
    ranked."""
    import pandas as pd

    from gradtrace.cli._report import _console, print_whole
    from gradtrace.store import load_sweep
    from gradtrace.sweeps import Sweep
    from gradtrace.text import fmt

    table, info = load_sweep(folder)
    sweep = Sweep(table, pd.DataFrame(), info)
    console = _console()
    n, diverged = len(table), int(table["diverged"].sum())
    data = info.get("data", {})
    rows = f" ({data['n_rows']} rows)" if "n_rows" in data else ""
    steps = _sweep_steps(info)
    rose = len(sweep.rose)
    above = f", {rose} ended above {'its' if rose == 1 else 'their'} start" * (rose > 0)
    console.print(
        f"sweep {folder}: {info.get('model', '?')} by {info.get('loss', '?')}, "
        f"{info.get('optimizer', '?')}, on {data.get('source', '?')}{rows}{steps}"
    )
    swept = ", ".join(sweep.swept) or "nothing"
    console.print(
        f"  {n} configuration{'s' * (n != 1)} ({swept} swept), {diverged} "
        f"diverged{above}"
    )
    if info.get("optimum_loss") is not None:
        console.print(f"  the optimum's loss {fmt(float(info['optimum_loss']))}")
    for warning in sweep.command_warnings():
        console.print(f"  {warning}")
    best = sweep.best_text()
    console.print(best if best.startswith("no best") else f"best: {best}.")
    over = sweep.best_over_repeats_text()
    if over is not None:
        console.print(f"{over}.")
    # by where each settled, as the best is ranked
    ok = sweep.ranked()
    tail = "tail_loss" in table and not ok["settled"].equals(ok["loss"])
    if not ok.empty:
        top = ok.head(SHOWN_CONFIGS)
        # the loss they are ranked by, beside the final one: tail_loss is a
        # mini-batch run's settled loss, a full batch's is its last
        wanted = ["config", *sweep.swept, "loss", *["settled"] * tail, "gap"]
        shown = [c for c in [*wanted, "steps_to_tol", "val_loss"] if c in top.columns]
        by = "where they settled" if tail else "final loss"
        if sweep.below_optimum.empty and top["steps_to_tol"].notna().any():
            tol = sweep.info.get("tol")
            by = f"steps to within {'tol' if tol is None else f'{tol:g}'}, then {by}"
        console.print(
            f"\nthe best {len(top)} by {by}, of the {len(ok)} that did not diverge:"
            if len(ok) > len(top)
            else f"\nthe {len(ok)} that did not diverge, by {by}:"
        )
        print_whole(console, _table(top[shown]))
        if tail:
            console.print(
                "settled: a mini-batch run's mean loss over all the data after each "
                "step of its last tenth (its last loss is a draw of its batches' "
                "noise), a full-batch run's last loss."
            )
    console.print(
        f"\nevery configuration: {folder / 'sweep.parquet'}; their losses per step: "
        f"{folder / 'traces.parquet'} (pandas.read_parquet reads them)."
    )


def _steps_range(info: dict[str, Any]) -> Any:
    """``ls``'s steps of a sweep: its configurations' fewest..most where batch
    sizes ran their own, as its rates' lowest..highest."""
    counts = sorted(set((info.get("n_steps_by_batch_size") or {}).values()))
    if len(counts) > 1:
        return f"{counts[0]}..{counts[-1]}"
    return info.get("n_steps", "")


def _sweep_steps(info: dict[str, Any]) -> str:
    """The steps a sweep's configurations ran: ", 750 steps each", or where batch
    sizes ran their own, each size's (", 750 steps at batch size 8, 210 at 32")."""
    by_size = info.get("n_steps_by_batch_size") or {}
    if len(set(by_size.values())) > 1:
        sizes = sorted(by_size.items(), key=lambda kv: int(kv[0]))
        return ", " + ", ".join(
            f"{n} steps at batch size {size}" if i == 0 else f"{n} at {size}"
            for i, (size, n) in enumerate(sizes)
        )
    return f", {info['n_steps']} steps each" if "n_steps" in info else ""


def _table(frame: Any) -> Any:
    """A rich table of ``frame``: numbers to 7 digits, a missing value as -."""
    from rich.table import Table

    from gradtrace.cli._report import fmt_any

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in frame.columns:
        table.add_column(str(name), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v, fmt_any) for v in row))
    return table


def _cell(value: Any, fmt_any: Callable[[Any], str]) -> str:
    import numpy as np
    import pandas as pd

    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):  # a vector's (Parquet: array)
        return fmt_any(np.asarray(value).tolist())
    if value is None or pd.isna(value):
        return "-"
    if isinstance(value, (bool, int)) or float(value).is_integer():
        return str(int(value)) if not isinstance(value, bool) else str(value)
    return fmt_any(value)


#: export's formats by the suffix of -o: a name without one, and -, are CSV
EXPORT_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".parquet": "parquet",
}


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="The trace as CSV (the default, unless -o names a .tsv, .json or .parquet "
    "file).",
)
@click.option("--tsv", "as_tsv", is_flag=True, help="The trace as TSV (tab-separated).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='The trace as JSON: {"run": run.json, "trace": [rows]}.',
)
@click.option(
    "--parquet",
    "as_parquet",
    is_flag=True,
    help="The trace as Parquet (not text: with -o FILE.parquet).",
)
@out_option(
    "File to write: .csv, .tsv (tab-separated), .json or .parquet, by its name "
    "(default, or -: CSV on standard output)."
)
@click.option(
    "--per-epoch",
    is_flag=True,
    help="One row per epoch instead of per step, as Keras's fit history has it: "
    "loss and metrics as Keras logs them at each epoch's end, loss_all_data "
    "after it, and the parameters.",
)
@click.option(
    "--keras-names",
    is_flag=True,
    help="With --per-epoch: the metrics and the rate under the keys Keras's "
    "History.history gives them (root_mean_squared_error, learning_rate), to set "
    "beside it column for column.",
)
@click.option(
    "--batch-rows",
    is_flag=True,
    help="Which data rows each step trained on instead of the trace: one line per "
    "step and row (step, epoch, batch, row: its 0-based position in the data), to "
    "merge with the data.",
)
@click.option("--force", is_flag=True, help="Replace an existing -o file.")
def export(
    run: Path,
    as_csv: bool,
    as_tsv: bool,
    as_json: bool,
    as_parquet: bool,
    out: Path | None,
    per_epoch: bool,
    keras_names: bool,
    batch_rows: bool,
    force: bool,
) -> None:
    """Export a run's trace as CSV, TSV, JSON or Parquet, a block of rows at a
    time (--per-epoch: one row per epoch; --batch-rows: the data rows of each
    step's batch instead)."""
    from gradtrace.errors import InputError
    from gradtrace.store import load_info, trace_batches

    if per_epoch and batch_rows:
        raise InputError("give --per-epoch or --batch-rows, not both.")
    if keras_names and not per_epoch:
        raise InputError(
            "--keras-names names the columns of --per-epoch's table: give both."
        )
    formats = ("csv", "tsv", "json", "parquet")
    flags = (as_csv, as_tsv, as_json, as_parquet)
    asked = [f for f, on in zip(formats, flags, strict=True) if on]
    if len(asked) == 2:
        raise InputError(f"give --{asked[0]} or --{asked[1]}, not both.")
    if len(asked) > 2:
        raise InputError(f"give one of --{', --'.join(asked)}, not several.")
    to_stdout = out is None or str(out) == "-"
    if asked == ["parquet"] and to_stdout:
        raise InputError(
            "--parquet writes a file, not text: give -o FILE.parquet (or --csv "
            "to standard output)."
        )
    suffix = "" if to_stdout or out is None else out.suffix.lower()
    named = EXPORT_SUFFIXES.get(suffix, "csv" if suffix == "" else None)
    fmt = asked[0] if asked else named
    if fmt is None:
        raise InputError(
            f"-o {str(out)!r}: export writes .csv, .tsv, .json or .parquet files (CSV "
            "also without a suffix, or to standard output with -o -): name the "
            "file so, or give --csv, --tsv or --json."
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
    batches: Any = trace_batches(run, info)
    if per_epoch:
        import pyarrow as pa

        from gradtrace.saved_runs import load

        table = load(run, thin=True).history(keras_names=keras_names)
        batches = [pa.RecordBatch.from_pandas(table, preserve_index=False)]
    if batch_rows:
        import pyarrow as pa

        from gradtrace.saved_runs import load

        table = load(run, thin=True).batch_rows()
        batches = [pa.RecordBatch.from_pandas(table, preserve_index=False)]
    if to_stdout:
        _write_trace(sys.stdout, fmt, info, batches)
        return
    assert out is not None
    rows = write_whole(out, lambda path: _write_file(path, fmt, info, batches))
    if not device:
        click.echo(f"wrote {rows} rows to {out}", err=True)


def _write_file(path: Path, fmt: str, info: dict[str, Any], batches: Any) -> int:
    """Write the trace's ``batches`` to ``path`` as ``fmt``; the rows written."""
    if fmt != "parquet":
        with open(path, "w") as handle:
            return _write_trace(handle, fmt, info, batches)
    import pyarrow.parquet as pq

    from gradtrace.store import PARQUET_WRITE

    rows, writer = 0, None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, **PARQUET_WRITE)
            writer.write_batch(batch.cast(writer.schema))
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_trace(handle: Any, fmt: str, info: dict[str, Any], batches: Any) -> int:
    """Write the trace's ``batches`` to the text stream ``handle`` as CSV, TSV or JSON,
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
    sep = "\t" if fmt == "tsv" else ","
    for i, frame in enumerate(frames()):
        # each value as the shortest text that reads back to it in its own dtype
        # (float32's 0.1 as 0.1, a float64 run's digits all kept)
        text = frame.to_csv(index=False, header=i == 0, sep=sep)
        handle.write(text)
    return rows


#: ``gradtrace ls``'s columns: single words, so a whitespace split reads them
LS_COLUMNS = (
    "folder",
    "kind",
    "created",
    "model",
    "loss",
    "optimizer",
    "lr",
    "steps",
    "status",
    "final_loss",
    "gap",
)


@click.command(name="ls", context_settings={"max_content_width": 100})
@click.argument("folder", type=click.Path(path_type=Path), default=RUNS)
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Write the table as CSV on standard output (a header row, one folder a "
    "row; numbers in full).",
)
def ls_runs(folder: Path, as_csv: bool) -> None:
    """A table of the runs and sweeps in FOLDER (default: runs), oldest first: kind
    (run or sweep), model, loss, optimizer, learning rate (a sweep's lowest..highest),
    steps (a sweep's fewest..most where its batch sizes ran their own), status (a
    sweep's: how many of its configurations diverged; loss_rose, a run that
    completed with its loss above its start), final loss (a sweep's
    lowest that did not diverge) and gap (a run's final loss less its optimum's:
    how far it is from converged). A checkpointed run whose process is gone
    reads stopped."""
    import csv

    from gradtrace.errors import InputError

    if not folder.is_dir() and (folder != RUNS or folder.exists()):
        raise InputError(
            f"{str(folder)!r} is not a folder: give the folder that holds "
            "the run folders (default runs)."
        )
    listed = _listed(folder) if folder.is_dir() else []
    rows = sorted(listed, key=lambda r: (str(r["created"]), r["folder"]))
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(LS_COLUMNS)
        writer.writerows([r[c] for c in LS_COLUMNS] for r in rows)
        return
    from rich.table import Table

    from gradtrace.cli._report import _console, print_whole
    from gradtrace.text import fmt

    if not rows:
        hint = ": gradtrace fit DATA makes one there" if folder == RUNS else ""
        click.echo(f"no runs in {folder} yet{hint}.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    right = ("lr", "steps", "final_loss", "gap")
    for c in LS_COLUMNS:
        table.add_column(c, justify="right" if c in right else "left")
    taken = []
    for r in rows:
        shown = {**r, "lr": _lr_text(r["lr"])}
        if isinstance(r["final_loss"], float):
            shown["final_loss"] = fmt(r["final_loss"])
        if isinstance(r["gap"], float):
            shown["gap"] = f"{r['gap']:.3g}"
        if "taken" in r:
            shown["final_loss"] = fmt(r["taken"][1]) + "*"
            if "taken_gap" in r:
                shown["gap"] = f"{r['taken_gap']:.3g}*"
            taken.append(f"{r['folder']} at step {r['taken'][0]}")
        table.add_row(*(str(shown[c]) if shown[c] != "" else "-" for c in LS_COLUMNS))
    print_whole(_console(), table)
    if taken:
        click.echo(
            "* the loss over all the data where it was last taken, before the run "
            f"stopped between its evaluations (--eval-every): {', '.join(taken)}."
        )


def _lr_text(lr: Any) -> str:
    return f"{lr:g}" if isinstance(lr, float) else str(lr)


def _listed(folder: Path) -> list[dict[str, Any]]:
    """A row for every run folder (run.json) and sweep folder (sweep.parquet) under
    ``folder``, hidden ones aside: its values as run.json or sweep.json keep them."""
    import json

    from gradtrace.cli._report import rounded_gap
    from gradtrace.store import being_written, made_at

    def found(name: str) -> list[Path]:
        return sorted(
            p.parent
            for p in folder.rglob(name)
            if not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )

    rows = []
    for run in found("run.json"):
        row: dict[str, Any] = dict.fromkeys(LS_COLUMNS, "")
        row.update(folder=str(run.relative_to(folder)), kind="run")
        try:
            info = json.loads((run / "run.json").read_text())
        except (OSError, ValueError):
            rows.append({**row, "status": "unreadable"})
            continue
        opt = info.get("optimizer", {})
        status = info.get("status", "")
        if status == "running" and being_written(run) is False:
            # checkpointed, and its process is gone, unless it finished between
            # the reading and the asking
            try:
                info = json.loads((run / "run.json").read_text())
            except (OSError, ValueError):
                pass
            status = info.get("status", "")
            status = "stopped" if status == "running" else status
        final = info.get("final_loss", "")
        first = info.get("initial_loss")
        if status == "completed" and _rose(first, final):
            status = "loss_rose"  # finite, but no better than diverging
        best = info.get("optimum_loss")
        gap: float | str = ""
        if isinstance(final, (int, float)) and isinstance(best, (int, float)):
            if math.isfinite(final) and math.isfinite(best):
                gap = rounded_gap(info, float(final))  # as the summary says it
        row.update(
            created=made_at(run, info),
            model=info.get("model", ""),
            loss=info.get("loss", ""),
            optimizer=opt.get("name", ""),
            lr=opt.get("learning_rate", opt.get("lr", "")),
            steps=info.get("steps", ""),
            status=status,
            final_loss=_number(final),
            gap=gap,
        )
        last = info.get("last_loss")  # stopped between the loss's evaluations
        if last is not None and not isinstance(_number(final), (int, float)):
            last = None
        elif last is not None and math.isfinite(_number(final)):
            last = None  # a loss after the last step after all (restored weights')
        if last is not None:
            # shown, marked, in the table; CSV keeps the final loss (none)
            row["taken"] = (last["step"], float(last["loss"]))
            if isinstance(best, (int, float)) and math.isfinite(best):
                row["taken_gap"] = rounded_gap(info, float(last["loss"]))
        rows.append(row)
    for sweep in found("sweep.parquet"):
        if (sweep / "run.json").exists():
            continue
        rows.append(_sweep_row(folder, sweep))
    return rows


def _rose(first: Any, final: Any) -> bool:
    """Whether a run's loss ended above where it started (``ended_above``), of
    the numbers run.json keeps (a run saved before it kept its first: no)."""
    from gradtrace.advice import ended_above

    a, b = _number(first), _number(final)
    if not isinstance(a, float) or not isinstance(b, float):
        return False
    return math.isfinite(a) and math.isfinite(b) and ended_above(a, b)


def _number(value: Any) -> Any:
    """A loss as run.json keeps it ("Infinity", "NaN" as text) made a float."""
    try:
        return float(value) if isinstance(value, (int, float, str)) else value
    except ValueError:
        return value


def _sweep_row(folder: Path, sweep: Path) -> dict[str, Any]:
    """``gradtrace ls``'s row of a sweep folder."""
    import pandas as pd

    from gradtrace.errors import GradtraceError
    from gradtrace.store import load_sweep, made_at
    from gradtrace.sweeps import Sweep

    row: dict[str, Any] = dict.fromkeys(LS_COLUMNS, "")
    row.update(folder=str(sweep.relative_to(folder)), kind="sweep")
    try:
        table, info = load_sweep(sweep)
    except (GradtraceError, OSError):
        return {**row, "status": "unreadable"}
    rates = sorted({float(v) for v in info.get("swept", {}).get("lr", [])})
    lr: Any = rates[0] if len(rates) == 1 else ""
    if len(rates) > 1:
        lr = f"{rates[0]:g}..{rates[-1]:g}"
    n = len(table)
    bad = int(table["diverged"].sum()) if "diverged" in table else 0
    # the best configuration's, as gradtrace show ranks it (not the lowest final
    # loss, which a rate that jumps about may reach by luck)
    best = float(Sweep(table, pd.DataFrame(), info).best["loss"])
    status = "completed"  # a sweep is written whole
    if bad:
        status = "all_diverged" if bad == n else f"{bad}_of_{n}_diverged"
    row.update(
        created=made_at(sweep),
        model=info.get("model", ""),
        loss=info.get("loss", ""),
        optimizer=info.get("optimizer", ""),
        lr=lr,
        steps=_steps_range(info),
        status=status,
        final_loss=best if bad < n else "",
    )
    return row


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (default: runs/<date-time>-<model>).",
)
@force_option("run")
@DATA_AGAIN
@click.option(
    "--epochs",
    type=WHOLE,
    default=None,
    help="Run it for this many epochs instead: more to train on from where it "
    "ended, its optimizer's state carried through (as a second fit() in Keras).",
)
@click.option(
    "--steps",
    type=WHOLE,
    default=None,
    help="Run it for this many optimizer steps instead.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help='Print the summary and the comparison only (no "training N steps" line '
    "on a log).",
)
def rerun(
    run: Path,
    out: Path | None,
    force: bool,
    data: Path | None,
    epochs: int | None,
    steps: int | None,
    quiet: bool,
) -> None:
    """Repeat a run from its run.json and check the new trace equals the old one.

    With --epochs or --steps, the same run for another length: the steps both
    runs take must be identical (the same batches, rates and optimizer state), so
    a longer one is the old run carried on, as if it had been given that length
    from the start. The loss over all the data keeps the run's cadence
    (--eval-every).

    The data are read again from where the run read them; a data file that changed
    since (its SHA-256 differs) is refused. A run that read its data from standard
    input or Python, or whose file moved, reruns on --data FILE: the values must be
    those the run trained on (run.json's checksum).

    Exit codes: 0 identical (a run that diverged too, if it diverged again at the
    same step), 1 the traces differ, 2 bad input, 130 interrupted (143 by
    TERM).
    """
    from gradtrace.cli import _report
    from gradtrace.cli.fit import default_out
    from gradtrace.errors import InputError
    from gradtrace.run_config import RunConfig
    from gradtrace.saved_runs import (
        check_validation_file,
        longer,
        rerun_config,
        rerun_rows,
    )
    from gradtrace.store import check_parts, load_info, same_traces

    info = load_info(run)
    python_objects(run, data, rerun=True)  # before its data: no flag gives them
    remedy = "there is nothing to compare a rerun with; fit its configuration anew"
    check_parts(run, info, remedy)
    if data is None:
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
        check_validation_file(info, config)
    resized = None
    if epochs is not None or steps is not None:
        resized = longer(info, config, epochs, steps)
        config = resized.config
    out = out or default_out(info["model"])
    # a long run writes its trace in parts as it goes; the two traces are then
    # compared a row group at a time, neither held whole
    new, late = _report.run_into_with_progress(config, out, force, quiet=quiet)
    if late:
        raise KeyboardInterrupt  # after the new run was saved
    if new.status == "interrupted":  # stopped part way: nothing to compare yet
        _report.print_run(new, out, None, quiet=True)
        click.echo(
            f"interrupted: not compared with {run}, whose {info['steps']} steps a "
            "rerun checks whole (the same rerun again, with --force).",
            err=True,
        )
        raise click.exceptions.Exit(130)
    if resized is not None:
        first, then = (run, out) if resized.prefix_of == "old" else (out, run)
        compared = resized.rows
        same = same_traces(
            first,
            then,
            prefix=compared is not None,
            rows=compared,
            then_step=resized.then_step,
        )
    else:
        compared = rerun_rows(info)
        same = same_traces(run, out, prefix=compared is not None, rows=compared)
    # a run that diverged reran as it should if it diverged again, identically:
    # no error, the check is what a rerun reports
    _report.print_run(new, out, None, quiet=True, error=not same)
    if same and resized is not None and compared is not None:
        if resized.prefix_of == "old":
            said = f"{run} ran {info['steps']} steps; the new run goes on"
            said += f" to {new.steps}"
        else:
            said = f"the new run stops at step {new.steps} of {run}'s {info['steps']}"
        held = bool(info["data"].get("validation"))
        step = (
            f", and step {compared}'s but for its loss over all the data"
            f"{' and the validation data' * held} (a run's last row takes "
            f"{'those' if held else 'that'} on its own)"
        )
        click.echo(
            f"{said}: their first {compared} rows are identical"
            f"{step * resized.then_step}."
        )
    elif same and compared is not None and info["steps"] < new.steps:
        click.echo(
            f"{run} stopped after step {info['steps']}: its first {compared} rows "
            f"are the new run's first {compared} of {new.steps + 1}, identical."
        )
    elif same:
        both = ""
        if new.diverged:
            verb = new.ending(str(out), hint=False).split()[0]  # diverged, stopped
            both = f" (both {verb} at step {new.diverged_step})"
        click.echo(f"identical to {run}: {new.steps + 1} rows{both}.")
    else:
        click.echo(f"error: the new trace differs from {run}.", err=True)
        raise click.exceptions.Exit(1)


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
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
    if trace.diverged or (trace.status == "completed" and trace.loss_rose):
        raise click.exceptions.Exit(1)  # as fit: a loss that rose failed
    if trace.status == "interrupted":
        raise click.exceptions.Exit(130)


def _pictures(run: Path) -> list[str]:
    """The pictures ``gradtrace plot`` drew into the run folder ``run``."""
    from gradtrace.plot import RUN_FIGURES

    return [name for name in RUN_FIGURES if (run / name).is_file()]


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@click.argument("pictures", nargs=-1, metavar="[PICTURE]...")
@click.option(
    "--params",
    "params",
    default=None,
    metavar="A,B",
    help="The two parameters of the loss landscape (default: the first "
    "two); the others are held at their optimum where it is known, else at their "
    "final values.",
)
@out_option("Folder to draw into (default: RUN's own); made if missing.")
@dpi_option("the pictures (825 x 495 pixels for fit.png at 110)")
@DATA_AGAIN
@FORCE_FILES
def plot(
    run: Path,
    pictures: tuple[str, ...],
    params: str | None,
    out: Path | None,
    dpi: int,
    data: Path | None,
    force: bool,
) -> None:
    """Draw RUN's pictures into its folder (or --out): fit.png (the fit over the
    data), loss.png (per step and per epoch), params.png (each parameter per step
    against the optimum and the truth), landscape.png (loss contours with the path,
    a dot per step; over a random 100000 rows of larger data), mse_loglik.png
    (MSE and log-likelihood over the location) and residuals.png (a regression's
    residuals against its prediction, their mean and spread by prediction). A
    scatter of the data shows a random 20000 of its rows at most. Pictures in RUN
    are drawn anew; those in an --out folder are replaced with --force only.

    Name PICTUREs to draw only those (gradtrace plot RUN fit loss); none: every
    one that applies to the run."""
    from gradtrace import plot as plots
    from gradtrace.errors import InputError

    only = plots.picture_files(pictures)
    pair = None
    if params is not None:
        names = [p.strip() for p in params.split(",") if p.strip()]
        if len(names) != 2 or names[0] == names[1]:
            raise InputError(
                f"--params takes two of the run's parameters, comma-separated "
                f"(such as --params w,b, or w[0],b for a vector), got {params!r}"
                + (": the same one twice." if len(set(names)) == 1 else ".")
            )
        pair = (names[0], names[1])
    if out is not None and _same(out, run):
        out = None  # RUN's own folder: its pictures are drawn anew
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"{str(out)!r} is a file: give --out a folder.")
        check_folder_of(out, "--out", made=True)
        asked = only or list(plots.RUN_FIGURES)
        there = [out / name for name in asked if (out / name).exists()]
        if there and not force:
            raise already_exists(there[0], "--out")
    trace = load_run(run, data, thin=True)  # a long run: every k-th step, as kept
    folder = run if out is None else out
    # every picture drawn before a folder is made or a file written: one that
    # cannot be (a parameter the run has not, data it cannot read) leaves none
    figures = plots.draw_run(trace, pair, only)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(
                f"cannot make {str(out)!r} ({err.strerror or err}): choose another "
                "--out."
            ) from None
    for path in plots.save_all(figures, folder, dpi=dpi):
        click.echo(f"wrote {path}")


@click.command(context_settings={"max_content_width": 100})
@click.argument("runs", nargs=-1, required=True, type=RUN_FOLDER)
@out_option("The picture: a .png file.", required=True)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="TEXT",
    help="A run's name in the legend, once per run in RUNS' order (default: its "
    "optimizer and rate, and whatever else differs between the runs: batch size, "
    "momentum, schedule, start).",
)
@dpi_option("the picture")
@FORCE_FILES
def compare(
    runs: tuple[Path, ...], out: Path, labels: tuple[str, ...], dpi: int, force: bool
) -> None:
    """Draw two runs or more side by side into one picture: each one's loss over
    all the data after each step, over epochs (its gap to the optimum's loss, on a
    log scale, where they fitted one model to the same data), and, for such runs,
    their paths over one loss landscape of the first two parameters, each in its
    colour. SGD against momentum, RMSprop and Adam:

    \b
      for o in sgd momentum rmsprop adam; do
        gradtrace fit data.csv --optimizer $o --lr 0.02 --batch-size 20 \\
          --epochs 10 --out runs/$o -q
      done
      gradtrace compare runs/sgd runs/momentum runs/rmsprop runs/adam -o opt.png
    """
    from gradtrace import plot as plots
    from gradtrace.compare_plots import compare_runs
    from gradtrace.errors import InputError

    if out.suffix.lower() != ".png":
        raise InputError(
            f"-o {str(out)!r}: the picture is a PNG; end the name in .png."
        )
    if len(runs) < 2:
        raise InputError(
            "compare takes two runs or more: give their folders, such as "
            "gradtrace compare runs/sgd runs/adam -o both.png."
        )
    if labels and len(labels) != len(runs):
        raise InputError(
            f"--label names each run: give it {len(runs)} times, once per run "
            f"(got {len(labels)})."
        )
    seen = [Path(run).resolve() for run in runs]
    twice = next((run for i, run in enumerate(runs) if seen[i] in seen[:i]), None)
    if twice is not None:
        raise InputError(
            f"run {str(twice)!r} is given twice: give each run once (its curve "
            "would hide under itself)."
        )
    check_out_file(out, force)
    traces = [load_run(run, thin=True, rebuilt=False) for run in runs]
    try:
        fig = compare_runs(traces, list(labels) if labels else None)
    except InputError:
        raise
    except ValueError as err:
        raise InputError(f"{err}.") from None
    click.echo(f"wrote {plots.save(fig, out, dpi=dpi)}")


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@out_option(
    "The animation: a .gif, or an .mp4 where ffmpeg is installed (default: "
    "RUN/fit.gif)."
)
@click.option(
    "--every",
    type=WHOLE,
    default=None,
    help="Draw every k-th step (default: about 120 frames).",
)
@click.option(
    "--fps",
    type=WHOLE,
    default=None,
    help="Frames per second (default: 10, fewer for a short run, so that it lasts "
    "4 seconds at least). The last frame stays 2 seconds longer.",
)
@dpi_option("the frames (770 x 484 pixels at 110)")
@DATA_AGAIN
@FORCE_FILES
def animate(
    run: Path,
    out: Path | None,
    every: int | None,
    fps: int | None,
    dpi: int,
    data: Path | None,
    force: bool,
) -> None:
    """Animate RUN: the fit moving over the data, one frame per step (or every k-th),
    the step's batch highlighted, with step, epoch, batch and loss in the title.
    RUN/fit.gif is written anew; another -o file that exists is replaced with
    --force only."""
    from gradtrace.animate import animate as draw
    from gradtrace.errors import InputError

    if fps is not None and fps < 1:
        raise InputError(f"--fps must be at least 1, got {fps}.")
    if out is not None and not _same(out, run / "fit.gif"):
        check_out_file(out, force)
    # by default from a long run's kept steps; --every may ask for any step
    trace = load_run(run, data, thin=every is None)
    path = draw(trace, out or run / "fit.gif", every=every, fps=fps, dpi=dpi)
    click.echo(f"wrote {path}")


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@out_option("The HTML file (default: RUN/report.html).")
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
    # a long run's every kept-th step: the page draws at most MAX_FRAMES of them
    path = write(load_run(run, data, thin=True), out or run / "report.html")
    click.echo(f"wrote {path}")


def _same(a: Path, b: Path) -> bool:
    """Whether the paths ``a`` and ``b`` name the same place."""
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
