"""Where gradtrace keeps its own files (a folder in the user's cache) and writes
runs by default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Where ``gradtrace fit`` and ``gradtrace sweep`` write a run by default, and where
#: a run's bare name (as ``gradtrace ls`` lists it) or ``latest`` is looked for.
RUNS = Path("runs")
#: The name of the run or sweep made last in :data:`RUNS`.
LATEST = "latest"


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/gradtrace``, else ``~/.cache/gradtrace``: compiled
    programs (``jax``) and run folders' locks (``locks``) live under it."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradtrace"
