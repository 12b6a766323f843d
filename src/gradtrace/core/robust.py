"""Heteroscedasticity-robust ("sandwich") covariances of an optimum.

The classical standard errors assume the model's noise: least squares' one
variance for every row (sigma^2 (J^T J)^-1), a likelihood's own (the inverse
observed information H^-1). Where the noise differs from row to row, those are
wrong; the sandwich A^-1 M A^-1 is not, its meat M built from each row's own
residual or score:

- least squares, J the Jacobian of the predictions (X for a linear model),
  e the residuals, A = J^T J: ``hc0`` M = sum e_i^2 j_i j_i^T (White's),
  ``hc1`` that times n / (n - p), ``hc2`` with e_i^2 / (1 - h_i) for e_i^2,
  h_i = j_i A^-1 j_i^T the row's leverage (unbiased when the noise is even),
  ``hc3`` with e_i / (1 - h_i) for e_i (MacKinnon and White's, the one Long
  and Ervin advise for small samples);
- a likelihood, A = H the Hessian of the summed negative log-likelihood and
  g_i each row's gradient of it: ``hc0`` M = sum g_i g_i^T (Huber's and
  White's), ``hc1`` that times n / (n - p).

Least squares' are statsmodels' ``cov_type="HC0"`` to ``"HC3"``, a
likelihood's ``hc0`` its GLMs' ``"HC0"`` (they give HC0 for every kind; HC1's
n / (n - p) is applied here as to least squares', p counting every parameter
fitted, a scale too). With no more rows than parameters there is no residual
to build the meat from: every variance is NaN, as the classical ones are. Each sum
goes over the rows a block at a time in float64 (``rowsums``), so the data
are not copied, and may be read a chunk at a time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import compiler
from gradtrace.core.catalog import Model
from gradtrace.core.flat import unflat
from gradtrace.core.losses import LossLike, row_losses
from gradtrace.core.rowsums import (
    Chunks,
    blocks,
    padded_rows,
    r_factor,
    reduce_rows,
    repeated,
    take,
    total,
)


def prediction_rows(
    model: Model,
    layout: Any,
    held: dict[str, Any],
    v: Any,
    xb: Any,
    yb: Any,
    mask: Any,
) -> tuple[Any, Any]:
    """Each row's derivatives of its prediction over the flat parameters ``v``
    (shaped as ``layout``; ``held`` the fixed ones), and its residual; rows that
    ``mask`` leaves out are zero (a block's padding, ``rowsums.reduce_rows``)."""
    m: Any = model

    def predict(w: Any) -> Any:
        return m.predict({**unflat(layout, w), **held}, xb)

    jac = jax.jacfwd(predict)(v).reshape(yb.shape[0], -1)
    resid = yb - predict(v)
    if mask is not None:
        jac = jnp.where(mask[:, None], jac, 0.0)
        resid = jnp.where(mask, resid, 0.0)
    return jac, resid


#: A leverage this close to 1 is 1: the fit passes through its row exactly, and
#: hc2's and hc3's weights, the residual over 1 - leverage, are 0 over 0.
LEVERAGE_ONE = 1e-8


def least_squares(
    kind: str,
    model: Model,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
) -> np.ndarray:
    """The ``kind`` sandwich covariance of a least-squares optimum ``params``
    (``fixed`` held), over ``params``' values flattened in their order."""
    layout = {k: np.asarray(v, np.float64) for k, v in params.items()}
    flat = np.concatenate([np.ravel(v) for v in layout.values()])
    if len(y) <= len(flat):
        return np.full((len(flat), len(flat)), np.nan)
    held = {k: jnp.asarray(v, jnp.float64) for k, v in fixed.items()}

    def bread(v: Any, xb: Any, yb: Any, mask: Any) -> Any:
        jac, _ = prediction_rows(model, layout, held, v, xb, yb, mask)
        return jac.T @ jac

    a = np.asarray(_summed(bread, flat, x, y), np.float64)
    a_inv = np.linalg.inv(a)

    def meat(v: Any, xb: Any, yb: Any, mask: Any) -> Any:
        jac, resid = prediction_rows(model, layout, held, v, xb, yb, mask)
        weight = resid**2
        if kind in ("hc2", "hc3"):
            leverage = jnp.sum((jac @ a_inv) * jac, axis=1)
            power = 1.0 if kind == "hc2" else 2.0
            # a row of leverage 1 (the one row of a category) has a residual of
            # 0 over 0, whatever rounding leaves of either: no error
            weight = jnp.where(
                1.0 - leverage < LEVERAGE_ONE,
                jnp.nan,
                weight / (1.0 - leverage) ** power,
            )
        return (jac * weight[:, None]).T @ jac

    middle = np.asarray(_summed(meat, flat, x, y), np.float64)
    return _scaled(kind, a_inv @ middle @ a_inv, len(y), len(flat))


def likelihood(
    kind: str,
    model: Model,
    loss: LossLike,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    h: np.ndarray,
) -> np.ndarray:
    """The ``kind`` (``hc0``, ``hc1``) sandwich covariance H^-1 M H^-1 of a
    likelihood's optimum ``params``, ``h`` the Hessian of the summed negative
    log-likelihood there, over ``params``' values flattened in their order."""
    if kind not in ("hc0", "hc1"):
        raise ValueError(f"{kind} is for least squares; a likelihood takes hc0 or hc1")
    layout = {k: np.asarray(v, np.float64) for k, v in params.items()}
    flat = np.concatenate([np.ravel(v) for v in layout.values()])
    if len(y) <= len(flat):
        return np.full((len(flat), len(flat)), np.nan)
    held = {k: jnp.asarray(v, jnp.float64) for k, v in fixed.items()}

    scores_of = row_scores(model, loss, layout, held)

    def meat(v: Any, xb: Any, yb: Any, mask: Any) -> Any:
        scores = scores_of(v, xb, yb)
        if mask is not None:
            scores = jnp.where(mask[:, None], scores, 0.0)
        return scores.T @ scores

    middle = np.asarray(_summed(meat, flat, x, y), np.float64)
    h_inv = np.linalg.inv(np.asarray(h, np.float64))
    return _scaled(kind, h_inv @ middle @ h_inv, len(y), len(flat))


def row_scores(
    model: Model, loss: LossLike, layout: dict[str, Any], held: dict[str, Any]
) -> Any:
    """``(v, x_block, y_block) -> scores``: each row's gradient of its loss over
    the flat parameters ``v`` (shaped as ``layout``; ``held`` the fixed ones),
    [rows, parameters]. Each row's on its own, in reverse mode vectorised over
    the rows: the Jacobian of the block's losses by ``jax.jacrev`` took a pass
    over the block per row, its memory growing as the rows squared (20 GB for
    50000 rows of a Poisson regression)."""

    def one(w: Any, xi: Any, yi: Any) -> Any:
        xs = None if xi is None else xi[None]
        return row_losses(model, loss, {**unflat(layout, w), **held}, xs, yi[None])[0]

    def scores(v: Any, xb: Any, yb: Any) -> Any:
        axes = (None, None if xb is None else 0, 0)
        return jax.vmap(jax.grad(one), in_axes=axes)(v, xb, yb).reshape(yb.shape[0], -1)

    return scores


#: Rows a least-squares fit's residuals are tested on, at most, for a shape
#: missed (``reset``) or a spread that varies (``breusch_pagan``): a longer data
#: set's evenly spaced rows (``tested_rows``): both tests of a million rows
#: take 0.15 s, and tell a bend of a thousandth of the residuals' squares.
TESTED_ROWS = 1_000_000


#: Rows of a block the tests of the residuals take at a time (``blocks``): few
#: enough that their float64 copies add little to a large command's peak.
TEST_BLOCK = 8192


def tested_rows(x: Any, y: Any) -> tuple[Any, np.ndarray, int]:
    """The rows ``reset`` and ``breusch_pagan`` test, (x, y) in memory, and
    every how many of the data's rows they are: all of them up to
    ``TESTED_ROWS``, else one in every ceil(n / ``TESTED_ROWS``), from the
    first. Of arrays in memory, views that copy nothing (the tests go over them
    ``TEST_BLOCK`` rows at a time: a float64 copy of a million rows of a
    10-million-row line added 30 MB to the command's peak, blocks of 65536 rows
    10 MB); of a file read a chunk at a time, those rows read into memory in
    one pass."""
    n = len(y)
    every = max(1, -(-n // TESTED_ROWS))
    if not isinstance(y, Chunks):
        return (
            (None if x is None else np.asarray(x)[::every]),
            np.asarray(y)[::every],
            every,
        )
    xs, ys = take(x, y, np.arange(0, n, every))
    return xs, ys, every


def _fitted_blocks(
    model: Model,
    params: dict[str, np.ndarray],
    x: Any,
    y: Any,
    fixed: dict[str, np.ndarray] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """A regression's fitted values, its design's columns and y, in float64, a
    block of rows at a time (``rowsums.blocks``: of rows in memory, or one pass
    over a file read a chunk at a time); None for a model that is no regression
    or rows without x."""
    if model.kind != "regression":
        return None
    if x is None and not isinstance(y, Chunks):
        return None

    def each() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for xb, yb in blocks(x, y, TEST_BLOCK):
            if xb is None:
                raise ValueError("rows without x")
            fitted, design = _fitted_values(model, params, xb, fixed)
            yield fitted, design, np.asarray(yb, np.float64)

    return each()


def _left_over(r: np.ndarray, n: int, columns: list[int], target: int) -> float:
    """The sum of squared residuals of column ``target`` fitted by least squares
    on ``columns``, of the rows whose QR decomposition's R factor is ``r``: A = QR
    (``rowsums.r_factor``) with Q's columns orthonormal, so |A_t - A_c b| =
    |R_t - R_c b| for every b
    (``lstsq``'s cutoff for small singular values that of all ``n`` rows)."""
    cols = r[:, columns]
    cutoff = np.finfo(np.float64).eps * max(n, len(columns))
    beta, *_ = np.linalg.lstsq(cols, r[:, target], rcond=cutoff)
    rest = r[:, target] - cols @ beta
    return float(rest @ rest)


def _fitted_values(
    model: Model,
    params: dict[str, np.ndarray],
    x: Any,
    fixed: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A regression's fitted values at the rows of ``x`` and its design's columns
    there (a model not linear in its parameters, or with some held by ``fixed``:
    x's columns and an intercept), in float64."""
    m: Any = model
    x64 = np.asarray(x, np.float64)
    design = m.design(x64)
    at = None if design is None else m.coefficients(np.arange(design.shape[1]))
    if design is not None and at is not None and set(at) == set(params):
        # the coefficients in the design's column order (NumPy alone: a JAX
        # call here would compile for every fit)
        coef = np.empty(design.shape[1])
        for k, where in at.items():
            values = np.ravel(np.asarray(params[k], np.float64))
            coef[np.ravel(where).astype(int)] = values
        fitted = design @ coef
    else:
        if design is None:
            design = np.column_stack([x64.reshape(len(x64), -1), np.ones(len(x64))])
        n = len(x64)
        rows = repeated(x64, padded_rows(n))  # nearby sizes share the program
        with jax.enable_x64(True):
            at_optimum = {
                k: np.asarray(v, np.float64)
                for k, v in {**(fixed or {}), **params}.items()
            }
            fitted = np.asarray(_predicted(m, at_optimum, rows), np.float64)[:n]
    return fitted, design


@functools.partial(compiler.jit, static_argnums=0)
def _predicted(model: Any, params: Any, x: Any) -> Any:
    """``model``'s predictions, one compiled program (run op by op, each
    operation compiles its own for every size of data)."""
    return model.predict(params, x)


def reset(
    model: Model,
    params: dict[str, np.ndarray],
    x: Any,
    y: Any,
    fixed: dict[str, np.ndarray] | None = None,
) -> tuple[float, int, float, float] | None:
    """Ramsey's RESET test of a least-squares fit's form: the residuals
    regressed on the design's columns, then on those and the fitted values'
    square and cube (standardised); F of the two added columns, its
    denominator's degrees of freedom (rows less the columns), its p-value
    (``f2_sf``) and the share of the residuals' sum of squares the two
    columns take. A model that misses a shape of the data (a line through a
    curve) leaves a bend in its residuals that powers of its prediction
    follow. Two passes over the rows, a block at a time (``_fitted_blocks``);
    None for a model that is no regression, or residuals of 0."""
    # the fitted values' mean and spread first (blocks' means and sums of squares
    # about them, combined as Chan et al. combine them), then R of [design |
    # z^2 | z^3 | residuals]
    first = _fitted_blocks(model, params, x, y, fixed)
    if first is None:
        return None
    count, mean, m2, k = 0, 0.0, 0.0, 0
    try:
        for fitted, design, _ in first:
            size, here = len(fitted), float(fitted.mean())
            delta = here - mean
            total = count + size
            m2 += float(((fitted - here) ** 2).sum()) + delta**2 * count * size / total
            mean += delta * size / total
            count, k = total, design.shape[1]
    except ValueError:  # rows without x
        return None
    spread = math.sqrt(m2 / count) if count else 0.0
    dof = count - k - 2
    if dof < 1 or not spread > 0:
        return None
    second = _fitted_blocks(model, params, x, y, fixed)
    assert second is not None

    def rows() -> Iterator[np.ndarray]:
        for fitted, design, values in second:
            z = (fitted - mean) / spread
            yield np.column_stack([design, z**2, z**3, values - fitted])

    found = r_factor(rows())
    assert found is not None
    r, n = found
    before = _left_over(r, n, list(range(k)), k + 2)
    after = _left_over(r, n, list(range(k + 2)), k + 2)
    if not before > 0 or not after > 0:
        return None
    statistic = max((before - after) / 2.0, 0.0) / (after / dof)
    return statistic, dof, f2_sf(statistic, dof), (before - after) / before


def f2_sf(f: float, dof: int) -> float:
    """P(F > f) for F with 2 and ``dof`` degrees of freedom: (1 + 2 f /
    dof)^(-dof / 2), in closed form (no SciPy import for one number)."""
    return float((1.0 + 2.0 * max(f, 0.0) / dof) ** (-dof / 2.0))


def breusch_pagan(
    model: Model,
    params: dict[str, np.ndarray],
    x: Any,
    y: Any,
    fixed: dict[str, np.ndarray] | None = None,
) -> tuple[float, int, float] | None:
    """Breusch and Pagan's test, in Koenker's studentised form (statsmodels'
    ``het_breuschpagan``), of a least-squares fit's squared residuals against
    its design's columns (a model not linear in its parameters, or with some
    held by ``fixed``: x's columns and an intercept): n R^2 of that regression,
    its degrees of freedom (the columns but the intercept), and its p-value
    (chi-squared). A block of rows at a time: in memory, or one pass over a
    file read a chunk at a time."""
    found = _fitted_blocks(model, params, x, y, fixed)
    if found is None:
        return None
    # R of [1 | design | squared residuals]: their spread about their mean is
    # what is left of them on the 1 alone
    try:
        factor = r_factor(
            np.column_stack([np.ones(len(fitted)), design, (values - fitted) ** 2])
            for fitted, design, values in found
        )
    except ValueError:  # rows without x
        return None
    if factor is None:
        return None
    r, n = factor
    k = r.shape[1] - 2
    if k < 2:
        return None
    total_ss = _left_over(r, n, [0], k + 1)
    if not total_ss > 0:
        return None
    left = _left_over(r, n, list(range(1, k + 1)), k + 1)
    statistic = n * (1.0 - left / total_ss)
    dof = k - 1
    return statistic, dof, chi2_sf(statistic, dof)


def pearson_dispersion(
    model: Model,
    params: dict[str, np.ndarray],
    x: Any,
    y: Any,
    fixed: dict[str, np.ndarray] | None = None,
) -> tuple[float, int] | None:
    """Pearson's chi-squared of a Poisson fit, the sum of (y - mu)^2 / mu over the
    rows (mu the fitted mean: a Poisson regression's, or a Poisson
    distribution's rate), and its degrees of freedom, n less the parameters:
    near 1 a degree where the counts vary as a Poisson's do (variance = mean),
    above where they vary more (overdispersion), which makes the classical
    standard errors too small by its square root. Summed a block of rows at a
    time (``blocks``), in memory or read a chunk at a time (``Chunks``: one pass
    over the file). None where a fitted mean is 0 or not finite."""
    rate = {**(fixed or {}), **params}.get("rate")
    if model.kind != "regression" and rate is None:
        return None
    counted = sum(int(np.size(v)) for v in params.values())
    dof = len(y) - counted
    if dof < 1:
        return None
    statistic = 0.0
    for xb, yb in blocks(x, y, TEST_BLOCK):
        if model.kind == "regression":
            if xb is None:
                return None
            mean = _fitted_values(model, params, xb, fixed)[0]
        else:
            mean = np.full(len(yb), float(np.asarray(rate, np.float64)))
        if not np.all(mean > 0) or not np.all(np.isfinite(mean)):
            return None
        values = np.asarray(yb, np.float64)
        statistic += float(np.sum((values - mean) ** 2 / mean))
    return statistic, dof


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for X chi-squared with a whole ``dof`` of degrees of freedom: the
    regularised upper incomplete gamma Q(dof / 2, x / 2) by its finite sums
    (Q(k, h) = e^-h sum over i < k of h^i / i!, for an even dof; Q(1/2, h) =
    erfc(sqrt h) plus e^-h h^(i + 1/2) / Gamma(i + 3/2) over i < (dof - 1) / 2
    for an odd one), each term's logarithm summed by log-sum-exp in NumPy, so
    that neither e^-h (0 beyond h = 745: p-values of 0 printed "p < 1e-300" for
    1e-241) nor a sum of a million terms (a Poisson fit's n - p) goes wrong
    (SciPy's import, or a JAX call's compilation, would cost more than the
    test)."""
    if not x > 0:
        return 1.0
    h = x / 2.0
    log_h = math.log(h)
    if dof % 2 == 0:
        i = np.arange(dof // 2, dtype=np.float64)
        # log i!, as a running sum of logs
        log_gamma = np.concatenate([[0.0], np.cumsum(np.log(i[1:]))])
        logs = i * log_h - h - log_gamma
    else:
        i = np.arange((dof - 1) // 2, dtype=np.float64)
        # log Gamma(i + 3/2), from Gamma(3/2) = sqrt(pi) / 2 up
        log_gamma = math.lgamma(1.5) + np.concatenate(
            [[0.0], np.cumsum(np.log(i[:-1] + 1.5))]
        )
        logs = (i + 0.5) * log_h - h - log_gamma
        tail = math.erfc(math.sqrt(h))
        # beyond its underflow, erfc(z) is e^-z^2 / (z sqrt(pi)) to 1 / (2 z^2)
        log_tail = math.log(tail) if tail > 0 else -h - 0.5 * math.log(math.pi * h)
        logs = np.append(logs, log_tail)
    top = float(np.max(logs))
    return min(1.0, math.exp(top + math.log(float(np.sum(np.exp(logs - top))))))


def _summed(fn: Any, flat: np.ndarray, x: Any, y: Any) -> Any:
    """``fn(flat, x_block, y_block, mask)`` summed over every row, compiled once
    per shape, in float64."""
    compiled = compiler.jit(
        lambda v, xb, yb: reduce_rows(
            lambda xs, ys, mask, how: fn(v, xs, ys, mask), xb, yb, "sum"
        )
    )
    with jax.enable_x64(True):
        v = jnp.asarray(flat, jnp.float64)
        return total(lambda xb, yb, how: compiled(v, xb, yb), x, y, "sum")


def _scaled(kind: str, cov: np.ndarray, n: int, p: int) -> np.ndarray:
    """HC1's small-sample factor n / (n - p) on the HC0 covariance."""
    return cov * (n / (n - p)) if kind == "hc1" else cov
