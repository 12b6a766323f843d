"""The batch plan: which rows go into which step, from an explicit PRNG key.

An epoch visits every row once, in order or in a permutation drawn from
``fold_in(key, epoch)`` (see :func:`permutation`); it is cut into
``ceil(n_rows / batch_size)`` batches, and a last partial batch is kept (Keras and
PyTorch keep it too), padded to the batch size with ``-1`` so that every step has the
same shape. The training scan draws its
batches from these same functions, so a plan computed here is, by construction, the
one a run used.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array


def seed_key(seed: int) -> Array:
    """``jax.random.key(seed)``, made without a compilation.

    ``key`` runs a small compiled program (about 0.03-0.08 s in a fresh process).
    The default threefry key of a seed in [0, 2**31) is the words (0, seed), so it
    is wrapped directly; other seeds (whose key depends on whether 64-bit integers
    are on) and other key kinds are made by ``key``.
    """
    impl = getattr(jax.config, "jax_default_prng_impl", None)
    if impl == "threefry2x32" and 0 <= seed < 1 << 31:
        return jax.random.wrap_key_data(jax.device_put(np.array([0, seed], np.uint32)))
    return jax.random.key(seed)


def n_batches(n_rows: int, batch_size: int, drop_last: bool = False) -> int:
    """Batches per epoch, the last one possibly partial; with ``drop_last``, whole
    batches only (PyTorch's ``DataLoader(drop_last=True)``: the rows left over
    sit the epoch out), at least one.

    Examples:
        >>> n_batches(10, 3), n_batches(10, 3, drop_last=True)
        (4, 3)
    """
    if drop_last:
        return max(1, n_rows // batch_size)
    return math.ceil(n_rows / batch_size)


def padded_order(
    key: Array, epoch: Array | int, n_rows: int, batch_size: int, shuffle: bool
) -> Array:
    """The rows of an epoch in visiting order, padded with -1 to a whole number of
    batches: int32 [n_batches * batch_size]."""
    if shuffle:
        order = permutation(jax.random.fold_in(key, epoch), n_rows)
    else:
        order = jnp.arange(n_rows)
    pad = n_batches(n_rows, batch_size) * batch_size - n_rows
    return jnp.concatenate([order, -jnp.ones(pad, order.dtype)]).astype(jnp.int32)


#: rounds of the mixing function; each is a bijection of m-bit integers
_ROUNDS = 4


def permutation(key: Array, n: int) -> Array:
    """A pseudo-random permutation of ``range(n)`` (int32) drawn from ``key``, made
    without sorting.

    ``jax.random.permutation`` sorts random keys (three sorts): on XLA:CPU that took
    9.8 s for 10 million rows, so a shuffled epoch cost more than a hundred unshuffled
    ones. Here each index goes through a keyed bijection of m-bit integers
    (2**m >= n): rounds of xor with a key, multiplication by a random odd number and
    xorshifts, as in MurmurHash's finaliser, each invertible modulo 2**m. Indices
    that land at n or beyond are sent through it again until they land below n
    ("cycle walking", which keeps it a bijection of range(n)); at most half land
    beyond each time, so a few passes do. 10 million rows: about 0.1 s. Each
    position's row depends on that position alone (``permuted``), so a batch's
    rows can be drawn without the rest of the epoch's order.
    """
    return permuted(key, jnp.arange(n, dtype=jnp.int32), n)


def permuted(key: Array, positions: Array, n: int) -> Array:
    """The rows at ``positions`` (in ``range(n)``) of ``permutation(key, n)``."""
    bits = max(1, math.ceil(math.log2(max(n, 2))))
    mask = jnp.uint32((1 << bits) - 1) if bits < 32 else jnp.uint32(0xFFFFFFFF)
    words = jax.random.bits(key, (2, _ROUNDS), jnp.uint32)
    xors, mults = words[0] & mask, (words[1] | jnp.uint32(1)) & mask
    half = jnp.uint32(max(1, bits // 2))
    limit = jnp.uint32(n)

    def mix(v: Array) -> Array:
        for r in range(_ROUNDS):
            v = v ^ xors[r]
            v = (v * mults[r]) & mask
            v = v ^ (v >> half)
        return v

    def walk(v: Array) -> Array:
        return jnp.where(v >= limit, mix(v), v)

    order = mix(positions.astype(jnp.uint32))
    # The passes that some index almost surely still needs are made without
    # asking (a pass leaves an index already below n as it is, so the order is the
    # same); the loop, whose every turn costs a test over all the indices, takes
    # the few left. A shuffled epoch of 10 million rows in batches of 4096: the
    # indices 141 -> 83 ms.
    beyond = 1 - n / (1 << bits)  # the share of indices a pass sends beyond n
    if beyond > 0:
        size = max(2, math.prod(positions.shape))
        for _ in range(max(0, int(math.log(size) / -math.log(beyond)) - 1)):
            order = walk(order)
    order = jax.lax.while_loop(lambda v: jnp.any(v >= limit), walk, order)
    return order.astype(jnp.int32)


def epoch_batch(
    key: Array,
    epoch: Array | int,
    batch: Array | int,
    n_rows: int,
    batch_size: int,
    shuffle: bool,
) -> Array:
    """The row indices of batch ``batch`` of epoch ``epoch`` (both 0-based): the
    same as ``batch_rows(padded_order(...), batch, batch_size)``, drawn for the
    batch alone, so a run never holds an epoch's order (10 million rows: 40 MB, and
    0.1 s an epoch to draw it whole); -1 marks padding."""
    positions = batch * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
    real = positions < n_rows
    rows = positions
    if shuffle:
        epoch_key = jax.random.fold_in(key, epoch)
        rows = permuted(epoch_key, jnp.where(real, positions, 0), n_rows)
    return jnp.where(real, rows, -1).astype(jnp.int32)


def batch_rows(order: Array, batch: Array | int, batch_size: int) -> Array:
    """The row indices of batch ``batch`` (0-based) of an epoch; -1 marks padding."""
    return jax.lax.dynamic_slice(order, (batch * batch_size,), (batch_size,))


def batch_plan(
    n_rows: int,
    batch_size: int,
    n_steps: int,
    shuffle: bool,
    seed: int,
    drop_last: bool = False,
) -> np.ndarray:
    """Row indices of every step: int32 [n_steps, batch_size], -1 marking padding
    (``drop_last``: an epoch's last partial batch left out).

    Examples:
        >>> batch_plan(5, 2, 4, shuffle=False, seed=0).tolist()
        [[0, 1], [2, 3], [4, -1], [0, 1]]
        >>> batch_plan(5, 2, 4, shuffle=False, seed=0, drop_last=True).tolist()
        [[0, 1], [2, 3], [0, 1], [2, 3]]
    """
    per_epoch = n_batches(n_rows, batch_size, drop_last)
    n_epochs = math.ceil(n_steps / per_epoch)
    table = epoch_batches(n_rows, batch_size, shuffle, seed, range(n_epochs))
    return table[:, :per_epoch].reshape(-1, batch_size)[:n_steps]


def epoch_batches(
    n_rows: int, batch_size: int, shuffle: bool, seed: int, epochs: range | list[int]
) -> np.ndarray:
    """Row indices of every batch of the given epochs (0-based): int32
    [len(epochs), n_batches, batch_size], -1 marking padding. One compiled program
    per data shape draws them all, so asking for one step of a long run costs one
    epoch's permutation, not a compilation per epoch."""
    orders = _epoch_orders(
        seed_key(seed),
        jnp.asarray(list(epochs), jnp.int32),
        n_rows,
        batch_size,
        shuffle,
    )
    return np.asarray(orders).reshape(len(epochs), -1, batch_size)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _epoch_orders(
    key: Array, epochs: Array, n_rows: int, batch_size: int, shuffle: bool
) -> Array:
    return jax.vmap(lambda e: padded_order(key, e, n_rows, batch_size, shuffle))(epochs)


def select(
    order: Array, batch: Array | int, batch_size: int, x: Array | None, y: Array
) -> tuple[Array | None, Array, Array]:
    """The rows of batch ``batch`` (0-based) of an epoch: (x, y, mask), padded to
    the batch size; ``mask`` marks the real rows."""
    return gather(batch_rows(order, batch, batch_size), x, y)


def gather(rows: Array, x: Array | None, y: Array) -> tuple[Array | None, Array, Array]:
    """The rows ``rows`` of (x, y), -1 marking padding: (x, y, mask), ``mask``
    marking the real rows."""
    mask = rows >= 0
    idx = jnp.maximum(rows, 0)
    return (None if x is None else x[idx]), y[idx], mask


def contiguous(
    batch: Array | int, batch_size: int, n_rows: int, x: Array | None, y: Array
) -> tuple[Array | None, Array, Array]:
    """The rows of batch ``batch`` of an unshuffled epoch, as ``select`` gives them
    for the order ``0..n_rows-1``, but sliced instead of gathered (a gather of a
    batch of 4096 rows cost more than the rest of the step). The last, partial
    batch is the slice that ends at the last row, with the rows before the batch
    masked out; its masked rows are not padding zeros but real rows, which weigh
    nothing. Needs ``batch_size <= n_rows``."""
    first = batch * batch_size
    start = jnp.minimum(first, n_rows - batch_size)
    mask = start + jnp.arange(batch_size) >= first

    def take(a: Array) -> Array:
        return jax.lax.dynamic_slice_in_dim(a, start, batch_size, axis=0)

    return (None if x is None else take(x)), take(y), mask
