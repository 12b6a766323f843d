"""The training scan on small problems, checked against NumPy arithmetic."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace

X = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
Y = np.array([2.0, 4.1, 5.9, 8.2, 9.8])


def _sgd_line_numpy(x, y, w, b, lr, batch_size, n_steps):  # type: ignore[no-untyped-def]
    """Mini-batch SGD on the MSE of a line, in float64, rows in order."""
    out = []
    n = len(x)
    starts = list(range(0, n, batch_size))
    for t in range(n_steps):
        s = starts[t % len(starts)]
        xb, yb = x[s : s + batch_size], y[s : s + batch_size]
        r = w * xb + b - yb
        loss = np.mean(r**2)
        gw, gb = np.mean(2 * r * xb), np.mean(2 * r)
        w, b = w - lr * gw, b - lr * gb
        out.append((w, b, gw, gb, loss, np.mean((w * x + b - y) ** 2)))
    return np.array(out)


def test_partial_last_batch_is_averaged_over_its_real_rows() -> None:
    trace = gradtrace.fit(
        {"x": X, "y": Y},
        "line",
        lr=0.01,
        batch_size=2,
        epochs=3,
        shuffle=False,
        dtype="float64",
        exact=False,
    )
    expected = _sgd_line_numpy(X, Y, 0.0, 0.0, 0.01, 2, 9)
    frame = trace.to_pandas().iloc[1:]
    got = frame[["w", "b", "grad_w", "grad_b", "batch_loss", "loss"]].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert frame["batch"].tolist() == [1, 2, 3] * 3
    assert frame["epoch"].tolist() == [1] * 3 + [2] * 3 + [3] * 3


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "adam", "keras.rmsprop", "torch.adamw"]
)
def test_another_learning_rate_runs_the_same_compiled_program(
    optimizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the rate is an input of the scan, not a constant: a second run at another
    # rate compiles nothing, and its steps are that rate's
    from gradtrace.core import loop

    monkeypatch.setattr(loop, "_COMPILED", OrderedDict())

    def run(lr: float) -> pd.DataFrame:
        trace = gradtrace.fit(
            {"x": X, "y": Y},
            "line",
            optimizer=optimizer,
            lr=lr,
            batch_size=2,
            epochs=3,
            shuffle=False,
            dtype="float64",
            exact=False,
        )
        return trace.to_pandas()

    run(0.01)
    chunks = [k for k in loop._COMPILED if k[0][0] == "chunk"]
    assert len(chunks) == 1
    again = run(0.002)
    assert [k for k in loop._COMPILED if k[0][0] == "chunk"] == chunks
    monkeypatch.setattr(loop, "_COMPILED", OrderedDict())
    fresh = run(0.002)
    pd.testing.assert_frame_equal(again, fresh)
    if optimizer == "sgd":  # and the rate's arithmetic, step by step
        expected = _sgd_line_numpy(X, Y, 0.0, 0.0, 0.002, 2, 9)
        got = again.iloc[1:][["w", "b", "grad_w", "grad_b", "batch_loss", "loss"]]
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)


def test_a_scheduled_rate_stays_a_constant_of_its_program() -> None:
    # a schedule's rates are tabled from the Python value (PyTorch's recursion,
    # Keras's operations), so a run with one compiles for its rate
    from gradtrace.core.optimizers import OptimizerSpec
    from gradtrace.core.schedules import LrSchedule

    spec = OptimizerSpec.create("sgd", learning_rate=0.1)
    assert spec.rate_as_input
    assert spec.any_rate() == OptimizerSpec.create("sgd", learning_rate=0.7).any_rate()
    scheduled = spec.scheduled(LrSchedule.create("torch.step", step_size=2), 3, 9)
    assert not scheduled.rate_as_input


def test_initial_row_holds_the_start() -> None:
    trace = gradtrace.fit({"x": X, "y": Y}, lr=0.01, epochs=2, init={"w": 0.5})
    row = trace.to_pandas().iloc[0]
    assert (row["step"], row["epoch"], row["batch"]) == (0, 0, 0)
    assert row["w"] == 0.5 and row["b"] == 0.0
    assert np.isnan(row["grad_w"]) and np.isnan(row["batch_loss"])
    assert row["loss"] == pytest.approx(np.mean((0.5 * X - Y) ** 2), rel=1e-6)


def test_steps_count_optimizer_steps() -> None:
    trace = gradtrace.fit({"x": X, "y": Y}, lr=0.01, steps=7, batch_size=2, exact=False)
    assert trace.steps == 7
    assert trace.to_pandas()["epoch"].tolist()[1:] == [1, 1, 1, 2, 2, 2, 3]


def test_fixed_parameter_is_not_trained() -> None:
    trace = gradtrace.fit(
        {"y": Y}, "normal", lr=0.01, epochs=5, fix={"scale": 2.0}, reduction="sum"
    )
    frame = trace.to_pandas()
    assert "scale" not in frame.columns and "grad_scale" not in frame.columns
    assert trace.info["fixed"] == {"scale": 2.0}
    # d/dloc sum NLL = sum(loc - y) / scale^2
    assert frame["grad_loc"][1] == pytest.approx(-np.sum(Y) / 4.0, rel=1e-6)


def test_vector_parameter_columns() -> None:
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(30, 2))
    y = xs @ np.array([1.0, -1.0]) + 0.5
    trace = gradtrace.fit(
        {"a": xs[:, 0], "c": xs[:, 1], "y": y},
        "linear",
        x=["a", "c"],
        lr=0.1,
        epochs=200,
        init={"w": [0.0, 0.0]},
    )
    assert {"w[0]", "w[1]", "grad_w[0]", "grad_w[1]"} <= set(trace.to_pandas())
    np.testing.assert_allclose(trace.params["w"], [1.0, -1.0], atol=1e-3)
    assert trace.params["b"] == pytest.approx(0.5, abs=1e-3)


def test_divergence_stops_at_the_step_and_keeps_the_trace() -> None:
    trace = gradtrace.fit({"x": X, "y": Y}, lr=10.0, steps=1000)
    assert trace.diverged and trace.status == "diverged"
    step = trace.diverged_step
    assert step is not None and 1 < step < 1000
    frame = trace.to_pandas()
    assert len(frame) == step + 1
    assert np.isfinite(frame["w"][:step]).all()
    last = frame.iloc[-1][["w", "b", "grad_w", "grad_b", "batch_loss", "loss"]]
    assert not np.isfinite(last.to_numpy(float)).all()
    assert "try lr=" in trace.message


def test_same_seed_same_trace() -> None:
    options = dict(lr=0.01, batch_size=2, epochs=4, exact=False)
    a = gradtrace.fit({"x": X, "y": Y}, seed=7, **options)  # type: ignore[arg-type]
    b = gradtrace.fit({"x": X, "y": Y}, seed=7, **options)  # type: ignore[arg-type]
    c = gradtrace.fit({"x": X, "y": Y}, seed=8, **options)  # type: ignore[arg-type]
    assert a.to_pandas().equals(b.to_pandas())
    assert not a.to_pandas().equals(c.to_pandas())


def test_shuffled_batches_are_the_rows_the_step_used() -> None:
    trace = gradtrace.fit(
        {"x": X, "y": Y},
        lr=0.01,
        batch_size=2,
        epochs=2,
        seed=3,
        dtype="float64",
        exact=False,
    )
    frame = trace.to_pandas()
    for step in range(1, trace.steps + 1):
        rows = trace.rows(step)
        w, b = frame["w"][step - 1], frame["b"][step - 1]
        r = w * X[rows] + b - Y[rows]
        assert frame["batch_loss"][step] == pytest.approx(np.mean(r**2), rel=1e-12)


def test_eval_every_thins_the_full_data_loss() -> None:
    trace = gradtrace.fit(
        {"x": X, "y": Y}, lr=0.01, batch_size=2, steps=10, eval_every=4, exact=False
    )
    loss = trace.to_pandas()["loss"]
    evaluated = [s for s in range(11) if np.isfinite(loss[s])]
    assert evaluated == [0, 4, 8, 10]


def test_keras_running_loss_restarts_each_epoch() -> None:
    trace = gradtrace.fit(
        {"x": X, "y": Y}, lr=0.01, batch_size=2, epochs=2, shuffle=False, exact=False
    )
    f = trace.to_pandas()
    bl, run = f["batch_loss"].to_numpy(), f["running_loss"].to_numpy()
    assert run[1] == pytest.approx(bl[1])
    assert run[3] == pytest.approx((2 * bl[1] + 2 * bl[2] + 1 * bl[3]) / 5, rel=1e-6)
    assert run[4] == pytest.approx(bl[4])


def test_float64_and_float32() -> None:
    t64 = gradtrace.fit(
        {"x": X, "y": Y}, lr=0.01, epochs=3, dtype="float64", exact=False
    )
    t32 = gradtrace.fit({"x": X, "y": Y}, lr=0.01, epochs=3, exact=False)
    assert t64.to_pandas()["w"].dtype == np.float64
    assert t32.to_pandas()["w"].dtype == np.float32
    assert t32.to_pandas()["loss"].dtype == np.float32


@pytest.mark.parametrize(
    "case",
    [
        dict(model="line", reduction="mean", metrics=["rmse", "r2"]),
        dict(model="normal", reduction="sum", y_only=True),
        dict(model="line", loss="huber", optimizer="adam"),
        # x's few columns summed in whole blocks, the last one apart
        dict(model="linear", columns=3, metrics=["rmse"]),
        dict(model="linear", columns=8),  # a matrix product in masked blocks
    ],
    ids=["line", "normal", "huber", "linear3", "linear8"],
)
def test_a_blocked_full_batch_step_equals_the_one_pass_step(
    case: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10000 rows in blocks of 4096: three blocks, the last overlapping the second
    from gradtrace.core import loop

    rng = np.random.default_rng(7)
    x = rng.normal(size=10_000)
    y = 2 * x + 1 + rng.normal(size=10_000)
    data = {"y": y} if case.get("y_only") else {"x": x, "y": y}
    if case.get("columns"):
        k = int(case["columns"])  # type: ignore[call-overload]
        xs = rng.normal(size=(10_000, k))
        y = xs @ np.linspace(-1, 1, k) + 0.5 + rng.normal(size=10_000)
        data = {**{f"x{i}": xs[:, i] for i in range(k)}, "y": y}
        case = {**case, "x": [f"x{i}" for i in range(k)]}
    drop = ("y_only", "columns")
    options = {k: v for k, v in case.items() if k not in drop}

    def run() -> gradtrace.Trace:
        monkeypatch.setattr(loop, "_COMPILED", OrderedDict())
        return gradtrace.fit(  # the steps are compared, not the optimum
            data,
            lr=1e-3,
            steps=30,
            dtype="float64",
            exact=False,
            **options,  # type: ignore[arg-type]
        )

    monkeypatch.setattr(loop, "BLOCK_ELEMENTS", 4096)
    monkeypatch.setattr(loop, "BLOCKED_FROM", 0)
    monkeypatch.setattr(loop, "blocks_pay", lambda: True)  # also on a GPU
    assert loop.block_rows(10_000, None) == 4096
    blocked = run().to_pandas()
    monkeypatch.setattr(loop, "BLOCK_ELEMENTS", 1 << 30)
    assert loop.block_rows(10_000, None) == 0
    plain = run().to_pandas()
    assert list(blocked.columns) == list(plain.columns)
    for column in plain.columns:
        np.testing.assert_allclose(
            blocked[column], plain[column], rtol=1e-10, atol=1e-12, err_msg=column
        )


def test_logistic_and_poisson_likelihoods_step_whole() -> None:
    # faster whole: their exp and log per row, and a Poisson row's log y!, which
    # XLA moves out of the loop over steps but not out of one over blocks
    from gradtrace.core import loop
    from gradtrace.core.catalog import make_model

    def problem(model: str, loss: str) -> loop.Problem:
        return loop.Problem(make_model(model, 2), loss, "mean", ("w", "b"))

    assert not loop.blocks_suit(problem("logistic", "nll"))
    assert not loop.blocks_suit(problem("poisson-regression", "nll"))
    assert loop.blocks_suit(problem("linear", "nll"))  # Gaussian
    assert loop.blocks_suit(problem("linear", "mse"))
    assert loop.blocks_suit(problem("logistic", "mse"))


def test_a_full_batch_step_goes_by_blocks_on_the_processor_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # on a GPU a loop over small blocks runs them one after another (15 ms a step
    # on 10^8 rows of an H200, where XLA:GPU's fused reductions read them once)
    import jax

    from gradtrace.core import loop

    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert loop.block_rows(10_000_000, None) == loop.BLOCK_ELEMENTS
    assert loop.block_rows(10_000_000, np.zeros((3, 4))) == loop.BLOCK_ELEMENTS // 4
    for platform in ("gpu", "tpu"):
        monkeypatch.setattr(jax, "default_backend", lambda p=platform: p)
        assert loop.block_rows(10_000_000, None) == 0


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("lr", [0.05, 3.0], ids=["converging", "diverging"])
def test_skipped_steps_under_a_conditional_or_computed_and_dropped_agree(
    batch_size: int | None, lr: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small steps are computed even when skipped (past the end of the last chunk, or
    # after divergence) and their results dropped; large ones sit under lax.cond
    from gradtrace.core import loop

    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    data = {"x": x, "y": 2 * x + 1}
    monkeypatch.setenv("GRADTRACE_CHUNK_STEPS", "7")  # the last chunk runs past the end

    def run() -> gradtrace.Trace:
        monkeypatch.setattr(loop, "_COMPILED", OrderedDict())
        return gradtrace.fit(
            data, lr=lr, steps=40, batch_size=batch_size, seed=1, exact=False
        )

    cheap = run()
    monkeypatch.setattr(loop, "CHEAP_ROWS", 0)
    guarded = run()
    assert (cheap.status, cheap.steps) == (guarded.status, guarded.steps)
    assert cheap.status == ("diverged" if lr > 1 else "completed")
    pd.testing.assert_frame_equal(cheap.to_pandas(), guarded.to_pandas())


ONE_PASS_CASES = {
    "line-mse": dict(model="line", loss="mse"),
    "line-huber-sum": dict(model="line", loss="huber", reduction="sum"),
    "linear-3": dict(model="linear", x=["x", "x2", "x3"]),
    "poly-nll": dict(model="poly", degree=3, loss="nll"),
    "logistic": dict(model="logistic", y="b01"),
    "poisson-regression": dict(model="poisson-regression", y="count"),
    "exp-decay": dict(model="exp-decay", init={"a": 2.0, "b": 0.1}),
    "normal-unconstrained": dict(model="normal", x=None, param_space="unconstrained"),
    "gamma": dict(model="gamma", x=None, y="pos", init={"shape": 2.0, "rate": 0.5}),
    "expression": dict(model_expr="a * exp(b * x)", init={"a": 1.0, "b": 0.1}),
    # more values than ONE_PASS_PARAMS: reverse mode, the very same numbers
    "linear-20": dict(model="linear", x=[f"c{j}" for j in range(20)]),
}


@pytest.mark.parametrize("case", ONE_PASS_CASES, ids=list(ONE_PASS_CASES))
@pytest.mark.parametrize("masked", [False, True], ids=["all-rows", "masked"])
def test_one_pass_loss_and_gradient_equal_reverse_mode(case: str, masked: bool) -> None:
    import jax
    import jax.numpy as jnp

    from gradtrace.planning import plan
    from gradtrace.run_config import RunConfig

    rng = np.random.default_rng(3)
    n = 301
    x = rng.uniform(0.1, 2.0, n)
    frame = pd.DataFrame(
        {
            "x": x,
            "x2": x**2,
            "x3": rng.normal(size=n),
            "y": 1.5 * x + rng.normal(size=n),
            "b01": (rng.uniform(size=n) < 0.4).astype(float),
            "count": rng.poisson(2.0, n).astype(float),
            "pos": rng.gamma(2.0, 1.0, n),
            **{f"c{j}": rng.normal(size=n) for j in range(20)},
        }
    )
    options = {"x": ["x"], "init": {}, **ONE_PASS_CASES[case]}
    p = plan(RunConfig(data=None, exact=False, **options), frame, "data")
    problem = p.problem
    params = {k: jnp.asarray(v, p.pdtype) for k, v in p.trainable.items()}
    params = jax.tree_util.tree_map(lambda v: v + 0.05, params)  # off the start
    fixed = {k: jnp.asarray(v, p.pdtype) for k, v in p.fixed.items()}
    xs = None if p.xs is None else jnp.asarray(p.xs, p.cdtype)
    ys = jnp.asarray(p.ys, p.cdtype)
    mask = jnp.arange(n) % 3 != 1 if masked else None
    ref_value, ref_grads = jax.value_and_grad(problem.objective)(
        params, fixed, xs, ys, mask
    )
    # the point computed apart (in a program of its own, as a step computes the
    # next step's after its update) gives the same within rounding
    apart = jax.jit(problem.point)(params)
    got = problem.value_and_grad(params, fixed, xs, ys, mask, at=apart)
    for value, grads in (problem.value_and_grad(params, fixed, xs, ys, mask), got):
        _close_to_reverse_mode(value, grads, ref_value, ref_grads, params)
    # and the sum whatever the problem's reduction
    total, total_grads = problem.value_and_grad(params, fixed, xs, ys, mask, "sum")
    ref_total = problem.summed(params, fixed, xs, ys, mask)
    np.testing.assert_allclose(total, ref_total, rtol=2e-6)
    ref_total_grads = jax.grad(problem.summed)(params, fixed, xs, ys, mask)
    for k in params:
        scale = float(np.max(np.abs(ref_total_grads[k]))) + 1.0
        np.testing.assert_allclose(
            total_grads[k], ref_total_grads[k], atol=5e-6 * scale
        )


def _close_to_reverse_mode(
    value: Any, grads: Any, ref_value: Any, ref_grads: Any, params: Any
) -> None:
    from gradtrace.core.loop import ONE_PASS_PARAMS

    assert value.dtype == ref_value.dtype
    np.testing.assert_allclose(value, ref_value, rtol=2e-6)
    n_values = sum(np.size(v) for v in params.values())
    for k in params:
        assert grads[k].dtype == ref_grads[k].dtype and grads[k].shape == np.shape(
            ref_grads[k]
        )
        if n_values > ONE_PASS_PARAMS:
            np.testing.assert_array_equal(grads[k], ref_grads[k])
        else:
            scale = float(np.max(np.abs(ref_grads[k]))) + 1.0
            np.testing.assert_allclose(grads[k], ref_grads[k], atol=5e-6 * scale)


def test_a_float64_parameter_converted_apart_gives_the_same_bits() -> None:
    """Seed 002's case: the step's float32 copy of the float64 parameter, made
    after the update, changes no bit of the loss or the gradient."""
    import jax
    import jax.numpy as jnp

    from gradtrace.planning import plan
    from gradtrace.run_config import RunConfig

    y = np.random.default_rng(5).normal(0.3, 1.0, 1000)
    with jax.enable_x64(True):
        config = RunConfig(
            data=None,
            model="normal",
            exact=False,
            dtype="float64",
            compute_dtype="float32",
            fix={"scale": 1.0},
        )
        p = plan(config, pd.DataFrame({"y": y}), "data")
        problem, ys = p.problem, jnp.asarray(p.ys, jnp.float32)
        fixed = {k: jnp.asarray(v, jnp.float64) for k, v in p.fixed.items()}
        at = jax.jit(problem.point)
        vg = jax.jit(problem.value_and_grad)
        for loc in np.random.default_rng(6).normal(0, 2, 50):
            params = {"loc": jnp.asarray(loc, jnp.float64)}
            a = vg(params, fixed, None, ys)
            b = vg(params, fixed, None, ys, at=at(params))
            assert a[0].tobytes() == b[0].tobytes()
            assert a[1]["loc"].tobytes() == b[1]["loc"].tobytes()


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(5, 40),
    batch_size=st.integers(1, 9),
    steps=st.integers(1, 60),
    eval_every=st.integers(1, 70),
    chunk=st.integers(1, 30),
    lr=st.sampled_from([0.01, 0.1]),
)
def test_the_loss_over_all_the_data_falls_where_it_is_due_in_groups_and_chunks(
    n: int, batch_size: int, steps: int, eval_every: int, chunk: int, lr: float
) -> None:
    """A mini-batch run evaluates the loss over all the data once a group of steps
    (``loop.group_steps``), the groups at multiples of their size from step 0 and
    cut by chunks anywhere: it is there at every ``eval_every``-th step and the
    last, is the MSE at that step's parameters, and nowhere else; the steps are
    NumPy's (float64)."""
    import os

    batch_size = min(batch_size, n - 1)  # mini-batches (a full batch has no groups)
    rng = np.random.default_rng(n * 100 + batch_size)
    x = rng.normal(size=n)
    y = 2 * x + 1 + rng.normal(size=n) * 0.1
    os.environ["GRADTRACE_CHUNK_STEPS"] = str(chunk)
    try:
        trace = gradtrace.fit(
            {"x": x, "y": y},
            lr=lr,
            steps=steps,
            batch_size=batch_size,
            eval_every=eval_every,
            shuffle=False,
            dtype="float64",
            exact=False,
        )
    finally:
        del os.environ["GRADTRACE_CHUNK_STEPS"]
    f = trace.to_pandas()
    expected = _sgd_line_numpy(x, y, 0.0, 0.0, lr, batch_size, steps)
    w, b = f["w"].to_numpy()[1:], f["b"].to_numpy()[1:]
    np.testing.assert_allclose(w, expected[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b, expected[:, 1], rtol=1e-9, atol=1e-12)
    loss = f["loss"].to_numpy()[1:]
    due = [t for t in range(1, steps + 1) if t % eval_every == 0 or t == steps]
    assert [t for t in range(1, steps + 1) if np.isfinite(loss[t - 1])] == due
    np.testing.assert_allclose(
        loss[np.array(due) - 1], expected[np.array(due) - 1, 5], rtol=1e-9
    )


def test_a_group_size_divides_eval_every_where_evaluations_fall_inside_the_run() -> (
    None
):
    from gradtrace.core.loop import GROUP_STEPS, Schedule, group_steps

    def schedule(**kw: int) -> Schedule:
        return Schedule(**{"n_rows": 10**6, "batch_size": 100, "n_steps": 10**4, **kw})

    assert group_steps(schedule(eval_every=245), 10**4) == 49
    assert group_steps(schedule(eval_every=97), 10**4) == 1  # a prime above 64
    assert group_steps(schedule(eval_every=10**9), 10**4) == GROUP_STEPS
    assert group_steps(schedule(eval_every=10**9), 5) == 5
    # short chunks (checkpoints every 100 steps) are tiled by whole groups
    assert group_steps(schedule(eval_every=1000), 100) == 50
    assert group_steps(schedule(eval_every=1000), 64) == 8
    assert group_steps(schedule(batch_size=10**6, eval_every=1), 10**4) == 1


def test_a_short_run_is_one_compiled_call_and_a_long_one_short_calls() -> None:
    from gradtrace.core.loop import CALL_ROWS, Schedule, default_chunk_steps

    # seed 002: 10000 rows, full batch, 10000 steps (35 ms): one call
    assert default_chunk_steps(Schedule(10000, 10000, 10000)) == 10000
    # an epoch of 4096-row batches over 10 million rows, its loss over all the
    # data every 244 steps: one call
    assert default_chunk_steps(Schedule(10**7, 4096, 2442, eval_every=244)) == 2442
    # 260000 steps of 8 rows over 400 (about 4 s): not one call, not thousands
    steps = default_chunk_steps(Schedule(400, 8, 260000, eval_every=2))
    assert 260000 / 100 <= steps < 260000
    assert steps * (8 + 200 + 5000) >= CALL_ROWS
    # 100 full-batch steps over 10 million rows: calls of 20 steps
    assert default_chunk_steps(Schedule(10**7, 10**7, 100)) == 20
    # ten million steps: at most about 100 calls
    assert default_chunk_steps(Schedule(100, 100, 10**7)) == 10**5
