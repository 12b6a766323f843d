"""ReduceLROnPlateau, PyTorch's scheduler and Keras's callback: the rate times
``factor`` once the epoch's loss has stopped falling for ``patience`` epochs.

The rate depends on the losses, so unlike the other schedules it is decided in
the run. The optimizer's state carries the plateau's: the epoch's loss summed so
far, the best loss, the bad epochs, the cooldown, and how many times the rate
was cut (its *level*). Each epoch's last update hands the epoch's sums to the
framework's rule, run on the host in Python floats as the framework runs it
(``jax.pure_callback``, once an epoch), so its decisions are the framework's:

- PyTorch's loop sums ``loss.item() * len(xb)`` in doubles and calls
  ``scheduler.step(running / n)``. A float32 run sums the same products, each
  exact (the float32 loss and the row count split into halves of 12 bits), into
  a pair of float32 numbers (Knuth's two-sum): 48 bits, against the doubles' 53,
  so the epoch's loss is PyTorch's to about 1e-14 (equal where the sum needs no
  more bits), and only an epoch that close to the threshold could be judged
  otherwise. A float64 run sums in doubles, as PyTorch.
- Keras logs the epoch's loss as its ``Mean`` metric keeps it: float32 sums of
  ``loss * rows`` and of ``rows``, and their quotient.

With ``monitor="val_loss"`` the rule watches the validation data's loss after
each epoch instead (Keras's ``val_loss``, PyTorch's ``scheduler.step(val_loss)``).
The run takes it at the first update of the next epoch, from the parameters the
epoch left, and judges before that update: the same rates, one step later in
the program.

The rates themselves, the ``k``-th cut of the starting rate, are computed
beforehand as the framework computes them (``levels``), so the trace's ``lr``
column is the framework's to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

#: The schedules of this kind, by name.
PLATEAUS = frozenset({"torch.plateau", "keras.plateau"})


class PlateauState(NamedTuple):
    """The plateau's state, carried by the optimizer's."""

    #: uint32[5], what the rule keeps between epochs (one array: the rule's one
    #: argument and result, a call to Python costing per array): the cuts made so
    #: far (the rate is levels[level]), the best epoch loss's float64 bits (none
    #: yet: NaN), the bad epochs since it (or the last cut), and the epochs left
    #: of the cooldown after a cut
    judged: Any
    #: [2], the epoch's sums so far (PyTorch: a two-sum pair of loss * rows;
    #: Keras: its Mean's total and count)
    sums: Any
    #: the optimizer's own state (``optax.inject_hyperparams``')
    inner: Any


def _packed(level: int, best: float, wait: int, cool: int) -> np.ndarray:
    """``PlateauState.judged`` of these values."""
    bits = np.asarray([best], np.float64).view(np.uint32)
    return np.asarray([level, bits[0], bits[1], wait, cool], np.uint32)


def levels(
    name: str, params: dict[str, Any], lr: float, n_epochs: int, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The rate after each number of cuts (0, 1, ...; at most one cut an epoch,
    so ``n_epochs`` of them) as the framework holds it, in float64, and whether a
    cut at each level moves it. PyTorch's ``param_group["lr"]`` is a Python
    float; its cut stays where it would move the rate by ``eps`` or less (but
    counts as one). Keras's rate is a variable of ``dtype`` (its floatx), cut in
    doubles while above ``min_lr`` as float32."""
    factor, min_lr = float(params["factor"]), float(params["min_lr"])
    rates, cuts = [], []
    if name == "keras.plateau":
        rate = float(np.asarray(lr, dtype))
        for _ in range(n_epochs + 1):
            rates.append(rate)
            cut = rate > float(np.float32(min_lr))
            cuts.append(cut)
            if not cut:
                break
            rate = float(np.asarray(max(rate * factor, min_lr), dtype))
    else:
        rate, eps = float(lr), float(params["eps"])
        for _ in range(n_epochs + 1):
            rates.append(rate)
            new = max(rate * factor, min_lr)
            cut = rate - new > eps
            cuts.append(cut)
            if not cut:
                break
            rate = new
    return np.asarray(rates, np.float64), np.asarray(cuts)


def judge(
    name: str, params: dict[str, Any], dtype: Any, n_rows: int
) -> Callable[[Any, Any, Any], np.ndarray]:
    """The framework's rule at an epoch's end, in Python floats: from the
    epoch's ``sums`` (PyTorch: the pair summing ``loss * rows`` over its
    ``n_rows`` rows; Keras: its Mean) and the state (level, best's bits, bad
    epochs, cooldown) and whether a cut at its level moves the rate
    (``levels``), the new state. ``dtype``: Keras's floatx, the dtype it
    compares in (``ops.less`` of two Python floats). Watching the validation
    loss (``monitor="val_loss"``), ``sums[0]`` is that loss."""
    patience, cooldown = int(params["patience"]), int(params["cooldown"])
    watch_val = params.get("monitor") == "val_loss"

    def rule(sums: Any, judged: Any, can_cut: Any) -> np.ndarray:
        judged = np.asarray(judged, np.uint32)
        level, wait, cool = int(judged[0]), int(judged[3]), int(judged[4])
        best = float(judged[1:3].copy().view(np.float64)[0])
        sums = np.asarray(sums)
        if name == "torch.plateau":  # ReduceLROnPlateau.step(running / n)
            if watch_val:  # .step(val_loss), a float32 loss's .item()
                current = float(sums[0])
            else:
                current = (float(sums[0]) + float(sums[1])) / n_rows
            threshold = float(params["threshold"])
            if math.isnan(best):
                best = math.inf  # mode_worse
            if params["threshold_mode"] == "rel":
                better = current < best * (1.0 - threshold)
            else:
                better = current < best - threshold
            if better:
                best, wait = current, 0
            else:
                wait += 1
            if cool > 0:
                cool, wait = cool - 1, 0
            if wait > patience:  # _reduce_lr, which may leave the rate as it is
                if bool(can_cut):
                    level += 1
                cool, wait = cooldown, 0
        else:  # ReduceLROnPlateau.on_epoch_end, monitor="loss", Keras 3
            current = float(sums[0])  # its Mean, total / count in its dtype
            # (or the validation loss, val_loss)
            if cool > 0:
                cool, wait = cool - 1, 0
            # min_delta made negative for a loss: current - min_delta
            delta = abs(float(params["min_delta"]))
            if math.isnan(best) or np.asarray(current + delta, dtype) < np.asarray(
                best, dtype
            ):
                best, wait = current, 0
            elif cool <= 0:
                wait += 1
                if wait >= patience and bool(can_cut):
                    level += 1
                    cool, wait = cooldown, 0
        return _packed(level, best, wait, cool)

    return rule


class Judged(NamedTuple):
    """The plateau's state after an epoch: its loss as the framework watched it,
    the best so far, the bad epochs counted, the cooldown left, the cuts made."""

    loss: float
    best: float
    wait: int
    cooldown: int
    level: int


def replay(
    name: str,
    params: dict[str, Any],
    cuts: np.ndarray,
    dtype: Any,
    losses: np.ndarray,
    rows: np.ndarray,
    epochs: np.ndarray,
    watched: np.ndarray | None = None,
) -> list[Judged]:
    """The rule over a trace's whole epochs, from its batch ``losses`` (each of
    ``rows`` rows, in epoch ``epochs``): the state after each, as the run
    decided it (the epoch's loss as the framework sums it, in doubles for
    PyTorch, Keras's float32 ``Mean``). ``watched``: the validation loss after
    each whole epoch, for a plateau that watches it."""
    n_rows = int(np.sum(rows[epochs == epochs[0]])) if len(epochs) else 0
    rule = judge(name, params, dtype, n_rows)
    judged = _packed(0, math.nan, 0, 0)
    out = []
    for i, epoch in enumerate(np.unique(epochs)):
        here = epochs == epoch
        if int(np.sum(rows[here])) != n_rows:
            break  # a part of an epoch: not judged
        if watched is not None:
            current = float(watched[i])
            sums = np.asarray([current, 0.0])
        elif name == "torch.plateau":
            running = 0.0
            for loss, r in zip(losses[here], rows[here], strict=True):
                running += float(loss) * int(r)
            sums = np.asarray([running, 0.0])
            current = running / n_rows
        else:
            total = count = np.asarray(0, dtype)
            for loss, r in zip(losses[here], rows[here], strict=True):
                weight = np.asarray(r, dtype)
                total = np.asarray(total + np.asarray(loss, dtype) * weight, dtype)
                count = np.asarray(count + weight, dtype)
            mean = np.asarray(total / count, dtype)
            sums, current = np.asarray([mean, count]), float(mean)
        judged = rule(sums, judged, cuts[int(judged[0])])
        best = float(judged[1:3].copy().view(np.float64)[0])
        out.append(
            Judged(current, best, int(judged[3]), int(judged[4]), int(judged[0]))
        )
    return out


def _halves(a: Any) -> tuple[Any, Any]:
    """``a`` (float32) as the sum of two float32 numbers of 12 significant bits
    each: its high part by masking the low 12 bits of its significand (no
    arithmetic that a compiler could fuse), its low part the exact rest."""
    bits = jax.lax.bitcast_convert_type(a, jnp.uint32)
    high = jax.lax.bitcast_convert_type(bits & jnp.uint32(0xFFFFF000), jnp.float32)
    return high, a - high


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``a + b`` and its rounding error, exactly (Knuth): adds only."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def exact_add(pair: Any, loss: Any, rows: Any) -> Any:
    """The pair ``[hi, lo]`` (float32) plus ``loss * rows`` (a float32 loss, a
    whole number of rows below 2^24), the product exact: each factor split into
    halves of 12 bits, whose four products are exact in float32. The pair keeps
    the sum to about 48 bits (exactly, where it needs no more)."""
    lh, ll = _halves(loss)
    rows = jnp.asarray(rows, jnp.float32)
    rh = jnp.floor(rows / 4096.0) * 4096.0  # exact: a whole number below 2^24
    rl = rows - rh
    hi, lo = pair[0], pair[1]
    for term in (lh * rh, lh * rl, ll * rh, ll * rl):
        hi, err = _two_sum(hi, term)
        lo = lo + err
    hi, lo = _two_sum(hi, lo)
    return jnp.stack([hi, lo])


def transform(
    name: str,
    params: dict[str, Any],
    inner: optax.GradientTransformation,
    lr_key: str,
    rates: Any,
    cuts: Any,
    n_rows: int,
    dtype: Any,
) -> optax.GradientTransformationExtraArgs:
    """``inner`` (built by ``optax.inject_hyperparams`` with ``lr_key`` a value it
    keeps in its state) at the plateau's rate: each update takes
    ``rates[level]`` (cast to ``dtype``, the run's rates'); its ``update`` takes
    the batch's ``loss``, its ``rows`` and whether it ends an epoch
    (``epoch_end``) as keyword arguments, and the epoch's end the framework's
    rule (``judge``) over the epoch's ``n_rows`` rows. ``rates`` and ``cuts``
    (``levels``) may be traced: a sweep's, one configuration's each.

    Watching the validation loss (``params["monitor"] == "val_loss"``), its
    ``update`` takes ``val_loss``, the loss over the validation data at the
    parameters it is given, and whether the step starts an epoch after the
    first (``epoch_start``): the rule judges the epoch before, then the update
    goes at the rate it leaves."""
    torch = name == "torch.plateau"
    watch_val = params.get("monitor") == "val_loss"
    rule = judge(name, params, dtype, n_rows)
    shape = jax.ShapeDtypeStruct((5,), jnp.uint32)

    def each(sums: Any, judged: Any, can_cut: Any) -> np.ndarray:
        """``rule`` of one run, or of a sweep's configurations (a leading axis
        of each)."""
        judged = np.asarray(judged)
        if judged.ndim == 1:
            return rule(sums, judged, can_cut)
        sums, cut = np.asarray(sums), np.asarray(can_cut)
        lead = judged.shape[:-1]
        flat = [
            rule(s, j, c)
            for s, j, c in zip(
                sums.reshape(-1, sums.shape[-1]),
                judged.reshape(-1, 5),
                cut.reshape(-1),
                strict=True,
            )
        ]
        return np.stack(flat).reshape(*lead, 5)

    def init(params_: Any) -> PlateauState:
        state = inner.init(params_)
        start = jnp.asarray(_packed(0, math.nan, 0, 0))
        return PlateauState(start, jnp.zeros(2, dtype), state)

    def update(
        updates: Any,
        state: PlateauState,
        params_: Any = None,
        *,
        loss: Any,
        rows: Any,
        epoch_end: Any,
        val_loss: Any = None,
        epoch_start: Any = None,
        **extra: Any,
    ) -> tuple[Any, PlateauState]:
        del extra
        if watch_val:
            # the epoch before, judged by its validation loss before this update
            before = state.judged

            def at_start() -> Any:
                current = jnp.stack([val_loss, jnp.zeros_like(val_loss)])
                can_cut = jnp.asarray(cuts)[before[0].astype(jnp.int32)]
                return jax.pure_callback(
                    each, shape, current, before, can_cut, vmap_method="broadcast_all"
                )

            state = state._replace(
                judged=jax.lax.cond(epoch_start, at_start, lambda: before)
            )
        inner_state = state.inner
        hyper = dict(inner_state.hyperparams)
        at = state.judged[0].astype(jnp.int32)
        hyper[lr_key] = jnp.asarray(rates, dtype)[at].astype(hyper[lr_key].dtype)
        inner_state = inner_state._replace(hyperparams=hyper)
        updates, inner_state = inner.update(updates, inner_state, params_)
        if watch_val:
            return updates, PlateauState(state.judged, state.sums, inner_state)
        sums = state.sums
        loss = jnp.asarray(loss, sums.dtype)
        if not torch:  # Keras's Mean: total += loss * rows, count += rows
            weight = jnp.asarray(rows, sums.dtype)
            sums = jnp.stack([sums[0] + loss * weight, sums[1] + weight])
        elif sums.dtype == jnp.float32:
            sums = exact_add(sums, loss, rows)
        else:  # doubles, as PyTorch's loop: exact products, one rounding a sum
            sums = sums.at[0].add(loss * jnp.asarray(rows, sums.dtype))

        def at_end() -> Any:
            mean = sums if torch else jnp.stack([sums[0] / sums[1], sums[1]])
            can_cut = jnp.asarray(cuts)[at]
            # a sweep's configurations in one call, each judged in turn
            return jax.pure_callback(
                each, shape, mean, state.judged, can_cut, vmap_method="broadcast_all"
            )

        judged = jax.lax.cond(epoch_end, at_end, lambda: state.judged)
        sums = jnp.where(epoch_end, jnp.zeros_like(sums), sums)
        return updates, PlateauState(judged, sums, inner_state)

    return optax.GradientTransformationExtraArgs(init, update)  # type: ignore[arg-type]


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


def level(state: Any) -> Any:
    """The cuts made so far, which give the next update's rate, from the
    optimizer's ``state``."""
    found = find(state)
    assert found is not None
    return found.judged[0].astype(jnp.int32)
