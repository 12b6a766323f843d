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


def test_the_x_matrix_of_several_columns_is_made_where_the_device_shares_it() -> None:
    # 10 million rows of four float32 columns: the matrix was copied again on its
    # way to the device (160 MB more)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {c: rng.normal(size=1001).astype(np.float32) for c in ("a", "b", "c", "y")}
    )
    xs, _ = validate.columns(
        frame, "regression", ["a", "b", "c"], "y", "data", "float32"
    )
    assert xs is not None and xs.shape == (1001, 3) and xs.flags.c_contiguous
    np.testing.assert_array_equal(xs, frame[["a", "b", "c"]].to_numpy())
    assert xs.ctypes.data % 64 == 0
    if jax.default_backend() == "cpu":
        assert to_device(xs, np.float32).unsafe_buffer_pointer() == xs.ctypes.data


def test_a_file_read_for_one_run_lets_go_of_the_x_columns_it_copied(
    tmp_path: Path,
) -> None:
    import gradtrace
    from gradtrace.api import run
    from gradtrace.run_config import RunConfig

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({c: rng.normal(size=200) for c in ("a", "b", "y")})
    config = RunConfig(model="linear", x=["a", "b"], steps=5, lr=0.1, exact=False)
    kept = frame.copy()
    released = run(config, kept.copy(), "data", release=True)
    whole = run(config, kept, "data")
    assert list(kept.columns) == ["a", "b", "y"]  # not released: as it was
    pd.testing.assert_frame_equal(released.to_pandas(), whole.to_pandas())
    spent = frame.copy()
    run(config, spent, "data", release=True)
    assert list(spent.columns) == ["y"]
    # a caller's frame given to fit is not touched
    gradtrace.fit(frame, "linear", x=["a", "b"], steps=3, lr=0.1, exact=False)
    assert list(frame.columns) == ["a", "b", "y"]
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    from_file = gradtrace.fit(path, "linear", x=["a", "b"], steps=5, lr=0.1)
    assert from_file.to_pandas()["loss"].iloc[-1] == whole.to_pandas()["loss"].iloc[-1]


def test_x_moments_take_the_columns_in_float64_a_block_at_a_time() -> None:
    # the shift taken from the first rows converted all of x to float64 first:
    # 300 MB more at 10 million rows of four float32 columns
    import tracemalloc

    from gradtrace import reference
    from gradtrace.core import rowsums

    rng = np.random.default_rng(2)
    n = 16 * rowsums.BLOCK_ROWS
    xs = (rng.normal(size=(n, 4)) * [1, 2, 3, 4] + 1e3).astype(np.float32)
    ys = np.zeros(n, np.float32)
    tracemalloc.start()
    try:
        moments = reference._x_moments(xs, ys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert moments is not None
    mean, cov = moments
    x64 = xs.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x64, rowvar=False, bias=True), rtol=1e-9)
    assert peak < x64.nbytes / 4  # a few blocks, never the whole of x in float64
