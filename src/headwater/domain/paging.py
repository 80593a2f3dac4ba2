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

from headwater.errors import FilterError


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
