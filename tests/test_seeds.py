"""The seeds' own printed numbers, reproduced."""

from __future__ import annotations

import numpy as np
import pytest

import gradtrace

SEED004 = dict(
    model="line",
    loss="mse",
    optimizer="keras.rmsprop",
    lr=0.05,
    epochs=1,
    shuffle=False,
    init={"w": 0.5, "b": 0.0},
)


def test_seed004_every_step() -> None:
    trace = gradtrace.fit("seed004_keras", batch_size=3, **SEED004)  # type: ignore[arg-type]
    f = trace.to_pandas().iloc[1:]
    np.testing.assert_allclose(
        f["w"], [0.6581138, 0.8132714, 0.9573485, 1.0924618], rtol=1e-6
    )
    np.testing.assert_allclose(
        f["b"], [0.1581139, 0.3018075, 0.4266977, 0.5409284], rtol=1e-6
    )
    np.testing.assert_allclose(
        f["loss"], [352.3351, 306.3082, 266.7119, 232.1553], rtol=1e-6
    )


def test_seed004_whole_batch_initial_loss() -> None:
    trace = gradtrace.fit("seed004_keras", batch_size=12, **SEED004)  # type: ignore[arg-type]
    f = trace.to_pandas()
    assert f["loss"][0] == pytest.approx(402.985, rel=1e-6)
    assert f["running_loss"][1] == pytest.approx(402.985, rel=1e-6)
    assert np.sqrt(f["running_loss"][1]) == pytest.approx(20.0745, abs=5e-5)
    assert f["loss"][1] == pytest.approx(352.3351, rel=1e-6)


# Seed 002's printed table (step, loss, estimate); data matched to its mean/variance.
SEED002_TABLE = [
    (500, 16102.988, 0.60579),
    (1000, 14937.011, 0.36674),
    (1500, 14508.284, 0.22179),
    (2000, 14350.645, 0.13390),
    (3000, 14271.368, 0.04828),
    (5000, 14259.201, 0.00523),
    (6500, 14258.986, -0.00000),
    (8000, 14258.977, -0.00117),
    (10000, 14258.976, -0.00146),
]

SEED002 = dict(
    model="normal",
    loss="nll",
    optimizer="torch.sgd",
    steps=10000,
    reduction="sum",
    init={"loc": 1.0},
    fix={"scale": 1.0},
    dtype="float64",
    compute_dtype="float32",
    shuffle=False,
)


@pytest.mark.cpu_digits
def test_seed002_printed_table_is_reproduced_with_lr_1e7() -> None:
    trace = gradtrace.fit("seed002_normal", lr=1e-7, **SEED002)  # type: ignore[arg-type]
    f = trace.to_pandas()
    assert f["grad_loc"][1] == pytest.approx(10015.0459, abs=1e-4)
    assert f["loc"][1] == pytest.approx(0.9989985, abs=5e-8)
    for step, loss, estimate in SEED002_TABLE:
        assert f["loc"][step] == pytest.approx(estimate, abs=5e-6)
        # float32 sums of 10000 terms near 16000 carry ~0.002 of rounding
        assert f["loss"][step] == pytest.approx(loss, abs=0.004)


def test_seed002_lr_1e3_diverges_and_says_where() -> None:
    trace = gradtrace.fit("seed002_normal", lr=1e-3, **SEED002)  # type: ignore[arg-type]
    assert trace.diverged
    assert trace.diverged_step == trace.steps < 100
    assert f"diverged at step {trace.diverged_step}" in trace.message
