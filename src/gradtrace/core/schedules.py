"""Learning-rate schedules by name, each as its framework computes it.

PyTorch's schedulers change the rate once an epoch (``scheduler.step()`` after each
epoch, as the docs' loops do; ``by_batch=True``: after each batch, as warm-ups and
one-cycle loops do), each new rate computed from the last in Python floats
(its "chainable" form, whose rounding the closed form does not share); gradtrace
computes the same recursion in double precision and hands each epoch's rate to the
optimizer, which casts it to the parameters' dtype as PyTorch's update does. Keras's
schedules are functions of the optimizer's step count (``optimizer.iterations``,
the updates done before this one), computed in float32 operation by operation as
its ``LearningRateSchedule`` classes do.

A schedule is stored as a :class:`LrSchedule`: its name and every parameter, so a
saved run says exactly which rates it used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradtrace.core import expr, plateau
from gradtrace.core.composites import stepped_rates
from gradtrace.core.plateau import PLATEAUS
from gradtrace.core.presets import SCHEDULES

Value = (
    float
    | bool
    | int
    | str
    | tuple[int, ...]
    | tuple[float, ...]
    | tuple["LrSchedule", ...]
)


#: Epochs up to which a PyTorch schedule's rates are its recursion's, a table of
#: one rate an epoch in the compiled program; beyond (a long full-batch run, an
#: epoch a step), its closed form, equal to rounding.
TABLE_EPOCHS = 100_000

#: Parameters that count (epochs or steps) and must be whole numbers of at least 1.
COUNTS = frozenset(
    {
        "step_size",
        "T_max",
        "decay_steps",
        "total_iters",
        "T_0",
        "T_mult",
        "step_size_up",
        "first_decay_steps",
    }
)

#: Parameters that count and may be 0 (``total_steps``: 0 for the run's steps;
#: ``step_size_down``: 0 for ``step_size_up``'s).
WHOLE = frozenset(
    {"warmup_steps", "total_steps", "step_size_down", "patience", "cooldown"}
)

#: Parameters that are words, and the words each takes.
WORDS = {
    "anneal_strategy": ("cos", "linear"),
    "mode": ("triangular", "triangular2", "exp_range"),
    "threshold_mode": ("rel", "abs"),
    "monitor": ("loss", "val_loss"),
}

#: The most scheduler steps whose rates a closed-form PyTorch schedule
#: (OneCycleLR, CosineAnnealingWarmRestarts growing its cycles) tabulates in a
#: run: a float32 a step, 16 MB of constants.
MOST_TABLED = 1 << 22

#: Parameters that are lists of counts (epochs), each at least 1.
LISTS = frozenset({"milestones"})

#: Parameters that are lists of schedules (SequentialLR's and ChainedScheduler's).
NESTED = frozenset({"schedulers"})

#: PyTorch's schedulers that hold others, each stepping them as PyTorch does.
COMPOSITES = frozenset({"torch.sequential", "torch.chained"})

#: The schedules a composite takes: those whose steps change the rate the
#: optimizer holds, as gradtrace computes them step by step (a cycling or
#: restarting schedule keeps counts of its own, and a composite in a composite
#: is left out).
CHAINABLE = frozenset(
    {
        "torch.constant",
        "torch.linear",
        "torch.step",
        "torch.multistep",
        "torch.exponential",
        "torch.cosine",
        "torch.polynomial",
        "torch.lambda",
        "torch.multiplicative",
    }
)

#: Parameters that are lists of step counts, from 0, rising.
STEP_LISTS = frozenset({"boundaries"})

#: Parameters that are lists of numbers (rates).
NUMBER_LISTS = frozenset({"values"})

#: Parameters that are expressions in ``epoch`` (``core.expr``'s grammar), and
#: Keras's LearningRateScheduler's in ``epoch`` and ``lr``.
EXPRESSIONS = frozenset({"lr_lambda", "schedule"})

#: Keras's LearningRateScheduler callback: each epoch's rate an expression of
#: the epoch and the rate before.
KERAS_SCHEDULER = "keras.scheduler"

#: PyTorch schedules of a factor that the user writes, an expression in epoch.
LAMBDAS = frozenset({"torch.lambda", "torch.multiplicative"})


@dataclass(frozen=True)
class LrSchedule:
    """A schedule preset and every parameter as used; hashable.

    Examples:
        >>> s = LrSchedule.create("torch.step", step_size=2, gamma=0.5)
        >>> s.rates_at(0.1, range(6), per_epoch=1, n_steps=6).tolist()
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """

    name: str
    items: tuple[tuple[str, Value], ...] = field(default=())

    @staticmethod
    def create(name: str, **given: Value) -> LrSchedule:
        """The preset ``name`` with ``given`` over its defaults (callers validate
        first: a KeyError for an unknown name or parameter)."""
        preset = SCHEDULES[name]
        params: dict[str, Value] = {}
        for key, default in preset.defaults.items():
            value: Any = given.get(key, default)
            if value is None:
                raise KeyError(key)
            if isinstance(default, bool):
                params[key] = bool(value)
            elif key in COUNTS or key in WHOLE:
                params[key] = int(value)
            elif key in NESTED:
                params[key] = tuple(
                    v if isinstance(v, LrSchedule) else _from_dict(v) for v in value
                )
            elif key in LISTS or key in STEP_LISTS:
                params[key] = tuple(int(v) for v in value)
            elif key in NUMBER_LISTS:
                params[key] = tuple(float(v) for v in value)
            elif key in WORDS or key in EXPRESSIONS:
                params[key] = str(value)
            else:
                params[key] = float(value)
        unknown = set(given) - set(preset.defaults)
        if unknown:
            raise KeyError(sorted(unknown)[0])
        return LrSchedule(name, tuple(params.items()))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.items)

    @property
    def per_epoch(self) -> bool:
        """Whether it is PyTorch's: a recursion stepped once an epoch, or once a
        batch with ``by_batch`` (the name is the older of the two)."""
        return SCHEDULES[self.name].per_epoch

    def unit(self, per_epoch: int) -> int:
        """The optimizer steps between two of a PyTorch schedule's
        ``scheduler.step()``: an epoch's batches, or 1 with ``by_batch``."""
        every_batch = self.params.get("by_batch") or self.name in CYCLING
        return 1 if every_batch else per_epoch

    def scheduler_steps(self, n_steps: int, per_epoch: int) -> int:
        """How many rates a run of ``n_steps`` takes from a PyTorch schedule."""
        return max(1, -(-n_steps // self.unit(per_epoch)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key, value in self.items:
            held: Any = value  # a composite's schedules, as their dicts
            out[key] = [s.to_dict() for s in held] if key in NESTED else value
        return out

    def __str__(self) -> str:
        # stepped once an epoch, PyTorch's usual way, goes without saying
        def shown(value: Any) -> str:
            if isinstance(value, tuple):
                return f"[{', '.join(str(v) for v in value)}]"
            return str(value)

        text = ", ".join(
            f"{k}={shown(v)}"
            for k, v in self.items
            if not (k == "by_batch" and not v) and not (k == "total_steps" and not v)
        )
        return f"{self.name}({text})"

    def scheduler_rates(self, lr: float, n_epochs: int, dtype: Any) -> np.ndarray:
        """Keras's LearningRateScheduler's rate for each epoch 0..n_epochs-1:
        at each epoch's start ``schedule(epoch, lr)`` in Python floats, ``lr``
        the optimizer's variable (of ``dtype``, Keras's floatx) read as a
        float, the result stored back in it. Raises ValueError where the
        expression fails or gives no rate >= 0."""
        return _scheduler_rates(self, float(lr), int(n_epochs), np.dtype(dtype).name)

    def epoch_rates(self, lr: float, n_epochs: int) -> list[float]:
        """A PyTorch schedule's rate for each epoch 0..n_epochs-1, by its chainable
        recursion in Python floats (as ``scheduler.step()`` computes them)."""
        return list(_epoch_rates(self, float(lr), int(n_epochs)))

    def factors(self, epochs: Any) -> Any:
        """LambdaLR's or MultiplicativeLR's ``lr_lambda`` at ``epochs``: a
        range, in Python floats as the lambda computes them, or an array, by
        NumPy at once. Raises ValueError where it is not a number >= 0."""
        if isinstance(epochs, range):
            at_epoch = self.factor_fn()
            return [at_epoch(e) for e in epochs]
        _, factor = expr.host(str(self.params["lr_lambda"]), what=self.name)
        with np.errstate(all="ignore"):
            values = np.asarray(
                factor({"epoch": np.asarray(epochs, np.int64)}), np.float64
            )
        bad = ~(values >= 0) | ~np.isfinite(values)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(self._bad_factor(int(epochs[at]), f"gives {values[at]}"))
        return np.broadcast_to(values, np.shape(epochs))

    def factor_fn(self) -> Callable[[int], float]:
        """``lr_lambda`` as a function of one epoch, in Python floats as the
        lambda computes it; raises ValueError where it is not a number >= 0."""
        _, factor = expr.host(str(self.params["lr_lambda"]), what=self.name)

        def checked(e: int) -> float:
            try:
                value = factor({"epoch": e})
            except (ArithmeticError, ValueError) as err:
                raise ValueError(self._bad_factor(e, f"fails ({err})")) from None
            if not isinstance(value, int | float) or not value >= 0:
                raise ValueError(self._bad_factor(e, f"gives {value}"))
            return float(value)

        return checked

    def _bad_factor(self, epoch: int, what: str) -> str:
        return (
            f"{self.name}: lr_lambda={self.params['lr_lambda']} {what} at epoch "
            f"{epoch}: it must give a number >= 0, the rate's factor, at every "
            "epoch of the run"
        )

    def _recursion(self, lr: float, n_epochs: int) -> list[float]:
        if self.name in CLOSED_FORMS:  # each rate anew from the step, in doubles
            return [float(r) for r in self._closed(float(lr), n_epochs, exact=True)]
        # each rate from the last, as scheduler.step() calls get_lr
        return stepped_rates(self, float(lr), n_epochs)

    def _closed(self, lr: float, n_epochs: int, exact: bool) -> np.ndarray:
        """The rates of a schedule PyTorch computes from the step alone (no
        recursion) at scheduler steps 0..n_epochs-1, in doubles: ``exact``, by
        Python's ``math`` step by step as PyTorch's ``get_lr``; else by NumPy at
        once (its cosine within an ulp of ``math.cos``)."""
        if self.name in CYCLING:
            return self._cycling(lr, n_epochs, exact)[0]
        p = self.params
        t_0, t_mult, eta_min = int(p["T_0"]), int(p["T_mult"]), float(p["eta_min"])
        if exact:  # step(): T_cur + 1, and past T_i a restart, T_i * T_mult
            out, t_cur, t_i = [], 0, t_0
            for e in range(n_epochs):
                if e:
                    t_cur += 1
                    if t_cur >= t_i:
                        t_cur, t_i = t_cur % t_i, t_i * t_mult
                cosine = 1 + math.cos(math.pi * t_cur / t_i)
                out.append(eta_min + (lr - eta_min) * cosine / 2)
            return np.asarray(out, np.float64)
        cur, length = self._restart_positions(np.arange(n_epochs, dtype=np.int64))
        return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * cur / length)) / 2

    def _restart_positions(self, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CosineAnnealingWarmRestarts' ``T_cur`` and ``T_i`` at each epoch."""
        p = self.params
        t_0, t_mult = int(p["T_0"]), int(p["T_mult"])
        if t_mult == 1:
            return epochs % t_0, np.full_like(epochs, t_0)
        starts, length, last = [0], t_0, int(epochs.max(initial=0))
        while starts[-1] + length <= last:  # each cycle T_mult times the last
            starts.append(starts[-1] + length)
            length *= t_mult
        k = np.searchsorted(np.asarray(starts), epochs, side="right") - 1
        return epochs - np.asarray(starts)[k], t_0 * np.power(t_mult, k)

    def _onecycle(
        self, lr: float, n_steps: int, exact: bool, total: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """OneCycleLR's rate and momentum at steps 0..n_steps-1 (``get_lr``: the
        phase the step is in, annealed by cosine or linearly from its start to
        its end), in doubles; ``total``: its total_steps where the parameters
        leave them to the run."""
        p = self.params
        total = int(p["total_steps"]) or total or n_steps
        pct_start = float(p["pct_start"])
        initial = lr / float(p["div_factor"])
        low = initial / float(p["final_div_factor"])
        high_m, base_m = float(p["max_momentum"]), float(p["base_momentum"])
        phases = [(float(pct_start * total) - 1, initial, lr, high_m, base_m)]
        if p["three_phase"]:
            phases += [
                (float(2 * pct_start * total) - 2, lr, initial, base_m, high_m),
                (total - 1, initial, low, high_m, high_m),
            ]
        else:
            phases.append((total - 1, lr, low, base_m, high_m))
        cos = p["anneal_strategy"] == "cos"
        steps = np.arange(n_steps, dtype=np.float64)
        rates, momenta = np.empty(n_steps), np.empty(n_steps)
        placed = np.zeros(n_steps, bool)
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(phases):
            here = ~placed if i == len(phases) - 1 else ~placed & (steps <= end_step)
            if here.any() and end_step == start_step:
                raise ValueError(
                    f"{self.name}: pct_start={pct_start:g} of {total} steps leaves "
                    "a phase of no length, where PyTorch divides by zero: change "
                    "pct_start"
                )
            for out, a, b in ((rates, lr0, lr1), (momenta, m0, m1)):
                if exact:
                    out[here] = [
                        _anneal(cos, a, b, (t - start_step) / (end_step - start_step))
                        for t in steps[here]
                    ]
                else:
                    pct = (steps[here] - start_step) / (end_step - start_step)
                    out[here] = _anneal(cos, a, b, pct, np)
            placed |= here
            start_step = end_step
        return rates, momenta

    def _cycling(
        self, lr: float, n_steps: int, exact: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rate and momentum of OneCycleLR or CyclicLR at steps
        0..n_steps-1, in doubles."""
        if self.name == "torch.onecycle":
            return self._onecycle(lr, n_steps, exact)
        return self._cyclic(lr, n_steps, exact)

    def _cyclic(
        self, lr: float, n_steps: int, exact: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """CyclicLR's rate and momentum at steps 0..n_steps-1 (``get_lr``: where
        the step is in its cycle, the cycle's height scaled by ``mode``), in
        doubles: ``exact``, step by step in Python floats as PyTorch; else by
        NumPy at once."""
        p = self.params
        up = float(p["step_size_up"])
        down = float(p["step_size_down"]) or up
        total = up + down
        ratio = up / total
        base, gamma, mode = float(p["base_lr"]), float(p["gamma"]), p["mode"]
        high_m, base_m = float(p["max_momentum"]), float(p["base_momentum"])
        if exact:
            rates, momenta = [], []
            for t in range(n_steps):
                cycle = math.floor(1 + t / total)
                x = 1.0 + t / total - cycle
                factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
                if mode == "triangular":
                    scale = 1.0
                elif mode == "triangular2":
                    scale = 1 / (2.0 ** (cycle - 1))
                else:  # exp_range: by the step, not the cycle
                    scale = gamma**t
                rates.append(base + (lr - base) * factor * scale)
                momenta.append(high_m - (high_m - base_m) * factor * scale)
            return np.asarray(rates), np.asarray(momenta)
        steps = np.arange(n_steps, dtype=np.float64)
        cycles = np.floor(1 + steps / total)
        at = 1.0 + steps / total - cycles
        rise = np.where(at <= ratio, at / ratio, (at - 1) / (ratio - 1))
        scales: np.ndarray = np.ones(n_steps)
        if mode == "triangular2":
            scales = 1 / (2.0 ** (cycles - 1))
        elif mode == "exp_range":
            with np.errstate(under="ignore"):
                scales = np.power(gamma, steps)
        share = rise * scales
        return base + (lr - base) * share, high_m - (high_m - base_m) * share

    def check(self, n_steps: int, per_epoch: int) -> None:
        """Raise ValueError where this schedule cannot run ``n_steps`` steps of
        ``per_epoch`` a epoch as PyTorch would: OneCycleLR past its
        ``total_steps``, or a phase of no length; too many steps to tabulate."""
        count = self.scheduler_steps(n_steps, per_epoch)
        tabled = (
            self.name in CYCLING
            or self.name in LAMBDAS
            or (self.name == "torch.cosine_restarts" and int(self.params["T_mult"]) > 1)
        )
        if tabled and count > MOST_TABLED:
            raise ValueError(
                f"{self.name} takes its rates from a table of one a step, at "
                f"most {MOST_TABLED}; this run takes {count}: run fewer steps"
            )
        if self.name == "torch.onecycle":
            total = int(self.params["total_steps"])
            if total and total < count:
                raise ValueError(
                    f"{self.name} ends at total_steps={total}, before the run's "
                    f"{count} steps (PyTorch stops: 'Tried to step {total + 1} "
                    f"times'): give total_steps of at least {count}, or 0 to span "
                    "the run"
                )
            # the loop's scheduler.step() after the last batch computes step
            # ``count`` too, where total_steps is the run's
            total = total or count
            self._onecycle(1.0, min(count + 1, total + 1), False, total)
        if self.name in LAMBDAS and count <= MOST_TABLED:
            first = 1 if self.name == "torch.multiplicative" else 0
            every = range(first, count)
            self.factors(every if count <= TABLE_EPOCHS else np.arange(first, count))
        if self.name in COMPOSITES:
            if count > MOST_TABLED:
                raise ValueError(
                    f"{self.name} takes its rates from a table of one a scheduler "
                    f"step, at most {MOST_TABLED}; this run takes {count}: run "
                    "fewer steps"
                )
            _epoch_rates(self, 1.0, count)  # a lambda's factors, each checked

    @property
    def cycles_momentum(self) -> bool:
        """Whether it sets the optimizer's momentum (beta1) at each step too."""
        return self.name in CYCLING and bool(self.params["cycle_momentum"])

    def momentum_fn(
        self, n_steps: int, per_epoch: int, dtype: Any
    ) -> Callable[[Any], Any] | None:
        """OneCycleLR's or CyclicLR's momentum at each step count of a run of
        ``n_steps`` steps, for ``optax.inject_hyperparams``: PyTorch's doubles
        cast to ``dtype``; None where the schedule leaves the momentum alone."""
        if not self.cycles_momentum:
            return None
        n_steps = self.scheduler_steps(n_steps, per_epoch)
        table = jnp.asarray(self.momenta(n_steps), dtype)
        return lambda count: table[jnp.minimum(count, n_steps - 1)]

    def momenta(self, n_steps: int) -> np.ndarray:
        """OneCycleLR's or CyclicLR's momentum (beta1) at steps 0..n_steps-1, in
        doubles."""
        return _cycled_momenta(self, max(1, int(n_steps)))

    def keras_rate(self, lr: Any, count: Any, dtype: Any) -> Any:
        """A Keras schedule's rate at step count ``count`` (updates done before),
        operation for operation in ``dtype`` as Keras computes it."""
        p = self.params
        if self.name == "keras.piecewise":  # the step against each boundary
            steps = jnp.asarray(count)
            bounds = jnp.asarray(p["boundaries"]).reshape((1,) * steps.ndim + (-1,))
            passed = steps[..., None] > bounds
            return jnp.asarray(p["values"], dtype)[passed.sum(-1)]
        initial = jnp.asarray(lr, dtype)
        step = jnp.asarray(count).astype(dtype)
        # a true division, as TensorFlow's: XLA turns x / c, for a constant or a
        # broadcast c, into x * (1/c), which rounds apart; behind the barrier the
        # divisor is neither
        decay_steps = jax.lax.optimization_barrier(
            jnp.full_like(step, int(p.get("decay_steps") or p["first_decay_steps"]))
        )
        if self.name == "keras.cosine_restarts":
            return initial * self._restarted(step / decay_steps, dtype)
        if self.name == "keras.polynomial":
            end = jnp.asarray(float(p["end_learning_rate"]), dtype)
            if p["cycle"]:  # the first multiple of decay_steps above the step
                times = jnp.where(step == 0, 1.0, jnp.ceil(step / decay_steps))
                decay_steps = decay_steps * times.astype(dtype)
            else:
                step = jnp.minimum(step, decay_steps)
            fraction = step / decay_steps
            power = jnp.asarray(float(p["power"]), dtype)
            one = jnp.asarray(1.0, dtype)
            return (initial - end) * jnp.power(one - fraction, power) + end
        if self.name == "keras.cosine":
            warmup = int(p["warmup_steps"])
            if not warmup:
                fraction = jnp.minimum(step, decay_steps) / decay_steps
                return initial * self._cosine(fraction, dtype)
            # warm up from lr to warmup_target, then the cosine from the target
            target = jnp.asarray(float(p["warmup_target"]), dtype)
            warmup_steps = jax.lax.optimization_barrier(jnp.full_like(step, warmup))
            step = jnp.minimum(step, decay_steps + warmup_steps)
            rising = (target - initial) * (step / warmup_steps) + initial
            falling = target * self._cosine((step - warmup_steps) / decay_steps, dtype)
            return jnp.where(step < warmup_steps, rising, falling)
        rate = jnp.asarray(float(p["decay_rate"]), dtype)
        fraction = step / decay_steps
        if p["staircase"]:
            fraction = jnp.floor(fraction)
        if self.name == "keras.exponential":
            return initial * jnp.power(rate, fraction)
        return initial / (jnp.asarray(1.0, dtype) + rate * fraction)

    def _restarted(self, fraction: Any, dtype: Any) -> Any:
        """CosineDecayRestarts' factor at ``fraction`` of the first cycle's steps:
        which cycle that falls in (each ``t_mul`` times longer than the last), how
        far into it, and the cosine from that cycle's height (``m_mul`` to the
        power of the cycles before) down to alpha, in Keras's operations."""
        p = self.params
        one = jnp.asarray(1.0, dtype)
        t_mul = jnp.asarray(float(p["t_mul"]), dtype)
        # alike where t_mul is 1 in the schedule's dtype, as Keras tests it
        if np.asarray(float(p["t_mul"]), dtype) == 1:  # cycles alike
            restarts = jnp.floor(fraction)
            fraction = fraction - restarts
        else:  # the cycles before sum to (1 - t_mul^i) / (1 - t_mul) first cycles
            restarts = jnp.floor(
                jnp.log(one - fraction * (one - t_mul)) / jnp.log(t_mul)
            )
            before = (one - jnp.power(t_mul, restarts)) / (one - t_mul)
            fraction = (fraction - before) / jnp.power(t_mul, restarts)
        height = jnp.power(jnp.asarray(float(p["m_mul"]), dtype), restarts)
        pi = jnp.asarray(math.pi, dtype)
        cosine = jnp.asarray(0.5, dtype) * height * (one + jnp.cos(pi * fraction))
        # 1 - alpha in the dtype (CosineDecay's is a Python float's, rounded once)
        alpha = jnp.asarray(float(p["alpha"]), dtype)
        return (one - alpha) * cosine + alpha

    def _cosine(self, fraction: Any, dtype: Any) -> Any:
        """Keras's ``(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha``."""
        pi = jnp.asarray(math.pi, dtype)
        cosine = jnp.asarray(0.5, dtype) * (
            jnp.asarray(1.0, dtype) + jnp.cos(pi * fraction)
        )
        alpha = float(self.params["alpha"])
        return jnp.asarray(1 - alpha, dtype) * cosine + jnp.asarray(alpha, dtype)

    def rate_dtype(self, param_dtype: Any) -> Any:
        """The dtype of the rates a run hands its optimizer: PyTorch's Python
        floats are cast to the parameters' dtype as its update uses them (float64
        only where JAX computes in it); Keras's schedules are float32 tensors."""
        x64 = jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64
        wide = x64 and np.dtype(param_dtype) == np.float64
        # (keras.plateau's rate is a variable of Keras's floatx, the run's dtype)
        return np.float64 if wide and self.per_epoch else np.float32

    @property
    def adaptive(self) -> bool:
        """Whether its rates depend on the run's losses (ReduceLROnPlateau's): the
        run decides them (``core.plateau``), and the trace records them."""
        return self.name in PLATEAUS

    def plateau_levels(
        self, lr: float, n_steps: int, per_epoch: int, dtype: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """A plateau's rate after each number of cuts, and whether each cut
        moves it (``core.plateau.levels``), for a run of ``n_steps`` steps."""
        n_epochs = self.scheduler_steps(n_steps, per_epoch)
        return _plateau_levels(self, float(lr), n_epochs, np.dtype(dtype).name)

    def same_rates(self, epochs: int, other: int) -> bool:
        """Whether runs of ``epochs`` and ``other`` scheduler steps (epochs, or
        batches with ``by_batch``) take the same rates at the ones both have: not
        where one is within ``TABLE_EPOCHS`` (PyTorch's recursion) and the other
        beyond (tables within two ulps of it)."""
        if (
            not self.per_epoch
            or self.adaptive
            or self.name in COMPOSITES
            or self.name in ("torch.constant", KERAS_SCHEDULER)
        ):
            return True  # Keras's, or the recursion's at any length
        if self.name == "torch.onecycle" and not self.params["total_steps"]:
            return epochs == other  # it spans the run: another length, other rates
        return not min(epochs, other) <= TABLE_EPOCHS < max(epochs, other)

    def rate_fn(
        self, lr: Any, per_epoch: int, n_steps: int, dtype: Any
    ) -> Callable[[Any], Any]:
        """The rate of each update as a function of the optimizer's step count
        (updates done before it), for ``optax.inject_hyperparams``. A Python
        ``lr`` gets PyTorch's recursion exactly (a table of each epoch's rate, up
        to ``TABLE_EPOCHS`` epochs); a traced one (a sweep's), or more epochs,
        tables of its factors in double precision (``_long``)."""
        if self.adaptive:
            raise ValueError(f"{self.name}'s rates are the run's (core.plateau)")
        if self.name == KERAS_SCHEDULER:
            if not isinstance(lr, (int, float)):
                raise ValueError(
                    f"{self.name}'s rates follow lr through its expression, one "
                    "run at a time: a sweep of rates cannot take it yet"
                )
            n_epochs = max(1, -(-n_steps // per_epoch))
            scheduled = jnp.asarray(self.scheduler_rates(lr, n_epochs, dtype), dtype)
            return lambda count: scheduled[
                jnp.minimum(count // per_epoch, n_epochs - 1)
            ]
        if not self.per_epoch:
            if isinstance(lr, (int, float)) and n_steps <= MOST_TABLED:
                # the rates Keras computes, operation by operation on the
                # processor (compiled into the step, XLA would fuse them and
                # round otherwise, and a GPU's cos, log and pow round otherwise
                # again); a sweep's traced rate computes them in the step
                keras = jnp.asarray(
                    _keras_rates(self, float(lr), n_steps, np.dtype(dtype).name)
                )
                return lambda count: keras[jnp.minimum(count, n_steps - 1)]
            return lambda count: self.keras_rate(lr, count, dtype)
        per_epoch = self.unit(per_epoch)
        n_epochs = max(1, -(-n_steps // per_epoch))
        if isinstance(lr, (int, float)) and n_epochs <= TABLE_EPOCHS:
            table = jnp.asarray(np.asarray(self.epoch_rates(lr, n_epochs)), dtype)

            def from_table(count: Any) -> Any:
                return table[jnp.minimum(count // per_epoch, n_epochs - 1)]

            return from_table
        long = self._long(lr, n_epochs, dtype)
        return lambda count: long(jnp, jnp.minimum(count // per_epoch, n_epochs - 1))

    def _long(self, lr: Any, n_epochs: int, dtype: Any) -> Any:
        """``rate(xp, epoch)`` in ``dtype`` by NumPy (``xp=np``, the trace's
        column) or JAX (the run) alike, from tables taken in double precision:
        step and exponential decay multiply two tables of powers (gamma**(K i) and
        gamma**j, j < K), within an ulp or two of PyTorch's recursion; a cosine
        repeats its period of 2 T_max epochs. A traced ``lr`` (a sweep's) scales
        the tables' factors."""
        p = self.params
        dt = np.dtype(dtype)
        fixed = isinstance(lr, (int, float))
        if self.name in COMPOSITES or self.name == "torch.constant":
            # the recursion itself (ConstantLR's: up to its one change), for a
            # traced lr as a + b lr, the rates being affine in lr
            span = n_epochs
            if self.name == "torch.constant":
                span = min(n_epochs, int(p["total_iters"]) + 1)
            if fixed:
                table = np.asarray(_epoch_rates(self, float(lr), span)).astype(dt)
                return lambda xp, epoch: xp.asarray(table)[xp.minimum(epoch, span - 1)]
            # in double precision where JAX computes in it (a float64 run): an
            # eta_min above the rate cancels much of a + b lr, and in float32
            # digits are lost (23 ulps at worst in the reviewed case)
            wide = np.result_type(dt, jnp.asarray(0.0).dtype)
            at_0 = np.asarray(_epoch_rates(self, 0.0, span))
            per_lr = (np.asarray(_epoch_rates(self, 1.0, span)) - at_0).astype(wide)
            offset = at_0.astype(wide)

            def affine(xp: Any, epoch: Any) -> Any:
                at = xp.minimum(epoch, span - 1)
                rate = (
                    xp.asarray(offset)[at]
                    + xp.asarray(lr, wide) * xp.asarray(per_lr)[at]
                )
                return rate.astype(dt)

            return affine
        if self.name == "torch.onecycle":  # its rates are proportional to lr
            rates = self._closed(lr if fixed else 1.0, n_epochs, exact=False)
            onecycle = rates.astype(dt)
            return lambda xp, epoch: xp.asarray(onecycle)[epoch] * (1 if fixed else lr)
        if self.name == "torch.cyclic":  # base_lr + (lr - base_lr) * its share
            base = float(p["base_lr"])
            if fixed:
                cyclic = self._closed(lr, n_epochs, exact=False).astype(dt)
                return lambda xp, epoch: xp.asarray(cyclic)[epoch]
            share = (self._closed(1.0 + base, n_epochs, False) - base).astype(dt)
            return lambda xp, epoch: base + (lr - base) * xp.asarray(share)[epoch]
        if self.name in LAMBDAS:  # lr times each epoch's factor, or their product
            if self.name == "torch.multiplicative":  # its lambda from epoch 1
                later = self.factors(np.arange(1, n_epochs))
                factors = np.cumprod(np.concatenate([[1.0], later]))
            else:
                factors = self.factors(np.arange(n_epochs))
            lambda_table = ((lr if fixed else 1.0) * factors).astype(dt)
            return lambda xp, epoch: (
                xp.asarray(lambda_table)[epoch] * (1 if fixed else lr)
            )
        if self.name == "torch.cosine_restarts":
            eta_min = float(p["eta_min"])
            span = n_epochs if int(p["T_mult"]) > 1 else min(int(p["T_0"]), n_epochs)
            t_cur, t_i = self._restart_positions(np.arange(span, dtype=np.int64))
            return _cosine_table(lr, eta_min, t_cur / t_i, dt)
        if self.name in ("torch.multistep", "torch.linear", "torch.polynomial"):
            if self.name == "torch.multistep":  # gamma ** (milestones passed)
                marks = np.sort(np.asarray(p["milestones"], np.int64))
                factors = float(p["gamma"]) ** np.arange(len(marks) + 1.0)
            elif self.name == "torch.polynomial":  # (1 - min(total, e)/total)**power
                total = int(p["total_iters"])
                steps = np.arange(total + 1.0)
                factors = (1.0 - steps / total) ** float(p["power"])
            else:  # start_factor + (end - start) * min(total, e) / total
                start, end = float(p["start_factor"]), float(p["end_factor"])
                total = int(p["total_iters"])
                factors = start + (end - start) * np.arange(total + 1.0) / total
            table = ((lr if fixed else 1.0) * factors).astype(dt)

            def stepwise(xp: Any, epoch: Any) -> Any:
                if self.name == "torch.multistep":
                    at = (xp.asarray(epoch)[..., None] >= xp.asarray(marks)).sum(-1)
                else:
                    at = xp.minimum(epoch, total)
                factor = xp.asarray(table)[at]
                return factor if fixed else lr * factor

            return stepwise
        if self.name == "torch.cosine":
            t_max, eta_min = int(p["T_max"]), float(p["eta_min"])
            # one period in double precision: the cosine repeats
            period = min(2 * t_max, n_epochs)
            e = np.arange(period, dtype=np.float64)
            return _cosine_table(lr, eta_min, e / t_max, dt)
        gamma = float(p["gamma"])
        size = int(p["step_size"]) if self.name == "torch.step" else 1
        k_max = (n_epochs - 1) // size
        width = max(1, math.isqrt(k_max) + 1)
        with np.errstate(over="ignore", under="ignore"):  # a gamma above 1 grows
            steps = np.arange(k_max // width + 1, dtype=np.float64) * width
            high = ((lr if fixed else 1.0) * np.power(gamma, steps)).astype(dt)
            low = np.power(gamma, np.arange(width, dtype=np.float64)).astype(dt)

        def powers(xp: Any, epoch: Any) -> Any:
            k = epoch // size
            factor = xp.asarray(high)[k // width] * xp.asarray(low)[k % width]
            return factor if fixed else lr * factor

        return powers

    def rates_at(
        self,
        lr: float,
        counts: Any,
        per_epoch: int,
        n_steps: int,
        dtype: Any = np.float32,
    ) -> np.ndarray:
        """The rate of the updates after ``counts`` updates (step ``count + 1``),
        as float64, for the trace's ``lr`` column: PyTorch's Python floats, or
        Keras's float32 values (``dtype``: the run's rates' beyond
        ``TABLE_EPOCHS`` epochs). A plateau's are the run's (``History.levels``),
        not known beforehand: a ValueError."""
        if self.adaptive:
            raise ValueError(f"{self.name}'s rates are the run's (core.plateau)")
        counts = np.asarray(counts, np.int64)
        if self.name == KERAS_SCHEDULER:
            n_epochs = max(1, -(-n_steps // per_epoch))
            epochs = np.minimum(counts // per_epoch, n_epochs - 1)
            return self.scheduler_rates(lr, n_epochs, dtype)[epochs]
        if self.per_epoch:
            per_epoch = self.unit(per_epoch)
            n_epochs = max(1, -(-n_steps // per_epoch))
            epochs = np.minimum(counts // per_epoch, n_epochs - 1)
            if self.name == "torch.constant":  # one change, at total_iters
                span = min(n_epochs, int(self.params["total_iters"]) + 1)
                constant = np.asarray(self.epoch_rates(lr, span), np.float64)
                return constant[np.minimum(epochs, span - 1)]
            if n_epochs > TABLE_EPOCHS and self.name not in COMPOSITES:
                # as rate_fn computes them (a composite's: its recursion's)
                return np.asarray(
                    self._long(lr, n_epochs, dtype)(np, epochs), np.float64
                )
            table = np.asarray(self.epoch_rates(lr, n_epochs), np.float64)
            return table[epochs]
        if n_steps <= MOST_TABLED:  # the table rate_fn reads, the run's
            table = _keras_rates(self, float(lr), max(1, n_steps), "float32")
            return table[np.minimum(counts, len(table) - 1)].astype(np.float64)
        values = self.keras_rate(lr, jnp.asarray(counts), jnp.float32)
        return np.asarray(values, np.float64)


@functools.lru_cache(maxsize=8)
def _scheduler_rates(
    schedule: LrSchedule, lr: float, n_epochs: int, dtype: str
) -> np.ndarray:
    """``LrSchedule.scheduler_rates``, computed once for a run (its rate
    function and its trace's column read the same table)."""
    text = str(schedule.params["schedule"])
    _, fn = expr.host(text, what=schedule.name)
    dt = np.dtype(dtype)
    rate = float(np.asarray(lr, dt))
    out = np.empty(n_epochs)
    for epoch in range(n_epochs):
        try:
            value = float(fn({"epoch": epoch, "lr": rate}))
        except (ArithmeticError, ValueError, TypeError) as err:
            raise ValueError(
                f"{schedule.name}: schedule={text} fails at epoch {epoch} with lr "
                f"{rate:.6g} ({err}): write one that gives a rate >= 0"
            ) from None
        with np.errstate(over="ignore"):
            stored = float(np.asarray(value, dt))  # in Keras's variable
        if not (math.isfinite(stored) and value >= 0):
            raise ValueError(
                f"{schedule.name}: schedule={text} gives {value} at epoch {epoch} "
                f"with lr {rate:.6g}: a rate must be a finite number >= 0 (in "
                f"{dt.name})"
            )
        rate = stored
        out[epoch] = rate
    out.setflags(write=False)
    return out


def _cosine_table(lr: Any, eta_min: float, where: np.ndarray, dt: Any) -> Any:
    """``rate(xp, epoch)`` of a cosine from ``lr`` down to ``eta_min`` that
    repeats a table of its epochs' places (``where``, a share of the half
    period), in double precision: the rates themselves for a Python ``lr``, the
    cosine's halves scaled by a traced one (a sweep's)."""
    half = (1 + np.cos(np.pi * where)) / 2
    span = len(half)
    if isinstance(lr, (int, float)):
        rates = (eta_min + (lr - eta_min) * half).astype(dt)
        return lambda xp, epoch: xp.asarray(rates)[epoch % span]
    halves = half.astype(dt)
    return lambda xp, epoch: eta_min + (lr - eta_min) * xp.asarray(halves)[epoch % span]


#: PyTorch schedules whose ``get_lr`` computes each rate from the step alone.
CLOSED_FORMS = frozenset({"torch.onecycle", "torch.cosine_restarts", "torch.cyclic"})

#: PyTorch schedules stepped after each batch that cycle the momentum too.
CYCLING = frozenset({"torch.onecycle", "torch.cyclic"})


def _anneal(cos: bool, start: float, end: float, pct: Any, xp: Any = math) -> Any:
    """OneCycleLR's ``_annealing_cos`` or ``_annealing_linear`` from ``start`` to
    ``end`` at ``pct`` of the phase, operation for operation."""
    if cos:
        return end + (start - end) / 2.0 * (xp.cos(xp.pi * pct) + 1)
    return (end - start) * pct + start


@functools.lru_cache(maxsize=16)
def _cycled_momenta(schedule: LrSchedule, n_steps: int) -> np.ndarray:
    """``LrSchedule.momenta``, computed once for a run."""
    exact = n_steps <= TABLE_EPOCHS
    momenta = schedule._cycling(1.0, n_steps, exact)[1]
    momenta.setflags(write=False)
    return momenta


@functools.lru_cache(maxsize=16)
def _epoch_rates(schedule: LrSchedule, lr: float, n_epochs: int) -> tuple[float, ...]:
    """``LrSchedule.epoch_rates``, computed once for a run (each part of a long
    run's trace asks again)."""
    return tuple(schedule._recursion(lr, n_epochs))


@functools.lru_cache(maxsize=16)
def _plateau_levels(
    schedule: LrSchedule, lr: float, n_epochs: int, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """``LrSchedule.plateau_levels``, computed once for a run."""
    rates, cuts = plateau.levels(schedule.name, schedule.params, lr, n_epochs, dtype)
    rates.setflags(write=False)
    cuts.setflags(write=False)
    return rates, cuts


def _from_dict(value: Any) -> LrSchedule:
    """A schedule from its ``to_dict`` (a saved run's)."""
    given = dict(value)
    return LrSchedule.create(given.pop("name"), **given)


@functools.lru_cache(maxsize=16)
def _keras_rates(
    schedule: LrSchedule, lr: float, n_steps: int, dtype: str
) -> np.ndarray:
    """A Keras schedule's rates at step counts 0..n_steps-1 as Keras computes
    them: operation by operation (not compiled together, which XLA would fuse
    and round otherwise), on the processor (whose float32 functions Keras's
    fixtures agree with to the bit), whatever device the run is on."""
    with jax.default_device(jax.devices("cpu")[0]):
        counts = jnp.arange(n_steps, dtype=jnp.int32)
        rates = np.asarray(schedule.keras_rate(lr, counts, np.dtype(dtype)))
    rates.setflags(write=False)
    return rates
