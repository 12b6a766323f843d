"""Per-row losses and their reductions.

A loss is a per-row function plus a reduction (``mean`` or ``sum``), kept apart so a
trace can show each row's share. A negative log-likelihood is one more per-row loss.
For a regression model, ``nll`` is the Gaussian likelihood of y around the prediction,
with one more parameter, ``scale`` (the linear Gaussian model).
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from jax import Array

from gradtrace.core.models import SCALE, Model, Params, ParamSpec, normal_log_prob

LossName = Literal["mse", "nll"]
Reduction = Literal["mean", "sum"]

LOSSES: dict[str, str] = {
    "mse": "squared error (prediction - y)^2 per row; regression models only",
    "nll": "negative log-likelihood per row; distributions, or regression with "
    "Gaussian noise of standard deviation `scale`",
}
REDUCTIONS = ("mean", "sum")


def param_specs(model: Model, loss: str) -> tuple[ParamSpec, ...]:
    """The parameters a (model, loss) pair trains: the model's, plus ``scale`` for a
    regression model fitted by likelihood."""
    specs = model.param_specs()
    if loss == "nll" and model.kind == "regression":
        specs = (*specs, SCALE)
    return specs


def row_losses(
    model: Model, loss: str, params: Params, x: Array | None, y: Array
) -> Array:
    """The loss of each row: [n]."""
    if model.kind == "distribution":
        if loss != "nll":
            raise ValueError(f"a distribution is fitted by nll, not {loss}")
        return -model.log_prob(params, y)  # type: ignore[union-attr]
    pred = model.predict(params, x)  # type: ignore[union-attr, arg-type]
    if loss == "mse":
        return jnp.square(pred - y)
    return -normal_log_prob(y, pred, params["scale"])


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
