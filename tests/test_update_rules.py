"""A step's update written out with its numbers (``update_rules``): the rule of
each framework's optimizer, written only where its arithmetic gives the update
the step made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.update_rules import update_arithmetic


def line() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 5, 200)
    return pd.DataFrame({"x": x, "y": 3 * x + 2 + rng.normal(0, 1, 200)})


def written(trace: gradtrace.Trace, step: int) -> str | None:
    found = [s for s in trace.explain_text(step).splitlines() if "written out" in s]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("optimizer", "opt", "starts"),
    [
        ("sgd", None, "added = -lr x gradient"),
        ("momentum", None, "trace = gradient + momentum x trace"),
        ("torch.sgd", {"momentum": 0.5}, "buffer = momentum x buffer"),
        ("keras.sgd", {"momentum": 0.5}, "velocity = momentum x velocity - lr"),
        ("nesterov", None, "trace = gradient + momentum x trace"),
        (
            "torch.sgd",
            {"momentum": 0.5, "nesterov": True},
            "buffer = momentum x buffer",
        ),
        (
            "keras.sgd",
            {"momentum": 0.5, "nesterov": True},
            "velocity = momentum x velocity - lr",
        ),
        ("adam", None, "mu = b1 x mu + (1 - b1) x gradient"),
        ("torch.adam", None, "m = beta1 x m + (1 - beta1) x gradient"),
        ("keras.adam", None, "m = beta_1 x m + (1 - beta_1) x gradient"),
        ("rmsprop", None, "nu = decay x nu + (1 - decay) x gradient^2"),
        ("torch.rmsprop", None, "velocity = alpha x velocity"),
        ("keras.rmsprop", None, "velocity = rho x velocity"),
        ("tf_keras.rmsprop", None, "velocity = rho x velocity"),
        # RMSprop with momentum, each framework's buffer
        ("torch.rmsprop", {"momentum": 0.5}, "velocity = alpha x velocity"),
        ("keras.rmsprop", {"momentum": 0.5}, "velocity = rho x velocity"),
        ("tf_keras.rmsprop", {"momentum": 0.5}, "velocity = rho x velocity"),
        ("rmsprop", {"momentum": 0.5}, "nu = decay x nu"),
        ("torch.adadelta", None, "square_avg = rho x square_avg"),
        ("keras.adadelta", None, "accumulated_grad = rho x accumulated_grad"),
        ("keras.lion", None, "momentum = beta_2 x momentum"),
        ("torch.rprop", None, "the gradient kept its sign: step_size = clamp("),
        # RAdam's step 3 is before its rectification (rho_t <= 5)
        ("torch.radam", None, "m = beta1 x m + (1 - beta1) x gradient"),
    ],
)
def test_each_frameworks_rule_is_written_with_the_steps_numbers(
    optimizer: str, opt: dict[str, float] | None, starts: str
) -> None:
    trace = gradtrace.fit(
        line(), optimizer=optimizer, lr=0.01, batch_size=50, epochs=1, opt=opt
    )
    said = written(trace, 3)
    assert (
        said is not None
        and f"w's update written out (the others alike): {starts}" in said
    )
    update = trace.explain(3).attrs["update"]
    assert said.endswith(f" = {float(update.loc['w', 'added']):.7g}.")


def test_radams_rectified_step_is_written_with_its_term() -> None:
    """From step 6 (beta2 0.999) RAdam's rho_t is above 5: its step is Adam's
    times r_t, and the written numbers give the update the run made."""
    trace = gradtrace.fit(line(), optimizer="torch.radam", lr=0.01, batch_size=10)
    for step, words in ((5, "not above 5"), (6, "rectified by r_t"), (20, "r_t")):
        said = written(trace, step)
        assert said is not None and words in said, (step, said)
        update = trace.explain(step).attrs["update"]
        assert said.endswith(f" = {float(update.loc['w', 'added']):.7g}.")


def test_lions_factors_are_keras_own_in_float32() -> None:
    """Keras casts Lion's betas through float32 and takes 1 - beta in the
    weights' dtype: 1 - 0.99 is 0.00999999 in a float32 run, 0.01 in float64
    (of the float32 0.99: 0.009999990463...)."""
    narrow = gradtrace.fit(line(), optimizer="keras.lion", lr=0.01, steps=5)
    said = written(narrow, 3)
    assert said is not None and " + 0.00999999 x " in said
    wide = gradtrace.fit(
        line(),
        optimizer="keras.lion",
        lr=0.01,
        steps=5,
        dtype="float64",
        compute_dtype="float64",
    )
    said = written(wide, 3)
    assert said is not None and " + 0.00999999 x " in said  # 1 - float32(0.99)


def test_rprops_steps_are_written_from_its_first_to_a_flip() -> None:
    """Rprop's first step starts its step sizes at the rate; a flipped gradient
    shrinks the step size and moves nothing; each written line gives the update
    the run made."""
    trace = gradtrace.fit(line(), optimizer="torch.rprop", lr=0.05, steps=60)
    frame = trace.to_pandas()
    grads = frame["grad_w"].to_numpy()
    flip = next(k for k in range(2, 61) if grads[k] * grads[k - 1] < 0)
    said = written(trace, 1)
    assert said is not None and "clamp(the rate x 1, 1e-06, 50)" in said
    flipped = written(trace, flip)
    assert flipped is not None and "the gradient flipped" in flipped
    assert flipped.endswith("added = -sign(0) x step_size = 0.")
    for step in (1, 2, flip, flip + 1):
        update = trace.explain(step).attrs["update"]
        said = written(trace, step)
        assert said is not None
        assert said.endswith(f" = {float(update.loc['w', 'added']):.7g}.")


def test_adams_moments_are_the_ones_replayed_by_hand() -> None:
    """m and v at step 3 from the trace's own gradients, in NumPy, and the
    update they make: the numbers the line writes."""
    trace = gradtrace.fit(
        line(), optimizer="torch.adam", lr=0.01, batch_size=50, epochs=1
    )
    g = trace.to_pandas()["grad_w"].to_numpy(np.float64)[1:4]
    m = v = 0.0
    for gi in g:
        m, v = 0.9 * m + 0.1 * gi, 0.999 * v + 0.001 * gi**2
    said = written(trace, 3)
    assert said is not None
    assert f"= {m:.7g}; v = beta2 x v" in said and f"= {v:.7g}; at step t = 3" in said
    step = -0.01 * (m / (1 - 0.9**3)) / (np.sqrt(v / (1 - 0.999**3)) + 1e-8)
    assert said.endswith(f" = {step:.7g}.")


def test_nesterovs_look_ahead_is_replayed_by_hand() -> None:
    """PyTorch's Nesterov step at step 3, from the trace's own gradients in
    NumPy: the buffer b = m b + g (the first gradient at step 1) and the step
    -lr (g + m b), the numbers the line writes; Keras's and optax's forms make
    the same update."""
    options = dict(lr=0.01, batch_size=50, epochs=1, shuffle=False)
    torch = gradtrace.fit(
        line(),
        optimizer="torch.sgd",
        opt={"momentum": 0.9, "nesterov": True},
        **options,
    )
    g = torch.to_pandas()["grad_w"].to_numpy(np.float64)[1:4]
    buffer = g[0]
    for gi in g[1:]:
        buffer = 0.9 * buffer + gi
    step = -0.01 * (g[-1] + 0.9 * buffer)
    said = written(torch, 3)
    assert said is not None and "added = -lr x (gradient + momentum x buffer)" in said
    assert f"= {buffer:.7g}; added" in said and said.endswith(f" = {step:.7g}.")
    keras = gradtrace.fit(
        line(),
        optimizer="keras.sgd",
        opt={"momentum": 0.9, "nesterov": True},
        **options,
    )
    optax = gradtrace.fit(
        line(), optimizer="nesterov", opt={"momentum": 0.9}, **options
    )
    for other in (keras, optax):
        added = float(other.explain(3).attrs["update"].loc["w", "added"])
        assert added == pytest.approx(step, rel=1e-5)


def test_no_rule_is_written_where_none_gives_the_update() -> None:
    """A centred RMSprop, clipped steps: not written out (rather than a rule
    that did not run)."""
    for options in (
        dict(optimizer="keras.rmsprop", opt={"centered": True}),
        dict(optimizer="sgd", clip="global_norm=1"),
    ):
        trace = gradtrace.fit(line(), lr=0.01, batch_size=50, epochs=1, **options)  # type: ignore[arg-type]
        assert written(trace, 3) is None, options
    # a row whose update no rule gives: None
    row = {"before": 1.0, "gradient": 2.0, "added": 5.0}
    assert update_arithmetic({"name": "sgd"}, row, 0.1, 1) is None
    assert update_arithmetic({"name": "sgd"}, {**row, "added": -0.2}, 0.1, 1) == (
        "added = -lr x gradient = -0.1 x 2 = -0.2"
    )


@pytest.mark.parametrize(
    ("optimizer", "eps"),
    [
        ("keras.rmsprop", "/ sqrt(velocity + epsilon)"),  # Keras 3: inside
        ("tf_keras.rmsprop", "/ (sqrt(velocity) + epsilon)"),  # Keras 2: outside
        ("torch.rmsprop", "/ (sqrt(velocity) + eps)"),
        ("rmsprop", "/ sqrt(nu + eps)"),  # optax, eps_in_sqrt
    ],
)
def test_rmsprops_eps_is_where_each_framework_puts_it(optimizer: str, eps: str) -> None:
    """With gradients of 1e-4 (FRAMEWORKS.md's probe) eps inside or outside the
    root moves the step by far more than rounding: the rule written is the one
    that ran."""
    tiny = line().assign(y=lambda f: f["y"] * 1e-4, x=lambda f: f["x"] * 1e-2)
    trace = gradtrace.fit(tiny, optimizer=optimizer, lr=0.01, batch_size=50, epochs=1)
    said = written(trace, 2)
    assert said is not None and eps in said, said


@pytest.mark.parametrize(
    ("optimizer", "correction"),
    [("adam", "0.0009999871"), ("keras.adam", "0.0009999871"), ("torch.adam", "0.001")],
)
def test_adams_bias_corrections_are_written_as_the_framework_took_them(
    optimizer: str, correction: str
) -> None:
    """optax and Keras take 1 - b2^t in the parameters' float32 (1 - 0.999 is
    0.0009999871 there), PyTorch in Python's floats: the written numbers, worked
    by hand, give the update the line ends with (a student's check came out 0.5
    against 0.4999966 where 0.001 was written)."""
    import re

    trace = gradtrace.fit(line(), optimizer=optimizer, lr=0.5, steps=2)
    said = written(trace, 1)
    assert said is not None and f"{correction}" in said
    # and says why float32's digits are odd (a teacher expected 0.001999)
    in_float32 = "^t in float32, as the run took them), added"
    assert (in_float32 in said) == (optimizer != "torch.adam")
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", said)]
    *_, lr, m, c1, v, c2, eps, added = numbers[-7:]
    if optimizer == "keras.adam":  # -lr x sqrt(c2) / c1 x m / (sqrt(v) + eps)
        *_, lr, c2, c1, m, v, eps, added = numbers[-7:]
        by_hand = lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
    else:  # -lr x (m / c1) / (sqrt(v / c2) + eps)
        by_hand = lr * (m / c1) / (np.sqrt(v / c2) + eps)
    assert by_hand == pytest.approx(added, rel=5e-7)  # lr read as -0.5: -lr x ...


@pytest.mark.parametrize(
    ("optimizer", "starts"),
    [
        ("torch.sgd", "gradient = "),
        ("torch.rmsprop", "gradient = "),
        ("torch.adam", "gradient = "),
        ("torch.adamw", "m = beta1 x m"),
        ("keras.adamw", "m = beta_1 x m"),
        ("keras.sgd", "added = -lr x gradient"),
        ("adamw", "mu = b1 x mu"),
    ],
)
def test_a_weight_decay_is_written_into_the_update(optimizer: str, starts: str) -> None:
    """The line was left out wherever a run had weight decay, where it helps most.
    Coupled (PyTorch's L2): the gradient the optimizer took, g + wd w, first;
    decoupled: the optimizer's own step, then the decay's -w wd lr added."""
    trace = gradtrace.fit(
        line(),
        optimizer=optimizer,
        lr=0.01,
        batch_size=50,
        epochs=1,
        opt={"weight_decay": 0.1},
    )
    said = written(trace, 3)
    assert said is not None
    assert f"w's update written out (the others alike): {starts}" in said
    update = trace.explain(3).attrs["update"]
    w, g, added = (float(update.loc["w", c]) for c in ("before", "gradient", "added"))
    assert said.endswith(f" = {added:.7g}.")
    if starts == "gradient = ":
        assert said.split(": ", 1)[1].startswith(
            f"gradient = {g:.7g} + 0.1 x {w:.7g} = {g + 0.1 * w:.7g} "
        )
    else:
        assert f"- {w:.7g} x 0.1 x 0.01 = {added:.7g}." in said
