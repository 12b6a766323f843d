"""``gradtrace.diagnose``: before (and without) training, the exact optimum, its
standard errors, and what the loss's curvature says of a learning rate: what
``gradtrace diagnose`` prints."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gradtrace import held_out
from gradtrace.advice import on_edge, separated, unresolved_sentence
from gradtrace.errors import InputError
from gradtrace.planning import reference
from gradtrace.run_config import RunConfig, model_and_loss, python_names
from gradtrace.sources import DataLike, frame_of, source_name
from gradtrace.tables import separating_columns


@dataclass(frozen=True)
class Diagnosis:
    """What ``diagnose`` found: ``info`` holds it as ``run.json`` would (``optimum``,
    ``stderr``, ``optimum_loss``, ``optimum_method``, ``diagnosis``, ``notices``);
    the properties name its parts, ``str()`` is the text the command prints."""

    info: dict[str, Any]
    config: RunConfig

    @property
    def optimum(self) -> dict[str, Any]:
        """The exact optimum (empty where there is none: classes separated)."""
        return dict(self.info.get("optimum") or {})

    @property
    def stderr(self) -> dict[str, Any]:
        """The optimum's standard errors."""
        return dict(self.info.get("stderr") or {})

    @property
    def optimum_loss(self) -> float | None:
        return self.info.get("optimum_loss")

    @property
    def _diagnosis(self) -> dict[str, Any]:
        return dict(self.info.get("diagnosis") or {})

    @property
    def stable_lr(self) -> float | None:
        """The largest learning rate whose steps settle at the optimum (2/L for
        plain gradient descent); None for adaptive optimizers' or without one."""
        value = self._diagnosis.get("stable_lr")
        return None if value is None or not math.isfinite(value) else float(value)

    @property
    def suggested_lr(self) -> float | None:
        """Half the stable limit, rounded down (None where there is none: an
        adaptive optimizer's steps do not scale with the curvature)."""
        value = self._diagnosis.get("suggested_lr")
        return None if value is None or not math.isfinite(value) else float(value)

    @property
    def verdict(self) -> str | None:
        """``ok``, ``crawls``, ``diverges`` or ``adaptive``: of the rate given."""
        return self._diagnosis.get("verdict")

    @property
    def predicted_steps(self) -> int | None:
        """Steps until every parameter is within 1e-4 of the optimum (plain
        gradient descent)."""
        return self._diagnosis.get("predicted_steps")

    @property
    def condition(self) -> float | None:
        """The Hessian's condition number at the optimum."""
        return self._diagnosis.get("condition")

    @property
    def notes(self) -> list[str]:
        """What was noted of the data and settings (as a run's notes)."""
        from gradtrace.text import for_python

        return [for_python(n) + "." for n in self.info.get("notices", [])]

    def lines(self) -> list[str]:
        """The text ``gradtrace diagnose`` prints, a line each."""
        if self.info.get("separated"):  # no optimum to diagnose a rate against
            return [
                separated(
                    separating_columns(self.info),
                    self.info.get("on_cut", 0),
                    self.info["separated"],
                )
            ]
        from types import SimpleNamespace

        from gradtrace.tables import param_labels

        shown = []
        for k, v in self.optimum.items():
            se = self.stderr.get(k, math.nan)
            if isinstance(v, (list, tuple, np.ndarray)):
                # slopes by their x columns, as the summary names them
                # (w[sqft]=121.6 ± 2, not w=[121.6] ± [2])
                cols = [f"{k}[{i}]" for i in range(np.size(v))]
                model = self.config.model
                named = SimpleNamespace(
                    info={
                        "data": {"x": self.info.get("x") or []},
                        "model": model if isinstance(model, str) else "custom",
                    }
                )
                labels = param_labels(named, cols)
                if any(labels[col] != col for col in cols):
                    errors = np.broadcast_to(np.asarray(se, float), np.shape(cols))
                    for col, value, e in zip(cols, np.ravel(v), errors, strict=True):
                        error = f" ± {_fmt(e, 2)}" if np.isfinite(e) else ""
                        shown.append(f"{labels[col]}={_fmt(value)}{error}")
                    continue
            error = ""
            if np.all(np.isfinite(np.asarray(se, float))):
                error = f" ± {_fmt(se, 2)}"
            shown.append(f"{k}={_fmt(v)}{error}")
        head = (
            f"optimum ({self.info['optimum_method']}): {', '.join(shown)}; "
            f"loss {_fmt(self.optimum_loss)}"
        )
        if "diagnosis" not in self.info:  # an optimum on the edge: no curvature
            return [head] + [
                on_edge(name, self.optimum[name], kind)
                for name, kind in self.info.get("optimum_edge", {}).items()
            ]
        found = [head, *self._diagnosis.get("findings", [])]
        if self.predicted_steps is not None:
            c = self.config
            coarse = unresolved_sentence(
                self.optimum,
                float(self._diagnosis.get("tol", 1e-4)),
                (c.dtype, c.compute_dtype or c.dtype),
                "",
            )
            if coarse is not None:
                found.append(f"The count is exact arithmetic's: {coarse}.")
        return found

    def __str__(self) -> str:
        return "\n".join(self._said())

    def _said(self) -> list[str]:
        """``lines`` as Python takes the options they name (standardize=True, not
        --standardize)."""
        from gradtrace.text import for_python

        return [for_python(line) for line in self.lines()]

    def to_pandas(self) -> pd.DataFrame:
        """The optimum in a table, one row per parameter (one per element of a vector,
        ``w[0]``): ``optimum``, ``std_error`` and the interval (``ci_low``, ``ci_high``;
        95% unless ``level`` chose another), as a run's ``summary()`` gives them.
        ``.attrs``: ``level`` (the intervals'), ``optimum_loss``, ``optimum_method``,
        ``stable_lr``, ``suggested_lr``, ``verdict``, ``predicted_steps``, ``condition``
        and ``findings`` (the command's sentences)."""
        from gradtrace.estimates import intervals_of, level_of

        ci = intervals_of(self.info)
        rows: dict[str, dict[str, float]] = {}
        for name, value in self.optimum.items():
            columns = {
                "optimum": value,
                "std_error": self.stderr.get(name),
                "ci_low": (ci.get(name) or [None, None])[0],
                "ci_high": (ci.get(name) or [None, None])[1],
            }
            vector = np.ndim(value) > 0
            for column, values in columns.items():
                flat = np.ravel(np.asarray(np.nan if values is None else values, float))
                for i, v in enumerate(np.broadcast_to(flat, np.shape(np.ravel(value)))):
                    label = f"{name}[{i}]" if vector else name
                    rows.setdefault(label, {})[column] = float(v)
        table = pd.DataFrame.from_dict(
            rows, orient="index", columns=["optimum", "std_error", "ci_low", "ci_high"]
        )
        table.index.name = "parameter"
        table.attrs = {
            "level": level_of(self.info),
            "optimum_loss": self.optimum_loss,
            "optimum_method": self.info.get("optimum_method"),
            "stable_lr": self.stable_lr,
            "suggested_lr": self.suggested_lr,
            "verdict": self.verdict,
            "predicted_steps": self.predicted_steps,
            "condition": self.condition,
            "findings": self._said()[1:],
        }
        return table

    def _repr_html_(self) -> str:
        """In Jupyter: the diagnosis in a line, the optimum's table and the
        command's sentences."""
        from html import escape

        table = self.to_pandas()
        head = f"<p><code>{escape(repr(self))}</code></p>"
        sentences = "".join(f"<li>{escape(line)}</li>" for line in self._said()[1:])
        shown = table.to_html(float_format=lambda v: f"{v:.6g}", na_rep="")
        return head + shown + (f"<ul>{sentences}</ul>" if sentences else "")

    def __repr__(self) -> str:
        c = self.config
        what = f"{self.info.get('model', c.model)} {c.optimizer}"
        if self.info.get("separated"):
            apart = {
                "zeros": "counts of 0 set apart",
                "all 0": "one class",
                "all 1": "one class",
                "counts all 0": "every count 0",
            }.get(self.info["separated"], "classes separated")
            return f"<Diagnosis {what}: {apart}, no optimum>"
        parts = [str(self.verdict or "no curvature at an optimum on an edge")]
        if self.stable_lr is not None:
            parts.append(f"stable limit {self.stable_lr:.4g}")
        if self.suggested_lr is not None:
            parts.append(f"suggested lr {self.suggested_lr:.4g}")
        if self.predicted_steps is not None:
            parts.append(f"{self.predicted_steps} steps to within 1e-4")
        return f"<Diagnosis {what}: {'; '.join(parts)}>"


def _fmt(value: Any, digits: int = 7) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(v, digits) for v in np.ravel(value)) + "]"
    return "" if value is None else f"{float(value):.{digits}g}"


@python_names
def diagnose(
    data: DataLike, model: Any = None, loss: Any = None, **fit_options: Any
) -> Diagnosis:
    """Before training: the exact optimum and its standard errors, the loss's
    curvature at the start and at the optimum, the largest stable learning rate
    (2/L for gradient descent), the condition number, the steps predicted to come
    within 1e-4 of the optimum, and a verdict on the rate given.

    Args:
        data, model, loss: as for ``fit``.
        **fit_options: the rest of ``fit``'s options (optimizer, lr, opt,
            batch_size, init, fix, reduction, dtype, x, y, stream, ...); those of a
            run's length or records (epochs, steps, seed) change nothing here.

    Raises:
        InputError: for bad input, or where no exact optimum can be found.

    Examples:
        >>> import gradtrace
        >>> found = gradtrace.diagnose("seed001_line", lr=0.1)
        >>> found.verdict, round(found.stable_lr, 3), found.suggested_lr
        ('ok', 0.78, 0.39)
    """
    held_out.refuse("the diagnosis", fit_options)
    model_obj, loss_obj, name, loss_name = model_and_loss(model, loss, fit_options)
    config = RunConfig(
        data=source_name(data), model=name, loss=loss_name, **fit_options
    )
    return diagnosis_of(config, data, model_obj, loss_obj)


def diagnosis_of(
    config: RunConfig, data: DataLike, model_obj: Any = None, loss_obj: Any = None
) -> Diagnosis:
    """``diagnose`` of a configuration (the command's, read from its flags): its
    data in memory or, with ``stream``, read a chunk at a time."""
    if config.stream:
        if model_obj is not None or loss_obj is not None:
            raise InputError(
                "stream=True takes a model and a loss by name, expression or "
                "model_file; give those instead of Python objects."
            )
        from gradtrace import streaming

        found = streaming.reference(config)
    else:
        frame, source = frame_of(data)
        found = reference(config, frame, source, model_obj, loss_obj)
    if "optimum" not in found and not found.get("separated"):
        notices = list(found.get("notices") or [])
        if found.get("unidentified"):
            notices.insert(0, f"{NO_OPTIMUM}{found['unidentified']})")
        raise InputError(_no_optimum(notices))
    return Diagnosis(found, config)


#: How the reference notes a solver's failure: "no exact optimum (why)".
NO_OPTIMUM = "no exact optimum ("


def _no_optimum(notices: list[str]) -> str:
    """The error of a diagnosis with no optimum, which keeps what the notes said:
    why the solver found none, then the others (rows dropped, say)."""
    why = [n[len(NO_OPTIMUM) : -1] for n in notices if n.startswith(NO_OPTIMUM)]
    others = [n for n in notices if not n.startswith(NO_OPTIMUM)]
    message = "no exact optimum could be found for this problem"
    message += f": {'; '.join(why)}." if why else "."
    if others:
        message += " Noted: " + " ".join(f"{n}." for n in others)
    return message
