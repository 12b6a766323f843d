"""``python -m gradtrace``: the command line."""

from gradtrace.cli import main

main()
