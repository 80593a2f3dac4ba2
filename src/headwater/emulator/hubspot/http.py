"""Minimal request/response plumbing for the raw ASGI app (no framework on the hot path)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

JSON_TYPE = b"application/json;charset=utf-8"
# ASGI scope extension under which the server hands its transport to the app (for connection faults)
TRANSPORT_KEY = "headwater.transport"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Request:
    method: str
    path: str
    raw_query: str
    headers: dict[bytes, bytes]
    body: bytes
    scope: dict[str, Any]
    _query: list[tuple[str, str]] | None = None

    @property
    def query(self) -> list[tuple[str, str]]:
        if self._query is None:
            self._query = parse_qsl(self.raw_query, keep_blank_values=True)
        return self._query

    def param(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None

    def params(self, name: str) -> list[str]:
        """Repeated keys and comma-joined values, both accepted (``a=x&a=y`` or ``a=x,y``)."""
        out: list[str] = []
        for k, v in self.query:
            if k == name:
                out.extend(x for x in v.split(",") if x)
        return out

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.param(name)
        if v is None:
            return default
        return v.lower() in ("true", "1", "yes")

    @property
    def base_url(self) -> str:
        host = self.headers.get(b"host")
        if host:
            return f"{self.scope.get('scheme', 'http')}://{host.decode('latin-1')}"
        server = self.scope.get("server") or ("127.0.0.1", 80)
        return f"{self.scope.get('scheme', 'http')}://{server[0]}:{server[1]}"

    def link_with(self, key: str, value: str) -> str:
        """Absolute URL of this request with ``key`` replaced by ``value`` (for ``paging.next.link``)."""
        parts = [p for p in self.raw_query.split("&") if p and p.split("=", 1)[0] != key]
        parts.append(f"{key}={quote(value, safe='')}")
        return f"{self.base_url}{quote(self.path)}?{'&'.join(parts)}"

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        ctype = self.headers.get(b"content-type", b"").decode("latin-1")
        if "json" in ctype and self.body:
            data = json.loads(self.body)
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: bytes | None = JSON_TYPE
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, dumps(obj))


def raw_json(body: str, status: int = 200) -> Response:
    return Response(status, body.encode())


class HttpError(Exception):
    """Raised by handlers to answer with a HubSpot-shaped error."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or []
