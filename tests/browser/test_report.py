"""The HTML report in a real browser: Debian's Chromium driven by Playwright.

``make test`` installs Debian's ``chromium`` where it is missing; never
``playwright install`` (it downloads a browser, which this network refuses).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import gradtrace
from gradtrace.report import report
from helpers import colour_rows, seed004_rmsprop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        browser.close()


def _open(page, path: Path) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("#step-label")
    return requests, errors


def _move(page, k: int) -> None:  # type: ignore[no-untyped-def]
    page.eval_on_selector(
        "#step",
        "(el, k) => { el.value = String(k); el.dispatchEvent(new Event('input')); }",
        k,
    )


def test_report_in_chromium(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trace = seed004_rmsprop()
    path = report(trace, tmp_path / "report.html")
    requests, errors = _open(page, path)
    frame = trace.to_pandas()
    for step in (0, 1, 5, 12):
        _move(page, step)
        assert page.inner_text("#step-label").startswith(f"step {step} of 12")
        for p in ("w", "b"):
            shown = float(page.inner_text(f"[data-param='{p}']"))
            assert shown == pytest.approx(frame[p][step], rel=1e-6)
        if step:
            rows = page.inner_text("#rows")
            expected = ", ".join(str(r) for r in trace.rows(step))
            assert expected in rows
    _move(page, 0)
    page.click("#play")
    page.wait_for_timeout(1500)
    assert int(page.eval_on_selector("#step", "el => Number(el.value)")) > 0
    for width in (700, 840, 1000):  # no sideways scrolling at any width
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000
    assert requests == [path.as_uri()], requests  # nothing fetched
    assert errors == [], errors


def test_a_step_is_linked_to_and_its_numbers_read_as_pythons(  # type: ignore[no-untyped-def]
    page, tmp_path: Path
) -> None:
    """A teacher had to inject a script to screenshot step 8: report.html#step=8
    opens there, the address follows the slider, and the values read as the
    terminal's tables print them (-2.09413, not -2.094130)."""
    trace = seed004_rmsprop()
    path = report(trace, tmp_path / "report.html")
    page.goto(path.as_uri() + "#step=8")
    page.wait_for_selector("#step-label")
    assert page.inner_text("#step-label").startswith("step 8 of 12")
    frame = trace.to_pandas()
    for p in ("w", "b"):
        assert page.inner_text(f"[data-param='{p}']") == f"{frame[p][8]:.7g}"
    _move(page, 5)
    assert page.evaluate("location.hash") == "#step=5"
    for p in ("w", "b"):
        assert page.inner_text(f"[data-param='{p}']") == f"{frame[p][5]:.7g}"
    # large and small values in exponent form, as Python writes them
    x = np.linspace(0, 1, 20)
    blown = gradtrace.fit({"x": x, "y": 3 * x + 1}, lr=3.0, steps=12)
    tiny = gradtrace.fit({"x": x, "y": 1e-6 * x}, lr=0.5, steps=12, init={"w": 0.0})
    for run, name in ((blown, "blown"), (tiny, "tiny")):
        values = run.to_pandas()
        last = int(values["step"].iloc[-1])
        if not np.isfinite(values["w"].iloc[-1]):
            last -= 1
        page.goto(report(run, tmp_path / f"{name}.html").as_uri() + f"#step={last}")
        page.wait_for_selector("#step-label")
        w = float(values.loc[values["step"] == last, "w"].iloc[0])
        assert page.inner_text("[data-param='w']") == f"{w:.7g}", name


def test_report_at_phone_width_and_for_a_distribution(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trace = gradtrace.fit(
        "seed001_gaussian", "normal", lr=0.01, batch_size=100, epochs=3, seed=1
    )
    path = report(trace, tmp_path / "normal.html")
    page.set_viewport_size({"width": 390, "height": 844})
    _, errors = _open(page, path)
    _move(page, 7)
    shown = float(page.inner_text("[data-param='loc']"))
    assert shown == pytest.approx(trace.to_pandas()["loc"][7], rel=1e-6)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    # the estimates' numbers stay whole, one line a cell (they broke a digit a
    # line: "6 2 . 1 8"); their section scrolls sideways instead
    heights = page.eval_on_selector_all(
        "#estimates tbody td",
        "cells => cells.map(c => c.getBoundingClientRect().height)",
    )
    assert heights and max(heights) < 1.5 * min(heights), heights
    assert errors == [], errors


def _pixels(
    page, canvas: str = "fit", rgb: tuple[int, int, int] = (59, 82, 139)
) -> int:  # type: ignore[no-untyped-def]
    """How many pixels of a canvas have a colour (by default the fitted curve's)."""
    return int(
        page.evaluate(
            """([id, rgb]) => { const c = document.getElementById(id);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 0; i < d.length; i += 4)
              if (Math.abs(d[i] - rgb[0]) < 4 && Math.abs(d[i + 1] - rgb[1]) < 4
                  && Math.abs(d[i + 2] - rgb[2]) < 4) n++;
            return n; }""",
            [canvas, list(rgb)],
        )
    )


GREY = (158, 158, 158)  # the batch loss's colour


def test_report_fit_panel_keeps_far_lines_in_view(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 100)
    y = 2 + x + rng.normal(0, 0.15, 100)  # far above the start's line y = 0
    trace = gradtrace.fit(
        {"x": x, "y": y}, optimizer="adam", lr=0.1, batch_size=16, epochs=5
    )
    _, errors = _open(page, report(trace, tmp_path / "far.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    _move(page, 3)  # the line still far below the data: drawn in the axes
    inside, outside = page.evaluate(
        """() => { const c = document.getElementById('fit');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let inside = 0, outside = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - 59) > 3 || Math.abs(d[i + 1] - 82) > 3
              || Math.abs(d[i + 2] - 139) > 3) continue;
          const px = (i / 4) % c.width, py = Math.floor(i / 4 / c.width);
          if (px >= 52 && px < c.width - 12 && py >= 12 && py < c.height - 40) inside++;
          else outside++;
        }
        return [inside, outside]; }"""
    )
    assert inside > 100 and outside < 20, (inside, outside)
    assert errors == [], errors


def test_report_draws_y_against_the_prediction_for_several_x(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = x @ np.array([1.5, -2.0]) + 0.5 + rng.normal(0, 0.1, 300)
    # a column's name is shown as text, never read as HTML
    data = {"x1": x[:, 0], "<b>x2</b>": x[:, 1], "y": y}
    trace = gradtrace.fit(data, "linear", lr=0.1, batch_size=32, epochs=3)
    _, errors = _open(page, report(trace, tmp_path / "two.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.inner_text("#fit-caption").startswith("y against the fitted prediction")
    # the table names the slopes by their columns, as the pictures do
    names = page.eval_on_selector_all(
        "#values tbody tr", "rows => rows.map(r => r.firstChild.textContent)"
    )
    assert names == ["w[x1]", "w[<b>x2</b>]", "b"], names
    drawn = {}
    for k in (0, trace.steps):
        _move(page, k)
        # the rows (blue) and the batch's (red)
        drawn[k] = _pixels(page) + _pixels(page, rgb=(214, 39, 40))
    assert drawn[0] > 300 and drawn[trace.steps] > 300
    assert errors == [], errors


ORANGE = (242, 142, 43)  # the binned means' colour, as fit.png's


def test_report_several_x_draws_binned_means_and_jitters_0_1(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Logistic regression on two columns: the 0/1 y are jittered (so the rows do
    not sit on two lines) and the mean of y in bins of the prediction is drawn,
    as in fit.png; a model whose y has many values draws its means too."""
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    p = 1 / (1 + np.exp(-(x @ np.array([2.0, -1.0]))))
    data = {"x1": x[:, 0], "x2": x[:, 1], "y": (rng.uniform(size=400) < p) * 1.0}
    trace = gradtrace.fit(data, "logistic", lr=0.5, steps=60)
    _, errors = _open(page, report(trace, tmp_path / "logit.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    caption = page.inner_text("#fit-caption")
    assert "y jittered up and down" in caption
    assert "in orange the mean of y in 10 bins of the prediction" in caption
    _move(page, trace.steps)
    assert _pixels(page, rgb=ORANGE) > 100
    # the rows' dots spread over many heights, not two lines
    heights = page.evaluate(
        """(rgb) => { const c = document.getElementById('fit');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const rows = new Set(); for (let i = 0; i < d.length; i += 4)
          if (Math.abs(d[i] - rgb[0]) < 4 && Math.abs(d[i + 1] - rgb[1]) < 4
              && Math.abs(d[i + 2] - rgb[2]) < 4) rows.add(Math.floor(i / 4 / c.width));
        return rows.size; }""",
        [59, 82, 139],
    )
    assert heights > 40, heights
    assert errors == [], errors


def test_report_table_fits_its_card_with_long_numbers(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(500, 3000, size=(50, 2))
    y = x @ np.array([100.0, 50.0]) + rng.normal(0, 2e4, 50)
    data = {"x1": x[:, 0], "x2": x[:, 1], "y": y}
    # blows up: parameters and gradients like -1.205875e+37
    trace = gradtrace.fit(data, "linear", lr=1e-5, steps=12)
    _, errors = _open(page, report(trace, tmp_path / "long.html"))
    for width in (840, 1000, 1280, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        for step in (1, trace.steps):
            _move(page, step)
            inner, outer = page.evaluate(
                """() => { const f = document.getElementById('values').parentElement;
                return [f.scrollWidth, f.clientWidth]; }"""
            )
            assert inner <= outer, (width, step, inner, outer)
    assert errors == [], errors


def test_report_loss_axis_is_the_losses_not_an_optimum_of_rounding(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    data = {"x": np.linspace(0, 1, 50), "y": np.full(50, 3.0)}  # optimum's loss ~0
    trace = gradtrace.fit(data, lr=0.5, steps=30)
    assert trace.info["optimum_loss"] < 1e-20
    _, errors = _open(page, report(trace, tmp_path / "flat.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    top, bottom, height = colour_rows(page, "loss", (59, 82, 139))
    assert bottom - top > 0.6 * (height - 52), (top, bottom)  # the curve fills it
    assert errors == [], errors


def test_report_loss_panel_draws_each_batchs_loss(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = "seed001_gaussian"
    batches = gradtrace.fit(data, "normal", lr=0.01, batch_size=100, epochs=3, seed=1)
    sparse = gradtrace.fit(
        data, "normal", lr=0.01, batch_size=100, epochs=3, seed=1, eval_every=10
    )
    whole = gradtrace.fit(data, "normal", lr=0.01, steps=30)
    page.set_viewport_size({"width": 1280, "height": 900})
    seen = {}
    for name, trace in (("batches", batches), ("sparse", sparse), ("whole", whole)):
        _, errors = _open(page, report(trace, tmp_path / f"{name}.html"))
        assert errors == [], errors
        seen[name] = (page.inner_text("#loss-caption"), _pixels(page, "loss", GREY))
        _move(page, 14)
        lines = page.evaluate(  # of each number in the table
            """() => [...document.querySelectorAll('#values td')].map((td) => {
                const r = document.createRange(); r.selectNodeContents(td);
                return r.getClientRects().length; })"""
        )
        assert lines and set(lines) == {1}, lines  # not broken across lines
    caption, grey = seen["batches"]
    assert caption == (
        "each batch's loss before its step (grey) and the loss over all the data "
        "after each step where it was taken (blue); the optimum's loss (red, dashed)"
    )
    assert grey > 200  # 30 noisy steps of a grey line
    caption, grey = seen["sparse"]
    assert "(blue, dots)" in caption and grey > 200
    caption, grey = seen["whole"]  # full batch: the batch's loss is the data's
    assert caption.startswith("the loss over all the data after each step")
    assert grey < 10


@pytest.mark.parametrize("case", ["poisson", "exp-decay", "logistic", "batches"])
def test_report_draws_any_models_curve(
    page, tmp_path: Path, case: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from gradtrace.report import html

    monkeypatch.setattr(html, "MAX_ROWS", 120)  # of 300 rows: it says so

    rng = np.random.default_rng(0)
    if case == "poisson":
        trace = gradtrace.fit({"y": rng.poisson(4.0, 300)}, "poisson", lr=0.5, steps=40)
    elif case == "batches":  # mini-batches: the batch's rows in red
        x = rng.normal(size=300)
        trace = gradtrace.fit({"x": x, "y": 2 * x}, lr=0.1, batch_size=20, epochs=2)
    elif case == "logistic":  # a vector w of one x column: a curve over x
        x = rng.normal(size=300)
        y = (rng.uniform(size=300) < 1 / (1 + np.exp(-2 * x))).astype(float)
        trace = gradtrace.fit({"x": x, "y": y}, "logistic", lr=0.5, steps=40)
    else:
        x = np.linspace(0, 5, 100)
        y = 3 * np.exp(-0.8 * x) + 0.5 + rng.normal(0, 0.05, 100)
        trace = gradtrace.fit(
            {"x": x, "y": y}, "exp-decay", optimizer="adam", lr=0.05, steps=300
        )
    path = report(trace, tmp_path / f"{case}.html")
    page.set_viewport_size({"width": 1280, "height": 900})
    _, errors = _open(page, path)
    _move(page, trace.steps)
    assert _pixels(page) > 100  # the fitted curve is drawn
    rows = trace.info["data"]["n_rows"]
    fit = page.inner_text("#fit-caption")
    full = trace.info["schedule"]["batch_size"] >= rows
    marked = "full batch: every step uses every row"
    # of a batch's rows, those among the rows drawn are red, and counted
    from gradtrace.report.html import payload

    shown = payload(trace)
    last = shown["frames"][-1]
    # a batch of every row carries no list of them: the page says so instead
    assert ("rows" not in last) == (last["n_rows"] == rows)
    drawn = len(set(last.get("rows", [])) & set(shown["data"]["index"]))
    assert 0 < drawn < last["n_rows"] or full or rows <= 120
    red = f"in red {drawn} of this batch's {last['n_rows']} rows"
    # a mini-batch step's fit before it, dotted, where the frame before is the
    # step before
    frames = shown["frames"]
    before = not full and frames[-2]["step"] == last["step"] - 1
    then = "; dotted: the fit before this step, where its gradient was taken"
    assert fit == (
        f"the fit over 120 of the data's {rows} rows ("
        + (marked if full else red + then * before)
        + ")"
        if rows > 120
        else "the fit over the data ("
        + (marked if full else "the batch in red" + then * before)
        + ")"
    )
    if before:  # the line before the step: dotted, half-transparent
        # the fit panel's strokes as they are drawn (a canvas keeps none)
        page.evaluate(
            """() => { window.__strokes = [];
            const stroke = CanvasRenderingContext2D.prototype.stroke;
            CanvasRenderingContext2D.prototype.stroke = function () {
              if (this.canvas.id === 'fit') window.__strokes.push(
                [String(this.strokeStyle), this.getLineDash().join(',')]);
              return stroke.apply(this, arguments); }; }"""
        )
        strokes = "() => window.__strokes.splice(0)"
        _move(page, 2)
        drawn = page.evaluate(strokes)
        assert ["rgba(59, 82, 139, 0.55)", "2,3"] in drawn, drawn
        _move(page, 0)  # the start: no step before it
        assert "dotted" not in page.inner_text("#fit-caption")
        assert all(dash != "2,3" for _, dash in page.evaluate(strokes))
    caption = page.inner_text("#landscape-caption")
    if case != "poisson":  # one parameter: no landscape
        assert caption.startswith("the loss over") and "needs" not in caption
    # the colour bar under the landscape, where there is one
    assert page.is_visible("#landscape-scale") == (case != "poisson")
    assert errors == [], errors


def test_report_lists_the_runs_warnings(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [2.0, 4.0, 6.0, 8.0, 10.5]}
    rising = gradtrace.fit(data, lr=0.1, steps=30)
    _, errors = _open(page, report(rising, tmp_path / "rising.html"))
    assert page.is_visible("#warnings")
    shown = page.eval_on_selector_all(
        "#warnings li", "els => els.map(e => e.textContent)"
    )
    said = rising.convergence_warnings() + rising.diagnosis_warnings()
    # a list of warnings: each without the command's "warning: " in front
    assert shown == [w.removeprefix("warning: ") for w in said] and len(shown) >= 2
    fine = gradtrace.fit(data, lr=0.02, steps=3000)
    assert fine.warnings == []
    _open(page, report(fine, tmp_path / "fine.html"))
    assert not page.is_visible("#warnings")
    assert not page.is_visible("#notes")
    assert errors == [], errors


def test_report_lists_the_runs_notes(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = {"x": [1.0, 2.0, None, 4.0, 5.0], "y": [2.0, 4.0, 6.0, 8.0, 10.5]}
    trace = gradtrace.fit(data, lr=0.02, steps=3000, drop_missing=True)
    _, errors = _open(page, report(trace, tmp_path / "noted.html"))
    shown = page.eval_on_selector_all("#notes li", "els => els.map(e => e.textContent)")
    assert shown == [f"note: {n}." for n in trace.info["notices"]]
    assert any("dropped 1 row" in n for n in shown), shown
    assert page.is_visible("#notes") and errors == [], errors


def test_report_names_rows_by_their_place_in_the_data_given(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(8.0), "y": 2 * np.arange(8.0) + 1})
    frame.loc[1, "y"] = np.nan
    trace = gradtrace.fit(
        frame, batch_size=2, epochs=1, shuffle=False, drop_missing=True, lr=0.01
    )
    _, errors = _open(page, report(trace, tmp_path / "dropped.html"))
    _move(page, 2)
    assert "rows in this batch (2): 3, 4" in page.inner_text("#rows")
    assert errors == [], errors


def test_report_says_each_steps_rate_and_cycled_momentum(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A scheduled run's step panel gives the rate the step used, and the momentum
    where OneCycleLR or CyclicLR set it, as the trace's columns have them."""
    trace = gradtrace.fit(
        "seed001_line",
        optimizer="torch.sgd",
        lr=0.1,
        batch_size=25,
        epochs=3,
        lr_schedule="torch.cyclic:base_lr=0.02,step_size_up=4",
    )
    frame = trace.to_pandas()
    _, errors = _open(page, report(trace, tmp_path / "cyclic.html"))
    _move(page, 3)
    import re

    said = page.inner_text("#losses")
    found = re.search(r"this step's rate ([\d.e-]+), momentum ([\d.e-]+)$", said)
    assert found is not None, said
    rate, momentum = (float(v) for v in found.groups())
    assert rate == pytest.approx(frame["lr"][3], rel=1e-6)
    assert momentum == pytest.approx(frame["momentum"][3], rel=1e-6)
    _move(page, 0)
    assert "rate" not in page.inner_text("#losses")
    # the header names the schedule and where it took the rate, as the summary
    header = page.inner_text("#summary")
    assert "Learning rate torch.cyclic(base_lr=0.02, step_size_up=4" in header
    assert f"{frame['lr'].iloc[1]:.6g} at step 1" in header
    assert errors == [], errors


def test_report_draws_the_rate_a_plateau_took_on_its_own_axis(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The loss panel draws each step's rate (orange) on a right axis of its own,
    log where it spans over a hundredfold, as loss.png does: a plateau's cuts show
    as steps down the panel; a run without a schedule draws none."""
    trace = gradtrace.fit(
        "seed001_line",
        optimizer="torch.sgd",
        lr=0.1,
        batch_size=20,
        epochs=30,
        lr_schedule="torch.plateau:patience=0,factor=0.2,threshold=0.2",
    )
    rates = trace.to_pandas()["lr"].to_numpy()[1:]
    assert rates.max() / rates.min() > 100  # cut several times: a log axis
    _, errors = _open(page, report(trace, tmp_path / "plateau.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    orange = (242, 142, 43)
    top, bottom, height = colour_rows(page, "loss", orange)
    assert bottom - top > 0.5 * (height - 58), (top, bottom)  # from top to low
    caption = page.inner_text("#loss-caption")
    assert "the learning rate each step took (orange, right axis)" in caption
    assert errors == [], errors
    plain = gradtrace.fit("seed001_line", lr=0.1, batch_size=20, epochs=3)
    _open(page, report(plain, tmp_path / "plain.html"))
    top, bottom, _ = colour_rows(page, "loss", orange)
    assert top > bottom  # none drawn
    assert "learning rate" not in page.inner_text("#loss-caption")


def test_report_draws_the_validation_loss(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A run with validation data: the loss panel draws their loss after each
    epoch (pink squares), the caption says so, and a step that ends an epoch
    names it; a run without them draws none."""
    trace = gradtrace.fit(
        "seed003_linear",
        lr=0.05,
        batch_size=100,
        epochs=6,
        validation_split=0.25,
    )
    frame = trace.to_pandas()
    _, errors = _open(page, report(trace, tmp_path / "held.html"))
    page.set_viewport_size({"width": 1280, "height": 900})
    pink = (227, 119, 194)
    assert _pixels(page, "loss", pink) > 6 * 20  # six squares and their line
    assert "the validation data's loss after each epoch" in page.inner_text(
        "#loss-caption"
    )
    end = int(frame.loc[frame["val_loss"].notna(), "step"].iloc[1])  # epoch 1's
    _move(page, end)
    import re

    said = page.inner_text("#losses")
    found = re.search(r"validation loss after the epoch ([\d.e-]+)", said)
    assert found is not None, said
    assert float(found.group(1)) == pytest.approx(frame["val_loss"][end], rel=1e-5)
    assert errors == [], errors
    assert "(pink, squares)" in page.inner_text("#loss-caption")
    # 400 epochs: the line alone, said so (400 squares hid the training loss)
    many = gradtrace.fit("seed003_linear", lr=0.05, epochs=400, validation_split=0.25)
    _open(page, report(many, tmp_path / "many.html"))
    caption = page.inner_text("#loss-caption")
    assert "after each epoch (pink)" in caption and "squares" not in caption
    plain = gradtrace.fit("seed003_linear", lr=0.05, batch_size=100, epochs=2)
    _open(page, report(plain, tmp_path / "plain.html"))
    assert _pixels(page, "loss", pink) == 0
    assert "validation" not in page.inner_text("#loss-caption")
