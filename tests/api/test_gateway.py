"""The gateway in front of every ``/data/foundation`` route (``api/middleware.py``): credentials,
org and sandbox headers, expired and revoked tokens, JSON bodies and their size."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from headwater.domain.ids import now_ms
from headwater.services.context import ServiceContext
from tests.api.helpers import FS, TUTORIAL_BODY, assert_flow_error
from tests.conftest import Identity, new_identity


def test_gateway_checks(client: TestClient, ident: Identity, ctx: ServiceContext) -> None:
    url = f"{FS}/connections"
    h = ident.headers()

    def without(name: str) -> dict[str, str]:
        return {k: v for k, v in h.items() if k != name}

    r = client.get(url, headers=without("Authorization"))
    assert (r.status_code, r.json()["error_code"]) == (403, "403010")
    r = client.get(url, headers=h | {"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["error_code"]) == (401, "401013")
    r = client.get(url, headers=without("x-api-key"))
    assert (r.status_code, r.json()["error_code"]) == (403, "403000")
    r = client.get(url, headers=h | {"x-api-key": "unknown"})
    assert (r.status_code, r.json()["error_code"]) == (403, "403003")
    r = client.get(url, headers=without("x-gw-ims-org-id"))
    assert (r.status_code, r.json()["error_code"]) == (400, "400003")
    other = new_identity(ctx)
    r = client.get(url, headers=h | {"x-gw-ims-org-id": other.org_id})
    assert (r.status_code, r.json()["error_code"]) == (403, "403025")
    r = client.get(url, headers=h | {"x-sandbox-name": "nosuch"})
    assert_flow_error(r, 404, "2100")
    r = client.get(url, headers=ident.headers(sandbox=None))
    assert r.status_code == 200
    # a bad body does not get past a missing token
    r = client.post(
        url, headers=without("Authorization") | {"Content-Type": "text/plain"}, content=b"x"
    )
    assert r.status_code == 403


def test_expired_and_revoked_tokens(client: TestClient, ctx: ServiceContext) -> None:
    ident = new_identity(ctx)
    assert client.get(f"{FS}/connections", headers=ident.headers()).status_code == 200
    r = client.post("/ims/revoke", data={"token": ident.token})
    assert r.status_code == 200
    r = client.get(f"{FS}/connections", headers=ident.headers())
    assert (r.status_code, r.json()["error_code"]) == (401, "401013")

    ident2 = new_identity(ctx)
    later = ctx.clock() + 25 * 3600 * 1000
    ctx.clock = lambda: later
    try:
        r = client.get(f"{FS}/connections", headers=ident2.headers())
        assert (r.status_code, r.json()["error_code"]) == (401, "401013")
    finally:
        ctx.clock = now_ms


def test_bodies_must_be_json_objects_within_the_size_limit(
    client: TestClient, ident: Identity
) -> None:
    h = ident.headers() | {"Content-Type": "application/json"}
    r = client.post(f"{FS}/connections", headers=h, content=b"{not json")
    assert_flow_error(r, 400, "1100")
    assert "not valid JSON" in r.json()["errorMessage"]

    r = client.post(
        f"{FS}/connections",
        headers=ident.headers() | {"Content-Type": "text/plain"},
        content=json.dumps(TUTORIAL_BODY),
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "A valid content-type must be specified"

    r = client.post(f"{FS}/connections", headers=ident.headers(), content=json.dumps(TUTORIAL_BODY))
    assert r.status_code == 400  # no Content-Type at all

    huge = json.dumps({**TUTORIAL_BODY, "description": "x" * (1024 * 1024)})
    r = client.post(f"{FS}/connections", headers=h, content=huge)
    assert_flow_error(r, 413, "1405")

    r = client.post(f"{FS}/connections", headers=h, content=b"")
    assert_flow_error(r, 400, "1405")
    r = client.post(f"{FS}/connections", headers=h, content=b"[1,2]")
    assert r.status_code == 400
