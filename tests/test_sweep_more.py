"""A sweep's folder checked before it runs and written whole or not at all, and its
traces carrying the swept values."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace import sweeps
from gradtrace.sweeps import sweep
from helpers import run_cli

SMALL = ["sweep", "seed001_line", "--lr", "0.01,0.1", "--steps", "5", "--no-plot"]


def _refusing(monkeypatch: pytest.MonkeyPatch, below: Path) -> None:
    """Folders made in ``below`` refused as /sys refuses them, even to root, whom
    ``os.access`` tells it may write there."""
    make = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).parent == below:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        make(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)


def test_an_out_that_cannot_be_written_is_refused_before_the_sweep_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ro").mkdir()
    _refusing(monkeypatch, tmp_path / "ro")

    def trained(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the sweep ran")

    monkeypatch.setattr(sweeps, "sweep", trained)
    code, out, err = run_cli([*SMALL, "--out", str(tmp_path / "ro" / "s")], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"error: cannot write the sweep folder {str(tmp_path / 'ro' / 's')!r} "
        "(Operation not permitted): choose a writable --out.\n"
    )
    assert list((tmp_path / "ro").iterdir()) == []


@pytest.fixture(scope="module")
def one_rate() -> sweeps.Sweep:
    """A sweep of one rate, run once for the tests that save it where it may not
    go (a sweep compiles its program anew each time)."""
    return sweep("seed001_line", lr=[0.01], steps=5)


def test_a_failed_write_after_the_sweep_is_one_line_and_leaves_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    one_rate: sweeps.Sweep,
) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code, out, err = run_cli([*SMALL, "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.endswith(  # after the log's line of progress
        f"\nerror: cannot write the sweep folder {str(tmp_path / 's')!r} "
        "(No space left on device): choose a writable --out.\n"
    )
    assert err.count("error:") == 1
    assert list(tmp_path.iterdir()) == []  # no folder, no hidden temporary one
    # and from Python, in Python's words
    with pytest.raises(gradtrace.RunFolderError) as caught:
        one_rate.save(tmp_path / "s")
    assert str(caught.value) == (
        f"cannot write the sweep folder {str(tmp_path / 's')!r} "
        "(No space left on device): choose a writable folder."
    )
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_called_a_sweep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], one_rate: sweeps.Sweep
) -> None:
    folder = tmp_path / "s"
    assert run_cli([*SMALL, "--out", str(folder)], capsys)[0] == 0
    code, out, err = run_cli([*SMALL, "--out", str(folder)], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"error: sweep folder {str(folder)!r} already exists: choose another "
        "--out, or pass --force to replace it.\n"
    )
    with pytest.raises(gradtrace.RunFolderError) as caught:
        one_rate.save(folder)
    assert str(caught.value) == (
        f"sweep folder {str(folder)!r} already exists: choose another folder, or "
        "pass force=True to replace it."
    )


def test_the_traces_carry_the_swept_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = sweep(
        "seed001_line",
        lr=[0.01, 0.1],
        batch_size=[5, 10],
        init={"w": [0.0, 1.0]},
        steps=20,
    )
    traces = s.traces
    assert list(traces.columns) == [
        "config",
        "lr",
        "batch_size",
        "init_w",
        "step",
        "w",
        "b",
        "loss",
    ]
    assert sorted(traces.groupby("lr").groups) == [0.01, 0.1]
    # each step's values are its configuration's
    merged = traces.merge(s.table, on="config", suffixes=("", "_table"))
    for column in ("lr", "batch_size", "init_w"):
        assert (merged[column] == merged[f"{column}_table"]).all()
    # the learning rate even where it is all that was swept, or not swept at all
    one = sweep("seed001_line", steps=5)
    assert list(one.traces.columns) == ["config", "lr", "step", "w", "b", "loss"]
    # and the command's traces.parquet holds them too
    args = [*SMALL, "--batch-size", "5,10", "--out", str(tmp_path / "s")]
    assert run_cli(args, capsys)[0] == 0
    saved = pd.read_parquet(tmp_path / "s" / "traces.parquet")
    assert {"lr", "batch_size"} <= set(saved.columns)
    assert "seed" not in saved  # not swept


def test_a_sweep_refuses_what_it_would_ignore_or_misread(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An element's start (init w[1]) and PyTorch's betas pair are refused in one
    line; before, the element was ignored (every configuration started at 0) and
    betas split into a first number alone."""
    import gradtrace

    cols = {"a": [0.0, 1, 2, 3, 4], "b": [1.0, 0, 1, 0, 2], "y": [1.0, 2, 4, 5, 8]}
    with pytest.raises(
        gradtrace.InputError, match=r"^init\['w\[1\]'\]: a sweep starts"
    ):
        sweep(cols, "linear", lr=[0.1], steps=3, init={"w[1]": [3.0, 4.0]})
    with pytest.raises(gradtrace.InputError, match="takes an Adam's two averages"):
        sweep(
            cols,
            "linear",
            optimizer="adam",
            lr=[0.1],
            steps=3,
            opt={"betas": (0.8, 0.9)},
        )
    code, _, err = run_cli(
        [*SMALL, "--optimizer", "adam", "--opt", "betas=0.8,0.99"], capsys
    )
    assert code == 2 and err.startswith("error: --opt betas: a sweep takes")


def test_show_says_each_batch_sizes_own_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Batch sizes 10 and 100 of 100 rows over 3 epochs ran 30 and 3 steps: show
    said '30 steps each'; ls gives the fewest..most."""
    out = tmp_path / "s"
    code, _, err = run_cli(
        [
            "sweep",
            "seed001_line",
            "--lr",
            "0.1",
            "--batch-size",
            "10,100",
            "--epochs",
            "3",
            "--no-plot",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    code, said, _ = run_cli(["show", str(out)], capsys)
    first = said.splitlines()[0]
    assert code == 0 and first.endswith(", 30 steps at batch size 10, 3 at 100")
    assert "steps each" not in first
    code, listed, _ = run_cli(["ls", str(tmp_path)], capsys)
    assert code == 0 and " 3..30 " in listed
    code, _, _ = run_cli([*SMALL, "--out", str(tmp_path / "one")], capsys)
    code, said, _ = run_cli(["show", str(tmp_path / "one")], capsys)
    assert said.splitlines()[0].endswith(", 5 steps each")


def test_a_sweep_takes_one_optimizer_and_says_how_to_compare_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        [*SMALL, "--optimizer", "sgd,keras.adam", "--out", str(tmp_path / "s")], capsys
    )
    assert code == 2 and err == (
        "error: a sweep takes one optimizer, got 'sgd,keras.adam': to compare "
        "optimizers, run one sweep per optimizer (--optimizer sgd, then --optimizer "
        "keras.adam, each with its own --out) and compare their best configurations "
        "(gradtrace show FOLDER).\n"
    )
    assert not (tmp_path / "s").exists()
    with pytest.raises(gradtrace.InputError) as said:
        sweep("seed001_line", lr=[0.1], steps=3, optimizer=["sgd", "adam"])
    assert "call gradtrace.sweep once per optimizer (optimizer='sgd', then " in str(
        said.value
    )


def test_steps_to_tol_counts_from_where_a_run_stays_within_it() -> None:
    """Mini-batch steps pass within tol and out again; steps_to_tol is the step
    from which every parameter stays within it, read here off single runs' whole
    traces (a fit of each configuration): <NA> for one that ended outside."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, 100)
    data = {"x": x, "y": x + 2 + rng.normal(0, 0.15, 100)}
    rates, tol = [0.02, 0.1, 0.4], 0.01
    found = gradtrace.sweep(data, lr=rates, batch_size=16, epochs=30, seed=1, tol=tol)
    passed_early = []
    for lr, steps in zip(rates, found.table["steps_to_tol"], strict=True):
        run = gradtrace.fit(data, lr=lr, batch_size=16, epochs=30, seed=1)
        frame, best = run.to_pandas(), run.info["optimum"]
        gap = np.maximum(abs(frame["w"] - best["w"]), abs(frame["b"] - best["b"]))
        outside = np.flatnonzero(gap.to_numpy() >= tol)
        inside = np.flatnonzero(gap.to_numpy() < tol)
        passed_early.append(len(inside) > 0 and (pd.isna(steps) or inside[0] < steps))
        if outside[-1] == len(frame) - 1:
            assert pd.isna(steps), lr
        else:
            assert steps == outside[-1] + 1, lr
            assert (gap[:steps] >= tol).any() and (gap[steps:] < tol).all()
    # at least one passed within tol before it stayed (or never stayed): the
    # first step within, as counted before, would differ there
    assert any(passed_early)


def _three_columns() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 1 + rng.normal(0, 0.3, 300)
    return {"a": x[:, 0], "b2": x[:, 1], "c": x[:, 2], "y": y}


def test_a_sweep_starts_a_vector_parameter_at_each_of_its_starts() -> None:
    """A vector parameter's starts are swept as they are given: a list of its
    values each, or one number for every element; each configuration is the fit
    from its start (the same numbers to float rounding), and the table, the
    best's words and the heatmap's rows name the starts."""
    data = _three_columns()
    starts = [[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], 5.0]
    found = gradtrace.sweep(
        data, "linear", lr=[0.01, 0.1], init={"w": starts}, steps=40
    )
    table = found.table
    assert len(table) == 6
    assert table["init_w"].tolist()[:3] == [
        [0.0, 0.0, 0.0],
        [1.0, -2.0, 0.5],
        [5.0] * 3,
    ]
    for _, row in table.iterrows():
        run = gradtrace.fit(
            data, "linear", lr=row["lr"], init={"w": row["init_w"]}, steps=40
        )
        np.testing.assert_allclose(row["w"], run.params["w"], rtol=1e-5, atol=1e-6)
        assert row["loss"] == pytest.approx(run.final_loss, rel=1e-5)
    assert found.swept == ["lr", "init_w"]
    assert "3 starts" in (found.best_over_repeats_text() or "")
    ax = found.plot("heatmap").axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["[0, 0, 0]", "[1, -2, 0.5]", "[5, 5, 5]"]
    assert ax.get_ylabel() == "start w"
    # more kinds of line than styles: the vector's starts are counted among the
    # curves a line overlays (a researcher's sweep crashed on their lists)
    more = gradtrace.sweep(
        data,
        "linear",
        optimizer="momentum",
        lr=[0.01, 0.1],
        opt={"momentum": [0.0, 0.5, 0.9]},
        init={"w": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]},
        steps=5,
    )
    fig = more.plot("losses")
    legend = [t.get_text() for box in fig.legends for t in box.get_texts()]
    assert any(text.endswith(": 2 values of init_w") for text in legend), legend


def test_a_vector_start_in_a_sweep_is_refused_where_it_reads_two_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As many numbers as the vector has elements are one start (as fit reads
    them) or one start each: refused, with both spellings; an element alone, or
    a list of lists for one start, is refused with the way to give it; a start
    of another length is told the vector's."""
    data = _three_columns()
    with pytest.raises(gradtrace.InputError) as err:
        gradtrace.sweep(data, "linear", lr=[0.01], init={"w": [1, -2, 0.5]}, steps=3)
    assert str(err.value) == (
        "init={'w': [1, -2, 0.5]}: w has 3 elements, so this is one start or 3: "
        "give [[1, -2, 0.5]] for one start at these values, or [[1, 1, 1], "
        "[-2, -2, -2], [0.5, 0.5, 0.5]] for 3 starts at one number each."
    )
    for init, says in (
        ({"w[0]": [-1.0, 0.0]}, "a sweep starts a vector parameter whole"),
        ({"w": [[[1.0, 2.0, 3.0]]]}, "each start is one number or a list"),
        ({"w": [[1.0, 2.0]]}, "takes 3 numbers"),
        ({"b": [[1.0]]}, "b is one number, so each start is one number"),
    ):
        with pytest.raises(gradtrace.InputError) as err:
            gradtrace.sweep(data, "linear", lr=[0.01], init=init, steps=3)
        assert says in str(err.value)
    path = tmp_path / "three.csv"
    pd.DataFrame(data).to_csv(path, index=False)
    base = ["sweep", str(path), "--model", "linear", "--lr", "0.1", "--steps", "5"]
    base += ["--no-plot", "--out", str(tmp_path / "s")]
    code, _, err = run_cli([*base, "--init", "w=1,-2,0.5"], capsys)
    assert code == 2 and err.strip() == (
        "error: --init w=1,-2,0.5: w has 3 elements, so this is one start or 3: "
        "write 'w=[1,-2,0.5]' for one start at these values, or "
        "'w=[1,1,1],[-2,-2,-2],[0.5,0.5,0.5]' for 3 starts at one number each."
    )
    for given in ("w=[1,a,3]", "w=[1,2,3]x", "w=[1,2,3"):
        code, _, err = run_cli([*base, "--init", given], capsys)
        assert code == 2 and "a vector's starts are its values in brackets" in err
    assert not (tmp_path / "s").exists()
    code, _, err = run_cli([*base, "--init", "w=[1,-2,0.5],[0,0,0]"], capsys)
    assert code == 0, err
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert len(table) == 2
    # read back, its starts are arrays: show lists them (it crashed on them)
    code, out, err = run_cli(["show", str(tmp_path / "s")], capsys)
    assert code == 0, err
    assert "[1, -2, 0.5]" in out and "[0, 0, 0]" in out


def test_a_start_given_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same start twice ran its configurations twice over, into the same
    heatmap cells; a vector's one-number start is the same as that number at
    every element."""
    data = _three_columns()
    for init, shown in (
        ({"b": [0.0, 1.0, 0.0]}, "0"),
        ({"w": [[1.0, 1.0, 1.0], 1.0]}, "[1,1,1]"),
        ({"w": [[0.0, 2.0, 0.0], [0.0, 2.0, 0.0]]}, "[0,2,0]"),
    ):
        with pytest.raises(gradtrace.InputError) as err:
            gradtrace.sweep(data, "linear", lr=[0.01], init=init, steps=3)
        name = next(iter(init))
        assert str(err.value) == (
            f"init[{name!r}] gives the start {shown} more than once: give each "
            "start once."
        )
    code, _, err = run_cli(
        [*SMALL, "--init", "w=0,0", "--out", str(tmp_path / "s")], capsys
    )
    assert code == 2 and err.strip() == (
        "error: --init w gives the start 0 more than once: give each start once."
    )
    assert not (tmp_path / "s").exists()


def test_a_sweep_tells_its_progress_by_configurations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """800 configurations ran 145 s without a word, even on a terminal."""
    seen: list[tuple[int, int]] = []
    gradtrace.sweep(
        "seed001_line",
        lr=[0.01, 0.1, 0.3],
        batch_size=[10, 1000],
        steps=20,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    code, _, err = run_cli(
        [
            "sweep",
            "seed001_line",
            "--lr",
            "0.01,0.1",
            "--steps",
            "5",
            "--no-plot",
            "--out",
            str(tmp_path / "s"),
        ],
        capsys,
    )
    assert code == 0 and err.startswith("sweeping 2 configurations...\n")


def test_a_start_that_ends_below_a_local_optimum_is_warned_of_and_ranked_first() -> (
    None
):
    """A sine's least squares has local optima: Newton's method from the model's
    start found one (loss 1.93), and the start at w = 1.4 went 25 times lower. Its
    gap is negative, the sweep warns that the optimum is local, and the best is
    the lowest, not the one that reached the local optimum soonest (a researcher
    was told the bad fit was best)."""
    rng = np.random.default_rng(11)
    x = np.linspace(0, 10, 200)
    y = 2 * np.sin(1.5 * x + 0.3) + rng.normal(0, 0.3, 200)
    sine = gradtrace.Model(
        lambda p, x: p["A"] * jnp.sin(p["w"] * x + p["ph"]),
        {"A": 1.0, "w": 1.0, "ph": 0.0},
    )
    sweep = gradtrace.sweep(
        {"x": x, "y": y},
        sine,
        optimizer="adam",
        lr=[0.05],
        init={"w": [1.0, 1.4]},
        steps=500,
    )
    table = sweep.table
    assert table.loc[0, "gap"] == 0.0 and table.loc[0, "steps_to_tol"] > 0
    assert table.loc[1, "gap"] < -1.0
    assert list(sweep.below_optimum["config"]) == [1]
    assert sweep.best["init_w"] == 1.4
    assert list(sweep.ranked()["config"]) == [1, 0]
    [warning] = [w for w in sweep.warnings if "local one" in w]
    assert warning.startswith("init_w=1.4 ended on a loss of 0.075")


def test_gaps_within_the_losss_rounding_are_zero() -> None:
    """Seed 002's exercise 1 in float32: every rate that reached the mean ends on
    14258.98 give or take its last digit; those gaps are 0, as a fit's summary
    says, not -0.000238, and the list of the best is ranked by steps to tol."""
    sweep = gradtrace.sweep(
        "seed002_normal",
        "normal",
        loss="nll",
        fix={"scale": 1.0},
        reduction="sum",
        lr=[3e-5, 1e-4, 1.8e-4],
        steps=200,
        init={"loc": -5000.0},
    )
    table = sweep.table
    noise = 10 * np.finfo(np.float32).eps * abs(sweep.info["optimum_loss"])
    assert (table["gap"] == 0.0).all(), table["gap"]
    assert ((table["loss"] - sweep.info["optimum_loss"]).abs() <= noise).all()
    assert sweep.below_optimum.empty
    # 2, 50 and 80 steps to within 1e-4
    assert list(sweep.ranked()["lr"]) == [1e-4, 3e-5, 1.8e-4]
    assert sweep.best["lr"] == 1e-4
    # a sweep saved before gaps were rounded keeps float32's last digits, below
    # 0: not a local optimum, and not ranked as one
    old = sweeps.Sweep(
        table.assign(gap=table["loss"] - sweep.info["optimum_loss"] - noise / 2),
        sweep.traces,
        sweep.info,
    )
    assert old.below_optimum.empty and old.best["lr"] == 1e-4
    assert not [w for w in old.warnings if "local one" in w]


def test_a_plateau_on_val_loss_is_refused_by_what_the_sweep_holds_out() -> None:
    """A sweep given a validation split takes val_loss after each configuration
    ends: the refusal of a plateau watching val_loss says that, not that there
    is no validation data (a reader gave --validation-split and was told so)."""
    schedule = "torch.plateau:monitor=val_loss"
    with pytest.raises(gradtrace.InputError) as held:
        sweep(
            "seed001_line",
            lr=[0.1],
            steps=5,
            validation_split=0.2,
            lr_schedule=schedule,
        )
    assert "takes its validation loss after each configuration ends" in str(held.value)
    with pytest.raises(gradtrace.InputError) as none:
        sweep("seed001_line", lr=[0.1], steps=5, lr_schedule=schedule)
    assert "has no validation data for torch.plateau" in str(none.value)


def test_a_sweep_of_parameters_that_trade_off_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A constant x column: w and b trade off, so there is no optimum to measure
    the configurations against. The sweep says so in one line, exit 2 and no
    folder (it had ended in numpy's traceback)."""
    data = tmp_path / "const.csv"
    data.write_text("x,y\n1,2\n1,3\n1,2.5\n1,4\n")
    out = tmp_path / "sweep"
    code, _, said = run_cli(
        ["sweep", str(data), "--lr", "0.01,0.1", "--steps", "3", "--out", str(out)],
        capsys,
    )
    assert code == 2 and not out.exists() and len(said.splitlines()) == 1
    assert said.startswith("error: a sweep measures its configurations against the")
    assert "w and b trade off exactly" in said and "Traceback" not in said


def test_switches_are_swept_beside_the_values_they_need(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JAX user's findings: torch.sgd's nesterov with momentum 0.9 was refused
    by a sweep ("needs a momentum above 0 ... got momentum 0": each swept value
    was checked alone), and the command took no true or false in --opt."""
    from helpers import run_cli

    options = dict(optimizer="torch.sgd", lr=[0.1], steps=10)
    swept = gradtrace.sweep(
        "seed001_line", opt={"momentum": 0.9, "nesterov": True}, **options
    )
    alone = gradtrace.fit(
        "seed001_line",
        optimizer="torch.sgd",
        lr=0.1,
        steps=10,
        opt={"momentum": 0.9, "nesterov": True},
    )
    assert swept.table["loss"].iloc[0] == pytest.approx(alone.final_loss, rel=1e-6)
    with pytest.raises(gradtrace.InputError, match="got momentum 0, dampening 0"):
        gradtrace.sweep(
            "seed001_line", opt={"momentum": [0.0, 0.9], "nesterov": True}, **options
        )
    args = ["sweep", "seed001_line", "--optimizer", "keras.sgd", "--lr", "0.01"]
    args += ["--opt", "momentum=0.9", "--opt", "nesterov=true,false", "--steps", "20"]
    code, out, err = run_cli([*args, "-o", str(tmp_path / "s")], capsys)
    assert code == 0 and "2 configurations" in out, err
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert sorted(table["nesterov"].tolist()) == [False, True]
    # as fit takes a switch: 1 and 0, on and off too
    for given in ("1,0", "on,off"):
        code, out, err = run_cli(
            [
                *args[:-4],
                "--opt",
                f"nesterov={given}",
                "--steps",
                "20",
                "-o",
                str(tmp_path / given),
            ],
            capsys,
        )
        assert code == 0 and "2 configurations" in out, err


def test_jax_arrays_are_taken_as_numpys() -> None:
    """A JAX user's arrays: lr=jnp.logspace(...) was "not a positive number", an
    array of x and y columns "cannot use ArrayImpl as data"; NumPy's worked."""
    x = np.linspace(0.0, 1.0, 20)
    y = 2 * x + 1
    both = gradtrace.fit(jnp.stack([jnp.asarray(x), jnp.asarray(y)], 1), steps=3)
    plain = gradtrace.fit(np.stack([x, y], 1), steps=3)
    assert both.params == plain.params
    rates = gradtrace.sweep((x, y), lr=jnp.logspace(-3, -1, 5), steps=3)
    np.testing.assert_allclose(rates.table["lr"], np.logspace(-3, -1, 5), rtol=1e-6)
    one = gradtrace.sweep((x, y), lr=jnp.asarray(0.1), steps=3)
    assert len(one.table) == 1


def test_a_sweep_again_runs_the_program_it_compiled() -> None:
    """A JAX user's four identical sweeps compiled four times (0.7-1.1 s each,
    against 40 ms of training): the program is kept as a run's are, and a
    sweep of other rates of the same shapes takes it."""
    from gradtrace.core import loop

    def programs() -> int:
        return sum(1 for key in loop._COMPILED if key[0][0] == "sweep")

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 50)
    data = (x, 2 * x + 1 + rng.normal(0, 0.3, 50))
    first = gradtrace.sweep(data, optimizer="adam", lr=[0.01, 0.1], steps=20)
    before = programs()
    again = gradtrace.sweep(data, optimizer="adam", lr=[0.02, 0.2], steps=20)
    assert before >= 1 and programs() == before
    other = gradtrace.sweep(data, optimizer="adam", lr=[0.01, 0.1], steps=20)
    pd.testing.assert_frame_equal(first.table, other.table)
    assert not again.table["loss"].equals(first.table["loss"])


def test_a_sweeps_gaps_are_rounded_by_the_size_of_the_losss_terms() -> None:
    """A Poisson regression of counts near 8000 (terms of 3e4 cancelling to a loss
    of 5.9): float32 put the runs 0.0015 below the optimum, and the sweep warned
    that the optimum was a local one (a review's find); as a run's summary does,
    the sweep counts a gap within that rounding as 0."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "y": rng.poisson(np.exp(9 + 0.1 * x)).astype(float)})
    found = gradtrace.sweep(
        frame,
        "poisson-regression",
        init={"b": [9.0], "w": [0.1]},
        optimizer="adam",
        lr=[1e-3, 2e-3],
        steps=2000,
    )
    assert found.info["loss_terms"] > 1e4
    assert found.table["gap"].tolist() == [0.0, 0.0]
    assert found.below_optimum.empty


@pytest.mark.parametrize(
    "given",
    [[], ["--lr", "0.1"], ["--lr", "0.1", "--seed", "3", "--batch-size", "8"]],
)
def test_a_sweep_of_one_configuration_is_refused_before_it_runs(
    given: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`gradtrace sweep data.csv` with no values to sweep ran one configuration
    and wrote a sweep folder; it now says what to give, and writes nothing."""

    def trained(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the sweep ran")

    monkeypatch.setattr(sweeps, "sweep", trained)
    out = tmp_path / "s"
    code, _, err = run_cli(["sweep", "seed001_line", *given, "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: nothing to sweep: each option has one value")
    assert "--lr 0.001:1:log10" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--optimizer", "sgd,adam"], "error: a sweep takes one optimizer, got "),
        (["--opt", "momentum=0.9"], "error: optimizer 'sgd' has no hyper-parameter"),
    ],
)
def test_a_one_configuration_sweeps_own_mistake_is_said_first(
    given: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--lr 0.01 --optimizer sgd,adam was told "nothing to sweep", and its
    real mistake only once a second rate was given."""
    out = tmp_path / "s"
    args = ["sweep", "seed001_line", "--lr", "0.01", *given, "--out", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith(said), err
    assert not out.exists()


@pytest.mark.parametrize(
    "given",
    [
        ["--seed", "0,1"],
        ["--batch-size", "4,8"],
        ["--init", "w=0,1"],
        ["--optimizer", "momentum", "--opt", "momentum=0,0.9"],
    ],
)
def test_any_option_of_several_values_makes_a_sweep(
    given: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        [*SMALL[:2], *given, "--steps", "2", "--no-plot", "--out", str(tmp_path / "s")],
        capsys,
    )
    assert code == 0, err
    assert "2 configurations" in out
