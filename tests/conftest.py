"""Strict settings for every test: JAX raises on implicit rank promotion (the classic
``(n, 1) - (n,)`` broadcast), and hypothesis runs few examples without deadlines
(compilation makes the first example slow)."""

from __future__ import annotations

import os
import tempfile

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_rank_promotion", "raise")
# commands the tests start in processes of their own keep compiled programs in a
# cache of the test session's, not the user's
os.environ.setdefault("GRADTRACE_CACHE_DIR", tempfile.mkdtemp(prefix="gradtrace-jax-"))

settings.register_profile(
    "gradtrace",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("gradtrace")
