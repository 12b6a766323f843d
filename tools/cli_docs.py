"""Write docs/cli.md from the real ``--help`` of every command (a test checks it).

Usage: python tools/cli_docs.py
"""

from __future__ import annotations

from pathlib import Path

import click

from gradtrace.cli import cli

# As the real command line: the same help flags, a fixed width.
SETTINGS: dict[str, object] = {
    "terminal_width": 100,
    "max_content_width": 100,
    "help_option_names": ["-h", "--help"],
}
DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    ctx = click.Context(
        command,
        info_name=name,
        parent=parent,
        **SETTINGS,  # type: ignore[arg-type]
    )
    return command.get_help(ctx)


def render() -> str:
    """The Markdown text of docs/cli.md."""
    root = click.Context(cli, info_name="gradtrace", **SETTINGS)  # type: ignore[arg-type]
    parts = [
        "# Command line reference\n",
        "Generated from the real `--help` by `tools/cli_docs.py`; "
        "`tests/test_docs.py` fails when it is out of date.\n",
        "## gradtrace\n",
        "```\n" + _help(cli, "gradtrace", None) + "\n```\n",
    ]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.list_commands(root)):
        command = cli.get_command(root, name)
        assert command is not None
        parts.append(f"## gradtrace {name}\n")
        parts.append("```\n" + _help(command, name, root) + "\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
