"""The errors gradtrace raises. Imports nothing of ours, so any module may use it."""

from __future__ import annotations


class GradtraceError(Exception):
    """Base class of every error gradtrace raises on purpose."""


class InputError(GradtraceError, ValueError):
    """Bad input: a message that names the problem, where it is, and what to do."""


class RunFolderError(GradtraceError, OSError):
    """A run folder that cannot be read or written."""
