"""A trace's summary table and warnings in Python: what ``gradtrace show`` prints,
for pandas and notebooks, checked against least squares done here in NumPy."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gradtrace
from gradtrace.data import builtin

ROOT = Path(__file__).resolve().parents[1]

X = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
Y = np.array([2.0, 4.0, 6.0, 8.0, 10.5])


def _least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w, b and their standard errors, sigma^2 = SSR / (n - 2)."""
    design = np.column_stack([x, np.ones_like(x)])
    coef, ssr, _, _ = np.linalg.lstsq(design, y, rcond=None)
    sigma2 = float(ssr[0]) / (len(y) - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return coef, np.sqrt(np.diag(cov))


def test_a_diverging_run_warns_in_its_repr_summary_and_notebook_view() -> None:
    trace = gradtrace.fit(pd.DataFrame({"x": X, "y": Y}), lr=0.1, steps=100)
    assert trace.status == "completed"  # the loss grew, but stayed finite
    warnings = trace.warnings
    assert len(warnings) == 2
    assert warnings[0].startswith("the loss ended above where it started")
    assert "above the stable limit" in warnings[1]
    # its last line says so too, not just "completed": a newcomer read that as fine
    start, final = trace.to_pandas()["loss"].iloc[0], trace.final_loss
    assert trace.message == (
        f"completed 100 steps, but its loss rose ({start:.7g} -> {final:.7g})."
    )
    assert trace.loss_rose and not gradtrace.fit("seed001_line", steps=20).loss_rose
    first, *rest = repr(trace).split("\n")
    assert first.startswith("<Trace line/mse sgd lr=0.1: 100 steps, completed")
    assert rest == [f"  {w}" for w in warnings]
    html = trace._repr_html_()
    assert "above the stable limit" in html and "ended above where it started" in html
    # the numbers a statistician looks for, as the summary has them
    row = trace.summary().loc["w"]
    assert "<th>optimum</th><th>std. error</th><th>95% interval</th>" in html
    assert f"<td>{row['std_error']:.4g}</td>" in html
    # both ends to the standard error's fourth significant digit
    decimals = 3 - int(np.floor(np.log10(row["std_error"])))
    low, high = row["ci_low"], row["ci_high"]
    assert f"<td>{low:.{decimals}f} to {high:.{decimals}f}</td>" in html
    table = trace.summary()
    assert table.attrs["warnings"] == warnings
    assert table.attrs["ranged"] is None  # a line's w and b have no range
    assert table.attrs["loss"]["final"] == trace.final_loss
    diverged = gradtrace.fit({"x": X, "y": Y}, lr=1.0, steps=100)
    assert diverged.diverged and not np.isfinite(diverged.final_loss)
    assert not np.isfinite(diverged.summary().attrs["loss"]["final"])
    assert table.attrs["status"] == "completed"
    assert table.attrs["gap"] == pytest.approx(
        table.attrs["loss"]["final"] - table.attrs["optimum_loss"]
    )


def test_the_summary_is_the_optimum_its_errors_and_a_95_percent_interval() -> None:
    trace = gradtrace.fit({"x": X, "y": Y}, lr=0.02, steps=5000, dtype="float64")
    assert trace.warnings == [] and "\n" not in repr(trace)
    table = trace.summary()
    assert list(table.index) == ["w", "b"] and table.index.name == "parameter"
    assert list(table.columns) == [
        "initial",
        "final",
        "optimum",
        "std_error",
        "ci_low",
        "ci_high",
        "t",
        "p_value",
    ]
    coef, se = _least_squares(X, Y)
    np.testing.assert_allclose(table["optimum"], coef, rtol=1e-9)
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-6)
    t = 3.1824463052837078  # Student's t, 97.5%, 3 degrees of freedom (n - 2)
    np.testing.assert_allclose(table["ci_low"], coef - t * se, rtol=1e-6)
    np.testing.assert_allclose(table["ci_high"], coef + t * se, rtol=1e-6)
    np.testing.assert_allclose(table["final"], coef, rtol=1e-6)
    assert table["initial"].tolist() == [0.0, 0.0]
    residual = Y - (coef[0] * X + coef[1])
    assert table.attrs["optimum_loss"] == pytest.approx(np.mean(residual**2))
    assert table.attrs["loss"]["initial"] == pytest.approx(np.mean(Y**2))


def test_vector_fixed_and_true_parameters_get_rows_of_their_own() -> None:
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(100, 2))
    data = {"a": xs[:, 0], "c": xs[:, 1], "y": xs @ [1.0, -2.0] + 0.5}
    table = gradtrace.fit(data, "linear", x=["a", "c"], lr=0.1, steps=20).summary()
    assert list(table.index) == ["w[0]", "w[1]", "b"]
    normal = gradtrace.fit(
        "seed001_gaussian", "normal", fix={"scale": 1.5}, lr=0.1, steps=20
    ).summary()
    assert list(normal.index) == ["loc", "scale"]
    assert normal.loc["scale", "fixed"] == 1.5 and np.isnan(normal.loc["loc", "fixed"])
    assert normal.loc["scale", "initial"] == normal.loc["scale", "final"] == 1.5
    assert np.isnan(normal.loc["scale", "std_error"])  # not estimated
    assert normal["truth"].tolist() == [2.0, 1.0]  # the data set's generating values
    loc = normal.loc["loc"]  # a likelihood's interval: -+ 1.96 standard errors
    assert loc["ci_high"] - loc["optimum"] == pytest.approx(1.959964 * loc["std_error"])
    assert loc["optimum"] - loc["ci_low"] == pytest.approx(1.959964 * loc["std_error"])


def test_a_trace_writes_its_report_with_the_warnings(tmp_path: Path) -> None:
    trace = gradtrace.fit({"x": X, "y": Y}, lr=0.1, steps=30)
    path = trace.report(tmp_path / "r.html")
    text = path.read_text()
    blob = re.search(r'<script id="data" type="application/json">(.*?)</script>', text)
    assert blob is not None
    payload = json.loads(blob.group(1).replace("<\\/", "</"))
    said = trace.convergence_warnings() + trace.diagnosis_warnings()
    # the command's words, as its message, a list without "warning: " in front
    assert payload["warnings"] == [w.removeprefix("warning: ") for w in said]
    assert said[0].startswith("warning: ") and not payload["warnings"][0].startswith(
        "warning"
    )
    assert any("above the stable limit" in w for w in trace.warnings)
    assert payload["notes"] == []


def test_a_report_lists_the_runs_notes(tmp_path: Path) -> None:
    """What the command prints as "note:" lines (here: rows dropped for a missing
    value, noise that grows with x) the report lists below its warnings."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 400)
    y = 0.5 * x + 1.0 + rng.normal(0, 0.05 + 0.4 * x)
    y[7] = np.nan
    trace = gradtrace.fit(
        {"x": x, "y": y}, lr=0.01, epochs=2, batch_size=32, drop_missing=True
    )
    text = trace.report(tmp_path / "r.html").read_text()
    blob = re.search(r'<script id="data" type="application/json">(.*?)</script>', text)
    assert blob is not None
    notes = json.loads(blob.group(1).replace("<\\/", "</"))["notes"]
    assert notes == [f"{n}." for n in trace.info["notices"]]
    assert any("dropped 1 row" in n for n in notes), notes
    assert any("--stderr hc3" in n for n in notes), notes


@pytest.mark.cpu_digits
def test_the_readmes_python_quick_start_runs_and_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    with pytest.warns(gradtrace.GradtraceWarning) as warned:
        exec(compile(block, "README.md", "exec"), scope)  # noqa: S102
    # predict's two, as the README's comment says: 13 beyond x's 1 to 12, and
    # a run not converged
    beyond, unconverged = (str(w.message) for w in warned)
    assert (
        "(position 1) lies beyond the x values the run was fitted on (x 1 to 12)"
        in beyond
    )
    assert unconverged.startswith("predicting with this run: w ended 21.8 standard")
    trace = scope["trace"]
    assert isinstance(trace, gradtrace.Trace)
    for line in block.splitlines():
        code, _, said = line.partition("# ")
        if code.strip() == "trace.params":
            assert said.strip() == repr(trace.params)
        if code.strip() == "trace.rows(2)":
            assert said.strip().endswith(str(trace.rows(2)))
        if code.strip() == "trace":
            assert repr(trace).startswith(said.strip().removesuffix("...>"))
        if said.strip().startswith("w ended"):
            assert said.strip().removesuffix("...") in repr(trace)
    assert (tmp_path / "k.html").exists() and (tmp_path / "runs" / "k-python").is_dir()


def test_load_takes_python_data_again_for_explain_and_refuses_other_data(
    tmp_path: Path,
) -> None:
    from gradtrace.errors import InputError

    frame = pd.DataFrame({"x": np.arange(12.0), "y": 2 * np.arange(12.0) + 1})
    frame.loc[3, "y"] = np.nan
    fitted = gradtrace.fit(frame, batch_size=4, epochs=2, drop_missing=True, lr=0.01)
    fitted.save(tmp_path / "r")
    with pytest.raises(InputError, match=r"gradtrace.load\(RUN, data=\.\.\.\) in"):
        gradtrace.load(tmp_path / "r").explain(2)
    loaded = gradtrace.load(tmp_path / "r", data=frame)
    assert loaded.explain_text(2) == fitted.explain_text(2)
    assert loaded.explain(2).equals(fitted.explain(2))
    with pytest.raises(InputError, match="these data differ from the run's"):
        gradtrace.load(tmp_path / "r", data=frame.assign(y=frame["y"] + 1))
    with pytest.raises(InputError, match="^these data do not fit the run: .*no x"):
        gradtrace.load(tmp_path / "r", data=np.zeros(3))
    own = gradtrace.Model(lambda p, x: p["a"] * x + p["c"], params={"a": 1.0, "c": 0})
    gradtrace.fit(frame, own, drop_missing=True, lr=0.01, steps=5).save(tmp_path / "m")
    with pytest.raises(InputError, match=r"gradtrace.load\(RUN, model=\.\.\.\)"):
        gradtrace.load(tmp_path / "m", data=frame)
    mine = gradtrace.load(tmp_path / "m", data=frame, model=own)
    assert mine.explain_text(1).startswith("Step 1 of 5 (this run)")
    # a run on a built-in data set reads them again by itself
    seed = gradtrace.fit("seed004_keras", lr=0.05, batch_size=3, epochs=1)
    seed.save(tmp_path / "s")
    assert gradtrace.load(tmp_path / "s").explain_text(2) == seed.explain_text(2)


def test_a_diverged_runs_message_names_pythons_arguments_and_the_cli_its_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    trace = gradtrace.fit({"x": X, "y": Y}, lr=1.0, steps=100)
    assert trace.diverged
    assert "the stable limit is 0.0845: " in trace.message  # 3 digits, as said before
    assert re.search(r"try lr=0\.04\d*\.$", trace.message)
    assert "--lr" not in trace.message
    pd.DataFrame({"x": X, "y": Y}).to_csv(tmp_path / "d.csv", index=False)
    args = ["fit", str(tmp_path / "d.csv"), "--lr", "1", "--out", str(tmp_path / "r")]
    code, _, err = run_cli(args, capsys)
    assert code == 1 and re.search(r"try --lr 0\.04\d*\.$", err.strip()), err


def test_the_truth_shows_only_where_it_is_this_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run_cli

    path = tmp_path / "lin3.csv"
    args = ["data", "linear", "--n", "100", "--w", "1,2,3", "-o", str(path)]
    assert run_cli(args, capsys)[0] == 0
    two = gradtrace.fit(str(path), "linear", x=["x0", "x1"], lr=0.1, steps=20)
    assert two.truth == {"b": 0.0}  # three slopes are not this model's two
    table = two.summary()
    assert list(table.index) == ["w[0]", "w[1]", "b"]
    assert table["truth"].isna().tolist() == [True, True, False]
    decay = gradtrace.fit("seed001_line", "exp-decay", lr=0.01, steps=20)
    assert decay.truth == {} and "truth" not in decay.summary()  # a line's b
    poly = gradtrace.fit("seed001_line", "poly", lr=0.1, steps=20)
    assert poly.truth == {"b": 2.0}
    line = gradtrace.fit("seed001_line", lr=0.1, steps=20)
    assert line.truth == {"w": 1.0, "b": 2.0}  # the noise's scale is no parameter
    noisy = tmp_path / "line.csv"
    args = ["data", "line", "--w", "1", "--b", "2", "--noise", "0.15", "-o", str(noisy)]
    assert run_cli(args, capsys)[0] == 0
    by_likelihood = gradtrace.fit(str(noisy), loss="nll", lr=0.1, steps=20)
    assert by_likelihood.truth == {"w": 1.0, "b": 2.0, "scale": 0.15}
    assert gradtrace.fit(str(noisy), lr=0.1, steps=20).truth == {"w": 1.0, "b": 2.0}
    decay.save(tmp_path / "d")
    code, out, _ = run_cli(["show", str(tmp_path / "d")], capsys)
    header = next(line for line in out.splitlines() if line.startswith("parameter"))
    assert code == 0 and "truth" not in header
    two.save(tmp_path / "two")
    code, out, _ = run_cli(["show", str(tmp_path / "two")], capsys)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["b"][-1] == "0" and len(rows["w[0]"]) == len(rows["b"]) - 1


def test_pythons_warnings_name_its_arguments_and_the_command_its_options() -> None:
    from gradtrace.text import PYTHON_WORDS, for_python

    far = gradtrace.fit("seed001_gaussian", "normal", lr=3.0, steps=30)
    said = far.convergence_warnings() + far.diagnosis_warnings()
    assert any("a smaller --lr" in w and "gradtrace lr-find" in w for w in said)
    assert far.warnings == [for_python(w.removeprefix("warning: ")) for w in said]
    assert not any("--" in w for w in far.warnings)
    slow = gradtrace.fit("seed001_gaussian", "normal", lr=0.01, steps=30)
    said = slow.convergence_warnings()
    assert any("(--init)" in w for w in said)
    assert slow.warnings[: len(said)] == [for_python(w) for w in said]
    assert any("(init=)" in w for w in slow.warnings)
    for flag, argument in PYTHON_WORDS:
        assert for_python(f"try {flag} now") == f"try {argument} now"


def test_a_figure_that_does_not_apply_is_an_input_error() -> None:
    from gradtrace.errors import InputError

    trace = gradtrace.fit({"y": [0.5, 1.5, 2.0, 0.2]}, "exponential", steps=3)
    with pytest.raises(InputError, match="unknown figure 'fits': choose one of fit"):
        trace.plot("fits")
    with pytest.raises(InputError, match=r"^plot\('landscape'\): .*two parameters"):
        trace.plot("landscape")
    with pytest.raises(InputError, match=r"^plot\('mse_loglik'\): .*normal"):
        trace.plot("mse_loglik")


def test_a_run_that_did_not_complete_says_how_it_ended_first() -> None:
    """The repr, Jupyter's view and ``warnings`` of a diverged run start with its
    message (where it diverged and what to try), the stable limit said once; a
    step that left a parameter's support is "stopped", not "diverged"."""
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    data = pd.DataFrame(
        {"x": x, "y": 3 * np.exp(-0.4 * x) + 1 + rng.normal(0, 0.1, 200)}
    )
    blew = gradtrace.fit(data, lr=1.0, epochs=50)
    assert blew.status == "diverged"
    assert blew.warnings[0] == blew.message
    assert blew.message.startswith("diverged at step")
    assert sum("stable limit" in w for w in blew.warnings) == 1
    assert blew.message in repr(blew) and blew.message in blew._repr_html_()
    decay = gradtrace.Model(
        lambda p, x: p["a"] * jnp.exp(-p["b"] * x) + p["c"],
        {"a": 1.0, "b": 0.05, "c": 0.0},
        positive=["b"],
    )
    left = gradtrace.fit(data, decay, loss="nll", lr=0.5, steps=50)
    # its status is diverged; the repr says what stopped it (it said "stopped"
    # beside a status of diverged, and "1 steps")
    assert left.status == "diverged"
    assert repr(left).startswith(
        "<Trace custom/nll sgd lr=0.5: 1 step, stopped: b to -1.099, outside its "
        "support; loss "
    )
    done = gradtrace.fit(data, lr=0.01, steps=3)
    assert done.message not in done.warnings


def test_summary_of_a_standardised_run_gives_x_units_too() -> None:
    """standardize=True trains on standardised x; the summary gives the slopes
    and intercept in x's own units beside them, NumPy's least squares on the raw
    columns."""
    rng = np.random.default_rng(0)
    big, small = rng.uniform(0, 1000, 200), rng.normal(size=200)
    y = 0.003 * big + 2 * small + 5 + rng.normal(0, 0.1, 200)
    data = pd.DataFrame({"big": big, "small": small, "y": y})
    run = gradtrace.fit(data, "linear", standardize=True, lr=0.1, epochs=500)
    table = run.summary()
    design = np.column_stack([big, small, np.ones(200)])
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(table["optimum_in_x_units"], exact, rtol=1e-7)
    np.testing.assert_allclose(table["final_in_x_units"], exact, rtol=1e-4)
    plain = gradtrace.fit(data, "linear", lr=1e-7, steps=2).summary()
    assert "final_in_x_units" not in plain.columns


def test_the_command_lines_table_names_the_x_column_of_each_slope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As summary() and the pictures do (w[big]); a one-column model's table has
    no such column, and a held parameter's row stays aligned."""
    from helpers import run_cli

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"big": rng.uniform(0, 10, 50), "small": rng.normal(size=50)})
    frame["y"] = frame["big"] - frame["small"] + rng.normal(0, 0.1, 50)
    frame.to_csv(tmp_path / "two.csv", index=False)
    code, out, err = run_cli(
        ["fit", str(tmp_path / "two.csv"), "--model", "linear", "--steps", "2",
         "--fix", "b=0", "--out", str(tmp_path / "run")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    head = next(i for i, s in enumerate(lines) if s.startswith("parameter"))
    assert lines[head].split()[:3] == ["parameter", "x", "initial"]
    assert lines[head + 1].split()[:2] == ["w[0]", "big"]
    assert lines[head + 2].split()[:2] == ["w[1]", "small"]
    assert lines[head + 3].split()[:3] == ["b", "fixed", "0"]
    # right-aligned under initial, not shifted into the x column
    initial_ends = lines[head].index("initial") + len("initial")
    assert lines[head + 3].index("fixed") + len("fixed") == initial_ends
    assert gradtrace.load(tmp_path / "run").summary().loc["w[0]", "x"] == "big"
    code, out, _ = run_cli(["show", str(tmp_path / "run")], capsys)
    assert "w[1]       small" in out
    code, out, _ = run_cli(
        ["fit", "seed001_line", "--steps", "2", "--out", str(tmp_path / "one")], capsys
    )
    head = next(s for s in out.splitlines() if s.startswith("parameter"))
    assert head.split()[:2] == ["parameter", "initial"]


def test_an_unconverged_run_on_badly_scaled_x_is_told_to_standardise() -> None:
    """A rate within the limit (the verdict "ok") on x far from 0 (condition
    number 1720): b crawls; the advice names x's scale, not only the rate."""
    rng = np.random.default_rng(0)
    temp = rng.uniform(0, 35, 1500)
    data = {"temp": temp, "sales": 3 * temp + 10 + rng.normal(0, 5, 1500)}
    trace = gradtrace.fit(
        data,
        x="temp",
        y="sales",
        optimizer="keras.sgd",
        lr=0.001,
        batch_size=32,
        epochs=30,
    )
    assert trace.info["diagnosis"]["verdict"] == "ok"
    said = trace.convergence_warnings()
    assert any("not converged" in w for w in said)
    assert any("Standardising x brings it near 1" in w for w in said)


def test_the_estimates_table_is_the_summarys_numbers_as_a_statistician_reads_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gradtrace show`` and the report print each parameter's estimate, its
    standard error, t (or z) and p-value, 95% interval, the run's final value and
    how far it ended in standard errors (a statistician found them only in
    run.json and ``summary()``); the cells are the summary's numbers."""
    from gradtrace.estimates import estimates
    from gradtrace.report.html import report
    from helpers import run_cli

    out = tmp_path / "run"
    code, _, err = run_cli(
        [
            "fit",
            "seed001_line",
            "--lr",
            "0.05",
            "--epochs",
            "5",
            "-q",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    trace = gradtrace.load(out)
    summary = trace.summary()
    table = estimates(summary)
    assert table is not None
    assert list(table.columns) == [
        "estimate",
        "std. error",
        "t",
        "P>|t|",
        "95% interval",
        "final",
        "final - estimate (s.e.)",
        "truth",  # generated data
    ]
    for name, row in summary.iterrows():
        shown = table.loc[name]
        assert float(shown["estimate"]) == pytest.approx(row["optimum"], rel=1e-6)
        assert float(shown["std. error"]) == pytest.approx(row["std_error"], rel=1e-3)
        assert float(shown["t"]) == pytest.approx(row["t"], rel=1e-3)
        low, high = (float(v) for v in shown["95% interval"].split(" to "))
        assert (low, high) == pytest.approx((row["ci_low"], row["ci_high"]), rel=1e-3)
        away = (row["final"] - row["optimum"]) / row["std_error"]
        assert float(shown["final - estimate (s.e.)"]) == pytest.approx(away, abs=0.006)
    # a run that blew up is 1e19 standard errors away, not twenty digits of it
    blown = gradtrace.fit({"x": X, "y": Y}, lr=0.5, steps=40)
    assert blown.diverged
    shown = estimates(blown.summary())
    assert shown is not None
    for name, row in blown.summary().iterrows():
        away = (row["final"] - row["optimum"]) / row["std_error"]
        cell = shown.loc[name, "final - estimate (s.e.)"]
        assert abs(away) > 1e6 and "e+" in cell and len(cell) <= 8, cell
        assert float(cell) == pytest.approx(away, rel=0.05)
    code, said, err = run_cli(["show", str(out)], capsys)
    assert code == 0, err
    lines = said.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("estimates (the exact"))
    assert lines[at + 1].split() == [
        "parameter", "estimate", "std.", "error", "t", "P>|t|", "95%", "interval",
        "final", "final", "-", "estimate", "(s.e.)", "truth",
    ]  # fmt: skip
    assert lines[at + 2].split()[:3] == [
        "w",
        table.loc["w", "estimate"],
        table.loc["w", "std. error"],
    ]
    assert "an edge of" not in said  # a line's w and b have no range to speak of
    page = report(trace, tmp_path / "r.html").read_text()
    assert '<section id="estimates">' in page
    assert f"<td>{table.loc['b', '95% interval']}</td>" in page


def test_a_distributions_estimates_have_z_and_its_likelihood(tmp_path: Path) -> None:
    """A likelihood's test is a z; a positive parameter (scale) has no test
    against 0 but keeps its interval; the report adds the log-likelihood."""
    from gradtrace.estimates import TINY_P, _p, estimates
    from gradtrace.report.html import estimates_section

    trace = gradtrace.fit("seed002_normal", model="normal", steps=50, lr=0.1)
    table = estimates(trace.summary())
    assert table is not None and "z" in table.columns and "P>|z|" in table.columns
    assert (
        table.loc["scale", "z"] == "" and " to " in table.loc["scale", "95% interval"]
    )
    assert "log-likelihood" in estimates_section(trace)
    assert "its standard error, its test against 0 and 95% interval" in (
        estimates_section(trace)
    )
    # a Poisson's rate, positive, has no test against 0: the caption says none
    counts = {"y": [0.0, 2.0, 3.0, 1.0, 4.0, 2.0, 5.0, 1.0]}
    rate = gradtrace.fit(counts, "poisson", steps=5, lr=0.1)
    assert "its standard error and 95% interval" in estimates_section(rate)
    # the log-likelihood, AIC and BIC from Python, beside the table: a normal's
    # at its optimum by hand (a researcher found them only in trace.info)
    y = builtin("seed002_normal")["y"].to_numpy(np.float64)
    mu, sd = y.mean(), y.std()
    loglik = float(
        np.sum(-0.5 * np.log(2 * np.pi * sd**2) - (y - mu) ** 2 / (2 * sd**2))
    )
    held = trace.summary().attrs["likelihood"]
    assert held["optimum"]["loglik"] == pytest.approx(loglik, rel=1e-9)
    assert held["optimum"]["aic"] == pytest.approx(4 - 2 * loglik, rel=1e-9)
    assert held["optimum"]["bic"] == pytest.approx(2 * np.log(len(y)) - 2 * loglik)
    assert gradtrace.fit("seed001_line", steps=3).summary().attrs["likelihood"] is None
    assert _p(0.0) == f"< {TINY_P:g}" and _p(0.0123456) == "0.0123"
    bare = gradtrace.fit("seed002_normal", model="normal", steps=5, exact=False)
    assert estimates(bare.summary()) is None and estimates_section(bare) == ""


def test_as_many_parameters_as_rows_is_why_there_are_no_standard_errors() -> None:
    two = gradtrace.fit({"x": [1.0, 2.0], "y": [2.0, 3.5]}, steps=5)
    assert np.isnan(two.summary()["std_error"]).all()
    assert (
        "no standard errors: 2 rows and 2 parameters leave no row over to measure "
        "the noise by (the fit is exact); more rows than parameters give them."
    ) in two.notes
    three = gradtrace.fit({"x": [1.0, 2.0, 3.0], "y": [2.0, 3.5, 4.1]}, steps=5)
    assert not any("standard errors" in n for n in three.notes)


def test_the_notebook_loss_curve_keeps_a_pixel_columns_extremes_not_every_step() -> (
    None
):
    """A long run's curve in a 320-pixel picture: each pixel column's lowest and
    highest point (a spike stays), not 300001 points (3 MB in a notebook cell);
    a short run's curve keeps every step."""
    from gradtrace.trace import _sparkline

    def points(svg: str) -> list[tuple[float, float]]:
        raw = svg.split('points="')[1].split('"')[0].split()
        return [(float(p.split(",")[0]), float(p.split(",")[1])) for p in raw]

    loss = np.exp(-np.linspace(0, 5, 300_001))
    loss[150_000] = 50.0  # one step's spike, the curve's highest point
    drawn = points(_sparkline(loss))
    assert len(drawn) <= 2 * 313 and len(_sparkline(loss)) < 10_000
    assert min(y for _, y in drawn) == 4.0  # the spike, at the top edge
    xs = [x for x, _ in drawn]
    assert xs == sorted(xs) and xs[0] == 4.0 and xs[-1] == 316.0
    short = np.linspace(3, 1, 200)
    assert len(points(_sparkline(short))) == 200


def test_show_says_why_a_positive_parameter_has_no_test_against_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A curve_fit user's K and r, declared positive, lost their t and p values
    without a word (0 is an edge of their range, not a value to test)."""
    import jax.numpy as jnp

    from helpers import run_cli

    rng = np.random.default_rng(1)
    t = np.linspace(0, 20, 60)
    y = 10 / (1 + np.exp(-0.6 * (t - 8))) + rng.normal(0, 0.4, 60)
    model = gradtrace.Model(
        lambda p, x: p["K"] / (1 + jnp.exp(-p["r"] * (x - p["t0"]))),
        params={"K": 8.0, "r": 0.5, "t0": 7.0},
        positive=["K", "r"],
    )
    run = gradtrace.fit(
        {"x": t, "y": y}, model=model, optimizer="adam", lr=0.05, steps=300
    )
    summary = run.summary()
    assert summary[["t", "p_value"]].isna().sum().tolist() == [2, 2]
    # a notebook's table says it too, as show does
    assert summary.attrs["ranged"] == (
        "K and r are positive: 0 is an edge of their range, not a value to "
        "test; their intervals are on the log scale, so they stay in it."
    )
    run.save(tmp_path / "r")
    code, said, err = run_cli(["show", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert said.rstrip().endswith(
        "\n  K and r are positive: 0 is an edge of their range, not a value to "
        "test; their intervals are on the log scale, so they stay in it."
    )
    # a profile likelihood's intervals are not taken on the log scale
    profiled = gradtrace.fit((None, y), "normal", steps=2, intervals="profile")
    assert profiled.summary().attrs["ranged"] == (
        "scale is positive: 0 is an edge of its range, not a value to test."
    )


def test_an_estimate_far_larger_than_its_error_keeps_the_errors_digits() -> None:
    """A normal's mean near 1e6 known to 0.19 printed as 1000000, its interval as
    1e+06 to 1e+06; both now reach a tenth of the standard error. And a float32
    run there is told that its standard error is below float32's rounding, not
    that the data fit the model exactly."""
    from gradtrace.estimates import estimates

    rng = np.random.default_rng(0)
    y = rng.normal(1e6, 2, 100)
    trace = gradtrace.fit(
        {"y": y},
        "normal",
        optimizer="adam",
        lr=0.01,
        steps=20,
        init={"loc": 1e6, "scale": 2.0},
    )
    table = estimates(trace.summary())
    assert table is not None
    loc = float(np.mean(y))
    assert table.loc["loc", "estimate"] == f"{loc:.9g}"
    low, high = table.loc["loc", "95% interval"].split(" to ")
    assert float(high) - float(low) == pytest.approx(2 * 1.96 * 2 / 10, rel=0.1)
    # far off in float32: said in its units, and why
    far = gradtrace.fit({"y": y}, "normal", optimizer="adam", lr=0.05, steps=50)
    (said,) = [w for w in far.warnings if "from its optimum" in w]
    assert "below float32's rounding at the optimum's size" in said
    assert "fit the model exactly" not in said


def test_an_adaptive_run_too_short_to_cross_the_distance_is_told_so() -> None:
    """Adam moves each parameter about lr a step: 50 steps of 0.1 cannot cross
    the 5e4 to a house price's intercept. The warning had said only "more
    steps"; the diagnosis's count (at least distance / lr) now comes with it.
    A run long enough is not told."""
    rng = np.random.default_rng(0)
    x = rng.uniform(30, 200, 300)
    y = 1500 * x + 48000 + rng.normal(0, 2e4, 300)
    short = gradtrace.fit(
        {"size": x, "price": y}, y="price", optimizer="adam", lr=0.1, epochs=50
    )
    fewest = short.info["diagnosis"]["adaptive_steps"]
    optimum = short.info["optimum"]
    assert fewest == pytest.approx(max(abs(optimum["w"]), abs(optimum["b"])) / 0.1)
    [said] = [w for w in short.warnings if "whatever the curvature" in w]
    assert said.endswith("This run took 50.")
    enough = gradtrace.fit("seed001_line", optimizer="adam", lr=0.05, steps=2000)
    assert not [w for w in enough.warnings if "whatever the curvature" in w]


def test_a_mini_batch_run_started_at_its_optimum_rises_by_its_scatter_alone() -> None:
    """A normal's start at its true values is within a standard error of the
    optimum; RMSprop's mini-batch steps scatter around it, so the loss may end
    a little above the start. That was told as a rate too large (a lecturer's
    find); it is the scatter, said with both distances, and the run's ending
    and fit.png's title no longer say its loss rose. The same start far off,
    or a full-batch run, still rises as before."""
    from gradtrace import plot
    from gradtrace.advice import ended_above

    rng = np.random.default_rng(11)
    y = rng.normal(0.0, 1.0, 200)
    data = {"y": (y - y.mean()) / y.std()}  # the start (0, 1) is the optimum
    common = dict(model="normal", optimizer="rmsprop", lr=0.05, epochs=30)
    found = gradtrace.fit(data, batch_size=20, seed=0, **common)  # type: ignore[arg-type]
    assert ended_above(float(found.to_pandas()["loss"].iloc[0]), found.final_loss)
    scatter = found.rise_by_scatter()
    assert scatter is not None and max(scatter) < 1.96
    said = [w for w in found.warnings if "above where it started" in w]
    assert len(said) == 1 and "the rate is too large" not in said[0]
    assert (
        "the start was already at the optimum, and mini-batch steps scatter "
        in (said[0])
    )
    assert "its loss rose" not in found.ending()
    assert "its loss rose" not in plot.fit_over_data(found).axes[0].get_title()
    # full batches from the optimum: Adam's steps of about lr leave it, which
    # its rate does, and is told so
    hover = gradtrace.fit(
        data, model="normal", optimizer="adam", lr=1.0, steps=30, init={"loc": 0.0}
    )
    assert hover.rise_by_scatter() is None
    assert any("the rate is too large" in w for w in hover.warnings)


def test_an_intervals_ends_share_their_decimals() -> None:
    """ "0.9742 to 1.1": four significant digits each dropped the upper end's
    last ones. Both ends go to the standard error's fourth significant digit;
    an error of none, or ends far above it, keep significant digits."""
    from gradtrace.estimates import interval_text

    assert interval_text(0.97421, 1.10049, 0.0322, 4) == "0.97421 to 1.10049"
    assert interval_text(0.97421, 1.10049, 0.322, 4) == "0.9742 to 1.1005"
    assert interval_text(-0.041109, 0.39917, 0.1123, 4) == "-0.0411 to 0.3992"
    assert interval_text(998012.4, 1002031.9, 1025.0, 4) == "998012 to 1002032"
    assert interval_text(1.5, 2.5, math.nan, 4) == "1.5 to 2.5"
    assert interval_text(1e12, 2e12, 1e-3, 4) == "1e+12 to 2e+12"
    assert interval_text(math.nan, math.nan, 0.1, 4) == ""


def test_every_run_has_the_same_first_columns() -> None:
    """A separated run's summary had only initial and final: summary["std_error"]
    was a KeyError (a statistician's script). Every run has the six first
    columns, NaN where it has no optimum; a notebook's table leaves the empty
    ones out."""
    first = ["initial", "final", "optimum", "std_error", "ci_low", "ci_high"]
    apart = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0.0, 0.0, 1.0, 1.0]})
    separated = gradtrace.fit(apart, "logistic", steps=5).summary()
    assert list(separated.columns) == first
    assert separated["std_error"].isna().all()
    assert "std. error" not in gradtrace.fit(apart, "logistic", steps=5)._repr_html_()
    line = gradtrace.fit("seed001_line", steps=5).summary()
    assert list(line.columns)[:6] == first and line["std_error"].notna().all()


def test_a_single_named_columns_slope_is_named_by_it_but_not_a_polynomials() -> None:
    """A logistic regression on hours alone called its slope w[0] in the summary,
    its warnings and its pictures, while one on two columns named each
    (w[hours]); a polynomial's w[k] multiplies x^k, not a column, and keeps its
    numbers; an array's one column, x, says no more than w[0]."""
    from gradtrace.tables import param_labels

    rng = np.random.default_rng(0)
    hours = rng.uniform(0, 10, 200)
    passed = (rng.uniform(size=200) < 1 / (1 + np.exp(-(hours - 5)))).astype(int)
    frame = pd.DataFrame({"hours": hours, "passed": passed})
    one = gradtrace.fit(frame, "logistic", x="hours", y="passed", lr=0.05, steps=50)
    table = one.summary()
    assert table["x"].tolist()[0] == "hours" and table.index.tolist() == ["w[0]", "b"]
    assert any("w[hours]" in w for w in one.warnings)
    assert param_labels(one, ["w[0]", "b"]) == {"w[0]": "w[hours]", "b": "b"}
    poly = gradtrace.fit(
        frame, "poly", x="hours", y="passed", degree=2, lr=1e-4, steps=5
    )
    cols = [c for c in poly.to_pandas().columns if c.startswith("w[")]
    assert param_labels(poly, cols) == {c: c for c in cols}
    assert "x" not in poly.summary().columns
    arrays = gradtrace.fit((hours, passed), "logistic", lr=0.05, steps=5)
    assert param_labels(arrays, ["w[0]"]) == {"w[0]": "w[0]"}
