"""Base connections (``/connections``): the tutorial's create, secrets at rest, body validation,
PATCH with etags, DELETE, and isolation between orgs and sandboxes."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from headwater.services import identity
from headwater.services.context import ServiceContext
from tests.api.helpers import FS, HUBSPOT, TUTORIAL_BODY, assert_flow_error, create
from tests.conftest import Identity, new_identity


def test_tutorial_create_returns_201_id_etag_location(client: TestClient, ident: Identity) -> None:
    r = client.post(f"{FS}/connections", headers=ident.headers(), json=TUTORIAL_BODY)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "etag"}
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    assert body["etag"].startswith('"') and body["etag"].endswith('"')
    assert r.headers["location"].endswith(f"/connections/{body['id']}")

    got = client.get(f"{FS}/connections/{body['id']}", headers=ident.headers())
    assert got.status_code == 200
    items = got.json()["items"]
    assert len(items) == 1
    conn = items[0]
    assert conn["id"] == body["id"]
    assert conn["etag"] == body["etag"] == conn["version"]
    assert conn["connectionSpec"] == {"id": HUBSPOT, "version": "1.0"}
    assert conn["auth"]["specName"] == "Basic Authentication"
    assert conn["auth"]["params"]["clientId"] == "{CLIENT_ID}"
    for secret in ("clientSecret", "accessToken", "refreshToken"):
        assert conn["auth"]["params"][secret] == "********"
    assert conn["imsOrgId"] == ident.org_id
    assert conn["sandboxName"] == "prod"
    assert conn["state"] == "enabled"
    assert isinstance(conn["createdAt"], int) and conn["createdAt"] == conn["updatedAt"]


def test_secrets_are_encrypted_at_rest(
    client: TestClient, ident: Identity, ctx: ServiceContext
) -> None:
    body = json.loads(json.dumps(TUTORIAL_BODY))
    body["auth"]["params"]["clientSecret"] = "super-secret-client-value-123"
    body["auth"]["params"]["refreshToken"] = "refresh-token-value-456"
    r = client.post(f"{FS}/connections", headers=ident.headers(), json=body)
    assert r.status_code == 201
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT doc, secrets FROM resources WHERE id = :i"), {"i": r.json()["id"]}
        ).all()
    assert len(rows) == 1
    doc, blob = rows[0]
    raw = doc.encode() + bytes(blob)
    assert b"super-secret-client-value-123" not in raw
    assert b"refresh-token-value-456" not in raw
    assert b"{CLIENT_ID}" in raw  # the public field is stored as is
    listing = client.get(f"{FS}/connections", headers=ident.headers()).text
    assert "super-secret" not in listing and "refresh-token-value" not in listing


@pytest.mark.parametrize(
    ("mutate", "status", "code", "fields"),
    [
        (lambda b: b["auth"].update(specName="OAuth 9"), 400, "1415", []),
        (
            lambda b: b["connectionSpec"].update(id="00000000-0000-0000-0000-000000000000"),
            400,
            "1413",
            [],
        ),
        (
            lambda b: b["auth"]["params"].pop("refreshToken"),
            400,
            "1455",
            ["auth.params.refreshToken"],
        ),
        (
            lambda b: (
                b["auth"]["params"].pop("clientId"),
                b["auth"]["params"].update(accessToken=5),
            ),
            400,
            "1455",
            ["auth.params.clientId", "auth.params.accessToken"],
        ),
        (lambda b: b["auth"]["params"].update(bogus="x"), 400, "1455", ["auth.params.bogus"]),
        (lambda b: b.update(unknownField=1), 400, "1455", ["unknownField"]),
        (lambda b: b.pop("connectionSpec"), 400, "1455", ["connectionSpec"]),
    ],
)
def test_create_rejects_bad_bodies(client, ident, mutate, status, code, fields) -> None:
    body = json.loads(json.dumps(TUTORIAL_BODY))
    mutate(body)
    r = client.post(f"{FS}/connections", headers=ident.headers(), json=body)
    err = assert_flow_error(r, status, code)
    named = {d["field"] for d in err["report"].get("details", [])}
    for f in fields:
        assert f in named, err
        assert f in err["errorMessage"]


def test_patch_and_delete(client: TestClient, ident: Identity) -> None:
    made = create(client, ident)
    url = f"{FS}/connections/{made['id']}"
    h = ident.headers()
    ops = [{"op": "Replace", "path": "/name", "value": "renamed"}]
    assert_flow_error(client.patch(url, headers=h, json=ops), 400, "1403")
    assert_flow_error(client.patch(url, headers=h | {"If-Match": '"stale"'}, json=ops), 412, "1404")
    assert_flow_error(
        client.patch(
            url,
            headers=h | {"If-Match": made["etag"]},
            json=[{"op": "replace", "path": "/connectionSpec/id", "value": "x"}],
        ),
        400,
        "1414",
    )
    assert_flow_error(
        client.patch(
            url,
            headers=h | {"If-Match": made["etag"]},
            json=[{"op": "move", "from": "/name", "path": "/description"}],
        ),
        400,
        "1434",
    )
    assert_flow_error(
        client.patch(
            url, headers=h | {"If-Match": made["etag"]}, json=[{"op": "remove", "path": "/nosuch"}]
        ),
        400,
        "1455",
    )

    before = client.get(url, headers=h).json()["items"][0]
    r = client.patch(url, headers=h | {"if-match": made["etag"]}, json=ops)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == made["id"] and r.json()["etag"] != made["etag"]
    after = client.get(url, headers=h).json()["items"][0]
    assert after["name"] == "renamed"
    assert after["etag"] == r.json()["etag"]
    assert after["updatedAt"] > before["updatedAt"]
    # unquoted etag works too; trailing slash path
    r2 = client.patch(
        url + "/",
        headers=h | {"If-Match": after["etag"].strip('"')},
        json=[{"op": "add", "path": "/description", "value": "d"}],
    )
    assert r2.status_code == 200, r2.text
    # the old etag is stale now
    assert_flow_error(
        client.patch(url, headers=h | {"If-Match": made["etag"]}, json=ops), 412, "1404"
    )

    # rotate credentials wholesale
    cur = client.get(url, headers=h).json()["items"][0]
    new_params = {
        "clientId": "cid2",
        "clientSecret": "s2",
        "accessToken": "a2",
        "refreshToken": "r2",
    }
    r3 = client.patch(
        url,
        headers=h | {"If-Match": cur["etag"]},
        json=[{"op": "replace", "path": "/auth/params", "value": new_params}],
    )
    assert r3.status_code == 200, r3.text
    got = client.get(url, headers=h).json()["items"][0]
    assert got["auth"]["params"]["clientId"] == "cid2"
    assert got["auth"]["params"]["clientSecret"] == "********"
    # invalid replacement is refused with the field named
    bad = client.patch(
        url,
        headers=h | {"If-Match": got["etag"]},
        json=[{"op": "replace", "path": "/auth/params", "value": {"clientId": "x"}}],
    )
    err = assert_flow_error(bad, 400, "1455")
    assert "auth.params.refreshToken" in err["errorMessage"]

    assert client.delete(url, headers=h).status_code == 204
    assert_flow_error(client.get(url, headers=h), 404, "1101")
    assert client.delete(url + "/", headers=h).status_code == 404


def test_tenancy_isolation(client: TestClient, ident: Identity, ctx: ServiceContext) -> None:
    made = create(client, ident)
    other = new_identity(ctx)
    r = client.get(f"{FS}/connections/{made['id']}", headers=other.headers())
    assert_flow_error(r, 404, "1101")
    identity.create_sandbox(ctx, org_id=ident.org_id, name="dev1")
    client.app.state.gateway.forget()
    r = client.get(f"{FS}/connections/{made['id']}", headers=ident.headers("dev1"))
    assert_flow_error(r, 404, "1101")
    assert client.get(f"{FS}/connections", headers=ident.headers("dev1")).json()["items"] == []
    r = client.delete(f"{FS}/connections/{made['id']}", headers=other.headers())
    assert r.status_code == 404
    r = client.patch(
        f"{FS}/connections/{made['id']}",
        headers=other.headers() | {"If-Match": made["etag"]},
        json=[{"op": "replace", "path": "/name", "value": "x"}],
    )
    assert r.status_code == 404
