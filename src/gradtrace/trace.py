"""The result of a run: a table of every step and what ran, with its views."""

from __future__ import annotations

import math
import platform
import re
import shlex
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd

from gradtrace.advice import g
from gradtrace.core.diagnose import READS_RATE_ONCE
from gradtrace.errors import from_callers_line
from gradtrace.text import LOG_FACTORIALS_KEPT, learning_rate


def versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    out = {"python": platform.python_version()}
    for pkg in ("gradtrace", "jax", "jaxlib", "optax", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def device() -> str:
    """What the run's compiled steps ran on: JAX's default device, such as ``cpu``
    or ``gpu (NVIDIA H200)``, with the count of such devices."""
    import jax

    devices = jax.devices()
    first = devices[0]
    kind = f" ({first.device_kind})" if first.platform != "cpu" else ""
    count = f", {len(devices)} devices" if len(devices) > 1 else ""
    return f"{first.platform}{kind}{count}"


#: How many times as far from its optimum as it started the first step must
#: throw a parameter (and a tenth of it the run must end) for the warnings to
#: say the run was thrown, not that it has yet to converge
THROWN = 100.0


#: Epochs below which a schedule suggested for a run steps after each batch: a
#: cosine stepped each epoch over 3 epochs takes 3 steps down
FEW_EPOCHS = 10


class Trace:
    """Every step of a training run, and what ran.

    ``to_pandas()`` gives the step table; ``params`` the final parameters;
    ``info`` everything ``run.json`` holds (configuration, optimizer, timings).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        info: dict[str, Any],
        data: tuple[np.ndarray | None, np.ndarray] | None = None,
        model: Any = None,
        loss: Any = None,
    ) -> None:
        self._frame = frame
        self.info = info
        self._data = data
        #: the validation rows (x, y) of a run made in this session, else None
        self._val: tuple[np.ndarray | None, np.ndarray] | None = None
        #: (row numbers, x, y) of a sample of a streamed run's file that its
        #: pictures drew, read once (``gradtrace.plot.PICTURE_ROWS``)
        self._sample: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None
        #: the model and loss objects of a run made in this session (None when the
        #: trace was loaded from a folder; views rebuild them from ``info``)
        self.model = model
        self.loss = loss
        #: what continues an unfinished run (saved as state.npz), else None
        self.state: dict[str, np.ndarray] | None = None
        #: the run folder that a long run's trace was written into as it went
        #: (``gradtrace.store.TraceWriter``); ``save`` to that folder completes it
        self.writer: Any = None
        #: the run folder a trace was read from (``gradtrace.load``), else None
        self.folder: Path | None = None
        #: of a checkpointed run read from its folder: whether a process is
        #: writing it now (False: it was killed), None where not known
        self.writing: bool | None = None

    # -- facts ------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """Final parameter values by name (a float, or a list for a vector): the
        last step's, or those early stopping restored (Keras's
        ``restore_best_weights``: its best epoch's)."""
        stopping = self.info.get("early_stopping") or {}
        restored = stopping.get("restored_step")
        if restored is not None and not (self._frame["step"] == restored).any():
            # a long run read back thinned, without the restored step's row
            return dict(self.info["params"])
        last = self.final_row()
        return _by_param(self.info, lambda col: float(last[col]))

    @property
    def restored(self) -> tuple[int, int] | None:
        """(epoch, step) of the weights early stopping restored, where they are
        not the last step's (``restore_best_weights``); None otherwise."""
        stopping = self.info.get("early_stopping") or {}
        step = stopping.get("restored_step")
        if step is None or step == self.steps:
            return None
        return int(stopping["restored_epoch"]), int(step)

    def final_row(self) -> pd.Series:
        """The trace's row of the final values: the last, or the one early
        stopping restored."""
        if self.restored is not None:
            at = self._frame[self._frame["step"] == self.restored[1]]
            if len(at):
                return at.iloc[0]
        return self._frame.iloc[-1]

    @property
    def initial(self) -> dict[str, Any]:
        """Initial parameter values by name."""
        return dict(self.info["initial"])

    @property
    def steps(self) -> int:
        """Optimizer steps recorded (excluding the initial row)."""
        return int(self.info["steps"])

    @property
    def status(self) -> str:
        """``completed``, ``diverged`` or ``interrupted`` (run.json's); a run
        stopped by a step that left a parameter's support (``message``: "stopped
        at step 1 ... outside its support") is ``diverged``: it went no further,
        as a diverging run goes no further."""
        return str(self.info["status"])

    @property
    def diverged(self) -> bool:
        return bool(self.info["diverged"])

    @property
    def diverged_step(self) -> int | None:
        return self.info["diverged_step"]

    @property
    def final_loss(self) -> float:
        """The loss over all the data after the last step (at the weights early
        stopping restored, where it restored them)."""
        stopping = self.info.get("early_stopping") or {}
        if stopping.get("restored_loss") is not None:
            return float(stopping["restored_loss"])  # not taken at its step
        return float(self.final_row()["loss"])

    def last_taken(self) -> tuple[int, float] | None:
        """(step, loss) where the loss over all the data was last taken, for a
        run stopped between its evaluations (``eval_every``) whose last row has
        none; None where the last row has it, or no row does."""
        if math.isfinite(self.final_loss) or self.diverged:
            return None
        frame = self._frame[self._frame["loss"].notna()]
        if not len(frame) or int(frame["step"].iloc[-1]) == self.steps:
            return None
        return int(frame["step"].iloc[-1]), float(frame["loss"].iloc[-1])

    @property
    def message(self) -> str:
        """One line on how the run ended (what to try named as Python's arguments:
        ``lr=``, ``gradtrace.resume``)."""
        return self.ending(python=True)

    def ending(self, run: str = "RUN", hint: bool = True, python: bool = False) -> str:
        """``message``, its commands naming the run's folder ``run``; without
        ``hint``, a divergence's line leaves out what to try (the command line
        prints that once, as its error); ``python``: what to try named as Python's
        arguments, not the command line's flags."""
        run = shlex.quote(run)
        lr_is = "lr=" if python else "--lr "
        resume = f"gradtrace.resume({run})" if python else f"gradtrace resume {run}"
        if self.info["config"].get("data") in (None, "-"):  # the data are not on disk
            resume = (
                f"gradtrace.resume({run}, data=...)"
                if python
                else f"gradtrace resume {run} --data FILE"
            )
        space = (
            "param_space='unconstrained'" if python else "--param-space unconstrained"
        )
        if self.diverged:
            n = self.info["schedule"]["n_steps"]
            left = self._left_support()
            if not hint:  # the error line below says why, once
                verb = "stopped" if left else "diverged"
                return f"{verb} at step {self.diverged_step} of {n}."
            opt = self.info["optimizer"]
            lr = opt.get("learning_rate", opt.get("lr"))
            schedule = self.info.get("lr_schedule") or {}
            if not lr and schedule.get("warmup_target"):
                # warmed up from 0: the rate to lower is the one it climbs to
                lr_is = "warmup_target="
                lr = schedule["warmup_target"]
            d = self.info.get("diagnosis") or {}
            if d.get("family") in ("gd", "momentum") and d.get("suggested_lr"):
                to_try = (
                    f"the stable limit is {g(d['stable_lr'])}: try {lr_is}"
                    f"{_fmt(d['suggested_lr'])}"
                )
                if lr and float(lr) <= float(d["stable_lr"]):
                    # the limit is the optimum's curvature; the path met steeper
                    to_try = (
                        f"lr {_fmt(lr)} is within the stable limit at the optimum "
                        f"({g(d['stable_lr'])}), not on the way from this start: "
                        f"try {lr_is}{_fmt(d['suggested_lr'])}"
                    )
            else:
                to_try = (
                    f"try a smaller learning rate ({lr_is}{_fmt(lr / 10)} or lower)"
                )
            toward = self._toward_edge()
            if left and toward:
                # smaller steps would only reach the same edge later
                return (
                    f"stopped at step {self.diverged_step} of {n}: the step took "
                    f"{left}, {toward} where its best fit lies; train with "
                    f"{space} to approach that edge from inside."
                )
            if left and self.info.get("param_space") == "unconstrained":
                # trained as its log or logit: exp or the sigmoid rounded to the edge
                return (
                    f"stopped at step {self.diverged_step} of {n}: the step took "
                    f"{left}: trained as its log (or logit), it went so far that "
                    f"{self.info['dtype']} rounds it back to the edge; {to_try}."
                )
            if left:
                return (
                    f"stopped at step {self.diverged_step} of {n}: the step took "
                    f"{left}; {to_try}, or train with {space}."
                )
            overflowed = self._gradient_overflowed()
            if overflowed:
                # float64 only moves the overflow further: a path that reached
                # it stalls there (the gradient of a saturated exp is 0)
                dtype = self.info.get("compute_dtype") or self.info["dtype"]
                return (
                    f"diverged at step {self.diverged_step} of {n}: the loss was "
                    f"finite but its gradient was not, at {overflowed}: the "
                    f"model's derivative overflowed {dtype}"
                    + self._overflow_hint()
                    + f"; {to_try}."
                )
            cause = self.info.get("diverged_cause")
            if cause:
                gave = ", ".join(f"{k}={_fmt(v)}" for k, v in cause["values"].items())
                return (
                    f"diverged at step {self.diverged_step} of {n}: the loss at the "
                    f"values the step gave ({gave}) is not finite: {cause['row']}"
                    f"{self._blamed(cause)}; {to_try}."
                )
            return (
                f"diverged at step {self.diverged_step} of {n}: the loss, a gradient "
                f"or a parameter stopped being finite; {to_try}."
            )
        if self.status == "interrupted":
            how = (
                f"{resume} continues it"
                if self.state is not None or self.info.get("resumable")
                else f"gradtrace rerun {run} runs it again"
            )
            return (
                f"interrupted after {self.steps} of "
                f"{self.info['schedule']['n_steps']} steps ({how})."
            )
        if self.status == "running":
            n = self.info["schedule"]["n_steps"]
            if self.writing is False:
                return (
                    f"stopped after {self.steps} of {n} steps without finishing "
                    "(no gradtrace process of yours is writing it: it was killed, "
                    "or its disk filled up, unless it runs as another user or on "
                    "another machine): "
                    f"{resume} continues it."
                )
            if self.writing:
                return f"running: checkpointed after {self.steps} of {n} steps."
            return (
                f"checkpointed after {self.steps} of {n} steps: still running, or "
                f"stopped there ({resume} continues it)."
            )
        done = f"completed {self.steps} step{'s' if self.steps != 1 else ''}"
        stopping = self.info.get("early_stopping") or {}
        if stopping.get("stopped_epoch") is not None:
            n = self.info["schedule"]["n_steps"]
            done = (
                f"stopped early after epoch {stopping['stopped_epoch']} ("
                f"{self.steps} of {n} steps): {stopping['monitor']} had not "
                f"improved on its best ({_fmt(stopping['best'])}, epoch "
                f"{stopping['best_epoch']}) for {stopping['patience']} "
                f"epoch{'s' if stopping['patience'] != 1 else ''}"
            )
        if stopping.get("restored_epoch") is not None:
            done += (
                f"; the weights are epoch {stopping['restored_epoch']}'s, "
                "restored as its best"
            )
        elif self._rose():  # finite, but no better than diverging
            first = float(self._frame["loss"].iloc[0])
            done += f", but its loss rose ({_fmt(first)} -> {_fmt(self.final_loss)})"
        return done + "."

    @property
    def loss_rose(self) -> bool:
        """Whether the run's loss ended above where it started, beyond a
        mini-batch run's scatter around an optimum it started at (the summary
        says "but its loss rose"; the command exits with code 1, as for a
        divergence)."""
        return self._rose()

    def _rose(self) -> bool:
        """Whether the loss ended above where it started (``advice.ended_above``),
        by more than a mini-batch run's scatter around an optimum it started at
        (``rise_by_scatter``)."""
        from gradtrace.advice import ended_above

        first = float(self._frame["loss"].iloc[0])
        return ended_above(first, self.final_loss) and self.rise_by_scatter() is None

    def rise_by_scatter(self) -> tuple[float, float] | None:
        """Where a mini-batch run's loss ended above its start only by the
        batches' scatter: it started and ended within ``SCATTER_ROSE`` standard
        errors of the optimum (every parameter); the two distances. None
        otherwise (a full-batch run's rise is its rate's)."""
        from gradtrace.advice import SCATTER_ROSE, ended_above, stderrs_off

        info = self.info
        optimum, stderr = info.get("optimum"), info.get("stderr")
        first = float(self._frame["loss"].iloc[0])
        mini_batch = info["schedule"]["batch_size"] < info["data"]["n_rows"]
        if (
            not mini_batch
            or not optimum
            or not stderr
            or self.status != "completed"
            or not ended_above(first, self.final_loss)
        ):
            return None
        trained = [k for k in self.params if k in info.get("initial", {})]
        start = stderrs_off({k: info["initial"][k] for k in trained}, optimum, stderr)
        end = stderrs_off({k: self.params[k] for k in trained}, optimum, stderr)
        if start is None or end is None or max(start, end) > SCATTER_ROSE:
            return None
        return start, end

    def _left_support(self) -> str | None:
        """'scale to -0.3, outside its support (> 0)' when the last step left a
        parameter's support."""
        words = {"positive": "> 0", "unit": "strictly between 0 and 1"}
        last = self._frame.iloc[-1]
        for spec in self.info.get("params_spec", []):
            rule = words.get(spec.get("constraint", "real"))
            if rule is None or spec["name"] not in self.info.get("initial", {}):
                continue
            cols = [c for c in self._frame.columns if c.split("[")[0] == spec["name"]]
            for col in cols:
                v = float(last[col])
                bad = v <= 0 if spec["constraint"] == "positive" else not 0 < v < 1
                if bad:
                    return f"{col} to {v:.4g}, outside its support ({rule})"
        return None

    def _gradient_overflowed(self) -> str | None:
        """Where a run diverged with its batch's loss finite, and no higher than
        it started, and its gradient not (the derivative of an exp of a large
        value, where the value itself rounds to 0 or 1): the parameters the
        step began from ("K=6.753, r=29.29"); None otherwise (a loss that rose
        on its way out is a rate too large, told as such)."""
        frame = self._frame
        if len(frame) < 2 or "batch_loss" not in frame:
            return None
        last = frame.iloc[-1]
        grads = [c for c in frame.columns if c.startswith("grad_")]
        loss = float(last["batch_loss"])
        if not grads or not np.isfinite(loss):
            return None
        if not loss <= float(frame["loss"].iloc[0]):
            return None
        if np.all(np.isfinite(last[grads].to_numpy(float))):
            return None
        before = frame.iloc[-2]
        names = [c.removeprefix("grad_") for c in grads]
        return ", ".join(
            f"{c}={float(before[c]):.4g}" for c in names if c in frame.columns
        )

    def _overflow_hint(self) -> str:
        """For a model expression with an exp: how to write it without the
        overflow."""
        expr = str((self.info.get("model_options") or {}).get("expr", ""))
        if "exp(" not in expr.replace(" ", ""):
            return ""
        return (
            " (exp of a large value: sigmoid(z) in place of 1/(1+exp(-z)) does not "
            "overflow)"
        )

    def _blamed(self, cause: dict[str, Any]) -> str:
        """', as c went from 0.656 to 1.29 (at 0.656 every row has a loss)', and
        where that parameter of the user's own model, of no declared range,
        went from above 0 to below it, how to keep it above."""
        name = cause.get("param")
        if name is None:
            return ""
        was, now = cause["param_before"], cause["values"][name]
        text = (
            f", as {name} went from {_fmt(was)} to {_fmt(now)} (at {_fmt(was)} "
            "every row's loss is finite)"
        )
        own = "file" in (self.info.get("model_options") or {}) or "model" in (
            self.info.get("own_objects", [])
        )
        spec: dict[str, Any] = next(
            (s for s in self.info.get("params_spec", []) if s["name"] == name), {}
        )
        crossed = np.all(np.asarray(was) > 0) and np.any(np.asarray(now) <= 0)
        if own and spec.get("constraint", "real") == "real" and crossed:
            text += (
                f"; if your model takes {name} above 0 only, declare it with "
                f"positive=[{name!r}]"
            )
        return text

    def _toward_edge(self) -> str | None:
        """ "onto the edge" or "past the edge" where the last step took a
        parameter to or beyond the edge of its range on the side where its best
        fit lies (``optimum_edge``: a rate of all-0 data at 0); None otherwise
        (an edge at infinity, such as a negative binomial's size, is never
        stepped onto)."""
        from gradtrace.advice import edge_of

        edge = self.info.get("optimum_edge") or {}
        optimum = self.info.get("optimum") or {}
        last = self._frame.iloc[-1]
        for name, kind in edge.items():
            cols = [c for c in self._frame.columns if c.split("[")[0] == name]
            best = np.ravel(np.asarray(optimum.get(name, np.nan), float))
            for col, at in zip(cols, best, strict=False):
                if edge_of(at, kind) == "infinity":
                    continue
                v = float(last[col])
                side = 1.0 if kind == "unit" and at > 0.5 else 0.0
                if v == side:
                    return "onto the edge"
                if (v < side) if side == 0.0 else (v > side):
                    return "past the edge"
        return None

    @property
    def truth(self) -> dict[str, Any]:
        """The true parameters of generated data that apply to this run's model
        (``matching_truth``): empty where the data came from another model. A
        run on standardised x has them as it fits them, its slopes per standard
        deviation of their columns (``truth_in_x_units``: as the data were
        drawn), beside its own values."""
        own = self.truth_in_x_units
        if not own or not self.info.get("original_units"):
            return own
        from gradtrace.usercode import model_of

        model = model_of(self.info, self.model)
        if not {"w", "b"} <= set(own) or not hasattr(model, "standardised_units"):
            return own
        fitted = model.standardised_units(own)
        return {k: np.asarray(v).tolist() for k, v in fitted.items()}

    @property
    def truth_in_x_units(self) -> dict[str, Any]:
        """The true parameters (``truth``) in x's own units, as the data were
        drawn: ``truth`` itself but for a run on standardised x."""
        values = {**(self.info.get("fixed") or {}), **self.params}
        return matching_truth(self.info.get("truth") or {}, values)

    @property
    def warnings(self) -> list[str]:
        """What the run's summary warns of, as sentences: a completed run that
        ended far from the exact optimum or with its loss above where it started,
        and the diagnosis's warnings of a rate that diverges or crawls, with what
        to change named as Python's arguments (``lr=``). Empty for a run that needs
        none."""
        from gradtrace.text import for_python

        both = self.convergence_warnings() + self.diagnosis_warnings()
        # a run that did not complete says first how it ended, and what to try
        ended = [] if self.status == "completed" else [self.message]
        if ended and "stable limit" in ended[0]:  # said once, in how it ended
            both = [w for w in both if "stable limit" not in w]
        # a list of warnings: each without the command's "warning: " before it
        return ended + [for_python(w.removeprefix("warning: ")) for w in both]

    @property
    def notes(self) -> list[str]:
        """What the run noted of its data and settings, as sentences (what
        ``gradtrace fit`` prints as ``note:`` lines): rows dropped, a batch size
        clamped to the data, columns a distribution does not use, no exact optimum
        and why, with options named as Python's arguments."""
        from gradtrace.text import for_python

        return [for_python(n) + "." for n in self.info.get("notices", [])]

    def convergence_warnings(self) -> list[str]:
        """Of ``warnings``: classes that a logistic regression separates perfectly
        (no optimum), an optimum on the edge of a parameter's range (any run), a
        completed run's parameters far from the optimum (in standard errors), and
        a loss that ended above where it started."""
        from gradtrace.advice import (
            drift_told,
            drifting,
            on_edge,
            rose_warning,
            scatter_rose,
            scattered,
            separated,
            settled,
            stuck,
            unconverged,
        )
        from gradtrace.tables import param_columns
        from gradtrace.text import fmt, resolution

        info = self.info
        if info.get("separated"):
            from gradtrace.tables import separating_columns

            return [
                separated(
                    separating_columns(info), info.get("on_cut", 0), info["separated"]
                )
            ]
        # parameters that trade off: said first, and the rest still said (a
        # loss that rose)
        edge = (
            [
                f"warning: {info['unidentified']}. The run's values are one of "
                "many with the same loss; there is no optimum to compare them "
                "with, nor standard errors."
            ]
            if info.get("unidentified")
            else []
        )
        edge += [
            on_edge(k, info["optimum"][k], kind, final=self.params[k])
            for k, kind in (info.get("optimum_edge") or {}).items()
            if k in self.params
        ]
        if self.status != "completed":
            return edge
        out = []
        optimum = info.get("optimum")
        first = float(self._frame["loss"].iloc[0])
        rose = self._rose()
        mini_batch = info["schedule"]["batch_size"] < info["data"]["n_rows"]
        decay = float(info["optimizer"].get("weight_decay") or 0.0)
        # why more steps would not get closer, where something holds the run
        instead = self._rate_fell() or self._clipped_above_the_limit() or self._thrown()
        schedule = (info.get("lr_schedule") or {}).get("name")
        plateau = bool(schedule) and str(schedule).endswith(".plateau")
        early = self._stopped_early()
        # a loss that rose is said so; "more steps would get closer" is not true
        if optimum is not None and not rose:
            far = unconverged(
                self.params,
                optimum,
                info.get("stderr") or {},
                mini_batch=mini_batch,
                resolution=resolution(info),
                weight_decay=decay,
                instead=instead,
                covariance=info.get("covariance"),
                settled=(bool(decay) or plateau)
                and settled(self._frame, param_columns(self._frame), optimum)
                and (not decay or self._held()),
                schedule=schedule,
                stopped_early=early,
                hover=None if schedule else self._hovering(),
                told=drift_told(self._frame),
                above=None if (schedule or instead) else self._above_the_limit(),
                closing=mini_batch
                and drifting(
                    self._frame,
                    param_columns(self._frame),
                    optimum,
                    info.get("stderr") or {},
                )
                is not None,
            )
            if far:
                out.append(far)
                out += [] if early else self._scale_finding() + self._predicted()
            elif mini_batch and not decay and instead is None and early is None:
                # within the batches' scatter, but still on its way there
                moving = drifting(
                    self._frame,
                    param_columns(self._frame),
                    optimum,
                    info.get("stderr") or {},
                    final=self.params,
                )
                if moving:
                    out.append(moving)
                else:  # outside the 95% interval, by the batches' scatter
                    off = scattered(
                        self.params,
                        optimum,
                        info.get("stderr") or {},
                        resolution=resolution(info),
                        told=drift_told(self._frame),
                        covariance=info.get("covariance"),
                    )
                    out += [off] if off else []
        if optimum is not None and not rose and not out and early is None:
            out += self._short_without_errors(first)
        if rose:
            name = str(self.info["optimizer"]["name"])
            out.append(rose_warning(fmt(first), fmt(self.final_loss), "", name))
        elif (scatter := self.rise_by_scatter()) is not None:
            out.append(scatter_rose(fmt(first), fmt(self.final_loss), *scatter))

        # why, where it is a parameter that stopped moving (a run that settled at
        # its optimum stops moving too: only asked of one that did not)
        frozen = None
        # a rate of almost 0 stops any parameter; a decay holds them where it
        # balances the gradient
        if out and instead is None and not decay and early is None:
            frozen = stuck(
                self._frame,
                param_columns(self._frame),
                optimum,
                info.get("stderr"),
                regression=bool(info["data"].get("x")),
            )
        if frozen:
            out.append(frozen)
        return self._by_column(edge + out)

    def _short_without_errors(self, first: float) -> list[str]:
        """A completed run without standard errors (mae, huber, a loss of one's
        own), whose distance from the optimum cannot be told in them: where its
        loss ended above the optimum's by more than rounding and by more than
        1% of the distance it started at, a sentence that says so (it was told
        nothing, however far it ended)."""
        from gradtrace.text import fmt, loss_rounding

        info = self.info
        errors = [np.asarray(v, float) for v in (info.get("stderr") or {}).values()]
        best = info.get("optimum_loss")
        if best is None or any(np.isfinite(e).any() for e in errors):
            return []
        left, start = self.final_loss - float(best), first - float(best)
        if not (left > loss_rounding(info, float(best)) and left > 0.01 * start):
            return []
        return [
            f"the loss ended {fmt(left)} above the optimum's, "
            f"{100 * left / start:.2g}% of the distance it started at; with no "
            "standard errors to measure the parameters' distance by, the run is "
            "short of its optimum: more steps or another rate would get closer."
        ]

    def _by_column(self, said: list[str]) -> list[str]:
        """``said`` with the slopes of a built-in model of a linear predictor on
        named x columns named by their column (``w[temp]`` for ``w[0]``), as the
        pictures and the summary's ``x`` name them (``tables.param_labels``)."""
        import re

        from gradtrace.tables import param_columns, param_labels

        labels = param_labels(self, param_columns(self._frame))
        renamed = {k: v for k, v in labels.items() if k != v}
        if not renamed:
            return said

        def named(match: re.Match[str]) -> str:
            return renamed.get(match.group(0), match.group(0))

        return [re.sub(r"\bw\[\d+\]", named, line) for line in said]

    def _stopped_early(self) -> str | None:
        """How early stopping ended the run ("early stopping ended it after epoch
        11, when val_loss had not improved for 5 epochs, with epoch 6's weights
        restored"); None for a run it did not stop."""
        stopping = self.info.get("early_stopping") or {}
        if stopping.get("stopped_epoch") is None:
            return None
        patience = int(stopping["patience"])
        said = (
            f"early stopping ended the run after epoch {stopping['stopped_epoch']}, "
            f"when {stopping['monitor']} had not improved for {patience} "
            f"epoch{'s' if patience != 1 else ''}"
        )
        if self.restored is not None:
            said += f", and restored epoch {self.restored[0]}'s weights"
        return said

    def _rate_fell(self) -> str | None:
        """Where a learning-rate schedule brought the rate below a hundredth of
        its start, what it left: more steps at it would barely move."""
        schedule = self.info.get("lr_schedule")
        frame = self._frame
        if not schedule or "lr" not in frame.columns or "grad_lr" in frame.columns:
            return None
        if self.info["optimizer"]["name"] in READS_RATE_ONCE:
            return None  # its later rates changed nothing
        rates = frame["lr"].to_numpy(np.float64)[1:]
        # a hundredth to float32's rounding (gamma=0.1 twice: 0.1 -> 0.001)
        if not len(rates) or not rates[-1] <= rates[0] / 100 * (1 + 1e-6):
            return None
        return (
            f"the schedule {schedule['name']} brought the rate down to "
            f"{rates[-1]:.3g} (from {rates[0]:.3g}), so more steps at it would barely "
            "move: a slower decay, or a schedule over more steps, would get closer"
        )

    def _held(self) -> bool:
        """Whether the parameters stopped moving while their steps would carry
        them on: over the last tenth of the steps (2 at least) each moved under a
        tenth of what its steps' sizes add up to (the rate times the gradient for
        gradient descent, the rate for the optimizers that divide by a running
        RMS), as where a weight decay balances the gradient. A run that crawls at
        a rate a schedule brought low moves by about all of it (said to have
        settled where weight decay holds it before). Rprop's and Adadelta's steps
        are not the rate's, so theirs are taken as held."""
        from gradtrace.tables import param_columns

        info, frame = self.info, self._frame
        family = (info.get("diagnosis") or {}).get("family")
        if family not in ("gd", "momentum", "adaptive"):
            return True
        tenth = max(2, (len(frame) - 1) // 10)
        last = frame.iloc[-tenth - 1 :]
        if len(last) < 3:
            return True
        # the rate each of those steps took (a row's is its own step's)
        rates = (
            last["lr"].to_numpy(np.float64)[1:]
            if "lr" in frame.columns
            else np.full(len(last) - 1, learning_rate(info))
        )
        if not np.isfinite(rates).all():
            return True
        # a long run's kept rows are every k-th step: each row stands for the
        # steps since the one before
        spans = np.diff(last["step"].to_numpy(np.float64))
        for name in param_columns(frame):
            moved = abs(float(last[name].iloc[-1]) - float(last[name].iloc[0]))
            grads = f"grad_{name}"
            if family == "adaptive":
                reach = float(np.sum(rates * spans))
            elif grads in frame.columns:
                # a row's gradient is the one its step took
                sizes = rates * np.abs(last[grads].to_numpy(np.float64)[1:])
                reach = float(np.sum(sizes * spans))
            else:
                return True
            if moved > 0.1 * reach:
                return False
        return True

    def _hovering(self) -> tuple[float, str] | None:
        """An adaptive optimizer's fixed rate, and why more steps at it would not
        get closer: its steps are about the rate in size whatever the gradient.
        None for a run still on its way (a parameter's mean distance from its
        optimum over the last quarter of the steps under three quarters of the
        quarter before's, or falling at every step of the second half from one
        side) or with a weight decay (said on its own)."""
        info = self.info
        if (info.get("diagnosis") or {}).get("family") != "adaptive":
            return None
        if float(info["optimizer"].get("weight_decay") or 0.0) > 0:
            return None
        frame, optimum = self._frame, info.get("optimum") or {}
        quarter = (len(frame) - 1) // 4
        if quarter < 2:
            return None
        for name in self.params:
            if (
                name not in frame.columns
                or name not in optimum
                or np.ndim(optimum[name])
            ):
                continue
            offset = frame[name].to_numpy(float) - float(optimum[name])
            away = np.abs(offset)
            third, last = away[-2 * quarter : -quarter], away[-quarter:]
            if np.mean(last) < 0.75 * np.mean(third):
                return None  # still closing in: more steps would get closer
            # or closing in at every step of the second half, from one side: a
            # run cut short whose steps shrink as Adam's do (10 steps of lr 0.5
            # from 0 toward 4.9 were told they bounced around it)
            half = offset[len(offset) // 2 :]
            one_side = bool(np.all(half > 0) or np.all(half < 0))
            if one_side and bool(np.all(np.diff(np.abs(half)) < 0)):
                return None
        lr = learning_rate(info)
        schedule = info["schedule"]
        steps = int(schedule["n_steps"])
        epochs = -(-steps // int(schedule["batches_per_epoch"]))
        # stepped each epoch, a run of a few epochs would barely lower its rate
        # (of one epoch, never: a researcher's run came out the same)
        falling = (
            f"torch.cosine:T_max={epochs}"
            if epochs >= FEW_EPOCHS
            else f"torch.cosine:T_max={steps},by_batch=true"
        )
        name = info["optimizer"]["name"]
        return lr, (
            f"{name} moves each parameter by about its rate, {lr:.3g}, a step "
            "whatever the gradient, so at a fixed rate more steps only bounce "
            "around the optimum: a rate that falls late in the run (--lr-schedule "
            f"{falling}) or a smaller --lr gets closer"
        )

    def _thrown(self) -> str | None:
        """Where the first step threw a parameter far from its optimum (a rate
        above the stable limit where the run started, whose curvature is far
        larger than the optimum's) and the run is still far: more steps barely
        bring it back over the flat ground it landed on. Of gradient descent's
        steps, with or without momentum: an adaptive optimizer's first step
        moves each parameter by about its rate whatever the curvature."""
        optimum = self.info.get("optimum") or {}
        diagnosis = self.info.get("diagnosis") or {}
        frame = self._frame
        at = frame.index[frame["step"] == 1]
        if not len(at) or diagnosis.get("family") not in ("gd", "momentum"):
            return None
        worst: tuple[float, str, float, float] | None = None
        scalars = [
            name
            for name, value in self.params.items()
            if name in optimum and name in frame.columns and not np.ndim(value)
        ]
        # a parameter that starts at its optimum (b = 0 of y = 2x) moves off it
        # as the others move to theirs: its distance counts from a hundredth of
        # the farthest one's start (a vector's elements too: the slopes of
        # standardised columns, whose intercept's optimum is 0), not from 0
        starts = np.concatenate(
            [
                np.abs(
                    np.ravel(np.asarray(self.initial[k], np.float64))
                    - np.ravel(np.asarray(optimum[k], np.float64))
                )
                for k in self.params
                if k in optimum and np.size(optimum[k]) == np.size(self.initial[k])
            ]
            or [np.zeros(0)]
        )
        farthest = float(np.max(starts[np.isfinite(starts)], initial=0.0))
        errors = self.info.get("stderr") or {}
        for name in scalars:
            value = self.params[name]
            best = float(np.asarray(optimum[name], np.float64))
            start = float(frame[name].iloc[0])
            first = float(frame.loc[at[0], name])
            # how many times as far as it started: after the first step, at the end
            was = max(abs(start - best), 1e-12 * max(abs(best), 1.0), farthest / 100)
            thrown, left = abs(first - best) / was, abs(float(value) - best) / was
            se = errors.get(name)
            if se is not None and abs(float(value) - best) <= float(np.asarray(se)):
                continue  # within a standard error of its optimum: not far at all
            if thrown > THROWN and left > THROWN / 10:
                if worst is None or left > worst[0]:
                    worst = (left, name, start, first)
        if worst is None:
            return None
        left, name, start, first = worst
        said = (
            f"its first step threw {name} from {start:.4g} to {first:.4g}, "
            f"{left:.3g} times as far from its optimum as it started, onto ground so "
            "flat that more steps barely bring it back"
        )
        steep = (diagnosis.get("eigenvalues_start") or [0.0])[-1]
        top = (diagnosis.get("eigenvalues_optimum") or [0.0])[-1]
        lower = "a smaller rate"
        if diagnosis.get("family") == "gd" and steep > top > 0:
            limit = float(diagnosis["stable_lr"]) * top / steep
            said += (
                f" (lr {learning_rate(self.info):.3g} is above the "
                f"stable limit where the run started, {limit:.3g})"
            )
            lower = "a rate below that limit"
        return (
            said + ": a start nearer the optimum (--init), an adaptive optimizer "
            f"(--optimizer adam) or {lower} would get there"
        )

    def _above_the_limit(self) -> str | None:
        """A fixed rate above the diagnosis's stable limit ("lr 0.72 is above the
        stable limit, 0.7"), where the run completed all the same; None below
        it, or for an optimizer without a limit (adaptive)."""
        diagnosis = self.info.get("diagnosis") or {}
        if diagnosis.get("verdict") != "diverges":
            return None
        lr = learning_rate(self.info)
        return f"lr {g(lr)} is above the stable limit, {g(diagnosis['stable_lr'])}"

    def _clipped_above_the_limit(self) -> str | None:
        """Where clipping held a rate above the stable limit to bounded steps:
        they hover around the optimum, and more of them would not get closer."""
        clip = self.info.get("clip")
        diagnosis = self.info.get("diagnosis") or {}
        if not clip or diagnosis.get("verdict") != "diverges":
            return None
        return (
            f"clipping ({clip['name']}) bounds the steps of a rate above the stable "
            f"limit {diagnosis['stable_lr']:.3g}, so they hover around the optimum "
            "instead of closing in: a rate below the limit would get closer"
        )

    def _predicted(self) -> list[str]:
        """The diagnosis's predicted steps to the optimum, for a full-batch run of
        plain gradient descent at a fixed rate that took fewer (its step count is
        what "more steps" comes to); none where no prediction holds (mini-batches'
        scatter, a schedule, momentum, an adaptive optimizer, weight decay)."""
        info = self.info
        diagnosis = info.get("diagnosis") or {}
        predicted = diagnosis.get("predicted_steps")
        mini_batch = info["schedule"]["batch_size"] < info["data"]["n_rows"]
        if (
            predicted is None
            or mini_batch
            or info.get("lr_schedule")
            or info.get("clip")
            or diagnosis.get("verdict") == "diverges"
            or self.steps >= predicted
        ):
            return []
        config = info.get("config") or {}
        given = config.get("steps") is not None or config.get("epochs") is not None
        default, sets = ("", "") if given else ("the default ", " (--steps N sets it)")
        text = (
            f"The diagnosis predicts {predicted} steps from the start at lr "
            f"{g(learning_rate(info))} "
            f"until every parameter is within {g(diagnosis['tol'])} of the optimum; "
            f"this run took {default}{self.steps}{sets}."
        )
        fastest, fastest_steps = (
            diagnosis.get("fastest_lr"),
            diagnosis.get("fastest_steps"),
        )
        if fastest_steps is not None and fastest_steps < predicted:
            text += (
                f" The fastest rate of plain gradient descent here, {g(fastest)}, "
                f"takes {fastest_steps}."
            )
        return [text]

    def _scale_finding(self) -> list[str]:
        """The diagnosis's finding that x's scale makes the problem
        ill-conditioned (standardising x is the cure), for a run that has not
        converged; none where ``diagnosis_warnings`` says it already."""
        diagnosis = self.info.get("diagnosis") or {}
        if diagnosis.get("verdict") in ("diverges", "crawls"):
            return []
        found = [f for f in diagnosis.get("findings", []) if "Standardising x" in f]
        fewest = diagnosis.get("adaptive_steps")
        if fewest is not None and self.steps < fewest:
            # Adam's steps of about lr: 50 of 0.1 cannot cross 5e4 (y in
            # the hundreds of thousands); said where the run took fewer
            found += [
                f"{f} This run took {self.steps}."
                for f in diagnosis.get("findings", [])
                if "whatever the curvature" in f
            ]
        return found

    def diagnosis_warnings(self) -> list[str]:
        """Of ``warnings``: the diagnosis's findings on a rate that diverges or
        crawls (its stable limit, the steps it predicts, rescaling x)."""
        diagnosis = self.info.get("diagnosis") or {}
        if diagnosis.get("verdict") not in ("diverges", "crawls"):
            return []
        keys = (
            "stable limit",
            "Predicted",
            "Standardising",
            "The schedule",
            "Clipping",
        )
        found = [f for f in self.findings() if any(k in f for k in keys)]
        if self.status == "completed" and self._thrown():
            # its first step threw it onto flat ground (said above): a crawl at
            # the optimum's curvature, and the steps it predicts, are not this
            # run's
            found = [f for f in found if "crawl" not in f and "Predicted" not in f]
        return found

    def findings(self) -> list[str]:
        """Every finding of the diagnosis (run.json's, said before the run), as
        told after it: a run that diverged is told it did, not that it will, and
        one whose loss rose to its end that it was diverging."""
        found = list((self.info.get("diagnosis") or {}).get("findings", []))
        if not self.diverged:
            if not self._rose():
                return found
            # 6.4 -> 1e28 in 30 steps, still finite: under way, not to come
            return [
                f.replace(": it will diverge.", ": it was diverging (its loss rose).")
                for f in found
            ]
        return [
            f.replace(": it will diverge.", ": it diverged.").replace(
                "it cannot settle there: it will oscillate or diverge",
                "it could not settle there, and diverged",
            )
            for f in found
        ]

    def summary(self) -> pd.DataFrame:
        """The parameters in a table, one row each (one per element of a vector, named
        as the trace's columns: ``w[0]``): ``initial``, ``final``, the exact
        ``optimum``, its ``std_error`` and interval (``ci_low``, ``ci_high``: 95%, or
        the ``level`` the run was fitted with; these six columns in every run, NaN where
        it has no optimum or errors: Student's t for least squares, -+ 1.96 standard
        errors at 95% for a likelihood; a positive parameter's on the log scale, one in
        (0, 1) on the logit scale, so that it stays in range; NaN for one whose optimum
        is on the edge of its range), ``t`` or ``z`` and ``p_value`` (each real-valued
        parameter's optimum tested against 0, as statsmodels' tables do: ``_tests``),
        the ``truth`` of generated data (a run on standardised x's per standard
        deviation of x, as it fits them) and ``fixed`` values (parameters held at
        their start); a run with ``standardize=True`` adds ``final_in_x_units``,
        ``optimum_in_x_units``, ``std_error_in_x_units``, ``ci_low_in_x_units``,
        ``ci_high_in_x_units`` and ``truth_in_x_units`` (as the data were drawn),
        the slopes and intercept in x's own units (their errors
        from the covariance, mapped as the slopes are; a profile interval of the
        intercept profiled in x's units), and their tests, ``t_in_x_units`` or
        ``z_in_x_units`` and ``p_value_in_x_units`` (the intercept's differs: on
        standardised x it is the linear predictor at x's means). ``.attrs``: ``loss``
        (initial, final), ``optimum_loss``, ``gap`` (final - optimum), ``level`` (the
        intervals', 0.95 by default), ``validation`` (with validation data: the last
        ``val_loss``, its lowest and after which epoch, each ``val_<metric>``; else
        None), ``status``, ``stderr`` (the standard errors' kind: ``classical``, or the
        robust one, ``hc3``), ``warnings``, ``notes``, ``ranged`` (why positive or
        (0, 1) parameters have no test against 0, or None) and ``likelihood``
        (run.json's: ``loglik``, ``aic``, ``bic`` at the final values and the
        optimum, ``n_params``, ``n_rows``; None without a likelihood); what
        ``gradtrace show`` prints, for pandas."""
        info = self.info
        optimum = info.get("optimum") or {}
        stderr = info.get("stderr") or {}
        truth = self.truth
        columns: dict[str, dict[str, Any]] = {}

        def put(column: str, name: str, value: Any) -> None:
            if value is None:
                return
            flat = np.ravel(np.asarray(value, np.float64))
            vector = np.ndim(value) > 0 or _is_vector(info, name)
            for i, v in enumerate(flat):
                label = f"{name}[{i}]" if vector else name
                columns.setdefault(column, {})[label] = float(v)

        names = list(self.params)
        for name in names:
            put("initial", name, self.initial[name])
            put("final", name, self.params[name])
            put("optimum", name, optimum.get(name))
            put("std_error", name, stderr.get(name))
            put("truth", name, truth.get(name))
        for name, value in (info.get("fixed") or {}).items():
            put("initial", name, value)  # held there: it starts and ends there
            put("final", name, value)
            put("fixed", name, value)
            put("truth", name, truth.get(name))
        main = ("initial", "final", "optimum", "std_error")
        frame = pd.DataFrame(
            {c: pd.Series(columns[c], dtype=float) for c in main if c in columns}
        )
        labels = list(dict.fromkeys(k for c in columns.values() for k in c))
        frame = frame.reindex(labels)
        from gradtrace.estimates import intervals_of, level_of

        for name, (low, high) in intervals_of(info).items():
            put("ci_low", name, low)
            put("ci_high", name, high)
        for bound in ("ci_low", "ci_high"):
            if bound in columns:
                frame[bound] = pd.Series(columns[bound], dtype=float)
        self._tests(frame)
        # the x column each slope multiplies, where the model's slopes are one
        # per named column
        from gradtrace.tables import param_labels

        named = param_labels(self, [str(k) for k in frame.index])
        if any(k != v for k, v in named.items()):
            of = [v[2:-1] if v != k else None for k, v in named.items()]
            frame.insert(0, "x", of)
        # a run on standardised x: its slopes and intercept in x's own units
        units = info.get("original_units") or {}
        for which in ("final", "optimum"):
            for name, value in (units.get(which) or {}).items():
                put(f"{which}_in_x_units", name, value)
        for name, value in (units.get("stderr") or {}).items():
            put("std_error_in_x_units", name, value)
        for name, (low, high) in intervals_of(units).items():
            put("ci_low_in_x_units", name, low)
            put("ci_high_in_x_units", name, high)
        if units and truth:  # the truth as the data were drawn
            for name, value in self.truth_in_x_units.items():
                put("truth_in_x_units", name, value)
        for extra in (
            "fixed",
            "truth",
            "final_in_x_units",
            "optimum_in_x_units",
            "std_error_in_x_units",
            "ci_low_in_x_units",
            "ci_high_in_x_units",
            "truth_in_x_units",
        ):
            if extra in columns:
                frame[extra] = pd.Series(columns[extra], dtype=float)
        self._tests(frame, "_in_x_units")
        # the same first columns for every run, NaN where it has none (a
        # separated or tied run has no optimum: summary["std_error"] was a
        # KeyError there)
        first = ["initial", "final", "optimum", "std_error", "ci_low", "ci_high"]
        lead = ["x"] if "x" in frame.columns else []
        rest = [c for c in frame.columns if c not in first and c != "x"]
        frame = frame.reindex(columns=[*lead, *first, *rest])
        frame.index.name = "parameter"
        loss = self._frame["loss"].to_numpy(float)
        final = self.final_loss  # inf or NaN where the run diverged
        taken = loss[~np.isnan(loss)]
        if math.isnan(final) and not self.diverged and len(taken):
            final = float(taken[-1])  # not taken after the last step: the last taken
        frame.attrs["loss"] = {"initial": float(loss[0]), "final": final}
        best = info.get("optimum_loss")
        frame.attrs["optimum_loss"] = best
        frame.attrs["gap"] = None if best is None else final - float(best)
        frame.attrs["level"] = level_of(info)
        from gradtrace.tables import validation_summary

        per_epoch = int(info["schedule"]["batches_per_epoch"])
        restored = None if self.restored is None else self.restored[1]
        frame.attrs["validation"] = validation_summary(self._frame, per_epoch, restored)
        # a likelihood's loglik, AIC and BIC at the final values and the optimum
        frame.attrs["likelihood"] = info.get("likelihood")
        frame.attrs["status"] = self.status
        from gradtrace.estimates import robust_kind

        # the standard errors' kind: "classical", or the robust one ("hc3")
        frame.attrs["stderr"] = robust_kind(info) or "classical"
        frame.attrs["warnings"] = self.warnings
        frame.attrs["notes"] = self.notes
        from gradtrace.tables import ranged_parameters

        # why positive or (0, 1) parameters have no t or z (as show says it)
        frame.attrs["ranged"] = ranged_parameters(info)
        return frame

    def factor_tests(self) -> pd.DataFrame:
        """Each categorical x column's joint test that none of its categories
        differs from the reference (the slopes of all its 0/1 columns 0 at once):
        a Wald test at the optimum, ``F`` on ``df`` and ``df_denom`` degrees of
        freedom for least squares, ``chi2`` on ``df`` for a likelihood, and its
        ``p_value``, as statsmodels' ``wald_test_terms`` gives it; one row a
        column (index ``column``, with its number of ``categories``), none for a
        run without categorical columns; what ``gradtrace show`` says under the
        estimates."""
        from gradtrace.estimates import factor_tests

        return factor_tests(self.info)

    def _tests(self, frame: pd.DataFrame, units: str = "") -> None:
        """``summary``'s test of each real-valued parameter's optimum against 0,
        as statsmodels' tables give it: ``t`` (least squares, Student's t with n - k
        degrees of freedom) or ``z`` (a likelihood, the normal), and ``p_value``
        (two-sided); none for positive or (0, 1) parameters, for which 0 is an
        edge, not a value to test. ``units`` "_in_x_units": the test of the
        optimum in x's own units (``t_in_x_units``, ``p_value_in_x_units``), the
        slopes' the same as on standardised x, the intercept's another (the
        standardised intercept is the linear predictor at x's means)."""
        info = self.info
        optimum, error = f"optimum{units}", f"std_error{units}"
        if error not in frame or info["loss"] not in ("mse", "nll"):
            return
        real = [
            label
            for label in frame.index
            for spec in info["params_spec"]
            if spec["name"] == str(label).split("[")[0]
            and spec.get("constraint", "real") == "real"
        ]
        if not real:
            return
        from scipy import special

        statistic = frame.loc[real, optimum] / frame.loc[real, error]
        if info["loss"] == "mse" and info["data"].get("x") is not None:
            dof = int(info["data"]["n_rows"]) - int(frame["std_error"].notna().sum())
            name, tail = "t", special.stdtr(max(dof, 1), -np.abs(statistic))
        else:
            name, tail = "z", special.ndtr(-np.abs(statistic))
        frame[name + units] = statistic.reindex(frame.index).astype(float)
        frame["p_value" + units] = pd.Series(2 * tail, index=real).reindex(frame.index)

    @from_callers_line
    def report(self, out: str | Path) -> Path:
        """Write the run's interactive report (one self-contained HTML file, as
        ``gradtrace report`` writes) to ``out``, and return its path."""
        from gradtrace.report.html import report

        return report(self, out)

    @from_callers_line
    def animate(
        self,
        out: str | Path,
        every: int | None = None,
        fps: int = 10,
        dpi: float | None = None,
    ) -> Path:
        """Write the run's animation to ``out``, as ``gradtrace animate`` draws it:
        the fit moving over the data, a frame per step (or every ``every``-th;
        a long run's kept steps), ``fps`` frames a second, ``dpi`` pixels per
        inch (the command's default, or 220 for a projector); a .gif, or an
        .mp4 where ffmpeg is installed. Returns its path; in a notebook
        ``IPython.display.Image(path)`` shows a GIF."""
        from gradtrace.animate import animate
        from gradtrace.errors import COMMAND_LINE, InputError

        try:
            sized = {} if dpi is None else {"dpi": dpi}
            return animate(self, out, every=every, fps=fps, **sized)
        except InputError as err:
            if COMMAND_LINE.get():
                raise
            said = str(err).replace("-o ", "out=").replace("--every", "every")
            raise InputError(said) from None

    # -- views ------------------------------------------------------------------
    def to_pandas(self) -> pd.DataFrame:
        """The step table (a copy): see ``gradtrace.tables.trace_frame``."""
        return self._frame.copy()

    @from_callers_line
    def history(self, keras_names: bool = False) -> pd.DataFrame:
        """One row per epoch, as Keras's ``model.fit(...).history`` has it:
        ``loss`` and each metric as Keras logs them at the epoch's end (running
        means over the epoch's batches), ``loss_all_data`` and ``<metric>_all_data``
        after the epoch (Keras's ``val_*`` with the training data as validation
        data), the rate (with a schedule) and the parameters; see
        ``gradtrace.tables.history``. ``keras_names``: the metrics and the rate
        under the keys Keras's ``History.history`` gives them
        (``root_mean_squared_error``, ``val_root_mean_squared_error``,
        ``learning_rate``), to set beside it column for column: the names of
        Keras's metric classes (``MeanAbsoluteError()`` logs
        ``mean_absolute_error``; given as strings, ``metrics=["mae", "mse"]``
        logs ``mae`` and ``mse``, the names without ``keras_names``)."""
        from gradtrace.core.metrics import KERAS_METRICS
        from gradtrace.store import epoch_rows
        from gradtrace.tables import history

        per_epoch = int(self.info["schedule"]["batches_per_epoch"])
        frame = self._frame
        ends = int(((frame["batch"] == per_epoch) & (frame["step"] > 0)).sum())
        folder = self._own_folder()
        if ends < self.steps // per_epoch and folder is not None:
            # a long run's kept rows: the epochs' ends are in its folder's parts
            frame = epoch_rows(folder, self.info)
        table = history(frame, per_epoch, self.steps)
        if keras_names:
            names = {"lr": "learning_rate"}
            for ours, theirs in KERAS_METRICS.items():
                for prefix in ("", "val_"):
                    names[f"{prefix}{ours}"] = f"{prefix}{theirs}"
            table = table.rename(columns=names)
        return table

    @from_callers_line
    def keras_log(self, validation: bool | None = None) -> str:
        """The run's epochs as Keras's ``model.fit(..., verbose=2)`` prints them
        (``tables.keras_log``): "Epoch 1/20", then "10/10 - loss: 3.2134 -
        root_mean_squared_error: 1.7926 - val_loss: ...". ``validation``: None
        (the default) prints ``val_`` values where the run had validation data,
        as ``model.fit`` does; True prints them of a run without, over the
        training data (Keras's given them as ``validation_data=(x, y)``: the loss
        after each epoch's last step); False leaves them out."""
        from gradtrace.tables import keras_log

        if validation is None:
            validation = "validation" in self.info["data"]

        schedule = self.info["schedule"]
        per_epoch = int(schedule["batches_per_epoch"])
        n_epochs = -(-int(schedule["n_steps"]) // per_epoch)
        # Keras's ReduceLROnPlateau and LearningRateScheduler add the rate to the
        # epoch's logs
        callback = (self.info.get("lr_schedule") or {}).get("name")
        rate = callback in ("keras.plateau", "keras.scheduler")
        lines = keras_log(self.history(), per_epoch, n_epochs, validation, rate)
        # a Poisson loss in full, where Keras's poisson leaves out log y!: said
        # above the lines that would otherwise pass for Keras's
        lines[:0] = [
            f"note: {n}"
            for n in self.info.get("notices", [])
            if LOG_FACTORIALS_KEPT in n
        ]
        return "\n".join(lines)

    @from_callers_line
    def rows(self, step: int) -> np.ndarray:
        """The data rows that step ``step`` trained on (1 is the first step, -1 the
        last), as 0-based positions in the data as given (``frame.iloc[rows]``;
        rows that ``drop_missing`` dropped still count)."""
        from gradtrace.explain import given_rows, step_number, step_rows

        rows = step_rows(self.info, step_number(step, self.steps))
        return given_rows(self.info, rows)

    @from_callers_line
    def batch_rows(self, steps: Sequence[int] | int | None = None) -> pd.DataFrame:
        """Which data rows each step trained on, one line per step and row (a
        tidy table to merge with the data): ``step``, ``epoch``, ``batch`` and
        ``row``, the row's 0-based position in the data as given
        (``frame.iloc[row]``; rows ``drop_missing`` dropped still count). By
        default every step; ``steps`` picks some (-1 the last). A full-batch
        step lists every row."""
        from gradtrace.explain import given_rows, step_number, steps_rows

        n = self.steps
        if isinstance(steps, (int, np.integer)):
            steps = [int(steps)]  # one step, as rows(3) and explain(3) take it
        wanted = (
            list(range(1, n + 1))
            if steps is None
            else [step_number(s, n) for s in steps]
        )
        per_epoch = int(self.info["schedule"]["batches_per_epoch"])
        got = [
            (step, given_rows(self.info, rows))
            for step, rows in steps_rows(self.info, wanted)
        ]
        counts = np.array([len(rows) for _, rows in got], np.int64)
        step_of = np.repeat(np.array([s for s, _ in got], np.int64), counts)
        rows = np.concatenate([r for _, r in got]) if got else np.zeros(0, np.int64)
        return pd.DataFrame(
            {
                "step": step_of,
                "epoch": (step_of - 1) // per_epoch + 1,
                "batch": (step_of - 1) % per_epoch + 1,
                "row": rows.astype(np.int64),
            }
        )

    @from_callers_line
    def explain(self, step: int, rows: int | None = None) -> pd.DataFrame:
        """The arithmetic of step ``step``: its rows with predictions, residuals (y -
        prediction), each row's loss and gradient and their mean;
        ``.attrs["update"]`` the optimizer's state before and after, the update and
        the new parameters;
        ``.attrs["logged"]`` and ``.attrs["why"]`` the loss as Keras logs it against
        the loss over all the data. ``rows``: only the batch's first so many rows
        (the mean still covers them all). See ``gradtrace.explain.explain_step``."""
        from gradtrace.explain import explain_step, file_blocks, run_data

        rows_of_steps = self._step_rows()  # refused before the data are read
        x, y, read = None, None, None
        if self._data is None and self.info["schedule"].get("stream"):
            read = file_blocks(self.info)  # the step's rows, as training read them
        else:
            x, y = self._data if self._data is not None else run_data(self.info)
        return explain_step(
            rows_of_steps, self.info, x, y, step, self.model, self.loss, rows, read
        )

    def _own_folder(self) -> Path | None:
        """The run folder this trace was written into as it ran, or read from."""
        return self.writer.folder if self.writer is not None else self.folder

    def _step_rows(self) -> Any:
        """The trace's rows by step, as ``explain`` reads them: from the frame, or
        of a long run kept thinned, from its folder (``gradtrace.explain.StepRows``)."""
        from gradtrace.explain import StepRows

        return StepRows(self._frame, self.info, self._own_folder())

    @overload
    def predict(
        self,
        data: Any,
        step: int | None = None,
        interval: None = None,
        level: float | None = None,
    ) -> np.ndarray: ...

    @overload
    def predict(
        self,
        data: Any,
        step: int | None = None,
        *,
        interval: str,
        level: float | None = None,
    ) -> pd.DataFrame: ...

    @from_callers_line
    def predict(
        self,
        data: Any,
        step: int | None = None,
        interval: str | None = None,
        level: float | None = None,
    ) -> np.ndarray | pd.DataFrame:
        """The model's prediction at each row of ``data``: the mean of y it gives
        there (a logistic regression's probability, a Poisson regression's mean
        count), with the final parameters (``params``) or those after ``step``
        (0: the start; -1: the last step, counted from the end), in float64.

        ``data``: a DataFrame, a dict of columns or a table with ``to_pandas``
        that holds the run's x columns by name (others are left alone), or x as
        an array: one column's values, or a matrix of a column per x. x is in its
        own units: a run on standardised x standardises it as the run did. A row
        missing an x value (NaN, None, or no category) is predicted NaN, its
        interval too, as R's ``predict`` with ``na.action = na.pass`` and
        ``gradtrace predict`` (an empty cell) leave it; the other rows are
        unchanged. Rows beyond the x values the run was fitted on, and a run
        that diverged or did not converge (the final parameters asked for), are
        warned of with a ``GradtraceWarning``, as the command prints notes.

        ``interval``: ``"confidence"`` for the interval of the mean y at each
        row, ``"prediction"`` for that of a new y there (a model with Gaussian
        noise: fitted by ``mse``, or by ``nll`` with a ``scale``), as R's
        ``predict(fit, new, interval=..., level=...)`` gives them, holding
        ``level`` of its distribution (0.9: a 90% interval; by default the
        run's own, ``fit(level=)``'s, 0.95 unless it chose another); a DataFrame is then
        returned (``prediction``, its ``std_error``, and ``ci_low``, ``ci_high``
        or ``pi_low``, ``pi_high``; ``.attrs["quantile"]`` says which
        distribution's, ``.attrs["level"]`` the level), from the estimates'
        covariance at the optimum by the delta method (``core.bands``), around
        the values predicted with: Student's t on n - p degrees of freedom for
        least squares, the normal for a likelihood, a logistic or Poisson
        regression's on its link's scale.

        Raises:
            InputError: a distribution (no x), an x column missing or not
                numbers, or a step the trace does not hold; an interval of a run
                without the estimates' covariance, a prediction interval of a
                model without Gaussian noise, or a level not between 0 and 1."""
        import jax
        import jax.numpy as jnp

        from gradtrace import validate
        from gradtrace.arguments import in_python
        from gradtrace.errors import InputError
        from gradtrace.usercode import model_of

        if interval not in (None, "confidence", "prediction"):
            raise InputError(
                f"interval={interval!r}: give 'confidence' (the mean y's "
                "interval) or 'prediction' (a new y's), or None for the "
                "predictions alone."
            )
        if level is None:  # the run's own, as its summary's intervals hold
            from gradtrace.estimates import level_of

            level = level_of(self.info)
        try:  # fit(level=)'s words (a percentage's share named)
            level = validate.level(level)
        except InputError as err:
            raise InputError(in_python(str(err), {"level"})) from None
        model = model_of(self.info, self.model)
        if getattr(model, "kind", "regression") == "distribution":
            from gradtrace.errors import COMMAND_LINE
            from gradtrace.text import for_python

            said = (
                f"predict is for regression models: {self.info['model']} is a "
                "distribution of y, with no x to predict at (its parameters: "
                "gradtrace show RUN)."
            )
            raise InputError(said if COMMAND_LINE.get() else for_python(said))
        offset = (self.info.get("model_options") or {}).get("offset")
        names = [str(c) for c in self.info["data"]["x"]] or ["x"]
        x = _x_of(
            data,
            names,
            names[-1] if offset else None,
            self.info["data"].get("categories"),
        )
        if step is None:
            params = self.params
        else:
            given = step
            if -self.steps <= step <= -1:  # counted from the end, as explain's
                step += self.steps + 1
            at = self._frame[self._frame["step"] == step]
            if not len(at):
                some = len(self._frame) < self.steps + 1  # a long run, thinned
                raise InputError(
                    f"the trace holds no step {given}: choose one from 0 to "
                    f"{self.steps}, or -1 to -{self.steps} counted from the end"
                    + (" that it holds (to_pandas()['step'])." if some else ".")
                )
            row = at.iloc[0]
            params = _by_param(self.info, lambda col: float(row[col]))
        from gradtrace.errors import COMMAND_LINE

        if not COMMAND_LINE.get():  # the command prints these as notes
            self._warn_of(x, names, data, step is None)
        fixed = self.info.get("fixed") or {}
        matrix = getattr(model, "x_matrix", False) or x.shape[1] > 1
        if interval is not None:
            from gradtrace.estimates import prediction_band

            band = prediction_band(
                self.info,
                model,
                params,
                fixed,
                x if matrix else x[:, 0],
                interval,
                float(level),
            )
            if isinstance(data, pd.DataFrame):  # rows named as the user's
                band.index = data.index
            return band
        with jax.enable_x64(True):
            p = {k: jnp.asarray(v, jnp.float64) for k, v in {**fixed, **params}.items()}
            values = model.predict(  # type: ignore[union-attr]  # a regression
                p, jnp.asarray(x if matrix else x[:, 0])
            )
            # a copy of its own (a model that ignores x gives one value)
            flat = np.asarray(values, np.float64).ravel()
            return np.array(np.broadcast_to(flat, len(x)))

    def _warn_of(self, x: np.ndarray, names: list[str], data: Any, final: bool) -> None:
        """``predict``'s warnings (``GradtraceWarning``), where the command
        prints notes: rows of ``x`` (columns ``names``) beyond the x values the
        run was fitted on, and (``final``: the final parameters asked for) the
        first of its convergence warnings, a run that did not converge or
        diverged."""
        import warnings

        from gradtrace.errors import GradtraceWarning
        from gradtrace.text import listed

        # the caller's line: predict, from_callers_line's wrapper, the caller
        caller = 4
        outside, spans = x_beyond(
            self.info, {n: x[:, i] for i, n in enumerate(names) if i < x.shape[1]}
        )
        if outside.any():
            rows = np.flatnonzero(outside)
            one = len(rows) == 1
            index = data.index if isinstance(data, pd.DataFrame) else None
            # a frame's rows by their labels, others by position from 0
            shown = (
                f"{'row' if one else 'rows'} "
                + listed([repr(index.tolist()[r]) for r in rows], 3)
                if index is not None and not isinstance(index, pd.RangeIndex)
                else f"{'position' if one else 'positions'} "
                + listed([int(r) for r in rows], 3)
            )
            some = "the row" if len(x) == 1 else f"{len(rows)} of the {len(x)} rows"
            warnings.warn(
                beyond_sentence(f"{some} ({shown})", one, spans),
                GradtraceWarning,
                stacklevel=caller,
            )
        caveat = self.fit_caveat() if final else None
        if caveat is not None:
            warnings.warn(
                f"predicting with this run: {caveat}",
                GradtraceWarning,
                stacklevel=caller,
            )

    def fit_caveat(self, run: str | None = None) -> str | None:
        """Why the final values are no fit to predict with, in a sentence: how a
        run that did not complete ended, else the first of its convergence
        warnings; None for a run that needs none. In Python's words where
        ``run`` is None, else the command's, naming the run's folder ``run``."""
        ended = [] if self.status == "completed" else [self.ending(run or "RUN")]
        said = (ended + self.convergence_warnings())[:1]
        if not said:
            return None
        first = said[0].removeprefix("warning: ")
        if run is None:
            from gradtrace.text import for_python

            return for_python(self.message if ended else first)
        return first

    @from_callers_line
    def explain_text(self, step: int, rows: int | None = 20) -> str:
        """Step ``step`` told in words and tables, as ``gradtrace explain`` prints
        it: the batch's rows (the first ``rows``; None: all), each row's loss and
        gradient and their mean, the gradient the step used, the optimizer's
        update, and the loss as Keras logs it against the loss over all the data
        (``print`` it)."""
        from gradtrace.explain import as_text, narration
        from gradtrace.text import for_python

        return for_python(as_text(narration(self, step, "this run", rows, "rows=None")))

    @from_callers_line
    def plot(
        self,
        which: str = "loss",
        params: Sequence[str] | str | None = None,
        ax: Any = None,
    ) -> Any:
        """A matplotlib figure of the run: ``fit``, ``loss``, ``params``,
        ``landscape`` (two parameters or more; ``params=("b", "c")`` picks the two,
        by default the first two), ``mse_loglik`` (a normal distribution or a
        line) or ``residuals`` (a regression's, against its prediction)
        (``gradtrace.plot`` has one function each). ``ax``: a matplotlib axes of
        yours (a subplot of your grid) to draw ``fit``, ``loss``, ``landscape`` or
        ``residuals`` on; that axes is then returned, as pandas and seaborn
        return it (a figure returned would be shown twice in Jupyter, as the
        cell's value and as pyplot's figure). Several runs in one figure, each in
        its colour: ``gradtrace.compare``."""
        from gradtrace import plot
        from gradtrace.text import for_python

        figures = {
            name.removesuffix(".png"): draw for name, draw in plot.RUN_FIGURES.items()
        }
        from gradtrace.errors import InputError

        if which not in figures:
            raise InputError(
                f"unknown figure {which!r}: choose one of {', '.join(figures)}."
            )
        if params is not None and which != "landscape":
            raise InputError(
                f"params= picks the landscape's two parameters: drop it for "
                f"plot({which!r}), or plot('landscape', params=...)."
            )
        if ax is not None and which not in ("fit", "loss", "landscape", "residuals"):
            raise InputError(
                f"plot({which!r}) draws several axes of its own: drop ax=, or "
                "draw 'fit', 'loss', 'landscape' or 'residuals' on it."
            )
        plot.check_axes(ax)
        names = params.split(",") if isinstance(params, str) else params
        if names is not None and len(names) != 2:
            raise InputError(
                f"params= takes two parameters' names, such as params=('b', 'c'), "
                f"got {params!r}."
            )
        try:
            if which == "landscape":
                pair = None
                if names is not None:
                    pair = (str(names[0]).strip(), str(names[1]).strip())
                drawn = plot.loss_landscape(self, pair, ax=ax)
                return drawn if ax is None else ax
            if ax is not None:
                on_axes = {
                    "fit": plot.fit_over_data,
                    "loss": plot.loss_curves,
                    "residuals": plot.residual_plot,
                }
                on_axes[which](self, ax=ax)
                return ax
            return figures[which](self)
        except InputError as err:
            said = re.sub(
                r"--params ([^,\s]+),([^:\s]+)", r"params=('\1', '\2')", str(err)
            )
            raise InputError(for_python(said)) from None
        except ValueError as err:  # the figure does not apply to this run
            raise InputError(f"plot({which!r}): {err}.") from None

    @from_callers_line
    def save(self, folder: str | Path, force: bool = False) -> Path:
        """Write ``trace.parquet`` and ``run.json`` into ``folder``, atomically.

        A long run whose trace was written as it went (``info["trace"]``) is saved
        into the folder it was written to: the first save puts the folder in
        place, a later one writes its ``run.json`` again."""
        from gradtrace.text import saved_for_python

        with saved_for_python():
            return self._save(Path(folder), force)

    def _save(self, folder: Path, force: bool) -> Path:
        from gradtrace.store import save_info, save_run

        if self.writer is not None:
            if Path(folder).resolve() != self.writer.folder.resolve():
                raise ValueError(
                    f"this trace was written into {str(self.writer.folder)!r} as the "
                    "run went; copy that folder instead of saving it elsewhere."
                )
            if self.writer.finished:
                return save_info(self.writer.folder, self.info)
            return self.writer.finish(self.info, self.state)  # type: ignore[no-any-return]
        return save_run(
            self._frame, self.info, Path(folder), force=force, state=self.state
        )

    def __repr__(self) -> str:
        i = self.info
        opt = i["optimizer"]
        lr = learning_rate(i)
        params = " ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        if i.get("original_units"):  # slopes per standard deviation of x
            params += " (on standardised x; summary() gives x's own units)"
        first = float(self._frame["loss"].iloc[0])
        # a step that left a parameter's support stopped the run: it did not
        # diverge (its loss may have been falling)
        left = self._left_support() if self.diverged else None
        # status "diverged", said as what happened
        status = (
            f"stopped: {left.split(',')[0]}, outside its support"
            if left
            else self.status
        )
        stopping = i.get("early_stopping") or {}
        if stopping.get("stopped_epoch") is not None:
            status = f"stopped early after epoch {stopping['stopped_epoch']}"
        if self.restored is not None:
            status += f", epoch {self.restored[0]}'s weights restored"
        final = _fmt(self.final_loss)
        taken = self.last_taken()
        if taken is not None:
            # not taken after the last step (a run stopped between its
            # evaluations): the last taken, and when, as show says it
            final = f"{_fmt(taken[1])} after step {taken[0]}"
        return (
            f"<Trace {i['model']}/{i['loss']} {opt['name']} lr={_fmt(lr)}: "
            f"{self.steps} step{'s' * (self.steps != 1)}, {status}; loss "
            f"{_fmt(first)} -> "
            f"{final}; {params}>" + "".join(f"\n  {w}" for w in self.warnings)
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the run in a line, its warnings, a small loss curve, and the
        parameters as ``summary()`` gives them: initial, final, and where the run
        has them the optimum, its standard error and interval, the truth."""
        from html import escape

        from gradtrace.estimates import level_of
        from gradtrace.text import percent, warned

        table = self.summary()
        shown = {
            "initial": "initial",
            "final": "final",
            "optimum": "optimum",
            "std_error": "std. error",
            "ci_low": f"{percent(level_of(self.info))} interval",
            "truth": "truth",
            "fixed": "fixed",
        }
        columns = [c for c in shown if c in table and table[c].notna().any()]

        def cell(row: Any, c: str) -> str:
            if c == "ci_low":  # both ends to the error's fourth digit
                from gradtrace.estimates import interval_text

                high, se = row.get("ci_high", math.nan), row.get("std_error", math.nan)
                return interval_text(float(row["ci_low"]), float(high), float(se), 4)
            v = row[c]
            return "" if math.isnan(v) else f"{v:.4g}" if c == "std_error" else _fmt(v)

        rows = "".join(
            f"<tr><th>{escape(str(name))}</th>"
            + "".join(f"<td>{escape(cell(row, c))}</td>" for c in columns)
            + "</tr>"
            for name, row in table.iterrows()
        )
        head = "".join(f"<th>{shown[c]}</th>" for c in columns)
        line = repr(self).split("\n")[0][1:-1]
        warnings = warned(self.warnings)
        notes = "".join(
            f'<p style="color:#555">note: {escape(n)}</p>' for n in self.notes
        )
        return (
            f"<p><b>gradtrace</b> {escape(line)}</p>{warnings}{notes}"
            f"{_sparkline(self._frame['loss'].to_numpy(float))}<table>"
            f"<tr><th></th>{head}</tr>{rows}</table>"
        )


def matching_truth(truth: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``truth`` (a data set's generating parameters) that are
    parameters among ``values`` (a run's, by name) of the same shape; none where a
    generating parameter other than the noise's ``scale`` is not one of the run's
    (a line's w and b against an exponential decay's a, b and c: its b is another
    b)."""
    if any(name not in values for name in truth if name != "scale"):
        return {}
    return {
        name: value
        for name, value in truth.items()
        if name in values and np.shape(value) == np.shape(values[name])
    }


def _is_vector(info: dict[str, Any], name: str) -> bool:
    return any(
        p["name"] == name and p.get("size") is not None
        for p in info.get("params_spec", [])
    )


def _sized(data: Any) -> bool:
    """Whether ``data`` is a list, tuple or array (of values to read one by one)."""
    return isinstance(data, (list, tuple, np.ndarray))


def beyond_sentence(rows: str, one: bool, spans: list[str]) -> str:
    """What ``predict`` says of ``rows`` (one row, or several) beyond the x
    values the run was fitted on, whose ranges ``spans`` (``x_beyond``'s) names."""
    return (
        f"{rows} {'lies' if one else 'lie'} beyond the x values the run was fitted "
        f"on ({'; '.join(spans)}): "
        f"{'its prediction takes' if one else 'their predictions take'} the model "
        "past its data, where nothing tested it."
    )


def x_beyond(
    info: dict[str, Any], columns: dict[str, Any]
) -> tuple[np.ndarray, list[str]]:
    """Which rows of ``columns`` (x values by column name, in x's own units)
    lie beyond the x values the run of run.json ``info`` was fitted on (its
    ``x_range``; a run saved before it kept them: none), and the ranges they
    pass ("hours 0.5 to 9.8"). Values are rounded to the run's dtype as its x
    were, so that a training row's own value is within them; a value that is
    not a number is not beyond."""
    from gradtrace.advice import g
    from gradtrace.tables import slope_columns

    ranges = info["data"].get("x_range") or {}
    dtype = info.get("compute_dtype") or info.get("dtype") or "float64"
    rows = len(next(iter(columns.values()))) if columns else 0
    outside = np.zeros(rows, bool)
    spans = []
    for name in slope_columns(info):
        if name not in ranges or name not in columns:
            continue  # a category's 0/1 column: the category itself is read
        numbers = pd.to_numeric(pd.Series(columns[name]), errors="coerce")
        values = numbers.to_numpy(np.float64)
        with np.errstate(over="ignore"):  # 1e40 in float32: inf, still beyond
            values = values.astype(dtype).astype(np.float64)
        low, high = np.asarray(ranges[name], np.float64).astype(dtype)
        off = (values < low) | (values > high)
        if off.any():
            outside |= off
            spans.append(f"{name} {g(low, 3)} to {g(high, 3)}")
    return outside, spans


def _x_of(
    data: Any,
    names: list[str],
    offset: str | None = None,
    categories: dict[str, list[str]] | None = None,
) -> np.ndarray:
    """``predict``'s x, [rows, columns] in float64: the columns ``names`` of a
    table, or an array of x (``offset``: the last of ``names``, the run's
    offset, said so where it is missing; ``categories``: the run's categorical
    columns', coded from a table's columns as the run coded them, and an
    array's given as their 0/1 columns)."""
    from collections.abc import Mapping

    from gradtrace.categories import coded
    from gradtrace.errors import InputError

    if callable(getattr(data, "to_pandas", None)) and not isinstance(
        data, pd.DataFrame
    ):
        data = data.to_pandas()
    if isinstance(data, (pd.DataFrame, Mapping)):
        frame = pd.DataFrame(data) if isinstance(data, Mapping) else data
        given = {str(c): c for c in frame.columns}
        # the columns as the user has them: a categorical column, not its 0/1 ones
        asked = list(names)
        for name, levels in (categories or {}).items():
            dummies = [f"{name}={v}" for v in levels[1:]]
            asked = [
                name if n == dummies[0] else n for n in asked if n not in dummies[1:]
            ]
        missing = [n for n in asked if n not in given]
        if missing:
            raise InputError(
                f"column {missing[0]!r} not found in the data (columns: "
                f"{', '.join(given) or 'none'}): predict takes the run's x "
                f"column{'s' * (len(asked) > 1)}, {', '.join(asked)}"
                + (f" ({offset} is its offset)" if offset else "")
                + "."
            )
        if categories:
            by_name = {given[n]: n for n in categories}
            frame = coded(frame.rename(columns=by_name), categories, "the data")
            given = {str(c): c for c in frame.columns}
        columns = []
        for n in names:
            values = pd.to_numeric(frame[given[n]], errors="coerce")
            bad = values.isna() & frame[given[n]].notna()
            if bad.any():
                where = bad.to_numpy().nonzero()[0]
                first = frame[given[n]].iloc[int(where[0])]
                written = str(first).strip()
                comma = (
                    f" (a decimal comma: write {written.replace(',', '.')}, not "
                    f"{written})"
                ) * bool(re.fullmatch(r"-?\d+,\d+", written))
                at = int(where[0])
                raise InputError(
                    f"column {n!r} holds values that are not numbers ({first!r} in "
                    f"data row {at + 1} (.iloc[{at}]), {len(where)} such row"
                    f"{'s' * (len(where) != 1)}){comma}: predict takes numbers, as "
                    "the run did."
                )
            columns.append(values.to_numpy(np.float64))
        return np.column_stack(columns) if columns else np.empty((0, len(names)))
    try:
        x = np.asarray(data, np.float64)
    except (TypeError, ValueError):
        cells = np.asarray(data, dtype=object) if _sized(data) else None
        if cells is not None and cells.ndim:
            flat = cells.ravel()
            for i, v in enumerate(flat):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise InputError(
                        f"predict's x holds a value that is not a number ({v!r}, "
                        f"value {i + 1} of {len(flat)}): give numbers, as the run "
                        "trained on."
                    ) from None
        raise InputError(
            f"predict takes a DataFrame or an array of x, got {type(data).__name__}."
        ) from None
    if x.ndim == 1 and len(names) == 1:
        return x[:, None]
    if x.ndim == 2 and x.shape[1] == len(names):
        return x
    raise InputError(
        f"x of shape {x.shape} does not fit the run's {len(names)} x "
        f"column{'s' * (len(names) > 1)} ({', '.join(names)}): give "
        + ("one value per row." if len(names) == 1 else f"[rows, {len(names)}].")
    )


def _by_param(info: dict[str, Any], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in info["params_spec"]:
        if p["name"] not in info["initial"]:
            continue
        if p["size"] is None:
            out[p["name"]] = value(p["name"])
        else:
            out[p["name"]] = [value(f"{p['name']}[{j}]") for j in range(p["size"])]
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if value is None:
        return "none"
    return f"{float(value):.7g}"


def _envelope(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The points of a line (``xs`` ascending, in pixels) that draw it at that
    width: in each pixel's column its lowest and highest point, in order, and the
    line's ends. A million steps' loss curve is then some 600 points, its spikes
    kept (every point, some 10 characters each, made a notebook cell megabytes)."""
    columns = np.floor(xs).astype(np.int64)
    if len(xs) <= 2 * (columns[-1] - columns[0] + 1):
        return np.arange(len(xs))
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    kept = {0, len(xs) - 1}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        part = ys[a:b]
        kept.update((a + int(np.argmin(part)), a + int(np.argmax(part))))
    return np.array(sorted(kept))


def _sparkline(loss: np.ndarray, width: int = 320, height: int = 80) -> str:
    """The loss over the steps as a small inline SVG (log scale when it spans
    decades)."""
    steps = np.flatnonzero(np.isfinite(loss))
    if len(steps) < 2:
        return ""
    values = loss[steps]
    if values.min() > 0 and values.max() / values.min() > 100:
        values = np.log10(values)
    lo, hi = float(values.min()), float(values.max())
    span = (hi - lo) or 1.0
    xs = 4 + (steps - steps[0]) / max(steps[-1] - steps[0], 1) * (width - 8)
    ys = 4 + (hi - values) / span * (height - 8)
    kept = _envelope(xs, ys)
    points = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in zip(xs[kept], ys[kept], strict=True)
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="loss per '
        f'step"><polyline fill="none" stroke="#3b528b" stroke-width="2" '
        f'points="{points}"/></svg>'
    )
