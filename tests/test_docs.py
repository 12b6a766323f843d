"""Docs that cannot drift: the CLI reference, the public API's docstrings, the
README's example."""

from __future__ import annotations

import difflib
import re
import runpy
import shlex
from pathlib import Path

import pytest

import gradtrace
from helpers import run_cli

ROOT = Path(__file__).parents[1]


def test_cli_reference_is_current() -> None:
    render = runpy.run_path(str(ROOT / "tools" / "cli_docs.py"))["render"]
    current = (ROOT / "docs" / "cli.md").read_text().splitlines()
    diff = list(difflib.unified_diff(current, render().splitlines(), lineterm=""))
    assert not diff, (
        "docs/cli.md is out of date: run .venv/bin/python tools/cli_docs.py\n"
        + "\n".join(diff[:40])
    )


def test_the_help_keeps_its_examples_lines() -> None:
    """An example of several lines needs click's \\b above it, or click wraps
    it into one line with a backslash in its middle (predict's did), which the
    shell cannot run as shown."""
    render = runpy.run_path(str(ROOT / "tools" / "cli_docs.py"))["render"]
    broken = [line for line in render().splitlines() if re.search(r" \\ +\S", line)]
    assert not broken, broken


def test_the_pictures_tool_runs_the_commands_the_docs_print() -> None:
    """tools/doc_images.py (make doc-images) draws docs/img by the README's and
    docs/exercises.md's own commands, so that a picture drawn again is the one
    the docs describe; and every picture the docs show is one it draws."""
    tool = runpy.run_path(str(ROOT / "tools" / "doc_images.py"))
    text = (ROOT / "README.md").read_text() + (
        ROOT / "docs" / "exercises.md"
    ).read_text()
    commands = [c for c, _, _ in tool["PICTURES"] if c]
    for command in commands:
        assert tool["documented"](command) in text, command
    assert tool["COMMON"] in " ".join(text.replace("\\\n", " ").split())
    drawn = {name for _, _, name in tool["PICTURES"] if name}
    shown = set(re.findall(r"img/([\w-]+\.png)", text))
    assert shown == drawn
    words = tool["runnable"](commands[-1], "/venv/gradtrace")
    assert words[:3] == ["/venv/gradtrace", "sweep", "n100.csv"]
    assert "--compute-dtype" in words and "$common" not in words


def test_the_help_and_readme_name_every_model_and_schedule() -> None:
    """--model's and --lr-schedule's help and the README list what the catalogs
    hold (a newcomer found negative-binomial in `gradtrace models` only)."""
    from gradtrace.core.catalog import MODELS
    from gradtrace.core.presets import SCHEDULES

    cli = (ROOT / "docs" / "cli.md").read_text()
    fit = cli[cli.index("## gradtrace fit") :]
    fit = fit[: fit.index("\n## ", 5)]
    flat = " ".join(fit.split()).replace("- ", "-")  # words wrapped at a hyphen
    model_help = flat[flat.index("--model NAME") : flat.index("--loss NAME")]
    schedule_help = flat[flat.index("--lr-schedule") : flat.index("--clip")]
    readme = " ".join((ROOT / "README.md").read_text().split())
    for name in MODELS:
        assert name in model_help, name
        assert f"`{name}`" in readme, name
    for name in SCHEDULES:
        assert name in schedule_help, name


def test_every_public_name_has_a_docstring() -> None:
    for name in gradtrace.__all__:
        if name == "__version__":
            continue
        value = getattr(gradtrace, name)
        if isinstance(value, dict):
            continue  # registries (MODELS, OPTIMIZERS, DATASETS)
        assert (value.__doc__ or "").strip(), name


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().splitlines()[:12]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


@pytest.mark.cpu_digits
def test_the_readme_shows_what_its_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's 'Real use' commands, run, print its summary (timings aside)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Real use") :]
    commands = section[section.index("```sh") : section.index("```\n", 6)]
    printed = section[section.index("```\nrun runs/adam:") + 4 :]
    printed = printed[: printed.index("```")]
    monkeypatch.chdir(tmp_path)
    data, fit = (shlex.split(line)[1:] for line in commands.splitlines()[2:4])
    assert run_cli(data[: data.index("#")], capsys)[0] == 0
    code, out, _ = run_cli(fit, capsys)
    assert code == 0
    summary = out[out.index("run runs/adam:") :]
    timing = re.compile(r"Compile .*")
    assert timing.sub("", summary).split() == timing.sub("", printed).split()


@pytest.mark.cpu_digits
def test_explain_md_shows_what_its_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/explain.md's fit and explain commands, run, print its step 2 (its
    prose lines wrapped otherwise)."""
    text = (ROOT / "docs" / "explain.md").read_text()
    fit = text[text.index("gradtrace fit seed004_keras") :]
    fit = fit[: fit.index("```")].replace("\\\n", " ")
    printed = text[text.index("```\nStep 2 of 4 (runs/k)") + 4 :]
    printed = printed[: printed.index("```")]
    monkeypatch.chdir(tmp_path)
    assert run_cli(shlex.split(fit)[1:], capsys)[0] == 0
    code, out, _ = run_cli(["explain", "runs/k", "--step", "2"], capsys)
    assert code == 0
    assert out.split() == printed.split()


def test_the_package_lists_its_public_names_not_its_helpers() -> None:
    names = dir(gradtrace)
    assert set(gradtrace.__all__) <= set(names)
    assert not {"Any", "TYPE_CHECKING", "annotations", "os"} & set(names)
    assert not hasattr(gradtrace, "os")  # a teacher found gradtrace.os
