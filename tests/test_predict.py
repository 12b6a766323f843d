"""``Trace.predict``: a fitted model's prediction at new rows, as statsmodels'
and scikit-learn's ``predict`` give it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gradtrace

RNG = np.random.default_rng(3)
FRAME = pd.DataFrame({"a": RNG.normal(size=200) * 100, "b": RNG.normal(size=200)})
FRAME["y"] = 0.02 * FRAME["a"] - FRAME["b"] + 1 + RNG.normal(0, 0.1, 200)
NEW = pd.DataFrame({"b": [0.5, -1.0, 2.0], "a": [10.0, -250.0, 0.0], "z": 1})


def test_a_linear_model_on_standardised_x_predicts_in_xs_own_units() -> None:
    """New rows in x's own units; the slopes the run trained are per standard
    deviation, so predict standardises as the run did: the result is the fit's
    own in x's units (final_in_x_units), by hand."""
    trace = gradtrace.fit(FRAME, "linear", standardize=True, steps=400, lr=0.3)
    table = trace.summary()
    w = table["final_in_x_units"].to_numpy()
    by_hand = NEW[["a", "b"]].to_numpy() @ w[:2] + w[2]
    np.testing.assert_allclose(trace.predict(NEW), by_hand, rtol=1e-5)
    # an array of a column per x, in the run's order, is the same
    np.testing.assert_array_equal(
        trace.predict(NEW[["a", "b"]].to_numpy()), trace.predict(NEW)
    )
    assert trace.predict(NEW).dtype == np.float64


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_line_predicts_with_its_final_or_any_steps_parameters(tmp_path: Path) -> None:
    trace = gradtrace.fit({"x": FRAME["b"], "y": FRAME["y"]}, lr=0.2, steps=30)
    x = np.array([-1.0, 0.0, 3.0])
    w, b = trace.params["w"], trace.params["b"]
    np.testing.assert_allclose(trace.predict(x), w * x + b, rtol=1e-7)
    row = trace.to_pandas().set_index("step").loc[7]
    np.testing.assert_allclose(
        trace.predict({"x": x}, step=7), row["w"] * x + row["b"], rtol=1e-7
    )
    np.testing.assert_array_equal(trace.predict(x, step=0), 0.0)  # the start
    trace.save(tmp_path / "r")
    np.testing.assert_array_equal(
        gradtrace.load(tmp_path / "r").predict(x), trace.predict(x)
    )


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_logistic_regression_predicts_probabilities() -> None:
    x = FRAME["b"].to_numpy()
    y = (x + RNG.normal(0, 0.5, 200) > 0).astype(int)
    trace = gradtrace.fit({"x": x, "y": y}, "logistic", lr=0.5, steps=100)
    at = np.array([-2.0, 0.0, 2.0])
    w, b = trace.params["w"], trace.params["b"]
    w = float(np.ravel(w)[0])
    np.testing.assert_allclose(
        trace.predict(at), 1 / (1 + np.exp(-(w * at + b))), rtol=1e-6
    )


def test_a_model_of_ones_own_predicts_with_its_function() -> None:
    import jax.numpy as jnp

    t = np.linspace(0, 5, 80)
    model = gradtrace.Model(
        lambda p, x: p["a"] * jnp.exp(-p["k"] * x), params={"a": 1.0, "k": 0.5}
    )
    trace = gradtrace.fit(
        {"x": t, "y": 3 * np.exp(-0.7 * t)},
        model=model,
        optimizer="adam",
        lr=0.05,
        steps=200,
    )
    p = trace.params
    np.testing.assert_allclose(
        trace.predict(t[:5]), p["a"] * np.exp(-p["k"] * t[:5]), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            NEW[["a"]],
            "column 'b' not found in the data (columns: a): predict takes "
            "the run's x columns, a, b.",
        ),
        (
            np.zeros(3),
            "x of shape (3,) does not fit the run's 2 x columns (a, b): "
            "give [rows, 2].",
        ),
        (NEW.assign(b=["p", "q", "r"]), "column 'b' holds values that are not numbers"),
    ],
)
def test_x_that_does_not_fit_the_run_is_refused(data: object, message: str) -> None:
    trace = gradtrace.fit(FRAME, "linear", steps=3, lr=1e-5)
    with pytest.raises(gradtrace.InputError) as err:
        trace.predict(data)
    assert str(err.value).startswith(message)


def test_a_distribution_or_a_missing_step_has_nothing_to_predict() -> None:
    normal = gradtrace.fit(FRAME["y"], "normal", steps=3)
    with pytest.raises(gradtrace.InputError, match="predict is for regression"):
        normal.predict(NEW)
    line = gradtrace.fit({"x": FRAME["b"], "y": FRAME["y"]}, steps=3)
    with pytest.raises(
        gradtrace.InputError, match="no step 9: choose one from 0 to 3."
    ):
        line.predict([1.0], step=9)


def test_the_command_writes_the_datas_columns_and_the_prediction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    FRAME.to_csv(tmp_path / "train.csv", index=False)
    code, _, err = run_cli(
        [
            "fit",
            str(tmp_path / "train.csv"),
            "--model",
            "linear",
            "--x",
            "a",
            "--x",
            "b",
            "--standardize",
            "--steps",
            "200",
            "--lr",
            "0.3",
            "--out",
            str(tmp_path / "run"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    NEW.to_csv(tmp_path / "new.csv", index=False)
    trace = gradtrace.load(tmp_path / "run")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv")], capsys
    )
    assert code == 0, err
    import io

    printed = pd.read_csv(io.StringIO(out))
    assert list(printed.columns) == ["b", "a", "z", "prediction"]
    np.testing.assert_allclose(printed["prediction"], trace.predict(NEW), rtol=1e-8)
    # to a file, Parquet by its name; at the start, every prediction 0
    code, _, err = run_cli(
        [
            "predict",
            str(tmp_path / "run"),
            str(tmp_path / "new.csv"),
            "--step",
            "0",
            "-o",
            str(tmp_path / "p.parquet"),
        ],
        capsys,
    )
    assert code == 0 and "wrote 3 predictions to" in err
    np.testing.assert_array_equal(
        pd.read_parquet(tmp_path / "p.parquet")["prediction"], 0.0
    )


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_the_command_writes_the_datas_own_columns_as_they_were_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data scientist's file came back with 51.257302210933936 cut to
    51.2573022, 123456789.123 to 123456789 and the zip code 01234 read as 1234:
    every column was written to 9 digits. Its own fields come back as written,
    in CSV and TSV; the predictions to 9 digits."""
    from helpers import run_cli

    FRAME.to_csv(tmp_path / "train.csv", index=False)
    run = str(tmp_path / "run")
    code, _, err = run_cli(
        ["fit", str(tmp_path / "train.csv"), "--model", "linear", "--x", "a"]
        + ["--x", "b", "--standardize", "--steps", "20", "--out", run, "-q"],
        capsys,
    )
    assert code == 0, err
    new = tmp_path / "new.csv"
    new.write_text(
        "id,a,zip,b\n1234567890123,51.257302210933936,01234,1e-12\n"
        "9007199254740993,48.5,99999,123456789.123\n3,,00001,NA\n"
    )
    code, out, err = run_cli(["predict", run, str(new)], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "id,a,zip,b,prediction"
    assert lines[1].startswith("1234567890123,51.257302210933936,01234,1e-12,")
    assert lines[2].startswith("9007199254740993,48.5,99999,123456789.123,")
    assert lines[3] == "3,,00001,NA,"  # no x: no prediction, the row as it was
    trace = gradtrace.load(run)
    frame = pd.read_csv(new)
    expected = trace.predict(frame[["a", "b"]].iloc[:2])
    written = [float(line.rsplit(",", 1)[1]) for line in lines[1:3]]
    np.testing.assert_allclose(written, expected, rtol=1e-8)
    code, _, err = run_cli(
        ["predict", run, str(new), "-o", str(tmp_path / "p.tsv")], capsys
    )
    assert code == 0, err
    tsv = (tmp_path / "p.tsv").read_text().splitlines()
    assert tsv[1].startswith("1234567890123\t51.257302210933936\t01234\t1e-12\t")
    # rows named (R's write.csv, and write.table's one field more): the names
    # first, under an empty header, as the rows were matched back by them
    for i, text in enumerate(
        (",a,b\nn1,0.5,1.5\nn2,-1,0\n", "a b\nn1 0.5 1.5\nn2 -1 0\n")
    ):
        named = tmp_path / "named.csv"
        named.write_text(text)
        code, out, err = run_cli(["predict", run, str(named)], capsys)
        assert code == 0, err
        lines = out.strip().splitlines()
        assert lines[0].split(",")[:3] == ["", "a", "b"] and "prediction" in lines[0]
        assert lines[1].startswith("n1,0.5,1.5,") and lines[2].startswith("n2,-1,0,")
        assert "taken for the row" in err
        # in Parquet, the names are the table's index, as pandas reads it back
        out_file = tmp_path / f"named{i}.parquet"
        code, _, err = run_cli(
            ["predict", run, str(named), "-o", str(out_file)], capsys
        )
        assert code == 0, err
        back = pd.read_parquet(out_file)
        assert list(back.index) == ["n1", "n2"] and list(back.columns)[:2] == ["a", "b"]
        np.testing.assert_allclose(
            back["prediction"], [float(line.rsplit(",", 1)[1]) for line in lines[1:]]
        )
    # a pandas file's own labels (its index, named) come back; row numbers don't
    labelled = pd.DataFrame(
        {"a": [0.5, -1.0], "b": [1.5, 0.0]}, index=pd.Index([7, 3], name="id")
    )
    for index, kept in ((labelled.index, [7, 3]), (pd.RangeIndex(2), None)):
        labelled.set_axis(index).to_parquet(tmp_path / "labelled.parquet")
        out_file = tmp_path / f"labelled-predictions{len(kept or [])}.parquet"
        code, _, err = run_cli(
            ["predict", run, str(tmp_path / "labelled.parquet"), "-o", str(out_file)],
            capsys,
        )
        assert code == 0, err
        back = pd.read_parquet(out_file)
        assert back.index.name == ("id" if kept else None)
        assert list(back.index) == (kept or [0, 1])
        assert "__index_level_0__" not in pq.read_schema(out_file).names
        code, out, err = run_cli(
            ["predict", run, str(tmp_path / "labelled.parquet")], capsys
        )
        assert code == 0, err
        head, first, second = out.strip().splitlines()
        if kept:
            assert head.startswith("id,a,b,") and first.startswith("7,0.5,1.5,")
            assert second.startswith("3,-1.0,0.0,")
        else:
            assert head.startswith("a,b,") and first.startswith("0.5,1.5,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["other.csv"], "other.csv' (columns: z): predict takes the run's x"),
        (["new.csv", "-o", "p.txt"], "predict writes .csv, .tsv or .parquet files"),
        (["new.csv", "--step", "99"], "the trace holds no step 99"),
        (["taken.csv"], "has a column named 'prediction' already: rename it"),
    ],
)
def test_the_command_refuses_in_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    trace = gradtrace.fit(FRAME, "linear", steps=3, lr=1e-5)
    trace.save(tmp_path / "run")
    NEW.to_csv(tmp_path / "new.csv", index=False)
    pd.DataFrame({"z": [1.0]}).to_csv(tmp_path / "other.csv", index=False)
    NEW.assign(prediction=1.0).to_csv(tmp_path / "taken.csv", index=False)
    first, *rest = args
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / first), *rest], capsys
    )
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "p.txt").exists()


def test_predicting_with_a_run_that_did_not_converge_warns_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run 50 standard errors from its optimum predicted as if it were a fit;
    the command now says so on stderr (the predictions stay on stdout), and a
    converged run's predictions come alone."""
    from helpers import run_cli

    new = tmp_path / "new.csv"
    new.write_text("x\n0.25\n0.5\n")  # within the x it was fitted on
    for lr, epochs, name in ((0.01, 10, "far"), (0.5, 200, "near")):
        code, _, err = run_cli(
            [
                "fit",
                "seed001_line",
                "--lr",
                str(lr),
                "--epochs",
                str(epochs),
                "--out",
                str(tmp_path / name),
                "-q",
            ],
            capsys,
        )
        assert code == 0, err
    code, out, err = run_cli(["predict", str(tmp_path / "far"), str(new)], capsys)
    assert code == 0 and out.startswith("x,prediction\n")
    [line] = err.splitlines()
    assert line.startswith(f"warning: predicting with {str(tmp_path / 'far')!r}: b ")
    assert "the run has not converged" in line
    code, out, err = run_cli(["predict", str(tmp_path / "near"), str(new)], capsys)
    assert code == 0 and err == ""


def test_the_command_notes_rows_missing_an_x_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row without x got an empty prediction, and nothing was said."""
    from helpers import run_cli

    run = tmp_path / "run"
    code, _, err = run_cli(
        ["fit", "seed001_line", "--steps", "5", "-q", "--out", str(run)], capsys
    )
    assert code == 0, err
    new = tmp_path / "new.csv"
    new.write_text("x\n1\n3\nNA\n5\n")
    code, out, err = run_cli(["predict", str(run), str(new)], capsys)
    assert code == 0, err
    assert out.splitlines()[3] == "NA,"  # the row as written, no prediction
    assert (
        f"note: 1 row of {str(new)!r} (data row 3) misses an x value: its "
        "prediction is left empty."
    ) in err


def test_the_command_names_a_bad_cell_by_its_files_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """predict's error named a file's row as pandas does, "(.iloc[0])", and told
    a decimal comma "write 6.3, not 6,3" whatever the value."""
    from helpers import run_cli

    gradtrace.fit("seed001_line", steps=3).save(tmp_path / "run")
    (tmp_path / "new.csv").write_text('x\n2\n"1,5"\n')
    code, _, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv")], capsys
    )
    assert code == 2 and "('1,5' in data row 2 (line 3), 1 such row)" in err
    assert "(a decimal comma: write 1.5, not 1,5)" in err and ".iloc" not in err


def test_standard_input_and_a_built_in_data_set_are_predicted_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Standard input's own fields came back rewritten (02134 as 2134), and a
    built-in data set's name was looked for as a file (a review's finds)."""
    import io
    import sys

    from helpers import run_cli

    gradtrace.fit("seed001_line", steps=3).save(tmp_path / "run")
    text = 'zip,x,note\n02134,1.000000000000000000001,"Boston, MA"\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, err = run_cli(["predict", str(tmp_path / "run"), "-"], capsys)
    assert code == 0, err
    assert out.splitlines()[1].startswith('02134,1.000000000000000000001,"Boston, MA",')
    code, out, err = run_cli(["predict", str(tmp_path / "run"), "seed001_line"], capsys)
    assert code == 0 and len(out.splitlines()) == 101, err


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_float64_runs_predictions_keep_their_digits_and_inf_is_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A float64 run's predictions were cut to float32's 9 digits, and one that
    overflowed was written as an empty cell without a word (a review's finds)."""
    from helpers import run_cli

    gradtrace.fit("seed001_line", steps=3, dtype="float64").save(tmp_path / "r64")
    (tmp_path / "new.csv").write_text("x\n2\n1e40\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "r64"), str(tmp_path / "new.csv")], capsys
    )
    assert code == 0, err
    first = out.splitlines()[1].split(",")[1]
    expected = gradtrace.load(tmp_path / "r64").predict(np.array([2.0]))[0]
    assert float(first) == expected  # every digit: 17 significant
    counts = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0)})
    gradtrace.fit(counts, "poisson-regression", steps=20).save(tmp_path / "p")
    (tmp_path / "far.csv").write_text("x\n2\n1e8\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "p"), str(tmp_path / "far.csv")], capsys
    )
    assert code == 0 and out.splitlines()[2] == "1e8,inf", out
    assert "note: 1 prediction overflowed to infinity (written as inf)" in err


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_spreadsheets_semicolons_and_decimal_commas_are_written_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A semicolon file with decimal commas (a German Excel's CSV) came back as a
    comma CSV, its own fields quoted ("1,5") beside predictions with points: a
    table its spreadsheet reads as text. It is written back as it came: the
    predictions are the same numbers, with commas."""
    import io
    import sys

    from helpers import run_cli

    trace = gradtrace.fit("seed001_line", steps=3)
    trace.save(tmp_path / "run")
    (tmp_path / "de.csv").write_text("x;note\n1,5;a\n-2;b\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "de.csv")], capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "x;note;prediction"
    want = trace.predict(np.array([1.5, -2.0]))
    for line, value in zip(lines[1:], want, strict=True):
        own, shown = line.rsplit(";", 1)
        assert own in ("1,5;a", "-2;b") and "." not in shown
        assert float(shown.replace(",", ".")) == pytest.approx(value, rel=1e-7)
    assert "written with semicolons and decimal commas (2,5), as" in err
    # a .tsv keeps the decimal commas, with tabs; Parquet holds numbers
    code, _, err = run_cli(
        [
            "predict",
            str(tmp_path / "run"),
            str(tmp_path / "de.csv"),
            "-o",
            str(tmp_path / "p.tsv"),
        ],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "p.tsv").read_text().splitlines()[1].startswith("1,5\ta\t")
    # semicolons with points stay so, from standard input too
    text = "x;note\n1.5;a\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, err = run_cli(["predict", str(tmp_path / "run"), "-"], capsys)
    assert code == 0, err
    assert out.splitlines()[1].startswith("1.5;a;") and "as standard input is" in err
    # a comma CSV is written as before, without a note
    (tmp_path / "en.csv").write_text("x\n1.5\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "en.csv")], capsys
    )
    assert (
        code == 0
        and out.splitlines()[0] == "x,prediction"
        and "written with" not in err
    )


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_negative_step_counts_from_the_end_as_explains_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    trace = gradtrace.fit("seed001_line", steps=5)
    x = np.array([0.5, 2.0])
    np.testing.assert_array_equal(trace.predict(x, step=-1), trace.predict(x))
    np.testing.assert_array_equal(trace.predict(x, step=-5), trace.predict(x, step=1))
    with pytest.raises(
        gradtrace.InputError, match="no step -6: choose one from 0 to 5, or -1 to -5"
    ):
        trace.predict(x, step=-6)
    trace.save(tmp_path / "run")
    (tmp_path / "new.csv").write_text("x\n0.5\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--step", "-1"],
        capsys,
    )
    assert code == 0, err
    assert float(out.splitlines()[1].split(",")[1]) == pytest.approx(
        trace.predict([0.5])[0], rel=1e-7
    )


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_a_row_missing_an_x_value_is_predicted_nan_in_python() -> None:
    """As the docstring says, and the command leaves an empty cell: NaN, None
    or no category gives NaN at that row (its interval too), the others as
    they were."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=60), "g": rng.choice(["p", "q"], 60)})
    frame["y"] = frame["a"] + (frame["g"] == "q") + rng.normal(size=60) / 4
    trace = gradtrace.fit(frame, "linear", x=["a", "g"], categorical="g", steps=3)
    new = pd.DataFrame({"a": [0.5, np.nan, 1.0], "g": ["q", "p", None]})
    got = trace.predict(new)
    whole = trace.predict(new.iloc[[0]])
    assert got[0] == whole[0] and np.isnan(got[1:]).all()
    band = trace.predict(new, interval="confidence")
    assert band.iloc[1:].isna().all().all() and band.iloc[0].notna().all()


def test_a_distributions_run_has_nothing_to_predict_in_either_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer's ``gradtrace predict`` of a gamma run was told to read
    ``trace.params``: the command line names its own command."""
    from helpers import run_cli

    y = np.random.default_rng(0).gamma(2.0, 1.5, 50)
    trace = gradtrace.fit({"y": y}, "gamma", optimizer="adam", lr=0.05, steps=5)
    with pytest.raises(gradtrace.InputError, match=r"\(its parameters: trace.params\)"):
        trace.predict([1.0])
    trace.save(tmp_path / "g")
    (tmp_path / "new.csv").write_text("y\n1\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "g"), str(tmp_path / "new.csv")], capsys
    )
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: predict is for regression models: gamma is a distribution of y, with "
        "no x to predict at (its parameters: gradtrace show RUN)."
    ]


def test_a_header_without_rows_is_refused_not_written_back_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    gradtrace.fit({"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0]}, steps=3).save(
        tmp_path / "r"
    )
    (tmp_path / "hx.csv").write_text("x\n")
    out_file = tmp_path / "p.csv"
    args = ["predict", str(tmp_path / "r"), str(tmp_path / "hx.csv")]
    code, out, err = run_cli([*args, "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and not out_file.exists()
    assert err.strip().splitlines()[-1] == (
        f"error: {str(tmp_path / 'hx.csv')!r} has a header but no rows: give at "
        "least one row of x values to predict at."
    )


def test_rows_beyond_the_data_the_run_was_fitted_on_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line fitted on x in [0, 1) predicted at x = 13 without a word (the
    README's own example): the rows beyond each column's range are now named,
    the predictions written as before; a run saved before run.json kept the
    ranges says nothing."""
    import json

    from helpers import run_cli

    trace = gradtrace.fit(FRAME, "linear", standardize=True, steps=5, lr=0.3)
    trace.save(tmp_path / "r")
    ranges = json.loads((tmp_path / "r" / "run.json").read_text())["data"]["x_range"]
    assert ranges == {
        c: [pytest.approx(FRAME[c].min()), pytest.approx(FRAME[c].max())]
        for c in ("a", "b")
    }
    low_a, high_b = float(FRAME["a"].min()), float(FRAME["b"].max())
    new = pd.DataFrame({"a": [0.0, low_a - 1, 0.0, low_a - 5], "b": [0.0, 0, 9, 9]})
    new.to_csv(tmp_path / "new.csv", index=False)
    args = ["predict", str(tmp_path / "r"), str(tmp_path / "new.csv")]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 5  # every row predicted
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    g = gradtrace.advice.g
    assert note == (
        f"note: 3 rows of {str(tmp_path / 'new.csv')!r} (data rows 2, 3 and 4) lie "
        "beyond the x values the run was fitted on "
        f"(a {g(low_a)} to {g(float(FRAME['a'].max()))}; "
        f"b {g(float(FRAME['b'].min()))} to {g(high_b)}): their predictions take "
        "the model past its data, where nothing tested it."
    )
    # the rows it was fitted on, their ends included, as a CSV writes them
    within = pd.concat([new.iloc[[0]], FRAME[["a", "b"]]])
    within.to_csv(tmp_path / "in.csv", index=False)
    code, _, err = run_cli([*args[:2], str(tmp_path / "in.csv")], capsys)
    assert code == 0 and "beyond the x" not in err
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    del info["data"]["x_range"]  # a run saved before
    (tmp_path / "r" / "run.json").write_text(json.dumps(info))
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "beyond the x" not in err


def test_standard_inputs_rows_are_named_alike_in_both_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row beyond the data and a row missing x, read from standard input: the
    notes named it "standard input" and "'-'"; and x = 1e40, cast to a float32
    run's x, printed NumPy's overflow warning beside them."""
    import io
    import warnings

    from helpers import run_cli

    run = tmp_path / "run"
    gradtrace.fit("seed001_line", steps=5).save(run)
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n0.5\nNA\n1e40\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # NumPy's overflow, raised
        code, out, err = run_cli(["predict", str(run), "-"], capsys)
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 2
    assert notes[0].startswith(
        "note: 1 row of standard input (data row 3) lies beyond the x values"
    )
    assert notes[1] == (
        "note: 1 row of standard input (data row 2) misses an x value: its "
        "prediction is left empty."
    )


def test_python_warns_of_rows_beyond_the_data_and_of_a_run_not_converged() -> None:
    """``trace.predict`` returned values alone where the command notes rows
    beyond the data and warns of a run that did not converge: Python now warns
    of both (``GradtraceWarning``, from the caller's line), naming a frame's
    rows by their labels and an array's by position; a converged run within its
    data, or a step's parameters asked for, predicts without a word."""
    import warnings

    from gradtrace import GradtraceWarning

    frame = pd.DataFrame({"x": np.linspace(0.0, 1.0, 20)})
    frame["y"] = 2 * frame["x"] + 1
    fit = gradtrace.fit(frame, "line", optimizer="adam", lr=0.1, steps=800)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit.predict([0.0, 0.5, 1.0])  # within, the ends included
        fit.predict(frame)
    with pytest.warns(GradtraceWarning) as caught:
        fit.predict([0.5, 1.5, -2.0])
    (said,) = caught
    assert said.filename == __file__  # the caller's line
    assert str(said.message) == (
        "2 of the 3 rows (positions 1 and 2) lie beyond the x values the run was "
        "fitted on (x 0 to 1): their predictions take the model past its data, "
        "where nothing tested it."
    )
    labelled = pd.DataFrame({"x": [0.5, 3.0]}, index=["kept", "far"])
    with pytest.warns(GradtraceWarning, match=r"^1 of the 2 rows \(row 'far'\) lies"):
        fit.predict(labelled)
    with pytest.warns(GradtraceWarning, match=r"^the row \(position 0\) lies"):
        fit.predict(pd.DataFrame({"x": [3.0]}))

    early = gradtrace.fit(frame, "line", lr=0.01, steps=5)
    with pytest.warns(GradtraceWarning, match="^predicting with this run: ") as caught:
        early.predict([0.5])
    assert "has not converged" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        early.predict([0.5], step=3)  # a step asked for: its own parameters
    diverged = gradtrace.fit(frame, "line", lr=50.0, steps=30)
    assert diverged.status == "diverged"
    with pytest.warns(GradtraceWarning, match="^predicting with this run: diverged"):
        diverged.predict([0.5])


def test_predicting_with_a_diverged_run_says_so_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that diverged predicted 1e19 with exit 0 and no word, and an
    overflow's note blamed x "far beyond the data's": the command now says how
    the run ended, as it does of a run that did not converge."""
    from helpers import run_cli

    new = tmp_path / "new.csv"
    new.write_text("x\n0.5\n")
    out_dir = str(tmp_path / "div")
    code, _, _ = run_cli(
        ["fit", "seed001_line", "--lr", "5", "--steps", "50", "-o", out_dir, "-q"],
        capsys,
    )
    assert code == 1  # diverged
    code, out, err = run_cli(["predict", out_dir, str(new)], capsys)
    assert code == 0 and out.startswith("x,prediction\n")
    [line] = err.splitlines()
    assert line.startswith(f"warning: predicting with {out_dir!r}: diverged at step ")
    # its own step's parameters, asked for, are no warning
    code, _, err = run_cli(["predict", out_dir, str(new), "--step", "3"], capsys)
    assert code == 0 and err == ""
