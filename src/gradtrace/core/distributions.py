"""Distribution families fitted to y by negative log-likelihood.

Log-densities come from ``jax.scipy.stats``, which is part of JAX (nothing more to
install or import) and follows ``scipy.stats``'s parameterisation exactly, so a fit can
be checked against ``scipy.stats.fit`` directly. The log-normal, the Weibull and the
two-normal mixture are a line or two on top of it. ``normal`` keeps its own formula,
written as PyTorch writes it, so the seeds' numbers reproduce to the last digit.

Each family names its parameters (with their constraints and documented defaults),
the support of its data (checked before training), and a starting point computed from
the data by the method of moments, which the exact solver starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy import stats
from jax.scipy.special import gammaln, logsumexp

from gradtrace.core.models import LOG_SQRT_2PI, Params, ParamSpec, normal_log_prob

#: What y must be for each support: a test on a NumPy array and the words for it.
SUPPORTS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "real": (lambda y: np.ones(y.shape, bool), "any number"),
    "positive": (lambda y: y > 0, "positive numbers"),
    "nonnegative": (lambda y: y >= 0, "numbers >= 0"),
    "unit": (lambda y: (y > 0) & (y < 1), "numbers strictly between 0 and 1"),
    "binary": (lambda y: (y == 0) | (y == 1), "0 or 1"),
    "count": (lambda y: (y >= 0) & (y == np.round(y)), "whole numbers >= 0"),
}


@dataclass(frozen=True)
class Family:
    """A distribution family: parameters, data support and log-density."""

    name: str
    doc: str
    specs: tuple[ParamSpec, ...]
    support: str
    log_density: Callable[[Params, Array], Array]
    guess: Callable[[np.ndarray, dict[str, float]], dict[str, float]]
    discrete: bool = False
    kind = "distribution"
    n_features = 0

    def param_specs(self) -> tuple[ParamSpec, ...]:
        return self.specs

    def log_prob(self, params: Params, y: Array) -> Array:
        """The log-density (or log-mass) of each y: [n] -> [n]; not a number where
        a parameter lies outside its range and its closed edge (a rate below 0, a
        probability above 1), where formulas such as Poisson's y log(rate) - rate
        would still give a number (at y = 0: -rate, a likelihood above 1)."""
        lp = self.log_density(params, y)
        outside = [
            jnp.any(~_closed(params[s.name], s.constraint))
            for s in self.specs
            if s.constraint in ("positive", "unit") and s.name in params
        ]
        if not outside:
            return lp
        return jnp.where(jnp.any(jnp.stack(outside)), jnp.nan, lp)

    def options(self) -> dict[str, Any]:
        """Nothing besides the name rebuilds a family."""
        return {}

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Family) and other.name == self.name


@dataclass(frozen=True, eq=False)
class CustomFamily(Family):
    """A distribution of the user's own (``gradtrace.Distribution``): its
    ``log_density(params, y)`` written with ``jax.numpy``. Two are the same only
    where their functions are (compiled programs are cached by model)."""

    source: dict[str, Any] | None = None

    def __hash__(self) -> int:
        return hash((self.log_density, self.specs, self.name, self.support))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CustomFamily)
            and other.log_density is self.log_density
            and (other.specs, other.name, other.support)
            == (self.specs, self.name, self.support)
        )

    def options(self) -> dict[str, Any]:
        return dict(self.source or {})


def _closed(value: Any, constraint: str) -> Array:
    """Whether ``value`` lies in its constraint's set or on its edge: >= 0, or in
    [0, 1] (at the edge a likelihood has its limit, 0 or -inf)."""
    v = jnp.asarray(value)
    if constraint == "unit":
        return (v >= 0) & (v <= 1)
    return v >= 0


def _p(name: str, default: float, constraint: Any = "real", doc: str = "") -> ParamSpec:
    return ParamSpec(name, default, constraint, doc=doc)


def _moments(y: np.ndarray) -> tuple[float, float]:
    return float(np.mean(y)), float(np.std(y)) or 1.0


def _lognormal(p: Params, y: Array) -> Array:
    logy = jnp.log(y)
    return normal_log_prob(logy, p["loc"], p["scale"]) - logy


def _weibull(p: Params, y: Array) -> Array:
    k, lam = p["shape"], p["scale"]
    z = y / lam
    return jnp.log(k / lam) + (k - 1) * jnp.log(z) - z**k


def _mixture(p: Params, y: Array) -> Array:
    w = p["weight"]
    first = jnp.log(w) + normal_log_prob(y, p["loc1"], p["scale1"])
    second = jnp.log1p(-w) + normal_log_prob(y, p["loc2"], p["scale2"])
    return logsumexp(jnp.stack([first, second]), axis=0)


def _guess_mixture(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    lo, hi = np.quantile(y, [0.25, 0.75])
    spread = float(np.std(y)) / 2 or 1.0
    return {"weight": 0.5, "loc1": lo, "scale1": spread, "loc2": hi, "scale2": spread}


def _guess_gamma(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    m, s = _moments(y)
    return {"shape": m**2 / s**2, "rate": m / s**2}


def _guess_beta(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    m, s = _moments(y)
    common = max(m * (1 - m) / s**2 - 1, 1e-3)
    return {"alpha": m * common, "beta": (1 - m) * common}


def _guess_weibull(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    m, s = _moments(y)
    k = max((s / m) ** -1.086, 0.1)  # Justus's approximation
    return {"shape": k, "scale": m}


def _guess_t(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    med = float(np.median(y))
    mad = float(np.median(np.abs(y - med))) or 1.0
    return {"df": 5.0, "loc": med, "scale": mad * 1.4826}


def _guess_binomial(y: np.ndarray, known: dict[str, float]) -> dict[str, float]:
    n = known.get("n", max(float(np.max(y)), 1.0))
    return {"p": float(np.clip(np.mean(y) / n, 1e-3, 1 - 1e-3))}


def _guess_laplace(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    med = float(np.median(y))
    return {"loc": med, "scale": float(np.mean(np.abs(y - med))) or 1.0}


def _guess_cauchy(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    lo, med, hi = np.quantile(y, [0.25, 0.5, 0.75])
    return {"loc": float(med), "scale": float(hi - lo) / 2 or 1.0}


def _negative_binomial(p: Params, y: Array) -> Array:
    """log P(y) of a negative binomial of mean ``mean`` and size ``size`` (R's
    ``dnbinom(y, size, mu = mean)``; scipy's ``nbinom(size, size / (size + mean))``),
    its logs taken apart so that a large size loses nothing to 1 - p."""
    m, r = p["mean"], p["size"]
    both = jnp.log(r + m)
    return (
        gammaln(y + r)
        - gammaln(r)
        - gammaln(y + 1)
        + r * (jnp.log(r) - both)
        + y * (jnp.log(m) - both)
    )


#: A negative binomial's size where the counts spread no more than a Poisson's
#: (its likelihood then rises toward Poisson's as the size grows without end)
POISSON_LIKE_SIZE = 1000.0


def _guess_negative_binomial(y: np.ndarray, _: dict[str, float]) -> dict[str, float]:
    mean, var = max(float(np.mean(y)), 1e-3), float(np.var(y))
    size = mean**2 / (var - mean) if var > 1.01 * mean else POISSON_LIKE_SIZE
    return {"mean": mean, "size": min(size, POISSON_LIKE_SIZE)}


def _clip01(v: float) -> float:
    return float(np.clip(v, 1e-3, 1 - 1e-3))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "normal",
            "y ~ Normal(loc, scale): mean and standard deviation",
            (
                _p("loc", 0.0, doc="mean"),
                _p("scale", 1.0, "positive", "standard deviation"),
            ),
            "real",
            lambda p, y: normal_log_prob(y, p["loc"], p["scale"]),
            lambda y, _: dict(zip(("loc", "scale"), _moments(y), strict=True)),
        ),
        Family(
            "lognormal",
            "log y ~ Normal(loc, scale): y positive, skewed to the right",
            (
                _p("loc", 0.0, doc="mean of log y"),
                _p("scale", 1.0, "positive", "standard deviation of log y"),
            ),
            "positive",
            _lognormal,
            lambda y, _: dict(zip(("loc", "scale"), _moments(np.log(y)), strict=True)),
        ),
        Family(
            "exponential",
            "y ~ Exponential(rate): waiting times, mean 1/rate",
            (_p("rate", 1.0, "positive", "events per unit of y"),),
            "nonnegative",
            lambda p, y: stats.expon.logpdf(y, scale=1 / p["rate"]),
            lambda y, _: {"rate": 1 / max(float(np.mean(y)), 1e-12)},
        ),
        Family(
            "gamma",
            "y ~ Gamma(shape, rate): positive, mean shape/rate",
            (
                _p("shape", 1.0, "positive", "shape (concentration)"),
                _p("rate", 1.0, "positive", "rate (1/scale)"),
            ),
            "positive",
            lambda p, y: stats.gamma.logpdf(y, p["shape"], scale=1 / p["rate"]),
            _guess_gamma,
        ),
        Family(
            "beta",
            "y ~ Beta(alpha, beta): proportions strictly between 0 and 1",
            (
                _p("alpha", 1.0, "positive", "first shape"),
                _p("beta", 1.0, "positive", "second shape"),
            ),
            "unit",
            lambda p, y: stats.beta.logpdf(y, p["alpha"], p["beta"]),
            _guess_beta,
        ),
        Family(
            "poisson",
            "y ~ Poisson(rate): counts, mean rate",
            (_p("rate", 1.0, "positive", "mean count"),),
            "count",
            lambda p, y: stats.poisson.logpmf(y, p["rate"]),
            lambda y, _: {"rate": max(float(np.mean(y)), 1e-3)},
            discrete=True,
        ),
        Family(
            "negative-binomial",
            "y ~ NegativeBinomial(mean, size): counts more spread than Poisson's, "
            "variance mean + mean^2/size",
            (
                _p("mean", 1.0, "positive", "mean count"),
                _p("size", 1.0, "positive", "size (1/dispersion; R's size)"),
            ),
            "count",
            _negative_binomial,
            _guess_negative_binomial,
            discrete=True,
        ),
        Family(
            "binomial",
            "y ~ Binomial(n, p): successes out of n known trials (--fix n=...)",
            (
                ParamSpec(
                    "n", 1.0, "count", doc="number of trials (known)", known=True
                ),
                _p("p", 0.5, "unit", "probability of success"),
            ),
            "count",
            lambda p, y: stats.binom.logpmf(y, p["n"], p["p"]),
            _guess_binomial,
            discrete=True,
        ),
        Family(
            "bernoulli",
            "y ~ Bernoulli(p): 0/1 outcomes",
            (_p("p", 0.5, "unit", "probability of a 1"),),
            "binary",
            lambda p, y: stats.bernoulli.logpmf(y, p["p"]),
            lambda y, _: {"p": _clip01(float(np.mean(y)))},
            discrete=True,
        ),
        Family(
            "student-t",
            "y ~ StudentT(df, loc, scale): heavy tails",
            (
                _p("df", 5.0, "positive", "degrees of freedom"),
                _p("loc", 0.0, doc="centre"),
                _p("scale", 1.0, "positive", "scale"),
            ),
            "real",
            lambda p, y: stats.t.logpdf(y, p["df"], p["loc"], p["scale"]),
            _guess_t,
        ),
        Family(
            "laplace",
            "y ~ Laplace(loc, scale): double exponential, median loc",
            (_p("loc", 0.0, doc="median"), _p("scale", 1.0, "positive", "scale")),
            "real",
            lambda p, y: stats.laplace.logpdf(y, p["loc"], p["scale"]),
            _guess_laplace,
        ),
        Family(
            "cauchy",
            "y ~ Cauchy(loc, scale): very heavy tails, no mean",
            (_p("loc", 0.0, doc="median"), _p("scale", 1.0, "positive", "half width")),
            "real",
            lambda p, y: stats.cauchy.logpdf(y, p["loc"], p["scale"]),
            _guess_cauchy,
        ),
        Family(
            "weibull",
            "y ~ Weibull(shape, scale): lifetimes",
            (
                _p("shape", 1.0, "positive", "shape k"),
                _p("scale", 1.0, "positive", "scale lambda"),
            ),
            "nonnegative",
            _weibull,
            _guess_weibull,
        ),
        Family(
            "normal-mixture",
            "y ~ weight*Normal(loc1, scale1) + (1-weight)*Normal(loc2, scale2)",
            (
                _p("weight", 0.5, "unit", "weight of the first normal"),
                _p("loc1", -1.0, doc="mean of the first normal"),
                _p("scale1", 1.0, "positive", "sd of the first normal"),
                _p("loc2", 1.0, doc="mean of the second normal"),
                _p("scale2", 1.0, "positive", "sd of the second normal"),
            ),
            "real",
            _mixture,
            _guess_mixture,
        ),
    )
}

__all__ = ["FAMILIES", "LOG_SQRT_2PI", "SUPPORTS", "Family"]
