"""``gradtrace models``: every built-in model, its parameters and the losses."""

from __future__ import annotations

import click


@click.command(context_settings={"max_content_width": 100})
@click.option(
    "--kind",
    type=click.Choice(["all", "regression", "distribution"]),
    default="all",
    show_default=True,
    help="Only regression models, or only distributions.",
)
def models(kind: str) -> None:
    """List the built-in models with their parameters, constraints and default
    starts, and the losses and metrics they take.

    Constraints: real (any value), > 0 (positive), (0, 1) (a probability), known (a
    number you give with --fix, never trained). Parameters start at the default
    shown unless --init says otherwise. Your own model: --model-expr or --model-file
    (see gradtrace fit --help).
    """
    from rich.markup import escape
    from rich.table import Table

    from gradtrace.cli._report import Console
    from gradtrace.core.catalog import MODELS, kind_of, make_model
    from gradtrace.core.losses import LOSSES, SCALE
    from gradtrace.core.metrics import METRICS

    shown = {"real": "real", "positive": "> 0", "unit": "(0, 1)", "count": "known"}
    table = Table(title="gradtrace models", show_lines=False)
    for col in ("model", "kind", "parameters: constraint, default start", "what"):
        table.add_column(col, overflow="fold")
    for name, doc in MODELS.items():
        k = kind_of(name)
        if kind not in ("all", k):
            continue
        m = make_model(name, 1)
        params = []
        for s in m.param_specs():
            label = s.name if s.size is None else f"{s.name}[k]"
            default = "--fix" if s.known else f"{s.default:g}"
            params.append(f"{label}: {shown[s.constraint]}, {default}")
        if k == "regression" and getattr(m, "family", "") == "gaussian":
            params.append(f"({SCALE.name}: > 0, {SCALE.default:g}; with --loss nll)")
        table.add_row(name, k, escape("\n".join(params)), escape(doc))
    console = Console(width=max(Console().width, 100))
    console.print(table)
    console.print(
        escape(
            "losses: "
            + "; ".join(f"{n} ({d.split(';')[0]})" for n, d in LOSSES.items())
            + "; or --loss-expr TEXT."
        )
    )
    console.print(
        escape(
            "metrics (--metric): "
            + "; ".join(f"{n}: {d[1]}" for n, d in METRICS.items())
        )
    )
