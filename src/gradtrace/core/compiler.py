"""How gradtrace asks XLA to compile its programs.

XLA:CPU writes the loops of its fused operations with one of two code
generators: its MLIR "fusion emitters", the default, or the older generator
that builds LLVM's code directly. For gradtrace's programs (a training scan, the
exact answer's row sums, the diagnosis's) the older one compiles in a quarter to
two fifths less time and with less memory (``gradtrace fit`` of a line on 10
million rows: a peak 30-65 MB lower), and the programs run as fast: the figures
are in docs/benchmarks.md. A first fit in a fresh process is mostly compilation, so
gradtrace asks for the older generator in every program it compiles.

Where ``XLA_FLAGS`` names ``--xla_cpu_use_fusion_emitters`` (true for XLA's
default), that choice is left to XLA. The option is XLA:CPU's alone, so it is
given only where the default device is a processor: a program is made at its
first use, when JAX knows its device (not at import, which would start JAX's
backends before a user's ``XLA_FLAGS`` could name their devices).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax

#: The option, and the value gradtrace asks for.
FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"


def options() -> dict[str, Any] | None:
    """XLA's options for gradtrace's programs; None where ``XLA_FLAGS`` chooses
    the code generator itself, or the default device is not a processor."""
    if FUSION_EMITTERS in os.environ.get("XLA_FLAGS", ""):
        return None
    if jax.default_backend() != "cpu":
        return None
    return {FUSION_EMITTERS: False}


class Program:
    """``jax.jit(fun, **kwargs)`` with gradtrace's compiler options, made at its
    first call or first use of one of its attributes (``lower``, ...)."""

    def __init__(self, fun: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self._fun = fun
        self._kwargs = kwargs
        self._jitted: Any = None
        functools.update_wrapper(self, fun)

    def jitted(self) -> Any:
        """The jitted function (made once; two threads at once make two alike)."""
        if self._jitted is None:
            self._jitted = jax.jit(
                self._fun, compiler_options=options(), **self._kwargs
            )
        return self._jitted

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.jitted()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # a jitted function's other attributes (lower, clear_cache, ...); only
        # names not found on the Program come here
        if name in ("_fun", "_kwargs", "_jitted"):
            raise AttributeError(name)
        return getattr(self.jitted(), name)


def jit(fun: Callable[..., Any], **kwargs: Any) -> Program:
    """``jax.jit`` with gradtrace's compiler options (``Program``)."""
    return Program(fun, kwargs)
