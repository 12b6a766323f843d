"""Sums over the rows taken a block at a time (``rowsums``) equal those taken in one
piece: the reduction itself, and the exact answer, standard errors, Hessian and
log-likelihood built on it, computed with blocks of a few rows against the same
computed whole (float64 rounding apart). So do those over data read a chunk at a
time (``rowsums.Chunks``, a streamed run's file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrace import assembly
from gradtrace.core import diagnose, exact, rowsums
from gradtrace.core.catalog import make_model
from gradtrace.core.losses import reduce

N = 1001  # rows: a shape no other test compiles for, blocks of 37 leave a tail


@given(
    n=st.integers(1, 200),
    block=st.integers(1, 200),
    reduction=st.sampled_from(["sum", "mean"]),
    width=st.sampled_from([0, 1, 3]),
)
@settings(max_examples=25, deadline=None)
def test_a_reduction_by_blocks_equals_the_whole(
    n: int, block: int, reduction: str, width: int
) -> None:
    rng = np.random.default_rng(n * 7 + width)
    y = rng.normal(size=n).astype(np.float32)
    shape = (n,) if width == 1 else (n, width)
    x = None if width == 0 else rng.normal(size=shape).astype(np.float32)

    def fn(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        rows = yb**2
        if xb is not None:
            rows = rows + jnp.sum(xb.reshape(len(yb), -1), axis=1)
        return reduce(rows, mask, how), reduce(jnp.ones_like(yb), mask, how)

    with jax.enable_x64(True):
        got, count = jax.jit(
            lambda x, y: rowsums.reduce_rows(fn, x, y, reduction, block)
        )(x, y)
        assert got.dtype == jnp.float64  # float32 data, summed in float64
    rows = y.astype(np.float64) ** 2
    if x is not None:
        rows += x.astype(np.float64).reshape(n, -1).sum(axis=1)
    want = rows.mean() if reduction == "mean" else rows.sum()
    assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-12)
    # every row once: the tail block's rows already counted are masked out
    assert float(count) == pytest.approx(1 if reduction == "mean" else n, rel=1e-14)


@given(n=st.integers(1, 3 * rowsums.BLOCK_ROWS))
def test_data_are_padded_to_sizes_that_nearby_sizes_share(n: int) -> None:
    size = rowsums.padded_rows(n)
    assert size >= n
    if n > rowsums.BLOCK_ROWS:
        assert size == n  # taken a block at a time, masked already
    elif n <= rowsums.PAD_STEP:
        assert (
            size >= rowsums.PAD_LEAST and size & (size - 1) == 0 and size < 2 * n + 256
        )
    else:
        assert size % rowsums.PAD_STEP == 0 and size - n < rowsums.PAD_STEP
        assert size <= rowsums.BLOCK_ROWS


@given(
    n=st.integers(1, 600),
    reduction=st.sampled_from(["sum", "mean"]),
    width=st.sampled_from([0, 1, 3]),
)
@settings(max_examples=25, deadline=None)
def test_a_reduction_of_padded_rows_counts_the_real_rows_alone(
    n: int, reduction: str, width: int
) -> None:
    rng = np.random.default_rng(n * 5 + width)
    y = rng.normal(size=n)
    x = None if width == 0 else rng.normal(size=(n, width) if width > 1 else n)

    def fn(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        rows = yb**2
        if xb is not None:
            rows = rows + jnp.sum(xb.reshape(len(yb), -1), axis=1)
        return reduce(rows, mask, how), reduce(jnp.ones_like(yb), mask, how)

    xs, ys = rowsums.padded(x, y)
    assert isinstance(ys, rowsums.Padded) and len(ys.values) == rowsums.padded_rows(n)
    compiled = jax.jit(lambda x, y: rowsums.reduce_rows(fn, x, y, reduction))
    with jax.enable_x64(True):
        got, count = rowsums.total(lambda x, y, how: compiled(x, y), x, y, reduction)
    rows = y**2 + (0 if x is None else x.reshape(n, -1).sum(axis=1))
    want = rows.mean() if reduction == "mean" else rows.sum()
    assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert float(count) == (1 if reduction == "mean" else n)


def test_data_of_nearby_sizes_run_one_compiled_program() -> None:
    def fn(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        return reduce(yb * xb, mask, how)

    compiled = jax.jit(lambda x, y: rowsums.reduce_rows(fn, x, y, "mean"))
    with jax.enable_x64(True):
        for n in (5, 130, 200, 256):
            x = np.arange(n, dtype=np.float64)
            got = rowsums.total(lambda x, y, how: compiled(x, y), x, np.ones(n), "mean")
            assert float(got) == (n - 1) / 2
        assert compiled._cache_size() == 1
        # beyond the padded size, and beyond what is padded (a block): others
        for n in (300, 70000):
            rowsums.total(
                lambda x, y, how: compiled(x, y), np.ones(n), np.ones(n), "mean"
            )
    assert compiled._cache_size() == 3


def _chunks(x: np.ndarray | None, y: np.ndarray, size: int) -> rowsums.Chunks:
    """The arrays as chunks of ``size`` rows, read on demand as a file's would be."""

    def read(i: int) -> tuple[np.ndarray | None, np.ndarray]:
        rows = slice(i * size, (i + 1) * size)
        return (None if x is None else x[rows].copy()), y[rows].copy()

    return rowsums.Chunks(len(y), -(-len(y) // size), read)


@given(
    n=st.integers(1, 300),
    size=st.integers(1, 120),
    reduction=st.sampled_from(["sum", "mean"]),
)
@settings(max_examples=25, deadline=None)
def test_sums_over_chunks_equal_those_over_the_arrays(
    n: int, size: int, reduction: str
) -> None:
    rng = np.random.default_rng(n + 1000 * size)
    y = rng.lognormal(size=n).astype(np.float32)
    x = rng.normal(size=n).astype(np.float32)
    chunks = _chunks(x, y, size)
    assert len(chunks) == n and sum(len(c[1]) for c in chunks) == n

    def fn(xb: Any, yb: Any, how: str) -> Any:
        rows = np.asarray(yb, np.float64) * np.asarray(xb, np.float64)
        return {"total": rows.sum() / (len(rows) if how == "mean" else 1)}

    got = rowsums.total(fn, None, chunks, reduction)["total"]
    assert got == pytest.approx(fn(x, y, reduction)["total"], rel=1e-12, abs=1e-12)
    for of in (None, np.log):
        mean = rowsums.mean64(chunks, of)
        assert mean == pytest.approx(rowsums.mean64(y, of), rel=1e-12, abs=1e-14)
        spread = rowsums.mean_square64(chunks, mean, of)
        assert spread == pytest.approx(rowsums.mean_square64(y, mean, of), rel=1e-11)
    assert rowsums.mean64(chunks.x_values()) == pytest.approx(
        rowsums.mean64(x), rel=1e-12, abs=1e-14
    )
    # one pass for both moments, far from zero (no cancellation)
    y64 = y.astype(np.float64) + 1e4
    mean, spread = rowsums.mean_and_spread64(_chunks(None, y64, size))
    assert mean == pytest.approx(float(np.mean(y64)), rel=1e-14)
    assert spread == pytest.approx(float(np.var(y64)), rel=1e-9, abs=1e-12)
    blocks = list(rowsums.blocks(None, chunks))
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), y)


def test_row_blocks_cover_the_rows_once() -> None:
    blocks = rowsums.row_blocks(10, 4)
    assert [(s.start, s.stop) for s in blocks] == [(0, 4), (4, 8), (8, 10)]


def _whole_and_blocked(
    compute: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any]:
    jax.clear_caches()
    assembly._log_likelihood_fn.cache_clear()
    whole = compute()
    jax.clear_caches()
    assembly._log_likelihood_fn.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(rowsums, "BLOCK_ROWS", 37)
        blocked = compute()
        jax.clear_caches()
        assembly._log_likelihood_fn.cache_clear()
    return whole, blocked


def _line_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, N).astype(np.float32)
    y = (1.5 * x - 4.0 + rng.normal(0, 0.5, N)).astype(np.float32)
    return x, y


CASES = {
    # closed forms: least squares, with scale by likelihood, mean and spread
    "line mse": ("line", "mse", ("w", "b")),
    "line nll": ("line", "nll", ("w", "b", "scale")),
    "normal nll": ("normal", "nll", ("loc", "scale")),
    # Newton on the JAX loss, and least-squares errors from the Jacobian
    "logistic nll": ("logistic", "nll", ("w", "b")),
    "exp-decay mse": ("exp-decay", "mse", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_exact_answer_by_blocks_equals_the_whole(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, loss, names = CASES[case]
    model = make_model(name)
    x, y = _line_data()
    if name == "normal":
        x = None  # type: ignore[assignment]
    if name == "logistic":
        x = x.reshape(-1, 1)
        y = (y > np.median(y)).astype(np.float32)
    if name == "exp-decay":
        x = np.abs(x)
        y = (3.0 * np.exp(-0.4 * x) + 0.05 * y / 10).astype(np.float32)
    specs = model.param_specs()
    if names is None:
        names = tuple(s.name for s in specs)
    start = {
        s.name: np.full(() if s.size is None else s.size, s.default, np.float64)
        for s in specs
    }
    start.setdefault("scale", np.asarray(1.0))
    if name == "exp-decay":
        start = {k: np.asarray(1.0) for k in names}

    def solve() -> exact.Optimum:
        with jax.enable_x64(True):
            return exact.solve(model, loss, "mean", names, {}, x, y, start)

    def solve_chunks() -> exact.Optimum:
        with jax.enable_x64(True):
            chunks = _chunks(x, y, 300)  # 1001 rows: three chunks and a short one
            return exact.solve(model, loss, "mean", names, {}, None, chunks, start)

    whole, blocked = _whole_and_blocked(solve, monkeypatch)
    with monkeypatch.context() as m:  # chunks, each by blocks (the whole is above)
        m.setattr(rowsums, "BLOCK_ROWS", 37)
        chunked = solve_chunks()
    jax.clear_caches()
    assembly._log_likelihood_fn.cache_clear()
    for other in (blocked, chunked):
        assert other.method == whole.method
        for k in names:
            np.testing.assert_allclose(other.params[k], whole.params[k], rtol=1e-8)
            np.testing.assert_allclose(other.stderr[k], whole.stderr[k], rtol=1e-6)
        assert other.loss == pytest.approx(whole.loss, rel=1e-10)


def test_what_needs_the_rows_in_memory_is_refused_for_chunks() -> None:
    x, y = _line_data(2)
    for name, loss in (("laplace", "nll"), ("line", "mae")):
        model = make_model(name)
        xs = None if model.kind == "distribution" else x
        names = tuple(s.name for s in model.param_specs())
        start = {k: np.asarray(1.0) for k in names}
        chunks = _chunks(xs, y, 300)
        with jax.enable_x64(True), pytest.raises(ValueError, match="in memory"):
            exact.solve(model, loss, "mean", names, {}, None, chunks, start)


def test_the_hessian_and_log_likelihood_by_blocks_equal_the_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = make_model("line")
    x, y = _line_data(1)
    params = {"w": np.asarray(1.4), "b": np.asarray(-3.0), "scale": np.asarray(0.6)}

    def both() -> tuple[np.ndarray, np.ndarray, float]:
        with jax.enable_x64(True):
            mean, _ = diagnose.hessian(model, "nll", "mean", params, {}, x, y)
            summed, _ = diagnose.hessian(model, "mse", "sum", params, {}, x, y)
        return mean, summed, assembly.log_likelihood(model, params, x, y)

    whole, blocked = _whole_and_blocked(both, monkeypatch)
    np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-10)
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-10)
    assert blocked[2] == pytest.approx(whole[2], rel=1e-12)


def test_hessians_at_several_points_are_each_points_hessian() -> None:
    model = make_model("line")
    x, y = _line_data(3)
    start = {"w": np.asarray(0.0), "b": np.asarray(1.0), "scale": np.asarray(2.0)}
    # the same names in another order, as the optimum's may come
    end = {"scale": np.asarray(0.5), "b": np.asarray(-4.0), "w": np.asarray(1.5)}
    with jax.enable_x64(True):
        both, names = diagnose.hessians(model, "nll", "mean", [start, end], {}, x, y)
        for point, h in zip((start, end), both, strict=True):
            alone, alone_names = diagnose.hessian(model, "nll", "mean", point, {}, x, y)
            assert names == ["w", "b", "scale"]
            order = [alone_names.index(k) for k in names]
            np.testing.assert_allclose(h, alone[np.ix_(order, order)], rtol=1e-12)


@given(
    n=st.integers(1, 200),
    size=st.integers(1, 70),
    columns=st.sampled_from([0, 1, 3]),
    picks=st.integers(1, 40),
)
@settings(max_examples=40, deadline=None)
def test_take_picks_the_same_rows_from_chunks_as_from_arrays(
    n: int, size: int, columns: int, picks: int
) -> None:
    rng = np.random.default_rng(n * 1000 + size)
    y = rng.normal(size=n).astype(np.float32)
    x = None if columns == 0 else rng.normal(size=(n, columns)).astype(np.float32)
    if columns == 1 and x is not None:
        x = x[:, 0]
    rows = rng.integers(0, n, size=(picks, 3))  # any shape, repeats allowed
    want_x, want_y = rowsums.take(x, y, rows)
    got_x, got_y = rowsums.take(None, _chunks(x, y, size), rows)
    np.testing.assert_array_equal(got_y, want_y)
    assert want_y.shape == rows.shape and want_y.dtype == np.float64
    if x is None:
        assert got_x is None and want_x is None
    else:
        np.testing.assert_array_equal(got_x, want_x)
        assert got_x.shape == (*rows.shape, *x.shape[1:])
