"""``fit``: validate the input, build the problem, run the compiled loop."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import pandas as pd

from gradtrace import validate
from gradtrace.core import loop
from gradtrace.core.batches import n_batches
from gradtrace.data import DATASETS
from gradtrace.errors import InputError
from gradtrace.reference import compute as reference_compute
from gradtrace.sources import DataLike, data_file, frame_of, source_name, truth_of
from gradtrace.store import load_run
from gradtrace.tables import trace_frame
from gradtrace.trace import Trace, versions

#: Evaluate the loss over all the data after every step while rows x steps stays
#: under this many row evaluations; beyond it, every k-th step (``eval_every``).
EVAL_BUDGET = 100_000_000
DEFAULT_EPOCHS = 100

Progress = Callable[[int, int], None]


@dataclass
class RunConfig:
    """Every argument of a run, as given (``None`` where the default applies)."""

    data: str | None = None
    model: str = "line"
    loss: str | None = None
    x: list[str] | None = None
    y: str = "y"
    optimizer: str = "sgd"
    lr: float | str | None = None
    opt: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    shuffle: bool = True
    seed: int = 0
    init: dict[str, Any] = field(default_factory=dict)
    fix: dict[str, Any] = field(default_factory=dict)
    reduction: str = "mean"
    dtype: str = "float32"
    compute_dtype: str | None = None
    eval_every: int | None = None
    drop_missing: bool = False
    exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit(
    data: DataLike,
    model: str = "line",
    loss: str | None = None,
    *,
    x: str | Sequence[str] | None = None,
    y: str = "y",
    optimizer: str = "sgd",
    lr: float | None = None,
    opt: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    init: Mapping[str, Any] | None = None,
    fix: Mapping[str, Any] | None = None,
    reduction: str = "mean",
    dtype: str = "float32",
    compute_dtype: str | None = None,
    eval_every: int | None = None,
    drop_missing: bool = False,
    exact: bool = True,
    progress: Progress | None = None,
) -> Trace:
    """Fit ``model`` to ``data`` by gradient steps and record every step.

    Args:
        data: a DataFrame, a dict of columns, a CSV/Parquet path, or the name of a
            built-in data set (``gradtrace.DATASETS``).
        model: ``line``, ``linear`` or ``normal``.
        loss: ``mse`` or ``nll``; default ``mse`` for regression, ``nll`` for
            distributions. ``nll`` on a regression model adds a noise ``scale``.
        x, y: column names (several ``x`` for ``linear``); distributions read ``y``.
        optimizer: a preset name (``gradtrace.OPTIMIZERS``), e.g. ``keras.rmsprop``.
        lr: the learning rate (default: the preset's).
        opt: other hyper-parameters under the preset's own names.
        epochs, steps: how long to train (give one; default 100 epochs). ``steps``
            counts optimizer steps, continuing through epochs.
        batch_size: rows per step; default all rows (full-batch gradient descent).
            Larger than the data is clamped to the data, as Keras does.
        shuffle: reshuffle the rows every epoch, from ``seed``.
        init: initial values by parameter name (default: each parameter's default).
        fix: parameters held at a value and not trained.
        reduction: ``mean`` or ``sum`` of the per-row losses of a batch.
        dtype: dtype of the parameters (and, by default, of the loss computation).
        compute_dtype: dtype of the data and the loss, when it differs from ``dtype``
            (``float32`` with ``dtype="float64"`` reproduces PyTorch's seed 002).
        eval_every: evaluate the loss over all the data every k-th step (default: every
            step while rows x steps <= 1e8, else thinned to fit that budget).
        drop_missing: drop rows with NaN or infinity instead of refusing them.
        exact: also compute the exact optimum, standard errors and the learning-rate
            diagnosis (``optimum``, ``stderr``, ``diagnosis`` in ``trace.info``, and a
            ``gap`` column).
        progress: called with (steps done, steps in all) after each chunk of steps,
            and with (0, steps in all) when a run of several chunks starts.

    Returns:
        A :class:`Trace` of every step. A run that diverges is returned, not raised:
        ``trace.diverged`` and ``trace.status`` say so.

    Raises:
        InputError: for bad input, with a message that says what to do.
    """
    started = time.perf_counter()
    config = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        x=[x] if isinstance(x, str) else (list(x) if x is not None else None),
        y=y,
        optimizer=optimizer,
        lr=lr,
        opt=dict(opt or {}),
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        init=dict(init or {}),
        fix=dict(fix or {}),
        reduction=reduction,
        dtype=dtype,
        compute_dtype=compute_dtype,
        eval_every=eval_every,
        drop_missing=drop_missing,
        exact=exact,
    )
    frame, source = frame_of(data)
    return run(config, frame, source, progress=progress, started=started)


class Plan(NamedTuple):
    """A configuration checked and resolved against its data, ready to run: the
    model and loss, data arrays, parameters, optimizer and schedule."""

    notices: Any
    m: Any
    loss: Any
    reduction: Any
    pdtype: Any
    cdtype: Any
    xs: Any
    ys: Any
    dropped: Any
    specs: Any
    trainable: Any
    fixed: Any
    spec: Any
    n_rows: Any
    batch_size: Any
    per_epoch: Any
    n_steps: Any
    eval_every: Any
    seed: Any
    names: Any
    problem: Any
    schedule: Any
    chunk: Any
    x_cols: Any


def plan(config: RunConfig, frame: pd.DataFrame, source: str) -> Plan:
    """Check ``config`` against the data and resolve every default (no training)."""
    notices: list[str] = []
    model_name, kind = validate.model_name(config.model)
    reduction = validate.reduction(config.reduction)
    pdtype = validate.dtype(config.dtype)
    cdtype = validate.dtype(config.compute_dtype or pdtype, "compute dtype")
    x_cols = validate.x_columns(frame, model_name, kind, config.x, config.y)
    m, loss = validate.model(model_name, config.loss, len(x_cols))
    xs, ys = validate.columns(frame, m.kind, x_cols, config.y, source, cdtype)
    xs, ys, dropped = validate.finite_rows(xs, ys, config.drop_missing, source)
    if dropped:
        notices.append(
            f"dropped {dropped} row{'s' if dropped > 1 else ''} with "
            "missing or infinite values"
        )
    if m.name == "line":
        xs = None if xs is None else xs[:, 0]
    specs = validate.specs_for(m, loss)
    trainable, fixed = validate.param_values(specs, config.init, config.fix)
    spec = validate.optimizer(config.optimizer, config.lr, config.opt)
    n_rows = len(ys)

    batch_size = n_rows
    if config.batch_size is not None:
        batch_size = validate.positive_int(
            "batch size", config.batch_size, "--batch-size"
        )
        if batch_size > n_rows:
            notices.append(
                f"batch size {batch_size} is larger than the {n_rows} rows: "
                f"using {n_rows} (one batch per epoch, as Keras does)"
            )
            batch_size = n_rows
    if config.epochs is not None and config.steps is not None:
        raise InputError("give --epochs or --steps, not both.")
    per_epoch = n_batches(n_rows, batch_size)
    if config.steps is not None:
        n_steps = validate.positive_int("steps", config.steps, "--steps")
    else:
        epochs = config.epochs if config.epochs is not None else DEFAULT_EPOCHS
        n_epochs = validate.positive_int("epochs", epochs, "--epochs")
        n_steps = validate.positive_int(
            "epochs x batches per epoch", n_epochs * per_epoch, "--epochs"
        )
    if config.eval_every is not None:
        eval_every = validate.positive_int(
            "--eval-every", config.eval_every, "--eval-every"
        )
    else:
        eval_every = max(1, math.ceil(n_rows * n_steps / EVAL_BUDGET))
    seed = config.seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be a whole number, got {seed!r}.")

    names = tuple(s.name for s in specs if s.name in trainable)
    problem = loop.Problem(m, loss, reduction, names, pdtype, cdtype)
    schedule = loop.Schedule(n_rows, batch_size, n_steps, config.shuffle, eval_every)
    chunk = _chunk_steps(n_steps, batch_size)
    return Plan(
        notices,
        m,
        loss,
        reduction,
        pdtype,
        cdtype,
        xs,
        ys,
        dropped,
        specs,
        trainable,
        fixed,
        spec,
        n_rows,
        batch_size,
        per_epoch,
        n_steps,
        eval_every,
        seed,
        names,
        problem,
        schedule,
        chunk,
        x_cols,
    )


def run(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    progress: Progress | None = None,
    started: float | None = None,
) -> Trace:
    """Run a validated-on-the-way configuration on a loaded table."""
    started = time.perf_counter() if started is None else started
    p = plan(config, frame, source)

    interrupted = False
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        prepared = loop.prepare(
            p.problem,
            p.spec,
            p.schedule,
            p.trainable,
            p.fixed,
            p.xs,
            p.ys,
            seed=int(p.seed),
            chunk_steps=p.chunk,
        )
        chunks: list[loop.Chunk] = []
        try:
            if progress is not None and p.chunk < p.n_steps:
                progress(0, p.n_steps)  # compiled; a long run starts
            for c in loop.run_chunks(prepared, seed=int(p.seed)):
                chunks.append(c)
                if progress is not None:
                    progress(min(c.t0 + p.chunk, p.n_steps), p.n_steps)
        except KeyboardInterrupt:
            interrupted = True
        history = loop.assemble(prepared, chunks, p.trainable)

    table = trace_frame(
        history,
        [s for s in p.specs if s.name in p.trainable],
        {k: v.tolist() for k, v in p.trainable.items()},
    )
    reference: dict[str, Any] = {}
    if config.exact:
        reference = reference_compute(
            p.m,
            p.loss,
            p.reduction,
            p.names,
            p.spec,
            p.schedule,
            p.trainable,
            p.fixed,
            p.xs,
            p.ys,
            p.notices,
        )
    if "optimum_loss" in reference:
        table["gap"] = table["loss"].astype(np.float64) - reference["optimum_loss"]
    status = "completed"
    if history.diverged_step is not None:
        status = "diverged"
    elif interrupted:
        status = "interrupted"
    info: dict[str, Any] = {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": p.m.name,
        "loss": p.loss,
        "reduction": p.reduction,
        "optimizer": {"name": p.spec.name, **p.spec.hyper},
        "config": config.to_dict(),
        "data": {
            "source": "standard input"
            if config.data == "-"
            else (config.data or "python data"),
            "n_rows": p.n_rows,
            "x": p.x_cols,
            "y": config.y,
            "dropped_rows": p.dropped,
            **data_file(config.data),
        },
        "schedule": {
            "batch_size": p.batch_size,
            "batches_per_epoch": p.per_epoch,
            "n_steps": p.n_steps,
            "shuffle": config.shuffle,
            "seed": int(p.seed),
            "eval_every": p.eval_every,
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
        "steps": len(history.batch_loss),
        "status": status,
        "diverged": history.diverged_step is not None,
        "diverged_step": history.diverged_step,
        "notices": p.notices,
        "truth": truth_of(config.data),
        **reference,
        "timings": {
            "compile_s": history.compile_s,
            "train_s": history.train_s,
            "total_s": time.perf_counter() - started,
        },
        "versions": versions(),
    }
    trace = Trace(table, info, data=(p.xs, p.ys))
    info["params"] = trace.params
    info["final_loss"] = trace.final_loss
    return trace


def load(folder: str | Path) -> Trace:
    """Read a run folder that ``Trace.save`` or ``gradtrace fit`` wrote."""
    frame, info = load_run(folder)
    return Trace(frame, info)


def rerun_config(info: dict[str, Any]) -> RunConfig:
    """The configuration of a saved run, with its data file found and checked."""
    config = RunConfig(**info["config"])
    source = config.data
    if source is None or source == "-":
        raise InputError(
            "this run read its data from Python or standard input, so it "
            "cannot be rerun from the command line: call gradtrace.fit "
            "with the same data."
        )
    if source in DATASETS:
        return config
    recorded = info["data"].get("path")
    path = Path(source) if Path(source).is_file() else Path(recorded or source)
    if not path.is_file():
        raise InputError(
            f"the run's data file {source!r} is gone (it was at "
            f"{recorded!r}): put it back to rerun the run."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if info["data"].get("sha256") not in (None, digest):
        raise InputError(
            f"the data file {str(path)!r} changed since the run: the "
            "rerun would not be the same run."
        )
    config.data = str(path)
    return config


def reference(config: RunConfig, frame: pd.DataFrame, source: str) -> dict[str, Any]:
    """The optimum, standard errors and learning-rate diagnosis of a configuration,
    before (and without) training: what ``gradtrace diagnose`` prints."""
    p = plan(config, frame, source)
    out = reference_compute(
        p.m,
        p.loss,
        p.reduction,
        p.names,
        p.spec,
        p.schedule,
        p.trainable,
        p.fixed,
        p.xs,
        p.ys,
        p.notices,
    )
    out["notices"] = p.notices
    return out


def _chunk_steps(n_steps: int, batch_size: int) -> int:
    """Steps per compiled call: ``GRADTRACE_CHUNK_STEPS`` if set, else one call for a
    short run and about 100 for a long one (progress, and Ctrl-C between calls)."""
    raw = os.environ.get("GRADTRACE_CHUNK_STEPS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(
                f"GRADTRACE_CHUNK_STEPS must be a positive integer, got {raw!r}."
            )
        return min(int(raw), n_steps)
    return loop.default_chunk_steps(n_steps, batch_size)
