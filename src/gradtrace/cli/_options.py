"""Helpers shared by commands: KEY=VALUE pairs, the --force flags, a run's --data, and
the checks of an -o before any work."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from gradtrace.errors import InputError


class Sectioned(click.Command):
    """A command whose ``--help`` lists its options in titled sections
    (``SECTIONS``: the title, then the options' names, in order), as long
    commands' help does; an option not named lands in "Other options"."""

    SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def format_options(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        records: dict[str, tuple[str, str]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if isinstance(param, click.Option) and record is not None:
                # click's own help option: "help"
                name = "help" if param.name == "_click_default_help" else param.name
                records[str(name)] = record
        # one width for every section's first column, as one list would have
        width = min(max((len(r[0]) for r in records.values()), default=0), 30)
        records = {k: (r[0].ljust(width), r[1]) for k, r in records.items()}
        for title, names in self.SECTIONS:
            rows = [records.pop(n) for n in names if n in records]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        if records:
            with formatter.section("Other options"):
                formatter.write_dl(list(records.values()))


def sectioned(sections: tuple[tuple[str, tuple[str, ...]], ...]) -> type[Sectioned]:
    """A ``Sectioned`` command class with these sections."""
    return type("SectionedCommand", (Sectioned,), {"SECTIONS": sections})


def dpi_option(what: str) -> Callable[..., Any]:
    """The --dpi option of a command that draws ``what`` (its default is
    ``gradtrace.plot.DPI``'s, kept a literal here: the command line starts
    without matplotlib)."""
    return click.option(
        "--dpi",
        type=click.IntRange(50, 400),
        default=110,
        show_default=True,
        help=f"Pixels per inch of {what}; 220 doubles the default's width and "
        "height in pixels, for a projector or print (50 to 400).",
    )


def force_option(what: str) -> Callable[..., Any]:
    """The --force flag of a command that writes a ``what`` ("run", "sweep")
    folder, as ``store.replaceable`` and ``store.put_in_place`` treat it."""
    return click.option(
        "--force",
        is_flag=True,
        help=f"Replace an existing {what} folder, a run's or a sweep's (files of "
        "yours in it stay); never a file or a folder of other things. An empty "
        "folder is written into without it.",
    )


#: The --data option of the commands that read a run's data again (resume,
#: rerun, explain, plot, animate, report): for a run fitted to data from standard input
#: or Python, or whose file moved.
DATA_AGAIN = click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=None,
    help="Read the run's data from this file (a run that read them from standard "
    "input or Python, or whose file moved); they must be the run's own.",
)


def load_run(
    run: Path, data: Path | None = None, thin: bool = False, rebuilt: bool = True
) -> Any:
    """``gradtrace.load`` of RUN, with its data read from ``data`` where given.
    ``rebuilt``: the command rebuilds the run's model and reads its data (plot,
    report, explain...): a model or loss of the user's own, which only Python
    can give again, is refused at once, with the data to give beside it."""
    from gradtrace.saved_runs import load

    if rebuilt:
        python_objects(run, data)
    return load(run, thin=thin, data=None if data is None else str(data))


def python_objects(run: Path, data: Path | None, rerun: bool = False) -> None:
    """Refuse a run given a model or loss of the user's own in Python, naming
    all that ``gradtrace.load`` needs again (its data too, where they came from
    Python): they came one error at a time, the data's first. ``rerun``: for
    the command that fits the run again, whose Python is ``gradtrace.fit``."""
    from gradtrace.errors import InputError
    from gradtrace.store import find_run, load_info

    info = load_info(find_run(run))
    own = [what for what in ("model", "loss") if what in info.get("own_objects", [])]
    if not own:
        return
    named = " and ".join(f"a {what} of your own ({info[what]!r})" for what in own)
    source = info["config"].get("data")
    again = [f"{what}=..." for what in own]
    if data is None and source in (None, "-"):
        again.append("data=...")
    if rerun:
        raise InputError(
            f"this run was given {named} in Python, which the command line cannot "
            "rebuild: fit it again in Python, gradtrace.fit with the same "
            "settings (run.json's config)."
        )
    raise InputError(
        f"this run was given {named} in Python, which the command line cannot "
        f"rebuild: in Python, gradtrace.load(RUN, {', '.join(again)}) gives its "
        "Trace, to plot, report or explain (or use the Trace that gradtrace.fit "
        "returned)."
    )


def file_above(path: Path) -> Path | None:
    """The file that stands where a folder above ``path`` should be (``f.csv`` of
    ``f.csv/x.html``), or None."""
    up = path.parent
    while not (up.exists() or up.is_symlink()) and up != up.parent:
        up = up.parent
    return up if up.exists() and not up.is_dir() else None


def check_folder_of(path: Path, flag: str = "-o", made: bool = False) -> None:
    """Refuse ``path``, named by ``flag``, when a folder above it is a file, or (a
    file, not ``made``: a folder the command makes with its parents) when the
    folder it goes into does not exist."""
    blocking = file_above(path)
    if blocking is not None:
        raise InputError(
            f"{str(blocking)!r} is a file, not a folder: {str(path)!r} cannot be "
            f"written in it; choose another {flag}."
        )
    if not made and not path.parent.is_dir():
        raise InputError(
            f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not "
            f"exist; create it or choose another {flag}."
        )


def already_exists(path: Path, flag: str = "-o") -> InputError:
    """The refusal of an existing file ``path`` that --force would replace."""
    return InputError(
        f"{str(path)!r} already exists: choose another {flag}, or pass --force to "
        "replace it."
    )


def check_out_file(path: Path, force: bool, flag: str = "-o") -> None:
    """Refuse, before any work, an output file the user named that cannot be
    written (its folder is missing or a file; it is a folder) or that exists,
    unless ``force``."""
    check_folder_of(path, flag)
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder: give a file name to {flag}.")
    if path.is_file() and not force:
        raise already_exists(path, flag)


class Whole(click.ParamType):
    """A whole number, written as one (100) or as a float of a whole value (1e2,
    100.0), as Python's ``fit(steps=1e4)`` takes it."""

    name = "integer"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
        self.fail(f"{value!r} is not a whole number.", param, ctx)


WHOLE = Whole()


class RunFolder(click.ParamType):
    """RUN: a run's (or a sweep's) folder, a name that ``gradtrace ls`` lists (a
    folder in runs), or ``latest``, the run made last there (or the run or sweep,
    ``sweeps``: for a command that reads both)."""

    name = "run"

    def __init__(self, sweeps: bool = False) -> None:
        self.sweeps = sweeps

    def convert(self, value: Any, param: Any, ctx: Any) -> Path:
        from gradtrace.store import find_run

        return find_run(value, sweeps=self.sweeps)


RUN_FOLDER = RunFolder()
RUN_OR_SWEEP = RunFolder(sweeps=True)


#: The --force flag of report, animate and plot: files the user names with -o.
FORCE_FILES = click.option("--force", is_flag=True, help="Replace existing files.")


def pairs(flag: str, items: Iterable[str]) -> dict[str, str]:
    """``["w=0.5", "b=0"]`` -> ``{"w": "0.5", "b": "0"}``; one-line error otherwise."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        element = re.match(r"\s*(\w+\[[^\]]*\])\s*=(.*)", item, re.S)
        if element:  # a slope named by its column, which may hold "=": w[g=b]=1
            key, sep, value = element.group(1), "=", element.group(2)
        key = key.strip()
        if not sep or not key or not value.strip():
            # a hyper-parameter's example for --opt, a parameter's otherwise
            example = "momentum=0.9" if flag == "--opt" else "w=0.5"
            from gradtrace.core.optimizers import PRESETS

            name = item.strip().lower()
            # an optimizer's name where its hyper-parameters go (momentum and
            # nesterov name both)
            both = ("momentum", "nesterov")
            if flag == "--opt" and not sep and name in PRESETS and name not in both:
                raise InputError(
                    f"--opt sets one of the optimizer's hyper-parameters "
                    f"(NAME=VALUE): to train with {name}, write --optimizer {name}."
                )
            raise InputError(
                f"{flag} takes NAME=VALUE, got {item!r}: write, for "
                f"example, {flag} {example}."
            )
        if key in out:
            raise InputError(f"{flag} {key} is given twice: give it once.")
        out[key] = value.strip()
    return out


#: The data's types and missing values: fit's, sweep's and lr-find's options.
DTYPE_OPTION = click.option(
    "--dtype",
    metavar="float32|float64",
    default="float32",
    show_default=True,
    help="float32 or float64: the parameters' dtype (and the loss's).",
)
COMPUTE_DTYPE_OPTION = click.option(
    "--compute-dtype",
    metavar="float32|float64",
    default=None,
    help="Compute the data and loss in this dtype instead (e.g. float32 with "
    "--dtype float64, as PyTorch does for seed 002).",
)
DROP_MISSING_OPTION = click.option(
    "--drop-missing",
    is_flag=True,
    help="Drop rows with an empty cell, NaN, infinity or a mark of a missing "
    "value such as ? or - (and say how many) instead of refusing the data.",
)


def out_option(help: str, required: bool = False) -> Callable[..., Any]:
    """The -o/--out option of a command that writes a file or folder. A required
    one has no default: click 8.5 takes an explicit ``default=None`` for a value
    given, and lets a missing -o through as None."""
    extra: dict[str, Any] = {"required": True} if required else {"default": None}
    return click.option(
        "-o", "--out", "out", type=click.Path(path_type=Path), help=help, **extra
    )


Written = TypeVar("Written")


def write_whole(out: Path, write: Callable[[Path], Written]) -> Written:
    """``write(path)`` into the file ``out`` whole: into a temporary file beside
    it, renamed over it once written, so that a failure leaves nothing
    half-written; a link or a device (/dev/stdout) is written through, never
    renamed over. A write the system refuses is one line (InputError)."""
    from gradtrace.errors import InputError, RunFolderError

    device = str(out).startswith("/dev/")
    through = device or out.is_symlink() or (out.exists() and not out.is_file())
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if through:
            return write(out)
        done = write(tmp)
        tmp.replace(out)
        return done
    except RunFolderError:  # a run that cannot be read: not the file's fault
        raise
    except OSError as err:
        raise InputError(
            f"cannot write {str(out)!r} ({err.strerror or err}): choose a writable -o."
        ) from None
    finally:
        if not through:
            tmp.unlink(missing_ok=True)
