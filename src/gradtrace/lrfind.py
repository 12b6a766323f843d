"""The learning-rate range test: one run whose rate grows exponentially, the loss
against the rate, and a suggested rate.

The rate grows from ``lr_min`` to ``lr_max`` over the steps (one batch each); the
test stops once the loss passes four times its lowest so far (``_stop``). The loss
is smoothed on a log scale, centred and resistant (``_smooth``); the suggestion is
the rate where the smoothed loss falls fastest against log(rate), below the
smoothed curve's lowest point, the usual reading of the test; next to it stand the
rate where the smoothed loss reaches its floor (within 2% of its fall of its
lowest) and, for gradient descent, the curvature's stable limit 2/L and fastest
full-batch rate 2/(mu + L) from ``diagnose``.

With mini-batches the test reads the loss over all the rows after each step
(over a fixed random ``READ_ROWS`` of them in larger data), not the batches':
which rows a batch drew moves its loss by more than the first rates move the
parameters, and the steepest fall of that noise was read as the suggestion.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from gradtrace import held_out
from gradtrace.core import batches, compiler, transforms
from gradtrace.core.diagnose import READS_RATE_ONCE
from gradtrace.errors import InputError, from_callers_line, stop_if_interrupted
from gradtrace.planning import plan, plan_reference
from gradtrace.run_config import RunConfig, model_and_loss, python_names
from gradtrace.sources import DataLike, frame_of, source_name
from gradtrace.text import RPROP_SWEEP

#: how ``LRFind.notes`` names the options to change, in Python
PYTHON_NAMES = {"init": "init=", "lr_min": "lr_min=", "lr_max": "lr_max="}


def _rate(value: Any) -> float:
    """A rate of the diagnosis as a float: NaN for none."""
    return math.nan if value is None else float(value)


class LRFind(NamedTuple):
    """What ``lr_find`` returns, a pair that unpacks as ``table, summary``:
    ``table`` (step, lr, batch_loss, with mini-batches the loss over all the
    rows after the step, smoothed: one row a step) and ``summary``
    (``suggested_lr``, ``min_loss_lr``, the diagnosis' ``stable_lr`` and
    ``fastest_lr``, each NaN where there is none, where the test stopped, and its
    notes); ``plot()`` draws what ``gradtrace lr-find`` draws."""

    table: pd.DataFrame
    summary: dict[str, Any]

    @property
    def suggested_lr(self) -> float:
        """Where the smoothed loss fell fastest against log(rate), below its lowest
        point (NaN where it did not fall)."""
        return float(self.summary["suggested_lr"])

    def to_pandas(self) -> pd.DataFrame:
        """The steps (a copy of ``table``): step, lr, batch_loss, loss (with
        mini-batches: over all the rows, or ``READ_ROWS`` of them, after the
        step), smoothed (NaN beyond where the test stopped)."""
        return self.table.copy()

    @from_callers_line
    def plot(self, ax: Any = None) -> Any:
        """The batch loss and its smoothed curve against the rate, with the
        suggested rate, the smoothed loss's floor and the stable limit 2/L, as
        ``gradtrace lr-find`` draws it (``gradtrace.sweep_plots.lr_find``).
        ``ax``: a matplotlib axes of yours to draw on (its legend inside); that
        axes is then returned, as ``Trace.plot`` returns it."""
        from gradtrace import sweep_plots
        from gradtrace.plot import check_axes

        check_axes(ax)
        drawn = sweep_plots.lr_find(self.table, self.summary, ax=ax)
        return drawn if ax is None else ax

    @property
    def notes(self) -> list[str]:
        """What the reading warns of: a small fall, a fall that began below the
        first rate, a suggestion above the stable limit, a loss still falling at the
        last."""
        return self.notes_naming(PYTHON_NAMES)

    def notes_naming(self, names: dict[str, str]) -> list[str]:
        """``notes``, naming the options to change as ``names`` does (``init``,
        ``lr_min``, ``lr_max``: "init=", "lr_min=" in Python, "--init", "--min "
        on the command line, the value following)."""
        s, rates = self.summary, self.table["lr"]
        init, low, high = names["init"], names["lr_min"], names["lr_max"]
        out = []
        best = s.get("optimum_loss")
        if s["small_fall"] and best is not None and math.isfinite(best):
            # how far the loss could fall at all: the optimum's, not the start
            out.append(
                f"the smoothed loss fell only from {s['fell_from']:.4g} to "
                f"{s['fell_to']:.4g}, and the optimum's loss is {best:.4g}: there "
                "is little to fall by (the rest is noise the model does not fit, "
                "or the start is near the optimum), so the suggestion says little; "
                f"start further away ({init}) to read the test"
            )
        elif s["small_fall"]:
            out.append(
                f"the smoothed loss fell only from {s['fell_from']:.4g} to "
                f"{s['fell_to']:.4g}: the start is close to the optimum, so the "
                f"suggestion says little; start further away ({init}) to read the "
                "test"
            )
        if s["fell_at_start"]:
            out.append(
                "the loss fell fastest at the first rates: the fall began below "
                f"{low}{rates.iloc[0]:g}; run again with a smaller {low.strip(' =')}"
            )
        stable = _rate(s.get("stable_lr"))  # NaN for none, older summaries too
        if s["suggested_lr"] > stable:  # NaNs compare False
            out.append(
                f"the suggested rate {s['suggested_lr']:.3g} is above the "
                f"curvature's stable limit, {stable:.3g}: the test's rate passed it "
                "for a few steps only, and a run at it may diverge; take a rate "
                f"below the limit, such as {stable / 2:.2g}"
            )
        floor = s["min_loss_lr"]
        if floor > stable and not s["suggested_lr"] > stable:
            out.append(
                f"the floor of the smoothed loss begins at {floor:.3g}, above the "
                f"curvature's stable limit, {stable:.3g}: the test's rate passed the "
                "limit a few steps before the loss had the steps to grow; a run at "
                "that rate diverges"
            )
        if s["still_falling"]:
            out.append(
                f"the loss was still falling at {high}{rates.iloc[-1]:g}: a larger "
                f"{high.strip(' =')} shows where it stops"
            )
        return out

    def _lines(self) -> tuple[str, list[str]]:
        """The test in a line, and its readings."""
        s, rates = self.summary, self.table["lr"]
        head = (
            f"LRFind {s['model']}/{s['loss']} {s['optimizer']}: {len(rates)} steps, "
            f"lr {rates.iloc[0]:.3g} to {rates.iloc[-1]:.3g}"
        )
        end = (
            f"the loss blew up at step {s['stopped_at_step']} "
            f"(lr {rates.iloc[s['stopped_at_step'] - 1]:.3g})"
            if s["blew_up"]
            else "the loss did not blow up"
        )
        readings = [
            f"suggested lr {s['suggested_lr']:.3g} (steepest fall)"
            if math.isfinite(s["suggested_lr"])
            else "no suggested lr (the smoothed loss did not fall)",
        ]
        if math.isfinite(s["min_loss_lr"]):
            readings.append(
                f"floor of the smoothed loss from lr {s['min_loss_lr']:.3g}"
            )
        stable = _rate(s.get("stable_lr"))  # NaN for none, older summaries too
        if math.isfinite(stable):
            name = s.get("stable_name", "stable limit 2/L")
            # "of batches of 10": a colon keeps the size from the rate
            readings.append(f"{name}{':' * name[-1].isdigit()} {stable:.3g}")
        fastest = _rate(s.get("fastest_lr"))
        if math.isfinite(fastest):
            readings.append(f"fastest full-batch rate 2/(mu + L) {fastest:.3g}")
        return head, [*readings, end]

    def __repr__(self) -> str:
        head, readings = self._lines()
        return f"<{head}; {'; '.join(readings)}>" + "".join(
            f"\n  note: {n}" for n in self.notes
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the test in a line, its readings and notes."""
        from html import escape

        head, readings = self._lines()
        from gradtrace.text import warned

        notes = warned(self.notes, "note: ")
        items = "".join(f"<li>{escape(r)}</li>" for r in readings)
        return f"<p><b>gradtrace</b> {escape(head)}</p>{notes}<ul>{items}</ul>"


#: Steps a compiled call of the range test takes: a longer test returns to
#: Python between them (a Ctrl-C stops it there)
CHUNK_STEPS = 8192
#: The most steps a range test takes (its table holds a row a step)
MOST_STEPS = 1_000_000


@python_names
def lr_find(
    data: DataLike,
    model: Any = None,
    loss: Any = None,
    *,
    lr_min: float = 1e-7,
    lr_max: float = 10.0,
    steps: int = 100,
    **fit_options: Any,
) -> LRFind:
    """Run the learning-rate range test: one run whose rate grows exponentially from
    ``lr_min`` to ``lr_max`` over ``steps`` steps (one batch each), stopped where the
    loss passes 4x its lowest.

    Returns an ``LRFind``, which unpacks as ``table, summary``: the table of step,
    lr, batch_loss and smoothed, and a summary with ``suggested_lr``,
    ``min_loss_lr`` (where the smoothed loss reaches its floor) and the diagnosis'
    ``stable_lr`` and ``fastest_lr``; ``plot()`` draws it.

    Args:
        data, model, loss: as for ``fit``.
        lr_min, lr_max: the first and last rates. steps: the steps between them.
        **fit_options: the rest of ``fit``'s options (optimizer, opt, batch_size,
            seed, shuffle, init, fix, reduction, dtype, x, y, ...).

    Examples:
        >>> import gradtrace
        >>> found = gradtrace.lr_find("seed001_line", steps=50)
        >>> found  # doctest: +ELLIPSIS
        <LRFind line/mse sgd: 50 steps, lr 1e-07 to 10; suggested lr ...>
        >>> table, summary = found
        >>> round(found.suggested_lr, 2), round(summary["stable_lr"], 2)
        (0.23, 0.78)
    """
    if not (0 < lr_min < lr_max) or not math.isfinite(lr_max):
        raise InputError(
            f"the range needs 0 < --min < --max, got {lr_min} and {lr_max}."
        )
    if steps < 5:
        raise InputError(f"--steps must be at least 5, got {steps}.")
    if steps > MOST_STEPS:
        raise InputError(
            f"--steps {steps} is more than a range test takes (at most {MOST_STEPS}; "
            "100 to 1000 show where the loss falls fastest and where it blows up): "
            "give fewer."
        )
    if "lr" in fit_options:
        raise InputError(
            "the range test sets the rate itself, growing from lr_min to lr_max: "
            "give those instead of lr=."
        )
    if "epochs" in fit_options:
        raise InputError(
            "the range test runs steps= steps of one batch each: give steps= "
            "instead of epochs=."
        )
    if fit_options.get("clip"):
        raise InputError(
            "the range test measures how the loss answers the rate unclipped: drop "
            "clip (find the rate, then clip in fit)."
        )
    if fit_options.get("lr_schedule"):
        raise InputError(
            "the range test sets the rate itself, growing from lr_min to lr_max: "
            "drop lr_schedule (find the starting rate, then schedule it in fit)."
        )
    held_out.refuse("the range test", fit_options)
    frame, source = frame_of(data)
    model_obj, loss_obj, model, loss = model_and_loss(model, loss, fit_options)
    config = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        steps=steps,
        lr=lr_min,
        **fit_options,
    )
    p = plan(config, frame, source, model_obj, loss_obj, record=False)
    if p.spec.name in READS_RATE_ONCE:
        raise InputError(
            f"{p.spec.name} reads the rate once, as its weights' first step size, "
            "then sets each step size by the gradients' signs: a range test's "
            "growing rate does not reach it. Fit with its default --lr 0.01 (its "
            f"step sizes adapt from there), or sweep its first step size: "
            f"{RPROP_SWEEP}."
        )
    tx = p.spec.build_range(lr_min, lr_max, steps)
    problem, sch = p.problem, p.schedule
    dtype = jnp.dtype(p.pdtype)
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        params = {k: jnp.asarray(v, dtype) for k, v in p.trainable.items()}
        fixed = {k: jnp.asarray(v, dtype) for k, v in p.fixed.items()}
        x = None if p.xs is None else jnp.asarray(p.xs, p.cdtype)
        y = jnp.asarray(p.ys, p.cdtype)
        shuffled = config.shuffle if not sch.full_batch else False
        epochs = -(-sch.n_steps // sch.batches_per_epoch)
        key = batches.order_source(shuffled, int(config.seed), sch.n_rows, 0, epochs)
        read_x, read_y, read_scale = _read_rows(p, x, y, int(config.seed))

        def step(carry: Any, t: Any) -> Any:
            params, state = carry
            per_epoch = sch.batches_per_epoch
            picked = batches.epoch_batch(
                key,
                t // per_epoch,
                t % per_epoch,
                sch.n_rows,
                sch.batch_size,
                shuffled,
            )
            xb, yb, mask = batches.gather(picked, x, y)
            value, grads = problem.value_and_grad(params, fixed, xb, yb, mask)
            updates, state = tx.update(grads, state, params)
            params = transforms.apply_updates(params, updates)
            after = jnp.nan
            if read_y is not None:  # the loss over all the rows after the step
                after = problem.objective(params, fixed, read_x, read_y) * read_scale
            return (params, state), (value, after)

        # a chunk of steps a call, so that Ctrl-C stops a long test between
        # chunks; once the parameters are not finite, the steps left are NaN
        # chunks of one size that tile the steps about evenly: the last one
        # computes at most a step a chunk past the test's end (8193 steps of
        # 8192-step chunks computed 16384)
        size = -(-steps // -(-steps // CHUNK_STEPS))
        run = compiler.jit(
            lambda carry, t0: jax.lax.scan(step, carry, t0 + jnp.arange(size))
        )
        carry = (params, tx.init(params))
        losses = np.full(steps, np.nan)
        afters = np.full(steps, np.nan)
        for t0 in range(0, steps, size):
            carry, (value, after) = run(carry, jnp.asarray(t0, jnp.int32))
            took = min(size, steps - t0)
            losses[t0 : t0 + took] = np.asarray(value, np.float64)[:took]
            afters[t0 : t0 + took] = np.asarray(after, np.float64)[:took]
            stop_if_interrupted()  # a Ctrl-C Python dropped while it ran
            if not all(np.all(np.isfinite(v)) for v in jax.tree.leaves(carry[0])):
                break
    rates = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    reading = read(losses if read_y is None else afters, rates)
    columns = {"step": np.arange(1, steps + 1), "lr": rates, "batch_loss": losses}
    if read_y is not None:
        columns["loss"] = afters
    table = pd.DataFrame({**columns, "smoothed": reading.pop("smoothed")})
    if read_y is None:  # full batch: the batch is all the rows
        reading["read"] = f"loss over all {p.n_rows} rows, before each step"
    else:
        reading["read"] = (
            "loss over all rows after each step"
            if len(read_y) == p.n_rows
            else f"loss over a random {len(read_y)} of the rows after each step"
        )
    reference = plan_reference(p, [])
    d = reference.get("diagnosis", {})
    summary = {
        **reading,
        # NaN where the diagnosis has none (an adaptive optimizer; no exact
        # answer), as suggested_lr is where the test found none
        "stable_lr": _rate(d.get("stable_lr")),
        # which limit it is: a mini-batch's can be below 2/L over all rows
        "stable_name": stable_name(d, sch.batch_size, sch.full_batch),
        "full_batch_lr": _rate(d.get("full_batch_lr")),
        "fastest_lr": _rate(d.get("fastest_lr")),
        "optimum_loss": reference.get("optimum_loss"),
        "family": d.get("family"),
        "optimizer": p.spec.name,
        "model": p.m.name,
        "loss": p.loss,
        # what the plan had to say of the data (rows dropped, a batch size clamped)
        "notices": list(p.notices),
    }
    return LRFind(table, summary)


def stable_name(diagnosis: dict[str, Any], batch_size: int, full_batch: bool) -> str:
    """What a diagnosis's stable limit is, in a legend's words: gradient
    descent's 2/L, momentum's 2(1+m)/L (Nesterov's 2(1+m)/((1+2m)L)), or, where
    mini-batches' curvatures set a lower one, the limit of batches of that size."""
    stable = _rate(diagnosis.get("stable_lr"))
    full = _rate(diagnosis.get("full_batch_lr"))
    if not full_batch and math.isfinite(full) and stable < full * (1 - 1e-9):
        return f"stable limit of batches of {batch_size}"
    if diagnosis.get("family") == "momentum":
        if diagnosis.get("nesterov"):
            return "stable limit 2(1+m)/((1+2m)L)"
        return "stable limit 2(1+m)/L"
    return "stable limit 2/L"


#: With mini-batches, the most rows the loss after each step is taken over (a
#: fixed random sample of them in larger data).
READ_ROWS = 65_536


def _read_rows(p: Any, x: Any, y: Any, seed: int) -> tuple[Any, Any, float]:
    """The rows whose loss a mini-batch test reads after each step, and what
    scales it to the full data's (a sum over a sample of them); (None, None, 1)
    for full-batch steps, whose batch loss is the full data's."""
    if p.schedule.full_batch:
        return None, None, 1.0
    n = p.n_rows
    if n <= READ_ROWS:
        return x, y, 1.0
    rows = np.sort(np.random.default_rng(seed).choice(n, READ_ROWS, replace=False))
    scale = n / READ_ROWS if p.reduction == "sum" else 1.0
    return None if x is None else x[rows], y[rows], scale


#: The test stops once the loss passes this many times its lowest so far (fastai's
#: and Sylvain Gugger's rule; pytorch-lr-finder's is 5).
BLOWN_UP = 4.0

#: The smoothed curve's lowest point: the first rate where it comes within this
#: share of its fall of its minimum (on a flat floor, the exact minimum is noise:
#: the lowest of many equal losses, or the last step before the rate outgrew the
#: curvature's limit and the loss had not yet had the steps to grow).
FLOOR = 0.02

#: A fall of the smoothed loss smaller than this (relative) is rounding, not a fall.
NO_FALL = 1e-3

#: A fall of the smoothed loss smaller than this share of it makes a suggestion
#: that says little (a start next to the optimum).
SMALL_FALL = 0.1


def read(losses: np.ndarray, rates: np.ndarray) -> dict[str, Any]:
    """The reading of a range test's batch losses at ``rates``: where it stopped,
    the smoothed curve (NaN beyond), the suggested rate (the steepest fall of the
    smoothed curve below its lowest point; NaN where it did not fall), the rate of
    the smoothed loss's floor, and whether the steepest fall came at the first rates
    (the range started too high) or the loss still fell at the last (it ended too
    low)."""
    steps = len(losses)
    losses = _floored(losses)
    end, logged = _stop(losses)
    smooth = np.full(steps, np.nan)
    out: dict[str, Any] = {
        "suggested_lr": math.nan,
        "min_loss_lr": math.nan,
        # the steps drawn: up to the one that blew up, or all
        "stopped_at_step": min(end + 1, steps),
        "blew_up": end < steps,
        "fell_at_start": False,
        "still_falling": False,
        "fell_from": math.nan,
        "fell_to": math.nan,
        "log_scale": False,
        "small_fall": False,
    }
    if end == 0:
        out["smoothed"] = smooth
        return out
    values = losses[:end]
    z = _smooth(np.log(values) if logged else values)
    smooth[:end] = np.exp(z) if logged else z
    out["smoothed"] = smooth
    low = int(np.argmin(z))
    fall = float(np.max(z[: low + 1]) - z[low])
    # the smoothed loss's fall, from its highest before its lowest point
    out["fell_from"] = float(smooth[int(np.argmax(z[: low + 1]))])
    out["fell_to"] = float(smooth[low])
    if fall < (NO_FALL if logged else NO_FALL * max(abs(z[0]), abs(z[low]))):
        return out
    floor = int(np.flatnonzero(z <= z[low] + FLOOR * fall)[0])
    out["min_loss_lr"] = float(rates[floor])
    slope = np.gradient(z, np.log(rates[:end])) if end > 1 else np.zeros(1)
    if floor > 0:
        steepest = int(np.argmin(slope[:floor]))
        if slope[steepest] < 0:
            out["suggested_lr"] = float(rates[steepest])
            # the fall began before the first rate: the range starts too high
            out["fell_at_start"] = steepest < max(2, end // 20)
    out["still_falling"] = low >= end - 2 and not out["blew_up"]
    out["log_scale"] = logged
    high, bottom = out["fell_from"], out["fell_to"]
    # a small fall that was still going on at the last rate says the range ended
    # too low (``still_falling``), not that the start was near the optimum
    out["small_fall"] = bool(
        math.isfinite(out["suggested_lr"])
        and high - bottom < SMALL_FALL * abs(high)
        and not out["still_falling"]
    )
    return out


def _floored(losses: np.ndarray) -> np.ndarray:
    """Losses of zero among positive ones (noise-free data fitted exactly) raised
    to the smallest positive one, so the test is still read on a log
    scale: one exact zero would otherwise switch the whole reading to a linear
    scale and change its answer. Losses below zero (a likelihood's) are left as
    they are, and read on a linear scale."""
    finite = losses[np.isfinite(losses)]
    positive = finite[finite > 0]
    if not len(positive) or (finite < 0).any() or not (finite == 0).any():
        return losses
    return np.where(losses == 0, positive.min(), losses)


def _stop(losses: np.ndarray) -> tuple[int, bool]:
    """Where the test stopped: the losses to read (the first ``end``; the next one,
    where there is one, was not finite or past ``BLOWN_UP`` times the lowest so
    far), and whether the losses are read on a log scale (all positive).

    The lowest so far, and the loss compared with it, are running medians of five
    batches: one lucky batch does not make the lowest nor an unlucky one the end (a
    median of a rising or falling run of losses is the loss itself, so it is as
    sharp as the losses where they blow up)."""
    from scipy.ndimage import median_filter

    steps = len(losses)
    finite = np.isfinite(losses)
    n = steps if finite.all() else int(np.argmin(finite))
    logged = bool(n and (losses[:n] > 0).all())
    if n == 0:
        return 0, logged
    z = np.log(losses[:n]) if logged else losses[:n]
    med = median_filter(z, size=_window(n), mode="nearest")
    lowest = np.minimum.accumulate(med)
    if logged:
        over = med > lowest + math.log(BLOWN_UP)
    else:  # losses at or below zero (a likelihood's): a rise of (4 - 1)|lowest|,
        # at least its fall from the start
        over = med > lowest + np.maximum(
            (BLOWN_UP - 1) * np.abs(lowest), med[0] - lowest
        )
    blown = np.flatnonzero(over)
    return (int(blown[0]) if blown.size else n), logged


def _window(steps: int) -> int:
    """The running median's width (and twice the Hanning passes) for a test of
    ``steps`` steps: 5 from 50 steps, 3 from 15, none below. A short test's fall
    and rise span few steps, which a wide median would erase (20 steps of a
    linear model fell to 0.0154 and rose 34x within two: a median of five read it
    as still falling)."""
    return 5 if steps >= 50 else 3 if steps >= 15 else 1


def _smooth(values: np.ndarray) -> np.ndarray:
    """The batch losses smoothed (given on a log scale where they are positive):
    a running median of five, then Hanning twice (weights 1, 4, 6, 4, 1).

    The range test's usual smoothing (Gugger's "How do you find a good learning
    rate", fastai's ``AvgSmoothLoss``, pytorch-lr-finder) is an exponential moving
    average of the raw losses, run as the test runs so that it can stop it. Read
    after the run, that average misleads twice: it lags about beta / (1 - beta)
    steps behind the losses, so the steepest fall and the lowest point show at
    larger rates than the losses' own (fastai's advice to step back an order of
    magnitude from the minimum makes up for it); and on a linear scale the first
    losses, often orders of magnitude above the rest, hold it up for many steps.
    The whole run is at hand here, so the smoother is centred (no lag), and
    resistant, after Tukey's ("Exploratory Data Analysis", 1977; the running
    medians and Hanning of his 3RSSH and 4253H smoothers, Velleman, JASA 1980): the
    running median ignores a single lucky or unlucky batch and keeps a fall of
    decades in two steps a fall (a median of a rising or falling run is the run
    itself), Hanning smooths what is left. On the log of the loss, the scale the
    test is read on: the fall measured as a ratio."""
    from scipy.ndimage import median_filter

    z = np.asarray(values, np.float64)
    if len(z) < 3:
        return z.copy()
    z = median_filter(z, size=_window(len(z)), mode="nearest")
    for _ in range(_window(len(z)) // 2):
        # the ends extended along their own slope, so a trend runs on to them
        ends = np.concatenate([[2 * z[0] - z[1]], z, [2 * z[-1] - z[-2]]])
        z = (ends[:-2] + 2 * ends[1:-1] + ends[2:]) / 4
    return z
