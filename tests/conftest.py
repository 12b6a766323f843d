"""Strict settings for every test: JAX raises on implicit rank promotion (the classic
``(n, 1) - (n,)`` broadcast), and hypothesis runs few examples without deadlines
(compilation makes the first example slow)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_rank_promotion", "raise")
# the tests' compiled programs (commands started in processes of their own) and
# run-folder locks go to a cache folder of the test session's, not the user's
_CACHE = tempfile.mkdtemp(prefix="gradtrace-tests-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ["XDG_CACHE_HOME"] = _CACHE
os.environ.pop("GRADTRACE_CACHE_DIR", None)

settings.register_profile(
    "gradtrace",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("gradtrace")
