"""Validation data: rows held out of training whose loss a run takes after each
epoch, as Keras's ``fit(validation_split=...)`` and ``fit(validation_data=...)``
do and as a PyTorch loop's evaluation pass over a validation set does.

``validation_split`` keeps Keras's rule: the *last* fraction of the rows, in
the order given and before any shuffling, ``floor(n * (1 - split))`` rows
training."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from gradtrace import validate
from gradtrace.checks import _number
from gradtrace.errors import InputError


class HeldOut(NamedTuple):
    """Validation rows, as the run holds its training rows."""

    x: np.ndarray | None
    y: np.ndarray
    #: how run.json names them: "the last 20% of the rows", a file, "Python data"
    source: str
    #: the fraction split off (None: separate data)
    split: float | None
    #: rows with missing values dropped from them (``drop_missing``)
    dropped: int = 0


#: The options of a fit that hold out data or stop on them.
OPTIONS = ("validation_split", "validation_data", "early_stopping")


def refuse(
    what: str, options: Mapping[str, Any], allowed: tuple[str, ...] = ()
) -> None:
    """``what`` (a sweep, the range test, the diagnosis) takes none of
    ``OPTIONS`` but those ``allowed``: told in one line, not left silently
    unused."""
    given = [k for k in OPTIONS if options.get(k) is not None and k not in allowed]
    if given:
        raise InputError(
            f"{what} takes no {given[0]} yet: drop it (fit one configuration "
            "with it instead)."
        )
    schedule = validate.lr_schedule(options.get("lr_schedule"))
    if schedule is not None and schedule.params.get("monitor") == "val_loss":
        held = any(options.get(k) is not None for k in allowed)
        raise InputError(
            (
                f"{what} takes its validation loss after each configuration ends, "
                f"so {schedule.name}:monitor=val_loss has none to watch on the way"
                if held
                else f"{what} has no validation data for "
                f"{schedule.name}:monitor=val_loss to watch"
            )
            + ": watch the training loss (monitor=loss), or fit one configuration "
            "with it."
        )


def fraction(value: Any) -> float | None:
    """``validation_split`` checked: a number strictly between 0 and 1 (None or
    0: no split, as Keras's default 0.0)."""
    if value is None:
        return None
    try:
        split = _number(value)
    except (TypeError, ValueError):
        raise InputError(
            f"validation split must be a number between 0 and 1, got {value!r}: "
            "give the fraction of the rows to hold out, such as 0.2."
        ) from None
    if split == 0:
        return None
    if not 0 < split < 1:
        raise InputError(
            f"validation split must be between 0 and 1, got {value!r}: give the "
            "fraction of the rows to hold out, such as 0.2."
        )
    return split


def split(
    xs: np.ndarray | None, ys: np.ndarray, share: float, source: str
) -> tuple[np.ndarray | None, np.ndarray, HeldOut]:
    """The first rows for training and the last ``share`` of them held out, as
    Keras splits them."""
    n = len(ys)
    at = int(math.floor(n * (1.0 - share)))
    if at in (0, n):
        raise InputError(
            f"{source}: validation split {share:g} of {n} rows leaves "
            f"{'no rows to train on' if at == 0 else 'no rows to hold out'}: "
            "give a split that leaves rows on both sides, or more data."
        )
    if at == 1:  # as a table of one row is refused
        raise InputError(
            f"{source}: validation split {share:g} of {n} rows leaves 1 row to "
            "train on, and a fit needs at least two: give a smaller split, or "
            "more data."
        )
    x_train = None if xs is None else xs[:at]
    x_val = None if xs is None else xs[at:]
    percent = f"{share * 100:.4g}%"
    held = HeldOut(
        x_val,
        ys[at:],
        f"the last {percent} of the rows ({n - at} of {n})",
        share,
    )
    return x_train, ys[:at], held


def rows(
    frame: pd.DataFrame,
    source: str,
    kind: str,
    x_cols: list[str],
    y: str,
    dtype: str,
    drop_missing: bool,
    categories: dict[str, list[str]] | None = None,
) -> HeldOut:
    """Validation rows from their own table, read as the training data are: the
    same x and y columns, rows with missing values refused (or dropped with
    ``drop_missing``). ``categories``: the categorical columns ``frame`` was coded
    by, named as the user's data name them where a column is missing."""
    x = None if kind == "distribution" else x_cols
    wanted = [*(x or []), y]
    have = [str(c) for c in frame.columns]
    missing = [c for c in wanted if c not in have]
    if missing:
        from gradtrace.categories import sources

        # a categorical column by its own name, not its 0/1 columns'
        def named(columns: list[str]) -> list[str]:
            return list(dict.fromkeys(sources(columns, categories or {})))

        missing, wanted, have = named(missing), named(wanted), named(have)
        which = "column" if len(missing) == 1 else "columns"
        shown = ", ".join(repr(c) for c in missing)
        raise InputError(
            f"{source} have no {which} {shown} (their columns: "
            f"{', '.join(have) or 'none'}): validation data need the training "
            f"data's columns, {', '.join(wanted)}; rename theirs to match."
        )
    xs, ys = validate.columns(
        frame, kind, x, y, source, dtype, least_rows=1, marks_missing=drop_missing
    )
    xs, ys, dropped = validate.finite_rows(
        xs, ys, drop_missing, source, (x_cols, y), frame.index
    )
    if not len(ys):
        raise InputError(
            f"{source}: the validation data have no rows: give a table of rows "
            "like the training data's."
        )
    return HeldOut(xs, ys, source, None, dropped)


def reshaped(held: HeldOut, one_x: bool) -> HeldOut:
    """``held`` with x as the model takes it: one column as a vector."""
    if one_x and held.x is not None:
        return held._replace(x=held.x[:, 0])
    return held


def info(held: HeldOut) -> dict[str, Any]:
    """What run.json keeps of them."""
    out: dict[str, Any] = {"source": held.source, "n_rows": len(held.y)}
    if held.split is not None:
        out["split"] = held.split
    if held.dropped:
        out["dropped_rows"] = held.dropped
    return out
