"""``fit``: validate the input, build the problem, run the compiled loop."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import math
import os
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import jax
import numpy as np
import pandas as pd
import pyarrow as pa

from gradtrace import held_out, store, validate
from gradtrace import stopping as early_stop
from gradtrace.arguments import in_python, no_argument
from gradtrace.assembly import build_trace, with_gap, with_lr
from gradtrace.core import early_stopping, loop, schedules
from gradtrace.core.batches import n_batches
from gradtrace.core.distributions import CustomFamily
from gradtrace.core.losses import loss_name
from gradtrace.core.models import Custom
from gradtrace.core.optimizers import PRESETS, OptimizerSpec
from gradtrace.core.schedules import LrSchedule
from gradtrace.data import DATASETS, file_sha256
from gradtrace.errors import COMMAND_LINE, INTERRUPTED, InputError, RunFolderError
from gradtrace.reference import compute as reference_compute
from gradtrace.sources import (
    DataLike,
    frame_of,
    source_name,
)
from gradtrace.store import (
    TraceWriter,
    check_parts,
    kept_steps,
    load_info,
    load_run,
    load_state,
    writable,
)
from gradtrace.tables import TraceParts, nice_step
from gradtrace.text import x_flags
from gradtrace.trace import Trace
from gradtrace.usercode import load_model_file
from gradtrace.watching import Watch, loss_at, stopped_early

#: Evaluate the loss over all the data after every step while rows x steps stays
#: under this many row evaluations; beyond it, every k-th step (``eval_every``).
EVAL_BUDGET = 100_000_000
DEFAULT_EPOCHS = 100
#: A run of more steps than this, given a folder to write to, writes its trace
#: there a part of at most this many steps at a time instead of holding it.
TRACE_PART_STEPS = 1 << 18
#: About how many rows of such a trace stay in memory (every k-th step).
KEEP_ROWS = 100_000
#: ... and every one of its first steps (pictures draw steps on a log scale)
KEEP_HEAD = 1000

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
    #: a learning-rate schedule: "torch.step:step_size=10,gamma=0.5" or
    #: {"name": "torch.step", "step_size": 10, "gamma": 0.5}
    lr_schedule: str | Mapping[str, Any] | None = None
    #: gradient clipping: "torch.norm=1.0" or {"name": "torch.norm", "max_norm": 1}
    clip: str | Mapping[str, Any] | None = None
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
    degree: int | None = None
    standardize: bool = False
    delta: float | None = None
    model_expr: str | None = None
    model_file: str | None = None
    loss_expr: str | None = None
    param_space: str = "constrained"
    metrics: list[str] = field(default_factory=list)
    checkpoint_every: int | None = None
    devices: int = 1
    #: read a Parquet file a chunk at a time instead of whole (``--stream``)
    stream: bool = False
    chunk_rows: int | None = None
    shuffle_window: int | None = None
    #: hold out the last fraction of the rows (Keras's ``validation_split``)
    validation_split: float | None = None
    #: validation data of their own: a file or a built-in data set's name (None
    #: for data given in Python, which run.json names as such)
    validation_data: str | None = None
    #: Keras's EarlyStopping: "patience=3,restore_best_weights=true" or a dict
    early_stopping: str | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # a schedule or clipping given as gradtrace's object, as its dict (run.json
        # keeps the config, and rerun reads it back)
        for name in ("lr_schedule", "clip", "early_stopping"):
            value = getattr(self, name)
            if hasattr(value, "to_dict"):
                setattr(self, name, value.to_dict())
            elif isinstance(value, Mapping):
                setattr(self, name, dict(value))
        # one x column by its name, as fit, sweep and lr_find take it
        if isinstance(self.x, str):
            self.x = [self.x]
        elif self.x is not None:
            self.x = list(self.x)
        # NumPy's and JAX's types by their names (np.float64 as "float64")
        for name in ("dtype", "compute_dtype"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                with contextlib.suppress(TypeError):
                    setattr(self, name, np.dtype(value).name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def model_and_loss(
    model: Any, loss: Any, options: Mapping[str, Any]
) -> tuple[Any, Any, str, str | None]:
    """``objects`` of a Python call's ``model`` and ``loss``: no model is a line,
    unless ``options`` give ``model_file`` or ``model_expr``; a model given beside
    either is refused (which one to fit?)."""
    for other in ("model_file", "model_expr"):
        if model is not None and options.get(other) is not None:
            fitted = "the file's" if other == "model_file" else "the expression's"
            raise InputError(
                f"give model or {other}, not both: {fitted} model is the one fitted."
            )
    return objects("line" if model is None else model, loss)


def objects(model: Any, loss: Any) -> tuple[Any, Any, str, str | None]:
    """A model and a loss given by name or as Python objects: (the model object or
    None, the loss object or None, the model's name, the loss's name) as a run's
    configuration records them."""
    model_obj = None if isinstance(model, str) else model
    loss_obj = None if loss is None or isinstance(loss, str) else loss
    return (
        model_obj,
        loss_obj,
        model if model_obj is None else getattr(model, "name", "custom"),
        loss if loss_obj is None else str(loss),
    )


def python_names(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, whose bad-input messages (written for the command line) name
    its keyword arguments instead of the flags, for a Python caller ("--batch-size
    must be at least 1" as "batch_size must be at least 1": ``in_python``), raised
    from the caller's call with none of gradtrace's own frames."""
    parameters = inspect.signature(function).parameters
    keywords = set(parameters)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        keywords |= {f.name for f in dataclasses.fields(RunConfig)}  # **fit_options

    @functools.wraps(function)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for key in kwargs:
            if key not in keywords:
                raise InputError(no_argument(function.__name__, key, keywords))
        try:
            return function(*args, **kwargs)
        except (InputError, RunFolderError) as err:
            if COMMAND_LINE.get():
                raise
            message = str(err)
            rewritten = in_python(message, keywords)
            if rewritten != message:
                err.args = (rewritten,)
            # shown from the caller's line: the message says what to do, and the
            # frames of the code that found the problem would only bury it
            raise err.with_traceback(None) from None

    return wrapped


@python_names
def fit(
    data: DataLike,
    model: Any = None,
    loss: Any = None,
    *,
    x: str | Sequence[str] | None = None,
    y: str = "y",
    optimizer: str = "sgd",
    lr: float | None = None,
    opt: Mapping[str, Any] | None = None,
    lr_schedule: str | Mapping[str, Any] | None = None,
    clip: str | Mapping[str, Any] | None = None,
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
    degree: int | None = None,
    standardize: bool = False,
    delta: float | None = None,
    model_expr: str | None = None,
    model_file: str | None = None,
    loss_expr: str | None = None,
    param_space: str = "constrained",
    metrics: str | Sequence[str] | None = None,
    devices: int = 1,
    stream: bool = False,
    chunk_rows: int | None = None,
    shuffle_window: int | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
    force: bool = False,
    checkpoint_every: int | None = None,
    validation_split: float | None = None,
    validation_data: DataLike | None = None,
    early_stopping: str | Mapping[str, Any] | None = None,
) -> Trace:
    """Fit ``model`` to ``data`` by gradient steps and record every step.

    Args:
        data: a DataFrame (pandas, or anything with ``to_pandas()``: polars, an
            Arrow table), a Series (y of a distribution), a dict of columns, an
            (x, y) tuple of arrays (x one column ``x``, or [rows, columns] named
            ``x0``, ``x1``, ..., or a DataFrame or named Series whose names are
            kept; (None, y) for a distribution), a NumPy array (its last column is
            y, the others x0, x1, ...; 1-D: y alone), a CSV/Parquet path, or the
            name of a built-in data set (``gradtrace.DATASETS``). A one-x model
            takes the one column besides y as x, whatever its name.
        model: a name from ``gradtrace.MODELS`` (``line``, ``poly``, ``logistic``,
            ``normal``, ``gamma``, ...), or your own ``gradtrace.Model``; default
            ``line``, or the model of ``model_file`` or ``model_expr``.
        loss: ``mse``, ``mae``, ``huber``, ``nll`` or your own ``gradtrace.Loss``;
            default ``nll`` for distributions and GLMs, ``mse`` otherwise. ``nll`` on
            a Gaussian regression model adds a noise ``scale``.
        x, y: column names (several ``x`` for ``linear``); distributions read ``y``.
        optimizer: a preset name (``gradtrace.OPTIMIZERS``), e.g. ``keras.rmsprop``.
        lr: the learning rate (default: the preset's).
        opt: other hyper-parameters under the preset's own names.
        lr_schedule: a learning-rate schedule from ``lr`` (``gradtrace.SCHEDULES``),
            as PyTorch's schedulers (once an epoch) or Keras's (every step) compute
            it: ``"torch.step:step_size=10,gamma=0.5"``, or a dict
            ``{"name": "keras.exponential", "decay_steps": 100, "decay_rate":
            0.9}``; ``"torch.plateau:patience=5"`` or ``"keras.plateau"`` cut it
            when the epoch's loss stops falling (ReduceLROnPlateau). The trace
            gets an ``lr`` column, the rate each step used.
        clip: clip the gradients before each update, as PyTorch's
            ``clip_grad_norm_`` (``"torch.norm=1.0"``), Keras's ``clipnorm``
            (``"keras.norm=1.0"``) or the others in ``gradtrace.CLIPS`` do; the
            trace keeps the gradients before clipping.
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
        degree: the degree of ``poly`` (default 2).
        standardize: for ``linear``, ``logistic`` and ``poisson-regression``:
            train on standardised x columns; run.json and the summary also give
            the slopes in x's own units.
        delta: the Huber loss's delta (default 1).
        model_expr: a model as an expression, such as ``"a*exp(-b*x) + c"``: the
            names that are not x columns are parameters (default start 1).
        model_file: ``path.py:name``: a ``gradtrace.Model`` or a function
            ``name(x, a=1.0, b=0.5)`` whose keyword defaults are its parameters.
        loss_expr: a per-row loss as an expression of ``pred`` and ``y``.
        param_space: ``constrained`` (update parameters as given; a step out of
            their support stops the run) or ``unconstrained`` (train log(positive)
            and logit(probability) values; the trace shows the values themselves).
        metrics: ``rmse``, ``mae``, ``r2``, ``accuracy``, ``loglik`` (a list or
            comma-separated): columns ``running_<m>`` (as Keras logs it) and ``<m>``
            (all the data after the step).
        devices: split the rows across this many devices (data-parallel).
        stream: read ``data``, a Parquet file, ``chunk_rows`` rows at a time instead
            of whole (data larger than memory): unshuffled, the same trace as in
            memory; shuffled, rows are mixed within windows of ``shuffle_window``
            rows. See ``gradtrace.streaming``.
        progress: called with (steps done, steps in all) after each chunk of steps,
            and with (0, steps in all) when a run of several chunks starts.
        out: a run folder to write, as ``gradtrace fit --out`` does: a long run
            writes its trace there a part at a time as it goes (the returned trace
            then holds every k-th step; ``gradtrace.load(out)`` reads it all).
        force: replace ``out`` if it exists.
        checkpoint_every: with ``out``, make the folder a checkpoint every K
            steps (its optimizer state and the trace so far): a killed or
            interrupted run goes on with ``gradtrace.resume(out)``.
        validation_split: hold out the last fraction of the rows (before any
            shuffling, as Keras's ``fit(validation_split=0.2)``): the run trains
            on the others and takes the loss and metrics over these after each
            epoch (``val_loss``, ``val_<metric>`` columns).
        validation_data: validation rows of their own, given as ``data`` is
            (the same columns).
        early_stopping: stop training as Keras's ``EarlyStopping`` callback
            does, its arguments as a dict or text: ``{"patience": 3,
            "restore_best_weights": True}`` (``monitor`` ``val_loss`` by default:
            give validation data, or ``monitor="loss"``). The trace ends at the
            epoch it stopped after; ``trace.params`` are the restored weights
            where it restored them; ``trace.info["early_stopping"]`` says what
            it decided.

    Returns:
        A :class:`Trace` of every step. A run that diverges is returned, not raised:
        ``trace.diverged`` and ``trace.status`` say so.

    Raises:
        InputError: for bad input, with a message that says what to do.
    """
    started = time.perf_counter()
    model_obj, loss_obj, model, loss = model_and_loss(
        model, loss, dict(model_file=model_file, model_expr=model_expr)
    )
    if validate.switch("stream", stream) and not isinstance(data, (str, Path)):
        raise InputError(
            "stream=True reads a Parquet file a chunk at a time: give its path as "
            f"data, not a {type(data).__name__} (data in memory need no stream=True)."
        )
    force = validate.switch("force", force)
    opt = validate.by_name("opt", opt)
    init = validate.by_name("init", init)
    fix = validate.by_name("fix", fix)
    config = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        x=[x] if isinstance(x, str) else (list(x) if x is not None else None),
        y=y,
        optimizer=optimizer,
        lr=lr,
        opt=opt,
        lr_schedule=lr_schedule,
        clip=clip,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        init=init,
        fix=fix,
        reduction=reduction,
        dtype=dtype,
        compute_dtype=compute_dtype,
        eval_every=eval_every,
        drop_missing=drop_missing,
        exact=exact,
        degree=degree,
        standardize=standardize,
        delta=delta,
        model_expr=model_expr,
        model_file=model_file,
        loss_expr=loss_expr,
        param_space=param_space,
        metrics=[metrics] if isinstance(metrics, str) else list(metrics or []),
        devices=devices,
        stream=stream,
        chunk_rows=chunk_rows,
        shuffle_window=shuffle_window,
        checkpoint_every=checkpoint_every,
        validation_split=validation_split,
        validation_data=None
        if validation_data is None
        else source_name(validation_data),
        early_stopping=early_stopping,
    )
    held = None if isinstance(validation_data, (str, Path)) else validation_data
    if checkpoint_every is not None and out is None:
        raise InputError(
            "checkpoint_every saves the run into its folder: give out='runs/NAME' too."
        )
    if out is None:
        return _run_config(
            config,
            data,
            model_obj,
            loss_obj,
            None,
            progress,
            started,
            validation=held,
        )
    trace, late = run_into(
        config,
        Path(out),
        force,
        data,
        model_obj,
        loss_obj,
        progress,
        started,
        validation=held,
    )
    if late:
        raise KeyboardInterrupt  # a Ctrl-C while it was saved comes after
    return trace


def run_into(
    config: RunConfig,
    out: Path,
    force: bool,
    data: DataLike | None = None,
    model_obj: Any = None,
    loss_obj: Any = None,
    progress: Progress | None = None,
    started: float | None = None,
    validation: DataLike | None = None,
) -> tuple[Trace, bool]:
    """Run ``config`` into the run folder ``out``, as ``gradtrace fit --out`` and
    ``fit(out=)`` do: the folder checked and locked before any training (one writer
    a folder), a long run's trace written there in parts as it goes, and the run
    saved whatever happens. Returns the trace, and whether a Ctrl-C came while it
    was saved (held until it was). ``data``, ``validation``: as ``fit``'s
    ``data`` and ``validation_data`` (default: the files or data sets the
    config names)."""
    started = time.perf_counter() if started is None else started
    writable(out, force)
    lock = store.writing(out)
    try:
        trace = _run_config(
            config,
            data,
            model_obj,
            loss_obj,
            functools.partial(TraceWriter, out, force=force),
            progress,
            started,
            validation=validation,
        )
        trace.info["timings"]["total_s"] = time.perf_counter() - started
        with held_interrupts() as late:
            trace.save(out, force=force)
        return trace, bool(late)
    finally:
        store.release(lock)


def _run_config(
    config: RunConfig,
    data: DataLike | None,
    model_obj: Any,
    loss_obj: Any,
    trace_to: Callable[[], TraceWriter] | None,
    progress: Progress | None,
    started: float,
    resume: Mapping[str, np.ndarray] | None = None,
    resumed_from: Mapping[str, Any] | None = None,
    planned: Callable[[Plan | None], None] | None = None,
    validation: DataLike | None = None,
) -> Trace:
    """A configuration's run, in memory or streamed (``trace_to``: its folder's
    writer, for a run written as it goes; ``resume``, ``resumed_from`` as
    ``run``'s). ``planned`` is called before anything is compiled: with the plan
    of a run in memory, with None for a streamed one (which plans a chunk at a
    time). ``validation``: validation data given in Python."""
    if config.stream and config.early_stopping:
        raise InputError(
            "a streamed run takes no early stopping yet: fit the data in memory "
            "(without stream=True, --stream), or stream without it."
        )
    if config.stream and (
        config.validation_split is not None or validation is not None
    ):
        raise InputError(
            "a streamed run takes validation data from a file of their own "
            "(--validation-data FILE, validation_data='FILE'), not a split or "
            "data in Python: the file is streamed, its last rows are not held."
        )
    if config.stream:
        if model_obj is not None or loss_obj is not None:
            raise InputError(
                "stream=True takes a model and a loss by name, expression or "
                "model_file; give those instead of Python objects."
            )
        from gradtrace.streaming import run_stream

        if planned is not None:
            planned(None)
        return run_stream(
            config,
            progress=progress,
            started=started,
            trace_to=trace_to,
            resume=resume,
            resumed_from=resumed_from,
        )
    if config.chunk_rows is not None or config.shuffle_window is not None:
        raise InputError(
            "chunk_rows and shuffle_window go with stream=True: add it, or drop them."
        )
    frame, source = frame_of(data if data is not None else config.data or "")
    return run(
        config,
        frame,
        source,
        progress=progress,
        started=started,
        model_obj=model_obj,
        loss_obj=loss_obj,
        resume=resume,
        trace_to=trace_to,
        resumed_from=resumed_from,
        planned=planned,
        validation=None if validation is None else frame_of(validation),
    )


def _save_then_interrupt(trace: Trace, folder: Path, force: bool) -> None:
    """Save a run whatever happens; a Ctrl-C meanwhile comes after it."""
    with held_interrupts() as late:
        trace.save(folder, force=force)
    if late:
        raise KeyboardInterrupt


@python_names
def resume(
    folder: str | Path,
    data: DataLike | None = None,
    model: Any = None,
    loss: Any = None,
    progress: Progress | None = None,
    starting: Callable[[int, int, int], None] | None = None,
    validation_data: DataLike | None = None,
) -> Trace:
    """Continue an interrupted or checkpointed run in ``folder`` from its saved
    optimizer state, to the trace an uninterrupted run gives, and save it there.
    A run given validation data in Python needs them again as
    ``validation_data``.

    The data are read again from where the run read them, or from ``data``; a
    run fitted to data given in Python needs them again as ``data``, and one
    given a model or loss of your own, those as ``model`` and ``loss``. Data whose
    values differ from those the run trained on (run.json's ``values_sha256``)
    are refused, as is a changed data file. The trace goes on
    from the last checkpoint (parts written after it are dropped). ``starting``
    is called with (the steps done it goes on from, steps in all, steps the
    run had recorded) before the run: an interrupted full-batch run recorded a
    part more than its saved state holds, and those steps are computed again.
    ``folder`` may be a name that ``gradtrace ls`` lists, or ``"latest"``."""
    started = time.perf_counter()
    folder = store.find_run(folder)
    if store.holds_current(folder):
        raise InputError(
            f"resume {str(folder)!r} from outside it (cd out of it first): the "
            "run's folder is put in place anew when it is saved."
        )
    # no other process may write the folder from its reading to its saving
    lock = store.writing(folder)
    try:
        info = load_info(folder)  # not the trace: it may be millions of rows
        check_parts(folder, info)
        if info["status"] == "completed":
            # training on from where it ended is a new run from those values
            values = {
                f"{k}[{i}]" if np.ndim(v) else k: float(e)
                for k, v in (info.get("params") or {}).items()
                for i, e in enumerate(np.ravel(v))
            }
            given = [f"{k!r}: {v:.7g}" for k, v in values.items()]
            ended = (
                " ".join(f"--init {k}={v:.7g}" for k, v in values.items())
                if COMMAND_LINE.get()
                else "init={" + ", ".join(given) + "}"
            )
            longer = (
                f"gradtrace rerun {shlex.quote(str(folder))} --epochs N (the same "
                "run, longer: its optimizer's state carried on), or fit again with"
                if COMMAND_LINE.get()
                else "fit again with epochs=N (the same run, longer), or with"
            )
            raise InputError(
                f"run {str(folder)!r} completed: only an interrupted or checkpointed "
                f"run can be resumed; to train on from where it ended, {longer} "
                f"{ended} (the optimizer's state starts afresh)."
            )
        if info["status"] not in ("interrupted", "running"):
            raise InputError(
                f"run {str(folder)!r} {info['status']}: only an interrupted or "
                "checkpointed run can be resumed (gradtrace rerun RUN --out NEW "
                "runs it again)."
            )
        config = _resumed_config(info, data, model, loss, validation_data)
        state = load_state(folder)
        writer = None
        if "parts" in state:  # the trace was written in parts: go on writing them
            writer = functools.partial(TraceWriter.reopen, folder, int(state["parts"]))
        begin = (int(state["t0"]), int(info["schedule"]["n_steps"]), int(info["steps"]))

        def checked(p: Plan | None) -> None:
            if p is not None:
                _check_resumed_values(info, p)
            if starting is not None:
                starting(*begin)

        trace = _run_config(
            config,
            data,
            model,
            loss,
            writer,
            progress,
            started,
            resume=state,
            resumed_from=info,
            planned=checked,
            validation=validation_data,
        )
        if "resumed" not in trace.info:  # not written in parts: not done yet
            trace.info["timings"]["total_s"] = time.perf_counter() - started
            as_resumed(trace.info, info)
        _save_then_interrupt(trace, folder, force=True)
        return trace
    finally:
        store.release(lock)


def _check_resumed_values(info: dict[str, Any], p: Plan) -> None:
    """Refuse data other than the run's: the values it trained on (after dropped
    rows), by their checksum, or by their count for a run without one."""
    recorded, n = info["data"].get("values_sha256"), info["data"]["n_rows"]
    if recorded is None and p.n_rows != n:
        raise InputError(
            f"the data have {p.n_rows} rows, the run had {n}: give the run's own data."
        )
    if recorded is not None and p.values != recorded:
        raise InputError(
            "these data differ from the run's (the values it trained on do not "
            "match run.json's checksum): give the run's own data."
        )


def as_resumed(info: dict[str, Any], before: Mapping[str, Any]) -> None:
    """A resumed run's run.json (its checkpoints' too), from the run.json of the
    run it continues (``before``): when the run began and where its data came from
    stay as that recorded them (``resumed`` says when it went on); the training
    time carries over in the state, and compilation and the whole time add this
    session's to those before."""
    info["resumed"] = info["created"]
    info["created"] = before.get("created", info["created"])
    fresh = {
        k: v for k, v in info["data"].items() if k not in ("source", "path", "sha256")
    }
    info["data"] = {**before["data"], **fresh}
    info["config"]["data"] = before["config"]["data"]
    timings, was = info["timings"], before.get("timings", {})
    for key in ("compile_s", "total_s"):
        timings[key] = timings[key] + was.get(key, 0.0)
    timings["sessions"] = was.get("sessions", 1) + 1


def values_sha256(xs: Any, ys: Any) -> str:
    """A checksum of the values a run trains on (x then y, as the run holds them),
    which ``resume`` compares with the data it is given again."""
    digest = hashlib.sha256()
    for a in (xs, ys):
        if a is not None:
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(a.data)
    return digest.hexdigest()


def _check_resumed_objects(
    info: dict[str, Any], model: Any, loss: Any, call: str = "gradtrace.resume"
) -> None:
    """``model`` and ``loss`` are the objects of a run that was given its own, the
    same by name; a run that was given its own needs them again (in ``call``)."""
    own = info.get("own_objects", [])
    for what, given in (("model", model), ("loss", loss)):
        name = info[what]
        if given is None:
            if what in own:
                raise InputError(
                    f"this run was given a {what} of your own ({name!r}): give it "
                    f"again, {call}(RUN, {what}=...) in Python."
                )
            continue
        if isinstance(given, str) or what not in own:
            raise InputError(
                f"{what}= takes the {what} object of a run that was given one of "
                f"your own; this run's {what} is {name!r} and is read from "
                f"run.json: drop {what}=."
            )
        mine = getattr(given, "name", "custom") if what == "model" else loss_name(given)
        if mine != name:
            raise InputError(
                f"the run's {what} was {name!r}, this one is {mine!r}: give the "
                f"run's own {what}."
            )


def _resumed_config(
    info: dict[str, Any],
    data: DataLike | None,
    model: Any,
    loss: Any,
    validation: DataLike | None = None,
) -> RunConfig:
    """A saved run's configuration with its data: read from where the run read
    them, or ``data`` (a path is checked as the run's own file is); its
    validation data likewise, or ``validation``."""
    config = RunConfig(**info["config"])
    if validation is None:
        check_validation_file(info, config)
    _check_resumed_objects(info, model, loss)
    if config.stream and (
        model is not None
        or loss is not None
        or not isinstance(data, (str, Path, type(None)))
    ):
        raise InputError(
            "a streamed run reads its Parquet file again: give its path as data "
            "(or none), and no model or loss objects."
        )
    if isinstance(data, (str, Path)):
        config.data = str(data)
        info = {**info, "config": {**info["config"], "data": str(data)}}
        info["data"] = {**info["data"], "path": str(data)}
    elif data is not None:
        config.data = None
        return config
    found = rerun_config(info, validation_given=True)
    found.validation_data = config.validation_data
    return found


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
    #: ``values_sha256`` of xs and ys, for ``resume`` to check the data given again
    values: str = ""
    #: "model", "loss": given as Python objects (``resume`` needs them again)
    own: tuple[str, ...] = ()
    #: the positions in the data as given of the rows ``--drop-missing`` dropped
    dropped_at: tuple[int, ...] = ()
    #: validation rows (``held_out.HeldOut``), or None
    val: Any = None
    #: Keras's EarlyStopping (``core.early_stopping``), or None
    stopping: Any = None


def plan(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    model_obj: Any = None,
    loss_obj: Any = None,
    n_rows: int | None = None,
    validation: tuple[pd.DataFrame, str] | None = None,
    for_views: bool = False,
) -> Plan:
    """Check ``config`` against the data and resolve every default (no training).

    ``model_obj`` and ``loss_obj`` are a model and a loss given as Python objects
    (``gradtrace.Model``, ``gradtrace.Loss``) rather than by name. ``n_rows``: the
    data's rows when ``frame`` is only their first rows (a streamed run).
    ``validation``: validation data given in Python, as a table and its name
    (default: the file ``config.validation_data`` names, if any). ``for_views``:
    a saved run's plan for its views (``load`` with data), which read no
    validation data and check nothing that needs them."""
    for name in ("opt", "init", "fix"):  # from sweep and lr_find as they came
        setattr(config, name, validate.by_name(name, getattr(config, name)))
    if config.x is not None and not all(isinstance(c, str) for c in config.x):
        raise InputError(
            "x takes the names of x columns, such as x='x' or x=['u', 'v'], not "
            f"their values (got {len(config.x)} values): give the data as data."
        )
    notices: list[str] = []
    given_model = model_obj  # a Python object (a file's is read again from it)
    if config.model_file and (model_obj is not None or config.model != "line"):
        # "line" is --model's default: any other model was asked for as well
        raise InputError(
            "give --model or --model-file, not both: the file's model is the one "
            "fitted."
        )
    if model_obj is None and config.model_file:
        model_obj = load_model_file(config.model_file)
    model_arg = config.model
    if config.model_expr and model_arg in ("line", "expr") and model_obj is None:
        model_arg = "expr"
    elif config.model_expr:
        raise InputError("give --model or --model-expr, not both.")
    for name in ("shuffle", "drop_missing", "exact", "standardize"):
        validate.switch(name, getattr(config, name))
    model_name, kind = validate.model_name(model_obj or model_arg)
    reduction = validate.reduction(config.reduction)
    pdtype = validate.dtype(config.dtype)
    cdtype = validate.dtype(config.compute_dtype or pdtype, "compute dtype")
    if kind == "distribution" and len(frame.columns) == 1 and config.y == "y":
        config.y = str(frame.columns[0])  # one column (a named Series, say) is y
    own_y = frame.attrs.get("y")  # an (x, y) pair's named Series
    if config.y == "y" and "y" not in frame.columns and own_y in frame.columns:
        config.y = str(own_y)
    x_cols = validate.x_columns(
        frame, model_name, kind, config.x, config.y, config.model_expr
    )
    unused = [str(c) for c in frame.columns if kind == "distribution" and c != config.y]
    if unused:
        which = "column " if len(unused) == 1 else "columns "
        notices.append(
            f"{model_name}, a distribution, is fitted to {config.y} alone: "
            f"{which}{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not "
            "used (a regression model, such as line or linear, reads them)"
        )
    every = model_name if not config.x and len(x_cols) > 1 else None
    xs, ys = validate.columns(
        frame, kind, x_cols, config.y, source, cdtype, every, x_given=bool(config.x)
    )
    if every is not None and xs is not None:
        notices += _row_numbers(xs, x_cols, config.y)
    given = xs, ys  # to name a row by its place in the data, where rows are dropped
    xs, ys, dropped = validate.finite_rows(
        xs, ys, config.drop_missing, source, (x_cols, config.y), frame.index
    )
    if dropped:
        notices.append(
            f"dropped {dropped} row{'s' if dropped > 1 else ''} with "
            "missing or infinite values"
        )
    if for_views:  # the training rows alone: a split still takes its share
        config = dataclasses.replace(config, validation_data=None)
    xs, ys, val = _validation(config, validation, kind, x_cols, xs, ys, cdtype)
    m = validate.model(
        model_name,
        len(x_cols),
        x_cols=x_cols,
        xs=xs,
        degree=config.degree,
        standardize=config.standardize,
        expr=config.model_expr,
        model_obj=model_obj,
    )
    one_x = m.kind == "regression" and not getattr(m, "x_matrix", False)
    if one_x:
        xs = None if xs is None else xs[:, 0]
    if val is not None:
        val = held_out.reshaped(val, one_x)
    loss = validate.loss(m, loss_obj or config.loss, config.delta, config.loss_expr)
    specs = validate.specs_for(m, loss)
    trainable, fixed = validate.param_values(specs, config.init, config.fix)
    validate.user_code(m, loss, {**trainable, **fixed}, xs, ys)
    if m.kind == "distribution" or loss == "nll":
        rows = validate.kept_rows(*given) if dropped else None
        validate.support(m, ys, fixed, source, rows=rows)
        if val is not None:
            validate.support(m, val.y, fixed, f"the validation data ({val.source})")
    dropped_at = tuple(validate.missing_rows(*given).tolist()) if dropped else ()
    del given  # the data before any drop: a copy's worth of memory where rows went
    metric_names = validate.metrics(m, loss, config.metrics, ys, source)
    unconstrained = validate.param_space(config.param_space)
    # Keras's CosineDecay warms up from its initial rate, 0 in its docs' example
    zero = validate.warms_up_from_zero(validate.lr_schedule(config.lr_schedule))
    spec = validate.optimizer(config.optimizer, config.lr, config.opt, zero)
    n_rows = len(ys) if n_rows is None else n_rows

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
        raise InputError("give --epochs or --steps (one of them), not both.")
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
    seed = validate.whole(config.seed)  # 1.0, as steps=1e4 counts
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be a whole number, got {seed!r}.")
    if not -(2**63) <= int(seed) < 2**63:
        raise InputError(
            f"seed {seed} is out of range: give a whole number of at most 18 digits "
            "(any seed works; it only picks the shuffled order)."
        )

    names = tuple(s.name for s in specs if s.name in trainable)
    constraints = tuple((s.name, s.constraint) for s in specs if s.name in trainable)
    problem = loop.Problem(
        m,
        loss,
        reduction,
        names,
        pdtype,
        cdtype,
        constraints,
        unconstrained,
        metric_names,
    )
    schedule = loop.Schedule(n_rows, batch_size, n_steps, config.shuffle, eval_every)
    lr_schedule = validate.lr_schedule(config.lr_schedule)
    if lr_schedule is not None and lr_schedule.name == "keras.piecewise":
        spec = _piecewise_rate(spec, lr_schedule, config)
    if lr_schedule is not None:
        validate.schedule_fits(lr_schedule, spec, n_steps, per_epoch)
        notices += validate.schedule_notices(
            lr_schedule, n_steps, per_epoch, spec.learning_rate
        )
    spec = spec.scheduled(lr_schedule, per_epoch, n_steps, pdtype, n_rows)
    # the columns a schedule gives the trace: the rate, and a cycled momentum
    for column, what in (
        ("lr", "a learning-rate schedule, whose rates"),
        (spec.cycled, f"a schedule that cycles the optimizer's {spec.cycled}, which"),
    ):
        if lr_schedule is not None and column in trainable:
            raise InputError(
                f"the model has a parameter named {column} and the run {what} the "
                f"trace keeps in a column {column}: rename the parameter."
            )
    spec = spec.clipped(validate.clip(config.clip))
    if spec.watches_validation and val is None and not for_views:
        raise InputError(
            f"{lr_schedule.name if lr_schedule else 'the schedule'}:monitor=val_loss "
            "watches the validation data's loss: give them (--validation-split 0.2 "
            "or --validation-data FILE; validation_split= or validation_data= in "
            "Python), or watch the training loss (monitor=loss)."
        )
    stopping = early_stop.early_stopping(config.early_stopping)
    if stopping is not None and not for_views:
        early_stop.check_fits(stopping, metric_names, val is not None)
    chunk = _chunk_steps(schedule)
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
        values_sha256(xs, ys),
        tuple(
            what
            for what, given in (("model", given_model), ("loss", loss_obj))
            if given is not None
        ),
        dropped_at,
        val,
        stopping,
    )


def _validation(
    config: RunConfig,
    given: tuple[pd.DataFrame, str] | None,
    kind: str,
    x_cols: list[str],
    xs: np.ndarray | None,
    ys: np.ndarray,
    dtype: str,
) -> tuple[np.ndarray | None, np.ndarray, held_out.HeldOut | None]:
    """The training rows and the validation rows of ``config``: the last
    ``validation_split`` of the rows, or ``given`` (data in Python) or the file
    ``validation_data`` names; None without either."""
    share = held_out.fraction(config.validation_split)
    config.validation_split = share
    if config.validation_data == "-":
        raise InputError(
            "validation data cannot come from standard input: give them a file "
            "of their own (--validation-data FILE)."
        )
    if given is None and config.validation_data is not None:
        try:
            given = frame_of(config.validation_data)
        except InputError as err:
            raise InputError(f"validation data: {err}") from None
    if share is not None and given is not None:
        raise InputError(
            "give validation_split or validation_data (--validation-split or "
            "--validation-data), not both: the split holds out the data's last "
            "rows, the other rows of their own."
        )
    if share is not None:
        return held_out.split(xs, ys, share, "the data")
    if given is None:
        return xs, ys, None
    frame, source = given
    named = source if source.startswith("'") else "(given in Python)"
    val = held_out.rows(
        frame,
        f"the validation data {named}",
        kind,
        x_cols,
        config.y,
        dtype,
        config.drop_missing,
    )
    return xs, ys, val._replace(source=config.validation_data or "Python data")


def run(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    progress: Progress | None = None,
    started: float | None = None,
    model_obj: Any = None,
    loss_obj: Any = None,
    checkpoint: Callable[[Trace], None] | None = None,
    resume: Mapping[str, np.ndarray] | None = None,
    trace_to: Callable[[], TraceWriter] | None = None,
    resumed_from: Mapping[str, Any] | None = None,
    planned: Callable[[Plan], None] | None = None,
    validation: tuple[pd.DataFrame, str] | None = None,
) -> Trace:
    """Run a validated-on-the-way configuration on a loaded table.

    ``planned`` is called with the checked plan before anything is compiled or
    run (``resume`` checks there that the data are the run's own).

    ``checkpoint`` is called with the trace so far (its ``state`` set, so it can be
    saved and resumed) every ``config.checkpoint_every`` steps. ``resume`` is such a
    state (``state.npz``): the run continues from it to the same final trace.

    ``trace_to`` gives the run folder's writer: a run of more than
    ``TRACE_PART_STEPS`` steps, or one with checkpoints, then writes its trace there
    a part at a time as it goes (each checkpoint puts the folder in place with its
    ``state.npz``), and the returned trace keeps every k-th step in memory
    (``info["trace"]``); ``trace.save`` to that folder completes it. A ``resume``
    state of such a run needs the writer of its folder (``TraceWriter.reopen``)."""
    started = time.perf_counter() if started is None else started
    p = plan(config, frame, source, model_obj, loss_obj, validation=validation)
    if planned is not None:
        planned(p)
    every = None
    if config.checkpoint_every is not None:
        every = validate.positive_int(
            "--checkpoint-every", config.checkpoint_every, "--checkpoint-every"
        )
    check_resume_folder(resume, trace_to)
    if resume is not None:
        in_parts = "parts" in resume
    else:
        in_parts = trace_to is not None and (
            p.n_steps > TRACE_PART_STEPS or every is not None
        )
    if every is not None and (not in_parts or every <= TRACE_PART_STEPS):
        p = p._replace(chunk=min(every, p.n_steps))  # checkpoints at chunks' ends
    elif in_parts:
        p = p._replace(chunk=min(p.chunk, TRACE_PART_STEPS))
    reference: dict[str, Any] | None = None
    soon = None if in_parts else _reference_soon(config, p)

    stopped: early_stopping.Stopped | None = None

    def finish(chunks: list[loop.Chunk], interrupted: bool, partial: bool) -> Trace:
        nonlocal reference
        history = loop.assemble(prepared, chunks, p.trainable)
        if stopped is not None and stopped.stopped_epoch is not None:
            history = loop.upto(history, stopped.stopped_epoch * p.per_epoch)
        if reference is None:
            reference = soon.result() if soon else _reference(config, p)
        trace = build_trace(config, p, history, reference, interrupted, started)
        trace.model, trace.loss = p.m, p.loss
        if p.stopping is not None and stopped is not None:
            stopped_early(trace, p, history, reference, stopped, loss_at(p, prepared))
        if partial and chunks and not history.diverged_step:
            trace.state = loop.save_state(chunks)
            trace.info["resumable"] = True
            if not interrupted:
                trace.info["status"] = "running"
        return trace

    interrupted = False
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        try:
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
                devices=_devices(config.devices),
                validation=None if p.val is None else (p.val.x, p.val.y),
            )
        except InputError:
            raise
        except Exception as err:  # the user's own code raised while being traced
            if not isinstance(p.m, (Custom, CustomFamily)) and isinstance(p.loss, str):
                raise
            raise InputError(_user_code_error(p, err)) from None
        xd, yd, fixed_d = prepared.data
        check_first_loss(
            p, float(prepared.evaluate(prepared.carry[0], fixed_d, xd, yd))
        )
        if in_parts:
            assert trace_to is not None
            return _run_in_parts(
                config,
                p,
                prepared,
                trace_to(),
                progress,
                started,
                every,
                resume,
                resumed_from,
            )
        chunks: list[loop.Chunk] = []
        start = None
        watch = None if p.stopping is None else Watch(p, prepared)
        if resume is not None:
            start = resume_from(functools.partial(loop.load_state, prepared), resume)
            assert start.done is not None
            chunks.append(start.done)
            if watch is not None:
                stopped = watch.add(start.done)
        try:
            with between_calls() as stop:
                if progress is not None and p.chunk < p.n_steps:
                    progress(0 if start is None else start.t0, p.n_steps)
                for c in loop.run_chunks(prepared, seed=int(p.seed), resume=start):
                    chunks.append(c)
                    if watch is not None:
                        stopped = watch.add(c)
                        if stopped.stopped_epoch is not None:
                            break  # the steps after it are not wanted
                    done = min(c.t0 + p.chunk, p.n_steps)
                    if progress is not None:
                        progress(done, p.n_steps)
                    if checkpoint is not None and every and done < p.n_steps:
                        if not c.stopped:
                            checkpoint(finish(chunks, False, True))
                    if done < p.n_steps:  # a Ctrl-C in the last call: it finished
                        stop()
        except KeyboardInterrupt:
            interrupted = True
        with held_interrupts():
            return finish(chunks, interrupted, interrupted)


def _row_numbers(xs: np.ndarray, x_cols: list[str], y: str) -> list[str]:
    """A notice for each x column, taken by default, that counts the rows (0, 1,
    2, ... or 1, 2, 3, ...): an index or an id, most likely, which a fit would take
    for a predictor."""
    out = []
    n = len(xs)
    for j, name in enumerate(x_cols):
        column = xs[:, j]
        if n > 2 and column[0] in (0, 1) and np.all(np.diff(column) == 1):
            rest = x_flags([c for c in x_cols if c != name])
            out.append(
                f"column {name} counts the rows ({int(column[0])}, "
                f"{int(column[0]) + 1}, {int(column[0]) + 2}, ...): if it is an id "
                f"or an index, name the x columns ({rest}) to leave it out (x is "
                f"every column but {y} unless told)"
            )
    return out


def check_first_loss(p: Plan, value: float) -> None:
    """Refuse a run whose loss at the starting parameters is not a number."""
    if not math.isfinite(value):
        start_at = ", ".join(
            f"{k}={np.asarray(v).tolist()}" for k, v in p.trainable.items()
        )
        if not isinstance(p.loss, str):  # a loss of the user's own
            why = (
                "your loss gives some rows no number there (a log or a square root "
                "of a value below 0, a division by 0?): check it, or start "
                "elsewhere with --init."
            )
        elif p.loss == "nll":
            why = (
                "the model gives some rows no likelihood or no number there; "
                "start elsewhere with --init."
            )
        else:
            why = (
                "the model predicts no finite number for some rows there (a log "
                "of 0, a division by 0?): check the model, or start elsewhere "
                "with --init."
            )
        raise InputError(
            f"the loss at the starting parameters ({start_at}) is {value}: {why}"
        )


def _piecewise_rate(
    spec: OptimizerSpec, schedule: LrSchedule, config: RunConfig
) -> OptimizerSpec:
    """The optimizer at the first of keras.piecewise's values, which are the rates
    themselves (Keras's PiecewiseConstantDecay takes no initial rate): a rate
    given as well must be that one."""
    first = float(schedule.params["values"][0])
    key = PRESETS[spec.name].lr_key
    given = config.lr if config.lr is not None else (config.opt or {}).get(key)
    if given is None:
        return OptimizerSpec.create(spec.name, **{**spec.hyper, key: first})
    if spec.learning_rate != first:
        raise InputError(
            f"keras.piecewise gives the rates itself, {first:g} first (its values); "
            f"the run's rate is {spec.learning_rate:g}: leave --lr out, or give "
            f"--lr {first:g}."
        )
    return spec


def resume_from(load: Callable[[dict[str, np.ndarray]], Any], state: Any) -> Any:
    """``load(state)`` (a loop's or a stream's reading of a saved state), or a
    one-line refusal where the state does not fit the run."""
    try:
        return load(dict(state))
    except (ValueError, KeyError) as err:
        raise InputError(
            f"cannot resume: {err}; rerun it with gradtrace rerun instead."
        ) from None


def check_resume_folder(resume: Any, trace_to: Any) -> None:
    """A saved state of a run written in parts goes on only into its folder."""
    if resume is not None and "parts" in resume and trace_to is None:
        raise InputError(
            "this run's trace was written in parts into its folder: resume it "
            "with gradtrace resume RUN."
        )


def _run_in_parts(
    config: RunConfig,
    p: Plan,
    prepared: loop.Prepared,
    writer: TraceWriter,
    progress: Progress | None,
    started: float,
    every: int | None = None,
    resume: Mapping[str, np.ndarray] | None = None,
    resumed_from: Mapping[str, Any] | None = None,
) -> Trace:
    """Run ``prepared``, writing its trace a chunk at a time into ``writer``'s
    folder; the returned trace holds every k-th row (about ``KEEP_ROWS``).
    ``resumed_from``: the run.json of the run a resumption continues (see
    ``as_resumed``).

    With ``every``, the folder is made a checkpoint (its ``run.json`` and
    ``state.npz``) at the end of the first part at or after every ``every``-th step;
    an interrupted run keeps such a state too. ``resume``: a checkpoint's state, to
    go on from (``writer`` then reopens its folder)."""
    try:
        reference = _reference(config, p)
        parts = Parts(p, writer, reference, resumed_from)
        at_start = loop.initial_state(prepared, p.trainable)
        # early stopping: judged a chunk at a time, its state in the checkpoints
        watch = None if p.stopping is None else Watch(p, prepared)
        stopped: early_stopping.Stopped | None = None
        # what a full-batch run stopped during its second chunk goes on from
        at_zero = {**loop.start_state(prepared), **parts.state()}
        if watch is not None:
            at_zero.update(watch.state())
        start, state, seconds = None, None, 0.0
        if resume is not None:
            start = resume_from(functools.partial(loop.load_state, prepared), resume)
            parts.restore(resume)
            if watch is not None:
                watch.restore(resume)
            state, seconds = dict(resume), float(resume["seconds"])

        def emit(chunks: list[loop.Chunk], after: loop.Chunk | None) -> Any:
            first = chunks[0].t0 if chunks else parts.steps
            history = loop.assemble(
                prepared, chunks, p.trainable, first, after, at_start
            )
            if stopped is not None and stopped.stopped_epoch is not None:
                # the steps after the epoch it stopped after are not kept
                history = loop.upto(
                    history, stopped.stopped_epoch * p.per_epoch - first
                )
            return parts.write(history)

        def state_after(
            chunk: loop.Chunk, spent: float, watched: dict[str, np.ndarray]
        ) -> dict[str, np.ndarray]:
            saved = loop.save_state([chunk], outputs=False)
            saved.update(parts.state(), seconds=np.asarray(spent), **watched)
            return saved

        interrupted = False
        pending: loop.Chunk | None = None
        marks = 0 if start is None else start.t0 // (every or 1)
        try:
            with between_calls() as stop:
                if progress is not None:
                    progress(0 if start is None else start.t0, p.n_steps)
                for c in loop.run_chunks(prepared, seed=int(p.seed), resume=start):
                    seconds += c.seconds
                    # the rule's state after the chunk before this one
                    watched = {} if watch is None else watch.state()
                    if watch is not None:
                        stopped = watch.add(c)
                    if pending is not None:
                        written, pending = pending, None
                        # a part, its state and its checkpoint are written whole
                        if emit([written], c).diverged_step:
                            break  # diverged at the end of the previous chunk
                        state = state_after(written, seconds - c.seconds, watched)
                        if every and parts.steps // every > marks:
                            marks = parts.steps // every
                            spent = seconds - c.seconds
                            parts.checkpoint(config, reference, started, spent, state)
                    pending = c
                    if progress is not None:
                        progress(min(c.t0 + p.chunk, p.n_steps), p.n_steps)
                    if stopped is not None and stopped.stopped_epoch is not None:
                        break  # early stopping: the chunks after it are not run
                    stop()
        except KeyboardInterrupt:
            interrupted = True
        with held_interrupts():
            if pending is not None or parts.last is None:
                emit([] if pending is None else [pending], None)
                # a full-batch step's loss over all the data is the next step's
                # batch loss; the last chunk's last one was evaluated on its own
                # here and may round apart, so a resumption redoes that chunk
                redo = p.schedule.full_batch and parts.steps < p.n_steps
                if pending is not None and not pending.stopped:
                    if not redo:
                        watched = {} if watch is None else watch.state()
                        state = state_after(pending, seconds, watched)
                    elif state is None:  # the first chunk: redone from the start
                        state = at_zero
            ended = stopped is not None and stopped.stopped_epoch is not None
            if parts.steps >= p.n_steps or ended:  # every step ran, or it stopped
                interrupted, state = False, None
            trace = parts.trace(config, reference, interrupted, started, seconds)
            if stopped is not None and p.stopping is not None:
                restored = stopped.restored_epoch
                if restored is not None:
                    parts.hold_row(trace, restored * p.per_epoch)
                stopped_early(trace, p, None, reference, stopped, loss_at(p, prepared))
            resumable(trace, state)
        trace.model, trace.loss = p.m, p.loss
        return trace
    except BaseException:
        writer.discard()
        raise


class Parts:
    """A run's trace written a part at a time into a run folder's writer, keeping
    in memory every k-th row (about ``KEEP_ROWS``) and the newest part's History."""

    def __init__(
        self,
        p: Plan,
        writer: TraceWriter,
        reference: dict[str, Any],
        resumed_from: Mapping[str, Any] | None = None,
    ):
        self.p, self.writer, self.resumed_from = p, writer, resumed_from
        self.optimum_loss = reference.get("optimum_loss")
        specs = [s for s in p.specs if s.name in p.trainable]
        initial = {k: v.tolist() for k, v in p.trainable.items()}
        self.frames = TraceParts(specs, initial, p.problem.metrics)
        self.keep, self.head = nice_step(p.n_steps / KEEP_ROWS), KEEP_HEAD
        self.kept: list[pd.DataFrame] = []
        self.last: Any = None
        self.tail: pd.DataFrame | None = None

    @property
    def steps(self) -> int:
        return self.frames.steps

    def write(self, history: Any) -> Any:
        """Write the next part, from its History (returned); a History of no steps
        after the first part writes nothing."""
        if self.steps and not len(history.batch_loss):
            self.last = history
            return history
        part = with_gap(
            with_lr(self.frames.frame(history), self.p, history.levels),
            self.optimum_loss,
        )
        self.writer.write(part, diverged=history.diverged_step is not None)
        self.kept.append(self._kept(part))
        self.last, self.tail = history, part.iloc[-1:]
        return history

    def _kept(self, part: pd.DataFrame) -> pd.DataFrame:
        steps, loss = part["step"].to_numpy(), part["loss"].to_numpy(float)
        return part[kept_steps(steps, self.keep, self.head, loss)]

    def hold_row(self, trace: Trace, step: int) -> None:
        """Put the row of ``step`` into ``trace``'s kept rows (the weights early
        stopping restored), read back from the part that holds it."""
        frame = trace._frame
        if (frame["step"] == step).any():
            return
        for i in range(self.writer.parts):
            part = pd.read_parquet(self.writer.part_path(i))
            row = part[part["step"] == step]
            if len(row):
                joined = pd.concat([frame, row]).sort_values("step", kind="stable")
                trace._frame = joined.reset_index(drop=True)
                return

    def state(self) -> dict[str, np.ndarray]:
        """What continues the trace after the parts written so far (for
        ``state.npz``): their count and Keras's running sums."""
        return {"parts": np.asarray(self.writer.parts), **self.frames.state()}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Go on from a checkpoint's ``state``: its running sums, and the kept rows
        read back from the parts its folder holds."""
        try:
            self.frames.restore(state)
            for i in range(int(state["parts"])):
                part = pd.read_parquet(self.writer.part_path(i))
                self.kept.append(self._kept(part))
                self.tail = part.iloc[-1:]
        except (OSError, ValueError, KeyError, pa.ArrowException) as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise InputError(
                f"cannot resume: the run folder's trace or state is damaged "
                f"({type(err).__name__}: {text[:200]}); run it again with "
                "gradtrace rerun RUN --out NEW."
            ) from None

    def checkpoint(
        self,
        config: RunConfig,
        reference: dict[str, Any],
        started: float,
        seconds: float,
        state: dict[str, np.ndarray],
        **extra: Any,
    ) -> None:
        """Make the run folder a checkpoint: the parts so far, a run.json marked
        running (built from the newest part's rows alone, so its cost does not
        grow with the parts written) and ``state``."""
        at = self.trace(config, reference, False, started, seconds, True, **extra)
        at.info.update(status="running", resumable=True)
        self.writer.checkpoint(at.info, state)

    def trace(
        self,
        config: RunConfig,
        reference: dict[str, Any],
        interrupted: bool,
        started: float,
        seconds: float,
        light: bool = False,
        **extra: Any,
    ) -> Trace:
        """The run's Trace: the kept rows, and the writer to complete on save.
        ``light``: only the newest part's kept rows (for a checkpoint's run.json,
        whose cost must not grow with the parts written)."""
        if len(self.kept) > 1 and not light:
            self.kept = [pd.concat(self.kept)]
        kept = self.kept[-1:] if light else self.kept
        table = pd.concat([*kept, self.tail]).drop_duplicates("step", keep="last")
        trace = build_trace(
            config,
            self.p,
            self.last._replace(train_s=seconds),
            reference,
            interrupted,
            started,
            table=table.reset_index(drop=True),
            steps=self.steps,
            **extra,
        )
        trace.info["trace"] = {
            "parts": self.writer.parts,
            "kept_every": self.keep,
            "kept_head": self.head,
        }
        if self.resumed_from is not None:  # its checkpoints too
            as_resumed(trace.info, self.resumed_from)
        trace.writer = self.writer
        return trace


def resumable(trace: Trace, state: dict[str, np.ndarray] | None) -> None:
    """Give an interrupted run in parts its state, so it can be resumed."""
    if trace.status == "interrupted" and state is not None:
        trace.state = state
        trace.info["resumable"] = True


@contextlib.contextmanager
def held_interrupts() -> Iterator[list[int]]:
    """Ctrl-C inside the block is noted in the list it gives instead of raised: the
    steps are done and what remains (assembling, saving) is short and must not be
    cut, or a finished run would be lost. Outside the main thread, nothing is held."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = signal.signal(signal.SIGINT, lambda sig, _frame: got.append(sig))
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def between_calls() -> Iterator[Callable[[], None]]:
    """Ctrl-C while a run trains stops it between two compiled calls, keeping the
    steps done: inside the block a Ctrl-C is noted (``held_interrupts``), and the
    function it gives raises KeyboardInterrupt when one was, or when the command's
    handler saw one that Python dropped (``errors.INTERRUPTED``). A compiled call
    cannot be stopped part way anyway, and a KeyboardInterrupt raised as it
    returned would lose its steps."""
    with held_interrupts() as got:

        def stop() -> None:
            if got or INTERRUPTED.is_set():
                raise KeyboardInterrupt

        stop()  # a Ctrl-C dropped while the run compiled
        yield stop


def _devices(value: Any) -> int:
    """A checked ``--devices``: at most the devices JAX sees."""
    n = validate.positive_int("--devices", value, "--devices")
    visible = jax.devices()
    if n > len(visible):
        kind = visible[0].platform
        raise InputError(
            f"--devices {n}: JAX sees {len(visible)} {kind} device"
            f"{'s' if len(visible) != 1 else ''}: give at most {len(visible)} "
            "(on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N makes N)."
        )
    return n


def _user_code_error(p: Plan, err: BaseException) -> str:
    """One line on a failure inside the user's model or loss, with its place."""
    names = [s.name for s in p.specs]
    if isinstance(p.m, CustomFamily):
        what = f"distribution {p.m.name!r}"
        return validate.user_code_error(what, validate.LOG_PROB_SHAPE, err, names)
    if not isinstance(p.m, Custom):
        return validate.user_code_error("the custom loss", validate.LOSS_SHAPE, err)
    what, hint = f"model {p.m.name!r}", validate.MODEL_SHAPE
    if not isinstance(p.loss, str):
        what += " or the custom loss"
        hint += f"; {validate.LOSS_SHAPE}"
    return validate.user_code_error(what, hint, err, names)


def _reference(config: RunConfig, p: Plan) -> dict[str, Any]:
    return plan_reference(p) if config.exact else {}


#: Data values (rows x columns) up to which the exact answer is computed while the
#: run compiles and trains (beyond, it would compete for memory and bandwidth).
OVERLAP_VALUES = 1_000_000


def _reference_soon(config: RunConfig, p: Plan) -> Future[dict[str, Any]] | None:
    """The exact answer of a small run with a built-in model, computed in a thread
    of its own while the run compiles and trains (XLA releases the interpreter
    then): seed 002's 0.16 s of optimum, standard errors and diagnosis come free.
    None where it is computed after the run: a user's model (their code is traced
    in the run's thread only), or data larger than ``OVERLAP_VALUES``."""
    width = 1 if p.xs is None else 1 + int(np.prod(np.shape(p.xs)[1:]))
    if (
        not config.exact
        or isinstance(p.m, (Custom, CustomFamily))
        or not isinstance(p.loss, str)
        or np.size(p.ys) * width > OVERLAP_VALUES
    ):
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradtrace-exact")
    try:
        return pool.submit(plan_reference, p)
    finally:
        pool.shutdown(wait=False)


def plan_reference(p: Plan, notices: list[str] | None = None) -> dict[str, Any]:
    """The optimum, standard errors and diagnosis of a planned run (its notices get
    what could not be computed, or ``notices`` when given)."""
    return reference_compute(
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
        p.notices if notices is None else notices,
        p.problem.constraints if p.problem.unconstrained else (),
    )


@python_names
def load(
    folder: str | Path,
    thin: bool = False,
    data: DataLike | None = None,
    model: Any = None,
    loss: Any = None,
) -> Trace:
    """Read a run folder that ``Trace.save`` or ``gradtrace fit`` wrote. ``thin``:
    of a long run written in parts, only every k-th step (``info["trace"]
    ["kept_every"]``), its first steps (``kept_head``), the epochs' last batches
    and the last step, as the run itself kept them in memory.

    A run fitted to data given in Python (a DataFrame, arrays) keeps no copy of
    them: give them again as ``data`` for ``explain``, ``plot`` and ``report``, and
    a model or loss of your own as ``model`` and ``loss``. Data whose values
    differ from those the run trained on (run.json's ``values_sha256``) are
    refused, as ``resume`` refuses them.

    ``folder`` may also be a name that ``gradtrace ls`` lists (a folder in runs),
    or ``"latest"``: the run made last there."""
    folder = store.find_run(folder)
    frame, info = load_run(folder, thin)
    if info.get("status") == "running" and not store.being_written(Path(folder)):
        # its writer may have finished between the reading and the asking: read
        # what it left, once more
        frame, info = load_run(folder, thin)
    trace = Trace(frame, info)
    trace.folder = Path(folder)
    if info.get("status") == "running":  # a checkpoint: going on, or killed?
        trace.writing = store.being_written(Path(folder))
    if data is None and model is None and loss is None:
        return trace
    _check_resumed_objects(info, model, loss, "gradtrace.load")
    if info["config"].get("stream") and data is not None:
        raise InputError(
            "a streamed run reads its Parquet file again by itself: load it without "
            "data."
        )
    config = RunConfig(**info["config"])
    given, source = frame_of(data if data is not None else _data_source(info))
    try:
        p = plan(config, given, source, model, loss, for_views=True)
    except InputError as err:
        raise InputError(f"these data do not fit the run: {err}") from None
    _check_resumed_values(info, p)
    trace._data = (p.xs, p.ys)
    trace.model, trace.loss = p.m, p.loss
    # rows are named by their place in these data (the same values, but maybe
    # not the same rows dropped)
    info["data"]["dropped_at"] = list(p.dropped_at)
    info["data"]["dropped_rows"] = p.dropped
    return trace


def _data_source(info: dict[str, Any]) -> str:
    """Where a saved run read its data: a built-in set's name, or its file, checked
    (``rerun_config``)."""
    if info["config"]["data"] in DATASETS:
        return str(info["config"]["data"])
    return str(rerun_config(info).data)


def rerun_config(info: dict[str, Any], validation_given: bool = False) -> RunConfig:
    """The configuration of a saved run, with its data file found and checked
    (and its validation data's, unless given again: ``validation_given``)."""
    config = RunConfig(**info["config"])
    if not validation_given:
        check_validation_file(info, config)
    source = config.data
    again = "(--data FILE on the command line, data=... in Python)"
    if source is None or source == "-":
        where = "standard input" if source == "-" else "Python"
        raise InputError(
            f"this run read its data from {where}: give them again {again}."
        )
    if source in DATASETS:
        return config
    recorded = info["data"].get("path")
    path = Path(source) if Path(source).is_file() else Path(recorded or source)
    if not path.is_file():
        raise InputError(
            f"the run's data file {source!r} is gone (it was at {recorded!r}): "
            f"put it back, or give it again {again}."
        )
    digest = file_sha256(path)
    if info["data"].get("sha256") not in (None, digest):
        raise InputError(
            f"the data file {str(path)!r} changed since the run (its SHA-256 "
            "differs): put the original back, or fit the new data as a new run."
        )
    config.data = str(path)
    return config


def check_validation_file(info: dict[str, Any], config: RunConfig) -> None:
    """A saved run's validation data can be read again: a file unchanged since
    the run, not data given in Python (``config``'s path set to where the file
    is found)."""
    held = info["data"].get("validation") or {}
    if held.get("source") == "Python data":
        raise InputError(
            "this run's validation data were given in Python: give them again "
            "(gradtrace.resume(RUN, validation_data=...), or fit anew with "
            "validation_data=...)."
        )
    path = config.validation_data
    if path is None or path in DATASETS:
        return
    recorded = held.get("path")
    where = Path(path) if Path(path).is_file() else Path(recorded or path)
    if not where.is_file():
        raise InputError(
            f"the run's validation data file {path!r} is gone (it was at "
            f"{recorded!r}): put it back, or fit anew with --validation-data FILE."
        )
    if held.get("sha256") not in (None, file_sha256(where)):
        raise InputError(
            f"the validation data file {str(where)!r} changed since the run (its "
            "SHA-256 differs): put the original back, or fit anew."
        )
    config.validation_data = str(where)


def rerun_rows(info: dict[str, Any]) -> int | None:
    """The rows of a saved run's trace that its rerun must repeat exactly: all of
    them (None) for a finished run; for one that stopped, its steps so far, and
    the row after its last step too unless every step saw all the data (a
    full-batch step's loss over all the data is the next step's batch loss; after
    the last step of a run that stopped it was evaluated on its own and may round
    apart)."""
    if info["status"] not in ("interrupted", "running"):
        return None
    full_batch = info["schedule"]["batch_size"] >= info["data"]["n_rows"]
    return max(1, int(info["steps"]) + (0 if full_batch else 1))


class Longer(NamedTuple):
    """A saved run's configuration run for another length (``longer``), and the
    rows the two traces share: the first ``rows`` rows of the trace of
    ``"old"`` or ``"new"`` (``prefix_of``, the shorter) are the other's first;
    ``then_step``: and the next row's step is the other's, all but its values over
    all the data (the shorter run's last row, whose loss is taken on its own)."""

    config: RunConfig
    prefix_of: str
    rows: int | None
    then_step: bool = False


def longer(
    info: dict[str, Any],
    config: RunConfig,
    epochs: int | None = None,
    steps: int | None = None,
) -> Longer:
    """``config`` (a saved run's, ``info`` its run.json) to run ``epochs`` epochs or
    ``steps`` steps instead: the same run made longer or shorter. Each step the two
    runs both take is the same step (the same seed, batches, rates and optimizer
    state), so the longer run is the shorter one carried on, its optimizer's state
    with it, as a second ``fit`` call in Keras goes on. The loss over all the data
    keeps the run's cadence (its ``eval_every``, which by default grows with the
    steps), and is compared where both traces have it: a run's last row has it
    evaluated on its own (a full-batch run's, and a mini-batch run's off that
    cadence), so that row's step is compared without it."""
    if (epochs is None) == (steps is None):
        raise InputError("give --epochs or --steps (one of them), not both.")
    schedule = info["schedule"]
    if epochs is not None:
        epochs = validate.positive_int("--epochs", epochs, "--epochs")
        n_steps = epochs * int(schedule["batches_per_epoch"])
    else:
        n_steps = steps = validate.positive_int("--steps", steps, "--steps")
    per_epoch = int(schedule["batches_per_epoch"])
    sched = validate.lr_schedule(config.lr_schedule)
    if sched is not None and not sched.same_rates(
        sched.scheduler_steps(int(schedule["n_steps"]), per_epoch),
        sched.scheduler_steps(n_steps, per_epoch),
    ):
        if sched.name == "torch.onecycle" and not sched.params["total_steps"]:
            raise InputError(
                "the run's torch.onecycle spans its own steps (total_steps=0), so "
                "at another length every rate differs: fit the new length anew "
                "with gradtrace fit, or give total_steps from the start."
            )
        raise InputError(
            "the run's PyTorch schedule takes its rates by PyTorch's recursion up "
            f"to {schedules.TABLE_EPOCHS} epochs and from tables in double "
            "precision beyond (within two ulps), so runs on either side of it "
            "differ in their rates' last bits: fit the new length anew with "
            "gradtrace fit."
        )
    config = dataclasses.replace(config, epochs=epochs, steps=steps)
    if config.eval_every is None:
        config.eval_every = int(schedule["eval_every"])
    recorded, status = int(info["steps"]), info["status"]
    if status == "diverged" and n_steps >= recorded:
        return Longer(config, "old", None)  # diverges again at that step
    if status in ("interrupted", "running") and n_steps >= recorded:
        return Longer(config, "old", rerun_rows(info))
    full_batch = schedule["batch_size"] >= info["data"]["n_rows"]
    short, prefix_of = min(recorded, n_steps), "old" if recorded <= n_steps else "new"
    if short == recorded == n_steps:
        return Longer(config, "old", None)
    whole = not full_batch and short % config.eval_every == 0
    return Longer(config, prefix_of, short + whole, then_step=not whole)


def reference(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    model_obj: Any = None,
    loss_obj: Any = None,
) -> dict[str, Any]:
    """The optimum, standard errors and learning-rate diagnosis of a configuration,
    before (and without) training: what ``gradtrace diagnose`` prints."""
    p = plan(config, frame, source, model_obj, loss_obj)
    out = plan_reference(p)
    out["notices"], out["x"] = p.notices, p.x_cols
    return out


def _chunk_steps(schedule: loop.Schedule) -> int:
    """Steps per compiled call: ``GRADTRACE_CHUNK_STEPS`` if set, else
    ``loop.default_chunk_steps`` (progress, and Ctrl-C, between calls)."""
    n_steps = schedule.n_steps
    raw = os.environ.get("GRADTRACE_CHUNK_STEPS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(
                f"GRADTRACE_CHUNK_STEPS must be a positive integer, got {raw!r}."
            )
        return min(int(raw), n_steps)
    return loop.default_chunk_steps(schedule)
