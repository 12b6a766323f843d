"""Benchmark: a linear model on several x columns, against PyTorch and the bandwidth.

For each number of x columns K (``--columns``, default 1,2,4,8), N float32 rows
(``--rows``, default 4 million) of K x columns and y = sum(x) + 1 + noise, each
case in a process of its own, so that its peak memory is its own:
- gradtrace's ``linear`` model by 100 full-batch gradient-descent steps (``gd``)
  and by one epoch of mini-batches of 4096 in order (``sgd``, the loss over all
  the data only after the last step, as PyTorch's loop), every step recorded:
  the training's seconds (``train_s``, median of ``--repeats``);
- the same loops in PyTorch, eager (skipped when torch is missing);
- the whole ``gradtrace fit data.parquet --model linear --x x0 --x x1 ...``
  process with its exact answer (``--steps 100``, compiling afresh): its peak
  resident memory above a process that has imported gradtrace, over the data's
  size (``command_peak_over_data``).
The bandwidth is NumPy's sum over the same x and y; ``share_of_bandwidth_limit``
is the rows a second a case reached over those of a loop that reads every value
once per step. Prints JSON.

    python benchmarks/columns.py [--rows 4000000] [--columns 1,2,4,8]
    python benchmarks/columns.py --torch-python PYTHON_WITH_TORCH
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from large_data import process_peak, script_json, torch_python_option  # noqa: E402

CASE = r"""
import json, resource, sys, time
import numpy as np
kind, n, k, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if kind.startswith("gradtrace"):
    import pandas as pd
    from gradtrace.api import run
    from gradtrace.run_config import RunConfig
else:
    import torch
idle = maxrss()
rng = np.random.default_rng(0)
x = rng.standard_normal((n, k), dtype=np.float32)
y = x.sum(axis=1) + 1 + rng.standard_normal(n, dtype=np.float32)
batch = kind.endswith("sgd")
out = {}
if kind.startswith("gradtrace"):
    names = [f"x{i}" for i in range(k)]
    frame = pd.DataFrame({**{c: x[:, i] for i, c in enumerate(names)}, "y": y})
    del x
    cfg = dict(batch_size=4096, epochs=1, shuffle=False, eval_every=10**9)
    if not batch:
        cfg = dict(steps=100)
    model = dict(model="linear", x=names) if k > 1 else dict(x=names)
    train = []
    for _ in range(repeats):
        t = run(RunConfig(data=None, lr=0.01, exact=False, **model, **cfg), frame, "d")
        train.append(t.info["timings"]["train_s"])
    out.update(seconds=sorted(train)[len(train) // 2],
               compile_s=t.info["timings"]["compile_s"], steps=t.steps)
else:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    times = []
    for _ in range(repeats):
        w = torch.zeros(k, requires_grad=True)
        b = torch.zeros((), requires_grad=True)
        opt = torch.optim.SGD([w, b], lr=0.01)
        trace = []
        start = time.perf_counter()
        if batch:
            for i in range(0, n, 4096):
                xb, yb = xt[i:i + 4096], yt[i:i + 4096]
                loss = torch.mean((xb @ w + b - yb) ** 2)
                loss.backward(); opt.step(); opt.zero_grad()
                trace.append((w.tolist(), b.item(), loss.item()))
        else:
            for _ in range(100):
                loss = torch.mean((xt @ w + b - yt) ** 2)
                loss.backward(); opt.step(); opt.zero_grad()
                trace.append((w.tolist(), b.item(), loss.item()))
        times.append(time.perf_counter() - start)
    out.update(seconds=sorted(times)[len(times) // 2], steps=len(trace))
out["peak_mb_above_idle"] = (maxrss() - idle) / 1024
print(json.dumps(out))
"""


def bandwidth(n: int, k: int) -> float:
    """Bytes per second of NumPy's sum over x ([n, k]) and y (float32)."""
    x = np.ones((n, k), np.float32)
    y = np.ones(n, np.float32)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        float(x.sum()) + float(y.sum())
        times.append(time.perf_counter() - start)
    return (x.nbytes + y.nbytes) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--columns", default="1,2,4,8")
    parser.add_argument("--repeats", type=int, default=3)
    torch_python_option(parser)
    parser.add_argument(
        "--no-command-line",
        action="store_true",
        help="Leave out the whole command's peak memory.",
    )
    args = parser.parse_args()
    n = args.rows
    out: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": len(os.sched_getaffinity(0)),
        },
        "rows": n,
    }
    exe = str(Path(sys.executable).with_name("gradtrace"))
    idle = process_peak([sys.executable, "-c", "import gradtrace.api"])["peak_mb"]
    for k in (int(c) for c in args.columns.split(",")):
        data_mb = 4 * n * (k + 1) / 2**20
        bytes_per_s = bandwidth(n, k)
        limit = bytes_per_s / (4 * (k + 1))  # rows a second, every value read once
        row: dict[str, Any] = {
            "data_mb": data_mb,
            "bandwidth_gb_per_s": bytes_per_s / 1e9,
        }
        for kind in ("gradtrace-gd", "torch-gd", "gradtrace-sgd", "torch-sgd"):
            python = args.torch_python if kind.startswith("torch") else sys.executable
            r = script_json(python, CASE, [kind, str(n), str(k), str(args.repeats)])
            if r is None:
                row[kind] = "skipped (torch is not installed)"
                continue
            rows = n * r["steps"] if kind.endswith("-gd") else n
            r["rows_per_s"] = rows / r["seconds"]
            r["share_of_bandwidth_limit"] = r["rows_per_s"] / limit
            r["peak_over_data"] = r["peak_mb_above_idle"] / data_mb
            row[kind] = r
        for loop in ("gd", "sgd"):
            ours, theirs = row[f"gradtrace-{loop}"], row[f"torch-{loop}"]
            if isinstance(theirs, dict):
                row[f"torch_over_gradtrace_{loop}"] = (
                    theirs["seconds"] / ours["seconds"]
                )
        if not args.no_command_line:
            with tempfile.TemporaryDirectory() as tmp:
                path = str(Path(tmp) / "data.parquet")
                rng = np.random.default_rng(0)
                cols = {
                    f"x{i}": rng.standard_normal(n, dtype=np.float32) for i in range(k)
                }
                y = sum(cols.values()) + 1 + rng.standard_normal(n, dtype=np.float32)
                pq.write_table(pa.table({**cols, "y": y}), path, row_group_size=1 << 20)
                del cols, y
                xs = [a for c in range(k) for a in ("--x", f"x{c}")]
                model = ["--model", "linear"] if k > 1 else []
                command = [exe, "fit", path, *model, *xs, "--steps", "100"]
                command += ["--lr", "0.01", "-q", "--out"]
                peaks = [
                    process_peak([*command, f"{tmp}/run{i}"])["peak_mb"]
                    for i in range(3)
                ]
                row["command_peak_mb"] = statistics.median(peaks)
                row["command_peak_over_data"] = (
                    row["command_peak_mb"] - idle
                ) / data_mb
        out[f"columns_{k}"] = row
    out["idle_peak_mb"] = idle
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
