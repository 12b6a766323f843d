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

import collections
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from gradtrace.core import compiler


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


#: ``shuffle`` that draws each epoch's order as PyTorch's ``DataLoader`` does
TORCH = "torch"
#: ``shuffle`` that takes Keras 3's order (``fit(x, y, shuffle=True)`` with the
#: TensorFlow backend after ``keras.utils.set_random_seed``)
KERAS = "keras"
#: the shuffles whose orders are a framework's, drawn in NumPy and handed to
#: the training scan as a table (``Orders``)
FRAMEWORK_ORDERS = (TORCH, KERAS)
#: PyTorch's ``randperm`` takes a 32-bit draw modulo the rows left below this
#: many rows (a 64-bit one from it on)
TORCH_ROWS_LIMIT = (2**32 - 1) // 20


class Orders(NamedTuple):
    """PyTorch's orders of some epochs: ``table[which, e]`` is epoch ``first +
    e``'s (0-based), ``which`` picking one seed's of several (a sweep's). Passed
    to the training scan where a PRNG key goes otherwise (their shapes alone,
    ``jax.ShapeDtypeStruct``, to compile it)."""

    first: Any
    table: Any
    which: Any


def torch_orders(n_rows: int, seed: int, first: int, count: int) -> np.ndarray:
    """The rows of epochs ``first`` .. ``first + count - 1`` (0-based) in the order
    PyTorch visits them with ``DataLoader(data, shuffle=True,
    generator=torch.Generator().manual_seed(seed))``: int32 [count, n_rows].

    The generator is a Mersenne Twister (MT19937) seeded with the seed's low 32
    bits, as NumPy's legacy seeding does. Each epoch the loader's iterator draws
    a 64-bit base seed (two 32-bit words) and then ``torch.randperm(n_rows)``:
    for i in 0 .. n-2, swap positions i and i + (word % (n - i)), one word each
    (a Fisher-Yates shuffle). Its ``RandomSampler`` calls ``randperm`` once more
    as the epoch runs out (for the rows past a whole number of permutations,
    none), so epoch e starts ``2 * e * n_rows`` words in."""
    if n_rows >= TORCH_ROWS_LIMIT:
        raise ValueError(
            f"PyTorch's order is reproduced below {TORCH_ROWS_LIMIT} rows, not {n_rows}"
        )
    words = _torch_words(seed, n_rows, first)
    draws = np.empty((count, max(n_rows - 1, 0)), np.uint32)
    for e in range(count):
        _skip(words, 2)  # the loader's base seed
        draws[e] = words.random_raw(n_rows - 1)  # randperm's
        _skip(words, n_rows - 1)  # the sampler's randperm as the epoch runs out
    _TORCH_AT[(seed & 0xFFFFFFFF, n_rows)] = (first + count, words.state)
    while len(_TORCH_AT) > 8:
        _TORCH_AT.popitem(last=False)
    if n_rows < 2:
        return np.tile(np.arange(n_rows, dtype=np.int32), (count, 1))
    return _randperms(draws)


#: (seed's low 32 bits, rows) -> (epoch, the generator's state at its start),
#: where the last ``torch_orders`` ended: a run's next call draws on from there
#: instead of every word before it again
_TORCH_AT: collections.OrderedDict[tuple[int, int], tuple[int, dict]] = (
    collections.OrderedDict()
)


def _torch_words(seed: int, n_rows: int, first: int) -> Any:
    """PyTorch's generator of ``seed`` at the start of epoch ``first`` of
    ``n_rows`` rows (2 n_rows words an epoch)."""
    words: Any = np.random.MT19937()
    at = _TORCH_AT.get((seed & 0xFFFFFFFF, n_rows))
    if at is not None and at[0] <= first:
        words.state = at[1]
        _skip(words, (first - at[0]) * 2 * n_rows)
    else:
        words._legacy_seeding(seed & 0xFFFFFFFF)
        _skip(words, first * 2 * n_rows)
    return words


def _skip(words: Any, count: int) -> None:
    """Draw ``count`` words and drop them, a block at a time."""
    while count > 0:
        taken = min(count, 1 << 22)
        words.random_raw(taken)
        count -= taken


#: Values (epochs x rows) whose orders ``_randperms`` resolves together: about
#: 40 MB of its working arrays (an epoch of more rows goes alone)
RANDPERM_VALUES = 1 << 20


def _randperms(draws: np.ndarray) -> np.ndarray:
    """PyTorch's ``randperm`` of each row of 32-bit ``draws`` [epochs, n - 1]:
    int32 [epochs, n], a few epochs at a time (``RANDPERM_VALUES``)."""
    count, m = draws.shape
    n = m + 1
    out = np.empty((count, n), np.int32)
    left = (n - np.arange(m, dtype=np.int64)).astype(np.uint32)  # n - i
    per = max(1, RANDPERM_VALUES // n)
    for start in range(0, count, per):
        offsets = draws[start : start + per] % left
        out[start : start + per] = _resolved(offsets.astype(np.int32), n)
    return out


def _resolved(offsets: np.ndarray, n: int) -> np.ndarray:
    """The swaps of ``randperm`` resolved at once: int32 [epochs, n] from each
    epoch's offsets [epochs, n - 1] (step i swaps positions i and i + offset).

    PyTorch runs the swaps one after another; here the epochs go side by side,
    as positions of one array. Step i swaps positions i and j_i (j_i >= i), and
    no later step touches position i, so position i ends with what position
    j_i held before step i. Position p before step i holds the value a(k) that
    the last earlier step k with j_k = p moved there, or p where there is none,
    and a(k), what position k held before step k, follows the same rule: a
    chain of earlier steps, resolved by pointer jumping (log n passes). A Python
    loop took 0.5 s for a million rows; this 0.15 s, in about 40 bytes a row."""
    count = len(offsets)
    size = count * n
    steps = np.zeros((count, n), np.int32)
    steps[:, :-1] = offsets  # the last position swaps with itself
    idx = np.arange(size, dtype=np.int32)
    j = steps.reshape(-1) + idx
    del steps
    by_target = np.argsort(j, kind="stable").astype(np.int32)  # each target's steps
    targets = j[by_target]
    same = targets[1:] == targets[:-1]
    ends = np.flatnonzero(np.append(~same, True))
    last = np.full(size, -1, np.int32)  # the last step that targets each position
    last[targets[ends]] = by_target[ends]
    del targets, ends
    before = np.full(size, -1, np.int32)  # the last earlier step of j's target
    before[by_target[1:][same]] = by_target[:-1][same]
    del by_target, same
    # the step that last filled position i before step i, or i itself
    root = np.where(j == idx, before, last)
    del last
    np.copyto(root, idx, where=root < 0)
    while True:
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    del jumped
    final = np.where(before >= 0, root[np.maximum(before, 0)], j)
    final -= idx - idx % n  # each epoch's positions from 0
    return final.reshape(count, n)


#: TensorFlow's seeds are taken modulo this (``random_seed._truncate_seed``)
TF_SEED_MODULUS = 2**31 - 1
#: Philox-4x32-10's round multipliers and key increments (Salmon et al. 2011,
#: "Parallel random numbers: as easy as 1, 2, 3"), as TensorFlow's PhiloxRandom
_PHILOX_M = (0xD2511F53, 0xCD9E8D57)
_PHILOX_W = (0x9E3779B9, 0xBB67AE85)


def _philox_words(key: int, counter_high: int, count: int) -> np.ndarray:
    """The first ``count`` 32-bit words of TensorFlow's ``PhiloxRandom(key,
    counter_high)``: block k is Philox-4x32-10 of the counter (k, counter_high)
    (64 bits each, low words first) under the 64-bit ``key``, its four words in
    order."""
    blocks = -(-count // 4)
    k = np.arange(blocks, dtype=np.uint64)
    counters = np.stack(
        [
            k & np.uint64(0xFFFFFFFF),
            k >> np.uint64(32),
            np.full(blocks, counter_high & 0xFFFFFFFF, np.uint64),
            np.full(blocks, counter_high >> 32, np.uint64),
        ],
        axis=1,
    )
    keys = (key & 0xFFFFFFFF, key >> 32)
    return philox4x32(counters.astype(np.uint32), keys).reshape(-1)[:count]


def philox4x32(counters: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox-4x32-10 of each counter (uint32 [m, 4]) under ``key`` (two 32-bit
    words): uint32 [m, 4]."""
    low = np.uint64(0xFFFFFFFF)
    c = [counters[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    m0, m1 = np.uint64(_PHILOX_M[0]), np.uint64(_PHILOX_M[1])
    for _ in range(10):
        p0, p1 = m0 * c[0], m1 * c[2]  # 32 x 32 bits: exact in 64
        c = [
            (p1 >> np.uint64(32)) ^ c[1] ^ k0,
            p1 & low,
            (p0 >> np.uint64(32)) ^ c[3] ^ k1,
            p0 & low,
        ]
        k0 = (k0 + np.uint64(_PHILOX_W[0])) & low
        k1 = (k1 + np.uint64(_PHILOX_W[1])) & low
    return np.stack(c, axis=1).astype(np.uint32)


def keras_order(n_rows: int, seed: int) -> np.ndarray:
    """The rows in the order Keras 3's ``fit(x, y, shuffle=True)`` visits them
    (TensorFlow backend, arrays in memory) after ``keras.utils.set_random_seed(
    seed)``: int32 [n_rows], the same every epoch.

    Keras draws the order with ``tf.random.shuffle(tf.range(n))``, no seed of its
    own, in a ``tf.data`` map function: TensorFlow gives the op the seeds
    (seed % (2**31 - 1), 0) (its first op seed in a function's graph; (0, 0)
    becomes (0, 2**31 - 1)), and its kernel swaps position i with i + (word %
    (n - i)) for i = 0 .. n - 2, one Philox word each (a Fisher-Yates shuffle,
    as PyTorch's ``randperm``). Keras makes a new iterator, so a new kernel from
    the same seeds, every epoch: each epoch repeats the first's order (tf_keras,
    Keras 2, draws on instead). Checked against Keras 3.15.1 with TensorFlow
    2.21 (tools/fixtures/make_keras_orders.py)."""
    if n_rows < 2:
        return np.arange(n_rows, dtype=np.int32)
    key = seed % TF_SEED_MODULUS
    counter_high = TF_SEED_MODULUS if key == 0 else 0
    words = _philox_words(key, counter_high, n_rows - 1)
    left = (n_rows - np.arange(n_rows - 1, dtype=np.int64)).astype(np.uint32)
    return _resolved((words % left).astype(np.int32)[None], n_rows)[0]


def framework_orders(
    shuffle: str, n_rows: int, seed: int, first: int, count: int
) -> np.ndarray:
    """Epochs ``first`` .. ``first + count - 1``'s rows in a framework's order
    (``shuffle`` TORCH or KERAS): int32 [count, n_rows]."""
    if shuffle == KERAS:
        return np.tile(keras_order(n_rows, seed), (count, 1))
    return torch_orders(n_rows, seed, first, count)


def order_source(
    shuffle: bool | str, seed: int, n_rows: int, first: int = 0, count: int = 0
) -> Array | Orders:
    """What the training scan draws its batches from: the PRNG key of ``seed``, or
    for a framework's order (``shuffle`` TORCH or KERAS) its orders of ``count``
    epochs from ``first``."""
    if shuffle not in FRAMEWORK_ORDERS:
        return seed_key(seed)
    assert isinstance(shuffle, str)
    table = framework_orders(shuffle, n_rows, seed, first, max(count, 1))[None]
    return Orders(*jax.device_put((np.int32(first), table, np.int32(0))))


def epoch_batch(
    key: Array | Orders,
    epoch: Array | int,
    batch: Array | int,
    n_rows: int,
    batch_size: int,
    shuffle: bool | str,
) -> Array:
    """The row indices of batch ``batch`` of epoch ``epoch`` (both 0-based): the
    same as ``batch_rows(padded_order(...), batch, batch_size)``, drawn for the
    batch alone, so a run never holds an epoch's order (10 million rows: 40 MB, and
    0.1 s an epoch to draw it whole); -1 marks padding. ``key``: ``Orders`` for
    a framework's order (``shuffle`` TORCH or KERAS), whose epoch is looked up
    in the table."""
    positions = batch * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
    real = positions < n_rows
    rows = positions
    if isinstance(key, Orders):
        count = key.table.shape[1]
        e = jnp.clip(epoch - key.first, 0, count - 1)
        # one gather: a sweep's configurations each read their own seed's rows
        rows = key.table[key.which, e, jnp.where(real, positions, 0)]
    elif shuffle:
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
    shuffle: bool | str,
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
    n_rows: int,
    batch_size: int,
    shuffle: bool | str,
    seed: int,
    epochs: range | list[int],
) -> np.ndarray:
    """Row indices of every batch of the given epochs (0-based): int32
    [len(epochs), n_batches, batch_size], -1 marking padding. One compiled program
    per data shape draws them all, so asking for one step of a long run costs one
    epoch's permutation, not a compilation per epoch."""
    wanted = list(epochs)
    if shuffle in FRAMEWORK_ORDERS:
        assert isinstance(shuffle, str)
        pad = n_batches(n_rows, batch_size) * batch_size - n_rows
        first = min(wanted, default=0)
        count = max(wanted, default=-1) - first + 1
        drawn = framework_orders(shuffle, n_rows, seed, first, count)
        table = drawn[[e - first for e in wanted]]
        padded = np.pad(table, ((0, 0), (0, pad)), constant_values=-1)
        return padded.reshape(len(wanted), -1, batch_size)
    orders = _epoch_orders(
        seed_key(seed),
        jnp.asarray(wanted, jnp.int32),
        n_rows,
        batch_size,
        shuffle,
    )
    return np.asarray(orders).reshape(len(wanted), -1, batch_size)


@functools.partial(compiler.jit, static_argnums=(2, 3, 4))
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
