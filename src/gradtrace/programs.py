"""Compiled programs in a long session: released before the kernel's limit on a
process's memory maps is reached.

Every program XLA compiles keeps its code mapped in memory, a few maps each.
Linux allows a process ``vm.max_map_count`` maps (65530 by default); past it,
XLA crashes the process in the middle of a compilation. A notebook that fits
many models on data of many sizes gets there: 150 fits of lines on 300 to 450
rows left 7940 maps, and a test suite's worker crossed the limit. So every
``CHECK_EVERY``-th plan counts the maps, and above ``CROWDED`` of the limit it
releases every compiled program (``jax.clear_caches`` and ``compile_once``'s),
to be compiled again as they are asked for.
"""

from __future__ import annotations

from pathlib import Path

#: Plans between two counts of the process's maps (a count reads
#: /proc/self/maps: about a millisecond at 8000 maps).
CHECK_EVERY = 8

#: The share of the kernel's limit above which the programs are released.
CROWDED = 0.5

MAPS = Path("/proc/self/maps")
LIMIT = Path("/proc/sys/vm/max_map_count")

_plans = 0


def map_limit() -> int | None:
    """The kernel's limit on a process's memory maps; None where it is not
    known (not Linux)."""
    try:
        return int(LIMIT.read_text().strip())
    except (OSError, ValueError):
        return None


def maps_in_use() -> int | None:
    """How many memory maps the process holds; None where it is not known."""
    try:
        with MAPS.open("rb") as lines:
            return sum(1 for _ in lines)
    except OSError:
        return None


def release_if_crowded() -> bool:
    """Count this plan; on every ``CHECK_EVERY``-th, release the compiled
    programs where the process holds more than ``CROWDED`` of its maps. Whether
    it released them."""
    global _plans
    _plans += 1
    if _plans % CHECK_EVERY:
        return False
    limit, used = map_limit(), maps_in_use()
    if limit is None or used is None or used <= CROWDED * limit:
        return False
    release()
    return True


def release() -> None:
    """Every compiled program released: ``compile_once``'s and JAX's caches."""
    import jax

    from gradtrace.core import loop

    loop._COMPILED.clear()
    jax.clear_caches()
