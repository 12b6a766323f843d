"""Every picture, for every demo: drawn without error, and checked where it can be."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradtrace
from gradtrace import plot
from gradtrace.data import builtin
from gradtrace.demos import DEMOS

TRACES: dict[str, gradtrace.Trace] = {}


def demo_traces() -> dict[str, gradtrace.Trace]:
    if not TRACES:
        for demo in DEMOS.values():
            for name, trace in demo.run().traces.items():
                if trace.steps <= 2000:  # the 10000-step seed 002 runs: one is enough
                    TRACES[name] = trace
        TRACES["normal-mean-sgd"] = (
            DEMOS["normal-mean-sgd"].run().traces["normal-mean-sgd"]
        )
    return TRACES


@pytest.mark.parametrize("figure", list(plot.RUN_FIGURES))
def test_every_figure_for_every_demo(figure: str) -> None:
    draw = plot.RUN_FIGURES[figure]
    for name, trace in demo_traces().items():
        try:
            fig = draw(trace)
        except ValueError as err:  # one trained parameter has no landscape
            if figure == "residuals.png":  # a distribution has no prediction
                assert "regression" in str(err), name
                continue
            assert figure == "landscape.png" and "two parameters" in str(err), name
            continue
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert all(ax.get_ylabel() for ax in axes), (figure, name)
        assert axes[-1].get_xlabel(), (figure, name)  # shared x: the bottom one


def test_fit_figure_shows_data_initial_fitted_and_truth() -> None:
    trace = demo_traces()["line-mse"]
    ax = plot.fit_over_data(trace).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0].startswith("data (100 rows)")
    assert any(label.startswith("initial: y = 0.018 x") for label in labels)
    assert any(label.startswith("fitted:") for label in labels)
    assert any(label.startswith("truth: y = 1 x + 2") for label in labels)
    assert len(ax.get_lines()[0].get_xdata()) == 100
    x = np.linspace(0, 1, 20)
    falling = gradtrace.fit({"x": x, "y": 2 * x - 3}, lr=0.5, steps=300)
    b = falling.params["b"]
    labels = [line.get_label() for line in plot.fit_over_data(falling).axes[0].lines]
    assert f"fitted: y = {falling.params['w']:.4g} x - {-b:.4g}" in labels, labels


def _band(ax: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The x, low and high edges of a fit's likelihood band, or None."""
    for artist in ax.collections:
        if "of y at each x" in str(artist.get_label()):
            path = artist.get_paths()[
                0
            ].vertices  # along one edge, back along the other
            at = np.unique(path[:, 0])
            low = np.array([path[path[:, 0] == v, 1].min() for v in at])
            high = np.array([path[path[:, 0] == v, 1].max() for v in at])
            return at, low, high
    return None


def _mean_band(ax: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The x, low and high edges of a fit's band of the mean y, or None."""
    for artist in ax.collections:
        if "interval of the mean y at each x" in str(artist.get_label()):
            path = artist.get_paths()[0].vertices
            at = np.unique(path[:, 0])
            low = np.array([path[path[:, 0] == v, 1].min() for v in at])
            high = np.array([path[path[:, 0] == v, 1].max() for v in at])
            return at, low, high
    return None


def test_a_fit_at_its_optimum_shades_the_95_percent_interval_of_its_mean() -> None:
    """The band is ``predict(interval="confidence")`` along x (its ends at the
    data's first and last x checked); a run by nll has it inside its band of y; a
    run not at its optimum, or without a covariance (mae), has none."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 40)
    data = {"x": x, "y": 1.5 * x + 2 + rng.normal(0, 3, 40)}
    trace = gradtrace.fit(data, steps=2000, lr=0.02)
    found = _mean_band(plot.fit_over_data(trace).axes[0])
    assert found is not None
    at, low, high = found
    want = trace.predict(at[[0, -1]], interval="confidence")
    np.testing.assert_allclose(low[[0, -1]], want["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(high[[0, -1]], want["ci_high"], rtol=1e-6)
    by_nll = gradtrace.fit(data, loss="nll", optimizer="adam", lr=0.05, steps=3000)
    ax = plot.fit_over_data(by_nll).axes[0]
    mean, of_y = _mean_band(ax), _band(ax)
    assert mean is not None and of_y is not None
    assert np.all(of_y[1] < mean[1]) and np.all(mean[2] < of_y[2])
    early = gradtrace.fit(data, steps=20, lr=0.02)
    assert any("not converged" in w or "far from" in w for w in early.warnings)
    assert _mean_band(plot.fit_over_data(early).axes[0]) is None
    by_mae = gradtrace.fit(data, loss="mae", steps=200, lr=0.02)
    assert _mean_band(plot.fit_over_data(by_mae).axes[0]) is None


def test_a_few_points_are_drawn_large_over_the_curve_and_many_small_beneath() -> None:
    """Five rows' points are seen against the fitted line and its band; 3000
    rows' are small and leave the curve on top (drawn after them)."""

    def points(n: int) -> Any:
        x = np.linspace(0, 10, n)
        trace = gradtrace.fit({"x": x, "y": 2 * x + 1}, steps=3, lr=0.01)
        ax = plot.fit_over_data(trace).axes[0]
        found = [ln for ln in ax.lines if ln.get_label().startswith("data (")]
        assert len(found) == 1
        return found[0]

    few, many = points(5), points(3000)
    assert few.get_markersize() > many.get_markersize()
    curves = [ln.get_zorder() for ln in few.axes.lines if ln is not few]
    assert few.get_zorder() > max(curves)
    assert many.get_zorder() <= min(
        ln.get_zorder() for ln in many.axes.lines if ln is not many
    )


def test_a_fit_by_likelihood_shades_where_it_puts_90_percent_of_y() -> None:
    """A Gaussian line by nll: the fitted line +- 1.645 scale (scipy's quantile);
    noise whose sd grows with x: a band that widens as exp(c + d x); Poisson
    counts: scipy's 5% and 95% quantiles of each x's rate; a fit by MSE or of a
    0/1 outcome: no band."""
    import jax.numpy as jnp
    import jax.scipy.stats as jst
    from scipy import stats

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3, 400)
    y = 1 + 2 * x + rng.normal(0, 0.5, 400)
    line = gradtrace.fit(
        {"x": x, "y": y}, loss="nll", optimizer="adam", lr=0.1, steps=400
    )
    at, low, high = _band(plot.fit_over_data(line).axes[0])
    p = line.params
    mid = p["w"] * at + p["b"]
    z = stats.norm.ppf(0.95)
    step = 3 * (y.max() - y.min()) / 800  # the grid of y the quantiles come from
    np.testing.assert_allclose(low, mid - z * p["scale"], atol=step)
    np.testing.assert_allclose(high, mid + z * p["scale"], atol=step)

    y = 1 + 2 * x + rng.normal(0, np.exp(-1 + 0.6 * x))
    spread = gradtrace.Model(
        lambda p, x: p["a"] + p["b"] * x,
        {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0},
        log_prob=lambda p, y, pred, x: jst.norm.logpdf(
            y, pred, jnp.exp(p["c"] + p["d"] * x)
        ),
    )
    run = gradtrace.fit({"x": x, "y": y}, spread, optimizer="adam", lr=0.05, steps=300)
    at, low, high = _band(plot.fit_over_data(run).axes[0])
    p = run.params
    sd = np.exp(p["c"] + p["d"] * at)
    step = 3 * (y.max() - y.min()) / 800
    np.testing.assert_allclose(high - low, 2 * z * sd, atol=2 * step)

    x = rng.uniform(0, 2, 300)
    counts = rng.poisson(np.exp(0.5 + 0.9 * x)).astype(float)
    poisson = gradtrace.fit(
        {"x": x, "y": counts},
        "poisson-regression",
        optimizer="adam",
        lr=0.05,
        steps=300,
    )
    ax = plot.fit_over_data(poisson).axes[0]
    at, low, high = _band(ax)
    rate = np.exp(poisson.params["w"][0] * at + poisson.params["b"])
    np.testing.assert_array_equal(low, stats.poisson.ppf(0.05, rate))
    np.testing.assert_array_equal(high, stats.poisson.ppf(0.95, rate))
    # shade and edges over the data's points: under 20000 points the shade alone
    # was lost
    (points,) = [line for line in ax.get_lines() if line.get_marker() == "."]
    edges = [
        line
        for line in ax.get_lines()
        if line.get_zorder() > points.get_zorder() and line.get_linestyle() == "-"
    ]
    drawn = sorted((tuple(e.get_ydata()) for e in edges), key=lambda v: v[0])
    np.testing.assert_array_equal(drawn, [tuple(low), tuple(high)])

    assert _band(plot.fit_over_data(demo_traces()["line-mse"]).axes[0]) is None
    zero_one = (rng.uniform(size=300) < 1 / (1 + np.exp(-2 * x + 2))).astype(float)
    logistic = gradtrace.fit({"x": x, "y": zero_one}, "logistic", steps=5)
    assert _band(plot.fit_over_data(logistic).axes[0]) is None


def test_y_against_a_prediction_spans_the_predictions_not_ys_tail() -> None:
    """Of several x columns, y is drawn against the fitted prediction: a skewed
    y (claims mostly 0, a few of thousands) far beyond the predictions kept the
    x axis out to y's largest, squeezing every point into a sliver."""
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0, 1, 500), rng.uniform(0, 1, 500)
    y = np.where(rng.uniform(size=500) < 0.9, 0.0, rng.lognormal(6, 1.5, 500))
    run = gradtrace.fit({"a": a, "b": b, "y": y}, "linear", x=["a", "b"], steps=3000)
    ax = plot.fit_over_data(run).axes[0]
    points = ax.get_lines()[0].get_xdata()
    low, high = ax.get_xlim()
    span = points.max() - points.min()
    assert low >= points.min() - 0.1 * span and high <= points.max() + 0.1 * span
    assert ax.get_ylim()[1] >= y.max()  # every y still drawn


def test_a_landscapes_colour_bar_tells_close_levels_apart() -> None:
    """Levels a few apart near a loss of 661800 were ticked "6.618e+05" twice: the
    bar's format carries the digits that tell its levels apart, and four for
    levels far apart."""
    levels = np.linspace(661800.0, 661830.0, 7)
    fmt = plot._bar_format(levels)
    shown = [fmt % v for v in levels]
    assert len(set(shown)) == len(shown), shown
    assert plot._bar_format([0.1, 0.2, 0.4, 0.8]) == "%.4g"
    assert plot._bar_format([1.0]) == "%.4g"
    # a log scale's levels, 5% apart from 0.5 to 3: one format for them all
    logged = 0.5 * 1.05 ** np.arange(37)
    assert plot._bar_format(logged) == "%.4g"


def test_landscape_path_is_the_trace() -> None:
    trace = gradtrace.fit(
        "seed004_keras",
        optimizer="keras.rmsprop",
        lr=0.05,
        batch_size=3,
        epochs=2,
        shuffle=False,
        init={"w": 0.5},
    )
    ax = plot.loss_landscape(trace).axes[0]
    dots = next(line for line in ax.get_lines() if "a dot per step" in line.get_label())
    frame = trace.to_pandas()
    np.testing.assert_allclose(dots.get_xdata(), frame["w"])
    np.testing.assert_allclose(dots.get_ydata(), frame["b"])
    star = next(line for line in ax.get_lines() if line.get_label() == "optimum")
    assert star.get_xdata()[0] == pytest.approx(trace.info["optimum"]["w"])
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "b"
    # the darkest colour is the optimum's loss, as the summary prints it, not
    # the grid's lowest point (0.8779 against 0.8751: a teacher saw three)
    contours = next(c for c in ax.collections if hasattr(c, "levels"))
    assert contours.levels[0] == pytest.approx(trace.info["optimum_loss"], rel=1e-9)
    from gradtrace.report.html import payload

    lowest = payload(trace)["landscape"]["lowest"]
    assert lowest == pytest.approx(trace.info["optimum_loss"], rel=1e-9)


def test_a_logistic_fit_is_drawn_over_its_x_and_many_x_columns_are_sampled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-2 * x))).astype(float)
    trace = gradtrace.fit({"x": x, "y": y}, "logistic", lr=0.5, steps=30)
    monkeypatch.setattr(plot, "POINTS_SHOWN", 50)
    ax = plot.fit_over_data(trace).axes[0]
    assert ax.get_xlabel() == "x"  # a curve of P(y = 1) over x, not y against it
    points, fitted = ax.get_lines()[0], ax.get_lines()[2]
    # 0/1 jittered a little, or the points sit on two lines, one over another
    assert points.get_label() == "data (a random 50 of 300 rows), jittered up and down"
    drawn = np.asarray(points.get_ydata())
    assert len(points.get_xdata()) == 50 and set(np.round(drawn)) <= {0.0, 1.0}
    assert np.all(np.abs(drawn - np.round(drawn)) <= 0.04) and len(set(drawn)) > 2
    assert np.all(np.diff(fitted.get_ydata()) > 0)  # rising in x, as w > 0
    from gradtrace.animate import frame_figure

    frame = frame_figure(trace, 3).axes[0]  # an animation frame draws it so too
    assert frame.get_xlabel() == "x" and len(frame.get_lines()[0].get_xdata()) == 50
    two = gradtrace.fit({"a": x, "b": -x, "y": y}, "logistic", x=["a", "b"], steps=5)
    ax = plot.fit_over_data(two).axes[0]
    assert ax.get_xlabel() == "fitted probability P(y = 1)"
    assert len(ax.get_lines()[0].get_xdata()) == 50


def test_a_run_short_of_its_optimum_draws_the_optimum_beside_its_fit() -> None:
    """A teacher's unconverged run: its fitted line beside the exact optimum's,
    the line it is on its way to; a run at its optimum draws no second line."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 150)
    data = {"x": x, "y": 44 + 4 * x + rng.normal(0, 7, 150)}
    slow = gradtrace.fit(data, lr=0.001, batch_size=16, epochs=30)
    labels = plot.fit_over_data(slow).axes[0].get_legend_handles_labels()[1]
    best = slow.info["optimum"]
    assert f"optimum: y = {best['w']:.4g} x + {best['b']:.4g}" in labels
    assert "not converged" in plot.fit_over_data(slow).axes[0].get_title()
    done = gradtrace.fit(data, lr=0.01, steps=5000)
    labels = plot.fit_over_data(done).axes[0].get_legend_handles_labels()[1]
    assert not any(label.startswith("optimum") for label in labels)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_landscape_of_many_rows_is_taken_over_a_sample_and_says_so(
    reduction: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=4000)
    data = {"x": x, "y": 2 * x + 1 + rng.normal(size=4000)}
    lr = 0.1 if reduction == "mean" else 2e-5
    trace = gradtrace.fit(data, lr=lr, steps=20, reduction=reduction)

    def grid(fig: Any) -> tuple[np.ndarray, str]:
        bar = fig.axes[1]
        contours = next(c for c in fig.axes[0].collections if hasattr(c, "levels"))
        return np.asarray(contours.levels), bar.get_ylabel()

    whole, label = grid(plot.loss_landscape(trace))
    assert label == "mse over all data"
    monkeypatch.setattr(plot, "LANDSCAPE_ROWS", 1000)
    sampled, label = grid(plot.loss_landscape(trace))
    over = "over a random 1000 of 4000 rows"
    if reduction == "sum":
        over = "summed over a random 1000 of 4000 rows, scaled to all"
    assert label == f"mse {over}"
    # the same scale: a quarter of the rows estimate the loss of all of them
    np.testing.assert_allclose(sampled[[0, -1]], whole[[0, -1]], rtol=0.15)
    from gradtrace.report import html

    assert html.payload(trace)["landscape"]["over"] == over


def test_report_predictions_of_several_x_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gradtrace
    from gradtrace.report import html

    rng = np.random.default_rng(3)
    x = rng.normal(size=(900, 2))
    y = x @ np.array([1.5, -2.0]) + 0.5 + rng.normal(0, 0.1, 900)
    data = {"x1": x[:, 0], "x2": x[:, 1], "y": y}
    trace = gradtrace.fit(data, "linear", lr=0.1, batch_size=64, epochs=2)
    monkeypatch.setattr(html, "MAX_ROWS", 500)
    monkeypatch.setattr(html, "PREDICTION_ROWS", 50)
    monkeypatch.setattr(html, "PREDICTION_FRAMES", 7)
    page = html.payload(trace)
    pred = page["data"]["predictions"]
    assert len(pred["rows"]) == 50 and len(pred["frames"]) == 7
    assert pred["frames"][0] == 0 and pred["frames"][-1] == len(page["frames"]) - 1
    frame = trace.to_pandas()
    kept = np.linspace(0, 899, 500).astype(int)  # the page's rows
    rows = kept[pred["rows"]]
    assert [page["data"]["index"][i] for i in pred["rows"]] == rows.tolist()
    for i, values in zip(pred["frames"], pred["values"], strict=True):
        at = frame.iloc[page["frames"][i]["step"]]
        expected = x[rows] @ at[["w[0]", "w[1]"]].to_numpy(float) + at["b"]
        np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    # the binned means over every row (as fit.png's), not over the 50 drawn
    assert pred["bin_rows"] == 900 and len(pred["bins"]) == 7
    for i, bins in zip(pred["frames"], pred["bins"], strict=True):
        at = frame.iloc[page["frames"][i]["step"]]
        every = x @ at[["w[0]", "w[1]"]].to_numpy(float) + at["b"]
        means = np.column_stack(plot.binned_means(every, y))
        np.testing.assert_allclose(bins, means, rtol=1e-5, atol=1e-6)
    assert "grid" not in page["data"]  # no curve over one axis


def test_parameter_paths_have_optimum_and_truth_lines() -> None:
    trace = demo_traces()["linear-basics"]
    axes = [ax for ax in plot.parameter_paths(trace).axes]
    assert [ax.get_ylabel() for ax in axes] == ["w", "b"]
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert labels[0] == "w" and labels[1].startswith("optimum")
    assert labels[2] == "true 3"
    np.testing.assert_allclose(
        axes[0].get_lines()[0].get_ydata(), trace.to_pandas()["w"]
    )


def test_loss_figure_log_scale_and_optimum() -> None:
    trace = demo_traces()["normal-mean-sgd"]
    ax = plot.loss_curves(trace).axes[0]
    optimum = next(
        line for line in ax.get_lines() if line.get_label().startswith("optimum's loss")
    )
    assert optimum.get_ydata()[0] == pytest.approx(trace.info["optimum_loss"])
    # as many digits as the losses carry (float32: 7), as the axis shows them
    assert optimum.get_label() == f"optimum's loss {trace.info['optimum_loss']:.7g}"
    keras = demo_traces()["keras-batches"]
    labels = [line.get_label() for line in plot.loss_curves(keras).axes[0].get_lines()]
    assert "epoch mean, as Keras logs it" in labels


def test_mse_and_likelihood_peak_together() -> None:
    trace = demo_traces()["gaussian-mle"]
    left, right = plot.mse_and_likelihood(trace).axes
    mse, loglik = left.get_lines()[0], right.get_lines()[0]
    assert mse.get_xdata()[np.argmin(mse.get_ydata())] == pytest.approx(
        loglik.get_xdata()[np.argmax(loglik.get_ydata())]
    )


def test_mse_and_likelihood_of_a_fixed_scale_is_the_runs_likelihood() -> None:
    """Seed 002 holds the normal's scale at 1: the likelihood panel is drawn at
    sigma = 1, the run's own likelihood, not at the best scale of the data (a
    teacher read "sigma = 1.01" against a run that fixed it)."""
    trace = gradtrace.fit(
        "seed002_normal", "normal", loss="nll", fix={"scale": 1.0}, lr=0.001, steps=50
    )
    right = plot.mse_and_likelihood(trace).axes[1]
    curve = right.get_lines()[0]
    assert right.get_ylabel() == "log-likelihood (scale = 1, fixed)"
    y = builtin("seed002_normal")["y"].to_numpy(np.float64)
    at = float(curve.get_xdata()[150])
    want = float(np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * (y - at) ** 2))
    assert float(curve.get_ydata()[150]) == pytest.approx(want, rel=1e-9)


def test_mse_and_likelihood_of_an_unconverged_line_marks_the_optimums_b() -> None:
    """Over b with w held at the run's final w, the curves' best is not the fit's
    optimum (a statistician read it as the maximum-likelihood b): the optimum's
    b is marked beside it, and not where the two coincide."""
    far = gradtrace.fit("seed001_line", lr=0.01, epochs=3)
    optimum = far.info["optimum"]
    for ax in plot.mse_and_likelihood(far).axes:
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        label = (
            f"the optimum's b = {optimum['b']:.5g}, where w = {optimum['w']:.5g} "
            "(not this curve's w)"
        )
        assert label in lines, list(lines)
        assert lines[label].get_xdata()[0] == pytest.approx(optimum["b"])
    near = gradtrace.fit("seed001_line", lr=0.5, epochs=300)
    labels = [ln.get_label() for ln in plot.mse_and_likelihood(near).axes[0].lines]
    assert not any(label.startswith("the optimum's b") for label in labels)


def test_mse_and_likelihood_of_a_line_held_at_b_is_over_w() -> None:
    """A line fitted with b held fixed trained w alone: the figure is drawn over
    w, the MSE least at sum(x (y - b)) / sum(x^2), the optimum the run reports,
    the run's final w on the curve (a newcomer's was drawn over the fixed b)."""
    trace = gradtrace.fit("seed001_line", fix={"b": 2.0}, lr=0.1, epochs=30)
    fig = plot.mse_and_likelihood(trace)
    assert fig.get_suptitle() == "over w, with b held fixed at 2"
    left = fig.axes[0]
    assert left.get_xlabel() == "w"
    curve = left.get_lines()[0]
    frame = builtin("seed001_line")
    x, y = (frame[c].to_numpy(np.float64) for c in ("x", "y"))
    best = float(x @ (y - 2) / (x @ x))
    assert best == pytest.approx(trace.info["optimum"]["w"], rel=1e-6)
    marked = [line for line in left.get_lines() if "Σx(y - b)/Σx²" in line.get_label()]
    assert marked[0].get_xdata()[0] == pytest.approx(best, rel=1e-12)
    w = trace.params["w"]
    dot = next(line for line in left.get_lines() if "final w" in line.get_label())
    assert dot.get_ydata()[0] == pytest.approx(np.mean((y - 2 - w * x) ** 2))
    assert curve.get_xdata()[np.argmin(curve.get_ydata())] == pytest.approx(
        best, abs=np.ptp(curve.get_xdata()) / 250
    )


def test_plot_command_writes_the_pictures(tmp_path: Path) -> None:
    from helpers import run_cli

    trace = gradtrace.fit("seed001_line", lr=0.5, epochs=20, batch_size=25)
    trace.save(tmp_path / "r")

    class Capsys:  # a minimal stand-in: run_cli only reads captured output
        def readouterr(self) -> tuple[str, str]:
            return "", ""

    code, _, _ = run_cli(["plot", str(tmp_path / "r"), "--params", "b,w"], Capsys())  # type: ignore[arg-type]
    assert code == 0
    for name in plot.RUN_FIGURES:
        assert (tmp_path / "r" / name).stat().st_size > 10_000, name
    code, _, _ = run_cli(["plot", str(tmp_path / "r"), "--params", "w,q"], Capsys())  # type: ignore[arg-type]
    assert code == 2
    # every picture is drawn before one is written: a bad --params leaves no
    # folder, nor the pictures drawn before the landscape's
    for bad in ("w,q", "b,b"):
        nowhere = tmp_path / "nowhere"
        code, _, _ = run_cli(
            ["plot", str(tmp_path / "r"), "--params", bad, "-o", str(nowhere)],
            Capsys(),  # type: ignore[arg-type]
        )
        assert code == 2 and not nowhere.exists(), bad
    # a run whose data came from Python: fit.png cannot be drawn, no folder made
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4.1, 5.9, 8.2]})
    gradtrace.fit(frame, steps=3).save(tmp_path / "py")
    nowhere = tmp_path / "nowhere"
    code, _, _ = run_cli(["plot", str(tmp_path / "py"), "-o", str(nowhere)], Capsys())  # type: ignore[arg-type]
    assert code == 2 and not nowhere.exists()
    elsewhere = tmp_path / "pictures" / "r"
    code, _, _ = run_cli(["plot", str(tmp_path / "r"), "-o", str(elsewhere)], Capsys())  # type: ignore[arg-type]
    assert code == 0 and sorted(p.name for p in elsewhere.iterdir()) == sorted(
        plot.RUN_FIGURES
    )
    code, _, _ = run_cli(
        ["plot", str(tmp_path / "r"), "-o", str(elsewhere / "fit.png")], Capsys()
    )  # type: ignore[arg-type]
    assert code == 2


def test_trace_plot_in_python() -> None:
    trace = demo_traces()["line-mse"]
    assert trace.plot("params").axes
    with pytest.raises(ValueError, match="unknown figure"):
        trace.plot("pie")


def test_animation_frames_and_titles(tmp_path: Path) -> None:
    from PIL import Image

    from gradtrace.animate import animate, frame_figure

    trace = gradtrace.fit(
        "seed004_keras",
        optimizer="keras.rmsprop",
        lr=0.05,
        batch_size=3,
        epochs=1,
        shuffle=False,
        init={"w": 0.5},
    )
    path = animate(trace, tmp_path / "fit.gif")
    with Image.open(path) as im:
        assert im.n_frames == 5  # the start and 4 steps
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    # five frames slowed to last 4 s (0.5 s at 10 a second was too fast to
    # follow), the last held 2 s more before the loop starts again
    assert durations == [800, 800, 800, 800, 2800]
    with Image.open(animate(trace, tmp_path / "fast.gif", fps=10)) as im:
        im.seek(1)
        assert im.info["duration"] == 100  # a rate given is kept
    ax = frame_figure(trace, 2).axes[0]
    assert ax.get_title().startswith("step 2 of 4 · epoch 1, batch 2")
    # the parameters at the step, a line of the title
    row = trace.to_pandas().iloc[2]
    assert ax.get_title().endswith(f"\nw = {row['w']:.4g}, b = {row['b']:.4g}")
    batch = next(line for line in ax.get_lines() if "batch" in line.get_label())
    np.testing.assert_allclose(batch.get_xdata(), [4, 5, 6])  # rows 3, 4, 5
    long = gradtrace.fit("seed001_line", lr=0.5, epochs=400)
    with Image.open(animate(long, tmp_path / "long.gif", every=100)) as im:
        assert im.n_frames == 5  # steps 0, 100, 200, 300, 400
    # a full-batch step is an epoch of one batch: the title says the step alone
    title = frame_figure(long, 300).axes[0].get_title()
    assert title.startswith("step 300 of 400 · loss over all data ")
    with pytest.raises(gradtrace.InputError, match="gif"):
        animate(trace, tmp_path / "fit.avi")


def test_report_is_self_contained(tmp_path: Path) -> None:
    from gradtrace.report import report

    trace = gradtrace.fit("seed001_line", lr=0.5, epochs=20, batch_size=30)
    html = report(trace, tmp_path / "r.html").read_text()
    assert "<script src" not in html and "<link" not in html
    assert "http://" not in html and "https://" not in html
    assert '"frames"' in html and "gradtrace report" in html
    with pytest.raises(gradtrace.InputError, match=".html"):
        report(trace, tmp_path / "r.txt")


def test_notebook_view_has_a_loss_curve() -> None:
    html = demo_traces()["line-mse"]._repr_html_()
    assert "<svg" in html and "<polyline" in html and "<table" in html


@pytest.mark.skipif(
    __import__("shutil").which("ffmpeg") is None, reason="ffmpeg is not installed"
)
def test_mp4_through_ffmpeg(tmp_path: Path) -> None:
    import subprocess

    from gradtrace.animate import animate

    trace = gradtrace.fit(
        "seed004_keras", lr=0.01, batch_size=3, epochs=1, shuffle=False
    )
    path = animate(trace, tmp_path / "fit.mp4")
    frames = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert int(frames) == 5


def test_mp4_without_ffmpeg_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradtrace.animate as anim

    monkeypatch.setattr(anim.shutil, "which", lambda name: None)
    trace = gradtrace.fit("seed004_keras", lr=0.01, steps=2)
    with pytest.raises(gradtrace.InputError, match="needs ffmpeg"):
        anim.animate(trace, tmp_path / "fit.mp4")
    assert not (tmp_path / "fit.mp4").exists()


def test_a_failing_ffmpeg_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import gradtrace.animate as anim

    fake = tmp_path / "bin" / "ffmpeg"  # writes a little, then fails
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\nfor last; do :; done\necho partial > "$last"\n'
        'echo "Unknown encoder libx264" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    out.mkdir()
    trace = gradtrace.fit("seed004_keras", lr=0.01, steps=2)
    with pytest.raises(gradtrace.InputError, match=r"\(Unknown encoder libx264\)"):
        anim.animate(trace, out / "fit.mp4")
    assert list(out.iterdir()) == []  # neither the video nor its temporary file


def test_an_interrupted_picture_leaves_nothing(tmp_path: Path) -> None:
    def interrupted(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        plot.written(tmp_path / "x.png", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_a_distributions_animation_keeps_one_scale_for_every_frame() -> None:
    from gradtrace.animate import frame_figure

    y = np.random.default_rng(0).lognormal(0.5, 0.5, 400)
    trace = gradtrace.fit({"y": y}, "lognormal", optimizer="adam", lr=0.1, steps=30)
    limits = {frame_figure(trace, s).axes[0].get_ylim() for s in (1, 10, 30)}
    assert len(limits) == 1


def test_a_polynomial_on_line_data_draws_its_fit_without_the_lines_truth(
    tmp_path: Path,
) -> None:
    from gradtrace.cli import main

    data = tmp_path / "line.csv"
    with pytest.raises(SystemExit):
        main(["data", "line", "--n", "50", "-o", str(data)])
    trace = gradtrace.fit(str(data), "poly", degree=2, optimizer="adam", steps=50)
    fig = plot.fit_over_data(trace)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("fitted") for t in labels)
    assert not any(t.startswith("truth") for t in labels)


def test_a_landscape_is_evaluated_in_batches_of_grid_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jax
    import jax.numpy as jnp

    from gradtrace import plot

    y = np.random.default_rng(0).normal(size=1000)

    def loss(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.mean((jnp.asarray(y) - a - b * jnp.asarray(y)) ** 2)

    A, B = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(0, 2, 5))
    with jax.enable_x64(True):
        whole = np.asarray(jax.vmap(jax.vmap(loss))(jnp.asarray(A), jnp.asarray(B)))
        monkeypatch.setattr(plot, "GRID_ELEMENTS", 3000)  # 3 points a batch
        batched = plot.on_grid(loss, A, B, len(y))
    np.testing.assert_allclose(batched, whole, rtol=1e-12)


def test_the_mse_curve_is_the_mean_squared_residual(tmp_path: Path) -> None:
    trace = gradtrace.fit("seed001_line", lr=0.05, epochs=3)
    fig = gradtrace.plot.mse_and_likelihood(trace)
    grid, mse = fig.axes[0].lines[0].get_data()
    data = gradtrace.data.builtin("seed001_line")
    resid = data["y"].to_numpy(float) - trace.params["w"] * data["x"].to_numpy(float)
    direct = np.mean((resid[None, :] - np.asarray(grid)[:, None]) ** 2, axis=1)
    np.testing.assert_allclose(mse, direct, rtol=1e-6)  # residuals in float32
    w = trace.params["w"]
    assert fig.get_suptitle() == f"over b, with w held at the run's final w = {w:.5g}"
    assert fig.axes[0].get_title() == "MSE: smallest at mean(y - w x)"


def test_a_loss_evaluated_every_kth_step_is_marked_where_evaluated() -> None:
    dense = gradtrace.fit("seed001_line", batch_size=10, epochs=2)
    sparse = gradtrace.fit("seed001_line", batch_size=10, epochs=2, eval_every=5)

    def full_line(trace: gradtrace.Trace) -> Any:
        fig = plot.loss_curves(trace)
        return next(
            line
            for line in fig.axes[0].lines
            if str(line.get_label()).startswith("loss over all data")
        )

    assert full_line(dense).get_marker() in (None, "None", "")
    marked = full_line(sparse)
    assert marked.get_marker() == "o"
    assert len(marked.get_xdata()) == 1 + 20 // 5


def test_a_long_run_has_a_logarithmic_step_axis() -> None:
    short = gradtrace.fit("seed001_line", lr=0.05, steps=100)
    long = gradtrace.fit("seed001_line", lr=0.05, steps=plot.LOG_STEPS)
    for draw in (plot.loss_curves, plot.parameter_paths):
        assert draw(short).axes[-1].get_xscale() == "linear"
        assert draw(long).axes[-1].get_xscale() == "symlog"


def test_a_loss_near_its_optimum_reads_in_full_not_as_an_offset() -> None:
    """Seed 002's loss moves in its last digits (14258.98 +- 0.01): the ticks read
    the losses themselves, not '+1.42589e4' and a few hundredths."""
    trace = gradtrace.fit(
        "seed002_normal",
        "normal",
        reduction="sum",
        fix={"scale": 1},
        init={"loc": 0.0},
        lr=1e-7,
        steps=200,
        exact=False,
    )
    fig = plot.loss_curves(trace)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_yscale() == "linear"
    assert ax.yaxis.get_offset_text().get_text() == ""
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.replace("\u2212", "-").startswith("1425") for t in ticks)


def test_a_scatter_of_many_rows_draws_a_random_subset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradtrace.animate import frame_figure

    monkeypatch.setattr(plot, "POINTS_SHOWN", 50)
    x = np.linspace(0, 1, 200)
    trace = gradtrace.fit({"x": x, "y": 3 * x}, lr=0.5, batch_size=20, epochs=1)
    for ax in (plot.fit_over_data(trace).axes[0], frame_figure(trace, 3).axes[0]):
        data = ax.get_lines()[0]
        assert data.get_label() == "data (a random 50 of 200 rows)"
        xs = np.asarray(data.get_xdata())
        assert len(xs) == 50 and len(np.unique(xs)) == 50 and np.all(np.diff(xs) > 0)
        np.testing.assert_array_equal(np.asarray(data.get_ydata()), 3 * xs)
    shown = plot.points_shown(200)
    assert isinstance(shown, np.ndarray)
    np.testing.assert_array_equal(shown, plot.points_shown(200))  # the same rows


@pytest.mark.cpu_digits
def test_a_diverged_runs_loss_marks_the_step_and_an_optimum_off_the_chart() -> None:
    trace = gradtrace.fit("seed001_line", lr=2.0, epochs=200)
    assert trace.diverged and trace.diverged_step == trace.steps
    ax = trace.plot("loss").axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    best = trace.info["optimum_loss"]
    assert f"optimum's loss {best:.7g} (below the chart)" in labels
    assert ax.get_ylim()[0] > best  # the losses' range, not squashed to the optimum
    assert f"diverged at step {trace.steps} (not finite)" in labels
    ok = gradtrace.fit("seed001_line", lr=0.1, steps=50).plot("loss").axes[0]
    labels = [line.get_label() for line in ok.get_lines()]
    assert not any("diverged" in label or "chart" in label for label in labels)


def test_y_against_the_prediction_shows_binned_means_and_jitters_zero_one_data() -> (
    None
):
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(600, 2))
    p = 1 / (1 + np.exp(-(xs @ [1.5, -2.0] + 0.3)))
    y = (rng.uniform(size=600) < p).astype(float)
    trace = gradtrace.fit(
        {"a": xs[:, 0], "c": xs[:, 1], "y": y}, "logistic", x=["a", "c"], lr=0.5
    )
    ax = trace.plot("fit").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert "data (600 rows), jittered up and down" in lines
    drawn = lines["data (600 rows), jittered up and down"].get_ydata()
    assert np.all(np.abs(drawn - y) <= 0.04)  # each point near its own 0 or 1
    means = lines["mean of y in 10 bins of the prediction"]
    w, b = np.asarray(trace.params["w"]), trace.params["b"]
    pred = 1 / (1 + np.exp(-(xs @ w + b)))
    order = np.argsort(pred, kind="stable")
    for k, part in enumerate(np.array_split(order, 10)):  # 60 rows each
        assert means.get_xdata()[k] == pytest.approx(pred[part].mean(), rel=1e-5)
        assert means.get_ydata()[k] == pytest.approx(y[part].mean())


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=300),
    st.integers(1, 20),
)
def test_binned_means_cover_every_row_once_in_the_predictions_order(
    values: list[float], bins: int
) -> None:
    pred = np.asarray(values, np.float64)
    y = np.arange(len(pred), dtype=np.float64)
    got = plot.binned_means(pred, y, bins)
    if min(bins, len(pred) // 10) < 2:
        assert got is None
        return
    assert got is not None
    xs, ys = got
    assert len(xs) == min(bins, len(pred) // 10)
    assert np.all(np.diff(xs) >= -1e-9 * np.abs(xs).max())  # by prediction
    sizes = [len(p) for p in np.array_split(np.arange(len(pred)), len(xs))]
    assert np.dot(ys, sizes) == pytest.approx(y.sum())  # every row once


def test_landscape_levels_resolve_the_valley_whatever_the_losss_floor() -> None:
    rng = np.random.default_rng(0)
    heights = {"height": rng.normal(170.0, 8.0, 200)}
    trace = gradtrace.fit(
        heights,
        "normal",
        y="height",
        optimizer="adam",
        lr=0.5,
        steps=2000,
        init={"loc": 150.0, "scale": 10.0},
    )
    fig = trace.plot("landscape")
    contours = next(c for c in fig.axes[0].collections if hasattr(c, "levels"))
    levels = np.asarray(contours.levels)
    low, high = levels[0], levels[-1]
    assert low > 3.0  # an NLL whose floor is far from 0
    assert np.all(np.diff(levels) > 0)
    # most levels lie near the floor, where the valley is: not evenly spaced
    assert np.sum(levels < low + 0.1 * (high - low)) >= len(levels) // 2
    flat, norm = plot.landscape_levels(np.array([1.0, 1.5, 2.0, 2.5]))
    assert flat == 25 and norm is None  # a loss that varies little: even levels


def test_trace_plot_landscape_over_the_two_parameters_asked_for() -> None:
    """plot('landscape', params=('b', 'c')), as the command's --params b,c; a
    vector's elements by their names; wrong names in one Python-worded line."""
    import pandas as pd

    import gradtrace
    from gradtrace.errors import InputError

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 100)
    data = pd.DataFrame({"x": x, "y": 3 * np.exp(-0.4 * x) + 1})
    run = gradtrace.fit(data, "exp-decay", optimizer="adam", lr=0.05, steps=20)
    fig = run.plot("landscape", params=("b", "c"))
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("b", "c")
    assert run.plot("landscape", params="a,c").axes[0].get_xlabel() == "a"
    with pytest.raises(InputError, match=r"^params=\('b', 'zz'\): the run has no"):
        run.plot("landscape", params=("b", "zz"))
    # one parameter twice drew a diagonal over "b and b"
    with pytest.raises(InputError, match=r"^params=\('b', 'b'\): name two different"):
        run.plot("landscape", params=("b", "b"))
    with pytest.raises(InputError, match="drop it for plot\\('loss'\\)"):
        run.plot("loss", params=("b", "c"))
    cols = rng.normal(size=(40, 2))
    vector = gradtrace.fit((cols, cols @ [1.0, 2.0]), "linear", steps=3)
    assert vector.plot("landscape", params=("w[1]", "b")).axes[0].get_xlabel() == "w[1]"
    with pytest.raises(InputError, match="w is a vector; name its elements, such as w"):
        vector.plot("landscape", params=("w", "b"))


def test_a_landscape_of_a_run_that_blew_up_frames_its_steps_before() -> None:
    """lr 0.03 on a line over x in [0, 10) runs away: the landscape is framed on
    the steps before the loss rose past 100x its start's distance above the
    optimum's (not on parameters of 1e17), the step that left drawn toward where
    it went, and the title says so; one that blows up at its first step is
    framed on its start. A run whose negative NLL falls is not framed."""
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    data = pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 1, 200)})
    run = gradtrace.fit(data, lr=0.03, epochs=30)
    rise = run.to_pandas()["loss"].to_numpy() - run.info["optimum_loss"]
    cut = int(np.argmax(rise > 100 * rise[0]))
    fig = plot.loss_landscape(run)
    ax = fig.axes[0]
    assert f"showing steps 0-{cut - 1}; from step {cut} the run left the chart" in (
        ax.get_title()
    )
    frame = run.to_pandas()
    assert ax.get_xlim()[1] < 10 * abs(frame["w"][:cut]).max() + 10
    assert np.abs(frame["w"]).max() > 1e3  # what framing all would have shown
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"step {cut}, off the chart that way" in labels and "end" not in labels
    # an arrow on the leaving step's line, ending where that line leaves the
    # chart: from the last step shown it pointed inward, over the optimum (an
    # overshoot's way); a line to where it went crossed the path before it
    (arrow,) = [t for t in ax.texts if t.arrow_patch is not None]
    (x0, y0), (x1, y1) = arrow.xyann, arrow.xy
    (a0, a1), (b0, b1) = ax.get_xlim(), ax.get_ylim()
    shown = math.hypot((x1 - x0) / (a1 - a0), (y1 - y0) / (b1 - b0))
    assert shown == pytest.approx(plot.EXIT_ARROW)
    on_edge = [math.isclose(x1, a0), math.isclose(x1, a1)]
    on_edge += [math.isclose(y1, b0), math.isclose(y1, b1)]
    assert any(on_edge), (x1, y1, a0, a1, b0, b1)
    last = np.array([frame["w"][cut - 1], frame["b"][cut - 1]])
    heading = np.array([frame["w"][cut], frame["b"][cut]]) - last
    along = np.array([x1, y1]) - last
    assert np.dot(heading, along) > 0  # that way, from the last step shown
    assert abs(heading[0] * along[1] - heading[1] * along[0]) < 1e-6 * np.dot(
        heading, heading
    ) * np.linalg.norm(along) / np.linalg.norm(heading)  # on its line
    # a short path: the step's line dashed from the last step shown to the
    # arrow, which alone read as leaving from the start (a newcomer's lr 0.1)
    dashed = [
        line
        for line in ax.get_lines()
        if line.get_linestyle() == "--" and line.get_color() == "#d62728"
    ]
    if cut <= plot.NUMBERED_STEPS:
        (line,) = dashed
        assert line.get_xdata()[0] == pytest.approx(frame["w"][cut - 1])
        assert line.get_xdata()[1] == pytest.approx(x0)
    else:
        assert not dashed
    first = plot.loss_landscape(gradtrace.fit("seed001_line", lr=5, steps=50))
    assert "showing the start; from step 1 the run left" in first.axes[0].get_title()
    assert first.axes[0].get_xlim()[1] < 10
    y = np.random.default_rng(0).normal(0, 0.01, 200)
    falling = gradtrace.fit(
        {"y": y},
        "normal",
        optimizer="adam",
        lr=0.05,
        steps=300,
        init={"loc": 0.0, "scale": 0.4},
    )
    assert falling.to_pandas()["loss"].iloc[-1] < 0 < falling.to_pandas()["loss"][0]
    assert "left the chart" not in plot.loss_landscape(falling).axes[0].get_title()


def test_loss_figure_draws_a_scheduled_rate_on_its_own_axis() -> None:
    trace = gradtrace.fit(
        "seed001_line",
        "line",
        lr=0.1,
        lr_schedule="torch.exponential:gamma=0.5",
        batch_size=25,
        epochs=12,
    )
    fig = trace.plot("loss")
    rate = [a for a in fig.axes if a.get_ylabel() == "learning rate"]
    assert len(rate) == 1 and rate[0].get_yscale() == "log"  # 0.1 -> 5e-5
    (line,) = rate[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), trace.to_pandas()["lr"].iloc[1:])
    # the legend below the axes, off the rate's curve (which starts at the top)
    assert fig.axes[0].get_legend() is None
    assert "learning rate (torch.exponential" in fig.legends[0].texts[-1].get_text()
    fig.draw_without_rendering()  # its layout
    below = fig.legends[0].get_window_extent().y1
    assert below <= fig.axes[0].get_window_extent().y0
    plain = gradtrace.fit("seed001_line", "line", lr=0.1, batch_size=25, epochs=2)
    assert len(plain.plot("loss").axes) == 1


def test_figures_draw_on_axes_of_ones_own() -> None:
    """trace.plot("loss", ax=ax) raised TypeError: a figure could not go into a
    notebook's grid of subplots. Drawn on an axes, the axes is returned, as
    pandas returns it: a figure returned was shown twice in a notebook."""
    from matplotlib.figure import Figure

    trace = gradtrace.fit(
        "seed004_keras", optimizer="adam", lr=0.1, batch_size=4, epochs=3
    )
    fig = Figure(figsize=(15, 4))
    axes = fig.subplots(1, 3)
    for ax, which in zip(axes, ["fit", "loss", "landscape"], strict=True):
        assert trace.plot(which, ax=ax) is ax
        assert ax.get_title() and (ax.lines or ax.collections)
    assert axes[1].get_title().startswith("loss per step: ")
    assert len(fig.axes) == 4  # the three, and the landscape's colorbar
    assert not fig.legends  # each legend is its axes' own
    with pytest.raises(gradtrace.InputError, match="draws several axes of its own"):
        trace.plot("params", ax=axes[0])
    with pytest.raises(gradtrace.InputError, match="ax= takes a matplotlib Axes"):
        trace.plot("loss", ax=3)
    # a figure for its axes failed inside matplotlib ('Figure' has no 'plot')
    with pytest.raises(gradtrace.InputError, match="got a Figure: pass one of its"):
        trace.plot("fit", ax=fig)


def test_a_landscape_on_ones_own_axes_keeps_its_legend_off_the_optimum() -> None:
    """A newcomer's 2x3 grid: matplotlib's "best" weighs the path's 210 dots
    against the optimum's one star and put the legend over the star. The
    legend now goes where it hides none of the start, end and optimum, before
    the caller lays the figure out and after."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    hours = rng.uniform(0, 10, 100)
    frame = pd.DataFrame(
        {"hours": hours, "score": 50 + 4 * hours + rng.normal(0, 5, 100)}
    )
    trace = gradtrace.fit(
        frame, y="score", optimizer="sgd", lr=0.01, batch_size=16, epochs=30
    )
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    try:
        ax = axes[0, 0]
        trace.plot("landscape", ax=ax)
        optimum = trace.info["optimum"]
        frame_of_run = trace.to_pandas()
        marks = [
            (optimum["w"], optimum["b"]),
            (frame_of_run["w"].iloc[0], frame_of_run["b"].iloc[0]),
            (frame_of_run["w"].iloc[-1], frame_of_run["b"].iloc[-1]),
        ]
        for lay_out in (False, True):
            if lay_out:
                fig.tight_layout()
            fig.canvas.draw()
            box = ax.get_legend().get_window_extent()
            for x, y in ax.transData.transform(marks):
                assert not box.contains(x, y), (x, y, box)
    finally:
        plt.close(fig)


def test_a_loss_that_falls_fifty_fold_is_drawn_on_a_log_scale() -> None:
    """A teacher's mini-batch run fell from 240 to about 3 (its first batches' losses
    higher still): on a linear axis the rest of the run was a line on the floor."""
    x = np.linspace(0.0, 10.0, 200)
    frame = pd.DataFrame({"x": x, "y": 3.0 * x - 2.0 + 3.0 * np.sin(7.0 * x)})
    trace = gradtrace.fit(frame, lr=0.005, epochs=5, batch_size=20, exact=False)
    loss = trace.to_pandas()["loss"]
    assert 20 < loss.iloc[0] / loss.min() < 100  # the full-data loss alone: < 100
    ax = plot.loss_curves(trace).axes[0]
    assert ax.get_yscale() == "log"


def test_a_mini_batch_run_off_its_optimum_is_drawn_as_one() -> None:
    """Five epochs of batches of 16 ended 2.6 standard errors from the optimum,
    too few steps to tell a run on its way from the batches' scatter: fit.png
    shaded the optimum's interval of the mean about the run's line and its title
    read "completed", and residuals.png's slope read as a misfit. Both now say
    the run ended off its optimum, and fit.png draws the optimum's line instead
    of the band; a run at its optimum keeps its band."""
    rng = np.random.default_rng(1)
    x = rng.normal(3, 2, 200)
    frame = pd.DataFrame({"dose": x, "resp": 2 + 0.8 * x + rng.normal(0, 1, 200)})
    off = gradtrace.fit(frame, y="resp", lr=0.05, epochs=5, batch_size=16)
    (warning,) = off.convergence_warnings()
    assert "outside its 95% interval: too few steps to tell" in warning
    assert not plot.not_converged(off) and plot.off_optimum(off)
    ax = plot.fit_over_data(off).axes[0]
    assert (
        ax.get_title()
        .replace("\n", " ")
        .endswith("65 steps, completed, ended off its optimum")
    )
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.startswith("optimum: y = ") for label in labels)
    assert not any("interval of the mean" in label for label in labels)
    title = off.plot("residuals").axes[0].get_title().replace("\n", " ")
    assert title.endswith(
        "the run ended off its optimum: a slope here may be its distance from "
        "it, not the model's misfit"
    )
    near = gradtrace.fit(frame, y="resp", lr=0.05, steps=2000)
    assert not plot.off_optimum(near)
    labels = plot.fit_over_data(near).axes[0].get_legend_handles_labels()[1]
    assert any("interval of the mean" in label for label in labels)


def test_single_row_batches_losses_do_not_set_the_log_charts_floor() -> None:
    """Batches of one row: a row's squared error reaches 1e-8, and loss.png's log
    axis ran down to it, squeezing the loss over all the data, the epoch means
    and the optimum into a band at the top. The floor is now theirs (or the
    batches' lowest quarter), and the batches' line says how many fall below;
    batches of 20 are drawn whole, as before."""
    ones = gradtrace.fit(
        "seed001_line", lr=0.05, batch_size=1, epochs=20, shuffle=True, exact=True
    )
    frame = ones.to_pandas()
    batch = frame["batch_loss"].to_numpy(float)[1:]
    assert batch.min() < 1e-5  # far below the rest
    ax = plot.loss_curves(ones).axes[0]
    assert ax.get_yscale() == "log"
    low = ax.get_ylim()[0]
    assert low > 1e-3 and low <= frame["loss"].min() / 2
    assert low <= ones.info["optimum_loss"] / 2
    share = float(np.mean(batch[batch > 0] < low))
    (label,) = [t for t in ax.get_legend_handles_labels()[1] if t.startswith("batch")]
    assert label == (
        f"batch loss (before the step; {share:.0%} of them below the chart)"
    )
    assert share > 0.05  # the floor is the batches' lowest quarter's, halved
    twenty = gradtrace.fit("seed001_line", lr=0.05, batch_size=20, epochs=20)
    labels = plot.loss_curves(twenty).axes[0].get_legend_handles_labels()[1]
    assert "batch loss (before the step)" in labels


def test_a_long_animation_draws_its_first_steps_each() -> None:
    """A 100-step run's GIF went from step 0 straight to step 5, past the steps
    where a fit moves most."""
    from gradtrace.animate import frame_steps

    steps = frame_steps(500, None)
    assert steps[:12] == [*range(11), 15] and steps[-1] == 500
    assert len(steps) == len(set(steps)) == 109  # 0-10, and every 5th to 500
    assert frame_steps(500, 100) == [0, 100, 200, 300, 400, 500]  # as asked
    assert frame_steps(4, None) == [0, 1, 2, 3, 4]


def test_every_frame_of_an_animation_has_the_first_frames_size_and_layout() -> None:
    """The frames are laid out once: a frame that took the first one's axes but not
    its size in pixels left the first frame's edges showing in the GIF."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from gradtrace.animate import _Ready, frame_figure
    from gradtrace.plot import _run_data

    trace = gradtrace.fit("seed001_line", lr=0.1, batch_size=10, epochs=1)
    ready = _Ready(_run_data(trace), trace.to_pandas(), {})
    first = frame_figure(trace, 0, ready, np.array([], int))
    later = frame_figure(trace, 3, ready, trace.rows(3))
    shapes = []
    for fig in (first, later):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        shapes.append(np.asarray(canvas.buffer_rgba()).shape)
    assert shapes[0] == shapes[1]
    assert first.axes[0].get_position().bounds == later.axes[0].get_position().bounds


def test_a_fits_long_legend_goes_below_and_a_landscape_stays_in_range() -> None:
    """A mixture's legend (each of five parameters with its value) would cover its
    curves: it goes below the axes. A landscape over a probability and a positive
    rate keeps inside 0-1 and above 0, where the loss has values."""
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(-2, 0.5, 150), rng.normal(1.5, 1.0, 350)])
    mixture = gradtrace.fit(
        pd.DataFrame({"y": y}), "normal-mixture", optimizer="adam", lr=0.05, steps=50
    )
    fig = plot.fit_over_data(mixture)
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    small = gradtrace.fit("seed001_line", steps=5)
    assert plot.fit_over_data(small).axes[0].get_legend() is not None
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    def zero_inflated(p: dict, y: Any) -> Any:
        poisson = -p["rate"] + y * jnp.log(p["rate"]) - gammaln(y + 1)
        zero = jnp.log(p["pi"] + (1 - p["pi"]) * jnp.exp(-p["rate"]))
        return jnp.where(y == 0, zero, jnp.log1p(-p["pi"]) + poisson)

    own = gradtrace.Distribution(
        zero_inflated, {"rate": 1.0, "pi": 0.05}, positive=["rate"], unit=["pi"]
    )
    counts = np.where(rng.uniform(size=400) < 0.3, 0, rng.poisson(3.0, 400))
    zip_fit = gradtrace.fit(
        pd.DataFrame({"y": counts}), own, optimizer="adam", lr=0.05, steps=300
    )
    ax = plot.loss_landscape(zip_fit).axes[0]
    assert ax.get_ylim()[0] > 0 and ax.get_xlim()[0] > 0


def test_an_animations_frames_are_its_figures_drawn_whole(tmp_path: Path) -> None:
    """animate draws what frames share once and each frame's fit, batch, title
    and note over it (the axes' edges again over them): every frame is the
    frame's figure drawn whole, pixel for pixel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image, ImageSequence

    from gradtrace.animate import _Ready, animate, frame_figure
    from gradtrace.plot import _run_data

    data = pd.DataFrame({"x": np.linspace(0, 1, 60)})
    data["y"] = 3 * data["x"] - 1 + np.sin(np.arange(60))
    runs = [
        gradtrace.fit(data, lr=0.9, batch_size=25, epochs=4, shuffle=False),
        gradtrace.fit("seed001_gaussian", "normal", lr=0.1, batch_size=300, epochs=2),
    ]
    for i, trace in enumerate(runs):
        path = animate(trace, tmp_path / f"a{i}.gif", every=1)
        with Image.open(path) as gif:
            frames = [
                np.asarray(f.convert("RGB"), int) for f in ImageSequence.Iterator(gif)
            ]
        assert len(frames) == trace.steps + 1
        ready = _Ready(_run_data(trace), trace.to_pandas(), {})
        for step in range(trace.steps + 1):
            rows = trace.rows(step) if step else np.array([], int)
            canvas = FigureCanvasAgg(frame_figure(trace, step, ready, rows))
            canvas.draw()
            whole = Image.fromarray(np.asarray(canvas.buffer_rgba()))
            whole = whole.convert("P", palette=Image.Palette.ADAPTIVE).convert("RGB")
            apart = np.abs(np.asarray(whole, int) - frames[step]).sum(-1) > 30
            assert not apart.any(), (i, step, int(apart.sum()))


def test_params_png_says_its_slopes_are_on_standardised_x() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, size=(200, 2))
    data = {"u": x[:, 0], "v": x[:, 1], "y": x @ np.array([0.3, -0.2]) + 1}
    trace = gradtrace.fit(data, "linear", lr=0.1, epochs=5, standardize=True)
    title = trace.plot("params").axes[0].get_title()
    assert "on standardised x" in title
    plain = gradtrace.fit(data, "linear", lr=1e-4, epochs=2)
    assert "standardised" not in plain.plot("params").axes[0].get_title()


def test_the_residual_plot_shows_the_noise_that_widens() -> None:
    """A regression's residuals against its prediction: the binned spread of
    noise that grows with x widens along the prediction, and the title points
    to the Breusch-Pagan note; a distribution has none."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 10, 400)
    frame = pd.DataFrame({"x": x, "y": 0.7 * x + 1.4 + rng.normal(0, 0.2 + 0.3 * x)})
    trace = gradtrace.fit(frame, lr=0.01, epochs=20)
    fig = trace.plot("residuals")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "prediction (at the final values)"
    assert "the spread varies with x" in ax.get_title()
    centre, mean, sd = plot.binned_spread(*_residuals(trace, frame))
    assert sd[-1] > 3 * sd[0] and np.all(np.diff(centre) > 0)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(float(np.max(mean + sd)), rel=1e-6)
    even = gradtrace.fit(
        frame.assign(y=0.7 * x + rng.normal(0, 1, 400)), lr=0.01, epochs=5
    )
    assert "spread varies" not in even.plot("residuals").axes[0].get_title()
    with pytest.raises(gradtrace.InputError):
        gradtrace.fit("seed002_normal", model="normal", steps=2).plot("residuals")


def test_the_residual_bins_of_many_rows_are_a_fixed_random_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10 million rows' predictions, residuals and their order took 400 MB and
    # 2.5 s, for ten points: beyond BIN_ROWS the bins are a sample's, said so
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 10, 3000)
    frame = pd.DataFrame({"x": x, "y": 0.7 * x + 1.4 + rng.normal(0, 1, 3000)})
    trace = gradtrace.fit(frame, lr=0.01, epochs=3)
    monkeypatch.setattr(plot, "BIN_ROWS", 1000)
    ax = plot.residual_plot(trace).axes[0]
    means = next(line for line in ax.lines if line.get_marker() == "o")
    assert means.get_label() == (
        "mean residual in 10 bins of the prediction (of a random 1000 rows)"
    )
    rows = plot.random_rows(3000, 1000)
    pred, resid = _residuals(trace, frame.iloc[rows])
    centre, mean, _ = plot.binned_spread(pred, resid)
    np.testing.assert_allclose(means.get_xdata(), centre, rtol=1e-6)
    np.testing.assert_allclose(means.get_ydata(), mean, rtol=1e-6, atol=1e-9)
    assert ax.lines[0].get_label() == "data (a random 1000 of 3000 rows)"
    monkeypatch.setattr(plot, "BIN_ROWS", 3000)  # all of them: said as before
    ax = plot.residual_plot(trace).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert "mean residual in 10 bins of the prediction (300+ rows each)" in labels
    # 60 rows: 6 bins of 10, as the legend says (a newcomer counted them)
    few = gradtrace.fit(frame.iloc[:60], lr=0.01, epochs=3)
    means = next(
        line
        for line in plot.residual_plot(few).axes[0].lines
        if line.get_marker() == "o"
    )
    assert len(means.get_xdata()) == 6
    assert (
        means.get_label() == "mean residual in 6 bins of the prediction (10+ rows each)"
    )
    assert "data (3000 rows)" in labels
    # 3000 points small; a few hundred larger, to be seen on a projector
    assert ax.lines[0].get_markersize() == 3
    few = gradtrace.fit(frame.iloc[:300], lr=0.01, epochs=3)
    assert plot.residual_plot(few).axes[0].lines[0].get_markersize() == 6


def _residuals(trace: gradtrace.Trace, frame: pd.DataFrame) -> tuple[Any, Any]:
    x = frame["x"].to_numpy(np.float64)
    pred = trace.params["w"] * x + trace.params["b"]
    return pred, frame["y"].to_numpy(np.float64) - pred


def test_each_picture_names_how_its_run_trained() -> None:
    """A teacher's four optimizers' slides could not be told apart: loss.png,
    params.png and landscape.png named no optimizer, rate or batch size."""
    trace = gradtrace.fit(
        "seed001_line", optimizer="torch.adam", lr=0.1, batch_size=20, epochs=2
    )
    said = "torch.adam, lr=0.1, batches of 20"
    assert trace.plot("loss").axes[0].get_title() == f"loss per step: {said}"
    assert trace.plot("params").axes[0].get_title() == f"parameters per step: {said}"
    landscape = trace.plot("landscape").axes[0].get_title().splitlines()
    assert landscape[1] == f"the path of {said}"
    fit = trace.plot("fit").axes[0].get_title().replace("\n", " ")
    assert fit.startswith(f"line by mse, {said}: ")
    whole = gradtrace.fit(
        "seed001_line", lr=0.05, steps=5, lr_schedule="torch.step:step_size=2"
    )
    assert whole.plot("loss").axes[0].get_title() == (
        "loss per step: sgd, lr=0.05 (torch.step), full batch"
    )


def test_the_parameters_picture_shades_each_optimums_interval() -> None:
    """A researcher wanted the estimate's own uncertainty beside the path: each
    parameter's 95% interval is a band around its optimum's line."""
    trace = gradtrace.fit("seed001_line", lr=0.1, batch_size=20, epochs=3)
    fig = trace.plot("params")
    for ax, name in zip(fig.axes, ["w", "b"], strict=True):
        low, high = trace.info["ci"][name]
        (band,) = [p for p in ax.patches if p.get_label().startswith("its 95%")]
        if hasattr(band, "get_height"):  # a Rectangle (matplotlib 3.9 on)
            ys = [band.get_y(), band.get_y() + band.get_height()]
        else:  # a Polygon
            ys = list(np.asarray(band.get_xy())[:, 1])
        assert min(ys) == pytest.approx(low) and max(ys) == pytest.approx(high)
        assert band.get_label() == f"its 95% interval, {low:.4g} to {high:.4g}"
    # no standard errors, no band
    bare = gradtrace.fit("seed001_line", lr=0.1, steps=3, exact=False)
    assert not any(
        p.get_label().startswith("its 95%") for p in bare.plot("params").axes[0].patches
    )


def test_a_short_paths_steps_are_numbered_on_the_landscape() -> None:
    """lr 0.2 on a line: its steps overshoot back and forth along one line, which
    reads as a line; each step's number beside its dot shows the zig-zag. A
    long path's hundreds of dots are not numbered."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 5, 200)
    data = {"x": x, "y": 3 * x + 2 + rng.normal(0, 1, 200)}
    blown = gradtrace.fit(data, lr=0.2, epochs=30)
    ax = blown.plot("landscape").axes[0]
    # the step numbers (the arrow toward where it went has no text)
    numbers = {t.get_text(): t.xy for t in ax.texts if t.get_text()}
    frame = blown.to_pandas().set_index("step")
    assert set(numbers) == {"1", "2"}  # the steps drawn before it left the chart
    for step, (w, b) in numbers.items():
        assert (w, b) == pytest.approx(
            (frame.loc[int(step), "w"], frame.loc[int(step), "b"])
        )
    long = gradtrace.fit(data, lr=0.05, epochs=30)
    assert not long.plot("landscape").axes[0].texts


def test_a_likelihood_of_ones_own_says_its_residuals_are_raw() -> None:
    """A gamma regression's raw residuals widen with the mean by design; a
    researcher read the band as misfit: the title says they are raw."""
    import jax.numpy as jnp
    import jax.scipy.stats as st

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 300)
    y = rng.gamma(4.0, np.exp(0.5 + 0.6 * x) / 4.0)
    model = gradtrace.Model(
        lambda p, x: jnp.exp(p["a"] + p["b"] * x),
        {"a": 0.0, "b": 0.0, "shape": 1.0},
        positive=["shape"],
        log_prob=lambda p, y, mu: st.gamma.logpdf(y, p["shape"], scale=mu / p["shape"]),
    )
    trace = gradtrace.fit({"x": x, "y": y}, model, optimizer="adam", lr=0.05, steps=200)
    title = trace.plot("residuals").axes[0].get_title().replace("\n", " ")
    assert "raw residuals: under the model's own likelihood a spread" in title


def test_an_animations_density_scale_reaches_a_narrower_start() -> None:
    """A teacher's Gaussian animation cut the initial density off at its peak
    (0.08 under a scale topped at 0.065): a start up to three times the data's
    height is on the scale; a far taller one would flatten the data, and its
    legend says where its peak lies."""
    from gradtrace.animate import _Ready, frame_figure
    from gradtrace.plot import _run_data

    y = np.random.default_rng(0).normal(10.0, 4.0, 400)
    for scale, reaches in ((2.0, True), (0.05, False)):
        trace = gradtrace.fit(
            {"y": y}, "normal", lr=0.05, steps=3, init={"loc": 10.0, "scale": scale}
        )
        ready = _Ready(_run_data(trace), trace.to_pandas(), {})
        ax = frame_figure(trace, 0, ready, np.array([], int)).axes[0]
        initial = next(
            line for line in ax.get_lines() if line.get_label().startswith("initial")
        )
        peak = float(np.max(initial.get_ydata()))
        assert bool(ax.get_ylim()[1] > peak) is reaches, (scale, peak, ax.get_ylim())
        said = "initial" if reaches else f"initial (peak {peak:.3g}, cut off)"
        assert initial.get_label() == said


def test_a_logistic_fit_marks_its_held_out_rows_and_names_one_slope_plainly() -> None:
    """A Keras user's logistic fit.png left its 12 validation rows unmarked (a
    line's were drawn) and named its one slope w=[1.46]."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=60)
    y = (rng.uniform(size=60) < 1 / (1 + np.exp(-2 * x))).astype(float)
    trace = gradtrace.fit(
        {"x": x, "y": y}, "logistic", lr=0.5, steps=30, validation_split=0.2
    )
    ax = plot.fit_over_data(trace).axes[0]
    held = next(
        line for line in ax.get_lines() if line.get_label().startswith("validation")
    )
    np.testing.assert_allclose(held.get_xdata(), x[48:])
    w = trace.params["w"]
    fitted = next(line for line in ax.get_lines() if line.get_label().startswith("fit"))
    assert fitted.get_label().startswith(f"fitted: w={float(np.ravel(w)[0]):.4g}, b=")


def test_mse_loglik_names_restored_weights_as_restored() -> None:
    """After early stopping restored an epoch's weights, mse_loglik.png called
    them 'the run's final b'."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 60)
    frame = pd.DataFrame({"x": x, "y": 1.7 * x - 0.8 + rng.normal(0, 0.5, 60)})
    trace = gradtrace.fit(
        frame,
        lr=0.05,
        batch_size=8,
        epochs=40,
        validation_split=0.2,
        early_stopping="patience=2,restore_best_weights=true",
    )
    assert trace.restored is not None
    fig = plot.mse_and_likelihood(trace)
    epoch = trace.restored[0]
    assert f"held at the run's restored (epoch {epoch}) w = " in fig.get_suptitle()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    labels += fig.axes[0].get_legend_handles_labels()[1]
    b = float(trace.params["b"])
    assert any(f"the run's restored (epoch {epoch}) b = {b:.5g}" in t for t in labels)


def test_the_residuals_spread_is_drawn_over_the_points() -> None:
    """The ± one standard deviation band lay under 20000 points: its edges are
    drawn over them, at the binned mean ± sd."""
    trace = demo_traces()["line-mse"]
    ax = plot.residual_plot(trace).axes[0]
    edges = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(edges) == 2 and all(line.get_zorder() > 2 for line in edges)
    x, y = plot._run_data(trace)
    w, b = trace.params["w"], trace.params["b"]
    pred = w * np.ravel(x) + b
    centre, mean, sd = plot.binned_spread(pred, y - pred)
    np.testing.assert_allclose(edges[0].get_ydata(), mean - sd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(edges[1].get_ydata(), mean + sd, rtol=1e-5, atol=1e-7)
    # the legend's entry for the band draws its shade and its dashed edge
    from matplotlib.lines import Line2D

    (legend,) = ax.figure.legends  # below the chart, off the points
    assert ax.get_legend() is None
    import matplotlib.pyplot as plt

    _, mine = plt.subplots()  # on the caller's axes: theirs, where it fits best
    plot.residual_plot(trace, ax=mine)
    assert mine.get_legend() is not None and not mine.figure.legends
    plt.close(mine.figure)
    assert "± one standard deviation" in [t.get_text() for t in legend.get_texts()]
    drawn = [
        a
        for a in legend.findobj(Line2D)
        if a.get_linestyle() == "--" and a.get_color() == edges[0].get_color()
    ]
    assert drawn


def test_a_band_wider_than_the_data_is_drawn_and_cut_at_the_charts_edge(
    tmp_path: Path,
) -> None:
    """A Gaussian line whose scale is still 20 over y's range of a few: its 90%
    band vanished without a word (the grid of y was y's range); it is drawn,
    cut at the chart's edge, which stays on the data, and says so."""
    from scipy import stats

    data = builtin("seed001_line")
    run = gradtrace.fit(
        data, loss="nll", lr=1e-4, steps=2, init={"scale": 20.0}, exact=False
    )
    ax = plot.fit_over_data(run).axes[0]
    (band,) = [c for c in ax.collections if "of y at each x" in str(c.get_label())]
    assert "(beyond the chart)" in str(band.get_label())
    at, low, high = _band(ax)
    p = run.params
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(high - low, 2 * z * p["scale"], rtol=0.02)
    y = data["y"].to_numpy()
    span = y.max() - y.min()
    assert ax.get_ylim()[1] <= y.max() + 0.3 * span


def test_a_full_batch_reports_frames_carry_no_row_list_and_packed_curves() -> None:
    """A 3000-step full-batch fit of a normal (1501 frames): no frame lists its
    batch's rows (every row; the page says so), each frame's density comes as
    whole steps of a ten-thousandth of its span, and the page is 1.5 MB, not 5
    (17 digits a point) or 2.1 (five)."""
    import json

    from scipy import stats

    from gradtrace.report.html import CURVE_STEPS, payload, unpacked_curve

    trace = gradtrace.fit("seed001_gaussian", model="normal", lr=0.001, steps=3000)
    page = payload(trace)
    frames = page["frames"]
    assert len(frames) == 1501 and not any("rows" in f for f in frames[1:])
    assert all(f["n_rows"] == page["n_rows"] for f in frames[1:])
    grid = np.asarray(page["data"]["grid"])
    table = trace.to_pandas()
    for f in (frames[0], frames[700], frames[-1]):
        assert all(
            isinstance(k, int) and 0 <= k <= CURVE_STEPS for k in f["curve"]["steps"]
        )
        row = table[table["step"] == f["step"]].iloc[0]
        density = stats.norm.pdf(grid, row["loc"], row["scale"])
        span = np.ptp(density)
        np.testing.assert_allclose(
            unpacked_curve(f["curve"]), density, rtol=0, atol=span / CURVE_STEPS
        )
    assert len(json.dumps(page, separators=(",", ":"))) < 1_600_000


def test_a_curve_packs_what_is_not_finite_and_a_flat_curve() -> None:
    from gradtrace.report.html import packed_curve, unpacked_curve

    packed = packed_curve([1.0, np.inf, 3.0, np.nan, 2.0])
    assert packed == {"at": [1.0, 2.0 / 9999], "steps": [0, None, 9999, None, 5000]}
    assert unpacked_curve(packed)[:3] == [1.0, None, 3.0]
    assert unpacked_curve(packed_curve([4.0, 4.0])) == [4.0, 4.0]
    assert unpacked_curve(packed_curve([np.nan])) == [None]
    # a span past the largest float (a fit that blew up): the values as they are
    assert unpacked_curve(packed_curve([-1e308, 1e308])) == [-1e308, 1e308]


def test_a_long_runs_path_is_counted_in_steps_not_rows() -> None:
    """'61053 of 3000001 rows' read as the data's rows: the path's kept steps
    are counted against the run's steps."""
    assert plot.path_label(61052, False, 3_000_000, None) == (
        "path, a dot per kept step (61052 of its 3000000 steps)"
    )
    assert plot.path_label(20, True, 20, None) == "path, a dot per step (20 steps)"


def test_a_short_runs_step_axis_has_whole_steps() -> None:
    """A 3-step run's loss and parameter charts had ticks at steps 0.5 and 1.5."""
    trace = gradtrace.fit("seed001_line", lr=0.05, steps=3)
    for which in ("loss", "params"):
        for ax in trace.plot(which).axes:
            ticks = np.asarray(ax.get_xticks(), float)
            assert len(ticks) and np.all(ticks == np.round(ticks)), (which, ticks)


def test_a_landscapes_colour_bar_ticks_round_numbers_above_its_lowest() -> None:
    """The bar's geometric levels read 0.03397, 0.06789: its ticks are the lowest
    loss and round numbers spread along it, or the levels to three digits where
    too few round numbers fall in its range: inside the bar (5.4387 as 5.43, not
    5.44, which stretched it past its last level, a blank band), and apart from
    the lowest (1.4 was printed over 1.3987)."""
    mse = 0.02199 + np.concatenate([[0.0], np.geomspace(1e-4, 9.9, 24)])
    assert plot.bar_ticks(mse) == [0.02199, 0.05, 0.2, 1.0]
    nll = 1.3987 + np.concatenate([[0.0], np.geomspace(1e-3, 4.04, 24)])
    ticks = plot.bar_ticks(nll)
    assert ticks == [1.3987, 1.41, 1.45, 1.62, 2.35, 5.43]
    assert all(nll[0] <= t <= nll[-1] for t in ticks)


def test_a_figure_saved_in_python_has_the_commands_size(tmp_path: Path) -> None:
    """The README's 825 x 495 pixels for fit.png: fig.savefig in a notebook gave
    750 x 450 (matplotlib's 100 pixels per inch, not the command's 110)."""
    from PIL import Image

    trace = gradtrace.fit("seed001_line", lr=0.1, steps=5)
    trace.plot("fit").savefig(tmp_path / "fit.png")
    with Image.open(tmp_path / "fit.png") as image:
        assert image.size == (825, 495)


def test_a_pictures_title_names_the_optimizer_values_the_run_set() -> None:
    """torch.sgd with momentum 0.9 was titled as plain torch.sgd."""
    from gradtrace.text import run_setting

    trace = gradtrace.fit(
        "seed001_line",
        optimizer="torch.sgd",
        opt={"momentum": 0.9, "nesterov": True},
        lr=0.05,
        steps=5,
    )
    said = run_setting(trace.info)
    assert said == "torch.sgd (momentum=0.9, nesterov=True), lr=0.05, full batch"
    title = trace.plot("loss").axes[0].get_title().replace("\n", " ")
    assert "torch.sgd (momentum=0.9, nesterov=True)" in title
    plain = gradtrace.fit("seed001_line", optimizer="torch.sgd", lr=0.05, steps=5)
    assert run_setting(plain.info).startswith("torch.sgd, lr=0.05")


def test_a_fit_legend_goes_below_where_every_corner_holds_points() -> None:
    """Counts of 0, 1 and 2 across the whole width of a prediction plot: the
    legend matplotlib placed "best" covered points at y = 2 (a researcher's
    claims data); it goes below the axes there, and stays inside where a corner
    is free (seed 001's line)."""
    rng = np.random.default_rng(4)
    age, years = rng.uniform(20, 70, 400), rng.uniform(0.5, 3, 400)
    claims = rng.poisson(np.exp(-3 + 0.03 * age) * years)
    per_year = gradtrace.Model(
        lambda p, x: jnp.exp(p["b"] + p["w"] * x[:, 0]) * x[:, 1],
        {"w": 0.03, "b": -3.0},
        log_prob=lambda p, y, m: jax.scipy.stats.poisson.logpmf(y, m),
    )
    frame = {"age": age, "years": years, "claims": claims}
    trace = gradtrace.fit(
        frame, per_year, x=["age", "years"], y="claims", lr=1e-4, steps=3
    )
    fig = trace.plot("fit")
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    line = gradtrace.fit("seed001_line", lr=0.5, epochs=30).plot("fit")
    assert line.axes[0].get_legend() is not None and not line.legends


def test_a_standardised_runs_fit_and_frames_give_the_line_in_xs_units() -> None:
    """Trained on standardised x, drawn over x in its own units: the legend and
    an animation frame's title give the drawn line's slope and intercept (they
    gave the standardised 9.5e4, over a line of slope 1506)."""
    from gradtrace.animate import frame_figure

    rng = np.random.default_rng(0)
    x = rng.uniform(30, 200, 300)
    y = 1500 * x + 48000 + rng.normal(0, 2e4, 300)
    trace = gradtrace.fit(
        {"size": x, "price": y},
        "linear",
        x=["size"],
        y="price",
        standardize=True,
        lr=0.1,
        epochs=200,
    )
    own = trace.summary()["final_in_x_units"]
    w, b = float(own["w[0]"]), float(own["b"])
    labels = [line.get_label() for line in trace.plot("fit").axes[0].get_lines()]
    assert f"fitted: w={w:.4g}, b={b:.4g} (in x's units)" in labels
    title = frame_figure(trace, 200).axes[0].get_title()
    assert title.endswith(f"\nw[0] = {w:.4g}, b = {b:.4g} (in x's units)")


def test_a_loss_taken_every_k_steps_is_marked_where_taken() -> None:
    """With eval_every > 1 the loss over all the data is drawn with a marker at
    each step it was taken, and said so: a line between takings far apart (a
    long run's step 0 and step 69000) had hidden how fast it fell."""
    trace = gradtrace.fit("seed001_line", lr=0.5, steps=40, eval_every=4)
    ax = plot.loss_curves(trace).axes[0]
    [taken] = [ln for ln in ax.get_lines() if "where evaluated" in ln.get_label()]
    assert taken.get_marker() == "o"
    # and the line between takings dotted: a data scientist read a solid one as
    # the loss between them
    assert taken.get_linestyle() == ":"
    every = gradtrace.fit("seed001_line", lr=0.5, steps=40)
    labels = [ln.get_label() for ln in plot.loss_curves(every).axes[0].get_lines()]
    assert not any("where evaluated" in label for label in labels)


def test_a_loss_in_the_billions_is_ticked_in_powers_of_ten() -> None:
    """House prices' MSE near 4e10 was ticked 50000000000; from a million the
    axis takes a power of ten, and below it the losses stay in full."""
    rng = np.random.default_rng(7)
    x = rng.uniform(40, 220, 250)
    y = 1200 * x + 30000 + rng.normal(0, 15000, 250)
    trace = gradtrace.fit({"x": x, "y": y}, optimizer="adam", lr=0.1, steps=30)
    fig = plot.loss_curves(trace)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and max(len(label) for label in labels) <= 4, labels
    assert ax.yaxis.get_offset_text().get_text() == "1e10"
    small = plot.loss_curves(demo_traces()["normal-mean-sgd"])
    small.draw_without_rendering()
    assert small.axes[0].yaxis.get_offset_text().get_text() == ""


def test_the_fit_pictures_title_says_a_run_has_not_converged() -> None:
    """Seed 004's four RMSprop steps end 21.8 standard errors from the optimum:
    the summary says the run has not converged, and fit.png's title said
    "4 steps, completed" (a teacher's finding)."""
    from helpers import seed004_rmsprop

    short = seed004_rmsprop(epochs=1)
    assert any("has not converged" in w for w in short.warnings)
    title = short.plot("fit").axes[0].get_title().replace("\n", " ")
    assert title.endswith("4 steps, completed, not converged")
    done = gradtrace.fit("seed001_line", lr=0.5, steps=500)
    assert done.plot("fit").axes[0].get_title().endswith("500 steps, completed")


def test_a_standardised_runs_landscape_labels_its_slopes_per_sd() -> None:
    """w[area_m2] = 68853 on the landscape's axis read as a slope per m² (it is
    per standard deviation; a teacher's finding); b is b."""
    rng = np.random.default_rng(0)
    area = rng.uniform(50, 150, 100)
    rooms = rng.integers(1, 6, 100).astype(float)
    data = {
        "area_m2": area,
        "rooms": rooms,
        "price": 1500 * area + 5000 * rooms + rng.normal(0, 5000, 100),
    }
    options = dict(x=["area_m2", "rooms"], y="price", lr=0.1, steps=20)
    ax = gradtrace.fit(data, "linear", standardize=True, **options)
    axes = ax.plot("landscape", params=("w[0]", "b")).axes[0]
    assert axes.get_xlabel() == "w[area_m2] (per SD)" and axes.get_ylabel() == "b"
    # the report's landscape and compare's say so too (they read w[area_m2])
    from gradtrace.compare_plots import compare_runs
    from gradtrace.report.html import payload

    page = payload(ax)["landscape"]
    assert page["labels"] == ["w[area_m2] (per SD)", "w[rooms] (per SD)"]
    other = gradtrace.fit(data, "linear", standardize=True, **{**options, "lr": 0.05})
    drawn = compare_runs([ax, other])
    labels = {a.get_xlabel() for a in drawn.axes} | {a.get_ylabel() for a in drawn.axes}
    assert "w[area_m2] (per SD)" in labels


def test_a_mini_batch_frame_draws_the_fit_before_its_step_dotted() -> None:
    """A teacher's lesson on a mini-batch step: the frame drew the line after
    the step beside the batch whose gradient was taken at the line before it
    (the residuals explain prints). That line is drawn dotted; a full-batch
    run's frame, whose batch is every row, has none."""
    from gradtrace.animate import frame_figure

    data = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    data["y"] = 2 * data["x"] + 1 + np.sin(np.arange(40))
    trace = gradtrace.fit(data, lr=0.1, batch_size=8, epochs=2)
    ax = frame_figure(trace, 3).axes[0]
    (dotted,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    before = trace.to_pandas().iloc[2]
    grid = dotted.get_xdata()
    np.testing.assert_allclose(
        dotted.get_ydata(), before["w"] * grid + before["b"], rtol=1e-5
    )
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert "the fit after this step (dotted: before it)" in labels
    full = gradtrace.fit(data, lr=0.1, steps=3)
    lines = frame_figure(full, 3).axes[0].get_lines()
    assert not [ln for ln in lines if ln.get_linestyle() == ":"]
    # a trace without the step before (a long run's kept steps): no dotted
    # line, and no legend that speaks of one
    from gradtrace.animate import _Ready
    from gradtrace.plot import _run_data

    table = trace.to_pandas()
    kept = _Ready(_run_data(trace), table[table["step"] != 2], {})
    ax = frame_figure(trace, 3, kept, trace.rows(3)).axes[0]
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert "the fit at this step" in labels and not any("dotted" in t for t in labels)


def test_titles_on_a_grid_of_ones_own_axes_stay_within_each_axes() -> None:
    """A notebook user's plot("loss", ax=axs[0]) and plot("fit", ax=axs[1])
    side by side: the long titles ran into each other. On an axes of one's own
    they wrap to its width."""
    from matplotlib.figure import Figure

    data = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    data["y"] = 2 * data["x"] + 1 + np.sin(np.arange(50)) / 3
    trace = gradtrace.fit(
        data,
        optimizer="adam",
        lr=0.1,
        batch_size=16,
        epochs=5,
        lr_schedule="torch.step:step_size=2",
    )
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    for ax, which in zip(axes, ("loss", "fit", "landscape"), strict=True):
        trace.plot(which, ax=ax)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.tight_layout()
    for ax in axes:
        title = ax.title.get_window_extent(renderer)
        box = ax.get_window_extent(renderer)
        assert "\n" in ax.get_title()
        assert title.width <= box.width * 1.15, (ax.get_title(), title.width, box.width)
    # a figure of gradtrace's own keeps its width: one line where it fits
    assert "\n" not in trace.plot("loss").axes[0].get_title()


def test_a_models_curve_at_many_steps_is_one_compiled_program() -> None:
    """A report's or an animation's frames evaluate the model at each step shown:
    one program for every frame, not each step's operations compiled afresh (a
    negative binomial's branches were: 301 frames took 45 s); its values are the
    model's own, operation by operation, in float64."""
    from scipy import stats

    from gradtrace.core.distributions import FAMILIES

    family = FAMILIES["negative-binomial"]
    grid = np.arange(0.0, 30.0)
    program = plot._model_program()
    before = program._cache_size()
    for mean, size in [(3.0, 2.0), (5.5, 0.7), (1.25, 40.0), (8.0, 1e4)]:
        got = np.exp(
            plot._evaluate(family, {"mean": mean, "size": size}, None, grid, "log_prob")
        )
        p = size / (size + mean)
        np.testing.assert_allclose(got, stats.nbinom.pmf(grid, size, p), rtol=1e-10)
    assert program._cache_size() == before + 1
    # a regression's prediction, the same way
    line = gradtrace.fit(
        {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.5]}, "line", steps=5
    ).model
    x = np.linspace(0.0, 3.0, 7)
    for w, b in [(2.0, 1.0), (-0.5, 3.0)]:
        got = plot._evaluate(line, {"w": w, "b": b}, x, None, "predict")
        np.testing.assert_allclose(got, w * x + b, rtol=1e-15)
    assert program._cache_size() == before + 2
