"""Large data without needless copies: Parquet columns read into device-ready
arrays, float32 columns kept as they are, and the device sharing host memory where
it can (peak memory itself is measured by benchmarks/large_data.py)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gradtrace import validate
from gradtrace.core.arrays import aligned_empty, to_device
from gradtrace.sources import frame_of


def test_a_parquet_file_of_floats_reads_as_pandas_reads_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000).astype(np.float32)
    y = rng.normal(size=1000)
    y[[3, 500, 999]] = np.nan
    path = tmp_path / "d.parquet"
    table = pa.table({"x": x, "y": y})
    pq.write_table(table, path, row_group_size=300)  # four row groups
    assert pq.ParquetFile(path).num_row_groups == 4
    frame, _ = frame_of(str(path))
    pd.testing.assert_frame_equal(frame, pd.read_parquet(path))
    for column in ("x", "y"):
        assert frame[column].to_numpy().ctypes.data % 64 == 0


def test_other_parquet_files_read_as_pandas_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame(
        {"x": [1, 2, 3], "y": [0.5, 1.5, None], "g": ["a", "b", "c"]}
    ).to_parquet(path)
    frame, _ = frame_of(str(path))
    pd.testing.assert_frame_equal(frame, pd.read_parquet(path))


def test_a_float32_column_computed_in_float32_is_not_copied() -> None:
    x = np.arange(10, dtype=np.float32)
    frame = pd.DataFrame({"x": x, "y": x * 2}, copy=False)
    xs, ys = validate.columns(frame, "regression", ["x"], "y", "data", "float32")
    assert xs is not None and np.shares_memory(xs, frame["x"].to_numpy())
    assert np.shares_memory(ys, frame["y"].to_numpy())
    xs64, _ = validate.columns(frame, "regression", ["x"], "y", "data", "float64")
    assert xs64 is not None and xs64.dtype == np.float64


def test_a_float64_column_is_not_copied_and_integers_are_converted_once() -> None:
    # a float64 Parquet file (pandas' default) of 10 million rows peaked at 904 MB
    # with a copy of each column, 531 MB without
    x = np.linspace(0, 1, 10)
    frame = pd.DataFrame({"x": x, "y": np.arange(10), "z": [True, False] * 5})
    for dtype in ("float32", "float64"):
        xs, ys = validate.columns(frame, "regression", ["x"], "y", "data", dtype)
        assert xs is not None and np.shares_memory(xs, frame["x"].to_numpy())
        assert ys.dtype == np.float64 and list(ys) == list(range(10))
    _, flags = validate.columns(frame, "regression", ["x"], "z", "data")
    assert list(flags[:2]) == [1.0, 0.0]
    nullable = pd.DataFrame({"x": x, "y": pd.array([1] * 9 + [None], dtype="Int64")})
    _, ys = validate.columns(nullable, "regression", ["x"], "y", "data")
    assert ys.dtype == np.float64 and np.isnan(ys[-1])


def test_the_device_shares_an_aligned_array_and_copies_others() -> None:
    aligned = aligned_empty(1000, np.float32)
    aligned[:] = np.arange(1000)
    on_device = to_device(aligned, np.float32)
    if jax.default_backend() == "cpu":
        assert on_device.unsafe_buffer_pointer() == aligned.ctypes.data
    np.testing.assert_array_equal(np.asarray(on_device), aligned)
    for other in (aligned.astype(np.float64), np.arange(1001, dtype=np.float32)[1:]):
        copied = to_device(other, np.float32)
        assert copied.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(copied), other.astype(np.float32))


def test_a_data_frame_edited_after_fit_leaves_the_run_as_it_trained() -> None:
    import gradtrace

    frame = pd.DataFrame({"x": np.linspace(0, 1, 50), "y": np.linspace(0, 2, 50)})
    trace = gradtrace.fit(frame, lr=0.1, steps=3)
    before = trace.explain(1)
    frame.loc[0, "x"] = 1000.0  # the caller's frame, edited in place
    frame.iloc[1, 1] = -5.0
    pd.testing.assert_frame_equal(trace.explain(1), before)
    # the columns taken from a caller's frame are copies
    read, _ = frame_of(frame)
    xs, _ = validate.columns(read, "regression", ["x"], "y", "data")
    assert xs is not None and not np.shares_memory(xs, frame["x"].to_numpy())
