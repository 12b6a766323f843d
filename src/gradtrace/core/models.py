"""Models: named parameters and a pure function of them.

A regression model maps ``(params, x)`` to a prediction (the mean of y); a
distribution maps ``(params, y)`` to a log-density (``core.distributions``).
Parameters are a dict of named arrays (scalars, or vectors such as ``linear``'s
slopes), so names travel into every table and plot.

A regression model also names the likelihood its ``nll`` uses (``family``): Gaussian
noise of standard deviation ``scale`` (one more parameter), Bernoulli (``logistic``)
or Poisson (``poisson-regression``). A model that is linear in its parameters gives
its design matrix, so least squares has a closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

#: The precision of a model's matrix products: float32's own. On a GPU, XLA
#: otherwise multiplies float32 matrices in TF32 (a 10-bit mantissa): a
#: three-column linear model's gradient came out 5e-5 off its value on the
#: processor on an H200, where PyTorch takes float32 products in full unless told
#: otherwise (``torch.backends.cuda.matmul.allow_tf32``). The processor computes
#: them in full either way.
FULL_PRECISION = "highest"


#: Columns up to which ``products`` adds a @ w up a column at a time inside
#: ``column_sums``. XLA:CPU makes a matrix-vector product a call of its own; the
#: sum of scaled columns fuses with the loss and, differentiated, with the
#: gradient's sums. A full-batch step (by blocks) of a linear model on 4 million
#: float32 rows: two columns 11.9 -> 9.2 ms, four 25.1 -> 16.2 ms, six 30.8 ->
#: 21.7 ms; but eight 22.5 -> 31.6 ms and sixteen 42 -> 199 ms. On gathered
#: mini-batches it was 7-9 times slower (the gather is repeated for each column),
#: and so were losses dearer than squared or absolute error
#: (``loop.SUMMED_LOSSES``).
UNROLLED_COLUMNS = 6

_column_sums: ContextVar[bool] = ContextVar("column_sums", default=False)


@contextmanager
def column_sums() -> Iterator[None]:
    """``products`` traced within adds up a few columns (``UNROLLED_COLUMNS``)
    rather than taking a matrix-vector product: for rows sliced in place."""
    token = _column_sums.set(True)
    try:
        yield
    finally:
        _column_sums.reset(token)


def products(a: Any, w: Any) -> Any:
    """``a @ w``, in full float32 precision where JAX computes it
    (``FULL_PRECISION``), a column at a time for a few columns within
    ``column_sums``; NumPy's own product for NumPy arrays."""
    if isinstance(a, np.ndarray) and isinstance(w, np.ndarray):
        return a @ w
    few = a.ndim == 2 and w.ndim == 1 and 1 < a.shape[1] <= UNROLLED_COLUMNS
    if few and _column_sums.get():
        total = a[:, 0] * w[0]
        for i in range(1, a.shape[1]):
            total = total + a[:, i] * w[i]
        return total
    return jnp.matmul(a, w, precision=FULL_PRECISION)


Params = dict[str, Array]
#: real: any value; positive: > 0; unit: strictly between 0 and 1; count: a known
#: whole number (binomial's n), never trained.
Constraint = Literal["real", "positive", "unit", "count"]

LOG_SQRT_2PI = math.log(math.sqrt(2.0 * math.pi))


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: its name, default initial value, constraint and size.

    ``size`` is None for a scalar, or the length of a vector parameter. A ``known``
    parameter is part of the model's definition (binomial's number of trials): it is
    given with ``--fix`` and never trained.
    """

    name: str
    #: one number, or one per element of a vector
    default: float | tuple[float, ...]
    constraint: Constraint = "real"
    size: int | None = None
    doc: str = ""
    known: bool = False

    def described(self) -> str:
        """``name=start`` and its range: ``b=1 (> 0)``, ``p=0.5 (in (0, 1))``."""
        start = self.default
        shown = (
            f"[{', '.join(f'{v:g}' for v in start)}]"
            if isinstance(start, tuple)
            else f"{float(start):g}"
        )
        kept = {"positive": " (> 0)", "unit": " (in (0, 1))"}.get(
            str(self.constraint), ""
        )
        return f"{self.name}={shown}{kept}"

    def columns(self) -> list[str]:
        """Column names: ``w`` for a scalar; ``w[0]``, ``w[1]``, ... for a vector."""
        if self.size is None:
            return [self.name]
        return [f"{self.name}[{i}]" for i in range(self.size)]


SCALE = ParamSpec("scale", 1.0, "positive", doc="standard deviation of the noise")


def normal_log_prob(y: Array, loc: Array, scale: Array) -> Array:
    """-(y - loc)^2 / (2 scale^2) - log(scale) - log(sqrt(2 pi)), as PyTorch's
    ``Normal.log_prob`` writes it, except that each row's square is multiplied by
    1 / (2 scale^2), computed once, rather than divided by 2 scale^2: a division
    per row (and another in its derivative) cost 40% of seed 002's step on
    XLA:CPU. Where 2 scale^2 is a power of two (seed 002's scale 1) the result is
    the same to the bit; otherwise a row's term can differ by an ulp."""
    inv_two_var = 1 / (2 * scale**2)
    return -((y - loc) ** 2) * inv_two_var - jnp.log(scale) - LOG_SQRT_2PI


def _slopes(n: int) -> ParamSpec:
    return ParamSpec("w", 0.0, size=n, doc="slopes, one per x column")


INTERCEPT = ParamSpec("b", 0.0, doc="intercept")


class Regression:
    """What every regression model has (defaults for the simple case)."""

    kind = "regression"
    #: the likelihood of ``nll``: gaussian (adds ``scale``), bernoulli or poisson
    family = "gaussian"
    #: x reaches ``predict`` as [n, k] (True) or, for one column, as [n] (False)
    x_matrix = False
    n_features = 1
    name = "regression"

    def param_specs(self) -> tuple[ParamSpec, ...]:
        raise NotImplementedError

    def predict(self, params: Params, x: Array) -> Array:
        raise NotImplementedError

    def design(self, x: np.ndarray) -> np.ndarray | None:
        """The design matrix when the model is linear in its parameters (its columns
        in the order of ``coefficients``), else None."""
        return None

    def coefficients(self, beta: np.ndarray) -> dict[str, np.ndarray]:
        """Parameters from a coefficient vector over ``design``'s columns."""
        raise NotImplementedError

    def linear_predictor(self, params: Params, x: Array) -> Array:
        """For a GLM: the value the link maps to the mean (logit or log)."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """What, besides its name, rebuilds this model (recorded in run.json)."""
        return {}


@dataclass(frozen=True, eq=True)
class Line(Regression):
    """A straight line, y = w * x + b."""

    name = "line"

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (ParamSpec("w", 0.0, doc="slope"), INTERCEPT)

    def predict(self, params: Params, x: Array) -> Array:
        """x: [n] -> [n]."""
        return params["w"] * x + params["b"]

    def design(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([x.reshape(len(x)), np.ones(len(x))])

    def coefficients(self, beta: np.ndarray) -> dict[str, np.ndarray]:
        return {"w": np.asarray(beta[0]), "b": np.asarray(beta[1])}


@dataclass(frozen=True)
class _Columns(Regression):
    """A model of several x columns through a linear predictor x @ w + b (vector w,
    scalar b).

    With ``center`` and ``spread`` (``--standardize``), each column is standardised
    first, (x - center) / spread, and the slopes are in standard units;
    ``original_units`` maps them back (the predictor, and so the fit, is the
    same). With ``offset``, x holds one column more, last, added to the linear
    predictor as it is (its coefficient held at 1: R's ``offset()``, a Poisson
    regression's log exposure); it is never standardised."""

    n_features: int = 1
    center: tuple[float, ...] | None = None
    spread: tuple[float, ...] | None = None
    offset: bool = False
    x_matrix = True

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (_slopes(self.n_features), INTERCEPT)

    def _x(self, x: Any) -> Any:
        if self.offset:
            x = x[:, :-1]
        if self.center is None or self.spread is None:
            return x
        center = np.asarray(self.center, np.float64)
        spread = np.asarray(self.spread, np.float64)
        if isinstance(x, np.ndarray):
            return (x - center[None, :]) / spread[None, :]
        return (x - center.astype(x.dtype)[None, :]) / spread.astype(x.dtype)[None, :]

    def linear_predictor(self, params: Params, x: Array) -> Array:
        eta = products(self._x(x), params["w"]) + params["b"]
        return eta + x[:, -1] if self.offset else eta

    def predictor_columns(self, x: np.ndarray) -> np.ndarray:
        """The linear predictor's columns: x's (standardised where it is) and the
        intercept's ones, in the order of ``coefficients`` (an offset, whose
        coefficient is no parameter, is not one of them)."""
        xs = self._x(x.reshape(len(x), -1))
        return np.column_stack([xs, np.ones(len(xs))])

    def coefficients(self, beta: np.ndarray) -> dict[str, np.ndarray]:
        return {"w": np.asarray(beta[:-1]), "b": np.asarray(beta[-1])}

    def original_units(self, params: dict[str, Any]) -> dict[str, Any]:
        """Slopes and intercept for x in its own units (unchanged when x was not
        standardised)."""
        if self.center is None or self.spread is None:
            return dict(params)
        w = np.asarray(params["w"], np.float64) / np.asarray(self.spread)
        b = float(params["b"]) - float(w @ np.asarray(self.center))
        return {**params, "w": w, "b": np.asarray(b)}

    def standardised_units(self, params: dict[str, Any]) -> dict[str, Any]:
        """Slopes and intercept for x in its own units as the standardised model
        takes them (``original_units``' inverse: the data's true values beside
        a fit on standardised x)."""
        if self.center is None or self.spread is None:
            return dict(params)
        w = np.asarray(params["w"], np.float64)
        b = float(params["b"]) + float(w @ np.asarray(self.center))
        return {**params, "w": w * np.asarray(self.spread), "b": np.asarray(b)}

    def options(self) -> dict[str, Any]:
        held = {"offset": True} if self.offset else {}
        if self.center is None:
            return held
        return {
            **held,
            "center": list(self.center),
            "spread": list(self.spread or ()),
        }


@dataclass(frozen=True)
class Linear(_Columns):
    """A linear model on several columns, y = x @ w + b (vector w, scalar b); see
    ``_Columns`` for ``--standardize``."""

    name = "linear"

    def predict(self, params: Params, x: Array) -> Array:
        """x: [n, k] -> [n]."""
        return self.linear_predictor(params, x)

    def design(self, x: np.ndarray) -> np.ndarray:
        return self.predictor_columns(x)


@dataclass(frozen=True)
class Poly(Regression):
    """A polynomial of degree k: y = b + w[0] x + w[1] x^2 + ... + w[k-1] x^k."""

    degree: int = 2
    name = "poly"

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (
            ParamSpec("w", 0.0, size=self.degree, doc="w[i] multiplies x^(i+1)"),
            INTERCEPT,
        )

    def predict(self, params: Params, x: Array) -> Array:
        powers = jnp.stack([x ** (i + 1) for i in range(self.degree)], axis=-1)
        return products(powers, params["w"]) + params["b"]

    def design(self, x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x))
        cols = [x ** (i + 1) for i in range(self.degree)]
        return np.column_stack([*cols, np.ones(len(x))])

    def coefficients(self, beta: np.ndarray) -> dict[str, np.ndarray]:
        return {"w": np.asarray(beta[:-1]), "b": np.asarray(beta[-1])}

    def options(self) -> dict[str, Any]:
        return {"degree": self.degree}


@dataclass(frozen=True)
class Logistic(_Columns):
    """Logistic regression: P(y = 1) = sigmoid(x @ w + b), fitted by Bernoulli NLL."""

    name = "logistic"
    family = "bernoulli"

    def predict(self, params: Params, x: Array) -> Array:
        return 1 / (1 + jnp.exp(-self.linear_predictor(params, x)))


@dataclass(frozen=True)
class PoissonRegression(_Columns):
    """Poisson regression with a log link: E[y] = exp(x @ w + b)."""

    name = "poisson-regression"
    family = "poisson"

    def predict(self, params: Params, x: Array) -> Array:
        return jnp.exp(self.linear_predictor(params, x))


#: The built-in models of a linear predictor x @ w + b: one slope in w for each
#: x column (``_Columns``'s)
LINEAR_PREDICTOR = (Linear.name, Logistic.name, PoissonRegression.name)


@dataclass(frozen=True)
class ExpDecay(Regression):
    """Exponential decay towards a floor: y = a * exp(-b * x) + c (nonlinear)."""

    name = "exp-decay"

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return (
            ParamSpec("a", 1.0, doc="amplitude at x = 0 above the floor"),
            ParamSpec("b", 1.0, doc="decay rate"),
            ParamSpec("c", 0.0, doc="floor"),
        )

    def predict(self, params: Params, x: Array) -> Array:
        return params["a"] * jnp.exp(-params["b"] * x) + params["c"]


@dataclass(frozen=True)
class Custom(Regression):
    """A regression model the user writes: ``fn(params, x)`` with ``jax.numpy``.

    ``x`` is [n] for one x column and [n, k] for several. ``source`` says where it
    came from (an expression's text, a file, or Python) for run.json.
    """

    fn: Callable[[Params, Array], Array]
    specs: tuple[ParamSpec, ...]
    name: str = "custom"  # type: ignore[misc]
    n_features: int = 1  # type: ignore[misc]
    source: dict[str, Any] | None = None
    #: each row's log-density of y given the prediction, ``log_prob(params, y,
    #: prediction)``, for ``nll`` (None: Gaussian, with ``scale`` added)
    log_prob: Callable[..., Array] | None = None
    #: whether ``log_prob`` takes the rows' x too, ``log_prob(params, y,
    #: prediction, x)``: a noise that varies with x
    log_prob_x: bool = False

    def __hash__(self) -> int:
        return hash(
            (
                self.fn,
                self.specs,
                self.name,
                self.n_features,
                self.log_prob,
                self.log_prob_x,
            )
        )

    def __repr__(self) -> str:
        starts = ", ".join(s.described() for s in self.specs)
        likelihood = ""
        if self.log_prob is not None:
            given = "prediction and x" if self.log_prob_x else "prediction"
            likelihood = f"; fitted by its log_prob of y given the {given}"
        return f"<gradtrace.Model {self.name!r}: {starts}{likelihood}>"

    def row_log_prob(self, params: Params, y: Array, pred: Array, x: Any) -> Array:
        """Each row's log-density of y by ``log_prob``, given its prediction (and
        its x, where ``log_prob`` takes it)."""
        assert self.log_prob is not None
        if self.log_prob_x:
            return self.log_prob(params, y, pred, x)
        return self.log_prob(params, y, pred)

    @property
    def family(self) -> str:  # type: ignore[override]
        return "gaussian" if self.log_prob is None else "custom"

    @property
    def x_matrix(self) -> bool:  # type: ignore[override]
        return self.n_features > 1

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return self.specs

    def predict(self, params: Params, x: Array) -> Array:
        # the user's products at full precision wherever it is called (metrics,
        # explain and the exact answer's Jacobian too, not the loss alone)
        with jax.default_matmul_precision(FULL_PRECISION):
            return jnp.broadcast_to(self.fn(params, x), x.shape[:1])

    def options(self) -> dict[str, Any]:
        return dict(self.source or {})


def specs_from_defaults(
    defaults: dict[str, Any],
    positive: tuple[str, ...] = (),
    unit: tuple[str, ...] = (),
) -> tuple[ParamSpec, ...]:
    """Parameter specs from ``{name: default}`` (a list default is a vector);
    ``positive`` and ``unit`` name the ones that stay > 0 and in (0, 1)."""
    specs = []
    for name, value in defaults.items():
        arr = np.asarray(value, np.float64)
        constraint: Constraint = (
            "positive" if name in positive else "unit" if name in unit else "real"
        )
        if arr.ndim == 0:
            specs.append(ParamSpec(name, float(arr), constraint))
        elif arr.ndim == 1 and len(arr) and np.all(arr == arr[0]):
            specs.append(ParamSpec(name, float(arr[0]), constraint, size=len(arr)))
        elif arr.ndim == 1 and len(arr):
            default = tuple(float(v) for v in arr)
            specs.append(ParamSpec(name, default, constraint, size=len(arr)))
        elif arr.ndim > 1 and arr.size:  # a weight matrix: a vector, reshaped
            shape = ", ".join(map(str, arr.shape))
            raise ValueError(
                f"parameter {name!r}: give a number or a list of numbers as its "
                f"default start, not an array of shape {arr.shape}: give it "
                f"flattened ({name!r}: start.ravel()) and reshape it in the model, "
                f"p[{name!r}].reshape({shape})."
            )
        else:
            raise ValueError(
                f"parameter {name!r}: give a number or a list of numbers as its "
                f"default start, not an array of shape {arr.shape}."
            )
    return tuple(specs)


REGRESSIONS: dict[str, tuple[str, Callable[..., Regression]]] = {
    "line": ("y = w*x + b: one x column", lambda n, **o: Line()),
    "linear": (
        "y = x @ w + b: several x columns (--x repeated), vector w; --standardize",
        lambda n, **o: Linear(n, o.get("center"), o.get("spread")),
    ),
    "poly": (
        "y = b + w[0] x + ... + w[k-1] x^k: one x column, --degree k",
        lambda n, **o: Poly(int(o.get("degree", 2))),
    ),
    "logistic": (
        "P(y=1) = sigmoid(x @ w + b): 0/1 outcomes, Bernoulli likelihood; "
        "--standardize, --offset",
        lambda n, **o: Logistic(
            n, o.get("center"), o.get("spread"), bool(o.get("offset"))
        ),
    ),
    "poisson-regression": (
        "E[y] = exp(x @ w + b): counts, Poisson likelihood; --standardize, --offset",
        lambda n, **o: PoissonRegression(
            n, o.get("center"), o.get("spread"), bool(o.get("offset"))
        ),
    ),
    "exp-decay": (
        "y = a*exp(-b*x) + c: one x column, nonlinear",
        lambda n, **o: ExpDecay(),
    ),
}
