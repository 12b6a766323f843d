"""Profile-likelihood intervals (``intervals="profile"``, ``--intervals profile``)
against intervals computed here by hand: closed forms where the profile has one,
SciPy's optimizers on the same likelihood elsewhere."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax.scipy.special import gammaln
from scipy import optimize, special

import gradtrace
from gradtrace.core.profile import CHI2_95
from helpers import run_cli


def test_a_normals_profile_intervals_are_the_closed_forms() -> None:
    """loc's profile, scale fitted again at each loc, is n log(1 + (loc - mean)^2
    / s^2) = q: loc = mean +- s sqrt(exp(q / n) - 1); scale's (loc stays at the
    mean) solves 2 (n log sigma + n s^2 / (2 sigma^2) - n log s - n / 2) = q."""
    y = np.random.default_rng(0).normal(3, 2, 50)
    trace = gradtrace.fit((None, y), "normal", lr=0.1, steps=5, intervals="profile")
    table = trace.summary()
    n, mean, s = len(y), y.mean(), y.std()
    half = s * np.sqrt(np.exp(CHI2_95 / n) - 1)
    np.testing.assert_allclose(
        table.loc["loc", ["ci_low", "ci_high"]], [mean - half, mean + half], rtol=1e-7
    )

    def excess(sigma: float) -> float:
        lr = 2 * (n * np.log(sigma / s) + n * s**2 / (2 * sigma**2) - n / 2)
        return lr - CHI2_95

    ends = [optimize.brentq(excess, s / 10, s), optimize.brentq(excess, s, 10 * s)]
    np.testing.assert_allclose(
        table.loc["scale", ["ci_low", "ci_high"]], ends, rtol=1e-6
    )
    assert trace.info["ci_method"] == "profile likelihood"
    # the Wald interval of the same fit is another one, symmetric in loc
    wald = gradtrace.fit((None, y), "normal", lr=0.1, steps=5).summary()
    assert wald.loc["loc", "ci_low"] != pytest.approx(table.loc["loc", "ci_low"])
    assert "ci_method" not in gradtrace.fit((None, y), "normal", steps=1).info


def test_a_poisson_rates_profile_interval() -> None:
    """7 events in 30 rows: the rate's interval solves 2 (n r - S log r - (n r^ -
    S log r^)) = q on each side; Wald's on the log scale is wider below."""
    y = np.zeros(30)
    y[:5], y[5] = 1, 2
    trace = gradtrace.fit((None, y), "poisson", lr=0.1, steps=5, intervals="profile")
    n, total = len(y), y.sum()
    rate = total / n

    def excess(r: float) -> float:
        return 2 * (n * r - total * np.log(r) - (n * rate - total * np.log(rate))) - q

    q = CHI2_95
    ends = [optimize.brentq(excess, 1e-6, rate), optimize.brentq(excess, rate, 10)]
    np.testing.assert_allclose(
        trace.summary().loc["rate", ["ci_low", "ci_high"]], ends, rtol=1e-6
    )


def _zip(p: dict[str, jnp.ndarray], y: jnp.ndarray) -> jnp.ndarray:
    poisson = -p["rate"] + y * jnp.log(p["rate"]) - gammaln(y + 1)
    zero = jnp.log(p["pi"] + (1 - p["pi"]) * jnp.exp(-p["rate"]))
    return jnp.where(y == 0, zero, jnp.log1p(-p["pi"]) + poisson)


def test_a_probability_near_0_gets_an_interval_that_reaches_0() -> None:
    """Counts with no extra zeros: the zero-inflation pi is 0.004. Its Wald
    interval on the logit scale ran to 0.70 (a researcher's profile: 0 to
    0.033); the profile reaches 0 on the left (the likelihood ratio at pi -> 0
    stays below q), and its right end is where SciPy's profile over the rate
    reaches q. The Wald run notes its lopsided interval."""
    rng = np.random.default_rng(11)
    rng.normal(size=200)  # the draws before the researcher's counts
    counts = rng.poisson(3, 400).astype(float)
    model = gradtrace.Distribution(
        _zip, {"rate": 1.0, "pi": 0.5}, positive=["rate"], unit=["pi"], support="count"
    )
    options = dict(optimizer="adam", lr=0.05, steps=2000, param_space="unconstrained")
    trace = gradtrace.fit((None, counts), model, intervals="profile", **options)
    table = trace.summary()
    low, high = table.loc["pi", ["ci_low", "ci_high"]]
    assert low == 0.0

    def nll(rate: float, pi: float) -> float:
        y = counts
        zero = np.log(pi + (1 - pi) * np.exp(-rate))
        rest = np.log1p(-pi) - rate + y * np.log(rate) - special.gammaln(y + 1)
        return -float(np.sum(np.where(y == 0, zero, rest)))

    best = nll(table.loc["rate", "optimum"], table.loc["pi", "optimum"])

    def profile(pi: float) -> float:
        found = optimize.minimize_scalar(
            lambda r: nll(r, pi),
            bounds=(1, 6),
            method="bounded",
            options={"xatol": 1e-10},
        )
        return 2 * (found.fun - best)

    assert profile(high) == pytest.approx(CHI2_95, abs=1e-4)
    assert profile(1e-9) < CHI2_95  # 0 cannot be ruled out
    assert 0.02 < high < 0.05
    wald = gradtrace.fit((None, counts), model, **options)
    assert wald.summary().loc["pi", "ci_high"] > 0.5
    [said] = [n for n in wald.notes if n.startswith("lopsided 95% intervals")]
    assert ": pi 7.67e-06 to 0.697 about 0.00418 (standard error " in said
    assert "on the logit scale)" in said and "intervals='profile'" in said
    assert not [n for n in trace.notes if "lopsided" in n]
    # the profile's open side said: pi's interval reaches 0
    assert trace.info["open_intervals"] == [["pi", "below"]]
    [open_] = [n for n in trace.notes if n.startswith("open 95% intervals (pi below)")]
    assert "the data rule out no value on that side" in open_
    # not offered where it would be refused: a sandwich's errors
    robust = gradtrace.fit((None, counts), model, stderr="hc1", **options)
    assert not [n for n in robust.notes if "lopsided" in n]


def test_an_optimum_on_an_edge_keeps_wald_intervals_and_says_so() -> None:
    """Counts less spread than a Poisson's: the negative binomial's size is
    infinite, on its edge, and no profile is taken; the note says the intervals
    are Wald's (they were, silently)."""
    y = np.array([2, 3, 3, 2, 4, 3, 2, 3, 3, 4, 2, 3.0])
    trace = gradtrace.fit((None, y), "negative-binomial", steps=5, intervals="profile")
    assert "ci_method" not in trace.info
    [said] = [n for n in trace.notes if n.startswith("no profile-likelihood")]
    assert "on the edge of its range" in said and said.endswith("are Wald's.")


def test_a_wald_interval_is_called_lopsided_from_a_log_scale_error_of_075() -> None:
    """One count of 1 in 20: the rate's standard error on the log scale is 1, and
    its Wald interval's top is 61% above the profile's; it is noted. Ten counts
    (0.32) are not."""
    one = np.zeros(20)
    one[0] = 1
    trace = gradtrace.fit((None, one), "poisson", lr=0.1, steps=3)
    [said] = [n for n in trace.notes if n.startswith("lopsided")]
    assert (
        "rate 0.00704 to 0.355 about 0.05 (standard error 1 on the log scale)" in said
    )
    ten = np.zeros(20)
    ten[:10] = 1
    assert not [
        n
        for n in gradtrace.fit((None, ten), "poisson", steps=3).notes
        if "lopsided" in n
    ]


def test_a_logistic_regressions_vector_coefficients_are_profiled_each() -> None:
    """Each element of w is profiled, the others (and b) fitted again: at each
    end the likelihood ratio against the optimum, computed with SciPy's BFGS
    over the rest, is q."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(120, 2))
    p = 1 / (1 + np.exp(-(0.5 + 1.2 * x[:, 0] - 0.8 * x[:, 1])))
    y = (rng.uniform(size=120) < p).astype(float)
    frame = pd.DataFrame({"a": x[:, 0], "c": x[:, 1], "y": y})
    trace = gradtrace.fit(
        frame, "logistic", x=["a", "c"], lr=0.5, steps=50, intervals="profile"
    )
    table = trace.summary()

    def nll(w0: float, w1: float, b: float) -> float:
        z = b + w0 * x[:, 0] + w1 * x[:, 1]
        return float(np.sum(np.logaddexp(0, z) - y * z))

    opt = trace.info["optimum"]
    best = nll(*opt["w"], opt["b"])
    for i, label in enumerate(["w[0]", "w[1]"]):
        for end in table.loc[label, ["ci_low", "ci_high"]]:

            def rest(v: np.ndarray, i: int = i, end: float = end) -> float:
                w = [v[0], v[0]]
                w[i], w[1 - i] = end, v[0]
                return nll(w[0], w[1], v[1])

            found = optimize.minimize(rest, [0.0, 0.0], method="BFGS", tol=1e-10)
            assert 2 * (found.fun - best) == pytest.approx(CHI2_95, abs=1e-5)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (dict(model="line", loss="mse"), "--intervals profile follows a likelihood"),
        (dict(model="line", loss="mae"), "this loss is not one"),
        (dict(model="normal", stderr="hc1"), "a sandwich around it: choose one"),
        (dict(model="normal", exact=False), "which --no-exact leaves out"),
        (dict(model="normal", intervals="likelihood"), "unknown"),
    ],
)
def test_profile_intervals_refused_where_they_do_not_apply(
    options: dict[str, object], said: str
) -> None:
    kwargs = {"intervals": "profile", **options}
    with pytest.raises(gradtrace.InputError) as refused:
        gradtrace.fit("seed001_line", steps=2, **kwargs)  # type: ignore[arg-type]
    # in Python's words: intervals='profile', exact=False
    told = str(refused.value)
    assert "--" not in told, told
    python = said.replace("--intervals profile", "intervals='profile'")
    python = python.replace("--no-exact", "exact=False").replace("--intervals", "")
    assert python.strip() in told, told


def test_the_command_line_takes_intervals_and_show_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "counts.csv"
    pd.DataFrame({"y": [0, 1, 0, 2, 1, 0, 0, 3, 1, 0]}).to_csv(data, index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(
        [
            "fit",
            str(data),
            "--model",
            "poisson",
            "--steps",
            "5",
            "--intervals",
            "profile",
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    code, shown, _ = run_cli(["show", str(out)], capsys)
    assert "95% interval (profile likelihood)" in shown
    # and the parameters' picture names its band so (a teacher took it for Wald's)
    labels = [
        label
        for ax in gradtrace.load(out).plot("params").axes
        for label in ax.get_legend_handles_labels()[1]
    ]
    assert any(
        label.startswith("its 95% interval (profile likelihood), ") for label in labels
    )
    parquet = tmp_path / "counts.parquet"
    pd.read_csv(data).astype(float).to_parquet(parquet)
    code, _, err = run_cli(
        [
            "fit",
            str(parquet),
            "--model",
            "poisson",
            "--stream",
            "--intervals",
            "profile",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 2 and "--intervals profile fits the model again" in err


def _logistic_far_from_zero() -> pd.DataFrame:
    """x in the thousands, y switching near 3000: a fit that wants --standardize."""
    rng = np.random.default_rng(0)
    x = rng.uniform(1000, 5000, 200)
    y = rng.uniform(size=200) < 1 / (1 + np.exp(-(x - 3000) / 500))
    return pd.DataFrame({"x": x, "y": y.astype(float)})


def test_a_standardised_runs_intervals_in_x_units_are_profiled_in_them() -> None:
    """--standardize with --intervals profile: the slope's interval in x's units
    is its standardised one over the spread, and the intercept's (b - w center /
    spread, a combination of both) is profiled as one; both against SciPy's
    profile of the likelihood in x's own units."""
    df = _logistic_far_from_zero()
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    trace = gradtrace.fit(
        df,
        "logistic",
        optimizer="adam",
        lr=0.1,
        steps=300,
        standardize=True,
        intervals="profile",
    )
    table = trace.summary()

    def nll(b: float, w: float) -> float:
        eta = b + w * x
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))

    best = optimize.minimize(
        lambda v: nll(*v),
        [-7.3, 0.00228],
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-12, "maxiter": 20000},
    )
    b0, w0 = best.x

    def over_w(b: float) -> float:
        found = optimize.minimize_scalar(
            lambda w: nll(b, w),
            bounds=(0, 0.01),
            method="bounded",
            options={"xatol": 1e-14},
        )
        return 2 * (found.fun - best.fun) - CHI2_95

    def over_b(w: float) -> float:
        found = optimize.minimize_scalar(
            lambda b: nll(b, w), bounds=(-30, 10), method="bounded"
        )
        return 2 * (found.fun - best.fun) - CHI2_95

    b_ends = [optimize.brentq(over_w, b0 - 5, b0), optimize.brentq(over_w, b0, b0 + 5)]
    w_ends = [
        optimize.brentq(over_b, w0 - 0.002, w0),
        optimize.brentq(over_b, w0, w0 + 0.002),
    ]
    got_b = table.loc["b", ["ci_low_in_x_units", "ci_high_in_x_units"]]
    got_w = table.loc["w[0]", ["ci_low_in_x_units", "ci_high_in_x_units"]]
    np.testing.assert_allclose(got_b.to_numpy(float), b_ends, rtol=1e-5)
    np.testing.assert_allclose(got_w.to_numpy(float), w_ends, rtol=1e-5)
    # lopsided in x's units as in standard units: not b +- 1.96 s.e.
    assert got_b.mean() != pytest.approx(table.loc["b", "optimum_in_x_units"])
    assert "ci_b_in_x_units" not in trace.info  # in original_units only


@pytest.mark.parametrize(
    ("model", "loss"), [("logistic", "nll"), ("linear", "mse")], ids=["z", "t"]
)
def test_a_standardised_runs_wald_intervals_in_x_units(model: str, loss: str) -> None:
    """Wald's intervals are the same whatever linear map the parameters take: the
    standardised run's in x's units are the run on x as it is (statsmodels'
    conf_int for the logistic; Student's t for least squares)."""
    df = _logistic_far_from_zero()
    if model == "linear":
        df["y"] = 3.0 + 0.002 * df["x"] + np.random.default_rng(1).normal(size=200)
    options = {"optimizer": "adam", "lr": 0.1, "steps": 5, "loss": loss}
    scaled = gradtrace.fit(df, model, standardize=True, **options).summary()
    as_is = gradtrace.fit(df, model, **options).summary()
    for name in ("w[0]", "b"):
        np.testing.assert_allclose(
            scaled.loc[name, ["ci_low_in_x_units", "ci_high_in_x_units"]].to_numpy(
                float
            ),
            as_is.loc[name, ["ci_low", "ci_high"]].to_numpy(float),
            rtol=1e-6,
        )
    if model == "logistic":  # statsmodels' GLM conf_int, printed for this data
        np.testing.assert_allclose(
            scaled.loc["b", ["ci_low_in_x_units", "ci_high_in_x_units"]].to_numpy(
                float
            ),
            [-9.28540205, -5.33712793],
            rtol=1e-6,
        )
    # the tests in x's units are the run's on x as it is: the slope's the same as
    # standardised, the intercept's another (on standardised x it is the linear
    # predictor at x's mean); show says so under its table
    stat = "z" if model == "logistic" else "t"
    for name in ("w[0]", "b"):
        for column in (stat, "p_value"):
            assert scaled.loc[name, f"{column}_in_x_units"] == pytest.approx(
                as_is.loc[name, column], rel=1e-6
            )
    assert scaled.loc["w[0]", stat] == pytest.approx(as_is.loc["w[0]", stat], 1e-6)
    assert scaled.loc["b", stat] != pytest.approx(as_is.loc["b", stat], 1e-2)
    from gradtrace.estimates import tests_in_x_units

    said = tests_in_x_units(scaled)
    assert said is not None and said.startswith(
        f"b's {stat} and P>|{stat}| test it on standardised x, where it is the "
        f"linear predictor at x's means; in x's own units: {stat} "
        f"{as_is.loc['b', stat]:.4g}, P>|{stat}| "
    )
    assert "w[0]" not in said
