"""Gradient clipping by name, each as its framework does it, before the optimizer.

PyTorch clips with ``torch.nn.utils.clip_grad_norm_(params, max_norm)`` (every
gradient scaled by ``min(max_norm / (total norm + 1e-6), 1)``, the total norm over
all parameters) or ``clip_grad_value_``, called between ``backward()`` and
``step()``. Keras clips inside its optimizer: ``clipnorm`` (each variable's gradient
scaled to at most that norm), ``global_clipnorm`` (all of them together) or
``clipvalue``. optax's ``clip_by_global_norm`` and ``clip`` are the plain forms.
The trace records the gradient before clipping; the update uses the clipped one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import optax

tree_map = jax.tree_util.tree_map


@dataclass(frozen=True)
class ClipPreset:
    """A named clipping: its one parameter and a description."""

    name: str
    param: str
    doc: str


CLIPS: dict[str, ClipPreset] = {
    c.name: c
    for c in [
        ClipPreset(
            "torch.norm",
            "max_norm",
            "torch.nn.utils.clip_grad_norm_: all gradients scaled by "
            "min(max_norm / (total norm + 1e-6), 1)",
        ),
        ClipPreset(
            "torch.value",
            "clip_value",
            "torch.nn.utils.clip_grad_value_: each gradient clamped to ±clip_value",
        ),
        ClipPreset(
            "keras.norm",
            "clipnorm",
            "Keras's clipnorm: each variable's gradient scaled to a norm of at most "
            "clipnorm",
        ),
        ClipPreset(
            "keras.global_norm",
            "global_clipnorm",
            "Keras's global_clipnorm: all gradients scaled to a total norm of at "
            "most global_clipnorm",
        ),
        ClipPreset(
            "keras.value",
            "clipvalue",
            "Keras's clipvalue: each gradient clamped to ±clipvalue",
        ),
        ClipPreset(
            "global_norm",
            "max_norm",
            "optax.clip_by_global_norm: all gradients scaled to a total norm of at "
            "most max_norm",
        ),
        ClipPreset("value", "max_delta", "optax.clip: each gradient clamped"),
    ]
}


def _c(value: float, like: Any) -> Any:
    return jnp.asarray(value, like.dtype)


def _sum_squares(g: Any) -> Any:
    return jnp.sum(jnp.square(g))


@dataclass(frozen=True)
class GradClip:
    """A clipping preset and its value; hashable.

    Examples:
        >>> import jax.numpy as jnp
        >>> clip = GradClip.create("keras.norm", 1.0)
        >>> g, _ = clip.transform().update({"w": jnp.asarray([3.0, 4.0])}, None)
        >>> [round(float(v), 6) for v in g["w"]]
        [0.6, 0.8]
    """

    name: str
    items: tuple[tuple[str, float], ...] = field(default=())

    @staticmethod
    def create(name: str, value: float) -> GradClip:
        return GradClip(name, ((CLIPS[name].param, float(value)),))

    @property
    def value(self) -> float:
        return self.items[0][1]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **dict(self.items)}

    def __str__(self) -> str:
        key, value = self.items[0]
        return f"{self.name}({key}={value:g})"

    def transform(self) -> optax.GradientTransformation:
        """The clipping as a stateless optax transformation of the gradients."""
        v = self.value
        if self.name == "global_norm":
            return optax.clip_by_global_norm(v)
        if self.name in ("value", "torch.value", "keras.value"):
            return optax.stateless(
                lambda g, _=None: tree_map(lambda x: jnp.clip(x, -v, v), g)
            )
        if self.name == "keras.norm":

            def per_variable(x: Any) -> Any:
                l2sum = _sum_squares(x)
                positive = l2sum > 0
                safe = jnp.where(positive, l2sum, jnp.ones_like(l2sum))
                norm = jnp.where(positive, jnp.sqrt(safe), l2sum)
                return (x * _c(v, x)) / jnp.maximum(norm, _c(v, x))

            return optax.stateless(lambda g, _=None: tree_map(per_variable, g))

        def clipped(g: Any, _: Any = None) -> Any:
            leaves = jax.tree_util.tree_leaves(g)
            like = leaves[0]
            if self.name == "torch.norm":
                # the norm of the parameters' norms, as clip_grad_norm_ stacks them
                norms = jnp.stack([jnp.sqrt(_sum_squares(x)) for x in leaves])
                total = jnp.sqrt(jnp.sum(jnp.square(norms)))
                coef = _c(v, like) / (total + _c(1e-6, like))
                coef = jnp.minimum(coef, _c(1.0, like))
                return tree_map(lambda x: x * coef.astype(x.dtype), g)
            # keras.global_norm: clip_norm * min(1 / norm, 1 / clip_norm), plus
            # (norm - norm), which makes a scale of a norm not finite NaN
            total = jnp.sqrt(jnp.sum(jnp.stack([_sum_squares(x) for x in leaves])))
            one = _c(1.0, like)
            scale = _c(v, like) * jnp.minimum(one / total, one / _c(v, like))
            scale = scale + (total - total)
            return tree_map(lambda x: x * scale.astype(x.dtype), g)

        return optax.stateless(clipped)
