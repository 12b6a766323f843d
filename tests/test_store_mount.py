"""A run written into a folder that is a mount (a volume, a Docker bind mount):
its files cannot be renamed in from beside it (EXDEV), so they are written inside
it and renamed there."""

from __future__ import annotations

from pathlib import Path

import pytest

import gradtrace
from gradtrace import store


def test_a_run_into_a_mounted_folder_is_written_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder on another device: the temporary folder is made inside it,
    the run lands in it whole (again with force, and a long run's parts), and
    nothing hidden is left behind. A rename from beside it had ended in a
    50-line traceback (Invalid cross-device link)."""
    volume = tmp_path / "vol"
    volume.mkdir()
    made: list[Path] = []
    real = store._temporary

    def spy(folder: Path, force: bool) -> Path:
        made.append(real(folder, force))
        return made[-1]

    monkeypatch.setattr(store, "_another_device", lambda folder, parent: True)
    monkeypatch.setattr(store, "_temporary", spy)
    gradtrace.fit("seed001_line", steps=5, out=volume)
    assert made and made[-1].parent == volume  # inside it, not beside it
    assert sorted(p.name for p in volume.iterdir()) == ["run.json", "trace.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["vol"]  # nothing beside it
    again = gradtrace.fit("seed001_line", steps=7, out=volume, force=True)
    assert gradtrace.load(volume).steps == again.steps == 7
    assert sorted(p.name for p in volume.iterdir()) == ["run.json", "trace.parquet"]
