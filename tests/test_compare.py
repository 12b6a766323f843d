"""``gradtrace.compare`` and ``gradtrace compare``: several runs in one
picture, their losses over epochs and their paths over one landscape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.compare_plots import run_labels
from gradtrace.errors import InputError
from helpers import run_cli


def line(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, n)
    return pd.DataFrame({"x": x, "y": 3 * x + 2 + rng.normal(0, 1, n)})


OPTIMIZERS = (("sgd", 0.02), ("momentum", 0.02), ("rmsprop", 0.05), ("adam", 0.2))


def runs() -> list[gradtrace.Trace]:
    return [
        gradtrace.fit(line(), optimizer=o, lr=lr, batch_size=20, epochs=5)
        for o, lr in OPTIMIZERS
    ]


def test_four_optimizers_share_one_loss_chart_and_one_landscape() -> None:
    traces = runs()
    fig = gradtrace.compare(*traces)
    losses, landscape = fig.axes[:2]
    assert losses.get_yscale() == "log" and losses.get_xlabel() == "epoch"
    # each run's line: its loss over all the data less the optimum's, per epoch
    best = traces[0].info["optimum_loss"]
    drawn = [line for line in losses.get_lines() if line.get_label()[0] != "_"]
    labels = [line.get_label() for line in drawn]
    # beside plain SGD, momentum's own value is named (RMSprop's 0 is not)
    assert labels == [
        "sgd, lr=0.02",
        "momentum, lr=0.02, momentum=0.9",
        "rmsprop, lr=0.05",
        "adam, lr=0.2",
    ]
    for trace, shown in zip(traces, drawn, strict=True):
        frame = trace.to_pandas()
        np.testing.assert_allclose(shown.get_xdata(), frame["step"] / 10)
        gap = frame["loss"].to_numpy(float) - best
        # within ten float32 epsilons of the optimum's loss: rounding, drawn flat
        floor = 10 * float(np.finfo(np.float32).eps) * abs(best)
        np.testing.assert_allclose(
            shown.get_ydata(), np.where(gap <= floor, floor, gap)
        )
    # each run's path over (w, b), in its line's colour
    paths = [line for line in landscape.get_lines() if line.get_linestyle() == "-"]
    assert len(paths) == 4
    for trace, path, shown in zip(traces, paths, drawn, strict=True):
        frame = trace.to_pandas()
        np.testing.assert_allclose(path.get_xdata(), frame["w"])
        np.testing.assert_allclose(path.get_ydata(), frame["b"])
        assert path.get_color() == shown.get_color()
    # the first run widest, each later one narrower over it: a path that shares
    # a stretch with a later one shows around it (SGD's hid under momentum's)
    widths = [path.get_linewidth() for path in paths]
    assert widths == sorted(widths, reverse=True) and widths[0] > 2 * widths[-1]
    # but thin enough for a mini-batch zigzag (4 points wide hid SGD's order),
    # each step's point marked where a path has few enough to tell apart
    from gradtrace.compare_plots import DOTTED_STEPS

    assert widths[0] <= 3
    dots = [line for line in landscape.get_lines() if line.get_marker() == "."]
    assert len(dots) == sum(len(p.get_xdata()) <= DOTTED_STEPS for p in paths) > 0
    ends = [line for line in landscape.get_lines() if line.get_marker() == "s"]
    sizes = [end.get_markersize() for end in ends]
    assert len(set(sizes)) == 4 and sizes == sorted(sizes, reverse=True)
    (star,) = [line for line in landscape.get_lines() if line.get_marker() == "*"]
    optimum = traces[0].info["optimum"]
    np.testing.assert_allclose(star.get_xydata()[0], [optimum["w"], optimum["b"]])
    assert landscape.get_xlabel() == "w" and landscape.get_ylabel() == "b"
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert legend == labels
    assert fig.get_suptitle() == "4 runs: line by mse"


def test_labels_name_only_what_differs() -> None:
    data = line()
    a = gradtrace.fit(data, lr=0.02, batch_size=20, epochs=2)
    b = gradtrace.fit(data, lr=0.02, epochs=2)
    c = gradtrace.fit(
        data, optimizer="momentum", lr=0.02, opt={"momentum": 0.5}, epochs=2
    )
    d = gradtrace.fit(data, optimizer="momentum", lr=0.02, epochs=2)
    assert run_labels([a, b]) == ["sgd, lr=0.02, batch 20", "sgd, lr=0.02, full batch"]
    assert run_labels([c, d]) == [
        "momentum, lr=0.02, momentum=0.5",
        "momentum, lr=0.02, momentum=0.9",
    ]
    assert run_labels([b, b]) == ["1: sgd, lr=0.02", "2: sgd, lr=0.02"]
    fig = gradtrace.compare(a, b, labels=["small batches", "whole data"])
    assert fig.axes[0].get_xlabel() == "epoch (the batch sizes differ)"
    texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert texts == ["small batches", "whole data"]


def test_runs_of_other_data_share_no_landscape_nor_optimum() -> None:
    a = gradtrace.fit(line(), lr=0.02, epochs=3)
    b = gradtrace.fit(line(seed=2), lr=0.02, epochs=3)
    fig = gradtrace.compare(a, b)
    assert len(fig.axes) == 1
    # each run's gap to its own optimum's loss
    assert fig.axes[0].get_ylabel() == (
        "loss − each run's own optimum's loss (over all the data)"
    )
    for trace, drawn in zip((a, b), fig.axes[0].get_lines(), strict=True):
        gap = trace.to_pandas()["loss"].to_numpy(float) - trace.info["optimum_loss"]
        np.testing.assert_allclose(
            drawn.get_ydata(), np.maximum(gap, 1e-12 * trace.info["optimum_loss"])
        )
    assert "different models, losses or data" in fig.get_suptitle()
    # the labels say what differs: the data (of Python's: both unnamed), the
    # order of the batches, a stream
    assert run_labels([a, b]) == ["1: sgd, lr=0.02", "2: sgd, lr=0.02"]


def test_bad_comparisons_are_told_what_to_give() -> None:
    a = gradtrace.fit(line(), lr=0.02, epochs=1)
    b = gradtrace.fit(line(), lr=0.05, epochs=1)
    with pytest.raises(InputError, match="compare takes two runs or more"):
        gradtrace.compare(a)
    with pytest.raises(InputError, match="labels= names each run: give 2 names"):
        gradtrace.compare(a, b, labels=["one"])
    with pytest.raises(InputError, match="labels= names each run"):
        gradtrace.compare(a, b, labels="ab")
    # a run given twice drew one curve under the other, silently
    with pytest.raises(InputError, match="^run 3 is run 1 again: give each run once"):
        gradtrace.compare(a, b, a)


def test_the_command_draws_run_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    line().to_csv(data, index=False)
    for name, lr in OPTIMIZERS[::3]:
        args = ["fit", str(data), "--optimizer", name, "--lr", str(lr)]
        args += ["--batch-size", "20", "--epochs", "3", "-q"]
        code, _, err = run_cli([*args, "--out", str(tmp_path / name)], capsys)
        assert code == 0, err
    folders = [str(tmp_path / "sgd"), str(tmp_path / "adam")]
    out = tmp_path / "both.png"
    code, said, err = run_cli(["compare", *folders, "-o", str(out)], capsys)
    assert code == 0 and said.strip() == f"wrote {out}", err
    fig = gradtrace.compare(*folders)
    assert fig.get_suptitle() == "2 runs: line by mse on d.csv"
    assert out.read_bytes().startswith(b"\x89PNG")
    for args, told in [
        ([folders[0]], "compare takes two runs or more"),
        ([*folders, "--label", "a"], "--label names each run: give it 2 times"),
        ([*folders, "-o", str(tmp_path / "x.jpg")], "the picture is a PNG"),
        ([*folders], "already exists"),
        ([folders[0], f"{folders[0]}/", "-o", str(tmp_path / "t.png")], "given twice"),
    ]:
        if "-o" not in args:
            args = [*args, "-o", str(out)]
        code, _, err = run_cli(["compare", *args], capsys)
        assert code == 2 and told in err and len(err.strip().splitlines()) == 1, err


def test_a_streamed_run_and_the_same_file_in_memory_share_their_landscape(
    tmp_path: Path,
) -> None:
    """A streamed run keeps its file's checksum, not its values': compared with
    the same file read whole, it was said to be of other data. Labels name
    what differs: the file, the stream, the batches' order."""
    path = tmp_path / "d.parquet"
    line().to_parquet(path)
    options = dict(lr=0.05, batch_size=50, epochs=2, shuffle=False)
    whole = gradtrace.fit(str(path), **options)  # type: ignore[arg-type]
    streamed = gradtrace.fit(str(path), **options, stream=True, chunk_rows=64)  # type: ignore[arg-type]
    fig = gradtrace.compare([whole, streamed])  # a list, as one argument
    assert len(fig.axes) >= 2 and "d.parquet" in fig.get_suptitle()
    assert run_labels([whole, streamed]) == [
        "sgd, lr=0.05, in memory",
        "sgd, lr=0.05, streamed",
    ]
    other = tmp_path / "e.parquet"
    line(seed=3).to_parquet(other)
    shuffled = gradtrace.fit(str(other), lr=0.05, batch_size=50, epochs=2)
    assert run_labels([whole, shuffled]) == [
        "sgd, lr=0.05, on d.parquet, in order",
        "sgd, lr=0.05, on e.parquet, shuffled, seed 0",
    ]
    assert whole.batch_rows(3).equals(whole.batch_rows([3]))  # one step as an int


def test_runs_at_their_optimum_sit_flat_on_the_rounding_floor() -> None:
    """Two normal fits that reach the optimum: their gap is float rounding, drawn
    flat at ten float32 epsilons of the optimum's loss with a line that says so
    (it swung between 1e-12 and 2e-7, and a class read Adam as still bouncing);
    full batches of data sets of their own sizes are not "batch sizes that
    differ"."""
    sgd = gradtrace.fit("seed001_gaussian", model="normal", lr=0.5, steps=300)
    adam = gradtrace.fit(
        "seed001_gaussian", model="normal", optimizer="adam", lr=0.1, steps=300
    )
    losses = gradtrace.compare(sgd, adam).axes[0]
    floor = 10 * float(np.finfo(np.float32).eps) * abs(sgd.info["optimum_loss"])
    (rounding,) = [
        line for line in losses.get_lines() if "float rounding" in line.get_label()
    ]
    assert rounding.get_ydata()[0] == pytest.approx(floor)
    for line in losses.get_lines()[:2]:
        values = np.asarray(line.get_ydata(), float)
        assert values.min() == pytest.approx(floor) and values[-1] == values.min()
        assert np.all(values[-100:] == values[-1])  # flat, not swinging
    small = pd.DataFrame({"y": np.random.default_rng(0).normal(size=50)})
    other = gradtrace.fit(small, "normal", lr=0.5, steps=30)
    apart = gradtrace.compare(sgd, other)
    assert apart.axes[0].get_xlabel() == "epoch"
    # its long labels in as many columns as fit (the last ran off the edge)
    (legend,) = apart.legends
    assert legend._ncols == 2


def test_a_legend_of_long_labels_stays_within_the_figure() -> None:
    """Two runs of a model expression on other data: their labels ran off both
    edges of the one-chart figure. The legend takes as many columns as its
    width holds, measured, and wraps a label too long for one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    a = gradtrace.fit(line(), lr=0.02, epochs=3)
    b = gradtrace.fit(line(seed=2), lr=0.02, epochs=3)
    for labels in (
        ["a" * 40, "b" * 40],  # two columns fit beside each other
        ["adam, lr=0.05, K=8, r=0.5, t0=7, K/(1+exp(-r*(t-t0))) by mse " * 3] * 2,
    ):
        fig = gradtrace.compare(a, b, labels=labels)
        (legend,) = fig.legends
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        box = legend.get_window_extent(renderer)
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width
    assert legend._ncols == 1
    texts = [t.get_text() for t in legend.get_texts()]
    assert "\n" in texts[0] and texts[0].replace("\n", " ") == labels[0].strip()


def test_a_run_repeated_is_dashed_over_the_one_it_repeats() -> None:
    """Two runs that took the same steps drew one line: the later one, on top,
    hid the first. It is dashed over it, and its label names the run it repeats;
    a run that differs anywhere is drawn as it is."""
    from gradtrace.compare_plots import same_runs

    data = line()
    a = gradtrace.fit(data, lr=0.02, epochs=3, batch_size=50)
    b = gradtrace.fit(data, lr=0.02, epochs=3, batch_size=50)
    c = gradtrace.fit(data, lr=0.021, epochs=3, batch_size=50)
    d = gradtrace.fit(data, lr=0.02, epochs=3, batch_size=50, seed=7)
    assert same_runs([a, b, c, d, b]) == [None, 0, None, None, 0]
    fig = gradtrace.compare(a, c, b, labels=["first", "faster", "again"])
    shown = {
        line.get_label(): line.get_linestyle()
        for line in fig.axes[0].get_lines()
        if line.get_label()[0] != "_"
    }
    assert shown == {
        "first": "-",
        "faster": "-",
        "again (the same run as first)": "--",
    }


def test_a_diverged_run_leaves_the_charts_to_the_others() -> None:
    """A student's three rates, the largest diverging: its loss of 1e34 and its
    path to w = 100 squeezed the two that worked into a flat line and a thin
    column."""
    frame = line()
    kept = [
        gradtrace.fit(frame, lr=lr, batch_size=20, epochs=5) for lr in (0.001, 0.01)
    ]
    blown = gradtrace.fit(frame, lr=0.3, batch_size=20, epochs=5)
    assert blown.diverged and not any(t.diverged for t in kept)
    fig = gradtrace.compare(*kept, blown)
    losses, landscape = fig.axes[:2]
    best = kept[0].info["optimum_loss"]
    highest = max(float(np.nanmax(t.to_pandas()["loss"])) - best for t in kept)
    bottom, top = losses.get_ylim()
    assert highest < top <= 100 * highest
    # where the diverged curve leaves: a triangle on the top edge
    marks = [m for m in losses.get_lines() if m.get_marker() == "^"]
    assert len(marks) == 1 and marks[0].get_ydata()[0] == pytest.approx(top)
    assert any("leaves the chart" in t.get_text() for t in losses.texts)
    # the landscape frames the runs that worked (and the optimum), not the
    # diverged path, which leaves it
    paths = [t.to_pandas() for t in kept]
    widest = max(float(np.max(np.abs(p["w"]))) for p in paths)
    far = float(np.nanmax(np.abs(blown.to_pandas()["w"])))
    low, high = landscape.get_xlim()
    assert high < far and high - low < 10 * max(widest, 4.0)
    # with no run diverged, nothing is cut
    plain = gradtrace.compare(*kept).axes[0]
    assert not [m for m in plain.get_lines() if m.get_marker() == "^"]


def test_a_run_that_swings_off_the_chart_is_cut_where_it_leaves_it() -> None:
    """A teacher's three rates on 100 rows, full batch, the largest (0.8) above
    the stable limit: its loss grew to 1e6 without overflowing, and its first
    twenty steps, swinging ever wider beyond the others' frame, crossed the
    landscape as a fan of parallel lines. It is drawn up to its first step off
    the chart, then that step's line, dashed, to an arrow at the edge."""
    from gradtrace.data import generate

    frame = generate("line", 100, w=(2.0,), b=1.0, noise=0.5, seed=0)[0]
    small, right, wild = (
        gradtrace.fit(frame, lr=lr, epochs=60) for lr in (0.01, 0.5, 0.8)
    )
    loss = wild.to_pandas()["loss"].to_numpy()
    assert not wild.diverged and np.isfinite(loss).all() and loss[-1] > 1e5
    landscape = gradtrace.compare(small, right, wild).axes[1]
    (x0, x1), (y0, y1) = landscape.get_xlim(), landscape.get_ylim()
    from matplotlib.colors import to_hex

    green = [ln for ln in landscape.get_lines() if to_hex(ln.get_color()) == "#2ca02c"]
    solid = [ln for ln in green if ln.get_linestyle() == "-"]
    dashed = [ln for ln in green if ln.get_linestyle() == "--"]
    assert len(solid) == 1 and len(dashed) == 1
    xs, ys = solid[0].get_xdata(), solid[0].get_ydata()
    assert ((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)).all()
    # the dashed step runs from the last point drawn to the chart's edge,
    # toward the step that left it
    (a0, a1), (b0, b1) = dashed[0].get_xdata(), dashed[0].get_ydata()
    assert (a0, b0) == (xs[-1], ys[-1])
    assert min(abs(a1 - x0), abs(a1 - x1), abs(b1 - y0), abs(b1 - y1)) < 1e-9
    gone = wild.to_pandas()[["w", "b"]].to_numpy()[len(xs)]
    direction = np.array([a1 - a0, b1 - b0]), gone - np.array([a0, b0])
    cosine = direction[0] @ direction[1] / np.prod([np.hypot(*d) for d in direction])
    assert cosine == pytest.approx(1.0, abs=1e-9)
    assert "dashed: that step" in " ".join(landscape.get_title().split())


def test_a_model_written_twice_is_a_repeat_whatever_its_parameters_order() -> None:
    """A notebook user's cooling curve as an expression (parameters c, a, k in
    the order they appear) and as a Python model (a, k, c): the same steps, but
    not told a repeat, and the second line hid the first."""
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    minutes = np.linspace(0, 10, 60)
    frame = pd.DataFrame({"minutes": minutes, "temp": 20 + 60 * np.exp(-0.3 * minutes)})
    frame["temp"] += rng.normal(0, 1, 60)
    start = {"a": 50.0, "k": 0.5, "c": 10.0}
    how = dict(x="minutes", y="temp", optimizer="adam", lr=0.1, steps=100)
    written = gradtrace.fit(
        frame, model_expr="c + a*exp(-k*minutes)", init=start, **how
    )
    own = gradtrace.Model(
        lambda p, x: p["c"] + p["a"] * jnp.exp(-p["k"] * x), params=start
    )
    coded = gradtrace.fit(frame, own, **how)
    assert list(written.params) != list(coded.params)
    from gradtrace.compare_plots import same_runs

    assert same_runs([written, coded]) == [None, 0]
    labels = [
        ln.get_label() for ln in gradtrace.compare(written, coded).axes[0].get_lines()
    ]
    assert any("(the same run as" in label for label in labels)
    # another start is no repeat
    other = gradtrace.fit(frame, own, init={"a": 40.0}, **how)
    assert same_runs([written, other]) == [None, None]


def test_a_run_whose_first_step_is_not_finite_is_not_said_dashed() -> None:
    """The title spoke of a dashed step toward where the run went where none
    was drawn: its first step was already infinite (lr 1e38 in float32)."""
    from gradtrace.data import generate

    frame = generate("line", 100, w=(2.0,), b=1.0, noise=0.5, seed=0)[0]
    fine = gradtrace.fit(frame, lr=0.1, epochs=20)
    gone = gradtrace.fit(frame, lr=1e38, epochs=20)
    title = " ".join(gradtrace.compare(fine, gone).axes[1].get_title().split())
    assert "drawn up to where it left the chart" in title
    assert "dashed" not in title
