"""``fit``: validate the input, build the problem, run the compiled loop."""

from __future__ import annotations

import functools
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from gradtrace import run_parts, store, validate
from gradtrace.assembly import build_trace, log_likelihood_at
from gradtrace.core import early_stopping, loop
from gradtrace.core.distributions import CustomFamily
from gradtrace.core.losses import LOSSES
from gradtrace.core.models import Custom
from gradtrace.errors import COMMAND_LINE, InputError, from_callers_line
from gradtrace.planning import (
    Plan,
    check_devices,
    check_first_loss,
    plan,
    plan_code_error,
    plan_reference,
    run_reference,
)
from gradtrace.run_config import RunConfig, model_and_loss, python_names
from gradtrace.run_parts import (
    Progress,
    as_resumed,
    between_calls,
    check_resume_folder,
    held_interrupts,
    resume_from,
    run_in_parts,
)
from gradtrace.saved_runs import (
    check_resumed_objects,
    check_resumed_values,
    check_validation_file,
    load,
    own_columns,
    rerun_config,
)
from gradtrace.sources import (
    DataLike,
    frame_of,
    source_name,
)
from gradtrace.store import (
    TraceWriter,
    check_parts,
    load_info,
    load_state,
    writable,
)
from gradtrace.trace import Trace
from gradtrace.watching import Watch, loss_at, stopped_early


def _loss_not_a_column(data: Any, loss: Any, y: str) -> None:
    """A loss named as a column of the data: ``fit(df, "linear", "spend")`` took
    "spend", meant for y, as the third positional argument, the loss."""
    if not isinstance(loss, str) or loss.lower() in LOSSES:
        return
    columns = getattr(data, "columns", None)
    if columns is None and isinstance(data, Mapping):
        columns = list(data)
    if columns is not None and loss in [str(c) for c in columns] and loss != y:
        raise InputError(
            f"loss {loss!r} is a column of the data: the third positional argument "
            f"is the loss; give the column by name, y={loss!r}."
        )


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
    shuffle: bool | str = True,
    seed: int = 0,
    init: Mapping[str, Any] | None = None,
    fix: Mapping[str, Any] | None = None,
    reduction: str = "mean",
    dtype: str = "float32",
    compute_dtype: str | None = None,
    eval_every: int | None = None,
    drop_missing: bool = False,
    drop_last: bool = False,
    exact: bool = True,
    degree: int | None = None,
    standardize: bool = False,
    offset: str | None = None,
    categorical: str | Sequence[str] | Mapping[str, Sequence[str]] | None = None,
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
    stderr: str | None = None,
    intervals: str = "wald",
    level: float = 0.95,
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
        shuffle: reshuffle the rows every epoch, from ``seed``; ``"torch"``:
            in the order PyTorch's ``DataLoader(data, shuffle=True,
            generator=torch.Generator().manual_seed(seed))`` visits them, so a
            shuffled run takes PyTorch's batches step by step; ``"keras"``: as
            Keras 3's ``fit(x, y, shuffle=True)`` after
            ``keras.utils.set_random_seed(seed)``, one order every epoch.
        drop_last: leave out each epoch's last partial batch, as PyTorch's
            ``DataLoader(drop_last=True)`` (the rows left over sit that epoch
            out; shuffled, other rows each epoch).
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
        offset: for ``logistic`` and ``poisson-regression``: a column added to
            the linear predictor as it is, its coefficient held at 1 (R's
            ``offset()``; a Poisson regression of counts over exposures takes
            the log of each row's exposure, statsmodels' ``exposure=``).
        categorical: for ``linear``, ``logistic`` and ``poisson-regression``: x
            columns of categories (a rank, a region), each coded as a 0/1 column
            per value but the first, the reference (``rank=2``), as R's
            ``factor`` and statsmodels' ``C()`` code them; ``predict`` codes new
            rows the same way. A dict gives each column's categories in order,
            the reference first: ``{"rank": ["2", "1", "3", "4"]}``.
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
            memory to float rounding (its sums are added in another order);
            shuffled, rows are mixed within windows of ``shuffle_window`` rows.
            See ``gradtrace.streaming``.
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
        stderr: the optimum's standard errors: ``"classical"`` (the default:
            sigma^2 (J^T J)^-1 for least squares, the inverse observed
            information for a likelihood), or robust to noise that varies from
            row to row, statsmodels' ``cov_type`` of the same name: ``"hc0"``
            (White's sandwich), ``"hc1"`` (times n / (n - p)), ``"hc2"`` (each
            squared residual over 1 - its leverage), ``"hc3"`` (each residual
            over 1 - its leverage; hc2 and hc3 least squares only).
        intervals: the optimum's intervals: ``"wald"`` (the default: the
            estimate +- 1.96 standard errors at 95%, on the log or logit scale of a
            positive or (0, 1) parameter; Student's t for least squares) or
            ``"profile"`` (a likelihood's: where the likelihood ratio test
            against the optimum reaches its 5% level, the other parameters
            fitted again at each point, as R's ``confint`` of a GLM; for
            ``loss="nll"`` on data in memory). ``summary()`` shows them.
        level: the share of its distribution each of those intervals holds:
            0.95 (the default) for 95% intervals, 0.9 for 90% ones, as R's
            ``confint(fit, level=)``; ``summary().attrs["level"]`` says it.

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
    _loss_not_a_column(data, loss, y)
    force = validate.switch("force", force)
    opt = validate.by_name("opt", opt)
    init = validate.by_name("init", init)
    fix = validate.by_name("fix", fix)
    config = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        x=x,  # type: ignore[arg-type]  # a name or names: RunConfig makes a list
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
        drop_last=validate.switch("drop_last", drop_last),
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
        offset=offset,
        categorical=[categorical]
        if isinstance(categorical, str)
        else {str(k): [str(v) for v in vs] for k, vs in categorical.items()}
        if isinstance(categorical, Mapping)
        else list(categorical or []),
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
        stderr=stderr,
        intervals=intervals,
        level=level,
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


@from_callers_line
def compare(*runs: Trace | str | Path, labels: Sequence[str] | None = None) -> Any:
    """A matplotlib figure of several runs side by side: each one's loss over
    all the data after each step, over epochs (its gap to the optimum's loss, on
    a log scale, where the runs fitted one model to the same data), and their
    paths over one loss landscape of the first two parameters. ``runs``: traces,
    or run folders (``gradtrace ls`` names, ``"latest"``); ``labels``: their
    names in the legend, by default their optimizer and rate and whatever else
    differs between them (batch size, momentum, start).

    Examples:
        >>> import gradtrace
        >>> runs = [gradtrace.fit("seed001_line", optimizer=o, lr=0.05, batch_size=10,
        ...                       epochs=2) for o in ("sgd", "momentum", "adam")]
        >>> fig = gradtrace.compare(*runs)
        >>> [t.get_text() for t in fig.legends[0].get_texts()]
        ['sgd, lr=0.05', 'momentum, lr=0.05, momentum=0.9', 'adam, lr=0.05']
    """
    from gradtrace.compare_plots import compare_runs

    if len(runs) == 1 and isinstance(runs[0], (list, tuple)):
        runs = tuple(runs[0])  # compare([a, b]): the runs as one list
    for i, r in enumerate(runs):
        if not isinstance(r, (Trace, str, Path)):
            raise InputError(
                f"run {i + 1} is of type {type(r).__name__}: compare takes traces "
                "(gradtrace.fit's) or run folders (their paths, or gradtrace ls's "
                "names)."
            )
    # a run given twice: the same Trace, or the same folder
    keys = [id(r) if isinstance(r, Trace) else Path(r).resolve() for r in runs]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise InputError(
                f"run {i + 1} is run {keys.index(key) + 1} again: give each run "
                "once (its curve would hide under itself)."
            )
    traces = [r if isinstance(r, Trace) else load(r) for r in runs]
    if labels is not None:
        if isinstance(labels, str) or len(labels) != len(traces):
            raise InputError(
                f"labels= names each run: give {len(traces)} names, as a list."
            )
        labels = [str(x) for x in labels]
    try:
        return compare_runs(traces, labels)
    except ValueError as err:
        raise InputError(f"{err}.") from None


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
        if trace.status == "interrupted" and trace.steps == 0:
            # stopped before its first step: nothing to keep, and a folder that
            # --force was to replace stays as it was
            if trace.writer is not None:
                trace.writer.discard()
            raise KeyboardInterrupt
        trace.info["timings"]["total_s"] = time.perf_counter() - started
        with held_interrupts() as late:
            trace.save(out, force=force)
        # a Ctrl-C while it saved, or during its last steps (noted, not acted on)
        return trace, bool(late) or run_parts.LAST_STEPS.is_set()
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
        release=True,  # read here (or a shallow copy of the caller's), used once
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
            # the run's own measure of its length: --steps N where it gave steps
            unit = "steps" if info["config"].get("steps") is not None else "epochs"
            longer = (
                f"gradtrace rerun {shlex.quote(str(folder))} --{unit} N (the same "
                "run, longer: its optimizer's state carried on), or fit again with"
                if COMMAND_LINE.get()
                else f"fit again with {unit}=N (the same run, longer), or with"
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
                check_resumed_values(info, p)
            if starting is not None:
                starting(*begin)

        try:
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
        except InputError as err:
            # other data's columns: resume has no --y to choose them with
            said = own_columns(info, str(err)) if data is not None else None
            if said is None:
                raise
            raise InputError(f"these data do not fit the run: {said}") from None
        if "resumed" not in trace.info:  # not written in parts: not done yet
            trace.info["timings"]["total_s"] = time.perf_counter() - started
            as_resumed(trace.info, info)
        _save_then_interrupt(trace, folder, force=True)
        return trace
    finally:
        store.release(lock)


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
    check_resumed_objects(info, model, loss)
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
    found = rerun_config(
        info, validation_given=True, data_given=isinstance(data, (str, Path))
    )
    found.validation_data = config.validation_data
    return found


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
    release: bool = False,
) -> Trace:
    """Run a validated-on-the-way configuration on a loaded table.

    ``release``: the table is this run's alone, so each x column is dropped from
    it once copied into the x matrix of several columns (10 million rows of four
    float32 columns: 160 MB less at the peak, and held while the run compiles and
    trains).

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
    p = plan(
        config,
        frame,
        source,
        model_obj,
        loss_obj,
        validation=validation,
        release=release,
    )
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
            p.n_steps > run_parts.TRACE_PART_STEPS or every is not None
        )
    if every is not None and (not in_parts or every <= run_parts.TRACE_PART_STEPS):
        p = p._replace(chunk=min(every, p.n_steps))  # checkpoints at chunks' ends
    elif in_parts:
        p = p._replace(chunk=min(p.chunk, run_parts.TRACE_PART_STEPS))
    reference: dict[str, Any] | None = None
    soon = None if in_parts else _reference_soon(config, p)

    stopped: early_stopping.Stopped | None = None

    def finish(chunks: list[loop.Chunk], interrupted: bool, partial: bool) -> Trace:
        nonlocal reference
        history = loop.assemble(prepared, chunks, p.trainable)
        if stopped is not None and stopped.stopped_epoch is not None:
            history = loop.upto(history, stopped.stopped_epoch * p.per_epoch)
        if reference is None:
            reference = soon.result() if soon else run_reference(config, p)
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
                devices=check_devices(config.devices),
                validation=None if p.val is None else (p.val.x, p.val.y),
                overlap=_overlaps(p),
            )
        except InputError:
            raise
        except Exception as err:  # the user's own code raised while being traced
            if not isinstance(p.m, (Custom, CustomFamily)) and isinstance(p.loss, str):
                raise
            raise InputError(plan_code_error(p, err)) from None
        xd, yd, fixed_d = prepared.data
        check_first_loss(
            p, float(prepared.evaluate(prepared.carry[0], fixed_d, xd, yd))
        )
        if in_parts:
            assert trace_to is not None
            return run_in_parts(
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


#: Data values (rows x columns) up to which the exact answer is computed while the
#: run compiles and trains (beyond, it would compete for memory and bandwidth).
OVERLAP_VALUES = 1_000_000


def _overlaps(p: Plan) -> bool:
    """Whether a run's side work (its exact answer, programs besides its scan) is
    done on other threads while it compiles and trains: not for a user's model
    (their code is traced in the run's thread only), nor for data larger than
    ``OVERLAP_VALUES``."""
    width = 1 if p.xs is None else 1 + int(np.prod(np.shape(p.xs)[1:]))
    return (
        not isinstance(p.m, (Custom, CustomFamily))
        and isinstance(p.loss, str)
        and np.size(p.ys) * width <= OVERLAP_VALUES
    )


def _reference_soon(config: RunConfig, p: Plan) -> Future[dict[str, Any]] | None:
    """The exact answer of a small run with a built-in model (``_overlaps``),
    computed in a thread of its own while the run compiles and trains (XLA releases
    the interpreter then): seed 002's 0.16 s of optimum, standard errors and
    diagnosis come free. None where it is computed after the run."""
    if not config.exact or not _overlaps(p):
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradtrace-exact")
    try:
        return pool.submit(_reference_and_likelihood, p)
    finally:
        pool.shutdown(wait=False)


def _reference_and_likelihood(p: Plan) -> dict[str, Any]:
    """``plan_reference``, then, for a model with a likelihood, the summed
    log-likelihood once at the start: its program, compiled here, is the one the
    trace's statistics run after training (``fit_statistics``; 40 ms off seed
    002's process)."""
    out = plan_reference(p)
    if p.m.kind == "distribution" or p.loss == "nll":
        log_likelihood_at(p.m, p.xs, p.ys)({**p.trainable, **p.fixed})
    return out
