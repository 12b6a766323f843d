"""``--categorical`` / ``categorical=``: an x column of categories coded as a 0/1
column per value but the first, as R's ``factor`` and statsmodels' ``C()`` code
it, checked against statsmodels' fits on the same 0/1 columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import gradtrace
from gradtrace.categories import MOST_LEVELS, level, levels_of
from gradtrace.errors import InputError
from helpers import run_cli


def admissions(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rank = rng.integers(1, 5, n)
    gre = rng.normal(580, 115, n)
    eta = -2 + 0.004 * (gre - 580) - 0.6 * (rank - 1)
    admit = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"rank": rank, "gre": gre, "admit": admit})


def test_a_logistic_regression_on_a_rank_is_statsmodels_on_its_0_1_columns() -> None:
    frame = admissions()
    trace = gradtrace.fit(
        frame,
        "logistic",
        x=["rank", "gre"],
        y="admit",
        categorical="rank",
        standardize=True,
        steps=3000,
        lr=0.5,
    )
    assert trace.info["data"]["x"] == ["rank=2", "rank=3", "rank=4", "gre"]
    assert trace.info["data"]["categories"] == {"rank": ["1", "2", "3", "4"]}
    design = pd.get_dummies(
        frame["rank"], prefix="rank", prefix_sep="=", drop_first=True, dtype=float
    )
    design["gre"] = frame["gre"]
    logit = sm.Logit(frame["admit"], sm.add_constant(design)).fit(disp=0)
    units = trace.info["original_units"]
    np.testing.assert_allclose(units["optimum"]["w"], logit.params.iloc[1:], rtol=1e-6)
    np.testing.assert_allclose(units["stderr"]["w"], logit.bse.iloc[1:], rtol=1e-5)
    assert units["optimum"]["b"] == pytest.approx(logit.params["const"], rel=1e-6)
    # the summary names each slope's column; predict codes new rows' ranks
    assert list(trace.summary()["x"].iloc[:4]) == ["rank=2", "rank=3", "rank=4", "gre"]
    new = pd.DataFrame({"gre": [500.0, 700.0, 600.0], "rank": [1, 4, 2.0]})
    coded = pd.DataFrame(
        {
            "const": 1.0,
            "rank=2": [0.0, 0, 1],
            "rank=3": 0.0,
            "rank=4": [0.0, 1, 0],
            "gre": new["gre"],
        }
    )
    np.testing.assert_allclose(trace.predict(new), logit.predict(coded), rtol=1e-5)
    # an array gives the run's columns themselves, the 0/1 ones included
    np.testing.assert_allclose(
        trace.predict(coded.iloc[:, 1:].to_numpy()), trace.predict(new)
    )
    with pytest.raises(
        InputError, match=r"column 'rank' holds the value '5' in the data"
    ):
        trace.predict(new.assign(rank=5))
    with pytest.raises(InputError, match=r"takes the run's x columns, rank, gre\.$"):
        trace.predict(new[["gre"]])


def test_text_categories_sort_as_text_and_a_factors_order_is_its_own() -> None:
    column = pd.Series(["west", "north", None, "south", "north", "?"])
    assert levels_of(column, "g", "the data") == ["north", "south", "west"]
    assert levels_of(pd.Series([10, 9, 100, 9.0]), "g", "the data") == [
        "9",
        "10",
        "100",
    ]
    factor = pd.Series(
        pd.Categorical(["lo", "hi", "mid"], categories=["lo", "mid", "hi"])
    )
    assert levels_of(factor, "g", "the data") == ["lo", "mid", "hi"]
    assert [level(v) for v in (2, 2.0, 2.5, " a ", float("nan"), "NA.")] == [
        "2",
        "2",
        "2.5",
        "a",
        None,
        None,
    ]


def test_a_poisson_regression_on_regions_with_validation_rows_coded_alike() -> None:
    rng = np.random.default_rng(3)
    region = rng.choice(["north", "south", "west"], 300)
    effect = (
        pd.Series(region).map({"north": 0.0, "south": 0.5, "west": -0.4}).to_numpy()
    )
    frame = pd.DataFrame({"region": region, "age": rng.uniform(20, 60, 300)})
    frame["y"] = rng.poisson(np.exp(0.2 + effect + 0.01 * frame["age"])).astype(float)
    held = frame.iloc[250:].reset_index(drop=True)
    trace = gradtrace.fit(
        frame.iloc[:250], "poisson-regression", y="y", categorical=["region"],
        validation_data=held, optimizer="adam", lr=0.05, steps=200, standardize=True,
    )  # fmt: skip
    assert trace.info["data"]["x"] == ["region=south", "region=west", "age"]
    design = pd.get_dummies(frame.iloc[:250]["region"], drop_first=True, dtype=float)
    design["age"] = frame["age"].iloc[:250]
    glm = sm.GLM(
        frame["y"].iloc[:250], sm.add_constant(design), family=sm.families.Poisson()
    ).fit()
    np.testing.assert_allclose(
        trace.info["original_units"]["optimum"]["w"], glm.params.iloc[1:], rtol=1e-6
    )
    # the validation rows coded with the training rows' categories: their loss
    # at the final values, by hand
    w, b = (
        trace.info["original_units"]["final"]["w"],
        trace.info["original_units"]["final"]["b"],
    )
    coded = np.column_stack(
        [held["region"] == "south", held["region"] == "west", held["age"]]
    )
    eta = coded @ np.asarray(w) + b
    from scipy.special import gammaln

    by_hand = np.mean(np.exp(eta) - held["y"] * eta + gammaln(held["y"] + 1))
    assert trace.to_pandas()["val_loss"].dropna().iloc[-1] == pytest.approx(
        by_hand, rel=1e-4
    )
    with pytest.raises(
        InputError, match="holds the value 'east' in the validation data"
    ):
        gradtrace.fit(
            frame.iloc[:250], "poisson-regression", y="y", categorical="region",
            validation_data=held.assign(region="east"), steps=2,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"categorical": "nope"}, "categorical=['nope']: no such column"),
        ({"categorical": "y"}, "is the target"),
        ({"categorical": "g", "x": ["u"]}, "is not an x column"),
        (
            {"categorical": "g", "model": "line", "x": ["g"]},
            "is for the models linear, logistic and poisson-regression",
        ),
        (
            {"categorical": "one"},
            "every row of the data frame has the same value ('a')",
        ),
        ({"categorical": "ids"}, f"distinct values, over {MOST_LEVELS}"),
    ],
)
def test_bad_categorical_columns_are_told(kwargs: dict[str, object], said: str) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"u": rng.normal(size=150), "g": rng.choice(["a", "b"], 150), "one": "a",
         "ids": [f"id{i}" for i in range(150)], "y": rng.normal(size=150)}
    )  # fmt: skip
    options = {"model": "linear", "x": ["u", "g", "one", "ids"], **kwargs}
    with pytest.raises(InputError) as err:
        gradtrace.fit(frame, steps=2, **options)  # type: ignore[arg-type]
    assert said in str(err.value)


@pytest.mark.filterwarnings("ignore::gradtrace.errors.GradtraceWarning")
def test_the_command_line_codes_reads_back_and_predicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = admissions(120)
    frame["rank"] = frame["rank"].map({1: "top", 2: "high", 3: "mid", 4: "low"})
    frame.to_csv(tmp_path / "adm.csv", index=False)
    out = tmp_path / "run"
    args = [
        "fit", str(tmp_path / "adm.csv"), "--model", "logistic", "--y", "admit",
        "--categorical", "rank", "--standardize", "--steps", "300", "--lr", "0.5",
        "-q", "--out", str(out),
    ]  # fmt: skip
    code, said, err = run_cli(args, capsys)
    assert code == 0, err
    assert "(120 rows; rank=low, rank=mid, rank=top, gre -> admit)" in said
    info = json.loads((out / "run.json").read_text())
    # kept with its categories: a run read back codes its data as it did
    assert info["config"]["categorical"] == {"rank": ["high", "low", "mid", "top"]}
    # the run read back with its data plans them again alike
    again = gradtrace.load(out, data=str(tmp_path / "adm.csv"))
    assert again.info["data"]["x"] == ["rank=low", "rank=mid", "rank=top", "gre"]
    pd.DataFrame({"rank": ["high", "top"], "gre": [600, 600]}).to_csv(
        tmp_path / "new.csv", index=False
    )
    code, written, err = run_cli(
        ["predict", str(out), str(tmp_path / "new.csv")], capsys
    )
    assert code == 0, err
    rows = [line.split(",") for line in written.splitlines()]
    assert rows[1][:2] == ["high", "600"] and float(rows[2][2]) > 0
    want = gradtrace.load(out).predict(
        pd.DataFrame({"rank": ["high", "top"], "gre": [600.0, 600.0]})
    )
    assert [float(r[2]) for r in rows[1:]] == pytest.approx(list(want), rel=1e-7)
    # a streamed run cannot find a column's categories first: refused, one line
    frame.to_parquet(tmp_path / "adm.parquet")
    code, _, err = run_cli(
        [*args[:1], str(tmp_path / "adm.parquet"), *args[2:-2], "--stream"], capsys
    )
    assert code == 2 and "--categorical reads each column's categories" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_category_is_told_by_its_column_and_dropped_on_request() -> None:
    """A row without a rank is missing in each of rank's 0/1 columns: the message
    names rank (not rank=b), and --drop-missing drops the row once."""
    frame = pd.DataFrame(
        {"rank": ["a", "b", None, "a", "b", "c", "c", "b"], "u": np.arange(8.0)}
    )
    frame["y"] = np.arange(8.0) % 3
    with pytest.raises(InputError) as err:
        gradtrace.fit(frame, "linear", y="y", categorical="rank", steps=2)
    assert (
        "a missing value (NaN) in column 'rank', data row 3 (.iloc[2]) (1 such row)"
        in str(err.value)
    )
    dropped = gradtrace.fit(
        frame, "linear", y="y", categorical="rank", steps=2, drop_missing=True
    )
    assert dropped.info["data"]["dropped_rows"] == 1
    # two columns missing in one row: the row counted once, each column apart
    one = frame.assign(u=[0.0, 1, np.nan, 3, 4, 5, 6, 7])
    with pytest.raises(
        InputError, match=r"\(1 row misses a value: 1 in 'rank', 1 in 'u'\)"
    ):
        gradtrace.fit(
            one, "linear", y="y", categorical="rank", x=["rank", "u"], steps=2
        )


def test_a_category_only_the_split_holds_out_is_told() -> None:
    frame = pd.DataFrame({"rank": ["a", "b"] * 10 + ["c"] * 5, "u": np.arange(25.0)})
    frame["y"] = np.arange(25.0) % 4
    with pytest.raises(
        InputError, match="category 'c' of column 'rank' is only in the rows"
    ):
        gradtrace.fit(
            frame, "linear", y="y", categorical="rank", validation_split=0.2, steps=2
        )
    mixed = frame.sample(frac=1, random_state=0)
    run = gradtrace.fit(
        mixed, "linear", y="y", categorical="rank", validation_split=0.2, steps=2
    )
    assert run.info["data"]["categories"] == {"rank": ["a", "b", "c"]}


def test_columns_are_named_as_the_data_have_them_and_a_run_codes_as_it_did(
    tmp_path: Path,
) -> None:
    """Errors found after the coding listed the 0/1 columns (a review's find);
    a run read back coded its data afresh, so a pandas Categorical's own order
    given again as text failed the checksum."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"rank": rng.choice(["a", "b", "c"], 30), "u": rng.normal(size=30)}
    )
    frame["y"] = rng.poisson(2, 30).astype(float)
    with pytest.raises(
        InputError,
        match=r"column 'v' not found in the data frame \(columns: rank, u, y\)",
    ):
        gradtrace.fit(
            frame,
            "poisson-regression",
            x=["rank", "v"],
            y="y",
            categorical="rank",
            steps=2,
        )
    ordered = frame.assign(
        rank=pd.Categorical(frame["rank"], categories=["c", "b", "a"])
    )
    run = gradtrace.fit(
        ordered, "poisson-regression", y="y", categorical="rank", steps=3
    )
    assert run.info["data"]["x"] == ["rank=b", "rank=a", "u"]
    run.save(tmp_path / "run")
    again = gradtrace.load(tmp_path / "run", data=frame)  # the same values, as text
    np.testing.assert_array_equal(again.params["w"], run.params["w"])
    # the reference chosen by hand: a dict of each column's categories in order
    chosen = gradtrace.fit(
        frame,
        "poisson-regression",
        y="y",
        categorical={"rank": ["b", "a", "c"]},
        steps=3,
    )
    assert chosen.info["data"]["x"] == ["rank=a", "rank=c", "u"]


def test_the_views_read_a_categorical_runs_file_again_as_it_coded_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plot, report and explain read the run's CSV again: its categorical column
    coded as the run coded it (they looked for a column rank=2 in the file), its
    validation file's too."""
    frame = admissions(160)
    frame.iloc[:120].to_csv(tmp_path / "adm.csv", index=False)
    frame.iloc[120:].to_csv(tmp_path / "val.csv", index=False)
    out = tmp_path / "run"
    args = [
        "fit", str(tmp_path / "adm.csv"), "--model", "logistic", "--x", "rank",
        "--x", "gre", "--y", "admit", "--categorical", "rank", "--standardize",
        "--validation-data", str(tmp_path / "val.csv"), "--steps", "20", "-q",
        "--out", str(out),
    ]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    for view in (
        ["plot", str(out), "--out", str(tmp_path / "pictures")],
        ["report", str(out), "-o", str(tmp_path / "r.html")],
        ["explain", str(out), "--step", "2"],
    ):
        code, said, err = run_cli(view, capsys)
        assert code == 0, f"{view[0]}: {err}"
    assert (tmp_path / "pictures" / "fit.png").stat().st_size > 0
    # explain's rows are the run's: rank's 0/1 columns beside gre
    assert "rank=2" in said


def test_validation_data_missing_a_column_are_told_by_the_datas_names(
    tmp_path: Path,
) -> None:
    """Coded before they are read, the validation data's columns are listed as
    the file has them: rank, not rank=2, rank=3, rank=4."""
    frame = admissions(120)
    frame["exposure"] = 1.0
    held = frame.drop(columns=["gre"]).iloc[:20]
    with pytest.raises(InputError) as refused:
        gradtrace.fit(
            frame,
            "logistic",
            x=["rank", "gre"],
            y="admit",
            categorical="rank",
            validation_data=held,
            steps=2,
        )
    said = str(refused.value)
    assert "have no column 'gre' (their columns: rank, admit, exposure)" in said
    assert "need the training data's columns, rank, gre, admit;" in said


@pytest.mark.parametrize("rare", ["solo", "a"])
def test_a_category_only_rows_with_missing_values_have_is_refused(
    rare: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--drop-missing drops the one row of category "solo" (its x1 missing): its
    0/1 column was then 0 in every row fitted, and the fit had no optimum, the
    warning blaming x1. Refused up front, saying which category and what to do;
    the reference category's rows all dropped likewise (the others' columns
    then add up to the intercept's)."""
    rng = np.random.default_rng(2)
    g = rng.choice(["a", "b", "c"], 60)
    g[g == "a"] = "b"
    g[:4] = "a"
    frame = pd.DataFrame({"x1": rng.normal(size=60), "g": g, "y": rng.normal(size=60)})
    if rare == "solo":
        frame.loc[7, "g"] = "solo"
        frame.loc[7, "x1"] = np.nan
    else:
        frame.loc[:3, "x1"] = np.nan
    with pytest.raises(InputError) as err:
        gradtrace.fit(
            frame, "linear", x=["x1", "g"], categorical=["g"], drop_missing=True
        )
    assert str(err.value) == (
        f"category {rare!r} of column 'g' is only in rows that drop_missing=True "
        "drops (each misses a value), so no row fitted has it and its coefficient "
        "cannot be fitted: fill in those rows' missing values, or give them a "
        "category of the others."
    )
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    code, _, said = run_cli(
        ["fit", str(path), "--x", "x1", "--x", "g", "--categorical", "g",
         "--model", "linear", "--drop-missing", "--out", str(tmp_path / "r")],
        capsys,
    )  # fmt: skip
    assert code == 2 and said.strip().startswith(f"error: category {rare!r} of")
    assert "--drop-missing drops" in said and not (tmp_path / "r").exists()


@pytest.mark.parametrize(("rank", "other"), [(4, 3), (1, 2)])
def test_a_category_only_the_validation_split_holds_out_is_refused(
    rank: int, other: int
) -> None:
    """A category whose rows are all among the last ones a validation split holds
    out has no training row: refused, as is the reference's (rank 1)."""
    frame = admissions(200)
    frame["rank"] = frame["rank"].where(frame["rank"] != rank, other)
    frame.loc[195:, "rank"] = rank
    with pytest.raises(
        InputError, match=f"category '{rank}' of column 'rank' is only in the rows"
    ):
        gradtrace.fit(
            frame,
            "logistic",
            x=["rank", "gre"],
            y="admit",
            categorical=["rank"],
            validation_split=0.1,
        )


def test_a_suggested_x_names_the_categorical_column_not_its_0_1_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every column but y taken as x, one of them text: the message suggested
    --x g=b --x g=c, which then failed as no such column. It names g, and the
    command it suggests runs; an id column counted through is told likewise."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x1": rng.normal(size=60), "g": rng.choice(["a", "b", "c"], 60)}
    )
    frame["y"] = frame["x1"] + rng.normal(size=60)
    frame["h"] = np.where(frame["x1"] > 0, "hi", "lo")
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    args = ["fit", str(path), "--model", "linear", "--categorical", "g", "--steps", "2"]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "(--x x1 --x g) to leave it out" in err, err
    out = ["-q", "--out", str(tmp_path / "r")]
    code, _, err = run_cli([*args, "--x", "x1", "--x", "g", *out], capsys)
    assert code == 0, err
    frame = frame.drop(columns="h")
    frame.insert(0, "id", np.arange(60))
    frame.to_csv(path, index=False)
    trace = gradtrace.fit(str(path), "linear", categorical="g", steps=2)
    (said,) = [n for n in trace.notes if "counts the rows" in n]
    assert "name the x columns (x=['x1', 'g'])" in said, said


def test_a_slope_is_started_by_its_columns_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary and the warnings name slopes w[x1], w[g=b]; --init took only
    w[0] (w[x1] was no parameter, w[g=b]=1 was cut at its first =)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"x1": rng.normal(size=40), "g": rng.choice(["a", "b", "c"], 40)}
    )
    frame["y"] = frame["x1"] + rng.normal(size=40)
    options = {"x": ["x1", "g"], "categorical": "g", "steps": 1, "lr": 1e-9}
    trace = gradtrace.fit(
        frame, "linear", init={"w[g=c]": 0.7, "w[x1]": 0.2}, **options
    )
    assert trace.initial["w"] == [0.2, 0.0, 0.7]
    with pytest.raises(InputError, match=r"'zz' is none of them: x1, g=b, g=c\.$"):
        gradtrace.fit(frame, "linear", init={"w[zz]": 1}, **options)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    args = ["fit", str(path), "--model", "linear", "--x", "x1", "--x", "g"]
    args += ["--categorical", "g", "--steps", "1", "--lr", "1e-9", "-q"]
    out = tmp_path / "r"
    code, _, err = run_cli([*args, "--init", "w[g=b]=0.5", "--out", str(out)], capsys)
    assert code == 0, err
    assert gradtrace.load(out).initial["w"] == [0.0, 0.5, 0.0]
    code, _, err = run_cli(
        [*args, "--init", "w[x1]=1", "--init", "w[0]=2", "--out", str(tmp_path / "s")],
        capsys,
    )
    assert code == 2 and "are the same element: give it once." in err
