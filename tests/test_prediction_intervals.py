"""``predict``'s intervals (``interval="confidence"`` or ``"prediction"``, the
command's ``--interval``) against statsmodels' ``get_prediction`` of the same
fits: least squares (Student's t), a logistic and a Poisson regression (the
link's scale), and a Gaussian likelihood's (the normal, its fitted scale)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace.errors import InputError
from helpers import run_cli

# new rows beyond the data, predicted as statsmodels does (warned of: test_predict.py)
pytestmark = pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")

RNG = np.random.default_rng(5)
FRAME = pd.DataFrame({"a": RNG.normal(3, 2, 80), "b": RNG.normal(-1, 5, 80)})
FRAME["y"] = 1 + 2 * FRAME["a"] - 0.3 * FRAME["b"] + RNG.normal(0, 0.7, 80)
NEW = pd.DataFrame({"a": [0.0, 3.0, 9.0], "b": [-1.0, 4.0, 20.0]}, index=[7, 8, 9])


def frame_of(summary: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return summary[columns].to_numpy()


@pytest.mark.parametrize("standardize", [False, True])
def test_least_squares_intervals_are_statsmodels_ols(standardize: bool) -> None:
    trace = gradtrace.fit(
        FRAME,
        "linear",
        x=["a", "b"],
        y="y",
        standardize=standardize,
        steps=800 + 4000 * (not standardize),
        lr=0.02 + 0.2 * standardize,
    )
    ols = sm.OLS(FRAME["y"], sm.add_constant(FRAME[["a", "b"]])).fit()
    want = ols.get_prediction(sm.add_constant(NEW, has_constant="add")).summary_frame(
        alpha=0.05
    )
    mean = trace.predict(NEW, interval="confidence")
    assert list(mean.columns) == ["prediction", "std_error", "ci_low", "ci_high"]
    assert list(mean.index) == [7, 8, 9]  # the rows named as the user's
    # the run's float32 values predict within 1e-4 of the float64 optimum's
    np.testing.assert_allclose(mean["prediction"], want["mean"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(mean["std_error"], want["mean_se"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        frame_of(mean, ["ci_low", "ci_high"]),
        frame_of(want, ["mean_ci_lower", "mean_ci_upper"]),
        rtol=1e-5,
        atol=1e-4,
    )
    new_y = trace.predict(NEW, interval="prediction")
    assert list(new_y.columns) == ["prediction", "std_error", "pi_low", "pi_high"]
    np.testing.assert_allclose(
        frame_of(new_y, ["pi_low", "pi_high"]),
        frame_of(want, ["obs_ci_lower", "obs_ci_upper"]),
        rtol=1e-5,
        atol=1e-4,
    )
    assert new_y.attrs["quantile"] == "Student's t on 77 degrees of freedom"
    # another level, as R's level= and statsmodels' alpha = 1 - level
    for level in (0.5, 0.9, 0.999):
        want = ols.get_prediction(
            sm.add_constant(NEW, has_constant="add")
        ).summary_frame(alpha=1 - level)
        got = trace.predict(NEW, interval="prediction", level=level)
        np.testing.assert_allclose(
            frame_of(got, ["pi_low", "pi_high"]),
            frame_of(want, ["obs_ci_lower", "obs_ci_upper"]),
            rtol=1e-5,
            atol=1e-4,
        )
    # the predictions alone are as before: an array
    np.testing.assert_array_equal(trace.predict(NEW), mean["prediction"].to_numpy())


def admissions() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"gre": rng.normal(580, 115, 300), "gpa": rng.normal(3.4, 0.4, 300)}
    )
    eta = -4 + 0.003 * frame["gre"] + 0.6 * frame["gpa"]
    frame["admit"] = (rng.random(300) < 1 / (1 + np.exp(-eta))).astype(float)
    return frame


def test_a_logistic_regressions_interval_is_on_the_logits_scale_as_statsmodels() -> (
    None
):
    frame = admissions()
    trace = gradtrace.fit(
        frame,
        "logistic",
        x=["gre", "gpa"],
        y="admit",
        standardize=True,
        steps=400,
        lr=0.5,
    )
    glm = sm.GLM(
        frame["admit"],
        sm.add_constant(frame[["gre", "gpa"]]),
        family=sm.families.Binomial(),
    ).fit()
    new = pd.DataFrame({"gre": [300.0, 580.0, 800.0], "gpa": [2.0, 3.4, 4.0]})
    want = glm.get_prediction(sm.add_constant(new, has_constant="add")).summary_frame(
        alpha=0.05
    )
    got = trace.predict(new, interval="confidence")
    np.testing.assert_allclose(got["prediction"], want["mean"], rtol=2e-5)
    np.testing.assert_allclose(got["std_error"], want["mean_se"], rtol=2e-4)
    np.testing.assert_allclose(
        frame_of(got, ["ci_low", "ci_high"]),
        frame_of(want, ["mean_ci_lower", "mean_ci_upper"]),
        rtol=2e-4,
    )
    assert got.attrs["quantile"] == "the normal" and got.attrs["level"] == 0.95
    # a 99% interval, the normal's 0.995 quantile on the logits' scale
    wide = trace.predict(new, interval="confidence", level=0.99)
    want = glm.get_prediction(sm.add_constant(new, has_constant="add")).summary_frame(
        alpha=0.01
    )
    np.testing.assert_allclose(
        frame_of(wide, ["ci_low", "ci_high"]),
        frame_of(want, ["mean_ci_lower", "mean_ci_upper"]),
        rtol=2e-4,
    )
    assert wide.attrs["level"] == 0.99
    assert (wide["ci_low"] < got["ci_low"]).all()
    assert (wide["ci_high"] > got["ci_high"]).all()
    with pytest.raises(InputError, match="ask for interval='confidence'"):
        trace.predict(new, interval="prediction")


TRAINED = gradtrace.fit(
    admissions(),
    "logistic",
    x=["gre", "gpa"],
    y="admit",
    standardize=True,
    steps=300,
    lr=0.5,
)


@given(
    st.lists(st.floats(-3000, 3000), min_size=1, max_size=5),
    st.lists(st.floats(-20, 20), min_size=5, max_size=5),
)
def test_a_probabilitys_interval_holds_it_and_stays_in_0_1(
    gre: list[float], gpa: list[float]
) -> None:
    got = TRAINED.predict({"gre": gre, "gpa": gpa[: len(gre)]}, interval="confidence")
    assert ((got["ci_low"] >= 0) & (got["ci_high"] <= 1)).all()
    assert (
        (got["ci_low"] <= got["prediction"]) & (got["prediction"] <= got["ci_high"])
    ).all()


def test_a_poisson_regression_over_exposures_is_statsmodels() -> None:
    rng = np.random.default_rng(4)
    age = rng.uniform(20, 70, 400)
    years = rng.uniform(0.5, 5, 400)
    frame = pd.DataFrame({"age": age, "logyears": np.log(years)})
    frame["y"] = rng.poisson(years * np.exp(-3 + 0.03 * age)).astype(float)
    trace = gradtrace.fit(
        frame,
        "poisson-regression",
        x=["age"],
        offset="logyears",
        standardize=True,
        optimizer="adam",
        lr=0.05,
        steps=600,
    )
    glm = sm.GLM(
        frame["y"],
        sm.add_constant(frame["age"]),
        family=sm.families.Poisson(),
        offset=frame["logyears"],
    ).fit()
    new = pd.DataFrame({"age": [25.0, 60.0], "logyears": np.log([1.0, 3.0])})
    want = glm.get_prediction(
        sm.add_constant(new[["age"]], has_constant="add"), offset=new["logyears"]
    ).summary_frame()
    got = trace.predict(new, interval="confidence")
    np.testing.assert_allclose(got["prediction"], want["mean"], rtol=1e-5)
    np.testing.assert_allclose(
        frame_of(got, ["ci_low", "ci_high"]),
        frame_of(want, ["mean_ci_lower", "mean_ci_upper"]),
        rtol=1e-4,
    )


def test_a_gaussian_likelihoods_prediction_interval_adds_its_scale() -> None:
    """By nll the noise's scale is a parameter: a new y's interval is the mean's
    error and the optimum's scale together, -+ the normal's 1.96 (a scale held
    fixed is the held one; and not the scale of the step predicted with: step 0's
    start of 1 made the interval half as wide again, a review's find)."""
    trace = gradtrace.fit(
        FRAME,
        "linear",
        x=["a", "b"],
        y="y",
        loss="nll",
        optimizer="adam",
        lr=0.05,
        steps=3000,
    )
    got = trace.predict(NEW, interval="prediction")
    scale = float(trace.info["optimum"]["scale"])  # the noise's at the optimum
    half = 1.959963984540054 * np.sqrt(got["std_error"] ** 2 + scale**2)
    np.testing.assert_allclose(got["pi_high"] - got["prediction"], half, rtol=1e-9)
    np.testing.assert_allclose(got["prediction"] - got["pi_low"], half, rtol=1e-9)
    assert got.attrs["quantile"] == "the normal"
    early = trace.predict(NEW, interval="prediction", step=0)
    np.testing.assert_allclose(
        early["pi_high"] - early["prediction"],
        1.959963984540054 * np.sqrt(early["std_error"] ** 2 + scale**2),
        rtol=1e-9,
    )
    held = gradtrace.fit(
        FRAME, "linear", x=["a", "b"], y="y", loss="nll", fix={"scale": 0.7},
        optimizer="adam", lr=0.05, steps=2000,
    )  # fmt: skip
    got = held.predict(NEW, interval="prediction")
    half = 1.959963984540054 * np.sqrt(got["std_error"] ** 2 + 0.7**2)
    np.testing.assert_allclose(got["pi_high"] - got["prediction"], half, rtol=1e-6)
    # a logistic regression's y is 0 or 1, whatever its loss: no prediction interval
    by_mse = gradtrace.fit(admissions(), "logistic", x=["gre", "gpa"], y="admit",
                           loss="mse", standardize=True, steps=50)  # fmt: skip
    with pytest.raises(InputError, match="logistic's y by mse is not"):
        by_mse.predict({"gre": [500.0], "gpa": [3.0]}, interval="prediction")


def test_a_run_without_a_covariance_or_a_wrong_interval_is_told() -> None:
    trace = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", loss="mae", steps=3)
    with pytest.raises(
        InputError,
        match="no interval: predict without one, or fit by the loss mse or nll",
    ):
        trace.predict(NEW, interval="confidence")
    with pytest.raises(InputError, match="give 'confidence'"):
        trace.predict(NEW, interval="ci")  # type: ignore[call-overload]
    ols = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", steps=3)
    # NumPy's numbers are numbers too
    assert ols.predict(NEW, interval="confidence", level=np.float32(0.9)).attrs[
        "level"
    ] == pytest.approx(0.9)
    for level in (0, 1, 95, -0.5, float("nan"), True, "high"):
        with pytest.raises(InputError, match=r"0.95 for a 95% interval\.$"):
            ols.predict(NEW, interval="confidence", level=level)
    # the same words as fit's level=: a percentage is told the share it means
    with pytest.raises(InputError, match=r"^level=90 is not between 0 and 1: .*: 0.9"):
        ols.predict(NEW, interval="confidence", level=90)
    # and text of a number is taken, as fit(level="0.9") takes it
    assert ols.predict(NEW, interval="confidence", level="0.9").attrs[
        "level"
    ] == pytest.approx(0.9)
    # without the exact answer: no optimum, and no loss to change to
    bare = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", exact=False, steps=3)
    with pytest.raises(InputError) as err:
        bare.predict(NEW, interval="confidence")
    assert "no exact optimum (exact=False, or none found" in str(err.value)
    assert "fit by the loss" not in str(err.value)


def test_the_command_adds_the_interval_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", steps=800, lr=0.02)
    trace.save(tmp_path / "run")
    NEW.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run_cli(
        [
            "predict",
            str(tmp_path / "run"),
            str(tmp_path / "new.csv"),
            "--interval",
            "prediction",
        ],
        capsys,
    )
    assert code == 0, err
    got = pd.read_csv(__import__("io").StringIO(out))
    assert list(got.columns) == [
        "a",
        "b",
        "prediction",
        "std_error",
        "pi_low",
        "pi_high",
    ]
    want = trace.predict(NEW, interval="prediction")
    np.testing.assert_allclose(got[want.columns].to_numpy(), want.to_numpy(), rtol=1e-8)
    # a column of DATA's that the interval would overwrite is refused, one line
    NEW.assign(ci_low=1).to_csv(tmp_path / "clash.csv", index=False)
    code, _, err = run_cli(
        [
            "predict",
            str(tmp_path / "run"),
            str(tmp_path / "clash.csv"),
            "--interval",
            "confidence",
        ],
        capsys,
    )
    assert (
        code == 2
        and "has a column named 'ci_low' already" in err
        and len(err.strip().splitlines()) == 1
    )
    # a logistic regression has no prediction interval, said in the command's words
    TRAINED.save(tmp_path / "logit")
    pd.DataFrame({"gre": [500.0], "gpa": [3.0]}).to_csv(
        tmp_path / "adm.csv", index=False
    )
    code, _, err = run_cli(
        [
            "predict",
            str(tmp_path / "logit"),
            str(tmp_path / "adm.csv"),
            "--interval",
            "prediction",
        ],
        capsys,
    )
    assert code == 2 and "ask for --interval confidence" in err
    # --level: the interval's share, and nothing without an interval
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"),
         "--interval", "confidence", "--level", "0.9"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    got = pd.read_csv(__import__("io").StringIO(out))
    want = trace.predict(NEW, interval="confidence", level=0.9)
    np.testing.assert_allclose(got[want.columns].to_numpy(), want.to_numpy(), rtol=1e-8)
    for args, said in (
        (["--level", "0.9"], "--level 0.9 is the share an interval holds: add"),
        (["--interval", "confidence", "--level", "95"], "0.95 for a 95% interval."),
        (["--interval", "confidence", "--level", "0"], "--level 0 is not between"),
        (["--interval", "confidence", "--level", "nan"], "between 0 and 1, not nan"),
    ):
        code, out, err = run_cli(
            ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), *args],
            capsys,
        )
        assert code == 2 and said in err and not out, err
        assert len(err.strip().splitlines()) == 1


def test_an_interval_takes_the_runs_own_level_unless_asked_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fit at level=0.9 gave 90% intervals in its summary, and then 95% ones
    from predict unless the level was said again: predict, in Python and on the
    command line, now takes the run's level; one asked for still wins."""
    trace = gradtrace.fit(FRAME, "linear", x=["a", "b"], y="y", steps=3, level=0.9)
    band = trace.predict(NEW, interval="confidence")
    assert band.attrs["level"] == 0.9
    pd.testing.assert_frame_equal(
        band, trace.predict(NEW, interval="confidence", level=0.9)
    )
    assert trace.predict(NEW, interval="confidence", level=0.99).attrs["level"] == 0.99
    trace.save(tmp_path / "run")
    NEW.to_csv(tmp_path / "new.csv", index=False)
    args = ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv")]
    code, out, err = run_cli([*args, "--interval", "confidence"], capsys)
    assert code == 0, err
    got = pd.read_csv(__import__("io").StringIO(out))
    np.testing.assert_allclose(got[band.columns].to_numpy(), band.to_numpy(), rtol=1e-8)
