"""Sweeps: one vectorised run equals separate fits; divergence stays in its row."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.cli import main
from gradtrace.cli.sweep import parse_values
from gradtrace.errors import InputError
from gradtrace.sweeps import sweep

SEED002 = dict(fix={"scale": 1.0}, reduction="sum", shuffle=False)


def test_rows_equal_separate_fits_and_divergence_stays_put() -> None:
    lrs = [1e-6, 1e-5, 1e-4, 3e-4]  # 3e-4 is above the stable limit 2e-4
    starts = [-50.0, 1.0]
    s = sweep(
        "seed002_normal",
        "normal",
        lr=lrs,
        init={"loc": starts},
        steps=300,
        optimizer="sgd",
        keep_every=10,
        **SEED002,
    )  # type: ignore[arg-type]
    assert len(s.table) == 8
    for row in s.table.itertuples(index=False):
        single = gradtrace.fit(
            "seed002_normal",
            "normal",
            lr=row.lr,
            steps=300,
            init={"loc": row.init_loc},
            exact=False,  # the sweep's rows are compared, not the optimum
            **SEED002,
        )  # type: ignore[arg-type]
        assert bool(row.diverged) == single.diverged
        if single.diverged:
            assert row.diverged_step == single.diverged_step
            continue
        assert row.loc == pytest.approx(single.params["loc"], rel=1e-5, abs=1e-7)
        assert row.loss == pytest.approx(single.final_loss, rel=1e-6)
        kept = s.traces[s.traces["config"] == row.config]
        frame = single.to_pandas().set_index("step")
        np.testing.assert_allclose(
            kept["loc"], frame.loc[kept["step"], "loc"], rtol=1e-5, atol=1e-7
        )
        # the loss over all the data at each kept step, step 0 and the last included
        np.testing.assert_allclose(
            kept["loss"], frame.loc[kept["step"], "loss"], rtol=1e-6
        )
    assert s.table["diverged"].sum() == 2
    assert s.best["lr"] == 1e-4


@pytest.mark.parametrize("space", ["constrained", "unconstrained"])
def test_a_distribution_sweep_equals_separate_fits_in_either_space(space: str) -> None:
    y = np.random.default_rng(4).exponential(0.5, 500)
    lrs = [0.5, 5.0, 20.0]  # 20 takes the rate below 0 in one step (constrained)
    s = sweep(
        {"y": y},
        "exponential",
        lr=lrs,
        init={"rate": 5.0},
        steps=40,
        param_space=space,
        keep_every=1,
    )  # type: ignore[arg-type]
    for row in s.table.itertuples(index=False):
        single = gradtrace.fit(
            {"y": y},
            "exponential",
            lr=row.lr,
            steps=40,
            init={"rate": 5.0},
            param_space=space,
            exact=False,
        )
        assert bool(row.diverged) == single.diverged
        if single.diverged:
            assert row.diverged_step == single.diverged_step
            continue
        assert row.rate == pytest.approx(single.params["rate"], rel=1e-5)
    if space == "constrained":
        assert s.table.set_index("lr").loc[20.0, "diverged_step"] == 1


def test_seeds_and_batch_sizes_and_hyper_parameters() -> None:
    s = sweep(
        "seed004_keras",
        "line",
        lr=[0.01, 0.05],
        seed=[0, 1],
        batch_size=[3, 4],
        opt={"rho": [0.8, 0.9]},
        optimizer="keras.rmsprop",
        epochs=3,
        init={"w": 0.5},
    )
    assert len(s.table) == 16
    row = s.table[
        (s.table["batch_size"] == 4)
        & (s.table["seed"] == 1)
        & (s.table["lr"] == 0.05)
        & (s.table["rho"] == 0.8)
    ].iloc[0]
    single = gradtrace.fit(
        "seed004_keras",
        "line",
        lr=0.05,
        seed=1,
        batch_size=4,
        opt={"rho": 0.8},
        optimizer="keras.rmsprop",
        epochs=3,
        init={"w": 0.5},
        exact=False,
    )
    assert row["w"] == pytest.approx(single.params["w"], rel=1e-5)
    assert row["b"] == pytest.approx(single.params["b"], rel=1e-5)


def test_momentum_values_compile_separately_and_agree() -> None:
    s = sweep(
        "seed001_line",
        "line",
        lr=[0.1],
        opt={"momentum": [0.0, 0.9]},
        optimizer="torch.sgd",
        epochs=5,
        batch_size=[32],
        shuffle=False,
    )
    for momentum in (0.0, 0.9):
        row = s.table[s.table["momentum"] == momentum].iloc[0]
        single = gradtrace.fit(
            "seed001_line",
            lr=0.1,
            opt={"momentum": momentum},
            optimizer="torch.sgd",
            epochs=5,
            batch_size=32,
            shuffle=False,
            exact=False,
        )
        assert row["w"] == pytest.approx(single.params["w"], rel=1e-5)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1e-3:1e-1:log3", [1e-3, 1e-2, 1e-1]),
        ("0:1:3", [0.0, 0.5, 1.0]),
        ("2:4", [2, 3, 4]),
        ("1,2.5", [1.0, 2.5]),
        ("7", [7.0]),
    ],
)
def test_ranges(text: str, values: list[float]) -> None:
    np.testing.assert_allclose(parse_values("--lr", text), values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a:b", "--lr 'a:b' is not a range or list: write 1e-7:1e-3:log20"),
        ("1:2:3:4", "is not a range or list"),
        ("", "is not a range or list"),
        ("0:1:log3", "--lr 0:1:log3: a log range must start above 0"),
        ("1:-1:log3", "--lr 1:-1:log3: a log range must end above 0"),
        ("5:2", "--lr 5:2: the end is before the start; write 2:5."),
        ("0:1:0", "--lr 0:1:0: 0 values is none; give a count of at least 2"),
        ("0.1:inf:1", "--lr 0.1:inf:1: its ends must be finite"),
        ("0:1:100000000", "makes 100000000 values: at most a million"),
        ("0:1:log0", "--lr 0:1:log0: a log range must start above 0"),
        ("1e400:1e401:log3", "--lr 1e400:1e401:log3: its ends must be finite"),
        ("0.1,inf", "--lr 0.1,inf: its values must be finite numbers"),
        # one value of two ends: the start alone, in silence before
        ("0.01:0.1:log1", "--lr 0.01:0.1:log1: a count of 1 gives the start alone"),
        # a teacher's: 0.1,,0.2 swept two in silence, 0.1,0.1,0.3 drew two cells
        ("0.1,,0.2", "--lr 0.1,,0.2: an empty item in the list; write"),
        ("0.1,", "--lr 0.1,: an empty item in the list"),
        ("0.1,0.1,0.3", "--lr 0.1,0.1,0.3 lists 0.1 more than once: give each"),
        ("0.5:0.5:3", "--lr 0.5:0.5:3: its ends are equal, so its 3 values are all"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_values("--lr", text)
    assert message in str(err.value)
    assert parse_values("--lr", "0.5:0.5:1") == [0.5]  # one value, said twice


def test_a_value_given_twice_to_a_sweep_in_python_is_refused() -> None:
    data = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    with pytest.raises(InputError, match="lr gives 0.1 more than once: give each"):
        gradtrace.sweep(data, lr=[0.1, 0.2, 0.1], steps=5)
    with pytest.raises(InputError, match="seed gives 3 more than once"):
        gradtrace.sweep(data, lr=0.1, seed=[3, 3], batch_size=2, steps=5)
    # a vector's start of equal elements is one start, not a value twice
    frame = {"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]}
    frame["y"] = [1.0, 2.0, 4.0, 5.0]
    with pytest.raises(InputError, match=r"give \[\[0, 0\]\]"):
        gradtrace.sweep(frame, "linear", x=["a", "b"], init={"w": [0.0, 0.0]}, steps=2)
    assert parse_values("--init w", "0,0") == [0.0, 0.0]  # the vector's check's
    # a long list is checked at once (a count of each value, not a search)
    assert len(parse_values("--seed", "0:99999", integer=True)) == 100000


def test_a_third_number_in_a_range_of_whole_numbers_is_told_a_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--seed 0:9:2 read as a count gave the two seeds 0 and 9 in silence (a
    researcher meant a step of 2): the values are said; a count that gives
    fractions is refused as a count, not a step."""
    assert parse_values("--seed", "0:9:2", integer=True) == [0, 9]
    assert (
        "note: --seed 0:9:2 is 2 evenly spaced values: 0,9 (a third number is a "
        in (capsys.readouterr().err)
    )
    assert parse_values("--batch-size", "16:128:8", integer=True) == list(
        range(16, 129, 16)
    )
    capsys.readouterr()
    with pytest.raises(InputError) as err:
        parse_values("--seed", "0:1:3", integer=True)
    assert "a third number is a count of evenly spaced values, not a step" in str(
        err.value
    )
    assert parse_values("--seed", "0:3", integer=True) == [0, 1, 2, 3]
    assert "note" not in capsys.readouterr().err


def test_a_sweep_names_its_data_as_a_run_does(tmp_path: Path) -> None:
    """sweep.json's data source: the file as given, not quoted for a message."""
    data = tmp_path / "line.csv"
    pd.DataFrame({"x": [0.0, 1, 2, 3], "y": [1.0, 3, 5, 7]}).to_csv(data, index=False)
    folder = sweep(str(data), lr=[0.1], steps=2).save(tmp_path / "s")
    info = json.loads((folder / "sweep.json").read_text())
    assert info["data"]["source"] == str(data)
    single = gradtrace.fit(str(data), lr=0.1, steps=2, exact=False)
    assert info["data"]["source"] == single.info["data"]["source"]
    frame = sweep(pd.read_csv(data), lr=[0.1], steps=2)
    assert frame.info["data"]["source"] == "python data"


def test_sweep_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(
            [
                "sweep",
                "seed002_normal",
                "--model",
                "normal",
                "--reduction",
                "sum",
                "--fix",
                "scale=1",
                "--steps",
                "2000",
                "--lr",
                "1e-7:1e-3:log9",
                "--init",
                "loc=-5000,0,1",
                "--no-shuffle",
                "--out",
                str(tmp_path / "s"),
            ]
        )
    out, err = capsys.readouterr()
    assert done.value.code in (0, None), err
    assert "27 configurations" in out and "best: lr=" in out
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert len(table) == 27
    assert {
        "lr",
        "init_loc",
        "loc",
        "loss",
        "gap",
        "steps_to_tol",
        "diverged",
        "diverged_step",
    } <= set(table.columns)
    traces = pd.read_parquet(tmp_path / "s" / "traces.parquet")
    assert traces.groupby("config").size().max() <= 101 + 1
    assert (tmp_path / "s" / "heatmap.png").stat().st_size > 10_000
    assert (tmp_path / "s" / "losses.png").stat().st_size > 10_000
    diverged = table[table["diverged"]]
    assert len(diverged) and (diverged["lr"] > 2e-4).all()


def test_lr_find_brackets_the_working_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradtrace.lrfind import lr_find

    table, summary = lr_find(
        "seed001_line", lr_min=1e-4, lr_max=10, steps=100, batch_size=10
    )
    rates = table["lr"].to_numpy()
    np.testing.assert_allclose(rates[[0, -1]], [1e-4, 10])
    assert np.allclose(np.diff(np.log(rates)), np.log(1e5) / 99)  # exponential
    # the suggestion is a rate that trains, below the curvature's stable limit
    assert 1e-3 < summary["suggested_lr"] < summary["stable_lr"]
    # batches of 10: their own limit, a little below the full data's 2/L, 0.78
    assert summary["stable_lr"] == pytest.approx(0.767, abs=0.01)
    assert 20 < summary["stopped_at_step"] < 100  # stopped once the loss blew up
    fit = gradtrace.fit(
        "seed001_line",
        lr=summary["suggested_lr"],
        epochs=20,
        batch_size=10,
        exact=False,
    )
    assert fit.final_loss < 0.1 * fit.to_pandas()["loss"][0]
    with pytest.raises(SystemExit) as done:
        main(
            [
                "lr-find",
                "seed001_line",
                "--min",
                "1e-4",
                "--max",
                "10",
                "--batch-size",
                "10",
                "-o",
                str(tmp_path / "f.png"),
            ]
        )
    out, _ = capsys.readouterr()
    assert done.value.code in (0, None)
    assert "suggested learning rate" in out and "stable limit" in out
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_the_heatmap_shows_the_final_gap_where_no_cell_reached_tolerance() -> None:
    from gradtrace import sweep_plots

    def colour_label(s: object) -> str:
        fig = sweep_plots.sweep_heatmap(s)  # type: ignore[arg-type]
        return str(fig.axes[-1].get_ylabel())

    short = sweep("seed004_keras", "line", lr=[0.001, 0.01], steps=3, init={"w": 0.5})
    assert short.table["steps_to_tol"].isna().all()
    assert colour_label(short) == "settled loss − optimum's loss"
    x = np.linspace(-1, 1, 50)
    data = {"x": x, "y": 2 * x + 1}
    long = sweep(data, "line", lr=[0.1, 0.3], steps=500, dtype="float64")
    assert long.table["steps_to_tol"].notna().any()
    assert colour_label(long) == "steps to stay within tol"
    # counts of steps labelled as numbers (275), not 2.75×10²
    fig = sweep_plots.sweep_heatmap(long)
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[-1].get_yticklabels() if t.get_text()]
    assert ticks and all(t.replace(".", "").isdigit() for t in ticks), ticks


def test_where_few_cells_came_within_tol_the_heatmap_colours_the_gap_left() -> None:
    """Three of fifteen cells within tol: the colour is every cell's settled loss
    above the optimum's (how the rate matters, where grey would hide it), and
    the three that came within it carry their steps, written in them."""
    from gradtrace import sweep_plots

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    data = {"x": x, "y": 3 * x - 1 + rng.normal(0, 0.5, 200)}
    rates = [1e-4, 1e-3, 3e-3, 1e-2, 1.6e-2]
    found = sweep(data, "line", lr=rates, steps=2000, init={"w": [-5, 0, 5]})
    reached = found.table["steps_to_tol"].notna()
    assert 0 < reached.sum() < len(reached) / 2
    fig = sweep_plots.sweep_heatmap(found)
    ax = fig.axes[0]
    assert fig.axes[-1].get_ylabel().startswith("settled loss − optimum's loss")
    assert f"{reached.sum()} of 15 cells came within 0.0001" in ax.get_title()
    written = sorted(int(t.get_text()) for t in ax.texts)
    assert written == sorted(found.table.loc[reached, "steps_to_tol"].astype(int))


def test_a_heatmap_legend_too_wide_for_a_row_goes_one_under_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never-within, diverged and rose together: their labels (115 characters
    here) would run past the figure's right edge in one row."""
    from gradtrace import sweep_plots
    from helpers import run_cli

    path = str(tmp_path / "line.csv")
    args = ["data", "line", "--n", "100", "--noise", "0.15", "--seed", "0", "-o", path]
    assert run_cli([*args, "--w", "1", "--b", "2"], capsys)[0] == 0
    rates = [0.01, 0.4715, 0.7632, 2.0]
    found = sweep(path, lr=rates, epochs=300, init={"w": [0, 5]})
    assert found.table["diverged"].any() and found.table["ended_above_start"].any()
    fig = sweep_plots.sweep_heatmap(found)
    fig.canvas.draw()
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 3 and legend._ncols == 1  # noqa: SLF001
    box = legend.get_window_extent()
    assert box.x1 <= fig.bbox.x1  # within the picture


def test_a_sweep_replaces_only_gradtrace_folders(tmp_path: Path) -> None:
    result = sweep("seed001_line", lr=[0.01, 0.1], steps=5)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(gradtrace.RunFolderError, match="not a gradtrace run or"):
        result.save(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    result.save(tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("mine")
    result.save(tmp_path / "s", force=True)  # its own: replaced, notes kept
    assert (tmp_path / "s" / "sweep.json").is_file()
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"


def test_pictures_of_a_sweep_over_batch_sizes_run_over_epochs() -> None:
    from gradtrace import sweep_plots

    x = np.linspace(-1, 1, 40)
    data = {"x": x, "y": 2 * x + 1}
    s = sweep(
        data, "line", lr=[0.01, 0.1], batch_size=[4, 10, 40], seed=[0, 1], epochs=3
    )
    per_config = s.traces.groupby("config")["step"].max()
    assert sorted(per_config.unique()) == [3, 12, 30]  # 3 epochs of 1, 4, 10 steps
    assert s.info["n_steps"] == 30 and s.info["n_steps_by_batch_size"] == {
        "4": 30,
        "10": 12,
        "40": 3,
    }
    # each size keeps its own steps: a long one is thinned, a short one is not
    many = sweep(data, "line", lr=[0.01], batch_size=[1, 40], epochs=5)
    assert many.info["keep_every_by_batch_size"] == {"1": 2, "40": 1}
    kept = many.traces.groupby("config")["step"].apply(list)
    assert kept[0] == list(range(0, 201, 2))
    assert kept[1] == [0, 1, 2, 3, 4, 5]
    assert many.info["keep_every"] is None
    fig = sweep_plots.sweep_losses(s)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch (batch sizes differ)"
    lines = [seg for coll in ax.collections for seg in coll.get_segments()]
    assert len(lines) == 12 and all(seg[-1, 0] == 3 for seg in lines)
    ys = np.concatenate([seg[:, 1] for seg in lines])
    low, high = ax.get_ylim()  # the curves' own range, not the clipping's
    assert low == pytest.approx(ys.min() / 2) and ys.max() <= high <= 20 * ys.max()
    title = sweep_plots.sweep_heatmap(s).axes[0].get_title()
    assert (
        "(3-30 steps run; each cell the median of 2 configurations, over seed)" in title
    )
    one = sweep(data, "line", lr=[0.01, 0.1], epochs=3, batch_size=10)
    assert sweep_plots.sweep_losses(one).axes[0].get_xlabel() == "step"
    assert sweep_plots.sweep_heatmap(one).axes[0].get_title().endswith("(12 steps run)")


def test_a_few_rates_curves_are_named_where_they_end() -> None:
    # neighbouring colours of the bar (1.33 and 3) looked alike: each curve's
    # rate is written where it ends, in its colour, and no two names overlap
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from gradtrace import sweep_plots

    rates = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032]
    s = sweep("seed001_line", lr=rates, steps=40)
    fig = sweep_plots.sweep_losses(s)
    ax = fig.axes[0]
    names = {t.get_text(): t for t in ax.texts}
    assert sorted(names) == sorted(f"lr {r:g}" for r in rates)
    lines = {
        round(float(lr), 6): seg
        for coll in ax.collections
        for seg, lr in zip(coll.get_segments(), coll.get_array(), strict=True)
    }
    fig.canvas.draw()
    boxes = []
    for r in rates:
        text = names[f"lr {r:g}"]
        colour = lines[round(r, 6)]
        coll = next(c for c in ax.collections if len(c.get_segments()))
        assert to_rgba(text.get_color()) == to_rgba(coll.cmap(coll.norm(r)))
        assert text.xy[0] == pytest.approx(1 / (1 + sweep_plots.END_ROOM), abs=0.01)
        assert colour[-1, 0] == 40
        boxes.append(text.get_window_extent())
    boxes.sort(key=lambda b: b.y0)
    assert all(a.y1 <= b.y0 + 1 for a, b in itertools.pairwise(boxes))  # apart
    plt.close(fig)
    # several curves a rate (seeds): the bar alone, no names
    seeds = sweep("seed001_line", lr=rates[:2], seed=[0, 1], batch_size=2, steps=8)
    assert not sweep_plots.sweep_losses(seeds).axes[0].texts


def test_pictures_of_a_sweep_of_a_vector_parameter() -> None:
    from gradtrace import sweep_plots

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    data = {"a": x[:, 0], "c": x[:, 1], "y": x @ [1.0, -2.0] + 0.5}
    s = sweep(data, "linear", x=["a", "c"], lr=[0.01, 30.0], seed=[0, 1], batch_size=20)
    assert s.table["diverged"].any() and not s.table["diverged"].all()
    assert sweep_plots.sweep_heatmap(s).axes[0].get_ylabel() == "seed"
    ax = sweep_plots.sweep_losses(s).axes[0]
    assert ax.get_title() == "4 configurations (2 diverged, dashed; ▲ off the chart)"
    calm = sweep(data, "linear", x=["a", "c"], lr=[0.01, 0.02], batch_size=20)
    title = sweep_plots.sweep_losses(calm).axes[0].get_title()
    assert title == "2 configurations (none diverged)"


def test_the_sweep_command_names_the_best_of_a_vector_parameter_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model with a vector parameter (its final values are lists in the table):
    the best line is printed and the command succeeds."""
    with pytest.raises(SystemExit) as done:
        main(
            [
                "sweep",
                "seed003_linear",
                "--model",
                "linear",
                "--lr",
                "0.01,0.1",
                "--no-plot",
                "--out",
                str(tmp_path / "s"),
            ]
        )
    out, err = capsys.readouterr()
    assert done.value.code in (0, None), err
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    best = table.sort_values("tail_loss").iloc[0]
    assert f"best: lr={best['lr']:.4g}:" in out


def test_the_best_settings_over_seeds_and_starts_are_judged_by_their_median() -> None:
    """A researcher's best was one lucky seed and start: the settings are also
    ranked by the median of where their repeats settled, a diverged one
    counted as infinitely bad."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 5, 200)
    data = {"x": x, "y": 3 * x + 2 + rng.normal(0, 1, 200)}
    s = sweep(
        data,
        lr=[0.001, 0.05, 0.3],
        seed=[0, 1, 2],
        init={"w": [0.0, 5.0]},
        batch_size=20,
        epochs=3,
    )
    found = s.best_over_repeats
    assert found is not None
    table = s.table.assign(settled=s.settled)
    table.loc[table["diverged"], "settled"] = np.inf
    medians = table.groupby("lr")["settled"].median()
    assert found["lr"] == medians.idxmin()
    assert found["median_settled"] == pytest.approx(medians.min())
    assert found["runs"] == 6
    assert found["diverged"] == int(table[table["lr"] == found["lr"]]["diverged"].sum())
    said = s.best_over_repeats_text()
    assert said is not None and said.startswith(
        f"best settings over their 6 runs (3 seeds x 2 starts; the median of where "
        f"each settled): "
        f"lr={found['lr']:.4g}, median {found['median_settled']:.7g}"
    )
    # the repr and the notebook's view say it beside the best run, a lucky seed's
    # (they gave that alone)
    assert repr(s).splitlines()[1] == f"  {said}"
    assert said.partition(": ")[2] in s._repr_html_()
    # nothing repeated, or nothing but repeats: no such judgment
    assert sweep(data, lr=[0.01, 0.05], steps=5).best_over_repeats is None
    assert (
        sweep(data, lr=0.01, seed=[0, 1], batch_size=20, steps=5).best_over_repeats
        is None
    )


def test_settings_whose_repeats_all_settle_alike_are_judged_by_steps_to_tol() -> None:
    """Seed 002's sweep, 20 rates x 3 starts: every rate that converged settled
    on the same float32 loss, and the median picked the slowest rate, 1e-7,
    whose far start never arrived. Where repeats come within tol, the settings
    with the fewest that did not win, then the fewest median steps."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 100)
    data = {"x": x, "y": 2 * x + 1 + rng.normal(0, 0.1, 100)}
    s = sweep(
        data,
        lr=[0.01, 0.1, 0.5, 1.5],
        init={"w": [0.0, 10.0], "b": 0.0},
        steps=300,
        tol=1e-3,
    )
    table = s.table
    found = s.best_over_repeats
    assert found is not None
    # 0.01 is too slow from w=10 (never within 1e-3) though both settle alike
    slow = table[table["lr"] == 0.01]
    assert slow["steps_to_tol"].isna().sum() >= 1
    ok = table[~table["diverged"]].groupby("lr")
    everyone = ok["steps_to_tol"].apply(lambda v: v.notna().all())
    medians = ok["steps_to_tol"].median()[everyone]
    assert found["lr"] == medians.idxmin() != 0.01
    assert found["reached"] == found["runs"] == 2
    assert found["median_steps_to_tol"] == medians.min()
    said = s.best_over_repeats_text()
    assert said == (
        "best settings over their 2 runs (2 starts; the most within 0.001 of the "
        f"optimum, then their median steps): lr={found['lr']:.4g}, both within it "
        f"after a median of {int(medians.min())} steps, none diverged"
    )


def test_a_sweep_folder_is_made_with_the_users_umask(tmp_path: Path) -> None:
    """A research engineer's team could not read each other's sweeps: their
    folders were private (mkdtemp's 0700) where run folders follow the umask."""
    import os

    old = os.umask(0o022)
    try:
        folder = sweep("seed001_line", lr=[0.1], steps=2).save(tmp_path / "s")
        gradtrace.fit("seed001_line", steps=2, out=tmp_path / "r")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "r").stat().st_mode & 0o777 == 0o755


def test_a_tolerance_finer_than_the_data_tell_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a newcomer's Poisson sweep: --tol 1e-4 was a fiftieth of the smallest
    # standard error, and no mini-batch configuration ever stayed within it
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    y = rng.poisson(np.exp(x @ [0.3, -0.7] + 0.5))
    data = {"a": x[:, 0], "c": x[:, 1], "y": y}
    common = dict(x=["a", "c"], optimizer="adam", batch_size=64, epochs=2)
    s = sweep(data, "poisson-regression", lr=[0.003, 0.01], **common)
    assert s.table["steps_to_tol"].isna().all()
    fit = gradtrace.fit(data, "poisson-regression", lr=0.01, **common)
    for k, v in fit.info["stderr"].items():
        np.testing.assert_allclose(s.info["stderr"][k], v, rtol=1e-5)
    errors = np.concatenate([np.ravel(v) for v in fit.info["stderr"].values()])
    said = s.tol_note()
    assert said is not None and said.startswith(
        "note: no configuration stayed within --tol 0.0001 of the optimum, a "
        f"tolerance {errors.min() / 1e-4:.2g} times finer than its smallest"
    )
    assert f"--tol {0.1 * errors.min():.2g}, a tenth of the smallest" in said
    # the notebook's view says it too, as the repr does (it was left out)
    assert "no configuration stayed within tol=0.0001" in s._repr_html_()
    assert "no configuration stayed within tol=0.0001" in repr(s)
    # a tolerance a configuration met, or one coarse enough: nothing to say
    met = sweep("seed001_line", lr=[0.1, 0.5], steps=200)
    assert met.table["steps_to_tol"].notna().any() and met.tol_note() is None
    coarse = sweep(data, "poisson-regression", lr=[0.003], tol=0.01, **common)
    assert coarse.tol_note() is None


def test_a_heatmaps_gaps_of_zero_sit_at_the_rounding_band() -> None:
    """A JAX user's sweep of 100 rates: gaps of 0 (at float rounding) were drawn at
    1e-300, the colour bar ran down to it, and the steps written in 100 columns
    ran together."""
    from gradtrace import sweep_plots

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 60)
    data = {"x": x, "y": 2 * x + 1 + rng.normal(0, 0.3, 60)}
    found = sweep(
        data,
        "line",
        lr=list(np.logspace(-3, 0, 100)),
        init={"w": [-2.0, 0.0, 2.0]},
        steps=500,
        shuffle=False,
    )
    assert (found.table["gap"] == 0).any()
    fig = sweep_plots.sweep_heatmap(found)
    bar = fig.axes[-1]
    low, high = bar.get_ylim()
    assert 1e-9 < min(low, high) < 1e-6  # float32's rounding of a loss near 0.08
    assert "(0 at float rounding drawn at" in bar.get_ylabel()
    ax = fig.axes[0]
    assert not ax.texts and "their steps in them" not in ax.get_title()


def test_seeds_that_change_nothing_are_noted() -> None:
    """Seeds swept beside a full batch (or with shuffling off) repeat one run:
    the summary counted them as three repeats all within tol, which overstated
    how repeatable the settings were."""
    s = sweep(
        "seed001_line", lr=[0.01, 0.1], batch_size=[16, 100], seed=[0, 1, 2], epochs=3
    )
    assert s.info["notices"] == [
        "the 3 seeds change nothing for batches of every row (batch size 100): those "
        "configurations run alike whatever their seed, and their repeats are one run"
    ]
    full = s.table[s.table["batch_size"] == 100]
    assert full.groupby("lr")["loss"].nunique().eq(1).all()
    # the plan's notice of its first seed alone is not said beside it
    only = sweep("seed001_line", lr=[0.1], seed=[1, 2], steps=3)
    assert [n for n in only.info["notices"] if "seed" in n] == [
        "the 2 seeds change nothing for batches of every row (batch size 100): "
        "those configurations run alike whatever their seed, and their repeats "
        "are one run"
    ]
    still = sweep(
        "seed001_line", lr=[0.1], batch_size=8, seed=[0, 1], epochs=2, shuffle=False
    )
    assert "with shuffling off" in still.info["notices"][0]
    assert (
        sweep("seed001_line", lr=[0.1], batch_size=8, seed=[0, 1], epochs=2).info[
            "notices"
        ]
        == []
    )
