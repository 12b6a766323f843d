"""Data in and out, run configuration, and looking at runs, as a person uses them."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gradtrace
from helpers import held_elsewhere, start_program
from helpers import run_cli as run

SEED004 = Path(__file__).parents[1] / "src/gradtrace/datasets/seed004_keras.csv"
EXPECTED_W = 1.0924618


SEED004_ARGS = [
    "--optimizer",
    "keras.rmsprop",
    "--lr",
    "0.05",
    "--epochs",
    "1",
    "--batch-size",
    "3",
    "--no-shuffle",
    "--init",
    "w=0.5",
    "-q",
]


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "npy", "npz"])
def test_every_format_gives_the_same_trace(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(SEED004)
    path = tmp_path / f"d.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif kind == "parquet":
        frame.to_parquet(path)
    elif kind == "npy":
        np.save(path, frame.to_numpy())
    else:
        np.savez(path, x=frame["x"].to_numpy(), y=frame["y"].to_numpy())
    code, _, err = run(
        ["fit", str(path), *SEED004_ARGS, "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0, err
    assert gradtrace.load(tmp_path / "r").params["w"] == pytest.approx(
        EXPECTED_W, rel=1e-6
    )


def test_csv_on_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SEED004.read_text()))
    code, _, err = run(
        ["fit", "-", *SEED004_ARGS, "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0, err
    trace = gradtrace.load(tmp_path / "r")
    assert trace.info["data"]["source"] == "standard input"
    assert trace.params["w"] == pytest.approx(EXPECTED_W, rel=1e-6)
    # the views read the data again from --data (checked to be the run's own)
    run_folder = str(tmp_path / "r")
    code, _, err = run(["explain", run_folder, "--step", "2"], capsys)
    assert code == 2 and "--data FILE on the command line" in err
    code, out, err = run(["explain", run_folder, "2", "--data", str(SEED004)], capsys)
    assert code == 0, err
    assert out.startswith("Step 2 of 4 (") and "rows (3, 4, 5)" in out
    code, out, err = run(["report", run_folder, "--data", str(SEED004)], capsys)
    assert code == 0 and (tmp_path / "r" / "report.html").exists(), err
    code, out, err = run(["plot", run_folder, "--data", str(SEED004)], capsys)
    assert code == 0 and (tmp_path / "r" / "fit.png").exists(), err
    other = tmp_path / "other.csv"
    pd.read_csv(SEED004).assign(y=lambda f: f["y"] + 1).to_csv(other, index=False)
    code, _, err = run(["report", run_folder, "--data", str(other)], capsys)
    assert code == 2 and "these data differ from the run's" in err


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_generated_data_round_trips_with_its_truth(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"line.{suffix}"
    code, out, _ = run(
        [
            "data",
            "line",
            "--n",
            "100",
            "--w",
            "1",
            "--b",
            "2",
            "--noise",
            "0.15",
            "--seed",
            "0",
            "-o",
            str(path),
        ],
        capsys,
    )
    assert code == 0 and "truth: w=1.0, b=2.0, scale=0.15" in out
    assert gradtrace.data.read_truth(path) == {"w": 1.0, "b": 2.0, "scale": 0.15}
    code, _, _ = run(
        [
            "fit",
            str(path),
            "--lr",
            "0.5",
            "--epochs",
            "300",
            "-q",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0
    code, out, _ = run(["show", str(tmp_path / "r")], capsys)
    assert code == 0
    w_row = next(line for line in out.splitlines() if line.startswith("w "))
    assert w_row.split()[-1] == "1"  # the truth column
    trace = gradtrace.load(tmp_path / "r")
    assert trace.info["truth"]["w"] == 1.0
    assert trace.params["w"] == pytest.approx(1.0, abs=0.1)


def test_a_standardised_runs_truth_is_beside_its_values_in_their_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fit on standardised x set the data's true w = [3, -2], b = 10 beside its
    slopes per standard deviation (2.89, 10.35): the estimator looked biased, in
    the table and params.png. The truth is now in the fit's units there (w
    times x's spread, b plus w times its centre), and in x's own units beside
    the optimum's in x's own units."""
    path = tmp_path / "lt.csv"
    args = ["data", "linear", "--n", "200", "--w", "3,-2", "--b", "10"]
    code, _, err = run(
        [*args, "--noise", "0.5", "--seed", "2", "-o", str(path)], capsys
    )
    assert code == 0, err
    out = tmp_path / "r"
    fit = ["fit", str(path), "--model", "linear", "--standardize", "--steps", "300"]
    code, _, err = run([*fit, "--lr", "0.1", "-q", "--out", str(out)], capsys)
    assert code == 0, err
    trace = gradtrace.load(out)
    x = pd.read_csv(path)[["x0", "x1"]].to_numpy()
    center, spread = x.mean(axis=0), x.std(axis=0)
    table = trace.summary()
    want_w = np.array([3.0, -2.0]) * spread
    np.testing.assert_allclose(table.loc[["w[0]", "w[1]"], "truth"], want_w, rtol=1e-5)
    want_b = 10 + np.array([3.0, -2.0]) @ center
    assert table.loc["b", "truth"] == pytest.approx(want_b, rel=1e-5)
    assert list(table["truth_in_x_units"]) == [3.0, -2.0, 10.0]
    # each truth within a few standard errors of its optimum, in either units
    for suffix in ("", "_in_x_units"):
        off = (table[f"optimum{suffix}"] - table[f"truth{suffix}"]).abs()
        assert (off < 4 * table[f"std_error{suffix}"]).all(), suffix
    code, said, _ = run(["show", str(out)], capsys)
    assert code == 0
    assert "the truth in x's own units: w = [3, -2], b = 10" in said


def test_a_truth_is_shown_only_for_the_file_and_model_it_was_drawn_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line.csv written over with a teacher's own data (w 3, b -2) kept its old
    line.csv.truth.json, and the summary printed "truth w 1, b 2"; logistic data
    fitted as a line printed the logistic's "truth b 0"."""
    path = tmp_path / "line.csv"
    code, _, err = run(
        ["data", "line", "--w", "1", "--b", "2", "-o", str(path)], capsys
    )
    assert code == 0, err
    record = json.loads((tmp_path / "line.csv.truth.json").read_text())
    assert record["model"] == "line" and len(record["sha256"]) == 64
    x = np.linspace(0.0, 1.0, 50)
    pd.DataFrame({"x": x, "y": 3 * x - 2}).to_csv(path, index=False)
    code, out, err = run(
        ["fit", str(path), "--steps", "3", "--out", str(tmp_path / "a")], capsys
    )
    assert code == 0, err
    assert not _truth_column(out) and gradtrace.load(tmp_path / "a").info["truth"] == {}
    assert (
        "note: line.csv.truth.json holds the truth of another line.csv (the file was "
        "written over since gradtrace data wrote it, its checksum differs): its "
        "true values are left out; delete that file, or write the data again with "
        "gradtrace data." in err
    )
    assert gradtrace.data.read_truth(path) == {}
    # logistic data, with its truth in the Parquet file, fitted as a line
    logit = tmp_path / "clicks.parquet"
    code, _, err = run(["data", "logistic", "--b", "0", "-o", str(logit)], capsys)
    assert code == 0, err
    code, out, err = run(
        ["fit", str(logit), "--steps", "3", "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0, err
    assert not _truth_column(out) and gradtrace.load(tmp_path / "b").info["truth"] == {}
    code, out, err = run(
        [
            "fit",
            str(logit),
            "--model",
            "logistic",
            "--steps",
            "3",
            "--out",
            str(tmp_path / "c"),
        ],
        capsys,
    )
    assert code == 0, err
    assert gradtrace.load(tmp_path / "c").info["truth"] == {"w": [1.0], "b": 0.0}
    assert _truth_column(out)
    # a model of one's own is matched by its parameters' names, as docs/models.md
    # fits exp-decay data with --model-expr
    decay = tmp_path / "decay.csv"
    args = ["data", "exp-decay", "--a", "3", "--b", "0.4", "--c", "1", "-o", str(decay)]
    assert run(args, capsys)[0] == 0
    own = gradtrace.fit(str(decay), model_expr="a*exp(-b*x) + c", steps=3, exact=False)
    assert own.truth == {"a": 3.0, "b": 0.4, "c": 1.0}


def _truth_column(summary: str) -> bool:
    head = next(line for line in summary.splitlines() if line.startswith("parameter"))
    return "truth" in head


def test_generators(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "data",
            "linear",
            "--n",
            "50",
            "--w",
            "1,-2,0.5",
            "--b",
            "1",
            "-o",
            str(tmp_path / "lin.csv"),
        ],
        capsys,
    )
    assert code == 0
    assert list(pd.read_csv(tmp_path / "lin.csv").columns) == ["x0", "x1", "x2", "y"]
    code, out, _ = run(
        [
            "data",
            "normal",
            "--n",
            "2000",
            "--loc",
            "2",
            "--scale",
            "0.5",
            "-o",
            str(tmp_path / "n.csv"),
        ],
        capsys,
    )
    y = pd.read_csv(tmp_path / "n.csv")["y"]
    assert y.mean() == pytest.approx(2, abs=0.05) and y.std() == pytest.approx(
        0.5, abs=0.05
    )
    code, _, err = run(
        ["data", "normal", "--scale", "-1", "-o", str(tmp_path / "m.csv")], capsys
    )
    assert code == 2 and "--scale must be positive" in err
    assert not (tmp_path / "m.csv").exists()


def test_config_file_and_command_line_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        f'data = "{SEED004}"\nmodel = "line"\noptimizer = "keras.rmsprop"\n'
        "lr = 0.05\nepochs = 1\nbatch-size = 3\nshuffle = false\nquiet = true\n"
        "[init]\nw = 0.5\nb = 0.0\n"
    )
    code, _, err = run(
        ["fit", "--config", str(config), "--out", str(tmp_path / "a")], capsys
    )
    assert code == 0, err
    a = gradtrace.load(tmp_path / "a")
    assert a.params["w"] == pytest.approx(EXPECTED_W, rel=1e-6)
    code, _, _ = run(
        [
            "fit",
            "--config",
            str(config),
            "--batch-size",
            "12",
            "--out",
            str(tmp_path / "b"),
        ],
        capsys,
    )
    b = gradtrace.load(tmp_path / "b")
    assert b.steps == 1 and b.info["config"]["batch_size"] == 12
    assert b.info["config"]["optimizer"] == "keras.rmsprop"


def test_a_config_file_gives_a_schedule_as_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``[lr-schedule]`` with its name and parameters (a composite's schedulers
    an array of tables) is the same schedule as its text; a table without a
    name is told what it needs."""
    config = tmp_path / "run.toml"
    config.write_text(
        f'data = "{SEED004}"\noptimizer = "torch.sgd"\nlr = 0.05\nepochs = 6\n'
        "batch-size = 4\nquiet = true\n[lr-schedule]\n"
        'name = "torch.sequential"\nmilestones = [2]\nschedulers = [\n'
        '  {name = "torch.linear", start_factor = 0.5, total_iters = 2},\n'
        '  {name = "torch.exponential", gamma = 0.5},\n]\n'
    )
    code, _, err = run(
        ["fit", "--config", str(config), "--out", str(tmp_path / "t")], capsys
    )
    assert code in (0, 1), err  # 1: seed 004 at lr 0.05 in batches of 4 rose
    text = (
        "torch.sequential:schedulers=[torch.linear(start_factor=0.5,"
        "total_iters=2),torch.exponential(gamma=0.5)],milestones=[2]"
    )
    code, _, err = run(
        [
            "fit",
            "--config",
            str(config),
            "--lr-schedule",
            text,
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code in (0, 1), err  # the same run, its loss rising alike
    table = gradtrace.load(tmp_path / "t").to_pandas()["lr"]
    pd.testing.assert_series_equal(
        table, gradtrace.load(tmp_path / "s").to_pandas()["lr"]
    )
    config.write_text(f'data = "{SEED004}"\n[lr-schedule]\npatience = 3\n')
    code, _, err = run(["fit", "--config", str(config)], capsys)
    assert code == 2
    assert "or a table with name = 'torch.step' and its parameters" in err


def test_rerun_takes_the_data_again_from_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run fitted to standard input, or whose file moved, reruns on --data FILE:
    the run's own values only."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(SEED004.read_text()))
    piped = str(tmp_path / "piped")
    code, _, err = run(["fit", "-", *SEED004_ARGS, "--out", piped], capsys)
    assert code == 0, err
    moved = tmp_path / "moved.csv"
    moved.write_text(SEED004.read_text())
    code, _, err = run(
        ["fit", str(moved), *SEED004_ARGS, "--out", str(tmp_path / "m")], capsys
    )
    assert code == 0, err
    moved.unlink()
    for folder, said in ((piped, "from standard input"), (tmp_path / "m", "gone")):
        code, _, err = run(["rerun", str(folder), "--out", str(tmp_path / "x")], capsys)
        assert code == 2 and said in err and "--data FILE" in err, err
        assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
        again = tmp_path / f"again-{Path(folder).name}"
        code, out, err = run(
            ["rerun", str(folder), "--data", str(SEED004), "--out", str(again)], capsys
        )
        assert code == 0 and f"identical to {folder}: 5 rows." in out, err
    other = tmp_path / "other.csv"
    pd.read_csv(SEED004).assign(y=lambda f: f["y"] + 1).to_csv(other, index=False)
    code, _, err = run(
        ["rerun", piped, "--data", str(other), "--out", str(tmp_path / "x")], capsys
    )
    assert code == 2 and "these data differ from the run's" in err
    assert not (tmp_path / "x").exists()


def test_rerun_reproduces_the_trace_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    data.write_text(SEED004.read_text())
    code, _, _ = run(
        [
            "fit",
            str(data),
            "--optimizer",
            "adam",
            "--lr",
            "0.1",
            "--batch-size",
            "5",
            "--epochs",
            "4",
            "--seed",
            "3",
            "-q",
            "--out",
            str(tmp_path / "a"),
        ],
        capsys,
    )
    assert code == 0
    code, out, err = run(
        ["rerun", str(tmp_path / "a"), "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0, err
    assert "identical to" in out
    assert (
        gradtrace.load(tmp_path / "a")
        .to_pandas()
        .equals(gradtrace.load(tmp_path / "b").to_pandas())
    )
    data.write_text(SEED004.read_text() + "13,40\n")
    code, _, err = run(
        ["rerun", str(tmp_path / "a"), "--out", str(tmp_path / "c")], capsys
    )
    assert code == 2 and "changed since the run" in err


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_export_csv_reads_back_to_the_traces_own_values(
    dtype: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every value of the CSV reads back to the trace's, in the run's dtype: a
    float64 run's digits are all written (they were cut to 9), float32's as the
    shortest text that is that float32."""
    folder = tmp_path / dtype
    args = ["fit", str(SEED004), "--optimizer", "adam", "--lr", "0.05"]
    run([*args, "--epochs", "5", "--dtype", dtype, "-q", "--out", str(folder)], capsys)
    code, out, _ = run(["export", str(folder), "--csv"], capsys)
    assert code == 0
    theirs = pd.read_parquet(folder / "trace.parquet")
    # read as Python reads a float's text (pandas 3.0's default parser was off
    # by an ulp on some values)
    back = pd.read_csv(io.StringIO(out), dtype=str)
    for col in ("w", "b", "grad_w", "loss", "gap"):
        expected = theirs[col].to_numpy()
        values = np.asarray([float(v) for v in back[col]]).astype(expected.dtype)
        assert np.array_equal(values, expected, True), col
    if dtype == "float32":  # w starts at 0, written 0.0 (not 0 in %g)
        assert out.splitlines()[1].split(",")[3] == "0.0"


def test_show_export_and_ls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    for name, lr in (("one", "0.01"), ("two", "0.02")):
        run(
            [
                "fit",
                str(SEED004),
                "--lr",
                lr,
                "--epochs",
                "3",
                "-q",
                "--out",
                str(runs / name),
            ],
            capsys,
        )
    code, out, _ = run(["show", str(runs / "one")], capsys)
    assert code == 0 and "sgd(learning_rate=0.01)" in out and "completed" in out
    code, out, _ = run(["export", str(runs / "one"), "--csv"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns)[:5] == ["step", "epoch", "batch", "w", "b"]
    assert len(frame) == 4
    code, dashed, _ = run(["export", str(runs / "one"), "-o", "-"], capsys)
    assert code == 0 and dashed == out  # -o -: standard output, as fit - reads it
    code, _, _ = run(
        ["export", str(runs / "one"), "--json", "-o", str(tmp_path / "t.json")], capsys
    )
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["run"]["model"] == "line" and len(doc["trace"]) == 4
    assert doc["trace"][0]["grad_w"] is None
    code, _, _ = run(
        ["export", str(runs / "one"), "-o", str(tmp_path / "u.json")], capsys
    )
    assert json.loads((tmp_path / "u.json").read_text()) == doc  # named .json
    code, _, err = run(["export", str(runs / "one"), "--csv", "--json"], capsys)
    assert code == 2 and "give --csv or --json, not both" in err
    mine = tmp_path / "mine.csv"
    mine.write_text("my data\n")
    code, _, err = run(["export", str(runs / "one"), "-o", str(mine)], capsys)
    assert code == 2 and "already exists" in err and mine.read_text() == "my data\n"
    code, _, err = run(["export", str(runs / "one"), "--json", "-o", str(mine)], capsys)
    assert code == 2 and "names a CSV file but --json writes JSON" in err
    code, _, _ = run(["export", str(runs / "one"), "-o", str(mine), "--force"], capsys)
    assert code == 0 and pd.read_csv(mine).shape[0] == 4
    link = tmp_path / "link.csv"  # a link is written through, not renamed over
    link.symlink_to(mine)
    code, _, _ = run(["export", str(runs / "one"), "-o", str(link), "--force"], capsys)
    assert code == 0 and link.is_symlink() and pd.read_csv(mine).shape[0] == 4
    code, out, _ = run(["ls", str(runs)], capsys)
    assert code == 0 and "one" in out and "two" in out and "0.02" in out
    code, _, err = run(["show", str(tmp_path)], capsys)
    assert code == 2 and "is not a run folder" in err
    # the folder of runs itself: some named, and ls to list them
    code, _, err = run(["show", str(runs)], capsys)
    assert code == 2 and err.startswith(f"error: {str(runs)!r} holds runs (one and two")
    assert f"such as {runs / 'one'} (gradtrace ls {runs} lists them)." in err
    sweep = tmp_path / "sweep"
    code, _, err = run(
        ["sweep", "seed001_line", "--lr", "0.1,0.2", "--steps", "3", "--no-plot"]
        + ["--out", str(sweep)],
        capsys,
    )
    assert code == 0, err
    code, out, err = run(["show", str(sweep)], capsys)  # the sweep's best ones
    assert code == 0 and "2 configurations (lr swept)" in out, err
    for command in (["export"], ["report"], ["explain", "--step", "1"]):
        code, _, err = run([*command, str(sweep)], capsys)
        assert code == 2 and "is a sweep's folder, not a run's" in err, err
        assert "sweep.parquet" in err and len(err.strip().splitlines()) == 1
        assert "traces.parquet" in err and "heatmap.png" not in err  # --no-plot


def test_same_configuration_same_trace_values() -> None:
    kwargs = dict(optimizer="rmsprop", lr=0.05, batch_size=4, epochs=5, seed=11)
    a = gradtrace.fit("seed004_keras", **kwargs)  # type: ignore[arg-type]
    b = gradtrace.fit("seed004_keras", **kwargs)  # type: ignore[arg-type]
    assert a.to_pandas().equals(b.to_pandas())


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    trace = gradtrace.fit("seed001_line", lr=10.0, steps=200)  # diverges
    assert trace.diverged
    trace.save(tmp_path / "r")
    back = gradtrace.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back.to_pandas(), trace.to_pandas())
    assert back.info["diverged_step"] == trace.diverged_step
    table = pq.read_table(tmp_path / "r" / "trace.parquet")
    assert table.column("batch_loss").null_count == 1  # row 0; the inf/nan stays
    with pytest.raises(gradtrace.RunFolderError, match="already exists"):
        trace.save(tmp_path / "r")


# -- stopping a run: SIGKILL leaves nothing, SIGINT leaves what was done --------------

LONG = [
    "fit",
    "seed002_normal",
    "--model",
    "normal",
    "--optimizer",
    "sgd",
    "--lr",
    "1e-6",
    "--reduction",
    "sum",
    "--fix",
    "scale=1",
    "--steps",
    "1000000",
]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return start_program(args, cwd, GRADTRACE_CHUNK_STEPS="20000", PYTHONUNBUFFERED="1")


def _wait_for_training(proc: subprocess.Popen[str], wait: float = 0.5) -> None:
    """Until the command says training started (after imports and compilation),
    then ``wait`` seconds."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("training 1000000 steps"), line
    # a chunk of 20000 steps takes ~0.1 s here, the million 5.5 s: room both ways
    time.sleep(wait)


def test_sigkill_leaves_no_run_folder(tmp_path: Path) -> None:
    proc = _start([*LONG, "--out", "runs/k"], tmp_path)
    _wait_for_training(proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert not (tmp_path / "runs" / "k").exists()
    leftovers = (
        [p for p in (tmp_path / "runs").glob("*")]
        if (tmp_path / "runs").exists()
        else []
    )
    assert all(p.name.startswith(".") for p in leftovers)


def test_sigint_saves_the_steps_done_and_marks_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # on a machine busy with other work the first chunk may not be done after
    # half a second: a Ctrl-C then saves no steps, and the run is tried again with
    # longer waits
    for wait in (0.5, 2.0, 4.0):
        folder = tmp_path / "runs" / f"i{wait:g}"  # a folder of its own each time
        proc = _start([*LONG, "--out", str(folder)], tmp_path)
        _wait_for_training(proc, wait)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        trace = gradtrace.load(folder)
        assert trace.status == "interrupted"
        if trace.steps:
            break
    assert 0 < trace.steps < 1_000_000 and trace.steps % 20000 == 0
    # whichever chunk it stopped in, it keeps a state to go on from (stopped in
    # the second, its start: the first chunk's last loss, evaluated on its own,
    # is computed again)
    assert (folder / "state.npz").exists()
    frame = trace.to_pandas()
    assert len(frame) == trace.steps + 1
    assert np.isfinite(frame["loc"]).all()
    # resume says where it starts, and which recorded steps it computes again
    code, out, err = run(["resume", str(folder)], capsys)
    assert code == 0, err
    start = int(out.split("resuming at step ")[1].split(" ")[0])
    assert 1 <= start <= trace.steps + 1
    if start <= trace.steps:
        assert f"steps {start}-{trace.steps}, recorded when it stopped" in out
    assert gradtrace.load(folder).status == "completed"


def test_semicolon_csv_and_spaced_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        " x ; y \n"
        + "\n".join(f"{a};{b}" for a, b in pd.read_csv(SEED004).itertuples(index=False))
    )
    code, _, err = run(
        ["fit", str(path), *SEED004_ARGS, "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0, err
    assert gradtrace.load(tmp_path / "r").params["w"] == pytest.approx(
        EXPECTED_W, rel=1e-6
    )


def test_generated_linear_data_fits_without_naming_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lin.csv"
    run(
        [
            "data",
            "linear",
            "--n",
            "200",
            "--w",
            "1,-2,0.5",
            "--b",
            "1",
            "--noise",
            "0.1",
            "-o",
            str(path),
        ],
        capsys,
    )
    code, _, err = run(
        [
            "fit",
            str(path),
            "--model",
            "linear",
            "--lr",
            "0.1",
            "--epochs",
            "300",
            "-q",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, err
    trace = gradtrace.load(tmp_path / "r")
    assert trace.info["data"]["x"] == ["x0", "x1", "x2"]
    np.testing.assert_allclose(trace.params["w"], [1, -2, 0.5], atol=0.05)


def test_export_json_keeps_infinities_and_refuses_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        [
            "fit",
            str(SEED004),
            "--lr",
            "10",
            "--epochs",
            "50",
            "-q",
            "--out",
            str(tmp_path / "d"),
        ],
        capsys,
    )
    code, out, _ = run(["export", str(tmp_path / "d"), "--json"], capsys)
    rows = json.loads(out)["trace"]
    assert rows[0]["grad_w"] is None
    # no number is null in the run's part as in its rows (a rate of "NaN" was
    # text beside the rows' null: an Adam run's stable rate, say)
    assert '"NaN"' not in out
    adam = tmp_path / "adam"
    gradtrace.fit(str(SEED004), optimizer="torch.adam", steps=3).save(adam)
    code, out, _ = run(["export", str(adam), "--json"], capsys)
    assert code == 0 and '"NaN"' not in out
    assert json.loads(out)["run"]["diagnosis"]["stable_lr"] is None
    assert "Infinity" in (rows[-1]["loss"], rows[-1]["batch_loss"]) or any(
        v in ("Infinity", "-Infinity") for v in rows[-1].values()
    )
    code, _, err = run(["export", str(tmp_path / "d"), "-o", str(tmp_path)], capsys)
    assert code == 2 and "is a folder" in err
    assert not list(tmp_path.glob(".*.tmp"))


def test_python_arrays_and_case_insensitive_names() -> None:
    frame = pd.read_csv(SEED004)
    a = gradtrace.fit(
        (frame["x"].to_numpy(), frame["y"].to_numpy()),
        optimizer="Keras.RMSprop",
        lr=0.05,
        batch_size=3,
        epochs=1,
        shuffle=False,
        init={"w": 0.5},
    )
    assert a.info["optimizer"]["name"] == "keras.rmsprop"
    assert a.params["w"] == pytest.approx(EXPECTED_W, rel=1e-6)
    b = gradtrace.fit(
        np.random.default_rng(0).normal(2, 1, 500), "Normal", lr=0.1, epochs=200
    )
    assert b.params["loc"] == pytest.approx(2, abs=0.1)


def test_a_run_stopped_before_its_first_chunk_is_readable() -> None:
    from gradtrace.core import loop
    from gradtrace.core.models import Line
    from gradtrace.core.optimizers import OptimizerSpec
    from gradtrace.tables import trace_frame

    problem = loop.Problem(Line(), "mse", "mean", ("w", "b"))
    schedule = loop.Schedule(12, 3, 8)
    init = {"w": np.float32(0.5), "b": np.float32(0.0)}
    frame = pd.read_csv(SEED004)
    prepared = loop.prepare(
        problem, OptimizerSpec.create("sgd"), schedule, init, {}, frame["x"], frame["y"]
    )
    history = loop.assemble(prepared, [], init)
    table = trace_frame(history, Line().param_specs(), {"w": 0.5, "b": 0.0})
    assert len(table) == 1 and table["w"][0] == 0.5


# -- checkpoints and resume ---------------------------------------------------------

RESUMABLE = [
    "fit",
    "seed002_normal",
    "--model",
    "normal",
    "--optimizer",
    "adam",
    "--lr",
    "1e-3",
    "--fix",
    "scale=1",
    "--steps",
    "160000",
    "-q",
]


def test_a_killed_checkpointed_run_resumes_to_the_uninterrupted_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _start(
        [*RESUMABLE, "--checkpoint-every", "20000", "--out", "runs/c"], tmp_path
    )
    state = tmp_path / "runs" / "c" / "state.npz"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=30)
    folder = tmp_path / "runs" / "c"
    cut = gradtrace.load(folder)
    assert cut.status == "running"
    assert 0 < cut.steps < 160_000 and cut.steps % 20000 == 0
    # no process holds the folder's lock: it was killed, and show and ls say so
    assert cut.writing is False and "it was killed" in cut.message
    assert "gradtrace.resume(RUN)" in cut.message
    code, out, _ = run(["ls", str(tmp_path / "runs")], capsys)
    assert code == 0 and "stopped" in out and "running" not in out
    from filelock import FileLock

    from gradtrace.store import lock_path

    with FileLock(lock_path(folder), timeout=0):  # as the run's process would
        going = gradtrace.load(folder)
        assert going.writing and going.message.startswith("running: checkpointed")
    code, out, err = run(["resume", str(folder)], capsys)
    assert code == 0, err
    assert f"resuming at step {cut.steps + 1}" in out
    done = gradtrace.load(folder)
    assert done.status == "completed" and not (folder / "state.npz").exists()
    timings = done.info["timings"]  # both sessions' time
    assert timings["sessions"] == 2
    assert timings["total_s"] > cut.info["timings"]["total_s"] > 0
    code, _, err = run([*RESUMABLE, "--out", str(tmp_path / "whole")], capsys)
    assert code == 0, err
    whole = gradtrace.load(tmp_path / "whole").to_pandas()
    resumed = done.to_pandas()
    assert resumed.drop(columns="gap").equals(whole.drop(columns="gap"))


def test_an_interrupted_run_resumes_with_its_metrics_and_shuffled_batches(
    tmp_path: Path,
) -> None:
    from gradtrace.api import run as run_config
    from gradtrace.run_config import RunConfig
    from gradtrace.sources import frame_of

    config = RunConfig(
        data="seed004_keras",
        optimizer="keras.adam",
        lr=0.05,
        batch_size=5,
        epochs=12,
        checkpoint_every=7,
        metrics=["rmse", "r2"],
    )
    frame, source = frame_of("seed004_keras")
    whole = run_config(config, frame, source)
    seen = []

    def stop_at_the_second(trace: gradtrace.Trace) -> None:
        seen.append(trace.steps)
        if len(seen) == 2:
            raise KeyboardInterrupt

    cut = run_config(config, frame, source, checkpoint=stop_at_the_second)
    assert cut.status == "interrupted" and cut.steps == 14
    cut.save(tmp_path / "cut")
    from gradtrace.store import load_state

    state = load_state(tmp_path / "cut")
    resumed = run_config(config, frame, source, resume=state)
    assert resumed.to_pandas().equals(whole.to_pandas())


def test_only_an_unfinished_run_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["fit", str(SEED004), *SEED004_ARGS, "--out", str(tmp_path / "r")], capsys)
    code, _, err = run(["resume", str(tmp_path / "r")], capsys)
    assert code == 2
    assert "only an interrupted or checkpointed run can be resumed" in err
    # how to train on from where it ended: its final values, as fit takes them
    final = gradtrace.load(tmp_path / "r").params
    ended = f"--init w={final['w']:.7g} --init b={final['b']:.7g}"
    assert f"fit again with {ended} (the optimizer's state starts afresh)" in err
    # or the same run, longer
    assert f"gradtrace rerun {tmp_path / 'r'} --epochs N (the same run" in err
    # a run of --steps goes on by --steps
    args = ["fit", "seed001_line", "--steps", "5", "--out", str(tmp_path / "k")]
    run(args, capsys)
    code, _, err = run(["resume", str(tmp_path / "k")], capsys)
    assert f"gradtrace rerun {tmp_path / 'k'} --steps N (the same run" in err
    longer = r"epochs=N .*, or with init=\{'w': "
    with pytest.raises(gradtrace.InputError, match=longer):
        gradtrace.resume(tmp_path / "r")
    base = [a for a in SEED004_ARGS if a not in ("--init", "w=0.5")]
    on = ["fit", str(SEED004), *base, *ended.split(), "--out", str(tmp_path / "s")]
    code, _, err = run(on, capsys)  # the hint's flags are fit's own
    assert code == 0, err
    assert gradtrace.load(tmp_path / "s").initial == pytest.approx(final, rel=1e-6)


def test_a_folder_claimed_by_another_command_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradtrace import store
    from gradtrace.cli.fit import default_out

    held, existing = tmp_path / "held", tmp_path / "existing"
    existing.mkdir()
    with held_elsewhere("claim", held) as said:
        assert said == "True"
        assert not store.claim(held) and not store.claim(existing)
        assert store.claim(tmp_path / "free")
    assert store.claim(held)  # let go with the process that held it
    # the default folder goes on to the next name when one is taken
    monkeypatch.chdir(tmp_path)
    taken: list[Path] = []
    monkeypatch.setattr(store, "claim", lambda p: bool(taken) or taken.append(p))
    out = default_out("line")
    assert out.name == f"{taken[0].name}-2" and out.parent.name == "runs"


@pytest.mark.parametrize(
    ("kind", "args", "model", "truth"),
    [
        (
            "logistic",
            ["--w", "1.5", "--b", "-0.5"],
            "logistic",
            {"w": [1.5], "b": -0.5},
        ),
        ("poisson", ["--rate", "3"], "poisson", {"rate": 3.0}),
        (
            "poisson-regression",
            ["--w", "0.3", "--b", "1"],
            "poisson-regression",
            {"w": [0.3], "b": 1.0},
        ),
        ("exponential", ["--rate", "0.5"], "exponential", {"rate": 0.5}),
    ],
)
def test_generated_likelihood_data_fit_back_to_their_truth(
    kind: str,
    args: list[str],
    model: str,
    truth: dict[str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"{kind}.csv"
    code, _, err = run(["data", kind, "--rows", "4000", *args, "-o", str(path)], capsys)
    assert code == 0, err
    assert gradtrace.data.read_truth(path) == truth
    fit = ["fit", str(path), "--model", model, "--loss", "nll", "--steps", "5"]
    code, out, err = run([*fit, "-q", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    info = gradtrace.load(tmp_path / "r").info
    assert info["truth"] == truth and "truth" in out
    for name, value in truth.items():  # the optimum within 4 standard errors
        gap = np.ravel(info["optimum"][name]) - np.ravel(value)
        assert np.all(np.abs(gap) < 4 * np.ravel(info["stderr"][name])), name
    bad = ["--n", "1"] if "rate" not in truth else ["--rate", "-1"]
    code, _, err = run(["data", kind, *bad, "-o", str(path), "--force"], capsys)
    assert code == 2 and err.startswith("error: ")
    if kind == "logistic":  # a line's one slope (logistic's may be several)
        with pytest.raises(ValueError, match="one slope"):
            gradtrace.data.generate("line", 10, w=[1.0, 2.0])
    elif "rate" in truth:
        huge = ["data", kind, "--rate", "1e300", "-o", str(path), "--force"]
        code, _, err = run(huge, capsys)
        assert code == 2 and "out of range" in err


def test_the_files_gradtrace_writes_include_every_picture_of_a_run() -> None:
    from gradtrace import plot, store

    assert set(plot.RUN_FIGURES) <= set(store.WRITTEN)


def test_a_folder_with_your_files_is_replaced_in_place_and_put_back_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder = tmp_path / "run"
    first = gradtrace.fit("seed001_line", steps=3)
    first.save(folder)
    (folder / "mine.csv").write_text("my data")
    (folder / "fit.png").write_text("old picture")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    inode = folder.stat().st_ino
    second = gradtrace.fit("seed001_line", steps=5)
    real = os.replace
    calls: list[str] = []

    def failing(src: object, dst: object) -> None:
        calls.append(str(dst))
        if len(calls) == 4:  # two set aside, one new file in: then a failure
            raise OSError(5, "Input/output error")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError):
        second.save(folder, force=True)
    monkeypatch.setattr(os, "replace", real)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before  # every file back where it was, yours untouched
    assert gradtrace.load(folder).steps == 3
    assert not list(tmp_path.glob(".run*"))  # nothing left beside it
    second.save(folder, force=True)
    assert gradtrace.load(folder).steps == 5 and folder.stat().st_ino == inode
    assert (folder / "mine.csv").read_text() == "my data"
    assert not (folder / "fit.png").exists()  # the old run's picture went with it
    empty = tmp_path / "empty"
    empty.mkdir()
    empty.chmod(0o2770)
    second.save(empty)  # written into, not swapped: its mode stays
    assert (empty / "run.json").is_file() and empty.stat().st_mode & 0o7777 == 0o2770


def test_a_run_is_named_as_ls_lists_it_or_latest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["ls"], capsys)  # no runs folder yet: nothing to list
    assert (
        code == 0
        and out == "no runs in runs yet: gradtrace fit DATA makes one there.\n"
    )
    code, _, err = run(["show", "latest"], capsys)
    assert code == 2 and err.startswith(
        "error: no run or sweep in 'runs', so none is the latest: make one with "
        "gradtrace fit or sweep, or give a run's folder."
    )
    code, _, err = run(["plot", "latest"], capsys)
    assert code == 2 and err.startswith("error: no run in 'runs', so none is")
    base = ["fit", "seed001_line", "--steps", "3", "--lr", "0.1", "-q"]
    for name in ("b", "a"):  # "a" made last: latest by when, not by name
        code, _, err = run([*base, "--out", f"runs/{name}"], capsys)
        assert code == 0, err
        time.sleep(1.1)  # run.json keeps when to the second
    sweep = ["sweep", "seed001_line", "--lr", "0.1,0.2", "--steps", "3", "--no-plot"]
    code, _, err = run([*sweep, "--out", "runs/s"], capsys)  # made last: not a run
    assert code == 0, err
    code, out, _ = run(["ls", "--csv"], capsys)
    assert pd.read_csv(io.StringIO(out))["folder"].tolist() == ["b", "a", "s"]
    for given in ("a", "runs/a"):
        code, out, err = run(["show", given], capsys)
        assert code == 0 and out.startswith("run runs/a:"), err
    # show reads sweeps too: its latest is the last that ls lists, the sweep
    code, out, err = run(["show", "latest"], capsys)
    assert code == 0 and out.startswith("sweep runs/s:"), err
    code, out, err = run(["explain", "latest", "1"], capsys)  # a run's: a
    assert code == 0 and out.startswith("Step 1 of 3 (runs/a)"), err
    code, out, err = run(["explain", "b", "-3.0"], capsys)  # a whole float from the end
    assert code == 0 and out.startswith("Step 1 of 3 (runs/b)"), err
    assert (
        gradtrace.load("latest").info["created"]
        == gradtrace.load("runs/a").info["created"]
    )
    code, _, err = run(["show", "c"], capsys)
    assert code == 2 and "run folder 'c' does not exist" in err


def test_a_diverged_run_reruns_identically_without_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rerun of a run that diverged succeeded if it diverged again the same
    way: it said "identical" after an error line and its exit code misled."""
    code, _, _ = run(
        [
            "fit",
            "seed001_line",
            "--lr",
            "5",
            "--epochs",
            "40",
            "-q",
            "--out",
            str(tmp_path / "gd"),
        ],
        capsys,
    )
    assert code == 1 and gradtrace.load(tmp_path / "gd").diverged
    step = gradtrace.load(tmp_path / "gd").diverged_step
    code, out, err = run(
        ["rerun", str(tmp_path / "gd"), "--out", str(tmp_path / "again")], capsys
    )
    assert code == 0 and err == ""
    assert out.splitlines()[-1] == (
        f"identical to {tmp_path / 'gd'}: {step + 1} rows (both diverged at step "
        f"{step})."
    )
    assert "try --lr" in out  # what to try stays in the summary


def test_times_of_a_second_or_more_are_in_seconds() -> None:
    """train 14330.0 ms read as 14.33 s, as fit's compile and total times."""
    from gradtrace.text import duration

    assert duration(0.0033) == "3.3 ms"
    assert duration(0.9999) == "999.9 ms"
    assert duration(0.99996) == "1.00 s"
    assert duration(14.33) == "14.33 s"


def test_a_resumed_runs_summary_gives_a_long_training_in_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json as js

    from gradtrace.cli._report import print_summary

    trace = gradtrace.fit("seed004_keras", lr=0.01, steps=3)
    trace.save(tmp_path / "r")
    info = js.loads((tmp_path / "r" / "run.json").read_text())
    info["timings"].update(train_s=14.33, sessions=2)
    (tmp_path / "r" / "run.json").write_text(js.dumps(info))
    print_summary(gradtrace.load(tmp_path / "r"), tmp_path / "r")
    last = capsys.readouterr().out.splitlines()[-1]
    assert ", train 14.33 s, total " in last and "ms" not in last
    # a run whose other work outlasted compiling and training says what it was
    info["timings"].update(compile_s=1.35, train_s=3.55, total_s=9.45, sessions=1)
    (tmp_path / "r" / "run.json").write_text(js.dumps(info))
    print_summary(gradtrace.load(tmp_path / "r"), tmp_path / "r")
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith(
        "Compile 1.35 s, train 3.55 s, total 9.45 s (4.55 s of it reading the data, "
        "the exact answer and writing the trace)."
    )
    # without an exact answer (--no-exact), none is named
    info.pop("optimum")
    (tmp_path / "r" / "run.json").write_text(js.dumps(info))
    print_summary(gradtrace.load(tmp_path / "r"), tmp_path / "r")
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("(4.55 s of it reading the data and writing the trace).")


def test_export_per_epoch_writes_the_fit_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    args = ["fit", str(SEED004), "--batch-size", "3", "--epochs", "3", "--metric"]
    run([*args, "rmse", "-q", "--out", str(folder)], capsys)
    code, out, _ = run(["export", str(folder), "--per-epoch"], capsys)
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    expected = gradtrace.load(folder).history()
    assert list(table.columns) == list(expected.columns)
    assert table["epoch"].tolist() == [1, 2, 3] and table["step"].tolist() == [4, 8, 12]
    np.testing.assert_allclose(table["loss"], expected["loss"], rtol=1e-7)
    steps = gradtrace.load(folder).to_pandas().set_index("step")
    np.testing.assert_allclose(table["loss"], steps.loc[[4, 8, 12], "running_loss"])
    np.testing.assert_allclose(table["rmse_all_data"], steps.loc[[4, 8, 12], "rmse"])
    # Keras's History keys, to set beside it column for column (a PyTorch and
    # Keras user mapped rmse to root_mean_squared_error by hand)
    code, out, _ = run(["export", str(folder), "--per-epoch", "--keras-names"], capsys)
    assert code == 0
    keras = pd.read_csv(io.StringIO(out))
    assert "root_mean_squared_error" in keras.columns and "rmse" not in keras.columns
    np.testing.assert_allclose(keras["root_mean_squared_error"], expected["rmse"])
    code, _, err = run(["export", str(folder), "--keras-names"], capsys)
    assert code == 2 and "give both" in err


def test_a_line_is_drawn_over_the_x_range_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher's y = 3x + 2 on [0, 5) had to be made by hand: x was always
    drawn from [0, 1)."""
    out = tmp_path / "l.csv"
    args = ["data", "line", "--w", "3", "--b", "2", "--x-range", "0,5", "-o", str(out)]
    code, _, err = run([*args, "--n", "500"], capsys)
    assert code == 0, err
    x = pd.read_csv(out)["x"]
    assert 0 <= x.min() < 0.1 and 4.9 < x.max() < 5
    for bad, told in [("5,0", "the lower first"), ("0-5", "takes LOW,HIGH")]:
        args[7] = bad
        code, _, err = run([*args, "--force"], capsys)
        assert code == 2 and told in err and len(err.strip().splitlines()) == 1


def test_logistic_and_poisson_regression_data_take_several_slopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PyTorch user's --w 1.5,-1 for logistic data was 'not a valid float', and
    Poisson counts came with no x: several slopes give columns x0, x1, ...; the
    counts' mean follows exp(x @ w + b) (checked by statsmodels-free moments:
    a Poisson GLM's score equations at the truth average 0 within noise), and
    the fit's truth column is the slopes given."""
    from scipy import optimize

    path = tmp_path / "claims.csv"
    code, out, err = run(
        [
            "data",
            "poisson-regression",
            "--n",
            "4000",
            "--w",
            "0.7,-0.4",
            "--b",
            "0.5",
            "-o",
            str(path),
        ],
        capsys,
    )
    assert code == 0, err
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["x0", "x1", "y"]
    x = frame[["x0", "x1"]].to_numpy()
    y = frame["y"].to_numpy()
    design = np.column_stack([x, np.ones(len(y))])

    def nll(beta: np.ndarray) -> float:
        eta = design @ beta
        return float(np.sum(np.exp(eta) - y * eta))

    beta = optimize.minimize(nll, np.zeros(3), method="BFGS").x
    np.testing.assert_allclose(beta, [0.7, -0.4, 0.5], atol=0.05)
    code, out, err = run(
        [
            "fit",
            str(path),
            "--model",
            "poisson-regression",
            "--x",
            "x0",
            "--x",
            "x1",
            "--steps",
            "3",
            "--out",
            str(tmp_path / "p"),
        ],
        capsys,
    )
    assert code == 0, err
    assert gradtrace.load(tmp_path / "p").info["truth"] == {"w": [0.7, -0.4], "b": 0.5}
    clicks = tmp_path / "clicks.csv"
    code, out, err = run(
        ["data", "logistic", "--n", "4000", "--w", "1.5,-1", "-o", str(clicks)], capsys
    )
    assert code == 0, err
    frame = pd.read_csv(clicks)
    assert list(frame.columns) == ["x0", "x1", "y"] and set(frame["y"]) == {0, 1}
    # one slope still gives the column x
    one = tmp_path / "one.csv"
    code, out, err = run(["data", "logistic", "--w", "2", "-o", str(one)], capsys)
    assert code == 0 and list(pd.read_csv(one).columns) == ["x", "y"]
    code, _, err = run(["data", "logistic", "--w", "1.5;-1", "-o", str(one)], capsys)
    assert code == 2 and "--w takes comma-separated numbers" in err


def test_a_full_disk_ends_a_run_in_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A disk that filled up while the trace was written ended in a 60-line
    traceback and exit code 1 (the code of a run that diverged)."""
    import errno

    import pyarrow.parquet as pq

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "trace.parquet")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    monkeypatch.setattr(pq, "write_table", full)
    code, _, err = run(
        ["fit", "seed001_line", "--steps", "5", "--out", str(tmp_path / "r"), "-q"],
        capsys,
    )
    assert code == 2
    assert err == (
        "error: No space left on device writing 'trace.parquet': free some space "
        "and run the command again, or write elsewhere (--out, -o); a run's last "
        "checkpoint, if it saved one, is kept (gradtrace resume RUN goes on from "
        "it).\n"
    )
    assert not (tmp_path / "r").exists()
    # Arrow's own error has its number in its text alone; a read-only folder is
    # not a full one (it was told to free some space)
    for raised, said in (
        (OSError("Error writing bytes to file. Detail: [errno 28]"), "free some"),
        (OSError(errno.EROFS, "Read-only file system", "r"), "cannot be written"),
    ):

        def failing(*args: object, raised: OSError = raised, **kwargs: object) -> None:
            raise raised

        monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
        monkeypatch.setattr(pq, "write_table", failing)
        code, _, err = run(
            ["fit", "seed001_line", "--steps", "5", "--out", str(tmp_path / "r")],
            capsys,
        )
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert said in err
