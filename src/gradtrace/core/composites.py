"""PyTorch's schedulers that step the rate the optimizer holds (StepLR, LinearLR,
CosineAnnealingLR, ... and ConstantLR), alone or held by SequentialLR and
ChainedScheduler, stepped as PyTorch 2.14 steps them.

Each held scheduler is a :class:`Stepper`: its ``get_lr``, which changes the rate
the optimizer holds (``initial``: the step its constructor takes), and its closed
form at count 0, which SequentialLR takes at a milestone. The rates are Python
floats, operation for operation as PyTorch's Python computes them.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradtrace.core.schedules import LrSchedule


class Stepper:
    """One of PyTorch's chainable schedulers (``CHAINABLE``) as it steps the rate
    the optimizer holds: ``get_lr`` at its own count ``e`` (``initial``: the step
    its constructor takes), and ``restart``, its closed form at count 0, which
    SequentialLR takes at a milestone (``_update_lr(0)``; get_lr for the two
    lambdas, which have none). Python floats, operation for operation."""

    def __init__(self, schedule: LrSchedule, base: float) -> None:
        self.name, self.p, self.base = schedule.name, schedule.params, base
        # a lambda's factor at an epoch, computed where PyTorch calls it
        self.factor: Callable[[int], float] = lambda e: 1.0
        if schedule.name in ("torch.lambda", "torch.multiplicative"):
            self.factor = functools.lru_cache(maxsize=None)(schedule.factor_fn())
        self.hits = Counter(self.p.get("milestones", ()))

    def get_lr(self, current: float, e: int, initial: bool = False) -> float:
        name, p, base = self.name, self.p, self.base
        if name == "torch.constant":
            factor, total = float(p["factor"]), int(p["total_iters"])
            if e == 0:
                return current * factor
            return current if e != total else current * (1.0 / factor)
        if name == "torch.linear":
            start, end = float(p["start_factor"]), float(p["end_factor"])
            total = int(p["total_iters"])
            if e == 0:
                return current * start
            if initial or e > total:
                return current
            return current * (
                1.0 + (end - start) / (total * start + (e - 1) * (end - start))
            )
        if name == "torch.step":
            if e == 0 or e % int(p["step_size"]) != 0:
                return current
            return current * float(p["gamma"])
        if name == "torch.multistep":
            if e not in self.hits:
                return current
            return current * float(p["gamma"]) ** self.hits[e]
        if name == "torch.exponential":
            return current if initial else current * float(p["gamma"])
        if name == "torch.polynomial":
            total, power = int(p["total_iters"]), float(p["power"])
            if initial or e > total:
                return current
            return current * ((1.0 - e / total) / (1.0 - (e - 1) / total)) ** power
        if name == "torch.cosine":
            t_max, eta_min = int(p["T_max"]), float(p["eta_min"])
            if initial:
                return current
            if (e - 1 - t_max) % (2 * t_max) == 0:
                return current + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
            return (1 + math.cos(math.pi * e / t_max)) / (
                1 + math.cos(math.pi * (e - 1) / t_max)
            ) * (current - eta_min) + eta_min
        if name == "torch.lambda":
            return base * self.factor(e)
        if name == "torch.multiplicative":
            return current if initial else current * self.factor(e)
        raise ValueError(f"{name} does not step in a composite schedule")

    def restart(self, current: float) -> float:
        name, p, base = self.name, self.p, self.base
        if name == "torch.constant":
            factor, total = float(p["factor"]), int(p["total_iters"])
            return base * (factor + (0 >= total) * (1 - factor))
        if name == "torch.linear":
            start, end = float(p["start_factor"]), float(p["end_factor"])
            total = int(p["total_iters"])
            return base * (start + (end - start) * min(total, 0) / total)
        if name in ("torch.step", "torch.exponential"):
            return base * float(p["gamma"]) ** 0
        if name == "torch.multistep":
            marks = sorted(self.hits.elements())
            return base * float(p["gamma"]) ** bisect.bisect_right(marks, 0)
        if name == "torch.polynomial":
            total, power = int(p["total_iters"]), float(p["power"])
            return base * (1.0 - min(total, 0) / total) ** power
        if name == "torch.cosine":
            t_max, eta_min = int(p["T_max"]), float(p["eta_min"])
            return eta_min + (base - eta_min) * (1 + math.cos(math.pi * 0 / t_max)) / 2
        if name == "torch.lambda":
            return base * self.factor(0)
        return current * self.factor(0)  # MultiplicativeLR's get_lr


def stepped_rates(schedule: LrSchedule, lr: float, n_epochs: int) -> list[float]:
    """The rates of a PyTorch schedule that steps from the last rate (one of
    ``CHAINABLE``, or SequentialLR or ChainedScheduler of them) at scheduler
    steps 0..n_epochs-1, as PyTorch steps them: its constructor's first step, then
    ``get_lr`` at each count. SequentialLR sets the rate back to lr, takes its
    first schedule's first step, and at each milestone the next schedule's closed
    form at its count 0, then its steps from there; ChainedScheduler takes each
    schedule's first step (their constructors'), then each epoch every schedule's
    step in turn."""
    n_epochs = max(1, n_epochs)
    if schedule.name not in ("torch.sequential", "torch.chained"):
        only = Stepper(schedule, lr)
        rates = [only.get_lr(lr, 0, initial=True)]
        for e in range(1, n_epochs):
            rates.append(only.get_lr(rates[-1], e))
        return rates
    subs: tuple[LrSchedule, ...] = schedule.params["schedulers"]
    if schedule.name == "torch.chained":
        chain = [Stepper(s, lr) for s in subs]
        current = lr
        for stepper in chain:
            current = stepper.get_lr(current, 0, initial=True)
        rates = [current]
        for e in range(1, n_epochs):
            for stepper in chain:
                current = stepper.get_lr(current, e)
            rates.append(current)
        return rates
    marks = list(schedule.params["milestones"])
    starts = [0, *marks]
    steps = [Stepper(s, lr) for s in subs]
    rates = [steps[0].get_lr(lr, 0, initial=True)]
    for e in range(1, n_epochs):
        at = bisect.bisect_right(marks, e)
        if at and marks[at - 1] == e:
            rates.append(steps[at].restart(rates[-1]))
        else:
            rates.append(steps[at].get_lr(rates[-1], e - starts[at]))
    return rates
