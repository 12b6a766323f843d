"""A run's configuration as given (``RunConfig``), the model and loss of a Python
call, and the Python names of its bad-input messages."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np

from gradtrace.arguments import in_python, no_argument
from gradtrace.errors import (
    COMMAND_LINE,
    InputError,
    RunFolderError,
    from_callers_line,
)


@dataclass
class RunConfig:
    """Every argument of a run, as given (``None`` where the default applies)."""

    data: str | None = None
    model: str = "line"
    loss: str | None = None
    x: list[str] | None = None
    y: str = "y"
    optimizer: str = "sgd"
    #: a learning-rate schedule: "torch.step:step_size=10,gamma=0.5" or
    #: {"name": "torch.step", "step_size": 10, "gamma": 0.5}
    lr_schedule: str | Mapping[str, Any] | None = None
    #: gradient clipping: "torch.norm=1.0" or {"name": "torch.norm", "max_norm": 1}
    clip: str | Mapping[str, Any] | None = None
    lr: float | str | None = None
    opt: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    #: True, False, "torch" (PyTorch DataLoader's order) or "keras" (Keras 3 fit's)
    shuffle: bool | str = True
    #: leave out each epoch's last partial batch (PyTorch's drop_last)
    drop_last: bool = False
    seed: int = 0
    init: dict[str, Any] = field(default_factory=dict)
    fix: dict[str, Any] = field(default_factory=dict)
    reduction: str = "mean"
    dtype: str = "float32"
    compute_dtype: str | None = None
    eval_every: int | None = None
    drop_missing: bool = False
    exact: bool = True
    degree: int | None = None
    standardize: bool = False
    #: a column added to the linear predictor as it is (logistic, Poisson)
    offset: str | None = None
    #: x columns of categories, each coded as 0/1 columns (``categories``); once
    #: planned, each column's categories by its name (the reference first)
    categorical: list[str] | dict[str, list[str]] = field(default_factory=list)
    delta: float | None = None
    model_expr: str | None = None
    model_file: str | None = None
    loss_expr: str | None = None
    param_space: str = "constrained"
    metrics: list[str] = field(default_factory=list)
    checkpoint_every: int | None = None
    devices: int = 1
    #: read a Parquet file a chunk at a time instead of whole (``--stream``)
    stream: bool = False
    chunk_rows: int | None = None
    shuffle_window: int | None = None
    #: hold out the last fraction of the rows (Keras's ``validation_split``)
    validation_split: float | None = None
    #: validation data of their own: a file or a built-in data set's name (None
    #: for data given in Python, which run.json names as such)
    validation_data: str | None = None
    #: Keras's EarlyStopping: "patience=3,restore_best_weights=true" or a dict
    early_stopping: str | Mapping[str, Any] | None = None
    #: the optimum's standard errors: "classical" (None), or robust ones,
    #: "hc0", "hc1", "hc2", "hc3" (``core.robust``)
    stderr: str | None = None
    #: the optimum's intervals: "wald" (estimate +- 1.96 standard errors at 95%)
    #: or "profile" (the profile likelihood's, for a likelihood fitted in memory)
    intervals: str = "wald"
    #: the share of its distribution each of the optimum's intervals holds
    level: float = 0.95

    def __post_init__(self) -> None:
        # a schedule or clipping given as gradtrace's object, as its dict (run.json
        # keeps the config, and rerun reads it back)
        for name in ("lr_schedule", "clip", "early_stopping"):
            value = getattr(self, name)
            if hasattr(value, "to_dict"):
                setattr(self, name, value.to_dict())
            elif isinstance(value, Mapping):
                setattr(self, name, dict(value))
        # one x column by its name (or its number), as fit, sweep and lr_find take it
        if isinstance(self.x, (str, int, np.integer)):
            self.x = [self.x]  # type: ignore[list-item]
        elif self.x is not None:
            self.x = list(self.x)
        if isinstance(self.categorical, str):  # one column by its name
            self.categorical = [self.categorical]
        elif isinstance(self.categorical, Mapping):  # a planned run's
            self.categorical = {
                str(k): [str(v) for v in vs] for k, vs in self.categorical.items()
            }
        else:
            self.categorical = [str(c) for c in self.categorical or []]
        # NumPy's and JAX's types by their names (np.float64 as "float64")
        for name in ("dtype", "compute_dtype"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                with contextlib.suppress(TypeError):
                    setattr(self, name, np.dtype(value).name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_P = ParamSpec("_P")


_R = TypeVar("_R")


def model_and_loss(
    model: Any, loss: Any, options: Mapping[str, Any]
) -> tuple[Any, Any, str, str | None]:
    """``objects`` of a Python call's ``model`` and ``loss``: no model is a line,
    unless ``options`` give ``model_file`` or ``model_expr``; a model given beside
    either is refused (which one to fit?)."""
    for other in ("model_file", "model_expr"):
        if model is not None and options.get(other) is not None:
            fitted = "the file's" if other == "model_file" else "the expression's"
            raise InputError(
                f"give model or {other}, not both: {fitted} model is the one fitted."
            )
    return objects("line" if model is None else model, loss)


def objects(model: Any, loss: Any) -> tuple[Any, Any, str, str | None]:
    """A model and a loss given by name or as Python objects: (the model object or
    None, the loss object or None, the model's name, the loss's name) as a run's
    configuration records them."""
    model_obj = None if isinstance(model, str) else model
    loss_obj = None if loss is None or isinstance(loss, str) else loss
    return (
        model_obj,
        loss_obj,
        model if model_obj is None else getattr(model, "name", "custom"),
        loss if loss_obj is None else str(loss),
    )


def python_names(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, whose bad-input messages (written for the command line) name
    its keyword arguments instead of the flags, for a Python caller ("--batch-size
    must be at least 1" as "batch_size must be at least 1": ``in_python``), raised
    from the caller's call with none of gradtrace's own frames."""
    parameters = inspect.signature(function).parameters
    keywords = set(parameters)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        keywords |= {f.name for f in dataclasses.fields(RunConfig)}  # **fit_options

    @functools.wraps(function)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for key in kwargs:
            if key not in keywords:
                raise InputError(no_argument(function.__name__, key, keywords))
        try:
            return function(*args, **kwargs)
        except (InputError, RunFolderError) as err:
            if not COMMAND_LINE.get():
                message = str(err)
                rewritten = in_python(message, keywords)
                if rewritten != message:
                    err.args = (rewritten,)
            raise

    # shown from the caller's line (from_callers_line)
    return from_callers_line(wrapped)
