"""``gradtrace data``: the seeds' generators as a command, truth recorded."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gradtrace.cli._options import WHOLE

_COMMON = [
    click.option(
        "--n",
        "--rows",
        "n",
        type=WHOLE,
        default=100,
        show_default=True,
        help="Number of rows.",
    ),
    click.option(
        "--seed",
        type=WHOLE,
        default=0,
        show_default=True,
        help="Seed of NumPy's generator.",
    ),
    click.option(
        "-o",
        "--out",
        "out",
        type=click.Path(path_type=Path),
        required=True,
        help="File to write: .csv, .tsv or .parquet. The truth goes into "
        "<file>.truth.json beside a CSV/TSV, or the Parquet metadata.",
    ),
    click.option("--force", is_flag=True, help="Replace an existing file."),
]


def _common(f):  # type: ignore[no-untyped-def]
    for option in reversed(_COMMON):
        f = option(f)
    return f


@click.group(context_settings={"max_content_width": 100})
def data() -> None:
    """Write synthetic data with known true parameters.

    \b
    gradtrace data line   --n 100 --w 1 --b 2 --noise 0.15 --seed 0 -o line.csv
    gradtrace data linear --n 500 --w 1,-2,0.5 --b 1 --noise 0.1 -o lin.parquet
    gradtrace data normal --n 1000 --loc 2 --scale 1 -o normal.csv
    gradtrace data logistic --n 500 --w 1.5 --b -0.5 -o clicks.csv
    gradtrace data poisson --n 500 --rate 3 -o counts.csv
    gradtrace data poisson-regression --n 500 --w 0.7,-0.4 --b 0.5 -o claims.csv
    gradtrace data exponential --n 500 --rate 0.5 -o waits.csv
    gradtrace data exp-decay --n 200 --a 3 --b 0.4 --c 1 --noise 0.1 -o decay.csv
    """


def _noise(default: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --noise option of a generator whose y has Gaussian noise."""
    return click.option(
        "--noise",
        type=float,
        default=default,
        show_default=True,
        help="Standard deviation of the Gaussian noise on y (0: the points lie "
        "on the curve, and a fit can reach it exactly).",
    )


@data.command(short_help="y = w*x + b + noise, x uniform on [0, 1).")
@_common
@click.option("--w", type=float, default=1.0, show_default=True, help="Slope.")
@click.option("--b", type=float, default=0.0, show_default=True, help="Intercept.")
@_noise(1.0)
@click.option(
    "--x-range",
    default="0,1",
    show_default=True,
    metavar="LOW,HIGH",
    help="Where x is drawn, uniformly.",
)
def line(
    n: int,
    seed: int,
    out: Path,
    force: bool,
    w: float,
    b: float,
    noise: float,
    x_range: str,
) -> None:
    """y = w*x + b + noise, with x uniform on [0, 1) (seed 001's generator), or
    on --x-range."""
    from gradtrace.errors import InputError

    try:
        low, high = (float(v) for v in x_range.split(","))
    except ValueError:
        raise InputError(
            f"--x-range takes LOW,HIGH, such as --x-range 0,5, got {x_range!r}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(
            f"--x-range takes two finite numbers, the lower first, got {x_range!r}."
        )
    _write("line", n, seed, out, force, w=(w,), b=b, noise=noise, x_range=(low, high))


@data.command(short_help="y = x @ w + b + noise, standard-normal x columns.")
@_common
@click.option(
    "--w",
    "w",
    default="1,-1",
    show_default=True,
    help="Slopes, comma-separated: one x column (x0, x1, ...) per slope.",
)
@click.option("--b", type=float, default=0.0, show_default=True, help="Intercept.")
@_noise(1.0)
def linear(
    n: int, seed: int, out: Path, force: bool, w: str, b: float, noise: float
) -> None:
    """y = x @ w + b + noise, with standard-normal x columns."""
    _write("linear", n, seed, out, force, w=_slopes(w), b=b, noise=noise)


@data.command(short_help="y drawn from N(loc, scale^2), no x.")
@_common
@click.option("--loc", type=float, default=0.0, show_default=True, help="Mean.")
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="Standard deviation."
)
def normal(n: int, seed: int, out: Path, force: bool, loc: float, scale: float) -> None:
    """y drawn from N(loc, scale^2) (seeds 001 and 002)."""
    _write("normal", n, seed, out, force, loc=loc, scale=scale)


def _slopes(w: str) -> tuple[float, ...]:
    """--w's comma-separated slopes."""
    from gradtrace.errors import InputError

    try:
        return tuple(float(v) for v in w.split(","))
    except ValueError:
        raise InputError(f"--w takes comma-separated numbers, got {w!r}.") from None


def _slopes_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--w",
        "w",
        default=default,
        show_default=True,
        help="Slopes, comma-separated: one slope gives one column x, several "
        "columns x0, x1, ...",
    )


@data.command(short_help="y = 1 with chance sigmoid(x @ w + b), else 0.")
@_common
@_slopes_option("1")
@click.option("--b", type=float, default=0.0, show_default=True, help="Intercept.")
def logistic(n: int, seed: int, out: Path, force: bool, w: str, b: float) -> None:
    """y = 1 with chance sigmoid(x @ w + b), else 0, with standard-normal x
    columns (for --model logistic)."""
    _write("logistic", n, seed, out, force, w=_slopes(w), b=b)


@data.command(short_help="Counts y drawn from Poisson(rate), no x.")
@_common
@click.option("--rate", type=float, default=3.0, show_default=True, help="Mean count.")
def poisson(n: int, seed: int, out: Path, force: bool, rate: float) -> None:
    """Counts y drawn from Poisson(rate), with no x (for --model poisson; counts
    that depend on x: poisson-regression)."""
    _write("poisson", n, seed, out, force, rate=rate)


@data.command(
    "poisson-regression", short_help="Counts y drawn from Poisson(exp(x @ w + b))."
)
@_common
@_slopes_option("0.7")
@click.option("--b", type=float, default=0.5, show_default=True, help="Intercept.")
def poisson_regression(
    n: int, seed: int, out: Path, force: bool, w: str, b: float
) -> None:
    """Counts y drawn from Poisson(exp(x @ w + b)), with standard-normal x
    columns (for --model poisson-regression)."""
    _write("poisson-regression", n, seed, out, force, w=_slopes(w), b=b)


@data.command(short_help="Waiting times y drawn from Exponential(rate).")
@_common
@click.option(
    "--rate", type=float, default=1.0, show_default=True, help="Events per unit of y."
)
def exponential(n: int, seed: int, out: Path, force: bool, rate: float) -> None:
    """Waiting times y drawn from Exponential(rate), mean 1/rate (for --model
    exponential)."""
    _write("exponential", n, seed, out, force, rate=rate)


@data.command(
    "exp-decay", short_help="y = a*exp(-b*x) + c + noise, x uniform on [0, 10)."
)
@_common
@click.option("--a", type=float, default=3.0, show_default=True, help="Amplitude.")
@click.option("--b", type=float, default=0.4, show_default=True, help="Decay rate.")
@click.option("--c", type=float, default=1.0, show_default=True, help="Floor.")
@_noise(0.1)
def exp_decay(
    n: int,
    seed: int,
    out: Path,
    force: bool,
    a: float,
    b: float,
    c: float,
    noise: float,
) -> None:
    """y = a*exp(-b*x) + c + noise, with x uniform on [0, 10) (for --model
    exp-decay, or a model of your own)."""
    _write("exp-decay", n, seed, out, force, a=a, b=b, c=c, noise=noise)


def _write(
    kind: str, n: int, seed: int, out: Path, force: bool, **params: object
) -> None:
    import math

    from gradtrace.cli._options import check_out_file
    from gradtrace.data import generate, write_table
    from gradtrace.errors import InputError

    if n < 2:
        raise InputError(f"--n must be at least 2 (rows to draw), got {n}.")
    values = [
        v for k, v in params.items() for v in (v if isinstance(v, tuple) else (v,))
    ]
    if not all(math.isfinite(float(v)) for v in values):  # type: ignore[arg-type]
        raise InputError("parameters must be finite numbers.")
    if "noise" in params and float(params["noise"]) < 0:  # type: ignore[arg-type]
        raise InputError(
            f"--noise is a standard deviation, got {params['noise']}: give 0 "
            "(the points on the curve) or more."
        )
    for key in ("scale", "rate"):
        if key in params and float(params[key]) <= 0:  # type: ignore[arg-type]
            raise InputError(f"--{key} must be positive, got {params[key]}.")
    if "rate" in params and not 1e-12 <= float(params["rate"]) <= 1e12:  # type: ignore[arg-type]
        raise InputError(
            f"--rate {params['rate']} is out of range: give one between 1e-12 and 1e12."
        )
    if out.suffix.lower() not in (".csv", ".tsv", ".tab", ".parquet", ".pq"):
        raise InputError(
            f"cannot tell the format of {str(out)!r}: end the name in "
            ".csv, .tsv or .parquet."
        )
    check_out_file(out, force)
    frame, truth = generate(kind, n, seed=seed, **params)  # type: ignore[arg-type]
    write_table(frame, out, truth, kind)
    shown = ", ".join(f"{k}={v}" for k, v in truth.items())
    click.echo(f"wrote {n} rows to {out} ({', '.join(frame.columns)}); truth: {shown}")
