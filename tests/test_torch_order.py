"""shuffle="torch" (--torch-order): each epoch's rows in the order PyTorch's
seeded DataLoader visits them. The orders are checked against PyTorch's own
(tests/oracle/fixtures/orders, made by tools/fixtures/make_torch_orders.py); the
training runs against PyTorch loops in tests/oracle/test_frameworks.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrace
from gradtrace.core import batches
from helpers import cut_and_resumed, run_cli

ORDERS = Path(__file__).parent / "oracle/fixtures/orders/torch_dataloader.json"
CASES = json.loads(ORDERS.read_text())["cases"]


def _named(case: dict) -> str:
    return f"n{case['n_rows']}-b{case['batch_size']}-s{case['seed']}"


@pytest.mark.parametrize("case", CASES, ids=_named)
def test_the_orders_are_pytorchs(case: dict) -> None:
    n, size, seed = case["n_rows"], case["batch_size"], case["seed"]
    # randperm alone: the generator's first words, as NumPy's MT19937 draws them
    words = np.random.MT19937()
    words._legacy_seeding(seed & 0xFFFFFFFF)
    draws = np.asarray(words.random_raw(n - 1), np.uint32)[None]
    assert batches._randperms(draws)[0].tolist() == case["randperm"]
    table = batches.epoch_batches(n, size, "torch", seed, range(4))
    ours = [[[int(r) for r in b if r >= 0] for b in epoch] for epoch in table]
    if case["drop_last"]:  # the leftover rows sit the epoch out
        ours = [epoch[: n // size] for epoch in ours]
    assert ours == case["epochs"]
    # and as a run of that many steps takes them
    per_epoch = batches.n_batches(n, size, case["drop_last"])
    plan = batches.batch_plan(n, size, 4 * per_epoch, "torch", seed, case["drop_last"])
    assert [[int(r) for r in b if r >= 0] for b in plan] == sum(case["epochs"], [])


def _swapped(draws: np.ndarray) -> np.ndarray:
    """PyTorch's randperm as it runs: one swap after another."""
    n = len(draws) + 1
    order = np.arange(n)
    for i, word in enumerate(draws):
        j = i + int(word) % (n - i)
        order[i], order[j] = order[j], order[i]
    return order


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_the_swaps_resolved_at_once_are_the_swaps_one_by_one(
    n: int, epochs: int, seed: int
) -> None:
    draws = np.random.default_rng(seed).integers(
        0, 2**32, (epochs, n - 1), dtype=np.uint32
    )
    got = batches._randperms(draws)
    for e in range(epochs):
        assert got[e].tolist() == _swapped(draws[e]).tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 200), st.integers(0, 5), st.integers(1, 3), st.integers())
def test_later_epochs_drawn_on_their_own_are_the_same(
    n: int, first: int, count: int, seed: int
) -> None:
    whole = batches.torch_orders(n, seed, 0, first + count)
    assert np.array_equal(batches.torch_orders(n, seed, first, count), whole[first:])
    assert np.array_equal(
        np.sort(whole, axis=1), np.tile(np.arange(n), (len(whole), 1))
    )


def test_epochs_drawn_in_turn_go_on_from_where_the_last_ended() -> None:
    """A run's calls, and explain's epochs, ask for epoch after epoch: the
    generator goes on from where the last order ended, out of order too."""
    whole = batches.torch_orders(50, 9, 0, 8)
    batches._TORCH_AT.clear()
    for first, count in ((0, 2), (2, 3), (6, 2), (1, 1), (5, 1), (7, 1)):
        got = batches.torch_orders(50, 9, first, count)
        assert np.array_equal(got, whole[first : first + count]), (first, count)


def _line() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 60).astype(np.float32)
    return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.1, 60)})


@pytest.mark.parametrize(
    ("order", "other_order"), [("torch", "keras"), ("keras", "torch")]
)
def test_a_run_in_several_calls_and_a_resumed_one_take_the_same_batches(
    tmp_path: Path, order: str, other_order: str
) -> None:
    """A framework's order (PyTorch's, Keras's) is the same in a run of one call,
    of calls of a few steps, and cut and resumed; another seed, the other
    framework's order and gradtrace's own each give other batches."""
    options = dict(
        optimizer=f"{order}.adam",
        lr=0.05,
        batch_size=8,
        epochs=6,
        shuffle=order,
        seed=11,
    )
    frame = _line()
    whole = gradtrace.fit(frame, "line", **options)  # type: ignore[arg-type]
    # checkpoints every 5 steps: calls of 5 steps, each spanning two epochs of 8
    cut, done = cut_and_resumed(frame, "line", options, tmp_path / "run", 5, 4)
    assert cut.status == "interrupted" and 0 < cut.steps < whole.steps
    pd.testing.assert_frame_equal(done.to_pandas(), whole.to_pandas())
    assert done.batch_rows().equals(whole.batch_rows())
    rows = whole.batch_rows()["row"]
    for changed in ({"seed": 12}, {"shuffle": other_order}, {"shuffle": True}):
        again = gradtrace.fit(frame, "line", **{**options, **changed})  # type: ignore[arg-type]
        assert not rows.equals(again.batch_rows()["row"]), changed


def test_calls_of_a_few_epochs_each_give_the_run_of_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradtrace.core import loop

    options = dict(optimizer="torch.sgd", lr=0.05, batch_size=16, epochs=9)
    frame = _line()
    whole = gradtrace.fit(frame, "line", shuffle="torch", seed=5, **options)  # type: ignore[arg-type]
    # PyTorch's orders of 2 epochs of 60 rows at a time: calls of 8 steps
    monkeypatch.setattr(loop, "TORCH_CALL_VALUES", 120)
    schedule = loop.Schedule(60, 16, 36, "torch")
    assert loop.torch_calls(schedule, 36) == 8
    assert loop.torch_calls(loop.Schedule(60, 16, 36, True), 36) == 36
    cut = gradtrace.fit(frame, "line", shuffle="torch", seed=5, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(cut.to_pandas(), whole.to_pandas())


@pytest.mark.parametrize("order", ["torch", "keras"])
def test_a_sweep_gives_each_seed_the_run_of_that_seed(order: str) -> None:
    frame = _line()
    options = dict(optimizer=f"{order}.sgd", batch_size=8, epochs=3, shuffle=order)
    swept = gradtrace.sweep(frame, "line", lr=[0.05, 0.2], seed=[3, 4], **options)  # type: ignore[arg-type]
    table = swept.table
    for _, row in table.iterrows():
        one = gradtrace.fit(
            frame,
            "line",
            lr=float(row["lr"]),
            seed=int(row["seed"]),
            **options,  # type: ignore[arg-type]
        )
        last = one.to_pandas().iloc[-1]
        assert row["w"] == pytest.approx(last["w"], rel=1e-6)
        assert row["b"] == pytest.approx(last["b"], rel=1e-6)
    # a range test takes the order too: its first step's batch is the run's
    found = gradtrace.lr_find(frame, "line", batch_size=8, shuffle=order, seed=3)
    first = gradtrace.fit(frame, "line", seed=3, **options).to_pandas()["batch_loss"]  # type: ignore[arg-type]
    assert found.table["batch_loss"].iloc[0] == pytest.approx(first[1], rel=1e-6)
    own = gradtrace.lr_find(frame, "line", batch_size=8, seed=3)
    assert own.table["batch_loss"].iloc[0] != pytest.approx(first[1], rel=1e-6)


def test_the_command_line_takes_pytorchs_order_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["fit", "seed001_line", "--optimizer", "torch.sgd", "--lr", "0.05"]
    base += ["--batch-size", "32", "--epochs", "2", "--seed", "12345"]
    code, out, err = run_cli([*base, "--torch-order", "--out", "t", "-q"], capsys)
    assert code == 0, err
    assert "shuffled as PyTorch's DataLoader (seed 12345)" in out
    assert "not PyTorch's" not in err
    rows = gradtrace.load("t").batch_rows()
    fixture = Path(__file__).parent / "oracle/fixtures/torch_sgd_shuffled.json"
    theirs = json.loads(fixture.read_text())["batch_rows"][:8]
    assert [list(g["row"]) for _, g in rows.groupby("step")] == theirs
    # without it, a torch optimizer's shuffled run is told how to take PyTorch's
    code, _, err = run_cli([*base, "--out", "g", "-q"], capsys)
    assert code == 0 and "--torch-order takes its order" in err
    # a config file says it as torch_order = true
    Path("run.toml").write_text(
        'data = "seed001_line"\noptimizer = "torch.sgd"\nlr = 0.05\n'
        "batch_size = 32\nepochs = 2\nseed = 12345\ntorch_order = true\n"
    )
    code, out, err = run_cli(
        ["fit", "--config", "run.toml", "--out", "c", "-q"], capsys
    )
    assert code == 0, err
    assert gradtrace.load("c").batch_rows().equals(gradtrace.load("t").batch_rows())


def test_a_stream_is_refused_the_order_however_spelt(tmp_path: Path) -> None:
    _line().to_parquet(tmp_path / "d.parquet")
    with pytest.raises(gradtrace.InputError, match="does not work with stream=True"):
        gradtrace.fit(
            tmp_path / "d.parquet", "line", batch_size=8, stream=True, shuffle=" Torch"
        )


def test_a_config_file_says_shuffle_torch_and_off_is_told_from_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = 'data = "seed001_line"\nbatch_size = 32\nepochs = 2\nseed = 12345\n'
    Path("a.toml").write_text(run + 'shuffle = "torch"\n')
    code, _, err = run_cli(["fit", "--config", "a.toml", "-o", "a", "-q"], capsys)
    assert code == 0, err
    assert gradtrace.load("a").info["schedule"]["shuffle"] == "torch"
    Path("b.toml").write_text(run + "shuffle = false\n")
    code, _, err = run_cli(
        ["fit", "--config", "b.toml", "--torch-order", "-o", "b"], capsys
    )
    assert code == 2 and "shuffle = false in a config file" in err


def test_python_names_the_argument_in_its_own_words() -> None:
    with pytest.raises(
        gradtrace.InputError, match="shuffle must be True, False, .torch."
    ):
        gradtrace.fit(_line(), "line", batch_size=8, shuffle="pytorch")  # type: ignore[arg-type]
    trace = gradtrace.fit(
        _line(), "line", optimizer="torch.sgd", batch_size=8, epochs=1, shuffle=True
    )
    said = " ".join(trace.notes)
    assert "shuffle='torch' takes its order" in said, said
    # full batch: nothing to order, and said so
    whole = gradtrace.fit(_line(), "line", steps=3, shuffle="torch")
    assert any("shuffle='torch' changes nothing here" in n for n in whole.notes)
    # PyTorch takes seeds up to 2**64 - 1; their last 32 bits are what counts
    with pytest.raises(gradtrace.InputError, match=r"seed - 2\*\*64 is the same"):
        gradtrace.fit(_line(), "line", batch_size=8, shuffle="torch", seed=2**64 - 1)
    assert "SEED being seed=" in said and "--" not in said.replace("--seed", "")
