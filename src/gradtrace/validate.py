"""Checks at the boundary: every bad-input message gradtrace gives is written here,
or in the two modules it hands on (a learning-rate schedule's,
``gradtrace.schedule_input``; the small checks they share, ``gradtrace.checks``).

Each message names the problem, where it is, and what to do, in one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrace import textfields
from gradtrace.checks import MAX_COUNT as MAX_COUNT
from gradtrace.checks import _boolean, _named, _number, _suggest, finite_number
from gradtrace.checks import choice as choice
from gradtrace.checks import positive_int as positive_int
from gradtrace.checks import whole as whole
from gradtrace.core.arrays import aligned_empty
from gradtrace.core.batches import KERAS, TORCH
from gradtrace.core.catalog import MODELS, Model, kind_of, make_model
from gradtrace.core.clipping import CLIPS, GradClip
from gradtrace.core.custom import expression_loss, expression_model, no_x_column
from gradtrace.core.distributions import SUPPORTS, CustomFamily, Family
from gradtrace.core.expr import parse
from gradtrace.core.losses import LOSSES, REDUCTIONS, Loss, LossLike, huber, param_specs
from gradtrace.core.metrics import KERAS_METRIC_NAMES, METRICS
from gradtrace.core.models import LINEAR_PREDICTOR, Custom, ParamSpec, Regression
from gradtrace.core.optimizers import (
    ALIASES,
    PRESET_RANGES,
    PRESETS,
    RANGES,
    OptimizerSpec,
)
from gradtrace.errors import COMMAND_LINE, InputError
from gradtrace.schedule_input import lr_schedule as lr_schedule
from gradtrace.schedule_input import schedule_fits as schedule_fits
from gradtrace.schedule_input import schedule_notices as schedule_notices
from gradtrace.schedule_input import warms_up_from_zero as warms_up_from_zero
from gradtrace.text import (
    close_name,
    close_names,
    column_hint,
    flag_value,
    header_example,
    x_flags,
)

DTYPES = ("float32", "float64")
PARAM_SPACES = ("constrained", "unconstrained")


def learning_rate(value: Any, zero: bool = False) -> float:
    """A finite learning rate > 0 (a number, or its text as --opt gives it);
    ``zero``: 0 too, where a schedule warms the rate up from it."""
    if callable(value) or isinstance(value, Mapping):
        raise InputError(
            "the learning rate is one number; a rate that changes over the run "
            "is a schedule: lr=0.1, lr_schedule='torch.step:step_size=10' "
            "(--lr-schedule; gradtrace.SCHEDULES lists them)."
        )
    try:
        lr = _number(value)
    except (TypeError, ValueError):
        pointed = str(value).replace(",", ".")
        if isinstance(value, str) and value.count(",") == 1 and _is_number(pointed):
            raise InputError(
                f"learning rate must be a number, got {value!r}: write its decimal "
                f"point as a point, --lr {pointed}."
            ) from None
        raise InputError(
            f"learning rate must be a positive number, got {value!r}: "
            "give a positive --lr, such as 0.01."
        ) from None
    if math.isinf(lr) and lr > 0:
        raise InputError(
            f"learning rate must be finite, got {value!r}: give a positive --lr, "
            "such as 0.01."
        )
    if lr == 0 and zero:
        return 0.0
    if lr == 0:
        raise InputError(
            "learning rate 0 leaves every parameter where it starts: give a "
            "positive --lr, such as 0.01 (a warm-up from 0 is keras.cosine with "
            "warmup_steps and warmup_target, as Keras's docs write it)."
        )
    if not math.isfinite(lr) or lr < 0:
        raise InputError(
            f"learning rate must be a positive number, got {value!r}: "
            "give a positive --lr, such as 0.01."
        )
    return lr


def model_name(name: Any) -> tuple[str, str]:
    """The model's canonical name and kind (``regression`` or ``distribution``)."""
    if not isinstance(name, str):
        from gradtrace.core import custom

        if name is custom.Model or name is custom.Distribution:  # not called
            made = "Model(fn" if name is custom.Model else "Distribution(log_prob"
            raise InputError(
                f"model=gradtrace.{name.__name__} makes a model: call it, "
                f"gradtrace.{made}, params={{'w': 1.0}}), one start per parameter "
                "it reads (docs/models.md)."
            )
        if not isinstance(name, (Regression, Family)):
            what = "a function" if callable(name) else type(name).__name__
            raise InputError(
                f"model must be a name (gradtrace.MODELS lists them) or "
                f"gradtrace.Model(fn, params={{...}}), got {what}: wrap your "
                "function as gradtrace.Model(fn, params={'w': 1.0}), one start per "
                "parameter it reads."
            )
        return name.name, name.kind
    if name in ("expr", "file"):
        return name, "regression"
    name = choice("model", name, list(MODELS))
    return name, kind_of(name)


def model(
    name: Any,
    n_x: int,
    *,
    x_cols: Sequence[str] = (),
    xs: np.ndarray | None = None,
    degree: Any = None,
    standardize: bool = False,
    expr: str | None = None,
    model_obj: Any = None,
    offset: bool = False,
) -> Model:
    """The model object for a checked name, its options and the data's x columns
    (``offset``: xs holds the offset's column too, last, after the ``n_x``)."""
    if degree is not None and name != "poly":
        raise InputError("--degree is for --model poly: drop it, or use --model poly.")
    if standardize and name not in STANDARDISED:
        raise InputError(
            f"--standardize is for --model {', '.join(STANDARDISED[:-1])} or "
            f"{STANDARDISED[-1]}: drop it, or use one of them."
        )
    if model_obj is not None:
        if model_obj.kind != "regression" or not hasattr(model_obj, "fn"):
            return model_obj  # type: ignore[no-any-return]
        return dataclasses.replace(model_obj, n_features=max(n_x, 1))
    if name == "expr":
        if not expr:
            raise InputError("--model expr needs --model-expr TEXT.")
        try:
            return expression_model(expr, list(x_cols))
        except ValueError as err:
            raise InputError(str(err)) from None
    options: dict[str, Any] = {}
    if name == "poly":
        options["degree"] = positive_int(
            "--degree", 2 if degree is None else degree, "--degree"
        )
        if options["degree"] > 20:
            raise InputError(
                "--degree must be at most 20: a higher polynomial is "
                "numerically hopeless in float32 and float64 alike."
            )
    if offset:
        options["offset"] = True
    if standardize and xs is not None:
        # summed in float64 (of float32 values too), as a streamed run sums its
        # chunks; an offset is added as it is
        xs = xs[:, :n_x] if offset else xs
        spread = xs.std(axis=0, dtype=np.float64)
        if np.any(spread == 0):
            col = x_cols[int(np.flatnonzero(spread == 0)[0])]
            raise InputError(
                f"x column {col!r} is constant, so it cannot be standardised: "
                "drop it from --x."
            )
        options["center"] = tuple(float(v) for v in xs.mean(axis=0, dtype=np.float64))
        options["spread"] = tuple(float(v) for v in spread)
    return make_model(name, max(n_x, 1), **options)


#: --stderr's choices: the classical standard errors, or robust ones
#: (``core.robust``)
STDERR_KINDS = ("classical", "hc0", "hc1", "hc2", "hc3")


def robust_stderr(value: Any, loss: LossLike) -> str | None:
    """``--stderr``: None for the classical standard errors, else the robust kind
    (``core.robust``), which least squares (mse) and a likelihood (nll) take, and
    of which hc2 and hc3 (each row's leverage) are for least squares."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(
            f"--stderr takes a name ({', '.join(STDERR_KINDS)}), got "
            f"{type(value).__name__}."
        )
    kind = choice("--stderr", value.strip().lower(), STDERR_KINDS)
    if kind == "classical":
        return None
    if loss not in ("mse", "nll"):
        raise InputError(
            f"--stderr {kind}: robust standard errors are for --loss mse (least "
            "squares) and --loss nll (a likelihood); this loss has no standard "
            "errors to make robust."
        )
    if kind in ("hc2", "hc3") and loss == "nll":
        raise InputError(
            f"--stderr {kind} weighs each row by its leverage, a least-squares idea: a "
            "likelihood takes --stderr hc0 or hc1."
        )
    return kind


#: The kinds of interval: estimate +- 1.96 standard errors (at 95%), or the
#: profile likelihood's.
INTERVALS = ("wald", "profile")


def intervals(
    value: Any, loss: LossLike, robust: str | None, exact: bool, stream: bool
) -> str:
    """``--intervals``: "wald" or "profile"; the profile is a likelihood's, of the
    data in memory, with the classical standard errors' information."""
    kind = choice("--intervals", str(value).strip().lower(), list(INTERVALS))
    if kind == "wald":
        return kind
    if loss == "mse":
        raise InputError(
            "--intervals profile follows a likelihood: fit with --loss nll (least "
            "squares' intervals are Student's t, exact for a model linear in its "
            "parameters)."
        )
    if loss != "nll":
        raise InputError(
            "--intervals profile follows a likelihood: fit with --loss nll (this "
            "loss is not one, and has no intervals to profile)."
        )
    if robust is not None:
        raise InputError(
            f"--intervals profile is the likelihood's own, --stderr {robust} a "
            "sandwich around it: choose one of them."
        )
    if not exact:
        raise InputError(
            "--intervals profile starts from the exact optimum, which --no-exact "
            "leaves out: drop one of them."
        )
    if stream:
        raise InputError(
            "--intervals profile fits the model again many times over all the rows, "
            "which --stream reads a chunk at a time: fit in memory, or drop it."
        )
    return kind


def level(value: Any, flag: str = "--level") -> float:
    """``--level``: the share of its distribution an interval holds, a number
    strictly between 0 and 1 (0.95; 95, say, is taken for a percentage and
    refused with the share it means)."""
    number = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise InputError(
            f"{flag} takes a number, not {value!r}: give the share of its "
            "distribution an interval holds, 0.95 for a 95% interval."
        )
    # NumPy's float32 0.9 as 0.9, not 0.8999999761581421
    number = float(str(number)) if isinstance(number, np.floating) else float(number)
    if not math.isfinite(number):
        raise InputError(
            f"{flag} takes a number between 0 and 1, not {number}: give the share of "
            "its distribution an interval holds, 0.95 for a 95% interval."
        )
    if not 0 < number < 1:  # a percentage given, say
        share = (
            f": {number / 100:g} for a {number:g}% interval"
            if 50 <= number < 100
            else ", 0.95 for a 95% interval"
        )
        raise InputError(
            f"{flag} {number:g} is not between 0 and 1: give the share of its "
            f"distribution an interval holds{share}."
        )
    return number


def loss(m: Model, value: Any, delta: Any = None, expr: str | None = None) -> LossLike:
    """The loss for model ``m``: the given one, or the model's default (``nll`` for
    distributions and GLMs, ``mse`` otherwise)."""
    if expr is not None:
        if value not in (None, "expr"):
            raise InputError("give --loss or --loss-expr, not both.")
        if m.kind == "distribution":
            raise InputError("--loss-expr is for regression models: drop it.")
        try:
            return expression_loss(expr)
        except ValueError as err:
            raise InputError(str(err)) from None
    if value is not None and not isinstance(value, (str, Loss)):
        what = "a function" if callable(value) else type(value).__name__
        raise InputError(
            f"loss must be a name ({', '.join(LOSSES)}) or gradtrace.Loss(fn), got "
            f"{what}: wrap your function as gradtrace.Loss(fn), fn(pred, y) giving "
            "one loss per row."
        )
    own = getattr(m, "family", "") == "custom"
    if (
        own
        and value is not None
        and (isinstance(value, Loss) or _loss_name(value) != "nll")
    ):
        what = "your own loss" if isinstance(value, Loss) else _loss_name(value)
        raise InputError(
            f"this model has a likelihood of its own (log_prob), fitted by it: use "
            f"--loss nll, or drop log_prob to fit it by {what}."
        )
    if isinstance(value, Loss):
        if m.kind == "distribution":
            raise InputError("a custom loss is for regression models.")
        return value
    if value is None:
        fam = getattr(m, "family", "gaussian")
        value = "nll" if m.kind == "distribution" or fam != "gaussian" else "mse"
    value = _loss_name(value)
    if m.kind == "distribution" and value != "nll":
        raise InputError(
            f"model {m.name!r} is a distribution, fitted by its likelihood: "
            "use --loss nll."
        )
    if delta is not None and value != "huber":
        raise InputError("--delta is for --loss huber: drop it.")
    if value == "huber" and delta is not None:
        d = learning_rate_like("--delta", delta)
        return huber(d)
    return value  # type: ignore[no-any-return]


#: Other libraries' names of gradtrace's losses (Keras's, PyTorch's, ...), as
#: ``_loss_key`` writes them
_LOSS_ALIASES = {
    **dict.fromkeys(
        ("meansquarederror", "squarederror", "squaredloss", "mseloss", "l2", "l2loss"),
        "mse",
    ),
    **dict.fromkeys(
        ("meanabsoluteerror", "absoluteerror", "absoluteloss", "l1", "l1loss"),
        "mae",
    ),
    **dict.fromkeys(("huberloss", "smoothl1", "smoothl1loss"), "huber"),
    **dict.fromkeys(
        (
            "negativeloglikelihood",
            "nllloss",
            "loglikelihood",
            "loglik",
            "likelihood",
            "gaussiannll",
            "gaussiannllloss",
        ),
        "nll",
    ),
}
#: Names of a likelihood's loss in other libraries, and what it is here
_LIKELIHOOD_LOSSES = {
    **dict.fromkeys(
        (
            "binarycrossentropy",
            "bce",
            "bceloss",
            "bcewithlogits",
            "bcewithlogitsloss",
            "crossentropy",
            "crossentropyloss",
            "logloss",
            "logistic",
            "logisticloss",
            "sigmoidcrossentropy",
        ),
        "for --model logistic (and the other likelihood models) use --loss nll, "
        "the negative log-likelihood: for y of 0s and 1s it is the binary "
        "cross-entropy Keras calls binary_crossentropy",
    ),
    **dict.fromkeys(
        (
            "categoricalcrossentropy",
            "sparsecategoricalcrossentropy",
            "softmaxcrossentropy",
        ),
        "gradtrace has no model of several classes; for y of 0s and 1s, --model "
        "logistic with --loss nll is the binary cross-entropy Keras calls "
        "binary_crossentropy",
    ),
    **dict.fromkeys(
        ("poisson", "poissonnll", "poissonnllloss", "poissonloss"),
        "for counts use --model poisson-regression with --loss nll, which is the "
        "loss Keras calls poisson, up to a term in y alone",
    ),
}


def _loss_key(name: str) -> str:
    """A loss's name as the alias tables hold it: lower case, letters and digits
    only, its module left out (keras.losses.BinaryCrossentropy: binarycrossentropy)."""
    return re.sub(r"[^a-z0-9]", "", name.strip().lower().rsplit(".", 1)[-1])


def _loss_name(value: str) -> str:
    """One of ``LOSSES`` (in any case); another library's name for a loss is
    answered with what it is here."""
    names = list(LOSSES)
    if str(value).lower() in names:
        return choice("loss", value, names)
    key = _loss_key(str(value))
    if key in _LIKELIHOOD_LOSSES:
        raise InputError(
            f"unknown loss {value!r}: {_LIKELIHOOD_LOSSES[key]} (the losses: "
            f"{', '.join(names)})."
        )
    if key in _LOSS_ALIASES:
        same = _LOSS_ALIASES[key]
        raise InputError(
            f"unknown loss {value!r}: gradtrace calls it {same}; use --loss {same} "
            f"(the losses: {', '.join(names)})."
        )
    return choice("loss", value, names)


MODEL_SHAPE = (
    "a model must map params and x (one value per row) to one prediction per row "
    "with jax.numpy"
)
LOSS_SHAPE = "a loss must map (pred, y) to one loss per row with jax.numpy"
LOG_PROB_SHAPE = (
    "a distribution's log_prob must map params and y to one log-density per row "
    "with jax.numpy"
)


def user_code(
    m: Model, loss_value: LossLike, params: Mapping[str, Any], x: Any, y: np.ndarray
) -> None:
    """A model or a loss of the user's own, tried on the data's shapes alone
    (nothing computed): the model gives one prediction per row, the loss one loss
    per row."""
    import jax

    n = len(y)
    f32 = np.float32
    rows = jax.ShapeDtypeStruct((n,), f32)
    if isinstance(m, Custom) and x is not None:
        p = {k: jax.ShapeDtypeStruct(np.shape(v), f32) for k, v in params.items()}
        xs = jax.ShapeDtypeStruct(np.shape(x), f32)
        try:
            out = jax.eval_shape(m.fn, p, xs)
        except Exception as err:  # the user's own code: report whatever it raised
            what = f"model {m.name!r}"
            shape = MODEL_SHAPE
            if np.ndim(x) == 1 and isinstance(err, IndexError):
                shape += (
                    "; with one x column, x is a vector of shape [n]: write x "
                    "where you wrote x[:, 0] (several x columns make it [n, k])"
                )
            raise InputError(user_code_error(what, shape, err, list(params))) from None
        if getattr(out, "shape", None) != (n,):
            raise InputError(
                f"model {m.name!r} returns {_shape_of(out)} for {n} rows: "
                f"{MODEL_SHAPE} (a constant c as c * jnp.ones(len(x)))."
            )
        _real(out, f"model {m.name!r}")
    if isinstance(m, CustomFamily):
        p = {k: jax.ShapeDtypeStruct(np.shape(v), f32) for k, v in params.items()}
        what = f"distribution {m.name!r}"
        try:
            out = jax.eval_shape(m.log_density, p, rows)
        except Exception as err:  # the user's own code: report whatever it raised
            raise InputError(
                user_code_error(what, LOG_PROB_SHAPE, err, list(params))
            ) from None
        if getattr(out, "shape", None) != (n,):
            raise InputError(
                f"{what} returns {_shape_of(out)} for {n} rows: {LOG_PROB_SHAPE}."
            )
        _real(out, what)
    if isinstance(loss_value, Loss) and m.kind == "regression":
        try:
            out = jax.eval_shape(loss_value.fn, rows, rows)
        except Exception as err:  # the user's own code
            what = "the custom loss"
            raise InputError(user_code_error(what, LOSS_SHAPE, err)) from None
        if getattr(out, "shape", None) != (n,):
            raise InputError(
                f"the custom loss returns {_shape_of(out)} for {n} rows: {LOSS_SHAPE}"
                " (not their mean or sum: that is --reduction)."
            )
        _real(out, "the custom loss")


def _real(out: Any, what: str) -> None:
    """Refuse user code whose values are not real floating-point numbers (a
    complex loss reached a traceback at the first float() of it)."""
    dtype = np.dtype(getattr(out, "dtype", np.float32))
    if np.issubdtype(dtype, np.floating):
        return
    kind = "complex" if np.issubdtype(dtype, np.complexfloating) else str(dtype)
    raise InputError(
        f"{what} returns {kind} numbers: return real floating-point ones (with "
        "jax.numpy; jnp.real or jnp.abs of complex ones, float of whole ones)."
    )


def _shape_of(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is None:
        return f"a {type(value).__name__}"
    return "one number" if shape == () else f"an array of shape {tuple(shape)}"


def user_code_error(
    what: str, hint: str, err: BaseException, names: Sequence[str] = ()
) -> str:
    """One line on a failure inside the user's model or loss, with its place; a
    KeyError names the parameters there are (``names``)."""
    import traceback

    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if "site-packages" not in frame.filename and "gradtrace" not in frame.filename:
            where = f" ({Path(frame.filename).name} line {frame.lineno})"
            break
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, KeyError) and names:
        hint = f"its parameters are {', '.join(map(repr, names))}; {hint}"
    kind = type(err).__name__
    if kind == "TracerBoolConversionError":
        # if, and, or, while or bool() on a parameter
        return (
            f"{what} used a Python if (or and, or, bool()) on the values JAX "
            f"differentiates{where} ({kind}): those are arrays being traced, not "
            "numbers; write jnp.where(condition, a, b) (import jax.numpy as jnp); "
            f"{hint}."
        )
    if kind in ("TracerArrayConversionError", "ConcretizationTypeError"):
        # NumPy (or float(), if) on the values JAX traces: the fix, not JAX's essay
        return (
            f"{what} used NumPy or a Python conversion on the values JAX "
            f"differentiates{where} ({kind}): write it with jax.numpy (import "
            f"jax.numpy as jnp; jnp.exp, jnp.where in place of if); {hint}."
        )
    return f"{what} failed{where}: {kind}: {text[:300]}: {hint}."


#: Keras's optimizer arguments for clipping, and --clip's names for them.
CLIPPING = {
    "clipnorm": "keras.norm",
    "global_clipnorm": "keras.global_norm",
    "clipvalue": "keras.value",
}


#: The frameworks' optimizer arguments that change how, not what, gradtrace runs
#: or that it does not model, and what to do instead.
NOT_MODELLED = {
    "gradient_accumulation_steps": "Keras's gradient accumulation (a step every "
    "k batches, on their mean gradient) is not modelled; with a mean loss its "
    "steps are those of batches k times larger (--batch-size)",
    "use_ema": "Keras's moving average of the weights is not modelled; the trace "
    "holds the weights themselves",
    "ema_momentum": "Keras's moving average of the weights (use_ema) is not "
    "modelled; the trace holds the weights themselves",
    "ema_overwrite_frequency": "Keras's moving average of the weights (use_ema) "
    "is not modelled; the trace holds the weights themselves",
    "loss_scale_factor": "Keras's loss scaling (for mixed precision) is not "
    "modelled; leave it out (--dtype sets the precision)",
    "maximize": "PyTorch's maximize (gradient ascent) is not modelled; minimise "
    "the negative of the objective instead",
    "foreach": "gradtrace follows PyTorch's single-tensor path (foreach=False); "
    "leave it out",
    "fused": "gradtrace follows PyTorch's single-tensor path (foreach=False); "
    "leave it out",
    "capturable": "a PyTorch implementation choice that changes no number; leave "
    "it out",
    "differentiable": "a PyTorch implementation choice that changes no number; "
    "leave it out",
}


#: Of ``NOT_MODELLED``, the values that ask for nothing gradtrace leaves out (the
#: frameworks' defaults, written out by a script copied whole): taken, and
#: ignored.
IDLE_VALUES = {
    "gradient_accumulation_steps": {"none", "1", "1.0"},
    "use_ema": {"false", "0", "no"},
    "ema_momentum": {"0.99"},
    "ema_overwrite_frequency": {"none"},
    "loss_scale_factor": {"none"},
    "maximize": {"false", "0", "no"},
    "foreach": {"none", "false", "0", "no"},
    "fused": {"none", "false", "0", "no"},
    "capturable": {"false", "0", "no"},
    "differentiable": {"false", "0", "no"},
}


def learning_rate_like(flag: str, value: Any) -> float:
    """A finite number > 0 given with ``flag``."""
    try:
        v = _number(value)
    except (TypeError, ValueError):
        raise InputError(f"{flag} must be a positive number, got {value!r}.") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{flag} must be a positive number, got {value!r}.")
    return v


def metrics(
    m: Model,
    loss_value: LossLike,
    names: Sequence[str] | None,
    y: np.ndarray | None = None,
    source: str = "the data",
) -> tuple[str, ...]:
    """Checked metric names for this model, loss and target y."""
    out: list[str] = []
    for item in names or []:
        for name in str(item).split(","):
            name = name.strip()
            if not name:
                continue
            # Keras's names for them (its metric classes' and History's keys)
            name = KERAS_METRIC_NAMES.get(name.lower(), name)
            name = choice("metric", name, list(METRICS))
            if name != "loglik" and m.kind == "distribution":
                raise InputError(
                    f"--metric {name} compares predictions with y; a distribution "
                    "has none: use --metric loglik."
                )
            gaussian = getattr(m, "family", "") == "gaussian"
            if name == "loglik" and gaussian and loss_value != "nll":
                raise InputError(
                    "--metric loglik needs a likelihood: fit with --loss nll "
                    "(Gaussian noise with a fitted scale)."
                )
            if name == "accuracy" and y is not None and not np.isin(y, (0, 1)).all():
                raise InputError(
                    "--metric accuracy counts (prediction > 0.5) == y, for y of 0s "
                    f"and 1s; {source} {_has(source)} other y values: use rmse, mae "
                    "or r2."
                )
            if name not in out:
                out.append(name)
    return tuple(out)


def param_space(value: Any) -> bool:
    """True for ``unconstrained``."""
    return choice("--param-space", str(value), PARAM_SPACES) == "unconstrained"


def support(
    m: Model,
    y: np.ndarray,
    fixed: Mapping[str, Any],
    source: str,
    first_row: int = 0,
    rows: np.ndarray | None = None,
) -> None:
    """The data lie where the model puts probability (counts for Poisson, 0/1 for
    Bernoulli, ...); ``first_row``: the row of the file ``y`` starts at (a chunk of
    a streamed file); ``rows``: the data's row of each of ``y``'s, where rows were
    dropped (``kept_rows``)."""
    name = getattr(m, "support", None)
    fam = getattr(m, "family", None)
    if m.kind == "regression":
        name = {"bernoulli": "binary", "poisson": "count"}.get(str(fam))
    if name is None:
        return
    test, words = SUPPORTS[name]
    ok = test(y)
    if "n" in fixed and m.name == "binomial":
        ok &= y <= float(fixed["n"])
        words += f" up to n = {float(fixed['n']):g}"
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        row = first_row + (i if rows is None else int(rows[i]))
        raise InputError(
            f"model {m.name!r} needs {words} in y, but {source} {_has(source)} "
            f"{y[i]:g} in {_row(row, source)}: choose another model or clean the "
            "data."
        )


#: PyTorch's hyper-parameters given as pairs, the names of their two parts in
#: each preset that has them, and an example.
PAIRS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "betas": (
        (("beta1", "beta2"), ("b1", "b2"), ("beta_1", "beta_2")),
        "betas=0.9,0.999",
    ),
    "etas": ((("etaminus", "etaplus"),), "etas=0.5,1.2"),
    "step_sizes": ((("step_size_min", "step_size_max"),), "step_sizes=1e-6,50"),
}


def _pairs(
    name: str, keys: list[str], overrides: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``overrides`` with PyTorch's pairs (``betas=(b1, b2)``, Rprop's ``etas``
    and ``step_sizes``) given as the preset's own names of their parts
    (``beta1``, ``beta2`` or ``b1``, ``b2``; ``etaminus``, ``etaplus``)."""
    for given, (names, example) in PAIRS.items():
        if given in overrides:
            overrides = _pair(name, keys, overrides, given, names, example)
    return overrides


def _pair(
    name: str,
    keys: list[str],
    overrides: Mapping[str, Any],
    given: str,
    names: tuple[tuple[str, str], ...],
    example: str,
) -> Mapping[str, Any]:
    pair = next((p for p in names if set(p) <= set(keys)), None)
    if pair is None:
        having = [
            preset
            for preset, spec in PRESETS.items()
            if any(set(p) <= set(spec.defaults) for p in names)
        ]
        other = (
            f" The presets with {given} are {', '.join(having)}: --optimizer "
            f"{having[0]} --opt {example}, say."
            if having
            else ""
        )
        raise InputError(
            f"optimizer {name!r} has no hyper-parameter {given!r}: "
            f"choose one of: {', '.join(keys)}.{other}"
        )
    value = overrides[given]
    parts = value
    if isinstance(value, str):  # the command line's 0.9,0.999 or (0.9, 0.999)
        parts = value.strip().strip("()[]").replace(";", ",").split(",")
    try:
        first, second = parts
    except (TypeError, ValueError):
        raise InputError(
            f"--opt {given} takes two numbers, as {example}, got {value!r}."
        ) from None
    twice = [k for k in pair if k in overrides]
    if twice:
        raise InputError(
            f"--opt {given} and --opt {twice[0]} give {twice[0]} twice: give it once."
        )
    rest = {k: v for k, v in overrides.items() if k != given}
    return {**rest, pair[0]: first, pair[1]: second}


def framework_named(given: Any, name: str) -> list[str]:
    """A notice where an optimizer was named as a framework writes it ("Adam",
    "SGD", "RMSprop": Keras's and PyTorch's class names) and taken as gradtrace's
    own preset, whose defaults and update differ from theirs in places."""
    if not isinstance(given, str) or given == name or "." in name:
        return []
    ours = [f"{k}.{name}" for k in ("keras", "torch") if f"{k}.{name}" in PRESETS]
    if not ours:
        return []
    return [
        f"optimizer {given!r} is taken as {name} (optax's); for a framework's own "
        f"defaults and update give {' or '.join(ours)} "
        "(gradtrace fit --help lists them)"
    ]


_TF_KERAS = " (tf.keras is Keras 3 from TensorFlow 2.16 on)"
#: A framework's module paths of its optimizer classes, gradtrace's prefix of
#: their presets, whose they are, and why (tf.keras's legacy optimizers are Keras
#: 2's, tf_keras's)
_FRAMEWORK_PATHS = (
    ("tf.keras.optimizers.legacy.", "tf_keras", "Keras 2's", " (legacy)"),
    ("tf_keras.optimizers.legacy.", "tf_keras", "Keras 2's", " (legacy)"),
    ("tf_keras.optimizers.", "tf_keras", "Keras 2's", ""),
    ("tf.keras.optimizers.", "keras", "Keras 3's", _TF_KERAS),
    ("tf.keras.", "keras", "Keras 3's", _TF_KERAS),
    ("keras.optimizers.", "keras", "Keras 3's", ""),
    ("torch.optim.", "torch", "PyTorch's", ""),
)


def _framework_path(name: str) -> str | None:
    """What to give for an optimizer named by its class's path in a framework
    (tf.keras.optimizers.RMSprop: keras.rmsprop; a suggestion took it for
    tf_keras.rmsprop, Keras 2's, whose steps differ), or None."""
    folded = name.strip().lower()
    for path, prefix, whose, why in _FRAMEWORK_PATHS:
        if folded.startswith(path):
            cls = name.strip()[len(path) :]
            wanted = f"{prefix}.{cls.lower()}"
            if wanted in PRESETS:
                return f"optimizer {name!r} is {whose} {cls}{why}: give {wanted}."
            ours = sorted(p for p in PRESETS if p.startswith(f"{prefix}."))
            return (
                f"optimizer {name!r}: gradtrace has {whose} {', '.join(ours)}; "
                "give one of them."
            )
    return None


def optimizer(
    name: str, lr: Any, overrides: Mapping[str, Any], zero: bool = False
) -> OptimizerSpec:
    """The optimizer spec, with ``--lr`` and ``--opt KEY=VALUE`` applied;
    ``zero``: a rate of 0 is allowed (``warms_up_from_zero``)."""
    if not isinstance(name, str):
        raise InputError(
            f"optimizer must be the name of a preset ({', '.join(list(PRESETS)[:5])}"
            f", ...), not a {type(name).__name__}: pass optimizer='adam', its "
            "rate as lr= and other hyper-parameters as opt={...}."
        )
    spelt = _framework_path(name)
    if spelt is not None:
        raise InputError(spelt)
    framework = sorted(p for p in PRESETS if p.split(".")[-1] == name.lower())
    if name.lower() not in PRESETS and framework:  # "Nadam": Keras's, PyTorch's
        raise InputError(
            f"optimizer {name!r}: gradtrace's own presets have no {name.lower()}; "
            f"the frameworks' are {' and '.join(framework)}: give one of them."
        )
    name = choice("optimizer", name, list(PRESETS))
    preset = PRESETS[name]
    hyper: dict[str, Any] = {}
    paired = _pairs(name, list(preset.defaults), overrides)
    # each part of a pair given whole (etas=0.5,1.2): its errors name the pair
    given_as = {
        part: f"{part} (of --opt {pair}={overrides[pair]})"
        for pair, (names, _) in PAIRS.items()
        if pair in overrides
        for parts in names
        for part in parts
        if part in paired and part not in overrides
    }
    overrides = paired
    for key, value in overrides.items():
        if key in ("lr", "learning_rate") and key != preset.lr_key:
            raise InputError(
                f"optimizer {name!r} calls its learning rate {preset.lr_key!r}: "
                "give it with --lr."
            )
        if key in CLIPPING:
            # Keras's optimizer arguments for clipping are gradtrace's --clip
            clip = f"{CLIPPING[key]}={value}"
            given = f"--clip {clip}" if COMMAND_LINE.get() else f"clip={clip!r}"
            raise InputError(
                f"optimizer {name!r} takes no {key!r}: Keras's {key} is {given}."
            )
        if key in NOT_MODELLED and key not in preset.defaults:
            if str(value).strip().lower() in IDLE_VALUES.get(key, set()):
                continue  # the framework's default: it asks for nothing
            raise InputError(
                f"optimizer {name!r} takes no {key!r}: {NOT_MODELLED[key]}."
            )
        if key not in preset.defaults:
            suggested = _suggest_hyper(key, list(preset.defaults))
            if "Did you mean" not in suggested:
                suggested = _other_presets(key, list(preset.defaults)) or suggested
            pairs = [
                example
                for pair, (names, example) in PAIRS.items()
                if any(set(p) <= set(preset.defaults) for p in names)
            ]
            listed = f"choose one of: {', '.join(preset.defaults)}."
            if pairs and listed in suggested:  # PyTorch's pairs it takes too
                also = f"{listed[:-1]} (or PyTorch's {', '.join(pairs)})."
                suggested = suggested.replace(listed, also)
            raise InputError(
                f"optimizer {name!r} has no hyper-parameter {key!r}: {suggested}"
            )
        default = preset.defaults[key]
        if isinstance(default, bool):
            hyper[key] = _boolean(f"--opt {key}", value)
        else:
            try:
                hyper[key] = finite_number(f"--opt {key}", value)
            except InputError:
                raise InputError(
                    f"--opt {key} takes a number, got {value!r}: give one such as "
                    f"--opt {key}={default:g} ({name}'s default)."
                ) from None
            allowed = PRESET_RANGES.get((name, key), RANGES.get(key))
            if allowed is not None and hyper[key] not in allowed:
                shown = given_as.get(key, key)
                raise InputError(
                    f"--opt {shown} must be {allowed}, got {hyper[key]:g} ({key} is "
                    f"{allowed.why}): give a value in that range (optimizer "
                    f"{name!r} defaults to {default:g})."
                )
    if name == "torch.sgd" and hyper.get("nesterov"):
        momentum, dampening = hyper.get("momentum", 0.0), hyper.get("dampening", 0.0)
        if momentum <= 0 or dampening != 0:
            # torch.optim.SGD refuses it: "Nesterov momentum requires a momentum
            # and zero dampening"
            raise InputError(
                "torch.sgd with nesterov needs a momentum above 0 and dampening 0 "
                f"(got momentum {momentum:g}, dampening {dampening:g}), as "
                "torch.optim.SGD does: give --opt momentum=0.9 and no dampening."
            )
    if preset.lr_key in hyper and lr is not None:
        raise InputError(
            f"the learning rate is given twice (--lr and --opt "
            f"{preset.lr_key}): give it once."
        )
    if lr is not None:
        hyper[preset.lr_key] = learning_rate(lr, zero)
    elif preset.lr_key in hyper:
        hyper[preset.lr_key] = learning_rate(hyper[preset.lr_key], zero)
    return OptimizerSpec.create(name, **hyper)


def switch(name: str, value: Any) -> bool:
    """A Python caller's True or False: a string such as "no" is refused, not read
    as true."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} must be True or False, got {value!r}.")


def shuffle(value: Any) -> bool | str:
    """``shuffle``: True or False, ``"torch"`` (each epoch in PyTorch's
    ``DataLoader`` order) or ``"keras"`` (Keras 3's ``fit`` order)."""
    if isinstance(value, str) and value.strip().lower() in (TORCH, KERAS):
        return value.strip().lower()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(
        f"shuffle must be True, False, 'torch' (PyTorch's DataLoader order) or "
        f"'keras' (Keras 3's fit order), got {value!r}."
    )


def by_name(name: str, value: Any) -> dict[str, Any]:
    """A Python caller's dict of values by name (``opt``, ``init``, ``fix``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        example = "{'momentum': 0.9}" if name == "opt" else "{'w': 0.5}"
        raise InputError(
            f"{name} must be a dict of values by name, such as {name}={example}, "
            f"got {type(value).__name__}."
        )
    return dict(value)


def _other_presets(key: str, own: list[str]) -> str | None:
    """Where ``key`` (or the name it misspells) is another preset's hyper-parameter
    but not this one's (momentum, which plain sgd has not): those presets, and how
    to choose one; None where no preset has it."""
    every = sorted({k for p in PRESETS.values() for k in p.defaults})
    meant = key if key in every else close_name(key, every)
    having = [n for n, p in PRESETS.items() if meant in p.defaults]
    if meant is None or not having:
        return None
    # beta1 for adam, whose own name of it is b1: that one, not other presets
    own_name = next((n for g in ALIASES if meant in g for n in own if n in g), None)
    if own_name is not None:
        also = f" (other presets' {meant})" if meant != key else ""
        return f"choose one of: {', '.join(own)}. Did you mean {own_name!r}{also}?"
    # the example: a preset that sets it (not to 0 or False), with its default
    shown = next((n for n in having if PRESETS[n].defaults[meant]), having[0])
    value = PRESETS[shown].defaults[meant]
    value = True if isinstance(value, bool) else value
    did = f". Did you mean {meant!r}? The" if meant != key else "; the"
    # a momentum's variant does nothing without a momentum (keras.sgd's is 0)
    needs = PRESETS[shown].defaults.get("momentum") == 0 and meant != "momentum"
    example = "--opt momentum=0.9 " * needs + f"--opt {meant}={value}"
    return (
        f"it has {', '.join(own)}{did} presets with {meant} are "
        f"{', '.join(having)}: --optimizer {shown} {example}, say."
    )


def _suggest_hyper(key: str, names: Sequence[str]) -> str:
    """``_suggest``, knowing other frameworks' names of the same hyper-parameter
    (``beta1`` is optax's ``b1``, Keras's ``beta_1``)."""
    for group in ALIASES:
        if key.lower() in group:
            same = [n for n in names if n in group]
            if same:
                return f"choose one of: {', '.join(names)}. Did you mean {same[0]!r}?"
    return _suggest(key, names)


def param_values(
    specs: Sequence[ParamSpec],
    init: Mapping[str, Any],
    fix: Mapping[str, Any],
    columns: Sequence[str] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Initial values of the trainable parameters and values of the fixed ones.

    Unnamed parameters start at their documented default. ``columns``: the x
    columns a vector of slopes multiplies, one each, by which an element may be
    named as the trace names it (``w[age]``, ``w[rank=2]``: ``w[0]``, ...).
    """
    by_name = {s.name: s for s in specs}
    names = list(by_name)
    init = _elements(by_name, _by_column(by_name, init, columns))
    for flag, given in (("--init", init), ("--fix", fix)):
        for key in given:
            whole = str(key).split("[")[0]
            if flag == "--fix" and key not in by_name and whole in by_name:
                # w[0]: an element of a vector (--init takes one, --fix not)
                raise InputError(
                    f"--fix {key}: only whole parameters are held ({whole}, all its "
                    f"values), not one element: hold {whole} whole, or, to leave "
                    "one slope out, leave its x column out."
                )
            if key not in by_name:
                raise InputError(
                    f"{flag} {key}: the model has no parameter {key!r}; "
                    f"{_suggest(key, names)}"
                )
    both = sorted(set(init) & set(fix))
    if both:
        raise InputError(
            f"parameter {both[0]!r} is given to both --init and --fix: "
            "a parameter is either trained from a start or fixed."
        )
    for spec in specs:
        if spec.known and spec.name in init:
            raise InputError(
                f"--init {spec.name}: {spec.name} ({spec.doc}) is known, not trained: "
                f"give it with --fix {spec.name}=VALUE."
            )
        if spec.known and spec.name not in fix:
            raise InputError(
                f"this model needs {spec.name}, the {spec.doc}: give it with "
                f"--fix {spec.name}=VALUE."
            )
    if all(s.name in fix for s in specs):
        raise InputError("every parameter is fixed: leave at least one to train.")
    values: dict[str, np.ndarray] = {}
    for s in specs:
        raw = init.get(s.name, fix.get(s.name, s.default))
        flag = "--fix" if s.name in fix else "--init"
        values[s.name] = _param_value(s, raw, flag)
    trainable = {k: v for k, v in values.items() if k not in fix}
    fixed = {k: v for k, v in values.items() if k in fix}
    return trainable, fixed


_ELEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*$")

_NAMED_ELEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[(.*)\]\s*$", re.S)


def _by_column(
    by_name: Mapping[str, ParamSpec],
    init: Mapping[str, Any],
    columns: Sequence[str] | None,
) -> dict[str, Any]:
    """``init`` with a slope named by its x column (``w[age]``) named by its
    place (``w[0]``), where the vector has one element per column of
    ``columns``; a name that is no column is refused with the columns."""
    out: dict[str, Any] = {}
    for key, raw in init.items():
        match = _NAMED_ELEMENT.match(str(key))
        spec = by_name.get(match.group(1)) if match else None
        label = match.group(2).strip() if match else ""
        if (
            match is None
            or spec is None
            or label.isdigit()
            or not columns
            or spec.size != len(columns)
        ):
            out[key] = raw
            continue
        if label not in columns:
            raise InputError(
                f"--init {key}: {spec.name} has an element per x column, and "
                f"{label!r} is none of them: {', '.join(columns)}."
            )
        place = f"{spec.name}[{list(columns).index(label)}]"
        if place in init:
            raise InputError(
                f"--init {key} and --init {place} are the same element: give it once."
            )
        out[place] = raw
    return out


def _elements(
    by_name: Mapping[str, ParamSpec], init: Mapping[str, Any]
) -> dict[str, Any]:
    """``init`` with a vector's elements named as the trace names them (``w[0]``)
    gathered into the vector, its other elements at their default."""
    out = dict(init)
    for key, raw in init.items():
        match = _ELEMENT.match(key)
        spec = by_name.get(match.group(1)) if match else None
        if match is None or spec is None or spec.size is None:
            continue  # not an element: named as it is, or refused as unknown
        name, i = spec.name, int(match.group(2))
        if name in init:
            raise InputError(
                f"--init {key} and --init {name}: give the vector whole or its "
                "elements, not both."
            )
        if i >= spec.size:
            raise InputError(
                f"--init {key}: {name} has {spec.size} elements, {name}[0] to "
                f"{name}[{spec.size - 1}]."
            )
        one = dataclasses.replace(spec, name=key, size=None)
        vector = out.setdefault(name, _param_value(spec, spec.default, "--init"))
        vector[i] = _param_value(one, raw, "--init")
        del out[key]
    return out


def _param_value(spec: ParamSpec, raw: Any, flag: str) -> np.ndarray:
    given = raw
    if isinstance(raw, str):
        given = raw.strip()
        raw = [p for p in raw.replace(";", ",").split(",") if p.strip()]
    shown = given if isinstance(given, str) else repr(given)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        pairs = [p.split("=", 1)[0].strip() for p in raw if "=" in str(p)]
        if COMMAND_LINE.get() and isinstance(given, str) and pairs:
            # --init w=5,b=0: two parameters in one flag (w=1,2,b=0: a vector's
            # values before the next NAME=)
            first, *rest = re.split(r",\s*(?=[A-Za-z_][\w\[\]]*\s*=)", given)
            others = " ".join(f"{flag} {p.strip()}" for p in rest)
            raise InputError(
                f"{flag} {spec.name}={given} gives {', '.join(pairs)} too: give "
                f"each parameter its own {flag}, such as {flag} {spec.name}="
                f"{first.strip()} {others}."
            ) from None
        if COMMAND_LINE.get():
            example = ",".join(["0.5"] * (spec.size or 1))
            each = f" (one for each of its {spec.size})" if spec.size else ""
            raise InputError(
                f"{flag} {spec.name}={shown} is not a number: give numbers{each}, "
                f"such as {flag} {spec.name}={example}."
                if spec.size
                else f"{flag} {spec.name}={shown} is not a number: give one, such "
                f"as {flag} {spec.name}={example}."
            ) from None
        parts = given if isinstance(given, (list, tuple)) else [given]
        bad = next((v for v in parts if not _is_number(v)), given)
        raise InputError(
            f"{flag.lstrip('-')}={{{spec.name!r}: {given!r}}}: {bad!r} is not a "
            "number: give a number (or a list of numbers for a vector parameter)."
        ) from None
    if spec.size is None:
        if arr.size != 1:
            raise InputError(f"{flag} {spec.name} takes one number, got {arr.size}.")
        arr = arr.reshape(())
    elif arr.size == 1:
        arr = np.full(spec.size, float(arr.reshape(-1)[0]))
    elif arr.shape != (spec.size,):
        written = ", comma-separated" if COMMAND_LINE.get() else ""
        raise InputError(
            f"{flag} {spec.name} takes {spec.size} numbers (one per x "
            f"column{written}), got {arr.size}."
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{flag} {spec.name} must be finite, got {shown}.")
    given_as = _given(flag, spec.name, shown)
    if spec.constraint == "positive" and np.any(arr <= 0):
        raise InputError(
            f"{given_as}: {spec.name} must be positive (it is a "
            f"{spec.doc or 'positive parameter'}): give a positive value, such as "
            f"{_given(flag, spec.name, _example(spec, 1.0))}."
        )
    if spec.constraint == "unit" and np.any((arr <= 0) | (arr >= 1)):
        raise InputError(
            f"{given_as}: {spec.name} must lie strictly between 0 and 1 (it is a "
            f"{spec.doc or 'probability'}): give a value in between, such as "
            f"{_given(flag, spec.name, _example(spec, 0.5))}."
        )
    if spec.constraint == "count" and np.any((arr < 1) | (arr != np.round(arr))):
        raise InputError(
            f"{given_as}: {spec.name} must be a whole number >= 1 (it is the "
            f"{spec.doc or 'count'}): give one, such as "
            f"{_given(flag, spec.name, _example(spec, 10.0))}."
        )
    return arr


def _given(flag: str, name: str, value: str) -> str:
    """A parameter's value as the caller gives it: ``--init scale=1`` on the
    command line, ``init={'scale': 1.0}`` in Python."""
    if COMMAND_LINE.get():
        return f"{flag} {name}={value}"
    return f"{flag.lstrip('-')}={{{name!r}: {value}}}"


def _example(spec: ParamSpec, fallback: float) -> str:
    """A value to suggest for ``spec``: its default where that is one number,
    else ``fallback``."""
    value = spec.default if isinstance(spec.default, (int, float)) else fallback
    return f"{value:g}" if COMMAND_LINE.get() else repr(float(value))


def _is_number(value: Any) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


ONE_COLUMN = ("line", "poly", "exp-decay")
#: The models whose x columns --standardize standardises (a linear predictor)
STANDARDISED = LINEAR_PREDICTOR


def params_apart_from_columns(specs: Sequence[ParamSpec], y: str, kind: str) -> None:
    """Refuse a regression model's parameter named as the data's y: a trace and
    an explained step would hold two of that name, one the data's and one fitted
    (--model-expr "y*x" fitted a parameter y beside the target y)."""
    for spec in specs:
        if kind == "regression" and spec.name == y:
            raise InputError(
                f"the model's parameter {spec.name!r} is named as the target, the "
                f"data's y column (--y {y}), which the model predicts and cannot "
                "take: give the parameter another name."
            )


#: The models whose linear predictor takes an offset (--offset): the GLMs'
OFFSET_MODELS = ("logistic", "poisson-regression")


def offset_column(
    offset: Any,
    model: str,
    frame: pd.DataFrame,
    x_cols: list[str],
    y: str,
    x_given: bool,
    source: str = "the data",
) -> tuple[str, list[str]]:
    """``--offset``'s column, checked, and the x columns without it (every column
    but y took it in, unless --x named them)."""
    if not isinstance(offset, str) or not offset.strip():
        raise InputError(
            f"--offset takes a column's name, got {offset!r}: such as --offset "
            "log_exposure."
        )
    name = offset.strip()
    if model not in OFFSET_MODELS:
        instead = {
            "line": "fit y minus the offset instead",
            "linear": "fit y minus the offset instead",
            "expr": f"write {name} into --model-expr, such as a*x + b + {name}",
        }.get(
            model,
            "a distribution has none"
            if kind_of(model) == "distribution"
            else "write the column into the model",
        )
        raise InputError(
            f"--offset is for --model {' or '.join(OFFSET_MODELS)} (a term added to "
            f"the linear predictor): {instead}."
        )
    names = [str(c) for c in frame.columns]
    if name not in names:
        near = close_names(name, [n for n in names if n != y])
        raise InputError(
            f"--offset {name}: no such column (columns: {', '.join(names)})"
            + (f": did you mean {near[0]}?" if near else ".")
        )
    if name == y:
        raise InputError(
            f"--offset {name} is the target (--y): give the column to add to the "
            "linear predictor, such as the log of each row's exposure."
        )
    if x_given and name in x_cols:
        raise InputError(
            f"--offset {name} is an x column too (--x): its coefficient is held at "
            "1 as an offset, or fitted as an x column; drop it from one."
        )
    column = frame[name]
    text = pd.to_numeric(column, errors="coerce").isna() & column.notna()
    marked = column.astype(str).str.strip().str.lower().isin(MISSING_MARKS)
    words = (text & ~marked).to_numpy()
    if words.any():  # a category's advice (0/1 columns) is no offset's
        i = int(np.flatnonzero(words)[0])
        raise InputError(
            f"--offset {name}: its values are not all numbers ({column.iloc[i]!r} "
            f"in {_row(i, source)}): an offset is a number added to the linear "
            "predictor, such as the log of each row's exposure."
        )
    rest = [c for c in x_cols if c != name]
    if not rest:
        raise InputError(
            f"--offset {name}: no x columns besides it and {y!r}: a model of the "
            "intercept and an offset alone is not supported yet; give an x column "
            "(--x)."
        )
    return name, rest


def x_columns(
    frame: pd.DataFrame,
    model: str,
    kind: str,
    x: Sequence[str] | None,
    y: str,
    expr: str | None = None,
    source: str = "the data",
) -> list[str]:
    """The x columns a model reads: ``--x`` (repeatable, or comma-separated), else
    ``x`` for a one-column model, the columns an expression names, or every column
    but y (``linear``, ``logistic``, ``poisson-regression``). ``source``: the
    data as messages name them."""
    if kind == "distribution":
        if x:
            raise InputError(
                "--x is for regression models; a distribution is fitted "
                "to --y alone: drop --x."
            )
        return []
    cols = [c.strip() for item in (x or []) for c in str(item).split(",") if c.strip()]
    if not cols:
        names = [str(c) for c in frame.columns]
        if model == "expr" and expr:
            used = parse(expr, what="--model-expr").names
            cols = [c for c in used if c in names and c != y]
            if not cols:
                if y not in names:  # then no column is known to be y
                    raise InputError(
                        no_x_column(expr, names, "data's columns")
                        + f" And pass --y: no column is named {y!r}."
                    )
                others = [c for c in names if c != y]
                if y in parse(expr).names:
                    raise InputError(
                        f"--model-expr uses the target {y!r} (--y) and none of the "
                        f"x columns ({', '.join(others)}): write an x column's "
                        "name in it."
                    )
                if len(others) == 1 and "x" in used:
                    return others  # x stands for the one column besides y
                raise InputError(no_x_column(expr, others))
        elif model in ONE_COLUMN or (model not in MODELS and "x" in names):
            others = [c for c in names if c != y]
            if (
                model in ONE_COLUMN
                and y in names
                and "x" not in names
                and len(others) > 1
            ):
                raise InputError(
                    f"model {model!r} takes one x column and the data have "
                    f"{len(others)} ({', '.join(others)}) with none named 'x': pass "
                    "--x with one of them, or use --model linear for several."
                )
            # the one column besides y is x, whatever its name
            alone = model in ONE_COLUMN and y in names and len(others) == 1
            cols = others if alone and "x" not in names else ["x"]
        else:
            cols = [c for c in names if c != y]
        if not cols:
            raise InputError(f"no x columns besides {y!r}: pass --x once per column.")
    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        if not x:  # the data's own names, not --x's
            raise InputError(
                f"{source} {_has(source)} two columns named {dup!r}: rename one, or "
                "remove it."
            )
        raise InputError(f"--x {dup} is given twice: give each x column once.")
    if y in cols:
        raise InputError(
            f"column {y!r} is both the target (--y) and an x column: choose other "
            "x columns."
        )
    if model in ONE_COLUMN and len(cols) > 1:
        raise InputError(
            f"model {model!r} takes one x column, got {len(cols)} ({', '.join(cols)})"
            ": use --model linear for several."
        )
    return cols


#: In a frame's ``attrs``: its columns are the caller's own (a DataFrame handed
#: to ``fit``), so the arrays taken from them are copies, which the caller's later
#: edits leave as the run saw them.
BORROWED = "gradtrace.borrowed"


def present(
    frame: pd.DataFrame,
    kind: str,
    x: Sequence[str] | None,
    y: str,
    source: str,
    every_x: str | None = None,
    x_given: bool = True,
) -> None:
    """Refuse data that lack a column the run reads (``columns``' first check,
    made apart where the columns are coded before they are read: a categorical
    column's 0/1 columns)."""
    names = [str(c) for c in frame.columns]
    if kind != "distribution" and names not in ([], [y]) and len(names) == 1:
        # a Series, or a file of one column: naming it y leaves no x
        raise InputError(
            f"{source} has one column, {names[0]}: a regression model needs x and "
            "y; fit a distribution to it (such as --model normal or --model "
            "poisson), or give data with an x column beside y."
        )
    wanted = ([] if kind == "distribution" else list(x or ["x"])) + [y]
    # x not given: y first, since without it x cannot be told (the one column
    # besides y is x), so a missing y is what to fix first
    for col in wanted if x_given else [y, *(c for c in wanted if c != y)]:
        if col not in names and col != y and names == [y]:
            raise InputError(
                f"{source}: the y column {y!r} is alone, with no x: a regression model "
                "needs x columns; give them, or fit a distribution to y (such as "
                "--model normal)."
            )
        if col not in names:
            flag = "--y" if col == y else "--x"
            if names and all(_is_number(n) for n in names):
                shown = f"{', '.join(names[:4])}{', ...' if len(names) > 4 else ''}"
                if source.startswith("the "):  # a data frame or arrays: no header
                    raise InputError(
                        f"the columns of {source} are numbered ({shown}), not "
                        f"named: name them, such as {', '.join(wanted)}, or pass "
                        f"{flag} with one of them."
                    )
                raise InputError(
                    f"the first row of {source} is numbers ({shown}), not column "
                    "names: add a header line naming the columns, such as "
                    f"{header_example(len(names), y)}."
                )
            # the one column that no x takes: the x columns given, else x (a
            # distribution has none)
            taken = [] if kind == "distribution" else ["x"]
            if x_given and not every_x and kind != "distribution":
                taken = wanted
            left = [n for n in names if n not in taken] if col == y else []
            besides = (
                "the data's one column" if not taken else "the one column besides x"
            )
            choose = ""
            if len(left) == 2 and kind != "distribution" and not x_given:
                # two columns, neither named y nor x: one is y, the other x; the
                # last first, where a table most often has its target
                a, b = (flag_value(flag, n) for n in reversed(left))
                choose = f"the target, {a} (x is then {left[0]}) or {b}"
            elif len(left) == 2 and kind == "distribution":
                a, b = (flag_value(flag, n) for n in left)
                choose = f"the column to fit, {a} or {b}"
            # a name meant among the columns no other role has taken (x0 given,
            # x9 is not "did you mean x0?")
            free = [n for n in names if n not in wanted]
            hint = column_hint(col, free, flag, left, besides, choose)
            if source == "the array":  # names of gradtrace's, not the user's
                hint = (
                    f"an array's columns are named {', '.join(names[:-1])} and y, "
                    "its last: use those names, or pass a DataFrame to name them."
                )
            raise InputError(
                f"column {col!r} not found in {source} (columns: "
                f"{', '.join(names)}): {hint}"
            )


def columns(
    frame: pd.DataFrame,
    kind: str,
    x: Sequence[str] | None,
    y: str,
    source: str,
    dtype: str = "float64",
    every_x: str | None = None,
    x_given: bool = True,
    least_rows: int = 2,
    release: bool = False,
    marks_missing: bool = False,
    source_of: dict[str, str] | None = None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """The x and y arrays, as float64 (float32 columns computed in float32 stay
    float32), from named columns of ``frame``: views of its columns where their
    type is already right, unless the frame is marked ``BORROWED``. ``every_x``:
    the model that took every column but y as x, none being named (a column of
    text among them is then said to be one that --x can leave out); ``x_given``:
    whether the user named the x columns (if not, a missing y is told first);
    ``release``: ``frame`` is the caller's to spend, so each x column is dropped
    from it once copied into the x matrix of several columns (the data are then
    held about once, not twice); ``marks_missing``: a column's marks of a missing
    value ('-', '?': ``MISSING_MARKS``) read as NaN, for --drop-missing to drop;
    ``source_of``: a coded column's source (a categorical column's 0/1 columns,
    "rank=2" -> "rank"), the name a suggested --x gives."""
    present(frame, kind, x, y, source, every_x, x_given)
    names = [str(c) for c in frame.columns]
    wanted = ([] if kind == "distribution" else list(x or ["x"])) + [y]
    twice = next((c for c in wanted if names.count(c) > 1), None)
    if twice is not None:
        raise InputError(
            f"{source} {_has(source)} two columns named {twice!r}: rename one, or "
            "remove it."
        )
    if len(frame) < least_rows:
        need = "a fit needs at least two rows" if least_rows == 2 else "give rows"
        raise InputError(
            f"{source} {_has(source)} {len(frame)} row{'s' * (len(frame) != 1)}"
            f": {need} of data."
        )
    arrays = {}
    names_of = {str(c): c for c in frame.columns}
    for c in wanted:
        try:
            arrays[c] = _numeric(
                frame[c], c, source, dtype, is_y=c == y, marks_missing=marks_missing
            )
        except InputError as err:
            if every_x is None or c == y:
                raise
            # the columns that can be x (another of text would fail in turn)
            rest = [
                n for n in wanted if n not in (c, y) and _numbers_in(frame[names_of[n]])
            ]
            # as the user names them: a categorical column, not its 0/1 ones
            rest = list(dict.fromkeys((source_of or {}).get(n, n) for n in rest))
            raise InputError(
                f"{str(err)[:-1]}, or name the x columns "
                f"({x_flags(rest)}) to "
                f"leave it out: {every_x} reads every column but {y} unless told."
            ) from None
    if frame.attrs.get(BORROWED):
        arrays = {
            c: v.copy() if np.shares_memory(v, frame[c].to_numpy()) else v
            for c, v in arrays.items()
        }
    limit = float(np.finfo(np.dtype(dtype)).max)
    for c, values in arrays.items():
        if values.dtype.itemsize <= np.dtype(dtype).itemsize:
            continue  # every finite value fits
        i = _first_beyond(values, limit)
        if i is not None:
            raise InputError(
                f"column {c!r} of {source} has {values[i]:g} in {_row(i, source)}, "
                f"beyond {dtype}: use --dtype float64, or rescale the data."
            )
    xs = None
    if kind != "distribution":
        x_names = list(x or ["x"])
        if len(x_names) == 1:
            xs = arrays[x_names[0]][:, None]  # a view of it, not a copy
        else:
            # filled where the device shares it rather than copying it again
            n = len(arrays[y])
            kind_of_x = np.result_type(*(arrays[c] for c in x_names))
            xs = aligned_empty(n * len(x_names), kind_of_x).reshape(n, -1)
            for j, name in enumerate(x_names):
                xs[:, j] = arrays[name] if name == y else arrays.pop(name)
                if release and name != y:
                    del frame[name]
    return xs, arrays[y]


def _first_beyond(values: np.ndarray, limit: float) -> int | None:
    """The first finite value beyond +-limit, looked for in pieces of a million
    (temporaries of the whole column would be as large as the data)."""
    step = 1 << 20
    for start in range(0, len(values), step):
        part = values[start : start + step]
        big = np.isfinite(part) & (np.abs(part) > limit)
        if big.any():
            return start + int(np.flatnonzero(big)[0])
    return None


def _has(source: str) -> str:
    """The verb after ``source``: has, or have after a plural (the (x, y) arrays)."""
    return "have" if source.endswith("arrays") else "has"


def _line_of(source: str, i: int) -> int:
    """The line of a text file (named as ``repr`` names it) that holds data row
    ``i`` (from 0), the blank lines pandas skips counted: i + 2 where the file
    cannot be read again."""
    found = _text_line(source, i)
    return i + 2 if found is None else found[0]


def _text_line(source: str, i: int) -> tuple[int, str, str, str] | None:
    """Data row ``i`` (from 0) of a text file named as ``repr`` names it: its
    line's number (the blank lines pandas skips counted), the line, the header
    line and the line below the header; None where the file cannot be read
    again."""
    import ast

    try:
        path = ast.literal_eval(source)
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            seen, head, below = -1, "", ""  # the header: the first line not blank
            for number, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if line:
                    seen += 1
                    head = line if seen == 0 else head
                    below = line if seen == 1 else below
                    if seen == i + 1:
                        return number, line, head, below
    except (OSError, ValueError, SyntaxError):
        pass
    return None


def _text_file(source: str) -> bool:
    """Whether ``source`` (a file named as ``repr`` names it) is a text table
    whose lines can be read again and counted."""
    return source.rstrip("'").lower().endswith((".csv", ".tsv", ".tab", ".txt"))


def _short_line(source: str, i: int) -> tuple[int, int] | None:
    """(fields, names) where data row ``i`` of a text file has fewer fields than
    its header names (pandas reads the fields it lacks as missing); else None."""
    if not _text_file(source):
        return None
    found = _text_line(source, i)
    if found is None:
        return None
    _, line, head, below = found
    tabs = source.rstrip("'").lower().endswith((".tsv", ".tab"))
    sep = "\t" if tabs else textfields.separator_of(head, [below])
    names = len(textfields.names_of(head, sep))
    fields = textfields.count_fields(line, sep)
    return (fields, names) if fields < names else None


def _row(i: int, source: str) -> str:
    """'data row 3', plus the file's line number for a text file with a header."""
    if _text_file(source):
        return f"data row {i + 1} (line {_line_of(source, i)})"
    if source == "standard input":
        return f"data row {i + 1} (line {i + 2})"
    if source in ("the data frame", "the series"):  # pandas: 0-based too
        return f"data row {i + 1} (.iloc[{i}])"
    if source.startswith("the "):  # arrays, a dict of columns
        return f"data row {i + 1} (index {i})"
    return f"data row {i + 1}"


def _numeric(
    col: pd.Series,
    name: str,
    source: str,
    dtype: str = "float64",
    is_y: bool = False,
    marks_missing: bool = False,
) -> np.ndarray:
    """The column as float64; a float32 column that is computed in float32 is kept
    as it is. A float64 column is kept as it is too, and a column of integers is
    converted once: no copies (10 million rows are 80 MB a float64 column).
    ``is_y``: the column is y (text there is made numbers, not 0/1 columns)."""
    if col.dtype == np.float64 or (col.dtype == np.float32 and dtype == "float32"):
        return col.to_numpy()
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
        return col.to_numpy(dtype=np.float64)
    if getattr(col.dtype, "kind", None) == "c":
        raise InputError(
            f"column {name!r} of {source} holds complex numbers: give real numbers "
            "(the real part, .real, if that is what you mean)."
        )
    if getattr(col.dtype, "kind", None) in ("m", "M"):  # with a time zone too
        raise InputError(
            f"column {name!r} of {source} holds dates or times ({col.dtype}), not "
            "numbers: convert it to a number first, such as days since its first "
            "value (pandas: (d - d.min()).dt.total_seconds() / 86400)."
        )
    numbered = isinstance(col.dtype, pd.CategoricalDtype) and (
        pd.api.types.is_numeric_dtype(col.cat.categories)
    )
    if numbered and not is_y:
        # numbers as categories (a factor of levels 4, 3, 2, 1) were fitted as
        # one slope, in silence; R would make a 0/1 column of each but the first
        # (text as categories is told below, as any text is)
        levels = list(col.cat.categories)
        shown = ", ".join(repr(v) for v in levels[:3]) + ", ..." * (len(levels) > 3)
        python = source.startswith("the ")
        raise InputError(
            f"column {name!r} of {source} is categorical ({len(levels)} categories: "
            f"{shown}), not numbers: "
            + (
                f"categorical=[{name!r}]"
                if python
                else f"--categorical {shlex.quote(name)}"
            )
            + " codes it as a 0/1 column for each category but the first (for a "
            "linear, logistic or poisson-regression model), or, if its values are "
            "numbers to fit as such, convert it"
            + (f" (df[{name!r}].astype(float))." if python else ".")
        )
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna()
    if bad.any() and marks_missing:
        # --drop-missing: a data set's own marks of a missing value are missing
        # values (told to leave such rows out, it still refused them)
        marks = col[bad].astype(str).str.strip().str.lower().isin(MISSING_MARKS)
        bad &= ~marks.reindex(col.index, fill_value=False)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = col.iloc[i]
        todo = "fix or remove it."
        written = value.strip() if isinstance(value, str) else ""
        if _SEPARATED.fullmatch(written):
            todo = _separators(written, name, source)
        elif _DECIMAL_COMMA.fullmatch(written) or _THOUSANDS.fullmatch(written):
            todo = _decimal_commas(written, name, source)
        elif written.lower() in MISSING_MARKS:
            # a data set's own mark for a missing value (UCI's ?), which pandas
            # does not read as one
            texts = col[bad].astype(str).str.strip()
            marked = texts.str.lower().isin(MISSING_MARKS)
            many = int(marked.sum())
            mend = "leave such cells empty (or write NA)"
            if source.startswith("the "):  # Python's data
                mend = f"make them NaN (df.replace({written!r}, float('nan')))"
            # text that marks nothing (abc) is counted apart: no drop mends it
            other = texts[~marked]
            besides = ""
            if len(other):
                at = np.flatnonzero(bad.to_numpy())[np.flatnonzero(~marked.to_numpy())]
                some = len(other) != 1
                besides = (
                    f"; {len(other)} other row{'s' * some} "
                    f"{'hold' if some else 'holds'} text that is no number "
                    f"({other.iloc[0]!r} in {_row(int(at[0]), source)}): fix or "
                    f"remove {'them' if some else 'it'}"
                )
            todo = (
                f"{written!r} seems to mark a missing value ({many} such "
                f"row{'s' * (many != 1)}): --drop-missing leaves their rows out; "
                f"or {mend}{besides}."
            )
        elif bad.sum() == col.notna().sum():
            todo = _category(col, name, source, is_y) or todo
        raise InputError(
            f"column {name!r} of {source} has a non-numeric value "
            f"{value!r} in {_row(i, source)}: {todo}"
        )
    return values.to_numpy(dtype=np.float64)


def _numbers_in(col: pd.Series) -> bool:
    """Whether a column is numbers, or text that reads as numbers throughout."""
    if pd.api.types.is_numeric_dtype(col) and getattr(col.dtype, "kind", "") != "c":
        return True
    if col.dtype != object:
        return False
    return bool((pd.to_numeric(col, errors="coerce").notna() | col.isna()).all())


#: Marks of a missing value that pandas reads as text: '?' (UCI's data sets), '-',
#: '.' (SAS), 'missing'.
MISSING_MARKS = frozenset({"?", "-", "--", ".", "missing", "na.", "n.a.", "nd"})

#: The most distinct values a text column may have to be taken for a category.
CATEGORY_VALUES = 20


def _category(col: pd.Series, name: str, source: str, is_y: bool = False) -> str | None:
    """What to do about a column of text that seems a category (a few distinct
    values, each repeated): None where it does not. y's (``is_y``) values are
    written as numbers in it (0 and 1 for two), not spread over columns."""
    kinds = col.dropna().astype(str).unique()
    if len(kinds) > CATEGORY_VALUES or 2 * len(kinds) > col.notna().sum():
        return None
    shown = ", ".join(repr(k) for k in sorted(kinds)[:3])
    seems = f"it seems a category ({len(kinds)} value{'s' * (len(kinds) != 1)}: {shown}"
    seems += ", ...)" if len(kinds) > 3 else ")"
    if is_y:
        first, second = sorted(kinds)[:2] if len(kinds) > 1 else (kinds[0], "")
        if len(kinds) != 2:
            return f"{seems}: y is fitted as numbers; write its values as numbers."
        if source.startswith("the "):
            of = "s" if source == "the series" else f"df[{name!r}]"
            return (
                f"{seems}: y is fitted as numbers; write it as 0 for {first!r} and 1 "
                f"for {second!r}, such as ({of} == {second!r}).astype(int), or the "
                "other way round."
            )
        return (
            f"{seems}: y is fitted as numbers; write it as 0 for {first!r} and 1 "
            f"for {second!r}, or the other way round."
        )
    if source.startswith("the "):  # a data frame or arrays in Python
        return (
            f"{seems}: categorical=[{name!r}] codes it as a 0/1 column for each "
            "value but the first (for model='linear', 'logistic' or "
            "'poisson-regression'), or remove it."
        )
    return (
        f"{seems}: --categorical {shlex.quote(name)} codes it as a 0/1 column for "
        "each value but the first (for --model linear, logistic or "
        "poisson-regression), or remove it."
    )


#: A number written with a decimal comma (2,1 or -0,5), as spreadsheets in many
#: languages save them
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
#: Thousands separated by commas beside a decimal point (1,234.5), or by points
#: beside a decimal comma (1.234,5): the value tells which
_SEPARATED = re.compile(
    r"[+-]?\d{1,3}(,\d{3})+\.\d*|[+-]?\d{1,3}(\.\d{3})+,\d*|[+-]?\d{1,3}(,\d{3}){2,}"
    r"|[+-]?\d{1,3}(\.\d{3}){2,}"
)


def _separators(value: str, name: str, source: str) -> str:
    """What to do about numbers written with thousands separators (``value``:
    1,234.5, 1.234,5, 12,345,678 or 1.234.567), which read as text."""
    # commas part the thousands where there are some and no point after them
    comma = (
        "," in value
        and value.rfind(".") > value.rfind(",")
        or ("," in value and "." not in value)
    )
    plain = (
        value.replace(",", "") if comma else value.replace(".", "").replace(",", ".")
    )
    if source.startswith("the "):  # a data frame in Python
        fix = (
            ".str.replace(',', '')"
            if comma
            else (".str.replace('.', '').str.replace(',', '.')")
        )
        return (
            f"it holds thousands separators ({value} for {plain}): convert the "
            f"column to numbers first, such as df[{name!r}]{fix}.astype(float)."
        )
    return (
        f"it holds thousands separators ({value} for {plain}): save the numbers "
        "without them."
    )


def _decimal_commas(value: str, name: str, source: str) -> str:
    """What to do about data whose numbers have decimal commas (``value``, in
    column ``name``), or thousands separators (1,234: either, the value alone
    cannot tell)."""
    point = value.replace(",", ".")
    seems = f"decimal commas ({value} for {point})"
    if _THOUSANDS.fullmatch(value):
        seems = f"decimal commas or thousands separators ({value})"
    if source.startswith("the "):  # a data frame or arrays in Python
        return (
            f"the data seem to use {seems}: convert the column to numbers first, "
            f"such as df[{name!r}].str.replace(',', '.').astype(float)."
        )
    return (
        f"the file seems to use {seems}: save it with decimal points and no "
        "thousands separators, or replace each decimal comma with a point."
    )


def _finite(x: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """The rows without NaN or infinity, as a mask."""
    ok = np.isfinite(y)
    if x is not None:
        ok &= np.isfinite(x).all(axis=1)
    return ok


#: rows checked at a time for missing values: checking 10 million rows of x and y
#: whole made two 10 MB masks, which stayed in the process's peak memory
_CHECK_ROWS = 1 << 18


def _any_missing(x: np.ndarray | None, y: np.ndarray) -> bool:
    """Whether some row has a NaN or infinity, checked a block of rows at a time."""
    for start in range(0, len(y), _CHECK_ROWS):
        stop = start + _CHECK_ROWS
        part = None if x is None else x[start:stop]
        if not _finite(part, y[start:stop]).all():
            return True
    return False


def missing_rows(x: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """The positions of the rows ``finite_rows`` drops (a missing or infinite
    value)."""
    return np.flatnonzero(~_finite(x, y))


def kept_rows(x: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """The positions of the rows ``finite_rows`` keeps (to name a kept row by its
    place in the data)."""
    return np.flatnonzero(_finite(x, y))


def _plain(value: Any) -> Any:
    """A NumPy scalar as its Python value (an index label in a message)."""
    return value.item() if isinstance(value, np.generic) else value


def finite_rows(
    x: np.ndarray | None,
    y: np.ndarray,
    drop: bool,
    source: str,
    names: tuple[Sequence[str], str] | None = None,
    index: pd.Index | None = None,
    head_of: int | None = None,
) -> tuple[np.ndarray | None, np.ndarray, int]:
    """Rows without NaN or infinity; with ``drop``, the others dropped and counted.
    A refusal names the first such value's column (``names``: x's columns and y's)
    and its row, by the data frame's own ``index`` label where that is not the
    rows' positions. ``head_of``: the rows are the first of a file of that many
    (a streamed run's), so the count is of those only."""
    if not _any_missing(x, y):
        return x, y, 0
    ok = _finite(x, y)
    n_bad = int((~ok).sum())
    if n_bad and not drop:
        i = int(np.flatnonzero(~ok)[0])
        what, where = "a missing or infinite value", _row(i, source)
        fix = "clean the data, or pass --drop-missing to drop them"
        counted = f"{n_bad} such row{'s' if n_bad > 1 else ''}"
        if names is not None:
            columns = [] if x is None else list(np.reshape(x, (len(y), -1)).T)
            per = {
                c: int((~np.isfinite(v)).sum())
                for c, v in zip([*names[0], names[1]], [*columns, y], strict=True)
            }
            per = {c: k for c, k in per.items() if k}
            if len(per) > 1:  # the rows are counted once, each column's apart
                shown = ", ".join(f"{k} in {c!r}" for c, k in list(per.items())[:3])
                more = ", ..." if len(per) > 3 else ""
                counted = (
                    f"{n_bad} row{'s' * (n_bad > 1)} miss{'es' * (n_bad == 1)} a "
                    f"value: {shown}{more}"
                )
            row = [] if x is None else list(np.reshape(x[i], -1))
            cells = dict(zip([*names[0], names[1]], [*row, y[i]], strict=True))
            column, value = next((c, v) for c, v in cells.items() if not np.isfinite(v))
            shown = "a missing value (NaN)" if np.isnan(value) else "an infinite value"
            what = f"{shown} in column {column!r}"
            short = _short_line(source, i) if np.isnan(value) else None
            if short is not None:  # a line cut short, not an empty field
                fields, named = short
                what = "a row with too few fields"
                where += (
                    f": {fields} field{'s' * (fields != 1)} where the header names "
                    f"{named}, so column {column!r} has no value"
                )
                fix = (
                    "complete or delete the line, or pass --drop-missing to drop "
                    "the rows that miss a value"
                )
                if len(per) <= 1:
                    counted = (
                        f"{n_bad} row{'s' * (n_bad > 1)} miss{'es' * (n_bad == 1)} "
                        "a value"
                    )
        if index is not None and not index.equals(pd.RangeIndex(len(index))):
            label = index[i]
            label = (
                tuple(map(_plain, label)) if isinstance(label, tuple) else _plain(label)
            )
            where += f", index {label!r}"
        among = f" in its first {len(y)} of {head_of}" if head_of else ""
        raise InputError(
            f"{source} {_has(source)} {what}, {where} ({counted}{among}): {fix}."
        )
    if n_bad:
        x = None if x is None else x[ok]
        y = y[ok]
        if len(y) < 2:
            raise InputError(
                f"{source} {_has(source)} fewer than two rows left after dropping "
                f"{n_bad} rows with missing values."
            )
    return x, y, n_bad


#: Floating-point types gradtrace does not train in (too few digits for a loss,
#: or more than JAX computes in)
_OTHER_FLOATS = re.compile(r"(b?float|fp|f)(8\w*|16|128|96)|half|longdouble")


def dtype(value: str, what: str = "dtype") -> str:
    """``float32`` or ``float64`` (in any case); a half or quadruple precision is
    refused as not supported, not taken for a misspelling; NumPy's f4 and f8 are
    float32 and float64."""
    short = {"f4": "float32", "f8": "float64"}.get(str(value).strip().lower())
    if short:
        return short
    if _OTHER_FLOATS.fullmatch(str(value).strip().lower()):
        raise InputError(
            f"{what} {value!r} is not supported: choose float32 or float64."
        )
    return choice(what, value, DTYPES)


def reduction(value: str) -> str:
    return choice("reduction", value, REDUCTIONS)


def specs_for(m: Model, loss: LossLike) -> tuple[ParamSpec, ...]:
    return param_specs(m, loss)


def _one_clip_parameter(name: str, param: str, extra: str) -> None:
    """Refuse a clipping's second parameter ``extra`` by name (PyTorch's
    norm_type: the 2-norm is the one taken)."""
    extra = extra.strip()
    norm = " (it clips by the 2-norm, clip_grad_norm_'s default)" * (
        extra == "norm_type"
    )
    raise InputError(
        f"clipping {name!r} takes one parameter, {param}, not {extra!r}{norm}: "
        f"give {name}=VALUE."
    )


def clip(value: Any) -> GradClip | None:
    """Gradient clipping from its text, ``NAME=VALUE`` or ``NAME:KEY=VALUE``
    (``torch.norm=1.0``, ``keras.norm:clipnorm=1``), or a dict with ``name`` and
    its one parameter; None for none."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, GradClip):
        return value
    if isinstance(value, Mapping):
        name, given = _named("clip", value, "{'name': 'torch.norm', 'max_norm': 1}")
    elif isinstance(value, str):
        text = value.strip()
        if ":" in text:
            name, _, rest = text.partition(":")
            key, eq, number = rest.partition("=")
            given = {key.strip(): number.strip()} if eq else {rest.strip(): None}
        else:
            name, eq, number = text.partition("=")
            given = {"": number.strip()} if eq else {}
    else:
        raise InputError(
            f"clip must be text such as 'torch.norm=1.0' or a dict, not a "
            f"{type(value).__name__}."
        )
    name = choice("gradient clipping", name.strip(), list(CLIPS))
    param = CLIPS[name].param
    if "" in given:  # NAME=VALUE: its one parameter
        given = {param: given.pop("")}
    if not given or any(v is None for v in given.values()):
        raise InputError(
            f"clipping {name!r} needs its {param}: give it as {name}=VALUE, such "
            f"as {name}=1.0."
        )
    (key, number), *more = given.items()
    if more:
        _one_clip_parameter(name, param, next(k for k in given if k != param))
    if key != param:
        raise InputError(
            f"clipping {name!r} takes one parameter, {param}: give {name}=VALUE."
        )
    if isinstance(number, str) and "," in number:
        # clip_grad_norm_(params, 1.0, norm_type=inf), say: one parameter only
        _one_clip_parameter(name, param, number.split(",", 1)[1].split("=")[0])
    try:
        amount = _number(number)
    except (TypeError, ValueError):
        raise InputError(
            f"clipping {name!r}: {param} must be a number, got {number!r}."
        ) from None
    if not (math.isfinite(amount) and amount > 0):
        raise InputError(
            f"clipping {name!r}: {param} must be a positive number, got {number!r}."
        )
    return GradClip.create(name, amount)
