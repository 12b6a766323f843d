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

Data larger than memory come as ``Chunks``: each reduction then reads the rows a
chunk at a time and adds the chunks' sums up, so the memory stays one chunk's worth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
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


class Chunks:
    """The rows of a data set read a chunk at a time (a Parquet file larger than
    memory, say): ``read(i)`` gives chunk ``i``'s (x, y) as NumPy arrays, x None
    without x columns. Every pass over the rows reads the chunks again."""

    def __init__(
        self,
        n_rows: int,
        n_chunks: int,
        read: Callable[[int], tuple[np.ndarray | None, np.ndarray]],
        head: Callable[[], tuple[np.ndarray | None, np.ndarray]] | None = None,
    ) -> None:
        self.n_rows, self.n_chunks, self.read = n_rows, n_chunks, read
        self._head = head

    def __len__(self) -> int:
        return self.n_rows

    def __iter__(self) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
        return (self.read(i) for i in range(self.n_chunks))

    def head(self) -> tuple[np.ndarray | None, np.ndarray]:
        """The first rows (``head()`` if given, else the first chunk's): a sample,
        for shapes and starting guesses."""
        return self._head() if self._head is not None else self.read(0)

    def map(self, fn: Callable[[Any, np.ndarray], np.ndarray]) -> Chunks:
        """``fn(x, y)`` of each chunk, as the y of chunks of its own (residuals,
        say), read as these are."""

        def mapped(rows: tuple[Any, np.ndarray]) -> tuple[None, np.ndarray]:
            return None, fn(*rows)

        return Chunks(
            self.n_rows,
            self.n_chunks,
            lambda i: mapped(self.read(i)),
            lambda: mapped(self.head()),
        )

    def x_values(self) -> Chunks:
        """The x column (one column) as the y of chunks of its own."""

        def x_only(x: Any, y: np.ndarray) -> np.ndarray:
            if x is None:
                raise ValueError("these rows have no x column")
            return np.asarray(x)

        return self.map(x_only)


#: Rows in memory (x or None, and y) or read a chunk at a time (``Chunks`` as y).
Values = np.ndarray | Chunks


def blocks(
    x: Any, y: Values, block: int | None = None
) -> Iterator[tuple[Any, np.ndarray]]:
    """(x, y) a block of at most ``block`` (``BLOCK_ROWS``) rows at a time, as
    they are stored (in memory: views; ``Chunks``: each chunk read in turn)."""
    for xc, yc in y if isinstance(y, Chunks) else [(x, y)]:
        for s in row_blocks(len(yc), block):
            yield (None if xc is None else xc[s]), yc[s]


def take(x: Any, y: Values, rows: np.ndarray) -> tuple[Any, np.ndarray]:
    """(x[rows], y[rows]) as float64 (``rows`` an index array of any shape): of
    arrays in memory, or picked from each chunk in one pass (``Chunks``)."""
    if not isinstance(y, Chunks):  # the rows first: no float64 copy of all of x
        xs = None if x is None else np.asarray(np.asarray(x)[rows], np.float64)
        return xs, np.asarray(np.asarray(y)[rows], np.float64)
    flat = np.ravel(rows)
    xs, ys, at = None, np.empty(len(flat)), 0
    for xc, yc in y:
        here = (flat >= at) & (flat < at + len(yc))
        ys[here] = yc[flat[here] - at]
        if xc is not None:
            if xs is None:
                xs = np.empty((len(flat), *np.shape(xc)[1:]))
            xs[here] = xc[flat[here] - at]
        at += len(yc)
    return (
        None if xs is None else xs.reshape(*rows.shape, *xs.shape[1:]),
        ys.reshape(rows.shape),
    )


#: Rows of data in memory are padded up to a size shared by data of nearby
#: sizes (``padded``): a power of two of at least ``PAD_LEAST`` rows up to
#: ``PAD_STEP``, beyond it a multiple of ``PAD_STEP``, up to one block
PAD_LEAST = 256
PAD_STEP = 4096
#: Values (rows times columns of x and y) above which no data are padded
PAD_VALUES = 1 << 20


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Padded:
    """y padded to ``padded_rows`` (its rows repeated) and how many of them are
    real, for ``reduce_rows``: data of 130 rows and of 200 then run the same
    compiled program (the exact answer, the diagnosis and the standard errors
    each compile their own: 0.1-0.3 s a program, again for every size)."""

    values: Any
    rows: Any

    def map(self, fn: Callable[[Any], Any]) -> Padded:
        """``fn`` of the values, the same rows real."""
        return Padded(fn(self.values), self.rows)


def padded_rows(n: int) -> int:
    """The rows data of ``n`` rows are padded to (``PAD_LEAST``, ``PAD_STEP``)."""
    if n > BLOCK_ROWS:
        return n
    if n <= PAD_STEP:
        return max(PAD_LEAST, 1 << max(n - 1, 0).bit_length())
    return min(BLOCK_ROWS, -(-n // PAD_STEP) * PAD_STEP)


def padded(x: Any, y: np.ndarray) -> tuple[Any, Any]:
    """(x, y) in memory, padded to ``padded_rows`` with their own rows again from
    the first (finite where the data are: a padded row's loss is computed, then
    left out), y a ``Padded`` (also where no row is added: the program is the
    same); as they are beyond one block, or where that would copy more than
    ``PAD_VALUES`` values."""
    n = len(y)
    size = padded_rows(n)
    width = 1 if x is None else int(np.prod(np.shape(x)[1:], dtype=np.int64))
    if n > BLOCK_ROWS or size * (width + 1) > PAD_VALUES:
        return x, y
    xs = None if x is None else repeated(np.asarray(x), size)
    return xs, Padded(repeated(np.asarray(y), size), np.int32(n))


def repeated(a: np.ndarray, size: int) -> np.ndarray:
    """``a``'s rows, again from the first, up to ``size`` rows (``a`` itself,
    not a copy, where it has them)."""
    return a if len(a) == size else a[np.resize(np.arange(len(a)), size)]


def total(fn: Callable[[Any, Any, str], Any], x: Any, y: Values, reduction: str) -> Any:
    """``fn(x, y, how)`` (a compiled reduction of the rows, ``how`` "sum" or
    "mean") over all the rows: of the arrays at once (``padded``: its y may be a
    ``Padded``, which ``reduce_rows`` reads), or summed chunk by chunk
    (``Chunks``) and divided by the number of rows for a mean."""
    if not isinstance(y, Chunks):
        return fn(*padded(x, y), reduction)
    tree = jax.tree_util
    acc = None
    for xc, yc in y:
        # in NumPy: each JAX operation run on its own would compile a program
        part = tree.tree_map(lambda a: np.asarray(a, np.float64), fn(xc, yc, "sum"))
        acc = part if acc is None else tree.tree_map(np.add, acc, part)
    if reduction == "mean":
        return tree.tree_map(lambda a: a / y.n_rows, acc)
    return acc


def _float64(a: Any) -> Any:
    return None if a is None else jnp.asarray(a).astype(jnp.float64)


def reduce_rows(
    fn: BlockFn, x: Any, y: Any, reduction: str, block: int | None = None
) -> Any:
    """``fn``'s value over all the rows (inside a traced function, under float64).

    Up to ``block`` rows: ``fn(x, y, None, reduction)`` in float64 (the mask of
    the real rows in place of None where y is ``Padded``). Otherwise ``fn``
    of each block of ``block`` rows with reduction "sum", added up in a loop (the
    last block is the one ending at the last row, its rows already counted masked
    out), and divided by the number of rows for a mean. ``fn`` must be additive
    over rows with reduction "sum" (a sum, or a derivative of one). ``block``:
    ``BLOCK_ROWS`` unless given."""
    block = block or BLOCK_ROWS
    real = None  # the real rows of padded data (``padded``)
    if isinstance(y, Padded):
        y, real = y.values, jnp.arange(y.values.shape[0]) < y.rows
    n = y.shape[0]
    if n <= block:
        return fn(_float64(x), _float64(y), real, reduction)
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


def r_factor(parts: Iterable[np.ndarray]) -> tuple[np.ndarray, int] | None:
    """The R factor of the QR decomposition of the rows ``parts`` stack, updated
    a part at a time (R of [R; next part]: no part held beside another), and
    how many rows there were; None for no part. R has the rows' singular values
    and gives every least-squares fit of one of their columns on others."""
    r: np.ndarray | None = None
    n = 0
    for part in parts:
        n += len(part)
        r = np.asarray(
            np.linalg.qr(part if r is None else np.vstack([r, part]), mode="r")
        )
    return None if r is None else (r, n)


def row_blocks(n: int, block: int | None = None) -> list[slice]:
    """Slices of at most ``block`` rows (``BLOCK_ROWS``) covering ``n`` rows."""
    block = block or BLOCK_ROWS
    return [slice(start, min(start + block, n)) for start in range(0, n, block)]


def mean64(y: Values, of: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The mean of ``y`` (or of ``of(y)``, ``np.log`` say) in float64, without a
    float64 copy of more than a block."""
    if of is None and not isinstance(y, Chunks) and len(y) <= BLOCK_ROWS:
        return float(np.asarray(y, np.float64).mean())
    acc = 0.0
    for _, block in blocks(None, y):
        if of is None:
            acc += float(np.sum(block, dtype=np.float64))
        else:
            acc += float(np.sum(of(np.asarray(block, np.float64))))
    return acc / len(y)


def mean_and_spread64(y: Values) -> tuple[float, float]:
    """The mean of ``y`` and the mean of its squared deviations from it, in
    float64, in one pass a block at a time: each block's mean and sum of squared
    deviations, combined as Chan, Golub and LeVeque's pairwise update does (no
    cancellation, unlike the mean of squares less the squared mean)."""
    count, mean, m2 = 0, 0.0, 0.0
    for _, block in blocks(None, y):
        b = np.asarray(block, np.float64)
        k, bm = len(b), float(b.mean())
        d = b - bm
        delta = bm - mean
        total_count = count + k
        mean += delta * k / total_count
        m2 += float(d @ d) + delta * delta * count * k / total_count
        count = total_count
    return mean, m2 / count


def mean_square64(
    y: Values, center: float, of: Callable[[np.ndarray], np.ndarray] | None = None
) -> float:
    """The mean of (y - center)^2 (or of (of(y) - center)^2) in float64, a block
    at a time."""
    if of is None and not isinstance(y, Chunks) and len(y) <= BLOCK_ROWS:
        return float(np.mean((np.asarray(y, np.float64) - center) ** 2))
    acc = 0.0
    for _, block in blocks(None, y):
        b = np.asarray(block, np.float64)
        d = (b if of is None else of(b)) - center
        acc += float(d @ d)
    return acc / len(y)


__all__ = [
    "BLOCK_ROWS",
    "Chunks",
    "Values",
    "blocks",
    "mean64",
    "mean_and_spread64",
    "mean_square64",
    "reduce_rows",
    "row_blocks",
    "total",
]
