"""``Trace.keras_log()`` (``gradtrace show RUN --keras``) against the lines Keras 3's
``model.fit(verbose=2)`` printed, from fixtures made by running it
(``tools/fixtures/make_keras_log_fixtures.py``; Keras is not needed here).

Each fixture is replayed with ``gradtrace.fit`` from the same start on the same data.
The lines must have Keras's layout (the epoch line, the batches done, the names in
Keras's order and spelling, four decimals or e-notation below 1e-3), Keras's time
taken aside, and each value must be Keras's to the printed precision (Keras sums its
metrics in float32, so the fourth decimal may round the other way).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.tables import keras_value

FIXTURES = Path(__file__).parent / "fixtures" / "printed"
NAMES = sorted(p.stem for p in FIXTURES.glob("keras_log_*.json"))

#: Keras's time taken: " - 0s - 123ms/step"
TIME = re.compile(r" - \d+s - \d+(?:ms|us|s)/step")
#: "name: value"
LOGGED = re.compile(r"(\w+): (\S+)")


def _fit(fx: dict[str, Any]) -> gradtrace.Trace:
    cfg, data = fx["config"], fx["data"]
    xs = np.asarray(data["x"], np.float32).reshape(len(data["y"]), -1)
    columns = {f"x{i}": xs[:, i] for i in range(xs.shape[1])}
    return gradtrace.fit(
        pd.DataFrame({**columns, "y": np.asarray(data["y"], np.float32)}),
        cfg["model"],
        x=list(columns),
        optimizer=cfg["optimizer"],
        opt={k: v for k, v in cfg["hyper"].items() if k != "learning_rate"},
        lr=cfg["hyper"]["learning_rate"],
        init={"w": np.ravel(cfg["init"]["w"]).tolist(), "b": cfg["init"]["b"]},
        batch_size=cfg["batch_size"],
        epochs=cfg["epochs"],
        metrics=cfg["metrics"],
        shuffle=False,
        exact=False,
        lr_schedule=cfg.get("lr_schedule"),
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_keras_log_is_what_keras_printed(name: str) -> None:
    fx = json.loads((FIXTURES / f"{name}.json").read_text())
    keras = [TIME.sub("", line) for line in fx["lines"]]
    ours = _fit(fx).keras_log(validation=fx["config"]["validation"]).splitlines()
    assert len(ours) == len(keras)
    for mine, theirs in zip(ours, keras, strict=True):
        if theirs.startswith("Epoch"):
            assert mine == theirs
            continue
        assert mine.split(" - ")[0] == theirs.split(" - ")[0]  # batches done
        got, want = LOGGED.findall(mine), LOGGED.findall(theirs)
        assert [k for k, _ in got] == [k for k, _ in want]  # names, in Keras's order
        for (key, a), (_, b) in zip(got, want, strict=True):
            # the same notation, and the value to the printed precision
            assert ("e" in a) == ("e" in b), (key, a, b)
            assert float(a) == pytest.approx(float(b), rel=2e-4, abs=1.01e-4), key


def test_small_values_are_printed_as_keras_prints_them() -> None:
    assert keras_value(0.0012345) == "0.0012"
    assert keras_value(0.00091363) == "9.1363e-04"
    assert keras_value(-0.5) == "-0.5000"


def test_show_keras_prints_the_runs_log_and_refuses_a_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    run = tmp_path / "run"
    args = ["fit", "seed004_keras", "--optimizer", "keras.rmsprop", "--lr", "0.05"]
    args += ["--batch-size", "3", "--epochs", "2", "--metric", "rmse", "-q"]
    code, _, err = run_cli([*args, "--out", str(run)], capsys)
    assert code == 0, err
    code, out, err = run_cli(["show", str(run), "--keras"], capsys)
    assert code == 0, err
    assert out.strip() == gradtrace.load(run).keras_log()
    assert out.splitlines()[0] == "Epoch 1/2"
    assert out.splitlines()[1].startswith("4/4 - loss: ")
    assert "root_mean_squared_error: " in out and "val_loss: " not in out
    # as model.fit(x, y) prints: no val_ values; said apart from Keras's lines
    assert "held no rows out, so Keras prints no val_ values" in err
    # given the training data as validation_data, Keras prints the loss after
    # each epoch's last step as val_loss
    loaded = gradtrace.load(run)
    last = float(loaded.history()["loss_all_data"].iloc[-1])
    said = loaded.keras_log(validation=True).splitlines()[-1]
    assert f" - val_loss: {keras_value(last)} - " in said
    sweep = tmp_path / "sweep"
    code, _, err = run_cli(
        ["sweep", "seed004_keras", "--lr", "0.01,0.1", "--steps", "3", "--no-plot"]
        + ["--out", str(sweep)],
        capsys,
    )
    assert code == 0, err
    code, out, err = run_cli(["show", str(sweep), "--keras"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is a sweep's folder: show it without --keras" in err


def test_a_poisson_runs_log_says_its_loss_is_not_kerass() -> None:
    """Keras's poisson loss leaves out log y!: the lines of a Poisson run, which
    would pass for Keras's, said nothing of the 1.18 each loss is above Keras's
    (a TensorFlow user's finding)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    y = rng.poisson(np.exp(0.5 + 0.3 * x))
    trace = gradtrace.fit(
        {"x": x, "y": y},
        "poisson-regression",
        optimizer="keras.adam",
        lr=0.05,
        batch_size=20,
        epochs=2,
    )
    from scipy.special import gammaln

    first, *rest = trace.keras_log().splitlines()
    assert first.startswith(
        "note: the loss is the Poisson negative log-likelihood in full, log y! "
        f"included (its mean over the rows: {np.mean(gammaln(y + 1.0)):.7g}); Keras's"
    )
    assert rest[0] == "Epoch 1/2"
