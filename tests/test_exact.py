"""The exact optimum and standard errors against statsmodels and closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import gradtrace
from gradtrace import api
from gradtrace.core import exact


def _data(seed: int, n: int, k: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(n, k)) * rng.uniform(0.5, 3, k) + rng.uniform(-2, 2, k)
    y = xs @ rng.normal(size=k) + 1.5 + rng.normal(0, 0.7, n)
    return {**{f"x{i}": xs[:, i] for i in range(k)}, "y": y}


@pytest.mark.parametrize(("seed", "n", "k"), [(0, 30, 1), (1, 200, 2), (2, 57, 4)])
def test_least_squares_optimum_and_errors_equal_statsmodels_ols(
    seed: int, n: int, k: int
) -> None:
    data = _data(seed, n, k)
    xcols = [f"x{i}" for i in range(k)]
    model = "line" if k == 1 else "linear"
    trace = gradtrace.fit(data, model, x=xcols, steps=1, lr=1e-3)
    X = sm.add_constant(np.column_stack([data[c] for c in xcols]))
    ols = sm.OLS(data["y"], X).fit()
    info = trace.info
    w = np.atleast_1d(info["optimum"]["w"])
    np.testing.assert_allclose(w, ols.params[1:], rtol=1e-6)
    assert info["optimum"]["b"] == pytest.approx(ols.params[0], rel=1e-6)
    np.testing.assert_allclose(
        np.atleast_1d(info["stderr"]["w"]), ols.bse[1:], rtol=1e-6
    )
    assert info["stderr"]["b"] == pytest.approx(ols.bse[0], rel=1e-6)
    ci = ols.conf_int(0.05)
    assert info["ci"]["b"][0] == pytest.approx(ci[0, 0], rel=1e-6)
    assert info["ci"]["b"][1] == pytest.approx(ci[0, 1], rel=1e-6)
    assert info["optimum_loss"] == pytest.approx(ols.ssr / n, rel=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_show_says_what_the_standard_errors_rest_on(reduction: str) -> None:
    """Least squares' errors are OLS's (SSR / (n - p), t); the same line by
    likelihood has the MLE's, over n: smaller by sqrt((n - p) / n), which a
    statistician comparing the two was not told."""
    from gradtrace.estimates import errors_basis

    data = _data(1, 200, 2)
    options = {"x": ["x0", "x1"], "steps": 1, "lr": 1e-3, "reduction": reduction}
    ols = sm.OLS(data["y"], sm.add_constant(np.c_[data["x0"], data["x1"]])).fit()
    by_mse = gradtrace.fit(data, "linear", **options)
    said = errors_basis(by_mse.info, by_mse.summary())
    assert said == (
        "standard errors as ordinary least squares gives them: residual standard "
        f"error {np.sqrt(ols.scale):.4g} (the square root of SSR / (n - p)) on 197 "
        "degrees of freedom, and Student's t on them"
    )
    by_nll = gradtrace.fit(data, "linear", loss="nll", dtype="float64", **options)
    said = errors_basis(by_nll.info, by_nll.summary())
    ratio = by_mse.info["stderr"]["b"] / by_nll.info["stderr"]["b"]
    assert ratio == pytest.approx(np.sqrt(200 / 197), rel=1e-4)
    assert said == (
        "maximum-likelihood standard errors: the inverse of the negative "
        "log-likelihood's Hessian at the optimum, and the normal for z; the "
        "noise's scale is its maximum-likelihood estimate, over n: least squares "
        f"(loss mse) gives errors {np.sqrt(200 / 197):.4g} times these, over n - p"
    )
    # a scale held fixed is no estimate to compare
    held = gradtrace.fit(data, "linear", loss="nll", fix={"scale": 1.0}, **options)
    assert errors_basis(held.info, held.summary()) == (
        "maximum-likelihood standard errors: the inverse of the negative "
        "log-likelihood's Hessian at the optimum, and the normal for z"
    )
    # a distribution's scale has no least squares to compare with; a gamma's
    # positive parameters no z
    y = np.random.default_rng(0).gamma(3.0, 0.5, 80)
    basis = "maximum-likelihood standard errors: the inverse of the negative "
    basis += "log-likelihood's Hessian at the optimum"
    normal = gradtrace.fit((None, y), "normal", steps=1)
    assert (
        errors_basis(normal.info, normal.summary()) == basis + ", and the normal for z"
    )
    gamma = gradtrace.fit((None, y), "gamma", steps=1)
    assert errors_basis(gamma.info, gamma.summary()) == basis


def test_seed003_against_ols() -> None:
    trace = gradtrace.fit("seed003_linear", steps=1, lr=0.1)
    data = gradtrace.data.builtin("seed003_linear").astype(np.float64)
    ols = sm.OLS(data["y"], sm.add_constant(data["x"])).fit()
    assert trace.info["optimum"]["w"] == pytest.approx(ols.params["x"], rel=1e-6)
    assert trace.info["stderr"]["w"] == pytest.approx(ols.bse["x"], rel=1e-6)


@pytest.mark.parametrize("name", ["seed001_gaussian", "seed002_normal"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_normal_mle_and_its_analytic_errors(name: str, reduction: str) -> None:
    trace = gradtrace.fit(
        name,
        "normal",
        steps=1,
        lr=1e-4,
        reduction=reduction,
        init={"loc": 0.5, "scale": 2.0},
    )
    y = gradtrace.data.builtin(name)["y"].to_numpy(np.float64)
    n, mean, sd = len(y), y.mean(), y.std()
    info = trace.info
    assert info["optimum"]["loc"] == pytest.approx(mean, rel=1e-6)
    assert info["optimum"]["scale"] == pytest.approx(sd, rel=1e-6)
    # inverse observed information: var(loc) = sd^2 / n, var(scale) = sd^2 / (2 n)
    assert info["stderr"]["loc"] == pytest.approx(sd / np.sqrt(n), rel=1e-6)
    assert info["stderr"]["scale"] == pytest.approx(sd / np.sqrt(2 * n), rel=1e-6)
    lo, hi = info["ci"]["loc"]
    assert lo == pytest.approx(mean - 1.959964 * sd / np.sqrt(n), rel=1e-6)
    nll = n / 2 * np.log(2 * np.pi * sd**2) + n / 2
    assert info["optimum_loss"] == pytest.approx(
        nll / (n if reduction == "mean" else 1), rel=1e-9
    )


def test_fixed_scale_gives_the_mean_and_sigma_over_root_n() -> None:
    trace = gradtrace.fit(
        "seed002_normal",
        "normal",
        steps=1,
        lr=1e-7,
        reduction="sum",
        fix={"scale": 1.0},
    )
    y = gradtrace.data.builtin("seed002_normal")["y"].to_numpy(np.float64)
    assert trace.info["optimum"] == {"loc": pytest.approx(y.mean(), rel=1e-9)}
    assert trace.info["stderr"]["loc"] == pytest.approx(1 / np.sqrt(len(y)), rel=1e-9)


def test_likelihood_of_a_line_gives_least_squares() -> None:
    """Seed 000's closing section: the Gaussian likelihood's w, b are least squares."""
    trace = gradtrace.fit("seed001_line", "line", "nll", steps=1, lr=1e-3)
    data = gradtrace.data.builtin("seed001_line").astype(np.float64)
    ols = sm.OLS(data["y"], sm.add_constant(data["x"])).fit()
    opt = trace.info["optimum"]
    assert opt["w"] == pytest.approx(ols.params["x"], rel=1e-9)
    assert opt["b"] == pytest.approx(ols.params["const"], rel=1e-9)
    assert opt["scale"] == pytest.approx(np.sqrt(ols.ssr / len(data)), rel=1e-9)


def test_newton_where_no_closed_form_applies() -> None:
    """With b fixed, the slope's optimum is sum(x (y - b)) / sum(x^2)."""
    data = gradtrace.data.builtin("seed001_line").astype(np.float64)
    trace = gradtrace.fit(
        "seed001_line", steps=1, lr=1e-3, fix={"b": 1.5}, dtype="float64"
    )
    x, y = data["x"].to_numpy(), data["y"].to_numpy()
    expected = np.sum(x * (y - 1.5)) / np.sum(x * x)
    assert trace.info["optimum"]["w"] == pytest.approx(expected, rel=1e-9)
    assert "Newton" in trace.info["optimum_method"]


def test_gap_is_loss_minus_the_optimum() -> None:
    trace = gradtrace.fit("seed001_line", lr=0.5, epochs=500, dtype="float64")
    frame = trace.to_pandas()
    np.testing.assert_allclose(frame["gap"], frame["loss"] - trace.info["optimum_loss"])
    assert frame["gap"].iloc[-1] < 1e-9
    assert (frame["gap"] >= -1e-12).all()  # nothing beats the optimum


_RNG = np.random.default_rng(5)
_X1 = _RNG.normal(size=40)
_Y = _X1 + _RNG.normal(size=40)


@pytest.mark.parametrize("loss", ["mse", "nll"])
@pytest.mark.parametrize(
    ("data", "options", "names"),
    [
        (
            {"x": [1.0, 1, 1, 1], "y": [2.0, 3, 2.5, 4]},
            {},
            "(w and b trade off exactly",
        ),
        (  # int64 values near 2**62 that float32 makes one: the direction is
            # b's but for 2e-19 of w's ("b trade off exactly" was said)
            {"x": np.full(6, 4.6e18), "y": [2.0, 3, 2.5, 4, 1, 5]},
            {"lr": 1e-40},
            "(w and b trade off exactly",
        ),
        (  # a constant column, not 1: rounding makes X^T X invertible
            {"x1": _X1, "x2": np.full(40, 3.7), "y": _Y},
            {"model": "linear"},
            "(w[x2] and b trade off exactly",  # a slope by its column
        ),
        (  # x2 = 3 x1 in floats: w[0] and w[1] trade off, b does not
            {"x1": _X1, "x2": 3 * _X1, "y": _Y},
            {"model": "linear"},
            "(w[x1] and w[x2] trade off exactly",
        ),
        (
            {"x1": _X1, "x2": _X1**2, "x3": _X1 + _X1**2, "y": _Y},
            {"model": "linear"},
            "(w[x1], w[x2], w[x3] trade off exactly",
        ),
        (
            {"x1": [1.0, 2], "x2": [3.0, 1], "y": [1.0, 2]},
            {"model": "linear"},
            "(2 rows cannot determine 3 parameters",
        ),
    ],
)
def test_dependent_columns_are_named(
    data: dict[str, Any], options: dict[str, str], names: str, loss: str
) -> None:
    options = {"lr": 0.01, **options}
    trace = gradtrace.fit(data, steps=3, loss=loss, **options)  # type: ignore[arg-type]
    assert "optimum" not in trace.info
    if "trade off" in names:
        # a warning of the run's, not a note: its values are one of many
        (note,) = [w for w in trace.warnings if "trade off exactly" in w]
        assert note.startswith(names[1:]), note
        assert not any("no exact optimum" in n for n in trace.notes)
    else:
        (note,) = [n for n in trace.info["notices"] if "no exact optimum" in n]
        assert names in note, note
    assert "Singular matrix" not in note


def test_no_exact_skips_it() -> None:
    trace = gradtrace.fit("seed001_line", lr=0.5, epochs=5, exact=False)
    assert "optimum" not in trace.info and "gap" not in trace.to_pandas()


def test_the_exact_answer_is_the_same_computed_during_or_after_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small run computes its reference in a thread while it compiles and trains;
    the same run made to compute it afterwards records the same numbers."""
    kwargs = dict(model="normal", optimizer="adam", lr=0.1, steps=30)
    pool, used = api.ThreadPoolExecutor, []

    def spy(**kw: object) -> object:
        used.append(1)
        return pool(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "ThreadPoolExecutor", spy)
    during = gradtrace.fit("seed001_gaussian", **kwargs)
    assert used == [1]
    monkeypatch.setattr(api, "OVERLAP_VALUES", 0)
    after = gradtrace.fit("seed001_gaussian", **kwargs)
    assert used == [1]
    for key in ("optimum", "optimum_loss", "stderr", "ci", "diagnosis"):
        assert during.info[key] == after.info[key], key
    assert during.info["notices"] == after.info["notices"]


@settings(max_examples=300, deadline=None)
@given(
    dof=st.floats(exact.T_EXPANSION_DOF, 1e12),
    q=st.floats(1e-4, 1 - 1e-4),
)
def test_t_quantile_from_its_expansion_is_scipys(dof: float, q: float) -> None:
    expected = float(special.stdtrit(dof, q))
    assert exact.t_quantile(dof, q) == pytest.approx(expected, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("dof", [1, 7, 30, exact.T_EXPANSION_DOF - 1])
def test_t_quantile_of_few_degrees_of_freedom_is_scipys(dof: int) -> None:
    assert exact.t_quantile(dof, 0.975) == float(special.stdtrit(dof, 0.975))


def test_parameters_that_trade_off_keep_the_runs_other_warnings() -> None:
    """x constant: w and b trade off, which is said first; a loss that rose is
    still said after it (the trade-off had silenced every other warning)."""
    y = np.random.default_rng(0).normal(5, 1, 40)
    trace = gradtrace.fit({"x": np.ones(40), "y": y}, lr=0.6, steps=8)
    assert trace.status == "completed" and np.isfinite(trace.final_loss)
    warnings = trace.warnings
    assert warnings[0].startswith("w and b trade off exactly")
    assert any("the loss ended above where it started" in w for w in warnings[1:])


def test_an_x_column_of_zeros_is_said_to_have_no_effect_not_to_trade_off() -> None:
    """A column of 0s (a category no row kept has, say) moves no other
    coefficient: least squares named the good column beside it ("w[x1] and w[z]
    trade off exactly"), as logistic and Poisson regressions did not. Several
    such columns are named together; a real tie is still a tie."""
    rng = np.random.default_rng(13)
    frame = pd.DataFrame({"x1": rng.normal(size=120), "x2": rng.normal(size=120)})
    frame["y"] = frame["x1"] + rng.normal(size=120)
    frame["z"] = 0.0
    (said,) = gradtrace.fit(frame, "linear", x=["x1", "x2", "z"], steps=5).warnings
    assert said.startswith(
        "w[z] has no effect on the loss, so the loss has no single lowest "
        "point: the x column it multiplies is 0 in every row"
    )
    frame["z2"] = 0.0
    (said,) = gradtrace.fit(frame, "linear", x=["x1", "z", "z2"], steps=5).warnings
    assert said.startswith("w[z] and w[z2] have no effect on the loss")
    assert "the x columns they multiply are 0 in every row" in said
    frame["x3"] = 2 * frame["x1"]
    (said,) = gradtrace.fit(frame, "linear", x=["x1", "x2", "x3"], steps=5).warnings
    assert said.startswith("w[x1] and w[x3] trade off exactly")
