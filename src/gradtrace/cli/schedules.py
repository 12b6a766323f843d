"""``gradtrace schedules``: every learning-rate schedule, its parameters and when
it changes the rate."""

from __future__ import annotations

import click


@click.command(context_settings={"max_content_width": 100})
@click.option(
    "--framework",
    type=click.Choice(["all", "torch", "keras"]),
    default="all",
    show_default=True,
    help="Only PyTorch's schedulers, or only Keras's schedules.",
)
def schedules(framework: str) -> None:
    """List the learning-rate schedules --lr-schedule takes, each with its
    parameters (their defaults; "needed" where there is none), when it changes
    the rate, and the framework's class it reproduces.

    Give one as NAME:KEY=VALUE,KEY=VALUE (quoted for the shell), such as
    torch.step:step_size=10,gamma=0.5; a list goes in brackets, milestones=[30,80];
    a composite's schedules as NAME(KEY=VALUE,...) in brackets. In Python,
    lr_schedule= takes the same text or a dict with "name".
    """
    from rich.table import Table

    from gradtrace.cli._report import Console
    from gradtrace.core.plateau import PLATEAUS
    from gradtrace.core.presets import SCHEDULES

    table = Table(title="gradtrace schedules", show_lines=False)
    table.add_column("schedule", no_wrap=True)
    table.add_column("steps", no_wrap=True)
    table.add_column("parameters: default", overflow="fold")
    table.add_column("the framework's, and what it does", overflow="fold", ratio=1)
    for name, preset in SCHEDULES.items():
        if framework not in ("all", name.split(".")[0]):
            continue
        params = [
            f"{key}: {'needed' if value is None else _shown(value)}"
            for key, value in preset.defaults.items()
        ]
        if not preset.per_epoch:
            when = "each step"
        elif name in ("torch.onecycle", "torch.cyclic"):
            when = "each batch"
        elif name in PLATEAUS:
            when = "each epoch (loss)"
        else:
            when = "each epoch*"
        doc = preset.doc
        prefixes = (
            "torch.optim.lr_scheduler.",
            "keras.optimizers.schedules.",
            "keras.callbacks.",
        )
        for prefix in prefixes:
            doc = doc.removeprefix(prefix)
        table.add_row(name, when, "\n".join(params), doc)
    # text as text (no markup: the brackets are the schedules' own)
    console = Console(width=max(Console().width, 100), markup=False, soft_wrap=True)
    console.print(table)
    if framework != "keras":
        console.print(
            "* or each batch with by_batch=true, as PyTorch's scheduler.step() "
            "after each batch (the counts are then batches)."
        )
        # whole lines, to copy: a table would fold them
        console.print("A warm-up over 5 epochs, then a cosine over 95 (SequentialLR):")
        console.print(f"  --lr-schedule '{WARM_COSINE}'")
        console.print("A factor of 0.1 for 2 epochs and a decay (ChainedScheduler):")
        console.print(f"  --lr-schedule '{CHAINED}'")
    if framework != "torch":
        console.print(
            "Keras's schedules are functions of the optimizer's step count "
            "(optimizer.iterations)."
        )


WARM_COSINE = (
    "torch.sequential:schedulers=[torch.linear(start_factor=0.1,total_iters=5),"
    "torch.cosine(T_max=95)],milestones=[5]"
)
CHAINED = (
    "torch.chained:schedulers=[torch.constant(factor=0.1,total_iters=2),"
    "torch.exponential(gamma=0.9)]"
)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
