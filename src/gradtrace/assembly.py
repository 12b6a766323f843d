"""The Trace of a run from what its compiled loop returned: the trace table
(its ``lr`` and ``gap`` columns), ``run.json``'s information, and the fit's
statistics (log-likelihood, information criteria, standard errors in the data's
own units)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
import pandas as pd

from gradtrace import held_out
from gradtrace.core import compiler, rowsums
from gradtrace.core.arrays import to_device
from gradtrace.core.flat import unflat
from gradtrace.core.losses import log_likelihood_rows, loss_name, reduce
from gradtrace.core.rowsums import reduce_rows
from gradtrace.sources import data_file, truth_of
from gradtrace.tables import trace_frame
from gradtrace.trace import Trace, device, versions

if TYPE_CHECKING:
    from gradtrace.planning import Plan
    from gradtrace.run_config import RunConfig


def with_lr(
    table: pd.DataFrame, p: Plan, levels: np.ndarray | None = None
) -> pd.DataFrame:
    """The trace table with its ``lr`` column after ``batch`` (the rate each step's
    update used; none at step 0), where the run has a learning-rate schedule.
    ``levels``: a plateau's at the table's last rows (``History.levels``), whose
    rates the run decided."""
    schedule = p.spec.schedule
    plateau = p.spec.plateau
    if plateau is not None:
        cuts = np.asarray(levels if levels is not None else (), np.int64)
        rates = np.where(cuts >= 0, plateau[0][np.maximum(cuts, 0)], np.nan)
        column = np.concatenate([np.full(len(table) - len(cuts), np.nan), rates])
        table.insert(list(table.columns).index("batch") + 1, "lr", column)
    elif schedule is not None:
        steps = table["step"].to_numpy(np.int64)
        with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):  # as the run's
            dtype = p.spec.rate_dtype
        rates = schedule.rates_at(
            p.spec.learning_rate,
            np.maximum(steps - 1, 0),
            p.per_epoch,
            p.n_steps,
            dtype,
        )
        at = list(table.columns).index("batch") + 1
        table.insert(at, "lr", np.where(steps > 0, rates, np.nan))
        if p.spec.cycled is not None:  # OneCycleLR's momentum: PyTorch's floats
            counts = schedule.scheduler_steps(p.n_steps, p.per_epoch)
            momenta = schedule.momenta(counts)
            used = momenta[np.minimum(np.maximum(steps - 1, 0), counts - 1)]
            table.insert(at + 1, p.spec.cycled, np.where(steps > 0, used, np.nan))
    return table


def _x_ranges(p: Any) -> dict[str, Any]:
    """run.json's ``x_range``: each x column's lowest and highest value among
    the rows the run trained on, by name (where the run holds them all, or a
    stream's from its file's statistics: ``Plan.x_range``), for ``predict`` to
    tell a row beyond them."""
    if getattr(p, "x_range", None) is not None:
        return {"x_range": dict(p.x_range)} if p.x_range else {}
    xs, names = p.xs, list(p.x_cols or [])
    if xs is None or not names or len(xs) != p.n_rows:
        return {}
    xs = np.asarray(xs)
    columns = xs[:, None] if xs.ndim == 1 else xs
    if columns.shape[1] != len(names):
        return {}
    low, high = columns.min(axis=0), columns.max(axis=0)
    return {
        "x_range": {
            name: [float(a), float(b)]
            for name, a, b in zip(names, low, high, strict=True)
        }
    }


def _file_record(p: Any, which: str, source: str | None) -> dict[str, Any]:
    """run.json's record of the data or validation file: the plan's, taken as
    the data were read (``Plan.files``), else the file's now."""
    files = getattr(p, "files", None)
    return dict(files[which]) if files is not None else data_file(source)


def with_gap(table: pd.DataFrame, optimum_loss: float | None) -> pd.DataFrame:
    """The trace table with its ``gap`` column (loss minus the optimum's loss), when
    the optimum is known."""
    if optimum_loss is not None:
        table["gap"] = table["loss"].astype(np.float64) - optimum_loss
    return table


def build_trace(
    config: RunConfig,
    p: Plan,
    history: Any,
    reference: dict[str, Any],
    interrupted: bool,
    started: float,
    loglik: Callable[[dict[str, Any]], float] | None = None,
    keep_data: bool = True,
    schedule: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None,
    steps: int | None = None,
) -> Trace:
    """The Trace of a run from its history and reference. ``loglik`` sums the
    log-likelihood of all the rows at given parameters (default: over the plan's
    data); without ``keep_data``, the trace's views read the data file again
    instead of keeping the plan's data; ``schedule`` adds to run.json's schedule.
    ``table`` and ``steps``: the trace table already made (with its gap column)
    and the number of steps, where ``history`` is only the run's last part."""
    if table is None:
        frame = trace_frame(
            history,
            [s for s in p.specs if s.name in p.trainable],
            {k: v.tolist() for k, v in p.trainable.items()},
            p.problem.metrics,
        )
        table = with_gap(
            with_lr(frame, p, history.levels), reference.get("optimum_loss")
        )
    status = "completed"
    if history.diverged_step is not None:
        status = "diverged"
    elif interrupted:
        status = "interrupted"
    truth, note = truth_of(config.data, p.m.name)
    info: dict[str, Any] = {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": p.m.name,
        "model_options": p.m.options(),
        "loss": loss_name(p.loss),
        "loss_options": {} if isinstance(p.loss, str) else dict(p.loss.source),
        "own_objects": list(p.own),
        "reduction": p.reduction,
        "param_space": "unconstrained" if p.problem.unconstrained else "constrained",
        "metrics": list(p.problem.metrics),
        "optimizer": {"name": p.spec.name, **p.spec.hyper},
        "lr_schedule": None if p.spec.schedule is None else p.spec.schedule.to_dict(),
        "clip": None if p.spec.clip is None else p.spec.clip.to_dict(),
        "config": config.to_dict(),
        "data": {
            "source": "standard input"
            if config.data == "-"
            else (config.data or "python data"),
            "n_rows": p.n_rows,
            "x": p.x_cols,
            "y": config.y,
            **({"categories": p.categories} if p.categories else {}),
            "dropped_rows": p.dropped,
            **({"dropped_at": list(p.dropped_at)} if p.dropped_at else {}),
            **({"values_sha256": p.values} if p.values else {}),
            **_x_ranges(p),
            **_file_record(p, "data", config.data),
            **(
                {
                    "validation": {
                        **held_out.info(p.val),
                        **_file_record(p, "validation", config.validation_data),
                    }
                }
                if p.val is not None
                else {}
            ),
        },
        "schedule": {
            "batch_size": p.batch_size,
            "batches_per_epoch": p.per_epoch,
            "n_steps": p.n_steps,
            "shuffle": config.shuffle,
            **({"drop_last": True} if p.schedule.drop_last else {}),
            "seed": int(p.seed),
            "eval_every": p.eval_every,
            **(schedule or {}),
        },
        "params_spec": [
            {
                "name": s.name,
                "size": s.size,
                "constraint": s.constraint,
                "default": s.default,
                "doc": s.doc,
            }
            for s in p.specs
        ],
        "dtype": p.pdtype,
        "compute_dtype": p.cdtype,
        "initial": {k: v.tolist() for k, v in p.trainable.items()},
        "fixed": {k: v.tolist() for k, v in p.fixed.items()},
        "steps": len(history.batch_loss) if steps is None else steps,
        "status": status,
        "diverged": history.diverged_step is not None,
        "diverged_step": history.diverged_step,
        **_diverged_cause(p, history),
        "notices": p.notices + [note] * bool(note),
        "truth": truth,
        # the intercept's interval in x's own units goes in original_units
        **{k: v for k, v in reference.items() if k != "ci_b_in_x_units"},
        "timings": {
            "compile_s": history.compile_s,
            "train_s": history.train_s,
            "total_s": time.perf_counter() - started,
        },
        "versions": versions(),
        "device": device(),
    }
    trace = Trace(table, info, data=(p.xs, p.ys) if keep_data else None)
    if keep_data and p.val is not None:
        trace._val = (p.val.x, p.val.y)
    info["params"] = trace.params
    if len(table) and int(table["step"].iloc[0]) == 0:  # for ls: did it rise?
        info["initial_loss"] = float(table["loss"].iloc[0])
    info["final_loss"] = trace.final_loss
    taken = trace.last_taken()
    if taken is not None:  # for ls: stopped between the loss's evaluations
        info["last_loss"] = {"step": taken[0], "loss": taken[1]}
    info.update(fit_statistics(p, history, reference, loglik))
    return trace


def row_losses_at(p: Plan, values: Mapping[str, Any]) -> np.ndarray | None:
    """Each data row's own loss at ``values`` (all the parameters, held ones
    too), in float64; None where the rows are not in memory or the user's code
    fails there."""
    from gradtrace.core.losses import row_losses

    if not isinstance(p.ys, np.ndarray):  # a stream's chunks: not read here
        return None
    try:
        with jax.enable_x64(True):
            params = {
                k: jax.numpy.asarray(v, jax.numpy.float64) for k, v in values.items()
            }
            x = None if p.xs is None else jax.numpy.asarray(p.xs, jax.numpy.float64)
            y = jax.numpy.asarray(p.ys, jax.numpy.float64)
            return np.asarray(row_losses(p.m, p.loss, params, x, y))
    except Exception:  # noqa: BLE001 - the user's code: the caller's message stands
        return None


def told_row(p: Plan, losses: np.ndarray) -> str:
    """'data row 3 (x=0.2, y=0) gives nan first, and 4 more rows do': the first row
    whose loss is not finite; empty where each is."""
    bad = np.flatnonzero(~np.isfinite(losses))
    if not len(bad):
        return ""
    i = int(bad[0])
    shown = []
    if p.xs is not None:
        xi = np.ravel(np.asarray(p.xs)[i])
        names = list(p.x_cols or ["x"])
        shown += [f"{n}={v:g}" for n, v in zip(names, xi, strict=False)]
    shown.append(f"y={float(p.ys[i]):g}")
    kept = " of those kept" if p.dropped else ""
    others = len(bad) - 1
    more = (
        f", and {others} more row{'s do' if others > 1 else ' does'}" if others else ""
    )
    where = f"data row {i + 1}{kept} ({', '.join(shown)})"
    return f"{where} gives {losses[i]:g} first{more}"


def diverged_cause(
    p: Plan, last: Mapping[str, Any], before: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Why a run's last parameters, each finite, give a loss that is not: the
    first row whose own loss is not finite there (``row``), and the one
    parameter (``param``) whose value before the last step makes every row's
    loss finite again, if one does (a shift c stepped past the smallest x of a
    log(x - c)). None where a parameter is not finite (the step overflowed),
    where every row is finite, or where the rows are not in memory."""
    if not all(np.all(np.isfinite(np.asarray(v, float))) for v in last.values()):
        return None
    values = {**last, **p.fixed}
    losses = row_losses_at(p, values)
    if losses is None or np.all(np.isfinite(losses)):
        return None
    cause: dict[str, Any] = {
        "row": told_row(p, losses),
        "values": {k: np.asarray(v).tolist() for k, v in last.items()},
    }
    for name in last:
        if np.array_equal(np.asarray(last[name]), np.asarray(before[name])):
            continue
        again = row_losses_at(p, {**values, name: before[name]})
        if again is not None and np.all(np.isfinite(again)):
            cause["param"] = name
            cause["param_before"] = np.asarray(before[name]).tolist()
            break
    return cause


def _diverged_cause(p: Plan, history: Any) -> dict[str, Any]:
    """``{"diverged_cause": ...}`` where a diverged run's last parameters are
    finite but some row's loss there is not (diverged_cause)."""
    if history.diverged_step is None or not len(history.batch_loss):
        return {}
    last = {k: np.asarray(v[-1]) for k, v in history.params.items()}
    if len(history.batch_loss) > 1:
        before = {k: np.asarray(v[-2]) for k, v in history.params.items()}
    elif history.diverged_step == 1:
        before = dict(p.trainable)
    else:  # the run's last part only: the step before is in an earlier one
        before = last
    cause = diverged_cause(p, last, before)
    return {} if cause is None else {"diverged_cause": cause}


def fit_statistics(
    p: Plan,
    history: Any,
    reference: dict[str, Any],
    loglik: Callable[[dict[str, Any]], float] | None = None,
    final: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Log-likelihood, AIC and BIC at the final parameters (and at the optimum) when
    the model has a likelihood; slopes in x's own units for a standardised linear
    model. ``loglik`` sums the log-likelihood of every row at given parameters
    (default: over the plan's data). ``final``: the final values, where they are
    not ``history``'s last (weights early stopping restored)."""
    out: dict[str, Any] = {}
    if final is None:
        final = (
            {k: np.asarray(v[-1]) for k, v in history.params.items()}
            if len(history.batch_loss)
            else dict(p.trainable)
        )
    if hasattr(p.m, "original_units") and p.m.center is not None:
        # a held slope or intercept takes part as it is held
        held = {k: np.asarray(v) for k, v in p.fixed.items() if k in ("w", "b")}
        units: dict[str, Any] = {
            "final": _listed(p.m.original_units({**held, **final}))
        }
        if "optimum" in reference:
            units["optimum"] = _listed(
                p.m.original_units({**held, **reference["optimum"]})
            )
        if "covariance" in reference:
            units["stderr"] = _listed(
                units_stderr(p.m, reference["optimum"], reference["covariance"], held)
            )
        intervals = units_intervals(p.m, reference, units)
        if intervals:
            units["ci"] = intervals
        out["original_units"] = units
    has_likelihood = p.m.kind == "distribution" or p.loss == "nll"
    if not has_likelihood:
        return out
    k = int(sum(np.size(v) for v in p.trainable.values()))
    n = p.n_rows
    points = {"final": final}
    if "optimum" in reference:
        points["optimum"] = reference["optimum"]
    stats: dict[str, Any] = {"n_params": k, "n_rows": n}
    with jax.enable_x64(True):
        if loglik is None:
            loglik = log_likelihood_at(p.m, p.xs, p.ys)
        for where, params in points.items():
            ll = loglik({**params, **p.fixed})
            stats[where] = {
                "loglik": ll,
                "aic": 2 * k - 2 * ll,
                "bic": k * math.log(n) - 2 * ll,
            }
    out["likelihood"] = stats
    return out


def units_intervals(
    m: Any, reference: dict[str, Any], units: dict[str, Any]
) -> dict[str, list[Any]]:
    """A standardised model's intervals in x's own units, at the level of the
    standardised ones: a slope's is its standardised one over its column's
    spread; the intercept's the profile's of the intercept in x's own units where
    the intervals are profiles (``ci_b_in_x_units``), else Wald's about its
    estimate in x's units with its standard error there, at the quantile the
    standardised interval took (Student's t for least squares, the normal's, 1.96
    for 95%, for a likelihood); any other parameter's (a scale) as it is."""
    ci = reference.get("ci") or {}
    out: dict[str, list[Any]] = {}
    if "w" in ci:
        spread = np.asarray(m.spread, np.float64)
        low, high = (np.asarray(v, np.float64) / spread for v in ci["w"])
        out["w"] = [low.tolist(), high.tolist()]
    if reference.get("ci_b_in_x_units") is not None:
        out["b"] = list(reference["ci_b_in_x_units"])
    elif "b" in ci and "b" in (units.get("stderr") or {}):
        best = float(reference["optimum"]["b"])
        se = float(np.asarray(reference["stderr"]["b"]))
        quantile = (float(ci["b"][1]) - best) / se if se > 0 else math.nan
        at = float(units["optimum"]["b"])
        spread_b = quantile * float(units["stderr"]["b"])
        if math.isfinite(spread_b):
            out["b"] = [at - spread_b, at + spread_b]
    # a likelihood's other parameters (a Gaussian's scale) are the same in
    # either units, as their estimates and errors are
    out |= {k: list(v) for k, v in ci.items() if k not in ("w", "b")}
    return out


def units_stderr(
    m: Any, optimum: dict[str, Any], cov: Any, held: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Standard errors of a standardised model's parameters in x's own units: x's
    own slopes and intercept are an affine map A of the standardised ones
    (``original_units``: w / spread, b - w . center / spread), so their covariance
    is A cov A^T, exactly (the delta method, with no approximation for a linear
    map). A is read off the map itself, a parameter at a time, with ``held``
    values (a held w or b) as they are: they move nothing."""
    held = held or {}
    size = sum(int(np.size(v)) for v in optimum.values())

    def moved(v: np.ndarray) -> dict[str, np.ndarray]:
        """x's own units at the standardised values ``v`` (flat)."""
        out = m.original_units({**held, **unflat(optimum, v)})
        return {k: np.asarray(out[k], float) for k in out}

    origin = moved(np.zeros(size))
    errors = {}
    for k, at in origin.items():
        # row i of A: how x's own value k[i] moves with each standardised value
        rows = np.stack([np.ravel(moved(e)[k] - at) for e in np.eye(size)], axis=1)
        if not rows.any():
            continue  # held, and moved by nothing estimated: no error
        variance = np.einsum("ij,jk,ik->i", rows, np.asarray(cov, float), rows)
        errors[k] = np.sqrt(np.where(variance > 0, variance, np.nan)).reshape(
            np.shape(at)
        )
    return errors


def _listed(params: dict[str, Any]) -> dict[str, Any]:
    return {k: np.asarray(v).tolist() for k, v in params.items()}


def log_likelihood(m: Any, params: dict[str, Any], x: Any, y: Any) -> float:
    """The summed log-likelihood of all rows, in float64."""
    return log_likelihood_at(m, x, y)(params)


def log_likelihood_at(m: Any, x: Any, y: Any) -> Callable[[dict[str, Any]], float]:
    """The summed log-likelihood of all rows (float64) as a function of the
    parameters. It is compiled once per model and data shape (run op by op, the
    log-likelihood at the final parameters and at the optimum cost 0.3 s of small
    compilations), so a streamed run's equal chunks share one program, as do
    data of nearby sizes (``rowsums.padded``)."""
    xs, ys = rowsums.padded(x, y)

    def at(params: dict[str, Any]) -> float:
        with jax.enable_x64(True):
            p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
            xd = None if xs is None else to_device(xs, xs.dtype)
            if isinstance(ys, rowsums.Padded):
                yd = ys.map(lambda v: to_device(v, v.dtype))
            else:
                yd = to_device(ys, ys.dtype)
            return float(_log_likelihood_fn(m)(p64, xd, yd))

    return at


@functools.lru_cache(maxsize=16)
def _log_likelihood_fn(m: Any) -> Any:
    def total(params: dict[str, Any], x: Any, y: Any) -> Any:
        def block(xb: Any, yb: Any, mask: Any, how: str) -> Any:
            return reduce(log_likelihood_rows(m, params, xb, yb), mask, how)

        # in float64 a block of rows at a time: no float64 copy of the data
        return reduce_rows(block, x, y, "sum")

    return compiler.jit(total)
