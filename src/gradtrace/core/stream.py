"""Training on data read a chunk at a time: data larger than memory.

The rows come from a :class:`Rows` source (``read(start, stop)`` gives NumPy arrays),
``chunk_rows`` rows at a time, a whole number of batches. Each chunk feeds compiled
scan segments over its batches, so only a chunk (a shuffle window, when shuffling)
is in memory at once, however many rows there are.

Batches, unshuffled: consecutive rows, the last batch of an epoch partial, exactly
the batches of the in-memory run, so the trace is the in-memory run's.

Batches, shuffled (a chunk-and-window shuffle): each epoch visits the chunks in an
order drawn from the seed and the epoch; each run of ``window`` consecutive chunks
in that order is one window, whose rows are permuted (again from the seed and the
epoch) and cut into batches. A row meets in a batch only rows of its window, so a
wider window mixes better and holds more in memory. An epoch still has
``ceil(n_rows / batch_size)`` batches: only the window that holds the data's short
last chunk ends with a partial batch.

Full batch (``batch_size >= n_rows``): a step is a pass over every chunk that sums
the loss, its gradient and the metrics' statistics, then one update.

The loss over all the data is a pass over the chunks after every ``eval_every``
steps and after the last (full batch: the next step's batch loss, as in memory).
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import metrics, plateau, rowsums
from gradtrace.core.batches import n_batches
from gradtrace.core.loop import (
    History,
    Problem,
    apply_update,
    batch_gradient,
    carry_arrays,
    carry_from,
    compile_once,
    held_out_losses,
)
from gradtrace.core.optimizers import OptimizerSpec

#: rows per chunk unless asked otherwise: 2**20 (8 MB a float64 column)
DEFAULT_CHUNK_ROWS = 1 << 20
#: chunks per shuffle window unless asked otherwise
DEFAULT_WINDOW = 4


class Rows(Protocol):
    """Where streamed rows come from."""

    @property
    def n_rows(self) -> int: ...

    def read(self, start: int, stop: int) -> tuple[np.ndarray | None, np.ndarray]:
        """Rows ``start`` to ``stop`` (0-based, stop excluded) as (x, y)."""
        ...


@dataclass(frozen=True)
class Layout:
    """How the rows are cut into chunks, windows and batches."""

    n_rows: int
    batch_size: int
    chunk_rows: int
    window: int = DEFAULT_WINDOW
    shuffle: bool = False
    seed: int = 0

    @staticmethod
    def make(
        n_rows: int,
        batch_size: int,
        chunk_rows: int | None,
        window_rows: int | None,
        shuffle: bool,
        seed: int,
    ) -> Layout:
        """A layout whose chunks hold a whole number of batches (at least one) and
        whose windows hold at least ``window_rows`` rows (whole chunks)."""
        wanted = chunk_rows or DEFAULT_CHUNK_ROWS
        if batch_size < n_rows:
            batches = min(max(1, wanted // batch_size), n_batches(n_rows, batch_size))
            chunk = batch_size * batches
        else:
            chunk = min(wanted, n_rows)
        window = DEFAULT_WINDOW if window_rows is None else -(-window_rows // chunk)
        return Layout(n_rows, batch_size, chunk, max(1, window), shuffle, seed)

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= self.n_rows

    @property
    def n_chunks(self) -> int:
        return -(-self.n_rows // self.chunk_rows)

    @property
    def batches_per_epoch(self) -> int:
        return n_batches(self.n_rows, self.batch_size)

    def chunk(self, i: int) -> tuple[int, int]:
        """The rows of chunk ``i``: (start, stop)."""
        start = i * self.chunk_rows
        return start, min(start + self.chunk_rows, self.n_rows)

    def chunks(self, rows: Rows, head_rows: int | None = None) -> rowsums.Chunks:
        """``rows`` in this layout's chunks, in order, as ``rowsums.Chunks`` (sums
        over data larger than memory); ``head_rows``: their head is the first so
        many rows instead of the first chunk."""

        def head() -> tuple[np.ndarray | None, np.ndarray]:
            return rows.read(0, min(self.n_rows, head_rows or self.chunk_rows))

        return rowsums.Chunks(
            self.n_rows, self.n_chunks, lambda i: rows.read(*self.chunk(i)), head
        )

    def windows(self, epoch: int) -> Iterator[tuple[list[int], np.ndarray | None]]:
        """The windows of an epoch (0-based) in visiting order: each its chunks and
        the permutation of its rows (None when not shuffled: one chunk a window).
        Drawn one at a time, so only one window's permutation is held."""
        if not self.shuffle:
            yield from (([i], None) for i in range(self.n_chunks))
            return
        rng = np.random.default_rng([self.seed % 2**64, epoch])
        order = rng.permutation(self.n_chunks).tolist()
        for w in range(0, len(order), self.window):
            ids = order[w : w + self.window]
            rows = sum(self.chunk(i)[1] - self.chunk(i)[0] for i in ids)
            yield ids, rng.permutation(rows)

    def batch_rows(self, step: int) -> np.ndarray:
        """The data rows (0-based) of step ``step`` (0-based)."""
        epoch, b = divmod(step, self.batches_per_epoch)
        return self.batches_of(epoch, [b])[b]

    def batches_of(self, epoch: int, wanted: Collection[int]) -> dict[int, np.ndarray]:
        """The data rows (0-based) of the batches ``wanted`` (0-based, in epoch
        ``epoch``), drawn a window at a time up to the last one wanted."""
        if self.full_batch:
            return {b: np.arange(self.n_rows) for b in wanted}
        out: dict[int, np.ndarray] = {}
        first = 0
        for ids, perm in self.windows(epoch):
            size = sum(self.chunk(i)[1] - self.chunk(i)[0] for i in ids)
            here = n_batches(size, self.batch_size)
            need = [b for b in wanted if first <= b < first + here]
            if need:
                rows = np.concatenate([np.arange(*self.chunk(i)) for i in ids])
                for b in need:
                    start = (b - first) * self.batch_size
                    at = slice(start, start + self.batch_size)
                    out[b] = rows[at].copy() if perm is None else rows[perm[at]]
                if len(out) == len(set(wanted)):
                    break
            first += here
        if len(out) != len(set(wanted)):
            raise IndexError(sorted(set(wanted) - set(out)))
        return out

    def rows_before(self, step: int) -> int:
        """The rows of the epoch's batches before step ``step`` (0-based): each
        window ends in its own short batch, so not (batch - 1) x batch size."""
        if self.full_batch:
            return 0
        epoch, b = divmod(step, self.batches_per_epoch)
        before = 0
        for ids, _ in self.windows(epoch):
            size = sum(self.chunk(i)[1] - self.chunk(i)[0] for i in ids)
            here = n_batches(size, self.batch_size)
            if b < here:
                return before + b * self.batch_size
            before, b = before + size, b - here
        raise IndexError(step)  # pragma: no cover - b < batches per epoch


class Segment(NamedTuple):
    """The steps that one compiled call ran, moved to NumPy; ``loss`` and
    ``full_stats`` are NaN except where the loss over all the data was evaluated."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    batch_loss: np.ndarray
    batch_stats: np.ndarray
    batch_rows: np.ndarray
    loss: np.ndarray
    full_stats: np.ndarray
    seconds: float
    stopped: bool
    #: the optimizer's carry after the segment's last step, on the host
    carry: Any = None
    #: a plateau's level at each step, the cuts made before it (-1: none)
    levels: np.ndarray | None = None


class Streamed:
    """A problem compiled for chunks of a layout, ready to run."""

    def __init__(
        self,
        problem: Problem,
        opt: OptimizerSpec,
        layout: Layout,
        n_steps: int,
        eval_every: int,
        init: dict[str, Any],
        fixed: dict[str, Any],
        rows: Rows,
        validation: tuple[Any, Any] | None = None,
    ) -> None:
        self.problem, self.layout, self.rows = problem, layout, rows
        #: validation rows (x, y) on the device, held whole, or None
        self.validation = validation
        self.n_steps, self.eval_every = n_steps, eval_every
        pdtype = jnp.dtype(problem.param_dtype)
        self.cdtype = jnp.dtype(problem.compute_dtype)
        user = {k: jnp.asarray(init[k], pdtype) for k in problem.trainable}
        #: the starting values as the user gave them
        self.initial_user = user
        params = problem.internal_params(user)
        self.params = {k: v.astype(pdtype) for k, v in params.items()}
        self.fixed = {k: jnp.asarray(v, pdtype) for k, v in fixed.items()}
        self.tx = opt.build()
        #: a plateau's rates and cuts (``OptimizerSpec.plateau``), or None
        self.plateau = opt.plateau
        #: the validation rows a plateau that watches their loss takes, or None
        self.watched = validation if opt.watches_validation else None
        if opt.watches_validation and validation is None:
            raise ValueError("a plateau that watches val_loss needs validation rows")
        held = None if self.watched is None else [np.shape(a) for a in self.watched]
        self.n_stats = metrics.n_stats(problem.metrics)
        start = time.perf_counter()
        x0, y0 = self._padded(0)
        n_real = jnp.asarray(0, jnp.int32)
        self._sums = compile_once(
            ("stream-sums", problem),
            self._sums_fn,
            self.params,
            self.fixed,
            x0,
            y0,
            n_real,
        )
        carry = (self.params, self.tx.init(self.params), jnp.asarray(False))
        self.carry = carry
        if layout.full_batch:
            self._grad_sums = compile_once(
                ("stream-grad-sums", problem),
                self._grad_sums_fn,
                self.params,
                self.fixed,
                x0,
                y0,
                n_real,
            )
            zero = jnp.zeros((), self.cdtype)
            self._apply = compile_once(
                ("stream-apply", problem, opt, str(held)),
                self._apply_fn,
                carry,
                zero,
                self.params,
                self.watched,
                jnp.asarray(0, jnp.int32),
            )
        else:
            per_chunk = layout.chunk_rows // layout.batch_size
            b0 = jnp.asarray(0, jnp.int32)
            self._segment = compile_once(
                ("stream-segment", problem, opt, layout.batch_size, per_chunk)
                + (str(held),),
                self._segment_fn(per_chunk),
                carry,
                x0,
                y0,
                self.fixed,
                n_real,
                b0,
                b0,
                b0,
                self.watched,
            )
        self.compile_s = time.perf_counter() - start
        self.first_chunk = (x0, y0)
        self._initial: tuple[np.ndarray, np.ndarray] | None = None

    # -- compiled pieces ---------------------------------------------------------
    def _sums_fn(self, params: Any, fixed: Any, x: Any, y: Any, n_real: Any) -> Any:
        """The summed loss and metric statistics of a chunk's real rows."""
        mask = jnp.arange(y.shape[0]) < n_real
        p = self.problem
        total = p.summed(params, fixed, x, y, mask)
        stats = (
            p.metric_stats(params, fixed, x, y, mask)
            if self.n_stats
            else jnp.zeros(0, self.cdtype)
        )
        return total, stats

    def _grad_sums_fn(
        self, params: Any, fixed: Any, x: Any, y: Any, n_real: Any
    ) -> Any:
        def total(q: Any) -> Any:
            return self._sums_fn(q, fixed, x, y, n_real)

        (value, stats), grad = jax.value_and_grad(total, has_aux=True)(params)
        return value, grad, stats

    def _level(self, opt_state: Any, new_state: Any) -> Any:
        """A plateau's level for a step (-1 without a plateau): from the
        optimizer's state before it, or after the judgment it made first where it
        watches the validation loss (as ``loop``'s)."""
        if self.plateau is None:
            return jnp.asarray(-1, jnp.int32)
        return plateau.level(new_state if self.watched is not None else opt_state)

    def _extra(
        self,
        loss: Any,
        rows: Any,
        epoch_end: Any,
        params: Any = None,
        fixed: Any = None,
        val: Any = None,
        starts: Any = None,
    ) -> dict[str, Any] | None:
        """What a plateau's update takes (``core.plateau``), or None; one that
        watches the validation rows ``val`` takes their loss at ``params`` where
        an epoch ``starts`` (the epoch before's, judged now, as in memory)."""
        if self.plateau is None:
            return None
        extra = {"loss": loss, "rows": rows, "epoch_end": epoch_end}
        if val is not None:
            problem, nan = self.problem, jnp.asarray(jnp.nan, self.cdtype)
            xv, yv = val
            extra["epoch_start"] = starts
            extra["val_loss"] = jax.lax.cond(
                starts,
                lambda: problem.objective(params, fixed, xv, yv, None),
                lambda: nan,
            )
        return extra

    def _apply_fn(self, carry: Any, loss: Any, grads: Any, val: Any, t: Any) -> Any:
        params, opt_state, _ = carry
        # a full-batch step (``t``, 0-based) is an epoch of its own
        extra = self._extra(
            loss, self.layout.n_rows, jnp.asarray(True), params, self.fixed, val, t > 0
        )
        new_params, new_state, shown, ok = apply_update(
            self.problem, self.tx, params, opt_state, loss, grads, extra
        )
        return (new_params, new_state, ~ok), shown, self._level(opt_state, new_state)

    def _segment_fn(self, per_chunk: int) -> Any:
        problem, bs, tx = self.problem, self.layout.batch_size, self.tx
        per_epoch = self.layout.batches_per_epoch

        def segment(carry, x, y, fixed, n_real, b0, count, t_first, val):  # type: ignore[no-untyped-def]
            def step(carry, i):  # type: ignore[no-untyped-def]
                (params, opt_state, stopped), at = carry
                active = (i < count) & ~stopped
                first = (b0 + i) * bs

                def run(_):  # type: ignore[no-untyped-def]
                    xb = (
                        None
                        if x is None
                        else jax.lax.dynamic_slice_in_dim(x, first, bs)
                    )
                    yb = jax.lax.dynamic_slice_in_dim(y, first, bs)
                    mask = first + jnp.arange(bs) < n_real
                    loss, grads, stats = batch_gradient(
                        problem, params, fixed, xb, yb, mask, at
                    )
                    rows = jnp.sum(mask)
                    epoch_end = (t_first + i + 1) % per_epoch == 0
                    starts = ((t_first + i) % per_epoch == 0) & (t_first + i > 0)
                    extra = self._extra(
                        loss, rows, epoch_end, params, fixed, val, starts
                    )
                    new_params, new_state, shown, ok = apply_update(
                        problem, tx, params, opt_state, loss, grads, extra
                    )
                    level = self._level(opt_state, new_state)
                    out = (shown, grads, loss, stats, rows, level)
                    new_at = problem.point(new_params)
                    return new_params, new_state, new_at, out, ~ok

                def skip(_):  # type: ignore[no-untyped-def]
                    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
                    nan = jnp.asarray(jnp.nan, problem.compute_dtype)
                    no_stats = jnp.full((self.n_stats,), jnp.nan, problem.compute_dtype)
                    out = (
                        problem.user_params(params),
                        zeros,
                        nan,
                        no_stats,
                        jnp.asarray(0, jnp.int32),
                        jnp.asarray(-1, jnp.int32),
                    )
                    return params, opt_state, at, out, jnp.asarray(False)

                new_params, new_state, at, out, bad = jax.lax.cond(
                    active, run, skip, None
                )
                return ((new_params, new_state, stopped | bad), at), (*out, active)

            # the steps carry the next step's ``Problem.point`` (as loop's do)
            carry, outs = jax.lax.scan(
                step,
                (carry, problem.point(carry[0])),
                jnp.arange(per_chunk, dtype=jnp.int32),
            )
            return carry[0], outs

        return segment

    # -- data ---------------------------------------------------------------------
    def _pad(self, x: Any, y: np.ndarray) -> tuple[Any, Any]:
        """Rows padded to a chunk with copies of the first row (real rows, so that
        a masked row's gradient is a finite zero), on the device."""
        size = self.layout.chunk_rows
        short = size - len(y)

        def put(a: np.ndarray) -> Any:
            a = np.asarray(a, self.cdtype)
            if short:
                a = np.concatenate([a, np.repeat(a[:1], short, axis=0)])
            return jax.device_put(a)

        return (None if x is None else put(x)), put(y)

    def _padded(self, i: int) -> tuple[Any, Any]:
        x, y = self.rows.read(*self.layout.chunk(i))
        return self._pad(x, y)

    def _chunks(self) -> Iterator[tuple[Any, Any, int]]:
        for i in range(self.layout.n_chunks):
            start, stop = self.layout.chunk(i)
            if i == 0:
                x, y = self.first_chunk
            else:
                x, y = self._padded(i)
            yield x, y, stop - start

    def initial(self) -> tuple[np.ndarray, np.ndarray]:
        """The loss and metric statistics at the start (one pass, then kept)."""
        if self._initial is None:
            self._initial = self.full(self.params)
        return self._initial

    def full(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        """The loss over all the data and the metrics' statistics, at optimizer
        ``params``: a pass over every chunk, summed in float64."""
        total, stats = 0.0, np.zeros(self.n_stats)
        for x, y, n in self._chunks():
            value, s = self._sums(params, self.fixed, x, y, jnp.asarray(n, jnp.int32))
            total += float(value)
            stats = stats + np.asarray(s, np.float64)
        if self.problem.reduction == "mean":
            total /= self.layout.n_rows
        return np.asarray(total, self.cdtype), stats.astype(self.cdtype)

    # -- saved states -------------------------------------------------------------
    def save_state(self, segment: Segment, t0: int) -> dict[str, np.ndarray]:
        """What continues the run after ``segment``, which ends before step ``t0``
        (0-based): the carry's leaves and the step, for ``state.npz``."""
        return {"t0": np.asarray(t0), **carry_arrays(segment.carry)}

    def load_state(self, state: Mapping[str, np.ndarray]) -> tuple[Any, int]:
        """(carry, t0) from ``save_state``'s arrays; a ValueError if they do not fit
        this run."""
        return carry_from(self.carry, state), int(state["t0"])

    # -- runs ---------------------------------------------------------------------
    def segments(self, start: tuple[Any, int] | None = None) -> Iterator[Segment]:
        """Run every step, a compiled call at a time; stops once the run diverged.
        ``start``: (carry, step) to go on from instead (a saved state)."""
        carry, t0 = start if start is not None else (self.carry, 0)
        if self.layout.full_batch:
            yield from self._full_batch(carry, t0)
        else:
            yield from self._mini_batch(carry, t0)

    def _mini_batch(self, carry: Any, t0: int) -> Iterator[Segment]:
        layout, bs = self.layout, self.layout.batch_size
        per_epoch, t = layout.batches_per_epoch, t0
        for epoch in range(t0 // per_epoch, math.ceil(self.n_steps / per_epoch)):
            at = epoch * per_epoch  # the step the next window starts at
            for ids, perm in layout.windows(epoch):
                size = sum(layout.chunk(i)[1] - layout.chunk(i)[0] for i in ids)
                at, begins = at + math.ceil(size / bs), at
                if at <= t:  # a window that ran before the saved step: not read
                    continue
                parts = [self.rows.read(*layout.chunk(i)) for i in ids]
                y = np.concatenate([p[1] for p in parts])
                x = (
                    None
                    if parts[0][0] is None
                    else np.concatenate([p[0] for p in parts])
                )
                if perm is not None:
                    y = y[perm]
                    x = None if x is None else x[perm]
                del parts
                for off in range(0, len(y), layout.chunk_rows):
                    n_real = min(layout.chunk_rows, len(y) - off)
                    batches = math.ceil(n_real / bs)
                    first, begins = begins, begins + batches
                    if begins <= t:  # this piece's batches ran before the saved step
                        continue
                    xc, yc = self._pad(
                        None if x is None else x[off : off + layout.chunk_rows],
                        y[off : off + layout.chunk_rows],
                    )
                    b = t - first
                    while b < batches and t < self.n_steps:
                        to_eval = self.eval_every - t % self.eval_every
                        count = min(batches - b, self.n_steps - t, to_eval)
                        start = time.perf_counter()
                        carry, out = self._segment(
                            carry,
                            xc,
                            yc,
                            self.fixed,
                            jnp.asarray(n_real, jnp.int32),
                            jnp.asarray(b, jnp.int32),
                            jnp.asarray(count, jnp.int32),
                            jnp.asarray(t, jnp.int32),
                            self.watched,
                        )
                        got = jax.device_get(out)
                        shown, grads, loss, stats, rows, levels, active = got
                        ran = int(np.sum(active))
                        stopped = bool(carry[2])
                        full = np.full(ran, np.nan, self.cdtype)
                        full_stats = np.full((ran, self.n_stats), np.nan, self.cdtype)
                        t += ran
                        due = t % self.eval_every == 0 or t == self.n_steps
                        if ran == count and due and not stopped:
                            full[-1], full_stats[-1] = self.full(carry[0])
                            stopped = not np.isfinite(full[-1])
                        seconds = time.perf_counter() - start
                        yield Segment(
                            {k: v[:ran] for k, v in shown.items()},
                            {k: v[:ran] for k, v in grads.items()},
                            loss[:ran],
                            stats[:ran],
                            rows[:ran],
                            full,
                            full_stats,
                            seconds,
                            stopped,
                            jax.device_get(carry),
                            levels[:ran],
                        )
                        if stopped:
                            return
                        b += count
                if t >= self.n_steps:
                    return

    def _full_batch(self, carry: Any, t0: int) -> Iterator[Segment]:
        n, mean = self.layout.n_rows, self.problem.reduction == "mean"
        previous: Segment | None = None
        for t in range(t0, self.n_steps):
            start = time.perf_counter()
            total, grads, stats = 0.0, None, np.zeros(self.n_stats)
            for x, y, rows in self._chunks():
                value, g, s = self._grad_sums(
                    carry[0], self.fixed, x, y, jnp.asarray(rows, jnp.int32)
                )
                total += float(value)
                g = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), g)
                grads = g if grads is None else jax.tree_util.tree_map(np.add, grads, g)
                stats = stats + np.asarray(s, np.float64)
            if mean:
                total /= n
                grads = jax.tree_util.tree_map(lambda a: a / n, grads)
            params = carry[0]
            assert grads is not None  # a layout has at least one chunk
            grads = {k: jnp.asarray(v, params[k].dtype) for k, v in grads.items()}
            loss = jnp.asarray(total, self.cdtype)
            at = jnp.asarray(t, jnp.int32)
            carry, shown, level = self._apply(carry, loss, grads, self.watched, at)
            stopped = bool(carry[2])
            segment = Segment(
                {k: np.asarray(v)[None] for k, v in shown.items()},
                {k: np.asarray(v)[None] for k, v in grads.items()},
                np.asarray(loss)[None],
                stats.astype(self.cdtype)[None],
                np.asarray([n]),
                np.full(1, np.nan, self.cdtype),
                np.full((1, self.n_stats), np.nan, self.cdtype),
                time.perf_counter() - start,
                stopped,
                jax.device_get(carry),
                np.asarray(level)[None],
            )
            if previous is not None:
                # the loss after the previous step is this step's batch loss; where
                # it overflowed, the run diverged at the previous step
                previous.loss[0], previous.full_stats[0] = loss, segment.batch_stats[0]
                if not np.isfinite(previous.loss[0]):
                    yield previous._replace(stopped=True)
                    return
                yield previous
            previous = segment
            if stopped:
                break
        if previous is not None:
            if not previous.stopped:
                start = time.perf_counter()
                previous.loss[0], previous.full_stats[0] = self.full(carry[0])
                stopped = not np.isfinite(previous.loss[0])
                seconds = previous.seconds + time.perf_counter() - start
                previous = previous._replace(stopped=stopped, seconds=seconds)
            yield previous


def history(
    streamed: Streamed, segments: list[Segment], first_step: int = 0
) -> History:
    """Join segments into a History (``initial_loss`` from a pass over the data);
    ``first_step``: the step (0-based) the segments start at, for a part of a run."""
    problem, layout = streamed.problem, streamed.layout
    initial_loss, initial_stats = streamed.initial()
    names = problem.trainable
    if segments:
        params = {k: np.concatenate([s.params[k] for s in segments]) for k in names}
        grads = {k: np.concatenate([s.grads[k] for s in segments]) for k in names}

        def joined(field: str) -> np.ndarray:
            return np.concatenate([getattr(s, field) for s in segments])

        batch_loss, loss = joined("batch_loss"), joined("loss")
        batch_stats, full_stats = joined("batch_stats"), joined("full_stats")
        rows = joined("batch_rows")
        levels = (
            None
            if streamed.plateau is None
            else np.concatenate([np.asarray(s.levels, np.int64) for s in segments])
        )
    else:
        shapes = {k: np.shape(v) for k, v in streamed.params.items()}
        params = {k: np.zeros((0, *shapes[k])) for k in names}
        grads = params
        batch_loss = loss = np.zeros(0, streamed.cdtype)
        batch_stats = full_stats = np.zeros((0, streamed.n_stats), streamed.cdtype)
        rows = np.zeros(0, np.int64)
        levels = None if streamed.plateau is None else np.zeros(0, np.int64)
    stopped = segments and segments[-1].stopped
    diverged = first_step + len(batch_loss) if stopped else None
    steps = first_step + np.arange(len(batch_loss))
    per_epoch = layout.batches_per_epoch
    val_loss = val_stats = initial_val = None
    if streamed.validation is not None:  # after each epoch, as in memory
        ends = (steps % per_epoch == per_epoch - 1) | (steps == streamed.n_steps - 1)
        val_loss, val_stats = held_out_losses(
            problem, streamed.fixed, streamed.validation, params, ends
        )
        start = {k: np.asarray(v)[None] for k, v in streamed.initial_user.items()}
        at_start = held_out_losses(
            problem, streamed.fixed, streamed.validation, start, np.ones(1, bool)
        )
        initial_val = (float(at_start[0][0]), at_start[1][0])
    return History(
        params=params,
        grads=grads,
        batch_loss=batch_loss,
        loss=loss,
        epoch=steps // per_epoch + 1,
        batch=steps % per_epoch + 1,
        batch_rows=rows.astype(np.int64),
        initial_loss=float(initial_loss),
        diverged_step=diverged,
        compile_s=streamed.compile_s,
        train_s=sum(s.seconds for s in segments),
        batch_stats=batch_stats,
        full_stats=full_stats,
        initial_stats=initial_stats,
        levels=levels,
        val_loss=val_loss,
        val_stats=val_stats,
        initial_val=initial_val,
    )
