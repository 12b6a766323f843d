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
    DPI,
    _evaluate,
    _figure,
    _model,
    _place,
    _run_data,
    _specs,
    all_rows,
    check_folder,
    data_density,
    data_label,
    data_rows,
    model_grid,
    one_x_column,
    params_of,
    point_size,
    points_shown,
    written,
)
from gradtrace.text import full_batch

#: Characters up to which a frame's title keeps its size (a 7.7-inch frame).
TITLE_CHARS = 72

#: Frames a GIF gets by default: every k-th step so that about this many remain.
DEFAULT_FRAMES = 120


#: Of a GIF that skips steps by default, the first steps all drawn: where a fit
#: moves most (and a rate too large shows itself).
HEAD_FRAMES = 10


def frame_steps(n_steps: int, every: int | None, kept: int = 1) -> list[int]:
    """The steps drawn: 0, every k-th (``every``; by default so that about
    ``DEFAULT_FRAMES`` remain, a multiple of ``kept``, the steps a long run read
    thinned keeps, and the first ``HEAD_FRAMES`` steps all drawn too), and the
    last."""
    k = every or kept * math.ceil(max(1, math.ceil(n_steps / DEFAULT_FRAMES)) / kept)
    head = range(min(HEAD_FRAMES, n_steps) + 1) if every is None else range(1)
    return sorted({*head, *range(0, n_steps + 1, k), n_steps})


def animate(
    trace: Any,
    out: str | Path,
    every: int | None = None,
    fps: float | None = None,
    dpi: float = DPI,
) -> Path:
    """Write the animation of ``trace`` to ``out`` (.gif, or .mp4 with ffmpeg), its
    frames ``dpi`` pixels per inch (7 x 4.4 inches). ``fps``: frames per second;
    by default ``FPS``, slower where there are few frames, so that the whole
    lasts ``SHORTEST_S`` at least. The last frame stays ``HOLD_S`` longer."""
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
    if fps is not None and not fps > 0:
        raise InputError(f"--fps must be above 0, got {fps}.")
    check_folder(out)  # before drawing every frame
    ready = _Ready(_run_data(trace), trace.to_pandas(), {}, dpi)  # for every frame
    steps = frame_steps(trace.steps, every)
    if len(ready.table) < trace.steps + 1:  # a long run read thinned
        kept = int(trace.info.get("trace", {}).get("kept_every", 1))
        present = set(ready.table["step"].tolist())
        steps = [s for s in frame_steps(trace.steps, every, kept) if s in present]
    images = _frames(trace, steps, ready)
    rate = frame_rate(len(images), fps)

    def write(tmp: Path) -> None:
        if suffix == ".gif":
            first, *rest = images
            each = round(1000 / rate)
            first.save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=rest,
                # the end held, before the loop starts again
                duration=[each] * (len(images) - 1) + [each + round(1000 * HOLD_S)],
                loop=0,
                optimize=False,
            )
        else:
            held = [images[-1]] * round(HOLD_S * rate)
            _mp4([*images, *held], tmp, rate)

    return written(out, write)


#: Frames per second by default.
FPS = 10.0

#: The fewest seconds a default animation lasts: a run of 4 steps, 5 frames at
#: 10 a second, looped in half a second, too fast to follow in a lecture.
SHORTEST_S = 4.0

#: How much longer the last frame stays, before the loop starts again.
HOLD_S = 2.0


def frame_rate(frames: int, fps: float | None = None) -> float:
    """Frames per second: ``fps`` as given, else ``FPS`` or fewer, so that
    ``frames`` last ``SHORTEST_S`` at least (at least one a second)."""
    if fps is not None:
        return float(fps)
    return max(1.0, min(FPS, frames / SHORTEST_S))


def _mp4(images: list[Any], path: Path, fps: float) -> None:
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
        f"{fps:g}",
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


#: Scenes (one a legend: its batch's label) an animation keeps drawn.
KEPT_SCENES = 4


class _Ready(NamedTuple):
    """What every frame of an animation draws from, made once: the run's (x, y),
    the step table, and where the first frame's layout put its axes (``placed``:
    every frame has the same ticks, labels and legend, so the same place)."""

    data: tuple[np.ndarray | None, np.ndarray]
    table: Any
    placed: dict[str, Any]
    #: pixels per inch of the frames
    dpi: float = DPI


def _frames(trace: Any, steps: list[int], ready: _Ready) -> list[Any]:
    """The animation's frames as Pillow images. A frame differs from the last only
    in the fit, the batch's rows, the title and a note where the fit left the
    chart: those are drawn over the rest, drawn once (a scene for each legend,
    since the batch's label counts its rows), not the whole figure each time."""
    from gradtrace.explain import steps_rows

    scenes: dict[str | None, _Scene] = {}
    # frames a step apart: each mini-batch step's fit before it, dotted, the
    # line its batch's gradient was taken at, beside the one after
    consecutive = all(b - a == 1 for a, b in zip(steps, steps[1:], strict=False))

    def image(step: int, rows: np.ndarray) -> Any:
        batch, label = _batch(trace, rows, ready.data[1])
        scene = scenes.get(label)
        if scene is None:
            scene = _Scene(trace, ready, label, before=consecutive)
            scene.show(step, batch)
            # a few legends kept (a last partial batch's); a streamed run's
            # sample counts its batch's rows afresh each step: drawn whole
            if len(scenes) < KEPT_SCENES:
                scenes[label] = scene
                scene.keep_background()
        else:
            scene.show(step, batch)
        return scene.image()

    images = [image(0, np.array([], int))]
    for step, rows in steps_rows(trace.info, steps[1:]):
        images.append(image(step, rows))
    return images


#: The most parameters an animation's title names (a vector's elements each).
TITLE_PARAMS = 4


def _values_line(values: dict[str, Any]) -> str:
    """The parameters at the frame's step, a line of the title: "w = 1.092, b =
    0.5409" (the first ``TITLE_PARAMS`` of more, and how many more)."""
    flat: list[tuple[str, float]] = []
    for name, value in values.items():
        array = np.ravel(np.asarray(value, np.float64))
        if np.ndim(value) == 0:  # a vector of one slope is w[0], as the summary
            flat.append((name, float(array[0])))
        else:
            flat += [(f"{name}[{i}]", float(v)) for i, v in enumerate(array)]
    shown = ", ".join(f"{k} = {v:.4g}" for k, v in flat[:TITLE_PARAMS])
    more = len(flat) - TITLE_PARAMS
    return shown + (f" and {more} more" if more > 0 else "")


def _batch(
    trace: Any, rows: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, str | None]:
    """The batch's rows a frame rings (positions among the data drawn: a sample's
    where the run read one) and the legend's label for them; none and None where
    the step has no batch (step 0) or every batch is every row (full batch: every
    point ringed says nothing, and hides the data)."""
    info = trace.info
    count = len(rows)
    if not count or full_batch(info):
        return rows[:0], None
    rows = rows[points_shown(count)]
    label = f"batch ({count} rows)"
    sampled = data_rows(trace)
    if sampled is not None:  # the batch's rows among the sample
        at = np.clip(np.searchsorted(sampled, rows), 0, len(sampled) - 1)
        rows = at[sampled[at] == rows]
        label = f"batch ({count} rows; {len(rows)} of them among the {len(y)} read)"
    return rows, label


def frame_figure(
    trace: Any, step: int, ready: _Ready | None = None, rows: np.ndarray | None = None
) -> Any:
    """The figure of one frame: the data, the fit at ``step`` (after it) and,
    dotted, before it, the initial fit faintly, the rows of the step's batch
    highlighted (``ready``: what every frame draws from, and ``rows`` the step's
    batch, made once for all the frames; None: made for this one)."""
    if ready is None:
        ready = _Ready(_run_data(trace), trace.to_pandas(), {})
    if rows is None:
        from gradtrace.explain import step_rows

        rows = step_rows(trace.info, step) if step >= 1 else np.array([], int)
    batch, label = _batch(trace, rows, ready.data[1])
    # the fit before the step where the trace has it (a long run's kept steps
    # may not): the legend says a dotted line only where one is drawn
    before = bool(np.any(ready.table["step"].to_numpy() == step - 1))
    scene = _Scene(trace, ready, label, before=before)
    scene.show(step, batch)
    return scene.fig


class _Scene:
    """An animation frame's figure: what every frame shows alike (the data, the
    initial fit, the axes, the legend: its batch ``label``, None for none) drawn
    once, and what ``show`` changes from step to step (the fit, the batch's rows,
    the title, a note where the fit left the chart)."""

    def __init__(
        self, trace: Any, ready: _Ready, label: str | None, before: bool = False
    ) -> None:
        self.trace, self.ready, self.label = trace, ready, label
        # the fit before the step, dotted, where the step has a batch of its own
        self.before: Any = None
        info = trace.info
        frame = ready.table
        x, y = ready.data
        n = int(info["data"]["n_rows"])  # y may be a sample of them
        full = ""
        if full_batch(info):
            full = " · full batch: every step uses all"
        self.fig, ax = _figure(7, 4.4, layout=None)  # laid out once, by _place
        self.ax = ax
        self.model = _model(trace)
        self.names = list(_specs(trace, self.model))
        self.background: Any = None
        self.canvas: Any = None
        start = self._values(frame.iloc[0])
        model = self.model
        self.batch: Any = None
        if model.kind == "distribution":
            self.discrete = bool(getattr(model, "discrete", False))
            # a standard deviation of room beyond the data: the fit moves there
            grid = data_density(ax, y, model, data_label(n, len(y)) + full, 1.0, 300)
            if label is not None:
                (self.batch,) = ax.plot(
                    [], [], "|", color="#d62728", ms=18, label=label
                )
            marker = "o" if self.discrete else None
            (self.initial,) = ax.plot(
                grid,
                np.exp(_evaluate(model, start, None, grid, "log_prob")),
                "--",
                marker=marker,
                ms=3,
                color="#9e9e9e",
                label="initial",
            )
            (self.fit,) = ax.plot(
                grid,
                np.full(len(grid), np.nan),
                marker=marker,
                ms=3,
                color="#3b528b",
                lw=2,
                label="the fit at this step",
            )
            self.grid, self.at = grid, None
            ax.set_xlabel(info["data"]["y"])
            ax.set_ylabel("share of rows" if self.discrete else "density")
            # one scale for every frame: the data's and the final fit's heights,
            # and the initial density's where it is up to three times theirs (a
            # narrower start was cut off at its peak; a far taller one would
            # flatten the data)
            last = self._values(frame.iloc[-1])
            final = np.exp(_evaluate(model, last, None, grid, "log_prob"))
            heights = [np.max(p.get_height()) for p in ax.patches] or [0.0]
            shown = max(float(np.max(heights)), float(np.nanmax(final, initial=0.0)))
            first = float(np.nanmax(self.initial.get_ydata(), initial=0.0))
            top = 1.3 * max(shown, first if first <= 3 * shown else 0.0)
            if np.isfinite(top) and top > 0:
                ax.set_ylim(0, top)
                if first > top:  # said, not left for the reader to guess
                    self.initial.set_label(f"initial (peak {first:.3g}, cut off)")
        elif (column := one_x_column(x, len(y))) is not None:
            given = x
            self.x, self.y = column, y
            some = points_shown(len(y))
            ax.plot(
                column[some],
                y[some],
                ".",
                color="#5ec962",
                ms=point_size(len(y[some])) + 1,
                label=data_label(n, len(y[some])) + full,
            )
            if label is not None:
                (self.batch,) = ax.plot(
                    [],
                    [],
                    "o",
                    mfc="none",
                    mec="#d62728",
                    ms=10,
                    mew=2,
                    label=label,
                )
            pad = 0.05 * (np.ptp(column) or 1.0)
            grid = np.linspace(np.min(column) - pad, np.max(column) + pad, 200)
            self.grid, self.at = grid, model_grid(given, grid)
            (self.initial,) = ax.plot(
                grid,
                _evaluate(model, start, self.at, None, "predict"),
                "--",
                color="#9e9e9e",
                label="initial",
            )
            (self.fit,) = ax.plot(
                grid,
                np.full(len(grid), np.nan),
                color="#3b528b",
                lw=2,
                label="the fit at this step",
            )
            # framed on the data in every frame, widened to the initial line
            # where it lies within two spans of them (as fit.png: a start at 0
            # below data from 1 to 9 was never seen); a line that leaves it is
            # said to
            ylo, yhi = float(np.min(y)), float(np.max(y))
            span = yhi - ylo or 1.0
            low, high = ylo - 0.3 * span, yhi + 0.3 * span
            start_line = np.asarray(self.initial.get_ydata(), np.float64)
            start_line = start_line[np.isfinite(start_line)]
            if len(start_line):
                lowest, highest = float(start_line.min()), float(start_line.max())
                if lowest >= ylo - 2 * span:
                    low = min(low, lowest - 0.05 * span)
                if highest <= yhi + 2 * span:
                    high = max(high, highest + 0.05 * span)
            ax.set_ylim(low, high)
            ax.set_xlabel(info["data"]["x"][0])
            ax.set_ylabel(info["data"]["y"])
        else:
            # an offset is a column of x too (the last): the curve moves with
            # it, row by row
            offset = (info.get("model_options") or {}).get("offset")
            x_names = info["data"].get("x") or []
            why = f" (its offset, {x_names[-1]}, is a second)" if offset else ""
            raise InputError(
                f"animate draws a model of one x column{why} or a distribution over "
                f"its data; for model {info['model']!r} use gradtrace plot."
            )
        if before and label is not None:
            (self.before,) = ax.plot(
                self.grid,
                np.full(len(self.grid), np.nan),
                ":",
                color="#3b528b",
                lw=1.5,
                alpha=0.6,
                label="_before",  # said in the fit's own entry: one row of four
            )
            self.fit.set_label("the fit after this step (dotted: before it)")
            # the fit over it, as _changing draws them (the one added last
            # would be drawn last of their zorder)
            self.fit.set_zorder(2.01)
        self.note: Any = None  # where the fit left the chart (_off_chart)
        self.laid_out = False

    def _values(self, row: Any) -> dict[str, Any]:
        return params_of(row, self.trace.info["fixed"], self.names)

    def _curve(self, values: dict[str, Any]) -> np.ndarray:
        """The fit at ``values`` over the scene's grid: a density, or a line."""
        if self.model.kind == "distribution":
            return np.exp(_evaluate(self.model, values, None, self.grid, "log_prob"))
        return np.asarray(_evaluate(self.model, values, self.at, None, "predict"))

    def show(self, step: int, rows: np.ndarray) -> None:
        """The fit after ``step``, the batch's ``rows`` (positions among the data
        drawn) ringed, the title, and a note where the fit left the chart."""
        from gradtrace.explain import loss_taken

        info, ax = self.trace.info, self.ax
        table = self.ready.table
        if len(table) > self.trace.steps:  # the whole trace: row s is step s
            row = table.iloc[step]
        else:  # a long run's kept steps
            row = table.loc[table["step"].to_numpy() == step].iloc[0]
        values = self._values(row)
        y = self.ready.data[1]
        if self.before is not None:
            then = table.loc[table["step"].to_numpy() == step - 1]
            self.before.set_visible(step >= 1 and len(then) > 0)
            if len(then):
                self.before.set_ydata(self._curve(self._values(then.iloc[0])))
        if self.model.kind == "distribution":
            curve = self._curve(values)
            if self.batch is not None:
                self.batch.set_data(y[rows], np.zeros(len(rows)))
        else:
            curve = self._curve(values)
            if self.batch is not None:
                self.batch.set_data(self.x[rows], self.y[rows])
            said = _off_chart(ax, curve)
            if said is not None and self.note is None:
                self.note = _note(ax, *said)
            elif said is not None:
                _place_note(self.note, *said)
            if self.note is not None:
                self.note.set_visible(said is not None)
        self.fit.set_ydata(curve)
        loss = row["loss"]
        shown = f"{loss:.5g}" if np.isfinite(loss) else "not taken"
        if not np.isfinite(loss) and loss_taken(info, step):
            shown = f"not finite ({loss})"
        # a full-batch step is an epoch of one batch: said once, not three times
        where = (
            ""
            if int(info["schedule"]["batches_per_epoch"]) == 1
            else f" · epoch {int(row['epoch'])}, batch {int(row['batch'])}"
        )
        title = (
            f"step {step} of {self.trace.steps}{where} · loss over {all_rows(info)} "
            f"{shown}"
        )
        # smaller where it would run past the frame (a long run's numbers)
        shown_values = values
        if getattr(self.model, "center", None) is not None:
            # trained on standardised x, drawn over x in its own units
            shown_values = self.model.original_units(values)
        trained = {k: v for k, v in shown_values.items() if k not in info["fixed"]}
        second = _values_line(trained)
        if shown_values is not values:
            second += " (in x's units)"
        size = None if max(len(title), len(second)) <= TITLE_CHARS else "medium"
        ax.set_title(f"{title}\n{second}", fontsize=size)
        if self.laid_out:
            return
        # below the axes, where it hides neither the data nor the line
        legend = self.fig.legend(fontsize=8, loc="lower center", ncol=4, frameon=False)
        placed = self.ready.placed
        if "axes" in placed:
            self.fig.set_dpi(placed["dpi"])  # the first frame's size in pixels
            ax.set_position(placed["axes"])
        else:
            _place(self.fig, ax, legend=legend)
            self.fig.set_dpi(self.ready.dpi)  # the layout's fractions hold at any dpi
            placed.update(axes=ax.get_position(), dpi=self.fig.dpi)
        self.laid_out = True

    def _changing(self) -> list[Any]:
        """The artists ``show`` changes, drawn over the kept background."""
        # in the order a figure drawn whole has them: the batch's marks under
        # the initial fit, both under the fit before the step, all under the
        # fit, and the axes' edges over all of them
        moving = [] if self.batch is None else [self.batch, self.initial]
        moving += [] if self.before is None else [self.before]
        moving += [self.fit, *self.ax.spines.values(), self.ax.title]
        if self.note is not None:
            moving.append(self.note)
        return moving

    def keep_background(self) -> None:
        """Draw everything but what ``show`` changes, once, and keep the pixels."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.canvas = FigureCanvasAgg(self.fig)
        title = self.ax.title
        moving = [a for a in self._changing() if a is not title]
        shown = [a.get_visible() for a in moving]
        for artist in moving:
            artist.set_visible(False)
        # the title blank, not hidden: the axes place a hidden title elsewhere
        words = title.get_text()
        title.set_text("")
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        title.set_text(words)
        for artist, visible in zip(moving, shown, strict=True):
            artist.set_visible(visible)

    def image(self) -> Any:
        """This frame as a Pillow image: the kept background, and over it what
        ``show`` set (the whole figure drawn where nothing was kept)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        if self.background is None:
            canvas = FigureCanvasAgg(self.fig)
            canvas.draw()
        else:
            canvas = self.canvas
            canvas.restore_region(self.background)
            for artist in self._changing():
                if artist.get_visible():
                    self.fig.draw_artist(artist)
        return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert(
            "P", palette=Image.Palette.ADAPTIVE
        )


def _off_chart(ax: Any, line: np.ndarray) -> tuple[str, bool] | None:
    """Where the fitted ``line`` leaves the axes' y range (or is not finite), what
    to say in the chart, and whether by the top edge: "the fit runs above the
    chart ↑", and how far it went; None where it stays on the chart."""
    low, high = ax.get_ylim()
    finite = line[np.isfinite(line)]
    above, below = bool(np.any(finite > high)), bool(np.any(finite < low))
    if not len(finite):
        return "the fit is not finite", True
    if above and below:
        far = finite[np.argmax(np.abs(finite))]
        return f"the fit leaves the chart ↑↓ (y reaches {far:.3g})", True
    if above:
        return f"the fit runs above the chart ↑ (y up to {finite.max():.3g})", True
    if below:
        return f"the fit runs below the chart ↓ (y down to {finite.min():.3g})", False
    return None


def _note(ax: Any, text: str, top: bool) -> Any:
    """The note of ``_off_chart``, by the edge the fit left through."""
    note = ax.text(
        0.98,
        0.96,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        color="#3b528b",
        fontsize=10,
        fontweight="bold",
        bbox={"facecolor": "white", "edgecolor": "#3b528b", "alpha": 0.9},
    )
    _place_note(note, text, top)
    return note


def _place_note(note: Any, text: str, top: bool) -> None:
    note.set_text(text)
    note.set_y(0.96 if top else 0.04)
    note.set_verticalalignment("top" if top else "bottom")
