"""User-written arithmetic expressions, such as ``--model-expr "a*exp(-b*x) + c"``,
made into JAX functions without running the user's text as code.

The text is read by Python's own parser (``ast.parse(text, mode="eval")``), then
the tree is walked with a strict whitelist: numbers, names, ``+ - * / **``, unary
``-`` and ``+``, parentheses, the functions of ``FUNCTIONS``, the constants of
``CONSTANTS``; and, in expressions computed on the host (``host``: a schedule's
``lr_lambda``, keras.scheduler's ``schedule``), one comparison (``< <= > >= ==
!=``: 1 where it holds, else 0) and ``A if COMPARISON else B`` (a model's or a
loss's would be differentiated through JAX's ``where``, whose gradient takes the
side not chosen too: NaN where it is undefined). Everything else is refused
with a one-line ``ExprError`` that names the problem, where it is and what to
do. Each accepted node becomes a closure over ``jax.numpy`` operations; nothing
is ever passed to ``eval``, ``exec`` or ``compile``. The result can be
differentiated, jitted and vmapped like any JAX function.

Examples:
    >>> model = parse("a*exp(-b*x) + c", what="--model-expr")
    >>> model.names
    ('a', 'b', 'x', 'c')
    >>> float(model({"a": 2.0, "b": 0.0, "x": 1.0, "c": 1.0}))
    3.0
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf
from jax.typing import ArrayLike

from gradtrace.errors import InputError

MAX_LENGTH = 2000
MAX_DEPTH = 64
#: The longest variable name accepted.
MAX_NAME_LENGTH = 64
#: An integer exponent up to this size is raised by repeated multiplication
#: (``lax.integer_pow``), so negative bases and x**2 at x = 0 behave as in algebra.
_MAX_INT_EXPONENT = 1024

# name -> (function, number of arguments, description)
_TABLE: dict[str, tuple[Callable[..., jax.Array], int, str]] = {
    "exp": (jnp.exp, 1, "e to the power x"),
    "log": (jnp.log, 1, "natural logarithm"),
    "log1p": (jnp.log1p, 1, "log(1 + x), accurate for small x"),
    "expm1": (jnp.expm1, 1, "exp(x) - 1, accurate for small x"),
    "sqrt": (jnp.sqrt, 1, "square root"),
    "abs": (jnp.abs, 1, "absolute value"),
    "square": (jnp.square, 1, "x * x"),
    "sin": (jnp.sin, 1, "sine (radians)"),
    "cos": (jnp.cos, 1, "cosine (radians)"),
    "tan": (jnp.tan, 1, "tangent (radians)"),
    "arctan": (jnp.arctan, 1, "inverse tangent, in radians"),
    "atan": (jnp.arctan, 1, "inverse tangent, in radians (same as arctan)"),
    "tanh": (jnp.tanh, 1, "hyperbolic tangent"),
    "sinh": (jnp.sinh, 1, "hyperbolic sine"),
    "cosh": (jnp.cosh, 1, "hyperbolic cosine"),
    "sigmoid": (jax.nn.sigmoid, 1, "logistic function 1 / (1 + exp(-x))"),
    "softplus": (jax.nn.softplus, 1, "log(1 + exp(x)), a smooth max(0, x)"),
    "erf": (erf, 1, "error function"),
    "minimum": (jnp.minimum, 2, "minimum(a, b): the smaller of a and b, per element"),
    "maximum": (jnp.maximum, 2, "maximum(a, b): the larger of a and b, per element"),
}

FUNCTIONS: dict[str, str] = {name: row[2] for name, row in _TABLE.items()}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_EXAMPLE = "a*exp(-b*x) + c"
_ALLOWED = (
    "use only numbers, names, + - * / **, parentheses, the constants "
    f"{' and '.join(CONSTANTS)}, and the functions {', '.join(FUNCTIONS)}"
)
_OPERATORS: dict[type[ast.operator], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BINARY: dict[type[ast.operator], tuple[Callable[..., jax.Array], str]] = {
    ast.Add: (jnp.add, "+"),
    ast.Sub: (jnp.subtract, "-"),
    ast.Mult: (jnp.multiply, "*"),
    ast.Div: (jnp.true_divide, "/"),
    ast.Pow: (jnp.power, "**"),
}

# A built expression: values of its names -> its value.
_Node = Callable[[Mapping[str, ArrayLike]], ArrayLike]


#: Other languages' names of a function, and how it is written here
OTHER_NAMES = {
    "ln": "the natural log is log(...)",
    "log10": "log10(v) is log(v)/log(10)",
    "log2": "log2(v) is log(v)/log(2)",
    "pow": "a power is written a**b",
    "max": "the larger of two is maximum(a, b)",
    "min": "the smaller of two is minimum(a, b)",
    "fabs": "the absolute value is abs(...)",
    "logistic": "the logistic function is sigmoid(...)",
    "expit": "the logistic function is sigmoid(...)",
}


@dataclass(frozen=True)
class _Ops:
    """The operations an expression is built from: JAX's (a model's, traced and
    differentiated) or the host's (``host``: Python's floats and ``math``, NumPy
    for arrays)."""

    binary: Mapping[type[ast.operator], Callable[..., Any]]
    negative: Callable[[Any], Any]
    functions: Mapping[str, Callable[..., Any]]
    #: (condition, if true, if false) -> the chosen value, element by element
    choose: Callable[[Any, Any, Any], Any] = jnp.where


#: The comparisons an expression may make, and how.
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _host_choose(condition: Any, yes: Any, no: Any) -> Any:
    """Python's ``yes if condition else no`` for a number, NumPy's ``where`` for
    arrays."""
    if isinstance(condition, bool | np.bool_) and np.ndim(condition) == 0:
        return yes if condition else no
    return np.where(condition, yes, no)


def _scalar_or_array(scalar: Callable[..., Any], array: Callable[..., Any]) -> Any:
    """``scalar`` (``math``'s, as a Python function computes it) for Python
    numbers, ``array`` (NumPy's) for arrays."""

    def apply(*args: Any) -> Any:
        if all(isinstance(a, int | float) for a in args):
            return scalar(*args)
        return array(*args)

    return apply


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _np_erf(v: Any) -> Any:
    from scipy.special import erf as scipy_erf

    return scipy_erf(v)


_JAX = _Ops(
    {op: row[0] for op, row in _BINARY.items()},
    jnp.negative,
    {name: row[0] for name, row in _TABLE.items()},
)
_HOST = _Ops(
    {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.Pow: operator.pow,
    },
    operator.neg,
    {
        "exp": _scalar_or_array(math.exp, np.exp),
        "log": _scalar_or_array(math.log, np.log),
        "log1p": _scalar_or_array(math.log1p, np.log1p),
        "expm1": _scalar_or_array(math.expm1, np.expm1),
        "sqrt": _scalar_or_array(math.sqrt, np.sqrt),
        "abs": _scalar_or_array(abs, np.abs),
        "square": lambda v: v * v,
        "sin": _scalar_or_array(math.sin, np.sin),
        "cos": _scalar_or_array(math.cos, np.cos),
        "tan": _scalar_or_array(math.tan, np.tan),
        "arctan": _scalar_or_array(math.atan, np.arctan),
        "atan": _scalar_or_array(math.atan, np.arctan),
        "tanh": _scalar_or_array(math.tanh, np.tanh),
        "sinh": _scalar_or_array(math.sinh, np.sinh),
        "cosh": _scalar_or_array(math.cosh, np.cosh),
        "sigmoid": _scalar_or_array(
            lambda v: 1 / (1 + math.exp(-v)), lambda v: 1 / (1 + np.exp(-v))
        ),
        "softplus": _scalar_or_array(_softplus, lambda v: np.logaddexp(0.0, v)),
        "erf": _scalar_or_array(math.erf, _np_erf),
        "minimum": _scalar_or_array(min, np.minimum),
        "maximum": _scalar_or_array(max, np.maximum),
    },
    _host_choose,
)


class ExprError(InputError):
    """A refused expression: one line naming the problem, where it is (``column``,
    counted from 1, when known) and what to do."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Expression:
    """A parsed expression; made by ``parse``. Call it with the value of each name.

    ``names`` are its free variables in order of first appearance, without function
    names and constants.
    """

    text: str
    names: tuple[str, ...]
    _evaluate: _Node = field(repr=False, compare=False)
    _what: str = field(default="expression", repr=False, compare=False)

    def __call__(self, env: Mapping[str, Any]) -> jax.Array:
        """The value with ``env`` giving each name an array or scalar (other keys are
        ignored). Whole-number inputs are taken as floats."""
        missing = [name for name in self.names if name not in env]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            raise ExprError(
                f"{self._what}: no value for {listed}: pass a value for each of "
                f"{', '.join(self.names)}."
            )
        values = {name: _as_float(env[name]) for name in self.names}
        return jnp.asarray(self._evaluate(values))


def parse(text: str, *, what: str = "expression") -> Expression:
    """The expression written in ``text``, or an ExprError saying what is wrong.

    ``what`` names the text in messages, such as ``"--model-expr"``.
    """
    tree, body, shift = _read(text, what)
    builder = _Builder(body, shift, what)
    evaluate = builder.build(tree.body, 1)
    return Expression(text, tuple(builder.names), evaluate, what)


def host(
    text: str, *, what: str = "expression"
) -> tuple[tuple[str, ...], Callable[[Mapping[str, Any]], Any]]:
    """The names and the function of the expression written in ``text`` (the
    same grammar and errors as ``parse``), computed on the host as Python would
    compute the same text: Python's floats and operators and ``math``'s
    functions for numbers (so that ``0.95**epoch`` is, to the bit, what a lambda
    of that body gives), NumPy's for arrays.

    Examples:
        >>> names, f = host("minimum(1, (epoch + 1) / 5)")
        >>> names, [f({"epoch": e}) for e in range(6)]
        (('epoch',), [0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    """
    tree, body, shift = _read(text, what)
    builder = _Builder(body, shift, what, _HOST)
    evaluate = builder.build(tree.body, 1)
    return tuple(builder.names), evaluate


def _read(text: str, what: str) -> tuple[ast.Expression, str, int]:
    """The parsed tree of ``text``, its body (one line, leading spaces off) and
    the count of those spaces, or an ExprError."""
    if not isinstance(text, str):
        raise ExprError(
            f"{what}: expected text, got {type(text).__name__}: write the expression "
            f"as a string, such as {_EXAMPLE!r}."
        )
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"{what}: the expression is {len(text):,} characters long, more than the "
            f"{MAX_LENGTH:,} allowed: shorten it."
        )
    # Any whitespace (newlines and tabs included) counts as a space, so the text is
    # one line and a character's column is its index; leading spaces are skipped
    # since the parser would take them for an indent.
    flat = "".join(" " if ch.isspace() else ch for ch in text)
    body = flat.lstrip()
    shift = len(flat) - len(body)
    if not body:
        raise ExprError(
            f"{what}: the expression is empty: write one, such as {_EXAMPLE!r}."
        )
    for index, ch in enumerate(flat):
        if not ch.isprintable():
            raise ExprError(
                f"{what}, column {index + 1}: invisible character U+{ord(ch):04X}: "
                "retype the expression by hand.",
                index + 1,
            )
        if ch == "#":
            raise ExprError(
                f"{what}, column {index + 1}: comments ('#') are not allowed: "
                f"{_ALLOWED}.",
                index + 1,
            )
    return _parse_tree(body, shift, what), body, shift


def _parse_tree(body: str, shift: int, what: str) -> ast.Expression:
    nested = (
        f"{what}: the expression is nested too deeply for the parser: "
        "remove redundant parentheses or unary signs, or simplify it."
    )
    try:
        return ast.parse(body, mode="eval")
    except (RecursionError, MemoryError):
        raise ExprError(nested) from None
    except SyntaxError as err:
        if "too many nested" in str(err.msg):
            raise ExprError(nested) from None
        reason = str(err.msg).rstrip(".")
        hint = _syntax_hint(reason)
        if err.offset is None or err.offset < 1:  # the parser ran out of text
            column = len(body.rstrip()) + shift + 1
            hint = "the expression ends too early: complete it"
        else:
            column = err.offset + shift
        raise ExprError(
            f"{what}, column {column}: syntax error ({reason}): {hint}.", column
        ) from None
    except ValueError as err:
        raise ExprError(f"{what}: cannot read the expression ({err}).") from None


def _syntax_hint(reason: str) -> str:
    if "decimal literal" in reason:
        return "put * between a number and a name, as in 2*x"
    if "never closed" in reason or "does not match" in reason:
        return "check that every '(' has its ')'"
    if "unmatched" in reason:
        return "remove the extra ')' or add its '('"
    return f"write a single expression such as {_EXAMPLE!r}"


def _as_float(value: Any) -> Any:
    """``value``, as a float array when it holds whole numbers or booleans."""
    if jnp.issubdtype(jnp.result_type(value), jnp.inexact):
        return value
    return jnp.asarray(value, dtype=float)


class _Builder:
    """Walks a parsed tree, refusing anything outside the grammar, and builds the
    closure that evaluates it. Collects the variable names on the way."""

    def __init__(self, body: str, shift: int, what: str, ops: _Ops = _JAX) -> None:
        self.ops = ops
        self.body = body
        self.encoded = body.encode("utf-8")
        self.shift = shift
        self.what = what
        self.names: list[str] = []

    # -- messages -------------------------------------------------------------

    def column(self, byte_offset: int) -> int:
        """1-based character column in the user's text of a byte offset in ``body``
        (the parser counts columns in UTF-8 bytes)."""
        chars = self.encoded[:byte_offset].decode("utf-8", errors="ignore")
        return len(chars) + self.shift + 1

    def segment(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.body, node) or ""
        return text if len(text) <= 40 else text[:37] + "..."

    def error(self, problem: str, column: int | None, hint: str) -> ExprError:
        where = f", column {column}" if column is not None else ""
        end = "" if hint.endswith("?") else "."
        return ExprError(f"{self.what}{where}: {problem}: {hint}{end}", column)

    def refuse(self, node: ast.expr) -> ExprError:
        """The error for a node of a kind the grammar does not have."""
        at = self.column(node.col_offset)
        if isinstance(node, ast.Attribute):
            dot = self.encoded.find(b".", node.value.end_col_offset or 0)
            at = self.column(dot if dot >= 0 else node.col_offset)
            problem = f"attribute access ('.{node.attr}') is not allowed"
            if node.attr in FUNCTIONS:
                return self.error(
                    problem, at, f"write {node.attr}(...) with no module in front"
                )
        elif isinstance(node, ast.Subscript):
            problem = f"indexing ({self.segment(node)!r}) is not allowed"
        elif isinstance(node, ast.Lambda):
            problem = "lambda functions are not allowed"
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp):
            problem = "comprehensions are not allowed"
        elif isinstance(node, ast.GeneratorExp):
            problem = "generator expressions are not allowed"
        elif isinstance(node, ast.IfExp | ast.Compare):
            # a model's or a loss's: JAX's where would pass the gradient of the
            # side not taken (NaN where it is undefined, sqrt(x - c) below c)
            what = (
                "comparisons"
                if isinstance(node, ast.Compare)
                else ("conditional expressions (... if ... else ...)")
            )
            return self.error(
                f"{what} are taken in a schedule's expression (lr_lambda, "
                "keras.scheduler's schedule), not in a model or a loss",
                at,
                "write a smooth form (minimum, maximum, abs, sigmoid), or a "
                "model of your own in --model-file",
            )
        elif isinstance(node, ast.BoolOp):
            symbol = "and" if isinstance(node.op, ast.And) else "or"
            problem = f"boolean operators ('{symbol}') are not allowed"
        elif isinstance(node, ast.JoinedStr | ast.FormattedValue):
            problem = "strings (f-strings) are not allowed"
        elif isinstance(node, ast.NamedExpr):
            problem = "assignments (':=') are not allowed"
        elif isinstance(node, ast.Await):
            problem = "'await' is not allowed"
        elif isinstance(node, ast.Yield | ast.YieldFrom):
            problem = "'yield' is not allowed"
        elif isinstance(node, ast.Starred):
            problem = "starred arguments ('*') are not allowed"
        elif isinstance(node, ast.Tuple):
            problem = "several values separated by ',' are not allowed"
            return self.error(problem, at, "write one expression")
        elif isinstance(node, ast.List | ast.Set | ast.Dict):
            kind = type(node).__name__.lower()
            problem = f"{kind}s ({self.segment(node)!r}) are not allowed"
        else:
            problem = f"{self.segment(node)!r} is not allowed"
        return self.error(problem, at, _ALLOWED)

    # -- building -------------------------------------------------------------

    def build(self, node: ast.expr, depth: int) -> _Node:
        """The closure that evaluates ``node``, met at nesting ``depth`` (from 1)."""
        if depth > MAX_DEPTH:
            raise self.error(
                f"operations are nested more than {MAX_DEPTH} deep",
                self.column(node.col_offset),
                "simplify it",
            )
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Compare | ast.IfExp) and self.ops is _HOST:
            if isinstance(node, ast.Compare):
                return self.compare(node, depth)
            return self.conditional(node, depth)
        raise self.refuse(node)

    def compare(self, node: ast.Compare, depth: int) -> _Node:
        """One comparison: a boolean (1 where it holds, 0 in arithmetic)."""
        at = self.column(node.col_offset)
        if len(node.ops) > 1:
            raise self.error(
                "chained comparisons are not allowed",
                at,
                "write one comparison, such as epoch < 10",
            )
        op = type(node.ops[0])
        if op not in _COMPARE:
            symbol = _COMPARISONS.get(op, "?")
            raise self.error(
                f"the comparison '{symbol}' is not allowed",
                at,
                "use one of < <= > >= == !=",
            )
        test = _COMPARE[op]
        left = self.build(node.left, depth + 1)
        right = self.build(node.comparators[0], depth + 1)
        return lambda env: test(left(env), right(env))

    def conditional(self, node: ast.IfExp, depth: int) -> _Node:
        """``A if COMPARISON else B``, element by element."""
        if not isinstance(node.test, ast.Compare):
            raise self.error(
                "the condition of '... if ... else ...' must be a comparison",
                self.column(node.test.col_offset),
                "write one, as in lr if epoch < 10 else lr * exp(-0.1)",
            )
        test = self.build(node.test, depth + 1)
        yes = self.build(node.body, depth + 1)
        no = self.build(node.orelse, depth + 1)
        choose = self.ops.choose
        return lambda env: choose(test(env), yes(env), no(env))

    def number(self, node: ast.Constant) -> _Node:
        value = node.value
        at = self.column(node.col_offset)
        if isinstance(value, bool) or value is None:
            raise self.error(f"{self.segment(node)!r} is not a number", at, _ALLOWED)
        if isinstance(value, str):
            whole = (ast.get_source_segment(self.body, node) or "").strip()
            if whole == self.body.strip():  # the expression itself in quotes
                raise self.error(
                    f"the expression is in quotes ({self.segment(node)})",
                    at,
                    f"write it without them ({value.strip()}), and quote the "
                    "whole option for the shell instead",
                )
            raise self.error(
                f"strings ({self.segment(node)!r}) are not allowed", at, _ALLOWED
            )
        if isinstance(value, bytes):
            raise self.error(
                f"bytes ({self.segment(node)!r}) are not allowed", at, _ALLOWED
            )
        if isinstance(value, complex):
            raise self.error(
                f"complex numbers ({self.segment(node)!r}) are not allowed",
                at,
                _ALLOWED,
            )
        if not isinstance(value, int | float):
            raise self.error(f"{self.segment(node)!r} is not allowed", at, _ALLOWED)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isinf(number):
            raise self.error(
                f"the number {self.segment(node)!r} is too large for a float",
                at,
                "use a number below 1.8e308",
            )
        return lambda env: number

    def name(self, node: ast.Name) -> _Node:
        name = node.id
        at = self.column(node.col_offset)
        self.check_name(name, at)
        if name in FUNCTIONS:
            raise self.error(
                f"'{name}' is a function, not a value",
                at,
                f"call it, as in {name}({'x' if _TABLE[name][1] == 1 else 'a, b'})",
            )
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            return lambda env: constant
        if name not in self.names:
            self.names.append(name)
        return lambda env: env[name]

    def check_name(self, name: str, at: int) -> None:
        if name.startswith("_"):
            raise self.error(
                f"names starting with '_' are not allowed ({name!r})",
                at,
                "rename it",
            )
        if len(name) > MAX_NAME_LENGTH:
            raise self.error(
                f"the name {name[:20]!r}... is longer than {MAX_NAME_LENGTH} "
                "characters",
                at,
                "use a shorter name",
            )

    def binary(self, node: ast.BinOp, depth: int) -> _Node:
        op = type(node.op)
        if op not in _BINARY:
            symbol = _OPERATORS.get(op, "?")
            at = self.operator_column(node, symbol)
            if op is ast.BitXor:
                raise self.error(
                    "'^' is not a power (Python reads it as bitwise xor)",
                    at,
                    "use ** for a power, as in x**2",
                )
            raise self.error(f"the operator '{symbol}' is not allowed", at, _ALLOWED)
        fn = self.ops.binary[op]
        left = self.build(node.left, depth + 1)
        exponent = _integer(node.right) if op is ast.Pow else None
        if self.ops is _JAX and exponent is not None:
            if abs(exponent) <= _MAX_INT_EXPONENT:
                power = exponent
                return lambda env: jnp.power(left(env), power)
        right = self.build(node.right, depth + 1)
        return lambda env: fn(left(env), right(env))

    def operator_column(self, node: ast.BinOp, symbol: str) -> int:
        """The column of ``node``'s operator: between its operands there are only
        spaces, parentheses and the operator itself."""
        start = node.left.end_col_offset or node.col_offset
        found = self.encoded.find(symbol.encode(), start, node.right.col_offset)
        return self.column(found if found >= 0 else node.col_offset)

    def unary(self, node: ast.UnaryOp, depth: int) -> _Node:
        at = self.column(node.col_offset)
        if isinstance(node.op, ast.Not):
            raise self.error("boolean operators ('not') are not allowed", at, _ALLOWED)
        if isinstance(node.op, ast.Invert):
            raise self.error("the operator '~' is not allowed", at, _ALLOWED)
        operand = self.build(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return operand
        negative = self.ops.negative
        return lambda env: negative(operand(env))

    def call(self, node: ast.Call, depth: int) -> _Node:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise self.refuse(func)
            raise self.error(
                f"only named functions can be called, not {self.segment(func)!r}",
                self.column(func.col_offset),
                "to multiply, write * between the factors",
            )
        name = func.id
        at = self.column(func.col_offset)
        self.check_name(name, at)
        if name in CONSTANTS:
            raise self.error(
                f"the constant '{name}' cannot be called",
                at,
                f"to multiply, write {name}*(...)",
            )
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            listed = f"the functions are {', '.join(FUNCTIONS)}"
            # a loss names no parameters: nothing there to multiply by
            multiply = (
                "" if "loss" in self.what else f"to multiply, write {name}*(...); "
            )
            hint = f"did you mean {close[0]}(...)?" if close else multiply + listed
            if name in OTHER_NAMES:  # another language's name (ln, pow, max)
                hint = f"{OTHER_NAMES[name]}; {listed}"
            if name in ("mean", "sum", "average", "avg") and "loss" in self.what:
                # an expression is one row's: the rows' mean or sum is another option
                hint = (
                    "a loss expression is one row's loss: the mean or the sum over "
                    "the rows is the reduction's (--reduction mean, the default, or "
                    "sum)"
                )
            raise self.error(f"unknown function '{name}'", at, hint)
        arity = _TABLE[name][1]
        fn = self.ops.functions[name]
        usage = f"{name}(x)" if arity == 1 else f"{name}(a, b)"
        for keyword in node.keywords:
            kw_at = self.column(keyword.col_offset)
            if keyword.arg is None:
                raise self.error(
                    "'**' unpacking is not allowed", kw_at, f"write {usage}"
                )
            raise self.error(
                f"keyword arguments ('{keyword.arg}=') are not allowed",
                kw_at,
                f"pass arguments by position, as in {usage}",
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(
                    "starred arguments ('*') are not allowed",
                    self.column(arg.col_offset),
                    f"write {usage}",
                )
        if len(node.args) != arity:
            wanted = "1 argument" if arity == 1 else f"{arity} arguments"
            raise self.error(
                f"{name} takes {wanted}, got {len(node.args)}", at, f"write {usage}"
            )
        args = [self.build(arg, depth + 1) for arg in node.args]
        if arity == 1:
            (only,) = args
            return lambda env: fn(only(env))
        first, second = args
        return lambda env: fn(first(env), second(env))


def _integer(node: ast.expr) -> int | None:
    """The value of ``node`` when it is a whole-number literal, possibly signed."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return sign * node.value
    return None
