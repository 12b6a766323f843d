"""Per-row losses and their reductions.

A loss is a per-row function plus a reduction (``mean`` or ``sum``), kept apart so a
trace can show each row's share. Built-in losses are named by a string: ``mse``,
``mae``, ``huber`` (delta 1) and ``nll``; any other is a :class:`Loss`, a per-row
function of the prediction and y (``huber`` with another delta, or the user's own).

``nll`` is the negative log-likelihood: a distribution's, or for a regression model
its family's: Gaussian noise of standard deviation ``scale`` (one more parameter, the
linear Gaussian model), Bernoulli for ``logistic``, Poisson for
``poisson-regression``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import Array

from gradtrace.core.catalog import Model
from gradtrace.core.models import (
    FULL_PRECISION,
    SCALE,
    Params,
    ParamSpec,
    normal_log_prob,
)

LOSSES: dict[str, str] = {
    "mse": "squared error (prediction - y)^2 per row; regression models",
    "mae": "absolute error |prediction - y| per row; regression models",
    "huber": "Huber: squared error within --delta of y, absolute beyond (Keras's and "
    "PyTorch's 0.5 r^2 form); regression models",
    "nll": "negative log-likelihood per row: a distribution's; for a regression "
    "model its family's (Gaussian noise with a `scale`, Bernoulli, Poisson)",
}
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Loss:
    """A per-row loss of a regression model: ``fn(pred, y)`` -> [n], with
    ``jax.numpy``. ``name`` is what tables and run.json show."""

    fn: Callable[[Array, Array], Array]
    name: str = "custom"
    source: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return self.name


def huber(delta: float) -> Loss | str:
    """The Huber loss with ``delta`` (the string ``huber`` for delta 1)."""
    if delta == 1.0:
        return "huber"
    return Loss(
        lambda pred, y: optax.losses.huber_loss(pred, y, delta=delta),
        "huber",
        {"delta": delta},
    )


LossLike = str | Loss


def loss_name(loss: LossLike) -> str:
    return loss if isinstance(loss, str) else loss.name


def param_specs(model: Model, loss: LossLike) -> tuple[ParamSpec, ...]:
    """The parameters a (model, loss) pair has: the model's, plus ``scale`` for a
    Gaussian regression model fitted by likelihood."""
    specs = model.param_specs()
    family = getattr(model, "family", None)
    if loss == "nll" and model.kind == "regression" and family == "gaussian":
        specs = (*specs, SCALE)
    return specs


def row_losses(
    model: Model, loss: LossLike, params: Params, x: Array | None, y: Array
) -> Array:
    """The loss of each row: [n]. Its matrix products, a model of one's own's
    too, are taken at float32's full precision (``FULL_PRECISION``)."""
    with jax.default_matmul_precision(FULL_PRECISION):
        return _row_losses(model, loss, params, x, y)


def _row_losses(
    model: Model, loss: LossLike, params: Params, x: Array | None, y: Array
) -> Array:
    if model.kind == "distribution":
        return -model.log_prob(params, y)  # type: ignore[union-attr]
    m: Any = model
    if loss == "nll":
        if m.family == "custom":  # the user's own likelihood of y given the prediction
            pred = m.predict(params, x)
            return -jnp.broadcast_to(m.row_log_prob(params, y, pred, x), y.shape)
        if m.family == "bernoulli":
            eta = m.linear_predictor(params, x)
            return -(y * jax.nn.log_sigmoid(eta) + (1 - y) * jax.nn.log_sigmoid(-eta))
        if m.family == "poisson":
            eta = m.linear_predictor(params, x)
            return jnp.exp(eta) - y * eta + jax.scipy.special.gammaln(y + 1)
        return -normal_log_prob(y, m.predict(params, x), params["scale"])
    pred = m.predict(params, x)
    if loss == "mse":
        return jnp.square(pred - y)
    if loss == "mae":
        return jnp.abs(pred - y)
    if loss == "huber":
        return optax.losses.huber_loss(pred, y, delta=1.0)
    if isinstance(loss, Loss):
        return jnp.broadcast_to(loss.fn(pred, y), y.shape)
    raise ValueError(f"unknown loss {loss!r}")


def log_likelihood_rows(
    model: Model, params: Params, x: Array | None, y: Array
) -> Array:
    """Each row's log-likelihood under the model's own likelihood (for a Gaussian
    regression, at the ``scale`` in ``params``)."""
    return -row_losses(model, "nll", params, x, y)


def reduce(rows: Array, mask: Array | None, reduction: str) -> Array:
    """Sum or mean of the rows that ``mask`` marks real (all of them when None).

    A partial last batch is padded to the batch size; its mean is over its real rows
    only, as Keras and PyTorch average a short last batch.
    """
    if mask is None:
        return jnp.mean(rows) if reduction == "mean" else jnp.sum(rows)
    total = jnp.sum(jnp.where(mask, rows, jnp.zeros_like(rows)))
    if reduction == "sum":
        return total
    return total / jnp.sum(mask).astype(rows.dtype)
