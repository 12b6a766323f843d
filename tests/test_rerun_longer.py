"""``gradtrace rerun RUN --epochs N`` / ``--steps N``: the same run for another
length, whose shared steps are checked to be the old run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradtrace
from gradtrace import planning, store
from gradtrace.cli import main
from gradtrace.core import schedules
from helpers import run_cli

SEED004 = Path(__file__).parents[1] / "src/gradtrace/datasets/seed004_keras.csv"


def _fit(tmp_path: Path, name: str, *args: str) -> Path:
    folder = tmp_path / name
    with pytest.raises(SystemExit) as done:
        main(["fit", str(SEED004), *args, "-q", "--out", str(folder)])
    assert done.value.code in (0, None, 1)  # 1: diverged
    return folder


def _frame(folder: Path) -> pd.DataFrame:
    return gradtrace.load(folder).to_pandas()


MINI_BATCH = [
    "--optimizer",
    "keras.adam",
    "--lr",
    "0.05",
    "--batch-size",
    "3",
    "--seed",
    "4",
    "--lr-schedule",
    "keras.exponential:decay_steps=4,decay_rate=0.8",
]


def test_a_longer_rerun_is_the_run_carried_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _fit(tmp_path, "old", *MINI_BATCH, "--epochs", "2")
    capsys.readouterr()
    code, out, err = run_cli(
        ["rerun", str(old), "--epochs", "5", "--out", str(tmp_path / "new")], capsys
    )
    assert code == 0, err
    steps = gradtrace.load(old).steps
    assert f"{old} ran {steps} steps; the new run goes on to {steps * 5 // 2}" in out
    new = _frame(tmp_path / "new")
    # the longer run is a fit of that length from the start, shuffles, schedule
    # and optimizer state (Adam's moments, Keras's iterations) carried through
    whole = _fit(tmp_path, "whole", *MINI_BATCH, "--epochs", "5")
    pd.testing.assert_frame_equal(new, _frame(whole))
    first = _frame(old)
    pd.testing.assert_frame_equal(new.iloc[: len(first)], first)
    # and a shorter one is the old run's beginning
    code, out, err = run_cli(
        ["rerun", str(old), "--steps", "3", "--out", str(tmp_path / "short")], capsys
    )
    assert code == 0, err
    assert f"the new run stops at step 3 of {old}'s {steps}: their first 4 rows" in out
    pd.testing.assert_frame_equal(_frame(tmp_path / "short"), first.iloc[:4])


@pytest.mark.parametrize("full_batch", [True, False])
def test_the_loss_over_all_the_data_keeps_the_runs_cadence(
    full_batch: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a small budget of row evaluations (12 rows): the default cadence is every
    # 4th step for the first run and would be every 10th for the longer one
    monkeypatch.setattr(planning, "EVAL_BUDGET", 12 * 30 // 4)
    how = [] if full_batch else ["--batch-size", "4", "--no-shuffle"]
    old = _fit(tmp_path, "old", "--lr", "0.01", *how, "--steps", "30")
    capsys.readouterr()
    code, out, err = run_cli(
        ["rerun", str(old), "--steps", "75", "--out", str(tmp_path / "new")], capsys
    )
    assert code == 0, err
    first, new = _frame(old), _frame(tmp_path / "new")
    evaluated = first["loss"].notna().to_numpy().nonzero()[0].tolist()
    again = new["loss"].notna().to_numpy().nonzero()[0].tolist()
    if full_batch:  # each step's batch loss is the loss over all the data
        assert evaluated == [*range(31)] and again == [*range(76)]
    else:
        assert evaluated[:3] == [0, 4, 8] and evaluated[-1] == 30
        assert again[:9] == [*range(0, 33, 4)]
    # the last row's loss over all the data was evaluated at the run's end, apart:
    # its step is compared without it
    assert (
        "their first 30 rows are identical, and step 30's but for its loss over all "
        "the data" in out
    )
    pd.testing.assert_frame_equal(new.iloc[:30], first.iloc[:30])
    own = [c for c in first.columns if c not in ("loss", "gap")]
    pd.testing.assert_series_equal(new.loc[30, own], first.loc[30, own])
    assert gradtrace.load(tmp_path / "new").info["schedule"]["eval_every"] == 4
    # a difference in that step's parameters is one
    path = tmp_path / "new" / "trace.parquet"
    table = pq.read_table(path).to_pandas()
    table.loc[30, "w"] = float(table.loc[30, "w"]) + 1e-6
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)
    assert store.same_traces(old, tmp_path / "new", prefix=True, rows=30)
    assert not store.same_traces(
        old, tmp_path / "new", prefix=True, rows=30, then_step=True
    )


def test_a_diverged_run_diverges_again_when_made_longer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _fit(tmp_path, "old", "--lr", "40", "--steps", "200")
    assert gradtrace.load(old).diverged
    capsys.readouterr()
    code, out, err = run_cli(
        ["rerun", str(old), "--steps", "400", "--out", str(tmp_path / "new")], capsys
    )
    step = gradtrace.load(old).diverged_step
    assert code == 0 and err == ""  # diverged again the same way: as it should
    assert f"identical to {old}: {step + 1} rows (both diverged at step {step})" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--epochs", "3", "--steps", "4"], "give --epochs or --steps (one of them)"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--steps", "2.5"], "--steps"),
    ],
)
def test_a_bad_length_is_one_line(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _fit(tmp_path, "old", "--lr", "0.01", "--steps", "5")
    capsys.readouterr()
    new = tmp_path / "new"
    code, _, err = run_cli(["rerun", str(old), *args, "--out", str(new)], capsys)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not new.exists()


def test_a_pytorch_schedule_across_its_table_is_refused_with_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond TABLE_EPOCHS epochs PyTorch's rates come from other tables (within
    two ulps): a rerun across it said only that the traces differ."""
    schedule = ["--lr-schedule", "torch.exponential:gamma=0.9"]
    old = _fit(tmp_path, "old", "--lr", "0.01", "--steps", "4", *schedule)
    capsys.readouterr()
    monkeypatch.setattr(schedules, "TABLE_EPOCHS", 5)
    new = tmp_path / "new"
    code, _, err = run_cli(
        ["rerun", str(old), "--steps", "8", "--out", str(new)], capsys
    )
    assert code == 2 and "up to 5 epochs and from tables in double precision" in err
    assert not new.exists()
    code, _, err = run_cli(
        ["rerun", str(old), "--steps", "5", "--out", str(new)], capsys
    )
    assert code == 0, err


@pytest.mark.parametrize("steps", [7, 4])
def test_a_run_with_validation_data_ending_mid_epoch_reruns_longer_or_shorter(
    steps: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that ends inside an epoch takes its validation loss there on its
    own; the run carried on takes it at its epochs' ends only: that row's step
    is compared without it (rerun said the traces differed and exited 1)."""
    old = _fit(
        tmp_path, "old", *MINI_BATCH, "--validation-split", "0.25", "--steps", "5"
    )
    capsys.readouterr()
    new = tmp_path / "new"
    args = ["rerun", str(old), "--steps", str(steps), "--out", str(new)]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err + out
    shared = min(5, steps)
    assert (
        f"their first {shared} rows are identical, and step {shared}'s but for its "
        "loss over all the data and the validation data (a run's last row takes "
        "those on its own)" in out
    )
    a, b = _frame(old), _frame(new)
    pd.testing.assert_frame_equal(a.iloc[:shared], b.iloc[:shared])
    # that step's validation loss is the shorter run's alone
    short, longer = (a, b) if steps > 5 else (b, a)
    assert np.isfinite(short["val_loss"].iloc[shared])
    assert np.isnan(longer["val_loss"].iloc[shared])
