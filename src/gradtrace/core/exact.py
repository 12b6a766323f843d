"""The exact answer a run approximates: its optimum, and standard errors there.

Closed forms where they exist: least squares for ``line``/``linear`` with MSE (and for
their slopes and intercept by likelihood, with scale = sqrt(SSR / n)); the mean and
the population standard deviation for ``normal``. Otherwise SciPy's ``trust-exact``
Newton method on the same JAX loss, with JAX gradients and Hessians, in float64, over
log(scale) for positive parameters.

Standard errors: for least squares, sigma^2 (X^T X)^-1 with sigma^2 = SSR / (n - p),
as ordinary least squares reports them (95% intervals from Student's t with n - p
degrees of freedom); for a likelihood, the square roots of the diagonal of the inverse
observed information, the Hessian of the summed negative log-likelihood (95% intervals
estimate +- 1.96 standard errors).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gradtrace.core.bijections import to_constrained, to_unconstrained
from gradtrace.core.catalog import Model
from gradtrace.core.diagnose import hessian
from gradtrace.core.losses import LossLike, param_specs, reduce, row_losses

#: The 97.5% quantile of the standard normal.
Z95 = 1.959963984540054


class Optimum(NamedTuple):
    """The optimum of a problem: trainable parameters, the loss there (with the run's
    reduction), how it was found, and standard errors with 95% intervals."""

    params: dict[str, np.ndarray]
    loss: float
    method: str
    stderr: dict[str, np.ndarray]
    ci95: dict[str, tuple[np.ndarray, np.ndarray]]


def _loss64(
    model: Model, loss: LossLike, reduction: str, params: dict[str, Any], x: Any, y: Any
) -> Any:
    """The loss at ``params``, as one compiled program (run eagerly, each operation of
    the model and loss would compile a program of its own: ~20 ms each)."""

    def value(p: dict[str, Any], x: Any, y: Any) -> Any:
        return reduce(row_losses(model, loss, p, x, y), None, reduction)

    return jax.jit(value)(params, x, y)


def solve(
    model: Model,
    loss: LossLike,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: np.ndarray,
    start: dict[str, np.ndarray],
    stderr: bool = True,
) -> Optimum:
    """The optimum over the trainable parameters, with the fixed ones held.

    Runs in float64 (the caller enables JAX's x64). Raises ValueError where no
    exact answer is computed (an absolute error on a nonlinear model). With
    ``stderr=False`` the standard errors that cost a Hessian or a Jacobian are left
    out (a sweep needs only the optimum and its loss).
    """
    x64 = None if x is None else np.asarray(x, np.float64)
    y64 = np.asarray(y, np.float64)
    fixed64 = {k: np.asarray(v, np.float64) for k, v in fixed.items()}
    names = set(trainable)
    n = len(y64)
    m: Any = model
    design = None
    if model.kind == "regression" and x64 is not None:
        if {s.name for s in model.param_specs()} <= names:
            design = m.design(x64)

    if design is not None and (
        loss == "mse" or (loss == "nll" and m.family == "gaussian")
    ):
        X = design
        beta, *_ = np.linalg.lstsq(X, y64, rcond=None)
        resid = y64 - X @ beta
        ssr = float(resid @ resid)
        params = m.coefficients(beta)
        if loss == "mse":
            p = X.shape[1]
            sigma2 = ssr / (n - p) if n > p else np.nan
            se = m.coefficients(np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X))))
            t = _t_quantile(n - p, 0.975) if n > p else np.nan
            value = _loss64(model, loss, reduction, _jnp(params), x64, y64)
            return Optimum(
                params,
                float(value),
                "least squares, closed form",
                se,
                _intervals(params, se, t),
            )
        if "scale" in names:
            params["scale"] = np.asarray(np.sqrt(ssr / n))
            return _finish(
                model,
                loss,
                reduction,
                params,
                fixed64,
                x64,
                y64,
                "least squares with scale = sqrt(SSR / n), closed form",
                stderr,
            )
    if design is not None and loss == "mae":
        beta = _least_absolute(design, y64)
        params = m.coefficients(beta)
        value = _loss64(model, loss, reduction, _jnp(params), x64, y64)
        return Optimum(
            params, float(value), "least absolute deviations, linear program", {}, {}
        )
    if loss == "mae" and model.kind == "regression":
        raise ValueError("mae on a nonlinear model has no exact solver here")
    if model.kind == "distribution" and model.name == "normal":
        loc = fixed64.get("loc", np.asarray(y64.mean()))
        params = {}
        if "loc" in names:
            params["loc"] = np.asarray(y64.mean())
        if "scale" in names:
            params["scale"] = np.asarray(np.sqrt(np.mean((y64 - loc) ** 2)))
        return _finish(
            model,
            loss,
            reduction,
            params,
            fixed64,
            x64,
            y64,
            "mean and population standard deviation, closed form",
            stderr,
        )
    if model.name == "laplace" and names == {"loc", "scale"}:
        # the likelihood has a kink at each y: the median is exact, Newton is not
        med = np.asarray(np.median(y64))
        scale = np.asarray(np.mean(np.abs(y64 - med)))
        params = {"loc": med, "scale": scale}
        value = _loss64(model, loss, reduction, _jnp(params), x64, y64)
        se = {k: np.asarray(scale / np.sqrt(n)) for k in params}  # Fisher information
        return Optimum(
            params,
            float(value),
            "median and mean absolute deviation, closed form",
            se,
            _intervals(params, se, Z95),
        )
    if model.kind == "distribution":
        known = {k: float(v) for k, v in fixed64.items() if np.ndim(v) == 0}
        guess = m.guess(y64, known)
        start = {k: np.asarray(guess.get(k, start[k]), np.float64) for k in trainable}
    if design is not None and m.family in ("bernoulli", "poisson"):
        start = {k: np.zeros_like(np.asarray(start[k], np.float64)) for k in trainable}
    return _newton(model, loss, reduction, trainable, fixed64, x64, y64, start, stderr)


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


def _t_quantile(dof: float, q: float) -> float:
    from scipy import special  # imported here: it is slow to import

    return float(special.stdtrit(dof, q))


def _intervals(
    params: dict[str, np.ndarray], se: dict[str, np.ndarray], q: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {k: (params[k] - q * se[k], params[k] + q * se[k]) for k in params}


def _finish(
    model: Model,
    loss: LossLike,
    reduction: str,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    method: str,
    stderr: bool = True,
) -> Optimum:
    """Loss at the optimum and standard errors: from the observed information (the
    Hessian of the summed NLL) for a likelihood; sigma^2 (J^T J)^-1 for least squares,
    as ``scipy.optimize.curve_fit`` reports them; none for other losses."""
    value = _loss64(model, loss, reduction, _jnp({**params, **fixed}), x, y)
    if not stderr:
        return Optimum(params, float(value), method, {}, {})
    if loss == "nll":
        se = observed_information_stderr(model, loss, params, fixed, x, y)
        return Optimum(params, float(value), method, se, _intervals(params, se, Z95))
    if loss == "mse":
        se, dof = gauss_newton_stderr(model, params, fixed, x, y)
        t = _t_quantile(dof, 0.975) if dof > 0 else np.nan
        return Optimum(params, float(value), method, se, _intervals(params, se, t))
    return Optimum(params, float(value), method, {}, {})


def gauss_newton_stderr(
    model: Model,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
) -> tuple[dict[str, np.ndarray], int]:
    """Least-squares standard errors sqrt(diag(sigma^2 (J^T J)^-1)), J the Jacobian
    of the predictions, sigma^2 = SSR / (n - p); and n - p."""
    flat, unravel = ravel_pytree(_jnp(params))
    fixed_j = _jnp(fixed)
    m: Any = model

    def predict(v: Any) -> Any:
        return m.predict({**unravel(v), **fixed_j}, x)

    jac = np.asarray(jax.jacfwd(predict)(flat), np.float64)
    resid = np.asarray(y, np.float64) - np.asarray(predict(flat), np.float64)
    dof = len(resid) - len(flat)
    sigma2 = float(resid @ resid) / dof if dof > 0 else np.nan
    try:
        cov = sigma2 * np.linalg.inv(jac.T @ jac)
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se = np.full(len(flat), np.nan)
    return _unflat(params, se), dof


def _unflat(params: dict[str, np.ndarray], flat: np.ndarray) -> dict[str, np.ndarray]:
    out, at = {}, 0
    for k, v in params.items():
        size = int(np.size(v))
        out[k] = flat[at : at + size].reshape(np.shape(v))
        at += size
    return out


def observed_information_stderr(
    model: Model,
    loss: LossLike,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
) -> dict[str, np.ndarray]:
    """sqrt(diag(H^-1)), H the Hessian of the summed loss over the parameters."""
    h, _ = hessian(model, loss, "sum", params, fixed, x, y)
    try:
        cov = np.linalg.inv(h)
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se = np.full(len(h), np.nan)
    return _unflat(params, se)


def _newton(
    model: Model,
    loss: LossLike,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    start: dict[str, np.ndarray],
    stderr: bool = True,
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

    def to_params(v: Any) -> dict[str, Any]:
        p = unravel(v)
        return {k: to_constrained(p[k], constraints[k]) for k in p}

    def objective(v: Any) -> Any:
        return jnp.sum(row_losses(model, loss, {**to_params(v), **fixed_j}, x, y))

    f = jax.jit(jax.value_and_grad(objective))
    hess = jax.jit(jax.hessian(objective))
    result = optimize.minimize(
        lambda v: tuple(np.asarray(a, np.float64) for a in f(jnp.asarray(v))),
        np.asarray(flat0),
        jac=True,
        hess=lambda v: np.asarray(hess(jnp.asarray(v))),
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": 500},
    )
    if not np.all(np.isfinite(result.x)):
        raise ValueError("the Newton solver did not converge")
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
    )
