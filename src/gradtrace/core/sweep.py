"""Many runs in one compiled program: ``vmap`` over the training scan.

Every configuration of a sweep shares the data, the model, the batch size and the
optimizer's structural settings (momentum on or off, Nesterov, centred); what differs
- learning rate and the other numeric hyper-parameters, initial values, shuffling
seed - is a batched argument. Memory is bounded by what is kept: the scan runs
``keep_every`` steps between kept points and carries, per configuration, the step it
diverged at and the step from which it stayed within ``tol`` of the optimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import batches, plateau, transforms
from gradtrace.core.clipping import GradClip
from gradtrace.core.loop import Problem, Schedule, compile_once
from gradtrace.core.optimizers import PRESETS, scheduled, with_clip
from gradtrace.core.schedules import LrSchedule

#: Hyper-parameters that choose a code path (Python control flow in the update rule)
#: or that a rule tabulates before compiling (NAdam's momentum_decay): a sweep over
#: them compiles one program per value.
STRUCTURAL = frozenset(
    {
        "momentum",
        "nesterov",
        "centered",
        "eps_in_sqrt",
        "weight_decay",
        "amsgrad",
        "decoupled_weight_decay",
        "momentum_decay",
    }
)

#: A preset's hyper-parameters that its rule tabulates in doubles before
#: compiling (PyTorch's Python floats): a sweep over them compiles one program per
#: value too.
TABLED = {
    "torch.nadam": frozenset({"beta1", "beta2"}),
    "torch.radam": frozenset({"beta2"}),
}


def compiled_per_value(preset: str, key: str) -> bool:
    """Whether a sweep compiles a program per value of ``key`` of ``preset``."""
    return key in STRUCTURAL or key in TABLED.get(preset, frozenset())


class SweepResult(NamedTuple):
    """Per configuration (leading axis C): final parameters and loss, the step it
    diverged at (0 if it did not), the step from which every parameter stayed within
    ``tol`` of the optimum to the end (0 if it ended outside); and at the kept
    steps (axis K, step 0 first): parameters and the loss over all the data."""

    final_params: dict[str, np.ndarray]
    final_loss: np.ndarray
    diverged_step: np.ndarray
    first_within: np.ndarray
    kept_steps: np.ndarray
    kept_params: dict[str, np.ndarray]
    kept_loss: np.ndarray
    compile_s: float
    train_s: float
    #: per configuration: the mean of its loss over all the data after each of
    #: ``tail_steps``, whatever the kept steps: where it settled, its batches'
    #: scatter around the optimum averaged (the batches' own losses, averaged
    #: before, fell below the optimum's by the luck of the last batches, and a
    #: heatmap drew such a cell as the optimum reached)
    tail_loss: np.ndarray


#: Where the steps ``tail_loss`` averages over begin, as a share of the run's
#: steps: its last tenth.
TAIL = 0.9
#: The most steps of the last tenth that ``tail_loss`` takes the loss over all
#: the data after (evenly spaced, the last included).
TAIL_POINTS = 10


def tail_steps(n_steps: int) -> np.ndarray:
    """The steps after which ``tail_loss`` takes the loss over all the data: up
    to ``TAIL_POINTS`` of the run's last tenth, evenly spaced, its last step
    included (every step of a last tenth of fewer)."""
    start = math.floor(TAIL * n_steps) + 1
    count = min(TAIL_POINTS, n_steps - start + 1)
    return np.unique(np.round(np.linspace(start, n_steps, count)).astype(int))


def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _max_gap(params: Any, target: Any) -> jax.Array:
    gaps = jax.tree_util.tree_map(lambda p, o: jnp.max(jnp.abs(p - o)), params, target)
    return jnp.max(jnp.stack(jax.tree_util.tree_leaves(gaps)))


def sweep_fn(
    problem: Problem,
    preset: str,
    structural: tuple[tuple[str, Any], ...],
    schedule: Schedule,
    keep_every: int,
    lr_schedule: LrSchedule | None = None,
    clip: GradClip | None = None,
) -> Any:
    """The batched sweep: f(hyper, init, seeds, fixed, x, y, optimum, tol,
    orders); ``orders``: a framework's orders of every epoch (Keras's: its one),
    one table per seed, the seeds then indices into them (``shuffle`` TORCH or
    KERAS), else None.
    ``lr_schedule``: every configuration's rate follows it from its own lr;
    ``clip``: every configuration's gradients are clipped so."""
    factory = PRESETS[preset].factory

    def optimizer(hyper: dict[str, Any]) -> Any:
        return with_clip(clip, rule(hyper))

    def rule(hyper: dict[str, Any]) -> Any:
        if lr_schedule is None:
            return factory(**hyper)
        dtype = lr_schedule.rate_dtype(problem.param_dtype)
        per_epoch, n_steps = schedule.batches_per_epoch, schedule.n_steps
        if lr_schedule.adaptive:  # this configuration's rates, from its own lr
            rates, cuts = hyper.pop(PLATEAU_RATES), hyper.pop(PLATEAU_CUTS)
            preset_ = PRESETS[preset]
            inner = scheduled(preset_, hyper, lambda lr: lr)
            return plateau.transform(
                lr_schedule.name,
                lr_schedule.params,
                inner,
                preset_.lr_key,
                rates,
                cuts,
                schedule.n_rows,
                dtype,
            )

        def rate_fn(lr: Any) -> Any:
            return lr_schedule.rate_fn(lr, per_epoch, n_steps, dtype)

        momentum_fn = lr_schedule.momentum_fn(n_steps, per_epoch, dtype)
        return scheduled(PRESETS[preset], hyper, rate_fn, momentum_fn)

    per_epoch, bs = schedule.batches_per_epoch, schedule.batch_size
    n_kept = math.ceil(schedule.n_steps / keep_every)
    adaptive = lr_schedule is not None and lr_schedule.adaptive
    tail_at = jnp.asarray(tail_steps(schedule.n_steps), jnp.int32)

    def one(hyper, init, seed, fixed, x, y, optimum, tol, orders):  # type: ignore[no-untyped-def]
        key: Any = jax.random.key(seed)
        if orders is not None:
            key = batches.Orders(jnp.asarray(0, jnp.int32), orders, seed)
        tx = optimizer({**dict(structural), **hyper})
        shown = init
        init = problem.internal_params(init)
        # the steps carry the next step's ``Problem.point`` (as a single run's do)
        carry0 = (
            init,
            tx.init(init),
            jnp.asarray(0),
            jnp.asarray(0),
            problem.point(init),
            jnp.zeros((), problem.param_dtype),  # the tail's sum
        )

        def step(carry, t):  # type: ignore[no-untyped-def]
            params, state, diverged, first, at, tail = carry
            active = (t < schedule.n_steps) & (diverged == 0)
            epoch, b = t // per_epoch, t % per_epoch
            if schedule.full_batch:
                xb, yb, mask = x, y, None
            else:
                picked = batches.epoch_batch(
                    key, epoch, b, schedule.n_rows, bs, schedule.shuffle
                )
                xb, yb, mask = batches.gather(picked, x, y)
            loss, grads = problem.value_and_grad(params, fixed, xb, yb, mask, at=at)
            extra = {}
            if adaptive:  # the epoch's loss, judged at its end (``core.plateau``)
                extra = {
                    "loss": loss,
                    "rows": jnp.minimum(bs, schedule.n_rows - b * bs),
                    "epoch_end": b == per_epoch - 1,
                }
            updates, new_state = tx.update(grads, state, params, **extra)
            new = transforms.apply_updates(params, updates)
            # as a single run's (loop.apply_update): the loss and the new values
            ok = jnp.isfinite(loss) & _all_finite(new)
            if not problem.unconstrained:
                ok = ok & problem.within(new)
            if schedule.full_batch:
                # the loss after step t is this batch's loss: a single run stops at
                # step t when it is not finite, so the sweep does too
                blown_before = active & ~jnp.isfinite(loss)
                diverged = jnp.where(blown_before, jnp.maximum(t, 1), diverged)
                active = active & ~blown_before
            diverged = jnp.where(active & ~ok, t + 1, diverged)
            keep = active  # a diverging step is kept, as in a single run
            params = jax.tree_util.tree_map(
                lambda n, o: jnp.where(keep, n, o), new, params
            )
            state = jax.tree_util.tree_map(
                lambda n, o: jnp.where(keep, n, o), new_state, state
            )
            at = jax.tree_util.tree_map(
                lambda n, o: jnp.where(keep, n, o), problem.point(new), at
            )
            if optimum is not None:
                # the step from which every parameter stays within tol: a step
                # outside starts the count again (mini-batches, momentum pass
                # through the tolerance and out again)
                gap = _max_gap(problem.user_params(params), optimum)
                inside = ok & (gap < tol)
                first = jnp.where(
                    active,
                    jnp.where(inside, jnp.where(first == 0, t + 1, first), 0),
                    first,
                )
            # the loss over all the data after the tail's steps: a conditional
            # on the step alone, so the other steps make no pass over the data
            tail = jax.lax.cond(
                jnp.any(tail_at == t + 1),
                lambda s: s + problem.objective(params, fixed, x, y).astype(s.dtype),
                lambda s: s,
                tail,
            )
            return (params, state, diverged, first, at, tail), loss

        def block(carry, k):  # type: ignore[no-untyped-def]
            ts = k * keep_every + jnp.arange(keep_every, dtype=jnp.int32)
            carry, losses = jax.lax.scan(step, carry, ts)
            if schedule.full_batch:
                # the loss over all the data at the kept point is the next block's
                # first step's loss: no second pass over the data
                return carry, (problem.user_params(carry[0]), losses[0])
            full = problem.objective(carry[0], fixed, x, y)
            return carry, (problem.user_params(carry[0]), full)

        carry, (kept, kept_loss) = jax.lax.scan(
            block, carry0, jnp.arange(n_kept, dtype=jnp.int32)
        )
        final_loss = problem.objective(carry[0], fixed, x, y)
        if schedule.full_batch:
            # each block's loss before its steps, step 0's first: the final one last
            kept_loss = jnp.concatenate([kept_loss, final_loss[None]])
        else:
            initial_loss = problem.objective(init, fixed, x, y)
            kept_loss = jnp.concatenate([initial_loss[None], kept_loss])
        diverged = jnp.where(
            (carry[2] == 0) & ~jnp.isfinite(final_loss), schedule.n_steps, carry[2]
        )
        kept = jax.tree_util.tree_map(
            lambda a, b: jnp.concatenate([a[None], b]), shown, kept
        )
        final = problem.user_params(carry[0])
        tail_loss = carry[5] / len(tail_at)
        return final, final_loss, diverged, carry[3], kept, kept_loss, tail_loss

    batched = jax.vmap(one, in_axes=(0, 0, 0, None, None, None, None, None, None))
    return batched


#: Elements (configurations x rows) that one compiled call works on at a time. A
#: vmapped step materialises a configurations x rows intermediate; while it fits in
#: the processor's cache the sweep runs about twice as fast as with all configurations
#: at once (1000 x 10000 rows: 0.45 s in chunks of 100-200 against 0.9 s at once;
#: 400 at a time, 16 MB, fell off the cliff: 1.5 s).
CHUNK_ELEMENTS = 1_000_000


#: A plateau's tables in a sweep's hyper-parameters: each configuration's rate
#: after each number of cuts, and whether each cut moves it (``plateau.levels``)
PLATEAU_RATES, PLATEAU_CUTS = "_plateau_rates", "_plateau_cuts"


def _plateau_tables(
    lr_schedule: LrSchedule,
    preset: str,
    structural: dict[str, Any],
    traced: dict[str, np.ndarray],
    schedule: Schedule,
    n_conf: int,
    dtype: Any,
) -> dict[str, np.ndarray]:
    """Each configuration's plateau levels from its own rate (as given, a
    Python float: the framework's arithmetic) in the run's rates' ``dtype``,
    padded to one length: the last rate repeated, no cut moving it."""
    lr_key = PRESETS[preset].lr_key
    given = traced.get(lr_key)
    lrs = (
        np.full(n_conf, float(structural[lr_key]))
        if given is None
        else np.asarray(given, np.float64)
    )
    per_epoch = schedule.batches_per_epoch
    tables = [
        lr_schedule.plateau_levels(float(lr), schedule.n_steps, per_epoch, np.float64)
        for lr in lrs
    ]
    width = max(len(r) for r, _ in tables)
    rates = np.stack([np.pad(r, (0, width - len(r)), mode="edge") for r, _ in tables])
    cuts = np.stack([np.pad(c, (0, width - len(c))) for _, c in tables])
    return {PLATEAU_RATES: rates.astype(dtype), PLATEAU_CUTS: cuts}


def chunk_size(n_conf: int, n_rows: int, x: Any) -> int:
    """How many configurations one compiled call runs."""
    width = 1 if x is None else max(1, int(np.prod(np.shape(x)[1:])))
    return max(1, min(n_conf, CHUNK_ELEMENTS // max(1, n_rows * width)))


def _take(tree: Any, start: int, size: int, total: int) -> Any:
    """Configurations start..start+size of a batched tree; the last chunk is padded
    with copies of the last configuration so every chunk has one shape."""
    index = np.minimum(np.arange(start, start + size), total - 1)
    return jax.tree_util.tree_map(lambda a: np.asarray(a)[index], tree)


def run_sweep(
    problem: Problem,
    preset: str,
    structural: dict[str, Any],
    traced: dict[str, np.ndarray],
    inits: dict[str, np.ndarray],
    seeds: np.ndarray,
    fixed: dict[str, Any],
    x: Any,
    y: Any,
    schedule: Schedule,
    keep_every: int,
    optimum: dict[str, Any] | None,
    tol: float,
    lr_schedule: LrSchedule | None = None,
    clip: GradClip | None = None,
    progress: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run every configuration (one per row of ``traced``/``inits``/``seeds``);
    ``progress(done)`` after each compiled call's configurations are back."""

    # everything stays in NumPy until the one compiled call: an eager JAX operation
    # compiles a program of its own (~20 ms each)
    pdtype, cdtype = np.dtype(problem.param_dtype), np.dtype(problem.compute_dtype)
    hyper = {k: np.asarray(v, pdtype) for k, v in traced.items()}
    n_conf = len(seeds)
    if lr_schedule is not None and lr_schedule.adaptive:
        dtype = lr_schedule.rate_dtype(problem.param_dtype)
        hyper.update(
            _plateau_tables(
                lr_schedule, preset, structural, traced, schedule, n_conf, dtype
            )
        )
    init = {k: np.asarray(inits[k], pdtype) for k in problem.trainable}
    seeds32: np.ndarray = np.asarray(seeds, np.uint32)
    orders = None
    if schedule.shuffle in batches.FRAMEWORK_ORDERS and not schedule.full_batch:
        # each seed's orders once; a configuration holds its seed's index
        own, seeds32 = np.unique(np.asarray(seeds, np.int64), return_inverse=True)
        seeds32 = seeds32.astype(np.int32)
        epochs = -(-schedule.n_steps // schedule.batches_per_epoch)
        if schedule.shuffle == batches.KERAS:
            epochs = 1  # every epoch in the first's order
        orders = np.stack(
            [
                batches.framework_orders(
                    str(schedule.shuffle), schedule.n_rows, int(s), 0, epochs
                )
                for s in own
            ]
        )
    fixed_p = {k: np.asarray(v, pdtype) for k, v in fixed.items()}
    xd = None if x is None else np.asarray(x, cdtype)
    yd = np.asarray(y, cdtype)
    opt = (
        None
        if optimum is None
        else {k: np.asarray(optimum[k], pdtype) for k in problem.trainable}
    )
    settings = (
        problem,
        preset,
        tuple(sorted(structural.items())),
        schedule,
        keep_every,
        lr_schedule,
        clip,
    )
    size = chunk_size(n_conf, schedule.n_rows, x)
    shared = (fixed_p, xd, yd, opt, np.asarray(tol, pdtype), orders)
    batched = (hyper, init, seeds32)
    chunks = [_take(batched, start, size, n_conf) for start in range(0, n_conf, size)]
    start = time.perf_counter()
    # kept as a run's programs are: the same sweep again (other rates, starts or
    # seeds of the same shapes) runs the program compiled (0.7-1.1 s a call)
    compiled = compile_once(
        ("sweep", *settings), sweep_fn(*settings), *chunks[0], *shared
    )
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    # dispatched one after another (JAX runs them asynchronously), fetched at the end
    pending = [compiled(*chunk, *shared) for chunk in chunks]
    parts = []
    for p in pending:
        parts.append(jax.device_get(p))
        if progress is not None:
            progress(min(len(parts) * size, n_conf))
    out = jax.tree_util.tree_map(lambda *a: np.concatenate(a)[:n_conf], *parts)
    train_s = time.perf_counter() - start
    final, final_loss, diverged, first, kept, kept_loss, tail_loss = out
    n_kept = kept_loss.shape[1] - 1  # after the initial row
    steps = np.concatenate(
        [[0], np.minimum((np.arange(n_kept) + 1) * keep_every, schedule.n_steps)]
    )
    return SweepResult(
        final_params={k: np.asarray(v) for k, v in final.items()},
        final_loss=np.asarray(final_loss),
        diverged_step=np.asarray(diverged),
        first_within=np.asarray(first),
        kept_steps=steps,
        kept_params={k: np.asarray(v) for k, v in kept.items()},
        kept_loss=np.asarray(kept_loss),
        compile_s=compile_s,
        train_s=train_s,
        tail_loss=np.asarray(tail_loss),
    )
