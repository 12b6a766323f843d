"""``gradtrace demo``: the seeds' loops as built-in scenarios."""

from __future__ import annotations

import click


@click.command(context_settings={"max_content_width": 100})
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the demos and exit.")
def demo(name: str | None, list_: bool) -> None:
    """Run the built-in scenario NAME (all of them when no NAME is given).

    \b
    line-mse         seed 001: a line by MSE (TensorFlow custom loop)
    gaussian-mle     seed 001: a Gaussian by maximum likelihood
    normal-mean-sgd  seed 002: a normal mean with PyTorch's SGD, step by step
    linear-basics    seed 003: TensorFlow's custom training basics, its "Epoch N" lines
    keras-batches    seed 004: Keras fit: slope, intercept and RMSE every iteration
    """
    from gradtrace.demos import DEMOS
    from gradtrace.validate import choice

    if list_:
        for d in DEMOS.values():
            click.echo(f"{d.name:16} seed {d.seed}: {d.title}")
        return
    names = [choice("demo", name, list(DEMOS))] if name else list(DEMOS)
    for i, n in enumerate(names):
        if len(names) > 1:
            click.echo(("\n" if i else "") + f"=== gradtrace demo {n} ===")
        for line in DEMOS[n].run().lines:
            click.echo(line)
    if len(names) > 1:  # the whole tour: where to go from it
        click.echo("\n" + NEXT)


#: What the whole demo ends with: the commands a newcomer runs next.
NEXT = """Next, on data of your own (a CSV, Parquet or NumPy file; columns x and y,
or name them with --x and --y):
  gradtrace fit data.csv --plot             fit a line, its pictures in the run folder
  gradtrace fit data.csv --optimizer torch.adam --lr 0.01 --batch-size 32 --epochs 20
  gradtrace explain latest --step 3         one step's arithmetic, row by row
  gradtrace report latest                   the run as one interactive HTML page
gradtrace data line -o data.csv makes data to try; gradtrace --help lists the rest."""
