"""The report's panels in Debian's Chromium (as tests/browser does): axes a class
can read on a projector, and a run that blew up framed as the PNGs frame it.

The page's canvas text is recorded as it is drawn (its font, where, on which
canvas), since a canvas keeps no text to ask for afterwards.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradtrace
from gradtrace.data import generate
from gradtrace.report import report
from helpers import colour_rows

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RECORD = """
window.__texts = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y) {
  const m = this.getTransform(), c = this.canvas;
  window.__texts.push({ canvas: c.id || "offscreen", text: String(text),
    px: parseFloat(this.font.match(/([0-9.]+)px/)[1]) * Math.hypot(m.a, m.b),
    x: m.a * x + m.e, y: m.d * y + m.f, rotated: m.b !== 0, width: c.width });
  return fillText.apply(this, arguments);
};
"""


@pytest.fixture(scope="module")
def page():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(RECORD)
        yield context.new_page()
        browser.close()


def _open(page, path: Path) -> tuple[list[str], list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """The page's errors, and what it wrote on its canvases as it loaded (the
    landscape's axes, drawn once offscreen, among them)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("#step-label")
    return errors, list(page.evaluate("() => window.__texts"))


def _texts_at(page, k: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """What the page writes on its canvases when the slider moves to frame k."""
    page.evaluate("() => { window.__texts = []; }")
    page.eval_on_selector(
        "#step",
        "(el, k) => { el.value = String(k); el.dispatchEvent(new Event('input')); }",
        k,
    )
    return list(page.evaluate("() => window.__texts"))


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _diverged(lr: float) -> gradtrace.Trace:
    frame, _ = generate("line", 200, w=[3.0], b=-1.0, noise=0.5, seed=1)
    return gradtrace.fit(frame, lr=lr, epochs=50)


def test_report_axes_read_on_a_projector(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every panel's text is at least 12 CSS pixels as shown (not a 640-pixel
    canvas's 15 shown 400 wide, 9), and each axis has at least three ticks."""
    _, loaded = _open(page, report(_diverged(0.9), tmp_path / "r.html"))
    texts = loaded + _texts_at(page, 5)
    shown = {
        c: page.evaluate(f"() => document.getElementById('{c}').clientWidth")
        for c in ("fit", "landscape", "loss")
    }
    for t in texts:
        canvas = "landscape" if t["canvas"] == "offscreen" else t["canvas"]
        size = t["px"] * shown[canvas] / t["width"]
        assert size >= 12, (t, size)
    for canvas in ("fit", "loss", "offscreen"):  # the landscape's drawn offscreen
        ticks = [
            t for t in texts if t["canvas"] == canvas and _number(t["text"].strip())
        ]
        along_x = Counter(round(t["y"]) for t in ticks).most_common(1)[0][1]
        along_y = Counter(round(t["x"]) for t in ticks).most_common(1)[0][1]
        assert along_x >= 3 and along_y >= 3, (canvas, ticks)


def test_report_of_a_run_that_blew_up_is_framed_on_the_data_and_its_start(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """lr 2 overflows at step 30: the fit panel is framed on the data (the points
    fill its height) and says the line left; the landscape's ticks are the
    start's and the optimum's few units (not 1e18), and this step, far off, is
    said to be off the chart."""
    trace = _diverged(2.0)
    errors, loaded = _open(page, report(trace, tmp_path / "blown.html"))
    said = [t["text"] for t in _texts_at(page, 20)]
    assert any(s.startswith("the fit runs") and "the chart" in s for s in said), said
    assert any(s.startswith("this step is off the chart") for s in said), said
    land = [
        t["text"] for t in loaded if t["canvas"] == "offscreen" and not t["rotated"]
    ]
    numbers = [float(s) for s in land if _number(s)]
    assert numbers and max(abs(v) for v in numbers) < 10, land
    caption = page.inner_text("#landscape-caption")
    assert "showing steps 0-1" in caption
    assert "(dashed red: that step, toward where it went)" in caption
    # the points (green: a full batch marks none red) span most of the plot's height
    top, bottom, height = colour_rows(page, "fit", (94, 201, 98))
    assert bottom - top > 0.6 * (height - 58), (top, bottom, height)
    assert errors == [], errors


def test_an_axis_over_a_narrow_span_labels_each_tick_apart(
    page: Any, tmp_path: Path
) -> None:
    """A normal fitted from near its optimum: the loss falls from 1.42590 to
    1.42585, and the loss panel's six ticks all read "1.426"; now the first is
    written whole and the others as what they add to it ("+1e-5")."""
    trace = gradtrace.fit("seed002_normal", model="normal", steps=200, lr=0.1)
    errors, texts = _open(page, report(trace, tmp_path / "r.html"))
    assert errors == [], errors
    on_loss = [
        t["text"]
        for t in texts
        if t["canvas"] == "loss" and not t["rotated"] and _number(t["text"])
    ]
    assert "1.42585" in on_loss and "+1e-5" in on_loss, on_loss
    assert len(set(on_loss)) == len(on_loss), on_loss


def test_a_long_runs_loss_panel_reads_its_steps_on_a_log_scale(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """20000 steps: on a linear axis the descent was one line at step 0; as
    loss.png's, the axis is a log's, ticked 0, 1, 10, ... 10000, each decade
    the same width apart."""
    trace = gradtrace.fit("seed001_line", lr=0.05, steps=20000)
    errors, texts = _open(page, report(trace, tmp_path / "long.html"))
    assert not errors
    loss = [t for t in texts if t["canvas"] == "loss"]
    assert any(t["text"] == "step (log scale)" for t in loss)
    row = next(t["y"] for t in loss if t["text"] == "10000")  # the step axis's
    ticks = {
        t["text"]: t["x"]
        for t in loss
        if t["text"] in ("1", "10", "100", "1000") and abs(t["y"] - row) < 1
    }
    assert set(ticks) == {"1", "10", "100", "1000"}
    gaps = [
        ticks["10"] - ticks["1"],
        ticks["100"] - ticks["10"],
        ticks["1000"] - ticks["100"],
    ]
    assert max(gaps) - min(gaps) < 1.0
    short = gradtrace.fit("seed001_line", lr=0.05, steps=200)
    _, texts = _open(page, report(short, tmp_path / "short.html"))
    assert any(t["text"] == "step" and t["canvas"] == "loss" for t in texts)


def test_the_fit_panel_says_how_many_of_the_batchs_rows_it_shows(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Of 20000 rows the page draws 400: a batch of 32 mostly has none among
    them, and the caption says so (it promised red rows before); the binned
    means are over every row, as fit.png's."""
    data = generate("logistic", 20000, w=(1.0, -0.25, 0.8), b=-0.4, seed=1)[0]
    trace = gradtrace.fit(
        data, "logistic", optimizer="adam", lr=0.01, batch_size=32, epochs=1
    )
    errors, _ = _open(page, report(trace, tmp_path / "logistic.html"))
    frames = int(page.eval_on_selector("#step", "(el) => el.max"))
    said = []
    for k in (1, frames // 2, frames):
        _texts_at(page, k)
        said.append(page.inner_text("#fit-caption"))
    for caption in said:
        assert "400 of 20000 rows" in caption, caption
        assert "over all the rows" in caption, caption
        assert "none of this batch's 32 rows among them" in caption or (
            "of this batch's 32 rows" in caption and "in red" in caption
        ), caption
    # the landscape's colour scale in words: its darkest and brightest losses
    from gradtrace.report.html import payload

    land_data = payload(trace)["landscape"]
    z = [v for row in land_data["z"] for v in row if v]
    # the darkest: the optimum's loss where the slice passes through it, to the
    # 7 digits a summary prints it
    lowest = min(z) if land_data["lowest"] is None else min(land_data["lowest"], *z)
    shade = f"log colour above the lowest, dark {float(f'{lowest:.7g}'):g} to yellow "
    land = page.inner_text("#landscape-caption")
    assert shade + f"{float(f'{max(z):.4g}'):g};" in land, land
    # and as a bar under it: the same two ends, and in its middle the loss
    # halfway up the log scale above the lowest (its floor the 1% quantile of
    # the cells above the lowest)
    ends = page.eval_on_selector_all(
        "#landscape-scale .end", "(els) => els.map((e) => e.textContent)"
    )
    assert [float(v) for v in ends] == [
        float(f"{lowest:.7g}"),
        float(f"{max(z):.4g}"),
    ], ends
    above = np.sort([v - lowest for v in z if v > lowest])
    floor = max(above[int(0.01 * (len(above) - 1))], (max(z) - lowest) * 1e-9)
    middle = lowest + np.sqrt(floor * (max(z) - lowest + floor)) - floor
    shown = float(page.inner_text("#landscape-scale .mid"))
    assert shown == pytest.approx(middle, rel=5e-3), (shown, middle)
    assert lowest < shown < max(z)
    assert errors == [], errors


def test_the_address_follows_play_and_large_losses_read_as_numbers(
    page: Any, tmp_path: Path
) -> None:
    """A teacher's findings: after play stopped the address had no #step= (the
    slider's moves set it), and a caption read "dark 373990400 to yellow
    9332000000". (A cell may still break before an exponent: two cards side by
    side at 840 px hold 400 px each, tests/browser/test_report.py.)"""
    rng = np.random.default_rng(2)
    x = rng.uniform(50, 150, 60)
    data = {"x": x, "y": 1500 * x + 20000 + rng.normal(0, 5000, 60)}
    trace = gradtrace.fit(data, "line", lr=1e-5, steps=40)
    errors, _ = _open(page, report(trace, tmp_path / "big.html"))
    land = page.inner_text("#landscape-caption")
    dark = land.split("dark ", 1)[1].split(" to yellow ")[0]
    assert "e+" in dark and len(dark) < 14, land
    page.click("#play")
    page.wait_for_function(
        "() => document.querySelector('#play').textContent.includes('play')"
    )
    assert page.evaluate("() => location.hash").startswith("#step=40")
    assert errors == [], errors


def test_a_distributions_fit_panel_keeps_one_scale_over_the_steps(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A teacher's Adam on a Gaussian: the density axis ran to 0.4 at step 0
    and 0.25 at step 50, the initial curve cut off and the picture jumping as it
    played. One scale holds every step, as the animation's does."""
    rng = np.random.default_rng(1)
    trace = gradtrace.fit(
        {"y": rng.normal(5, 2, 500)}, "normal", optimizer="adam", lr=0.1, steps=60
    )
    errors, _ = _open(page, report(trace, tmp_path / "normal.html"))

    def ticks(k: int) -> list[tuple[str, float]]:
        return sorted(
            (t["text"], round(t["y"], 1))
            for t in _texts_at(page, k)
            if t["canvas"] == "fit" and _number(t["text"]) and not t["rotated"]
        )

    first, last = ticks(0), ticks(60)
    assert first == last and len(first) > 4, (first, last)
    # the start's curve, 0.2 high against the data's 0.2: inside the scale
    assert max(float(t) for t, _ in first) >= 0.2
    assert errors == [], errors
