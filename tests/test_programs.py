"""A long session's compiled programs are released before the kernel's limit on
memory maps, where XLA crashes the process (``gradtrace.programs``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gradtrace
from gradtrace import programs
from gradtrace.core import loop


def test_the_maps_are_counted_as_the_kernel_lists_them() -> None:
    if not programs.MAPS.exists():
        pytest.skip("no /proc/self/maps here (not Linux)")
    used = programs.maps_in_use()
    lines = Path("/proc/self/maps").read_bytes().count(b"\n")
    assert used is not None and abs(used - lines) < 50  # other threads map too
    limit = programs.map_limit()
    assert limit is not None and limit > used


def test_crowded_maps_release_every_compiled_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the limit set below the maps in use, the eighth plan releases the
    programs (none before it); the fit then compiles its own again and runs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    data = {"x": x, "y": 2 * x + 1}
    gradtrace.fit(data, lr=0.1, steps=5)
    assert loop._COMPILED  # the scan, kept for the next fit
    monkeypatch.setattr(programs, "_plans", 0)
    monkeypatch.setattr(programs, "map_limit", lambda: 100)
    monkeypatch.setattr(programs, "maps_in_use", lambda: 51)
    released = []
    real = programs.release
    monkeypatch.setattr(programs, "release", lambda: (released.append(True), real())[1])
    for _ in range(programs.CHECK_EVERY - 1):
        assert not programs.release_if_crowded()
    assert loop._COMPILED and not released
    again = gradtrace.fit(data, lr=0.1, steps=5)  # its plan is the eighth
    assert released == [True]
    assert again.status == "completed"
    np.testing.assert_allclose(
        again.params["w"], gradtrace.fit(data, lr=0.1, steps=5).params["w"]
    )
    # under the share, nothing is released
    monkeypatch.setattr(programs, "maps_in_use", lambda: 50)
    monkeypatch.setattr(programs, "_plans", programs.CHECK_EVERY - 1)
    assert not programs.release_if_crowded()


def test_no_count_where_the_kernel_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs, "MAPS", Path("/nonexistent/maps"))
    monkeypatch.setattr(programs, "LIMIT", Path("/nonexistent/limit"))
    assert programs.maps_in_use() is None and programs.map_limit() is None
    monkeypatch.setattr(programs, "_plans", programs.CHECK_EVERY - 1)
    assert not programs.release_if_crowded()
