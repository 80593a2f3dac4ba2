"""The expression parser: Adobe's documented examples, and properties over arbitrary input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.mapping import ExpressionError, parse, unparse
from headwater.mapping.ast import (
    RESERVED,
    ArrayLit,
    Binary,
    Call,
    Conditional,
    Field,
    Literal,
    Method,
    Unary,
)

# Expressions from Adobe's Data Prep function reference and troubleshooting guide.
DOCUMENTED = [
    'concat("Hi, ", "there", "!")',
    'explode("Hi, there!", " ")',
    'substr("This is a substring test", 7, 8)',
    'lower("HeLLo")',
    'split("Hello world", " ")',
    'iif("s".equalsIgnoreCase("S"), "True", "False")',
    'iif(marketing_type.equals("phyMail"), nullify(), marketing_type)',
    'iif(total_consents > 5000, iif(marketing_type.equals("phone"), nullify(), marketing_type), "insufficient-consents")',
    'date("2019-10-23 11:24", "yyyy-MM-dd HH:mm", now())',
    'sha256("my text", "UTF-8")',
    'decode(stateCode, "ca", "California", "pa", "Pennsylvania", "N/A")',
    "to_array(false, 1, null, 2, 3)",
    "${First Name}",
    "${First\\.Name}",
    "address.street\\.name",
    "name.firstName",
    "-12",
    "~44",
    "!cond1",
    "1 + 2",
    "1 / 2",
    "a mod 2 eq 0 and not b",
]


@pytest.mark.parametrize("text", DOCUMENTED)
def test_documented_expressions_parse_and_round_trip(text):
    node = parse(text)
    assert parse(unparse(node)) == node


def test_shapes():
    assert parse("${First Name}") == Field(("First Name",))
    assert parse("address.street\\.name") == Field(("address", "street.name"))
    assert parse('a.b.equals("x")') == Method(Field(("a", "b")), "equals", (Literal("x"),))
    assert parse("1 + 2 * 3") == Binary("+", Literal(1), Binary("*", Literal(2), Literal(3)))
    assert parse("a or b and c") == Binary(
        "||", Field(("a",)), Binary("&&", Field(("b",)), Field(("c",)))
    )
    assert parse("x ? 1 : 2") == Conditional(Field(("x",)), Literal(1), Literal(2))
    assert parse("'single'") == Literal("single")
    assert parse("-x") == Unary("-", Field(("x",)))
    assert parse("[1, 'a']") == ArrayLit((Literal(1), Literal("a")))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("concat(a,", "ends too early"),
        ('"unterminated', "unexpected character"),
        ("and", "reserved word"),
        ("1 2", "unexpected '2'"),
        ("@", "unexpected character '@'"),
        ("x" * 5000, "4096"),
    ],
)
def test_errors_are_clear(text, fragment):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert fragment in info.value.message


# ------------------------------------------------------------------ properties

_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in RESERVED
)
_odd_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
_literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
).map(Literal)
_fields = st.one_of(
    st.lists(_names, min_size=1, max_size=3),
    st.lists(_odd_names, min_size=1, max_size=2),
).map(lambda p: Field(tuple(p)))


def _extend(children):
    return st.one_of(
        st.builds(Call, _names, st.lists(children, max_size=3).map(tuple)),
        st.builds(
            Method,
            children,
            st.sampled_from(["equals", "equalsIgnoreCase"]),
            children.map(lambda c: (c,)),
        ),
        st.builds(Unary, st.sampled_from(["!", "~", "-"]), children).filter(
            lambda u: (
                not (
                    u.op == "-"
                    and isinstance(u.operand, Literal)
                    and isinstance(u.operand.value, int | float)
                    and not isinstance(u.operand.value, bool)
                )
            )
        ),
        st.builds(
            Binary,
            st.sampled_from(
                ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"]
            ),
            children,
            children,
        ),
        st.builds(Conditional, children, children, children),
        st.lists(children, max_size=3).map(lambda items: ArrayLit(tuple(items))),
    )


_trees = st.recursive(st.one_of(_literals, _fields), _extend, max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees)
def test_round_trip(tree):
    text = unparse(tree)
    assert parse(text) == tree


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_fails_clearly(text):
    try:
        node = parse(text)
    except ExpressionError as exc:
        error: ExpressionError | None = exc
    else:
        error = None
        assert parse(unparse(node)) == node
    if error is not None:
        assert error.message
        assert 0 <= error.position <= max(len(text), 4096)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc(),.\"'+-*/!?:[]${}\\ 0123456789ornotand", max_size=40))
def test_expression_like_text_never_crashes(text):
    with contextlib.suppress(ExpressionError):
        parse(text)
