"""Runs read back: ``load``, and the checks and configurations that ``resume``,
``rerun`` and ``longer`` take from a saved run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, NamedTuple

from gradtrace import store, validate
from gradtrace.core import schedules
from gradtrace.core.losses import loss_name
from gradtrace.data import DATASETS, file_sha256
from gradtrace.errors import COMMAND_LINE, InputError
from gradtrace.planning import Plan, plan
from gradtrace.run_config import RunConfig, python_names
from gradtrace.sources import (
    DataLike,
    frame_of,
)
from gradtrace.store import (
    load_run,
)
from gradtrace.text import full_batch
from gradtrace.trace import Trace


def check_resumed_values(info: dict[str, Any], p: Plan) -> None:
    """Refuse data other than the run's: the values it trained on (after dropped
    rows), by their checksum, or by their count for a run without one."""
    recorded, n = info["data"].get("values_sha256"), info["data"]["n_rows"]
    if recorded is None and p.n_rows != n:
        raise InputError(
            f"the data have {p.n_rows} rows, the run had {n}: give the run's own data."
        )
    if recorded is not None and p.values != recorded:
        raise InputError(
            "these data differ from the run's (the values it trained on do not "
            "match run.json's checksum): give the run's own data."
        )


def check_resumed_objects(
    info: dict[str, Any], model: Any, loss: Any, call: str = "gradtrace.resume"
) -> None:
    """``model`` and ``loss`` are the objects of a run that was given its own, the
    same by name; a run that was given its own needs them again (in ``call``)."""
    own = info.get("own_objects", [])
    for what, given in (("model", model), ("loss", loss)):
        name = info[what]
        if given is None:
            if what in own:
                raise InputError(
                    f"this run was given a {what} of your own ({name!r}): give it "
                    f"again, {call}(RUN, {what}=...) in Python."
                )
            continue
        if isinstance(given, str) or what not in own:
            raise InputError(
                f"{what}= takes the {what} object of a run that was given one of "
                f"your own; this run's {what} is {name!r} and is read from "
                f"run.json: drop {what}=."
            )
        mine = getattr(given, "name", "custom") if what == "model" else loss_name(given)
        if mine != name:
            raise InputError(
                f"the run's {what} was {name!r}, this one is {mine!r}: give the "
                f"run's own {what}."
            )


@python_names
def load(
    folder: str | Path,
    thin: bool = False,
    data: DataLike | None = None,
    model: Any = None,
    loss: Any = None,
) -> Trace:
    """Read a run folder that ``Trace.save`` or ``gradtrace fit`` wrote. ``thin``:
    of a long run written in parts, only every k-th step (``info["trace"]
    ["kept_every"]``), its first steps (``kept_head``), the epochs' last batches
    and the last step, as the run itself kept them in memory.

    A run fitted to data given in Python (a DataFrame, arrays) keeps no copy of
    them: give them again as ``data`` for ``explain``, ``plot`` and ``report``, and
    a model or loss of your own as ``model`` and ``loss``. Data whose values
    differ from those the run trained on (run.json's ``values_sha256``) are
    refused, as ``resume`` refuses them.

    ``folder`` may also be a name that ``gradtrace ls`` lists (a folder in runs),
    or ``"latest"``: the run made last there."""
    folder = store.find_run(folder)
    frame, info = load_run(folder, thin)
    if info.get("status") == "running" and not store.being_written(Path(folder)):
        # its writer may have finished between the reading and the asking: read
        # what it left, once more
        frame, info = load_run(folder, thin)
    trace = Trace(frame, info)
    trace.folder = Path(folder)
    if info.get("status") == "running":  # a checkpoint: going on, or killed?
        trace.writing = store.being_written(Path(folder))
    if data is None and model is None and loss is None:
        return trace
    check_resumed_objects(info, model, loss, "gradtrace.load")
    if info["config"].get("stream") and data is not None:
        _streamed_from(info, data)
        return trace
    config = RunConfig(**info["config"])
    given, source = frame_of(data if data is not None else _data_source(info))
    try:
        p = plan(config, given, source, model, loss, for_views=True)
    except InputError as err:
        said = own_columns(info, str(err))
        said = said or str(err).rstrip(".")
        raise InputError(f"these data do not fit the run: {said}") from None
    check_resumed_values(info, p)
    trace._data = (p.xs, p.ys)
    trace.model, trace.loss = p.m, p.loss
    # rows are named by their place in these data (the same values, but maybe
    # not the same rows dropped)
    info["data"]["dropped_at"] = list(p.dropped_at)
    info["data"]["dropped_rows"] = p.dropped
    return trace


def own_columns(info: dict[str, Any], said: str) -> str | None:
    """A plan's refusal of data given again for a saved run (``info``) that
    ends in what would choose other columns ("pass --y with one of them"), no
    option of a run's views or of ``resume``, with the run's own columns named
    in its place; None for any other refusal."""
    from gradtrace.categories import sources

    kept = re.sub(r"[:;,] pass (the target, )?--[xy] [^:;]*\.?$", "", said)
    kept = kept.rstrip(".")
    if kept == said.rstrip("."):
        return None
    data_info = info.get("data") or {}
    # a categorical column by its own name, not its 0/1 columns'
    x = sources(data_info.get("x") or [], data_info.get("categories") or {})
    named = ", ".join(map(repr, [*dict.fromkeys(x), data_info.get("y")]))
    return f"{kept}: give the run's own data, whose columns it names ({named})."


def _streamed_from(info: dict[str, Any], data: Any) -> None:
    """A streamed run's views read its Parquet file again by themselves: a file
    given again (it moved) is the one they read, where it is the run's own (its
    SHA-256); other data are refused."""
    again = "--data" if COMMAND_LINE.get() else "data="
    path = Path(data) if isinstance(data, (str, Path)) else None
    if path is None or not path.is_file():
        raise InputError(
            f"a streamed run reads its Parquet file again by itself: give {again} "
            "the file's path where it has moved, or nothing where it has not."
        )
    if info["data"].get("sha256") not in (None, file_sha256(path)):
        raise _not_the_runs(path)
    info["config"]["data"] = str(path)
    info["data"]["path"] = str(path.resolve())


def _not_the_runs(path: Path) -> InputError:
    """The refusal of a data file given again that is not the run's own."""
    return InputError(
        f"{str(path)!r} is not the file the run read (its SHA-256 differs from the "
        "one run.json records): give the run's own file, or fit these data as a "
        "new run."
    )


def _data_source(info: dict[str, Any]) -> str:
    """Where a saved run read its data: a built-in set's name, or its file, checked
    (``rerun_config``)."""
    if info["config"]["data"] in DATASETS:
        return str(info["config"]["data"])
    return str(rerun_config(info).data)


def rerun_config(
    info: dict[str, Any], validation_given: bool = False, data_given: bool = False
) -> RunConfig:
    """The configuration of a saved run, with its data file found and checked
    (and its validation data's, unless given again: ``validation_given``).
    ``data_given``: the file was given again (resume --data): a run that keeps
    its values' checksum checks those instead (the same values saved otherwise
    are its data), and a streamed one names the file as not its own."""
    config = RunConfig(**info["config"])
    if not validation_given:
        check_validation_file(info, config)
    source = config.data
    # a sentence for one of the two: Python's message would turn --data FILE
    # into data=... as well
    again = "(--data FILE)" if COMMAND_LINE.get() else "(data=...)"
    if source is None or source == "-":
        where = "standard input" if source == "-" else "Python"
        raise InputError(
            f"this run read its data from {where}: give them again {again}."
        )
    if source in DATASETS:
        return config
    recorded = info["data"].get("path")
    path = Path(source) if Path(source).is_file() else Path(recorded or source)
    if not path.is_file():
        raise InputError(
            f"the run's data file {source!r} is gone (it was at {recorded!r}): "
            f"put it back, or give it again {again}."
        )
    if data_given and info["data"].get("values_sha256"):
        config.data = str(path)
        return config  # its values are checked as they are read
    digest = file_sha256(path)
    if data_given and info["data"].get("sha256") not in (None, digest):
        raise _not_the_runs(path)
    if info["data"].get("sha256") not in (None, digest):
        raise InputError(
            f"the data file {str(path)!r} changed since the run (its SHA-256 "
            "differs): put the original back, or fit the new data as a new run."
        )
    config.data = str(path)
    return config


def check_validation_file(info: dict[str, Any], config: RunConfig) -> None:
    """A saved run's validation data can be read again: a file unchanged since
    the run, not data given in Python (``config``'s path set to where the file
    is found)."""
    held = info["data"].get("validation") or {}
    if held.get("source") == "Python data":
        raise InputError(
            "this run's validation data were given in Python, which no file holds "
            "to read again: fit anew with validation_data=... (an unfinished run "
            "goes on with gradtrace.resume(RUN, validation_data=...))."
        )
    path = config.validation_data
    if path is None or path in DATASETS:
        return
    recorded = held.get("path")
    where = Path(path) if Path(path).is_file() else Path(recorded or path)
    if not where.is_file():
        raise InputError(
            f"the run's validation data file {path!r} is gone (it was at "
            f"{recorded!r}): put it back, or fit anew with --validation-data FILE."
        )
    if held.get("sha256") not in (None, file_sha256(where)):
        raise InputError(
            f"the validation data file {str(where)!r} changed since the run (its "
            "SHA-256 differs): put the original back, or fit anew."
        )
    config.validation_data = str(where)


def rerun_rows(info: dict[str, Any]) -> int | None:
    """The rows of a saved run's trace that its rerun must repeat exactly: all of
    them (None) for a finished run; for one that stopped, its steps so far, and
    the row after its last step too unless every step saw all the data (a
    full-batch step's loss over all the data is the next step's batch loss; after
    the last step of a run that stopped it was evaluated on its own and may round
    apart)."""
    if info["status"] not in ("interrupted", "running"):
        return None
    return max(1, int(info["steps"]) + (0 if full_batch(info) else 1))


class Longer(NamedTuple):
    """A saved run's configuration run for another length (``longer``), and the
    rows the two traces share: the first ``rows`` rows of the trace of
    ``"old"`` or ``"new"`` (``prefix_of``, the shorter) are the other's first;
    ``then_step``: and the next row's step is the other's, all but its values over
    all the data (the shorter run's last row, whose loss is taken on its own)."""

    config: RunConfig
    prefix_of: str
    rows: int | None
    then_step: bool = False


def longer(
    info: dict[str, Any],
    config: RunConfig,
    epochs: int | None = None,
    steps: int | None = None,
) -> Longer:
    """``config`` (a saved run's, ``info`` its run.json) to run ``epochs`` epochs or
    ``steps`` steps instead: the same run made longer or shorter. Each step the two
    runs both take is the same step (the same seed, batches, rates and optimizer
    state), so the longer run is the shorter one carried on, its optimizer's state
    with it, as a second ``fit`` call in Keras goes on. The loss over all the data
    keeps the run's cadence (its ``eval_every``, which by default grows with the
    steps), and is compared where both traces have it: a run's last row has it
    evaluated on its own (a full-batch run's, and a mini-batch run's off that
    cadence), so that row's step is compared without it (and without its
    validation loss, taken on its own where the run ends mid-epoch)."""
    if (epochs is None) == (steps is None):
        raise InputError("give --epochs or --steps (one of them), not both.")
    schedule = info["schedule"]
    if epochs is not None:
        epochs = validate.positive_int("--epochs", epochs, "--epochs")
        n_steps = epochs * int(schedule["batches_per_epoch"])
    else:
        n_steps = steps = validate.positive_int("--steps", steps, "--steps")
    per_epoch = int(schedule["batches_per_epoch"])
    sched = validate.lr_schedule(config.lr_schedule)
    if sched is not None and not sched.same_rates(
        sched.scheduler_steps(int(schedule["n_steps"]), per_epoch),
        sched.scheduler_steps(n_steps, per_epoch),
    ):
        if sched.name == "torch.onecycle" and not sched.params["total_steps"]:
            raise InputError(
                "the run's torch.onecycle spans its own steps (total_steps=0), so "
                "at another length every rate differs: fit the new length anew "
                "with gradtrace fit, or give total_steps from the start."
            )
        raise InputError(
            "the run's PyTorch schedule takes its rates by PyTorch's recursion up "
            f"to {schedules.TABLE_EPOCHS} epochs and from tables in double "
            "precision beyond (within two ulps), so runs on either side of it "
            "differ in their rates' last bits: fit the new length anew with "
            "gradtrace fit."
        )
    config = dataclasses.replace(config, epochs=epochs, steps=steps)
    if config.eval_every is None:
        config.eval_every = int(schedule["eval_every"])
    recorded, status = int(info["steps"]), info["status"]
    if status == "diverged" and n_steps >= recorded:
        return Longer(config, "old", None)  # diverges again at that step
    if status in ("interrupted", "running") and n_steps >= recorded:
        return Longer(config, "old", rerun_rows(info))
    short, prefix_of = min(recorded, n_steps), "old" if recorded <= n_steps else "new"
    if short == recorded == n_steps:
        return Longer(config, "old", None)
    whole = not full_batch(info) and short % config.eval_every == 0
    if (info["data"].get("validation") or {}) and short % per_epoch:
        # the shorter run's last step, mid-epoch, takes its validation loss on its
        # own too (the longer run's at its epochs' ends only)
        whole = False
    return Longer(config, prefix_of, short + whole, then_step=not whole)
