"""Keras's ``EarlyStopping`` callback: training stops once the watched value has
not improved for ``patience`` epochs, and with ``restore_best_weights`` the
model ends with the weights of its best epoch.

Its rule, as Keras 3's ``EarlyStopping.on_epoch_end`` and ``MonitorCallback``
have it, after each epoch (0-based ``epoch``) from ``start_from_epoch`` on:

- with ``restore_best_weights``, the first such epoch's weights are kept;
- ``wait`` counts one more epoch;
- an improvement is ``current - min_delta < best`` (mode min, ``min_delta``
  made negative) or ``current + min_delta > best`` (mode max), compared in
  float32 as ``ops.less`` compares two Python floats; the first epoch is one
  (``on_train_begin`` sets the best to None, whatever the ``baseline``). On an
  improvement the best and (with ``restore_best_weights``) its weights are
  kept, and ``wait`` starts again only where it beats the ``baseline`` too;
- otherwise training stops after the epoch where ``wait >= patience`` (never
  after the first).

At the end of training (stopped or not) ``restore_best_weights`` sets the kept
weights. Stopping only ends a run, so the epochs before the stop are those of
the run without it: gradtrace runs its steps and keeps them up to that epoch.
"""

from __future__ import annotations

import math
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


class Judging:
    """The rule over the watched values as they come, one after each whole
    epoch (``add``), compared in ``dtype`` (Keras's floatx); what it holds
    between epochs is a few numbers (``state``, ``restore``), so a run that
    goes on from a checkpoint goes on judging."""

    def __init__(self, rule: EarlyStopping, dtype: Any) -> None:
        self.rule, self.dtype = rule, np.dtype(dtype)
        self.epoch = 0  # the values seen (0-based epoch of the next)
        # Keras's on_train_begin sets best to None: the baseline only decides
        # whether an improvement starts the wait again
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.kept: int | None = None  # the epoch whose weights are kept
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _better(self, current: float, reference: float | None) -> bool:
        if reference is None:
            return True
        # min_delta made negative for mode min: current + |min_delta| < best
        rising = self.rule.rising
        delta = abs(self.rule.min_delta) * (1 if rising else -1)
        shifted = np.asarray(current - delta, self.dtype)
        if rising:
            return bool(shifted > np.asarray(reference, self.dtype))
        return bool(shifted < np.asarray(reference, self.dtype))

    def add(self, values: Sequence[float]) -> Stopped:
        """Judge the next epochs' ``values`` in order (none once stopped)."""
        rule = self.rule
        for current in (float(v) for v in values):
            if self.stopped_epoch is not None:
                break
            epoch = self.epoch
            self.epoch += 1
            if epoch < rule.start_from_epoch:
                continue
            if rule.restore_best_weights and self.kept is None:
                self.kept = self.best_epoch = epoch
            self.wait += 1
            # a NaN is no improvement, unless it is the first value (Keras
            # keeps it as the best, which nothing then beats)
            if self._better(current, self.best):
                self.best, self.best_epoch = current, epoch
                if rule.restore_best_weights:
                    self.kept = epoch
                if rule.baseline is None or self._better(current, rule.baseline):
                    self.wait = 0
                continue
            if self.wait >= rule.patience and epoch > 0:
                self.stopped_epoch = epoch + 1
        return self.stopped

    @property
    def stopped(self) -> Stopped:
        """What it has decided so far."""
        return Stopped(
            self.stopped_epoch, _one(self.best_epoch), self.best, _one(self.kept)
        )

    def state(self) -> np.ndarray:
        """What it holds, as float64s: epoch, best (NaN: none), best epoch,
        kept epoch (-1: none), wait, stopped epoch (-1: not stopped)."""
        best = math.nan if self.best is None else self.best
        return np.asarray(
            [
                self.epoch,
                best,
                float(self.best is not None),
                -1 if self.best_epoch is None else self.best_epoch,
                -1 if self.kept is None else self.kept,
                self.wait,
                -1 if self.stopped_epoch is None else self.stopped_epoch,
            ],
            np.float64,
        )

    def restore(self, state: np.ndarray) -> None:
        """Go on from ``state`` (what ``state`` gave)."""
        epoch, best, has_best, best_epoch, kept, wait, stopped = (
            float(v) for v in np.asarray(state, np.float64)
        )
        self.epoch, self.wait = int(epoch), int(wait)
        self.best = best if has_best else None
        self.best_epoch = None if best_epoch < 0 else int(best_epoch)
        self.kept = None if kept < 0 else int(kept)
        self.stopped_epoch = None if stopped < 0 else int(stopped)


#: How many of the dtype's ulps an improvement may win or lose by and count as
#: a close call: sums taken in another order (another framework's) round a
#: value by about that much.
CLOSE_ULPS = 4


def close_calls(
    rule: EarlyStopping, values: Sequence[float], dtype: Any
) -> list[tuple[int, float, float]]:
    """The epochs (1-based) whose improvement, or its absence, the rule decided
    by ``CLOSE_ULPS`` ulps of ``dtype`` or less, with their value and the best
    they were held against: where a framework's own rounding may decide the
    other way (a Keras user's run stopped an epoch later than Keras's, its
    val_loss one bit below the best where Keras's was one bit above).

    Examples:
        >>> rule = EarlyStopping(patience=2)
        >>> close_calls(rule, [1.0, 0.5, 0.5000001, 0.6], "float32")
        [(3, 0.5000001, 0.5)]
    """
    judging = Judging(rule, dtype)
    tiny = float(np.finfo(np.dtype(dtype)).eps) * CLOSE_ULPS
    delta = abs(rule.min_delta) * (1 if rule.rising else -1)
    out = []
    for epoch, current in enumerate(float(v) for v in values):
        best = judging.best
        if judging.stopped_epoch is not None:
            break
        judged = epoch >= rule.start_from_epoch
        if judged and best is not None and math.isfinite(current + best):
            gap = abs((current - delta) - best)
            if gap <= tiny * max(abs(current), abs(best)):
                out.append((epoch + 1, current, best))
        judging.add([current])
    return out


def judge(rule: EarlyStopping, values: Sequence[float], dtype: Any) -> Stopped:
    """The rule over the watched ``values``, one after each whole epoch in
    order, compared in ``dtype`` (Keras's floatx)."""
    return Judging(rule, dtype).add(values)


def _one(epoch: int | None) -> int | None:
    return None if epoch is None else epoch + 1
