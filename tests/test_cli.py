"""The command line: exit codes, one-line errors, the run folder's contract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gradtrace
from helpers import run_cli as run
from helpers import start_program

SEED004 = Path(__file__).parents[1] / "src/gradtrace/datasets/seed004_keras.csv"


def test_contract_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "runs" / "k"
    code, out, err = run(
        [
            "fit",
            str(SEED004),
            "--model",
            "line",
            "--loss",
            "mse",
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
            "--init",
            "b=0",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0, err
    assert "1.092462" in out and "232.1553" in out
    table = pq.read_table(out_dir / "trace.parquet")
    assert table.column_names == [
        "step",
        "epoch",
        "batch",
        "w",
        "b",
        "grad_w",
        "grad_b",
        "batch_loss",
        "running_loss",
        "loss",
        "gap",
    ]
    frame = table.to_pandas()
    assert frame["step"].tolist() == [0, 1, 2, 3, 4]
    assert table.column("grad_w").null_count == 1  # row 0 only
    np.testing.assert_allclose(
        frame["loss"][1:], [352.3351, 306.3082, 266.7119, 232.1553], rtol=1e-6
    )
    info = json.loads((out_dir / "run.json").read_text())
    for key in (
        "model",
        "loss",
        "optimizer",
        "config",
        "initial",
        "params",
        "steps",
        "diverged",
        "diverged_step",
        "timings",
        "versions",
        "device",
    ):
        assert key in info, key
    # what the steps ran on: "cpu", or a GPU's platform and name
    # ("gpu (NVIDIA H200)")
    first = jax.devices()[0]
    said = "cpu" if first.platform == "cpu" else f"gpu ({first.device_kind})"
    assert info["device"] == said
    assert info["optimizer"] == {
        "name": "keras.rmsprop",
        "learning_rate": 0.05,
        "rho": 0.9,
        "momentum": 0.0,
        "epsilon": 1e-7,
        "centered": False,
        "weight_decay": 0.0,
    }
    assert info["initial"] == {"w": 0.5, "b": 0.0}
    assert info["params"]["w"] == pytest.approx(1.0924618, rel=1e-6)
    assert info["steps"] == 4 and info["diverged"] is False
    assert info["diverged_step"] is None
    assert set(info["timings"]) == {"compile_s", "train_s", "total_s"}
    assert info["config"]["batch_size"] == 3 and info["config"]["shuffle"] is False


def test_divergence_exits_non_zero_and_keeps_the_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        [
            "fit",
            "seed002_normal",
            "--model",
            "normal",
            "--optimizer",
            "torch.sgd",
            "--lr",
            "1e-3",
            "--steps",
            "10000",
            "--reduction",
            "sum",
            "--init",
            "loc=1",
            "--fix",
            "scale=1",
            "--dtype",
            "float64",
            "--compute-dtype",
            "float32",
            "--no-shuffle",
            "--out",
            str(tmp_path / "d"),
            "-q",
        ],
        capsys,
    )
    assert code == 1
    assert (
        "diverged at step" in err and "stable limit is 0.0002: try --lr 0.0001" in err
    )
    assert len(err.splitlines()) == 1  # what to try, said once: as the error
    ending = out.splitlines()[-1]
    assert ending.startswith("diverged at step") and "try" not in ending
    info = json.loads((tmp_path / "d" / "run.json").read_text())
    assert info["diverged"] is True and info["status"] == "diverged"
    frame = pd.read_parquet(tmp_path / "d" / "trace.parquet")
    assert len(frame) == info["diverged_step"] + 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["fit", "d.csv", "--steps", "1.5"],
            "--steps '1.5' is not a whole number: give a whole number (see gradtrace "
            "fit --help)",
        ),
        (  # an argument by its metavar, not its name inside (step_given)
            ["explain", "runs/r", "abc"],
            "STEP 'abc' is not a whole number: give a whole number (see gradtrace "
            "explain --help)",
        ),
        (
            ["fit", "d.csv", "--seed", "x"],
            "--seed 'x' is not a whole number: give a whole number, as --seed 0 (the "
            "default) (see gradtrace fit --help)",
        ),
        (
            ["data", "line", "--n", "10"],
            "gradtrace data line needs -o/--out PATH: add -o PATH (see gradtrace data "
            "line --help)",
        ),
        (
            ["data", "lnie", "-o", "x.csv"],
            "no such command 'lnie': did you mean line? (see gradtrace data --help)",
        ),
        (
            ["predict", "r", "d.csv", "--interval", "both"],
            "--interval 'both' is not one of 'confidence', 'prediction': choose one, "
            "as --interval confidence (see gradtrace predict --help)",
        ),
        (
            ["report", "r", "--out"],
            "--out needs a value: write --out PATH (see gradtrace report --help)",
        ),
        (
            ["compare"],
            "gradtrace compare needs RUNS...: write gradtrace compare [OPTIONS] "
            "RUNS... (see gradtrace compare --help)",
        ),
        (
            ["export", "r", "--csv", "extra"],
            "unexpected extra argument 'extra': write gradtrace export [OPTIONS] RUN "
            "(see gradtrace export --help)",
        ),
        (
            ["fit", "d.csv", "--shuffle", "false"],
            "unexpected extra argument 'false': --shuffle is a switch and takes no "
            "value: write --shuffle or --no-shuffle (see gradtrace fit --help)",
        ),
    ],
)
def test_what_click_refuses_is_said_in_lower_case_with_what_to_write(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """click's own "Invalid value for '--steps': '1.5' is not a whole number." said
    neither where the value goes nor what to write: each of its refusals now
    names the option and what to give."""
    code, out, err = run(args, capsys)
    assert code == 2 and not out
    assert err == f"error: {said}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "lin"], "unknown model 'lin'"),
        (["--optimizer", "keras.sophia"], "unknown optimizer"),
        (["--loss", "hinge"], "unknown loss 'hinge'"),
        (["--lr", "-1"], "learning rate must be a positive number"),
        (["--lr", "abc"], "learning rate must be a positive number"),
        (["--batch-size", "0"], "batch size must be at least 1"),
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--init", "q=1"], "no parameter 'q'"),
        (["--init", "w=1", "--fix", "w=1"], "both --init and --fix"),
        (["--opt", "rhoo=0.5", "--optimizer", "keras.rmsprop"], "no hyper-parameter"),
        (["--x", "nope"], "column 'nope' not found"),
        (["--epochs", "x"], "is not a whole number"),
        (["--model", "normal", "--x", "x"], "--x is for regression models"),
        (["--model", "normal", "--init", "scale=-1"], "scale must be positive"),
        (["--epocs", "3"], "no such option --epocs: did you mean --epochs?"),
        (["--zzz"], "no such option --zzz. (see gradtrace fit --help)"),
        # a framework's keyword: where it goes here, with the value given
        (
            ["--momentum", "0.9"],
            "no such option --momentum: an optimizer's momentum goes in --opt, as "
            "--opt momentum=0.9 (repeat --opt for more)",
        ),
        (["--beta_2=0.99"], "goes in --opt, as --opt beta_2=0.99"),
        (["--nesterov"], "goes in --opt, as --opt nesterov=VALUE"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "run"
    code, _, err = run(["fit", str(SEED004), "--out", str(out_dir), *args], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in err
    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_every_optimizers_setting_given_as_an_option_is_sent_to_opt() -> None:
    """The command line's list of the optimizers' keywords (kept apart, so that
    an error needs no optax) names every preset's, but the rate."""
    from gradtrace.cli import HYPER_PARAMETERS
    from gradtrace.core.optimizers import PRESETS

    keywords = {k for p in PRESETS.values() for k in p.defaults if k != p.lr_key}
    assert keywords <= HYPER_PARAMETERS


def test_unknown_optimizer_suggests_the_closest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, _, err = run(
        [
            "fit",
            str(SEED004),
            "--optimizer",
            "kears.rmsprop",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert "Did you mean 'keras.rmsprop'?" in err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["fit", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) == 1


def test_existing_run_folder_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "r"
    args = ["fit", str(SEED004), "--epochs", "2", "-q", "--out", str(out_dir)]
    assert run(args, capsys)[0] == 0
    code, _, err = run(args, capsys)
    assert code == 2 and "already exists" in err and "--force" in err
    assert run([*args, "--force"], capsys)[0] == 0


def test_force_replaces_only_gradtrace_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(SEED004.read_bytes())
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    (runs / "a" / "run.json").write_text("{}")
    (tmp_path / "link").symlink_to(runs / "a")
    monkeypatch.chdir(tmp_path)
    fit = ["fit", str(data), "--epochs", "2", "-q", "--force", "--out"]
    for out, says in [
        (data, "is a file or a link, not a run folder"),
        (Path("link"), "is a file or a link, not a run folder"),
        (runs, "is not a gradtrace run or sweep folder"),
        (Path("."), "holds the current folder"),
        (Path("..") / tmp_path.name, "holds the current folder"),
    ]:
        code, _, err = run([*fit, str(out)], capsys)
        assert code == 2 and says in err and len(err.splitlines()) == 1, err
    code, _, err = run([*fit[:-2], "--out", str(data)], capsys)  # no --force
    assert code == 2 and "is a file or a link, not a run folder" in err
    assert data.read_bytes() == SEED004.read_bytes()
    assert (runs / "a" / "run.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "link", "runs"]
    (tmp_path / "link").unlink()
    (tmp_path / "empty").mkdir()
    assert run([*fit[:-2], "--out", "empty"], capsys)[0] == 0  # no --force needed
    (runs / "a" / "notes.txt").write_text("mine")
    (runs / "a" / ".git").mkdir()  # hidden things are yours too
    (runs / "a" / "loss.png").write_text("drawn before")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    code, _, err = run([*fit, "repo"], capsys)  # not empty: it holds a .git
    assert code == 2 and "not a gradtrace run or sweep folder" in err
    for out in ("empty", "runs/a"):  # runs of gradtrace's, replaced
        assert run([*fit, out], capsys)[0] == 0
        assert (tmp_path / out / "run.json").is_file()
    # what gradtrace did not write stays; what it drew from the old run goes
    assert (runs / "a" / "notes.txt").read_text() == "mine"
    assert (runs / "a" / ".git").is_dir()
    assert not (runs / "a" / "loss.png").exists()
    sweep = ["sweep", str(data), "--lr", "0.01,0.1", "--epochs", "2", "--no-plot"]
    code, _, err = run([*sweep, "--force", "--out", str(runs)], capsys)
    assert code == 2 and "not a gradtrace run or sweep folder" in err


def test_fit_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fit", "--help"], capsys)
    assert code == 0
    for flag in (
        "--model",
        "--loss",
        "--x",
        "--y",
        "--optimizer",
        "--lr",
        "--opt",
        "--epochs",
        "--steps",
        "--batch-size",
        "--shuffle",
        "--seed",
        "--init",
        "--fix",
        "--reduction",
        "--dtype",
        "--compute-dtype",
        "--eval-every",
        "--out",
        "--force",
        "--print-every",
    ):
        assert flag in out, flag
    assert "rows x steps" in out  # the --eval-every rule


def test_print_every(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        [
            "fit",
            str(SEED004),
            "--epochs",
            "10",
            "--print-every",
            "5",
            "--no-shuffle",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0
    first_cols = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert first_cols[:4] == ["step", "0", "5", "10"]


@pytest.mark.parametrize("quiet", [False, True])
@pytest.mark.parametrize("every", [30.0, 0.0])
def test_a_log_gets_a_line_as_it_starts_and_now_and_then_unless_quiet(
    quiet: bool,
    every: float,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch job's log heard nothing between "training N steps..." and the
    end, however long the run; now a line every LOG_EVERY_S seconds."""
    from gradtrace.cli import _report

    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "4")  # progress after each 4 steps
    monkeypatch.setattr(_report, "LOG_EVERY_S", every)
    args = ["fit", str(SEED004), "--epochs", "10", "--out", str(tmp_path / "r")]
    code, out, err = run([*args, "-q"] if quiet else args, capsys)
    assert code == 0 and "completed 10 steps" in out
    lines = err.splitlines()
    if quiet:
        assert err == "" and out.lstrip().startswith("run ")
    elif every:  # a short run: none after the first
        assert err == "training 10 steps (Ctrl-C stops and saves)...\n"
    else:
        assert lines[0] == "training 10 steps (Ctrl-C stops and saves)..."
        assert [line.split(",")[0] for line in lines[1:]] == [
            "training: 4/10 steps (40%)",
            "training: 8/10 steps (80%)",
        ]
        assert all(
            re.search(r"so far, about \d+:\d\d:\d\d left$", x) for x in lines[1:]
        )


def test_progress_in_words() -> None:
    from gradtrace.cli._report import _so_far

    assert _so_far(40, 100, "steps", 60.2) == (
        "40/100 steps (40%), 0:01:00 so far, about 0:01:30 left"
    )


@pytest.mark.cpu_digits
@pytest.mark.parametrize(
    "name",
    ["line-mse", "gaussian-mle", "normal-mean-sgd", "linear-basics", "keras-batches"],
)
def test_demo(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["demo", name], capsys)
    assert code == 0, err
    expected = {
        # the loss a step took beside the values after it, each headed so
        "line-mse": "epoch  MSE (before the step)    w after    b after",
        "gaussian-mle": "NLL (before the step)   loc after   scale after",
        "normal-mean-sgd": "16102.989         0.60579         0.60729",
        "linear-basics": "Epoch  0: W=5.00 b=0.00, loss=",
        "keras-batches": "   1        [1,2,3]  0.6581139  0.1581139",
    }[name]
    assert expected in out


def test_the_next_steps_the_whole_demo_ends_with_run_as_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands the tour ends with work, in its order, from a folder of
    one's own (latest is the run just made)."""
    from gradtrace.cli.demo import NEXT

    monkeypatch.chdir(tmp_path)
    commands = [
        line.split("  ")[1].split()
        for line in NEXT.splitlines()
        if line.startswith("  gradtrace ")
    ]
    tail = NEXT.splitlines()[-1]
    made = tail.split(" makes ")[0].split()
    assert made[:3] == ["gradtrace", "data", "line"] and len(commands) == 4
    for args in [made, *commands]:
        if args[:2] == ["gradtrace", "fit"]:
            args = [*args, "-q"]
        code, _, err = run(args[1:], capsys)
        assert code == 0, (args, err)
    assert (tmp_path / "data.csv").exists()
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and (runs[0] / "loss.png").exists()
    assert (runs[1] / "report.html").exists()


def test_demo_list_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--list"], capsys)
    assert code == 0 and "keras-batches" in out
    # --help lists the same demos in the same words
    code, helped, _ = run(["demo", "--help"], capsys)
    assert code == 0
    for line in out.splitlines():
        assert f"  {line}\n" in helped, line
    code, _, err = run(["demo", "keras-batch"], capsys)
    assert code == 2 and "Did you mean 'keras-batches'?" in err


def test_the_program_ends_with_its_output_and_exit_code(tmp_path: Path) -> None:
    """As a program (no argv given) the command ends without Python's teardown:
    what it printed still arrives whole, through a pipe, with its exit code."""

    def program(*args: str) -> subprocess.CompletedProcess[str]:
        proc = start_program(list(args), tmp_path, GRADTRACE_CACHE_DIR="off")
        out, err = proc.communicate(timeout=120)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    done = program("fit", "seed001_line", "--steps", "5", "--out", "r")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("completed 5 steps.")
    assert json.loads((tmp_path / "r" / "run.json").read_text())["steps"] == 5
    bad = program("fit", "missing.csv")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
    diverged = program("fit", "seed001_line", "--lr", "10", "--steps", "50", "-q")
    assert diverged.returncode == 1


def test_the_program_skips_teardown_but_waits_for_its_threads(tmp_path: Path) -> None:
    """The program ends without Python's teardown (an atexit handler does not run),
    but only after the threads Python would wait for (the exact answer's worker may
    be writing into the compilation cache), with the command's exit code."""

    def python(code: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GRADTRACE_CACHE_DIR": "off"}
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    fit = "['fit', 'seed001_line', '--steps', '5', '-q', '--out', '{}']"
    run = (
        "import atexit, sys; atexit.register(print, 'teardown'); "
        "from gradtrace.cli import main; sys.argv = ['gradtrace'] + {}; main({})"
    )
    program = python(run.format(fit.format("a"), ""))
    assert program.returncode == 0, program.stderr
    assert "teardown" not in program.stdout
    assert (tmp_path / "a" / "run.json").exists()
    called = python(run.format("[]", fit.format("b")))  # main(argv): as Python ends
    assert called.returncode == 0, called.stderr
    assert called.stdout.rstrip().endswith("\nteardown")
    waits = python(
        "import threading, time; from gradtrace.cli import _end_process; "
        "threading.Thread(target=lambda: (time.sleep(0.3), "
        "open('done', 'w').write('x'))).start(); _end_process(3)"
    )
    assert waits.returncode == 3, waits.stderr
    assert (tmp_path / "done").read_text() == "x"


@pytest.mark.parametrize(
    "command", [["models"], ["fit", "seed001_line", "--steps", "5"]]
)
def test_a_reader_that_stops_reading_is_no_error(
    command: list[str], tmp_path: Path
) -> None:
    """`gradtrace ... | head`: the command still does its work (the run is saved)
    and exits 0, not 1 as rich would."""
    if command[0] == "fit":
        command = [*command, "--out", "r"]
    proc = start_program(command, tmp_path, GRADTRACE_CACHE_DIR="off")
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    if command[0] == "fit":
        assert json.loads((tmp_path / "r" / "run.json").read_text())["steps"] == 5


def test_a_vector_parameter_gets_a_row_per_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"a": x[:, 0], "c": x[:, 1], "y": x @ [1.0, -2.0] + 0.5})
    frame.to_csv(tmp_path / "d.csv", index=False)
    args = ["fit", str(tmp_path / "d.csv"), "--model", "linear", "--x", "a,c"]
    code, out, _ = run(
        [*args, "--steps", "300", "-q", "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0
    table = [line for line in out.splitlines() if line and not line[0].isspace()]
    rows = {line.split()[0]: line.split()[1:] for line in table}
    heading = ["x", "initial", "final", "optimum", "std.", "error"]
    assert rows["parameter"] == [*heading, "final", "-", "optimum", "(s.e.)"]
    # each slope's x column first: w[0] is a's, w[1] c's; b has none
    assert rows["w[0]"][0] == "a" and rows["w[1]"][0] == "c"
    rows = {k: v[1:] if k.startswith("w") else v for k, v in rows.items()}
    for name, optimum in (("w[0]", 1.0), ("w[1]", -2.0), ("b", 0.5)):
        assert float(rows[name][2]) == pytest.approx(optimum, abs=1e-5), name
        assert float(rows[name][0]) == 0 and float(rows[name][3]) < 1e-5


def test_every_option_of_every_command_says_what_it_does() -> None:
    import click

    from gradtrace.cli import cli as group

    assert isinstance(group, click.Group)
    ctx = click.Context(group)
    commands = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    assert len(commands) == 19 and all(commands.values())
    silent = [
        f"{name} {param.opts[0]}"
        for name, command in commands.items()
        for param in command.params  # type: ignore[union-attr]
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert not silent, silent


def test_a_run_far_from_its_optimum_is_told_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heights = np.random.default_rng(0).normal(170, 8, size=300)
    pd.DataFrame({"h": heights}).to_csv(tmp_path / "h.csv", index=False)
    fit = ["fit", str(tmp_path / "h.csv"), "--model", "normal", "--y", "h", "-q"]
    code, out, _ = run(
        [
            *fit,
            "--optimizer",
            "adam",
            "--lr",
            "0.5",
            "--steps",
            "50",
            "--out",
            str(tmp_path / "far"),
        ],
        capsys,
    )
    assert code == 0
    (line,) = [x for x in out.splitlines() if "standard errors from its optimum" in x]
    assert line.strip().startswith("loc ended") and "has not converged" in line
    z = float(line.split("ended ")[1].split()[0])
    se = heights.std() / np.sqrt(len(heights))
    final = gradtrace.load(tmp_path / "far").params["loc"]
    assert z == pytest.approx(abs(final - heights.mean()) / se, rel=0.02)
    code, out, _ = run(
        [
            *fit,
            "--init",
            "loc=170",
            "--init",
            "scale=8",
            "--lr",
            "0.5",
            "--steps",
            "300",
            "--out",
            str(tmp_path / "near"),
        ],
        capsys,
    )
    assert code == 0 and "standard errors from its optimum" not in out


def test_the_printed_steps_are_those_whose_loss_over_all_rows_was_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["fit", "seed001_line", "--batch-size", "10", "--epochs", "30"]
    code, out, err = run([*args, "--eval-every", "23", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    table = out.split("\n\n")[0].splitlines()
    header = table[0].split()
    steps = [int(line.split()[0]) for line in table[1:]]
    assert all(s % 23 == 0 for s in steps[:-1]) and steps[-1] == 300
    assert len(steps) > 10
    for line in table[1:]:  # every row has its loss over all the data
        assert len(line.split()) == len(header) - (line.split()[0] == "0") * 2


@pytest.mark.parametrize(
    ("command", "given", "meant"),
    [
        ("fit", "--learning-rate", "--lr"),
        ("fit", "--learning_rate", "--lr"),
        ("fit", "--batchsize", "--batch-size"),
        ("fit", "--n-epochs", "--epochs"),
        ("fit", "--random-state", "--seed"),
        ("sweep", "--learning-rate", "--lr"),
        ("diagnose", "--learning-rate", "--lr"),
        # an option taken and not listed is offered only where spelt almost so
        ("diagnose", "--levle", "--level"),
    ],
)
def test_other_libraries_option_names_suggest_ours(
    command: str, given: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--learning-rate is Keras's learning_rate: --lr, as Python's fit() says of
    learning_rate=."""
    code, _, err = run([command, str(SEED004), given, "0.1"], capsys)
    assert code == 2 and err == (
        f"error: no such option {given}: did you mean {meant}? (see gradtrace "
        f"{command} --help)\n"
    )


def test_an_option_not_listed_is_not_offered_for_another(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """diagnose takes fit's --level without listing it: --devices, which it has
    not, was answered "did you mean --level?"."""
    code, _, err = run(["diagnose", str(SEED004), "--devices", "2"], capsys)
    assert code == 2
    assert err == "error: no such option --devices. (see gradtrace diagnose --help)\n"


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("learning_rate", "lr"),
        ("learning-rate", "lr"),
        ("batchsize", "batch-size"),
        ("batch_sise", "batch_size"),
        ("num_epochs", "epochs"),
    ],
)
def test_a_config_files_other_names_suggest_ours(
    key: str, meant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    value = 0.001 if meant == "lr" else 3
    config.write_text(f"{key} = {value}\n")
    code, _, err = run(["fit", str(SEED004), "--config", str(config)], capsys)
    assert code == 2 and err.endswith(
        f"has an unknown key {key!r}: the keys are fit's options. Did you mean "
        f"{meant!r}?\n"
    )
    # the key as given works
    config.write_text(f"{meant} = {value}\n")
    code, _, err = run(
        [
            "fit",
            str(SEED004),
            "--config",
            str(config),
            "-q",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, err


def test_diagnose_lists_only_options_that_change_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--exact, --epochs, ... change nothing diagnose says: not listed in its
    --help (fit lists them), yet taken, so that a fit command line runs as is."""

    def listed(command: str) -> list[str]:
        code, shown, _ = run([command, "--help"], capsys)
        lines = shown.split("\nModel and loss:\n")[1].splitlines()
        return [line.split()[0] for line in lines if line.startswith("  -")]

    hidden = {"--exact", "--epochs", "--steps", "--seed", "--eval-every", "--metric"}
    # --shuffle is listed: the batches' limit depends on which rows share a batch
    assert {"--lr", "--batch-size", "--model", "--shuffle"} <= set(listed("diagnose"))
    assert not hidden & set(listed("diagnose"))
    assert hidden <= set(listed("fit"))
    args = ["diagnose", "seed001_line", "--lr", "0.1"]
    code, plain, _ = run(args, capsys)
    code, given, _ = run(
        [
            *args,
            "--steps",
            "9",
            "--no-shuffle",
            "--seed",
            "4",
            "--eval-every",
            "2",
            "--no-exact",
            "--metric",
            "rmse",
        ],
        capsys,
    )
    assert code == 0 and given == plain


def test_diagnose_predicts_at_least_one_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """keras.adam at lr 5 from 2 away: 'expect at least 1 step', not 0.4 steps."""
    code, out, _ = run(
        ["diagnose", "seed001_line", "--optimizer", "keras.adam", "--lr", "5"], capsys
    )
    assert code == 0 and "so expect at least 1 step, then steps of about lr" in out
    code, out, _ = run(
        ["diagnose", "seed001_line", "--optimizer", "keras.adam", "--lr", "0.5"],
        capsys,
    )
    assert "so expect at least 4 steps, then" in out


def test_every_command_that_writes_takes_o_for_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o is --out in fit, rerun and sweep as in data, export, plot and the rest
    (a newcomer's `fit data.csv -o runs/x` was refused)."""
    folder = tmp_path / "a"
    code, _, err = run(
        ["fit", "seed001_line", "--steps", "2", "-q", "-o", str(folder)], capsys
    )
    assert code == 0, err
    assert (folder / "run.json").is_file()
    code, out, err = run(["rerun", str(folder), "-o", str(tmp_path / "b")], capsys)
    assert code == 0 and "identical" in out, err
    code, _, err = run(
        [
            "sweep",
            "seed001_line",
            "--lr",
            "0.1,0.2",
            "--steps",
            "2",
            "-o",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "s").is_dir()


def test_rerun_quiet_leaves_out_the_log_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rerun -q, as fit -q: a long run's "training N steps..." line on a log is
    left out (a newcomer's rerun of a run made with -q printed it)."""
    folder = tmp_path / "a"
    args = ["--steps", "200000", "--eval-every", "100000", "-q"]
    code, _, err = run(["fit", "seed001_line", *args, "-o", str(folder)], capsys)
    assert code == 0 and "training" not in err, err
    code, out, err = run(["rerun", str(folder), "-o", str(tmp_path / "b")], capsys)
    assert code == 0 and "identical" in out, err
    assert "training 200000 steps" in err
    code, out, err = run(
        ["rerun", str(folder), "-o", str(tmp_path / "c"), "-q"], capsys
    )
    assert code == 0 and "identical" in out and "training" not in err, err


@pytest.mark.parametrize("command", ["fit", "diagnose", "sweep", "lr-find"])
def test_a_long_commands_help_lists_its_options_in_sections(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """fit --help ran to 300 lines of options in one list; they are in titled
    sections now, every option in one of them (none left to "Other options")."""
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    titles = [line for line in out.splitlines() if line and line[0].isupper()]
    assert "Model and loss:" in titles and "Optimizer:" in titles
    assert "Other options:" not in titles and "Options:" not in titles
    assert out.count("--optimizer NAME") == 1
