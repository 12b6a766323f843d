"""A run as an animation: the fit moving over the data, one frame per step (or every
k-th), the step's batch highlighted, step, epoch, batch and loss in the title.
Frames are drawn with matplotlib and written as a GIF with Pillow (or an MP4 through
ffmpeg where it is installed)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gradtrace.errors import InputError
from gradtrace.plot import (
    _evaluate,
    _figure,
    _model,
    _place,
    _run_data,
    _specs,
    check_folder,
    data_label,
    data_rows,
    model_grid,
    one_x_column,
    params_of,
    points_shown,
    written,
)

#: Frames a GIF gets by default: every k-th step so that about this many remain.
DEFAULT_FRAMES = 120


#: Of a GIF that skips steps by default, the first steps all drawn: where a fit
#: moves most (and a rate too large shows itself).
HEAD_FRAMES = 10


def frame_steps(n_steps: int, every: int | None) -> list[int]:
    """The steps drawn: 0, every k-th (``every``; by default so that about
    ``DEFAULT_FRAMES`` remain, the first ``HEAD_FRAMES`` steps all drawn too),
    and the last."""
    k = every or max(1, math.ceil(n_steps / DEFAULT_FRAMES))
    head = range(min(HEAD_FRAMES, n_steps) + 1) if every is None else range(1)
    return sorted({*head, *range(0, n_steps + 1, k), n_steps})


def animate(
    trace: Any, out: str | Path, every: int | None = None, fps: int = 10
) -> Path:
    """Write the animation of ``trace`` to ``out`` (.gif, or .mp4 with ffmpeg)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise InputError(
            f"-o {str(out)!r}: write a .gif (or an .mp4 where ffmpeg is installed)."
        )
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise InputError(
            "an .mp4 needs ffmpeg, which is not installed: write a .gif "
            "instead (-o fit.gif), or install ffmpeg."
        )
    if every is not None and every < 1:
        raise InputError(f"--every must be at least 1, got {every}.")
    check_folder(out)  # before drawing every frame
    from gradtrace.explain import steps_rows

    steps = frame_steps(trace.steps, every)
    ready = _Ready(_run_data(trace), trace.to_pandas(), {})  # once for every frame
    images = [_render(trace, 0, ready, np.array([], int))]
    for step, rows in steps_rows(trace.info, steps[1:]):
        images.append(_render(trace, step, ready, rows))

    def write(tmp: Path) -> None:
        if suffix == ".gif":
            first, *rest = images
            first.save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=rest,
                duration=int(1000 / fps),
                loop=0,
                optimize=False,
            )
        else:
            _mp4(images, tmp, fps)

    return written(out, write)


def _mp4(images: list[Any], path: Path, fps: int) -> None:
    import subprocess

    w, h = images[0].size
    w, h = w - w % 2, h - h % 2
    cmd = [
        "ffmpeg",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    raw = b"".join(im.convert("RGB").crop((0, 0, w, h)).tobytes() for im in images)
    done = subprocess.run(cmd, input=raw, capture_output=True)
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        why = said[-1] if said else f"exit code {done.returncode}"
        raise InputError(
            f"ffmpeg could not write the video ({why}): write a GIF instead "
            "(-o fit.gif)."
        )


class _Ready(NamedTuple):
    """What every frame of an animation draws from, made once: the run's (x, y),
    the step table, and where the first frame's layout put its axes (``placed``:
    every frame has the same ticks, labels and legend, so the same place)."""

    data: tuple[np.ndarray | None, np.ndarray]
    table: Any
    placed: dict[str, Any]


def _render(trace: Any, step: int, ready: _Ready, rows: np.ndarray) -> Any:
    """One frame as a Pillow image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig = frame_figure(trace, step, ready, rows)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert(
        "P", palette=Image.Palette.ADAPTIVE
    )


def frame_figure(
    trace: Any, step: int, ready: _Ready | None = None, rows: np.ndarray | None = None
) -> Any:
    """The figure of one frame: the data, the fit at ``step`` (after it), the
    initial fit faintly, the rows of the step's batch highlighted (``ready``: what
    every frame draws from, and ``rows`` the step's batch, made once for all the
    frames; None: made for this one)."""
    info = trace.info
    frame = trace.to_pandas() if ready is None else ready.table
    row = frame.iloc[step]
    x, y = _run_data(trace) if ready is None else ready.data
    n = int(info["data"]["n_rows"])  # y may be a sample of them
    if rows is None:
        from gradtrace.explain import step_rows

        rows = step_rows(info, step) if step >= 1 else np.array([], int)
    # a batch of many rows is drawn as a scatter is; a batch of every row (full
    # batch) not at all: every point ringed says nothing, and hides the data
    count = len(rows)
    every_row = int(info["schedule"].get("batch_size") or 0) >= n  # every frame's
    rows = rows[:0] if every_row else rows[points_shown(count)]
    batch = f"batch ({count} rows)"
    full = " · full batch: every step uses all" if every_row else ""
    sampled = data_rows(trace)
    if sampled is not None and len(rows):  # the batch's rows among the sample
        at = np.clip(np.searchsorted(sampled, rows), 0, len(sampled) - 1)
        rows = at[sampled[at] == rows]
        batch = f"batch ({count} rows; {len(rows)} of them among the {len(y)} read)"
    fig, ax = _figure(7, 4.4, layout=None)  # laid out once, by _place
    fixed = info["fixed"]

    model = _model(trace)
    names = list(_specs(trace, model))

    def values(r: Any) -> dict[str, Any]:
        return params_of(r, fixed, names)

    start = frame.iloc[0]
    if model.kind == "distribution":
        discrete = bool(getattr(model, "discrete", False))
        if discrete:
            uniq, counts = np.unique(y, return_counts=True)
            ax.bar(
                uniq,
                counts / len(y),
                color="#c7e9c0",
                edgecolor="white",
                label=data_label(n, len(y)) + full,
            )
            grid = np.arange(np.floor(np.min(y)), np.ceil(np.max(y)) + 1)
        else:
            ax.hist(
                y,
                bins=min(60, max(10, int(np.sqrt(len(y))))),
                density=True,
                color="#c7e9c0",
                edgecolor="white",
                label=data_label(n, len(y)) + full,
            )
            lo, hi = np.min(y) - np.std(y), np.max(y) + np.std(y)
            support = getattr(model, "support", "real")
            if support in ("positive", "nonnegative", "unit"):
                lo = max(lo, 1e-9 * max(1.0, float(np.max(y))))
            if support == "unit":
                hi = min(hi, 1 - 1e-9)
            grid = np.linspace(lo, hi, 300)
        if len(rows):
            ax.plot(
                y[rows],
                np.zeros(len(rows)),
                "|",
                color="#d62728",
                ms=18,
                label=batch,
            )
        marker = "o" if discrete else None
        ax.plot(
            grid,
            np.exp(_evaluate(model, values(start), None, grid, "log_prob")),
            "--",
            marker=marker,
            ms=3,
            color="#9e9e9e",
            label="initial",
        )
        ax.plot(
            grid,
            np.exp(_evaluate(model, values(row), None, grid, "log_prob")),
            marker=marker,
            ms=3,
            color="#3b528b",
            lw=2,
            label="after this step",
        )
        ax.set_xlabel(info["data"]["y"])
        ax.set_ylabel("share of rows" if discrete else "density")
        # one scale for every frame: the data's and the final fit's heights
        final = np.exp(_evaluate(model, values(frame.iloc[-1]), None, grid, "log_prob"))
        heights = [np.max(p.get_height()) for p in ax.patches] or [0.0]
        top = 1.3 * max(float(np.max(heights)), float(np.nanmax(final, initial=0.0)))
        if np.isfinite(top) and top > 0:
            ax.set_ylim(0, top)
    elif (column := one_x_column(x, len(y))) is not None:
        given, x = x, column
        some = points_shown(len(y))
        drawn = len(y[some])
        ax.plot(
            x[some],
            y[some],
            ".",
            color="#5ec962",
            ms=6,
            label=data_label(n, drawn) + full,
        )
        if len(rows):
            ax.plot(
                x[rows],
                y[rows],
                "o",
                mfc="none",
                mec="#d62728",
                ms=10,
                mew=2,
                label=batch,
            )
        pad = 0.05 * (np.ptp(x) or 1.0)
        grid = np.linspace(np.min(x) - pad, np.max(x) + pad, 200)
        at = model_grid(given, grid)
        ax.plot(
            grid,
            _evaluate(model, values(start), at, None, "predict"),
            "--",
            color="#9e9e9e",
            label="initial",
        )
        line = _evaluate(model, values(row), at, None, "predict")
        ax.plot(grid, line, color="#3b528b", lw=2, label="after this step")
        # framed on the data in every frame; a line that leaves it is said to
        ylo, yhi = float(np.min(y)), float(np.max(y))
        span = yhi - ylo or 1.0
        ax.set_ylim(ylo - 0.3 * span, yhi + 0.3 * span)
        _off_chart(ax, line)
        ax.set_xlabel(info["data"]["x"][0])
        ax.set_ylabel(info["data"]["y"])
    else:
        raise InputError(
            "animate draws a model of one x column or a distribution over its "
            "data; for "
            f"model {info['model']!r} use gradtrace plot."
        )
    from gradtrace.explain import loss_taken

    loss = row["loss"]
    shown = f"{loss:.5g}" if np.isfinite(loss) else "not taken"
    if not np.isfinite(loss) and loss_taken(info, step):
        shown = f"not finite ({loss})"
    ax.set_title(
        f"step {step} of {trace.steps} · epoch {int(row['epoch'])}, batch "
        f"{int(row['batch'])} · loss over all data {shown}"
    )
    # below the axes, where it hides neither the data nor the line
    legend = fig.legend(fontsize=8, loc="lower center", ncol=4, frameon=False)
    if ready is not None and "axes" in ready.placed:
        fig.set_dpi(ready.placed["dpi"])  # the first frame's size in pixels
        ax.set_position(ready.placed["axes"])
    else:
        _place(fig, ax, legend=legend)
        if ready is not None:
            ready.placed.update(axes=ax.get_position(), dpi=fig.dpi)
    return fig


def _off_chart(ax: Any, line: np.ndarray) -> None:
    """Where the fitted ``line`` leaves the axes' y range (or is not finite), say
    so in the chart, by the edge it left through: "the fit runs above the chart
    ↑", and how far it went."""
    low, high = ax.get_ylim()
    finite = line[np.isfinite(line)]
    above, below = bool(np.any(finite > high)), bool(np.any(finite < low))
    if not len(finite):
        text, top = "the fit is not finite", True
    elif above and below:
        far = finite[np.argmax(np.abs(finite))]
        text, top = f"the fit leaves the chart ↑↓ (y reaches {far:.3g})", True
    elif above:
        text, top = f"the fit runs above the chart ↑ (y up to {finite.max():.3g})", True
    elif below:
        text, top = (
            f"the fit runs below the chart ↓ (y down to {finite.min():.3g})",
            False,
        )
    else:
        return
    ax.text(
        0.98,
        0.96 if top else 0.04,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top" if top else "bottom",
        color="#3b528b",
        fontsize=10,
        fontweight="bold",
        bbox={"facecolor": "white", "edgecolor": "#3b528b", "alpha": 0.9},
    )
