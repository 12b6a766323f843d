"""Maps between a constrained parameter and the whole real line.

``--param-space unconstrained`` trains log(positive) and logit(unit) values, and
the exact solver searches over them; the user always sees the constrained value.
Two bijections need no library: exp/log and sigmoid/logit (``jax.nn``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def to_constrained(value: Any, constraint: str) -> Any:
    """exp for ``positive``, sigmoid for ``unit``, identity otherwise."""
    if constraint == "positive":
        return jnp.exp(value)
    if constraint == "unit":
        return jax.nn.sigmoid(value)
    return value


def to_unconstrained(value: Any, constraint: str) -> Any:
    """log for ``positive``, logit for ``unit``, the value itself otherwise."""
    if constraint == "positive":
        return jnp.log(jnp.asarray(value))
    if constraint == "unit":
        v = jnp.asarray(value)
        return jnp.log(v) - jnp.log1p(-v)
    return value


def within(value: Any, constraint: str) -> Any:
    """Whether every element of ``value`` lies in its constraint's set."""
    if constraint == "positive":
        return jnp.all(value > 0)
    if constraint == "unit":
        return jnp.all((value > 0) & (value < 1))
    return jnp.asarray(True)
