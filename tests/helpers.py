"""Helpers shared by the tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gradtrace.cli import main


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def fit_refused(
    args: list[str], told: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    """``gradtrace fit ARGS --out OUT`` is refused as bad input is: a non-zero
    exit, one line of error that says ``told``, no traceback, no folder left.
    Returns the error."""
    code, _, err = run_cli(["fit", *args, "--out", str(out)], capsys)
    assert code != 0 and told in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
    return err


def start_program(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    """``python -m gradtrace ARGS`` as a program of its own in ``cwd``, with
    ``env`` added to the environment; its output and errors piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "gradtrace", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def held_elsewhere(how: str, folder: Path) -> Iterator[str]:
    """While another process holds ``folder`` through ``gradtrace.store``'s
    ``how`` ("writing" or "claim"): yields what that call printed (its result)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; from gradtrace.store import {how}; from pathlib "
            f"import Path; held = {how}(Path(sys.argv[1])); print(bool(held), "
            "flush=True); time.sleep(60)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        yield holder.stdout.readline().strip()
    finally:
        holder.kill()
        holder.communicate()


def seed004_rmsprop(epochs: int = 3, **extra: Any) -> Any:
    """Seed 004's Keras RMSprop run (lr 0.05, batches of 3 in order, from w = 0.5,
    b = 0), the one docs/explain.md explains."""
    import gradtrace

    return gradtrace.fit(
        "seed004_keras",
        optimizer="keras.rmsprop",
        lr=0.05,
        batch_size=3,
        epochs=epochs,
        shuffle=False,
        init={"w": 0.5, "b": 0.0},
        **extra,
    )


#: The first and last pixel rows of a canvas that hold a colour (each channel within
#: 3), and the canvas's height: how far a drawn curve or the data spread.
_COLOUR_ROWS = """([id, r, g, b]) => { const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let top = c.height, bottom = 0;
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - r) < 4 && Math.abs(d[i + 1] - g) < 4
          && Math.abs(d[i + 2] - b) < 4) {
        const y = Math.floor(i / 4 / c.width);
        top = Math.min(top, y); bottom = Math.max(bottom, y); }
    return [top, bottom, c.height]; }"""


def colour_rows(
    page: Any, canvas: str, rgb: tuple[int, int, int]
) -> tuple[int, int, int]:
    """(top, bottom, height): the pixel rows of canvas ``canvas`` (its id) where
    colour ``rgb`` is drawn, first and last, and the canvas's height."""
    top, bottom, height = page.evaluate(_COLOUR_ROWS, [canvas, *rgb])
    return int(top), int(bottom), int(height)


def ctrl_c_after(calls: int) -> Callable[[int, int], None]:
    """A progress callback that raises KeyboardInterrupt at its ``calls``-th call,
    as a Ctrl-C in the middle of a run would."""
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == calls:
            raise KeyboardInterrupt

    return progress


def cut_and_resumed(
    frame: Any,
    model: str,
    options: dict[str, Any],
    folder: Path,
    every: int,
    calls: int,
) -> tuple[Any, Any]:
    """A run of ``options`` that checkpoints every ``every`` steps into
    ``folder`` and is interrupted at its ``calls``-th progress call, and the
    run ``gradtrace.resume`` makes of it: (the cut run, the resumed one)."""
    import gradtrace

    cut = gradtrace.fit(
        frame,
        model,
        **options,
        out=folder,
        checkpoint_every=every,
        progress=ctrl_c_after(calls),
    )
    return cut, gradtrace.resume(folder, data=frame)


def fd_hessian(f: Callable[[Any], float], at: Any, eps: float = 1e-4) -> Any:
    """The Hessian of ``f`` at the point ``at`` (a vector) by central differences,
    computed apart from JAX's derivatives."""
    import numpy as np

    at = np.asarray(at, float)
    n = len(at)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            di, dj = np.eye(n)[i] * eps, np.eye(n)[j] * eps
            h[i, j] = (
                f(at + di + dj) - f(at + di - dj) - f(at - di + dj) + f(at - di - dj)
            ) / (4 * eps * eps)
    return h


def range_test_and_rebuilt(preset: str, n: int = 12, **hyper: Any) -> tuple[Any, Any]:
    """The lr-find range test's parameters after ``n`` steps from 1e-3 to 1, and
    those of the preset built afresh at each step's rate, on the same gradients."""
    import jax.numpy as jnp
    import numpy as np

    from gradtrace.core import transforms
    from gradtrace.core.optimizers import PRESETS, OptimizerSpec

    lr_key = PRESETS[preset].lr_key
    spec = OptimizerSpec.create(preset, **hyper)
    lr_min, lr_max = 1e-3, 1.0
    ranged = spec.build_range(lr_min, lr_max, n)
    grads = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    params = {"w": jnp.float32(1.5), "b": jnp.float32(-0.5)}
    ours, state = dict(params), ranged.init(params)
    theirs, inner = dict(params), spec.build().init(params)
    for t in range(n):
        g = {"w": jnp.float32(grads[t, 0]), "b": jnp.float32(grads[t, 1])}
        u, state = ranged.update(g, state, ours)
        ours = transforms.apply_updates(ours, u)
        rate = lr_min * (lr_max / lr_min) ** (t / (n - 1))
        at_rate = OptimizerSpec.create(preset, **hyper, **{lr_key: rate})
        u, inner = at_rate.build().update(g, inner, theirs)
        theirs = transforms.apply_updates(theirs, u)
    return ours, theirs
