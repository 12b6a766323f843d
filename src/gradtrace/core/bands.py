"""Intervals around a regression's predictions, from its estimates' covariance.

The fitted mean at x is a function of the parameters, so its standard error is the
delta method's: sqrt(J Σ Jᵀ), J the prediction's gradient with respect to the
parameters and Σ their covariance. A logistic or Poisson regression takes it on
the scale of its linear predictor and maps the interval's ends through the inverse
link (the logit's, the log's), as R's ``predict(..., se.fit = TRUE)`` users do, so
that a probability's interval stays within (0, 1) and a mean count's above 0; the
standard error it reports is the mean's, by the delta method through the link.

A prediction interval, for a new observation of y rather than its mean, adds the
noise's variance: least squares' σ̂² = SSR / (n − p), or a Gaussian likelihood's
scale².
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import compiler
from gradtrace.core.catalog import Model
from gradtrace.core.flat import Layout, layout, unflat

#: The models whose intervals are taken on the linear predictor's scale, and the
#: inverse of their link
LINKED = {"logistic": jax.nn.sigmoid, "poisson-regression": jnp.exp}


class Band(NamedTuple):
    """Each row's prediction, its standard error, and the interval's ends."""

    prediction: np.ndarray
    std_error: np.ndarray
    low: np.ndarray
    high: np.ndarray


def mean_band(
    model: Model,
    params: dict[str, Any],
    fixed: dict[str, Any],
    cov: np.ndarray,
    x: np.ndarray,
    quantile: float,
    noise: float | None = None,
) -> Band:
    """The fitted mean at each row of ``x`` (as ``model.predict`` takes it) at
    ``params`` (the trained parameters in the covariance's order) and ``fixed``,
    with the delta method's standard error over ``cov`` and the interval of
    -+ ``quantile`` standard errors; ``noise``: the noise's standard deviation,
    for a prediction interval of a new y (None: the mean's interval)."""
    shapes = layout(params)
    flat0 = np.concatenate(
        [np.ravel(np.asarray(v, np.float64)) for v in params.values()]
    )
    with jax.enable_x64(True):
        band = _band(
            model,
            shapes,
            noise is not None,
            jnp.asarray(flat0),
            {k: jnp.asarray(v, jnp.float64) for k, v in fixed.items()},
            jnp.asarray(x, jnp.float64),
            jnp.asarray(cov, jnp.float64),
            jnp.asarray(quantile, jnp.float64),
            jnp.asarray(0.0 if noise is None else noise, jnp.float64),
        )
        return Band(*(np.asarray(a, np.float64) for a in band))


@functools.partial(compiler.jit, static_argnums=(0, 1, 2))
def _band(
    model: Model,
    shapes: Layout,
    noisy: bool,
    flat: jax.Array,
    held: dict[str, jax.Array],
    xs: jax.Array,
    cov: jax.Array,
    quantile: jax.Array,
    noise: jax.Array,
) -> tuple[jax.Array, ...]:
    """``mean_band``'s arithmetic, one compiled program for each model, layout
    and shape of x (a notebook's predictions at a few rows, each evaluated
    operation by operation, compiled each operation afresh for each number of
    rows: 0.6 s a call)."""
    m: Any = model
    link = LINKED.get(getattr(m, "name", ""))
    rows = xs.shape[0]

    def at(flat: jax.Array) -> jax.Array:
        values = {**held, **unflat(shapes, flat)}
        if link is not None:
            return jnp.broadcast_to(m.linear_predictor(values, xs), (rows,))
        return jnp.broadcast_to(m.predict(values, xs), (rows,))

    value = at(flat)
    jac = jax.jacfwd(at)(flat)  # [rows, parameters]
    var = jnp.sum((jac @ cov) * jac, axis=1)
    se = jnp.sqrt(jnp.maximum(var, 0.0))
    if link is None:
        spread = jnp.sqrt(se**2 + noise**2) if noisy else se
        return value, se, value - quantile * spread, value + quantile * spread
    mean = link(value)
    # the mean's error through the link: d mean / d eta x se
    slope = jax.vmap(jax.grad(link))(value)
    return (
        mean,
        jnp.abs(slope) * se,
        link(value - quantile * se),
        link(value + quantile * se),
    )
