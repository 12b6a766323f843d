"""One step's update written out with its numbers, as a textbook writes the
rule: Adam's m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2 and the step they
make; momentum's buffer; RMSprop's running square; plain gradient descent's
-lr g. Each framework's own form (Keras folds Adam's bias corrections into the
rate; PyTorch's momentum buffer has dampening; optax's RMSprop takes eps inside
the square root), and a rule is only written where its arithmetic gives the
update the step made: what ``explain`` shows is what ran."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

#: How close a rule's value must come to the update the step made (the table's
#: values are float32's: a few of their ulps)
AGREE = 2e-5

Rule = tuple[str, Callable[[], float]]


def update_arithmetic(
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    t: int,
    dtype: str = "float64",
) -> str | None:
    """The update of one parameter (``row``: its ``before``, ``gradient``, the
    optimizer's state ``<name> before`` and ``<name> after``, ``added``) by its
    optimizer (``opt``: run.json's, its name and hyper-parameters) at learning
    rate ``rate`` on step ``t`` (1 the first), as "m = 0.9 x -8.07 + 0.1 x
    -52.7 = -12.5; ...; added = ...", the rule that gives ``added``; None where
    none of the rules written here does (a variant not written out: a centred
    RMSprop, AMSGrad, clipping; a weight decay is the caller's to take out,
    ``explain._written_out``). ``dtype``: the parameters',
    in which optax and Keras take Adam's bias corrections (PyTorch takes them
    in Python's floats): 1 - 0.999 is 0.0009999871 in float32, and the written
    numbers must give the update by hand."""
    g, added = float(row["gradient"]), float(row["added"])
    for rule in _rules(str(opt["name"]), opt, row, rate, t, g, dtype):
        text, value = rule
        try:
            got = value()
        except (KeyError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if math.isfinite(got) and math.isclose(
            got, added, rel_tol=AGREE, abs_tol=AGREE * abs(g * rate) + 1e-30
        ):
            return f"{text} = {_n(added)}"
    return None


def _n(value: float) -> str:
    """A number as the tables print it, to 7 significant digits."""
    return f"{value:.7g}"


def _p(value: float) -> str:
    """A number as an operand: a negative one in parentheses, -0.01 x (-67.9)."""
    return f"({value:.7g})" if value < 0 else f"{value:.7g}"


def _hyper(opt: Mapping[str, Any], *names: str) -> tuple[str, float]:
    """The first of ``names`` the optimizer has (b1, beta1, beta_1): its name as
    the framework writes it, and its value."""
    for name in names:
        if name in opt and opt[name] is not None:
            return name, float(opt[name])
    raise KeyError(names[0])


def _state(row: Mapping[str, float], *labels: str) -> tuple[str, float, float]:
    """A state's label, its value before and after, by the first of ``labels``
    the table has."""
    for label in labels:
        if f"{label} before" in row:
            return label, float(row[f"{label} before"]), float(row[f"{label} after"])
    raise KeyError(labels[0])


def _rules(
    name: str,
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    t: int,
    g: float,
    dtype: str = "float64",
) -> list[Rule]:
    """The rules this optimizer's update may be written as, most likely first."""
    keras, n, p = name.startswith("keras."), _n, _p
    if float(opt.get("weight_decay") or 0.0):
        return []  # the decay's own sentence says what it adds
    has = set(row)
    lr = n(rate)
    if name == "keras.lion":
        return _lion(opt, row, rate, g, dtype)
    if name == "torch.radam":
        return _radam(opt, row, rate, t, g)
    if name == "torch.rprop":
        return _rprop(opt, row, rate, t, g)
    if any(k.endswith(" before") and k.split()[0] in ("m", "mu") for k in has):
        own = "float64" if name.startswith("torch.") else dtype
        return _adam(opt, row, rate, t, g, keras, own)
    if has & {"square_avg before", "accumulated_grad before"}:
        return _adadelta(opt, row, rate, g, keras)
    if "nu before" in has or ("velocity before" in has and "rmsprop" in name):
        return _rmsprop(opt, row, rate, g, name)
    nesterov = name == "nesterov" or bool(opt.get("nesterov"))
    if "trace before" in has:  # optax's momentum: trace = g + m trace
        label, before, after = _state(row, "trace")
        key, m = _hyper(opt, "momentum")
        if nesterov:  # the step looks ahead: g + m trace, of the new trace
            return [
                (
                    f"{label} = gradient + {key} x {label} = {n(g)} + {n(m)} x "
                    f"{p(before)} = {n(after)}; added = -lr x (gradient + {key} x "
                    f"{label}) = -{lr} x ({n(g)} + {n(m)} x {p(after)})",
                    lambda: -rate * (g + m * (g + m * before)),
                )
            ]
        return [
            (
                f"{label} = gradient + {key} x {label} = {n(g)} + {n(m)} x "
                f"{p(before)} = {n(after)}; added = -lr x {label} = -{lr} x "
                f"{p(after)}",
                lambda: -rate * (g + m * before),
            )
        ]
    if has & {"momentum before", "buffer before", "velocity before"}:
        label, before, after = _state(row, "momentum", "buffer", "velocity")
        key, m = _hyper(opt, "momentum")
        if keras and nesterov:  # the step looks ahead: m v - lr g, of the new v
            return [
                (
                    f"velocity = {key} x velocity - lr x gradient = {n(m)} x "
                    f"{p(before)} - {lr} x {p(g)} = {n(after)}; added = {key} x "
                    f"velocity - lr x gradient = {n(m)} x {p(after)} - {lr} x {p(g)}",
                    lambda: m * (m * before - rate * g) - rate * g,
                )
            ]
        if keras:  # Keras keeps the step itself: v = m v - lr g
            return [
                (
                    f"velocity = {key} x velocity - lr x gradient = {n(m)} x "
                    f"{p(before)} - {lr} x {p(g)} = {n(after)}; added = velocity",
                    lambda: m * before - rate * g,
                )
            ]
        damp = float(opt.get("dampening") or 0.0)
        if t == 1:  # PyTorch's buffer starts as the first gradient
            buffer: Rule = (f"buffer = gradient = {n(g)}", lambda: g)
        else:
            buffer = (
                f"buffer = {key} x buffer + (1 - dampening) x gradient = "
                f"{n(m)} x {p(before)} + {n(1 - damp)} x {p(g)} = {n(after)}",
                lambda: m * before + (1 - damp) * g,
            )
        if nesterov:  # PyTorch's look-ahead: the step is g + m buffer
            return [
                (
                    f"{buffer[0]}; added = -lr x (gradient + {key} x buffer) = "
                    f"-{lr} x ({n(g)} + {n(m)} x {p(after)})",
                    lambda: -rate * (g + m * buffer[1]()),
                )
            ]
        return [
            (
                f"{buffer[0]}; added = -lr x buffer = -{lr} x {p(after)}",
                lambda: -rate * buffer[1](),
            )
        ]
    if not any(k.endswith(" before") for k in has):  # plain gradient descent
        return [(f"added = -lr x gradient = -{lr} x {p(g)}", lambda: -rate * g)]
    return []


def _adam(
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    t: int,
    g: float,
    keras: bool,
    dtype: str = "float64",
) -> list[Rule]:
    """Adam's rule; its bias corrections 1 - b^t taken in ``dtype``."""
    n, p, lr = _n, _p, _n(rate)
    first, m0, m1 = _state(row, "mu", "m")
    second, v0, v1 = _state(row, "nu", "v")
    k1, b1 = _hyper(opt, "b1", "beta1", "beta_1")
    k2, b2 = _hyper(opt, "b2", "beta2", "beta_2")
    ke, eps = _hyper(opt, "eps", "epsilon")
    moments = (
        f"{first} = {k1} x {first} + (1 - {k1}) x gradient = {n(b1)} x {p(m0)} + "
        f"{n(1 - b1)} x {p(g)} = {n(m1)}; {second} = {k2} x {second} + (1 - {k2}) "
        f"x gradient^2 = {n(b2)} x {p(v0)} + {n(1 - b2)} x {p(g)}^2 = {n(v1)}"
    )
    c1, c2 = (_corrected(b, t, dtype) for b in (b1, b2))
    # float32's corrections end in odd digits (0.1900001, 0.001998961): say why
    at = f"at step t = {t}" + (
        f" (1 - {k1}^t and 1 - {k2}^t in {dtype}, as the run took them)"
        if dtype != "float64"
        else ""
    )
    if keras:  # Keras folds the corrections into the rate; eps outside the root
        return [
            (
                f"{moments}; {at}, added = -lr x sqrt(1 - {k2}^t) / "
                f"(1 - {k1}^t) x {first} / (sqrt({second}) + {ke}) = -{lr} x "
                f"sqrt({n(c2)}) / {n(c1)} x {p(m1)} / (sqrt({n(v1)}) + {eps:g})",
                lambda: -rate * math.sqrt(c2) / c1 * m1 / (math.sqrt(v1) + eps),
            )
        ]
    return [
        (
            f"{moments}; {at}, added = -lr x ({first} / (1 - {k1}^t)) / "
            f"(sqrt({second} / (1 - {k2}^t)) + {ke}) = -{lr} x ({n(m1)} / {n(c1)}) "
            f"/ (sqrt({n(v1)} / {n(c2)}) + {eps:g})",
            lambda: -rate * (m1 / c1) / (math.sqrt(v1 / c2) + eps),
        )
    ]


def _corrected(b: float, t: int, dtype: str) -> float:
    """Adam's bias correction 1 - b^t, taken in ``dtype``."""
    one = np.dtype(dtype).type
    return float(one(1) - one(b) ** one(t))


def _rmsprop_momentum(
    row: Mapping[str, float],
    rate: float,
    g: float,
    name: str,
    square: str,
    m: float,
    velocity: tuple[str, float],
    eps: float,
) -> list[Rule]:
    """RMSprop with momentum, each framework's way: PyTorch's buffer of g / (sqrt(v)
    + eps), then -lr buffer; Keras's momentum of lr g / sqrt(v + epsilon), taken
    off; optax's trace of -lr g / sqrt(nu + eps), added."""
    n, p, lr = _n, _p, _n(rate)
    label, v1 = velocity
    try:
        state, b0, b1 = _state(row, "buffer", "momentum", "trace")
    except KeyError:
        return []
    if name == "torch.rmsprop":
        return [
            (
                f"{square}; {state} = momentum x {state} + gradient / (sqrt({label}) "
                f"+ eps) = {n(m)} x {p(b0)} + {p(g)} / (sqrt({n(v1)}) + {eps:g}) = "
                f"{n(b1)}; added = -lr x {state} = -{lr} x {p(b1)}",
                lambda: -rate * (m * b0 + g / (math.sqrt(v1) + eps)),
            )
        ]
    if name in ("keras.rmsprop", "tf_keras.rmsprop"):
        return [
            (
                f"{square}; {state} = {n(m)} x {state} + lr x gradient / sqrt({label} "
                f"+ epsilon) = {n(m)} x {p(b0)} + {lr} x {p(g)} / sqrt({n(v1)} + "
                f"{eps:g}) = {n(b1)}; added = -{state}",
                lambda: -(m * b0 + rate * g / math.sqrt(v1 + eps)),
            )
        ]
    return [
        (
            f"{square}; {state} = {n(m)} x {state} - lr x gradient / sqrt({label} + "
            f"eps) = {n(m)} x {p(b0)} - {lr} x {p(g)} / sqrt({n(v1)} + {eps:g}) = "
            f"{n(b1)}; added = {state}",
            lambda: m * b0 - rate * g / math.sqrt(v1 + eps),
        )
    ]


def _rmsprop(
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    g: float,
    name: str,
) -> list[Rule]:
    if opt.get("centered"):
        return []
    n, p, lr = _n, _p, _n(rate)
    label, v0, v1 = _state(row, "nu", "velocity")
    key, rho = _hyper(opt, "decay", "alpha", "rho")
    ke, eps = _hyper(opt, "eps", "epsilon")
    square = (
        f"{label} = {key} x {label} + (1 - {key}) x gradient^2 = {n(rho)} x "
        f"{p(v0)} + {n(1 - rho)} x {p(g)}^2 = {n(v1)}"
    )
    m = float(opt.get("momentum") or 0.0)
    if m:
        return _rmsprop_momentum(row, rate, g, name, square, m, (label, v1), eps)
    inside: Rule = (
        f"{square}; added = -lr x gradient / sqrt({label} + {ke}) = -{lr} x "
        f"{p(g)} / sqrt({n(v1)} + {eps:g})",
        lambda: -rate * g / math.sqrt(v1 + eps),
    )
    outside: Rule = (
        f"{square}; added = -lr x gradient / (sqrt({label}) + {ke}) = -{lr} x "
        f"{p(g)} / (sqrt({n(v1)}) + {eps:g})",
        lambda: -rate * g / (math.sqrt(v1) + eps),
    )
    # eps inside the root: optax's unless told otherwise, and Keras 3's; outside:
    # PyTorch's and Keras 2's legacy one (tf_keras)
    inside_first = name == "keras.rmsprop" or (
        name == "rmsprop" and bool(opt.get("eps_in_sqrt", True))
    )
    return [inside, outside] if inside_first else [outside, inside]


def _adadelta(
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    g: float,
    keras: bool,
) -> list[Rule]:
    """Adadelta's step: a running mean of g^2 (PyTorch's square_avg, Keras's
    accumulated_grad), the gradient scaled by the root of the running mean of
    the squared steps over its root, and that mean updated with the step."""
    n, p, lr = _n, _p, _n(rate)
    v_label, v0, v1 = _state(row, "square_avg", "accumulated_grad")
    a_label, a0, a1 = _state(row, "acc_delta", "accumulated_delta_var")
    _, rho = _hyper(opt, "rho")
    ke, eps = _hyper(opt, "eps", "epsilon")
    square = (
        f"{v_label} = rho x {v_label} + (1 - rho) x gradient^2 = {n(rho)} x "
        f"{p(v0)} + {n(1 - rho)} x {p(g)}^2 = {n(v1)}"
    )
    delta = math.sqrt(a0 + eps) / math.sqrt(v1 + eps) * g
    shown = -delta if keras else delta  # Keras's delta carries the minus sign
    steps = (
        f"{a_label} = rho x {a_label} + (1 - rho) x delta^2 = {n(rho)} x "
        f"{p(a0)} + {n(1 - rho)} x {p(shown)}^2 = {n(a1)}"
    )
    if keras:  # w += lr x delta
        return [
            (
                f"{square}; delta = -sqrt({a_label} + {ke}) x gradient / "
                f"sqrt({v_label} + {ke}) = -sqrt({n(a0)} + {eps:g}) x {p(g)} / "
                f"sqrt({n(v1)} + {eps:g}) = {n(shown)}; {steps}; added = lr x "
                f"delta = {lr} x {p(shown)}",
                lambda: -rate * delta,
            )
        ]
    return [
        (
            f"{square}; delta = sqrt({a_label} + {ke}) / sqrt({v_label} + {ke}) x "
            f"gradient = sqrt({n(a0)} + {eps:g}) / sqrt({n(v1)} + {eps:g}) x "
            f"{p(g)} = {n(delta)}; {steps}; added = -lr x delta = -{lr} x {p(delta)}",
            lambda: -rate * delta,
        )
    ]


def _lion(
    opt: Mapping[str, Any],
    row: Mapping[str, float],
    rate: float,
    g: float,
    dtype: str = "float64",
) -> list[Rule]:
    """Lion's step: the sign of a blend of the momentum and the gradient, then
    the momentum's own average (Keras's order). Keras casts the betas through
    float32 and takes 1 - beta in the weights' ``dtype`` (1 - 0.99 is 0.00999999
    in float32): the factors written are those."""
    n, p, lr = _n, _p, _n(rate)
    label, m0, m1 = _state(row, "momentum")

    def cast(name: str) -> float:
        value = np.float32(_hyper(opt, name)[1])  # ops.cast(self.beta_1, dtype)
        return float(value.astype(np.dtype(dtype)))

    b1, b2 = cast("beta_1"), cast("beta_2")

    def one_minus(b: float) -> float:  # 1.0 - beta, in the weights' dtype
        return float(np.dtype(dtype).type(1.0) - np.dtype(dtype).type(b))

    blend = b1 * m0 + one_minus(b1) * g
    sign = float(np.sign(blend))
    return [
        (
            f"{label} = beta_2 x {label} + (1 - beta_2) x gradient = {n(b2)} x "
            f"{p(m0)} + {n(one_minus(b2))} x {p(g)} = {n(m1)}, after the step, which "
            f"took the {label} before: added = -lr x sign(beta_1 x {label} + (1 - "
            f"beta_1) x gradient) = -{lr} x sign({n(b1)} x {p(m0)} + "
            f"{n(one_minus(b1))} x {p(g)}) = -{lr} x sign({n(blend)}) = -{lr} x "
            f"{p(sign)}",
            lambda: -rate * sign,
        )
    ]


def _radam(
    opt: Mapping[str, Any], row: Mapping[str, float], rate: float, t: int, g: float
) -> list[Rule]:
    """RAdam's step: Adam's moments; the first five or so steps (rho_t <= 5) the
    corrected momentum alone, then Adam's step times the rectification r_t (its
    terms in doubles, as PyTorch's Python floats)."""
    n, p, lr = _n, _p, _n(rate)
    _, m0, m1 = _state(row, "m")
    _, v0, v1 = _state(row, "v")
    _, b1 = _hyper(opt, "beta1")
    _, b2 = _hyper(opt, "beta2")
    _, eps = _hyper(opt, "eps")
    moments = (
        f"m = beta1 x m + (1 - beta1) x gradient = {n(b1)} x {p(m0)} + "
        f"{n(1 - b1)} x {p(g)} = {n(m1)}; v = beta2 x v + (1 - beta2) x "
        f"gradient^2 = {n(b2)} x {p(v0)} + {n(1 - b2)} x {p(g)}^2 = {n(v1)}"
    )
    c1, c2 = 1 - b1**t, 1 - b2**t
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / c2
    at = (
        f"at step t = {t}, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) = "
        f"{n(rho_inf)} - 2 x {t} x {n(b2**t)} / {n(c2)} = {n(rho_t)}"
    )
    if rho_t <= 5:
        return [
            (
                f"{moments}; {at}, not above 5, so the step is the momentum alone: "
                f"added = -lr x m / (1 - beta1^t) = -{lr} x {p(m1)} / {n(c1)}",
                lambda: -rate * m1 / c1,
            )
        ]
    r = math.sqrt(
        (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    )
    return [
        (
            f"{moments}; {at}, so the step is rectified by r_t = sqrt((rho_t - 4)"
            f"(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)) = {n(r)}: "
            f"added = -lr x m / (1 - beta1^t) x sqrt(1 - beta2^t) / (sqrt(v) + eps) "
            f"x r_t = -{lr} x {p(m1)} / {n(c1)} x sqrt({n(c2)}) / (sqrt({n(v1)}) + "
            f"{eps:g}) x {n(r)}",
            lambda: -rate * m1 / c1 * math.sqrt(c2) / (math.sqrt(v1) + eps) * r,
        )
    ]


def _rprop(
    opt: Mapping[str, Any], row: Mapping[str, float], rate: float, t: int, g: float
) -> list[Rule]:
    """Rprop's step: the step size times etaplus where the gradient kept its sign
    (gradient x prev > 0), etaminus where it flipped (and the gradient then taken
    as 0), within its bounds; the weight moves by it against the sign."""
    n = _n
    _, prev, kept = _state(row, "prev")
    _, size0, size1 = _state(row, "step_size")
    if t == 1:  # PyTorch starts the step sizes at the rate
        size0 = rate
    lo, hi = float(opt["step_size_min"]), float(opt["step_size_max"])
    product = g * prev
    if product > 0:
        key, factor = "etaplus", float(opt["etaplus"])
        why = "kept its sign"
    elif product < 0:
        key, factor = "etaminus", float(opt["etaminus"])
        why = "flipped"
    else:
        key, factor, why = "1", 1.0, "has no sign to compare (gradient x prev = 0)"
    size = min(max(size0 * factor, lo), hi)
    moved = 0.0 if product < 0 else g
    start = "the rate" if t == 1 else "step_size"
    sizes = (
        f"the gradient {why}: step_size = clamp({start} x {key}, {lo:g}, {hi:g}) = "
        f"clamp({n(size0)} x {n(factor)}, {lo:g}, {hi:g}) = {n(size1)}"
    )
    if product < 0:
        return [
            (
                f"{sizes}; the gradient is then taken as 0 (prev = 0, no move): "
                "added = -sign(0) x step_size",
                lambda: -float(np.sign(moved)) * size,
            )
        ]
    return [
        (
            f"{sizes}; prev = gradient = {n(kept)}; added = -sign(gradient) x "
            f"step_size = -sign({n(g)}) x {n(size1)}",
            lambda: -float(np.sign(moved)) * size,
        )
    ]
