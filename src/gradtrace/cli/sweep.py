"""``gradtrace sweep``: many configurations in one vectorised run."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from gradtrace.checks import repeated
from gradtrace.cli._options import (
    COMPUTE_DTYPE_OPTION,
    DROP_MISSING_OPTION,
    DTYPE_OPTION,
    FORCE_FILES,
    WHOLE,
    dpi_option,
    force_option,
    sectioned,
)
from gradtrace.cli.fit import FIT_SECTIONS, model_options, shuffle_of
from gradtrace.errors import InputError
from gradtrace.text import duration

#: The most values one range or list of a sweep may give.
MOST_VALUES = 1_000_000


def _at_most(given: str, n: int) -> None:
    if n > MOST_VALUES:
        raise InputError(f"{given} makes {n} values: at most a million; give fewer.")


def parse_values(flag: str, text: str, integer: bool = False) -> list[Any]:
    """``1e-7:1e-3:log20`` (20 log-spaced), ``0:1:5`` (5 evenly spaced), ``0:9``
    (whole numbers 0 to 9), ``a,b,c`` (a list) or one value."""
    text = str(text).strip()
    given = f"{flag} {text}"
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) == 2:
                a, b = int(parts[0]), int(parts[1])
                if b < a:
                    raise InputError(
                        f"{given}: the end is before the start; write {b}:{a}."
                    )
                _at_most(given, b - a + 1)
                values: list[Any] = list(range(a, b + 1))
            elif len(parts) == 3:
                a_f, b_f, spec = float(parts[0]), float(parts[1]), parts[2].strip()
                log = spec.lower().startswith("log")
                n = int(spec[3:] if log else spec)
                if not (math.isfinite(a_f) and math.isfinite(b_f)):
                    raise InputError(f"{given}: its ends must be finite numbers.")
                if n == 1 and a_f != b_f:
                    raise InputError(
                        f"{given}: a count of 1 gives the start alone; give a "
                        f"count of at least 2 ({text.rsplit(':', 1)[0]}:"
                        f"{'log' * log}5), or the one value."
                    )
                if log and not (a_f > 0 and b_f > 0):
                    end = "start" if not a_f > 0 else "end"
                    raise InputError(
                        f"{given}: a log range must {end} above 0 (its values are "
                        "spaced evenly in log10); write, for example, 1e-7:1e-3:log20."
                    )
                if n < 1:
                    least = 1 if a_f == b_f else 2
                    raise InputError(
                        f"{given}: {n} values is none; give a count of at least "
                        f"{least} ({text.rsplit(':', 1)[0]}:{'log' * log}5)."
                    )
                _at_most(given, n)
                values = (
                    list(np.logspace(math.log10(a_f), math.log10(b_f), n))
                    if log
                    else list(np.linspace(a_f, b_f, n))
                )
            else:
                raise ValueError
        else:
            items = [v.strip() for v in text.split(",")]
            if len(items) > 1 and not all(items):  # 0.1,,0.2 ran two in silence
                raise InputError(
                    f"{given}: an empty item in the list; write the values with "
                    "one comma between each, such as 0.1,0.2."
                )
            values = [float(v) for v in items if v]
            if not values:
                raise ValueError
            if not all(math.isfinite(v) for v in values):
                raise InputError(f"{given}: its values must be finite numbers.")
    except InputError:
        raise
    except (ValueError, OverflowError):
        raise InputError(
            f"{flag} {text!r} is not a range or list: write 1e-7:1e-3:log20 (log "
            "spaced), 0:1:5 (evenly spaced), 0:9 (whole numbers) or 1,2,3."
        ) from None
    if len(values) > MOST_VALUES:
        raise InputError(
            f"{given} makes {len(values)} values: at most a million; give fewer."
        )
    again = None if flag.startswith("--init") else repeated(values)
    if again is not None and ":" in text:  # 0.5:0.5:3
        raise InputError(
            f"{given}: its ends are equal, so its {len(values)} values are all "
            f"{again}; give the one value."
        )
    if again is not None:  # the same configuration twice, over one heatmap cell
        raise InputError(f"{given} lists {again} more than once: give each value once.")
    if integer:
        if any(float(v) != int(v) for v in values):
            raise InputError(
                f"{flag} takes whole numbers, got {text!r}"
                + (
                    ": a third number is a count of evenly spaced values, not a "
                    "step; a list gives any others (such as 0,2,4)."
                    if text.count(":") == 2
                    else "."
                )
            )
        if text.count(":") == 2:
            # a third number is a count, which a step was taken for: 0:9:2 gave
            # the two seeds 0 and 9 in silence
            click.echo(
                f"note: {given} is {len(values)} evenly spaced values: "
                f"{','.join(str(int(v)) for v in values[:12])}"
                + ("..." if len(values) > 12 else "")
                + " (a third number is a count, not a step).",
                err=True,
            )
        return [int(v) for v in values]
    return [float(v) for v in values]


def _pairs(flag: str, items: tuple[str, ...]) -> dict[str, list[Any]]:
    from gradtrace.checks import SWITCH_WORDS
    from gradtrace.cli._options import pairs

    out: dict[str, list[Any]] = {}
    for k, v in pairs(flag, items).items():
        words = [w.strip().lower() for w in str(v).split(",")]
        # words (1 and 0 are read as numbers, which a switch takes too)
        if words and all(w in SWITCH_WORDS and w.isalpha() for w in words):
            out[k] = [SWITCH_WORDS[w] for w in words]  # --opt nesterov=true
        elif "[" in str(v) or "]" in str(v):
            out[k] = parse_vectors(f"{flag} {k}", str(v))  # a vector's starts
        else:
            out[k] = parse_values(f"{flag} {k}", v)
    return out


def parse_vectors(flag: str, text: str) -> list[list[float]]:
    """A vector parameter's starts, each in brackets: ``[1,2,3],[0,0,0]``."""
    import re

    text = text.strip()
    groups = re.findall(r"\[([^\[\]]*)\]", text)
    rest = re.sub(r"\[[^\[\]]*\]", "", text)
    try:
        if not groups or rest.replace(",", "").strip():
            raise ValueError
        starts = [[float(v) for v in g.split(",")] for g in groups]
    except ValueError:
        raise InputError(
            f"{flag} {text!r}: a vector's starts are its values in brackets, "
            "separated by commas: [1,2,3],[0,0,0] (quote them for the shell)."
        ) from None
    if not all(math.isfinite(v) for start in starts for v in start):
        raise InputError(f"{flag} {text!r}: its values must be finite numbers.")
    return starts


_reduction = click.option(
    "--reduction",
    default="mean",
    show_default=True,
    metavar="mean|sum",
    help="A batch's loss: the mean or the sum of its rows' losses.",
)
_fix = click.option(
    "--fix", "fix", multiple=True, metavar="NAME=VALUE", help="Parameters held fixed."
)


#: The options of the data's types and missing values, as fit's.
DATA_OPTIONS = [DTYPE_OPTION, COMPUTE_DTYPE_OPTION, DROP_MISSING_OPTION]


def _data_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(DATA_OPTIONS):
        command = option(command)
    return command


def _problem_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options sweep and lr-find share with fit: model, loss, columns and
    optimizer."""
    for option in reversed(
        [
            click.option(
                "--model",
                default="line",
                show_default=True,
                metavar="NAME",
                help="Any of fit's models (gradtrace models lists them).",
            ),
            click.option(
                "--loss",
                default=None,
                metavar="NAME",
                help="mse, mae, huber or nll (as for fit).",
            ),
            click.option(
                "--x", "x", multiple=True, metavar="COLUMN", help="x column(s)."
            ),
            click.option(
                "--y",
                default="y",
                show_default=True,
                metavar="COLUMN",
                help="y column.",
            ),
            click.option(
                "--optimizer",
                default="sgd",
                show_default=True,
                metavar="NAME",
                help="One of fit's optimizers (one at a time: to compare "
                "optimizers, run one command each).",
            ),
        ]
    ):
        command = option(command)
    return command


#: sweep --help's sections: what it sweeps and measures, then fit's.
SWEEP_SECTIONS = (
    (
        "Swept (each a range or a list of values)",
        ("lr", "opt", "init", "seed", "batch_size"),
    ),
    ("What each configuration keeps and is measured by", ("keep_every", "tol")),
    *FIT_SECTIONS,
)
#: lr-find --help's sections: the range test's, then fit's.
LR_FIND_SECTIONS = (("The range test", ("lr_min", "lr_max", "steps")), *FIT_SECTIONS)


@click.command(
    cls=sectioned(SWEEP_SECTIONS), context_settings={"max_content_width": 100}
)
@click.argument("data")
@_problem_options
@click.option(
    "--lr",
    default=None,
    metavar="RANGE",
    help="Learning rates: 1e-7:1e-3:log20, 0.01:0.1:10, or 1e-4,1e-3.",
)
@click.option(
    "--opt",
    "opt",
    multiple=True,
    metavar="KEY=RANGE",
    help="Any other hyper-parameter, a range or list (rho=0.8,0.9,0.99); a "
    "switch true, false or both (nesterov=true,false).",
)
@click.option(
    "--lr-schedule",
    default=None,
    metavar="NAME[:KEY=VALUE,...]",
    help="A learning-rate schedule as fit's --lr-schedule, from each configuration's "
    "own rate (torch.plateau and keras.plateau cut each configuration's on its "
    "own losses).",
)
@click.option(
    "--clip",
    default=None,
    metavar="NAME=VALUE",
    help="Gradient clipping as fit's --clip, for every configuration.",
)
@click.option(
    "--init",
    "init",
    multiple=True,
    metavar="NAME=RANGE",
    help="Starting values of a parameter, each a configuration's (loc=-5000,0,1); "
    "a vector parameter starts at its values in brackets ('w=[1,2,3],[0,0,0]'), "
    "or at one number for every element.",
)
@click.option(
    "--seed",
    default="0",
    show_default=True,
    metavar="RANGE",
    help="Shuffling seeds (0:9 is ten seeds).",
)
@click.option(
    "--batch-size",
    default=None,
    metavar="RANGE",
    help="Batch sizes (one compiled program per size); default all rows.",
)
@click.option("--epochs", type=WHOLE, default=None, help="Epochs (default 100).")
@click.option("--steps", type=WHOLE, default=None, help="Steps instead of epochs.")
@click.option(
    "--shuffle/--no-shuffle",
    default=True,
    show_default=True,
    help="Shuffle the rows each epoch (each seed its own order).",
)
@click.option(
    "--torch-order",
    is_flag=True,
    help="Shuffle each epoch in the order of PyTorch's DataLoader(data, "
    "shuffle=True, generator=G), G being torch.Generator().manual_seed(SEED) and "
    "SEED each --seed (shuffle='torch' in Python).",
)
@click.option(
    "--keras-order",
    is_flag=True,
    help="Shuffle as Keras 3's fit(x, y, shuffle=True) does after "
    "keras.utils.set_random_seed(SEED), SEED each --seed: one order, the same "
    "every epoch (shuffle='keras' in Python).",
)
@_fix
@_reduction
@_data_options
@click.option(
    "--validation-split",
    type=float,
    default=None,
    metavar="F",
    help="Hold out the last fraction F of the rows (as fit's): each "
    "configuration trains on the others, and sweep.parquet gets val_loss, the "
    "loss over the held-out rows at its final values.",
)
@click.option(
    "--validation-data",
    default=None,
    metavar="FILE",
    help="Validation rows of their own (as fit's), for val_loss.",
)
@click.option(
    "--keep-every",
    type=WHOLE,
    default=None,
    help="Keep every k-th step of each configuration's trace (default: "
    "about 100 points each). Each kept step takes the loss over all the data for "
    "every configuration: on large data, fewer kept steps are a faster sweep; the "
    "best setting does not depend on it.",
)
@click.option(
    "--tol",
    type=float,
    default=1e-4,
    show_default=True,
    help="Converged: every parameter within tol of the exact optimum (where none "
    "stays within it, a note compares it with the optimum's standard errors).",
)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Sweep folder (default runs/<date-time>-sweep).",
)
@force_option("sweep")
@click.option(
    "--plot/--no-plot",
    default=True,
    show_default=True,
    help="Write heatmap.png and losses.png.",
)
@dpi_option("heatmap.png and losses.png")
@model_options
def sweep(
    data: str,
    model: str,
    loss: str | None,
    x: tuple[str, ...],
    y: str,
    optimizer: str,
    lr: str | None,
    opt: tuple[str, ...],
    lr_schedule: str | None,
    clip: str | None,
    init: tuple[str, ...],
    seed: str,
    batch_size: str | None,
    epochs: int | None,
    steps: int | None,
    shuffle: bool,
    torch_order: bool,
    keras_order: bool,
    fix: tuple[str, ...],
    reduction: str,
    dtype: str,
    compute_dtype: str | None,
    drop_missing: bool,
    validation_split: float | None,
    validation_data: str | None,
    keep_every: int | None,
    tol: float,
    out: Path | None,
    force: bool,
    plot: bool,
    dpi: int,
    **model_extra: Any,
) -> None:
    """Run every combination of learning rates, hyper-parameters, starting values
    and seeds on DATA, vectorised (one compiled program per batch size), and write
    sweep.parquet (one row per configuration: its values, final parameters, its loss
    at the start and the end, its settled loss (tail_loss: the loss over all the
    data averaged over ten evenly spaced steps of the run's last tenth), gap to the
    optimum, first step within --tol of it, diverged and where, ended above its
    start),
    traces.parquet (every --keep-every step of every configuration, beside its
    learning rate and other swept values) and plots.

    \b
    Seed 002's first exercise, 20 rates x 3 starts:
      gradtrace sweep seed002_normal --model normal --reduction sum --fix scale=1 \\
        --steps 10000 --lr 1e-7:1e-3:log20 --init loc=-5000,0,1
    """
    import atexit
    import gc
    import time

    # Nearly everything this command makes lives until it ends (JAX, pandas and
    # matplotlib), so the cyclic garbage collector's passes over it find little:
    # 0.1-0.3 s while the sweep runs, 0.1 s when it is turned back on (its first pass
    # walks all that is new) and 0.4 s as Python shuts down. So it is off while the
    # command runs, what the command made is frozen (left out of later passes)
    # before it is turned back on for a caller that goes on (tests), and at exit.
    collecting = gc.isenabled()
    gc.disable()
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        started = time.perf_counter()
        from gradtrace.cli._options import pairs
        from gradtrace.cli._report import _console, progress_bar
        from gradtrace.cli.fit import default_out
        from gradtrace.store import writable
        from gradtrace.sweeps import sweep as run_sweep

        if keep_every is not None and keep_every < 1:
            raise InputError(f"--keep-every must be at least 1, got {keep_every}.")
        if not (tol > 0 and math.isfinite(tol)):
            raise InputError(f"--tol must be a positive number, got {tol}.")
        rates = parse_values("--lr", lr) if lr is not None else None
        opts, starts = _pairs("--opt", opt), _pairs("--init", init)
        seeds = parse_values("--seed", seed, integer=True)
        sizes = (
            parse_values("--batch-size", batch_size, integer=True)
            if batch_size
            else None
        )
        named = _named_model(model, model_extra)  # its conflicts said first
        # the optimizer and its hyper-parameters, as the sweep would check
        # them, before "nothing to sweep" (it hid "a sweep takes one optimizer")
        from gradtrace import validate
        from gradtrace.core.optimizers import PRESETS
        from gradtrace.sweeps import one_optimizer

        one_optimizer(optimizer)
        spec = validate.optimizer(optimizer, None, {})
        # names alone: a swept value (betas=0.8,0.99 read as two) is the sweep's
        known = {*PRESETS[spec.name].defaults, *validate.PAIRS}
        unknown = {k: v[0] for k, v in opts.items() if k not in known}
        validate.optimizer(optimizer, None, unknown)
        lists = [rates or [None], seeds, sizes or [None], *opts.values()]
        if math.prod(len(v) for v in [*lists, *starts.values()]) == 1:
            raise InputError(
                "nothing to sweep: each option has one value, so the sweep would "
                "run one configuration; give several, as --lr 0.001:1:log10 (ten "
                "rates from 0.001 to 1 on a log scale) or --lr 0.01,0.1,1 "
                "(gradtrace fit runs one configuration)."
            )
        out = out or default_out("sweep")
        writable(out, force, "sweep")  # before the sweep runs, not after it
        if plot:  # import matplotlib while the sweep compiles and runs
            import threading

            from gradtrace import plot as plots

            threading.Thread(target=plots.warm_up, daemon=True).start()
        try:
            with progress_bar("sweeping", "configuration", "compiling") as progress:
                result = run_sweep(
                    data,
                    named,
                    loss,
                    lr=rates,
                    opt=opts,
                    lr_schedule=lr_schedule,
                    clip=clip,
                    init=starts,
                    seed=seeds,
                    batch_size=sizes,
                    keep_every=keep_every,
                    tol=tol,
                    x=list(x) or None,
                    y=y,
                    optimizer=optimizer,
                    epochs=epochs,
                    steps=steps,
                    shuffle=shuffle_of(shuffle, torch_order, keras_order),
                    fix=pairs("--fix", fix),
                    reduction=reduction,
                    dtype=dtype,
                    compute_dtype=compute_dtype,
                    drop_missing=drop_missing,
                    validation_split=validation_split,
                    validation_data=validation_data,
                    progress=progress,
                    **model_extra,
                )
        except KeyboardInterrupt:
            # no run of it to keep: its configurations step together, in one
            # compiled program a batch size
            click.echo(
                "interrupted: a sweep's configurations run together, one compiled "
                "program a batch size, so none was kept; sweep fewer of them, or "
                "fewer steps, at a time.",
                err=True,
            )
            raise click.exceptions.Exit(130) from None
        result.info["timings"]["total_s"] = time.perf_counter() - started
        result.save(out, force=force)
        if plot:
            from gradtrace import sweep_plots

            for name, draw in (
                ("heatmap.png", sweep_plots.sweep_heatmap),
                ("losses.png", sweep_plots.sweep_losses),
            ):
                try:
                    plots.save(draw(result), out / name, quick=True, dpi=dpi)
                except (ValueError, OverflowError) as err:  # the results are saved
                    click.echo(f"note: could not draw {name} ({err}).", err=True)
        console = _console()
        for note in result.info.get("notices", []):
            click.echo(f"note: {note}.", err=True)
        table = result.table
        n, bad = len(table), int(table["diverged"].sum())
        rose = result.rose
        t = result.info["timings"]
        above = f", {len(rose)} ended above {_its(len(rose))} start" * bool(len(rose))
        console.print(
            f"{n} configuration{'s' if n != 1 else ''}, {bad} diverged{above}, in "
            f"{duration(t['train_s'])} of training ({t['compile_s']:.2f} s compiling, "
            f"{t['total_s']:.2f} s in all). Sweep folder: {out}"
        )
        for warning in result.command_warnings():
            console.print(warning)
        if result.none_trained:
            console.print(f"{result.best_text()} (gradtrace lr-find suggests one).")
            return
        console.print(f"best: {result.best_text()}.")
        over = result.best_over_repeats_text()
        if over is not None:
            console.print(f"{over}.")
        finer = result.tol_note()
        if finer is not None:
            console.print(finer)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()


def _its(n: int) -> str:
    return "its" if n == 1 else "their"


def _free_name(path: Path, force: bool) -> Path:
    """``path``, or where it is taken (and not to be replaced: ``force``) the
    first of its numbered names (lr_find-2.png, lr_find-3.png...) not taken."""
    if force or not path.exists():
        return path
    k = 2
    while (numbered := path.with_name(f"{path.stem}-{k}{path.suffix}")).exists():
        k += 1
    return numbered


@click.command(
    name="lr-find",
    cls=sectioned(LR_FIND_SECTIONS),
    context_settings={"max_content_width": 100},
)
@click.argument("data")
@_problem_options
@model_options
@click.option(
    "--opt",
    "opt",
    multiple=True,
    metavar="KEY=VALUE",
    help="A hyper-parameter of the optimizer other than the rate (rho=0.9).",
)
@click.option(
    "--min",
    "lr_min",
    type=float,
    default=1e-7,
    show_default=True,
    help="First learning rate.",
)
@click.option(
    "--max",
    "lr_max",
    type=float,
    default=10.0,
    show_default=True,
    help="Last learning rate.",
)
@click.option(
    "--steps",
    type=WHOLE,
    default=100,
    show_default=True,
    help="Steps (one batch each) from --min to --max.",
)
@click.option(
    "--batch-size", type=WHOLE, default=None, help="Rows a step (default: all)."
)
@click.option(
    "--seed", type=WHOLE, default=0, show_default=True, help="The batches' shuffling."
)
@click.option(
    "--shuffle/--no-shuffle",
    default=True,
    show_default=True,
    help="Shuffle the rows each epoch (with --batch-size).",
)
@click.option(
    "--torch-order",
    is_flag=True,
    help="Shuffle each epoch in the order of PyTorch's DataLoader(data, "
    "shuffle=True, generator=G), G being torch.Generator().manual_seed(SEED) and "
    "SEED --seed (shuffle='torch' in Python).",
)
@click.option(
    "--keras-order",
    is_flag=True,
    help="Shuffle as Keras 3's fit(x, y, shuffle=True) does after "
    "keras.utils.set_random_seed(SEED), SEED --seed (shuffle='keras' in Python).",
)
@click.option(
    "--init", "init", multiple=True, metavar="NAME=VALUE", help="A starting value."
)
@_fix
@_reduction
@_data_options
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Picture to write (PNG), or a folder to write lr_find.png in. Default: "
    "lr_find.png here, or lr_find-2.png, -3... where the earlier tests' are.",
)
@click.option(
    "--lr-schedule",
    "lr_schedule",
    default=None,
    hidden=True,
    help="Refused, saying why: the range test sets the rate itself.",
)
@FORCE_FILES
@dpi_option("the picture")
def lr_find(
    data: str,
    model: str,
    loss: str | None,
    x: tuple[str, ...],
    y: str,
    optimizer: str,
    opt: tuple[str, ...],
    lr_min: float,
    lr_max: float,
    steps: int,
    batch_size: int | None,
    seed: int,
    shuffle: bool,
    torch_order: bool,
    keras_order: bool,
    init: tuple[str, ...],
    fix: tuple[str, ...],
    reduction: str,
    dtype: str,
    compute_dtype: str | None,
    drop_missing: bool,
    out: Path | None,
    lr_schedule: str | None,
    force: bool,
    dpi: int,
    **model_extra: Any,
) -> None:
    """The learning-rate range test: one run whose rate grows exponentially from
    --min to --max (stopped where the loss passes 4x its lowest), the loss against
    the rate, smoothed (on a log scale, centred), and a suggested rate (where the
    smoothed loss falls fastest, below its lowest point), next to the curvature's
    stable limit (2/L, or the batches' own). With --batch-size, the loss read is
    the one over all the rows after each step (a fixed random 65536 of larger
    data), not the batch's, whose noise hid the fall. -o takes a PNG's name or a
    folder (lr_find.png in it); a picture there already is replaced with --force
    only. Without -o, the picture is lr_find.png, or the first of lr_find-2.png,
    lr_find-3.png... not taken, so a second test (another student's, say) keeps
    the first's picture."""
    from gradtrace import plot, sweep_plots
    from gradtrace.cli._options import already_exists, pairs
    from gradtrace.cli._report import _console
    from gradtrace.lrfind import lr_find as run

    if lr_schedule is not None:  # as fit takes it, but not here: say why
        raise InputError(
            "lr-find sets the rate itself, growing from --min to --max: drop "
            "--lr-schedule (find the starting rate, then schedule it in fit)."
        )
    from gradtrace.plot import check_folder

    if out is None:  # a name of its own: the tests before keep theirs
        out = _free_name(Path("lr_find.png"), force)
    if out.is_dir() or not out.suffix:  # a folder, as fit's and sweep's -o
        check_folder(out)  # made once the test ran, in a folder that exists
        out = out / "lr_find.png"
    elif out.suffix.lower() != ".png":
        raise InputError(
            f"-o {str(out)!r}: the picture is a PNG; end the name in .png, or "
            "give a folder."
        )
    else:
        check_folder(out)  # before the test, not after it
    if out.is_file() and not force:
        raise already_exists(out)
    table, summary = run(
        data,
        _named_model(model, model_extra),
        loss,
        lr_min=lr_min,
        lr_max=lr_max,
        steps=steps,
        x=list(x) or None,
        y=y,
        optimizer=optimizer,
        opt=pairs("--opt", opt),
        batch_size=batch_size,
        seed=seed,
        shuffle=shuffle_of(shuffle, torch_order, keras_order),
        init=pairs("--init", init),
        fix=pairs("--fix", fix),
        reduction=reduction,
        dtype=dtype,
        compute_dtype=compute_dtype,
        drop_missing=drop_missing,
        **model_extra,
    )
    out.parent.mkdir(exist_ok=True)  # a folder -o named, made once the test ran
    plot.save(sweep_plots.lr_find(table, summary), out, dpi=dpi)
    console = _console()
    for note in summary["notices"]:
        click.echo(f"note: {note}.", err=True)
    stable = summary["stable_lr"]
    stopped = summary["stopped_at_step"]
    end = (
        f"the loss blew up (4x its lowest, or not finite) at step {stopped}"
        if summary["blew_up"]
        else f"the loss did not blow up by --max {lr_max:g}"
    )
    if math.isfinite(summary["suggested_lr"]):
        read = summary.get("read") or "loss"
        console.print(
            f"suggested learning rate: {summary['suggested_lr']:.3g} (steepest fall "
            f"of the smoothed {read}); floor of the smoothed loss from lr "
            f"{summary['min_loss_lr']:.3g}; {end}."
        )
    elif summary["blew_up"] and stopped == 1:
        console.print(
            "no suggested learning rate: the loss was not finite at the first step "
            f"(--min {lr_min:g}): the start is too far out; check --init and the "
            "data's scale."
        )
    else:
        advice = (
            "Start further from the optimum (--init) or try a smaller --min."
            if summary["blew_up"]
            else "Try a larger --max, or start further from the optimum (--init)."
        )
        console.print(
            f"no suggested learning rate: the smoothed loss did not fall between "
            f"--min {lr_min:g} and where the test stopped; {end}. {advice}"
        )
    from gradtrace.lrfind import LRFind

    flags = {"init": "--init", "lr_min": "--min ", "lr_max": "--max "}
    for note in LRFind(table, summary).notes_naming(flags):
        console.print(f"note: {note}.")
    if stable is not None and math.isfinite(stable):
        fastest = summary.get("fastest_lr")
        faster = ""
        if fastest is not None and math.isfinite(fastest):
            faster = f", and its fastest full-batch rate 2/(mu + L) {fastest:.3g}"
        name = str(summary.get("stable_name", ""))
        on = ""
        full = summary.get("full_batch_lr")
        if name.startswith("stable limit of batches") and full is not None:
            # below 2/L over all the rows: the batches' own curvatures
            on = f" on {name.removeprefix('stable limit of ')}"
            faster = f", below 2/L over all the rows, {full:.3g}{faster}"
        console.print(
            f"the curvature's stable limit for {summary['optimizer']}{on} is "
            f"{stable:.3g}{faster} (gradtrace diagnose --lr R predicts the steps "
            "at a rate R); the range test's suggestion is a rule of thumb for when "
            "the curvature is not known."
        )
    console.print(f"picture: {out}")


def _named_model(model: str, extra: dict[str, Any]) -> str | None:
    """--model, or None where --model-expr or --model-file names the model and
    --model was left at its default (line); both given is a one-line error."""
    from click.core import ParameterSource

    own = next((k for k in ("model_expr", "model_file") if extra.get(k)), None)
    if own is None:
        return model
    source = click.get_current_context().get_parameter_source("model")
    if source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        flag = "--" + own.replace("_", "-")
        raise InputError(
            f"give --model or {flag}, not both: {flag}'s model is the one fitted."
        )
    return None
