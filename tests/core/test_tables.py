"""PyTorch Adam's step-size tables: computed over a range that grows only while
its last step still moves, they are the tables of the whole range."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradtrace.core import transforms


def _whole_range(
    lr: float, beta1: float, beta2: float
) -> tuple[np.ndarray, ...] | None:
    """The tables over every one of ``TABLE_STEPS`` steps, cut where they settle."""
    t = np.arange(1, transforms.TABLE_STEPS + 1, dtype=np.float64)
    with np.errstate(under="ignore"):
        sizes = (lr / (1 - beta1**t)).astype(np.float32)
        roots = np.sqrt(1 - beta2**t).astype(np.float32)
    moving = (sizes != np.float32(lr)) | (roots != np.float32(1))
    if moving[-1]:
        return None
    last = int(np.flatnonzero(moving)[-1]) + 2 if moving.any() else 1
    return sizes[:last], roots[:last]


@given(
    lr=st.floats(1e-6, 1.0),
    beta1=st.floats(0.0, 0.999),
    beta2=st.one_of(st.floats(0.0, 0.99999), st.sampled_from([0.999, 0.9999999])),
)
def test_the_tables_are_the_whole_ranges(lr: float, beta1: float, beta2: float) -> None:
    ours = transforms.torch_adam_tables(lr, beta1, beta2)
    whole = _whole_range(lr, beta1, beta2)
    assert (ours is None) == (whole is None)
    if ours is not None and whole is not None:
        for a, b in zip(ours, whole, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_slow_beta2_settles_past_the_first_range() -> None:
    # 0.999's bias correction settles near step 17000: past 4096, within 32768
    sizes, roots = transforms.torch_adam_tables(1e-3, 0.9, 0.999)  # type: ignore[misc]
    assert 4096 < len(roots) <= 32768
    assert roots[-1] == np.float32(1) and sizes[-1] == np.float32(1e-3)
    assert transforms.torch_adam_tables(1e-3, 0.9, 1 - 1e-9) is None  # never settles
