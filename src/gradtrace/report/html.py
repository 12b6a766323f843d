"""``gradtrace report``: one HTML file that works offline (script, styles and data
inlined; nothing fetched). A slider and a play button move through the steps, and
each move redraws the fit over the data, the point on the loss landscape, the loss
curve's marker, the table of parameters and gradients, and the rows of the batch."""

from __future__ import annotations

import json
import math
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gradtrace.errors import COMMAND_LINE, InputError
from gradtrace.text import model_by_loss

#: At most this many steps (frames) and data rows go into the page.
MAX_FRAMES = 1500
MAX_ROWS = 4000
MAX_BATCH_ROWS = 200
#: A model of several x columns is drawn as y against its prediction: of at most
#: this many rows, at this many frames (the nearest earlier one stands for those
#: between), so that the page stays small.
PREDICTION_ROWS = 400
PREDICTION_FRAMES = 120


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def _drawn(v: Any) -> float | None:
    """A value only drawn (a point on a canvas a few hundred pixels high): five
    significant digits, not seventeen."""
    f = _num(v)
    return None if f is None else float(f"{f:.5g}")


def payload(trace: Any) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready data."""
    from gradtrace.plot import (
        LOG_STEPS,
        VAL_SQUARES,
        _flat_named,
        _loss_fn,
        _run_data,
        all_rows,
        data_rows,
        finite_optimum,
        landscape_rows,
        one_x_column,
        ran_away,
    )
    from gradtrace.tables import (
        param_columns,
        param_labels,
        schedule_columns,
        slope_columns,
    )

    info = trace.info
    frame = trace.to_pandas()
    # a long run read thinned (every kept-th step, ``load(thin=True)``): its rows
    # are found by step; a whole trace's row s is step s
    position = {int(s): i for i, s in enumerate(frame["step"].to_numpy())}
    x, y = _run_data(trace)
    sampled = data_rows(trace)
    cols = param_columns(frame)
    n = len(y)
    keep_rows = (
        np.arange(n) if n <= MAX_ROWS else np.linspace(0, n - 1, MAX_ROWS).astype(int)
    )
    k = max(1, math.ceil(trace.steps / MAX_FRAMES))
    kept = 1
    if len(frame) < trace.steps + 1:  # every kept-th step is there
        kept = int(info.get("trace", {}).get("kept_every", 1))
        k = kept * math.ceil(k / kept)
    steps = list(range(0, trace.steps + 1, k))
    if steps[-1] != trace.steps:
        steps.append(trace.steps)
    early = _early_steps(
        trace.steps, kept, int(info.get("trace", {}).get("kept_head", 0))
    )
    if trace.steps >= LOG_STEPS:  # the descent, where every k-th step misses it
        steps = sorted({*steps, *(s for s in early if s in position)})
    from gradtrace.explain import given_rows, loss_taken, steps_rows

    # a frame keeps its batch's first rows and their count, not the whole batch
    batches = {
        s: (rows[:MAX_BATCH_ROWS], len(rows))
        for s, rows in steps_rows(info, [s for s in steps if s >= 1])
    }
    dropped = bool(info["data"].get("dropped_at"))
    n_rows = int(info["data"]["n_rows"])
    # a schedule's rate each step used, and the momentum OneCycleLR or CyclicLR
    # set (not a parameter of that name, which has its gradient)
    scheduled = schedule_columns(frame)
    frames = []
    at = [frame.iloc[position[s]] for s in steps]
    for s, row in zip(steps, at, strict=True):
        shown, count = batches.get(s, (np.zeros(0, np.int64), 0))
        frames.append(
            {
                "step": s,
                "epoch": int(row["epoch"]),
                "batch": int(row["batch"]),
                "params": {c: _num(row[c]) for c in cols},
                "grads": {c: _num(row[f"grad_{c}"]) for c in cols},
                "batch_loss": _num(row["batch_loss"]),
                "running_loss": _num(row["running_loss"]),
                "loss": _num(row["loss"]),
                "loss_taken": loss_taken(info, s),
                **(
                    {"val_loss": _num(row["val_loss"])}
                    if "val_loss" in frame.columns
                    else {}
                ),
                **(
                    {"rates": {c: _num(row[c]) for c in scheduled}} if scheduled else {}
                ),
                "n_rows": count,
                # positions in the data drawn, and the same rows by their place
                # in the data as given where --drop-missing dropped some; none
                # for a batch of every row (the page says so)
                **(
                    {}
                    if count == n_rows
                    else {
                        "rows": shown.tolist(),
                        **(
                            {"labels": given_rows(info, shown).tolist()}
                            if dropped
                            else {}
                        ),
                    }
                ),
            }
        )
    data: dict[str, Any] = {
        "y": [float(v) for v in y[keep_rows]],
        # the rows' numbers (of a streamed run's sample, the sample's)
        "index": [
            int(i) for i in (keep_rows if sampled is None else sampled[keep_rows])
        ],
    }
    if (column := one_x_column(x, n)) is not None:
        data["x"] = [float(v) for v in column[keep_rows]]
    curve = _curves(trace, x, y, at)
    if curve is None and x is not None:
        data["predictions"] = _predictions(trace, x, y, keep_rows, at)
    if curve is not None:
        data["grid"] = curve["grid"]
        data["discrete"] = curve["discrete"]
        for f, values in zip(frames, curve["values"], strict=True):
            f["curve"] = values
    # a run that blew up: the step from which its line and its point leave the
    # charts framed on the steps before (as landscape.png is)
    cut = ran_away(trace, frame["loss"].to_numpy(float))  # a row's position
    left_at = None if cut is None else int(frame["step"].iloc[cut])
    landscape = None
    if len(cols) >= 2:
        rows, over = landscape_rows(trace)
        loss = _loss_fn(trace, rows)
        landscape = _landscape(trace, cols[0], cols[1], frame, loss, cut, rows)
        landscape["over"] = over
    return {
        "title": f"{model_by_loss(info)}, {info['optimizer']['name']}"
        # the column added to the linear predictor as it is, as fit's header says
        + (
            f", offset {info['data']['x'][-1]}"
            if len(slope_columns(info)) < len(info["data"]["x"] or [])
            else ""
        ),
        "model": info["model"],
        "loss": info["loss"],
        "params": cols,
        "param_labels": param_labels(trace, cols),
        "fixed": info["fixed"],
        "status": trace.status,
        "steps": trace.steps,
        # as loss.png's: a long run's steps on a log scale
        "log_steps": trace.steps >= LOG_STEPS,
        "left_at": left_at,
        "batches_per_epoch": int(info["schedule"]["batches_per_epoch"]),
        "frame_every": k,
        # frames at log-spaced steps before the every-k-th ones (a long run)
        "early_frames": trace.steps >= LOG_STEPS,
        "message": trace.ending(),
        # as the message, in the command's words
        # a list of warnings, each without the command's "warning: " before it
        "warnings": [
            w.removeprefix("warning: ")
            for w in trace.convergence_warnings() + trace.diagnosis_warnings()
        ],
        # what the run noted of its data and settings (rows dropped, uneven
        # noise), as the command's "note:" lines
        "notes": [f"{n}." for n in info.get("notices", [])],
        "optimizer": info["optimizer"],
        "schedule": _schedule_line(info, frame),
        "optimum": finite_optimum(info),
        "optimum_loss": info.get("optimum_loss"),
        # "all the data", or "all the training rows" beside held-out ones
        "all_rows": "all the " + all_rows(info).removeprefix("all "),
        "validation": _validation_points(frame, trace.steps >= LOG_STEPS),
        "loss_points": _loss_points(frame, trace.steps >= LOG_STEPS),
        # the most epochs whose validation loss is a square each, as loss.png's
        "val_squares": VAL_SQUARES,
        "truth": _flat_named(trace.truth),
        "x_name": (info["data"]["x"] or [""])[0],
        "y_name": info["data"]["y"],
        "n_rows": int(info["data"]["n_rows"]),
        "data": data,
        "frames": frames,
        "landscape": landscape,
    }


#: Frames a long run's page adds at log-spaced steps (``LOG_STEPS`` or more), so
#: that its descent is drawn: every k-th step of 2 million is step 1340 first.
EARLY_FRAMES = 300


def _early_steps(n_steps: int, kept: int, head: int) -> list[int]:
    """About ``EARLY_FRAMES`` steps spaced evenly on a log scale from 1 to
    ``n_steps``; past a thinned run's first ``head`` steps, the nearest kept ones
    (multiples of ``kept``)."""
    spaced = np.unique(np.geomspace(1, n_steps, EARLY_FRAMES).astype(np.int64))
    return sorted(
        {
            int(s) if s < head or kept == 1 else kept * round(int(s) / kept)
            for s in spaced
        }
    )


#: The most validation losses a report draws (evenly spaced epochs beyond).
MAX_VAL_POINTS = 2000


#: The most points of the loss over all the data the page draws
MAX_LOSS_POINTS = 2000


def _loss_points(frame: Any, log_steps: bool) -> list[list[float | None]]:
    """[step, loss over all the data] at each step where the run took it, at
    most ``MAX_LOSS_POINTS``: a long run's log-spaced over its steps, as its
    axis is. The frames' own (every k-th step) missed a long run's descent: its
    loss, taken every 50 steps, went from the start to step 56050 in one line."""
    taken = frame[np.isfinite(frame["loss"].to_numpy(float))]
    taken = taken.iloc[
        _thinned(taken["step"].to_numpy(np.int64), MAX_LOSS_POINTS, log_steps)
    ]
    pairs = zip(taken["step"], taken["loss"], strict=True)
    # every digit: a loss over a narrow span (1.42585 to 1.4259) labels its
    # axis by them
    return [[int(s), _num(v)] for s, v in pairs]


def _thinned(steps: np.ndarray, most: int, log_steps: bool) -> np.ndarray:
    """The positions of at most ``most`` of ``steps`` (ascending), the first and
    the last among them: all where they are no more; else log-spaced over the
    steps where the axis is a log's (a long run's), evenly spaced otherwise."""
    if len(steps) <= most:
        return np.arange(len(steps))
    if log_steps and steps[-1] > 1:
        at = np.geomspace(1, steps[-1], most)
        keep = np.searchsorted(steps, at).clip(0, len(steps) - 1)
    else:
        keep = np.linspace(0, len(steps) - 1, most).astype(int)
    return np.unique(np.concatenate([[0, len(steps) - 1], keep]))


def _validation_points(
    frame: Any, log_steps: bool = False
) -> list[list[float | None]] | None:
    """[step, loss over the validation data] after each epoch where the run had
    validation data (at most ``MAX_VAL_POINTS``, log-spaced on a long run's
    axis, as ``_loss_points``); None without them."""
    if "val_loss" not in frame.columns:
        return None
    held = frame[frame["val_loss"].notna()]
    held = held.iloc[
        _thinned(held["step"].to_numpy(np.int64), MAX_VAL_POINTS, log_steps)
    ]
    return [
        [int(s), _num(v)] for s, v in zip(held["step"], held["val_loss"], strict=True)
    ]


def _curves(
    trace: Any, x: Any, y: np.ndarray, rows: list[Any], size: int = 120
) -> dict[str, Any] | None:
    """The fitted curve at each frame, on one grid: the prediction over x for a model
    of one x column, the density (or mass) over y for a distribution; None for
    several x columns."""
    from gradtrace.plot import (
        _evaluate,
        _model,
        _specs,
        model_grid,
        one_x_column,
        params_of,
    )

    model = _model(trace)
    fixed = trace.info["fixed"]
    specs = _specs(trace, model)
    discrete = bool(getattr(model, "discrete", False))
    if model.kind == "distribution":
        if discrete:
            grid = np.arange(np.floor(np.min(y)), np.ceil(np.max(y)) + 1)[:400]
        else:
            pad = 0.05 * (np.ptp(y) or 1.0)
            lo, hi = float(np.min(y)) - pad, float(np.max(y)) + pad
            if getattr(model, "support", "real") in ("positive", "nonnegative", "unit"):
                lo = max(lo, 1e-9 * max(1.0, float(np.max(y))))
            if getattr(model, "support", "real") == "unit":
                hi = min(hi, 1 - 1e-9)
            grid = np.linspace(lo, hi, size)
    elif one_x_column(x, len(y)) is not None:
        grid = np.linspace(float(np.min(x)), float(np.max(x)), size)
    else:
        return None
    at = model_grid(x, grid)
    values = []
    for row in rows:
        params = params_of(row, fixed, specs)
        if model.kind == "distribution":
            out = np.exp(_evaluate(model, params, None, grid, "log_prob"))
        else:
            out = _evaluate(model, params, at, None, "predict")
        values.append(packed_curve(out))
    return {"grid": [float(g) for g in grid], "discrete": discrete, "values": values}


#: The steps a frame's curve is drawn in, from its lowest point to its highest:
#: a ten-thousandth of its span, under a pixel of any canvas the page draws.
CURVE_STEPS = 9999


def packed_curve(values: Any) -> dict[str, Any]:
    """A frame's curve as the page reads it: ``at`` (its lowest value and the
    size of a step) and ``steps`` (each point's whole number of steps above the
    lowest; None where not finite), the point ``at[0] + steps * at[1]``. Half
    the size of the values written out (a long run's report is mostly its
    frames' curves), and within ``1 / CURVE_STEPS`` of the span of each."""
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return {"at": [0.0, 0.0], "steps": [None] * len(v)}
    lo, hi = float(v[ok].min()), float(v[ok].max())
    step = (hi - lo) / CURVE_STEPS
    if not math.isfinite(step):  # a span beyond the largest float: as given
        return {"at": [0.0, 1.0], "steps": [_drawn(x) for x in v]}
    steps = np.rint((v - lo) / step) if step > 0 else np.zeros_like(v)
    return {
        "at": [lo, step],
        "steps": [int(k) if good else None for k, good in zip(steps, ok, strict=True)],
    }


def unpacked_curve(curve: dict[str, Any]) -> list[float | None]:
    """The points of a ``packed_curve`` (as the page's script reads them)."""
    lo, step = curve["at"]
    return [None if k is None else lo + k * step for k in curve["steps"]]


def _predictions(
    trace: Any,
    x: np.ndarray,
    y: np.ndarray,
    keep_rows: np.ndarray,
    frame_rows: list[Any],
) -> dict[str, Any]:
    """The model's prediction at some of the page's rows (``rows``: positions in
    its data) after some of its frames (``frames``: positions in its frames;
    ``frame_rows``: the trace's row of each frame), and after each of those
    frames the mean prediction and mean y in bins of the prediction (``bins``:
    [[prediction, y], ...]) over the rows fit.png draws (``bin_rows`` of them:
    all, or a fixed random 20000), not over the page's few: over 400 rows the
    bins' means zigzag."""
    from gradtrace.plot import (
        _evaluate,
        _model,
        _specs,
        binned_means,
        params_of,
        points_shown,
    )

    model = _model(trace)
    fixed, specs = trace.info["fixed"], _specs(trace, model)
    kept = len(keep_rows)
    rows = np.unique(np.linspace(0, kept - 1, min(PREDICTION_ROWS, kept)).astype(int))
    at = np.reshape(x, (len(x), -1))[keep_rows[rows]]
    count = len(frame_rows)
    frames = np.unique(
        np.linspace(0, count - 1, min(PREDICTION_FRAMES, count)).astype(int)
    )
    values = [
        [
            _num(v)
            for v in _evaluate(
                model,
                params_of(frame_rows[i], fixed, specs),
                at,
                None,
                "predict",
            )
        ]
        for i in frames
    ]
    shown = points_shown(len(y))
    wide = np.reshape(x, (len(x), -1))[shown]
    truth = np.asarray(y, np.float64)[shown]
    bins = []
    for i in frames:
        pred = _evaluate(
            model, params_of(frame_rows[i], fixed, specs), wide, None, "predict"
        )
        pred = np.asarray(pred, np.float64)
        ok = np.isfinite(pred)
        means = binned_means(pred[ok], truth[ok])
        bins.append([] if means is None else np.column_stack(means).tolist())
    return {
        "rows": rows.tolist(),
        "frames": frames.tolist(),
        "values": values,
        "bins": bins,
        "bin_rows": len(truth),
    }


def _landscape(
    trace: Any,
    a: str,
    b: str,
    frame: Any,
    loss: Any,
    left_at: int | None,
    rows: int,
    size: int = 48,
) -> dict[str, Any]:
    """The loss (``loss``, over ``rows`` rows) on a grid over ``a`` and ``b``, the
    other parameters held as ``plot.held_values`` holds them; framed on the path
    before ``left_at`` (the position in ``frame`` of the step from which the run
    ran away) and the optimum."""
    import jax

    from gradtrace.plot import (
        finite_optimum,
        grid_and_floor,
        held_values,
        loss_of_two,
    )
    from gradtrace.tables import axis_labels, param_columns, param_labels

    pa, pb = frame[a].to_numpy(float), frame[b].to_numpy(float)
    ok = np.isfinite(pa) & np.isfinite(pb)
    if left_at is not None:
        ok[left_at:] = False
    optimum = finite_optimum(trace.info)
    xs = np.concatenate([pa[ok], [optimum.get(a, pa[ok][-1])]])
    ys = np.concatenate([pb[ok], [optimum.get(b, pb[ok][-1])]])
    ga = np.linspace(
        xs.min() - 0.25 * (np.ptp(xs) or 1), xs.max() + 0.25 * (np.ptp(xs) or 1), size
    )
    gb = np.linspace(
        ys.min() - 0.25 * (np.ptp(ys) or 1), ys.max() + 0.25 * (np.ptp(ys) or 1), size
    )
    held, held_at = held_values(trace)
    cols = param_columns(frame)
    names = param_labels(trace, cols)
    others = [names[c] for c in cols if c not in (a, b)]
    with jax.enable_x64(True):
        A, B = np.meshgrid(ga, gb)
        Z, lowest = grid_and_floor(
            trace, loss_of_two(trace, loss, a, b, held), A, B, rows, a, b
        )
    return {
        "a": a,
        "b": b,
        "labels": [axis_labels(trace, cols)[c] for c in (a, b)],  # per SD too
        # what the contours hold fixed, in words: "b held at its optimum value"
        "held": (
            f"{', '.join(others)} held at "
            + (f"its {held_at}" if len(others) == 1 else f"their {held_at}s")
            if others
            else ""
        ),
        "xs": ga.tolist(),
        "ys": gb.tolist(),
        "z": [[_num(v) for v in r] for r in Z],
        # the optimum's loss on the same rows: the darkest colour stands for it
        "lowest": lowest,
    }


def estimates_section(trace: Any) -> str:
    """The run's estimates (``estimates.estimates``) as a static table with a
    caption, and its likelihood statistics where it has them; empty for a run
    without standard errors."""
    from gradtrace.estimates import level_of, shown_estimates
    from gradtrace.text import percent

    shown_with = shown_estimates(trace.info, trace.summary())
    if shown_with is None:
        return ""
    table, notes = shown_with
    head = "".join(f"<th>{escape(c)}</th>" for c in ["parameter", *table.columns])
    body = "".join(
        f"<tr><th>{escape(str(name))}</th>"
        + "".join(f"<td>{escape(v)}</td>" for v in row.tolist())
        + "</tr>"
        for name, row in table.iterrows()
    )
    lik = trace.info.get("likelihood") or {}
    stats = ""
    at = lik.get("optimum")
    if at and math.isfinite(at["loglik"]):
        k = lik["n_params"]
        stats = (
            f"<p>at the optimum: log-likelihood {at['loglik']:.7g}, AIC "
            f"{at['aic']:.7g}, BIC {at['bic']:.7g} ({k} parameter"
            f"{'s' if k != 1 else ''}, {lik['n_rows']} rows)</p>"
        )
    stats = "".join(f"<p>{escape(said)}.</p>" for said in notes) + stats
    method = trace.info.get("ci_method")
    by = f" ({escape(method)})" if method else ""
    held = percent(level_of(trace.info))
    # a positive or (0, 1) parameter has no test against 0 (an edge of its range)
    tested = ", its test against 0" if {"t", "z"} & set(table.columns) else ""
    return (
        '<section id="estimates"><h2>estimates</h2><p>the exact optimum with its '
        f"standard error{tested} and {held} interval{by}; the run's "
        "final values, and how far they ended from it in standard errors</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"{stats}</section>"
    )


def report(trace: Any, out: str | Path) -> Path:
    """Write the report of ``trace`` to ``out`` (an .html file), atomically."""
    out = Path(out)
    flag = COMMAND_LINE.get()  # Python's caller passed no -o
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"{'-o ' * flag}{str(out)!r}: the report is one HTML file; end the "
            "name in .html."
        )
    if out.is_dir():
        raise InputError(
            f"{str(out)!r} is a folder: give "
            + ("a file name to -o." if flag else "a file name ending in .html.")
        )
    assets = resources.files("gradtrace.report")
    template = (assets / "template.html").read_text()
    script = (assets / "report.js").read_text()
    style = (assets / "report.css").read_text()
    blob = json.dumps(payload(trace), separators=(",", ":")).replace("</", "<\\/")
    html = (
        # first: the data put in after them cannot hold a placeholder of their own
        template.replace("<!--ESTIMATES-->", estimates_section(trace))
        .replace("<!--TITLE-->", escape(f"gradtrace: {model_by_loss(trace.info)}"))
        .replace("/*STYLE*/", style)
        .replace("/*SCRIPT*/", script)
        .replace("/*DATA*/", blob)
    )
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {str(out)!r} ({err.strerror or err})."
        ) from None
    return out


def _schedule_line(info: dict[str, Any], frame: Any) -> str | None:
    """The summary's line on a learning-rate schedule ("learning rate
    keras.cosine_restarts(...): 0.1 at step 1, ..."), or None without one."""
    schedule = info.get("lr_schedule")
    if not schedule:
        return None
    from gradtrace.core.schedules import LrSchedule
    from gradtrace.tables import rate_span

    params = {k: v for k, v in schedule.items() if k != "name"}
    rule = LrSchedule.create(schedule["name"], **params)
    return f"learning rate {rule}{rate_span(frame, cuts=rule.adaptive)}"
