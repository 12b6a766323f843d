"""Reductions over every row of a data set in float64, a block of rows at a time.

The exact answer, its standard errors, the learning-rate diagnosis and the
log-likelihood are computed in float64 over all the rows. Converting the data to
float64 first and differentiating over all the rows at once holds several float64
copies of them and of their per-row intermediates: 10 million rows of a line took
0.6 GB beyond its 76 MB of data. Here one compiled loop converts a block of rows as
it reads it and adds the block's results up, so the memory beyond the data is a few
blocks' worth, whatever the number of rows.

Data up to one block are reduced in one piece, as they always were; longer data are
summed block by block (a mean divided by the count at the end), which can differ from
the one-piece reduction by float64 rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import batches

#: Rows in one block: 65536 rows of float64 intermediates take 0.5 MB each.
BLOCK_ROWS = 1 << 16

#: ``fn(x_rows, y_rows, mask, reduction)``: a pytree, ``reduction`` ("sum" or
#: "mean") over the rows that ``mask`` marks (all of them where it is None).
BlockFn = Callable[[Any, Any, Any, str], Any]


def _float64(a: Any) -> Any:
    return None if a is None else jnp.asarray(a).astype(jnp.float64)


def reduce_rows(
    fn: BlockFn, x: Any, y: Any, reduction: str, block: int | None = None
) -> Any:
    """``fn``'s value over all the rows (inside a traced function, under float64).

    Up to ``block`` rows: ``fn(x, y, None, reduction)`` in float64. Otherwise ``fn``
    of each block of ``block`` rows with reduction "sum", added up in a loop (the
    last block is the one ending at the last row, its rows already counted masked
    out), and divided by the number of rows for a mean. ``fn`` must be additive
    over rows with reduction "sum" (a sum, or a derivative of one). ``block``:
    ``BLOCK_ROWS`` unless given."""
    block = block or BLOCK_ROWS
    n = y.shape[0]
    if n <= block:
        return fn(_float64(x), _float64(y), None, reduction)
    count = -(-n // block)

    def part(i: Any) -> Any:
        xb, yb, mask = batches.contiguous(i, block, n, x, y)
        return fn(_float64(xb), _float64(yb), mask, "sum")

    def body(i: Any, acc: Any) -> Any:
        return jax.tree_util.tree_map(jnp.add, acc, part(i))

    total = jax.lax.fori_loop(1, count, body, part(0))
    if reduction == "mean":
        return jax.tree_util.tree_map(lambda a: a / n, total)
    return total


def row_blocks(n: int, block: int | None = None) -> list[slice]:
    """Slices of at most ``block`` rows (``BLOCK_ROWS``) covering ``n`` rows."""
    block = block or BLOCK_ROWS
    return [slice(start, min(start + block, n)) for start in range(0, n, block)]


def mean64(
    y: np.ndarray, of: Callable[[np.ndarray], np.ndarray] | None = None
) -> float:
    """The mean of ``y`` (or of ``of(y)``, ``np.log`` say) in float64, without a
    float64 copy of more than a block."""
    if of is not None:
        total = 0.0
        for s in row_blocks(len(y)):
            total += float(np.sum(of(np.asarray(y[s], np.float64))))
        return total / len(y)
    if len(y) <= BLOCK_ROWS:
        return float(np.asarray(y, np.float64).mean())
    total = sum(float(np.sum(y[s], dtype=np.float64)) for s in row_blocks(len(y)))
    return total / len(y)


def mean_square64(
    y: np.ndarray, center: float, of: Callable[[np.ndarray], np.ndarray] | None = None
) -> float:
    """The mean of (y - center)^2 (or of (of(y) - center)^2) in float64, a block
    at a time."""
    if of is None and len(y) <= BLOCK_ROWS:
        return float(np.mean((np.asarray(y, np.float64) - center) ** 2))
    total = 0.0
    for s in row_blocks(len(y)):
        block = np.asarray(y[s], np.float64)
        d = (block if of is None else of(block)) - center
        total += float(d @ d)
    return total / len(y)


__all__ = ["BLOCK_ROWS", "mean64", "mean_square64", "reduce_rows", "row_blocks"]
