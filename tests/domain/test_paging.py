"""Continuation tokens: what goes in comes out, the alphabet stays aepp-safe, and a token a
client altered is either a well-formed query or a 400 (FLOW-1451), never an internal error."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.paging import (
    MAX_PAGE,
    PageQuery,
    decode_cursor,
    decode_token,
    encode_cursor,
    encode_token,
)
from headwater.errors import FilterError, InvalidRequestError

TOKEN_ALPHABET = set(string.ascii_letters + string.digits + "-_")

#: The ``(sort key, id)`` positions listing puts in tokens: ``list(sort_key(doc))`` and an id.
sort_keys = st.one_of(
    st.just([0, ""]),
    st.tuples(st.just(1), st.integers(-(2**53), 2**53)).map(list),
    st.tuples(st.just(1), st.floats(allow_nan=False, allow_infinity=False)).map(list),
    st.tuples(st.just(2), st.text()).map(list),
)
queries = st.builds(
    PageQuery,
    filters=st.lists(st.text(), max_size=4).map(tuple),
    orderby=st.one_of(st.none(), st.text(max_size=20)),
    limit=st.integers(1, MAX_PAGE),
    after=st.one_of(st.none(), st.tuples(sort_keys, st.text(min_size=1, max_size=40))),
)


def well_formed(q: PageQuery) -> None:
    assert all(isinstance(f, str) for f in q.filters)
    assert q.orderby is None or isinstance(q.orderby, str)
    assert isinstance(q.limit, int) and 1 <= q.limit <= MAX_PAGE
    if q.after is not None:
        (rank, value), last_id = q.after
        assert isinstance(last_id, str)
        assert rank in (0, 1, 2)
        expected: Any = {0: str, 1: (int, float), 2: str}[rank]
        assert isinstance(value, expected) and not isinstance(value, bool)


def decodes_or_400(token: str) -> None:
    refused: FilterError | None = None
    try:
        q = decode_token(token)
    except FilterError as exc:
        refused = exc
    if refused is None:
        well_formed(q)
    else:
        assert (refused.instance_code, refused.http_status) == ("1451", 400)


@given(queries)
def test_round_trip(q: PageQuery) -> None:
    token = encode_token(q)
    assert set(token) <= TOKEN_ALPHABET  # no '=', '&' or '%': aepp re-sends it verbatim
    assert decode_token(token) == q


@given(queries, st.data())
def test_a_token_with_characters_changed_or_cut_is_a_query_or_a_400(
    q: PageQuery, data: st.DataObject
) -> None:
    token = encode_token(q)
    cut = data.draw(st.integers(0, len(token)))
    at = data.draw(st.integers(0, max(0, len(token) - 1)))
    char = data.draw(st.sampled_from([*sorted(TOKEN_ALPHABET), "=", "%", " ", "é"]))
    decodes_or_400(token[:cut])
    decodes_or_400(token[:at] + char + token[at + 1 :])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={"f": json_values, "o": json_values, "l": json_values, "a": json_values},
    ),
)


@given(payloads)
def test_any_json_a_client_encodes_itself_is_a_query_or_a_400(payload: Any) -> None:
    raw = json.dumps(payload).encode()
    decodes_or_400(base64.urlsafe_b64encode(raw).decode().rstrip("="))


@given(st.text())
def test_any_text_is_a_query_or_a_400(text: str) -> None:
    decodes_or_400(text)


@given(st.integers(0, 2**63), st.text(min_size=1))
def test_delivery_log_cursor_round_trip(created_at: int, item_id: str) -> None:
    token = encode_cursor(created_at, item_id)
    assert set(token) <= TOKEN_ALPHABET
    assert decode_cursor(token) == (created_at, item_id)


@given(st.text())
def test_any_text_is_a_delivery_log_cursor_or_a_400(text: str) -> None:
    refused: InvalidRequestError | None = None
    try:
        created_at, item_id = decode_cursor(text)
    except InvalidRequestError as exc:
        refused = exc
    if refused is None:
        assert isinstance(created_at, int) and isinstance(item_id, str)
    else:
        assert refused.http_status == 400


def test_a_limit_beyond_the_largest_page_is_refused() -> None:
    big = encode_token(PageQuery(filters=(), orderby=None, limit=MAX_PAGE))
    assert decode_token(big).limit == MAX_PAGE
    raw = json.dumps({"f": [], "o": None, "l": MAX_PAGE + 1, "a": []}).encode()
    with pytest.raises(FilterError):
        decode_token(base64.urlsafe_b64encode(raw).decode())
