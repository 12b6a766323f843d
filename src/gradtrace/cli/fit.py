"""``gradtrace fit``: train a model on a data file and write its run folder."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from gradtrace.cli._options import (
    COMPUTE_DTYPE_OPTION,
    DROP_MISSING_OPTION,
    DTYPE_OPTION,
    WHOLE,
    dpi_option,
    force_option,
    pairs,
    sectioned,
)
from gradtrace.paths import RUNS

if TYPE_CHECKING:
    from gradtrace.run_config import RunConfig

#: The options that choose a model and loss beyond their names (fit, diagnose,
#: sweep and lr-find share them).
MODEL_OPTIONS = [
    click.option(
        "--model-expr",
        metavar="TEXT",
        default=None,
        help='Your own model as an expression, such as "a*exp(-b*x) + c": '
        "names that are not x columns are parameters (start 1; set with "
        "--init). Numbers, + - * / **, parentheses and exp, log, sqrt, sin, "
        "tanh, sigmoid, ... only.",
    ),
    click.option(
        "--model-file",
        metavar="PATH.py:NAME",
        default=None,
        help="Your own model in a Python file: NAME(x, a=1.0, b=0.5) with "
        "jax.numpy, its keyword defaults the parameters (or a gradtrace.Model).",
    ),
    click.option(
        "--degree",
        type=WHOLE,
        default=None,
        help="The degree of --model poly (default 2).",
    ),
    click.option(
        "--standardize",
        is_flag=True,
        help="--model linear, logistic or poisson-regression: train on standardised "
        "x columns; the summary also gives the slopes in x's own units.",
    ),
    click.option(
        "--offset",
        metavar="COLUMN",
        default=None,
        help="--model logistic or poisson-regression: a column added to the linear "
        "predictor as it is, its coefficient held at 1 (R's offset(); for counts "
        "over exposures, the log of each row's exposure).",
    ),
    click.option(
        "--categorical",
        metavar="COLUMN",
        multiple=True,
        help="--model linear, logistic or poisson-regression: an x column of "
        "categories, coded as a 0/1 column per value but the first (rank=2, "
        "rank=3 against rank 1), as R's factor(); repeat it, or give COLUMN,COLUMN.",
    ),
    click.option(
        "--loss-expr",
        metavar="TEXT",
        default=None,
        help="Your own loss per row as an expression of pred and y, such as "
        '"abs(pred - y)**1.5".',
    ),
    click.option(
        "--delta",
        type=float,
        default=None,
        help="The Huber loss's delta (default 1).",
    ),
    click.option(
        "--param-space",
        type=click.Choice(["constrained", "unconstrained"]),
        default="constrained",
        show_default=True,
        help="constrained: update positive and (0, 1) parameters as given, as "
        "the frameworks do (a step out of bounds stops the run); "
        "unconstrained: train their log or logit.",
    ),
]


def model_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``MODEL_OPTIONS`` to a command."""
    for decorator in reversed(MODEL_OPTIONS):
        f = decorator(f)
    return f


#: ``--chunk-rows`` (fit and diagnose)
chunk_rows_option = click.option(
    "--chunk-rows",
    type=WHOLE,
    default=None,
    metavar="N",
    help="With --stream: rows read at a time, rounded down to whole batches (at "
    "least one batch; default 1048576).",
)


def run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """DATA and the options that describe a run (shared by fit and diagnose)."""
    decorators = [
        click.argument("data", required=False),
        click.option(
            "--model",
            metavar="NAME",
            default="line",
            show_default=True,
            help="A regression model (line, linear, poly, logistic, "
            "poisson-regression, exp-decay) or a distribution fitted to --y (normal, "
            "lognormal, exponential, gamma, beta, poisson, negative-binomial, "
            "binomial, bernoulli, "
            "student-t, laplace, cauchy, weibull, normal-mixture). `gradtrace "
            "models` lists them with their parameters.",
        ),
        click.option(
            "--loss",
            metavar="NAME",
            default=None,
            help="mse, mae, huber or nll. Default: nll for distributions, logistic "
            "and poisson-regression, else mse; nll on a Gaussian regression model "
            "adds the noise scale as a parameter.",
        ),
        # a model or loss of one's own, and the models' own options: after the
        # model and the loss, which a newcomer looks for first
        *MODEL_OPTIONS,
        click.option(
            "--metric",
            "metrics",
            metavar="NAME",
            multiple=True,
            help="Record rmse, mse, mae, r2, accuracy or loglik per step, as Keras "
            "logs it (running_NAME) and on all the data (NAME). Repeatable.",
        ),
        click.option(
            "--x",
            "x",
            metavar="COLUMN",
            multiple=True,
            help=(
                "x column (default x), repeated for several; linear, logistic and "
                "poisson-regression read every column but y unless told. Not for "
                "distributions."
            ),
        ),
        click.option(
            "--y", metavar="COLUMN", default="y", show_default=True, help="y column."
        ),
        click.option(
            "--optimizer",
            metavar="NAME",
            default="sgd",
            show_default=True,
            help="sgd, momentum, nesterov, rmsprop, adam, adamw, adagrad (optax), "
            "or a framework preset with its exact update rule and defaults: "
            "keras.sgd, keras.rmsprop, keras.adam, keras.adamw, keras.adagrad, "
            "keras.adamax, keras.nadam, keras.adadelta, keras.lion (Keras 3), "
            "tf_keras.rmsprop, tf_keras.adam (Keras 2 legacy), torch.sgd, "
            "torch.rmsprop, torch.adam, torch.adamw (--opt amsgrad=true), "
            "torch.adagrad, torch.adamax, torch.nadam, torch.radam, torch.adadelta, "
            "torch.rprop (--opt etas=0.5,1.2 --opt step_sizes=1e-6,50, as "
            "PyTorch's pairs). "
            "Weight decay: --opt weight_decay=W on the adamw and keras presets "
            "(decoupled) and torch.sgd, torch.rmsprop, torch.adam, torch.adagrad, "
            "torch.adamax, torch.nadam, torch.radam, torch.adadelta "
            "(added to the gradient, as PyTorch does; decoupled with --opt "
            "decoupled_weight_decay=true on torch.adam, torch.nadam and torch.radam).",
        ),
        click.option(
            "--lr",
            metavar="RATE",
            default=None,
            help="Learning rate. Default: the optimizer's own default.",
        ),
        click.option(
            "--opt",
            "opt",
            multiple=True,
            metavar="KEY=VALUE",
            help="Any other hyper-parameter, under the preset's own names "
            "(keras: rho, momentum, epsilon, beta_1, ...; torch: alpha, eps, "
            "momentum, beta1, ...). Repeatable.",
        ),
        click.option(
            "--lr-schedule",
            metavar="NAME[:KEY=VALUE,...]",
            default=None,
            help="Change the rate over the run, from --lr, as PyTorch's schedulers "
            "(once an epoch; by_batch=true: every batch) or Keras's schedules "
            "(every step) compute it, such as --lr-schedule "
            "torch.step:step_size=10,gamma=0.5 or keras.cosine:decay_steps=1000: "
            "torch.step, torch.exponential, torch.cosine, torch.multistep, "
            "torch.linear, torch.polynomial, torch.cosine_restarts, torch.lambda, "
            "torch.multiplicative, torch.constant, torch.sequential, "
            "torch.chained, torch.onecycle and torch.cyclic (every batch, --lr "
            "their max_lr; they cycle the momentum or beta1 too unless "
            "cycle_momentum=false), torch.plateau, keras.plateau, "
            "keras.exponential, keras.inverse_time, keras.cosine, "
            "keras.cosine_restarts, keras.polynomial, keras.piecewise, "
            "keras.scheduler. `gradtrace schedules` lists each with its "
            "parameters, their defaults and what it does. The trace gets an lr "
            "column (and the cycled momentum's).",
        ),
        click.option(
            "--clip",
            metavar="NAME=VALUE",
            default=None,
            help="Clip the gradients before each update, as the framework does: "
            "torch.norm=M (clip_grad_norm_), torch.value=V (clip_grad_value_), "
            "keras.norm=M (clipnorm), keras.global_norm=M (global_clipnorm), "
            "keras.value=V (clipvalue), global_norm=M, value=V (optax). The trace "
            "keeps the gradients before clipping.",
        ),
        click.option(
            "--epochs",
            type=WHOLE,
            default=None,
            help="Passes over the data (default 100 unless --steps).",
        ),
        click.option(
            "--steps",
            type=WHOLE,
            default=None,
            help="Optimizer steps instead of epochs, continuing through epochs.",
        ),
        click.option(
            "--batch-size",
            type=WHOLE,
            default=None,
            help="Rows per step. Default: all rows (full-batch gradient descent). "
            "A last partial batch is kept, its loss averaged over its real "
            "rows; a size above the number of rows is clamped to it (as Keras).",
        ),
        click.option(
            "--shuffle/--no-shuffle",
            default=True,
            show_default=True,
            help="Reshuffle the rows at every epoch (from --seed).",
        ),
        click.option(
            "--torch-order",
            is_flag=True,
            default=False,
            help="Shuffle each epoch in the order of PyTorch's DataLoader(data, "
            "shuffle=True, generator=G), G being torch.Generator().manual_seed(SEED) "
            "and SEED --seed: a shuffled run then takes PyTorch's batches, step by "
            "step (shuffle='torch' in Python).",
        ),
        click.option(
            "--keras-order",
            is_flag=True,
            default=False,
            help="Shuffle as Keras 3's fit(x, y, shuffle=True) does (TensorFlow "
            "backend) after keras.utils.set_random_seed(SEED), SEED being --seed: "
            "one order, the same every epoch; a shuffled run then takes Keras's "
            "batches, step by step (shuffle='keras' in Python).",
        ),
        click.option(
            "--drop-last",
            is_flag=True,
            default=False,
            help="Leave out each epoch's last partial batch, as PyTorch's "
            "DataLoader(drop_last=True) (the rows left over sit that epoch out).",
        ),
        click.option(
            "--seed",
            type=WHOLE,
            default=0,
            show_default=True,
            help="Seed of the shuffling.",
        ),
        click.option(
            "--init",
            "init",
            multiple=True,
            metavar="NAME=VALUE",
            help="Initial value of a parameter (default: 0 for loc/slopes/"
            "intercepts, 1 for scale). For a vector: w=1,2,3, or one element: w[0]=1 "
            "(or by its x column, as the summary names it: w[age]=1, w[rank=2]=0). "
            "Repeatable.",
        ),
        click.option(
            "--fix",
            "fix",
            multiple=True,
            metavar="NAME=VALUE",
            help="Hold a parameter at a value; it is not trained. Repeatable.",
        ),
        click.option(
            "--reduction",
            metavar="mean|sum",
            default="mean",
            show_default=True,
            help="mean or sum of the per-row losses in a batch.",
        ),
        DTYPE_OPTION,
        COMPUTE_DTYPE_OPTION,
        click.option(
            "--eval-every",
            type=WHOLE,
            default=None,
            help="Evaluate the loss over all the data after every K-th step (and "
            "after the last). Default: every step while rows x steps <= 1e8; "
            "beyond that, K = ceil(rows x steps / 1e8). Skipped rows are null. A "
            "full-batch run has it at every step whatever K: each step's batch "
            "loss is the loss over all the data before it.",
        ),
        DROP_MISSING_OPTION,
        click.option(
            "--exact/--no-exact",
            default=True,
            show_default=True,
            help="Also compute the exact optimum (closed form or Newton), standard "
            "errors, and the learning-rate diagnosis.",
        ),
        click.option(
            "--stderr",
            metavar="KIND",
            default=None,
            help="The optimum's standard errors: classical (default: sigma^2 "
            "(J'J)^-1 for least squares, the inverse observed information for a "
            "likelihood), or robust to noise that varies from row to row (least "
            "squares' as statsmodels' cov_type): hc0 (White's sandwich), hc1 "
            "(times n/(n-p)), hc2 (each squared residual over 1 - its leverage), "
            "hc3 (each residual over 1 - its leverage; hc2 and hc3 least squares "
            "only).",
        ),
        click.option(
            "--intervals",
            metavar="KIND",
            default="wald",
            show_default=True,
            help="The optimum's intervals: wald (the estimate +- 1.96 standard "
            "errors at 95%, on the log or logit scale of a positive or (0, 1) "
            "parameter; Student's t for least squares) or profile (a likelihood's, "
            "--loss nll: where the likelihood ratio test against the optimum reaches "
            "1 - level, 5% at 0.95, the other parameters fitted again at each point, "
            "as R's confint of a GLM).",
        ),
        click.option(
            "--level",
            metavar="LEVEL",
            default="0.95",
            show_default=True,
            help="The confidence level of the optimum's intervals, a share between 0 "
            "and 1: 0.9 for 90% intervals, 0.99 for 99% ones (R's confint level=).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            default=None,
            help='A TOML file of options (keys as the option names: model = "line", '
            "batch-size = 3, [init] w = 0.5, ...); the command line overrides it. "
            'DATA may be given there as data = "file.csv".',
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


#: fit --help's sections, in the order a run's settings are thought of.
FIT_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Model and loss",
        (
            "model",
            "loss",
            "model_expr",
            "model_file",
            "degree",
            "standardize",
            "offset",
            "loss_expr",
            "delta",
            "param_space",
            "metrics",
        ),
    ),
    ("Data", ("x", "y", "categorical", "dtype", "compute_dtype", "drop_missing")),
    ("Optimizer", ("optimizer", "lr", "opt", "lr_schedule", "clip")),
    (
        "Steps, batches and starts",
        (
            "epochs",
            "steps",
            "batch_size",
            "shuffle",
            "torch_order",
            "keras_order",
            "drop_last",
            "seed",
            "init",
            "fix",
            "reduction",
            "eval_every",
        ),
    ),
    (
        "Held-out data and early stopping",
        ("validation_split", "validation_data", "early_stopping"),
    ),
    ("The exact answer", ("exact", "stderr", "intervals", "level")),
    (
        "Output",
        ("out", "force", "config_file", "print_every", "quiet", "plot", "dpi"),
    ),
    (
        "Large data and long runs",
        ("stream", "chunk_rows", "shuffle_window", "checkpoint_every", "devices"),
    ),
    ("Help", ("help",)),
)


@click.command(cls=sectioned(FIT_SECTIONS), context_settings={"max_content_width": 100})
@run_options
@click.option(
    "-o",
    "--out",
    "out",
    default=None,
    type=click.Path(path_type=Path),
    help="Run folder to write (trace.parquet, run.json). Default: "
    "runs/<date-time>-<model>.",
)
@force_option("run")
@click.option(
    "--print-every",
    type=WHOLE,
    default=None,
    help="Print a table row every N steps (default: about 20 rows).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option(
    "--devices",
    type=WHOLE,
    default=1,
    show_default=True,
    metavar="N",
    help="Split the rows across N devices (GPUs, or CPU devices made with "
    "XLA_FLAGS=--xla_force_host_platform_device_count=N): data-parallel, the "
    "gradients reduced across them.",
)
@click.option(
    "--validation-split",
    type=float,
    default=None,
    metavar="F",
    help="Hold out the last fraction F of the rows (before any shuffling, as "
    "Keras's fit(validation_split=F)): the run trains on the others and takes "
    "the loss and metrics over these after each epoch (val_loss, val_<metric>).",
)
@click.option(
    "--validation-data",
    default=None,
    metavar="FILE",
    help="Validation rows of their own (a CSV or Parquet file, or a built-in data "
    "set, with DATA's columns), evaluated after each epoch as --validation-split's.",
)
@click.option(
    "--early-stopping",
    default=None,
    metavar="KEY=VALUE,...",
    help="Stop training as Keras's EarlyStopping callback does, its arguments "
    "as KEY=VALUE: monitor (val_loss, Keras's default: give validation data; "
    "loss; a --metric or its val_ value), patience, min_delta, mode, baseline, "
    "start_from_epoch, restore_best_weights (the final weights are then the "
    "best epoch's). Such as --early-stopping patience=3,restore_best_weights=true.",
)
@click.option(
    "--checkpoint-every",
    type=WHOLE,
    default=None,
    metavar="K",
    help="Save the run folder (trace so far, optimizer state) every K steps, so a "
    "killed run loses at most K steps: gradtrace resume RUN continues it to the "
    "same final trace.",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Read a Parquet DATA file a chunk at a time instead of whole, for data "
    "larger than memory. Unshuffled, the trace is the in-memory run's (within float "
    "rounding); shuffled, "
    "rows are mixed within windows of chunks (docs/scaling.md). The loss over all "
    "the data is a pass over the file at each epoch's end (or --eval-every K); "
    "the exact answer takes a few passes before training (--no-exact skips them).",
)
@chunk_rows_option
@click.option(
    "--shuffle-window",
    type=WHOLE,
    default=None,
    metavar="N",
    help="With --stream and shuffling: rows mixed together, rounded up to whole "
    "chunks (default 4 chunks).",
)
@click.option(
    "--plot",
    "plot",
    is_flag=True,
    help="Also draw the run's pictures into its folder (as gradtrace plot does).",
)
@dpi_option("the pictures --plot draws (825 x 495 pixels for fit.png at 110)")
def fit(**options: Any) -> None:
    """Fit a model to DATA and record every step.

    \b
    Most runs need a few options only (the rest are below):
      gradtrace fit data.csv --plot              a line by MSE, and its pictures
      gradtrace fit data.csv --optimizer torch.adam --batch-size 32 --epochs 20
      gradtrace fit data.csv --model normal --y value   a distribution, by likelihood
      gradtrace fit data.csv --x x1 --x x2 --model linear --standardize
    Then: gradtrace explain RUN --step 3, gradtrace report RUN (RUN: latest).

    DATA is a CSV (or TSV) file with a header, compressed too (.csv.gz, .zip, ...;
    a separator of ; or | is found from the header, and fields parted by spaces
    as R's write.table and numpy's savetxt write them), a Parquet file, a NumPy .npy
    or .npz file, - for CSV on standard input, or the name of a built-in data set
    (seed001_line, seed001_gaussian, seed002_normal, seed003_linear, seed004_keras).
    A first field on each row that the header does not name, or names "", is
    taken for a row name (as R's write.table and write.csv write them), with a
    note.
    The run folder gets trace.parquet (one row per step, after a row 0 with the
    initial state) and run.json (configuration, optimizer, final parameters, how it
    ended, timings). Ctrl-C stops at the end of the current compiled chunk of steps
    (a fraction of a second of work) and saves the run so far, marked
    interrupted, and so do TERM (timeout, docker, a batch system) and HUP. Exit
    codes: 0 done, 1 diverged or its loss ended above its start (the run is still
    saved), 2 bad input, 130
    interrupted (143 by TERM, 129 by HUP).

    \b
    Example (seed 004, Keras's RMSprop, batch by batch):
      gradtrace fit data.csv --model line --loss mse --optimizer keras.rmsprop \\
        --lr 0.05 --epochs 1 --batch-size 3 --no-shuffle --init w=0.5 --init b=0
    """
    started = time.perf_counter()
    from gradtrace import validate
    from gradtrace.cli import _report
    from gradtrace.cli._config import read_config
    from gradtrace.errors import InputError
    from gradtrace.run_config import RunConfig

    file_options = read_config(options["config_file"]) if options["config_file"] else {}
    # validation data given on the command line stand for the file's, either way
    for given, other in (
        ("validation_split", "validation_data"),
        ("validation_data", "validation_split"),
    ):
        if options[given] is not None:
            file_options.pop(other, None)
    o = _merge(options, file_options)
    if o["data"] is None:
        raise InputError(
            "no data: give DATA (a file or a built-in data set), or "
            'data = "..." in the --config file.'
        )
    if o["print_every"] is not None and o["print_every"] < 1:
        raise InputError(f"--print-every must be at least 1, got {o['print_every']}.")
    source = click.get_current_context().get_parameter_source("model")
    if o["model_file"] and (
        source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
        or "model" in file_options
    ):  # --model line too, which is also the default
        raise InputError(
            "give --model or --model-file, not both: the file's model is the one "
            "fitted."
        )
    for key in ("data", "validation_data"):
        if options["config_file"] and key in file_options and not options[key]:
            beside = Path(options["config_file"]).parent / str(o[key])
            if not Path(str(o[key])).exists() and beside.exists():
                o[key] = str(beside)  # a config file's data path is relative to it
    try:
        o["lr"] = float(o["lr"]) if o["lr"] is not None else None
    except ValueError:
        pass  # validation says what is wrong with it
    config = RunConfig(
        data=o["data"],
        model=o["model"],
        loss=o["loss"],
        x=o["x"],
        y=o["y"],
        optimizer=o["optimizer"],
        lr=o["lr"],
        opt=o["opt"],
        lr_schedule=o["lr_schedule"],
        clip=o["clip"],
        epochs=o["epochs"],
        steps=o["steps"],
        batch_size=o["batch_size"],
        shuffle=o["shuffle"],
        drop_last=o["drop_last"],
        seed=o["seed"],
        init=o["init"],
        fix=o["fix"],
        reduction=o["reduction"],
        dtype=o["dtype"],
        compute_dtype=o["compute_dtype"],
        eval_every=o["eval_every"],
        drop_missing=o["drop_missing"],
        exact=o["exact"],
        stderr=o["stderr"],
        intervals=o["intervals"],
        level=validate.level(o["level"]),
        degree=o["degree"],
        standardize=o["standardize"],
        offset=o["offset"],
        categorical=list(o["categorical"] or []),
        delta=o["delta"],
        model_expr=o["model_expr"],
        model_file=o["model_file"],
        loss_expr=o["loss_expr"],
        param_space=o["param_space"],
        metrics=list(o["metrics"] or []),
        checkpoint_every=o["checkpoint_every"],
        devices=o["devices"],
        stream=o["stream"],
        chunk_rows=o["chunk_rows"],
        shuffle_window=o["shuffle_window"],
        validation_split=o["validation_split"],
        validation_data=o["validation_data"],
        early_stopping=o["early_stopping"],
    )
    if not config.stream and (o["chunk_rows"] or o["shuffle_window"]):
        raise InputError(
            "--chunk-rows and --shuffle-window go with --stream: add --stream (it "
            "reads a Parquet file a chunk at a time), or drop them."
        )
    if config.stream:
        from gradtrace.streaming import check

        check(config)
    out = Path(o["out"]) if o["out"] else default_out(_model_label(config))
    trace, late = _report.run_into_with_progress(
        config, out, o["force"], started, o["quiet"]
    )
    _report.print_run(trace, out, o["print_every"], o["quiet"])
    if late:
        click.echo(
            f"interrupted as the run finished (its last steps, or its saving): {out} "
            "was saved whole first.",
            err=True,
        )
        raise click.exceptions.Exit(130)
    if o["plot"]:
        from gradtrace import plot as plots

        try:
            for path in plots.plot_run(trace, out, dpi=o["dpi"]):
                click.echo(f"wrote {path}")
        except KeyboardInterrupt:
            # the run itself was saved whole: only its pictures were cut short
            click.echo(
                f"interrupted while drawing the pictures: the run in {out} is saved "
                f"whole; gradtrace plot {out} draws them.",
                err=True,
            )
            raise click.exceptions.Exit(130) from None
    # a loss that rose (to 1e37, finite in float32) failed as a divergence does
    if trace.diverged or (trace.status == "completed" and trace.loss_rose):
        raise click.exceptions.Exit(1)
    if trace.status == "interrupted":
        raise click.exceptions.Exit(130)


#: Where an option's value comes from when the command line did not give it.
_NOT_GIVEN = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _merge(options: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Command-line options over the config file's, over the defaults; the
    options the config file set are remembered on the click context, so that a
    bad value's message names the file (``_config.named_from_file``)."""
    from gradtrace.cli._config import remember

    ctx = click.get_current_context()
    out: dict[str, Any] = {}
    from_file: dict[str, tuple[str, Any]] = {}
    for param in ctx.command.params:
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        if name in config and source in (None, *_NOT_GIVEN):
            for flag in (*param.opts, *param.secondary_opts):
                from_file[flag] = (name.replace("_", "-"), config[name])
    if from_file and options.get("config_file"):
        remember(options["config_file"], from_file)
    for name, value in options.items():
        source = ctx.get_parameter_source(name)
        given = source not in _NOT_GIVEN
        if name in ("opt", "init", "fix"):
            table = dict(config.get(name, {}))
            out[name] = {**table, **pairs(f"--{name}", value)} if given else table
        elif name in ("x", "metrics"):
            written = config.get(name)
            if value:
                out[name] = list(value)
            else:
                out[name] = [written] if isinstance(written, str) else written
        else:
            out[name] = value if given or name not in config else config[name]
    out["shuffle"] = shuffle_of(
        out["shuffle"], out.pop("torch_order", False), out.pop("keras_order", False)
    )
    return out


def shuffle_of(
    shuffle: bool | str, torch_order: bool, keras_order: bool = False
) -> bool | str:
    """``shuffle`` as --shuffle/--no-shuffle (or a config file's shuffle),
    --torch-order and --keras-order give it."""
    from gradtrace.errors import InputError

    if torch_order and keras_order:
        raise InputError(
            "--torch-order and --keras-order are two orders: give the one of the "
            "framework you compare with."
        )
    if not torch_order and not keras_order:
        return shuffle
    flag, whose = (
        ("--torch-order", "PyTorch's") if torch_order else ("--keras-order", "Keras's")
    )
    if shuffle is False:
        raise InputError(
            f"{flag} shuffles each epoch in {whose} order, and shuffling "
            "is off (--no-shuffle, or shuffle = false in a config file): turn it "
            f"on, or drop {flag}."
        )
    # gradtrace.core.batches.TORCH and KERAS, without importing JAX
    return "torch" if torch_order else "keras"


def _model_label(config: RunConfig) -> str:
    """The model's name in a run folder's default name: a --model-file's by its
    name in the file, a --model-expr's "expr"."""
    if config.model_file:
        return config.model_file.rpartition(":")[2] or "custom"
    return "expr" if config.model_expr else config.model


def default_out(model: str) -> Path:
    """``runs/<date-time>-<model>``, with a suffix if that folder exists or
    another command has claimed it (``store.claim``)."""
    from gradtrace.store import claim

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RUNS / f"{stamp}-{model}"
    n = 1
    while not claim(out):
        n += 1
        out = RUNS / f"{stamp}-{model}-{n}"
    return out
