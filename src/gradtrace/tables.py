"""From a core History to pandas: the trace table, one row per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.core import metrics
from gradtrace.core.loop import History
from gradtrace.core.metrics import METRICS, keras_running_mean
from gradtrace.core.models import ParamSpec

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
    (``w[0]``, ``w[1]``, ... for vectors); ``grad_<param>``, the gradient the step used;
    ``batch_loss`` (the batch's loss at the parameters before the update);
    ``running_loss`` (as Keras logs it); ``loss`` (all the data, after the step);
    for each metric, ``running_<metric>`` (as Keras logs it) and ``<metric>`` (all
    the data, after the step). Missing values (the initial row's gradient, skipped
    evaluations) are NaN.
    """
    n = len(history.batch_loss)
    cols: dict[str, Any] = {
        "step": np.arange(n + 1, dtype=np.int64),
        "epoch": np.concatenate([[0], history.epoch]).astype(np.int64),
        "batch": np.concatenate([[0], history.batch]).astype(np.int64),
    }
    grads: dict[str, Any] = {}
    for s in specs:
        width = 1 if s.size is None else s.size
        values = history.params[s.name].reshape(n, width)
        start = np.asarray(initial[s.name], values.dtype).reshape(1, width)
        both = np.concatenate([start, values])
        g = history.grads[s.name].reshape(n, width)
        g = np.concatenate([np.full((1, g.shape[1]), np.nan, g.dtype), g])
        for i, name in enumerate(s.columns()):
            cols[name] = both[:, i]
            grads[f"grad_{name}"] = g[:, i]
    cols.update(grads)
    ldtype = history.batch_loss.dtype
    nan = np.array([np.nan], ldtype)
    cols["batch_loss"] = np.concatenate([nan, history.batch_loss])
    running = keras_running_mean(history.batch_loss, history.batch_rows, history.epoch)
    cols["running_loss"] = np.concatenate([nan, running.astype(ldtype)])
    cols["loss"] = np.concatenate(
        [np.array([history.initial_loss], ldtype), history.loss.astype(ldtype)]
    )
    if (
        metric_names
        and history.batch_stats is not None
        and history.full_stats is not None
        and history.initial_stats is not None
    ):
        run_m = metrics.running(metric_names, history.batch_stats, history.epoch)
        full = metrics.finalize(metric_names, history.full_stats)
        at_start = metrics.finalize(metric_names, history.initial_stats)
        for name in metric_names:
            cols[f"running_{name}"] = np.concatenate([[np.nan], run_m[name]])
            cols[name] = np.concatenate([np.atleast_1d(at_start[name]), full[name]])
    return pd.DataFrame(cols)


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The parameter columns of a trace frame, in order."""
    skip = {"step", "epoch", "batch", "batch_loss", "loss", "gap", *METRICS}
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
