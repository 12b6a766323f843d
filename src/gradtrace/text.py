"""Numbers and sentences as gradtrace prints them (a module light enough for the
command line's start)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator


def fmt(value: float | None) -> str:
    """Seven significant digits, as float32 carries them; empty for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.7g}"


#: The command line's options in the sentences a run keeps and prints (run.json's
#: diagnosis, the summary's warnings), and Python's names for them.
PYTHON_WORDS = (
    ("--model linear --standardize", "model='linear', standardize=True"),
    ("--param-space unconstrained", "param_space='unconstrained'"),
    ("gradtrace lr-find", "gradtrace.lr_find"),
    ("a smaller --lr", "a smaller lr="),
    ("(--init)", "(init=)"),
    ("(--standardize)", "(standardize=True)"),
    ("(--dtype float64)", "(dtype='float64')"),
    (
        "choose another --out, or pass --force",
        "choose another folder, or pass force=True",
    ),
    ("choose another --out (--force", "choose another folder (force=True"),
)


def for_python(sentence: str) -> str:
    """``sentence`` with the command line's options named as Python's arguments
    (``PYTHON_WORDS``), for what a notebook shows."""
    for flag, argument in PYTHON_WORDS:
        sentence = sentence.replace(flag, argument)
    return sentence


@contextlib.contextmanager
def saved_for_python() -> Iterator[None]:
    """A ``RunFolderError`` raised inside (a save's), worded for a Python caller
    (``for_python``: force=True, not --force) unless on the command line."""
    from gradtrace.errors import COMMAND_LINE, RunFolderError

    try:
        yield
    except RunFolderError as err:
        if COMMAND_LINE.get():
            raise
        raise RunFolderError(for_python(str(err))) from None


def warned(lines: list[str], prefix: str = "") -> str:
    """Warnings as a notebook view shows them: a paragraph each, in amber."""
    from html import escape

    return "".join(
        f'<p style="color:#a15c00">{escape(prefix + line)}</p>' for line in lines
    )
