"""Pictures, with matplotlib (imported only when a picture is drawn).

Colours come from viridis (readable in grey and by colour-blind readers); diverged
configurations are marked with a cross as well as a colour.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from gradtrace.advice import OUTSIDE, STILL_MOVING, UNCONVERGED
from gradtrace.errors import InputError
from gradtrace.tables import axis_labels, param_labels
from gradtrace.text import model_by_loss, run_setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def warm_up() -> None:
    """Import matplotlib now (in a thread, while other work runs): its import is
    the slowest part of drawing a picture."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    from PIL import Image

    Image.preinit()  # PIL's PNG writer


def _figure(
    width: float,
    height: float,
    rows: int = 1,
    cols: int = 1,
    layout: Literal["constrained"] | None = "constrained",
    ax: Any = None,
    **kwargs: Any,
) -> tuple[Figure, Any]:
    """A figure and its axes, outside pyplot (no global state, safe in threads);
    ``layout=None`` for a figure that ``_place`` lays out. ``ax``: the caller's own
    matplotlib axes to draw on instead (its figure is theirs)."""
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    # at the pixels per inch the command writes: fig.savefig gives its sizes
    fig = Figure(figsize=(width, height), layout=layout, dpi=DPI)
    return fig, fig.subplots(rows, cols, **kwargs)


def check_axes(ax: Any) -> None:
    """Refuse an ``ax=`` that is not a matplotlib axes (None: a figure of our
    own)."""
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

    if ax is not None and isinstance(ax, FigureBase):
        raise InputError(
            f"ax= takes a matplotlib Axes, got a {type(ax).__name__}: pass one of "
            "its axes (ax=fig.gca(), or fig, ax = plt.subplots())."
        )
    if ax is not None and not isinstance(ax, Axes):
        raise InputError(
            f"ax= takes a matplotlib Axes (fig, ax = plt.subplots()), got a "
            f"{type(ax).__name__}."
        )


def _place(fig: Figure, ax: Any, bar: Any = None, legend: Any = None) -> None:
    """Lay out a figure of one axes, perhaps a colorbar's axes ``bar`` on its right
    and a figure legend at its lower left, as constrained layout would (room for
    tick labels, axis labels and the title, the same paddings, a colorbar 1/20 as
    wide as it is tall), measuring each axes once: constrained layout measures
    them over and over, and that was a third of the time a sweep's pictures took."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(DPI)  # as save() writes it by default (the layout is in fractions)
    renderer = FigureCanvasAgg(fig).get_renderer()
    pad = 3 / 72 * fig.dpi  # constrained layout's paddings
    width, height = fig.bbox.width, fig.bbox.height

    def overhang(axes: Any) -> tuple[float, float, float, float]:
        inner, outer = axes.get_window_extent(renderer), axes.get_tightbbox(renderer)
        return (
            max(inner.x0 - outer.x0, 0.0),
            max(outer.x1 - inner.x1, 0.0),
            max(inner.y0 - outer.y0, 0.0),
            max(outer.y1 - inner.y1, 0.0),
        )

    left, right, below, above = overhang(ax)
    x0 = left + pad
    y0 = below + pad
    if legend is not None:
        y0 += legend.get_window_extent(renderer).y1 + pad
    y1 = height - above - pad
    x1 = width - right - pad
    if bar is not None:
        _, bar_right, bar_below, bar_above = overhang(bar)
        y0 = max(y0, bar_below + pad)
        y1 = min(y1, height - bar_above - pad)
        bar_x1 = width - bar_right - pad
        bar_x0 = bar_x1 - (y1 - y0) / 20
        x1 = bar_x0 - right - pad - 0.01 * (bar_x0 - x0)
        bar.set_position(
            (bar_x0 / width, y0 / height, (bar_x1 - bar_x0) / width, (y1 - y0) / height)
        )
    ax.set_position((x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height))


def _cmap(name: str = "viridis") -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def check_folder(path: Path) -> None:
    """Raise :class:`InputError` unless the folder ``path`` goes into exists."""
    if not path.parent.is_dir():
        raise InputError(
            f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not "
            "exist; create it or choose another path."
        )


def written(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` by ``write(tmp)`` into a hidden file beside it, then rename it,
    so that a failure (any, an interruption included) leaves nothing half-written. A
    folder that does not exist, or one that cannot be written, is the caller's to
    fix: an :class:`InputError`."""
    check_folder(path)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {str(path)!r} ({err.strerror or err}): choose a writable "
            "path."
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


#: Pixels per inch of the pictures written (a 7.5 x 4.5 inch figure: 825 x 495
#: pixels); ``gradtrace plot --dpi`` takes another, as for a projector.
DPI = 110


def save(
    fig: Figure, path: str | Path, *, quick: bool = False, dpi: float = DPI
) -> Path:
    """Write a figure as PNG at ``dpi`` pixels per inch, atomically.

    ``quick`` (a sweep's pictures, written at the end of a timed command): faster,
    lighter PNG compression (files about 10% larger), and one drawing pass even for a
    figure with a layout engine, for which ``savefig`` draws twice (same pixels)."""

    def write(tmp: Path) -> None:
        if not quick:
            fig.savefig(tmp, dpi=dpi, format="png")
            return
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.image import imsave

        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # runs any layout engine and renders, in one pass
        imsave(
            tmp,
            canvas.buffer_rgba(),
            format="png",
            origin="upper",
            dpi=dpi,
            pil_kwargs={"compress_level": 1},
        )

    return written(Path(path), write)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


_MATH_POWER = re.compile(
    r"\$\\mathdefault\{(-?)(?:([0-9.]+)\\times)?([0-9.]+)\^\{(-?[0-9]+)\}\}\$"
)


_MATH_PLAIN = re.compile(r"\$\\mathdefault\{(-?[0-9.e+-]*)\}\$")


def _plain_label(label: str) -> str:
    """A log axis's mathtext label, ``$\\mathdefault{10^{-7}}$``, as plain text with
    Unicode superscripts, 10⁻⁷: the same label without matplotlib's mathtext parser
    (building it and parsing the labels was the slowest part of a sweep's figures)."""
    power = _MATH_POWER.fullmatch(label)
    if power:
        sign, coeff, base, exponent = power.groups()
        sign = "−" if sign else ""
        coeff = f"{coeff}×" if coeff else ""
        return f"{sign}{coeff}{base}{exponent.translate(_SUPERSCRIPT)}"
    plain = _MATH_PLAIN.fullmatch(label)
    return re.sub("^-", "−", plain.group(1)) if plain else label


def _plain_log_labels(*targets: Any) -> None:
    """Label log-scaled axes (each an ``Axis`` or a ``Colorbar``) as matplotlib
    would, in plain text rather than mathtext (``_plain_label``); an axis whose
    view lies within 1 to 100000 (counts of steps) in plain numbers, 275 rather
    than 2.75×10², and one reaching beyond in powers of ten throughout (not 10⁸
    above 10000 and 100)."""
    from matplotlib.ticker import LogFormatterMathtext, LogFormatterSciNotation

    class PlainLog(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            label = _plain_label(super().__call__(x, pos))
            axis = getattr(self, "axis", None)
            low, high = (1.0, 1.0) if axis is None else axis.get_view_interval()
            counts = 1 <= min(low, high) * 1.0001 and max(low, high) < 1e5 * 1.0001
            if label and 1 <= abs(x) < 1e5 and counts:
                return f"{x:g}".replace("-", "−")
            return label

    for target in targets:
        axis = getattr(target, "long_axis", target)  # a colorbar's: its ticks
        for which in ("major", "minor"):
            old = getattr(axis, f"get_{which}_formatter")()
            if not isinstance(old, LogFormatterMathtext):
                continue
            new = PlainLog(
                base=getattr(old, "_base", 10.0),
                labelOnlyBase=old.labelOnlyBase,
                minor_thresholds=old.minor_thresholds,
                linthresh=getattr(old, "_linthresh", None),
            )
            if axis is target:
                getattr(axis, f"set_{which}_formatter")(new)
            else:  # the colorbar keeps its own (it sets the axis's on update)
                setattr(
                    target, "formatter" if which == "major" else "minorformatter", new
                )


#: Characters in a line of a wide figure's title (8.5 inches, 12 points).
TITLE_CHARS = 84


def _filled(text: str, width: int) -> str:
    """``text`` with each of its lines filled to ``width`` characters: a title line
    wider than its figure runs off the figure's edges."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _title_chars(ax: Any, width: int, own: bool, size: float | None = None) -> int:
    """The most characters a title line of ``ax`` holds: ``width``, or fewer
    on an axes of the caller's narrower than ours (one of a grid of subplots,
    whose titles ran into each other), at least 24; ``size``: the title's font
    size in points (matplotlib's default title size)."""
    if not own:
        return width
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    points = FontProperties(
        size=size or rcParams["axes.titlesize"]
    ).get_size_in_points()
    inches = ax.get_position().width * ax.figure.get_figwidth()
    return max(24, min(width, int(inches * 72 / (0.55 * points))))


#: Where ``legend_clear_of`` tries a legend, the corners first.
LEGEND_PLACES = (
    "upper right",
    "upper left",
    "lower left",
    "lower right",
    "center right",
    "center left",
    "upper center",
    "lower center",
)


def legend_clear_of(
    ax: Any, marks: Sequence[tuple[float, float]], crowd: tuple[Any, Any], **kwargs: Any
) -> Any:
    """A legend inside ``ax`` where it hides none of ``marks`` (points in data
    coordinates: a landscape's start, end and optimum) and the fewest points of
    ``crowd`` (x and y arrays: the path); matplotlib's ``loc="best"`` weighs
    every point alike and covered the optimum's star with a path's points
    elsewhere. Where the figure's canvas has no renderer to measure with, "best"."""
    legend = ax.legend(loc="best", **kwargs)
    get_renderer = getattr(ax.figure.canvas, "get_renderer", None)
    if get_renderer is None:
        return legend
    renderer = get_renderer()
    to_pixels = ax.transData.transform
    kept = to_pixels(np.asarray(marks, float).reshape(-1, 2))
    xs, ys = (np.asarray(v, float) for v in crowd)
    many = to_pixels(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    room = 8.0  # pixels around a mark: its own marker's half-width
    best, fewest = None, None
    for loc in LEGEND_PLACES:
        legend.set_loc(loc)
        box = legend.get_window_extent(renderer)
        hidden = (
            (kept[:, 0] > box.x0 - room)
            & (kept[:, 0] < box.x1 + room)
            & (kept[:, 1] > box.y0 - room)
            & (kept[:, 1] < box.y1 + room)
        ).sum()
        covered = (
            (many[:, 0] > box.x0)
            & (many[:, 0] < box.x1)
            & (many[:, 1] > box.y0)
            & (many[:, 1] < box.y1)
        ).sum()
        cost = (int(hidden), int(covered))
        if fewest is None or cost < fewest:
            best, fewest = loc, cost
    legend.set_loc(best)
    return legend


#: Data points a scatter of the data draws at most: beyond, a random subset of
#: this many (drawing 2 million points took 1.3 s a picture, and looks the same).
POINTS_SHOWN = 20_000


def point_size(shown: int) -> float:
    """The marker size of a scatter of ``shown`` points: a few rows drawn large
    enough to see against the fitted curve, thousands small enough to see apart."""
    return 9.0 if shown <= 30 else 7.0 if shown <= 300 else 5.0


def points_shown(n: int) -> slice | np.ndarray:
    """The rows a scatter of ``n`` rows draws: all, or ``POINTS_SHOWN`` of them
    (``random_rows``)."""
    return slice(None) if n <= POINTS_SHOWN else random_rows(n, POINTS_SHOWN)


#: bins of a scatter of y against the prediction: its binned means show whether
#: the predictions are right on average (for 0/1 data, whether the probabilities
#: are calibrated)
PREDICTION_BINS = 10


def binned_means(
    pred: np.ndarray, y: np.ndarray, bins: int = PREDICTION_BINS
) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean prediction and the mean y in ``bins`` bins of equal counts of the
    rows sorted by prediction (fewer bins for few rows: at least 10 rows each);
    None under 20 rows."""
    ok = np.isfinite(pred) & np.isfinite(y)
    pred, y = pred[ok], y[ok]
    bins = min(bins, len(y) // 10)
    if bins < 2:
        return None
    order = np.argsort(pred, kind="stable")
    parts = np.array_split(order, bins)
    return (
        np.array([pred[p].mean() for p in parts]),
        np.array([y[p].mean() for p in parts]),
    )


def random_rows(n: int, k: int) -> np.ndarray:
    """``k`` of ``n`` rows drawn at random, the same ones every time, in order."""
    return np.sort(np.random.default_rng(0).choice(n, k, replace=False))


def data_label(n: int, shown: int | None = None) -> str:
    """The legend of data of ``n`` rows of which a picture draws ``shown`` (a
    scatter: ``POINTS_SHOWN`` at most, ``points_shown``)."""
    shown = min(n, POINTS_SHOWN) if shown is None else shown
    return f"data ({n} rows)" if shown >= n else f"data (a random {shown} of {n} rows)"


#: Rows the pictures of a streamed run read from its file: a fixed random sample
#: of this many where it has more, read in one pass a chunk at a time (data larger
#: than memory are never read whole; a scatter draws 20000 of them, a landscape
#: 100000).
PICTURE_ROWS = 1_000_000


def _run_data(trace: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """The data a run's pictures draw: the run's own, read again from where it
    read them, or of a streamed run of more than ``PICTURE_ROWS`` rows that many
    of them at random (``data_rows``), read once and kept on the trace."""
    from gradtrace.explain import file_sample, run_data

    if trace._data is not None:
        return trace._data
    info = trace.info
    if not _sampled(trace):
        return run_data(info)
    if trace._sample is None:
        n = int(info["data"]["n_rows"])
        trace._sample = file_sample(info, random_rows(n, PICTURE_ROWS))
    _, x, y = trace._sample
    return x, y


def _held_out_rows(trace: Any) -> tuple[np.ndarray | None, np.ndarray] | None:
    """The run's validation rows: kept by a run of this session, else read
    again (None where they cannot be, or it had none)."""
    if trace._val is not None:
        return trace._val  # type: ignore[no-any-return]
    from gradtrace.explain import held_out_data

    try:
        return held_out_data(trace.info)
    except InputError:
        return None


def _sampled(trace: Any) -> bool:
    """Whether a run's pictures draw a sample of its rows (``_run_data``)."""
    info = trace.info
    return (
        trace._data is None
        and bool(info["schedule"].get("stream"))
        and int(info["data"]["n_rows"]) > PICTURE_ROWS
    )


def one_x_column(x: np.ndarray | None, n: int) -> np.ndarray | None:
    """x's values as one column of ``n`` rows; None for several columns, or none."""
    return None if x is None or np.size(x) != n else np.reshape(x, n)


def model_grid(x: np.ndarray | None, grid: np.ndarray) -> np.ndarray:
    """A grid over x's one column in the shape the model takes: a model of an x
    matrix (logistic, say) takes it as a column."""
    return grid.reshape(-1, 1) if x is not None and np.ndim(x) == 2 else grid


def data_rows(trace: Any) -> np.ndarray | None:
    """The row numbers of the rows ``_run_data`` gives: None for every row, in
    order; a sorted sample of a streamed run's rows otherwise."""
    if not _sampled(trace):
        return None
    _run_data(trace)  # the sample, read once
    assert trace._sample is not None
    return trace._sample[0]


#: Rows a loss landscape is computed over: with more, a fixed random sample of
#: this many (each point of the grid is a pass over the rows: 3600 points of a
#: line's MSE over 10 million rows took 23 s, of a logistic regression's NLL over
#: 500000 rows 20 s; a sample's contours look the same).
LANDSCAPE_ROWS = 100_000


def held_values(trace: Any) -> tuple[dict[str, float], str]:
    """Where a landscape over two parameters holds the others (flat names): at
    the optimum where it is known, so that the contours' lowest point is the
    optimum's star; at the run's final values otherwise. And the words for it."""
    final = _flat_named(dict(trace.params))
    optimum = finite_optimum(trace.info)
    if set(final) <= set(optimum):
        return {k: optimum[k] for k in final}, "optimum value"
    return final, "final value"


def loss_of_two(
    trace: Any, loss: Any, a: str, b: str, held: dict[str, float] | None = None
) -> Any:
    """``loss`` (of a dict of parameters) as a function of the two parameters named
    ``a`` and ``b`` (flat names: ``w[0]``, ``b``), the others at ``held`` (flat
    names; by default ``held_values``)."""
    import jax.numpy as jnp

    base = held_values(trace)[0] if held is None else held
    sizes = {k: np.size(v) for k, v in trace.params.items()}

    def at(va: Any, vb: Any) -> Any:
        flat = {**base, a: va, b: vb}
        params = {}
        for k, size in sizes.items():
            if k in flat:  # a scalar
                params[k] = flat[k]
            else:
                params[k] = jnp.stack([flat[f"{k}[{i}]"] for i in range(size)])
        return loss(params)

    return at


def all_rows(info: dict[str, Any]) -> str:
    """What "the loss over all data" is over: "all data", or "all training rows"
    where the run held rows out (its loss and optimum are the training rows')."""
    return "all training rows" if info["data"].get("validation") else "all data"


def landscape_rows(trace: Any) -> tuple[int, str]:
    """The rows a landscape of ``trace`` is computed over, and what its colour scale
    says of them."""
    n = int(trace.info["data"]["n_rows"])
    # a streamed run's pictures have a sample of its rows to take them from
    rows = min(LANDSCAPE_ROWS, PICTURE_ROWS) if _sampled(trace) else LANDSCAPE_ROWS
    if n <= rows:
        return n, f"over {all_rows(trace.info)}"
    sample = f"a random {rows} of {n} rows"
    if trace.info["reduction"] == "sum":
        return rows, f"summed over {sample}, scaled to all"
    return rows, f"over {sample}"


def _loss_fn(trace: Any, sample: int | None = None) -> Any:
    """The run's loss over all the data as a NumPy-in, float-out function of the
    trained parameters (a dict), in float64. ``sample``: over a fixed random sample
    of that many rows where there are more (a sum scaled up to all the rows)."""
    import jax
    import jax.numpy as jnp

    from gradtrace.core.losses import reduce, row_losses
    from gradtrace.usercode import loss_of

    info = trace.info
    x, y = _run_data(trace)
    if sample is not None and len(y) > sample:
        rows = random_rows(len(y), sample)
        x, y = (None if x is None else x[rows]), y[rows]
    # a sum over some of the rows, scaled up to all of them
    n = int(info["data"]["n_rows"])
    scale = n / len(y) if info["reduction"] == "sum" else 1.0
    model = _model(trace)
    loss = loss_of(info, getattr(trace, "loss", None))
    fixed = {k: np.asarray(v, np.float64) for k, v in info["fixed"].items()}

    def f(params: dict[str, Any]) -> Any:
        with jax.enable_x64(True):
            p = {k: jnp.asarray(v, jnp.float64) for k, v in {**params, **fixed}.items()}
            xs = None if x is None else jnp.asarray(x, jnp.float64)
            total = reduce(
                row_losses(model, loss, p, xs, jnp.asarray(y, jnp.float64)),
                None,
                info["reduction"],
            )
            return total * scale

    return f


def not_converged(trace: Any) -> bool:
    """Whether the summary warns that the run is far from its optimum or still
    moving toward it."""
    return any(
        UNCONVERGED in w or STILL_MOVING in w for w in trace.convergence_warnings()
    )


def off_optimum(trace: Any) -> bool:
    """Whether the summary warns that the run ended away from its optimum: not
    converged (``not_converged``), or a mini-batch run's final values outside
    the optimum's interval, on their way or scattered by the batches."""
    return not_converged(trace) or any(
        o in w for w in trace.convergence_warnings() for o in OUTSIDE
    )


def _optimum_curve(trace: Any, names: list[str]) -> dict[str, Any] | None:
    """The exact optimum's parameters, to draw beside the fitted curve of a
    completed run that has not reached it (the curve it is on its way to);
    None for a run at it, or without a finite optimum of every parameter."""
    optimum = trace.info.get("optimum") or {}
    if trace.status != "completed" or not set(names) <= set(optimum):
        return None
    values = {k: np.asarray(v, np.float64) for k, v in optimum.items()}
    if not all(np.all(np.isfinite(v)) for v in values.values()):
        return None
    return values if off_optimum(trace) else None


def fit_over_data(trace: Any, ax: Any = None) -> Figure:
    """The data with the fitted model, the initial one and the true one (when known):
    points and curves for a regression on one x; for several x, y against the fitted
    prediction; for a distribution, a histogram (or, for counts, the share of each
    value) with the three densities. ``ax``: a matplotlib axes of yours to draw
    on (its figure is returned)."""
    info = trace.info
    x, y = _run_data(trace)
    n = int(info["data"]["n_rows"])  # y may be a sample of them
    model = _model(trace)
    fixed = info["fixed"]
    truth = trace.truth
    given = ax is not None
    fig, ax = _figure(7.5, 4.5, ax=ax)
    colors = {
        "initial": "#9e9e9e",
        "fitted": "#3b528b",
        "optimum": "black",
        "truth": "#d62728",
    }
    names = [s.name for s in _specs(trace, model)]
    best = _optimum_curve(trace, names) if model.kind != "distribution" else None
    curves = []
    for name, params, style in (
        ("initial", trace.initial, "--"),
        ("fitted", trace.params, "-"),
        ("optimum", best or {}, "-."),
        ("truth", truth, ":"),
    ):
        full = {**fixed, **params}
        if name in ("truth", "optimum") and not params:
            continue
        if not set(names) <= set(full):
            continue  # a truth of some of the parameters (a line's w for a poly)
        curves.append((name, full, style))
    if model.kind == "distribution":
        discrete = bool(getattr(model, "discrete", False))
        grid = data_density(ax, y, model, data_label(n, len(y)), 0.5, 400)
        for name, full, style in curves:
            density = np.exp(_evaluate(model, full, None, grid, "log_prob"))
            label = (
                f"{name}: " + _shown(full, names) + _off_chart(density, grid, discrete)
            )
            if discrete:
                ax.plot(
                    grid,
                    density,
                    style,
                    marker="o",
                    ms=3,
                    lw=1.5,
                    color=colors[name],
                    label=label,
                )
            else:
                ax.plot(grid, density, style, lw=2, color=colors[name], label=label)
        ax.set_xlabel(info["data"]["y"])
        ax.set_ylabel("share of rows" if discrete else "density")
    elif (column := one_x_column(x, len(y))) is not None:
        # a likelihood of y given x: the band where it puts most of y
        nll = info["loss"] == "nll" and getattr(model, "family", "") != "bernoulli"
        shown = points_shown(len(y))
        label = data_label(n, min(len(y), POINTS_SHOWN))
        drawn = y[shown]
        if set(np.unique(drawn)) <= {0.0, 1.0}:
            # 0/1: jittered, or 150 students sit on two lines as 70 dots
            drawn = drawn + np.random.default_rng(0).uniform(-0.04, 0.04, len(drawn))
            label += ", jittered up and down"
        ax.plot(
            column[shown],
            drawn,
            ".",
            color="#5ec962",
            ms=point_size(len(drawn)),
            alpha=0.7,
            label=label,
            # a few points above the band and the curve, more beneath them
            # (drawn first: the curve and a likelihood band's edges over them)
            zorder=3 if len(drawn) <= 30 else 2,
        )
        held = _held_out_rows(trace)
        hx, hy = held if held is not None else (None, np.zeros(0))
        # one x column, flat or as a logistic model's matrix of one column
        hx = one_x_column(hx, len(hy))
        if hx is not None:
            seen = points_shown(len(hy))
            ax.plot(
                hx[seen],
                hy[seen],
                "x",
                color="#e377c2",
                ms=4,
                label=f"validation rows ({len(hy)}, held out)",
            )
        grid = np.linspace(np.min(column), np.max(column), 200)
        at = model_grid(x, grid)
        # a curve far outside the data's range (a run that ran away) is cut at the
        # chart's edge, which stays on the data
        low, high = float(np.min(y)), float(np.max(y))
        span = (high - low) or 1.0
        frame_lo, frame_hi = low - 0.25 * span, high + 0.25 * span
        cut = False
        lines: list[tuple[np.ndarray, str, str, str, bool]] = []
        for name, full, style in curves:
            band = _y_band(model, full, at, y) if name == "fitted" and nll else None
            if band is not None:
                # a band far wider than the data (a scale still far from its
                # fit) is cut at the chart's edge, which stays on the data
                wide = bool(np.min(band[0]) < frame_lo or np.max(band[1]) > frame_hi)
                cut = cut or wide
                ax.fill_between(
                    grid,
                    *band,
                    color=colors[name],
                    alpha=0.15,
                    lw=0,
                    label=f"fitted: the middle {BAND:.0%} of y at each x"
                    + (" (beyond the chart)" if wide else ""),
                    zorder=3,
                )
                # its edges drawn too: under thousands of points the shade alone
                # was lost (a researcher's gamma regression on 20000 rows)
                for edge in band:
                    ax.plot(grid, edge, "-", color=colors[name], lw=0.8, zorder=3)
            pred = _evaluate(model, full, at, None, "predict")
            if name == "fitted" and best is None:
                _mean_band(ax, trace, model, full, at, grid, colors[name])
            if info["model"] == "line":
                b = float(full["b"])
                sign = "-" if b < 0 else "+"
                label = f"{name}: y = {full['w']:.4g} x {sign} {abs(b):.4g}"
            elif getattr(model, "center", None) is not None:
                # trained on standardised x, drawn over x in its own units: the
                # values of the line drawn (w=9.5e4 had labelled a slope of 1506)
                own = model.original_units(full)
                label = f"{name}: " + _shown(own, names) + " (in x's units)"
            else:
                label = f"{name}: " + _shown(full, names)
            finite = pred[np.isfinite(pred)]
            off = not len(finite) or (
                finite.min() < low - 2 * span or finite.max() > high + 2 * span
            )
            cut = cut or off
            lines.append((pred, style, name, label, off))
        for pred, style, name, label, off in lines:
            finite = pred[np.isfinite(pred)]
            # once the chart is framed on the data, a line wholly outside it
            # (the start y = 0 under data from 1.4 to 3.5) is said off it too
            outside = cut and (
                bool(np.all(finite < frame_lo)) or bool(np.all(finite > frame_hi))
            )
            if len(finite) and (off or outside):
                lo_, hi_ = f"{finite.min():.3g}", f"{finite.max():.3g}"
                where = f"at {lo_}" if lo_ == hi_ else f"{lo_} to {hi_}"
                label += f" (off the chart: {where})"
            ax.plot(grid, pred, style, lw=2, color=colors[name], label=label)
        if cut:
            ax.set_ylim(frame_lo, frame_hi)
        ax.set_xlabel(info["data"]["x"][0])
        ax.set_ylabel(info["data"]["y"])
    else:
        assert x is not None
        full = {**fixed, **trace.params}
        shown = points_shown(len(y))
        rows = x.reshape(len(y), -1)[shown]
        pred = _evaluate(model, full, rows, None, "predict")
        y = y[shown]
        label = data_label(n, len(y))
        drawn = y
        if len(np.unique(y)) <= 2:  # 0/1: jittered, or every point sits on two lines
            drawn = y + np.random.default_rng(0).uniform(-0.04, 0.04, len(y))
            label += ", jittered up and down"
        ax.plot(
            pred, drawn, ".", color="#3b528b", ms=4, alpha=0.5, label=label, zorder=1
        )
        # over the predictions only: y far beyond them (a skewed y, of claims
        # mostly 0) squeezed every point into a sliver at the left
        lim = [float(pred.min()), float(pred.max())]
        ax.plot(lim, lim, ":", color="#d62728", label="y = prediction")
        means = binned_means(np.asarray(pred, np.float64), np.asarray(y, np.float64))
        if means is not None:
            ax.plot(
                *means,
                "D-",
                color="#f28e2b",
                ms=5,
                lw=1.2,
                zorder=3,
                label=f"mean of y in {len(means[0])} bins of the prediction"
                + (" (of the rows drawn)" if len(y) < n else ""),
            )
        # a logistic regression predicts the probability of a 1
        target = info["data"]["y"]
        ax.set_xlabel(
            f"fitted probability P({target} = 1)"
            if info["model"] == "logistic"
            else "fitted prediction"
        )
        ax.set_ylabel(target)
    from gradtrace.advice import ended_above

    loss = trace.to_pandas()["loss"]
    rose = (
        trace.status != "diverged"  # says it already
        and ended_above(float(loss.iloc[0]), trace.final_loss)
        # a mini-batch run's scatter around the optimum it started at is no rise
        and trace.rise_by_scatter() is None
    ) * ", its loss rose"
    stopping = info.get("early_stopping") or {}
    status = trace.status
    if stopping.get("stopped_epoch") is not None:
        status = f"stopped early after epoch {stopping['stopped_epoch']}"
    if trace.restored is not None:
        status += f", epoch {trace.restored[0]}'s weights restored"
    if status == "completed" and not_converged(trace):
        status += ", not converged"  # as the summary warns (it read "completed")
    elif status == "completed" and off_optimum(trace):
        status += ", ended off its optimum"  # a mini-batch run's, as warned
    ax.set_title(
        # filled: a run stopped early says more than fits on one line
        _filled(
            f"{model_by_loss(info)}, {run_setting(info)}: "
            f"{trace.steps} steps, {status}{rose}",
            _title_chars(ax, 80, given),
        )
    )
    _, labels = ax.get_legend_handles_labels()
    if not given and max(map(len, labels), default=0) > FIT_LEGEND_CHARS:
        # labels that long, inside the axes, would cover the curves
        fig.legend(fontsize=8, loc="outside lower center", frameon=False)
    else:
        legend = ax.legend(fontsize=8)
        if not given and _covers_points(fig, ax, legend):
            # no corner free of data (counts of 0, 1, 2 across the whole width):
            # below the axes instead of over the points
            legend.remove()
            # as many columns as the longest label leaves room for across the
            # figure (three of 60 characters ran off both its sides)
            widest = max(map(len, labels), default=0) + LEGEND_MARKER_CHARS
            ncol = max(1, min(3, _figure_chars(fig) // widest))
            fig.legend(fontsize=8, loc="outside lower center", frameon=False, ncol=ncol)
    return fig


#: The characters a legend entry's marker and gaps take beside its label
LEGEND_MARKER_CHARS = 8


def _figure_chars(fig: Figure, fontsize: float = 8) -> int:
    """About how many characters of ``fontsize`` points fit across ``fig``
    (DejaVu Sans: 0.6 em a character on average)."""
    return int(fig.get_figwidth() * 72 / (0.6 * fontsize))


def _covers_points(fig: Figure, ax: Any, legend: Any) -> bool:
    """Whether ``legend``, where matplotlib placed it, lies over any of the points
    drawn on ``ax`` (its marker-only lines): a point hidden under it is a point
    the reader misses."""
    points = [
        line.get_xydata()
        for line in ax.get_lines()
        if line.get_linestyle() in ("None", "none", " ", "")
        and len(line.get_xdata()) > 1
    ]
    if not points:
        return False
    xy = np.concatenate(points)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return False
    # "best" is resolved when the figure is drawn: drawn once here to place it
    fig.draw_without_rendering()
    box = legend.get_window_extent()
    at = ax.transData.transform(xy)
    inside = (
        (at[:, 0] >= box.x0)
        & (at[:, 0] <= box.x1)
        & (at[:, 1] >= box.y0)
        & (at[:, 1] <= box.y1)
    )
    return bool(inside.any())


#: The longest legend label (characters) drawn inside a fit's axes; with a longer
#: one (a model of many parameters: each named with its value) the legend goes
#: below them.
FIT_LEGEND_CHARS = 48


def _model(trace: Any) -> Any:
    from gradtrace.usercode import model_of

    return model_of(trace.info, getattr(trace, "model", None))


def _specs(trace: Any, model: Any) -> list[Any]:
    from gradtrace.core.losses import param_specs
    from gradtrace.usercode import loss_of

    loss = loss_of(trace.info, getattr(trace, "loss", None))
    return list(param_specs(model, loss))


def params_of(row: Any, fixed: dict[str, Any], specs: list[Any]) -> dict[str, Any]:
    """A trace row's parameters (and the fixed ones) as the model takes them."""
    params: dict[str, Any] = dict(fixed)
    # the row as a dict once: a Series' indexing by a list of labels took 1.8 ms a
    # frame (0.55 s of a report of 301 frames)
    values = row.to_dict()
    for sp in specs:
        cols = sp.columns()
        if all(c in values for c in cols):
            v = np.array([values[c] for c in cols], np.float64)
            params[sp.name] = v[0] if sp.size is None else v
    return params


def _shown(params: dict[str, Any], names: list[str]) -> str:
    """'loc=1.2, scale=0.5' (vectors shortened)."""
    parts = []
    for k in names:
        v = np.asarray(params[k], float)
        text = (
            f"{float(v.reshape(())):.4g}"
            if v.size == 1  # a one-column model's slope: w=1.46, not w=[1.46]
            else "["
            + ", ".join(f"{e:.3g}" for e in v[:4])
            + (", ...]" if v.size > 4 else "]")
        )
        parts.append(f"{k}={text}")
    return ", ".join(parts)


#: Values a landscape evaluates at once (grid points x rows): 4e6 float64, 32 MB
GRID_ELEMENTS = 4_000_000


def on_grid(fn: Any, A: np.ndarray, B: np.ndarray, rows: int) -> np.ndarray:
    """``fn(a, b)`` (a loss over ``rows`` rows) at every point of the grid (A, B), a
    batch of points at a time, so that memory stays at about ``GRID_ELEMENTS``
    values whatever the number of rows (a 60 x 60 grid over 200000 rows at once
    needed 11 GB)."""
    import jax
    import jax.numpy as jnp

    batch = max(1, GRID_ELEMENTS // max(rows, 1))
    flat = jax.lax.map(
        lambda ab: fn(ab[0], ab[1]),
        (jnp.asarray(A.ravel()), jnp.asarray(B.ravel())),
        batch_size=min(batch, A.size),
    )
    return np.asarray(flat).reshape(A.shape)


def grid_and_floor(
    trace: Any, fn: Any, A: np.ndarray, B: np.ndarray, rows: int, a: str, b: str
) -> tuple[np.ndarray, float | None]:
    """``on_grid`` of ``fn``, and its value at the optimum's (a, b) where the
    others are held at the optimum (``held_values``): the loss the contours'
    darkest colour stands for, the optimum's own (a grid's lowest point missed
    it: 0.8779 on the colour bar against the summary's 0.8751). None where the
    slice does not pass through the optimum."""
    optimum = finite_optimum(trace.info)
    if held_values(trace)[1] != "optimum value" or a not in optimum or b not in optimum:
        return on_grid(fn, A, B, rows), None
    flat_a = np.append(A.ravel(), optimum[a])[None, :]
    flat_b = np.append(B.ravel(), optimum[b])[None, :]
    values = on_grid(fn, flat_a, flat_b, rows).ravel()
    floor = float(values[-1])
    return values[:-1].reshape(A.shape), floor if math.isfinite(floor) else None


def _evaluate(
    model: Any, params: dict[str, Any], x: Any, y: Any, what: str
) -> np.ndarray:
    """The model's prediction at x, or its log-density at y, in float64, by one
    compiled program for each model and shape: a report's or an animation's
    frames, one for each step shown, then run the same program (a negative
    binomial's report of 301 frames took 39-46 s operation by operation, each
    frame compiling its branches afresh; now 1.4-1.9 s in all)."""
    import jax
    import jax.numpy as jnp

    at = x if what == "predict" else y
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        at = None if at is None else jnp.asarray(at, jnp.float64)
        return np.asarray(_model_program()(model, what, p, at))


@functools.cache
def _model_program() -> Any:
    """``model.predict(params, x)`` or ``model.log_prob(params, y)`` (``what``),
    compiled and kept by model, ``what`` and shapes."""
    from gradtrace.core import compiler

    def evaluate(model: Any, what: str, params: Any, at: Any) -> Any:
        if what == "predict":
            return model.predict(params, at)
        return model.log_prob(params, at)

    return compiler.jit(evaluate, static_argnums=(0, 1))


#: The share of y's likelihood at each x that a regression's band spans.
BAND = 0.9


def _mean_band(
    ax: Any,
    trace: Any,
    model: Any,
    full: dict[str, Any],
    at: Any,
    grid: np.ndarray,
    color: str,
) -> None:
    """The interval of the fitted mean at each x of ``grid`` (``at``, as the
    model takes it), at the level of the run's intervals (95% unless it chose
    another), shaded about the fitted curve of a completed run at its optimum
    that has the estimates' covariance (``estimates.prediction_band``); nothing
    for another."""
    from gradtrace.errors import InputError
    from gradtrace.estimates import level_of, prediction_band
    from gradtrace.text import percent

    info = trace.info
    if trace.status != "completed" or info.get("covariance") is None:
        return
    if trace.loss_rose or off_optimum(trace):  # its curve is not the estimate's
        return
    fixed = info.get("fixed") or {}
    trained = {k: v for k, v in full.items() if k not in fixed}
    try:
        level = level_of(info)
        band = prediction_band(info, model, trained, fixed, at, "confidence", level)
    except (InputError, KeyError, ValueError):  # not a covariance of these values
        return
    low, high = band["ci_low"].to_numpy(), band["ci_high"].to_numpy()
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return
    ax.fill_between(
        grid,
        low,
        high,
        color=color,
        alpha=0.35,
        lw=0,
        zorder=3,
        label=f"fitted: the {percent(level)} interval of the mean y at each x",
    )


def _y_band(
    model: Any, params: dict[str, Any], at: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The middle ``BAND`` of y at each x of ``at`` by the model's likelihood
    (its 5% and 95% quantiles), from its density over a grid of y (whole numbers
    for counts) around y's range, widened until it holds about all of it; None
    where none does (a density wider than 129 times y's range, or a likelihood
    that is not a density of y, whose sum over y is not 1)."""
    import jax
    import jax.numpy as jnp

    from gradtrace.core.losses import row_losses

    low, high = float(np.min(y)), float(np.max(y))
    whole = bool(np.all(y == np.round(y))) and low >= 0
    # y's range, then wider: a run still far from its fit (a scale of 20 over
    # y's 4) spreads its likelihood beyond the data
    for span in ((high - low) or 1.0) * np.array([1.0, 8.0, 64.0]):
        counts = whole
        if counts:
            ys = np.arange(max(0.0, np.floor(low - span)), np.ceil(high + span) + 1)
            counts = len(ys) <= 4000
        if not counts:
            ys = np.linspace(low - span, high + span, 801)
        width = 1.0 if counts else float(ys[1] - ys[0])
        xs = np.repeat(np.asarray(at, np.float64), len(ys), axis=0)
        try:
            with jax.enable_x64(True):
                p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
                rows = row_losses(
                    model, "nll", p, jnp.asarray(xs), jnp.tile(ys, len(at))
                )
                density = np.exp(-np.asarray(rows)).reshape(len(at), len(ys))
        except Exception:  # noqa: BLE001 - the user's likelihood: no band, the fit stands
            return None
        mass = density * width
        total = mass.sum(axis=1)
        if np.all(np.isfinite(total)) and np.all(np.abs(total - 1) <= 0.02):
            break
    else:
        return None
    share = np.cumsum(mass, axis=1) / total[:, None]
    tail = (1 - BAND) / 2
    if counts:  # the smallest count whose share reaches each quantile
        lo = ys[np.argmax(share >= tail, axis=1)]
        hi = ys[np.argmax(share >= 1 - tail, axis=1)]
        return lo, hi
    lo = np.array([np.interp(tail, c, ys) for c in share])
    hi = np.array([np.interp(1 - tail, c, ys) for c in share])
    return lo, hi


def bar_ticks(levels: Any, apart: float = 0.12) -> list[float]:
    """A geometric colour bar's ticks: its lowest level (the lowest loss), then
    round numbers (1, 2 or 5 times a power of ten) at least ``apart`` of the
    bar from each other and from it; where fewer than two round numbers fit, its
    every fourth level to three digits (the levels themselves read 0.03397,
    0.06789)."""
    levels = np.asarray(levels, np.float64)
    low, high = float(levels[0]), float(levels[-1])
    where = np.arange(len(levels)) / max(len(levels) - 1, 1)

    def position(v: float) -> float:
        return float(np.interp(v, levels, where))

    size = max(abs(low), abs(high), 1e-300)
    round_numbers = sorted(
        sign * m * 10.0**k
        for k in range(
            int(math.floor(math.log10(size))) - 12, int(math.log10(size)) + 2
        )
        for m in (1, 2, 5)
        for sign in (-1, 1)
        if low < sign * m * 10.0**k < high
    )
    ticks = [low]
    for v in round_numbers:
        if position(v) - position(ticks[-1]) >= apart and 1 - position(v) >= apart / 2:
            ticks.append(v)
    if len(ticks) < 3:  # every fourth level, to three digits but the lowest
        ticks = [low]
        for v in levels[4::4]:
            # rounded inside the bar: 1715.8 as 1720 stretched the bar past its
            # last level, a blank band; and apart from the tick below (1400
            # printed over 1399.4)
            shown = float(f"{v:.3g}")
            if shown > high:  # rounded down instead, to three digits
                digits = 2 - math.floor(math.log10(abs(v))) if v else 0
                shown = round(math.floor(v * 10.0**digits) / 10.0**digits, digits)
            if not low < shown <= high:
                continue
            if position(shown) - position(ticks[-1]) >= apart:
                ticks.append(shown)
    return ticks


def _bar_format(levels: Any) -> str:
    """A colour bar's number format: four significant digits, or as many more as
    tell its closest levels apart (a landscape near an optimum's loss of 661800,
    its levels a few apart, was ticked "6.618e+05" twice)."""
    values = np.unique(np.asarray(levels, np.float64)[np.isfinite(levels)])
    gaps = np.diff(values)
    if not len(gaps):
        return "%.4g"
    # each gap against its levels' own size: a log scale's levels, evenly
    # spaced in ratio, need as many digits at 0.5 as at 3
    sizes = np.maximum(np.abs(values[:-1]), np.abs(values[1:]))
    relative = gaps[sizes > 0] / sizes[sizes > 0]
    if not len(relative) or not np.any(relative > 0):
        return "%.4g"
    digits = math.ceil(-math.log10(float(relative[relative > 0].min()))) + 1
    return f"%.{min(max(4, digits), 12)}g"


#: How many times its lowest value the highest loss drawn must be for the loss
#: chart to take a log scale (a fall from 240 to 3.3 flattened the run's end into
#: the chart's floor on a linear one).
LOG_SPAN = 20.0


def _batch_floor(ax: Any, batches: Any, frame: Any, others: list[Any]) -> None:
    """A log chart's floor where small batches' losses reach far below the
    other curves (a batch of one row's squared error can be 1e-8): set by the
    loss over all the data, the epoch means, the validation loss, the optimum's
    and the batches' lowest quarter, whatever is lowest, with room below; the
    batches' line says what share of it falls below the chart. ``others``: the
    other curves' values."""
    drawn = frame["batch_loss"].to_numpy(float)[1:]
    drawn = drawn[np.isfinite(drawn) & (drawn > 0)]
    rest = np.concatenate([np.ravel(np.asarray(v, float)) for v in others])
    rest = rest[np.isfinite(rest) & (rest > 0)]
    if not len(drawn) or not len(rest):
        return
    floor = min(float(rest.min()), float(np.quantile(drawn, 0.25))) / 2
    if drawn.min() >= floor / LOG_SPAN:
        return  # they do not reach far below: drawn whole
    ax.set_ylim(bottom=floor)
    share = float(np.mean(drawn < floor))
    below = f"{share:.0%}" if share >= 0.01 else "under 1%"
    batches.set_label(f"batch loss (before the step; {below} of them below the chart)")


def loss_curves(trace: Any, ax: Any = None) -> Figure:
    """The loss per step: each batch's loss (before its update) and the loss over all
    the data (after it), the epoch means when an epoch has several batches, the
    validation data's loss after each epoch where the run had them, and the
    optimum's loss as a line; log scale when what it draws spans ``LOG_SPAN``.
    ``ax``: a matplotlib axes of yours to draw on (its figure is returned)."""
    frame = trace.to_pandas()
    info = trace.info
    given = ax
    fig, ax = _figure(7.5, 4.5, ax=ax)
    steps = frame["step"].to_numpy()
    several = info["schedule"]["batches_per_epoch"] > 1
    batches = None
    if several:
        (batches,) = ax.plot(
            steps[1:],
            frame["batch_loss"][1:],
            color="#9e9e9e",
            lw=0.8,
            alpha=0.8,
            label="batch loss (before the step)",
        )
    full = frame["loss"].to_numpy(float)
    ok = np.isfinite(full)
    # evaluated every k-th step: mark where (a long run's kept rows may hold
    # only evaluated ones, and a line from step 0 to step 69000 hid the fall)
    every = int((info.get("schedule") or {}).get("eval_every") or 1)
    sparse = ok.sum() < len(full) / 2 or every > 1
    ax.plot(
        steps[ok],
        full[ok],
        color="#3b528b",
        # dotted between evaluations: a solid line 375000 steps long read as a
        # loss of 0.3 where the batches' had fallen to 0.01
        lw=1.2 if sparse else 2,
        ls=":" if sparse else "-",
        marker="o" if sparse else None,
        markersize=3.5,
        label=f"loss over {all_rows(info)} (after the step)"
        + (", where evaluated" if sparse else ""),
    )
    if several:
        ends = frame[frame["batch"] == info["schedule"]["batches_per_epoch"]]
        ax.plot(
            ends["step"],
            ends["running_loss"],
            "o",
            color="#21918c",
            ms=4,
            label="epoch mean, as Keras logs it",
        )
    held = frame[frame["val_loss"].notna()] if "val_loss" in frame else None
    if held is not None and not held.empty:
        # a square an epoch where they can be told apart: 400 of them hid the
        # training loss's line beneath
        ax.plot(
            held["step"],
            held["val_loss"],
            "s-" if len(held) <= VAL_SQUARES else "-",
            color="#e377c2",
            lw=1.2,
            ms=3.5,
            label="validation loss (after the epoch)",
        )
    best = info.get("optimum_loss")
    optimum = None
    if best is not None:
        optimum = ax.axhline(
            best, color="#d62728", ls="--", lw=1.2, label=f"optimum's loss {best:.7g}"
        )
    if trace.restored is not None:
        restored_epoch, restored_step = trace.restored
        ax.axvline(
            restored_step,
            color="#8c564b",
            ls=":",
            lw=1.2,
            label=f"weights restored from here (epoch {restored_epoch}, "
            "early stopping)",
        )
    if trace.diverged and trace.diverged_step is not None:
        ax.axvline(
            trace.diverged_step,
            color="#d62728",
            ls=":",
            lw=1.2,
            label=f"diverged at step {trace.diverged_step} (not finite)",
        )
    values = full[ok]
    if several:  # the batches' losses are drawn too: a first batch's spike counts
        drawn = frame["batch_loss"].to_numpy(float)[1:]
        values = np.concatenate([values, drawn[np.isfinite(drawn)]])
    if held is not None and not held.empty:
        drawn = held["val_loss"].to_numpy(float)
        values = np.concatenate([values, drawn[np.isfinite(drawn)]])
    if len(values) and values.min() > 0 and values.max() / values.min() > LOG_SPAN:
        ax.set_yscale("log")
        if batches is not None:
            others = [full[ok], ends["running_loss"], [best] if best else []]
            if held is not None and not held.empty:
                others.append(held["val_loss"])
            _batch_floor(ax, batches, frame, others)
    else:
        # the losses in full (14258.976), not as an offset (+1.42589e4) and
        # ticks of 0.076: a loss near its optimum varies in its last digits;
        # from a million, in powers of ten (ticks of 50000000000 were unread)
        big = len(values) and float(np.max(np.abs(values))) >= PLAIN_BELOW
        if big:
            ax.ticklabel_format(
                axis="y", useOffset=False, style="sci", scilimits=(-4, 6)
            )
        else:
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    low, high = ax.get_ylim()
    if optimum is not None and not low <= best <= high:
        # the losses' own range stays: an optimum far below them would squash them
        side = "below" if best < low else "above"
        optimum.set_label(f"optimum's loss {best:.7g} ({side} the chart)")
    _step_axis(ax, trace.steps)
    ax.set_ylabel(f"{info['loss']} ({info['reduction']})")
    title = f"loss per step: {run_setting(info)}"
    ax.set_title(_filled(title, _title_chars(ax, 70, given is not None)))
    handles, labels = ax.get_legend_handles_labels()
    if info.get("lr_schedule") and "lr" in frame.columns and "grad_lr" not in frame:
        # the scheduled rate on an axis of its own, on the right
        rate = ax.twinx()
        shown = frame["lr"].to_numpy(float)
        (line,) = rate.plot(
            steps[1:],
            shown[1:],
            color="#f28e2b",
            lw=1.2,
            ls="-.",
            label=f"learning rate ({info['lr_schedule']['name']}, right axis)",
        )
        positive = shown[1:][np.isfinite(shown[1:]) & (shown[1:] > 0)]
        if len(positive) and positive.max() / positive.min() > 100:
            rate.set_yscale("log")
        rate.set_ylabel("learning rate")
        handles.append(line)
        labels.append(line.get_label())
        if given is None:
            # below the axes: inside, the legend would cover the rate's curve,
            # which starts at its top
            fig.legend(
                handles,
                labels,
                fontsize=8,
                loc="outside lower center",
                ncol=2,
                frameon=False,
            )
            return fig
    ax.legend(handles, labels, fontsize=8)
    return fig


def parameter_paths(trace: Any) -> Figure:
    """Each parameter per step, with the optimum (dashed), its interval (95% unless the
    run chose another level; a grey band, where the run has standard errors: how far a
    mini-batch run's scatter strays in the estimate's own uncertainty) and the truth
    (dotted) — seed 003's figure of W and b per epoch against their true values."""
    frame = trace.to_pandas()
    info = trace.info
    from gradtrace.estimates import intervals_of, level_of
    from gradtrace.tables import param_columns
    from gradtrace.text import percent

    intervals: dict[str, tuple[float, float]] = {}
    if intervals_of(info):
        summary = trace.summary()
        if {"ci_low", "ci_high"} <= set(summary.columns):
            for name, row in summary.iterrows():
                low, high = float(row["ci_low"]), float(row["ci_high"])
                if np.isfinite(low) and np.isfinite(high):
                    intervals[str(name)] = (low, high)

    cols = param_columns(frame)
    fig, axes = _figure(
        7.5, 1.2 + 1.8 * len(cols), len(cols), 1, sharex=True, squeeze=False
    )
    # a run that ran away: its values beyond those before it on a log scale, or
    # its first steps lie flat on 0 under the blow-up's 1e17
    cut = ran_away(trace, frame["loss"].to_numpy(float))
    before = frame["step"].to_numpy() < (cut if cut is not None else 0)
    axes = axes[:, 0]
    optimum = finite_optimum(info)
    truth = _flat_named(trace.truth)
    palette = _cmap()(np.linspace(0.15, 0.85, max(len(cols), 1)))
    labels = param_labels(trace, cols)
    for ax, col, color in zip(axes, cols, palette, strict=True):
        ax.plot(frame["step"], frame[col], color=color, lw=2, label=labels[col])
        if col in optimum:
            ax.axhline(
                optimum[col],
                color="#444444",
                ls="--",
                lw=1,
                label=f"optimum {optimum[col]:.5g}",
            )
        if col in intervals:
            low, high = intervals[col]
            # a profile's interval is lopsided on purpose: said (as show says it)
            kind_of_interval = (
                " (profile likelihood)"
                if info.get("ci_method") == "profile likelihood"
                else ""
            )
            ax.axhspan(
                low,
                high,
                color="#444444",
                alpha=0.12,
                lw=0,
                label=f"its {percent(level_of(info))} interval{kind_of_interval}, "
                f"{low:.4g} to {high:.4g}",
            )
        if col in truth:
            ax.axhline(
                truth[col],
                color="#d62728",
                ls=":",
                lw=1.5,
                label=f"true {truth[col]:.5g}",
            )
        if trace.restored is not None:  # where early stopping took the weights
            ax.axvline(
                trace.restored[1],
                color="#8c564b",
                ls=":",
                lw=1.2,
                label=f"restored (epoch {trace.restored[0]})",
            )
        ax.set_ylabel(labels[col])
        values = frame[col].to_numpy(float)
        near = [*values[before], optimum.get(col, 0.0), truth.get(col, 0.0)]
        reach = float(np.nanmax(np.abs(near))) if before.any() else 0.0
        top = float(np.nanmax(np.abs(values[np.isfinite(values)]), initial=0.0))
        if reach > 0 and top > 100 * reach:
            _symlog(ax, reach, top)
            ax.set_ylabel(f"{labels[col]}\n(linear to ±{reach:.3g},\nlog beyond)")
        ax.legend(fontsize=8, loc="best")
    _step_axis(axes[-1], trace.steps)
    title = f"parameters per step: {run_setting(info)}"
    if cut is not None and any(ax.get_yscale() == "symlog" for ax in axes):
        title += (
            f"; from step {cut} it outgrew the values before: each axis is "
            "linear up to them, logarithmic beyond"
        )
    if info.get("original_units"):
        # trained on standardised x: the slopes are per standard deviation
        title += " (on standardised x; the summary gives them in x's own units)"
    axes[0].set_title(_filled(title, 70))  # a long one ran off both edges
    return fig


def _symlog(ax: Any, reach: float, top: float) -> None:
    """A symmetric log scale on ``ax``'s y: linear within ±``reach``, logarithmic
    beyond, ticked at 0 and at most four powers of ten each side (each of them
    crowded the axis of a run that blew up to 1e17)."""
    from matplotlib.ticker import FixedLocator, LogFormatterSciNotation

    ax.set_yscale("symlog", linthresh=reach)
    low, high = math.ceil(math.log10(reach)), math.floor(math.log10(top))
    every = max(1, math.ceil((high - low + 1) / 4))
    powers = [10.0**e for e in range(high, low - 1, -every)]
    ax.yaxis.set_major_locator(FixedLocator([-p for p in powers] + [0.0] + powers))
    ax.yaxis.set_minor_locator(FixedLocator([]))
    ax.yaxis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))


#: From this many steps on, the step axis is logarithmic
LOG_STEPS = 10_000


def _step_axis(ax: Any, steps: int) -> None:
    """Label the step axis; a long run's (``LOG_STEPS`` or more) is logarithmic
    (linear from 0 to 1), or its early steps, where most of the change happens,
    would be squeezed against 0."""
    if steps >= LOG_STEPS:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(0, steps * 1.2)
        ax.set_xlabel("step (log scale)")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.set_xlabel("step")
        # steps are whole: a 3-step run's axis had ticks at 0.5 and 1.5
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def finite_optimum(info: dict[str, Any]) -> dict[str, float]:
    """A run's optimum by flat name (``w[0]``), values at infinity left out (a
    negative binomial's size at the Poisson limit): no line, star or frame can
    reach them."""
    optimum = _flat_named(info.get("optimum") or {})
    return {k: v for k, v in optimum.items() if np.isfinite(v)}


def _flat_named(values: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in values.items():
        if isinstance(v, list):
            out.update({f"{k}[{i}]": float(x) for i, x in enumerate(v)})
        else:
            out[k] = float(v)
    return out


#: The loss below which a linear loss axis prints its ticks in full (14258.976);
#: from it, in powers of ten.
PLAIN_BELOW = 1e6

#: How far apart (in pixels at the figure's dpi) two numbered steps of a
#: landscape's path must be for both to carry their number.
LABEL_APART_PX = 14.0


def landscape_levels(
    values: np.ndarray, n: int = 25, lowest: float | None = None
) -> tuple[Any, Any]:
    """Contour levels for a loss over a grid: spaced geometrically in the loss
    above its lowest value (``lowest``, the optimum's, where it is below the
    grid's), so the valley keeps its shape whatever the loss's floor (a
    likelihood's NLL that never goes below 3.2, a squared error that spans
    decades); n even levels where the loss varies little. (levels, norm): the
    norm gives each band its own colour."""
    from matplotlib.colors import BoundaryNorm

    if not len(values):
        return n, None
    low = float(values.min())
    if lowest is not None and lowest < low:
        low = lowest
    span = float(values.max() - low)
    above = values[values > low] - low
    if not len(above) or span <= 0:
        return n, None
    floor = max(float(np.quantile(above, 0.01)), span * 1e-9)
    if span / floor <= 50:
        if low == float(values.min()):
            return n, None
        return np.linspace(low, low + span, n), None  # from the optimum's loss
    levels = low + np.concatenate([[0.0], np.geomspace(floor, span, n - 1)])
    return levels, BoundaryNorm(levels, ncolors=256)


#: A landscape frames the steps whose loss stayed within this many times the
#: start's distance above the optimum's loss (a run that blew up).
RAN_AWAY = 100.0


def ran_away(trace: Any, loss: np.ndarray | None = None) -> int | None:
    """The first step whose loss (over all the data, ``loss`` by step; by default
    the trace's) is not finite or, above the optimum's (or the lowest the run
    reached), rose past ``RAN_AWAY`` times the start's: where a run that blew up
    left any chart framed on its start and the optimum. None if none did. A step
    whose loss the run did not evaluate (``--eval-every``) is NaN, and is not one:
    NaN counts on the last row of a run that diverged alone (an interrupted run's
    last row may be one it did not evaluate)."""
    if loss is None:
        loss = trace.to_pandas()["loss"].to_numpy(float)
    known = trace.info.get("optimum_loss")
    taken = loss[np.isfinite(loss)]
    base = float(known) if known is not None else float(taken.min(initial=loss[0]))
    start = max(loss[0] - base, 1e-12 * max(1.0, abs(base)))
    later = loss[1:]
    failed = (
        np.isnan(later)
        & (np.arange(len(later)) == len(later) - 1)
        & bool(trace.info.get("diverged"))
    )
    away = np.isinf(later) | failed | (later - base > RAN_AWAY * start)
    return int(np.argmax(away)) + 1 if away.any() else None


def framed_words(cut: int) -> str:
    """What a picture framed on the steps before ``cut`` (``ran_away``) says."""
    shown = "the start" if cut == 1 else f"steps 0-{cut - 1}"
    return f"showing {shown}; from step {cut} the run left the chart"


#: The most epochs whose validation loss loss.png marks with a square each
VAL_SQUARES = 60


#: The arrow toward where a run that ran away went, as a share of the chart.
EXIT_ARROW = 0.12


def _leaves_box(a0: float, b0: float, da: float, db: float) -> float:
    """Where the line from (a0, b0) along (da, db) leaves the unit box, in steps of
    (da, db): the least t > 0 at which it crosses an edge (0 where it starts
    outside, as a step from the chart's edge)."""
    ends = []
    for start, step in ((a0, da), (b0, db)):
        if step > 0:
            ends.append((1.0 - start) / step)
        elif step < 0:
            ends.append(-start / step)
    return max(0.0, min(ends)) if ends else 0.0


def exit_point(
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    start: tuple[float, float],
    end: tuple[float, float],
) -> tuple[float, float]:
    """Where the step from ``start`` (inside the chart of ``xlim`` x ``ylim``)
    to ``end`` (outside it) crosses the chart's edge."""
    span_a, span_b = xlim[1] - xlim[0], ylim[1] - ylim[0]
    a0, b0 = (start[0] - xlim[0]) / span_a, (start[1] - ylim[0]) / span_b
    da, db = (end[0] - start[0]) / span_a, (end[1] - start[1]) / span_b
    leave = min(_leaves_box(a0, b0, da, db), 1.0)
    return (
        xlim[0] + (a0 + da * leave) * span_a,
        ylim[0] + (b0 + db * leave) * span_b,
    )


def path_label(n_path: int, every: bool, last: int, cut: int | None) -> str:
    """The legend's words for a landscape's path of ``n_path`` steps after the
    start (``every``: a dot per step, not a long run's kept ones; ``last``: the
    run's last step; ``cut``: where a run that blew up left the chart)."""
    if cut is not None:
        drawn = "the start alone" if cut == 1 else f"steps 0-{cut - 1}"
        return f"path, a dot per step ({drawn}, before it left the chart)"
    if every:
        return f"path, a dot per step ({n_path} step{'s' * (n_path != 1)})"
    # steps, not rows: a reader took the trace's rows for the data's
    return f"path, a dot per kept step ({n_path} of its {last} steps)"


def _framed(values: np.ndarray, constraint: str) -> tuple[float, float]:
    """A landscape axis's ends: the values, a quarter of their span beyond each
    side, kept inside the parameter's range (a positive one above 0, a probability
    inside 0-1), where the loss has no value to draw."""
    pad = 0.25 * (np.ptp(values) or 1.0)
    low, high = float(values.min() - pad), float(values.max() + pad)
    if constraint in ("positive", "unit"):
        low = max(low, float(values.min()) / 10)
    if constraint == "unit":
        high = min(high, 1 - (1 - float(values.max())) / 10)
    return low, high


def held_path_words(moved: np.ndarray) -> str:
    """How the run moved a parameter the landscape holds fixed, in words: "the
    run took it from 0 to 0.49, rising to 0.528 on the way", "the run took it up
    to 2 and back to 1", or "the run kept it at 1" (to three digits)."""
    first, last = moved[0], moved[-1]
    low, high = np.nanmin(moved), np.nanmax(moved)
    below = low < min(first, last) and f"{low:.3g}" != f"{min(first, last):.3g}"
    above = high > max(first, last) and f"{high:.3g}" != f"{max(first, last):.3g}"
    if f"{first:.3g}" == f"{last:.3g}":  # back where it began, or never left
        if below and above:
            between = f"between {low:.3g} and {high:.3g}"
            return f"the run moved it {between}, back to {first:.3g}"
        if above or below:
            turn = f"up to {high:.3g}" if above else f"down to {low:.3g}"
            return f"the run took it {turn} and back to {first:.3g}"
        return f"the run kept it at {first:.3g}"
    way = ""
    if below and above:
        way = f", between {low:.3g} and {high:.3g} on the way"
    elif above:
        way = f", rising to {high:.3g} on the way"
    elif below:
        way = f", falling to {low:.3g} on the way"
    return f"the run took it from {first:.3g} to {last:.3g}{way}"


def loss_landscape(
    trace: Any, params: tuple[str, str] | None = None, grid: int = 60, ax: Any = None
) -> Figure:
    """Contours of the loss over two parameters, with the optimizer's path (a dot per
    step), the start, the end and the optimum. With more parameters, the contours
    hold the others at the optimum (where it is known; else at their final values)
    and the path is each step's two parameters: the title says so. ``ax``: a
    matplotlib axes of yours to draw on (its figure is returned; the legend is
    then the axes' own)."""
    own = ax is not None

    frame = trace.to_pandas()
    from gradtrace.tables import param_columns

    cols = param_columns(frame)
    if params is None:
        if len(cols) < 2:
            raise ValueError(
                f"the landscape needs two parameters; this run trains {len(cols)}"
            )
        params = (cols[0], cols[1])
    # a slope by its column's name as the pictures label it (w[age]), or the name
    by_label = {v: k for k, v in param_labels(trace, cols).items()}
    by_label.update({v[2:-1]: k for v, k in list(by_label.items()) if v != k})
    by_label.update({c: c for c in cols})  # a parameter's own name comes first
    params = (by_label.get(params[0], params[0]), by_label.get(params[1], params[1]))
    a, b = params
    for p in params:
        if p not in cols:
            from gradtrace.errors import InputError

            elements = [c for c in cols if c.startswith(f"{p}[")]
            if elements:  # a vector: its elements are the landscape's axes
                raise InputError(
                    f"--params {a},{b}: {p} is a vector; name its elements, such as "
                    f"{elements[0]} (parameters: {', '.join(cols)})."
                )
            raise InputError(
                f"--params {a},{b}: the run has no parameter {p!r} "
                f"(parameters: {', '.join(cols)})."
            )
    if a == b:
        from gradtrace.errors import InputError

        others = [c for c in cols if c != a]
        raise InputError(
            f"--params {a},{b}: name two different parameters, such as "
            f"{a},{others[0]} (parameters: {', '.join(cols)})."
        )
    path_a, path_b = frame[a].to_numpy(float), frame[b].to_numpy(float)
    finite = np.isfinite(path_a) & np.isfinite(path_b)
    # a run that blew up is framed on its steps before it ran away: framed on all,
    # the start and the optimum would share one pixel of a chart 1e17 wide
    cut = ran_away(trace, frame["loss"].to_numpy(float))
    framed = finite.copy()
    if cut is not None:
        framed[cut:] = False
    optimum = finite_optimum(trace.info)
    xs = np.concatenate([path_a[framed], [optimum.get(a, path_a[framed][-1])]])
    ys = np.concatenate([path_b[framed], [optimum.get(b, path_b[framed][-1])]])
    A, B, Z, over, held_at, lowest = landscape_grid(trace, a, b, xs, ys, grid)
    ga, gb = A[0], B[:, 0]
    held = held_values(trace)[0]
    fig, ax = _figure(7, 5.5, ax=ax)
    levels, norm = landscape_levels(Z[np.isfinite(Z)], lowest=lowest)
    cs = ax.contourf(A, B, Z, levels=levels, cmap=_cmap(), norm=norm, alpha=0.85)
    bar = fig.colorbar(
        cs, ax=ax, label=f"{trace.info['loss']} {over}", format=_bar_format(levels)
    )
    if norm is not None:
        bar.set_ticks(bar_ticks(levels))
    ax.set_xlim(ga[0], ga[-1])
    ax.set_ylim(gb[0], gb[-1])
    ax.plot(path_a[framed], path_b[framed], "-", color="white", lw=1, alpha=0.9)
    n_path = int(framed.sum()) - 1
    steps = frame["step"].to_numpy()
    every = len(steps) == int(steps[-1] - steps[0]) + 1  # a long run's are thinned
    ax.plot(
        path_a[framed],
        path_b[framed],
        "o",
        color="#fde725",
        # a thin dark rim: the yellow dots stay seen on the colour map's yellow
        # (high loss) edge, where a large rate's first steps go
        mec="#404040",
        mew=0.3,
        ms=3.2 if n_path >= NUMBERED_STEPS else 5,
        label=path_label(n_path, every, int(steps[-1]), cut),
    )
    if 1 < int(framed.sum()) <= NUMBERED_STEPS:
        # a short path's steps numbered: an overshoot back and forth along one
        # line (a rate above the limit) reads as a line otherwise; a step that
        # lands on a numbered one (the last steps, close to the optimum) is left
        # unnumbered rather than printed over it
        fig.draw_without_rendering()  # laid out: the axes' final place and size
        at = ax.transData.transform(np.column_stack([path_a, path_b]))
        numbered: list[np.ndarray] = [at[int(np.flatnonzero(framed)[0])]]
        for i in np.flatnonzero(framed)[1:]:
            if min(float(np.hypot(*(at[i] - p))) for p in numbered) < LABEL_APART_PX:
                continue
            numbered.append(at[i])
            ax.annotate(
                str(int(steps[i])),
                (path_a[i], path_b[i]),
                xytext=(5, 5),
                textcoords="offset points",
                fontsize=8,
                color="black",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
            )
    if cut is not None and finite[cut]:  # the step that left, toward where it went
        # an arrow on the step's line that ends where the line leaves the chart:
        # from the last step shown it pointed inward, across the optimum, where
        # an overshoot's step goes; a line all the way crossed the zig-zag
        span_a, span_b = ga[-1] - ga[0], gb[-1] - gb[0]
        a0 = (path_a[cut - 1] - ga[0]) / span_a
        b0 = (path_b[cut - 1] - gb[0]) / span_b
        da = (path_a[cut] - path_a[cut - 1]) / span_a
        db = (path_b[cut] - path_b[cut - 1]) / span_b
        length = math.hypot(da, db)
        if length > 0:
            leave = _leaves_box(a0, b0, da, db)  # in units of the step
            back = min(leave, EXIT_ARROW / length)
            tail = (
                ga[0] + (a0 + da * (leave - back)) * span_a,
                gb[0] + (b0 + db * (leave - back)) * span_b,
            )
            if int(framed.sum()) <= NUMBERED_STEPS:
                # a short path: the step's line, thin and dashed, up to the arrow,
                # which alone read as if the run left from wherever it sits (by
                # the start, for one that overshot back across it)
                ax.plot(
                    [path_a[cut - 1], tail[0]],
                    [path_b[cut - 1], tail[1]],
                    "--",
                    color="#d62728",
                    lw=1,
                    alpha=0.8,
                    zorder=4,
                )
            ax.annotate(
                "",
                xy=(
                    ga[0] + (a0 + da * leave) * span_a,
                    gb[0] + (b0 + db * leave) * span_b,
                ),
                xytext=tail,
                arrowprops={"arrowstyle": "-|>", "color": "#d62728", "lw": 2},
                zorder=5,
                annotation_clip=False,
            )
            ax.plot(
                [],
                [],
                marker=r"$\rightarrow$",
                ls="none",
                ms=12,
                color="#d62728",
                label=f"step {int(steps[cut])}, off the chart that way",
            )
    ax.plot(path_a[0], path_b[0], "o", color="white", mec="black", ms=8, label="start")
    if a in optimum and b in optimum:
        ax.plot(
            optimum[a],
            optimum[b],
            "*",
            color="#d62728",
            mec="black",
            ms=14,
            label="optimum",
            zorder=3,
        )
    if cut is None:  # over the star where the run reached the optimum: hollow
        ax.plot(
            path_a[finite][-1],
            path_b[finite][-1],
            "s",
            mfc="none",
            mec="black",
            mew=1.5,
            ms=9,
            label="end",
            zorder=4,
        )
        if trace.restored is not None:
            final = _flat_named(dict(trace.params))
            if a in final and b in final:
                ax.plot(
                    final[a],
                    final[b],
                    "D",
                    mfc="none",
                    mec="#8c564b",
                    mew=1.5,
                    ms=8,
                    label=f"restored (epoch {trace.restored[0]})",
                    zorder=4,
                )
    names = param_labels(trace, cols)
    # a run on standardised x: its slopes are per standard deviation of their
    # column (w[area_m2] = 68853 read as per m²; params.png says so too)
    axes = axis_labels(trace, cols)
    ax.set_xlabel(axes[a])
    ax.set_ylabel(axes[b])
    lines = [
        f"loss landscape over {names[a]} and {names[b]}",
        f"the path of {run_setting(trace.info)}",
    ]
    others = [c for c in cols if c not in params]
    if len(others) == 1:
        (o,) = others
        path = held_path_words(frame[o].to_numpy(float)[framed])
        # each number kept with its word: a line broke as "from 10 to / 20.2"
        path = re.sub(r" (-?\d[\d.e+-]*)", "\u00a0\\1", path)
        lines.append(f"{names[o]} held at its {held_at} {held[o]:.4g} ({path})")
    elif others:
        lines.append(
            f"{', '.join(names[o] for o in others)} held at their {held_at}s "
            "(they change along the path too)"
        )
    if cut is not None:
        lines.append(framed_words(int(steps[cut])))
    # wrapped: a line wider than the axes runs off the figure's edge
    title = _filled("\n".join(lines), _title_chars(ax, 64, own))
    ax.set_title(title, fontsize=10)
    if own:  # the figure is the caller's, perhaps of several axes
        marks = [(path_a[framed][0], path_b[framed][0])]
        marks += [(path_a[finite][-1], path_b[finite][-1])] * (cut is None)
        if a in optimum and b in optimum:
            marks.append((optimum[a], optimum[b]))
        legend_clear_of(ax, marks, (path_a[framed], path_b[framed]), fontsize=7)
    else:
        # four to a row where they fit the figure's width, else two (a run that
        # left the chart names its steps drawn, and ran off the figure's edge)
        _, labels = ax.get_legend_handles_labels()
        ncol = (
            4
            if sum(len(label) for label in labels[:4]) <= LANDSCAPE_LEGEND_CHARS
            else 2
        )
        fig.legend(fontsize=8, loc="outside lower center", ncol=ncol, frameon=False)
    return fig


def landscape_grid(
    trace: Any, a: str, b: str, xs: np.ndarray, ys: np.ndarray, grid: int = 60
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str, float | None]:
    """The loss of ``trace``'s data over a grid of its parameters ``a`` and
    ``b`` (the others held at ``held_values``) framed on the values ``xs`` and
    ``ys`` (a path, the optimum) within each parameter's range: the grid (A,
    B), the loss Z, what its rows are (``landscape_rows``), where the others
    are held, and the loss at the optimum on the same rows (``grid_and_floor``)."""
    import jax

    ranges = {s.name: s.constraint for s in _specs(trace, _model(trace))}
    ga = np.linspace(*_framed(xs, ranges.get(a.split("[")[0], "real")), grid)
    gb = np.linspace(*_framed(ys, ranges.get(b.split("[")[0], "real")), grid)
    rows, over = landscape_rows(trace)
    held, held_at = held_values(trace)
    at = loss_of_two(trace, _loss_fn(trace, rows), a, b, held)
    with jax.enable_x64(True):
        A, B = np.meshgrid(ga, gb)
        Z, lowest = grid_and_floor(trace, at, A, B, rows, a, b)
    return A, B, Z, over, held_at, lowest


#: The most steps a landscape's path numbers, each beside its dot
NUMBERED_STEPS = 12

#: Characters of a landscape's first four legend labels that fit one row
LANDSCAPE_LEGEND_CHARS = 90


#: The location axis of mse_loglik.png reaches a run's final value that lies up
#: to this many spreads (three standard deviations of the residuals) from the
#: best; a value further off (a run that blew up) is marked off the chart.
REACH = 20


def _off_chart(density: np.ndarray, grid: np.ndarray, discrete: bool) -> str:
    """What a legend adds of a density whose mass lies mostly beyond the chart
    (the data's range): a fit still far from the data draws a flat line at 0,
    which the reader cannot find."""
    finite = np.where(np.isfinite(density), density, 0.0)
    mass = float(np.sum(finite) if discrete else np.trapezoid(finite, grid))
    if mass >= 0.5:
        return ""
    if mass < 0.01:
        return " (off the chart: under 1% of it lies over these data)"
    return f" (mostly off the chart: {mass:.0%} of it lies over these data)"


def data_density(
    ax: Any, y: np.ndarray, model: Any, label: str, pad: float, points: int
) -> np.ndarray:
    """A distribution's data drawn as its fit is drawn over them: a bar a value
    (a discrete family's share of the rows) or a density histogram; and the grid
    the fit's curve is taken on: the values between, or ``points`` from ``pad``
    standard deviations beyond the data's ends, inside the family's support."""
    if getattr(model, "discrete", False):
        values, counts = np.unique(y, return_counts=True)
        ax.bar(
            values,
            counts / len(y),
            width=0.8 if len(values) < 60 else 1.0,
            color="#c7e9c0",
            edgecolor="white",
            label=label,
        )
        return np.arange(np.floor(np.min(y)), np.ceil(np.max(y)) + 1)
    ax.hist(
        y,
        bins=min(60, max(10, int(np.sqrt(len(y))))),
        density=True,
        color="#c7e9c0",
        edgecolor="white",
        label=label,
    )
    lo, hi = np.min(y) - pad * np.std(y), np.max(y) + pad * np.std(y)
    support = getattr(model, "support", "real")
    if support in ("positive", "nonnegative", "unit"):
        lo = max(lo, 1e-9 * max(1.0, float(np.max(y))))
    if support == "unit":
        hi = min(hi, 1 - 1e-9)
    return np.linspace(lo, hi, points)


def mse_and_likelihood(trace: Any) -> Figure:
    """Seed 000's closing figure: over the location (loc, or the intercept b of a
    line, its slope w held at the run's final value), the mean squared error and
    the Gaussian log-likelihood side by side; the MSE's minimum and the
    likelihood's maximum fall at the same place. Of a run that blew up, w is held
    at its optimum instead (at its final 1e17 the residuals are all w x), and a
    final location far off is marked at the chart's edge. A line whose b was held
    fixed (``--fix b=...``) is drawn over its slope w instead, the one it
    trained."""
    from gradtrace.core import rowsums
    from gradtrace.explain import file_chunks

    info = trace.info
    final = trace.params
    whose = _whose(trace)
    if info["model"] == "line" and "b" in info["fixed"] and "w" not in info["fixed"]:
        return _over_the_slope(trace)
    if info["model"] == "normal":
        name, centre = "loc", float(final.get("loc", info["fixed"].get("loc", 0.0)))
        mean_of, held = "mean(y)", ""

        def resid(x: Any, y: np.ndarray) -> np.ndarray:
            return np.asarray(y, np.float64)

    elif info["model"] == "line":
        name, centre = "b", float(final.get("b", info["fixed"].get("b", 0.0)))
        w = float(final.get("w", info["fixed"].get("w", 0.0)))
        held = f"over b, with w held at {whose} w = {w:.5g}"
        optimum = info.get("optimum") or {}
        if "w" in optimum and ran_away(trace) is not None:
            held = (
                f"over b, with w held at its optimum {optimum['w']:.5g} "
                f"({whose} w, {w:.3g}, ran away)"
            )
            w = float(optimum["w"])
        mean_of = "mean(y - w x)"

        def resid(x: Any, y: np.ndarray) -> np.ndarray:
            return np.asarray(y, np.float64) - w * np.asarray(x, np.float64)

    else:
        raise ValueError("this figure is for a normal distribution or a line")
    # over every row, a chunk at a time (10 million rows' float64 residuals at
    # once took 160 MB): a streamed run's file, not its sample
    values: rowsums.Values
    if data_rows(trace) is None:
        x, y = _run_data(trace)
        parts = rowsums.row_blocks(len(y), 16 * rowsums.BLOCK_ROWS)
        values = rowsums.Chunks(
            len(y),
            len(parts),
            lambda i: (None if x is None else x[parts[i]], y[parts[i]]),
        ).map(resid)
    else:
        values = file_chunks(info).map(resid)
    # the MSE at g is mean((r - g)^2) = mean(d^2) + (best - g)^2, d = r - best:
    # memory does not grow with rows x grid points
    best, m2 = rowsums.mean_and_spread64(values)
    # a line's b where w is at its optimum too: the fit's own, which the
    # smallest with w held at the run's final value is not (a statistician read
    # the one as the other)
    optimum = info.get("optimum") or {}
    joint = None
    if name == "b" and "b" in optimum and "w" in optimum:
        joint = (
            float(optimum["b"]),
            f"the optimum's b = {float(optimum['b']):.5g}, where w = "
            f"{float(optimum['w']):.5g} (not this curve's w)",
        )
    # a normal's scale held fixed (seed 002's sigma = 1) is the run's own
    # likelihood's; otherwise the scale that maximises it, sqrt(m2)
    gaussian = info["model"] == "normal" or (
        info["model"] == "line" and info["loss"] == "nll"
    )
    scale = info["fixed"].get("scale") if gaussian else None
    return _mse_and_likelihood(
        trace,
        name,
        centre,
        best,
        m2,
        1.0,
        mean_of,
        held,
        joint=joint,
        sigma=None if scale is None else float(scale),
    )


def _whose(trace: Any) -> str:
    """Whose values a picture marks: the run's final ones, or the weights early
    stopping restored (the run's, but not its last)."""
    if trace.restored is None:
        return "the run's final"
    return f"the run's restored (epoch {trace.restored[0]})"


def _over_the_slope(trace: Any) -> Figure:
    """``mse_and_likelihood`` of a line whose intercept b was held fixed: over w,
    where the MSE is mean((r - w x)^2), r = y - b, smallest at
    w* = sum(x r) / sum(x^2) and growing as mean(x^2) (w - w*)^2."""
    from gradtrace.core import rowsums
    from gradtrace.explain import file_chunks

    info = trace.info
    b = float(info["fixed"]["b"])
    centre = float(trace.params["w"])
    rows: rowsums.Values
    x: Any
    if data_rows(trace) is None:
        x, rows = _run_data(trace)
    else:
        x, rows = None, file_chunks(info)
    sxx = sxr = 0.0
    for xc, yc in rowsums.blocks(x, rows):
        xs = np.asarray(xc, np.float64).reshape(-1)
        sxx += float(xs @ xs)
        sxr += float(xs @ (np.asarray(yc, np.float64) - b))
    n = int(info["data"]["n_rows"])
    best = sxr / sxx if sxx else 0.0
    m2 = 0.0
    for xc, yc in rowsums.blocks(x, rows):
        xs = np.asarray(xc, np.float64).reshape(-1)
        d = np.asarray(yc, np.float64) - b - best * xs
        m2 += float(d @ d)
    held = f"over w, with b held fixed at {b:.5g}"
    return _mse_and_likelihood(
        trace, "w", centre, best, m2 / n, sxx / n or 1.0, "Σx(y - b)/Σx²", held
    )


def _mse_and_likelihood(
    trace: Any,
    name: str,
    centre: float,
    best: float,
    m2: float,
    curvature: float,
    mean_of: str,
    held: str,
    joint: tuple[float, str] | None = None,
    sigma: float | None = None,
) -> Figure:
    """The two panels of ``mse_and_likelihood`` over ``name``: the MSE
    ``m2 + curvature (best - g)^2`` and the log-likelihood at ``sigma`` (a scale
    the run held fixed; sqrt(m2), the one that maximises it, by default), the
    run's final value ``centre`` marked, and ``joint`` (the value at the optimum
    of every parameter, and its label) where it is apart from ``best`` and on
    the chart."""
    n = int(trace.info["data"]["n_rows"])
    whose = _whose(trace)
    spread = 3 * float(np.sqrt(m2 / curvature)) or 1.0
    lo, hi = best - spread, best + spread
    on_chart = bool(abs(centre - best) <= REACH * spread)  # False for NaN
    if on_chart:  # the curves reach the run's value
        lo, hi = min(lo, centre - 0.1 * spread), max(hi, centre + 0.1 * spread)
    grid = np.linspace(lo, hi, 300)
    shift = best - grid
    mse = m2 + curvature * shift**2
    held_scale = sigma is not None
    if sigma is None:
        sigma = float(np.sqrt(m2)) or 1.0

    def loglik(mse: Any) -> Any:
        return -0.5 * n * np.log(2 * np.pi * sigma**2) - n * mse / (2 * sigma**2)

    fig, (left, right) = _figure(10, 4.2, 1, 2)
    left.plot(grid, mse, color="#3b528b", lw=2)
    right.plot(grid, loglik(mse), color="#21918c", lw=2)
    at_centre = m2 + curvature * (best - centre) ** 2
    for ax, label, value, curve in (
        (left, "mean squared error", at_centre, mse),
        (
            right,
            # the normal's scale, as the models and gradtrace data name it
            f"log-likelihood (scale = {sigma:.3g}{', fixed' if held_scale else ''})",
            loglik(at_centre),
            None,
        ),
    ):
        ax.axvline(
            best, color="#d62728", ls="--", lw=1.2, label=f"{mean_of} = {best:.5g}"
        )
        if joint is not None and lo <= joint[0] <= hi:
            if abs(joint[0] - best) > 1e-3 * spread:
                ax.axvline(joint[0], color="#2ca02c", ls="-.", lw=1.2, label=joint[1])
        ends = loglik(mse) if curve is None else curve
        if on_chart:
            # over the optimum's line where the run ended next to it: a dot on the
            # curve marks it either way
            ax.axvline(centre, color="#222222", ls=":", lw=1.5, zorder=3)
            ax.plot(
                centre,
                value,
                "o",
                color="#222222",
                ms=6,
                zorder=4,
                ls=":",
                label=f"{whose} {name} = {centre:.5g}",
            )
        elif np.isfinite(centre):  # where the curve goes on toward it
            toward = 0 if centre < best else -1
            ax.plot(
                grid[toward],
                ends[toward],
                "<" if toward == 0 else ">",
                color="#222222",
                ms=9,
                zorder=4,
                clip_on=False,
                label=f"{whose} {name} = {centre:.3g}: off the chart "
                + ("←" if toward == 0 else "→"),
            )
        else:
            ax.plot([], [], " ", label=f"{whose} {name} is not finite")
        ax.set_xlabel(name)
        ax.set_ylabel(label)
    # one legend for both panels, below them: inside, it covered the curves
    handles, labels = left.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        fontsize=8,
        loc="outside lower center",
        ncol=min(3, len(labels)),
        frameon=False,
    )
    left.set_title(f"MSE: smallest at {mean_of}")
    right.set_title("likelihood: largest at the same place")
    if held:
        fig.suptitle(held, fontsize=10)
    return fig


def binned_spread(
    pred: np.ndarray, resid: np.ndarray, bins: int = PREDICTION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """In ``bins`` bins of equal counts of the rows sorted by prediction (at
    least 10 rows each): the mean prediction, the mean residual and the
    residuals' standard deviation; None under 20 rows."""
    ok = np.isfinite(pred) & np.isfinite(resid)
    pred, resid = pred[ok], resid[ok]
    bins = min(bins, len(resid) // 10)
    if bins < 2:
        return None
    parts = np.array_split(np.argsort(pred, kind="stable"), bins)
    return (
        np.array([pred[p].mean() for p in parts]),
        np.array([resid[p].mean() for p in parts]),
        np.array([resid[p].std() for p in parts]),
    )


#: Points up to which a residual picture draws each larger and darker.
FEW_POINTS = 2000

#: Rows beyond which a residual picture's binned means and spreads are taken
#: over a fixed random sample of this many: 10 million rows' predictions,
#: residuals and their order took 400 MB and 2.5 s, for ten points.
BIN_ROWS = 1_000_000


def residual_plot(trace: Any, ax: Any = None) -> Figure:
    """A regression's residuals (y less the prediction at the final values)
    against the prediction: the rows (``POINTS_SHOWN`` at most), a line at 0,
    and in bins of the prediction the residuals' mean and its ± one standard
    deviation band; a logistic or Poisson regression's Pearson residuals, (y -
    mean) / its standard deviation, whose spread is even where the model holds.
    Means that bend away from 0 say the model misses a shape of the data; a band
    that widens says the noise varies from row to row (the Breusch-Pagan note's
    case, where ``--stderr hc3`` gives honest errors). Of more than ``BIN_ROWS``
    rows, the bins are a fixed random sample's, as the legend says.
    ValueError for a distribution, which has no prediction."""
    info = trace.info
    model = _model(trace)
    if model.kind != "regression":
        raise ValueError("residuals are a regression model's")
    x, y = _run_data(trace)
    n = int(info["data"]["n_rows"])
    sampled = len(y) > BIN_ROWS
    if sampled:  # the bins' means and spreads of a fixed random sample
        rows = random_rows(len(y), BIN_ROWS)
        x, y = (None if x is None else x[rows]), y[rows]
    pred = _evaluate(model, {**info["fixed"], **trace.params}, x, y, "predict")
    resid = np.asarray(y, np.float64) - pred
    # a GLM's variance follows its mean: Pearson's residuals, (y - mu) / sd(mu),
    # have one spread where the model holds (raw ones widen by design)
    family = getattr(model, "family", "gaussian") if info["loss"] == "nll" else ""
    pearson = family in ("bernoulli", "poisson")
    if pearson:
        variance = pred * (1 - pred) if family == "bernoulli" else pred
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = resid / np.sqrt(variance)
    shown = points_shown(len(resid))
    own = ax is None
    fig, ax = _figure(7.5, 5.0, ax=ax)
    # a few rows drawn larger and darker: 3-point light green dots of 100 rows
    # were hard to see on a projector
    few = len(resid[shown]) <= FEW_POINTS
    # a diverged run's values predict inf or NaN: nothing to draw, said so
    # (blank axes whose legend named 120 rows)
    drawn = bool(np.any(np.isfinite(pred) & np.isfinite(resid)))
    if not drawn:
        ax.text(
            0.5,
            0.5,
            "no finite residuals: the final values predict inf or NaN",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    ax.plot(
        pred[shown],
        resid[shown],
        ".",
        color="#2a9d8f" if few else "#5ec962",
        ms=6 if few else 3,
        alpha=0.8 if few else 0.6,
        label=data_label(n, len(resid[shown])) if drawn else None,
    )
    if drawn:
        ax.axhline(0.0, color="#222222", lw=1)
    binned = binned_spread(pred, resid)
    band: dict[Any, Any] = {}  # the band's legend entry: its shade and its edge
    if binned is not None:
        centre, mean, sd = binned
        ax.plot(
            centre,
            mean,
            "-o",
            color="#3b528b",
            ms=4,
            label=f"mean residual in {len(centre)} bins of the prediction"
            + (
                f" (of a random {len(y)} rows)"
                if sampled
                else f" ({len(resid) // len(centre)}+ rows each)"
            ),
        )
        shade = ax.fill_between(
            centre,
            mean - sd,
            mean + sd,
            color="#3b528b",
            alpha=0.15,
            label="± one standard deviation",
        )
        # its edges over the points: under 20000 of them the band was hidden
        for edge in (mean - sd, mean + sd):
            (line,) = ax.plot(centre, edge, "--", color="#3b528b", lw=1.2, zorder=3)
        band[shade] = (shade, line)
    ax.set_xlabel("prediction (at the final values)")
    ax.set_ylabel(
        "Pearson residual (y - mean) / sd" if pearson else "residual (y - prediction)"
    )
    notices = info.get("notices", [])
    uneven = [n for n in notices if "Breusch-Pagan" in n]
    said = "; the spread varies with x (see the note)" if uneven else ""
    if any("RESET test" in n for n in notices):
        said = "; they bend: the model misses a shape of the data (see the note)"
    if family == "custom":  # the model's own likelihood may give each row its own
        said = (
            "; raw residuals: under the model's own likelihood a spread that "
            "varies may be its noise, not a misfit"
        )
    if info.get("diverged"):  # the values it blew up to, not a fit's
        said = (
            f"; the run diverged (step {info.get('diverged_step')}): these are the "
            "last values it reached, not a fit"
        )
    elif not said and not_converged(trace):
        # a newcomer read the slope of a run still on its way as a misfit
        said = (
            "; the run has not converged: a slope here is its distance from the "
            "optimum, not the model's misfit"
        )
    elif not said and off_optimum(trace):  # a mini-batch run's, as warned
        said = (
            "; the run ended off its optimum: a slope here may be its distance "
            "from it, not the model's misfit"
        )
    title = f"residuals of {model_by_loss(info)}{said}"
    # on the caller's axes, one of a grid: smaller, as the landscape's (five
    # lines of the default size stood over a residuals chart of a 2x3 grid)
    size = None if own else 10
    ax.set_title(_filled(title, _title_chars(ax, 80, not own, size)), fontsize=size)
    handles, labels = ax.get_legend_handles_labels()
    handles = [band.get(h, h) for h in handles]
    if not handles:  # nothing drawn: no legend
        return fig
    if own:  # below the chart: inside, wherever it went, it covered points
        fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=2)
    else:  # the caller's axes: where it covers the fewest points
        ax.legend(handles, labels, fontsize=8, loc="best")
    return fig


#: The pictures ``gradtrace plot`` writes into a run folder.
RUN_FIGURES = {
    "fit.png": fit_over_data,
    "loss.png": loss_curves,
    "params.png": parameter_paths,
    "landscape.png": loss_landscape,
    "mse_loglik.png": mse_and_likelihood,
    "residuals.png": residual_plot,
}


def plot_run(
    trace: Any,
    folder: str | Path,
    params: tuple[str, str] | None = None,
    dpi: float = DPI,
) -> list[Path]:
    """Write every picture that applies to this run into ``folder``, at ``dpi``
    pixels per inch (each drawn first: ``draw_run``)."""
    return save_all(draw_run(trace, params), folder, dpi)


def draw_run(
    trace: Any,
    params: tuple[str, str] | None = None,
    only: Sequence[str] = (),
) -> list[tuple[str, Figure]]:
    """Every picture that applies to this run, or those of ``only`` (files'
    names, ``picture_files``), by its file's name, drawn and not yet written: a
    picture that cannot be drawn (a landscape over a parameter the run has not)
    leaves no file of the others behind.

    Raises:
        InputError: a picture asked for by name does not apply to this run.
    """
    drawn: list[tuple[str, Figure]] = []
    for name, draw in RUN_FIGURES.items():
        if only and name not in only:
            continue
        try:
            fig = draw(trace, params) if draw is loss_landscape else draw(trace)
        except InputError:
            raise
        except ValueError as err:
            if only:  # asked for by name: said, not passed over
                raise InputError(
                    f"{name} does not apply to this run ({err}): ask for another "
                    f"of {', '.join(_picture_names())}."
                ) from None
            continue  # the picture does not apply (one parameter; not a line)
        drawn.append((name, fig))
    return drawn


def _picture_names() -> list[str]:
    """The names ``gradtrace plot RUN PICTURE...`` takes: the files' without .png."""
    return [n.removesuffix(".png") for n in RUN_FIGURES]


def picture_files(names: Sequence[str]) -> list[str]:
    """The files of ``RUN_FIGURES`` that ``names`` ask for: ``fit`` or
    ``fit.png``, ..., in the order given, each once.

    Raises:
        InputError: a name that is none of them.
    """
    import difflib

    files: list[str] = []
    for given in names:
        name = given.strip().lower().removesuffix(".png").replace("-", "_")
        if f"{name}.png" not in RUN_FIGURES:
            known = _picture_names()
            near = difflib.get_close_matches(name, known, n=1)
            also = f" Did you mean {near[0]!r}?" if near else ""
            raise InputError(
                f"unknown picture {given!r}: choose from {', '.join(known)} "
                f"(none: all that apply).{also}"
            )
        if f"{name}.png" not in files:
            files.append(f"{name}.png")
    return files


def save_all(
    figures: list[tuple[str, Figure]], folder: str | Path, dpi: float = DPI
) -> list[Path]:
    """``draw_run``'s pictures written into ``folder`` (``save``)."""
    return [save(fig, Path(folder) / name, dpi=dpi) for name, fig in figures]
