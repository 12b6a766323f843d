"""Several runs in one figure: their losses over the epochs side by side, and,
where they fitted the same model to the same data, their paths over one loss
landscape (SGD against momentum, RMSprop and Adam, the lesson's picture)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from gradtrace.plot import (
    _cmap,
    _figure,
    _filled,
    _flat_named,
    exit_point,
    finite_optimum,
    landscape_grid,
    landscape_levels,
    ran_away,
)
from gradtrace.tables import axis_labels, param_columns, param_labels
from gradtrace.text import full_batch, learning_rate, loss_rounding, model_by_loss

#: The most runs one figure tells apart by colour (matplotlib's tab10)
MAX_RUNS = 10


#: Paths of at most this many points mark each step's point on compare.png
DOTTED_STEPS = 200


def run_labels(traces: Sequence[Any]) -> list[str]:
    """Each run's name in the legend: its optimizer and rate, and of what else
    the runs set apart (batch size, a schedule, the start), only what differs
    between them; of an optimizer's own values (momentum, betas), those that
    differ between runs of that optimizer."""
    infos = [t.info for t in traces]

    def varied(info: dict[str, Any], key: str) -> bool:
        """Whether runs of this run's optimizer differ in its value ``key``."""
        name = info["optimizer"]["name"]
        values = {
            repr(i["optimizer"].get(key))
            for i in infos
            if i["optimizer"]["name"] == name
        }
        return len(values) > 1

    def optimizer(info: dict[str, Any]) -> str:
        return str(info["optimizer"]["name"])

    def lr(info: dict[str, Any]) -> str:
        return f"lr={learning_rate(info):.3g}"

    def batch(info: dict[str, Any]) -> str:
        size = int(info["schedule"]["batch_size"])
        return "full batch" if size >= int(info["data"]["n_rows"]) else f"batch {size}"

    # beside a run with no momentum, a run's momentum is named whatever its
    # optimizer (plain SGD against momentum 0.9)
    bare = any(not i["optimizer"].get("momentum") for i in infos)

    def hyper(info: dict[str, Any]) -> str:
        own = {
            k: v
            for k, v in info["optimizer"].items()
            if k not in ("name", "learning_rate", "lr")
            and (varied(info, k) or (k == "momentum" and bool(v) and bare))
        }
        return ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in own.items()
        )

    def schedule(info: dict[str, Any]) -> str:
        return str((info.get("lr_schedule") or {}).get("name") or "")

    def start(info: dict[str, Any]) -> str:
        return ", ".join(
            f"{k}={v:.3g}" for k, v in _flat_named(info["initial"]).items()
        )

    def problem(info: dict[str, Any]) -> str:
        return model_by_loss(info)

    def data(info: dict[str, Any]) -> str:
        source = str(info["data"]["source"])
        return "on " + source.replace(chr(92), "/").rsplit("/", 1)[-1]

    def order(info: dict[str, Any]) -> str:
        schedule = info["schedule"]
        if full_batch(info):
            return ""
        shuffled = f"shuffled, seed {schedule.get('seed')}"
        if schedule.get("shuffle") == "torch":
            shuffled = f"PyTorch's order, seed {schedule.get('seed')}"
        if schedule.get("shuffle") == "keras":
            shuffled = f"Keras's order, seed {schedule.get('seed')}"
        return shuffled if schedule.get("shuffle") else "in order"

    def streamed(info: dict[str, Any]) -> str:
        return "streamed" if info["schedule"].get("stream") else "in memory"

    parts = [optimizer, lr, batch, hyper, schedule, start, problem, data, order]
    parts.append(streamed)

    def differs(f: Any) -> bool:
        # the order of batches counts between mini-batch runs alone: a full
        # batch has none
        values = {f(i) for i in infos}
        return len(values - {""} if f is order else values) > 1

    shown = [optimizer, lr] + [f for f in parts[2:] if differs(f)]
    labels = [", ".join(filter(None, (f(i) for f in shown))) for i in infos]
    if len(set(labels)) < len(labels):  # the same settings: told apart by number
        labels = [f"{k + 1}: {label}" for k, label in enumerate(labels)]
    return labels


def same_problem(traces: Sequence[Any]) -> bool:
    """Whether the runs fitted one model by one loss to the same values, with
    the same parameters trained: their losses share an optimum and their paths a
    landscape."""
    first = traces[0].info

    def key(info: dict[str, Any]) -> tuple[Any, ...]:
        data = info["data"]
        return (
            info["model"],
            repr(info.get("model_options")),
            info["loss"],
            repr(info.get("loss_options")),
            info["reduction"],
            int(data["n_rows"]),
            tuple(data.get("x") or ()),
            data.get("y"),
            repr(info.get("fixed")),
            tuple(info["initial"]),
        )

    return all(
        key(t.info) == key(first) and same_data(t.info["data"], first["data"])
        for t in traces[1:]
    )


def same_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two runs trained on the same values: by their checksum where both
    have it, else by their file's (a streamed run keeps the file's alone), else
    by where they came from."""
    for key in ("values_sha256", "sha256"):
        if a.get(key) and b.get(key):
            return bool(a[key] == b[key])
    return bool(a.get("source") == b.get("source") and a.get("path") == b.get("path"))


def _rebuilt(trace: Any) -> bool:
    """Whether a run's model can be had for its landscape: not a saved run's
    model of the user's own, loaded without it (its losses are drawn all the
    same)."""
    from gradtrace.errors import InputError
    from gradtrace.usercode import loss_of, model_of

    try:
        model_of(trace.info, trace.model)
        loss_of(trace.info, trace.loss)
    except InputError:
        return False
    return True


def compare_runs(traces: Sequence[Any], labels: Sequence[str] | None = None) -> Figure:
    """Runs side by side: each run's loss over all its data after each step,
    over epochs (so that runs of different batch sizes line up), as its gap to
    the optimum's loss on a log scale where they share one; and, where they
    fitted the same model to the same data (``same_problem``) and train two
    parameters or more, every run's path over the first run's loss landscape
    of the first two (the others held at the optimum), each in its colour, with
    its start and end, and the optimum's star. ``labels``: the runs' names in
    the legend (by default ``run_labels``)."""
    if len(traces) < 2:
        raise ValueError("compare takes two runs or more")
    if len(traces) > MAX_RUNS:
        raise ValueError(
            f"compare tells up to {MAX_RUNS} runs apart by colour, got {len(traces)}"
        )
    names = list(labels) if labels is not None else run_labels(traces)
    if len(names) != len(traces):
        raise ValueError(
            f"{len(traces)} runs take {len(traces)} labels, got {len(names)}"
        )
    shared = same_problem(traces)
    cols = param_columns(traces[0].to_pandas())
    landscape = shared and len(cols) >= 2 and _rebuilt(traces[0])
    fig, axes = _figure(13 if landscape else 7.5, 5.2, cols=2 if landscape else 1)
    ax = axes[0] if landscape else axes
    colours = [_cmap("tab10")(k % 10) for k in range(len(traces))]
    # each run's gap to its own optimum's loss where every run has one (the
    # same optimum where they share the problem)
    optima = [t.info.get("optimum_loss") for t in traces]
    floors = None
    if all(o is not None and math.isfinite(float(o)) for o in optima):
        floors = [float(o) for o in optima]  # type: ignore[arg-type]
    _losses(ax, traces, names, colours, floors, shared)
    if landscape:
        _paths(axes[1], traces, names, colours, cols)
    title = f"{len(traces)} runs"
    if shared:
        info = traces[0].info
        source = str(info["data"]["source"])
        title += f": {model_by_loss(info)}"
        if source != "python data":  # a file by its name, a built-in data set
            title += f" on {source.replace(chr(92), '/').rsplit('/', 1)[-1]}"
    else:  # their losses are apart: no optimum nor landscape to share
        title += " of different models, losses or data (each its own optimum)"
    fig.suptitle(_filled(title, 100), fontsize=11)
    handles, texts = ax.get_legend_handles_labels()
    _fitted_legend(fig, handles, texts)
    return fig


def _fitted_legend(fig: Figure, handles: list[Any], texts: list[str]) -> None:
    """The figure's legend below its charts in as many columns (up to four) as
    its width holds, measured; a label too wide for one column wrapped. Long
    labels of runs on different data ran off both edges of a one-chart figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not texts:
        return
    renderer = FigureCanvasAgg(fig).get_renderer()  # as plot._place measures
    width = fig.bbox.width

    def placed(ncol: int, labels: list[str]) -> Any:
        legend = fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=ncol,
            fontsize=9,
            frameon=False,
        )
        if legend.get_window_extent(renderer).width <= width or ncol == 1:
            return legend
        legend.remove()
        return None

    legend = None
    for ncol in range(min(4, len(texts)), 0, -1):
        legend = placed(ncol, texts)
        if legend is not None:
            break
    assert legend is not None  # one column is always placed
    chars = max(len(t) for t in texts)
    while legend.get_window_extent(renderer).width > width and chars > 20:
        chars = int(chars * 0.85)
        legend.remove()
        legend = placed(1, [_filled(t, chars) for t in texts])


def same_runs(traces: Sequence[Any]) -> list[int | None]:
    """For each run, the first earlier one it repeats (the same losses and
    parameters at the same epochs, to a millionth), else None: drawn alike, one
    would hide the other."""
    seen: list[tuple[Any, ...]] = []
    out: list[int | None] = []
    for trace in traces:
        frame = trace.to_pandas()
        per_epoch = int(trace.info["schedule"]["batches_per_epoch"])
        # by name: a model's expression and the same model in Python list
        # their parameters in other orders (c, a, k against a, k, c)
        cols = ["loss", *sorted(param_columns(frame))]
        these = (
            tuple(cols),
            frame["step"].to_numpy(float) / per_epoch,
            *(frame[c].to_numpy(float) for c in cols),
        )
        twin = next(
            (
                j
                for j, those in enumerate(seen)
                if those[0] == these[0]
                and all(
                    a.shape == b.shape
                    and np.allclose(a, b, rtol=1e-6, atol=0, equal_nan=True)
                    for a, b in zip(these[1:], those[1:], strict=True)
                )
            ),
            None,
        )
        seen.append(these)
        out.append(twin)
    return out


def _losses(
    ax: Any,
    traces: Sequence[Any],
    names: Sequence[str],
    colours: Sequence[Any],
    floors: list[float] | None,
    shared: bool,
) -> None:
    """Each run's loss over all the data where taken, over epochs; its gap to
    its optimum's loss (``floors``, one a run: shared, or each run's own where
    they fitted different problems) on a log scale where every run has one. A
    run that diverged ends in a cross, at the last step it had a finite loss."""
    drawn: list[np.ndarray] = []
    kept: list[np.ndarray] = []  # the curves of the runs that did not diverge
    blown: list[tuple[np.ndarray, np.ndarray, Any]] = []
    rounding = 0.0  # the highest floor a run's curve touched
    twins = same_runs(traces)
    for k, (trace, name, colour) in enumerate(zip(traces, names, colours, strict=True)):
        best = None if floors is None else floors[k]
        frame = trace.to_pandas()
        per_epoch = int(trace.info["schedule"]["batches_per_epoch"])
        epochs = frame["step"].to_numpy(float) / per_epoch
        loss = frame["loss"].to_numpy(float)
        shown = loss - best if best is not None else loss
        if best is not None:  # at the optimum, to float rounding: the floor
            # within ten of the loss's epsilons of the optimum's loss the gap is
            # rounding: drawn flat there (it swung between 1e-12 and 2e-7, and a
            # class read Adam as still bouncing), as the summary's "gap 0"
            floor = loss_rounding(trace.info, best)
            touched = np.isfinite(shown) & (shown <= floor)
            shown = np.where(touched, floor, shown)
            if touched.any():
                rounding = max(rounding, floor)
        ok = np.isfinite(shown)
        sparse = ok.sum() < len(shown) / 2
        label = name + (" (diverged)" if trace.diverged else "")
        twin = twins[k]
        if twin is not None:  # dashed over the run it repeats, which shows between
            label += f" (the same run as {names[twin]})"
        ax.plot(
            epochs[ok],
            shown[ok],
            color=colour,
            lw=1.6,
            ls="-" if twin is None else (0, (4, 4)),
            marker="o" if sparse else None,
            ms=3,
            label=label,
        )
        if trace.diverged and ok.any():
            last = np.flatnonzero(ok)[-1]
            ax.plot(epochs[last], shown[last], "x", color=colour, ms=9, mew=2)
            blown.append((epochs[ok], shown[ok], colour))
        else:
            kept.append(shown[ok])
        drawn.append(shown[ok])
    if rounding > 0:
        ax.axhline(
            rounding,
            color="0.55",
            ls=":",
            lw=1,
            label="float rounding of the loss: a gap at or below it is 0",
        )
    values = np.concatenate(drawn) if drawn else np.empty(0)
    positive = values[values > 0]
    if floors is not None or (
        len(positive) == len(values)
        and len(values)
        and values.max() > 100 * values.min()
    ):
        ax.set_yscale("log")
    _framed_on_the_kept(ax, kept, blown)
    # full batches are alike whatever the rows (two data sets of their own)
    sizes = {
        "full" if full_batch(t.info) else int(t.info["schedule"]["batch_size"])
        for t in traces
    }
    ax.set_xlabel("epoch" + (" (the batch sizes differ)" if len(sizes) > 1 else ""))
    if floors is None:
        ax.set_ylabel("loss over all the data")
        ax.set_title("the loss after each step", fontsize=10)
        return
    whose = "the optimum's loss" if shared else "each run's own optimum's loss"
    ax.set_ylabel(f"loss − {whose} (over all the data)")
    ax.set_title(f"the loss's gap to {whose} after each step", fontsize=10)


#: How far above the highest loss of a run that did not diverge the loss panel
#: reaches (a factor on a log scale, a share of the range on a linear one)
HEADROOM_LOG, HEADROOM_LINEAR = 30.0, 0.25


def _framed_on_the_kept(
    ax: Any,
    kept: list[np.ndarray],
    blown: list[tuple[np.ndarray, np.ndarray, Any]],
) -> None:
    """Where some runs diverged and others did not: the loss panel framed on
    the others' curves (a diverged run's 1e34 squeezed them into one flat line
    at the bottom), each diverged curve leaving it at the top, where a triangle
    marks the epoch it left."""
    values = np.concatenate(kept) if kept else np.empty(0)
    values = values[np.isfinite(values)]
    if not blown or not len(values):
        return
    log = ax.get_yscale() == "log"
    low, high = float(values.min()), float(values.max())
    if log:
        low = float(values[values > 0].min()) if (values > 0).any() else low
        top, bottom = high * HEADROOM_LOG, low / 2
    else:
        span = max(high - low, abs(high) * 1e-3, 1e-12)
        top, bottom = high + HEADROOM_LINEAR * span, low - 0.05 * span
    if all(np.max(shown) <= top for _, shown, _ in blown):
        return  # every diverged curve fits: nothing to cut
    ax.set_ylim(bottom, top)
    for epochs, shown, colour in blown:
        over = np.flatnonzero(shown > top)
        if len(over):
            ax.plot(
                epochs[over[0]],
                top,
                "^",
                color=colour,
                ms=9,
                clip_on=False,
                zorder=5,
            )
    ax.text(
        0.99,
        0.98,
        "▲ a diverged run's loss leaves the chart",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
        color="0.3",
    )


def _paths(
    ax: Any,
    traces: Sequence[Any],
    names: Sequence[str],
    colours: Sequence[Any],
    cols: list[str],
) -> None:
    """The runs' paths over the first two parameters on the first run's loss
    landscape, framed on every path (up to where a run blew up) and the
    optimum."""

    first = traces[0]
    a, b = cols[0], cols[1]
    optimum = finite_optimum(first.info)
    paths = []
    whole = []  # each run's finite steps, a run that blew up's beyond its cut too
    for trace in traces:
        frame = trace.to_pandas()
        cut = ran_away(trace, frame["loss"].to_numpy(float))
        pa, pb = frame[a].to_numpy(float), frame[b].to_numpy(float)
        finite = np.isfinite(pa) & np.isfinite(pb)
        keep = finite.copy()
        if cut is not None:
            keep[cut:] = False
        paths.append((pa[keep], pb[keep], cut is not None))
        whole.append((pa[finite], pb[finite]))
    # framed on the runs that did not blow up (and every start): one that did
    # leaves the chart, which keeps the others' paths readable
    framed = [p for p in paths if not p[2]] or paths
    xs = np.concatenate(
        [p[0] for p in framed]
        + [p[0][:1] for p in paths]
        + [[optimum[a]]] * (a in optimum)
    )
    ys = np.concatenate(
        [p[1] for p in framed]
        + [p[1][:1] for p in paths]
        + [[optimum[b]]] * (b in optimum)
    )
    A, B, Z, over, held_at, lowest = landscape_grid(first, a, b, xs, ys)
    ga, gb = A[0], B[:, 0]
    xlim, ylim = (float(ga[0]), float(ga[-1])), (float(gb[0]), float(gb[-1]))
    # a run that blew up, drawn up to its first step off the chart and that
    # step's line to the chart's edge: its swings beyond the others' frame were
    # a fan of parallel lines across the chart, read as its path
    leaving: list[tuple[tuple[float, float], tuple[float, float]] | None] = []
    for k, (pa, pb, left) in enumerate(paths):
        inside = (pa >= xlim[0]) & (pa <= xlim[1]) & (pb >= ylim[0]) & (pb <= ylim[1])
        if not left or inside.all() and len(pa) == len(whole[k][0]):
            leaving.append(None)
            continue
        out = int(np.argmin(inside)) if not inside.all() else len(pa)
        if out == 0:  # its start is framed: never so, but nothing to draw from
            leaving.append(None)
            continue
        last = (float(pa[out - 1]), float(pb[out - 1]))
        gone = (float(whole[k][0][out]), float(whole[k][1][out]))
        leaving.append((last, exit_point(xlim, ylim, last, gone)))
        paths[k] = (pa[:out], pb[:out], True)
    levels, norm = landscape_levels(Z[np.isfinite(Z)], lowest=lowest)
    ax.contourf(A, B, Z, levels=levels, cmap=_cmap("Greys_r"), norm=norm, alpha=0.6)
    # the first run widest, each later one narrower over it: paths that share a
    # stretch (SGD and momentum set off alike) show each colour, and starts and
    # ends at one place are rings of their own
    wider = [(len(paths) - 1 - i) / max(len(paths) - 1, 1) for i in range(len(paths))]
    # but no wider than a mini-batch path's zigzag can take: at 4 points wide
    # SGD's 60 steps to and fro were one blue block hiding their order
    for (pa, pb, _), colour, w in zip(paths, colours, wider, strict=True):
        ax.plot(pa, pb, "-", color=colour, lw=1.2 + 1.6 * w, alpha=0.9)
        if len(pa) <= DOTTED_STEPS:  # each step's point, where they can be told
            ax.plot(pa, pb, ".", color=colour, ms=2.5 + 2 * w)
        ax.plot(pa[0], pb[0], "o", color="white", mec=colour, ms=7 + 6 * w, mew=1.5)
    for leave, colour in zip(leaving, colours, strict=True):
        if leave is not None:  # the step off the chart, dashed, to an arrow
            (x0, y0), (x1, y1) = leave
            ax.plot([x0, x1], [y0, y1], "--", color=colour, lw=1.2, alpha=0.9)
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0 + 0.85 * (x1 - x0), y0 + 0.85 * (y1 - y0)),
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.5},
                annotation_clip=False,
            )
    if a in optimum and b in optimum:  # black: no run's colour
        ax.plot(
            optimum[a], optimum[b], "*", color="black", mec="white", ms=14, zorder=3
        )
    for (pa, pb, left), colour, w in zip(paths, colours, wider, strict=True):
        if not left and len(pa):  # over the paths and the star: each run's end
            ax.plot(
                pa[-1],
                pb[-1],
                "s",
                mfc="none",
                mec=colour,
                ms=9 + 8 * w,
                mew=2,
                zorder=4,
            )
    ax.set_xlim(ga[0], ga[-1])
    ax.set_ylim(gb[0], gb[-1])
    labels = param_labels(first, cols)
    axes = axis_labels(first, cols)  # per SD on standardised x
    ax.set_xlabel(axes[a])
    ax.set_ylabel(axes[b])
    lines = [
        f"the paths on the loss landscape ({over}; darker is lower)",
        "○ start, □ end, ★ optimum",
    ]
    others = [c for c in cols if c not in (a, b)]
    if others:
        lines.append(
            f"{', '.join(labels[o] for o in others)} held at {held_at}s "
            "(the runs move them too)"
        )
    if any(left for _, _, left in paths):
        lines.append(
            "a run that blew up is drawn up to where it left the chart"
            + " (dashed: that step, toward where it went)"
            * any(leave is not None for leave in leaving)
        )
    ax.set_title(_filled("\n".join(lines), 70), fontsize=10)
