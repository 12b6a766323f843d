"""The expression parser: what it refuses and why, and that what it accepts computes
what NumPy computes, with gradients, jit and vmap."""

from __future__ import annotations

import ast
import builtins
import math
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given
from hypothesis import strategies as st

from gradtrace.core import expr
from gradtrace.core.expr import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    ExprError,
    Expression,
    parse,
)
from gradtrace.errors import GradtraceError, InputError

# -- refusals -----------------------------------------------------------------

REFUSED = [
    # (text, words the message must contain)
    ("__import__('os')", "starting with '_'"),
    ("__import__('os').system('ls')", "attribute access ('.system')"),
    ("_x + 1", "starting with '_'"),
    ("x.real", "attribute access ('.real')"),
    ("().__class__", "attribute access ('.__class__')"),
    ("np.exp(x)", "with no module in front"),
    ("x[0]", "indexing"),
    ("x[1:2]", "indexing"),
    ("lambda: 1", "lambda"),
    ("[x for x in y]", "comprehensions"),
    ("{x for x in y}", "comprehensions"),
    ("{x: 1 for x in y}", "comprehensions"),
    ("(x for x in y)", "generator expressions"),
    ("x +", "ends too early"),
    (
        "a if b < c else c",
        "conditional expressions (... if ... else ...) are taken in a schedule's",
    ),
    ("x > 1", "comparisons are taken in a schedule's expression"),
    ("0 < x <= 1", "comparisons are taken in a schedule's expression"),
    ("a and b", "boolean operators ('and')"),
    ("a or b", "boolean operators ('or')"),
    ("not x", "boolean operators ('not')"),
    # the help's example in quotes, copied with them into the option's value
    ("'abc'", "the expression is in quotes ('abc'): write it without them (abc)"),
    ("a + 'b'", "strings (\"'b'\") are not allowed"),
    ("f'{x}'", "strings (f-strings)"),
    ("b'x'", "bytes"),
    ("exp(*x)", "starred arguments"),
    ("exp(x=1)", "keyword arguments ('x=')"),
    ("exp(**k)", "'**' unpacking"),
    ("sigmod(x)", "did you mean sigmoid(...)?"),
    ("foo(x)", "unknown function 'foo'"),
    # other languages' names: what they are written as here
    ("a*ln(x) + b", "unknown function 'ln': the natural log is log(...)"),
    ("pow(x, 2)", "a power is written a**b"),
    ("max(x, 1)", "the larger of two is maximum(a, b)"),
    ("log10(x)", "log10(v) is log(v)/log(10)"),
    ("a(x + 1)", "to multiply, write a*(...)"),
    ("(a + b)(c)", "only named functions can be called"),
    ("exp + 1", "'exp' is a function, not a value"),
    ("2*minimum", "'minimum' is a function, not a value"),
    ("pi(2)", "the constant 'pi' cannot be called"),
    ("e(x)", "the constant 'e' cannot be called"),
    ("exp(x, y)", "exp takes 1 argument, got 2"),
    ("exp()", "exp takes 1 argument, got 0"),
    ("maximum(x)", "maximum takes 2 arguments, got 1"),
    ("", "empty"),
    ("   \n\t", "empty"),
    ("a +* b", "syntax error"),
    ("exp(x", "never closed"),
    ("x)", "unmatched ')'"),
    ("2x", "put * between a number and a name"),
    ("a; b", "syntax error"),
    ("a = 1", "syntax error"),
    ("import os", "syntax error"),
    ("a, b", "several values separated by ','"),
    ("(x := 1)", "assignments (':=')"),
    ("await x", "'await'"),
    ("(yield x)", "'yield'"),
    ("(yield from x)", "'yield'"),
    ("...", "'...' is not allowed"),
    ("x ^ 2", "use ** for a power"),
    ("a*x^2 + b", "use ** for a power"),
    ("x // 2", "the operator '//'"),
    ("x % 2", "the operator '%'"),
    ("x @ y", "the operator '@'"),
    ("x << 1", "the operator '<<'"),
    ("x | y", "the operator '|'"),
    ("x & y", "the operator '&'"),
    ("~x", "the operator '~'"),
    ("1j", "complex numbers"),
    ("2 + 3j", "complex numbers"),
    ("True", "'True' is not a number"),
    ("None", "'None' is not a number"),
    ("1e400", "too large"),
    ("[1, 2]", "lists"),
    ("{1, 2}", "sets"),
    ("{'a': 1}", "dicts"),
    ("x # comment", "comments ('#')"),
    ("x\u200b + 1", "invisible character U+200B"),
    ("a" * 65, "longer than 64 characters"),
    ("x" * (MAX_LENGTH + 1), "more than the 2,000 allowed"),
    ("exp(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, "nested more than 64 deep"),
    ("-" * 1500 + "x", "nested"),
    ("(" * 300 + "x" + ")" * 300, "nested too deeply"),
]


@pytest.mark.parametrize(("text", "words"), REFUSED, ids=[t[:30] for t, _ in REFUSED])
def test_refused_with_a_one_line_message_naming_the_problem(
    text: str, words: str
) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text, what="--model-expr")
    message = str(caught.value)
    assert words in message
    assert message.startswith("--model-expr")
    assert "\n" not in message
    assert message.endswith((".", "?"))


def test_refusal_names_what_is_allowed() -> None:
    with pytest.raises(ExprError, match=r"use only numbers, names, \+ - \* / \*\*"):
        parse("x.real", what="--model-expr")


def test_errors_are_input_errors() -> None:
    assert issubclass(ExprError, ValueError)
    assert issubclass(ExprError, InputError)
    assert issubclass(ExprError, GradtraceError)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("x.real", 2),
        ("a +* b", 4),
        ("a*x^2", 4),
        ("  x // 2", 5),
        ("exp(x) + foo(x)", 10),
        ("exp(x=1)", 5),
        ("α*x.real", 4),  # characters, not UTF-8 bytes
        ("α + ", 4),
        ("1 + é + x[0]", 9),
    ],
)
def test_message_gives_the_column(text: str, column: int) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert caught.value.column == column
    assert f"column {column}:" in str(caught.value)


def test_length_is_checked_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(ast, "parse", boom)
    with pytest.raises(ExprError, match="characters long"):
        parse("(" * 100_000)


@pytest.mark.parametrize("text", ["(" * 100_000, "-" * 100_000 + "x", "+-" * 50_000])
def test_parser_overflow_is_reported_as_too_deep(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setattr(expr, "MAX_LENGTH", 10**6)
    with pytest.raises(ExprError, match="nested too deeply"):
        parse(text)


def test_deepest_nesting_allowed() -> None:
    depth = MAX_DEPTH - 1
    f = parse("exp(" * depth + "x" + ")" * depth)
    assert f.names == ("x",)


def test_text_is_parsed_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """eval and exec are never called; compile only by ast.parse, to a tree."""
    real_compile = builtins.compile

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("eval or exec called")

    def tree_only(
        source: Any, filename: Any, mode: str, flags: int = 0, **kw: Any
    ) -> Any:
        assert flags & ast.PyCF_ONLY_AST
        return real_compile(source, filename, mode, flags, **kw)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", tree_only)
    f = parse("a*exp(-b*x) + c")
    with pytest.raises(ExprError):
        parse("__import__('os').system('echo hacked')")
    monkeypatch.undo()
    assert float(f({"a": 2.0, "b": 1.0, "x": 0.0, "c": 1.0})) == 3.0


# -- names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("a*exp(-b*x) + c", ("a", "b", "x", "c")),
        ("abs(pred - y)**1.5", ("pred", "y")),
        ("x*x + x", ("x",)),
        ("pi*x + e", ("x",)),
        ("1 + 2", ()),
        ("maximum(z, y) - minimum(y, w)", ("z", "y", "w")),
        ("E + PI + exp_rate", ("E", "PI", "exp_rate")),
        ("(k1 + k2) ** (k3 - k1)", ("k1", "k2", "k3")),
        ("a" * 64, ("a" * 64,)),
    ],
)
def test_names_in_order_of_first_appearance(text: str, names: tuple[str, ...]) -> None:
    assert parse(text).names == names


def test_missing_name_is_an_error_naming_it() -> None:
    f = parse("a*exp(-b*x) + c", what="--model-expr")
    with pytest.raises(ExprError, match=r"^--model-expr: no value for 'b', 'c'"):
        f({"a": 1.0, "x": 2.0})


def test_extra_values_are_ignored_and_constants_are_not_names() -> None:
    f = parse("x*pi + e")
    got = f({"x": 1.0, "pi": 100.0, "e": 100.0, "unused": 5.0})
    assert float(got) == pytest.approx(math.pi + math.e)


def test_expression_keeps_its_text_and_compares_by_it() -> None:
    f = parse("a + 1")
    assert isinstance(f, Expression)
    assert f.text == "a + 1"
    assert f == parse("a + 1")
    assert f != parse("a+1")
    assert hash(f) == hash(parse("a + 1"))
    assert repr(f) == "Expression(text='a + 1', names=('a',))"


def test_tables_for_help_text() -> None:
    assert CONSTANTS == {"pi": math.pi, "e": math.e}
    assert all(desc and "\n" not in desc for desc in FUNCTIONS.values())
    assert not set(CONSTANTS) & set(FUNCTIONS)
    assert "where" not in FUNCTIONS


# -- values -------------------------------------------------------------------

XS = np.linspace(-2.0, 2.0, 8)  # no zero
ENV = {"a": 1.5, "b": 0.7, "c": -0.3, "x": XS, "pred": XS, "y": 0.25 * XS + 0.1}

VALUES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("a*exp(-b*x) + c", lambda v: v["a"] * np.exp(-v["b"] * v["x"]) + v["c"]),
    ("abs(pred - y)**1.5", lambda v: np.abs(v["pred"] - v["y"]) ** 1.5),
    ("log1p(x**2) - expm1(-abs(x))", lambda v: np.log1p(XS**2) - np.expm1(-abs(XS))),
    ("sqrt(1 + x**2) / (2 + cos(x))", lambda v: np.sqrt(1 + XS**2) / (2 + np.cos(XS))),
    (
        "sin(x)*tan(x/3) + arctan(x) - atan(2*x)",
        lambda v: np.sin(XS) * np.tan(XS / 3) + np.arctan(XS) - np.arctan(2 * XS),
    ),
    (
        "tanh(x) + sinh(x/2) * cosh(x/3)",
        lambda v: np.tanh(XS) + np.sinh(XS / 2) * np.cosh(XS / 3),
    ),
    (
        "sigmoid(x) + softplus(-x)",
        lambda v: 1 / (1 + np.exp(-XS)) + np.log1p(np.exp(-XS)),
    ),
    ("erf(x/sqrt(2))", lambda v: scipy.special.erf(XS / np.sqrt(2))),
    (
        "square(x - 1) + minimum(x, 0)*maximum(x, 0.5)",
        lambda v: (XS - 1) ** 2 + np.minimum(XS, 0) * np.maximum(XS, 0.5),
    ),
    ("2**-x + x**-2 + x**-1", lambda v: 2.0**-XS + XS**-2.0 + 1 / XS),
    ("-x**2 + (-x)**3 + +x - -x", lambda v: -(XS**2) + (-XS) ** 3 + 2 * XS),
    ("pi*x + e", lambda v: np.pi * XS + np.e),
    ("1.5e-3*x + 2E2 - .5 + 1_000", lambda v: 1.5e-3 * XS + 200 - 0.5 + 1000),
    ("x**0.5", lambda v: np.sqrt(XS)),  # NaN for x < 0, as in NumPy
    ("2**3**2 + 10/4/5 - 7 - 2 - 1", lambda v: 512 + 0.5 - 10),
    ("log(x)", lambda v: np.log(XS)),
    ("exp(x*400)", lambda v: np.exp(XS * 400)),  # overflows to inf
]


@pytest.mark.parametrize(("text", "numpy"), VALUES, ids=[t for t, _ in VALUES])
def test_value_equals_numpy_float64(
    text: str, numpy: Callable[[dict[str, Any]], Any]
) -> None:
    f = parse(text)
    with jax.enable_x64(True), np.errstate(all="ignore"):
        got = f({name: ENV[name] for name in f.names})
        want = np.broadcast_to(numpy(ENV), got.shape)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, equal_nan=True)


FUNCTION_REFERENCE: dict[str, Callable[..., Any]] = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "square": np.square,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arctan": np.arctan,
    "atan": np.arctan,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "sigmoid": scipy.special.expit,
    "softplus": lambda v: np.logaddexp(0.0, v),
    "erf": scipy.special.erf,
    "minimum": np.minimum,
    "maximum": np.maximum,
}


def test_every_function_has_a_reference() -> None:
    assert set(FUNCTION_REFERENCE) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_in_float32(name: str) -> None:
    x = np.linspace(0.1, 3.0, 6, dtype=np.float32)
    y = x[::-1].copy()
    two = name in ("minimum", "maximum")
    f = parse(f"{name}(x, y)" if two else f"{name}(x)")
    got = f({"x": x, "y": y})
    want = FUNCTION_REFERENCE[name](x, y) if two else FUNCTION_REFERENCE[name](x)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6)


def test_whole_numbers_are_taken_as_floats() -> None:
    f = parse("x**-1 + y/2")
    got = f({"x": np.array([1, 2, 4]), "y": 3})
    np.testing.assert_allclose(np.asarray(got), [2.5, 2.0, 1.75])


def test_integer_powers_of_negative_numbers() -> None:
    f = parse("x**3 + x**2")
    assert float(f({"x": -2.0})) == -4.0
    assert math.isnan(float(parse("(-8)**(1/3)")({})))  # as in NumPy


# -- JAX transformations ------------------------------------------------------


def test_gradient_equals_the_analytic_one() -> None:
    f = parse("a*exp(-b*x) + c")
    xs = np.linspace(0.0, 3.0, 7)
    params = {"a": 2.0, "b": 0.5, "c": 1.0}

    def total(p: dict[str, Any]) -> jax.Array:
        return jnp.sum(f({**p, "x": xs}))

    with jax.enable_x64(True):
        grad = jax.grad(total)(params)
        decay = np.exp(-0.5 * xs)
        assert float(grad["a"]) == pytest.approx(np.sum(decay), rel=1e-12)
        assert float(grad["b"]) == pytest.approx(np.sum(-2.0 * xs * decay), rel=1e-12)
        assert float(grad["c"]) == pytest.approx(7.0, rel=1e-12)


def test_gradient_of_a_loss_expression() -> None:
    loss = parse("abs(pred - y)**1.5", what="--loss-expr")
    pred = jnp.array([0.0, 1.0, 3.0])
    y = jnp.array([1.0, 1.5, 2.0])
    grad = jax.grad(lambda p: jnp.sum(loss({"pred": p, "y": y})))(pred)
    d = np.asarray(pred - y)
    np.testing.assert_allclose(
        np.asarray(grad), 1.5 * np.abs(d) ** 0.5 * np.sign(d), rtol=1e-6
    )


def test_gradient_of_integer_powers_at_zero_and_below() -> None:
    g = jax.grad(lambda v: parse("x**2 + x**3")({"x": v}))
    assert float(g(0.0)) == 0.0
    assert float(g(-2.0)) == pytest.approx(2 * -2.0 + 3 * 4.0)


def test_jit_and_vmap() -> None:
    f = parse("a*exp(-b*x) + c")
    xs = jnp.linspace(0.0, 3.0, 5)
    env = {"a": jnp.float32(2.0), "b": jnp.float32(0.5), "x": xs, "c": 1.0}
    eager = f(env)
    jitted = jax.jit(f.__call__)(env)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-6)

    a_values = jnp.array([1.0, 2.0, 3.0])
    batched = jax.vmap(lambda a: f({**env, "a": a}))(a_values)
    assert batched.shape == (3, 5)
    for row, a in zip(batched, a_values, strict=True):
        np.testing.assert_allclose(
            np.asarray(row), np.asarray(f({**env, "a": a})), rtol=1e-6
        )
    per_x = jax.vmap(lambda x: f({**env, "x": x}))(xs)
    np.testing.assert_allclose(np.asarray(per_x), np.asarray(eager), rtol=1e-6)


# -- property: parse(render(tree)) computes what NumPy computes on the tree ----

Tree = tuple[Any, ...]
VARIABLES = ("x", "y", "z")
UNARY: dict[str, Callable[[Any], Any]] = {
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sqrt": np.sqrt,
    "abs": np.abs,
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
}
LEAVES = st.one_of(
    st.integers(0, 12).map(lambda i: ("num", float(i), str(i))),
    st.floats(0, 1e3, allow_subnormal=False).map(lambda f: ("num", f, repr(f))),
    st.sampled_from(VARIABLES).map(lambda name: ("var", name)),
)
TREES = st.recursive(
    LEAVES,
    lambda kids: st.one_of(
        kids.map(lambda t: ("neg", t)),
        st.tuples(st.just("bin"), st.sampled_from(list(BINARY)), kids, kids),
        st.tuples(st.just("call"), st.sampled_from(list(UNARY)), kids),
    ),
    max_leaves=8,
)
VALUES_OF_VARIABLES = st.fixed_dictionaries(
    {name: st.floats(-3, 3, allow_subnormal=False) for name in VARIABLES}
)


def render(tree: Tree) -> str:
    """The tree as text, every operation in parentheses."""
    kind = tree[0]
    if kind == "num":
        return str(tree[2])
    if kind == "var":
        return str(tree[1])
    if kind == "neg":
        return f"(-{render(tree[1])})"
    if kind == "bin":
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    return f"{tree[1]}({render(tree[2])})"


def reference(
    tree: Tree,
    env: dict[str, float],
    seen: list[float],
    rng: np.random.Generator | None = None,
) -> np.float64:
    """The tree computed by NumPy in float64. With ``rng``, the result of each
    function and power is nudged by up to 1e-12 of itself: when that moves the
    answer, two correct libraries' last-bit differences may too."""
    kind = tree[0]
    if kind == "num":
        value = np.float64(tree[1])
    elif kind == "var":
        value = np.float64(env[tree[1]])
    elif kind == "neg":
        value = -reference(tree[1], env, seen, rng)
    elif kind == "bin":
        left = reference(tree[2], env, seen, rng)
        right = reference(tree[3], env, seen, rng)
        value = BINARY[tree[1]](left, right)
        if tree[1] == "**" and rng is not None:
            value *= 1 + rng.uniform(-1e-12, 1e-12)
    else:
        value = UNARY[tree[1]](reference(tree[2], env, seen, rng))
        if rng is not None:
            value *= 1 + rng.uniform(-1e-12, 1e-12)
    seen.append(float(value))
    return np.float64(value)


def same(a: float, b: float, rtol: float) -> bool:
    """Equal within ``rtol``, NaN equal to NaN and each infinity to itself."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def variables_in_order(tree: Tree) -> list[str]:
    if tree[0] == "var":
        return [tree[1]]
    if tree[0] == "num":
        return []
    found: list[str] = []
    for kid in tree[2:] if tree[0] in ("bin", "call") else tree[1:]:
        found += [n for n in variables_in_order(kid) if n not in found]
    return found


@given(tree=TREES, env=VALUES_OF_VARIABLES)
def test_parsed_text_computes_what_numpy_computes(
    tree: Tree, env: dict[str, float]
) -> None:
    text = render(tree)
    seen: list[float] = []
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        want = float(reference(tree, env, seen))
        nudged = [float(reference(tree, env, [], rng)) for _ in range(3)]
    # Skip answers that hang on the last bits (cancellation, overflow edges) and
    # subnormal numbers, which XLA on CPU flushes to zero.
    assume(all(same(want, other, rtol=1e-8) for other in nudged))
    assume(not any(0 < abs(v) < np.finfo(np.float64).tiny for v in seen))

    f = parse(text)
    assert list(f.names) == variables_in_order(tree)
    with jax.enable_x64(True):
        got = f({name: env[name] for name in f.names})
    assert got.dtype == jnp.float64
    assert same(float(got), want, rtol=1e-6), (text, float(got), want)


def test_a_comparison_chooses_and_counts_on_the_host() -> None:
    """In a schedule's expression (computed on the host), ``A if COMPARISON else
    B`` is Python's own conditional for numbers, NumPy's where for arrays, and a
    comparison alone is 1 or 0; a model or a loss refuses both (JAX's where
    would pass the side not taken its gradient, NaN where it is undefined)."""
    from gradtrace.core.expr import host

    _, rate = host("lr if epoch < 10 else lr * exp(-0.1)")
    assert rate({"epoch": 9, "lr": 0.1}) == 0.1
    assert rate({"epoch": 10, "lr": 0.1}) == 0.1 * math.exp(-0.1)  # to the bit
    assert (
        rate({"epoch": np.arange(12), "lr": 0.1}).tolist()[-2:]
        == [0.1 * math.exp(-0.1)] * 2
    )
    _, step = host("0.1 ** (epoch >= 30)")
    assert step({"epoch": 29}) == 1.0 and step({"epoch": 30}) == 0.1
    for bad, told in (
        ("a if b else c", "the condition of '... if ... else ...' must be"),
        ("0 < x <= 1", "chained comparisons are not allowed"),
        ("x is y", "the comparison 'is' is not allowed"),
    ):
        with pytest.raises(expr.ExprError, match=re.escape(told)):
            host(bad)
    with pytest.raises(expr.ExprError, match="not in a model or a loss"):
        parse("a*sqrt(x - c) if x > c else 0")
