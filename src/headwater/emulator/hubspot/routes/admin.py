"""The admin prefix ``/_emulator``: out-of-process control of the emulated portal (credentials, request
counters, touches and archives, the clock, the fault plan, extra tokens). None of it exists at
HubSpot; it needs no token and the fault plan never applies to it."""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot.faults import parse_fault_spec
from headwater.emulator.hubspot.http import Request, Response, json_response
from headwater.emulator.hubspot.routes.metadata import custom_types
from headwater.emulator.hubspot.routing import Ctx, Handler, Route, RouteTable, error
from headwater.emulator.hubspot.state import PortalState
from headwater.emulator.hubspot.values import iso_ms, parse_time_ms

ADMIN_PREFIX = "/_emulator"


def portal_info(state: PortalState) -> dict[str, Any]:
    """Base credentials and record counts, live and archived (``/_emulator/info`` and the CLI's
    ready line)."""
    auth = state.auth
    return {
        "portal_id": state.portal_id,
        "oauth_client_id": auth.client_id,
        "oauth_client_secret": auth.client_secret,
        "refresh_token": auth.refresh_token,
        "private_app_token": auth.private_app_token,
        "service_key": auth.service_key,
        "scopes": list(auth.scopes),
        "custom_object": next((t.fully_qualified_name for t in custom_types(state)), None),
        **state.record_counts(),
    }


def h_info(ctx: Ctx) -> Response:
    return json_response(portal_info(ctx.state))


def h_stats(ctx: Ctx) -> Response:
    return json_response(ctx.state.stats())


def h_stats_reset(ctx: Ctx) -> Response:
    ctx.state.reset_counters()
    return json_response({"ok": True})


def _ids(state: PortalState, req: Request) -> tuple[str, int | None, list[int] | None]:
    body = req.json()
    object_type = str(body.get("objectType", "contacts"))
    state.resolve(object_type)
    ids = body.get("ids")
    count = body.get("count")
    return (
        object_type,
        int(count) if count is not None else None,
        [int(x) for x in ids] if ids is not None else None,
    )


def _changed(ctx: Ctx, object_type: str, ids: list[int]) -> Response:
    return json_response(
        {
            "objectType": object_type,
            "ids": [str(i) for i in ids],
            "at": iso_ms(ctx.state.now_ms()),
        }
    )


def h_touch(ctx: Ctx) -> Response:
    object_type, count, ids = _ids(ctx.state, ctx.req)
    return _changed(ctx, object_type, ctx.state.touch(object_type, count, ids))


def h_archive(ctx: Ctx) -> Response:
    object_type, count, ids = _ids(ctx.state, ctx.req)
    return _changed(ctx, object_type, ctx.state.archive(object_type, count, ids))


def h_clock(ctx: Ctx) -> Response:
    state = ctx.state
    if ctx.req.method == "POST":
        body = ctx.req.json()
        try:
            if "now" in body:
                ms = parse_time_ms(str(body["now"]))
                if ms is None:
                    raise error(400, "VALIDATION_ERROR", f"cannot parse time {body['now']!r}")
                state.set_time_ms(ms)
            if "advance" in body:
                state.advance(float(body["advance"]))
        except TypeError as exc:
            raise error(409, "CONFLICT", str(exc)) from exc
    now = state.now_ms()
    return json_response({"now": iso_ms(now), "nowMs": now})


def h_marketing(ctx: Ctx) -> Response:
    """Row counts of the lists and marketing tables as of now (builds the marketing data)."""
    state = ctx.state
    store = state.stores["contacts"]
    return json_response(
        {
            "lists": len(state.lists),
            "list_memberships": sum(
                len(cl.members_from(0, store.size, store)) for cl in state.lists
            ),
            **state.marketing.counts(state.now_ms()),
        }
    )


def h_faults(ctx: Ctx) -> Response:
    spec = str(ctx.req.json().get("spec", ""))
    ctx.state.faults.replace(parse_fault_spec(spec))
    return json_response({"spec": spec, "rules": len(ctx.state.faults.rules)})


def h_tokens(ctx: Ctx) -> Response:
    """Register extra credentials with chosen scopes (to test ``MISSING_SCOPES``)."""
    auth = ctx.state.auth
    body = ctx.req.json()
    scopes = [str(s) for s in body.get("scopes", [])]
    if body.get("kind", "private") == "refresh":
        return json_response({"refresh_token": auth.add_refresh_token(scopes)})
    token = str(body.get("token") or f"pat-na1-{len(auth.access):08d}-emulator")
    auth.add_private_token(token, scopes)
    return json_response({"private_app_token": token})


def h_service_keys(ctx: Ctx) -> Response:
    """Issue a service key with the chosen scopes (all of the portal's when none are given)."""
    body = ctx.req.json()
    scopes = body.get("scopes")
    chosen = [str(s) for s in scopes] if isinstance(scopes, list) else list(ctx.state.auth.scopes)
    at = ctx.state.auth.add_service_key(chosen)
    return json_response({"service_key": at.token, "scopes": list(at.scopes)})


def h_service_key_revoke(ctx: Ctx) -> Response:
    at = ctx.state.auth.access.get(str(ctx.req.json().get("service_key", "")))
    if at is None or at.kind != "service_key":
        raise error(404, "OBJECT_NOT_FOUND", "no such service key")
    at.revoked = True
    return json_response({"revoked": True})


def _admin(method: str, name: str, handler: Handler) -> Route:
    return Route(
        method,
        f"{ADMIN_PREFIX}/{name}",
        handler,
        "admin." + name.replace("/", "_"),
        auth=False,
        faults=False,
    )


ROUTES: RouteTable = (
    _admin("GET", "info", h_info),
    _admin("GET", "marketing", h_marketing),
    _admin("GET", "stats", h_stats),
    _admin("POST", "stats/reset", h_stats_reset),
    _admin("POST", "touch", h_touch),
    _admin("POST", "archive", h_archive),
    _admin("GET|POST", "clock", h_clock),
    _admin("POST", "faults", h_faults),
    _admin("POST", "tokens", h_tokens),
    _admin("POST", "service-keys", h_service_keys),
    _admin("POST", "service-keys/revoke", h_service_key_revoke),
)
