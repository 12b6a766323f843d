"""Robust (sandwich) standard errors, ``stderr="hc0" | "hc1" | "hc2" | "hc3"``
(``--stderr``): against statsmodels' ``cov_type`` of the same name, for least
squares (a line, a linear model; a nonlinear model against the sandwich written
out here in NumPy) and for likelihoods (Poisson and logistic regressions, a
distribution); the same from a stream; bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import gradtrace
from gradtrace.errors import InputError
from helpers import fit_refused, run_cli


def hetero(n: int = 300, seed: int = 5) -> pd.DataFrame:
    """A line whose noise grows with x: the classical errors are wrong there."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    return pd.DataFrame({"x": x, "y": 0.7 * x + 1.4 + rng.normal(0, 0.2 + 0.3 * x)})


@pytest.mark.parametrize("kind", ["hc0", "hc1", "hc2", "hc3"])
def test_a_lines_robust_errors_are_statsmodels(kind: str) -> None:
    frame = hetero()
    trace = gradtrace.fit(frame, lr=0.01, epochs=2, stderr=kind)
    ols = sm.OLS(frame["y"], sm.add_constant(frame["x"])).fit(cov_type=kind.upper())
    se = trace.info["stderr"]
    assert se["w"] == pytest.approx(ols.bse["x"], rel=1e-9)
    assert se["b"] == pytest.approx(ols.bse["const"], rel=1e-9)
    assert f"robust ({kind.upper()}) standard errors" in trace.info["optimum_method"]
    # the interval is the estimate -+ t(n - 2) of these errors, as the classical
    # one's (Stata's regress, vce(robust); statsmodels' robust intervals take z)
    q = stats.t.ppf(0.975, len(frame) - 2)
    w, e = trace.info["optimum"]["w"], ols.bse["x"]
    assert trace.info["ci"]["w"] == pytest.approx([w - q * e, w + q * e], rel=1e-9)


def test_a_linear_models_hc3_is_statsmodels_and_classical_is_unchanged() -> None:
    rng = np.random.default_rng(1)
    n = 200
    u, v = rng.normal(size=n), rng.uniform(1, 3, n)
    y = 1.0 + 2.0 * u - 0.5 * v + rng.normal(0, 0.3 * v**2)
    frame = pd.DataFrame({"u": u, "v": v, "y": y})
    design = sm.add_constant(frame[["u", "v"]])
    robust = gradtrace.fit(frame, "linear", lr=0.01, epochs=2, stderr="hc3")
    ols = sm.OLS(y, design).fit(cov_type="HC3")
    assert robust.info["stderr"]["w"] == pytest.approx(ols.bse[["u", "v"]], rel=1e-9)
    assert robust.info["stderr"]["b"] == pytest.approx(ols.bse["const"], rel=1e-9)
    classical = gradtrace.fit(frame, "linear", lr=0.01, epochs=2)
    plain = sm.OLS(y, design).fit()
    assert classical.info["stderr"]["w"] == pytest.approx(plain.bse[["u", "v"]], 1e-9)
    assert "robust" not in classical.info["optimum_method"]


@pytest.mark.parametrize(
    ("model", "family", "kind"),
    [
        ("poisson-regression", sm.families.Poisson(), "hc0"),
        ("logistic", sm.families.Binomial(), "hc1"),
    ],
)
def test_a_glms_sandwich_is_statsmodels(model: str, family: object, kind: str) -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    eta = 0.3 + 0.8 * x
    if model == "logistic":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:  # overdispersed counts: the Poisson's own errors are too small
        y = rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, n)).astype(float)
    frame = pd.DataFrame({"x": x, "y": y})
    trace = gradtrace.fit(frame, model, lr=0.05, epochs=2, stderr=kind)
    # statsmodels' GLM gives HC0 for each of its HC kinds: HC1 is HC0's
    # covariance times n / (n - p), as least squares' is
    glm = sm.GLM(y, sm.add_constant(x), family=family).fit(cov_type="HC0")
    factor = np.sqrt(n / (n - 2)) if kind == "hc1" else 1.0
    se = trace.info["stderr"]
    assert se["w"] == pytest.approx([glm.bse[1] * factor], rel=1e-6)
    assert se["b"] == pytest.approx(glm.bse[0] * factor, rel=1e-6)


def test_a_nonlinear_models_sandwich_is_the_one_written_out() -> None:
    """exp-decay by least squares: (J'J)^-1 J' diag(e^2) J (J'J)^-1, J the
    predictions' derivatives at the optimum, written out here."""
    rng = np.random.default_rng(2)
    t = rng.uniform(0, 5, 150)
    y = 3 * np.exp(-0.7 * t) + 0.5 + rng.normal(0, 0.02 + 0.05 * t)
    frame = pd.DataFrame({"x": t, "y": y})
    trace = gradtrace.fit(frame, "exp-decay", lr=0.05, epochs=2, stderr="hc0")
    best = trace.info["optimum"]
    a, b, c = best["a"], best["b"], best["c"]
    e = np.exp(-b * t)
    jac = np.column_stack([e, -a * t * e, np.ones_like(t)])
    resid = y - (a * e + c)
    bread = np.linalg.inv(jac.T @ jac)
    cov = bread @ (jac.T * resid**2) @ jac @ bread
    se = trace.info["stderr"]
    assert [se["a"], se["b"], se["c"]] == pytest.approx(np.sqrt(np.diag(cov)), 1e-6)


def test_a_distributions_sandwich_and_a_gaussian_lines() -> None:
    """A normal's hc0 is its sandwich over loc and scale (written out); a line
    by Gaussian likelihood has least squares' hc0 for w and b."""
    rng = np.random.default_rng(4)
    y = rng.standard_t(4, 500)  # heavier tails than the normal assumes
    trace = gradtrace.fit(pd.DataFrame({"y": y}), "normal", steps=3, stderr="hc0")
    mu, s = np.mean(y), np.std(y)
    d = y - mu
    scores = np.column_stack([-d / s**2, 1 / s - d**2 / s**3])  # of -log p
    h = np.array([[len(y) / s**2, 0.0], [0.0, 2 * len(y) / s**2]])
    hinv = np.linalg.inv(h)
    cov = hinv @ (scores.T @ scores) @ hinv
    se = trace.info["stderr"]
    assert [se["loc"], se["scale"]] == pytest.approx(np.sqrt(np.diag(cov)), 1e-6)
    frame = hetero()
    line = gradtrace.fit(frame, loss="nll", lr=0.01, epochs=2, stderr="hc0")
    ols = sm.OLS(frame["y"], sm.add_constant(frame["x"])).fit(cov_type="HC0")
    assert line.info["stderr"]["w"] == pytest.approx(ols.bse["x"], rel=1e-9)


def test_a_stream_gets_the_same_robust_errors(tmp_path: Path) -> None:
    frame = hetero(n=2000)
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    whole = gradtrace.fit(str(path), lr=0.01, epochs=1, stderr="hc3")
    streamed = gradtrace.fit(
        str(path), lr=0.01, epochs=1, stderr="hc3", stream=True, chunk_rows=300
    )
    for k in ("w", "b"):
        assert streamed.info["stderr"][k] == pytest.approx(
            whole.info["stderr"][k], rel=1e-9
        )


def test_the_command_line_config_and_rerun_take_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "h.csv"
    hetero().to_csv(data, index=False)
    out = tmp_path / "run"
    code, said, err = run_cli(
        ["fit", str(data), "--stderr", "HC3", "-q", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert "least squares, closed form; robust (HC3) standard errors" in said
    code, said, err = run_cli(["show", str(out)], capsys)
    assert code == 0 and "std. error (HC3)" in said
    code, said, err = run_cli(["rerun", str(out), "--out", str(tmp_path / "b")], capsys)
    assert code == 0, err
    config = tmp_path / "c.toml"
    config.write_text(f'data = "{data}"\nstderr = "hc1"\n')
    code, said, err = run_cli(
        ["fit", "--config", str(config), "-q", "--out", str(tmp_path / "c")], capsys
    )
    assert code == 0 and "robust (HC1)" in said, err
    code, said, err = run_cli(["diagnose", str(data), "--stderr", "hc0"], capsys)
    assert code == 0 and "robust (HC0) standard errors" in said, err


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--stderr", "hc9"], "unknown --stderr 'hc9': choose one of: classical"),
        (["--stderr", "hc0", "--loss", "mae"], "robust standard errors are for"),
        (["--model", "normal", "--stderr", "hc3"], "a likelihood takes --stderr hc0"),
        (["--model", "poisson", "--stderr", "hc2"], "--stderr hc2 weighs each row"),
    ],
)
def test_bad_stderr_is_told_what_to_give(
    args: list[str], told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit_refused(["seed001_line", "--epochs", "1", *args], told, tmp_path / "r", capsys)


def test_a_python_caller_is_told_in_pythons_words() -> None:
    with pytest.raises(InputError, match="stderr='hc0'|stderr hc0"):
        gradtrace.fit("seed001_line", loss="mae", epochs=1, stderr="hc0")


@pytest.mark.parametrize("kind", ["hc0", "hc1", "hc2", "hc3"])
def test_no_more_rows_than_parameters_leave_no_robust_error(kind: str) -> None:
    """Three rows, three parameters: no residual to build the meat from; hc0
    gave rounding's 3e-16 as errors (t = -2e15), hc3 0/0 leverages."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": rng.normal(size=3)})
    trace = gradtrace.fit(frame, "poly", degree=2, epochs=1, stderr=kind)
    assert np.isnan(trace.info["stderr"]["w"]).all()
    assert np.isnan(trace.info["stderr"]["b"])


def test_the_estimates_name_the_errors_computed_not_those_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Laplace's kink leaves its classical errors: the column says so; a
    linear model on standardised x shows x's own units beside, and its x."""
    from gradtrace.estimates import estimates, robust_kind

    y = np.random.default_rng(1).laplace(2.0, 1.5, 300)
    laplace = gradtrace.fit(pd.DataFrame({"y": y}), "laplace", steps=5, stderr="hc0")
    assert "classical standard errors" in laplace.info["optimum_method"]
    assert robust_kind(laplace.info) is None
    table = estimates(laplace.summary(), robust_kind(laplace.info))
    assert table is not None and "std. error" in table.columns
    rng = np.random.default_rng(1)
    u, v = rng.normal(5, 3, 200), rng.uniform(1, 3, 200)
    frame = pd.DataFrame(
        {"u": u, "v": v, "y": 1 + 2 * u - 0.5 * v + rng.normal(0, 1, 200)}
    )
    trace = gradtrace.fit(
        frame, "linear", standardize=True, epochs=2, lr=0.1, stderr="hc3"
    )
    assert robust_kind(trace.info) == "hc3"
    shown = estimates(trace.summary(), "hc3")
    assert shown is not None
    assert list(shown["x"]) == ["u", "v", ""]
    ols = sm.OLS(frame["y"], sm.add_constant(frame[["u", "v"]])).fit(cov_type="HC3")
    assert float(shown.loc["w[0]", "estimate in x's units"]) == pytest.approx(
        ols.params["u"], rel=1e-6
    )
    assert float(shown.loc["w[0]", "std. error in x's units"]) == pytest.approx(
        ols.bse["u"], rel=1e-3
    )


def test_noise_that_varies_with_x_is_noted_with_breusch_pagans_test() -> None:
    """The classical errors' assumption is tested (Koenker's studentised
    Breusch-Pagan, statsmodels' het_breuschpagan): noise growing with x gets a
    note naming --stderr hc3; even noise, or robust errors asked for, none."""
    from statsmodels.stats.diagnostic import het_breuschpagan

    frame = hetero()
    trace = gradtrace.fit(frame, lr=0.01, epochs=2)
    design = sm.add_constant(frame["x"])
    resid = sm.OLS(frame["y"], design).fit().resid
    lm, p, _, _ = het_breuschpagan(resid, design)
    (note,) = [n for n in trace.notes if "Breusch-Pagan" in n]
    assert f"test: {lm:.4g} on 1 degree of freedom, p = {p:.2g})" in note
    assert "stderr='hc3'" in note  # in Python's words
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 300)
    even = pd.DataFrame({"x": x, "y": 0.7 * x + rng.normal(0, 1, 300)})
    assert not any("Breusch" in n for n in gradtrace.fit(even, epochs=1).notes)
    robust = gradtrace.fit(frame, lr=0.01, epochs=2, stderr="hc3")
    assert not any("Breusch" in n for n in robust.notes)
    # a Gaussian likelihood's fit is offered what it takes: hc1, not hc3 (which
    # it refuses as least squares' own)
    nll = gradtrace.fit(frame, loss="nll", lr=0.01, epochs=2)
    (note,) = [n for n in nll.notes if "Breusch-Pagan" in n]
    assert "stderr='hc1'" in note
    taken = gradtrace.fit(frame, loss="nll", lr=0.01, epochs=2, stderr="hc1")
    assert not any("Breusch" in n for n in taken.notes)


def test_breusch_pagan_tests_nonlinear_models_and_held_parameters() -> None:
    """An expression model and a line with its intercept held (--fix) were not
    tested: their squared residuals at the optimum are regressed on x and an
    intercept, as statsmodels' het_breuschpagan does given those columns."""
    from statsmodels.stats.diagnostic import het_breuschpagan

    rng = np.random.default_rng(2)
    x = rng.uniform(0, 6, 400)
    y = 3 * np.exp(-0.4 * x) + 1 + rng.normal(0, 0.02 + 0.05 * x)
    frame = pd.DataFrame({"x": x, "y": y})
    decay = gradtrace.fit(
        frame,
        model_expr="a*exp(-b*x) + c",
        init={"b": 0.5},
        optimizer="adam",
        lr=0.05,
        steps=5,
    )
    best = decay.info["optimum"]
    resid = y - (best["a"] * np.exp(-best["b"] * x) + best["c"])
    lm, p, _, _ = het_breuschpagan(resid, sm.add_constant(x))
    (note,) = [n for n in decay.notes if "Breusch-Pagan" in n]
    assert f"test: {lm:.4g} on 1 degree of freedom, p" in note
    frame = hetero()
    held = gradtrace.fit(frame, lr=0.01, epochs=2, fix={"b": 1.4})
    w = held.info["optimum"]["w"]
    lm, p, _, _ = het_breuschpagan(
        frame["y"] - w * frame["x"] - 1.4, sm.add_constant(frame["x"])
    )
    (note,) = [n for n in held.notes if "Breusch-Pagan" in n]
    assert f"test: {lm:.4g} on 1 degree of freedom, p = {p:.2g})" in note


def test_a_model_that_misses_a_shape_is_noted_with_ramseys_reset() -> None:
    """A teacher's line through exponential decay: the only note blamed the
    noise (Breusch-Pagan, use --stderr hc3) while the residuals bent from +0.33
    to -0.37 and up to +0.67. RESET (statsmodels' linear_reset, the fitted
    values' square and cube) names the missed shape first, and the spread's
    note says to mend the model before its errors; a line through a line, and
    the decay's own model, get neither."""
    from statsmodels.stats.diagnostic import linear_reset

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 5, 100)
    y = 3 * np.exp(-0.7 * x) + 0.5 + rng.normal(0, 0.1, 100)
    frame = pd.DataFrame({"x": x, "y": y})
    line = gradtrace.fit(frame, lr=0.02, epochs=5)
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    test = linear_reset(ols, power=3, test_type="fitted", use_f=True)
    assert test.df_num == 2 and test.df_denom == 96
    (note,) = [n for n in line.notes if "RESET" in n]
    assert note.startswith(
        f"the residuals bend with the prediction (RESET test: F = {test.fvalue:.4g} "
        f"on 2 and 96 degrees of freedom, p = {test.pvalue:.2g}; the bend is "
    )
    share = (
        1
        - sm.OLS(
            ols.resid,
            np.column_stack(
                [sm.add_constant(x), ols.fittedvalues**2, ols.fittedvalues**3]
            ),
        )
        .fit()
        .ssr
        / ols.ssr
    )
    assert f"the bend is {share:.0%} of their sum of squares): the model misses" in note
    assert line.notes.index(note) < len(line.notes) - 1  # before the spread's
    spread = line.notes[line.notes.index(note) + 1]
    assert "Breusch-Pagan" in spread and spread.endswith("mend the model first.")
    title = line.plot("residuals").axes[0].get_title()
    assert "the model misses a shape of the data" in title.replace("\n", " ")
    # robust errors do not mend a missed shape: still said
    robust = gradtrace.fit(frame, lr=0.02, epochs=5, stderr="hc3")
    assert [n for n in robust.notes if "RESET" in n] == [note]
    assert not any("Breusch" in n for n in robust.notes)
    straight = pd.DataFrame({"x": x, "y": 0.7 * x + rng.normal(0, 0.1, 100)})
    assert not any("RESET" in n for n in gradtrace.fit(straight, epochs=2).notes)
    decay = gradtrace.fit(
        frame,
        model_expr="a*exp(-b*x) + c",
        init={"a": 3.0, "b": 0.5},
        optimizer="adam",
        lr=0.05,
        steps=5,
    )
    assert not any("RESET" in n for n in decay.notes)


@settings(max_examples=50, deadline=None)
@given(
    f=st.floats(min_value=0.0, max_value=1e4),
    dof=st.integers(min_value=1, max_value=2000),
)
def test_the_f_tail_of_two_degrees_is_scipys(f: float, dof: int) -> None:
    """RESET's p-value, in closed form, against SciPy's F(2, d)."""
    from gradtrace.core.robust import f2_sf

    assert f2_sf(f, dof) == pytest.approx(stats.f.sf(f, 2, dof), rel=1e-6, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(min_value=1e-6, max_value=600.0),
    dof=st.integers(min_value=1, max_value=30),
)
def test_the_chi_squared_tail_is_scipys(x: float, dof: int) -> None:
    """Breusch-Pagan's p-value, from the gamma function's finite sums, against
    SciPy's chi-squared survival function."""
    from gradtrace.core.robust import chi2_sf

    expected = stats.chi2.sf(x, dof)
    if expected > 1e-290:
        assert chi2_sf(x, dof) == pytest.approx(expected, rel=1e-10, abs=1e-300)


@settings(max_examples=150, deadline=None)
@given(
    ratio=st.floats(min_value=0.3, max_value=4.0),
    dof=st.integers(min_value=1, max_value=200_000),
)
def test_the_chi_squared_tail_is_scipys_far_out_too(ratio: float, dof: int) -> None:
    """The tail's logarithm against SciPy's, where e^-h underflows (h past 745:
    p-values of 1e-241 read 0) and over many degrees (a Poisson fit's n - p,
    where an approximation was 1e15 off in the tail): the p-value to 1e-7 of
    itself."""
    from gradtrace.core.robust import chi2_sf

    x = ratio * dof
    expected = stats.chi2.logsf(x, dof)
    got = chi2_sf(x, dof)
    if expected > -700:  # a p-value a double holds, to 1e-7 of itself (the
        # sums of 1e5 terms round by 3e-9 in the log)
        assert abs(math.log(got) - expected) < 1e-7
    else:
        assert got < 1e-300


def test_counts_that_vary_more_than_a_poissons_are_noted() -> None:
    """A statistician's negative-binomial counts, fitted by a Poisson regression,
    got a standard error of 0.018 and p = 6e-172 without a word. Pearson's
    chi-squared is statsmodels'; Poisson counts get no note; a Poisson
    distribution is pointed to the negative binomial."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    mean = np.exp(1 + 0.3 * x)
    spread = rng.negative_binomial(2, 2 / (2 + mean)).astype(float)
    trace = gradtrace.fit(
        pd.DataFrame({"x": x, "y": spread}), "poisson-regression", lr=0.1, steps=50
    )
    glm = sm.GLM(spread, sm.add_constant(x), family=sm.families.Poisson()).fit()
    (note,) = [n for n in trace.notes if "as much as a Poisson's" in n]
    ratio = glm.pearson_chi2 / glm.df_resid
    assert note.startswith(
        f"the counts vary {ratio:.3g} times as much as a Poisson's (Pearson's "
        f"chi-squared {glm.pearson_chi2:.4g} on 1998 degrees of freedom"
    )
    assert note.endswith(
        f"are about {np.sqrt(ratio):.2g} times too small: stderr='hc0' gives ones "
        "robust to it."
    )
    even = rng.poisson(mean).astype(float)
    plain = gradtrace.fit(
        pd.DataFrame({"x": x, "y": even}), "poisson-regression", lr=0.1, steps=50
    )
    assert not any("as much as a Poisson's" in n for n in plain.notes)
    rate = gradtrace.fit(pd.DataFrame({"y": spread}), "poisson", lr=0.1, steps=50)
    assert any("model='negative-binomial' fits counts" in n for n in rate.notes)
    # asked for robust errors already: nothing to say
    robust = gradtrace.fit(
        pd.DataFrame({"x": x, "y": spread}),
        "poisson-regression",
        lr=0.1,
        steps=50,
        stderr="hc0",
    )
    assert not any("as much as a Poisson's" in n for n in robust.notes)


def test_a_streamed_poisson_fit_is_told_of_its_overdispersion_too(
    tmp_path: Path,
) -> None:
    """Pearson's chi-squared is summed chunk by chunk: a Parquet file of
    negative-binomial counts fitted with --stream was told nothing, its standard
    errors 1.5 times too small. The note is the in-memory fit's, and the Poisson
    distribution's as well (its rate the one parameter)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=3000)
    mean = np.exp(0.5 + 0.8 * x)
    y = rng.negative_binomial(2, 2 / (2 + mean)).astype(float)
    path = tmp_path / "counts.parquet"
    pd.DataFrame({"x": x, "y": y}).to_parquet(path)
    glm = sm.GLM(y, sm.add_constant(x), family=sm.families.Poisson()).fit()
    for model, dof, chi2 in (
        ("poisson-regression", 2998, glm.pearson_chi2),
        ("poisson", 2999, float(np.sum((y - y.mean()) ** 2 / y.mean()))),
    ):
        options = {"y": "y", "optimizer": "adam", "lr": 0.05, "steps": 300}
        whole = gradtrace.fit(str(path), model, **options)
        streamed = gradtrace.fit(
            str(path), model, stream=True, chunk_rows=700, **options
        )
        notes = [
            [n for n in t.notes if "as much as a Poisson's" in n]
            for t in (whole, streamed)
        ]
        assert notes[0] == notes[1] and len(notes[0]) == 1, notes
        assert f"chi-squared {chi2:.4g} on {dof} degrees of freedom" in notes[1][0]


def decay_file(
    tmp_path: Path, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, Path]:
    """A decay a line misses (a bend), its noise growing with x (an uneven
    spread), written to a Parquet file: x, y and the file."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, n)
    y = 3 * np.exp(-0.7 * x) + 0.5 + rng.normal(0, 0.05 + 0.05 * x)
    path = tmp_path / "decay.parquet"
    pd.DataFrame({"x": x, "y": y}).to_parquet(path)
    return x, y, path


def test_a_streamed_fit_is_tested_for_bends_and_uneven_noise_too(
    tmp_path: Path,
) -> None:
    """RESET and Breusch-Pagan go over the rows a block at a time (the R factor
    of a QR decomposition updated block by block): a Parquet file fitted with
    --stream, in chunks of 700 rows, got neither note; now both are the
    in-memory fit's, whose figures are statsmodels'."""
    from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset

    x, y, path = decay_file(tmp_path, 3000, seed=1)
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    bend = linear_reset(ols, power=3, test_type="fitted", use_f=True)
    lm, p, _, _ = het_breuschpagan(ols.resid, sm.add_constant(x))
    notes = []
    for streamed in (False, True):
        extra = {"stream": True, "chunk_rows": 700} if streamed else {}
        trace = gradtrace.fit(str(path), lr=0.02, epochs=2, **extra)
        notes.append([n for n in trace.notes if "RESET" in n or "Breusch" in n])
    assert notes[0] == notes[1] and len(notes[1]) == 2, notes
    reset_note, spread_note = notes[1]
    assert f"RESET test: F = {bend.fvalue:.4g} on 2 and 2996 degrees" in reset_note
    assert f"test: {lm:.4g} on 1 degree of freedom, p = {p:.2g})" in spread_note


def test_a_long_data_sets_residuals_are_tested_on_evenly_spaced_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ``TESTED_ROWS`` rows (a million), RESET and Breusch-Pagan take one
    row in every ceil(n / TESTED_ROWS), from the first, and say so: their
    figures are statsmodels' of those rows (of the least-squares fit of all of
    them), in memory and streamed alike."""
    from statsmodels.stats.diagnostic import het_breuschpagan

    from gradtrace.core import robust

    monkeypatch.setattr(robust, "TESTED_ROWS", 1000)
    x, y, path = decay_file(tmp_path, 2500, seed=4)
    whole = sm.OLS(y, sm.add_constant(x)).fit()
    # the rows tested, with the fit of all rows' residuals and fitted values
    rows = np.arange(0, 2500, 3)
    resid = y[rows] - whole.fittedvalues[rows]
    lm, p, _, _ = het_breuschpagan(resid, sm.add_constant(x[rows]))
    # RESET's F of those rows: their residuals on the design, then with the
    # standardised fitted values' square and cube
    fitted = whole.fittedvalues[rows]
    z = (fitted - fitted.mean()) / fitted.std()
    design = sm.add_constant(x[rows])
    before = sm.OLS(resid, design).fit().ssr
    after = sm.OLS(resid, np.column_stack([design, z**2, z**3])).fit().ssr
    f = (before - after) / 2 / (after / 830)  # 834 rows, 4 columns
    for extra in ({}, {"stream": True, "chunk_rows": 400}):
        trace = gradtrace.fit(str(path), lr=0.02, epochs=2, **extra)
        (note,) = [n for n in trace.notes if "Breusch" in n]
        assert (
            f"(Breusch-Pagan test of one row in every 3: {lm:.4g} on 1 degree of "
            f"freedom, p = {p:.2g})"
        ) in note
        (bend,) = [n for n in trace.notes if "RESET" in n]
        assert f"(RESET test of one row in every 3: F = {f:.4g} on 2 and 830 " in bend


def test_a_statisticians_second_look(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """show repeats the run's notes (Breusch-Pagan's was printed by fit alone);
    fit's table heads its errors' kind; --stderr without the exact answer, and
    a framework's optimizer name with no preset of gradtrace's own, are told."""
    data = tmp_path / "h.csv"
    hetero().to_csv(data, index=False)
    out = tmp_path / "run"
    code, said, err = run_cli(
        ["fit", str(data), "--stderr", "hc3", "-q", "--out", str(out)], capsys
    )
    assert code == 0 and "std. error (HC3)" in said, err
    code, said, err = run_cli(
        ["fit", str(data), "-q", "--out", str(tmp_path / "c")], capsys
    )
    assert "Breusch-Pagan" in err
    code, said, err = run_cli(["show", str(tmp_path / "c")], capsys)
    assert code == 0 and "  note: the residuals' spread varies with x" in said
    fit_refused(
        [str(data), "--stderr", "hc3", "--no-exact"],
        "--stderr hc3 chooses the exact optimum's standard errors",
        tmp_path / "r",
        capsys,
    )
    fit_refused(
        [str(data), "--optimizer", "Nadam"],
        "the frameworks' are keras.nadam and torch.nadam",
        tmp_path / "r",
        capsys,
    )


def test_a_glms_residuals_are_pearsons() -> None:
    """A Poisson regression's raw residuals widen with the mean by design; the
    picture draws (y - mu) / sqrt(mu), whose spread is even where it holds."""
    from gradtrace import plot

    rng = np.random.default_rng(3)
    x = rng.normal(size=2000)
    y = rng.poisson(np.exp(0.3 + 0.8 * x)).astype(float)
    trace = gradtrace.fit(
        pd.DataFrame({"x": x, "y": y}), "poisson-regression", lr=0.05, epochs=30
    )
    ax = trace.plot("residuals").axes[0]
    assert ax.get_ylabel() == "Pearson residual (y - mean) / sd"
    mu = np.exp(trace.params["b"] + trace.params["w"][0] * x)
    binned = plot.binned_spread(mu, (y - mu) / np.sqrt(mu))
    assert binned is not None
    assert np.all(np.abs(binned[2] - 1) < 0.35)  # even, near 1: the model holds


def test_a_gaussian_likelihoods_line_is_tested_too_and_summary_names_the_kind() -> None:
    """A line fitted by Gaussian likelihood assumes one noise level as least
    squares does: the same Breusch-Pagan note; summary().attrs["stderr"] says
    which standard errors the table holds."""
    frame = hetero()
    by_nll = gradtrace.fit(frame, loss="nll", lr=0.01, epochs=2)
    by_mse = gradtrace.fit(frame, lr=0.01, epochs=2)
    (note,) = [n for n in by_nll.notes if "Breusch-Pagan" in n]
    # the same mean, the same residuals: the same test; each offered the robust
    # errors it takes (a likelihood takes no hc3)
    assert note.replace("'hc1'", "'hc3'") in by_mse.notes
    assert by_mse.summary().attrs["stderr"] == "classical"
    robust = gradtrace.fit(frame, lr=0.01, epochs=2, stderr="hc1")
    assert robust.summary().attrs["stderr"] == "hc1"


def test_a_likelihoods_row_scores_grow_with_the_rows_not_their_square() -> None:
    """Each row's score, for a block of 4096 rows: no value in the program holds
    rows x rows (the Jacobian by jacrev took a pass per row, and hc0 on 50000
    rows of a Poisson regression peaked at 20 GB); the scores are each row's own
    gradient."""
    import jax

    from gradtrace.core.robust import row_scores

    rng = np.random.default_rng(0)
    n, rows = 300, 4096
    frame = pd.DataFrame({"u": rng.normal(size=n), "v": rng.normal(size=n)})
    frame["y"] = rng.poisson(np.exp(0.5 + 0.3 * frame["u"])).astype(float)
    trace = gradtrace.fit(frame, "poisson-regression", steps=1)
    layout = {k: np.asarray(v, np.float64) for k, v in trace.params.items()}
    flat = np.concatenate([np.ravel(v) for v in layout.values()])
    scores = row_scores(trace.model, trace.loss, layout, {})
    x = rng.normal(size=(rows, 2))
    y = rng.poisson(2.0, rows).astype(float)
    with jax.enable_x64(True):
        program = jax.make_jaxpr(scores)(flat, x, y)

        def sizes(jaxpr: object) -> list[int]:
            found = []
            for eqn in jaxpr.eqns:  # type: ignore[attr-defined]
                found += [int(np.prod(v.aval.shape)) for v in eqn.outvars]
                for p in eqn.params.values():
                    inner = getattr(p, "jaxpr", None)
                    if inner is not None:
                        found += sizes(getattr(inner, "jaxpr", inner))
            return found

        assert max(sizes(program.jaxpr)) <= rows * len(flat)
        got = np.asarray(scores(flat, x[:5], y[:5]))
    w, b = flat[:2], flat[2]
    mean = np.exp(x[:5] @ w + b)
    expected = np.column_stack([x[:5] * (mean - y[:5])[:, None], mean - y[:5]])
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_an_exact_fit_is_not_tested_for_bends_or_uneven_noise() -> None:
    """y = 2x + 1 to the last bit: the residuals are float64's rounding, and the
    RESET and Breusch-Pagan tests had "found" a bend (F = 17.9) and uneven noise
    (p = 1e-7) in it. One row off the line is tested as before."""
    x = np.arange(50.0)
    exact = gradtrace.fit({"x": x, "y": 2 * x + 1}, lr=1e-4, steps=5)
    assert not [n for n in exact.notes if "RESET" in n or "Breusch" in n]
    noisy = 2 * x + 1 + np.random.default_rng(0).normal(0, 0.1, 50) * (1 + x / 5)
    uneven = gradtrace.fit({"x": x, "y": noisy}, lr=1e-4, steps=5)
    assert [n for n in uneven.notes if "Breusch" in n]


def test_a_row_of_leverage_1_is_said_where_hc3_has_no_errors() -> None:
    """The one row of a category has leverage 1: hc2 and hc3 divide its residual
    by 1 - 1, and every error is NaN; a note says why and what gives them."""
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"g": ["a", "b"] * 20, "u": rng.normal(size=40)})
    frame.loc[7, "g"] = "c"  # one row alone in its category
    frame["y"] = frame["u"] + (frame["g"] == "b") + rng.normal(size=40)
    fit = {"x": ["u", "g"], "y": "y", "categorical": "g", "steps": 3}
    hc3 = gradtrace.fit(frame, "linear", stderr="hc3", **fit)
    assert hc3.summary()["std_error"].isna().all()
    said = [n for n in hc3.info["notices"] if n.startswith("no HC3 standard errors")]
    assert said and "a row has leverage 1" in said[0]
    assert "stderr='hc1' gives robust errors" in " ".join(hc3.notes)
    hc1 = gradtrace.fit(frame, "linear", stderr="hc1", **fit)
    assert hc1.summary()["std_error"].notna().all()
    assert not any("leverage 1" in n for n in hc1.info["notices"])
