"""Parsing helpers shared by commands: KEY=VALUE pairs."""

from __future__ import annotations

from collections.abc import Iterable

from gradtrace.errors import InputError


def pairs(flag: str, items: Iterable[str]) -> dict[str, str]:
    """``["w=0.5", "b=0"]`` -> ``{"w": "0.5", "b": "0"}``; one-line error otherwise."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise InputError(
                f"{flag} takes NAME=VALUE, got {item!r}: write, for "
                f"example, {flag} w=0.5."
            )
        if key in out:
            raise InputError(f"{flag} {key} is given twice: give it once.")
        out[key] = value.strip()
    return out
