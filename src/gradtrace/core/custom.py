"""The user's own models and losses: Python functions, or expressions in a small
safe grammar (``core.expr``)."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array

from gradtrace.core.distributions import SUPPORTS, CustomFamily
from gradtrace.core.expr import parse
from gradtrace.core.losses import Loss
from gradtrace.core.metrics import METRICS
from gradtrace.core.models import Custom, Params, specs_from_defaults
from gradtrace.errors import InputError

#: Names a parameter cannot take: they are trace columns.
RESERVED = {
    "step",
    "epoch",
    "batch",
    "loss",
    "gap",
    "batch_loss",
    "val_loss",
    *METRICS,
    *(f"val_{m}" for m in METRICS),
}
#: The default start of an expression's parameters (0 would stall products).
EXPR_DEFAULT = 1.0


def Model(  # noqa: N802 - a factory that reads as the class it makes
    fn: Callable[[Params, Array], Array],
    params: Mapping[str, Any] | Sequence[str],
    *,
    positive: Sequence[str] = (),
    unit: Sequence[str] = (),
    name: str = "custom",
    log_prob: Callable[..., Array] | None = None,
) -> Custom:
    """A regression model of your own: ``fn(params, x)`` returns the prediction.

    ``fn`` uses ``jax.numpy`` and returns one prediction per row; ``params`` maps
    each parameter's name to its default start (a list for a vector), or lists the
    names alone to start each at 1, as an expression's parameters do; ``positive``
    names parameters that must stay > 0, ``unit`` those that must stay strictly
    between 0 and 1 (a probability, a share). ``x`` reaches ``fn`` as [n] for one x
    column and [n, k] for several.

    ``log_prob(params, y, prediction)``: each row's log-density of y given the
    prediction, for a likelihood other than the Gaussian (Student's t errors, say:
    ``jax.scipy.stats.t.logpdf(y, p["df"], prediction, p["scale"])``, with df and
    scale among ``params``); the model is then fitted by it (``loss="nll"``).
    ``log_prob(params, y, prediction, x)`` (a fourth argument) is given the rows'
    x too, for noise that varies with x: ``jax.scipy.stats.norm.logpdf(y,
    prediction, jnp.exp(p["c"] + p["d"] * x))``. Without it, ``loss="nll"`` is the
    Gaussian likelihood, with a ``scale`` parameter added.

    Examples:
        >>> import jax.numpy as jnp
        >>> decay = Model(lambda p, x: p["a"] * jnp.exp(-p["b"] * x),
        ...               params={"a": 1.0, "b": 0.5}, positive=["b"])
        >>> [s.name for s in decay.param_specs()]
        ['a', 'b']
        >>> [s.default for s in Model(lambda p, x: p["a"] * x, ["a"]).param_specs()]
        [1.0]
    """
    if not callable(fn):
        raise InputError(
            f"a Model's fn must be a function fn(params, x), got "
            f"{type(fn).__name__}: give it first, as Model(fn, params={{'a': 1.0}})."
        )
    if log_prob is not None and not callable(log_prob):
        raise InputError(
            f"log_prob must be a function log_prob(params, y, prediction), got "
            f"{type(log_prob).__name__}."
        )
    takes_x = log_prob is not None and _takes_x(log_prob)
    _own_name(name)
    specs = _starts(params, positive, unit)
    source = {"python": getattr(fn, "__name__", "fn")}
    if log_prob is not None:
        source["log_prob"] = getattr(log_prob, "__name__", "log_prob")
    return Custom(fn, specs, name, source=source, log_prob=log_prob, log_prob_x=takes_x)


def _takes_x(log_prob: Callable[..., Any]) -> bool:
    """Whether a model's ``log_prob`` takes the rows' x: a fourth positional
    argument (``log_prob(params, y, prediction, x)``)."""
    try:
        signature = inspect.signature(log_prob)
    except (TypeError, ValueError):  # a builtin without one: three arguments
        return False
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    named = [p for p in signature.parameters.values() if p.kind in positional]
    return len(named) >= 4


def _own_name(name: Any) -> None:
    """A model's or distribution's own name: a word, not a built-in model's (whose
    closed forms and run.json entry it would take)."""
    from gradtrace.core.catalog import MODELS

    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name= must be a word, got {name!r}.")
    if name in MODELS or name in ("expr", "file"):
        raise InputError(
            f"name={name!r} is a built-in model's: give yours a name of its own, "
            f"such as name='my_{name.replace('-', '_')}'."
        )


def Distribution(  # noqa: N802 - a factory that reads as the class it makes
    log_prob: Callable[[Params, Array], Array],
    params: Mapping[str, Any] | Sequence[str],
    *,
    positive: Sequence[str] = (),
    unit: Sequence[str] = (),
    support: str = "real",
    name: str = "custom",
) -> CustomFamily:
    """A distribution of your own, fitted to y alone by negative log-likelihood:
    ``log_prob(params, y)`` returns each y's log-density (or log-mass) with
    ``jax.numpy``.

    ``params``, ``positive`` and ``unit`` as for ``Model``; ``support`` is what y
    must be:
    ``real``, ``positive``, ``nonnegative``, ``unit``, ``binary`` or ``count``
    (checked before training). The exact optimum (Newton's method from the
    starts), standard errors and the pictures come as for a built-in family.

    Examples:
        >>> import jax.scipy.stats as st
        >>> t5 = Distribution(lambda p, y: st.t.logpdf(y, 5, p["loc"], p["scale"]),
        ...                   params={"loc": 0.0, "scale": 1.0}, positive=["scale"])
        >>> [s.name for s in t5.param_specs()], t5.kind
        (['loc', 'scale'], 'distribution')
    """
    if not callable(log_prob):
        raise InputError(
            f"a Distribution's log_prob must be a function log_prob(params, y), got "
            f"{type(log_prob).__name__}: give it first, as Distribution(log_prob, "
            "params={'loc': 0.0})."
        )
    if support not in SUPPORTS:
        raise InputError(
            f"support must be one of {', '.join(SUPPORTS)}, got {support!r}: what "
            "the data y may be."
        )
    _own_name(name)
    specs = _starts(params, positive, unit)
    # the exact solver starts from these: a vector's start has its length
    starts = {
        s.name: s.default if s.size is None else np.broadcast_to(s.default, s.size)
        for s in specs
    }
    return CustomFamily(
        name,
        "your own distribution",
        specs,
        support,
        log_prob,
        lambda y, fixed: dict(starts),
        discrete=support in ("binary", "count"),
        source={"python": getattr(log_prob, "__name__", "log_prob")},
    )


def _starts(params: Any, positive: Any, unit: Any = ()) -> tuple[Any, ...]:
    """The specs of a model's or distribution's parameters from ``params`` (their
    starts), ``positive`` (the ones that stay > 0) and ``unit`` (the ones that stay
    in (0, 1)), or a one-line error."""
    defaults = _defaults(params)
    check_names(defaults)
    named = {}
    for arg, given in (("positive", positive), ("unit", unit)):
        for key in [given] if isinstance(given, str) else list(given):
            if key not in defaults:
                close = difflib.get_close_matches(str(key), list(defaults), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InputError(
                    f"{arg}= names {key!r}, which is not a parameter (the "
                    f"parameters: {', '.join(defaults)}): name parameters of "
                    f"params=.{hint}"
                )
            if key in named:
                raise InputError(
                    f"{key!r} is named by both positive= and unit=: name it in one."
                )
            named[key] = arg
            start = np.asarray(defaults[key], np.float64)
            if arg == "positive" and np.any(start <= 0):
                raise InputError(
                    f"parameter {key!r} must stay positive (positive=), but starts "
                    f"at {defaults[key]!r}: give it a start > 0 in params=."
                )
            if arg == "unit" and np.any((start <= 0) | (start >= 1)):
                raise InputError(
                    f"parameter {key!r} must stay between 0 and 1 (unit=), but "
                    f"starts at {defaults[key]!r}: give it a start strictly between "
                    "0 and 1 in params=, such as 0.5."
                )
    try:
        return specs_from_defaults(
            defaults,
            tuple(k for k, a in named.items() if a == "positive"),
            tuple(k for k, a in named.items() if a == "unit"),
        )
    except ValueError as err:
        raise InputError(str(err)) from None


def _defaults(params: Any) -> dict[str, Any]:
    """Each parameter's default start from ``params``: a mapping of name to start,
    or a list of names (each starting at 1)."""
    shape = (
        "params= maps each parameter's name to its start, such as "
        "params={'a': 1.0, 'b': 0.5} (or lists the names, ['a', 'b'], to start "
        "each at 1)"
    )
    if isinstance(params, Mapping):
        defaults = dict(params)
    elif isinstance(params, (list, tuple)) and all(isinstance(k, str) for k in params):
        defaults = dict.fromkeys(params, EXPR_DEFAULT)
        if len(defaults) != len(params):
            twice = next(k for k in params if params.count(k) > 1)
            raise InputError(
                f"params= names {twice!r} twice: name each parameter once."
            )
    else:
        got = f"the string {params!r}" if isinstance(params, str) else repr(params)
        raise InputError(f"{shape}; got {got[:80]}.")
    if not defaults:
        raise InputError(f"a model needs at least one parameter: {shape}.")
    for key, value in defaults.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InputError(
                f"parameter names must be words such as 'a' or 'slope', got {key!r}: "
                f"{shape}."
            )
        try:
            ok = not isinstance(value, (str, bytes)) and bool(
                np.all(np.isfinite(np.asarray(value, np.float64)))
            )
        except (TypeError, ValueError):
            ok = False
        if isinstance(value, (str, bytes)):  # '2' is not a finite number's fault
            raise InputError(
                f"parameter {key!r} starts at the string {value!r}: give its start "
                "as a number, not in quotes (or a list of numbers for a vector)."
            )
        if not ok:
            raise InputError(
                f"parameter {key!r} starts at {value!r}, which is not a finite "
                "number: give a number (or a list of numbers for a vector)."
            )
    return defaults


def check_names(names: Any) -> None:
    for key in names:
        if key in RESERVED or str(key).startswith(("grad_", "running_")):
            raise InputError(
                f"a parameter cannot be called {key!r}: that is a trace column; "
                "rename it."
            )


def no_x_column(text: str, x_names: Sequence[str], columns: str = "x columns") -> str:
    """The message for an expression that names none of the x columns
    ``x_names`` (where it writes ``x`` and there is one x column, x stands for it:
    ``expression_model``)."""
    head = f"--model-expr uses none of the {columns} ({', '.join(x_names)})"
    if "x" not in parse(text).names:
        if len(x_names) == 1:
            return f"{head}: write {x_names[0]} in it."
        return f"{head}: write the x columns' names in it."
    return f"{head}: x is not a column here; write a column's name in its place."


def expression_model(text: str, x_names: Sequence[str]) -> Custom:
    """A model from an expression such as ``a*exp(-b*x) + c``: ``x_names`` are the
    data's x columns; every other name is a parameter (default start 1)."""
    expr = parse(text, what="--model-expr")
    data = [n for n in expr.names if n in x_names]
    # x written for the one x column named otherwise (--x minutes): that column,
    # as the docs' examples write x
    alias = not data and len(x_names) == 1 and "x" in expr.names
    if not data and not alias:
        raise ValueError(no_x_column(text, x_names))
    params = [n for n in expr.names if n not in x_names and not (alias and n == "x")]
    if not params:
        raise ValueError("--model-expr has no parameters to fit: add some, as a*x + b.")
    check_names(params)
    columns = ["x"] if alias else list(x_names)

    def fn(p: Params, x: Array) -> Array:
        if x.ndim == 1:
            env: dict[str, Any] = {columns[0]: x}
        else:
            env = {c: x[:, i] for i, c in enumerate(columns)}
        return expr({**env, **p})

    specs = specs_from_defaults(dict.fromkeys(params, EXPR_DEFAULT))
    return Custom(
        fn, specs, "expr", len(columns), source={"expr": text, "x": list(x_names)}
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
