"""shuffle="keras" (--keras-order): the rows in the order Keras 3's fit visits
them after keras.utils.set_random_seed. The orders are checked against Keras's
own (tests/oracle/fixtures/orders/keras_fit.json, made by
tools/fixtures/make_keras_orders.py); a training run against a Keras fit in
tests/oracle/test_frameworks.py (keras_adam_shuffled). What cannot take either
framework's order is refused here for both."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace.core import batches
from helpers import run_cli

ORDERS = Path(__file__).parent / "oracle/fixtures/orders/keras_fit.json"
CASES = json.loads(ORDERS.read_text())["cases"]


def _named(case: dict) -> str:
    split = f"-v{case['validation_split']}" if case["validation_split"] else ""
    return f"n{case['n_rows']}-b{case['batch_size']}-s{case['seed']}{split}"


def _training_rows(case: dict) -> int:
    """The rows Keras trains on: a validation split takes the last ones."""
    n, split = case["n_rows"], case["validation_split"]
    return math.floor(n * (1 - split)) if split else n


@pytest.mark.parametrize("case", CASES, ids=_named)
def test_the_orders_are_keras(case: dict) -> None:
    n, size, seed = _training_rows(case), case["batch_size"], case["seed"]
    table = batches.epoch_batches(n, size, "keras", seed, range(3))
    ours = [[[int(r) for r in b if r >= 0] for b in epoch] for epoch in table]
    assert ours == case["epochs"]
    per_epoch = batches.n_batches(n, size)
    plan = batches.batch_plan(n, size, 3 * per_epoch, "keras", seed)
    assert [[int(r) for r in b if r >= 0] for b in plan] == sum(case["epochs"], [])


def test_a_validation_split_run_takes_kerass_batches() -> None:
    """Keras holds out the last rows and shuffles the rest: fit(...,
    validation_split=0.2, shuffle='keras') steps on Keras's batches."""
    (case,) = [c for c in CASES if c["validation_split"]]
    n = case["n_rows"]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, n)
    frame = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.1, n)})
    trace = gradtrace.fit(
        frame,
        "line",
        optimizer="keras.sgd",
        batch_size=case["batch_size"],
        epochs=3,
        shuffle="keras",
        seed=case["seed"],
        validation_split=case["validation_split"],
    )
    rows = trace.batch_rows()
    ours = [list(g["row"]) for _, g in rows.groupby("step", sort=True)]
    assert ours == sum(case["epochs"], [])


def test_philox_gives_the_known_answers_of_its_authors() -> None:
    """Philox-4x32-10's known-answer vectors (Random123's kat_vectors)."""
    ones = np.full((1, 4), 0xFFFFFFFF, np.uint32)
    pi = np.array([[0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344]], np.uint32)
    for counter, key, answer in (
        (
            np.zeros((1, 4), np.uint32),
            (0, 0),
            (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
        ),
        (
            ones,
            (0xFFFFFFFF, 0xFFFFFFFF),
            (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
        ),
        (
            pi,
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ):
        assert tuple(int(v) for v in batches.philox4x32(counter, key)[0]) == answer


def _swapped(words: np.ndarray) -> list[int]:
    """TensorFlow's RandomShuffle as it runs: one swap after another."""
    n = len(words) + 1
    order = list(range(n))
    for i, word in enumerate(words):
        j = i + int(word) % (n - i)
        order[i], order[j] = order[j], order[i]
    return order


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(-(2**40), 2**40))
def test_the_order_is_the_shuffle_of_the_seeds_words_one_swap_at_a_time(
    n: int, seed: int
) -> None:
    key = seed % (2**31 - 1)
    words = batches._philox_words(key, 2**31 - 1 if key == 0 else 0, n - 1)
    assert batches.keras_order(n, seed).tolist() == _swapped(words)
    # seeds equal modulo 2**31 - 1 are one seed to TensorFlow
    assert batches.keras_order(n, seed + 2**31 - 1).tolist() == _swapped(words)


def _line() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 60)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.1, 60)})


def test_every_epoch_repeats_the_first() -> None:
    """Keras makes a new iterator each epoch, from the same seeds: one order.
    (A run cut and resumed, and a sweep's seeds, take it as a whole run does:
    test_torch_order.py runs those tests for both frameworks' orders.)"""
    whole = gradtrace.fit(
        _line(),
        "line",
        optimizer="keras.adam",
        batch_size=8,
        epochs=6,
        shuffle="keras",
        seed=11,
    )
    rows = whole.batch_rows()
    epochs = [list(g["row"]) for _, g in rows.groupby("epoch", sort=True)]
    assert len(epochs) == 6 and all(e == epochs[0] for e in epochs)
    assert sorted(epochs[0]) == list(range(60))


def test_a_sweep_refuses_seeds_tensorflow_takes_for_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """1 and 2**31 are one seed modulo 2**31 - 1: their sweeps were alike."""
    code, _, err = run_cli(
        ["sweep", "seed001_line", "--batch-size", "8", "--keras-order", "--seed"]
        + ["1,2147483648", "--lr", "0.1", "--steps", "3", "--no-plot"]
        + ["-o", str(tmp_path / "s")],
        capsys,
    )
    assert code == 2 and err.strip() == (
        "error: --seed 1 and 2147483648 are one seed to TensorFlow, which takes a "
        "seed modulo 2**31 - 1 (Keras's order, --keras-order): give each seed once."
    )


def test_the_command_line_takes_kerass_order_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["fit", "seed001_line", "--optimizer", "keras.sgd", "--lr", "0.05"]
    base += ["--batch-size", "32", "--epochs", "2", "--seed", "12345"]
    code, out, err = run_cli([*base, "--keras-order", "--out", "k", "-q"], capsys)
    assert code == 0, err
    assert "shuffled as Keras's fit (seed 12345; every epoch alike)" in out
    assert "not Keras's" not in err
    (case,) = [c for c in CASES if c["n_rows"] == 100]
    rows = gradtrace.load("k").batch_rows()
    ours = [list(g["row"]) for _, g in rows.groupby("step", sort=True)]
    assert ours == sum(case["epochs"][:2], [])
    # without it, a Keras optimizer's shuffled run is told how to take Keras's
    code, _, err = run_cli([*base, "--out", "g", "-q"], capsys)
    assert code == 0 and "--keras-order takes its order" in err
    # tf_keras draws another order each epoch: told so
    code, _, err = run_cli(
        [*base[:3], "tf_keras.adam", *base[4:], "--keras-order", "-o", "t", "-q"],
        capsys,
    )
    assert code == 0 and "tf_keras (Keras 2) draws another each epoch" in err
    # a config file says it as keras_order = true, or shuffle = "keras"
    for name, line in (("a", "keras_order = true"), ("b", 'shuffle = "keras"')):
        Path(f"{name}.toml").write_text(
            'data = "seed001_line"\noptimizer = "keras.sgd"\nlr = 0.05\n'
            f"batch_size = 32\nepochs = 2\nseed = 12345\n{line}\n"
        )
        code, _, err = run_cli(
            ["fit", "--config", f"{name}.toml", "--out", name, "-q"], capsys
        )
        assert code == 0, err
        assert gradtrace.load(name).batch_rows().equals(rows)


@pytest.mark.parametrize(
    ("flag", "extra", "said"),
    [
        ("--torch-order", ["--no-shuffle"], "shuffles each epoch in PyTorch's order"),
        ("--torch-order", ["--stream"], "--torch-order does not work with --stream"),
        ("--keras-order", ["--no-shuffle"], "shuffles each epoch in Keras's order"),
        ("--keras-order", ["--stream"], "--keras-order does not work with --stream"),
        ("--keras-order", ["--torch-order"], "--torch-order and --keras-order are two"),
        # one order for every epoch: the same rows would sit out every one
        ("--keras-order", ["--drop-last"], "leaves the same rows out of every epoch"),
    ],
)
def test_what_cannot_take_a_frameworks_order_is_refused_in_a_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
    extra: list[str],
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    _line().to_parquet("d.parquet")  # 60 rows: batches of 8 leave 4 over
    code, _, err = run_cli(
        ["fit", "d.parquet", "--batch-size", "8", flag, *extra, "-o", "r"], capsys
    )
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not Path("r").exists()


def test_python_is_told_in_its_own_words() -> None:
    trace = gradtrace.fit(
        _line(), "line", optimizer="keras.sgd", batch_size=8, epochs=1, shuffle=True
    )
    said = " ".join(trace.notes)
    assert "shuffle='keras' takes its order" in said, said
    with pytest.raises(gradtrace.InputError, match="or 'keras' \\(Keras 3's fit"):
        gradtrace.fit(_line(), "line", batch_size=8, shuffle="tensorflow")  # type: ignore[arg-type]
