"""Benchmark: peak memory of long runs, whose trace is written a part at a time.

Runs ``gradtrace fit`` on seed 001's line (100 rows, full batch, SGD) for 1e3, 1e6
and 1e7 steps (``--steps``), each as a process of its own, every step recorded,
and reports each process's peak resident memory, its wall time, and the size of the
trace it wrote. A run of more than 262144 steps writes its trace in parts as it
goes and keeps about 100000 rows in memory, so its peak should not grow with the
number of steps. With ``--checkpoint-every K`` every run also checkpoints (its
folder and ``state.npz`` every K steps), which should not change that. Each run's
last step is then explained (``gradtrace explain RUN --step -1``: its rows read from
the trace's parts, the optimizer replayed a part at a time), whose peak should not
grow with the steps either. ``--optimizer adam`` gives the replay a state to carry.

    python benchmarks/long_run.py [--gradtrace .venv/bin/gradtrace]
        [--steps 1000,1000000,10000000] [--checkpoint-every 1000000]
        [--optimizer sgd]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def peak_of(cmd: list[str]) -> tuple[float, float]:
    """(peak resident MB, wall seconds) of a command run to its end."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        assert child.stderr is not None
        raise RuntimeError(child.stderr.read().decode()[-2000:])
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradtrace", default=str(ROOT / ".venv/bin/gradtrace"))
    parser.add_argument("--steps", default="1000,1000000,10000000")
    parser.add_argument("--checkpoint-every", type=int, default=None)
    parser.add_argument("--optimizer", default="sgd")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for steps in (int(v) for v in args.steps.split(",")):
            folder = Path(tmp) / f"run{steps}"
            cmd = [
                args.gradtrace,
                "fit",
                "seed001_line",
                "--optimizer",
                args.optimizer,
                "--lr",
                "0.05" if args.optimizer == "sgd" else "0.001",
                "--steps",
                str(steps),
                "--out",
                str(folder),
                "-q",
            ]
            if args.checkpoint_every:
                cmd += ["--checkpoint-every", str(args.checkpoint_every)]
            peak, seconds = peak_of(cmd)
            info = json.loads((folder / "run.json").read_text())
            trace = folder / "trace.parquet"
            files = sorted(trace.iterdir()) if trace.is_dir() else [trace]
            explain = [args.gradtrace, "explain", str(folder), "--step", "-1"]
            explain_peak, explain_s = peak_of(explain)
            out[str(steps)] = {
                "peak_mb": peak,
                "process_s": seconds,
                "train_s": info["timings"]["train_s"],
                "trace_mb_on_disk": sum(f.stat().st_size for f in files) / 2**20,
                "trace_parts": len(files),
                "kept_every": info.get("trace", {}).get("kept_every", 1),
                "explain_last_peak_mb": explain_peak,
                "explain_last_s": explain_s,
            }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
