"""A configuration whose loss exploded but stayed finite: counted, warned about,
never the best while another ended below its start."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.data import generate
from gradtrace.sweeps import Sweep, sweep
from helpers import run_cli


def line() -> pd.DataFrame:
    return generate("line", 100, w=(1.0,), b=2.0, noise=0.15, seed=0)[0]


def two_configs(**columns: list[object]) -> pd.DataFrame:
    """A sweep's table of two configurations of batches of 10 rows, as ``Sweep``
    reads it: ``columns`` given, none reaching a tolerance, diverged or ended
    above its start unless they say so."""
    return pd.DataFrame(
        {
            "config": [0, 1],
            "batch_size": [10, 10],
            "steps_to_tol": pd.array([None, None], dtype="Int64"),
            "diverged": [False, False],
            "ended_above_start": [False, False],
            **columns,
        }
    )


def test_a_loss_that_ended_above_its_start_is_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = line()
    s = sweep(data, lr=[0.1, 0.3, 1.0], epochs=50)
    start = float(np.mean(data["y"] ** 2))  # w = b = 0: the loss is mean(y^2)
    np.testing.assert_allclose(s.table["start_loss"], start, rtol=1e-6)
    row = s.table.set_index("lr").loc[1.0]
    # 1 is above 2/L = 0.756: the loss grows by |1 - lr L|^2 a step, finite still
    assert not row["diverged"] and np.isfinite(row["loss"]) and row["loss"] > 1e10
    assert s.table["ended_above_start"].tolist() == [False, False, True]
    assert s.best["lr"] == 0.3 and "1 ended above its start" in repr(s)
    csv = tmp_path / "line.csv"
    data.to_csv(csv, index=False)
    args = ["sweep", str(csv), "--lr", "0.001:1:log8", "--epochs", "50", "--no-plot"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "s")], capsys)
    assert code == 0, err
    assert "8 configurations, 0 diverged, 1 ended above its start" in out
    # a few milliseconds of training in milliseconds, not "0.00 s"
    assert re.search(r"start, in \d+\.\d ms of training \(", out), out
    assert "warning: the loss ended above where it started (lr=1: 6.54" in out
    assert "best: lr=0.3728" in out


def test_the_best_never_rose_while_another_fell() -> None:
    """The lowest final loss, but above its own start (a start near the optimum),
    against a higher final loss that fell from its start."""
    table = pd.DataFrame(
        {
            "config": [0, 1],
            "lr": [0.8, 0.01],
            "start_loss": [0.03, 1000.0],
            "loss": [0.05, 50.0],
            "steps_to_tol": pd.array([None, None], dtype="Int64"),
            "diverged": [False, False],
            "ended_above_start": [True, False],
        }
    )
    assert Sweep(table, pd.DataFrame(), {}).best["config"] == 1
    every = table.assign(ended_above_start=True)
    assert Sweep(every, pd.DataFrame(), {}).best["config"] == 0  # the lowest then


def test_a_loss_that_did_not_move_has_not_risen() -> None:
    """At lr 1e-12 the parameters do not move, but the start's loss (the step's
    fused sum) and the end's (the objective) differ in their last bits: that is
    not a rise, and the configuration at the optimum stays the best."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"y": 2 + 0.01 * rng.normal(size=500)})
    s = sweep(
        data,
        "normal",
        lr=[1e-12, 1e-9],
        init={"loc": [2.0, 1.5], "scale": [0.01]},
        steps=3,
    )
    assert not s.table["ended_above_start"].any()
    assert s.best["init_loc"] == 2.0 and s.best["loss"] < 0


def test_ended_above_needs_more_than_rounding() -> None:
    from gradtrace.advice import ended_above

    assert not ended_above(-3.172178507, -3.172178268)  # float32's last bits
    assert not ended_above(0.02344819, 0.02344826)  # noise about the optimum
    assert ended_above(6.54, 2.9e22) and ended_above(1.0, 1.01)
    assert ended_above(-3.2, -3.1) and not ended_above(2.0, 1.0)


def test_no_best_where_every_configuration_diverged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "line.csv"
    line().to_csv(csv, index=False)
    args = ["sweep", str(csv), "--lr", "5,10,20", "--steps", "50", "--no-plot"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "s")], capsys)
    assert code == 0, err
    assert "3 configurations, 3 diverged" in out
    assert "no best: every configuration diverged" in out and "best: lr=" not in out


def test_a_rate_that_jumps_about_and_ends_low_is_not_the_best() -> None:
    """A teacher's sweep named lr 0.03, above the stable limit, the best: its loss
    jumped to 3708 and back and its last step happened to land lowest. The best is
    ranked on the mean loss over the last tenth of the steps, and the one that
    ended lowest is told apart."""
    table = two_configs(
        lr=[0.01, 0.03],
        start_loss=[240.0, 240.0],
        loss=[3.36, 3.31],
        tail_loss=[3.37, 10.7],
        gap=[0.16, 0.11],  # the optimum's loss: 3.2
    )
    info = {"data": {"n_rows": 100}}
    s = Sweep(table, pd.DataFrame(), info)
    assert s.best["lr"] == 0.01
    assert s.warnings == [
        "note: lr=0.03 ended on the lowest loss (3.31) but jumped about on the way: "
        "over the last tenth of its steps its loss averaged 10.7, against 3.37 for "
        "the best (lr=0.01), which is ranked where it settled."
    ]
    assert s.best_text() == (
        "lr=0.01: final loss 3.36, mean 3.37 over the last tenth of the steps"
    )
    # where the one that ended lowest also settled lowest, nothing to tell
    settled = table.assign(tail_loss=[3.37, 3.32])
    assert Sweep(settled, pd.DataFrame(), {}).best["lr"] == 0.03
    assert Sweep(settled, pd.DataFrame(), {}).warnings == []
    # nor where it settled a little higher: mini-batches' own noise (its gap 0.2
    # against the best's 0.17), though the best is still ranked on the average
    noisy = table.assign(tail_loss=[3.37, 3.4])
    assert Sweep(noisy, pd.DataFrame(), info).best["lr"] == 0.01
    assert Sweep(noisy, pd.DataFrame(), info).warnings == []
    # nor in float32's last digits (over twice the best's gap of 1e-4, but 3e-4
    # apart in 3.2)
    close = table.assign(tail_loss=[3.2001, 3.2004])
    assert Sweep(close, pd.DataFrame(), info).warnings == []
    # a full batch's steps are not noisy: it settled where it ended, and is ranked
    # so (as a run with momentum that descends steadily and ends lowest)
    full = table.assign(batch_size=[100, 100])
    assert Sweep(full, pd.DataFrame(), info).best["lr"] == 0.03
    assert Sweep(full, pd.DataFrame(), info).warnings == []


def test_a_heatmap_names_each_rate_and_a_single_row_has_no_row_tick() -> None:
    from gradtrace import sweep_plots

    frame, _ = generate("line", 60, w=[2.0], b=1.0, noise=0.3, seed=2)
    rates = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    ax = sweep_plots.sweep_heatmap(sweep(frame, lr=rates, steps=20)).axes[0]
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{r:.3g}" for r in rates]
    assert list(ax.get_yticks()) == []


def test_tail_loss_is_the_mean_of_the_loss_over_all_the_data_in_the_last_tenth() -> (
    None
):
    """The loss over all the data after ten steps of the last tenth, as a single
    run records them, whatever --keep-every keeps: the best of a sweep had hung
    on --keep-every (the kept steps' mean), a plotting option (lr 0.0055 best,
    or 0.0043 keeping every 1221st step); and the batches' own losses, averaged
    after that, fell below the optimum's loss by the luck of the last batches (a
    researcher's heatmap drew such cells as the optimum reached)."""
    from gradtrace.core.sweep import tail_steps

    frame = pd.DataFrame({"x": np.linspace(0.0, 1.0, 40)})
    frame["y"] = 2.0 * frame["x"] + 1.0 + np.sin(37.0 * frame["x"])
    s = sweep(frame, lr=[0.3, 1.9], batch_size=4, epochs=10, keep_every=1)
    sparse = sweep(frame, lr=[0.3, 1.9], batch_size=4, epochs=10, keep_every=7)
    alone = gradtrace.fit(frame, lr=0.3, batch_size=4, epochs=10).to_pandas()
    at = tail_steps(100)
    assert list(at) == list(range(91, 101))
    assert list(tail_steps(10)) == [10] and list(tail_steps(1)) == [1]
    assert len(tail_steps(140)) == 10 and tail_steps(140)[0] == 127
    tail = alone.set_index("step").loc[at, "loss"]  # over all the data
    row = s.table.set_index("lr").loc[0.3]
    assert row["tail_loss"] == pytest.approx(tail.mean(), rel=1e-6)
    np.testing.assert_array_equal(s.table["tail_loss"], sparse.table["tail_loss"])
    # never below the optimum's loss (but for rounding), as the batches' was
    ok = s.table[~s.table["diverged"]]
    assert (ok["tail_loss"] >= s.info["optimum_loss"] * (1 - 1e-6)).all()
    # mini-batches: the heatmap colours where each settled, its tail's gap
    from gradtrace import sweep_plots

    assert s.table["steps_to_tol"].isna().all()
    mesh = sweep_plots.sweep_heatmap(s).axes[0].collections[0]
    colours = np.ma.getdata(mesh.get_array())[~np.ma.getmaskarray(mesh.get_array())]
    ok = s.table[~s.table["diverged"]]  # lr 1.9 diverged: a cross, no colour
    gaps = ok["tail_loss"] - s.info["optimum_loss"]
    np.testing.assert_allclose(np.sort(colours), np.sort(gaps), rtol=1e-6)


def test_a_sweep_where_no_rate_trained_names_no_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every rate's loss rose (none to infinity): the command named a best,
    "lr=1: final loss 23086", and a note on --tol (a newcomer's find). It says
    none trained, the lowest among them, and what to try."""
    table = two_configs(
        lr=[1.0, 10.0],
        start_loss=[0.69, 0.69],
        loss=[23086.0, 4.0e5],
        tail_loss=[23086.0, 4.0e5],
        gap=[23085.0, 4.0e5],
        diverged=[False, True],
        ended_above_start=[True, False],
    )
    s = Sweep(table, pd.DataFrame(), {"data": {"n_rows": 100}})
    assert s.none_trained
    assert s.best_text() == (
        "no best: every configuration's loss diverged or ended above its start "
        "(the lowest, lr=1: 0.69 -> 23086); try smaller rates"
    )
    assert not Sweep(
        table.assign(ended_above_start=False), pd.DataFrame(), {}
    ).none_trained
    csv = tmp_path / "line.csv"
    line().to_csv(csv, index=False)
    args = ["sweep", str(csv), "--lr", "1,1.2", "--epochs", "50", "--no-plot"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "s")], capsys)
    assert code == 0, err
    assert "2 configurations, 0 diverged, 2 ended above their start" in out
    assert "no best: every configuration's loss diverged or ended above" in out
    assert "best: lr=" not in out and "--tol" not in out
