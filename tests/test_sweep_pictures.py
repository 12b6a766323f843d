"""A sweep's pictures say what they show: a curve that leaves the loss chart is
marked where it does, the heatmap names what its colour measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from gradtrace import plot, sweep_plots
from gradtrace.data import generate
from gradtrace.sweeps import Sweep, sweep


def line() -> pd.DataFrame:
    return generate("line", 100, w=(1.0,), b=2.0, noise=0.15, seed=0)[0]


def test_a_curve_that_leaves_the_loss_chart_is_marked_where_it_does() -> None:
    s = sweep(line(), lr=[0.1, 0.3, 1.0], epochs=50)
    best = s.info["optimum_loss"]
    gaps = s.traces.assign(gap=s.traces["loss"] - best)
    start = gaps[gaps["step"] == 0]["gap"].max()
    worst = gaps["gap"].max()  # lr 1: 2.9e22, finite
    assert worst > 1e20
    fig = sweep_plots.sweep_losses(s)
    ax = fig.axes[0]
    top = 1e6 * start
    assert ax.get_ylim()[1] == pytest.approx(top)  # the chart's top, not the curve's
    # the lines stay within the chart: none runs flat along its top
    points = np.concatenate([seg for c in ax.collections for seg in c.get_segments()])
    assert points[:, 1].max() == pytest.approx(top)
    at_top = points[np.isclose(points[:, 1], top)]
    assert len(at_top) == 1  # one point: where the curve left
    arrows = [line for line in ax.get_lines() if line.get_marker() == "^"]
    assert len(arrows) == 1
    np.testing.assert_allclose(arrows[0].get_xydata(), at_top)
    # where it crossed the top, between the kept steps around it (log scale)
    curve = gaps[s.table.set_index("config").loc[gaps["config"], "lr"].to_numpy() == 1]
    after = int(np.argmax(curve["gap"].to_numpy() > top))
    assert after - 1 < at_top[0, 0] < after
    (text,) = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert (
        text == f"off the chart: 1 curve rose above {top:.3g}, to {worst:.3g} at most"
    )


def test_no_mark_where_every_curve_stays_on_the_chart() -> None:
    s = sweep(line(), lr=[0.1, 0.3], epochs=20)
    fig = sweep_plots.sweep_losses(s)
    assert not fig.legends
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() == "^"]


def legend_texts(fig: object) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]  # type: ignore[attr-defined]


def test_the_heatmap_names_its_measure_and_leaves_an_explosion_off_its_colours() -> (
    None
):
    s = sweep(line(), lr=list(np.logspace(-3, 0, 8)), epochs=50)
    assert s.table["steps_to_tol"].isna().all()
    fig = sweep_plots.sweep_heatmap(s)
    ax, bar = fig.axes[0], fig.axes[-1]
    assert "settled loss − optimum's loss" in ax.get_title()
    assert (
        "no configuration brought every parameter within 0.0001 of the optimum"
        in ax.get_title()
    )
    assert bar.get_ylabel() == "settled loss − optimum's loss"
    # the colours span the cells whose loss fell, not lr 1's 2.9e22: each the gap
    # of where it settled, a full batch's last loss
    fell = s.table[~s.table["ended_above_start"]]
    assert len(fell) == 7 and (fell["batch_size"] == s.info["data"]["n_rows"]).all()
    tail_gap = fell["gap"]
    (mesh,) = ax.collections[:1]
    assert mesh.norm.vmin == pytest.approx(tail_gap.min())
    assert mesh.norm.vmax == pytest.approx(tail_gap.max())
    colours = np.ma.getdata(mesh.get_array())[~np.ma.getmaskarray(mesh.get_array())]
    np.testing.assert_allclose(np.sort(colours), np.sort(tail_gap), rtol=1e-6)
    # no grey cell: no grey swatch; the risen cell marked and named
    texts = legend_texts(fig)
    assert len(texts) == 1
    assert texts[0].startswith("loss ended above its start (to 2.88e+22")
    marks = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(np.concatenate(marks), [[1.0, 0.0]])  # lr 1's cell


def test_the_heatmap_greys_only_cells_that_never_came_within_tol() -> None:
    s = sweep(line(), lr=[0.01, 0.3, 1.0], epochs=200, dtype="float64")
    reached = s.table["steps_to_tol"].notna().tolist()
    assert reached == [False, True, False]  # 1.0 rose, 0.01 crawled
    fig = sweep_plots.sweep_heatmap(s)
    assert "steps until every parameter stays within 0.0001" in fig.axes[0].get_title()
    texts = legend_texts(fig)
    assert texts[0] == "parameters never all within 0.0001 of the optimum"
    assert texts[1].startswith("loss ended above its start")
    assert len(texts) == 2  # nothing diverged


def test_a_curve_that_overflowed_is_said_to_and_its_height_is_finite() -> None:
    s = sweep(line(), lr=[0.1, 3.0], batch_size=10, epochs=5)
    assert s.table.set_index("lr").loc[3.0, "diverged"]
    fig = sweep_plots.sweep_losses(s)
    (text,) = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert text.endswith(", then overflowed") and "to inf" not in text
    worst = s.traces["loss"][np.isfinite(s.traces["loss"])].max()
    assert f"to {worst - s.info['optimum_loss']:.3g} at most" in text


def test_the_title_names_only_the_marks_drawn() -> None:
    # every diverged curve leaves the chart: arrows at its top, no crosses
    s = sweep(line(), lr=[0.1, 2.5, 3.0], batch_size=10, epochs=20)
    assert s.table["diverged"].sum() == 2
    ax = sweep_plots.sweep_losses(s).axes[0]
    markers = {line.get_marker() for line in ax.get_lines()}
    assert markers == {"^"}
    assert ax.get_title() == "3 configurations (2 diverged, dashed; ▲ off the chart)"


def test_a_curve_that_blew_up_without_diverging_is_counted_apart() -> None:
    """A teacher's sweep said "3 diverged" over four arrows, and that all four
    overflowed: one blew up to 3e23 and ended there, finite. Its axis read
    10⁸ above 10000 and 100."""
    s = sweep(line(), lr=[0.1, 1.0, 3.0], epochs=50)
    assert s.table["diverged"].tolist() == [False, False, True]
    fig = sweep_plots.sweep_losses(s)
    ax = fig.axes[0]
    assert ax.get_title() == (
        "3 configurations (1 diverged, dashed; 1 more blew up; ▲ off the chart)"
    )
    (text,) = legend_texts(fig)
    assert text.startswith("off the chart: 2 curves rose above ")
    assert text.endswith("; 1 then overflowed")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.startswith("10") for label in labels), labels
    # none overflowed: "none diverged; 1 more blew up" read as a contradiction
    calm = sweep(line(), lr=[0.1, 1.0], epochs=50)
    assert not calm.table["diverged"].any()
    title = sweep_plots.sweep_losses(calm).axes[0].get_title()
    assert title == "2 configurations (1 blew up; ▲ off the chart)"


def test_other_swept_values_are_told_apart_by_line_style() -> None:
    s = sweep(line(), lr=[0.01, 0.1], batch_size=[10, 50], epochs=5)
    fig = sweep_plots.sweep_losses(s)
    (lines,) = fig.axes[0].collections  # nothing diverged: one collection
    # each curve's style is its batch size's; the rates' colours repeat
    styles = [str(style) for style in lines.get_linestyles()]
    assert len(styles) == 4 and styles[0] == styles[1] != styles[2] == styles[3]
    assert legend_texts(fig) == ["batch_size=10", "batch_size=50"]
    # where line styles name batch sizes, a diverged curve keeps its own
    blown = sweep(line(), lr=[0.01, 3.0], batch_size=[10, 50], epochs=5)
    n = int(blown.table["diverged"].sum())
    assert n
    ax = sweep_plots.sweep_losses(blown).axes[0]
    kept = {str(s) for c in ax.collections for s in c.get_linestyles()}
    assert len(kept) == 2  # solid and dotted: no dashed
    assert ax.get_title().startswith(f"4 configurations ({n} diverged, drawn fainter")
    # seeds are repeats: overlaid in one style, no legend
    seeds = sweep(line(), lr=[0.01, 0.1], seed=[0, 1], batch_size=10, epochs=2)
    fig = sweep_plots.sweep_losses(seeds)
    assert len({str(x) for x in fig.axes[0].collections[0].get_linestyles()}) == 1
    assert not fig.legends


def test_four_kinds_are_drawn_in_styles_a_reader_tells_apart() -> None:
    """Sparse dots beside dotted read as one style: one style of dots alone, and
    the legend's handles long enough to show a long dash's pattern."""
    from matplotlib.lines import Line2D

    s = sweep(line(), lr=[0.01], batch_size=[5, 10, 20, 50], epochs=2)
    fig = sweep_plots.sweep_losses(s)
    (lines,) = fig.axes[0].collections
    patterns = {tuple(seq or ()) for _, seq in lines.get_linestyles()}
    assert len(patterns) == 4
    dots_only = [p for p in patterns if p and max(p[::2]) < 2]
    assert len(dots_only) == 1, patterns
    (legend,) = fig.legends
    assert legend.handlelength >= 4
    assert all(isinstance(h, Line2D) for h in legend.legend_handles)


def test_more_kinds_than_styles_keep_batch_sizes_apart_and_count_the_rest() -> None:
    """3 batch sizes x 2 starts x 3 seeds: every line was solid, so batch sizes
    could not be told apart, and the legend's "6 values of batch_size, init_w
    and seeds, overlaid" read as each colour holding 6 curves (18 do)."""
    s = sweep(
        line(),
        lr=[0.01, 0.1],
        batch_size=[10, 25, 50],
        seed=[0, 1, 2],
        init={"w": [0.0, 5.0]},
        epochs=2,
    )
    fig = sweep_plots.sweep_losses(s)
    assert legend_texts(fig)[:4] == [
        "batch_size=10",
        "batch_size=25",
        "batch_size=50",
        "each line overlays 6 curves of a rate and batch_size: 2 values of init_w "
        "x 3 seeds",
    ]
    (lines,) = fig.axes[0].collections
    styles = [str(style) for style in lines.get_linestyles()]
    table = s.table
    by_size = {
        b: {styles[i] for i in np.flatnonzero(table["batch_size"] == b)}
        for b in (10, 25, 50)
    }
    assert all(len(v) == 1 for v in by_size.values())
    assert len(set().union(*by_size.values())) == 3
    # no value with as few as four: all solid, the count said
    many = sweep(
        line(),
        lr=[0.01],
        batch_size=[5, 10, 20, 25, 50],
        init={"w": [0.0, 1.0, 2.0, 3.0, 5.0]},
        epochs=1,
    )
    assert legend_texts(sweep_plots.sweep_losses(many))[-1] == (
        "each rate's colour overlays its 25 curves: 5 values of batch_size x 5 "
        "values of init_w"
    )


def test_a_curve_that_leaves_the_chart_twice_is_counted_once_with_its_exits() -> None:
    """Three arrows stood over a legend that said "2 curves rose above": one of
    them had left the chart twice."""
    table = pd.DataFrame(
        {
            "config": [0, 1],
            "lr": [0.01, 0.5],
            "batch_size": [10, 10],
            "seed": [0, 0],
            "start_loss": [1.0, 1.0],
            "loss": [0.1, 1.0],
            "tail_loss": [0.1, 1.0],
            "gap": [0.1, 1.0],
            "steps_to_tol": pd.array([None, None], dtype="Int64"),
            "diverged": [False, False],
            "diverged_step": pd.array([None, None], dtype="Int64"),
            "ended_above_start": [False, False],
        }
    )
    traces = pd.DataFrame(
        {
            "config": [0] * 5 + [1] * 5,
            "step": list(range(5)) * 2,
            "loss": [1.0, 0.5, 0.3, 0.2, 0.1, 1.0, 1e8, 1.0, 1e8, 1.0],
        }
    )
    fig = sweep_plots.sweep_losses(Sweep(table, traces, _made_info(10, 4)))
    assert legend_texts(fig) == [
        "off the chart: 1 curve rose above 1e+06 (2 times), to 1e+08 at most"
    ]


def test_the_loss_chart_shades_gaps_within_float_rounding_and_titles_fit() -> None:
    """Gaps that float32 rounding of the loss leaves (the summary's "gap 0 (at
    float rounding)") are shaded and named; a title longer than the figure is
    wide is wrapped, not cut off at its edges."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    frame = pd.DataFrame({"u": x[:, 0], "v": x[:, 1]})
    frame["y"] = rng.poisson(np.exp(0.3 + x @ [0.4, -0.4]))
    s = sweep(frame, model="poisson-regression", lr=[0.3, 1.0], steps=300)
    fig = sweep_plots.sweep_losses(s)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    # ten of float32's epsilons (1.2e-7) of the loss
    noise = 10 * float(np.finfo(np.float32).eps) * abs(s.info["optimum_loss"])
    assert f"float32 rounding of the loss: a gap below {noise:.2g} is 0" in labels
    title = sweep_plots.sweep_heatmap(s).axes[0].get_title()
    assert title.startswith("poisson-regression by nll, sgd: steps until every")
    assert max(len(line) for line in title.split("\n")) <= plot.TITLE_CHARS


def test_the_rounding_band_shows_under_a_small_optimum_loss() -> None:
    """An optimum loss below 0.1 (a line fitted closely): gaps at float32's
    rounding of it are shaded too (before, they were drawn at a floor of 1e-7,
    above the band, which was then left out)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(size=200) * 0.05})
    s = sweep(frame, lr=[0.3, 0.5], steps=400)
    assert s.info["optimum_loss"] < 0.01
    labels = [
        t.get_text()
        for legend in sweep_plots.sweep_losses(s).legends
        for t in legend.get_texts()
    ]
    assert any(label.startswith("float32 rounding of the loss") for label in labels)


def test_a_few_rates_get_a_colour_each_and_the_bar_names_them() -> None:
    """Three rates on a continuous colour bar ticked at 6x10^-3, 10^-2, ...
    between them, the largest pale yellow on white: a few rates get a colour
    each, the bar ticked at the rates swept; many keep the log scale."""
    from matplotlib.colors import BoundaryNorm, LogNorm

    s = sweep(line(), lr=[0.005, 0.02, 0.08], batch_size=10, epochs=3)
    fig = sweep_plots.sweep_losses(s)
    bar = fig.axes[-1]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["0.005", "0.02", "0.08"]
    (curves,) = fig.axes[0].collections
    assert isinstance(curves.norm, BoundaryNorm)
    colours = {tuple(np.round(c, 6)) for c in curves.to_rgba(curves.get_array())}
    assert len(colours) == 3
    many = sweep(line(), lr=list(np.logspace(-3, -1, 12)), epochs=3)
    (curves,) = sweep_plots.sweep_losses(many).axes[0].collections
    assert isinstance(curves.norm, LogNorm)


def test_a_sweep_and_a_range_test_draw_on_axes_of_ones_own(tmp_path: Path) -> None:
    """In a notebook's grid: each picture drawn on the axes given (its colour bar
    beside it, its legend inside), that axes returned, the figure the user's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import gradtrace

    s = sweep(line(), lr=[0.1, 0.3, 1.0], init={"w": [0.0, 3.0]}, epochs=20)
    found = gradtrace.lr_find(line(), steps=40)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    try:
        assert s.plot("losses", ax=axes[0]) is axes[0]
        assert s.plot("heatmap", ax=axes[1]) is axes[1]
        assert found.plot(ax=axes[2]) is axes[2]
        # each drew on its own axes: the losses' curves, the heatmap's cells,
        # the range test's points and its legend
        assert axes[0].collections and axes[0].get_legend() is not None
        assert any(c.get_array() is not None for c in axes[1].collections)
        assert axes[1].get_ylabel() == "start w"
        assert axes[2].get_lines() and axes[2].get_legend() is not None
        assert axes[2].get_xscale() == "log"
        # two colour bars added beside their axes, nothing else
        assert len(fig.axes) == 5
        fig.savefig(tmp_path / "grid.png")
        assert (tmp_path / "grid.png").stat().st_size > 10_000
    finally:
        plt.close(fig)
    # the figures of their own, as before
    assert s.plot("losses").axes[0] is not None
    with pytest.raises(gradtrace.InputError, match="ax= takes a matplotlib Axes"):
        s.plot("heatmap", ax="left")
    with pytest.raises(gradtrace.InputError, match="ax= takes a matplotlib Axes"):
        found.plot(ax=1)


def test_a_heatmap_cell_of_repeats_counts_a_miss_as_never() -> None:
    """A cell of three seeds of which one never came within tol was coloured by
    the other two's median, unmarked: a miss counts as never in the median, and
    the cell says how many of its repeats came within."""
    s = sweep(
        "seed001_line",
        lr=[0.05, 0.3, 0.7],
        batch_size=[10, 20],
        seed=[0, 1, 2],
        epochs=30,
        tol=1e-2,
    )
    table = s.table
    cell = table[(table["lr"] == 0.05) & (table["batch_size"] == 10)]
    missed = int(cell["steps_to_tol"].isna().sum())
    assert 0 < missed < 3  # the case: some of the cell's repeats missed
    ax = s.plot("heatmap").axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert f"{3 - missed} of 3 within" in texts
    assert "(a repeat never within counted as never)" in " ".join(
        ax.get_title().split()
    )


def test_a_heatmap_cell_rose_where_most_of_its_repeats_did() -> None:
    """One seed of three ending above its start greyed the whole cell with an
    arrow, though its median settled below the start: the arrow is for a cell
    most of whose repeats rose; the others say how many rose."""
    settled = [0.2, 0.3, 1.3, 1.4, 1.5, 0.2] + [0.2] * 6
    table = pd.DataFrame(
        {
            "config": range(12),
            "lr": ([0.1] * 3 + [0.5] * 3) * 2,
            "batch_size": [10] * 6 + [20] * 6,
            "seed": [0, 1, 2] * 4,
            "start_loss": [1.0] * 12,
            "loss": settled,
            "tail_loss": settled,
            "gap": settled,
            "steps_to_tol": pd.array([None] * 12, dtype="Int64"),
            "diverged": [False] * 12,
            "diverged_step": pd.array([None] * 12, dtype="Int64"),
            "ended_above_start": [x > 1.0 for x in settled],
        }
    )
    traces = pd.DataFrame(
        {"config": np.repeat(range(12), 3), "step": [0, 1, 2] * 12, "loss": 1.0}
    )
    ax = sweep_plots.sweep_heatmap(Sweep(table, traces, _made_info(100, 2))).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "1 of 3 rose" in texts  # lr 0.1: one seed of three
    arrows = [
        c
        for c in ax.collections
        if isinstance(c, PathCollection) and len(c.get_offsets())
    ]
    # one arrow, lr 0.5's (two of its three rose), and its cell has no colour
    assert sum(len(c.get_offsets()) for c in arrows) == 1
    masked = np.ma.getmaskarray(ax.collections[0].get_array()).reshape(2, 2)
    assert not masked[0, 0] and masked[0, 1]  # batch 10: lr 0.1 coloured, 0.5 not


def _made_info(n_rows: int, n_steps: int) -> dict[str, object]:
    """sweep.json's info of a line's sweep made by hand (its optimum's loss 0)."""
    return {
        "optimum_loss": 0.0,
        "data": {"n_rows": n_rows},
        "model": "line",
        "loss": "mse",
        "optimizer": "sgd",
        "tol": 1e-4,
        "n_steps": n_steps,
    }


def test_a_curve_that_leapt_to_overflow_has_no_highest_value_above_the_chart() -> None:
    """A legend said "2 curves rose above 5.24e+06, to 2.6e+03 at most, then
    overflowed": the highest finite value of curves that leapt from 2.6e3 to
    inf, below the chart's top. Only values above the top count."""
    leapt = np.array([7.0, 2600.0, np.inf])
    assert sweep_plots.highest_above(leapt, 5.24e6) == np.inf
    assert sweep_plots.at_most([np.inf, np.inf]) == ""
    climbed = np.array([7.0, 3e7, 4e9, np.inf])
    assert sweep_plots.highest_above(climbed, 5.24e6) == 4e9
    assert sweep_plots.at_most([np.inf, 4e9]) == ", to 4e+09 at most"
