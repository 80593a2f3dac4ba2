"""Continuation tokens against the documents they page over: the position a page ends at (the
last document's sort key and id) always survives the token that carries it to the next page,
whatever the document holds."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from headwater.domain.filters import OrderBy, sort_key
from headwater.domain.paging import PageQuery, decode_token, encode_token
from tests.domain.test_listing_properties import BIG, docs


@given(docs, st.sampled_from(["a", "b", "name"]), st.booleans(), st.text(max_size=8))
@example({"a": BIG}, "a", False, "x")
@example({"a": -(10**309)}, "a", True, "x")
def test_the_position_after_any_document_survives_its_token(
    doc: dict[str, Any], field: str, descending: bool, last_id: str
) -> None:
    """The next page starts after the last document's (sort key, id): whatever the document
    holds, the token minted for it decodes to that same position."""
    key = sort_key(doc, OrderBy(field, descending))
    q = PageQuery(filters=(), orderby=f"+{field}", limit=10, after=(list(key), last_id))
    back = decode_token(encode_token(q))
    assert back.after is not None
    assert tuple(back.after[0]) == key and back.after[1] == last_id
