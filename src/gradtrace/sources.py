"""Where a run's data come from: a DataFrame, arrays, a file, a built-in data set;
how to name them in messages; and what a data file records about itself."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrace import validate
from gradtrace.core.catalog import MODELS
from gradtrace.data import (
    DATASETS,
    builtin,
    file_sha256,
    no_duplicates,
    read_table,
    truth_path,
    truth_record,
)
from gradtrace.errors import InputError

DataLike = (
    pd.DataFrame
    | pd.Series
    | np.ndarray
    | tuple[Any, Any]
    | Mapping[str, Any]
    | str
    | Path
)


def source_name(data: DataLike) -> str | None:
    if isinstance(data, (str, Path)):
        return str(data)
    return None


def _array_like(value: Any) -> bool:
    """An array of another library (JAX's, say) that NumPy takes as it is: an
    ``__array__`` and a shape, not pandas' or NumPy's own."""
    return (
        hasattr(value, "__array__")
        and hasattr(value, "shape")
        and not isinstance(value, (np.ndarray, pd.DataFrame, pd.Series))
        # a table (Arrow's, polars'): its columns by name, through to_pandas
        and not hasattr(value, "to_pandas")
        and not hasattr(value, "columns")
    )


def frame_of(data: DataLike) -> tuple[pd.DataFrame, str]:
    """A table from what ``fit`` was given, and how to name it in messages."""
    if data is None or (isinstance(data, str) and not data.strip()):
        raise InputError(
            "no data given: give a DataFrame, a dict of columns, an (x, y) tuple "
            "of arrays, or a CSV or Parquet path."
        )
    if isinstance(data, pd.DataFrame):
        # a shallow copy to mark: the run takes copies of the columns it uses
        borrowed = data.copy(deep=False)
        borrowed.attrs[validate.BORROWED] = True
        if not all(isinstance(c, str) for c in borrowed.columns):
            # pd.DataFrame(array)'s 0, 1, 2: named "0", "1", "2" (x=0 finds "0")
            borrowed.columns = [str(c) for c in borrowed.columns]
        _named_once(borrowed, "the data frame")
        return borrowed, "the data frame"
    if isinstance(data, pd.Series):
        return pd.DataFrame({str(data.name or "y"): data.to_numpy()}), "the series"
    if _array_like(data):  # a JAX or other array: as NumPy's
        data = np.asarray(data)
    if isinstance(data, list) and _numbers(data):
        data = np.asarray(data)  # a list of numbers (or of rows): as its array
    if isinstance(data, np.ndarray):
        from gradtrace.data import array_frame

        return array_frame(data), "the array"
    if isinstance(data, tuple) and len(data) == 2:
        return _pair_frame(*data), "the (x, y) arrays"
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in data.items()}), "the data"
        except ValueError as err:
            raise InputError(
                f"the data columns do not fit together ({err}): give "
                "columns of equal length."
            ) from None
    if str(data) == "-":
        return read_table("-"), "standard input"
    if isinstance(data, str) and data in DATASETS:
        return builtin(data), f"built-in data set {data!r}"
    if isinstance(data, (str, Path)):
        return read_table(data), repr(str(data))
    if callable(getattr(data, "to_pandas", None)):  # polars, an Arrow table
        frame = data.to_pandas()
        if isinstance(frame, pd.DataFrame):
            named = f"the {type(data).__module__.split('.')[0]} {type(data).__name__}"
            _named_once(frame, named)
            return frame, named
    raise InputError(
        f"cannot use {type(data).__name__} as data: give a pandas DataFrame, a dict of "
        "columns, an (x, y) tuple of arrays ((None, y) for a distribution), an "
        "array or list of numbers (1-D: a distribution's y), or a CSV or Parquet "
        "path."
    )


def _named_once(frame: pd.DataFrame, source: str) -> None:
    """Refuse a table that names a column twice, first: ``frame[name]`` is then
    two columns, and what came of it was refused as something else ("no x
    columns besides 'age'")."""
    no_duplicates([str(c) for c in frame.columns], source, header=False)


def _numbers(values: list[Any]) -> bool:
    """Whether a list holds numbers, or rows of numbers, as an array would
    (a 1-D list is then a distribution's y, as a 1-D array is)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # rows of different lengths
        return False
    return array.ndim in (1, 2) and array.size > 0 and array.dtype.kind in "biuf"


def _pair_frame(x: Any, y: Any) -> pd.DataFrame:
    """The table of an (x, y) tuple: x one column or [rows, columns], y one value
    a row; (None, y) for a distribution, which reads y alone. x's columns are
    ``x`` (one) or ``x0``, ``x1``, ..., a data frame's or a named series' own names;
    y keeps its series' name (``attrs["y"]``), unless an x column has it."""
    own = str(y.name) if isinstance(y, pd.Series) and y.name is not None else "y"
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        own = str(y.columns[0])
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        # a column, as Keras and PyTorch keep targets: (rows, 1) is one a row
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(
            f"y of the (x, y) arrays must be one value per row, got an array of "
            f"shape {y.shape}: give a 1-D array."
        )
    if x is None:
        return pd.DataFrame({own: y})
    names = None
    if isinstance(x, pd.DataFrame):  # scikit-learn's way: (X, y), X's names kept
        names = [str(c) for c in x.columns]
    elif isinstance(x, pd.Series) and x.name is not None:
        names = [str(x.name)]
    if names is not None:
        if "y" in names:
            raise InputError(
                "x of the (x, y) arrays has a column named 'y' as well: rename "
                "it, or pass one data frame with x and y as columns."
            )
    x = np.asarray(x)
    if x.ndim == 1:
        cols = {"x" if names is None else names[0]: x}
    elif x.ndim == 2 and names is not None:
        cols = {name: x[:, i] for i, name in enumerate(names)}
    elif x.ndim == 2 and x.shape[1] == 1:  # one column, as scikit-learn's X
        cols = {"x": x[:, 0]}
    elif x.ndim == 2:
        cols = {f"x{i}": x[:, i] for i in range(x.shape[1])}
    else:
        raise InputError(
            f"x of the (x, y) arrays must be 1-D (one column) or 2-D (rows, "
            f"columns), got an array of shape {x.shape}."
        )
    if len(x) != len(y):
        raise InputError(
            f"x and y have different lengths ({len(x)} and {len(y)})"
            ": give one y per row of x."
        )
    if own == "y" or own in cols:  # unnamed, or named as an x column
        return pd.DataFrame({**cols, "y": y})
    frame = pd.DataFrame({**cols, own: y})
    frame.attrs["y"] = own  # the run's y unless another is named
    return frame


#: Built-in models whose parameters of the same name mean the same in each: the
#: Gaussian regressions with a linear mean (a line's b is a poly's b).
SAME_MEAN = frozenset({"line", "linear", "poly"})


def truth_of(source: str | None, model: str) -> tuple[dict[str, Any], str | None]:
    """The true parameters behind the data ``source`` names, for a run of
    ``model``: a built-in data set's, or what ``gradtrace data`` recorded with a
    file, where it drew data of that model and the file is still the one it wrote;
    and a note where the record no longer fits the file."""
    if source is None:
        return {}, None
    if source in DATASETS:
        return dict(DATASETS[source].truth), None
    record = truth_record(source)
    if record.get("stale"):
        return {}, (
            f"{truth_path(source).name} holds the truth of another {Path(source).name} "
            "(the file was written over since gradtrace data wrote it, its "
            "checksum differs): its true values are left out; delete that file, or "
            "write the data again with gradtrace data"
        )
    drawn = record.get("model")
    if drawn is not None and drawn != model and model in MODELS:
        if not {drawn, model} <= SAME_MEAN:
            # another model's parameters (a logistic's b is not a line's); a model
            # of one's own is matched by its parameters' names (matching_truth)
            return {}, None
    return dict(record.get("params", {})), None


def data_file(source: str | None) -> dict[str, Any]:
    """Where a data file is and a checksum of it, so ``rerun`` can find and check
    it. A file is read whole for its checksum once while it stays as it was (its
    inode, size and modification time): a streamed run's checkpoints read a
    file larger than memory once each before."""
    if source is None or source == "-" or source in DATASETS:
        return {}
    p = Path(source)
    if not p.is_file():
        return {}
    where = p.resolve()
    stat = where.stat()
    # a file rewritten with its modification time kept (cp -p, rsync -t) has a
    # new change time
    key = (str(where), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _CHECKSUMS:
        if len(_CHECKSUMS) >= KEPT_CHECKSUMS:  # the oldest out
            del _CHECKSUMS[next(iter(_CHECKSUMS))]
        _CHECKSUMS[key] = file_sha256(where)
    return {"path": str(where), "sha256": _CHECKSUMS[key]}


#: ``data_file``'s checksums of the files last asked for (a run's data and
#: validation files, a sweep's), by (path, inode, size, modification and
#: change times), oldest first.
_CHECKSUMS: dict[tuple[str, int, int, int, int], str] = {}
KEPT_CHECKSUMS = 8
