"""What the commands that write files do with the outputs they are given: a missing
-o, a folder that is a file, an existing file, the format a name asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtrace.cli import main
from helpers import run_cli as run


@pytest.fixture(scope="module")
def a_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished run: a line fitted by 20 steps."""
    folder = tmp_path_factory.mktemp("runs") / "r"
    with pytest.raises(SystemExit) as done:
        main(["fit", "seed001_line", "--steps", "20", "-q", "--out", str(folder)])
    assert done.value.code in (0, None)
    return folder


def one_error(err: str) -> str:
    """The single line of a refusal, checked to be one line with no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def test_animate_without_out_is_a_usage_error(
    a_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["animate", str(a_run)], capsys)
    assert code == 2 and out == ""
    assert "-o" in one_error(err) and "--help" in err
