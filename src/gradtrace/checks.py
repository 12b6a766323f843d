"""Small checks of input that any module of gradtrace's input shares: a choice
among names (with the one most likely meant), whole numbers, numbers that are not
booleans, truth values, a dict's ``name``. Each raises ``InputError`` with one
line that says what to give."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gradtrace.errors import InputError
from gradtrace.text import close_names

#: Steps, epochs and batch sizes must fit the int32 step counter.
MAX_COUNT = 2**31 - 1

#: Other names of a choice, as other tools and textbooks call it.
CHOICE_ALIASES = {"gaussian": "normal", "logit": "logistic"}


def _suggest(value: str, choices: Sequence[str]) -> str:
    """The choices, and the one ``value`` most likely means (a close spelling, the
    only one it begins: Keras's "acc" for accuracy), or those it is a part of
    ("norm": torch.norm, keras.norm, ...)."""
    folded = value.strip().lower()
    close = close_names(value, list(choices))
    if CHOICE_ALIASES.get(folded) in choices:
        close = [CHOICE_ALIASES[folded]]
    parts = [c for c in choices if folded and folded in c.lower().split(".")[-1]]
    if close:
        hint = f" Did you mean {' or '.join(repr(c) for c in close[:3])}?"
    elif 1 < len(parts) < len(choices):
        hint = f" Did you mean one of {', '.join(parts)}?"
    else:
        hint = ""
    return f"choose one of: {', '.join(choices)}.{hint}"


def choice(what: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices`` (in any case), else an InputError
    listing them."""
    if value in choices:
        return value
    lowered = {c.lower(): c for c in choices}
    if str(value).lower() in lowered:
        return lowered[str(value).lower()]
    raise InputError(f"unknown {what} {value!r}: {_suggest(str(value), choices)}")


def whole(value: Any) -> Any:
    """``value``, or the int of a float of a whole value (Python's 1e4, 1.0), or
    of its text ("10", "1e4": read from a configuration file, as a learning
    rate's "0.01" is)."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        if math.isfinite(number) and number.is_integer():
            return int(number)
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value


def positive_int(what: str, value: Any, flag: str) -> int:
    """A whole number >= 1 (a float of a whole value, 1e4 in Python, is one)."""
    value = whole(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(
            f"{what} must be a whole number, got {value!r}: pass {flag} "
            "with a positive integer."
        )
    if value < 1:
        raise InputError(
            f"{what} must be at least 1, got {value}: pass {flag} with a "
            "positive integer."
        )
    if value > MAX_COUNT:
        raise InputError(
            f"{what} must be at most {MAX_COUNT:,}, got {value}: pass {flag} with a "
            "smaller number."
        )
    return int(value)


def _number(value: Any) -> float:
    """``float(value)``, but not of True or False (whose floats are 1 and 0)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(value)
    return float(value)


def finite_number(what: str, value: Any) -> float:
    """``value`` as a finite float (not True or False), or a one-line refusal
    that names ``what`` ("--opt momentum", "early stopping patience")."""
    try:
        number = _number(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be finite, got {value!r}.")
    return number


#: The words a switch is given by, on the command line or in Python.
SWITCH_WORDS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _boolean(what: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)  # a sweep's values read as numbers: 1,0
    text = str(value).strip().lower()
    if text in SWITCH_WORDS:
        return SWITCH_WORDS[text]
    raise InputError(f"{what} must be true or false, got {value!r}.")


def _named(what: str, value: Mapping[str, Any], example: str) -> tuple[str, Any]:
    """A dict's ``name`` and the rest of it (a schedule's or a clipping's)."""
    given = dict(value)
    name = given.pop("name", None)
    if not isinstance(name, str):
        raise InputError(f"{what} as a dict needs its 'name': {example}.")
    return name, given


def repeated(values: Sequence[Any]) -> str | None:
    """The numbers ``values`` list more than once, as "0.1, 0.3" (three at
    most), or None: a sweep would run their configuration twice, over one cell
    of its heatmap."""
    numbers = Counter(
        float(v) for v in values if isinstance(v, (int, float, np.number))
    )
    twice = sorted(v for v, n in numbers.items() if n > 1)
    return ", ".join(f"{v:g}" for v in twice[:3]) if twice else None
