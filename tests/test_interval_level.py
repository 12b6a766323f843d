"""The optimum's intervals at a level of one's choosing (``level=``, ``fit
--level``): least squares' against statsmodels' ``conf_int(alpha=1 - level)``, a
likelihood's Wald intervals against statsmodels' logistic regression, the profile
likelihood's against its closed form, and the level named wherever the intervals
are shown."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

import gradtrace
from gradtrace.core import exact, models
from gradtrace.errors import InputError
from helpers import run_cli
from test_bad_input import csv, one_line_error

RNG = np.random.default_rng(11)
FRAME = pd.DataFrame({"a": RNG.normal(3, 2, 60), "b": RNG.normal(-1, 5, 60)})
FRAME["y"] = 1 + 2 * FRAME["a"] - 0.3 * FRAME["b"] + RNG.normal(0, 0.7, 60)
ENDS = ["ci_low", "ci_high"]


def ols_intervals(level: float) -> np.ndarray:
    ols = sm.OLS(FRAME["y"], sm.add_constant(FRAME[["a", "b"]])).fit()
    # statsmodels' order: const, a, b; gradtrace's: w[0], w[1], b
    return ols.conf_int(alpha=1 - level).to_numpy()[[1, 2, 0]]


@pytest.mark.parametrize("level", [0.8, 0.9, 0.99])
def test_least_squares_intervals_at_a_level_are_statsmodels(level: float) -> None:
    trace = gradtrace.fit(
        FRAME, "linear", x=["a", "b"], y="y", steps=3, lr=0.01, level=level
    )
    table = trace.summary()
    np.testing.assert_allclose(table[ENDS].to_numpy(), ols_intervals(level), rtol=1e-9)
    assert table.attrs["level"] == level
    assert trace.info["ci_level"] == level


def test_standardised_intervals_in_x_units_take_the_level() -> None:
    trace = gradtrace.fit(
        FRAME, "linear", x=["a", "b"], y="y", standardize=True, steps=3, level=0.9
    )
    table = trace.summary()
    in_x = table[["ci_low_in_x_units", "ci_high_in_x_units"]].to_numpy()
    np.testing.assert_allclose(in_x, ols_intervals(0.9), rtol=1e-8)


def test_a_likelihoods_scale_keeps_its_interval_in_x_units() -> None:
    """A Gaussian likelihood's scale is the same in either units: its row had
    its estimate and error in x's units but no interval there."""
    trace = gradtrace.fit(
        FRAME,
        "linear",
        loss="nll",
        x=["a", "b"],
        y="y",
        standardize=True,
        steps=3,
        level=0.9,
    )
    scale = trace.summary().loc["scale"]
    for column in ("optimum", "std_error", "ci_low", "ci_high"):
        assert scale[f"{column}_in_x_units"] == scale[column], column
    assert np.isfinite(scale["ci_low"])


def test_a_logistic_regressions_wald_intervals_at_90_percent_are_statsmodels() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 200)
    y = (rng.random(200) < special.expit(0.4 + 1.3 * x)).astype(float)
    trace = gradtrace.fit((x, y), "logistic", steps=3, level=0.9)
    logit = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    want = logit.conf_int(alpha=0.1)[[1, 0]]  # w, then b
    np.testing.assert_allclose(trace.summary()[ENDS].to_numpy(), want, rtol=1e-6)


def test_a_normals_profile_interval_at_a_level_is_its_closed_form() -> None:
    """loc's profile, scale fitted again at each loc: n log(1 + (loc - mean)^2 /
    s^2) = q, q the chi-squared(1) quantile at the level."""
    y = np.random.default_rng(0).normal(3, 2, 50)
    trace = gradtrace.fit((None, y), "normal", steps=3, intervals="profile", level=0.99)
    n, mean, s = len(y), y.mean(), y.std()
    half = s * np.sqrt(np.exp(stats.chi2.ppf(0.99, 1) / n) - 1)
    np.testing.assert_allclose(
        trace.summary().loc["loc", ENDS], [mean - half, mean + half], rtol=1e-7
    )


def test_a_positive_parameters_interval_stays_on_its_log_scale_at_a_level() -> None:
    y = np.random.default_rng(2).exponential(2.0, 40)
    table = gradtrace.fit((None, y), "exponential", steps=3, level=0.8).summary()
    rate, se = table.loc["rate", "optimum"], table.loc["rate", "std_error"]
    z = stats.norm.ppf(0.9)
    want = [rate * np.exp(-z * se / rate), rate * np.exp(z * se / rate)]
    np.testing.assert_allclose(table.loc["rate", ENDS], want, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    low=st.floats(0.05, 0.98),
    more=st.floats(0.001, 0.9),
)
def test_intervals_nest_and_match_students_t(low: float, more: float) -> None:
    """A higher level's interval holds a lower one's, each the optimum -+ t at
    (1 + level) / 2 standard errors."""
    high = low + more * (0.999 - low)
    model = models.Line()
    x = FRAME["a"].to_numpy()
    y = FRAME["y"].to_numpy()
    start = {"w": np.asarray(0.0), "b": np.asarray(0.0)}
    with jax.enable_x64(True):  # as the exact answer runs
        fits = [
            exact.solve(model, "mse", "mean", ("w", "b"), {}, x, y, start, True, level)
            for level in (low, high)
        ]
    for fit, level in zip(fits, (low, high), strict=True):
        t = stats.t.ppf((1 + level) / 2, len(y) - 2)
        for name in ("w", "b"):
            lo, hi = fit.ci[name]
            best, se = float(fit.params[name]), float(fit.stderr[name])
            assert [float(lo), float(hi)] == pytest.approx(
                [best - t * se, best + t * se], rel=1e-9
            )
    for name in ("w", "b"):
        assert fits[1].ci[name][0] <= fits[0].ci[name][0]
        assert fits[0].ci[name][1] <= fits[1].ci[name][1]


def test_fit_level_names_the_intervals_in_show_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    FRAME.to_csv(data, index=False)
    out = tmp_path / "r"
    args = ["fit", str(data), "--model", "linear", "--x", "a", "--x", "b"]
    code, _, err = run_cli(
        [*args, "--steps", "3", "--level", "0.9", "--out", str(out)], capsys
    )
    assert code == 0, err
    code, shown, _ = run_cli(["show", str(out)], capsys)
    assert code == 0
    assert "and 90% interval" in shown and "90% interval" in shown.split("\n", 1)[1]
    assert "95%" not in shown
    code, _, err = run_cli(["report", str(out), "-o", str(tmp_path / "r.html")], capsys)
    assert code == 0, err
    assert "test against 0 and 90% interval" in (tmp_path / "r.html").read_text()
    # the run read back, and repeated, keeps the level
    assert gradtrace.load(out).summary().attrs["level"] == 0.9
    code, said, err = run_cli(
        ["rerun", str(out), "--out", str(tmp_path / "again")], capsys
    )
    assert code == 0, err + said
    assert json.loads((tmp_path / "again" / "run.json").read_text())["ci_level"] == 0.9


def test_a_level_from_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    FRAME.to_csv(data, index=False)
    config = tmp_path / "fit.toml"
    config.write_text('model = "linear"\nx = ["a", "b"]\nsteps = 3\nlevel = 0.8\n')
    out = tmp_path / "r"
    code, _, err = run_cli(
        ["fit", str(data), "--config", str(config), "--out", str(out)], capsys
    )
    assert code == 0, err
    table = gradtrace.load(out).summary()
    np.testing.assert_allclose(table[ENDS].to_numpy(), ols_intervals(0.8), rtol=1e-9)


def test_a_run_saved_before_the_level_reads_as_95_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run.json written before the level could be chosen: its intervals under
    ``ci95``, no ``ci_level``."""
    out = tmp_path / "old"
    gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", steps=3, out=out)
    path = out / "run.json"
    info = json.loads(path.read_text())
    info["ci95"] = info.pop("ci")
    del info["ci_level"]
    path.write_text(json.dumps(info))
    table = gradtrace.load(out).summary()
    np.testing.assert_allclose(table[ENDS].to_numpy(), ols_intervals(0.95), rtol=1e-9)
    assert table.attrs["level"] == 0.95
    code, shown, _ = run_cli(["show", str(out)], capsys)
    assert code == 0 and "95% interval" in shown


@pytest.mark.parametrize(
    ("level", "told"),
    [
        (
            "95",
            "--level 95 is not between 0 and 1: give the share of its "
            "distribution an interval holds: 0.95 for a 95% interval.",
        ),
        ("0", "--level 0 is not between 0 and 1"),
        ("1", "--level 1 is not between 0 and 1"),
        ("abc", "--level takes a number, not 'abc': give the share"),
        ("nan", "--level takes a number between 0 and 1, not nan"),
    ],
)
def test_a_bad_level_is_one_line(
    level: str, told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv(tmp_path, "x,y\n1,2\n2,4.1\n3,5.9\n")
    line = one_line_error([data, "--level", level], tmp_path, capsys)
    assert told in line


def test_a_level_without_the_exact_answer_is_refused_as_its_errors_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-exact --level 0.9 was taken in silence, --no-exact --stderr hc3 was
    refused: both choose the exact answer's intervals or errors."""
    data = csv(tmp_path, "x,y\n1,2\n2,4.1\n3,5.9\n")
    line = one_line_error([data, "--no-exact", "--level", "0.9"], tmp_path, capsys)
    assert line == (
        "error: --level 0.9 chooses the exact optimum's intervals, which "
        "--no-exact leaves out: drop one of them."
    )
    with pytest.raises(InputError, match="^level=0.9 chooses .* exact=False leaves"):
        gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", exact=False, level=0.9)


@pytest.mark.parametrize("level", [1.5, 0.0, 95, True, "0.9x"])
def test_a_bad_level_in_python_names_the_argument(level: object) -> None:
    with pytest.raises(InputError, match=r"^level(=| takes)") as raised:
        gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", steps=1, level=level)
    assert "0.95 for a 95% interval" in str(raised.value)


def test_the_pictures_shade_the_runs_level() -> None:
    """fit.png's band of the mean y is ``predict(interval="confidence")`` at the
    run's level, and parameters.png's band about each optimum its interval."""
    from gradtrace import plot

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 40)
    data = {"x": x, "y": 1.5 * x + 2 + rng.normal(0, 3, 40)}
    trace = gradtrace.fit(data, steps=2000, lr=0.02, level=0.8)
    ax = plot.fit_over_data(trace).axes[0]
    band = [a for a in ax.collections if "interval of the mean y" in str(a.get_label())]
    assert [str(a.get_label()) for a in band] == [
        "fitted: the 80% interval of the mean y at each x"
    ]
    path = band[0].get_paths()[0].vertices  # along one edge, back along the other
    first = path[path[:, 0] == path[:, 0].min(), 1]
    want = trace.predict(
        np.asarray([path[:, 0].min()]), interval="confidence", level=0.8
    )
    np.testing.assert_allclose(
        [first.min(), first.max()], want[ENDS].to_numpy()[0], rtol=1e-6
    )
    labels = [
        str(a.get_label())
        for axis in plot.parameter_paths(trace).axes
        for a in axis.patches
    ]
    table = trace.summary()
    low, high = table.loc["w", ENDS]
    assert f"its 80% interval, {low:.4g} to {high:.4g}" in labels


def test_a_level_within_a_rounding_of_1_keeps_its_intervals() -> None:
    """(1 + level) / 2 rounds to 1 for a level of 1 - 1e-16: the quantiles come
    from the lower tail instead, and the label keeps the level's digits."""
    from gradtrace.text import percent

    level = 0.9999999999999999
    y = np.random.default_rng(0).normal(3, 2, 50)
    table = gradtrace.fit((None, y), "normal", steps=3, level=level).summary()
    z = -stats.norm.ppf((1 - level) / 2)
    mean, se = table.loc["loc", "optimum"], table.loc["loc", "std_error"]
    np.testing.assert_allclose(
        table.loc["loc", ENDS], [mean - z * se, mean + z * se], rtol=1e-12
    )
    assert percent(level) == "99.99999999999999%"
    assert [percent(v) for v in (0.9, 0.95, 0.999, np.float64(0.8))] == [
        "90%",
        "95%",
        "99.9%",
        "80%",
    ]


def test_numpys_float32_level_is_the_level_it_prints() -> None:
    trace = gradtrace.fit(
        FRAME, "linear", x=["a", "b"], y="y", steps=3, level=np.float32(0.9)
    )
    assert trace.info["ci_level"] == 0.9


def test_an_intercept_held_on_standardised_x_is_said_to_be_at_xs_means() -> None:
    """--standardize --fix b=0 held the linear predictor at x's means at 0, not
    the intercept at x = 0 a user after "no intercept" meant; its value in x's
    own units moved with the slopes, without a word."""
    trace = gradtrace.fit(
        FRAME, "linear", x=["a", "b"], y="y", standardize=True, fix={"b": 0}, steps=2
    )
    (said,) = [n for n in trace.notes if n.startswith("b is held at 0")]
    assert "the linear predictor at x's means, not at x = 0" in said
    assert said.endswith("leave out standardize=True to hold the intercept at x = 0.")
    plain = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", fix={"b": 0}, steps=2)
    assert not any(n.startswith("b is held") for n in plain.notes)
