"""Early stopping as the user writes it (``--early-stopping
"patience=3,restore_best_weights=true"``, or a dict of Keras's
``EarlyStopping`` arguments), checked; and the values it watches, from a run's
table of epochs (``tables.history``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.checks import _boolean, _suggest, choice, finite_number, whole
from gradtrace.core.early_stopping import EarlyStopping
from gradtrace.core.metrics import KERAS_METRIC_NAMES, METRICS
from gradtrace.errors import InputError

EXAMPLE = "such as --early-stopping patience=3,restore_best_weights=true"


def early_stopping(value: Any) -> EarlyStopping | None:
    """Keras's ``EarlyStopping`` from text (``KEY=VALUE,...``, optionally after
    ``keras.early_stopping:``) or a dict of its arguments; None for none.
    ``verbose`` is taken and changes nothing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, EarlyStopping):
        return value
    if isinstance(value, Mapping):
        given = {str(k): v for k, v in value.items()}
    elif isinstance(value, str):
        text = value.strip()
        name, colon, rest = text.partition(":")
        if colon and "=" not in name:
            if name.strip() not in ("keras.early_stopping", "early_stopping"):
                raise InputError(
                    f"early stopping is Keras's EarlyStopping, not {name.strip()!r}: "
                    f"give its arguments, {EXAMPLE}."
                )
            text = rest
        given = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, eq, item = part.partition("=")
            if not eq or not key.strip():
                raise InputError(
                    f"early stopping takes KEY=VALUE,KEY=VALUE, got {part!r}: "
                    f"{EXAMPLE}."
                )
            given[key.strip()] = item.strip().strip("'\"")
    else:
        raise InputError(
            f"early stopping must be text or a dict, not a {type(value).__name__}: "
            f"{EXAMPLE}, or {{'patience': 3}} in Python."
        )
    defaults = EarlyStopping()
    fields = defaults.to_dict()
    out: dict[str, Any] = {}
    for key, item in given.items():
        if key == "verbose":
            continue
        if key not in fields:
            raise InputError(
                f"EarlyStopping has no argument {key!r}: {_suggest(key, list(fields))}"
            )
        if key == "monitor":
            out[key] = _monitor(str(item))
        elif key == "mode":
            out[key] = choice("early stopping mode", str(item), ["auto", "min", "max"])
        elif key == "restore_best_weights":
            out[key] = _boolean("restore_best_weights", item)
        elif key in ("patience", "start_from_epoch"):
            count = whole(finite_number(f"early stopping {key}", item))
            if not isinstance(count, int) or count < 0:
                raise InputError(
                    f"early stopping {key} counts epochs: give a whole number "
                    f">= 0, got {item!r}."
                )
            out[key] = count
        elif key == "baseline" and str(item).lower() in ("none", "null"):
            out[key] = None
        else:  # min_delta, baseline
            out[key] = finite_number(f"early stopping {key}", item)
    return EarlyStopping(**out)


def _monitor(text: str) -> str:
    """``loss``, ``val_loss``, a metric or its ``val_`` value (Keras's names
    taken too: ``root_mean_squared_error``)."""
    val = text.startswith("val_")
    name = text.removeprefix("val_")
    name = KERAS_METRIC_NAMES.get(name.lower(), name)
    names = ["loss", *METRICS]
    if name not in names:
        raise InputError(
            f"early stopping watches loss, val_loss, a metric or its val_ value "
            f"(such as val_rmse), not {text!r}: "
            + _suggest(text, [*names, *(f"val_{n}" for n in names)])
        )
    return f"val_{name}" if val else name


def check_fits(rule: EarlyStopping, metrics: tuple[str, ...], validation: bool) -> None:
    """The watched value is one the run takes: a val_ value needs validation
    data, a metric its ``--metric``."""
    name = rule.monitor.removeprefix("val_")
    if rule.monitor.startswith("val_") and not validation:
        raise InputError(
            f"early stopping watches {rule.monitor} (Keras's default): give "
            "validation data (--validation-split 0.2 or --validation-data FILE), or "
            "watch the training loss (monitor=loss)."
        )
    if name != "loss" and name not in metrics:
        raise InputError(
            f"early stopping watches {rule.monitor}: add --metric {name} "
            f"(metrics=[{name!r}] in Python)."
        )


def watched(epochs: pd.DataFrame, rule: EarlyStopping) -> np.ndarray:
    """The watched value after each epoch, from ``tables.history``'s table:
    the loss or metric as Keras logs it at the epoch's end, or its ``val_``
    value."""
    return epochs[rule.monitor].to_numpy(np.float64)
