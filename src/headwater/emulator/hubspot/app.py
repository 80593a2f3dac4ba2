"""The HubSpot emulator as a raw ASGI application.

Routing, auth, scopes, rate limits and faults are applied here in that order; the handlers build
HubSpot's exact JSON shapes. Hot paths (list pages) assemble JSON from pre-encoded fragments.
"""

from __future__ import annotations

import asyncio
import base64
import html
import itertools
import json
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np

from headwater.emulator.hubspot import render
from headwater.emulator.hubspot.auth import APP_ID, USER_EMAIL, USER_ID, AccessToken, RefreshToken
from headwater.emulator.hubspot.config import EmulatorConfig
from headwater.emulator.hubspot.data import ObjectStore, PropPlan, iso_ms, parse_time_ms
from headwater.emulator.hubspot.faults import FaultPlan, Faults, parse_fault_spec
from headwater.emulator.hubspot.http import (
    HttpError,
    Request,
    Response,
    dumps,
    json_response,
    raw_json,
)
from headwater.emulator.hubspot.legacy import legacy_record
from headwater.emulator.hubspot.lists import ContactList
from headwater.emulator.hubspot.portal_metadata import (
    IGNORED_ASSOCIATION_NAMES,
    LEGACY_ONLY_PROPERTY_SETS,
    ObjectType,
    Pipeline,
)
from headwater.emulator.hubspot.search import SearchError, run_search
from headwater.emulator.hubspot.state import PortalState, UnknownObjectTypeError

ADMIN_PREFIX = "/_emulator"
TRANSPORT_KEY = "headwater.transport"
LIST_MAX = 100
HISTORY_MAX = 50
BATCH_MAX = 100
ASSOC_BATCH_MAX = 1000
ASSOC_PAGE = 500
INLINE_ASSOC_MAX = 100
_DATE_VERSION = re.compile(r"^\d{4}-\d{2}$")
_PAT_SHAPE = re.compile(r"^pat-[a-z]{2}\d-[0-9a-z-]{8,}$")

Handler = Callable[["Ctx"], Awaitable[Response] | Response]


@dataclass(slots=True)
class Route:
    """A matched route: handler, endpoint name for counters/faults, and what it needs."""

    endpoint: str
    handler: Handler
    args: dict[str, str]
    auth: bool = True
    scope_type: str | None = None  # object type whose read scope is required
    scope: str | None = None  # a fixed required scope
    write: bool = False
    search: bool = False


@dataclass(slots=True)
class Ctx:
    route: Route
    token: AccessToken | None
    faults: Faults
    req: Request


class _AbortedError(Exception):
    """The connection was aborted on purpose (reset fault); nothing more to send."""


def _error(status: int, category: str, message: str, correlation: str, **extra: Any) -> HttpError:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
    }
    body.update(extra)
    return HttpError(status, body)


class HubSpotEmulatorApp:
    """ASGI callable. ``state`` is the live portal (shared with tests and the admin prefix)."""

    def __init__(self, state: PortalState) -> None:
        self.state = state
        self._corr = itertools.count(1)
        self._corr_prefix = f"{state.portal_id:08x}"[-8:]

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
        headers = [(b"x-hubspot-correlation-id", correlation.encode())]
        if resp.content_type is not None:
            headers.append((b"content-type", resp.content_type))
        headers.extend(resp.headers)
        headers.append((b"content-length", str(len(resp.body)).encode()))
        if faults is not None and faults.truncate and len(resp.body) > 1:
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            await send(
                {
                    "type": "http.response.body",
                    "body": resp.body[: len(resp.body) // 2],
                    "more_body": True,
                }
            )
            transport = scope.get("extensions", {}).get(TRANSPORT_KEY)
            if transport is not None:
                transport.close()
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                return
            raise ConnectionAbortedError("emulator fault: truncated body")
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})

    def _correlation(self) -> str:
        n = next(self._corr)
        return f"{self._corr_prefix}-{(n >> 48) & 0xFFFF:04x}-4{(n >> 36) & 0xFFF:03x}-a{(n >> 24) & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"

    async def _dispatch(self, req: Request, correlation: str) -> tuple[Response, Faults | None]:
        state = self.state
        if len(req.path) + len(req.raw_query) + 1 > state.config.max_url_length:
            return Response(
                414, b"<html><body><h1>414 Request-URI Too Large</h1></body></html>", b"text/html"
            ), None
        route = self._route(req.method, req.path)
        if route is None:
            return Response(404, b"", b"text/plain"), None
        state.request_counts[route.endpoint] += 1
        if route.endpoint.startswith("admin."):
            return await self._call(route, Ctx(route, None, Faults(), req)), None
        faults = state.faults.decide(route.endpoint)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.reset:
            transport = req.scope.get("extensions", {}).get(TRANSPORT_KEY)
            if transport is not None:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                raise _AbortedError
            raise ConnectionResetError("emulator fault: connection reset")
        if faults.status is not None:
            return self._fault_status(faults, correlation, search=route.search), faults
        if not route.auth:
            return await self._call(route, Ctx(route, None, faults, req)), faults
        token = self._authenticate(req, route, correlation)
        headers: list[tuple[bytes, bytes]] = []
        decision = state.limiter.check(
            token.app_key, state.now_ms(), search=route.search, private=token.kind == "private"
        )
        if decision.policy is not None:
            body = {
                "status": "error",
                "message": decision.message,
                "errorType": "RATE_LIMIT",
                "correlationId": correlation,
                "policyName": decision.policy,
                "groupName": state.limiter.group_name(token.app_key, decision.policy),
            }
            extra = (
                [(b"retry-after", str(decision.retry_after_s).encode())]
                if decision.retry_after_s
                else []
            )
            return Response(429, dumps(body), headers=extra), faults
        headers = list(decision.headers)
        try:
            resp = await self._call(route, Ctx(route, token, faults, req))
        except HttpError as exc:
            exc.headers = headers + exc.headers
            raise
        resp.headers = headers + resp.headers
        return resp, faults

    async def _call(self, route: Route, ctx: Ctx) -> Response:
        try:
            result = route.handler(ctx)
            if isinstance(result, Response):
                return result
            return await result
        except UnknownObjectTypeError as exc:
            raise self._bad_type(str(exc)) from exc
        except SearchError as exc:
            raise _error(400, "VALIDATION_ERROR", str(exc), "") from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise _error(
                400, "VALIDATION_ERROR", f"There was a problem with the request: {exc}", ""
            ) from exc

    def _bad_type(self, name: str) -> HttpError:
        return _error(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {name}",
            "",
            subCategory="ObjectTypeIdError.UNKNOWN_OBJECT_TYPE",
            context={"objectType": [name]},
        )

    def _fault_status(self, faults: Faults, correlation: str, *, search: bool = False) -> Response:
        status = faults.status or 500
        if status == 429:
            policy, window = (
                ("SECONDLY", "secondly") if search else ("TEN_SECONDLY_ROLLING", "ten-secondly")
            )
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": correlation,
                "policyName": policy,
                "groupName": f"publicapi:oauth-api-calls-{window}:{self.state.portal_id}",
            }
            headers = [(b"retry-after", b"1")] if faults.retry_after else []
            return Response(429, dumps(body), headers=headers)
        if status == 502:
            return Response(
                502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"text/html"
            )
        if status == 504:
            return Response(
                504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", b"text/html"
            )
        body = {
            "status": "error",
            "message": "internal error" if status == 500 else "Service Unavailable",
            "correlationId": correlation,
            "category": "INTERNAL_ERROR",
        }
        return Response(status, dumps(body))

    # ------------------------------------------------------------------ auth

    def _authenticate(self, req: Request, route: Route, correlation: str) -> AccessToken:
        auth_header = req.headers.get(b"authorization", b"").decode("latin-1")
        token_value = auth_header[7:].strip() if auth_header[:7].lower() == "bearer " else ""
        at = self.state.auth.access.get(token_value) if token_value else None
        fail = [(b"x-hubspot-auth-failure", b"401 Unauthorized")]
        if at is None and token_value.startswith("pat-") and not _PAT_SHAPE.match(token_value):
            # HubSpot's edge answers a malformed private-app token with Cloudflare's 530
            raise HttpError(
                530,
                {
                    "status": "error",
                    "message": "origin DNS error",
                    "correlationId": correlation,
                    "category": "ORIGIN_ERROR",
                },
            )
        if at is None or at.revoked:
            raise HttpError(
                401,
                {
                    "status": "error",
                    "message": "Authentication credentials not found. This API supports both API Key and OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "correlationId": correlation,
                    "category": "INVALID_AUTHENTICATION",
                },
                fail,
            )
        now = self.state.now_ms()
        if at.kind == "oauth" and now >= at.expires_ms:
            ago = (now - at.expires_ms) // 1000
            unit = "second(s)"
            amount = ago
            if ago >= 86_400:
                amount, unit = ago // 86_400, "day(s)"
            raise HttpError(
                401,
                {
                    "status": "error",
                    "message": f"The OAuth token used to make this call expired {amount} {unit} ago.",
                    "correlationId": correlation,
                    "category": "EXPIRED_AUTHENTICATION",
                    "context": {"expire time": [iso_ms(at.expires_ms)]},
                },
                fail,
            )
        required: list[str] = []
        if route.scope is not None:
            required.append(route.scope)
        if route.scope_type is not None:
            name = route.args.get(route.scope_type, "")
            try:
                t = self.state.resolve(name)
            except UnknownObjectTypeError as exc:
                raise self._bad_type(name) from exc
            required.append(t.write_scope if route.write else t.scope)
        missing = [s for s in required if s not in at.scopes]
        if missing:
            raise HttpError(
                403,
                {
                    "status": "error",
                    "message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                    "correlationId": correlation,
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": missing},
                        }
                    ],
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                    "category": "MISSING_SCOPES",
                },
            )
        return at

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str) -> Route | None:
        seg = [s for s in path.split("/") if s]
        n = len(seg)
        if n == 0:
            return None
        if seg[0] == ADMIN_PREFIX[1:]:
            return self._route_admin(method, seg[1:])
        if seg[0] == "oauth":
            return self._route_oauth(method, seg[1:])
        if seg[0] == "crm" and n >= 3:
            version = seg[1]
            if version in ("v3", "v4") and seg[2] == "objects" and n >= 4:
                return self._route_objects(method, seg[3:], version)
            if version == "objects" and n >= 4 and _DATE_VERSION.match(seg[2]):
                return self._route_objects(method, seg[3:], "dated")
            if version in ("v3",) and seg[2] == "properties" and n >= 4:
                return self._route_properties(method, seg[3:])
            if version == "properties" and n >= 4 and _DATE_VERSION.match(seg[2]):
                return self._route_properties(method, seg[3:])
            if version == "v3" and seg[2] == "lists" and n >= 4:
                return self._route_lists(method, seg[3:])
            if version == "v3" and seg[2] == "schemas":
                return self._route_schemas(method, seg[3:])
            if (version == "v3" and seg[2] == "owners") or (
                version == "owners" and _DATE_VERSION.match(seg[2])
            ):
                return self._route_owners(method, seg[3:])
            if version == "v3" and seg[2] == "pipelines" and n >= 4 and method == "GET":
                args = {"type": seg[3]}
                if n == 4:
                    return Route("pipelines.list", self.h_pipelines, args, scope_type="type")
                args["pipeline"] = seg[4]
                if n == 5:
                    return Route("pipelines.read", self.h_pipeline, args, scope_type="type")
                if n == 6 and seg[5] == "stages":
                    return Route(
                        "pipelines.stages", self.h_pipeline_stages, args, scope_type="type"
                    )
            if (
                version in ("v3", "v4")
                and seg[2] == "associations"
                and n == 6
                and seg[5] == "labels"
                and method == "GET"
            ):
                return Route(
                    "associations.labels",
                    self.h_assoc_labels,
                    {"from": seg[3], "to": seg[4]},
                    scope_type="from",
                )
            if (
                version in ("v3", "v4")
                and seg[2] == "associations"
                and n == 7
                and seg[5:] == ["batch", "read"]
                and method == "POST"
            ):
                handler = self.h_assoc_batch_v4 if version == "v4" else self.h_assoc_batch_v3
                return Route(
                    f"associations.{version}.batch_read",
                    handler,
                    {"from": seg[3], "to": seg[4]},
                    scope_type="from",
                )
            if (
                version == "associations"
                and n == 7
                and seg[5:] == ["batch", "read"]
                and method == "POST"
                and _DATE_VERSION.match(seg[2])
            ):
                return Route(
                    "associations.v4.batch_read",
                    self.h_assoc_batch_v4,
                    {"from": seg[3], "to": seg[4]},
                    scope_type="from",
                )
            if (
                version == "associations"
                and seg[2] == "v4"
                and n == 6
                and seg[5] == "labels"
                and method == "GET"
            ):
                return Route(
                    "associations.labels",
                    self.h_assoc_labels,
                    {"from": seg[3], "to": seg[4]},
                    scope_type="from",
                )
            return None
        if seg[0] == "crm-object-schemas" and n >= 3 and seg[1] == "v3" and seg[2] == "schemas":
            return self._route_schemas(method, seg[3:])
        if (
            seg[0] == "properties"
            and n == 4
            and seg[1] in ("v1", "v2")
            and seg[3] == "properties"
            and method == "GET"
        ):
            if seg[2].lower() in LEGACY_ONLY_PROPERTY_SETS:
                return Route(
                    "properties.legacy", self.h_legacy_only_properties, {"set": seg[2].lower()}
                )
            return Route(
                "properties.legacy", self.h_properties_legacy, {"type": seg[2]}, scope_type="type"
            )
        if seg == ["companies", "v2", "properties"] and method == "GET":
            return Route(
                "properties.legacy",
                self.h_properties_legacy,
                {"type": "companies"},
                scope_type="type",
            )
        if (
            seg[0] == "crm-pipelines"
            and n == 4
            and seg[1:3] == ["v1", "pipelines"]
            and method == "GET"
        ):
            return Route(
                "pipelines.legacy",
                self.h_pipelines_legacy,
                {"type": seg[3], "wrap": "1"},
                scope_type="type",
            )
        if (
            method == "GET"
            and (seg[:3] == ["deals", "v1", "deal"] or seg[:3] == ["companies", "v2", "companies"])
            and n == 4
        ):
            args = {"type": seg[0]}
            if seg[3] == "paged":
                return Route(f"{seg[0]}.legacy_paged", self.h_legacy_paged, args, scope_type="type")
            args["id"] = seg[3]
            return Route(f"{seg[0]}.legacy_read", self.h_legacy_read, args, scope_type="type")
        if seg == ["deals", "v1", "pipelines"] and method == "GET":
            return Route(
                "pipelines.legacy", self.h_pipelines_legacy, {"type": "deals"}, scope_type="type"
            )
        return None

    def _route_objects(self, method: str, rest: list[str], version: str) -> Route | None:
        args = {"type": rest[0]}
        n = len(rest)
        if n == 1:
            if method == "GET":
                return Route("objects.list", self.h_list, args, scope_type="type")
            if method == "POST":
                return Route("objects.create", self.h_create, args, scope_type="type", write=True)
            return None
        if n == 2 and rest[1] == "search" and method == "POST":
            return Route("objects.search", self.h_search, args, scope_type="type", search=True)
        if n == 3 and rest[1] == "batch" and method == "POST":
            op = rest[2]
            if op == "read":
                return Route("objects.batch_read", self.h_batch_read, args, scope_type="type")
            if op in ("create", "update", "upsert", "archive"):
                args["op"] = op
                return Route(
                    f"objects.batch_{op}", self.h_batch_write, args, scope_type="type", write=True
                )
            return None
        if n == 2:
            args["id"] = rest[1]
            if method == "GET":
                return Route("objects.read", self.h_read, args, scope_type="type")
            if method == "PATCH":
                return Route("objects.update", self.h_update, args, scope_type="type", write=True)
            if method == "DELETE":
                return Route("objects.archive", self.h_archive, args, scope_type="type", write=True)
            return None
        if n == 4 and rest[2] == "associations" and method == "GET":
            args.update(id=rest[1], to=rest[3], version=version)
            return Route("associations.list", self.h_assoc_list, args, scope_type="type")
        return None

    def _route_properties(self, method: str, rest: list[str]) -> Route | None:
        args = {"type": rest[0]}
        n = len(rest)
        if method == "GET" and n == 1:
            return Route("properties.list", self.h_properties, args, scope_type="type")
        if method == "GET" and n == 2 and rest[1] == "groups":
            return Route("properties.groups", self.h_property_groups, args, scope_type="type")
        if method == "GET" and n == 2:
            args["name"] = rest[1]
            return Route("properties.read", self.h_property, args, scope_type="type")
        if method == "POST" and n == 3 and rest[1:] == ["batch", "read"]:
            return Route("properties.batch_read", self.h_properties_batch, args, scope_type="type")
        return None

    def _route_schemas(self, method: str, rest: list[str]) -> Route | None:
        if method != "GET":
            return None
        if not rest:
            return Route("schemas.list", self.h_schemas, {}, scope="crm.schemas.custom.read")
        if len(rest) == 1:
            return Route(
                "schemas.read", self.h_schema, {"id": rest[0]}, scope="crm.schemas.custom.read"
            )
        return None

    def _route_lists(self, method: str, rest: list[str]) -> Route | None:
        scope = "crm.lists.read"
        if rest == ["search"] and method == "POST":
            return Route("lists.search", self.h_lists_search, {}, scope=scope)
        if len(rest) == 1 and method == "GET":
            return Route("lists.read", self.h_list_read, {"id": rest[0]}, scope=scope)
        if len(rest) == 2 and rest[1] == "memberships" and method == "GET":
            return Route("lists.memberships", self.h_list_memberships, {"id": rest[0]}, scope=scope)
        return None

    def _route_owners(self, method: str, rest: list[str]) -> Route | None:
        if method != "GET":
            return None
        if not rest:
            return Route("owners.list", self.h_owners, {}, scope="crm.objects.owners.read")
        if len(rest) == 1:
            return Route(
                "owners.read", self.h_owner, {"id": rest[0]}, scope="crm.objects.owners.read"
            )
        return None

    def _route_oauth(self, method: str, rest: list[str]) -> Route | None:
        if rest == ["authorize"] and method == "GET":
            return Route("oauth.authorize", self.h_authorize, {}, auth=False)
        if rest == ["authorize", "grant"] and method in ("GET", "POST"):
            return Route("oauth.authorize", self.h_authorize_grant, {}, auth=False)
        if (
            len(rest) == 2
            and rest[1] == "token"
            and method == "POST"
            and (rest[0] in ("v1", "v3") or _DATE_VERSION.match(rest[0]))
        ):
            return Route("oauth.token", self.h_token, {"version": rest[0]}, auth=False)
        if (
            len(rest) == 3
            and rest[1] == "token"
            and method == "POST"
            and (rest[0] == "v3" or _DATE_VERSION.match(rest[0]))
        ):
            if rest[2] == "introspect":
                return Route("oauth.introspect", self.h_introspect, {}, auth=False)
            if rest[2] == "revoke":
                return Route("oauth.revoke", self.h_revoke, {}, auth=False)
        if len(rest) == 3 and rest[0] == "v1" and rest[1] == "access-tokens" and method == "GET":
            return Route(
                "oauth.access_token_info", self.h_access_token_info, {"token": rest[2]}, auth=False
            )
        if len(rest) == 3 and rest[0] == "v1" and rest[1] == "refresh-tokens":
            if method == "GET":
                return Route(
                    "oauth.refresh_token_info",
                    self.h_refresh_token_info,
                    {"token": rest[2]},
                    auth=False,
                )
            if method == "DELETE":
                return Route(
                    "oauth.refresh_token_delete",
                    self.h_refresh_token_delete,
                    {"token": rest[2]},
                    auth=False,
                )
        return None

    def _route_admin(self, method: str, rest: list[str]) -> Route | None:
        table: dict[tuple[str, str], Handler] = {
            ("GET", "info"): self.h_admin_info,
            ("GET", "stats"): self.h_admin_stats,
            ("POST", "stats/reset"): self.h_admin_stats_reset,
            ("POST", "touch"): self.h_admin_touch,
            ("POST", "archive"): self.h_admin_archive,
            ("GET", "clock"): self.h_admin_clock,
            ("POST", "clock"): self.h_admin_clock,
            ("POST", "faults"): self.h_admin_faults,
            ("POST", "tokens"): self.h_admin_tokens,
        }
        handler = table.get((method, "/".join(rest)))
        if handler is None:
            return None
        return Route("admin." + "_".join(rest), handler, {}, auth=False)

    # ------------------------------------------------------------------ helpers

    def _type(self, ctx: Ctx, key: str = "type") -> tuple[ObjectType, ObjectStore]:
        t = self.state.resolve(ctx.route.args[key])
        return t, self.state.stores[t.name]

    @staticmethod
    def _not_found(rid: str) -> HttpError:
        return _error(
            404,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
            "",
            context={"id": [rid]},
        )

    def _record_json(
        self,
        t: ObjectType,
        store: ObjectStore,
        rid: int,
        plans: list[PropPlan],
        history: list[str],
        assoc: list[ObjectType],
        req: Request | None,
    ) -> str:
        return self._records_json(t, store, [rid], plans, history, assoc, req)[0]

    def _records_json(
        self,
        t: ObjectType,
        store: ObjectStore,
        ids: list[int],
        plans: list[PropPlan],
        history: list[str],
        assoc: list[ObjectType],
        req: Request | None,
    ) -> list[str]:
        """Records as JSON strings; properties for the whole page are generated at once."""
        times = store.page_times(ids)
        props = store.page_properties_json(ids, plans, times)
        idx = np.array(ids, dtype=np.int64) - 1
        archived_flags: list[bool] = store.archived[idx].tolist()
        if not history and not assoc and not any(archived_flags):
            # the common case: one f-string per record
            return [
                f'{{"id":"{rid}","properties":{p},"createdAt":"{c}","updatedAt":"{u}","archived":false}}'
                for rid, p, c, u in zip(ids, props, *times, strict=True)
            ]
        out = []
        for rid, props_json, created, updated, is_archived in zip(
            ids, props, *times, archived_flags, strict=True
        ):
            parts = [f'{{"id":"{rid}","properties":', props_json]
            if history:
                hist = {n: store.history_for(rid, n) for n in history if store.known(n)}
                parts.append(',"propertiesWithHistory":' + dumps(hist).decode())
            parts.append(f',"createdAt":"{created}","updatedAt":"{updated}"')
            if is_archived:
                archived_at = iso_ms(int(store.archived_at[rid - 1]))
                parts.append(f',"archived":true,"archivedAt":"{archived_at}"')
            else:
                parts.append(',"archived":false')
            if assoc:
                block = self._inline_assoc(t, rid, assoc, req)
                if block:
                    parts.append(',"associations":' + dumps(block).decode())
            parts.append("}")
            out.append("".join(parts))
        return out

    def _inline_assoc(
        self, t: ObjectType, rid: int, assoc: list[ObjectType], req: Request | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for other in assoc:
            links = self.state.graph.links(t.name, other.name, rid)
            if not links:
                continue
            entries = [
                {"id": str(link.to_id), "type": at.v3_name}
                for link in links[:INLINE_ASSOC_MAX]
                for at in link.types
            ]
            block: dict[str, Any] = {"results": entries}
            if len(links) > INLINE_ASSOC_MAX and req is not None:
                after = str(INLINE_ASSOC_MAX)
                block["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"{req.base_url}/crm/v3/objects/{t.name}/{rid}/associations/{other.assoc_key}?after={after}",
                    }
                }
            out[other.assoc_key] = block
        return out

    def _assoc_types(self, req: Request) -> list[ObjectType]:
        out: list[ObjectType] = []
        for name in req.params("associations"):
            if name.lower() in IGNORED_ASSOCIATION_NAMES:
                continue
            t = self.state.resolve(name)
            if t not in out:
                out.append(t)
        return out

    def _history_props(self, req: Request) -> list[str]:
        return req.params("propertiesWithHistory")

    @staticmethod
    def _int_param(value: str | None, default: int, name: str) -> int:
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise _error(400, "VALIDATION_ERROR", f"Invalid {name}: {value!r}", "") from exc

    # ------------------------------------------------------------------ objects

    def h_list(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        history = self._history_props(req)
        limit = self._int_param(req.param("limit"), 10, "limit")
        maximum = HISTORY_MAX if history else LIST_MAX
        if limit < 1 or limit > maximum:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"limit must be between 1 and {maximum}{' when requesting propertiesWithHistory' if history else ''}",
                "",
            )
        after_raw = req.param("after")
        after = self._int_param(after_raw, 1, "after")
        archived = req.flag("archived")
        offset_raw = req.param("offset")
        if after_raw is None and offset_raw:
            # Airbyte 5.7.0 pages products/line items/goals with ``offset`` (skip N records) on
            # this endpoint; honoured here as an unconfirmed HubSpot behaviour.
            after = store.id_at_offset(self._int_param(offset_raw, 0, "offset"), archived=archived)
        props = req.params("properties")
        plans = store.plans(props if props else t.default_props)
        assoc = self._assoc_types(req)
        if ctx.faults.empty:
            return raw_json(
                f'{{"results":[],"paging":{{"next":{{"after":"{after}",'
                f'"link":{json.dumps(req.link_with("after", str(after)))}}}}}}}'
            )
        ids = store.next_ids(after, limit + 1, archived=archived)
        more = len(ids) > limit
        ids = ids[:limit]
        records = ",".join(self._records_json(t, store, ids, plans, history, assoc, req))
        if more:
            nxt = after if ctx.faults.repeat and after_raw is not None else ids[-1] + 1
            link = req.link_with("after", str(nxt))
            return raw_json(
                f'{{"results":[{records}],"paging":{{"next":{{"after":"{nxt}","link":{json.dumps(link)}}}}}}}'
            )
        return raw_json(f'{{"results":[{records}]}}')

    def _lookup(
        self, t: ObjectType, store: ObjectStore, raw_id: str, id_property: str | None
    ) -> int | None:
        if id_property and id_property != "hs_object_id":
            prop = t.prop(id_property)
            if prop is None or not prop.unique:
                raise _error(
                    400,
                    "VALIDATION_ERROR",
                    f"{id_property} is not a unique property of {t.name}",
                    "",
                )
            if id_property == "email":
                m = re.search(r"(\d+)@", raw_id)
                if m and store.exists(int(m.group(1))):
                    rid = int(m.group(1))
                    if (store.value(rid, "email") or "").lower() == raw_id.lower():
                        return rid
            for rid, ov in store.overrides.items():
                if (ov.get(id_property) or "").lower() == raw_id.lower():
                    return rid
            return None
        try:
            rid = int(raw_id)
        except ValueError:
            return None
        return rid if store.exists(rid) else None

    def h_read(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        raw_id = ctx.route.args["id"]
        rid = self._lookup(t, store, raw_id, req.param("idProperty"))
        if rid is None or store.is_archived(rid) != req.flag("archived"):
            raise self._not_found(raw_id)
        props = req.params("properties")
        plans = store.plans(props if props else t.default_props)
        return raw_json(
            self._record_json(
                t, store, rid, plans, self._history_props(req), self._assoc_types(req), req
            )
        )

    def h_batch_read(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        body = req.json()
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _error(400, "VALIDATION_ERROR", "inputs is required", "")
        history = [str(x) for x in body.get("propertiesWithHistory") or []]
        maximum = HISTORY_MAX if history else BATCH_MAX
        if len(inputs) > maximum:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Batch read is limited to {maximum} inputs, got {len(inputs)}",
                "",
            )
        props = [str(x) for x in body.get("properties") or []]
        plans = store.plans(props if props else t.default_props)
        archived = req.flag("archived")
        started = iso_ms(self.state.now_ms())
        found: list[str] = []
        missing: list[str] = []
        seen: set[int] = set()
        for item in inputs:
            raw = str(item.get("id", "")) if isinstance(item, dict) else str(item)
            rid = self._lookup(t, store, raw, body.get("idProperty"))
            if rid is None or store.is_archived(rid) != archived:
                missing.append(raw)
                continue
            if rid in seen:
                continue
            seen.add(rid)
            found.append(self._record_json(t, store, rid, plans, history, [], None))
        completed = iso_ms(self.state.now_ms())
        head = f'{{"status":"COMPLETE","results":[{",".join(found)}],"startedAt":"{started}","completedAt":"{completed}"'
        if missing:
            err = {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {t.singular.upper()} objects, they may be deleted or not exist. Check that ids are valid.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
            return raw_json(
                head + f',"numErrors":{len(missing)},"errors":[{dumps(err).decode()}]}}', 207
            )
        return raw_json(head + "}")

    def h_search(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        body = req.json()
        page = run_search(store, t, body, self.state.now_ms())
        records = []
        for rid in page.ids:
            props = dumps(store.properties_dict(rid, page.plans, search_view=True)).decode()
            created = iso_ms(int(store.created[rid - 1]))
            updated = iso_ms(int(store.s_updated[rid - 1]))
            records.append(
                f'{{"id":"{rid}","properties":{props},"createdAt":"{created}","updatedAt":"{updated}","archived":false}}'
            )
        out = f'{{"total":{page.total},"results":[{",".join(records)}]'
        if page.next_after is not None:
            out += f',"paging":{{"next":{{"after":"{page.next_after}"}}}}'
        return raw_json(out + "}")

    def _props_from_body(self, t: ObjectType, item: Any) -> dict[str, str | None]:
        if not isinstance(item, dict) or not isinstance(item.get("properties", {}), dict):
            raise _error(400, "VALIDATION_ERROR", "properties must be an object", "")
        props: dict[str, str | None] = {}
        bad = []
        for k, v in item.get("properties", {}).items():
            p = t.prop(k)
            if p is None:
                bad.append(k)
                continue
            if p.read_only:
                bad.append(k)
                continue
            props[k] = (
                None
                if v is None or v == ""
                else (str(v).lower() if isinstance(v, bool) else str(v))
            )
        if bad:
            details = [
                {
                    "isValid": False,
                    "message": f'Property "{k}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": k,
                }
                for k in bad
            ]
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: {json.dumps(details)}",
                "",
                errors=[
                    {
                        "message": d["message"],
                        "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": [d["name"]]},
                    }
                    for d in details
                ],
            )
        return props

    def _full_plans(
        self, store: ObjectStore, t: ObjectType, props: dict[str, str | None]
    ) -> list[PropPlan]:
        return store.plans([*t.default_props, *props])

    def h_create(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        props = self._props_from_body(t, req.json())
        with self.state.lock:
            rid = self.state.create(t.name, props)
        return raw_json(
            self._record_json(t, store, rid, self._full_plans(store, t, props), [], [], None), 201
        )

    def h_update(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        raw_id = ctx.route.args["id"]
        rid = self._lookup(t, store, raw_id, req.param("idProperty"))
        if rid is None or store.is_archived(rid):
            raise self._not_found(raw_id)
        props = self._props_from_body(t, req.json())
        self.state.update(t.name, rid, props)
        return raw_json(
            self._record_json(t, store, rid, self._full_plans(store, t, props), [], [], None)
        )

    def h_archive(self, ctx: Ctx) -> Response:
        t, store = self._type(ctx)
        raw_id = ctx.route.args["id"]
        rid = self._lookup(t, store, raw_id, None)
        if rid is not None and not store.is_archived(rid):
            self.state.archive(t.name, ids=[rid])
        return Response(204, b"", None)

    def h_batch_write(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        op = ctx.route.args["op"]
        inputs = req.json().get("inputs")
        if not isinstance(inputs, list) or len(inputs) > BATCH_MAX:
            raise _error(
                400, "VALIDATION_ERROR", f"inputs must be a list of at most {BATCH_MAX} items", ""
            )
        started = iso_ms(self.state.now_ms())
        if op == "archive":
            ids = []
            for item in inputs:
                rid = (
                    self._lookup(t, store, str(item.get("id", "")), None)
                    if isinstance(item, dict)
                    else None
                )
                if rid is not None:
                    ids.append(rid)
            self.state.archive(t.name, ids=ids)
            return Response(204, b"", None)
        results: list[str] = []
        missing: list[str] = []
        with self.state.lock:
            for item in inputs:
                props = self._props_from_body(t, item)
                if op == "create":
                    rid = self.state.create(t.name, props)
                else:
                    raw = str(item.get("id", ""))
                    found = self._lookup(t, store, raw, item.get("idProperty"))
                    if found is None and op == "upsert":
                        found = self.state.create(t.name, props)
                    elif found is None or store.is_archived(found):
                        missing.append(raw)
                        continue
                    else:
                        self.state.update(t.name, found, props)
                    rid = found
                results.append(
                    self._record_json(
                        t, store, rid, self._full_plans(store, t, props), [], [], None
                    )
                )
        head = f'{{"status":"COMPLETE","results":[{",".join(results)}],"startedAt":"{started}","completedAt":"{iso_ms(self.state.now_ms())}"'
        if missing:
            err = {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Some objects could not be found.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
            return raw_json(
                head + f',"numErrors":{len(missing)},"errors":[{dumps(err).decode()}]}}', 207
            )
        return raw_json(head + "}", 201 if op == "create" else 200)

    # ------------------------------------------------------------------ associations

    def h_assoc_list(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        other = self.state.resolve(ctx.route.args["to"])
        raw_id = ctx.route.args["id"]
        rid = self._lookup(t, store, raw_id, None)
        if rid is None:
            raise self._not_found(raw_id)
        limit = min(self._int_param(req.param("limit"), ASSOC_PAGE, "limit"), ASSOC_PAGE)
        offset = self._int_param(req.param("after"), 0, "after")
        links = self.state.graph.links(t.name, other.name, rid)
        page = links[offset : offset + limit]
        body: dict[str, Any]
        if ctx.route.args.get("version") == "v4" or ctx.route.args.get("version") == "dated":
            body = {
                "results": [
                    {
                        "toObjectId": link.to_id,
                        "associationTypes": [
                            {"category": a.category, "typeId": a.type_id, "label": a.label}
                            for a in link.types
                        ],
                    }
                    for link in page
                ]
            }
        else:
            body = {
                "results": [
                    {"id": str(link.to_id), "type": a.v3_name} for link in page for a in link.types
                ]
            }
        if offset + limit < len(links):
            nxt = str(offset + limit)
            body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
        return json_response(body)

    def _assoc_inputs(self, ctx: Ctx) -> tuple[ObjectType, ObjectType, list[tuple[str, int]]]:
        src = self.state.resolve(ctx.route.args["from"])
        dst = self.state.resolve(ctx.route.args["to"])
        inputs = ctx.req.json().get("inputs")
        if not isinstance(inputs, list):
            raise _error(400, "VALIDATION_ERROR", "inputs is required", "")
        if len(inputs) > ASSOC_BATCH_MAX:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Batch input limit of {ASSOC_BATCH_MAX} exceeded: {len(inputs)} inputs",
                "",
            )
        out: list[tuple[str, int]] = []
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise _error(400, "VALIDATION_ERROR", "each input needs an id", "")
            after = 0
            if item.get("after"):
                try:
                    after = int(base64.urlsafe_b64decode(str(item["after"]).encode()).decode())
                except (ValueError, UnicodeDecodeError) as exc:
                    raise _error(
                        400, "VALIDATION_ERROR", f"invalid after token {item['after']!r}", ""
                    ) from exc
            out.append((str(item["id"]), after))
        return src, dst, out

    def h_assoc_batch_v4(self, ctx: Ctx) -> Response:
        src, dst, inputs = self._assoc_inputs(ctx)
        store = self.state.stores[src.name]
        started = iso_ms(self.state.now_ms())
        results = []
        for raw, after in inputs:
            try:
                rid = int(raw)
            except ValueError:
                continue
            if not store.exists(rid):
                continue
            links = self.state.graph.links(src.name, dst.name, rid)
            if not links:
                continue
            page = links[after : after + ASSOC_PAGE]
            item: dict[str, Any] = {
                "from": {"id": raw},
                "to": [
                    {
                        "toObjectId": link.to_id,
                        "associationTypes": [
                            {"category": a.category, "typeId": a.type_id, "label": a.label}
                            for a in link.types
                        ],
                    }
                    for link in page
                ],
            }
            if after + ASSOC_PAGE < len(links):
                token = base64.urlsafe_b64encode(str(after + ASSOC_PAGE).encode()).decode()
                item["paging"] = {"next": {"after": token, "link": None}}
            results.append(item)
        return json_response(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": started,
                "completedAt": iso_ms(self.state.now_ms()),
            }
        )

    def h_assoc_batch_v3(self, ctx: Ctx) -> Response:
        src, dst, inputs = self._assoc_inputs(ctx)
        store = self.state.stores[src.name]
        started = iso_ms(self.state.now_ms())
        results = []
        for raw, _ in inputs:
            try:
                rid = int(raw)
            except ValueError:
                continue
            if not store.exists(rid):
                continue
            links = self.state.graph.links(src.name, dst.name, rid)
            if links:
                results.append(
                    {
                        "from": {"id": raw},
                        "to": [
                            {"id": str(link.to_id), "type": link.types[-1].v3_name}
                            for link in links
                        ],
                    }
                )
        return json_response(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": started,
                "completedAt": iso_ms(self.state.now_ms()),
            }
        )

    def h_assoc_labels(self, ctx: Ctx) -> Response:
        src = self.state.resolve(ctx.route.args["from"])
        dst = self.state.resolve(ctx.route.args["to"])
        labels = self.state.graph.labels(src.name, dst.name)
        return json_response(
            {
                "results": [
                    {"category": a.category, "typeId": a.type_id, "label": a.label} for a in labels
                ]
            }
        )

    # ------------------------------------------------------------------ properties

    def h_properties(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, _ = self._type(ctx)
        if req.flag("archived"):
            return json_response({"results": []})
        return json_response(
            {"results": [render.property_v3(p, i) for i, p in enumerate(t.properties)]}
        )

    def h_property(self, ctx: Ctx) -> Response:
        t, _ = self._type(ctx)
        name = ctx.route.args["name"]
        p = t.prop(name)
        if p is None:
            raise _error(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find property {name} for object type {t.type_id}",
                "",
            )
        return json_response(render.property_v3(p, t.prop_index[name]))

    def h_property_groups(self, ctx: Ctx) -> Response:
        t, _ = self._type(ctx)
        return json_response({"results": render.property_groups(t)})

    def h_properties_batch(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, _ = self._type(ctx)
        names = [str(i.get("name")) for i in req.json().get("inputs", []) if isinstance(i, dict)]
        started = iso_ms(self.state.now_ms())
        results = [
            render.property_v3(p, t.prop_index[p.name])
            for n in names
            if (p := t.prop(n)) is not None
        ]
        return json_response(
            {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": started}
        )

    def h_legacy_only_properties(self, ctx: Ctx) -> Response:
        defs = LEGACY_ONLY_PROPERTY_SETS[ctx.route.args["set"]]
        return json_response([render.property_legacy(p, i) for i, p in enumerate(defs)])

    def h_properties_legacy(self, ctx: Ctx) -> Response:
        t, _ = self._type(ctx)
        return json_response([render.property_legacy(p, i) for i, p in enumerate(t.properties)])

    # ------------------------------------------------------------------ schemas, owners, pipelines

    def _custom_types(self) -> list[ObjectType]:
        return [t for t in self.state.types.values() if t.custom]

    def h_schemas(self, ctx: Ctx) -> Response:
        req = ctx.req
        if req.flag("archived"):
            return json_response({"results": []})
        return json_response(
            {
                "results": [
                    render.schema(t, self.state.graph, self.state.types, self.state.portal_id)
                    for t in self._custom_types()
                ]
            }
        )

    def h_schema(self, ctx: Ctx) -> Response:
        t = self.state.resolve(ctx.route.args["id"])
        if not t.custom:
            raise _error(
                404, "OBJECT_NOT_FOUND", f"Unable to find schema {ctx.route.args['id']}", ""
            )
        return json_response(
            render.schema(t, self.state.graph, self.state.types, self.state.portal_id)
        )

    # ------------------------------------------------------------------ legacy v1/v2 records

    def h_legacy_paged(self, ctx: Ctx) -> Response:
        req = ctx.req
        t, store = self._type(ctx)
        limit = min(
            max(self._int_param(req.param("limit") or req.param("count"), 100, "limit"), 1), 250
        )
        offset = self._int_param(req.param("offset"), 0, "offset")
        everything = req.flag("includeAllProperties")
        names = None if everything else req.params("properties")
        ids = store.next_ids(offset + 1, limit + 1, archived=False)
        page = ids[:limit]
        records = [
            legacy_record(
                t,
                store,
                self.state.graph,
                self.state.portal_id,
                rid,
                names,
                associations=req.flag("includeAssociations"),
            )
            for rid in page
        ]
        more = len(ids) > limit
        key = "deals" if t.name == "deals" else "companies"
        more_key = "hasMore" if t.name == "deals" else "has-more"
        return json_response({key: records, more_key: more, "offset": page[-1] if page else offset})

    def h_legacy_read(self, ctx: Ctx) -> Response:
        t, store = self._type(ctx)
        raw_id = ctx.route.args["id"]
        rid = self._lookup(t, store, raw_id, None)
        if rid is None or store.is_archived(rid):
            raise self._not_found(raw_id)
        return json_response(
            legacy_record(
                t, store, self.state.graph, self.state.portal_id, rid, None, associations=True
            )
        )

    # ------------------------------------------------------------------ lists

    def _contact_list(self, ctx: Ctx) -> ContactList:
        for cl in self.state.lists:
            if str(cl.list_id) == ctx.route.args["id"]:
                return cl
        raise _error(404, "OBJECT_NOT_FOUND", f"List {ctx.route.args['id']} does not exist", "")

    def h_lists_search(self, ctx: Ctx) -> Response:
        body = ctx.req.json()
        count = int(body.get("count", 20))
        offset = int(body.get("offset", 0))
        if count < 1 or count > 1000:
            raise _error(400, "VALIDATION_ERROR", "count must be between 1 and 1000", "")
        if offset >= 10_000:
            raise _error(400, "VALIDATION_ERROR", "offset must be less than 10000", "")
        query = str(body.get("query") or "").lower()
        types = body.get("processingTypes") or []
        lists = [
            cl
            for cl in self.state.lists
            if query in cl.name.lower() and (not types or cl.processing_type in types)
        ]
        sort = str(body.get("sort") or "")
        if sort.lstrip("-") == "HS_UPDATED_AT":
            lists.sort(key=lambda cl: (cl.updated_ms, cl.list_id), reverse=sort.startswith("-"))
        elif sort.lstrip("-") == "HS_CREATED_AT":
            lists.sort(key=lambda cl: (cl.created_ms, cl.list_id), reverse=sort.startswith("-"))
        store = self.state.stores["contacts"]
        page = lists[offset : offset + count]
        return json_response(
            {
                "lists": [cl.to_json(store) for cl in page],
                "hasMore": offset + count < len(lists),
                "offset": offset + len(page),
                "total": len(lists),
            }
        )

    def h_list_read(self, ctx: Ctx) -> Response:
        return json_response(
            {"list": self._contact_list(ctx).to_json(self.state.stores["contacts"])}
        )

    def h_list_memberships(self, ctx: Ctx) -> Response:
        req = ctx.req
        cl = self._contact_list(ctx)
        limit = self._int_param(req.param("limit"), 100, "limit")
        if limit < 1 or limit > 250:
            raise _error(400, "VALIDATION_ERROR", "limit must be between 1 and 250", "")
        after = self._int_param(req.param("after"), 0, "after")
        store = self.state.stores["contacts"]
        ids = cl.members_from(after, limit + 1, store)
        page = ids[:limit]
        stamp = iso_ms(cl.updated_ms)
        body: dict[str, Any] = {
            "results": [{"recordId": str(r), "membershipTimestamp": stamp} for r in page]
        }
        if len(ids) > limit:
            nxt = str(page[-1])
            body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
        return json_response(body)

    def h_owners(self, ctx: Ctx) -> Response:
        req = ctx.req
        archived = req.flag("archived")
        email = req.param("email")
        limit = self._int_param(req.param("limit"), 100, "limit")
        if limit < 1 or limit > 500:
            raise _error(400, "VALIDATION_ERROR", "limit must be between 1 and 500", "")
        after = self._int_param(req.param("after"), 0, "after")
        owners = [
            o
            for o in self.state.owners
            if o.archived == archived and (email is None or o.email == email)
        ]
        owners = [o for o in owners if o.id >= after]
        page = owners[:limit]
        body: dict[str, Any] = {"results": [render.owner(o) for o in page]}
        if len(owners) > limit:
            nxt = str(owners[limit].id)
            body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
        return json_response(body)

    def h_owner(self, ctx: Ctx) -> Response:
        req = ctx.req
        key = ctx.route.args["id"]
        by_user = req.param("idProperty") == "userId"
        archived = req.flag("archived")
        for o in self.state.owners:
            if (str(o.user_id) if by_user else str(o.id)) == key and o.archived == archived:
                return json_response(render.owner(o))
        raise _error(404, "OBJECT_NOT_FOUND", f"Owner {key} not found", "")

    def _pipelines_for(self, ctx: Ctx) -> tuple[ObjectType, list[Pipeline]]:
        t = self.state.resolve(ctx.route.args["type"])
        return t, [p for p in self.state.pipelines if p.object_type == t.name]

    def h_pipelines(self, ctx: Ctx) -> Response:
        _, pipes = self._pipelines_for(ctx)
        return json_response({"results": [render.pipeline_v3(p) for p in pipes]})

    def _pipeline(self, ctx: Ctx) -> Pipeline:
        _, pipes = self._pipelines_for(ctx)
        for p in pipes:
            if p.id == ctx.route.args["pipeline"]:
                return p
        raise _error(
            404, "OBJECT_NOT_FOUND", f"Pipeline {ctx.route.args['pipeline']} not found", ""
        )

    def h_pipeline(self, ctx: Ctx) -> Response:
        return json_response(render.pipeline_v3(self._pipeline(ctx)))

    def h_pipeline_stages(self, ctx: Ctx) -> Response:
        p = self._pipeline(ctx)
        return json_response(
            {"results": [render.pipeline_stage_v3(p, i) for i in range(len(p.stages))]}
        )

    def h_pipelines_legacy(self, ctx: Ctx) -> Response:
        t, pipes = self._pipelines_for(ctx)
        items = [render.pipeline_legacy(p, t.type_id) for p in pipes]
        return json_response({"results": items} if ctx.route.args.get("wrap") else items)

    # ------------------------------------------------------------------ OAuth

    def _token_error(
        self, status_name: str, message: str, oauth_error: str = "invalid_grant"
    ) -> HttpError:
        return HttpError(
            400,
            {
                "status": status_name,
                "message": message,
                "correlationId": self._correlation(),
                "category": "VALIDATION_ERROR",
                "error": oauth_error,
                "error_description": message,
            },
        )

    def h_token(self, ctx: Ctx) -> Response:
        req = ctx.req
        form = req.form()
        if ctx.route.args["version"] == "v1":
            for k, v in req.query:
                form.setdefault(k, v)
        auth = self.state.auth
        grant = form.get("grant_type", "")
        if form.get("client_id") != auth.client_id:
            raise self._token_error(
                "BAD_CLIENT_ID", "missing or unknown client id", "invalid_client"
            )
        if form.get("client_secret") != auth.client_secret:
            raise self._token_error(
                "BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client"
            )
        now = self.state.now_ms()
        if grant == "refresh_token":
            rt = auth.refresh.get(form.get("refresh_token", ""))
            if rt is None or rt.revoked:
                raise self._token_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        elif grant == "authorization_code":
            code = auth.codes.get(form.get("code", ""))
            if code is None or code.used:
                raise self._token_error("BAD_AUTH_CODE", "missing or invalid auth code")
            if now - code.issued_ms > 10 * 60 * 1000:
                raise self._token_error("EXPIRED_AUTH_CODE", "auth code is expired")
            if form.get("redirect_uri") != code.redirect_uri:
                raise self._token_error(
                    "BAD_REDIRECT_URI", "redirect_uri does not match the authorization request"
                )
            code.used = True
            rt_value = auth.add_refresh_token(code.scopes)
            rt = auth.refresh[rt_value]
        else:
            raise self._token_error(
                "BAD_GRANT_TYPE", f"unsupported grant_type {grant!r}", "unsupported_grant_type"
            )
        at = auth.issue_access(rt, now)
        return json_response(
            {
                "token_type": "bearer",
                "refresh_token": rt.token,
                "access_token": at.token,
                "expires_in": auth.token_ttl_s,
                "hub_id": self.state.portal_id,
                "user_id": USER_ID,
                "scopes": list(rt.scopes),
                "token_use": "access_token",
            }
        )

    def _access_info(self, at: AccessToken) -> dict[str, Any]:
        now = self.state.now_ms()
        remaining = max((at.expires_ms - now) // 1000, 0) if at.kind == "oauth" else 0
        return {
            "token": at.token,
            "user": USER_EMAIL,
            "hub_domain": f"portal-{self.state.portal_id}.hubspot-emulator.test",
            "scopes": list(at.scopes),
            "hub_id": self.state.portal_id,
            "app_id": APP_ID,
            "expires_in": remaining,
            "user_id": USER_ID,
            "token_type": "access",
            "is_private_distribution": False,
            "signed_access_token": {
                "expiresAt": at.expires_ms if at.kind == "oauth" else 0,
                "scopes": "-".join(at.scopes),
                "hubId": self.state.portal_id,
                "userId": USER_ID,
                "appId": APP_ID,
                "isUserLevel": False,
                "isServiceAccount": False,
                "isPrivateDistribution": False,
            },
        }

    def h_access_token_info(self, ctx: Ctx) -> Response:
        at = self.state.auth.access.get(ctx.route.args["token"])
        if (
            at is None
            or at.revoked
            or (at.kind == "oauth" and self.state.now_ms() >= at.expires_ms)
        ):
            raise _error(
                404,
                "OBJECT_NOT_FOUND",
                "access token not found or expired",
                self._correlation(),
            )
        return json_response(self._access_info(at))

    def _refresh_info(self, rt: RefreshToken) -> dict[str, Any]:
        return {
            "token": rt.token,
            "user": USER_EMAIL,
            "hub_domain": f"portal-{self.state.portal_id}.hubspot-emulator.test",
            "scopes": list(rt.scopes),
            "hub_id": self.state.portal_id,
            "client_id": rt.client_id,
            "user_id": USER_ID,
            "token_type": "refresh",
        }

    def h_refresh_token_info(self, ctx: Ctx) -> Response:
        rt = self.state.auth.refresh.get(ctx.route.args["token"])
        if rt is None or rt.revoked:
            raise _error(404, "OBJECT_NOT_FOUND", "refresh token not found", self._correlation())
        return json_response(self._refresh_info(rt))

    def h_refresh_token_delete(self, ctx: Ctx) -> Response:
        rt = self.state.auth.refresh.get(ctx.route.args["token"])
        if rt is None:
            raise _error(404, "OBJECT_NOT_FOUND", "refresh token not found", self._correlation())
        self._revoke_refresh(rt)
        return Response(204, b"", None)

    def _revoke_refresh(self, rt: RefreshToken) -> None:
        rt.revoked = True
        for at in self.state.auth.access.values():
            if at.refresh_token == rt.token:
                at.revoked = True

    def h_introspect(self, ctx: Ctx) -> Response:
        req = ctx.req
        form = req.form()
        auth = self.state.auth
        if (
            form.get("client_id") != auth.client_id
            or form.get("client_secret") != auth.client_secret
        ):
            raise self._token_error(
                "BAD_CLIENT_ID", "missing or unknown client credentials", "invalid_client"
            )
        token = form.get("token", "")
        at = auth.access.get(token)
        now = self.state.now_ms()
        if at is not None and not at.revoked and (at.kind != "oauth" or now < at.expires_ms):
            info = self._access_info(at)
            info.update(active=True, client_id=auth.client_id, token_use="access_token")
            return json_response(info)
        rt = auth.refresh.get(token)
        if rt is not None and not rt.revoked:
            info = self._refresh_info(rt)
            info.update(active=True, token_use="refresh_token")
            return json_response(info)
        return json_response({"active": False})

    def h_revoke(self, ctx: Ctx) -> Response:
        req = ctx.req
        form = req.form()
        auth = self.state.auth
        if (
            form.get("client_id") != auth.client_id
            or form.get("client_secret") != auth.client_secret
        ):
            raise self._token_error(
                "BAD_CLIENT_ID", "missing or unknown client credentials", "invalid_client"
            )
        token = form.get("token", "")
        if token in auth.refresh:
            self._revoke_refresh(auth.refresh[token])
        elif token in auth.access:
            auth.access[token].revoked = True
        return Response(200, b"", None)

    def h_authorize(self, ctx: Ctx) -> Response:
        req = ctx.req
        client_id = req.param("client_id") or ""
        redirect = req.param("redirect_uri") or ""
        if client_id != self.state.auth.client_id or not redirect:
            page = "<!doctype html><title>HubSpot emulator</title><h1>Invalid authorization request</h1><p>Unknown client_id or missing redirect_uri.</p>"
            return Response(400, page.encode(), b"text/html; charset=utf-8")
        scopes = " ".join(
            x for x in [req.param("scope") or "", req.param("optional_scope") or ""] if x
        )
        grant = f"/oauth/authorize/grant?{req.raw_query}"
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Connect to HubSpot (emulator)</title></head>"
            "<body style='font-family:sans-serif;max-width:32rem;margin:3rem auto'>"
            f"<h1>Connect to portal {self.state.portal_id}</h1>"
            f"<p>The app <code>{html.escape(client_id)}</code> requests: <code>{html.escape(scopes or '(default scopes)')}</code></p>"
            f"<form method='post' action='{html.escape(grant)}'><button type='submit'>Grant access</button></form>"
            "</body></html>"
        )
        return Response(200, page.encode(), b"text/html; charset=utf-8")

    def h_authorize_grant(self, ctx: Ctx) -> Response:
        req = ctx.req
        client_id = req.param("client_id") or ""
        redirect = req.param("redirect_uri") or ""
        if client_id != self.state.auth.client_id or not redirect:
            return Response(400, b"invalid authorization request", b"text/plain")
        requested = [
            s
            for s in (
                (req.param("scope") or "") + " " + (req.param("optional_scope") or "")
            ).split()
            if s
        ]
        granted = (
            tuple(s for s in requested if s in self.state.auth.scopes) or self.state.auth.scopes
        )
        code = self.state.auth.issue_code(client_id, redirect, granted, self.state.now_ms())
        params = {"code": code}
        state_value = req.param("state")
        if state_value is not None:
            params["state"] = state_value
        sep = "&" if "?" in redirect else "?"
        return Response(
            302, b"", None, [(b"location", (redirect + sep + urlencode(params)).encode())]
        )

    # ------------------------------------------------------------------ admin

    def info(self) -> dict[str, Any]:
        auth = self.state.auth
        return {
            "portal_id": self.state.portal_id,
            "oauth_client_id": auth.client_id,
            "oauth_client_secret": auth.client_secret,
            "refresh_token": auth.refresh_token,
            "private_app_token": auth.private_app_token,
            "scopes": list(auth.scopes),
            "custom_object": next((t.fully_qualified_name for t in self._custom_types()), None),
            "records": {name: s.size for name, s in self.state.stores.items()},
        }

    def h_admin_info(self, _ctx: Ctx) -> Response:
        return json_response(self.info())

    def h_admin_stats(self, _ctx: Ctx) -> Response:
        return json_response(self.state.stats())

    def h_admin_stats_reset(self, _ctx: Ctx) -> Response:
        self.state.reset_counters()
        return json_response({"ok": True})

    def _admin_ids(self, req: Request) -> tuple[str, int | None, list[int] | None]:
        body = req.json()
        object_type = str(body.get("objectType", "contacts"))
        self.state.resolve(object_type)
        ids = body.get("ids")
        count = body.get("count")
        return (
            object_type,
            int(count) if count is not None else None,
            [int(x) for x in ids] if ids is not None else None,
        )

    def h_admin_touch(self, ctx: Ctx) -> Response:
        req = ctx.req
        object_type, count, ids = self._admin_ids(req)
        touched = self.state.touch(object_type, count, ids)
        return json_response(
            {
                "objectType": object_type,
                "ids": [str(i) for i in touched],
                "at": iso_ms(self.state.now_ms()),
            }
        )

    def h_admin_archive(self, ctx: Ctx) -> Response:
        req = ctx.req
        object_type, count, ids = self._admin_ids(req)
        archived = self.state.archive(object_type, count, ids)
        return json_response(
            {
                "objectType": object_type,
                "ids": [str(i) for i in archived],
                "at": iso_ms(self.state.now_ms()),
            }
        )

    def h_admin_clock(self, ctx: Ctx) -> Response:
        req = ctx.req
        if req.method == "POST":
            body = req.json()
            try:
                if "now" in body:
                    ms = parse_time_ms(str(body["now"]))
                    if ms is None:
                        raise _error(
                            400, "VALIDATION_ERROR", f"cannot parse time {body['now']!r}", ""
                        )
                    self.state.set_time_ms(ms)
                if "advance" in body:
                    self.state.advance(float(body["advance"]))
            except TypeError as exc:
                raise _error(409, "CONFLICT", str(exc), "") from exc
        now = self.state.now_ms()
        return json_response({"now": iso_ms(now), "nowMs": now})

    def h_admin_faults(self, ctx: Ctx) -> Response:
        req = ctx.req
        spec = str(req.json().get("spec", ""))
        self.state.faults.replace(parse_fault_spec(spec))
        return json_response({"spec": spec, "rules": len(self.state.faults.rules)})

    def h_admin_tokens(self, ctx: Ctx) -> Response:
        """Register extra credentials with chosen scopes (to test ``MISSING_SCOPES``)."""
        req = ctx.req
        body = req.json()
        scopes = [str(s) for s in body.get("scopes", [])]
        kind = body.get("kind", "private")
        if kind == "refresh":
            return json_response({"refresh_token": self.state.auth.add_refresh_token(scopes)})
        token = str(body.get("token") or f"pat-na1-{len(self.state.auth.access):08d}-emulator")
        self.state.auth.add_private_token(token, scopes)
        return json_response({"private_app_token": token})


def create_app(
    config: EmulatorConfig | None = None, state: PortalState | None = None
) -> HubSpotEmulatorApp:
    """Build the ASGI app for ``config`` (or around an existing ``state``)."""
    if state is None:
        state = PortalState(config or EmulatorConfig())
    return HubSpotEmulatorApp(state)


__all__ = ["ADMIN_PREFIX", "FaultPlan", "HubSpotEmulatorApp", "create_app"]
