"""Models: named parameters and a pure function of them.

A regression model maps ``(params, x)`` to a prediction; a distribution maps
``(params, y)`` to a log-density. Parameters are a dict of named arrays (scalars, or
vectors for ``linear``'s slopes), so names travel into every table and plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import jax.numpy as jnp
from jax import Array

Params = dict[str, Array]
Constraint = Literal["real", "positive"]

LOG_SQRT_2PI = math.log(math.sqrt(2.0 * math.pi))


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: its name, default initial value, constraint and size.

    ``size`` is None for a scalar, or the length of a vector parameter.
    """

    name: str
    default: float
    constraint: Constraint = "real"
    size: int | None = None
    doc: str = ""

    def columns(self) -> list[str]:
        """Column names: ``w`` for a scalar; ``w[0]``, ``w[1]``, ... for a vector."""
        if self.size is None:
            return [self.name]
        return [f"{self.name}[{i}]" for i in range(self.size)]


SCALE = ParamSpec("scale", 1.0, "positive", doc="standard deviation of the noise")


@dataclass(frozen=True)
class Line:
    """A straight line, y = w * x + b."""

    name = "line"
    kind = "regression"
    n_features = 1

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (
            ParamSpec("w", 0.0, doc="slope"),
            ParamSpec("b", 0.0, doc="intercept"),
        )

    def predict(self, params: Params, x: Array) -> Array:
        """x: [n] -> [n]."""
        return params["w"] * x + params["b"]


@dataclass(frozen=True)
class Linear:
    """A linear model on several columns, y = x @ w + b (vector w, scalar b)."""

    n_features: int = 1
    name = "linear"
    kind = "regression"

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (
            ParamSpec("w", 0.0, size=self.n_features, doc="slopes, one per x column"),
            ParamSpec("b", 0.0, doc="intercept"),
        )

    def predict(self, params: Params, x: Array) -> Array:
        """x: [n, k] -> [n]."""
        return x @ params["w"] + params["b"]


@dataclass(frozen=True)
class Normal:
    """The normal distribution N(loc, scale^2), fitted to y by likelihood."""

    name = "normal"
    kind = "distribution"
    n_features = 0

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (
            ParamSpec("loc", 0.0, doc="mean"),
            ParamSpec("scale", 1.0, "positive", doc="standard deviation"),
        )

    def log_prob(self, params: Params, y: Array) -> Array:
        """log N(y | loc, scale), written as PyTorch's ``Normal.log_prob`` writes it."""
        return normal_log_prob(y, params["loc"], params["scale"])


def normal_log_prob(y: Array, loc: Array, scale: Array) -> Array:
    """-(y - loc)^2 / (2 scale^2) - log(scale) - log(sqrt(2 pi))."""
    return -((y - loc) ** 2) / (2 * scale**2) - jnp.log(scale) - LOG_SQRT_2PI


Model = Line | Linear | Normal

MODELS: dict[str, str] = {
    "line": "y = w*x + b: one x column, scalar slope w and intercept b",
    "linear": "y = x @ w + b: several x columns (--x repeated), vector w, scalar b",
    "normal": "y ~ Normal(loc, scale): a distribution fitted to y alone",
}


def make_model(name: str, n_features: int = 1) -> Model:
    """The model called ``name`` (one of ``MODELS``)."""
    if name == "line":
        return Line()
    if name == "linear":
        return Linear(n_features)
    if name == "normal":
        return Normal()
    raise KeyError(name)
