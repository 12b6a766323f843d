from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradtrace.core.batches import batch_plan, n_batches


def test_last_partial_batch_is_padded() -> None:
    plan = batch_plan(10, 4, 3, shuffle=False, seed=0)
    assert plan.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, -1, -1]]


def test_steps_continue_through_epochs() -> None:
    plan = batch_plan(5, 2, 7, shuffle=False, seed=0)
    assert plan[3:].tolist() == [[0, 1], [2, 3], [4, -1], [0, 1]]


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = batch_plan(50, 7, 20, shuffle=True, seed=3)
    b = batch_plan(50, 7, 20, shuffle=True, seed=3)
    c = batch_plan(50, 7, 20, shuffle=True, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_epochs_are_reshuffled() -> None:
    plan = batch_plan(40, 40, 2, shuffle=True, seed=0)
    assert not np.array_equal(plan[0], plan[1])


@given(
    n_rows=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    n_epochs=st.integers(1, 3),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_each_epoch_covers_every_row_once(
    n_rows: int, batch_size: int, n_epochs: int, shuffle: bool, seed: int
) -> None:
    per_epoch = n_batches(n_rows, batch_size)
    assert per_epoch == math.ceil(n_rows / batch_size)
    plan = batch_plan(n_rows, batch_size, n_epochs * per_epoch, shuffle, seed)
    assert plan.shape == (n_epochs * per_epoch, batch_size)
    for e in range(n_epochs):
        rows = plan[e * per_epoch : (e + 1) * per_epoch].ravel()
        assert sorted(rows[rows >= 0].tolist()) == list(range(n_rows))
        # padding only at the end of the epoch's last batch
        assert (rows[:n_rows] >= 0).all()
