"""The command's compilation cache: where it lives, how it is turned off, and that a
second identical run reads its programs back instead of compiling them again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from gradtrace.cli import _cache


def test_the_cache_lives_under_the_users_cache_folder(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert _cache.cache_dir(env) == tmp_path / "gradtrace" / "jax"
    assert _cache.cache_dir({}) == Path.home() / ".cache" / "gradtrace" / "jax"


def test_settings_make_the_folder_and_bound_the_cache(tmp_path: Path) -> None:
    got = _cache.settings({"GRADTRACE_CACHE_DIR": str(tmp_path / "c")})
    assert got["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "c")
    assert (tmp_path / "c").is_dir()
    assert int(got["JAX_COMPILATION_CACHE_MAX_SIZE"]) == _cache.MAX_BYTES


def test_off_and_the_users_own_jax_setting_leave_jax_alone(tmp_path: Path) -> None:
    for off in ("off", "0", "", "none"):
        assert _cache.settings({"GRADTRACE_CACHE_DIR": off}) == {}
    mine = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path), "XDG_CACHE_HOME": "/x"}
    assert _cache.settings(mine) == {}
    # the user's own threshold is kept, the rest filled in
    own = {"GRADTRACE_CACHE_DIR": str(tmp_path), "JAX_COMPILATION_CACHE_MAX_SIZE": "1"}
    assert "JAX_COMPILATION_CACHE_MAX_SIZE" not in _cache.settings(own)


def test_a_folder_that_cannot_be_made_turns_the_cache_off(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _cache.settings({"GRADTRACE_CACHE_DIR": str(blocker / "jax")}) == {}


def _fit(
    folder: Path, cache: Path, out: str, log: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADTRACE_CACHE_DIR": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    if log:  # JAX's log, which names the programs it reads from the cache
        env["JAX_LOGGING_LEVEL"] = "DEBUG"
    args = ["fit", "seed001_line", "--model", "line", "--optimizer", "adam"]
    args += ["--lr", "0.1", "--steps", "50"]
    return subprocess.run(
        [sys.executable, "-m", "gradtrace", *args, "--out", out, "-q"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_identical_run_reads_its_programs_back(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _fit(tmp_path, cache, "a")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # writing the cache warned of nothing
    entries = sorted(p.name for p in cache.iterdir())
    assert any(name.endswith("-cache") for name in entries)
    second = _fit(tmp_path, cache, "b", log=True)
    assert second.returncode == 0, second.stderr
    # the training scan read back, not compiled again
    assert "Persistent compilation cache hit for 'jit_chunk'" in second.stderr
    assert sorted(p.name for p in cache.iterdir()) == entries
    a = pd.read_parquet(tmp_path / "a" / "trace.parquet")
    b = pd.read_parquet(tmp_path / "b" / "trace.parquet")
    pd.testing.assert_frame_equal(a, b)
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info["status"] == "completed"


def test_an_unwritable_cache_folder_does_not_stop_a_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = _fit(tmp_path, blocker / "jax", "a")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
