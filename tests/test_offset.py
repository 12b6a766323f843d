"""``offset`` (--offset): a column added to a GLM's linear predictor as it is, its
coefficient held at 1 (R's ``offset()``), against statsmodels' GLMs with
``exposure=`` and ``offset=``; in memory and streamed, standardised, saved,
predicted, swept; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import gradtrace
from helpers import run_cli


def claims(n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Counts over exposures: y ~ Poisson(years * exp(-3 + 0.03 age))."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 70, n)
    years = rng.uniform(0.5, 5, n)
    y = rng.poisson(years * np.exp(-3 + 0.03 * age))
    return pd.DataFrame(
        {"age": age, "years": years, "logyears": np.log(years), "y": y.astype(float)}
    )


def test_a_poisson_regression_over_exposures_is_statsmodels() -> None:
    frame = claims()
    trace = gradtrace.fit(
        frame,
        "poisson-regression",
        x=["age"],
        offset="logyears",
        optimizer="adam",
        lr=0.05,
        steps=400,
        standardize=True,
    )
    glm = sm.GLM(
        frame["y"],
        sm.add_constant(frame["age"]),
        family=sm.families.Poisson(),
        exposure=frame["years"],
    ).fit()
    units = trace.info["original_units"]
    assert units["optimum"]["w"][0] == pytest.approx(glm.params["age"], rel=1e-7)
    assert units["optimum"]["b"] == pytest.approx(glm.params["const"], rel=1e-7)
    assert units["stderr"]["w"][0] == pytest.approx(glm.bse["age"], rel=1e-6)
    assert units["stderr"]["b"] == pytest.approx(glm.bse["const"], rel=1e-6)
    # the offset is no parameter: one slope, and the run's x ends with it
    assert np.size(trace.params["w"]) == 1
    assert trace.info["data"]["x"] == ["age", "logyears"]
    assert trace.info["model_options"]["offset"] is True
    # predictions are the counts expected over each row's own exposure
    np.testing.assert_allclose(
        trace.predict(frame, step=None), glm.predict(), rtol=2e-5
    )
    # without the offset, the years are a covariate the fit cannot tell apart
    free = gradtrace.fit(frame, "poisson-regression", x=["age", "logyears"], steps=3)
    assert np.size(free.params["w"]) == 2


def test_a_logistic_regression_takes_an_offset_as_statsmodels_does() -> None:
    rng = np.random.default_rng(4)
    n = 400
    x = rng.normal(size=n)
    shift = rng.normal(0, 0.5, n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 1.2 * x + shift)))).astype(float)
    frame = pd.DataFrame({"x": x, "shift": shift, "y": y})
    trace = gradtrace.fit(frame, "logistic", offset="shift", lr=1.0, steps=300)
    glm = sm.GLM(
        frame["y"],
        sm.add_constant(frame["x"]),
        family=sm.families.Binomial(),
        offset=frame["shift"],
    ).fit()
    info = trace.info
    assert info["optimum"]["w"][0] == pytest.approx(glm.params["x"], rel=1e-7)
    assert info["optimum"]["b"] == pytest.approx(glm.params["const"], rel=1e-7)
    assert info["stderr"]["w"][0] == pytest.approx(glm.bse["x"], rel=1e-6)
    # every column but y and the offset is x
    assert info["data"]["x"] == ["x", "shift"]


def test_the_command_line_saves_shows_predicts_and_reruns_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    claims().to_csv("claims.csv", index=False)
    base = ["fit", "claims.csv", "--model", "poisson-regression", "--x", "age"]
    base += ["--offset", "logyears", "--standardize", "--optimizer", "adam"]
    base += ["--lr", "0.05", "--steps", "60"]
    code, out, err = run_cli([*base, "--out", "r"], capsys)
    assert code == 0, err
    assert "(500 rows; age -> y, offset logyears)" in out
    code, _, err = run_cli(["report", "r", "-o", "r.html"], capsys)
    assert code == 0 and "offset logyears" in Path("r.html").read_text(), err
    code, out, err = run_cli(["rerun", "r", "--out", "r2"], capsys)
    assert code == 0 and "identical" in out + err, err
    loaded = gradtrace.load("r")
    code, out, err = run_cli(["predict", "r", "claims.csv"], capsys)
    assert code == 0, err
    printed = [float(line.rsplit(",", 1)[1]) for line in out.splitlines()[1:]]
    np.testing.assert_allclose(
        printed, loaded.predict(pd.read_csv("claims.csv")), rtol=1e-8
    )
    # new rows without the offset are told it is the offset that they miss
    pd.DataFrame({"age": [30.0]}).to_csv("bare.csv", index=False)
    code, _, err = run_cli(["predict", "r", "bare.csv"], capsys)
    assert code == 2 and "age, logyears (logyears is its offset)." in err
    # a config file names it too
    Path("run.toml").write_text(
        'data = "claims.csv"\nmodel = "poisson-regression"\nx = ["age"]\n'
        'offset = "logyears"\nsteps = 5\n'
    )
    code, _, err = run_cli(["fit", "--config", "run.toml", "-o", "c", "-q"], capsys)
    assert code in (0, 1), err  # 1: five steps at the default rate that rose
    assert gradtrace.load("c").info["config"]["offset"] == "logyears"
    # and a sweep
    code, _, err = run_cli(
        ["sweep", "claims.csv", "--model", "poisson-regression", "--x", "age"]
        + ["--offset", "logyears", "--lr", "0.01,0.02", "--steps", "5", "--no-plot"]
        + ["--out", "s"],
        capsys,
    )
    assert code == 0, err


def test_a_stream_is_the_run_in_memory(tmp_path: Path) -> None:
    frame = claims()
    frame.to_parquet(tmp_path / "claims.parquet")
    options = dict(
        model="poisson-regression",
        x=["age"],
        offset="logyears",
        standardize=True,
        optimizer="adam",
        lr=0.05,
        steps=20,
        shuffle=False,
    )
    memory = gradtrace.fit(frame, **options)  # type: ignore[arg-type]
    streamed = gradtrace.fit(
        tmp_path / "claims.parquet",
        stream=True,
        chunk_rows=128,
        **options,  # type: ignore[arg-type]
    )
    assert streamed.info["model_options"] == memory.info["model_options"]
    np.testing.assert_allclose(
        streamed.to_pandas()["w[0]"], memory.to_pandas()["w[0]"], rtol=1e-5
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--model", "linear", "--offset", "logyears"],
            "linear predictor): fit y minus the offset instead.",
        ),
        (
            ["--model", "normal", "--offset", "logyears"],
            "linear predictor): a distribution has none.",
        ),
        (
            ["--model-expr", "a*age + b", "--offset", "logyears"],
            "write logyears into --model-expr, such as a*x + b + logyears.",
        ),
        (["--offset", "exposure"], "--offset exposure: no such column"),
        (
            ["--x", "age", "--offset", "kind"],
            "--offset kind: its values are not all numbers ('a'",
        ),
        (
            ["--offset", "logyear"],
            "(columns: age, years, logyears, y, kind): did you mean",
        ),
        (["--offset", "y"], "--offset y is the target (--y)"),
        (
            ["--x", "age", "--x", "logyears", "--offset", "logyears"],
            "--offset logyears is an x column too (--x)",
        ),
    ],
)
def test_bad_offsets_are_refused_in_a_line(
    args: list[str],
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claims().assign(kind="a").to_csv(tmp_path / "claims.csv", index=False)
    model = (
        []
        if "--model" in args or "--model-expr" in args
        else ["--model", "poisson-regression"]
    )
    code, _, err = run_cli(
        ["fit", str(tmp_path / "claims.csv"), *model, *args, "-o", str(tmp_path / "r")],
        capsys,
    )
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_an_offset_alone_is_told_it_is_not_supported(tmp_path: Path) -> None:
    frame = pd.DataFrame({"lo": [0.1, 0.2, 0.3], "y": [0.0, 1.0, 1.0]})
    with pytest.raises(gradtrace.InputError, match="an offset alone is not supported"):
        gradtrace.fit(frame, "logistic", offset="lo")


def test_animate_says_the_offset_is_the_second_column(tmp_path: Path) -> None:
    """One x column and an offset: the curve moves with the offset row by row,
    so animate refuses, naming the offset (it said the run had not one x)."""
    trace = gradtrace.fit(
        claims(60), "poisson-regression", x=["age"], offset="logyears", steps=3
    )
    with pytest.raises(gradtrace.InputError) as refused:
        trace.animate(tmp_path / "a.gif")
    assert "one x column (its offset, logyears, is a second)" in str(refused.value)
    assert not (tmp_path / "a.gif").exists()
