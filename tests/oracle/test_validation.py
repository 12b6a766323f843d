"""Validation data against Keras 3 and PyTorch, from fixtures made by running them
(``tools/fixtures/make_validation_fixtures.py``; the frameworks are not needed
here).

Keras's ``fit(validation_split=...)`` holds out the last rows before any
shuffling and logs ``val_loss`` and each metric's ``val_`` value after every
epoch, at the weights the epoch left; a PyTorch loop evaluates its validation
set then. ``ReduceLROnPlateau`` watching ``val_loss`` (Keras's callback,
PyTorch's ``scheduler.step(val_loss)``) cuts the rate from those. Each fixture
is replayed with ``gradtrace.fit`` and its per-epoch history compared: the
logged values and weights to float32 rounding, the rates exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.data import builtin

FIXTURES = Path(__file__).parent / "fixtures" / "validation"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))

#: float32 rounding, over a few hundred steps
RTOL = 2e-6


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def replay(fx: dict[str, Any]) -> gradtrace.Trace:
    """gradtrace.fit with the fixture's data and configuration."""
    config = dict(fx["config"])
    frame = builtin(fx["data"]["dataset"])
    extra: dict[str, Any] = {}
    rows = config.pop("validation_rows", None)
    if rows is not None:  # the last rows as validation data of their own
        frame, extra["validation_data"] = frame.iloc[:-rows], frame.iloc[-rows:]
    return gradtrace.fit(frame, **config, **extra, exact=False)


def test_the_fixtures_are_there() -> None:
    assert len(NAMES) == 11


@pytest.mark.parametrize("name", NAMES)
def test_the_history_is_the_frameworks(name: str) -> None:
    fx = load(name)
    history = replay(fx).history()
    expected = pd.DataFrame(fx["epochs"])
    assert history["epoch"].tolist() == expected["epoch"].tolist()
    for column in ("loss", "rmse", "val_loss", "val_rmse", "w", "b"):
        np.testing.assert_allclose(
            history[column].to_numpy(), expected[column], rtol=RTOL, err_msg=column
        )
    if "lr_schedule" in fx["config"]:
        # a plateau's rates, as the framework held them, to the bit
        assert history["lr"].tolist() == expected["lr"].tolist()


STOPPING = [n for n in NAMES if "early_stopping" in n]


@pytest.mark.parametrize("name", STOPPING)
def test_early_stopping_stops_and_restores_as_keras(name: str) -> None:
    """Keras's EarlyStopping: the epochs it ran (the history above stops where
    Keras's did), the best epoch, and the weights fit left the model with
    (restored from the best epoch where it restores them)."""
    fx = load(name)
    trace = replay(fx)
    said = trace.info["early_stopping"]
    assert said["stopped_epoch"] == fx["stopped_epoch"]
    assert said["best_epoch"] == fx["best_epoch"]
    assert len(trace.history()) == len(fx["epochs"])
    for k, v in fx["final"].items():
        assert trace.params[k] == pytest.approx(v, rel=RTOL)
    if fx["config"]["early_stopping"].get("restore_best_weights"):
        assert said["restored_epoch"] == fx["best_epoch"]
        assert "restored as its best" in trace.message


def test_the_plateau_fixtures_cut_the_rate() -> None:
    """The val_loss plateaus cut: the comparison above tests a decision."""
    for name in ("keras_sgd_plateau_val", "torch_sgd_plateau_val"):
        rates = pd.DataFrame(load(name)["epochs"])["lr"]
        assert rates.nunique() >= 5, name


def test_the_split_holds_out_the_last_rows() -> None:
    """Keras's floor(n * (1 - split)) rows train, the rest are held out."""
    fx = load("keras_sgd_split")
    trace = replay(fx)
    n = len(builtin("seed003_linear"))
    assert trace.info["data"]["n_rows"] == int(np.floor(n * 0.8))
    assert trace.info["data"]["validation"]["n_rows"] == n - int(np.floor(n * 0.8))
    assert trace.info["data"]["validation"]["split"] == 0.2


def test_keras_log_prints_the_validation_values() -> None:
    """The printed epoch line names val_ values from the held-out rows."""
    fx = load("keras_sgd_split")
    log = replay(fx).keras_log().splitlines()
    last = fx["epochs"][-1]
    assert log[-2] == f"Epoch {len(fx['epochs'])}/{len(fx['epochs'])}"
    assert f"val_loss: {last['val_loss']:.4f}" in log[-1]
    assert f"val_root_mean_squared_error: {last['val_rmse']:.4f}" in log[-1]
