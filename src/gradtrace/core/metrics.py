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

import numpy as np


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
