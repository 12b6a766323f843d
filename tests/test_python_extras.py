"""Sweeps and the learning-rate range test from Python: exported from the package
(lazily: ``import gradtrace`` still imports no JAX), and shown in a notebook (repr,
HTML, DataFrame, pictures)."""

from __future__ import annotations

import doctest
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import gradtrace
from gradtrace.lrfind import LRFind
from gradtrace.sweeps import Sweep


@pytest.fixture(scope="module")
def small_sweep() -> Sweep:
    """Four rates on seed 001's line, 200 full-batch steps: 0.5 reaches the optimum
    in 99 steps, 1.0 diverges."""
    return gradtrace.sweep("seed001_line", lr=[0.01, 0.1, 0.5, 1.0], steps=200)


@pytest.fixture(scope="module")
def found() -> LRFind:
    return gradtrace.lr_find("seed001_line", steps=50)


def test_sweep_and_lr_find_are_exported_lazily() -> None:
    assert {"sweep", "lr_find"} <= set(gradtrace.__all__) <= set(dir(gradtrace))
    from gradtrace.lrfind import lr_find
    from gradtrace.sweeps import sweep

    assert gradtrace.sweep is sweep and gradtrace.lr_find is lr_find
    code = (
        "import gradtrace, sys; gradtrace.__all__; dir(gradtrace); "
        "print('jax' in sys.modules, 'gradtrace.sweeps' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_a_sweep_in_a_notebook(small_sweep: Sweep) -> None:
    s = small_sweep
    frame = s.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    pd.testing.assert_frame_equal(frame, s.table)
    assert frame is not s.table  # a copy, as Trace.to_pandas
    assert frame["lr"].tolist() == [0.01, 0.1, 0.5, 1.0]
    assert frame["diverged"].tolist() == [False, False, False, True]
    assert repr(s) == (
        "<Sweep line/mse sgd: 4 configurations, 1 diverged; best lr=0.5: within "
        "0.0001 of the optimum for good after 99 steps>"
    )
    html = s._repr_html_()
    for cell in (
        "<th>configurations</th><td>4 (4 lr)</td>",
        "diverged</th><td>1</td>",
        "best</th><td>lr=0.5</td>",
        f"its final loss</th><td>{frame['loss'][2]:.7g}</td>",
        "its steps to within 0.0001</th><td>99</td>",
    ):
        assert cell in html, cell
    assert "<script" not in html and "color:#a15c00" not in html  # no warning


def test_a_sweep_draws_the_commands_pictures(small_sweep: Sweep) -> None:
    losses, heatmap = small_sweep.plot(), small_sweep.plot("heatmap")
    assert isinstance(losses, Figure) and isinstance(heatmap, Figure)
    assert losses.axes[0].get_yscale() == "log"  # the gap to the optimum
    assert "learning rate" in heatmap.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="choose one of losses, heatmap"):
        small_sweep.plot("landscape")


def test_a_sweep_whose_loss_rose_warns_and_names_its_first_tie() -> None:
    """Two seeds of full batches give equal losses: the best is the first of them
    (a stable sort), and the rates whose loss rose are named in a warning."""
    s = gradtrace.sweep("seed001_line", lr=[0.1, 1.0], steps=50, seed=[0, 1])
    assert s.best["config"] == 0
    text = repr(s)
    assert text.startswith(
        "<Sweep line/mse sgd: 4 configurations, 0 diverged, 2 ended above their "
        "start; best lr=0.1, seed=0: final loss "
    )
    assert "\n  the loss ended above where it started (lr=1, seed=0: " in text
    assert "and 1 more)" in text
    html = s._repr_html_()
    assert "4 (2 lr × 2 seed)" in html
    assert "ended above their start</th><td>2<" in html
    assert 'style="color:#a15c00">the loss ended above' in html
    assert "its steps to within 0.0001</th><td>never" in html


def test_a_sweep_where_every_configuration_diverged() -> None:
    s = gradtrace.sweep("seed001_line", lr=[2.0, 3.0], steps=200)
    assert s.table["diverged"].all()
    assert repr(s) == (
        "<Sweep line/mse sgd: 2 configurations, 2 diverged; no best: every "
        "configuration diverged; try smaller rates>"
    )
    assert "none: every configuration diverged" in s._repr_html_()


def test_lr_find_in_a_notebook(found: LRFind) -> None:
    table, summary = found  # still unpacks as before
    assert table is found.table and summary is found.summary
    assert found.suggested_lr == summary["suggested_lr"]
    pd.testing.assert_frame_equal(found.to_pandas(), table)
    assert list(table.columns) == ["step", "lr", "batch_loss", "smoothed"]
    s = summary
    assert repr(found) == (
        f"<LRFind line/mse sgd: 50 steps, lr 1e-07 to 10; suggested lr "
        f"{s['suggested_lr']:.3g} (steepest fall); floor of the smoothed loss from lr "
        f"{s['min_loss_lr']:.3g}; stable limit 2/L {s['stable_lr']:.3g}; fastest "
        f"full-batch rate 2/(mu + L) {s['fastest_lr']:.3g}; the loss "
        f"blew up at step {s['stopped_at_step']} "
        f"(lr {table['lr'][s['stopped_at_step'] - 1]:.3g})>"
    )
    assert s["suggested_lr"] < s["min_loss_lr"] < s["stable_lr"]
    assert round(s["stable_lr"], 2) == 0.78  # 2/L of seed 001's line
    html = found._repr_html_()
    assert f"<li>suggested lr {s['suggested_lr']:.3g} (steepest fall)</li>" in html
    assert "<li>stable limit 2/L 0.78</li>" in html


def test_lr_find_draws_the_commands_picture(found: LRFind) -> None:
    fig = found.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert f"suggested (steepest fall): lr {found.suggested_lr:.3g}" in labels
    floor = found.summary["min_loss_lr"]
    assert f"floor of the smoothed loss from lr {floor:.3g}" in labels
    assert any(label.startswith("stable limit 2/L") for label in labels)
    # the legend below the chart, off the fall and the rise after it
    assert ax.get_legend() is None and len(fig.legends) == 1


def test_lr_find_notes_what_its_reading_warns_of() -> None:
    rising = gradtrace.lr_find("seed001_line", steps=50, lr_max=0.01)
    assert rising.notes == [
        "the loss was still falling at lr_max=0.01: a larger lr_max shows where it "
        "stops"
    ]
    assert "the loss did not blow up>\n  note: the loss was still falling" in repr(
        rising
    )
    assert 'style="color:#a15c00">note: the loss was still falling' in (
        rising._repr_html_()
    )


@pytest.mark.cpu_digits
def test_the_exercises_python_example_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/exercises.md's "In Python", run as a doctest (in a folder of its own:
    it writes two pictures and a report)."""
    text = (Path(__file__).parents[1] / "docs" / "exercises.md").read_text()
    section = text[text.index("## In Python") :]
    block = section[section.index("```pycon\n") + 9 :]
    block = block[: block.index("```")]
    monkeypatch.chdir(tmp_path)
    example = doctest.DocTestParser().get_doctest(
        block, {}, "exercises.md", "docs/exercises.md", 0
    )
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    out = io.StringIO()
    result = runner.run(example, out=out.write)
    assert result.failed == 0, out.getvalue()
    assert result.attempted >= 10
    for name in ("ex1_heatmap.png", "lr_find.png", "ex1.html"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_an_empty_list_to_sweep_is_one_line_not_a_default_run() -> None:
    from gradtrace.errors import InputError

    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    for kwargs, name in (
        ({"lr": []}, "lr"),
        ({"lr": [0.1], "opt": {"momentum": []}, "optimizer": "momentum"}, "opt"),
        ({"lr": [0.1], "init": {"w": []}}, "init"),
        ({"lr": [0.1], "batch_size": []}, "batch_size"),
    ):
        with pytest.raises(InputError, match=rf"^{name}\S*=\[\] gives no values"):
            gradtrace.sweep(data, steps=5, **kwargs)  # type: ignore[arg-type]


def test_sweep_and_lr_find_take_opt_init_and_fix_as_dicts_only() -> None:
    from gradtrace.errors import InputError

    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    for call in (gradtrace.sweep, gradtrace.lr_find):
        with pytest.raises(InputError, match=r"opt must be a dict .*'momentum': 0.9"):
            call(data, opt="momentum", steps=20)  # type: ignore[operator]
        with pytest.raises(InputError, match="init must be a dict of values by name"):
            call(data, init=[1, 2], steps=20)  # type: ignore[operator]
        with pytest.raises(InputError, match="fix must be a dict of values by name"):
            call(data, "normal", fix=1.0, steps=20)  # type: ignore[operator]


def test_sweep_and_lr_find_take_a_model_of_your_own() -> None:
    data = {"x": np.linspace(0.0, 3.0, 30), "y": 2.0 * np.linspace(0.0, 3.0, 30) + 1}
    own = gradtrace.Model(lambda p, x: p["a"] * x + p["c"], params={"a": 0.0, "c": 0})
    swept = gradtrace.sweep(data, own, lr=[0.01, 0.05], steps=40)
    assert swept.info["model"] == "custom"
    for lr in (0.01, 0.05):
        alone = gradtrace.fit(data, own, lr=lr, steps=40, exact=False)
        row = swept.table[swept.table["lr"] == lr].iloc[0]
        assert row["loss"] == pytest.approx(alone.final_loss, rel=1e-5)
    found = gradtrace.lr_find(data, own, steps=30)
    line = gradtrace.lr_find(data, "line", steps=30)  # the same model by name
    np.testing.assert_allclose(found.table["batch_loss"], line.table["batch_loss"])


def test_lr_find_says_it_sets_the_rate_and_counts_steps() -> None:
    from gradtrace.errors import InputError

    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    with pytest.raises(InputError, match="give those instead of lr="):
        gradtrace.lr_find(data, lr=0.1)
    with pytest.raises(InputError, match="give steps= instead of epochs="):
        gradtrace.lr_find(data, epochs=3)


def test_a_command_line_range_in_python_says_to_give_values() -> None:
    from gradtrace.errors import InputError

    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    with pytest.raises(InputError, match=r"np.logspace\(-3, -1, 5\)"):
        gradtrace.sweep(data, lr="1e-3:1e-1:log5", steps=5)


def test_an_unknown_sweep_figure_is_an_input_error() -> None:
    from gradtrace.errors import InputError

    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    swept = gradtrace.sweep(data, lr=[0.01, 0.1], steps=5)
    with pytest.raises(InputError, match="unknown figure 'loss': choose one of"):
        swept.plot("loss")


def test_kerass_metric_names_are_taken_and_given_back() -> None:
    """A Keras user's metrics=['root_mean_squared_error'] was refused (early
    stopping took the name): each Keras name is its metric; history() gives
    them back under Keras's keys, the rate as learning_rate."""
    options: dict[str, Any] = dict(
        lr=0.1,
        batch_size=10,
        epochs=2,
        validation_split=0.2,
        lr_schedule="keras.exponential:decay_steps=10,decay_rate=0.9",
    )
    keras = gradtrace.fit(
        "seed001_line",
        metrics=["root_mean_squared_error", "MeanAbsoluteError"],
        **options,
    )
    ours = gradtrace.fit("seed001_line", metrics=["rmse", "mae"], **options)
    assert keras.info["metrics"] == ["rmse", "mae"]
    named = keras.history(keras_names=True)
    plain = ours.history()
    for theirs, mine in (
        ("root_mean_squared_error", "rmse"),
        ("val_mean_absolute_error", "val_mae"),
        ("learning_rate", "lr"),
    ):
        np.testing.assert_array_equal(named[theirs], plain[mine])
    assert "rmse" not in named and "lr" not in named


def test_a_notebook_animates_a_run_as_the_command_does(tmp_path: Path) -> None:
    """trace.animate writes the GIF gradtrace animate draws (a teacher looked for
    it in a notebook); its errors name Python's arguments."""
    from PIL import Image

    trace = gradtrace.fit("seed001_line", lr=0.05, steps=20)
    path = trace.animate(tmp_path / "fit.gif", every=5, dpi=55)
    with Image.open(path) as image:
        assert image.n_frames == 5 and image.size == (385, 242)
    from gradtrace.animate import DPI  # the command's default, without dpi

    with Image.open(trace.animate(tmp_path / "big.gif", every=10)) as image:
        assert image.size == (round(7 * DPI), round(4.4 * DPI))
    with pytest.raises(gradtrace.InputError, match=r"^out='.*x\.png': write a \.gif"):
        trace.animate(tmp_path / "x.png")
    with pytest.raises(gradtrace.InputError, match="^every must be at least 1"):
        trace.animate(tmp_path / "y.gif", every=0)
    assert not (tmp_path / "y.gif").exists()
