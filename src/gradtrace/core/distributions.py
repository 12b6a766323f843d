"""Distribution families fitted to y by negative log-likelihood.

Log-densities come from ``jax.scipy.stats``, which is part of JAX (nothing more to
install or import) and follows ``scipy.stats``'s parameterisation exactly, so a fit can
be checked against ``scipy.stats.fit`` directly. The log-normal, the Weibull and the
two-normal mixture are a line or two on top of it. ``normal`` keeps its own formula,
written as PyTorch writes it, so the seeds' numbers reproduce to the last digit. The
negative binomial has its own too, in Loader's saddle-point form with its derivatives
written out, which float32 keeps to a few ulps at any size (``jax.scipy``'s
difference of log Gammas loses 0.1 at size 1e5).

Each family names its parameters (with their constraints and documented defaults),
the support of its data (checked before training), and a starting point computed from
the data by the method of moments, which the exact solver starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.scipy import stats
from jax.scipy.special import digamma, gammaln, logsumexp

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
        # a NaN added, not a select over the rows: the select's pass over them
        # (and its gradient's) took seed 002's steps from 3.6 to 9.6 us
        bad = jnp.where(jnp.any(jnp.stack(outside)), jnp.nan, 0.0)
        return lp + bad.astype(lp.dtype)

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

    def __repr__(self) -> str:
        starts = ", ".join(s.described() for s in self.specs)
        words = SUPPORTS.get(self.support, (None, self.support))[1]
        return f"<gradtrace.Distribution {self.name!r}: {starts}; y: {words}>"


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


#: Stirling's series for log Gamma(z + 1) - (z + 1/2) log z + z - log sqrt(2 pi):
#: the coefficients of 1/z, 1/z^3, ..., 1/z^15 (B_2k / (2k (2k - 1)))
STIRLING = (
    1 / 12,
    -1 / 360,
    1 / 1260,
    -1 / 1680,
    1 / 1188,
    -691 / 360360,
    1 / 156,
    -3617 / 122400,
)

#: The z from which Stirling's and digamma's series are summed, by float bits:
#: there the first term left out is below 1e-8 (float32) or 4e-18 (float64).
#: Below it float64 takes log Gamma and digamma (within 1e-14); float32, whose
#: log Gamma is off by up to 3e-6 under 4, steps up to it (``stirling_step``).
STIRLING_FROM = {32: 3.0, 64: 10.0}

#: The terms of ``STIRLING`` summed, by float bits (float32's sixth is 1e-8 at 3)
STIRLING_TERMS = {32: 5, 64: 8}

#: The terms of ``stirling_step``'s and ``tail_step``'s series in float32 (from
#: w = 1, t = 1/3 at most: the first left out below 1e-8 of the sum)
STEP_TERMS = 9


def _bits(a: Array) -> int:
    return int(jnp.finfo(a.dtype).bits)


def stirling_series(z: Array) -> Array:
    """``stirling_error`` for z from ``STIRLING_FROM`` on: its series in 1/z."""
    w = 1 / (z * z)
    series = jnp.zeros_like(z)
    for c in reversed(STIRLING[: STIRLING_TERMS[_bits(z)]]):
        series = series * w + c
    return series / z


def _odd_series(t: Array, coefficient: Callable[[int], float]) -> Array:
    """sum over k >= 1 of coefficient(k) t^(2k), ``STEP_TERMS`` of them."""
    w = t * t
    total = jnp.zeros_like(w)
    for k in range(STEP_TERMS, 0, -1):
        total = total * w + coefficient(k)
    return total * w


def stirling_step(w: Array) -> Array:
    """stirling_error(w) - stirling_error(w + 1) = (w + 1/2) log1p(1/w) - 1, for
    w > 0: from w = 1 on as atanh(t)/t - 1 = t^2/3 + t^4/5 + ..., t = 1/(2w + 1),
    which loses nothing to the 1 taken off."""
    near = w < 1
    ws = jnp.where(near, w, 1.0)  # each branch at a safe value where unused
    t = 1 / (2 * jnp.where(near, 1.0, w) + 1)
    series = _odd_series(t, lambda k: 1 / (2 * k + 1))
    return jnp.where(near, (ws + 0.5) * jnp.log1p(1 / ws) - 1, series)


def tail_step(w: Array) -> Array:
    """tail(w) - tail(w + 1), tail(z) = log z - 1/(2 z) - digamma(z) (minus the
    derivative of ``stirling_error``), for w > 0: (w + 1/2) / (w (w + 1)) -
    log1p(1/w), from w = 1 on as 4 (t^3/3 + 2 t^5/5 + 3 t^7/7 + ...), t = 1/(2w +
    1), which loses nothing to the difference."""
    near = w < 1
    ws = jnp.where(near, w, 1.0)  # each branch at a safe value where unused
    t = 1 / (2 * jnp.where(near, 1.0, w) + 1)
    series = 4 * t * _odd_series(t, lambda k: k / (2 * k + 1))
    direct = (ws + 0.5) / (ws * (ws + 1)) - jnp.log1p(1 / ws)
    return jnp.where(near, direct, series)


def stirling_error(z: Array) -> Array:
    """log Gamma(z + 1) - (z + 1/2) log z + z - log sqrt(2 pi) for z > 0 (0 at
    infinity): what Stirling's formula leaves out, about 1/(12 z) (Loader's
    stirlerr)."""
    start = STIRLING_FROM[_bits(z)]
    big = z >= start
    zs = jnp.where(big, 1.0, z)  # each branch at a safe value where unused
    if _bits(z) == 64:
        small = gammaln(zs + 1) - (zs + 0.5) * jnp.log(zs) + zs - LOG_SQRT_2PI
    else:  # stepped up to the series
        small = stirling_series(zs + start)
        for j in range(int(start)):
            small = small + stirling_step(zs + j)
    return jnp.where(big, stirling_series(jnp.where(big, z, start)), small)


def _either(pred: Array, yes: Callable[[], Array], no: Callable[[], Array]) -> Array:
    """``yes()`` where ``pred`` holds, else ``no()``: only the one taken is
    computed where ``pred`` is one value (a scalar size), both otherwise."""
    if jnp.ndim(pred) == 0:
        return lax.cond(pred, yes, no)
    return jnp.where(pred, yes(), no())


#: |v| below which ``deviance_term`` sums its series in v, by float bits, and
#: the terms it sums: float32's 12 reach v^25 (1e-8 of the first at 0.5),
#: float64's 1e-16 of the first at 0.25. Beyond it the direct form loses at most
#: a factor 2.5 (float32) or 4.6 to cancellation.
SERIES_V = {32: 0.5, 64: 0.25}
DEVIANCE_TERMS = 12


def deviance_term(x: Array, ratio: Array, diff: Array) -> Array:
    """x log(x / M) + M - x for x > 0 (infinite too, where x - M is finite),
    M > 0 (Loader's bd0), from ``ratio`` = x / M and ``diff`` = x - M, each
    computed without subtracting nearly equal numbers: near x = M a series in
    v = (x - M) / (x + M), else directly."""
    near = jnp.abs(diff) < SERIES_V[_bits(x)] * (2 * x - diff)
    d = jnp.where(near, diff, 0.0)
    xv = d / (2 - d / x)  # x v
    v = xv / x
    w = v * v
    tail = jnp.zeros_like(w)
    for j in reversed(range(DEVIANCE_TERMS)):
        tail = tail * w + 1 / (2 * j + 3)
    series = d * v + 2 * xv * w * tail
    direct = x * jnp.log(jnp.where(near, 1.0, ratio)) - jnp.where(near, 0.0, diff)
    return jnp.where(near, series, direct)


def digamma_tail_gap(r: Array, y: Array) -> Array:
    """tail(r + y) - tail(r), tail(z) = log z - 1/(2 z) - digamma(z) by its
    asymptotic series (z from ``STIRLING_FROM``), sum_k c_k (2k - 1) / z^2k with
    c_k ``STIRLING``'s: each a^k - b^k (a = 1 / (r + y)^2, b = 1 / r^2) as
    (a - b)(a^(k-1) + a^(k-2) b + ... + b^(k-1)), so that it is exactly 0 at y = 0
    and loses nothing to the difference of two nearly equal tails."""
    n = r + y
    a, b = 1 / (n * n), 1 / (r * r)
    total, h, b_power = jnp.zeros_like(a), jnp.ones_like(a), jnp.ones_like(a)
    for k, c in enumerate(STIRLING):
        total = total + c * (2 * k + 1) * h
        b_power = b_power * b
        h = a * h + b_power
    grown = y / r  # n = r (1 + y / r): no inf / inf at r = infinity
    return -(grown / (1 + grown)) * (1 + 1 / (1 + grown)) * b * total


def _negative_binomial(p: Params, y: Array) -> Array:
    """log P(y) of a negative binomial of mean ``mean`` and size ``size`` (R's
    ``dnbinom(y, size, mu = mean)``; scipy's ``nbinom(size, size / (size + mean))``).
    Accurate to a few ulps of the result in float32 for any size, it tends to the
    Poisson's log P(y) as the size grows, and is the Poisson's at size infinity
    (``_nb_log_mass``)."""
    dtype = jnp.result_type(p["mean"], p["size"], y)
    m, r = jnp.asarray(p["mean"], dtype), jnp.asarray(p["size"], dtype)
    return _nb_log_mass(m, r, jnp.asarray(y, dtype))


@jax.custom_jvp
def _nb_log_mass(m: Array, r: Array, y: Array) -> Array:
    """log P(y) of a negative binomial of mean m and size r, as (r / n) times a
    binomial's P(y of n = y + r trials) in Loader's saddle-point form, so that no
    two large terms cancel (log Gamma(y + r) - log Gamma(r) lost 1e-3 in float32
    at size 1000, 0.1 at 1e5). Written with m / r and y / r, not r / (r + m), so
    that r = infinity gives the Poisson's. Its derivatives are written out (the
    JVP below)."""
    positive = y > 0
    k = jnp.where(positive, y, 1.0)  # y = 0 takes the other branch
    spread, grown = m / r, k / r
    share = 1 / (1 + spread)  # the binomial's p = r / (r + m)
    gap = (k - m) * share  # k - n q, and r - n p is minus it (n = k + r)
    start = STIRLING_FROM[_bits(r)]
    # n = k + r >= r: the series alone from r = start on
    of_n = _either(
        jnp.all(r >= start),
        lambda: stirling_series(k + jnp.maximum(r, start)),
        lambda: stirling_error(k + r),
    )
    at_least_one = (
        of_n
        - stirling_error(k)
        - stirling_error(r)
        - deviance_term(k, k * (1 + spread) / (m * (1 + grown)), gap)
        - deviance_term(r, (1 + spread) / (1 + grown), -gap)
        - 0.5 * (jnp.log1p(grown) + jnp.log(2 * jnp.pi * k))
    )
    # r log p = -r log1p(m / r), -m at r = infinity
    at_zero = jnp.where(jnp.isinf(r), -m, -r * jnp.log1p(spread))
    return jnp.where(positive, at_least_one, at_zero)


@_nb_log_mass.defjvp
def _nb_log_mass_jvp(
    primals: tuple[Array, Array, Array], tangents: tuple[Array, Array, Array]
) -> tuple[Array, Array]:
    """d/dm = (y - m) r / (m (r + m)); d/dr = digamma(y + r) - digamma(r) -
    log1p(m / r) + (m - y) / (r + m), whose terms nearly cancel at a large size.
    It is written as [digamma(n) - digamma(r) - log1p(y / r)] + [log1p(u) - u],
    n = y + r, u = (y - m) / (r + m), the first y / (2 r n) - tail(n) + tail(r)
    at a large size (``digamma_tail_gap``). No derivative in y (a count): taken
    as 0."""
    m, r, y = primals
    dm, dr, _ = tangents
    value = _nb_log_mass(m, r, y)
    share = 1 / (1 + m / r)
    by_mean = (y - m) * share / m
    start = STIRLING_FROM[_bits(r)]
    big = r >= start
    rb = jnp.where(big, r, start)  # each branch at a safe value where unused
    rs = jnp.where(big, 1.0, r)
    gamma_part = _either(
        big,
        lambda: (y / rb) / (2 * (y + rb)) - digamma_tail_gap(rb, y),
        lambda: _small_size_part(rs, y, start),
    )
    u = (y - m) * share / r
    # log1p(u) - u is minus x log(x / M) + M - x at x = 1, M = 1 + u
    ratio = (1 + m / r) / (1 + y / r)
    by_size = gamma_part - deviance_term(jnp.ones_like(u), ratio, -u)
    return value, by_mean * dm + by_size * dr


def _small_size_part(r: Array, y: Array, start: float) -> Array:
    """digamma(y + r) - digamma(r) - log1p(y / r) for r below ``start``: float64
    takes digamma; float32's digamma is off by up to 1e-6, and the difference
    nearly cancels at y = 1, so it is y / (2 r n) + tail(r) - tail(n), n = y + r,
    each tail stepped up to ``start`` (``tail_step``), where their difference is
    ``digamma_tail_gap``'s."""
    if _bits(r) == 64:
        return digamma(y + r) - digamma(r) - jnp.log1p(y / r)
    n = y + r
    part = (y / r) / (2 * n) - digamma_tail_gap(r + start, y)
    for j in range(int(start)):
        part = part + tail_step(r + j) - tail_step(n + j)
    return part


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
            # not >= 0: a y of 0 makes the likelihood infinite for every shape
            # below 1, so no best fit exists with one
            "positive",
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
