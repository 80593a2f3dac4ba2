"""Pure ASGI middleware: request ids (echoed and put on every log line), the gateway's header
checks, body limits, and the latency observation behind ``/metrics``.

Order matters and mirrors Adobe's gateway: credentials and tenancy are checked before the body is
looked at, so an unauthenticated request with a bad body gets the auth error.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import anyio.to_thread

from headwater.api.errors import gateway_error_response, service_error_response
from headwater.domain.paths import PROTECTED_PREFIX
from headwater.errors import (
    ContentTypeError,
    GatewayError,
    InvalidRequestError,
    PayloadTooLargeError,
    ServiceError,
)
from headwater.logs import log_context
from headwater.services.context import Tenant
from headwater.services.identity import Gateway

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


#: ``\u0000`` in a JSON text: a backslash escape not itself escaped (an odd run of backslashes).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def _client_request_id(value: str | None) -> str | None:
    """The client's ``x-request-id`` when it is a plain token of at most 128 characters; anything
    else (huge, spaces, control or non-ASCII characters) is replaced, not echoed or logged."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def full_route(scope: Mapping[str, Any], template: str) -> str:
    """The matched route template with its router's prefix (``/flows/{flow_id}`` →
    ``/data/foundation/flowservice/flows/{flow_id}``): the prefix is the leading literal segments
    of the raw (still percent-encoded) path that the template does not cover."""
    if not template.startswith("/") or ":path}" in template:
        return template
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    path = path.split("?", 1)[0]
    segments = [s for s in path.split("/") if s]
    covered = len([s for s in template.split("/") if s])
    extra = len(segments) - covered
    if extra <= 0:
        return template
    return "/" + "/".join(segments[:extra]) + template


class RequestContextMiddleware:
    """Gives each request an id (the client's ``x-request-id`` or a new one), echoes it and tags
    the request's log records with it; checks the gateway headers under ``/data/foundation/``;
    enforces JSON bodies of at most ``max_body`` bytes; and reports each request's method, full
    route template, status and duration to ``observe``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        gateway: Gateway,
        max_body: int,
        observe: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.gateway = gateway
        self.max_body = max_body
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = _client_request_id(headers.get("x-request-id")) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status_holder = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                hdrs = list(message.get("headers", []))
                hdrs.append((b"x-request-id", request_id.encode()))
                message["headers"] = hdrs
            await send(message)

        with log_context(request_id=request_id[:128]):
            try:
                await self._handle(scope, receive, send_with_id, headers, request_id)
            finally:
                if self.observe is not None:
                    route = scope.get("route")
                    template = getattr(route, "path", None) or "unmatched"
                    self.observe(
                        scope["method"],
                        full_route(scope, template),
                        status_holder[0],
                        time.perf_counter() - started,
                    )

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send_with_id: Send,
        headers: dict[str, str],
        request_id: str,
    ) -> None:
        path: str = scope["path"]
        protected = path.startswith(PROTECTED_PREFIX)
        try:
            if protected:
                scope["state"]["tenant"] = await self._authenticate(headers)
                query = scope.get("query_string", b"")
                if "\x00" in path or (isinstance(query, bytes) and b"%00" in query):
                    raise InvalidRequestError("The path or query contains a NUL character")
            if scope["method"] in _BODY_METHODS:
                receive = await self._buffer_body(headers, receive, require_json=protected)
        except GatewayError as exc:
            await gateway_error_response(exc)(scope, receive, send_with_id)
            return
        except ServiceError as exc:
            await service_error_response(exc, request_id)(scope, receive, send_with_id)
            return
        await self.app(scope, receive, send_with_id)

    async def _authenticate(self, headers: dict[str, str]) -> Tenant:
        creds = {
            "authorization": headers.get("authorization"),
            "api_key": headers.get("x-api-key"),
            "org_id": headers.get("x-gw-ims-org-id"),
            "sandbox_name": headers.get("x-sandbox-name"),
        }
        tenant = self.gateway.cached_authenticate(**creds)
        if tenant is None:  # not cached yet: the database lookup runs off the event loop
            tenant = await anyio.to_thread.run_sync(lambda: self.gateway.authenticate(**creds))
        return tenant

    async def _buffer_body(
        self, headers: dict[str, str], receive: Receive, *, require_json: bool
    ) -> Receive:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise PayloadTooLargeError(f"request body is larger than {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLargeError(f"request body is larger than {self.max_body} bytes")
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if require_json and body.strip():
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if not (
                ctype == "application/json"
                or (ctype.startswith("application/") and ctype.endswith("+json"))
            ):
                raise ContentTypeError
        if require_json and _JSON_NUL.search(body):
            # no store keeps NUL in text (PostgreSQL refuses it), and no field needs one
            raise InvalidRequestError("The request body contains a NUL character (\\u0000)")
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        return replay
