"""Data in: the built-in data sets (the seeds' examples) and table files.

Built-in data sets are CSV files shipped in ``gradtrace/datasets`` and written by
``tools/make_datasets.py``; each records the true parameters it was drawn from.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gradtrace.core.arrays import aligned_empty
from gradtrace.errors import InputError
from gradtrace.text import column_hint, header_example
from gradtrace.textfields import WHITESPACE, a_number, names_of, separator_of


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


TRUTH_KEY = b"gradtrace.truth"


def truth_path(path: str | Path) -> Path:
    """The sidecar file that records a CSV's true parameters: ``<file>.truth.json``."""
    p = Path(path)
    return p.with_name(p.name + ".truth.json")


def _file_near(path: Path) -> str | None:
    """A file in ``path``'s folder whose name is close to its name (``line.csv``
    for ``lines.csv``), as ``path`` would have written it; None where none is,
    or the folder cannot be read."""
    folder = path.parent
    try:
        names = [f.name for f in folder.iterdir() if f.is_file()]
    except OSError:
        return None
    near = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    if not near:
        return None
    return near[0] if str(folder) == "." else str(folder / near[0])


def read_table(path: str | Path, as_written: bool = False) -> pd.DataFrame:
    """Read a table: CSV or TSV with a header, Parquet, NumPy ``.npy``/``.npz``, or
    ``-`` for CSV on standard input. ``as_written``: a CSV's or TSV's fields,
    strings (a zip code's leading 0 kept), to write back unchanged.

    A ``.npy`` array is one column ``y`` (1-D) or columns ``x``, ``y`` (two columns)
    or ``x0``, ``x1``, ..., ``y`` (the last column is y); an ``.npz`` archive gives one
    column per 1-D array, by name.

    Raises:
        InputError: the file is missing, empty or not a table.
    """
    if str(path) == "-":
        # read whole, so that its header line is read as written: a column named
        # y.1 beside y is its own, not pandas' renaming of a second y
        return text_table(stdin_text(), as_written)
    p = Path(path)
    if not p.exists():
        near = difflib.get_close_matches(str(path), list(DATASETS), n=1, cutoff=0.6)
        also = f", or did you mean the built-in data set {near[0]!r}?" if near else "."
        beside = _file_near(p)
        if beside is not None:  # lines.csv for line.csv
            also = f", or did you mean {beside!r}?"
        raise InputError(f"data file {str(p)!r} not found: check the path{also}")
    if p.is_dir():
        raise InputError(
            f"{str(p)!r} is a folder, not a data file: give a CSV, TSV, Parquet, "
            ".npy or .npz file."
        )
    if not p.is_file():  # a pipe (bash's <(...)): it can be read only once
        text = _utf8(p.read_bytes(), repr(str(p)))
        if not text.strip():
            raise InputError(f"data file {str(p)!r} is empty: it needs a header row.")
        return text_table(text, as_written, repr(str(p)))
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _guard(repr(str(p)), lambda: _parquet_frame(p))
    if suffix == ".npy":
        return _guard(repr(str(p)), lambda: _npy_frame(np.load(p, allow_pickle=False)))
    if suffix == ".npz":
        return _guard(repr(str(p)), lambda: _npz_frame(p))
    if suffix in (".json", ".jsonl", ".ndjson"):
        lines = ", lines=True" * (suffix != ".json")
        raise InputError(
            f"{str(p)!r} is JSON, which gradtrace does not read: write it as CSV or "
            f"Parquet (pandas: pd.read_json(f{lines}).to_parquet('data.parquet')) "
            "and give that file."
        )
    if suffix in (".xlsx", ".xls", ".xlsm", ".ods"):
        raise InputError(
            f"{str(p)!r} is a spreadsheet: save it as CSV (File > Save As > CSV) "
            "and give that file."
        )
    # a compressed table (.csv.gz, .zip) is read as pandas reads it; its kind
    # and its header line come from inside
    inner = Path(p.stem).suffix.lower() if suffix in COMPRESSED else suffix
    head, *below = _first_line(p, lines=2).split("\n", 1)
    sep = "\t" if inner in (".tsv", ".tab") else separator_of(head, below)
    no_duplicates(names_of(head, sep), repr(str(p)))
    comma = sep == ";" and _decimal_commas(_first_line(p, lines=DECIMAL_LINES), sep)
    frame = _read_text(p, sep, repr(str(p)), head, as_written, comma)
    if comma:
        _decimal_comma_noted(frame, repr(str(p)))
    return _dialect_kept(_without_trailing_commas(frame), sep, comma)


#: In a frame's ``attrs``: what reading its file had to say, for the run's
#: notices.
READ_NOTICES = "gradtrace.read_notices"
#: In a text table's ``attrs``: how its file wrote it, (separator, decimal comma),
#: for writing a table back as the user's spreadsheet wrote theirs
TEXT_DIALECT = "gradtrace.text_dialect"


def _dialect_kept(frame: pd.DataFrame, sep: str, comma: bool) -> pd.DataFrame:
    frame.attrs[TEXT_DIALECT] = (sep, comma)
    return frame


def text_table(
    text: str, as_written: bool = False, source: str = "standard input"
) -> pd.DataFrame:
    """The table of standard input's ``text`` (``stdin_text``), or a pipe's
    (``source``: its name in messages), as ``read_table`` reads a file
    (``as_written``: its fields as strings)."""
    line = text.split("\n", 1)[0]
    sep = separator_of(line, text.split("\n", 2)[1:2])
    no_duplicates(names_of(line, sep), source)
    head = "\n".join(text.split("\n", DECIMAL_LINES)[:DECIMAL_LINES])
    comma = sep == ";" and _decimal_commas(head, sep)
    frame = _read_text(io.StringIO(text), sep, source, line, as_written, comma)
    if comma and not as_written:
        _decimal_comma_noted(frame, source)
    return _dialect_kept(_without_trailing_commas(frame), sep, comma)


def stdin_text() -> str:
    """Standard input, whole, as UTF-8 text (a byte-order mark dropped)."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream put in its place
        return sys.stdin.read()
    return _utf8(raw.read(), "standard input")


def _utf8(raw: bytes, source: str) -> str:
    """Standard input's or a pipe's bytes (``source``) as UTF-8 text, a
    byte-order mark dropped; a one-line refusal of another encoding."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"{source} is not UTF-8 text (another encoding, or not a text "
            "table): save it as UTF-8 (a spreadsheet's 'CSV UTF-8'), or give a "
            "Parquet, .npy or .npz file."
        ) from None


#: Lines of a semicolon-separated file that ``_decimal_commas`` looks at
DECIMAL_LINES = 50
#: A number written with a decimal comma (2,5; -0,125; 1,5e3), and with a point
_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")


def _decimal_commas(lines: str, sep: str) -> bool:
    """Whether a table parted by ``sep`` (a semicolon: a spreadsheet's CSV in a
    locale that writes 2,5 for 2.5) writes its numbers with decimal commas: some
    field below the header is such a number, and none is one with a point."""
    fields = [
        f.strip().strip('"') for line in lines.split("\n")[1:] for f in line.split(sep)
    ]
    if any(_POINT_NUMBER.fullmatch(f) for f in fields):
        return False
    return any(_COMMA_NUMBER.fullmatch(f) for f in fields)


#: The encoding a text table that is not UTF-8 is read in: a Windows spreadsheet's
#: plain "CSV" (Excel's, in Western locales)
LEGACY_ENCODING = "cp1252"


def _legacy_text(source: Any) -> bool:
    """Whether a file that is not UTF-8 (``source``: a path) reads as
    Windows-1252 text: no NUL byte (a binary file's) and every byte defined
    there, in its first megabyte."""
    if not isinstance(source, (str, Path)):
        return False
    try:
        with open(source, "rb") as fh:
            raw = fh.read(1 << 20)
    except OSError:
        return False
    if b"\x00" in raw or Path(source).suffix.lower() in COMPRESSED:
        return False
    try:
        raw.decode(LEGACY_ENCODING)
    except UnicodeDecodeError:
        return False
    return True


def _decimal_comma_noted(frame: pd.DataFrame, name: str) -> None:
    """Say (``READ_NOTICES``) that ``name``'s numbers were read with decimal
    commas."""
    said = (
        f"the numbers of {name} are read with decimal commas (2,5 as 2.5), as its "
        "semicolons and numbers say a spreadsheet wrote them"
    )
    frame.attrs[READ_NOTICES] = [*frame.attrs.get(READ_NOTICES, []), said]


def _read_text(
    source: Any,
    sep: str,
    name: str,
    head: str = "",
    text: bool = False,
    decimal_comma: bool = False,
) -> pd.DataFrame:
    """A text table whose first line is ``head``. Rows of one field more than the
    header names make pandas take the first column as the index: a separator at
    the end of every row but the header's is left out (the fields it ends are
    empty); otherwise the first field is a row name, as R's write.table writes
    them, and a notice says so (``READ_NOTICES``: it may be data the header did
    not name). Parted by spaces, a header marked "# x y" (numpy's savetxt) names
    the columns."""
    options: dict[str, Any] = {"sep": sep, "skipinitialspace": True}
    if decimal_comma and not text:  # 2,5 for 2.5 (``_decimal_commas``)
        options["decimal"] = ","
    if text:  # every field as written: nothing parsed, an empty one ""
        options.update(dtype=str, keep_default_na=False)
    if sep == WHITESPACE and head.lstrip("\ufeff").startswith("#"):
        options.update(skiprows=1, header=None, names=names_of(head, sep))
    legacy = False

    def read() -> pd.DataFrame:
        nonlocal legacy
        try:
            return pd.read_csv(source, **options)
        except UnicodeDecodeError:
            if not _legacy_text(source):
                raise
            legacy = True
            return pd.read_csv(source, **options, encoding=LEGACY_ENCODING)

    frame = _guard(name, read)
    if legacy:  # what it said is read, and how
        frame.attrs[READ_NOTICES] = [
            *frame.attrs.get(READ_NOTICES, []),
            f"{name} is not UTF-8: it is read as Windows-1252 (cp1252), the "
            "encoding of a spreadsheet's plain CSV on Windows; check its column "
            "names, or save it as UTF-8",
        ]
    default = pd.RangeIndex(len(frame))
    if frame.index.equals(default) and frame.index.name is None:
        # a first column of 0, 1, 2, ... taken as the index would pass: rare
        return _unnamed_row_names(frame, names_of(head, sep)[:1], name, text)
    if len(frame.columns) and frame[frame.columns[-1]].isna().all():
        if hasattr(source, "seek"):
            source.seek(0)
        return _guard(
            name,
            lambda: pd.read_csv(source, **options, index_col=False),
        )
    first = frame.index[0]
    return _row_names_noted(
        frame.reset_index(drop=True),
        frame.index if text else None,
        f"the rows of {name} have one field more than its header names: the first "
        f"of each ({first!r} in the first row) is taken for the row's name, not "
        "data, as R's write.table writes row names",
    )


#: ``DataFrame.attrs`` key of a table read with its fields as written
#: (``as_written``): the row names its reading left out (``_row_names_noted``),
#: as written, for ``gradtrace predict`` to write back beside its predictions
ROW_NAMES = "gradtrace.row_names"


def _unnamed_row_names(
    frame: pd.DataFrame, first_name: list[str], name: str, keep: bool = False
) -> pd.DataFrame:
    """``frame`` less a first column that its header line leaves unnamed
    (``first_name`` [""]): row names, as R's write.csv and pandas' to_csv write
    them, which a linear model took for an x column; a notice says so."""
    if first_name != [""] or len(frame.columns) < 2:
        return frame
    column = frame.columns[0]
    first = frame[column].iloc[:1].tolist()[0] if len(frame) else None
    names = frame[column]
    return _row_names_noted(
        frame.drop(columns=column),
        names if keep else None,
        f"the first column of {name} has no name in its header: its fields "
        f"({first!r} in the first row) are taken for the rows' names, not data, as "
        "R's write.csv and pandas' to_csv write row names",
    )


def _row_names_noted(frame: pd.DataFrame, names: Any, said: str) -> pd.DataFrame:
    """``frame``, read without its row names (``names``), with the notice
    ``said`` of them (``READ_NOTICES``), and what to do where they were data; a
    table of fields as written keeps the names (``names``: not None) as written
    (``ROW_NAMES``)."""
    frame.attrs[READ_NOTICES] = [f"{said}; if it is data, name it in the header line"]
    if names is not None:
        frame.attrs[ROW_NAMES] = [str(v) for v in names]
    return frame


def _without_trailing_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less the empty columns a trailing separator on every line makes
    (pandas names them "Unnamed: 2"; a run noted "column 'Unnamed: 2' is not
    used"), and less the rows at its end whose every cell is empty (",,," lines: a
    spreadsheet's saved rows below its data), said in ``READ_NOTICES``."""
    empty = [
        c
        for c in frame.columns
        if str(c).startswith("Unnamed: ") and frame[c].isna().all()
    ]
    if empty:
        frame = frame.drop(columns=empty)
    last = len(frame)  # the rows up to the last one with a cell written
    while last and len(frame.columns) and _blank(frame.iloc[last - 1]):
        last -= 1
    if len(frame.columns) and len(frame):
        tail = len(frame) - last
        if tail and last:  # some rows of data above them
            attrs = dict(frame.attrs)
            frame = frame.iloc[:last]
            frame.attrs.update(attrs)
            said = (
                f"the last {tail} rows are empty (every cell), as a spreadsheet "
                "saves rows below its data: left out"
                if tail > 1
                else "the last row is empty (every cell), as a spreadsheet saves "
                "rows below its data: left out"
            )
            frame.attrs[READ_NOTICES] = [*frame.attrs.get(READ_NOTICES, []), said]
    return frame


def _blank(row: pd.Series) -> bool:
    """Whether every cell of ``row`` is empty: missing, or (a table read as
    written, its fields as text) the empty string."""
    return all(
        (isinstance(v, str) and not v.strip())
        or (not isinstance(v, str) and pd.isna(v))
        for v in row.tolist()
    )


#: Compressed files pandas reads by their suffix (and Python's standard library
#: opens): their first line is read from inside.
COMPRESSED = (".gz", ".bz2", ".xz", ".zip", ".tgz", ".tar", ".zst")


def _first_line(path: Path, lines: int = 1) -> str:
    """A text table's first line (its first ``lines`` lines), from inside a
    compressed file too; "" where it cannot be read (reading the table then says
    what is wrong)."""
    import bz2
    import gzip
    import lzma
    import tarfile
    import zipfile

    suffix = path.suffix.lower()
    try:
        if ".tar" in path.name.lower() or suffix == ".tgz":  # pandas reads these
            with tarfile.open(path) as archive:
                member = next((m for m in archive.getmembers() if m.isfile()), None)
                raw = None if member is None else archive.extractfile(member)
                if raw is None:
                    return ""
                text = io.TextIOWrapper(raw, "utf-8-sig", errors="replace")
                return _lines_of(text, lines)
        if suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if not names:
                    return ""
                with archive.open(names[0]) as raw:
                    text = io.TextIOWrapper(raw, "utf-8-sig", errors="replace")
                    return _lines_of(text, lines)
        opener: Any = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(
            suffix, open
        )
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
            return _lines_of(fh, lines)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error):
        return ""
    except tarfile.TarError:  # not an OSError
        return ""


def _lines_of(text: Any, lines: int) -> str:
    """The first ``lines`` lines of an open text file, joined."""
    return "".join(str(text.readline()) for _ in range(lines))


def no_duplicates(names: Sequence[str], source: str, header: bool = True) -> None:
    """Refuse a header that names a column twice: pandas would rename the second
    (y.1) and the first would be fitted, silently. ``header``: the names are a
    text file's first line (else a table's columns, as a data frame has them)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:
            if header and a_number(name):  # a first line of data, no header: 0 twice
                raise InputError(
                    f"the first line of {source} looks like a row of data, not "
                    f"column names ({name!r} in columns {seen[name] + 1} and "
                    f"{i + 1}): add a header line naming the columns, such as "
                    f"{header_example(len(names))}."
                )
            raise InputError(
                f"{source} has two columns named {name!r} (columns {seen[name] + 1} "
                f"and {i + 1}{' of its header' * header}): rename one, or remove it."
            )
        seen.setdefault(name, i)


def read_truth(path: str | Path) -> dict[str, Any]:
    """True parameters recorded with a data file by ``gradtrace data``, if any and
    if the file is still the one they were drawn for (``truth_record``)."""
    record = truth_record(path)
    return {} if record.get("stale") else dict(record.get("params", {}))


def truth_record(path: str | Path) -> dict[str, Any]:
    """What ``gradtrace data`` recorded with a data file: ``params`` (the true
    parameters), ``model`` (the kind of data drawn), and for a CSV or TSV, whose
    record is a file beside it, ``stale`` where the file's SHA-256 is no longer
    the one recorded (the file was written over since). Empty where there is none
    (a record of an older gradtrace holds the parameters alone)."""
    if str(path) == "-":
        return {}
    p = Path(path)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            meta = pq.read_schema(p).metadata or {}
            raw = json.loads(meta[TRUTH_KEY]) if TRUTH_KEY in meta else {}
        else:
            side = truth_path(p)
            raw = json.loads(side.read_text()) if side.is_file() else {}
    except (OSError, ValueError, pa.ArrowException):
        return {}
    if not isinstance(raw, dict) or not raw:
        return {}
    if not isinstance(raw.get("params"), dict):
        return {"params": raw}  # an older record: the parameters alone
    record = {"params": raw["params"], "model": raw.get("model")}
    digest = raw.get("sha256")
    if digest is not None and p.is_file():
        record["stale"] = file_sha256(p) != digest
    return record


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in pieces (a data file may be larger than memory)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _guard(source: str, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        frame = read()
    except InputError:
        raise  # said already (two columns of one name)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"data file {source} is empty: it needs a header row naming its "
            "columns and rows of numbers below it (two at least to fit; one to "
            "predict at)."
        ) from None
    except UnicodeDecodeError:
        raise InputError(
            f"{source} is not UTF-8 text (another encoding, or not a text table): "
            "save it as UTF-8 (a spreadsheet's 'CSV UTF-8'), or give a Parquet, "
            ".npy or .npz file."
        ) from None
    except PermissionError:
        raise InputError(
            f"cannot read {source}: permission denied (make it readable, chmod "
            "u+r, or give a copy that is)."
        ) from None
    except ImportError as err:  # a .zst without the zstandard package
        said = (str(err).strip().splitlines() or ["a package is missing"])[0]
        raise InputError(
            f"cannot read {source} ({said.rstrip('.')}): decompress it first, or "
            "save it as .gz."
        ) from None
    except (zlib.error, EOFError) as err:  # a .gz cut short or corrupt
        raise InputError(
            f"cannot read {source}: its compressed data are damaged or cut short "
            f"({err}); compress it again, or give it uncompressed."
        ) from None
    except (ValueError, OSError, pa.ArrowException) as err:
        text = str(err).strip().splitlines()
        first = text[0] if text else type(err).__name__
        if "allow_pickle" in first:  # numpy's advice, which no flag can take
            raise InputError(
                f"{source} is not an array of numbers (it holds Python objects, or "
                "is not a .npy file): save a numeric array with numpy.save, or "
                "give a CSV or Parquet file."
            ) from None
        raise InputError(
            f"cannot read {source} as a table ({first}): give a CSV file with a "
            "header row, a TSV, Parquet, .npy or .npz file."
        ) from None
    if frame.columns.empty:
        raise InputError(f"data file {source} has no columns: it needs a header row.")
    first = str(frame.columns[0]).lstrip("\ufeff")
    if first.startswith("#") and first != "#":
        if len(frame.columns) == 1:  # a line of its own: a comment
            raise InputError(
                f"the first line of {source} is a comment ({first!r}): remove the "
                "comment lines above the header, whose names the first line must "
                "give."
            )
        # numpy's savetxt(header=...) writes "# x,y": the header, marked
        frame = frame.rename(columns={frame.columns[0]: first.lstrip("#").strip()})
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    no_duplicates(list(frame.columns), source)
    return frame


def array_frame(arr: np.ndarray) -> pd.DataFrame:
    """Columns from an array: 1-D is ``y``; 2-D is ``x`` (or ``x0``, ``x1``, ...)
    then ``y`` in the last column; another shape is refused in one line."""
    if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] < 1):
        raise InputError(
            f"the array has shape {arr.shape}: give y as a 1-D array, or a 2-D "
            "array of a row per observation whose last column is y (the others "
            "x0, x1, ...), or (x, y) as two arrays."
        )
    return _npy_frame(arr)


def _npy_frame(arr: np.ndarray) -> pd.DataFrame:
    if arr.ndim == 1:
        return pd.DataFrame({"y": arr})
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"expected a 1-D or 2-D array, got shape {arr.shape}")
    k = arr.shape[1] - 1
    names = ["x"] if k == 1 else [f"x{i}" for i in range(k)]
    return pd.DataFrame(arr, columns=[*names, "y"][-arr.shape[1] :])


def _npz_frame(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as archive:
        cols = {k: archive[k] for k in archive.files}
    bad = [k for k, v in cols.items() if v.ndim != 1]
    if bad:
        raise ValueError(f"array {bad[0]!r} is not 1-D")
    return pd.DataFrame(cols)


GENERATORS: dict[str, str] = {
    "line": "y = w*x + b + N(0, noise^2), x ~ U[0, 1) (seed 001's generator)",
    "linear": "y = x @ w + b + N(0, noise^2), columns x0, x1, ... ~ N(0, 1), one per w",
    "normal": "y ~ N(loc, scale^2)",
    "logistic": "y ~ Bernoulli(sigmoid(x @ w + b)), column x (x0, x1, ... for "
    "several w) ~ N(0, 1)",
    "poisson": "y ~ Poisson(rate): counts",
    "poisson-regression": "y ~ Poisson(exp(x @ w + b)): counts, column x (x0, x1, "
    "... for several w) ~ N(0, 1)",
    "exponential": "y ~ Exponential(rate): waiting times, mean 1/rate",
    "exp-decay": "y = a*exp(-b*x) + c + N(0, noise^2), x ~ U[0, 10)",
}


def generate(
    kind: str,
    n: int,
    *,
    w: Sequence[float] = (1.0,),
    b: float = 0.0,
    noise: float = 1.0,
    loc: float = 0.0,
    scale: float = 1.0,
    rate: float = 1.0,
    a: float = 1.0,
    c: float = 0.0,
    seed: int = 0,
    x_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Synthetic data drawn with NumPy from ``seed``, and the truth behind it
    (``GENERATORS`` says what each kind draws); ``x_range``: where a line's x
    are drawn uniformly (0 to 1 by default, seed 001's)."""
    rng = np.random.default_rng(seed)
    if kind == "line" and len(w) != 1:
        raise ValueError(f"a {kind} has one slope, got {len(w)}")
    if kind == "line":
        x = rng.uniform(*x_range, n)
        y = w[0] * x + b + rng.normal(0.0, noise, n)
        return pd.DataFrame({"x": x, "y": y}), {
            "w": float(w[0]),
            "b": float(b),
            "scale": float(noise),
        }
    if kind == "linear":
        xs = rng.normal(0.0, 1.0, (n, len(w)))
        y = xs @ np.asarray(w, float) + b + rng.normal(0.0, noise, n)
        cols = {f"x{i}": xs[:, i] for i in range(len(w))}
        return pd.DataFrame({**cols, "y": y}), {
            "w": [float(v) for v in w],
            "b": float(b),
            "scale": float(noise),
        }
    if kind == "normal":
        y = rng.normal(loc, scale, n)
        return pd.DataFrame({"y": y}), {"loc": float(loc), "scale": float(scale)}
    if kind in ("logistic", "poisson-regression"):
        # one slope: one column x, drawn as before several were taken
        xs = rng.normal(0.0, 1.0, (n, len(w)) if len(w) > 1 else n).reshape(n, -1)
        eta = xs @ np.asarray(w, float) + b
        if kind == "logistic":
            chance = 0.5 * (1.0 + np.tanh(eta / 2))  # sigmoid, no overflow
            y = (rng.uniform(0.0, 1.0, n) < chance).astype(np.int64)
        else:
            y = rng.poisson(np.exp(eta))
        names = ["x"] if len(w) == 1 else [f"x{i}" for i in range(len(w))]
        cols = {name: xs[:, i] for i, name in enumerate(names)}
        # the models' slopes are a vector, one per x column
        return pd.DataFrame({**cols, "y": y}), {
            "w": [float(v) for v in w],
            "b": float(b),
        }
    if kind == "poisson":
        counts = rng.poisson(rate, n)
        return pd.DataFrame({"y": counts}), {"rate": float(rate)}
    if kind == "exponential":
        y = rng.exponential(1.0 / rate, n)
        return pd.DataFrame({"y": y}), {"rate": float(rate)}
    if kind == "exp-decay":  # b: the decay rate (the exp-decay model's names)
        x = rng.uniform(0.0, 10.0, n)
        y = a * np.exp(-b * x) + c + rng.normal(0.0, noise, n)
        return pd.DataFrame({"x": x, "y": y}), {
            "a": float(a),
            "b": float(b),
            "c": float(c),
            "scale": float(noise),
        }
    raise KeyError(kind)


def write_table(
    frame: pd.DataFrame, path: str | Path, truth: dict[str, Any], model: str
) -> Path:
    """Write a generated table (CSV, TSV or Parquet by extension) with its truth,
    the parameters of ``model`` it was drawn from: Parquet keeps it in the file's
    metadata, CSV and TSV in ``<file>.truth.json`` with the file's SHA-256 (a file
    written over later is told apart). Both files are written to temporary names
    and renamed, so none is half-written."""
    p = Path(path)
    suffix = p.suffix.lower()
    tmp = p.with_name(f".{p.name}.tmp")
    record: dict[str, Any] = {"model": model, "params": truth}
    try:
        if suffix in (".parquet", ".pq"):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            meta = {**(table.schema.metadata or {}), TRUTH_KEY: json.dumps(record)}
            pq.write_table(table.replace_schema_metadata(meta), tmp)
        else:
            sep = "\t" if suffix in (".tsv", ".tab") else ","
            frame.to_csv(tmp, sep=sep, index=False, float_format="%.9g")
            record["sha256"] = file_sha256(tmp)
            side = truth_path(p)
            side_tmp = side.with_name(f".{side.name}.tmp")
            side_tmp.write_text(json.dumps(record, indent=2) + "\n")
            os.replace(side_tmp, side)
        os.replace(tmp, p)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {str(p)!r} ({err.strerror or err}): choose a writable path."
        ) from None
    return p


def _parquet_frame(path: Path) -> pd.DataFrame:
    """A Parquet file's table. A file of float columns is read a row group at a
    time into one array per column that starts on a 64-byte boundary, so the
    training device shares it instead of copying it (10 million rows: peak memory
    about the data's size; reading the whole table and converting it took about
    three times the data). Other files go through pandas' own conversion."""
    pf = pq.ParquetFile(path)
    fields = list(pf.schema_arrow)
    # two columns of one name would be one key below: the second fitted silently
    no_duplicates([f.name.strip() for f in fields], repr(str(path)))
    floats = {pa.float32(): np.float32, pa.float64(): np.float64}
    if not fields or any(f.type not in floats for f in fields):
        return pf.read().to_pandas(split_blocks=True, self_destruct=True)
    n = pf.metadata.num_rows
    columns = {f.name: aligned_empty(n, floats[f.type]) for f in fields}
    at = 0
    for i in range(pf.num_row_groups):
        size = pf.metadata.row_group(i).num_rows
        for f in fields:
            # a column at a time: Arrow's allocator keeps what a decoding used, so
            # decoding less at once lowers the peak (10 million rows of x and y,
            # 76 MB: 137 -> 101 MB)
            part = pf.read_row_group(i, columns=[f.name]).column(0)
            columns[f.name][at : at + size] = part.to_numpy(zero_copy_only=False)
            del part
        at += size
    # and what it keeps goes back to the system (10 million rows: 25 MB)
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False)


class ParquetRows:
    """The rows of a Parquet file, read on demand a row group at a time: the source
    of a streamed run (``gradtrace fit --stream``), which never holds the whole file.

    ``read(start, stop)`` gives (x, y) in ``dtype``: x of shape (rows,) for one
    column when ``flat_x``, else (rows, columns); None without x columns. A value
    that is missing, infinite or not a number is refused with its row, and so is
    what ``check_y(y, start)`` refuses (the model's support, say). With
    ``drop_missing``, the rows holding one are left out instead: a first pass
    over the file finds them (keeping only their places, ``dropped``), and the
    rows are numbered as kept. ``gone`` (another reader's ``gone``) or
    ``dropped_at`` (their places in the file) spare that pass."""

    def __init__(
        self,
        path: str | Path,
        x: Sequence[str],
        y: str,
        dtype: str,
        flat_x: bool,
        source: str,
        check_y: Callable[[np.ndarray, int], None] | None = None,
        drop_missing: bool = False,
        gone: list[np.ndarray] | None = None,
        dropped_at: Sequence[int] | None = None,
    ) -> None:
        self.check_y = check_y
        self.path, self.x, self.y = Path(path), list(x), y
        self.dtype, self.flat_x, self.source = np.dtype(dtype), flat_x, source
        self._file = pq.ParquetFile(self.path)
        meta = self._file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self._cached: tuple[int, dict[str, np.ndarray]] | None = None
        names = [str(n) for n in self._file.schema_arrow.names]
        no_duplicates([n.strip() for n in names], source)
        # a column's name as the file writes it ("y " is y, as in memory)
        self._named = {n.strip().lstrip("\ufeff"): n for n in names}
        names = list(self._named)
        for col in [*self.x, y]:
            if col not in names:
                hint = column_hint(col, names, "--y" if col == y else "--x")
                raise InputError(
                    f"column {col!r} not found in {source} (columns: "
                    f"{', '.join(names)}): {hint}"
                )
        #: each row group's rows left out for a missing or infinite value (their
        #: places in the group), where ``drop_missing``
        if drop_missing and gone is None and dropped_at is not None:
            # the places a run kept (run.json's dropped_at): no pass to find them
            at = np.asarray(dropped_at, np.int64)
            gone = [
                at[(at >= lo) & (at < hi)] - lo
                for lo, hi in zip(self._starts[:-1], self._starts[1:], strict=True)
            ]
        self._gone: list[np.ndarray] = [] if gone is None else gone
        if drop_missing and gone is None:
            for g in range(len(sizes)):
                cols = self._group(g, keep_all=True).values()
                ok = np.logical_and.reduce([np.isfinite(v) for v in cols])
                self._gone.append(np.flatnonzero(~ok))
        if drop_missing:
            kept = np.asarray(sizes, np.int64) - [len(v) for v in self._gone]
            self._starts = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])
            self._cached = None

    @property
    def gone(self) -> list[np.ndarray]:
        """Each row group's rows left out (``drop_missing``): given to another
        reader of the same rows, it spares that one the first pass."""
        return self._gone

    @property
    def dropped(self) -> int:
        """How many rows ``drop_missing`` left out."""
        return int(sum(len(v) for v in self._gone))

    def dropped_rows(self) -> list[int]:
        """The rows left out, by their places in the file."""
        meta = self._file.metadata
        starts = np.cumsum(
            [0] + [meta.row_group(g).num_rows for g in range(len(self._gone))]
        )
        pairs = zip(starts[:-1], self._gone, strict=True)
        return [int(s + i) for s, gone in pairs for i in gone]

    @property
    def n_rows(self) -> int:
        return int(self._starts[-1])

    def x_range(self, names: Sequence[str]) -> dict[str, list[float]]:
        """Each of the columns ``names``' lowest and highest value over the
        file, from the statistics its writer kept for each row group (no pass
        over the rows); a column without them in every row group is left out."""
        meta = self._file.metadata
        if not meta.num_row_groups:
            return {}
        places = {
            meta.row_group(0).column(j).path_in_schema: j
            for j in range(meta.num_columns)
        }
        out = {}
        for name in names:
            j = places.get(self._named.get(name, name))
            if j is None:
                continue
            stats = [
                meta.row_group(i).column(j).statistics
                for i in range(meta.num_row_groups)
            ]
            if not all(
                st is not None
                and st.has_min_max
                and isinstance(st.min, (int, float))
                and isinstance(st.max, (int, float))
                for st in stats
            ):
                continue  # not kept, or not numbers (a decimal's, text's)
            low = min(float(st.min) for st in stats)
            high = max(float(st.max) for st in stats)
            if np.isfinite(low) and np.isfinite(high):
                out[name] = [low, high]
        return out

    def _group(self, i: int, keep_all: bool = False) -> dict[str, np.ndarray]:
        """Row group ``i``'s columns, its dropped rows left out unless
        ``keep_all`` (which reads it afresh, uncached)."""
        if keep_all or self._cached is None or self._cached[0] != i:
            self._cached = None  # let the previous group go before reading the next
            wanted = [*self.x, self.y]
            table = self._file.read_row_group(
                i, columns=list(dict.fromkeys(self._named[c] for c in wanted))
            )
            cols = {c: self._column(table, c) for c in wanted}
            if keep_all:
                return cols
            if self._gone and len(self._gone[i]):
                cols = {c: np.delete(v, self._gone[i]) for c, v in cols.items()}
            self._cached = (i, cols)
        return self._cached[1]

    def _column(self, table: pa.Table, name: str) -> np.ndarray:
        col = table.column(self._named[name])
        kind = col.type
        if pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
            # True/False as 1/0 and decimals as floats, as in memory
            col = col.cast(pa.float64())
        elif _numbers_as_text(col):
            # read whole, such text is parsed (validate._numeric); a stream
            # reads typed columns only
            raise InputError(
                f"column {name!r} of {self.source} holds numbers written as text "
                f"({kind}), which --stream does not read: drop --stream to read the "
                "file whole (its text parsed as numbers), or write the column as "
                f"numbers (pandas: df[{name!r}] = pd.to_numeric(df[{name!r}]); "
                "df.to_parquet(f))."
            )
        elif not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            raise InputError(
                f"column {name!r} of {self.source} holds {kind}, not numbers: "
                "give numeric columns with --x and --y."
            )
        return np.asarray(col.to_numpy(zero_copy_only=False), self.dtype)

    def read(self, start: int, stop: int) -> tuple[np.ndarray | None, np.ndarray]:
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        parts: dict[str, list[np.ndarray]] = {c: [] for c in [*self.x, self.y]}
        g = first
        while g < len(self._starts) - 1 and self._starts[g] < stop:
            lo = max(start, int(self._starts[g])) - int(self._starts[g])
            hi = min(stop, int(self._starts[g + 1])) - int(self._starts[g])
            for c, values in self._group(g).items():
                parts[c].append(values[lo:hi])
            g += 1
        cols = {c: np.concatenate(v) if len(v) > 1 else v[0] for c, v in parts.items()}
        for c, values in cols.items():
            bad = ~np.isfinite(values)
            if bad.any():
                i = start + int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"column {c!r} of {self.source} has a missing or non-finite value "
                    f"in data row {i + 1}: pass --drop-missing to leave such rows "
                    "out, or drop them from the file first."
                )
        y = cols[self.y]
        if self.check_y is not None:
            self.check_y(y, start)
        if not self.x:
            return None, y
        if self.flat_x and len(self.x) == 1:
            return cols[self.x[0]], y
        return np.stack([cols[c] for c in self.x], axis=1), y

    def head(self, rows: int) -> pd.DataFrame:
        """The first ``rows`` rows, every column, as a DataFrame."""
        batches = self._file.iter_batches(batch_size=max(1, rows))
        first = next(batches, None)
        if first is None:
            return pd.DataFrame({n: [] for n in self._named})
        frame = first.to_pandas()
        frame.columns = list(self._named)  # the names as in memory ("y " is y)
        return frame


def _numbers_as_text(col: pa.ChunkedArray) -> bool:
    """Whether an Arrow column is text whose first values read as numbers."""
    kind = col.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return False
    head = col.slice(0, 100).drop_null().to_pylist()
    return bool(head) and bool(
        pd.to_numeric(pd.Series(head), errors="coerce").notna().all()
    )
