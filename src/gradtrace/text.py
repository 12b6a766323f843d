"""Numbers as gradtrace prints them (a module light enough for the command line's
start)."""

from __future__ import annotations

import math


def fmt(value: float | None) -> str:
    """Seven significant digits, as float32 carries them; empty for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.7g}"
