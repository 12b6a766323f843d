"""Benchmark: 1000 learning rates x 200 steps on seed 002's data (n = 10000).

Side by side, in one run on one machine:
- gradtrace's whole ``sweep`` command (process start, imports, compilation, the
  sweep, writing sweep.parquet and traces.parquet; with and without its plots),
  compiled afresh each time (the command's compilation cache off);
- PyTorch running the seed's loop configuration by configuration: its first
  configuration (which carries PyTorch's one-time start-up, about a second) is timed
  on its own, then a sample of configurations is timed (median of --repeats rounds)
  and scaled to the other 999, as one process running all 1000 would take;
- PyTorch vectorised by hand over the learning rates: a vector of 1000 parameters
  broadcast against the data, one backward per step.

Run with a Python that has torch (the peers are optional: a missing one is reported
as skipped); gradtrace runs as a subprocess from the project's .venv:

    pip install torch==2.13.0            # or: pip install .[bench]
    python benchmarks/sweep_vs_torch.py [--gradtrace .venv/bin/gradtrace]
        [--torch-device cuda]
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
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "gradtrace" / "datasets" / "seed002_normal.csv"
N_CONFIGS, N_STEPS, SAMPLE = 1000, 200, 20
LRS = np.logspace(-7, -3, N_CONFIGS)


def gradtrace_command(exe: str, out: str, plots: bool) -> list[str]:
    return [
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
        out,
        "--plot" if plots else "--no-plot",
    ]


def run_once(exe: str, plots: bool) -> dict[str, Any]:
    """One whole ``gradtrace sweep`` process: wall time, peak memory, its timings."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        # compiled afresh each time, as a first run (not from the command's cache)
        env = {**os.environ, "GRADTRACE_CACHE_DIR": "off"}
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        proc = subprocess.Popen(
            gradtrace_command(exe, f"{tmp}/s", plots),
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            sys.exit(f"gradtrace failed:\n{err.read().decode()}")
        info = json.loads(Path(f"{tmp}/s/sweep.json").read_text())
        if plots:
            assert (Path(tmp) / "s" / "losses.png").stat().st_size > 10_000
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "train_s": info["timings"]["train_s"],
        "compile_s": info["timings"]["compile_s"],
        "versions": info["versions"],
        "device": info.get("device", "cpu"),
    }


def time_gradtrace(exe: str, repeats: int) -> dict[str, dict[str, Any]]:
    """The command without and with its pictures, alternately (a slow spell of the
    machine then slows both alike)."""
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for i in range(repeats):
        for plots in (False, True) if i % 2 == 0 else (True, False):
            runs[plots].append(run_once(exe, plots))
    return {
        "gradtrace_no_plots" if not plots else "gradtrace_with_plots": {
            "median_s": statistics.median(r["wall_s"] for r in done),
            "runs_s": [round(r["wall_s"], 3) for r in done],
            "train_s": statistics.median(r["train_s"] for r in done),
            "compile_s": statistics.median(r["compile_s"] for r in done),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
            "versions": done[-1]["versions"],
            "device": done[-1]["device"],
        }
        for plots, done in runs.items()
    }


def time_torch_sequential(repeats: int, device: str) -> dict[str, Any] | None:
    try:
        import torch
    except ImportError:
        return None
    data = torch.tensor(np.loadtxt(DATA, skiprows=1, dtype=np.float32), device=device)

    def run(lr: float) -> None:  # the seed's loop, one configuration
        location = torch.tensor(
            1.0, requires_grad=True, dtype=torch.float64, device=device
        )
        opt = torch.optim.SGD([location], lr=lr)
        for _ in range(N_STEPS):
            dist = torch.distributions.Normal(
                loc=location, scale=1.0, validate_args=False
            )
            loss = -torch.sum(dist.log_prob(data))
            loss.backward()
            opt.step()
            opt.zero_grad()
        location.item()  # waits for a GPU's queued steps

    start = time.perf_counter()
    run(float(LRS[0]))  # the first also pays PyTorch's one-time start-up
    first = time.perf_counter() - start
    sample = LRS[np.linspace(0, N_CONFIGS - 1, SAMPLE).astype(int)]
    rounds = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for lr in sample:
            run(float(lr))
        rounds.append((time.perf_counter() - start) / SAMPLE)
    per_config = statistics.median(rounds)
    return {
        "first_config_s": first,
        "per_config_s": per_config,
        "per_config_rounds_s": [round(r, 4) for r in rounds],
        "scaled_s": first + per_config * (N_CONFIGS - 1),
        # what this script reported before: the start-up inside a sample of 20,
        # so scaled up 50 times
        "scaled_start_up_in_sample_s": (first + per_config * (SAMPLE - 1))
        / SAMPLE
        * N_CONFIGS,
    }


def time_torch_vectorised(device: str) -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    data = torch.tensor(np.loadtxt(DATA, skiprows=1, dtype=np.float32), device=device)
    lrs = torch.tensor(LRS, dtype=torch.float64, device=device)
    start = time.perf_counter()
    loc = torch.ones(N_CONFIGS, dtype=torch.float64, requires_grad=True, device=device)
    for _ in range(N_STEPS):
        dist = torch.distributions.Normal(
            loc=loc[:, None], scale=1.0, validate_args=False
        )
        loss = -dist.log_prob(data[None, :]).sum()
        loss.backward()
        with torch.no_grad():
            loc -= lrs * loc.grad
        loc.grad = None
    loc.sum().item()  # waits for a GPU's queued steps
    return {"total_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gradtrace", default=str(ROOT / ".venv" / "bin" / "gradtrace")
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--torch-device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="Where PyTorch's loops run (default: cpu).",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpus": len(os.sched_getaffinity(0)),
        },
        **time_gradtrace(args.gradtrace, args.repeats),
        "torch_sequential": time_torch_sequential(args.repeats, args.torch_device),
        "torch_vectorised": time_torch_vectorised(args.torch_device),
    }
    try:
        import torch

        results["machine"]["torch"] = torch.__version__
        results["machine"]["torch_device"] = args.torch_device
        if args.torch_device == "cuda":
            results["machine"]["torch_device"] += f" ({torch.cuda.get_device_name(0)})"
    except ImportError:
        pass
    seq, vec = results["torch_sequential"], results["torch_vectorised"]
    for key, run in (
        ("", "gradtrace_no_plots"),
        ("_with_plots", "gradtrace_with_plots"),
    ):
        gt = results[run]["median_s"]
        if seq:
            results[f"ratio_sequential_over_gradtrace{key}"] = seq["scaled_s"] / gt
        if vec:
            results[f"ratio_vectorised_over_gradtrace{key}"] = vec["total_s"] / gt
    for name in ("torch_sequential", "torch_vectorised"):
        if results[name] is None:
            print(f"{name}: skipped (torch is not installed)", file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
