"""Keras's ``EarlyStopping`` callback: training stops once the watched value has
not improved for ``patience`` epochs, and with ``restore_best_weights`` the
model ends with the weights of its best epoch.

Its rule, as Keras 3's ``EarlyStopping.on_epoch_end`` and ``MonitorCallback``
have it, after each epoch (0-based ``epoch``) from ``start_from_epoch`` on:

- with ``restore_best_weights``, the first such epoch's weights are kept;
- ``wait`` counts one more epoch;
- an improvement is ``current - min_delta < best`` (mode min, ``min_delta``
  made negative) or ``current + min_delta > best`` (mode max), compared in
  float32 as ``ops.less`` compares two Python floats; the first epoch is one,
  unless a ``baseline`` stands as the best to beat. On an improvement the best
  and (with ``restore_best_weights``) its weights are kept, and ``wait`` starts
  again where it beats the baseline too;
- otherwise training stops after the epoch where ``wait >= patience`` (never
  after the first).

At the end of training (stopped or not) ``restore_best_weights`` sets the kept
weights. Stopping only ends a run, so the epochs before the stop are those of
the run without it: gradtrace runs its steps and keeps them up to that epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

#: Values watched with mode "auto" that should rise (Keras's metrics whose
#: direction is "up"); the others, losses and errors, should fall.
RISING = frozenset({"r2", "accuracy", "loglik"})


@dataclass(frozen=True)
class EarlyStopping:
    """Keras's ``EarlyStopping`` arguments (``verbose`` aside)."""

    monitor: str = "val_loss"
    min_delta: float = 0.0
    patience: int = 0
    mode: str = "auto"
    baseline: float | None = None
    restore_best_weights: bool = False
    start_from_epoch: int = 0

    @property
    def rising(self) -> bool:
        """Whether the watched value should rise (mode max, or auto for a
        metric that rises: ``RISING``)."""
        if self.mode != "auto":
            return self.mode == "max"
        return self.monitor.removeprefix("val_") in RISING

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        shown = ", ".join(
            f"{k}={v}" for k, v in self.to_dict().items() if v is not None
        )
        return f"EarlyStopping({shown})"


class Stopped(NamedTuple):
    """What the rule decided over a run's epochs (1-based epochs)."""

    #: the epoch after which training stopped, or None where it ran to its end
    stopped_epoch: int | None
    #: the best epoch (its value ``best``), or None where none was judged
    best_epoch: int | None
    best: float | None
    #: the epoch whose weights ``restore_best_weights`` sets, or None
    restored_epoch: int | None


def judge(rule: EarlyStopping, values: Sequence[float], dtype: Any) -> Stopped:
    """The rule over the watched ``values``, one after each whole epoch in
    order, compared in ``dtype`` (Keras's floatx)."""

    def better(current: float, reference: float | None) -> bool:
        if reference is None:
            return True
        # min_delta made negative for mode min: current + |min_delta| < best
        delta = abs(rule.min_delta) * (1 if rule.rising else -1)
        shifted = np.asarray(current - delta, dtype)
        if rule.rising:
            return bool(shifted > np.asarray(reference, dtype))
        return bool(shifted < np.asarray(reference, dtype))

    best: float | None = rule.baseline
    best_epoch: int | None = None
    kept: int | None = None  # the epoch whose weights are kept
    wait = 0
    for epoch, current in enumerate(float(v) for v in values):
        if epoch < rule.start_from_epoch:
            continue
        if rule.restore_best_weights and kept is None:
            kept = epoch
            best_epoch = epoch
        wait += 1
        # a NaN is no improvement, unless it is the first value (Keras keeps it
        # as the best, which nothing then beats)
        if better(current, best):
            best, best_epoch = current, epoch
            if rule.restore_best_weights:
                kept = epoch
            if rule.baseline is None or better(current, rule.baseline):
                wait = 0
            continue
        if wait >= rule.patience and epoch > 0:
            return Stopped(epoch + 1, _one(best_epoch), best, _one(kept))
    return Stopped(None, _one(best_epoch), best, _one(kept))


def _one(epoch: int | None) -> int | None:
    return None if epoch is None else epoch + 1
