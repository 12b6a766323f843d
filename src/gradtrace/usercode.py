"""The user's own code and the models of saved runs: a model from a Python file
(``--model-file path.py:name``), and a run's model and loss rebuilt from its
run.json for the views (plots, explain, report)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gradtrace.core.catalog import MODELS, Model, make_model
from gradtrace.core.custom import Model as custom_model
from gradtrace.core.custom import expression_loss, expression_model
from gradtrace.core.distributions import CustomFamily
from gradtrace.core.losses import LOSSES, LossLike, huber
from gradtrace.core.models import Custom
from gradtrace.errors import InputError
from gradtrace.text import close_name


def load_model_file(spec: str) -> Any:
    """The model named by ``path.py:name``: a ``gradtrace.Model`` (or a
    ``gradtrace.Distribution``) defined there, or a
    function ``name(x, a=1.0, b=0.5, ...)`` whose keyword defaults are its parameters
    (the file is the user's own code, imported as Python)."""
    import importlib.util
    import inspect

    path_text, sep, name = str(spec).rpartition(":")
    if not sep or not path_text or not name:
        raise InputError(
            f"--model-file {spec!r}: write it as path.py:name, such as models.py:decay."
        )
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"--model-file: {path} does not exist: check the path.")
    module_spec = importlib.util.spec_from_file_location(
        f"_gradtrace_{path.stem}", path
    )
    if module_spec is None or module_spec.loader is None:
        raise InputError(f"--model-file: {path} is not a Python file.")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:  # the user's code: report whatever it raised
        raise InputError(_import_failed(path, err)) from None
    if not hasattr(module, name):
        # what the file itself defines that could be a model: its gradtrace.Model
        # and Distribution objects, and its own functions (not those it imports)
        found = [
            n
            for n, v in vars(module).items()
            if n[0] != "_"
            and (
                isinstance(v, (Custom, CustomFamily))
                or (inspect.isfunction(v) and v.__module__ == module.__name__)
            )
        ]
        close = close_name(name, found)
        raise InputError(
            f"--model-file: {path} has no {name!r}"
            + (f": did you mean {path_text}:{close}?" if close else "")
            + (f" (it defines {', '.join(found)})" if found else "")
            + "."
        )
    obj = getattr(module, name)
    if isinstance(obj, (Custom, CustomFamily)):  # gradtrace.Model, Distribution
        # named as the file names it, unless it was given a name of its own
        called = name if obj.name == "custom" else obj.name
        return dataclasses.replace(
            obj, name=called, source={"file": f"{path.resolve()}:{name}"}
        )
    if not callable(obj):
        raise InputError(f"--model-file: {name!r} in {path} is not a function.")
    params = list(inspect.signature(obj).parameters.values())
    defaults = {p.name: p.default for p in params[1:]}
    missing = [k for k, v in defaults.items() if v is inspect.Parameter.empty]
    if not params or missing or not defaults:
        raise InputError(
            f"--model-file: write {name} as {name}(x, a=1.0, b=0.5, ...): x first, "
            "then each parameter with a number as its default start."
        )
    try:
        # its own parameters alone: nll adds a noise scale the function never takes
        names = tuple(defaults)
        model = custom_model(
            lambda p, x: obj(x, **{k: p[k] for k in names}), defaults, name=name
        )
    except (TypeError, ValueError) as err:
        raise InputError(f"--model-file {name}: {err}") from None
    return dataclasses.replace(model, source={"file": f"{path.resolve()}:{name}"})


def _import_failed(path: Path, err: Exception) -> str:
    """One line on a model file that failed to import: the error, its line in the
    file, and to fix it there."""
    import traceback

    line = None
    text = err.msg if isinstance(err, SyntaxError) else str(err)
    if isinstance(err, SyntaxError) and err.filename:
        if Path(err.filename).resolve() == path.resolve():
            line = err.lineno
        else:  # in a module the file imports: name it
            text = f"{text} (in {Path(err.filename).name} line {err.lineno})"
    if line is None:
        for frame in reversed(traceback.extract_tb(err.__traceback__)):
            if Path(frame.filename).resolve() == path.resolve():
                line = frame.lineno
                break
    where = f" at line {line}" if line else ""
    text = text.strip().splitlines()[0] if text.strip() else ""
    return (
        f"--model-file: importing {path} failed{where} with "
        f"{type(err).__name__}: {text[:300]}: fix the file there, then run the "
        "command again."
    )


def model_of(info: dict[str, Any], model: Any = None) -> Model:
    """The model of a run: ``model`` when the trace still holds it, else rebuilt
    from run.json."""
    if model is not None:
        return model  # type: ignore[no-any-return]
    name = info["model"]
    options = dict(info.get("model_options") or {})
    # an offset's column is the last of the run's x, no slope's
    n_features = max(len(info["data"]["x"]) - int(bool(options.get("offset"))), 1)
    if "expr" in options:
        return expression_model(options["expr"], options["x"])
    if "file" in options:
        loaded = load_model_file(options["file"])
        if isinstance(loaded, Custom):  # x as the run gave it: [n, k] for k columns
            return dataclasses.replace(loaded, n_features=n_features)
        return loaded
    if name in MODELS:
        if "center" in options:
            options["center"] = tuple(options["center"])
            options["spread"] = tuple(options["spread"])
        return make_model(name, n_features, **options)
    raise InputError(
        f"this run's model {name!r} was defined in Python: give it again, "
        "gradtrace.load(RUN, model=...), or use the Trace that gradtrace.fit "
        "returned."
    )


def loss_of(info: dict[str, Any], loss: Any = None) -> LossLike:
    """The loss of a run, rebuilt from run.json when not given."""
    if loss is not None:
        return loss  # type: ignore[no-any-return]
    name = info["loss"]
    options = info.get("loss_options") or {}
    if "expr" in options:
        return expression_loss(options["expr"])
    if name == "huber" and "delta" in options:
        return huber(float(options["delta"]))
    if name in LOSSES:
        return str(name)
    raise InputError(
        f"this run's loss {name!r} was defined in Python: give it again, "
        "gradtrace.load(RUN, loss=...), or use the Trace that gradtrace.fit "
        "returned."
    )
