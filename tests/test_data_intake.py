"""What ``fit`` takes as data from Python: names kept, the one column besides y
taken as x, a named Series as a distribution's y, tables with ``to_pandas``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.helpers import run_cli

import gradtrace

RNG = np.random.default_rng(5)
X = RNG.normal(size=40)
Y = 2 * X + 1 + 0.1 * RNG.normal(size=40)


def _params(data: object, **options: object) -> dict[str, float]:
    trace = gradtrace.fit(data, epochs=3, lr=0.1, **options)  # type: ignore[arg-type]
    return {k: float(v) for k, v in trace.params.items()}


def test_the_one_column_besides_y_is_x_whatever_its_name() -> None:
    reference = _params(pd.DataFrame({"x": X, "y": Y}))
    cases = [
        pd.DataFrame({"dose": X, "y": Y}),
        (pd.DataFrame({"dose": X}), pd.Series(Y, name="resp")),  # scikit-learn's
        (pd.Series(X, name="dose"), Y),
    ]
    for data in cases:
        trace = gradtrace.fit(data, epochs=3, lr=0.1)  # type: ignore[arg-type]
        assert trace.info["data"]["x"] == ["dose"]
        assert {k: float(v) for k, v in trace.params.items()} == reference
    # two candidates: still asked which
    with pytest.raises(gradtrace.InputError, match="takes one x column and the data"):
        gradtrace.fit(pd.DataFrame({"dose": X, "age": X, "y": Y}), epochs=1)


def test_an_x_y_pairs_named_y_keeps_its_name() -> None:
    """(X, y) with y a named Series: the run's y is that name, as X's columns keep
    theirs (it was recorded as "y"); an unnamed y, or one named as an x column,
    is y; a y given by name is looked up as before."""
    frame = pd.DataFrame({"dose": X, "age": X**2})
    trace = gradtrace.fit((frame, pd.Series(Y, name="resp")), "linear", steps=2)
    assert trace.info["data"]["y"] == "resp" and trace.info["data"]["x"] == [
        "dose",
        "age",
    ]
    plain = gradtrace.fit((frame, pd.Series(Y)), "linear", steps=2)
    assert plain.info["data"]["y"] == "y"
    clash = gradtrace.fit((frame, pd.Series(Y, name="dose")), "linear", steps=2)
    assert clash.info["data"]["y"] == "y"
    assert trace.params["b"] == plain.params["b"] == clash.params["b"]


def test_a_named_series_is_a_distributions_y() -> None:
    named = _params(pd.Series(Y, name="height"), model="normal")
    assert named == _params(pd.Series(Y), model="normal")
    assert named == _params((None, Y), model="normal")


def test_a_table_with_to_pandas_is_taken_as_its_data_frame() -> None:
    arrow = pa.table({"x": X, "y": Y})
    assert _params(arrow) == _params(pd.DataFrame({"x": X, "y": Y}))
    with pytest.raises(
        gradtrace.InputError, match="column 'q' not found in the pyarrow Table"
    ):
        gradtrace.fit(arrow, x="q", epochs=1)
    with pytest.raises(
        gradtrace.InputError, match="cannot use object as data: give a pandas"
    ):
        gradtrace.fit(object(), epochs=1)  # type: ignore[arg-type]


def test_a_list_of_numbers_reads_as_its_array_and_others_are_told() -> None:
    """A newcomer's gradtrace.fit(list(values), "normal") was refused, where the
    same numbers as an array, a tuple of lists or a dict of lists were taken."""
    assert _params(list(Y), model="normal") == _params(np.asarray(Y), model="normal")
    rows = np.column_stack([X, Y])
    assert _params(rows.tolist()) == _params(rows)
    for bad in (["a", "b"], [], [[1.0, 2.0], [3.0]]):
        with pytest.raises(gradtrace.InputError, match="^cannot use list as data: "):
            gradtrace.fit(bad, "normal", epochs=1)  # type: ignore[arg-type]


def test_a_frame_naming_a_column_twice_is_told_so() -> None:
    """Two columns named age: y='age' was "no x columns besides 'age'", and the
    names never said twice."""
    frame = pd.DataFrame(np.column_stack([X, Y]), columns=["age", "age"])
    with pytest.raises(
        gradtrace.InputError,
        match=r"^the data frame has two columns named 'age' \(columns 1 and 2\): "
        "rename one, or remove it.$",
    ):
        gradtrace.fit(frame, "logistic", y="age", epochs=1)


@pytest.mark.parametrize("given", ["series", "(None, series)"])
def test_a_named_series_keeps_its_name_and_is_not_called_unused(given: str) -> None:
    series = pd.Series(Y, name="height")
    data = series if given == "series" else (None, series)
    trace = gradtrace.fit(data, "normal", epochs=2, lr=0.1)
    assert trace.info["data"]["y"] == "height"
    assert trace.info["notices"] == []


def test_the_runs_notes_reach_python() -> None:
    """A dropped row: the command line printed it as a note; Python showed
    nothing of it."""
    y = np.array(Y, dtype=float)
    y[3] = np.nan
    frame = pd.DataFrame({"x": np.arange(len(y), dtype=float), "y": y})
    trace = gradtrace.fit(frame, epochs=2, lr=0.001, drop_missing=True)
    assert trace.notes and "dropped 1 row" in trace.notes[0]
    assert trace.notes == [f"{n}." for n in trace.info["notices"]]
    assert trace.summary().attrs["notes"] == trace.notes
    assert "note: dropped 1 row" in trace._repr_html_()


def test_a_missing_value_is_named_by_its_column_and_index_label() -> None:
    frame = pd.DataFrame({"x": X[:4], "y": Y[:4]}, index=["a", "b", "c", "d"])
    frame.loc["c", "x"] = np.nan
    with pytest.raises(gradtrace.InputError) as refused:
        gradtrace.fit(frame, epochs=1)
    assert str(refused.value) == (
        "the data frame has a missing value (NaN) in column 'x', data row 3 "
        "(.iloc[2]), index 'c' (1 such row): clean the data, or pass "
        "drop_missing=True to drop them."
    )


def test_slopes_are_named_by_their_columns_in_the_table_and_pictures() -> None:
    from matplotlib.figure import Figure

    X2 = np.column_stack([X, RNG.normal(size=40)])
    frame = pd.DataFrame({"age": X2[:, 0], "income": X2[:, 1], "y": Y})
    trace = gradtrace.fit(frame, "linear", x=["age", "income"], epochs=2, lr=0.1)
    table = trace.summary()
    assert list(table.index) == ["w[0]", "w[1]", "b"]  # the trace's own columns
    assert table["x"].tolist()[:2] == ["age", "income"] and table["x"].isna().iloc[2]
    # the landscape takes a slope by its column's name
    by_name = trace.plot("landscape", params=("age", "b"))
    assert isinstance(by_name, Figure) and "w[age]" in by_name.axes[0].get_xlabel()
    labels = [ax.get_ylabel() for ax in trace.plot("params").axes]
    assert labels == ["w[age]", "w[income]", "b"]
    # one x column: nothing to tell apart
    assert "x" not in gradtrace.fit(frame, x="age", epochs=1, lr=0.1).summary()


def test_a_given_y_is_not_swapped_for_the_one_column() -> None:
    with pytest.raises(gradtrace.InputError, match="column 'zz' not found"):
        gradtrace.fit(pd.DataFrame({"h": Y}), "normal", y="zz", epochs=1)


def test_a_shifted_index_is_named_by_its_label() -> None:
    frame = pd.DataFrame({"x": X[:6], "y": Y[:6]}).iloc[2:]
    frame.loc[4, "x"] = np.nan
    with pytest.raises(gradtrace.InputError, match=r"\(\.iloc\[2\]\), index 4 \("):
        gradtrace.fit(frame, epochs=1)


def test_a_parameters_own_name_comes_before_a_column_named_like_it() -> None:
    frame = pd.DataFrame({"a": X, "b": RNG.normal(size=40), "y": Y})
    trace = gradtrace.fit(frame, "linear", x=["a", "b"], epochs=2, lr=0.1)
    figure = trace.plot("landscape", params=("a", "b"))
    assert "w[a]" in figure.axes[0].get_xlabel()
    assert figure.axes[0].get_ylabel().strip() == "b"  # the intercept, not w[b]


def test_a_text_column_taken_as_x_by_default_is_said_to_be_left_out_by_x() -> None:
    """logistic reads every column but y; an id column of text among them is
    refused with the way to leave it out, and --x does; a text column named
    with --x is refused without that way out."""
    frame = pd.DataFrame(
        {"id": [f"p{i}" for i in range(6)], "x": [0.1, 0.5, -0.3, 1.2, 0.2, -1.0]}
    )
    frame["y"] = [0, 1, 0, 1, 1, 0]
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(frame, "logistic", steps=2)
    assert str(err.value) == (
        "column 'id' of the data frame has a non-numeric value 'p0' in data row 1 "
        "(.iloc[0]): fix or remove it, or name the x columns (x='x') to leave it "
        "out: logistic reads every column but y unless told."
    )
    assert gradtrace.fit(frame, "logistic", x="x", steps=2).info["data"]["x"] == ["x"]
    with pytest.raises(gradtrace.InputError, match=r"fix or remove it\.$"):
        gradtrace.fit(frame, "logistic", x=["id", "x"], steps=2)


def test_a_category_of_text_is_said_to_want_0_1_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A text column of a few values, each repeated, is a category: the message
    says how to give it (pandas' get_dummies in Python), and a list of the other
    x columns, as Python writes one, leaves it out."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "u": rng.normal(size=40),
            "v": rng.normal(size=40),
            "g": pd.Categorical(rng.choice(["north", "south", "west"], 40)),
        }
    )
    frame["y"] = rng.poisson(2, 40)
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(frame, "poisson-regression", steps=2)
    message = str(err.value)
    assert "it seems a category (3 values: 'north', 'south', 'west')" in message
    assert "categorical=['g'] codes it as a 0/1 column for each value but" in message
    assert "name the x columns (x=['u', 'v']) to leave it out" in message
    # what it says to do works
    coded = gradtrace.fit(frame, "poisson-regression", categorical=["g"], steps=2)
    assert coded.info["data"]["x"] == ["u", "v", "g=south", "g=west"]
    # a file says it in its own words
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err_text = run_cli(
        ["fit", str(tmp_path / "d.csv"), "--model", "poisson-regression"], capsys
    )
    assert code == 2 and "--categorical g codes it as a 0/1 column" in err_text
    assert "(--x u --x v)" in err_text
    # text of many values, or of values seen once each, is no category
    names = frame.assign(g=[f"p{i}" for i in range(40)])
    with pytest.raises(
        gradtrace.InputError, match=r"'p0' in data row 1 \(\.iloc\[0\]\): fix"
    ):
        gradtrace.fit(names, "poisson-regression", steps=2)


def test_a_column_that_counts_the_rows_taken_as_x_by_default_is_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id or index column among the columns read by default would be taken for a
    predictor: the run notes it and how to leave it out."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"id": np.arange(1, 31), "u": rng.normal(size=30), "v": rng.normal(size=30)}
    )
    frame["y"] = rng.poisson(2, 30)
    trace = gradtrace.fit(frame, "poisson-regression", steps=2)
    assert trace.notes == [
        "column id counts the rows (1, 2, 3, ...): if it is an id or an index, name "
        "the x columns (x=['u', 'v']) to leave it out (x is every column but y "
        "unless told)."
    ]
    assert gradtrace.fit(frame, "poisson-regression", x=["u", "v"], steps=2).notes == []
    # a column of even numbers counts no rows
    evens = frame.assign(id=np.arange(30) * 2.0)
    assert gradtrace.fit(evens, "poisson-regression", steps=2).notes == []
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run_cli(
        ["fit", str(tmp_path / "d.csv"), "--model", "poisson-regression"], capsys
    )
    # the default rate on unscaled counts: its loss rises, and the command says
    # so with exit code 1; the note is what is tested
    assert code in (0, 1) and "Traceback" not in err, err
    assert "name the x columns (--x u --x v) to leave it out" in out + err


def test_a_data_frame_of_numbered_columns_takes_x_and_y_by_number() -> None:
    """pd.DataFrame(array) has columns 0, 1, 2: x=0 and y=2 (or "2") name them,
    as pandas does; x=[0, 1] is two columns, not two values."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 3))
    a[:, 2] = 2 * a[:, 0] - a[:, 1] + 1
    frame = pd.DataFrame(a)
    one = gradtrace.fit(frame, "line", x=0, y=2, steps=3, lr=0.1)
    assert one.info["data"]["x"] == ["0"] and one.info["data"]["y"] == "2"
    both = [
        gradtrace.fit(frame, "linear", steps=3, lr=0.1, **options).params
        for options in ({"x": [0, 1], "y": 2}, {"y": 2}, {"y": "2"})
    ]
    for params in both[1:]:
        np.testing.assert_array_equal(params["w"], both[0]["w"])
    assert list(frame.columns) == [0, 1, 2]  # the caller's frame as it was


@pytest.mark.parametrize("values", [pd.Series(Y), Y])
def test_y_given_as_values_is_refused_in_a_line(values: object) -> None:
    """scikit-learn's fit(X, y) habit: y=the values crashed on 'the truth value
    of a Series is ambiguous'."""
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(pd.DataFrame({"x": X}), "line", y=values, steps=2)
    assert str(err.value).startswith(
        "y takes the name of the y column, such as y='y', not its values"
    )
    assert "fit((X, y), ...)" in str(err.value)


def test_text_y_of_two_values_is_said_to_want_0_and_1() -> None:
    """get_dummies, the advice for an x category, would drop y itself."""
    frame = pd.DataFrame({"x": X, "yy": np.where(Y > 1, "yes", "no")})
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(frame, "logistic", y="yy", steps=2)
    assert str(err.value).endswith(
        "it seems a category (2 values: 'no', 'yes'): y is fitted as numbers; "
        "write it as 0 for 'no' and 1 for 'yes', such as (df['yy'] == "
        "'yes').astype(int), or the other way round."
    )
    # as it says
    frame["yy"] = (frame["yy"] == "yes").astype(int)
    assert gradtrace.fit(frame, "logistic", y="yy", steps=2).steps == 2


def test_the_way_out_of_a_text_x_names_no_other_text_column() -> None:
    """Two category columns: leaving out the first by naming the x columns must
    not name the second, which would fail in turn."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"age": rng.normal(size=40), "region": rng.choice(["a", "b", "c"], 40)}
    )
    frame["region_cat"] = frame["region"].astype("category")
    frame["spend"] = rng.normal(size=40)
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(frame, "linear", y="spend", steps=2)
    assert "name the x columns (x='age') to leave it out" in str(err.value)


def test_an_arrays_column_names_are_said_to_be_gradtraces() -> None:
    """A NumPy array's columns are x0, x1, ..., y: a name of the user's own is
    not 'did you mean x0'."""
    a = np.random.default_rng(2).normal(size=(30, 3))
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(a, "linear", x=["x1", "x2"], y="y", steps=2)
    assert str(err.value).endswith(
        "an array's columns are named x0, x1 and y, its last: use those names, or "
        "pass a DataFrame to name them."
    )


def test_a_trailing_comma_on_every_line_adds_no_column(tmp_path: Path) -> None:
    """x,y, on every line: pandas reads a third, empty column "Unnamed: 2", which
    a run noted as not used; it is dropped on reading. A named empty column, or
    an unnamed one holding values, stays."""
    from gradtrace.data import read_table

    path = tmp_path / "trailing.csv"
    path.write_text("x,y,\n1,3,\n2,5,\n3,7.1,\n")
    assert list(read_table(path).columns) == ["x", "y"]
    trace = gradtrace.fit(str(path), steps=2)
    assert not [n for n in trace.notes if "Unnamed" in n]
    kept = tmp_path / "kept.csv"
    kept.write_text("x,y,\n1,3,9\n2,5,8\n")
    assert list(read_table(kept).columns) == ["x", "y", "Unnamed: 2"]


def test_options_that_change_nothing_are_noted() -> None:
    """--drop-last with full batches or batches that divide the rows, and a seed
    where nothing is shuffled, were taken in silence."""
    trace = gradtrace.fit(
        "seed001_line", drop_last=True, seed=3, steps=2, batch_size=10, shuffle=False
    )
    assert trace.notes == [
        "drop_last=True changes nothing here: 100 rows make whole batches of 10.",
        "seed=3 changes nothing here: it draws the shuffled batches' order, and "
        "these batches are taken in order (shuffle=False).",
    ]
    full = gradtrace.fit("seed001_line", drop_last=True, steps=2)
    assert full.notes == [
        "drop_last=True changes nothing here: every step sees all the rows, so no "
        "batch is partial."
    ]
    used = gradtrace.fit("seed001_line", drop_last=True, seed=3, batch_size=30, steps=2)
    assert used.notes == []


def test_numbers_as_categories_are_not_fitted_as_one_slope() -> None:
    """A pandas Categorical of levels 4, 3, 2, 1 was fitted as numbers, one
    slope, in silence (R makes a 0/1 column of each level but the first)."""
    levels = [4, 3, 2, 1]
    frame = pd.DataFrame(
        {"g": pd.Categorical(levels * 3, categories=levels), "y": np.arange(12.0)}
    )
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit(frame, x="g", steps=2)
    assert str(err.value) == (
        "column 'g' of the data frame is categorical (4 categories: 4, 3, 2, ...), "
        "not numbers: categorical=['g'] codes it as a 0/1 column for each category "
        "but the first (for a linear, logistic or poisson-regression model), or, if "
        "its values are numbers to fit as such, convert it (df['g'].astype(float))."
    )
    # what it says to do works (the categories in the Categorical's own order,
    # 4 the reference, as R's factor); a y of categories 0 and 1 is y's values
    assert gradtrace.fit(frame.assign(g=frame["g"].astype(float)), x="g").steps
    coded = gradtrace.fit(frame, "linear", categorical="g", steps=2)
    assert coded.info["data"]["x"] == ["g=3", "g=2", "g=1"]
    binary = pd.DataFrame({"x": np.arange(6.0), "y": pd.Categorical([0, 1] * 3)})
    assert gradtrace.fit(binary, "logistic", steps=2).status == "completed"


def test_a_y_named_without_x_notes_that_every_other_column_is_x() -> None:
    """--y price without --x took a 0/1 outcome beside the features for a
    predictor, said only in the run's header: the run notes the x it took."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"sqft": rng.normal(size=40), "age": rng.normal(size=40)})
    frame["sold"] = (rng.uniform(size=40) < 0.5).astype(float)
    frame["price"] = 3 * frame["sqft"] + rng.normal(size=40)
    run = gradtrace.fit(frame, "linear", y="price", steps=2)
    assert run.notes == [
        "linear reads every column but price as x: sqft, age, sold (x='NAME' "
        "chooses the x columns)."
    ]
    chosen = gradtrace.fit(frame, "linear", y="price", x=["sqft", "age"], steps=2)
    assert chosen.notes == []


def test_a_spreadsheets_empty_rows_below_its_data_are_left_out_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Excel saves ",," lines below the data (CRLF): they were refused as
    missing values. Trailing rows of empty cells are left out, said in a note;
    an empty row between rows of data is still a missing value."""
    from gradtrace.data import READ_NOTICES, read_table

    (tmp_path / "e.csv").write_bytes(b"x,y\r\n1,2\r\n2,4.1\r\n3,5.9\r\n,\r\n,\r\n")
    frame = read_table(tmp_path / "e.csv")
    assert len(frame) == 3
    assert frame.attrs[READ_NOTICES] == [
        "the last 2 rows are empty (every cell), as a spreadsheet saves rows below "
        "its data: left out"
    ]
    code, out, err = run_cli(["fit", str(tmp_path / "e.csv"), "--steps", "3", "-q",
                              "--out", str(tmp_path / "run")], capsys)  # fmt: skip
    assert code == 0 and "note: the last 2 rows are empty" in err + out
    # predict writes the data's own rows back, as many as it predicts
    (tmp_path / "new.csv").write_text("x,id\n1.5,007\n2,008\n,\n,\n")
    code, out, err = run_cli(
        ["predict", str(tmp_path / "run"), str(tmp_path / "new.csv")], capsys
    )
    assert code == 0, err
    # the fields as written (read as text, the empty rows as ""): 008, not 8.0
    lines = out.splitlines()
    assert lines[0] == "x,id,prediction" and len(lines) == 3
    assert lines[2].startswith("2,008,")
    (tmp_path / "mid.csv").write_text("x,y\n1,2\n,\n3,5.9\n")
    code, _, err = run_cli(["fit", str(tmp_path / "mid.csv"), "--steps", "3"], capsys)
    assert code == 2 and "missing value" in err


def test_a_pipe_is_read_once_as_a_text_table(tmp_path: Path) -> None:
    """bash's <(...) names a pipe, which can be read only once: its header
    line, read first on its own, left the rest to be read as a table whose
    "column names" were numbers. A pipe is now read whole, once."""
    import os
    import threading

    rows = "x,y\n" + "".join(f"{x},{2 * x + 1}\n" for x in range(10))

    def piped(text: str) -> Path:
        pipe = tmp_path / f"pipe{len(list(tmp_path.iterdir()))}"
        os.mkfifo(pipe)

        def write() -> None:
            with open(pipe, "w") as f:
                f.write(text)

        threading.Thread(target=write, daemon=True).start()
        return pipe

    trace = gradtrace.fit(piped(rows), steps=2)
    assert trace.info["data"]["n_rows"] == 10
    with pytest.raises(gradtrace.InputError, match="is empty: it needs a header"):
        gradtrace.fit(piped(""), steps=2)
