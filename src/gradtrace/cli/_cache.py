"""The command's compiled programs kept on disk between runs (JAX's persistent
compilation cache), so running the same fit again skips XLA's compilation.

Seed 002's ``gradtrace fit`` compiles for 0.4 s of its 1.3 s; run again, its
programs are read back in a few milliseconds. The cache lives in
``$XDG_CACHE_HOME/gradtrace/jax`` (``~/.cache/gradtrace/jax``), holds at most
``MAX_BYTES`` (the least recently used programs go first), and is set only through
the environment before JAX is imported, so it applies to the command and never to a
Python session that imports gradtrace. ``GRADTRACE_CACHE_DIR`` moves it, ``off``
turns it off, and a ``JAX_COMPILATION_CACHE_DIR`` of the user's own wins.

XLA:CPU checks that a program read back was compiled for this processor's
features, and compiles it afresh where not, so one cache shared by different
machines is safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

from gradtrace.paths import cache_home

ENV = "GRADTRACE_CACHE_DIR"
OFF = ("", "0", "off", "no", "none", "false")
#: Most bytes the cache holds (an entry of a fit is 10-200 kB).
MAX_BYTES = 256 * 2**20
#: Programs that compile faster than this are not kept: none, since a fit's small
#: programs (20-60 ms each) add up to a third of its compilation.
MIN_COMPILE_S = 0.0


def cache_dir(environ: MutableMapping[str, str]) -> Path | None:
    """Where compiled programs are kept, or None where the user turned it off."""
    value = environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value).expanduser()
    return cache_home(environ) / "jax"


def settings(environ: MutableMapping[str, str]) -> dict[str, str]:
    """JAX's environment variables that turn the cache on (its folder made), or
    none where it stays off: the user's choice, or a folder that cannot be
    written (the run then compiles as it would without a cache)."""
    if "JAX_COMPILATION_CACHE_DIR" in environ:
        return {}
    folder = cache_dir(environ)
    if folder is None:
        return {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return {}
    if not os.access(folder, os.W_OK | os.X_OK):
        return {}
    wanted = {
        "JAX_COMPILATION_CACHE_DIR": str(folder),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": str(MIN_COMPILE_S),
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "JAX_COMPILATION_CACHE_MAX_SIZE": str(MAX_BYTES),
    }
    return {k: v for k, v in wanted.items() if k not in environ}


def enable() -> None:
    """Turn the cache on for this process, before JAX is imported (JAX reads its
    settings then; a JAX imported already, as in a Python session, is left as it
    is)."""
    if "jax" not in sys.modules:
        os.environ.update(settings(os.environ))
