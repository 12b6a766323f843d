"""Benchmark: what PyTorch's shuffled order (``--torch-order``) costs.

A line on N float32 rows (``--rows``, default 1 million) in batches of 4096 for
E epochs (``--epochs``, default 10), every step recorded, each case the whole
``gradtrace fit data.parquet --no-exact -q`` process (compiling afresh) in a
process of its own: its wall time and peak resident memory, median of
``--repeats``. Cases: gradtrace's own shuffled order (``own``) and PyTorch's
(``torch``); and, where torch is installed, PyTorch's own loop over a
``DataLoader(..., shuffle=True, generator=...)`` of the same rows (``pytorch``:
the loader's indices and the training, eager, its import included). Also the
orders alone: ``gradtrace.core.batches.torch_orders`` for the E epochs
(``orders_s``) against ``torch.randperm`` E times (``randperm_s``). Prints JSON.

    python benchmarks/torch_order.py [--rows 1000000] [--epochs 10]
    python benchmarks/torch_order.py --torch-python PYTHON_WITH_TORCH
"""

from __future__ import annotations

import argparse
import json
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

#: PyTorch's loop: the same line, SGD, a seeded shuffling loader
PYTORCH = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np, torch
path, epochs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = torch.tensor(np.load(path + ".x.npy")).reshape(-1, 1)
y = torch.tensor(np.load(path + ".y.npy"))
net = torch.nn.Linear(1, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.01)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.arange(len(y))), batch_size=4096,
    shuffle=True, generator=torch.Generator().manual_seed(seed))
for _ in range(epochs):
    for (rows,) in loader:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x[rows]).squeeze(-1), y[rows])
        loss.backward()
        opt.step()
import resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak}))
"""

RANDPERM = r"""
import json, sys, time
import torch
n, epochs = int(sys.argv[1]), int(sys.argv[2])
g = torch.Generator().manual_seed(12345)
start = time.perf_counter()
for _ in range(epochs):
    torch.randperm(n, generator=g)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    torch_python_option(parser)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.rows, dtype=np.float32)
    y = 2 * x + 1 + rng.standard_normal(args.rows, dtype=np.float32)
    out: dict[str, Any] = {
        "rows": args.rows,
        "epochs": args.epochs,
        "batch_size": 4096,
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "data.parquet")
        pq.write_table(pa.table({"x": x, "y": y}), path)
        np.save(path + ".x.npy", x)  # PyTorch's loop reads them without pyarrow
        np.save(path + ".y.npy", y)
        fit = [sys.executable, "-m", "gradtrace", "fit", path, "--batch-size"]
        fit += ["4096", "--epochs", str(args.epochs), "--seed", "12345"]
        fit += ["--lr", "0.01", "--no-exact", "-q"]
        cases = {"own": [], "torch": ["--torch-order"]}
        for name, extra in cases.items():
            runs = []
            for i in range(args.repeats):
                folder = str(Path(tmp) / f"{name}{i}")
                runs.append(process_peak([*fit, *extra, "-o", folder]))
            out[name] = _medians(runs)
        runs = []
        for _ in range(args.repeats):
            done = script_json(
                args.torch_python, PYTORCH, [path, str(args.epochs), "12345"]
            )
            if done is None:
                break
            runs.append(done)
        out["pytorch"] = _medians(runs) if runs else "skipped (no torch)"
    from gradtrace.core import batches

    seconds = []
    for _ in range(args.repeats):
        batches._TORCH_AT.clear()
        start = time.perf_counter()
        batches.torch_orders(args.rows, 12345, 0, args.epochs)
        seconds.append(time.perf_counter() - start)
    out["orders_s"] = statistics.median(seconds)
    done = script_json(args.torch_python, RANDPERM, [str(args.rows), str(args.epochs)])
    out["randperm_s"] = done["seconds"] if done else "skipped (no torch)"
    print(json.dumps(out, indent=2))


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


if __name__ == "__main__":
    main()
