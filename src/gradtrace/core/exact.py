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
from scipy import special

from gradtrace.core.diagnose import hessian
from gradtrace.core.losses import param_specs, reduce, row_losses
from gradtrace.core.models import Model

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
    model: Model, loss: str, reduction: str, params: dict[str, Any], x: Any, y: Any
) -> Any:
    return reduce(row_losses(model, loss, params, x, y), None, reduction)


def _design(model: Model, x: np.ndarray | None) -> np.ndarray:
    """Columns of the linear model: the slopes' x columns, then 1 for the intercept."""
    assert x is not None
    xs = x.reshape(len(x), -1)
    return np.column_stack([xs, np.ones(len(xs))])


def _split_coefs(model: Model, beta: np.ndarray) -> dict[str, np.ndarray]:
    w = beta[:-1]
    return {
        "w": w.reshape(()) if model.name == "line" else w,
        "b": np.asarray(beta[-1]),
    }


def solve(
    model: Model,
    loss: str,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: np.ndarray,
    start: dict[str, np.ndarray],
) -> Optimum:
    """The optimum over the trainable parameters, with the fixed ones held.

    Runs in float64 (the caller enables JAX's x64).
    """
    x64 = None if x is None else np.asarray(x, np.float64)
    y64 = np.asarray(y, np.float64)
    fixed64 = {k: np.asarray(v, np.float64) for k, v in fixed.items()}
    names = set(trainable)
    n = len(y64)

    if model.kind == "regression" and {"w", "b"} <= names:
        X = _design(model, x64)
        beta, *_ = np.linalg.lstsq(X, y64, rcond=None)
        resid = y64 - X @ beta
        ssr = float(resid @ resid)
        params = _split_coefs(model, beta)
        if loss == "mse":
            p = X.shape[1]
            sigma2 = ssr / (n - p) if n > p else np.nan
            cov = sigma2 * np.linalg.inv(X.T @ X)
            se = np.sqrt(np.diag(cov))
            t = float(special.stdtrit(n - p, 0.975)) if n > p else np.nan
            value = _loss64(model, loss, reduction, _jnp(params), x64, y64)
            return Optimum(
                params,
                float(value),
                "least squares, closed form",
                _split_coefs(model, se),
                _intervals(params, _split_coefs(model, se), t),
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
            )
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
        )
    return _newton(model, loss, reduction, trainable, fixed64, x64, y64, start)


def _jnp(params: dict[str, Any]) -> dict[str, Any]:
    return {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}


def _intervals(
    params: dict[str, np.ndarray], se: dict[str, np.ndarray], q: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {k: (params[k] - q * se[k], params[k] + q * se[k]) for k in params}


def _finish(
    model: Model,
    loss: str,
    reduction: str,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    method: str,
) -> Optimum:
    """Loss at the optimum and likelihood standard errors from the observed
    information (the Hessian of the summed NLL)."""
    value = _loss64(model, loss, reduction, _jnp({**params, **fixed}), x, y)
    se = observed_information_stderr(model, loss, params, fixed, x, y)
    return Optimum(params, float(value), method, se, _intervals(params, se, Z95))


def observed_information_stderr(
    model: Model,
    loss: str,
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
    out, at = {}, 0
    for k, v in params.items():
        size = int(np.size(v))
        out[k] = se[at : at + size].reshape(np.shape(v))
        at += size
    return out


def _newton(
    model: Model,
    loss: str,
    reduction: str,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    start: dict[str, np.ndarray],
) -> Optimum:
    """SciPy's trust-exact on the JAX loss, over log(positive parameters)."""
    from scipy import optimize  # imported here: it is slow to import

    positive = {s.name for s in param_specs(model, loss) if s.constraint == "positive"}
    init = {
        k: np.log(np.asarray(start[k], np.float64))
        if k in positive
        else np.asarray(start[k], np.float64)
        for k in trainable
    }
    flat0, unravel = ravel_pytree(_jnp(init))
    fixed_j = _jnp(fixed)

    def to_params(v: Any) -> dict[str, Any]:
        p = unravel(v)
        return {k: jnp.exp(p[k]) if k in positive else p[k] for k in p}

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
    )
