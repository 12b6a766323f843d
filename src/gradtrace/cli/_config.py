"""``gradtrace fit --config run.toml``: every option is a TOML key.

Keys are the option names (``batch-size`` or ``batch_size``); ``init``, ``fix`` and
``opt`` are tables (``[init]`` then ``w = 0.5``); ``x`` is a string or a list;
``lr-schedule`` is its text or a table with its ``name`` and parameters
(``[lr-schedule]`` then ``name = "torch.plateau"``, ``patience = 5``; a composite's
``schedulers`` an array of such tables). Options given on the command line
override the file.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from gradtrace.errors import InputError

_NUMBER = "a number"
_INTEGER = "an integer"
_TEXT = "a string"
_BOOL = "true or false"
_SHUFFLE = (
    'true, false, "torch" (PyTorch\'s DataLoader order) or "keras" (Keras 3\'s fit '
    "order)"
)
_TABLE = "a table of NAME = value"
_TABLE_OR_TEXT = "a string such as 'patience=3' or a table of NAME = value"
_COLUMNS = "a string or a list of strings"
_SCHEDULE = (
    "a string such as 'torch.step:step_size=10', or a table with name = "
    "'torch.step' and its parameters"
)

KEYS: dict[str, str] = {
    "data": _TEXT,
    "model": _TEXT,
    "loss": _TEXT,
    "x": _COLUMNS,
    "y": _TEXT,
    "optimizer": _TEXT,
    "lr": _NUMBER,
    "opt": _TABLE,
    "lr_schedule": _SCHEDULE,
    "clip": _TEXT,
    "epochs": _INTEGER,
    "steps": _INTEGER,
    "batch_size": _INTEGER,
    "shuffle": _SHUFFLE,
    "torch_order": _BOOL,
    "keras_order": _BOOL,
    "drop_last": _BOOL,
    "seed": _INTEGER,
    "init": _TABLE,
    "fix": _TABLE,
    "reduction": _TEXT,
    "dtype": _TEXT,
    "compute_dtype": _TEXT,
    "eval_every": _INTEGER,
    "drop_missing": _BOOL,
    "exact": _BOOL,
    "out": _TEXT,
    "force": _BOOL,
    "print_every": _INTEGER,
    "quiet": _BOOL,
    "plot": _BOOL,
    "model_expr": _TEXT,
    "model_file": _TEXT,
    "degree": _INTEGER,
    "standardize": _BOOL,
    "offset": _TEXT,
    "categorical": _COLUMNS,
    "loss_expr": _TEXT,
    "delta": _NUMBER,
    "metrics": _COLUMNS,
    "param_space": _TEXT,
    "checkpoint_every": _INTEGER,
    "devices": _INTEGER,
    "stream": _BOOL,
    "chunk_rows": _INTEGER,
    "shuffle_window": _INTEGER,
    "validation_split": _NUMBER,
    "validation_data": _TEXT,
    "early_stopping": _TABLE_OR_TEXT,
    "stderr": _TEXT,
    "intervals": _TEXT,
    "level": _NUMBER,
}


def read_config(path: Path) -> dict[str, Any]:
    """The options in a TOML file, checked against ``KEYS``, by Python name."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(
            f"config file {str(path)!r} not found: check the path."
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read config file {str(path)!r} ({err}).") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(
            f"config file {str(path)!r} is not valid TOML ({err})."
        ) from None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        name = {"metric": "metrics"}.get(name, name)
        if name not in KEYS:
            meant = _meant_key(key)
            hint = f" Did you mean {meant!r}?" if meant else ""
            raise InputError(
                f"config file {str(path)!r} has an unknown key {key!r}: "
                f"the keys are fit's options.{hint}"
            )
        if not _fits(KEYS[name], value):
            raise InputError(
                f"config key {key!r} in {str(path)!r} must be "
                f"{KEYS[name]}, got {value!r}."
            )
        out[name] = value
    return out


def _meant_key(key: str) -> str | None:
    """The key that ``key`` most likely means, written as its option (batch-size;
    batch_size where ``key`` has underscores): another library's name for it
    (learning_rate for lr, as ``arguments.ARGUMENT_ALIASES`` has them for Python's
    keywords), else the closest spelling."""
    from gradtrace.arguments import ARGUMENT_ALIASES

    name = key.replace("-", "_").lower()
    meant = ARGUMENT_ALIASES.get(name)
    if meant not in KEYS:
        close = difflib.get_close_matches(name, list(KEYS), n=1)
        meant = close[0] if close else None
    if meant is None:
        return None
    return meant if "_" in key else meant.replace("_", "-")


def _fits(kind: str, value: Any) -> bool:
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _SHUFFLE:
        return isinstance(value, bool) or str(value).strip().lower() in (
            "torch",
            "keras",
        )
    if kind == _COLUMNS:
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
    if kind == _SCHEDULE:
        return isinstance(value, str) or (
            isinstance(value, dict) and isinstance(value.get("name"), str)
        )
    if kind == _TABLE_OR_TEXT:
        return isinstance(value, str) or _fits(_TABLE, value)
    if kind == _TABLE:
        return isinstance(value, dict) and all(
            isinstance(v, (int, float, bool, str, list)) for v in value.values()
        )
    return False


#: Where ``click.Context.meta`` keeps the config file's path and the options it
#: set (those the command line left to it), by their flags, for
#: ``named_from_file``.
META_KEY = "gradtrace.config"

_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def remember(path: str | Path, flags: dict[str, tuple[str, Any]]) -> None:
    """Keep, on the current command's click context, which flags' values came from
    the config file at ``path`` (flag -> its key and value), so that a bad value's
    message says where it was written (``named_from_file``)."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is not None and flags:
        ctx.meta[META_KEY] = (str(path), flags)


def named_from_file(message: str, path: str, flags: dict[str, tuple[str, Any]]) -> str:
    """A bad-input message that names flags whose values came from the config
    file at ``path``, with where they were written: "... give a positive --lr,
    such as 0.01." as "... such as 0.01 (run.toml sets lr = -1)." ``flags``: flag
    -> (key, value), as ``remember`` keeps them."""
    keys: list[str] = []
    for flag in _FLAG.findall(message):
        if flag in flags:
            key, value = flags[flag]
            said = f"[{key}]" if isinstance(value, dict) else f"{key} = {_toml(value)}"
            if said not in keys:
                keys.append(said)
    if not keys:
        return message
    body = message[:-1] if message.endswith(".") else message
    return f"{body} ({Path(path).name} sets {', '.join(keys)})."


def _toml(value: Any) -> str:
    """``value`` as a TOML file writes it (strings in double quotes, true/false)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
