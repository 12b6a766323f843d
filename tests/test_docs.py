"""Docs that cannot drift: the CLI reference and the public API's docstrings."""

from __future__ import annotations

import difflib
import runpy
from pathlib import Path

import gradtrace

ROOT = Path(__file__).parents[1]


def test_cli_reference_is_current() -> None:
    render = runpy.run_path(str(ROOT / "tools" / "cli_docs.py"))["render"]
    current = (ROOT / "docs" / "cli.md").read_text().splitlines()
    diff = list(difflib.unified_diff(current, render().splitlines(), lineterm=""))
    assert not diff, (
        "docs/cli.md is out of date: run .venv/bin/python tools/cli_docs.py\n"
        + "\n".join(diff[:40])
    )


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
