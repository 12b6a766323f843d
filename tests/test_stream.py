"""Streamed runs (``--stream``): a Parquet file read a chunk at a time gives the
in-memory run's trace when unshuffled, and a chunk-and-window shuffle that visits
every row once an epoch when shuffled."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import run_cli

import gradtrace
from gradtrace.api import run
from gradtrace.core import stream
from gradtrace.explain import steps_rows
from gradtrace.run_config import RunConfig
from gradtrace.streaming import run_stream


def _write(frame: pd.DataFrame, path: Path, row_group: int) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, row_group_size=row_group)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """517 rows (a prime: no batch or chunk size divides it) in row groups of 50,
    which chunks of 64 rows straddle."""
    rng = np.random.default_rng(1)
    n = 517
    frame = pd.DataFrame({"x": rng.uniform(0, 2, size=n)})
    frame["y"] = rng.poisson(np.exp(0.5 + 0.7 * frame["x"])).astype(float)
    frame["z"] = rng.normal(3, 2, size=n)
    frame["x2"] = rng.normal(size=n)
    path = tmp_path_factory.mktemp("stream") / "data.parquet"
    return frame, _write(frame, path, row_group=50)


def _pair(data: Any, **options: Any) -> tuple[gradtrace.Trace, gradtrace.Trace]:
    frame, path = data
    config = RunConfig(data=str(path), shuffle=False, exact=False, **options)
    in_memory = run(config, frame, "the frame")
    config.stream, config.chunk_rows = True, 64
    return in_memory, run_stream(config)


CASES = [
    # mini-batch: the batches are the in-memory run's, so params, gradients and batch
    # losses are equal; a partial last batch (517 = 16 x 32 + 5)
    dict(model="line", batch_size=16, lr=0.05, epochs=3, eval_every=5),
    dict(model="line", batch_size=16, lr=0.05, epochs=2, metrics=["rmse", "r2"]),
    dict(model="poisson", batch_size=32, lr=0.01, epochs=3, eval_every=7),
    dict(model="linear", x=["x", "x2"], batch_size=10, optimizer="adam", lr=0.1),
    # full batch: a step sums the chunks' losses and gradients
    dict(model="poisson", lr=0.01, epochs=5),
    dict(model="normal", y="z", lr=0.1, epochs=5, dtype="float64"),
    dict(model="line", lr=0.1, epochs=4, metrics=["mae"]),
    # a learning-rate schedule: PyTorch's once an epoch, Keras's every step
    dict(
        model="line",
        batch_size=32,
        lr=0.1,
        epochs=3,
        optimizer="torch.sgd",
        lr_schedule="torch.step:step_size=1,gamma=0.5",
    ),
    dict(
        model="line",
        lr=0.5,
        epochs=6,
        optimizer="keras.adam",
        lr_schedule="keras.cosine:decay_steps=4",
    ),
    # diverging: the same last step
    dict(model="line", lr=5.0, epochs=20),
    dict(model="line", batch_size=16, lr=3.0, epochs=20, eval_every=4),
]


@pytest.mark.parametrize("options", CASES, ids=lambda o: str(sorted(o.items())))
def test_unshuffled_stream_equals_the_in_memory_run(
    data: Any, options: dict[str, Any]
) -> None:
    options = {"eval_every": None, "batch_size": None, **options}
    if options.get("batch_size") and options["eval_every"] is None:
        options["eval_every"] = math.ceil(517 / options["batch_size"])
    a, b = _pair(data, **options)
    assert (a.status, a.steps, a.diverged_step) == (b.status, b.steps, b.diverged_step)
    ta, tb = a.to_pandas(), b.to_pandas()
    assert list(ta.columns) == list(tb.columns)
    exact = ["epoch", "batch"]
    if len(options.get("x") or ()) < 2:
        # a gradient over x of several columns is taken in reverse mode, whose
        # products with x XLA computes by the batch's shape and place (a library's
        # matrix product or a fused sum), rounding apart: the closeness below holds
        exact.append("batch_loss")
        exact += [
            c for c in tb.columns if c in a.info["initial"] or c.startswith("grad_")
        ]
    # up to the first partial batch, the same arithmetic on the same rows; a partial
    # batch's masked rows lie elsewhere in its slice, so its sum may round apart
    whole = 1 + (math.ceil(517 / options["batch_size"]) if options["batch_size"] else 0)
    for col in tb.columns:
        x, y = ta[col].to_numpy(float), tb[col].to_numpy(float)
        if col in exact:
            # the same arithmetic, in two compiled programs: XLA may fuse (and so
            # round) a multiply-add or an exp apart, by an ulp or two
            np.testing.assert_array_max_ulp(
                ta[col].to_numpy()[:whole], tb[col].to_numpy()[:whole], maxulp=4
            )
        # sums over chunks (in float64) round differently, and so do the partial
        # batches' float32 sums: a few float32 ulps of the column's largest value
        scale = float(np.max(np.abs(y[np.isfinite(y)]), initial=0.0))
        np.testing.assert_allclose(
            x, y, rtol=2e-6, atol=max(1e-7, 1e-6 * scale), err_msg=col
        )
    if "likelihood" in a.info:
        la, lb = a.info["likelihood"]["final"], b.info["likelihood"]["final"]
        assert lb["loglik"] == pytest.approx(la["loglik"], rel=1e-9)


def _streamed_line(path: Path, **options: Any) -> gradtrace.Trace:
    """A line fitted for 2 epochs to the file read in chunks of 64 rows, shuffled
    within windows of 128."""
    return gradtrace.fit(
        str(path),
        "line",
        epochs=2,
        lr=0.05,
        stream=True,
        chunk_rows=64,
        shuffle_window=128,
        exact=False,
        **options,
    )


def _reads_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each read of a Parquet file from now on (``ParquetRows.read``)."""
    from gradtrace.data import ParquetRows

    spans: list[int] = []
    read = ParquetRows.read

    def counted(self: Any, start: int, stop: int) -> Any:
        spans.append(stop - start)
        return read(self, start, stop)

    monkeypatch.setattr(ParquetRows, "read", counted)
    return spans


REFERENCE_CASES = [
    # least squares: the QR factor updated chunk by chunk, against lstsq of all rows
    dict(model="line"),
    dict(model="line", loss="nll", batch_size=16),
    dict(model="linear", x=["x", "x2"], batch_size=10, optimizer="adam"),
    # Newton's method: each value, gradient and Hessian a pass over the chunks
    dict(model="poisson-regression", lr=0.01),
    # closed forms from running sums
    dict(model="normal", y="z", lr=0.1),
    dict(model="poisson", lr=0.01, batch_size=32),
    # a summed loss, and a parameter held fixed
    dict(model="line", loss="nll", reduction="sum", lr=1e-4, fix={"scale": 1.5}),
    dict(model="normal", y="z", lr=0.01, reduction="sum", fix={"loc": 3.0}),
]


def _close(a: Any, b: Any, path: str = "", rel: float = 1e-9) -> None:
    """Nested run.json values equal, numbers to float64 rounding of sums taken in
    another order (and Newton's tolerance)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}", rel)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _close(u, v, f"{path}[{i}]", rel)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=rel, abs=1e-12, nan_ok=True), path
    else:
        assert a == b, path


@pytest.mark.parametrize(
    "options", REFERENCE_CASES, ids=lambda o: str(sorted(o.items()))
)
def test_a_streamed_run_gets_the_in_memory_runs_exact_answer(
    data: Any, options: dict[str, Any]
) -> None:
    frame, path = data
    config = RunConfig(data=str(path), shuffle=False, epochs=1, **options)
    in_memory = run(config, frame, "the frame")
    config.stream, config.chunk_rows = True, 64
    streamed = run_stream(config)
    keys = ["optimum", "optimum_loss", "optimum_method", "stderr", "ci", "diagnosis"]
    assert set(keys) <= in_memory.info.keys()
    _close({k: in_memory.info[k] for k in keys}, {k: streamed.info[k] for k in keys})
    if "likelihood" in in_memory.info:
        # at the optimum (the final points differ), of the values as the file holds
        # them: float32 copies would move it by 1e-10 to 1e-9
        _close(
            in_memory.info["likelihood"]["optimum"],
            streamed.info["likelihood"]["optimum"],
            rel=1e-12,
        )
    # the gap where the stream took the loss over all the data (once an epoch)
    gap = streamed.to_pandas()["gap"].to_numpy()
    taken = ~np.isnan(gap)
    assert taken[0] and taken[-1]
    expected = in_memory.to_pandas()["gap"].to_numpy()[taken]
    np.testing.assert_allclose(gap[taken], expected, rtol=1e-5, atol=1e-6)


def test_diagnose_stream_prints_what_diagnose_prints_of_the_data_in_memory(
    data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = data
    args = ["diagnose", str(path), "--model", "poisson-regression", "--lr", "0.05"]
    code, whole, err = run_cli(args, capsys)
    assert code == 0, err
    code, streamed, err = run_cli([*args, "--stream", "--chunk-rows", "64"], capsys)
    assert code == 0, err
    assert streamed == whole and "Newton" in whole and "stable limit" in whole
    assert "note: chunks of 64 rows" in err and "small chunks are slow" in err
    code, _, err = run_cli([*args, "--chunk-rows", "64"], capsys)
    assert code == 2 and "--chunk-rows goes with --stream" in err


def test_a_bad_value_only_the_exact_answer_reaches_is_an_error_not_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = pd.DataFrame({"y": np.r_[np.ones(250), -1.0, np.ones(49)]})
    path = _write(counts, tmp_path / "counts.parquet", row_group=50)
    args = ["diagnose", str(path), "--model", "poisson", "--stream"]
    code, _, err = run_cli([*args, "--chunk-rows", "64"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "data row 251" in err and "no exact optimum" not in err


@pytest.mark.parametrize("batch_size", [16, None], ids=["mini-batch", "full-batch"])
def test_explain_reads_only_a_streamed_steps_rows_and_gets_the_whole_files_table(
    data: Any, batch_size: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradtrace.explain import explain_step, run_data

    _, path = data
    trace = _streamed_line(path, batch_size=batch_size)
    spans = _reads_counted(monkeypatch)
    for step in sorted({1, min(7, trace.steps), trace.steps}):
        spans.clear()
        table = trace.explain(step, rows=5)
        # a mini-batch: its window's span at most; a full batch: a chunk at a time
        assert spans and max(spans) <= (128 if batch_size else 64)
        whole = explain_step(
            trace.to_pandas(), trace.info, *run_data(trace.info), step, rows_shown=5
        )
        pd.testing.assert_frame_equal(table.iloc[:-1], whole.iloc[:-1])
        np.testing.assert_allclose(
            table.iloc[-1, 1:].to_numpy(float),
            whole.iloc[-1, 1:].to_numpy(float),
            rtol=1e-12,
        )
        assert list(table["row"][:-1]) == list(trace.rows(step)[:5])


def test_the_pictures_of_a_big_streamed_run_draw_a_sample_of_its_file(
    data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradtrace import animate, plot
    from gradtrace.explain import run_data
    from gradtrace.report import html

    monkeypatch.setattr(plot, "PICTURE_ROWS", 100)  # of 517 rows
    frame, path = data
    trace = _streamed_line(path, batch_size=16)
    spans = _reads_counted(monkeypatch)
    drawn = plot.plot_run(trace, tmp_path)
    assert len(drawn) == 6 and max(spans) <= 64  # a chunk at a time, never whole
    rows = plot.data_rows(trace)
    assert rows is not None and len(rows) == 100 and np.all(np.diff(rows) > 0)
    x, y = plot._run_data(trace)
    whole_x, whole_y = run_data(trace.info)
    np.testing.assert_array_equal(y, whole_y[rows])  # the sample's own rows
    assert whole_x is not None and x is not None
    np.testing.assert_array_equal(x, whole_x[rows])
    # the MSE's minimum is over every row of the file, not over the sample
    ax = plot.mse_and_likelihood(trace).axes[0]
    best = next(line for line in ax.get_lines() if "mean(y - w x)" in line.get_label())
    w = trace.params["w"]
    assert best.get_xdata()[0] == pytest.approx(np.mean(whole_y - w * whole_x))
    # labels say what is drawn
    labels = [line.get_label() for line in plot.fit_over_data(trace).axes[0].lines]
    assert "data (a random 100 of 517 rows)" in labels
    labels = [line.get_label() for line in plot.residual_plot(trace).axes[0].lines]
    assert "data (a random 100 of 517 rows)" in labels
    bar = plot.loss_landscape(trace).axes[1].get_ylabel()
    assert bar == "mse over a random 100 of 517 rows"
    payload = html.payload(trace)
    assert payload["n_rows"] == 517 and set(payload["data"]["index"]) <= set(rows)
    # an animation frame rings the batch's rows that the sample holds
    step = 5
    batch = trace.rows(step)
    figure = animate.frame_figure(trace, step)
    ring = next(
        line for line in figure.axes[0].lines if line.get_label().startswith("batch")
    )
    held = np.intersect1d(batch, rows)
    assert (
        ring.get_label() == f"batch (16 rows; {len(held)} of them among the 100 read)"
    )
    np.testing.assert_array_equal(np.sort(ring.get_ydata()), np.sort(whole_y[held]))


def test_a_median_in_a_streamed_run_is_left_out_with_a_notice(data: Any) -> None:
    _, path = data
    trace = gradtrace.fit(
        str(path), "laplace", y="z", epochs=1, stream=True, chunk_rows=64
    )
    assert "optimum" not in trace.info
    assert any("median needs the data in memory" in n for n in trace.info["notices"])
    # in Python, the small chunks' note names Python's argument
    small = [n for n in trace.notes if n.startswith("chunks of 64 rows")]
    assert small and small[0].endswith("read fast (chunk_rows=).")


def test_shuffled_stream_batches_are_the_rows_it_trained_on(data: Any) -> None:
    frame, path = data
    trace = _streamed_line(path, batch_size=16, seed=3)
    table = trace.to_pandas()
    assert trace.info["schedule"]["stream"] == {"chunk_rows": 64, "window_chunks": 2}
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    per_epoch = math.ceil(517 / 16)
    for epoch in (1, 2):
        steps = range((epoch - 1) * per_epoch + 1, epoch * per_epoch + 1)
        seen = np.concatenate([trace.rows(s) for s in steps])
        assert sorted(seen.tolist()) == list(range(517))  # every row once an epoch
    first = trace.rows(1)
    assert first.tolist() != list(range(16))  # shuffled
    # every step's batch loss is the MSE of its rows (each epoch's order drawn once)
    for step, rows in steps_rows(trace.info, range(1, trace.steps + 1)):
        w, b = table.loc[step - 1, "w"], table.loc[step - 1, "b"]
        mse = np.mean((w * x[rows] + b - y[rows]) ** 2)
        assert table.loc[step, "batch_loss"] == pytest.approx(mse, rel=1e-5), step
        np.testing.assert_array_equal(rows, trace.rows(step))
    # each step's batch loss is the MSE of its rows at the parameters before it
    for step in (1, 2, 17, per_epoch + 5):
        rows = trace.rows(step)
        w, b = table.loc[step - 1, "w"], table.loc[step - 1, "b"]
        mse = np.mean((w * x[rows] + b - y[rows]) ** 2)
        assert table.loc[step, "batch_loss"] == pytest.approx(mse, rel=1e-5)
        assert 0 < len(rows) <= 16
    # a new seed, a new order
    other = gradtrace.fit(
        str(path),
        "line",
        batch_size=16,
        epochs=1,
        lr=0.05,
        seed=4,
        stream=True,
        chunk_rows=64,
        exact=False,
    )
    assert other.rows(1).tolist() != first.tolist()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 400),
    batch=st.integers(1, 50),
    chunk=st.integers(1, 200),
    window=st.integers(1, 500),
    shuffle=st.booleans(),
    epoch=st.integers(0, 3),
)
def test_an_epoch_visits_every_row_once_in_the_in_memory_number_of_batches(
    n: int, batch: int, chunk: int, window: int, shuffle: bool, epoch: int
) -> None:
    layout = stream.Layout.make(n, batch, chunk, window, shuffle, seed=7)
    per_epoch = math.ceil(n / batch)
    assert layout.batches_per_epoch == per_epoch
    if batch < n:
        assert layout.chunk_rows % batch == 0
    steps = range(epoch * per_epoch, (epoch + 1) * per_epoch)
    parts = [layout.batch_rows(s) for s in steps]
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    if batch < n:
        # at most one batch an epoch is partial: the last of the short window
        assert sum(len(p) < batch for p in parts) <= 1
    if not shuffle:
        assert np.concatenate(parts).tolist() == list(range(n))
        # the in-memory run's batches
        plan = gradtrace.batch_plan(n, min(batch, n), per_epoch, False, 0)
        for p, q in zip(parts, plan, strict=True):
            assert p.tolist() == q[q >= 0].tolist()


class Recorded:
    """Rows from memory that remember the largest read."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y, self.largest = x, y, 0

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def read(self, start: int, stop: int) -> tuple[np.ndarray | None, np.ndarray]:
        self.largest = max(self.largest, stop - start)
        return self.x[start:stop], self.y[start:stop]


@pytest.mark.parametrize("batch", [8, 1000])
def test_a_streamed_run_reads_a_chunk_at_a_time(batch: int) -> None:
    from gradtrace.core.catalog import make_model
    from gradtrace.core.loop import Problem
    from gradtrace.core.optimizers import OptimizerSpec

    rng = np.random.default_rng(0)
    x = rng.normal(size=1000).astype(np.float32)
    y = (2 * x + 1).astype(np.float32)
    rows = Recorded(x, y)
    layout = stream.Layout.make(1000, batch, 100, None, True, 0)
    problem = Problem(make_model("line"), "mse", "mean", ("w", "b"))
    streamed = stream.Streamed(
        problem,
        OptimizerSpec.create("sgd", learning_rate=0.1),
        layout,
        250,
        1000,
        {"w": 0.0, "b": 0.0},
        {},
        rows,
    )
    history = stream.history(streamed, list(streamed.segments()))
    assert len(history.batch_loss) == 250
    assert rows.largest <= 100
    assert history.loss[-1] < history.initial_loss


def test_stream_refuses_what_it_cannot_do(
    tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, path = data
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    cases = [
        ([str(csv), "--stream"], "--stream reads Parquet files"),
        ([str(path), "--stream", "--devices", "2"], "--devices above 1"),
        ([str(path), "--stream", "--checkpoint-every", "0"], "--checkpoint-every"),
        ([str(path), "--chunk-rows", "10"], "go with --stream"),
        ([str(path), "--stream", "--chunk-rows", "0"], "--chunk-rows"),
        ([str(tmp_path / "none.parquet"), "--stream"], "not found"),
        ([str(path), "--stream", "--no-shuffle", "--shuffle-window", "9"], "drop it"),
        (["seed001_line", "--stream"], "built-in data set"),
        ([str(path), "--stream", "--y", "Y"], "column 'Y' not found"),
        # a folder of parts was "not found"
        ([str(path.parent), "--stream"], f"is a folder (it holds {path.name}"),
    ]
    for args, message in cases:
        out = tmp_path / "run"
        code, _, err = run_cli(["fit", *args, "--out", str(out)], capsys)
        assert code == 2, args
        assert message in err and "give a Parquet file" not in err
        assert len(err.strip().splitlines()) == 1
        assert not out.exists()


def test_stream_reads_the_columns_memory_reads(tmp_path: Path) -> None:
    """A boolean target, decimal columns and a name with a space ("y ") fitted
    in memory and were refused by --stream; two columns of one name were
    refused by --stream and fitted in memory (the first of them, silently). A
    messy-data user's findings: each now reads as the other does."""
    import decimal

    x = np.linspace(0.0, 1.0, 40)
    hits = np.random.default_rng(0).uniform(size=40) < x
    tables = {
        "bool": (pa.table({"x": x, "y": pa.array(hits)}), "logistic"),
        "decimal": (
            pa.table(
                {
                    name: pa.array(
                        [decimal.Decimal(f"{v:.2f}") for v in values],
                        pa.decimal128(10, 2),
                    )
                    for name, values in (("x", x), ("y", 2 * x + 1))
                }
            ),
            "line",
        ),
        "space": (pa.table({"x": x, "y ": 2 * x + 1}), "line"),
    }
    for name, (table, model) in tables.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path)
        memory = gradtrace.fit(str(path), model, steps=5)
        streamed = gradtrace.fit(str(path), model, steps=5, stream=True)
        for key, value in memory.params.items():
            np.testing.assert_allclose(streamed.params[key], value, rtol=1e-6)
        for key, value in memory.info["optimum"].items():
            np.testing.assert_allclose(streamed.info["optimum"][key], value, rtol=1e-9)
    twice = tmp_path / "twice.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [pa.array(x), pa.array(2 * x), pa.array(3 * x)], names=["x", "y", "y"]
        ),
        twice,
    )
    for stream_it in (False, True):
        with pytest.raises(gradtrace.InputError) as err:
            gradtrace.fit(str(twice), steps=2, stream=stream_it)
        assert str(err.value) == (
            f"{str(twice)!r} has two columns named 'y' (columns 2 and 3 of its "
            "header): rename one, or remove it."
        )


def test_drop_missing_and_standardize_stream_as_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with missing values in x and y past its first rows, standardised:
    --stream leaves out the same rows (a first pass finds them all, the count is
    the whole file's), standardises by every kept row's mean and spread (not the
    first rows'), and trains to the in-memory trace; explain names each step's
    rows by their places in the file, as in memory; the refusal without
    --drop-missing counts only the rows it read."""
    from gradtrace import streaming

    monkeypatch.setattr(streaming, "SAMPLE_ROWS", 100)
    rng = np.random.default_rng(7)
    n = 517
    frame = pd.DataFrame({"a": rng.uniform(18, 80, n), "b": rng.lognormal(10, 0.5, n)})
    frame["y"] = 3 * frame["a"] + 0.002 * frame["b"] + rng.normal(0, 20, n)
    frame.loc[[3, 150, 151, 400], "a"] = np.nan
    frame.loc[[260, 516], "y"] = np.inf
    path = _write(frame, tmp_path / "gaps.parquet", row_group=50)
    options = dict(
        model="linear",
        x=["a", "b"],
        batch_size=16,
        epochs=2,
        lr=0.05,
        standardize=True,
        drop_missing=True,
        eval_every=33,
    )
    a, b = _pair((frame, path), **options)
    assert a.info["data"]["dropped_rows"] == b.info["data"]["dropped_rows"] == 6
    assert b.info["data"]["dropped_at"] == [3, 150, 151, 260, 400, 516]
    assert b.info["data"]["n_rows"] == n - 6
    kept = frame.dropna().replace(np.inf, np.nan).dropna()
    xs = kept[["a", "b"]].to_numpy(np.float64)  # as the file holds them
    for trace in (a, b):
        options_ = trace.info["model_options"]
        np.testing.assert_allclose(options_["center"], xs.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(options_["spread"], xs.std(axis=0), rtol=1e-10)
    ta, tb = a.to_pandas(), b.to_pandas()
    for col in ta.columns:
        x, y = ta[col].to_numpy(float), tb[col].to_numpy(float)
        scale = float(np.max(np.abs(y[np.isfinite(y)]), initial=0.0))
        np.testing.assert_allclose(
            x, y, rtol=2e-6, atol=max(1e-7, 1e-6 * scale), err_msg=col
        )
    for step in (1, 10, b.steps):
        assert list(a.rows(step)) == list(b.rows(step))
        pd.testing.assert_frame_equal(a.explain(step, rows=4), b.explain(step, rows=4))
    code, _, err = run_cli(
        [
            "fit",
            str(path),
            "--stream",
            "--model",
            "linear",
            "--x",
            "a",
            "--x",
            "b",
            "--out",
            str(tmp_path / "run"),
        ],
        capsys,
    )
    assert code == 2 and "(1 such row in its first 100 of 517)" in err
    assert "--drop-missing" in err


def test_stream_names_a_bad_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.DataFrame({"x": np.arange(300.0), "y": np.arange(300.0)})
    frame.loc[211, "y"] = np.nan
    path = _write(frame, tmp_path / "bad.parquet", row_group=64)
    code, _, err = run_cli(
        [
            "fit",
            str(path),
            "--stream",
            "--chunk-rows",
            "50",
            "--batch-size",
            "10",
            "--out",
            str(tmp_path / "run"),
        ],
        capsys,
    )
    assert code == 2
    assert "data row 212" in err
    assert not (tmp_path / "run").exists()


def test_numbers_written_as_text_are_told_to_be_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read whole, a column of numbers as text is parsed; streamed, it is refused
    with the two ways out (the stream reads typed columns only)."""
    x = np.arange(300.0)
    frame = pd.DataFrame({"x": x.astype(str), "y": 2 * x + 1})
    path = _write(frame, tmp_path / "text.parquet", row_group=64)
    args = ["fit", str(path), "--steps", "3", "--lr", "1e-5", "-q"]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "whole")], capsys)
    assert code == 0, err
    code, _, err = run_cli([*args, "--stream", "--out", str(tmp_path / "s")], capsys)
    assert code == 2
    assert "text.parquet' holds numbers written as text" in err
    assert "drop --stream to read the file whole" in err
    assert "pd.to_numeric(df['x'])" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_stream_cli_writes_a_run_that_reruns_and_resumes_only_unfinished(
    tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = data
    out = tmp_path / "run"
    args = ["fit", str(path), "--stream", "--chunk-rows", "64", "--batch-size", "16"]
    code, stdout, err = run_cli([*args, "--epochs", "2", "--out", str(out)], capsys)
    assert code == 0, err
    assert "streamed: read 64 rows at a time, rows shuffled within windows of 256" in (
        stdout
    )
    # shuffled in windows, the one short batch (517 = 32 x 16 + 5) ends the window
    # of the file's short last chunk, wherever it falls: not "the last"
    assert "batches of 16 (one of 5), 33 per epoch, shuffled" in stdout
    assert "optimum" in stdout and "gap" in stdout
    first = gradtrace.load(out)
    assert "gap" in first.to_pandas().columns
    assert first.steps == 2 * math.ceil(517 / 16)
    assert first.info["config"]["stream"] is True
    again = tmp_path / "again"
    code, _, err = run_cli(["rerun", str(out), "--out", str(again)], capsys)
    assert code == 0, err
    second = gradtrace.load(again)
    pd.testing.assert_frame_equal(first.to_pandas(), second.to_pandas())
    code, _, err = run_cli(["resume", str(out)], capsys)
    assert code == 2
    assert "resumed" in err


@pytest.mark.parametrize(
    "options",
    [
        dict(batch_size=16, epochs=3, metrics=["rmse"], shuffle=True),
        dict(steps=23, metrics=["mae"]),  # full batch: a pass over the file a step
        dict(batch_size=16, epochs=20, lr=3.0),  # diverges
    ],
    ids=["mini-batch", "full-batch", "diverging"],
)
def test_a_long_streamed_run_writes_its_trace_in_parts(
    data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    from gradtrace import run_parts
    from gradtrace.store import TraceWriter

    monkeypatch.setattr(run_parts, "TRACE_PART_STEPS", 7)
    monkeypatch.setattr(run_parts, "KEEP_ROWS", 10)
    _, path = data
    config = RunConfig(
        data=str(path), stream=True, chunk_rows=64, exact=False, **options
    )
    whole = run_stream(config)
    folder = tmp_path / "run"
    parted = run_stream(config, trace_to=lambda: TraceWriter(folder))
    assert parted.writer is not None
    parted.save(folder)
    loaded = gradtrace.load(folder)
    assert len(list((folder / "trace.parquet").iterdir())) > 1
    assert (loaded.status, loaded.steps) == (whole.status, whole.steps)
    pd.testing.assert_frame_equal(loaded.to_pandas(), whole.to_pandas())
    assert parted.params == whole.params


def test_explain_rebuilds_the_running_loss_of_a_shuffled_stream(tmp_path: Path) -> None:
    # 10 rows in chunks of 4, batches of 4: each window ends in its own short batch,
    # so a short batch can come first in an epoch
    rng = np.random.default_rng(2)
    x = rng.normal(size=10)
    path = _write(pd.DataFrame({"x": x, "y": 2 * x + 1}), tmp_path / "d.parquet", 4)
    trace = gradtrace.fit(
        str(path),
        lr=0.05,
        batch_size=4,
        epochs=3,
        stream=True,
        chunk_rows=4,
        shuffle_window=4,
        seed=0,
    )
    sizes = [len(trace.rows(s)) for s in range(1, trace.steps + 1)]
    # 3 batches an epoch: a short one comes before an epoch's end somewhere
    assert any(sizes[3 * e + b] < 4 for e in range(3) for b in range(2))
    for step in range(1, trace.steps + 1):
        logged = trace.explain(step).attrs["logged"]
        assert logged["batch_rows"] == sizes[step - 1]
        before = logged["rows_before_in_epoch"]
        assert before == sum(sizes[step - logged["batch"] : step - 1])
        previous = logged["running_loss_before"] or 0.0
        rebuilt = (previous * before + logged["batch_loss"] * logged["batch_rows"]) / (
            before + logged["batch_rows"]
        )
        assert rebuilt == pytest.approx(logged["running_loss"], rel=1e-5)


def test_a_row_outside_the_models_support_past_the_first_rows_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rows read before the run starts are checked then; every chunk read
    after them is checked as it comes, and the refusal names the file's row."""
    from gradtrace.streaming import SAMPLE_ROWS

    n = SAMPLE_ROWS + 2000
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"y": rng.poisson(3.0, size=n).astype(float)})
    frame.loc[SAMPLE_ROWS + 1234, "y"] = -1.0
    path = _write(frame, tmp_path / "counts.parquet", row_group=1000)
    out = tmp_path / "run"
    args = ["fit", str(path), "--model", "poisson", "--stream", "--out", str(out)]
    code, _, err = run_cli(
        [*args, "--batch-size", "500", "--chunk-rows", "3000"], capsys
    )
    assert code == 2
    assert f"data row {SAMPLE_ROWS + 1235}" in err and "counts" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_python_refuses_stream_options_without_stream() -> None:
    with pytest.raises(gradtrace.InputError, match="go with stream=True"):
        gradtrace.fit("seed001_line", chunk_rows=100)


def _resume_stream(config: RunConfig, folder: Path) -> None:
    """Resume the streamed run in ``folder`` from its state, as gradtrace resume
    does, and save it there."""
    from gradtrace.store import TraceWriter, load_state

    state = load_state(folder)
    resumed = run_stream(
        config,
        trace_to=lambda: TraceWriter.reopen(folder, int(state["parts"])),
        resume=state,
    )
    resumed.save(folder)


STREAM_RESUMED = [
    # shuffled chunk-and-window batches, Keras's running metrics, a loss over all
    # the data every 9 steps
    dict(batch_size=16, epochs=4, eval_every=9, metrics=["rmse"], seed=2),
    # in order, Adam
    dict(batch_size=10, epochs=2, shuffle=False, optimizer="adam", lr=0.05),
    # full batch: a step is a pass over the file
    dict(epochs=20, lr=0.1),
]


@pytest.mark.parametrize(
    "options", STREAM_RESUMED, ids=lambda o: str(sorted(o.items()))
)
@pytest.mark.parametrize("kill", [False, True], ids=["ctrl-c", "killed"])
def test_a_checkpointed_stream_resumes_to_the_uninterrupted_trace(
    data: Any, tmp_path: Path, options: dict[str, Any], kill: bool
) -> None:
    from tests.test_long_runs import StopAfter

    _, path = data
    base = dict(data=str(path), stream=True, chunk_rows=64, lr=0.05, exact=False)
    config = RunConfig(**{**base, **options, "checkpoint_every": 7})
    whole = run_stream(RunConfig(**{**base, **options}))
    folder = tmp_path / "run"
    writer = StopAfter(folder, 2, kill)
    if kill:
        with pytest.raises(SystemExit):
            run_stream(config, trace_to=lambda: writer)
    else:
        cut = run_stream(config, trace_to=lambda: writer)
        assert cut.status == "interrupted" and cut.info["resumable"]
        cut.save(folder)
    saved = gradtrace.load(folder)
    assert 7 <= saved.steps < whole.steps
    pd.testing.assert_frame_equal(
        saved.to_pandas(), whole.to_pandas().iloc[: saved.steps + 1]
    )
    _resume_stream(config, folder)
    done = gradtrace.load(folder)
    assert (done.status, done.steps) == (whole.status, whole.steps)
    assert not (folder / "state.npz").exists()
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())
    assert done.info.get("likelihood") == whole.info.get("likelihood")


def test_the_cli_resumes_a_killed_stream(
    data: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A streamed run's folder at a checkpoint, as a killed process leaves it, goes
    on with ``gradtrace resume``."""
    from tests.test_long_runs import StopAfter

    _, path = data
    args = [str(path), "--stream", "--chunk-rows", "64", "--batch-size", "16"]
    args += ["--epochs", "3", "--seed", "4"]
    whole = tmp_path / "whole"
    code, _, err = run_cli(["fit", *args, "--out", str(whole)], capsys)
    assert code == 0, err
    folder = tmp_path / "run"
    config = gradtrace.saved_runs.rerun_config(gradtrace.load(whole).info)
    config.checkpoint_every = 20
    with pytest.raises(SystemExit):
        run_stream(config, trace_to=lambda: StopAfter(folder, 1, kill=True))
    code, out, err = run_cli(["resume", str(folder)], capsys)
    assert code == 0, err
    assert "resuming at step" in out
    a, b = gradtrace.load(folder).to_pandas(), gradtrace.load(whole).to_pandas()
    pd.testing.assert_frame_equal(a, b)


def test_a_ctrl_c_while_a_stream_part_is_written_leaves_a_run_that_resumes(
    data: Any, tmp_path: Path
) -> None:
    from tests.test_long_runs import CtrlCWhileWriting

    _, path = data
    base = dict(data=str(path), stream=True, chunk_rows=64, lr=0.05, exact=False)
    options = dict(batch_size=16, epochs=3, seed=1, metrics=["mae"])
    whole = run_stream(RunConfig(**{**base, **options}))
    config = RunConfig(**{**base, **options, "checkpoint_every": 5})
    folder = tmp_path / "run"
    cut = run_stream(config, trace_to=lambda: CtrlCWhileWriting(folder, 3))
    assert cut.status == "interrupted" and cut.info["resumable"]
    cut.save(folder)
    saved = gradtrace.load(folder).to_pandas()
    assert saved["step"].is_unique and len(saved) == cut.steps + 1
    _resume_stream(config, folder)
    pd.testing.assert_frame_equal(gradtrace.load(folder).to_pandas(), whole.to_pandas())


@pytest.mark.parametrize("streamed", [True, False])
def test_a_run_records_the_file_it_read_and_reads_it_whole_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    """The data file's checksum was taken at every checkpoint and at the end: a
    streamed run's checkpoints read a file larger than memory whole, one each,
    and a file replaced during the run was recorded in place of the one read,
    so resume went on with the other file's rows and refused the original."""
    from gradtrace import data as files
    from gradtrace import sources

    x = np.linspace(0, 1, 400, dtype=np.float32)
    frame = pd.DataFrame({"x": x, "y": 2 * x + 1})
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    first = files.file_sha256(path)
    read: list[Path] = []
    checksum = sources.file_sha256
    monkeypatch.setattr(
        sources, "file_sha256", lambda p: read.append(Path(p)) or checksum(p)
    )
    replaced: list[int] = []

    def progress(done: int, total: int) -> None:
        if done and not replaced:  # another file put in its place mid-run
            (frame * 2).to_parquet(path)
            replaced.append(done)

    options: dict[str, Any] = {"stream": True, "chunk_rows": 64} if streamed else {}
    trace = gradtrace.fit(
        str(path),
        batch_size=16,
        epochs=3,
        shuffle=False,
        exact=False,
        out=tmp_path / "run",
        checkpoint_every=10,
        progress=progress,
        **options,
    )
    assert replaced and trace.steps == 75
    assert trace.info["data"]["sha256"] == first
    assert gradtrace.load(tmp_path / "run").info["data"]["sha256"] == first
    assert read == [path.resolve()]


def test_a_streamed_run_whose_file_moved_is_explained_and_rerun_from_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rerun and explain asked for --data FILE, then refused it: "a streamed run
    reads its Parquet file again by itself: load it without data"."""
    x = np.linspace(0, 1, 300, dtype=np.float32)
    path = tmp_path / "d.parquet"
    pd.DataFrame({"x": x, "y": 3 * x - 1}).to_parquet(path)
    args = [str(path), "--stream", "--chunk-rows", "64", "--batch-size", "32"]
    code, _, err = run_cli(["fit", *args, "--out", str(tmp_path / "run"), "-q"], capsys)
    assert code == 0, err
    moved = tmp_path / "moved.parquet"
    path.rename(moved)
    run = str(tmp_path / "run")
    code, out, err = run_cli(
        ["explain", run, "--step", "2", "--data", str(moved)], capsys
    )
    assert code == 0, err
    said = " ".join(out.split())  # wrapped where the folder's name ends
    assert said.startswith(f"Step 2 of 1000 ({run}): epoch 1, batch 2; 32 of 300 rows")
    again = ["rerun", run, "--data", str(moved), "--out", str(tmp_path / "again")]
    code, out, err = run_cli(again, capsys)
    assert code == 0, err
    assert "identical to" in out
    pd.DataFrame({"x": x, "y": 3 * x}).to_parquet(path)  # other data
    code, _, err = run_cli(["explain", run, "--step", "2", "--data", str(path)], capsys)
    assert code == 2
    assert err == (
        f"error: {str(path)!r} is not the file the run read (its SHA-256 "
        "differs from the one run.json records): give the run's own file, or fit "
        "these data as a new run.\n"
    )


@pytest.mark.parametrize("streamed", [False, True])
def test_resume_takes_the_runs_values_from_another_file_where_it_can_check_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], streamed: bool
) -> None:
    """resume --data with the same values saved as another file was refused:
    "the data file ... changed since the run", of a file that was never the
    run's. A run in memory checks the values it reads (run.json's
    values_sha256); a streamed one keeps no such checksum and names the file as
    not its own."""
    from tests.test_long_runs import StopAfter

    x = np.linspace(0, 1, 300, dtype=np.float32)
    frame = pd.DataFrame({"x": x, "y": 3 * x - 1})
    path, other = tmp_path / "d.parquet", tmp_path / "same.parquet"
    frame.to_parquet(path)
    frame.to_parquet(other, compression="zstd")  # other bytes, the same values
    options: dict[str, Any] = {"stream": True, "chunk_rows": 64} if streamed else {}
    config = RunConfig(
        data=str(path), batch_size=16, epochs=3, checkpoint_every=20, **options
    )
    folder = tmp_path / "run"
    writer = StopAfter(folder, 1, True)
    with pytest.raises(SystemExit):
        if streamed:
            run_stream(config, trace_to=lambda: writer)
        else:
            run(config, frame, str(path), trace_to=lambda: writer)
    code, _, err = run_cli(["resume", str(folder), "--data", str(other)], capsys)
    if streamed:
        assert code == 2 and err == (
            f"error: {str(other)!r} is not the file the run read (its SHA-256 "
            "differs from the one run.json records): give the run's own file, or "
            "fit these data as a new run.\n"
        )
    else:
        assert code == 0, err
        assert gradtrace.load(folder).status == "completed"


def test_the_checksum_of_a_file_is_kept_while_it_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file rewritten with its modification time kept (cp -p, rsync -t) is read
    again; a sweep, a range test and diagnose, which write no run.json, read no
    file whole for a checksum."""
    import os

    from gradtrace import sources

    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    first = sources.data_file(str(path))["sha256"]
    stat = path.stat()
    path.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.3\n")  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sources.data_file(str(path))["sha256"] != first
    read: list[Path] = []
    checksum = sources.file_sha256
    monkeypatch.setattr(
        sources, "file_sha256", lambda p: read.append(Path(p)) or checksum(p)
    )
    gradtrace.sweep(str(path), lr=[0.01, 0.02], steps=5)
    gradtrace.lr_find(str(path))
    gradtrace.diagnose(str(path))
    assert read == []


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_streamed_poisson_steps_log_factorials_are_its_batchs(
    tmp_path: Path, shuffled: bool
) -> None:
    """A researcher's streamed Poisson regression: explain said the batch's log
    y! averaged 0 (the file's blocks were read once, for the arithmetic, and
    were gone when counted), so the frameworks' losses it gave were off; a
    shuffled stream left out the epoch's too. Now as the data in memory give
    them, each from the rows of the batch and of the epoch so far."""
    from scipy.special import gammaln

    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 60)
    frame = pd.DataFrame({"x": x, "y": rng.poisson(np.exp(0.5 + x)).astype(float)})
    path = _write(frame, tmp_path / "d.parquet", 16)
    how = dict(
        model="poisson-regression",
        optimizer="adam",
        lr=0.01,
        batch_size=8,
        epochs=2,
        shuffle=shuffled,
        seed=1,
    )
    window = {"shuffle_window": 16} if shuffled else {}
    streamed = gradtrace.fit(str(path), stream=True, chunk_rows=16, **window, **how)
    y = frame["y"].to_numpy()
    for step in (3, 9, 12):
        logged = streamed.explain(step).attrs["logged"]
        rows = streamed.rows(step)
        epoch = int(streamed.to_pandas().loc[step, "batch"])
        so_far = np.concatenate(
            [streamed.rows(s) for s in range(step - epoch + 1, step + 1)]
        )
        assert logged["batch_loss"] - logged["frameworks_batch_loss"] == pytest.approx(
            np.mean(gammaln(y[rows] + 1)), rel=1e-9
        )
        assert logged["running_loss"] - logged[
            "frameworks_running_loss"
        ] == pytest.approx(np.mean(gammaln(y[so_far] + 1)), rel=1e-9)
    if not shuffled:  # the same words as the data in memory give
        whole = gradtrace.fit(frame, **how)
        for step in (3, 9):
            said = [
                t.explain(step).attrs["why"].split("Keras's poisson loss")[1]
                for t in (streamed, whole)
            ]
            assert said[0] == said[1]


def test_a_streamed_run_keeps_its_x_columns_ranges_from_the_files_statistics(
    tmp_path: Path,
) -> None:
    """A --stream run of more rows than it holds kept no x_range, so predict
    said nothing of rows beyond the data. The file's row-group statistics give
    them without a pass over the rows: the in-memory run's own; none from a
    file written without statistics, or where --drop-missing left rows out."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"a": rng.uniform(-2, 5, 300).astype("float32"), "b": rng.normal(size=300)}
    )
    frame["y"] = 2 * frame["a"] - frame["b"] + rng.normal(size=300)
    path = _write(frame, tmp_path / "d.parquet", 70)
    options: dict[str, Any] = {"model": "linear", "steps": 2}
    streamed = gradtrace.fit(path, stream=True, chunk_rows=50, **options)
    held = gradtrace.fit(frame, **options)
    assert streamed.info["data"]["x_range"] == held.info["data"]["x_range"]
    assert streamed.info["data"]["x_range"]["a"] == [
        float(frame["a"].min()),
        float(frame["a"].max()),
    ]
    with pytest.warns(gradtrace.GradtraceWarning, match=r"beyond the x values .*\(a -"):
        # the last step asked for: no word of the run's convergence
        streamed.predict(pd.DataFrame({"a": [9.0], "b": [0.0]}), step=-1)
    bare = tmp_path / "bare.parquet"
    pq.write_table(pa.Table.from_pandas(frame), bare, write_statistics=False)
    unread = gradtrace.fit(bare, stream=True, chunk_rows=50, **options)
    assert "x_range" not in unread.info["data"]
    holed = frame.copy()
    holed.loc[5, "y"] = np.nan
    holed_path = _write(holed, tmp_path / "holed.parquet", 70)
    dropped = gradtrace.fit(
        holed_path, stream=True, chunk_rows=50, drop_missing=True, **options
    )
    assert dropped.info["data"]["dropped_rows"] == 1
    assert "x_range" not in dropped.info["data"]


def test_a_one_epoch_stream_prints_its_steps_and_a_chunk_larger_than_the_file_is_told(
    tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """One epoch of 33 steps printed two rows (its loss over all the data is
    taken at epochs' ends only), where the help promises about 20; and a chunk
    of whole batches larger than the file was "read 1003520 rows at a time" of
    a million."""
    _, path = data
    args = ["fit", str(path), "--stream", "--batch-size", "16", "--epochs", "1"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    table = out[: out.index("\nrun ")].strip().splitlines()
    steps = [int(line.split()[0]) for line in table[1:]]
    assert len(steps) >= 10 and steps[0] == 0 and steps[-1] == 33, steps
    assert "streamed: read the file whole, as one chunk" in out
