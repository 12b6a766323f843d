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
default), that choice is left to XLA. The option is XLA:CPU's alone: other
devices' compilers do not read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jax

#: The option, and the value gradtrace asks for.
FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"


def options() -> dict[str, Any] | None:
    """XLA's options for gradtrace's programs; None where ``XLA_FLAGS`` chooses
    the code generator itself."""
    if FUSION_EMITTERS in os.environ.get("XLA_FLAGS", ""):
        return None
    return {FUSION_EMITTERS: False}


def jit(fun: Callable[..., Any], **kwargs: Any) -> Any:
    """``jax.jit`` with gradtrace's compiler options."""
    return jax.jit(fun, compiler_options=options(), **kwargs)
