"""Opaque continuation tokens for Flow Service lists.

A token carries the whole query (filters, orderby, limit) and the position after the last item, so
a client may send it alone (aepp's ``getFlows`` does) or together with the original parameters
(aepp's ``getConnections`` does). It is unpadded base64url: no ``=``, ``&`` or ``%``, as aepp needs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from headwater.errors import FilterError, InvalidRequestError


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


def decode_token(token: str) -> PageQuery:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        after = payload.get("a") or None
        return PageQuery(
            filters=tuple(str(x) for x in payload.get("f", [])),
            orderby=payload.get("o"),
            limit=int(payload["l"]),
            after=(after[0], str(after[1])) if after else None,
        )
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError) as exc:
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
