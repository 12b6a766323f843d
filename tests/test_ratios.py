"""The estimates table's odds ratios (logistic regression) and rate ratios
(Poisson regression): e^estimate and its interval's e^ends, as R's
``exp(coef(fit))`` and ``exp(confint.default(fit))`` give them, against
statsmodels' fits of the same data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import gradtrace
from gradtrace.estimates import shown_estimates
from helpers import run_cli


def admissions(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"gre": rng.normal(580, 115, n), "gpa": rng.normal(3.4, 0.38, n)}
    )
    eta = -4 + 0.002 * frame["gre"] + 0.8 * frame["gpa"]
    frame["admit"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return frame


def ends(cell: str) -> tuple[float, float]:
    low, high = cell.split(" to ")
    return float(low), float(high)


def test_a_logistic_regressions_odds_ratios_are_statsmodels_in_xs_own_units() -> None:
    """On standardised x the estimates are per standard deviation; the odds
    ratios are per unit of x as the user wrote it, as statsmodels' fit on the raw
    columns gives them."""
    frame = admissions()
    trace = gradtrace.fit(
        frame,
        "logistic",
        x=["gre", "gpa"],
        y="admit",
        standardize=True,
        steps=300,
        lr=0.5,
    )
    shown = shown_estimates(trace.info, trace.summary())
    assert shown is not None
    table, said = shown
    logit = sm.Logit(frame["admit"], sm.add_constant(frame[["gre", "gpa"]])).fit(disp=0)
    ratios = np.exp(logit.params)
    intervals = np.exp(logit.conf_int())
    for name, column in (("w[0]", "gre"), ("w[1]", "gpa"), ("b", "const")):
        assert float(table.loc[name, "odds ratio"]) == pytest.approx(
            ratios[column], rel=1e-4
        )
        low, high = ends(table.loc[name, "odds ratio's 95% interval"])
        assert low == pytest.approx(intervals.loc[column, 0], rel=2e-3)
        assert high == pytest.approx(intervals.loc[column, 1], rel=2e-3)
    assert any(
        s.startswith("odds ratio: e^estimate") and "own units" in s for s in said
    )


def test_a_poisson_regressions_rate_ratios_show_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 70, 300)
    frame = pd.DataFrame(
        {"age": age, "y": rng.poisson(np.exp(-1 + 0.03 * age)).astype(float)}
    )
    frame.to_csv(tmp_path / "counts.csv", index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(
        [
            "fit", str(tmp_path / "counts.csv"), "--model", "poisson-regression",
            "--y", "y", "--standardize", "--optimizer", "adam", "--lr", "0.05",
            "--steps", "500", "-q", "--out", str(out),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    code, said, err = run_cli(["show", str(out)], capsys)
    assert code == 0, err
    glm = sm.GLM(
        frame["y"], sm.add_constant(frame["age"]), family=sm.families.Poisson()
    ).fit()
    assert "rate ratio: e^estimate, the factor the mean count changes by" in said
    loaded = gradtrace.load(out)
    shown = shown_estimates(loaded.info, loaded.summary())
    assert shown is not None
    table = shown[0]
    ratio = table.loc["w[0]", "rate ratio"]
    assert float(ratio) == pytest.approx(np.exp(glm.params["age"]), rel=1e-4)
    want = np.exp(glm.conf_int().loc["age"])
    interval = table.loc["w[0]", "rate ratio's 95% interval"]
    assert ends(interval) == pytest.approx(tuple(want), rel=1e-4)
    # the command prints them (its table wraps to the terminal's width)
    assert ratio in said and interval.split()[0] in said


def test_other_models_and_losses_have_no_ratios() -> None:
    """A line's e^slope is no ratio of anything, nor is a logistic curve's fitted
    by squared error."""
    frame = admissions()
    for model, loss in (("linear", "mse"), ("logistic", "mse")):
        trace = gradtrace.fit(
            frame,
            model,
            x=["gre", "gpa"],
            y="admit",
            loss=loss,
            standardize=True,
            steps=5,
        )
        shown = shown_estimates(trace.info, trace.summary())
        if shown is not None:
            assert not any("ratio" in c for c in shown[0].columns)
            assert not any("ratio" in s for s in shown[1])
