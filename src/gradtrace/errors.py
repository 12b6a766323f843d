"""The errors gradtrace raises. Imports nothing of ours, so any module may use it."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

#: True while the ``gradtrace`` command runs: its messages name flags alone (a
#: Python caller's also name the keyword arguments, ``run_config.python_names``).
COMMAND_LINE: ContextVar[bool] = ContextVar("command_line", default=False)

#: Set by the command's Ctrl-C handler as it raises KeyboardInterrupt. Python drops
#: an exception raised inside a garbage-collection callback (JAX has one; it prints
#: "Exception ignored in ..."), so a run checks this between its compiled calls
#: too, and a Ctrl-C that came at such a moment still stops it.
INTERRUPTED = threading.Event()

#: The signals that stop a run as Ctrl-C does, saving what it did: Ctrl-C's, and
#: the TERM that timeout, docker, systemd and SLURM send and the HUP of a closed
#: terminal, where the platform has them.
STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)

#: The stop signals received, last last: the command exits 128 plus its number
#: (130 for Ctrl-C, 143 for TERM), as a shell reports a process they ended.
STOPPED_BY: list[int] = []

#: The stop signals the command has taken over while it runs (not a TERM or
#: HUP it was told to ignore, as nohup does); a run holds these while it saves.
TAKEN_OVER: set[int] = set()


def stop_if_interrupted() -> None:
    """KeyboardInterrupt where the command's handler saw a Ctrl-C that Python
    dropped (raised inside JAX's garbage-collection callback): a sweep or a
    range test then stops before it writes, as it would have."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


class GradtraceError(Exception):
    """Base class of every error gradtrace raises on purpose."""


class InputError(GradtraceError, ValueError):
    """Bad input: a message that names the problem, where it is, and what to do."""


class RunFolderError(GradtraceError, OSError):
    """A run folder that cannot be read or written."""


class GradtraceWarning(UserWarning):
    """What a Python call returning values alone warns of, where the command
    line prints a note: ``Trace.predict`` at x beyond the data the run was
    fitted on, or with a run that did not converge (``warnings.simplefilter
    ("ignore", gradtrace.GradtraceWarning)`` silences it)."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def from_callers_line(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, whose bad-input errors (``InputError``, ``RunFolderError``)
    a Python caller sees raised from their own call, with none of gradtrace's
    frames: the message says what to do, and the frames of the code that found
    the problem would bury it (as ``run_config.python_names`` does for ``fit``
    and the other functions). The command line gets them as they are."""

    @functools.wraps(function)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except (InputError, RunFolderError) as err:
            if COMMAND_LINE.get():
                raise
            raise err.with_traceback(None) from None

    return wrapped
