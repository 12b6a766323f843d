"""``keras.scheduler``, Keras's LearningRateScheduler callback: each epoch's rate
an expression of the epoch and the rate before, as the callback sets it at the
epoch's start into a float32 variable. Checked against Keras's runs in
``tests/oracle/test_validation.py``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import gradtrace
from gradtrace.core.schedules import LrSchedule
from helpers import fit_refused, run_cli

EXAMPLE = "lr if epoch < 10 else lr * exp(-0.1)"


def test_the_rates_are_the_callbacks_recursion() -> None:
    """TensorFlow's example, written out: the rate read back from the float32
    variable, the lambda's Python floats, stored again."""
    schedule = LrSchedule.create("keras.scheduler", schedule=EXAMPLE)
    rates = schedule.scheduler_rates(0.1, 30, np.float32)
    rate, by_hand = float(np.float32(0.1)), []
    for epoch in range(30):
        rate = float(np.float32(rate if epoch < 10 else rate * math.exp(-0.1)))
        by_hand.append(rate)
    assert rates.tolist() == by_hand
    trace = gradtrace.fit(
        "seed001_line",
        optimizer="keras.sgd",
        lr=0.1,
        batch_size=25,
        epochs=30,
        lr_schedule=f"keras.scheduler:schedule={EXAMPLE}",
    )
    assert trace.history()["lr"].tolist() == by_hand
    said = trace.explain_text(trace.steps)
    assert "this step's rate, from keras.scheduler" in said


def test_a_longer_rerun_keeps_its_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recursion is the same at any length: rerun --epochs goes on."""
    out = tmp_path / "r"
    args = ["--lr-schedule", f"keras.scheduler:schedule={EXAMPLE}"]
    code, _, err = run_cli(
        ["fit", "seed001_line", "--epochs", "12", "--out", str(out), "-q", *args],
        capsys,
    )
    assert code == 0, err
    code, said, err = run_cli(
        ["rerun", str(out), "--epochs", "20", "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0, err


@pytest.mark.parametrize(
    ("schedule", "told"),
    [
        (
            "keras.scheduler:schedule=lr*x",
            "may use only the names epoch (from 0) and lr",
        ),
        ("keras.scheduler:schedule=-lr", "a rate must be a finite number >= 0"),
        ("keras.scheduler:schedule=lr/(2-epoch)", "fails at epoch 2"),
        ("keras.scheduler", "needs schedule"),
        (
            "keras.scheduler:schedule=lr if epoch else 0",
            "the condition of '... if ... else ...' must be a comparison",
        ),
    ],
)
def test_bad_schedules_are_told_what_to_write(
    schedule: str, told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["seed001_line", "--epochs", "4", "--lr-schedule", schedule]
    fit_refused(args, told, tmp_path / "r", capsys)


def test_a_sweep_says_it_cannot_take_it() -> None:
    with pytest.raises(gradtrace.InputError, match="a sweep cannot take"):
        gradtrace.sweep(
            "seed001_line",
            lr=[0.1, 0.2],
            epochs=2,
            lr_schedule=f"keras.scheduler:schedule={EXAMPLE}",
        )
