"""The self-contained interactive HTML report of a run."""

from gradtrace.report.html import report

__all__ = ["report"]
