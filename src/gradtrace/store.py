"""Run folders: ``trace.parquet`` and ``run.json``, written atomically.

A run is written into a temporary folder beside its destination and renamed into
place at the end, so a killed process never leaves a half-written run folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gradtrace.errors import RunFolderError

TRACE_FILE = "trace.parquet"
INFO_FILE = "run.json"
#: What continues an unfinished run (``gradtrace resume``): the optimizer's state
#: and every step's raw outputs so far.
STATE_FILE = "state.npz"


def save_run(
    frame: pd.DataFrame,
    info: dict[str, Any],
    folder: Path,
    force: bool = False,
    state: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write a run folder; refuses to replace an existing one unless ``force``.
    With ``state``, also ``state.npz``, so an unfinished run can be resumed."""
    folder = Path(folder)
    tmp = _temporary(folder, force)
    try:
        pq.write_table(_arrow(frame, info), tmp / TRACE_FILE)
        _finish(tmp, folder, info, state)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _temporary(folder: Path, force: bool) -> Path:
    """A new temporary folder beside ``folder``, after checking that ``folder`` may
    be written (it does not exist, or ``force``)."""
    if folder.exists() and not force:
        raise RunFolderError(
            f"run folder {str(folder)!r} already exists: choose "
            "another --out, or pass --force (force=True in Python) to replace it."
        )
    parent = folder.parent if str(folder.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent)
        )
    except OSError as err:
        raise RunFolderError(
            f"cannot write the run folder {str(folder)!r} "
            f"({err.strerror or err}): choose a writable --out."
        ) from None


def _finish(
    tmp: Path, folder: Path, info: dict[str, Any], state: dict[str, np.ndarray] | None
) -> None:
    """Write run.json (and state.npz) into ``tmp`` and rename it to ``folder``,
    replacing what was there."""
    (tmp / INFO_FILE).write_text(to_json(info) + "\n")
    if state is not None:
        np.savez(tmp / STATE_FILE, **state)  # type: ignore[arg-type]
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)


def save_info(folder: Path, info: dict[str, Any]) -> Path:
    """Write a run folder's run.json again (atomically: a new file renamed over)."""
    tmp = folder / f".{INFO_FILE}.tmp"
    tmp.write_text(to_json(info) + "\n")
    os.replace(tmp, folder / INFO_FILE)
    return folder


class TraceWriter:
    """A run folder written while its run goes, for a trace too long to hold:
    ``trace.parquet`` is a folder of part files, one per part of the run, in step
    order (pandas and pyarrow read such a folder as one table); ``run.json`` comes
    at the end. Until ``finish``, it is all in a temporary folder beside the
    destination, so a killed run never leaves a half-written run folder."""

    def __init__(self, folder: str | Path, force: bool = False) -> None:
        self.folder, self.force = Path(folder), force
        self.tmp = _temporary(self.folder, force)
        (self.tmp / TRACE_FILE).mkdir()
        self.parts = 0
        self.finished = False

    def write(self, frame: pd.DataFrame, diverged: bool = False) -> None:
        """Add the next part's rows (``diverged``: the last row is the diverging
        step, whose NaNs are data, not missing values)."""
        path = self.tmp / TRACE_FILE / f"part-{self.parts:06d}.parquet"
        pq.write_table(_arrow(frame, {"diverged": diverged}), path)
        self.parts += 1

    def finish(
        self, info: dict[str, Any], state: dict[str, np.ndarray] | None = None
    ) -> Path:
        """Write run.json and put the folder in place."""
        try:
            _finish(self.tmp, self.folder, info, state)
        except BaseException:
            self.discard()
            raise
        self.finished = True
        return self.folder

    def discard(self) -> None:
        """Remove what was written (a run that failed)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _arrow(frame: pd.DataFrame, info: dict[str, Any]) -> pa.Table:
    """The trace as an Arrow table: a value that does not apply is null, while a NaN
    that a diverging step produced stays NaN."""
    last_is_data = bool(info.get("diverged"))
    arrays, names = [], []
    for name in frame.columns:
        values = frame[name].to_numpy()
        mask = None
        if values.dtype.kind == "f":
            mask = np.isnan(values)
            if last_is_data and len(mask) > 1:
                mask[-1] = False
        arrays.append(pa.array(values, mask=mask))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def load_run(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a run folder written by ``Trace.save``: its trace table and run info."""
    folder = Path(folder)
    info_path, trace_path = folder / INFO_FILE, folder / TRACE_FILE
    if not info_path.is_file() or not trace_path.exists():
        raise RunFolderError(
            f"{str(folder)!r} is not a run folder (it needs "
            f"{INFO_FILE} and {TRACE_FILE}): give a folder that "
            "gradtrace fit wrote."
        )
    try:
        info = json.loads(info_path.read_text(), parse_constant=float)
        info = _decode(info)
        frame = pq.read_table(trace_path).to_pandas()
    except (OSError, ValueError, pa.ArrowException) as err:
        raise RunFolderError(
            f"cannot read the run folder {str(folder)!r} ({err})."
        ) from None
    return frame, info


def load_state(folder: str | Path) -> dict[str, np.ndarray]:
    """The saved state of an unfinished run (``state.npz``)."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise RunFolderError(
            f"{str(folder)!r} has no {STATE_FILE}: only a run that was interrupted "
            "or checkpointed (--checkpoint-every) can be resumed."
        )
    try:
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    except (OSError, ValueError) as err:
        raise RunFolderError(f"cannot read {path} ({err}).") from None


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return value


def to_json(value: Any) -> str:
    """JSON with non-finite floats written as the strings NaN, Infinity, -Infinity."""
    return json.dumps(_encode(value), indent=2)


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        if np.isnan(f):
            return "NaN"
        if np.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return f
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
