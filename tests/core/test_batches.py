from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gradtrace.core.batches import (
    batch_plan,
    contiguous,
    epoch_batch,
    epoch_batches,
    n_batches,
    padded_order,
    permutation,
    permuted,
    seed_key,
    select,
)

# compiled whole, as the runs compile them: run op by op, each of their operations
# compiles a program of its own (a shuffled order: 0.7 s, against 0.35 s compiled)
jit_permutation = jax.jit(permutation, static_argnums=1)
jit_padded_order = jax.jit(padded_order, static_argnums=(2, 3, 4))


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


def test_one_epoch_drawn_alone_is_that_epoch_of_the_plan() -> None:
    # explain and the report ask for one step's rows; they draw its epoch alone
    plan = batch_plan(23, 5, 5 * 6, shuffle=True, seed=7)
    for epoch in (0, 3, 5):
        alone = epoch_batches(23, 5, True, 7, [epoch])[0]
        assert np.array_equal(alone, plan[epoch * 5 : (epoch + 1) * 5])
        apart = jit_padded_order(jax.random.key(7), epoch, 23, 5, True)
        assert np.array_equal(alone.ravel(), np.asarray(apart))


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


@settings(max_examples=15, deadline=None)  # each size compiles a program
@given(
    n=st.one_of(
        st.integers(1, 5000),
        # either side of a power of two, where the bijection's width changes
        st.sampled_from([2**k + d for k in range(1, 14) for d in (-1, 0, 1)]),
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_shuffle_is_a_permutation(n: int, seed: int) -> None:
    order = np.asarray(jit_permutation(jax.random.key(seed), n))
    assert order.dtype == np.int32
    assert np.array_equal(np.sort(order), np.arange(n))


def test_the_shuffle_looks_uniform() -> None:
    # where rows land: position decile against row decile, over 20 seeds, is no
    # farther from independence than chance allows; and row 0's place over 300
    # seeds is uniform
    n = 10_007
    orders = np.asarray(
        jax.jit(jax.vmap(lambda k: permutation(k, n)))(
            jax.vmap(jax.random.key)(np.arange(300))
        )
    )
    pvalues = []
    for order in orders[:20]:
        table = np.histogram2d(np.arange(n) * 10 // n, order * 10 // n, bins=10)[0]
        pvalues.append(stats.chi2_contingency(table).pvalue)
    assert np.median(pvalues) > 0.1
    assert stats.kstest(pvalues, "uniform").pvalue > 1e-3
    assert stats.kstest(orders[:, 0] / n, "uniform").pvalue > 1e-3
    # and consecutive rows do not stay together
    assert np.mean(np.abs(np.diff(orders[0])) == 1) < 0.01


@given(n_rows=st.integers(1, 40), batch_size=st.integers(1, 40))
def test_a_contiguous_batch_holds_the_rows_select_gives(
    n_rows: int, batch_size: int
) -> None:
    batch_size = min(batch_size, n_rows)
    x = np.arange(n_rows, dtype=np.float32) * 10
    y = np.arange(n_rows, dtype=np.float32)

    @jax.jit  # one program for every batch, as in a run's step (b traced)
    def both(b: jax.Array, x: jax.Array, y: jax.Array) -> Any:
        order = padded_order(jax.random.key(0), 0, n_rows, batch_size, shuffle=False)
        return select(order, b, batch_size, x, y), contiguous(
            b, batch_size, n_rows, x, y
        )

    for b in range(n_batches(n_rows, batch_size)):
        (xs, ys, ms), (xc, yc, mc) = both(b, jnp.asarray(x), jnp.asarray(y))
        xs, ys, ms = np.asarray(xs), np.asarray(ys), np.asarray(ms)
        assert int(np.sum(mc)) == int(np.sum(ms))
        assert np.array_equal(np.asarray(yc)[np.asarray(mc)], np.asarray(ys)[ms])
        assert np.array_equal(np.asarray(xc)[np.asarray(mc)], np.asarray(xs)[ms])


@settings(max_examples=25, deadline=None)
@given(seed=st.one_of(st.integers(0, 2**31 - 1), st.integers(0, 2**63 - 1)))
@pytest.mark.parametrize("x64", [False, True])
def test_a_seed_key_is_jax_random_key(x64: bool, seed: int) -> None:
    from gradtrace.core.batches import seed_key

    with jax.enable_x64(x64):
        made, reference = seed_key(seed), jax.random.key(seed)
        assert made.dtype == reference.dtype
        assert np.array_equal(jax.random.key_data(made), jax.random.key_data(reference))


@settings(max_examples=15, deadline=None)  # each shape compiles a program
@given(
    n_rows=st.one_of(st.integers(1, 3000), st.sampled_from([255, 256, 257, 4097])),
    batch_size=st.integers(1, 700),
    epoch=st.integers(0, 5),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_a_batch_drawn_alone_is_that_batch_of_the_epochs_order(
    n_rows: int, batch_size: int, epoch: int, shuffle: bool, seed: int
) -> None:
    """The training loop draws each step's rows alone (``epoch_batch``): they are
    the rows of the epoch's whole order that ``explain`` and ``trace.rows`` show."""
    batch_size = min(batch_size, n_rows)
    key = jax.random.key(seed)
    whole = np.asarray(jit_padded_order(key, epoch, n_rows, batch_size, shuffle))
    drawn = jax.jit(lambda b: epoch_batch(key, epoch, b, n_rows, batch_size, shuffle))
    for b in range(n_batches(n_rows, batch_size)):
        expected = whole[b * batch_size : (b + 1) * batch_size]
        np.testing.assert_array_equal(np.asarray(drawn(b)), expected)


def test_the_shuffled_order_is_the_one_recorded_runs_used() -> None:
    """A seed's shuffled order stays what earlier versions drew (runs recorded
    with them rerun and resume to the same trace): rows drawn by the code of
    2026-12-02, before the walk's first passes were made without the loop's test."""
    key = seed_key(0)
    first = {
        1000: [980, 258, 193, 599, 580, 337],
        10_000_000: [3841595, 9466995, 2145387, 4001870, 9847133, 5175807],
        1 << 20: [38024, 140493, 71609, 461133, 515674, 430898],
    }
    for n, rows in first.items():
        positions = np.arange(min(n, 4096), dtype=np.int32)
        assert np.asarray(permuted(key, positions, n))[:6].tolist() == rows
    batch = epoch_batch(key, 3, 5, 10_000_000, 4096, True)
    assert np.asarray(batch)[:6].tolist() == [
        8067025,
        9357781,
        1064387,
        6398840,
        911120,
        2616650,
    ]
