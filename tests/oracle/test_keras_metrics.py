"""gradtrace's running metrics against what Keras 3 logs, from fixtures made by running
``model.fit`` with metrics (``tools/fixtures/make_metric_fixtures.py``; Keras is not
needed here).

Keras hands its callbacks, after every batch, the loss and each metric accumulated over
the epoch so far at the weights before each batch's update. gradtrace's
``running_loss`` and ``running_<metric>`` columns claim to be those values: each fixture
is replayed with ``gradtrace.fit(..., metrics=...)`` from the same start on the same
data, and every step's logged values and weights must agree to float32 rounding.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gradtrace

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("keras_metrics_*.json"))

#: float32 rounding: Keras accumulates its metric sums in float32 variables
RTOL, ATOL = 1e-5, 1e-6


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _init(cfg: dict[str, Any]) -> dict[str, Any]:
    """{"w[0]": a, "w[1]": b, "b": c} -> {"w": [a, b], "b": c}."""
    init: dict[str, Any] = {}
    for key, value in cfg["init"].items():
        if "[" in key:
            init.setdefault(key.split("[")[0], []).append(value)
        else:
            init[key] = value
    return init


def fit_like(fx: dict[str, Any]) -> pd.DataFrame:
    """gradtrace.fit with the fixture's configuration and metrics, as a DataFrame."""
    return fit_trace(fx).to_pandas()


def fit_trace(fx: dict[str, Any]) -> gradtrace.Trace:
    """gradtrace.fit with the fixture's configuration and metrics."""
    cfg, data = fx["config"], fx["data"]
    xs = np.asarray(data["x"], np.float32).reshape(len(data["y"]), -1)
    if xs.shape[1] == 1:
        columns: dict[str, Any] = {"x": xs[:, 0]}
    else:
        columns = {f"x{i}": xs[:, i] for i in range(xs.shape[1])}
    trace = gradtrace.fit(
        {**columns, "y": np.asarray(data["y"], np.float32)},
        model=cfg["model"],
        loss=cfg["loss"],
        x=list(columns),
        y="y",
        optimizer=cfg["optimizer"],
        opt=cfg["hyper"],
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        shuffle=cfg["shuffle"],
        init=_init(cfg),
        reduction=cfg["reduction"],
        dtype=cfg["dtype"],
        exact=False,
        metrics=list(fx["metrics"]),
    )
    return trace


_RUNS: dict[str, pd.DataFrame] = {}


def ours(name: str) -> pd.DataFrame:
    if name not in _RUNS:
        _RUNS[name] = fit_like(load(name))
    return _RUNS[name]


def comparisons(name: str) -> list[tuple[str, str, str]]:
    """(fixture, gradtrace column, where the fixture keeps Keras's value) to compare."""
    fx = load(name)
    out = [(name, p, f"trace/{p}") for p in fx["config"]["init"]]
    # a loss that leaves out a constant (Keras's poisson: log y!) logs lower than
    # gradtrace's running_loss: explain's figure for it is checked below
    where = "trace/running_loss" if "left_out" in fx else "logs/loss"
    out.append((name, "running_loss", where))
    out += [(name, f"running_{m}", f"logs/{key}") for m, key in fx["metrics"].items()]
    return out


# Keras's R2Score.result() replaces an infinite score by 0.0 (ops.where(ops.isinf(
# raw_scores), 0.0, raw_scores)): when the epoch's first batch has four equal y
# values, its total sum of squares is exactly 0 and Keras logs r2_score 0.0 at steps
# 1 and 5. gradtrace does the same (metrics.finalize); the fixture
# keras_metrics_r2_constant_batch checks it.
CASES = [pytest.param(*case) for name in NAMES for case in comparisons(name)]


def keras_column(fx: dict[str, Any], where: str) -> np.ndarray:
    part, key = where.split("/")
    values = fx[part][key]
    return np.array([np.nan if v is None else v for v in values], np.float64)


def test_the_fixtures_are_there() -> None:
    assert {"keras_metrics_line_sgd", "keras_metrics_logistic_adam"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_steps_in_the_same_epochs(name: str) -> None:
    trace = load(name)["trace"]
    df = ours(name)
    assert df["step"].tolist() == trace["step"]
    assert df["epoch"].tolist() == trace["epoch"]
    assert df["batch"].tolist() == trace["batch"]


@pytest.mark.parametrize(("name", "column", "where"), CASES)
def test_every_step_equals_what_keras_logged(
    name: str, column: str, where: str
) -> None:
    """Row 0 (the initial state) has no log; every later row is one batch's end."""
    fx = load(name)
    theirs = keras_column(fx, where)
    got = ours(name)[column].to_numpy(np.float64)
    assert len(got) == len(theirs)
    if where.startswith("logs/") or where == "trace/running_loss":
        assert np.isnan(got[0]) and np.isnan(theirs[0])
        got, theirs = got[1:], theirs[1:]
    np.testing.assert_allclose(
        got, theirs, rtol=RTOL, atol=ATOL, err_msg=f"{name}: {column} vs {where}"
    )


def test_r2_agrees_with_keras_where_the_total_sum_of_squares_is_not_zero() -> None:
    """The constant-batch case: the first batch of each epoch (y = 2, 2, 2, 2) has a
    total sum of squares of 0, where Keras logs 0; the other steps agree too."""
    name = "keras_metrics_r2_constant_batch"
    fx = load(name)
    theirs = keras_column(fx, "logs/r2_score")
    got = ours(name)["running_r2"].to_numpy(np.float64)
    first = np.array(fx["trace"]["batch"]) == 1
    np.testing.assert_allclose(theirs[first], 0.0)
    np.testing.assert_allclose(got[first], 0.0)
    np.testing.assert_allclose(got[~first][1:], theirs[~first][1:], RTOL, ATOL)


def test_explain_gives_what_kerass_poisson_loss_logs() -> None:
    """Keras's poisson loss leaves out log y!: explain says so and gives, at every
    step, the running loss Keras logged and Keras's loss of the batch."""
    fx = load("keras_metrics_poisson_sgd")
    trace = fit_trace(fx)
    logged = keras_column(fx, "logs/loss")
    batch = keras_column(fx, "trace/batch_loss")
    for step in range(1, trace.steps + 1):
        table = trace.explain(step)
        ours = table.attrs["logged"]
        # Keras's poisson takes log(pred + 1e-7): y * 1e-7 / pred a row apart
        near = {"rel": RTOL, "abs": 5e-6}
        assert ours["frameworks_running_loss"] == pytest.approx(logged[step], **near)
        rows = table.drop(index="mean")
        keras_batch = batch[step] - np.mean([math.lgamma(v + 1) for v in rows["y"]])
        assert ours["frameworks_batch_loss"] == pytest.approx(keras_batch, **near)
        assert "leave out log y!" in table.attrs["why"]


@pytest.mark.parametrize("name", [n for n in NAMES if "left_out" not in load(n)])
def test_history_is_what_keras_fit_returned_per_epoch(name: str) -> None:
    """trace.history(): Keras's History.history, one row per epoch, is its logs
    at each epoch's last batch."""
    fx = load(name)
    table = fit_trace(fx).history()
    trace = fx["trace"]
    ends = [
        i
        for i in range(1, len(trace["step"]))
        if i == len(trace["step"]) - 1 or trace["epoch"][i + 1] != trace["epoch"][i]
    ]
    assert table["epoch"].tolist() == [trace["epoch"][i] for i in ends]
    logged = keras_column(fx, "logs/loss")[ends]
    np.testing.assert_allclose(table["loss"], logged, rtol=RTOL, atol=ATOL)
    # under Keras's own keys: History.history's, column for column
    named = fit_trace(fx).history(keras_names=True)
    for metric, key in fx["metrics"].items():
        theirs = keras_column(fx, f"logs/{key}")[ends]
        np.testing.assert_allclose(table[metric], theirs, rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(named[key], table[metric])
    full = keras_column(fx, "trace/loss")[ends]
    np.testing.assert_allclose(table["loss_all_data"], full, rtol=RTOL, atol=ATOL)


def test_metrics_are_kept_in_the_losss_dtype() -> None:
    """Keras logs float32 metrics; a float32 run's metric columns are float32 as
    its loss columns are (exported, a float64 RMSE claimed 16 digits), and a
    float64 run's float64."""
    fx = load("keras_metrics_line_adam_mse")
    frame = fit_like(fx)
    for column in ("running_mse", "mse", "running_rmse", "rmse"):
        assert frame[column].dtype == np.float32, column
    wide = gradtrace.fit("seed001_line", steps=3, metrics=["rmse"], dtype="float64")
    assert wide.to_pandas()["rmse"].dtype == np.float64
    assert wide.history()["rmse"].dtype == np.float64
