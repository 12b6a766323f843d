"""Leaving out each epoch's last partial batch (PyTorch's
``DataLoader(drop_last=True)``): the steps are a hand-written loop's over whole
batches only, every epoch's rows are distinct, and what reads a run's batches
again (rows, explain, batch_plan, a rerun) agrees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.core.batches import batch_plan
from helpers import run_cli


def _data(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 2, n)
    return pd.DataFrame({"x": x, "y": 1.5 * x - 0.5 + rng.normal(0, 0.3, n)})


def test_unshuffled_steps_are_a_loop_over_whole_batches_only() -> None:
    """50 rows in batches of 16: three a step, rows 48 and 49 never seen; the
    parameters and gradients are numpy's SGD loop over those batches, in
    float64."""
    frame = _data()
    run = gradtrace.fit(
        frame,
        lr=0.1,
        batch_size=16,
        epochs=4,
        shuffle=False,
        drop_last=True,
        dtype="float64",
        init={"w": 0.0, "b": 0.0},
    )
    assert run.steps == 12 and run.info["schedule"]["batches_per_epoch"] == 3
    assert run.info["schedule"]["drop_last"] is True
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    w = b = 0.0
    table = run.to_pandas().set_index("step")
    for step in range(1, 13):
        rows = slice(((step - 1) % 3) * 16, ((step - 1) % 3 + 1) * 16)
        r = w * x[rows] + b - y[rows]
        gw, gb = 2 * np.mean(r * x[rows]), 2 * np.mean(r)
        assert table.loc[step, "grad_w"] == pytest.approx(gw, rel=1e-12)
        assert table.loc[step, "grad_b"] == pytest.approx(gb, rel=1e-12)
        w, b = w - 0.1 * gw, b - 0.1 * gb
        assert table.loc[step, "w"] == pytest.approx(w, rel=1e-12)
        assert (table.loc[step, "epoch"], table.loc[step, "batch"]) == (
            (step - 1) // 3 + 1,
            (step - 1) % 3 + 1,
        )
    assert all(max(run.rows(s)) < 48 for s in range(1, 13))


def test_shuffled_epochs_draw_whole_batches_of_distinct_rows() -> None:
    """Shuffled: every batch holds 16 rows, an epoch's 48 are distinct, and
    different rows sit out each epoch; batch_plan and batch_rows give the
    run's batches."""
    run = gradtrace.fit(_data(), lr=0.1, batch_size=16, epochs=5, drop_last=True)
    plan = batch_plan(50, 16, run.steps, shuffle=True, seed=0, drop_last=True)
    out = set()
    for epoch in range(5):
        steps = range(epoch * 3 + 1, epoch * 3 + 4)
        rows = np.concatenate([run.rows(s) for s in steps])
        assert len(rows) == 48 == len(set(rows.tolist()))
        out.add(frozenset(set(range(50)) - set(rows.tolist())))
        for s in steps:
            np.testing.assert_array_equal(plan[s - 1], run.rows(s))
    assert len(out) > 1  # not the same two rows every epoch
    table = run.batch_rows()
    assert table.groupby("step")["row"].count().eq(16).all()
    explained = run.explain(4, rows=20)
    assert list(explained["row"][:-1]) == list(run.rows(4)[:20])


def test_the_flag_reruns_and_is_refused_where_it_cannot_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    _data().to_csv(data, index=False)
    parquet = tmp_path / "d.parquet"
    _data().to_parquet(parquet)
    out = tmp_path / "run"
    args = ["fit", str(data), "--batch-size", "16", "--epochs", "2", "--drop-last"]
    code, said, err = run_cli([*args, "--out", str(out)], capsys)
    assert code == 0 and "completed 6 steps" in said, err
    code, _, err = run_cli(
        ["rerun", str(out), "--out", str(tmp_path / "again")], capsys
    )
    assert code == 0, err
    again = gradtrace.load(tmp_path / "again")
    pd.testing.assert_frame_equal(again.to_pandas(), gradtrace.load(out).to_pandas())
    code, _, err = run_cli(
        [
            "fit",
            str(parquet),
            "--stream",
            "--batch-size",
            "16",
            "--drop-last",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 2 and "--drop-last does not work with --stream" in err
    with pytest.raises(gradtrace.InputError, match="drop_last must be True or False"):
        gradtrace.fit(_data(), batch_size=16, drop_last="yes")  # type: ignore[arg-type]
    # full batch, or a batch of all rows: nothing to leave out
    whole = gradtrace.fit(_data(), steps=3, drop_last=True)
    assert "drop_last" not in whole.info["schedule"]
    # a batch larger than the rows: PyTorch's DataLoader yields no batch at all,
    # where a run had trained on all the rows and noted --drop-last did nothing
    rows = len(_data())
    code, _, err = run_cli(
        [*args[:3], str(rows + 1), "--epochs", "2", "--drop-last", "-q"], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        f"error: --drop-last with batch size {rows + 1}, larger than the {rows} rows, "
        "leaves no batch to train on"
    )
    assert f"give a batch size of at most {rows}, or leave out --drop-last" in err
    with pytest.raises(gradtrace.InputError, match="or leave out drop_last"):
        gradtrace.fit(_data(), batch_size=rows + 1, drop_last=True, epochs=1)
    exact = gradtrace.fit(_data(), batch_size=rows, drop_last=True, epochs=1)
    assert exact.steps == 1


def test_a_sweep_leaves_out_the_last_batch_as_fit_does() -> None:
    found = gradtrace.sweep(
        _data(),
        lr=[0.05, 0.1],
        batch_size=16,
        epochs=2,
        drop_last=True,
        shuffle=False,
    )
    for lr in (0.05, 0.1):
        alone = gradtrace.fit(
            _data(), lr=lr, batch_size=16, epochs=2, drop_last=True, shuffle=False
        )
        row = found.table[found.table["lr"] == lr].iloc[0]
        assert alone.steps == 6
        assert row["w"] == pytest.approx(alone.params["w"], rel=1e-5)
        assert row["loss"] == pytest.approx(alone.final_loss, rel=1e-5)


def test_the_summary_says_how_many_rows_sit_each_epoch_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said 'batches of 16 (the last of 20)' for whole batches of 16; and
    compare's axis said the batch sizes differed where only the number of
    batches an epoch did."""
    data = tmp_path / "d.csv"
    _data().to_csv(data, index=False)
    args = ["fit", str(data), "--batch-size", "16", "--epochs", "2"]
    code, said, err = run_cli(
        [*args, "--drop-last", "--out", str(tmp_path / "a")], capsys
    )
    assert code == 0, err
    assert (
        "batches of 16 (the 2 rows left over sit each epoch out, --drop-last), 3 per "
        "epoch" in said
    )
    code, said, err = run_cli([*args, "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "batches of 16 (the last of 2), 4 per epoch" in said
    fig = gradtrace.compare(tmp_path / "a", tmp_path / "b")
    assert fig.axes[0].get_xlabel() == "epoch"
