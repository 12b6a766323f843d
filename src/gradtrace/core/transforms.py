"""Framework update rules that optax has no exact option for, as optax transforms.

Each function returns an ``optax.GradientTransformation`` whose updates ``u`` make
``optax.apply_updates(p, u) == p + u`` equal, operation for operation, what the
framework's optimizer writes into its variable; AdamW, which writes it twice,
returns the new values themselves (:class:`NewValues`, applied by
:func:`apply_updates`). The formulas below are read from
each framework's source (Keras 3.15 ``keras/src/optimizers``, tf_keras 2.21
``optimizer_v2`` and TensorFlow's ``training_ops`` kernels, PyTorch 2.13
``torch/optim``). Hyper-parameters are cast to the parameter's dtype, as each
framework casts them; the order of floating-point operations follows the source, so
float32 results agree to the last bits wherever the framework's kernels round alike.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

tree_map = jax.tree_util.tree_map


def _zeros(params: optax.Params) -> optax.Params:
    return tree_map(jnp.zeros_like, params)


def _x64() -> bool:
    return bool(jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64)


def _off(value: Any) -> bool:
    """Whether a hyper-parameter is a Python 0 (a traced one, a schedule's or a
    sweep's, may be anything)."""
    return isinstance(value, (int, float)) and value == 0


def _c(value: float, like: Array) -> Array:
    """A hyper-parameter as the framework casts it: to the variable's dtype."""
    return jnp.asarray(value, dtype=like.dtype)


def _via_float32(value: float, like: Array) -> Array:
    """A hyper-parameter as Keras 3 casts it with ``ops.cast(self.beta_1, dtype)``:
    its TensorFlow backend makes a float32 tensor of the Python float first, so a
    float64 variable gets the float32 rounding (0.999 -> 0.9990000128746033)."""
    return jnp.asarray(jnp.float32(value), dtype=like.dtype)


class RMSpropState(NamedTuple):
    """State of the RMSprop variants.

    velocity: running mean of g^2 (Keras ``velocities``, tf_keras slot ``rms``,
    PyTorch ``square_avg``). momentum: the momentum buffer (zeros when unused).
    average_gradient: running mean of g for the centered form (zeros when unused).
    """

    iterations: Array
    velocity: optax.Params
    momentum: optax.Params
    average_gradient: optax.Params


class AdamState(NamedTuple):
    """State of the Adam variants: step count, first and second moments."""

    iterations: Array
    m: optax.Params
    v: optax.Params


class MomentumState(NamedTuple):
    """State of SGD with momentum: step count and the momentum buffer."""

    iterations: Array
    momentum: optax.Params


class AmsgradState(NamedTuple):
    """State of Adam with ``amsgrad``: as :class:`AdamState`, and the largest
    second moment so far (PyTorch ``max_exp_avg_sq``)."""

    iterations: Array
    m: optax.Params
    v: optax.Params
    v_max: optax.Params


class AdamaxState(NamedTuple):
    """State of Adamax: step count, first moment and the decaying infinity norm
    (PyTorch ``exp_avg`` and ``exp_inf``)."""

    iterations: Array
    m: optax.Params
    u: optax.Params


class NadamState(NamedTuple):
    """State of Keras's Nadam: as :class:`AdamState`, and the running product of
    its momentum schedule (Keras ``_u_product``, one number)."""

    iterations: Array
    m: optax.Params
    v: optax.Params
    u_product: Array


class AccumulatorState(NamedTuple):
    """State of Adagrad: step count and the sum of squared gradients (PyTorch
    ``sum``)."""

    iterations: Array
    sum: optax.Params


class AdadeltaState(NamedTuple):
    """State of Adadelta: step count, the running mean of g^2 (PyTorch
    ``square_avg``, Keras ``accumulated_grad``) and of the squared steps (PyTorch
    ``acc_delta``, Keras ``accumulated_delta_var``)."""

    iterations: Array
    square_avg: optax.Params
    acc_delta: optax.Params


class RpropState(NamedTuple):
    """State of Rprop: step count, the gradient the last step kept (PyTorch
    ``prev``, 0 where the gradient changed sign) and each weight's own step size
    (PyTorch ``step_size``, the rate at the first step)."""

    iterations: Array
    prev: optax.Params
    step_size: optax.Params


def _split(updates: optax.Updates, out: optax.Params, k: int) -> list[optax.Params]:
    """Turn a tree of k-tuples (one per leaf of ``updates``) into k trees."""
    outer = jax.tree_util.tree_structure(updates)
    inner = jax.tree_util.tree_structure(tuple(range(k)))
    return list(jax.tree_util.tree_transpose(outer, inner, out))


def _rms_init(params: optax.Params) -> RMSpropState:
    return RMSpropState(
        jnp.zeros([], jnp.int32), _zeros(params), _zeros(params), _zeros(params)
    )


def keras_rmsprop(
    learning_rate: float = 0.001,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
) -> optax.GradientTransformation:
    r"""Keras 3 RMSprop (``keras.optimizers.RMSprop``).

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2,\quad
        \Delta = \frac{\eta g}{\sqrt{v + \epsilon}},\quad
        w \leftarrow w - \Delta

    epsilon sits inside the square root. Centered: the denominator is
    :math:`v - \bar g^2` with :math:`\bar g \leftarrow \rho \bar g + (1-\rho) g`.
    With momentum :math:`\mu > 0`: :math:`m \leftarrow \mu m + \Delta`,
    :math:`w \leftarrow w - m`.
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, v, m, a):  # type: ignore[no-untyped-def]
            lr = _c(learning_rate, g)
            v = _c(rho, g) * v + _c(1 - rho, g) * jnp.square(g)
            if centered:
                a = _c(rho, g) * a + _c(1 - rho, g) * g
                denominator = v - jnp.square(a)
            else:
                denominator = v
            increment = (lr * g) / jnp.sqrt(denominator + _c(epsilon, g))
            if momentum > 0:
                m = _c(momentum, g) * m + increment
                return -m, v, m, a
            return -increment, v, m, a

        u, v, m, a = _split(
            updates,
            tree_map(
                one, updates, state.velocity, state.momentum, state.average_gradient
            ),
            4,
        )
        return u, RMSpropState(state.iterations + 1, v, m, a)

    return optax.GradientTransformation(_rms_init, update)


def tf_keras_rmsprop(
    learning_rate: float = 0.001,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
) -> optax.GradientTransformation:
    r"""tf_keras (Keras 2, the TF 2.x era) legacy RMSprop.

    Without momentum (the default), its Python update:

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2,\quad
        w \leftarrow w - \frac{\eta g}{\sqrt{v} + \epsilon}

    epsilon sits outside the square root, and :math:`1-\rho` is computed in the
    variable's dtype. With momentum, TensorFlow's ``ApplyRMSProp`` kernel runs
    instead, with epsilon inside: :math:`v \mathrel{+}= (g^2 - v)(1-\rho)`,
    :math:`m \leftarrow \mu m + \eta g / \sqrt{v + \epsilon}`,
    :math:`w \leftarrow w - m`.
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, v, m, a):  # type: ignore[no-untyped-def]
            lr, r = _c(learning_rate, g), _c(rho, g)
            one_minus_rho = _c(1.0, g) - r
            if momentum > 0:  # training_ops.cc ApplyRMSProp / ApplyCenteredRMSProp
                v = v + (jnp.square(g) - v) * one_minus_rho
                denominator = v
                if centered:
                    a = a + (g - a) * one_minus_rho
                    denominator = v - jnp.square(a)
                m = m * _c(momentum, g) + (g * lr) / jnp.sqrt(
                    denominator + _c(epsilon, g)
                )
                return -m, v, m, a
            v = r * v + one_minus_rho * jnp.square(g)
            denominator = v
            if centered:
                a = r * a + one_minus_rho * g
                denominator = v - jnp.square(a)
            return -(lr * g / (jnp.sqrt(denominator) + _c(epsilon, g))), v, m, a

        u, v, m, a = _split(
            updates,
            tree_map(
                one, updates, state.velocity, state.momentum, state.average_gradient
            ),
            4,
        )
        return u, RMSpropState(state.iterations + 1, v, m, a)

    return optax.GradientTransformation(_rms_init, update)


def torch_rmsprop(
    lr: float = 0.01,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
) -> optax.GradientTransformation:
    r"""PyTorch RMSprop (``torch.optim.RMSprop``, single-tensor path).

    .. math::
        v \leftarrow \alpha v + (1-\alpha) g^2,\quad
        d = \sqrt{v} + \epsilon,\quad
        w \leftarrow w - \eta g / d

    Centered: :math:`d = \sqrt{v - \bar g^2} + \epsilon` with
    :math:`\bar g \leftarrow \mathrm{lerp}(\bar g, g, 1-\alpha)`. With momentum:
    :math:`b \leftarrow \mu b + g / d`, :math:`w \leftarrow w - \eta b`.
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, v, m, a):  # type: ignore[no-untyped-def]
            v = v * _c(alpha, g) + (_c(1 - alpha, g) * g) * g  # mul_, addcmul_
            if centered:
                a = a + _c(1 - alpha, g) * (g - a)  # lerp_
                avg = jnp.sqrt(v - a * a) + _c(eps, g)
            else:
                avg = jnp.sqrt(v) + _c(eps, g)
            plain = (_c(-lr, g) * g) / avg  # addcdiv_(value=-lr)
            if _off(momentum):  # PyTorch takes none below 0
                return plain, v, m, a
            held = m * _c(momentum, g) + g / avg  # mul_, addcdiv_
            step = _c(-lr, g) * held  # add_(buf, alpha=-lr)
            if isinstance(momentum, (int, float)):
                return step, v, held, a
            # a cycled momentum at 0 (base_momentum=0): PyTorch's plain step, the
            # buffer left as it was
            zero = momentum == 0
            return jnp.where(zero, plain, step), v, jnp.where(zero, m, held), a

        u, v, m, a = _split(
            updates,
            tree_map(
                one, updates, state.velocity, state.momentum, state.average_gradient
            ),
            4,
        )
        return u, RMSpropState(state.iterations + 1, v, m, a)

    return optax.GradientTransformation(_rms_init, update)


def _adam_init(params: optax.Params) -> AdamState:
    return AdamState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))


def keras_adam(
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    legacy: bool = False,
    amsgrad: bool = False,
) -> optax.GradientTransformation:
    r"""Keras Adam, the "epsilon hat" form that no optax option reproduces.

    .. math::
        \alpha_t = \eta \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t},\quad
        m \mathrel{+}= (g - m)(1-\beta_1),\quad
        v \mathrel{+}= (g^2 - v)(1-\beta_2),\quad
        w \leftarrow w - \frac{\alpha_t m}{\sqrt{v} + \hat\epsilon}

    Keras 3 computes :math:`1-\beta` in double precision and casts it, and casts
    the betas of the powers through float32 (a float64 run's differ from the exact
    betas by float32's rounding); tf_keras's legacy Adam (``legacy=True``,
    TensorFlow's ``ApplyAdam`` kernel) computes it in the variable's dtype. With
    ``amsgrad`` (Keras 3) the root is of the largest :math:`v` so far, its
    ``velocity_hat`` (:class:`AmsgradState`).
    """

    def init(params: optax.Params) -> AdamState | AmsgradState:
        if amsgrad:
            return AmsgradState(*_adam_init(params), _zeros(params))
        return _adam_init(params)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1

        def one(g, m, v, v_hat):  # type: ignore[no-untyped-def]
            t = count.astype(g.dtype)
            if legacy:
                b1, b2 = _c(beta_1, g), _c(beta_2, g)
            else:  # Keras 3 casts the betas of the powers, not those of 1 - beta
                b1, b2 = _via_float32(beta_1, g), _via_float32(beta_2, g)
            beta_1_power, beta_2_power = jnp.power(b1, t), jnp.power(b2, t)
            one = _c(1.0, g)
            alpha = (
                _c(learning_rate, g)
                * jnp.sqrt(one - beta_2_power)
                / (one - beta_1_power)
            )
            if legacy:
                one_minus_b1, one_minus_b2 = one - b1, one - b2
            else:
                one_minus_b1, one_minus_b2 = _c(1 - beta_1, g), _c(1 - beta_2, g)
            m = m + (g - m) * one_minus_b1
            v = v + (jnp.square(g) - v) * one_minus_b2
            if amsgrad:  # v_hat.assign(maximum(v_hat, v)), then v = v_hat
                v_hat = jnp.maximum(v_hat, v)
            root = jnp.sqrt(v_hat if amsgrad else v)
            return -((m * alpha) / (root + _c(epsilon, g))), m, v, v_hat

        v_hat = state.v_max if amsgrad else state.v
        u, m, v, v_hat = _split(
            updates, tree_map(one, updates, state.m, state.v, v_hat), 4
        )
        if amsgrad:
            return u, AmsgradState(count, m, v, v_hat)
        return u, AdamState(count, m, v)

    return optax.GradientTransformation(init, update)


def _adadelta_init(params: optax.Params) -> AdadeltaState:
    return AdadeltaState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))


def torch_adadelta(
    lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6
) -> optax.GradientTransformation:
    r"""PyTorch Adadelta (``torch.optim.Adadelta``, single-tensor path).

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2,\quad
        \delta = \frac{\sqrt{a + \epsilon}}{\sqrt{v + \epsilon}}\, g,\quad
        a \leftarrow \rho a + (1-\rho) \delta^2,\quad
        w \leftarrow w - \eta\, \delta

    ``mul_``/``addcmul_`` for the averages; the step's root ratio is divided
    first, then multiplied by g (``delta.div_(std).mul_(grad)``).
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, v, a):  # type: ignore[no-untyped-def]
            rho_, rest, e = _c(rho, g), _c(1 - rho, g), _c(eps, g)
            v = v * rho_ + (rest * g) * g  # mul_, addcmul_
            delta = (jnp.sqrt(a + e) / jnp.sqrt(v + e)) * g
            a = a * rho_ + (rest * delta) * delta
            return _c(-lr, g) * delta, v, a  # add_(delta, alpha=-lr)

        u, v, a = _split(
            updates, tree_map(one, updates, state.square_avg, state.acc_delta), 3
        )
        return u, AdadeltaState(state.iterations + 1, v, a)

    return optax.GradientTransformation(_adadelta_init, update)


def keras_adadelta(
    learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7
) -> optax.GradientTransformation:
    r"""Keras 3 Adadelta (``keras.optimizers.Adadelta``).

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2,\quad
        \Delta = -\frac{\sqrt{a + \epsilon}\, g}{\sqrt{v + \epsilon}},\quad
        a \leftarrow \rho a + (1-\rho) \Delta^2,\quad
        w \leftarrow w + \eta \Delta

    The root of the squared steps multiplies g before the division (PyTorch
    divides the roots first).
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, v, a):  # type: ignore[no-untyped-def]
            rho_, rest, e = _c(rho, g), _c(1 - rho, g), _c(epsilon, g)
            v = rho_ * v + rest * jnp.square(g)
            delta = -((jnp.sqrt(a + e) * g) / jnp.sqrt(v + e))
            a = rho_ * a + rest * jnp.square(delta)
            return _c(learning_rate, g) * delta, v, a

        u, v, a = _split(
            updates, tree_map(one, updates, state.square_avg, state.acc_delta), 3
        )
        return u, AdadeltaState(state.iterations + 1, v, a)

    return optax.GradientTransformation(_adadelta_init, update)


def keras_adagrad(
    learning_rate: float = 0.001,
    initial_accumulator_value: float = 0.1,
    epsilon: float = 1e-7,
) -> optax.GradientTransformation:
    r"""Keras 3 Adagrad (``keras.optimizers.Adagrad``).

    .. math::
        s \leftarrow s + g^2,\quad w \leftarrow w - \frac{\eta g}{\sqrt{s + \epsilon}}

    with :math:`s` starting at ``initial_accumulator_value`` and
    :math:`\epsilon` inside the root (PyTorch's is outside).
    """

    def init(params: optax.Params) -> AccumulatorState:
        start = tree_map(lambda w: jnp.full_like(w, initial_accumulator_value), params)
        return AccumulatorState(jnp.zeros([], jnp.int32), start)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, s):  # type: ignore[no-untyped-def]
            s = s + jnp.square(g)
            return -((_c(learning_rate, g) * g) / jnp.sqrt(s + _c(epsilon, g))), s

        d, s = _split(updates, tree_map(one, updates, state.sum), 2)
        return d, AccumulatorState(state.iterations + 1, s)

    return optax.GradientTransformation(init, update)


def keras_adamax(
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
) -> optax.GradientTransformation:
    r"""Keras 3 Adamax (``keras.optimizers.Adamax``).

    .. math::
        m \mathrel{+}= (g - m)(1-\beta_1),\quad
        u \leftarrow \max(\beta_2 u, |g|),\quad
        w \leftarrow w - \frac{\eta m}{(1-\beta_1^t)(u + \epsilon)}

    (:math:`\epsilon` added to the norm, not to :math:`|g|` as PyTorch adds it).
    """

    def init(params: optax.Params) -> AdamaxState:
        return AdamaxState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1

        def one(g, m, u):  # type: ignore[no-untyped-def]
            t = count.astype(g.dtype)
            beta_1_power = jnp.power(_via_float32(beta_1, g), t)
            m = m + (g - m) * _c(1 - beta_1, g)
            u = jnp.maximum(_c(beta_2, g) * u, jnp.abs(g))
            step = (_c(learning_rate, g) * m) / (
                (_c(1.0, g) - beta_1_power) * (u + _c(epsilon, g))
            )
            return -step, m, u

        d, m, u = _split(updates, tree_map(one, updates, state.m, state.u), 3)
        return d, AdamaxState(count, m, u)

    return optax.GradientTransformation(init, update)


def keras_nadam(
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
) -> optax.GradientTransformation:
    r"""Keras 3 Nadam (``keras.optimizers.Nadam``).

    .. math::
        u_t = \beta_1 (1 - \tfrac12 0.96^t),\quad
        \Pi_t = \Pi_{t-1} u_t,\quad
        \hat m = \frac{u_{t+1} m}{1 - \Pi_t u_{t+1}} + \frac{(1 - u_t) g}{1 - \Pi_t},
        \quad w \leftarrow w - \frac{\hat m \eta}{\sqrt{v / (1-\beta_2^t)} +
        \epsilon}

    with :math:`m, v` updated as Keras's Adam updates them. Keras's schedule is
    :math:`0.96^t` (PyTorch's NAdam :math:`0.96^{0.004 t}`); the running product
    :math:`\Pi` is state (:class:`NadamState`, in the first parameter's dtype),
    updated once a step before the weights.
    """

    def init(params: optax.Params) -> NadamState:
        # Keras makes it of the first variable's dtype
        leaves = jax.tree_util.tree_leaves(params)
        one = jnp.ones([], leaves[0].dtype if leaves else jnp.float32)
        return NadamState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params), one)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1
        product = state.u_product
        # _backend_update_step: u_product * beta_1 * (1 - 0.5 * 0.96 ** t)
        # (its Python floats taken in the variable's dtype, not through float32)
        t = count.astype(product.dtype)
        power = jnp.power(_c(0.96, product), t)
        product = (product * _c(beta_1, product)) * (
            _c(1.0, product) - _c(0.5, product) * power
        )

        def one(g, m, v):  # type: ignore[no-untyped-def]
            local, following = count.astype(g.dtype), (count + 1).astype(g.dtype)
            decay = _via_float32(0.96, g)
            b1, b2 = _via_float32(beta_1, g), _via_float32(beta_2, g)
            one = _c(1.0, g)
            u_t = b1 * (one - _c(0.5, g) * jnp.power(decay, local))
            u_t_1 = b1 * (one - _c(0.5, g) * jnp.power(decay, following))
            u_product_t = product.astype(g.dtype)
            u_product_t_1 = u_product_t * u_t_1
            beta_2_power = jnp.power(b2, local)
            m = m + (g - m) * (one - b1)
            v = v + (jnp.square(g) - v) * (one - b2)
            m_hat = (u_t_1 * m) / (one - u_product_t_1) + ((one - u_t) * g) / (
                one - u_product_t
            )
            v_hat = v / (one - beta_2_power)
            step = (m_hat * _c(learning_rate, g)) / (jnp.sqrt(v_hat) + _c(epsilon, g))
            return -step, m, v

        d, m, v = _split(updates, tree_map(one, updates, state.m, state.v), 3)
        return d, NadamState(count, m, v, product)

    return optax.GradientTransformation(init, update)


def torch_adam(
    lr: float = 0.001,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    amsgrad: bool = False,
) -> optax.GradientTransformation:
    r"""PyTorch Adam (``torch.optim.Adam``, single-tensor path).

    .. math::
        m \leftarrow \mathrm{lerp}(m, g, 1-\beta_1),\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        w \leftarrow w - \frac{\eta}{1-\beta_1^t}\,
            \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    The bias corrections are Python floats (double precision), as in PyTorch:
    in a float32 run of a fixed rate, a table of PyTorch's step sizes and roots,
    rounded to float32, for each step until they stop changing
    (``torch_adam_tables``). With ``amsgrad`` the root is of the largest
    :math:`v` so far (:class:`AmsgradState`).
    """
    step_sizes = _torch_step_sizes(lr, beta1, beta2)

    def init(params: optax.Params) -> AdamState | AmsgradState:
        if amsgrad:
            return AmsgradState(*_adam_init(params), _zeros(params))
        return _adam_init(params)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1
        step_size, bias_correction2_sqrt = step_sizes(count)

        def one(g, m, v, v_max):  # type: ignore[no-untyped-def]
            m = m + _c(1 - beta1, g) * (g - m)  # lerp_ with weight < 0.5
            v = v * _c(beta2, g) + (_c(1 - beta2, g) * g) * g  # mul_, addcmul_
            if amsgrad:
                v_max = jnp.maximum(v_max, v)  # torch.maximum(..., out=)
            root = jnp.sqrt(v_max if amsgrad else v)
            denom = root / bias_correction2_sqrt.astype(g.dtype) + _c(eps, g)
            return ((-step_size).astype(g.dtype) * m) / denom, m, v, v_max  # addcdiv_

        v_max = state.v_max if amsgrad else state.v
        u, m, v, v_max = _split(
            updates, tree_map(one, updates, state.m, state.v, v_max), 4
        )
        if amsgrad:
            return u, AmsgradState(count, m, v, v_max)
        return u, AdamState(count, m, v)

    return optax.GradientTransformation(init, update)


def _torch_step_sizes(lr: Any, beta1: float, beta2: float) -> Any:
    """PyTorch Adam's ``lr / (1 - beta1**t)`` and ``sqrt(1 - beta2**t)`` at a step
    count: in doubles where the run is float64; from ``torch_adam_tables`` (PyTorch's
    doubles rounded to float32) in a float32 run of a fixed rate; else (a traced
    rate: a sweep's, a schedule's) in float32 within an ulp."""
    tables = None
    fixed = all(isinstance(v, (int, float)) for v in (lr, beta1, beta2))
    if fixed and not _x64():
        tables = torch_adam_tables(lr, beta1, beta2)

    def at(count: Array) -> tuple[Array, Array]:
        if _x64():  # as PyTorch writes it: 1 - beta ** step, in doubles
            t = count.astype(jnp.float64)
            bias_correction1 = 1 - jnp.power(jnp.float64(beta1), t)
            bias_correction2_sqrt = jnp.sqrt(1 - jnp.power(jnp.float64(beta2), t))
            step_size = lr / bias_correction1
        elif tables is not None:  # PyTorch's doubles, rounded to float32
            i = jnp.minimum(count, len(tables[0])) - 1
            step_size = jnp.asarray(tables[0])[i]
            bias_correction2_sqrt = jnp.asarray(tables[1])[i]
        else:
            # a traced rate (a sweep's, a schedule's) or beta1 (OneCycleLR's):
            # 1 - beta**t as -expm1(t log beta), within an ulp of the double (a
            # plain 1 - 0.999**t in float32 is off by 1e-5 relative)
            t = count.astype(jnp.float32)
            bias_correction1 = -jnp.expm1(t * _log(beta1))
            bias_correction2_sqrt = jnp.sqrt(-jnp.expm1(t * _log(beta2)))
            step_size = lr / bias_correction1
        return jnp.asarray(step_size), jnp.asarray(bias_correction2_sqrt)

    return at


def _log(beta: Any) -> Any:
    """log(beta), -inf at 0 (a beta of 0 keeps no average: 1 - 0**t is 1); a
    traced beta (OneCycleLR's beta1) by JAX, whose log of 0 is -inf too."""
    if not isinstance(beta, (int, float)):
        return jnp.log(jnp.asarray(beta, jnp.float32))
    return math.log(beta) if beta > 0 else -math.inf


#: The most steps ``torch_adam_tables`` tabulates (two float32 numbers a step: 2 MB
#: of constants in the compiled program); beta2 = 0.999 needs about 17000.
TABLE_STEPS = 1 << 18


def torch_adam_tables(
    lr: float, beta1: float, beta2: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """PyTorch Adam's ``lr / (1 - beta1**t)`` and ``sqrt(1 - beta2**t)``, computed
    in doubles as PyTorch computes them and rounded to float32 as a float32 step
    takes them, for t = 1, 2, ... up to the step from which both stay at their
    limits (float32 ``lr`` and 1); None where that is beyond ``TABLE_STEPS``.

    Both go to their limits monotonically, so once a range's last step has settled
    no later step moves: the range grows from 4096 steps only while it has not
    (a schedule's replay builds a table at every step's rate: 12 ms a table of
    ``TABLE_STEPS``, 0.3 ms of 4096)."""
    stop = 1 << 12
    while True:
        t = np.arange(1, stop + 1, dtype=np.float64)
        with np.errstate(under="ignore"):
            sizes = (lr / (1 - beta1**t)).astype(np.float32)
            roots = np.sqrt(1 - beta2**t).astype(np.float32)
        moving = (sizes != np.float32(lr)) | (roots != np.float32(1))
        if not moving[-1] or stop >= TABLE_STEPS:
            return _until_settled(moving, sizes, roots)  # type: ignore[return-value]
        stop = min(stop * 8, TABLE_STEPS)


def _until_settled(
    moving: np.ndarray, *tables: np.ndarray
) -> tuple[np.ndarray, ...] | None:
    """``tables`` cut after their last ``moving`` step (and one more, the value
    they settle at, which later steps read); None where they still move at the
    last step tabulated."""
    if moving[-1]:
        return None
    last = int(np.flatnonzero(moving)[-1]) + 2 if moving.any() else 1
    return tuple(table[:last] for table in tables)


def torch_radam_tables(
    beta1: float, beta2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """PyTorch RAdam's ``1 - beta1**t``, ``sqrt(1 - beta2**t)`` and its
    rectification term (NaN where ``rho_t <= 5``: the step without it), in
    doubles as PyTorch computes them and rounded to float32 as a float32 step
    takes them, for t = 1, 2, ... until all three stay at 1; None where that is
    beyond ``TABLE_STEPS``."""
    t = np.arange(1, TABLE_STEPS + 1, dtype=np.float64)
    with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
        first, second = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / second
        rect = np.sqrt(
            (rho_t - 4)
            * (rho_t - 2)
            * rho_inf
            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
    rect = np.where(rho_t > 5.0, rect, np.nan).astype(np.float32)
    first, root = first.astype(np.float32), np.sqrt(second).astype(np.float32)
    # rect settles at 1, or stays NaN where rho_t never passes 5 (beta2 <= 2/3)
    settled = (rect == 1) | (np.isnan(rect) & np.isnan(rect[-1]))
    moving = (first != 1) | (root != 1) | ~settled
    return _until_settled(moving, first, root, rect)  # type: ignore[return-value]


def _torch_radam_terms(beta1: Any, beta2: float) -> Any:
    """RAdam's terms at a step count (``torch_radam_tables``): in doubles where
    the run is float64, as PyTorch writes them; from the tables in a float32 run;
    else (betas beyond the tables) in float32, 1 - beta**t as -expm1(t log beta),
    within ulps of the doubles. ``beta1`` may be traced (OneCycleLR cycles it):
    its 1 - beta1**t is then computed, in float32 within an ulp."""
    fixed = isinstance(beta1, (int, float))
    # the beta2 terms tabulated whatever beta1 is (its own column then unused); a
    # traced beta2 (a sweep compiles one program per value: ``TABLED``) computed
    tables = None
    if not _x64() and isinstance(beta2, (int, float)):
        tables = torch_radam_tables(beta1 if fixed else 0.9, beta2)
    rho_inf = 2 / (1 - beta2) - 1

    def at(count: Array) -> tuple[Array, ...]:
        if _x64():
            t = count.astype(jnp.float64)
            power = jnp.power(jnp.asarray(beta2, jnp.float64), t)
            first = 1 - jnp.power(jnp.asarray(beta1, jnp.float64), t)
            second = 1 - power
        elif tables is not None:
            i = jnp.minimum(count, len(tables[0])) - 1
            first, root, rect = (jnp.asarray(table)[i] for table in tables)
            if not fixed:
                first = -jnp.expm1(count.astype(jnp.float32) * _log(beta1))
            return first, root, rect
        else:
            t = count.astype(jnp.float32)
            power = jnp.exp(t * _log(beta2))
            first, second = -jnp.expm1(t * _log(beta1)), -jnp.expm1(t * _log(beta2))
        rho_t = rho_inf - 2 * t * power / second
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf
        rect = jnp.sqrt(ratio / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return first, jnp.sqrt(second), jnp.where(rho_t > 5.0, rect, jnp.nan)

    return at


def torch_radam(
    lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""PyTorch RAdam (``torch.optim.RAdam``, single-tensor path).

    .. math::
        m \leftarrow \mathrm{lerp}(m, g, 1-\beta_1),\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        \hat m = m / (1-\beta_1^t),

    with :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`: where
    :math:`\rho_t > 5`, :math:`w \leftarrow w - \hat m \eta\,
    \frac{\sqrt{1-\beta_2^t}}{\sqrt v + \epsilon}\, r_t` with the rectification
    :math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}
    {(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`; else
    :math:`w \leftarrow w - \hat m \eta` (momentum alone: the first steps of
    beta2 0.999). The bias corrections and :math:`r_t` are PyTorch's doubles,
    rounded to float32 as its float32 step takes them; the root's factor is a
    reciprocal times the double (PyTorch's ``float / tensor``).
    """
    terms = _torch_radam_terms(beta1, beta2)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1
        first, root, rect = terms(count)

        def one(g, m, v):  # type: ignore[no-untyped-def]
            m = m + _c(1 - beta1, g) * (g - m)  # lerp_ with weight < 0.5
            v = v * _c(beta2, g) + (_c(1 - beta2, g) * g) * g  # mul_, addcmul_
            corrected = m / first.astype(g.dtype)
            plain = corrected * _c(lr, g)
            adaptive = (1 / (jnp.sqrt(v) + _c(eps, g))) * root.astype(g.dtype)
            rectified = (plain * adaptive) * rect.astype(g.dtype)
            step = jnp.where(jnp.isnan(rect), plain, rectified)
            return -step, m, v  # add_(..., alpha=-1.0)

        u, m, v = _split(updates, tree_map(one, updates, state.m, state.v), 3)
        return u, AdamState(count, m, v)

    return optax.GradientTransformation(_adam_init, update)


def keras_lion(
    learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.99
) -> optax.GradientTransformation:
    r"""Keras 3 Lion (``keras.optimizers.Lion``).

    .. math::
        w \leftarrow w - \eta\, \mathrm{sign}(\beta_1 m + (1-\beta_1) g),\quad
        m \leftarrow \beta_2 m + (1-\beta_2) g

    The betas are cast to the variable's dtype through float32
    (``ops.cast(self.beta_1, dtype)``), and 1 - beta taken in that dtype.
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, m):  # type: ignore[no-untyped-def]
            b1, b2 = _via_float32(beta_1, g), _via_float32(beta_2, g)
            step = _c(learning_rate, g) * jnp.sign(m * b1 + g * (1.0 - b1))
            return -step, m * b2 + g * (1.0 - b2)

        u, m = _split(updates, tree_map(one, updates, state.momentum), 2)
        return u, MomentumState(state.iterations + 1, m)

    return optax.GradientTransformation(_momentum_init, update)


def torch_rprop(
    lr: float = 0.01,
    etaminus: float = 0.5,
    etaplus: float = 1.2,
    step_size_min: float = 1e-6,
    step_size_max: float = 50.0,
) -> optax.GradientTransformation:
    r"""PyTorch Rprop (``torch.optim.Rprop``, single-tensor path): each weight's
    own step size grows by ``etaplus`` while its gradient keeps its sign and
    shrinks by ``etaminus`` when it flips, within [step_size_min,
    step_size_max]; the weight moves by the step size against the gradient's sign.

    .. math::
        s \leftarrow \mathrm{clamp}(s \cdot \eta_\pm, s_{min}, s_{max}),\quad
        w \leftarrow w - \mathrm{sign}(g)\, s

    with :math:`\eta_+` where :math:`g \cdot g_{prev} > 0`, :math:`\eta_-` where
    it is below 0 (and g is then taken as 0: no move, and the next step starts
    afresh), 1 where it is 0. The step sizes start at the rate, at the first step
    (so a sweep's traced rate starts them too); later rates are not read, as
    PyTorch reads ``lr`` only then.
    """

    def init(params: optax.Params) -> RpropState:
        return RpropState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        first = state.iterations == 0

        def one(g, prev, size):  # type: ignore[no-untyped-def]
            size = jnp.where(first, _c(lr, g), size)  # full_like(grad, lr)
            sign = jnp.sign(g * prev)
            factor = jnp.where(
                sign > 0, _c(etaplus, g), jnp.where(sign < 0, _c(etaminus, g), 1)
            ).astype(g.dtype)
            size = jnp.clip(size * factor, _c(step_size_min, g), _c(step_size_max, g))
            g = jnp.where(factor == _c(etaminus, g), jnp.zeros_like(g), g)
            return -(jnp.sign(g) * size), g, size  # addcmul_(value=-1)

        u, prev, size = _split(
            updates, tree_map(one, updates, state.prev, state.step_size), 3
        )
        return u, RpropState(state.iterations + 1, prev, size)

    return optax.GradientTransformation(init, update)


def torch_adamax(
    lr: float = 0.002, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""PyTorch Adamax (``torch.optim.Adamax``, single-tensor path).

    .. math::
        m \leftarrow \mathrm{lerp}(m, g, 1-\beta_1),\quad
        u \leftarrow \max(\beta_2 u, |g| + \epsilon),\quad
        w \leftarrow w - \frac{\eta}{1-\beta_1^t}\,\frac{m}{u}

    The step size is a Python float (a double), as Adam's (``_torch_step_sizes``).
    """
    step_sizes = _torch_step_sizes(lr, beta1, 0.0)

    def init(params: optax.Params) -> AdamaxState:
        return AdamaxState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1
        step_size, _ = step_sizes(count)

        def one(g, m, u):  # type: ignore[no-untyped-def]
            m = m + _c(1 - beta1, g) * (g - m)  # lerp_ with weight < 0.5
            u = jnp.maximum(u * _c(beta2, g), jnp.abs(g) + _c(eps, g))
            return ((-step_size).astype(g.dtype) * m) / u, m, u  # addcdiv_

        d, m, u = _split(updates, tree_map(one, updates, state.m, state.u), 3)
        return d, AdamaxState(count, m, u)

    return optax.GradientTransformation(init, update)


def torch_adagrad(
    lr: float = 0.01,
    lr_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> optax.GradientTransformation:
    r"""PyTorch Adagrad (``torch.optim.Adagrad``, single-tensor path).

    .. math::
        s \leftarrow s + g^2,\quad
        w \leftarrow w - \frac{\eta}{1 + (t-1)\,\text{lr\_decay}}\,
            \frac{g}{\sqrt{s} + \epsilon}

    :math:`s` starts at ``initial_accumulator_value``. PyTorch's decayed rate is a
    double: here it is in the run's dtype (within an ulp; exact without decay).
    """

    def init(params: optax.Params) -> AccumulatorState:
        start = tree_map(lambda w: jnp.full_like(w, initial_accumulator_value), params)
        return AccumulatorState(jnp.zeros([], jnp.int32), start)

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        count = state.iterations + 1

        def one(g, s):  # type: ignore[no-untyped-def]
            s = s + g * g  # addcmul_(value=1)
            if isinstance(lr_decay, (int, float)) and lr_decay == 0:
                rate = _c(-lr, g)
            else:
                steps = (count - 1).astype(g.dtype)
                rate = _c(-1.0, g) * lr / (1 + steps * lr_decay)
            return (rate.astype(g.dtype) * g) / (jnp.sqrt(s) + _c(eps, g)), s

        d, s = _split(updates, tree_map(one, updates, state.sum), 2)
        return d, AccumulatorState(count, s)

    return optax.GradientTransformation(init, update)


#: NAdam's tables end where its momentum has settled: the step from which every
#: coefficient stays the same in the run's dtype, at most this many steps.
NADAM_TABLE_STEPS = 1 << 18


def torch_nadam_tables(
    lr: float | None, beta1: float, beta2: float, momentum_decay: float, dtype: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch NAdam's per-step numbers in doubles, as its Python floats, then
    cast to ``dtype``: the two coefficients of its two ``addcdiv_`` writes and the
    second bias correction. ``mu_product`` is kept in ``dtype`` as PyTorch keeps it
    (a tensor of the default dtype). With ``lr`` None the coefficients are
    without the rate's factor ``-lr`` (a traced rate multiplies them)."""
    t = np.arange(1, NADAM_TABLE_STEPS + 1, dtype=np.float64)
    with np.errstate(under="ignore"):
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        # mu_product *= mu: the tensor times the Python float, in its dtype
        product = np.multiply.accumulate(mu.astype(dtype), dtype=dtype)
        product_next = product.astype(np.float64) * mu_next
        scale = 1.0 if lr is None else -lr
        first = (scale * (1.0 - mu)) / (1.0 - product.astype(np.float64))
        second = (scale * mu_next) / (1.0 - product_next)
        correction2 = 1.0 - beta2**t
    tables = [a.astype(dtype) for a in (first, second, correction2)]
    moving = np.zeros(len(t), bool)
    for a in tables:
        moving[:-1] |= a[1:] != a[:-1]
    first_t, second_t, correction_t = _until_settled(moving, *tables) or tables
    return first_t, second_t, correction_t


def torch_nadam(
    lr: float = 0.002,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    momentum_decay: float = 0.004,
    decoupled_weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    r"""PyTorch NAdam (``torch.optim.NAdam``, single-tensor path).

    .. math::
        \mu_t = \beta_1 (1 - \tfrac12 0.96^{t\psi}),\quad
        m \leftarrow \mathrm{lerp}(m, g, 1-\beta_1),\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        d = \sqrt{v / (1-\beta_2^t)} + \epsilon

    then two writes, :math:`w \mathrel{+}= -\eta\frac{1-\mu_t}{1-\prod_{i\le
    t}\mu_i} g / d` and :math:`w \mathrel{+}= -\eta\frac{\mu_{t+1}}{1-\prod_{i
    \le t+1}\mu_i} m / d` (:class:`NewValues`), with :math:`\psi` the
    ``momentum_decay``. The coefficients are PyTorch's doubles, rounded to the
    run's dtype, from a table (``torch_nadam_tables``). A
    ``decoupled_weight_decay`` wd shrinks the weights first, ``w *= 1 - lr wd``.
    """
    static = isinstance(lr, (int, float))
    dtype = np.float64 if _x64() else np.float32
    first_t, second_t, correction_t = torch_nadam_tables(
        lr if static else None, beta1, beta2, momentum_decay, dtype
    )

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        if params is None:
            raise ValueError("NAdam's two writes need the parameters")
        count = state.iterations + 1
        i = jnp.minimum(count, len(first_t)) - 1
        first, second = jnp.asarray(first_t)[i], jnp.asarray(second_t)[i]
        if not static:
            first, second = -lr * first, -lr * second
        correction2 = jnp.asarray(correction_t)[i]
        wd = decoupled_weight_decay

        def one(g, m, v, w):  # type: ignore[no-untyped-def]
            if not isinstance(wd, (int, float)) or wd:
                w = w * (1 - lr * wd if static else _c(1.0, w) - lr * wd)  # mul_
            m = m + _c(1 - beta1, g) * (g - m)  # lerp_ with weight < 0.5
            v = v * _c(beta2, g) + (_c(1 - beta2, g) * g) * g  # mul_, addcmul_
            d = jnp.sqrt(v / correction2.astype(g.dtype)) + _c(eps, g)
            w = w + (first.astype(g.dtype) * g) / d  # addcdiv_(grad, denom)
            return w + (second.astype(g.dtype) * m) / d, m, v  # addcdiv_(exp_avg)

        new, m, v = _split(updates, tree_map(one, updates, state.m, state.v, params), 3)
        return NewValues(new), AdamState(count, m, v)

    return optax.GradientTransformation(_adam_init, update)


def _momentum_init(params: optax.Params) -> MomentumState:
    return MomentumState(jnp.zeros([], jnp.int32), _zeros(params))


def keras_sgd(
    learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False
) -> optax.GradientTransformation:
    r"""Keras 3 SGD (``keras.optimizers.SGD``).

    Without momentum :math:`w \leftarrow w - g\eta`. With momentum :math:`\mu`:
    :math:`m \leftarrow m\mu - g\eta`, then :math:`w \leftarrow w + m`, or with
    Nesterov :math:`w \leftarrow w + (m\mu - g\eta)`. :math:`\mu` is cast
    through float32, as Keras 3 casts it (float64 runs see its rounding).
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params

        def one(g, m):  # type: ignore[no-untyped-def]
            lr = _c(learning_rate, g)
            if momentum == 0:
                return -(g * lr), m
            mu = _via_float32(momentum, g)  # ops.cast(self.momentum, dtype)
            m = m * mu - g * lr
            if nesterov:
                return m * mu - g * lr, m
            return m, m

        u, m = _split(updates, tree_map(one, updates, state.momentum), 2)
        return u, MomentumState(state.iterations + 1, m)

    return optax.GradientTransformation(_momentum_init, update)


def torch_sgd(
    lr: float = 0.001,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
) -> optax.GradientTransformation:
    r"""PyTorch SGD (``torch.optim.SGD``, single-tensor path).

    With momentum :math:`\mu`: the buffer is :math:`b = g` on the first step, then
    :math:`b \leftarrow \mu b + (1-\text{dampening}) g`; the step uses :math:`d = b`,
    or :math:`d = g + \mu b` with Nesterov; :math:`w \leftarrow w - \eta d`.
    """

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        del params
        first = state.iterations == 0

        def one(g, b):  # type: ignore[no-untyped-def]
            if _off(momentum):
                return _c(-lr, g) * g, b
            held = jnp.where(first, g, b * _c(momentum, g) + _c(1 - dampening, g) * g)
            d = g + _c(momentum, g) * held if nesterov else held
            if isinstance(momentum, (int, float)):
                return _c(-lr, g) * d, held
            # a cycled momentum at 0 (base_momentum=0): PyTorch's plain step, the
            # buffer left as it was
            zero = momentum == 0
            return _c(-lr, g) * jnp.where(zero, g, d), jnp.where(zero, b, held)

        u, m = _split(updates, tree_map(one, updates, state.momentum), 2)
        return u, MomentumState(state.iterations + 1, m)

    return optax.GradientTransformation(_momentum_init, update)


def torch_l2(
    inner: optax.GradientTransformation, weight_decay: float
) -> optax.GradientTransformation:
    """PyTorch's ``weight_decay`` of SGD and Adam (coupled, an L2 penalty's
    gradient): g + weight_decay * w goes to ``inner``. A decay of 0
    leaves ``inner`` as it is (its state too)."""
    if weight_decay == 0:
        return inner
    return optax.chain(optax.add_decayed_weights(weight_decay), inner)


class NewValues(NamedTuple):
    """Updates that are the parameters' new values, not increments: AdamW writes
    its variable twice (the decayed weight, then the step), and no single
    increment added to the old weight rounds as those two writes do."""

    values: optax.Params


def apply_updates(params: optax.Params, updates: Any) -> optax.Params:
    """``optax.apply_updates``, or the new values themselves (:class:`NewValues`)."""
    if isinstance(updates, NewValues):
        return tree_map(lambda n, w: n.astype(w.dtype), updates.values, params)
    return optax.apply_updates(params, updates)


def increments(params: optax.Params, updates: Any) -> optax.Params:
    """What an update adds to each parameter (new minus old for
    :class:`NewValues`), for showing."""
    if isinstance(updates, NewValues):
        return tree_map(lambda n, w: n - w, updates.values, params)
    return updates


def _decoupled(
    inner: optax.GradientTransformation, shrink: Any
) -> optax.GradientTransformation:
    """``inner``'s update applied to the weights shrunk first (``shrink(w)``), as
    AdamW does; the updates are the new weights (:class:`NewValues`)."""

    def update(updates, state, params=None):  # type: ignore[no-untyped-def]
        if params is None:
            raise ValueError("weight decay needs the parameters")
        u, state = inner.update(updates, state, params)
        return NewValues(tree_map(lambda w, d: shrink(w) + d, params, u)), state

    return optax.GradientTransformation(inner.init, update)


def torch_decoupled(
    inner: optax.GradientTransformation, lr: float, weight_decay: float
) -> optax.GradientTransformation:
    """``torch.optim.AdamW``'s decay: ``param.mul_(1 - lr * weight_decay)`` (the
    factor a Python float, cast to the weight's dtype) before the Adam step."""
    return _decoupled(inner, lambda w: w * _c(1 - lr * weight_decay, w))


def keras_decoupled(
    inner: optax.GradientTransformation, learning_rate: float, weight_decay: float
) -> optax.GradientTransformation:
    """Keras 3's ``weight_decay`` (``AdamW``): ``w - w * wd * lr`` before the
    update, the decay cast through float32 as its TensorFlow backend casts it."""
    return _decoupled(
        inner,
        lambda w: w - w * _via_float32(weight_decay, w) * _c(learning_rate, w),
    )
