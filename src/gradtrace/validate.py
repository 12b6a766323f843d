"""Checks at the boundary: every bad-input message gradtrace gives is written here.

Each message names the problem, where it is, and what to do, in one line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.core.losses import LOSSES, REDUCTIONS, param_specs
from gradtrace.core.models import MODELS, Model, ParamSpec, make_model
from gradtrace.core.optimizers import PRESETS, OptimizerSpec
from gradtrace.errors import InputError

DTYPES = ("float32", "float64")
#: Steps, epochs and batch sizes must fit the int32 step counter.
MAX_COUNT = 2**31 - 1


def _suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
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


def positive_int(what: str, value: Any, flag: str) -> int:
    """A whole number >= 1."""
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


def learning_rate(value: Any) -> float:
    """A finite learning rate > 0."""
    try:
        lr = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"learning rate must be a positive number, got {value!r}: "
            "give a positive --lr (lr= in Python), such as 0.01."
        ) from None
    if not math.isfinite(lr) or lr <= 0:
        raise InputError(
            f"learning rate must be a positive number, got {value!r}: "
            "give a positive --lr (lr= in Python), such as 0.01."
        )
    return lr


def model_name(name: str) -> tuple[str, str]:
    """The model's canonical name and kind (``regression`` or ``distribution``)."""
    name = choice("model", name, list(MODELS))
    return name, make_model(name).kind


def model(name: str, loss: str | None, n_x: int) -> tuple[Model, str]:
    """The model object and its loss (the model's default when ``loss`` is None)."""
    name = choice("model", name, list(MODELS))
    m = make_model(name, max(n_x, 1))
    if loss is None:
        loss = "nll" if m.kind == "distribution" else "mse"
    loss = choice("loss", loss, list(LOSSES))
    if m.kind == "distribution" and loss != "nll":
        raise InputError(
            f"model {name!r} is a distribution, fitted by its likelihood: "
            "use --loss nll."
        )
    return m, loss


def optimizer(name: str, lr: Any, overrides: Mapping[str, Any]) -> OptimizerSpec:
    """The optimizer spec, with ``--lr`` and ``--opt KEY=VALUE`` applied."""
    name = choice("optimizer", name, list(PRESETS))
    preset = PRESETS[name]
    hyper: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in ("lr", "learning_rate") and key != preset.lr_key:
            raise InputError(
                f"optimizer {name!r} calls its learning rate {preset.lr_key!r}: "
                "give it with --lr (lr= in Python)."
            )
        if key not in preset.defaults:
            raise InputError(
                f"optimizer {name!r} has no hyper-parameter {key!r}: "
                f"{_suggest(key, list(preset.defaults))}"
            )
        default = preset.defaults[key]
        if isinstance(default, bool):
            hyper[key] = _boolean(f"--opt {key}", value)
        else:
            try:
                hyper[key] = float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"--opt {key} must be a number, got {value!r}."
                ) from None
            if not math.isfinite(hyper[key]):
                raise InputError(f"--opt {key} must be finite, got {value!r}.")
    if preset.lr_key in hyper and lr is not None:
        raise InputError(
            f"the learning rate is given twice (--lr and --opt "
            f"{preset.lr_key}): give it once."
        )
    if lr is not None:
        hyper[preset.lr_key] = learning_rate(lr)
    elif preset.lr_key in hyper:
        hyper[preset.lr_key] = learning_rate(hyper[preset.lr_key])
    return OptimizerSpec.create(name, **hyper)


def _boolean(what: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"{what} must be true or false, got {value!r}.")


def param_values(
    specs: Sequence[ParamSpec],
    init: Mapping[str, Any],
    fix: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Initial values of the trainable parameters and values of the fixed ones.

    Unnamed parameters start at their documented default.
    """
    by_name = {s.name: s for s in specs}
    names = list(by_name)
    for flag, given in (("--init", init), ("--fix", fix)):
        for key in given:
            if key not in by_name:
                raise InputError(
                    f"{flag} {key}: the model has no parameter {key!r}; "
                    f"{_suggest(key, names)}"
                )
    both = sorted(set(init) & set(fix))
    if both:
        raise InputError(
            f"parameter {both[0]!r} is given to both --init and --fix: "
            "a parameter is either trained from a start or fixed."
        )
    if len(fix) == len(names):
        raise InputError("every parameter is fixed: leave at least one to train.")
    values: dict[str, np.ndarray] = {}
    for s in specs:
        raw = init.get(s.name, fix.get(s.name, s.default))
        flag = "--fix" if s.name in fix else "--init"
        values[s.name] = _param_value(s, raw, flag)
    trainable = {k: v for k, v in values.items() if k not in fix}
    fixed = {k: v for k, v in values.items() if k in fix}
    return trainable, fixed


def _param_value(spec: ParamSpec, raw: Any, flag: str) -> np.ndarray:
    given = raw
    if isinstance(raw, str):
        given = raw.strip()
        raw = [p for p in raw.replace(";", ",").split(",") if p.strip()]
    shown = given if isinstance(given, str) else repr(given)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{flag} {spec.name}={shown} is not a number.") from None
    if spec.size is None:
        if arr.size != 1:
            raise InputError(f"{flag} {spec.name} takes one number, got {arr.size}.")
        arr = arr.reshape(())
    elif arr.size == 1:
        arr = np.full(spec.size, float(arr.reshape(-1)[0]))
    elif arr.shape != (spec.size,):
        raise InputError(
            f"{flag} {spec.name} takes {spec.size} numbers (one per x "
            f"column, comma-separated), got {arr.size}."
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{flag} {spec.name} must be finite, got {shown}.")
    if spec.constraint == "positive" and np.any(arr <= 0):
        raise InputError(
            f"{flag} {spec.name}={shown}: {spec.name} must be positive "
            f"(it is a {spec.doc or 'positive parameter'})."
        )
    return arr


def x_columns(
    frame: pd.DataFrame, model: str, kind: str, x: Sequence[str] | None, y: str
) -> list[str]:
    """The x columns a model reads: ``--x`` (repeatable, or comma-separated), else
    ``x`` for a line, else every column but y for ``linear``."""
    if kind == "distribution":
        if x:
            raise InputError(
                "--x is for regression models; a distribution is fitted "
                "to --y alone: drop --x."
            )
        return []
    cols = [c.strip() for item in (x or []) for c in str(item).split(",") if c.strip()]
    if not cols:
        names = [str(c) for c in frame.columns]
        cols = ["x"] if model == "line" else [c for c in names if c != y]
        if not cols:
            raise InputError(f"no x columns besides {y!r}: pass --x once per column.")
    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        raise InputError(f"--x {dup} is given twice: give each x column once.")
    if y in cols:
        raise InputError(
            f"column {y!r} is both the target (--y) and an x column: choose other "
            "x columns."
        )
    if model == "line" and len(cols) > 1:
        raise InputError(
            f"model 'line' takes one x column, got {len(cols)} ({', '.join(cols)}): "
            "use --model linear for several."
        )
    return cols


def columns(
    frame: pd.DataFrame,
    kind: str,
    x: Sequence[str] | None,
    y: str,
    source: str,
    dtype: str = "float64",
) -> tuple[np.ndarray | None, np.ndarray]:
    """The x and y arrays, as float64, from named columns of ``frame``."""
    names = [str(c) for c in frame.columns]
    wanted = ([] if kind == "distribution" else list(x or ["x"])) + [y]
    for col in wanted:
        if col not in names:
            flag = "--y" if col == y else "--x"
            raise InputError(
                f"column {col!r} not found in {source} (columns: "
                f"{', '.join(names)}): pass {flag} with one of them."
            )
    if len(frame) < 2:
        raise InputError(
            f"{source} has {len(frame)} row{'s' if len(frame) != 1 else ''}"
            ": a fit needs at least two rows of data."
        )
    arrays = {c: _numeric(frame[c], c, source) for c in wanted}
    limit = float(np.finfo(np.dtype(dtype)).max)
    for c, values in arrays.items():
        big = np.isfinite(values) & (np.abs(values) > limit)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise InputError(
                f"column {c!r} of {source} has {values[i]:g} in {_row(i, source)}, "
                f"beyond {dtype}: use --dtype float64, or rescale the data."
            )
    xs = None
    if kind != "distribution":
        xs = np.stack([arrays[c] for c in (x or ["x"])], axis=1)
    return xs, arrays[y]


def _row(i: int, source: str) -> str:
    """'data row 3', plus the file's line number for a text file with a header."""
    text = source.rstrip("'").lower().endswith((".csv", ".tsv", ".tab", ".txt"))
    if text or source == "standard input":
        return f"data row {i + 1} (line {i + 2})"
    return f"data row {i + 1}"


def _numeric(col: pd.Series, name: str, source: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"column {name!r} of {source} has a non-numeric value "
            f"{col.iloc[i]!r} in {_row(i, source)}: fix or remove it."
        )
    return values.to_numpy(dtype=np.float64)


def finite_rows(
    x: np.ndarray | None, y: np.ndarray, drop: bool, source: str
) -> tuple[np.ndarray | None, np.ndarray, int]:
    """Rows without NaN or infinity; with ``drop``, the others dropped and counted."""
    ok = np.isfinite(y)
    if x is not None:
        ok &= np.isfinite(x).all(axis=1)
    n_bad = int((~ok).sum())
    if n_bad and not drop:
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"{source} has a missing or infinite value in {_row(i, source)}"
            f" ({n_bad} such row{'s' if n_bad > 1 else ''}): clean the "
            "data, or pass --drop-missing to drop them."
        )
    if n_bad:
        x = None if x is None else x[ok]
        y = y[ok]
        if len(y) < 2:
            raise InputError(
                f"{source} has fewer than two rows left after dropping "
                f"{n_bad} rows with missing values."
            )
    return x, y, n_bad


def dtype(value: str, what: str = "dtype") -> str:
    return choice(what, value, DTYPES)


def reduction(value: str) -> str:
    return choice("reduction", value, REDUCTIONS)


def specs_for(m: Model, loss: str) -> tuple[ParamSpec, ...]:
    return param_specs(m, loss)
