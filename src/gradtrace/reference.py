"""The exact answer and the learning-rate diagnosis of a planned run, as run.json
records them (``optimum``, ``stderr``, ``ci`` with its ``ci_level``, ``diagnosis``)."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import numpy as np

from gradtrace import advice, validate
from gradtrace.core import compiler, diagnose, exact, loop, robust, rowsums
from gradtrace.core.bijections import to_unconstrained
from gradtrace.core.losses import LossLike, loss_name, param_specs, row_losses
from gradtrace.errors import InputError
from gradtrace.text import percent

#: A logistic regression's loss per row at its solver's optimum below which the
#: classes may be separated (the solver then stops where the gradient, about as
#: small as the loss, passes its tolerance: 1e-11 on separated data), and are
#: checked (``exact.separated``).
SEPARATED_LOSS = 1e-4

#: A logistic regression's linear predictor beyond which (a fitted probability
#: within 1e-7 of 0 or 1) its classes are checked for quasi-complete separation.
SURE_LOGIT = 16.0


def separation(
    m: Any,
    loss: LossLike,
    reduction: str,
    best: exact.Optimum,
    fixed: dict[str, np.ndarray],
    xs: np.ndarray | None,
    ys: rowsums.Values,
) -> int | None:
    """Whether ``best``, a solver's answer, is a logistic regression's stopping
    point on the way to infinity, its classes separated so that the likelihood has
    no maximum: how many rows sit on the separating cut (0: perfectly separated),
    or None. Perfect separation is ``exact.separated``'s certificate, checked where
    the loss per row is small enough for it to hold; quasi-complete separation
    (some rows on the cut, such as a category whose rows are all y=1), the linear
    program of ``exact.separating_direction``, run where some row's fitted
    probability is within 1e-7 of 0 or 1 and the rows are in memory (up to
    ``exact.LP_ROWS``)."""
    if getattr(m, "name", None) == "poisson-regression" and loss == "nll":
        return _zeros_apart(m, best, fixed, xs, ys)
    if getattr(m, "name", None) != "logistic" or loss != "nll" or fixed:
        return None  # held coefficients cannot all grow
    params = {**best.params, **fixed}
    per_row = best.loss / (len(ys) if reduction == "sum" else 1)
    if per_row < SEPARATED_LOSS and exact.separated(m, loss, params, xs, ys):
        return 0
    if not isinstance(ys, np.ndarray) or xs is None or len(ys) > exact.LP_ROWS:
        return None
    design = m.predictor_columns(np.asarray(xs, np.float64))
    beta = np.concatenate([np.ravel(params["w"]), np.ravel(params["b"])])
    if np.abs(design @ beta).max() < SURE_LOGIT:
        return None
    return exact.separating_direction(m, xs, ys)


def separated_by(
    m: Any, kind: bool | str, xs: np.ndarray | None, ys: rowsums.Values
) -> dict[str, list[int]]:
    """run.json's ``separated_by`` of a fit with no optimum (``separated_kind``
    ``kind``): the places of the x columns that set it apart alone
    (``exact.apart_alone``), which its warning names rather than every column;
    nothing where none does alone, or the rows are not in memory."""
    if kind not in (True, "zeros") or xs is None or not isinstance(ys, np.ndarray):
        return {}
    alone = exact.apart_alone(m, xs, ys, kind == "zeros")
    return {"separated_by": alone} if alone else {}


def separated_kind(m: Any, ys: rowsums.Values) -> bool | str:
    """run.json's ``separated`` of a fit with no optimum (``separation``): True
    for a logistic's classes apart, "zeros" for a Poisson regression's counts of
    0 set apart; "all 0" or "all 1" for one class alone, "counts all 0" for no
    count above 0 (nothing to set apart)."""
    zeros = getattr(m, "name", None) == "poisson-regression"
    same = _constant(ys)
    if same is not None:
        return "counts all 0" if zeros else f"all {int(same)}"
    return "zeros" if zeros else True


def _constant(ys: rowsums.Values) -> float | None:
    """y's one value where every row has it (in memory, or read a chunk at a
    time), else None."""
    if isinstance(ys, np.ndarray):
        return float(ys[0]) if len(ys) and bool(np.all(ys == ys[0])) else None
    mean, spread = rowsums.mean_and_spread64(ys)
    return mean if spread == 0 else None


def _zeros_apart(m: Any, best: Any, fixed: Any, xs: Any, ys: Any) -> int | None:
    """A Poisson regression on its way to no finite best fit
    (``exact.zero_direction``): how many rows of counts 0 its coefficients can
    send toward a mean of 0, checked where some row's fitted mean is already
    below exp(-``SURE_LOGIT``) and the rows are in memory; None otherwise."""
    if fixed or xs is None or not isinstance(ys, np.ndarray):
        return None
    if len(ys) > exact.LP_ROWS:
        return None
    design = m.predictor_columns(np.asarray(xs, np.float64))
    beta = np.concatenate([np.ravel(best.params["w"]), np.ravel(best.params["b"])])
    if (design @ beta).min() > -SURE_LOGIT:
        return None
    return exact.zero_direction(m, xs, ys)


#: run.json keeps the covariance of at most this many parameters (10000 numbers;
#: a linear model of 2000 columns would write 4 million)
COVARIANCE_PARAMS = 100


#: Breusch and Pagan's p-value below which a least-squares fit is told that
#: its noise varies from row to row.
UNEVEN_P = 0.01


#: RESET's p-value, and the share of the residuals' sum of squares its bend
#: takes, beyond which a least-squares fit is told it misses a shape of the data
#: (the share: of a million rows, a bend too slight to matter tests significant).
BENT_P = 0.01
BENT_SHARE = 0.01


def _p_value(p: float) -> str:
    return "p < 1e-300" if p < 1e-300 else f"p = {p:.2g}"


#: The residuals' mean square, as a share of y's variance, at or below which a
#: least-squares fit is exact (y = 2x + 1 to the last bit: float64's rounding
#: leaves 1e-29): no noise to test for bends or unevenness.
EXACT_SHARE = 1e-20


def _exact_fit(best: Any, gaussian: bool, reduction: str, ys: Any) -> bool:
    """Whether the optimum fits y exactly, to rounding (``EXACT_SHARE``): the
    residual tests would then test float64's rounding (a RESET F of 17.9 and a
    Breusch-Pagan p of 1e-7 on y = 2x + 1)."""
    if gaussian:
        scale = np.asarray(best.params.get("scale", np.nan), np.float64)
        mse = float(scale) ** 2 if scale.size == 1 else math.nan
    else:
        mse = float(best.loss) / (len(ys) if reduction == "sum" else 1)
    _, spread = rowsums.mean_and_spread64(ys)
    return bool(math.isfinite(mse) and mse <= EXACT_SHARE * spread)


def _tested(every: int) -> str:
    """Which rows a test of the residuals took (``robust.tested_rows``)."""
    return "" if every == 1 else f" of one row in every {every}"


def _missed_shape(
    m: Any,
    params: dict[str, Any],
    xs: Any,
    ys: Any,
    fixed: dict[str, Any],
    every: int = 1,
) -> list[str]:
    """A notice where a least-squares fit's residuals bend with its prediction
    (``robust.reset`` below ``BENT_P``, the bend ``BENT_SHARE`` of their sum of
    squares or more): the model misses a shape of the data, and its standard
    errors and tests assume it does not. ``every``: the rows tested were one in
    every so many of the data's (``robust.tested_rows``)."""
    found = robust.reset(m, params, xs, ys, fixed)
    if found is None or not (found[2] < BENT_P and found[3] >= BENT_SHARE):
        return []
    statistic, dof, p, share = found
    return [
        f"the residuals bend with the prediction (RESET test{_tested(every)}: "
        f"F = {statistic:.4g} on 2 and {dof} degrees of freedom, {_p_value(p)}; "
        f"the bend is {share:.0%} of their sum of squares): the model misses a "
        "shape of the data, which the residual plot shows, and its standard "
        "errors assume it does not; another model may fit (gradtrace models "
        "lists them)"
    ]


#: A Poisson fit's Pearson chi-squared per degree of freedom above which, where
#: it is significant (``OVERDISPERSED_P``), the counts are told they vary more
#: than a Poisson's: their standard errors are then too small by its root, 12%
#: and more
OVERDISPERSED = 1.25
OVERDISPERSED_P = 1e-3


def _overdispersed(
    m: Any,
    params: dict[str, np.ndarray],
    xs: np.ndarray | None,
    ys: rowsums.Values,
    fixed: dict[str, np.ndarray],
) -> list[str]:
    """A note where a Poisson fit's counts vary more than a Poisson's (Pearson's
    chi-squared per degree of freedom, ``robust.pearson_dispersion``): its
    classical standard errors assume a variance equal to the mean (a
    statistician's negative-binomial counts got 0.018 and p = 6e-172 without a
    word)."""
    if getattr(m, "name", None) not in ("poisson", "poisson-regression"):
        return []
    found = robust.pearson_dispersion(m, params, xs, ys, fixed)
    if found is None:
        return []
    statistic, dof = found
    ratio = statistic / dof
    p = robust.chi2_sf(statistic, dof)
    if not (ratio > OVERDISPERSED and p < OVERDISPERSED_P):
        return []
    remedy = (
        "--stderr hc0 gives ones robust to it"
        if m.kind == "regression"
        else "--model negative-binomial fits counts that vary so"
    )
    return [
        f"the counts vary {ratio:.3g} times as much as a Poisson's (Pearson's "
        f"chi-squared {statistic:.4g} on {dof} degrees of freedom, {_p_value(p)}), "
        f"so the standard errors, which assume a variance equal to the mean, are "
        f"about {math.sqrt(ratio):.2g} times too small: {remedy}"
    ]


def _uneven_noise(
    m: Any,
    params: dict[str, Any],
    xs: Any,
    ys: Any,
    fixed: dict[str, Any],
    bent: bool = False,
    kind: str = "hc3",
    every: int = 1,
) -> list[str]:
    """A notice where the squared residuals of a least-squares fit follow its
    x (``robust.breusch_pagan`` below ``UNEVEN_P``): the classical standard
    errors assume one noise level. ``bent``: the residuals bend too
    (``_missed_shape``), whose shape shows in their squares as well. ``kind``:
    the robust standard errors offered (a likelihood's: hc1). ``every``: as
    ``_missed_shape``'s."""
    found = robust.breusch_pagan(m, params, xs, ys, fixed)
    if found is None or not found[2] < UNEVEN_P:
        return []
    statistic, dof, p = found
    remedy = (
        "a shape the model misses shows so too: mend the model first"
        if bent
        else "the classical standard errors assume one noise level for every row; "
        f"--stderr {kind} gives ones robust to it"
    )
    return [
        f"the residuals' spread varies with x (Breusch-Pagan test{_tested(every)}: "
        f"{statistic:.4g} "
        f"on {dof} degree{'s' if dof != 1 else ''} of freedom, {_p_value(p)}): "
        + remedy
    ]


#: Rows (evenly spaced) that ``rounding_size`` measures the loss's rounding on
ROUNDING_ROWS = 4096


def rounding_size(
    m: Any,
    loss: LossLike,
    params: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    xs: np.ndarray | None,
    ys: rowsums.Values,
) -> float | None:
    """The size of the loss's terms per row at ``params``, as rounding sees them:
    the mean over up to ``ROUNDING_ROWS`` rows of |a row's loss in float32 - in
    float64|, in float32 epsilons. About the row loss itself for most losses; far
    above it where large terms cancel (a Poisson's mu and y log mu against log y!
    at counts in the thousands: 3.5e4 beside a loss of 5.9), and a loss computed
    in a dtype cannot resolve differences below its epsilon times this. None for
    a stream (a pass over the file for a note) or where it cannot be taken."""
    if isinstance(ys, rowsums.Chunks) or not len(ys):
        return None
    n = len(ys)
    rows = np.unique(np.linspace(0, n - 1, min(n, ROUNDING_ROWS)).astype(np.int64))
    # padded (its rows again, from the first): data of nearby sizes run the
    # program compiled for the first
    xb, yb = rowsums.take(
        xs, ys, rowsums.repeated(rows, rowsums.padded_rows(len(rows)))
    )
    values = {k: np.asarray(v, np.float64) for k, v in {**params, **fixed}.items()}
    with jax.enable_x64(True):
        try:
            off = np.asarray(_rounding_apart(m, loss, values, xb, yb), np.float64)
        except (ValueError, TypeError, FloatingPointError):
            return None
    off = off[: len(rows)]
    size = float(np.mean(off[np.isfinite(off)])) if np.isfinite(off).any() else 0.0
    return size / float(np.finfo(np.float32).eps) if math.isfinite(size) else None


@functools.partial(compiler.jit, static_argnums=(0, 1))
def _rounding_apart(m: Any, loss: LossLike, p: Any, x: Any, y: Any) -> Any:
    """|each row's loss in float32 - in float64|: one compiled program (eagerly,
    each operation compiled its own: 0.3 to 0.7 s a fit), kept by model, loss and
    shapes."""

    def at(dtype: Any) -> Any:
        cast = {k: v.astype(dtype) for k, v in p.items()}
        return row_losses(
            m, loss, cast, None if x is None else x.astype(dtype), y.astype(dtype)
        ).astype(jax.numpy.float64)

    return jax.numpy.abs(at(jax.numpy.float32) - at(jax.numpy.float64))


#: A float32 loss whose rounding (``rounding_size``) is above this share of the
#: optimum's loss is told so: its last digits are rounding
COARSE_LOSS = 1e-5


def _coarse_loss(terms: float, best: float, compute_dtype: str) -> list[str]:
    """A note where the loss, computed in ``compute_dtype``, rounds by more than
    ``COARSE_LOSS`` of its size because its terms are large and cancel (a
    Poisson regression of large counts): a gap to the optimum below the rounding
    is none (a run read -0.0002 below its optimum). Not where the rounding is
    the loss's whole size (an exact fit's loss of 1e-29)."""
    if np.dtype(compute_dtype) != np.float32:
        return []
    rounding = float(np.finfo(np.float32).eps) * terms
    # as large as the loss itself: a loss of rounding alone (data the model fits
    # exactly, 1e-29), not large terms that cancel
    if not COARSE_LOSS * abs(best) < rounding < abs(best):
        return []
    return [
        f"the loss's terms are about {terms:.2g} a row and cancel to "
        f"{best:.4g}, so in float32 it rounds by about {rounding:.1g}: its "
        "differences below that (a gap to the optimum's loss among them) are "
        "rounding; --dtype float64 resolves them"
    ]


def compute(
    m: Any,
    loss: LossLike,
    reduction: str,
    names: tuple[str, ...],
    spec: Any,
    schedule: loop.Schedule,
    trainable: dict[str, np.ndarray],
    fixed: dict[str, np.ndarray],
    xs: np.ndarray | None,
    ys: rowsums.Values,
    notices: list[str],
    space: tuple[tuple[str, str], ...] = (),
    stderr: bool | str = True,
    intervals: str = "wald",
    compute_dtype: str = "float32",
    level: float = 0.95,
) -> dict[str, Any]:
    """The optimum, standard errors and the learning-rate diagnosis, for run.json.
    The intervals (``ci``) hold ``level`` of their distribution (``ci_level``);
    ``intervals`` "profile": from the profile likelihood (``core.profile``) in
    place of the Wald ones, ``ci_method`` saying so.

    ``space``: (name, constraint) of parameters the optimizer trains as log or logit
    values; the diagnosis' curvature is then taken in those coordinates.
    ``stderr``: a robust kind ("hc0", "hc1", "hc2", "hc3") in place of the classical
    standard errors (``core.robust``)."""
    out: dict[str, Any] = {}
    try:
        with jax.enable_x64(True):
            best = exact.solve(
                m, loss, reduction, names, fixed, xs, ys, trainable, stderr, level
            )
            on_cut = separation(m, loss, reduction, best, fixed, xs, ys)
            if on_cut is not None:
                # the solver stopped somewhere on the way to infinity: a
                # logistic's classes apart, or a Poisson's zeros ("zeros", with
                # on_cut the rows whose mean falls toward 0)
                kind = separated_kind(m, ys)
                return {
                    "separated": kind,
                    **({"on_cut": on_cut} if on_cut and "all" not in str(kind) else {}),
                    **separated_by(m, kind, xs, ys),
                }
            out.update(
                optimum={k: v.tolist() for k, v in best.params.items()},
                optimum_loss=best.loss,
                optimum_method=best.method,
                stderr={k: v.tolist() for k, v in best.stderr.items()},
                ci={k: [lo.tolist(), hi.tolist()] for k, (lo, hi) in best.ci.items()},
                ci_level=level,
            )
            terms = rounding_size(m, loss, best.params, fixed, xs, ys)
            if terms is not None:
                total = terms * (len(ys) if reduction == "sum" else 1)
                out["loss_terms"] = total
                notices += _coarse_loss(total, best.loss, compute_dtype)
            if best.cov is not None and len(best.cov) <= COVARIANCE_PARAMS:
                out["covariance"] = np.asarray(best.cov).tolist()
            notices += _no_stderr(best.stderr, len(ys))
            notices += _leverage_one(stderr, best.stderr, len(ys))
            # the note offers --intervals profile: not where it is refused (a
            # stream, a sandwich's errors)
            profilable = stderr is True and not isinstance(ys, rowsums.Chunks)
            if intervals == "wald" and loss == "nll" and not best.edge and profilable:
                notices += _lopsided(m, loss, best.params, best.stderr, best.ci, level)
            if intervals == "profile" and best.edge:
                notices.append(
                    "no profile-likelihood intervals (the optimum of "
                    f"{' and '.join(best.edge)} is on the edge of its range): the "
                    f"{percent(level)} intervals are Wald's"
                )
            if intervals == "profile" and not best.edge:
                try:
                    out.update(
                        _profiled(m, loss, names, fixed, xs, ys, best.params, level)
                    )
                    if "open_note" in out:
                        notices.append(out.pop("open_note"))
                except (ValueError, np.linalg.LinAlgError) as err:
                    notices.append(
                        f"no profile-likelihood intervals ({err}): the "
                        f"{percent(level)} intervals are Wald's"
                    )
            robust_loss = loss_name(loss) in ("mae", "huber") and (
                isinstance(loss, str) or "delta" in loss.source
            )
            if stderr and not best.stderr and robust_loss:
                notices.append(
                    f"no standard errors: they come from a squared error's or a "
                    f"likelihood's curvature, and {loss_name(loss)} is neither "
                    "(the optimum itself is exact; a sandwich or the bootstrap "
                    "would give its errors)"
                )
            elif stderr and not best.stderr and not isinstance(loss, str):
                # a loss of one's own: no known noise model to take errors from
                notices.append(
                    "no standard errors: a loss of your own is not known to be a "
                    "negative log-likelihood or a squared error, whose curvature "
                    "standard errors come from; written as a distribution's or a "
                    "model's log-density (gradtrace.Distribution, gradtrace.Model "
                    "with log_prob: docs/models.md), a likelihood gets them"
                )
            # least squares, or a Gaussian likelihood's mean (the same one
            # noise level assumed, its scale)
            gaussian = loss == "nll" and getattr(m, "family", "") == "gaussian"
            if (loss == "mse" or gaussian) and not _exact_fit(
                best, gaussian, reduction, ys
            ):
                mean = {k: v for k, v in best.params.items() if k != "scale"}
                held = {k: v for k, v in fixed.items() if k != "scale"}
                # a shape missed, whatever the errors; an uneven noise, where
                # the classical errors assume an even one
                # (of evenly spaced rows of a long data set, or of a file read a
                # chunk at a time: a million at most, held in memory)
                tx, ty, every = robust.tested_rows(xs, ys)
                bent = _missed_shape(m, mean, tx, ty, held, every)
                notices += bent
                if stderr is True:
                    # hc3 is least squares' (a likelihood takes hc0 or hc1)
                    kind = "hc1" if gaussian else "hc3"
                    notices += _uneven_noise(
                        m, mean, tx, ty, held, bool(bent), kind, every
                    )
            if loss == "nll" and stderr is True and not best.edge:
                notices += _overdispersed(m, best.params, xs, ys, fixed)
            if best.edge:
                # no peak to converge to: the curvature there says nothing of a
                # rate (the Hessian vanishes or blows up toward the edge)
                kinds = {s.name: s.constraint for s in param_specs(m, loss)}
                out["optimum_edge"] = {k: kinds.get(k, "") for k in best.edge}
                return out
            start = _internal(trainable, space)
            end = _internal(best.params, space)
            (h0, h1), flat = diagnose.hessians(
                m, loss, reduction, [start, end], fixed, xs, ys, space
            )
    except InputError:
        raise  # bad data (a streamed file's later rows): not a solver's failure
    except exact.Unidentified as err:
        # parameters that only move together: a warning of the run's (its
        # values are one of a line of equally good ones), not a note
        out["unidentified"] = str(err)
        return out
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        notices.append(f"no exact optimum ({err})")
        return out
    hyper = spec.hyper
    momentum = (
        float(hyper.get("momentum", 0.0))
        if spec.name in ("momentum", "nesterov", "keras.sgd", "torch.sgd")
        else 0.0
    )
    if spec.cycled == "momentum" and spec.schedule is not None:
        # OneCycleLR's or CyclicLR's in place of the optimizer's: its smallest,
        # where the rate peaks, is the one the limit is tightest at
        steps = spec.schedule.scheduler_steps(spec.n_steps, spec.per_epoch)
        momentum = float(np.min(spec.schedule.momenta(steps)))
    family = diagnose.FAMILIES.get(spec.name, "adaptive")
    if family == "gd" and momentum > 0:
        family = "momentum"
    nesterov = family == "momentum" and (
        spec.name == "nesterov" or bool(hyper.get("nesterov"))
    )
    scale, note, batch_lr = 1.0, None, np.nan
    # gradient descent's weight decay adds to every curvature its steps see
    decay = (
        0.0 if family in diagnose.UNLIMITED else float(hyper.get("weight_decay", 0.0))
    )
    mini_batch = schedule.batch_size < schedule.n_rows
    if mini_batch and reduction == "sum":  # a step's share of the curvature
        scale = schedule.batch_size / schedule.n_rows
    if mini_batch and family == "gd":
        # shuffled: batches drawn afresh each epoch, over every batch of random
        # rows; in order: the batches the run steps on
        drawn = schedule.batch_size if schedule.shuffle else 0
        rows = (
            diagnose.sampled_rows(schedule.n_rows)
            if drawn
            else diagnose.batch_rows(schedule.n_rows, schedule.batch_size)
        )
        batch_lr = diagnose.batch_limit(
            m,
            loss,
            reduction,
            end,
            fixed,
            xs,
            ys,
            rows,
            space,
            full=h1 * scale,
            drawn=drawn,
            weight_decay=decay,
        )
    if mini_batch:
        note = (
            f"Steps use {'shuffled ' if schedule.shuffle else ''}batches of "
            f"{schedule.batch_size} of {schedule.n_rows} rows"
            + ("" if schedule.shuffle else ", in order")
            + ": "
            + (
                f"with reduction sum a step sees {scale:.3g} of the full-data "
                "curvature; "
                if reduction == "sum"
                else ""
            )
            + "a batch's curvature varies around the full data's"
        )
    d = diagnose.diagnose(
        family,
        _judged_rate(spec),
        momentum,
        h0,
        h1,
        flat,
        _flat(start, names),
        _flat(end, names),
        curvature_scale=scale,
        batch_lr=batch_lr,
        nesterov=nesterov,
        weight_decay=decay,
    )
    if note and d.stable_lr < d.full_batch_lr:
        stable, full = advice.apart(d.stable_lr, d.full_batch_lr)
        note += (
            f", so these steps' limit (below which a step shrinks the error on "
            f"average over the batches) is {stable}, "
            f"{'just below' if d.stable_lr > 0.99 * d.full_batch_lr else 'lower than'}"
            f" the full data's {full}."
        )
    elif note:
        # an adaptive optimizer has no limit to stay below
        unlimited = family in diagnose.UNLIMITED
        note += "." if unlimited else ", so stay somewhat below the limit."
    x_mean = x_sd = None
    column = _x_column(xs, ys)
    if column is None and getattr(m, "offset", False) and _columns(xs) == 2:
        assert xs is not None
        column = xs[:, 0]  # one slope's column beside the offset's
    if column is not None:
        # in float64 a block at a time: np.std would hold a copy of x
        x_mean, spread = rowsums.mean_and_spread64(column)
        x_sd = float(np.sqrt(spread))
    slopes = _slopes_only(m, _x_moments(xs, ys))
    findings = advice.findings(
        d,
        spec.name,
        x_mean,
        x_sd,
        note,
        # the curvature of a linear predictor's loss is x's: standardising x
        # fixes it
        rescale=(
            "--model linear --standardize"
            if m.name == "line" and loss in ("mse", "nll")
            else "--standardize"
            if m.name in validate.STANDARDISED and loss in ("mse", "nll")
            else None
        ),
        clip=None if spec.clip is None else str(spec.clip),
        bounded=not space
        and any(
            s.constraint in ("positive", "unit") and s.name in trainable
            for s in param_specs(m, loss)
        ),
        x_columns=slopes,
        near=_rounded_start(best.params),
        scaled_condition=None
        if slopes is None or space
        else advice.standardised_hessian_condition(h1, list(flat), *slopes),
    )
    if spec.schedule is not None and family not in diagnose.UNLIMITED:
        findings.append(_scheduled_rate(spec, d.stable_lr))
    if d.learning_rate != spec.learning_rate:  # a warm-up from 0
        findings.insert(
            1,
            f"The run's rate starts at 0 and {spec.schedule.name} warms it up: the "
            f"rate judged here is the highest it reaches, {advice.g(d.learning_rate)}.",
        )
    out["diagnosis"] = {
        "family": d.family,
        **({"nesterov": True} if d.nesterov else {}),
        **({"weight_decay": d.weight_decay} if d.weight_decay else {}),
        "eigenvalues_start": d.eig_start.tolist(),
        "eigenvalues_optimum": d.eig_optimum.tolist(),
        "stable_lr": d.stable_lr,
        "full_batch_lr": d.full_batch_lr,
        "condition": d.condition,
        "suggested_lr": d.suggested_lr,
        **(
            {"fastest_lr": d.fastest_lr, "fastest_steps": d.fastest_steps}
            if math.isfinite(d.fastest_lr)
            else {}
        ),
        "verdict": d.verdict,
        "predicted_steps": d.predicted_steps,
        # an adaptive optimizer's steps of about lr: the fewest to the optimum
        **(
            {"adaptive_steps": d.start_distance / d.learning_rate}
            if d.family == "adaptive" and d.learning_rate > 0
            else {}
        ),
        "tol": d.tol,
        "slow_direction": dict(zip(d.names, d.slow_direction.tolist(), strict=True)),
        "findings": findings,
    }
    return out


#: A positive or (0, 1) parameter's standard error on its log or logit scale above
#: which its Wald interval (taken there) is called lopsided: e^(2 x 1.96 x 0.75),
#: its ends 19 times apart or more (one Poisson count of 1 in 20, at 1.0, had its
#: upper end 61% above the profile's).
LOPSIDED = 0.75


def _lopsided(
    m: Any,
    loss: LossLike,
    optimum: dict[str, np.ndarray],
    stderr: dict[str, np.ndarray],
    ci: dict[str, tuple[np.ndarray, np.ndarray]],
    level: float = 0.95,
) -> list[str]:
    """A note on a positive or (0, 1) parameter whose standard error on its log
    or logit scale is above ``LOPSIDED``: its Wald interval there leans on a
    parabola the likelihood is far from (a probability of 0.004 got 0.000008 to
    0.70, the profile likelihood's 0 to 0.033), and what gives the likelihood's
    own."""
    kinds = {s.name: s.constraint for s in param_specs(m, loss)}
    said: list[str] = []
    for name, value in optimum.items():
        kind = kinds.get(name)
        if kind not in ("positive", "unit") or name not in ci:
            continue
        v = np.ravel(np.asarray(value, np.float64))
        se = np.ravel(np.asarray(stderr.get(name, np.nan), np.float64))
        spread = exact.scaled_error(v, se, kind)  # where the interval is taken
        scale = "log" if kind == "positive" else "logit"
        for i in np.flatnonzero(np.isfinite(spread) & (spread > LOPSIDED)):
            label = name if v.size == 1 else f"{name}[{i}]"
            lo = float(np.ravel(ci[name][0])[i])
            hi = float(np.ravel(ci[name][1])[i])
            said.append(
                f"{label} {lo:.3g} to {hi:.3g} about {v[i]:.3g} (standard error "
                f"{spread[i]:.3g} on the {scale} scale)"
            )
    if not said:
        return []
    more = f"; and {len(said) - 3} more" if len(said) > 3 else ""
    shown = "; ".join(said[:3]) + more
    return [
        f"lopsided {percent(level)} intervals, Wald's on a log or logit scale where "
        f"the likelihood is far from the parabola they assume: {shown}. --intervals "
        "profile gives the likelihood's own"
    ]


def _profiled(
    m: Any,
    loss: LossLike,
    names: tuple[str, ...],
    fixed: dict[str, np.ndarray],
    xs: np.ndarray | None,
    ys: rowsums.Values,
    optimum: dict[str, np.ndarray],
    level: float = 0.95,
) -> dict[str, Any]:
    """``ci`` (holding ``level``) from the profile likelihood, and ``ci_method``
    saying so."""
    from gradtrace.core import profile

    trainable = tuple(k for k in names if k in optimum)
    found, opened = profile.intervals(
        m, loss, trainable, fixed, xs, np.asarray(ys), optimum, level
    )
    out: dict[str, Any] = {
        "ci": {k: [lo.tolist(), hi.tolist()] for k, (lo, hi) in found.items()},
        "ci_method": "profile likelihood",
    }
    if getattr(m, "center", None) is not None and "b" in found:
        # standardised x: the intercept in x's own units, b - w . center / spread,
        # is a combination of b and the slopes, profiled as one (a slope's own
        # interval is its standardised one over its spread)
        slope = -np.asarray(m.center, np.float64) / np.asarray(m.spread, np.float64)
        if "w" in found:
            weights = {"b": np.asarray(1.0), "w": slope}
            low, high = profile.combination(
                m, loss, trainable, fixed, xs, np.asarray(ys), optimum, weights, level
            )
        else:  # slopes held: the intercept's interval moved by theirs
            shift = float(np.asarray(fixed["w"], np.float64) @ slope)
            low, high = (float(v) + shift for v in found["b"])
        out["ci_b_in_x_units"] = [low, high]
    if opened:
        ends = ", ".join(f"{name} {side}" for name, side in opened)
        out["open_intervals"] = [list(pair) for pair in opened]
        out["open_note"] = (
            f"open {percent(level)} intervals ({ends}): the likelihood ratio stays "
            f"under {profile.bound(level):.4g} out to the edge of the range, or "
            f"{profile.REACH:g} standard errors: the data rule out no value on "
            "that side"
        )
    return out


def _leverage_one(kind: bool | str, stderr: dict[str, Any], n_rows: int) -> list[str]:
    """Why hc2's or hc3's standard errors are all NaN with rows to spare: a row
    of leverage 1 (the one row of a category, or of a direction of x no other
    row has), whose residual they divide by 1 - its leverage, 0."""
    if kind not in ("hc2", "hc3") or not stderr:
        return []
    k = sum(np.size(v) for v in stderr.values())
    if k >= n_rows or not all(
        np.all(np.isnan(np.asarray(v, float))) for v in stderr.values()
    ):
        return []
    return [
        f"no {kind.upper()} standard errors: a row has leverage 1 (the only row of "
        "a category, say, which the fit passes through exactly), and "
        f"{kind} divides its residual by 1 - its leverage; --stderr hc1 gives "
        "robust errors that do not, or leave that row out"
    ]


def _no_stderr(stderr: dict[str, Any], n_rows: int) -> list[str]:
    """Why the optimum has no standard errors where as many parameters as rows
    fit the data exactly: no row is left over to measure the noise by."""
    k = sum(np.size(v) for v in stderr.values())
    if not k or k < n_rows:
        return []
    if not all(np.all(np.isnan(np.asarray(v, float))) for v in stderr.values()):
        return []
    return [
        f"no standard errors: {n_rows} row{'s' * (n_rows != 1)} and {k} "
        "parameters leave no row over to measure the noise by (the fit is "
        "exact); more rows than parameters give them"
    ]


#: Steps at which a schedule's rate is looked at against the stable limit.
RATE_SAMPLES = 100_000


def _judged_rate(spec: Any) -> float:
    """The rate the diagnosis judges: the run's, or where a schedule warms up
    from 0, the highest rate it reaches (its findings say where it takes it)."""
    if spec.learning_rate > 0 or spec.schedule is None:
        return float(spec.learning_rate)
    return float(np.max(_schedule_rates(spec)[1]))


def _schedule_rates(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Step counts sampled over the run (at most ``RATE_SAMPLES``) and the
    schedule's rate after each."""
    n = spec.n_steps
    counts = np.unique(np.linspace(0, n - 1, min(n, RATE_SAMPLES)).astype(np.int64))
    rates = spec.schedule.rates_at(
        spec.learning_rate, counts, spec.per_epoch, n, spec.rate_dtype
    )
    return counts, rates


def _scheduled_rate(spec: Any, limit: float) -> str:
    """A sentence on where a learning-rate schedule takes the rate against the
    stable ``limit`` (the findings above judge the starting rate)."""
    schedule = spec.schedule
    if schedule.adaptive:  # only ever lower than the start, judged above
        start = advice.g(spec.learning_rate)
        where = "within" if spec.learning_rate < limit else "above"
        return (
            f"The schedule {schedule.name} lowers the rate from {start} (times "
            f"{advice.g(schedule.params['factor'])}) each time the epoch's loss "
            f"stops falling, so it starts {where} the stable limit "
            f"{advice.g(limit)} and never climbs; the trace's lr column shows "
            "where it cut."
        )
    counts, rates = _schedule_rates(spec)
    said = (
        f"The schedule {schedule.name} takes the rate from {advice.g(rates[0])} at "
        f"step 1 to {advice.g(rates[-1])} at the last"
    )
    above = rates >= limit
    if above.all():
        return f"{said}: above the stable limit {advice.g(limit)} throughout."
    if not above.any():
        return f"{said}: within the stable limit {advice.g(limit)} throughout."
    # where the rate crosses the limit, down or up (a cycling or growing schedule)
    crossings = np.flatnonzero(above[1:] != above[:-1]) + 1
    parts, been_above = [], bool(above[0])
    for i in crossings[:3]:
        step = int(counts[i]) + 1
        if not above[i]:
            parts.append(f"below it from about step {step}")
            continue
        again = " again" if been_above else ""
        parts.append(f"above it{again} from about step {step}, where steps may diverge")
        been_above = True
    where = "; ".join(parts) + ("; and so on" if len(crossings) > 3 else "")
    start = "starting above" if above[0] else "starting within"
    return f"{said}, {start} the stable limit {advice.g(limit)}: {where}."


def _x_column(xs: np.ndarray | None, ys: rowsums.Values) -> rowsums.Values | None:
    """The x column of data with one (in memory, or read a chunk at a time; in
    memory also the one column of a model of x columns, such as logistic)."""
    if isinstance(ys, rowsums.Chunks):
        head = ys.head()[0]
        return ys.x_values() if head is not None and head.ndim == 1 else None
    if xs is not None and xs.ndim == 2 and xs.shape[1] == 1:
        return xs[:, 0]
    return xs if xs is not None and xs.ndim == 1 else None


def _columns(xs: Any) -> int:
    """The columns of an in-memory x matrix (0 for none, or for another x)."""
    return int(xs.shape[1]) if isinstance(xs, np.ndarray) and xs.ndim == 2 else 0


def _slopes_only(m: Any, moments: Any) -> Any:
    """``moments`` (``_x_moments``) of the columns that have slopes: an offset's
    (the last, its coefficient held at 1) left out; None for fewer than two."""
    if moments is None or not getattr(m, "offset", False):
        return moments
    mean, cov = moments
    return None if len(mean) < 3 else (mean[:-1], cov[:-1, :-1])


def _x_moments(
    xs: np.ndarray | None, ys: rowsums.Values
) -> tuple[np.ndarray, np.ndarray] | None:
    """The means and covariance of two or more x columns (in memory, or read a
    chunk at a time), in float64 a block at a time; None for fewer."""
    head = ys.head()[0] if isinstance(ys, rowsums.Chunks) else xs
    if head is None or head.ndim != 2 or head.shape[1] < 2:
        return None
    k = head.shape[1]
    n, sums, products = 0, np.zeros(k), np.zeros((k, k))
    # about the first rows' mean: the products of columns far from 0 (a mean of
    # 1e8, a spread of 1) would cancel to nothing in a plain sum
    shift = np.asarray(head[: rowsums.BLOCK_ROWS], np.float64).mean(0)
    for block, _ in rowsums.blocks(xs, ys):
        b = np.asarray(block, np.float64) - shift
        n, sums, products = n + len(b), sums + b.sum(0), products + b.T @ b
    mean = sums / n
    return mean + shift, products / n - np.outer(mean, mean)


def _flat(params: dict[str, Any], names: tuple[str, ...]) -> np.ndarray:
    return np.concatenate(
        [np.atleast_1d(np.asarray(params[k], np.float64)) for k in names]
    )


def _internal(
    params: dict[str, Any], space: tuple[tuple[str, str], ...]
) -> dict[str, np.ndarray]:
    """The optimizer's values (log or logit where ``space`` says so)."""
    c = dict(space)
    return {
        k: np.asarray(to_unconstrained(np.asarray(v, np.float64), c.get(k, "real")))
        for k, v in params.items()
    }


def _rounded_start(optimum: dict[str, Any]) -> str | None:
    """A start near ``optimum`` as --init flags, each value to two significant
    digits (heights' loc=170, scale=9.1): where to start a run whose default
    start curves far more than the optimum. None for a vector parameter."""
    flags = []
    for name, value in optimum.items():
        if np.ndim(value):
            return None
        flags.append(f"--init {name}={float(f'{float(value):.2g}'):g}")
    return " ".join(flags) or None
