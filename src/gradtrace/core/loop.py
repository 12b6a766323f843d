"""The training loop: one compiled ``lax.scan`` over the steps, recording each one.

``prepare`` builds and compiles the scan for a problem, an optimizer and a schedule;
``run_chunks`` runs it a chunk of steps at a time (one call for a short run), so that
a caller can show progress and keep what was done if it is stopped; ``assemble``
turns the chunks into a :class:`History`. Everything a step needs comes in as
arguments and everything it produces goes out as data.

Divergence: once the loss, a gradient, a new parameter or the full-data loss is not
finite, the run stops at that step. The step itself is recorded; later steps are
skipped (``lax.cond``), and the history ends with it.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
from jax import Array

from gradtrace.core import batches, compiler, metrics, plateau, transforms
from gradtrace.core.arrays import to_device
from gradtrace.core.bijections import to_constrained, to_unconstrained, within
from gradtrace.core.catalog import Model
from gradtrace.core.losses import LossLike, reduce, row_losses
from gradtrace.core.models import UNROLLED_COLUMNS, Params, column_sums
from gradtrace.core.optimizers import OptimizerSpec

#: Parameter values up to which ``Problem.value_and_grad`` takes one forward-mode
#: tangent per value (one pass over the rows) instead of reverse mode.
ONE_PASS_PARAMS = 16


class Point(NamedTuple):
    """``Problem.point``: the trainable parameters as the loss takes them, and
    their tangents along each of the optimizer's values (stacked on a first axis;
    None where the gradient is taken in reverse mode)."""

    values: Params
    directions: Params | None


@dataclass(frozen=True)
class Problem:
    """What is minimised: a model, a per-row loss and its reduction.

    ``trainable`` names the parameters that are trained; any other parameter is
    held fixed. Parameters are stored in ``param_dtype``; the loss is computed in
    ``compute_dtype`` (PyTorch computes a float64 parameter's loss in float32 when
    the data are float32).
    """

    model: Model
    loss: LossLike
    reduction: str
    trainable: tuple[str, ...]
    param_dtype: str = "float32"
    compute_dtype: str = "float32"
    #: (name, constraint) of the trainable parameters
    constraints: tuple[tuple[str, str], ...] = ()
    #: train log(positive) and logit(unit) values instead of the values themselves
    unconstrained: bool = False
    metrics: tuple[str, ...] = ()

    def user_params(self, internal: Params) -> Params:
        """The parameters as the user sees them, from the optimizer's values."""
        if not self.unconstrained:
            return internal
        c = dict(self.constraints)
        return {k: to_constrained(v, c.get(k, "real")) for k, v in internal.items()}

    def internal_params(self, user: Any) -> Any:
        """The optimizer's values from the user's (log or logit when unconstrained)."""
        if not self.unconstrained:
            return user
        c = dict(self.constraints)
        return {k: to_unconstrained(v, c.get(k, "real")) for k, v in user.items()}

    def within(self, user: Params) -> Array:
        """Whether every trainable parameter lies in its constraint's set."""
        checks = [within(user[k], c) for k, c in self.constraints if k in user]
        return jnp.all(jnp.stack(checks)) if checks else jnp.asarray(True)

    def _params(self, trainable: Params, fixed: Params) -> Params:
        dtype = jnp.dtype(self.compute_dtype)
        merged = {**self.user_params(trainable), **fixed}
        return {k: v.astype(dtype) for k, v in merged.items()}

    def objective(
        self,
        trainable: Params,
        fixed: Params,
        x: Array | None,
        y: Array,
        mask: Array | None = None,
    ) -> Array:
        """The reduced loss of rows (x, y) at ``trainable`` + ``fixed`` parameters
        (``trainable`` as the optimizer holds them)."""
        rows = row_losses(self.model, self.loss, self._params(trainable, fixed), x, y)
        return reduce(rows, mask, self.reduction)

    def point(self, trainable: Params) -> Point:
        """The trainable parameters as the rows' loss takes them (the user's
        values, in the compute dtype), and their derivatives with respect to each
        of the optimizer's values: what ``value_and_grad`` needs of ``trainable``.

        A training step computes it after its update, from the new values, for the
        next step: XLA:CPU otherwise converts a float64 parameter to float32 (or
        takes the exp of a log-scale) inside the loop over the rows, once per row
        (seed 002: 4.9 -> 3.1 us a step). Differentiating through it gives the
        same numbers as through the whole loss (the chain rule, in the same
        operations)."""
        flat, unravel = jax.flatten_util.ravel_pytree(trainable)

        def compute(values: Array) -> Params:
            return self._params(unravel(values), {})

        if flat.size > ONE_PASS_PARAMS or flat.size == 0:
            return Point(compute(flat), None)
        return Point(
            *jax.vmap(lambda d: jax.jvp(compute, (flat,), (d,)), out_axes=(None, 0))(
                jnp.eye(flat.size, dtype=flat.dtype)
            )
        )

    def value_and_grad(
        self,
        trainable: Params,
        fixed: Params,
        x: Array | None,
        y: Array,
        mask: Array | None = None,
        reduction: str | None = None,
        at: Point | None = None,
    ) -> tuple[Array, Params]:
        """``objective`` and its gradient, computed in one pass over the rows
        (``reduction`` overrides the problem's: "sum" gives ``summed``'s).

        Reverse-mode differentiation of the reduced loss writes the per-row
        residuals to memory and then reduces them once for the loss and once more
        for each gradient component. Here each row's loss and its derivatives with
        respect to every parameter are computed together (forward mode, one tangent
        per parameter) and summed in one reduction over the rows: the per-row
        values are read back once, not once per output. (A sweep of 1000 rates x
        200 steps on 10000 rows: 0.67 s -> 0.40 s; a single run whose rows sit in
        the cache gains little.) The sum is taken before the mean's division, so
        the gradient can differ from reverse mode's by float rounding. Problems
        with more than ``ONE_PASS_PARAMS`` parameter values fall back to reverse
        mode, whose cost does not grow with their number, and so do rows of x with
        several columns (``x_columns``). ``at``: ``point`` of ``trainable``,
        computed already."""
        flat, unravel = jax.flatten_util.ravel_pytree(trainable)
        reduction = reduction or self.reduction
        if flat.size > ONE_PASS_PARAMS or flat.size == 0:
            whole = self.objective if reduction == self.reduction else self.summed
            return jax.value_and_grad(whole)(trainable, fixed, x, y, mask)
        at = self.point(trainable) if at is None else at
        assert at.directions is not None  # one tangent per value, up to the limit
        held = self._params({}, fixed)
        if x_columns(x) > 1:
            value, total = _reverse_at(self, held, at, x, y, mask, reduction)
            return value, unravel(total.astype(flat.dtype))

        def rows_at(values: Params) -> Array:
            return row_losses(self.model, self.loss, {**held, **values}, x, y)

        def tangent(direction: Params) -> tuple[Array, Array]:
            return jax.jvp(rows_at, (at.values,), (direction,))

        rows, tangents = jax.vmap(tangent, out_axes=(None, 0))(at.directions)
        parts = [rows[None], tangents.astype(rows.dtype)]
        # the mean's count of rows in the same reduction (a second one cost 2 us of
        # a 5 us step on 4096 rows), where the dtype counts that many rows exactly
        exact_up_to = 2 ** (jnp.finfo(rows.dtype).nmant + 1)
        counted = (
            mask is not None and reduction == "mean" and rows.shape[0] <= exact_up_to
        )
        if counted:
            parts.append(jnp.ones((1, rows.shape[0]), rows.dtype))
        stacked = jnp.concatenate(parts)
        if mask is not None:
            stacked = jnp.where(mask, stacked, jnp.zeros_like(stacked))
        sums = jnp.sum(stacked, axis=1)
        if counted:
            sums = sums[:-1] / sums[-1]
        elif reduction == "mean":
            count = y.shape[0] if mask is None else jnp.sum(mask)
            sums = sums / jnp.asarray(count, sums.dtype)
        return sums[0], unravel(sums[1 : 1 + flat.size].astype(flat.dtype))

    def summed(
        self,
        trainable: Params,
        fixed: Params,
        x: Array | None,
        y: Array,
        mask: Array | None = None,
    ) -> Array:
        """The sum of the per-row losses of the rows ``mask`` marks, whatever the
        reduction: what block-by-block and chunk-by-chunk passes add up."""
        rows = row_losses(self.model, self.loss, self._params(trainable, fixed), x, y)
        return reduce(rows, mask, "sum")

    def metric_stats(
        self,
        trainable: Params,
        fixed: Params,
        x: Array | None,
        y: Array,
        mask: Array | None = None,
        at: Point | None = None,
    ) -> Array:
        """The metrics' sufficient statistics over rows (x, y), one vector
        (``at``: as in ``value_and_grad``)."""
        if at is None:
            params = self._params(trainable, fixed)
        else:
            params = {**self._params({}, fixed), **at.values}
        return metrics.stats(self.metrics, self.model, params, x, y, mask)


def x_columns(x: Any) -> int:
    """x's columns: 0 without x, 1 for a vector.

    XLA:CPU reads a column of a matrix x value by value in the loop that one
    forward-mode pass over the rows fuses into one, where it reads a vector in
    whole registers: a full-batch step of a two-column linear model on 4 million
    float32 rows took 43 ms that way, 12 ms in reverse mode (whose products with x
    are matrix-vector products), against 3 ms for one column in one pass. Reverse
    mode was no slower for such models on mini-batches either (batches of 32 and
    4096 of three columns), so it takes every x of several columns."""
    if x is None:
        return 0
    return math.prod(x.shape[1:])


def _reverse_at(
    problem: Problem,
    held: Params,
    at: Point,
    x: Any,
    y: Array,
    mask: Array | None,
    reduction: str,
) -> tuple[Array, Array]:
    """``Problem.value_and_grad`` in reverse mode from ``at``: the loss, and its
    gradient with respect to the values as the rows' loss takes them carried to
    the optimizer's (flat) values by ``at``'s tangents (the chain rule), so that no
    conversion or transform of a parameter runs inside the loop over the rows."""

    def whole(values: Params) -> Array:
        rows = row_losses(problem.model, problem.loss, {**held, **values}, x, y)
        return reduce(rows, mask, reduction)

    value, grads = jax.value_and_grad(whole)(at.values)
    assert at.directions is not None
    total = sum(
        jnp.tensordot(
            at.directions[name].reshape(at.directions[name].shape[0], -1),
            grads[name].reshape(-1).astype(at.directions[name].dtype),
            axes=1,
        )
        for name in grads
    )
    return value, jnp.asarray(total)


@dataclass(frozen=True)
class Schedule:
    """How the data are visited: batch size, number of steps, shuffling, and how
    often the loss over all the data is evaluated (``eval_every`` steps, and always
    after the last)."""

    n_rows: int
    batch_size: int
    n_steps: int
    #: True, False, batches.TORCH (PyTorch DataLoader's order) or batches.KERAS
    shuffle: bool | str = False
    eval_every: int = 1
    #: an epoch's last partial batch left out (PyTorch's drop_last)
    drop_last: bool = False

    @property
    def batches_per_epoch(self) -> int:
        return batches.n_batches(self.n_rows, self.batch_size, self.drop_last)

    @property
    def full_batch(self) -> bool:
        """Every step sees all the data: no batching, no shuffling needed."""
        return self.batch_size >= self.n_rows


class History(NamedTuple):
    """Every step of a run, as NumPy arrays with a leading step axis.

    params: values after each step. grads: the gradient each step used. batch_loss:
    the loss of the step's batch at the parameters before the update. loss: the loss
    over all the data at the parameters after the step (NaN where not evaluated).
    epoch, batch: 1-based. batch_rows: real rows in the batch.
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    batch_loss: np.ndarray
    loss: np.ndarray
    epoch: np.ndarray
    batch: np.ndarray
    batch_rows: np.ndarray
    initial_loss: float
    diverged_step: int | None
    compile_s: float
    train_s: float
    #: the metrics' sufficient statistics: of each step's batch (before the update),
    #: of all the data after each step (NaN where not evaluated), and at the start
    batch_stats: np.ndarray | None = None
    full_stats: np.ndarray | None = None
    initial_stats: np.ndarray | None = None
    #: a plateau's level at each step, the cuts made before it (its rate is
    #: ``OptimizerSpec.plateau``'s at that level)
    levels: np.ndarray | None = None
    #: with validation data: the loss over them after each step that ends an
    #: epoch or the run (NaN at the other steps), and the metrics' statistics
    #: there; at the start, the loss and statistics over them
    val_loss: np.ndarray | None = None
    val_stats: np.ndarray | None = None
    initial_val: tuple[float, np.ndarray] | None = None


class Prepared(NamedTuple):
    """A compiled run, ready to go."""

    problem: Problem
    schedule: Schedule
    chunk_steps: int
    run_chunk: Any
    evaluate: Any
    carry: Any
    data: tuple[Array | None, Array, Params]
    compile_s: float
    evaluate_stats: Any = None
    #: validation data on the device, (x, y), or None
    validation: Any = None


#: Compiled programs kept for runs of the same configuration, the most recently
#: used first out of ``COMPILED_KEPT``: kept without end, a long session (the
#: test suite's workers) held every program's code mapped, and past the
#: kernel's 65530 memory maps XLA crashed mid-compile
_COMPILED: OrderedDict[Any, Any] = OrderedDict()
COMPILED_KEPT = 64


def _signature(tree: Any) -> Any:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((leaf.shape, str(leaf.dtype)) for leaf in leaves)


def compile_once(key: Any, fn: Any, *args: Any, donate: tuple[int, ...] = ()) -> Any:
    x64 = jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64
    full_key = (key, _signature(args), bool(x64))
    # held here, not read back: another thread may empty the cache meanwhile
    # (a plan that releases the programs, another run's eviction)
    compiled = _COMPILED.get(full_key)
    if compiled is not None:
        with contextlib.suppress(KeyError):
            _COMPILED.move_to_end(full_key)
        return compiled
    compiled = compiler.jit(fn, donate_argnums=donate).lower(*args).compile()
    _COMPILED[full_key] = compiled
    while len(_COMPILED) > COMPILED_KEPT:
        with contextlib.suppress(KeyError):
            _COMPILED.popitem(last=False)
    return compiled


def _all_finite(tree: Any) -> Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


#: Rows (times x's columns) in one block of a blocked full-batch step: its
#: intermediates (residuals, their products) stay in the processor's cache. On 2
#: cores of a Xeon, 100 steps of a line on 10 million rows took 0.62-0.77 s with
#: blocks of 28672-49152 rows, but 1.1-1.2 s with blocks of 57344 rows or more and
#: 1.4-1.7 s with 16384-24576 (XLA:CPU splits a block's work over the two threads
#: by its size, at a cost; on one core every size up to 65536 took 0.63-0.68 s).
BLOCK_ELEMENTS = 40960

#: Values (rows times x's columns) from which a full-batch step goes by blocks: at
#: 100000 rows blocks cost (0.053 -> 0.067 ms a step), at 300000 they pay (0.34 ->
#: 0.21 ms).
BLOCKED_FROM = 1 << 17


def blocks_pay() -> bool:
    """Whether the steps run on the processor, where a full-batch step by blocks
    keeps its intermediates in the cache. On a GPU the loop over blocks runs one
    small block after another: 100 steps of a line on 10^8 rows took 1.53 s on an
    H200 that way, where XLA:GPU's own fused reductions read the data about once
    per step."""
    return bool(jax.default_backend() == "cpu")


def block_rows(n_rows: int, x: Any) -> int:
    """Rows per block for a full-batch step over ``n_rows`` rows, or 0 where blocks
    don't pay: off the processor (``blocks_pay``), or where the data are too few
    (under ``BLOCKED_FROM`` values, or under two blocks)."""
    width = 1 if x is None else max(1, math.prod(x.shape[1:]))
    size = max(4096, BLOCK_ELEMENTS // width)
    many = n_rows * width >= BLOCKED_FROM and n_rows >= 2 * size
    return size if many and blocks_pay() else 0


#: Likelihoods (``nll`` of a model of this family) whose full-batch steps run
#: whole, not by blocks (``blocks_suit``).
WHOLE_FAMILIES = ("bernoulli", "poisson")


def blocks_suit(problem: Problem) -> bool:
    """Whether a full-batch step of ``problem`` goes by blocks (``blocked_step``)
    where the data are many: not for a logistic or Poisson likelihood. Their steps
    ran faster whole, on 5 million rows of one x column and of four: logistic 67
    against 40 ms and 73 against 59 ms, Poisson 159 against 13 ms and 70 against
    40 ms (on 1 million, logistic 13-14 against 6.3 ms). XLA moves what does not
    change from step to step, such as each row's log y! of a Poisson likelihood,
    out of the loop over the steps, but not out of a loop over blocks; and their
    exp and log dwarf what the blocks save in reading the data. Squared error,
    Huber's and a Gaussian likelihood gain from them (one column: 7.7 -> 3.5 ms,
    12.5 -> 6.0 ms, 15.0 -> 5.0 ms)."""
    family = getattr(problem.model, "family", "")
    return not (problem.loss == "nll" and family in WHOLE_FAMILIES)


#: The losses whose full-batch steps over a few x columns add the columns up
#: (``blocked_step``): cheap per row, so XLA:CPU's recomputing the prediction in
#: each of the gradient's sums costs little. Four columns on 4 million rows, a
#: step: squared error 25 -> 16 ms, absolute error 26 -> 16 ms; but Huber's 33 ->
#: 38 ms, a Gaussian likelihood's 28 -> 33 ms, and a logistic likelihood's (on
#: 5 million) 73 -> 300 ms, each exp and log taken once per column.
SUMMED_LOSSES = ("mse", "mae")


def blocked_step(
    problem: Problem,
    params: Params,
    fixed: Params,
    x: Array | None,
    y: Array,
    size: int,
    at: Point | None = None,
) -> tuple[Array, Params, Array]:
    """The loss, its gradient and the metrics' statistics over all the rows, summed
    block by block of ``size`` rows (``at`` as in ``batch_gradient``).

    Differentiating the loss over all rows at once, XLA:CPU writes the residuals to
    memory and reads the data and them again for each gradient component: 10
    million rows of a line made five passes. Here a loop over blocks does all of a
    block's work while it is in the cache, so each step reads the data about once
    (100 full-batch steps of a line on 10 million rows: 1.3 s -> 0.6 s). The blocks
    are slices; the last one ends at the last row and masks the rows that the one
    before it already covered. Losses are per-row sums, so a mean is the sum over
    n; the sum differs from a one-pass sum only by float rounding.

    With a few x columns (``models.UNROLLED_COLUMNS``) and a loss of
    ``SUMMED_LOSSES``, the model adds x's scaled columns up in the loop
    (``models.column_sums``), whose blocks are then whole
    and unmasked: the last block, where ``size`` does not divide the rows, is
    computed apart, after the loop (a mask in every block kept XLA:CPU from fusing
    those sums: four columns on 4 million rows, 25 -> 16 ms a step). Other data
    keep one loop over masked blocks, a smaller program to compile."""
    n = y.shape[0]
    few = x is not None and x.ndim == 2 and 1 < x.shape[1] <= UNROLLED_COLUMNS
    split = few and isinstance(problem.loss, str) and problem.loss in SUMMED_LOSSES
    n_stats = metrics.n_stats(problem.metrics)

    def block(i: Array, acc: Any, masked: bool) -> Any:
        xb, yb, overlap = batches.contiguous(i, size, n, x, y)
        mask = overlap if masked else None
        value, grad = problem.value_and_grad(params, fixed, xb, yb, mask, "sum", at)
        stats = (
            problem.metric_stats(params, fixed, xb, yb, mask, at)
            if n_stats
            else jnp.zeros(0, yb.dtype)
        )
        return jax.tree_util.tree_map(jnp.add, acc, (value, grad, stats))

    def body(i: Array, acc: Any) -> Any:
        if not split:
            return block(i, acc, masked=True)
        with column_sums():  # rows sliced in place, unmasked
            return block(i, acc, masked=False)

    dtype = jnp.dtype(problem.compute_dtype)
    zero = (
        jnp.zeros((), dtype),
        jax.tree_util.tree_map(jnp.zeros_like, params),
        jnp.zeros(n_stats, dtype),
    )
    if split:
        acc = jax.lax.fori_loop(0, n // size, body, zero)
        if n % size:
            acc = block(jnp.asarray(n // size), acc, masked=True)
    else:
        acc = jax.lax.fori_loop(0, -(-n // size), body, zero)
    total, grad, stats = acc
    if problem.reduction == "mean":
        total = total / n
        grad = jax.tree_util.tree_map(lambda g: g / jnp.asarray(n, g.dtype), grad)
    if not n_stats:
        stats = jnp.full((0,), jnp.nan, dtype)
    return total, grad, stats


#: Rows per step up to which a step is computed even when it is skipped (past the
#: last step, or after divergence) rather than put under a conditional.
CHEAP_ROWS = 1 << 16


def batch_gradient(
    problem: Problem,
    params: Params,
    fixed: Params,
    x: Array | None,
    y: Array,
    mask: Array | None,
    at: Point | None = None,
) -> tuple[Array, Params, Array]:
    """A batch's loss, its gradient and the metrics' statistics (an empty vector
    when there are no metrics); ``at``: ``problem.point(params)``, computed
    already."""
    loss, grads = problem.value_and_grad(params, fixed, x, y, mask, at=at)
    if metrics.n_stats(problem.metrics):
        stats = problem.metric_stats(params, fixed, x, y, mask, at=at)
    else:
        stats = jnp.full((0,), jnp.nan, problem.compute_dtype)
    return loss, grads, stats


def apply_update(
    problem: Problem,
    tx: Any,
    params: Params,
    opt_state: Any,
    loss: Array,
    grads: Any,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Params, Any, Params, Array]:
    """One optimizer update: the new parameters and state, the parameters as the
    user sees them, and whether the step is sound (loss and new values finite, and
    the values within their constraints). A gradient that is not finite makes the
    new values so, except where clipping by value bounds it: PyTorch's
    ``clip_grad_value_`` and Keras's ``clipvalue`` then take a finite step, and so
    does the run. ``extra``: what a plateau's update takes (``core.plateau``)."""
    updates, new_state = tx.update(grads, opt_state, params, **(extra or {}))
    new_params = transforms.apply_updates(params, updates)
    shown = problem.user_params(new_params)
    ok = jnp.isfinite(loss) & _all_finite(new_params)
    if not problem.unconstrained:
        ok = ok & problem.within(shown)
    return new_params, new_state, shown, ok


#: Most steps in a group (see ``group_steps``).
GROUP_STEPS = 64


def group_steps(schedule: Schedule, chunk_steps: int) -> int:
    """Steps in a group of a mini-batch run's scan: the loss over all the data is
    due only at a group's last step, so it is put under one conditional a group
    instead of one a step (XLA:CPU's conditional cost ~2 us, as much as a step of
    4096 rows). Groups sit at multiples of their size from step 0, so the size
    divides ``eval_every`` (where evaluations fall inside the run); the run's last
    step may end a group early (the steps after it are skipped)."""
    if schedule.full_batch:
        return 1  # no evaluation of its own: the next step's batch loss is it
    every, n_steps = schedule.eval_every, schedule.n_steps
    sizes = [
        d
        for d in range(1, min(GROUP_STEPS, chunk_steps) + 1)
        if every >= n_steps or every % d == 0
    ]
    if chunk_steps >= min(n_steps, 4096):
        # one chunk, or long ones: a group cut by a chunk's start or end computes
        # its steps outside the chunk and drops them, a few per cent at most
        return max(sizes)
    # short chunks (frequent checkpoints): groups that tile them exactly
    return max(d for d in sizes if chunk_steps % d == 0)


def _chunk_fn(
    problem: Problem,
    opt: OptimizerSpec,
    schedule: Schedule,
    chunk_steps: int,
    group: int,
) -> Any:
    per_epoch = schedule.batches_per_epoch
    bs = schedule.batch_size
    eval_each_step = not schedule.full_batch
    # a plateau that watches the validation loss takes it at each epoch's start
    watch_val = opt.watches_validation
    n_stats = metrics.n_stats(problem.metrics)
    cheap = min(schedule.batch_size, schedule.n_rows) <= CHEAP_ROWS
    # a plateau: each step's level (the cuts before it) is an output of its own
    levels = opt.plateau
    # groups from the one holding t0 to the one holding the chunk's last step
    n_groups = -(-(group - 1 + chunk_steps) // group)

    def rate_of(opt_state: Any) -> list[Array]:
        """A plateau's level for the step, the cuts made before it, from
        ``opt_state`` (None: a skipped step's, -1), as a list of one; none for
        another schedule."""
        if levels is None:
            return []
        if opt_state is None:
            return [jnp.asarray(-1, jnp.int32)]
        return [plateau.level(opt_state)]

    def chunk(carry, t0, x, y, fixed, key, rows, val, lr):  # type: ignore[no-untyped-def]
        # the learning rate an input (None: a constant of the program), so that
        # a run at another rate runs the same compiled program
        tx = opt.build(lr)
        nan = jnp.asarray(jnp.nan, problem.compute_dtype)
        no_stats = jnp.full((n_stats,), jnp.nan, problem.compute_dtype)
        t_end = jnp.minimum(t0 + chunk_steps, schedule.n_steps)

        def step(carry, t):  # type: ignore[no-untyped-def]
            (params, opt_state, stopped), at = carry
            active = (t >= t0) & (t < t_end) & ~stopped
            epoch, b = t // per_epoch, t % per_epoch

            def run(_):  # type: ignore[no-untyped-def]
                if schedule.full_batch:
                    xb, yb, mask = x, y, rows
                elif not schedule.shuffle and rows is None:
                    xb, yb, mask = batches.contiguous(b, bs, schedule.n_rows, x, y)
                else:
                    picked = batches.epoch_batch(
                        key, epoch, b, schedule.n_rows, bs, schedule.shuffle
                    )
                    xb, yb, mask = batches.gather(picked, x, y)
                block = block_rows(schedule.n_rows, x) if blocks_suit(problem) else 0
                if schedule.full_batch and rows is None and block:
                    loss, grads, stats = blocked_step(
                        problem, params, fixed, x, y, block, at
                    )
                else:
                    loss, grads, stats = batch_gradient(
                        problem, params, fixed, xb, yb, mask, at
                    )
                extra: dict[str, Any] = {}
                if levels is not None:  # the epoch's loss, judged at its end
                    rows_b = jnp.minimum(bs, schedule.n_rows - b * bs)
                    extra = {
                        "loss": loss,
                        "rows": rows_b,
                        "epoch_end": b == per_epoch - 1,
                    }
                if watch_val:  # the epoch before's validation loss, judged now
                    starts = (b == 0) & (t > 0)
                    extra["epoch_start"] = starts
                    extra["val_loss"] = jax.lax.cond(
                        starts,
                        lambda: problem.objective(params, fixed, *val, None),
                        lambda: nan,
                    )
                new_params, new_state, shown, ok = apply_update(
                    problem, tx, params, opt_state, loss, grads, extra
                )
                # the level this step's update took: the state's before it, or
                # after the judgment it made first
                took = new_state if watch_val else opt_state
                out = (shown, grads, loss, stats, *rate_of(took))
                return new_params, new_state, problem.point(new_params), out, ~ok

            def skip(_):  # type: ignore[no-untyped-def]
                zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
                shown = problem.user_params(params)
                out = (shown, zeros, nan, no_stats, *rate_of(None))
                return params, opt_state, at, out, jnp.asarray(False)

            if cheap:
                # a small step costs less than XLA:CPU's conditional around it
                # (seed 002: 7.7 -> 6.6 us a step); a skipped step is computed and
                # its results dropped
                new_params, new_state, at, out, bad = jax.tree_util.tree_map(
                    lambda a, b: jnp.where(active, a, b), run(None), skip(None)
                )
            else:
                new_params, new_state, at, out, bad = jax.lax.cond(
                    active, run, skip, None
                )
            carry = ((new_params, new_state, stopped | bad), at)
            shown, grads, loss, stats, *rate = out
            return carry, (shown, grads, loss, active, stats, *rate)

        def evaluate(carry, active, g0):  # type: ignore[no-untyped-def]
            """The loss over all the data after the group's last step that ran,
            where it is due there; a non-finite one stops the run."""
            (params, opt_state, stopped), at = carry
            last = group - 1 - jnp.argmax(active[::-1])
            t = g0 + last
            due = jnp.any(active) & (
                ((t + 1) % schedule.eval_every == 0) | (t == schedule.n_steps - 1)
            )
            full, full_stats = jax.lax.cond(
                due,
                lambda: (
                    problem.objective(params, fixed, x, y, rows),
                    problem.metric_stats(params, fixed, x, y, rows)
                    if n_stats
                    else no_stats,
                ),
                lambda: (nan, no_stats),
            )
            here = due & (jnp.arange(group) == last)
            full = jnp.where(here, full, nan)
            full_stats = jnp.where(here[:, None], full_stats[None], no_stats[None])
            stopped = stopped | (due & ~jnp.isfinite(full[last]))
            return ((params, opt_state, stopped), at), full, full_stats

        def one_group(carry, g0):  # type: ignore[no-untyped-def]
            carry, (shown, grads, loss, active, stats, *rate) = jax.lax.scan(
                step, carry, g0 + jnp.arange(group, dtype=jnp.int32)
            )
            if eval_each_step:
                carry, full, full_stats = evaluate(carry, active, g0)
            else:
                full = jnp.full((group,), jnp.nan, problem.compute_dtype)
                full_stats = jnp.full((group, n_stats), jnp.nan, full.dtype)
            return carry, (shown, grads, loss, full, active, stats, full_stats, *rate)

        def idle_group(carry, g0):  # type: ignore[no-untyped-def]
            """A group with no step to run (before the chunk, after it, or after
            the run stopped): its rows, skipped, without computing its steps."""
            params = carry[0][0]

            def tiled(a: Array) -> Array:
                return jnp.broadcast_to(a, (group, *jnp.shape(a)))

            shown = jax.tree_util.tree_map(tiled, problem.user_params(params))
            zeros = jax.tree_util.tree_map(lambda a: tiled(jnp.zeros_like(a)), params)
            nans = jnp.full((group,), jnp.nan, problem.compute_dtype)
            no_stats = jnp.full((group, n_stats), jnp.nan, problem.compute_dtype)
            idle = jnp.zeros((group,), bool)
            rate = [] if levels is None else [jnp.full((group,), -1, jnp.int32)]
            return carry, (shown, zeros, nans, nans, idle, no_stats, no_stats, *rate)

        def group_or_idle(carry, g0):  # type: ignore[no-untyped-def]
            runs = (g0 + group > t0) & (g0 < t_end) & ~carry[0][2]
            return jax.lax.cond(runs, one_group, idle_group, carry, g0)

        # the steps carry the next step's ``Problem.point`` along
        carry = (carry, problem.point(carry[0]))
        if group == 1:
            carry, outs = jax.lax.scan(
                one_group, carry, t0 + jnp.arange(chunk_steps, dtype=jnp.int32)
            )
            return carry[0], jax.tree_util.tree_map(lambda a: a[:, 0], outs)
        base = t0 - t0 % group
        starts = base + group * jnp.arange(n_groups, dtype=jnp.int32)
        carry, outs = jax.lax.scan(group_or_idle, carry, starts)

        def steps_of_chunk(a: Array) -> Array:
            a = a.reshape(n_groups * group, *a.shape[2:])
            return jax.lax.dynamic_slice_in_dim(a, t0 - base, chunk_steps, axis=0)

        return carry[0], jax.tree_util.tree_map(steps_of_chunk, outs)

    return chunk


def prepare(
    problem: Problem,
    opt: OptimizerSpec,
    schedule: Schedule,
    init: dict[str, Any],
    fixed: dict[str, Any],
    x: Any,
    y: Any,
    seed: int = 0,
    chunk_steps: int | None = None,
    devices: int = 1,
    validation: tuple[Any, Any] | None = None,
    overlap: bool = False,
) -> Prepared:
    """Place the data, build the scan and compile it (cached by configuration and
    shapes, so a second identical run does not compile again).

    With ``devices`` > 1, the rows are split across that many devices (padded to a
    multiple of it, the padding masked out): each step's batch is spread over them
    and XLA reduces the gradients across devices. ``validation``: rows (x, y)
    held out of training, whose loss ``assemble`` takes after each epoch.
    ``overlap``: compile the full-data loss and the optimizer's first state on a
    second thread while this one compiles the scan (XLA releases the interpreter
    while it compiles; seed 002: 40 ms of 1.25 s), for small data with no user
    code to trace (compilations side by side add up their memory)."""
    # set up in NumPy and placed on the device as they are: a JAX operation run on
    # its own compiles a program of its own (~10-30 ms each)
    pdtype, cdtype = jnp.dtype(problem.param_dtype), jnp.dtype(problem.compute_dtype)
    user = {k: np.asarray(init[k], pdtype) for k in problem.trainable}
    params = jax.device_put(
        {k: np.asarray(v, pdtype) for k, v in problem.internal_params(user).items()}
    )
    fixed_p = jax.device_put({k: np.asarray(v, pdtype) for k, v in fixed.items()})
    xd, yd, rows = place(x, y, cdtype, devices)
    chunk_steps = min(chunk_steps or schedule.n_steps, schedule.n_steps)
    key = order_key(schedule, seed, chunk_steps, 0, drawn=False)
    tx = opt.build()
    held_out = None
    if validation is not None:
        held_out = place(*validation, cdtype, 1)[:2]
    start = time.perf_counter()
    side = _Side(overlap)

    def over_all_rows(key: str, fn: Any) -> Future[Any]:
        """``fn`` of (parameters, fixed, x, y, rows) over all the data, compiled."""
        args = (params, fixed_p, xd, yd, rows)
        return side.run(compile_once, (key, problem, devices), fn, *args)

    evaluated = over_all_rows("eval", problem.objective)
    stats = over_all_rows("stats", problem.metric_stats) if problem.metrics else None
    # the optimizer's first state, run eagerly, compiles a program per operation
    # (~10 ms each); the scan compiles against its shapes meanwhile. Kept by
    # configuration (30-50 ms a fit): a jit of ``tx.init``, a new function each
    # run, compiles again every time
    state = side.run(
        lambda: compile_once(("init", opt), tx.init, params)(params),
    )
    side.close()
    # (parameters, optimizer state, stopped); each step draws its batch's rows
    # itself (``batches.epoch_batch``), so no row order is carried
    stopped = jax.device_put(np.asarray(False))
    shapes = (params, jax.eval_shape(tx.init, params), stopped)
    group = group_steps(schedule, chunk_steps)
    # the rate in the parameters' dtype, as the update rules cast it: another
    # --lr then runs the same program, compiled or found in the cache
    lr = np.asarray(opt.learning_rate, pdtype) if opt.rate_as_input else None
    cached_opt = opt.any_rate() if opt.rate_as_input else opt
    compiled = compile_once(
        ("chunk", problem, cached_opt, schedule, chunk_steps, group, devices),
        _chunk_fn(problem, cached_opt, schedule, chunk_steps, group),
        shapes,
        np.int32(0),
        xd,
        yd,
        fixed_p,
        key,
        rows,
        held_out,
        lr,
        # donated: the carry is updated in place instead of copied at every call
        donate=(0,),
    )
    run_chunk = WithRows(compiled, rows, held_out, lr)
    evaluate = WithRows(evaluated.result(), rows)
    evaluate_stats = None if stats is None else WithRows(stats.result(), rows)
    carry = (params, state.result(), stopped)
    compile_s = time.perf_counter() - start
    return Prepared(
        problem,
        schedule,
        chunk_steps,
        run_chunk,
        evaluate,
        carry,
        (xd, yd, fixed_p),
        compile_s,
        evaluate_stats,
        held_out,
    )


class _Side:
    """Work for a second thread, when ``overlap``, else done at once: ``run`` gives
    a future either way, ``close`` says all is given. The thread keeps the caller's
    float64 setting (JAX's is per thread)."""

    def __init__(self, overlap: bool) -> None:
        self.pool = ThreadPoolExecutor(1, "gradtrace-compile") if overlap else None
        self.x64 = bool(jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64)

    def run(self, fn: Any, *args: Any) -> Future[Any]:
        if self.pool is None:
            done: Future[Any] = Future()
            done.set_result(fn(*args))
            return done

        def work() -> Any:
            with jax.enable_x64(self.x64):
                return fn(*args)

        return self.pool.submit(work)

    def close(self) -> None:
        """No more work: the thread ends when what it has is done."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)


class WithRows:
    """A compiled function of (..., data) called with the row mask appended (and
    ``more``: the validation data a run's steps take)."""

    def __init__(self, compiled: Any, rows: Any, *more: Any) -> None:
        self.compiled, self.rows, self.more = compiled, rows, more
        self.out_tree = compiled.out_tree

    def __call__(self, *args: Any) -> Any:
        return self.compiled(*args, self.rows, *self.more)


def place(x: Any, y: Any, dtype: Any, devices: int) -> tuple[Any, Any, Any]:
    """The data on the device(s): on one device as they are (no mask); split by rows
    across ``devices`` devices, padded with zeros to a multiple of it, with a mask
    of the real rows."""
    if devices <= 1:
        return (None if x is None else to_device(x, dtype)), to_device(y, dtype), None
    xd = None if x is None else jnp.asarray(x, dtype)
    yd = jnp.asarray(y, dtype)
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    # Auto: XLA decides how a step's gathered batch and its reductions are split
    mesh = jax.make_mesh(
        (devices,),
        ("rows",),
        devices=jax.devices()[:devices],
        axis_types=(AxisType.Auto,),
    )
    n = len(y)
    pad = (-n) % devices

    def put(a: Any) -> Any:
        a = jnp.concatenate([a, jnp.zeros((pad, *a.shape[1:]), a.dtype)])
        spec = P("rows", *([None] * (a.ndim - 1)))
        return jax.device_put(a, NamedSharding(mesh, spec))

    rows = put(jnp.ones(n, bool))
    return (None if xd is None else put(xd)), put(yd), rows


class Chunk(NamedTuple):
    """The outputs of one chunk of steps, moved to NumPy."""

    t0: int
    outputs: Any
    seconds: float
    stopped: bool
    carry: Any = None


def run_chunks(
    prepared: Prepared, seed: int = 0, resume: Resume | None = None
) -> Iterator[Chunk]:
    """Run the compiled scan chunk by chunk; stops early once the run diverged.

    With ``resume``, start from a saved state at its step instead of the start."""
    xd, yd, fixed = prepared.data
    carry, first = prepared.carry, 0
    if resume is not None:
        carry, first = resume.carry, resume.t0
    n_steps, size = prepared.schedule.n_steps, prepared.chunk_steps
    for t0 in range(first, n_steps, size):
        start = time.perf_counter()
        key = order_key(prepared.schedule, seed, size, t0)
        carry, out = prepared.run_chunk(carry, np.int32(t0), xd, yd, fixed, key)
        out = jax.device_get(out)
        seconds = time.perf_counter() - start
        stopped = bool(carry[2])
        # a copy on the host: the next call takes the device carry over (donated)
        kept = jax.tree_util.tree_map(lambda a: np.array(a, copy=True), carry)
        yield Chunk(t0, out, seconds, stopped, kept)
        if stopped:
            return


def order_key(
    schedule: Schedule, seed: int, chunk_steps: int, t0: int, drawn: bool = True
) -> Any:
    """What the call of the scan that starts at step ``t0`` draws its batches
    from: ``seed``'s PRNG key, or with a framework's order (``shuffle`` TORCH or
    KERAS) its orders of the epochs its steps fall in (as many for every call, so
    that one compiled program runs them all: 40 MB an epoch at 10 million rows;
    ``torch_calls`` keeps calls to a few epochs). ``drawn`` False: their shapes
    alone, to compile against."""
    if schedule.shuffle not in batches.FRAMEWORK_ORDERS or schedule.full_batch:
        return batches.seed_key(seed)
    per_epoch = schedule.batches_per_epoch
    epochs = -(-schedule.n_steps // per_epoch)
    count = min((chunk_steps - 1) // per_epoch + 2, epochs)
    if schedule.shuffle == batches.KERAS:
        count = 1  # every epoch in the first's order: one for them all
    if not drawn:
        scalar = jax.ShapeDtypeStruct((), jnp.int32)
        table = jax.ShapeDtypeStruct((1, count, schedule.n_rows), jnp.int32)
        return batches.Orders(scalar, table, scalar)
    return batches.order_source(
        schedule.shuffle, seed, schedule.n_rows, t0 // per_epoch, count
    )


#: Rows (epochs x rows) of PyTorch's orders one call of a run takes at most
#: (16 MB), where a call of more steps would span more epochs
TORCH_CALL_VALUES = 1 << 22


def torch_calls(schedule: Schedule, chunk_steps: int) -> int:
    """``chunk_steps`` for a run that takes a framework's order: at most the steps
    of as many epochs as ``TORCH_CALL_VALUES`` holds (one at least). Keras's
    order is one epoch's, whatever the call's steps."""
    if schedule.shuffle != batches.TORCH or schedule.full_batch:
        return chunk_steps
    epochs = max(1, TORCH_CALL_VALUES // max(schedule.n_rows, 1))
    return max(1, min(chunk_steps, epochs * schedule.batches_per_epoch))


class Resume(NamedTuple):
    """Where a run stopped: the scan's carry before step ``t0``, and the outputs of
    the steps before it (one chunk; None for a run whose trace was written in
    parts)."""

    carry: Any
    t0: int
    done: Chunk | None


def carry_arrays(carry: Any) -> dict[str, np.ndarray]:
    """A scan carry's leaves as named arrays (``carry_0``, ...) for ``state.npz``."""
    leaves = jax.tree_util.tree_leaves(jax.device_get(carry))
    return {f"carry_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}


def carry_from(template: Any, state: Mapping[str, np.ndarray]) -> Any:
    """The carry that ``carry_arrays`` saved, shaped and typed as ``template`` (a
    ValueError if the saved arrays do not fit it); PRNG keys are the template's."""
    leaves, tree = jax.tree_util.tree_flatten(template)
    misfit = ValueError("the saved state does not fit this run's configuration")
    names = [f"carry_{i}" for i in range(len(leaves))]
    if any(k not in state for k in names) or f"carry_{len(leaves)}" in state:
        raise misfit
    restored = []
    for name, like in zip(names, leaves, strict=True):
        if np.shape(state[name]) != np.shape(like):
            raise misfit
        if jax.dtypes.issubdtype(like.dtype, jax.dtypes.prng_key):
            restored.append(like)
        else:
            restored.append(jnp.asarray(state[name], like.dtype))
    return jax.tree_util.tree_unflatten(tree, restored)


def save_state(chunks: list[Chunk], outputs: bool = True) -> dict[str, np.ndarray]:
    """The state that continues a run after ``chunks``: the carry, the next step and
    (with ``outputs``) every output so far, as named NumPy arrays (for
    ``state.npz``)."""
    last = chunks[-1]
    out: dict[str, np.ndarray] = {
        "t0": np.asarray(last.t0 + len(last.outputs[2])),
        "seconds": np.asarray(sum(c.seconds for c in chunks)),
        **carry_arrays(last.carry),
    }
    if outputs:
        joined = _join([c.outputs for c in chunks])
        for i, leaf in enumerate(jax.tree_util.tree_leaves(joined)):
            out[f"out_{i}"] = np.asarray(leaf)
    return out


def start_state(prepared: Prepared) -> dict[str, np.ndarray]:
    """``save_state``'s arrays before the first step (no outputs): a run to go on
    from its start. Taken before ``run_chunks``, which gives the carry away."""
    return {
        "t0": np.asarray(0),
        "seconds": np.asarray(0.0),
        **carry_arrays(prepared.carry),
    }


def load_state(prepared: Prepared, state: dict[str, np.ndarray]) -> Resume:
    """A :class:`Resume` from ``save_state``'s arrays, checked against the compiled
    run's structure (a ValueError if they do not fit)."""
    carry = carry_from(prepared.carry, state)
    t0 = int(state["t0"])
    if "out_0" not in state:
        return Resume(carry, t0, None)
    out_tree = prepared.run_chunk.out_tree.children()[1]
    n_out = out_tree.num_leaves
    if any(f"out_{i}" not in state for i in range(n_out)) or f"out_{n_out}" in state:
        raise ValueError("the saved state does not fit this run's configuration")
    outputs = jax.tree_util.tree_unflatten(
        out_tree, [state[f"out_{i}"] for i in range(n_out)]
    )
    done = Chunk(0, tuple(outputs), float(state["seconds"]), bool(carry[2]), carry)
    return Resume(carry, t0, done)


def initial_state(prepared: Prepared, init: dict[str, Any]) -> tuple[float, np.ndarray]:
    """The loss over all the data and the metrics' statistics at the start."""
    problem = prepared.problem
    xd, yd, fixed = prepared.data
    pdtype = jnp.dtype(problem.param_dtype)
    user0 = {k: jnp.asarray(init[k], pdtype) for k in problem.trainable}
    init_p = {k: v.astype(pdtype) for k, v in problem.internal_params(user0).items()}
    initial_loss = float(prepared.evaluate(init_p, fixed, xd, yd))
    initial_stats = np.zeros(0)
    if prepared.evaluate_stats is not None:
        initial_stats = np.asarray(prepared.evaluate_stats(init_p, fixed, xd, yd))
    return initial_loss, initial_stats


def assemble(
    prepared: Prepared,
    chunks: list[Chunk],
    init: dict[str, Any],
    first_step: int = 0,
    lookahead: Chunk | None = None,
    initial: tuple[float, np.ndarray] | None = None,
) -> History:
    """Join chunks into a History that ends at the last step that ran.

    For a part of a run (its trace written a part at a time): ``first_step`` is the
    step (0-based) the chunks start at, ``lookahead`` the chunk after them, if any
    (a full-batch step's loss over all the data is the next step's batch loss), and
    ``initial`` the run's ``initial_state``."""
    problem, schedule = prepared.problem, prepared.schedule
    xd, yd, fixed = prepared.data
    pdtype = jnp.dtype(problem.param_dtype)
    names = problem.trainable
    user0 = {k: jnp.asarray(init[k], pdtype) for k in names}
    initial_loss, initial_stats = initial or initial_state(prepared, init)
    n_stats = metrics.n_stats(problem.metrics)

    levels_o: np.ndarray | None = None
    if chunks:
        joined = _join([c.outputs for c in chunks])
        params_o, grads_o, loss_o, full_o, active_o, stats_o, fstats_o = joined[:7]
        if len(joined) > 7:  # a plateau's rates
            levels_o = joined[7]
    else:  # stopped before the first chunk finished
        empty = {k: np.zeros((0, *np.shape(user0[k])), pdtype) for k in names}
        params_o, grads_o = empty, empty
        loss_o = full_o = np.zeros(0, problem.compute_dtype)
        active_o = np.zeros(0, bool)
        stats_o = fstats_o = np.zeros((0, n_stats), problem.compute_dtype)
        if plateau.find(prepared.carry[1]) is not None:
            levels_o = np.zeros(0, np.int64)
    n_done = int(np.sum(active_o))
    diverged = first_step + n_done if chunks and chunks[-1].stopped else None
    loss = np.array(full_o[:n_done])
    batch_loss = np.asarray(loss_o[:n_done])
    batch_stats = np.asarray(stats_o[:n_done])
    full_stats = np.asarray(fstats_o[:n_done])
    if schedule.full_batch and n_done:
        # With all the data in every batch, the loss after step t is the batch loss of
        # step t+1; only the last step needs an evaluation of its own.
        final_user = {k: np.asarray(params_o[k][n_done - 1]) for k in names}
        final = problem.internal_params(final_user)
        if lookahead is not None:
            after, after_stats = lookahead.outputs[2][0], lookahead.outputs[5][0]
        else:
            after = prepared.evaluate(final, fixed, xd, yd)
            after_stats = None
            if prepared.evaluate_stats is not None:
                after_stats = prepared.evaluate_stats(final, fixed, xd, yd)
        loss = np.append(batch_loss[1:], after).astype(batch_loss.dtype)
        if after_stats is not None:
            last = np.asarray(after_stats, batch_stats.dtype)
            full_stats = np.concatenate([batch_stats[1:], last[None]])
        blown = np.flatnonzero(~np.isfinite(loss))
        if blown.size:  # the run diverged when the loss after a step overflowed
            n_done = int(blown[0]) + 1
            diverged = first_step + n_done
            loss, batch_loss = loss[:n_done], batch_loss[:n_done]
            batch_stats, full_stats = batch_stats[:n_done], full_stats[:n_done]

    steps = first_step + np.arange(n_done)
    per_epoch, bs = schedule.batches_per_epoch, schedule.batch_size
    b = steps % per_epoch
    val_loss = val_stats = initial_val = None
    if prepared.validation is not None:
        params_done = {k: np.asarray(params_o[k][:n_done]) for k in names}
        ends = (b == per_epoch - 1) | (steps == schedule.n_steps - 1)
        val_loss, val_stats = validation_losses(prepared, params_done, ends)
        initial_val = validation_at(prepared, user0)
    return History(
        params={k: np.asarray(params_o[k][:n_done]) for k in names},
        grads={k: np.asarray(grads_o[k][:n_done]) for k in names},
        batch_loss=batch_loss,
        loss=loss,
        epoch=steps // per_epoch + 1,
        batch=b + 1,
        batch_rows=np.minimum(bs, schedule.n_rows - b * bs),
        initial_loss=initial_loss,
        diverged_step=diverged,
        compile_s=prepared.compile_s,
        train_s=sum(c.seconds for c in chunks),
        batch_stats=batch_stats,
        full_stats=full_stats,
        initial_stats=initial_stats,
        levels=None if levels_o is None else np.asarray(levels_o[:n_done], np.int64),
        val_loss=val_loss,
        val_stats=val_stats,
        initial_val=initial_val,
    )


def upto(history: History, steps: int) -> History:
    """``history`` up to its first ``steps`` steps (a run stopped early): the
    steps after them are dropped, a divergence after them with them."""
    if steps >= len(history.batch_loss):
        return history

    def cut(a: Any) -> Any:
        return None if a is None else a[:steps]

    diverged = history.diverged_step
    return history._replace(
        params={k: v[:steps] for k, v in history.params.items()},
        grads={k: v[:steps] for k, v in history.grads.items()},
        batch_loss=history.batch_loss[:steps],
        loss=history.loss[:steps],
        epoch=history.epoch[:steps],
        batch=history.batch[:steps],
        batch_rows=history.batch_rows[:steps],
        diverged_step=diverged if diverged is not None and diverged <= steps else None,
        batch_stats=cut(history.batch_stats),
        full_stats=cut(history.full_stats),
        levels=cut(history.levels),
        val_loss=cut(history.val_loss),
        val_stats=cut(history.val_stats),
    )


#: Parameter sets whose validation loss is taken in one compiled call (a
#: multiple of it: the last call's are padded with the last set).
VAL_BATCH = 64


def _validation_fn(problem: Problem, n_stats: int) -> Any:
    """The loss and the metrics' statistics over the validation rows at each of a
    batch of parameter sets (as the user sees them), one set after another."""

    def one(user: Params, fixed: Params, x: Any, y: Any) -> Any:
        internal = problem.internal_params(user)
        loss = problem.objective(internal, fixed, x, y, None)
        if n_stats:
            stats = problem.metric_stats(internal, fixed, x, y, None)
        else:
            stats = jnp.zeros(0, loss.dtype)
        return loss, stats

    def many(users: Params, fixed: Params, x: Any, y: Any) -> Any:
        return jax.lax.map(lambda u: one(u, fixed, x, y), users)

    return many


def validation_losses(
    prepared: Prepared, params: dict[str, np.ndarray], where: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The loss and the metrics' statistics over the validation rows after the
    steps ``where`` marks (``params``: each step's values as the user sees
    them), NaN at the others: as Keras's ``val_loss``, which it takes with the
    weights at each epoch's end."""
    return held_out_losses(
        prepared.problem, prepared.data[2], prepared.validation, params, where
    )


def held_out_losses(
    problem: Problem,
    fixed: Mapping[str, Any],
    validation: tuple[Any, Any],
    params: dict[str, np.ndarray],
    where: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``validation_losses`` of ``problem`` over ``validation`` (x, y on the
    device) at the sets of ``params`` (a leading axis, the user's values) that
    ``where`` marks, NaN at the others: a run's epochs, or a sweep's
    configurations."""
    n_stats = metrics.n_stats(problem.metrics)
    xv, yv = validation
    n = len(where)
    dtype = np.dtype(problem.compute_dtype)
    loss = np.full(n, np.nan, dtype)
    stats = np.full((n, n_stats), np.nan, dtype)
    at = np.flatnonzero(where)
    if not at.size:
        return loss, stats
    pdtype = np.dtype(problem.param_dtype)
    pad = (-at.size) % VAL_BATCH
    picked = np.concatenate([at, np.full(pad, at[-1])])
    users = {k: np.asarray(v[picked], pdtype) for k, v in params.items()}
    compiled = None
    for i in range(0, picked.size, VAL_BATCH):
        batch = {k: v[i : i + VAL_BATCH] for k, v in users.items()}
        if compiled is None:
            compiled = compile_once(
                ("validation", problem),
                _validation_fn(problem, n_stats),
                batch,
                fixed,
                xv,
                yv,
            )
        got_loss, got_stats = jax.device_get(compiled(batch, fixed, xv, yv))
        end = min(i + VAL_BATCH, at.size)
        loss[at[i:end]] = np.asarray(got_loss)[: end - i]
        stats[at[i:end]] = np.asarray(got_stats).reshape(VAL_BATCH, n_stats)[: end - i]
    return loss, stats


def validation_at(
    prepared: Prepared, user: Mapping[str, Any]
) -> tuple[float, np.ndarray]:
    """The loss and the metrics' statistics over the validation rows at the
    values ``user`` (as the user sees them)."""
    params = {k: np.asarray(v)[None] for k, v in user.items()}
    loss, stats = validation_losses(prepared, params, np.ones(1, bool))
    return float(loss[0]), stats[0]


def _join(outputs: list[Any]) -> tuple[Any, ...]:
    """Concatenate the per-chunk output tuples along the step axis."""
    first = outputs[0]
    joined: list[Any] = []
    for i, part in enumerate(first):
        if isinstance(part, dict):
            joined.append({k: np.concatenate([o[i][k] for o in outputs]) for k in part})
        else:
            joined.append(np.concatenate([o[i] for o in outputs]))
    return tuple(joined)


#: A step's own cost, whatever its rows, in rows' worth of work (a step of a
#: few rows takes 2-15 us: the update, the trace's outputs, the scan).
STEP_ROWS = 5000

#: Rows' worth of work in one compiled call: about 0.1-0.5 s here.
CALL_ROWS = 200_000_000


def default_chunk_steps(schedule: Schedule) -> int:
    """Steps per compiled call: one call for a short run (up to ``CALL_ROWS`` of
    work); for a longer one, calls of about that much work, and at most about 100 of
    them. Progress shows, and Ctrl-C stops a run, between calls; a call costs a
    few milliseconds of its own. A step's work counts its batch, the rows of the
    loss over all the data it evaluates (every ``eval_every`` steps; a full
    batch's is the next step's batch loss) and ``STEP_ROWS``: a run of 260000
    steps of 8 rows each is no longer one call of 4 s."""
    n_steps = schedule.n_steps
    per_step = float(schedule.batch_size + STEP_ROWS)
    if not schedule.full_batch:
        per_step += schedule.n_rows / max(schedule.eval_every, 1)
    if n_steps * per_step <= CALL_ROWS:
        return n_steps
    at_least = math.ceil(CALL_ROWS / per_step)
    return min(n_steps, max(1, math.ceil(n_steps / 100), at_least))
