"""Streamed runs: ``gradtrace fit DATA.parquet --stream`` trains on a Parquet file
read a chunk at a time (``gradtrace.core.stream``), so the data never need to fit
in memory. What a streamed run cannot do, it refuses up front with what to do."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pyarrow as pa

from gradtrace import planning, run_parts, validate
from gradtrace.assembly import build_trace, log_likelihood
from gradtrace.core import early_stopping, stream
from gradtrace.core.batches import KERAS, TORCH
from gradtrace.data import ParquetRows
from gradtrace.errors import InputError
from gradtrace.planning import check_first_loss, plan
from gradtrace.run_config import RunConfig
from gradtrace.run_parts import (
    Parts,
    Progress,
    between_calls,
    check_resume_folder,
    held_interrupts,
    resumable,
    resume_from,
)
from gradtrace.store import TraceWriter
from gradtrace.trace import Trace
from gradtrace.watching import Watch, stopped_early

#: rows read to check the columns and the model before the run starts
SAMPLE_ROWS = 10_000
#: chunks smaller than this are slow: a full-batch step of 3 million rows read 10
#: rows at a time took 150 s
SMALL_CHUNK_ROWS = 65_536


def check(config: RunConfig) -> Path:
    """The Parquet file of a streamed configuration, or a one-line refusal of what a
    streamed run cannot do."""
    source = str(config.data or "")
    path = Path(source)
    if path.suffix.lower() not in (".parquet", ".pq") and not path.exists():
        from gradtrace.data import DATASETS

        if source in DATASETS:
            raise InputError(
                f"{source} is a built-in data set, small enough for memory: drop "
                "--stream (it reads Parquet files larger than memory)."
            )
    if path.is_dir():
        parts = sorted(p.name for p in path.glob("*.parquet"))[:2]
        held = f" (it holds {', '.join(parts)}{', ...' * (len(parts) > 1)})" * bool(
            parts
        )
        raise InputError(
            f"{source!r} is a folder{held}: --stream reads one Parquet file; give "
            "one, or write the parts into one a part at a time (pyarrow's "
            "pq.ParquetWriter)."
        )
    if not path.is_file():  # first: a file that is not there is not a CSV either
        raise InputError(f"data file {source!r} not found: check the path.")
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise InputError(
            f"--stream reads Parquet files, and {source!r} is not one: convert it "
            "(pandas: pd.read_csv(f).to_parquet('data.parquet')) or drop --stream."
        )
    for flag, given in (
        ("--devices above 1", config.devices != 1),
        ("--drop-last", config.drop_last),
    ):
        if given:
            raise InputError(
                f"{flag} does not work with --stream yet: drop it, or drop "
                "--stream to train on the data in memory."
            )
    framework = validate.shuffle(config.shuffle)
    if framework in (TORCH, KERAS):
        flag = f"--{framework}-order"
        raise InputError(
            f"{flag} does not work with --stream: a streamed run shuffles "
            f"rows within windows of chunks; drop {flag}, or drop --stream "
            "to train on the data in memory."
        )
    if config.shuffle_window is not None and not config.shuffle:
        raise InputError(
            "--shuffle-window sets how rows are shuffled: drop it, or drop "
            "--no-shuffle."
        )
    for flag, value in (
        ("--chunk-rows", config.chunk_rows),
        ("--shuffle-window", config.shuffle_window),
        ("--checkpoint-every", config.checkpoint_every),
    ):
        if value is not None:
            validate.positive_int(flag, value, flag)
    return path


def run_stream(
    config: RunConfig,
    progress: Progress | None = None,
    started: float | None = None,
    trace_to: Callable[[], TraceWriter] | None = None,
    resume: Mapping[str, np.ndarray] | None = None,
    resumed_from: Mapping[str, Any] | None = None,
) -> Trace:
    """Run ``config`` on its Parquet file, a chunk at a time (``resumed_from``:
    as ``gradtrace.api.run``'s).

    The trace is the in-memory run's when shuffling is off. Shuffling is the
    chunk-and-window shuffle of ``gradtrace.core.stream``. The loss over all the
    data is evaluated at the end of every epoch unless ``eval_every`` says
    otherwise (each evaluation is a pass over the file). The exact optimum, its
    standard errors and the diagnosis are computed before the run, over the file a
    chunk at a time (``exact_chunks``). Early stopping judges each epoch as its
    last compiled call ends (the segments never cross an epoch's end), and the
    run stops there. ``trace_to``: as for
    ``gradtrace.api.run``, a long run, or one with checkpoints
    (``config.checkpoint_every``), writes its trace there as it goes; a checkpoint
    falls at the end of the first compiled call at or after every K-th step.
    ``resume``: a checkpoint's ``state.npz``, to go on from (``trace_to`` then
    reopens its folder)."""
    started = time.perf_counter() if started is None else started
    p, layout, rows_in = _open(config)
    eval_every = p.eval_every
    if config.eval_every is None:
        eval_every = p.per_epoch  # a pass over the file at the end of each epoch
    p = p._replace(eval_every=eval_every)
    rows = rows_in(p.cdtype)
    reference = exact_chunks(p, rows_in, layout) if config.exact else {}
    segments: list[stream.Segment] = []
    interrupted = False

    def loglik(params: dict[str, Any]) -> float:
        # the values as the file holds them, as in memory
        chunks = layout.chunks(rows_in("float64"))
        return sum(log_likelihood(p.m, params, x, y) for x, y in chunks)

    info = {"stream": {"chunk_rows": layout.chunk_rows, "window_chunks": layout.window}}
    extra: dict[str, Any] = {"loglik": loglik, "keep_data": False, "schedule": info}
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        streamed = stream.Streamed(
            p.problem,
            p.spec,
            layout,
            p.n_steps,
            eval_every,
            p.trainable,
            p.fixed,
            rows,
            None if p.val is None else _held_on_device(p),
        )
        check_first_loss(p, float(streamed.initial()[0]))
        # checked (a positive whole number) by ``check`` before the file was read
        every = config.checkpoint_every
        every = None if every is None else int(every)
        check_resume_folder(resume, trace_to)
        # early stopping: judged a segment at a time, its state in the checkpoints
        watch = None if p.stopping is None else Watch(p, None)
        stopped: early_stopping.Stopped | None = None
        parts = None
        if trace_to is not None:
            # into a folder, always in parts: a Ctrl-C keeps the state that
            # resume continues (each step of a stream may be a pass over a file
            # larger than memory: rerunning from the start costs most)
            parts = Parts(p, trace_to(), reference, resumed_from)
        start, state, before = None, None, 0.0
        if resume is not None:
            assert parts is not None
            try:
                start = resume_from(streamed.load_state, resume)
                parts.restore(resume)
                if watch is not None:
                    watch.restore(resume)
            except BaseException:
                parts.writer.let_go()  # the folder stays as its checkpoint left it
                raise
            state, before = dict(resume), float(resume["seconds"])
        done = 0 if start is None else start[1]
        marks = done // (every or 1)
        began = time.perf_counter()

        def write(segments: list[stream.Segment]) -> None:
            """The segments as the next part, and the state after them."""
            nonlocal state
            assert parts is not None
            parts.write(stream.history(streamed, segments, parts.steps))
            if segments and not segments[-1].stopped:
                spent = before + time.perf_counter() - began
                state = streamed.save_state(segments[-1], parts.steps)
                state.update(parts.state(), seconds=np.asarray(spent))
                if watch is not None:  # it has judged the same steps
                    state.update(watch.state())

        try:
            try:
                with between_calls() as stop:
                    if progress is not None:
                        progress(done, p.n_steps)
                    for segment in streamed.segments(start):
                        segments.append(segment)
                        if watch is not None:
                            steps = stream.history(streamed, [segment], done)
                            stopped = watch.add_history(steps)
                        done += len(segment.batch_loss)
                        if progress is not None:
                            progress(done, p.n_steps)
                        due = every is not None and done // every > marks
                        # a part, its state and its checkpoint are written whole
                        if parts is not None and (
                            done - parts.steps >= run_parts.TRACE_PART_STEPS or due
                        ):
                            batch, segments = segments, []
                            write(batch)
                        if due and state is not None and not segment.stopped:
                            assert every is not None and parts is not None
                            marks = done // every
                            spent = before + time.perf_counter() - began
                            parts.checkpoint(
                                config, reference, started, spent, state, **extra
                            )
                        if ended(stopped):
                            break  # early stopping: the segments after it not run
                        if done < p.n_steps:  # the last segment: it finished
                            stop()
            except KeyboardInterrupt:
                interrupted = True
            # the training time includes reading the chunks, not only the compiled
            # calls
            seconds = before + time.perf_counter() - began
            with held_interrupts():
                if parts is None:
                    history = stream.history(streamed, segments)
                    history = history._replace(train_s=seconds)
                elif segments or parts.last is None:
                    write(segments)
        except BaseException:
            if parts is not None:
                parts.writer.discard()
            raise

    def evaluate(values: dict[str, Any]) -> float:
        """The loss over the file at given values (the user's): a pass over it."""
        with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
            dtype = np.dtype(p.pdtype)
            user = {k: np.asarray(values[k], dtype) for k in p.problem.trainable}
            return float(streamed.full(p.problem.internal_params(user))[0])

    if ended(stopped):  # every step it was to run has run
        interrupted, state = False, None
    with held_interrupts():
        if parts is None:
            trace = build_trace(
                config, p, history, reference, interrupted, started, **extra
            )
            if stopped is not None:
                stopped_early(trace, p, history, reference, stopped, evaluate)
            return trace
        try:
            trace = parts.trace(
                config, reference, interrupted, started, seconds, **extra
            )
            if stopped is not None:
                if stopped.restored_epoch is not None:
                    parts.hold_row(trace, stopped.restored_epoch * p.per_epoch)
                stopped_early(trace, p, None, reference, stopped, evaluate)
        except BaseException:
            parts.writer.discard()
            raise
        resumable(trace, state)
        return trace


def ended(stopped: early_stopping.Stopped | None) -> bool:
    """Whether early stopping stopped the run."""
    return stopped is not None and stopped.stopped_epoch is not None


def _held_on_device(p: Any) -> tuple[Any, Any]:
    """The plan's validation rows on the device, in the loss's dtype."""
    from gradtrace.core.loop import place

    return place(p.val.x, p.val.y, np.dtype(p.cdtype), 1)[:2]  # type: ignore[no-any-return]


def _open(
    config: RunConfig, record: bool = True
) -> tuple[planning.Plan, stream.Layout, Callable[[str], ParquetRows]]:
    """A streamed configuration's plan (from the file's first rows), its chunks, and
    its rows in a given dtype; or a one-line refusal. ``record``: as ``plan``'s
    (the file's checksum for run.json)."""
    path = check(config)
    source = repr(str(path))
    try:
        first = ParquetRows(path, [], config.y, "float64", True, source)
    except InputError:
        raise  # a column not in the file, say: its own message
    except (OSError, ValueError, pa.ArrowException) as err:
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InputError(
            f"cannot read {source} as Parquet ({text}): give a Parquet file."
        ) from None
    n_rows = first.n_rows
    head = first.head(SAMPLE_ROWS)
    p = plan(config, head, source, n_rows=n_rows, record=record)
    flat = p.xs is not None and p.xs.ndim == 1
    gone = None
    if config.drop_missing:  # a first pass over the file finds the rows to leave
        kept = ParquetRows(
            path, p.x_cols or [], config.y, "float64", flat, source, drop_missing=True
        )
        gone, n_rows = kept.gone, kept.n_rows
        if n_rows < 2:
            raise InputError(
                f"{source} has fewer than two rows left after dropping "
                f"{kept.dropped} rows with missing values."
            )
        # planned again for the rows kept, and told how many the whole file lost
        p = plan(config, head, source, n_rows=n_rows, record=record)
        said = planning.dropped_notice(p.dropped)  # the first rows' count
        notices = [n for n in p.notices if n != said]
        notices += [planning.dropped_notice(kept.dropped)] * bool(kept.dropped)
        p = p._replace(
            dropped=kept.dropped,
            dropped_at=tuple(kept.dropped_rows()),
            notices=notices,
        )
    # the plan saw the first chunk's rows only: no checksum of all the values;
    # the x columns' ranges from the file's statistics, which count every row
    # (none where --drop-missing left some out)
    p = p._replace(
        values="", x_range={} if p.dropped else first.x_range(p.x_cols or [])
    )

    def rows_in(dtype: str) -> ParquetRows:
        return ParquetRows(
            path,
            p.x_cols or [],
            config.y,
            dtype,
            flat,
            source,
            check_y,
            config.drop_missing,
            gone,
        )

    check_y = None
    if config.standardize and p.x_cols:
        # each x column's mean and spread over every row kept, not the first
        # chunk's: the in-memory run's, from the values as the file holds them
        m = _standardised(p.m, rows_in("float64"), p.x_cols, source)
        p = p._replace(m=m, problem=dataclasses.replace(p.problem, model=m))
    layout = stream.Layout.make(
        n_rows,
        p.batch_size,
        config.chunk_rows,
        config.shuffle_window,
        bool(config.shuffle) and p.batch_size < n_rows,
        int(p.seed),
    )
    if layout.chunk_rows < min(SMALL_CHUNK_ROWS, n_rows):
        p.notices.append(
            f"chunks of {layout.chunk_rows} rows: each is a read of the file and a "
            f"compiled call, so small chunks are slow; {SMALL_CHUNK_ROWS} rows or "
            "more keep memory bounded and read fast (--chunk-rows)"
        )
    if p.m.kind == "distribution" or p.loss == "nll":  # the first rows were checked

        def check_y(y: np.ndarray, start: int) -> None:
            validate.support(p.m, y, p.fixed, source, start)

    return p, layout, rows_in


def _standardised(m: Any, rows: ParquetRows, names: list[str], source: str) -> Any:
    """``m`` with each x column centred on its mean and scaled by its
    (population) standard deviation over all of ``rows``, summed in float64 a
    row group at a time about the first rows' mean."""
    shift = None
    count, total, squares = 0, 0.0, 0.0
    step = max(SAMPLE_ROWS, 1 << 20)
    for start in range(0, rows.n_rows, step):
        x, y = rows.read(start, min(start + step, rows.n_rows))
        x = np.asarray(x, np.float64).reshape(len(y), -1)
        if getattr(m, "offset", False):  # added as it is: not standardised
            x = x[:, :-1]
        if shift is None:
            shift = x.mean(axis=0)
        d = x - shift
        count += len(d)
        total = total + d.sum(axis=0)
        squares = squares + (d * d).sum(axis=0)
    assert shift is not None
    mean = total / count
    spread = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    if np.any(spread == 0):
        col = names[int(np.flatnonzero(spread == 0)[0])]
        raise InputError(
            f"x column {col!r} is constant, so it cannot be standardised: drop it "
            "from --x."
        )
    return dataclasses.replace(
        m,
        center=tuple(float(v) for v in shift + mean),
        spread=tuple(float(v) for v in spread),
    )


def exact_chunks(
    p: planning.Plan, rows_in: Callable[[str], ParquetRows], layout: stream.Layout
) -> dict[str, Any]:
    """The optimum, standard errors and diagnosis of a streamed run, over its file a
    chunk at a time (``rowsums.Chunks``): a few passes for a closed form (least
    squares, a mean and standard deviation), one an iteration for Newton's method.
    What needs the rows in memory (a median, a linear program) is a notice. The
    rows are read as float64: the values as the file holds them, as the exact
    answer in memory has them."""
    chunks = layout.chunks(rows_in("float64"), head_rows=SAMPLE_ROWS)
    return planning.plan_reference(p._replace(xs=None, ys=chunks))


def reference(config: RunConfig) -> dict[str, Any]:
    """``gradtrace.planning.reference`` of a streamed configuration (``gradtrace
    diagnose --stream``): its optimum, standard errors and diagnosis over its file
    a chunk at a time, and the plan's notices."""
    p, layout, rows_in = _open(config, record=False)
    out = exact_chunks(p, rows_in, layout)
    out["notices"], out["x"] = p.notices, p.x_cols
    return out
