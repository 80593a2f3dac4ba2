"""Opaque continuation tokens for Flow Service lists.

A token carries the whole query (filters, orderby, limit) and the position after the last item, so
a client may send it alone (aepp's ``getFlows`` does) or together with the original parameters
(aepp's ``getConnections`` does). It is unpadded base64url: no ``=``, ``&`` or ``%``, as aepp needs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from headwater.errors import FilterError, InvalidRequestError

#: The largest page a list returns (and so the largest ``limit`` a token may carry).
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class PageQuery:
    filters: tuple[str, ...]
    orderby: str | None
    limit: int
    after: tuple[Any, str] | None = None  # (sort key, id) of the last item returned


def encode_token(q: PageQuery) -> str:
    payload = {"f": list(q.filters), "o": q.orderby, "l": q.limit, "a": list(q.after or ())}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _sort_key(value: Any) -> list[Any]:
    """A position's sort key as :func:`headwater.domain.filters.sort_key` makes it, in JSON:
    ``[0, ""]`` (missing), ``[1, number]`` or ``[2, text]``."""
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("sort key")
    rank, key = value
    # an integer of any size is a position a document may hold; only floats can be NaN or inf
    numeric = isinstance(key, int) or (isinstance(key, float) and math.isfinite(key))
    if not (
        (rank == 0 and key == "")
        or (rank == 1 and numeric and not isinstance(key, bool))
        or (rank == 2 and isinstance(key, str))
    ) or isinstance(rank, bool):
        raise TypeError("sort key")
    return [rank, key]


def decode_token(token: str) -> PageQuery:
    """The query inside a token. A token is not signed: the client could send the same query as
    parameters, so an altered token only has to be well formed, or it is a 400 (FLOW-1451)."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(payload, dict):
            raise TypeError("payload")
        filters = payload.get("f", [])
        orderby = payload.get("o")
        limit = payload["l"]
        after = payload.get("a") or None
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise TypeError("filters")
        if orderby is not None and not isinstance(orderby, str):
            raise TypeError("orderby")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
            raise ValueError("limit")
        if after is not None and not (
            isinstance(after, list) and len(after) == 2 and isinstance(after[1], str)
        ):
            raise TypeError("position")
        return PageQuery(
            filters=tuple(filters),
            orderby=orderby,
            limit=limit,
            after=(_sort_key(after[0]), after[1]) if after else None,
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise FilterError("invalid continuationToken", code="1451") from exc


def encode_cursor(created_at: int, item_id: str) -> str:
    """A position in a newest-first log (the webhook delivery log): the last item's creation
    time and id, as unpadded base64url."""
    return base64.urlsafe_b64encode(f"{created_at}:{item_id}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, str]:
    """The ``(created_at, id)`` of :func:`encode_cursor`; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, item_id = raw.split(":", 1)
        return int(created), item_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("continuationToken is not valid") from exc
