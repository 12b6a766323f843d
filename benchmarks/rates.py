"""Benchmark: trying one model at several learning rates, one run after another.

What a student does: the same fit at five rates in turn (``--rates``), a linear
model of three x columns on 20000 float32 rows (``--rows``), Adam in batches of
32 for three epochs (1875 steps), every step recorded. Timed three ways, each
in a process of its own:
- ``python``: ``gradtrace.fit`` five times in one Python session (a notebook),
  without the exact answer (``exact=False``); the seconds of each fit. The
  first compiles the training scan; the rate is an input of it, so the others
  find it compiled;
- ``command_line``: ``gradtrace fit data.csv --lr R`` five times, the whole
  process each, with a compilation cache of its own that starts empty (the
  first run fills it; the exact answer and its summary included);
- ``torch``: the same loop written by hand in PyTorch, eager, five times in one
  session (skipped where torch is missing; ``--torch-python``).
Prints JSON: each run's seconds in the order of the rates.

    python benchmarks/rates.py [--torch-python PYTHON_WITH_TORCH]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from large_data import process_peak, script_json, torch_python_option  # noqa: E402

SESSION = r"""
import json, sys, time
import numpy as np
kind, path, rates = sys.argv[1], sys.argv[2], [float(r) for r in sys.argv[3].split(",")]
table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
names = ["x0", "x1", "x2"]
seconds = []
if kind == "python":
    import gradtrace
    frame = {**{c: table[:, i] for i, c in enumerate(names)}, "y": table[:, 3]}
    for lr in rates:
        start = time.perf_counter()
        gradtrace.fit(frame, "linear", x=names, optimizer="adam", lr=lr,
                      batch_size=32, epochs=3, exact=False)
        seconds.append(time.perf_counter() - start)
else:
    import torch
    x = torch.from_numpy(np.ascontiguousarray(table[:, :3]))
    y = torch.from_numpy(np.ascontiguousarray(table[:, 3]))
    for lr in rates:
        start = time.perf_counter()
        w = torch.zeros(3, requires_grad=True)
        b = torch.zeros((), requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=lr)
        g = torch.Generator().manual_seed(0)
        trace = []
        for epoch in range(3):
            order = torch.randperm(len(y), generator=g)
            for i in range(0, len(y), 32):
                rows = order[i:i + 32]
                loss = torch.mean((x[rows] @ w + b - y[rows]) ** 2)
                loss.backward()
                trace.append((w.tolist(), b.item(), w.grad.tolist(), loss.item()))
                opt.step(); opt.zero_grad()
        seconds.append(time.perf_counter() - start)
print(json.dumps({"seconds": seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rates", default="0.05,0.037,0.021,0.013,0.0077")
    torch_python_option(parser)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 1 + rng.standard_normal(args.rows)
    out: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "rows": args.rows,
        "rates": [float(r) for r in args.rates.split(",")],
    }
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "y": y})
        frame.to_csv(data, index=False)
        python = script_json(sys.executable, SESSION, ["python", str(data), args.rates])
        out["python"] = python
        exe = str(Path(sys.executable).with_name("gradtrace"))
        runs = []
        for i, lr in enumerate(args.rates.split(",")):
            command = [exe, "fit", str(data), "--model", "linear", "--optimizer"]
            command += ["adam", "--lr", lr, "--batch-size", "32", "--epochs", "3"]
            command += ["-q", "--out", f"{tmp}/run{i}"]
            runs.append(process_peak(command, cache=f"{tmp}/cache")["seconds"])
        out["command_line"] = {"seconds": runs}
        out["torch"] = script_json(
            args.torch_python, SESSION, ["torch", str(data), args.rates]
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
