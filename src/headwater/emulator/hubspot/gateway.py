"""What HubSpot's edge does before a handler runs: bearer and private-app token checks, scopes, and
the bodies of 429s, injected 5xx faults and Cloudflare's 530."""

from __future__ import annotations

import re

from headwater.emulator.hubspot.auth import AccessToken
from headwater.emulator.hubspot.faults import Faults
from headwater.emulator.hubspot.http import HttpError, Request, Response, dumps
from headwater.emulator.hubspot.limits import Decision
from headwater.emulator.hubspot.routing import Match, bad_type
from headwater.emulator.hubspot.state import PortalState, UnknownObjectTypeError
from headwater.emulator.hubspot.values import iso_ms

PAT_SHAPE = re.compile(r"^pat-[a-z]{2}\d-[0-9a-z-]{8,}$")
AUTH_FAILURE = [(b"x-hubspot-auth-failure", b"401 Unauthorized")]
INVALID_AUTHENTICATION = (
    "Authentication credentials not found. This API supports both API Key and OAuth 2.0 "
    "authentication and you can find more details at "
    "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MISSING_SCOPES = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)


def _bearer(req: Request) -> str:
    header = req.headers.get(b"authorization", b"").decode("latin-1")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def authenticate(state: PortalState, req: Request, match: Match, correlation: str) -> AccessToken:
    """The request's token, or the 401/403/530 HubSpot answers instead."""
    value = _bearer(req)
    at = state.auth.access.get(value) if value else None
    if at is None and value.startswith("pat-") and not PAT_SHAPE.match(value):
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
                "message": INVALID_AUTHENTICATION,
                "correlationId": correlation,
                "category": "INVALID_AUTHENTICATION",
            },
            AUTH_FAILURE,
        )
    now = state.now_ms()
    if at.kind == "oauth" and now >= at.expires_ms:
        ago = (now - at.expires_ms) // 1000
        amount, unit = (ago // 86_400, "day(s)") if ago >= 86_400 else (ago, "second(s)")
        raise HttpError(
            401,
            {
                "status": "error",
                "message": f"The OAuth token used to make this call expired {amount} {unit} ago.",
                "correlationId": correlation,
                "category": "EXPIRED_AUTHENTICATION",
                "context": {"expire time": [iso_ms(at.expires_ms)]},
            },
            AUTH_FAILURE,
        )
    missing = [s for s in required_scopes(state, match) if s not in at.scopes]
    if missing:
        raise HttpError(
            403,
            {
                "status": "error",
                "message": MISSING_SCOPES,
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


def required_scopes(state: PortalState, match: Match) -> list[str]:
    route = match.route
    required: list[str] = []
    if route.scope is not None:
        required.append(route.scope)
    if route.scope_type is not None:
        name = match.args.get(route.scope_type, "")
        try:
            t = state.resolve(name)
        except UnknownObjectTypeError as exc:
            raise bad_type(name) from exc
        required.append(t.write_scope if route.write else t.scope)
    return required


def rate_limited(
    state: PortalState, token: AccessToken, decision: Decision, correlation: str
) -> Response:
    """The 429 for a refusal of the rate limiter, in HubSpot's legacy shape."""
    assert decision.policy is not None
    body = {
        "status": "error",
        "message": decision.message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation,
        "policyName": decision.policy,
        "groupName": state.limiter.group_name(token.app_key, decision.policy),
    }
    headers = (
        [(b"retry-after", str(decision.retry_after_s).encode())] if decision.retry_after_s else []
    )
    return Response(429, dumps(body), headers=headers)


def fault_response(
    state: PortalState, faults: Faults, correlation: str, *, search: bool = False
) -> Response:
    """The answer to an injected status fault (429, 5xx) as HubSpot or its edge would send it."""
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
            "groupName": f"publicapi:oauth-api-calls-{window}:{state.portal_id}",
        }
        headers = [(b"retry-after", b"1")] if faults.retry_after else []
        return Response(429, dumps(body), headers=headers)
    if status == 502:
        return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"text/html")
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
