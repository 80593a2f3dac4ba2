"""``property=`` filters: what a client writes parses back to the same path, operator and values;
``!=`` is exactly the negation of ``==``; a comma list is an OR; the range operators agree with
each other; ``name[]`` fans out over arrays; and any text is a filter or a 400."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from headwater.domain.filters import Filter, matches, parse_filter, parse_filters, resolve
from headwater.errors import FilterError

names = st.text(string.ascii_letters + "_", min_size=1, max_size=8)
paths = st.lists(names, min_size=1, max_size=3).map(".".join)
#: Values a client can write bare: no quote, no comma, no space at either end.
bare = st.text(string.ascii_letters + string.digits + "-_.:@ ", min_size=1, max_size=12).filter(
    lambda v: v == v.strip()
)
#: Values that need double quotes (they hold a comma).
quoted = st.tuples(bare, bare).map(lambda p: f"{p[0]},{p[1]}")
values = st.one_of(bare, quoted)
EQUALITY = ("==", "!=")
RANGE = (">", "<", ">=", "<=")


def write(path: str, op: str, vals: list[str]) -> str:
    return path + op + ",".join(f'"{v}"' if "," in v else v for v in vals)


@given(paths, st.sampled_from(EQUALITY), st.lists(values, min_size=1, max_size=4))
def test_an_equality_filter_parses_back_to_what_was_written(
    path: str, op: str, vals: list[str]
) -> None:
    raw = write(path, op, vals)
    f = parse_filter(raw)
    assert (f.path, f.op, f.values, f.raw) == (path, op, tuple(vals), raw)
    assert f.root == path.split(".", maxsplit=1)[0]


@given(paths, st.sampled_from(RANGE), bare)
def test_a_range_filter_parses_back_to_what_was_written(path: str, op: str, value: str) -> None:
    assume(path.split(".", maxsplit=1)[0] != "id")  # id takes no range operator
    f = parse_filter(write(path, op, [value]))
    assert (f.path, f.op, f.values) == (path, op, (value,))


@given(paths, st.sampled_from(RANGE), st.lists(bare, min_size=2, max_size=3))
def test_a_range_operator_takes_one_value(path: str, op: str, vals: list[str]) -> None:
    try:
        parse_filter(write(path, op, vals))
    except FilterError as exc:
        assert exc.instance_code == "1443"  # noqa: PT017 - the code is the property
    else:
        raise AssertionError("a range filter with several values was accepted")


@given(st.text(max_size=40))
def test_any_text_is_a_filter_or_a_400(raw: str) -> None:
    try:
        f = parse_filter(raw)
    except FilterError as exc:
        assert exc.http_status == 400  # noqa: PT017 - the status is the property
    else:
        assert isinstance(f, Filter) and f.op in (*EQUALITY, *RANGE) and f.values


@given(paths, st.lists(values, min_size=1, max_size=3), names)
def test_a_filter_on_a_field_the_resource_lacks_is_refused(
    path: str, vals: list[str], other: str
) -> None:
    root = path.split(".", maxsplit=1)[0]
    assume(other != root)
    try:
        parse_filters([write(path, "==", vals)], fields=[other])
    except FilterError as exc:
        assert exc.instance_code == "1449"  # noqa: PT017 - the code is the property
    else:
        raise AssertionError("a filter on an unknown field was accepted")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(-1000, 1000, allow_nan=False),
    st.text(string.ascii_letters + string.digits, max_size=6),
)
docs = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(scalars, st.lists(scalars, max_size=3), st.fixed_dictionaries({"x": scalars})),
    max_size=3,
)
probe_values = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["true", "false", "1.5", "x", "abc"]),
    st.text(string.ascii_letters + string.digits, min_size=1, max_size=6),
)
probe_paths = st.sampled_from(["a", "b", "c.x", "a[]"])


def flt(path: str, op: str, vals: list[str]) -> Filter:
    return parse_filter(write(path, op, vals))


@given(docs, probe_paths, st.lists(probe_values, min_size=1, max_size=3))
def test_not_equal_is_the_negation_of_equal(
    doc: dict[str, Any], path: str, vals: list[str]
) -> None:
    assert matches(doc, flt(path, "!=", vals)) is not matches(doc, flt(path, "==", vals))


@given(docs, probe_paths, st.lists(probe_values, min_size=1, max_size=3))
def test_a_value_list_is_an_or(doc: dict[str, Any], path: str, vals: list[str]) -> None:
    either = matches(doc, flt(path, "==", vals))
    assert either == any(matches(doc, flt(path, "==", [v])) for v in vals)


@given(docs, probe_paths, probe_values)
def test_the_range_operators_agree(doc: dict[str, Any], path: str, value: str) -> None:
    gt, ge = matches(doc, flt(path, ">", [value])), matches(doc, flt(path, ">=", [value]))
    lt, le = matches(doc, flt(path, "<", [value])), matches(doc, flt(path, "<=", [value]))
    assert (not gt or ge) and (not lt or le)  # strict implies non-strict
    found = [v for v in resolve(doc, path) if v is not None]
    if not found:  # nothing to compare: no range filter matches
        assert not (gt or ge or lt or le)
    if len(found) == 1:  # one value is either above the bound or not, below it or not
        assert le is not gt
        assert ge is not lt


@given(
    st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=4), max_size=4),
    st.text(string.ascii_lowercase, min_size=1, max_size=4),
)
def test_brackets_match_any_element(tags: list[str], wanted: str) -> None:
    doc = {"tags": tags}
    assert matches(doc, flt("tags[]", "==", [wanted])) == (wanted in tags)


def test_nan_and_infinity_bounds_compare_as_text() -> None:
    # float("NaN") is neither above nor below anything: as a number, "a>NaN" and "a<=NaN" would
    # both be false, so such bounds compare as text, like any value that is not a number
    doc = {"a": 0}
    for bound in ("NAN", "nan", "inf", "-Infinity"):
        above = matches(doc, flt("a", ">", [bound]))
        assert above is not matches(doc, flt("a", "<=", [bound])), bound
