"""A diagnosis in words: the sentences that ``show``, ``diagnose`` and run summaries
print, made from the numbers of ``core.diagnose``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradtrace.core.diagnose import (
    READS_RATE_ONCE,
    UNLIMITED,
    Diagnosis,
    momentum_band,
)
from gradtrace.core.robust import chi2_sf
from gradtrace.estimates import EXACT_FIT, optimum_size
from gradtrace.text import RPROP_SWEEP, listed


def g(value: float | None, digits: int = 3) -> str:
    """A number with a few significant digits, without exponents where it reads
    better without them (0.0002, 10000, 917)."""
    if value is None:
        return "none"
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-4 <= abs(value) < 1e7:
        return np.format_float_positional(
            value, precision=digits, unique=True, fractional=False, trim="-"
        )
    return f"{value:.{digits}g}"


def apart(a: float, b: float, digits: int = 3) -> tuple[str, str]:
    """``a`` and ``b`` as ``g`` writes them, with as many more digits (up to 8) as
    it takes to tell them apart: "0.029082" and "0.02909", not "0.0291" twice."""
    while g(a, digits) == g(b, digits) and digits < 8:
        digits += 1
    return g(a, digits), g(b, digits)


def direction(d: Diagnosis) -> str:
    """The slow direction as a combination of named parameters."""
    v = d.slow_direction  # its largest component positive
    terms = [
        f"{abs(c):.2f}*{n}" for c, n in zip(v, d.names, strict=True) if abs(c) >= 0.01
    ]
    signs = ["-" if c < 0 else "+" for c in v if abs(c) >= 0.01]
    text = ("-" if signs[0] == "-" else "") + terms[0]
    for s, t in zip(signs[1:], terms[1:], strict=True):
        text += f" {s} {t}"
    return text


#: A condition number beyond which the diagnosis offers to standardise x.
ILL_CONDITIONED = 1000.0


def _scale_condition(mean: float, sd: float) -> float:
    """The condition number a line's squared error owes to x's mean and spread:
    that of its Hessian's [[mean^2 + sd^2, mean], [mean, 1]]."""
    values = np.linalg.eigvalsh(np.array([[mean**2 + sd**2, mean], [mean, 1.0]]))
    return float(values[-1] / values[0]) if values[0] > 0 else math.inf


def standardised_hessian_condition(
    hessian: np.ndarray, names: list[str], mean: np.ndarray, cov: np.ndarray
) -> float | None:
    """The condition number ``hessian`` (over the flat ``names``: w[0], ..., b)
    has with its slopes' x columns standardised: the same loss over w'_j = w_j
    sd_j and b' = b + sum_j w_j mean_j, whose Hessian is J^T H J for the linear
    map J back to (w, b). Exact at the optimum whatever the loss (a logistic
    regression's weights move it off ``standardised_condition``'s); None where the
    names are not one slope per column and an intercept."""
    k = len(mean)
    slopes = [f"w[{j}]" for j in range(k)]
    if "b" not in names or not set(slopes) <= set(names):
        return None
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if not np.all(sd > 0):
        return None
    jac = np.eye(len(names))
    at_b = names.index("b")
    for j, name in enumerate(slopes):
        i = names.index(name)
        jac[i, i] = 1.0 / sd[j]
        jac[at_b, i] = -mean[j] / sd[j]
    values = np.linalg.eigvalsh(jac.T @ hessian @ jac)
    return float(values[-1] / values[0]) if values[0] > 0 else None


def standardised_condition(mean: np.ndarray, cov: np.ndarray) -> float:
    """The condition number of a linear predictor's squared error with its x
    columns standardised (each centred and of sd 1): that of the matrix of their
    correlations beside the intercept's 1."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if not np.all(sd > 0):
        return math.inf
    values = np.append(np.linalg.eigvalsh(cov / np.outer(sd, sd)), 1.0)
    return float(values.max() / values.min()) if values.min() > 0 else math.inf


#: Within how many of its rates of the optimum an adaptive optimizer's
#: parameter is said to hover there (its steps are about the rate in size)
HOVER = 10.0

#: How many times the optimum's largest curvature the start's may be before the
#: diagnosis says no one rate suits both (a normal's (0, 1) start for heights
#: near 170: 3.6 million)
STEEP_START = 1000.0


def _momentum_band(d: Diagnosis) -> tuple[float, float] | None:
    """The rates at which the run's momentum shrinks the error of a quadratic
    by sqrt(m) per step or less in every direction (``momentum_band``), at the
    optimum's curvature; None where there are none (a condition number above
    ((1 + sqrt(m)) / (1 - sqrt(m)))^2 for the heavy ball)."""
    if d.family != "momentum":
        return None
    small, large = float(d.eig_optimum[0]), float(d.eig_optimum[-1])
    return momentum_band(d.momentum, small, large, d.nesterov)


def findings(
    d: Diagnosis,
    optimizer: str,
    x_mean: float | None = None,
    x_sd: float | None = None,
    batch_note: str | None = None,
    rescale: str | None = None,
    clip: str | None = None,
    bounded: bool = False,
    x_columns: tuple[np.ndarray, np.ndarray] | None = None,
    near: str | None = None,
    scaled_condition: float | None = None,
) -> list[str]:
    """Sentences on curvature, stability, speed and what to change. ``rescale``:
    the options that would standardise x (for a model where they exist), offered
    where x's scale makes the condition number large (of several x columns,
    ``x_columns``: their means and covariance). ``clip``: the run's gradient
    clipping, which bounds the steps of a rate above the limit. ``bounded``: the
    steps move a parameter that must stay in a range (positive, or in (0, 1)) as
    it is, not as its log or logit. ``near``: a start near the optimum, as
    --init flags, offered first where the start curves far more than the
    optimum (``STEEP_START``). ``scaled_condition``: the condition number
    standardised x columns would have at the optimum
    (``standardised_hessian_condition``), in place of their correlations'."""
    if np.allclose(d.eig_start, d.eig_optimum, rtol=1e-9):
        where = (
            f"{g(d.eig_optimum[0])} to {g(d.eig_optimum[-1])} everywhere (a "
            "quadratic loss)"
        )
    else:
        where = (
            f"{g(d.eig_start[0])} to {g(d.eig_start[-1])} at the start, "
            f"{g(d.eig_optimum[0])} to {g(d.eig_optimum[-1])} at the optimum"
        )
    decayed = ""
    if d.weight_decay:  # in every eigenvalue: the steps see H + weight_decay I
        decayed = (
            f", the loss's plus weight decay's {g(d.weight_decay)} (what a step sees)"
        )
    lines = [
        f"Curvature: Hessian eigenvalues {where}{decayed}; condition number "
        f"{g(d.condition)}."
    ]

    if batch_note:
        lines.append(batch_note)
    verdict_at = len(lines)  # where a start far steeper than the optimum goes
    lr = d.learning_rate
    # gradient descent's limit, which the families below say does not apply
    limit = 2.0 / d.eig_optimum[-1] if d.eig_optimum[-1] > 0 else math.nan
    if d.family == "adaptive":
        steps = d.start_distance / lr
        # fewer than 10: whole steps, at least 1 (not "at least 0.4 steps")
        steps = max(1, math.ceil(steps)) if steps < 10 else steps
        how = (
            "takes the sign of a blend of its momentum and the gradient, so each "
            "parameter moves by exactly"
            if optimizer.endswith("lion")
            else "divides each step by a running RMS of the gradient, so each "
            "parameter moves by about"
        )
        if optimizer == "torch.radam":  # its first steps are momentum alone
            how = (
                "takes its first steps (about 5 at beta2 = 0.999, while its "
                "variance estimate rho_t is 5 or less) as momentum alone, lr x the "
                "averaged gradient, as large as the gradient makes them; from then "
                "on it divides each step by a running RMS of the gradient, so each "
                "parameter moves by about"
            )
        lines.append(
            f"{optimizer} {how} lr = {g(lr)} per step whatever the curvature: "
            f"the 2/L limit of plain gradient descent ({g(limit)}) does not apply. "
            f"The start is {g(d.start_distance)} from the optimum, so expect at least "
            f"{g(steps, 2)} step{'s' * (steps != 1)}, then steps of about lr around "
            "the optimum unless the rate is lowered."
        )
        return lines
    if d.family == "rprop":
        lines.append(
            f"{optimizer} moves each parameter by a step size of its own, lr = "
            f"{g(lr)} at the first step, then grown while its gradient keeps its "
            "sign and shrunk when it flips, whatever the curvature: the 2/L limit "
            f"of plain gradient descent ({g(limit)}) does not apply. It reads only "
            "the gradients' signs, so it suits full-batch steps (a mini-batch's "
            "sign flickers with its rows)."
        )
        return lines
    if d.family == "adadelta":
        lines.append(
            f"{optimizer} multiplies each gradient by lr = {g(lr)} times the ratio of "
            "two running RMS values, of its own past steps and of the gradient, so "
            "its steps start at about lr x sqrt(eps) and grow as the parameters "
            f"move, whatever the curvature: the 2/L limit of plain gradient descent "
            f"({g(limit)}) does not apply, and a larger lr speeds every step alike."
        )
        return lines
    what = (
        "plain gradient descent"
        if d.family == "gd"
        else (
            f"gradient descent with Nesterov momentum {g(d.momentum)} (limit "
            "2(1+m)/((1+2m)L))"
            if d.nesterov
            else f"gradient descent with momentum {g(d.momentum)} (limit 2(1+m)/L)"
        )
    )
    ratio = d.stable_lr / lr
    # the mini-batch steps' limit (``diagnose.batch_limit``), where it binds
    batched = d.family == "gd" and d.stable_lr < d.full_batch_lr
    if batched:
        what = "plain gradient descent on these batches"
    # 1 / L, half the limit rounded down: a step along the steepest direction then
    # lands on the optimum's value there (its factor 1 - lr L is 0)
    why = ""
    if d.family == "gd":
        half = d.stable_lr / 2
        exact = math.isclose(d.suggested_lr, half, rel_tol=1e-9)
        why = " (half the limit)" if exact else " (half the limit, rounded down)"
    band = _momentum_band(d)
    if band is not None and band[0] <= d.suggested_lr <= band[1]:
        # the band's own line is printed by diagnose and show, not always by fit
        where = "the top of" if d.nesterov else "low in"
        shrink = "or less " if d.nesterov else ""
        why = (
            f" ({where} the band of rates, {g(band[0])} to {g(band[1])}, where "
            f"every direction shrinks by sqrt(m) {shrink}a step)"
        )
    # a start that curves far more than the optimum: the rate suits the optimum
    curves = float(d.eig_optimum[-1])
    if curves > 0 and float(d.eig_start[-1]) / curves > STEEP_START:
        why += ", from a start nearer the optimum"
    if d.verdict == "diverges":
        quadratic = d.eig_start[-1] == d.eig_optimum[-1]
        fate = (
            "its steps may throw the parameters far from the optimum, or diverge"
            if batched
            else "it will diverge"
            if quadratic
            else "it cannot settle there: it will oscillate or diverge"
        )
        if clip is not None:
            fate = "unclipped, " + fate.replace("will", "would")
        lines.append(
            f"lr {g(lr)} is above the stable limit of {what} at the optimum, "
            f"{g(d.stable_lr)}: {fate}. Try lr {g(d.suggested_lr)}{why}."
        )
        if clip is not None:  # clipped steps are bounded: they hover, not blow up
            lines.append(
                f"Clipping ({clip}) bounds each step, so the run need not blow up "
                "at this rate; but its steps no longer shrink the error near the "
                "optimum, and it hovers around it instead."
            )
    elif d.verdict == "crawls":
        lines.append(
            f"lr {g(lr)} is {g(ratio, 2)} times below the stable limit of {what}, "
            f"{g(d.stable_lr)}: it will crawl (the slowest direction shrinks by a "
            f"factor {_factor(d.slow_contraction)} per step). Try lr "
            f"{g(d.suggested_lr)}{why}."
        )
    else:
        lines.append(
            f"lr {g(lr)} is within the stable limit of {what}, {g(d.stable_lr)} "
            f"({g(ratio, 3)} times lr); the slowest direction shrinks by a factor "
            f"{_factor(d.slow_contraction)} per step."
        )
    # the limit holds at the optimum; where the start curves more, it is lower there
    steepest = float(d.eig_start[-1])
    overshoot = False
    if steepest > d.eig_optimum[-1] > 0:
        start_limit = d.stable_lr * float(d.eig_optimum[-1]) / steepest
        # a rate above the optimum's limit is told so already: the rate
        # suggested in its place may be above the start's (a normal's loc 0,
        # scale 1 start for a scale near 1.9: 0.09 against 3.5)
        diverges = d.verdict == "diverges"
        above = [f"lr {g(lr)}"] * (lr > start_limit and not diverges)
        if d.verdict in ("crawls", "diverges") and d.suggested_lr > start_limit:
            above.append(f"the suggested rate {g(d.suggested_lr)}")
        if above:
            line = (
                f"At the start the curvature is larger ({g(steepest)}): "
                f"{' and '.join(above)} {'are' if len(above) > 1 else 'is'} above "
                f"the limit there, {g(start_limit)}, so the first steps overshoot "
                "until the parameters reach flatter ground"
                + (
                    " (a parameter that must stay in its range may be thrown out "
                    "of it: --param-space unconstrained avoids it)."
                    if bounded
                    else "."
                )
            )
            times = steepest / float(d.eig_optimum[-1])
            if times > STEEP_START:  # no one rate suits the start and the optimum
                start = near or "--init NAME=VALUE"
                line += (
                    f" The start curves {g(times, 2)} times as much as the "
                    f"optimum, so no one rate suits both: start nearer the optimum "
                    f"({start}), or let an adaptive optimizer size the steps "
                    "(--optimizer adam)."
                )
                lines.insert(verdict_at, line)  # said first: the rate is second
            else:
                lines.append(line)
            overshoot = lr > start_limit and not diverges
    if (
        rescale
        and math.isfinite(d.condition)
        and d.condition > ILL_CONDITIONED
        and x_mean is not None
        and x_sd is not None
        and _scale_condition(x_mean, x_sd) > ILL_CONDITIONED
    ):
        lines.append(
            f"The condition number {g(d.condition)} comes from x's scale (mean "
            f"{g(x_mean)}, sd {g(x_sd)}): even at the best stable rate, gradient "
            f"descent takes about {g(d.condition / 2, 2)} steps to shrink the error "
            "along the slow direction by a factor e. Standardising x brings it near "
            f"1: {rescale} (the summary also gives the fit in x's own units)."
        )
    elif (
        rescale is None
        and math.isfinite(d.condition)
        and d.condition > ILL_CONDITIONED
        and x_mean is not None
        and x_sd is not None
        and x_sd > 0
        and _scale_condition(x_mean, x_sd) > ILL_CONDITIONED
    ):
        # a model of one's own has no --standardize: the same change, by hand
        lines.append(
            f"The condition number {g(d.condition)} may come from x's scale (mean "
            f"{g(x_mean, 4)}, sd {g(x_sd)}), as a line's does: even at the best stable "
            f"rate, gradient descent takes about {g(d.condition / 2, 2)} steps to "
            "shrink the error along the slow direction by a factor e. Written in "
            f"x centred and scaled, (x - {g(x_mean, 4)}) / {g(x_sd, 3)} in place of "
            "x, the model usually comes near 1 (its parameters then per standard "
            "deviation of x about its mean)."
        )
    scaled = None  # the condition number standardised x columns would have
    if (
        rescale
        and x_columns is not None
        and math.isfinite(d.condition)
        and d.condition > ILL_CONDITIONED
    ):
        scaled = scaled_condition or standardised_condition(*x_columns)
        if not scaled < d.condition / 100:
            scaled = None
    if scaled is not None and x_columns is not None:
        means, sds = x_columns[0], np.sqrt(np.diag(x_columns[1]))
        lines.append(
            f"The condition number {g(d.condition)} comes from the x columns' "
            f"scales (sd {g(float(sds.min()))} to {g(float(sds.max()))}, means up "
            f"to {g(float(np.abs(means).max()))} from 0): even at the best stable "
            f"rate, gradient descent takes about {g(d.condition / 2, 2)} steps to "
            "shrink the error along the slow direction by a factor e. "
            f"Standardising them brings it to {g(scaled, 3)}: {rescale} (the "
            "summary also gives the fit in x's own units)."
        )
    if d.family == "momentum" and band is not None and d.nesterov:
        lines.append(
            f"With Nesterov momentum {g(d.momentum)}, any rate from {g(band[0])} "
            f"to {g(band[1])} shrinks the error by sqrt(m (1 - lr curvature)), at "
            f"most sqrt(m) = {g(math.sqrt(d.momentum))}, per step in every "
            "direction of this quadratic (below it the flattest direction crawls, "
            "above it the steepest overshoots): the higher the rate in it, the "
            "faster, though a low one keeps the noise of mini-batches, which "
            "momentum adds up, smaller."
        )
    elif d.family == "momentum" and band is not None:
        lines.append(
            f"With momentum {g(d.momentum)}, any rate from {g(band[0])} to "
            f"{g(band[1])} shrinks the error by about sqrt(m) = "
            f"{g(math.sqrt(d.momentum))} per step in every direction of this "
            "quadratic (below it the flattest direction crawls, above it the "
            "steepest overshoots): no rate in it is faster than another, and a "
            "low one keeps the noise of mini-batches, which momentum adds up, "
            "smallest."
        )
    elif d.family == "momentum" and not d.nesterov:
        lines.append(
            f"With momentum {g(d.momentum)}, the best rate for a quadratic shrinks "
            f"the error by about sqrt(m) = {g(math.sqrt(d.momentum))} per step in "
            "every direction."
        )
    if d.weight_decay and d.family not in UNLIMITED:
        lines.append(
            f"Weight decay ({g(d.weight_decay)}) pulls every parameter toward 0 "
            "too, so the run settles where that pull balances the gradient, short "
            "of the optimum: no step count to the optimum is predicted."
        )
    if d.predicted_steps is not None:
        line = (
            f"Predicted{' for full-batch steps' if batch_note else ''}: "
            f"{d.predicted_steps} steps until every parameter is within {g(d.tol)} "
            f"of the optimum ({_farthest_start(d)} {g(d.start_distance)} away)."
        )
        if overshoot:
            line += (
                " The count takes the optimum's curvature all the way: the first "
                "steps' overshoot (above) comes on top of it."
            )
        elif _curves_otherwise(d):
            line += (
                " The count takes the optimum's curvature all the way, and the loss "
                f"curves otherwise on the way (at the start {_curvatures(d.eig_start)}"
                f", at the optimum {_curvatures(d.eig_optimum)}): from this start it "
                "is a guide, not a promise; a sweep of rates (gradtrace sweep --lr) "
                "tells."
            )
        if batch_note:
            line += (
                " Mini-batch steps get there on average but scatter around it by "
                "their gradients' noise, so at a fixed rate they may never come that "
                "close: a lower rate late in the run, or larger batches, narrows the "
                "scatter."
            )
        elif d.fastest_steps is not None and d.fastest_steps < d.predicted_steps:
            line += f" {_fastest(d, bounded)}"
        lines.append(line)
    if len(d.names) > 1 and d.condition > 10:
        slow = direction(d)
        top = [
            d.names[i].split("[")[0] for i in np.argsort(-np.abs(d.slow_direction))[:2]
        ]
        mixed = np.max(np.abs(d.slow_direction)) < 0.95 and sorted(top) == ["b", "w"]
        text = f"The slow direction is {slow}"
        off_centre = (
            x_mean is not None
            and x_sd is not None
            and abs(x_mean) > 0.1 * (x_sd or 1.0)
        )
        # a larger rate speeds the slow direction, but not within momentum's band,
        # where every rate shrinks the error alike (said above)
        band = _momentum_band(d)
        banded = band is not None and band[0] <= d.learning_rate <= band[1]
        stable = d.verdict != "diverges" and not banded
        if mixed and off_centre:
            faster = "Centring x, or a larger rate," if stable else "Centring x"
            text += (
                f": a mix of slope and intercept, because x is not centred "
                f"(mean {g(x_mean)}, sd {g(x_sd)})."
            )
            # in momentum's band the slow direction shrinks as fast as the others
            text += "" if banded else f" {faster} speeds it up."
        elif scaled is not None:
            text += f"; {rescale} speeds it up most (above)."
        elif stable:
            text += "; a larger rate (within the limit) speeds it up."
        else:
            text += "."
        lines.append(text)
    return lines


#: How far (a share) the start's largest or smallest curvature may lie from the
#: optimum's before a prediction from the optimum's is told to be only a guide
CURVES_OTHERWISE = 0.25


def _farthest_start(d: Diagnosis) -> str:
    """Who starts ``start_distance`` away: the one parameter, or the farthest of
    several (the distance is the largest of theirs, as the count asks every
    parameter within tol; a student read it as the Euclidean one)."""
    if len(d.names) == 1 or not d.farthest:
        return "it starts"
    return f"the farthest, {d.farthest}, starts"


def _curves_otherwise(d: Any) -> bool:
    """Whether the loss curves otherwise at the start than at the optimum (not
    a quadratic, and the start far enough for it to show): by more than
    ``CURVES_OTHERWISE`` of the optimum's largest curvature, or of its smallest."""
    start, optimum = np.asarray(d.eig_start, float), np.asarray(d.eig_optimum, float)
    if start.shape != optimum.shape or not len(optimum):
        return False
    if not (np.isfinite(start).all() and np.isfinite(optimum).all()):
        return False
    ends = ((start[-1], optimum[-1]), (start[0], optimum[0]))
    return any(abs(a - b) > CURVES_OTHERWISE * abs(b) for a, b in ends)


def _curvatures(values: Any) -> str:
    """The smallest to the largest curvature, or the one."""
    low, high = float(values[0]), float(values[-1])
    if g(low, 3) == g(high, 3):
        return g(low, 3)
    return f"{g(low, 3)} to {g(high, 3)}"


def _fastest(d: Any, bounded: bool = False) -> str:
    """Full-batch gradient descent's fastest rate, how it is had from the
    curvature, and its steps (``Diagnosis.fastest_lr``); where the start curves
    more than the optimum, whether the rate is above the limit there (a
    researcher's gamma fit at the fastest rate, 1.7, left shape's range at its
    second step: the start's limit was 0.84). ``bounded``: a parameter must stay
    in its range."""
    small, big = float(d.eig_optimum[0]), float(d.eig_optimum[-1])
    if math.isclose(small, big, rel_tol=1e-9):  # one curvature: one step lands
        how, exact = f"1 / curvature = 1 / {g(small, 3)}", 1.0 / small
    else:
        how = f"2 / (smallest + largest curvature) = 2 / ({g(small, 3)} + {g(big, 3)})"
        exact = 2.0 / (small + big)
    value = g(d.fastest_lr)
    told = f" = {value}" if g(exact) == value else f", rounded down to {value}"
    text = f"The fastest rate, {how}{told}, takes {d.fastest_steps}"
    steepest = float(d.eig_start[-1])
    if steepest > 0 and d.fastest_lr >= 2.0 / steepest:
        return (
            f"{text} near the optimum; from this start it is above the limit "
            f"there, {g(2.0 / steepest)} (the start curves more, {g(steepest)}), so "
            "its first steps overshoot"
            + (
                " and may throw a parameter out of its range (--param-space "
                "unconstrained avoids it)."
                if bounded
                else "."
            )
        )
    return f"{text}."


def _factor(contraction: float) -> str:
    """A contraction factor per step, its distance from 1 shown where six digits
    would round it to 1 (a rate far below the limit: 1 - 2e-08, not 1)."""
    shown = g(contraction, 6)
    if shown == "1" and contraction != 1:
        return f"1 - {g(1 - contraction, 2)}"
    return shown


#: A final loss above the start's by less than this share of the larger is not a
#: rise: float rounding (a full batch's start is the step's fused sum, its end the
#: objective's) or a mini-batch run's noise about an optimum it started at.
ROSE_BY = 1e-3


def ended_above(start: float, final: float) -> bool:
    """Whether a run's loss ended above where it started, by more than rounding
    and noise (``ROSE_BY``)."""
    return bool(final - start > ROSE_BY * max(abs(start), abs(final)))


#: Standard errors from the optimum within which a mini-batch run's start and
#: end both lie when its loss rose by the batches' scatter alone (1.96: the
#: optimum's 95% interval).
SCATTER_ROSE = 1.96


def stderrs_off(
    values: dict[str, Any], optimum: dict[str, Any], stderr: dict[str, Any]
) -> float | None:
    """The largest distance of any value from its optimum, in its standard
    errors (a vector's elements each); None where one has no standard error."""
    best, errors, given = _by_column(optimum), _by_column(stderr), _by_column(values)
    worst = 0.0
    for name, value in given.items():
        se = errors.get(name)
        if name not in best or se is None or not se > 0 or not math.isfinite(se):
            return None
        worst = max(worst, abs(value - best[name]) / se)
    return worst if given else None


def scatter_rose(start: str, final: str, from_start: float, at_end: float) -> str:
    """A mini-batch run's loss that ended above its start by the batches'
    scatter: it started within ``from_start`` standard errors of the optimum
    and ended ``at_end`` off, both inside the optimum's 95% interval."""
    near = (
        "at the optimum"
        if from_start < 0.01
        else f"within {g(from_start, 2)} standard errors of the optimum"
    )
    return (
        f"the loss ended a little above where it started ({start} -> {final}): "
        f"the start was already {near}, and mini-batch steps scatter around it "
        f"(the end is {g(at_end, 2)} standard errors off); a smaller rate, or a "
        "schedule that lowers it late in the run, narrows the scatter."
    )


def rose_warning(start: str, final: str, which: str = "", optimizer: str = "") -> str:
    """The warning for a loss that ended above its start (``ended_above``);
    ``which``: the run it was, among several; ``optimizer``: its preset (Rprop's
    rate is its first step size, which the range test cannot find)."""
    if optimizer in READS_RATE_ONCE:
        return (
            f"warning: the loss ended above where it started ({which}{start} -> "
            f"{final}): {optimizer}'s first step size (the rate) is too large for "
            f"this problem; {RPROP_SWEEP} or a smaller --lr will tell."
        )
    return (
        f"warning: the loss ended above where it started ({which}{start} -> "
        f"{final}): the rate is too large for this optimizer and batch size; "
        "gradtrace lr-find or a smaller --lr will tell."
    )


#: Standard errors between a run's final parameter and its optimum beyond which a
#: summary says the run has not converged: a full-batch run's parameters outside
#: the optimum's 95% interval would mislead whoever reads the interval; a
#: mini-batch run's scatter around the optimum at a fixed rate is larger, so it is
#: told only when far out.
FAR_STDERRS = 1.96
#: How far a run free of batch noise (full batches, or a rate fallen to almost
#: nothing) may end from its optimum, in standard errors, before it is told it
#: has not converged: half of one. At 1.96 a run 1.9 standard errors off passed,
#: its interval shifted by almost its half-width.
FAR_STDERRS_FULL_BATCH = 0.5
FAR_STDERRS_MINI_BATCH = 10.0


#: What a run's warning says of parameters far from the optimum (fit.png's
#: title reads it).
UNCONVERGED = "the run has not converged"
#: What a mini-batch run's warning says of parameters on their way to it.
STILL_MOVING = "is still moving toward its optimum"

#: What a mini-batch run's warning says of final values outside the optimum's
#: interval, one parameter's or several jointly, on their way or scattered.
OUTSIDE = ("outside its 95% interval", "outside the optimum's 95% confidence region")


def unconverged(
    final: dict[str, Any],
    optimum: dict[str, Any],
    stderr: dict[str, Any],
    mini_batch: bool = False,
    resolution: float = 1e-6,
    weight_decay: float = 0.0,
    instead: str | None = None,
    covariance: Any = None,
    settled: bool = False,
    schedule: str | None = None,
    stopped_early: str | None = None,
    hover: tuple[float, str] | None = None,
    told: bool = True,
    above: str | None = None,
    closing: bool = False,
) -> str | None:
    """A sentence on the parameter farthest from its optimum, when it is more than
    ``FAR_STDERRS`` standard errors away (``FAR_STDERRS_MINI_BATCH`` for a
    mini-batch run); None where every one is closer, or within ``resolution`` of
    its optimum's value (float32's rounding by default), or, where its standard
    error is below that resolution (noise-free data), within its square root.
    ``mini_batch``: the run's steps saw batches, whose noise keeps them scattered
    around the optimum. ``weight_decay``: the optimizer's, which holds the run
    short of the loss's own optimum (said too). ``instead``: why more steps would
    not get closer (a schedule's rate fallen to almost 0, clipped steps hovering),
    said in place of the advice. ``covariance``: the estimates' (``optimum``'s
    order, a vector's values in turn), which measures a mini-batch run's distance
    jointly too: correlated errors (x columns on different scales) leave each
    parameter within its own limit while the run is far off along the direction
    they vary together. ``settled``: the parameters have stopped moving (with a
    weight decay: where it balances the gradient, said in place of "more steps
    would get closer"; with a plateau: whether it had a reason to cut the rate
    yet). ``schedule``: the name of the run's learning-rate
    schedule, whose rate the advice speaks of in place of a fixed one.
    ``stopped_early``: how early stopping ended the run, said in place of the
    advice (it stopped short of the training data's optimum on purpose).
    ``hover``: an adaptive optimizer's rate at a fixed value, and what to say of
    it, said in place of the advice where the parameter is within ``HOVER``
    rates of its optimum (Adam at lr 5 bounces by about 5 whatever the number of
    steps). ``told``: whether a mini-batch trace has steps enough to tell
    scatter from a run on its way (``drift_told``); where not, the advice is more
    steps alone (a few batches' scatter is no cause to act on). ``above``: the
    fixed rate's and the stable limit's words where the rate is above it ("lr
    0.72 is above the stable limit, 0.7"), said in place of "more steps would get
    closer", which they would not. ``closing``: a mini-batch run still closing in
    on the optimum (``drifting``), far from it for want of steps, not for the
    batches' scatter: more steps, not a lower rate, get it closer."""
    worst, counted, sizes, each = _farthest(final, optimum, stderr, resolution)
    # the batches' scatter is a fixed rate's: a rate that fell to almost nothing
    # (``instead``) scatters no more than full batches do
    scattered = mini_batch and instead is None
    limit = FAR_STDERRS_MINI_BATCH if scattered else FAR_STDERRS_FULL_BATCH
    if worst is None:
        return None
    joint = None
    if scattered and worst[0] <= limit:
        joint = _joint_stderrs(counted, covariance, sum(sizes.values()))
        if joint is None or joint <= limit:
            return None
    elif worst[0] <= limit:
        return None
    z, label, f_i, o_i, exact = worst
    # the others as far off, by how far: one sentence names them all
    also = sorted((o for o in each if o[0] > limit and o[1] != label), reverse=True)
    others = ""
    if also and not exact:
        named = listed([f"{n} {g(d, 3)}" for d, n in also], 4)
        others = f"; {named} standard errors off too"

    def away(optimum: str = "its optimum") -> str:
        if exact:
            # below the dtype's rounding at the optimum's size: in float32 that
            # is also a real standard error at a large size (a mean of 1e6 known
            # to 0.19), so only float64's is said to be an exact fit
            why = (
                "the data fit the model exactly, so its standard error is 0 but "
                "for rounding"
                if exact == "fit"
                else "its standard error is below float32's rounding at the "
                "optimum's size, so it is no unit to count in: --dtype float64 "
                "resolves it"
            )
            return (
                f"{label} ended {g(abs(f_i - o_i), 3)} from {optimum} ({g(f_i, 6)} "
                f"against {g(o_i, 6)}; {why})"
            )
        return (
            f"{label} ended {g(z, 3)} standard errors from {optimum} ({g(f_i, 6)} "
            f"against {g(o_i, 6)}{others})"
        )

    if stopped_early is not None:
        return (
            f"{away('the training data' + chr(39) + 's optimum')}: {stopped_early}, "
            "short of it by design (stopping early keeps a fit from following the "
            "training data further than the held-out loss rewards); a larger "
            "patience, or no early stopping, trains closer to it."
        )
    if instead is not None:
        return f"{away()}: {UNCONVERGED}, and {instead}."
    if weight_decay > 0 and settled:  # where the decay holds it, more steps or not
        far = away("the loss's optimum")
        if joint is not None:
            far = (
                f"the parameters ended {g(joint, 3)} standard errors from the "
                f"loss's optimum jointly ({label} farthest alone, {g(z, 3)})"
            )
        return (
            f"{far}: weight decay ({g(weight_decay, 3)}) pulls every parameter "
            "toward 0, so even a long run settles short of it, as this one has "
            "(weight_decay=0 trains to it)."
        )
    decay = ""
    if weight_decay > 0:
        decay = (
            f"; weight decay ({g(weight_decay, 3)}) also pulls every parameter "
            "toward 0, so even a long run settles short of the loss's own optimum "
            "(weight_decay=0 trains to it)"
        )
    closer = (
        "more steps would get closer, and mini-batch steps at a fixed rate scatter "
        "around the optimum: a lower rate late in the run, or larger batches, "
        "narrows the scatter"
        if mini_batch
        else "more steps, another rate or a start nearer the optimum (--init) would "
        "get closer"
    )
    if mini_batch and (closing or not told):
        closer = "more steps (more epochs) would get closer"
        if closing:
            closer += ": it is still closing in on it"
    if above is not None:  # a rate that throws the steps about: a lower one
        closer = (
            f"{above}, so more steps would not settle it: a rate below the limit would"
        )
    if hover is not None and abs(f_i - o_i) <= HOVER * hover[0]:
        closer = hover[1]
    elif mini_batch and schedule is not None:
        lower = (
            "a lower patience or a smaller factor cuts it sooner and further"
            if schedule.endswith(".plateau") and settled
            else "a schedule that takes it lower"
        )
        if schedule.endswith(".plateau") and not settled:
            # still moving: the plateau had no reason to cut yet
            lower = "once the loss stops falling the plateau cuts it"
        closer = (
            "more steps would get closer, and mini-batch steps scatter around the "
            f"optimum at the rate the run ended at: {lower}, and larger batches "
            "narrow the scatter"
        )
    if joint is not None:
        return (
            f"the parameters ended {g(joint, 3)} standard errors from the optimum "
            f"jointly, though each alone is within {g(FAR_STDERRS_MINI_BATCH)} "
            f"({label} farthest, {g(z, 3)}): their errors are correlated, and the "
            "run is off along the direction they vary together. It has not "
            f"converged; {closer}{decay}."
        )
    return f"{away()}: {UNCONVERGED}; {closer}{decay}."


def scattered(
    final: dict[str, Any],
    optimum: dict[str, Any],
    stderr: dict[str, Any],
    resolution: float = 1e-6,
    told: bool = True,
    covariance: Any = None,
) -> str | None:
    """A sentence on a mini-batch run whose parameter ended outside its optimum's
    95% interval (beyond ``FAR_STDERRS``) but within the batches' scatter
    (``FAR_STDERRS_MINI_BATCH``, which ``unconverged`` says of), and was not
    found still moving toward it (``drifting``): final values that are one draw
    of that scatter, which a reader of the interval should know. ``told``:
    whether the trace had steps enough to tell a drift (``drift_told``); where
    not, the sentence says either may be so. ``covariance``: the estimates'
    (as ``unconverged`` takes it), with which values each inside its interval
    but outside the optimum's 95% confidence region together are said too (a
    Poisson regression's, each within 0.72 standard errors, 3.9 jointly: its
    log-likelihood 7.9 below the optimum's). None where they are inside."""
    worst, counted, sizes, _ = _farthest(final, optimum, stderr, resolution)
    if worst is None or worst[4]:
        return None
    z, label, f_i, o_i, _ = worst
    if z <= FAR_STDERRS:
        joint = _joint_stderrs(counted, covariance, sum(sizes.values()))
        if joint is None or len(counted) < 2:
            return None
        # inside the 95% region: chi-squared's tail beyond it over 5%
        if chi2_sf(joint**2, len(counted)) >= 0.05:
            return None
        off = (
            f"the parameters ended {g(joint, 3)} standard errors from the optimum "
            f"jointly, though each alone is within {g(z, 3)} ({label} farthest): "
            "their errors are correlated, and the run is off along the direction "
            f"they vary together, {OUTSIDE[1]}"
        )
    else:
        off = (
            f"{label} ended {g(z, 3)} standard errors from its optimum ({g(f_i, 6)} "
            f"against {g(o_i, 6)}), {OUTSIDE[0]}"
        )
    if not told:
        return (
            f"{off}: too few steps to tell a run still on its way from mini-batch "
            "steps scattering around the optimum at a fixed rate; more epochs "
            "tell, and get closer if it is on its way."
        )
    return (
        f"{off}: mini-batch steps at a fixed rate scatter around the optimum, and "
        "the final values are where the last batches left them; a lower rate late "
        "in the run, or larger batches, narrows the scatter."
    )


#: What ``_farthest`` finds: the parameter farthest from its optimum (standard
#: errors away, its label, final value, optimum, and "fit" where the data fit
#: exactly, "dtype" where float32 cannot resolve the standard error at its size,
#: else ""), each value's (position, distance), the optimum's sizes, and each
#: counted value's (standard errors away, label).
Farthest = tuple[
    tuple[float, str, float, float, str] | None,
    list[tuple[int, float]],
    dict[str, int],
    list[tuple[float, str]],
]


def _farthest(
    final: dict[str, Any],
    optimum: dict[str, Any],
    stderr: dict[str, Any],
    resolution: float,
) -> Farthest:
    """The value farthest from its optimum in standard errors, as ``unconverged``
    counts them: one within ``resolution`` of its optimum (the dtype's rounding)
    is not counted, nor, where its standard error is below that resolution, one
    within its square root."""
    worst: tuple[float, str, float, float, str] | None = None
    sizes = {k: int(np.size(v)) for k, v in optimum.items()}
    offsets = dict(zip(sizes, np.cumsum([0, *sizes.values()])[:-1], strict=True))
    counted: list[tuple[int, float]] = []  # (position in covariance, final - best)
    away: list[tuple[float, str]] = []  # (standard errors, label)
    # the optimum's own size: a standard error far below it is rounding's, of
    # data the model fits exactly
    size = optimum_size(optimum)
    for name, value in final.items():
        if name not in optimum or name not in stderr:
            continue
        f, o, s = (
            np.ravel(np.asarray(v, np.float64))
            for v in (value, optimum[name], stderr[name])
        )
        if not f.shape == o.shape == s.shape:
            continue
        for i in range(len(f)):
            if not (math.isfinite(s[i]) and s[i] > 0 and math.isfinite(f[i] - o[i])):
                continue
            # as close as the dtype resolves: rounding, not distance, whatever the
            # standard error; but a tiny standard error does not hide a parameter
            # far off (data on a scale of 1e-6)
            scale, d = max(abs(f[i]), abs(o[i])), abs(f[i] - o[i])
            if d <= resolution * scale:
                continue
            # data the model fits exactly: a value of 0 is as close as the dtype
            # resolves at the optimum's size (an intercept of 0 that ended at
            # 1.6e-7 beside a slope of 1), not at its own
            if s[i] <= EXACT_FIT * size and d <= resolution * size:
                continue
            # a standard error the dtype cannot resolve: only a distance far beyond
            # rounding counts (noise-free data's run, 1e-5 off, has converged)
            if s[i] <= resolution * scale and d <= math.sqrt(resolution) * scale:
                continue
            z = abs(f[i] - o[i]) / s[i]
            if name in offsets:
                counted.append((int(offsets[name]) + i, float(f[i] - o[i])))
            label = name if len(f) == 1 and np.ndim(value) == 0 else f"{name}[{i}]"
            away.append((z, label))
            if worst is None or z > worst[0]:
                # data the model fits exactly: the standard error is 0 but for
                # rounding, and a distance in such units says nothing
                # ("fit"), or, in float32, a real one below its rounding at a
                # large size (a mean of 1e6 known to 0.19: "dtype")
                exact = ""
                if s[i] <= resolution * size:
                    exact = "fit" if s[i] <= EXACT_FIT * size else "dtype"
                worst = (z, label, float(f[i]), float(o[i]), exact)
    return worst, counted, sizes, away


def _joint_stderrs(
    counted: list[tuple[int, float]], covariance: Any, size: int
) -> float | None:
    """The distance of the final values from the optimum in standard errors
    jointly (Mahalanobis', sqrt(d' C^-1 d)), over the values ``counted`` (their
    positions in ``covariance`` and their distances); None without a covariance
    of ``size`` values, or a singular one."""
    if covariance is None or not counted:
        return None
    cov = np.asarray(covariance, np.float64)
    if cov.shape != (size, size):
        return None
    at = [i for i, _ in counted]
    d = np.array([v for _, v in counted])
    try:
        value = float(d @ np.linalg.solve(cov[np.ix_(at, at)], d))
    except np.linalg.LinAlgError:
        return None
    return math.sqrt(value) if math.isfinite(value) and value >= 0 else None


#: Windows the second half of a mini-batch run is cut into to tell a drift toward
#: the optimum from the batches' scatter around it, and the fewest trace rows
#: the half must hold.
DRIFT_WINDOWS = 4
DRIFT_ROWS = 40
#: The most the last quarter's mean distance may be of the first's for a drift:
#: scatter's quarters differ by their noise, an approach shrinks the distance.
DRIFT_FALL = 0.75


def drift_told(frame: Any) -> bool:
    """Whether a trace has rows enough to tell a drift toward the optimum from
    the batches' scatter around it (``drifting``): ``DRIFT_ROWS`` in its second
    half."""
    steps = frame["step"].to_numpy()
    return int((steps > steps[-1] / 2).sum()) >= DRIFT_ROWS


def drifting(
    frame: Any,
    names: list[str],
    optimum: dict[str, Any],
    stderr: dict[str, Any],
    final: dict[str, Any] | None = None,
) -> str | None:
    """A sentence on a mini-batch run still moving toward its optimum: a
    parameter (a trace column) whose mean distance from its optimum, in standard
    errors, falls from each quarter of the run's second half to the next, on the
    same side, to at most ``DRIFT_FALL`` of the first quarter's (or by more than
    four times the scatter within a quarter: a small rate's crawl), and is more
    than ``FAR_STDERRS`` in the last quarter. Batches'
    scatter around an optimum reached moves those means up and down; a run cut
    short moves them steadily closer. None where no parameter drifts so, or the
    trace has too few rows to tell. ``final``: the run's final values, whose
    others outside their 95% interval are named too (a slope left with the
    other sign than its optimum's, 6 standard errors off, went unsaid)."""
    if not drift_told(frame):
        return None
    steps = frame["step"].to_numpy()
    half = steps > steps[-1] / 2
    best, spread = _by_column(optimum), _by_column(stderr)
    worst: tuple[float, str, list[float]] | None = None
    for name in names:
        s = spread.get(name, math.nan)
        if name not in best or not (math.isfinite(s) and s > 0):
            continue
        z = (frame[name].to_numpy(np.float64)[half] - best[name]) / s
        means = [float(np.mean(w)) for w in np.array_split(z, DRIFT_WINDOWS)]
        if not all(math.isfinite(m) for m in means):
            continue
        same_side = all(m > 0 for m in means) or all(m < 0 for m in means)
        far = [abs(m) for m in means]
        falling = all(a > b for a, b in zip(far, far[1:], strict=False))
        # a fall by a quarter, or a slow crawl far larger than the scatter within
        # each quarter (a small rate's steady approach)
        scatter = max(float(np.std(w)) for w in np.array_split(z, DRIFT_WINDOWS))
        fell = far[-1] <= DRIFT_FALL * far[0] or far[0] - far[-1] > 4 * scatter
        if same_side and falling and fell and far[-1] > FAR_STDERRS:
            if worst is None or far[-1] > worst[0]:
                worst = (far[-1], name, far)
    if worst is None:
        return None
    _, name, far = worst
    others = _outside(final, best, spread, skip=name) if final is not None else ""
    return (
        f"{name} {STILL_MOVING}: its mean distance fell from "
        f"{g(far[0], 3)} to {g(far[-1], 3)} standard errors over the second half "
        f"of the run (quarter by quarter){others}; more epochs would get closer."
    )


def _outside(
    final: dict[str, Any], best: dict[str, float], spread: dict[str, float], skip: str
) -> str:
    """The parameters (``skip`` aside) that ended outside their optimum's 95%
    interval, farthest first (three at most), as "; w[1] also ended outside its
    95% interval: 6.03 standard errors from its optimum (-0.0545 against 0.0979,
    the other sign)"; "" for none."""
    ended = _by_column(final)
    far = []
    for name, value in ended.items():
        s = spread.get(name, math.nan)
        if name == skip or name not in best or not (math.isfinite(s) and s > 0):
            continue
        z = abs(value - best[name]) / s
        if math.isfinite(z) and z > FAR_STDERRS:
            # a sign apart from a clear one: the reading of the slope flips
            flipped = value * best[name] < 0 and abs(best[name]) > FAR_STDERRS * s
            far.append((z, name, value, flipped))
    if not far:
        return ""
    far.sort(reverse=True)
    one = len(far) == 1
    said = [
        ("" if one else f"{name} ")
        + f"{g(z, 3)} standard errors from its optimum ({g(value)} against "
        f"{g(best[name])}{', the other sign' if flipped else ''})"
        for z, name, value, flipped in far[:3]
    ]
    names = listed([name for _, name, _, _ in far], 3)
    return (
        f"; {names} also ended outside {'its' if one else 'their'} 95% "
        f"interval{'' if one else 's'}: {', '.join(said)}"
    )


def edge_of(value: float, constraint: str) -> str:
    """The edge of its range a parameter's best fit lies at: "0", "1" (a
    probability) or "infinity" (a positive parameter's optimum above 1, such as a
    negative binomial's size on counts no more spread than a Poisson's)."""
    if constraint == "unit":
        return "1" if value > 0.5 else "0"
    return "infinity" if constraint == "positive" and value > 1 else "0"


def on_edge(name: str, optimum: Any, constraint: str, final: Any = None) -> str:
    """A sentence on a parameter whose best fit lies at the edge of its range (a
    probability of 0 or 1, a scale or rate of 0, a size of infinity): no peak for
    steps to settle at, and no standard error; with ``final``, where the run
    ended."""
    values = np.ravel(np.asarray(optimum, float))
    edges = sorted({edge_of(v, constraint) for v in values})
    where = {"positive": "above 0", "unit": "between 0 and 1"}.get(constraint, "")
    cause = {
        "unit": " (data all 0s or all 1s do this to a probability)",
        "positive": " (data all 0s do this to a rate, one value repeated to a scale)",
    }.get(constraint, "")
    if edges == ["infinity"]:
        cause = (
            " (the fit keeps improving as it grows: counts that spread no more than "
            "a Poisson's, variance at most the mean, do this to a negative "
            "binomial's size, whose best fit is then the Poisson of the counts' mean)"
        )
        if name == "df":  # a Student-t's
            cause = (
                " (the fit keeps improving as it grows: data no heavier-tailed than "
                "a normal's do this to a Student-t's degrees of freedom, whose best "
                "fit is then the normal of the data's mean and population standard "
                "deviation)"
            )
    ended = ""
    if final is not None:
        shown = ", ".join(g(v, 6) for v in np.ravel(np.asarray(final, float)))
        ended = f"; the run ended at {name}={shown}"
    return (
        f"{name}'s best fit lies at the edge of its range ({where}), at "
        f"{name}={' or '.join(edges)}{cause}: there is no peak for steps to settle "
        f"at, and no standard error or interval{ended}."
    )


def separated(x: Any, on_cut: int = 0, kind: Any = True) -> str:
    """A sentence on a logistic regression whose classes ``x`` (its columns' names)
    separates, perfectly or, with ``on_cut`` rows on the separating cut,
    quasi-completely: no maximum of the likelihood, so no optimum, standard error
    or rate advice, and steps that grow the coefficients for ever. ``kind``
    "zeros": a Poisson regression whose ``on_cut`` rows of count 0 its x can send
    toward a mean of 0 (run.json's ``separated``)."""
    names = list(x or ["x"])
    over = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    if kind == "zeros":
        return (
            f"{on_cut} row{'s' * (on_cut != 1)} of count 0 can be set apart by "
            f"{over} from every row with a count above 0, so the likelihood keeps "
            "rising as their fitted mean falls toward 0 and has no maximum (a "
            "category whose counts are all 0, say): there is no optimum, standard "
            "error or rate advice, and more steps only push the coefficients "
            "further (weight decay, --optimizer adamw, holds them finite; or leave "
            "those rows out)."
        )
    if kind == "counts all 0":
        return (
            "every count is 0, so the likelihood keeps rising as the fitted means "
            "fall toward 0 and has no maximum: there is no optimum, standard error "
            "or rate advice, and more steps only push the intercept further down; "
            "a Poisson fit needs some counts above 0."
        )
    if kind in ("all 0", "all 1"):
        value = kind[-1]
        return (
            f"every y is {value}: the data hold one class only, so the likelihood "
            f"keeps rising as the fitted probabilities of y=1 go to {value} and "
            "has no maximum: there is no optimum, standard error or rate advice, "
            "and more steps only make the coefficients larger; give data with "
            "both classes, 0 and 1."
        )
    cut = {1: "a cut-off", 2: "a line"}.get(len(names), "a plane")
    how = (
        f"quasi-completely separated by {over}: {cut} puts every y=1 on one side "
        f"of it or on it and every y=0 on the other side or on it ({on_cut} "
        f"row{'s' * (on_cut != 1)} on it)"
        if on_cut
        else f"perfectly separated by {over}: {cut} puts every y=1 on one side and "
        "every y=0 on the other"
    )
    return (
        f"the classes are {how}, so the likelihood keeps rising as the "
        "coefficients grow and has no maximum: there is no optimum, standard error "
        "or rate advice, and more steps only make the coefficients larger (weight "
        "decay, --optimizer adamw, holds them finite)."
    )


#: Steps at the end of a run in which a parameter that stays put while its
#: gradient is not 0 is said to be stuck (and at least half of the run's).
STUCK_STEPS = 10


def settled(frame: Any, names: list[str], optimum: dict[str, Any]) -> bool:
    """Whether a run's parameters have stopped moving: each one's mean over the
    last tenth of its steps moved from its mean over the tenth before by less than
    a hundredth of its distance from ``optimum`` (a weight decay's balance, where
    an adaptive step may still jitter, not a run still on its way)."""
    n = len(frame) - 1
    if n < 20:
        return False
    best = _by_column(optimum)
    tenth = n // 10
    before, last = frame.iloc[n - 2 * tenth + 1 : n - tenth + 1], frame.iloc[-tenth:]
    for name in names:
        if name not in best:
            continue
        moved = abs(float(last[name].mean()) - float(before[name].mean()))
        if not moved <= 0.01 * abs(float(frame[name].iloc[-1]) - best[name]):
            return False
    return True


def _by_column(values: dict[str, Any]) -> dict[str, float]:
    """{name: value} with a vector's elements as the trace names them (w[0])."""
    out: dict[str, float] = {}
    for name, value in values.items():
        flat = np.ravel(np.asarray(value, np.float64))
        if np.ndim(value) == 0:
            out[name] = float(flat[0])
        else:
            out.update({f"{name}[{i}]": float(v) for i, v in enumerate(flat)})
    return out


def stuck(
    frame: Any,
    names: list[str],
    optimum: dict[str, Any] | None = None,
    stderr: dict[str, Any] | None = None,
    regression: bool = True,
) -> str | None:
    """A sentence on the first parameter (a trace column) that has not moved in
    the run's last ``STUCK_STEPS`` steps or more (half its steps at least) while
    its gradient was finite and not 0: its update rounds to nothing, or the
    optimizer's state overflowed (Adam's second moment of a gradient of 1e21 in
    float32); None where every parameter moved."""
    n = len(frame) - 1
    if n < 2:
        return None
    best, spread = _by_column(optimum or {}), _by_column(stderr or {})
    steps = frame["step"].to_numpy()
    for name in names:
        values = frame[name].to_numpy(np.float64)
        if name in best and name in spread:  # sitting at its optimum: no matter
            if abs(values[-1] - best[name]) <= FAR_STDERRS * spread[name]:
                continue
        grads = frame[f"grad_{name}"].to_numpy(np.float64)
        moved = np.flatnonzero(values[1:] != values[:-1])
        since = int(moved[-1]) + 1 if len(moved) else 0  # the last step it moved at
        still = n - since
        if still < max(STUCK_STEPS, n // 2):
            continue
        tail = grads[since + 1 :]
        if not (len(tail) and np.all(np.isfinite(tail)) and np.all(tail != 0)):
            continue
        rescale = "rescale x (--standardize)" if regression else "rescale y"
        return (
            f"{name} has not moved since step {int(steps[since])} though its "
            f"gradient is not 0 ({g(float(tail[-1]), 3)} at the last step): its "
            "update rounds to nothing, or the optimizer's state overflowed (explain "
            f"shows it); {rescale} or train in float64 (--dtype float64)."
        )
    return None


def unresolved(
    optimum: dict[str, Any], tol: float, dtypes: tuple[str | None, ...]
) -> tuple[str, float] | None:
    """The parameter whose optimum float32 cannot resolve to within ``tol``
    (half the spacing of float32 numbers at its size is above it) where a run
    computes in float32 (``dtypes``: the parameters', the loss's), and that
    spacing; None otherwise.
    Near 5000 float32 numbers lie 0.00049 apart, so a loss computed in float32
    cannot tell a mean of 5000 from one 0.0002 away: staying within 1e-4 is
    then float32 rounding, not the rate."""
    if "float32" not in dtypes:
        return None
    worst: tuple[str, float] | None = None
    for name, value in optimum.items():
        flat = np.abs(np.ravel(np.asarray(value, np.float64)))
        flat = flat[np.isfinite(flat)]
        if not flat.size:
            continue
        spacing = float(np.spacing(np.float32(flat.max())))
        if spacing / 2 > tol and (worst is None or spacing > worst[1]):
            worst = (name, spacing)
    return worst


def unresolved_sentence(
    optimum: dict[str, Any], tol: float, dtypes: tuple[str | None, ...], option: str
) -> str | None:
    """``unresolved`` in words, with what to change: ``option`` names the
    tolerance ("--tol 0.001"), or is empty where it is fixed."""
    found = unresolved(optimum, tol, dtypes)
    if found is None:
        return None
    name, spacing = found
    size = float(np.max(np.abs(np.ravel(np.asarray(optimum[name], np.float64)))))
    coarser = 10 ** math.ceil(math.log10(spacing / 2))
    change = f"{option} {coarser:g} or " if option else ""
    # the parameters' own dtype first: a float64 loss cannot hold a float32
    # parameter any closer
    wider = "--dtype float64" if dtypes[0] == "float32" else "--compute-dtype float64"
    return (
        f"float32 resolves {name} near {g(size)} only to {g(spacing, 2)} (the "
        f"spacing of its numbers there), coarser than the tolerance {g(tol)}: "
        "whether a run stays within it is float32's rounding, not the rate; "
        f"{change}{wider} asks for what the run can tell"
    )
