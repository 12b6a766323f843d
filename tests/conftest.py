"""Strict settings for every test: JAX raises on implicit rank promotion (the classic
``(n, 1) - (n,)`` broadcast), and hypothesis runs few examples without deadlines
(compilation makes the first example slow)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_rank_promotion", "raise")
# many tests compile the same programs (the same model on the same data): JAX's
# persistent cache, in a folder of the test session's (made by the first process,
# which xdist's workers inherit it from), compiles each once; the whole suite
# took 6 min 19 s with it, 7 min 1 s without, on 2 cores
if "GRADTRACE_TESTS_JAX_CACHE" not in os.environ:
    os.environ["GRADTRACE_TESTS_JAX_CACHE"] = tempfile.mkdtemp(prefix="gradtrace-jax-")
    atexit.register(shutil.rmtree, os.environ["GRADTRACE_TESTS_JAX_CACHE"], True)
# one folder for every xdist worker, so a program one compiled the others find: with
# a size limit JAX reads and writes its entries under a file lock (without one, a
# worker read another's entry half written, and XLA crashed mid-compile in three of
# five full runs in the twenty-seventh session, when each worker had a folder of its
# own). Four of the suite's files took 3 min 47 s with a folder each, 3 min 38 s
# shared; with each file's tests kept on one worker (the Makefile's --dist
# loadfile), 3 min 31 s and 2 min 56 s.
jax.config.update("jax_compilation_cache_dir", os.environ["GRADTRACE_TESTS_JAX_CACHE"])
jax.config.update("jax_compilation_cache_max_size", 8 << 30)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
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


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Tests marked ``cpu_digits`` check digits as XLA:CPU rounds them (the
    frameworks' fixtures were taken on processors; the docs print what a
    processor prints): on another device they are skipped, saying why."""
    if jax.default_backend() == "cpu":
        return
    skip = pytest.mark.skip(
        reason=f"digits as XLA:CPU rounds them; this run is on {jax.default_backend()}"
    )
    for item in items:
        if "cpu_digits" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _compiled_programs_released() -> Iterator[None]:
    """Each test module's compiled programs released after it: a worker keeps
    the code of every program it compiled mapped in memory, and a whole suite's
    passed the kernel's 65530 maps (vm.max_map_count), where XLA crashed
    mid-compile late in the run (the twenty-seventh session's fresh clones)."""
    yield
    from gradtrace import programs

    programs.release()  # as a long session's plans do, past half the limit
