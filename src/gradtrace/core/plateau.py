"""ReduceLROnPlateau, PyTorch's scheduler and Keras's callback: the rate times
``factor`` once the epoch's loss has stopped falling for ``patience`` epochs.

The rate depends on the losses, so unlike the other schedules it is decided in
the run: the optimizer's state carries the plateau's (the epoch's loss summed so
far, the best loss, the bad epochs, the cooldown, and how many times the rate was
cut), and each epoch's last update applies the framework's rule. The rates
themselves, the ``k``-th cut of the starting rate, are computed beforehand in
Python floats as the framework computes them (``levels``), so a run's rates are
the framework's to the bit; the epoch's loss and its test against the best one
are computed in the run's float32 (Keras tests in float32 too; PyTorch in
doubles, so an epoch whose loss lies within an ulp of the threshold may be judged
otherwise).

The loss watched is the epoch's loss as Keras logs it (``monitor="loss"``): each
batch's loss, at the weights before its update, averaged over the epoch's rows
(float32 sums of ``loss * rows`` and of ``rows``, as Keras's ``Mean`` keeps
them). With PyTorch, that is ``running += loss.item() * len(xb)`` over the epoch,
``scheduler.step(running / n)``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import optax

#: The schedules of this kind, by name.
PLATEAUS = frozenset({"torch.plateau", "keras.plateau"})


class PlateauState(NamedTuple):
    """The plateau's state, carried by the optimizer's."""

    level: Any  # int32: the cuts made so far (the rate is levels[level])
    best: Any  # the best epoch loss so far (none yet: nan for Keras, inf for PyTorch)
    wait: Any  # int32: bad epochs since the best one (or the last cut)
    cooldown: Any  # int32: epochs left of the cooldown after a cut
    total: Any  # the epoch's loss times rows, summed so far
    count: Any  # the epoch's rows so far
    inner: Any  # the optimizer's own state (``optax.inject_hyperparams``')


def levels(
    name: str, params: dict[str, Any], lr: float, n_epochs: int, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The rate after each number of cuts (0, 1, ...; at most one cut an epoch, so
    ``n_epochs`` of them), as the framework computes them in Python floats and
    casts them to ``dtype``, and whether a cut at each level changes the rate
    (Keras only cuts while the rate is above ``min_lr``; PyTorch's cut stays
    where it would move the rate by ``eps`` or less, but counts as one)."""
    factor, min_lr = float(params["factor"]), float(params["min_lr"])
    rates, cuts = [], []
    if name == "keras.plateau":  # the rate is a float32 variable
        rate = float(np.float32(lr))
        for _ in range(n_epochs + 1):
            rates.append(rate)
            cut = rate > float(np.float32(min_lr))
            cuts.append(cut)
            if not cut:
                break
            rate = float(np.float32(max(rate * factor, min_lr)))
    else:  # PyTorch's param_group["lr"], a Python float
        rate, eps = float(lr), float(params["eps"])
        for _ in range(n_epochs + 1):
            rates.append(rate)
            new = max(rate * factor, min_lr)
            cut = rate - new > eps
            cuts.append(cut)
            if not cut:
                break
            rate = new
    return np.asarray(rates).astype(dtype), np.asarray(cuts)


def transform(
    name: str,
    params: dict[str, Any],
    inner: optax.GradientTransformation,
    lr_key: str,
    rates: np.ndarray,
    cuts: np.ndarray,
) -> optax.GradientTransformationExtraArgs:
    """``inner`` (built by ``optax.inject_hyperparams`` with ``lr_key`` a value it
    keeps in its state) at the plateau's rate: each update takes
    ``rates[level]``; its ``update`` takes the batch's ``loss``, its ``rows``
    and whether it ends an epoch (``epoch_end``) as keyword arguments."""
    keras = name == "keras.plateau"
    patience, cooldown = int(params["patience"]), int(params["cooldown"])
    top = len(rates) - 1

    def init(params_: Any) -> PlateauState:
        state = inner.init(params_)
        # no best yet: Keras's None (nan: any loss is better), PyTorch's inf;
        # each a buffer of its own (the run donates its state's)
        best = jnp.asarray(jnp.nan if keras else jnp.inf, jnp.float32)
        level, wait, cool = (jnp.zeros((), jnp.int32) for _ in range(3))
        total, count = (jnp.zeros((), jnp.float32) for _ in range(2))
        return PlateauState(level, best, wait, cool, total, count, state)

    def update(
        updates: Any,
        state: PlateauState,
        params_: Any = None,
        *,
        loss: Any,
        rows: Any,
        epoch_end: Any,
        **extra: Any,
    ) -> tuple[Any, PlateauState]:
        del extra
        table = jnp.asarray(rates)
        inner_state = state.inner
        hyper = dict(inner_state.hyperparams)
        hyper[lr_key] = table[state.level].astype(hyper[lr_key].dtype)
        inner_state = inner_state._replace(hyperparams=hyper)
        updates, inner_state = inner.update(updates, inner_state, params_)
        # Keras's Mean: total += loss * rows, count += rows, in float32
        rows32 = jnp.asarray(rows, jnp.float32)
        total = state.total + jnp.asarray(loss, jnp.float32) * rows32
        count = state.count + rows32
        judged = _judge(
            keras, params, patience, cooldown, cuts, top, state, total / count
        )
        level, best, wait, cool = (
            jnp.where(epoch_end, new, old)
            for new, old in zip(judged, state[:4], strict=True)
        )
        total = jnp.where(epoch_end, 0.0, total)
        count = jnp.where(epoch_end, 0.0, count)
        return updates, PlateauState(level, best, wait, cool, total, count, inner_state)

    return optax.GradientTransformationExtraArgs(init, update)  # type: ignore[arg-type]


def _judge(
    keras: bool,
    params: dict[str, Any],
    patience: int,
    cooldown: int,
    cuts: np.ndarray,
    top: int,
    state: PlateauState,
    current: Any,
) -> tuple[Any, Any, Any, Any]:
    """The framework's rule at an epoch's end, from ``state`` and the epoch's
    loss ``current``: the new level, best loss, bad epochs and cooldown."""
    level, best, wait, cool = state.level, state.best, state.wait, state.cooldown
    can_cut = jnp.asarray(cuts)[level]
    if keras:  # ReduceLROnPlateau.on_epoch_end, Keras 3
        in_cooldown = cool > 0
        cool = jnp.where(in_cooldown, cool - 1, cool)
        wait = jnp.where(in_cooldown, 0, wait)
        delta = jnp.float32(float(params["min_delta"]))
        # Keras negates min_delta for a loss: better by min_delta at least
        better = jnp.isnan(best) | (current + delta < best)
        best = jnp.where(better, current, best)
        counting = ~better & (cool <= 0)
        wait = jnp.where(better, 0, jnp.where(counting, wait + 1, wait))
        cut = counting & (wait >= patience) & can_cut
        wait = jnp.where(cut, 0, wait)
    else:  # ReduceLROnPlateau.step, PyTorch, mode="min"
        threshold = float(params["threshold"])
        if params["threshold_mode"] == "rel":
            better = current < best * jnp.float32(1.0 - threshold)
        else:
            better = current < best - jnp.float32(threshold)
        best = jnp.where(better, current, best)
        wait = jnp.where(better, 0, wait + 1)
        in_cooldown = cool > 0
        cool = jnp.where(in_cooldown, cool - 1, cool)
        wait = jnp.where(in_cooldown, 0, wait)
        cut = wait > patience  # a cut that would not move the rate counts too
        wait = jnp.where(cut, 0, wait)
        cut_level = cut & can_cut
        cool = jnp.where(cut, cooldown, cool)
        return (
            jnp.where(cut_level, jnp.minimum(level + 1, top), level),
            best,
            wait,
            cool,
        )
    cool = jnp.where(cut, cooldown, cool)
    return jnp.where(cut, jnp.minimum(level + 1, top), level), best, wait, cool


def find(state: Any) -> PlateauState | None:
    """The plateau's state within an optimizer's (a chain's tuple), or None."""
    if isinstance(state, PlateauState):
        return state
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        for part in state:
            found = find(part)
            if found is not None:
                return found
    return None


def rate(state: Any, rates: np.ndarray) -> Any:
    """The rate the next update takes, from the optimizer's ``state``."""
    found = find(state)
    assert found is not None
    return jnp.asarray(rates)[found.level]


def epochs_needed(n_steps: int, per_epoch: int) -> int:
    """The epochs a run of ``n_steps`` steps spans (its last possibly cut short)."""
    return max(1, math.ceil(n_steps / max(per_epoch, 1)))
