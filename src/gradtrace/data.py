"""Data in: the built-in data sets (the seeds' examples) and table files.

Built-in data sets are CSV files shipped in ``gradtrace/datasets`` and written by
``tools/make_datasets.py``; each records the true parameters it was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from gradtrace.errors import InputError


@dataclass(frozen=True)
class Dataset:
    """A built-in data set: its file, its columns, and the truth it was drawn from."""

    name: str
    doc: str
    truth: dict[str, float] = field(default_factory=dict)

    def load(self) -> pd.DataFrame:
        path = resources.files("gradtrace") / "datasets" / f"{self.name}.csv"
        with resources.as_file(path) as p:
            return pd.read_csv(p, dtype="float32")


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "seed001_line",
            "100 points on y = x + 2, x ~ U[0, 1), noise sd 0.15",
            {"w": 1.0, "b": 2.0},
        ),
        Dataset(
            "seed001_gaussian",
            "1000 draws of y ~ N(2, 1) (x unused)",
            {"loc": 2.0, "scale": 1.0},
        ),
        Dataset(
            "seed002_normal",
            "10000 draws of y ~ N(0, 1), matched to seed 002's empirical mean "
            "-0.00150459 and variance 1.0139181",
            {"loc": 0.0, "scale": 1.0},
        ),
        Dataset(
            "seed003_linear",
            "1000 points on y = 3x + 2, x ~ N(0, 1), noise sd 1",
            {"w": 3.0, "b": 2.0},
        ),
        Dataset("seed004_keras", "the twelve points of seed 004's question"),
    ]
}


def builtin(name: str) -> pd.DataFrame:
    """The built-in data set ``name`` as a DataFrame of float32 columns."""
    return DATASETS[name].load()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (with a header) or Parquet file into a DataFrame.

    Raises:
        InputError: the file is missing, empty or not a table.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"data file {str(p)!r} not found: check the path.")
    if p.is_dir():
        raise InputError(
            f"{str(p)!r} is a folder, not a data file: give a CSV or Parquet file."
        )
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"data file {str(p)!r} is empty: it needs a header row and "
            "at least two rows of numbers."
        ) from None
    except (ValueError, OSError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"cannot read {str(p)!r} as a table ({first}): give a CSV "
            "file with a header row, or a Parquet file."
        ) from None
