"""Benchmark: 1000 learning rates x 200 steps on seed 002's data (n = 10000).

Side by side, in one run on one machine:
- gradtrace's whole ``sweep`` command (process start, imports, compilation, the
  sweep, writing sweep.parquet and traces.parquet; with and without its plots);
- PyTorch running the seed's loop configuration by configuration (a sample of
  configurations is timed and scaled up to 1000, as the report says);
- PyTorch vectorised by hand over the learning rates: a vector of 1000 parameters
  broadcast against the data, one backward per step.

Run with a Python that has torch (the peers are optional: a missing one is reported
as skipped); gradtrace runs as a subprocess from the project's .venv:

    pip install torch==2.13.0            # or: pip install .[bench]
    python benchmarks/sweep_vs_torch.py [--gradtrace .venv/bin/gradtrace]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "gradtrace" / "datasets" / "seed002_normal.csv"
N_CONFIGS, N_STEPS, SAMPLE = 1000, 200, 20
LRS = np.logspace(-7, -3, N_CONFIGS)


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def time_gradtrace(exe: str, plots: bool, repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                exe,
                "sweep",
                "seed002_normal",
                "--model",
                "normal",
                "--reduction",
                "sum",
                "--fix",
                "scale=1",
                "--steps",
                str(N_STEPS),
                "--lr",
                f"1e-7:1e-3:log{N_CONFIGS}",
                "--init",
                "loc=1",
                "--dtype",
                "float64",
                "--compute-dtype",
                "float32",
                "--no-shuffle",
                "--out",
                f"{tmp}/s",
                "--plot" if plots else "--no-plot",
            ]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
            info = json.loads(Path(f"{tmp}/s/sweep.json").read_text())
    return {
        "median_s": statistics.median(times),
        "train_s": info["timings"]["train_s"],
        "compile_s": info["timings"]["compile_s"],
        "peak_rss_mb": child_peak_mb(),
    }


def time_torch_sequential() -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    data = torch.tensor(np.loadtxt(DATA, skiprows=1, dtype=np.float32))
    sample = LRS[np.linspace(0, N_CONFIGS - 1, SAMPLE).astype(int)]
    start = time.perf_counter()
    for lr in sample:  # the seed's loop, one configuration at a time
        location = torch.tensor(1.0, requires_grad=True, dtype=torch.float64)
        opt = torch.optim.SGD([location], lr=float(lr))
        for _ in range(N_STEPS):
            dist = torch.distributions.Normal(
                loc=location, scale=1.0, validate_args=False
            )
            loss = -torch.sum(dist.log_prob(data))
            loss.backward()
            opt.step()
            opt.zero_grad()
    per_config = (time.perf_counter() - start) / SAMPLE
    return {
        "sample_s": per_config * SAMPLE,
        "per_config_s": per_config,
        "scaled_s": per_config * N_CONFIGS,
    }


def time_torch_vectorised() -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    data = torch.tensor(np.loadtxt(DATA, skiprows=1, dtype=np.float32))
    lrs = torch.tensor(LRS, dtype=torch.float64)
    start = time.perf_counter()
    loc = torch.ones(N_CONFIGS, dtype=torch.float64, requires_grad=True)
    for _ in range(N_STEPS):
        dist = torch.distributions.Normal(
            loc=loc[:, None], scale=1.0, validate_args=False
        )
        loss = -dist.log_prob(data[None, :]).sum()
        loss.backward()
        with torch.no_grad():
            loc -= lrs * loc.grad
        loc.grad = None
    return {"total_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gradtrace", default=str(ROOT / ".venv" / "bin" / "gradtrace")
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpus": len(__import__("os").sched_getaffinity(0)),
        },
        "gradtrace_no_plots": time_gradtrace(args.gradtrace, False, args.repeats),
        "gradtrace_with_plots": time_gradtrace(args.gradtrace, True, args.repeats),
        "torch_sequential": time_torch_sequential(),
        "torch_vectorised": time_torch_vectorised(),
    }
    try:
        import torch

        results["machine"]["torch"] = torch.__version__
    except ImportError:
        pass
    gt = results["gradtrace_no_plots"]["median_s"]
    seq, vec = results["torch_sequential"], results["torch_vectorised"]
    if seq:
        results["ratio_sequential_over_gradtrace"] = seq["scaled_s"] / gt
    if vec:
        results["ratio_vectorised_over_gradtrace"] = vec["total_s"] / gt
    for name in ("torch_sequential", "torch_vectorised"):
        if results[name] is None:
            print(f"{name}: skipped (torch is not installed)", file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
