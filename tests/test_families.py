"""Distribution families: each optimum agrees with scipy.stats's fit (or an
independent EM for the mixture), and its standard errors with the Fisher
information (analytic where it has a closed form, else a finite-difference Hessian
of scipy.stats's own log-density)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

import gradtrace
from gradtrace.core.distributions import FAMILIES
from gradtrace.core.exact import solve
from helpers import fd_hessian

N = 2000
RNG = np.random.default_rng(7)


def tight(func: Any, x0: Any, args: Any = (), disp: int = 0) -> Any:
    """scipy's fit with a tight Nelder-Mead, so it is a reference to 1e-6."""
    return optimize.fmin(
        func, x0, args, xtol=1e-10, ftol=1e-12, maxiter=20000, maxfun=40000, disp=0
    )


def _discrete(dist: Any, y: np.ndarray, bounds: dict[str, Any]) -> dict[str, float]:
    def seeded(fun: Any, bounds: Any, *, integrality: Any) -> Any:
        # stats.fit's default differential evolution draws unseeded: one run in
        # many stopped 1.4e-4 off
        return optimize.differential_evolution(
            fun, bounds, integrality=integrality, seed=0, tol=1e-10
        )

    res = stats.fit(dist, y, bounds=bounds, optimizer=seeded)
    return dict(zip(bounds, res.params, strict=False))


def _negative_binomial_fit(y: np.ndarray) -> dict[str, float]:
    """The maximum-likelihood mean and size of scipy.stats's nbinom (its n the
    size, its p size / (size + mean)), by Nelder-Mead over their logs."""

    def nll(v: np.ndarray) -> float:
        mean, size = np.exp(v)
        return -float(np.sum(stats.nbinom.logpmf(y, size, size / (size + mean))))

    start = np.log([np.mean(y), 1.0])
    options = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    found = optimize.minimize(nll, start, method="Nelder-Mead", options=options)
    mean, size = np.exp(found.x)
    return {"mean": float(mean), "size": float(size)}


# name -> (sample, known fixed params, scipy reference fit, scipy logpdf of our params)
CASES: dict[str, Any] = {
    "normal": (
        RNG.normal(2.0, 1.5, N),
        {},
        lambda y: dict(zip(("loc", "scale"), stats.norm.fit(y), strict=True)),
        lambda p, y: stats.norm.logpdf(y, p["loc"], p["scale"]),
    ),
    "lognormal": (
        RNG.lognormal(0.5, 0.7, N),
        {},
        lambda y: (lambda s, _, sc: {"loc": np.log(sc), "scale": s})(
            *stats.lognorm.fit(y, floc=0)
        ),
        lambda p, y: stats.lognorm.logpdf(y, p["scale"], scale=np.exp(p["loc"])),
    ),
    "exponential": (
        RNG.exponential(0.5, N),
        {},
        lambda y: {"rate": 1 / stats.expon.fit(y, floc=0)[1]},
        lambda p, y: stats.expon.logpdf(y, scale=1 / p["rate"]),
    ),
    "gamma": (
        RNG.gamma(3.0, 0.5, N),
        {},
        lambda y: (lambda a, _, sc: {"shape": a, "rate": 1 / sc})(
            *stats.gamma.fit(y, floc=0)
        ),
        lambda p, y: stats.gamma.logpdf(y, p["shape"], scale=1 / p["rate"]),
    ),
    "beta": (
        RNG.beta(2.0, 5.0, N),
        {},
        lambda y: dict(
            zip(("alpha", "beta"), stats.beta.fit(y, floc=0, fscale=1)[:2], strict=True)
        ),
        lambda p, y: stats.beta.logpdf(y, p["alpha"], p["beta"]),
    ),
    "poisson": (
        RNG.poisson(4.2, N).astype(float),
        {},
        lambda y: {"rate": _discrete(stats.poisson, y, {"mu": (0, 50)})["mu"]},
        lambda p, y: stats.poisson.logpmf(y, p["rate"]),
    ),
    "negative-binomial": (
        RNG.negative_binomial(2.5, 2.5 / (2.5 + 4.0), N).astype(float),
        {},
        lambda y: _negative_binomial_fit(y),
        lambda p, y: stats.nbinom.logpmf(
            y, p["size"], p["size"] / (p["size"] + p["mean"])
        ),
    ),
    "binomial": (
        RNG.binomial(12, 0.3, N).astype(float),
        {"n": 12.0},
        lambda y: {"p": _discrete(stats.binom, y, {"n": (12, 12), "p": (0, 1)})["p"]},
        lambda p, y: stats.binom.logpmf(y, 12, p["p"]),
    ),
    "bernoulli": (
        (RNG.random(N) < 0.35).astype(float),
        {},
        lambda y: {"p": _discrete(stats.bernoulli, y, {"p": (0, 1)})["p"]},
        lambda p, y: stats.bernoulli.logpmf(y, p["p"]),
    ),
    "student-t": (
        RNG.standard_t(4.0, N) * 2.0 + 1.0,
        {},
        lambda y: dict(
            zip(("df", "loc", "scale"), stats.t.fit(y, optimizer=tight), strict=True)
        ),
        lambda p, y: stats.t.logpdf(y, p["df"], p["loc"], p["scale"]),
    ),
    "laplace": (
        RNG.laplace(-1.0, 0.8, N),
        {},
        lambda y: dict(zip(("loc", "scale"), stats.laplace.fit(y), strict=True)),
        lambda p, y: stats.laplace.logpdf(y, p["loc"], p["scale"]),
    ),
    "cauchy": (
        RNG.standard_cauchy(N) * 0.5 + 3.0,
        {},
        lambda y: dict(
            zip(("loc", "scale"), stats.cauchy.fit(y, optimizer=tight), strict=True)
        ),
        lambda p, y: stats.cauchy.logpdf(y, p["loc"], p["scale"]),
    ),
    "weibull": (
        RNG.weibull(1.7, N) * 2.5,
        {},
        lambda y: (lambda c, _, sc: {"shape": c, "scale": sc})(
            *stats.weibull_min.fit(y, floc=0, optimizer=tight)
        ),
        lambda p, y: stats.weibull_min.logpdf(y, p["shape"], scale=p["scale"]),
    ),
}


_OPTIMA: dict[str, Any] = {}


def _case_optimum(name: str) -> Any:
    """The exact solve of ``CASES[name]``, solved once in a test process (a solve
    compiles its programs anew: beta's took 5-7 s)."""
    if name not in _OPTIMA:
        y, known, _, _ = CASES[name]
        _OPTIMA[name] = _optimum(name, y, known)
    return _OPTIMA[name]


def _optimum(name: str, y: np.ndarray, known: dict[str, float]) -> Any:
    family = FAMILIES[name]
    trainable = tuple(s.name for s in family.param_specs() if s.name not in known)
    start = {s.name: np.asarray(s.default) for s in family.param_specs()}
    fixed = {k: np.asarray(v) for k, v in known.items()}
    with jax.enable_x64(True):
        return solve(family, "nll", "mean", trainable, fixed, None, y, start)


SMOOTH = [n for n in CASES if n != "laplace"]


@pytest.mark.parametrize("name", list(CASES))
def test_optimum_agrees_with_scipy_fit_and_its_errors_with_the_observed_information(
    name: str,
) -> None:
    """One solve of each family checked twice: its optimum against scipy.stats's
    fit, and (where the log-density is smooth) its standard errors against the
    numerical observed information (the Hessian of the summed negative
    log-density at the optimum) of scipy.stats's own log-density."""
    y, _, reference, logpdf = CASES[name]
    best = _case_optimum(name)
    expected = reference(y)
    for key, value in expected.items():
        np.testing.assert_allclose(best.params[key], value, rtol=1e-4, err_msg=key)
    if name not in SMOOTH:
        return
    params = {k: float(v) for k, v in best.params.items()}
    expected = _numerical_stderr(logpdf, params, y)
    for key, value in expected.items():
        np.testing.assert_allclose(
            best.stderr[key], value, rtol=2e-3, err_msg=f"standard error of {key}"
        )


def _numerical_stderr(
    logpdf: Any, params: dict[str, float], y: np.ndarray
) -> dict[str, float]:
    """sqrt(diag(inverse of the finite-difference Hessian of -sum logpdf))."""
    names = list(params)
    v0 = np.array([float(params[k]) for k in names])
    h = 1e-4 * np.maximum(np.abs(v0), 1e-2)

    def nll(v: np.ndarray) -> float:
        return -float(np.sum(logpdf(dict(zip(names, v, strict=True)), y)))

    k = len(v0)
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hess[i, j] = (
                nll(v0 + e_i + e_j)
                - nll(v0 + e_i - e_j)
                - nll(v0 - e_i + e_j)
                + nll(v0 - e_i - e_j)
            ) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    return dict(zip(names, se, strict=True))


def test_standard_errors_match_the_analytic_information() -> None:
    """Poisson, exponential, Bernoulli: at the optimum their observed information
    is the expected (Fisher) one, in closed form."""
    best = _case_optimum("poisson")
    rate = float(best.params["rate"])
    np.testing.assert_allclose(best.stderr["rate"], np.sqrt(rate / N), rtol=1e-6)
    best = _case_optimum("exponential")
    rate = float(best.params["rate"])
    np.testing.assert_allclose(best.stderr["rate"], rate / np.sqrt(N), rtol=1e-6)
    best = _case_optimum("bernoulli")
    p = float(best.params["p"])
    np.testing.assert_allclose(best.stderr["p"], np.sqrt(p * (1 - p) / N), rtol=1e-6)
    best = _case_optimum("laplace")
    scale = float(best.params["scale"])
    np.testing.assert_allclose(best.stderr["loc"], scale / np.sqrt(N), rtol=1e-9)


def _em_two_normals(y: np.ndarray) -> dict[str, float]:
    """Expectation-maximisation, an independent route to the mixture's optimum."""
    w, m1, s1, m2, s2 = 0.5, np.quantile(y, 0.25), 1.0, np.quantile(y, 0.75), 1.0
    for _ in range(5000):
        a = w * stats.norm.pdf(y, m1, s1)
        b = (1 - w) * stats.norm.pdf(y, m2, s2)
        r = a / (a + b)
        w_new = r.mean()
        m1 = float(np.sum(r * y) / r.sum())
        m2 = float(np.sum((1 - r) * y) / (1 - r).sum())
        s1 = float(np.sqrt(np.sum(r * (y - m1) ** 2) / r.sum()))
        s2 = float(np.sqrt(np.sum((1 - r) * (y - m2) ** 2) / (1 - r).sum()))
        if abs(w_new - w) < 1e-14:
            break
        w = w_new
    return {"weight": w, "loc1": m1, "scale1": s1, "loc2": m2, "scale2": s2}


def test_mixture_optimum_agrees_with_expectation_maximisation() -> None:
    y = np.concatenate([RNG.normal(-2, 0.7, 600), RNG.normal(3, 1.2, 1400)])
    best = _optimum("normal-mixture", y, {})
    expected = _em_two_normals(y)
    for key, value in expected.items():
        np.testing.assert_allclose(best.params[key], value, rtol=1e-4, err_msg=key)


def test_gradient_fit_of_a_gamma_reaches_the_optimum_and_shows_positive_values() -> (
    None
):
    y = CASES["gamma"][0]
    trace = gradtrace.fit(
        {"y": y},
        model="gamma",
        optimizer="adam",
        lr=0.05,
        steps=3000,
        init={"shape": 1.0, "rate": 1.0},
        param_space="unconstrained",
        dtype="float64",
    )
    assert trace.status == "completed"
    for key, value in trace.info["optimum"].items():
        np.testing.assert_allclose(trace.params[key], value, rtol=1e-3)
    assert (trace.to_pandas()[["shape", "rate"]] > 0).all().all()


def test_a_log_space_rate_rounded_to_0_is_not_told_to_go_unconstrained() -> None:
    """Trained as its log, a rate can still reach 0: exp of a log far below
    float32's range rounds to 0. The run stops there, and is told of a smaller
    rate, not of the --param-space unconstrained it already has (a docs check)."""
    rng = np.random.default_rng(3)
    waits = {"y": rng.exponential(2.0, 500)}
    trace = gradtrace.fit(
        waits, model="exponential", lr=10.0, epochs=50, param_space="unconstrained"
    )
    assert trace.diverged and trace.params["rate"] == 0
    said = trace.message
    assert "rate to 0, outside its support (> 0): trained as its log (or logit)" in said
    assert "float32 rounds it back to the edge; the stable limit is" in said
    assert "unconstrained" not in said


def test_a_step_out_of_the_support_stops_the_run_with_a_hint() -> None:
    y = CASES["exponential"][0]
    trace = gradtrace.fit(
        {"y": y}, model="exponential", lr=20.0, steps=50, init={"rate": 5.0}
    )
    assert trace.diverged
    assert trace.diverged_step == 1
    assert re.search(r"rate to -0\.\d+, outside its support \(> 0\)", trace.message)
    assert "param_space='unconstrained'" in trace.message  # Python's argument
    assert "--param-space unconstrained" in trace.ending()  # the command line's
    same = gradtrace.fit(
        {"y": y},
        model="exponential",
        lr=0.5,
        steps=200,
        init={"rate": 5.0},
        param_space="unconstrained",
    )
    assert not same.diverged
    np.testing.assert_allclose(same.params["rate"], same.info["optimum"]["rate"], 1e-4)


def test_binomial_needs_its_number_of_trials() -> None:
    y = CASES["binomial"][0]
    with pytest.raises(gradtrace.InputError, match=r"fix=\{'n': VALUE\}"):
        gradtrace.fit({"y": y}, model="binomial")
    with pytest.raises(gradtrace.InputError, match="up to n = 5"):
        gradtrace.fit({"y": y}, model="binomial", fix={"n": 5})


@pytest.mark.parametrize(
    ("model", "y", "words"),
    [
        ("poisson", [1.0, 2.5, 3.0], "whole numbers >= 0"),
        ("bernoulli", [0.0, 1.0, 2.0], "0 or 1"),
        ("beta", [0.2, 1.0, 0.5], "strictly between 0 and 1"),
        ("lognormal", [1.0, -1.0, 2.0], "positive numbers"),
    ],
)
def test_data_outside_the_support_is_refused(
    model: str, y: list[float], words: str
) -> None:
    with pytest.raises(gradtrace.InputError, match=words):
        gradtrace.fit({"y": y}, model=model)


def test_unconstrained_diagnosis_takes_the_curvature_in_log_coordinates() -> None:
    y = CASES["gamma"][0]
    trace = gradtrace.fit(
        {"y": y}, model="gamma", lr=0.01, steps=5, param_space="unconstrained"
    )
    opt = trace.info["optimum"]

    def nll(u: np.ndarray) -> float:
        return -float(np.mean(stats.gamma.logpdf(y, np.exp(u[0]), scale=np.exp(-u[1]))))

    u0 = np.log([opt["shape"], opt["rate"]])
    h = fd_hessian(nll, u0)
    expected = 2 / np.linalg.eigvalsh(h)[-1]
    assert trace.info["diagnosis"]["stable_lr"] == pytest.approx(expected, rel=1e-3)
    # the slow direction names its parameters right (the optimum lists them in
    # another order than the start: rate, shape)
    slow = np.linalg.eigh(h)[1][:, 0]
    slow *= np.sign(slow[np.argmax(np.abs(slow))])
    found = trace.info["diagnosis"]["slow_direction"]
    np.testing.assert_allclose([found["shape"], found["rate"]], slow, atol=1e-3)


def test_families_with_closed_form_estimates_use_them() -> None:
    for name, expected in (
        ("poisson", lambda y: {"rate": np.mean(y)}),
        ("exponential", lambda y: {"rate": 1 / np.mean(y)}),
        ("lognormal", lambda y: {"loc": np.log(y).mean(), "scale": np.log(y).std()}),
    ):
        y = CASES[name][0]
        best = _case_optimum(name)
        assert best.method.endswith("closed form"), (name, best.method)
        for key, value in expected(y).items():
            np.testing.assert_allclose(best.params[key], value, rtol=1e-12)
    with_zeros = _optimum("poisson", np.zeros(10), {})  # the mean is 0: no closed form
    assert "closed form" not in with_zeros.method


def test_a_positive_parameters_interval_is_taken_on_the_log_scale() -> None:
    """Three waiting times: the rate's Wald interval -+ 1.96 errors would reach
    below 0; on the log scale it is rate * exp(-+ 1.96 se / rate), se = rate /
    sqrt(n) (the exponential's Fisher information)."""
    y = np.array([0.5, 1.2, 3.0])
    table = gradtrace.fit((None, y), "exponential", lr=0.1, steps=5).summary()
    rate = 1 / y.mean()
    se = rate / np.sqrt(len(y))
    row = table.loc["rate"]
    assert row["optimum"] == pytest.approx(rate, rel=1e-9)
    assert row["std_error"] == pytest.approx(se, rel=1e-6)
    low, high = (
        rate * np.exp(-1.959964 * se / rate),
        rate * np.exp(1.959964 * se / rate),
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-6)
    assert row["ci_low"] > 0


@pytest.mark.parametrize(
    ("model", "y", "name", "edge"),
    [
        ("bernoulli", np.ones(20), "p", "1"),
        ("poisson", np.zeros(30), "rate", "0"),
        ("normal", np.full(30, 2.0), "scale", "0"),
    ],
)
def test_an_optimum_on_the_edge_of_its_range_has_no_standard_error(
    model: str, y: np.ndarray, name: str, edge: str
) -> None:
    """All 1s, all 0s, one value repeated: the likelihood rises toward the edge of
    the parameter's range; no peak, so no standard error, no interval and no
    learning-rate diagnosis from a curvature there, and the warnings say why."""
    trace = gradtrace.fit((None, y), model, lr=0.01, steps=20)
    row = trace.summary().loc[name]
    assert np.isnan(row["std_error"]) and np.isnan(row["ci_low"])
    kind = "unit" if name == "p" else "positive"
    assert trace.info["optimum_edge"] == {name: kind} and "diagnosis" not in trace.info
    said = [w for w in trace.warnings if "edge of its range" in w]
    assert len(said) == 1 and f"at {name}={edge} " in said[0]


def test_a_distribution_fitted_to_data_with_x_says_x_is_not_used() -> None:
    rng = np.random.default_rng(0)
    frame = {
        "x": rng.normal(size=50),
        "u": rng.normal(size=50),
        "y": rng.normal(size=50),
    }
    notices = gradtrace.fit(frame, "normal", steps=3, exact=False).info["notices"]
    assert (
        "normal, a distribution, is fitted to y alone: columns x, u are not used (a "
        "regression model, linear, whose y is normal given them, reads them)"
    ) in notices
    counts = {"x": frame["x"], "y": rng.poisson(3.0, size=50)}
    said = gradtrace.fit(counts, "poisson", steps=3, exact=False).info["notices"]
    assert "(a regression model, poisson-regression, whose y is poisson given" in (
        " ".join(said)
    )
    waits = {"x": frame["x"], "y": rng.exponential(size=50)}
    said = gradtrace.fit(waits, "exponential", steps=3, exact=False).info["notices"]
    assert "(a regression model, such as line or linear, reads them)" in " ".join(said)
    alone = gradtrace.fit((None, frame["y"]), "normal", steps=3, exact=False)
    assert not any("not used" in n for n in alone.info["notices"])


def test_parameters_the_data_cannot_tell_apart_have_no_optimum_and_no_edge() -> None:
    """a * c * x: only the product is fitted, J^T J is singular; a and c (both
    positive, at 1.4) are nowhere near 0. The point the solver stopped at is one
    of a curve of them: no optimum is given, and the note names the two."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 100)
    model = gradtrace.Model(
        lambda p, x: p["a"] * p["c"] * x, {"a": 1.0, "c": 1.0}, positive=["a", "c"]
    )
    trace = gradtrace.fit(
        {"x": x, "y": 2 * x + rng.normal(0, 0.1, 100)}, model, lr=0.05, steps=200
    )
    assert "optimum_edge" not in trace.info and "optimum" not in trace.info
    assert not any("edge of its range" in w for w in trace.warnings)
    assert any(
        w.startswith("a and c trade off exactly") and "fix one" in w
        for w in trace.warnings
    )


def test_a_likelihood_of_a_sum_of_parameters_has_no_optimum() -> None:
    """y ~ Normal(a + b, 1) by its own log-density: the Hessian is exactly [[n, n],
    [n, n]], so Newton's stopping point (a, b) is one of a line of optima, and
    errors from inverting it would be made up."""
    own = gradtrace.Distribution(
        lambda p, y: jax.scipy.stats.norm.logpdf(y, p["a"] + p["b"], 1.0),
        {"a": 1.0, "b": 1.0},
    )
    y = np.random.default_rng(0).normal(3, 1, 200)
    trace = gradtrace.fit((None, y), own, optimizer="adam", lr=0.05, steps=50)
    assert "optimum" not in trace.info and "stderr" not in trace.info
    assert "a and b trade off exactly" in " ".join(trace.warnings)
    # a and b told apart by fixing one: the closed-form mean, with its error
    alone = gradtrace.fit((None, y), own, lr=0.1, steps=5, fix={"b": 1.0})
    np.testing.assert_allclose(alone.info["optimum"]["a"], y.mean() - 1, rtol=1e-9)
    np.testing.assert_allclose(alone.info["stderr"]["a"], 1 / np.sqrt(200), 1e-9)


def test_a_step_past_the_edge_where_the_optimum_lies_has_no_likelihood() -> None:
    """Poisson's y log(rate) - rate at y = 0 is -rate, a number even at a rate
    below 0; there the recorded loss is not a number, and the stop does not ask
    for a smaller rate, which would only reach the edge later."""
    trace = gradtrace.fit(
        (None, np.zeros(20)), "poisson", optimizer="adam", lr=0.05, steps=200
    )
    last = trace.to_pandas().iloc[-1]
    assert trace.diverged and last["rate"] < 0 and np.isnan(last["loss"])
    assert (trace.to_pandas()["loss"].dropna() >= 0).all()  # never above 1
    assert "past the edge where its best fit lies" in trace.message
    assert "smaller learning rate" not in trace.message
    # SGD's step from 1 by 0.5 * (1 - 0/rate) lands on 0 itself: onto the edge
    onto = gradtrace.fit((None, np.zeros(100)), "poisson", lr=0.5, steps=50)
    assert onto.to_pandas()["rate"].iloc[-1] == 0
    assert "the step took rate to 0, outside its support (> 0), onto the edge" in (
        onto.message
    )
    # inside the range, and on its edge, the likelihood is the formula's
    fam, ones = FAMILIES["bernoulli"], np.ones(3)
    np.testing.assert_array_equal(fam.log_prob({"p": np.asarray(1.0)}, ones), 0.0)
    assert np.isnan(fam.log_prob({"p": np.asarray(1.01)}, ones)).all()
    assert np.isfinite(fam.log_prob({"p": np.asarray(0.3)}, ones)).all()


def test_diagnose_of_an_optimum_on_the_edge_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    (tmp_path / "ones.csv").write_text("y\n1\n1\n1\n1\n1\n")
    code, out, err = run_cli(
        ["diagnose", str(tmp_path / "ones.csv"), "--model", "bernoulli"], capsys
    )
    assert code == 0, err
    first, second = out.splitlines()[:2]
    assert first.endswith(")") is False and "): p=1; loss " in first  # no ± of NaN
    assert second.startswith("p's best fit lies at the edge of its range")


# The negative binomial's log-mass in float32, against a float64 reference written
# another way: log Gamma(y + r) - log Gamma(r) - y log r as a sum of log1p(k / r),
# its size derivative as sums of x - log1p(x), each small x by its series.


def _x_minus_log1p(x: np.ndarray) -> np.ndarray:
    """x - log1p(x) in float64, by its series x^2/2 - x^3/3 + ... near 0."""
    x = np.asarray(x, np.float64)
    near = np.abs(x) < 0.05
    series = np.zeros_like(x)
    for j in range(30, 1, -1):
        series = series * -x + 1.0 / j
    return np.where(near, x * x * series, x - np.log1p(np.where(near, 0.0, x)))


def _nb_reference(y: int, mean: float, size: float) -> tuple[float, float, float]:
    """log P(y) of a negative binomial of ``mean`` and ``size``, and its
    derivatives in mean and size, in float64."""
    k = np.arange(y, dtype=np.float64)
    t = np.log1p(mean / size)
    lp = float(
        np.sum(np.log1p(k / size))
        - special.gammaln(y + 1.0)
        + (y * np.log(mean) if y else 0.0)
        - (y + size) * t
    )
    by_mean = size * (y - mean) / (mean * (size + mean))
    u = (y - mean) / (size + mean)
    # digamma(y + r) - digamma(r) - log1p(m / r) + (m - y) / (r + m)
    by_size = float(np.sum(_x_minus_log1p(1 / (size + k))) - _x_minus_log1p(u))
    return lp, by_mean, by_size


def _nb_size_scale(y: int, mean: float, size: float) -> float:
    """The size of the terms the size derivative is a difference of."""
    k = np.arange(y, dtype=np.float64)
    u = (y - mean) / (size + mean)
    return float(np.sum(_x_minus_log1p(1 / (size + k))) + _x_minus_log1p(u))


def _nb32(mean: Any, size: Any, y: Any) -> Any:
    fam = FAMILIES["negative-binomial"]
    return fam.log_prob({"mean": mean, "size": size}, y)


_NB32 = jax.jit(jax.vmap(_nb32))
_NB32_GRAD = jax.jit(jax.vmap(jax.grad(lambda m, r, y: _nb32(m, r, y), (0, 1))))

NB_SIZES = [1e-3, 0.1, 1.0, 2.9, 3.0, 10.0, 1e3, 1e5, 1e7, 1e8]
NB_COUNTS = [0, 1, 2, 5, 10, 100, 1000, 10000]
NB_MEANS = [1e-3, 0.5, 3.0, 50.0, 1e3, 1e5]


def _nb_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every size, count and mean (each mean's float32 value: the reference takes
    what float32 holds), and a mean at the count itself."""
    rows = [
        (m, r, y)
        for r in NB_SIZES
        for y in NB_COUNTS
        for m in [*NB_MEANS, max(y, 1e-3)]
    ]
    m, r, y = (np.asarray(c, np.float32) for c in zip(*rows, strict=True))
    return m, r, y


def test_negative_binomial_reference_is_scipys() -> None:
    """The float64 reference of the tests below agrees with scipy.stats's nbinom
    (whose log Gamma difference loses up to 1e-9 at size 1e5)."""
    for r in [1e-3, 1.0, 30.0, 1e5]:
        for y in [0, 1, 7, 300]:
            for m in [1e-2, 2.0, 400.0]:
                lp, _, _ = _nb_reference(y, m, r)
                want = stats.nbinom.logpmf(y, r, r / (r + m))
                assert lp == pytest.approx(want, rel=1e-8, abs=1e-10)


def test_negative_binomial_log_mass_in_float32_is_within_ulps_at_any_size() -> None:
    """log Gamma(y + r) - log Gamma(r) in float32 lost 1e-3 at size 1000 and 0.1
    at 1e5 (and the loss, with it, was noise as a fit's size grew): now each
    log-mass is within 1e-6 of max(1, |log P|), about 8 float32 ulps, from size
    1e-3 to 1e8 and counts up to 1e4."""
    m, r, y = _nb_grid()
    got = np.asarray(_NB32(m, r, y), np.float64)
    want = np.array(
        [
            _nb_reference(int(c), float(a), float(b))[0]
            for a, b, c in zip(m, r, y, strict=True)
        ]
    )
    error = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    assert error.max() < 1e-6, (m[error.argmax()], r[error.argmax()], y[error.argmax()])


def test_negative_binomial_gradient_in_float32_is_within_ulps_at_any_size() -> None:
    """jax.grad in float32: the mean's derivative within 1e-6 of itself, the size's
    within 1e-6 of the terms it is a difference of (it falls as 1/size^2, while
    digamma(y + r) - digamma(r) and log1p(m / r) fall as 1/size)."""
    m, r, y = _nb_grid()
    by_mean, by_size = (np.asarray(g, np.float64) for g in _NB32_GRAD(m, r, y))
    ref = [
        _nb_reference(int(c), float(a), float(b))
        for a, b, c in zip(m, r, y, strict=True)
    ]
    want_mean = np.array([g[1] for g in ref])
    want_size = np.array([g[2] for g in ref])
    scale = np.array(
        [
            _nb_size_scale(int(c), float(a), float(b))
            for a, b, c in zip(m, r, y, strict=True)
        ]
    )
    np.testing.assert_allclose(by_mean, want_mean, rtol=1e-6, atol=0)
    assert (np.abs(by_size - want_size) <= 1e-6 * scale).all()


def test_negative_binomial_gradient_in_float64_and_its_hessian() -> None:
    """The exact solver differentiates the log-mass twice in float64: its first
    derivatives match the reference to 1e-12, and its Hessian finite differences
    of them."""
    with jax.enable_x64(True):
        # compiled once: run operation by operation, the log-mass's branches
        # (lax.cond) were compiled afresh at every call (21 s for this test)
        grad = jax.jit(jax.grad(_nb32, (0, 1)))
        hessian = jax.jit(jax.hessian(_nb32, (0, 1)))
        for m, r, y in [
            (3.0, 2.5, 7.0),
            (40.0, 1e4, 38.0),
            (0.2, 1e-2, 0.0),
            (5.0, 1e9, 4.0),
        ]:
            args = (np.float64(m), np.float64(r), np.float64(y))
            grads = grad(*args)
            _, want_m, want_r = _nb_reference(int(y), m, r)
            assert float(grads[0]) == pytest.approx(want_m, rel=1e-12, abs=1e-300)
            scale = _nb_size_scale(int(y), m, r)
            assert abs(float(grads[1]) - want_r) <= 1e-12 * scale
            h = np.asarray(hessian(*args), np.float64)
            step = 1e-6
            for i, dv in enumerate([(m * step, 0.0), (0.0, r * step)]):
                up = grad(m + dv[0], r + dv[1], args[2])
                down = grad(m - dv[0], r - dv[1], args[2])
                width = 2 * max(dv)
                fd = [
                    (float(a) - float(b)) / width for a, b in zip(up, down, strict=True)
                ]
                np.testing.assert_allclose(
                    [float(h[0][i]), float(h[1][i])], fd, rtol=1e-5, atol=1e-14
                )


@settings(max_examples=200)
@given(
    log_size=st.floats(-3, 8),
    log_mean=st.floats(-3, 5),
    y=st.integers(0, 10000),
)
def test_negative_binomial_float32_log_mass_is_its_float64_reference(
    log_size: float, log_mean: float, y: int
) -> None:
    """Any size, mean and count: the float32 log-mass within 1e-6 of max(1,
    |log P|), its derivatives within 1e-6 of the mean's and of the size's terms."""
    m, r = np.float32(10.0**log_mean), np.float32(10.0**log_size)
    args = (np.array([m]), np.array([r]), np.array([y], np.float32))
    got = float(_NB32(*args)[0])
    want, want_m, want_r = _nb_reference(y, float(m), float(r))
    assert abs(got - want) <= 1e-6 * max(1.0, abs(want))
    by_mean, by_size = (float(g[0]) for g in _NB32_GRAD(*args))
    assert by_mean == pytest.approx(want_m, rel=1e-6, abs=0)
    assert abs(by_size - want_r) <= 1e-6 * _nb_size_scale(y, float(m), float(r))


def test_negative_binomial_tends_to_the_poisson_as_its_size_grows() -> None:
    """At size 1e8 the float32 log-mass is the Poisson's but for its own
    ((y - m)^2 - y) / (2 size); at size infinity it is the Poisson's."""
    y = np.arange(0, 31, dtype=np.float32)
    for m in (0.5, 3.0, 10.0):
        poisson = stats.poisson.logpmf(y, np.float64(np.float32(m)))
        allowed = 1e-6 * np.maximum(1.0, np.abs(poisson))
        mean = np.float32(m)
        at_inf = np.asarray(_nb32(mean, np.float32(np.inf), y), np.float64)
        assert (np.abs(at_inf - poisson) <= allowed).all()
        at_1e8 = np.asarray(_nb32(mean, np.float32(1e8), y), np.float64)
        gap = np.abs((y - float(mean)) ** 2 - y) / 2e8
        assert (np.abs(at_1e8 - poisson) <= allowed + gap).all()


def _size_score(y: np.ndarray, size: float) -> float:
    """The derivative of the summed log-likelihood in size at mean = y's mean."""
    m = float(np.mean(y))
    return float(
        np.sum(special.digamma(y + size) - special.digamma(size))
        - len(y) * np.log1p(m / size)
    )


def test_counts_no_more_spread_than_a_poissons_fit_the_poisson_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Binomial counts (variance below the mean): the negative binomial's
    likelihood rises toward the Poisson's as its size grows without end. The exact
    answer is that limit: mean = y's mean with the Poisson's standard error, size
    infinite on the edge of its range, no standard error and no learning-rate
    diagnosis (the solver used to stop at a size of 1e13 +- 1e18 and diagnose a
    rate from it); the loss is the Poisson's at the mean."""
    y = np.random.default_rng(0).binomial(10, 0.4, 500).astype(float)
    assert y.var() < y.mean()
    found = gradtrace.diagnose({"y": y}, "negative-binomial", lr=0.01)
    assert found.optimum["size"] == np.inf
    assert found.optimum["mean"] == pytest.approx(y.mean(), rel=1e-12)
    assert found.stderr["mean"] == pytest.approx(np.sqrt(y.mean() / len(y)), rel=1e-12)
    assert np.isnan(found.stderr["size"])
    assert found.info["optimum_edge"] == {"size": "positive"}
    assert "diagnosis" not in found.info and found.verdict is None
    poisson = -np.mean(stats.poisson.logpmf(y, y.mean()))
    assert found.optimum_loss == pytest.approx(poisson, rel=1e-12)
    head, edge = str(found).splitlines()
    assert "(the Poisson limit, closed form)" in head and "size=inf;" in head
    assert "±" in head.split("size")[0] and "±" not in head.split("size")[1]
    assert edge.startswith("size's best fit lies at the edge of its range")
    assert "at size=infinity" in edge and "the Poisson of the counts' mean" in edge

    trace = gradtrace.fit(
        {"y": y},
        "negative-binomial",
        optimizer="adam",
        lr=0.05,
        steps=100,
        param_space="unconstrained",
    )
    said = [w for w in trace.warnings if "edge of its range" in w]
    assert len(said) == 1 and "at size=infinity" in said[0]
    row = trace.summary().loc["size"]
    assert row["optimum"] == np.inf and np.isnan(row["std_error"])
    # the pictures and the report frame the path without the optimum at infinity
    assert trace.plot("landscape") is not None
    assert trace.plot("params") is not None
    page = trace.report(tmp_path / "report.html").read_text()
    assert "Infinity" not in page  # JSON.parse takes no infinity
    # the command says so too
    from helpers import run_cli

    data = tmp_path / "counts.csv"
    data.write_text("y\n" + "\n".join(str(int(v)) for v in y) + "\n")
    code, out, err = run_cli(
        ["diagnose", str(data), "--model", "negative-binomial"], capsys
    )
    assert code == 0, err
    assert "size=inf;" in out.splitlines()[0]
    assert "at size=infinity" in " ".join(out.split())


def test_counts_a_little_more_spread_than_a_poissons_have_a_finite_size() -> None:
    """Poisson counts whose sample variance is just above their mean: the size's
    optimum is finite (the root of its score at the mean, found by bisection)."""
    y = np.random.default_rng(2).poisson(5.0, 2000).astype(float)
    assert 0 < y.var() - y.mean() < 0.1
    best = _optimum("negative-binomial", y, {})
    assert not best.edge and np.isfinite(best.stderr["size"])
    root = optimize.brentq(lambda r: _size_score(y, r), 10.0, 1e6, xtol=1e-10)
    assert best.params["size"] == pytest.approx(root, rel=1e-6)
    assert best.params["mean"] == pytest.approx(y.mean(), rel=1e-10)


def test_a_run_trained_unconstrained_says_so_in_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fit and show name the coordinates the optimizer held: the grad_ columns
    and the stable limit are of log(shape), not of shape; a fixed parameter is
    not among them, and a constrained run says nothing."""
    from helpers import run_cli

    path = tmp_path / "g.csv"
    y = np.random.default_rng(0).gamma(2.0, 1.5, 300)
    pd.DataFrame({"y": y}).to_csv(path, index=False)
    args = ["fit", str(path), "--model", "gamma", "--steps", "20", "-q"]
    said = "(--param-space unconstrained): the grad_ columns and the stable limit"
    code, out, _ = run_cli(
        [*args, "--param-space", "unconstrained", "--out", str(tmp_path / "u")], capsys
    )
    assert code == 0 and f"trained as log(shape), log(rate) {said}" in out
    code, out, _ = run_cli(["show", str(tmp_path / "u")], capsys)
    assert f"trained as log(shape), log(rate) {said}" in out
    code, out, _ = run_cli(
        [*args, "--param-space", "unconstrained", "--fix", "shape=2"]
        + ["--out", str(tmp_path / "f")],
        capsys,
    )
    assert f"trained as log(rate) {said}" in out
    code, out, _ = run_cli([*args, "--out", str(tmp_path / "c")], capsys)
    assert code == 0 and "trained as" not in out


def test_fits_table_shows_an_optimum_on_the_edge_as_the_edge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All-0 counts: the rate's best fit is 0, where Newton stops at 1.5e-11; the
    table printed that number beside a note saying 0 (a reader took 1.5e-11 for
    the estimate)."""
    from helpers import run_cli

    (tmp_path / "zeros.csv").write_text("y\n0\n0\n0\n0\n0\n")
    code, out, err = run_cli(
        [
            "fit",
            str(tmp_path / "zeros.csv"),
            "--model",
            "poisson",
            "--param-space",
            "unconstrained",
            "--steps",
            "50",
            "--out",
            str(tmp_path / "run"),
        ],
        capsys,
    )
    assert code == 0, err
    (row,) = [line for line in out.splitlines() if line.startswith("rate ")]
    assert row.split()[3:5] == ["0", "(edge)"]
    assert "at rate=0" in out


def test_a_weibull_refuses_a_zero_whose_likelihood_has_no_best_fit() -> None:
    """Its support was y >= 0, but a y of 0 makes the likelihood infinite for any
    shape below 1 (a newcomer's fit gave nan at shape 1, inf at 2, -inf at 0.5,
    each told to start elsewhere)."""
    from scipy import stats

    assert stats.weibull_min.logpdf(0.0, 0.5) == np.inf
    with pytest.raises(gradtrace.InputError, match="needs positive numbers in y"):
        gradtrace.fit({"y": [0.0, 1.2, 0.5, 2.3]}, "weibull", steps=2)


def test_a_student_t_of_light_tailed_data_has_its_best_fit_at_the_normal_limit() -> (
    None
):
    """300 uniform draws: df's likelihood rises without end, and Newton stopped
    at df 3e7 with a standard error of 1.2e10, told as an optimum. Its best fit
    is the normal limit, as a negative binomial's is the Poisson's."""
    y = np.random.default_rng(0).uniform(0, 1, 300)
    trace = gradtrace.fit(
        {"y": y},
        "student-t",
        optimizer="adam",
        lr=0.05,
        steps=50,
        param_space="unconstrained",
    )
    optimum = trace.info["optimum"]
    assert optimum["df"] == np.inf and trace.info["optimum_edge"] == {"df": "positive"}
    assert optimum["loc"] == pytest.approx(np.mean(y), rel=1e-12)
    assert optimum["scale"] == pytest.approx(np.std(y), rel=1e-12)
    se = trace.info["stderr"]
    assert se["loc"] == pytest.approx(np.std(y) / np.sqrt(300), rel=1e-12)
    assert se["scale"] == pytest.approx(np.std(y) / np.sqrt(600), rel=1e-12)
    # the loss there: the normal's, which every finite df's falls short of
    from scipy import stats

    normal = -np.mean(stats.norm.logpdf(y, np.mean(y), np.std(y)))
    assert trace.info["optimum_loss"] == pytest.approx(normal, rel=1e-12)
    assert -np.mean(stats.t.logpdf(y, 1e4, np.mean(y), np.std(y))) > normal
    (said,) = [w for w in trace.warnings if "edge of its range" in w]
    assert "a Student-t's degrees of freedom" in said


@pytest.mark.parametrize(
    "name", ["lognormal", "gamma", "weibull", "student-t", "cauchy", "exponential"]
)
def test_one_value_repeated_is_told_to_have_no_maximum(name: str) -> None:
    """Five 2s (five 0s for an exponential): the likelihood rises without bound
    as the distribution narrows onto the value. The note had blamed a kink that
    Newton's method cannot follow."""
    y = np.zeros(5) if name == "exponential" else np.full(5, 2.0)
    trace = gradtrace.fit({"y": y}, name, steps=2)
    (said,) = [n for n in trace.notes if "no exact optimum" in n]
    assert "likelihood rises without bound" in said and "kink" not in said


def test_a_loss_of_ones_own_says_why_it_has_no_standard_errors() -> None:
    """An exponential's negative log-likelihood written as a loss expression: its
    optimum is found, its standard-error column was blank without a word."""
    rng = np.random.default_rng(0)
    data = {"x": rng.uniform(0, 1, 200), "y": rng.exponential(0.5, 200)}
    trace = gradtrace.fit(
        data,
        model_expr="r + 0*x",
        loss_expr="pred*y - log(pred)",
        init={"r": 1.0},
        steps=20,
        lr=0.1,
    )
    assert trace.info["optimum"]["r"] == pytest.approx(1 / np.mean(data["y"]), 1e-6)
    (said,) = [n for n in trace.notes if n.startswith("no standard errors")]
    assert "not known to be a negative log-likelihood" in said


@pytest.mark.parametrize(
    "options", [{"loss": "mae"}, {"loss": "huber"}, {"loss": "huber", "delta": 2.0}]
)
def test_mae_and_hubers_loss_say_why_they_have_no_standard_errors(
    options: dict[str, object],
) -> None:
    """Built-in robust losses: their optimum is found, their standard errors are
    NaN; Huber's with a delta other than 1 was told "a loss of your own", the
    others nothing at all."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    trace = gradtrace.fit((x, 2 * x + 1 + rng.standard_t(3, 200)), steps=3, **options)
    assert trace.info["optimum"]["w"] == pytest.approx(2.0, abs=0.1)
    assert np.isnan(trace.summary()["std_error"]).all()
    (said,) = [n for n in trace.notes if n.startswith("no standard errors")]
    assert said == (
        "no standard errors: they come from a squared error's or a likelihood's "
        f"curvature, and {options['loss']} is neither (the optimum itself is exact; "
        "a sandwich or the bootstrap would give its errors)."
    )
    # and with no errors to measure it by, its distance is told by the loss
    (short,) = [w for w in trace.warnings if "short of its optimum" in w]
    assert short.startswith("the loss ended ") and "% of the distance it" in short
    settled = gradtrace.fit(
        (x, trace.info["optimum"]["w"] * x + trace.info["optimum"]["b"]),
        steps=2,
        init=trace.info["optimum"],
        **options,
    )
    assert not [w for w in settled.warnings if "short of its optimum" in w]
