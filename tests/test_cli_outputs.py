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


@pytest.mark.parametrize(
    "command",
    [
        ["report", "-o", "{f}/x.html"],
        ["export", "-o", "{f}/x.csv"],
        ["animate", "-o", "{f}/x.gif"],
        ["plot", "-o", "{f}/pictures"],
        ["plot", "-o", "{f}/a/b"],
    ],
)
def test_an_output_in_a_folder_that_is_a_file_is_refused_naming_the_file(
    command: list[str],
    a_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = tmp_path / "f.csv"
    f.write_text("mine\n")
    name, *args = command
    code, _, err = run([name, str(a_run), *(a.format(f=f) for a in args)], capsys)
    assert code == 2 and f"{str(f)!r} is a file, not a folder" in one_error(err)
    assert f.read_text() == "mine\n" and list(tmp_path.iterdir()) == [f]


def test_a_run_folder_under_a_file_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "f.csv"
    f.write_text("mine\n")
    code, _, err = run(
        ["fit", "seed001_line", "--steps", "3", "-q", "--out", str(f / "run")], capsys
    )
    assert code == 2 and f"{str(f)!r} is a file, not a folder" in one_error(err)


def test_an_output_in_a_missing_folder_is_refused(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nowhere" / "x.html"
    code, _, err = run(["report", str(a_run), "-o", str(out)], capsys)
    assert code == 2
    assert f"folder {str(out.parent)!r} does not exist" in one_error(err)


EXISTS = "already exists: choose another {flag}, or pass --force to replace it."


@pytest.mark.parametrize(
    ("command", "name"),
    [(["report"], "notes.html"), (["animate"], "mine.gif"), (["export"], "t.csv")],
)
def test_an_existing_file_named_by_o_is_replaced_with_force_only(
    command: list[str],
    name: str,
    a_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mine = tmp_path / name
    mine.write_text("mine\n")
    args = [*command, str(a_run), "-o", str(mine)]
    code, _, err = run(args, capsys)
    assert code == 2 and mine.read_text() == "mine\n"
    assert f"{str(mine)!r} " + EXISTS.format(flag="-o") in one_error(err)
    code, _, err = run([*args, "--force"], capsys)
    assert code == 0, err
    assert mine.read_bytes() != b"mine\n"


def test_plot_into_a_folder_keeps_its_pictures_without_force(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "loss.png").write_text("mine\n")
    code, out, err = run(["plot", str(a_run), "-o", str(mine)], capsys)
    assert code == 2 and out == "" and (mine / "loss.png").read_text() == "mine\n"
    assert f"{str(mine / 'loss.png')!r} " + EXISTS.format(flag="--out") in one_error(
        err
    )
    assert [p.name for p in mine.iterdir()] == ["loss.png"]  # nothing drawn
    code, out, err = run(["plot", str(a_run), "-o", str(mine), "--force"], capsys)
    assert code == 0, err
    assert (mine / "loss.png").read_bytes().startswith(b"\x89PNG")


def test_the_runs_own_pictures_and_report_are_drawn_anew(
    a_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["plot"], ["report"], ["plot", "-o", str(a_run)]):
        for _ in range(2):
            code, out, err = run([*args, str(a_run)], capsys)
            assert code == 0 and "wrote" in out, err
    code, _, err = run(["report", str(a_run), "-o", str(a_run / "report.html")], capsys)
    assert code == 0, err
