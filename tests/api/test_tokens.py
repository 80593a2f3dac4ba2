"""Tokens, attacked: expired, revoked, issued to another org, presented with another client's API
key, forged or tampered; each is refused with the gateway's code. The token endpoint and the UI
sign-in stop a brute force on a client's secret after a few failures (429 with Retry-After)."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient

from headwater.domain.ids import now_ms
from headwater.services import identity
from headwater.services.context import ServiceContext
from tests.api.helpers import FS
from tests.conftest import Identity, new_identity

URL = f"{FS}/connections"


def gateway_code(client: TestClient, headers: dict[str, str]) -> tuple[int, str]:
    r = client.get(URL, headers=headers)
    return r.status_code, r.json().get("error_code", "") if r.status_code != 200 else ""


def test_each_bad_token_is_refused_with_the_gateway_code(
    client: TestClient, ctx: ServiceContext, reliability_counts
) -> None:
    a = new_identity(ctx)
    b = new_identity(ctx)
    a2_client, a2_secret = identity.create_client(ctx, org_id=a.org_id, name="second")
    a2 = Identity(
        a.org_id,
        a2_client.client_id,
        a2_secret,
        identity.issue_token(
            ctx,
            grant_type="client_credentials",
            client_id=a2_client.client_id,
            client_secret=a2_secret,
            scope=None,
        ).access_token,
    )
    h = a.headers()
    cases: list[tuple[str, dict[str, str], tuple[int, str]]] = [
        ("valid", h, (200, "")),
        (
            "forged random token",
            h | {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"},
            (401, "401013"),
        ),
        (
            "tampered token",
            h | {"Authorization": f"Bearer {a.token[:-2]}{'AA' if a.token[-2:] != 'AA' else 'BB'}"},
            (401, "401013"),
        ),
        (
            "token and key of another org",
            h | {"Authorization": f"Bearer {b.token}", "x-api-key": b.client_id},
            (403, "403025"),
        ),
        (
            "token of another org, own key",
            h | {"Authorization": f"Bearer {b.token}"},
            (403, "403003"),
        ),
        ("another org's header", h | {"x-gw-ims-org-id": b.org_id}, (403, "403025")),
        ("API key of another client of the org", h | {"x-api-key": a2.client_id}, (403, "403003")),
        ("API key of another org's client", h | {"x-api-key": b.client_id}, (403, "403003")),
        ("unknown API key", h | {"x-api-key": "nope"}, (403, "403003")),
        ("basic scheme", h | {"Authorization": f"Basic {a.token}"}, (401, "401013")),
        ("no token", {k: v for k, v in h.items() if k != "Authorization"}, (403, "403010")),
    ]
    failures = []
    for name, headers, want in cases:
        got = gateway_code(client, headers)
        if got != want:
            failures.append(f"{name}: {got}, want {want}")
    # the second client's own token with its own key works; with the first client's key it does not
    assert gateway_code(client, a2.headers()) == (200, "")
    if gateway_code(client, a2.headers() | {"x-api-key": a.client_id}) != (403, "403003"):
        failures.append("token of client 2 with the API key of client 1 accepted")
    # revoked, then expired
    r = client.post("/ims/revoke", data={"token": a2.token})
    assert r.status_code == 200
    if gateway_code(client, a2.headers()) != (401, "401013"):
        failures.append("revoked token accepted")
    later = ctx.clock() + ctx.token_ttl_ms + 1000
    ctx.clock = lambda: later
    try:
        if gateway_code(client, a.headers()) != (401, "401013"):
            failures.append("expired token accepted")
    finally:
        ctx.clock = now_ms
    reliability_counts("tokens", cases=len(cases) + 3, failures=len(failures))
    assert not failures, failures
