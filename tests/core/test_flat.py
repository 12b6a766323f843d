"""Named parameters as one flat vector, in their own order (core.flat)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradtrace.core.flat import layout, positions, spans, unflat

shapes = st.lists(st.sampled_from([(), (1,), (3,), (2, 2)]), min_size=1, max_size=5)


@given(shapes)
def test_unflat_reads_back_the_values_in_their_own_order(
    sizes: list[tuple[int, ...]],
) -> None:
    # names out of alphabetical order: ravel_pytree would sort them
    names = [f"{'zyxwv'[i]}{i}" for i in range(len(sizes))]
    params = {
        k: np.arange(int(np.prod(s)), dtype=float).reshape(s) + 10 * i
        for i, (k, s) in enumerate(zip(names, sizes, strict=True))
    }
    flat = np.concatenate([np.ravel(v) for v in params.values()])
    back = unflat(params, flat)
    assert list(back) == names
    for k in names:
        np.testing.assert_array_equal(back[k], params[k])
        assert back[k].shape == params[k].shape
    # a layout reads alike, and JAX arrays too
    same = unflat(layout(params), jnp.asarray(flat))
    for k in names:
        np.testing.assert_array_equal(np.asarray(same[k]), params[k])
    where = spans(params)
    assert where[names[-1]].stop == flat.size
    # positions put a covariance's rows in another order
    order = names[::-1]
    moved = flat[positions(params, order)]
    np.testing.assert_array_equal(
        moved, np.concatenate([np.ravel(params[k]) for k in order])
    )


def test_a_scalar_takes_one_place_and_a_vector_its_size() -> None:
    where = spans({"w": np.zeros(3), "b": 0.0})
    assert where == {"w": slice(0, 3), "b": slice(3, 4)}
    assert positions({"w": np.zeros(3), "b": 0.0}, ["b", "w"]) == [3, 0, 1, 2]
