"""Identifiers, etags and time."""

from __future__ import annotations

import time
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_etag() -> str:
    """An Adobe-style etag: a quoted opaque string that changes on every write."""
    u = uuid.uuid4().hex
    return f'"{u[:8]}-0000-0200-0000-{u[8:20]}"'


def normalize_etag(value: str) -> str:
    """Compare etags after stripping a weak prefix and surrounding quotes (sent either way)."""
    v = value.strip()
    if v.startswith(("W/", "w/")):
        v = v[2:]
    while len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        v = v[1:-1]
    return v.replace('\\"', "")


def now_ms() -> int:
    return time.time_ns() // 1_000_000
