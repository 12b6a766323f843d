"""The seeds' training loops as built-in scenarios, each printing what its seed prints.

Each demo runs ``fit`` on a built-in data set with the seed's settings and returns the
lines to print and the traces it made (so tests can compare them with fixtures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradtrace.api import fit
from gradtrace.data import builtin
from gradtrace.trace import Trace


@dataclass
class DemoResult:
    """What a demo printed, and the traces behind it by name."""

    lines: list[str] = field(default_factory=list)
    traces: dict[str, Trace] = field(default_factory=dict)


@dataclass(frozen=True)
class Demo:
    name: str
    seed: str
    title: str
    run: Callable[[], DemoResult]


def line_mse() -> DemoResult:
    """Seed 001, first part: a line by MSE, full-batch gradient descent."""
    t = fit(
        "seed001_line",
        "line",
        "mse",
        optimizer="sgd",
        lr=0.05,
        epochs=30,
        init={"w": 0.018, "b": 0.0},
        shuffle=False,
    )
    frame = t.to_pandas()
    out = DemoResult(traces={"line-mse": t})
    out.lines += [
        "Seed 001: fit y = m*x + b (here w*x + b) to 100 noisy points by minimising "
        "the MSE,",
        "with TensorFlow's custom loop: full-batch gradient descent, lr 0.05, 30 "
        "epochs, from w=0.018 (the",
        "seed's random start), b=0.",
        "",
        f"initial MSE: {frame['loss'][0]:.6f}",
        "",
        # the seed's loop prints the loss it stepped on beside the values after
        f"{'epoch':>5} {'MSE (before the step)':>22} {'w after':>10} {'b after':>10}",
    ]
    for e in range(1, 31):
        if e in (1, 2, 3, 5, 10, 15, 20, 25, 30):
            row = frame.iloc[e]
            out.lines.append(
                f"{e:5d} {row['batch_loss']:22.6f} {row['w']:10.6f} {row['b']:10.6f}"
            )
    p = t.params
    out.lines += [
        "",
        f"w = {p['w']:.6f}, b = {p['b']:.6f} after 30 epochs (the seed printed "
        "m = 1.053719, b = 1.911512;",
        "the truth is w = 1, b = 2). Thirty steps leave the line short of the "
        "least-squares optimum:",
        "x is not centred, so the slow direction mixes slope and intercept.",
    ]
    return out


def gaussian_mle() -> DemoResult:
    """Seed 001, second part: a Gaussian by maximum likelihood, summed NLL."""
    y = builtin("seed001_gaussian")["y"].to_numpy(np.float32)
    loc0 = np.float32(0.7) * np.mean(y, dtype=np.float32)
    scale0 = np.float32(1.3) * np.std(y, dtype=np.float32)
    t = fit(
        "seed001_gaussian",
        "normal",
        "nll",
        optimizer="sgd",
        lr=0.0005,
        epochs=50,
        reduction="sum",
        shuffle=False,
        init={"loc": float(loc0), "scale": float(scale0)},
    )
    frame = t.to_pandas()
    out = DemoResult(traces={"gaussian-mle": t})
    out.lines += [
        "Seed 001, second part: fit N(loc, scale) to 1000 draws of N(2, 1) by "
        "minimising the negative",
        "log-likelihood (summed over the rows), full-batch gradient descent, lr "
        "0.0005, 50 epochs,",
        f"starting off on purpose at loc = 0.7 * mean = {loc0:.6f}, "
        f"scale = 1.3 * std = {scale0:.6f}.",
        "",
        f"{'epoch':>5} {'NLL (before the step)':>22} {'loc after':>11} "
        f"{'scale after':>13}",
    ]
    for e in (1, 2, 3, 5, 10, 20, 30, 40, 50):
        row = frame.iloc[e]
        out.lines.append(
            f"{e:5d} {row['batch_loss']:22.4f} {row['loc']:11.6f} {row['scale']:13.6f}"
        )
    p = t.params
    out.lines += [
        "",
        f"loc = {p['loc']:.7f}, scale = {p['scale']:.7f} (the seed printed 2.0243182 "
        "and 1.0158775 on its own draws;",
        f"the sample's mean and standard deviation are {np.mean(y):.7f} and "
        f"{np.std(y):.7f}, the truth 2 and 1).",
    ]
    return out


def normal_mean_sgd() -> DemoResult:
    """Seed 002: PyTorch's SGD on the mean of a normal, summed NLL over 10000 draws."""
    common = dict(
        model="normal",
        loss="nll",
        optimizer="torch.sgd",
        steps=10000,
        reduction="sum",
        init={"loc": 1.0},
        fix={"scale": 1.0},
        dtype="float64",
        compute_dtype="float32",
        shuffle=False,
    )
    t = fit("seed002_normal", lr=1e-7, **common)  # type: ignore[arg-type]
    y = builtin("seed002_normal")["y"].to_numpy(np.float32)
    mean = float(np.mean(y, dtype=np.float32))
    frame = t.to_pandas()
    out = DemoResult(traces={"normal-mean-sgd": t})
    g1 = frame["grad_loc"][1]
    out.lines += [
        "Seed 002: the mean of a normal by maximum likelihood with PyTorch's SGD: "
        "loss = -sum(Normal(loc, 1)",
        ".log_prob(data)) over 10000 draws, loc a float64 parameter (PyTorch computes "
        "the loss in float32).",
        "",
        "Learning rate 1e-7, not the 1e-6 the seed's code shows: its printed first "
        "step moves 1.0 to",
        f"0.9989985 with a gradient of 10015.05, so lr = 0.0010015 / 10015.05 = 1e-7. "
        f"Here: gradient {g1:.4f},",
        f"loc after step 1 = {frame['loc'][1]:.7f}.",
        f"Empirical mean (mean of training data): {mean:.5f}",
        "(the seed's table: diff. target is |estimate - that mean|)",
        "",
        f"{'step':>5} {'loss':>24} {'estimate':>15} {'diff. target':>15}",
    ]
    for s in range(500, 10001, 500):
        row = frame.iloc[s]
        out.lines.append(
            f"{s:5d} {row['loss']:24.3f} {row['loc']:15.5f} "
            f"{abs(row['loc'] - mean):15.5f}"
        )
    fast = fit("seed002_normal", lr=1e-6, **common)  # type: ignore[arg-type]
    out.traces["normal-mean-sgd-lr1e-6"] = fast
    gaps = np.abs(fast.to_pandas()["loc"].to_numpy() - mean)
    first = int(np.argmax(gaps < 1e-4))
    out.lines += [
        "",
        "(The seed's table counts the one step it took by hand before its loop, so "
        "row s shows loc after s steps.)",
        f"With the code's lr 1e-6 the estimate is within 1e-4 of the empirical mean "
        f"after {first} steps.",
    ]
    return out


def linear_basics() -> DemoResult:
    """Seed 003: TensorFlow's "custom training: basics", W and b from 5 and 0."""
    t = fit(
        "seed003_linear",
        "line",
        "mse",
        optimizer="sgd",
        lr=0.1,
        epochs=10,
        init={"w": 5.0, "b": 0.0},
        shuffle=False,
    )
    frame = t.to_pandas()
    out = DemoResult(traces={"linear-basics": t})
    out.lines += [
        "Seed 003: TensorFlow's custom training basics: f(x) = x*W + b on 1000 "
        "points of y = 3x + 2 + noise,",
        "from W=5, b=0, full-batch gradient descent with lr 0.1. Each line shows W, "
        "b and the loss before that epoch's step.",
        "",
    ]
    for e in range(10):
        row = frame.iloc[e]
        out.lines.append(
            f"Epoch {e:2d}: W={row['w']:1.2f} b={row['b']:1.2f}, "
            f"loss={row['loss']:2.5f}"
        )
    return out


def keras_batches() -> DemoResult:
    """Seed 004: Keras fit batch by batch; slope, intercept and RMSE at every step."""
    data = builtin("seed004_keras")
    common = dict(
        model="line",
        loss="mse",
        optimizer="keras.rmsprop",
        lr=0.05,
        epochs=1,
        shuffle=False,
        init={"w": 0.5, "b": 0.0},
    )
    whole = fit(data, batch_size=12, **common)  # type: ignore[arg-type]
    t = fit(data, batch_size=3, **common)  # type: ignore[arg-type]
    out = DemoResult(traces={"keras-batches-12": whole, "keras-batches": t})
    w12 = whole.to_pandas().iloc[1]
    out.lines += [
        "Seed 004: Keras fit with RMSprop(learning_rate=0.05), loss "
        "mean_squared_error, "
        "on the question's 12 points,",
        "from slope 0.5 and intercept 0, one epoch, shuffle=False.",
        "",
        "batch_size=12, what Keras prints (loss and RMSE at the weights before the "
        "update; val_ after it):",
        f"  loss: {w12['running_loss']:.4f} - root_mean_squared_error: "
        f"{np.sqrt(w12['running_loss']):.4f} - val_loss: {w12['loss']:.4f} - "
        f"val_root_mean_squared_error: {np.sqrt(w12['loss']):.4f}",
        "",
        "batch_size=3, every step (Keras's loss and RMSE are running values over the "
        "epoch so far, each batch",
        "at the weights before its update; loss (all data) uses the weights after "
        "the step, like val_loss):",
        "",
        f"{'step':>4} {'x used':>14} {'slope':>10} {'intercept':>10} "
        f"{'batch loss':>11} {'loss':>10} {'rmse':>8} {'loss (all data)':>16} "
        f"{'rmse (all)':>10}",
    ]
    frame = t.to_pandas()
    x = data["x"].to_numpy()
    for s in range(1, t.steps + 1):
        row = frame.iloc[s]
        used = ",".join(f"{v:g}" for v in x[t.rows(s)])
        out.lines.append(
            f"{s:4d} {'[' + used + ']':>14} {row['w']:10.7f} {row['b']:10.7f} "
            f"{row['batch_loss']:11.4f} {row['running_loss']:10.4f} "
            f"{np.sqrt(row['running_loss']):8.4f} {row['loss']:16.4f} "
            f"{np.sqrt(row['loss']):10.4f}"
        )
    out.lines += [
        "",
        "Keras's RMSE is sqrt(sum of squared errors over the rows seen this epoch / "
        "rows seen), not the mean of",
        "the batches' RMSEs; with an MSE loss its square is the logged loss.",
    ]
    return out


DEMOS: dict[str, Demo] = {
    d.name: d
    for d in [
        Demo("line-mse", "001", "a line by MSE (TensorFlow custom loop)", line_mse),
        Demo("gaussian-mle", "001", "a Gaussian by maximum likelihood", gaussian_mle),
        Demo(
            "normal-mean-sgd",
            "002",
            "a normal mean with PyTorch's SGD, step by step",
            normal_mean_sgd,
        ),
        Demo(
            "linear-basics",
            "003",
            'TensorFlow\'s custom training basics, its "Epoch N" lines',
            linear_basics,
        ),
        Demo(
            "keras-batches",
            "004",
            "Keras fit: slope, intercept and RMSE every iteration",
            keras_batches,
        ),
    ]
}
