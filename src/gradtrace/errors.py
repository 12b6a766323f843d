"""The errors gradtrace raises. Imports nothing of ours, so any module may use it."""

from __future__ import annotations

from contextvars import ContextVar

#: True while the ``gradtrace`` command runs: its messages name flags alone (a
#: Python caller's also name the keyword arguments, ``api.python_names``).
COMMAND_LINE: ContextVar[bool] = ContextVar("command_line", default=False)


class GradtraceError(Exception):
    """Base class of every error gradtrace raises on purpose."""


class InputError(GradtraceError, ValueError):
    """Bad input: a message that names the problem, where it is, and what to do."""


class RunFolderError(GradtraceError, OSError):
    """A run folder that cannot be read or written."""
