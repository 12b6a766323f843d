"""The exact answer a run approximates: its optimum, and standard errors there.

Closed forms where they exist: least squares for ``line``/``linear`` with MSE (and for
their slopes and intercept by likelihood, with scale = sqrt(SSR / n)); the mean and
the population standard deviation for ``normal``. Otherwise SciPy's ``trust-exact``
Newton method on the same JAX loss, with JAX gradients and Hessians, in float64, over
log(scale) for positive parameters.

Standard errors: for least squares, sigma^2 (X^T X)^-1 with sigma^2 = SSR / (n - p),
as ordinary least squares reports them (intervals from Student's t with n - p
degrees of freedom); for a likelihood, the square roots of the diagonal of the inverse
observed information, the Hessian of the summed negative log-likelihood (intervals
estimate +- z standard errors, 1.96 for 95%). Each interval holds ``level`` (0.95 by
default) of its distribution.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from statistics import NormalDist
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gradtrace.core import compiler, robust, rowsums
from gradtrace.core.arrays import to_device
from gradtrace.core.bijections import to_constrained, to_unconstrained
from gradtrace.core.catalog import Model
from gradtrace.core.diagnose import hessian
from gradtrace.core.flat import layout as flat_layout
from gradtrace.core.flat import positions, unflat
from gradtrace.core.losses import LossLike, param_specs, reduce, row_losses
from gradtrace.core.rowsums import Chunks, Values, mean64, mean_square64, reduce_rows

#: The 97.5% quantile of the standard normal: a 95% interval's half-width in
#: standard errors.
Z95 = 1.959963984540054


def z_quantile(level: float) -> float:
    """The standard normal's quantile at which an interval holding ``level`` of
    its distribution ends (1.96 for 0.95)."""
    # from the lower tail, (1 - level) / 2: (1 + level) / 2 rounds to 1 for a
    # level within 1e-16 of 1
    return Z95 if level == 0.95 else -NormalDist().inv_cdf((1 - level) / 2)


def t_upper(dof: float, level: float) -> float:
    """Student's t quantile at which an interval holding ``level`` ends (2.00
    for 0.95 on 60 degrees of freedom), from the lower tail as ``z_quantile``."""
    return -t_quantile(dof, (1 - level) / 2)


class Optimum(NamedTuple):
    """The optimum of a problem: trainable parameters, the loss there (with the run's
    reduction), how it was found, and standard errors with intervals (``ci``, each
    holding the level asked of its distribution)."""

    params: dict[str, np.ndarray]
    loss: float
    method: str
    stderr: dict[str, np.ndarray]
    ci: dict[str, tuple[np.ndarray, np.ndarray]]
    #: parameters whose optimum lies on the edge of the values they may take (a
    #: probability of 1, a scale of 0): no standard error or interval applies
    edge: tuple[str, ...] = ()
    #: the estimates' covariance (the standard errors squared on its diagonal),
    #: over the parameters' values in ``params``' order, a vector's in turn
    cov: np.ndarray | None = None


def _loss64(
    model: Model, loss: LossLike, reduction: str, params: dict[str, Any], x: Any, y: Any
) -> Any:
    """The loss at ``params``, as one compiled program (run eagerly, each operation of
    the model and loss would compile a program of its own: ~20 ms each), over the
    rows a block at a time in float64."""
    return _over(
        lambda xb, yb, how: _loss64_program(model, loss, params, xb, yb, how),
        x,
        y,
        reduction,
    )


@functools.partial(compiler.jit, static_argnums=(0, 1, 5))
def _loss64_program(
    model: Model, loss: LossLike, p: dict[str, Any], x: Any, y: Any, how: str
) -> Any:
    """``_loss64``'s program, kept by model, loss and shapes (another fit of the
    model finds it compiled)."""

    def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        return reduce(row_losses(model, loss, p, xb, yb), mask, how)

    return reduce_rows(block, x, y, how)


def separated(
    model: Model, loss: LossLike, params: dict[str, Any], x: Any, y: Values
) -> bool:
    """Whether a logistic regression's ``params`` put every row on its own class's
    side (its y of 0 or 1 given a probability above 1/2, a row loss below log 2):
    then a line through x separates the classes, and scaling the coefficients up
    drives the loss toward 0 without end, so the likelihood has no maximum (a
    solver stops somewhere along the way). A certificate, not a guess: no
    separating point, no claim (quasi-complete separation, where rows sit on the
    line, is ``separating_direction``'s)."""

    def misplaced(p: dict[str, Any], x: Any, y: Any, how: str) -> Any:
        def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
            rows = row_losses(model, loss, p, xb, yb)
            bad = (rows >= math.log(2.0)) | (yb * (1.0 - yb) != 0.0)
            return reduce(bad.astype(rows.dtype), mask, "sum")

        return reduce_rows(block, x, y, "sum")

    compiled = compiler.jit(misplaced, static_argnums=3)
    wrong = _over(lambda xb, yb, how: compiled(params, xb, yb, how), x, y, "sum")
    return float(wrong) == 0.0


#: The rows up to which a logistic regression is searched for a direction of
#: separation by a linear program (``separating_direction``).
LP_ROWS = 250_000

#: Linear programs ``separating_direction`` runs at most, each pushing at least one
#: more row off the cut (one or two do on the data tried).
SEPARATION_ROUNDS = 20

#: A row's margin below 0, on columns scaled to at most 1, that still counts as on
#: the cut (a share of the largest margin, at least 1): HiGHS's feasibility
#: tolerance is 1e-7.
MARGIN_TOL = 1e-6


def separating_direction(model: Any, x: np.ndarray, y: np.ndarray) -> int | None:
    """Whether a logistic regression's classes are separated, completely or
    quasi-completely (Albert and Anderson, 1984): whether some coefficients put
    every y=1 on one side of a cut or on it, every y=0 on the other side or on it,
    and some row off it. Then the likelihood rises along those coefficients without
    end, and has no maximum. Linear programs (HiGHS) find coefficients that keep
    every row on its side or on the cut and push the rows still on it furthest off
    it, until one pushes none: the rows then left on it are those no coefficients
    move (the rows that can be off it all can be at once, certificates adding up).
    Each answer is checked here row by row. Returns how many rows sit on the cut
    (0: complete separation), or None where there is no such cut (or y is not all
    0 and 1)."""
    from scipy import optimize  # imported here: it is slow to import

    y = np.asarray(y, np.float64).reshape(-1)
    if np.any(y * (1.0 - y) != 0.0):
        return None
    design = model.predictor_columns(np.asarray(x, np.float64))
    scale = np.abs(design).max(axis=0)
    signed = (2.0 * y - 1.0)[:, None] * (design / np.where(scale > 0, scale, 1.0))
    on_cut = np.ones(len(signed), bool)
    for _ in range(SEPARATION_ROUNDS):
        # the rows on the cut pushed off as far as can be, every margin at least 0
        done = optimize.linprog(
            -signed[on_cut].sum(axis=0),
            A_ub=-signed,
            b_ub=np.zeros(len(signed)),
            bounds=[(-1.0, 1.0)] * signed.shape[1],
            method="highs",
        )
        if done.status != 0:
            return None
        margins = signed @ done.x
        top = max(float(margins.max()), 0.0)
        if margins.min() < -MARGIN_TOL * max(top, 1.0):
            return None  # not a certificate
        pushed = on_cut & (margins > MARGIN_TOL * max(top, 1.0))
        if not pushed.any():
            break
        on_cut &= ~pushed
    else:
        return None  # not settled: no claim
    if on_cut.all():
        return None
    return int(on_cut.sum())


def zero_direction(model: Any, x: np.ndarray, y: np.ndarray) -> int | None:
    """Whether a Poisson regression's counts have no finite best fit: some
    coefficients lower the linear predictor of rows whose counts are all 0 and
    leave every row with a count above 0 where it is (a category whose counts
    are all 0, say). Along them each such row's mean falls toward 0, its
    likelihood rises toward 1, and no other row's changes: the likelihood rises
    without end. A linear program (HiGHS) finds the coefficients that push those
    rows furthest down, each row then checked. Returns how many rows they push
    down, or None where none can be (or y is not counts)."""
    from scipy import optimize  # imported here: it is slow to import

    y = np.asarray(y, np.float64).reshape(-1)
    if np.any(y < 0) or not np.any(y == 0) or np.any(y != np.round(y)):
        return None
    design = model.predictor_columns(np.asarray(x, np.float64))
    scale = np.abs(design).max(axis=0)
    design = design / np.where(scale > 0, scale, 1.0)
    zero, counted = design[y == 0], design[y > 0]
    done = optimize.linprog(
        zero.sum(axis=0),
        A_ub=zero,
        b_ub=np.zeros(len(zero)),
        A_eq=counted if len(counted) else None,
        b_eq=np.zeros(len(counted)) if len(counted) else None,
        bounds=[(-1.0, 1.0)] * design.shape[1],
        method="highs",
    )
    if done.status != 0:
        return None
    down = zero @ done.x
    top = max(float(np.abs(down).max(initial=0.0)), 1.0)
    # a certificate: no count moved, no zero's row raised, some lowered
    if len(counted) and np.abs(counted @ done.x).max() > MARGIN_TOL * top:
        return None
    if down.max() > MARGIN_TOL * top:
        return None
    pushed = int(np.sum(down < -MARGIN_TOL * top))
    return pushed or None


def apart_alone(model: Any, x: np.ndarray, y: np.ndarray, zeros: bool) -> list[int]:
    """The x columns (their places) that set a separation apart on their own,
    with no other coefficient and no intercept: a logistic regression's column
    whose values, times 2 y - 1, all have one sign or are 0 (a category whose
    rows are all y=0, say); ``zeros``: a Poisson regression's column that is 0 in
    every row with a count above 0 and of one sign, not all 0, in the rows of
    count 0 (a category whose counts are all 0). What a warning names where one
    does, rather than every column."""
    y = np.asarray(y, np.float64).reshape(-1)
    design = model.predictor_columns(np.asarray(x, np.float64))[:, :-1]
    found = []
    for j in range(design.shape[1]):
        column = design[:, j]
        if zeros:
            if np.any(column[y > 0] != 0):
                continue
            column = column[y == 0]
        else:
            column = (2.0 * y - 1.0) * column
        if np.any(column != 0) and (np.all(column >= 0) or np.all(column <= 0)):
            found.append(j)
    return found


def _over(fn: Any, x: Any, y: Values, reduction: str) -> Any:
    """``fn(x, y, how)``, a compiled reduction, over all the rows
    (``rowsums.total``), each array shared with JAX where it can be."""
    return rowsums.total(
        lambda xb, yb, how: fn(_shared(xb), _shared(yb), how), x, y, reduction
    )


def solve(
    model: Model,
    loss: LossLike,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: Values,
    start: dict[str, np.ndarray],
    stderr: bool | str = True,
    level: float = 0.95,
) -> Optimum:
    """The optimum over the trainable parameters (in their order: a solver's
    flattening sorts them, b before w), with the fixed ones held; see ``_solve``."""
    best = _solve(model, loss, reduction, trainable, fixed, x, y, start, stderr, level)
    order = [k for k in trainable if k in best.params]
    order += [k for k in best.params if k not in order]

    def ordered(values: dict[str, Any]) -> dict[str, Any]:
        return {k: values[k] for k in order if k in values}

    cov = best.cov
    if cov is not None:  # its rows and columns in the same order
        moved = positions(best.params, order)
        cov = np.asarray(cov)[np.ix_(moved, moved)]
    return best._replace(
        params=ordered(best.params),
        stderr=ordered(best.stderr),
        ci=ordered(best.ci),
        cov=cov,
    )


def _solve(
    model: Model,
    loss: LossLike,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: Values,
    start: dict[str, np.ndarray],
    stderr: bool | str = True,
    level: float = 0.95,
) -> Optimum:
    """The optimum over the trainable parameters, with the fixed ones held.

    Runs in float64 (the caller enables JAX's x64). Raises ValueError where no
    exact answer is computed (an absolute error on a nonlinear model). With
    ``stderr=False`` the standard errors that cost a Hessian or a Jacobian are left
    out (a sweep needs only the optimum and its loss); ``stderr`` "hc0", "hc1",
    "hc2" or "hc3": robust (sandwich) ones in place of the classical
    (``robust``), said in the method. Each interval holds ``level`` of its
    distribution (0.95: the 95% intervals).

    ``y`` may be ``rowsums.Chunks`` (x then None): data read a chunk at a time,
    each sum a pass over the chunks. Closed forms take one or two passes, Newton's
    method one an iteration; a median or a linear program needs the rows in memory
    and is refused.
    """
    # the data stay as they are (float32, say): what needs float64 converts a block
    # of rows at a time (``rowsums``)
    chunked = isinstance(y, Chunks)
    if not chunked:
        x = None if x is None else np.asarray(x)
        y = np.asarray(y)
    x_head, y_head = y.head() if isinstance(y, Chunks) else (x, y)
    xd, yd = _shared(x), _shared(y)  # for JAX: the same memory where it can be
    fixed64 = {k: np.asarray(v, np.float64) for k, v in fixed.items()}
    names = set(trainable)
    n = len(y)
    m: Any = model
    linear = (
        model.kind == "regression"
        and x_head is not None
        and {s.name for s in model.param_specs()} <= names
        and m.design(np.asarray(x_head[:1], np.float64)) is not None
    )
    in_memory = "the data in memory: drop --stream to get it"

    if linear and (loss == "mse" or (loss == "nll" and m.family == "gaussian")):
        beta, xtx, ssr = _least_squares(m, x, y)
        params = m.coefficients(beta)
        if loss == "mse":
            p = len(beta)
            sigma2 = ssr / (n - p) if n > p else np.nan
            cov = sigma2 * np.linalg.inv(xtx)
            se = m.coefficients(np.sqrt(np.diag(cov)))
            t = t_upper(n - p, level) if n > p else np.nan
            value = _loss64(model, loss, reduction, _jnp(params), xd, yd)
            method = "least squares, closed form"
            if isinstance(stderr, str):  # in the parameters' order already
                cov = robust.least_squares(stderr, model, params, fixed64, xd, yd)
                se, method = _errors_of(params, cov), _robustly(method, stderr)
            else:  # X's columns in the parameters' order
                at = m.coefficients(np.arange(p))
                order = np.concatenate([np.ravel(at[k]) for k in params]).astype(int)
                cov = cov[np.ix_(order, order)]
            return _with_errors(model, loss, params, float(value), method, se, t, cov)
        if "scale" in names:
            params["scale"] = np.asarray(np.sqrt(ssr / n))
            return _finish(
                model,
                loss,
                reduction,
                params,
                fixed64,
                xd,
                yd,
                "least squares with scale = sqrt(SSR / n), closed form",
                stderr,
                level,
            )
    if linear and loss == "mae":
        if chunked:
            raise ValueError(f"least absolute deviations need {in_memory}")
        assert x is not None and not isinstance(y, Chunks)
        y64 = np.asarray(y, np.float64)
        beta = _least_absolute(m.design(np.asarray(x, np.float64)), y64)
        params = m.coefficients(beta)
        value = _loss64(model, loss, reduction, _jnp(params), xd, yd)
        return Optimum(
            params, float(value), "least absolute deviations, linear program", {}, {}
        )
    if loss == "mae" and model.kind == "regression":
        raise ValueError("mae on a nonlinear model has no exact solver here")
    if model.kind == "distribution" and model.name == "normal":
        mean = mean64(y)
        loc = fixed64.get("loc", np.asarray(mean))
        params = {}
        if "loc" in names:
            params["loc"] = np.asarray(mean)
        if "scale" in names:
            params["scale"] = np.asarray(np.sqrt(mean_square64(y, float(loc))))
        return _finish(
            model,
            loss,
            reduction,
            params,
            fixed64,
            xd,
            yd,
            _normal_method(names),
            stderr,
            level,
        )
    closed = None
    if model.kind == "distribution" and loss == "nll":
        closed = _closed_form(model.name, names, y)
    if closed is not None:
        params, method = closed
        return _finish(
            model, loss, reduction, params, fixed64, xd, yd, method, stderr, level
        )
    if (
        model.name == "negative-binomial"
        and loss == "nll"
        and names == {"mean", "size"}
    ):
        limit = _poisson_limit(model, loss, reduction, y, xd, yd, stderr, level)
        if limit is not None:
            return limit
    if model.name == "laplace" and names == {"loc", "scale"}:
        # the likelihood has a kink at each y: the median is exact, Newton is not
        if isinstance(y, Chunks):
            raise ValueError(f"the median needs {in_memory}")
        y64 = np.asarray(y, np.float64)
        med = np.asarray(np.median(y64))
        scale = np.asarray(np.mean(np.abs(y64 - med)))
        del y64
        params = {"loc": med, "scale": scale}
        value = _loss64(model, loss, reduction, _jnp(params), xd, yd)
        # the expected (Fisher) information's: its kink leaves no observed one
        se = {k: np.asarray(scale / np.sqrt(n)) for k in params}
        method = "median and mean absolute deviation, closed form"
        if isinstance(stderr, str):  # its kink at every y: no row's curvature
            method += "; classical standard errors (a robust one needs a smooth loss)"
        z = z_quantile(level)
        return _with_errors(model, loss, params, float(value), method, se, z)
    from gradtrace.core.distributions import CustomFamily

    # a built-in family, whose scale narrows onto one value; one of the caller's
    # may have no scale (a location alone keeps a finite peak)
    if (
        not isinstance(model, CustomFamily)
        and model.kind == "distribution"
        and not getattr(model, "discrete", False)
    ):
        # with nothing held: a scale or shape held fixed can keep a peak
        same = None if fixed64 else _one_value(y)
        if same is not None and loss == "nll":
            raise ValueError(
                f"every y is the same value ({same:g}): the likelihood rises without "
                f"bound as the {model.name} narrows onto it, so it has no maximum"
            )
    if model.kind == "distribution":
        known = {k: float(v) for k, v in fixed64.items() if np.ndim(v) == 0}
        # a streamed run's first chunk is a sample good enough to start from
        guess = m.guess(np.asarray(y_head, np.float64), known)
        start = {k: np.asarray(guess.get(k, start[k]), np.float64) for k in trainable}
    if linear and m.family in ("bernoulli", "poisson"):
        start = {k: np.zeros_like(np.asarray(start[k], np.float64)) for k in trainable}
    found = _newton(
        model, loss, reduction, trainable, fixed64, xd, yd, start, stderr, level
    )
    if model.name == "student-t" and loss == "nll" and names == {"df", "loc", "scale"}:
        if float(found.params["df"]) > T_NORMAL_DF:
            return _normal_limit(y, n, reduction, stderr, level)
    return found


def _one_value(y: Values) -> float | None:
    """The one value every y takes, where it is so (in memory); else None."""
    if isinstance(y, Chunks):
        return None
    y64 = np.asarray(y, np.float64)
    if len(y64) and np.all(y64 == y64.flat[0]):
        return float(y64.flat[0])
    return None


#: A Student-t's degrees of freedom beyond which Newton's answer is one on its way
#: to infinity, whose best fit is the normal limit (300 uniform draws: 3e7, with a
#: standard error of 1e10)
T_NORMAL_DF = 1e5

#: How a Student-t's optimum at the normal limit is named.
NORMAL_LIMIT = (
    "the normal limit (df infinite): mean and population standard deviation, "
    "closed form"
)


def _normal_limit(
    y: Values, n: int, reduction: str, stderr: bool | str, level: float = 0.95
) -> Optimum:
    """A Student-t whose likelihood rises toward the normal's as its degrees of
    freedom grow without end (data no heavier-tailed than a normal's, a uniform
    sample say): df infinite, on the edge of its range, with no standard error;
    loc and scale the normal's (the mean and the population standard deviation),
    with the normal's errors, scale / sqrt(n) and scale / sqrt(2 n)."""
    mean = mean64(y)
    sd = math.sqrt(mean_square64(y, mean))
    params = {
        "df": np.asarray(np.inf),
        "loc": np.asarray(mean),
        "scale": np.asarray(sd),
    }
    # the normal's negative log-likelihood at its own mean and spread, a row's
    row = 0.5 * math.log(2 * math.pi * sd * sd) + 0.5
    value = row * (n if reduction == "sum" else 1)
    edge = ("df",)
    if not stderr:
        return Optimum(params, value, NORMAL_LIMIT, {}, {}, edge)
    se = {
        "df": np.asarray(np.nan),
        "loc": np.asarray(sd / math.sqrt(n)),
        "scale": np.asarray(sd / math.sqrt(2 * n)),
    }
    method = NORMAL_LIMIT
    if isinstance(stderr, str):
        method += "; classical standard errors (df is on its edge)"
    errors, intervals = {}, {}
    z = z_quantile(level)
    for k, v in params.items():
        errors[k] = se[k]
        if k == "df":
            intervals[k] = (np.asarray(np.nan), np.asarray(np.nan))
        elif k == "loc":
            intervals[k] = (v - z * se[k], v + z * se[k])
        else:  # on the log scale, as every positive parameter's
            wide = float(se[k]) / float(v)
            intervals[k] = (v * np.exp(-z * wide), v * np.exp(z * wide))
    return Optimum(params, value, method, errors, intervals, edge)


def _normal_method(names: set[str]) -> str:
    """How a normal's closed form was taken: with loc fixed, the scale is the
    root mean square about it; with scale fixed, loc is the mean alone."""
    if "loc" not in names:
        return "root mean square about the fixed loc, closed form"
    if "scale" not in names:
        return "mean, closed form"
    return "mean and population standard deviation, closed form"


def _closed_form(
    family: str, names: set[str], y: Any
) -> tuple[dict[str, np.ndarray], str] | None:
    """The maximum-likelihood estimates of the families that have them in closed
    form (a Poisson's or an exponential's rate from the mean, a lognormal's
    parameters from log y's mean and population standard deviation), where they
    are inside the parameters' support; else None (Newton then)."""
    if family in ("poisson", "exponential") and names == {"rate"}:
        mean = mean64(y)
        rate = mean if family == "poisson" else 1 / mean if mean > 0 else 0.0
        if not (rate > 0 and math.isfinite(rate)):
            return None
        how = "mean" if family == "poisson" else "1 / mean"
        return {"rate": np.asarray(rate)}, f"{how}, closed form"
    if family == "lognormal" and names == {"loc", "scale"}:
        loc = mean64(y, np.log)
        scale = math.sqrt(mean_square64(y, loc, np.log))
        if not scale > 0:
            return None
        params = {"loc": np.asarray(loc), "scale": np.asarray(scale)}
        return params, "mean and population standard deviation of log y, closed form"
    return None


#: How a negative binomial's optimum at the Poisson limit is named.
POISSON_LIMIT = "the Poisson limit, closed form"


def _poisson_limit(
    model: Model,
    loss: LossLike,
    reduction: str,
    y: Values,
    x: Any,
    yd: Any,
    stderr: bool | str,
    level: float = 0.95,
) -> Optimum | None:
    """A negative binomial's optimum where the counts spread no more than a
    Poisson's (population variance <= mean, the mean above 0): its likelihood
    then rises toward the Poisson's as the size grows without end, with its mean
    at the counts' mean whatever the size (the size's estimate is finite only
    where variance > mean: Anscombe, 1950; Aragon, Eberly and Eberly, 1992). The
    size is infinite, on the edge of its range, with no standard error; the
    mean's is the Poisson's, sqrt(mean / n). None where the counts spread more."""
    mean = mean64(y)
    if not (mean > 0 and mean_square64(y, mean) <= mean):
        return None
    params = {"mean": np.asarray(mean), "size": np.asarray(np.inf)}
    value = float(_loss64(model, loss, reduction, _jnp(params), x, yd))
    if not stderr:
        return Optimum(params, value, POISSON_LIMIT, {}, {}, ("size",))
    se = {"mean": np.asarray(math.sqrt(mean / len(y))), "size": np.asarray(np.nan)}
    method = POISSON_LIMIT
    if isinstance(stderr, str):  # the size's edge leaves no sandwich to take
        method += "; classical standard errors (the size is on its edge)"
    return _with_errors(model, loss, params, value, method, se, z_quantile(level))


class Unidentified(np.linalg.LinAlgError):
    """Parameters that trade off exactly: the loss has no single lowest point, and
    a run's values are one of a line (or plane) of equally good ones."""


def _no_effect(idle: list[str]) -> Unidentified:
    """Parameters ``idle`` whose values change nothing: no single lowest point,
    and what to do (a vector's element: the x column it multiplies is 0)."""
    one = len(idle) == 1
    named = " and ".join(idle) if len(idle) <= 2 else ", ".join(idle)
    held = " ".join(f"--fix {name}=VALUE" for name in idle)
    what = (
        f"hold {'it' if one else 'them'} at a value ({held}) or leave "
        f"{'it' if one else 'them'} out of the model"
    )
    if any("[" in name for name in idle):  # a vector's element: no --fix
        what = (
            "the x column it multiplies is 0 in every row (or the model never "
            "reads that element): drop the column"
            if one
            else "the x columns they multiply are 0 in every row (or the model "
            "never reads those elements): drop the columns"
        )
    return Unidentified(
        f"{named} {'has' if one else 'have'} no effect on the loss, so the "
        f"loss has no single lowest point: {what}"
    )


def _dependent(m: Any, xtx: np.ndarray, rank: int, n: int) -> np.linalg.LinAlgError:
    """Why the design has rank ``rank`` below its p columns, in the parameters'
    names (``Unidentified``): those the directions of no change in the loss (X^T
    X's null space) move. Fewer rows than parameters is said as such."""
    p = len(xtx)
    if n < p:
        return np.linalg.LinAlgError(
            f"{n} rows cannot determine {p} parameters: the loss has no single "
            "lowest point; give more rows, or a model with fewer parameters"
        )
    _, vectors = np.linalg.eigh(xtx)  # ascending: the null space comes first
    null = np.abs(vectors[:, : p - rank])
    named = m.coefficients(np.arange(p))
    names = [""] * p
    for k, v in named.items():
        for j, i in enumerate(np.ravel(v).astype(int)):
            names[i] = k if np.ndim(v) == 0 else f"{k}[{j}]"
    # a column of 0s (a category no row kept has) changes nothing: it trades
    # off with no other
    # (exactly: a column of 4.6e18s beside the intercept's 1s is no zero)
    zero = np.flatnonzero(np.diag(xtx) == 0)
    if len(zero):
        return _no_effect([names[i] for i in zero])
    weight = null.max(axis=1)
    moved = [names[i] for i in np.flatnonzero(weight > 1e-6 * weight.max())]
    if len(moved) < 2:
        # x constant at 4.6e18: the direction is b's but for 2e-19 of w's, and a
        # parameter does not trade off with itself: the two it moves most
        moved = [names[i] for i in sorted(np.argsort(-weight)[:2])]
    together = " and ".join(moved) if len(moved) <= 2 else ", ".join(moved)
    return Unidentified(
        f"{together} trade off exactly, so the loss has no single lowest point: an x "
        "column is constant, copying the intercept, or a combination of the others; "
        "drop it, or use x that varies"
    )


def _least_squares(
    m: Any, x: np.ndarray | None, y: Values
) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares of y on the model's design matrix X, in float64: the
    coefficients, X^T X and the sum of squared residuals.

    Up to ``rowsums.BLOCK_ROWS`` rows in memory, NumPy's ``lstsq`` of the whole X.
    Longer data (or ``Chunks``) never hold X: the R factor of the QR decomposition
    of [X | y] is updated a block of rows at a time (R of [R; next block]),
    ``lstsq`` of its triangle, with the cutoff for small singular values that X's
    would have, gives the same solution as of X (R = Q^T X has X's singular
    values), X^T X is R^T R, and a second pass adds up the squared residuals."""
    n = len(y)
    if n <= rowsums.BLOCK_ROWS and not isinstance(y, Chunks):
        design = m.design(np.asarray(x, np.float64))
        y64 = np.asarray(y, np.float64)
        beta, _, rank, _ = np.linalg.lstsq(design, y64, rcond=None)
        xtx = design.T @ design
        if rank < len(beta):
            raise _dependent(m, xtx, rank, n)
        resid = y64 - design @ beta
        return beta, xtx, float(resid @ resid)
    found = rowsums.r_factor(
        np.column_stack(
            [m.design(np.asarray(xb, np.float64)), np.asarray(yb, np.float64)]
        )
        for xb, yb in rowsums.blocks(x, y)
    )
    assert found is not None
    r = found[0]
    p = r.shape[1] - 1
    triangle = r[:p, :p]
    # R's singular values are X's: the cutoff lstsq of the whole X would use
    cutoff = np.finfo(np.float64).eps * max(n, p)
    beta, _, rank, _ = np.linalg.lstsq(triangle, r[:p, p], rcond=cutoff)
    if rank < p:
        raise _dependent(m, triangle.T @ triangle, rank, n)
    ssr = 0.0
    for xb, yb in rowsums.blocks(x, y):
        resid = np.asarray(yb, np.float64) - m.design(np.asarray(xb, np.float64)) @ beta
        ssr += float(resid @ resid)
    return beta, triangle.T @ triangle, ssr


def _least_absolute(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min sum |y - X beta| as a linear program (HiGHS): y = X beta + u - v."""
    from scipy import optimize  # imported here: it is slow to import

    n, p = X.shape
    cost = np.concatenate([np.zeros(p), np.ones(2 * n)])
    a_eq = np.hstack([X, np.eye(n), -np.eye(n)]) if n <= 2000 else None
    if a_eq is None:
        from scipy import sparse

        a_eq = sparse.hstack(
            [sparse.csr_matrix(X), sparse.eye(n), -sparse.eye(n)], format="csr"
        )
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    result = optimize.linprog(cost, A_eq=a_eq, b_eq=y, bounds=bounds, method="highs")
    if not result.success:
        raise ValueError(
            f"the least-absolute-deviations program failed: {result.message}"
        )
    return np.asarray(result.x[:p])


def _jnp(params: dict[str, Any]) -> dict[str, Any]:
    return {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}


#: Degrees of freedom from which Student's t quantile comes from its expansion
#: about the normal's instead of from SciPy, whose import costs 0.15-0.4 s (a
#: line fitted to 10 million rows needs nothing else of SciPy). From there, the
#: 0.975 quantile is within 4e-15 of SciPy's ``stdtrit``, any in [0.0001, 0.9999]
#: within 1e-13 relative (3e-13 absolute).
T_EXPANSION_DOF = 1000


def t_quantile(dof: float, q: float) -> float:
    """The ``q`` quantile of Student's t with ``dof`` degrees of freedom: SciPy's
    ``stdtrit`` under ``T_EXPANSION_DOF``, else the Cornish-Fisher expansion of t
    about the normal quantile z to the fourth power of 1/dof (Abramowitz and
    Stegun 26.7.5, whose error falls as dof**-5)."""
    if dof < T_EXPANSION_DOF:
        from scipy import special  # imported here: it is slow to import

        return float(special.stdtrit(dof, q))
    z = NormalDist().inv_cdf(q)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + (g1 + (g2 + (g3 + g4 / dof) / dof) / dof) / dof


#: A positive parameter's optimum below this, its error not finite, is 0: Newton's
#: method over log(v) stops short of it (a Poisson rate of all-0 data: 2e-12).
TINY = 1e-9
#: A standard error this many times the parameter's distance to the edge of its
#: range (on the log or logit scale: more than 1e6) says the likelihood is flat
#: toward the edge: the optimum is there, not at a peak inside.
FLAT = 1e6


def scaled_error(value: Any, error: Any, kind: str) -> np.ndarray:
    """A positive parameter's standard error on the log scale, one in (0, 1) on
    the logit scale (the delta method: d(log v) = dv / v, d(logit v) = dv / (v (1 -
    v))), where its interval is taken."""
    v = np.asarray(value, np.float64)
    slope = v if kind == "positive" else v * (1 - v)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(error, np.float64) / slope


def _with_errors(
    model: Model,
    loss: LossLike,
    params: dict[str, np.ndarray],
    value: float,
    method: str,
    se: dict[str, np.ndarray],
    q: float,
    cov: np.ndarray | None = None,
) -> Optimum:
    """The optimum with its standard errors ``se`` and intervals ``q`` standard
    errors each side (1.96 for 95% ones by the normal). A positive parameter's
    interval is taken on the log scale, one in (0, 1) on the logit scale (the
    delta method: exp(log v -+ q se / v)), so that it stays in the parameter's
    range; one whose optimum lies on the edge of its range (a probability of 1
    when every y is 1, a scale of 0 when every y is the same) has neither: they
    describe a peak inside the range. ``cov``: the covariance the errors come
    from, kept where no parameter is on an edge."""
    constraints = {s.name: s.constraint for s in param_specs(model, loss)}
    errors, intervals, edge = {}, {}, []
    for k, v in params.items():
        v = np.asarray(v, np.float64)
        e = np.asarray(se[k], np.float64)
        kind = constraints.get(k, "real")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if kind == "real":
                low, high = v - q * e, v + q * e
            else:
                inner = np.log(v) if kind == "positive" else np.log(v) - np.log1p(-v)
                wide = scaled_error(v, e, kind)  # the standard error on that scale
                # on the edge, or a finite error that says the likelihood is flat
                # toward it; an error of NaN alone (parameters the data cannot
                # tell apart, a singular information) says nothing of an edge
                at_edge = ~np.isfinite(inner) | (np.isfinite(wide) & (wide > FLAT))
                if kind == "positive":  # Newton over log v stopped near 0
                    at_edge |= (v < TINY) & ~np.isfinite(wide)
                e = np.where(at_edge, np.nan, e)
                wide = np.where(at_edge, np.nan, wide)
                ends = [inner - q * wide, inner + q * wide]
                back = np.exp if kind == "positive" else lambda u: 1 / (1 + np.exp(-u))
                low, high = (back(u) for u in ends)
                if np.any(at_edge):
                    edge.append(k)
        errors[k], intervals[k] = e, (low, high)
    kept = None if edge or cov is None else np.asarray(cov, np.float64)
    return Optimum(params, value, method, errors, intervals, tuple(edge), kept)


def _finish(
    model: Model,
    loss: LossLike,
    reduction: str,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    method: str,
    stderr: bool | str = True,
    level: float = 0.95,
) -> Optimum:
    """Loss at the optimum and standard errors: from the observed information (the
    Hessian of the summed NLL) for a likelihood; sigma^2 (J^T J)^-1 for least squares,
    as ``scipy.optimize.curve_fit`` reports them; none for other losses. Intervals
    holding ``level`` of their distribution."""
    value = _loss64(model, loss, reduction, _jnp({**params, **fixed}), x, y)
    if not stderr:
        return Optimum(params, float(value), method, {}, {})
    if loss == "nll":
        se, info, cov = observed_information_stderr(model, loss, params, fixed, x, y)
        if isinstance(stderr, str) and cov is not None:
            cov = robust.likelihood(stderr, model, loss, params, fixed, x, y, info)
            se, method = _errors_of(params, cov), _robustly(method, stderr)
        z = z_quantile(level)
        best = _with_errors(model, loss, params, float(value), method, se, z, cov)
    elif loss == "mse":
        se, dof, info, cov = gauss_newton_stderr(model, params, fixed, x, y)
        t = t_upper(dof, level) if dof > 0 else np.nan
        if isinstance(stderr, str) and cov is not None:
            cov = robust.least_squares(stderr, model, params, fixed, x, y)
            se, method = _errors_of(params, cov), _robustly(method, stderr)
        best = _with_errors(model, loss, params, float(value), method, se, t, cov)
    else:
        return Optimum(params, float(value), method, {}, {})
    idle = [] if best.edge else no_effect(params, info)
    if idle:  # and the loss the same wherever each is moved: not a limit's
        # vanishing curvature (a t's df at 3e7, a coefficient run to -27)
        idle = [
            name
            for name in idle
            if _unmoved(model, loss, reduction, params, fixed, x, y, name, value)
        ]
    if idle:
        raise _no_effect(idle)
    tied = [] if best.edge else tied_parameters(params, info)
    columns = _columns(model, fixed)
    if tied and columns is not None and _full_rank(columns, x, y):
        tied = []  # x far off 0, say: ill-conditioned, yet one optimum
    if tied:
        order = [s.name for s in param_specs(model, loss)]
        tied.sort(key=lambda n: order.index(n.split("[")[0]))
        together = " and ".join(tied) if len(tied) <= 2 else ", ".join(tied)
        # columns of x that tie, as least squares says so (``_dependent``)
        what = (
            "an x column is constant, copying the intercept, or a combination of "
            "the others; drop it, or use x that varies"
            if columns is not None
            else "fix one of them, or write the model so that each parameter "
            "changes the fit in a way of its own"
        )
        raise Unidentified(
            f"{together} trade off exactly, so the loss has no single lowest "
            f"point: {what}"
        )
    return best


def _errors_of(params: dict[str, np.ndarray], cov: np.ndarray | None) -> dict[str, Any]:
    """The standard errors on ``cov``'s diagonal, shaped as ``params`` (NaN where
    a variance is not positive, and all of them without a covariance: a
    singular information or J^T J)."""
    if cov is None:
        size = sum(int(np.size(v)) for v in params.values())
        return unflat(params, np.full(size, np.nan))
    variances = np.diag(cov)
    return unflat(params, np.sqrt(np.where(variances > 0, variances, np.nan)))


def _robustly(method: str, kind: str) -> str:
    """The method, saying its standard errors are robust ones."""
    return f"{method}; robust ({kind.upper()}) standard errors"


def _columns(model: Model, fixed: dict[str, np.ndarray]) -> Any:
    """The columns of a model linear in its coefficients (a line's, a
    polynomial's) or in its linear predictor (a GLM's), as a function of x's rows;
    None for another model, or where some coefficient is held."""
    m: Any = model
    if fixed and model.kind == "regression":
        held = {s.name for s in model.param_specs()} & set(fixed)
        if held:
            return None
    if hasattr(m, "predictor_columns"):
        return m.predictor_columns
    try:
        if m.design(np.zeros((1, 1))) is not None:
            return m.design
    except (AttributeError, ValueError, IndexError):
        return None
    return None


def _full_rank(columns: Any, x: Any, y: Any) -> bool:
    """Whether the columns of x's rows (``columns``) have full rank, by the cutoff
    NumPy's ``lstsq`` takes (singular values above eps * max(n, p) times the
    largest), from the R factor of their QR decomposition updated a block of rows
    at a time (R has their singular values; ``_least_squares`` does the same)."""
    found = rowsums.r_factor(
        np.asarray(columns(np.asarray(xb, np.float64)), np.float64)
        for xb, _ in rowsums.blocks(x, y)
    )
    if found is None:
        return False
    r, n = found
    p = r.shape[1]
    values = np.linalg.svd(r, compute_uv=False)
    cutoff = np.finfo(np.float64).eps * max(n, p) * values.max(initial=0.0)
    return int(np.sum(values > cutoff)) == p


#: Parameters tie where the information, scaled to a unit diagonal (their
#: correlations), has an eigenvalue below this: exactly 0 where the loss depends
#: on a + b alone, up to 5e-14 at a Newton solution (a c x, (a + c) x, a e^c x).
#: A line of x whose mean is 1e5 standard deviations from 0 gives 5e-11: a model
#: with columns (``_columns``) is then asked for their rank too, as least squares
#: would be, so only a real tie among them counts.
TIED = 1e-12


def _unmoved(
    model: Model,
    loss: LossLike,
    reduction: str,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    name: str,
    value: Any,
) -> bool:
    """Whether the loss is exactly ``value`` with ``name`` (``w[1]``: a
    vector's element) moved to two other values, each in a positive or (0, 1)
    parameter's range (half its value and a quarter, and half again and a
    half)."""
    key, _, index = name.partition("[")
    for scale, shift in ((0.5, 0.25), (1.5, 0.5)):
        moved = {k: np.array(v, np.float64, copy=True) for k, v in params.items()}
        flat = moved[key].reshape(-1)
        at = int(index.rstrip("]")) if index else 0
        flat[at] = flat[at] * scale + shift
        there = _loss64(model, loss, reduction, _jnp({**moved, **fixed}), x, y)
        if not float(there) == float(value):
            return False
    return True


def no_effect(params: dict[str, np.ndarray], info: np.ndarray) -> list[str]:
    """The names of the parameters the loss does not depend on at the optimum:
    no curvature (``info``'s diagonal, the Hessian's or J^T J's) at all, or
    none beside the others' (below 1e-12 of the largest). A parameter the model
    never reads (a function's keyword it does not use): the second-order solver
    left it anywhere, and every standard error undefined."""
    info = np.asarray(info, np.float64)
    if info.ndim != 2 or not len(info) or not np.all(np.isfinite(info)):
        return []
    diag = np.abs(np.diag(info))
    dead = np.flatnonzero(diag <= 1e-12 * float(diag.max()))
    if float(diag.max()) == 0.0:
        dead = np.arange(len(diag))
    names = list(_names(params))
    return [names[i] for i in dead]


def tied_parameters(params: dict[str, np.ndarray], info: np.ndarray) -> list[str]:
    """The names (``w[1]`` for a vector's element) of the parameters that move
    along a direction in which the loss does not change at the optimum: the
    eigenvectors of ``info`` (the Hessian of the summed loss, or J^T J) scaled to
    a unit diagonal whose eigenvalues are below ``TIED``. Parameters with no
    curvature at all (a mixture's empty component) are left out: that is an
    edge, not a tie. None tie: an empty list."""
    info = np.asarray(info, np.float64)
    if info.ndim != 2 or len(info) < 2 or not np.all(np.isfinite(info)):
        return []
    diag = np.diag(info)
    live = np.flatnonzero(diag > 1e-12 * max(float(diag.max()), 0.0))
    if len(live) < 2:
        return []
    scale = 1 / np.sqrt(diag[live])
    values, vectors = np.linalg.eigh(info[np.ix_(live, live)] * np.outer(scale, scale))
    null = np.abs(vectors[:, values < TIED])
    if not null.size:
        return []
    names = list(_names(params))
    moved = np.flatnonzero(null.max(axis=1) > 1e-6 * null.max())
    return [names[live[i]] for i in moved]


def gauss_newton_stderr(
    model: Model,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
) -> tuple[dict[str, np.ndarray], int, np.ndarray, np.ndarray | None]:
    """Least-squares standard errors sqrt(diag(sigma^2 (J^T J)^-1)), J the Jacobian
    of the predictions, sigma^2 = SSR / (n - p); n - p; J^T J; and the covariance
    sigma^2 (J^T J)^-1 (None where J^T J is singular)."""
    # flat in ``params``' own order, as the errors are read back
    flat = jnp.concatenate([jnp.ravel(v) for v in _jnp(params).values()])
    fixed_j = _jnp(fixed)

    def sums(v: Any, x: Any, y: Any) -> Any:
        def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
            jac, resid = robust.prediction_rows(model, params, fixed_j, v, xb, yb, mask)
            return jac.T @ jac, resid @ resid

        return reduce_rows(block, x, y, "sum")

    compiled = compiler.jit(sums)
    jtj, ssr = _over(lambda xb, yb, how: compiled(flat, xb, yb), x, y, "sum")
    jtj = np.asarray(jtj, np.float64)
    dof = len(y) - len(flat)
    sigma2 = float(ssr) / dof if dof > 0 else np.nan
    try:
        cov: np.ndarray | None = sigma2 * np.linalg.inv(jtj)
    except np.linalg.LinAlgError:
        cov = None
    return _errors_of(params, cov), dof, jtj, cov


def _shared(a: Any) -> Any:
    """Data for JAX: the same memory where it can be (``to_device``), in its dtype
    (``Chunks`` as they are: each chunk is shared as it is read)."""
    if a is None or isinstance(a, Chunks):
        return a
    if isinstance(a, rowsums.Padded):
        return a.map(_shared)
    return to_device(a, a.dtype)


def observed_information_stderr(
    model: Model,
    loss: LossLike,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """sqrt(diag(H^-1)), H the Hessian of the summed loss over the parameters; H;
    and H^-1, the covariance (None where H is singular)."""
    h, _ = hessian(model, loss, "sum", params, fixed, x, y)
    try:
        cov: np.ndarray | None = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        cov = None
    return _errors_of(params, cov), h, cov


def _value_grad_hessian(objective: Any) -> Any:
    """``objective``'s value, gradient and Hessian, as a function of its point (a
    function of the module's: a compiled program's static argument)."""

    def at(v: Any) -> Any:
        value, grad = jax.value_and_grad(objective)(v)
        return value, grad, jax.hessian(objective)(v)

    return at


def _one_pass(summed: Any) -> tuple[Any, Any]:
    """(value and gradient, Hessian) functions for Newton's method from one
    program that gives all three in one pass over the rows (over data read a
    chunk at a time, one pass over the file), the Hessian kept for the call at
    the same point that follows (SciPy's trust-exact asks for the value and
    gradient, then the Hessian). One program, not one for the value and gradient
    and another for the Hessian: a negative binomial's took 0.3-0.4 s each to
    compile."""
    every = summed(_value_grad_hessian)
    kept: dict[str, Any] = {}

    def f(v: Any) -> tuple[Any, Any]:
        value, grad, h = every(v)
        kept.update(v=np.asarray(v), h=h)
        return value, grad

    def hess(v: Any) -> Any:
        if "v" in kept and np.array_equal(kept["v"], np.asarray(v)):
            return kept["h"]
        return every(v)[2]

    return f, hess


def _endless(
    lowest: list[tuple[np.ndarray, float]],
    start: np.ndarray,
    to_params: Callable[[Any], dict[str, Any]],
) -> str | None:
    """Why Newton's steps failed, where they ran off with the loss falling far
    below where it began (a likelihood with no maximum: an exponential's rate on
    data below 0): the parameter that went furthest and the loss there. None
    where they did not (a solver that merely failed)."""
    if len(lowest) < 2:
        return None
    v, value = lowest[-1]
    first = lowest[0][1]
    moved = np.abs(v - start)
    if not (value < first - 100 * (1 + abs(first)) and moved.max() > 20):
        return None
    flat, unravel = ravel_pytree(to_params(jnp.asarray(v)))
    names = list(_names(unravel(flat)))
    far = int(np.argmax(moved))
    return (
        f"the loss falls without end: Newton's steps took {names[far]} to "
        f"{float(flat[far]):.3g} and the loss summed over the rows from {first:.4g} "
        f"to {value:.3g}, so "
        "the likelihood has no maximum; check that the data lie where the model's "
        "density is defined (its support), or fix that parameter"
    )


def _scaled(
    value_and_grad: tuple[np.ndarray, np.ndarray], scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A loss and its gradient in v as the loss and gradient in v * ``scale``."""
    value, grad = value_and_grad
    return value, grad / scale


def _names(params: dict[str, Any]) -> Iterator[str]:
    """Each parameter's name, and ``w[1]`` for a vector's elements, in order."""
    for k, v in params.items():
        if np.ndim(v) == 0:
            yield k
        else:
            yield from (f"{k}[{i}]" for i in range(int(np.size(v))))


#: The largest gradient of the summed loss, relative to the loss, at which a Newton
#: solve that SciPy did not call a success is still taken as the optimum (a smooth
#: fit stopped by rounding: 6e-9 for a Student-t fit of 1000 rows; a kinked custom
#: loss: 0.2).
STATIONARY = 1e-6


@functools.partial(compiler.jit, static_argnums=(0, 1, 2, 3, 4))
def _newton_sums(
    model: Model,
    loss: LossLike,
    derivative: Any,
    shapes: Any,
    space: Any,
    v: Any,
    fixed: dict[str, Any],
    x: Any,
    y: Any,
) -> Any:
    """``derivative`` (value_and_grad, hessian) at ``v`` of the loss summed over
    the rows (x, y), v the flat values (``shapes``) of the parameters on the
    scale ``space`` names for each (log, logit): one program, kept by model,
    loss and shapes (another fit of the model finds it compiled)."""
    c = dict(space)

    def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        def objective(w: Any) -> Any:
            raw = unflat(shapes, w)
            params = {k: to_constrained(u, c[k]) for k, u in raw.items()}
            return reduce(
                row_losses(model, loss, {**params, **fixed}, xb, yb), mask, how
            )

        return derivative(objective)(v)

    return reduce_rows(block, x, y, "sum")


def _newton(
    model: Model,
    loss: LossLike,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    start: dict[str, np.ndarray],
    stderr: bool | str = True,
    level: float = 0.95,
) -> Optimum:
    """SciPy's trust-exact on the JAX loss, over log(positive parameters) and
    logit(parameters in (0, 1))."""
    from scipy import optimize  # imported here: it is slow to import

    constraints = {s.name: s.constraint for s in param_specs(model, loss)}
    init = {
        k: np.asarray(to_unconstrained(start[k], constraints[k]), np.float64)
        for k in trainable
    }
    flat0, unravel = ravel_pytree(_jnp(init))
    fixed_j = _jnp(fixed)
    # ravel_pytree's order (the names sorted), as the program unflattens v
    shapes = flat_layout({k: init[k] for k in sorted(init)})
    space = tuple((k, constraints[k]) for k, _ in shapes)

    def to_params(v: Any) -> dict[str, Any]:
        p = unravel(v)
        return {k: to_constrained(p[k], constraints[k]) for k in p}

    def summed(derivative: Any) -> Any:
        """``derivative`` (value_and_grad, hessian) of the summed loss over all the
        rows, taken a block of rows at a time, as a function of v."""

        def at(v: Any) -> Any:
            def program(xb: Any, yb: Any, how: str) -> Any:
                return _newton_sums(
                    model, loss, derivative, shapes, space, v, fixed_j, xb, yb
                )

            return _over(program, x, y, "sum")

        return at

    f, hess = _one_pass(summed)
    lowest: list[tuple[np.ndarray, float]] = []  # the lowest finite loss met

    def value_and_grad(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, grad = (np.asarray(a, np.float64) for a in f(jnp.asarray(v)))
        if np.isfinite(value) and (not lowest or value < lowest[-1][1]):
            lowest.append((np.array(v), float(value)))
        return value, grad

    def solve(scale: np.ndarray) -> Any:
        """SciPy's trust-exact on v * scale from the start (None where it met a
        loss or curvature that is not finite), its answer in v."""
        # a start where the gradient or Hessian is not finite (sqrt(a x) at a =
        # 0) is SciPy's to step away from or fail on, not a warning of the user's
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                result = optimize.minimize(
                    lambda z: _scaled(value_and_grad(z / scale), scale),
                    np.asarray(flat0, np.float64) * scale,
                    jac=True,
                    hess=lambda z: (
                        np.asarray(hess(jnp.asarray(z / scale)))
                        / np.outer(scale, scale)
                    ),
                    method="trust-exact",
                    options={"gtol": 1e-10, "maxiter": 500},
                )
            except ValueError:
                return None
        result.x = result.x / scale  # its gradient stays the scaled one's
        return result

    def short(result: Any) -> bool:
        """Whether ``result`` stopped where the loss still slopes (along its
        scaled values: the gradient along income in dollars is that along
        income in 10000s over 10000)."""
        steepest = float(np.max(np.abs(result.jac), initial=0.0))
        return not result.success and not steepest <= STATIONARY * max(
            1.0, abs(result.fun)
        )

    result = solve(np.ones(len(flat0)))
    if result is not None and np.all(np.isfinite(result.x)) and short(result):
        # stalled short: again on values scaled by the square root of their
        # curvature at the start. A trust region is a ball, and a logistic
        # regression of a yes/no on income in dollars has curvatures 1e10 apart:
        # the ball's steps stopped short of the optimum ("failure to predict
        # improvement", gradient 2.6e-4), where statsmodels' Logit converges
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            curvature = np.abs(np.diag(np.asarray(hess(jnp.asarray(flat0)))))
        scale = np.where(np.isfinite(curvature) & (curvature > 0), curvature, 1.0)
        again = solve(np.sqrt(scale))
        if again is not None and np.all(np.isfinite(again.x)) and not short(again):
            result = again
    if result is None or not np.all(np.isfinite(result.x)):
        raise ValueError(
            _endless(lowest, np.asarray(flat0), to_params)
            or "the Newton solver did not converge"
        )
    if short(result):
        steepest = float(np.max(np.abs(result.jac), initial=0.0))
        # stopped short (SciPy also says "failure to predict improvement" at an
        # optimum it cannot refine further: there the gradient is ~0, and it stays)
        raise ValueError(
            f"the Newton solver stopped where the loss still slopes (gradient up to "
            f"{steepest:.3g}): the loss may fall without end toward an edge of the "
            "parameters' range, or have a kink (an absolute value) with no "
            "curvature for Newton's method to follow"
        )
    params = {k: np.asarray(v) for k, v in to_params(jnp.asarray(result.x)).items()}
    return _finish(
        model,
        loss,
        reduction,
        params,
        fixed,
        x,
        y,
        "Newton: SciPy trust-exact on the JAX loss",
        stderr,
        level,
    )
