"""Named parameters as one flat vector, in their dict's own order.

The Hessians, Jacobians and covariances of gradtrace are over such a vector, and
their rows are read back by name. ``jax.flatten_util.ravel_pytree`` would sort the
names (b before w), so it is not used where the order is shown to the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: Each parameter's name and shape, in order; hashable (a static argument of a
#: compiled function).
Layout = tuple[tuple[str, tuple[int, ...]], ...]


def layout(params: Mapping[str, Any]) -> Layout:
    """The names and shapes of ``params``, in their own order."""
    return tuple((k, tuple(np.shape(v))) for k, v in params.items())


def spans(params: Mapping[str, Any] | Layout) -> dict[str, slice]:
    """Where each parameter's values lie in the flat vector."""
    shapes = layout(params) if isinstance(params, Mapping) else params
    out, at = {}, 0
    for k, shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))  # 1 for a scalar
        out[k] = slice(at, at + size)
        at += size
    return out


def unflat(params: Mapping[str, Any] | Layout, flat: Any) -> dict[str, Any]:
    """The flat vector ``flat`` (NumPy or JAX) as named values shaped as
    ``params``' (a dict of values or a ``Layout``)."""
    shapes = layout(params) if isinstance(params, Mapping) else params
    where = spans(shapes)
    return {k: flat[where[k]].reshape(shape) for k, shape in shapes}


def positions(params: Mapping[str, Any], order: list[str]) -> list[int]:
    """The flat positions of ``params``' values taken in ``order`` (the rows and
    columns of a covariance over ``params`` put in that order)."""
    where = spans(params)
    return [i for k in order for i in range(where[k].start, where[k].stop)]
