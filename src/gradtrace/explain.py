"""A step's arithmetic, the way seed 004's asker tried to follow it in a spreadsheet.

For step N: the batch's rows; the predictions at the parameters before the step;
residuals; each row's loss and gradient; their mean (or sum), which is the gradient
the step used; the optimizer's state before and after; the update and the new
parameters; then the loss as Keras logs it next to the loss over all the data.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from gradtrace.categories import coded
from gradtrace.core import compiler, loop, plateau, rowsums, transforms
from gradtrace.core.batches import epoch_batches, n_batches
from gradtrace.core.bijections import to_constrained, to_unconstrained
from gradtrace.core.catalog import MODELS, kind_of
from gradtrace.core.losses import param_specs, row_losses
from gradtrace.core.optimizers import OptimizerSpec
from gradtrace.core.plateau import PLATEAUS
from gradtrace.errors import InputError
from gradtrace.tables import cut_epochs, schedule_columns
from gradtrace.text import UNCONSTRAINED_AS, fmt, full_batch, learning_rate, listed
from gradtrace.usercode import loss_of, model_of


def step_number(step: int, n_steps: int) -> int:
    """Step ``step`` of a run of ``n_steps``: 1 is the first update, -1 the last."""
    from gradtrace.validate import whole

    given, step = step, whole(step)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise InputError(
            f"step {given!r} is not a whole number: choose a step from 1 to "
            f"{n_steps} (or -1 to -{n_steps}, counted from the end)."
        )
    step = int(step)
    if -n_steps <= step <= -1:
        step += n_steps + 1
    if step == 0:
        raise InputError(
            f"step 0 is the trace's first row, the initial values, before any "
            f"update: choose a step from 1 to {n_steps} (or -1 to -{n_steps}, "
            "counted from the end); step 1 explains the first update, from them."
        )
    if not 1 <= step <= n_steps:
        raise InputError(
            f"step {step} is not in the run: choose a step from 1 to {n_steps} "
            f"(or -1 to -{n_steps}, counted from the end)."
        )
    return step


#: (row numbers, their x, their y): a batch's rows, or a block of them
Block = tuple[np.ndarray, np.ndarray | None, np.ndarray]


class StepRows:
    """The rows of a trace that explaining a step reads, by step number: from the
    frame where it holds every step, else (a long run kept thinned in memory, or
    loaded thinned) from its run folder's parts, a part at a time. Explaining step
    9,999,999 of a ten-million-step run then never holds its trace."""

    def __init__(self, frame: pd.DataFrame, info: dict[str, Any], folder: Any) -> None:
        self.frame, self.info, self.folder = frame, info, folder
        #: whether the frame holds every step, row i being step i
        self.whole = len(frame) == int(info["steps"]) + 1
        if not self.whole and folder is None:
            raise InputError(
                "this trace holds only some of its steps (a long run's kept rows) "
                "and no run folder to read the others from: load the run from its "
                "folder (gradtrace.load(folder)) to explain a step."
            )
        self.columns = list(frame.columns)

    def at(self, *steps: int) -> pd.DataFrame:
        """The rows of ``steps``, indexed by step."""
        if self.whole:
            return self.frame.iloc[list(steps)].set_axis(list(steps))
        from gradtrace.store import trace_steps

        return trace_steps(self.folder, self.info, steps)

    def row(self, step: int) -> pd.Series:
        """The row of ``step``."""
        row: pd.Series = self.at(step).iloc[0]
        return row

    def blocks(self, columns: list[str], last: int) -> Iterator[pd.DataFrame]:
        """Rows 0 to ``last`` of ``columns`` (and ``step``), in blocks indexed by
        step: the whole frame's one block, or a block per part read."""
        wanted = list(dict.fromkeys(["step", *columns]))
        if self.whole:
            yield self.frame.iloc[: last + 1][wanted]
            return
        from gradtrace.store import trace_batches

        for batch in trace_batches(self.folder, self.info, columns=wanted):
            block = batch.to_pandas()
            block = block[block["step"] <= last]
            if len(block):
                yield block.set_axis(block["step"].to_numpy(np.int64))
            if len(batch) and batch.column("step")[-1].as_py() >= last:
                return

    def upto(self, columns: list[str], last: int) -> pd.DataFrame:
        """Rows 0 to ``last`` of those of ``columns`` the trace has, at once (a
        plateau's epochs, judged from every batch before)."""
        had = [c for c in columns if c in self.columns]
        return pd.concat(list(self.blocks(had, last)))


def explain_step(
    frame: pd.DataFrame | StepRows,
    info: dict[str, Any],
    x: np.ndarray | None,
    y: np.ndarray | None,
    step: int,
    model: Any = None,
    loss: Any = None,
    rows_shown: int | None = None,
    read: Callable[[np.ndarray], Iterable[Block]] | None = None,
) -> pd.DataFrame:
    """The rows of step ``step`` (-1: the last) with their arithmetic, and a last
    row with the batch's total (``mean`` or ``sum``, as the loss reduces).
    ``frame``: the trace's every step, or the ``StepRows`` that read them.
    ``rows_shown``: only the batch's first so many rows (a full batch of millions
    makes a table of millions); the last row's total still covers them all.
    ``read``: the batch's rows (row numbers) as blocks read from where the data
    are (``file_blocks``), instead of taken from ``x`` and ``y``.

    ``result.attrs["update"]`` is a DataFrame, one row per parameter: its value
    before, the gradient, the optimizer's state before and after, the update and the
    value after. ``result.attrs["logged"]`` holds the losses as Keras logs them and
    as measured on all the data, and ``result.attrs["why"]`` says why they differ.
    """
    step = step_number(step, int(info["steps"]))
    trace_rows = frame if isinstance(frame, StepRows) else StepRows(frame, info, None)
    if rows_shown is not None and rows_shown < 1:
        raise InputError(
            f"rows={rows_shown!r}: give how many of the batch's first rows to show "
            "(1 or more), or None for all of them."
        )
    model = model_of(info, model)
    loss, reduction = loss_of(info, loss), info["reduction"]
    specs = [s for s in param_specs(model, loss) if s.name in info["initial"]]
    rows = step_rows(info, step)
    if read is not None:
        blocks = read(rows)
    else:
        assert y is not None
        blocks = [(rows, None if x is None else np.asarray(x)[rows], y[rows])]

    before = _params_at(trace_rows.row(step - 1), specs)
    fixed = {k: np.asarray(v, np.float64) for k, v in info["fixed"].items()}
    limit = len(rows) if rows_shown is None else rows_shown
    shown: dict[str, list[Any]] = {}
    sums: dict[str, float] = {}
    with jax.enable_x64(True):
        space = _space(info, specs)
        arithmetic = _arithmetic(model, loss, specs, before, fixed, space, info)
        taken = 0
        # a block of rows at a time: a batch of millions holds no per-row
        # intermediates of all of them (one compiled program for every block)
        pieces = (
            (r[s], None if xb is None else xb[s], yb[s])
            for r, xb, yb in blocks
            for s in rowsums.row_blocks(len(r))
        )
        # log y! over the batch's rows, which the frameworks' Poisson losses
        # leave out: summed as the blocks pass (a file's are read once)
        factorials = [0.0, 0]
        poisson = info["model"] in ("poisson", "poisson-regression")
        from scipy.special import gammaln

        for block_rows, xb, yb in pieces:
            if poisson:
                counts = np.asarray(yb, np.float64)
                factorials[0] += float(np.sum(gammaln(counts + 1)))
                factorials[1] += len(counts)
            out = arithmetic(block_rows, xb, yb)
            # the batch's total, of every row, whatever the rows shown
            for c in ["loss"] + [c for c in out if c.startswith("grad_")]:
                sums[c] = sums.get(c, 0.0) + float(np.sum(out[c]))
            if taken < limit:
                for c, v in out.items():
                    shown.setdefault(c, []).append(v[: limit - taken])
                taken += len(shown["row"][-1])
        count = len(rows) if reduction == "mean" else 1
        last: dict[str, Any] = {
            c: sums[c] / count if c in sums else np.nan for c in shown
        }
        last["row"] = pd.NA  # the index says "mean" (or "sum")
        body = pd.DataFrame({c: _joined(v) for c, v in shown.items()})
        table = pd.concat(
            [body, pd.DataFrame([last]).astype(body.dtypes.to_dict())],
            ignore_index=True,
        )
        # .loc[row]: the rows' numbers, then the total's "mean" (or "sum")
        labels: list[Any] = [*(int(r) for r in body["row"]), reduction]
        table.index = pd.Index(labels, dtype="object")
    # the optimizer replayed as the run ran it: in float32 for a float32 run (under
    # x64 Adam's bias correction 1 - 0.999**t would round otherwise, 10 ulps apart)
    wide = "float64" in (info["dtype"], info.get("compute_dtype"))
    with jax.enable_x64(wide):
        table.attrs["update"] = _update_table(trace_rows, info, specs, step, space)
    with jax.enable_x64(True):
        if any(c != "real" for c in space.values()):
            named = ", ".join(
                f"{k} as {UNCONSTRAINED_AS[c].format(k)}"
                for k, c in space.items()
                if c in UNCONSTRAINED_AS
            )
            table.attrs["space"] = (
                "the optimizer works on log(positive) and logit(probability) "
                "values (--param-space unconstrained): gradients, grad_ columns "
                f"and the update table are in those coordinates ({named})"
            )
    this, previous = trace_rows.row(step), trace_rows.row(step - 1)
    logged, why = _logged(this, previous, info, step, len(rows))
    batch_factorial = factorials[0] / max(factorials[1], 1)
    epoch_factorial = None
    if poisson:  # the epoch's batches so far, of the data or the file
        so_far = range(step - int(this["batch"]) + 1, step + 1)
        epoch_rows = np.concatenate([r for _, r in steps_rows(info, so_far)])
        if y is not None:
            epoch_factorial = float(
                np.mean(gammaln(np.asarray(y, np.float64)[epoch_rows] + 1))
            )
        elif info["schedule"].get("stream"):
            epoch_factorial = _file_log_factorials(info, epoch_rows)
    left_out = _left_out(info, batch_factorial, epoch_factorial)
    if left_out is not None:
        text, batch_off, running_off = left_out
        logged["frameworks_batch_loss"] = logged["batch_loss"] - batch_off
        why += f" {text}: they give this batch {logged['frameworks_batch_loss']:.7g}"
        if running_off is not None:
            logged["frameworks_running_loss"] = logged["running_loss"] - running_off
            why += (
                ", and Keras's own loss would log "
                f"{logged['frameworks_running_loss']:.7g} for the epoch so far"
            )
        why += "."
    table.attrs["logged"], table.attrs["why"] = logged, why
    return table


def _file_log_factorials(info: dict[str, Any], rows: np.ndarray) -> float:
    """The mean log y! over the given rows of a streamed run's file, read a
    chunk at a time (only those that hold some), keeping none of them."""
    from scipy.special import gammaln

    layout = _layout(info)
    chunks = layout.chunks(_file_reader(info))
    rows = np.sort(rows)
    total = 0.0
    for i in range(layout.n_chunks):
        start, stop = layout.chunk(i)
        lo, hi = np.searchsorted(rows, [start, stop])
        if hi > lo:
            y = chunks.read(i)[1]
            taken = np.asarray(y, np.float64)[rows[lo:hi] - start]
            total += float(np.sum(gammaln(taken + 1)))
    return total / max(len(rows), 1)


def _left_out(
    info: dict[str, Any], batch_factorial: float, epoch_factorial: float | None
) -> tuple[str, float, float | None] | None:
    """What the frameworks' own losses leave out of gradtrace's NLL, or None:
    Keras's poisson loss and PyTorch's PoissonNLLLoss drop log y!, PyTorch's
    GaussianNLLLoss drops ½ log 2π. A sentence, the amount left out of this
    batch's mean loss, and of the epoch's running mean so far. A Poisson
    model's: ``batch_factorial``, the mean log y! over the batch's rows, and
    ``epoch_factorial``, over the epoch's batches so far (None where unknown)."""
    if info["loss"] != "nll" or info["reduction"] != "mean":
        return None
    model = info["model"]
    if model in ("poisson", "poisson-regression"):
        batch, running = batch_factorial, epoch_factorial
        text = (
            "Keras's poisson loss and PyTorch's PoissonNLLLoss leave out log y! "
            f"(its mean over this batch's rows: {batch:.7g})"
        )
        return text, batch, running
    if model in ("line", "linear", "poly") and "scale" in {
        **info["initial"],
        **info["fixed"],
    }:
        half_log_2pi = 0.5 * math.log(2 * math.pi)
        text = "PyTorch's GaussianNLLLoss leaves out ½ log 2π (0.9189385 a row)"
        return text, half_log_2pi, None
    return None


def _joined(parts: list[Any]) -> Any:
    """A column's blocks as one column (the row numbers stay Int64)."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], pd.api.extensions.ExtensionArray):  # row numbers
        whole = np.concatenate([v.to_numpy(dtype=np.int64) for v in parts])
        return pd.array(whole, dtype="Int64")
    return np.concatenate(parts)


def _arithmetic(
    model: Any,
    loss: Any,
    specs: list[Any],
    before: dict[str, Any],
    fixed: dict[str, np.ndarray],
    space: dict[str, str],
    info: dict[str, Any],
) -> Callable[[np.ndarray, np.ndarray | None, np.ndarray], dict[str, Any]]:
    """A function of a block of a batch's rows (row numbers, x, y) giving their
    arithmetic at the parameters ``before`` a step, as columns: x and y, the
    prediction and residual, each row's loss and gradient (in the optimizer's
    coordinates, log or logit where ``space`` says so). Under float64."""
    p = {
        k: to_unconstrained(jnp.asarray(v, jnp.float64), space.get(k, "real"))
        for k, v in before.items()
    }
    f = {k: jnp.asarray(v, jnp.float64) for k, v in fixed.items()}
    compiled = _row_arithmetic(model, loss, tuple(sorted(space.items())))

    # the data as the run took them (a float32 run's x and y rounded to float32),
    # then the arithmetic in float64: the step's own sums but for their rounding
    taken = np.dtype(info.get("compute_dtype") or info["dtype"])

    def block(rows: np.ndarray, x: np.ndarray | None, y: np.ndarray) -> dict[str, Any]:
        xb = None if x is None else np.asarray(x, taken).astype(np.float64)
        yb = np.asarray(y, taken).astype(np.float64)
        if xb is not None and getattr(model, "x_matrix", False):
            xb = xb.reshape(len(rows), -1)
        row_loss, row_grad, pred = compiled(p, f, xb, yb)
        out: dict[str, Any] = {"row": pd.array(given_rows(info, rows), dtype="Int64")}
        if xb is not None:
            cols = info["data"]["x"] or ["x"]
            xm = xb.reshape(len(rows), -1)
            for i, c in enumerate(cols):
                out[c] = xm[:, i]
        out[info["data"]["y"]] = yb
        if model.kind == "regression":
            out["prediction"] = np.asarray(pred)
            out["residual"] = yb - out["prediction"]  # y - prediction, as in statistics
        elif model.name == "normal":
            out["residual"] = yb - np.asarray(before.get("loc", fixed.get("loc")))
        out["loss"] = np.asarray(row_loss)
        for s in specs:
            g = np.asarray(row_grad[s.name]).reshape(len(rows), -1)
            for i, c in enumerate(s.columns()):
                out[f"grad_{c}"] = g[:, i]
        return out

    return block


@functools.lru_cache(maxsize=16)
def _row_arithmetic(model: Any, loss: Any, space: tuple[tuple[str, str], ...]) -> Any:
    """Each row's loss, its gradient (in the optimizer's coordinates) and the
    prediction, as one program of (params, fixed, x, y), compiled once per model,
    loss and coordinates and kept (a notebook explaining step after step)."""
    constraint = dict(space)

    def user(params: Any) -> Any:
        return {
            k: to_constrained(v, constraint.get(k, "real")) for k, v in params.items()
        }

    def one(params: Any, f: Any, xi: Any, yi: Any) -> Any:
        xs = None if xi is None else xi[None]
        return row_losses(model, loss, {**user(params), **f}, xs, yi[None])[0]

    def predict(p: Any, f: Any, xj: Any) -> Any:
        if xj is None:
            return model.predict({**user(p), **f}, None)
        matrix = getattr(model, "x_matrix", False)
        return model.predict({**user(p), **f}, xj if matrix else xj.reshape(-1))

    @compiler.jit
    def compiled(p: Any, f: Any, xj: Any, yj: Any) -> Any:
        row_loss = jax.vmap(one, in_axes=(None, None, 0, 0))(p, f, xj, yj)
        row_grad = jax.vmap(jax.grad(one), in_axes=(None, None, 0, 0))(p, f, xj, yj)
        regression = model.kind == "regression"
        return row_loss, row_grad, predict(p, f, xj) if regression else None

    return compiled


def _params_at(row: pd.Series, specs: list[Any], prefix: str = "") -> dict[str, Any]:
    """Each parameter's values in a trace row (``prefix``: ``grad_``, its gradient)."""
    return {
        s.name: row[[f"{prefix}{c}" for c in s.columns()]]
        .to_numpy(np.float64)
        .reshape(() if s.size is None else (s.size,))
        for s in specs
    }


def _space(info: dict[str, Any], specs: list[Any]) -> dict[str, str]:
    """Each trained parameter's constraint when the run trained unconstrained values
    (an empty map otherwise)."""
    if info.get("param_space") != "unconstrained":
        return {}
    return {s.name: s.constraint for s in specs}


def run_spec(info: dict[str, Any]) -> OptimizerSpec:
    """A saved run's optimizer, with its clipping and learning-rate schedule, as
    run.json keeps them (read as ``fit`` reads them)."""
    from gradtrace import validate

    opt = dict(info["optimizer"])
    spec = OptimizerSpec.create(opt.pop("name"), **opt)
    spec = spec.clipped(validate.clip(info.get("clip")))
    sch = info["schedule"]
    return spec.scheduled(
        validate.lr_schedule(info.get("lr_schedule")),
        int(sch["batches_per_epoch"]),
        int(sch["n_steps"]),
        info["dtype"],
    )


def _rate_of_step(this: pd.Series, info: dict[str, Any]) -> float:
    """The learning rate of the step whose trace row is ``this`` (its schedule's,
    where it has one)."""
    if info.get("lr_schedule"):
        return float(this["lr"])
    return learning_rate(info)


def _written_out(
    this: pd.Series, info: dict[str, Any], update: pd.DataFrame, step: int
) -> str:
    """The first parameter's update written out with its numbers, by the rule
    that gives the table's ``added`` (``update_rules``); empty where none does
    (clipped steps, a variant not written out)."""
    from gradtrace.update_rules import update_arithmetic

    if "clipped" in update.columns or not len(update):
        return ""
    from gradtrace.core.optimizers import decoupled

    name = str(update.index[0])
    row = {str(k): float(v) for k, v in update.iloc[0].items()}
    rate = _rate_of_step(this, info)
    opt = dict(info["optimizer"])
    wd = float(opt.pop("weight_decay", 0.0) or 0.0)
    first, last = "", ""
    if wd and decoupled(str(opt["name"]), info["optimizer"]):
        # the decay's share, -w wd lr, apart: the optimizer's own step is the rest
        decay = -row["before"] * wd * rate
        own = row["added"] - decay
        row["added"] = own
        w = _operand(row["before"])
        last = (
            f"; with the weight decay, added = {_operand(own)} - {w} x {fmt(wd)} x "
            f"{fmt(rate)} = {fmt(own + decay)}"
        )
    elif wd:  # the gradient the optimizer took: g + wd w
        pulled = row["gradient"] + wd * row["before"]
        first = (
            f"gradient = {fmt(row['gradient'])} + {fmt(wd)} x "
            f"{_operand(row['before'])} = {fmt(pulled)} (the weight decay's "
            "pull added); "
        )
        row["gradient"] = pulled
    said = update_arithmetic(opt, row, rate, step, info["dtype"])
    if said is None:
        return ""
    others = " (the others alike)" if len(update) > 1 else ""
    return f"{name}'s update written out{others}: {first}{said}{last}."


def _operand(value: float) -> str:
    """A number as an operand: a negative one in parentheses."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _weight_decay(info: dict[str, Any], update: pd.DataFrame, rate_at: float) -> str:
    """The sentence on a step's weight decay, where the run has one: decoupled (in
    ``added``, -w wd lr of each weight) or coupled (in the gradient the update
    took, g + wd w); empty without."""
    from gradtrace.core.optimizers import decoupled

    opt = info["optimizer"]
    wd = float(opt.get("weight_decay") or 0.0)
    if not wd:
        return ""
    before = update["before"]
    if decoupled(opt["name"], opt):
        shares = ", ".join(f"{k} {fmt(-v * wd * rate_at)}" for k, v in before.items())
        return (
            f"added includes the weight decay, -w * weight_decay * lr ({fmt(wd)} x "
            f"{fmt(rate_at)}), taken before the optimizer's own step: {shares}."
        )
    pulled = ", ".join(
        f"{k} {fmt(g + wd * v)}"
        for (k, v), g in zip(before.items(), update["gradient"], strict=True)
    )
    return (
        f"The update took the gradient plus weight_decay x w (an L2 penalty's "
        f"gradient, {fmt(wd)} x w): {pulled}."
    )


def _plateau_cuts(frame: pd.DataFrame, which: str = "loss") -> str:
    """Where a plateau cut the rate up to the last step of ``frame``: the epochs
    after which it fell, or that it has not (``which``: the loss it watched)."""
    after = cut_epochs(frame)
    if not after:
        return " (not cut yet)"
    times = {1: "once", 2: "twice"}.get(len(after), f"{len(after)} times")
    return (
        f" (cut {times}, after epoch{'s' if len(after) > 1 else ''} "
        f"{listed(after, len(after))}, whose {which} was no better than its best by "
        "the threshold for too long)"
    )


def _plateau_state(frame: pd.DataFrame, info: dict[str, Any]) -> str:
    """What the plateau holds before the end of the epoch of ``frame``'s last
    step, from the trace's batch losses: the best epoch loss, the bad epochs
    counted against its patience and the cooldown left, as the run's rule
    counted them."""
    spec = run_spec(info)
    schedule = spec.schedule
    assert schedule is not None and spec.plateau is not None
    epoch = int(frame["epoch"].iloc[-1])
    done = frame[(frame["step"] > 0) & (frame["epoch"] < epoch)]
    if done.empty:
        return ""
    sch = info["schedule"]
    bs, n = int(sch["batch_size"]), int(info["data"]["n_rows"])
    batch = done["batch"].to_numpy(np.int64)
    watched = None
    if spec.watches_validation and "val_loss" in done.columns:
        # the validation loss after each epoch, which the run judged
        ends = done[done["val_loss"].notna()]
        watched = ends["val_loss"].to_numpy(np.float64)
    judged = plateau.replay(
        schedule.name,
        schedule.params,
        spec.plateau[1],
        spec.rate_dtype,
        done["batch_loss"].to_numpy(),
        np.minimum(bs, n - (batch - 1) * bs),
        done["epoch"].to_numpy(np.int64),
        watched,
    )
    if not judged:
        return ""
    last = judged[-1]
    patience = int(schedule.params["patience"])
    bad = f"{last.wait} bad epoch{'s' if last.wait != 1 else ''}"
    limit = "more than " if schedule.name == "torch.plateau" else ""
    cool = (
        f"; {last.cooldown} epoch{'s' if last.cooldown != 1 else ''} of cooldown left"
        if last.cooldown
        else ""
    )
    which = "validation loss" if watched is not None else "loss"
    return (
        f". After epoch {epoch - 1}: its {which} {fmt(last.loss)}, the best "
        f"{fmt(last.best)}, {bad} ({limit}{patience} cut the rate{cool})"
    )


def _update_table(
    rows: StepRows,
    info: dict[str, Any],
    specs: list[Any],
    step: int,
    space: dict[str, str],
) -> pd.DataFrame:
    """Replay the optimizer on the recorded gradients up to ``step`` and show its
    state before and after that step."""
    spec = run_spec(info)
    key: Any = spec
    if spec.schedule is not None and spec.schedule.adaptive:
        # a plateau's rates were the run's: its updates at the trace's
        rates = rows.upto(["lr"], int(info["steps"]))["lr"].to_numpy(np.float64)[1:]
        tx = spec.build_at(rates)
        key = (spec, hashlib.sha256(np.ascontiguousarray(rates).data).hexdigest())
    else:
        tx = spec.build()
    dtype = jnp.dtype(info["dtype"])
    around = {r: rows.row(r) for r in {0, step - 1, step}}

    def tree(row: int, prefix: str = "") -> dict[str, Any]:
        values = _params_at(around[row], specs, prefix)
        if not prefix:
            values = {
                k: np.asarray(to_unconstrained(v, space.get(k, "real")))
                for k, v in values.items()
            }
        return {k: jnp.asarray(v, dtype) for k, v in values.items()}

    state = tx.init(tree(0))
    if step > 1:
        state = _replayed(tx, state, rows, specs, step, space, dtype, key)
    before, grads = tree(step - 1), tree(step, "grad_")
    updates, after = tx.update(grads, state, before)
    new = transforms.apply_updates(before, updates)
    updates = transforms.increments(before, updates)

    # what the optimizer holds: log(scale) where it trains log(scale)
    inner = {"positive": "log({})", "unit": "logit({})"}
    data: dict[str, list[Any]] = {
        "parameter": [
            inner.get(space.get(s.name, "real"), "{}").format(c)
            for s in specs
            for c in s.columns()
        ]
    }

    def add(label: str, t: Any) -> None:
        data[label] = [
            # + 0.0: an update of -0.0 (Adam's of a zero gradient) shows as 0
            float(v) + 0.0
            for s in specs
            for v in np.atleast_1d(np.asarray(t[s.name]))
        ]

    add("before", before)
    add("gradient", grads)
    if spec.clip is not None:  # what the update was given
        add("clipped", spec.clip.transform().update(grads, None)[0])
    for label, (b_leaf, a_leaf) in _state_leaves(state, after, [s.name for s in specs]):
        label = STATE_NAMES.get((str(info["optimizer"]["name"]), label), label)
        add(f"{label} before", b_leaf)
        add(f"{label} after", a_leaf)
    add("added", updates)
    add("after", new)
    out = pd.DataFrame(data).set_index("parameter")
    # the run's own values after the step: replayed here, one update on its own
    # can round apart by an ulp from the compiled run (XLA fuses a multiply and
    # an add there); the trace, and the next step, go on from the run's
    recorded = pd.Series(
        [
            float(v)
            for s in specs
            for v in np.atleast_1d(np.asarray(tree(step)[s.name]))
        ],
        index=out.index,
    )
    # only an ulp or so: a replay further off is shown as it is, not hidden
    ours, theirs = out["after"].to_numpy(), recorded.to_numpy()
    ulps = 4 * np.spacing(np.abs(theirs).astype(dtype)).astype(np.float64)
    near = bool(np.isfinite(theirs).all() and np.all(np.abs(ours - theirs) <= ulps))
    if near and not np.array_equal(ours, theirs):
        out.attrs["replayed_after"] = out["after"].to_dict()
        out["after"] = recorded
    counts = _counts(after)
    if len(counts) > 1 and len(set(counts.values())) == 1:
        # a schedule's wrapper counts the updates as the optimizer does: one
        counts = dict([list(counts.items())[-1]])
    if counts:
        out.attrs["count"] = counts
    return out


#: A state's name in the update table where its framework names it otherwise than
#: gradtrace's optimizer does: PyTorch's momentum_buffer, Keras's velocity (its
#: documentation's, and the rule ``update_rules`` writes out)
STATE_NAMES = {
    ("torch.sgd", "momentum"): "buffer",
    ("torch.rmsprop", "momentum"): "buffer",  # beside its hyper-parameter momentum
    ("keras.sgd", "momentum"): "velocity",
    ("keras.adadelta", "square_avg"): "accumulated_grad",
    ("keras.adadelta", "acc_delta"): "accumulated_delta_var",
}


def _replayed(
    tx: Any,
    state: Any,
    rows: StepRows,
    specs: list[Any],
    step: int,
    space: dict[str, str],
    dtype: Any,
    key: Any,
) -> Any:
    """The optimizer's state after steps 1 to ``step - 1``, replayed on their
    recorded parameters and gradients a block of rows at a time (a column at a
    time: a Python loop over the rows took 36 s for step 8000), so a step late in
    a long run never holds the trace's millions of rows. ``key``: what ``tx`` was
    built from (hashable), by which its compiled replay is kept for the next
    step explained (``_replay_program``)."""
    names = [c for s in specs for c in s.columns()]
    grads = [f"grad_{c}" for c in names]

    def column_block(block: pd.DataFrame, prefix: str, to: int) -> dict[str, Any]:
        """The block's columns, by parameter, padded to ``to`` rows with copies
        of its last (the padding's updates are discarded): every block of ``to``
        rows is then the same shapes, so a next step explained compiles nothing
        (zeros appended after took 0.05 s a step, compiling for each length)."""
        out = {}
        for s in specs:
            values = block[[f"{prefix}{c}" for c in s.columns()]].to_numpy(np.float64)
            values = np.pad(values, ((0, to - len(values)), (0, 0)), mode="edge")
            values = values.reshape((to,) + (() if s.size is None else (s.size,)))
            if not prefix:
                values = np.asarray(
                    to_unconstrained(jnp.asarray(values), space.get(s.name, "real"))
                )
            out[s.name] = jnp.asarray(values, dtype)
        return out

    # each block padded to a multiple of REPLAY_ROWS steps, the padding's updates
    # discarded: XLA compiles a loop of one step otherwise (and rounds an ulp
    # apart), so the state would depend on where the blocks begin
    scan = _replay_program(tx, key)

    above = None  # the row above a block (of the parameters): None for row 0's
    for block in rows.blocks([*names, *grads], step - 1):
        # step k's update took the parameters of row k - 1 and the gradient of row
        # k; row 0 holds the initial values, and no update
        if above is None:
            params, taken = block[names].iloc[:-1], block.iloc[1:]
        else:
            params, taken = pd.concat([above, block[names].iloc[:-1]]), block
        above = block[names].iloc[-1:]
        if len(taken):
            to = -(-len(taken) // REPLAY_ROWS) * REPLAY_ROWS
            real = np.arange(to) < len(taken)
            seq = (column_block(params, "", to), column_block(taken, "grad_", to))
            state = scan(state, (*seq, real))
    return state


#: the optimizer's replay goes in blocks of a multiple of this many steps
REPLAY_ROWS = 64


def _replay_program(tx: Any, key: Any) -> Any:
    """``step(state, (params, grads, real))``: ``tx``'s updates over a block of
    steps (the padding's, ``real`` False, discarded), compiled and kept by ``key``
    (what ``tx`` was built from) and the block's shapes with the runs' programs
    (``loop.compile_once``): explaining steps one after another in a notebook
    compiled the replay afresh each time (0.1 s of a step's 0.2 s)."""

    def body(st: Any, pgr: Any) -> tuple[Any, None]:
        params, grads, real = pgr
        new = tx.update(grads, st, params)[1]
        return jax.tree.map(lambda a, b: jnp.where(real, a, b), new, st), None

    def replay(s0: Any, seq: Any) -> Any:
        return jax.lax.scan(body, s0, seq)[0]

    def step(state: Any, seq: Any) -> Any:
        return loop.compile_once(("replay", key), replay, state, seq)(state, seq)

    return step


def _state_leaves(before: Any, after: Any, names: list[str]) -> list[tuple[str, Any]]:
    """The parts of an optimizer state that hold one value per parameter, labelled by
    their field names (velocity, m, v, mu, nu, momentum, ...)."""
    found: list[tuple[str, Any]] = []

    def walk(b: Any, a: Any, label: str) -> None:
        if isinstance(b, dict) and set(b) == set(names):
            if any(
                np.any(np.asarray(a[k]) != 0) or np.any(np.asarray(b[k]) != 0)
                for k in names
            ):
                found.append((label or "state", (b, a)))
            return
        if hasattr(b, "_fields"):
            for field in b._fields:
                walk(getattr(b, field), getattr(a, field), field)
        elif isinstance(b, (tuple, list)):
            for i, (bb, aa) in enumerate(zip(b, a, strict=True)):
                walk(bb, aa, label or f"state{i}")

    walk(before, after, "")
    return found


def _counter_line(optimizer: str, counters: dict[str, int]) -> str:
    """The optimizer's step count after the step, by the name its framework gives
    it: Keras's ``iterations``, PyTorch's ``state['step']`` (its SGD keeps none:
    the count is gradtrace's alone), optax's ``count``."""
    if optimizer.startswith("torch.") and set(counters) == {"iterations"}:
        n = counters["iterations"]
        if optimizer == "torch.sgd":
            return f"steps taken: {n} (PyTorch's SGD keeps no count of its own)"
        return f"step counter after: step={n} (PyTorch's state['step'])"
    return "step counter after: " + ", ".join(f"{k}={v}" for k, v in counters.items())


def _counts(state: Any) -> dict[str, int]:
    out: dict[str, int] = {}

    def walk(s: Any) -> None:
        if hasattr(s, "_fields"):
            for field in s._fields:
                value = getattr(s, field)
                if field in ("count", "iterations") and np.ndim(value) == 0:
                    out[field] = int(value)
                else:
                    walk(value)
        elif isinstance(s, (tuple, list)):
            for part in s:
                walk(part)

    walk(state)
    return out


def _logged(
    row: pd.Series, prev: pd.Series, info: dict[str, Any], step: int, batch_rows: int
) -> tuple[dict[str, Any], str]:
    """Keras's logged loss for step ``step`` (its trace row ``row``), rebuilt from
    the previous one (``prev``), next to the loss over all the data after the
    update."""
    epoch, batch = int(row["epoch"]), int(row["batch"])
    bs, n = int(info["schedule"]["batch_size"]), int(info["data"]["n_rows"])
    rows_before = (batch - 1) * bs
    if info["schedule"].get("stream"):
        rows_before = _layout(info).rows_before(step - 1)
    logged = {
        "epoch": epoch,
        "batch": batch,
        "batch_loss": float(row["batch_loss"]),
        "batch_rows": batch_rows,
        "rows_before_in_epoch": rows_before,
        "running_loss_before": float(prev["running_loss"]) if batch > 1 else None,
        "running_loss": float(row["running_loss"]),
        "loss_all_data_after": float(row["loss"]),
        "loss_all_data_before": float(prev["loss"]),
    }
    if info["loss"] == "mse" and info["reduction"] == "mean":
        logged["running_rmse"] = float(np.sqrt(row["running_loss"]))
        logged["rmse_all_data_after"] = float(np.sqrt(row["loss"]))
    if batch > 1:
        mean = (
            f"each batch's loss taken with the parameters before its own update "
            f"(here (the earlier batches' mean {logged['running_loss_before']:.7g} "
            f"x their {rows_before} rows + this batch's {logged['batch_loss']:.7g} x "
            f"{batch_rows}) / {rows_before + batch_rows})"
        )
    else:
        mean = "which is this batch's loss, taken with the parameters before the update"
    # Keras's val_loss with the training rows as validation data: a run that
    # held out rows of its own has a val_loss of theirs, another number
    shows = (
        "what Keras's val_loss would show given the training rows as validation "
        "data (the run's own val_loss is over its held-out rows)"
        if info["data"].get("validation")
        else "what val_loss on the training data would show"
    )
    after = (
        f"The loss over all {n} rows after this step's update is "
        f"{logged['loss_all_data_after']:.7g}, {shows}."
    )
    if not loss_taken(info, step):
        every = info["schedule"].get("eval_every")
        after = (
            f"The loss over all {n} rows was not taken after this step: the run "
            f"took it every {every} steps (--eval-every K sets how often)."
        )
    elif not np.isfinite(row["loss"]):
        after = (
            f"The loss over all {n} rows after this step's update is not finite "
            f"({row['loss']})."
        )
    # what Keras logs of any run's batches, as fit's summary and the RMSE line
    # below say it (a PyTorch user's loop prints what it sums itself)
    torch = str(info["optimizer"]["name"]).startswith("torch.")
    why = (
        (
            f"A PyTorch loop prints what it sums itself: this batch's loss.item() "
            f"is {logged['batch_loss']:.7g}, and the epoch's running mean, "
            "sum(loss.item() x len(xb)) / rows (what Keras logs), is "
        )
        if torch
        else "Keras logs "
    ) + (
        f"{logged['running_loss']:.7g}: the mean over this epoch's "
        f"{batch} batch{'es' if batch > 1 else ''} so far ({rows_before + batch_rows}"
        f" rows), {mean}. {after}"
    )
    return logged, why


def loss_taken(info: dict[str, Any], step: int) -> bool:
    """Whether a run took the loss over all the data after ``step``: every
    ``eval_every``-th step and the last, and every step of a full-batch run (the
    next step's batch loss; ``--eval-every`` changes nothing there). A NaN loss at
    such a step is not finite, not missing."""
    if full_batch(info):
        return True
    schedule = info["schedule"]
    every = int(schedule.get("eval_every") or 1)
    return step % every == 0 or step == int(schedule["n_steps"])


def dropped_at(info: dict[str, Any]) -> list[int]:
    """The positions in the data as given of the rows ``--drop-missing`` dropped:
    run.json's ``data.dropped_at``, or, for a run saved before it was kept, found
    again in the run's data file (and kept in ``info``); none where the data came
    from Python (load the run with them: ``gradtrace.load(RUN, data=...)``)."""
    data = info["data"]
    if "dropped_at" not in data and data.get("dropped_rows"):
        source = info["config"]["data"]
        if source and source != "-" and not info["schedule"].get("stream"):
            from gradtrace import validate

            x, y = _read_columns(info)
            data["dropped_at"] = validate.missing_rows(x, y).tolist()
    return list(data.get("dropped_at") or [])


def given_rows(info: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """Rows of the data a run trained on (positions after ``--drop-missing``) as
    positions in the data as given (``.iloc``): each moved past the dropped rows
    at or before it."""
    dropped = np.asarray(dropped_at(info), np.int64)
    if not len(dropped):
        return rows
    kept_before = dropped - np.arange(len(dropped))  # kept rows before each drop
    return rows + np.searchsorted(kept_before, rows, side="right")


def step_rows(info: dict[str, Any], step: int) -> np.ndarray:
    """The data rows (0-based) that step ``step`` (1-based) of a run trained on."""
    return next(steps_rows(info, [step]))[1]


def steps_rows(
    info: dict[str, Any], steps: Iterable[int]
) -> Iterator[tuple[int, np.ndarray]]:
    """(step, its data rows) for each of ``steps`` (1-based, in the order given),
    an epoch's order drawn once for the steps of it that come together (a
    report's 1500 frames of a streamed, shuffled run on 2 million rows: 90 -> 15 s
    in all). One epoch's order is held at a time; full-batch steps share one
    array of all the rows."""
    sch = info["schedule"]
    n_rows, size = int(info["data"]["n_rows"]), int(sch["batch_size"])
    layout = _layout(info) if sch.get("stream") else None
    if size >= n_rows or (layout is not None and layout.full_batch):
        every = np.arange(n_rows)
        yield from ((step, every) for step in steps)
        return
    drop_last = bool(sch.get("drop_last"))
    per_epoch = (
        layout.batches_per_epoch if layout else n_batches(n_rows, size, drop_last)
    )
    for epoch, group in itertools.groupby(steps, lambda s: (s - 1) // per_epoch):
        here = list(group)
        wanted = [(step - 1) % per_epoch for step in here]
        if layout is not None:
            batches = layout.batches_of(epoch, wanted)
        else:
            table = epoch_batches(n_rows, size, sch["shuffle"], sch["seed"], [epoch])
            batches = {b: table[0, b][table[0, b] >= 0] for b in wanted}
        yield from ((step, batches[b]) for step, b in zip(here, wanted, strict=True))


def _layout(info: dict[str, Any]) -> Any:
    """How a streamed run read its file: chunks, windows and shuffling."""
    from gradtrace.core.stream import Layout

    sch, n_rows = info["schedule"], int(info["data"]["n_rows"])
    return Layout(
        n_rows,
        sch["batch_size"],
        sch["stream"]["chunk_rows"],
        sch["stream"]["window_chunks"],
        bool(sch["shuffle"]) and sch["batch_size"] < n_rows,
        sch["seed"],
    )


def file_blocks(info: dict[str, Any]) -> Callable[[np.ndarray], Iterator[Block]]:
    """A streamed run's batch rows (row numbers, in training order) read from its
    Parquet file, holding no more than training did: a mini-batch's rows from
    the span of its window, a full batch a chunk at a time."""
    reader, layout = _file_reader(info), _layout(info)
    chunks = layout.chunks(reader)

    def read(rows: np.ndarray) -> Iterator[Block]:
        if len(rows) == layout.n_rows:  # every row once, in order
            for i, (x, y) in enumerate(chunks):
                yield np.arange(*layout.chunk(i)), x, y
            return
        lo, hi = int(rows.min()), int(rows.max()) + 1
        x, y = reader.read(lo, hi)
        yield rows, (None if x is None else x[rows - lo]), y[rows - lo]

    return read


def file_chunks(info: dict[str, Any]) -> rowsums.Chunks:
    """A streamed run's rows as ``rowsums.Chunks`` of its file (float64)."""
    return _layout(info).chunks(_file_reader(info))


def file_sample(info: dict[str, Any], rows: np.ndarray) -> Block:
    """The given rows (sorted row numbers) of a streamed run's file, read in one
    pass a chunk at a time (only the chunks that hold some): a sample of data
    larger than memory."""
    layout = _layout(info)
    chunks = layout.chunks(_file_reader(info))
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for i in range(layout.n_chunks):
        start, stop = layout.chunk(i)
        wanted = rows[(rows >= start) & (rows < stop)] - start
        if len(wanted):
            x, y = chunks.read(i)
            if x is not None:
                xs.append(x[wanted])
            ys.append(y[wanted])
    return rows, (np.concatenate(xs) if xs else None), np.concatenate(ys)


def _file_reader(info: dict[str, Any]) -> Any:
    """A streamed run's file, to read rows of in float64 (``ParquetRows``)."""
    from gradtrace.data import ParquetRows

    path = _data_file(info)
    kind = run_kind(info)
    columns = info["data"]["x"] or ([] if kind == "distribution" else ["x"])
    flat = not getattr(model_of(info), "x_matrix", False)
    dropped = info["data"].get("dropped_at") or None  # rows --drop-missing left
    return ParquetRows(
        path,
        columns,
        info["data"]["y"],
        "float64",
        flat,
        repr(path),
        drop_missing=dropped is not None,
        dropped_at=dropped,
    )


def run_kind(info: dict[str, Any]) -> str:
    """``regression`` or ``distribution``: a built-in model's kind, else (a model
    or distribution of the user's own) whether the run read x columns."""
    if info["model"] in MODELS:
        return kind_of(info["model"])
    return "regression" if info["data"].get("x") else "distribution"


def _data_file(info: dict[str, Any]) -> str:
    """The path of the file a saved run read its data from, or a one-line error:
    where it is gone, or no longer holds what the run read (its SHA-256)."""
    from pathlib import Path

    from gradtrace.data import file_sha256

    path = info["data"].get("path") or info["config"]["data"]
    again = "(--data FILE on the command line, gradtrace.load(RUN, data=...) in Python)"
    if not Path(path).is_file():
        raise InputError(
            f"the run's data file {path!r} is gone: put it back, or give the "
            f"data again {again}."
        )
    if info["data"].get("sha256") not in (None, file_sha256(Path(path))):
        raise InputError(
            f"the run's data file {path!r} changed since the run (its SHA-256 "
            "differs), so its rows are not those the run trained on: put the "
            f"original back, or give the run's data again {again}."
        )
    return str(path)


def _read_columns(info: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray]:
    """The x and y columns of a saved run's data, read again from where it read
    them, before any rows are dropped."""
    from gradtrace import validate
    from gradtrace.data import DATASETS, builtin, read_table

    source = info["config"]["data"]
    if source in DATASETS:
        frame = builtin(source)
    elif source and source != "-":
        frame = read_table(_data_file(info))
    else:
        # its model or loss of the caller's needed too: both asked at once
        own = "".join(f", {what}=..." for what in info.get("own_objects", []))
        raise InputError(
            "this run's data came from Python or standard input: give them again, "
            f"--data FILE on the command line, gradtrace.load(RUN, data=...{own}) in "
            "Python (or use the Trace that gradtrace.fit returned)."
        )
    kind = run_kind(info)
    # a categorical column as the run coded it: its 0/1 columns, named in x
    frame = coded(frame, info["data"].get("categories") or {}, str(source))
    return validate.columns(
        frame,
        kind,
        info["data"]["x"],
        info["data"]["y"],
        str(source),
        marks_missing=bool(info["config"]["drop_missing"]),
    )


def run_data(info: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray]:
    """The x and y a saved run trained on, read again from where it read them."""

    from gradtrace import validate

    source = info["config"]["data"]
    x, y = _read_columns(info)
    x, y, _ = validate.finite_rows(
        x, y, bool(info["config"]["drop_missing"]), str(source)
    )
    if (info["data"].get("validation") or {}).get("split") is not None:
        # the training rows: the first ones, the last held out
        n = int(info["data"]["n_rows"])
        x, y = (None if x is None else x[:n]), y[:n]
    if x is not None and not getattr(model_of(info), "x_matrix", False):
        x = x[:, 0]
    return x, y


def held_out_data(info: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray] | None:
    """The validation rows of a saved run, read again: the last rows of its
    data (a split) or its validation file; None without them, or where they
    came from Python."""
    from gradtrace import validate
    from gradtrace.data import DATASETS, builtin, read_table

    held = info["data"].get("validation") or {}
    if not held:
        return None
    one_x = not getattr(model_of(info), "x_matrix", False)
    if held.get("split") is not None:
        source = info["config"]["data"]
        x, y = _read_columns(info)
        x, y, _ = validate.finite_rows(
            x, y, bool(info["config"]["drop_missing"]), str(source)
        )
        n = int(info["data"]["n_rows"])
        x, y = (None if x is None else x[n:]), y[n:]
    else:
        path = info["config"].get("validation_data")
        if path is None:
            return None
        if path in DATASETS:
            frame = builtin(path)
        else:
            found = Path(path) if Path(path).is_file() else Path(held.get("path", ""))
            if not found.is_file():
                return None
            frame = read_table(found)
        frame = coded(frame, info["data"].get("categories") or {}, path)
        x, y = validate.columns(
            frame,
            run_kind(info),
            info["data"]["x"],
            info["data"]["y"],
            path,
            least_rows=1,
            marks_missing=bool(info["config"]["drop_missing"]),
        )
        x, y, _ = validate.finite_rows(x, y, bool(info["config"]["drop_missing"]), path)
    if x is not None and one_x:
        x = x[:, 0]
    return x, y


#: The batch's rows an explanation shows by default (the mean covers them all).
SHOWN_ROWS = 20


def narration(
    trace: Any,
    step: int,
    where: str,
    rows: int | None = SHOWN_ROWS,
    all_rows: str = "--rows 0",
) -> list[str | pd.DataFrame]:
    """Step ``step`` of ``trace`` told in order, as ``gradtrace explain`` prints it:
    sentences, and tables (the batch's rows with their mean, the optimizer's
    update). ``where``: the run's name in the first sentence; ``rows``: only the
    batch's first so many rows in its table (None: all); ``all_rows``: how to ask
    for them all, where some are left out."""
    step = step_number(step, trace.steps)
    table = trace.explain(step, rows=rows)
    info = trace.info
    this, shown = (trace_rows := trace._step_rows()).row(step), trace_rows.row(step - 1)
    logged = table.attrs["logged"]
    n = info["data"]["n_rows"]
    shown_rows = [str(r) for r in table.index[:-1]]  # the last line is "mean"
    hidden = logged["batch_rows"] - len(shown_rows)
    if logged["batch_rows"] == n:
        which = "all"
    else:
        which = ", ".join(shown_rows) + (", ..." if hidden else "")
    dropped = int(info["data"].get("dropped_rows") or 0)
    rows_of = f"the {n} rows left after dropping {dropped}" if dropped else f"{n} rows"
    out: list[str | pd.DataFrame] = [
        f"Step {step} of {trace.steps} ({where}): epoch {logged['epoch']}, batch "
        f"{logged['batch']}; {logged['batch_rows']} of {rows_of} ({which})."
    ]
    update = table.attrs["update"]
    # the parameters as the user sees them (the table's are log(scale), say, where
    # the optimizer holds those)
    names = [re.sub(r"^(log|logit)\((.*)\)$", r"\2", p) for p in update.index]
    before = ", ".join(f"{p}={fmt(float(shown[p]))}" for p in names)
    out.append(f"Parameters before the step: {before}.")
    if "space" in table.attrs:
        out.append(f"Note: {table.attrs['space']}.")
    options = info.get("model_options") or {}
    if options.get("center") is not None:
        # the table's x are the data's; the model takes them standardised
        names_x = info["data"]["x"] or ["x"]
        scaled = ", ".join(
            f"({c} - {fmt(float(m))}) / {fmt(float(sd))}"
            for c, m, sd in zip(
                names_x, options["center"], options["spread"], strict=False
            )
        )
        out.append(
            f"Note: x was standardised (--standardize): the model takes {scaled}, "
            "so the prediction and the gradients are of those, not of the x shown."
        )
    out.append("")
    out.append(row_numbers(str(info["data"].get("source", ""))))
    # the rows' numbers, and "mean" (or "sum") on the whole batch's line; a
    # gradient headed by the coordinate it is of (grad_log(scale))
    held_as = {
        f"grad_{plain}": f"grad_{name}"
        for plain, name in zip(names, update.index, strict=True)
        if plain != name
    }
    out.append(table.assign(row=table.index).rename(columns=held_as))
    if hidden:
        out.append(
            f"({hidden} more row{'s' if hidden > 1 else ''} not shown: {all_rows} "
            "shows them all; the last line is the whole batch's.)"
        )
    total = table.iloc[-1]

    def both(recorded: float, column: str) -> str:
        """The table's total, and the step's own where float32 rounding made them
        differ in the digits shown."""
        mine = total.get(column)
        if mine is None or fmt(float(mine)) == fmt(recorded):
            return fmt(recorded)
        return f"{fmt(float(mine))} (the step, in float32: {_number(recorded)})"

    grads = ", ".join(
        f"{p} {both(v, f'grad_{p}')}" for p, v in update["gradient"].items()
    )
    reduction = info["reduction"]
    used = "the gradient the step used"
    if "clipped" in update.columns:
        clip = info["clip"]
        shown_clip = ", ".join(f"{k}={v}" for k, v in clip.items() if k != "name")
        after_clip = ", ".join(f"{p} {fmt(v)}" for p, v in update["clipped"].items())
        used = (
            f"clipped by {clip['name']}({shown_clip}) the step used {after_clip}; "
            "the gradient before clipping"
        )
    out.append(
        f"\nThe batch loss is the {reduction} of the rows' losses, "
        f"{both(logged['batch_loss'], 'loss')}; {used} is the "
        f"{reduction} of their gradients: {grads}.\n"
    )
    rate, cycled = "", None
    if info.get("lr_schedule") and "lr" in shown.index:
        at, by = fmt(this["lr"]), info["lr_schedule"]["name"]
        rate = f"; this step's rate, from {by}: {at}"
        if by in PLATEAUS:
            on_val = info["lr_schedule"].get("monitor") == "val_loss"
            watched = "validation loss" if on_val else "loss"
            so_far = trace_rows.upto(
                ["epoch", "batch", "lr", "batch_loss", "val_loss"], step
            )
            rate += _plateau_cuts(so_far, watched)
            rate += _plateau_state(so_far, info)
        # OneCycleLR's momentum (beta1), set at each step in place of the given
        given = schedule_columns(pd.DataFrame(columns=this.index))
        cycled = next((c for c in given if c != "lr"), None)
        if cycled is not None:
            also = fmt(this[cycled])
            rate = f"; this step's rate and {cycled}, from {by}: {at} and {also}"
    out.append(
        f"{info['optimizer']['name']}: "
        + ", ".join(
            f"{k}={v}"
            for k, v in info["optimizer"].items()
            if k not in ("name", cycled)
        )
        + rate
    )
    lost = [p for p, v in update["gradient"].items() if not math.isfinite(float(v))]
    # a gradient that was not finite is written out, not left blank
    out.append(update.reset_index().map(_number_cell))
    if lost:
        dtype = info.get("compute_dtype") or info["dtype"]
        rows_finite = all(
            math.isfinite(float(total.get(f"grad_{p}", math.nan))) for p in lost
        )
        why = (
            f", though the rows' above, in float64, are finite: a value inside the "
            f"derivative overflowed {dtype} (an exp of a large value, say, making "
            "inf / inf)"
            if rows_finite and dtype != "float64"
            else ""
        )
        gone = [p for p, v in update["after"].items() if not math.isfinite(float(v))]
        out.append(
            f"The step's {dtype} gradient of {listed(lost, len(lost))} was not "
            f"finite{why}"
            + (
                f"; {listed(gone, len(gone))} after the step "
                f"{'is' if len(gone) == 1 else 'are'} not finite."
                if gone
                else "."
            )
        )
    written = _written_out(this, info, update, step)
    if written:
        out.append(written)
    decay = _weight_decay(info, update, rate_at=_rate_of_step(this, info))
    if decay:
        out.append(decay)
    replayed = update.attrs.get("replayed_after")
    if replayed:
        differ = ", ".join(
            f"{k} {fmt(v)}"
            for k, v in replayed.items()
            if fmt(v) != fmt(float(update.loc[k, "after"]))
        )
        if differ:
            out.append(
                f"(after is the run's own value; this update replayed on its own "
                f"rounds to {differ} in the last digit: the compiled run rounds "
                "differently, as XLA may fuse a multiply and an add into one "
                "operation, rounded once.)"
            )
    counters = update.attrs.get("count", {})
    if counters:
        out.append(_counter_line(info["optimizer"]["name"], counters))
    out.append("")
    out.append(table.attrs["why"])
    if "running_rmse" in logged:
        rmse = logged["rmse_all_data_after"]
        torch = str(info["optimizer"]["name"]).startswith("torch.")
        out.append(
            (
                "RMSE of the epoch's batches so far (as Keras logs it): "
                if torch
                else "RMSE as Keras logs it: "
            )
            + f"sqrt({fmt(logged['running_loss'])}) = {fmt(logged['running_rmse'])}"
            + (
                "."
                if math.isnan(rmse)
                else f"; over all the data after the step: {fmt(rmse)}."
            )
        )
    return out


def row_numbers(source: str) -> str:
    """What the row numbers of ``explain`` are, for data from ``source`` (run.json's
    data source): 0-based positions in the data, as the trace records them (an
    error message counts data rows from 1 instead), and where that is in a text
    file with a header (line row + 2)."""
    where = ""
    if source.lower().endswith((".csv", ".tsv", ".tab", ".txt")):
        where = " (file line = row + 2)"
    elif source == "standard input":
        where = " (input line = row + 2)"
    elif source == "python data":
        where = " (as .iloc counts)"
    return f"row: 0-based position in the data{where}"


def _number(value: float) -> str:
    """Seven digits as ``fmt`` writes them, but nan and inf written out, not
    left blank."""
    return f"{float(value):.7g}"


def _number_cell(value: Any) -> Any:
    """A cell of a table of numbers: NaN and infinities as text (``_number``)."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return str(float(value))
    return value


def as_text(parts: list[str | pd.DataFrame]) -> str:
    """``narration``'s parts as plain text, its tables with seven digits."""

    def cell(v: Any) -> str:
        return v if isinstance(v, str) else fmt(float(v))

    lines = []
    for part in parts:
        if isinstance(part, str):
            lines.append(part)
        else:
            lines.append(part.map(cell).to_string(index=False))
    return "\n".join(lines)
