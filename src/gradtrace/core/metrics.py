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

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array


class EpochSums(NamedTuple):
    """Where per-epoch running sums stand after some steps, so that the next steps'
    sums continue them exactly: the cumulative sums over every step so far, those
    from before the last step's epoch began, and that epoch."""

    epoch: int
    totals: np.ndarray
    before: np.ndarray


def epoch_sums(
    values: np.ndarray, epoch: np.ndarray, carry: EpochSums | None = None
) -> tuple[np.ndarray, EpochSums | None]:
    """The sums of ``values`` ([steps, k]) over each step's epoch so far, and where
    they stand after the last step. With ``carry`` (the previous steps' end), the
    result is bit for bit what one call over all the steps gives: the cumulative
    sums continue from the carried ones, added in the same order."""
    values = np.asarray(values, np.float64)
    epoch = np.asarray(epoch)
    if len(values) == 0:
        return values.copy(), carry
    if carry is not None:
        values = np.concatenate([carry.totals[None], values])
        epoch = np.concatenate([[carry.epoch], epoch])
    totals = np.cumsum(values, axis=0)
    # index of each step's epoch start; subtract the sums from before it
    starts = np.flatnonzero(np.r_[True, epoch[1:] != epoch[:-1]])
    first = starts[np.searchsorted(starts, np.arange(len(values)), side="right") - 1]
    before = np.where((first > 0)[:, None], totals[np.maximum(first - 1, 0)], 0.0)
    if carry is not None:
        before[first == 0] = carry.before
        totals, before = totals[1:], before[1:]
    end = EpochSums(int(epoch[-1]), totals[-1].copy(), before[-1].copy())
    return totals - before, end


def keras_running_mean(
    values: np.ndarray,
    weights: np.ndarray,
    epoch: np.ndarray,
    carry: EpochSums | None = None,
) -> tuple[np.ndarray, EpochSums | None]:
    """Running mean of ``values`` weighted by ``weights``, restarting at each epoch,
    and where its sums stand after the last step (``carry`` continues them).

    Examples:
        >>> keras_running_mean(np.array([1.0, 3.0, 5.0]), np.array([2, 2, 1]),
        ...                    np.array([1, 1, 2]))[0].tolist()
        [1.0, 2.0, 5.0]
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.float64)
    sums, end = epoch_sums(np.stack([values * weights, weights], axis=1), epoch, carry)
    return sums[:, 0] / sums[:, 1], end


# Metrics: each step records a metric's sufficient statistics over the step's batch
# (weighted by the real rows), so Keras's running value over the epoch so far and the
# value over all the data come from the same sums.

#: name -> (number of statistics, description)
METRICS: dict[str, tuple[int, str]] = {
    "rmse": (2, "root mean squared error, sqrt(sum (pred - y)^2 / rows)"),
    "mse": (2, "mean squared error, sum (pred - y)^2 / rows (Keras's metrics=['mse'])"),
    "mae": (2, "mean absolute error, sum |pred - y| / rows"),
    "r2": (4, "coefficient of determination, 1 - SSE / SST (Keras's R2Score)"),
    "accuracy": (2, "share of rows with (pred > 0.5) == y (Keras's BinaryAccuracy)"),
    "loglik": (2, "mean log-likelihood per row under the model's own likelihood"),
}


#: gradtrace's metrics by the names Keras logs them under (its metric classes'
#: names: RootMeanSquaredError, ...); loglik has none, and keeps its own.
KERAS_METRICS = {
    "rmse": "root_mean_squared_error",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "r2": "r2_score",
    "accuracy": "binary_accuracy",
}

#: The metrics by Keras's names for them, as History's keys have them and as
#: its classes' names read in lower case (rootmeansquarederror)
KERAS_METRIC_NAMES = {
    **{theirs: ours for ours, theirs in KERAS_METRICS.items()},
    **{theirs.replace("_", ""): ours for ours, theirs in KERAS_METRICS.items()},
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
        if name in ("rmse", "mse"):
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
    names: tuple[str, ...],
    batch_sums: np.ndarray,
    epoch: np.ndarray,
    carry: EpochSums | None = None,
) -> tuple[dict[str, np.ndarray], EpochSums | None]:
    """Keras's logged metric after each batch: the statistics summed over the epoch
    so far (restarting at each epoch), then finalised; and where the sums stand
    after the last step (``carry`` continues them)."""
    sums, end = epoch_sums(batch_sums, epoch, carry)
    return finalize(names, sums), end
