"""Helpers shared by the command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
