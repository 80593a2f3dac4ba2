"""OAuth: the token endpoint (v1, v3, dated), introspect and revoke, token metadata, and the consent
page that stands in for ``app.hubspot.com/oauth/authorize``."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from headwater.emulator.hubspot.auth import APP_ID, USER_EMAIL, USER_ID, AccessToken, RefreshToken
from headwater.emulator.hubspot.http import HttpError, Response, json_response
from headwater.emulator.hubspot.routing import Ctx, Handler, Route, RouteTable, error
from headwater.emulator.hubspot.state import PortalState

AUTH_CODE_TTL_MS = 10 * 60 * 1000
TOKEN_VERSIONS = "v1|v3|YYYY-MM"
V3_VERSIONS = "v3|YYYY-MM"


def _token_error(
    ctx: Ctx, status_name: str, message: str, oauth_error: str = "invalid_grant"
) -> HttpError:
    """The token endpoint's 400: HubSpot's flat ``status`` plus the OAuth ``error`` fields."""
    return HttpError(
        400,
        {
            "status": status_name,
            "message": message,
            "correlationId": ctx.correlation,
            "category": "VALIDATION_ERROR",
            "error": oauth_error,
            "error_description": message,
        },
    )


def _check_client(ctx: Ctx, form: dict[str, str]) -> None:
    auth = ctx.state.auth
    if form.get("client_id") != auth.client_id or form.get("client_secret") != auth.client_secret:
        raise _token_error(
            ctx, "BAD_CLIENT_ID", "missing or unknown client credentials", "invalid_client"
        )


def h_token(ctx: Ctx) -> Response:
    req = ctx.req
    form = req.form()
    if ctx.args["version"] == "v1":
        for k, v in req.query:
            form.setdefault(k, v)
    auth = ctx.state.auth
    grant = form.get("grant_type", "")
    if form.get("client_id") != auth.client_id:
        raise _token_error(ctx, "BAD_CLIENT_ID", "missing or unknown client id", "invalid_client")
    if form.get("client_secret") != auth.client_secret:
        raise _token_error(
            ctx, "BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client"
        )
    now = ctx.state.now_ms()
    if grant == "refresh_token":
        rt = auth.refresh.get(form.get("refresh_token", ""))
        if rt is None or rt.revoked:
            raise _token_error(ctx, "BAD_REFRESH_TOKEN", "missing or invalid refresh token")
    elif grant == "authorization_code":
        code = auth.codes.get(form.get("code", ""))
        if code is None or code.used:
            raise _token_error(ctx, "BAD_AUTH_CODE", "missing or invalid auth code")
        if now - code.issued_ms > AUTH_CODE_TTL_MS:
            raise _token_error(ctx, "EXPIRED_AUTH_CODE", "auth code is expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _token_error(
                ctx, "BAD_REDIRECT_URI", "redirect_uri does not match the authorization request"
            )
        code.used = True
        rt = auth.refresh[auth.add_refresh_token(code.scopes)]
    else:
        raise _token_error(
            ctx, "BAD_GRANT_TYPE", f"unsupported grant_type {grant!r}", "unsupported_grant_type"
        )
    at = auth.issue_access(rt, now)
    return json_response(
        {
            "token_type": "bearer",
            "refresh_token": rt.token,
            "access_token": at.token,
            "expires_in": auth.token_ttl_s,
            "hub_id": ctx.state.portal_id,
            "user_id": USER_ID,
            "scopes": list(rt.scopes),
            "token_use": "access_token",
        }
    )


def _hub_domain(state: PortalState) -> str:
    return f"portal-{state.portal_id}.hubspot-emulator.test"


def _live(state: PortalState, at: AccessToken | None) -> bool:
    return (
        at is not None and not at.revoked and (at.kind != "oauth" or state.now_ms() < at.expires_ms)
    )


def access_info(state: PortalState, at: AccessToken) -> dict[str, Any]:
    remaining = max((at.expires_ms - state.now_ms()) // 1000, 0) if at.kind == "oauth" else 0
    return {
        "token": at.token,
        "user": USER_EMAIL,
        "hub_domain": _hub_domain(state),
        "scopes": list(at.scopes),
        "hub_id": state.portal_id,
        "app_id": APP_ID,
        "expires_in": remaining,
        "user_id": USER_ID,
        "token_type": "access",
        "is_private_distribution": False,
        "signed_access_token": {
            "expiresAt": at.expires_ms if at.kind == "oauth" else 0,
            "scopes": "-".join(at.scopes),
            "hubId": state.portal_id,
            "userId": USER_ID,
            "appId": APP_ID,
            "isUserLevel": False,
            "isServiceAccount": False,
            "isPrivateDistribution": False,
        },
    }


def refresh_info(state: PortalState, rt: RefreshToken) -> dict[str, Any]:
    return {
        "token": rt.token,
        "user": USER_EMAIL,
        "hub_domain": _hub_domain(state),
        "scopes": list(rt.scopes),
        "hub_id": state.portal_id,
        "client_id": rt.client_id,
        "user_id": USER_ID,
        "token_type": "refresh",
    }


def h_access_token_info(ctx: Ctx) -> Response:
    at = ctx.state.auth.access.get(ctx.args["token"])
    if at is None or not _live(ctx.state, at):
        raise error(404, "OBJECT_NOT_FOUND", "access token not found or expired")
    return json_response(access_info(ctx.state, at))


def h_refresh_token_info(ctx: Ctx) -> Response:
    rt = ctx.state.auth.refresh.get(ctx.args["token"])
    if rt is None or rt.revoked:
        raise error(404, "OBJECT_NOT_FOUND", "refresh token not found")
    return json_response(refresh_info(ctx.state, rt))


def _revoke_refresh(state: PortalState, rt: RefreshToken) -> None:
    rt.revoked = True
    for at in state.auth.access.values():
        if at.refresh_token == rt.token:
            at.revoked = True


def h_refresh_token_delete(ctx: Ctx) -> Response:
    rt = ctx.state.auth.refresh.get(ctx.args["token"])
    if rt is None:
        raise error(404, "OBJECT_NOT_FOUND", "refresh token not found")
    _revoke_refresh(ctx.state, rt)
    return Response(204, b"", None)


def h_introspect(ctx: Ctx) -> Response:
    form = ctx.req.form()
    _check_client(ctx, form)
    auth = ctx.state.auth
    token = form.get("token", "")
    at = auth.access.get(token)
    if at is not None and _live(ctx.state, at):
        info = access_info(ctx.state, at)
        info.update(active=True, client_id=auth.client_id, token_use="access_token")
        return json_response(info)
    rt = auth.refresh.get(token)
    if rt is not None and not rt.revoked:
        info = refresh_info(ctx.state, rt)
        info.update(active=True, token_use="refresh_token")
        return json_response(info)
    return json_response({"active": False})


def h_revoke(ctx: Ctx) -> Response:
    form = ctx.req.form()
    _check_client(ctx, form)
    auth = ctx.state.auth
    token = form.get("token", "")
    if token in auth.refresh:
        _revoke_refresh(ctx.state, auth.refresh[token])
    elif token in auth.access:
        auth.access[token].revoked = True
    return Response(200, b"", None)


def h_authorize(ctx: Ctx) -> Response:
    req = ctx.req
    client_id = req.param("client_id") or ""
    redirect = req.param("redirect_uri") or ""
    if client_id != ctx.state.auth.client_id or not redirect:
        page = (
            "<!doctype html><title>HubSpot emulator</title><h1>Invalid authorization request</h1>"
            "<p>Unknown client_id or missing redirect_uri.</p>"
        )
        return Response(400, page.encode(), b"text/html; charset=utf-8")
    scopes = " ".join(x for x in [req.param("scope") or "", req.param("optional_scope") or ""] if x)
    grant = f"/oauth/authorize/grant?{req.raw_query}"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Connect to HubSpot (emulator)</title></head>"
        "<body style='font-family:sans-serif;max-width:32rem;margin:3rem auto'>"
        f"<h1>Connect to portal {ctx.state.portal_id}</h1>"
        f"<p>The app <code>{html.escape(client_id)}</code> requests: <code>{html.escape(scopes or '(default scopes)')}</code></p>"
        f"<form method='post' action='{html.escape(grant)}'><button type='submit'>Grant access</button></form>"
        "</body></html>"
    )
    return Response(200, page.encode(), b"text/html; charset=utf-8")


def h_authorize_grant(ctx: Ctx) -> Response:
    req = ctx.req
    auth = ctx.state.auth
    client_id = req.param("client_id") or ""
    redirect = req.param("redirect_uri") or ""
    if client_id != auth.client_id or not redirect:
        return Response(400, b"invalid authorization request", b"text/plain")
    requested = ((req.param("scope") or "") + " " + (req.param("optional_scope") or "")).split()
    granted = tuple(s for s in requested if s in auth.scopes) or auth.scopes
    code = auth.issue_code(client_id, redirect, granted, ctx.state.now_ms())
    params = {"code": code}
    state_value = req.param("state")
    if state_value is not None:
        params["state"] = state_value
    sep = "&" if "?" in redirect else "?"
    location = (redirect + sep + urlencode(params)).encode()
    return Response(302, b"", None, [(b"location", location)])


def _open(method: str, path: str, handler: Handler, endpoint: str) -> Route:
    """An OAuth route: no bearer token, the client authenticates in the form."""
    return Route(method, path, handler, endpoint, auth=False)


ROUTES: RouteTable = (
    _open("GET", "/oauth/authorize", h_authorize, "oauth.authorize"),
    _open("GET|POST", "/oauth/authorize/grant", h_authorize_grant, "oauth.authorize"),
    _open("POST", "/oauth/{version:" + TOKEN_VERSIONS + "}/token", h_token, "oauth.token"),
    _open(
        "POST",
        "/oauth/{version:" + V3_VERSIONS + "}/token/introspect",
        h_introspect,
        "oauth.introspect",
    ),
    _open("POST", "/oauth/{version:" + V3_VERSIONS + "}/token/revoke", h_revoke, "oauth.revoke"),
    _open("GET", "/oauth/v1/access-tokens/{token}", h_access_token_info, "oauth.access_token_info"),
    _open(
        "GET", "/oauth/v1/refresh-tokens/{token}", h_refresh_token_info, "oauth.refresh_token_info"
    ),
    _open(
        "DELETE",
        "/oauth/v1/refresh-tokens/{token}",
        h_refresh_token_delete,
        "oauth.refresh_token_delete",
    ),
)
