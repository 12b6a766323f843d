"""What a run watches as it goes, and what it does once it stops: early
stopping judged a compiled chunk of steps at a time (Keras's running values
carried from one chunk to the next, the rule's state in each checkpoint), and
the run's trace told what it decided (the restored weights as its final ones,
their statistics and their loss)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from gradtrace import stopping as early_stop
from gradtrace.assembly import fit_statistics
from gradtrace.core import early_stopping, loop
from gradtrace.tables import TraceParts
from gradtrace.tables import history as history_table
from gradtrace.trace import Trace

if TYPE_CHECKING:
    from gradtrace.planning import Plan


class Watch:
    """What early stopping watches, taken a chunk of steps at a time as the run
    goes (Keras's running values carried from one chunk to the next), and the
    rule's decision over the whole epochs so far."""

    def __init__(self, p: Plan, prepared: loop.Prepared | None) -> None:
        """``prepared``: the run in memory whose chunks ``add`` takes; None for a
        streamed run, whose steps come to ``add_history`` as Histories."""
        self.p, self.prepared = p, prepared
        if prepared is not None and not p.stopping.monitor.startswith("val_"):
            # the training loss or a metric: the held-out rows are not needed
            self.prepared = prepared._replace(validation=None)
        self.parts = TraceParts(
            [s for s in p.specs if s.name in p.trainable],
            {k: v.tolist() for k, v in p.trainable.items()},
            p.problem.metrics,
        )
        self.initial = (
            None if prepared is None else loop.initial_state(prepared, p.trainable)
        )
        self.judging = early_stopping.Judging(p.stopping, p.cdtype)

    def add(self, chunk: loop.Chunk) -> early_stopping.Stopped:
        """Judge the epochs that end in a compiled chunk of an in-memory run."""
        assert self.prepared is not None  # an in-memory run's
        history = loop.assemble(
            self.prepared, [chunk], self.p.trainable, chunk.t0, initial=self.initial
        )
        return self.add_history(history)

    def add_history(self, history: loop.History) -> early_stopping.Stopped:
        """Judge the epochs that end in the next steps of the run, as a History
        (a streamed run's segment)."""
        p = self.p
        frame = self.parts.frame(history)
        ends = frame[(frame["step"] > 0) & (frame["batch"] == p.per_epoch)]
        epochs = history_table(ends, p.per_epoch, int(frame["step"].iloc[-1]))
        return self.judging.add(early_stop.watched(epochs, p.stopping).tolist())

    def state(self) -> dict[str, np.ndarray]:
        """Where it stands (Keras's running sums, the rule's state), for a
        checkpoint's ``state.npz``."""
        held = {f"stop_{k}": v for k, v in self.parts.state().items()}
        return {**held, "stop_judging": self.judging.state()}

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Go on from a checkpoint's ``state``."""
        self.parts.restore(
            {
                k.removeprefix("stop_"): v
                for k, v in state.items()
                if k.startswith("stop_")
            }
        )
        self.judging.restore(state["stop_judging"])


def stopped_early(
    trace: Trace,
    p: Plan,
    history: loop.History | None,
    reference: dict[str, Any],
    stopped: early_stopping.Stopped,
    evaluate: Callable[[dict[str, Any]], float] | None = None,
) -> None:
    """Say in ``trace.info`` what early stopping decided, and set the weights it
    restored as the run's final ones (its statistics taken there; ``history``:
    the run's steps, or None for a run written in parts, whose trace holds the
    restored step's row)."""
    info = trace.info
    restored_step = None
    if stopped.restored_epoch is not None:
        restored_step = stopped.restored_epoch * p.per_epoch
    info["early_stopping"] = {
        **p.stopping.to_dict(),
        "stopped_epoch": stopped.stopped_epoch,
        "best_epoch": stopped.best_epoch,
        "best": stopped.best,
        "restored_epoch": stopped.restored_epoch,
        "restored_step": restored_step,
    }
    close = _close_calls(trace, p)
    if close:
        info["notices"] = [*info.get("notices", []), close]
    if trace.restored is not None:  # set just above
        info["params"] = trace.params  # the restored ones
        if math.isnan(trace.final_loss) and evaluate is not None:
            # not taken at that step (--eval-every): taken now, at those values
            info["early_stopping"]["restored_loss"] = evaluate(trace.params)
        info["final_loss"] = trace.final_loss
        if trace.last_taken() is None:  # the restored weights' loss, taken
            info.pop("last_loss", None)
        if history is not None:
            kept = loop.upto(history, trace.restored[1])
            info.update(fit_statistics(p, kept, reference))
        else:
            final = {k: np.asarray(v) for k, v in trace.params.items()}
            info.update(fit_statistics(p, None, reference, final=final))


def _close_calls(trace: Trace, p: Plan) -> str | None:
    """A notice where early stopping decided an epoch by a few ulps
    (``early_stopping.close_calls``): another framework may stop elsewhere."""
    rule = p.stopping
    try:
        epochs = trace.history()
    except Exception:  # noqa: BLE001 - a view that needs the data: no notice
        return None
    if rule is None or rule.monitor not in epochs:
        return None
    values = epochs[rule.monitor].to_numpy(np.float64)
    close = early_stopping.close_calls(rule, values, p.pdtype)
    if not close:
        return None
    epoch, value, best = close[0]
    more = f" (and {len(close) - 1} more)" if len(close) > 1 else ""
    return (
        f"early stopping's call at epoch {epoch}{more} turned on float rounding: "
        f"{rule.monitor} {value:.9g} against the best so far, {best:.9g}, "
        f"{abs(value - best):.2g} apart; a framework that sums in another order "
        "(Keras) may call it the other way, and stop or restore an epoch apart"
    )


def loss_at(p: Plan, prepared: loop.Prepared) -> Callable[[dict[str, Any]], float]:
    """The loss over all the training data at given values (the user's)."""

    def loss(values: dict[str, Any]) -> float:
        xd, yd, fixed = prepared.data
        dtype = np.dtype(p.pdtype)
        user = {k: np.asarray(values[k], dtype) for k in p.problem.trainable}
        with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
            internal = p.problem.internal_params(user)
            return float(prepared.evaluate(internal, fixed, xd, yd))

    return loss
