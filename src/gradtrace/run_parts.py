"""A run whose trace goes into its folder a part at a time (long runs and runs
with checkpoints), and the handling of Ctrl-C between compiled calls."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gradtrace.assembly import build_trace, with_gap, with_lr
from gradtrace.core import early_stopping, loop
from gradtrace.errors import INTERRUPTED, STOPPED_BY, TAKEN_OVER, InputError
from gradtrace.planning import Plan, run_reference
from gradtrace.run_config import RunConfig
from gradtrace.store import (
    TraceWriter,
    kept_steps,
)
from gradtrace.tables import TraceParts, nice_step
from gradtrace.trace import Trace
from gradtrace.watching import Watch, loss_at, stopped_early

#: A run of more steps than this, given a folder to write to, writes its trace
#: there a part of at most this many steps at a time instead of holding it.
TRACE_PART_STEPS = 1 << 18


#: About how many rows of such a trace stay in memory (every k-th step).
KEEP_ROWS = 100_000


#: ... and every one of its first steps (pictures draw steps on a log scale)
KEEP_HEAD = 1000


Progress = Callable[[int, int], None]


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


def run_in_parts(
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
        reference = run_reference(config, p)
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
    cut, or a finished run would be lost. Outside the main thread, nothing is held.
    The command's TERM and HUP (``stopping_signals``) are held too, and noted for
    its next check (``errors.INTERRUPTED``) as well: a sweep goes on no further."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def note(sig: int, _frame: object) -> None:
        got.append(sig)
        STOPPED_BY.append(sig)
        if sig != signal.SIGINT:  # the command's alone (stopping_signals)
            INTERRUPTED.set()

    previous = {sig: signal.signal(sig, note) for sig in stopping_signals()}
    try:
        yield got
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stopping_signals() -> tuple[int, ...]:
    """The signals a run holds while it saves: Ctrl-C's always; TERM and HUP
    where the command took them over (``TAKEN_OVER``), so that a Python
    caller's own handlers, its death by TERM and nohup's ignored HUP stay as
    they were."""
    return (signal.SIGINT, *sorted(TAKEN_OVER - {signal.SIGINT}))


#: A Ctrl-C came during a run's last compiled call, too late to stop it: noted
#: for the command to say so (``api.run_into``), not raised
LAST_STEPS = threading.Event()


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
        LAST_STEPS.clear()
        yield stop
        if got:  # during the last compiled call: the run is done, and says so
            LAST_STEPS.set()


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
