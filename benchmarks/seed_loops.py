"""Benchmark: the seeds' training loops, gradtrace against the frameworks.

Every seed's loop, run the seed's own way and by ``gradtrace fit`` on the built-in
data set with the options that reproduce it (``docs/seeds.md``, ``gradtrace demo``):

- 001: TensorFlow custom loops, eager, as the seed writes them (a Keras ``Layer``
  with ``add_weight``, ``tf.GradientTape``, ``assign_sub``): a line by MSE (n = 100,
  lr 0.05, 30 epochs from w = 0.018, b = 0) and a Gaussian by summed NLL (n = 1000,
  lr 0.0005, 50 epochs from 0.7 mean, 1.3 std);
- 002: n = 10000, 10000 full-batch SGD steps, full trace: PyTorch's eager loop,
  TensorFlow eagerly and inside one ``tf.function``, NumPy;
- 003: TensorFlow's "custom training basics", eager (the seed has no
  ``tf.function``): W, b from 5, 0, n = 1000, lr 0.1, 10 epochs;
- 004: Keras 3 ``model.fit`` (RMSprop 0.05, batch size 3, one epoch, no shuffling,
  w = 0.5, b = 0, RMSE metric, the data as validation data), in one call and as the
  seed's answer does it, one ``fit`` per batch to read the weights after each step;
  gradtrace with ``keras.rmsprop`` and ``--metric rmse`` (a row per batch).

For gradtrace: the compiled training alone (``train_s``) and its compilation
(``compile_s``), both from the run folder's ``run.json``, and the whole ``gradtrace
fit`` process (``process_s``: imports, compilation, exact optimum, writing the run
folder), compiled afresh and, as ``process_warm_s``, run again with the command's
compilation cache filled (``ratio_process_warm``). For a peer: its loop's first run
apart (``first_s``: one-time kernel set-up; for Keras the first ``fit`` of a fresh
model, which traces its ``tf.function``s), the loop's median over the repetitions
after it (``loop_s``), and the whole process
(``process_s``: this script run with ``--peer NAME``, a fresh interpreter that imports
the framework, loads the data and runs the loop once). Ratios are peer / gradtrace;
``params`` compares the final parameters. Medians of ``--repeats``; a missing peer
is reported as skipped.

    python benchmarks/seed_loops.py [--gradtrace .venv/bin/gradtrace] [--repeats 5]
        [--only 001,004] [--torch-device cpu,cuda]

On a GPU host gradtrace runs on the GPU (JAX's default device; ``JAX_PLATFORMS=cpu``
keeps it on the processor), and ``--torch-device cpu,cuda`` times seed 002's PyTorch
loop both ways (``torch_eager``, ``torch_eager_cuda``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "src" / "gradtrace" / "datasets"
SEEDS = ("001", "002", "003", "004")
STEPS, LR = 10_000, 1e-7  # seed 002
LINE_W0 = 0.018  # seed 001's random-normal start of m, as docs/seeds.md fixes it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # here and in the peer processes

# A peer's loop: one call runs it once and returns its final "params" and its timings
# (``loop_s``, and for Keras more), measured inside so that set-up stays outside.
Loop = Callable[[], dict[str, Any]]


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load(name: str) -> np.ndarray:
    return np.loadtxt(
        DATASETS / f"{name}.csv", delimiter=",", skiprows=1, dtype=np.float32
    )


def process(cmd: list[str], repeats: int) -> float:
    return median_time(
        lambda: subprocess.run(cmd, check=True, capture_output=True), repeats
    )


def import_tf() -> Any:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    """Whether PyTorch is installed and sees a CUDA device."""
    if not available("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


# ------------------------------------------------------------------------ gradtrace


def as_installed(exe: str) -> None:
    """Compile gradtrace's modules to bytecode, as pip does for an installed
    wheel: an editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this
    machine's environment) otherwise compiles its 65 modules from source at every
    start, about 0.1 s of each process that a user's install never spends."""
    python = str(Path(exe).with_name("python"))
    where = subprocess.run(
        [
            python,
            "-c",
            "import gradtrace, os; print(os.path.dirname(gradtrace.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", where], check=True)


def gradtrace_fit(exe: str, args: list[str], repeats: int) -> dict[str, Any]:
    """Run ``gradtrace fit ARGS -q`` REPEATS times without the compilation cache
    (``process_s``, ``compile_s``: compiled afresh, as a first run) and, in turn
    with those, REPEATS times with a cache that a first untimed run filled
    (``process_warm_s``, ``compile_warm_s``: the same fit run again); medians, and
    the last run's end."""
    timed: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as cache:

        def one(cached: bool) -> dict[str, Any]:
            env = {**os.environ, "GRADTRACE_CACHE_DIR": cache if cached else "off"}
            env.pop("JAX_COMPILATION_CACHE_DIR", None)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                done = subprocess.run(
                    [exe, "fit", *args, "-q", "--out", f"{tmp}/r"],
                    capture_output=True,
                    env=env,
                )
                seconds = time.perf_counter() - start
                if done.returncode != 0:
                    raise RuntimeError(
                        f"gradtrace fit {' '.join(args)} exited {done.returncode}:\n"
                        f"{done.stderr.decode()}{done.stdout.decode()}"
                    )
                run = json.loads(Path(f"{tmp}/r/run.json").read_text())
            warm = "_warm" if cached else ""
            for key, value in (
                (f"process{warm}_s", seconds),
                (f"train{warm}_s", run["timings"]["train_s"]),
                (f"compile{warm}_s", run["timings"]["compile_s"]),
            ):
                timed.setdefault(key, []).append(value)
            return run

        one(cached=True)  # fills the cache
        timed.clear()
        for _ in range(repeats):
            one(cached=True)
            run = one(cached=False)
    medians = {k: statistics.median(v) for k, v in timed.items()}
    return {
        "command": "gradtrace fit " + " ".join(args) + " -q",
        "process_s": medians["process_s"],
        "process_warm_s": medians["process_warm_s"],
        # the trace is the same either way; its training time from all 2R runs
        "train_s": statistics.median(timed["train_s"] + timed["train_warm_s"]),
        "compile_s": medians["compile_s"],
        "compile_warm_s": medians["compile_warm_s"],
        "steps": run["steps"],
        "params": run["params"],
        "final_loss": run["final_loss"],
        "versions": run["versions"],
        "device": run.get("device", "cpu"),
    }


SEED002_ARGS = [
    "seed002_normal",
    *("--model", "normal", "--optimizer", "torch.sgd", "--lr", str(LR)),
    *("--steps", str(STEPS), "--reduction", "sum", "--init", "loc=1"),
    *("--fix", "scale=1", "--dtype", "float64", "--compute-dtype", "float32"),
    "--no-shuffle",
]


def gaussian_start() -> tuple[float, float]:
    """Seed 001's start, 0.7 mean and 1.3 std of y, in float32 (as the demo)."""
    y = load("seed001_gaussian")[:, 1]
    loc0 = np.float32(0.7) * np.mean(y, dtype=np.float32)
    scale0 = np.float32(1.3) * np.std(y, dtype=np.float32)
    return float(loc0), float(scale0)


def gradtrace_args() -> dict[str, list[str]]:
    """``gradtrace fit`` arguments reproducing seeds 001, 003 and 004 (as the demos)."""
    loc0, scale0 = gaussian_start()
    line = ["--model", "line", "--loss", "mse", "--no-shuffle"]
    return {
        "001_line": [
            "seed001_line",
            *line,
            *("--optimizer", "sgd", "--lr", "0.05", "--epochs", "30"),
            *("--init", f"w={LINE_W0}", "--init", "b=0"),
        ],
        "001_gaussian": [
            "seed001_gaussian",
            *("--model", "normal", "--loss", "nll", "--reduction", "sum"),
            *("--optimizer", "sgd", "--lr", "0.0005", "--epochs", "50"),
            *("--init", f"loc={loc0!r}", "--init", f"scale={scale0!r}"),
            "--no-shuffle",
        ],
        "003_linear": [
            "seed003_linear",
            *line,
            *("--optimizer", "sgd", "--lr", "0.1", "--epochs", "10"),
            *("--init", "w=5", "--init", "b=0"),
        ],
        "004_keras": [
            "seed004_keras",
            *line,
            *("--optimizer", "keras.rmsprop", "--lr", "0.05", "--epochs", "1"),
            *("--batch-size", "3", "--init", "w=0.5", "--init", "b=0"),
            *("--metric", "rmse"),
        ],
    }


# ------------------------------------------------------- the peers' loops, as seeded


def tf_line() -> Loop:
    """Seed 001, first part: its LinearRegressionLayer and eager loop, verbatim."""
    tf = import_tf()
    rows = load("seed001_line")
    x_train, y_train = tf.constant(rows[:, 0]), tf.constant(rows[:, 1])

    class LinearRegressionLayer(tf.keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.m = self.add_weight(shape=(1,), initializer="random_normal")
            self.b = self.add_weight(shape=(1,), initializer="zeros")

        def call(self, inputs: Any) -> Any:
            return self.m * inputs + self.b

    def mse(y_pred: Any, y_true: Any) -> Any:
        return tf.reduce_mean(tf.square(y_pred - y_true))

    def run() -> dict[str, Any]:
        layer = LinearRegressionLayer()
        layer.m.assign([LINE_W0])  # the seed's random start, fixed
        learning_rate, epochs = 0.05, 30
        start = time.perf_counter()
        mse_loss = []
        for _ in range(epochs):
            with tf.GradientTape() as tape:
                predictions = layer(x_train)
                current_mse_loss = mse(predictions, y_train)
            gradients = tape.gradient(current_mse_loss, layer.trainable_variables)
            layer.m.assign_sub(learning_rate * gradients[0])
            layer.b.assign_sub(learning_rate * gradients[1])
            mse_loss.append(current_mse_loss)
        loop_s = time.perf_counter() - start
        params = {"w": float(layer.m.numpy()[0]), "b": float(layer.b.numpy()[0])}
        return {"params": params, "loop_s": loop_s}

    return run


def tf_gaussian() -> Loop:
    """Seed 001, second part: its GaussianFitLayer, LL and eager loop, verbatim."""
    tf = import_tf()
    y_train = tf.constant(load("seed001_gaussian")[:, 1])

    class GaussianFitLayer(tf.keras.layers.Layer):
        def __init__(self, ivs: list[Any]) -> None:
            super().__init__()
            constant = tf.keras.initializers.Constant
            self.m = self.add_weight(shape=(1,), initializer=constant(ivs[0]))
            self.s = self.add_weight(shape=(1,), initializer=constant(ivs[1]))

    def nll(y_true: Any, params: list[Any]) -> Any:  # the seed's LL
        n = len(y_true)
        m, s = params
        return (n / 2.0) * tf.math.log(2.0 * np.pi * s**2) + (
            1.0 / (2.0 * s**2)
        ) * tf.math.reduce_sum((y_true - m) ** 2)

    def run() -> dict[str, Any]:
        m0 = 0.7 * tf.reduce_mean(y_train)
        s0 = 1.3 * tf.math.reduce_std(y_train)
        layer = GaussianFitLayer([m0, s0])
        learning_rate, epochs = 0.0005, 50
        start = time.perf_counter()
        nll_loss = []
        for _ in range(epochs):
            with tf.GradientTape() as tape:
                current_nll_loss = nll(y_train, [layer.m, layer.s])
            gradients = tape.gradient(current_nll_loss, layer.trainable_variables)
            layer.m.assign_sub(learning_rate * gradients[0])
            layer.s.assign_sub(learning_rate * gradients[1])
            nll_loss.append(current_nll_loss)
        loop_s = time.perf_counter() - start
        params = {"loc": float(layer.m.numpy()[0]), "scale": float(layer.s.numpy()[0])}
        return {"params": params, "loop_s": loop_s}

    return run


def tf_basics() -> Loop:
    """Seed 003: "custom training basics", Model, loss, train and the epoch loop."""
    tf = import_tf()
    rows = load("seed003_linear")
    inputs, outputs = tf.constant(rows[:, 0]), tf.constant(rows[:, 1])

    class Model:
        def __init__(self) -> None:
            self.W = tf.Variable(5.0)
            self.b = tf.Variable(0.0)

        def __call__(self, x: Any) -> Any:
            return self.W * x + self.b

    def loss(predicted_y: Any, desired_y: Any) -> Any:
        return tf.reduce_mean(tf.square(predicted_y - desired_y))

    def train(model: Model, inputs: Any, outputs: Any, learning_rate: float) -> None:
        with tf.GradientTape() as t:
            current_loss = loss(model(inputs), outputs)
        dw, db = t.gradient(current_loss, [model.W, model.b])
        model.W.assign_sub(learning_rate * dw)
        model.b.assign_sub(learning_rate * db)

    def run() -> dict[str, Any]:
        model = Model()
        start = time.perf_counter()
        ws, bs, printed = [], [], []
        for epoch in range(10):
            ws.append(model.W.numpy())
            bs.append(model.b.numpy())
            current_loss = loss(model(inputs), outputs)
            train(model, inputs, outputs, learning_rate=0.1)
            printed.append(  # the seed prints it; kept off this script's stdout
                "Epoch %2d: W=%1.2f b=%1.2f, loss=%2.5f"  # noqa: UP031 (the seed's)
                % (epoch, ws[-1], bs[-1], current_loss)
            )
        loop_s = time.perf_counter() - start
        params = {"w": float(model.W.numpy()), "b": float(model.b.numpy())}
        return {"params": params, "loop_s": loop_s, "last_line": printed[-1]}

    return run


def keras_seed004() -> tuple[Any, np.ndarray, np.ndarray, Callable[[], Any]]:
    """Keras, seed 004's data (x as a column) and its ``build_model(0.05)``."""
    import_tf()
    import keras

    rows = load("seed004_keras")
    feature, label = rows[:, :1], rows[:, 1:]

    def build_model(my_learning_rate: float = 0.05) -> Any:
        model = keras.models.Sequential()
        with warnings.catch_warnings():  # Keras 3 prefers an Input to input_shape
            warnings.simplefilter("ignore")
            model.add(
                keras.layers.Dense(
                    units=1,
                    input_shape=(1,),
                    kernel_initializer=keras.initializers.Constant(0.5),
                )
            )
        model.compile(
            optimizer=keras.optimizers.RMSprop(learning_rate=my_learning_rate),
            loss="mean_squared_error",
            metrics=[keras.metrics.RootMeanSquaredError()],
        )
        return model

    return keras, feature, label, build_model


def keras_fit() -> Loop:
    """Seed 004: ``fit`` in batches of 3, in one call and one call per batch.

    ``loop_s`` is a ``fit`` of the 12 rows in batches of 3 on a model whose train and
    test functions are already traced (its weights put back to the start);
    ``cold_fit_s`` the first ``fit`` of a fresh model (tracing included);
    ``per_batch_*`` the seed's answer: one ``fit`` per batch of 3 rows, reading the
    slope and intercept after each, cold and warm likewise.
    """
    _, feature, label, build_model = keras_seed004()
    start_weights = [np.full((1, 1), 0.5, np.float32), np.zeros(1, np.float32)]
    batch_size = 3

    def fit(model: Any) -> Any:
        return model.fit(
            x=feature,
            y=label,
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            validation_data=(feature, label),
            verbose=0,
        )

    def per_batch(model: Any) -> list[tuple[float, float]]:
        slopes = []
        for idx in range(0, len(feature), batch_size):
            model.fit(
                x=feature[idx : idx + batch_size],
                y=label[idx : idx + batch_size],
                batch_size=1000,
                epochs=1,
                validation_data=(feature, label),
                verbose=0,
            )
            w, b = model.get_weights()
            slopes.append((float(w[0][0]), float(b[0])))
        return slopes

    def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
        start = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - start

    def run() -> dict[str, Any]:
        model, build_s = timed(build_model)
        history, cold_fit_s = timed(lambda: fit(model))
        w, b = model.get_weights()
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        model.set_weights(start_weights)
        _, warm_fit_s = timed(lambda: fit(model))
        model = build_model()
        slopes, per_batch_cold_s = timed(lambda: per_batch(model))
        model.set_weights(start_weights)
        _, per_batch_warm_s = timed(lambda: per_batch(model))
        return {
            "params": {"w": float(w[0][0]), "b": float(b[0])},
            "loop_s": warm_fit_s,
            "build_s": build_s,
            "cold_fit_s": cold_fit_s,
            "per_batch_cold_s": per_batch_cold_s,
            "per_batch_warm_s": per_batch_warm_s,
            "per_batch_params": {"w": slopes[-1][0], "b": slopes[-1][1]},
            "logs": logs,
            "jit_compile": bool(model.jit_compile),
        }

    return run


def keras_fit_once() -> Loop:
    """Seed 004 as its script runs: build the model and ``fit`` once."""
    _, feature, label, build_model = keras_seed004()

    def run() -> dict[str, Any]:
        model = build_model()
        model.fit(
            x=feature,
            y=label,
            batch_size=3,
            epochs=1,
            shuffle=False,
            validation_data=(feature, label),
            verbose=0,
        )
        w, b = model.get_weights()
        return {"params": {"w": float(w[0][0]), "b": float(b[0])}}

    return run


def torch_normal(device: str = "cpu") -> Loop:
    """Seed 002: PyTorch's SGD on -sum(Normal(loc, 1).log_prob(data)), loc float64;
    on a GPU (``cuda``) the data and the location live there, and each step's
    ``item()`` waits for it, as the seed's trace of the location does."""
    import torch

    data = torch.tensor(load("seed002_normal"), device=device)

    def run() -> dict[str, Any]:
        start = time.perf_counter()
        location = torch.tensor(
            1.0, requires_grad=True, dtype=torch.float64, device=device
        )
        opt = torch.optim.SGD([location], lr=LR)
        trace = []
        for _ in range(STEPS):
            prediction = torch.distributions.Normal(loc=location, scale=1.0)
            loss = -torch.sum(prediction.log_prob(data))
            loss.backward()
            opt.step()
            opt.zero_grad()
            trace.append(location.item())
        return {"params": {"loc": trace[-1]}, "loop_s": time.perf_counter() - start}

    return run


# name -> (the module it needs, its loop's set-up)
PEERS: dict[str, tuple[str, Callable[[], Loop]]] = {
    "001_line_tf": ("tensorflow", tf_line),
    "001_gaussian_tf": ("tensorflow", tf_gaussian),
    "002_torch": ("torch", torch_normal),
    "002_torch_cuda": ("torch", lambda: torch_normal("cuda")),
    "003_tf": ("tensorflow", tf_basics),
    "004_keras": ("keras", keras_fit_once),
}


def run_peer(name: str) -> None:
    """``--peer NAME``: the peer's whole script in this fresh process, run once."""
    print(json.dumps(PEERS[name][1]()()["params"]))


def peer(
    name: str,
    repeats: int,
    loop: Callable[[], Loop] | None = None,
    loop_repeats: int | None = None,
) -> Any:
    """Time a peer's loop (first run apart, then the median) and its process."""
    module, setup = PEERS[name]
    if not available(module):
        print(f"{name}: skipped ({module} not installed)", file=sys.stderr)
        return None
    if name.endswith("_cuda") and not cuda_available():
        print(f"{name}: skipped (PyTorch sees no CUDA device)", file=sys.stderr)
        return None
    run = (loop or setup)()
    first = run()
    runs = [run() for _ in range(loop_repeats or repeats)]
    # the process's first run: one-time set-up (Keras: its first fit, traced)
    out: dict[str, Any] = {"first_s": first.get("cold_fit_s", first["loop_s"])}
    for key, value in runs[0].items():
        if key.endswith("_s"):
            out[key] = statistics.median(r[key] for r in runs)
        elif key != "params":
            out[key] = value
    out["params"] = runs[-1]["params"]
    out["process_s"] = process([sys.executable, __file__, "--peer", name], repeats)
    return out


# ------------------------------------------------------------- seed 002's others


def tf_loops_seed002(repeats: int) -> dict[str, float] | None:
    if not available("tensorflow"):
        print("002 tensorflow: skipped (not installed)", file=sys.stderr)
        return None
    tf = import_tf()
    data = tf.constant(load("seed002_normal"))

    def eager() -> None:
        loc = tf.Variable(1.0, dtype=tf.float32)
        for _ in range(STEPS):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(0.5 * tf.square(data - loc)) + STEPS * 0.9189385
            loc.assign_sub(LR * tape.gradient(loss, loc))

    @tf.function
    def compiled(loc: Any) -> Any:
        trace = tf.TensorArray(tf.float32, size=STEPS)
        for i in tf.range(STEPS):
            with tf.GradientTape() as tape:
                tape.watch(loc)
                loss = tf.reduce_sum(0.5 * tf.square(data - loc))
            loc = loc - LR * tape.gradient(loss, loc)
            trace = trace.write(i, loc)
        return trace.stack()

    start = time.perf_counter()
    compiled(tf.constant(1.0))  # trace and compile once
    function_first_s = time.perf_counter() - start
    return {
        "eager_s": median_time(eager, max(1, repeats // 2)),
        "function_first_s": function_first_s,
        "function_s": median_time(lambda: compiled(tf.constant(1.0)).numpy(), repeats),
    }


def numpy_loop(repeats: int) -> dict[str, float]:
    data = load("seed002_normal").astype(np.float64)
    total, n = float(data.sum()), len(data)

    def run() -> np.ndarray:
        loc, trace = 1.0, np.empty(STEPS)
        for i in range(STEPS):
            grad = n * loc - total  # d/dloc of the summed NLL, analytic
            loc -= LR * grad
            trace[i] = loc
        return trace

    def run_full() -> np.ndarray:  # the gradient from the data at every step
        loc, trace = 1.0, np.empty(STEPS)
        for i in range(STEPS):
            loc -= LR * float(np.sum(loc - data))
            trace[i] = loc
        return trace

    return {
        "analytic_s": median_time(run, repeats),
        "data_pass_s": median_time(run_full, repeats),
    }


# ---------------------------------------------------------------------- the report


def agreement(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, float]:
    """Largest absolute and relative gap between the two runs' final parameters."""
    gaps = {k: abs(ours[k] - theirs[k]) for k in theirs}
    return {
        "max_abs_diff": max(gaps.values()),
        "max_rel_diff": max(gaps[k] / max(abs(theirs[k]), 1e-30) for k in gaps),
    }


def compare(g: dict[str, Any], name: str, p: dict[str, Any] | None) -> dict[str, Any]:
    """A peer's figures next to gradtrace's: ratios peer / gradtrace, parameters."""
    if p is None:
        return {"skipped": f"{name} not available"}
    p["ratio_loop_over_train"] = p["loop_s"] / g["train_s"]
    p["ratio_first_over_compile_plus_train"] = p["first_s"] / (
        g["compile_s"] + g["train_s"]
    )
    p["ratio_process"] = p["process_s"] / g["process_s"]
    p["ratio_process_warm"] = p["process_s"] / g["process_warm_s"]
    p["params_vs_gradtrace"] = agreement(g["params"], p["params"])
    return p


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": platform.machine()}
    for module in ("numpy", "torch", "tensorflow", "keras"):
        if available(module):
            out[module] = sys.modules[module].__version__
    if cuda_available():
        import torch

        out["torch_cuda_device"] = torch.cuda.get_device_name(0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradtrace", default=str(ROOT / ".venv/bin/gradtrace"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--only", default=",".join(SEEDS), help="seeds to run, e.g. 001,004"
    )
    parser.add_argument(
        "--torch-device",
        default="cpu",
        help="where seed 002's PyTorch loop runs: cpu, cuda, or both (cpu,cuda)",
    )
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        run_peer(args.peer)
        return
    only = [s.strip() for s in args.only.split(",")]
    torch_devices = [d.strip() for d in args.torch_device.split(",") if d.strip()]
    if unknown := set(torch_devices) - {"cpu", "cuda"}:
        parser.error(f"--torch-device: no device {', '.join(sorted(unknown))}")
    if unknown := set(only) - set(SEEDS):
        parser.error(f"--only: no seed {', '.join(sorted(unknown))}")
    exe, repeats = args.gradtrace, args.repeats
    fits = gradtrace_args()
    out: dict[str, Any] = {"machine": {}, "repeats": repeats}

    as_installed(exe)

    def gradtrace(args: list[str]) -> dict[str, Any]:
        g = gradtrace_fit(exe, args, repeats)
        out["machine"]["gradtrace"] = g.pop("versions")  # its run.json's: jax, ...
        return g

    if "001" in only:
        seed: dict[str, Any] = {}
        for part, name in (("line", "001_line_tf"), ("gaussian", "001_gaussian_tf")):
            g = gradtrace(fits[f"001_{part}"])
            seed[part] = {
                "gradtrace": g,
                "tensorflow_eager": compare(g, "tensorflow", peer(name, repeats)),
            }
        out["001"] = seed

    if "002" in only:
        g = gradtrace(SEED002_ARGS)
        torch_runs = {
            device: peer(
                "002_torch" + ("" if device == "cpu" else "_cuda"),
                repeats,
                loop_repeats=max(1, repeats // 2),
            )
            for device in torch_devices
        }
        tf_002 = tf_loops_seed002(repeats)
        if tf_002 is not None:
            tf_002["ratio_eager_over_train"] = tf_002["eager_s"] / g["train_s"]
            tf_002["ratio_function_over_train"] = tf_002["function_s"] / g["train_s"]
            tf_002["ratio_function_first_over_compile_plus_train"] = tf_002[
                "function_first_s"
            ] / (g["compile_s"] + g["train_s"])
        out["002"] = {
            "gradtrace": g,
            **{
                "torch_eager" + ("" if device == "cpu" else "_cuda"): compare(
                    g, "torch" if device == "cpu" else "torch on a CUDA device", run
                )
                for device, run in torch_runs.items()
            },
            "tensorflow": tf_002 or {"skipped": "tensorflow not installed"},
            "numpy": numpy_loop(repeats),
        }

    if "003" in only:
        g = gradtrace(fits["003_linear"])
        out["003"] = {
            "gradtrace": g,
            "tensorflow_eager": compare(g, "tensorflow", peer("003_tf", repeats)),
        }

    if "004" in only:
        g = gradtrace(fits["004_keras"])
        keras = peer("004_keras", repeats, loop=keras_fit)
        out["004"] = {"gradtrace": g, "keras_fit": compare(g, "keras", keras)}
        if keras is not None:
            keras["per_batch_params_vs_gradtrace"] = agreement(
                g["params"], keras["per_batch_params"]
            )
            keras["ratio_per_batch_warm_over_train"] = (
                keras["per_batch_warm_s"] / g["train_s"]
            )

    out["machine"].update(versions())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
