"""Optimizers by name: optax's own, and presets faithful to Keras, tf_keras and PyTorch.

What a run stores and shows is an :class:`OptimizerSpec`: a preset's name and every
hyper-parameter as used, so a saved trace says exactly which optimizer made it.
Hyper-parameters keep each framework's own names (``rho``/``epsilon`` for Keras,
``alpha``/``eps`` for PyTorch, ``decay``/``eps`` for optax).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax

from gradtrace.core import plateau, transforms
from gradtrace.core.clipping import GradClip
from gradtrace.core.schedules import LrSchedule

Hyper = float | bool


@dataclass(frozen=True)
class Preset:
    """A named optimizer: its factory, default hyper-parameters and description."""

    name: str
    factory: Callable[..., optax.GradientTransformation]
    defaults: dict[str, Hyper]
    lr_key: str
    doc: str

    def build(self, hyper: dict[str, Hyper]) -> optax.GradientTransformation:
        return self.factory(**hyper)


def _optax_sgd(learning_rate: float) -> optax.GradientTransformation:
    return optax.sgd(learning_rate)


def _optax_momentum(
    learning_rate: float, momentum: float
) -> optax.GradientTransformation:
    return optax.sgd(learning_rate, momentum=momentum)


def _optax_nesterov(
    learning_rate: float, momentum: float
) -> optax.GradientTransformation:
    return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


def _optax_rmsprop(
    learning_rate: float,
    decay: float,
    eps: float,
    eps_in_sqrt: bool,
    centered: bool,
    momentum: float,
) -> optax.GradientTransformation:
    return optax.rmsprop(
        learning_rate,
        decay=decay,
        eps=eps,
        eps_in_sqrt=eps_in_sqrt,
        centered=centered,
        momentum=momentum or None,
    )


def _optax_adam(
    learning_rate: float, b1: float, b2: float, eps: float
) -> optax.GradientTransformation:
    return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


def _optax_adagrad(
    learning_rate: float, initial_accumulator_value: float, eps: float
) -> optax.GradientTransformation:
    return optax.adagrad(
        learning_rate, initial_accumulator_value=initial_accumulator_value, eps=eps
    )


def _optax_adamw(
    learning_rate: float, b1: float, b2: float, eps: float, weight_decay: float
) -> optax.GradientTransformation:
    return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)


def _torch_sgd(
    lr: float, momentum: float, dampening: float, nesterov: bool, weight_decay: float
) -> optax.GradientTransformation:
    inner = transforms.torch_sgd(lr, momentum, dampening, nesterov)
    return transforms.torch_l2(inner, weight_decay)


def _torch_adam(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled_weight_decay: bool = False,
) -> optax.GradientTransformation:
    inner = transforms.torch_adam(lr, beta1, beta2, eps, amsgrad)
    if decoupled_weight_decay:  # Adam(decoupled_weight_decay=True) is AdamW
        return transforms.torch_decoupled(inner, lr, weight_decay)
    return transforms.torch_l2(inner, weight_decay)


def _torch_rmsprop(
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    centered: bool,
    weight_decay: float,
) -> optax.GradientTransformation:
    inner = transforms.torch_rmsprop(lr, alpha, eps, momentum, centered)
    return transforms.torch_l2(inner, weight_decay)


def _torch_adamw(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
) -> optax.GradientTransformation:
    inner = transforms.torch_adam(lr, beta1, beta2, eps, amsgrad)
    return transforms.torch_decoupled(inner, lr, weight_decay)


def _torch_adagrad(
    lr: float,
    lr_decay: float,
    weight_decay: float,
    initial_accumulator_value: float,
    eps: float,
) -> optax.GradientTransformation:
    inner = transforms.torch_adagrad(lr, lr_decay, initial_accumulator_value, eps)
    return transforms.torch_l2(inner, weight_decay)


def _torch_adamax(
    lr: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> optax.GradientTransformation:
    inner = transforms.torch_adamax(lr, beta1, beta2, eps)
    return transforms.torch_l2(inner, weight_decay)


def _torch_adadelta(
    lr: float, rho: float, eps: float, weight_decay: float
) -> optax.GradientTransformation:
    inner = transforms.torch_adadelta(lr, rho, eps)
    return transforms.torch_l2(inner, weight_decay)


def _torch_radam(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
) -> optax.GradientTransformation:
    inner = transforms.torch_radam(lr, beta1, beta2, eps)
    if decoupled_weight_decay:  # param.mul_(1 - lr * weight_decay) first
        return transforms.torch_decoupled(inner, lr, weight_decay)
    return transforms.torch_l2(inner, weight_decay)


def _torch_nadam(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
) -> optax.GradientTransformation:
    if decoupled_weight_decay:  # param.mul_(1 - lr * weight_decay) first
        return transforms.torch_nadam(
            lr, beta1, beta2, eps, momentum_decay, weight_decay
        )
    inner = transforms.torch_nadam(lr, beta1, beta2, eps, momentum_decay)
    return transforms.torch_l2(inner, weight_decay)


def _keras_adamw(
    learning_rate: float,
    weight_decay: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    amsgrad: bool,
) -> optax.GradientTransformation:
    inner = transforms.keras_adam(
        learning_rate, beta_1, beta_2, epsilon, amsgrad=amsgrad
    )
    return transforms.keras_decoupled(inner, learning_rate, weight_decay)


def _keras_decay(
    update: optax.GradientTransformation, learning_rate: Any, weight_decay: float
) -> optax.GradientTransformation:
    """Keras 3's ``weight_decay``, which every Keras 3 optimizer takes: ``w -= w *
    wd * lr`` before its update (``keras_decoupled``); none (0, the default)
    leaves the update as it is."""
    if isinstance(weight_decay, (int, float)) and not weight_decay:
        return update
    return transforms.keras_decoupled(update, learning_rate, weight_decay)


def _keras_decayed(
    rule: Callable[..., optax.GradientTransformation],
) -> Callable[..., optax.GradientTransformation]:
    """A Keras 3 rule with Keras's ``weight_decay``, which every Keras 3 optimizer
    takes (``_keras_decay``): the preset's other hyper-parameters are the rule's,
    by name. Its signature is the rule's and ``weight_decay``, which
    ``optax.inject_hyperparams`` reads (``scheduled``)."""

    def build(weight_decay: float = 0.0, **hyper: Any) -> optax.GradientTransformation:
        return _keras_decay(rule(**hyper), hyper["learning_rate"], weight_decay)

    own = inspect.signature(rule)
    decay = inspect.Parameter(
        "weight_decay", inspect.Parameter.KEYWORD_ONLY, default=0.0
    )
    build.__signature__ = own.replace(  # type: ignore[attr-defined]
        parameters=[*own.parameters.values(), decay]
    )
    return build


def _tf_keras_adam(
    learning_rate: float, beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    return transforms.keras_adam(learning_rate, beta_1, beta_2, epsilon, legacy=True)


@dataclass(frozen=True)
class Range:
    """The values a hyper-parameter may take: ``low`` <= v (``low`` < v where
    ``above``), and v < ``high`` (or v <= ``high`` where ``closed``); ``why``
    says what goes wrong outside."""

    low: float
    high: float = float("inf")
    closed: bool = False
    why: str = ""
    above: bool = False

    def __contains__(self, value: float) -> bool:
        if value < self.low or (self.above and value == self.low):
            return False
        return value <= self.high if self.closed else value < self.high

    def __str__(self) -> str:
        if self.high == float("inf"):
            return f"{'>' if self.above else '>='} {self.low:g}"
        opening = "(" if self.above else "["
        return f"in {opening}{self.low:g}, {self.high:g}{']' if self.closed else ')'}"


_AVERAGE = Range(0.0, 1.0, why="the weight of the past in a running average")
_MOMENTUM = Range(0.0, 1.0, why="the share of the velocity kept at each step")
_EPS = Range(0.0, why="a small number that keeps the denominator off 0")

#: Each hyper-parameter's range, by the name presets give it (the learning rate is
#: checked apart, > 0; booleans take true or false). PyTorch refuses momentum < 0,
#: betas outside [0, 1) and eps < 0, Keras momentum outside [0, 1]; a beta or a
#: decay of 1 divides by 0 in the bias correction, or never updates its average.
RANGES: dict[str, Range] = {
    "momentum": _MOMENTUM,
    "dampening": Range(
        0.0, 1.0, closed=True, why="the share of the gradient held back"
    ),
    **dict.fromkeys(("b1", "b2", "beta1", "beta2", "beta_1", "beta_2"), _AVERAGE),
    **dict.fromkeys(("decay", "rho", "alpha"), _AVERAGE),
    **dict.fromkeys(("eps", "epsilon"), _EPS),
    "initial_accumulator_value": Range(
        0.0, why="the starting sum of squared gradients"
    ),
    "weight_decay": Range(0.0, why="the pull of every weight toward 0"),
    "lr_decay": Range(0.0, why="how fast the rate falls, lr / (1 + (t - 1) lr_decay)"),
    "momentum_decay": Range(0.0, why="how fast NAdam's momentum grows to beta1"),
    # torch.optim.Rprop refuses etas outside 0 < etaminus < 1 < etaplus
    "etaminus": Range(
        0.0,
        1.0,
        above=True,
        why="the factor a step size shrinks by when the gradient flips",
    ),
    "etaplus": Range(
        1.0,
        above=True,
        why="the factor a step size grows by while the gradient keeps its sign",
    ),
    "step_size_min": Range(0.0, why="the smallest step size"),
    "step_size_max": Range(0.0, why="the largest step size"),
}

#: A preset's own range of a hyper-parameter, where its framework's differs from
#: ``RANGES``: Keras's Lion refuses beta_1 <= 0 (sign descent) and takes 1;
#: PyTorch's and Keras's Adadelta take rho up to 1 (its steps are then gradient
#: descent's).
PRESET_RANGES: dict[tuple[str, str], Range] = {
    ("keras.lion", "beta_1"): Range(
        0.0,
        1.0,
        closed=True,
        above=True,
        why="the momentum's share in the sign Lion takes (0 is sign descent)",
    ),
    **dict.fromkeys(
        (("torch.adadelta", "rho"), ("keras.adadelta", "rho")),
        Range(0.0, 1.0, closed=True, why="the weight of the past in a running average"),
    ),
}

#: Other frameworks' names of a preset's hyper-parameters, for "did you mean".
ALIASES: tuple[tuple[str, ...], ...] = (
    ("b1", "beta1", "beta_1"),
    ("b2", "beta2", "beta_2"),
    ("eps", "epsilon"),
    ("decay", "rho", "alpha"),
    # momentum's factor, written beta (Ng's course) or mu in some texts
    ("momentum", "beta", "mu"),
)

_RMS_KERAS = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}
_ADAM_KERAS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "sgd",
            _optax_sgd,
            {"learning_rate": 0.01},
            "learning_rate",
            "plain gradient descent, w -= lr * g (optax.sgd)",
        ),
        Preset(
            "momentum",
            _optax_momentum,
            {"learning_rate": 0.01, "momentum": 0.9},
            "learning_rate",
            "heavy-ball momentum (optax.sgd with momentum)",
        ),
        Preset(
            "nesterov",
            _optax_nesterov,
            {"learning_rate": 0.01, "momentum": 0.9},
            "learning_rate",
            "Nesterov momentum (optax.sgd with nesterov=True)",
        ),
        Preset(
            "rmsprop",
            _optax_rmsprop,
            {
                "learning_rate": 0.001,
                "decay": 0.9,
                "eps": 1e-8,
                "eps_in_sqrt": True,
                "centered": False,
                "momentum": 0.0,
            },
            "learning_rate",
            "optax.rmsprop (eps inside the square root)",
        ),
        Preset(
            "adam",
            _optax_adam,
            {"learning_rate": 0.001, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
            "learning_rate",
            "optax.adam (eps after bias correction)",
        ),
        Preset(
            "adamw",
            _optax_adamw,
            {
                "learning_rate": 0.001,
                "b1": 0.9,
                "b2": 0.999,
                "eps": 1e-8,
                "weight_decay": 1e-4,
            },
            "learning_rate",
            "optax.adamw: Adam with decoupled weight decay, w -= lr * wd * w",
        ),
        Preset(
            "adagrad",
            _optax_adagrad,
            {"learning_rate": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-7},
            "learning_rate",
            "optax.adagrad",
        ),
        Preset(
            "keras.sgd",
            _keras_decayed(transforms.keras_sgd),
            {
                "learning_rate": 0.01,
                "momentum": 0.0,
                "nesterov": False,
                "weight_decay": 0.0,
            },
            "learning_rate",
            "Keras 3 SGD, exact update rule (weight_decay: w -= w * wd * lr first)",
        ),
        Preset(
            "keras.rmsprop",
            _keras_decayed(transforms.keras_rmsprop),
            {"learning_rate": 0.001, **_RMS_KERAS, "weight_decay": 0.0},
            "learning_rate",
            "Keras 3 RMSprop: eps inside the square root (weight_decay as SGD's)",
        ),
        Preset(
            "keras.adam",
            _keras_decayed(transforms.keras_adam),
            {
                "learning_rate": 0.001,
                **_ADAM_KERAS,
                "weight_decay": 0.0,
                "amsgrad": False,
            },
            "learning_rate",
            "Keras 3 Adam: the 'epsilon hat' form (weight_decay as SGD's; "
            "amsgrad=true: the root of the largest v so far)",
        ),
        Preset(
            "keras.adamw",
            _keras_adamw,
            {
                "learning_rate": 0.001,
                "weight_decay": 0.004,
                **_ADAM_KERAS,
                "amsgrad": False,
            },
            "learning_rate",
            "Keras 3 AdamW: w -= w * wd * lr, then Keras's Adam step",
        ),
        Preset(
            "keras.adagrad",
            _keras_decayed(transforms.keras_adagrad),
            {
                "learning_rate": 0.001,
                "initial_accumulator_value": 0.1,
                "epsilon": 1e-7,
                "weight_decay": 0.0,
            },
            "learning_rate",
            "Keras 3 Adagrad: s += g^2, w -= lr * g / sqrt(s + eps)",
        ),
        Preset(
            "keras.adamax",
            _keras_decayed(transforms.keras_adamax),
            {"learning_rate": 0.001, **_ADAM_KERAS, "weight_decay": 0.0},
            "learning_rate",
            "Keras 3 Adamax: u = max(beta_2 u, |g|), w -= lr m / ((1 - b1^t)(u + eps))",
        ),
        Preset(
            "keras.nadam",
            _keras_decayed(transforms.keras_nadam),
            {"learning_rate": 0.001, **_ADAM_KERAS, "weight_decay": 0.0},
            "learning_rate",
            "Keras 3 Nadam: Adam with Nesterov momentum, Keras's 0.96^t schedule",
        ),
        Preset(
            "keras.adadelta",
            _keras_decayed(transforms.keras_adadelta),
            {
                "learning_rate": 0.001,
                "rho": 0.95,
                "epsilon": 1e-7,
                "weight_decay": 0.0,
            },
            "learning_rate",
            "Keras 3 Adadelta: v = rho v + (1 - rho) g^2, d = -sqrt(a + eps) g / "
            "sqrt(v + eps), a = rho a + (1 - rho) d^2, w += lr d",
        ),
        Preset(
            "keras.lion",
            _keras_decayed(transforms.keras_lion),
            {
                "learning_rate": 0.001,
                "beta_1": 0.9,
                "beta_2": 0.99,
                "weight_decay": 0.0,
            },
            "learning_rate",
            "Keras 3 Lion: w -= lr sign(beta_1 m + (1 - beta_1) g), then m = beta_2 m "
            "+ (1 - beta_2) g",
        ),
        Preset(
            "tf_keras.rmsprop",
            transforms.tf_keras_rmsprop,
            {"learning_rate": 0.001, **_RMS_KERAS},
            "learning_rate",
            "Keras 2 (tf_keras) legacy RMSprop: eps outside the square root",
        ),
        Preset(
            "tf_keras.adam",
            _tf_keras_adam,
            {"learning_rate": 0.001, **_ADAM_KERAS},
            "learning_rate",
            "Keras 2 (tf_keras) legacy Adam (TensorFlow's ApplyAdam kernel)",
        ),
        Preset(
            "torch.sgd",
            _torch_sgd,
            {
                "lr": 0.001,
                "momentum": 0.0,
                "dampening": 0.0,
                "nesterov": False,
                "weight_decay": 0.0,
            },
            "lr",
            "PyTorch SGD, exact update rule (weight_decay adds wd * w to g)",
        ),
        Preset(
            "torch.rmsprop",
            _torch_rmsprop,
            {
                "lr": 0.01,
                "alpha": 0.99,
                "eps": 1e-8,
                "momentum": 0.0,
                "centered": False,
                "weight_decay": 0.0,
            },
            "lr",
            "PyTorch RMSprop: alpha 0.99, eps outside the square root (weight_decay "
            "adds wd * w to g)",
        ),
        Preset(
            "torch.adam",
            _torch_adam,
            {
                "lr": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.0,
                "amsgrad": False,
                "decoupled_weight_decay": False,
            },
            "lr",
            "PyTorch Adam: eps after bias correction (weight_decay adds wd * w to g; "
            "decoupled_weight_decay=True is AdamW's)",
        ),
        Preset(
            "torch.adamw",
            _torch_adamw,
            {
                "lr": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.01,
                "amsgrad": False,
            },
            "lr",
            "PyTorch AdamW: w *= 1 - lr * wd, then PyTorch's Adam step",
        ),
        Preset(
            "torch.adagrad",
            _torch_adagrad,
            {
                "lr": 0.01,
                "lr_decay": 0.0,
                "weight_decay": 0.0,
                "initial_accumulator_value": 0.0,
                "eps": 1e-10,
            },
            "lr",
            "PyTorch Adagrad: s += g^2, w -= lr * g / (sqrt(s) + eps)",
        ),
        Preset(
            "torch.adamax",
            _torch_adamax,
            {
                "lr": 0.002,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.0,
            },
            "lr",
            "PyTorch Adamax: Adam with the infinity norm, u = max(beta2 u, |g| + eps)",
        ),
        Preset(
            "torch.adadelta",
            _torch_adadelta,
            {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
            "lr",
            "PyTorch Adadelta: lr 1.0, d = sqrt(a + eps) / sqrt(v + eps) g, w -= lr d "
            "(weight_decay adds wd * w to g)",
        ),
        Preset(
            "torch.radam",
            _torch_radam,
            {
                "lr": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.0,
                "decoupled_weight_decay": False,
            },
            "lr",
            "PyTorch RAdam: Adam's step rectified by r_t where rho_t > 5, momentum "
            "alone before (weight_decay adds wd * w to g; decoupled_weight_decay=True "
            "is AdamW's)",
        ),
        Preset(
            "torch.rprop",
            transforms.torch_rprop,
            {
                "lr": 0.01,
                "etaminus": 0.5,
                "etaplus": 1.2,
                "step_size_min": 1e-6,
                "step_size_max": 50.0,
            },
            "lr",
            "PyTorch Rprop: each weight's step size (the rate at first) times etaplus "
            "while its gradient keeps its sign, etaminus when it flips; w -= sign(g) "
            "step_size",
        ),
        Preset(
            "torch.nadam",
            _torch_nadam,
            {
                "lr": 0.002,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.0,
                "momentum_decay": 0.004,
                "decoupled_weight_decay": False,
            },
            "lr",
            "PyTorch NAdam: Adam with Nesterov momentum and its momentum schedule",
        ),
    ]
}


#: Presets whose weight decay is decoupled (scaled by the learning rate apart
#: from the gradient's step).
DECOUPLED = frozenset(
    {
        "adamw",
        "keras.adamw",
        "torch.adamw",
        "keras.sgd",
        "keras.rmsprop",
        "keras.adam",
        "keras.adagrad",
        "keras.adamax",
        "keras.nadam",
        "keras.adadelta",
        "keras.lion",
    }
)

#: Presets whose update writes the weights more than once (NAdam's two
#: ``addcdiv_``): their updates are new values, not increments.
WRITES_TWICE = frozenset({"torch.nadam"})


#: The hyper-parameter OneCycleLR cycles (``cycle_momentum``) in each optimizer
#: gradtrace cycles it in: PyTorch's ``momentum``, or the first of its ``betas``.
CYCLED = {
    "torch.sgd": "momentum",
    "torch.rmsprop": "momentum",
    "torch.adam": "beta1",
    "torch.adamw": "beta1",
    "torch.adamax": "beta1",
    "torch.radam": "beta1",
}


def decoupled(name: str, hyper: dict[str, Any]) -> bool:
    """Whether the preset ``name`` with ``hyper`` decays its weights apart from
    the gradient (scaled by the rate), not through it."""
    return name in DECOUPLED or bool(hyper.get("decoupled_weight_decay"))


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer preset and every hyper-parameter as used; hashable.

    Examples:
        >>> spec = OptimizerSpec.create("keras.rmsprop", learning_rate=0.05)
        >>> spec.learning_rate, spec.hyper["epsilon"]
        (0.05, 1e-07)
    """

    name: str
    items: tuple[tuple[str, Hyper], ...] = field(default=())
    #: a learning-rate schedule, and the run's batches per epoch and steps that
    #: its rates depend on
    schedule: LrSchedule | None = None
    per_epoch: int = 1
    n_steps: int = 1
    #: the parameters' dtype, which a PyTorch schedule's rates are cast to
    param_dtype: str = "float32"
    #: the rows of an epoch (a plateau's loss is the epoch's mean over them)
    n_rows: int = 0
    #: gradient clipping before the update
    clip: GradClip | None = None

    def clipped(self, clip: GradClip | None) -> OptimizerSpec:
        """This spec with the gradients clipped by ``clip`` before each update."""
        return replace(self, clip=clip)

    def scheduled(
        self,
        schedule: LrSchedule | None,
        per_epoch: int,
        n_steps: int,
        param_dtype: Any = "float32",
        n_rows: int = 0,
    ) -> OptimizerSpec:
        """This spec with ``schedule`` for a run of ``n_steps`` steps,
        ``per_epoch`` a epoch, of parameters of ``param_dtype``, on ``n_rows``
        rows (a plateau's)."""
        if schedule is None:
            return replace(self, schedule=None, per_epoch=1, n_steps=1)
        return replace(
            self,
            schedule=schedule,
            per_epoch=per_epoch,
            n_steps=n_steps,
            param_dtype=str(jnp.dtype(param_dtype)),
            n_rows=n_rows if schedule.adaptive else 0,
        )

    @property
    def rate_dtype(self) -> Any:
        """The dtype of the schedule's rates in the run (``LrSchedule.rate_dtype``)."""
        if self.schedule is None:
            return np.float32
        return self.schedule.rate_dtype(self.param_dtype)

    def rate_fn(self, lr: Any) -> Any:
        """The schedule's rate at each step count, from ``lr`` (a float, or a
        sweep's traced rate)."""
        assert self.schedule is not None
        return self.schedule.rate_fn(lr, self.per_epoch, self.n_steps, self.rate_dtype)

    @property
    def momentum_fn(self) -> Callable[[Any], Any] | None:
        """The momentum (beta1) the schedule gives each step count, where it
        cycles it (OneCycleLR); None where the optimizer's own holds."""
        if self.schedule is None:
            return None
        return self.schedule.momentum_fn(self.n_steps, self.per_epoch, self.rate_dtype)

    @property
    def cycled(self) -> str | None:
        """The hyper-parameter the schedule sets at each step (``momentum`` or
        ``beta1``), or None."""
        if self.schedule is None or not self.schedule.cycles_momentum:
            return None
        return CYCLED.get(self.name)

    @staticmethod
    def create(name: str, **overrides: Hyper) -> OptimizerSpec:
        """The preset ``name`` with its defaults, overridden by ``overrides``.

        Raises KeyError for an unknown name or hyper-parameter (callers validate first).
        """
        preset = PRESETS[name]
        hyper: dict[str, Any] = dict(preset.defaults)
        for key, value in overrides.items():
            if key not in hyper:
                raise KeyError(key)
            default = preset.defaults[key]
            hyper[key] = bool(value) if isinstance(default, bool) else float(value)
        return OptimizerSpec(name, tuple(hyper.items()))

    @property
    def hyper(self) -> dict[str, Hyper]:
        return dict(self.items)

    @property
    def learning_rate(self) -> float:
        return float(self.hyper[PRESETS[self.name].lr_key])

    @property
    def plateau(self) -> tuple[np.ndarray, np.ndarray] | None:
        """A plateau schedule's rate after each number of cuts, and whether each
        cut moves it (``LrSchedule.plateau_levels``); None for another."""
        if self.schedule is None or not self.schedule.adaptive:
            return None
        return self.schedule.plateau_levels(
            self.learning_rate, self.n_steps, self.per_epoch, self.rate_dtype
        )

    @property
    def watches_validation(self) -> bool:
        """Whether a plateau schedule watches the validation loss."""
        return (
            self.plateau is not None
            and self.schedule is not None
            and (self.schedule.params.get("monitor") == "val_loss")
        )

    @property
    def rate_as_input(self) -> bool:
        """Whether a compiled run takes the learning rate as an input rather than
        a constant (``build(lr)``), so that another rate runs the same program:
        without a schedule, whose rates are tabled from the Python value."""
        return self.schedule is None

    def any_rate(self) -> OptimizerSpec:
        """This spec with its learning rate left out (0): what a compiled run
        that takes the rate as an input is cached by."""
        lr_key = PRESETS[self.name].lr_key
        items = tuple((k, 0.0 if k == lr_key else v) for k, v in self.items)
        return replace(self, items=items)

    def build(self, lr: Any = None) -> optax.GradientTransformation:
        """The optax transformation this spec describes; with a schedule, the
        preset built afresh at each step's rate (``optax.inject_hyperparams``);
        with a plateau, at the rate its state holds (``core.plateau``), its
        ``update`` taking the batch's loss, rows and whether it ends an epoch.
        ``lr``: the learning rate as a traced array in place of the spec's
        (``rate_as_input``)."""
        levels = self.plateau
        if self.schedule is None:
            hyper = self.hyper
            if lr is not None:
                hyper = {**hyper, PRESETS[self.name].lr_key: lr}
            tx = PRESETS[self.name].build(hyper)
        elif levels is not None:
            preset = PRESETS[self.name]
            start = np.asarray(levels[0][0], self.rate_dtype)  # kept in the state
            inner = scheduled(preset, self.hyper, lambda _: start)
            tx = plateau.transform(
                self.schedule.name,
                self.schedule.params,
                inner,
                preset.lr_key,
                *levels,
                self.n_rows,
                self.rate_dtype,
            )
        else:
            tx = scheduled(
                PRESETS[self.name], self.hyper, self.rate_fn, self.momentum_fn
            )
        return with_clip(self.clip, tx)

    def build_at(self, rates: np.ndarray) -> optax.GradientTransformation:
        """The optimizer at recorded rates: update ``i`` (0-based) takes
        ``rates[i]`` (a plateau's, from its trace, to replay its updates)."""
        table = np.asarray(rates, self.rate_dtype)
        last = len(table) - 1

        def rate(_: Any) -> Any:
            return lambda count: jnp.asarray(table)[jnp.minimum(count, last)]

        tx = scheduled(PRESETS[self.name], self.hyper, rate, None)
        return with_clip(self.clip, tx)

    def build_range(
        self, lr_min: float, lr_max: float, n_steps: int
    ) -> optax.GradientTransformation:
        """For the learning-rate range test: the preset at learning rate 1, its
        updates scaled by a rate that grows exponentially from ``lr_min`` to
        ``lr_max`` over ``n_steps``. Exact for updates linear in the rate (SGD,
        PyTorch's momentum, RMSprop, Adam); Keras's momentum SGD, which folds the
        rate into its buffer, is approximated. AdamW's presets, whose decay is
        scaled by the rate, are built afresh at each step's rate (exact)."""
        lr_key = PRESETS[self.name].lr_key
        hyper = {**self.hyper, lr_key: 1.0}
        ratio = lr_max / lr_min
        span = max(n_steps - 1, 1)

        def rate(count: Any) -> Any:
            return lr_min * ratio ** (count / span)

        decays = decoupled(self.name, self.hyper) and self.hyper.get("weight_decay")
        if self.name in WRITES_TWICE or decays:
            # the decay is scaled by the rate too (w *= 1 - lr * wd), or the
            # update is new values: the preset is built at each step's rate, the
            # other hyper-parameters as given
            return scheduled(PRESETS[self.name], hyper, lambda _: rate)
        return optax.chain(
            PRESETS[self.name].build(hyper), optax.scale_by_schedule(rate)
        )


def scheduled(
    preset: Preset,
    hyper: dict[str, Any],
    rate_fn: Callable[[Any], Any],
    momentum_fn: Callable[[Any], Any] | None = None,
) -> optax.GradientTransformation:
    """``preset`` at the rate ``rate_fn(lr)`` gives each step (the updates done
    before it counted), and with ``momentum_fn`` at that step's momentum (its
    ``CYCLED`` hyper-parameter), its other hyper-parameters as in ``hyper``:
    Python values stay static, traced ones (a sweep's) are passed as arrays."""
    lr_key = preset.lr_key
    cycled = {} if momentum_fn is None else {CYCLED[preset.name]: momentum_fn}
    others = {k: v for k, v in hyper.items() if k != lr_key and k not in cycled}
    static = tuple(k for k, v in others.items() if isinstance(v, (bool, int, float)))
    injected = optax.inject_hyperparams(preset.factory, static_args=static)
    return injected(**others, **cycled, **{lr_key: rate_fn(hyper[lr_key])})


def with_clip(
    clip: GradClip | None, tx: optax.GradientTransformation
) -> optax.GradientTransformation:
    """``tx`` after ``clip``'s clipping of the gradients (``tx`` itself without)."""
    return tx if clip is None else optax.chain(clip.transform(), tx)
