"""Benchmark: the seeds' training loops, gradtrace against the frameworks.

Seed 002 (n = 10000, 10000 full-batch SGD steps, full trace recorded) in:
- gradtrace: the compiled training alone (``train_s``), compilation apart
  (``compile_s``), and the whole ``gradtrace fit`` process (imports, compilation,
  the exact optimum, writing the run folder);
- PyTorch: the seed's own eager loop;
- TensorFlow: the same loop eagerly and inside one ``tf.function``;
- NumPy: the loop with the analytic gradient, and with a pass over the data.
Medians of several repetitions; a missing peer is reported as skipped. (Seeds 001,
003 and 004's Keras ``fit`` are not measured here yet.)

    python benchmarks/seed_loops.py [--gradtrace .venv/bin/gradtrace] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "src" / "gradtrace" / "datasets"
STEPS, LR = 10_000, 1e-7


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


def gradtrace_fit(exe: str, repeats: int) -> dict[str, float]:
    args = [
        "fit",
        "seed002_normal",
        "--model",
        "normal",
        "--optimizer",
        "torch.sgd",
        "--lr",
        str(LR),
        "--steps",
        str(STEPS),
        "--reduction",
        "sum",
        "--init",
        "loc=1",
        "--fix",
        "scale=1",
        "--dtype",
        "float64",
        "--compute-dtype",
        "float32",
        "--no-shuffle",
        "-q",
    ]
    whole, train, compile_ = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run(
                [exe, *args, "--out", f"{tmp}/r"], check=True, capture_output=True
            )
            whole.append(time.perf_counter() - start)
            t = json.loads(Path(f"{tmp}/r/run.json").read_text())["timings"]
            train.append(t["train_s"])
            compile_.append(t["compile_s"])
    return {
        "process_s": statistics.median(whole),
        "train_s": statistics.median(train),
        "compile_s": statistics.median(compile_),
    }


def torch_loop(repeats: int) -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    data = torch.tensor(load("seed002_normal"))

    def run() -> list[float]:
        location = torch.tensor(1.0, requires_grad=True, dtype=torch.float64)
        opt = torch.optim.SGD([location], lr=LR)
        trace = []
        for _ in range(STEPS):
            prediction = torch.distributions.Normal(loc=location, scale=1.0)
            loss = -torch.sum(prediction.log_prob(data))
            loss.backward()
            opt.step()
            opt.zero_grad()
            trace.append(location.item())
        return trace

    return {"train_s": median_time(run, repeats)}


def tf_loops(repeats: int) -> dict[str, float] | None:
    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
    except ImportError:
        return None
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

    compiled(tf.constant(1.0))  # trace and compile once
    return {
        "eager_s": median_time(eager, max(1, repeats // 2)),
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


def process(cmd: list[str], repeats: int) -> float:
    return median_time(
        lambda: subprocess.run(cmd, check=True, capture_output=True), repeats
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradtrace", default=str(ROOT / ".venv/bin/gradtrace"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "machine": platform.machine()}
    }
    out["gradtrace"] = gradtrace_fit(args.gradtrace, args.repeats)
    out["torch"] = torch_loop(max(1, args.repeats // 2))
    out["tensorflow"] = tf_loops(args.repeats)
    out["numpy"] = numpy_loop(args.repeats)
    if out["torch"]:
        script = (
            "import torch\nimport numpy as np\n"
            f"d=torch.tensor(np.loadtxt('{DATASETS}/seed002_normal.csv',"
            "skiprows=1,dtype=np.float32))\n"
            "l=torch.tensor(1.0,requires_grad=True,dtype=torch.float64)\n"
            f"o=torch.optim.SGD([l],lr={LR})\n"
            f"for _ in range({STEPS}):\n"
            " loss=-torch.sum(torch.distributions.Normal(l,1.0).log_prob(d))\n"
            " loss.backward(); o.step(); o.zero_grad()\n"
        )
        out["torch"]["process_s"] = process([sys.executable, "-c", script], 3)
        import torch

        out["machine"]["torch"] = torch.__version__
    g = out["gradtrace"]
    if out["torch"]:
        out["ratio_train_torch_over_gradtrace"] = out["torch"]["train_s"] / g["train_s"]
        out["ratio_process_torch_over_gradtrace"] = (
            out["torch"]["process_s"] / g["process_s"]
        )
    for name in ("torch", "tensorflow"):
        if out[name] is None:
            print(f"{name}: skipped (not installed)", file=sys.stderr)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
