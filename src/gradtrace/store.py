"""Run folders: ``trace.parquet`` and ``run.json``, written atomically.

A run is written into a temporary folder beside its destination and renamed into
place at the end, so a killed process never leaves a half-written run folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from gradtrace.errors import InputError, RunFolderError
from gradtrace.paths import LATEST, RUNS, cache_home

TRACE_FILE = "trace.parquet"
INFO_FILE = "run.json"
#: What continues an unfinished run (``gradtrace resume``): the optimizer's state
#: and every step's raw outputs so far.
STATE_FILE = "state.npz"
#: How a trace's Parquet is written: without dictionaries (a trace's floats are
#: nearly all distinct, so Arrow built each column's dictionary and dropped it),
#: compressed by zstd. A part of 262144 steps of a line: 11 ms to write instead of
#: 27 ms, 2.6 MB -> 0.6 MB on disk, and 8 MB of memory kept by the writing instead
#: of 44 MB; a mini-batch run's 260000 steps 20-30 ms instead of 65 ms, 10 MB ->
#: 6.9 MB. Every Parquet reader of the last years reads zstd.
PARQUET_WRITE: dict[str, Any] = {"use_dictionary": False, "compression": "zstd"}


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
    lock = writing(folder)
    try:
        tmp = _temporary(folder, force)
        try:
            pq.write_table(_arrow(frame, info), tmp / TRACE_FILE, **PARQUET_WRITE)
            _finish(tmp, folder, info, state)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        release(lock)
    return folder


#: The files that mark a folder as gradtrace's own (a run's, a sweep's): the only
#: folders ``force`` replaces.
OWN_FILES = (INFO_FILE, "sweep.json")

#: Everything gradtrace writes into a run's or a sweep's folder, which ``force``
#: replaces (``plot.RUN_FIGURES`` are the pictures); anything else there is kept.
WRITTEN = (
    *OWN_FILES,
    TRACE_FILE,
    STATE_FILE,
    "sweep.parquet",
    "traces.parquet",
    "heatmap.png",
    "losses.png",
    "fit.png",
    "loss.png",
    "residuals.png",
    "params.png",
    "landscape.png",
    "mse_loglik.png",
    "report.html",
)


def replaceable(folder: Path, force: bool, what: str = "run") -> None:
    """Refuse to write ``what``'s folder ``folder`` over something. An empty folder
    is written into; a folder of gradtrace's (``OWN_FILES``) is replaced with
    ``force`` (what gradtrace did not write there stays: ``put_in_place``);
    anything else is refused: a file, a link, a folder of other things (the runs
    inside ``runs/``, your data), the current folder or one holding it."""
    if not (folder.exists() or folder.is_symlink()):
        return
    name = str(folder)
    if not folder.is_dir() or folder.is_symlink():
        raise RunFolderError(
            f"{name!r} is a file or a link, not a {what} folder: choose another "
            "--out (--force replaces only gradtrace's own folders)."
        )
    if holds_current(folder):
        raise RunFolderError(
            f"{name!r} holds the current folder: name a folder of its own for the "
            f"{what} with --out."
        )
    try:
        names = [p.name for p in folder.iterdir() if not _scratch(p.name)]
    except OSError as err:
        raise RunFolderError(
            f"cannot read {name!r} ({err.strerror or err}): choose another --out."
        ) from None
    if not names:
        return  # an empty folder: nothing to lose
    if not any(f in names for f in OWN_FILES):
        raise RunFolderError(
            f"{name!r} is not a gradtrace run or sweep folder (no run.json or "
            "sweep.json in it): choose another --out (--force replaces only those)."
        )
    if not force:
        unfinished = (
            "; it holds an unfinished run, which gradtrace resume "
            f"{shlex.quote(name)} goes on with"
            if STATE_FILE in names
            else ""
        )
        raise RunFolderError(
            f"{what} folder {name!r} already exists: choose another --out, or pass "
            f"--force to replace it{unfinished}."
        )


def holds_current(folder: Path) -> bool:
    """Whether ``folder`` is the current folder or one that holds it: a folder no
    command may put anew in its place."""
    here = Path.cwd().resolve()
    return folder.resolve() in (here, *here.parents)


def put_in_place(tmp: Path, folder: Path) -> None:
    """Put the folder ``tmp``, written whole, in the place of ``folder``.

    A folder that does not exist, or holds nothing but what gradtrace writes
    (``WRITTEN``), is swapped for ``tmp`` by renames. One that is empty, or that
    also holds things of yours (your data, notes, a ``.git``), stays where it is,
    with its owner, permissions and any mount: what gradtrace wrote there before
    goes aside, the new files come in, and if a move fails every file goes back
    where it was; yours are never moved."""
    if not folder.exists():
        os.replace(tmp, folder)
        return
    # written inside the folder itself where it is a mount (another file system:
    # a rename from beside it failed with EXDEV)
    inside = tmp.parent == folder
    here = [p.name for p in folder.iterdir() if not _scratch(p.name) and p != tmp]
    old = (
        folder / f".gradtrace.{os.getpid()}.old"
        if inside
        else folder.with_name(f".{folder.name}.{os.getpid()}.old")
    )
    shutil.rmtree(old, ignore_errors=True)
    if here and set(here) <= set(WRITTEN) and not inside:
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
        return
    old.mkdir()
    aside: list[str] = []
    came: list[str] = []
    try:
        for name in here:
            if name in WRITTEN:
                os.replace(folder / name, old / name)
                aside.append(name)
        for path in tmp.iterdir():
            os.replace(path, folder / path.name)
            came.append(path.name)
    except BaseException:
        for name in came:
            os.replace(folder / name, tmp / name)
        for name in aside:
            os.replace(old / name, folder / name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    tmp.rmdir()


def _scratch(name: str) -> bool:
    """A hidden file gradtrace writes for a moment before renaming it to one of
    ``WRITTEN`` (``.run.json.tmp``, ``.fit.png.tmp.png``)."""
    return name.startswith(".") and any(name[1:].startswith(f"{w}.") for w in WRITTEN)


def writable(out: Path, force: bool, what: str = "run") -> None:
    """Refuse, before any training, a ``what`` folder that exists (without
    ``force``), that ``force`` may not replace (``replaceable``), or that cannot
    be written: a folder is made where it goes and removed at once, since the
    system's permissions say yes to root where the file system says no
    (``/sys``)."""
    import tempfile

    replaceable(out, force, what)
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(
            f"cannot write the {what} folder {str(out)!r}: {str(parent)!r} is a "
            "file, not a folder; choose another --out."
        )
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write the {what} folder {str(out)!r}: {str(parent)!r} "
            "is not a writable folder; choose another --out."
        )
    try:
        Path(
            tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent)
        ).rmdir()
    except OSError as err:
        raise InputError(cannot_write(out, err, what)) from None


def cannot_write(folder: Path, err: OSError, what: str = "run") -> str:
    """The one line on a ``what`` folder that the system refused to write."""
    return (
        f"cannot write the {what} folder {str(folder)!r} ({err.strerror or err}): "
        "choose a writable --out."
    )


def writing(folder: Path) -> FileLock | None:
    """Hold the right to write ``folder``; a folder another process is writing is
    refused. The lock is the system's lock on a file named after the folder's full
    path in ``~/.cache/gradtrace/locks`` (so run folders hold nothing but the run),
    let go when the process ends however it ends. The same process may take it
    again (a run's writer, then the save that completes it). None where no lock
    can be had (no such folder can be made, or its file system has no locks): the
    folder is then written without one."""
    path = lock_path(folder)
    # a moment's wait: ``being_written`` (show, ls) holds it for an instant
    lock = FileLock(
        path,
        timeout=0.5,
        is_singleton=True,
        thread_local=False,
        fallback_to_soft=False,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        os.utime(path)  # when its folder was last written (see _prune_locks)
    except Timeout:
        raise RunFolderError(
            f"the run folder {str(folder)!r} is being written by another gradtrace "
            "process: wait for it to end, or write to another folder."
        ) from None
    except (OSError, NotImplementedError):
        return None
    _prune_locks(path.parent)
    return lock


#: Lock files kept before the old ones that nobody holds are removed.
KEEP_LOCKS = 256


def _prune_locks(folder: Path, older_than_s: float = 3600.0) -> None:
    """Remove the lock files of folders no process has written for an hour, once
    there are more than ``KEEP_LOCKS`` of them (each folder ever written leaves
    one, empty)."""
    files = list(folder.glob("*.lock"))
    if len(files) <= KEEP_LOCKS:
        return
    cutoff = time.time() - older_than_s
    for path in files:
        try:
            if path.stat().st_mtime < cutoff:
                with FileLock(path, timeout=0, fallback_to_soft=False):
                    path.unlink()
        except (OSError, Timeout, NotImplementedError):
            continue  # held by a run going on, or gone already


def lock_path(folder: Path) -> Path:
    """The file whose lock is the right to write ``folder`` (see ``writing``)."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:32]
    return cache_home() / "locks" / f"{key}.lock"


def being_written(folder: Path) -> bool | None:
    """Whether a process holds ``folder``'s lock now (a checkpointed run still
    going), False where none does (such a run was killed), None where it cannot
    be told."""
    try:
        with FileLock(lock_path(folder), timeout=0, fallback_to_soft=False):
            return False
    except Timeout:
        return True
    except (OSError, NotImplementedError):
        return None


def release(lock: FileLock | None) -> None:
    if lock is not None:
        lock.release()


#: The locks of the folders this process has claimed (``claim``), held until it
#: ends.
_CLAIMED: list[FileLock] = []


def claim(folder: Path) -> bool:
    """Take ``folder`` for a run this process is about to write, if it does not
    exist and no other process holds it: two commands started in the same second
    pick different default folders. The claim lasts as long as the process (the
    run's own ``writing`` takes the same lock again)."""
    try:
        lock = writing(folder)
    except RunFolderError:
        return False
    if folder.exists() or folder.is_symlink():
        release(lock)
        return False
    if lock is not None:
        _CLAIMED.append(lock)
    return True


def _temporary(folder: Path, force: bool) -> Path:
    """A new temporary folder beside ``folder``, after checking that ``folder`` may
    be written (``replaceable``)."""
    replaceable(folder, force)
    parent = folder.parent if str(folder.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _drop_orphans(parent, folder.name)
        where, stem = parent, folder.name
        if folder.is_dir() and _another_device(folder, parent):
            # a mount point (a volume, a bind mount): its files cannot be
            # renamed in from beside it, so they are written inside it
            where, stem = folder, "gradtrace"
            _drop_orphans(folder, stem)
        # made as any folder is, with the user's umask (mkdtemp's are private)
        while True:
            tmp = where / f".{stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                tmp.mkdir()
                return tmp
            except FileExistsError:
                continue
    except OSError as err:
        raise RunFolderError(
            f"cannot write the run folder {str(folder)!r} "
            f"({err.strerror or err}): choose a writable --out."
        ) from None


def _another_device(folder: Path, parent: Path) -> bool:
    """Whether ``folder`` lies on another file system than ``parent`` (a mount)."""
    try:
        return folder.stat().st_dev != parent.resolve().stat().st_dev
    except OSError:
        return False


def _drop_orphans(parent: Path, name: str) -> None:
    """Remove the temporary folders of runs into ``parent / name`` whose process is
    gone (killed before the folder was put in place, or while the old one's files
    were set aside): their names carry the pid."""
    for tmp in [*parent.glob(f".{name}.*.tmp"), *parent.glob(f".{name}.*.old")]:
        pid = tmp.name[len(name) + 2 :].split(".")[0]
        if not pid.isdigit() or not tmp.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass  # alive, another user's: not ours to remove


def _finish(
    tmp: Path, folder: Path, info: dict[str, Any], state: dict[str, np.ndarray] | None
) -> None:
    """Write run.json (and state.npz) into ``tmp`` and put it in the place of
    ``folder`` (``put_in_place``)."""
    (tmp / INFO_FILE).write_text(to_json(info) + "\n")
    if state is not None:
        np.savez(tmp / STATE_FILE, **state)  # type: ignore[arg-type]
    put_in_place(tmp, folder)


def save_info(folder: Path, info: dict[str, Any]) -> Path:
    """Write a run folder's run.json again (atomically: a new file renamed over)."""
    text = (to_json(info) + "\n").encode()
    _replace_file(folder / INFO_FILE, lambda handle: handle.write(text))
    return folder


class TraceWriter:
    """A run folder written while its run goes, for a trace too long to hold:
    ``trace.parquet`` is a folder of part files, one per part of the run, in step
    order (pandas and pyarrow read such a folder as one table); ``run.json`` comes
    at the end. Until ``finish``, it is all in a temporary folder beside the
    destination, so a killed run never leaves a half-written run folder.

    A checkpoint (``checkpoint``) puts the folder in place with ``run.json`` and
    ``state.npz`` saying how many parts it holds; from then on the parts are added
    to it in place, each file written whole under a hidden name and renamed, so the
    folder always reads as its last checkpoint or more."""

    def __init__(self, folder: str | Path, force: bool = False) -> None:
        self.folder, self.force = Path(folder), force
        self.lock = writing(self.folder)  # until finish or discard
        try:
            self.tmp = _temporary(self.folder, force)
        except BaseException:
            self.let_go()
            raise
        (self.tmp / TRACE_FILE).mkdir()
        self.parts = 0
        self.finished = False
        self.in_place = False

    @classmethod
    def reopen(cls, folder: str | Path, parts: int) -> TraceWriter:
        """The writer of a checkpointed run folder, to go on from its first
        ``parts`` parts (the later ones, written after its last checkpoint, are
        removed)."""
        writer = cls.__new__(cls)
        writer.folder = writer.tmp = Path(folder)
        writer.lock = writing(writer.folder)
        writer.force, writer.finished, writer.in_place = True, False, True
        writer.parts = parts
        try:
            writer._drop_parts_from(parts)
            # files a killed process left half-written under their hidden names
            folder = writer.folder
            strays = [*folder.glob(".*.tmp"), *(folder / TRACE_FILE).glob(".*.tmp")]
            for stray in strays:
                ours = stray.parent.name == TRACE_FILE or _scratch(stray.name)
                if ours and stray.is_file():
                    stray.unlink()
        except BaseException:
            writer.let_go()
            raise
        return writer

    def part_path(self, i: int) -> Path:
        """The file of part ``i``."""
        return self.tmp / TRACE_FILE / f"part-{i:06d}.parquet"

    def _drop_parts_from(self, first: int) -> None:
        for path in (self.tmp / TRACE_FILE).glob("part-*.parquet"):
            if int(path.stem.split("-")[1]) >= first:
                path.unlink()

    def write(self, frame: pd.DataFrame, diverged: bool = False) -> None:
        """Add the next part's rows (``diverged``: the last row is the diverging
        step, whose NaNs are data, not missing values)."""
        path = self.part_path(self.parts)
        hidden = path.with_name(f".{path.name}.tmp")  # readers skip hidden files
        pq.write_table(_arrow(frame, {"diverged": diverged}), hidden, **PARQUET_WRITE)
        os.replace(hidden, path)
        self.parts += 1

    def checkpoint(self, info: dict[str, Any], state: dict[str, np.ndarray]) -> None:
        """Make the folder, as it is now, the run's checkpoint: ``run.json`` and
        ``state.npz`` (which continues the run), the folder put in place at the
        first one."""
        if not self.in_place:
            _finish(self.tmp, self.folder, info, state)
            self.tmp, self.in_place = self.folder, True
            return
        _save_state(self.folder, state)
        save_info(self.folder, info)

    def finish(
        self, info: dict[str, Any], state: dict[str, np.ndarray] | None = None
    ) -> Path:
        """Write run.json and put the folder in place (with ``state``, a run that
        can be resumed; without it, a finished one)."""
        if self.in_place:
            try:
                self._drop_parts_from(self.parts)
                if state is not None:
                    _save_state(self.folder, state)
                save_info(self.folder, info)
                if state is None:
                    (self.folder / STATE_FILE).unlink(missing_ok=True)
            finally:
                self.let_go()
            self.finished = True
            return self.folder
        try:
            _finish(self.tmp, self.folder, info, state)
        except BaseException:
            self.discard()
            raise
        self.finished = True
        self.let_go()
        return self.folder

    def discard(self) -> None:
        """Remove what was written (a run that failed); a folder in place keeps its
        last checkpoint."""
        if not self.in_place:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.let_go()

    def let_go(self) -> None:
        """Give up the right to write the folder (once; see ``writing``)."""
        release(self.lock)
        self.lock = None


def _save_state(folder: Path, state: dict[str, np.ndarray]) -> None:
    _replace_file(
        folder / STATE_FILE,
        lambda handle: np.savez(handle, **state),  # type: ignore[arg-type]
    )


def _replace_file(path: Path, write: Any) -> None:
    """Write a file under a hidden name beside ``path``, then rename it over."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        write(handle)
    os.replace(tmp, path)


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


def load_run(
    folder: str | Path, thin: bool = False
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a run folder written by ``Trace.save``: its trace table and run info.
    ``thin``: of a trace written in parts, only the rows the run kept in memory
    (every ``kept_every``-th step, the first ``kept_head`` steps, each epoch's last
    batch while there are at most ``THIN_EPOCHS`` epochs, and the last step): what
    pictures and summaries need, without holding millions of rows."""
    folder = Path(folder)
    info = load_info(folder)
    check_parts(folder, info)
    try:
        frame = _read_trace(folder, info, thin).to_pandas()
    except (OSError, ValueError, pa.ArrowException) as err:
        raise _unreadable(folder, err) from None
    return frame, info


#: epochs up to which a thinned trace keeps every epoch's last batch
THIN_EPOCHS = 100_000


def kept_steps(
    step: np.ndarray, every: int, head: int, loss: np.ndarray | None = None
) -> np.ndarray:
    """Which steps of a long run (a part of its trace) stay in memory: every
    ``every``-th, all the first ``head`` ones, and the last whose ``loss`` over all
    the data was evaluated (what a run cut short ends on)."""
    keep = (step % every == 0) | (step < head)
    if loss is not None:
        evaluated = np.flatnonzero(~np.isnan(loss))
        if len(evaluated):
            keep[evaluated[-1]] = True
    return keep  # type: ignore[no-any-return]


def _thinned(table: pa.Table, info: dict[str, Any]) -> pa.Table:
    every = int(info.get("trace", {}).get("kept_every", 1))
    head = int(info.get("trace", {}).get("kept_head", 0))
    step = table.column("step").to_numpy()
    loss = table.column("loss").to_numpy().astype(float)
    keep = kept_steps(step, every, head, loss) | (step == info["steps"])
    schedule = info["schedule"]
    per_epoch = schedule["batches_per_epoch"]
    if 1 < per_epoch and schedule["n_steps"] / per_epoch <= THIN_EPOCHS:
        keep |= table.column("batch").to_numpy() == per_epoch
    return table.filter(pa.array(keep))


def check_parts(
    folder: str | Path,
    info: dict[str, Any],
    remedy: str = "run it again with gradtrace rerun RUN --out NEW",
) -> None:
    """Refuse a run folder that lacks a file of its trace (``remedy``: what to do)."""
    missing = [f for f in _trace_files(Path(folder), info) if not f.is_file()]
    if missing:
        raise RunFolderError(
            f"the run folder {str(folder)!r} lacks {missing[0].name}, a part of "
            f"its trace: {remedy}."
        )


def find_run(given: str | Path, parent: Path = RUNS, sweeps: bool = False) -> Path:
    """The folder that ``given`` names: itself, where it exists; a name that
    ``gradtrace ls`` lists, under ``parent``; ``latest``, the run made last in
    ``parent`` (the last run that ``gradtrace ls`` lists; sweeps aside, unless
    ``sweeps``: for a command that reads both). Anything else comes back as
    given, and reading it says that it does not exist."""
    path = Path(given)
    if path.exists() or path.is_symlink():
        return path
    if str(given) == LATEST:
        made = [
            (made_at(f), str(f), f) for f in _folders(parent) if sweeps or _is_run(f)
        ]
        if not made:
            what, how = ("run or sweep", "fit or sweep") if sweeps else ("run", "fit")
            raise RunFolderError(
                f"no {what} in {str(parent)!r}, so none is the latest: make one "
                f"with gradtrace {how}, or give a run's folder."
            )
        return max(made)[2]
    if not path.is_absolute() and (parent / path).exists():
        return parent / path
    return path


def _is_run(folder: Path) -> bool:
    return (folder / INFO_FILE).is_file()


def _folders(parent: Path) -> list[Path]:
    """The run folders (run.json) and sweep folders (sweep.parquet) under
    ``parent``, hidden ones aside."""
    if not parent.is_dir():
        return []
    found = {
        p.parent
        for name in (INFO_FILE, SWEEP_TABLE)
        for p in parent.rglob(name)
        if not any(part.startswith(".") for part in p.relative_to(parent).parts)
    }
    return sorted(found)


def made_at(folder: Path, info: Any = None) -> str:
    """When a run or sweep folder was made, as ``gradtrace ls`` orders them: a
    run's ``created`` (local time, to the second; from ``info``, its run.json,
    where the caller has read it), a sweep's table's modification time; "" where
    unreadable."""
    import datetime as dt

    if info is not None or (folder / INFO_FILE).is_file():
        try:
            info = info or json.loads((folder / INFO_FILE).read_text())
        except (OSError, ValueError):
            return ""
        return str(info.get("created", ""))[:19] if isinstance(info, dict) else ""
    try:
        when = (folder / SWEEP_TABLE).stat().st_mtime
    except OSError:
        return ""
    return (
        dt.datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")[:19]
    )


def _exists(folder: Path) -> None:
    if not folder.exists():
        raise RunFolderError(
            f"run folder {str(folder)!r} does not exist: give a folder that "
            "gradtrace fit wrote (gradtrace ls lists them)."
        )


def _read_trace(folder: Path, info: dict[str, Any], thin: bool = False) -> pa.Table:
    """The trace table; of a trace written in parts, the parts run.json counts (a
    run killed after its last checkpoint may have left later ones), each thinned
    as it is read with ``thin``."""
    if not (folder / TRACE_FILE).is_dir():
        return pq.read_table(folder / TRACE_FILE)
    files = _trace_files(folder, info)
    if thin:  # each part thinned before the next is read: never all at once
        return pa.concat_tables([_thinned(pq.read_table(f), info) for f in files])
    return pa.concat_tables([pq.read_table(f) for f in files])


def load_info(folder: str | Path) -> dict[str, Any]:
    """A run folder's run.json alone (its trace is not read)."""
    folder = Path(folder)
    path = folder / INFO_FILE
    _exists(folder)
    if not path.is_file() and (folder / "sweep.json").is_file():
        pictures = [f for f in ("heatmap.png", "losses.png") if (folder / f).is_file()]
        raise RunFolderError(
            f"{str(folder)!r} is a sweep's folder, not a run's: its table is "
            "sweep.parquet and each configuration's losses per step traces.parquet "
            "(pandas.read_parquet reads them)"
            + (f", its pictures {' and '.join(pictures)}" if pictures else "")
            + "; to follow one configuration step by step, gradtrace fit it."
        )
    if not path.is_file() or not (folder / TRACE_FILE).exists():
        # a folder of runs (runs/): name some of them
        inside = (
            sorted(
                p.name
                for p in folder.iterdir()
                if p.is_dir()
                and ((p / INFO_FILE).is_file() or (p / "sweep.json").is_file())
            )
            if folder.is_dir()
            else []
        )
        if inside:
            from gradtrace.text import listed

            first = shlex.quote(str(folder / inside[0]))
            raise RunFolderError(
                f"{str(folder)!r} holds runs ({listed(inside, 3)}), and is not one "
                f"itself: give one of them, such as {first} (gradtrace ls "
                f"{shlex.quote(str(folder))} lists them)."
            )
        raise RunFolderError(
            f"{str(folder)!r} is not a run folder (it needs "
            f"{INFO_FILE} and {TRACE_FILE}): give a folder that "
            "gradtrace fit wrote."
        )
    try:
        return _decode(json.loads(path.read_text(), parse_constant=float))  # type: ignore[no-any-return]
    except (OSError, ValueError) as err:
        raise RunFolderError(f"cannot read {path} ({err}).") from None


SWEEP_TABLE = "sweep.parquet"
SWEEP_INFO = "sweep.json"


def is_sweep(folder: str | Path) -> bool:
    """Whether ``folder`` is a sweep's (its table, and no run.json)."""
    folder = Path(folder)
    return (folder / SWEEP_TABLE).is_file() and not (folder / INFO_FILE).exists()


def load_sweep(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A sweep folder's table (one row per configuration) and its sweep.json
    (empty where it lacks one)."""
    folder = Path(folder)
    try:
        table = pd.read_parquet(folder / SWEEP_TABLE)
        path = folder / SWEEP_INFO
        text = path.read_text() if path.is_file() else "{}"
        info = _decode(json.loads(text, parse_constant=float))
    except (OSError, ValueError, pa.ArrowException) as err:
        raise RunFolderError(
            f"cannot read the sweep folder {str(folder)!r} ({err})."
        ) from None
    return table, info


def _trace_files(folder: Path, info: dict[str, Any]) -> list[Path]:
    path = folder / TRACE_FILE
    parts = info.get("trace", {}).get("parts") if path.is_dir() else None
    if parts is None:
        return sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]
    return [path / f"part-{i:06d}.parquet" for i in range(int(parts))]


#: rows of a trace that ``trace_batches`` reads at a time
BLOCK_ROWS = 65_536


def epoch_rows(folder: str | Path, info: dict[str, Any]) -> pd.DataFrame:
    """The rows of the run folder ``folder``'s trace (run.json ``info``) that end
    an epoch, and the last step: what a per-epoch history needs, read part by
    part however many rows the trace has (a thinned load keeps every epoch's end
    only up to ``THIN_EPOCHS`` epochs)."""
    per_epoch, last = int(info["schedule"]["batches_per_epoch"]), int(info["steps"])
    kept = []
    for batch in trace_batches(folder, info):
        table = pa.Table.from_batches([batch])
        ends = pc.or_(
            pc.equal(table.column("batch"), per_epoch),
            pc.equal(table.column("step"), last),
        )
        kept.append(table.filter(ends))
    return pa.concat_tables(kept).to_pandas()


def trace_batches(
    folder: str | Path,
    info: dict[str, Any],
    rows: int | None = None,
    columns: list[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The trace of the run folder ``folder`` (whose run.json is ``info``) as Arrow
    record batches of at most ``rows`` (``BLOCK_ROWS``) rows, each read when it is
    asked for: the rows ``load_run`` reads, never all held at once; one empty batch
    where there are none. ``columns``: only these (and ``step``)."""
    folder = Path(folder)
    check_parts(folder, info)
    schema, given = None, 0
    wanted = None if columns is None else list(dict.fromkeys(["step", *columns]))
    for path in _trace_files(folder, info):
        try:
            reader = pq.ParquetFile(path)
            schema = schema or reader.schema_arrow
            if wanted is not None:
                schema = pa.schema([schema.field(c) for c in wanted])
            batches = reader.iter_batches(batch_size=rows or BLOCK_ROWS, columns=wanted)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise _unreadable(folder, err) from None
        while True:
            try:  # the reading only: what the caller raises is the caller's
                batch = next(batches, None)
            except (OSError, ValueError, pa.ArrowException) as err:
                raise _unreadable(folder, err) from None
            if batch is None:
                break
            given += 1
            yield batch
    if not given and schema is not None:
        yield pa.RecordBatch.from_pylist([], schema=schema)


def trace_steps(
    folder: str | Path, info: dict[str, Any], steps: Iterable[int]
) -> pd.DataFrame:
    """The rows of ``steps`` (each once, in order) of the run folder ``folder``'s
    trace, indexed by step: only the parts that hold them are read, so a row of a
    ten-million-step run costs a part's reading, not the trace's."""
    folder = Path(folder)
    check_parts(folder, info)
    wanted = np.array(sorted(set(int(s) for s in steps)), np.int64)
    kept = []
    for path in _trace_files(folder, info):
        try:
            reader = pq.ParquetFile(path)
            low, high = _step_span(reader)
            if not np.any((wanted >= low) & (wanted <= high)):
                continue
            table = reader.read()
        except (OSError, ValueError, pa.ArrowException) as err:
            raise _unreadable(folder, err) from None
        hit = np.isin(table.column("step").to_numpy(), wanted)
        kept.append(table.filter(pa.array(hit)))
    if not kept:
        return pd.DataFrame()
    frame = pa.concat_tables(kept).to_pandas()
    return frame.set_axis(frame["step"].to_numpy(np.int64))


def _step_span(reader: pq.ParquetFile) -> tuple[float, float]:
    """The smallest and largest step of a trace file, from its row groups'
    statistics (minus and plus infinity where they do not say)."""
    meta = reader.metadata
    at = meta.schema.names.index("step")
    low, high = np.inf, -np.inf
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(at).statistics
        if stats is None or not stats.has_min_max:
            return -np.inf, np.inf
        low, high = min(low, float(stats.min)), max(high, float(stats.max))
    return float(low), float(high)


def _unreadable(folder: Path, err: BaseException) -> RunFolderError:
    """The error of a run folder whose trace cannot be read: the part that is
    damaged, where one is, and what to do."""
    said = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    part = _damaged_part(folder)
    if part is not None:
        return RunFolderError(
            f"cannot read the run folder {str(folder)!r}: "
            f"{part.relative_to(folder)} is damaged ({said}); put back a copy of "
            "it, or fit the run again with the configuration in its run.json "
            "(gradtrace rerun, which compares the traces, cannot)."
        )
    return RunFolderError(f"cannot read the run folder {str(folder)!r} ({said}).")


def _damaged_part(folder: Path) -> Path | None:
    """The first file of a run folder's trace that Parquet cannot open, if any."""
    trace = folder / TRACE_FILE
    parts = sorted(trace.glob("part-*.parquet")) if trace.is_dir() else [trace]
    for part in parts:
        try:
            pq.ParquetFile(part).close()
        except (OSError, ValueError, pa.ArrowException):
            return part
    return None


def json_text(info: dict[str, Any], frames: Iterable[pd.DataFrame]) -> Iterator[str]:
    """``to_json({"run": info, "trace": rows}) + "\n"``, where ``rows`` are the
    records of ``frames`` one after another (a value that does not apply, NaN, is
    null, in the run's part too; infinities are "Infinity"), in pieces: a piece
    per frame, never the whole text at once. The same characters as that one
    call writes."""
    head = to_json({"run": _nan_as_null(info), "trace": []})
    yield head[: -len("[]\n}")] + "["
    # each row as json.dumps(indent=2) sets it three levels in, by the fast
    # encoder (one without indent), with the indent put into its separators
    item = ",\n      "
    first = True
    for frame in frames:
        names = [str(name) for name in frame.columns]
        columns = [_json_values(frame[name].to_numpy()) for name in frame.columns]
        pieces = [
            "    {\n      "
            + json.dumps(dict(zip(names, row, strict=True)), separators=(item, ": "))[
                1:-1
            ]
            + "\n    }"
            for row in zip(*columns, strict=True)
        ]
        if pieces:
            yield ("\n" if first else ",\n") + ",\n".join(pieces)
            first = False
    yield "]\n}\n" if first else "\n  ]\n}\n"


def _nan_as_null(value: Any) -> Any:
    """``value`` with every NaN (a float's, or run.json's "NaN") as None: an
    export's JSON says null where a number does not apply, in the run's part as
    in its rows (a stable rate of "NaN" beside rows' null)."""
    if isinstance(value, dict):
        return {k: _nan_as_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_as_null(v) for v in value]
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return None
    return None if isinstance(value, str) and value == "NaN" else value


def _json_values(values: np.ndarray) -> list[Any]:
    """A column's values as ``to_json`` writes a row's: NaN as None (null),
    infinities as "Infinity" and "-Infinity", NumPy scalars as Python's."""
    if values.dtype.kind != "f":
        return [
            None if isinstance(v, float) and np.isnan(v) else _encode(v)
            for v in values.tolist()
        ]
    out = values.astype(object)
    out[np.isnan(values)] = None
    out[np.isposinf(values)] = "Infinity"
    out[np.isneginf(values)] = "-Infinity"
    return out.tolist()  # type: ignore[no-any-return]


def same_traces(
    a: str | Path,
    b: str | Path,
    prefix: bool = False,
    rows: int | None = None,
    then_step: bool = False,
) -> bool:
    """Whether two run folders hold the same trace table (values, NaNs and missing
    values alike), compared a row group at a time: neither trace is held whole, so
    a rerun of a run of ten million steps compares in bounded memory. With
    ``prefix``, whether ``a``'s rows are ``b``'s first rows (a run that stopped
    early against one that went on). ``rows``: compare only the first ``rows``
    rows of ``a`` (with ``prefix``); ``then_step``: and the next row's step (all
    but its values over all the data: ``loss``, ``gap`` and each metric's, which a
    run's last row takes on its own). A damaged trace file is a RunFolderError."""
    try:
        return _same_traces(Path(a), Path(b), prefix, rows, then_step)
    except (OSError, ValueError, pa.ArrowException) as err:
        for folder in (Path(a), Path(b)):  # the one damaged, named
            if _damaged_part(folder) is not None:
                raise RunFolderError(
                    f"the traces could not be compared: {_unreadable(folder, err)}"
                ) from None
        raise RunFolderError(
            f"cannot read the traces of {str(a)!r} and {str(b)!r} ({err})."
        ) from None


def _same_traces(
    a: Path, b: Path, prefix: bool, rows: int | None, then_step: bool
) -> bool:
    def batches(folder: Path) -> Any:
        info = load_info(folder)
        check_parts(folder, info)
        files = _trace_files(folder, info)
        return (
            batch
            for f in files
            for batch in pq.ParquetFile(f).iter_batches(batch_size=1 << 16)
        )

    left, right = batches(a), batches(b)
    x = y = None
    left_over = rows
    while True:
        x = next(left, None) if x is None or not len(x) else x
        y = next(right, None) if y is None or not len(y) else y
        if left_over is not None and left_over <= 0:
            if then_step and x is not None and y is not None and len(x) and len(y):
                return _same_step(x.slice(0, 1), y.slice(0, 1))
            x = None
        if x is None or y is None:
            return x is None and (y is None or prefix)
        if x.schema.names != y.schema.names:
            return False
        k = min(len(x), len(y), left_over if left_over is not None else len(x))
        left_over = None if left_over is None else left_over - k
        if not x.slice(0, k).to_pandas().equals(y.slice(0, k).to_pandas()):
            return False
        x, y = x.slice(k), y.slice(k)


def _same_step(x: pa.RecordBatch, y: pa.RecordBatch) -> bool:
    """Whether two one-row batches hold the same step: their columns alike, and
    equal but for the values over all the data and the validation data."""
    names = x.schema.names
    if names != y.schema.names:
        return False
    metrics = {c.removeprefix("running_") for c in names if c.startswith("running_")}
    held = {c for c in names if c.startswith("val_")}
    own = [c for c in names if c not in {"loss", "gap", *metrics, *held}]
    return bool(x.select(own).to_pandas().equals(y.select(own).to_pandas()))


def load_state(folder: str | Path) -> dict[str, np.ndarray]:
    """The saved state of an unfinished run (``state.npz``)."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise RunFolderError(
            f"{str(folder)!r} has no {STATE_FILE}, the saved state a resumption "
            "starts from: run it again with gradtrace rerun RUN --out NEW."
        )
    import zipfile

    try:
        # opened here, so that a file numpy cannot read is closed all the same
        with open(path, "rb") as raw, np.load(raw) as saved:
            return {k: saved[k] for k in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # cut short too
        raise RunFolderError(
            f"{path} is damaged (not the NumPy archive gradtrace wrote): run the "
            "run again with gradtrace rerun RUN --out NEW."
        ) from None


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
