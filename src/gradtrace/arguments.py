"""The command line's flags and Python's arguments: a message written with flags
as a Python caller reads it (``in_python``), and other libraries' names of an
argument (``ARGUMENT_ALIASES``). Light to import: the command line's errors read it
without JAX."""

from __future__ import annotations

import difflib
import re

from gradtrace.text import RPROP_SWEEP, RPROP_SWEEP_PYTHON

#: Flags whose Python keyword is not their name with "_" for "-".
_KEYWORD_OF_FLAG = {
    "--no-shuffle": "shuffle=False",
    "--metric": "metrics=",
    "--min": "lr_min=",  # lr-find's range
    "--max": "lr_max=",
    "--force": "force=True",
}


#: Switches, as Python writes them.
_SWITCHES = {
    "--drop-missing": "drop_missing=True",
    "--drop-last": "drop_last=True",
    "--standardize": "standardize=True",
    "--stream": "stream=True",
    "--no-exact": "exact=False",
    "--shuffle": "shuffle=True",
    "--torch-order": "shuffle='torch'",
    "--keras-order": "shuffle='keras'",
}

#: Flags of a KEY=VALUE pair (Python's dict arguments).
_PAIRS = ("--init", "--fix", "--opt")

#: A flag, and what may follow it: a number, a name, or a KEY=VALUE pair.
_FLAG = re.compile(
    r"(--[a-z][a-z0-9-]*)"
    r"(?: (-?\d[\d.e+-]*\d|-?\d|[A-Za-z_][\w.-]*(?:\[\d+\])?"
    r"(?:=[^\s,;):]*[^\s,;).:])?))?"
)


#: Words that follow a flag of pairs in a sentence, not as the name it is given
#: ("given to both --init and --fix").
_WORDS = frozenset("and or for to says is with the only once alone repeated".split())

#: A parameter's name, or one element's (``w[0]``).
_NAME = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])?")


def _names_of(flag: str) -> tuple[str, ...]:
    """The names a flag's value may take where it names a choice (``--model
    linear``), or none."""
    from gradtrace.core.catalog import MODELS
    from gradtrace.core.losses import LOSSES, REDUCTIONS
    from gradtrace.core.metrics import METRICS
    from gradtrace.core.optimizers import PRESETS

    return {
        "--model": tuple(MODELS),
        "--optimizer": tuple(PRESETS),
        "--loss": tuple(LOSSES),
        "--reduction": tuple(REDUCTIONS),
        "--metric": tuple(METRICS),
        "--dtype": ("float32", "float64"),
        "--compute-dtype": ("float32", "float64"),
        "--param-space": ("constrained", "unconstrained"),
        "--intervals": ("wald", "profile"),
        "--stderr": ("classical", "hc0", "hc1", "hc2", "hc3"),
    }.get(flag, ())


def in_python(message: str, keywords: set[str]) -> str:
    """A bad-input message written for the command line, its flags written as a
    Python caller of a function taking ``keywords`` writes them: "--lr 0.01" as
    "lr=0.01", "--model linear" as "model='linear'", "--drop-missing" as
    "drop_missing=True", "--fix n=2" as "fix={'n': 2}", "--init w" as
    "init['w']", and a flag alone as its name ("give a positive lr"). Flags of no
    keyword of the function stay as they are. Flags side by side are arguments
    side by side: "--optimizer momentum --opt momentum=0.9" is "optimizer='momentum',
    opt={'momentum': 0.9}"."""
    # a command written whole: Python's call for it
    message = message.replace(RPROP_SWEEP, RPROP_SWEEP_PYTHON)

    def one(match: re.Match[str]) -> str:
        flag, value = match.group(1), match.group(2)
        name = _KEYWORD_OF_FLAG.get(flag) or _SWITCHES.get(flag)
        if name is None:
            name = flag[2:].replace("-", "_") + "="
        key, _, fixed = name.partition("=")
        if key not in keywords:
            return match.group(0)
        after = f" {value}" if value else ""
        if value == "FILE":  # "--data FILE": data=... (a file, or a DataFrame)
            return f"{key}=..."
        if fixed:  # a switch: shuffle=False
            return name + after
        if flag in _PAIRS and value and "=" in value:
            k, _, v = value.partition("=")
            return f"{key}={{{k!r}: {v}}}"
        if flag in _PAIRS and value and value in _WORDS:  # "check --init and ..."
            return f"{key} {value}"
        if flag in _PAIRS and value and _NAME.fullmatch(value):
            return f"{key}[{value!r}]"
        if value and value[0] in "-0123456789":
            return f"{key}={value}"
        named = flag in ("--x", "--y") and value not in _WORDS
        if value and (value in _names_of(flag) or named):
            return f"{key}={value!r}"  # a choice, or a column's name
        return key + after

    out: list[str] = []
    end, given = 0, False  # where the last flag ended; whether it became key=value
    for match in _FLAG.finditer(message):
        written = one(match)
        between = message[end : match.start()]
        argument = written != match.group(0) and bool(_ARGUMENT.match(written))
        side_by_side = given and argument and between == " "
        key = written.partition("=")[0]
        if side_by_side and written.endswith("}") and out[-1].startswith(f"{key}={{"):
            # a pair flag again (--opt a=1 --opt b=2): one dict, opt={'a': 1, 'b': 2}
            out[-1] = f"{out[-1][:-1]}, {written[len(key) + 2 :]}"
        elif side_by_side and out[-1].startswith(f"{key}="):
            # a flag repeated (--x age --x height): one list, x=['age', 'height']
            before, value = out[-1][len(key) + 1 :], written[len(key) + 1 :]
            items = before[1:-1] if before.startswith("[") else before
            out[-1] = f"{key}=[{items}, {value}]"
        else:
            out += [", " if side_by_side else between, written]
        end, given = match.end(), argument
    return "".join(out) + message[end:]


#: An argument with its value, as ``in_python`` writes a flag given one.
_ARGUMENT = re.compile(r"[a-z_]+=\S")


#: Other libraries' names of an argument (Keras's, PyTorch's, scikit-learn's).
ARGUMENT_ALIASES = {
    "learning_rate": "lr",
    "lrs": "lr",
    "min_lr": "lr_min",
    "max_lr": "lr_max",
    "start_lr": "lr_min",
    "end_lr": "lr_max",
    "epoch": "epochs",
    "n_epochs": "epochs",
    "num_epochs": "epochs",
    "max_epochs": "epochs",
    "n_steps": "steps",
    "num_steps": "steps",
    "max_iter": "steps",
    "batchsize": "batch_size",
    "optimiser": "optimizer",
    "metric": "metrics",
    "random_state": "seed",
    "random_seed": "seed",
    "initial": "init",
    "fixed": "fix",
}


#: Keras ``fit`` keywords gradtrace has no argument for, and what it does instead
#: (``{flag}`` is --print-every or print_every=, as the caller writes options)
FIT_KEYWORDS = {
    "verbose": "gradtrace fit prints a table of steps ({print_every} sets how "
    "often, {quiet} none), and show RUN --keras prints the epochs as Keras's "
    "verbose=2 does",
    "steps_per_epoch": "an epoch here is one pass over the rows; {steps} runs "
    "that many steps whatever the epochs",
    "validation_batch_size": "the held-out loss is taken over all the held-out "
    "rows at once, in blocks that change nothing but rounding",
    "sample_weight": "every row weighs the same in gradtrace's losses: weights "
    "per row are not supported yet",
    "class_weight": "every row weighs the same in gradtrace's losses: weights "
    "per class are not supported yet",
}


def fit_keyword(key: str, command_line: bool) -> str | None:
    """What gradtrace does in place of Keras's ``fit`` keyword ``key``, or None."""
    said = FIT_KEYWORDS.get(key)
    if said is None:
        return None
    if key == "verbose" and not command_line:  # Python prints nothing as it runs
        return (
            "fit prints nothing as it runs (progress= takes a function of the steps "
            "done); trace.keras_log() prints the epochs as Keras's verbose=2 does"
        )
    words = (
        {"print_every": "--print-every N", "quiet": "-q", "steps": "--steps N"}
        if command_line
        else {"print_every": "print_every=N", "quiet": "quiet=True", "steps": "steps=N"}
    )
    return said.format(**words)


def no_argument(function: str, key: str, keywords: set[str]) -> str:
    """The message for a keyword argument ``function`` does not take."""
    instead = fit_keyword(key, command_line=False)
    if instead is not None:
        return f"{function}() has no argument {key!r}: {instead}."
    best = ARGUMENT_ALIASES.get(key)
    if best not in keywords:
        close = difflib.get_close_matches(key, sorted(keywords), n=1, cutoff=0.6)
        best = close[0] if close else None
    hint = f"did you mean {best}?" if best else f"see help(gradtrace.{function})."
    return f"{function}() has no argument {key!r}: {hint}"
