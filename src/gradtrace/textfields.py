"""How a text table's lines part into fields: the separator its header line (and
the line below it) implies, the names on the header, and how many fields a line
has. Shared by reading a table (``data``) and by the messages that point at one
of its lines (``validate``)."""

from __future__ import annotations

import csv
from collections.abc import Sequence


def a_number(text: str) -> bool:
    """Whether ``text`` reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


#: pandas' separator for fields parted by runs of spaces: R's write.table,
#: numpy's savetxt, columns aligned by hand.
WHITESPACE = r"\s+"


def separator_of(head: str, below: Sequence[str] = ()) -> str:
    """A table's separator from its header line ``head`` and the line ``below``
    it, if any: comma, or semicolon, tab or bar where the header has those and
    no comma (a CSV saved by a spreadsheet in another locale), or spaces where
    the header and the line below it have two fields or more parted by spaces
    and nothing else (R's write.table of one column: a row name and a value)."""
    if "," in head:
        return ","
    for sep in (";", "\t", "|"):
        if sep in head:
            return sep
    head = head.lstrip("\ufeff").strip()
    names = head.removeprefix("#").split()
    fields = [line.split() for line in below[:1] if line.strip()]
    named = bool(fields) and fields[0][0] != "#" and len(fields[0]) == len(names)
    if head.startswith("#") and not named:
        # a comment above the header (numpy's savetxt of a header of several
        # lines), not names: told as a comment is
        return ","
    if len(names) > 1 and all(len(f) > 1 for f in fields):
        return WHITESPACE
    if len(names) == 1 and fields and len(fields[0]) == 2 and a_number(fields[0][1]):
        # R's write.table of one column: its row name, then the value
        return WHITESPACE
    return ","


def names_of(line: str, sep: str) -> list[str]:
    """The column names on a header ``line``, as reading the table cleans them (parted
    by spaces, less a "#" that marks the line)."""
    if sep == WHITESPACE:
        line = " ".join(line.lstrip("\ufeff").strip().removeprefix("#").split())
        sep = " "
    row = next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
    return [name.strip().lstrip("\ufeff") for name in row]


def count_fields(line: str, sep: str) -> int:
    """How many fields a data ``line`` has, parted by ``sep`` as reading the table
    parts it (quoted separators kept inside their field)."""
    if sep == WHITESPACE:
        return len(line.split())
    return len(next(csv.reader([line], delimiter=sep, skipinitialspace=True), []))
