"""Helpers shared by the tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradtrace.cli import main


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def start_program(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    """``python -m gradtrace ARGS`` as a program of its own in ``cwd``, with
    ``env`` added to the environment; its output and errors piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "gradtrace", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def held_elsewhere(how: str, folder: Path) -> Iterator[str]:
    """While another process holds ``folder`` through ``gradtrace.store``'s
    ``how`` ("writing" or "claim"): yields what that call printed (its result)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; from gradtrace.store import {how}; from pathlib "
            f"import Path; held = {how}(Path(sys.argv[1])); print(bool(held), "
            "flush=True); time.sleep(60)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        yield holder.stdout.readline().strip()
    finally:
        holder.kill()
        holder.communicate()


def seed004_rmsprop(epochs: int = 3, **extra: Any) -> Any:
    """Seed 004's Keras RMSprop run (lr 0.05, batches of 3 in order, from w = 0.5,
    b = 0), the one docs/explain.md explains."""
    import gradtrace

    return gradtrace.fit(
        "seed004_keras",
        optimizer="keras.rmsprop",
        lr=0.05,
        batch_size=3,
        epochs=epochs,
        shuffle=False,
        init={"w": 0.5, "b": 0.0},
        **extra,
    )
