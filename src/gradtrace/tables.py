"""From a core History to pandas: the trace table, one row per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.core import metrics
from gradtrace.core.catalog import MODELS
from gradtrace.core.loop import History
from gradtrace.core.metrics import KERAS_METRICS, METRICS, keras_running_mean
from gradtrace.core.models import LINEAR_PREDICTOR, ParamSpec
from gradtrace.text import listed

#: Columns that hold no value in the initial row (step 0).
STEP_ONLY = ("batch_loss", "running_loss")


def trace_frame(
    history: History,
    specs: Sequence[ParamSpec],
    initial: dict[str, Any],
    metric_names: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The trace as a DataFrame: the initial state (step 0), then a row per step.

    Columns: ``step``, ``epoch``, ``batch``; each parameter's value after the step
    (``w[0]``, ``w[1]``, ... for vectors); ``grad_<param>``, the gradient of the
    step's batch (before any clipping);
    ``batch_loss`` (the batch's loss at the parameters before the update);
    ``running_loss`` (as Keras logs it); ``loss`` (all the data, after the step);
    for each metric, ``running_<metric>`` (as Keras logs it) and ``<metric>`` (all
    the data, after the step); with validation data, ``val_loss`` and
    ``val_<metric>`` over them after each epoch (as Keras's). Missing values (the
    initial row's gradient, skipped evaluations) are NaN.
    """
    return TraceParts(specs, initial, metric_names).frame(history)


class TraceParts:
    """The trace table a part at a time: the rows of the steps of consecutive
    Histories (the first with the initial row), the same rows, bit for bit, that
    ``trace_frame`` gives for all the steps at once (Keras's running values carry
    over from one part to the next). A long run writes its trace this way without
    holding all of it."""

    def __init__(
        self,
        specs: Sequence[ParamSpec],
        initial: dict[str, Any],
        metric_names: tuple[str, ...] = (),
    ) -> None:
        self.specs, self.initial, self.metric_names = specs, initial, metric_names
        self.steps = 0
        self._loss_sums: metrics.EpochSums | None = None
        self._metric_sums: metrics.EpochSums | None = None

    def state(self) -> dict[str, np.ndarray]:
        """Where the table stands (its steps and Keras's running sums), as arrays
        for a checkpoint's ``state.npz``."""
        out = {"trace_steps": np.asarray(self.steps)}
        for name, sums in (("loss", self._loss_sums), ("metric", self._metric_sums)):
            if sums is not None:
                out[f"{name}_sums_epoch"] = np.asarray(sums.epoch)
                out[f"{name}_sums_totals"] = np.asarray(sums.totals)
                out[f"{name}_sums_before"] = np.asarray(sums.before)
        return out

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Go on from ``state`` (what ``state`` gave)."""
        self.steps = int(state["trace_steps"])

        def sums(name: str) -> metrics.EpochSums | None:
            if f"{name}_sums_epoch" not in state:
                return None
            return metrics.EpochSums(
                int(state[f"{name}_sums_epoch"]),
                np.asarray(state[f"{name}_sums_totals"]),
                np.asarray(state[f"{name}_sums_before"]),
            )

        self._loss_sums, self._metric_sums = sums("loss"), sums("metric")

    def frame(self, history: History) -> pd.DataFrame:
        """The next part's rows (with the initial row if it is the first part)."""
        first = self.steps == 0
        lead = 1 if first else 0
        n = len(history.batch_loss)
        cols: dict[str, Any] = {
            "step": np.arange(
                self.steps + 1 - lead, self.steps + n + 1, dtype=np.int64
            ),
            "epoch": np.concatenate([[0] * lead, history.epoch]).astype(np.int64),
            "batch": np.concatenate([[0] * lead, history.batch]).astype(np.int64),
        }
        grads: dict[str, Any] = {}
        for s in self.specs:
            width = 1 if s.size is None else s.size
            values = history.params[s.name].reshape(n, width)
            g = history.grads[s.name].reshape(n, width)
            if first:
                start = np.asarray(self.initial[s.name], values.dtype)
                values = np.concatenate([start.reshape(1, width), values])
                g = np.concatenate([np.full((1, g.shape[1]), np.nan, g.dtype), g])
            for i, name in enumerate(s.columns()):
                cols[name] = values[:, i]
                grads[f"grad_{name}"] = g[:, i]
        cols.update(grads)
        ldtype = history.batch_loss.dtype
        nan = np.full(lead, np.nan, ldtype)
        cols["batch_loss"] = np.concatenate([nan, history.batch_loss])
        running, self._loss_sums = keras_running_mean(
            history.batch_loss, history.batch_rows, history.epoch, self._loss_sums
        )
        cols["running_loss"] = np.concatenate([nan, running.astype(ldtype)])
        start_loss = np.array([history.initial_loss] * lead, ldtype)
        cols["loss"] = np.concatenate([start_loss, history.loss.astype(ldtype)])
        names = self.metric_names
        if (
            names
            and history.batch_stats is not None
            and history.full_stats is not None
            and history.initial_stats is not None
        ):
            run_m, self._metric_sums = metrics.running(
                names, history.batch_stats, history.epoch, self._metric_sums
            )
            full = metrics.finalize(names, history.full_stats)
            at_start = metrics.finalize(names, history.initial_stats)
            # in the loss's dtype, as the frameworks log them (a float32
            # run's RMSE exported as 3.2601385454438603 claimed digits it has not)
            for name in names:
                lead_run = np.full(lead, np.nan)
                lead_full = np.atleast_1d(at_start[name])[:lead]
                cols[f"running_{name}"] = np.concatenate(
                    [lead_run, run_m[name]]
                ).astype(ldtype)
                cols[name] = np.concatenate([lead_full, full[name]]).astype(ldtype)
        if history.val_loss is not None and history.initial_val is not None:
            start_val, start_stats = history.initial_val
            lead_val = np.array([start_val] * lead, ldtype)
            cols["val_loss"] = np.concatenate(
                [lead_val, history.val_loss.astype(ldtype)]
            )
            if names and history.val_stats is not None:
                val = metrics.finalize(names, history.val_stats)
                val_start = metrics.finalize(names, np.asarray(start_stats))
                for name in names:
                    lead_m = np.atleast_1d(val_start[name])[:lead]
                    cols[f"val_{name}"] = np.concatenate([lead_m, val[name]]).astype(
                        ldtype
                    )
        self.steps += n
        return pd.DataFrame(cols)


#: The columns a schedule gives a trace: the rate each step used, and the
#: momentum (beta1) where OneCycleLR cycles it.
SCHEDULED = ("lr", "momentum", "beta1")


def schedule_columns(frame: pd.DataFrame) -> list[str]:
    """The columns a schedule gave a trace frame, of ``SCHEDULED``: a run's rate
    and cycled momentum, not parameters of those names (which have gradients)."""
    columns = frame.columns
    return [c for c in SCHEDULED if c in columns and f"grad_{c}" not in columns]


def rate_span(frame: pd.DataFrame, cuts: bool = False) -> str:
    """Where a schedule took the rate, from a trace frame's ``lr`` column: its
    first and last rates, its peak where it rose above both (a warm-up), its
    lowest where it fell below both, and the steps where it jumped back up (a
    restart), such as ": 0.1 at step 1, 3.9e-05 at its lowest (step 70),
    restarting at steps 11, 31 and 71, to 0.0121 at the last"; "" without
    rates. ``cuts``: the rate a plateau's, which it cut after epochs the
    summary names ("cut after epochs 7 and 12").

    Examples:
        >>> frame = pd.DataFrame({"step": range(5), "lr": [None, 1, 0.5, 1, 0.5]})
        >>> rate_span(frame)
        ': 1 at step 1, restarting at step 3, to 0.5 at the last'
        >>> rate_span(pd.DataFrame({"step": range(3), "lr": [None, 0.2, 0.1]}))
        ': 0.2 at step 1 to 0.1 at the last'
    """
    if "lr" not in schedule_columns(frame):
        return ""
    rates = frame["lr"].dropna()
    if not len(rates):
        return ""
    steps = frame["step"][rates.index].to_numpy()
    values = rates.to_numpy(np.float64)
    first, last = values[0], values[-1]
    parts = [f"{first:.6g} at step 1"]
    top, low = values.argmax(), values.argmin()
    if values[top] > max(first, last):
        parts.append(f"{values[top]:.6g} at its peak (step {steps[top]})")
    if values[low] < min(first, last):
        parts.append(f"{values[low]:.6g} at its lowest (step {steps[low]})")
    # a restart: the rate jumps back up after it fell (not a warm-up's stairs)
    restarts, since = [], 0
    for i in np.flatnonzero(np.diff(values) > 0) + 1:
        if values[since:i].min() < values[since]:
            restarts.append(str(int(steps[i])))
        since = int(i)
    if restarts:
        which = "step" if len(restarts) == 1 else "steps"
        parts.append(f"restarting at {which} {listed(restarts, 5)}")
    after = cut_epochs(frame) if cuts else []
    if after:
        which = "epoch" if len(after) == 1 else "epochs"
        parts = [parts[0], f"cut after {which} {listed(after, 8)}"]
    # as "0.1 at step 1 to 0.01 at the last" where there is nothing between
    between = ", " if len(parts) > 1 else " "
    return ": " + ", ".join(parts) + f"{between}to {last:.6g} at the last"


def cut_epochs(frame: pd.DataFrame) -> list[int]:
    """The epochs after which a trace frame's ``lr`` fell (a plateau's cuts)."""
    if "lr" not in frame.columns or "epoch" not in frame.columns:
        return []
    rates = frame["lr"].dropna()
    values = rates.to_numpy(np.float64)
    epochs = frame["epoch"][rates.index].to_numpy()
    return [int(epochs[i]) - 1 for i in np.flatnonzero(np.diff(values) < 0) + 1]


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The parameter columns of a trace frame, in order."""
    skip = {"step", "epoch", "batch", "batch_loss", "loss", "gap", *METRICS}
    skip.update(schedule_columns(frame))
    skip.update(validation_columns(frame))
    return [
        c
        for c in frame.columns
        if c not in skip and not c.startswith(("grad_", "running_"))
    ]


def print_rows(n_steps: int, every: int | None) -> list[int]:
    """The steps a printed table shows: 0, every k-th, and the last.

    The default k gives about 20 rows, rounded to 1, 2 or 5 times a power of ten.

    Examples:
        >>> print_rows(10000, None)[:4], print_rows(4, None)
        ([0, 500, 1000, 1500], [0, 1, 2, 3, 4])
    """
    if every is None:
        every = nice_step(n_steps / 20)
    rows = list(range(0, n_steps + 1, every))
    if rows[-1] != n_steps:
        rows.append(n_steps)
    return rows


def nice_step(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least ``value``."""
    if value <= 1:
        return 1
    magnitude = 10 ** int(np.floor(np.log10(value)))
    for m in (1, 2, 5, 10):
        if m * magnitude >= value:
            return int(m * magnitude)
    return int(10 * magnitude)


def settled_loss(table: pd.DataFrame, n_rows: int | None) -> pd.Series:
    """Where each configuration of a sweep's ``table`` settled: a mini-batch run's
    mean loss over the last tenth of its steps (``tail_loss``: its batches' noise
    makes its last loss a draw, and a rate that jumps about may end low by luck),
    a full-batch run's last loss (its steps are not noisy). The final loss in a
    sweep saved before ``tail_loss``."""
    if "tail_loss" not in table:
        return table["loss"].astype(float)
    if n_rows is None or "batch_size" not in table:
        return table["tail_loss"].astype(float)
    mini = table["batch_size"].astype(float) < n_rows
    return table["tail_loss"].where(mini, table["loss"]).astype(float)


def keras_value(value: float) -> str:
    """A logged value as Keras's progress bar prints it: four decimals, or four
    significant digits in e-notation at 1e-3 and below."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def keras_log(
    epochs: pd.DataFrame,
    per_epoch: int,
    n_epochs: int,
    validation: bool = True,
    learning_rate: bool = False,
) -> list[str]:
    """The lines ``model.fit(..., verbose=2)`` prints, from ``epochs`` (``history``'s
    table): "Epoch k/N", then the batches done, the loss and each metric as Keras
    logs them at the epoch's end, and with ``validation`` the same after the
    epoch as ``val_``: over the run's validation data where it had them, else
    over all the training data (Keras's with the training data as
    ``validation_data``; left out of an epoch whose loss over all the data was not
    taken). Keras sorts each group of names; the time it took is left out.
    ``learning_rate``: the epoch's rate last, as Keras's ReduceLROnPlateau adds it
    to the epoch's logs."""
    lines: list[str] = []
    metrics = [
        c for c in epochs.columns if f"{c}_all_data" in epochs.columns and c != "loss"
    ]
    for _, row in epochs.iterrows():
        epoch = int(row["epoch"])
        done = int(row["step"]) - (epoch - 1) * per_epoch
        train = {"loss": row["loss"]}
        train.update({KERAS_METRICS.get(m, m): row[m] for m in metrics})
        logged = [f"{k}: {keras_value(float(v))}" for k, v in sorted(train.items())]
        # held-out rows where the run had them, else the training data's
        held_out = "val_loss" in epochs.columns
        loss_col = "val_loss" if held_out else "loss_all_data"
        if validation and np.isfinite(row[loss_col]):
            val = {"val_loss": row[loss_col]}
            val.update(
                {
                    f"val_{KERAS_METRICS.get(m, m)}": row[
                        f"val_{m}" if held_out else f"{m}_all_data"
                    ]
                    for m in metrics
                }
            )
            logged += [f"{k}: {keras_value(float(v))}" for k, v in sorted(val.items())]
        if learning_rate and "lr" in row:
            logged.append(f"learning_rate: {keras_value(float(row['lr']))}")
        lines += [
            f"Epoch {epoch}/{n_epochs}",
            " - ".join([f"{done}/{per_epoch}", *logged]),
        ]
    return lines


def history(frame: pd.DataFrame, per_epoch: int, last_step: int) -> pd.DataFrame:
    """One row per epoch, as Keras's ``History.history`` has it: the epoch's last
    step, ``loss`` (what Keras logs at the epoch's end: the running mean over its
    batches), each ``--metric`` as Keras logs it (``rmse``, ...), ``loss_all_data``
    (the loss over all the data after the epoch: what ``val_loss`` shows with the
    training data as validation data; NaN where the run did not take it then),
    each metric on all the data (``<metric>_all_data``), with validation data
    ``val_loss`` and ``val_<metric>`` over them, the rate where the run had
    a schedule (and the momentum where it cycled it), and the parameters at the
    epoch's end. A run that stopped inside an epoch ends with that epoch's steps
    so far."""
    rows = frame[
        (frame["step"] > 0)
        & ((frame["batch"] == per_epoch) | (frame["step"] == last_step))
    ]
    out = pd.DataFrame(
        {
            "epoch": rows["epoch"].to_numpy(),
            "step": rows["step"].to_numpy(),
            "loss": rows["running_loss"].to_numpy(),
        }
    )
    for running in [c for c in frame.columns if c.startswith("running_")]:
        name = running.removeprefix("running_")
        if name != "loss":
            out[name] = rows[running].to_numpy()
    out["loss_all_data"] = rows["loss"].to_numpy()
    for running in [c for c in frame.columns if c.startswith("running_")]:
        name = running.removeprefix("running_")
        if name != "loss" and name in frame.columns:
            out[f"{name}_all_data"] = rows[name].to_numpy()
    for c in validation_columns(frame):
        out[c] = rows[c].to_numpy()
    for c in schedule_columns(frame):
        out[c] = rows[c].to_numpy()
    for name in param_columns(frame):
        out[name] = rows[name].to_numpy()
    return out.drop_duplicates("step").reset_index(drop=True)


def validation_summary(
    frame: pd.DataFrame, per_epoch: int | None = None, restored: int | None = None
) -> dict[str, Any] | None:
    """What a run with validation data ended with: ``val_loss`` after the last
    epoch that took it (``step``, ``epoch``; with ``per_epoch``, ``whole``:
    whether that step ended its epoch, not a run stopped inside it), its lowest
    and the epoch after which it was lowest (``best_epoch``), and each metric's
    ``val_<metric>`` at the end; None without validation data, or before any
    epoch ended. ``restored``: the step whose weights early stopping restored,
    whose values they are then (``restored`` True), the last epoch's in
    ``last`` (``val_loss``, ``epoch``)."""
    if "val_loss" not in frame.columns:
        return None
    taken = frame[(frame["step"] > 0) & frame["val_loss"].notna()]
    if taken.empty:
        return None
    values = taken["val_loss"].to_numpy(np.float64)
    finite = np.isfinite(values)
    at_end = len(taken) - 1
    steps = taken["step"].to_numpy()
    if restored is not None and (steps == restored).any():
        at_end = int(np.flatnonzero(steps == restored)[0])
    out: dict[str, Any] = {
        "val_loss": float(values[at_end]),
        "step": int(steps[at_end]),
        "epoch": int(taken["epoch"].iloc[at_end]),
    }
    if at_end != len(taken) - 1:
        out["restored"] = True
        out["last"] = {
            "val_loss": float(values[-1]),
            "epoch": int(taken["epoch"].iloc[-1]),
        }
    if per_epoch is not None:
        out["whole"] = int(taken["batch"].iloc[at_end]) == per_epoch
    if finite.any():
        at = int(np.flatnonzero(finite)[np.argmin(values[finite])])
        out["best"] = float(values[at])
        out["best_epoch"] = int(taken["epoch"].iloc[at])
    for c in validation_columns(frame)[1:]:
        out[c] = float(taken[c].iloc[at_end])
    return out


def validation_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a run with validation data: ``val_loss`` and each metric's
    ``val_<metric>``."""
    if "val_loss" not in frame.columns:
        return []
    names = [
        c.removeprefix("running_") for c in frame.columns if c.startswith("running_")
    ]
    return ["val_loss"] + [
        f"val_{m}" for m in names if m != "loss" and f"val_{m}" in frame.columns
    ]


def param_labels(trace: Any, cols: list[str]) -> dict[str, str]:
    """How pictures, the report and ``summary()`` name each parameter column: the
    slopes of a built-in model of a linear predictor by their named x columns
    (``w[Temp (C)]`` for ``w[0]``), others as they are (a polynomial's w[k] is
    the coefficient of x^k, not a column's)."""
    info = trace.info
    x_names = list(info["data"].get("x") or [])
    labels = {c: c for c in cols}
    # a model of one's own may name a "w" that is no slope per column; columns
    # named x0, x1, ... (an array's), or x alone, say no more than w[0], w[1]
    own = info["model"] not in MODELS or "model" in info.get("own_objects", [])
    unnamed = x_names in ([f"x{i}" for i in range(len(x_names))], ["x"])
    per_column = len(x_names) >= 2 or info["model"] in LINEAR_PREDICTOR
    if x_names and per_column and not unnamed and not own:
        for i, name in enumerate(x_names):
            if f"w[{i}]" in labels:
                labels[f"w[{i}]"] = f"w[{name}]"
    return labels


def slope_columns(info: dict[str, Any]) -> list[str]:
    """The x columns of a run's, sweep's or diagnosis's ``info`` that have
    slopes: an offset's (the last, its coefficient held at 1) left out."""
    data = info.get("data") or {}
    x = list(data.get("x") or info.get("x") or [])
    offset = (info.get("model_options") or {}).get("offset") or data.get("offset")
    return x[:-1] if offset and x else x


def separating_columns(info: dict[str, Any]) -> list[str]:
    """The x columns a separation is told by: those that set it apart alone
    (run.json's ``separated_by``, their places), else every column with a
    slope (``slope_columns``)."""
    columns = slope_columns(info)
    alone = [columns[i] for i in info.get("separated_by") or [] if i < len(columns)]
    return alone or columns


def swept_key(value: Any) -> Any:
    """A sweep's swept value as a key that sorts and hashes: a vector's (a list,
    or an array read back from Parquet) as a tuple of its numbers."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(float(v) for v in np.ravel(value))
    return value


def axis_labels(trace: Any, cols: list[str]) -> dict[str, str]:
    """``param_labels`` as an axis names them: a run on standardised x gives its
    slopes per standard deviation of their column, said so ("w[sqft] (per SD)":
    68853 read as per square foot otherwise)."""
    labels = param_labels(trace, cols)
    if not trace.info.get("original_units"):
        return labels
    return {c: v + " (per SD)" * c.startswith("w") for c, v in labels.items()}


def ranged_parameters(info: dict[str, Any]) -> str | None:
    """Why some estimates have no test against 0: the parameters of a range
    ("K and r are positive: 0 is an edge of their range, not a value to test;
    their intervals are on the log scale, so they stay in it"; a profile
    likelihood's intervals stay in it of themselves); None where none has
    one."""
    scales = {"positive": ("positive", "log"), "unit": ("in (0, 1)", "logit")}
    profiled = "profile" in str(info.get("ci_method") or "")
    said = []
    for constraint, (what, scale) in scales.items():
        names = [
            s["name"]
            for s in info.get("params_spec", [])
            if s.get("constraint") == constraint
            and s["name"] in (info.get("optimum") or {})
        ]
        if names:
            one = len(names) == 1
            why = (
                f"{listed(names, len(names))} {'is' if one else 'are'} {what}: 0 is "
                f"an edge of {'its' if one else 'their'} range, not a value to test"
            )
            if not profiled:  # Wald's, taken on the log or logit scale
                why += (
                    f"; {'its interval is' if one else 'their intervals are'} on "
                    f"the {scale} scale, so {'it stays' if one else 'they stay'} "
                    "in it"
                )
            said.append(why)
    return "; ".join(said) + "." if said else None
