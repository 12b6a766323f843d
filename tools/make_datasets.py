"""Write the built-in data sets in ``src/gradtrace/datasets/`` (output committed).

The seeds drew their data from unseeded random generators, so their exact rows are lost.
These files are drawn with NumPy from fixed seeds, stored as float32 in CSV (shortest
round-tripping decimal), so every test, fixture script and demo reads the same numbers.

Seed 002's data are then shifted and scaled so that their empirical mean and variance
equal those implied by the seed's printed output: its first gradient at loc=1 is
10015.0459 = n (1 - mean), so mean = -0.00150459, and its final loss 14258.976 =
n/2 log(2 pi) + SS/2, so the population variance is 1.0139181. With these two
numbers the
seed's printed table is reproduced (see ``gradtrace demo normal-mean-sgd``).

Usage: python tools/make_datasets.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "gradtrace" / "datasets"


def _write(name: str, columns: dict[str, np.ndarray]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cols = {k: np.asarray(v, dtype=np.float32) for k, v in columns.items()}
    n = len(next(iter(cols.values())))
    with open(OUT / f"{name}.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(cols))
        for i in range(n):
            writer.writerow(
                [
                    np.format_float_positional(c[i], unique=True, trim="-")
                    for c in cols.values()
                ]
            )
    print(f"wrote {OUT / (name + '.csv')} ({n} rows)")


def main() -> None:
    # Seed 001, first part: 100 points on y = 1 x + 2, x ~ U[0, 1), noise sd 0.15.
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, 100).astype(np.float32)
    y = (1.0 * x + 2.0 + rng.normal(0.0, 0.15, 100)).astype(np.float32)
    _write("seed001_line", {"x": x, "y": y})

    # Seed 001, second part: 1000 draws from N(2, 1); x is the seed's unused column.
    rng = np.random.default_rng(2)
    x = rng.uniform(0.0, 1.0, 1000)
    y = rng.normal(2.0, 1.0, 1000)
    _write("seed001_gaussian", {"x": x, "y": y})

    # Seed 002: 10000 draws from N(0, 1), matched to the seed's mean and variance.
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 1.0, 10000)
    z = (z - z.mean()) / z.std()
    y = -0.00150459 + np.sqrt(1.0139181) * z
    _write("seed002_normal", {"y": y})

    # Seed 003: 1000 points, x ~ N(0, 1), y = 3 x + 2 + N(0, 1).
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, 1000)
    y = 3.0 * x + 2.0 + rng.normal(0.0, 1.0, 1000)
    _write("seed003_linear", {"x": x, "y": y})

    # Seed 004: the question's twelve points, exactly as printed.
    x = np.arange(1.0, 13.0)
    y = np.array([5.0, 8.8, 9.6, 14.2, 18.8, 19.5, 21.4, 26.8, 28.9, 32.0, 33.8, 38.2])
    _write("seed004_keras", {"x": x, "y": y})


if __name__ == "__main__":
    main()
