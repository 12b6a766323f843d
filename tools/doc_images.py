"""Draw the pictures in docs/img again with the current build, by the commands
the README and docs/exercises.md print beside them: they went out of date when
the pictures changed (a teacher found exercise 1's heatmap titled otherwise than
the sweep draws it). Run it after changing a picture, and commit the PNGs:

    .venv/bin/python tools/doc_images.py

Each command runs in a scratch folder with this environment's gradtrace; the
pictures are copied into docs/img under the names the docs use.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"

#: docs/exercises.md's options common to its sweeps, as its $common spells them
COMMON = (
    "--model normal --reduction sum --fix scale=1 --steps 10000 --dtype float64 "
    "--compute-dtype float32 --no-shuffle"
)

#: (the command as the docs print it, with $gt and $common; what it writes,
#: under the folder it names; the name in docs/img)
PICTURES: list[tuple[str, str, str]] = [
    (
        ".venv/bin/gradtrace fit seed001_line --lr 0.05 --epochs 30 --init w=0.018 "
        "--no-shuffle --plot --out line",
        "line/fit.png",
        "line-mse-fit.png",
    ),
    ("", "line/landscape.png", "line-mse-landscape.png"),
    ("", "line/loss.png", "line-mse-loss.png"),
    ("", "line/params.png", "line-mse-params.png"),
    (
        "$gt sweep seed002_normal $common --lr 1e-8:1e-3:log21 --init loc=-5000,1 "
        "--out ex1",
        "ex1/heatmap.png",
        "exercise1_heatmap.png",
    ),
    ("", "ex1/losses.png", "exercise1_losses.png"),
    (
        "$gt data normal --n 100 --loc 0 --scale 1 --seed 3 -o n100.csv",
        "",
        "",
    ),
    (
        "$gt sweep n100.csv $common --lr 1e-8:1e-1:log29 --init loc=1 --out ex3",
        "ex3/heatmap.png",
        "exercise3_heatmap.png",
    ),
]


def documented(command: str) -> str:
    """The command as the docs print it: the README's fit without its --out
    (it writes into runs/), the exercises' with $gt and $common."""
    return command.removesuffix(" --out line")


def runnable(command: str, gradtrace: str) -> list[str]:
    """The command's words, $gt and $common filled in, run by ``gradtrace``."""
    words = shlex.split(command.replace("$common", COMMON).replace("$gt", gradtrace))
    if words[0] == ".venv/bin/gradtrace":
        words[0] = gradtrace
    return words


def main() -> int:
    gradtrace = str(Path(sys.executable).with_name("gradtrace"))
    with tempfile.TemporaryDirectory() as scratch:
        for command, written, name in PICTURES:
            if command:
                print("$", documented(command), flush=True)
                subprocess.run(
                    runnable(command, gradtrace),
                    cwd=scratch,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            if written:
                shutil.copyfile(Path(scratch) / written, IMG / name)
                print(f"  docs/img/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
