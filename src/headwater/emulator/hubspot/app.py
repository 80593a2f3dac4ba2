"""The HubSpot emulator as a raw ASGI application: the request pipeline.

Every request goes URL length -> route -> counters -> faults -> auth -> rate limit -> handler. The
routes come from one table per HubSpot API family (``routes/*.py``), concatenated below; adding a
family is adding a module and listing it in ``FAMILIES`` (``docs/emulator.md``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import struct
from email.utils import formatdate
from typing import Any

from headwater.emulator.hubspot import gateway
from headwater.emulator.hubspot.auth import STATIC_KINDS
from headwater.emulator.hubspot.config import EmulatorConfig
from headwater.emulator.hubspot.faults import NO_FAULTS, FaultPlan, Faults, mangle
from headwater.emulator.hubspot.http import (
    JSON_TYPE,
    TRANSPORT_KEY,
    HttpError,
    Request,
    Response,
    dumps,
)
from headwater.emulator.hubspot.routes import (
    admin,
    associations,
    lists,
    marketing,
    metadata,
    oauth,
    objects,
    settings,
)
from headwater.emulator.hubspot.routes.admin import ADMIN_PREFIX, portal_info
from headwater.emulator.hubspot.routing import (
    DATE_VERSION,
    Ctx,
    Match,
    Router,
    RouteTable,
    bad_type,
    validation_error,
)
from headwater.emulator.hubspot.search import SearchError
from headwater.emulator.hubspot.state import PortalState, UnknownObjectTypeError

FAMILIES = (objects, associations, metadata, lists, marketing, settings, oauth, admin)
ROUTES: RouteTable = tuple(route for family in FAMILIES for route in family.ROUTES)
ROUTER = Router(ROUTES)

URI_TOO_LONG = Response(
    414, b"<html><body><h1>414 Request-URI Too Large</h1></body></html>", b"text/html"
)


class _AbortedError(Exception):
    """The connection was aborted on purpose (reset fault); nothing more to send."""


class HubSpotEmulatorApp:
    """ASGI callable. ``state`` is the live portal (shared with tests and the admin prefix)."""

    def __init__(self, state: PortalState) -> None:
        self.state = state
        self._date_second = -1
        self._date_value = b""
        self._corr = itertools.count(1)
        self._corr_prefix = f"{state.portal_id:08x}"[-8:]

    def info(self) -> dict[str, Any]:
        return portal_info(self.state)

    # ------------------------------------------------------------------ ASGI entry

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        qs = scope.get("query_string", b"").decode("latin-1")
        req = Request(scope["method"], scope["path"], qs, dict(scope["headers"]), body, scope)
        correlation = self._correlation()
        faults: Faults | None = None
        try:
            resp, faults = await self._dispatch(req, correlation)
        except _AbortedError:
            return
        except HttpError as exc:
            if exc.body.get("correlationId") == "":
                exc.body["correlationId"] = correlation
            resp = Response(exc.status, dumps(exc.body), headers=exc.headers)
        self.state.status_counts[resp.status] += 1
        headers = [(b"x-hubspot-correlation-id", correlation.encode()), (b"date", self._date())]
        if resp.content_type is not None:
            headers.append((b"content-type", resp.content_type))
        headers.extend(resp.headers)
        headers.append((b"content-length", str(len(resp.body)).encode()))
        if faults is not None and faults.truncate and len(resp.body) > 1:
            await self._send_truncated(scope, send, resp, headers)
            return
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})

    def _date(self) -> bytes:
        """The ``Date`` header, by the portal's clock (HubSpot sends one on every answer)."""
        second = self.state.clock.now_ms() // 1000
        if second != self._date_second:
            self._date_second = second
            self._date_value = formatdate(second, usegmt=True).encode()
        return self._date_value

    def _correlation(self) -> str:
        n = next(self._corr)
        return f"{self._corr_prefix}-{(n >> 48) & 0xFFFF:04x}-4{(n >> 36) & 0xFFF:03x}-a{(n >> 24) & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"

    # ------------------------------------------------------------------ the pipeline

    async def _dispatch(self, req: Request, correlation: str) -> tuple[Response, Faults | None]:
        state = self.state
        if len(req.path) + len(req.raw_query) + 1 > state.config.max_url_length:
            return URI_TOO_LONG, None
        match = ROUTER.match(req.method, req.path)
        if match is None:
            return Response(404, b"", b"text/plain"), None
        route = match.route
        if route.sunset and not state.config.legacy_v1:
            state.request_counts["sunset"] += 1
            return Response(404, b"", b"text/plain"), None
        if (
            state.config.undated_families
            and DATE_VERSION.match(match.args.get("version", ""))
            and route.endpoint.split(".", 1)[0] in state.config.undated_families
        ):
            state.request_counts["undated"] += 1
            return Response(404, b"", b"text/plain"), None
        state.request_counts[route.endpoint] += 1
        if not route.faults:
            return await self._call(
                match, Ctx(state, req, match.args, correlation, NO_FAULTS)
            ), None
        faults = state.faults.decide(route.endpoint)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.reset:
            await self._reset(req)
        if faults.status is not None:
            return gateway.fault_response(state, faults, correlation, search=route.search), faults
        ctx = Ctx(state, req, match.args, correlation, faults)
        if not route.auth:
            return await self._call(match, ctx), faults
        ctx.token = token = gateway.authenticate(state, req, match, correlation)
        decision = state.limiter.check(
            token.app_key,
            state.now_ms(),
            search=route.search,
            private=token.kind in STATIC_KINDS,
            exempt=route.burst_exempt,
        )
        if decision.policy is not None:
            return gateway.rate_limited(state, token, decision, correlation), faults
        headers = list(decision.headers)
        try:
            resp = await self._call(match, ctx)
        except HttpError as exc:
            exc.headers = headers + exc.headers
            raise
        resp.headers = headers + resp.headers
        if faults.body is not None and resp.status == 200 and resp.content_type == JSON_TYPE:
            resp.body = mangle(faults.body, resp.body, req.param("after"))
        return resp, faults

    @staticmethod
    async def _call(match: Match, ctx: Ctx) -> Response:
        try:
            result = match.route.handler(ctx)
            if isinstance(result, Response):
                return result
            return await result
        except UnknownObjectTypeError as exc:
            raise bad_type(str(exc)) from exc
        except SearchError as exc:
            raise validation_error(str(exc)) from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise validation_error(f"There was a problem with the request: {exc}") from exc

    # ------------------------------------------------------------------ connection faults

    @staticmethod
    async def _reset(req: Request) -> None:
        """Abort the TCP connection with an RST before any byte of the response."""
        transport = req.scope.get("extensions", {}).get(TRANSPORT_KEY)
        if transport is None:
            raise ConnectionResetError("emulator fault: connection reset")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        raise _AbortedError

    @staticmethod
    async def _send_truncated(
        scope: dict[str, Any], send: Any, resp: Response, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Promise the whole body in ``Content-Length``, send half of it, close the socket."""
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send(
            {
                "type": "http.response.body",
                "body": resp.body[: len(resp.body) // 2],
                "more_body": True,
            }
        )
        transport = scope.get("extensions", {}).get(TRANSPORT_KEY)
        if transport is None:
            raise ConnectionAbortedError("emulator fault: truncated body")
        transport.close()
        await asyncio.sleep(0)
        await asyncio.sleep(0)


def create_app(
    config: EmulatorConfig | None = None, state: PortalState | None = None
) -> HubSpotEmulatorApp:
    """Build the ASGI app for ``config`` (or around an existing ``state``)."""
    if state is None:
        state = PortalState(config or EmulatorConfig())
    return HubSpotEmulatorApp(state)


__all__ = ["ADMIN_PREFIX", "ROUTES", "FaultPlan", "HubSpotEmulatorApp", "create_app"]
