"""``gradtrace report``: one HTML file that works offline (script, styles and data
inlined; nothing fetched). A slider and a play button move through the steps, and
each move redraws the fit over the data, the point on the loss landscape, the loss
curve's marker, the table of parameters and gradients, and the rows of the batch."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gradtrace.errors import InputError

#: At most this many steps (frames) and data rows go into the page.
MAX_FRAMES = 1500
MAX_ROWS = 4000
MAX_BATCH_ROWS = 200


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def payload(trace: Any) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready data."""
    from gradtrace.plot import _flat_named, _loss_fn, _run_data
    from gradtrace.tables import param_columns

    info = trace.info
    frame = trace.to_pandas()
    x, y = _run_data(trace)
    cols = param_columns(frame)
    n = len(y)
    keep_rows = (
        np.arange(n) if n <= MAX_ROWS else np.linspace(0, n - 1, MAX_ROWS).astype(int)
    )
    k = max(1, math.ceil(trace.steps / MAX_FRAMES))
    steps = list(range(0, trace.steps + 1, k))
    if steps[-1] != trace.steps:
        steps.append(trace.steps)
    frames = []
    for s in steps:
        row = frame.iloc[s]
        rows = trace.rows(s) if s >= 1 else np.array([], int)
        frames.append(
            {
                "step": s,
                "epoch": int(row["epoch"]),
                "batch": int(row["batch"]),
                "params": {c: _num(row[c]) for c in cols},
                "grads": {c: _num(row[f"grad_{c}"]) for c in cols},
                "batch_loss": _num(row["batch_loss"]),
                "running_loss": _num(row["running_loss"]),
                "loss": _num(row["loss"]),
                "rows": [int(r) for r in rows[:MAX_BATCH_ROWS]],
                "n_rows": int(len(rows)),
            }
        )
    data: dict[str, Any] = {
        "y": [float(v) for v in y[keep_rows]],
        "index": [int(i) for i in keep_rows],
    }
    if x is not None and x.ndim == 1:
        data["x"] = [float(v) for v in x[keep_rows]]
    landscape = None
    if len(cols) >= 2 and all(np.size(v) == 1 for v in trace.params.values()):
        landscape = _landscape(
            trace, cols[0], cols[1], frame, _loss_fn(trace), _flat_named
        )
    return {
        "title": f"{info['model']} by {info['loss']}, {info['optimizer']['name']}",
        "model": info["model"],
        "loss": info["loss"],
        "params": cols,
        "fixed": info["fixed"],
        "status": trace.status,
        "steps": trace.steps,
        "message": trace.message,
        "optimizer": info["optimizer"],
        "optimum": _flat_named(info.get("optimum") or {}),
        "optimum_loss": info.get("optimum_loss"),
        "truth": _flat_named(info.get("truth") or {}),
        "x_name": (info["data"]["x"] or [""])[0],
        "y_name": info["data"]["y"],
        "n_rows": n,
        "data": data,
        "frames": frames,
        "landscape": landscape,
    }


def _landscape(
    trace: Any, a: str, b: str, frame: Any, loss: Any, flat: Any, size: int = 48
) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    pa, pb = frame[a].to_numpy(float), frame[b].to_numpy(float)
    ok = np.isfinite(pa) & np.isfinite(pb)
    optimum = flat(trace.info.get("optimum") or {})
    xs = np.concatenate([pa[ok], [optimum.get(a, pa[ok][-1])]])
    ys = np.concatenate([pb[ok], [optimum.get(b, pb[ok][-1])]])
    ga = np.linspace(
        xs.min() - 0.25 * (np.ptp(xs) or 1), xs.max() + 0.25 * (np.ptp(xs) or 1), size
    )
    gb = np.linspace(
        ys.min() - 0.25 * (np.ptp(ys) or 1), ys.max() + 0.25 * (np.ptp(ys) or 1), size
    )
    final = {k: float(v) for k, v in trace.params.items()}
    with jax.enable_x64(True):
        A, B = np.meshgrid(ga, gb)
        Z = np.asarray(
            jax.vmap(jax.vmap(lambda u, v: loss({**final, a: u, b: v})))(
                jnp.asarray(A), jnp.asarray(B)
            )
        )
    return {
        "a": a,
        "b": b,
        "xs": ga.tolist(),
        "ys": gb.tolist(),
        "z": [[_num(v) for v in r] for r in Z],
    }


def report(trace: Any, out: str | Path) -> Path:
    """Write the report of ``trace`` to ``out`` (an .html file), atomically."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"-o {str(out)!r}: the report is one HTML file; end the name in .html."
        )
    if out.is_dir():
        raise InputError(f"{str(out)!r} is a folder: give a file name to -o.")
    assets = resources.files("gradtrace.report")
    template = (assets / "template.html").read_text()
    script = (assets / "report.js").read_text()
    style = (assets / "report.css").read_text()
    blob = json.dumps(payload(trace), separators=(",", ":")).replace("</", "<\\/")
    html = (
        template.replace("/*STYLE*/", style)
        .replace("/*SCRIPT*/", script)
        .replace("/*DATA*/", blob)
        .replace("<!--TITLE-->", f"gradtrace: {trace.info['model']} run")
    )
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {str(out)!r} ({err.strerror or err})."
        ) from None
    return out
