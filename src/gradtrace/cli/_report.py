"""Terminal output for runs: a progress bar while training, a table of steps after."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shlex
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from rich.console import Console as _RichConsole
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gradtrace.advice import edge_of
from gradtrace.estimates import EXACT_FIT, away, optimum_size
from gradtrace.tables import param_labels
from gradtrace.text import (
    duration,
    fmt,
    full_batch,
    loss_rounding,
    model_by_loss,
    resolution,
    unconstrained_names,
)

if TYPE_CHECKING:
    from gradtrace.run_config import RunConfig
    from gradtrace.trace import Trace


def run_into_with_progress(
    config: RunConfig,
    out: Path,
    force: bool,
    started: float | None = None,
    quiet: bool = False,
) -> tuple[Trace, bool]:
    """``gradtrace.api.run_into`` (a run into its folder) with a progress bar: the
    trace, and whether a Ctrl-C came while it was saved (``quiet`` as in
    ``with_progress``)."""
    from gradtrace.api import run_into

    late: list[bool] = []

    def work(progress: Callable[[int, int], None]) -> Trace:
        trace, held = run_into(config, out, force, progress=progress, started=started)
        late.append(held)
        return trace

    return with_progress(work, quiet), late[0]


class Console(_RichConsole):
    """rich's console, except that a reader who stops reading (``| head``) ends
    nothing: what is left to print goes nowhere, and the command finishes (its run
    saved) with its own exit code, where rich would exit with 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)


def silence(stream: object) -> None:
    """Send what is still written to ``stream`` (standard output, say) nowhere."""
    fileno = getattr(stream, "fileno", None)
    try:
        target = fileno() if fileno is not None else None
    except (OSError, ValueError):
        target = None
    if target is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, target)
        os.close(devnull)


def with_progress(
    work: Callable[[Callable[[int, int], None]], Trace], quiet: bool = False
) -> Trace:
    """``work(progress)``, with a progress bar on a terminal while it runs (a
    line on a log, unless ``quiet``), then the run's notices."""
    with progress_bar(
        "training", "step", "preparing", "(Ctrl-C stops and saves)", quiet
    ) as progress:
        trace = work(progress)
    for note in trace.info["notices"]:
        click.echo(f"note: {note}.", err=True)
    return trace


@contextlib.contextmanager
def progress_bar(
    doing: str, unit: str, first: str, aside: str = "", quiet: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` of ``unit``s: a bar on a terminal ("training
    ━━━ 40/100 steps 0:00:02", ``first`` until the first count, the time left),
    and on a log a line as the work starts ("training 100 steps ``aside``...")
    and one every ``LOG_EVERY_S`` seconds after ("training: 40/100 steps (40%),
    0:01:00 so far, about 0:01:30 left"), unless ``quiet``."""
    console = Console(stderr=True)
    logged = not (console.is_terminal or quiet)
    began = time.monotonic()
    last = [began]  # when a line was last written to the log
    with Progress(
        TextColumn(doing),
        BarColumn(),
        TextColumn("{task.fields[done]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(doing, total=None, done=first)

        def progress(done: int, total: int) -> None:
            units = f"{unit}{'s' * (total != 1)}"
            if done == 0 and logged:  # a log: a line as it starts
                said = " ".join(w for w in (doing, str(total), units, aside) if w)
                click.echo(f"{said}...", err=True)
            now = time.monotonic()
            if logged and 0 < done < total and now - last[0] >= LOG_EVERY_S:
                # ... and a sign of life now and then, for a batch job's log
                last[0] = now
                click.echo(
                    f"{doing}: {_so_far(done, total, units, now - began)}", err=True
                )
            counted = f"{done}/{total} {units}"
            bar.update(task, completed=done, total=total, done=counted)

        yield progress


#: Seconds between the progress lines a long run writes to a log (stderr not a
#: terminal, where the bar is not drawn).
LOG_EVERY_S = 30.0


def _so_far(done: int, total: int, units: str, seconds: float) -> str:
    """Progress in words: "40/100 steps (40%), 0:01:00 so far, about 0:01:30
    left" (the time left at the pace so far)."""
    left = seconds * (total - done) / done
    return (
        f"{done}/{total} {units} ({100 * done / total:.0f}%), "
        f"{dt.timedelta(seconds=round(seconds))} so far, about "
        f"{dt.timedelta(seconds=round(left))} left"
    )


def _console() -> Console:
    """Standard output; wide enough for the tables when it is not a terminal."""
    probe = Console()
    # no markup: a schedule's "[torch.linear(...), ...]" or a model's brackets
    # are text, which rich would take for style tags and drop
    return Console(
        highlight=False,
        markup=False,
        soft_wrap=True,
        width=None if probe.is_terminal else 160,
    )


def print_whole(console: _RichConsole, table: Table) -> None:
    """``table`` with every number whole: where it is wider than the terminal,
    at its own width (the terminal wraps its lines), not with its columns
    squeezed and their digits cut to an ellipsis."""
    wide = console.options.update(max_width=1 << 16)
    need = Measurement.get(console, wide, table).maximum
    if need > console.width:
        table.width = need
    console.print(table, crop=False)


def rounded_gap(info: dict[str, Any], final: float) -> float:
    """``final`` less the run's optimum's loss, 0 within rounding: a loss rounds
    at its dtype's epsilon of its size (float32's 1.2e-7, float64's 2.2e-16), and
    a gap below ten of those is zero."""
    gap = final - float(info["optimum_loss"])
    noise = loss_rounding(info, float(info["optimum_loss"]))
    return gap if abs(gap) > noise else 0.0


def at_optimum_since(frame: Any, info: dict[str, Any]) -> int | None:
    """The first step from which every loss over all the data taken is the
    optimum's within rounding (``rounded_gap``); None where the last is not."""
    import numpy as np

    loss = frame["loss"].to_numpy(float)
    taken = np.isfinite(loss)
    steps, loss = frame["step"].to_numpy()[taken], loss[taken]
    if not len(loss):
        return None
    optimum = float(info["optimum_loss"])
    at = np.abs(loss - optimum) <= loss_rounding(info, optimum)
    if not at[-1]:
        return None
    off = np.flatnonzero(~at)
    return int(steps[off[-1] + 1 if len(off) else 0])


def print_estimates(trace: Trace) -> None:
    """The run's estimates (``estimates.estimates``) as a table, under a line
    that says what they are; nothing for a run without standard errors."""
    from gradtrace.estimates import level_of, shown_estimates
    from gradtrace.tables import ranged_parameters
    from gradtrace.text import percent

    shown_with = shown_estimates(trace.info, trace.summary())
    if shown_with is None:
        return
    table, notes = shown_with
    console = _console()
    by = f" ({trace.info['ci_method']})" if trace.info.get("ci_method") else ""
    console.print(
        "estimates (the exact optimum; its test against 0 and "
        f"{percent(level_of(trace.info))} interval{by}; "
        "the run's final values, and how far in standard errors):"
    )
    shown = Table(box=None, header_style="bold", pad_edge=False)
    shown.add_column("parameter", justify="left")
    for c in table.columns:
        shown.add_column(c, justify="right")
    for name, row in table.iterrows():
        shown.add_row(str(name), *row.tolist())
    print_whole(console, shown)
    for said in notes:
        console.print(f"  {said}.")

    ranged = ranged_parameters(trace.info)
    if ranged and any(col in table.columns for col in ("t", "z")):
        console.print(f"  {ranged}")


def steps_table(trace: Trace, every: int | None) -> Table:
    """A table of the initial row, every k-th step and the last."""
    from gradtrace.tables import (
        nice_step,
        param_columns,
        print_rows,
        schedule_columns,
        validation_columns,
    )

    frame = trace.to_pandas()
    params = param_columns(frame)
    table = Table(box=None, header_style="bold", pad_edge=False)
    rate = schedule_columns(frame)
    cols = ["step", "epoch", "batch", *rate, *params]
    cols += ["batch_loss", "running_loss", "loss"]
    if "gap" in frame.columns:
        cols.append("gap")
    # --metric's columns: as Keras logs it over the epoch, and on all the data
    for running in [c for c in frame.columns if c.startswith("running_")]:
        name = running.removeprefix("running_")
        if name != "loss":
            cols += [running] + ([name] if name in frame.columns else [])
    held = validation_columns(frame)  # taken after each epoch
    cols += held
    for c in cols:
        table.add_column(c, justify="right")
    position = {int(step): k for k, step in enumerate(frame["step"])}
    kept = int(trace.info.get("trace", {}).get("kept_every", 1))
    evaluated = int(trace.info["schedule"].get("eval_every") or 1)
    if every is None and held:
        # about 20 rows, at epochs' ends, where the validation data's loss is
        per_epoch = int(trace.info["schedule"]["batches_per_epoch"])
        unit = math.lcm(per_epoch, evaluated, kept)
        every = unit * nice_step(trace.steps / 20 / unit)
    elif every is None and evaluated > 1 and trace.steps >= 10 * evaluated:
        # about 20 rows, at steps whose loss over all the data was taken and
        # that a long run kept
        both = math.lcm(evaluated, kept)
        every = both * nice_step(trace.steps / 20 / both)
    elif every is None and kept > 1:
        # fewer such steps than that (a stream's epoch ends: two rows of a
        # one-epoch run): about 20 kept rows, the loss blank between them
        every = kept * nice_step(trace.steps / 20 / kept)
    if every is not None and every % kept:
        asked, every = every, kept * max(1, round(every / kept))  # the rows kept
        folder = trace.writer.folder if trace.writer is not None else trace.folder
        if folder is not None:
            click.echo(
                f"note: printed steps {every} apart, not {asked}: a run this long "
                f"keeps one step in {kept} in memory; its folder holds them all "
                f"(gradtrace export {shlex.quote(str(folder))} --csv).",
                err=True,
            )
    for i in print_rows(trace.steps, every):
        if i not in position:
            continue
        row = frame.iloc[position[i]]
        table.add_row(
            *[
                str(int(row[c]))
                if c in ("step", "epoch", "batch")
                else fmt(_gap(trace.info, row) if c == "gap" else float(row[c]))
                for c in cols
            ]
        )
    return table


def _gap(info: dict[str, Any], row: Any) -> float:
    """A row's loss less the optimum's, 0 within rounding (``rounded_gap``): a
    float32 loss at the optimum rounds a few ulps below the float64 optimum's."""
    loss = float(row["loss"])
    return rounded_gap(info, loss) if math.isfinite(loss) else float(row["gap"])


def print_run(
    trace: Trace, out: Path, every: int | None, quiet: bool, error: bool = True
) -> None:
    """The table of steps (unless quiet), then the run's summary; a divergence's
    line of what to try as an error, unless not ``error`` (a rerun's, whose check
    is what it reports)."""
    console = _console()
    if not quiet:
        print_whole(console, steps_table(trace, every))
        console.print()
    print_summary(trace, out, hint=not error)
    if trace.diverged and error:  # what to try, once: as the error
        click.echo(f"error: {trace.ending(str(out))}", err=True)


def print_summary(
    trace: Trace, folder: Path, all_findings: bool = False, hint: bool = True
) -> None:
    """What ran, where from, the parameters (initial, final, truth), how it ended
    (``hint``: with what to try after a divergence)."""
    from gradtrace.explain import loss_taken

    console = _console()
    info = trace.info
    opt = info["optimizer"]
    hyper = ", ".join(f"{k}={v}" for k, v in opt.items() if k != "name")
    data, sch = info["data"], info["schedule"]
    from gradtrace.tables import slope_columns

    xs = slope_columns(info)
    cols = ", ".join(xs) + " -> " + data["y"] if xs else data["y"]
    if len(xs) < len(data["x"] or []):  # the last, added to the predictor as it is
        cols += f", offset {data['x'][-1]}"
    console.print(f"run {folder}:")
    held = data.get("validation")
    console.print(
        f"  {model_by_loss(info)} ({info['reduction']}) on "
        f"{data['source']} ({data['n_rows']} row{'s' * (data['n_rows'] != 1)}; "
        f"{cols})" + (f"; validation: {held['source']}" if held else "")
    )
    options = info.get("model_options") or {}
    if "expr" in options:
        console.print(f"  model: y = {options['expr']}")
    if "file" in options:
        console.print(f"  model: {options['file']}")
    if (info.get("loss_options") or {}).get("expr"):
        console.print(f"  loss per row: {info['loss_options']['expr']}")
    console.print(f"  {opt['name']}({hyper})")
    schedule = info.get("lr_schedule")
    if schedule:
        from gradtrace.core.schedules import LrSchedule
        from gradtrace.tables import rate_span, schedule_columns

        params = {k: v for k, v in schedule.items() if k != "name"}
        rule = LrSchedule.create(schedule["name"], **params)
        frame = trace.to_pandas()
        span = rate_span(frame, cuts=rule.adaptive)
        console.print(f"  learning rate {rule}{span}")

        # OneCycleLR's or CyclicLR's momentum, in place of the optimizer's
        for cycled in schedule_columns(frame):
            if cycled != "lr":
                cycle = frame[cycled].dropna()
                low = int(frame["step"][cycle.index].to_numpy()[cycle.argmin()])
                console.print(
                    f"  {cycled} cycled by it (in place of the optimizer's): "
                    f"{cycle.iloc[0]:.6g} at step 1, {cycle.min():.6g} at its "
                    f"lowest (step {low}), {cycle.iloc[-1]:.6g} at the last"
                )
    clip = info.get("clip")
    if clip:
        shown = ", ".join(f"{k}={v}" for k, v in clip.items() if k != "name")
        console.print(
            f"  gradients clipped by {clip['name']}({shown}) before each update"
        )
    if full_batch(info):
        batches = "full batch (every step sees all rows)"
    else:
        order = f"shuffled (seed {sch['seed']})" if sch["shuffle"] else "in order"
        if sch["shuffle"] == "torch":
            order = f"shuffled as PyTorch's DataLoader (seed {sch['seed']})"
        if sch["shuffle"] == "keras":
            order = f"shuffled as Keras's fit (seed {sch['seed']}; every epoch alike)"
        last = data["n_rows"] - (sch["batches_per_epoch"] - 1) * sch["batch_size"]
        stream = sch.get("stream")
        windows = bool(
            stream
            and sch["shuffle"]
            and stream["window_chunks"] * stream["chunk_rows"] < data["n_rows"]
        )
        # shuffled in windows, the short batch ends the window that holds the
        # file's short last chunk, wherever that window falls in the epoch
        which = "one" if windows else "the last"
        partial = f" ({which} of {last})" if last != sch["batch_size"] else ""
        if sch.get("drop_last"):  # whole batches only: the rest sit the epoch out
            left = data["n_rows"] - sch["batches_per_epoch"] * sch["batch_size"]
            partial = (
                f" (the {left} rows left over sit each epoch out, --drop-last)"
                if left
                else ""
            )
        batches = (
            f"batches of {sch['batch_size']}{partial}, {sch['batches_per_epoch']} "
            f"per epoch, {order}"
        )
    console.print(
        f"  {batches}; {info['dtype']} parameters, {info['compute_dtype']} loss"
    )
    space = unconstrained_names(info)
    if space:
        console.print(
            f"  trained as {', '.join(space)} (--param-space unconstrained): the "
            "grad_ columns and the stable limit are in those coordinates"
        )
    if sch.get("stream"):
        chunks = sch["stream"]
        mixed = ""
        if sch["shuffle"] and sch["batch_size"] < data["n_rows"]:
            window = chunks["window_chunks"] * chunks["chunk_rows"]
            mixed = (
                ", every row shuffled (one window)"
                if window >= data["n_rows"]
                else f", rows shuffled within windows of {window}"
            )
        every = sch["eval_every"]
        when = "after every step" if every == 1 else f"every {every} steps"
        # a chunk of whole batches may hold more rows than the file has
        read = (
            f"read {chunks['chunk_rows']} rows at a time"
            if chunks["chunk_rows"] < data["n_rows"]
            else "read the file whole, as one chunk"
        )
        console.print(f"  streamed: {read}{mixed}; loss over all the data {when}")
    table = Table(box=None, header_style="bold", pad_edge=False)
    truth = trace.truth
    optimum, stderr = info.get("optimum"), info.get("stderr") or {}
    cols = ["parameter", "initial", "final"]
    if optimum is not None:
        from gradtrace.estimates import robust_kind

        kind = robust_kind(info)
        cols += ["optimum", f"std. error ({kind.upper()})" if kind else "std. error"]
        cols.append(OFF)
    if truth:
        cols.append("truth")
    rows: list[list[str]] = []
    # the optimum's own size: a standard error below EXACT_FIT of it is rounding's
    # (data the model fits exactly), no unit to count a distance in
    size = optimum_size(optimum or {})
    for name, final in trace.params.items():
        at_optimum: list[Any] = []
        if optimum is not None:
            best, error = optimum[name], stderr.get(name)
            off = _off(final, best, error, resolution(info), EXACT_FIT * size)
            at_optimum = [best, error, off]
        values = [
            info["initial"][name],
            final,
            *at_optimum,
            *([truth.get(name)] if truth else []),
        ]
        edge = (info.get("optimum_edge") or {}).get(name)
        for label, parts in _elements(name, values):
            cells = [fmt_any(v) for v in parts]
            if optimum is not None:
                cells[3] = fmt_any(parts[3], 2)  # standard errors
                cells[4] = away(math.nan if parts[4] is None else float(parts[4]))
                if edge is not None:  # where the solver stopped, 1.5e-11, is 0's
                    cells[2] = f"{edge_of(float(parts[2]), edge)} (edge)"
            rows.append([label, *cells])
    # the x column each slope multiplies, as summary() and the pictures name it
    named = param_labels(trace, [r[0] for r in rows])
    of = [v[2:-1] if v != k else "" for k, v in named.items()]
    if any(of):
        cols.insert(1, "x")
        rows = [[r[0], x, *r[1:]] for r, x in zip(rows, of, strict=True)]
    for c in cols:
        table.add_column(c, justify="left" if c in ("parameter", "x") else "right")
    for r in rows:
        table.add_row(*r)
    for name, value in info.get("fixed", {}).items():
        row = [name, *[""] * any(of), "fixed", fmt_any(value)]
        if optimum is not None:
            row += ["", "", ""]
        if truth:
            row.append(fmt_any(truth[name]) if name in truth else "")
        table.add_row(*row)
    print_whole(console, table)
    first = float(trace.to_pandas()["loss"].iloc[0])
    last = trace.final_loss
    line = f"  loss {fmt(first)} -> {fmt(last) if math.isfinite(last) else last}"
    earlier = trace.last_taken()
    if earlier is not None and not loss_taken(info, trace.steps):
        step, last = earlier
        line = (
            f"  loss {fmt(first)} -> {fmt(last)} after step {step} (not evaluated "
            f"after the last step, {trace.steps})"
        )
    if trace.restored is not None:
        line += f" (epoch {trace.restored[0]}'s, restored)"
    bounded = "optimum_loss" in info and math.isfinite(info["optimum_loss"])
    if bounded:
        line += (
            f"; optimum's loss {fmt(info['optimum_loss'])} by {info['optimum_method']}"
        )
    elif "optimum_loss" in info:
        # one value repeated (a normal's scale to 0): the loss falls without end
        line += "; no finite optimum (the loss falls without bound), so no gap"
    if bounded and not math.isnan(last):
        gap = rounded_gap(info, last)
        line += f"; gap {f'{gap:.3g}' if gap else '0 (at float rounding)'}"
        since = None if gap else at_optimum_since(trace.to_pandas(), info)
        if since is not None and since <= trace.steps // 2:
            # most of the run changed nothing: say where it could have stopped
            held = info.get("trace") or {}  # a long run keeps every k-th step
            kept = ""
            if held and since > int(held.get("kept_head", 0)):
                kept = f" (or up to {int(held['kept_every']) - 1} steps before)"
            line += f" from step {since}{kept} on, of {trace.steps}"
    console.print(line)
    frame_end = trace.to_pandas().iloc[-1]
    logged = frame_end["running_loss"]
    if trace.steps and math.isfinite(logged) and math.isfinite(last):
        # what the user's own Keras loop printed: another number, said why; a
        # run stopped inside an epoch has its batches so far
        whole = int(frame_end["batch"]) == int(sch["batches_per_epoch"])
        which = (
            "the last epoch" if whole else "the epoch so far (the run ended inside it)"
        )
        taken = math.isfinite(trace.final_loss)
        after = "after the last step" if taken else "where it was last taken"
        if trace.restored is not None:  # the loss above is the restored epoch's
            after = f"at epoch {trace.restored[0]}'s end, whose weights were restored"
        # a PyTorch preset's user sums loss.item() in a loop of their own
        who = (
            "A PyTorch loop's epoch mean, sum(loss.item() x len(xb)) / rows (what "
            "Keras logs), is"
            if str(info["optimizer"]["name"]).startswith("torch.")
            else "Keras logs"
        )
        console.print(
            f"  {who} {fmt(float(logged))} for {which}: its batches' losses, "
            f"each before its update, averaged (the loss above is over all the "
            f"data {after})"
        )
    for warning in trace.convergence_warnings():
        console.print(f"  {warning}")
    frame = trace.to_pandas()
    final_row = trace.final_row()  # the last, or the one early stopping restored
    over = "all the training data" if data.get("validation") else "all the data"
    for metric in info.get("metrics", []):
        console.print(
            f"  {metric}: {fmt(float(final_row[metric]))} on {over}; "
            f"{fmt(float(final_row[f'running_{metric}']))} as Keras logs it "
            "(running over the epoch)"
        )
    _validation_line(console, trace, int(sch["batches_per_epoch"]))
    units = info.get("original_units")
    if units:
        shown_units = ", ".join(
            f"{k} = {fmt_any(v)}" for k, v in units["final"].items() if k in "wb"
        )
        console.print(
            "  x was standardised; the final parameters in x's own units: "
            + shown_units
        )
        if units.get("optimum"):
            errors = units.get("stderr") or {}
            shown_optimum = ", ".join(
                f"{k} = {fmt_any(v)}"
                + (f" (standard error {fmt_any(errors[k])})" if k in errors else "")
                for k, v in units["optimum"].items()
                if k in "wb"
            )
            console.print(f"  the optimum in x's own units: {shown_optimum}")
        own_truth = trace.truth_in_x_units
        if truth and own_truth != truth:
            shown_truth = ", ".join(
                f"{k} = {fmt_any(v)}" for k, v in own_truth.items() if k in "wb"
            )
            console.print(
                f"  the truth in x's own units: {shown_truth} (the table's truth "
                "per standard deviation of x, as the fit is)"
            )
    lik = info.get("likelihood")
    if lik:
        k = lik["n_params"]
        for where in ("final", "optimum"):
            at = lik.get(where)
            if not at or not np.isfinite(at["loglik"]):
                continue
            console.print(
                f"  at the {where} parameters: log-likelihood {fmt(at['loglik'])}, "
                f"AIC {fmt(at['aic'])}, BIC {fmt(at['bic'])} ({k} "
                f"parameter{'s' if k != 1 else ''}, {lik['n_rows']} rows)"
            )
    if info["model"] in ("line", "linear") and info["loss"] == "nll" and optimum:
        console.print(
            "  Maximising the Gaussian likelihood gives the least-squares w and b "
            "(the MSE / likelihood connection): the optimum's w, b are the least-"
            "squares solution, and scale = sqrt(SSR / n)."
        )
    findings = trace.findings()
    # a run's summary keeps to warnings; show and diagnose print everything
    # (but what the warnings above said already)
    said = set(trace.convergence_warnings())
    for finding in findings if all_findings else trace.diagnosis_warnings():
        if finding not in said:
            console.print(f"  {finding}")
    if all_findings:  # fit printed them as it ran, on standard error
        for notice in info.get("notices", []):
            console.print(f"  note: {notice}.")
    t = info["timings"]
    rest = t["total_s"] - t["compile_s"] - t["train_s"]
    # a long run's other work (its trace's rows fetched and written in parts) can
    # outlast its training: said, where a reader would wonder where it went
    exact = ", the exact answer" if info.get("optimum") else ""
    other = (
        f" ({rest:.2f} s of it reading the data{exact} and writing the trace)"
        if rest > max(1.0, 0.3 * t["total_s"])
        else ""
    )
    console.print(
        f"{trace.ending(str(folder), hint)} Compile {t['compile_s']:.2f} s, train "
        f"{duration(t['train_s'])}, total {t['total_s']:.2f} s{other}"
        + (f" over {t['sessions']} sessions." if t.get("sessions", 1) > 1 else ".")
    )


#: The summary's column of each final value's distance from its optimum, in the
#: optimum's standard errors (``show --estimates``: final - estimate).
OFF = "final - optimum (s.e.)"


def _off(final: Any, best: Any, error: Any, rounding: float, exact: float = 0.0) -> Any:
    """(final - best) / error, element by element, as ``final`` is shaped (a float
    or a list); 0 where the two agree to the dtype's ``rounding`` (data the
    model fits exactly: an error of 0 but for rounding, as ``advice.unconverged``
    counts it); NaN without an error, or with one of ``exact`` or less (rounding's,
    where the data fit exactly: +8.6e13 standard errors was shown); None where
    the shapes differ."""
    if error is None or best is None:
        return None
    f, b, s = (np.asarray(v, np.float64) for v in (final, best, error))
    if not f.shape == b.shape == s.shape:
        return None
    with np.errstate(all="ignore"):
        z = np.where(s > exact, (f - b) / s, np.nan)
        close = np.abs(f - b) <= rounding * np.maximum(np.abs(f), np.abs(b))
    return np.where(close & np.isfinite(z), 0.0, z).tolist()


def _elements(name: str, values: list[Any]) -> list[tuple[str, list[Any]]]:
    """A parameter's rows of the summary: one per element of a vector (named as
    the trace's columns, ``w[0]``, with a scalar among ``values`` repeated), else
    one."""
    sizes = {len(v) for v in values if isinstance(v, list)}
    flat = all(
        not isinstance(e, list) for v in values if isinstance(v, list) for e in v
    )
    if len(sizes) != 1 or not flat:
        return [(name, values)]
    return [
        (f"{name}[{i}]", [v[i] if isinstance(v, list) else v for v in values])
        for i in range(sizes.pop())
    ]


def fmt_any(value: object, digits: int = 7) -> str:
    """A scalar or a vector, ``digits`` significant digits; empty for None."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "[" + ", ".join(fmt_any(v, digits) for v in value) + "]"
    number = float(value)  # type: ignore[arg-type]
    return "" if math.isnan(number) else f"{number:.{digits}g}"


def _validation_line(console: Any, trace: Trace, per_epoch: int) -> None:
    """With validation data: the loss over them after the last epoch (or with
    the weights early stopping restored), the lowest and after which epoch, and
    each metric's there."""
    frame = trace.to_pandas()
    from gradtrace.tables import validation_summary

    restored = None if trace.restored is None else trace.restored[1]
    held = validation_summary(frame, per_epoch, restored)
    if held is None:
        return
    line = f"  val_loss {fmt(held['val_loss'])} after epoch {held['epoch']}"
    if held.get("restored"):
        last = held["last"]
        line = (
            f"  val_loss {fmt(held['val_loss'])} with epoch {held['epoch']}'s "
            f"weights (restored; {fmt(last['val_loss'])} after epoch "
            f"{last['epoch']})"
        )
    elif not held["whole"]:
        line = (
            f"  val_loss {fmt(held['val_loss'])} after step {held['step']} (the "
            f"run ended inside epoch {held['epoch']})"
        )
    if "best_epoch" in held and held["best_epoch"] != held["epoch"]:
        line += f"; lowest {fmt(held['best'])} after epoch {held['best_epoch']}"
    metrics = [f"{k} {fmt(v)}" for k, v in held.items() if k.startswith("val_")]
    console.print("; ".join([line, *metrics[1:]]))
