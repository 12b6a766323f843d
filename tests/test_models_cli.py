"""The new models from the command line: `gradtrace models`, fits with
--model-expr, --model-file, --metric, --param-space and --degree, and their pictures,
animation and explanation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers import fit_refused, run_cli

from gradtrace.core.catalog import MODELS


def test_models_lists_every_model_with_its_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0
    for name in MODELS:
        assert name in out
    assert "w[k]: real, 0" in out
    assert "n: known, --fix" in out
    assert "p: (0, 1), 0.5" in out
    code, out, _ = run_cli(["models", "--kind", "distribution"], capsys)
    assert "exp-decay" not in out and "weibull" in out


@pytest.fixture
def decay_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 5, 120)
    y = 3 * np.exp(-0.8 * x) + 0.5 + rng.normal(0, 0.05, len(x))
    path = tmp_path / "decay.csv"
    pd.DataFrame({"x": x, "y": y}).to_csv(path, index=False)
    return path


def test_model_expr_fit_plot_animate_explain(
    decay_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, text, err = run_cli(
        [
            "fit",
            str(decay_csv),
            "--model-expr",
            "a*exp(-b*x) + c",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--steps",  # 1500 ended 0.45% from the optimum's b, 3000 within 1e-5
            "3000",
            "--metric",
            "rmse",
            "--metric",
            "r2",
            "--out",
            str(out),
            "-q",
            "--plot",
        ],
        capsys,
    )
    assert code == 0, err
    assert "rmse:" in text and "r2:" in text
    info = json.loads((out / "run.json").read_text())
    assert info["model"] == "expr"
    assert info["model_options"]["expr"] == "a*exp(-b*x) + c"
    np.testing.assert_allclose(
        [info["params"][k] for k in "abc"],
        [info["optimum"][k] for k in "abc"],
        rtol=1e-3,
    )
    assert {"fit.png", "loss.png", "params.png"} <= {p.name for p in out.iterdir()}
    frame = pd.read_parquet(out / "trace.parquet")
    assert {"rmse", "running_rmse", "r2", "running_r2"} <= set(frame.columns)
    code, text, err = run_cli(["explain", str(out), "--step", "2"], capsys)
    assert code == 0, err
    assert "grad_a" in text
    code, _, err = run_cli(
        ["animate", str(out), "-o", str(tmp_path / "a.gif"), "--every", "1000"], capsys
    )
    assert code == 0, err


def test_model_file_and_loss_expr(
    decay_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mine.py"
    source.write_text(
        "import jax.numpy as jnp\n\n"
        "def decay(x, a=1.0, b=1.0, c=0.0):\n"
        "    return a * jnp.exp(-b * x) + c\n"
    )
    out = tmp_path / "run"
    code, text, err = run_cli(
        [
            "fit",
            str(decay_csv),
            "--model-file",
            f"{source}:decay",
            "--loss-expr",
            "(pred - y)**2",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--steps",
            "300",
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    info = json.loads((out / "run.json").read_text())
    assert info["model"] == "decay" and info["loss"] == "expr"
    code, _, err = run_cli(
        ["rerun", str(out), "--out", str(tmp_path / "again")], capsys
    )
    assert code == 0, err


def test_a_saved_run_of_a_model_file_of_several_x_columns_is_drawn_and_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gradtrace.Model in a file that reads x[:, 0] and x[:, 1]: the saved
    run's views rebuild it with x in two columns, as the fit gave it (they
    raised IndexError, x given as one), and explain's loss is the fit's."""
    source = tmp_path / "mine.py"
    source.write_text(
        "import jax.numpy as jnp\nimport jax.scipy.stats as st\nimport gradtrace\n"
        "counts = gradtrace.Model(\n"
        "    lambda p, x: jnp.exp(p['b'] + p['u'] * x[:, 0] + p['v'] * x[:, 1]),\n"
        "    {'b': 0.0, 'u': 0.0, 'v': 0.0},\n"
        "    log_prob=lambda p, y, mu: st.poisson.logpmf(y, mu))\n"
    )
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, 300), rng.uniform(0, 1, 300)
    y = rng.poisson(np.exp(0.5 + 0.9 * a - 0.3 * b))
    data = tmp_path / "counts.csv"
    pd.DataFrame({"a": a, "b": b, "y": y}).to_csv(data, index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(
        [
            "fit",
            str(data),
            "--model-file",
            f"{source}:counts",
            "--x",
            "a",
            "--x",
            "b",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--steps",
            "30",
            "-o",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    for args in (["plot", str(out)], ["report", str(out)]):
        code, _, err = run_cli(args, capsys)
        assert code == 0, err
    assert (out / "fit.png").is_file() and (out / "report.html").is_file()
    code, text, err = run_cli(["explain", str(out), "--step", "3"], capsys)
    assert code == 0, err
    frame = pd.read_parquet(out / "trace.parquet")
    after = frame.loc[frame["step"] == 3, "loss"].iloc[0]
    assert f"after this step's update is {after:.7g}" in " ".join(text.split())


def test_sweep_and_lr_find_take_a_model_file_and_an_expression(
    decay_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--model is line by default: a --model-file or --model-expr beside it was
    refused as "give model or model_file, not both" (a researcher's sweep)."""
    source = tmp_path / "mine.py"
    source.write_text(
        "import jax.numpy as jnp\n\n"
        "def decay(x, a=1.0, b=1.0, c=0.0):\n"
        "    return a * jnp.exp(-b * x) + c\n"
    )
    expr = "a*exp(-b*x) + c"
    for own in (["--model-file", f"{source}:decay"], ["--model-expr", expr]):
        out = tmp_path / f"sweep{len(own[1])}"
        args = ["sweep", str(decay_csv), *own, "--lr", "0.01,0.05", "--steps", "20"]
        code, said, err = run_cli([*args, "--no-plot", "--out", str(out)], capsys)
        assert code == 0, err
        assert "best: lr=" in said
        assert set(pd.read_parquet(out / "sweep.parquet")["lr"]) == {0.01, 0.05}
        picture = tmp_path / f"find{len(own[1])}.png"
        args = ["lr-find", str(decay_csv), *own, "--steps", "30", "-o", str(picture)]
        code, _, err = run_cli(args, capsys)
        assert code == 0 and picture.exists(), err
    code, _, err = run_cli(
        ["sweep", str(decay_csv), "--model", "line", "--model-expr", expr], capsys
    )
    assert code == 2
    assert err.strip() == (
        "error: give --model or --model-expr, not both: --model-expr's model is "
        "the one fitted."
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model-expr", "__import__('os')"], "--model-expr"),
        (["--model-expr", "x.real * a"], "attribute"),
        (["--model-file", "nowhere.py:f"], "does not exist"),
        (
            ["--model", "exp-decay", "--model-file", "nowhere.py:f"],
            "give --model or --model-file, not both",
        ),
        (
            ["--model", "line", "--model-file", "nowhere.py:f"],
            "give --model or --model-file, not both",
        ),
        (["--model", "poisson"], "whole numbers >= 0"),
        (["--metric", "accurcy"], "Did you mean 'accuracy'?"),
        (["--model", "normal", "--metric", "rmse"], "use --metric loglik"),
        (["--degree", "3"], "--degree is for --model poly"),
        (["--model", "binomial"], "--fix n="),
        (["--param-space", "sideways"], "--param-space"),
        (["--metric", "accuracy"], "for y of 0s and 1s"),
        (
            ["--model-expr", "a*y + b"],
            "uses the target 'y' (--y) and none of the x columns (x)",
        ),
        (
            ["--model-expr", "log(x - a)*b"],
            "the loss at the starting parameters (a=1.0, b=1.0) is nan; data row 1 "
            "(x=0, y=3.50629) gives nan first, and 23 more rows do: the model predicts",
        ),
        (
            ["--loss-expr", "log(pred - y)"],
            "is nan; data row 1 (x=0, y=3.50629) gives nan first, and 119 more "
            "rows do: "
            "your loss gives some rows no number there",
        ),
        (
            ["--model-expr", "log(x - a)*b", "--loss", "nll"],
            "the model gives some rows no likelihood",
        ),
    ],
)
def test_bad_model_options_are_one_line_errors(
    args: list[str],
    words: str,
    decay_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(["fit", str(decay_csv), *args, "--out", str(out)], capsys)
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out.exists()


def test_a_distribution_run_draws_and_animates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "counts.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"y": rng.poisson(4.0, 200)}).to_csv(path, index=False)
    out = tmp_path / "run"
    code, _, err = run_cli(
        [
            "fit",
            str(path),
            "--model",
            "poisson",
            "--lr",
            "0.5",
            "--steps",
            "60",
            "--metric",
            "loglik",
            "--out",
            str(out),
            "-q",
            "--plot",
        ],
        capsys,
    )
    assert code == 0, err
    info = json.loads((out / "run.json").read_text())
    lik = info["likelihood"]["optimum"]
    assert lik["aic"] == pytest.approx(2 * 1 - 2 * lik["loglik"])
    assert (out / "fit.png").exists()
    code, _, err = run_cli(
        ["animate", str(out), "-o", str(tmp_path / "p.gif"), "--every", "20"], capsys
    )
    assert code == 0, err


def test_a_bug_in_a_model_file_is_one_line_naming_the_line(
    decay_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "buggy.py"
    source.write_text(
        "import jax.numpy as jnp\n\ndef f(x, a=1.0):\n    return a * jnp.exp(-cc * x)\n"
    )
    out = tmp_path / "run"
    code, _, err = run_cli(
        ["fit", str(decay_csv), "--model-file", f"{source}:f", "--out", str(out)],
        capsys,
    )
    assert code == 2
    assert "(buggy.py line 4): NameError: name 'cc' is not defined" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_a_run_that_ends_above_its_start_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        [
            "fit",
            "seed004_keras",
            "--lr",
            "0.5",
            "--steps",
            "4",
            "-q",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    # a loss that rose failed, as a divergence does: exit code 1, the run saved
    assert code == 1 and (tmp_path / "r" / "run.json").exists()
    assert "warning: the loss ended above where it started" in out


def test_schedules_lists_every_schedule_with_its_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gradtrace.core.presets import SCHEDULES

    code, out, _ = run_cli(["schedules"], capsys)
    assert code == 0
    for name in SCHEDULES:
        assert name in out
    assert "step_size: needed" in out and "gamma: 0.1" in out
    assert "start_factor: 0.333333" in out and "by_batch: false" in out
    assert "SequentialLR:" in out and "ChainedScheduler:" in out
    assert "optimizer.iterations" in out
    # the examples whole, to copy (not folded in the table, brackets kept)
    assert "  --lr-schedule 'torch.sequential:schedulers=[torch.linear(" in out
    code, out, _ = run_cli(["schedules", "--framework", "keras"], capsys)
    assert code == 0 and "keras.piecewise" in out and "torch.step" not in out
    code, _, err = run_cli(["schedules", "--framework", "jax"], capsys)
    assert code == 2 and err.startswith(
        "error: --framework 'jax' is not one of 'all', 'torch', 'keras': choose one, "
        "as --framework all (see gradtrace schedules --help)"
    )


@pytest.mark.parametrize(
    ("more", "told"),
    [
        # no column is y: both are said, and neither is called an x column (with
        # y named, the one x column, t, is what x stands for)
        ([], "of the data's columns (t, signal): x is not a column here"),
        ([], "And pass --y: no column is named 'y'."),
    ],
)
def test_an_expression_written_with_x_for_a_column_of_another_name_is_told_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], more: list[str], told: str
) -> None:
    path = tmp_path / "decay.csv"
    pd.DataFrame({"t": [0.0, 1, 2, 3], "signal": [5, 3.1, 1.9, 1.2]}).to_csv(
        path, index=False
    )
    args = [str(path), "--model-expr", "a*exp(-b*x) + c", *more]
    err = fit_refused(args, told, tmp_path / "run", capsys)
    assert "pass --x" not in err  # --x alone cannot mend it
