"""The pictures of a sweep (its heatmap and its loss curves) and of a
learning-rate range test, in matplotlib."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtrace.plot import (
    TITLE_CHARS,
    _cmap,
    _figure,
    _filled,
    _place,
    _plain_log_labels,
)
from gradtrace.tables import swept_key
from gradtrace.text import model_by_loss

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gradtrace.sweeps import Sweep


#: A title's characters a line on an axes of the caller's (a subplot of a grid,
#: narrower than the figure of its own a picture is drawn for).
AXES_TITLE_CHARS = 48


def _titled(ax: Any, text: str, own: bool, **kwargs: Any) -> None:
    """The title: on a figure of its own as drawn before; on the caller's axes
    smaller and filled to the axes (a line the width of the figure of its own ran
    into the next subplot)."""
    if own:
        ax.set_title(text, **kwargs)
        return
    ax.set_title(_filled(text, AXES_TITLE_CHARS), fontsize=9, **kwargs)


def _inner_legend(ax: Any, handles: Any = None, **kwargs: Any) -> Any:
    """A legend inside the caller's axes, where it covers the least (the figure
    of its own puts it below the chart instead), its labels filled to 40
    characters."""
    import textwrap

    if handles is not None:
        for h in handles:
            h.set_label(textwrap.fill(h.get_label(), 40))
        kwargs["handles"] = handles
    return ax.legend(loc="best", fontsize=7, framealpha=0.85, **kwargs)


def highest_above(gaps: np.ndarray, ceiling: float) -> float:
    """The highest finite gap of a curve above the chart's ``ceiling``, or inf
    where it leapt from below it to overflow (a legend had said "rose above
    5.24e+06, to 2.6e+03 at most": the highest finite value, below the top)."""
    over = gaps[np.isfinite(gaps) & (gaps > ceiling)]
    return float(over.max()) if len(over) else math.inf


def at_most(above: list[float]) -> str:
    """ ", to 3.9e+14 at most": the highest of the curves that left the chart
    (``highest_above`` each), where any stayed finite up there; else nothing."""
    tops = [a for a in above if math.isfinite(a)]
    return f", to {max(tops):.3g} at most" if tops else ""


def _swept(sweep: Sweep) -> list[str]:
    """The columns of a sweep's table that vary from configuration to
    configuration (learning rate, batch size, seed, a start, ...)."""
    return sweep.swept


def _second_axis(sweep: Sweep) -> str | None:
    """The swept dimension shown on the heatmap's y axis, if any."""
    return next((c for c in _swept(sweep) if c != "lr"), None)


def _label(value: Any) -> str:
    """A swept value on an axis: 0.01, or a vector's [1, -2, 0.5]."""
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
    return f"{value:g}"


#: Learning rates up to which a heatmap names each column by its rate.
HEATMAP_RATES_NAMED = 12


def sweep_heatmap(sweep: Sweep, ax: Any = None) -> Figure:
    """Learning rate (x) against the second swept value (y): the steps each cell took
    to bring every parameter within ``tol`` of the optimum (colour, log scale); grey
    where it never did, a red cross where it diverged, a red arrow where its loss
    ended above its start though finite (left out of the colour scale, which one
    loss of 1e22 would flatten). Where no cell came within ``tol``, the colour is
    the gap to the optimum's loss of where each settled instead
    (``tables.settled_loss``: a mini-batch run's ``tail_loss``, a full-batch
    run's last loss; the final loss in older sweeps), and so where fewer than
    half the cells that did not diverge or rise came within it, those that did
    with their steps written in them. Cells that several configurations share
    (other swept values) show the median (a repeat that never came within
    ``tol`` counted as never), a cross if any diverged, an arrow if most ended
    above their start, and how many came within or rose where some did."""
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    table = sweep.table
    ycol = _second_axis(sweep)
    lrs = np.sort(table["lr"].unique())
    # the second axis's values in order, by their rows' places: a vector
    # parameter's starts are lists, which neither sort nor hash
    values = sorted({swept_key(v) for v in table[ycol]}) if ycol else [0.0]
    ys = np.arange(len(values))
    place = {v: i for i, v in enumerate(values)}
    keyed = table.assign(
        _y=table[ycol].map(lambda v: place[swept_key(v)]) if ycol else 0
    )
    # a repeat that never came within tol counts as never (its NaN skipped, the
    # others' median coloured a cell where one of three missed as if all came)
    reached = keyed.assign(_s=keyed["steps_to_tol"].astype(float).fillna(np.inf))
    repeats = reached.groupby(["_y", "lr"])["_s"]
    med = repeats.median().replace(np.inf, np.nan).unstack("lr")
    came_in = (
        repeats.agg(lambda v: int(np.isfinite(v).sum())).unstack("lr"),
        repeats.size().unstack("lr"),
    )
    div = keyed.groupby(["_y", "lr"])["diverged"].any().unstack("lr")
    med = med.reindex(index=ys, columns=lrs)
    div = div.reindex(index=ys, columns=lrs).fillna(False)
    diverged = div.to_numpy(bool)
    rose = np.zeros_like(diverged)
    rose_of = np.zeros(diverged.shape, int)
    if "ended_above_start" in table:
        # a cell rose where most of its configurations did (one seed's of three
        # greyed a cell whose median settled below its start)
        ups = keyed.groupby(["_y", "lr"])["ended_above_start"]
        up = (ups.mean() > 0.5).unstack("lr")
        rose = up.reindex(index=ys, columns=lrs).fillna(False).to_numpy(bool)
        rose = rose & ~diverged
        counted = ups.sum().unstack("lr").reindex(index=ys, columns=lrs)
        rose_of = counted.fillna(0).to_numpy(int)
    steps = med.to_numpy(dtype=float, copy=True)
    steps[diverged] = np.nan
    # where fewer than half the cells that settled came within tol, the colour
    # is the gap left instead (the cells that came within it say their steps):
    # grey all but a corner says little of how the rate matters
    within = np.isfinite(steps)
    settled = int((~diverged & ~rose).sum())
    by_gap = "gap" in table and 2 * int(within.sum()) < settled
    tail = "tail_loss" in table
    zero = 0.0  # the gap drawn for 0
    if by_gap:
        # the loss the gap is from: the optimum's, or the loss's infimum
        from gradtrace.tables import settled_loss

        floor = table["loss"].astype(float) - table["gap"].astype(float)
        ended = settled_loss(table, sweep.info.get("data", {}).get("n_rows"))
        # a gap within the loss's rounding is 0 (as the summary says it), drawn
        # at half that band: at 1e-300 the colours had run to 1e-300
        size = float(np.nanmedian(np.abs(floor))) if len(floor) else 1.0
        zero = 5 * float(np.finfo(sweep.compute_dtype).eps) * max(size, 1e-30)
        gap = keyed.assign(_g=(ended - floor).clip(lower=zero))
        cells = gap.groupby(["_y", "lr"])["_g"].median().unstack("lr")
        steps = cells.reindex(index=ys, columns=lrs).to_numpy(dtype=float, copy=True)
        steps[diverged | rose | ~np.isfinite(steps)] = np.nan
    own = ax is None  # else the caller's axes, in a figure of theirs
    fig, ax = _figure(8.5, max(3.2, 2.0 + 0.45 * len(ys)), layout=None, ax=ax)
    ax.set_facecolor("#d9d9d9")  # never within tol
    finite = steps[np.isfinite(steps)]
    low = finite.min() if len(finite) else 1.0
    norm = (
        LogNorm(vmin=low, vmax=max(finite.max(), low * 10))
        if by_gap and len(finite)
        else LogNorm(vmin=max(low, 1), vmax=max(finite.max(), 2))
        if len(finite)
        else None
    )
    edges_x = _edges(lrs, log=True)
    edges_y = np.arange(len(ys) + 1) - 0.5
    mesh = ax.pcolormesh(
        edges_x,
        edges_y,
        np.ma.masked_invalid(steps),
        cmap="viridis",
        norm=norm,
        shading="flat",
    )
    # the cells that came within tol: their steps, written in them where a
    # column is wide enough (100 rates ran their numbers together)
    if by_gap and len(lrs) <= STEPS_WRITTEN_RATES:
        for i, j in zip(*np.nonzero(within & np.isfinite(steps)), strict=True):
            ax.text(
                lrs[j],
                i,
                f"{med.iloc[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
                zorder=3,
            )
    # cells of several repeats that not all brought within tol: how many did
    came_n, runs_n = (
        c.reindex(index=ys, columns=lrs).fillna(0).to_numpy(int) for c in came_in
    )
    partly = (came_n > 0) & (came_n < runs_n) & ~diverged
    # and those of which some, not most, ended above their start
    some_rose = (rose_of > 0) & ~rose & ~diverged
    if len(lrs) <= STEPS_WRITTEN_RATES:
        for i, j in zip(*np.nonzero(partly | some_rose), strict=True):
            said = [f"{came_n[i, j]} of {runs_n[i, j]} within"] * bool(partly[i, j])
            said += [f"{rose_of[i, j]} of {runs_n[i, j]} rose"] * bool(some_rose[i, j])
            ax.text(
                lrs[j],
                i - 0.32,
                ", ".join(said),
                ha="center",
                va="center",
                fontsize=6,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"},
                zorder=3,
            )
    jj, ii = np.nonzero(diverged.T)
    ax.scatter(lrs[jj], ii, marker="x", color="#d62728", s=40, linewidths=2, zorder=3)
    jj, ii = np.nonzero(rose.T)
    ax.scatter(lrs[jj], ii, marker="^", color="#d62728", s=50, zorder=3)
    # grey: a cell without a colour, a cross or an arrow (never within tol)
    grey = ~np.isfinite(steps) & ~diverged & ~rose
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_yticks(range(len(ys)) if ycol else [])
    if ycol:
        ax.set_yticklabels([_label(v) for v in values])
    ax.set_ylabel(ycol.replace("init_", "start ") if ycol else "")
    tol = sweep.info["tol"]
    written = ": their steps in them" * (len(lrs) <= STEPS_WRITTEN_RATES)
    came = (
        f"{int(within.sum())} of {within.size} cells came within {tol:g} of the "
        f"optimum{written}"
        if within.any()
        else f"no configuration brought every parameter within {tol:g} of the optimum"
    )
    what = (
        ("settled loss − optimum's" if tail else "final loss − optimum's")
        + f" loss\n({came})"
        if by_gap
        else f"steps until every parameter stays within {tol:g} of the optimum"
    )
    runs = sweep.traces.groupby("config")["step"].max()
    ran = f"{runs.max()}" if runs.min() == runs.max() else f"{runs.min()}-{runs.max()}"
    shared = len(table) // max(1, len(ys) * len(lrs))
    others = [c for c in _swept(sweep) if c not in ("lr", ycol)]
    median = (
        f"; each cell the median of {shared} configurations, over {', '.join(others)}"
        + (" (a repeat never within counted as never)" if partly.any() else "")
        if others
        else ""
    )
    _titled(
        ax,
        _filled(
            f"{model_by_loss(sweep.info)}, "
            f"{sweep.info['optimizer']}: {what}\n({ran} steps run{median})",
            TITLE_CHARS,
        ),
        own,
    )
    bar = None
    if len(finite):
        gap_label = "settled loss − optimum's" if tail else "final loss − optimum's"
        label = f"{gap_label} loss" if by_gap else "steps to stay within tol"
        if by_gap and np.any(finite <= zero):
            label += f"\n(0 at float rounding drawn at {zero:.1g})"
        room = fig.add_axes((0.92, 0.2, 0.01, 0.6)) if own else None
        bar = fig.colorbar(mesh, cax=room, ax=None if own else ax, label=label)
        _plain_log_labels(bar)
    _plain_log_labels(ax.xaxis)
    if len(lrs) <= HEATMAP_RATES_NAMED:  # each column named by its rate
        from matplotlib.ticker import NullLocator

        ax.set_xticks(lrs, [f"{v:.3g}" for v in lrs], rotation=45 * (len(lrs) > 5))
        ax.xaxis.set_minor_locator(NullLocator())
    handles: list[Any] = []
    if grey.any():
        handles.append(
            Patch(
                facecolor="#d9d9d9",
                label=f"parameters never all within {tol:g} of the optimum",
            )
        )
    if diverged.any():
        handles.append(
            Line2D([], [], marker="x", color="#d62728", linestyle="", label="diverged")
        )
    if rose.any():
        highest = float(keyed.loc[keyed["ended_above_start"], "loss"].max())
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                color="#d62728",
                linestyle="",
                label=f"loss ended above its start (to {highest:.3g}; off the colours)",
            )
        )
    # one row where the labels fit the figure's width, else one under another
    wide = sum(len(h.get_label()) for h in handles) > LEGEND_ROW_CHARS
    legend = None
    if handles and own:
        legend = fig.legend(
            handles=handles,
            loc="lower left",
            ncol=1 if wide else len(handles),
            frameon=False,
        )
    elif handles:
        legend = _inner_legend(ax, handles)
    if own:
        _place(fig, ax, bar.ax if bar else None, legend)
    return fig


#: The most rates a heatmap writes the steps of its cells in (beyond, they run
#: together).
STEPS_WRITTEN_RATES = 24

#: The most characters of legend labels a heatmap's 8.5-inch width holds in a row.
LEGEND_ROW_CHARS = 100


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log10(values) if log else values.astype(float)
    if len(v) == 1:
        mids = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        inner = (v[1:] + v[:-1]) / 2
        mids = np.concatenate([[2 * v[0] - inner[0]], inner, [2 * v[-1] - inner[-1]]])
    return 10**mids if log else mids


def _by_epoch(sweep: Sweep) -> np.ndarray | None:
    """Steps per epoch of each configuration, where batch sizes differ (their
    losses are then drawn against epochs, which they share); else None."""
    table = sweep.table
    if "batch_size" not in table or table["batch_size"].nunique() < 2:
        return None
    n_rows = sweep.info["data"]["n_rows"]
    return np.ceil(n_rows / table["batch_size"].to_numpy(float))


def sweep_losses(sweep: Sweep, ax: Any = None) -> Figure:
    """Every configuration's gap to the optimum's loss over the steps (log scale),
    coloured by learning rate; where the sweep varies more than the rate (a batch
    size, a start, a hyper-parameter; seeds, being repeats, are overlaid), a line
    style for each of those values, named in the legend; diverged configurations
    fainter, ending in a cross (dashed too where the line styles name nothing
    else). Where batch sizes differ, over epochs instead of
    steps. The chart reaches a million times the largest starting gap: a curve that
    rises above it is cut at the top, an arrow where it leaves, and the legend says
    how high it went. The title names the marks drawn. Where the classes of a
    logistic regression are separated (no optimum), the gap to the loss's infimum
    (``loss_infimum``: 0, or with rows on the cut what the solver came down to)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    table = sweep.table
    best = sweep.info["optimum_loss"]
    apart = best is None  # separated classes: no optimum, the loss's infimum
    best = sweep.info.get("loss_infimum", 0.0) if apart else best
    lrs = table["lr"].to_numpy(float)
    norm: Any = LogNorm(vmin=lrs.min(), vmax=max(lrs.max(), lrs.min() * 1.0001))
    # viridis short of its pale yellow, which vanished on white
    cmap: Any = ListedColormap(_cmap()(np.linspace(0.0, 0.88, 256)))
    rates = np.unique(lrs)
    if 1 < len(rates) <= DISCRETE_RATES:
        # a few rates: a colour each, the bar ticked at the rates swept (not at
        # 6x10^-3 between them)
        cmap = ListedColormap(_cmap()(np.linspace(0.0, 0.88, len(rates))))
        middles = np.sqrt(rates[1:] * rates[:-1])
        bounds = np.concatenate(
            [[rates[0] ** 2 / middles[0]], middles, [rates[-1] ** 2 / middles[-1]]]
        )
        norm = BoundaryNorm(bounds, cmap.N)
    own = ax is None  # else the caller's axes, in a figure of theirs
    fig, ax = _figure(8.5, 4.8, layout=None, ax=ax)
    dtype = sweep.compute_dtype
    # the summary's "gap 0 (at float rounding)" below this: the loss's last digits
    noise = 10 * float(np.finfo(dtype).eps) * max(abs(best), 1e-30)
    # gaps of 0 drawn at the floor: below the rounding band, so it shows
    floor = 1e-7 * max(abs(best), 1.0)
    if best:
        floor = min(floor, noise / 2)
    per_epoch = _by_epoch(sweep)
    traces = sweep.traces.sort_values(["config", "step"])
    curves = dict(list(traces.groupby("config", sort=True)))
    # where line styles name the other swept values, a diverged curve keeps its
    # own, else it is dashed
    kinds, kind_styles = _line_kinds(sweep)
    raw, steps, gaps = [], [], []
    for i, c in enumerate(table["config"]):
        curve = curves[c]
        raw.append(curve["step"].to_numpy(float))
        steps.append(raw[-1] if per_epoch is None else raw[-1] / per_epoch[i])
        gaps.append(curve["loss"].to_numpy(float) - best)
    first = np.array([g[0] for g in gaps if len(g)])
    first = first[np.isfinite(first)]
    ceiling = 1e6 * max(float(first.max()) if len(first) else 1.0, floor)
    gaps = [np.maximum(g, floor) for g in gaps]  # NaN stays NaN
    exits: list[tuple[float, float]] = []  # where a curve leaves the chart
    above: list[float] = []  # how high those went, in finite values
    overflowed: list[bool] = []  # and whether they went on to infinity

    def within(x: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        """The parts of a curve below ``ceiling``: each that leaves the chart ends
        at its top (where it crossed it, on the log scale), one that comes back
        starts there."""
        over = g > ceiling
        if not over.any():
            return [np.column_stack([x, g])]
        above.append(highest_above(g, ceiling))
        overflowed.append(bool(np.isinf(g).any()))
        top = np.log(ceiling)

        def crossing(i: int) -> tuple[float, float]:
            a, b = np.log(g[i]), np.log(g[i + 1])
            return (float(x[i] + (top - a) / (b - a) * (x[i + 1] - x[i])), ceiling)

        parts: list[np.ndarray] = []
        part: list[tuple[float, float]] = []
        for i in range(len(x)):
            if over[i]:
                if part:
                    part.append(crossing(i - 1))
                    exits.append(part[-1])
                    parts.append(np.array(part))
                    part = []
                continue
            if i > 0 and over[i - 1]:
                part.append(crossing(i - 1))
            part.append((float(x[i]), float(g[i])))
        if part:
            parts.append(np.array(part))
        return parts

    diverged = table["diverged"].to_numpy(bool)
    dsteps = table["diverged_step"].fillna(0).to_numpy(float)
    solid, solid_lrs, styles, dashed, dashed_lrs, crosses = [], [], [], [], [], []
    dashed_styles: list[Any] = []
    off = 0  # diverged curves that left the chart, ending at its top
    rose = 0  # curves that did not diverge but rose off the chart
    for c in range(len(table)):
        style = kind_styles.get(kinds[c], "solid")
        if not diverged[c]:
            before = len(above)
            parts = within(steps[c], gaps[c])
            rose += len(above) > before
            solid += parts
            solid_lrs += [lrs[c]] * len(parts)
            styles += [style] * len(parts)
            continue
        keep = raw[c] < dsteps[c]
        if keep.any():
            before = len(above)
            parts = within(steps[c][keep], gaps[c][keep])
            if len(above) > before:  # it went on to overflow, after the cut
                overflowed[-1] = True
            dashed += parts
            dashed_lrs += [lrs[c]] * len(parts)
            dashed_styles += [style if kind_styles else "dashed"] * len(parts)
            if gaps[c][keep][-1] <= ceiling:
                # at the step it diverged at (a run kept every 100th step that
                # diverged before its second had its cross on the axis, at 0)
                at = dsteps[c] if per_epoch is None else dsteps[c] / per_epoch[c]
                crosses.append((max(at, steps[c][keep][-1]), gaps[c][keep][-1]))
            else:
                off += 1
    groups: list[tuple[Any, np.ndarray, Any, float]] = [
        (solid, np.array(solid_lrs), styles, 0.85),
        (dashed, np.array(dashed_lrs), dashed_styles, 0.6),
    ]
    for lines, colours, style, alpha in groups:
        if len(lines):
            coll = LineCollection(
                lines,
                linestyles=style,
                cmap=cmap,
                norm=norm,
                alpha=alpha,
                linewidths=1.1,
            )
            coll.set_array(colours)
            ax.add_collection(coll)
    if crosses:
        ax.plot(*np.array(crosses).T, "x", color="#d62728", linestyle="", clip_on=False)
    ends = np.concatenate(steps)
    first_x, last_x = ends.min(), ends.max() if ends.max() > ends.min() else 1
    # a few rates, one curve each: each curve's rate written where it ends, in
    # its colour (neighbouring colours of the bar, 1.33 and 3, looked alike)
    named = 1 < len(rates) <= DISCRETE_RATES and len(rates) == len(table)
    if named:  # room on the right for the names
        ax.set_xlim(first_x, last_x + END_ROOM * (last_x - first_x))
    else:
        ax.set_xlim(first_x, last_x)
    drawn = np.concatenate([np.empty(0)] + [line[:, 1] for line in [*solid, *dashed]])
    drawn = drawn[np.isfinite(drawn)]
    low, high = (drawn.min(), drawn.max()) if len(drawn) else (floor, ceiling)
    # the curves' own range; up to the top exactly where one leaves it
    ax.set_ylim(low / 2, ceiling if exits else max(high, low * 10) * 2)
    ax.set_yscale("log")
    if named:
        finished = [
            (float(line[-1, 0]), float(line[-1, 1]), float(lr))
            for line, lr in zip(solid, solid_lrs, strict=True)
            if line[-1, 1] < ceiling and line[-1, 0] >= last_x
        ]
        _end_labels(fig, ax, finished, cmap, norm)
    handles: list[Any] = [
        Line2D([], [], color="#555555", linestyle=style, label=kind)
        for kind, style in kind_styles.items()
    ]
    if not apart and low < noise:
        ax.axhspan(low / 2, noise, color="#000000", alpha=0.07, lw=0, zorder=0)
        handles.append(
            Patch(
                color="#000000",
                alpha=0.07,
                label=f"{dtype} rounding of the loss: a gap below {noise:.2g} is 0",
            )
        )
    if exits:
        ax.plot(
            *np.array(exits).T,
            "^",
            color="#d62728",
            ms=8,
            linestyle="",
            clip_on=False,
            zorder=4,
        )
        n_off, n_exits, n_over = len(above), len(exits), sum(overflowed)

        went_on = (
            ""
            if not n_over
            else ", then overflowed"
            if n_over == n_off
            else f"; {n_over} then overflowed"
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                color="#d62728",
                linestyle="",
                label=f"off the chart: {n_off} curve{'s' * (n_off > 1)} rose "
                f"above {ceiling:.3g}"
                + f" ({n_exits} times)" * (n_exits > n_off)
                + at_most(above)
                + went_on,
            )
        )
    legend = None
    if handles:
        legend = (
            # handles long enough to show each style's pattern (long dashes)
            fig.legend(handles=handles, loc="lower left", frameon=False, handlelength=4)
            if own
            else _inner_legend(ax, handles, handlelength=4)
        )
    ax.set_xlabel("step" if per_epoch is None else "epoch (batch sizes differ)")
    ax.set_ylabel(
        "loss − its infimum (no optimum: the classes are separated)"
        if apart
        else "loss − optimum's loss"
    )
    n_diverged = int(diverged.sum())
    # the marks a diverged curve ends in: a cross, or the arrow where it left
    faint = "dashed" if not kind_styles else "drawn fainter"
    said = [f"{n_diverged} diverged, {faint}" if n_diverged else "none diverged"]
    if crosses:
        said[0] += ", x where overflowed"
    if rose and n_diverged:  # blew up without overflowing before the run's end
        said.append(f"{rose} more blew up")
    elif rose:  # not "none diverged; 3 more blew up"
        said = [f"{rose} blew up"]
    if exits:
        said.append("▲ off the chart")
    marked = "; ".join(said)
    # room above the ▲ drawn on the top edge (they touched the title)
    _titled(ax, f"{len(table)} configurations ({marked})", own, pad=12 if exits else 6)
    sm = ScalarMappable(norm=norm, cmap=cmap)
    room = fig.add_axes((0.92, 0.2, 0.02, 0.6)) if own else None
    bar = fig.colorbar(sm, cax=room, ax=None if own else ax, label="learning rate")
    if isinstance(norm, BoundaryNorm):  # a block a rate, named by its value
        bar.set_ticks(rates.tolist(), labels=[f"{r:.3g}" for r in rates])
        bar.ax.minorticks_off()
    _plain_log_labels(ax.yaxis, bar)
    if own:
        _place(fig, ax, bar.ax, legend)
    return fig


#: The most learning rates a sweep's loss picture gives a colour each, with the
#: bar ticked at them (more: a continuous log scale)
DISCRETE_RATES = 10
#: The share of the steps' width left on the right of a sweep's loss picture for
#: the curves' rates, written where they end.
END_ROOM = 0.12


def _end_labels(
    fig: Figure, ax: Any, ends: list[tuple[float, float, float]], cmap: Any, norm: Any
) -> None:
    """Each curve's rate ("lr 0.3") just right of where it ends (``ends``: its
    last step, gap and rate), in its colour; names that would overlap moved
    apart up and down, a line to where each curve ends."""
    if not ends:
        return
    low, high = (math.log10(v) for v in ax.get_ylim())
    box = ax.get_position()
    # a name's height (0.11 inch: its 9 points and a little room), as a share of
    # the axes' height, whatever the pixels per inch
    gap = 0.11 / (box.height * fig.get_figheight())
    order = sorted(ends, key=lambda e: e[1])
    wanted = [(math.log10(g) - low) / (high - low) for _, g, _ in order]
    placed: list[float] = []
    for want in wanted:  # upward, each at least a name's height above the last
        placed.append(max(want, placed[-1] + gap) if placed else want)
    overshoot = placed[-1] - (1 - gap / 2)
    if overshoot > 0:  # pushed out of the top: all moved down, none below 0
        placed = [max(p - overshoot, gap / 2 * (i + 1)) for i, p in enumerate(placed)]
    left, right = ax.get_xlim()
    for (x, g, lr), y in zip(order, placed, strict=True):
        at = (x - left) / (right - left)
        ax.annotate(
            f"lr {lr:.3g}",
            xy=(at, (math.log10(g) - low) / (high - low)),
            xycoords="axes fraction",
            xytext=(at + 0.015, y),
            textcoords="axes fraction",
            color=cmap(norm(lr)),
            fontsize=9,
            fontweight="bold",
            va="center",
            arrowprops={"arrowstyle": "-", "color": cmap(norm(lr)), "lw": 0.6},
        )


#: The line styles of a sweep's other swept values: solid, dotted, a long dash and
#: dot, long dashes (a dash-dot beside a dash-dot-dot, and sparse dots beside
#: dotted, were read as one style). Where these are drawn, a diverged curve is
#: drawn fainter, not dashed.
KIND_STYLES: tuple[Any, ...] = ("solid", "dotted", (0, (8, 2, 1.5, 2)), (0, (10, 3)))


def _line_kinds(sweep: Sweep) -> tuple[list[str], dict[str, Any]]:
    """Each configuration's values other than the rate and the seed ("batch_size=5,
    init_w=1"), and the line style of each such kind, in the table's order: none
    where the sweep varies only the rate (or seeds). Where they make more kinds
    than ``KIND_STYLES``, the styles name one swept value alone (the batch size
    first) and a last entry, drawn as no line, says how many curves each line
    overlays, and of what; where no value has so few, every line is solid and
    that entry says so."""
    table = sweep.table
    others = [c for c in sweep.swept if c not in ("lr", "seed")]
    if not others:
        return [""] * len(table), {}

    def value(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

    def kinds_of(columns: list[str]) -> list[str]:
        return [
            ", ".join(f"{c}={value(v)}" for c, v in zip(columns, row, strict=True))
            for row in table[columns].itertuples(index=False)
        ]

    kinds = kinds_of(others)
    order = list(dict.fromkeys(kinds))
    if len(order) <= len(KIND_STYLES):
        return kinds, dict(zip(order, KIND_STYLES, strict=False))
    few = [c for c in others if table[c].map(swept_key).nunique() <= len(KIND_STYLES)]
    styled = ["batch_size"] if "batch_size" in few else few[:1]
    overlaid = [c for c in others if c not in styled]
    overlaid += ["seed"] * ("seed" in sweep.swept)
    counts = [int(table[c].map(swept_key).nunique()) for c in overlaid]
    parts = [
        f"{n} seeds" if c == "seed" else f"{n} values of {c}"
        for c, n in zip(overlaid, counts, strict=True)
    ]
    said = (
        f"each line overlays {math.prod(counts)} curves of a rate and {styled[0]}"
        if styled
        else f"each rate's colour overlays its {math.prod(counts)} curves"
    ) + f": {' x '.join(parts)}"
    if not styled:
        return kinds, {said: "solid"}
    kinds = kinds_of(styled)
    order = list(dict.fromkeys(kinds))
    return kinds, {**dict(zip(order, KIND_STYLES, strict=False)), said: "none"}


def _cut_off(ax: Any, batch: np.ndarray) -> None:
    """Where batch losses lie outside the frame, the label of their points says
    how many, above and below it."""
    low, high = ax.get_ylim()
    batch = batch[np.isfinite(batch)]
    above, below = int((batch > high).sum()), int((batch < low).sum())
    if not above and not below:
        return
    parts = [f"{n} {where}" for n, where in ((above, "above"), (below, "below")) if n]
    line = ax.get_lines()[0]
    said = str(line.get_label())
    line.set_label(f"{said.removesuffix(')')};\n{' and '.join(parts)} the frame)")


def lr_find(table: Any, summary: dict[str, Any], ax: Any = None) -> Figure:
    """The range test: batch loss (and its smoothed curve) against the learning rate,
    up to where the loss blew up, with the suggested rate, the rate of the lowest
    loss, and the curvature's stable limit 2/L where it applies."""
    own = ax is None  # else the caller's axes, in a figure of theirs
    fig, ax = _figure(8, 5.2, ax=ax)
    shown = table.iloc[: summary["stopped_at_step"]]
    # with mini-batches, the loss over all the rows after each step is read
    column = "loss" if "loss" in table else "batch_loss"
    ok = np.isfinite(shown[column].to_numpy(float))
    if column == "loss":
        noisy = np.isfinite(shown["batch_loss"].to_numpy(float))
        ax.plot(
            shown["lr"][noisy],
            shown["batch_loss"][noisy],
            ".",
            color="#d9d9d9",
            ms=3,
            label="each batch's own loss, before its step (noisy: the test reads "
            "the darker points)",
        )
    ax.plot(
        shown["lr"][ok],
        shown[column][ok],
        ".",
        color="#7f7f7f",
        ms=4,
        label=summary.get("read", "batch loss"),
    )
    ax.plot(
        shown["lr"],
        shown["smoothed"],
        color="#3b528b",
        lw=2,
        label="smoothed ("
        + ("log scale, " if summary.get("log_scale") else "")
        + "centred)",
    )
    for key, style, label in (
        ("suggested_lr", "-", "suggested (steepest fall): lr"),
        ("min_loss_lr", ":", "floor of the smoothed loss from lr"),
    ):
        rate = summary.get(key)
        if rate is not None and np.isfinite(rate):
            ax.axvline(
                rate,
                color="#21918c" if style == "-" else "#5ec962",
                ls=style,
                lw=2,
                label=f"{label} {rate:.3g}",
            )
    stable = summary.get("stable_lr")
    if stable is not None and np.isfinite(stable):
        ax.axvline(
            stable,
            color="#d62728",
            ls="--",
            lw=1.5,
            label=f"{summary.get('stable_name', 'stable limit 2/L')} (curvature): "
            f"lr {stable:.3g}",
        )
    ax.set_xscale("log")
    # the range of the losses read (not the blow-up's: one point at 30x would
    # squash them flat along the bottom), and the smoothed curve's
    read = shown[column].to_numpy(float)[: summary["stopped_at_step"] - 1]
    smooth = shown["smoothed"].to_numpy(float)
    values = np.concatenate([read, smooth])
    values = values[np.isfinite(values)]
    if len(values) < 2:  # stopped at once: what there is
        values = shown[column].to_numpy(float)[ok]
    if len(values):
        low, high = float(values.min()), float(values.max())
        # the fall framed, not the climb after it: a blow-up to 4x the lowest
        # loss would squash a fall from 0.69 to 0.53 into the bottom tenth; the
        # curve leaves the top where it climbs past half the fall again
        lowest = int(np.nanargmin(smooth)) if np.isfinite(smooth).any() else -1
        fell = np.concatenate([read[: lowest + 1], smooth[: lowest + 1]])
        fell = fell[np.isfinite(fell)]
        if lowest > 0 and len(fell) and float(fell.max()) > low:
            high = min(high, float(fell.max()) + 0.5 * (float(fell.max()) - low))
        if low > 0 and high / low > 100:
            ax.set_yscale("log")
            ax.set_ylim(low / 1.5, high * 1.5)
        else:
            pad = 0.05 * (high - low or 1.0)
            ax.set_ylim(low - pad, high + pad)
    if column == "loss":  # the frame is the darker points': say what it cut off
        _cut_off(ax, shown["batch_loss"].to_numpy(float))
    ax.set_xlabel("learning rate (grows every step, log scale)")
    # a full batch's loss is the loss over all the rows (``read`` says so)
    ax.set_ylabel(
        ("loss" if column == "loss" or "read" in summary else "batch loss")
        + (" (log scale)" if ax.get_yscale() == "log" else "")
    )
    _titled(
        ax,
        f"learning-rate range test: {summary['model']} by {summary['loss']},"
        f" {summary['optimizer']}",
        own,
    )
    # below the chart: inside, wherever it went, it covered the fall or the
    # rise after it (a teacher's slide)
    if own:
        fig.legend(fontsize=8, loc="outside lower center", ncol=2, frameon=False)
    else:  # a figure of the caller's may have no layout to put it outside
        _inner_legend(ax)
    return fig
