"""gradtrace's compiler options: XLA:CPU's older code generator, unless XLA_FLAGS
chooses."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from gradtrace.core import compiler


def test_the_older_generator_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_deterministic_ops=true")
    assert compiler.options() == {"xla_cpu_use_fusion_emitters": False}


@pytest.mark.parametrize("value", ["true", "false"])
def test_xla_flags_naming_the_option_choose(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XLA_FLAGS", f"--xla_cpu_use_fusion_emitters={value}")
    assert compiler.options() is None


def test_a_program_compiled_with_the_options_computes_as_jax_does() -> None:
    @functools.partial(compiler.jit, static_argnums=1)
    def scaled_sum(x: jnp.ndarray, k: int) -> jnp.ndarray:
        return jnp.sum(jnp.exp(x) * k)

    x = jnp.linspace(0.0, 1.0, 1000, dtype=jnp.float32)
    ours = float(scaled_sum(x, 3))
    assert ours == pytest.approx(3 * float(np.sum(np.exp(np.asarray(x, np.float64)))))
    lowered = compiler.jit(lambda v: v * 2).lower(x)
    assert np.array_equal(np.asarray(lowered.compile()(x)), np.asarray(x) * 2)


def test_another_device_gets_xla_s_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setattr(compiler.jax, "default_backend", lambda: "gpu")
    assert compiler.options() is None


def test_a_program_is_made_at_its_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    real = compiler.options
    monkeypatch.setattr(compiler, "options", lambda: asked.append(1) or real())
    program = compiler.jit(lambda v: v + 1)
    assert asked == [] and program.__name__ == "<lambda>"
    assert float(program(jnp.float32(1))) == 2.0
    assert float(program(jnp.float32(2))) == 3.0
    assert asked == [1]  # once: the jitted function is kept
    assert program._cache_size() == 1  # the jitted function's own attributes
