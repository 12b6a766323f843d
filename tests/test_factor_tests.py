"""A categorical x column's joint test (``Trace.factor_tests()``, the line under
``gradtrace show``'s estimates): the Wald test that all its 0/1 columns' slopes
are 0, against statsmodels' ``wald_test`` of the same restrictions on its fit of
the same 0/1 columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import gradtrace
from helpers import run_cli
from test_categorical import admissions

RANKS = "rank_2 = 0, rank_3 = 0, rank_4 = 0"


def design(frame: pd.DataFrame) -> pd.DataFrame:
    """statsmodels' design: a constant, rank's 0/1 columns against rank 1, gre."""
    ranks = pd.get_dummies(frame["rank"].astype(str), prefix="rank", drop_first=True)
    return sm.add_constant(ranks.astype(float).assign(gre=frame["gre"]))


def test_a_logistic_regressions_factor_test_is_statsmodels_chi2() -> None:
    frame = admissions()
    trace = gradtrace.fit(
        frame,
        "logistic",
        x=["rank", "gre"],
        y="admit",
        categorical="rank",
        standardize=True,  # the test is the same on standardised x
        steps=3,
    )
    want = sm.Logit(frame["admit"], design(frame)).fit(disp=0)
    wald = want.wald_test(RANKS, use_f=False, scalar=True)
    table = trace.factor_tests()
    assert list(table.columns) == ["categories", "df", "chi2", "p_value"]
    assert table.attrs["test"] == "chi2"
    row = table.loc["rank"]
    assert (row["categories"], row["df"]) == (4, 3)
    assert row["chi2"] == pytest.approx(wald.statistic, rel=1e-6)
    assert row["p_value"] == pytest.approx(wald.pvalue, rel=1e-6)


@pytest.mark.parametrize("stderr", [None, "hc3"])
def test_least_squares_factor_test_is_statsmodels_f(stderr: str | None) -> None:
    frame = admissions(300, seed=3)
    frame["y"] = frame["gre"] / 100 + frame["rank"] * 0.3 + frame["admit"]
    trace = gradtrace.fit(
        frame,
        "linear",
        x=["rank", "gre"],
        y="y",
        categorical="rank",
        stderr=stderr,
        steps=3,
    )
    ols = sm.OLS(frame["y"], design(frame))
    fitted = ols.fit() if stderr is None else ols.fit(cov_type="HC3", use_t=True)
    wald = fitted.wald_test(RANKS, use_f=True, scalar=True)
    row = trace.factor_tests().loc["rank"]
    assert row["F"] == pytest.approx(wald.statistic, rel=1e-7)
    assert row["df_denom"] == wald.df_denom == 300 - 5
    assert row["p_value"] == pytest.approx(wald.pvalue, rel=1e-6)


def test_two_categories_test_their_one_slope_as_its_t_test() -> None:
    """One 0/1 column: F is its t squared, and the p-values agree."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"g": rng.choice(["a", "b"], 80), "u": rng.normal(size=80)})
    frame["y"] = (frame["g"] == "b") * 0.4 + frame["u"] + rng.normal(size=80)
    trace = gradtrace.fit(
        frame, "linear", x=["g", "u"], y="y", categorical="g", steps=3
    )
    row = trace.factor_tests().loc["g"]
    slope = trace.summary().query("x == 'g=b'").iloc[0]
    assert row["F"] == pytest.approx(slope["t"] ** 2, rel=1e-9)
    assert row["p_value"] == pytest.approx(slope["p_value"], rel=1e-9)


def test_a_run_without_categories_has_no_rows() -> None:
    frame = admissions(60)
    table = gradtrace.fit(frame, "linear", x=["rank", "gre"], y="admit", steps=3)
    assert table.factor_tests().empty
    # with the columns a test of the loss's has: a script reading ["F"] reads
    # an empty table too
    assert list(table.factor_tests().columns) == [
        "categories",
        "df",
        "F",
        "df_denom",
        "p_value",
    ]
    assert table.factor_tests().index.name == "column"
    frame["admit"] = frame["admit"].round()
    logit = gradtrace.fit(frame, "logistic", x=["gre"], y="admit", steps=3)
    assert list(logit.factor_tests().columns) == ["categories", "df", "chi2", "p_value"]
    assert logit.factor_tests().attrs["test"] == "chi2"


def test_show_and_the_report_say_the_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = admissions()
    data = tmp_path / "adm.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    args = ["fit", str(data), "--model", "logistic", "--x", "rank", "--x", "gre"]
    args += ["--y", "admit", "--categorical", "rank", "--standardize"]
    code, _, err = run_cli([*args, "--steps", "3", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    chi2 = gradtrace.load(out).factor_tests().loc["rank", "chi2"]
    said = (
        f"rank (4 categories), its 3 slopes against rank=1 all 0: chi2(3) = "
        f"{chi2:.4g}, P = "
    )
    code, shown, _ = run_cli(["show", str(out)], capsys)
    assert code == 0 and said in shown and "(a joint Wald test)" in shown
    page = tmp_path / "r.html"
    code, _, err = run_cli(["report", str(out), "-o", str(page)], capsys)
    assert code == 0, err
    assert said in page.read_text()
