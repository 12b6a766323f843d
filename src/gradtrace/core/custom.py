"""The user's own models and losses: Python functions, or expressions in a small
safe grammar (``core.expr``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
from jax import Array

from gradtrace.core.expr import parse
from gradtrace.core.losses import Loss
from gradtrace.core.metrics import METRICS
from gradtrace.core.models import Custom, Params, specs_from_defaults

#: Names a parameter cannot take: they are trace columns.
RESERVED = {"step", "epoch", "batch", "loss", "gap", "batch_loss", *METRICS}
#: The default start of an expression's parameters (0 would stall products).
EXPR_DEFAULT = 1.0


def Model(  # noqa: N802 - a factory that reads as the class it makes
    fn: Callable[[Params, Array], Array],
    params: Mapping[str, Any],
    *,
    positive: Sequence[str] = (),
    name: str = "custom",
) -> Custom:
    """A regression model of your own: ``fn(params, x)`` returns the prediction.

    ``fn`` uses ``jax.numpy``; ``params`` maps each parameter's name to its default
    start (a list for a vector); ``positive`` names parameters that must stay > 0.
    ``x`` reaches ``fn`` as [n] for one x column and [n, k] for several.

    Examples:
        >>> import jax.numpy as jnp
        >>> decay = Model(lambda p, x: p["a"] * jnp.exp(-p["b"] * x),
        ...               params={"a": 1.0, "b": 0.5}, positive=["b"])
        >>> [s.name for s in decay.param_specs()]
        ['a', 'b']
    """
    check_names(params)
    specs = specs_from_defaults(dict(params), tuple(positive))
    return Custom(fn, specs, name, source={"python": getattr(fn, "__name__", "fn")})


def check_names(names: Any) -> None:
    for key in names:
        if key in RESERVED or str(key).startswith(("grad_", "running_")):
            raise ValueError(
                f"a parameter cannot be called {key!r}: that is a trace column; "
                "rename it."
            )


def expression_model(text: str, x_names: Sequence[str]) -> Custom:
    """A model from an expression such as ``a*exp(-b*x) + c``: ``x_names`` are the
    data's x columns; every other name is a parameter (default start 1)."""
    expr = parse(text, what="--model-expr")
    data = [n for n in expr.names if n in x_names]
    if not data:
        raise ValueError(
            f"--model-expr uses none of the x columns ({', '.join(x_names)}): "
            "write the x column's name in the expression, or pass --x."
        )
    params = [n for n in expr.names if n not in x_names]
    if not params:
        raise ValueError("--model-expr has no parameters to fit: add some, as a*x + b.")
    check_names(params)
    columns = list(x_names)

    def fn(p: Params, x: Array) -> Array:
        if x.ndim == 1:
            env: dict[str, Any] = {columns[0]: x}
        else:
            env = {c: x[:, i] for i, c in enumerate(columns)}
        return expr({**env, **p})

    specs = specs_from_defaults(dict.fromkeys(params, EXPR_DEFAULT))
    return Custom(
        fn, specs, "expr", len(columns), source={"expr": text, "x": list(columns)}
    )


def expression_loss(text: str) -> Loss:
    """A per-row loss from an expression of ``pred`` and ``y``, such as
    ``abs(pred - y)**1.5``."""
    expr = parse(text, what="--loss-expr")
    unknown = [n for n in expr.names if n not in ("pred", "y")]
    if unknown:
        raise ValueError(
            f"--loss-expr knows pred and y, not {unknown[0]!r}: write the loss of one "
            "row with pred (the prediction) and y."
        )
    return Loss(
        lambda pred, y: expr({"pred": pred, "y": y}) * jnp.ones_like(y),
        "expr",
        {"expr": text},
    )
