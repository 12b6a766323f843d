"""What a GPU would compute differently from the processor, checked on the
processor: a model's matrix products at float32's full precision (XLA takes them
in TF32 on a GPU otherwise), and data put on the device in the run's dtype."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradtrace
from gradtrace.core import arrays, catalog, losses


def _precisions(model: Any, params: dict[str, Any], x: Any, loss: str) -> list[str]:
    y = jnp.ones(x.shape[0], jnp.float32)
    jaxpr = jax.make_jaxpr(lambda p: losses.row_losses(model, loss, p, x, y))(params)
    text = str(jaxpr)
    assert "dot_general" in text  # the model multiplies a matrix
    return re.findall(r"precision=\(?([\w.]+)", text)


@pytest.mark.parametrize(
    ("name", "options", "width", "loss"),
    [
        ("linear", {}, 3, "mse"),
        ("linear", {}, 3, "nll"),
        ("poly", {"degree": 3}, 0, "mse"),
        ("logistic", {}, 2, "nll"),
        ("poisson-regression", {}, 2, "nll"),
    ],
)
def test_a_built_in_models_products_are_at_full_precision(
    name: str, options: dict[str, Any], width: int, loss: str
) -> None:
    model = catalog.make_model(name, n_features=max(width, 1), **options)
    params = {
        s.name: jnp.full(s.size or (), 0.5, jnp.float32)
        for s in losses.param_specs(model, loss)
    }
    x = jnp.ones((5, width) if width else (5,), jnp.float32)
    found = _precisions(model, params, x, loss)
    assert found and set(found) == {"Precision.HIGHEST"}, found


def test_a_model_of_ones_own_is_traced_at_full_precision() -> None:
    model = gradtrace.Model(lambda p, x: x @ p["w"], {"w": [1.0, 2.0]})
    x = jnp.ones((5, 2), jnp.float32)
    found = _precisions(model, {"w": jnp.ones(2, jnp.float32)}, x, "mse")
    assert found and set(found) == {"Precision.HIGHEST"}, found


@pytest.mark.parametrize("custom", [False, True], ids=["linear", "own"])
def test_a_models_prediction_alone_is_at_full_precision(custom: bool) -> None:
    # metrics, explain and the exact answer's Jacobian call predict outside the
    # loss: its products are at full precision there too
    model = (
        gradtrace.Model(lambda p, x: x @ p["w"] + p["b"], {"w": [1.0, 2.0], "b": 0.0})
        if custom
        else catalog.make_model("linear", n_features=2)
    )
    params = {"w": jnp.ones(2, jnp.float32), "b": jnp.zeros((), jnp.float32)}
    x = jnp.ones((5, 2), jnp.float32)
    text = str(jax.make_jaxpr(lambda p: model.predict(p, x))(params))
    found = re.findall(r"precision=\(?([\w.]+)", text)
    assert found and set(found) == {"Precision.HIGHEST"}, found


@pytest.mark.parametrize("platform", ["cpu", "gpu"])
def test_data_reach_the_device_in_the_runs_dtype(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JAX 0.11 on an H200 put a float64 array as a float64 buffer under a float32
    # type, which the compiled steps then refused: off the processor the data are
    # converted before they are put
    monkeypatch.setattr(jax, "default_backend", lambda: platform)
    given: list[Any] = []
    device_put = jax.device_put

    def spy(a: Any, *args: Any, **kwargs: Any) -> Any:
        given.append(a)
        return device_put(a, *args, **kwargs)

    monkeypatch.setattr(jax, "device_put", spy)
    data = np.arange(12, dtype=np.float64) / 7
    put = arrays.to_device(data, np.float32)
    # what JAX is handed is float32 already (a float64 array was handed over
    # before, and JAX 0.11 on a GPU kept it float64 under a float32 type)
    assert [np.asarray(a).dtype for a in given] == [np.float32]
    assert put.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(put), data.astype(np.float32))
    assert arrays.to_device(put, np.float32) is put
