"""Numbers and sentences as gradtrace prints them (a module light enough for the
command line's start)."""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def fmt(value: float | None) -> str:
    """Seven significant digits, as float32 carries them; empty for None and NaN;
    a zero without its sign (a gradient of -0.0 read "-0")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value + 0.0:.7g}" if value == 0 else f"{value:.7g}"


def percent(level: float) -> str:
    """An interval's level as a percentage: 0.95 as "95%", 0.999 as "99.9%", in
    the digits the level is written with (0.9 times 100 is 90.00000000000001 in
    floating point; 0.9999999999999999 is not 100%)."""
    from decimal import Decimal

    return f"{(Decimal(repr(float(level))) * 100).normalize():f}%"


def learning_rate(info: Mapping[str, Any]) -> float:
    """A run's learning rate, as its optimizer's settings name it
    (``learning_rate``, or a PyTorch preset's ``lr``)."""
    optimizer = info["optimizer"]
    value = optimizer.get("learning_rate", optimizer.get("lr"))
    return math.nan if value is None else float(value)


def full_batch(info: Mapping[str, Any]) -> bool:
    """Whether a run (its run.json ``info``) took every row at every step."""
    return int(info["schedule"].get("batch_size") or 0) >= int(info["data"]["n_rows"])


def resolution(info: Mapping[str, Any]) -> float:
    """The relative distance below which a run's parameter and its optimum are
    one value but for its dtype's rounding (float32's, or float64's)."""
    return 1e-6 if info["dtype"] == "float32" else 1e-14


def run_setting(info: Mapping[str, Any]) -> str:
    """ "sgd, lr=0.05, batches of 20": how a run trained, as its pictures name it
    (four optimizers' slides told apart), with its schedule where it has one."""
    optimizer = info["optimizer"]
    size, n = int(info["schedule"]["batch_size"]), int(info["data"]["n_rows"])
    batches = "full batch" if size >= n else f"batches of {size}"
    schedule = (info.get("lr_schedule") or {}).get("name")
    rate = f"lr={learning_rate(info):.3g}"
    rate += f" ({schedule})" if schedule else ""
    # the optimizer's values the user set (torch.sgd's momentum 0.9 told apart
    # from plain SGD), as the run took them
    given = (info.get("config") or {}).get("opt") or {}
    own = [
        f"{k}={_short(optimizer[k])}"
        for k in given
        if k in optimizer and k not in ("learning_rate", "lr")
    ]
    name = f"{optimizer['name']} ({', '.join(own)})" if own else optimizer["name"]
    return f"{name}, {rate}, {batches}"


def _short(value: Any) -> str:
    """A hyper-parameter as a title names it: 0.9, 1e-07, True."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def model_by_loss(info: Mapping[str, Any], width: int = 40) -> str:
    """ "a*exp(-b*t) + c by mse": the model and the loss a run (or a sweep) names in
    its titles, a model or loss given as an expression by the expression (cut to
    ``width`` characters) in place of "expr"."""
    config = info.get("config") or {}

    def named(kind: str) -> str:
        name = str(info[kind])
        expr = config.get(f"{kind}_expr") if name == "expr" else None
        if not expr:
            return name
        expr = " ".join(str(expr).split())
        return expr if len(expr) <= width else expr[: width - 1] + "…"

    return f"{named('model')} by {named('loss')}"


def duration(seconds: float) -> str:
    """A time as the summaries print it: milliseconds below a second ("3.3 ms"),
    seconds from one on ("14.33 s")."""
    if round(seconds * 1e3, 1) < 1000:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def header_example(columns: int, y: str = "y") -> str:
    """A header line of ``columns`` names, y last: "x,y" for two, "x1,x2,y" for
    three."""
    xs = ["x"] if columns == 2 else [f"x{i + 1}" for i in range(columns - 1)]
    return ",".join([*xs, y])


def close_name(name: str, names: Sequence[str]) -> str | None:
    """The one of ``names`` that ``name`` most likely means: the same in another
    case, the only one that starts with it, or a close spelling; None if none."""
    found = close_names(name, names)
    return found[0] if found else None


def close_names(name: str, names: Sequence[str]) -> list[str]:
    """``close_name``, and beside it any other name as few typing slips away
    ("liner": line and linear, a letter each), the likeliest first."""
    folded = name.strip().lower()
    for pick in (
        [n for n in names if n.lower() == folded],
        [n for n in names if folded and n.lower().startswith(folded)],
    ):
        if len(pick) == 1:
            return pick
    by_fold = {n.lower(): n for n in names}
    # fewest typing slips first (keras.adma is keras.adam, not keras.adamax),
    # then difflib's likeness
    near = [(_slips(folded, n), n) for n in by_fold]
    fewest = min((d for d, _ in near), default=None)
    # (a one-letter name is one slip from any other: y is not a)
    if fewest is not None and len(folded) > 1 and fewest <= max(1, len(folded) // 5):
        tied = [n for d, n in near if d == fewest]
        tied.sort(key=lambda n: -difflib.SequenceMatcher(None, folded, n).ratio())
        return [by_fold[n] for n in tied]
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    return [by_fold[close[0]]] if close else []


def _slips(a: str, b: str) -> int:
    """Typing slips between ``a`` and ``b``: letters left out, added, changed or
    two swapped (the optimal string alignment distance)."""
    row2: list[int] = []
    row1 = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(row1[j] + 1, row[j - 1] + 1, row1[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], row2[j - 2] + 1)
        row2, row1 = row1, row
    return row1[len(b)]


#: How a Poisson run's notice says its loss keeps log y!, which Keras's and
#: PyTorch's Poisson losses leave out (planning writes it, keras_log finds it).
LOG_FACTORIALS_KEPT = "log y! included"


def flag_value(flag: str, value: str) -> str:
    """``flag`` given ``value`` as the caller writes it: "--y 'a b'" to paste into
    a shell, "y='a b'" from Python."""
    import shlex

    from gradtrace.errors import COMMAND_LINE

    if COMMAND_LINE.get():
        return f"{flag} {shlex.quote(value)}"
    return f"{flag.lstrip('-')}={value!r}"


def column_hint(
    column: str,
    names: Sequence[str],
    flag: str,
    left: Sequence[str] = (),
    besides: str = "the one column besides x",
    choose: str = "",
) -> str:
    """What to do about a ``column`` not among the data's ``names``, given with
    ``flag`` (--x or --y): the name meant, written to paste into a shell (quoted
    where it has spaces) or as Python's argument, else the one column ``left`` (no
    other role takes it; ``besides`` says so), else what to pass: ``choose``
    ("FLAG with one of them" where empty)."""
    meant = close_name(column, names)
    if meant is None and len(left) != 1:
        return f"pass {choose or flag + ' with one of them'}."
    given = flag_value(flag, meant or left[0])
    if meant is None:
        return f"pass {given}, {besides}."
    return f"did you mean {given}?"


#: A sweep of Rprop's first step sizes, what its rate is (``READS_RATE_ONCE``),
#: as the command line and as Python write it.
RPROP_SWEEP = "gradtrace sweep DATA --optimizer torch.rprop --lr 0.001,0.01,0.1"
RPROP_SWEEP_PYTHON = (
    "gradtrace.sweep(data, optimizer='torch.rprop', lr=[0.001, 0.01, 0.1])"
)

#: The command line's options in the sentences a run keeps and prints (run.json's
#: diagnosis, the summary's warnings), and Python's names for them.
PYTHON_WORDS = (
    (RPROP_SWEEP, RPROP_SWEEP_PYTHON),
    ("--model linear --standardize", "model='linear', standardize=True"),
    ("--param-space unconstrained", "param_space='unconstrained'"),
    ("gradtrace lr-find", "gradtrace.lr_find"),
    ("a sweep of rates (gradtrace sweep --lr)", "a sweep of rates (gradtrace.sweep)"),
    ("a smaller --lr", "a smaller lr="),
    ("(--steps N sets it)", "(steps=N sets it)"),
    ("(its parameters: gradtrace show RUN)", "(its parameters: trace.params)"),
    ("(--init)", "(init=)"),
    ("(--init NAME=VALUE)", "(init={'NAME': VALUE})"),
    ("(--optimizer adam)", "(optimizer='adam')"),
    ("(--standardize)", "(standardize=True)"),
    ("(--dtype float64)", "(dtype='float64')"),
    ("--compute-dtype float64", "compute_dtype='float64'"),
    ("--dtype float64 asks", "dtype='float64' asks"),
    ("--dtype float64 resolves", "dtype='float64' resolves"),
    ("--intervals profile gives", "intervals='profile' gives"),
    ("(--seed)", "(seed=)"),
    ("--drop-last changes", "drop_last=True changes"),
    ("--drop-last with", "drop_last=True with"),
    ("leave out --drop-last", "leave out drop_last=True"),
    ("(--no-shuffle)", "(shuffle=False)"),
    ("--no-shuffle compares", "shuffle=False compares"),
    ("SEED being --seed", "SEED being seed="),
    ("--torch-order", "shuffle='torch'"),
    ("--interval confidence", "interval='confidence'"),
    ("(--no-exact, or none found", "(exact=False, or none found"),
    ("--keras-order", "shuffle='keras'"),
    ("--batch-size 32 runs as", "batch_size=32 runs as"),
    ("--tol ", "tol="),
    ("(--chunk-rows)", "(chunk_rows=)"),
    ("(weight decay, --optimizer adamw,", "(weight decay, optimizer='adamw',"),
    (
        "choose another --out, or pass --force",
        "choose another folder, or pass force=True",
    ),
    ("choose another --out (--force", "choose another folder (force=True"),
    ("--stderr hc3 gives", "stderr='hc3' gives"),
    ("--stderr hc1 gives", "stderr='hc1' gives"),
    ("--stderr hc0 gives", "stderr='hc0' gives"),
    ("--model negative-binomial fits", "model='negative-binomial' fits"),
    ("(gradtrace fit --help lists them)", "(gradtrace.OPTIMIZERS lists them)"),
    # last: the forms above say more
    ("--standardize", "standardize=True"),
)


def for_python(sentence: str) -> str:
    """``sentence`` with the command line's options named as Python's arguments
    (``PYTHON_WORDS``; x columns, ``--x a --x b``, as ``x=['a', 'b']``), for what a
    notebook shows."""
    for flag, argument in PYTHON_WORDS:
        sentence = sentence.replace(flag, argument)
    sentence = _SCHEDULE_FLAG.sub(r"lr_schedule='\1'", sentence)
    sentence = _SEED_FLAG.sub(r"seed=\1", sentence)
    sentence = _LR_FLAG.sub(r"lr=\1", sentence)
    sentence = _INIT_FLAGS.sub(_init_argument, sentence)
    return _X_FLAGS.sub(_x_argument, sentence)


#: Starting or held values as the command line gives them: --init a=1 --init b=2,
#: --fix c=0
_INIT_FLAGS = re.compile(
    r"--(init|fix) [^\s=()]+=[^\s,;()]+(?: --\1 [^\s=()]+=[^\s,;()]+)*"
)


def _init_argument(found: re.Match[str]) -> str:
    """--init a=1 --init b=2 as Python's init={'a': 1, 'b': 2} (--fix as fix=)."""
    name = found.group(1)
    pairs = [flag.split("=", 1) for flag in found.group(0).split(f"--{name} ")[1:]]
    given = ", ".join(f"{k.strip()!r}: {v.strip()}" for k, v in pairs)
    return f"{name}={{{given}}}"


#: A seed as the command line gives it: --seed 3
_SEED_FLAG = re.compile(r"--seed (\d+)")

#: A rate as the command line gives it: --lr 0.05
_LR_FLAG = re.compile(r"--lr (\d[\d.eE+-]*\d|\d)")

#: A schedule named as the command line gives it: --lr-schedule NAME:KEY=VALUE
_SCHEDULE_FLAG = re.compile(r"--lr-schedule ([^\s()]+)")


def x_flags(names: Sequence[str]) -> str:
    """x columns as the command line names them, ``--x a --x b``, a name a shell
    would split quoted (``--x 'Area m²'``: pasted, --x Area m² named two
    columns); ``for_python`` writes them ``x=['a', 'b']``."""
    import shlex

    return " ".join(f"--x {shlex.quote(n)}" for n in names)


#: One --x flag's column: a word, or quoted as shlex.quote quotes it
_X_NAME = r"(?:'[^']*'(?:\"'\"'[^']*')*|[^\s,;()']+)"
#: x columns named with --x, once or side by side.
_X_FLAGS = re.compile(rf"--x {_X_NAME}(?: --x {_X_NAME})*")


def _x_argument(match: re.Match[str]) -> str:
    import shlex

    words = shlex.split(match.group(0))
    names = [w for w in words if w != "--x"]
    return f"x={names[0]!r}" if len(names) == 1 else f"x={names!r}"


@contextlib.contextmanager
def saved_for_python() -> Iterator[None]:
    """A ``RunFolderError`` raised inside (a save's), worded for a Python caller
    (``for_python``: force=True, not --force) unless on the command line."""
    from gradtrace.errors import COMMAND_LINE, RunFolderError

    try:
        yield
    except RunFolderError as err:
        if COMMAND_LINE.get():
            raise
        raise RunFolderError(for_python(str(err))) from None


def warned(lines: list[str], prefix: str = "") -> str:
    """Warnings as a notebook view shows them: a paragraph each, in amber."""
    from html import escape

    return "".join(
        f'<p style="color:#a15c00">{escape(prefix + line)}</p>' for line in lines
    )


#: A constrained parameter as --param-space unconstrained trains it.
UNCONSTRAINED_AS = {"positive": "log({})", "unit": "logit({})"}


def unconstrained_names(info: dict[str, Any]) -> list[str]:
    """A run trained in unconstrained coordinates: each constrained trained
    parameter as the optimizer held it (log(shape), logit(p)); empty otherwise."""
    if info.get("param_space") != "unconstrained":
        return []
    trained = info.get("initial") or {}
    return [
        UNCONSTRAINED_AS[p["constraint"]].format(p["name"])
        for p in info.get("params_spec", [])
        if p.get("constraint") in UNCONSTRAINED_AS and p["name"] in trained
    ]


def listed(items: Sequence[Any], most: int) -> str:
    """``items`` as a sentence lists them; past ``most`` of them, the first
    ``most`` and how many in all.

    Examples:
        >>> listed([3], 5), listed([3, 7, 9], 5), listed(range(4), 2)
        ('3', '3, 7 and 9', '0, 1, ... (4 in all)')
    """
    shown = [str(v) for v in list(items)[:most]]
    if len(items) > most:
        return f"{', '.join(shown)}, ... ({len(items)} in all)"
    head = ", ".join(shown[:-1])
    return f"{head} and {shown[-1]}" if head else shown[-1]


def loss_rounding(info: Mapping[str, Any], best: float) -> float:
    """How far a run's loss (run.json ``info``) may lie from ``best``, the
    optimum's loss, by rounding alone: ten of its dtype's epsilons of that size
    (float32's 1.2e-7, float64's 2.2e-16), or one of the size of the loss's terms
    where they are larger and cancel (``loss_terms``: a Poisson regression of
    large counts). A gap within it is 0."""
    import numpy as np

    eps = float(np.finfo(info.get("compute_dtype") or "float32").eps)
    terms = float(info.get("loss_terms") or 0.0)
    return eps * max(10 * abs(float(best)), terms, 1e-30)
