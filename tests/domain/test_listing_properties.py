"""Filters and sorting over stored documents: any JSON (numbers of any size included) is matched
or not, never an error that is not ours; numeric filters order values the way exact arithmetic
does; sort keys are a total order whatever the documents hold."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from headwater.domain.filters import OrderBy, matches, parse_filter, sort_key
from headwater.errors import FilterError

#: JSON numbers as Python's json module reads them: integers of any size, finite floats.
numbers = st.one_of(
    st.integers(),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=False, allow_infinity=False),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=6))
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
docs = st.dictionaries(st.sampled_from(["a", "b", "name", "id"]), json_values, max_size=4)
filter_texts = st.builds(
    lambda path, op, value: f"{path}{op}{value}",
    st.sampled_from(["a", "b", "a.b", "a[]", "a[].b", "name"]),
    st.sampled_from(["==", "!=", ">", "<", ">=", "<="]),
    st.one_of(
        numbers.map(str),
        st.sampled_from(["NaN", "inf", "-inf", "1e400", "-1e400", "1_000", "true", "x"]),
        st.text(min_size=1, max_size=6),
    ),
)
BIG = 10**400


def exact(v: Any) -> Fraction | None:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        d = Decimal(v) if not isinstance(v, str) else Decimal(v.strip())
    except ArithmeticError:
        return None
    return Fraction(d) if d.is_finite() else None


@given(docs, filter_texts)
@example({"a": BIG}, "a==1")
@example({"a": [BIG, 2]}, "a>1")
def test_any_document_is_matched_or_not_never_an_error(doc: dict[str, Any], raw: str) -> None:
    try:
        f = parse_filter(raw)
    except FilterError:
        return
    assert matches(doc, f) in (True, False)


@given(numbers, numbers, st.sampled_from([">", "<", ">=", "<=", "==", "!="]))
@example(BIG, BIG - 1, ">")
@example(BIG, 1e300, ">")
@example(2**53 + 1, float(2**53), ">")
def test_numeric_filters_agree_with_exact_arithmetic(stored: Any, bound: Any, op: str) -> None:
    """A number stored in a document against a bound written in the filter: the answer is the
    one exact arithmetic gives (no overflow, no rounding of large integers)."""
    text = repr(bound) if isinstance(bound, float) else str(bound)
    f = parse_filter(f"a{op}{text}")
    a, b = exact(stored), exact(text)
    assert a is not None and b is not None
    want = {
        ">": a > b,
        "<": a < b,
        ">=": a >= b,
        "<=": a <= b,
        "==": a == b,
        "!=": a != b,
    }[op]
    assert matches({"a": stored}, f) is want


@given(st.lists(docs, min_size=1, max_size=8), st.sampled_from(["a", "b", "name"]))
def test_sort_keys_are_a_total_order_over_any_documents(
    docs_: list[dict[str, Any]], f: str
) -> None:
    """Sorting never compares a number with a text, whatever the documents hold."""
    order = OrderBy(f, descending=False)
    keys = sorted(sort_key(d, order) for d in docs_)  # raises on a number against a text
    for rank, key in keys:
        assert (rank, key) == (0, "") or (rank == 1) == isinstance(key, int | float)
