"""The float32 rounding estimate of the loss (``reference.rounding_size``): the
rows it measures are padded to a power of two so that data of other sizes reuse
its compiled program, and the padding changes nothing it reports."""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrace import reference
from gradtrace.core import catalog


def _unpadded(model: object, loss: str, params: dict, x: np.ndarray, y: np.ndarray):
    """The estimate taken by the same program on the measured rows alone."""
    n = len(y)
    rows = np.unique(
        np.linspace(0, n - 1, min(n, reference.ROUNDING_ROWS)).astype(np.int64)
    )
    with jax.enable_x64(True):
        off = reference._rounding_apart(model, loss, params, x[rows], y[rows])
    return float(np.mean(np.asarray(off))) / float(np.finfo(np.float32).eps)


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 700),
    w=st.floats(-30, 30),
    b=st.floats(-1e3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_padding_the_rows_changes_nothing_the_estimate_reports(
    n: int, w: float, b: float, seed: int
) -> None:
    model = catalog.make_model("line")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 100
    y = 3 * x + rng.normal(size=n)
    params = {"w": np.float64(w), "b": np.float64(b)}
    got = reference.rounding_size(model, "mse", params, {}, x, y)
    assert got is not None
    assert got == _unpadded(model, "mse", params, x, y)


def test_data_of_sizes_up_to_the_same_power_of_two_share_one_program() -> None:
    model = catalog.make_model("line")
    params = {"w": np.float64(2.0), "b": np.float64(0.5)}
    rng = np.random.default_rng(0)
    reference._rounding_apart.clear_cache()
    for n in (3, 100, 256, 257, 300, 512):
        x = rng.normal(size=n)
        reference.rounding_size(model, "mse", params, {}, x, 2 * x + 1)
    # 256 rows or fewer, then 257 to 512: two programs for six sizes
    assert reference._rounding_apart._cache_size() == 2
