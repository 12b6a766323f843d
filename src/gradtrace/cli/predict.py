"""``gradtrace predict``: a run's fitted model at the rows of a data file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gradtrace.cli._options import (
    RUN_FOLDER,
    check_out_file,
    load_run,
    out_option,
    python_objects,
    write_whole,
)

#: the column the predictions are written to, after DATA's own
COLUMN = "prediction"

#: formats by the suffix of -o: a name without one, and -, are CSV (with
#: semicolons where DATA has them)
SUFFIXES = (".csv", ".tsv", ".parquet")


def _some_rows(data: Path, rows: Any) -> tuple[str, bool]:
    """ "2 rows of 'new.csv' (data rows 1, 3)": the rows of DATA at positions
    ``rows`` (the first three named), and whether there is one."""
    from gradtrace.text import listed

    where = "standard input" if str(data) == "-" else repr(str(data))
    one = len(rows) == 1
    shown = listed([int(r) + 1 for r in rows], 3)
    return (
        f"{len(rows)} row{'s' * (not one)} of {where} (data row{'s' * (not one)} "
        f"{shown})",
        one,
    )


def _beyond_the_data(info: dict[str, Any], frame: Any, data: Path) -> str | None:
    """What rows of ``frame`` lie beyond the x values the run was fitted on
    (``trace.x_beyond``), in a sentence: their predictions take the model past
    its data."""
    import numpy as np

    from gradtrace.trace import beyond_sentence, x_beyond

    outside, spans = x_beyond(info, {str(c): frame[c] for c in frame.columns})
    if not outside.any():
        return None
    rows, one = _some_rows(data, np.flatnonzero(outside))
    return beyond_sentence(rows, one, spans)


@click.command(context_settings={"max_content_width": 100})
@click.argument("run", type=RUN_FOLDER)
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--step",
    type=int,
    default=None,
    help="Predict with the parameters after this step (default: the run's final "
    "ones; 0 is the start, -1 the last step, counted from the end).",
)
@out_option(
    "File to write: .csv, .tsv or .parquet, by its name (default, or -: CSV on "
    "standard output). A CSV is written with semicolons and decimal commas where "
    "DATA has them. DATA's row names (R's write.csv, pandas' to_csv, a pandas "
    "Parquet file's index) come first in a CSV or TSV, under an empty header, "
    "and are a Parquet file's index."
)
@click.option(
    "--interval",
    type=click.Choice(["confidence", "prediction"]),
    default=None,
    help="Add each row's interval (at the run's level, 95% unless its fit chose "
    "another; see --level): confidence, of the mean y "
    "there (columns std_error, ci_low, ci_high), or prediction, of a new y (a model "
    "with Gaussian noise; std_error, pi_low, pi_high), from the estimates' "
    "covariance, as R's predict(fit, new, interval=...). std_error is the mean's "
    "either way (R's se.fit); a prediction interval adds the noise's spread to it.",
)
@click.option(
    "--level",
    metavar="LEVEL",
    default=None,
    help="The confidence level of an --interval, a share between 0 and 1: 0.9 for "
    "a 90% interval, 0.99 for a 99% one. [default: the run's own, fit --level's, "
    "0.95 unless it chose another]",
)
@click.option("--force", is_flag=True, help="Replace an existing -o file.")
def predict(
    run: Path,
    data: Path,
    step: int | None,
    out: Path | None,
    interval: str | None,
    level: str | None,
    force: bool,
) -> None:
    """Predict with RUN's fitted model at each row of DATA (a CSV, TSV, Parquet,
    .npy or .npz file, or - for standard input, holding the run's x columns by
    name): DATA's columns and a column prediction, the mean of y the model gives
    there (a logistic regression's probability, a Poisson regression's mean
    count). x is in its own units: a run on standardised x standardises it as it
    did.

    \b
      gradtrace fit houses.csv --model linear --x sqft --x rooms --y price \\
        --out runs/houses -q
      gradtrace predict runs/houses new_houses.csv -o priced.csv
      gradtrace predict runs/houses new_houses.csv --interval prediction
    """
    import numpy as np

    from gradtrace import validate
    from gradtrace.errors import InputError
    from gradtrace.sources import frame_of

    share = None if level is None else validate.level(level)
    if interval is None and share is not None:
        raise InputError(
            f"--level {share:g} is the share an interval holds: add --interval "
            "confidence (the mean y's) or --interval prediction (a new y's)."
        )
    to_stdout = out is None or str(out) == "-"
    suffix = "" if to_stdout or out is None else out.suffix.lower()
    if suffix not in SUFFIXES and suffix != "":
        raise InputError(
            f"-o {str(out)!r}: predict writes .csv, .tsv or .parquet files (CSV also "
            "without a suffix, or to standard output with -o -): name the file so."
        )
    if not to_stdout:
        assert out is not None
        check_out_file(out, force or str(out).startswith("/dev/"))
    # the model rebuilt (one of the user's own Python is refused at once); DATA
    # are new rows, not the run's data
    python_objects(run, data)
    trace = load_run(run, None, thin=True, rebuilt=False)
    from gradtrace.data import READ_NOTICES, TEXT_DIALECT, stdin_text, text_table

    # standard input is read once: its table, and its fields as written
    text = stdin_text() if str(data) == "-" else None
    frame = text_table(text) if text is not None else frame_of(str(data))[0]
    for note in frame.attrs.get(READ_NOTICES, []):  # row names left out, say
        click.echo(f"note: {note}.", err=True)
    if not len(frame):  # a header alone: nothing to predict at, said (as fit does)
        where = "standard input" if text is not None else repr(str(data))
        raise InputError(
            f"{where} has a header but no rows: give at least one row of x values "
            "to predict at."
        )
    # a spreadsheet's semicolons (and decimal commas) are written back so
    sep_in, comma = frame.attrs.get(TEXT_DIALECT, (",", False))
    sep = {".tsv": "\t"}.get(suffix, ";" if sep_in == ";" else ",")
    added = [COLUMN]
    if interval is not None:
        ends = (
            ["pi_low", "pi_high"] if interval == "prediction" else ["ci_low", "ci_high"]
        )
        added += ["std_error", *ends]
    taken = [c for c in added if c in frame.columns]
    if taken:
        raise InputError(
            f"{str(data)!r} has a column named {taken[0]!r} already: rename it, so "
            "that the predictions do not overwrite it."
        )
    try:
        if interval is None:
            frame[COLUMN] = trace.predict(frame, step=step)
        else:
            band = trace.predict(frame, step=step, interval=interval, level=share)
            for column, name in zip(band.columns, added, strict=True):
                frame[name] = band[column].to_numpy()
    except InputError as err:  # "the data" named as the command was given them
        said = str(err).replace("in the data (", f"in {str(data)!r} (", 1)
        raise InputError(_rows_as_lines(said, data)) from None
    # digits a prediction holds: float32's 9, a float64 run's 17
    digits = 17 if trace.info.get("compute_dtype") == "float64" else 9
    endless = int(np.isinf(frame[COLUMN].to_numpy(np.float64)).sum())
    # a diverged run's parameters are what it blew up to, not the x's fault
    blown = trace.status == "diverged" and step is None
    if endless:
        click.echo(
            f"note: {endless} prediction{'s' * (endless != 1)} overflowed to "
            "infinity (written as inf): the fitted model's values there are too "
            "large for a float64 to hold"
            + (
                " (its parameters are where the run blew up)."
                if blown
                else " (x far beyond the data's?)."
            ),
            err=True,
        )
    beyond = _beyond_the_data(trace.info, frame, data)
    if beyond:
        click.echo(f"note: {beyond}", err=True)
    blank = np.flatnonzero(frame[COLUMN].isna().to_numpy())
    if len(blank):
        # a row missing an x value has no prediction: its cell is left empty
        rows, one = _some_rows(data, blank)
        click.echo(
            f"note: {rows} {'misses' if one else 'miss'} an x value: "
            f"{'its prediction is' if one else 'their predictions are'} left "
            "empty.",
            err=True,
        )
    if step is None:
        # predictions from a run that diverged or did not converge are said so
        # (they were printed as if from a fit)
        # a run that diverged says how it ended: its values are not a fit
        said = trace.fit_caveat(str(run))
        if said is not None:
            click.echo(f"warning: predicting with {str(run)!r}: {said}", err=True)
    if suffix != ".parquet" and (sep == ";" or comma):
        said = " and ".join(
            [*["semicolons"] * (sep == ";"), *["decimal commas (2,5)"] * comma]
        )
        named = "standard input" if text is not None else repr(str(data))
        click.echo(f"note: written with {said}, as {named} is.", err=True)
    if to_stdout:
        as_text(frame, data, text, digits, comma, added).to_csv(
            sys.stdout, sep=sep, index=False
        )
        return
    assert out is not None

    def write(path: Path) -> None:
        if suffix == ".parquet":
            labelled = with_row_names(frame, data, text, added)
            labelled.to_parquet(path, index=_labels(labelled.index))
        else:
            as_text(frame, data, text, digits, comma, added).to_csv(
                path, sep=sep, index=False
            )

    write_whole(out, write)
    if not str(out).startswith("/dev/"):
        click.echo(f"wrote {len(frame)} predictions to {out}", err=True)


def as_text(
    frame: Any,
    data: Path,
    text: str | None = None,
    digits: int = 9,
    comma: bool = False,
    added: tuple[str, ...] | list[str] = (COLUMN,),
) -> Any:
    """``frame`` to write as text: DATA's own columns as its file wrote them (a
    CSV's or TSV's fields: 51.257302210933936, a zip code's 01234; they were
    rounded to 9 digits, and the zip code read as 1234; ``text``: standard
    input's; its rows' names first, where it has them), others at full
    precision, and the ``added`` columns (the
    predictions, and an interval's) to ``digits``
    significant digits (float32's 9; a float64 run's 17), inf written so, with a
    decimal comma where ``comma`` (DATA's numbers have them)."""
    import numpy as np
    import pandas as pd

    def shown(column: str) -> list[str]:
        return [
            "" if np.isnan(v) else f"{v:.{digits}g}".replace(".", "," if comma else ".")
            for v in frame[column].to_numpy(np.float64)
        ]

    own, names = _as_written(frame.drop(columns=list(added)), data, text)
    made = [pd.Series(shown(c), name=c, index=own.index) for c in added]
    # the rows' names first, under an empty header, as DATA had them; a pandas
    # file's labelled index under its own name
    first = [pd.Series(names, name="", index=own.index)] if names else []
    if not names and _labels(own.index):
        levels = own.index.to_frame(index=False).set_axis(own.index)
        first = [levels.rename(columns=lambda c: "" if c in (0, None) else c)]
    return pd.concat([*first, own, *made], axis=1)


def _as_written(own: Any, data: Path, text: str | None) -> tuple[Any, Any]:
    """DATA's own columns ``own`` as its file wrote them (a CSV's or TSV's fields,
    or ``text``'s: standard input's), where they are the same columns and rows,
    and the rows' names its reading left out (None where it has none)."""
    from gradtrace.data import ROW_NAMES, read_table, text_table

    suffix = data.suffix.lower()
    written = None
    if text is not None:
        written = text_table(text, as_written=True)
    elif data.is_file() and suffix not in (".parquet", ".pq", ".npy", ".npz"):
        # a file's own (a built-in data set's name is none)
        written = read_table(data, as_written=True)
    if written is None:
        return own, None
    if list(written.columns) != list(own.columns) or len(written) != len(own):
        return own, None
    return written, written.attrs.get(ROW_NAMES)


def with_row_names(
    frame: Any, data: Path, text: str | None, added: tuple[str, ...] | list[str]
) -> Any:
    """``frame`` (DATA's columns and the ``added`` predictions) with DATA's rows'
    names, where its file has them (R's write.csv, pandas' to_csv), as its index:
    what ``pd.read_parquet`` of the predictions gives back, as the text output
    writes them in its first column."""
    import pandas as pd

    names = _as_written(frame.drop(columns=list(added)), data, text)[1]
    if not names:
        return frame
    return frame.set_axis(pd.Index(names), axis=0)


def _labels(index: Any) -> bool:
    """Whether a table's ``index`` is its rows' own labels (names, a pandas file's
    named or non-integer index), to write beside them, or only their numbers."""
    import pandas as pd

    if index.name is not None or isinstance(index, pd.MultiIndex):
        return True
    return not pd.api.types.is_integer_dtype(index.dtype)


def _rows_as_lines(said: str, data: Path) -> str:
    """``said`` with its rows named as DATA's file numbers them ("data row 2
    (line 3)"), not as pandas does (".iloc[1]"), which a command's user has not
    seen."""
    import re

    from gradtrace.validate import _row

    def line(found: re.Match[str]) -> str:
        return _row(int(found.group(1)), repr(str(data)))

    return re.sub(r"data row \d+ \(\.iloc\[(\d+)\]\)", line, said)
