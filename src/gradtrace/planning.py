"""A run planned before anything compiles: its data, model, loss, optimizer,
schedule and held-out rows checked and put together (``plan``), and the exact
answer of a plan."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from typing import Any, NamedTuple

import jax
import numpy as np
import pandas as pd

from gradtrace import held_out, programs, validate
from gradtrace import stopping as early_stop
from gradtrace.assembly import row_losses_at, told_row
from gradtrace.categories import DROPPED, coded, encode, sources, unfitted
from gradtrace.core import loop
from gradtrace.core.batches import KERAS, TORCH, TORCH_ROWS_LIMIT, n_batches
from gradtrace.core.diagnose import READS_RATE_ONCE
from gradtrace.core.distributions import CustomFamily
from gradtrace.core.models import Custom
from gradtrace.core.optimizers import PRESETS, OptimizerSpec
from gradtrace.core.schedules import LrSchedule
from gradtrace.data import READ_NOTICES
from gradtrace.errors import COMMAND_LINE, InputError
from gradtrace.reference import compute as reference_compute
from gradtrace.run_config import RunConfig
from gradtrace.sources import data_file, frame_of
from gradtrace.text import LOG_FACTORIALS_KEPT, for_python, x_flags
from gradtrace.usercode import load_model_file

#: Evaluate the loss over all the data after every step while rows x steps stays
#: under this many row evaluations; beyond it, every k-th step (``eval_every``).
EVAL_BUDGET = 100_000_000


DEFAULT_EPOCHS = 100

#: The regression whose y given x follows a distribution: what a notice that x
#: is not used names (a Poisson fit to counts beside their x: poisson-regression).
_REGRESSION_OF = {
    "poisson": "poisson-regression",
    "bernoulli": "logistic",
    "normal": "linear",
}


class Plan(NamedTuple):
    """A configuration checked and resolved against its data, ready to run: the
    model and loss, data arrays, parameters, optimizer and schedule."""

    notices: Any
    m: Any
    loss: Any
    reduction: Any
    pdtype: Any
    cdtype: Any
    xs: Any
    ys: Any
    dropped: Any
    specs: Any
    trainable: Any
    fixed: Any
    spec: Any
    n_rows: Any
    batch_size: Any
    per_epoch: Any
    n_steps: Any
    eval_every: Any
    seed: Any
    names: Any
    problem: Any
    schedule: Any
    chunk: Any
    x_cols: Any
    #: ``values_sha256`` of xs and ys, for ``resume`` to check the data given again
    values: str = ""
    #: "model", "loss": given as Python objects (``resume`` needs them again)
    own: tuple[str, ...] = ()
    #: the positions in the data as given of the rows ``--drop-missing`` dropped
    dropped_at: tuple[int, ...] = ()
    #: validation rows (``held_out.HeldOut``), or None
    val: Any = None
    #: Keras's EarlyStopping (``core.early_stopping``), or None
    stopping: Any = None
    #: robust standard errors' kind ("hc0", "hc1", "hc2", "hc3"), or None: classical
    stderr: str | None = None
    #: the intervals' kind: "wald" or "profile"
    intervals: str = "wald"
    #: run.json's records of the data and validation files (``data_file``),
    #: taken when the plan was made, as the data were read (at the run's end,
    #: a file replaced during the run was recorded in place of the one read);
    #: None for a view's plan
    files: Any = None
    #: the categorical x columns' categories, the reference first
    #: (``categories.encode``), by column
    categories: Any = None
    #: the share of its distribution each of the optimum's intervals holds
    level: float = 0.95
    #: each x column's [lowest, highest] value where the rows are not held (a
    #: stream's, from its file's statistics), else None: taken from ``xs``
    x_range: Any = None


def _column_names(config: RunConfig, frame: pd.DataFrame) -> None:
    """x and y as the names of ``frame``'s columns: a numbered column (a data frame
    made from an array has 0, 1, 2, named "0", "1", "2" for the run) taken by its
    number; y given as values, not a name, refused."""
    names = {str(c) for c in frame.columns}

    def numbered(c: Any) -> bool:
        return (
            isinstance(c, (int, np.integer))
            and not isinstance(c, (bool, np.bool_))
            and str(c) in names
        )

    if config.x is not None and all(numbered(c) for c in config.x):
        config.x = [str(c) for c in config.x]
    if numbered(config.y):
        config.y = str(config.y)
    if not isinstance(config.y, str):
        raise InputError(
            "y takes the name of the y column, such as y='y', not its values (got "
            f"{type(config.y).__name__}): give the values as data, such as "
            "fit((X, y), ...), or as a column of the data frame."
        )


def plan(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    model_obj: Any = None,
    loss_obj: Any = None,
    n_rows: int | None = None,
    validation: tuple[pd.DataFrame, str] | None = None,
    for_views: bool = False,
    release: bool = False,
    record: bool = True,
) -> Plan:
    """Check ``config`` against the data and resolve every default (no training).

    ``model_obj`` and ``loss_obj`` are a model and a loss given as Python objects
    (``gradtrace.Model``, ``gradtrace.Loss``) rather than by name. ``n_rows``: the
    data's rows when ``frame`` is only their first rows (a streamed run).
    ``validation``: validation data given in Python, as a table and its name
    (default: the file ``config.validation_data`` names, if any). ``for_views``:
    a saved run's plan for its views (``load`` with data), which read no
    validation data and check nothing that needs them. ``release``: ``frame`` is
    this plan's alone (``validate.columns``). ``record``: take the data files'
    checksums for run.json (``Plan.files``); a sweep or a range test, which
    writes no run.json, reads no file whole for them."""
    programs.release_if_crowded()  # a long session's compiled code: below the limit
    # the files' checksums now, as they were read (``Plan.files``)
    files = None
    if record and not for_views:
        files = {
            "data": data_file(config.data),
            "validation": data_file(config.validation_data),
        }
    for name in ("opt", "init", "fix"):  # from sweep and lr_find as they came
        setattr(config, name, validate.by_name(name, getattr(config, name)))
    _column_names(config, frame)
    if config.x is not None and not all(isinstance(c, str) for c in config.x):
        raise InputError(
            "x takes the names of x columns, such as x='x' or x=['u', 'v'], not "
            f"their values (got {len(config.x)} values): give the data as data."
        )
    notices: list[str] = []
    given_model = model_obj  # a Python object (a file's is read again from it)
    if config.model_file and (model_obj is not None or config.model != "line"):
        # "line" is --model's default: any other model was asked for as well
        raise InputError(
            "give --model or --model-file, not both: the file's model is the one "
            "fitted."
        )
    if model_obj is None and config.model_file:
        model_obj = load_model_file(config.model_file)
    for text, flag, example in (
        (config.model_expr, "--model-expr", '"a*exp(-b*x) + c"'),
        (config.loss_expr, "--loss-expr", '"(pred - y)**2"'),
    ):
        if text is not None and not str(text).strip():
            # an empty one fitted the default line in silence
            raise InputError(f"{flag} is empty: write one, such as {example}.")
    model_arg = config.model
    if config.model_expr and model_arg in ("line", "expr") and model_obj is None:
        model_arg = "expr"
    elif config.model_expr:
        raise InputError("give --model or --model-expr, not both.")
    for name in ("drop_missing", "exact", "standardize"):
        validate.switch(name, getattr(config, name))
    config.shuffle = validate.shuffle(config.shuffle)
    model_name, kind = validate.model_name(model_obj or model_arg)
    reduction = validate.reduction(config.reduction)
    pdtype = validate.dtype(config.dtype)
    cdtype = validate.dtype(config.compute_dtype or pdtype, "compute dtype")
    if kind == "distribution" and len(frame.columns) == 1 and config.y == "y":
        config.y = str(frame.columns[0])  # one column (a named Series, say) is y
    # what reading the file had to say (row names taken as R writes them)
    notices += [str(n) for n in frame.attrs.get(READ_NOTICES, [])]
    own_y = frame.attrs.get("y")  # an (x, y) pair's named Series
    if config.y == "y" and "y" not in frame.columns and own_y in frame.columns:
        config.y = str(own_y)
    x_cols = validate.x_columns(
        frame, model_name, kind, config.x, config.y, config.model_expr, source
    )
    offset = None
    if config.offset is not None:
        offset, x_cols = validate.offset_column(
            config.offset, model_name, frame, x_cols, config.y, bool(config.x), source
        )
        config.offset = offset
    categories: dict[str, list[str]] = {}
    if config.categorical:
        if config.stream:
            raise InputError(
                "--categorical reads each column's categories from the whole data, "
                "which --stream does not hold: code them as 0/1 columns in the file, "
                "or leave out --stream."
            )
        # the columns as the data have them, before a categorical one is coded
        validate.present(
            frame,
            kind,
            [*x_cols, *([offset] if offset else [])],
            config.y,
            source,
            model_name if not config.x and len(x_cols) > 1 else None,
            bool(config.x),
        )
        frame, x_cols, categories = encode(
            frame, config.categorical, x_cols, config.y, model_name, source
        )
        # kept with their categories: a run read back codes its data alike
        config.categorical = categories
    if config.model_expr and not config.x and x_cols and x_cols != ["x"]:
        # names of columns are data: a column named as the parameter meant (Km
        # beside x) was read as data in silence; and an x that is no column
        # (columns w and y: "w*x + b") became a parameter named x
        from gradtrace.core.expr import parse

        names = parse(config.model_expr).names
        params = [n for n in names if n not in x_cols and n != config.y]
        read = (
            f"{', '.join(x_cols[:-1])} and {x_cols[-1]}"
            if len(x_cols) > 1
            else x_cols[0]
        )
        notices.append(
            f"--model-expr reads {read} as data, "
            + ("columns" if len(x_cols) > 1 else "a column")
            + " of the data"
            + (
                f"; its parameter{'s are' if len(params) > 1 else ' is'} "
                f"{', '.join(params)}"
                if params
                else ""
            )
            + (": x is no column of these data, so it is one" if "x" in params else "")
            + " (a name that is a column is data: rename one to fit it)"
        )
    unused = [str(c) for c in frame.columns if kind == "distribution" and c != config.y]
    if unused:
        which = "column " if len(unused) == 1 else "columns "
        regression = _REGRESSION_OF.get(model_name)
        such = (
            f"{regression}, whose {config.y} is {model_name} given them,"
            if regression
            else "such as line or linear,"
        )
        notices.append(
            f"{model_name}, a distribution, is fitted to {config.y} alone: "
            f"{which}{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not "
            f"used (a regression model, {such} reads them)"
        )
    left = [str(c) for c in frame.columns if c not in (*x_cols, config.y, offset)]
    if kind == "regression" and not config.x and x_cols and left:
        # x chosen by default: the columns it passed over are said, not dropped
        # unseen (a text column beside x and y)
        which = "column " if len(left) == 1 else "columns "
        # quoted: a column called name read "column name is not used"
        notices.append(
            f"{which}{', '.join(map(repr, left))} "
            f"{'is' if len(left) == 1 else 'are'} not used: x is "
            f"{', '.join(map(repr, map(str, x_cols)))} (--x NAME chooses the x "
            "columns)"
        )
    every = model_name if not config.x and len(x_cols) > 1 else None
    if every in validate.STANDARDISED and config.y != "y":
        # y chosen, x not: every other column is x, so a 0/1 outcome beside the
        # features was a predictor of price in silence but for the run's header
        notices.append(
            f"{model_name} reads every column but {config.y} as x: "
            f"{', '.join(map(str, x_cols))} (--x NAME chooses the x columns)"
        )
    # the data's columns: x's, and an offset's last (the model adds it)
    data_cols = [*x_cols, offset] if offset else x_cols
    # a categorical column's 0/1 columns, by its name: what a suggested --x gives
    coded_from = dict(zip(data_cols, sources(data_cols, categories), strict=True))
    xs, ys = validate.columns(
        frame,
        kind,
        data_cols,
        config.y,
        source,
        cdtype,
        every,
        x_given=bool(config.x),
        release=release,
        marks_missing=bool(config.drop_missing),
        source_of=coded_from,
    )
    if every is not None and xs is not None:
        notices += _row_numbers(xs[:, : len(x_cols)], x_cols, config.y, coded_from)
    given = xs, ys  # to name a row by its place in the data, where rows are dropped
    head_of = n_rows if n_rows is not None and n_rows > len(ys) else None
    xs, ys, dropped = validate.finite_rows(
        xs,
        ys,
        config.drop_missing,
        source,
        (sources(data_cols, categories), config.y),
        frame.index,
        head_of,
    )
    if dropped:
        notices.append(dropped_notice(dropped))
        if categories and xs is not None:
            unfitted(categories, data_cols, xs, DROPPED)
    # the run had validation data (a view's plan leaves a file of them unread)
    validated = bool(config.validation_split or config.validation_data)
    if for_views:  # the training rows alone: a split still takes its share
        config = dataclasses.replace(config, validation_data=None)
    xs, ys, val = _validation(
        config, validation, kind, data_cols, xs, ys, cdtype, categories, source
    )
    if categories and config.validation_split and xs is not None:
        unfitted(categories, data_cols, xs)
    if val is not None and val.dropped:  # the validation data's own, said too
        notices.append(f"{dropped_notice(val.dropped)} from the validation data")
    m = validate.model(
        model_name,
        len(x_cols),
        x_cols=x_cols,
        xs=xs,
        degree=config.degree,
        standardize=config.standardize,
        expr=config.model_expr,
        model_obj=model_obj,
        offset=offset is not None,
    )
    x_cols = data_cols  # the run's columns of x, as run.json keeps them
    one_x = m.kind == "regression" and not getattr(m, "x_matrix", False)
    if one_x:
        xs = None if xs is None else xs[:, 0]
    if val is not None:
        val = held_out.reshaped(val, one_x)
    loss = validate.loss(m, loss_obj or config.loss, config.delta, config.loss_expr)
    robust = validate.robust_stderr(config.stderr, loss)
    if robust is not None and not config.exact:
        raise InputError(
            f"--stderr {robust} chooses the exact optimum's standard errors, which "
            "--no-exact leaves out: drop one of them."
        )
    intervals = validate.intervals(
        config.intervals, loss, robust, config.exact, bool(config.stream)
    )
    level = validate.level(config.level)
    if level != 0.95 and not config.exact:
        raise InputError(
            f"--level {level:g} chooses the exact optimum's intervals, which "
            "--no-exact leaves out: drop one of them."
        )
    specs = validate.specs_for(m, loss)
    if isinstance(m, (Custom, CustomFamily)):  # a built-in's names are its own
        validate.params_apart_from_columns(specs, config.y, kind)
    trainable, fixed = validate.param_values(specs, config.init, config.fix, x_cols)
    validate.user_code(m, loss, {**trainable, **fixed}, xs, ys)
    if m.kind == "distribution" or loss == "nll":
        rows = validate.kept_rows(*given) if dropped else None
        validate.support(m, ys, fixed, source, rows=rows)
        if val is not None:
            validate.support(m, val.y, fixed, f"the validation data ({val.source})")
    if getattr(m, "center", None) is not None and "b" in fixed:
        # on standardised x the intercept is the prediction at x's means: held
        # there, not at x = 0 (a user after "no intercept" got the former)
        notices.append(
            f"b is held at {float(fixed['b']):g} on standardised x, where the "
            "intercept is the linear predictor at x's means, not at x = 0 (its value "
            "in x's own units moves with the slopes): leave out --standardize to "
            "hold the intercept at x = 0"
        )
    dropped_at = tuple(validate.missing_rows(*given).tolist()) if dropped else ()
    del given  # the data before any drop: a copy's worth of memory where rows went
    metric_names = validate.metrics(m, loss, config.metrics, ys, source)
    unconstrained = validate.param_space(config.param_space)
    # Keras's CosineDecay warms up from its initial rate, 0 in its docs' example
    zero = validate.warms_up_from_zero(validate.lr_schedule(config.lr_schedule))
    spec = validate.optimizer(config.optimizer, config.lr, config.opt, zero)
    if isinstance(config.lr, str):  # "0.1" (a Python call's text) kept as a number
        config.lr = spec.learning_rate
    largest = float(np.finfo(pdtype).max)
    if spec.learning_rate > largest:  # 1e40 in float32: inf before any step
        raise InputError(
            f"learning rate {spec.learning_rate:g} is beyond {pdtype}'s largest "
            f"number, {largest:.3g}: give a smaller --lr (or --dtype float64)."
        )
    notices += validate.framework_named(config.optimizer, spec.name)
    framework = FRAMEWORKS.get(spec.name.split(".")[0])
    poisson = loss == "nll" and m.name in ("poisson", "poisson-regression")
    if poisson and framework and not for_views:
        # a framework's user sets its logged loss beside this one
        notices += _log_factorials(ys, config.reduction)
    n_rows = len(ys) if n_rows is None else n_rows

    batch_size = n_rows
    if config.batch_size is not None:
        batch_size = validate.positive_int(
            "batch size", config.batch_size, "--batch-size"
        )
        config.batch_size = batch_size  # as run.json keeps it: 2, not "2" or 2.0
        if batch_size > n_rows and config.drop_last:
            raise InputError(
                f"--drop-last with batch size {batch_size}, larger than the "
                f"{n_rows} rows, leaves no batch to train on (PyTorch's "
                f"DataLoader yields none): give a batch size of at most {n_rows}, "
                "or leave out --drop-last."
            )
        if batch_size > n_rows:
            notices.append(
                f"batch size {batch_size} is larger than the {n_rows} rows: "
                f"using {n_rows} (one batch per epoch, as Keras does)"
            )
            batch_size = n_rows
    keras_fit = spec.name.split(".")[0] in ("keras", "tf_keras")
    rate = float(spec.learning_rate)
    if keras_fit and pdtype == "float64" and float(np.float32(rate)) != rate:
        if config.lr_schedule is None and not for_views:
            # Keras keeps the rate in a variable of its floatx: float32 unless
            # keras.config.set_floatx("float64"), even over float64 variables
            rounded = float(np.float32(rate))
            notices.append(
                f"Keras keeps the learning rate in a variable of its floatx, "
                f"float32 by default: float64 variables under it step at "
                f"{rounded!r}, not {rate:g} (--lr {rounded!r} takes that rate; "
                "after keras.config.set_floatx('float64') it is this run's)"
            )
    if spec.name in READS_RATE_ONCE and config.lr_schedule is not None:
        if not for_views:
            notices.append(
                f"{spec.name} reads the rate at its first step only, as its weights' "
                "first step sizes (PyTorch's Rprop reads lr once too): the "
                "schedule's later rates change nothing"
            )
    if keras_fit and config.batch_size is None and n_rows > 32 and not for_views:
        # a Keras user's fit(x, y) takes batches of 32 unless told otherwise
        notices.append(
            "every step sees all the rows (full batch), where Keras's fit takes "
            "batches of 32 by default: --batch-size 32 runs as fit(x, y) does"
        )
    torch_order = config.shuffle == TORCH
    keras_order = config.shuffle == KERAS
    # the order's own framework's presets: keras. (Keras 3) for Keras's order
    own_order = (torch_order and spec.name.startswith("torch.")) or (
        keras_order and spec.name.startswith("keras.")
    )
    if framework and config.shuffle and batch_size < n_rows and not for_views:
        if own_order:
            pass
        elif keras_order and spec.name.startswith("tf_keras."):
            notices.append(
                "the batches are shuffled in Keras 3's order (--seed), one order "
                "for every epoch; tf_keras (Keras 2) draws another each epoch, "
                "which gradtrace does not reproduce: --no-shuffle compares step "
                "by step, or give it this run's order (trace.batch_rows(); "
                "docs/frameworks.md)"
            )
        elif not torch_order and not keras_order and spec.name.startswith("torch."):
            notices.append(
                "the batches are shuffled in gradtrace's own order (--seed), not "
                "PyTorch's DataLoader's: --torch-order takes its order (seeded "
                "as torch.Generator().manual_seed(SEED), SEED being --seed), "
                "--no-shuffle compares step by step"
            )
        elif not torch_order and not keras_order and spec.name.startswith("keras."):
            notices.append(
                "the batches are shuffled in gradtrace's own order (--seed), not "
                "Keras's: --keras-order takes its order (after "
                "keras.utils.set_random_seed(SEED), SEED being --seed), "
                "--no-shuffle compares step by step"
            )
        else:
            own = (
                "PyTorch's DataLoader's"
                if torch_order
                else "Keras 3's"
                if keras_order
                else "gradtrace's own"
            )
            notices.append(
                f"the batches are shuffled in {own} order (--seed), not "
                f"{framework}'s: --no-shuffle compares step by step, or give it "
                "this run's order (trace.batch_rows(); docs/frameworks.md)"
            )
    if torch_order and n_rows >= TORCH_ROWS_LIMIT:
        raise InputError(
            f"--torch-order reproduces PyTorch's order below {TORCH_ROWS_LIMIT} "
            f"rows, and the data have {n_rows}: drop --torch-order."
        )
    if config.epochs is not None and config.steps is not None:
        raise InputError("give --epochs or --steps (one of them), not both.")
    drop_last = bool(config.drop_last) and batch_size < n_rows
    if drop_last and keras_order and n_rows % batch_size:
        # one order for every epoch: the same rows would never be trained on
        said = (
            "--drop-last with --keras-order leaves the same rows out of every "
            "epoch (Keras's order is one for all of them, and its fit keeps the "
            "last partial batch): leave out --drop-last."
        )
        raise InputError(said if COMMAND_LINE.get() else for_python(said))
    if config.drop_last and not drop_last and not for_views:
        notices.append(
            "--drop-last changes nothing here: every step sees all the rows, so no "
            "batch is partial"
        )
    elif drop_last and n_rows % batch_size == 0 and not for_views:
        notices.append(
            f"--drop-last changes nothing here: {n_rows} rows make whole batches "
            f"of {batch_size}"
        )
    shuffled = bool(config.shuffle) and batch_size < n_rows
    if torch_order and not shuffled and not for_views:
        notices.append(
            "--torch-order changes nothing here: every step sees all the rows "
            "(PyTorch sums them in its shuffled order, so its loss may differ in "
            "the last digits)"
        )
    if keras_order and not shuffled and not for_views:
        notices.append(
            "--keras-order changes nothing here: every step sees all the rows "
            "(Keras sums them in its shuffled order, so its loss may differ in "
            "the last digits)"
        )
    if config.seed != 0 and not shuffled and not for_views:
        notices.append(
            f"--seed {config.seed} changes nothing here: it draws the shuffled "
            "batches' order, and "
            + (
                "these batches are taken in order (--no-shuffle)"
                if batch_size < n_rows
                else "every step sees all the rows"
            )
        )
    per_epoch = n_batches(n_rows, batch_size, drop_last)
    if config.steps is not None:
        n_steps = validate.positive_int("steps", config.steps, "--steps")
        config.steps = n_steps
    else:
        epochs = config.epochs if config.epochs is not None else DEFAULT_EPOCHS
        n_epochs = validate.positive_int("epochs", epochs, "--epochs")
        if config.epochs is not None:
            config.epochs = n_epochs
        n_steps = validate.positive_int(
            "epochs x batches per epoch", n_epochs * per_epoch, "--epochs"
        )
    if config.eval_every is not None:
        eval_every = validate.positive_int(
            "--eval-every", config.eval_every, "--eval-every"
        )
    else:
        eval_every = max(1, math.ceil(n_rows * n_steps / EVAL_BUDGET))
    seed = validate.whole(config.seed)  # 1.0, as steps=1e4 counts
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be a whole number, got {seed!r}.")
    if not -(2**63) <= int(seed) < 2**63:
        raise InputError(
            f"seed {seed} is out of range: give a whole number from -2**63 to "
            "2**63 - 1 (any seed works; it only picks the shuffled order"
            + (
                "; PyTorch's generator reads the seed's last 32 bits, so seed - "
                "2**64 is the same seed to it)."
                if torch_order
                else "; TensorFlow takes it modulo 2**31 - 1)."
                if keras_order
                else ")."
            )
        )
    config.seed = int(seed)

    names = tuple(s.name for s in specs if s.name in trainable)
    constraints = tuple((s.name, s.constraint) for s in specs if s.name in trainable)
    problem = loop.Problem(
        m,
        loss,
        reduction,
        names,
        pdtype,
        cdtype,
        constraints,
        unconstrained,
        metric_names,
    )
    schedule = loop.Schedule(
        n_rows, batch_size, n_steps, config.shuffle, eval_every, drop_last
    )
    lr_schedule = validate.lr_schedule(config.lr_schedule)
    if (
        lr_schedule is not None
        and lr_schedule.name == "keras.plateau"
        and (val is not None or validated)
        and not _names_monitor(config.lr_schedule)
    ):
        # Keras's ReduceLROnPlateau watches val_loss unless told otherwise
        lr_schedule = LrSchedule.create(
            "keras.plateau", **{**lr_schedule.params, "monitor": "val_loss"}
        )
    if lr_schedule is not None and lr_schedule.name == "keras.piecewise":
        spec = _piecewise_rate(spec, lr_schedule, config)
    if lr_schedule is not None:
        validate.schedule_fits(lr_schedule, spec, n_steps, per_epoch)
        notices += validate.schedule_notices(
            lr_schedule, n_steps, per_epoch, spec.learning_rate
        )
        if not for_views:
            notices += _frameworks_mixed(lr_schedule.name, spec.name)
    spec = spec.scheduled(lr_schedule, per_epoch, n_steps, pdtype, n_rows)
    # the columns a schedule gives the trace: the rate, and a cycled momentum
    for column, what in (
        ("lr", "a learning-rate schedule, whose rates"),
        (spec.cycled, f"a schedule that cycles the optimizer's {spec.cycled}, which"),
    ):
        if lr_schedule is not None and column in trainable:
            raise InputError(
                f"the model has a parameter named {column} and the run {what} the "
                f"trace keeps in a column {column}: rename the parameter."
            )
    spec = spec.clipped(validate.clip(config.clip))
    if spec.watches_validation and val is None and not for_views:
        raise InputError(
            f"{lr_schedule.name if lr_schedule else 'the schedule'}:monitor=val_loss "
            "watches the validation data's loss: give them (--validation-split 0.2 "
            "or --validation-data FILE; validation_split= or validation_data= in "
            "Python), or watch the training loss (monitor=loss)."
        )
    stopping = early_stop.early_stopping(config.early_stopping)
    if stopping is not None and not for_views:
        early_stop.check_fits(stopping, metric_names, val is not None)
    chunk = _chunk_steps(schedule)
    return Plan(
        notices,
        m,
        loss,
        reduction,
        pdtype,
        cdtype,
        xs,
        ys,
        dropped,
        specs,
        trainable,
        fixed,
        spec,
        n_rows,
        batch_size,
        per_epoch,
        n_steps,
        eval_every,
        seed,
        names,
        problem,
        schedule,
        chunk,
        x_cols,
        values_sha256(xs, ys),
        tuple(
            what
            for what, given in (("model", given_model), ("loss", loss_obj))
            if given is not None
        ),
        dropped_at,
        val,
        stopping,
        robust,
        intervals,
        files,
        categories,
        level,
    )


def _validation(
    config: RunConfig,
    given: tuple[pd.DataFrame, str] | None,
    kind: str,
    x_cols: list[str],
    xs: np.ndarray | None,
    ys: np.ndarray,
    dtype: str,
    categories: dict[str, list[str]] | None = None,
    source: str = "the data",
) -> tuple[np.ndarray | None, np.ndarray, held_out.HeldOut | None]:
    """The training rows and the validation rows of ``config``: the last
    ``validation_split`` of the rows, or ``given`` (data in Python) or the file
    ``validation_data`` names; None without either. ``categories``: the
    categorical columns' (``categories.encode``), coded in the validation rows
    as in the training rows. ``source``: the data as messages name them."""
    share = held_out.fraction(config.validation_split)
    config.validation_split = share
    if config.validation_data == "-":
        raise InputError(
            "validation data cannot come from standard input: give them a file "
            "of their own (--validation-data FILE)."
        )
    if given is None and config.validation_data is not None:
        try:
            given = frame_of(config.validation_data)
        except InputError as err:
            raise InputError(f"validation data: {err}") from None
    if share is not None and given is not None:
        raise InputError(
            "give validation_split or validation_data (--validation-split or "
            "--validation-data), not both: the split holds out the data's last "
            "rows, the other rows of their own."
        )
    if share is not None:
        return held_out.split(xs, ys, share, source)
    if given is None:
        return xs, ys, None
    frame, source = given
    named = source if source.startswith("'") else "(given in Python)"
    if categories:
        frame = coded(frame, categories, f"the validation data {named}")
    val = held_out.rows(
        frame,
        f"the validation data {named}",
        kind,
        x_cols,
        config.y,
        dtype,
        config.drop_missing,
        categories,
    )
    return xs, ys, val._replace(source=config.validation_data or "Python data")


def _row_numbers(
    xs: np.ndarray, x_cols: list[str], y: str, coded_from: dict[str, str] | None = None
) -> list[str]:
    """A notice for each x column, taken by default, that counts the rows (0, 1,
    2, ... or 1, 2, 3, ...): an index or an id, most likely, which a fit would take
    for a predictor. ``coded_from``: a categorical column's 0/1 columns' source,
    the name the --x it suggests gives."""
    out = []
    n = len(xs)
    for j, name in enumerate(x_cols):
        column = xs[:, j]
        if n > 2 and column[0] in (0, 1) and np.all(np.diff(column) == 1):
            rest = x_flags(
                list(
                    dict.fromkeys(
                        (coded_from or {}).get(c, c) for c in x_cols if c != name
                    )
                )
            )
            out.append(
                f"column {name} counts the rows ({int(column[0])}, "
                f"{int(column[0]) + 1}, {int(column[0]) + 2}, ...): if it is an id "
                f"or an index, name the x columns ({rest}) to leave it out (x is "
                f"every column but {y} unless told)"
            )
    return out


def dropped_notice(dropped: int) -> str:
    """What a run says of the rows --drop-missing left out."""
    return (
        f"dropped {dropped} row{'s' if dropped != 1 else ''} with missing or "
        "infinite values"
    )


def _frameworks_mixed(schedule: str, optimizer: str) -> list[str]:
    """A note where one framework's schedule drives the other's optimizer: each
    half runs as its framework computes it, a pairing neither framework runs."""
    owner = {"torch": "PyTorch's", "keras": "Keras's", "tf_keras": "Keras's"}
    of_schedule = owner.get(schedule.split(".")[0])
    of_optimizer = owner.get(optimizer.split(".")[0])
    if of_schedule is None or of_optimizer is None or of_schedule == of_optimizer:
        return []
    return [
        f"{schedule} is {of_schedule} schedule and {optimizer} {of_optimizer} "
        "optimizer: each runs as its framework computes it, a pairing neither "
        "framework runs (for one framework's numbers, take a schedule of its "
        "optimizer's framework)"
    ]


#: The presets named after a framework (their names' prefixes), whose users
#: compare its numbers, and what draws that framework's batches
FRAMEWORKS = {
    "torch": "PyTorch's DataLoader",
    "keras": "Keras's fit",
    "tf_keras": "Keras's fit",
}


def _log_factorials(ys: Any, reduction: str) -> list[str]:
    """A Poisson loss's log y!, which the frameworks' own Poisson losses leave
    out: a notice of how much more than theirs the loss is (none for a stream's
    chunks, not read here)."""
    from scipy.special import gammaln

    if not isinstance(ys, np.ndarray) or not len(ys):
        return []
    logs = gammaln(np.asarray(ys, np.float64) + 1)
    amount = float(np.mean(logs) if reduction == "mean" else np.sum(logs))
    if amount == 0:  # counts of 0 and 1 only
        return []
    return [
        "the loss is the Poisson negative log-likelihood in full, "
        f"{LOG_FACTORIALS_KEPT} "
        f"({'its mean' if reduction == 'mean' else 'its sum'} over the rows: "
        f"{amount:.7g}); Keras's poisson loss and PyTorch's PoissonNLLLoss leave it "
        "out, so they log that much less (explain shows their numbers)"
    ]


def check_first_loss(p: Plan, value: float) -> None:
    """Refuse a run whose loss at the starting parameters is not a number."""
    if not math.isfinite(value):
        start_at = ", ".join(
            f"{k}={np.asarray(v).tolist()}" for k, v in p.trainable.items()
        )
        if not isinstance(p.loss, str):  # a loss of the user's own
            why = (
                "your loss gives some rows no number there (a log or a square root "
                "of a value below 0, a division by 0?): check it, or start "
                "elsewhere with --init."
            )
        elif p.loss == "nll":
            why = (
                "the model gives some rows no likelihood or no number there; "
                "start elsewhere with --init."
            )
        else:
            why = (
                "the model predicts no finite number for some rows there (a log "
                "or a square root of a value at or below 0, a division by 0?): "
                "check the model, or start elsewhere with --init."
            )
        raise InputError(
            f"the loss at the starting parameters ({start_at}) is {value}"
            f"{_first_bad_row(p)}: {why}"
        )


def _first_bad_row(p: Plan) -> str:
    """Where a loss that is not a number comes from: the first row whose own loss
    is not finite at the start, by its place and values (", data row 3 (x=0.2,
    y=0) gives nan first"); empty where the rows are not in memory or each is
    finite (their sum overflowed)."""
    losses = row_losses_at(p, {**p.trainable, **p.fixed})
    if losses is None:
        return ""
    told = told_row(p, losses)
    return f"; {told}" if told else ""


def _names_monitor(given: Any) -> bool:
    """Whether a schedule as the user gave it (text or a mapping) names what it
    watches."""
    if isinstance(given, str):
        return "monitor" in given
    return isinstance(given, dict) and "monitor" in given


def _piecewise_rate(
    spec: OptimizerSpec, schedule: LrSchedule, config: RunConfig
) -> OptimizerSpec:
    """The optimizer at the first of keras.piecewise's values, which are the rates
    themselves (Keras's PiecewiseConstantDecay takes no initial rate): a rate
    given as well must be that one."""
    first = float(schedule.params["values"][0])
    key = PRESETS[spec.name].lr_key
    given = config.lr if config.lr is not None else (config.opt or {}).get(key)
    if given is None:
        return OptimizerSpec.create(spec.name, **{**spec.hyper, key: first})
    if spec.learning_rate != first:
        raise InputError(
            f"keras.piecewise gives the rates itself, {first:g} first (its values); "
            f"the run's rate is {spec.learning_rate:g}: leave --lr out, or give "
            f"--lr {first:g}."
        )
    return spec


def check_devices(value: Any) -> int:
    """A checked ``--devices``: at most the devices JAX sees."""
    n = validate.positive_int("--devices", value, "--devices")
    visible = jax.devices()
    if n > len(visible):
        kind = visible[0].platform
        raise InputError(
            f"--devices {n}: JAX sees {len(visible)} {kind} device"
            f"{'s' if len(visible) != 1 else ''}: give at most {len(visible)} "
            "(on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N makes N)."
        )
    return n


def plan_code_error(p: Plan, err: BaseException) -> str:
    """One line on a failure inside the user's model or loss, with its place."""
    names = [s.name for s in p.specs]
    if isinstance(p.m, CustomFamily):
        what = f"distribution {p.m.name!r}"
        return validate.user_code_error(what, validate.LOG_PROB_SHAPE, err, names)
    if not isinstance(p.m, Custom):
        return validate.user_code_error("the custom loss", validate.LOSS_SHAPE, err)
    what, hint = f"model {p.m.name!r}", validate.MODEL_SHAPE
    if not isinstance(p.loss, str):
        what += " or the custom loss"
        hint += f"; {validate.LOSS_SHAPE}"
    return validate.user_code_error(what, hint, err, names)


def plan_reference(p: Plan, notices: list[str] | None = None) -> dict[str, Any]:
    """The optimum, standard errors and diagnosis of a planned run (its notices get
    what could not be computed, or ``notices`` when given)."""
    return reference_compute(
        p.m,
        p.loss,
        p.reduction,
        p.names,
        p.spec,
        p.schedule,
        p.trainable,
        p.fixed,
        p.xs,
        p.ys,
        p.notices if notices is None else notices,
        p.problem.constraints if p.problem.unconstrained else (),
        stderr=p.stderr or True,
        intervals=p.intervals,
        compute_dtype=p.problem.compute_dtype,
        level=p.level,
    )


def reference(
    config: RunConfig,
    frame: pd.DataFrame,
    source: str,
    model_obj: Any = None,
    loss_obj: Any = None,
) -> dict[str, Any]:
    """The optimum, standard errors and learning-rate diagnosis of a configuration,
    before (and without) training: what ``gradtrace diagnose`` prints."""
    p = plan(config, frame, source, model_obj, loss_obj, record=False)
    out = plan_reference(p)
    out["notices"], out["x"] = p.notices, p.x_cols
    if getattr(p.m, "offset", False):  # the last x column, added as it is
        out["data"] = {"offset": True}
    return out


def _chunk_steps(schedule: loop.Schedule) -> int:
    """Steps per compiled call: ``GRADTRACE_CHUNK_STEPS`` if set, else
    ``loop.default_chunk_steps`` (progress, and Ctrl-C, between calls)."""
    n_steps = schedule.n_steps
    raw = os.environ.get("GRADTRACE_CHUNK_STEPS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise InputError(
                f"GRADTRACE_CHUNK_STEPS must be a positive integer, got {raw!r}."
            )
        return loop.torch_calls(schedule, min(int(raw), n_steps))
    return loop.torch_calls(schedule, loop.default_chunk_steps(schedule))


def values_sha256(xs: Any, ys: Any) -> str:
    """A checksum of the values a run trains on (x then y, as the run holds them),
    which ``resume`` compares with the data it is given again."""
    digest = hashlib.sha256()
    for a in (xs, ys):
        if a is not None:
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(a.data)
    return digest.hexdigest()


def run_reference(config: RunConfig, p: Plan) -> dict[str, Any]:
    """The exact answer of a planned run, if its configuration asks for it."""
    return plan_reference(p) if config.exact else {}
