"""The batch plan: which rows go into which step, from an explicit PRNG key.

An epoch visits every row once, in order or in a permutation drawn from
``fold_in(key, epoch)``; it is cut into ``ceil(n_rows / batch_size)`` batches, and a
last partial batch is kept (Keras and PyTorch keep it too), padded to the batch size
with ``-1`` so that every step has the same shape. The training scan draws its
batches from these same functions, so a plan computed here is, by construction, the
one a run used.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array


def n_batches(n_rows: int, batch_size: int) -> int:
    """Batches per epoch, the last one possibly partial."""
    return math.ceil(n_rows / batch_size)


def padded_order(
    key: Array, epoch: Array | int, n_rows: int, batch_size: int, shuffle: bool
) -> Array:
    """The rows of an epoch in visiting order, padded with -1 to a whole number of
    batches: int32 [n_batches * batch_size]."""
    if shuffle:
        order = jax.random.permutation(jax.random.fold_in(key, epoch), n_rows)
    else:
        order = jnp.arange(n_rows)
    pad = n_batches(n_rows, batch_size) * batch_size - n_rows
    return jnp.concatenate([order, -jnp.ones(pad, order.dtype)]).astype(jnp.int32)


def batch_rows(order: Array, batch: Array | int, batch_size: int) -> Array:
    """The row indices of batch ``batch`` (0-based) of an epoch; -1 marks padding."""
    return jax.lax.dynamic_slice(order, (batch * batch_size,), (batch_size,))


def batch_plan(
    n_rows: int, batch_size: int, n_steps: int, shuffle: bool, seed: int
) -> np.ndarray:
    """Row indices of every step: int32 [n_steps, batch_size], -1 marking padding.

    Examples:
        >>> batch_plan(5, 2, 4, shuffle=False, seed=0).tolist()
        [[0, 1], [2, 3], [4, -1], [0, 1]]
    """
    key = jax.random.key(seed)
    per_epoch = n_batches(n_rows, batch_size)
    n_epochs = math.ceil(n_steps / per_epoch)
    epochs = [
        np.asarray(padded_order(key, e, n_rows, batch_size, shuffle)).reshape(
            per_epoch, batch_size
        )
        for e in range(n_epochs)
    ]
    return np.concatenate(epochs)[:n_steps]


def select(
    order: Array, batch: Array | int, batch_size: int, x: Array | None, y: Array
) -> tuple[Array | None, Array, Array]:
    """The rows of batch ``batch`` (0-based) of an epoch: (x, y, mask), padded to
    the batch size; ``mask`` marks the real rows."""
    rows = batch_rows(order, batch, batch_size)
    mask = rows >= 0
    idx = jnp.maximum(rows, 0)
    return (None if x is None else x[idx]), y[idx], mask
