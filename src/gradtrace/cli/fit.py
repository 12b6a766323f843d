"""``gradtrace fit``: train a model on a data file and write its run folder."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from gradtrace.cli._options import pairs


@click.command(context_settings={"max_content_width": 100})
@click.argument("data")
@click.option(
    "--model",
    default="line",
    show_default=True,
    help="line (y = w*x + b), linear (several --x columns: vector w, "
    "scalar b) or normal (a distribution fitted to --y).",
)
@click.option(
    "--loss",
    default=None,
    help="mse or nll. Default: mse for regression, nll for distributions; "
    "nll on a regression model adds the noise scale as a parameter.",
)
@click.option(
    "--x",
    "x",
    multiple=True,
    help="x column (default x); repeat it for linear. Not for distributions.",
)
@click.option("--y", default="y", show_default=True, help="y column.")
@click.option(
    "--optimizer",
    default="sgd",
    show_default=True,
    help="sgd, momentum, nesterov, rmsprop, adam, adagrad (optax), or a "
    "framework preset with its exact update rule and defaults: "
    "keras.sgd, keras.rmsprop, keras.adam (Keras 3), tf_keras.rmsprop, "
    "tf_keras.adam (Keras 2 legacy), torch.sgd, torch.rmsprop, "
    "torch.adam.",
)
@click.option(
    "--lr", default=None, help="Learning rate. Default: the optimizer's own default."
)
@click.option(
    "--opt",
    "opt",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other hyper-parameter, under the preset's own names "
    "(keras: rho, momentum, epsilon, beta_1, ...; torch: alpha, eps, "
    "momentum, beta1, ...). Repeatable.",
)
@click.option(
    "--epochs",
    type=int,
    default=None,
    help="Passes over the data (default 100 unless --steps).",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Optimizer steps instead of epochs, continuing through epochs.",
)
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Rows per step. Default: all rows (full-batch gradient descent). "
    "A last partial batch is kept, its loss averaged over its real "
    "rows; a size above the number of rows is clamped to it (as Keras).",
)
@click.option(
    "--shuffle/--no-shuffle",
    default=True,
    show_default=True,
    help="Reshuffle the rows at every epoch (from --seed).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the shuffling."
)
@click.option(
    "--init",
    "init",
    multiple=True,
    metavar="NAME=VALUE",
    help="Initial value of a parameter (default: 0 for loc/slopes/"
    "intercepts, 1 for scale). For a vector: w=1,2,3. Repeatable.",
)
@click.option(
    "--fix",
    "fix",
    multiple=True,
    metavar="NAME=VALUE",
    help="Hold a parameter at a value; it is not trained. Repeatable.",
)
@click.option(
    "--reduction",
    default="mean",
    show_default=True,
    help="mean or sum of the per-row losses in a batch.",
)
@click.option(
    "--dtype",
    default="float32",
    show_default=True,
    help="float32 or float64: the parameters' dtype (and the loss's).",
)
@click.option(
    "--compute-dtype",
    default=None,
    help="Compute the data and loss in this dtype instead (e.g. float32 with "
    "--dtype float64, as PyTorch does for seed 002).",
)
@click.option(
    "--eval-every",
    type=int,
    default=None,
    help="Evaluate the loss over all the data after every K-th step (and "
    "after the last). Default: every step while rows x steps <= 1e8; "
    "beyond that, K = ceil(rows x steps / 1e8). Skipped rows are null.",
)
@click.option(
    "--drop-missing",
    is_flag=True,
    help="Drop rows with NaN or infinity (and say how many) instead of "
    "refusing the data.",
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(path_type=Path),
    help="Run folder to write (trace.parquet, run.json). Default: "
    "runs/<date-time>-<model>.",
)
@click.option("--force", is_flag=True, help="Replace an existing run folder.")
@click.option(
    "--print-every",
    type=int,
    default=None,
    help="Print a table row every N steps (default: about 20 rows).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def fit(
    data: str,
    model: str,
    loss: str | None,
    x: tuple[str, ...],
    y: str,
    optimizer: str,
    lr: str | None,
    opt: tuple[str, ...],
    epochs: int | None,
    steps: int | None,
    batch_size: int | None,
    shuffle: bool,
    seed: int,
    init: tuple[str, ...],
    fix: tuple[str, ...],
    reduction: str,
    dtype: str,
    compute_dtype: str | None,
    eval_every: int | None,
    drop_missing: bool,
    out: Path | None,
    force: bool,
    print_every: int | None,
    quiet: bool,
) -> None:
    """Fit a model to DATA and record every step.

    DATA is a CSV file with a header, a Parquet file, or the name of a built-in data
    set (seed001_line, seed001_gaussian, seed002_normal, seed003_linear,
    seed004_keras). The run folder gets trace.parquet (one row per step, after a
    row 0 with the initial state) and run.json (configuration, optimizer, final
    parameters, how it ended, timings). Exit code 1 if the run diverged.

    \b
    Example (seed 004, Keras's RMSprop, batch by batch):
      gradtrace fit data.csv --model line --loss mse --optimizer keras.rmsprop \\
        --lr 0.05 --epochs 1 --batch-size 3 --no-shuffle --init w=0.5 --init b=0
    """
    started = time.perf_counter()
    from gradtrace.api import RunConfig
    from gradtrace.cli import _report
    from gradtrace.errors import InputError

    if print_every is not None and print_every < 1:
        raise InputError(f"--print-every must be at least 1, got {print_every}.")
    config = RunConfig(
        data=data,
        model=model,
        loss=loss,
        x=list(x) or None,
        y=y,
        optimizer=optimizer,
        lr=lr,
        opt=pairs("--opt", opt),
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        init=pairs("--init", init),
        fix=pairs("--fix", fix),
        reduction=reduction,
        dtype=dtype,
        compute_dtype=compute_dtype,
        eval_every=eval_every,
        drop_missing=drop_missing,
    )
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{stamp}-{model}"
    if out.exists() and not force:
        raise InputError(
            f"run folder {str(out)!r} already exists: choose another "
            "--out, or pass --force to replace it."
        )
    trace = _report.run_with_progress(config)
    trace.info["timings"]["total_s"] = time.perf_counter() - started
    trace.save(out, force=force)
    _report.print_run(trace, out, print_every, quiet)
    if trace.diverged:
        raise click.exceptions.Exit(1)
