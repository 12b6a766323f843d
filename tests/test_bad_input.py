"""Every bad input of the issue list: exit code 2, one line on stderr naming the
problem and what to do, no traceback, no run folder left behind."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradtrace
from helpers import run_cli as run

GOOD = "x,y\n1,5\n2,8.8\n3,9.6\n4,14.2\n"


def one_line_error(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    """Run ``fit`` with ``args``; assert the bad-input contract; return the line."""
    before = set(tmp_path.rglob("*"))
    code, _, err = run(["fit", *args, "--out", str(tmp_path / "run")], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "run").exists()
    assert set(tmp_path.rglob("*")) == before  # nothing half-written
    return lines[0]


def csv(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty: it needs a header row naming its columns and rows of numbers"),
        ("x,y\n", "has 0 rows"),
        ("x,y\n1,2\n", "has 1 row"),
        ("x,y\n1,2\n2,abc\n3,4\n", "non-numeric value 'abc' in data row 2 (line 3)"),
        ("x,y\n1,2\n2,nan\n3,4\n", "a missing value (NaN) in column 'y', data row 2"),
        ("x,y\n1,2\ninf,4\n3,4\n", "an infinite value in column 'x', data row 2"),
        ("y\n1\n2\n3\n", "the y column 'y' is alone, with no x"),
        # a data set's own mark of a missing value (UCI's ?): "fix or remove it"
        (
            "x,y\n1,3\n2,?\n3,7\n4,?\n",
            "'?' seems to mark a missing value (2 such rows): --drop-missing leaves "
            "their rows out; or leave such cells empty (or write NA).",
        ),
        # text that marks nothing is counted apart (it counted 2 such rows)
        (
            "x,y\n1,3\n2,?\n3,abc\n4,9\n",
            "'?' seems to mark a missing value (1 such row): --drop-missing leaves "
            "their rows out; or leave such cells empty (or write NA); 1 other row "
            "holds text that is no number ('abc' in data row 3 (line 4)): fix or "
            "remove it.",
        ),
        # thousands separators: "fix or remove it" said nothing of them
        (
            'x,y\n1,"1,234.5"\n2,3\n',
            "it holds thousands separators (1,234.5 for 1234.5): save the numbers "
            "without them.",
        ),
        ('x;y\n1;"1.234,5"\n2;3\n', "(1.234,5 for 1234.5)"),
        ('x,y\n1,"12,345,678"\n2,3\n', "(12,345,678 for 12345678)"),
        ('x,y\n1,"1.234.567"\n2,3\n', "(1.234.567 for 1234567)"),
        # blank lines are counted in the line's number (it said line 4)
        ("x,y\n1,3\n\n\n2,5\n3,abc\n4,9\n", "in data row 3 (line 6)"),
    ],
)
def test_bad_data_files(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_error([csv(tmp_path, text)], tmp_path, capsys)
    assert message in line


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not found" in one_line_error([str(tmp_path / "no.csv")], tmp_path, capsys)


def test_missing_column_lists_the_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_error([csv(tmp_path, GOOD), "--y", "target"], tmp_path, capsys)
    assert "column 'target' not found" in line and "(columns: x, y)" in line


def test_drop_missing_drops_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv(tmp_path, GOOD + "5,nan\n6,inf\n")
    code, out, err = run(
        [
            "fit",
            data,
            "--drop-missing",
            "--epochs",
            "2",
            "-q",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0
    assert "note: dropped 2 rows with missing or infinite values." in err


def test_drop_missing_drops_the_rows_a_mark_of_missing_values_marks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Told that '-' marks a missing value and that --drop-missing leaves such
    rows out, a data scientist gave --drop-missing and was refused the same. The
    marked rows are dropped as NaN's are, and explain reads the run's data the
    same way; other text is still refused."""
    data = csv(tmp_path, "x,y\n1,2\n2,-\n3,6\n4,?\n5,10\n")
    run_folder = str(tmp_path / "r")
    code, _, err = run(
        ["fit", data, "--drop-missing", "--steps", "3", "-q", "--out", run_folder],
        capsys,
    )
    assert code == 0, err
    assert "note: dropped 2 rows with missing or infinite values." in err
    assert gradtrace.load(run_folder).info["data"]["n_rows"] == 3
    code, out, err = run(["explain", run_folder, "--step", "1"], capsys)
    assert code == 0 and "rows left after dropping 2" in " ".join(out.split()), err
    other = csv(tmp_path, "x,y\n1,2\n2,abc\n3,6\n")
    line = one_line_error([other, "--drop-missing"], tmp_path, capsys)
    assert "non-numeric value 'abc'" in line


def test_rows_missing_values_in_several_columns_are_counted_by_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data scientist read "in column 'Area m²' ... (22671 such rows)": the
    rows missing a value in any column, 15192 of them in that one."""
    data = csv(tmp_path, "a b,c,y\n1,,3\n2,,\n,1,2\n4,4,4\n5,6,7\n")
    line = one_line_error([data, "--model", "linear"], tmp_path, capsys)
    assert line.endswith(
        "has a missing value (NaN) in column 'c', data row 1 (line 2) (3 rows miss "
        "a value: 1 in 'a b', 2 in 'c', 1 in 'y'): clean the data, or pass "
        "--drop-missing to drop them."
    )


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        (
            "d.csv",
            "x,y\n1,2\n3\n4,5\n",
            "data row 2 (line 3): 1 field where the header names 2, so column 'y' "
            "has no value (1 row misses a value)",
        ),
        (
            "d.csv",  # a spreadsheet's semicolons, a blank line above the short one
            "x;y\n1;2\n\n3\n4;5\n",
            "data row 2 (line 4): 1 field where the header names 2",
        ),
        (
            "d.tsv",
            "x\ty\n1\t2\n4\t5\n3\n",
            "data row 3 (line 4): 1 field where the header names 2",
        ),
        (
            "d.csv",  # a quoted comma is inside its field
            'u,x,y\n"a,b",1,2\n"c,d",3\n"e",4,5\n',
            "data row 2 (line 3): 2 fields where the header names 3",
        ),
    ],
)
def test_a_row_with_too_few_fields_is_named_as_such(
    name: str,
    text: str,
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A user read "a missing value (NaN)" of a line that had lost its last field:
    the line is named as too short, with what to do about it."""
    data = csv(tmp_path, text, name)
    line = one_line_error([data, "--x", "x", "--y", "y"], tmp_path, capsys)
    assert line.startswith(f"error: {data!r} has a row with too few fields, {said}")
    assert line.endswith(
        ": complete or delete the line, or pass --drop-missing to drop the rows "
        "that miss a value."
    )
    code, _, err = run(
        [
            "fit",
            data,
            "--x",
            "x",
            "--y",
            "y",
            "--drop-missing",
            "--steps",
            "1",
            "--out",
            str(tmp_path / "kept"),
        ],
        capsys,
    )
    assert code == 0 and "note: dropped 1 row with missing" in err, err


def test_an_empty_field_is_still_a_missing_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A field written empty ("3,") is a missing value, not a short line."""
    data = csv(tmp_path, "x,y\n1,2\n3,\n4,5\n")
    line = one_line_error([data], tmp_path, capsys)
    assert "a missing value (NaN) in column 'y', data row 2 (line 3)" in line
    with pytest.raises(gradtrace.InputError, match="drop_missing=True to drop the"):
        gradtrace.fit(csv(tmp_path, "x,y\n1,2\n3\n4,5\n", "short.csv"))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    bad=st.lists(st.integers(0, 39), max_size=3),
    in_x=st.booleans(),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_missing_values_are_found_in_any_block(
    n: int, bad: list[int], in_x: bool, value: float
) -> None:
    """The check for missing values goes a block of rows at a time (10 million
    rows whole made two 10 MB masks): a value in any block, the last partial one
    included, is found, and the first such row is the one named."""
    from gradtrace import validate
    from gradtrace.errors import InputError

    x, y = np.ones((n, 2)), np.ones(n)
    rows = sorted({i for i in bad if i < n})
    for i in rows:
        if in_x:
            x[i, 1] = value
        else:
            y[i] = value
    old = validate._CHECK_ROWS
    validate._CHECK_ROWS = 3
    try:
        if not rows:
            kept_x, kept_y, dropped = validate.finite_rows(x, y, False, "data")
            assert dropped == 0 and kept_x is x and kept_y is y
            return
        with pytest.raises(InputError, match=rf"data row {rows[0] + 1}\b"):
            validate.finite_rows(x, y, False, "data")
        # and with the columns' names, the one that holds it
        column = "v" if in_x else "t"
        at = rf"in column '{column}', data row {rows[0] + 1}\b"
        with pytest.raises(InputError, match=at):
            validate.finite_rows(x, y, False, "data", (["u", "v"], "t"))
        if n - len(rows) >= 2:
            kept_x, kept_y, dropped = validate.finite_rows(x, y, True, "data")
            assert dropped == len(rows) and len(kept_y) == n - len(rows)
            assert kept_x is not None and np.isfinite(kept_x).all()
    finally:
        validate._CHECK_ROWS = old


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "batch size must be at least 1"),
        (["--batch-size", "-3"], "batch size must be at least 1"),
        (["--lr", "0"], "learning rate 0 leaves every parameter where it starts"),
        (["--lr", "-0.1"], "learning rate must be a positive number"),
        (["--lr", "nan"], "learning rate must be a positive number"),
        (["--lr", "fast"], "learning rate must be a positive number"),
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--steps", "0"], "steps must be at least 1"),
        (["--epochs", "2", "--steps", "3"], "not both"),
        (["--model", "lines"], "unknown model 'lines'"),
        (["--loss", "hinge"], "unknown loss 'hinge'"),
        (["--seed", "9" * 30], "seed 999999999999999999999999999999 is out of range"),
        (
            ["--optimizer", "adamax"],
            "the frameworks' are keras.adamax and torch.adamax",
        ),
        # Keras's name, the textbook's, a part of several names
        (["--metric", "acc"], "loglik. Did you mean 'accuracy'?"),
        (["--model", "gaussian"], "normal-mixture. Did you mean 'normal'?"),
        (
            ["--clip", "norm=1"],
            "Did you mean one of torch.norm, keras.norm, keras.global_norm, "
            "global_norm?",
        ),
        (
            ["--shuffle", "false"],
            "--shuffle is a switch and takes no value: write --shuffle or --no-shuffle",
        ),
        (["--opt", "momentum"], "write, for example, --opt momentum=0.9."),
        # PyTorch's pairs: Rprop's etas and step_sizes as its own parts' names
        (
            ["--optimizer", "torch.rprop", "--opt", "etas=0.5"],
            "--opt etas takes two numbers, as etas=0.5,1.2, got '0.5'.",
        ),
        (
            [
                "--optimizer",
                "torch.rprop",
                "--opt",
                "etas=0.5,1.2",
                "--opt",
                "etaplus=2",
            ],
            "--opt etas and --opt etaplus give etaplus twice: give it once.",
        ),
        (
            ["--optimizer", "torch.rprop", "--opt", "etas=0,1.2"],
            "--opt etaminus (of --opt etas=0,1.2) must be in (0, 1), got 0 (etaminus "
            "is the factor a step size shrinks by when the gradient flips)",
        ),
        (
            ["--optimizer", "torch.adam", "--opt", "step_sizes=1e-6,50"],
            "optimizer 'torch.adam' has no hyper-parameter 'step_sizes'",
        ),
        # a part of a pair out of range names the pair it came in; a wrong name
        # is told the pairs the preset takes
        (
            ["--optimizer", "torch.rprop", "--opt", "etas=2,3"],
            "--opt etaminus (of --opt etas=2,3) must be in (0, 1), got 2",
        ),
        (
            ["--optimizer", "torch.rprop", "--opt", "eta=2"],
            "step_size_max (or PyTorch's etas=0.5,1.2, step_sizes=1e-6,50). Did you "
            "mean 'etaplus'?",
        ),
        # a pair the optimizer does not take: the presets that do
        (
            ["--opt", "etas=0.5,1.2"],
            "optimizer 'sgd' has no hyper-parameter 'etas': choose one of: "
            "learning_rate. The presets with etas are torch.rprop: --optimizer "
            "torch.rprop --opt etas=0.5,1.2, say.",
        ),
        # Keras's Lion: beta_1 in (0, 1], as keras.optimizers.Lion takes it
        (
            ["--optimizer", "keras.lion", "--opt", "beta_1=0"],
            "--opt beta_1 must be in (0, 1], got 0",
        ),
        # a space after a comma: the shell passed the rest as an argument
        (
            ["--lr-schedule", "torch.step:step_size=2,", "gamma=0.5"],
            "the space after 'torch.step:step_size=2,' split --lr-schedule's value "
            "in two; write it without spaces, or in quotes: --lr-schedule "
            "'torch.step:step_size=2,gamma=0.5'",
        ),
        (["--lr", "inf"], "learning rate must be finite, got inf"),
        (
            ["--optimizer", "adam", "--opt", "weight_decay=0.1"],
            "optimizer 'adam' has no hyper-parameter 'weight_decay': it has "
            "learning_rate, b1, b2, eps; the presets with "
            "weight_decay are adamw, keras.sgd, keras.rmsprop, keras.adam, "
            "keras.adamw, keras.adagrad, keras.adamax, keras.nadam, "
            "keras.adadelta, keras.lion, torch.sgd, torch.rmsprop, torch.adam, "
            "torch.adamw, torch.adagrad, torch.adamax, torch.adadelta, torch.radam, "
            "torch.nadam: "
            "--optimizer adamw --opt weight_decay=0.0001, say.",
        ),
        (
            ["--optimizer", "torch.adamw", "--opt", "weight_decay=-1"],
            "--opt weight_decay must be >= 0, got -1",
        ),
        (
            ["--optimizer", "torch.sgd", "--opt", "nesterov=true"],
            "torch.sgd with nesterov needs a momentum above 0 and dampening 0",
        ),
        (
            [
                "--optimizer",
                "torch.sgd",
                "--opt",
                "nesterov=true",
                "--opt",
                "momentum=0.9",
                "--opt",
                "dampening=0.5",
            ],
            "(got momentum 0.9, dampening 0.5)",
        ),
        (["--init", "slope=1"], "no parameter 'slope'"),
        (["--fix", "scale=1"], "no parameter 'scale'"),
        (["--init", "w=1", "--fix", "w=2"], "both --init and --fix"),
        (["--init", "w"], "--init takes NAME=VALUE"),
        (["--opt", "w"], "--opt takes NAME=VALUE"),
        # the optimizer's name where its hyper-parameters go
        (["--opt", "Adam"], "to train with adam, write --optimizer adam."),
        (["--init", "w=abc"], "is not a number"),
        (["--model", "normal", "--init", "scale=-1"], "scale must be positive"),
        (["--model", "normal", "--x", "x"], "--x is for regression models"),
        (["--optimizer", "adam", "--opt", "beta1=0.5"], "no hyper-parameter 'beta1'"),
        (
            ["--optimizer", "adam", "--opt", "b1=fast"],
            "--opt b1 takes a number, got 'fast': give one such as --opt b1=0.9",
        ),
        (
            ["--optimizer", "momentum", "--opt", "momentum=-0.5"],
            "--opt momentum must be in [0, 1), got -0.5",
        ),
        (["--optimizer", "adam", "--opt", "b1=1"], "--opt b1 must be in [0, 1), got 1"),
        (["--optimizer", "adam", "--opt", "eps=-1"], "--opt eps must be >= 0, got -1"),
        (
            ["--optimizer", "keras.rmsprop", "--opt", "rho=2"],
            "must be in [0, 1), got 2",
        ),
        (["--optimizer", "adam", "--opt", "beta1=0.5"], "Did you mean 'b1'?"),
        # a misspelling nearest another preset's beta1: adam's own name of it (a
        # user was sent to beta1, which adam then refused for b1)
        (
            ["--optimizer", "adam", "--opt", "beta=0.5"],
            "Did you mean 'b1' (other presets' beta1)?",
        ),
        # momentum's factor as some courses write it (beta); not Adam's beta1
        (["--optimizer", "momentum", "--opt", "beta=0.9"], "Did you mean 'momentum'?"),
        # a decimal comma
        (["--lr", "0,1"], "write its decimal point as a point, --lr 0.1."),
        (["--dtype", "float16"], "dtype 'float16' is not supported: choose float32"),
        (["--dtype", "flaot32"], "unknown dtype 'flaot32'"),
        (["--reduction", "max"], "unknown reduction 'max'"),
        (["--model", "normal", "--loss", "mse"], "use --loss nll"),
        (["--print-every", "0"], "--print-every must be at least 1"),
        # a framework's class paths (tf.keras is Keras 3: a suggestion gave
        # tf_keras.rmsprop, Keras 2's, 2.5e-2 off a Keras run)
        (
            ["--optimizer", "tf.keras.optimizers.RMSprop"],
            "is Keras 3's RMSprop (tf.keras is Keras 3 from TensorFlow 2.16 on): "
            "give keras.rmsprop.",
        ),
        (["--optimizer", "torch.optim.Adam"], "is PyTorch's Adam: give torch.adam."),
        (
            ["--optimizer", "tf.keras.optimizers.legacy.RMSprop"],
            "is Keras 2's RMSprop (legacy): give tf_keras.rmsprop.",
        ),
        (
            ["--optimizer", "torch.optim.LBFGS"],
            "gradtrace has PyTorch's torch.adadelta",
        ),
        (
            ["--lr-schedule", "ExponentialDecay:decay_steps=5,decay_rate=0.9"],
            "is Keras's ExponentialDecay: give "
            "keras.exponential:decay_steps=5,decay_rate=0.9.",
        ),
        (
            ["--lr-schedule", "torch.optim.lr_scheduler.StepLR:step_size=5"],
            "is PyTorch's StepLR: give torch.step:step_size=5.",
        ),
        (["--lr-schedule", "ReduceLROnPlateau"], "give keras.plateau (Keras's"),
        (
            ["--lr-schedule", "keras.exponential:initial_learning_rate=0.1"],
            "takes its initial_learning_rate from the run's rate: give --lr 0.1",
        ),
        # a vector's values, then another parameter's: split before the name
        (
            ["--model", "linear", "--init", "w=1,2,b=0"],
            "such as --init w=1,2 --init b=0.",
        ),
        # Keras's fit keywords that have no flag here: what gradtrace does instead
        (["--verbose", "2"], "--print-every N sets how often, -q none"),
        (["--steps-per-epoch", "3"], "an epoch here is one pass over the rows"),
        (["--sample-weight", "w"], "weights per row are not supported yet"),
        # two parameters in one --init
        (
            ["--init", "w=5,b=0"],
            "--init w=5,b=0 gives b too: give each parameter its own --init, such "
            "as --init w=5 --init b=0.",
        ),
    ],
)
def test_bad_options(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_error([csv(tmp_path, GOOD), *args], tmp_path, capsys)
    assert message in line


def test_unknown_names_suggest_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv(tmp_path, GOOD)
    assert "Did you mean 'keras.adam'?" in one_line_error(
        [data, "--optimizer", "keras.adma"], tmp_path, capsys
    )
    assert "Did you mean 'epsilon'?" in one_line_error(
        [data, "--optimizer", "keras.adam", "--opt", "epsilom=1e-3"], tmp_path, capsys
    )
    assert "choose one of: line, linear, poly" in one_line_error(
        [data, "--model", "quadratic"], tmp_path, capsys
    )


def test_batch_size_above_the_data_is_clamped_with_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        [
            "fit",
            csv(tmp_path, GOOD),
            "--batch-size",
            "50",
            "-q",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0
    assert "batch size 50 is larger than the 4 rows: using 4" in err


def test_unwritable_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    code, _, err = run(
        ["fit", csv(tmp_path, GOOD), "--out", str(blocker / "run")], capsys
    )
    assert code == 2 and "cannot write the run folder" in err
    assert len(err.strip().splitlines()) == 1


def test_pictures_into_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv(tmp_path, GOOD)
    code, _, err = run(["fit", data, "--out", str(tmp_path / "run"), "-q"], capsys)
    assert code == 0, err
    for args in (
        ["lr-find", data, "-o", str(tmp_path / "nodir" / "x.png")],
        ["animate", str(tmp_path / "run"), "-o", str(tmp_path / "nodir" / "a.gif")],
    ):
        code, _, err = run(args, capsys)
        assert code == 2, err
        assert err.startswith("error: cannot write") and "does not exist" in err
        assert len(err.strip().splitlines()) == 1 and ".tmp" not in err
    assert not (tmp_path / "nodir").exists()


def test_a_picture_that_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    from gradtrace.errors import InputError
    from gradtrace.plot import written

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(InputError, match="No space left on device"):
        written(tmp_path / "x.png", fail)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("epochz = 3\n", "unknown key 'epochz'"),
        ("epochs = 'ten'\n", "config key 'epochs'"),
        ("shuffle = 1\n", 'must be true, false, "torch" (PyTorch'),
        ("[init]\nw = [1, 'a']\n", "is not a number"),
        ("epochs = \n", "not valid TOML"),
    ],
)
def test_bad_config_file(
    toml: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(toml)
    line = one_line_error(
        [csv(tmp_path, GOOD), "--config", str(config)], tmp_path, capsys
    )
    assert message in line


@pytest.mark.parametrize(
    ("toml", "extra", "said"),
    [
        ("lr = -1\n", [], "--lr, such as 0.01 (run.toml sets lr = -1)."),
        ("batch_size = 0\n", [], "(run.toml sets batch-size = 0)."),
        ("[init]\nq = 1\n", [], "(run.toml sets [init])."),
        ('optimizer = "momentum"\nlr = -1\n', [], "(run.toml sets lr = -1)."),
        # given on the command line, the value is not the file's
        ("lr = 0.1\n", ["--lr", "-2"], "such as 0.01."),
    ],
)
def test_bad_value_from_config_file_names_it(
    toml: str,
    extra: list[str],
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad value the config file wrote is told as the file's, by its key: the
    message's flag alone sent the reader to a command line that has none."""
    config = tmp_path / "run.toml"
    config.write_text(toml)
    line = one_line_error(
        [csv(tmp_path, GOOD), "--config", str(config), *extra], tmp_path, capsys
    )
    assert line.endswith(said), line
    if extra:
        assert "run.toml" not in line


def test_bad_value_from_config_file_in_diagnose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text("lr = -1\n")
    code, _, err = run(
        ["diagnose", csv(tmp_path, GOOD), "--config", str(config)], capsys
    )
    assert code == 2
    assert err.strip().endswith("(run.toml sets lr = -1)."), err


def test_missing_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_error(
        [csv(tmp_path, GOOD), "--config", str(tmp_path / "no.toml")], tmp_path, capsys
    )
    assert "config file" in line and "not found" in line


# -- fuzzing: nothing ends in a traceback -------------------------------------------

OPTION_VALUES = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "3",
        "1e-3",
        "nan",
        "inf",
        "-inf",
        "",
        "abc",
        "w=1",
        "b=x",
        "scale=-1",
        "x",
        "y",
        "line",
        "normal",
        "keras.adam",
        "rho=2",
        "1e400",
        "😀",
        "--lr",
        "w=1,2",
        "=",
        "w=",
        "9" * 30,
    ]
)
FLAGS = st.sampled_from(
    [
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
        "--seed",
        "--init",
        "--fix",
        "--reduction",
        "--dtype",
        "--compute-dtype",
        "--eval-every",
        "--print-every",
    ]
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.lists(st.tuples(FLAGS, OPTION_VALUES), max_size=4))
def test_fuzzed_options_never_trace_back(
    options: list[tuple[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = csv(tmp_path, GOOD)
    args = ["fit", data, "-q", "--force", "--out", str(tmp_path / "fz"), "--steps", "3"]
    for flag, value in options:
        args += [flag, value]
    code, _, err = run(args, capsys)
    assert "Traceback" not in err
    assert code in (0, 1, 2), err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet=string.printable, max_size=200),
        st.lists(
            st.lists(
                st.sampled_from(["1", "2.5", "", "nan", "a", "-", "1e9"]),
                min_size=2,
                max_size=2,
            ),
            max_size=6,
        ).map(lambda rows: "x,y\n" + "\n".join(",".join(r) for r in rows)),
    )
)
def test_fuzzed_csv_never_traces_back(
    content: bytes | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, _, err = run(
        [
            "fit",
            str(path),
            "-q",
            "--force",
            "--steps",
            "2",
            "--out",
            str(tmp_path / "fz"),
        ],
        capsys,
    )
    assert "Traceback" not in err
    assert code in (0, 1, 2), err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


def test_npy_with_a_bad_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.npy"
    np.save(path, np.zeros((2, 2, 2)))
    assert "cannot read" in one_line_error([str(path)], tmp_path, capsys)


def test_no_data_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["fit"], capsys)
    assert code == 2 and "no data" in err


# -- found by trying the tool as a new user -------------------------------------------


def test_line_refuses_several_x_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv(tmp_path, "x0,x1,y\n1,2,3\n2,3,4\n3,5,6\n")
    line = one_line_error([data, "--x", "x0", "--x", "x1"], tmp_path, capsys)
    assert "model 'line' takes one x column" in line and "--model linear" in line
    assert "given twice" in one_line_error(
        [data, "--model", "linear", "--x", "x0", "--x", "x0"], tmp_path, capsys
    )
    assert "both the target" in one_line_error(
        [data, "--model", "linear", "--x", "x0,y"], tmp_path, capsys
    )


def test_values_beyond_float32_are_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_error([csv(tmp_path, "x,y\n1,2\n2,1e40\n3,4\n")], tmp_path, capsys)
    assert "beyond float32" in line and "--dtype float64" in line


def test_spreadsheets_and_binary_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.xlsx").write_bytes(b"PK\x03\x04 not really")
    assert "save it as CSV" in one_line_error(
        [str(tmp_path / "d.xlsx")], tmp_path, capsys
    )
    (tmp_path / "b.csv").write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\x00\x01")
    assert "not a text table" in one_line_error(
        [str(tmp_path / "b.csv")], tmp_path, capsys
    )


def test_python_data_rows_are_also_named_by_iloc() -> None:
    import pandas as pd

    import gradtrace
    from gradtrace.errors import InputError

    frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [1.0, 2, np.nan, 4]})
    with pytest.raises(InputError, match=r"'y', data row 3 \(\.iloc\[2\]\) \(1 "):
        gradtrace.fit(frame, lr=0.1, steps=2)
    # after dropped rows, a later bad row is still named by its place in the data
    counts = pd.DataFrame({"x": [1.0, np.nan, 2, 3, 4], "y": [1.0, 2, 3, -4, 5]})
    with pytest.raises(InputError, match=r"-4 in data row 4 \(\.iloc\[3\]\)"):
        gradtrace.fit(counts, "poisson-regression", lr=0.1, steps=2, drop_missing=True)
    # arrays have no iloc
    with pytest.raises(InputError, match=r"'y', data row 2 \(index 1\)"):
        gradtrace.fit((np.array([1.0, 2, 3]), np.array([1.0, np.inf, 3])), lr=0.1)


def test_python_api_messages_name_the_python_argument() -> None:
    import gradtrace

    with pytest.raises(gradtrace.InputError, match=r"give a positive lr, such as"):
        gradtrace.fit("seed004_keras", lr=-1)
    # a flag's value followed by a colon: the colon is the sentence's, not the value's
    from gradtrace.arguments import in_python

    said = in_python("--init scale=-1.0: scale must be positive", {"init"})
    assert said == "init={'scale': -1.0}: scale must be positive"
    from gradtrace import validate

    assert (validate.dtype("f8"), validate.dtype("F4")) == ("float64", "float32")
    # True is no learning rate, nor a momentum, though float(True) is 1.0
    with pytest.raises(gradtrace.InputError, match=r"got True: give a positive lr"):
        gradtrace.fit("seed004_keras", lr=True)
    with pytest.raises(
        gradtrace.InputError,
        match=r"opt\['momentum'\] takes a number, got True: give one such as "
        r"opt=\{'momentum': 0.9\} \(momentum's default\)",
    ):
        gradtrace.fit("seed004_keras", optimizer="momentum", opt={"momentum": True})
    with pytest.raises(
        gradtrace.InputError, match=r"init=\{'w': 'abc'\}: 'abc' is not"
    ):
        gradtrace.fit("seed004_keras", init={"w": "abc"})


def test_cli_messages_stay_in_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Python wording of a message (init={'w': 'a'}) is for Python callers;
    the command line keeps naming its flags."""
    line = one_line_error([csv(tmp_path, GOOD), "--init", "w=a"], tmp_path, capsys)
    assert line == "error: --init w=a is not a number: give one, such as --init w=0.5."
    # a vector: a number for each element
    two = tmp_path / "two.csv"
    two.write_text("a,b,y\n1,2,3\n2,1,4\n3,3,7\n4,1,6\n")
    line = one_line_error(
        [str(two), "--model", "linear", "--init", "w=a"], tmp_path, capsys
    )
    assert line == (
        "error: --init w=a is not a number: give numbers (one for each of its 2), "
        "such as --init w=0.5,0.5."
    )
    line = one_line_error(
        [csv(tmp_path, GOOD), "--optimizer", "momentum", "--opt", "momentum=1.5"],
        tmp_path,
        capsys,
    )
    assert "--opt momentum must be in [0, 1), got 1.5" in line
    assert "in Python" not in line
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    code, _, err = run(["fit", "seed001_line", "--out", str(tmp_path / "mine")], capsys)
    assert code == 2 and "choose another --out" in err and "in Python" not in err


def test_python_callers_are_told_the_keyword_and_the_command_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message written for the command line names the flag; from Python it names
    the keyword argument instead (fit, sweep, lr_find, resume, load), and only
    there."""
    import gradtrace
    from gradtrace.lrfind import lr_find
    from gradtrace.sweeps import sweep

    for call in (
        lambda: gradtrace.fit("seed001_line", steps=3, batch_size=0),
        lambda: sweep("seed001_line", lr=[0.1], steps=3, batch_size=0),
        lambda: lr_find("seed001_line", batch_size=0),
    ):
        with pytest.raises(gradtrace.InputError) as err:
            call()
        assert str(err.value).endswith("pass batch_size with a positive integer.")
        assert "--" not in str(err.value)
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}), path)
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(path, steps=3, shuffle=False, shuffle_window=2, stream=True)
    assert str(err.value) == (
        "shuffle_window sets how rows are shuffled: drop it, or drop shuffle=False."
    )
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit("seed001_line", steps=3, lr=-1)
    assert str(err.value).endswith("give a positive lr, such as 0.01.")
    for args in (["--batch-size", "0"], ["--lr", "-1"]):
        code, _, said = run(["fit", "seed001_line", *args], capsys)
        assert code == 2 and args[0] in said and "in Python" not in said


def test_a_csv_without_a_header_and_names_in_another_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first row of numbers is no header: say so; X and Y for x and y: name
    them (as x='X' in Python)."""
    import gradtrace
    from gradtrace.errors import InputError

    line = one_line_error([csv(tmp_path, "1,2\n2,4\n3,6.1\n")], tmp_path, capsys)
    assert line == (
        f"error: the first row of {str(tmp_path / 'd.csv')!r} is numbers (1, 2), not "
        "column names: add a header line naming the columns, such as x,y."
    )
    four = csv(tmp_path, "23,13547.9,1,0\n41,9021.5,2,310.5\n", "four.csv")
    line = one_line_error([four, "--y", "claim"], tmp_path, capsys)
    assert line.endswith("such as x1,x2,x3,claim.")  # a name for each column
    # a header of data whose values repeat: not "two columns named '0'"
    repeats = csv(tmp_path, "23,0,north,1.5,0\n41,1,south,2.5,0\n", "rep.csv")
    line = one_line_error([repeats], tmp_path, capsys)
    assert "looks like a row of data, not column names ('0' in columns 2 and 5)" in line
    assert line.endswith("such as x1,x2,x3,x4,y.")
    upper = csv(tmp_path, "X,Y\n1,2\n2,4\n3,6.1\n", "u.csv")
    # y first (the one column besides it is then x): one fix, not two
    assert one_line_error([upper], tmp_path, capsys).endswith(
        "(columns: X, Y): did you mean --y Y?"
    )
    assert one_line_error([upper, "--x", "x"], tmp_path, capsys).endswith(
        "did you mean --x X?"
    )
    with pytest.raises(InputError, match=r"did you mean y='Y'\?$"):
        gradtrace.fit({"X": [1.0, 2, 3], "Y": [1.0, 2, 3]})
    assert gradtrace.fit({"X": [1.0, 2, 3], "Y": [1.0, 2, 3]}, y="Y", steps=2).steps


def test_whole_numbers_written_as_floats_count_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--steps 1e2 is 100 steps, as fit(steps=1e2) in Python; 1.5 is refused."""
    data = csv(tmp_path, GOOD)
    code, out, _ = run(
        ["fit", data, "--steps", "1e2", "-q", "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0 and "completed 100 steps" in out
    line = one_line_error([data, "--steps", "1.5"], tmp_path, capsys)
    assert "'1.5' is not a whole number" in line


def test_a_run_folder_the_file_system_refuses_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where os.access says yes (root on /sys) but making a folder fails, fit
    says so before it trains, as sweep does."""
    import errno
    import os

    from gradtrace import api

    locked = tmp_path / "ro"
    locked.mkdir()
    make = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).parent == locked:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        make(path, *args, **kwargs)

    def trained(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the run trained")

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(api, "run", trained)
    code, _, err = run(["fit", csv(tmp_path, GOOD), "--out", str(locked / "r")], capsys)
    assert code == 2
    assert err == (
        f"error: cannot write the run folder {str(locked / 'r')!r} "
        "(Operation not permitted): choose a writable --out.\n"
    )


# -- new users' wording trials -----------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "told"),
    [
        ("binary_crossentropy", "use --loss nll, the negative log-likelihood"),
        ("bce", "binary cross-entropy Keras calls binary_crossentropy"),
        ("crossentropy", "for --model logistic (and the other likelihood models)"),
        ("categorical_crossentropy", "no model of several classes"),
        ("poisson", "--model poisson-regression with --loss nll"),
        ("mean_squared_error", "gradtrace calls it mse; use --loss mse"),
        ("hinge", "unknown loss 'hinge': choose one of: mse, mae, huber, nll."),
    ],
)
def test_other_libraries_loss_names_say_what_they_are_here(
    loss: str, told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--loss binary_crossentropy is nll of a likelihood model, said so, not only
    'unknown loss'."""
    line = one_line_error([csv(tmp_path, GOOD), "--loss", loss], tmp_path, capsys)
    assert line.startswith(f"error: unknown loss {loss!r}: ") and told in line


def test_keras_loss_names_in_python_name_the_arguments() -> None:
    import gradtrace

    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit("seed001_line", loss="binary_crossentropy")
    assert "for model='logistic'" in str(err.value) and "loss='nll'" in str(err.value)


def test_column_names_with_spaces_are_quoted_and_near_misses_suggested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suggested column with a space is quoted to paste into a shell; a
    misspelt one (exam scor) is suggested as a case mistake is."""
    import gradtrace

    data = csv(tmp_path, "hours studied,exam score\n1,2\n2,3\n3,5\n")
    line = one_line_error([data, "--x", "Hours Studied"], tmp_path, capsys)
    assert line.endswith("did you mean --x 'hours studied'?")
    line = one_line_error(
        [data, "--x", "hours studied", "--y", "exam scor"], tmp_path, capsys
    )
    assert line.endswith("did you mean --y 'exam score'?")
    # no near name: the one column that --x leaves
    line = one_line_error(
        [data, "--x", "hours studied", "--y", "zzz"], tmp_path, capsys
    )
    assert line.endswith("pass --y 'exam score', the one column besides x.")
    frame = {"hours studied": [1.0, 2, 3], "exam score": [2.0, 3, 5]}
    with pytest.raises(gradtrace.InputError, match=r"did you mean y='exam score'\?$"):
        gradtrace.fit(frame, x="hours studied", y="exam scor")


def test_without_x_or_y_the_missing_y_is_asked_for_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --y the x column cannot be told (the one column besides y is x):
    a file of other names is asked for its y first (its last column offered
    first, where a table most often has its target), and a one-letter name is not
    taken for a slip of another (y is not a)."""
    import pandas as pd

    import gradtrace
    from gradtrace.errors import InputError

    two = csv(tmp_path, "hours,score\n1,2\n2,4\n3,7\n")
    line = one_line_error([two], tmp_path, capsys)
    assert "column 'y' not found" in line and line.endswith(
        "pass the target, --y score (x is then hours) or --y hours."
    )
    line = one_line_error([two, "--model", "normal"], tmp_path, capsys)
    assert line.endswith("pass the column to fit, --y hours or --y score.")
    with pytest.raises(InputError, match=r"pass the target, y='score' \(x is then"):
        gradtrace.fit(pd.read_csv(two), model="line", steps=2)
    many = csv(tmp_path, "a,b,c,target\n1,2,3,4\n2,3,1,5\n3,1,2,6\n")
    line = one_line_error([many], tmp_path, capsys)
    assert "column 'y' not found" in line and "did you mean" not in line
    # a column x and one other: that other is y, and is named so
    counts = csv(tmp_path, "x,counts\n1,2\n2,4\n3,7\n")
    line = one_line_error([counts], tmp_path, capsys)
    assert line.endswith("pass --y counts, the one column besides x.")
    for model in ("poisson-regression", "linear"):
        with pytest.raises(InputError, match=r"pass y='counts', the one column"):
            gradtrace.fit(pd.read_csv(counts), model=model, steps=2)
    # a distribution has no x: its one column is named as the data's one
    one = csv(tmp_path, "value\n1\n2\n3\n")
    line = one_line_error(
        [one, "--model", "poisson", "--y", "counts"], tmp_path, capsys
    )
    assert line.endswith("pass --y value, the data's one column.")


def test_decimal_commas_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    import gradtrace

    # a spreadsheet's semicolon CSV of decimal commas is read so, and said so
    # (a data scientist was told to save it again with points)
    data = csv(tmp_path, "x;y\n1;2,1\n2;3,5\n3;4,0\n")
    from gradtrace.data import read_table

    assert read_table(data)["y"].tolist() == [2.1, 3.5, 4.0]
    trace = gradtrace.fit(data, steps=2)
    assert any("are read with decimal commas (2,5 as 2.5)" in n for n in trace.notes)
    # one with points among them is not: its commas are told
    mixed = csv(tmp_path, "x;y\n1;2.1\n2;3,5\n", "m.csv")
    line = one_line_error([mixed], tmp_path, capsys)
    assert "non-numeric value '3,5' in data row 2 (line 3)" in line
    assert (
        "the file seems to use decimal commas (3,5 for 3.5): save it with decimal "
        "points"
    ) in line
    line = one_line_error(
        [csv(tmp_path, 'x,y\n1,2\n2,"1,234"\n', "t.csv")], tmp_path, capsys
    )
    assert "decimal commas or thousands separators (1,234)" in line
    frame = pd.DataFrame({"x": [1.0, 2, 3], "y": ["2,1", "3", "4"]})
    with pytest.raises(gradtrace.InputError, match=r"df\['y'\]\.str\.replace"):
        gradtrace.fit(frame)
    # other text is still just "fix or remove it"
    line = one_line_error(
        [csv(tmp_path, "x,y\n1,2\n2,abc\n", "a.csv")], tmp_path, capsys
    )
    assert line.endswith("'abc' in data row 2 (line 3): fix or remove it.")


@pytest.mark.parametrize("header", ["x,y,y", "x, y,y ", "y,x,y"])
def test_a_column_named_twice_is_refused(
    header: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas renames a second y to y.1 and the first would be fitted, silently."""
    data = csv(tmp_path, f"{header}\n1,2,3\n2,3,4\n3,5,6\n")
    line = one_line_error([data], tmp_path, capsys)
    assert line.startswith(f"error: {data!r} has two columns named 'y' (columns ")
    assert line.endswith("of its header): rename one, or remove it.")


def test_a_column_named_twice_on_standard_input_or_in_a_data_frame(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import pandas as pd

    import gradtrace

    monkeypatch.setattr("sys.stdin", io.StringIO("x,y,y\n1,2,3\n2,3,4\n3,5,6\n"))
    code, _, err = run(["fit", "-"], capsys)
    assert code == 2 and err == (
        "error: standard input has two columns named 'y' (columns 2 and 3 of its "
        "header): rename one, or remove it.\n"
    )
    frame = pd.DataFrame([[1.0, 2, 3], [2, 3, 4], [3, 5, 6]], columns=["x", "y", "y"])
    with pytest.raises(gradtrace.InputError, match="two columns named 'y'"):
        gradtrace.fit(frame)
    # two x columns of one name, every column besides y taken: the data's names
    # are said, not "x='a' is given twice" (no x was given)
    frame.columns = ["a", "a", "y"]
    with pytest.raises(
        gradtrace.InputError,
        match=r"^the data frame has two columns named 'a' \(columns 1 and 2\): "
        "rename one, or remove it.$",
    ):
        gradtrace.fit(frame, model="linear")
    # a column of its own named y.1 is not a second y (it was refused as one)
    rows = "x,y,y.1\n1,3,40\n2,5,41\n3,7,45\n4,9,44\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(rows))
    code, out, err = run(["fit", "-", "--y", "y.1", "--steps", "2", "-q"], capsys)
    assert code == 0 and "(4 rows; x -> y.1)" in out, err


def test_a_separator_ending_each_row_but_the_header_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """x,y then 1,3, on every row: pandas took x for the index and y for NaN, and
    the run blamed a missing value."""
    import io

    import gradtrace

    plain = gradtrace.fit({"x": [1.0, 2, 3], "y": [3.0, 5, 7.5]})
    rows = "x,y\n1,3,\n2,5,\n3,7.5,\n"
    assert gradtrace.fit(csv(tmp_path, rows)).params == plain.params
    monkeypatch.setattr("sys.stdin", io.StringIO(rows))
    code, out, err = run(["fit", "-", "-q"], capsys)
    assert code == 0 and "(3 rows; x -> y)" in out, err


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        (
            "a.json",
            b'{"x": [1, 2], "y": [3, 4]}',
            "is JSON, which gradtrace does not read: write it as CSV or Parquet "
            "(pandas: pd.read_json(f).to_parquet('data.parquet'))",
        ),
        ("a.jsonl", b'{"x": 1, "y": 3}', "pd.read_json(f, lines=True)"),
        # Excel's "Unicode text": UTF-16
        ("u16.csv", "x,y\n1,3\n".encode("utf-16"), "save it as UTF-8"),
        ("bad.npy", b"garbage", "is not an array of numbers"),
        ("c.csv", b"# my data\nx,y\n1,3\n2,5\n", "the first line of"),
    ],
)
def test_files_of_other_kinds_are_told_what_to_do(
    name: str,
    content: bytes,
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """JSON was read as a CSV (its text a column's name), UTF-16 told it was not
    a text table, a broken .npy relayed numpy's allow_pickle advice, a comment
    line was taken for the header (a messy-data user's findings)."""
    path = tmp_path / name
    path.write_bytes(content)
    line = one_line_error([str(path)], tmp_path, capsys)
    assert said in line


def test_a_header_marked_as_numpy_writes_it_is_read(tmp_path: Path) -> None:
    """np.savetxt(header="x,y") writes "# x,y", and a column may be named "#":
    both were refused as comments (a reviewer's finding)."""
    import gradtrace

    plain = gradtrace.fit({"x": [1.0, 2, 3], "y": [3.0, 5, 7.5]}, steps=2)
    saved = tmp_path / "saved.csv"
    np.savetxt(saved, [[1, 3], [2, 5], [3, 7.5]], delimiter=",", header="x,y")
    assert gradtrace.fit(str(saved), steps=2).params == plain.params
    named = csv(tmp_path, "#,x,y\n1,1,3\n2,2,5\n3,3,7.5\n")
    assert gradtrace.fit(named, steps=2).params == plain.params


def test_an_unreadable_file_is_said_to_be_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied was followed by "give a CSV file with a header row"."""
    import pandas as pd

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pd, "read_csv", denied)
    path = csv(tmp_path, "x,y\n1,2\n2,3\n")
    line = one_line_error([path], tmp_path, capsys)
    assert line.endswith(
        "permission denied (make it readable, chmod u+r, or give a copy that is)."
    )


def test_a_first_field_the_header_does_not_name_is_a_row_name_said_so(
    tmp_path: Path,
) -> None:
    """R's write.table(sep=",") writes row names without a name in the header:
    pandas takes them for the index, which the run took in silence; it is said."""
    import gradtrace

    path = csv(tmp_path, '"x","y"\n"1",1.5,2.9\n"2",2.5,5.2\n"3",3.5,7.1\n')
    trace = gradtrace.fit(path, steps=2)
    plain = gradtrace.fit({"x": [1.5, 2.5, 3.5], "y": [2.9, 5.2, 7.1]}, steps=2)
    assert trace.params == plain.params
    assert (
        f"the rows of {path!r} have one field more than its header names: the "
        "first of each (1 in the first row) is taken for the row's name, not data, "
        "as R's write.table writes row names; if it is data, name it in the header "
        "line."
    ) in trace.notes


def test_an_unnamed_first_column_is_row_names_said_so(tmp_path: Path) -> None:
    """R's write.csv names its row names' column "" (pandas' to_csv writes its
    index so): a linear model fitted it as an x column ('Unnamed: 0'), moving
    the others' slopes, with a note only."""
    import pandas as pd

    import gradtrace

    rows = {"x1": [0.5, 1.5, 2.5, 3.5, 1.0], "x2": [1.0, 0, 1, 3, 2]}
    rows["y"] = [2.1, 3.2, 5.9, 7.1, 3.0]
    plain = gradtrace.fit(rows, "linear", steps=3)
    r_csv = csv(
        tmp_path,
        '"","x1","x2","y"\n'
        + "".join(
            f'"{i + 1}",{a},{b},{c}\n'
            for i, (a, b, c) in enumerate(zip(*rows.values(), strict=True))
        ),
    )
    trace = gradtrace.fit(r_csv, "linear", steps=3)
    assert trace.info["data"]["x"] == ["x1", "x2"]
    assert trace.params == plain.params
    assert (
        f"the first column of {r_csv!r} has no name in its header: its fields (1 in "
        "the first row) are taken for the rows' names, not data, as R's write.csv "
        "and pandas' to_csv write row names; if it is data, name it in the header "
        "line."
    ) in trace.notes
    pandas_csv = tmp_path / "index.csv"
    pd.DataFrame(rows).to_csv(pandas_csv)
    assert gradtrace.fit(str(pandas_csv), "linear", steps=3).params == plain.params


def test_tables_parted_by_spaces_are_read(tmp_path: Path) -> None:
    """R's write.table with its defaults (quoted names, row names, spaces),
    numpy's savetxt and columns aligned by hand were read as one column named
    'x y': "fit a distribution to it"."""
    import gradtrace

    plain = gradtrace.fit({"x": [1.5, 2.5, 3.5], "y": [2.9, 5.2, 7.1]}, steps=2)
    r_table = csv(tmp_path, '"x" "y"\n"1" 1.5 2.9\n"2" 2.5 5.2\n"3" 3.5 7.1\n')
    trace = gradtrace.fit(r_table, steps=2)
    assert trace.params == plain.params
    assert any("as R's write.table writes row names" in n for n in trace.notes)
    saved = tmp_path / "saved.txt"
    np.savetxt(saved, [[1.5, 2.9], [2.5, 5.2], [3.5, 7.1]], header="x y")
    assert gradtrace.fit(str(saved), steps=2).params == plain.params
    aligned = tmp_path / "aligned.dat"
    aligned.write_text("  x     y\n  1.5   2.9\n  2.5\t5.2\n 3.5  7.1\n")
    assert gradtrace.fit(str(aligned), steps=2).params == plain.params
    # R's write.table of one column: a row name and the value
    one = csv(tmp_path, '"y"\n"1" 1.5\n"2" 2.5\n"3" 4\n', "one.txt")
    assert gradtrace.fit(one, "normal", steps=2).info["data"]["n_rows"] == 3
    # numpy's header of several lines: its first is a comment, said as before
    (tmp_path / "two.txt").write_text("# made by sim.py\n# x y\n1 2\n2 4.1\n")
    with pytest.raises(gradtrace.InputError, match="the first line of .* is a comment"):
        gradtrace.fit(str(tmp_path / "two.txt"), steps=2)
    # a column whose name holds a space, its values one a line, stays one column
    spaced = csv(tmp_path, "wait time\n1.5\n2.5\n4\n")
    fitted = gradtrace.fit(spaced, "exponential", y="wait time", steps=2)
    assert fitted.params["rate"] > 0


def test_compressed_tables_are_read_from_inside(tmp_path: Path) -> None:
    """A .csv.gz or .zip had its separator and header guessed from its
    compressed bytes: one column named "x,y", and "pass --y x,y"."""
    import bz2
    import gzip
    import zipfile

    import gradtrace

    rows = "x,y\n1,3\n2,5.1\n3,6.9\n4,9.2\n"
    with gzip.open(tmp_path / "a.csv.gz", "wt") as fh:
        fh.write(rows)
    with gzip.open(tmp_path / "a.tsv.gz", "wt") as fh:
        fh.write(rows.replace(",", "\t"))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("a.csv", rows)
    plain = gradtrace.fit({"x": [1.0, 2, 3, 4], "y": [3, 5.1, 6.9, 9.2]})
    for name in ("a.csv.gz", "a.tsv.gz", "a.zip"):
        trace = gradtrace.fit(str(tmp_path / name))
        assert trace.params == plain.params, name
    with bz2.open(tmp_path / "twice.csv.bz2", "wt") as fh:
        fh.write("x,y,y\n1,3,4\n2,5,6\n3,7,8\n")
    with pytest.raises(gradtrace.InputError, match="has two columns named 'y'"):
        gradtrace.fit(str(tmp_path / "twice.csv.bz2"))
    # a tar archive, as pandas reads it: its header from its first file
    import io
    import tarfile

    packed = rows.replace(",", ";").encode()
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as archive:
        member = tarfile.TarInfo("a.csv")
        member.size = len(packed)
        archive.addfile(member, io.BytesIO(packed))
    assert gradtrace.fit(str(tmp_path / "a.tar.gz")).params == plain.params
    # cut short: one line, where EOFError was taken for an interruption
    whole = gzip.compress(rows.encode())
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(gradtrace.InputError, match="damaged or cut short"):
        gradtrace.fit(str(tmp_path / "cut.csv.gz"))


def test_python_messages_read_as_python_and_as_english() -> None:
    """init={'scale': -1.0}: not the garbled init={'scale': -1.0:}, and what to do;
    "the (x, y) arrays have"; float16 is not supported, not float64 misspelt."""
    import gradtrace

    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit("seed002_normal", model="normal", init={"scale": -1.0})
    assert str(err.value) == (
        "init={'scale': -1.0}: scale must be positive (it is a standard deviation): "
        "give a positive value, such as init={'scale': 1.0}."
    )
    with pytest.raises(gradtrace.InputError, match=r"^the \(x, y\) arrays have a "):
        gradtrace.fit((np.array([1.0, 2, np.nan]), np.array([1.0, 2, 3])))
    for keyword in ("dtype", "compute_dtype"):
        with pytest.raises(gradtrace.InputError) as err:
            gradtrace.fit("seed001_line", **{keyword: "float16"})
        assert "'float16' is not supported: choose float32 or float64." in str(
            err.value
        )
        assert "Did you mean" not in str(err.value)


def test_a_parameter_out_of_bounds_says_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        ["fit", "seed002_normal", "--model", "normal", "--init", "scale=-1"], capsys
    )
    assert code == 2 and err == (
        "error: --init scale=-1: scale must be positive (it is a standard "
        "deviation): give a positive value, such as --init scale=1.\n"
    )


def test_a_streamed_files_columns_are_suggested_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    table = pa.table({"hours studied": [1.0, 2, 3, 4], "exam score": [2.0, 3, 5, 6]})
    pq.write_table(table, path)
    line = one_line_error(
        [str(path), "--stream", "--x", "hours studied", "--y", "Exam Scor"],
        tmp_path,
        capsys,
    )
    assert line.endswith("did you mean --y 'exam score'?")


def test_a_missing_file_to_stream_is_said_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .csv that is not there was told to be converted to Parquet first."""
    line = one_line_error([str(tmp_path / "gone.csv"), "--stream"], tmp_path, capsys)
    assert line.endswith("not found: check the path.")


def test_a_column_not_found_is_not_told_to_be_one_already_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--x x0 --x x9: "did you mean --x x0?", the column given just before."""
    pd.DataFrame({"x0": [1.0, 2, 3], "x1": [2.0, 1, 0], "y": [1.0, 2, 4]}).to_csv(
        tmp_path / "d.csv", index=False
    )
    line = one_line_error(
        [str(tmp_path / "d.csv"), "--model", "linear", "--x", "x0", "--x", "x9"],
        tmp_path,
        capsys,
    )
    assert "did you mean --x x0?" not in line and "did you mean --x x1?" in line


def test_data_with_too_few_rows_names_the_option_its_help_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """gradtrace data line --n 0 was told "--rows (--n)", an option its help
    does not show."""
    code, _, err = run(
        ["data", "line", "--n", "0", "-o", str(tmp_path / "z.csv")], capsys
    )
    assert code == 2 and not (tmp_path / "z.csv").exists()
    assert err.strip() == "error: --n must be at least 2 (rows to draw), got 0."


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--lr", "0.1", "--lr=0.2"], "--lr is given twice (0.1, then 0.2)"),
        (  # the second alone clipped, where Keras refuses two clippings
            ["--optimizer", "keras.sgd", "--clip", "keras.norm=1", "--clip", "value=2"],
            "--clip is given twice (keras.norm=1, then value=2): give it once.",
        ),
        (["--shuffle", "--no-shuffle"], "--shuffle and --no-shuffle are both given"),
        (["-o", "a", "--out", "b"], "--out is given twice (a, then b)"),
        (["-oa", "-o", "b"], "--out is given twice (a, then b)"),  # -oFILE
    ],
)
def test_an_option_of_one_value_given_twice_is_refused(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """click kept the last value of an option given twice, in silence (a
    TensorFlow user's --clip keras.norm=1 --clip keras.global_norm=0.1)."""
    code, _, err = run(["fit", "seed001_line", "--steps", "2", *args], capsys)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    # a flag said twice means it once
    code, _, err = run(
        ["fit", "seed001_line", "--steps", "2", "-q", "-q", "-o", str(tmp_path / "r")],
        capsys,
    )
    assert code == 0, err


def test_the_check_of_twice_reads_values_and_groups_as_click_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reviewer's cases: a value that is an option's name is a value; a group's
    command (data line) is checked too; --help is help whatever else is given."""
    code, _, err = run(
        ["data", "line", "-o", str(tmp_path / "a.csv"), "-o", str(tmp_path / "b.csv")],
        capsys,
    )
    assert code == 2 and "--out is given twice" in err, err
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "b.csv").exists()
    code, out, err = run(["fit", "--lr", "0.1", "--lr", "0.2", "--help"], capsys)
    assert code == 0 and "Usage: gradtrace fit" in out, err
    # -o is --model-expr's value here, not a second --out: the expression is told
    code, _, err = run(
        ["fit", "seed001_line", "--model-expr", "-o", "-o", str(tmp_path / "r")],
        capsys,
    )
    assert code == 2 and "given twice" not in err and "--model-expr" in err, err


def test_standard_input_in_another_encoding_is_told_to_be_utf8(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """UTF-16 on standard input read "cannot read standard input as a table
    ('utf-8' codec can't encode ...: surrogates not allowed)"."""
    import io

    utf16 = io.TextIOWrapper(io.BytesIO("x,y\n1,3\n2,5\n".encode("utf-16")))
    monkeypatch.setattr("sys.stdin", utf16)
    code, _, err = run(["fit", "-"], capsys)
    assert code == 2 and err == (
        "error: standard input is not UTF-8 text (another encoding, or not a text "
        "table): save it as UTF-8 (a spreadsheet's 'CSV UTF-8'), or give a "
        "Parquet, .npy or .npz file.\n"
    )
    bom = io.TextIOWrapper(io.BytesIO("\ufeffx,y\n1,3\n2,5\n3,7.5\n".encode()))
    monkeypatch.setattr("sys.stdin", bom)
    code, out, err = run(["fit", "-", "-q", "--steps", "2"], capsys)
    assert code == 0 and "(3 rows; x -> y)" in out, err


def test_a_near_file_name_and_a_near_command_are_suggested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teacher's lines.csv beside line.csv was told to check the path, and
    gradtrace fitt that there is no such command, with no guess (an option's
    typo has one)."""
    (tmp_path / "line.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    line = one_line_error([str(tmp_path / "lines.csv")], tmp_path, capsys)
    assert line == (
        f"error: data file {str(tmp_path / 'lines.csv')!r} not found: check the "
        f"path, or did you mean {str(tmp_path / 'line.csv')!r}?"
    )
    # nothing near: the path alone
    line = one_line_error([str(tmp_path / "other.csv")], tmp_path, capsys)
    assert line.endswith("not found: check the path.")
    for typed, meant in (("fitt", "fit"), ("lr_find", "lr-find"), ("swep", "sweep")):
        code, _, err = run([typed, "line.csv"], capsys)
        assert code == 2 and err.strip() == (
            f"error: no such command {typed!r}: did you mean {meant}? "
            "(see gradtrace --help)"
        ), err
    code, _, err = run(["zzz"], capsys)
    assert code == 2 and err.startswith(
        "error: no such command 'zzz': the commands are fit, sweep, lr-find, "
    )
    assert err.strip().endswith("demo. (see gradtrace --help)"), err
    # "runs" is no near "rerun" (a cutoff of 0.75); a file or a folder where
    # the command goes is told the command that takes it
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # where no folder "runs" is
    code, _, err = run(["runs"], capsys)
    assert code == 2 and "no such command 'runs': the commands are fit," in err
    code, _, err = run([str(tmp_path / "line.csv")], capsys)
    assert f"to fit a file, gradtrace fit {tmp_path / 'line.csv'}." in err
    code, _, err = run([str(tmp_path)], capsys)
    assert f"to list the runs in it, gradtrace ls {tmp_path}." in err
    (tmp_path / "run.json").write_text("{}")
    code, _, err = run([str(tmp_path)], capsys)
    assert f"to see the run, gradtrace show {tmp_path}." in err


def test_x_columns_a_shell_would_split_are_suggested_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "name the x columns (--x Area m² --x rooms/#)": pasted, the shell split
    Area m² into two words. The command line quotes them; Python's x= list reads
    them back."""
    from gradtrace.text import for_python, x_flags

    flags = x_flags(["Area m²", "rooms", "it's"])
    assert flags == "--x 'Area m²' --x rooms --x 'it'\"'\"'s'"
    assert for_python(f"name the x columns ({flags}) to leave it out") == (
        "name the x columns (x=['Area m²', 'rooms', \"it's\"]) to leave it out"
    )
    data = csv(tmp_path, "Area m²,kind,y\n1,a,3\n2,b,5\n3,a,7\n")
    line = one_line_error([data, "--model", "linear"], tmp_path, capsys)
    assert "name the x columns (--x 'Area m²') to leave it out" in line


def test_a_windows_spreadsheets_csv_is_read_as_cp1252_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Excel's plain CSV on Windows is cp1252, not UTF-8: a data scientist was
    told to save it again. It is read so, its column names whole, and said so;
    a binary file is still refused."""
    path = tmp_path / "cp.csv"
    path.write_bytes("Fläche m²,y\n1,2\n2,4\n3,7\n".encode("cp1252"))
    code, out, err = run(
        [
            "fit",
            str(path),
            "--x",
            "Fläche m²",
            "--steps",
            "2",
            "-o",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "(3 rows; Fläche m² -> y)" in out
    assert "is not UTF-8: it is read as Windows-1252 (cp1252)" in err
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"x,y\n\x00\x81\x8d\xff\n")
    line = one_line_error([str(binary)], tmp_path, capsys)
    assert "is not UTF-8 text (another encoding, or not a text table)" in line


def test_fixing_one_element_of_a_vector_says_only_whole_parameters_are_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--init w[0]=1 sets one slope; --fix w[0]=0 said the model has no
    parameter 'w[0]' (a newcomer's find): it says what --fix holds."""
    data = csv(tmp_path, "a,b,y\n1,2,0\n2,1,1\n3,5,0\n4,3,1\n")
    line = one_line_error(
        [data, "--model", "logistic", "--y", "y", "--fix", "w[0]=0"], tmp_path, capsys
    )
    assert "--fix w[0]: only whole parameters are held (w, all its values)" in line
    assert "leave its x column out" in line


def test_views_data_that_lack_the_runs_columns_name_them_not_absent_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """report --data with other columns said "pass --x with one of them", and
    report has no --x (a newcomer's find): the run's own columns are named."""
    frame = pd.DataFrame({"driver age": [20.0, 30, 40, 50], "claims": [0.0, 1, 1, 3]})
    gradtrace.fit(
        frame, "poisson-regression", x=["driver age"], y="claims", steps=2
    ).save(tmp_path / "run")
    data = csv(tmp_path, "a,b\n1,2\n3,4\n")
    code, _, err = run(
        [
            "report",
            str(tmp_path / "run"),
            "--data",
            data,
            "-o",
            str(tmp_path / "r.html"),
        ],
        capsys,
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "column 'driver age' not found" in err and "--x" not in err
    assert (
        "give the run's own data, whose columns it names ('driver age', 'claims')."
        in err
    )
    assert not (tmp_path / "r.html").exists()
    # resume --data likewise: it said "pass --y ...", an option resume lacks
    from helpers import ctrl_c_after

    cut = gradtrace.fit(
        frame,
        "poisson-regression",
        x=["driver age"],
        y="claims",
        steps=40,
        checkpoint_every=9,
        out=tmp_path / "cut",
        progress=ctrl_c_after(3),
    )
    assert cut.status == "interrupted"
    code, _, err = run(["resume", str(tmp_path / "cut"), "--data", data], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--y" not in err and err.startswith("error: these data do not fit the run: ")
    assert "whose columns it names ('driver age', 'claims')." in err
