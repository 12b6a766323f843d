"""Terminal output for runs: a progress bar while training, a table of steps after."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from gradtrace.api import RunConfig
    from gradtrace.trace import Trace


def run_with_progress(config: RunConfig) -> Trace:
    """Run ``config`` (data from its path or built-in name), with a progress bar on a
    terminal when the run is long enough to be cut into chunks."""
    from gradtrace.api import _frame, run

    frame, source = _frame(config.data or "")
    console = Console(stderr=True)
    with Progress(
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("fit", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        trace = run(config, frame, source, progress=progress)
    for note in trace.info["notices"]:
        click.echo(f"note: {note}.", err=True)
    return trace


def fmt(value: float) -> str:
    """Seven significant digits, as float32 carries them."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.7g}"


def steps_table(trace: Trace, every: int | None) -> Table:
    """A table of the initial row, every k-th step and the last."""
    from gradtrace.tables import param_columns, print_rows

    frame = trace.to_pandas()
    params = param_columns(frame)
    table = Table(box=None, header_style="bold", pad_edge=False)
    cols = ["step", "epoch", "batch", *params, "batch_loss", "running_loss", "loss"]
    for c in cols:
        table.add_column(c, justify="right")
    for i in print_rows(trace.steps, every):
        row = frame.iloc[i]
        table.add_row(
            *[
                str(int(row[c]))
                if c in ("step", "epoch", "batch")
                else fmt(float(row[c]))
                for c in cols
            ]
        )
    return table


def print_run(trace: Trace, out: Path, every: int | None, quiet: bool) -> None:
    """The table of steps, then what ran, how it ended and where it was written."""
    console = Console(highlight=False)
    if not quiet:
        console.print(steps_table(trace, every))
        console.print()
    info = trace.info
    opt = info["optimizer"]
    hyper = ", ".join(f"{k}={v}" for k, v in opt.items() if k != "name")
    console.print(
        f"{info['model']} by {info['loss']} ({info['reduction']}), "
        f"{opt['name']}({hyper}), batch size {info['schedule']['batch_size']}"
        f" of {info['data']['n_rows']} rows"
    )
    final = ", ".join(f"{k}={fmt_any(v)}" for k, v in trace.params.items())
    console.print(f"final: {final}; loss {fmt(trace.final_loss)}")
    t = info["timings"]
    console.print(
        f"{trace.message} compile {t['compile_s']:.2f} s, train "
        f"{t['train_s'] * 1e3:.1f} ms. Run folder: {out}"
    )
    if trace.diverged:
        click.echo(f"error: {trace.message}", err=True)


def fmt_any(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(fmt(float(v)) for v in value) + "]"
    return fmt(float(value))  # type: ignore[arg-type]
