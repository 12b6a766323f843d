"""A learning-rate schedule from what the user wrote: ``NAME:KEY=VALUE,...``,
``NAME(KEY=VALUE,...)`` as the summary prints it, or a dict, each parameter
checked as the framework would take it (a composite's schedules in brackets, a
lambda's expression, lists of epochs); whether it fits the run; and what of it a
run would never reach. ``validate`` hands these on under its own name."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradtrace.checks import _boolean, _named, _number, _suggest, choice
from gradtrace.core import expr
from gradtrace.core.optimizers import CYCLED, OptimizerSpec
from gradtrace.core.plateau import PLATEAUS
from gradtrace.core.presets import SCHEDULES
from gradtrace.core.schedules import (
    CHAINABLE,
    EXPRESSIONS,
    KERAS_SCHEDULER,
    MOST_TABLED,
    NESTED,
    NUMBER_LISTS,
    STEP_LISTS,
    LrSchedule,
)
from gradtrace.core.schedules import COUNTS as SCHEDULE_COUNTS
from gradtrace.core.schedules import LISTS as SCHEDULE_LISTS
from gradtrace.core.schedules import WHOLE as SCHEDULE_WHOLE
from gradtrace.core.schedules import WORDS as SCHEDULE_WORDS
from gradtrace.errors import COMMAND_LINE, InputError


def warms_up_from_zero(schedule: LrSchedule | None) -> bool:
    """Whether ``schedule`` climbs from the rate it is given to a rate of its
    own (Keras's CosineDecay with a warm-up), so that the rate may be 0."""
    if schedule is None or schedule.name != "keras.cosine":
        return False
    p = schedule.params
    return int(p["warmup_steps"]) > 0 and float(p["warmup_target"]) > 0


def lr_schedule(value: Any, nested: bool = False) -> LrSchedule | None:
    """A learning-rate schedule from its text, ``NAME``,
    ``NAME:KEY=VALUE,KEY=VALUE`` (``torch.step:step_size=10,gamma=0.5``) or
    ``NAME(KEY=VALUE,...)`` (as the run's summary prints it), or a dict with
    ``name`` and its parameters; None for none. ``nested``: one a composite holds
    (its examples are written ``NAME(KEY=VALUE)``)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, LrSchedule):
        return value
    if isinstance(value, Mapping):
        name, given = _named("lr_schedule", value, "{'name': 'torch.step', ...}")
    elif isinstance(value, str):
        text = value.strip()
        called = re.match(r"([\w.]+)\s*\(", text)
        if called:  # NAME(KEY=VALUE,...), as the summary prints a schedule
            if not text.endswith(")"):
                raise InputError(
                    f"schedule {text!r} misses its closing parenthesis: such as "
                    "torch.cosine(T_max=95)."
                )
            text = f"{called.group(1)}:{text[called.end() : -1]}"
        name, _, rest = text.partition(":")
        given = {}
        for part in filter(None, (p.strip() for p in _top_level(rest))):
            key, eq, text = part.partition("=")
            if not eq or not key.strip():
                raise InputError(
                    f"--lr-schedule takes NAME:KEY=VALUE,KEY=VALUE, got {part!r} "
                    "in it: such as torch.step:step_size=10,gamma=0.5."
                )
            given[key.strip()] = text.strip()
    else:
        composite = (
            " (a list of schedules goes in torch.sequential's or torch.chained's "
            "schedulers: {'name': 'torch.sequential', 'schedulers': [...], "
            "'milestones': [5]})"
            if isinstance(value, (list, tuple))
            else ""
        )
        raise InputError(
            f"lr_schedule must be text such as 'torch.step:step_size=10' or a dict, "
            f"not a {type(value).__name__}{composite}."
        )
    class_named = _by_class(name, given)
    if class_named is not None:
        raise InputError(class_named)
    name = choice("learning-rate schedule", name.strip(), list(SCHEDULES))
    preset = SCHEDULES[name]
    params: dict[str, Any] = {}
    if name in PLATEAUS:
        given = _plateau_as_written(name, given)
    for key, text in given.items():
        if key in ("epochs", "steps_per_epoch") and "total_steps" in preset.defaults:
            # OneCycleLR(opt, max_lr, epochs=E, steps_per_epoch=S): E * S steps
            raise InputError(
                f"schedule {name!r} takes total_steps, not {key}: it spans the "
                "run unless given (PyTorch's epochs * steps_per_epoch is "
                f"total_steps, such as {name}:total_steps=100)."
            )
        if key in ("initial_learning_rate", "max_lr") and key not in preset.defaults:
            # Keras's first argument, PyTorch's OneCycleLR's and CyclicLR's peak
            given_as = f"--lr {text}" if COMMAND_LINE.get() else f"lr={text}"
            raise InputError(
                f"schedule {name!r} takes its {key} from the run's rate: give "
                f"{given_as} instead."
            )
        if key not in preset.defaults:
            raise InputError(
                f"schedule {name!r} has no parameter {key!r}: "
                f"{_suggest(key, list(preset.defaults))}"
            )
        default = preset.defaults[key]
        if isinstance(default, bool):
            params[key] = _boolean(f"{name} {key}", text)
            continue
        if key in NESTED:
            params[key] = _schedule_list(name, key, text)
            continue
        if key in SCHEDULE_LISTS:
            params[key] = _epoch_list(name, key, text)
            continue
        if key in STEP_LISTS or key in NUMBER_LISTS:
            params[key] = _number_list(name, key, text, whole=key in STEP_LISTS)
            continue
        if key in EXPRESSIONS:
            params[key] = _schedule_expression(name, key, text)
            continue
        if key in SCHEDULE_WORDS:
            words = SCHEDULE_WORDS[key]
            params[key] = choice(f"{name} {key}", str(text).strip(), words)
            continue
        try:
            number = _number(text)
        except (TypeError, ValueError):
            raise InputError(
                f"schedule {name!r}: {key} must be a number, got {text!r}."
            ) from None
        counts = key in SCHEDULE_COUNTS
        if not counts and (not math.isfinite(number) or number < 0):
            raise InputError(
                f"schedule {name!r}: {key} must be a number >= 0, got {text!r}."
            )
        whole = math.isfinite(number) and number == int(number)
        if counts and not (whole and number >= 1):
            raise InputError(
                f"schedule {name!r}: {key} counts "
                f"{'epochs' if preset.per_epoch else 'steps'}: give a whole number "
                f"of at least 1, got {text!r}."
            )
        if key in SCHEDULE_WHOLE and number != int(number):
            raise InputError(
                f"schedule {name!r}: {key} counts "
                f"{'epochs' if preset.per_epoch else 'steps'}: give a whole number, "
                f"got {text!r}."
            )
        params[key] = number
    if name == "torch.linear":  # PyTorch's ranges (both are >= 0 by now)
        start = float(params.get("start_factor", 1 / 3))
        end = float(params.get("end_factor", 1.0))
        share = "schedule 'torch.linear': {} is a share of the rate, {} up to 1 (as "
        if not 0 < start <= 1:
            said = share.format("start_factor", "above 0")
            raise InputError(f"{said}PyTorch takes it), got {start:g}.")
        if end > 1:
            said = share.format("end_factor", "from 0")
            raise InputError(f"{said}PyTorch takes it), got {end:g}.")
    if name == "torch.constant" and not 0 < float(params.get("factor", 1 / 3)) <= 1:
        raise InputError(
            "schedule 'torch.constant': factor is a share of the rate, above 0 up "
            "to 1 (PyTorch takes 0 to 1, and divides by it at total_iters), got "
            f"{params['factor']:g}."
        )
    if name in PLATEAUS and not float(params.get("factor", 0.1)) < 1:
        raise InputError(
            f"schedule {name!r}: factor multiplies the rate at each cut, from 0 up "
            f"to but not 1 (as PyTorch and Keras take it), got {params['factor']:g}."
        )
    if name == "torch.sequential" and "schedulers" in params:
        _sequence_fits(params["schedulers"], params.get("milestones"))
    for key in ("base_momentum", "max_momentum"):
        if key in params and not params[key] < 1:
            raise InputError(
                f"schedule {name!r}: {key} is a momentum (beta1), from 0 up to but "
                f"not 1 (at 1 it never forgets, and Adam divides by 0), got "
                f"{params[key]:g}."
            )
    if name == "torch.onecycle":
        if float(params.get("pct_start", 0.3)) > 1:
            raise InputError(
                "schedule 'torch.onecycle': pct_start is the share of the steps "
                f"the rate climbs for, from 0 to 1, got {params['pct_start']:g}."
            )
        for key in ("div_factor", "final_div_factor"):
            if key in params and not params[key] > 0:
                raise InputError(
                    f"schedule 'torch.onecycle': {key} divides the rate: give a "
                    "number above 0, such as 25."
                )
    if name == "keras.piecewise" and "boundaries" in params and "values" in params:
        bounds, values = params["boundaries"], params["values"]
        if len(values) != len(bounds) + 1:
            raise InputError(
                f"schedule 'keras.piecewise': values are the rates before, between "
                f"and after the boundaries, one more than them: got "
                f"{len(bounds)} boundaries and {len(values)} values, as "
                "boundaries=[100,200],values=[0.1,0.01,0.001]."
            )
        if any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise InputError(
                f"schedule 'keras.piecewise': boundaries are steps in rising order, "
                f"got {list(bounds)}."
            )
    if float(params.get("alpha", 0.0)) > 1:
        raise InputError(
            f"schedule {name!r}: alpha is where the cosine ends, a share of the "
            f"rate from 0 to 1 (above 1 the rate would climb), got "
            f"{params['alpha']:g}."
        )
    if name == "keras.cosine_restarts" and float(params.get("t_mul", 2.0)) < 1:
        raise InputError(
            "schedule 'keras.cosine_restarts': t_mul is how many times longer each "
            "cycle is than the one before: give 1 or more (below 1 the cycles "
            "shrink to nothing, and Keras's rate is not a number after "
            f"first_decay_steps / (1 - t_mul) steps), got {params['t_mul']:g}."
        )
    if params.get("warmup_target") and not params.get("warmup_steps"):
        raise InputError(
            f"schedule {name!r}: warmup_target is where a warm-up of warmup_steps "
            f"steps ends: give both, as {name}:warmup_steps=100,warmup_target=0.01."
        )
    missing = [k for k, v in preset.defaults.items() if v is None and k not in params]
    if missing == ["milestones"] and name == "torch.sequential":
        count = len(params.get("schedulers", ())) - 1
        raise InputError(
            "schedule 'torch.sequential' needs milestones, the epochs where each "
            f"schedule after the first takes over ({max(count, 1)} here): add "
            f",milestones=[{','.join(str(5 * (i + 1)) for i in range(max(count, 1)))}]"
            " after the schedulers' closing bracket."
        )
    if missing:
        example = ",".join(f"{k}=VALUE" for k in missing)
        shown = f"{name}({example})" if nested else f"{name}:{example}"
        raise InputError(
            f"schedule {name!r} needs {', '.join(missing)}: give it as {shown}."
        )
    return LrSchedule.create(name, **params)


def schedule_fits(
    schedule: LrSchedule, spec: OptimizerSpec, n_steps: int, per_epoch: int
) -> None:
    """That ``schedule`` can run ``n_steps`` steps of ``per_epoch`` an epoch
    with ``spec``'s optimizer as PyTorch would (OneCycleLR's total_steps and
    phases, and the momentum it cycles)."""
    try:
        schedule.check(n_steps, per_epoch)
        if schedule.name == KERAS_SCHEDULER:  # its rates, from the run's own
            count = schedule.scheduler_steps(n_steps, per_epoch)
            if count > MOST_TABLED:
                raise ValueError(
                    f"{schedule.name} takes a rate an epoch from a table, at most "
                    f"{MOST_TABLED}; this run takes {count}: run fewer epochs"
                )
            schedule.scheduler_rates(spec.learning_rate, count, spec.rate_dtype)
    except ValueError as e:
        raise InputError(f"{e}.") from None
    if not schedule.cycles_momentum or spec.name in CYCLED:
        return
    name = schedule.name
    if spec.name in ("torch.adagrad", "torch.adadelta", "torch.rprop"):
        raise InputError(
            f"{name} cycles the optimizer's momentum (cycle_momentum=true, "
            f"PyTorch's default) and {spec.name} has none, as PyTorch says too: "
            f"give {name}:cycle_momentum=false."
        )
    cycled = ", ".join(CYCLED)
    # a PyTorch scheduler drives a PyTorch optimizer: offer the one that matches
    instead = (
        ""
        if spec.name.startswith("torch.")
        else "train with --optimizer torch.sgd (or another of those), or "
    )
    raise InputError(
        f"{name} cycles the momentum (beta1) of {cycled} "
        f"(cycle_momentum=true, PyTorch's default); gradtrace does not cycle "
        f"{spec.name}'s: {instead}give {name}:cycle_momentum=false to schedule "
        "the rate alone."
    )


def _plateau_as_written(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """A plateau's parameters without those the framework's own code may carry
    that change nothing here (``mode="min"``, ``verbose``); those it does not
    support are told so."""
    out = {}
    for key, value in given.items():
        text = str(value).strip().strip("'\"")
        if key == "verbose":
            continue
        if key == "mode":
            if text != "min":
                raise InputError(
                    f"schedule {name!r}: mode={text} is not supported: it watches "
                    "a loss, which falls (mode=min); leave mode out."
                )
            continue
        if key == "monitor":
            if text not in ("loss", "val_loss"):
                raise InputError(
                    f"schedule {name!r} watches the epoch's training loss as Keras "
                    "logs it (monitor=loss) or the validation data's after the "
                    f"epoch (monitor=val_loss), not {text}: give one of those."
                )
            value = text
        out[key] = value
    return out


def schedule_notices(
    schedule: LrSchedule, n_steps: int, per_epoch: int, lr: float
) -> list[str]:
    """What of ``schedule`` a run of ``n_steps`` steps of ``per_epoch`` an epoch
    never reaches: a SequentialLR milestone past its end, a plateau whose patience
    leaves no epoch to cut the rate in, or whose min_lr is not below ``lr``."""
    count = schedule.scheduler_steps(n_steps, per_epoch)
    by_batch = schedule.unit(per_epoch) == 1 and per_epoch > 1
    unit = "batches" if by_batch else "epochs"
    out = []
    if schedule.name == "torch.sequential":
        held = schedule.params["schedulers"]
        for i, mark in enumerate(schedule.params["milestones"]):
            if mark >= count:
                out.append(
                    f"torch.sequential's milestone {mark} lies past the run's "
                    f"{count} {unit}: its schedule {held[i + 1].name} never takes "
                    f"over (train for more than {mark} {unit}, or an earlier "
                    "milestone)"
                )
    if schedule.adaptive:
        patience = int(schedule.params["patience"])
        # the first epoch always improves; PyTorch cuts after more than patience
        # bad epochs, Keras after patience; a cut after the last whole epoch
        # changes no step
        first = patience + (2 if schedule.name == "torch.plateau" else 1)
        whole = n_steps // per_epoch
        floor = float(schedule.params["min_lr"])
        if floor >= lr:
            out.append(
                f"{schedule.name}'s min_lr={floor:g} is not below the rate {lr:g}, "
                "so it never cuts it (give a min_lr below the rate)"
            )
        elif first >= whole:
            out.append(
                f"{schedule.name} with patience={patience} cuts the rate after "
                f"epoch {first} at the earliest, and the run has {whole} whole "
                f"epoch{'s' if whole != 1 else ''}: it keeps the rate throughout "
                "(train more epochs, or lower patience)"
            )
    return out


def _schedule_expression(name: str, key: str, value: Any) -> str:
    """A schedule's expression in ``epoch`` (LambdaLR's ``lr_lambda``), as text
    that parses, or a one-line InputError."""
    if callable(value):
        raise InputError(
            f"schedule {name!r}: {key} is written as text, an expression in epoch "
            "such as '0.95**epoch' (a Python function could not be saved with the "
            "run)."
        )
    text = str(value).strip()
    names, _ = expr.host(text, what=f"schedule {name!r} {key}")
    if name == KERAS_SCHEDULER:  # LearningRateScheduler's schedule(epoch, lr)
        others = [n for n in names if n not in ("epoch", "lr")]
        if others:
            raise InputError(
                f"schedule {name!r}: {key} may use only the names epoch (from 0) "
                f"and lr (the rate before), not {others[0]!r}: write it with "
                "those, such as 'lr if epoch < 10 else lr * exp(-0.1)'."
            )
        return text
    others = [n for n in names if n != "epoch"]
    if others:
        raise InputError(
            f"schedule {name!r}: {key} is an expression in epoch (the scheduler's "
            f"count), got the name {others[0]!r}: write it with epoch alone, such "
            "as 0.95**epoch."
        )
    return text


def _schedule_list(name: str, key: str, value: Any) -> tuple[LrSchedule, ...]:
    """The schedules a composite holds: text, ``[torch.linear(start_factor=0.1,
    total_iters=5),torch.cosine(T_max=95)]``, or a list of such texts, dicts or
    schedules; each one that PyTorch's composite steps as gradtrace computes it,
    stepped as the composite is (no ``by_batch`` of its own)."""
    example = (
        f"as {key}=[torch.linear(start_factor=0.1,total_iters=5),"
        "torch.cosine(T_max=95)]"
    )
    if isinstance(value, str):
        inner = value.strip()
        if inner.startswith("[") != inner.endswith("]"):
            raise InputError(
                f"schedule {name!r}: {key} misses a bracket in {inner!r}: {example} "
                "(quoted for the shell)."
            )
        if inner.startswith("["):
            inner = inner[1:-1]
        items: list[Any] = [v for v in _top_level(inner) if v.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    if not items:
        raise InputError(f"schedule {name!r}: {key} needs a schedule, {example}.")
    out = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
            if "(" not in text and "=" in text and ":" not in text:
                own = text.partition("=")[0].strip()
                if own in SCHEDULES[name].defaults:
                    raise InputError(
                        f"schedule {name!r}: {key} misses the ']' that closes it "
                        f"before {own}=: {example}."
                    )
                raise InputError(
                    f"schedule {name!r}: {key} has {text!r} outside a schedule's "
                    "parentheses: write each schedule as NAME(KEY=VALUE,...), "
                    f"{example}."
                )
        try:
            sub = lr_schedule(item, nested=True)
        except InputError as e:
            raise InputError(f"schedule {name!r}, in its {key}: {e}") from None
        if sub is None:
            raise InputError(f"schedule {name!r}: {key} has an empty schedule.")
        if sub.name in PLATEAUS:
            raise InputError(
                f"schedule {name!r} cannot hold {sub.name}: its rate follows the "
                "epoch's loss, which a composite does not pass it (nor does "
                f"PyTorch's): give {sub.name} as the run's schedule on its own."
            )
        if sub.name not in CHAINABLE:
            raise InputError(
                f"schedule {name!r} holds {', '.join(sorted(CHAINABLE))}, not "
                f"{sub.name} (its counts are its own, which gradtrace does not "
                f"step inside another schedule): {example}."
            )
        if sub.params.get("by_batch"):
            raise InputError(
                f"schedule {name!r}: the schedules in it are stepped when it is: "
                f"give by_batch=true to {name} itself, not to {sub.name}."
            )
        out.append(sub)
    return tuple(out)


def _sequence_fits(subs: tuple[LrSchedule, ...], milestones: Any) -> None:
    """SequentialLR's milestones: one fewer than its schedules, rising."""
    if milestones is None:
        return  # told as a missing parameter
    if len(subs) < 2:
        raise InputError(
            "schedule 'torch.sequential' takes two or more schedules, one after "
            f"another; for {subs[0].name} alone, give it as the schedule."
        )
    if len(milestones) != len(subs) - 1:
        raise InputError(
            "schedule 'torch.sequential': milestones are the epochs where each "
            "schedule after the first takes over, one fewer than the schedules: "
            f"got {len(subs)} schedules and {len(milestones)} milestones."
        )
    if any(b <= a for a, b in zip(milestones, milestones[1:], strict=False)):
        raise InputError(
            "schedule 'torch.sequential': milestones are epochs in rising order, "
            f"got {list(milestones)}."
        )


#: The frameworks' schedule classes, and their presets
SCHEDULE_CLASSES = {
    "exponentialdecay": "keras.exponential",
    "inversetimedecay": "keras.inverse_time",
    "cosinedecay": "keras.cosine",
    "cosinedecayrestarts": "keras.cosine_restarts",
    "polynomialdecay": "keras.polynomial",
    "piecewiseconstantdecay": "keras.piecewise",
    "learningratescheduler": "keras.scheduler",
    "steplr": "torch.step",
    "exponentiallr": "torch.exponential",
    "cosineannealinglr": "torch.cosine",
    "multisteplr": "torch.multistep",
    "linearlr": "torch.linear",
    "polynomiallr": "torch.polynomial",
    "cosineannealingwarmrestarts": "torch.cosine_restarts",
    "lambdalr": "torch.lambda",
    "multiplicativelr": "torch.multiplicative",
    "constantlr": "torch.constant",
    "sequentiallr": "torch.sequential",
    "chainedscheduler": "torch.chained",
    "onecyclelr": "torch.onecycle",
    "cycliclr": "torch.cyclic",
}


def _by_class(name: str, given: dict[str, str] | None = None) -> str | None:
    """What to give for a schedule named by its framework's class (Keras's
    ExponentialDecay, PyTorch's torch.optim.lr_scheduler.StepLR: a suggestion
    took ExponentialDecay for torch.exponential, PyTorch's per-epoch one), or
    None. ReduceLROnPlateau is both frameworks': both are named."""
    cls = name.strip().rsplit(".", 1)[-1]
    if cls.lower() == "reducelronplateau":
        return (
            f"schedule {name.strip()!r}: give keras.plateau (Keras's callback) "
            "or torch.plateau (PyTorch's scheduler)."
        )
    preset = SCHEDULE_CLASSES.get(cls.lower())
    if preset is None or name.strip().lower() == preset:
        return None
    whose = "Keras's" if preset.startswith("keras.") else "PyTorch's"
    # with the parameters given, so that the line can be pasted
    shown = ",".join(f"{k}={v}" for k, v in (given or {}).items())
    return f"schedule {name.strip()!r} is {whose} {cls}: give {preset}" + (
        f":{shown}." if shown else "."
    )


def _top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and parentheses:
    ``milestones=[30,80],gamma=0.5`` is two parts, and so is
    ``lr_lambda=minimum(1, epoch / 5),by_batch=true``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1, "(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _list_items(value: Any) -> list[Any]:
    """The items of a list given as text (``[30,80]``, ``30``) or in Python."""
    if isinstance(value, str):
        inner = value.strip().removeprefix("[").removesuffix("]")
        return [v for v in inner.split(",") if v.strip()]
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value]


def _number_list(name: str, key: str, value: Any, whole: bool) -> tuple[Any, ...]:
    """A list of numbers >= 0 (``[100,200]``, ``0.1``, or a Python list):
    ``whole``, step counts."""
    items = _list_items(value)
    numbers: list[Any] = []
    what = "step counts, whole numbers from 0" if whole else "rates, numbers >= 0"
    example = "[100,200]" if whole else "[0.1,0.01,0.001]"
    for item in items:
        try:
            number = _number(item)
        except (TypeError, ValueError):
            number = -1.0
        if not math.isfinite(number) or number < 0 or whole and number != int(number):
            raise InputError(
                f"schedule {name!r}: {key} are {what}, as {key}={example}; got "
                f"{value!r}."
            )
        numbers.append(int(number) if whole else number)
    if not numbers:
        raise InputError(
            f"schedule {name!r}: {key} needs at least one, as {key}={example}."
        )
    return tuple(numbers)


def _epoch_list(name: str, key: str, value: Any) -> tuple[int, ...]:
    """A list of epochs (``[30,80]``, ``30``, or a Python list): whole numbers of
    at least 1; MultiStepLR's from 0 (a milestone 0 applies gamma from the start,
    as its constructor's first step does)."""
    items = _list_items(value)
    epochs: list[int] = []
    least = 0 if name == "torch.multistep" else 1
    for item in items:
        try:
            number = _number(item)
        except (TypeError, ValueError):
            number = -1.0
        if not math.isfinite(number) or number < least or number != int(number):
            raise InputError(
                f"schedule {name!r}: {key} are epochs, whole numbers of at least "
                f"{least}, as {key}=[30,80]; got {value!r}."
            )
        epochs.append(int(number))
    if not epochs:
        raise InputError(
            f"schedule {name!r}: {key} needs at least one epoch, as {key}=[30,80]."
        )
    return tuple(epochs)
