"""Where gradtrace keeps its own files: a folder in the user's cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/gradtrace``, else ``~/.cache/gradtrace``: compiled
    programs (``jax``) and run folders' locks (``locks``) live under it."""
    env = os.environ if environ is None else environ
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradtrace"
