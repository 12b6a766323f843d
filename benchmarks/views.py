"""Benchmark: how long the views of a finished run take, model by model.

For each built-in distribution, a fit of 300 Adam steps on 300 draws (in one
Python process, so the programs every view shares are compiled once), then the
time of its HTML report (``trace.report``: a frame of the fitted density for each
step), its animation (``trace.animate``, a GIF) and its fit picture
(``trace.plot("fit")``). Then a line fitted in batches for 6 epochs and
``trace.explain(step)`` of several steps one after another, as a notebook steps
through a run: the first explains compile, the next should not.

    python benchmarks/views.py [--steps 300] [--out views.json]

Writes JSON (seconds) to standard output or ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import gradtrace


def samples(n: int) -> dict[str, tuple[np.ndarray, dict[str, float]]]:
    """Draws from each family (and what the fit holds fixed)."""
    rng = np.random.default_rng(0)
    counts = rng.negative_binomial(5, 0.4, n).astype(float)
    return {
        "normal": (rng.normal(1.0, 2.0, n), {}),
        "lognormal": (rng.lognormal(0.0, 0.5, n), {}),
        "gamma": (rng.gamma(2.0, 1.5, n), {}),
        "exponential": (rng.exponential(2.0, n), {}),
        "beta": (rng.beta(2.0, 5.0, n), {}),
        "poisson": (rng.poisson(3.0, n).astype(float), {}),
        "negative-binomial": (counts, {}),
        "bernoulli": ((rng.random(n) < 0.3).astype(float), {}),
        "binomial": (rng.binomial(10, 0.3, n).astype(float), {"n": 10.0}),
        "student-t": (rng.standard_t(4.0, n), {}),
        "laplace": (rng.laplace(0.0, 1.0, n), {}),
        "cauchy": (rng.standard_cauchy(n), {}),
        "weibull": (2.0 * rng.weibull(1.5, n), {}),
    }


def timed(fn: Any, *args: Any) -> float:
    """Seconds ``fn(*args)`` took."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def views(steps: int, folder: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, (y, fix) in samples(300).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = gradtrace.fit(
                {"y": y}, name, optimizer="adam", lr=0.05, steps=steps, fix=fix
            )
        out[name] = {
            "report_s": timed(trace.report, folder / f"{name}.html"),
            "animate_s": timed(trace.animate, folder / f"{name}.gif"),
            "plot_fit_s": timed(trace.plot, "fit"),
        }
    return out


def explains() -> dict[str, list[float]]:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 3.0, 200)
    data = {"x": x, "y": 2.0 * x + 1.0 + rng.normal(0.0, 0.3, 200)}
    out: dict[str, list[float]] = {}
    for optimizer in ("adam", "torch.sgd"):
        trace = gradtrace.fit(
            data, "line", optimizer=optimizer, lr=0.05, batch_size=10, epochs=6
        )
        out[optimizer] = [
            timed(trace.explain, step)
            for step in (1, 2, 7, 8, 9, 33, trace.steps - 1, trace.steps)
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "machine": {"python": platform.python_version(), "cpu": platform.machine()},
            "views": views(args.steps, Path(tmp)),
            "explain_s": explains(),
        }
    text = json.dumps(result, indent=1)
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
