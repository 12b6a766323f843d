"""``gradtrace explain`` and ``gradtrace diagnose``: a step's arithmetic, and what the
curvature says about a learning rate before training."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import click

from gradtrace.cli._options import DATA_AGAIN, RUN_FOLDER, WHOLE, load_run, sectioned
from gradtrace.cli.fit import FIT_SECTIONS, chunk_rows_option, run_options


class _StepFromTheEnd(click.Command):
    """``explain RUN -1``: a negative number is a step counted from the end (click
    would take it for an unknown option); other options are parsed as usual."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given, negative = [], None
        for i, a in enumerate(args):
            value_of = i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]
            if re.fullmatch(r"-\d+(\.0*)?", a) and not value_of:
                negative = a
            else:
                given.append(a)
        if negative is not None:
            if any(a == "--step" or a.startswith("--step=") for a in given):
                raise click.UsageError(
                    f"two steps given ({negative} and --step): give one", ctx
                )
            given.append(f"--step={negative}")
        return super().parse_args(ctx, given)


#: The widest line of explain's sentences (its tables are as wide as they need).
PROSE_WIDTH = 100


@click.command(cls=_StepFromTheEnd, context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@click.argument("step_given", metavar="[STEP]", type=WHOLE, required=False)
@click.option(
    "--step",
    "step",
    type=WHOLE,
    help="The step to explain (1 is the first update, -1 the last); or give it "
    "after RUN.",
)
@click.option(
    "--rows",
    "max_rows",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Show the first N of the batch's rows (0: all of them).",
)
@DATA_AGAIN
def explain(
    run: Path,
    step_given: int | None,
    step: int | None,
    max_rows: int,
    data: Path | None,
) -> None:
    """Show the arithmetic of one step of RUN: the batch's rows, predictions,
    residuals (y - prediction), each row's loss and gradient and their mean, the
    optimizer's state before and after, the update and the new parameters, and the
    loss as Keras logs it next to the loss over all the data."""
    if step is None and step_given is None:
        raise click.UsageError("which step? give it: gradtrace explain RUN --step N")
    if step is not None and step_given is not None and step != step_given:
        raise click.UsageError(
            f"two steps given ({step_given} and --step {step}): give one"
        )
    step = step if step is not None else step_given
    assert step is not None
    from rich.table import Table

    from gradtrace.cli._report import _console, print_whole
    from gradtrace.explain import narration, step_number

    # a long run's kept rows: the step's own are read from its parts
    trace = load_run(run, data, thin=True)
    step = step_number(step, trace.steps)
    console = _console()
    # sentences wrapped at words to the terminal, and to PROSE_WIDTH at most (in
    # a file too): the tables keep their own width
    prose = min(console.width, PROSE_WIDTH)
    for part in narration(trace, step, str(run), max_rows or None):
        if isinstance(part, str):
            console.print(_wrapped(part, prose))
        else:
            print_whole(console, _frame_table(part, Table))


def _wrapped(text: str, width: int) -> str:
    """``text``'s lines broken at spaces to ``width`` columns, an indented line's
    continuations indented alike."""
    import textwrap

    out = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]
        out.append(
            textwrap.fill(
                line,
                width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            if line.strip()
            else line
        )
    return "\n".join(out)


def _frame_table(frame: Any, table_cls: Any) -> Any:
    from gradtrace.cli._report import fmt

    table = table_cls(box=None, header_style="bold", pad_edge=False)
    for c in frame.columns:
        table.add_column(str(c), justify="right")
    for _, row in frame.iterrows():
        table.add_row(
            *[
                v
                if isinstance(v, str)
                else ("" if isinstance(v, float) and math.isnan(v) else fmt(float(v)))
                for v in row
            ]
        )
    return table


@click.command(cls=sectioned(FIT_SECTIONS), context_settings={"max_content_width": 100})
@run_options
@click.option(
    "--stream",
    is_flag=True,
    help="Read a Parquet DATA file a chunk at a time instead of whole (data larger "
    "than memory): each sum is a pass over the file.",
)
@chunk_rows_option
def diagnose(**options: Any) -> None:
    """Before training: the curvature of the loss at the start and at the optimum,
    the largest stable learning rate (2/L for gradient descent), the condition
    number, the predicted steps to come within 1e-4 of the optimum, and a verdict on
    the chosen rate. Takes the same DATA and options as fit (--stream too); those
    that change nothing here (--epochs, --steps, --seed, --eval-every, --metric,
    --exact, --level, --intervals) are taken and not listed."""
    from gradtrace.cli._config import read_config
    from gradtrace.cli._report import _console
    from gradtrace.cli.fit import _merge
    from gradtrace.diagnosing import diagnosis_of
    from gradtrace.errors import InputError
    from gradtrace.run_config import RunConfig

    file_options = read_config(options["config_file"]) if options["config_file"] else {}
    o = _merge(options, file_options)
    if o["data"] is None:
        raise InputError("no data: give DATA (a file or a built-in data set).")
    # a fit's keys that diagnose has no option for: said, not dropped in silence
    # (a validation split's rows held out by fit, all diagnosed here)
    unused = [k.replace("_", "-") for k in file_options if k not in options]
    if unused:
        click.echo(
            f"note: {Path(options['config_file']).name}'s "
            f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} fit's "
            "alone, not diagnose's: it diagnoses all the data's rows.",
            err=True,
        )
    keys = set(RunConfig.__dataclass_fields__)
    config = RunConfig(**{k: v for k, v in o.items() if k in keys})
    if config.chunk_rows is not None and not config.stream:
        raise InputError(
            "--chunk-rows goes with --stream: add --stream (it reads a Parquet file "
            "a chunk at a time), or drop it."
        )
    found = diagnosis_of(config, config.data or "")
    for note in found.info["notices"]:
        click.echo(f"note: {note}.", err=True)
    console = _console()
    for line in found.lines():
        console.print(line)


#: fit's options that change nothing diagnose says (the diagnosis is of the
#: optimum, the curvature and the rate, not of a run's length, order or records):
#: taken, so that a fit command line runs as diagnose, but not listed in --help
NOT_DIAGNOSED = (
    "epochs",
    "steps",
    "seed",
    "eval_every",
    "exact",
    "metrics",
    "level",
    "intervals",
)
for _param in diagnose.params:
    if isinstance(_param, click.Option) and _param.name in NOT_DIAGNOSED:
        _param.hidden = True
