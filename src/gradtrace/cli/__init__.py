"""The ``gradtrace`` command: one module per command group; errors translated here.

Exit codes: 0 done, 1 the run diverged or its loss ended above its start (its trace
is still written), 2 bad input
(one line on stderr, no traceback), 130 interrupted. A group given no command
(``gradtrace``, ``gradtrace data``) prints its help, as --help does, and exits 0.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import sys
import threading
from typing import NoReturn

import click

from gradtrace.cli import _cache
from gradtrace.errors import (
    COMMAND_LINE,
    INTERRUPTED,
    STOP_SIGNALS,
    STOPPED_BY,
    TAKEN_OVER,
    GradtraceError,
)

#: Each command: its module and function, imported when the command is run (or
#: --help lists it), so ``gradtrace fit`` does not import the other commands'
#: modules (20 ms of a 1.2 s fit). In the order the group's help lists them.
COMMANDS = {
    "fit": ("fit", "fit"),
    "sweep": ("sweep", "sweep"),
    "lr-find": ("sweep", "lr_find"),
    "diagnose": ("understand", "diagnose"),
    "explain": ("understand", "explain"),
    "predict": ("predict", "predict"),
    "show": ("runs", "show"),
    "plot": ("runs", "plot"),
    "compare": ("runs", "compare"),
    "animate": ("runs", "animate"),
    "report": ("runs", "report"),
    "export": ("runs", "export"),
    "ls": ("runs", "ls_runs"),
    "rerun": ("runs", "rerun"),
    "resume": ("runs", "resume"),
    "data": ("data", "data"),
    "models": ("models", "models"),
    "schedules": ("schedules", "schedules"),
    "demo": ("demo", "demo"),
}


#: Optimizers' settings by their frameworks' keywords, given as options of their
#: own (--momentum 0.9) where gradtrace takes them in --opt: every preset's but
#: the rate (written here so that an error need not import optax; a test holds it
#: to ``core.optimizers.PRESETS``)
HYPER_PARAMETERS = frozenset(
    (
        "momentum nesterov dampening beta1 beta2 beta_1 beta_2 b1 b2 eps epsilon "
        "rho alpha decay centered amsgrad weight_decay initial_accumulator_value "
        "lr_decay momentum_decay decoupled_weight_decay eps_in_sqrt betas etaminus "
        "etaplus step_size_min step_size_max etas step_sizes"
    ).split()
)


def _value_of(option: str, given: list[str]) -> str:
    """The value given after ``option`` (or with it, ``--momentum=0.9``), else
    ``VALUE``."""
    for i, word in enumerate(given):
        if word.startswith(f"{option}="):
            return word.split("=", 1)[1] or "VALUE"
        if word == option and i + 1 < len(given) and not given[i + 1].startswith("-"):
            return given[i + 1]
    return "VALUE"


def _given_once(command: click.Command, args: list[str]) -> None:
    """Refuse an option of one value given twice (click keeps the last, and
    --clip keras.norm=1 --clip keras.global_norm=0.1 clipped by the second
    alone), and a switch given both ways (--shuffle --no-shuffle); in a group's
    command too (gradtrace data line -o a.csv -o b.csv). The words are walked as
    click reads them: an option's value is not an option (--model-expr -o), and
    -oFILE is -o FILE."""
    from gradtrace.errors import InputError

    if any(w in ("--help", "-h") for w in args):
        return  # help asked for: given, whatever else is
    options = {
        opt: param
        for param in command.params
        if isinstance(param, click.Option)
        for opt in [*param.opts, *param.secondary_opts]
    }
    given: dict[str, list[tuple[str, str]]] = {}  # param's name -> (flag, value)
    rest: list[str] = []  # the words that are no option's: arguments
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            rest += args[i + 1 :]
            break
        flag, value = word, None
        if word.startswith("--") and "=" in word:
            flag, value = word.split("=", 1)
        elif word[:1] == "-" and word[:2] != "--" and word[:2] not in options:
            pass  # a value such as -1, or not an option of this command
        elif word[:1] == "-" and word[:2] != "--" and len(word) > 2:
            flag, value = word[:2], word[2:]  # -oFILE
        param = options.get(flag)
        if param is None:
            rest.append(word)
            i += 1
            continue
        takes = not param.is_flag and not param.count
        if takes and value is None:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        i += 1
        if param.multiple:
            continue
        given.setdefault(str(param.name), []).append((flag, value or ""))
    for param_name, uses in given.items():
        option = next(
            p
            for p in command.params
            if isinstance(p, click.Option) and p.name == param_name
        )
        flags = {f for f, _ in uses}
        if option.is_flag and option.secondary_opts:
            on = [f for f in flags if f in option.opts]
            off = [f for f in flags if f in option.secondary_opts]
            if on and off:
                raise InputError(
                    f"{on[0]} and {off[0]} are both given: give one of them."
                )
            continue
        if option.is_flag or option.count or len(uses) < 2:
            continue  # a flag said twice means it once
        flag = max(option.opts, key=len)  # --out, not -o
        times = "twice" if len(uses) == 2 else f"{len(uses)} times"
        shown = ", then ".join(v for _, v in uses[:3])
        raise InputError(f"{flag} is given {times} ({shown}): give it once.")
    if isinstance(command, click.Group) and rest:
        sub = command.get_command(click.Context(command), rest[0])
        if sub is not None:
            _given_once(sub, args[args.index(rest[0]) + 1 :])


class _ReaderGone(Exception):
    """The reader of standard output stopped reading (``| head``)."""


class _Commands(click.Group):
    """The command group: a reader that stops reading while a command writes is
    told apart here, as a ``_ReaderGone``. Click's ``main`` would take the
    ``BrokenPipeError`` for itself and exit 1 with no word (``demo ... | head``,
    ``export ... | head``: output larger than the pipe's buffer)."""

    def invoke(self, ctx: click.Context) -> object:
        from gradtrace.errors import InputError

        try:
            return super().invoke(ctx)
        except BrokenPipeError as err:
            raise _ReaderGone() from err
        except InputError as err:
            # a bad value a --config file wrote: the message names the file
            from gradtrace.cli._config import META_KEY, named_from_file

            said = ctx.meta.get(META_KEY)
            if said is not None and len(err.args) == 1:
                err.args = (named_from_file(str(err), *said),)
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        """Nothing: the help's text lists every command with what it does (click's
        table of their first sentences cut most of them short, and imported
        every command to make it)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        given = args[0] if args else ""
        if given and not given.startswith("-") and given not in COMMANDS:
            import difflib
            import os

            if os.path.isdir(given):  # a run's folder, or a folder of runs
                run = os.path.isfile(os.path.join(given, "run.json"))
                raise click.UsageError(
                    f"no such command {given!r}: "
                    + (
                        f"to see the run, gradtrace show {given}."
                        if run
                        else f"to list the runs in it, gradtrace ls {given}."
                    ),
                    ctx,
                )
            if "." in given or "/" in given or os.path.isfile(given):
                # a data file where the command goes: gradtrace data.csv
                raise click.UsageError(
                    f"no such command {given!r}: to fit a file, gradtrace fit {given}.",
                    ctx,
                )
            near = difflib.get_close_matches(given, list(COMMANDS), n=1, cutoff=0.75)
            if near:  # "fitt" as the options' typos are answered
                raise click.UsageError(
                    f"no such command {given!r}: did you mean {near[0]}?", ctx
                )
            raise click.UsageError(
                f"no such command {given!r}: the commands are {', '.join(COMMANDS)}.",
                ctx,
            )
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _given_once(command, rest)
        return name, command, rest

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, function = COMMANDS[name]
        command = getattr(importlib.import_module(f"gradtrace.cli.{module}"), function)
        assert isinstance(command, click.Command) and command.name == name
        return command


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="gradtrace")
def cli() -> None:
    """Fit models with gradient steps and see every step.

    \b
    gradtrace fit DATA --model line --optimizer keras.rmsprop --lr 0.05 ...
    gradtrace sweep DATA --lr 1e-7:1e-3:log20 --init loc=-5000,0,1   many runs at once
    gradtrace lr-find DATA     the learning-rate range test
    gradtrace diagnose DATA .. curvature, stable learning rate, predicted steps
    gradtrace explain RUN --step N   one step's arithmetic, row by row
    gradtrace predict RUN DATA the fitted model at new rows
    gradtrace show RUN         what ran and how it ended
    gradtrace plot RUN         the fit, loss, parameters and loss landscape as PNGs
    gradtrace compare RUN RUN... -o runs.png   runs' losses and paths side by side
    gradtrace animate RUN -o fit.gif   the fit moving step by step
    gradtrace report RUN       a self-contained interactive HTML report
    gradtrace export RUN --csv the trace as CSV, JSON or Parquet
    gradtrace ls [FOLDER]      a table of runs
    gradtrace rerun RUN        repeat a run and check the trace is identical
    gradtrace resume RUN       continue an interrupted or checkpointed run
    gradtrace data line ...    synthetic data with known truth
    gradtrace models           every built-in model and its parameters
    gradtrace schedules        every learning-rate schedule and its parameters
    gradtrace demo [NAME]      the seeds' training loops, reproduced
    gradtrace COMMAND --help   a command's options, with examples

    RUN is a run's folder, its name as gradtrace ls lists it, or latest (the run
    made last in runs; for show, the run or sweep).

    Compiled programs are kept in ~/.cache/gradtrace/jax, so a run repeated, or at
    another --lr, skips compiling; GRADTRACE_CACHE_DIR=PATH moves that cache,
    GRADTRACE_CACHE_DIR=off turns it off.
    """


def main(argv: list[str] | None = None) -> None:
    """Run the command line; bad input ends in one line on stderr and exit code 2.

    As the program (``argv`` None: the ``gradtrace`` script, ``python -m
    gradtrace``) the process ends as soon as the command has, without Python's
    teardown: freeing JAX's, pandas' and matplotlib's objects one by one took 0.15
    s of a 1.3 s fit. Everything the command writes is closed by then (run folders
    are renamed into place whole), its threads are waited for and its output is
    flushed. Under a profiler, a tracer or a monitoring tool (coverage), and when
    called with ``argv`` (tests, other programs), it ends as Python does."""
    code = _command(argv)
    if argv is None and not _watched():
        _end_process(code)
    sys.exit(code)


def _watched() -> bool:
    """Whether a profiler, a tracer or a monitoring tool (coverage on Python 3.12
    and later) watches this process: it writes what it saw as Python ends."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)
    return monitoring is not None and any(
        monitoring.get_tool(tool) is not None for tool in range(6)
    )


def _command(argv: list[str] | None) -> int:
    """The command's exit code: 0 done, 1 diverged (or its loss rose), 2 bad input,
    130 interrupted
    by Ctrl-C (128 plus the signal's number for another that stops it: 143 for
    TERM)."""
    STOPPED_BY.clear()
    code = _command_code(argv)
    if code == 130 and STOPPED_BY:
        return 128 + int(STOPPED_BY[-1])
    return code


def _command_code(argv: list[str] | None) -> int:
    """``_command``'s code, 130 for any signal that stopped it."""
    # Ctrl-C stops a run even where the shell started us with SIGINT ignored (a
    # background job), and so do the TERM of timeout, docker or a batch system
    # and a closed terminal's HUP: the run then saves what it did.
    INTERRUPTED.clear()
    # but not a TERM or HUP told to be ignored (nohup): the run goes on
    handlers = {
        sig: signal.signal(sig, _interrupt)
        for sig in STOP_SIGNALS
        if sig == signal.SIGINT or signal.getsignal(sig) is not signal.SIG_IGN
    }
    TAKEN_OVER.update(handlers)
    unraisable, sys.unraisablehook = sys.unraisablehook, _unraisable
    _cache.enable()
    token = COMMAND_LINE.set(True)
    try:
        code = cli.main(args=argv, prog_name="gradtrace", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.Abort:
        click.echo("interrupted.", err=True)
        return 130
    except click.NoSuchOption as err:  # click lists its guesses alphabetically
        path = err.ctx.command_path if err.ctx else "gradtrace"
        # the command's every option (the error's possibilities are click's
        # guesses); one it takes without listing only where spelt almost so
        # (diagnose --devices was offered --level)
        params = err.ctx.command.params if err.ctx else []
        options: list[str] = []
        unlisted: list[str] = []
        for param in params:
            flags = [o for o in (*param.opts, *param.secondary_opts) if o[:2] == "--"]
            (unlisted if getattr(param, "hidden", False) else options).extend(flags)
        best = _meant_option(err.option_name, options or err.possibilities or [])
        near = _meant_option(err.option_name, unlisted, cutoff=0.8)
        if near is not None and (
            best is None
            or _likeness(err.option_name, near) > _likeness(err.option_name, best)
        ):
            best = near
        options += unlisted
        guess = f": did you mean {best}?" if best else "."
        from gradtrace.arguments import fit_keyword

        name = err.option_name.lstrip("-").replace("-", "_")
        instead = fit_keyword(name, command_line=True)
        if instead is not None and "--steps" in options:  # Keras's fit's keywords
            guess = f": {instead}"
        elif name in HYPER_PARAMETERS and "--opt" in options:
            # --momentum 0.9: a framework's keyword, which goes in --opt here
            value = _value_of(err.option_name, sys.argv[1:] if argv is None else argv)
            guess = (
                f": an optimizer's {name} goes in --opt, as --opt {name}={value} "
                "(repeat --opt for more)"
            )
        click.echo(
            f"error: no such option {err.option_name}{guess} (see {path} --help)",
            err=True,
        )
        return 2
    except click.exceptions.NoArgsIsHelpError as err:
        # `gradtrace`, `gradtrace data`: what there is to do, as --help prints it
        click.echo(err.ctx.get_help() if err.ctx else err.format_message())
        return 0
    except click.UsageError as err:
        given = sys.argv[1:] if argv is None else argv
        if err.ctx is None and given and given[0] in COMMANDS:  # an option's value
            top = click.Context(cli, info_name="gradtrace")
            command = cli.get_command(top, given[0])
            if command is not None:
                err.ctx = click.Context(command, top, info_name=given[0])
        path = err.ctx.command_path if err.ctx else "gradtrace"
        options = [
            opt
            for param in (err.ctx.command.params if err.ctx else [])
            for opt in (*param.opts, *param.secondary_opts)
        ]
        hint = _switch_given_a_value(
            err.format_message(), given, options
        ) or _value_split_by_a_space(err.format_message(), given)
        said = _said_by_click(err)
        if hint:  # what to write instead is the hint's
            said = said.split(": write ")[0]
        click.echo(f"error: {said}{hint} (see {path} --help)", err=True)
        return 2
    except click.ClickException as err:
        click.echo(f"error: {_one_line(err.format_message())}", err=True)
        return 2
    except GradtraceError as err:
        click.echo(f"error: {_one_line(str(err))}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted.", err=True)
        return 130
    except OSError as err:
        # a disk that filled up (or a quota, a read-only one) while writing: what
        # was saved before (a checkpoint) is kept
        full = _full_disk(err)
        if full is None:
            raise
        click.echo(f"error: {full}", err=True)
        return 2
    except (_ReaderGone, BrokenPipeError):  # the reader stopped (| head): no error
        from gradtrace.cli._report import silence

        silence(sys.stdout)
        return 0
    finally:
        COMMAND_LINE.reset(token)
        sys.unraisablehook = unraisable
        TAKEN_OVER.clear()
        for sig, handler in handlers.items():
            if handler is not None:  # a caller's own, as it was
                signal.signal(sig, handler)
        INTERRUPTED.clear()
    return code if isinstance(code, int) else 0


def _full_disk(err: OSError) -> str | None:
    """One line for a write the disk refused (full, over a quota, read-only, not
    permitted); None for another error, which is a fault to show whole. Arrow's
    errors carry the number in their text ("[errno 28]") alone."""
    import errno
    import re

    number = err.errno
    if number is None:
        found = re.search(r"\[errno (\d+)\]", str(err))
        number = int(found.group(1)) if found else None
    where = f" writing {err.filename!r}" if err.filename else ""
    what = err.strerror or os.strerror(number or 0)
    if number in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{what}{where}: free some space and run the command again, or write "
            "elsewhere (--out, -o); a run's last checkpoint, if it saved one, is "
            "kept (gradtrace resume RUN goes on from it)."
        )
    if number == errno.EROFS:
        return (
            f"{what}{where}: the folder cannot be written; write elsewhere where "
            "the command takes a place (--out, -o)."
        )
    if number in (errno.EACCES, errno.EPERM):  # reading or writing
        at = f" ({err.filename!r})" if err.filename else ""
        return (
            f"{what}{at}: change its permissions (chmod u+rw), or use another "
            "place where the command takes one (--out, -o)."
        )
    return None


def _interrupt(signum: int, frame: object) -> NoReturn:
    """Ctrl-C (or TERM, HUP): KeyboardInterrupt, noted as well where Python may
    drop it (``errors.INTERRUPTED``)."""
    INTERRUPTED.set()
    STOPPED_BY.append(signum)
    raise KeyboardInterrupt


def _unraisable(info: sys.UnraisableHookArgs) -> None:
    """Python's report of an exception it dropped, but not of a Ctrl-C's: the run
    stops at its next compiled call all the same (``errors.INTERRUPTED``), and a
    traceback would only alarm."""
    if not isinstance(info.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(info)


def _switch_given_a_value(message: str, argv: list[str], options: list[str]) -> str:
    """What to write instead, where an extra argument is a truth value after one
    of ``options`` that is a switch (``--shuffle false``: switches take none)."""
    words = ("true", "false", "yes", "no", "on", "off", "1", "0")
    for i, word in enumerate(argv[1:], 1):
        flag = argv[i - 1]
        if word.lower() not in words or f"({word})" not in message:
            continue
        if flag not in options:
            continue
        on = f"--{flag[5:]}" if flag.startswith("--no-") else flag
        off = f"--no-{on[2:]}"
        either = f"{on} or {off}" if off in options else f"{on}, or leave it out"
        return f": {flag} is a switch and takes no value: write {either}"
    return ""


def _value_split_by_a_space(message: str, argv: list[str]) -> str:
    """What to write instead, where an extra argument is the rest of an
    option's value that a space split off (``--lr-schedule
    torch.step:step_size=2, gamma=0.5``: the shell passed ``gamma=0.5`` on its
    own)."""
    for i, word in enumerate(argv[2:], 2):
        value, flag = argv[i - 1], argv[i - 2]
        if f"({word})" not in message or not flag.startswith("-"):
            continue
        if value.endswith(",") or value.endswith("=") or word.startswith(","):
            whole = f"{value}{word}"
            return (
                f": the space after {value!r} split {flag}'s value in two; write "
                f"it without spaces, or in quotes: {flag} '{whole}'"
            )
    return ""


def _meant_option(given: str, options: list[str], cutoff: float = 0.6) -> str | None:
    """The option that ``given`` most likely means: another library's name for it
    (--learning-rate for --lr, as ``arguments.ARGUMENT_ALIASES`` has them for Python's
    keywords), else the closest spelling (``cutoff``: difflib's)."""
    import difflib

    from gradtrace.arguments import ARGUMENT_ALIASES

    alias = ARGUMENT_ALIASES.get(given.lstrip("-").replace("-", "_").lower())
    flag = f"--{alias.replace('_', '-')}" if alias else None
    if flag in options:
        return flag
    best = difflib.get_close_matches(given, options, 1, cutoff)
    return best[0] if best else None


def _likeness(a: str, b: str) -> float:
    """How alike two spellings are, as ``_meant_option`` weighs them."""
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio()


def _end_process(code: int) -> NoReturn:
    """Wait for the threads Python would wait for (the exact answer's worker, which
    may be writing a compiled program into the cache), flush what was printed and
    logged, then end the process with ``code`` at once (``os._exit``). A reader
    that closed the pipe early (``| head``) is no error of the command's."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _said_by_click(err: click.UsageError) -> str:
    """click's message of a command line it could not parse, in gradtrace's words:
    what was wrong, then what to write (click's own, "Invalid value for '--step':
    'abc' is not a whole number.", said neither)."""
    ctx = err.ctx
    usage = ""
    if ctx is not None:
        usage = _one_line(ctx.command.get_usage(ctx)).removeprefix("Usage: ")
    if isinstance(err, click.MissingParameter) and err.param is not None and ctx:
        what = err.param.make_metavar(ctx)
        if err.param.param_type_name == "option":  # -o/--out PATH: add -o PATH
            flags = "/".join(sorted(err.param.opts, key=len))
            first = sorted(err.param.opts, key=len)[0]
            return f"{ctx.command_path} needs {flags} {what}: add {first} {what}"
        return f"{ctx.command_path} needs {what}: write {usage}"
    if isinstance(err, click.BadParameter) and err.param is not None:
        flag = _flag_of(err.param)
        said = _one_line(err.message).rstrip(".")
        kind = err.param.type
        if isinstance(kind, click.Choice):
            first = str(kind.choices[0])
            return f"{flag} {said}: choose one, as {flag} {first}"
        if kind.name == "integer":
            default = err.param.default
            example = ""  # the default, where it is a number
            if isinstance(default, int) and not isinstance(default, bool):
                example = f", as {flag} {default} (the default)"
            return f"{flag} {said}: give a whole number{example}"
        return f"{flag}: {said[:1].lower()}{said[1:]}"
    if isinstance(err, click.BadOptionUsage) and ctx is not None:
        name = err.option_name
        param = next((q for q in ctx.command.params if name in q.opts), None)
        if param is not None and "requires an argument" in err.message:
            return f"{name} needs a value: write {name} {param.make_metavar(ctx)}"
    said = _one_line(err.message)
    unknown = re.fullmatch(r"No such command '(.*)'\.", said)
    if unknown is not None and ctx is not None and isinstance(ctx.command, click.Group):
        import difflib

        names = ctx.command.list_commands(ctx)
        near = difflib.get_close_matches(unknown.group(1), names, n=1, cutoff=0.6)
        listed = f"the commands are {', '.join(names)}."
        return f"no such command {unknown.group(1)!r}: " + (
            f"did you mean {near[0]}?" if near else listed
        )
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", said)
    if extra is not None:
        words = extra.group(1).split()
        what = "argument" if len(words) == 1 else "arguments"
        shown = " ".join(repr(w) for w in words)
        return f"unexpected extra {what} {shown}: write {usage or 'as --help shows'}"
    return said[:1].lower() + said[1:]


def _flag_of(param: click.Parameter) -> str:
    """How a parameter is written: its long option (--steps), or its metavar's
    name for an argument (RUN)."""
    if isinstance(param, click.Argument):  # STEP, not its name (step_given)
        shown = param.metavar or str(param.name).upper()
        return shown.strip("[]").removesuffix("...")
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else (param.opts[0] if param.opts else str(param.name))


def _one_line(message: str) -> str:
    """A message on one line, whatever characters the data put into it."""
    return " ".join(message.split())
