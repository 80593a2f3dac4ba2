"""Tokens, attacked: expired, revoked, issued to another org, presented with another client's API
key, forged or tampered; each is refused with the gateway's code. The token endpoint and the UI
sign-in stop a brute force on a client's secret after a few failures (429 with Retry-After)."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient

from headwater.domain.ids import now_ms
from headwater.services import identity
from headwater.services.context import ServiceContext
from headwater.ui import session as sess
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


def _token(client: TestClient, client_id: str, secret: str):
    return client.post(
        "/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_the_token_endpoint_stops_a_brute_force_per_client_id(
    client: TestClient, ctx: ServiceContext, reliability_counts
) -> None:
    a, b = new_identity(ctx), new_identity(ctx)
    limit = ctx.attempts.max_failures
    for i in range(limit):
        r = _token(client, a.client_id, f"guess-{i}")
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    r = _token(client, a.client_id, "one-more-guess")
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_requests" and r.json()["error_description"]
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= ctx.attempts.window_ms // 1000
    # the right secret is refused too while the client id is locked: guessing gains nothing
    assert _token(client, a.client_id, a.client_secret).status_code == 429
    # other clients are not affected, and tokens already issued keep working
    assert _token(client, b.client_id, b.client_secret).status_code == 200
    assert client.get(URL, headers=a.headers()).status_code == 200
    # a client id that does not exist is limited the same way (no probing for valid ids)
    for i in range(limit):
        assert _token(client, "no-such-client", f"g{i}").status_code == 401
    assert _token(client, "no-such-client", "g").status_code == 429
    # once the window has passed, the right secret works again
    later = ctx.clock() + ctx.attempts.window_ms + 1
    ctx.clock = lambda: later
    try:
        assert _token(client, a.client_id, a.client_secret).status_code == 200
    finally:
        ctx.clock = now_ms
    reliability_counts("rate limits", cases=2 * limit + 6, failures=0)


def test_the_ui_sign_in_stops_a_brute_force_per_client_id(
    client: TestClient, ctx: ServiceContext
) -> None:
    a = new_identity(ctx)

    def sign_in(secret: str):
        pre = client.get("/ui/sign-in").cookies.get(sess.PRE_SESSION_COOKIE) or client.cookies.get(
            sess.PRE_SESSION_COOKIE
        )
        return client.post(
            "/ui/sign-in",
            data={"client_id": a.client_id, "client_secret": secret, "csrf_token": pre},
            follow_redirects=False,
        )

    for i in range(ctx.attempts.max_failures):
        assert sign_in(f"guess-{i}").status_code == 401
    r = sign_in(a.client_secret)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in r.text
    assert sess.SESSION_COOKIE not in r.cookies
    # the token endpoint shares the count: the same client id is locked there too
    assert _token(client, a.client_id, a.client_secret).status_code == 429
