"""The learning-rate range test: one run whose rate grows exponentially, the loss
against the rate, and a suggested rate.

The rate grows from ``lr_min`` to ``lr_max`` over the steps (one batch each); the
test stops once the loss passes four times its lowest value. The suggestion is the
rate where the smoothed loss falls fastest against log(rate), the usual reading of
the test; next to it stand the rate of the lowest loss and, for gradient descent,
the curvature's stable limit 2/L from ``diagnose``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from gradtrace.api import RunConfig, plan, plan_reference, python_names
from gradtrace.core import batches
from gradtrace.errors import InputError
from gradtrace.sources import DataLike, frame_of, source_name


@python_names
def lr_find(
    data: DataLike,
    model: str = "line",
    loss: str | None = None,
    *,
    lr_min: float = 1e-7,
    lr_max: float = 10.0,
    steps: int = 100,
    **fit_options: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the range test; return (table of step, lr, batch_loss, smoothed) and a
    summary with ``suggested_lr``, ``min_loss_lr`` and the diagnosis' ``stable_lr``."""
    if not (0 < lr_min < lr_max) or not math.isfinite(lr_max):
        raise InputError(
            f"the range needs 0 < --min < --max, got {lr_min} and {lr_max}."
        )
    if steps < 5:
        raise InputError(f"--steps must be at least 5, got {steps}.")
    frame, source = frame_of(data)
    config = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        steps=steps,
        lr=lr_min,
        **fit_options,
    )
    p = plan(config, frame, source)
    tx = p.spec.build_range(lr_min, lr_max, steps)
    problem, sch = p.problem, p.schedule
    dtype = jnp.dtype(p.pdtype)
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        params = {k: jnp.asarray(v, dtype) for k, v in p.trainable.items()}
        fixed = {k: jnp.asarray(v, dtype) for k, v in p.fixed.items()}
        x = None if p.xs is None else jnp.asarray(p.xs, p.cdtype)
        y = jnp.asarray(p.ys, p.cdtype)
        key = jax.random.key(int(config.seed))

        def step(carry: Any, t: Any) -> Any:
            params, state = carry
            per_epoch = sch.batches_per_epoch
            picked = batches.epoch_batch(
                key,
                t // per_epoch,
                t % per_epoch,
                sch.n_rows,
                sch.batch_size,
                config.shuffle and not sch.full_batch,
            )
            xb, yb, mask = batches.gather(picked, x, y)
            value, grads = problem.value_and_grad(params, fixed, xb, yb, mask)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), value

        run = jax.jit(
            lambda p0: jax.lax.scan(step, (p0, tx.init(p0)), jnp.arange(steps))[1]
        )
        losses = np.asarray(run(params), np.float64)
    rates = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    finite = np.isfinite(losses)
    best = np.min(losses[finite]) if finite.any() else np.nan
    stop = steps
    blown = np.flatnonzero(~finite | (losses > 4 * best))
    after_best = blown[blown > int(np.nanargmin(np.where(finite, losses, np.inf)))]
    if after_best.size:
        stop = int(after_best[0]) + 1
    smooth = _smooth(np.where(finite, losses, np.nan)[:stop])
    slope = np.gradient(smooth, np.log(rates[:stop]))
    usable = np.isfinite(slope)
    usable[: max(3, stop // 10)] = False  # the smoothing's first points are unsettled
    suggested = (
        float(rates[:stop][usable][np.argmin(slope[usable])])
        if usable.any()
        else math.nan
    )
    table = pd.DataFrame(
        {
            "step": np.arange(1, steps + 1),
            "lr": rates,
            "batch_loss": losses,
            "smoothed": np.concatenate([smooth, np.full(steps - stop, np.nan)]),
        }
    )
    reference = plan_reference(p, [])
    d = reference.get("diagnosis", {})
    summary = {
        "suggested_lr": suggested,
        "min_loss_lr": float(
            rates[int(np.nanargmin(np.where(finite, losses, np.inf)))]
        ),
        "stopped_at_step": stop,
        "stable_lr": d.get("stable_lr"),
        "family": d.get("family"),
        "optimizer": p.spec.name,
        "model": p.m.name,
        "loss": p.loss,
    }
    return table, summary


def _smooth(values: np.ndarray, beta: float = 0.8) -> np.ndarray:
    """Exponential moving average with bias correction (as the range test's
    usual implementations smooth the noisy batch losses)."""
    out = np.empty_like(values)
    avg = 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * (v if np.isfinite(v) else avg)
        out[i] = avg / (1 - beta ** (i + 1))
    return out
