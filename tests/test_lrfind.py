"""The learning-rate range test's reading: a smoothed curve that follows the batch
losses, a suggestion below the lowest point and the blow-up, a lowest point that
is not one lucky batch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace import sweep_plots
from gradtrace.data import generate
from gradtrace.lrfind import lr_find, read
from helpers import run_cli


def line_data() -> pd.DataFrame:
    """As `gradtrace data line --n 100 --w 1 --b 2 --noise 0.15 --seed 0`."""
    return generate("line", 100, w=(1.0,), b=2.0, noise=0.15, seed=0)[0]


def houses() -> dict[str, np.ndarray]:
    """Prices in the 100,000s: the first losses are decades above the rest."""
    rng = np.random.default_rng(1)
    sqft = rng.uniform(500, 3000, 50).round()
    return {"sqft": sqft, "price": (100 * sqft + rng.normal(0, 20000, 50)).round()}


def shown(table: pd.DataFrame, summary: dict[str, object]) -> pd.DataFrame:
    """The steps drawn and smoothed: up to the one that blew up."""
    rows = table.iloc[: int(summary["stopped_at_step"])]  # type: ignore[call-overload]
    return rows[rows["smoothed"].notna()]


def log_gap(rows: pd.DataFrame) -> np.ndarray:
    """The smoothed curve against the losses it read: the loss over all rows
    after each step with mini-batches, the batch loss otherwise."""
    read = rows["loss"] if "loss" in rows else rows["batch_loss"]
    return np.abs(np.log(rows["smoothed"]) - np.log(read))


@pytest.mark.parametrize(
    ("data", "options", "within"),
    [
        (line_data(), {}, 1.5),
        (line_data(), {"batch_size": 10}, 3.0),  # noisy batches
        (houses(), {"x": ["sqft"], "y": "price", "lr_min": 1e-12}, 1.5),
        # the range starts after most of the fall: 100x in two steps
        (houses(), {"x": ["sqft"], "y": "price"}, 3.0),
    ],
)
def test_the_smoothed_curve_follows_the_batch_losses(
    data: object, options: dict[str, object], within: float
) -> None:
    table, summary = lr_find(data, **options)  # type: ignore[arg-type]
    rows = shown(table, summary)
    assert len(rows) >= 10
    gap = log_gap(rows)
    # every point within the factor (the old average of raw losses ran 10-100x
    # above houses' batch losses and half a decade behind line's), most far closer
    assert gap.max() < math.log(within), rows.iloc[int(np.argmax(gap))]
    assert np.median(gap) < math.log(1.3)
    rates = table["lr"].to_numpy()
    stop = int(summary["stopped_at_step"])
    assert (
        summary["suggested_lr"] < summary["min_loss_lr"] < rates[stop - 1]
    )  # below the lowest point, below where it blew up
    assert summary["blew_up"] and stop < len(table)


def test_mini_batches_are_read_by_the_loss_over_all_rows_not_their_noise() -> None:
    """Poisson counts, Adam, batches of 16: a PyTorch user was suggested 6.3e-4,
    the steepest fall of batch-to-batch noise where the parameters had barely
    moved (10 epochs there ended 1.3 above the optimum's loss, at 0.05
    0.0036). The loss over all rows after each step is read instead: its first
    value is the start's (numpy's Poisson NLL), it is flat where Adam's steps
    are too small to matter, and the suggestion lies in its fall."""
    from scipy import special

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=150), rng.normal(size=150)
    y = rng.poisson(np.exp(0.5 + 0.6 * a - 0.4 * b)).astype(float)
    data = {"a": a, "b": b, "y": y}
    found = lr_find(
        data, "poisson-regression", x=["a", "b"], optimizer="torch.adam", batch_size=16
    )
    table, summary = found
    start = float(np.mean(1.0 + special.gammaln(y + 1)))  # rate exp(0) = 1
    assert table["loss"].iloc[0] == pytest.approx(start, rel=1e-5)
    assert summary["read"] == "loss over all rows after each step"
    flat = table.loc[table["lr"] < 1e-4, "loss"]
    assert np.ptp(flat) < 1e-3 * start  # while the batch losses scatter widely
    assert np.ptp(table.loc[table["lr"] < 1e-4, "batch_loss"]) > 0.5 * start
    assert 1e-2 < found.suggested_lr < 0.2
    gaps = []
    for lr in (found.suggested_lr, 6.28e-4):
        run = gradtrace.fit(
            data,
            "poisson-regression",
            x=["a", "b"],
            optimizer="torch.adam",
            batch_size=16,
            epochs=10,
            lr=lr,
        )
        gaps.append(run.final_loss - run.info["optimum_loss"])
    assert gaps[0] < 0.01 < 1.0 < gaps[1]
    ax = found.plot().axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "loss over all rows after each step" in labels
    # the frame is the darker points'; the batch losses it cuts off are counted
    low, high = ax.get_ylim()
    batch = table["batch_loss"].to_numpy(float)[: found.summary["stopped_at_step"]]
    above, below = int((batch > high).sum()), int((batch < low).sum())
    assert above + below > 0  # the batches scatter widely (above)
    said = " and ".join(
        f"{n} {where}" for n, where in ((above, "above"), (below, "below")) if n
    )
    assert labels[0].endswith(f";\n{said} the frame)")


def test_a_large_data_sets_test_reads_a_fixed_sample_of_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond READ_ROWS rows the loss after each step is over a fixed random
    sample of them; a sum scaled to all the rows."""
    from gradtrace import lrfind

    monkeypatch.setattr(lrfind, "READ_ROWS", 40)
    data = line_data()
    for reduction, scale in (("mean", 1.0), ("sum", 100 / 40)):
        table, summary = lr_find(data, batch_size=10, reduction=reduction, steps=20)
        assert summary["read"] == "loss over a random 40 of the rows after each step"
        rows = np.sort(np.random.default_rng(0).choice(100, 40, replace=False))
        y = data["y"].to_numpy()[rows]
        # the first step at lr 1e-7 barely moves the start, w = b = 0
        first = np.sum(y**2) * scale if reduction == "sum" else np.mean(y**2)
        assert table["loss"].iloc[0] == pytest.approx(first, rel=1e-4)
        assert not np.allclose(first, np.mean(data["y"] ** 2))  # not all rows'


def test_the_suggestion_is_where_the_losses_fall_fastest() -> None:
    """On full batches (no noise) the steepest fall of the batch losses themselves,
    against log(rate), is known: the suggestion is within a step of it; the lowest
    point is below the curvature's stable limit (the last dots before the blow-up
    are lower still, only because the loss had not yet had the steps to grow)."""
    table, summary = lr_find(line_data())
    n_rows = len(line_data()["y"])
    # the batch is all the rows: said so, in the legend and on the y axis
    assert summary["read"] == f"loss over all {n_rows} rows, before each step"
    axes = sweep_plots.lr_find(table, summary).axes[0]
    assert axes.get_ylabel().startswith("loss")
    rates = table["lr"].to_numpy()
    loss = table["batch_loss"].to_numpy()
    fall = np.diff(np.log(loss[: summary["stopped_at_step"] - 1]))
    steepest = rates[int(np.argmin(fall))]
    step = rates[1] / rates[0]
    assert steepest / step**1.5 <= summary["suggested_lr"] <= steepest * step**1.5
    assert summary["min_loss_lr"] < summary["stable_lr"] == pytest.approx(0.756, 0.01)
    assert not summary["fell_at_start"] and not summary["still_falling"]


def test_a_lucky_batch_is_not_the_lowest_loss() -> None:
    """A known curve (a fall of 6 in log(loss) centred on step 50, a floor, a
    blow-up from step 80), with noise and one lucky batch on the floor 1000x low."""
    steps = 100
    rates = np.logspace(-7, 1, steps)
    i = np.arange(steps, dtype=float)
    z = -3 * np.tanh((i - 50) / 5) + 0.5 * np.maximum(i - 79, 0) ** 2
    z += np.random.default_rng(0).normal(0, 0.1, steps)
    z[75] -= math.log(1000)
    reading = read(np.exp(z), rates)
    # the fall's steepest point, its floor (within 2% of the fall: tanh > 0.96
    # from step 60) and the blow-up (4x over the floor: 0.5 (i - 79)^2 > log 4)
    assert rates[48] <= reading["suggested_lr"] <= rates[52]
    assert rates[57] <= reading["min_loss_lr"] <= rates[66]
    assert reading["stopped_at_step"] == 82 and reading["blew_up"]
    smoothed = reading["smoothed"]
    assert np.isnan(smoothed[81:]).all() and np.isfinite(smoothed[:81]).all()
    # the lucky batch barely moves the curve
    assert abs(np.log(smoothed[75]) - np.median(z[70:80])) < 0.2


def test_losses_below_zero_are_read_on_their_own_scale() -> None:
    steps = 60
    rates = np.logspace(-4, 1, steps)
    i = np.arange(steps, dtype=float)
    loss = -1.5 * np.tanh((i - 30) / 4) + 0.5  # 2 -> -1
    loss[50:] = 1e3 * (i[50:] - 49)  # blows up
    reading = read(loss, rates)
    assert rates[28] <= reading["suggested_lr"] <= rates[32]
    assert reading["stopped_at_step"] == 51


def test_no_fall_no_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run started at the optimum: the loss only rounds until it blows up."""
    flat = read(np.r_[np.full(50, 14259.0), 1e6, 1e9], np.logspace(-9, -2, 52))
    assert math.isnan(flat["suggested_lr"]) and math.isnan(flat["min_loss_lr"])
    assert flat["stopped_at_step"] == 51
    csv = tmp_path / "h.csv"
    pd.DataFrame(houses()).to_csv(csv, index=False)
    code, out, err = run_cli(
        [
            "lr-find",
            str(csv),
            "--x",
            "sqft",
            "--y",
            "price",
            "-o",
            str(tmp_path / "h.png"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "suggested learning rate: 1e-07" in out
    assert "run again with a smaller --min" in out


def test_adam_lowest_loss_is_not_a_lucky_dot_of_its_oscillation() -> None:
    table, summary = lr_find(line_data(), optimizer="adam")
    loss = table["batch_loss"].to_numpy()
    rates = table["lr"].to_numpy()
    # the raw lowest dot lies after the loss first rose 4x (Adam's oscillation)
    assert rates[int(np.argmin(loss))] > 1
    assert summary["suggested_lr"] < summary["min_loss_lr"] < 1
    assert summary["stopped_at_step"] < len(table)


def test_lr_find_takes_fits_data_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its error about missing values names --drop-missing, which it takes; and
    --dtype and --compute-dtype, as fit does."""
    data = tmp_path / "m.csv"
    data.write_text("x,y\n0,1\n1,3\n2,5\n3,\n4,9\n5,11\n6,13\n")
    picture = ["-o", str(tmp_path / "m.png")]
    code, out, err = run_cli(["lr-find", str(data), *picture], capsys)
    assert code == 2 and "--drop-missing" in err and "Traceback" not in err
    more = ["--drop-missing", "--dtype", "float64", "--compute-dtype", "float64"]
    code, out, err = run_cli(["lr-find", str(data), *picture, *more], capsys)
    picture.append("--force")  # the picture is there now: replaced
    assert code == 0, err
    assert "suggested learning rate" in out
    assert "note: dropped 1 row with missing or infinite values." in err  # as fit
    sweep = ["sweep", str(data), "--drop-missing", "--lr", "0.1,0.2", "--steps", "3"]
    code, out, err = run_cli(
        [*sweep, "--no-plot", "--out", str(tmp_path / "s")], capsys
    )
    assert code == 0 and "note: dropped 1 row with missing" in err
    code, out, err = run_cli(["lr-find", str(data), *picture, "--dtype", "f16"], capsys)
    assert code == 2 and "dtype" in err
    # the run is the one fit would make of the six whole rows, in float64
    table, _ = lr_find(data, drop_missing=True, dtype="float64", shuffle=False)
    x, y = np.array([0, 1, 2, 4, 5, 6.0]), np.array([1, 3, 5, 9, 11, 13.0])
    lr = table["lr"][0]
    w, b = lr * 2 * np.mean(x * y), lr * 2 * np.mean(y)  # one step from 0, 0
    np.testing.assert_allclose(
        table["batch_loss"][:2],
        [np.mean(y**2), np.mean((w * x + b - y) ** 2)],
        rtol=1e-13,  # float64: float32 is off in the eighth digit
    )


@pytest.mark.parametrize("steps", [10, 20])
def test_a_short_test_keeps_its_fall_and_its_blow_up(steps: int) -> None:
    """A short test's fall and rise span a step or two: flat, a fall of two
    decades over the last third, then a rise of 34x at the last step (a median of
    five read it as still falling, and its smoothed floor sat 50x above)."""
    rates = 1e-7 * (1e8 ** (np.arange(steps) / (steps - 1)))
    fall_from = steps - 1 - steps // 3
    losses = np.full(steps, 6.0)
    losses[fall_from:-1] = 6.0 * np.logspace(0, -2.6, steps - 1 - fall_from)
    losses[-1] = losses[-2] * 34
    reading = read(losses, rates)
    assert reading["blew_up"] and not reading["still_falling"]
    assert reading["stopped_at_step"] == steps
    smooth = reading["smoothed"][: steps - 1]
    low = int(np.argmin(losses))
    assert smooth[low] < 3 * losses[low]  # the smoothed floor is the losses'
    assert rates[fall_from - 1] <= reading["suggested_lr"] < reading["min_loss_lr"]


def test_a_loss_not_finite_at_the_first_step_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["lr-find", "seed001_line", "--init", "w=1e30", "-o", str(tmp_path / "x.png")],
        capsys,
    )
    assert code == 0, err
    assert "the loss was not finite at the first step" in out
    assert "Start further from the optimum" not in out


def test_a_small_fall_is_said_to_mean_little(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "line.csv"
    line_data().to_csv(data, index=False)
    picture = ["-o", str(tmp_path / "x.png")]
    code, out, err = run_cli(["lr-find", str(data), *picture], capsys)
    assert code == 0 and "says little" not in out  # from 0, 0: a real fall
    near = ["--init", "w=1", "--init", "b=2"]  # next to the optimum
    code, out, err = run_cli(["lr-find", str(data), *picture, *near], capsys)
    assert code == 2 and "already exists" in err and "--force" in err  # kept
    code, out, err = run_cli(["lr-find", str(data), *picture, *near, "--force"], capsys)
    assert code == 0, err
    table, summary = lr_find(data, init={"w": 1.0, "b": 2.0})
    high, low = summary["fell_from"], summary["fell_to"]
    assert 0 < (high - low) / high < 0.1
    smooth = table["smoothed"].to_numpy()
    assert high == np.nanmax(smooth[: int(np.nanargmin(smooth)) + 1])
    assert f"fell only from {high:.4g} to {low:.4g}" in out and "says little" in out
    # how far it could fall at all: the least-squares optimum's loss, numpy's
    x, y = line_data()["x"].to_numpy(), line_data()["y"].to_numpy()
    design = np.column_stack([x, np.ones_like(x)])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    best = float(np.mean((design @ beta - y) ** 2))
    assert summary["optimum_loss"] == pytest.approx(best, rel=1e-6)
    assert f"and the optimum's loss is {best:.4g}: there is little to fall by" in out


def test_an_exact_zero_loss_keeps_the_log_scale() -> None:
    """Noise-free data fitted exactly reach a loss of 0: read as the same fall to
    the smallest positive loss, not on a linear scale (which moved the suggestion
    by more than a decade)."""
    steps = 100
    rates = 1e-7 * (1e8 ** (np.arange(steps) / (steps - 1)))
    falls = np.concatenate([np.ones(40), np.logspace(0, -12, 40), np.full(20, 1e-12)])
    falls[-3:] = [1.0, 10.0, 100.0]
    zeros = falls.copy()
    zeros[79:97] = 0.0
    a, b = read(falls, rates), read(zeros, rates)
    assert b["log_scale"] and b["suggested_lr"] == a["suggested_lr"]
    assert b["blew_up"] and b["stopped_at_step"] == a["stopped_at_step"]
    below = read(np.concatenate([[-1.0], -np.logspace(0, 2, 99)]), rates)
    assert not below["log_scale"]  # a likelihood's losses below zero: linear


def test_a_fall_cut_short_by_a_low_max_blames_the_range_not_the_start() -> None:
    """From 6.4 to an optimum of 0.022 the loss had far to fall: a range that ends
    at 0.01 sees a small fall that is the range's doing."""
    found = gradtrace.lr_find("seed001_line", lr_max=0.01)
    assert found.summary["still_falling"] and not found.summary["small_fall"]
    assert found.notes == [
        "the loss was still falling at lr_max=0.01: a larger lr_max shows where it "
        "stops"
    ]


def test_a_suggestion_above_the_stable_limit_says_a_run_at_it_diverges() -> None:
    """The range test's rate outgrows 2/L before the loss turns up, so its steepest
    fall can lie above the limit: the note says so, and a run at it diverges."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 200)
    data = {"x": x, "y": 3 * x - 1 + rng.normal(0, 0.5, 200)}
    found = lr_find(data)
    s = found.summary
    assert s["suggested_lr"] > s["stable_lr"]
    said = [n for n in found.notes if "above the curvature's stable limit" in n]
    assert len(said) == 1 and f"such as {s['stable_lr'] / 2:.2g}" in said[0]
    run = gradtrace.fit(data, lr=s["suggested_lr"], steps=200)
    assert run.diverged or run.final_loss > run.to_pandas()["loss"].iloc[0]
    calm = gradtrace.fit(data, lr=s["stable_lr"] / 2, steps=200)
    assert calm.final_loss < calm.to_pandas()["loss"].iloc[0]


def test_one_x_column_is_taken_by_its_name_as_fit_takes_it() -> None:
    """``x="dose"`` was read as the columns d, o, s and e."""
    rng = np.random.default_rng(0)
    dose = rng.normal(size=60)
    frame = pd.DataFrame({"dose": dose, "died": (dose > 0.3).astype(float)})
    named, _ = lr_find(frame, "logistic", x="dose", y="died", steps=20)
    listed, _ = lr_find(frame, "logistic", x=["dose"], y="died", steps=20)
    pd.testing.assert_frame_equal(named, listed)
    assert np.isfinite(named["batch_loss"]).all()


def test_out_may_name_a_folder_and_mini_batches_say_what_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o runs/lrf (a folder, as fit's -o) writes lr_find.png in it, made once
    the test ran; a picture of another kind is refused; a mini-batch test says
    it read the loss over all rows."""
    csv = tmp_path / "line.csv"
    line_data().to_csv(csv, index=False)
    folder = tmp_path / "runs" / "lrf"
    (tmp_path / "runs").mkdir()
    code, out, err = run_cli(
        ["lr-find", str(csv), "--batch-size", "10", "-o", str(folder)], capsys
    )
    assert code == 0, err
    assert (folder / "lr_find.png").is_file()
    assert "steepest fall of the smoothed loss over all rows after each step" in out
    code, _, err = run_cli(["lr-find", str(csv), "-o", str(tmp_path / "x.jpg")], capsys)
    assert code == 2 and "the picture is a PNG" in err
    gone = tmp_path / "nowhere" / "lrf"
    code, _, err = run_cli(["lr-find", str(csv), "-o", str(gone)], capsys)
    assert code == 2 and "does not exist" in err and not gone.exists()


def test_without_out_a_second_test_keeps_the_firsts_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class's second range test (another optimizer) stopped on 'lr_find.png
    already exists': without -o, each takes the first free of lr_find.png,
    lr_find-2.png...; a name given with -o is still refused, and --force
    replaces lr_find.png itself."""
    monkeypatch.chdir(tmp_path)
    base = ["lr-find", "seed001_line", "--steps", "30"]
    for name in ("lr_find.png", "lr_find-2.png", "lr_find-3.png"):
        code, out, err = run_cli(base, capsys)
        assert code == 0, err
        assert out.rstrip().endswith(f"picture: {name}")
    first = (tmp_path / "lr_find.png").read_bytes()
    code, _, err = run_cli([*base, "-o", "lr_find-2.png"], capsys)
    assert code == 2 and "'lr_find-2.png' already exists" in err
    code, out, _ = run_cli([*base, "--optimizer", "adam", "--force"], capsys)
    assert code == 0 and out.rstrip().endswith("picture: lr_find.png")
    assert (tmp_path / "lr_find.png").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lr_find-2.png",
        "lr_find-3.png",
        "lr_find.png",
    ]


def test_the_picture_frames_the_fall_not_the_blow_up() -> None:
    # a blow-up to 4x the lowest loss set the axis before, and squashed a fall
    # from 0.69 to 0.53 into the bottom tenth of the picture
    import matplotlib.pyplot as plt

    from gradtrace.sweep_plots import lr_find as picture

    data = generate("logistic", 2000, w=(1.5,), b=-0.5, seed=0)[0]
    table, summary = lr_find(data, model="logistic", optimizer="sgd", lr_max=1000)
    assert summary["blew_up"]
    rows = shown(table, summary)
    smooth = rows["smoothed"].to_numpy(float)
    lowest = int(np.argmin(smooth))
    start, bottom = float(smooth[: lowest + 1].max()), float(smooth.min())
    climbed = float(smooth.max())
    assert climbed > start + (start - bottom)  # a blow-up past the start
    fig = picture(table, summary)
    low, high = fig.axes[0].get_ylim()
    plt.close(fig)
    assert low <= bottom and start <= high < climbed
    assert high - low <= 2 * (start - bottom)


def test_a_floor_past_the_stable_limit_is_told_and_the_curvatures_rates_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line on x in 0-10: the smoothed loss reaches its floor (not its lowest
    point, said so) at a rate above 2/L, which the notes say; the command names
    the stable limit and the fastest full-batch rate beside the range test's
    rule of thumb."""
    from gradtrace.cli import main

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    path = tmp_path / "line.csv"
    pd.DataFrame({"x": x, "y": 3 * x - 1 + rng.normal(0, 0.5, 200)}).to_csv(
        path, index=False
    )
    found = gradtrace.lr_find(str(path), model="line")
    s = found.summary
    assert s["suggested_lr"] < s["fastest_lr"] < s["stable_lr"] < s["min_loss_lr"]
    assert (
        s["fastest_lr"]
        == gradtrace.diagnose(str(path), lr=0.01).info["diagnosis"]["fastest_lr"]
    )
    assert found.notes == [
        f"the floor of the smoothed loss begins at {s['min_loss_lr']:.3g}, above the "
        f"curvature's stable limit, {s['stable_lr']:.3g}: the test's rate passed the "
        "limit a few steps before the loss had the steps to grow; a run at that rate "
        "diverges"
    ]
    with pytest.raises(SystemExit):
        main(["lr-find", str(path), "-o", str(tmp_path / "f.png")])
    out = capsys.readouterr().out
    assert f"floor of the smoothed loss from lr {s['min_loss_lr']:.3g}" in out
    assert (
        f"stable limit for sgd is {s['stable_lr']:.3g}, and its fastest full-batch "
        f"rate 2/(mu + L) {s['fastest_lr']:.3g}"
    ) in out


def test_rates_the_diagnosis_has_not_are_nan_alike() -> None:
    """An adaptive optimizer has no stable limit nor fastest rate: the summary
    gave stable_lr NaN beside fastest_lr None (a notebook user's finding)."""
    found = gradtrace.lr_find("seed001_line", optimizer="adam")
    assert math.isnan(found.summary["stable_lr"])
    assert math.isnan(found.summary["fastest_lr"])
    plain = gradtrace.lr_find("seed001_line")
    assert 0 < plain.summary["fastest_lr"] < plain.summary["stable_lr"]


def test_each_stable_limit_is_named_as_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Batches of 8 of a small line set a lower limit than 2/L over all its rows:
    the picture's legend and the command named it 2/L (a lecturer saw two
    different "2/L" for the same data). Momentum's is 2(1+m)/L."""
    from gradtrace.cli import main

    rng = np.random.default_rng(2)
    x = rng.uniform(0, 5, 40)
    path = tmp_path / "line.csv"
    pd.DataFrame({"x": x, "y": 1.5 * x - 2 + rng.normal(0, 1, 40)}).to_csv(
        path, index=False
    )
    told = gradtrace.diagnose(str(path), lr=0.001).info["diagnosis"]
    small = gradtrace.lr_find(str(path), batch_size=8)
    s = small.summary
    assert s["stable_lr"] < s["full_batch_lr"] == pytest.approx(told["stable_lr"])
    assert s["stable_name"] == "stable limit of batches of 8"
    fig = small.plot()
    legend = [t.get_text() for box in fig.legends for t in box.get_texts()]
    assert f"stable limit of batches of 8 (curvature): lr {s['stable_lr']:.3g}" in (
        legend
    )
    with pytest.raises(SystemExit):
        main(["lr-find", str(path), "--batch-size", "8", "-o", str(tmp_path / "a.png")])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"the curvature's stable limit for sgd on batches of 8 is {s['stable_lr']:.3g}"
        f", below 2/L over all the rows, {told['stable_lr']:.3g} ("
    ) in out
    assert gradtrace.lr_find(str(path)).summary["stable_name"] == "stable limit 2/L"
    heavy = gradtrace.lr_find(str(path), optimizer="momentum").summary
    assert heavy["stable_name"] == "stable limit 2(1+m)/L"


def test_a_long_range_test_runs_in_chunks_that_a_ctrl_c_stops_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """lr-find --steps 2000000 ran as one compiled call: Ctrl-C waited 560 s for
    it, and 1e8 steps took 1.5 GB and no signal stopped them (a newcomer's find).
    The steps go a chunk a call, the same numbers as in one; an interrupt stops
    the test between chunks; more than MOST_STEPS steps are refused."""
    import gradtrace.lrfind as lrfind

    whole = gradtrace.lr_find("seed001_line", steps=50)
    monkeypatch.setattr(lrfind, "CHUNK_STEPS", 7)
    chunked = gradtrace.lr_find("seed001_line", steps=50)
    np.testing.assert_allclose(
        chunked.table["batch_loss"], whole.table["batch_loss"], rtol=1e-6
    )
    assert chunked.suggested_lr == pytest.approx(whole.suggested_lr, rel=1e-6)
    # a test that blows up to infinity stops computing there: the rest is NaN,
    # as one call's steps after it are
    monkeypatch.setattr(lrfind, "CHUNK_STEPS", 10**6)
    whole = gradtrace.lr_find("seed001_line", steps=50, lr_max=1e12)
    monkeypatch.setattr(lrfind, "CHUNK_STEPS", 7)
    chunked = gradtrace.lr_find("seed001_line", steps=50, lr_max=1e12)
    assert 0 < np.isfinite(whole.table["batch_loss"]).sum() < 50
    for column in ("batch_loss", "smoothed"):
        np.testing.assert_allclose(
            chunked.table[column], whole.table[column], rtol=1e-6, equal_nan=True
        )
    calls = []

    def interrupted() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(lrfind, "stop_if_interrupted", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gradtrace.lr_find("seed001_line", steps=50)
    assert len(calls) == 2  # after the second of eight chunks
    with pytest.raises(gradtrace.InputError, match="more than a range test takes"):
        gradtrace.lr_find("seed001_line", steps=lrfind.MOST_STEPS + 1)
