"""Validation data (``validation_split``, ``validation_data``; ``--validation-split``,
``--validation-data``): which rows are held out, the ``val_`` columns after each
epoch, a plateau that watches ``val_loss``, and everything around a run (its
folder, resume, rerun, explain, the summary, bad input). The values are checked
against Keras and PyTorch in ``tests/oracle/test_validation.py``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace import held_out
from gradtrace.errors import InputError
from helpers import ctrl_c_after, fit_refused, run_cli


def line(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.5, n)})


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 5000), share=st.floats(0.001, 0.999))
def test_the_split_is_keras_rule(n: int, share: float) -> None:
    """floor(n * (1 - share)) rows train, the rest in order are held out; a split
    that leaves either side empty is refused, as Keras refuses it."""
    ys = np.arange(n, dtype=np.float64)
    xs = ys[:, None] * 2
    at = int(math.floor(n * (1.0 - share)))
    if at in (0, n):
        with pytest.raises(InputError, match="leaves no rows"):
            held_out.split(xs, ys, share, "the data")
        return
    if at == 1:  # a fit needs two rows
        with pytest.raises(InputError, match="leaves 1 row to train on, and a fit"):
            held_out.split(xs, ys, share, "the data")
        return
    x_train, y_train, held = held_out.split(xs, ys, share, "the data")
    assert len(y_train) == at and len(held.y) == n - at
    assert np.array_equal(np.concatenate([y_train, held.y]), ys)
    assert x_train is not None and held.x is not None
    assert np.array_equal(np.concatenate([x_train, held.x]), xs)


def test_val_loss_is_the_loss_over_the_held_out_rows_after_each_epoch() -> None:
    frame = line()
    trace = gradtrace.fit(
        frame, lr=0.1, batch_size=25, epochs=4, validation_split=0.25, metrics="rmse"
    )
    table = trace.to_pandas()
    held = frame.iloc[90:]
    ends = table[table["val_loss"].notna()]
    # the start, then every epoch's last step (4 batches of 90 rows an epoch)
    assert ends["step"].tolist() == [0, 4, 8, 12, 16]
    for _, row in ends.iterrows():
        residual = held["y"] - (row["w"] * held["x"] + row["b"])
        assert row["val_loss"] == pytest.approx(np.mean(residual**2), rel=1e-5)
        assert row["val_rmse"] == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-5)
    history = trace.history()
    assert history["val_loss"].tolist() == ends["val_loss"].tolist()[1:]
    assert trace.info["data"]["n_rows"] == 90
    assert trace.info["data"]["validation"]["n_rows"] == 30
    summary = trace.summary().attrs["validation"]
    assert summary["val_loss"] == history["val_loss"].iloc[-1]
    assert summary["best"] == history["val_loss"].min()
    assert summary["val_rmse"] == history["val_rmse"].iloc[-1]


def test_a_distribution_takes_validation_data_of_its_own() -> None:
    rng = np.random.default_rng(1)
    train, held = rng.normal(3, 2, 400), rng.normal(3, 2, 100)
    trace = gradtrace.fit(
        {"y": train},
        "normal",
        lr=0.05,
        batch_size=100,
        epochs=5,
        validation_data={"y": held},
    )
    last = trace.to_pandas().iloc[-1]
    loc, scale = last["loc"], last["scale"]
    nll = np.mean(0.5 * ((held - loc) / scale) ** 2 + np.log(scale)) + 0.5 * np.log(
        2 * np.pi
    )
    assert last["val_loss"] == pytest.approx(nll, rel=1e-5)
    assert trace.info["data"]["validation"]["source"] == "Python data"


def test_a_plateau_on_val_loss_explains_resumes_and_writes_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cuts follow the validation loss; a run stopped mid-epoch resumes to
    the uninterrupted trace; a trace written a part at a time is the same;
    explain names the validation loss it watched."""
    from gradtrace import run_parts

    options: dict[str, Any] = dict(
        optimizer="torch.sgd",
        lr=0.3,
        lr_schedule="torch.plateau:monitor=val_loss,patience=0,factor=0.5",
        batch_size=20,
        epochs=10,
        shuffle=False,
        validation_split=0.25,
    )
    frame = line()
    whole = gradtrace.fit(frame, **options)
    table = whole.to_pandas()
    history = whole.history()
    rates = history["lr"].to_numpy()
    assert rates[-1] < rates[0]
    # PyTorch's rule by hand on the validation losses: patience 0, rel 1e-4
    best, expected, rate = math.inf, [], 0.3
    for val in history["val_loss"]:
        expected.append(rate)
        if val < best * (1 - 1e-4):
            best = val
        else:
            rate *= 0.5
    assert rates.tolist() == expected
    said = whole.explain_text(len(table) - 1)
    assert "whose validation loss was no better" in said
    assert "its validation loss" in said
    folder = tmp_path / "run"
    cut = gradtrace.fit(
        frame, **options, out=folder, checkpoint_every=7, progress=ctrl_c_after(3)
    )
    assert cut.status == "interrupted"
    done = gradtrace.resume(folder, data=frame)
    pd.testing.assert_frame_equal(done.to_pandas(), table)
    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    parts = gradtrace.fit(frame, **options, out=tmp_path / "parts")
    pd.testing.assert_frame_equal(parts.to_pandas(), table)


def test_keras_plateau_on_val_loss_and_a_full_batch_run() -> None:
    """Full batch: every step ends an epoch, and the rule judges each."""
    trace = gradtrace.fit(
        line(),
        optimizer="keras.sgd",
        lr=0.5,
        lr_schedule="keras.plateau:monitor=val_loss,patience=1,factor=0.5",
        epochs=30,
        validation_split=0.2,
    )
    history = trace.history()
    assert history["val_loss"].notna().all()
    assert history["lr"].iloc[-1] < 0.5


def test_keras_plateau_watches_val_loss_where_there_are_validation_data() -> None:
    """Keras's ReduceLROnPlateau() watches val_loss by default: so does
    keras.plateau where the run holds out rows (a Keras user's run cut its rate
    after other epochs, watching the training loss unasked); monitor=loss still
    watches that, and without validation data the training loss is watched."""
    options: dict[str, Any] = dict(
        optimizer="keras.sgd", lr=0.5, batch_size=10, epochs=25, validation_split=0.2
    )
    plain = gradtrace.fit(
        line(), lr_schedule="keras.plateau:patience=1,factor=0.5", **options
    )
    val = gradtrace.fit(
        line(),
        lr_schedule="keras.plateau:patience=1,factor=0.5,monitor=val_loss",
        **options,
    )
    loss = gradtrace.fit(
        line(),
        lr_schedule="keras.plateau:patience=1,factor=0.5,monitor=loss",
        **options,
    )
    assert plain.info["lr_schedule"]["monitor"] == "val_loss"
    pd.testing.assert_series_equal(plain.history()["lr"], val.history()["lr"])
    assert not plain.history()["lr"].equals(loss.history()["lr"])
    options.pop("validation_split")
    alone = gradtrace.fit(line(), lr_schedule="keras.plateau:patience=1", **options)
    assert alone.info["lr_schedule"]["monitor"] == "loss"


def test_python_validation_data_are_needed_again_to_resume(tmp_path: Path) -> None:
    frame = line()
    options: dict[str, Any] = dict(lr=0.1, batch_size=20, epochs=6)
    folder = tmp_path / "run"
    cut = gradtrace.fit(
        frame.iloc[:90],
        **options,
        validation_data=frame.iloc[90:],
        out=folder,
        checkpoint_every=4,
        progress=ctrl_c_after(2),
    )
    assert cut.status == "interrupted"
    with pytest.raises(InputError, match="validation data were given in Python"):
        gradtrace.resume(folder, data=frame.iloc[:90])
    done = gradtrace.resume(
        folder, data=frame.iloc[:90], validation_data=frame.iloc[90:]
    )
    whole = gradtrace.fit(frame.iloc[:90], **options, validation_data=frame.iloc[90:])
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())


def test_the_cli_takes_a_validation_file_and_reruns_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = line()
    frame.iloc[:90].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[90:].to_csv(tmp_path / "val.csv", index=False)
    out = tmp_path / "run"
    code, said, err = run_cli(
        [
            "fit",
            str(tmp_path / "train.csv"),
            "--validation-data",
            str(tmp_path / "val.csv"),
            "--batch-size",
            "30",
            "--epochs",
            "5",
            "--metric",
            "rmse",
            "--lr",
            "0.1",
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert f"validation: {tmp_path / 'val.csv'}" in said
    assert "val_loss " in said and "after epoch 5" in said and "val_rmse" in said
    info = json.loads((out / "run.json").read_text())
    assert info["data"]["validation"]["n_rows"] == 30
    assert len(info["data"]["validation"]["sha256"]) == 64
    code, said, err = run_cli(["show", str(out), "--keras"], capsys)
    assert code == 0 and "val_root_mean_squared_error" in said
    assert "held no rows out" not in err
    code, said, err = run_cli(
        ["rerun", str(out), "--out", str(tmp_path / "again")], capsys
    )
    assert code == 0, err
    (tmp_path / "val.csv").write_text("x,y\n1,2\n")
    code, said, err = run_cli(
        ["rerun", str(out), "--out", str(tmp_path / "third")], capsys
    )
    assert code == 2 and "validation data file" in err and "changed" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_loss_picture_draws_the_validation_loss(tmp_path: Path) -> None:
    trace = gradtrace.fit(
        line(), lr=0.1, batch_size=30, epochs=4, validation_split=0.25
    )
    figure = trace.plot("loss")
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "validation loss (after the epoch)" in labels
    drawn = figure.axes[0].get_lines()
    (held,) = [ln for ln in drawn if "validation" in ln.get_label()]
    assert held.get_marker() == "s"  # a square an epoch
    # 400 full-batch epochs: a line alone, whose squares hid the training loss
    many = gradtrace.fit(line(), lr=0.1, epochs=400, validation_split=0.25)
    lines = many.plot("loss").axes[0].get_lines()
    (held,) = [ln for ln in lines if "validation" in ln.get_label()]
    assert held.get_marker() in ("None", "", None) and len(held.get_xdata()) == 401
    # the training rows' loss, not the data's (a newcomer read "all data" as
    # every row, the held-out ones too)
    assert "loss over all training rows (after the step)" in labels
    landscape = trace.plot("landscape")
    assert landscape.axes[1].get_ylabel() == "mse over all training rows"
    from gradtrace.report.html import payload

    assert payload(trace)["all_rows"] == "all the training rows"
    whole = gradtrace.fit(line(), lr=0.1, batch_size=30, epochs=1)
    assert payload(whole)["all_rows"] == "all the data"


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--validation-split", "1.5"], "validation split must be between 0 and 1"),
        (["--validation-split", "0.999"], "leaves no rows to train on"),
        (
            ["--validation-split", "0.99"],
            "built-in data set 'seed001_line': validation split 0.99 of 100 rows "
            "leaves 1 row to train on",
        ),
        (
            ["--validation-split", "0.2", "--validation-data", "seed001_line"],
            "give validation_split or validation_data",
        ),
        (["--validation-data", "nowhere.csv"], "nowhere.csv"),
        (
            ["--lr-schedule", "torch.plateau:monitor=val_loss"],
            "monitor=val_loss watches the validation data's loss: give them",
        ),
        (
            ["--lr-schedule", "keras.plateau:monitor=val_rmse"],
            "monitor=loss) or the validation data's",
        ),
    ],
)
def test_bad_validation_input_is_told_what_to_give(
    args: list[str], told: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit_refused(["seed001_line", "--epochs", "2", *args], told, tmp_path / "r", capsys)


def test_validation_data_need_the_training_columns() -> None:
    with pytest.raises(InputError, match="the validation data"):
        gradtrace.fit(line(), epochs=2, validation_data={"u": [1.0], "y": [2.0]})
    with pytest.raises(InputError, match="missing"):
        gradtrace.fit(
            line(), epochs=2, validation_data={"x": [1.0, np.nan], "y": [2.0, 1.0]}
        )


def test_a_stream_takes_a_validation_file(tmp_path: Path) -> None:
    """Streamed in chunks, unshuffled, the validation columns are the in-memory
    run's; a split (the file's last rows are streamed, not held) is refused in
    one line."""
    data = tmp_path / "d.parquet"
    frame = line().astype(np.float32)
    frame.iloc[:90].to_parquet(data)
    frame.iloc[90:].to_csv(tmp_path / "val.csv", index=False)
    options: dict[str, Any] = dict(
        lr=0.1,
        batch_size=20,
        epochs=4,
        shuffle=False,
        metrics="rmse",
        exact=False,
        validation_data=str(tmp_path / "val.csv"),
    )
    whole = gradtrace.fit(str(data), **options).to_pandas()
    streamed = gradtrace.fit(str(data), stream=True, chunk_rows=40, **options)
    columns = ["step", "val_loss", "val_rmse"]
    pd.testing.assert_frame_equal(
        streamed.to_pandas()[columns].dropna().reset_index(drop=True),
        whole[columns].dropna().reset_index(drop=True),
        rtol=1e-6,
    )
    with pytest.raises(InputError, match="not a split or data in Python"):
        gradtrace.fit(str(data), stream=True, epochs=2, validation_split=0.2)


def test_a_validation_file_without_the_columns_says_to_rename_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not "did you mean --x room?": the training data's columns are right."""
    (tmp_path / "val.csv").write_text("x,why\n1,2\n")
    code, _, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--validation-data",
            str(tmp_path / "val.csv"),
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 2 and "have no column 'y' (their columns: x, why)" in err
    assert "rename theirs to match" in err and "--x" not in err


def test_the_command_line_validation_stands_for_the_config_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.toml"
    config.write_text('validation-data = "seed001_line"\nepochs = 3\n')
    out = tmp_path / "r"
    code, said, err = run_cli(
        [
            "fit",
            "seed003_linear",
            "--config",
            str(config),
            "--validation-split",
            "0.1",
            "--out",
            str(out),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    info = json.loads((out / "run.json").read_text())
    assert info["data"]["validation"]["split"] == 0.1


def test_the_step_table_shows_val_loss_at_epochs_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said, err = run_cli(
        [
            "fit",
            "seed003_linear",
            "--validation-split",
            "0.2",
            "--batch-size",
            "100",
            "--epochs",
            "40",
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert code == 0, err
    header, *rows = [r for r in said.splitlines() if r.strip()][:21]
    assert header.split()[-1] == "val_loss"
    steps = [int(r.split()[0]) for r in rows if r.split()[0].isdigit()]
    assert steps[1:] and all(s % 8 == 0 for s in steps)  # 8 batches an epoch


def test_a_saved_split_run_reads_back_only_its_training_rows(tmp_path: Path) -> None:
    """Read again from its file, a run's data are the rows it trained on: a
    full-batch step's explanation is the same from the folder."""
    from gradtrace.plot import _run_data

    trace = gradtrace.fit(
        "seed003_linear", lr=0.1, epochs=3, validation_split=0.2, out=tmp_path / "r"
    )
    loaded = gradtrace.load(tmp_path / "r")
    x, y = _run_data(loaded)
    assert len(y) == trace.info["data"]["n_rows"] == 800
    here, there = trace.explain(2), loaded.explain(2)
    pd.testing.assert_frame_equal(here, there)


@pytest.mark.parametrize("call", ["sweep", "lr_find", "diagnose"])
def test_what_takes_no_validation_says_so(call: str) -> None:
    """Not left silently unused (a sweep trained on the split's rows alone)."""
    extra: dict[str, Any] = {"sweep": {"lr": [0.01, 0.1], "epochs": 2}}.get(call, {})
    held = [] if call == "sweep" else [{"validation_split": 0.2}]  # a sweep's own
    for option in (
        *held,
        {"early_stopping": "monitor=loss"},
        {"optimizer": "torch.sgd", "lr_schedule": "torch.plateau:monitor=val_loss"},
    ):
        told = "takes no|has no validation data|drop lr_schedule"
        with pytest.raises(InputError, match=told):
            getattr(gradtrace, call)("seed001_line", **extra, **option)


def test_views_of_a_run_with_validation_data_need_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load(RUN, data=...) reads no validation data (a relative path, data given
    in Python) and checks nothing that needs them."""
    frame = line()
    frame.iloc[90:].to_csv(tmp_path / "val.csv", index=False)
    monkeypatch.chdir(tmp_path)
    gradtrace.fit(
        frame.iloc[:90],
        lr=0.1,
        batch_size=30,
        epochs=3,
        optimizer="torch.sgd",
        lr_schedule="torch.plateau:monitor=val_loss",
        validation_data="val.csv",
        out=tmp_path / "run",
    )
    monkeypatch.chdir("/")
    loaded = gradtrace.load(tmp_path / "run", data=frame.iloc[:90])
    assert loaded.explain(2).attrs["logged"]["batch_rows"] == 30


def test_rerun_with_data_checks_the_validation_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = line()
    frame.iloc[:90].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[90:].to_csv(tmp_path / "val.csv", index=False)
    out = tmp_path / "run"
    gradtrace.fit(
        str(tmp_path / "train.csv"),
        epochs=2,
        validation_data=str(tmp_path / "val.csv"),
        out=out,
    )
    (tmp_path / "val.csv").write_text("x,y\n1,2\n")
    code, _, err = run_cli(
        [
            "rerun",
            str(out),
            "--data",
            str(tmp_path / "train.csv"),
            "--out",
            str(tmp_path / "b"),
        ],
        capsys,
    )
    assert code == 2 and "validation data file" in err and "changed" in err


def test_a_config_files_validation_path_is_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    frame = line()
    frame.iloc[:90].to_csv(folder / "train.csv", index=False)
    frame.iloc[90:].to_csv(folder / "val.csv", index=False)
    (folder / "run.toml").write_text(
        'data = "train.csv"\nvalidation-data = "val.csv"\nepochs = 2\n'
    )
    monkeypatch.chdir(tmp_path)
    code, said, err = run_cli(
        ["fit", "--config", "project/run.toml", "--out", "r", "-q"], capsys
    )
    assert code == 0, err
    assert "validation: " in said and "val.csv" in said


@pytest.mark.parametrize(
    ("path", "told"),
    [
        ("-", "validation data cannot come from standard input"),
        ("nowhere.csv", "validation data: data file 'nowhere.csv' not found"),
    ],
)
def test_validation_files_that_cannot_be_read(path: str, told: str) -> None:
    with pytest.raises(InputError, match=told):
        gradtrace.fit(line(), epochs=2, validation_data=path)


def test_one_validation_row_is_taken_and_a_partial_epoch_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keras takes one validation row; a run that ends inside an epoch says its
    last validation loss is after that step, not after a whole epoch."""
    one = gradtrace.fit(line(), epochs=2, validation_data=line().iloc[:1])
    assert one.info["data"]["validation"]["n_rows"] == 1
    code, said, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--validation-split",
            "0.2",
            "--batch-size",
            "16",
            "--steps",
            "7",
            "--out",
            str(tmp_path / "r"),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert "after step 7 (the run ended inside epoch 2)" in said


def test_the_fit_picture_draws_the_held_out_rows(tmp_path: Path) -> None:
    """In another colour, from a run of this session and from its folder, for a
    split and for a file of their own."""
    frame = line()
    frame.iloc[90:].to_csv(tmp_path / "val.csv", index=False)
    for options in (
        {"validation_split": 0.25},
        {"validation_data": str(tmp_path / "val.csv")},
    ):
        folder = tmp_path / f"run{len(options)}{next(iter(options))}"
        data = "seed001_line" if "validation_split" in options else frame.iloc[:90]
        trace = gradtrace.fit(data, epochs=2, **options, out=folder)
        again = None if isinstance(data, str) else data
        for shown in (trace, gradtrace.load(folder, data=again)):
            figure = shown.plot("fit")
            labels = [h.get_label() for h in figure.axes[0].get_lines()]
            assert any(label.startswith("validation rows (") for label in labels)


def test_a_sweep_takes_each_configurations_validation_loss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """val_loss at each configuration's final values is the single fit's; the
    lowest is named beside the best."""
    frame = line()
    rates = [0.01, 0.1, 0.4]
    swept = gradtrace.sweep(
        frame, lr=rates, batch_size=20, epochs=3, shuffle=False, validation_split=0.25
    )
    for rate, got in zip(rates, swept.table["val_loss"], strict=True):
        one = gradtrace.fit(
            frame,
            lr=rate,
            batch_size=20,
            epochs=3,
            shuffle=False,
            validation_split=0.25,
        )
        assert got == pytest.approx(one.history()["val_loss"].iloc[-1], rel=1e-5)
    lowest = swept.table.loc[swept.table["val_loss"].idxmin()]
    assert swept.best_validated is not None
    assert swept.best_validated["lr"] == lowest["lr"]
    assert "lowest val_loss" in swept.best_text()
    assert swept.info["data"]["validation"]["n_rows"] == 30
    held = gradtrace.sweep(
        frame.iloc[:90], lr=rates, epochs=2, validation_data=frame.iloc[90:]
    )
    assert held.table["val_loss"].notna().all()
    code, said, err = run_cli(
        [
            "sweep",
            "seed001_line",
            "--lr",
            "0.01,0.1",
            "--epochs",
            "2",
            "--validation-split",
            "0.2",
            "--no-plot",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "lowest val_loss lr=" in said
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert table["val_loss"].notna().all()


def test_validation_rows_dropped_for_a_missing_value_are_said() -> None:
    """--drop-missing dropped a validation row in silence (the training data's
    drops were noted): both are said now, each of its own data."""
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "y": [2.0, 4, np.nan, 8, 10, 12]})
    held = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": [2.0, 4, 6]})
    trace = gradtrace.fit(frame, validation_data=held, drop_missing=True, steps=2)
    assert "dropped 1 row with missing or infinite values." in trace.notes
    assert (
        "dropped 1 row with missing or infinite values from the validation data."
        in trace.notes
    )
    assert trace.info["data"]["validation"]["dropped_rows"] == 1
