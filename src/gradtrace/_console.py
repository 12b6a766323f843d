"""The ``gradtrace`` command's entry point. Importing the command line takes about
0.3 s; a Ctrl-C meanwhile ends as one during a command does ("interrupted.", exit
code 130), not with a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from gradtrace.cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write("interrupted.\n")
        raise SystemExit(130) from None
    command()
