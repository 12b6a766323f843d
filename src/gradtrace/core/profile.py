"""Profile-likelihood intervals: for each parameter (each element of a vector), the
values at which the likelihood ratio test against the optimum is at its 5% level
(1 - the interval's level), the others re-optimised at every point, as R's
``confint`` gives them for a GLM.

Where the Wald interval (estimate +- 1.96 standard errors, on the log or logit
scale of a positive or (0, 1) parameter) rests on the log-likelihood being a
parabola around the optimum, the profile follows it as it is: a probability near 0
whose logit is poorly determined gets an interval that reaches 0, not one of 20
times the width. The interval of parameter j is

    { t : 2 (min over the others of NLL(t, others) - NLL at the optimum) <= q },

q = 3.841 for 95% (the chi-squared(1) quantile at the level), found by bracketing
and Brent's method on the scale the solver uses (log for positive, logit for (0, 1)
parameters). A side on which the profile never rises that far, within ``REACH``
standard errors, is open: the interval runs to the edge of the parameter's range (0
or 1; infinity for a real one), as the data cannot rule out the values beyond.

Runs in float64 on data in memory (the caller enables JAX's x64).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gradtrace.core import compiler
from gradtrace.core.bijections import to_constrained, to_unconstrained
from gradtrace.core.catalog import Model
from gradtrace.core.exact import z_quantile
from gradtrace.core.losses import LossLike, param_specs, row_losses

#: The chi-squared quantile with one degree of freedom at 95%: the likelihood
#: ratio statistic's bound.
CHI2_95 = 3.841458820694124


def bound(level: float) -> float:
    """The likelihood ratio statistic's bound for an interval holding ``level``:
    the chi-squared(1) quantile there, the square of the normal's at (1 + level) /
    2 (3.841 for 0.95)."""
    return CHI2_95 if level == 0.95 else z_quantile(level) ** 2


#: How far, in standard errors of the solver's scale, a side of the profile is
#: followed before the interval is called open on that side.
REACH = 60.0

#: The profile's own tolerance: each end is found to this share of a standard
#: error (on the solver's scale).
XTOL = 1e-6


def intervals(
    model: Model,
    loss: LossLike,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: np.ndarray,
    optimum: dict[str, np.ndarray],
    level: float = 0.95,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[tuple[str, str]]]:
    """Each trainable parameter's profile-likelihood interval (low, high) holding
    ``level`` (0.95: the 95% interval), shaped as the parameter, from the summed
    negative log-likelihood of ``loss`` (a likelihood's ``nll``) at
    ``optimum``; and the open ends, (flat name,
    "below" or "above"), where the profile stays under the bound out to
    ``REACH`` standard errors. Raises ValueError where the information at the
    optimum is not positive definite (no interval to start from)."""
    setup = _Setup(model, loss, trainable, fixed, x, y, optimum)
    k = len(setup.best)
    lows, highs = np.empty(k), np.empty(k)
    q = bound(level)
    for j in range(k):
        lows[j], highs[j] = setup.end(j, -1.0, q), setup.end(j, 1.0, q)
    labels = [
        name if np.size(setup.start[name]) == 1 else f"{name}[{i}]"
        for name in sorted(setup.start)  # ravel_pytree's order: the names sorted
        for i in range(np.size(setup.start[name]))
    ]
    opened = [(labels[j], "below") for j in range(k) if np.isinf(lows[j])]
    opened += [(labels[j], "above") for j in range(k) if np.isinf(highs[j])]
    low_p, high_p = setup.unravel(jnp.asarray(lows)), setup.unravel(jnp.asarray(highs))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in trainable:
        c = setup.constraints[name]
        with np.errstate(all="ignore"):
            a = np.asarray(to_constrained(low_p[name], c), np.float64)
            b = np.asarray(to_constrained(high_p[name], c), np.float64)
        out[name] = (np.minimum(a, b), np.maximum(a, b))
    return out, opened


def combination(
    model: Model,
    loss: LossLike,
    trainable: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: np.ndarray,
    optimum: dict[str, np.ndarray],
    weights: dict[str, np.ndarray],
    level: float = 0.95,
) -> tuple[float, float]:
    """The profile-likelihood interval (holding ``level``) of a linear
    combination of real-valued trainable parameters, sum over k of ``weights[k] *
    parameter k`` (shaped as each; parameters not named weigh 0), one of whose
    weights is 1 (an intercept in x's own units: b - sum of w * center / spread).
    The parameters are taken anew as that combination and the others, a linear
    change of variables whose profile along the combination is the interval (-inf
    or inf on an open side). Raises ValueError as ``intervals`` does."""
    setup = _Setup(model, loss, trainable, fixed, x, y, optimum)
    row = np.asarray(
        ravel_pytree(
            {
                k: jnp.asarray(weights.get(k, np.zeros(np.shape(v))), jnp.float64)
                for k, v in setup.start.items()
            }
        )[0],
        np.float64,
    )
    ones = np.flatnonzero(row == 1.0)
    if not len(ones):
        raise ValueError("a combination profiled needs a weight of 1")
    j = int(ones[0])
    # new coordinates: the combination in place j, the others as they are
    to_new = np.eye(len(row))
    to_new[j] = row
    turned = _Setup.turned(setup, np.linalg.inv(to_new), to_new)
    q = bound(level)
    return turned.end(j, -1.0, q), turned.end(j, 1.0, q)


class _Setup:
    """The summed NLL on the solver's scale (log or logit of constrained
    parameters), its optimum ``best``, the lowest value ``low`` and the standard
    errors ``scale`` from the curvature there; ``end`` follows a coordinate's
    profile to the bound."""

    def __init__(
        self,
        model: Model,
        loss: LossLike,
        trainable: tuple[str, ...],
        fixed: dict[str, np.ndarray],
        x: np.ndarray | None,
        y: np.ndarray,
        optimum: dict[str, np.ndarray],
    ) -> None:
        constraints = {s.name: s.constraint for s in param_specs(model, loss)}
        self.constraints = constraints
        self.start = {
            k: np.asarray(to_unconstrained(optimum[k], constraints[k]), np.float64)
            for k in trainable
        }
        flat0, unravel = ravel_pytree(
            {k: jnp.asarray(v) for k, v in self.start.items()}
        )
        self.unravel = unravel
        held = {k: jnp.asarray(v) for k, v in fixed.items()}
        xs = None if x is None else jnp.asarray(x, jnp.float64)
        ys = jnp.asarray(y, jnp.float64)

        def nll(v: Any) -> Any:
            p = unravel(v)
            params = {k: to_constrained(p[k], constraints[k]) for k in p}
            return jnp.sum(row_losses(model, loss, {**params, **held}, xs, ys))

        self._fit(nll, np.asarray(flat0, np.float64))

    @classmethod
    def turned(cls, old: _Setup, back: np.ndarray, ahead: np.ndarray) -> _Setup:
        """``old`` in coordinates ``ahead @ v`` (``back`` its inverse)."""
        new = cls.__new__(cls)
        new.constraints, new.start, new.unravel = (
            old.constraints,
            old.start,
            old.unravel,
        )
        inverse = jnp.asarray(back)
        new._fit(lambda u: old.nll(inverse @ u), ahead @ old.best)
        return new

    def _fit(self, nll: Any, best: np.ndarray) -> None:
        self.nll = nll
        self.best = best
        self.value_and_grad = compiler.jit(jax.value_and_grad(nll))
        self.hess = compiler.jit(jax.hessian(nll))
        self.low = float(self.value_and_grad(jnp.asarray(best))[0])
        curvature = np.asarray(self.hess(jnp.asarray(best)), np.float64)
        try:
            cov = np.linalg.inv(curvature)
        except np.linalg.LinAlgError:
            raise ValueError("the information at the optimum is singular") from None
        with np.errstate(invalid="ignore"):  # a negative variance: said below
            scale = np.sqrt(np.diag(cov))
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError("the information at the optimum is not positive definite")
        self.scale = scale

    def profile(self, j: int, t: float, guess: np.ndarray) -> tuple[float, np.ndarray]:
        """The lowest NLL with coordinate j held at t, and where (the others)."""
        from scipy import optimize

        k = len(self.best)
        others = [i for i in range(k) if i != j]

        def full(u: np.ndarray) -> np.ndarray:
            v = np.empty(k)
            v[others] = u
            v[j] = t
            return v

        if not others:
            value = float(self.value_and_grad(jnp.asarray(full(np.empty(0))))[0])
            return value, guess

        def f(u: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self.value_and_grad(jnp.asarray(full(u)))
            return float(value), np.asarray(grad, np.float64)[others]

        def h(u: np.ndarray) -> np.ndarray:
            return np.asarray(self.hess(jnp.asarray(full(u))), np.float64)[
                np.ix_(others, others)
            ]

        with np.errstate(all="ignore"):
            found = optimize.minimize(
                f,
                guess,
                jac=True,
                hess=h,
                method="trust-exact",
                options={"gtol": 1e-9, "maxiter": 200},
            )
        return float(found.fun), np.asarray(found.x)

    def end(self, j: int, sign: float, q: float = CHI2_95) -> float:
        """The profile's end on one side of coordinate j (the solver's scale),
        where twice the NLL's rise reaches ``q``; +-inf where it stays below
        within REACH standard errors."""
        from scipy import optimize

        best, scale = self.best, self.scale
        others = [i for i in range(len(best)) if i != j]
        guesses: dict[float, np.ndarray] = {0.0: best[others]}

        def excess(step: float) -> float:
            # warm-started from the nearest point profiled so far
            near = min(guesses, key=lambda s: abs(s - step))
            value, where = self.profile(
                j, best[j] + sign * step * scale[j], guesses[near]
            )
            guesses[step] = where
            if not math.isfinite(value):
                # beyond where the likelihood is defined: outside, and finite
                # for Brent's method (an infinite end gives it NaN steps)
                return 1e12
            return 2.0 * (value - self.low) - q

        inside = 0.0
        for step in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, REACH):
            if excess(step) > 0:
                root = optimize.brentq(excess, inside, step, xtol=XTOL)
                return float(best[j] + sign * root * scale[j])
            inside = step
        return sign * math.inf
