"""Regression families, each against an independent reference: NumPy's polyfit and
least squares, statsmodels (OLS, Logit, Poisson GLM, QuantReg), SciPy's curve_fit
and minimize; the metrics recomputed by hand from the trace's parameters; and the
refusals of bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

import gradtrace

N = 300


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _flat(params: dict[str, Any], names: list[str]) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(params[k], float)) for k in names])


# -- data ---------------------------------------------------------------------------


def _cubic() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(1)
    x = rng.uniform(-2, 2, N)
    y = 1.0 + 0.5 * x - 0.8 * x**2 + 0.3 * x**3 + rng.normal(0, 0.5, N)
    return x, y


def _binary() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(2)
    X = rng.normal(size=(N, 2))
    eta = 0.5 + X @ np.array([1.0, -2.0])
    y = (rng.uniform(size=N) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y


def _counts() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(3)
    X = 0.5 * rng.normal(size=(N, 2))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.8, -0.5]))).astype(float)
    return X, y


def _decay() -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(4)
    x = rng.uniform(0, 4, N)
    y = 2.0 * np.exp(-1.3 * x) + 0.5 + rng.normal(0, 0.05, N)
    return x, y


def _two_columns(X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    return {"x1": X[:, 0], "x2": X[:, 1], "y": y}


# -- poly ---------------------------------------------------------------------------


def test_poly_optimum_equals_polyfit_and_errors_equal_ols() -> None:
    x, y = _cubic()
    t = gradtrace.fit(
        {"x": x, "y": y}, model="poly", degree=3, dtype="float64", steps=5
    )
    opt = t.info["optimum"]
    # polyfit gives the highest power first: [x^3, x^2, x, 1]
    ref = np.polyfit(x, y, 3)
    np.testing.assert_allclose(opt["w"], ref[:3][::-1], rtol=1e-6)
    np.testing.assert_allclose(opt["b"], ref[3], rtol=1e-6)

    ols = sm.OLS(y, np.column_stack([x, x**2, x**3, np.ones(N)])).fit()
    np.testing.assert_allclose(opt["w"], ols.params[:3], rtol=1e-6)
    se = t.info["stderr"]
    np.testing.assert_allclose(se["w"], ols.bse[:3], rtol=1e-6)
    np.testing.assert_allclose(se["b"], ols.bse[3], rtol=1e-6)
    lo, hi = ols.conf_int(0.05).T
    np.testing.assert_allclose(t.info["ci"]["w"][0], lo[:3], rtol=1e-6)
    np.testing.assert_allclose(t.info["ci"]["b"][1], hi[3], rtol=1e-6)
    # and its table's t statistics and p-values, as statsmodels' summary has them
    table = t.summary()
    assert "z" not in table
    np.testing.assert_allclose(table["t"], ols.tvalues, rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], ols.pvalues, rtol=1e-5)


# -- linear, standardised ----------------------------------------------------------


def _check_standardised_linear(seed: int, n: int, steps: int) -> None:
    rng = _rng(seed)
    # very different scales: unstandardised, adam would crawl along x3
    X = rng.normal(loc=[10.0, -5.0, 100.0], scale=[2.0, 0.1, 30.0], size=(n, 3))
    y = X @ np.array([0.5, 3.0, 0.02]) + 4.0 + rng.normal(0, 0.3, n)
    data = {"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "y": y}
    t = gradtrace.fit(
        data,
        model="linear",
        x=["x1", "x2", "x3"],
        standardize=True,
        optimizer="adam",
        lr=0.05,
        steps=steps,
        dtype="float64",
    )
    beta, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)
    units = t.info["original_units"]
    np.testing.assert_allclose(units["optimum"]["w"], beta[:3], rtol=1e-8)
    np.testing.assert_allclose(units["optimum"]["b"], beta[3], rtol=1e-8)
    # statsmodels' OLS on x as it is gives the same errors
    ols = sm.OLS(y, np.column_stack([X, np.ones(n)])).fit()
    np.testing.assert_allclose(units["stderr"]["w"], ols.bse[:3], rtol=1e-7)
    np.testing.assert_allclose(units["stderr"]["b"], ols.bse[3], rtol=1e-7)
    if steps >= 2000:
        np.testing.assert_allclose(units["final"]["w"], beta[:3], rtol=1e-4)
        np.testing.assert_allclose(units["final"]["b"], beta[3], rtol=1e-4)
        # the trained parameters themselves are in standard units
        np.testing.assert_allclose(t.params["w"], beta[:3] * X.std(axis=0), rtol=1e-4)


def test_standardised_linear_reports_least_squares_in_original_units() -> None:
    # under the suite's strict rank promotion (tests/conftest.py)
    _check_standardised_linear(seed=5, n=N, steps=2000)


# -- logistic -----------------------------------------------------------------------


def test_logistic_optimum_errors_and_likelihood_equal_statsmodels_logit() -> None:
    X, y = _binary()
    t = gradtrace.fit(
        _two_columns(X, y),
        model="logistic",
        x=["x1", "x2"],
        optimizer="adam",
        lr=0.05,
        steps=2000,
        dtype="float64",
    )
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    opt, se = t.info["optimum"], t.info["stderr"]
    np.testing.assert_allclose(_flat(opt, ["b", "w"]), ref.params, rtol=1e-5)
    np.testing.assert_allclose(_flat(se, ["b", "w"]), ref.bse, rtol=1e-4)
    # the whole covariance, in the optimum's order (w[0], w[1], b)
    theirs = np.asarray(ref.cov_params())[np.ix_([1, 2, 0], [1, 2, 0])]
    np.testing.assert_allclose(t.info["covariance"], theirs, rtol=1e-4)
    like = t.info["likelihood"]
    assert like["n_params"] == 3 and like["n_rows"] == N
    np.testing.assert_allclose(like["optimum"]["loglik"], ref.llf, rtol=1e-9)
    np.testing.assert_allclose(like["optimum"]["aic"], ref.aic, rtol=1e-9)
    np.testing.assert_allclose(like["optimum"]["bic"], ref.bic, rtol=1e-9)
    table = t.summary().loc[["b", "w[0]", "w[1]"]]
    np.testing.assert_allclose(table["z"], ref.tvalues, rtol=1e-4)
    np.testing.assert_allclose(table["p_value"], ref.pvalues, rtol=1e-3)
    # the gradient fit reaches the optimum
    np.testing.assert_allclose(
        _flat(t.params, ["b", "w"]), ref.params, rtol=1e-3, atol=1e-3
    )
    np.testing.assert_allclose(like["final"]["loglik"], ref.llf, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 3])
def test_logistic_on_x_in_dollars_has_statsmodels_optimum(seed: int) -> None:
    """Income in dollars (mean about 42000) against a yes/no: the Newton solver's
    trust region stalled short of the optimum, on curvatures 1e10 apart, and the
    run had no exact optimum ("the loss may fall without end"), where
    statsmodels' Logit converges; it works on values scaled by their curvature."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.gamma(2.4, 17600, 400))
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(2.4 - 5e-5 * income))).astype(float)
    t = gradtrace.fit({"x": income, "y": y}, model="logistic", steps=1, lr=1e-12)
    ref = sm.Logit(y, sm.add_constant(income)).fit(disp=0)
    assert t.info.get("optimum") is not None, t.notes
    np.testing.assert_allclose(
        _flat(t.info["optimum"], ["b", "w"]), ref.params, rtol=1e-5
    )
    np.testing.assert_allclose(_flat(t.info["stderr"], ["b", "w"]), ref.bse, rtol=1e-4)


@pytest.mark.parametrize("model", ["logistic", "poisson-regression"])
def test_a_column_that_copies_another_gives_no_optimum(model: str) -> None:
    """x2 = 2 x1: only w1 + 2 w2 is determined (statsmodels' design matrix has
    rank 2 of 3), so the solver's stopping point is one of a line of optima; it
    names the two coefficients as least squares does, and x that is merely
    correlated keeps its optimum."""
    X, y = _binary() if model == "logistic" else _counts()
    copied = np.column_stack([X[:, 0], 2 * X[:, 0]])
    assert np.linalg.matrix_rank(sm.add_constant(copied)) == 2
    t = gradtrace.fit(
        _two_columns(copied, y), model=model, x=["x1", "x2"], lr=0.05, steps=5
    )
    assert "optimum" not in t.info and "diagnosis" not in t.info
    assert (
        # the slopes by their columns, as the pictures name them
        "w[x1] and w[x2] trade off exactly, so the loss has no single "
        "lowest point: an x column is constant, copying the intercept, or a "
        "combination of the others; drop it, or use x that varies. The run's values "
        "are one of many with the same loss; there is no optimum to compare them "
        "with, nor standard errors."
    ) in t.warnings
    near = np.column_stack([X[:, 0], 2 * X[:, 0] + 0.01 * X[:, 1]])
    kept = gradtrace.fit(
        _two_columns(near, y), model=model, x=["x1", "x2"], lr=0.05, steps=5
    )
    assert np.isfinite(kept.info["stderr"]["w"]).all()


def test_a_standardised_fit_with_a_held_intercept_gives_x_units_and_errors() -> None:
    """b held at 0 on standardised x is y = w . (x - mean) in x's own units: OLS on
    centred x without a constant (statsmodels); x's own b = -w . mean moves with
    w, so it has an error, while a held w gives its x-units values no error."""
    rng = _rng(12)
    X = rng.normal([50.0, 0.01], [10.0, 0.002], size=(300, 2))
    y = X @ np.array([0.5, 100.0]) + 4 + rng.normal(0, 0.3, 300)
    data = _two_columns(X, y)
    t = gradtrace.fit(data, model="linear", standardize=True, steps=1, fix={"b": 0.0})
    centre = X.mean(axis=0)
    ols = sm.OLS(y, X - centre).fit()
    units = t.info["original_units"]
    np.testing.assert_allclose(units["optimum"]["w"], ols.params, rtol=1e-8)
    np.testing.assert_allclose(units["optimum"]["b"], -ols.params @ centre, 1e-8)
    np.testing.assert_allclose(units["stderr"]["w"], ols.bse, rtol=1e-7)
    b_se = np.sqrt(centre @ np.asarray(ols.cov_params()) @ centre)
    np.testing.assert_allclose(units["stderr"]["b"], b_se, rtol=1e-7)
    held = gradtrace.fit(
        data, model="linear", standardize=True, steps=1, fix={"w": [0.1, 0.2]}
    )
    assert list(held.info["original_units"]["stderr"]) == ["b"]


def test_x_far_from_0_is_ill_conditioned_but_keeps_its_optimum() -> None:
    """x 1e5 standard deviations from 0 (times of day as Unix seconds): the
    information, scaled, has an eigenvalue of 5e-11, yet x and the intercept's
    column have full rank, so the optimum and its errors stand (statsmodels' OLS
    on the same columns; the likelihood's scale divides SSR by n, not n - 2)."""
    rng = _rng(11)
    x = rng.normal(1e5, 1, 500)
    y = 2 * (x - 1e5) + 3 + rng.normal(0, 1, 500)
    t = gradtrace.fit({"x": x, "y": y}, model="line", loss="nll", steps=1, lr=1e-12)
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    opt, se = t.info["optimum"], t.info["stderr"]
    np.testing.assert_allclose([opt["b"], opt["w"]], ols.params, rtol=1e-7)
    np.testing.assert_allclose(
        [se["b"], se["w"]], ols.bse * np.sqrt((500 - 2) / 500), rtol=1e-5
    )
    assert not any("trade off" in n for n in t.notes)
    ones = (rng.uniform(size=500) < 1 / (1 + np.exp(-(x - 1e5)))).astype(float)
    fitted = gradtrace.fit({"x": x, "y": ones}, model="logistic", steps=1, lr=1e-12)
    assert np.isfinite(fitted.info["stderr"]["w"]).all()


# -- poisson regression ------------------------------------------------------------


def test_poisson_regression_equals_statsmodels_glm() -> None:
    X, y = _counts()
    t = gradtrace.fit(
        _two_columns(X, y),
        model="poisson-regression",
        x=["x1", "x2"],
        optimizer="adam",
        lr=0.05,
        steps=10,
        dtype="float64",
    )
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    np.testing.assert_allclose(
        _flat(t.info["optimum"], ["b", "w"]), ref.params, rtol=1e-5
    )
    np.testing.assert_allclose(_flat(t.info["stderr"], ["b", "w"]), ref.bse, rtol=1e-4)
    like = t.info["likelihood"]["optimum"]
    np.testing.assert_allclose(like["loglik"], ref.llf, rtol=1e-9)
    np.testing.assert_allclose(like["aic"], ref.aic, rtol=1e-9)


# -- exp-decay -----------------------------------------------------------------------


def test_exp_decay_equals_curve_fit_and_adam_reaches_it() -> None:
    x, y = _decay()
    t = gradtrace.fit(
        {"x": x, "y": y},
        model="exp-decay",
        optimizer="adam",
        lr=0.05,
        steps=3000,
        dtype="float64",
    )
    popt, pcov = optimize.curve_fit(
        lambda x, a, b, c: a * np.exp(-b * x) + c, x, y, p0=[1.0, 1.0, 0.0]
    )
    names = ["a", "b", "c"]
    np.testing.assert_allclose(_flat(t.info["optimum"], names), popt, rtol=1e-5)
    np.testing.assert_allclose(
        _flat(t.info["stderr"], names), np.sqrt(np.diag(pcov)), rtol=1e-3
    )
    np.testing.assert_allclose(_flat(t.params, names), popt, rtol=1e-3, atol=1e-3)
    gap = t.to_pandas()["gap"].to_numpy()
    assert gap[-1] < 1e-8 and np.all(gap > -1e-12)


# -- line with mae and huber ----------------------------------------------------------


def test_line_with_mae_has_the_least_absolute_deviations_optimum() -> None:
    rng = _rng(6)
    x = rng.uniform(0, 4, N)
    y = 1.5 * x - 0.7 + rng.standard_t(3, N)
    t = gradtrace.fit(
        {"x": x, "y": y}, model="line", loss="mae", dtype="float64", steps=5
    )
    ref = sm.QuantReg(y, sm.add_constant(x)).fit(q=0.5)
    np.testing.assert_allclose(
        [t.info["optimum"]["b"], t.info["optimum"]["w"]], ref.params, rtol=1e-4
    )
    # the linear program is exact: its loss is no larger than QuantReg's (iterative)
    lad = np.mean(np.abs(y - ref.params[0] - ref.params[1] * x))
    assert t.info["optimum_loss"] <= lad * (1 + 1e-12)
    np.testing.assert_allclose(t.info["optimum_loss"], lad, rtol=1e-6)


def _huber(r: np.ndarray, d: float) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= d, 0.5 * r**2, d * (a - 0.5 * d))


@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_line_with_huber_decreases_and_reaches_the_scipy_minimum(delta: float) -> None:
    rng = _rng(7)
    x = rng.uniform(-2, 2, N)
    y = 2.0 * x + 1.0 + rng.standard_t(2, N)
    t = gradtrace.fit(
        {"x": x, "y": y},
        model="line",
        loss="huber",
        delta=delta,
        optimizer="adam",
        lr=0.05,
        steps=1500,
        dtype="float64",
    )
    res = optimize.minimize(
        lambda p: np.mean(_huber(y - p[0] * x - p[1], delta)),
        [0.0, 0.0],
        method="BFGS",
        options={"gtol": 1e-12},
    )
    loss = t.to_pandas()["loss"].to_numpy()
    assert loss[-1] < loss[0]
    assert np.all(np.diff(loss[:20]) < 0)  # adam from rest goes straight down at first
    np.testing.assert_allclose(loss[-1], res.fun, rtol=1e-8)
    np.testing.assert_allclose([t.params["w"], t.params["b"]], res.x, atol=1e-4)
    opt = t.info["optimum"]
    np.testing.assert_allclose([opt["w"], opt["b"]], res.x, atol=1e-6)
    np.testing.assert_allclose(t.info["optimum_loss"], res.fun, rtol=1e-10)
    # the trace's loss is the Huber loss at the trace's parameters
    np.testing.assert_allclose(
        loss[-1],
        np.mean(_huber(y - t.params["w"] * x - t.params["b"], delta)),
        rtol=1e-12,
    )


# -- metrics ------------------------------------------------------------------------


def _epochs_and_batches(n: int, batch: int, steps: int) -> list[np.ndarray]:
    """The rows of each step, without shuffling."""
    starts = list(range(0, n, batch))
    return [
        np.arange(starts[s % len(starts)], min(starts[s % len(starts)] + batch, n))
        for s in range(steps)
    ]


def test_metrics_follow_keras_running_semantics_and_the_full_data() -> None:
    rng = _rng(8)
    n, bs, steps = 10, 4, 8  # 3 batches per epoch (4, 4, 2); nearly three epochs
    x = rng.uniform(-1, 1, n)
    y = 3.0 * x - 1.0 + rng.normal(0, 0.3, n)
    t = gradtrace.fit(
        {"x": x, "y": y},
        model="line",
        optimizer="sgd",
        lr=0.1,
        steps=steps,
        batch_size=bs,
        shuffle=False,
        metrics=["rmse", "mae", "r2"],
        dtype="float64",
        exact=False,
    )
    df = t.to_pandas()
    for col in ("rmse", "mae", "r2", "running_rmse", "running_mae", "running_r2"):
        assert col in df.columns
    w, b = df["w"].to_numpy(), df["b"].to_numpy()
    per_epoch = 3

    # all the data, at the parameters after each step (row 0: the start)
    for s in range(steps + 1):
        err = w[s] * x + b[s] - y
        sst = np.sum((y - y.mean()) ** 2)
        assert df["rmse"][s] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
        assert df["mae"][s] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
        assert df["r2"][s] == pytest.approx(1 - np.sum(err**2) / sst, rel=1e-12)

    # Keras's running values: sums over the batches of this epoch so far, each at
    # the parameters before that batch's update (the row before)
    assert np.isnan(df["running_rmse"][0])
    sse = ae = cnt = sy = syy = 0.0
    for s, rows in enumerate(_epochs_and_batches(n, bs, steps), start=1):
        if (s - 1) % per_epoch == 0:
            sse = ae = cnt = sy = syy = 0.0
        err = w[s - 1] * x[rows] + b[s - 1] - y[rows]
        sse += np.sum(err**2)
        ae += np.sum(np.abs(err))
        cnt += len(rows)
        sy += np.sum(y[rows])
        syy += np.sum(y[rows] ** 2)
        assert df["epoch"][s] == (s - 1) // per_epoch + 1
        assert df["running_rmse"][s] == pytest.approx(np.sqrt(sse / cnt), rel=1e-10)
        assert df["running_mae"][s] == pytest.approx(ae / cnt, rel=1e-10)
        r2 = 1 - sse / (syy - sy**2 / cnt)
        assert df["running_r2"][s] == pytest.approx(r2, rel=1e-10)
    # with mse, running rmse squared is the running loss
    np.testing.assert_allclose(
        df["running_rmse"][1:] ** 2, df["running_loss"][1:], rtol=1e-10
    )


def test_accuracy_of_a_logistic_fit() -> None:
    X, y = _binary()
    X, y = X[:40], y[:40]
    t = gradtrace.fit(
        _two_columns(X, y),
        model="logistic",
        x=["x1", "x2"],
        optimizer="adam",
        lr=0.1,
        steps=6,
        batch_size=16,
        shuffle=False,
        metrics="accuracy",
        dtype="float64",
        exact=False,
    )
    df = t.to_pandas()
    w = df[["w[0]", "w[1]"]].to_numpy()
    b = df["b"].to_numpy()
    hits = 0.0
    count = 0
    batches = _epochs_and_batches(40, 16, 6)
    for s in range(7):
        pred = 1 / (1 + np.exp(-(X @ w[s] + b[s])))
        assert df["accuracy"][s] == pytest.approx(np.mean((pred > 0.5) == y), abs=1e-12)
        if s == 0:
            continue
        rows = batches[s - 1]
        if (s - 1) % 3 == 0:
            hits, count = 0.0, 0
        p = 1 / (1 + np.exp(-(X[rows] @ w[s - 1] + b[s - 1])))
        hits += np.sum((p > 0.5) == y[rows])
        count += len(rows)
        assert df["running_accuracy"][s] == pytest.approx(hits / count, abs=1e-12)
    assert df["accuracy"].iloc[-1] > 0.6


def test_loglik_of_a_normal_fit_is_the_mean_log_likelihood_per_row() -> None:
    from scipy import stats

    y = _rng(9).normal(2.0, 1.5, 50)
    t = gradtrace.fit(
        {"y": y},
        model="normal",
        optimizer="adam",
        lr=0.1,
        steps=20,
        metrics=["loglik"],
        dtype="float64",
        exact=False,
    )
    df = t.to_pandas()
    for s in range(21):
        ref = np.mean(stats.norm.logpdf(y, df["loc"][s], df["scale"][s]))
        assert df["loglik"][s] == pytest.approx(ref, rel=1e-10)
    # full batch: the running value is the value at the parameters before the step
    np.testing.assert_allclose(df["running_loglik"][1:], df["loglik"][:-1], rtol=1e-10)
    # and it is minus the loss (the mean NLL)
    np.testing.assert_allclose(df["loglik"], -df["loss"], rtol=1e-10)
    final = t.info["likelihood"]["final"]["loglik"]
    assert df["loglik"].iloc[-1] * len(y) == pytest.approx(final, rel=1e-10)


# -- bad input ------------------------------------------------------------------------


def _line_data() -> dict[str, np.ndarray]:
    x = np.linspace(0, 1, 20)
    return {"x": x, "y": 2 * x + 1}


BAD: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "degree 0": (_line_data(), {"model": "poly", "degree": 0}, "degree"),
    "degree on line": (_line_data(), {"model": "line", "degree": 2}, "poly"),
    "standardize on line": (
        _line_data(),
        {"model": "line", "standardize": True},
        "linear",
    ),
    "delta without huber": (_line_data(), {"model": "line", "delta": 0.5}, "huber"),
    "accuracy on normal": (
        {"y": np.linspace(0, 1, 20)},
        {"model": "normal", "metrics": ["accuracy"]},
        "loglik",
    ),
    "loglik on line with mse": (
        _line_data(),
        {"model": "line", "loss": "mse", "metrics": ["loglik"]},
        "nll",
    ),
    "unknown metric": (
        _line_data(),
        {"model": "line", "metrics": ["precision"]},
        "rmse, mse, mae, r2, accuracy, loglik",
    ),
    "logistic y = 2": (
        {"x": np.arange(6.0), "y": np.array([0.0, 1.0, 2.0, 0.0, 1.0, 1.0])},
        {"model": "logistic", "x": ["x"]},
        "0 or 1",
    ),
    "poisson y = -1": (
        {"x": np.arange(6.0), "y": np.array([0.0, 1.0, -1.0, 3.0, 1.0, 2.0])},
        {"model": "poisson-regression", "x": ["x"]},
        "whole numbers >= 0",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_a_one_line_message(case: str) -> None:
    data, kwargs, words = BAD[case]
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(pd.DataFrame(data), steps=2, **kwargs)
    message = str(err.value)
    assert words in message
    assert "\n" not in message


def _separable(x: np.ndarray, y: np.ndarray) -> bool:
    """SciPy's linear program: is there a line with every y=1 strictly on one side
    and every y=0 on the other (complete separation)? Its margin t, maximised with
    the coefficients in [-1, 1], is positive then."""
    design = np.column_stack([x, np.ones(len(y))])
    signs = 2 * y - 1
    k = design.shape[1]
    # variables (beta, t): maximise t subject to t - sign * (design @ beta) <= 0
    a_ub = np.column_stack([-signs[:, None] * design, np.ones(len(y))])
    done = optimize.linprog(
        c=[0.0] * k + [-1.0],
        A_ub=a_ub,
        b_ub=np.zeros(len(y)),
        bounds=[(-1, 1)] * k + [(None, 1)],
    )
    assert done.status == 0
    return bool(-done.fun > 1e-9)


@pytest.mark.parametrize("case", ["one x", "tilted", "one flipped", "random"])
def test_separated_classes_have_no_optimum_as_a_linear_program_finds(
    case: str,
) -> None:
    """Perfectly separated classes gave a made-up optimum (w = 970, standard error
    2e6) and advice to take a rate of 1e11."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(80, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.2).astype(float)
    if case == "one x":
        x, y = x[:, :1], (x[:, 0] > 0.3).astype(float)
    elif case == "one flipped":
        y[np.argmax(x[:, 0] + 0.5 * x[:, 1])] = 0.0  # the surest 1 made a 0
    elif case == "random":
        y = (rng.random(80) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    frame = pd.DataFrame({**{f"x{i}": x[:, i] for i in range(x.shape[1])}, "y": y})
    trace = gradtrace.fit(frame, "logistic", lr=0.5, steps=50)
    separable = _separable(x, y)
    assert separable == (case in ("one x", "tilted"))
    assert bool(trace.info.get("separated")) == separable
    if separable:
        assert "optimum" not in trace.info and "diagnosis" not in trace.info
        assert trace.warnings == [
            "the classes are perfectly separated by "
            + ("x0: a cut-off" if case == "one x" else "x0 and x1: a line")
            + " puts every y=1 on one side and every y=0 on the other, so "
            "the likelihood keeps rising as the coefficients grow and has no "
            "maximum: there is no optimum, standard error or rate advice, and more "
            "steps only make the coefficients larger (weight decay, "
            "optimizer='adamw', holds them finite)."
        ]
        assert trace.summary()["optimum"].isna().all()  # none, NaN
    else:
        assert np.isfinite(trace.info["stderr"]["w"]).all()


def _on_the_cut(x: np.ndarray, y: np.ndarray) -> int | None:
    """Quasi-complete separation by SciPy, row by row: row i can be pushed off the
    cut when some coefficients keep every row on its class's side or on the cut
    and row i at least 1 off it (a linear program each). The rows that cannot are
    on the cut; None when none can (no separation)."""
    design = np.column_stack([x.reshape(len(y), -1), np.ones(len(y))])
    signed = (2 * y - 1)[:, None] * design
    free = 0
    for i in range(len(y)):
        done = optimize.linprog(
            c=np.zeros(design.shape[1]),
            A_ub=-signed,
            b_ub=np.where(np.arange(len(y)) == i, -1.0, 0.0),
            bounds=[(None, None)] * design.shape[1],
        )
        free += done.status == 0
    return None if free == 0 else len(y) - free


@pytest.mark.parametrize("case", ["a category all ones", "two columns", "overlap"])
def test_quasi_complete_separation_is_found_as_linear_programs_find_it(
    case: str,
) -> None:
    """A category whose rows are all y=1 got a made-up optimum (w = 25.7, standard
    error 120856, as statsmodels' Logit prints beside a convergence warning) and a
    prediction of 7e12 steps."""
    rng = np.random.default_rng(5)
    if case == "a category all ones":
        x = np.repeat([0.0, 1.0], 15)
        y = np.concatenate([rng.permutation([0.0, 1.0] * 7 + [1.0]), np.ones(15)])
    elif case == "two columns":  # an overlapping column, and a telling category
        group = np.repeat([0.0, 1.0], [25, 15])
        x = np.column_stack([rng.normal(size=40), group])
        y = np.where(group == 1, 0.0, (rng.random(40) < 0.5).astype(float))
    else:  # a wide x, classes overlapping in the middle: near-certain rows only
        x = np.linspace(-60.0, 60.0, 40)
        y = (x > 0).astype(float)
        y[[18, 21]] = y[[21, 18]]
    columns = x.reshape(len(y), -1).T
    frame = pd.DataFrame({**{f"x{i}": c for i, c in enumerate(columns)}, "y": y})
    trace = gradtrace.fit(frame, "logistic", lr=0.1, steps=5)
    on_cut = _on_the_cut(x, y)
    if case == "overlap":
        assert on_cut is None and "separated" not in trace.info
        assert np.isfinite(trace.info["stderr"]["w"]).all()
        return
    assert on_cut == {"a category all ones": 15, "two columns": 25}[case]
    assert trace.info["separated"] is True and trace.info["on_cut"] == on_cut
    assert "optimum" not in trace.info and "diagnosis" not in trace.info
    assert trace.warnings[
        0
    ].startswith(
        "the classes are quasi-completely separated by "
        # the category alone: x0, the overlapping column, not named beside it
        + ("x0: a cut-off" if case == "a category all ones" else "x1: a cut-off")
        + " puts every y=1 on one side of it or on it and every y=0 on the other "
        f"side or on it ({on_cut} rows on it), so the likelihood keeps rising"
    )
    # a sweep measures its gaps from the loss's infimum: the rows on the cut at
    # their own best (for one category, the Bernoulli entropy of its share of 1s)
    swept = gradtrace.sweep(frame, "logistic", lr=[0.5], steps=5)
    assert swept.info["on_cut"] == on_cut
    assert swept.warnings[0].startswith(
        "the classes are quasi-completely separated by "
        + ("x0: a cut-off" if case == "a category all ones" else "x1: a cut-off")
    )
    if case == "a category all ones":
        share = y[:15].mean()
        entropy = -(share * np.log(share) + (1 - share) * np.log(1 - share))
        assert swept.info["loss_infimum"] == pytest.approx(entropy / 2, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_the_rows_on_the_cut_are_counted_as_per_row_programs_count_them(
    seed: int,
) -> None:
    """The search itself (exact.separating_direction), where the solver's own
    coefficients give no certificate: a program that maximised the rows' summed
    margins stopped at a corner with 1-3 rows of perfectly separated data left at
    margin 0, and called them on the cut."""
    from gradtrace.core import exact
    from gradtrace.core.models import Logistic

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    if seed % 2:  # a category of rows all y=0 at x1 = 1, the rest mixed
        x[:, 1] = (np.arange(40) < 12).astype(float)
        y = np.where(x[:, 1] == 1, 0.0, (rng.random(40) < 0.5).astype(float))
    found = exact.separating_direction(Logistic(n_features=2), x, y)
    assert found == _on_the_cut(x, y)
    assert found == (0 if seed % 2 == 0 else 28)


def test_a_sweep_on_separated_classes_measures_no_steps_to_an_optimum() -> None:
    """A sweep stored the solver's stopping point on the way to infinity as the
    optimum, and counted steps to come "within tol" of it. With the classes
    separated (SciPy's linear program says so), it keeps no optimum, no
    configuration reaches one, ``gap`` is the loss itself (its infimum is 0), and
    the warning a fit gives is the sweep's."""
    import matplotlib

    matplotlib.use("Agg")
    x = np.linspace(-2.0, 2.0, 40)
    y = (x > 0.3).astype(float)
    assert _separable(x[:, None], y)
    frame = pd.DataFrame({"dose": x, "y": y})
    result = gradtrace.sweep(frame, "logistic", lr=[0.1, 1.0], steps=30)
    assert result.info["separated"] is True
    assert result.info["optimum"] is None and result.info["optimum_loss"] is None
    assert result.table["steps_to_tol"].isna().all()
    np.testing.assert_array_equal(result.table["gap"], result.table["loss"])
    assert result.best["lr"] == 1.0  # the lower loss
    assert result.warnings[0].startswith(
        "the classes are perfectly separated by dose: a cut-off puts every y=1"
    )
    assert "optimizer='adamw'" in result.warnings[0]
    fig = result.plot("losses")
    assert "separated" in fig.axes[0].get_ylabel()
    # classes that overlap keep their optimum
    y[np.argmax(x)] = 0.0
    kept = gradtrace.sweep(
        pd.DataFrame({"dose": x, "y": y}), "logistic", lr=[0.1, 1.0], steps=30
    )
    assert "separated" not in kept.info and kept.info["optimum_loss"] > 0
    assert kept.warnings == []


@pytest.mark.parametrize("model", ["logistic", "poisson-regression"])
def test_a_glm_on_standardised_x_gives_statsmodels_slopes_in_x_units(
    model: str,
) -> None:
    """--standardize was for linear alone; a logistic or Poisson regression on
    columns of very different scales crawls just as a line does."""
    rng = _rng(8)
    X = rng.normal(loc=[50.0, 0.01], scale=[10.0, 0.002], size=(N, 2))
    eta = 0.04 * (X[:, 0] - 50) + 150 * (X[:, 1] - 0.01) - 0.3
    if model == "logistic":
        y = (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(float)
        ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
        ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    t = gradtrace.fit(
        _two_columns(X, y),
        model=model,
        standardize=True,
        optimizer="adam",
        lr=0.1,
        steps=600,
        dtype="float64",
    )
    units = t.info["original_units"]
    np.testing.assert_allclose(
        _flat(units["optimum"], ["b", "w"]), ref.params, rtol=1e-7
    )
    np.testing.assert_allclose(_flat(units["final"], ["b", "w"]), ref.params, rtol=1e-4)
    # their standard errors are statsmodels' on x as it is
    np.testing.assert_allclose(_flat(units["stderr"], ["b", "w"]), ref.bse, rtol=1e-6)
    table = t.summary()
    np.testing.assert_allclose(
        table.loc[["b", "w[0]", "w[1]"], "std_error_in_x_units"], ref.bse, rtol=1e-6
    )
    # the trained slopes are in standard units
    np.testing.assert_allclose(
        t.info["optimum"]["w"], units["optimum"]["w"] * X.std(axis=0), rtol=1e-9
    )
    assert t.info["model_options"]["center"] == pytest.approx(X.mean(axis=0))
    assert t.warnings == []


def test_a_held_coefficient_is_not_called_separated() -> None:
    """With w held, only b moves: the loss has a finite minimum (SciPy's), and the
    classes that w alone would separate are not said to be."""
    x = np.linspace(-2, 2, 60)
    frame = pd.DataFrame({"x": x, "y": (x > 0.1).astype(float)})
    trace = gradtrace.fit(frame, "logistic", fix={"w": 3.0}, lr=0.5, steps=20)
    assert "separated" not in trace.info

    def loss(b: np.ndarray) -> float:
        eta = 3.0 * x + b[0]
        return float(np.mean(np.logaddexp(0, eta) - frame["y"] * eta))

    best = optimize.minimize(loss, [0.0]).x[0]
    np.testing.assert_allclose(trace.info["optimum"]["b"], best, rtol=1e-4)


def test_a_poisson_regression_whose_zeros_a_column_sets_apart_has_no_optimum() -> None:
    """A group whose counts are all 0: its coefficient runs to -infinity
    (statsmodels stops at -23.9, standard error 1.4e4), and gradtrace reported
    -27.9, standard error 1.7e5, as an optimum. A linear program's certificate
    now says there is none: which rows, and why."""
    from gradtrace.core import exact
    from gradtrace.core.catalog import make_model

    rng = np.random.default_rng(0)
    g = (rng.random(100) < 0.5).astype(float)
    x = rng.normal(size=100)
    y = np.where(g == 1, 0, rng.poisson(np.exp(0.5 + 0.3 * x))).astype(float)
    model = make_model("poisson-regression", 2)
    xs = np.c_[g, x]
    assert exact.zero_direction(model, xs, y) == int(np.sum(g == 1))
    # counts of 0 only where chance put them: a best fit exists
    plain = rng.poisson(np.exp(0.5 + 0.3 * x)).astype(float)
    assert exact.zero_direction(model, xs, plain) is None
    trace = gradtrace.fit(
        {"g": g, "x": x, "y": y},
        "poisson-regression",
        optimizer="adam",
        lr=0.05,
        steps=2000,
    )
    assert trace.info["separated"] == "zeros" and "optimum" not in trace.info
    (said,) = trace.warnings
    # by g alone, which is 0 wherever a count is above 0: x is not named
    assert said.startswith(
        f"{int(np.sum(g == 1))} rows of count 0 can be set apart by g from every row"
    )
    assert trace.info["separated_by"] == [0]
    assert "has no maximum" in said
    found = gradtrace.diagnose({"g": g, "x": x, "y": y}, "poisson-regression")
    assert "counts of 0 set apart, no optimum" in repr(found)
    assert found.lines()[0].startswith(
        f"{int(np.sum(g == 1))} rows of count 0 can be set apart by g from"
    )


@pytest.mark.parametrize("value", [0, 1])
def test_one_class_is_told_as_one_class_not_a_separation(value: int) -> None:
    """y all 1 was told "a cut-off puts every y=1 on one side and every y=0 on
    the other", of data with no y=0 (a statistician's find)."""
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [float(value)] * 4})
    trace = gradtrace.fit(frame, "logistic", steps=20)
    (said,) = trace.convergence_warnings()
    assert said.startswith(
        f"every y is {value}: the data hold one class only, so the likelihood "
        f"keeps rising as the fitted probabilities of y=1 go to {value}"
    )
    assert said.endswith("give data with both classes, 0 and 1.")
    found = gradtrace.diagnose(frame, "logistic")
    assert "one class, no optimum" in repr(found)


def test_one_class_read_from_a_stream_and_no_counts_are_told_so(tmp_path: Path) -> None:
    """A stream's one class was told as a separation, and a Poisson regression of
    every count 0 that its "rows of count 0 can be set apart ... or leave those
    rows out", which leaves nothing (a review's finds); a sweep says the same."""
    ones = pd.DataFrame({"x": np.linspace(0, 1, 10), "y": np.ones(10)})
    ones.to_parquet(tmp_path / "one.parquet")
    streamed = gradtrace.fit(
        tmp_path / "one.parquet", "logistic", stream=True, chunk_rows=4, steps=5
    )
    assert streamed.warnings[0].startswith("every y is 1: the data hold one class")
    zeros = pd.DataFrame({"x": np.linspace(0, 1, 10), "y": np.zeros(10)})
    said = gradtrace.fit(zeros, "poisson-regression", steps=5).warnings[0]
    assert said.startswith("every count is 0, so the likelihood keeps rising")
    assert "a Poisson fit needs some counts above 0." in said
    swept = gradtrace.sweep(zeros, "poisson-regression", lr=[0.1, 0.2], steps=5)
    assert swept.warnings[0] == said  # a trace's words, its own without "warning: "


def test_an_offset_is_not_named_among_the_separating_columns() -> None:
    x = np.linspace(-2, 2, 40)
    shift = np.random.default_rng(0).normal(0, 0.1, 40)
    frame = pd.DataFrame({"x": x, "sh": shift, "y": (x > 0).astype(float)})
    trace = gradtrace.fit(frame, "logistic", offset="sh", steps=20)
    assert trace.warnings[0].startswith(
        "the classes are perfectly separated by x: a cut-off puts"
    )
    found = gradtrace.diagnose(frame, "logistic", offset="sh")
    assert found.lines()[0].startswith("the classes are perfectly separated by x:")
