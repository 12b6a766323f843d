"""Benchmark: peak memory and speed of ``--stream`` against reading the file whole.

Writes Parquet files of a line's x and y (float32, row groups of 2**20 rows) with
10 and 20 million rows (``--rows``), and fits each, in a process of its own per
case so that peak memory is the case's own:
- ``stream-sgd``: ``--stream``, mini-batches of 4096 for one epoch, in order;
- ``stream-sgd-shuffled``: the same, chunk-and-window shuffled;
- ``stream-sgd-exact``: ``stream-sgd`` with the exact answer, standard errors and
  diagnosis computed over the file first (the others leave them out);
- ``stream-gd``: ``--stream``, full-batch gradient descent, 10 steps (each a pass
  over the file);
- ``memory-sgd``: the same one epoch, the file read whole into memory.
Every case records every step. Prints JSON: training seconds, rows per second, and
peak resident memory above the idle process (after imports) against the data's
size. A bounded stream has the same peak at every size.

    python benchmarks/stream_memory.py [--rows 10000000,20000000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CASE = r"""
import json, resource, sys
kind, path = sys.argv[1], sys.argv[2]
from gradtrace.run_config import RunConfig
from gradtrace.api import run
from gradtrace.sources import frame_of
from gradtrace.streaming import run_stream
idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
options = dict(batch_size=4096, epochs=1, shuffle=kind.endswith("shuffled"))
if kind.split("-")[1] == "gd":
    options = dict(steps=10)
config = RunConfig(data=path, lr=0.01, exact=kind.endswith("exact"), **options)
if kind.startswith("stream"):
    config.stream = True
    trace = run_stream(config)
else:
    frame, source = frame_of(path)
    trace = run(config, frame, source)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "train_s": trace.info["timings"]["train_s"],
    "compile_s": trace.info["timings"]["compile_s"],
    "steps": trace.steps,
    "final_w": trace.params["w"],
    "peak_mb_above_idle": (peak - idle) / 1024,
    "total_s": trace.info["timings"]["total_s"],
    "optimum_w": trace.info.get("optimum", {}).get("w"),
}))
"""


KINDS = (
    "stream-sgd",
    "stream-sgd-shuffled",
    "stream-sgd-exact",
    "stream-gd",
    "memory-sgd",
)


def write(path: Path, n: int) -> None:
    """x ~ N(0, 1), y = 2x + 1 + noise / 2, float32, written a row group at a time."""
    rng = np.random.default_rng(0)
    schema = pa.schema([("x", pa.float32()), ("y", pa.float32())])
    step = 1 << 20
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, step):
            m = min(step, n - start)
            x = rng.standard_normal(m, dtype=np.float32)
            y = 2 * x + 1 + 0.5 * rng.standard_normal(m, dtype=np.float32)
            writer.write_table(pa.table({"x": x, "y": y}, schema=schema))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000000,20000000")
    parser.add_argument("--dir", default=None, help="Where to write the files.")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "machine": platform.machine()}
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in (int(v) for v in args.rows.split(",")):
            path = Path(tmp) / f"line_{n}.parquet"
            write(path, n)
            data_mb = 8 * n / 2**20
            res: dict[str, Any] = {"data_mb": data_mb}
            for kind in KINDS:
                done = subprocess.run(
                    [sys.executable, "-c", CASE, kind, str(path)],
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-2000:])
                r = json.loads(done.stdout.strip().splitlines()[-1])
                rows = n * (r["steps"] if kind.split("-")[1] == "gd" else 1)
                r["rows_per_s"] = rows / r["train_s"]
                r["peak_over_data"] = r["peak_mb_above_idle"] / data_mb
                res[kind] = r
            out[str(n)] = res
            path.unlink()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
