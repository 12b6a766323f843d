"""Framework conventions for logged metrics, as pure functions of a history.

Keras logs, after each batch, a running mean over the epoch so far of the batches'
losses, each computed at the weights before that batch's update and weighted by
the batch's size (Keras 3 ``Trainer``: its loss tracker is a ``Mean`` updated with
``sample_weight=batch_size``); it starts again at every epoch. Its
``RootMeanSquaredError`` accumulates squared errors over every row seen this epoch:
sqrt(sum of squared errors / rows seen), so with an MSE loss its square equals the
running loss.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array


def keras_running_mean(
    values: np.ndarray, weights: np.ndarray, epoch: np.ndarray
) -> np.ndarray:
    """Running mean of ``values`` weighted by ``weights``, restarting at each epoch.

    Examples:
        >>> keras_running_mean(np.array([1.0, 3.0, 5.0]), np.array([2, 2, 1]),
        ...                    np.array([1, 1, 2])).tolist()
        [1.0, 2.0, 5.0]
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.float64)
    epoch = np.asarray(epoch)
    if len(values) == 0:
        return values.copy()
    totals = np.cumsum(values * weights)
    counts = np.cumsum(weights)
    # index of each step's epoch start; subtract the sums from before it
    starts = np.flatnonzero(np.r_[True, epoch[1:] != epoch[:-1]])
    first = starts[np.searchsorted(starts, np.arange(len(values)), side="right") - 1]
    before_t = np.where(first > 0, totals[first - 1], 0.0)
    before_c = np.where(first > 0, counts[first - 1], 0.0)
    return (totals - before_t) / (counts - before_c)


# Metrics: each step records a metric's sufficient statistics over the step's batch
# (weighted by the real rows), so Keras's running value over the epoch so far and the
# value over all the data come from the same sums.

#: name -> (number of statistics, description)
METRICS: dict[str, tuple[int, str]] = {
    "rmse": (2, "root mean squared error, sqrt(sum (pred - y)^2 / rows)"),
    "mae": (2, "mean absolute error, sum |pred - y| / rows"),
    "r2": (4, "coefficient of determination, 1 - SSE / SST (Keras's R2Score)"),
    "accuracy": (2, "share of rows with (pred > 0.5) == y (Keras's BinaryAccuracy)"),
    "loglik": (2, "mean log-likelihood per row under the model's own likelihood"),
}


def n_stats(names: tuple[str, ...]) -> int:
    """How many statistics the metrics ``names`` record per step."""
    return sum(METRICS[n][0] for n in names)


def stats(
    names: tuple[str, ...],
    model: Any,
    params: dict[str, Array],
    x: Array | None,
    y: Array,
    mask: Array | None,
) -> Array:
    """The statistics of every metric in ``names`` over the real rows, one vector."""
    from gradtrace.core.losses import log_likelihood_rows

    weight = jnp.ones_like(y) if mask is None else mask.astype(y.dtype)
    count = jnp.sum(weight)
    pred = None if model.kind == "distribution" else model.predict(params, x)
    out: list[Array] = []
    for name in names:
        if name == "loglik":
            rows = log_likelihood_rows(model, params, x, y)
            out += [jnp.sum(jnp.where(weight > 0, rows, 0.0)), count]
            continue
        assert pred is not None
        err = pred - y
        if name == "rmse":
            out += [jnp.sum(weight * err**2), count]
        elif name == "mae":
            out += [jnp.sum(weight * jnp.abs(err)), count]
        elif name == "r2":
            out += [
                jnp.sum(weight * err**2),
                jnp.sum(weight * y),
                jnp.sum(weight * y**2),
                count,
            ]
        elif name == "accuracy":
            hit = ((pred > 0.5).astype(y.dtype) == y).astype(y.dtype)
            out += [jnp.sum(weight * hit), count]
    return jnp.stack([jnp.asarray(v, y.dtype) for v in out])


def finalize(names: tuple[str, ...], sums: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric's value from its statistics (``sums``: [..., n_stats])."""
    sums = np.asarray(sums, np.float64)
    out: dict[str, np.ndarray] = {}
    at = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in names:
            k = METRICS[name][0]
            s = sums[..., at : at + k]
            at += k
            if name == "rmse":
                out[name] = np.sqrt(s[..., 0] / s[..., 1])
            elif name == "r2":
                sst = s[..., 2] - s[..., 1] ** 2 / s[..., 3]
                raw = 1.0 - s[..., 0] / sst
                # Keras's R2Score (and sklearn) give 0 where y is constant
                out[name] = np.where(np.isinf(raw), 0.0, raw)
            else:
                out[name] = s[..., 0] / s[..., 1]
    return out


def running(
    names: tuple[str, ...], batch_sums: np.ndarray, epoch: np.ndarray
) -> dict[str, np.ndarray]:
    """Keras's logged metric after each batch: the statistics summed over the epoch
    so far (restarting at each epoch), then finalised."""
    sums = np.asarray(batch_sums, np.float64)
    if len(sums) == 0:
        return finalize(names, sums)
    totals = np.cumsum(sums, axis=0)
    epoch = np.asarray(epoch)
    starts = np.flatnonzero(np.r_[True, epoch[1:] != epoch[:-1]])
    first = starts[np.searchsorted(starts, np.arange(len(sums)), side="right") - 1]
    before = np.where((first > 0)[:, None], totals[np.maximum(first - 1, 0)], 0.0)
    return finalize(names, totals - before)
