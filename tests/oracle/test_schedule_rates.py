"""gradtrace's rates under PyTorch's composite schedulers (SequentialLR,
ChainedScheduler) and ConstantLR, against the rates PyTorch's optimizer held,
epoch by epoch (``tools/fixtures/make_schedule_rates.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from gradtrace.core.schedules import LrSchedule
from gradtrace.validate import lr_schedule

FIXTURE = Path(__file__).parent / "fixtures" / "rates" / "torch_composites.json"
CASES = json.loads(FIXTURE.read_text())["cases"]


def schedule_of(case: dict) -> LrSchedule:
    schedule = lr_schedule(case["schedule"])
    assert schedule is not None
    return schedule


def test_the_fixture_covers_each_composite_and_every_schedule_they_hold() -> None:
    names = {c["schedule"]["name"] for c in CASES}
    held = {s["name"] for c in CASES for s in c["schedule"].get("schedulers", [])}
    assert names == {"torch.sequential", "torch.chained", "torch.constant"}
    assert len(held) == 9


@pytest.mark.parametrize("at", range(0, len(CASES), 40))
def test_composite_rates_are_pytorchs_to_the_bit(at: int) -> None:
    for case in CASES[at : at + 40]:
        schedule = schedule_of(case)
        got = schedule.epoch_rates(case["lr"], len(case["rates"]))
        assert got == case["rates"], str(schedule)


def test_a_composite_written_as_text_is_the_same_schedule() -> None:
    text = (
        "torch.sequential:schedulers=[torch.linear(start_factor=0.1,total_iters=5),"
        "torch.cosine(T_max=45,eta_min=0.001)],milestones=[5]"
    )
    as_dict = {
        "name": "torch.sequential",
        "schedulers": [
            {"name": "torch.linear", "start_factor": 0.1, "total_iters": 5},
            {"name": "torch.cosine", "T_max": 45, "eta_min": 0.001},
        ],
        "milestones": [5],
    }
    schedule = lr_schedule(text)
    assert schedule == lr_schedule(as_dict)
    assert schedule is not None
    saved = schedule.to_dict()
    assert LrSchedule.create(saved.pop("name"), **saved) == schedule
    json.dumps(schedule.to_dict())  # a run's JSON holds it


def test_swept_rates_are_the_recursions_within_float32_rounding() -> None:
    """A sweep's traced rate scales the recursion's tables (the rates are affine
    in lr): within 2.5 ulps of PyTorch's rate cast to float32."""
    worst = 0.0
    for case in CASES:
        schedule = schedule_of(case)
        n = len(case["rates"])
        rate = schedule.rate_fn(jnp.float32(case["lr"]), 1, n, np.float32)
        got = np.asarray([rate(jnp.int32(e)) for e in range(n)], np.float32)
        want = np.asarray(case["rates"], np.float32)
        # XLA flushes float32's subnormal numbers (under 1.2e-38) to zero
        normal = want >= np.finfo(np.float32).tiny
        ulps = np.abs(got.astype(np.float64) - want) / np.spacing(want)
        worst = max(worst, float(ulps[normal].max(initial=0.0)))
        assert np.all(got[~normal] < np.finfo(np.float32).tiny)
    assert worst <= 2.5


def test_long_runs_keep_the_recursions_rates() -> None:
    """Beyond the epochs of the recursion's own table (``TABLE_EPOCHS``) a
    composite's rates are still the recursion's, PyTorch's doubles in the lr
    column, so a rerun for more epochs keeps them; ConstantLR's too."""
    for name in ("torch.sequential", "torch.chained", "torch.constant"):
        case = next(c for c in CASES if c["schedule"]["name"] == name)
        schedule = schedule_of(case)
        assert schedule.same_rates(30, 200_000)
        long = schedule.rates_at(case["lr"], np.arange(30), 1, 200_000)
        assert long.tolist() == case["rates"], name
        # and the run's rates, cast to float32, are the same numbers
        rate = schedule.rate_fn(case["lr"], 1, 200_000, np.float32)
        used = [float(rate(jnp.int32(e))) for e in range(30)]
        assert used == np.float32(case["rates"]).astype(np.float64).tolist()


def test_a_lambda_is_called_only_where_pytorch_calls_it() -> None:
    """MultiplicativeLR never calls its lambda at epoch 0 (its constructor's step
    keeps the rate), so 1/epoch runs, alone and chained, as in PyTorch; a lambda
    in a sequence whose milestone lies beyond the run is never called."""
    alone = lr_schedule("torch.multiplicative:lr_lambda=1/epoch")
    chained = lr_schedule(
        "torch.chained:schedulers=[torch.multiplicative(lr_lambda=1/epoch)]"
    )
    assert alone is not None and chained is not None
    want = [1.0, 1.0, 0.5, 0.5 / 3]
    assert alone.epoch_rates(1.0, 4) == want == chained.epoch_rates(1.0, 4)
    alone.check(4, 1)
    later = lr_schedule(
        "torch.sequential:schedulers=[torch.exponential(gamma=0.5),"
        "torch.lambda(lr_lambda=log(epoch - 1))],milestones=[10]"
    )
    assert later is not None
    later.check(5, 1)
    assert later.epoch_rates(1.0, 5) == [1.0, 0.5, 0.25, 0.125, 0.0625]
    with pytest.raises(ValueError, match="fails .math domain error. at epoch 0"):
        later.check(12, 1)


#: MultiStepLR(SGD(lr=0.1), milestones=M, gamma=0.5) in PyTorch 2.14.1, the rate
#: of epochs 0..6 (param_groups[0]["lr"] before each epoch's scheduler.step()):
#: a milestone 0 applies gamma from the start (its constructor's first step),
#: unsorted and repeated milestones count each time they come.
PYTORCH_MULTISTEP = {
    "[0,3]": [0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025],
    "[3,1]": [0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025],
    "[2,2,4]": [0.1, 0.1, 0.025, 0.025, 0.0125, 0.0125, 0.0125],
    "[0,0,5]": [0.025, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125],
}


@pytest.mark.parametrize("milestones", list(PYTORCH_MULTISTEP))
def test_multistep_milestones_as_pytorch_takes_them(milestones: str) -> None:
    schedule = lr_schedule(f"torch.multistep:milestones={milestones},gamma=0.5")
    assert schedule is not None
    want = PYTORCH_MULTISTEP[milestones]
    assert schedule.epoch_rates(0.1, 7) == want
    # the tables of a run past TABLE_EPOCHS epochs
    long = schedule._long(0.1, 200_000, np.float64)(np, np.arange(7))
    assert long.tolist() == want
