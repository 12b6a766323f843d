"""Learning-rate diagnosis as data: curvature, the stable rate, predicted steps.

Gradient descent on a quadratic with Hessian H = V diag(lambda) V^T moves the error
e = theta - theta* along each eigenvector by a factor 1 - lr * lambda_i per step. So it
is stable only while lr < 2 / L (L the largest eigenvalue), the slowest direction is
the eigenvector of the smallest eigenvalue mu, the condition number L / mu says how
unequal the directions are, and the steps to shrink a component c_i to ``tol`` are
log(tol / |c_i|) / log|1 - lr * lambda_i|. Heavy-ball momentum m is stable while
lr < 2 (1 + m) / L, Nesterov's while lr < 2 (1 + m) / ((1 + 2m) L). Adaptive
methods (RMSprop, Adam, Adagrad) divide each step by a running RMS of the
gradient, so no such limit applies; their steps have a length of about lr per
parameter.

The Hessian is that of the loss over all the data with the run's reduction, at the
start and at the optimum. With ``sum`` and mini-batches, a step sees batch_size / n of
that curvature.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from gradtrace.core import compiler
from gradtrace.core.bijections import to_constrained
from gradtrace.core.catalog import Model
from gradtrace.core.flat import layout as layout_of
from gradtrace.core.flat import unflat
from gradtrace.core.losses import LossLike, reduce, row_losses
from gradtrace.core.rowsums import Chunks, Values, reduce_rows, take, total

#: Presets by how their step depends on curvature.
FAMILIES = {
    "sgd": "gd",
    "keras.sgd": "gd",
    "torch.sgd": "gd",
    "momentum": "momentum",
    "nesterov": "momentum",
    "rmsprop": "adaptive",
    "adam": "adaptive",
    "adagrad": "adaptive",
    "keras.rmsprop": "adaptive",
    "keras.adam": "adaptive",
    "tf_keras.rmsprop": "adaptive",
    "tf_keras.adam": "adaptive",
    "torch.rmsprop": "adaptive",
    "torch.adam": "adaptive",
    "adamw": "adaptive",
    "keras.adamw": "adaptive",
    "torch.adamw": "adaptive",
    "torch.adagrad": "adaptive",
    "keras.adagrad": "adaptive",
    "keras.adamax": "adaptive",
    "keras.nadam": "adaptive",
    "torch.adamax": "adaptive",
    "torch.nadam": "adaptive",
    "keras.adadelta": "adadelta",
    "torch.adadelta": "adadelta",
    "torch.radam": "adaptive",
    "keras.lion": "adaptive",
    "torch.rprop": "rprop",
}
#: Families whose steps the curvature does not set (no stable limit): those that
#: divide by a running RMS of the gradient, their steps about the rate in size,
#: and Adadelta, whose steps are the rate times a running RMS of its own past
#: steps over the gradient's (about rate x sqrt(eps) at the start), and Rprop,
#: whose steps are each weight's own step size, grown or shrunk by the gradient's
#: signs.
UNLIMITED = ("adaptive", "adadelta", "rprop")
#: Presets that read the learning rate at their first step only (Rprop's first
#: step sizes), as their framework does: a schedule's later rates, a range test's
#: growing one, change nothing.
READS_RATE_ONCE = frozenset({"torch.rprop"})
#: A rate this many times below the stable limit crawls.
CRAWL_FACTOR = 100.0


@dataclass(frozen=True)
class Diagnosis:
    """What the curvature says about a learning rate (all numbers, no prose).

    names: the flat parameter names (``w[0]``, ``b``, ...). eig_start, eig_optimum:
    Hessian eigenvalues, ascending. slow_direction: the unit eigenvector of the
    smallest eigenvalue at the optimum, its largest component positive. stable_lr:
    the largest stable rate per step (nan for adaptive methods): for mini-batch
    gradient descent, the batches' limit where it is below full_batch_lr, the
    full data's 2 / L. verdict:
    ``diverges``, ``crawls``, ``ok`` or ``adaptive``. predicted_steps: steps until
    every parameter is within ``tol`` of the optimum (gradient descent; None if it
    never gets there).
    """

    learning_rate: float
    family: str
    momentum: float
    names: tuple[str, ...]
    eig_start: np.ndarray
    eig_optimum: np.ndarray
    slow_direction: np.ndarray
    stable_lr: float
    full_batch_lr: float
    condition: float
    suggested_lr: float
    verdict: str
    predicted_steps: int | None
    slow_contraction: float
    start_distance: float
    tol: float
    curvature_scale: float
    #: momentum taken Nesterov's way (the gradient at the look-ahead point)
    nesterov: bool = False
    #: full-batch gradient descent's fastest rate, 2 / (smallest + largest
    #: eigenvalue) rounded down: every direction shrinks alike, by (L - mu) / (L +
    #: mu), the least any rate gets of the slowest (nan where it does not apply:
    #: momentum, adaptive, a mini-batch limit below 2 / L, a flat direction)
    fastest_lr: float = math.nan
    #: steps to ``tol`` at ``fastest_lr``
    fastest_steps: int | None = None
    #: the optimizer's weight decay (gradient descent's, with or without
    #: momentum), added to every eigenvalue: a step sees H + weight_decay I
    weight_decay: float = 0.0
    #: the parameter that starts start_distance away
    farthest: str = ""


def hessian(
    model: Model,
    loss: LossLike,
    reduction: str,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    space: tuple[tuple[str, str], ...] = (),
) -> tuple[np.ndarray, list[str]]:
    """The Hessian of the reduced loss over all rows, in float64, and flat names.

    With ``space``, ``params`` hold log/logit values of those parameters and the
    Hessian is over them. Compiled once per model, loss and shapes (an eager
    Hessian costs a second); the rows are taken a block at a time in float64
    (``rowsums``), so ``x`` and ``y`` are not copied. ``y`` may be
    ``rowsums.Chunks`` (x None): one pass over them."""
    (h,), names = hessians(model, loss, reduction, [params], fixed, x, y, space)
    return h, names


def hessians(
    model: Model,
    loss: LossLike,
    reduction: str,
    points: list[dict[str, np.ndarray]],
    fixed: dict[str, np.ndarray],
    x: Any,
    y: Any,
    space: tuple[tuple[str, str], ...] = (),
) -> tuple[list[np.ndarray], list[str]]:
    """``hessian`` at each of ``points`` (parameters of the same shapes), in one
    pass over the rows (for ``Chunks``, one reading of the file)."""
    layout = layout_of(points[0])
    # NumPy until the compiled call: each JAX operation run on its own compiles
    # every point's values in the first one's order (names may come in another)
    flats = [
        np.concatenate([np.ravel(np.asarray(p[k], np.float64)) for k, _ in layout])
        for p in points
    ]
    f64 = {k: np.asarray(v, np.float64) for k, v in fixed.items()}
    # the Hessian of the summed loss, over the rows for a mean: one program for
    # both (the standard errors take the sum's, the diagnosis the run's loss's)
    found = total(
        lambda xb, yb, how: [
            _hessian(model, loss, how, layout, tuple(space), flat, f64, xb, yb)
            for flat in flats
        ],
        x,
        y,
        "sum",
    )
    if reduction == "mean":
        rows = y.n_rows if isinstance(y, Chunks) else len(y)
        found = [np.asarray(h, np.float64) / rows for h in found]
    names = []
    for k, shape in layout:
        names += [k] if shape == () else [f"{k}[{i}]" for i in range(shape[0])]
    return [np.asarray(h, np.float64) for h in found], names


def _reduced(
    model: Model,
    loss: LossLike,
    layout: Any,
    space: Any,
    fixed: Any,
    xb: Any,
    yb: Any,
    mask: Any,
    how: str,
) -> Any:
    """The loss of rows (xb, yb), reduced by ``how``, as a function of the flat
    parameter vector (log/logit values of the parameters ``space`` names)."""
    c = dict(space)

    def f(v: Any) -> Any:
        raw = unflat(layout, v)
        shown = {k: to_constrained(u, c.get(k, "real")) for k, u in raw.items()}
        return reduce(row_losses(model, loss, {**shown, **fixed}, xb, yb), mask, how)

    return f


@functools.partial(compiler.jit, static_argnums=(0, 1, 2, 3, 4))
def _hessian(
    model: Model,
    loss: LossLike,
    reduction: str,
    layout: Any,
    space: Any,
    flat: Any,
    fixed: Any,
    x: Any,
    y: Any,
) -> Any:
    def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
        f = _reduced(model, loss, layout, space, fixed, xb, yb, mask, how)
        return jax.hessian(f)(flat)

    return reduce_rows(block, x, y, reduction)


#: Batches whose curvature is sampled for the mini-batch limit (``batch_limit``).
SAMPLED_BATCHES = 64


def batch_rows(n_rows: int, batch_size: int, k: int = SAMPLED_BATCHES) -> np.ndarray:
    """Rows of up to ``k`` whole batches of a run in order, as its steps see
    them, spread evenly over the data: int [k, batch_size] (a shuffled run's
    batches are drawn afresh each epoch: ``sampled_rows``)."""
    whole = n_rows // batch_size
    k = min(k, whole)
    first = np.linspace(0, whole - 1, k).round().astype(np.int64) * batch_size
    return first[:, None] + np.arange(batch_size)


#: Rows whose curvatures give a shuffled run's mini-batch limit (``batch_limit``).
SAMPLED_ROWS = 4096


def sampled_rows(n_rows: int, k: int = SAMPLED_ROWS) -> np.ndarray:
    """Rows whose curvatures stand for all of them, int [k, 1]: every row where
    there are ``k`` or fewer, else ``k`` of them at random, the same each time."""
    if n_rows <= k:
        return np.arange(n_rows)[:, None]
    return np.sort(np.random.default_rng(0).choice(n_rows, k, replace=False))[:, None]


def batch_limit(
    model: Model,
    loss: LossLike,
    reduction: str,
    point: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    x: np.ndarray | None,
    y: Values,
    rows: np.ndarray,
    space: tuple[tuple[str, str], ...] = (),
    full: np.ndarray | None = None,
    drawn: int = 0,
    weight_decay: float = 0.0,
) -> float:
    """The largest rate at which a gradient-descent step on one of the batches
    ``rows`` shrinks the error near ``point`` (the optimum) on average over them.

    A step multiplies the error e by I - lr H_B, H_B its batch's Hessian; the
    squared error's mean over batches shrinks for every e while lr < 2 / lambda,
    lambda the largest eigenvalue of H^-1 S (H the batches' mean Hessian, S the
    mean of H_B^2). All batches alike (S = H^2): 2 / L, the full-batch limit; the
    more the batches' curvatures differ, the lower it is. It bounds a single step,
    so it is on the safe side: over many steps the error of single rows of a line
    with x in [0, 1) still shrinks up to about 0.71, where this gives about 0.6
    (and 2 / L 0.78). ``full``: the full data's Hessian as a step sees it, for H
    where the sampled batches' mean is singular (fewer rows than parameters).

    ``drawn``: a shuffled run's batch size, its batches ``drawn`` rows at random;
    ``rows`` are then single rows (``sampled_rows``), and H and S are the
    expectations over every batch of that many of the data's rows, from the rows'
    mean curvature h and the mean of its squares m: for a batch's sum of row
    curvatures, E = B h and E[(sum)^2] = B m + B (B - 1) (n h^2 - m) / (n - 1)
    (pairs of distinct rows), scaled by 1/B for a mean. A shuffled run's batches
    differ each epoch, so a few of one epoch's were a poor sample: 4 batches of 8
    rows gave 0.089 where the expectation is 0.104. ``weight_decay``: added to
    each batch's Hessian (and to ``full``), as a step with weight decay sees it.
    In float64; NaN where H is not positive definite."""
    layout = tuple((k, tuple(np.shape(v))) for k, v in point.items())
    flat = np.concatenate(
        [np.ravel(np.asarray(point[k], np.float64)) for k, _ in layout]
    )
    f64 = {k: np.asarray(v, np.float64) for k, v in fixed.items()}
    xs, ys = take(x, y, rows)
    with jax.enable_x64(True):
        h = np.asarray(
            _batch_hessians(
                model, loss, reduction, layout, tuple(space), flat, f64, xs, ys
            )
        )
    mean = h.mean(axis=0)
    spread = np.einsum("kij,kjl->il", h, h) / len(h)
    if drawn:  # the expectations over batches of ``drawn`` random rows
        n, b = len(y), drawn
        pairs = (n * mean @ mean - spread) / (n - 1) if n > 1 else mean @ mean
        scale = 1.0 / b if reduction == "mean" else 1.0
        spread = scale**2 * (b * spread + b * (b - 1) * pairs)
        mean = scale * b * mean
    if weight_decay:  # each batch's H_B + wd I: its mean and its square's mean
        eye = np.eye(len(mean))
        spread = spread + 2 * weight_decay * mean + weight_decay**2 * eye
        mean = mean + weight_decay * eye
        full = None if full is None else full + weight_decay * eye
    try:
        low = np.linalg.cholesky(mean)
    except np.linalg.LinAlgError:
        if full is None:
            return math.nan
        try:
            low = np.linalg.cholesky(full)
        except np.linalg.LinAlgError:
            return math.nan
    inv = np.linalg.inv(low)
    top = float(np.linalg.eigvalsh(inv @ spread @ inv.T)[-1])
    return 2.0 / top if top > 0 else math.nan


@functools.partial(compiler.jit, static_argnums=(0, 1, 2, 3, 4))
def _batch_hessians(
    model: Model,
    loss: LossLike,
    reduction: str,
    layout: Any,
    space: Any,
    flat: Any,
    fixed: Any,
    xs: Any,
    ys: Any,
) -> Any:
    def one(xb: Any, yb: Any) -> Any:
        f = _reduced(model, loss, layout, space, fixed, xb, yb, None, reduction)
        return jax.hessian(f)(flat)

    if xs is None:
        return jax.vmap(lambda yb: one(None, yb))(ys)
    return jax.vmap(one)(xs, ys)


def diagnose(
    family: str,
    learning_rate: float,
    momentum: float,
    h_start: np.ndarray,
    h_opt: np.ndarray,
    names: list[str],
    start: np.ndarray,
    optimum: np.ndarray,
    curvature_scale: float = 1.0,
    tol: float = 1e-4,
    batch_lr: float = math.nan,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Diagnosis:
    """Diagnose ``learning_rate`` from the Hessians at the start and the optimum.

    ``start`` and ``optimum`` are flat parameter vectors in ``names`` order;
    ``curvature_scale`` is the share of the curvature one step sees; ``batch_lr``
    the mini-batch steps' limit (``batch_limit``), which replaces gradient
    descent's 2 / L where it is lower; ``nesterov``: momentum taken Nesterov's
    way (family ``momentum``); ``weight_decay``: gradient descent's (PyTorch's
    added to the gradient, Keras's taken off the parameters, alike for a plain
    step), which adds to every curvature a step sees, and holds the run short of
    the optimum (no step count to it is predicted).
    """
    shift = weight_decay * np.eye(len(np.atleast_2d(h_opt)))
    eig_s = np.linalg.eigvalsh(h_start * curvature_scale + shift)
    lam, vec = np.linalg.eigh(h_opt * curvature_scale + shift)
    big, small = float(lam[-1]), float(lam[0])
    e0 = np.asarray(start, np.float64) - np.asarray(optimum, np.float64)
    condition = big / small if small > 0 else math.inf
    if family in UNLIMITED or big <= 0:
        stable = math.nan
    elif family == "momentum":
        stable = 2.0 * (1.0 + momentum) / big
        if nesterov:
            stable /= 1.0 + 2.0 * momentum
    else:
        stable = 2.0 / big
    full = stable
    suggested = _round(1.0 / big) if big > 0 else math.nan
    if family == "gd" and batch_lr < stable:
        stable, suggested = batch_lr, _round(batch_lr / 2)
    if family == "momentum" and big > 0:
        # Nesterov's fastest for the steepest direction lands there in one step
        suggested = _round(1.0 / big if nesterov else (1.0 - momentum) / big * 2.0)
    if family in UNLIMITED:  # its steps' size is not the curvature's
        suggested = math.nan
    rates = np.abs(1.0 - learning_rate * lam)
    band = None
    if family == "momentum":
        rates = (nesterov_rates if nesterov else heavy_ball_rates)(
            learning_rate, momentum, lam
        )
        band = momentum_band(momentum, small, big, nesterov)
    predicted: int | None = None
    if family in UNLIMITED:
        verdict = "adaptive"
    elif math.isfinite(stable) and learning_rate >= stable:
        verdict = "diverges"
    else:
        # a rate in momentum's band shrinks each direction by sqrt(m) or less
        banded = band is not None and band[0] <= learning_rate <= band[1]
        crawls = learning_rate * CRAWL_FACTOR < stable and not banded
        verdict = "crawls" if crawls else "ok"
        if family == "gd" and not weight_decay:
            predicted = _steps_to(vec.T @ e0, rates, tol)
    fastest, fastest_steps = math.nan, None
    if family == "gd" and stable == full and small > 0:
        fastest = _round(2.0 / (small + big))
        if not weight_decay:
            fastest_steps = _steps_to(vec.T @ e0, np.abs(1.0 - fastest * lam), tol)
    return Diagnosis(
        learning_rate=learning_rate,
        family=family,
        momentum=momentum,
        names=tuple(names),
        eig_start=eig_s,
        eig_optimum=lam,
        # an eigenvector's sign is arbitrary: its largest component positive
        slow_direction=vec[:, 0] * np.sign(vec[np.argmax(np.abs(vec[:, 0])), 0]),
        stable_lr=stable,
        full_batch_lr=full,
        condition=condition,
        suggested_lr=suggested,
        verdict=verdict,
        predicted_steps=predicted,
        slow_contraction=float(rates[0]),
        start_distance=float(np.max(np.abs(e0))),
        farthest=names[int(np.argmax(np.abs(e0)))] if len(names) else "",
        tol=tol,
        curvature_scale=curvature_scale,
        nesterov=nesterov,
        fastest_lr=fastest,
        fastest_steps=fastest_steps,
        weight_decay=weight_decay,
    )


def momentum_band(
    momentum: float, small: float, large: float, nesterov: bool = False
) -> tuple[float, float] | None:
    """The rates at which momentum m shrinks a quadratic's error by sqrt(m) per
    step or less in every direction, ``small`` and ``large`` its smallest and
    largest curvature; None where there are none. The heavy ball's, from
    (1 - sqrt(m))^2 / small to (1 + sqrt(m))^2 / large, shrink it by sqrt(m)
    exactly (its recurrence's roots are complex, of modulus sqrt(m)); Nesterov's,
    from ((1 - m) / (1 + m))^2 / small to 1 / large, by sqrt(m (1 - lr
    lambda)), faster at higher rates.

    Examples:
        >>> [round(v, 6) for v in momentum_band(0.81, 1.0, 1.0)]
        [0.01, 3.61]
        >>> [round(v, 6) for v in momentum_band(0.9, 1.0, 2.0, nesterov=True)]
        [0.00277, 0.5]
    """
    if not 0 < momentum < 1 or not 0 < small <= large:
        return None
    if nesterov:
        low, high = ((1 - momentum) / (1 + momentum)) ** 2 / small, 1 / large
    else:
        root = math.sqrt(momentum)
        low, high = (1 - root) ** 2 / small, (1 + root) ** 2 / large
    return (low, high) if low < high else None


def nesterov_rates(lr: float, momentum: float, lam: np.ndarray) -> np.ndarray:
    """The factor by which Nesterov's momentum shrinks the error along each
    eigen-direction of curvature ``lam``: the spectral radius of its recurrence,
    the larger root of z^2 - (1 + m)(1 - lr*lam) z + m (1 - lr*lam) = 0 (PyTorch's
    buffer b = m b + g, step g + m b; Keras's and optax's forms are the same
    map). It reaches 1 at lr*lam = 2 (1 + m) / (1 + 2m).

    Examples:
        >>> nesterov_rates(0.1, 0.0, np.array([1.0])).round(6).tolist()
        [0.9]
        >>> nesterov_rates(1.0, 0.9, np.array([1.0])).round(6).tolist()
        [0.0]
    """
    a = 1.0 - lr * np.asarray(lam, np.float64)
    b, c = (1.0 + momentum) * a, momentum * a
    disc = b.astype(complex) ** 2 - 4.0 * c
    roots = np.stack([(b + np.sqrt(disc)) / 2.0, (b - np.sqrt(disc)) / 2.0])
    return np.max(np.abs(roots), axis=0)


def heavy_ball_rates(lr: float, momentum: float, lam: np.ndarray) -> np.ndarray:
    """The factor by which gradient descent with momentum shrinks the error along
    each eigen-direction of curvature ``lam``: the spectral radius of its two-step
    recurrence, the larger root of z^2 - (1 + m - lr*lam) z + m = 0 (Polyak's heavy
    ball, which optax's, Keras's and PyTorch's momentum SGD all follow; Nesterov's
    is ``nesterov_rates``).

    Examples:
        >>> heavy_ball_rates(0.1, 0.0, np.array([1.0])).round(6).tolist()
        [0.9]
        >>> round(float(heavy_ball_rates(1.0, 0.81, np.array([(1 + 0.9) ** 2]))[0]), 6)
        0.9
    """
    b = 1.0 + momentum - lr * np.asarray(lam, np.float64)
    disc = b.astype(complex) ** 2 - 4.0 * momentum
    roots = np.stack([(b + np.sqrt(disc)) / 2.0, (b - np.sqrt(disc)) / 2.0])
    return np.max(np.abs(roots), axis=0)


def _steps_to(components: np.ndarray, rates: np.ndarray, tol: float) -> int | None:
    steps = 0
    for c, r in zip(np.abs(components), rates, strict=True):
        if c <= tol:
            continue
        if r >= 1.0:
            return None
        if r == 0.0:
            steps = max(steps, 1)
            continue
        steps = max(steps, math.ceil(math.log(tol / c) / math.log(r)))
    return steps


def _round(value: float) -> float:
    """Two significant digits, rounded down (a safe side of a limit, at most 10%
    below it; one digit took half of 1.99 to 1)."""
    if not math.isfinite(value) or value <= 0:
        return value
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    # a value a rounding below 0.0001 (2/L halved in floats) is 0.0001, not 9.9e-05
    return round(
        math.floor(value / unit * (1 + 1e-9)) * unit, 12 - int(math.log10(unit))
    )
