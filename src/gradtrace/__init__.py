"""gradtrace: fit models with gradient steps and see every step.

Examples:
    >>> import gradtrace
    >>> trace = gradtrace.fit("seed004_keras", model="line", optimizer="keras.rmsprop",
    ...                       lr=0.05, batch_size=3, epochs=1, shuffle=False,
    ...                       init={"w": 0.5, "b": 0.0})
    >>> round(trace.params["w"], 6)
    1.092462
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


def _deterministic_gpu_reductions() -> None:
    """XLA's GPU sums may add in the order their threads finish (atomics), so the
    same run twice, or cut into other chunks (a checkpointed or resumed run), can
    differ in the last bits; a trace is meant to be reproducible, so gradtrace
    asks for XLA's deterministic GPU reductions, unless ``XLA_FLAGS`` already
    says (``--xla_gpu_deterministic_ops=false`` for the faster sums). Read when
    JAX starts its first backend: no effect once it has, nor on a CPU."""
    import os  # here: not gradtrace.os, the package's names are its own

    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()


_deterministic_gpu_reductions()

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "Distribution",
    "GradtraceError",
    "GradtraceWarning",
    "InputError",
    "Loss",
    "MODELS",
    "Model",
    "OPTIMIZERS",
    "SCHEDULES",
    "CLIPS",
    "RunConfig",
    "RunFolderError",
    "Trace",
    "batch_plan",
    "compare",
    "diagnose",
    "fit",
    "load",
    "lr_find",
    "resume",
    "sweep",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    from gradtrace.api import compare, fit, resume
    from gradtrace.core.batches import batch_plan
    from gradtrace.core.catalog import MODELS
    from gradtrace.core.clipping import CLIPS
    from gradtrace.core.custom import Distribution, Model
    from gradtrace.core.losses import Loss
    from gradtrace.core.optimizers import PRESETS as OPTIMIZERS
    from gradtrace.core.presets import SCHEDULES
    from gradtrace.data import DATASETS
    from gradtrace.diagnosing import diagnose
    from gradtrace.errors import (
        GradtraceError,
        GradtraceWarning,
        InputError,
        RunFolderError,
    )
    from gradtrace.lrfind import lr_find
    from gradtrace.run_config import RunConfig
    from gradtrace.saved_runs import load
    from gradtrace.sweeps import sweep
    from gradtrace.trace import Trace

_LAZY = {
    "fit": ("gradtrace.api", "fit"),
    "resume": ("gradtrace.api", "resume"),
    "compare": ("gradtrace.api", "compare"),
    "RunConfig": ("gradtrace.run_config", "RunConfig"),
    "batch_plan": ("gradtrace.core.batches", "batch_plan"),
    "MODELS": ("gradtrace.core.catalog", "MODELS"),
    "Model": ("gradtrace.core.custom", "Model"),
    "Distribution": ("gradtrace.core.custom", "Distribution"),
    "Loss": ("gradtrace.core.losses", "Loss"),
    "OPTIMIZERS": ("gradtrace.core.optimizers", "PRESETS"),
    "SCHEDULES": ("gradtrace.core.presets", "SCHEDULES"),
    "CLIPS": ("gradtrace.core.clipping", "CLIPS"),
    "DATASETS": ("gradtrace.data", "DATASETS"),
    "GradtraceError": ("gradtrace.errors", "GradtraceError"),
    "GradtraceWarning": ("gradtrace.errors", "GradtraceWarning"),
    "InputError": ("gradtrace.errors", "InputError"),
    "RunFolderError": ("gradtrace.errors", "RunFolderError"),
    "load": ("gradtrace.saved_runs", "load"),
    "sweep": ("gradtrace.sweeps", "sweep"),
    "lr_find": ("gradtrace.lrfind", "lr_find"),
    "diagnose": ("gradtrace.diagnosing", "diagnose"),
    "Trace": ("gradtrace.trace", "Trace"),
}


def __getattr__(name: str) -> Any:
    """Import public names on first use, so ``gradtrace --help`` starts fast."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradtrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, before first use too, and the submodules imported so far
    (for tab completion): not this file's own helpers (``Any``, ...)."""
    import types

    loaded = {k for k, v in globals().items() if isinstance(v, types.ModuleType)}
    return sorted(set(__all__) | loaded)
