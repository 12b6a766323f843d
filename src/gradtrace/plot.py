"""Pictures, with matplotlib (imported only when a picture is drawn).

Colours come from viridis (readable in grey and by colour-blind readers); diverged
configurations are marked with a cross as well as a colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gradtrace.sweeps import Sweep


def warm_up() -> None:
    """Import matplotlib now (in a thread, while other work runs): its import is
    the slowest part of drawing a picture."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    """A figure and its axes, outside pyplot (no global state, safe in threads)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _cmap(name: str = "viridis") -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def save(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def _second_axis(table: Any) -> str | None:
    """The swept dimension shown on the heatmap's y axis, if any."""
    skip = {"config", "lr", "loss", "gap", "steps_to_tol", "diverged", "diverged_step"}
    finals = {c[len("init_") :] for c in table.columns if c.startswith("init_")}
    for c in table.columns:
        if c in skip or c in finals:
            continue
        if table[c].nunique() > 1:
            return str(c)
    return None


def sweep_heatmap(sweep: Sweep) -> Figure:
    """Learning rate (x) against the second swept value (y): the steps each cell took
    to come within ``tol`` of the optimum (colour, log scale); grey where it never
    did, a red cross where it diverged. Cells that several configurations share
    (other swept values) show the median, and a cross if any diverged."""
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    table = sweep.table
    ycol = _second_axis(table)
    lrs = np.sort(table["lr"].unique())
    ys = np.sort(table[ycol].unique()) if ycol else np.array([0.0])
    keyed = table.assign(_y=table[ycol] if ycol else 0.0)
    reached = keyed.assign(_s=keyed["steps_to_tol"].astype("Float64"))
    med = reached.groupby(["_y", "lr"])["_s"].median().unstack("lr")
    div = keyed.groupby(["_y", "lr"])["diverged"].any().unstack("lr")
    med = med.reindex(index=ys, columns=lrs)
    div = div.reindex(index=ys, columns=lrs).fillna(False)
    diverged = div.to_numpy(bool)
    steps = med.to_numpy(dtype=float, na_value=np.nan)
    steps[diverged] = np.nan
    fig, ax = _figure(8.5, 2.0 + 0.45 * len(ys))
    ax.set_facecolor("#d9d9d9")  # never within tol
    finite = steps[np.isfinite(steps)]
    norm = (
        LogNorm(vmin=max(finite.min(), 1), vmax=max(finite.max(), 2))
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
    jj, ii = np.nonzero(diverged.T)
    ax.scatter(lrs[jj], ii, marker="x", color="#d62728", s=40, linewidths=2, zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels([f"{v:g}" for v in ys] if ycol else [""])
    ax.set_ylabel(ycol.replace("init_", "start ") if ycol else "")
    tol = sweep.info["tol"]
    ax.set_title(
        f"{sweep.info['model']} by {sweep.info['loss']}, "
        f"{sweep.info['optimizer']}: steps to come within {tol:g} of the "
        f"optimum ({sweep.info['n_steps']} steps run)"
    )
    if len(finite):
        fig.colorbar(mesh, ax=ax, label="steps to tolerance", pad=0.01)
    fig.legend(
        handles=[
            Patch(facecolor="#d9d9d9", label=f"not within {tol:g}"),
            Line2D([], [], marker="x", color="#d62728", linestyle="", label="diverged"),
        ],
        loc="outside lower left",
        ncol=2,
        frameon=False,
    )
    return fig


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log10(values) if log else values.astype(float)
    if len(v) == 1:
        mids = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        inner = (v[1:] + v[:-1]) / 2
        mids = np.concatenate([[2 * v[0] - inner[0]], inner, [2 * v[-1] - inner[-1]]])
    return 10**mids if log else mids


def sweep_losses(sweep: Sweep) -> Figure:
    """Every configuration's gap to the optimum's loss over the steps (log scale),
    coloured by learning rate; diverged configurations dashed, ending in a cross."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm

    table, traces = sweep.table, sweep.traces
    best = sweep.info["optimum_loss"]
    lrs = table["lr"].to_numpy(float)
    norm = LogNorm(vmin=lrs.min(), vmax=max(lrs.max(), lrs.min() * 1.0001))
    cmap = _cmap()
    fig, ax = _figure(8.5, 4.8)
    floor = 1e-7 * max(abs(best), 1.0)  # float32 rounding of the loss
    # every configuration keeps the same steps: one row of a matrix each
    ordered = traces.sort_values(["config", "step"])
    steps = ordered["step"].to_numpy()[
        : int((ordered["config"] == ordered["config"].iloc[0]).sum())
    ]
    gaps = ordered["loss"].to_numpy(float).reshape(len(table), len(steps)) - best
    first = gaps[:, 0][np.isfinite(gaps[:, 0])]
    ceiling = 1e6 * max(float(first.max()) if len(first) else 1.0, floor)
    gaps = np.clip(gaps, floor, ceiling)
    diverged = table["diverged"].to_numpy(bool)
    dsteps = table["diverged_step"].fillna(0).to_numpy(float)
    solid, dashed, crosses = [], [], []
    for c in range(len(table)):
        if diverged[c]:
            keep = steps < dsteps[c]
            if keep.any():
                dashed.append((np.column_stack([steps[keep], gaps[c, keep]]), lrs[c]))
                crosses.append((steps[keep][-1], gaps[c, keep][-1]))
        else:
            solid.append((np.column_stack([steps, gaps[c]]), lrs[c]))
    for lines, style, alpha in ((solid, "solid", 0.85), (dashed, "dashed", 0.6)):
        if lines:
            coll = LineCollection(
                [seg for seg, _ in lines],
                linestyles=style,
                cmap=cmap,
                norm=norm,
                alpha=alpha,
                linewidths=1.1,
            )
            coll.set_array(np.array([lr for _, lr in lines]))
            ax.add_collection(coll)
    if crosses:
        ax.plot(*np.array(crosses).T, "x", color="#d62728", linestyle="")
    ax.set_xlim(steps.min(), steps.max() if steps.max() > steps.min() else 1)
    ax.set_ylim(floor / 2, ceiling * 2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss − optimum's loss")
    ax.set_title(
        f"{len(table)} configurations ({int(diverged.sum())} diverged: dashed, x)"
    )
    sm = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="learning rate", pad=0.01)
    return fig


def lr_find(table: Any, summary: dict[str, Any]) -> Figure:
    """The range test: batch loss (and its smoothed curve) against the learning rate,
    up to where the loss blew up, with the suggested rate, the rate of the lowest
    loss, and the curvature's stable limit 2/L where it applies."""
    fig, ax = _figure(8, 4.5)
    shown = table.iloc[: summary["stopped_at_step"]]
    ok = np.isfinite(shown["batch_loss"].to_numpy(float))
    ax.plot(
        shown["lr"][ok],
        shown["batch_loss"][ok],
        ".",
        color="#9e9e9e",
        ms=4,
        label="batch loss",
    )
    ax.plot(shown["lr"], shown["smoothed"], color="#3b528b", lw=2, label="smoothed")
    ax.axvline(
        summary["suggested_lr"],
        color="#21918c",
        lw=2,
        label=f"suggested (steepest fall): {summary['suggested_lr']:.3g}",
    )
    ax.axvline(
        summary["min_loss_lr"],
        color="#5ec962",
        ls=":",
        lw=2,
        label=f"lowest loss: {summary['min_loss_lr']:.3g}",
    )
    stable = summary.get("stable_lr")
    if stable is not None and np.isfinite(stable):
        ax.axvline(
            stable,
            color="#d62728",
            ls="--",
            lw=1.5,
            label=f"stable limit 2/L (curvature): {stable:.3g}",
        )
    ax.set_xscale("log")
    values = shown["batch_loss"].to_numpy(float)[ok]
    if len(values):
        low, high = float(values.min()), float(values.max())
        if low > 0 and high / low > 100:
            ax.set_yscale("log")
            ax.set_ylim(low / 1.5, high * 1.5)
        else:
            pad = 0.05 * (high - low or 1.0)
            ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("learning rate (grows every step)")
    ax.set_ylabel("batch loss")
    ax.set_title(
        f"learning-rate range test: {summary['model']} by {summary['loss']},"
        f" {summary['optimizer']}"
    )
    ax.legend(fontsize=8, loc="best")
    return fig
