"""``python -m gradtrace``: the command line."""

from gradtrace._console import main

main()
