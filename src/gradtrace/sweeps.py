"""``sweep``: learning rates, hyper-parameters, starting points and seeds, every
combination in one compiled program per batch size (``core.sweep``)."""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from gradtrace import held_out, reference, validate
from gradtrace.advice import ended_above, separated
from gradtrace.checks import repeated
from gradtrace.core import exact, loop
from gradtrace.core.batches import KERAS, TF_SEED_MODULUS
from gradtrace.core.optimizers import PRESETS
from gradtrace.core.schedules import KERAS_SCHEDULER
from gradtrace.core.sweep import compiled_per_value, run_sweep
from gradtrace.errors import (
    COMMAND_LINE,
    InputError,
    from_callers_line,
    stop_if_interrupted,
)
from gradtrace.planning import plan
from gradtrace.run_config import RunConfig, model_and_loss, python_names
from gradtrace.sources import DataLike, frame_of, source_name
from gradtrace.store import PARQUET_WRITE
from gradtrace.tables import separating_columns, swept_key
from gradtrace.text import for_python, loss_rounding
from gradtrace.trace import device, versions

#: How many times the best's gap (where it settled, above the optimum's loss) the
#: gap of the configuration that ended lowest must be for it to be said to jump
#: about.
JUMPY = 2.0

#: And by how much of the best's settled loss at least (not float32's rounding).
MATERIAL = 1e-3


class Sweep:
    """The result of a sweep: ``table`` (one row per configuration, a DataFrame; also
    ``to_pandas()``), ``traces`` (the kept steps of every configuration, long form:
    ``config``, its learning rate and other swept values as in ``table``, ``step``,
    the parameters and ``loss``, so ``traces.groupby("lr")`` plots by rate),
    ``info`` (what ran), ``best`` (the best configuration's row) and ``plot()`` (the
    command's two pictures). In Jupyter it shows as a small table."""

    def __init__(
        self, table: pd.DataFrame, traces: pd.DataFrame, info: dict[str, Any]
    ) -> None:
        self.table = table
        self.traces = traces
        self.info = info

    @property
    def best(self) -> pd.Series:
        """The best configuration: the fewest steps to come within ``tol`` of the
        optimum and stay there; if none did, the lowest loss where it settled
        (``settled``: a mini-batch run's mean loss over all the data after ten
        steps of the last tenth of the run (``tail_loss``), so
        that a rate that jumps about and happens to end low is not the best; a
        full-batch run's last); diverged ones never, nor one whose loss ended above
        its start while another's did not."""
        ranked = self.ranked()
        if ranked.empty:
            return self.table.iloc[0]
        return ranked.iloc[0].drop("settled")

    def ranked(self) -> pd.DataFrame:
        """The configurations that did not diverge, best first, as ``best`` ranks
        them, with ``settled`` (where each settled) added: those whose loss ended
        above its start last (where another's did not), then those that came
        within ``tol`` of the optimum for good by their steps to it, then the rest
        by where they settled. Where some ended below the optimum's loss (a local
        optimum: ``below_optimum``), all of them by where they settled."""
        ok = self.table.assign(settled=self.settled)[~self.table["diverged"]]
        steps = ok["steps_to_tol"].astype(float)
        local = not self.below_optimum.empty
        keys = ok.assign(
            _above=ok["ended_above_start"] if "ended_above_start" in ok else False,
            _missed=False if local else steps.isna(),
            _steps=0.0 if local else steps.fillna(math.inf),
        )
        # stable: of equal losses (seeds of a full batch), the first configuration
        order = keys.sort_values(
            ["_above", "_missed", "_steps", "settled", "loss"], kind="stable"
        )
        return order.drop(columns=["_above", "_missed", "_steps"])

    @property
    def compute_dtype(self) -> str:
        """The dtype the configurations' losses were computed in (their rounding's)."""
        config = self.info.get("config") or {}
        return str(config.get("compute_dtype") or config.get("dtype") or "float32")

    @property
    def below_optimum(self) -> pd.DataFrame:
        """The configurations that did not diverge and ended on a loss below the
        optimum's beyond rounding (``gap`` below 0), lowest first: the exact
        solver, started from one point, found a local optimum, and another start
        went lower. Empty where none did, or where there is no optimum."""
        table = self.table
        best = self.info.get("optimum_loss")
        if "gap" not in table or best is None or not math.isfinite(best):
            return table.iloc[:0]
        # below it beyond the loss's rounding (a sweep saved before gaps were
        # rounded keeps float32's -0.0017 on 14380.1)
        noise = loss_rounding(
            {
                "compute_dtype": self.compute_dtype,
                "loss_terms": self.info.get("loss_terms"),
            },
            best,
        )
        low = table[~table["diverged"] & (table["gap"] < -noise)]
        return low.sort_values("loss", kind="stable")

    @property
    def best_over_repeats(self) -> pd.Series | None:
        """The best settings (rate, batch size, other hyper-parameters) judged
        over their repeats, the seeds and starting values swept with them, so
        that one lucky seed or start does not pick them. Where any repeat came
        within ``tol`` of the optimum for good: the fewest repeats that did not
        (a diverged one counts as not), then the median of their steps to it.
        Otherwise: the lowest median of where each repeat settled, a diverged
        one counted as infinitely bad. The settings, then ``median_settled``,
        ``median_steps_to_tol`` (infinite where most repeats missed it),
        ``reached``, ``diverged`` and ``runs`` (the repeats'); None where the
        sweep repeats nothing or varies nothing else."""
        repeats = [c for c in self.swept if c == "seed" or c.startswith("init_")]
        settings = [c for c in self.swept if c not in repeats]
        if not repeats or not settings:
            return None
        table = self.table.assign(_settled=self.settled)
        table.loc[table["diverged"], "_settled"] = math.inf
        missed = table["diverged"] | table["steps_to_tol"].isna()
        steps = table["steps_to_tol"].astype(float)
        table = table.assign(_reached=~missed, _steps=steps.where(~missed, math.inf))
        groups = table.groupby(settings, sort=False)
        summary = pd.DataFrame(
            {
                "median_settled": groups["_settled"].median(),
                "median_steps_to_tol": groups["_steps"].median(),
                "reached": groups["_reached"].sum().astype(int),
                "diverged": groups["diverged"].sum().astype(int),
                "runs": groups.size(),
            }
        )
        if not np.isfinite(summary["median_settled"]).any():
            return None
        if summary["reached"].any() and self.below_optimum.empty:
            # several rates settle on the same loss (to float rounding): how
            # fast and how surely they got there tells them apart
            order = summary.assign(_missed=summary["runs"] - summary["reached"])
            best = order.sort_values(
                ["_missed", "median_steps_to_tol", "median_settled"], kind="stable"
            ).drop(columns="_missed")
        else:
            best = summary.sort_values(["median_settled", "diverged"], kind="stable")
        key: Any = best.index[0]
        keys = key if isinstance(key, tuple) else (key,)
        values: dict[str, Any] = dict(zip(settings, keys, strict=True))
        values.update({str(k): v for k, v in best.iloc[0].items()})
        return pd.Series(values)

    def best_over_repeats_text(self) -> str | None:
        """``best_over_repeats`` in words, the ``sweep`` command's line after
        the best: "best settings over their 6 runs (3 seeds x 2 starts; the
        median of where each settled): lr=0.01, median 0.81, none diverged", or
        where repeats came within ``tol``: "... (3 starts; the most within 0.0001
        of the optimum, then their median steps): lr=0.05, all 3 within it after
        a median of 12 steps, none diverged"."""
        found = self.best_over_repeats
        if found is None:
            return None
        repeats = [c for c in self.swept if c == "seed" or c.startswith("init_")]
        named = ", ".join(
            f"{k}={_short(found[k])}" for k in self.swept if k not in repeats
        )
        counts = []
        if "seed" in repeats:
            counts.append(f"{self.table['seed'].nunique()} seeds")
        starts = [c for c in repeats if c != "seed"]
        if starts:
            n_starts = len(self.table[starts].astype(str).drop_duplicates())
            counts.append(f"{n_starts} starts")
        runs, reached = int(found["runs"]), int(found["reached"])
        bad = int(found["diverged"])
        diverged = ("none" if not bad else f"{bad} of them") + " diverged"
        if not self.table["steps_to_tol"].notna().any():
            return (
                f"best settings over their {runs} runs ({' x '.join(counts)}; the "
                f"median of where each settled): {named}, median "
                f"{found['median_settled']:.7g}, {diverged}"
            )
        steps = found["median_steps_to_tol"]
        how = (
            f"{reached} of {runs}"
            if reached != runs
            else ("both" if runs == 2 else f"all {runs}")
        )
        after = (
            f" after a median of {int(steps)} step{'s' * (int(steps) != 1)}"
            if math.isfinite(steps)
            else ""
        )
        return (
            f"best settings over their {runs} runs ({' x '.join(counts)}; the most "
            f"within {self._tol} of the optimum, then their median steps): {named}, "
            f"{how} within it{after}, {diverged}"
        )

    @property
    def best_validated(self) -> pd.Series | None:
        """With validation data: the configuration whose final values have the
        lowest loss over them (``val_loss``), of those that did not diverge;
        None without validation data, or where every one diverged."""
        if "val_loss" not in self.table:
            return None
        ok = self.table[~self.table["diverged"] & self.table["val_loss"].notna()]
        if ok.empty:
            return None
        return ok.sort_values("val_loss", kind="stable").iloc[0]

    def _settled_at(self, row: pd.Series) -> float:
        """Where the configuration of ``row`` (a row of ``table``) settled."""
        return float(self.settled.to_dict()[row.name])

    @property
    def settled(self) -> pd.Series:
        """Where each configuration settled (``tables.settled_loss``)."""
        from gradtrace.tables import settled_loss

        return settled_loss(self.table, self.info.get("data", {}).get("n_rows"))

    @from_callers_line
    def save(self, folder: str | Path, force: bool = False) -> Path:
        """``sweep.parquet``, ``traces.parquet`` and ``sweep.json``, atomically: all
        of them written into a temporary folder beside ``folder``, then put in its
        place. A folder that cannot be written raises ``RunFolderError`` and leaves
        nothing behind."""
        from gradtrace.text import saved_for_python

        with saved_for_python():
            return self._save(Path(folder), force)

    def _save(self, folder: Path, force: bool) -> Path:
        import shutil
        import tempfile

        from gradtrace.store import put_in_place, replaceable, to_json

        replaceable(folder, force, "sweep")
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(
                tempfile.mkdtemp(
                    prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent
                )
            )
            # as any folder is made, with the user's umask: mkdtemp's is private,
            # and a team sharing runs/ could not read each other's sweeps
            mask = os.umask(0)
            os.umask(mask)
            tmp.chmod(0o777 & ~mask)
        except OSError as err:
            raise _cannot_write(folder, err) from None
        try:
            self.table.to_parquet(tmp / "sweep.parquet", index=False, **PARQUET_WRITE)
            self.traces.to_parquet(tmp / "traces.parquet", index=False, **PARQUET_WRITE)
            (tmp / "sweep.json").write_text(to_json(self.info) + "\n")
            put_in_place(tmp, folder)  # your own files there stay
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _cannot_write(folder, err) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @property
    def swept(self) -> list[str]:
        """The columns of ``table`` that vary from configuration to configuration
        (``swept_columns``)."""
        return swept_columns(self.table)

    @property
    def rose(self) -> pd.DataFrame:
        """The configurations whose loss stayed finite but ended above where it
        started (a rate too large that had not yet overflowed)."""
        if "ended_above_start" not in self.table:  # a sweep saved before
            return self.table.iloc[:0]
        return self.table[self.table["ended_above_start"]]

    def to_pandas(self) -> pd.DataFrame:
        """One row per configuration (a copy of ``table``): its swept values (``lr``,
        ``batch_size``, ``seed``, other hyper-parameters, ``init_<name>``), its final
        parameters, ``start_loss`` and ``loss`` (over all the data, before the first
        step and after the last), ``tail_loss`` (the mean of its loss over all the
        data after ten evenly spaced steps of the last tenth of the run, whatever
        ``keep_every``: where it settled, its batches' scatter averaged),
        ``gap`` (to the optimum's loss; to the loss's
        infimum where a logistic regression's classes are separated),
        ``steps_to_tol``
        (the step from which every parameter stayed within ``tol`` of the optimum
        to the end; <NA>: it ended outside), ``diverged``,
        ``diverged_step`` and ``ended_above_start``. ``traces`` holds the steps."""
        return self.table.copy()

    @from_callers_line
    def plot(self, which: str = "losses", ax: Any = None) -> Any:
        """A matplotlib figure of the sweep, as the ``sweep`` command draws it:
        ``losses`` (every configuration's gap to the optimum over the steps) or
        ``heatmap`` (steps to within ``tol``, by learning rate and the second swept
        value); ``gradtrace.sweep_plots.sweep_losses`` and ``sweep_heatmap``.
        ``ax``: a matplotlib axes of yours (a subplot of your grid) to draw on,
        its colour bar beside it and its legend inside; that axes is then
        returned, as ``Trace.plot`` returns it."""
        from gradtrace import sweep_plots
        from gradtrace.plot import check_axes

        check_axes(ax)
        figures = {
            "losses": sweep_plots.sweep_losses,
            "heatmap": sweep_plots.sweep_heatmap,
        }
        if which not in figures:
            raise InputError(
                f"unknown figure {which!r}: choose one of {', '.join(figures)}."
            )
        drawn = figures[which](self, ax=ax)
        return drawn if ax is None else ax

    @property
    def none_trained(self) -> bool:
        """Whether no configuration trained: each diverged or ended with its loss
        above its start."""
        table = self.table
        if table.empty or "ended_above_start" not in table:
            return bool(table.empty or table["diverged"].all())
        return bool((table["diverged"] | table["ended_above_start"]).all())

    def best_text(self) -> str:
        """The best configuration in words, as the ``sweep`` command's last line:
        its swept values (the rate first), and how far it got: "lr=0.1: within
        0.0001 of the optimum for good after 41 steps" or "lr=0.01: final loss 0.49"."""
        table = self.table
        if table.empty or table["diverged"].all():
            return "no best: every configuration diverged; try smaller rates"
        best = self.best
        if self.none_trained:
            return (
                "no best: every configuration's loss diverged or ended above its "
                f"start (the lowest, {self._named(best)}: {best['start_loss']:.7g} "
                f"-> {best['loss']:.7g}); try smaller rates"
            )
        shown = self._named(best)
        reached = best["steps_to_tol"]
        tail = self._settled_at(best)
        settled = (
            f", mean {tail:.7g} over the last tenth of the steps"
            if not math.isclose(tail, best["loss"], rel_tol=1e-6)
            else ""
        )
        how = (
            f"final loss {best['loss']:.7g}{settled}"
            if pd.isna(reached)
            else f"within {self._tol} of the optimum for good after {int(reached)} "
            f"step{'s' * (int(reached) != 1)}"
        )
        if best.get("ended_above_start", False):
            how += f", above its start {best['start_loss']:.7g}" + (
                " (as every other's that did not diverge)" if len(table) > 1 else ""
            )
        held = self.best_validated
        if held is not None:
            how += f"; lowest val_loss {self._named(held)} ({held['val_loss']:.7g})"
        return f"{shown}: {how}"

    @property
    def warnings(self) -> list[str]:
        """What the ``sweep`` command warns of: classes separated (no optimum:
        ``gap`` is then to the loss's infimum), the configuration that ended lowest
        where its loss jumped about (not the best), and configurations whose
        loss ended above its start (the first named), with what to change named as
        Python's arguments."""
        from gradtrace.text import for_python

        # each without the command's "warning: " before it, as a trace's
        said = self.command_warnings()
        return [for_python(w.removeprefix("warning: ")) for w in said]

    def command_warnings(self) -> list[str]:
        """``warnings``, as the ``sweep`` command words them (its options)."""
        info = self.info
        jumpy = self._jumpy()
        apart = (
            [
                "warning: "
                + separated(
                    separating_columns(info), info.get("on_cut", 0), info["separated"]
                )
            ]
            if info.get("separated")
            else []
        )
        apart += self._below_warning() + jumpy
        rose = self.rose
        if not len(rose):
            return apart
        from gradtrace.advice import rose_warning

        first = rose.iloc[0]
        shown = self._named(first)
        others = f" and {len(rose) - 1} more" if len(rose) > 1 else ""
        return apart + [
            rose_warning(
                f"{first['start_loss']:.7g}",
                f"{first['loss']:.7g}{others}",
                f"{shown}: ",
                str(self.info["optimizer"]),
            )
        ]

    def _below_warning(self) -> list[str]:
        """A sentence on configurations that ended below the optimum's loss (a
        local optimum); none where none did."""
        low = self.below_optimum
        if low.empty:
            return []
        first = low.iloc[0]
        more = f" (and {len(low) - 1} more)" if len(low) > 1 else ""
        return [
            f"warning: {self._named(first)}{more} ended on a loss of "
            f"{first['loss']:.7g}, below the optimum's "
            f"{float(self.info['optimum_loss']):.7g}: that optimum, found by "
            "the exact solver from one start, is a local one, and gap and "
            "steps_to_tol measure the way to it. The best is ranked by where each "
            "settled instead; fit again from the lowest's final values for the "
            "lower optimum."
        ]

    def _jumpy(self) -> list[str]:
        """A sentence on the configuration that ended on the lowest loss but is not
        the best, its loss jumping about over the last tenth of its steps; none
        where the best ended lowest."""
        table = self.table
        if "tail_loss" not in table or table.empty or table["diverged"].all():
            return []
        best = self.best
        if not pd.isna(best["steps_to_tol"]):
            return []
        ok = table[~table["diverged"]]
        low = ok.sort_values("loss", kind="stable").iloc[0]
        low_at, best_at = self._settled_at(low), self._settled_at(best)
        # the loss the gaps are from (the optimum's, or the infimum)
        floor = float(best["loss"] - best["gap"]) if "gap" in table else 0.0
        if (
            low["loss"] >= best["loss"]
            or low_at == low["loss"]  # a full batch: it settled where it ended
            or low_at - floor <= JUMPY * (best_at - floor)
            or low_at - best_at <= MATERIAL * abs(best_at)
        ):
            return []  # the batches' own noise, not a rate that jumps about
        return [
            f"note: {self._named(low)} ended on the lowest loss ({low['loss']:.7g}) "
            "but jumped about on the way: over the last tenth of its steps its loss "
            f"averaged {low_at:.7g}, against {best_at:.7g} for the best "
            f"({self._named(best)}), which is ranked where it settled."
        ]

    def tol_note(self) -> str | None:
        """Where float32 cannot resolve the optimum to within ``tol``
        (``advice.unresolved``): a sentence saying so. Else, where no
        configuration stayed within ``tol`` of the optimum and ``tol`` is below a
        tenth of the optimum's smallest standard error: a sentence saying so,
        with a tolerance that still asks for the optimum as closely as the data
        tell it. None otherwise."""
        from gradtrace.advice import unresolved_sentence

        config = self.info.get("config") or {}
        dtype = config.get("dtype") or "float32"
        coarse = unresolved_sentence(
            self.info.get("optimum") or {},
            float(self.info.get("tol") or 1e-4),
            (dtype, config.get("compute_dtype") or dtype),
            "--tol",
        )
        if coarse is not None:
            return f"note: {coarse}."
        errors = [
            float(v)
            for values in (self.info.get("stderr") or {}).values()
            for v in np.ravel(np.asarray(values, np.float64))
            if math.isfinite(v) and v > 0
        ]
        tol = self.info.get("tol")
        if not errors or tol is None or tol >= 0.1 * min(errors):
            return None
        low, high = min(errors), max(errors)
        spread = f"{low:.2g}" if high <= 1.01 * low else f"{low:.2g} to {high:.2g}"
        return (
            f"note: no configuration stayed within --tol {tol:g} of the optimum, a "
            f"tolerance {low / tol:.2g} times finer than its smallest standard error "
            f"(the errors are {spread}); --tol {0.1 * low:.2g}, a tenth of the "
            "smallest, still asks for the optimum as closely as the data tell it."
        )

    @property
    def _tol(self) -> str:
        tol = self.info.get("tol")
        return "tol" if tol is None else f"{tol:g}"

    def _shown_columns(self) -> list[str]:
        """The swept columns that name a configuration: the learning rate first."""
        return sorted(self.swept, key=lambda c: c != "lr") or ["lr"]

    def _named(self, row: pd.Series) -> str:
        """A configuration by its swept values: "lr=0.1, seed=2"."""
        return ", ".join(f"{k}={_short(row[k])}" for k in self._shown_columns())

    def _headline(self) -> str:
        i, table = self.info, self.table
        n, bad = len(table), int(table["diverged"].sum())
        k = len(self.rose)
        rose = f", {k} ended above {'its' if k == 1 else 'their'} start" * bool(k)
        what = f"{i.get('model', '?')}/{i.get('loss', '?')} {i.get('optimizer', '?')}"
        return f"Sweep {what}: {n} configuration{'s' * (n != 1)}, {bad} diverged{rose}"

    def __repr__(self) -> str:
        best = self.best_text()
        best = best if best.startswith("no best") else f"best {best}"
        finer = self.tol_note()
        notes = [] if finer is None else [for_python(finer)]
        # a swept seed or start is luck: the settings judged over the repeats
        over = self.best_over_repeats_text()
        return f"<{self._headline()}; {best}>" + "".join(
            f"\n  {w}" for w in [*([over] if over else []), *self.warnings, *notes]
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the sweep in a line, and a small table: the configurations
        (and what was swept), how many diverged or ended above their start, the best
        configuration, its final loss and steps to ``tol``, and the optimum's loss."""
        from html import escape

        table = self.table
        n = len(table)
        swept = " × ".join(
            f"{table[c].map(swept_key).nunique()} {c}"
            for c in self._shown_columns()
            if c in self.swept
        )
        rows: list[tuple[str, str]] = [
            ("configurations", f"{n}" + (f" ({swept})" if swept else "")),
            ("diverged", str(int(table["diverged"].sum()))),
        ]
        if len(self.rose):
            rows.append(("ended above their start", str(len(self.rose))))
        if n and not table["diverged"].all():
            best = self.best
            shown = self._named(best)
            reached = best["steps_to_tol"]
            rows += [
                ("best", shown),
                ("its final loss", f"{best['loss']:.7g}"),
                (
                    f"its steps to within {self._tol}",
                    "never" if pd.isna(reached) else str(int(reached)),
                ),
            ]
        else:
            rows.append(("best", "none: every configuration diverged"))
        over = self.best_over_repeats_text()
        if over is not None:
            heading, _, said = over.partition(": ")
            rows.append((heading, said))
        if self.info.get("optimum_loss") is not None:
            rows.append(("optimum's loss", f"{self.info['optimum_loss']:.7g}"))
        body = "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows
        )
        from gradtrace.text import warned

        warnings = warned(self.warnings)
        finer = self.tol_note()  # as the repr says it
        note = "" if finer is None else f"<p>{escape(for_python(finer))}</p>"
        return (
            f"<p><b>gradtrace</b> {escape(self._headline())}</p>{warnings}"
            f"<table>{body}</table>{note}"
        )


#: A sweep table's columns of results, not of configurations.
RESULTS = (
    "config",
    "start_loss",
    "loss",
    "tail_loss",
    "gap",
    "steps_to_tol",
    "diverged",
    "diverged_step",
    "ended_above_start",
    "val_loss",
)


def _cannot_write(folder: Path, err: OSError) -> Exception:
    """The one-line error of a sweep folder that cannot be written."""
    from gradtrace.errors import COMMAND_LINE, RunFolderError
    from gradtrace.store import cannot_write

    said = cannot_write(folder, err, "sweep")
    return RunFolderError(
        said if COMMAND_LINE.get() else said.replace("--out", "folder")
    )


def swept_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a sweep's table that vary from configuration to configuration
    (learning rate, batch size, seed, a start, another hyper-parameter), in the
    table's order; a parameter's final values (``w`` beside ``init_w``) are results,
    not settings."""
    finals = {c[len("init_") :] for c in table.columns if c.startswith("init_")}
    return [
        str(c)
        for c in table.columns
        if c not in RESULTS
        and c not in finals
        # a vector parameter's cells are lists, which nunique cannot hash
        and table[c].map(swept_key).nunique() > 1
    ]


def one_optimizer(optimizer: Any) -> None:
    """Refuse several optimizers (sgd,keras.adam, or a list): a sweep compiles one
    optimizer's update for all its configurations; say how to compare them."""
    if isinstance(optimizer, str):
        names = [n.strip() for n in optimizer.split(",") if n.strip()]
    elif isinstance(optimizer, (list, tuple)):
        names = [str(n) for n in optimizer]
    else:
        return
    if len(names) < 2:
        return
    from gradtrace.errors import COMMAND_LINE

    if COMMAND_LINE.get():
        each = ", then ".join(f"--optimizer {n}" for n in names)
        how = (
            f"run one sweep per optimizer ({each}, each with its own --out) and "
            "compare their best configurations (gradtrace show FOLDER)"
        )
    else:
        each = ", then ".join(f"optimizer={n!r}" for n in names)
        how = (
            f"call gradtrace.sweep once per optimizer ({each}) and compare their "
            "best configurations (.best)"
        )
    raise InputError(
        f"a sweep takes one optimizer, got {optimizer!r}: to compare optimizers, {how}."
    )


def _alone(values: set[int]) -> int | None:
    """The one value in ``values``, or None where there are several."""
    return next(iter(values)) if len(values) == 1 else None


@python_names
def sweep(
    data: DataLike,
    model: Any = None,
    loss: Any = None,
    *,
    lr: Sequence[float] | float | None = None,
    opt: Mapping[str, Sequence[Any] | Any] | None = None,
    init: Mapping[str, Sequence[float] | float] | None = None,
    seed: Sequence[int] | int = 0,
    batch_size: Sequence[int] | int | None = None,
    keep_every: int | None = None,
    tol: float = 1e-4,
    progress: Callable[[int, int], None] | None = None,
    **fit_options: Any,
) -> Sweep:
    """Run every combination of the given values, vectorised (one compiled program
    per batch size), as ``gradtrace sweep`` does; return a ``Sweep``.

    Args:
        data, model, loss: as for ``fit``.
        lr: learning rates (a list, or one value).
        opt: other hyper-parameters, each a list of values (or one value).
        init: initial values by parameter, each a list (or one value).
        seed: shuffling seeds. batch_size: batch sizes (one program per size).
        keep_every: keep every k-th step of each configuration's trace (default: about
            100 kept points per configuration).
        tol: a configuration converged at the step from which every parameter
            stays within ``tol`` of the optimum.
        progress: called as ``progress(done, total)`` with the configurations
            run so far and in all: before the first, and after each compiled
            call's (a progress bar's).
        **fit_options: the rest of ``fit``'s options (optimizer, epochs or steps,
            shuffle, fix, reduction, dtype, x, y, ...).

    Examples:
        >>> import gradtrace
        >>> s = gradtrace.sweep("seed001_line", lr=[0.01, 0.1, 0.5, 1.0], steps=200)
        >>> s  # doctest: +NORMALIZE_WHITESPACE
        <Sweep line/mse sgd: 4 configurations, 1 diverged; best lr=0.5: within
        0.0001 of the optimum for good after 99 steps>
        >>> float(s.best["lr"]), int(s.best["steps_to_tol"])
        (0.5, 99)
        >>> s.to_pandas()["diverged"].tolist()
        [False, False, False, True]
    """
    started = time.perf_counter()
    one_optimizer(fit_options.get("optimizer"))
    frame, source = frame_of(data)
    lrs = _once(_values(lr, "lr"), "lr")
    opt_lists = validate.by_name("opt", opt)
    init_lists = validate.by_name("init", init)
    opts = {
        k: _once(_values(v, f"opt[{k!r}]"), f"opt[{k!r}]") for k, v in opt_lists.items()
    }
    inits = {k: _values(v, f"init[{k!r}]") for k, v in init_lists.items()}
    for k, values in inits.items():
        for value in values:
            if np.ndim(value) > 1:
                raise InputError(
                    f"init[{k!r}]: each start is one number or a list of numbers "
                    f"(one per element), got {np.shape(value)} values; list the "
                    f"starts themselves: init={{{k!r}: [[1.0, 2.0], [0.0, 0.0]]}}."
                )
    seeds = [int(s) for s in _once(_values(seed, "seed"), "seed")]
    sizes = _once(_values(batch_size, "batch_size"), "batch_size")
    held_out.refuse("a sweep", fit_options, ("validation_split", "validation_data"))
    # validation data given in Python, apart from a file's name
    given_val = fit_options.pop("validation_data", None)
    validation = None
    if isinstance(given_val, (str, Path)):
        fit_options["validation_data"] = str(given_val)
    elif given_val is not None:
        validation = frame_of(given_val)
    model_obj, loss_obj, model, loss = model_and_loss(model, loss, fit_options)
    base = RunConfig(
        data=source_name(data),
        model=model,
        loss=loss,
        lr=lrs[0] if lrs else None,
        opt={k: v[0] for k, v in opts.items()},
        init={k: v[0] for k, v in inits.items()},
        seed=seeds[0],
        batch_size=sizes[0] if sizes else None,
        **fit_options,
    )
    if "betas" in opts:
        raise InputError(
            "--opt betas: a sweep takes an Adam's two averages apart, by the "
            "preset's names (b1 and b2 for adam, beta1 and beta2 for torch.adam, "
            "beta_1 and beta_2 for keras.adam), each with its values."
        )
    for pair, parts in (
        ("etas", "etaminus and etaplus"),
        ("step_sizes", "step_size_min and step_size_max"),
    ):
        if pair in opts:
            raise InputError(
                f"--opt {pair}: a sweep takes torch.rprop's pair apart, by its "
                f"names ({parts}), each with its values."
            )
    p = plan(
        base, frame, source, model_obj, loss_obj, validation=validation, record=False
    )
    if p.schedule.shuffle == KERAS:
        # TensorFlow takes a seed modulo 2**31 - 1: 1 and 2**31 are one order
        by_tf: dict[int, list[int]] = {}
        for s in seeds:
            by_tf.setdefault(s % TF_SEED_MODULUS, []).append(s)
        same = next((v for v in by_tf.values() if len(v) > 1), None)
        if same is not None:
            said = (
                f"--seed {same[0]} and {same[1]} are one seed to TensorFlow, "
                "which takes a seed modulo 2**31 - 1 (Keras's order, --keras-order): "
                "give each seed once."
            )
            raise InputError(said if COMMAND_LINE.get() else for_python(said))
    if p.spec.schedule is not None and p.spec.schedule.name == KERAS_SCHEDULER:
        raise InputError(
            f"a sweep cannot take {KERAS_SCHEDULER} yet: its rates follow lr "
            "through its expression, one run at a time; fit each rate, or sweep "
            "with a schedule of the rate's own (such as keras.exponential)."
        )
    preset = PRESETS[p.spec.name]
    for k in inits:
        # an element (w[1]): a sweep starts a vector whole, each start one
        # number for every element or one value each
        if k not in p.names:
            name = k.split("[")[0].strip()
            size = int(np.size(p.trainable[name])) if name in p.names else 2
            # as many one-number starts as it has elements would read two ways
            numbers = ["0", "0.5", "1"][: 3 if size == 2 else 2]
            ones = [str(i + 1) for i in range(size)]
            zeros = ["0"] * size
            if COMMAND_LINE.get():
                raise InputError(
                    f"--init {k}: a sweep starts a vector parameter whole: one "
                    f"number for every element (--init {name}={','.join(numbers)} "
                    f"sweeps {len(numbers)} starts), or its elements in brackets "
                    f"(--init '{name}=[{','.join(ones)}],[{','.join(zeros)}]')."
                )
            # written for Python whole: in_python would mix the two
            raise InputError(
                f"init[{k!r}]: a sweep starts a vector parameter whole: one number "
                f"for every element (init={{{name!r}: [{', '.join(numbers)}]}} "
                f"sweeps {len(numbers)} starts), or a list of its values each "
                f"(init={{{name!r}: [[{', '.join(ones)}], [{', '.join(zeros)}]]}})."
            )
        for value in inits[k]:
            # brackets around a number's start: [1] for b (a vector's lists of
            # lists were refused before the plan)
            if np.ndim(p.trainable[k]) == 0 and np.ndim(value) > 0:
                raise InputError(
                    f"--init {k}: {k} is one number, so each start is one number "
                    f"(--init {k}=0,0.5), not one in brackets."
                    if COMMAND_LINE.get()
                    else f"init[{k!r}]: {k} is one number, so each start is one "
                    f"number (init={{{k!r}: [0.0, 0.5]}}), not a list."
                )
    schedule = p.spec.schedule
    if schedule is not None and schedule.name == "keras.piecewise" and len(lrs) > 1:
        raise InputError(
            "keras.piecewise gives every rate itself (its values), so the sweep's "
            "rates would all run alike: sweep without lr, or with a schedule that "
            "starts from lr."
        )
    if p.spec.cycled is not None and p.spec.cycled in opts:
        raise InputError(
            f"{p.spec.cycled} is swept, but {schedule.name} sets it at each step "
            "(cycle_momentum=true, PyTorch's default): drop it from the sweep, or "
            f"give {schedule.name}:cycle_momentum=false."
        )
    # every value is validated as a single fit would validate it
    for value in lrs:
        validate.learning_rate(value)
    # each combination of the swept hyper-parameters, as the configurations take
    # them together (nesterov needs the momentum given beside it)
    names = list(opts)
    for combo in itertools.islice(itertools.product(*opts.values()), 10_000):
        validate.optimizer(p.spec.name, None, dict(zip(names, combo, strict=True)))
    # a framework's default of what gradtrace leaves out (use_ema=false): taken
    # by the validation above, and nothing to sweep
    opts = {
        k: v
        for k, v in opts.items()
        if k in preset.defaults
        or not all(
            str(x).strip().lower() in validate.IDLE_VALUES.get(k, set()) for x in v
        )
    }
    for k, values in inits.items():
        size = int(np.size(p.trainable[k]))
        if np.ndim(p.trainable[k]) > 0 and size == len(values) > 1:
            if all(np.ndim(v) == 0 for v in values):
                # fit's one start, or as many starts as the vector has elements
                given = ",".join(f"{float(v):g}" for v in values)
                each = ",".join(
                    "[" + ",".join([f"{float(v):g}"] * size) + "]" for v in values
                )
                if COMMAND_LINE.get():
                    raise InputError(
                        f"--init {k}={given}: {k} has {size} elements, so this is "
                        f"one start or {size}: write '{k}=[{given}]' for one start "
                        f"at these values, or '{k}={each}' for {size} starts at one "
                        "number each."
                    )
                listed = ", ".join(f"{float(v):g}" for v in values)
                lists = ", ".join(
                    f"[{', '.join([f'{float(v):g}'] * size)}]" for v in values
                )
                raise InputError(
                    f"init={{{k!r}: [{listed}]}}: {k} has {size} elements, so this "
                    f"is one start or {size}: give [[{listed}]] for one start at "
                    f"these values, or [{lists}] for {size} starts at one number "
                    "each."
                )
        for value in values:
            validate.param_values(p.specs, {k: value}, {})
        _one_each(k, values, np.shape(p.trainable[k]))
    lr_key = preset.lr_key

    with jax.enable_x64(True):
        try:
            best = exact.solve(
                p.m,
                p.loss,
                p.reduction,
                p.names,
                p.fixed,
                p.xs,
                p.ys,
                p.trainable,
                stderr=False,
            )
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
            # parameters that trade off, a solver that found none: a traceback
            # before (gradtrace fit of the same runs, and says why)
            raise InputError(
                f"a sweep measures its configurations against the exact optimum, "
                f"and there is none: {err}."
            ) from None
        # separated classes: no optimum to measure steps against, and the loss's
        # infimum to measure gaps from: 0 where they are perfectly separated,
        # else (rows on the cut) what the solver came down to on its way out
        on_cut = reference.separation(
            p.m, p.loss, p.reduction, best, p.fixed, p.xs, p.ys
        )
    apart = on_cut is not None
    optimum = None if apart else best.params
    optimum_loss = None if apart else best.loss
    floor = best.loss if on_cut else 0.0
    # the size of the loss's terms, which round the gaps (a Poisson's of large
    # counts: a sweep read -0.0015 as below a local optimum)
    terms = (
        None
        if apart
        else reference.rounding_size(p.m, p.loss, best.params, p.fixed, p.xs, p.ys)
    )
    loss_terms = (
        None if terms is None else terms * (len(p.ys) if p.reduction == "sum" else 1)
    )
    # each batch size runs its own steps, and keeps about 100 of them
    steps_of: dict[int, int] = {}
    keeps: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    traces: list[pd.DataFrame] = []
    compile_s = train_s = 0.0
    structural_keys = [k for k in opts if compiled_per_value(p.spec.name, k)]
    numeric_keys = [k for k in opts if not compiled_per_value(p.spec.name, k)]
    total = (
        len(sizes or [p.batch_size])
        * max(len(lrs), 1)
        * math.prod(len(v) for v in opts.values())
        * math.prod(len(v) for v in inits.values())
        * len(seeds)
    )
    done = 0

    def ran(count: int) -> None:
        if progress is not None:
            progress(done + count, total)

    ran(0)
    for size in sizes or [p.batch_size]:
        size_plan = (
            p
            if size == p.batch_size
            else plan(
                replace(base, batch_size=size),
                frame,
                source,
                validation=validation,
                record=False,
            )
        )
        keep = keep_every or max(1, math.ceil(size_plan.n_steps / 100))
        steps_of[size_plan.batch_size] = size_plan.n_steps
        keeps[size_plan.batch_size] = keep
        for combo in itertools.product(*[opts[k] for k in structural_keys]):
            structural = {
                **p.spec.hyper,
                **dict(zip(structural_keys, combo, strict=True)),
            }
            grid = list(
                itertools.product(
                    lrs or [p.spec.learning_rate],
                    *[opts[k] for k in numeric_keys],
                    *[inits[k] for k in inits],
                    seeds,
                )
            )
            configs = []
            for g in grid:
                c = {lr_key: g[0]}
                c.update(zip(numeric_keys, g[1 : 1 + len(numeric_keys)], strict=True))
                start = 1 + len(numeric_keys)
                c_init = dict(zip(inits, g[start : start + len(inits)], strict=True))
                configs.append((c, c_init, g[-1]))
            traced_keys = [lr_key, *numeric_keys]
            static = {k: v for k, v in structural.items() if k not in traced_keys}
            traced = {
                k: np.array([float(c[k]) for c, _, _ in configs]) for k in traced_keys
            }
            init_arrays = {
                k: np.stack(
                    [
                        np.broadcast_to(
                            np.asarray(ci.get(k, p.trainable[k]), np.float64),
                            np.shape(p.trainable[k]),
                        )
                        for _, ci, _ in configs
                    ]
                )
                for k in p.names
            }
            schedule = loop.Schedule(
                size_plan.n_rows,
                size_plan.batch_size,
                size_plan.n_steps,
                base.shuffle,
                1,
                size_plan.schedule.drop_last,
            )
            stop_if_interrupted()
            with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
                result = run_sweep(
                    size_plan.problem,
                    p.spec.name,
                    static,
                    traced,
                    init_arrays,
                    np.array([s for _, _, s in configs]),
                    p.fixed,
                    p.xs,
                    p.ys,
                    schedule,
                    keep,
                    optimum,
                    tol,
                    p.spec.schedule,
                    p.spec.clip,
                    progress=ran,
                )
            done += len(configs)
            stop_if_interrupted()  # a Ctrl-C Python dropped while it ran
            compile_s += result.compile_s
            train_s += result.train_s
            val_loss = _held_out_losses(size_plan, result.final_params)
            for i, (c, _, s) in enumerate(configs):
                row: dict[str, Any] = {
                    "config": len(rows),
                    "batch_size": size_plan.batch_size,
                    "seed": s,
                    "lr": c[lr_key],
                }
                row.update({k: c[k] for k in numeric_keys})
                row.update({k: structural[k] for k in structural_keys})
                for k in p.names:
                    row[f"init_{k}"] = _scalar(init_arrays[k][i])
                for k in p.names:
                    row[k] = _scalar(result.final_params[k][i])
                # both over all the data: before the first step, after the last
                row["start_loss"] = float(result.kept_loss[i, 0])
                row["loss"] = float(result.final_loss[i])
                row["tail_loss"] = float(result.tail_loss[i])
                row["gap"] = row["loss"] - (floor if apart else best.loss)
                if val_loss is not None:
                    row["val_loss"] = float(val_loss[i])
                first = int(result.first_within[i])
                row["steps_to_tol"] = first if first > 0 else None
                dstep = int(result.diverged_step[i])
                row["diverged"] = dstep > 0
                row["diverged_step"] = dstep if dstep > 0 else None
                # a mini-batch run settled above its start by its tail's mean
                # too, whatever its last step's luck (lr 20: 0.742 over the
                # tail from 0.693, its last 0.517)
                mini = size_plan.batch_size < size_plan.n_rows
                row["ended_above_start"] = dstep == 0 and (
                    ended_above(row["start_loss"], row["loss"])
                    or (mini and ended_above(row["start_loss"], row["tail_loss"]))
                )
                rows.append(row)
            # the kept steps of the group's configurations, in long form at once
            n_conf, n_kept = result.kept_loss.shape
            first_id = len(rows) - n_conf
            kept: dict[str, Any] = {
                "config": np.repeat(np.arange(first_id, first_id + n_conf), n_kept),
                "step": np.tile(result.kept_steps, n_conf),
            }
            for k in p.names:
                flat = np.asarray(result.kept_params[k]).reshape(n_conf * n_kept, -1)
                if flat.shape[1] == 1 and np.ndim(p.trainable[k]) == 0:
                    kept[k] = flat[:, 0]
                else:
                    for j in range(flat.shape[1]):
                        kept[f"{k}[{j}]"] = flat[:, j]
            kept["loss"] = result.kept_loss.reshape(-1)
            traces.append(pd.DataFrame(kept))
    table = pd.DataFrame(rows)
    if optimum_loss is not None and math.isfinite(optimum_loss):
        # a gap within the loss's rounding is 0, as a run's summary says it: the
        # last digits of 14258.98 ranked rates that all reached the optimum
        noise = loss_rounding(
            {"compute_dtype": p.cdtype, "loss_terms": loss_terms}, optimum_loss
        )
        table.loc[table["gap"].abs() <= noise, "gap"] = 0.0
    table["steps_to_tol"] = table["steps_to_tol"].astype("Int64")
    table["diverged_step"] = table["diverged_step"].astype("Int64")
    errors = None
    if not apart and table["steps_to_tol"].isna().all() and not table["diverged"].all():
        # none stayed within tol: the optimum's standard errors say what tol asked
        # (1e-4 was a fiftieth of one, which no mini-batch rate reaches); solved
        # again with them, from the optimum found above (a solver starts there)
        with jax.enable_x64(True):
            errors = exact.solve(
                p.m, p.loss, p.reduction, p.names, p.fixed, p.xs, p.ys, best.params
            ).stderr
    info = {
        "model": p.m.name,
        "loss": p.loss,
        "reduction": p.reduction,
        "optimizer": p.spec.name,
        # as a run's run.json names it: the file or data set as given
        "data": {
            "source": "standard input"
            if base.data == "-"
            else (base.data or "python data"),
            "n_rows": p.n_rows,
            **({"x": list(p.x_cols)} if p.x_cols else {}),
            # the last x column, added as it is (its coefficient held at 1)
            **({"offset": True} if getattr(p.m, "offset", False) else {}),
            **({"validation": held_out.info(p.val)} if p.val is not None else {}),
        },
        # the most steps a configuration ran, and each batch size's own where
        # they differ
        "n_steps": max(steps_of.values()),
        # every batch size's, where they all keep the same
        "keep_every": keep_every or _alone(set(keeps.values())),
        **(
            {  # keyed by the size as text, as sweep.json keeps them
                "n_steps_by_batch_size": {str(k): v for k, v in steps_of.items()},
                "keep_every_by_batch_size": {str(k): v for k, v in keeps.items()},
            }
            if len(set(steps_of.values())) > 1
            else {}
        ),
        "tol": tol,
        **(
            {"stderr": {k: np.asarray(v).tolist() for k, v in errors.items()}}
            if errors
            else {}
        ),
        # what the plan had to say of the data (rows dropped, a batch size clamped)
        "notices": _notices(p.notices, _seeds_idle(seeds, steps_of, p.n_rows, base)),
        "swept": {
            "lr": lrs,
            **{k: list(v) for k, v in opts.items()},
            **{f"init_{k}": list(v) for k, v in inits.items()},
            "seed": seeds,
            "batch_size": sizes,
        },
        "config": json.loads(json.dumps(base.to_dict(), default=str)),
        "optimum": None
        if optimum is None
        else {k: v.tolist() for k, v in optimum.items()},
        "optimum_loss": optimum_loss,
        "loss_terms": loss_terms,
        **(
            {
                # a logistic's classes apart, or a Poisson's counts of 0
                "separated": reference.separated_kind(p.m, p.ys),
                "on_cut": on_cut,
                "loss_infimum": floor,
                **reference.separated_by(
                    p.m, reference.separated_kind(p.m, p.ys), p.xs, p.ys
                ),
            }
            if apart
            else {}
        ),
        "timings": {
            "compile_s": compile_s,
            "train_s": train_s,
            "total_s": time.perf_counter() - started,
        },
        "versions": versions(),
        "device": device(),
    }
    return Sweep(
        table, _with_settings(pd.concat(traces, ignore_index=True), table), info
    )


def _held_out_losses(p: Any, final: Mapping[str, Any]) -> np.ndarray | None:
    """The loss over the plan's validation rows at each configuration's final
    values (None without validation data)."""
    if p.val is None:
        return None
    with jax.enable_x64("float64" in (p.pdtype, p.cdtype)):
        held = loop.place(p.val.x, p.val.y, np.dtype(p.cdtype), 1)[:2]
        fixed = {k: np.asarray(v, p.pdtype) for k, v in p.fixed.items()}
        values = {k: np.asarray(final[k]) for k in p.names}
        n = len(next(iter(values.values())))
        loss, _ = loop.held_out_losses(p.problem, fixed, held, values, np.ones(n, bool))
    return loss


def _with_settings(traces: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``traces`` with each configuration's learning rate and other swept values
    (``swept_columns``) beside its ``config``, so that ``traces.groupby("lr")``
    needs no merge with ``table``; a configuration's id is its row in ``table``."""
    at = traces["config"].to_numpy()
    columns = ["lr", *(c for c in swept_columns(table) if c != "lr")]
    settings = {c: table[c].to_numpy()[at] for c in columns if c not in traces}
    return pd.concat(
        [traces[["config"]], pd.DataFrame(settings), traces.drop(columns="config")],
        axis=1,
    )


def _notices(planned: Sequence[str], seeds: list[str]) -> list[str]:
    """The plan's notices, its first seed's left out where the sweep says its
    seeds change nothing (the two said it twice, the first of one seed alone)."""
    if not seeds:
        return list(planned)
    return [n for n in planned if not n.startswith("--seed ")] + seeds


def _seeds_idle(
    seeds: list[int], steps_of: dict[int, int], n_rows: int, base: RunConfig
) -> list[str]:
    """A notice where swept seeds change nothing: the rows are not shuffled, or
    a batch size takes every row (its configurations of each seed are one run,
    counted as repeats all the same)."""
    if len(seeds) < 2:
        return []
    if not base.shuffle:
        return [
            f"the {len(seeds)} seeds change nothing with shuffling off: each "
            "configuration runs alike whatever its seed, and its repeats are one run"
        ]
    whole = sorted(size for size in steps_of if size >= n_rows)
    if not whole:
        return []
    return [
        f"the {len(seeds)} seeds change nothing for batches of every row (batch "
        f"size {whole[0]}): those configurations run alike whatever their seed, "
        "and their repeats are one run"
    ]


def _values(value: Any, name: str) -> list[Any]:
    """A swept argument's values: a list of them, or one; none for None. An empty
    list is refused (it would sweep nothing)."""
    if value is None:
        return []
    if isinstance(value, str) and ":" in value:
        raise InputError(
            f"{name}={value!r}: a range written as the command line writes it; in "
            "Python give the values, such as np.logspace(-3, -1, 5)."
        )
    if hasattr(value, "__array__") and not isinstance(value, np.ndarray):
        value = np.asarray(value)  # a JAX array: as NumPy's
        if value.ndim == 0:
            return [value.item()]
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        return [value]
    values = list(value)
    if not values:
        raise InputError(
            f"{name}=[] gives no values to sweep: give at least one (or leave it "
            "out for its default)."
        )
    return values


def _once(values: list[Any], name: str) -> list[Any]:
    """``values``, refused where one is given twice (``repeated``)."""
    again = repeated(values)
    if again is not None:
        raise InputError(f"{name} gives {again} more than once: give each value once.")
    return values


def _one_each(name: str, starts: list[Any], shape: tuple[int, ...]) -> None:
    """Refuse a start given twice (``--init w=0,0``): the sweep would run its
    configurations twice over, into the same cells. A vector's start of one
    number is the same start as that number at every element."""
    seen = Counter(
        tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().tolist())
        for v in starts
    )
    twice = [start for start, n in seen.items() if n > 1]
    if not twice:
        return
    first = twice[0]
    shown = (
        f"{first[0]:g}" if not shape else "[" + ",".join(f"{v:g}" for v in first) + "]"
    )
    given = f"--init {name}" if COMMAND_LINE.get() else f"init[{name!r}]"
    raise InputError(
        f"{given} gives the start {shown} more than once: give each start once."
    )


def _scalar(value: Any) -> Any:
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _short(value: Any) -> str:
    """A swept value, short: 4 significant digits, a vector in brackets."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_short(float(v)) for v in np.ravel(value)) + "]"
    return str(value)
