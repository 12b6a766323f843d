"""Categorical x columns as 0/1 columns (``--categorical``, ``categorical=``).

A column of categories (a school's rank, a region, a treatment) enters a linear
predictor as one 0/1 column per value but the first, the reference, as R's
``factor`` and statsmodels' ``C()`` code it: ``rank=2`` is 1 where rank is 2. Its
slope is then the difference from the reference. The values are sorted, numbers
as numbers and text as text, so the reference is the smallest (R's default); a
run keeps them in run.json (``data.categories``), so that ``predict`` codes new
rows the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.errors import COMMAND_LINE, InputError
from gradtrace.validate import MISSING_MARKS, STANDARDISED

#: The most values a categorical column may have: more are an identifier's, or
#: numbers (a column of 800 ids as 799 columns of 0/1)
MOST_LEVELS = 100


def level(value: Any) -> str | None:
    """A value as its category's name: a whole number without its ".0" (2 and
    2.0 are one category), other numbers as Python writes them, text stripped;
    None for a missing value (and a mark of one, such as '?')."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value).strip()
    return None if not text or text.lower() in MISSING_MARKS else text


def _flag(name: str) -> str:
    """The option that asked for ``name``'s categories, as its caller wrote it."""
    return f"--categorical {name}" if COMMAND_LINE.get() else f"categorical={[name]!r}"


def levels_of(column: pd.Series, name: str, source: str) -> list[str]:
    """The sorted categories of ``column``: numbers by value, else text; a
    pandas Categorical's in its own order (those its rows hold), as R takes a
    factor's levels."""
    found = {level(v) for v in column.tolist()} - {None}
    own = None
    if isinstance(column.dtype, pd.CategoricalDtype):
        own = [level(v) for v in column.cat.categories]
    if not found:
        raise InputError(
            f"{_flag(name)}: the column of {source} has no values: give a "
            "column that has some."
        )
    if len(found) < 2:
        raise InputError(
            f"{_flag(name)}: every row of {source} has the same value "
            f"({next(iter(found))!r}), so nothing compares with it: leave the column "
            "out."
        )
    if len(found) > MOST_LEVELS:
        raise InputError(
            f"{_flag(name)}: the column of {source} has {len(found)} "
            f"distinct values, over {MOST_LEVELS}: an identifier's or a number's, "
            "not categories; leave it out, or give it as a number."
        )
    levels = [str(v) for v in found]
    if own is not None:
        return [v for v in own if v is not None and v in found]
    try:
        return sorted(levels, key=float)
    except ValueError:  # text: sorted as text
        return sorted(levels)


def column_names(name: str, levels: Sequence[str]) -> list[str]:
    """The 0/1 columns of ``name``'s categories but the first: ``rank=2``."""
    return [f"{name}={v}" for v in levels[1:]]


def sources(columns: Sequence[str], categories: dict[str, list[str]]) -> list[str]:
    """The column of the data each of ``columns`` comes from: a 0/1 column's
    categorical column (``rank`` for ``rank=2``), others their own."""
    made = {
        c: name
        for name, levels in categories.items()
        for c in column_names(name, levels)
    }
    return [made.get(c, c) for c in columns]


#: Why rows of the data are not fitted, as ``unfitted`` tells it: the rows a
#: validation split holds out, or those --drop-missing drops
SPLIT, DROPPED = "split", "dropped"


def unfitted(
    categories: dict[str, list[str]],
    columns: Sequence[str],
    xs: np.ndarray,
    why: str = SPLIT,
) -> None:
    """Refuse a category that no row fitted has (``xs``: the rows fitted, coded):
    only the rows a validation split holds out have it (``why`` ``SPLIT``), or
    only rows that --drop-missing drops (``DROPPED``). Its 0/1 column is 0 in
    every row fitted, so its coefficient is not fitted; or, the reference's,
    the others' columns add up to the intercept's."""
    for name, levels in categories.items():
        at = [list(columns).index(c) for c in column_names(name, levels)]
        coded_rows = xs[:, at] == 1
        counts = [int(np.sum(~coded_rows.any(axis=1)))]  # the reference's rows
        counts += [int(n) for n in coded_rows.sum(axis=0)]
        for value, count in zip(levels, counts, strict=True):
            if count:
                continue
            if why == SPLIT:
                raise InputError(
                    f"category {value!r} of column {name!r} is only in the rows the "
                    "validation split holds out (the data's last rows), so no "
                    "training row has it and its coefficient cannot be fitted: "
                    "shuffle the rows first, or give validation data of their own."
                )
            raise InputError(
                f"category {value!r} of column {name!r} is only in rows that "
                "--drop-missing drops (each misses a value), so no row fitted has "
                "it and its coefficient cannot be fitted: fill in those rows' "
                "missing values, or give them a category of the others."
            )


def coded(
    frame: pd.DataFrame, categories: dict[str, list[str]], source: str
) -> pd.DataFrame:
    """``frame`` with each categorical column replaced by its 0/1 columns, at its
    place, coded by ``categories`` (name -> sorted values, the reference first);
    a missing value is missing (NaN) in each of them. A value outside the
    categories is refused: it has no column."""
    for name, levels in categories.items():
        if name not in frame.columns:
            continue  # said where the column is looked for
        values = [level(v) for v in frame[name].tolist()]
        known = set(levels)
        strange = next((v for v in values if v is not None and v not in known), None)
        if strange is not None:
            shown = ", ".join(repr(v) for v in levels[:6]) + (
                ", ..." * (len(levels) > 6)
            )
            raise InputError(
                f"column {name!r} holds the value {strange!r} in {source} (a "
                f"category the run's data did not have; theirs: {shown}): a new "
                "category has no coefficient; give rows of the run's categories."
            )
        missing = np.array([v is None for v in values])
        dummies = {
            column: np.where(missing, np.nan, [float(v == value) for v in values])
            for column, value in zip(
                column_names(name, levels), levels[1:], strict=True
            )
        }
        at = list(frame.columns).index(name)
        left, right = frame.iloc[:, :at], frame.iloc[:, at + 1 :]
        middle = pd.DataFrame(dummies, index=frame.index)
        attrs = dict(frame.attrs)
        frame = pd.concat([left, middle, right], axis=1)
        frame.attrs.update(attrs)
    return frame


def encode(
    frame: pd.DataFrame,
    given: Sequence[str] | Mapping[str, Sequence[str]],
    x_cols: list[str],
    y: str,
    model: str,
    source: str,
) -> tuple[pd.DataFrame, list[str], dict[str, list[str]]]:
    """The data with ``given``'s columns (``--categorical``) coded as 0/1 columns,
    the x columns with each in its place, and the categories of each: read from
    the data, or ``given`` as a mapping (a saved run's, its config's after it was
    planned), so that a run read back codes its data as it did."""
    known = (
        {str(k): [str(v) for v in vs] for k, vs in given.items()}
        if isinstance(given, Mapping)
        else {}
    )
    names = [c.strip() for item in given for c in str(item).split(",") if c.strip()]
    if not names:
        return frame, x_cols, {}
    if model not in STANDARDISED:
        raise InputError(
            f"{_flag(names[0])} is for the models {', '.join(STANDARDISED[:-1])} "
            f"and {STANDARDISED[-1]}, whose x are columns of a linear predictor; "
            f"{model}'s are not: leave it out."
        )
    taken = [str(c) for c in frame.columns]
    categories: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        if name == y:
            raise InputError(
                f"{_flag(name)} is the target (--y): y is fitted as numbers; "
                "name x columns."
            )
        if name not in taken:
            raise InputError(
                f"{_flag(name)}: no such column (columns: {', '.join(taken)})."
            )
        if name not in x_cols:
            raise InputError(
                f"{_flag(name)} is not an x column (--x: "
                f"{', '.join(x_cols)}): add it to --x, or leave it out."
            )
        categories[name] = known.get(name) or levels_of(frame[name], name, source)
        clash = [c for c in column_names(name, categories[name]) if c in taken]
        if clash:
            raise InputError(
                f"{_flag(name)} makes a column {clash[0]!r}, and the data have "
                "one so named: rename it."
            )
    coded_x = [
        new
        for c in x_cols
        for new in (column_names(c, categories[c]) if c in categories else [c])
    ]
    return coded(frame, categories, source), coded_x, categories
