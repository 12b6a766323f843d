"""``explain``: the table alone rebuilds the step's new parameters and logged loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace.cli import main
from helpers import seed004_rmsprop

LR = 0.05
# seed004: 12 rows in batches of 5, 5 and 2: step 3 is a partial batch; steps 4-6
# are the second epoch, so the optimizer state has history.
STEPS = [1, 3, 5]


def fit(optimizer: str) -> gradtrace.Trace:
    return gradtrace.fit(
        "seed004_keras",
        optimizer=optimizer,
        lr=LR,
        batch_size=5,
        epochs=2,
        shuffle=False,
        init={"w": 0.5, "b": 0.0},
    )


def rebuild(optimizer: str, u: dict[str, float], t: int) -> tuple[float, ...]:
    """(state after..., added) from the table's 'before' columns and the gradient."""
    g = u["gradient"]
    if optimizer == "sgd":
        return (-LR * g,)
    if optimizer == "keras.rmsprop":
        v = 0.9 * u["velocity before"] + 0.1 * g * g
        return v, -LR * g / np.sqrt(v + 1e-7)
    if optimizer == "keras.adam":
        m = u["m before"] + (g - u["m before"]) * 0.1
        v = u["v before"] + (g * g - u["v before"]) * 0.001
        alpha = LR * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        return m, v, -alpha * m / (np.sqrt(v) + 1e-7)
    if optimizer == "torch.adam":
        m = u["m before"] + 0.1 * (g - u["m before"])
        v = 0.999 * u["v before"] + 0.001 * g * g
        denom = np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8
        return m, v, -LR / (1 - 0.9**t) * m / denom
    raise AssertionError(optimizer)


@pytest.mark.parametrize(
    "optimizer", ["sgd", "keras.rmsprop", "keras.adam", "torch.adam"]
)
@pytest.mark.parametrize("step", STEPS)
def test_table_rebuilds_the_step(optimizer: str, step: int) -> None:
    trace = fit(optimizer)
    frame = trace.to_pandas()
    table = trace.explain(step)
    rows = table.iloc[:-1]
    assert len(rows) == (2 if step % 3 == 0 else 5)
    data = gradtrace.data.builtin("seed004_keras").astype(np.float64)
    w0, b0 = frame["w"][step - 1], frame["b"][step - 1]
    np.testing.assert_allclose(rows["x"], data["x"].to_numpy()[rows["row"].astype(int)])
    # predictions, residuals and row losses from the parameters before the step
    np.testing.assert_allclose(rows["prediction"], w0 * rows["x"] + b0, rtol=1e-12)
    np.testing.assert_allclose(rows["residual"], rows["y"] - rows["prediction"])
    np.testing.assert_allclose(rows["loss"], rows["residual"] ** 2)
    np.testing.assert_allclose(rows["grad_w"], -2 * rows["residual"] * rows["x"])
    np.testing.assert_allclose(rows["grad_b"], -2 * rows["residual"])
    # the mean over the batch's real rows is the gradient the trace recorded
    total = table.iloc[-1]
    assert pd.isna(total["row"]) and table.index[-1] == "mean"
    first = int(table["row"].iloc[0])
    assert table.loc[first, "loss"] == table["loss"].iloc[0]  # rows by their number
    assert str(table["row"].dtype) == "Int64"  # row numbers, as pandas users want
    assert total["grad_w"] == pytest.approx(rows["grad_w"].mean())
    assert total["grad_w"] == pytest.approx(frame["grad_w"][step], rel=1e-5)
    # the first rows only (a batch of millions): the same rows, the same total
    head = trace.explain(step, rows=1)
    assert list(head.index) == [first, "mean"]
    pd.testing.assert_frame_equal(head.iloc[:1], table.iloc[:1])
    pd.testing.assert_series_equal(head.iloc[-1], total)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="1 or more"):
            trace.explain(step, rows=bad)
    assert total["loss"] == pytest.approx(frame["batch_loss"][step], rel=1e-5)
    # the optimizer's arithmetic, from the update table alone
    update = table.attrs["update"]
    for p in ("w", "b"):
        u = update.loc[p].to_dict()
        parts = rebuild(optimizer, u, t=step)
        assert u["added"] == pytest.approx(parts[-1], rel=1e-5)
        after_cols = [c for c in update.columns if c.endswith(" after")]
        for col, value in zip(after_cols, parts[:-1], strict=True):
            assert u[col] == pytest.approx(value, rel=1e-5), col
        assert u["before"] + u["added"] == pytest.approx(u["after"], rel=1e-6)
        assert u["after"] == pytest.approx(frame[p][step], rel=1e-6)
    # Keras's logged loss, rebuilt from the previous one
    logged = table.attrs["logged"]
    before = logged["running_loss_before"] or 0.0
    rebuilt = (
        before * logged["rows_before_in_epoch"]
        + logged["batch_loss"] * logged["batch_rows"]
    ) / (logged["rows_before_in_epoch"] + logged["batch_rows"])
    assert rebuilt == pytest.approx(frame["running_loss"][step], rel=1e-6)
    assert logged["loss_all_data_after"] == frame["loss"][step]
    first = logged["batch"] == 1
    assert ("which is this batch's loss" in table.attrs["why"]) == first
    assert ("parameters before its own update" in table.attrs["why"]) != first


def test_explain_a_distribution_and_a_saved_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = gradtrace.fit(
        "seed001_gaussian", "normal", lr=0.01, batch_size=300, epochs=2, seed=4
    )
    trace.save(tmp_path / "r")
    loaded = gradtrace.load(tmp_path / "r")
    a, b = trace.explain(4), loaded.explain(4)
    assert a.equals(b)
    y = gradtrace.data.builtin("seed001_gaussian")["y"].to_numpy(np.float64)
    rows = a.iloc[:-1]
    assert sorted(rows["row"].astype(int)) == sorted(trace.rows(4).tolist())
    np.testing.assert_allclose(rows["y"], y[rows["row"].astype(int)])
    assert len(rows) == 100  # 1000 rows: batches of 300, 300, 300, 100
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "--step", "4"])
    out, _ = capsys.readouterr()
    assert done.value.code in (0, None)
    assert "Keras logs" in out and "grad_loc" in out and "scale" in out
    # the sentence gives the table's mean (and the step's float32 sum if it differs)
    mean_line = next(line for line in out.splitlines() if line.startswith("mean "))
    said = out.split("the mean of the rows' losses, ")[1].split()[0].rstrip(";")
    assert said in mean_line.split()
    # a batch of 100 rows shows its first 20 (--rows), and all of them with --rows 0
    first = [str(r) for r in a.index[:-1]]
    assert "80 more rows not shown" in out
    assert f"{', '.join(first[:20])}, ...)" in " ".join(out.split())

    def data_lines(text: str) -> int:
        return sum(
            line.split()[:1] in ([r] for r in first) for line in text.splitlines()
        )

    assert data_lines(out) == 20
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "--step", "4", "--rows", "0"])
    out, _ = capsys.readouterr()
    assert done.value.code in (0, None) and "not shown" not in out
    assert data_lines(out) == 100
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "--step", "99"])
    _, err = capsys.readouterr()
    assert done.value.code == 2 and "choose a step from 1 to 8" in err
    # the step after RUN is the same as --step; none, or two that differ, say so
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "4", "--rows", "0"])
    positional, _ = capsys.readouterr()
    assert done.value.code in (0, None) and data_lines(positional) == 100
    assert positional.startswith("Step 4 of 8 (")
    # counted from the end, as Python counts: -1 the last step, -5 the fourth
    assert trace.explain(-5).equals(a) and trace.explain(-1).equals(trace.explain(8))
    for args in (["-5"], ["--step", "-5"], ["--rows", "0", "-5"]):
        with pytest.raises(SystemExit) as done:
            main(["explain", str(tmp_path / "r"), *args])
        out, _ = capsys.readouterr()
        assert done.value.code in (0, None) and out.startswith("Step 4 of 8 (")
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "-9"])
    _, err = capsys.readouterr()
    assert done.value.code == 2 and "(or -1 to -8, counted from the end)" in err
    # step 0 is the trace's row of the initial values, which no update made
    with pytest.raises(gradtrace.InputError, match="step 0 is the trace's first row"):
        trace.explain(0)
    for args, said in (
        ([], "which step? give it: gradtrace explain RUN --step N"),
        (["4", "--step", "5"], "two steps given (4 and --step 5): give one"),
        (["-4", "--step", "5"], "two steps given (-4 and --step): give one"),
    ):
        with pytest.raises(SystemExit) as done:
            main(["explain", str(tmp_path / "r"), *args])
        _, err = capsys.readouterr()
        assert done.value.code == 2 and said in err and len(err.splitlines()) == 1


def test_the_optimizer_state_of_a_late_step_is_replayed_from_the_trace() -> None:
    # step 700 of an Adam run: its state comes from the 699 recorded gradients
    trace = gradtrace.fit(
        "seed001_line", optimizer="adam", lr=0.01, batch_size=10, steps=700
    )
    update = trace.explain(700).attrs["update"]
    frame = trace.to_pandas()
    for p in ("w", "b"):
        assert update.loc[p, "before"] == frame[p][699]
        assert update.loc[p, "gradient"] == frame[f"grad_{p}"][700]
        assert update.loc[p, "after"] == pytest.approx(frame[p][700], rel=1e-6)
    assert update.attrs["count"]["count"] == 700


def test_the_rows_of_many_steps_are_the_batch_plans() -> None:
    from gradtrace.core.batches import batch_plan
    from gradtrace.explain import steps_rows

    trace = gradtrace.fit("seed001_line", batch_size=30, epochs=4, seed=5)
    n = trace.info["data"]["n_rows"]
    plan = batch_plan(n, 30, trace.steps, shuffle=True, seed=5)
    steps = [trace.steps, 1, 2, 5, 9, 4, 13]
    pairs = list(steps_rows(trace.info, steps))
    assert [s for s, _ in pairs] == steps  # in the order asked
    got = dict(pairs)
    for s in steps:
        np.testing.assert_array_equal(got[s], plan[s - 1][plan[s - 1] >= 0])
        np.testing.assert_array_equal(trace.rows(s), got[s])


def test_full_batch_steps_share_one_array_of_every_row() -> None:
    from gradtrace.explain import steps_rows

    trace = gradtrace.fit("seed001_line", steps=5)
    pairs = list(steps_rows(trace.info, [1, 3, 5]))
    n = trace.info["data"]["n_rows"]
    np.testing.assert_array_equal(pairs[0][1], np.arange(n))
    assert all(rows is pairs[0][1] for _, rows in pairs)


def test_a_step_whose_loss_over_all_rows_was_not_taken_says_so() -> None:
    trace = gradtrace.fit(
        "seed004_keras", lr=LR, batch_size=5, epochs=2, shuffle=False, eval_every=4
    )
    why = trace.explain(2).attrs["why"]
    assert "was not taken after this step" in why and "every 4 steps" in why
    assert "nan" not in why
    assert "val_loss" in trace.explain(4).attrs["why"]
    # a full-batch run has it after every step (the next step's batch loss),
    # whatever --eval-every says
    full = gradtrace.fit("seed001_line", lr=0.1, steps=10, eval_every=5)
    why = full.explain(3).attrs["why"]
    loss = float(full.to_pandas()["loss"].iloc[3])
    assert "not taken" not in why and f"after this step's update is {loss:.7g}" in why


def test_a_batch_explained_a_block_of_rows_at_a_time_is_the_same_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradtrace.core import rowsums

    trace = gradtrace.fit("seed001_line", lr=0.1, steps=3)  # full batch: 100 rows
    whole = trace.explain(2)
    monkeypatch.setattr(rowsums, "BLOCK_ROWS", 7)  # 15 blocks, the last of 2 rows
    blocked = trace.explain(2)
    pd.testing.assert_frame_equal(blocked.iloc[:-1], whole.iloc[:-1])
    assert str(blocked["row"].dtype) == "Int64" and list(blocked.index[:3]) == [0, 1, 2]
    np.testing.assert_allclose(
        blocked.iloc[-1, 1:].to_numpy(float),
        whole.iloc[-1, 1:].to_numpy(float),
        rtol=1e-13,
    )
    head = trace.explain(2, rows=10)  # shown rows cross a block's end
    pd.testing.assert_frame_equal(head.iloc[:-1], whole.iloc[:10])


def test_a_loss_that_is_not_finite_is_not_called_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace.cli._report import print_summary

    y = np.random.default_rng(0).normal(3, 1, 300)
    # the first step takes scale below zero: the loss after it is not finite
    trace = gradtrace.fit(
        {"y": y}, "normal", lr=1000, init={"loc": 3.0, "scale": 10.0}, steps=10
    )
    why = trace.explain(-1).attrs["why"]
    assert "is not finite (nan)" in why and "not taken" not in why
    print_summary(trace, tmp_path)
    out = capsys.readouterr().out
    assert "-> nan; optimum" in out and "gap" not in out
    assert "not evaluated" not in out


def test_explain_text_tells_in_python_what_the_command_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = seed004_rmsprop(metrics=["rmse"])
    trace.save(tmp_path / "run")
    with pytest.raises(SystemExit):
        main(["explain", str(tmp_path / "run"), "--step", "5"])
    printed = capsys.readouterr().out
    text = trace.explain_text(5)
    sentences = [
        line
        for line in text.splitlines()
        if line.startswith(("Parameters", "The batch", "Keras logs", "RMSE", "keras"))
    ]
    assert len(sentences) == 5
    # the command breaks them at words to 100 columns (Python leaves them whole)
    assert any(len(line) > 100 for line in sentences)
    for line in sentences:
        assert " ".join(line.split()) in " ".join(printed.split())
    for line in printed.splitlines():
        assert len(line) <= 100 or line.startswith(" "), line  # tables aside
        assert line == line.rstrip()
    assert text.startswith("Step 5 of 12 (this run): epoch 2, batch 1; 3 of 12 rows")
    # the tables' numbers: the rows' losses and their mean, then the update
    table = trace.explain(5)
    for value in [*table["loss"], *table.attrs["update"]["after"]]:
        assert f"{value:.7g}" in text


def test_explain_text_shows_twenty_rows_and_says_how_to_see_all() -> None:
    trace = gradtrace.fit("seed001_line", lr=0.1, steps=2)  # full batch: 100 rows
    text = trace.explain_text(1)
    assert "(80 more rows not shown: rows=None shows them all;" in text
    assert "more rows not shown" not in trace.explain_text(1, rows=None)


def test_steps_count_from_the_end_and_other_numbers_are_one_line() -> None:
    from gradtrace.errors import InputError

    trace = seed004_rmsprop(epochs=1)
    assert trace.steps == 4
    text = trace.explain_text(-1)
    assert text.startswith("Step 4 of 4 (this run): epoch 1, batch 4;")
    assert text == trace.explain_text(4)
    assert trace.rows(-1).tolist() == trace.rows(4).tolist() == [9, 10, 11]
    assert trace.rows(2.0).tolist() == trace.rows(np.int64(2)).tolist()
    assert trace.rows("2").tolist() == trace.rows(2).tolist()  # as steps="10" counts
    for bad in (0, 5, -5, 2.5, "2.5", "two", True, float("nan")):
        with pytest.raises(InputError, match="choose a step from 1 to 4"):
            trace.rows(bad)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="choose a step from 1 to 4"):
            trace.explain(bad)  # type: ignore[arg-type]


def test_rows_are_named_by_their_place_in_the_data_given_after_drops() -> None:
    frame = pd.DataFrame({"x": np.arange(8.0), "y": 2 * np.arange(8.0) + 1})
    frame.loc[1, "y"] = np.nan
    frame.loc[4, "x"] = np.inf
    trace = gradtrace.fit(
        frame, batch_size=2, epochs=1, shuffle=False, drop_missing=True, lr=0.01
    )
    assert trace.info["data"]["dropped_at"] == [1, 4]
    assert [trace.rows(k).tolist() for k in (1, 2, 3)] == [[0, 2], [3, 5], [6, 7]]
    table = trace.explain(2)
    assert list(table.index[:-1]) == [3, 5]
    np.testing.assert_array_equal(table["x"][:-1], frame["x"].iloc[[3, 5]])
    np.testing.assert_array_equal(table["y"][:-1], frame["y"].iloc[[3, 5]])
    head = trace.explain_text(2).splitlines()[0]
    assert head.endswith("2 of the 6 rows left after dropping 2 (3, 5).")
    kept = frame.drop(index=[1, 4]).reset_index(drop=True)
    plain = gradtrace.fit(kept, batch_size=2, epochs=1, shuffle=False, lr=0.01)
    assert "dropped_at" not in plain.info["data"]
    assert plain.rows(2).tolist() == [2, 3]  # the same batch, in data with no drops
    same = trace.to_pandas().drop(columns="gap")
    assert same.equals(plain.to_pandas().drop(columns="gap"))


@given(
    n=st.integers(1, 60),
    dropped=st.sets(st.integers(0, 59), max_size=30),
)
def test_given_rows_skip_exactly_the_dropped_positions(
    n: int, dropped: set[int]
) -> None:
    from gradtrace.explain import given_rows

    drop = sorted(d for d in dropped if d < n)
    kept = np.array([i for i in range(n) if i not in drop], np.int64)
    info = {"data": {"dropped_at": drop}}
    np.testing.assert_array_equal(given_rows(info, np.arange(len(kept))), kept)


def test_rows_of_an_older_run_without_dropped_at_are_found_in_its_file(
    tmp_path: Path,
) -> None:
    import json

    frame = pd.DataFrame({"x": np.arange(10.0), "y": 3 * np.arange(10.0)})
    frame.loc[2, "x"] = np.nan
    frame.loc[6, "y"] = np.inf
    frame.to_csv(tmp_path / "d.csv", index=False)
    trace = gradtrace.fit(
        str(tmp_path / "d.csv"),
        batch_size=3,
        epochs=1,
        shuffle=False,
        drop_missing=True,
        lr=0.01,
    )
    assert trace.rows(2).tolist() == [4, 5, 7]
    trace.save(tmp_path / "r")
    written = json.loads((tmp_path / "r" / "run.json").read_text())
    del written["data"]["dropped_at"]  # as a run saved before it was kept
    (tmp_path / "r" / "run.json").write_text(json.dumps(written))
    old = gradtrace.load(tmp_path / "r")
    assert old.rows(2).tolist() == [4, 5, 7]
    assert list(old.explain(2).index[:-1]) == [4, 5, 7]
    # given again without the dropped rows, rows are named by their place in them
    clean = frame.drop(index=[2, 6]).reset_index(drop=True)
    again = gradtrace.load(tmp_path / "r", data=clean)
    assert again.rows(2).tolist() == [3, 4, 5]
    assert "3 of 8 rows (3, 4, 5)." in again.explain_text(2).splitlines()[0]
    np.testing.assert_array_equal(
        again.explain(2)["x"][:-1], clean["x"].iloc[[3, 4, 5]]
    )


def test_an_unconstrained_runs_step_names_its_coordinates_for_python() -> None:
    """The note of a run trained on log(scale) says which parameter is in which
    coordinates, and in Python names param_space=, not the flag."""
    run = gradtrace.fit(
        "seed001_gaussian", "normal", lr=0.05, steps=3, param_space="unconstrained"
    )
    text = run.explain_text(2)
    assert "(param_space='unconstrained')" in text and "--param-space" not in text
    assert "(scale as log(scale))" in text
    # the update table's rows say what the optimizer holds, the line above it the
    # parameters as they are
    update = run.explain(2).attrs["update"]
    assert list(update.index) == ["loc", "log(scale)"]
    frame = run.to_pandas()
    assert update.loc["log(scale)", "before"] == pytest.approx(
        np.log(frame["scale"][1]), rel=1e-6
    )
    assert f"scale={frame['scale'][1]:.7g}" in text
    # the rows' gradients are headed by the coordinate they are of; the frame
    # keeps the trace's column names
    assert "grad_log(scale)" in text and "grad_loc" in text
    assert "grad_scale" in run.explain(2).columns
    # Adam's update of a parameter whose gradient is 0 is -0.0: shown as 0
    idle = gradtrace.Model(lambda p, x: p["w"] * x + 0 * p["c"], {"w": 1.0, "c": 1.0})
    data = {"x": np.arange(5.0), "y": np.arange(5.0) * 2}
    held = gradtrace.fit(data, idle, optimizer="adam", lr=0.1, steps=2, exact=False)
    assert held.to_pandas()["grad_c"][1] == 0
    added = held.explain(1).attrs["update"].loc["c", "added"]
    assert added == 0 and not np.signbit(added)
    assert " -0 " not in held.explain_text(1)


def test_a_moved_data_file_points_to_data_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain and plot of a run whose data file moved say to put it back or give
    it again with --data, and --data then works."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    with pytest.raises(SystemExit):
        main(["fit", str(data), "--steps", "3", "-q", "--out", str(tmp_path / "r")])
    moved = data.rename(tmp_path / "e.csv")
    capsys.readouterr()
    for command in (
        ["explain", str(tmp_path / "r"), "--step", "1"],
        ["plot", str(tmp_path / "r")],
    ):
        with pytest.raises(SystemExit) as done:
            main(command)
        err = capsys.readouterr().err
        assert done.value.code == 2
        assert "is gone: put it back, or give the data again (--data FILE" in err
    with pytest.raises(SystemExit) as done:
        main(["explain", str(tmp_path / "r"), "--step", "1", "--data", str(moved)])
    assert done.value.code in (0, None)


def test_a_changed_data_file_is_refused_not_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run's data file written over since the run (its SHA-256 differs) is
    refused by explain, plot, report, animate and Python's explain alike, as rerun
    refuses it: its rows are not those the run trained on."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    run = str(tmp_path / "r")
    with pytest.raises(SystemExit):
        main(["fit", str(data), "--steps", "3", "-q", "--out", run])
    data.write_text("x,y\n0.5,9\n2,4.1\n3,5.9\n4,8.2\n")
    capsys.readouterr()
    for command in (
        ["explain", run, "--step", "1"],
        ["plot", run],
        ["report", run],
        ["animate", run, "--out", str(tmp_path / "a.gif")],
    ):
        with pytest.raises(SystemExit) as done:
            main(command)
        err = capsys.readouterr().err
        assert done.value.code == 2, command
        assert "changed since the run (its SHA-256 differs)" in err
        assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "run.json",
        "trace.parquet",
    ]
    assert not (tmp_path / "a.gif").exists()
    with pytest.raises(gradtrace.InputError, match="put the original back"):
        gradtrace.load(run).explain(1)


def test_explain_says_its_row_numbers_count_from_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trace's rows are 0-based while data errors count from 1 (data row 1,
    line 2): explain says which, and where a row is in a CSV file (line row + 2),
    on the command line and in Python alike."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n5,9.9\n")
    with pytest.raises(SystemExit):
        main(
            [
                "fit",
                str(data),
                "--steps",
                "3",
                "--batch-size",
                "2",
                "--no-shuffle",
                "-q",
                "--out",
                str(tmp_path / "r"),
            ]
        )
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["explain", str(tmp_path / "r"), "--step", "2"])
    printed = capsys.readouterr().out.splitlines()
    note = "row: 0-based position in the data (file line = row + 2)"
    assert printed[printed.index(note) + 1].split()[:2] == ["row", "x"]
    assert printed[printed.index(note) + 2].split()[:3] == ["2", "3", "5.9"]
    assert note in gradtrace.load(tmp_path / "r").explain_text(2).splitlines()
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4.1, 5.9, 8.2]})
    text = gradtrace.fit(frame, steps=2, batch_size=2).explain_text(1)
    assert "row: 0-based position in the data (as .iloc counts)" in text.splitlines()
    assert "row: 0-based position in the data" in seed004_rmsprop(1).explain_text(1)


def test_explain_after_is_the_runs_own_value_and_the_next_steps_before() -> None:
    """Each step's "after" is what the trace recorded (the next step goes on from
    it), even where the update replayed on its own rounds an ulp apart."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(60, 2))
    data = {"x0": x[:, 0], "x1": x[:, 1], "y": x @ [1.5, -2.0] + rng.normal(size=60)}
    trace = gradtrace.fit(
        data,
        "linear",
        optimizer="torch.adam",
        lr=0.05,
        batch_size=20,
        epochs=4,
        shuffle=False,
    )
    frame = trace.to_pandas()
    cols = ["w[0]", "w[1]", "b"]
    for step in range(1, trace.steps + 1):
        update = trace.explain(step).attrs["update"]
        assert update["after"].tolist() == frame.loc[step, cols].astype(float).tolist()
        replayed = update.attrs.get("replayed_after", {})
        for name, value in replayed.items():  # an ulp or so, never more
            assert value == pytest.approx(frame.loc[step, name], rel=1e-6)


@pytest.mark.cpu_digits
def test_adams_update_is_replayed_in_the_runs_own_precision() -> None:
    """A float32 Adam run's bias correction 1 - 0.999**t rounds in float32
    (step 1 moves w by 0.09999933, not 0.1): the replay agrees with the trace to
    the ulp, as the next step's "before" shows it, not only to 1e-6."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, 100)
    data = {"x": x, "y": x + 2 + rng.normal(0, 0.15, 100)}
    run = gradtrace.fit(data, optimizer="adam", lr=0.1, batch_size=16, epochs=3)
    frame = run.to_pandas()
    for step in (1, 9):
        update = run.explain(step).attrs["update"]
        assert "replayed_after" not in update.attrs
        for p in ("w", "b"):
            ulp = np.spacing(np.float32(frame[p][step]))
            assert abs(update.loc[p, "after"] - frame[p][step]) <= ulp
    assert frame["w"][1] != pytest.approx(0.1, abs=1e-7)


def test_the_logged_loss_is_said_to_weigh_the_earlier_batches_mean() -> None:
    """Step 3's "(here (99.6 x 40 + 39.9 x 20) / 60)" named no batch's loss in
    99.6: it is the earlier batches' running mean, and is said to be."""
    trace = seed004_rmsprop(epochs=1)
    frame = trace.to_pandas().set_index("step")
    before, batch = frame.loc[2, "running_loss"], frame.loc[3, "batch_loss"]
    said = " ".join(trace.explain_text(3).split())
    assert (
        f"(here (the earlier batches' mean {before:.7g} x their 6 rows + this "
        f"batch's {batch:.7g} x 3) / 9)"
    ) in said


def test_a_standardised_runs_step_says_its_x_were_standardised() -> None:
    """A newcomer could not check a standardised run's step by hand: the table
    shows the data's x, the prediction is of the standardised ones; the text
    says which, with the mean and sd the model took (numpy's, of the rows)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.uniform(20, 80, 200), "b": rng.normal(5e4, 1e4, 200)}
    )
    frame["y"] = 0.3 * frame["a"] + 1e-4 * frame["b"] + rng.normal(0, 1, 200)
    run = gradtrace.fit(
        frame, "linear", x=["a", "b"], standardize=True, batch_size=50, epochs=1
    )
    text = run.explain_text(2)
    means, sds = frame[["a", "b"]].mean(), frame[["a", "b"]].std(ddof=0)
    assert (
        f"the model takes (a - {means['a']:.7g}) / {sds['a']:.7g}, "
        f"(b - {means['b']:.7g}) / {sds['b']:.7g}" in text
    )
    plain = gradtrace.fit(frame, "linear", x=["a", "b"], batch_size=50, epochs=1)
    assert "standardised" not in plain.explain_text(2)


@pytest.mark.cpu_digits
def test_a_pytorch_runs_explanation_words_keras_log_as_the_summary_does() -> None:
    # "Keras would log" then "RMSE as Keras logs it" in one explanation, and
    # "Keras logs" in fit's summary: one wording throughout; and first what a
    # PyTorch loop prints (a teacher's torch.sgd run read in Keras's terms only)
    trace = gradtrace.fit(
        "seed001_line", optimizer="torch.sgd", lr=0.05, batch_size=20, epochs=1
    )
    said = trace.explain(2).attrs["why"]
    batch = trace.to_pandas()["batch_loss"].iloc[2]
    assert said.startswith(
        "A PyTorch loop prints what it sums itself: this batch's loss.item() is "
        f"{batch:.7g}, and the epoch's running mean, sum(loss.item() x len(xb)) / "
        "rows (what Keras logs), is 5.622205: the mean over this epoch's 2"
    )
    # the RMSE line in the same terms, Keras's second
    assert "RMSE of the epoch's batches so far (as Keras logs it): sqrt(" in (
        trace.explain_text(2)
    )
    assert "would log" not in trace.explain_text(2)


def test_the_step_count_is_named_as_each_framework_names_it() -> None:
    import gradtrace
    from gradtrace.explain import _counter_line

    assert _counter_line("keras.rmsprop", {"iterations": 2}) == (
        "step counter after: iterations=2"
    )
    assert _counter_line("torch.adam", {"iterations": 2}) == (
        "step counter after: step=2 (PyTorch's state['step'])"
    )
    assert _counter_line("adam", {"count": 2}) == "step counter after: count=2"
    trace = gradtrace.fit(
        "seed003_linear", model="line", optimizer="torch.sgd", lr=0.1, steps=2
    )
    assert "steps taken: 2 (PyTorch's SGD keeps no count of its own)" in (
        trace.explain_text(2)
    )


def test_a_float32_runs_rows_are_the_data_as_it_took_them() -> None:
    """A teacher's table said 2.642224 and the step 2.642223: the table's
    float64 arithmetic used the file's values, the run their float32 roundings.
    Now the rows are the values the run read (float32), summed in float64."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 3, 50)
    frame = pd.DataFrame({"x": x, "y": 1.3 * x + 0.7 + rng.normal(0, 0.5, 50)})
    trace = gradtrace.fit(frame, optimizer="momentum", lr=0.05, steps=5)
    table = trace.explain(3)
    x32 = frame["x"].to_numpy(np.float32).astype(np.float64)
    y32 = frame["y"].to_numpy(np.float32).astype(np.float64)
    rows = table.drop(index="mean")
    np.testing.assert_array_equal(rows["x"].to_numpy(float), x32[: len(rows)])
    np.testing.assert_array_equal(rows["y"].to_numpy(float), y32[: len(rows)])
    before = trace.to_pandas().iloc[2]
    w, b = float(before["w"]), float(before["b"])
    assert table.loc["mean", "loss"] == pytest.approx(
        np.mean((w * x32 + b - y32) ** 2), rel=1e-13
    )
    # a float64 run reads them as given
    wide = gradtrace.fit(frame, optimizer="momentum", lr=0.05, steps=5, dtype="float64")
    np.testing.assert_array_equal(
        wide.explain(3).drop(index="mean")["y"].to_numpy(float),
        frame["y"].to_numpy()[: len(rows)],
    )


def test_steps_explained_one_after_another_replay_by_one_program() -> None:
    """A notebook explaining step after step: the optimizer's replay is compiled
    once for the run's optimizer, and every block of up to 64 steps runs it (each
    explain compiled its replay afresh, and the padding of each length); its
    tables are those of a fresh replay."""
    from gradtrace.core import loop

    def forget_replays() -> int:
        """Drop the compiled replays kept; how many there were."""
        kept = [k for k in loop._COMPILED if k[0][0] == "replay"]
        for key in kept:
            del loop._COMPILED[key]
        return len(kept)

    trace = gradtrace.fit(
        "seed004_keras", optimizer="adam", lr=LR, batch_size=2, epochs=8, shuffle=False
    )
    forget_replays()
    tables = {step: trace.explain(step).attrs["update"] for step in (9, 10, 30, 47)}
    assert forget_replays() == 1
    for step, table in tables.items():
        pd.testing.assert_frame_equal(trace.explain(step).attrs["update"], table)
        forget_replays()
