"""Benchmark: linear regression on 10 million rows, against the memory bandwidth.

Three measurements in one process per case (so peak memory is the case's own):
- gradtrace ``fit`` of a line (float32) by mini-batches of 4096 for one epoch (rows
  in order, and shuffled), and by full-batch gradient descent for 100 steps, every
  step recorded; the mini-batch epoch also evaluates the loss over all the data
  every 245 steps (its default: about 1e8 row evaluations in all), which PyTorch's
  loop does not, so it is also timed with that loss only at the end (``eval-end``);
- the same loops in PyTorch, eager (optional: skipped when torch is missing);
- ``gathers``: a shuffled epoch's row indices and gathers of its random rows alone,
  in both (the least a shuffled epoch can cost: each row a cache miss in x and one
  in y);
- NumPy's sum over the same x and y arrays: the memory bandwidth, from which the
  rate a loop that reads every row once per step could reach follows.

    python benchmarks/large_data.py [--rows 10000000] [--repeats 3]
    python benchmarks/large_data.py --rows 40000000 --command-line-only
    python benchmarks/large_data.py --torch-device cuda --no-command-line  # a GPU

On a GPU host gradtrace runs on the GPU (JAX's default device), PyTorch's loops on
``--torch-device``, and the rates of the cases that ran on the GPU are set against
its own memory's bandwidth (``device_bandwidth_gb_per_s``: a compiled sum over
10^8 rows or more), their peak GPU memory as ``device_peak_mb``.

The gradtrace cases also run from a Parquet file of the same rows (``-parquet``),
which is read straight into arrays the device shares.

And ``command_line``: the whole ``gradtrace fit data.parquet`` process as a user
runs it (with the exact answer, which the cases above leave out), its peak memory
above an idle process and above the same command on 10000 rows;
``--command-line-only`` measures that alone (at several ``--rows``, it shows what
of the peak is fixed and what grows with the data).

Prints JSON: seconds (medians), rows per second, the bandwidth-limited rows per
second, their ratio, and each case's peak resident memory above the idle process
(the data, made in place, are part of it: 76 MB for 10 million rows); for
gradtrace also above the process after the same run on 10000 rows
(``peak_mb_above_warm``: without the fixed cost of XLA's compiler, reported as
``first_compile_mb``).
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
import pyarrow as pa
import pyarrow.parquet as pq

CASE = r"""
import json, resource, sys, time
import numpy as np
kind, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch_device = sys.argv[5]
if kind.startswith("gradtrace"):
    import jax, pandas as pd
    from gradtrace.run_config import RunConfig
    from gradtrace.api import run
else:
    import torch
def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
idle = maxrss()  # imported, no data yet
out = {}
if kind.startswith("gradtrace") and not kind.endswith("gathers"):
    # the fixed cost of XLA's compiler, whatever the data's size, apart: the same
    # run on 10000 rows first
    small = pd.DataFrame({"x": np.arange(1e4, dtype=np.float32), "y": 1.0}, copy=False)
    warm_cfg = dict(batch_size=4096, epochs=1) if "sgd" in kind else dict(steps=2)
    run(RunConfig(data=None, lr=1e-3, exact=False, **warm_cfg), small, "small")
    warm = maxrss()
    out["first_compile_mb"] = (warm - idle) / 1024
if kind.startswith("gradtrace"):
    from gradtrace.trace import device
    out["device"] = device()
if kind.endswith("parquet"):  # read from a file, as `gradtrace fit data.parquet`
    from gradtrace.sources import frame_of
    frame, _ = frame_of(sys.argv[4])
else:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)  # y = 2x + 1 + noise / 2, in place
    y *= 0.5; y += x; y += x; y += 1
if kind.endswith("gathers"):
    # a shuffled epoch's row indices and its gathers of x's and y's random rows,
    # nothing else: the least a shuffled epoch costs either way
    times = []
    if kind.startswith("gradtrace"):
        import jax.numpy as jnp
        from gradtrace.core import batches
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        steps = -(-n // 4096)
        @jax.jit
        def epoch(key, xj, yj):
            def step(acc, b):
                rows = batches.epoch_batch(key, 0, b, n, 4096, True)
                xb, yb, _ = batches.gather(rows, xj, yj)
                # every gathered value used (xb[0] alone let XLA fetch one row)
                return acc + xb.sum() + yb.sum(), None
            return jax.lax.scan(step, jnp.float32(0), jnp.arange(steps))[0]
        for r in range(repeats + 1):  # the first call compiles
            key = batches.seed_key(r)
            start = time.perf_counter()
            epoch(key, xj, yj).block_until_ready()
            times.append(time.perf_counter() - start)
        times = times[1:]
    else:
        xt = torch.from_numpy(x).to(torch_device)
        yt = torch.from_numpy(y).to(torch_device)
        for _ in range(repeats):
            start = time.perf_counter()
            perm, acc = torch.randperm(n, device=torch_device), 0.0
            for i in range(0, n, 4096):
                idx = perm[i:i + 4096]
                xb, yb = xt[idx], yt[idx]
                acc += float(xb.sum() + yb.sum())
            times.append(time.perf_counter() - start)
    out.update(seconds=sorted(times)[len(times) // 2], steps=-(-n // 4096))
elif kind.startswith("gradtrace"):
    if not kind.endswith("parquet"):
        frame = pd.DataFrame({"x": x, "y": y}, copy=False)
    batch = "sgd" in kind
    shuffled = "shuffled" in kind
    cfg = dict(steps=100)
    if batch:
        cfg = dict(batch_size=4096, epochs=1, shuffle=shuffled)
        if kind.endswith("eval-end"):  # the loss over all the data only at the end
            cfg["eval_every"] = 10**9
    times, train = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        t = run(RunConfig(data=None, lr=0.01, exact=False, **cfg), frame, "data")
        times.append(time.perf_counter() - start)
        train.append(t.info["timings"]["train_s"])
    # passes over all the data for the loss after a step (beyond the steps' own)
    evals = int(t.to_pandas()["loss"].notna().sum()) - 1 if batch else 0
    out.update(seconds=sorted(train)[len(train) // 2],
               with_compile_s=sorted(times)[len(times) // 2],
               steps=t.steps, final_w=t.params["w"], full_data_passes=evals)
else:
    xt = torch.from_numpy(x).to(torch_device)
    yt = torch.from_numpy(y).to(torch_device)
    batch, shuffled = "sgd" in kind, kind.endswith("shuffled")
    times = []
    for _ in range(repeats):
        w = torch.zeros((), requires_grad=True, device=torch_device)
        b = torch.zeros((), requires_grad=True, device=torch_device)
        opt = torch.optim.SGD([w, b], lr=0.01)
        trace = []
        start = time.perf_counter()
        if batch:
            # as a DataLoader does
            perm = torch.randperm(n, device=torch_device) if shuffled else None
            for i in range(0, n, 4096):
                if shuffled:
                    idx = perm[i:i + 4096]
                    xb, yb = xt[idx], yt[idx]
                else:
                    xb, yb = xt[i:i + 4096], yt[i:i + 4096]
                loss = torch.mean((w * xb + b - yb) ** 2)
                loss.backward(); opt.step(); opt.zero_grad()
                trace.append((w.item(), b.item(), loss.item()))
        else:
            for _ in range(100):
                loss = torch.mean((w * xt + b - yt) ** 2)
                loss.backward(); opt.step(); opt.zero_grad()
                trace.append((w.item(), b.item(), loss.item()))
        times.append(time.perf_counter() - start)
    out.update(seconds=sorted(times)[len(times) // 2], steps=len(trace))
peak = maxrss()
out["peak_mb_above_idle"] = (peak - idle) / 1024
# on a GPU, the most of its memory the case held (the data and the run's arrays)
if kind.startswith("gradtrace"):
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
elif torch_device != "cpu":
    out["device"] = f"{torch_device} ({torch.cuda.get_device_name(0)})"
    out["device_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
if kind.startswith("gradtrace") and not kind.endswith("gathers"):
    out["peak_mb_above_warm"] = (peak - warm) / 1024
print(json.dumps(out))
"""


def bandwidth(n: int, repeats: int) -> dict[str, float]:
    """Bytes per second of NumPy's sum over x and y (float32)."""
    x = np.random.default_rng(0).normal(size=n).astype(np.float32)
    y = x.copy()
    times = []
    for _ in range(max(5, repeats)):
        start = time.perf_counter()
        float(x.sum()) + float(y.sum())
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"bytes_per_s": 2 * x.nbytes / seconds, "sum_s": seconds}


def device_bandwidth(n: int, python: str) -> dict[str, Any] | None:
    """Bytes per second of a compiled sum over x and y in JAX's default device's
    memory, when that device is not the processor (a GPU): over at least 10^8 rows
    of each (800 MB), so that the launch of the sum does not count."""
    done = subprocess.run(
        [python, "-c", DEVICE_SUM, str(max(n, 10**8))],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


DEVICE_SUM = r"""
import json, statistics, sys, time
import jax, jax.numpy as jnp
n = int(sys.argv[1])
if jax.default_backend() == "cpu":
    print("null")
    sys.exit()
x = jax.random.normal(jax.random.key(0), (n,), jnp.float32)
y = x + 1
total = jax.jit(lambda a, b: a.sum() + b.sum())
total(x, y).block_until_ready()
times = []
for _ in range(20):
    start = time.perf_counter()
    total(x, y).block_until_ready()
    times.append(time.perf_counter() - start)
seconds = statistics.median(times)
print(json.dumps({"bytes_per_s": 2 * x.nbytes / seconds, "sum_s": seconds,
                  "rows": n, "device": jax.devices()[0].device_kind}))
"""


def case(
    kind: str,
    n: int,
    repeats: int,
    python: str,
    parquet: str = "",
    torch_device: str = "cpu",
) -> dict[str, Any] | None:
    return script_json(
        python, CASE, [kind, str(n), str(repeats), parquet, torch_device]
    )


def torch_python_option(parser: argparse.ArgumentParser) -> None:
    """``--torch-python``: the Python whose torch runs PyTorch's loops, as every
    benchmark that runs them takes it."""
    parser.add_argument(
        "--torch-python",
        default=sys.executable,
        help="A Python with torch installed (default: this one).",
    )


def script_json(python: str, script: str, args: list[str]) -> dict[str, Any] | None:
    """The JSON that ``script`` (run by ``python`` with ``args``, in a process of its
    own) prints last; None where it needs torch and ``python`` lacks it."""
    done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True)
    if done.returncode != 0:
        if "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# One process and its peak resident memory (the largest of the children waited for,
# so one runner process per measurement).
PEAK = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
if done.returncode != 0:
    sys.exit(done.stderr[-2000:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


#: A process that has imported gradtrace and compiled the least of programs.
COMPILER_UP = (
    "import gradtrace.api, jax, jax.numpy as jnp; "
    "jax.jit(lambda a: a + 1)(jnp.ones(3)).block_until_ready()"
)


def process_peak(command: list[str], cache: str = "off") -> dict[str, float]:
    """Wall time and peak resident memory (MB) of one run of ``command``, with the
    command's compilation cache in folder ``cache`` (or off)."""
    env = {**os.environ, "GRADTRACE_CACHE_DIR": cache}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *command], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def command_line(parquet: str, small: str, data_mb: float) -> dict[str, Any]:
    """``gradtrace fit FILE.parquet`` as a user runs it (exact answer, standard
    errors and diagnosis included, trace written): its whole process's peak memory
    above a process that has only imported gradtrace (``idle``), and above the same
    command on the file's first 10000 rows (``small``: imports, XLA's compiler and
    the run's fixed costs) and above a process that has compiled the least of
    programs (``compiler_up``: XLA's compiler started), over the data's size;
    medians of 3 runs, compiling afresh (the command's compilation cache off),
    and ``warm_*`` the same command run again with its compilation cache filled
    (no compilation)."""
    exe = str(Path(sys.executable).with_name("gradtrace"))
    idle = process_peak([sys.executable, "-c", "import gradtrace.api"])["peak_mb"]
    # XLA's compiler, up: the same imports and the compilation of a program that
    # adds 1 to three numbers (what any program compiled first costs, its data
    # and its own size aside)
    floor = statistics.median(
        process_peak([sys.executable, "-c", COMPILER_UP])["peak_mb"] for _ in range(3)
    )
    out: dict[str, Any] = {"idle_peak_mb": idle, "compiler_up_peak_mb": floor}
    for name, how in (
        ("gd", ["--steps", "100"]),
        ("sgd", ["--batch-size", "4096", "--epochs", "1", "--no-shuffle"]),
    ):
        runs: dict[str, list[dict[str, float]]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(4):  # the first run fills the cache for the warm ones
                for size, path in (("big", parquet), ("small", small)):
                    command = [exe, "fit", path, *how, "--lr", "0.01", "-q"]
                    for cache in ("off", f"{tmp}/cache"):
                        folder = f"{tmp}/{size}{i}{len(cache)}"
                        got = process_peak([*command, "--out", folder], cache)
                        if i or cache == "off":
                            key = size if cache == "off" else f"warm_{size}"
                            runs.setdefault(key, []).append(got)
        peak = {k: statistics.median(r["peak_mb"] for r in v) for k, v in runs.items()}
        out[name] = {
            "command": f"gradtrace fit data.parquet {' '.join(how)} --lr 0.01",
            "seconds": statistics.median(r["seconds"] for r in runs["big"]),
            "peak_mb": peak["big"],
            "small_peak_mb": peak["small"],
            "above_idle_over_data": (peak["big"] - idle) / data_mb,
            "above_small_over_data": (peak["big"] - peak["small"]) / data_mb,
            "above_compiler_up_over_data": (peak["big"] - floor) / data_mb,
            "warm_seconds": statistics.median(r["seconds"] for r in runs["warm_big"]),
            "warm_peak_mb": peak["warm_big"],
            "warm_above_idle_over_data": (peak["warm_big"] - idle) / data_mb,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    torch_python_option(parser)
    parser.add_argument(
        "--command-line-only",
        action="store_true",
        help="Measure the whole command's time and peak memory only.",
    )
    parser.add_argument(
        "--no-command-line",
        action="store_true",
        help="Leave out the whole command's time and peak memory.",
    )
    parser.add_argument(
        "--torch-device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="Where PyTorch's loops run (default: cpu).",
    )
    parser.add_argument(
        "--kinds",
        default="",
        help="Only these cases, comma-separated (default: all; see KINDS).",
    )
    args = parser.parse_args()
    n = args.rows
    bw = bandwidth(n, args.repeats)
    on_device = device_bandwidth(n, sys.executable)
    data_mb = 2 * 4 * n / 2**20
    out: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": len(os.sched_getaffinity(0)),
        },
        "rows": n,
        "data_mb": data_mb,
        "bandwidth_gb_per_s": bw["bytes_per_s"] / 1e9,
    }
    if on_device is not None:
        out["device_bandwidth_gb_per_s"] = on_device["bytes_per_s"] / 1e9
        out["device_bandwidth"] = on_device
    # one pass over x and y per step is the least a step can read
    per_row = 8.0
    limit_rows_per_s = bw["bytes_per_s"] / per_row
    device_limit_rows_per_s = (
        limit_rows_per_s if on_device is None else on_device["bytes_per_s"] / per_row
    )
    kinds: tuple[str, ...] = (
        "gradtrace-sgd",
        "gradtrace-sgd-eval-end",
        "gradtrace-sgd-shuffled",
        "gradtrace-gd",
        # the same data read from a Parquet file (aligned, shared with the device)
        "gradtrace-sgd-parquet",
        "gradtrace-sgd-shuffled-parquet",
        "gradtrace-gd-parquet",
        "torch-sgd",
        "torch-sgd-shuffled",
        "torch-gd",
        # the least a shuffled epoch costs: its row indices and gathers alone
        "gradtrace-gathers",
        "torch-gathers",
    )
    if args.kinds:
        chosen = [k.strip() for k in args.kinds.split(",") if k.strip()]
        if unknown := set(chosen) - set(kinds):
            parser.error(f"--kinds: no case {', '.join(sorted(unknown))}")
        kinds = tuple(k for k in kinds if k in chosen)
    tmp = tempfile.TemporaryDirectory()
    parquet = str(Path(tmp.name) / "line.parquet")
    small = str(Path(tmp.name) / "small.parquet")
    if not args.no_command_line or any(k.endswith("parquet") for k in kinds):
        x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
        y = x * 2 + 1
        y += np.random.default_rng(1).standard_normal(n, dtype=np.float32) / 2
        pq.write_table(pa.table({"x": x, "y": y}), parquet, row_group_size=1 << 20)
        pq.write_table(pa.table({"x": x[:10_000], "y": y[:10_000]}), small)
        del x, y
    if not args.no_command_line:
        out["command_line"] = command_line(parquet, small, data_mb)
    for kind in () if args.command_line_only else kinds:
        python = args.torch_python if kind.startswith("torch") else sys.executable
        r = case(kind, n, args.repeats, python, parquet, args.torch_device)
        if r is None:
            out[kind] = "skipped (torch is not installed)"
            continue
        # every row read: the epoch's batches and each pass for the loss over all
        # the data (a full-batch step is one pass)
        rows = (
            n * (1 + r.get("full_data_passes", 0))
            if "sgd" in kind or "gathers" in kind
            else n * r["steps"]
        )
        r["rows_per_s"] = rows / r["seconds"]
        # against the bandwidth of the memory the case's data were in
        on_gpu = not str(r.get("device", "cpu")).startswith("cpu")
        limit = device_limit_rows_per_s if on_gpu else limit_rows_per_s
        r["share_of_bandwidth_limit"] = r["rows_per_s"] / limit
        r["peak_over_data"] = r["peak_mb_above_idle"] / data_mb
        if "peak_mb_above_warm" in r:
            r["peak_above_warm_over_data"] = r["peak_mb_above_warm"] / data_mb
        out[kind] = r
    tmp.cleanup()
    for loop in (
        ()
        if args.command_line_only
        else ("sgd", "sgd-eval-end", "sgd-shuffled", "gd", "gathers")
    ):
        # PyTorch's loop evaluates no loss over all the data
        g = out.get(f"gradtrace-{loop}")
        t = out.get(f"torch-{loop.removesuffix('-eval-end')}")
        if isinstance(g, dict) and isinstance(t, dict):
            out[f"ratio_{loop}_torch_over_gradtrace"] = t["seconds"] / g["seconds"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
