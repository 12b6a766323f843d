"""What the commands that write files do with the outputs they are given: a missing
-o, a folder that is a file, an existing file, the format a name asks for."""

from __future__ import annotations

import io
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace import store
from gradtrace.cli import main
from gradtrace.store import to_json
from helpers import run_cli as run
from helpers import start_program

SEED004 = Path(__file__).parents[1] / "src/gradtrace/datasets/seed004_keras.csv"


@pytest.fixture(scope="module")
def a_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished run: a line fitted by 20 steps."""
    folder = tmp_path_factory.mktemp("runs") / "r"
    with pytest.raises(SystemExit) as done:
        main(["fit", "seed001_line", "--steps", "20", "-q", "--out", str(folder)])
    assert done.value.code in (0, None)
    return folder


def one_error(err: str) -> str:
    """The single line of a refusal, checked to be one line with no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def test_animate_without_out_writes_fit_gif_in_the_run_folder(
    a_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``report`` writes RUN/report.html: ``animate RUN`` writes RUN/fit.gif,
    anew each time (a newcomer's ``gradtrace animate runs/nb`` was refused)."""
    from PIL import Image

    for _ in range(2):
        code, out, err = run(["animate", str(a_run), "--every", "10"], capsys)
        assert code == 0, err
        assert out.strip() == f"wrote {a_run / 'fit.gif'}"
    with Image.open(a_run / "fit.gif") as gif:
        assert gif.n_frames > 1


@pytest.mark.parametrize(
    "command",
    [
        ["report", "-o", "{f}/x.html"],
        ["export", "-o", "{f}/x.csv"],
        ["animate", "-o", "{f}/x.gif"],
        ["plot", "-o", "{f}/pictures"],
        ["plot", "-o", "{f}/a/b"],
    ],
)
def test_an_output_in_a_folder_that_is_a_file_is_refused_naming_the_file(
    command: list[str],
    a_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = tmp_path / "f.csv"
    f.write_text("mine\n")
    name, *args = command
    code, _, err = run([name, str(a_run), *(a.format(f=f) for a in args)], capsys)
    assert code == 2 and f"{str(f)!r} is a file, not a folder" in one_error(err)
    assert f.read_text() == "mine\n" and list(tmp_path.iterdir()) == [f]


def test_a_run_folder_under_a_file_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "f.csv"
    f.write_text("mine\n")
    code, _, err = run(
        ["fit", "seed001_line", "--steps", "3", "-q", "--out", str(f / "run")], capsys
    )
    assert code == 2 and f"{str(f)!r} is a file, not a folder" in one_error(err)


def test_an_output_in_a_missing_folder_is_refused(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nowhere" / "x.html"
    code, _, err = run(["report", str(a_run), "-o", str(out)], capsys)
    assert code == 2
    assert f"folder {str(out.parent)!r} does not exist" in one_error(err)


EXISTS = "already exists: choose another {flag}, or pass --force to replace it."


@pytest.mark.parametrize(
    ("command", "name"),
    [(["report"], "notes.html"), (["animate"], "mine.gif"), (["export"], "t.csv")],
)
def test_an_existing_file_named_by_o_is_replaced_with_force_only(
    command: list[str],
    name: str,
    a_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mine = tmp_path / name
    mine.write_text("mine\n")
    args = [*command, str(a_run), "-o", str(mine)]
    code, _, err = run(args, capsys)
    assert code == 2 and mine.read_text() == "mine\n"
    assert f"{str(mine)!r} " + EXISTS.format(flag="-o") in one_error(err)
    code, _, err = run([*args, "--force"], capsys)
    assert code == 0, err
    assert mine.read_bytes() != b"mine\n"


def test_plot_into_a_folder_keeps_its_pictures_without_force(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "loss.png").write_text("mine\n")
    code, out, err = run(["plot", str(a_run), "-o", str(mine)], capsys)
    assert code == 2 and out == "" and (mine / "loss.png").read_text() == "mine\n"
    assert f"{str(mine / 'loss.png')!r} " + EXISTS.format(flag="--out") in one_error(
        err
    )
    assert [p.name for p in mine.iterdir()] == ["loss.png"]  # nothing drawn
    code, out, err = run(["plot", str(a_run), "-o", str(mine), "--force"], capsys)
    assert code == 0, err
    assert (mine / "loss.png").read_bytes().startswith(b"\x89PNG")


def test_plot_draws_only_the_pictures_named(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gradtrace plot RUN fit loss.png`` draws those two; a name of none, or of
    one that does not apply to the run, is refused and draws nothing."""
    mine = tmp_path / "two"
    code, out, err = run(
        ["plot", str(a_run), "fit", "loss.png", "-o", str(mine)], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in mine.iterdir()) == ["fit.png", "loss.png"]
    assert out.split() == [
        "wrote",
        str(mine / "fit.png"),
        "wrote",
        str(mine / "loss.png"),
    ]
    other = tmp_path / "none"
    code, out, err = run(["plot", str(a_run), "fit", "resid", "-o", str(other)], capsys)
    assert code == 2 and out == "" and not other.exists()
    assert "unknown picture 'resid'" in one_error(err)
    assert "Did you mean 'residuals'?" in err
    normal = tmp_path / "normal"
    fitted = ["fit", "seed002_normal", "--model", "normal", "--steps", "5", "-q"]
    assert run([*fitted, "--out", str(normal)], capsys)[0] == 0
    code, out, err = run(["plot", str(normal), "loss", "residuals"], capsys)
    assert code == 2 and out == ""
    assert "residuals.png does not apply to this run" in one_error(err)
    assert not (normal / "loss.png").exists()


def test_the_runs_own_pictures_and_report_are_drawn_anew(
    a_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["plot"], ["report"], ["plot", "-o", str(a_run)]):
        for _ in range(2):
            code, out, err = run([*args, str(a_run)], capsys)
            assert code == 0 and "wrote" in out, err
    code, _, err = run(["report", str(a_run), "-o", str(a_run / "report.html")], capsys)
    assert code == 0, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs of every shape export reads: short, diverged to infinities, and
    checkpointed (its trace written in parts)."""
    folder = tmp_path_factory.mktemp("shapes")
    shapes = {
        "short": ["seed001_line", "--steps", "300"],
        "diverged": [str(SEED004), "--lr", "10", "--epochs", "50"],
        "parts": ["seed001_line", "--steps", "300", "--checkpoint-every", "70"],
    }
    for name, args in shapes.items():
        with pytest.raises(SystemExit) as done:
            main(["fit", *args, "-q", "--out", str(folder / name)])
        assert done.value.code in (0, 1, None), name
    assert (folder / "parts" / "trace.parquet").is_dir()
    return {name: folder / name for name in shapes}


def exported_before(run_folder: Path) -> tuple[str, str]:
    """The CSV and JSON text export wrote before it wrote in blocks: the whole
    trace as one DataFrame, turned into one string."""
    trace = gradtrace.load(run_folder)
    frame = trace.to_pandas()
    text = frame.to_csv(index=False)
    rows = [
        {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in r.items()
        }
        for r in frame.astype(object).to_dict(orient="records")
    ]
    return text, to_json({"run": trace.info, "trace": rows}) + "\n"


@pytest.mark.parametrize("shape", ["short", "diverged", "parts"])
@pytest.mark.parametrize("block", [7, 64, 100_000])
def test_export_in_blocks_writes_what_it_wrote_whole(
    shape: str,
    block: int,
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "BLOCK_ROWS", block)
    csv, json_text = exported_before(runs[shape])
    code, out, _ = run(["export", str(runs[shape])], capsys)
    assert code == 0 and out == csv
    code, out, _ = run(["export", str(runs[shape]), "--json"], capsys)
    assert code == 0 and out == json_text
    for name, text in (("t.csv", csv), ("t.json", json_text), ("t", csv)):
        code, _, err = run(
            ["export", str(runs[shape]), "-o", str(tmp_path / name)], capsys
        )
        assert code == 0, err
        assert (tmp_path / name).read_text() == text
    code, _, err = run(
        ["export", str(runs[shape]), "-o", str(tmp_path / "t.tsv")], capsys
    )
    assert code == 0, err  # the same table, tab-separated
    tsv = pd.read_csv(tmp_path / "t.tsv", sep="\t")
    pd.testing.assert_frame_equal(tsv, pd.read_csv(io.StringIO(csv)))
    if shape == "diverged":
        assert '"Infinity"' in json_text or '"-Infinity"' in json_text


def test_export_writes_parquet_for_a_parquet_name(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for shape in ("diverged", "parts"):
        out = tmp_path / f"{shape}.parquet"
        code, _, err = run(["export", str(runs[shape]), "-o", str(out)], capsys)
        assert code == 0, err
        assert pq.ParquetFile(out).metadata.num_rows > 1  # a Parquet file
        expected = gradtrace.load(runs[shape]).to_pandas()
        pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


@pytest.mark.parametrize("name", ["t.xlsx", "x.txt", "t.tab"])
def test_export_refuses_a_name_of_a_format_it_does_not_write(
    name: str, runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / name
    code, _, err = run(["export", str(runs["short"]), "-o", str(out)], capsys)
    line = one_error(err)
    assert code == 2 and ".csv, .tsv, .json or .parquet" in line and not out.exists()
    code, _, err = run(["export", str(runs["short"]), "--csv", "-o", str(out)], capsys)
    assert code == 0 and out.read_text().startswith("step,")  # as --csv asks


def test_export_refuses_a_parquet_name_with_csv_or_json(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.parquet"
    for flag in ("--csv", "--json"):
        code, _, err = run(["export", str(runs["short"]), flag, "-o", str(out)], capsys)
        assert code == 2 and "names a PARQUET file but" in one_error(err)
    assert not out.exists()


def test_export_takes_a_flag_for_each_format(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--parquet and --tsv beside --csv and --json (a researcher's --parquet
    was "no such option")."""
    run_folder = str(runs["short"])
    expected = gradtrace.load(runs["short"]).to_pandas()
    out = tmp_path / "t.parquet"
    code, _, err = run(["export", run_folder, "--parquet", "-o", str(out)], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    code, said, err = run(["export", run_folder, "--tsv"], capsys)
    assert code == 0 and said.startswith("step\tepoch\t"), err
    code, _, err = run(["export", run_folder, "--parquet"], capsys)
    assert code == 2 and "--parquet writes a file, not text: give -o" in one_error(err)
    code, _, err = run(
        ["export", run_folder, "--parquet", "-o", str(tmp_path / "t.csv")], capsys
    )
    assert code == 2 and "names a CSV file but --parquet writes" in one_error(err)
    code, _, err = run(["export", run_folder, "--tsv", "--json", "--csv"], capsys)
    assert code == 2 and "give one of --csv, --tsv, --json, not several" in err


@pytest.mark.parametrize("group", [[], ["data"]])
def test_a_group_without_a_command_prints_its_help(
    group: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(group, capsys)
    _, helped, _ = run([*group, "--help"], capsys)
    assert code == 0 and err == "" and out == helped
    assert out.startswith("Usage: gradtrace") and len(out.splitlines()) > 10


@pytest.mark.parametrize(
    "command",
    [["demo", "keras-batches"], ["export", "{run}"], ["export", "{run}", "--json"]],
)
def test_a_reader_that_stops_reading_stops_no_command_with_an_error(
    command: list[str], a_run: Path, tmp_path: Path
) -> None:
    """`gradtrace demo ... | head`: click.echo writes each line through to the pipe
    (export a block at a time), so the closed pipe is met while the command runs:
    exit 0 and no word, as fit, show and explain end."""
    args = [a.format(run=a_run) for a in command]
    proc = start_program(args, tmp_path, GRADTRACE_CACHE_DIR="off")
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == "", err


class _ClosedAfter:
    """Standard output whose reader goes away after the first ``n`` writes."""

    def __init__(self, n: int) -> None:
        self.writes, self.n = 0, n

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes > self.n:
            raise BrokenPipeError(32, "Broken pipe")
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("as_json", [False, True])
def test_export_to_a_closed_pipe_stops_at_its_first_block(
    as_json: bool,
    runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "BLOCK_ROWS", 10)
    read: list[int] = []
    batches = store.trace_batches

    def counted(*args: object, **kwargs: object) -> Iterator[object]:
        for batch in batches(*args, **kwargs):  # type: ignore[arg-type]
            read.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(store, "trace_batches", counted)
    stdout = _ClosedAfter(2)
    monkeypatch.setattr(sys, "stdout", stdout)
    with pytest.raises(SystemExit) as done:
        main(["export", str(runs["short"]), *(["--json"] if as_json else [])])
    assert done.value.code in (0, None)
    assert stdout.writes == 3 and len(read) <= 3  # of 31 blocks


@pytest.fixture(scope="module")
def listed(
    runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """``runs``' folder with a sweep of 20 configurations added, 3 of them
    diverged."""
    sweep = next(iter(runs.values())).parent / "sweep"
    with pytest.raises(SystemExit) as done:
        main(
            ["sweep", "seed001_line", "--lr", "0.001:5:log10", "--init", "w=0,5"]
            + ["--steps", "30", "--no-plot", "--out", str(sweep)]
        )
    assert done.value.code in (0, None)
    return {**runs, "sweep": sweep}


def test_ls_csv_and_its_table_read_back_as_the_same_columns(
    listed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = listed["sweep"].parent
    code, out, err = run(["ls", str(folder), "--csv"], capsys)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index("folder")
    assert list(table.columns) == [
        "kind", "created", "model", "loss", "optimizer", "lr", "steps", "status",
        "final_loss", "gap",
    ]  # fmt: skip
    assert sorted(table.index) == sorted(listed)
    for name in runs_of(listed):
        info = json.loads((listed[name] / "run.json").read_text())
        final = info["final_loss"]
        assert table.loc[name, "kind"] == "run"
        assert table.loc[name, "final_loss"] == pytest.approx(float(final), rel=1e-12)
        # how far from converged, at a glance (a statistician asked for it)
        gap = float(final) - info["optimum_loss"]
        if math.isfinite(gap):  # 0 within float32's rounding, as the summary says
            noise = 10 * np.finfo(np.float32).eps * abs(info["optimum_loss"])
            expected = gap if abs(gap) > noise else 0.0
            assert table.loc[name, "gap"] == pytest.approx(expected, rel=1e-9)
        else:  # a run that diverged has none
            assert math.isnan(table.loc[name, "gap"])
    sweep = pd.read_parquet(listed["sweep"] / "sweep.parquet")
    row = table.loc["sweep"]
    assert row["kind"] == "sweep" and row["lr"] == "0.001..5" and row["steps"] == 30
    assert row["status"] == "3_of_20_diverged"
    assert row["final_loss"] == sweep.loc[~sweep["diverged"], "loss"].min()
    code, out, err = run(["ls", str(folder)], capsys)
    assert code == 0, err
    plain = pd.read_csv(io.StringIO(out), sep=r"\s+").set_index("folder")
    assert list(plain.columns) == list(table.columns)
    assert list(plain.index) == list(table.index)  # oldest first, both
    assert plain.loc["sweep", "status"] == "3_of_20_diverged"


def test_ls_tells_a_run_whose_loss_rose_from_one_that_converged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher's lr 0.8 run (loss 6.54 -> 3.76e6, finite) read "completed" in
    ls, as the good runs beside it did."""
    for name, lr in (("rose", "0.8"), ("fine", "0.1")):
        code, _, err = run(
            [
                "fit",
                "seed001_line",
                "--lr",
                lr,
                "--steps",
                "20",
                "-q",
                "--out",
                str(tmp_path / name),
            ],
            capsys,
        )
        assert code == (1 if name == "rose" else 0), err  # a loss that rose failed
    info = json.loads((tmp_path / "rose" / "run.json").read_text())
    assert info["status"] == "completed" and info["final_loss"] > info["initial_loss"]
    code, out, err = run(["ls", str(tmp_path), "--csv"], capsys)
    table = pd.read_csv(io.StringIO(out)).set_index("folder")
    assert table["status"].to_dict() == {"rose": "loss_rose", "fine": "completed"}
    # a run saved before run.json kept its first loss: as it was
    del info["initial_loss"]
    (tmp_path / "rose" / "run.json").write_text(to_json(info))
    code, out, err = run(["ls", str(tmp_path), "--csv"], capsys)
    table = pd.read_csv(io.StringIO(out)).set_index("folder")
    assert table.loc["rose", "status"] == "completed"


def test_ls_gives_a_run_stopped_between_evaluations_its_last_loss_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run interrupted between its --eval-every evaluations has no loss after
    its last step: ls read "-", where show gives the loss last taken."""
    from helpers import ctrl_c_after

    trace = gradtrace.fit(
        "seed001_line",
        lr=0.05,
        batch_size=10,
        epochs=400,
        eval_every=7,
        checkpoint_every=500,
        out=tmp_path / "cut",
        progress=ctrl_c_after(2),
    )
    assert trace.status == "interrupted" and trace.steps == 500
    assert trace.last_taken() is not None and trace.last_taken()[0] == 497
    code, out, err = run(["ls", str(tmp_path)], capsys)
    assert code == 0, err
    loss = f"{trace.last_taken()[1]:.7g}"
    assert f"{loss}*" in out and "cut at step 497" in out
    # CSV keeps what run.json holds: no loss after the last step
    code, out, err = run(["ls", str(tmp_path), "--csv"], capsys)
    table = pd.read_csv(io.StringIO(out)).set_index("folder")
    assert math.isnan(table.loc["cut", "final_loss"])
    # a completed run has its loss after the last step, unmarked
    done = gradtrace.fit("seed001_line", lr=0.05, steps=30, out=tmp_path / "done")
    assert done.last_taken() is None
    code, out, err = run(["ls", str(tmp_path)], capsys)
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "*" not in rows["done"] and rows["cut"].count("*") == 2
    # early stopping that restored weights took their loss: not the last taken
    stopped = gradtrace.fit(
        "seed001_line",
        lr=0.05,
        batch_size=7,
        epochs=40,
        eval_every=7,
        validation_split=0.2,
        early_stopping="patience=1,restore_best_weights=true",
        out=tmp_path / "stopped",
    )
    assert stopped.restored is not None and stopped.last_taken() is None
    assert "last_loss" not in json.loads((tmp_path / "stopped/run.json").read_text())
    code, out, err = run(["ls", str(tmp_path)], capsys)
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "*" not in rows["stopped"] and f"{stopped.final_loss:.7g}" in rows["stopped"]


def runs_of(listed: dict[str, Path]) -> list[str]:
    return [name for name in listed if name != "sweep"]


def test_show_of_a_sweep_gives_its_lowest_final_losses_where_full_batches_settle(
    listed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = listed["sweep"]
    code, out, err = run(["show", str(folder)], capsys)
    assert code == 0, err
    sweep = pd.read_parquet(folder / "sweep.parquet")
    assert "20 configurations (lr, init_w swept), 3 diverged" in out
    ok = sweep[~sweep["diverged"]]
    # ranked as the best is: those that came within tol by their steps to it,
    # then the rest by loss (where a full batch settles)
    best = ok.assign(
        _missed=ok["steps_to_tol"].isna(),
        _steps=ok["steps_to_tol"].astype(float).fillna(np.inf),
    ).sort_values(["_missed", "_steps", "loss"], kind="stable")
    reached = ok["steps_to_tol"].notna().any()
    by = "steps to within 0.0001, then final loss" if reached else "final loss"
    assert f"the best 10 by {by}, of the 17 that did not diverge:" in out
    lines = out.split("did not diverge:\n")[1].splitlines()
    assert lines[0].split() == ["config", "lr", "init_w", "loss", "gap", "steps_to_tol"]
    shown = [int(line.split()[0]) for line in lines[1:11]]
    assert shown == list(best["config"][:10])
    assert "best: lr=" in out
    assert "sweep.parquet" in out


def test_a_sweep_of_mini_batches_shows_and_lists_the_loss_it_is_ranked_by(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user read a best whose tail_loss was above the second's: a full batch is
    ranked by its last loss, not its tail_loss. show's table now gives the loss
    each is ranked by (settled) and says what it is, and ls gives the best's
    final loss, not the lowest final loss of all."""
    from gradtrace.store import load_sweep
    from gradtrace.sweeps import Sweep

    data = tmp_path / "line.csv"
    code, _, err = run(["data", "line", "--n", "100", "-o", str(data)], capsys)
    assert code == 0, err
    folder = tmp_path / "runs" / "sw"
    code, _, err = run(
        [
            "sweep",
            str(data),
            "--lr",
            "0.02,0.14,0.52",
            "--batch-size",
            "10,100",
            "--epochs",
            "20",
            "--no-plot",
            "--out",
            str(folder),
        ],
        capsys,
    )
    assert code == 0, err
    table, info = load_sweep(folder)
    ranked = Sweep(table, pd.DataFrame(), info).ranked()
    code, out, err = run(["show", str(folder)], capsys)
    assert code == 0, err
    lines = out.split("did not diverge, by where they settled:\n")[1].splitlines()
    assert lines[0].split() == [
        "config",
        "batch_size",
        "lr",
        "loss",
        "settled",
        "gap",
        "steps_to_tol",
    ]
    shown = [line.split() for line in lines[1 : 1 + len(ranked)]]
    assert [int(r[0]) for r in shown] == list(ranked["config"])
    assert [float(r[4]) for r in shown] == pytest.approx(
        list(ranked["settled"]), rel=1e-6
    )
    full = ranked[ranked["batch_size"] == 100]
    assert (full["settled"] == full["loss"]).all()  # a full batch: its last loss
    assert lines[1 + len(ranked)].startswith("settled: a mini-batch run's mean loss")
    code, out, err = run(["ls", str(tmp_path / "runs")], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("sw "))
    assert row.split()[-2] == f"{ranked['loss'].iloc[0]:.7g}"


def test_show_of_a_sweep_with_validation_data_has_their_loss_in_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its best line quoted the lowest val_loss, its table had none."""
    folder = tmp_path / "s"
    code, _, err = run(
        [
            "sweep",
            "seed001_line",
            "--lr",
            "0.01,0.1",
            "--steps",
            "20",
            "--validation-split",
            "0.2",
            "--no-plot",
            "--out",
            str(folder),
        ],
        capsys,
    )
    assert code == 0, err
    code, out, err = run(["show", str(folder)], capsys)
    assert code == 0, err
    header = out.split("did not diverge, by final loss:\n")[1].splitlines()[0]
    assert header.split()[-1] == "val_loss"
    table = pd.read_parquet(folder / "sweep.parquet").sort_values("loss")
    first = out.split("did not diverge, by final loss:\n")[1].splitlines()[1]
    assert first.split()[-1] == f"{table['val_loss'].iloc[0]:.7g}"


def test_data_into_a_folder_that_is_a_file_or_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """gradtrace data -o names the file that blocks the way, as the other
    commands do, or the missing folder."""
    blocker = tmp_path / "f.csv"
    blocker.write_text("mine\n")
    code, _, err = run(["data", "line", "-o", str(blocker / "x.csv")], capsys)
    assert code == 2 and f"{str(blocker)!r} is a file, not a folder" in err
    code, _, err = run(["data", "line", "-o", str(tmp_path / "no" / "x.csv")], capsys)
    assert code == 2 and "the folder" in err and "does not exist" in err
    assert blocker.read_text() == "mine\n"


def test_a_float64_runs_gap_is_zero_only_at_float64s_rounding(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The summary calls a gap zero below ten epsilons of the loss in the run's
    own dtype: float64's 2.2e-16, not float32's 1.2e-7 (a newcomer's float64 fit
    printed "gap 0 (at float rounding)" with its parameters 3e-4 off)."""
    monkeypatch.chdir(tmp_path)
    base = ["fit", "seed001_line", "--lr", "0.5", "--dtype"]
    code, out, _ = run([*base, "float64", "--steps", "150", "--out", "a"], capsys)
    assert code == 0 and "closed form; gap 8.4" in out and "e-13" in out
    code, out, _ = run([*base, "float64", "--steps", "250", "--out", "b"], capsys)
    assert code == 0 and "gap 0 (at float rounding)" in out
    code, out, _ = run([*base, "float32", "--steps", "150", "--out", "c"], capsys)
    assert code == 0 and "gap 0 (at float rounding)" in out


def test_a_loss_whose_large_terms_cancel_rounds_by_their_size(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Poisson regression of counts near 8000: mu and y log mu (3.4e4 a row)
    cancel to a loss of 5.9, which float32 rounds by 4e-3. A statistician's run
    at its optimum printed "gap -0.000201" without a word; it is 0 at that
    rounding, with a note that says why and what resolves it, and float64's
    gap of -6e-14 is 0 too. A line's loss is as large as its terms: no note."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    pd.DataFrame({"x": x, "y": rng.poisson(np.exp(9 + 0.3 * x))}).to_csv(
        "counts.csv", index=False
    )
    base = ["fit", "counts.csv", "--model", "poisson-regression", "--optimizer"]
    base += ["adam", "--lr", "0.05", "--steps", "2000"]
    code, out, err = run([*base, "--out", "a"], capsys)
    assert code == 0 and "gap 0 (at float rounding)" in out
    assert (
        "note: the loss's terms are about 3.4e+04 a row and cancel to 5.946, so "
        "in float32 it rounds by about 0.004" in err
    )
    info = gradtrace.load("a").info
    final = gradtrace.load("a").to_pandas()["loss"].iloc[-1]
    assert final < info["optimum_loss"]  # the float32 loss below the optimum's
    code, out, err = run([*base, "--dtype", "float64", "--out", "b"], capsys)
    assert code == 0 and "gap 0 (at float rounding)" in out
    assert "rounds by about" not in err
    code, out, err = run(["fit", "seed001_line", "--out", "c"], capsys)
    terms = gradtrace.load("c").info["loss_terms"]
    assert terms < 10 * gradtrace.load("c").info["optimum_loss"]
    assert code == 0 and "rounds by about" not in err


def test_a_run_at_its_optimum_long_before_its_end_says_from_when(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run whose loss reached the optimum's (within rounding) before half its
    steps says from which step, so its user knows the rest changed nothing; a
    long run's kept steps say it within its thinning; a run that got there late
    says nothing more."""
    monkeypatch.chdir(tmp_path)
    base = ["fit", "seed001_line", "--lr", "0.5", "-q"]
    code, out, _ = run([*base, "--steps", "3000", "--out", "a"], capsys)
    frame = gradtrace.load("a").to_pandas()
    optimum = gradtrace.load("a").info["optimum_loss"]
    # ten float32 epsilons of the loss: the summary's rounding
    off = (frame["loss"] - optimum).abs() > 10 * np.finfo(np.float32).eps * optimum
    since = int(frame["step"][off].max()) + 1
    assert code == 0 and f"(at float rounding) from step {since} on, of 3000" in out
    code, out, _ = run([*base, "--steps", "120", "--out", "b"], capsys)
    assert code == 0 and "gap 0 (at float rounding)\n" in out
    # in parts of 7 steps, every 10th kept after the first 3: within its thinning
    from gradtrace import run_parts

    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    monkeypatch.setattr(run_parts, "KEEP_ROWS", 10)
    monkeypatch.setattr(run_parts, "KEEP_HEAD", 3)
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "5")
    code, out, _ = run([*base, "--steps", "300", "--out", "c"], capsys)
    kept = gradtrace.load("c").info["trace"]["kept_every"]
    assert code == 0 and f"(or up to {kept - 1} steps before) on, of 300" in out


def test_data_without_a_finite_optimum_get_no_gap(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One value repeated: a normal's likelihood grows without end as its scale
    goes to 0, so there is no optimum's loss to measure a gap from (a
    statistician's try printed "gap 0 (at float rounding)" there)."""
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"y": [2.0, 2.0, 2.0, 2.0]}).to_csv("const.csv", index=False)
    code, out, _ = run(["fit", "const.csv", "--model", "normal", "-q"], capsys)
    assert code == 0, out
    assert "no finite optimum (the loss falls without bound), so no gap" in out
    assert "gap 0" not in out and "edge of its range" in out


def test_a_model_that_fits_exactly_is_told_its_distance_not_in_standard_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """y = x exactly: the standard errors are 0 but for rounding (2e-16), and the
    distance in them (2.7e14) said nothing; the distance itself is said."""
    monkeypatch.chdir(tmp_path)
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    pd.DataFrame({"x": x, "y": x}).to_csv("exact.csv", index=False)
    code, out, _ = run(["fit", "exact.csv", "-q"], capsys)
    assert code == 0, out
    (line,) = [x for x in out.splitlines() if "has not converged" in x]
    assert "standard errors from" not in line
    assert "b ended 0.183 from its optimum" in line
    assert "the data fit the model exactly" in line


def test_noise_free_data_fitted_to_rounding_is_not_told_it_has_not_converged(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`gradtrace data line --noise 0` (refused before) makes points on the line;
    a run that ends with its intercept 1.6e-7 from 0 beside a slope of 1 (float32's
    rounding at the optimum's size) had been told that it had not converged."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["data", "line", "--noise", "0", "-o", "z.csv"], capsys)
    assert code == 0, err
    frame = pd.read_csv("z.csv")
    assert np.allclose(frame["y"], frame["x"], rtol=0, atol=1e-9)  # w 1, b 0
    code, out, err = run(["fit", "z.csv", "--lr", "0.5", "--steps", "300"], capsys)
    assert code == 0, err
    assert "has not converged" not in out
    gap = float(out.split("; gap ")[1].split()[0])
    assert 0 <= gap < 1e-12  # the loss at float32's rounding
    # 100 steps end 3e-4 from it, beyond rounding: told, as before
    code, out, err = run(["fit", "z.csv", "--lr", "0.5", "--steps", "100"], capsys)
    assert code == 0, err
    (told,) = [line for line in out.splitlines() if "has not converged" in line]
    assert "the data fit the model exactly" in told
    code, out, err = run(["data", "line", "--noise", "-1", "-o", "m.csv"], capsys)
    assert code == 2 and err == (
        "error: --noise is a standard deviation, got -1.0: give 0 (the points on "
        "the curve) or more.\n"
    )
    assert not Path("m.csv").exists()


def test_a_normal_with_a_fixed_loc_names_its_closed_form(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With loc fixed the scale's optimum is the root mean square about it, not
    the population standard deviation; with scale fixed, loc's is the mean."""
    monkeypatch.chdir(tmp_path)
    y = np.random.default_rng(1).normal(3, 2, 300)
    pd.DataFrame({"y": y}).to_csv("normal.csv", index=False)
    base = ["fit", "normal.csv", "--model", "normal", "-q", "--fix"]
    code, out, _ = run([*base, "loc=3", "--out", "a"], capsys)
    assert code == 0 and "by root mean square about the fixed loc" in out
    info = json.loads(Path("a/run.json").read_text())
    assert info["optimum"]["scale"] == pytest.approx(
        math.sqrt(np.mean((y - 3.0) ** 2)), rel=1e-9
    )
    code, out, _ = run([*base, "scale=2", "--out", "b"], capsys)
    assert code == 0 and "optimum's loss" in out and "by mean, closed form" in out


def test_a_narrow_terminal_gets_every_digit_of_the_tables() -> None:
    """An 80-column terminal cut the step table's numbers to '0.15811…'; a table
    wider than the terminal is printed at its own width instead (the terminal
    wraps its lines), every digit kept."""
    from rich.console import Console

    from gradtrace.cli._report import print_whole, steps_table
    from gradtrace.text import fmt

    x = np.linspace(0, 1, 30)
    trace = gradtrace.fit(
        {"x": x, "y": 2 * x + 1}, lr=0.1, steps=5, exact=False, metrics=["rmse"]
    )
    out = io.StringIO()
    console = Console(file=out, width=50, highlight=False, soft_wrap=True)
    print_whole(console, steps_table(trace, None))
    text = out.getvalue()
    assert "…" not in text
    frame = trace.to_pandas()
    for column in ("w", "b", "loss", "running_rmse"):
        for value in frame[column].iloc[1:]:
            assert fmt(float(value)) in text, (column, value)


def test_an_expression_is_named_by_itself_in_titles(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A newcomer's titles read "expr by mse" (and "expr by expr"): a model or
    loss given as an expression is named by it, a long one cut."""
    from gradtrace.text import model_by_loss

    monkeypatch.chdir(tmp_path)
    t = np.linspace(0, 5, 40)
    pd.DataFrame({"t": t, "y": 3 * np.exp(-0.7 * t) + 0.5}).to_csv("d.csv")
    args = ["fit", "d.csv", "--x", "t", "--model-expr", "a*exp(-b*t) + c", "-q"]
    code, out, err = run(
        [*args, "--loss-expr", "abs(y - pred)", "--epochs", "3"], capsys
    )
    assert code == 0, err
    assert "  a*exp(-b*t) + c by abs(y - pred) (mean) on d.csv" in out
    trace = gradtrace.load("latest")
    title = trace.plot("fit").axes[0].get_title().replace("\n", " ")
    assert title.startswith("a*exp(-b*t) + c by abs(y - pred), sgd, lr=0.01, full")
    long = {"model": "expr", "loss": "mse", "config": {"model_expr": "a*x + " * 9}}
    said = model_by_loss(long)
    assert said.endswith("… by mse") and len(said) == 40 + len(" by mse")
    assert model_by_loss({"model": "line", "loss": "mse"}) == "line by mse"


def test_columns_a_regression_passes_over_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A text column beside x and y was dropped unseen by line (a distribution
    said so of the columns it did not use); with --x chosen, nothing is said."""
    data = tmp_path / "named.csv"
    rows = ["x,name,y"] + [f"{i / 10},n{i},{2 * i / 10 + 1}" for i in range(30)]
    data.write_text("\n".join(rows) + "\n")
    code, _, err = run(["fit", str(data), "--epochs", "2", "-q"], capsys)
    assert code == 0, err
    assert "note: column 'name' is not used: x is 'x' (--x NAME chooses the x" in err
    code, _, err = run(["fit", str(data), "--x", "x", "--epochs", "2"], capsys)
    assert code == 0 and "is not used" not in err, err


def test_each_steps_batch_rows_export_as_a_tidy_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher could see a batch's rows one step at a time only (explain,
    trace.rows(N)): batch_rows() and export --batch-rows give every step's,
    one line per step and row, positions in the data as given."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 5, 50)
    y = 3 * x + 2 + rng.normal(0, 1, 50)
    y[4] = np.nan  # dropped: the rows after it keep their places in the data
    data = tmp_path / "d.csv"
    pd.DataFrame({"x": x, "y": y}).to_csv(data, index=False)
    out = tmp_path / "run"
    args = ["fit", str(data), "--batch-size", "8", "--epochs", "3", "--drop-missing"]
    code, _, err = run([*args, "-q", "--out", str(out)], capsys)
    assert code == 0, err
    trace = gradtrace.load(out)
    table = trace.batch_rows()
    assert list(table.columns) == ["step", "epoch", "batch", "row"]
    for step in (1, 7, trace.steps):
        shown = table[table["step"] == step]["row"].to_numpy()
        np.testing.assert_array_equal(shown, trace.rows(step))
    # an epoch visits every kept row once, never the dropped one
    for _, epoch in table.groupby("epoch"):
        assert sorted(epoch["row"]) == [i for i in range(50) if i != 4]
    assert table["batch"].max() == 7 and table["epoch"].max() == 3
    assert trace.batch_rows([-1])["step"].unique().tolist() == [trace.steps]
    csv = tmp_path / "rows.csv"
    code, _, err = run(["export", str(out), "--batch-rows", "-o", str(csv)], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)
    code, _, err = run(["export", str(out), "--batch-rows", "--per-epoch"], capsys)
    assert code == 2 and "give --per-epoch or --batch-rows, not both" in err
    whole = gradtrace.fit(pd.DataFrame({"x": x[:10], "y": x[:10]}), steps=2)
    assert whole.batch_rows()["row"].tolist() == list(range(10)) * 2


def test_frameworks_md_gives_a_loader_the_runs_order_batch_for_batch() -> None:
    """docs/frameworks.md's recipe for a shuffled loop of one's own: each
    epoch's rows from batch_rows(), cut into batches of the run's size in that
    order (as a DataLoader cuts its sampler's), are the run's batches; a
    torch.* run that shuffles says so in a note, one that does not is silent."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 5, 45)
    data = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 1, 45)})
    trace = gradtrace.fit(data, optimizer="torch.sgd", batch_size=8, epochs=3)
    text = (Path(__file__).resolve().parents[1] / "docs" / "frameworks.md").read_text()
    code = text.split("give it gradtrace's order", 1)[1].split("```python\n", 1)[1]
    recipe = code.split("\n\n", 2)[1]  # the lines between the import and the class
    scope: dict[str, Any] = {"trace": trace}
    exec(recipe, scope)  # noqa: S102
    step = 0
    for rows in scope["epochs"]:
        for start in range(0, len(rows), 8):
            step += 1
            assert rows[start : start + 8] == list(trace.rows(step)), step
    assert step == trace.steps
    assert any("not PyTorch's DataLoader's" in n for n in trace.info["notices"])
    quiet = gradtrace.fit(
        data, optimizer="torch.sgd", batch_size=8, epochs=1, shuffle=False
    )
    assert not any("shuffled" in n for n in quiet.info["notices"])


def test_a_poisson_run_says_how_much_more_its_loss_is_than_the_frameworks() -> None:
    """A PyTorch user found the Poisson loss 2.615 above PoissonNLLLoss's with
    nothing said: the run notes the mean of log y! (scipy's gammaln), the amount
    the frameworks' Poisson losses leave out, where the run names a framework's
    optimizer (its user compares the numbers); with reduction sum, its sum."""
    from scipy.special import gammaln

    rng = np.random.default_rng(3)
    y = rng.poisson(4.0, 300).astype(float)
    run = gradtrace.fit({"y": y}, "poisson", steps=3, optimizer="torch.sgd", lr=0.1)
    mean = float(np.mean(gammaln(y + 1)))
    assert any(
        f"log y! included (its mean over the rows: {mean:.7g}); Keras's poisson "
        "loss and PyTorch's PoissonNLLLoss leave it out" in n
        for n in run.info["notices"]
    ), run.info["notices"]
    summed = gradtrace.fit(
        {"y": y}, "poisson", steps=3, reduction="sum", lr=1e-4, optimizer="keras.sgd"
    )
    total = float(np.sum(gammaln(y + 1)))
    assert any(
        f"its sum over the rows: {total:.7g}" in n for n in summed.info["notices"]
    )
    normal = gradtrace.fit({"y": y}, "normal", steps=3, optimizer="torch.sgd", lr=0.1)
    assert not any("log y!" in n for n in normal.info["notices"])
    plain = gradtrace.fit({"y": y}, "poisson", steps=3)  # optax's sgd: no framework
    assert not any("log y!" in n for n in plain.info["notices"])


def test_the_summary_sets_the_loss_keras_printed_beside_the_loss_over_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Keras user's question, why the printed loss is not the loss after
    training: the summary gives both, the logged one being the last epoch's
    batch losses (before each update) averaged over its rows, as numpy takes
    them from the trace (100 rows in batches of 16: the last of 4 rows)."""
    out = tmp_path / "run"
    args = ["fit", "seed001_line", "--batch-size", "16", "--epochs", "5", "--lr", "0.1"]
    code, said, err = run([*args, "--out", str(out)], capsys)
    assert code == 0, err
    frame = gradtrace.load(out).to_pandas()
    last = frame[frame["epoch"] == 5]
    sizes = np.array([16] * 6 + [4], float)
    logged = float(np.sum(last["batch_loss"].to_numpy(float) * sizes) / 100)
    assert f"  Keras logs {logged:.7g} for the last epoch: its batches' losses" in said
    assert f"-> {frame['loss'].iloc[-1]:.7g}; optimum's loss" in said
    # a PyTorch preset's user is told it as their own loop sums it
    code, torch_said, err = run(
        [*args, "--optimizer", "torch.sgd", "--out", str(tmp_path / "torch")], capsys
    )
    assert code == 0, err
    assert (
        "  A PyTorch loop's epoch mean, sum(loss.item() x len(xb)) / rows (what "
        "Keras logs), is "
    ) in torch_said
    assert "  Keras logs" not in torch_said
    # a run that ends inside an epoch: its batches so far
    code, said, err = run(
        [
            "fit",
            "seed001_line",
            "--batch-size",
            "16",
            "--steps",
            "10",
            "--out",
            str(tmp_path / "part"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "for the epoch so far (the run ended inside it): its batches'" in said


def test_the_steps_tables_gap_is_0_within_rounding() -> None:
    """A float32 loss at the optimum lands a few ulps below the float64 optimum's
    loss: the table's gap read -1.3e-07 for most of a converged run."""
    from rich.console import Console

    from gradtrace.cli._report import print_whole, steps_table

    trace = gradtrace.fit("seed003_linear", lr=0.1, steps=300)
    frame = trace.to_pandas()
    assert (frame["gap"] < 0).any()  # as the trace keeps it
    out = io.StringIO()
    print_whole(Console(file=out, width=200), steps_table(trace, 10))
    lines = out.getvalue().splitlines()
    assert lines[0].split()[-1] == "gap"
    gaps = [float(line.split()[-1]) for line in lines[1:] if line.strip()]
    assert len(gaps) == 31 and min(gaps) == 0 and all(g >= 0 for g in gaps)
    assert gaps[0] == pytest.approx(float(frame["gap"].iloc[0]), rel=1e-6)


def test_dpi_scales_every_picture_and_animation_frame_alike(
    a_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dpi 55, half the default 110: each picture half as wide and tall in
    pixels, its layout the same (the figure's fractions); outside 50-400 refused."""
    from PIL import Image

    def size(path: Path) -> tuple[int, int]:
        with Image.open(path) as image:
            return image.size

    other = tmp_path / "other"
    fit = ["fit", "seed001_line", "--steps", "5", "--lr", "0.01", "-q"]
    assert run([*fit, "--out", str(other)], capsys)[0] == 0
    for dpi, folder in ((None, tmp_path / "default"), ("55", tmp_path / "half")):
        more = [] if dpi is None else ["--dpi", dpi]
        for args in (
            ["plot", str(a_run), "-o", str(folder)],
            ["compare", str(a_run), str(other), "-o", f"{folder}/compare.png"],
            ["animate", str(a_run), "-o", f"{folder}/a.gif", "--every", "10"],
        ):
            code, _, err = run([*args, *more], capsys)
            assert code == 0, err
    pictures = sorted(p.name for p in (tmp_path / "default").glob("*.png"))
    assert {"fit.png", "compare.png"} <= set(pictures)
    for name in [*pictures, "a.gif"]:
        (w, h), (w2, h2) = (
            size(tmp_path / "default" / name),
            size(tmp_path / "half" / name),
        )
        assert abs(w2 - w / 2) <= 1 and abs(h2 - h / 2) <= 1, (name, w, h, w2, h2)
    assert size(tmp_path / "default" / "fit.png") == (825, 495)
    from gradtrace import plot
    from gradtrace.cli import cli

    # the command line's default (kept there: the CLI imports no matplotlib to
    # start) is the pictures' own
    with click.Context(cli) as ctx:
        for name in ("plot", "compare", "animate", "fit", "sweep", "lr-find"):
            command = cli.get_command(ctx, name)
            assert command is not None
            dpi = next(p for p in command.params if p.name == "dpi")
            assert dpi.default == plot.DPI, name
    # fit --plot, sweep's and lr-find's pictures take it too (a teacher's
    # projector)
    for dpi, folder in ((None, tmp_path / "d2"), ("55", tmp_path / "h2")):
        more = [] if dpi is None else ["--dpi", dpi]
        data = ["seed001_line", "--lr", "0.01"]
        for args in (
            ["fit", *data, "--steps", "5", "-q", "--plot", "--out", f"{folder}/r"],
            ["sweep", *data, "--seed", "0,1", "--steps", "5", "--out", f"{folder}/s"],
            ["lr-find", "seed001_line", "--steps", "30", "-o", f"{folder}/lr.png"],
        ):
            code, _, err = run([*args, *more], capsys)
            assert code == 0, err
    for name in ("r/fit.png", "s/heatmap.png", "s/losses.png", "lr.png"):
        (w, h), (w2, h2) = size(tmp_path / "d2" / name), size(tmp_path / "h2" / name)
        assert abs(w2 - w / 2) <= 1 and abs(h2 - h / 2) <= 1, (name, w, h, w2, h2)
    code, _, err = run(["plot", str(a_run), "--dpi", "1000"], capsys)
    assert code == 2 and "1000 is not in the range 50<=x<=400" in one_error(err)


def test_distances_in_a_rounding_standard_error_are_left_blank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """y = 2x exactly: the standard errors are 1e-15, rounding's, and the final
    values' distances in them (+8.6e13) were printed in fit's and show's tables;
    they are left blank, as the summary's warning calls the fit exact."""
    data = tmp_path / "exact.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6\n4,8\n")
    out = tmp_path / "r"
    args = ["fit", str(data), "--steps", "20", "--dtype", "float64", "-o", str(out)]
    code, said, err = run([*args, "-q"], capsys)
    assert code == 0, err
    code, shown, _ = run(["show", str(out)], capsys)
    table = gradtrace.load(out).summary()

    def rows_of(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith(("w ", "b "))]

    # fit's table (show repeats it), then show's estimates
    for rows, last in (
        (rows_of(said), "std_error"),
        (rows_of(shown)[:2], "std_error"),
        (rows_of(shown)[2:], "final"),
    ):
        assert len(rows) == 2, rows
        # the distance's cell, last, is blank: the row ends with the one before
        for row in rows:
            name, *_, end = row.split()
            assert float(end) == pytest.approx(table.loc[name, last], rel=1e-3), row
    assert "the data fit the model exactly" in said


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_are_written_to_seven_digits_and_zero_without_a_sign(v: float) -> None:
    """explain printed a gradient of -0.0 as "-0" (a newcomer's find)."""
    from gradtrace.text import fmt

    written = fmt(v)
    assert written != "-0" and float(written) == pytest.approx(v, rel=5e-7, abs=0)
    assert fmt(-0.0) == fmt(np.float32(-0.0)) == "0"
