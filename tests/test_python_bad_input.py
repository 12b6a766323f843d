"""Bad input from Python callers (a newcomer's trial of the API): one-line
InputErrors that name the Python argument and what to do, never a traceback from
deep inside, a NaN run or a silent misreading."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace import validate
from gradtrace.core.optimizers import PRESETS, RANGES
from gradtrace.errors import InputError, RunFolderError

FRAME = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8.5]})


def one_line(call: Any) -> str:
    """The message of the InputError ``call()`` raises: one line."""
    with pytest.raises(InputError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message and message
    return message


# -- optimizer hyper-parameters --------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "opt", "message"),
    [
        ("momentum", {"momentum": -0.5}, "--opt momentum must be in [0, 1), got -0.5"),
        ("momentum", {"momentum": 1.5}, "momentum must be in [0, 1), got 1.5"),
        ("nesterov", {"momentum": 1}, "momentum must be in [0, 1), got 1"),
        ("adam", {"b1": 1.0}, "b1 must be in [0, 1), got 1"),
        ("adam", {"b2": -1}, "b2 must be in [0, 1), got -1"),
        ("adam", {"eps": -1}, "eps must be >= 0, got -1"),
        ("rmsprop", {"decay": 1.5}, "decay must be in [0, 1), got 1.5"),
        ("rmsprop", {"momentum": -0.1}, "momentum must be in [0, 1), got -0.1"),
        ("keras.rmsprop", {"rho": 2}, "rho must be in [0, 1), got 2"),
        ("keras.sgd", {"momentum": -0.5}, "momentum must be in [0, 1), got -0.5"),
        ("keras.adam", {"beta_2": 1.0}, "beta_2 must be in [0, 1), got 1"),
        ("keras.adam", {"epsilon": -1e-7}, "epsilon must be >= 0, got -1e-07"),
        ("tf_keras.adam", {"beta_1": -0.1}, "beta_1 must be in [0, 1), got -0.1"),
        ("torch.sgd", {"momentum": -0.5}, "momentum must be in [0, 1), got -0.5"),
        ("torch.sgd", {"dampening": 1.5}, "dampening must be in [0, 1], got 1.5"),
        ("torch.rmsprop", {"alpha": 1.0}, "alpha must be in [0, 1), got 1"),
        ("torch.adam", {"beta1": 1.0}, "beta1 must be in [0, 1), got 1"),
        ("adagrad", {"initial_accumulator_value": -1}, "must be >= 0, got -1"),
    ],
)
def test_optimizer_hyper_parameters_out_of_range(
    optimizer: str, opt: dict[str, Any], message: str
) -> None:
    line = one_line(
        lambda: gradtrace.fit(
            "seed001_line", optimizer=optimizer, opt=opt, lr=0.01, epochs=5
        )
    )
    key = next(iter(opt))  # named as Python names it: opt['momentum']
    assert line.startswith(f"opt[{key!r}] {message[message.index('must') :]}")
    assert "give a value in that range" in line and "--" not in line


def test_every_preset_hyper_parameter_has_a_range_holding_its_default() -> None:
    for name, preset in PRESETS.items():
        for key, default in preset.defaults.items():
            if key == preset.lr_key or isinstance(default, bool):
                continue
            assert key in RANGES, (name, key)
            assert default in RANGES[key], (name, key, default)


def test_the_ends_of_the_ranges_that_are_allowed() -> None:
    for name, opt in [
        ("momentum", {"momentum": 0}),
        ("adam", {"b1": 0, "b2": 0.9999, "eps": 0}),
        ("torch.sgd", {"momentum": 0.9, "dampening": 1}),
        ("adagrad", {"initial_accumulator_value": 0}),
    ]:
        spec = validate.optimizer(name, None, opt)
        assert all(spec.hyper[k] == v for k, v in opt.items())


@pytest.mark.parametrize(
    ("optimizer", "key", "meant"),
    [
        ("adam", "beta1", "b1"),
        ("adam", "beta_2", "b2"),
        ("adam", "epsilon", "eps"),
        ("torch.adam", "b1", "beta1"),
        ("keras.adam", "beta1", "beta_1"),
        ("rmsprop", "rho", "decay"),
        ("torch.rmsprop", "decay", "alpha"),
        ("keras.rmsprop", "alpha", "rho"),
    ],
)
def test_other_frameworks_names_are_pointed_to_the_presets(
    optimizer: str, key: str, meant: str
) -> None:
    line = one_line(
        lambda: gradtrace.fit(FRAME, optimizer=optimizer, opt={key: 0.5}, steps=2)
    )
    assert f"has no hyper-parameter {key!r}" in line
    assert f"Did you mean {meant!r}?" in line


def test_a_hyper_parameter_of_other_presets_names_them() -> None:
    """Plain sgd given momentum was told only "choose one of: learning_rate"."""
    line = one_line(lambda: gradtrace.fit(FRAME, opt={"momentum": 0.9}, steps=2))
    assert "'sgd' has no hyper-parameter 'momentum': it has learning_rate" in line
    assert "the presets with momentum are momentum, nesterov, rmsprop" in line
    assert "optimizer='momentum', opt={'momentum': 0.9}, say" in line  # Python's
    gradtrace.fit(FRAME, optimizer="momentum", opt={"momentum": 0.9}, steps=2)


@pytest.mark.parametrize(
    ("key", "said"),
    [
        # a misspelling of another preset's hyper-parameter is named as it
        (
            "momentu",
            "it has learning_rate. Did you mean 'momentum'? The presets with "
            "momentum are momentum,",
        ),
        # a switch's example turns it on
        # with the momentum it needs (keras.sgd's is 0: nesterov alone does nothing)
        (
            "nesterov",
            "optimizer='keras.sgd', opt={'momentum': 0.9, 'nesterov': True}, say.",
        ),
    ],
)
def test_a_near_name_or_a_switch_of_other_presets_names_them(
    key: str, said: str
) -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, opt={key: 0.9}, steps=2))
    assert f"'sgd' has no hyper-parameter {key!r}: " in line
    assert said in line


def test_opt_init_and_fix_must_be_dicts() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, opt=[("momentum", 0.5)], steps=2))
    assert line.startswith("opt must be a dict of values by name") and "list" in line
    assert "init=" in one_line(lambda: gradtrace.fit(FRAME, init=[1.0], steps=2))


# -- models and losses -------------------------------------------------------------


def test_a_bare_function_as_the_model_is_told_to_wrap_it() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, model=lambda p, x: p["w"] * x))
    assert "model must be a name" in line and "gradtrace.Model(fn, params=" in line
    assert "got a function" in line
    line = one_line(lambda: gradtrace.fit(FRAME, model=3))
    assert "model must be a name" in line and "got int" in line
    # the maker itself, not called, was "got a function: wrap your function"
    line = one_line(lambda: gradtrace.fit(FRAME, model=gradtrace.Model))
    assert line.startswith("model=gradtrace.Model makes a model: call it, ")
    line = one_line(lambda: gradtrace.fit(FRAME, model=gradtrace.Distribution))
    assert "gradtrace.Distribution(log_prob, params=" in line


def test_a_bare_function_as_the_loss_is_told_to_wrap_it() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, loss=lambda pred, y: pred - y))
    assert "loss must be a name (mse, mae, huber, nll)" in line
    assert "gradtrace.Loss(fn)" in line


def test_model_params_as_a_list_of_names_start_at_one() -> None:
    model = gradtrace.Model(lambda p, x: p["a"] * x + p["b"], params=["a", "b"])
    assert [(s.name, s.default) for s in model.param_specs()] == [
        ("a", 1.0),
        ("b", 1.0),
    ]
    trace = gradtrace.fit(FRAME, model, lr=0.01, steps=3, exact=False)
    assert trace.status == "completed"
    a = trace.to_pandas()["a"]
    assert a.iloc[0] == 1.0 and a.iloc[-1] != 1.0  # trained from 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("a", "params= maps each parameter's name to its start"),
        (3, "params= maps each parameter's name to its start"),
        ({}, "a model needs at least one parameter"),
        (["a", "a"], "params= names 'a' twice"),
        ({"a": "one"}, "parameter 'a' starts at the string 'one': give its start"),
        ({"a": "2"}, "as a number, not in quotes"),
        ({"a": float("nan")}, "which is not a finite number"),
        ({"a b": 1.0}, "parameter names must be words"),
        ({"loss": 1.0}, "cannot be called 'loss'"),
    ],
)
def test_model_params_that_are_not_a_mapping_of_starts(
    params: Any, message: str
) -> None:
    assert message in one_line(lambda: gradtrace.Model(lambda p, x: x, params=params))


def test_model_positive_must_name_parameters_that_start_positive() -> None:
    def fn(p: Any, x: Any) -> Any:
        return p["a"] * x

    line = one_line(lambda: gradtrace.Model(fn, params={"a": 1.0}, positive=["z"]))
    assert "positive= names 'z', which is not a parameter" in line
    assert "(the parameters: a)" in line
    line = one_line(lambda: gradtrace.Model(fn, params={"a": 0.0}, positive=["a"]))
    assert "starts at 0.0: give it a start > 0" in line
    assert "function fn(params, x)" in one_line(
        lambda: gradtrace.Model({"a": 1.0}, params={"a": 1.0})  # type: ignore[arg-type]
    )
    # one name as a string is that name, not its letters
    model = gradtrace.Model(fn, params={"a": 1.0}, positive="a")
    assert model.param_specs()[0].constraint == "positive"


def test_a_model_giving_one_number_instead_of_one_per_row() -> None:
    scalar = gradtrace.Model(lambda p, x: p["a"], params={"a": 1.0})
    line = one_line(lambda: gradtrace.fit(FRAME, scalar, steps=2))
    assert "model 'custom' returns one number for 4 rows" in line
    assert "one prediction per row" in line and "jnp.ones(len(x))" in line
    column = gradtrace.Model(lambda p, x: p["a"] * x[:, None], params={"a": 1.0})
    assert "returns an array of shape (4, 1) for 4 rows" in one_line(
        lambda: gradtrace.fit(FRAME, column, steps=2)
    )


def test_a_custom_loss_of_the_wrong_signature_is_told_the_loss_shape() -> None:
    line = one_line(
        lambda: gradtrace.fit(FRAME, loss=gradtrace.Loss(lambda pred: pred**2))
    )
    assert line.startswith("the custom loss failed")
    assert "a loss must map (pred, y) to one loss per row" in line
    assert "prediction" not in line  # the model's text
    mean = gradtrace.Loss(lambda pred, y: jnp.mean((pred - y) ** 2))
    line = one_line(lambda: gradtrace.fit(FRAME, loss=mean, steps=2))
    assert "the custom loss returns one number for 4 rows" in line
    assert "not their mean or sum" in line


def test_a_failing_model_is_told_the_model_shape() -> None:
    broken = gradtrace.Model(lambda p, x: p["nope"] * x, params={"a": 1.0})
    line = one_line(lambda: gradtrace.fit(FRAME, broken, steps=2))
    assert line.startswith("model 'custom' failed") and "KeyError" in line
    assert "a model must map params and x" in line
    assert "x[:, 0]" not in line  # said of a column taken from a vector only
    columns = gradtrace.Model(lambda p, x: p["a"] * x[:, 0], params={"a": 1.0})
    line = one_line(lambda: gradtrace.fit(FRAME, columns, steps=2))
    assert "IndexError" in line
    assert "with one x column, x is a vector of shape [n]: write x where you " in line


# -- data ---------------------------------------------------------------------------


def test_none_x_with_y_fits_a_distribution() -> None:
    y = np.array([1.0, 2, 3, 4, 5])
    trace = gradtrace.fit((None, y), "normal", lr=0.1, steps=5, exact=False)
    assert trace.status == "completed"
    line = one_line(lambda: gradtrace.fit((None, y), "line", steps=2))
    assert "the y column 'y' is alone, with no x" in line
    assert "such as model='normal'" in line
    # y as a column, (rows, 1), as Keras and PyTorch keep targets: one a row
    column = gradtrace.fit((None, y[:, None]), "normal", lr=0.1, steps=5, exact=False)
    np.testing.assert_array_equal(column.params["loc"], trace.params["loc"])
    x = np.arange(5.0)
    keras_like = gradtrace.fit((x[:, None], y[:, None]), lr=0.01, steps=3)
    np.testing.assert_array_equal(
        keras_like.params["w"], gradtrace.fit((x, y), lr=0.01, steps=3).params["w"]
    )
    named = gradtrace.fit((x, pd.DataFrame({"height": y})), lr=0.01, steps=3)
    assert named.info["data"]["y"] == "height"
    line = one_line(lambda: gradtrace.fit((None, np.ones((5, 2))), "normal", steps=2))
    assert "y of the (x, y) arrays must be one value per row" in line
    line = one_line(lambda: gradtrace.fit((np.zeros((5, 1, 1)), y), steps=2))
    assert "x of the (x, y) arrays must be 1-D" in line
    # one array of three axes: numpy's ValueError came through from every call
    for call in (gradtrace.fit, gradtrace.diagnose, gradtrace.sweep, gradtrace.lr_find):
        line = one_line(lambda c=call: c(np.zeros((2, 2, 2))))
        assert line.startswith("the array has shape (2, 2, 2): give y as a 1-D array")
    # a Series of another name: its one column is no x and y; a regression was
    # told to pass y='counts', and then that y was alone
    counts = pd.Series([1, 4, 2, 0, 3], name="counts")
    for model in ("line", "poisson-regression"):
        line = one_line(lambda m=model: gradtrace.fit(counts, m, steps=2))
        assert line == (
            "the series has one column, counts: a regression model needs x and y; "
            "fit a distribution to it (such as model='normal' or model='poisson'), "
            "or give data with an x column beside y."
        )


@pytest.mark.parametrize(
    "values",
    [
        pd.date_range("2020-01-01", periods=4),
        pd.date_range("2020-01-01", periods=4, tz="UTC"),
        pd.to_timedelta([1, 2, 3, 4], unit="D"),
    ],
)
def test_dates_and_times_are_not_read_as_nanoseconds(values: Any) -> None:
    frame = pd.DataFrame({"when": values, "y": [1.0, 2, 3, 4]})
    line = one_line(lambda: gradtrace.fit(frame, x="when", steps=2))
    assert "column 'when' of the data frame holds dates or times" in line
    assert "not numbers: convert it" in line


@pytest.mark.parametrize(
    "keyword", ["shuffle", "drop_missing", "exact", "standardize", "stream", "force"]
)
def test_switches_take_booleans_not_words(keyword: str) -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, steps=2, **{keyword: "no"}))
    if keyword == "shuffle":  # or "torch", PyTorch's order
        assert line == (
            "shuffle must be True, False, 'torch' (PyTorch's DataLoader order) or "
            "'keras' (Keras 3's fit order), "
            "got 'no'."
        )
        return
    assert line == f"{keyword} must be True or False, got 'no'."


def test_stream_needs_a_parquet_path_as_data() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, stream=True))
    assert "stream=True reads a Parquet file" in line
    assert "give its path as data, not a DataFrame" in line and "''" not in line


# -- the Python way of saying it ---------------------------------------------------


def test_init_not_a_number_is_worded_for_python() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, init={"w": "a"}, steps=2))
    assert line.startswith("init={'w': 'a'}: 'a' is not a number")
    assert "--init" not in line
    line = one_line(
        lambda: gradtrace.fit(FRAME, "linear", init={"w": [1, "a"]}, steps=2)
    )
    assert line.startswith("init={'w': [1, 'a']}: 'a' is not a number")
    line = one_line(lambda: gradtrace.fit(FRAME, fix={"b": "x"}, steps=2))
    assert line.startswith("fix={'b': 'x'}: 'x' is not a number")


def test_a_vector_starts_from_elements_named_as_the_trace_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init={'w[1]': 3} (the trace's column) starts w[1] at 3 and w[0] at its
    default, as init={'w': [0, 3]} does; the command line's --init w[1]=3 too."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    data = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x @ [1.0, 2.0] + 0.5})
    by_element = gradtrace.fit(data, "linear", init={"w[1]": 3.0}, steps=3, lr=0.1)
    whole = gradtrace.fit(data, "linear", init={"w": [0.0, 3.0]}, steps=3, lr=0.1)
    cols = ["w[0]", "w[1]", "b"]
    assert by_element.to_pandas().loc[0, cols].tolist() == [0.0, 3.0, 0.0]
    pd.testing.assert_frame_equal(by_element.to_pandas()[cols], whole.to_pandas()[cols])
    from helpers import run_cli

    folder = tmp_path / "r"
    data.to_csv(tmp_path / "d.csv", index=False)
    code = run_cli(
        [
            "fit",
            str(tmp_path / "d.csv"),
            "--model",
            "linear",
            "--init",
            "w[1]=3",
            "--steps",
            "3",
            "--lr",
            "0.1",
            "-q",
            "--out",
            str(folder),
        ],
        capsys,
    )[0]
    assert code == 0
    assert gradtrace.load(folder).to_pandas().loc[0, cols].tolist() == [0.0, 3.0, 0.0]


def test_a_vector_of_a_model_of_your_own_starts_where_its_default_says() -> None:
    """Model(params={'w': [1.0, 2.5]}) starts w at [1.0, 2.5] (it used to refuse
    unequal elements, pointing to a command-line flag)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    data = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x @ [1.0, 2.0]})
    own = gradtrace.Model(lambda p, x: x @ p["w"], {"w": [1.0, 2.5]})
    trace = gradtrace.fit(data, own, steps=2, lr=0.1)
    assert trace.to_pandas().loc[0, ["w[0]", "w[1]"]].tolist() == [1.0, 2.5]
    started = gradtrace.fit(data, own, steps=2, lr=0.1, init={"w[0]": 7})
    assert started.to_pandas().loc[0, ["w[0]", "w[1]"]].tolist() == [7.0, 2.5]
    assert "shape (1, 1)" in one_line(
        lambda: gradtrace.Model(lambda p, x: x @ p["w"], {"w": [[1.0]]})
    )


def test_a_flag_followed_by_a_word_is_not_read_as_a_name() -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, fix={"w": 1}, init={"w": 2}))
    assert line.startswith("parameter 'w' is given to both init and fix:"), line


@pytest.mark.parametrize(
    ("init", "message"),
    [
        ({"w[2]": 1}, "init['w[2]']: w has 2 elements, w[0] to w[1]."),
        (
            {"w": [1, 2], "w[0]": 1},
            "init['w[0]'] and init['w']: give the vector whole or its elements",
        ),
        ({"b[0]": 1}, "init['b[0]']: the model has no parameter 'b[0]'"),
        ({"w[0]": float("inf")}, "init['w[0]'] must be finite, got inf."),
    ],
)
def test_vector_elements_that_cannot_start(init: dict[str, Any], message: str) -> None:
    data = {"a": [1.0, 2, 3, 4], "b": [0.0, 1, 0, 1], "y": [1.0, 2, 3, 5]}
    assert message in one_line(
        lambda: gradtrace.fit(data, "linear", init=init, steps=2)
    )


def test_an_existing_out_folder_names_force_true(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError) as err:
        gradtrace.fit(FRAME, steps=2, out=tmp_path / "mine")
    assert str(err.value).endswith(
        "choose another out (force=True replaces only those)."
    )
    gradtrace.fit(FRAME, steps=2, out=tmp_path / "run", exact=False)
    with pytest.raises(RunFolderError) as err:
        gradtrace.fit(FRAME, steps=2, out=tmp_path / "run")
    assert str(err.value).endswith(
        "choose another out, or pass force=True to replace it."
    )


def test_saving_over_a_run_says_force_true(tmp_path: Path) -> None:
    trace = gradtrace.fit(FRAME, steps=2, exact=False)
    trace.save(tmp_path / "k")
    with pytest.raises(RunFolderError) as err:
        trace.save(tmp_path / "k")  # a notebook's cell run twice
    assert "choose another folder, or pass force=True to replace it." in str(err.value)
    assert "--" not in str(err.value)
    trace.save(tmp_path / "k", force=True)


def test_whole_floats_count_and_near_names_of_data_sets_are_suggested() -> None:
    trace = gradtrace.fit(FRAME, steps=1e1, batch_size=2.0, exact=False)
    assert trace.steps == 10 and trace.info["schedule"]["batch_size"] == 2
    line = one_line(lambda: gradtrace.fit(FRAME, steps=2.5))
    assert line.startswith("steps must be a whole number, got 2.5")
    # their text too, as a learning rate's "0.01" is (a configuration file's)
    text = gradtrace.fit(
        FRAME, steps="10", batch_size=" 2 ", seed="3", lr="0.05", exact=False
    )
    assert text.steps == 10 and text.info["schedule"]["batch_size"] == 2
    assert text.info["config"]["seed"] == 3 and text.info["config"]["steps"] == 10
    # run.json keeps numbers, not the text given (a notebook user's lr="0.1")
    assert text.info["config"]["lr"] == 0.05 and text.info["config"]["batch_size"] == 2
    for bad in ("2.5", "ten", "nan"):
        line = one_line(lambda bad=bad: gradtrace.fit(FRAME, steps=bad))
        assert line.startswith(f"steps must be a whole number, got {bad!r}")
    line = one_line(lambda: gradtrace.fit("seed001", steps=2))
    assert line == (
        "data file 'seed001' not found: check the path, or did you mean the "
        "built-in data set 'seed001_line'?"
    )
    line = one_line(lambda: gradtrace.fit(FRAME, x=np.arange(5.0), steps=2))
    assert line.startswith("x takes the names of x columns, such as x='x'")
    assert len(line) < 200


@pytest.mark.parametrize(
    ("cli", "python"),
    [
        ("give a positive --lr, such as 0.01.", "give a positive lr, such as 0.01."),
        ("try --lr 0.001 or lower.", "try lr=0.001 or lower."),
        ("use --model linear for several.", "use model='linear' for several."),
        (
            "give --model or --model-expr, not both.",
            "give model or model_expr, not both.",
        ),
        (
            "or pass --drop-missing to drop them.",
            "or pass drop_missing=True to drop them.",
        ),
        ("drop it, or drop --no-shuffle.", "drop it, or drop shuffle=False."),
        ("give it with --fix n=VALUE.", "give it with fix={'n': VALUE}."),
        ("--init slope: no parameter 'slope'", "init['slope']: no parameter 'slope'"),
        ("--steps must be at least 5, got 3.", "steps must be at least 5, got 3."),
        ("0 < --min < --max, got 1", "0 < --min < --max, got 1"),  # not fit's
        ("--chunk-rows 100000", "--chunk-rows 100000"),  # not a keyword here
        # side by side: arguments with commas, a pair flag's pairs in one dict, a
        # repeated flag's values in one list
        ("try --model linear --lr 0.1.", "try model='linear', lr=0.1."),
        (
            "say --fix n=2 --fix p=0.5 then",
            "say fix={'n': 2, 'p': 0.5} then",
        ),
        ("name --x age --x height here", "name x=['age', 'height'] here"),
    ],
)
def test_a_message_names_pythons_arguments_where_it_named_flags(
    cli: str, python: str
) -> None:
    from gradtrace.arguments import in_python

    keywords = {
        "lr",
        "model",
        "model_expr",
        "drop_missing",
        "shuffle",
        "fix",
        "init",
        "steps",
        "x",
    }
    assert in_python(cli, keywords) == python


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: gradtrace.fit(FRAME, learning_rate=0.1),
            "fit() has no argument 'learning_rate': did you mean lr?",
        ),
        (
            lambda: gradtrace.fit(FRAME, bacth_size=2),
            "fit() has no argument 'bacth_size': did you mean batch_size?",
        ),
        (
            lambda: gradtrace.lr_find(FRAME, min_lr=1e-5),
            "lr_find() has no argument 'min_lr': did you mean lr_min?",
        ),
        (
            lambda: gradtrace.sweep(FRAME, lrs=[0.1]),
            "sweep() has no argument 'lrs': did you mean lr?",
        ),
        (
            lambda: gradtrace.fit(FRAME, colour="red"),
            "fit() has no argument 'colour': see help(gradtrace.fit).",
        ),
    ],
)
def test_a_keyword_the_function_does_not_take_is_named_with_a_guess(
    call: Any, message: str
) -> None:
    """Keras's and PyTorch's names (learning_rate, min_lr) and misspellings get
    the function's own name for them, not a TypeError about RunConfig."""
    assert one_line(call) == message


def test_x_and_y_as_scikit_learn_gives_them() -> None:
    """(X, y) with X a data frame keeps its names; an (n, 1) X is the column x
    that a line reads; several columns for a line are told to pick one or use
    linear."""
    rng = np.random.default_rng(0)
    big_x = rng.normal(size=(50, 3))
    y = big_x @ [1.0, 2.0, 3.0] + 1
    named = pd.DataFrame(big_x, columns=["a", "b", "c"])
    run = gradtrace.fit((named, y), "linear", x=["a", "b"], steps=2)
    assert run.info["data"]["x"] == ["a", "b"]
    assert gradtrace.fit((big_x[:, :1], y), steps=2).info["data"]["x"] == ["x"]
    line = one_line(lambda: gradtrace.fit((big_x, y), "line", steps=2))
    assert "model 'line' takes one x column and the data have 3 (x0, x1, x2)" in line
    assert line.endswith("pass x with one of them, or use model='linear' for several.")
    with_y = pd.DataFrame({"x": big_x[:, 0], "y": y})
    assert "has a column named 'y'" in one_line(lambda: gradtrace.fit((with_y, y)))


def test_types_from_numpy_jax_and_optax_are_read_or_refused_in_one_line() -> None:
    """dtype=np.float64 is the name 'float64'; no data, complex numbers and an
    optax transformation as the optimizer are refused, each in a line that says
    what to give."""
    import optax

    run = gradtrace.fit(FRAME, dtype=np.float64, compute_dtype=jnp.float64, steps=2)
    assert run.info["config"]["dtype"] == "float64"
    assert "unknown dtype 'int32'" in one_line(
        lambda: gradtrace.fit(FRAME, dtype=np.int32, steps=2)
    )
    assert one_line(lambda: gradtrace.fit(None)).startswith("no data given: give")
    complex_x = (np.arange(4.0) + 1j, np.arange(4.0))
    assert "column 'x' of the (x, y) arrays holds complex numbers" in one_line(
        lambda: gradtrace.fit(complex_x, steps=2)
    )
    line = one_line(lambda: gradtrace.fit(FRAME, optimizer=optax.adam(0.1)))
    assert "optimizer must be the name of a preset (sgd, " in line
    assert "GradientTransformation" in line and "pass optimizer='adam'" in line


def test_pytorchs_betas_give_the_presets_two_averages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """betas=(0.8, 0.99), PyTorch's own name, sets beta1 and beta2 (b1, b2 for
    optax's adam); on the command line --opt betas=0.8,0.99."""
    run = gradtrace.fit(FRAME, optimizer="torch.adam", opt={"betas": (0.8, 0.99)})
    assert (run.info["optimizer"]["beta1"], run.info["optimizer"]["beta2"]) == (
        0.8,
        0.99,
    )
    run = gradtrace.fit(FRAME, optimizer="adam", opt={"betas": [0.8, 0.99]}, steps=2)
    assert (run.info["optimizer"]["b1"], run.info["optimizer"]["b2"]) == (0.8, 0.99)
    assert "takes two numbers" in one_line(
        lambda: gradtrace.fit(FRAME, optimizer="adam", opt={"betas": 0.8})
    )
    assert "opt['betas'] and opt['b1'] give b1 twice: give it once." == one_line(
        lambda: gradtrace.fit(
            FRAME, optimizer="adam", opt={"betas": (0.8, 0.9), "b1": 0.5}
        )
    )
    assert "has no hyper-parameter 'betas'" in one_line(
        lambda: gradtrace.fit(FRAME, opt={"betas": (0.8, 0.9)})
    )


def test_numbered_columns_and_a_whole_float_seed() -> None:
    """A data frame of numbered columns is told to name them (it has no header
    line); seed=1.0 counts as 1, as steps=1e2 counts as 100."""
    frame = pd.DataFrame(np.c_[np.arange(5.0), 2 * np.arange(5.0)])
    assert one_line(lambda: gradtrace.fit(frame)).startswith(
        "the columns of the data frame are numbered (0, 1), not named: name them"
    )
    one = gradtrace.fit(FRAME, seed=1.0, batch_size=2, epochs=2)
    assert one.to_pandas().equals(
        gradtrace.fit(FRAME, seed=1, batch_size=2, epochs=2).to_pandas()
    )


@pytest.mark.parametrize(
    "options",
    [{"x": "nope"}, {"model": "linera"}, {"lr": -1}, {"metrics": ["r^3"]}],
)
def test_a_refusal_is_raised_from_the_callers_line(options: dict[str, Any]) -> None:
    """A wrong column showed 7-9 frames of gradtrace's internals above the one
    line that says what to do; now only the public function's."""
    with pytest.raises(gradtrace.InputError) as refused:
        gradtrace.fit(FRAME, steps=2, **options)
    frames = traceback.extract_tb(refused.value.__traceback__)
    package = str(Path(gradtrace.__file__).parent)
    ours = [f for f in frames if f.filename.startswith(package)]
    assert [f.name for f in ours] == ["wrapped"]
    assert refused.value.__suppress_context__


def test_keras_clipping_given_as_an_optimizer_argument_points_to_clip(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Keras takes clipnorm= in its optimizer; gradtrace takes --clip. A Keras
    user's opt={"clipnorm": 1.0} is told the option, in each one's words."""
    line = one_line(
        lambda: gradtrace.fit(
            "seed001_line", optimizer="keras.sgd", opt={"clipnorm": 1.0}, steps=2
        )
    )
    assert line.endswith("Keras's clipnorm is clip='keras.norm=1.0'.")
    from helpers import run_cli

    code, _, err = run_cli(
        ["fit", "seed001_line", "--optimizer", "keras.sgd", "--opt", "clipvalue=0.5"],
        capsys,
    )
    assert code == 2
    assert err.strip().endswith("Keras's clipvalue is --clip keras.value=0.5.")


def test_a_traces_methods_raise_from_the_callers_line(tmp_path: Path) -> None:
    """predict, explain, plot and save raised their InputError and RunFolderError
    through gradtrace's own frames (contextlib's too), where fit raises from the
    caller's line; compare(a, 3) raised TypeError; predict([50, 100, "a"]) blamed
    the list, not the "a" (a notebook user's findings)."""
    import traceback

    from gradtrace.errors import RunFolderError

    trace = gradtrace.fit("seed001_line", steps=3)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("not a run")
    calls = [
        lambda: trace.predict([50, 100, "a"]),
        lambda: trace.explain(99),
        lambda: trace.plot("fits"),
        lambda: trace.save(tmp_path / "taken"),
        lambda: gradtrace.compare(trace, 3),
    ]
    said = []
    for call in calls:
        with pytest.raises((InputError, RunFolderError)) as err:
            call()
        frames = traceback.extract_tb(err.value.__traceback__)
        # the caller's lines, then the one that re-raises it (as fit's)
        ours = [f for f in frames if "/gradtrace/" in f.filename]
        assert [(f.filename.rsplit("/", 1)[1], f.name) for f in ours] == [
            ("errors.py", "wrapped")
        ]
        said.append(str(err.value))
    assert said[0] == (
        "predict's x holds a value that is not a number ('a', value 3 of 3): give "
        "numbers, as the run trained on."
    )
    assert said[4].startswith("run 2 is of type int: compare takes traces")
    frame = pd.DataFrame({"x": ["1", "6,3", "a"]})
    line = one_line(lambda: trace.predict(frame))
    assert "('6,3' in data row 2 (.iloc[1]), 2 such rows) (a decimal comma" in line


def test_a_misspelling_as_near_two_names_offers_both() -> None:
    """ "liner" is a letter from line and from linear: a student who meant line
    was offered linear alone."""
    from gradtrace.text import close_name, close_names

    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit("seed001_line", model="liner")
    assert str(err.value).endswith("Did you mean 'linear' or 'line'?")
    assert close_names("lien", ["line", "linear"]) == ["line"]
    assert close_name("liner", ["line", "linear"]) == "linear"


@pytest.mark.parametrize(
    ("optimizer", "key", "says"),
    [
        ("keras.sgd", "gradient_accumulation_steps", "batches k times larger"),
        ("keras.adam", "use_ema", "moving average of the weights is not modelled"),
        ("torch.adam", "maximize", "minimise the negative of the objective"),
        ("torch.adam", "fused", "single-tensor path (foreach=False)"),
    ],
)
def test_a_frameworks_argument_gradtrace_does_not_model_is_told_so(
    optimizer: str, key: str, says: str
) -> None:
    """Keras's gradient_accumulation_steps was offered Adagrad's
    initial_accumulator_value (a close spelling); such arguments are told what
    they are and what to do instead."""
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.fit("seed001_line", optimizer=optimizer, opt={key: 2}, steps=2)
    text = str(err.value)
    assert text.startswith(f"optimizer {optimizer!r} takes no {key!r}: ")
    assert says in text and "Did you mean" not in text


def test_a_frameworks_default_of_what_gradtrace_leaves_out_is_taken() -> None:
    """A script copied whole writes Keras's use_ema=False or PyTorch's
    foreach=None: they ask for nothing, and are taken (in a sweep too)."""
    run = gradtrace.fit(
        "seed001_line", optimizer="keras.adam", opt={"use_ema": False}, steps=3
    )
    plain = gradtrace.fit("seed001_line", optimizer="keras.adam", steps=3)
    assert run.params == plain.params
    gradtrace.fit(
        "seed001_line", optimizer="torch.adam", opt={"foreach": None}, steps=3
    )
    swept = gradtrace.sweep(
        "seed001_line",
        optimizer="keras.adam",
        lr=[0.1],
        opt={"use_ema": [False]},
        steps=3,
    )
    assert len(swept.table) == 1


def test_a_column_given_where_the_loss_goes_is_told_to_be_y() -> None:
    """A notebook user's fit(df, "linear", "spend"): the third positional
    argument is the loss, and it was told "unknown loss 'spend'"."""
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "spend": [2.0, 4.1, 6.2, 7.9]})
    line = one_line(lambda: gradtrace.fit(frame, "linear", "spend"))
    assert line == (
        "loss 'spend' is a column of the data: the third positional argument is "
        "the loss; give the column by name, y='spend'."
    )
    # not a column: the losses to choose from, as before
    line = one_line(lambda: gradtrace.fit(frame, "linear", "spent", y="spend"))
    assert line.startswith("unknown loss 'spent'")


def test_a_rate_beyond_the_dtypes_largest_number_is_refused() -> None:
    """lr 1e40 in float32 is inf before any step (NumPy warned of an overflow
    in a cast, and the run went on at an infinite rate)."""
    line = one_line(lambda: gradtrace.fit(FRAME, lr=1e40, steps=2))
    assert line == (
        "learning rate 1e+40 is beyond float32's largest number, 3.4e+38: give a "
        "smaller lr (or dtype='float64')."
    )
    assert gradtrace.fit(FRAME, lr=1e40, steps=2, dtype="float64").steps == 2


@pytest.mark.parametrize(
    ("keyword", "said"),
    [
        ("verbose", "fit prints nothing as it runs (progress= takes a function"),
        ("steps_per_epoch", "steps=N runs that many steps whatever the epochs"),
        ("class_weight", "weights per class are not supported yet"),
    ],
)
def test_kerass_fit_keywords_are_told_what_gradtrace_does(
    keyword: str, said: str
) -> None:
    line = one_line(lambda: gradtrace.fit(FRAME, steps=2, **{keyword: 2}))
    assert line.startswith(f"fit() has no argument {keyword!r}: ") and said in line


def test_a_reports_name_is_told_in_pythons_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """trace.report('rep') said "-o 'rep': ...", an option a Python caller never
    passed (a newcomer's find); the command still names its -o."""
    from helpers import run_cli

    trace = gradtrace.fit("seed001_line", steps=2)
    with pytest.raises(InputError, match=r"^'rep': the report is one HTML file; end"):
        trace.report("rep")
    (tmp_path / "f.html").mkdir()
    with pytest.raises(InputError, match=r"f.html' is a folder: give a file name end"):
        trace.report(tmp_path / "f.html")
    trace.save(tmp_path / "run")
    code, _, err = run_cli(
        ["report", str(tmp_path / "run"), "-o", str(tmp_path / "rep")], capsys
    )
    assert code == 2 and err.startswith(f"error: -o {str(tmp_path / 'rep')!r}: the")
