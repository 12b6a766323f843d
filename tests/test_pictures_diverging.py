"""Pictures of runs that diverge, as a class on learning rates draws them: the
teacher's line (200 rows, w 3, b -1, noise 0.5; stable limit 0.784) at lr 0.9
(the loss grows for 50 steps) and lr 2 (overflows at step 30)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace import plot
from gradtrace.animate import frame_figure
from gradtrace.data import generate
from gradtrace.report.html import payload


@cache
def line() -> pd.DataFrame:
    frame, _ = generate("line", 200, w=[3.0], b=-1.0, noise=0.5, seed=1)
    return frame


@cache
def run(lr: float, batch_size: int | None = None) -> gradtrace.Trace:
    return gradtrace.fit(line(), lr=lr, epochs=50, batch_size=batch_size)


def _texts(fig: object) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]  # type: ignore[attr-defined]


def test_an_animation_frame_says_where_a_diverging_fit_went() -> None:
    """The line leaves the data's y range after a few steps: the frame stays
    framed on the data and says where the line went, and the legend sits
    outside the axes, where it hides neither."""
    trace = run(0.9)
    y = line()["y"].to_numpy()
    for step in (12, 40):
        fig = frame_figure(trace, step)
        ax = fig.axes[0]
        low, high = ax.get_ylim()
        span = y.max() - y.min()
        assert y.min() - span <= low and high <= y.max() + span
        fits = (ln for ln in ax.get_lines() if ln.get_label() == "the fit at this step")
        drawn = next(fits)
        where = "above" if np.max(drawn.get_ydata()) > high else "below"
        assert np.all((drawn.get_ydata() > high) | (drawn.get_ydata() < low))
        (said,) = _texts(fig)
        assert said.startswith(f"the fit runs {where} the chart"), said
        assert ax.get_legend() is None and fig.legends
    assert _texts(frame_figure(trace, 2)) == []  # still on the chart: no note


def test_a_full_batch_animation_rings_no_batch() -> None:
    """Full batch: every row is in every batch, so no row is ringed and the data's
    legend says so; batches of some rows are still ringed."""
    fig = frame_figure(run(0.9), 5)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any(label.startswith("batch") for label in labels), labels
    assert "data (200 rows) · full batch: every step uses all" in labels
    some = frame_figure(run(0.1, batch_size=20), 5)
    labels = [t.get_text() for t in some.legends[0].get_texts()]
    assert "batch (20 rows)" in labels and "data (200 rows)" in labels


def test_the_landscapes_title_fits_the_picture_in_plain_words() -> None:
    """The framing's words say what is shown ("showing steps 0-10; from step 11
    the run left the chart"), every line inside the figure; one step is one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    trace = run(0.9)
    cut = plot.ran_away(trace)
    assert cut is not None and cut > 2
    fig = plot.loss_landscape(trace)
    title = fig.axes[0].title
    said = f"showing steps 0-{cut - 1}; from step {cut} the run left the chart"
    assert said in title.get_text()
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    box = title.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width, (box, fig.bbox)
    blown = run(2.0)
    labels = [t.get_text() for t in plot.loss_landscape(blown).legends[0].get_texts()]
    drawn = f"steps 0-{plot.ran_away(blown) - 1}"
    assert f"path, a dot per step ({drawn}, before it left the chart)" in labels
    # a run that left at its first step: its path is the start alone (the legend
    # said "0 steps" of a run of 12)
    assert plot.path_label(0, True, 12, 1) == (
        "path, a dot per step (the start alone, before it left the chart)"
    )
    assert plot.path_label(3, True, 3, None) == "path, a dot per step (3 steps)"


def test_a_landscape_over_two_of_three_parameters_holds_the_third_at_its_optimum() -> (
    None
):
    """Two x columns (w[0], w[1], b), a run stopped short of the optimum: the
    contours hold b at its optimum (not the run's final b), so their lowest band
    holds the optimum's star; the title says where b is held, and the slopes are
    named by their columns."""
    from matplotlib.path import Path

    rng = np.random.default_rng(3)
    temp, humid = rng.uniform(0, 30, 150), rng.uniform(20, 90, 150)
    data = pd.DataFrame(
        {
            "Temp (C)": temp,
            "Humidity": humid,
            "sales": 0.5 * temp - 0.1 * humid + 3 + rng.normal(0, 1, 150),
        }
    )
    trace = gradtrace.fit(data, "linear", y="sales", lr=0.0002, epochs=200)
    optimum = trace.info["optimum"]
    assert abs(trace.params["b"] - optimum["b"]) > 1  # ended far from its b
    fig = plot.loss_landscape(trace)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w[Temp (C)]", "w[Humidity]")
    assert f"b held at its optimum value {optimum['b']:.4g}" in ax.get_title()
    # each number kept with its word when the title wraps ("from 10 to / 20.2")
    assert "the run took it from\u00a0" in ax.get_title().replace("\n", " ")
    bands = next(c for c in ax.collections if hasattr(c, "allsegs"))
    lowest = [Path(seg) for seg in bands.allsegs[0]]
    star = (optimum["w"][0], optimum["w"][1])
    assert any(p.contains_point(star) for p in lowest)


def test_the_mse_and_likelihood_of_a_diverged_run_hold_w_at_its_optimum() -> None:
    """At lr 2, w ended at -6e17: the picture holds w at its optimum (so its scale is
    the residuals' 0.45, not 1.6e17), says so, and marks the run's final b at
    the chart's edge rather than stretching the axis to it."""
    trace = run(2.0)
    fig = plot.mse_and_likelihood(trace)
    left, right = fig.axes
    assert "w held at its optimum" in fig.get_suptitle()
    assert "ran away" in fig.get_suptitle()
    sigma = float(right.get_ylabel().split("scale = ")[1].rstrip(")"))
    assert 0.3 < sigma < 0.6
    for ax in (left, right):
        low, high = ax.get_xlim()
        assert -5 < low < high < 5
        labels = [ln.get_label() for ln in ax.get_lines()]
        assert any("off the chart" in label for label in labels), labels
    converged = gradtrace.fit(line(), lr=0.5, epochs=200)
    assert "the run's final w" in plot.mse_and_likelihood(converged).get_suptitle()


def test_a_run_far_from_its_best_b_has_its_curve_reach_the_final_b() -> None:
    """A run stopped early, its b a few spreads from the best: the curves reach
    the run's final b (its dot sits on them)."""
    early = gradtrace.fit(line(), lr=0.01, steps=3, init={"w": 3.0, "b": 6.0})
    fig = plot.mse_and_likelihood(early)
    for ax in fig.axes:
        curve = ax.get_lines()[0]
        dot = next(ln for ln in ax.get_lines() if ln.get_marker() == "o")
        b = float(dot.get_xdata()[0])
        assert curve.get_xdata().min() <= b <= curve.get_xdata().max()


def test_the_reports_landscape_is_framed_as_the_pngs() -> None:
    """lr 2: the report's landscape covers the steps before the run ran away and
    the optimum (a few units), not the 1e18 it reached; the page is told where
    the run left."""
    trace = run(2.0)
    data = payload(trace)
    cut = plot.ran_away(trace)
    assert data["left_at"] == cut == 2
    land = data["landscape"]
    assert max(abs(v) for v in land["xs"] + land["ys"]) < 10
    assert land["labels"] == ["w", "b"] and land["held"] == ""
    assert payload(run(0.1, batch_size=20))["left_at"] is None


@pytest.mark.parametrize("lr", [0.9, 2.0])
def test_every_picture_of_a_diverging_run_draws(lr: float) -> None:
    for name, draw in plot.RUN_FIGURES.items():
        assert draw(run(lr)).axes, name


def test_a_run_that_evaluates_its_loss_now_and_then_stays_on_its_chart() -> None:
    """With --eval-every 5 the loss of four steps in five is NaN (not evaluated):
    the landscape said "from step 1 the run left the chart" and drew no path, and
    the report's landscape the same."""
    trace = gradtrace.fit(line(), lr=0.1, epochs=5, batch_size=20, eval_every=5)
    loss = trace.to_pandas()["loss"].to_numpy(float)
    assert np.isnan(loss[1:5]).all() and np.isfinite(loss[::5]).all()
    assert plot.ran_away(trace) is None and payload(trace)["left_at"] is None
    fig = plot.loss_landscape(trace)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "path, a dot per step (50 steps)" in labels
    assert "left the chart" not in fig.axes[0].get_title()
    # a loss that is not a number at the end is one where the run diverged, not
    # where it was interrupted between two evaluations
    assert plot.ran_away(trace, np.append(loss, np.nan)) is None
    trace.info["diverged"] = True
    assert plot.ran_away(trace, np.append(loss, np.nan)) == len(loss)


def test_the_fit_of_a_run_whose_loss_rose_stays_on_the_data() -> None:
    """lr 0.9 stays finite but its line ends far off: fit.png's y axis ran to 1e9,
    flattening the data into a line, and its title said only "completed"."""
    trace = run(0.9)
    ax = plot.fit_over_data(trace).axes[0]
    y = line()["y"].to_numpy()
    low, high = ax.get_ylim()
    span = y.max() - y.min()
    assert low == pytest.approx(y.min() - 0.25 * span)
    assert high == pytest.approx(y.max() + 0.25 * span)
    labels = ax.get_legend_handles_labels()[1]
    fitted = next(label for label in labels if label.startswith("fitted"))
    assert "(off the chart: " in fitted
    assert ax.get_title().endswith("50 steps, completed, its loss rose")
    # a run that stays on the data is drawn as it was
    calm_run = run(0.1)
    calm = plot.fit_over_data(calm_run).axes[0]
    assert not any("off the chart" in t for t in calm.get_legend_handles_labels()[1])
    # 50 steps at 0.1 end short of the optimum, as the summary says
    assert any("has not converged" in w for w in calm_run.warnings)
    assert calm.get_title().endswith("completed, not converged")


def test_a_blown_up_landscapes_legend_and_title_fit_the_figure() -> None:
    """A line by Gaussian likelihood that left the chart at its first step: the
    legend's long path label ran off the figure's right edge at four to a row,
    and the held scale read "from 1 to 1"."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(7)
    x = rng.uniform(20, 70, 500)
    frame = pd.DataFrame({"x": x, "y": 3 + 0.05 * x + rng.normal(0, 0.05 * x)})
    trace = gradtrace.fit(frame, loss="nll", lr=0.01, epochs=20)
    assert plot.ran_away(trace) == 1
    fig = plot.loss_landscape(trace)
    title = fig.axes[0].get_title().replace("\n", " ")
    assert "(the run kept it at\u00a01)" in title
    fig.draw(FigureCanvasAgg(fig).get_renderer())
    box = fig.legends[0].get_window_extent()
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (box, fig.bbox)


def test_an_animation_frames_the_initial_line_near_the_data() -> None:
    """A start at w = b = 0 under data from 2 to 9 drew its line below the
    frame: a teacher never saw the legend's "initial". Within two spans of the
    data it is framed, as fit.png frames it; far off (the diverging test above)
    the frame stays on the data."""

    data = generate("line", 8, w=(2.0,), b=1.0, noise=0.5, x_range=(0, 4), seed=1)[0]
    trace = gradtrace.fit(data, lr=0.05, batch_size=2, epochs=5)
    ax = frame_figure(trace, 1).axes[0]
    low, high = ax.get_ylim()
    initial = next(ln for ln in ax.get_lines() if ln.get_label() == "initial")
    assert low < np.min(initial.get_ydata()) <= np.max(initial.get_ydata()) < high
    assert low < float(data["y"].min()) and float(data["y"].max()) < high


def test_a_distribution_fitted_far_from_its_data_is_said_to_be_off_the_chart() -> None:
    """A normal fitted by Adam from 0 toward heights near 170 ends at loc 30: its
    density is a flat line at 0 under the histogram, and the legend said only
    "fitted: loc=29.6" (a student looked for the curve)."""
    rng = np.random.default_rng(0)
    heights = pd.DataFrame({"h": rng.normal(170, 8, 200)})
    far = gradtrace.fit(heights, "normal", optimizer="adam", lr=1.0, steps=30)
    labels = plot.fit_over_data(far).axes[0].get_legend_handles_labels()[1]
    fitted = next(label for label in labels if label.startswith("fitted"))
    initial = next(label for label in labels if label.startswith("initial"))
    assert fitted.endswith("(off the chart: under 1% of it lies over these data)")
    assert "off the chart" in initial
    near = gradtrace.fit(heights, "normal", optimizer="adam", lr=1.0, steps=3000)
    labels = plot.fit_over_data(near).axes[0].get_legend_handles_labels()[1]
    fitted = next(label for label in labels if label.startswith("fitted"))
    assert "off the chart" not in fitted


def test_a_start_outside_the_framed_chart_is_said_off_it() -> None:
    """A teacher's diverged run on data from 1.4 to 3.5: the chart, framed on
    the data, left the start y = 0 x + 0 out, and its legend entry read as if it
    were drawn."""
    x = np.linspace(0, 1, 50)
    y = 1.5 + 1.8 * x + np.random.default_rng(0).normal(0, 0.1, 50)
    trace = gradtrace.fit({"x": x, "y": y}, lr=2.0, steps=30)
    assert trace.diverged
    ax = plot.fit_over_data(trace).axes[0]
    assert ax.get_ylim()[0] > 0
    labels = ax.get_legend_handles_labels()[1]
    assert "initial: y = 0 x + 0 (off the chart: at 0)" in labels
    # a start within the frame keeps its plain entry
    near = gradtrace.fit({"x": x, "y": y}, lr=2.0, steps=30, init={"b": 2.0})
    labels = plot.fit_over_data(near).axes[0].get_legend_handles_labels()[1]
    assert "initial: y = 0 x + 2" in labels


def test_a_diverged_runs_parameters_and_residuals_say_where_it_went() -> None:
    """Parameters that blew up to 1e17 lay their first steps flat on 0: beyond
    the values before the run left, a symmetric log scale, ticked at a few powers
    of ten; the residuals' title says they are the last values reached, not a
    fit. A run that settled keeps its linear axes and plain title."""
    gone = run(2.0)
    assert gone.info["diverged"]
    fig = plot.parameter_paths(gone)
    assert all(ax.get_yscale() == "symlog" for ax in fig.axes)
    assert all(len(ax.get_yticks()) <= 9 for ax in fig.axes)
    said = " ".join(fig.axes[0].get_title().split())
    assert "each axis is linear up to them, logarithmic beyond" in said
    assert ",\nlog beyond)" in fig.axes[0].get_ylabel()
    assert "(linear to ±" in fig.axes[0].get_ylabel()
    title = plot.residual_plot(gone).axes[0].get_title()
    assert "the run diverged (step" in title and "not a fit" in title
    settled = run(0.1)
    fig = plot.parameter_paths(settled)
    assert all(ax.get_yscale() == "linear" for ax in fig.axes)
    assert "logarithmic" not in fig.axes[0].get_title()
    assert "diverged" not in plot.residual_plot(settled).axes[0].get_title()


def test_an_unconverged_runs_residuals_say_their_slope_is_its_distance() -> None:
    """A run still on its way leaves residuals that slope with the prediction:
    the title says that is its distance from the optimum, not a misfit."""
    short = gradtrace.fit(line(), lr=0.01, steps=20)
    assert any("has not converged" in w for w in short.convergence_warnings())
    title = " ".join(plot.residual_plot(short).axes[0].get_title().split())
    assert "the run has not converged: a slope here is its distance" in title
    done = gradtrace.fit(line(), lr=0.5, epochs=3000)
    assert not any("has not converged" in w for w in done.convergence_warnings())
    assert "not converged" not in plot.residual_plot(done).axes[0].get_title()
    # a mini-batch run's warning says it is still moving toward the optimum: its
    # residuals slope alike (a lecturer's students would read a misfit there)
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 8, 40)
    data = {"x": x, "y": 1.5 * x - 2 + rng.normal(0, 1, 40)}
    moving = gradtrace.fit(data, optimizer="adam", lr=0.1, batch_size=10, epochs=20)
    warned = moving.convergence_warnings()
    assert any("is still moving toward its optimum" in w for w in warned), warned
    title = " ".join(plot.residual_plot(moving).axes[0].get_title().split())
    assert "the run has not converged: a slope here is its distance" in title
    assert (
        plot.fit_over_data(moving)
        .axes[0]
        .get_title()
        .endswith("completed, not converged")
    )


@pytest.mark.parametrize(
    ("moved", "words"),
    [
        ([1.0, 1.0, 1.0], "the run kept it at 1"),
        ([0.0, 0.3, 0.49], "the run took it from 0 to 0.49"),
        (
            [0.0, 0.528, 0.49],
            "the run took it from 0 to 0.49, rising to 0.528 on the way",
        ),
        ([2.0, 0.5, 1.0], "the run took it from 2 to 1, falling to 0.5 on the way"),
        (
            [1.0, 3.0, -1.0, 2.0],
            "the run took it from 1 to 2, between -1 and 3 on the way",
        ),
        ([1.0, 2.0, 1.0], "the run took it up to 2 and back to 1"),
        ([1.0, 0.5, 1.0], "the run took it down to 0.5 and back to 1"),
        ([1.0, 0.5, 3.0, 1.0], "the run moved it between 0.5 and 3, back to 1"),
        # a rise lost in the third digit is not one
        ([0.0, 0.49001, 0.49], "the run took it from 0 to 0.49"),
    ],
)
def test_a_held_parameters_path_is_told_in_words(
    moved: list[float], words: str
) -> None:
    """The landscape's title said "(along the path: from 0 to 0.49, between 0 and
    0.528)" of a parameter it holds fixed: the run's moves are now told plainly."""
    assert plot.held_path_words(np.array(moved)) == words


def test_residuals_of_a_run_that_blew_up_to_inf_say_there_are_none() -> None:
    """A Poisson regression diverged at lr 0.5: its final values predict inf,
    and residuals.png was blank axes from -0.04 to 0.04 whose legend named the
    data's 120 rows. The chart now says that nothing is finite to draw."""
    rng = np.random.default_rng(1)
    t = np.arange(120.0)
    counts = rng.poisson(np.exp(0.5 + 0.02 * t))
    data = pd.DataFrame({"t": t, "count": counts})
    trace = gradtrace.fit(
        data, "poisson-regression", y="count", standardize=True, lr=0.5, steps=100
    )
    assert trace.status == "diverged"
    ax = plot.residual_plot(trace).axes[0]
    (text,) = ax.texts
    assert text.get_text() == "no finite residuals: the final values predict inf or NaN"
    assert ax.get_legend() is None and not ax.get_yticks().size
