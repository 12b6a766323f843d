"""A sweep's pictures say what they show: a curve that leaves the loss chart is
marked where it does, the heatmap names what its colour measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gradtrace import plot
from gradtrace.data import generate
from gradtrace.sweeps import sweep


def line() -> pd.DataFrame:
    return generate("line", 100, w=(1.0,), b=2.0, noise=0.15, seed=0)[0]


def test_a_curve_that_leaves_the_loss_chart_is_marked_where_it_does() -> None:
    s = sweep(line(), lr=[0.1, 0.3, 1.0], epochs=50)
    best = s.info["optimum_loss"]
    gaps = s.traces.assign(gap=s.traces["loss"] - best)
    start = gaps[gaps["step"] == 0]["gap"].max()
    worst = gaps["gap"].max()  # lr 1: 2.9e22, finite
    assert worst > 1e20
    fig = plot.sweep_losses(s)
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
    fig = plot.sweep_losses(s)
    assert not fig.legends
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() == "^"]
