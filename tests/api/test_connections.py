"""The tutorial's base-connection flow and the Flow Service contract for /connections."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from headwater.services.context import ServiceContext
from tests.conftest import Identity, new_identity

FS = "/data/foundation/flowservice"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
TUTORIAL_BODY = {
    "name": "connection for HubSpot",
    "description": "connection for HubSpot",
    "auth": {
        "specName": "Basic Authentication",
        "params": {
            "clientId": "{CLIENT_ID}",
            "clientSecret": "{CLIENT_SECRET}",
            "accessToken": "{ACCESS_TOKEN}",
            "refreshToken": "{REFRESH_TOKEN}",
        },
    },
    "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
}


def create(client: TestClient, ident: Identity, **overrides: object) -> dict:
    body = json.loads(json.dumps(TUTORIAL_BODY))
    body.update(overrides)
    r = client.post(f"{FS}/connections", headers=ident.headers(), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def assert_flow_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"].endswith(f"FLOW-{code}-{status}"), body
    assert body["status"] == status
    assert isinstance(body["report"]["detailed-message"], str)
    assert body["errorMessage"]
    assert body["title"]
    return body


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


def test_create_rejects_non_json_wrong_type_and_huge_bodies(
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
        from headwater.domain.ids import now_ms

        ctx.clock = now_ms


def test_ims_token_endpoint(client: TestClient, ident: Identity) -> None:
    r = client.post(
        "/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": ident.client_id,
            "client_secret": ident.client_secret,
            "scope": "openid,AdobeID",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert (
        client.get(
            f"{FS}/connections",
            headers=ident.headers() | {"Authorization": f"Bearer {body['access_token']}"},
        ).status_code
        == 200
    )
    r = client.post(
        "/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": ident.client_id,
            "client_secret": "wrong",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post("/ims/token/v3", data={"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_tenancy_isolation(client: TestClient, ident: Identity, ctx: ServiceContext) -> None:
    from headwater.services import identity

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


def test_list_paging_tokens_and_links(client: TestClient, ident: Identity) -> None:
    ids = [create(client, ident, name=f"conn-{i}")["id"] for i in range(5)]
    seen: list[str] = []
    r = client.get(f"{FS}/connections", params={"limit": 2}, headers=ident.headers())
    pages = 0
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert "_links" in body
        pages += 1
        seen += [c["id"] for c in body["items"]]
        nxt = body["_links"].get("next")
        if not nxt:
            assert body["_links"] == {}
            break
        href = nxt["href"]
        assert href.startswith("/connections?continuationToken=")
        token = href.split("continuationToken=", 1)[1]
        assert "&" not in token and "=" not in token and "%" not in token
        # aepp getFlows style: the token alone
        r = client.get(f"{FS}{href}", headers=ident.headers())
    assert seen == ids and pages == 3
    # aepp getConnections style: original params re-sent with the token, limit twice
    first = client.get(f"{FS}/connections?limit=2", headers=ident.headers()).json()
    tok = first["_links"]["next"]["href"].split("=", 1)[1]
    r = client.get(
        f"{FS}/connections?limit=2&count=False&continuationToken={tok}&limit=2",
        headers=ident.headers(),
    )
    assert [c["id"] for c in r.json()["items"]] == ids[2:4]


def test_list_filters_orderby_count(client: TestClient, ident: Identity) -> None:
    a = create(client, ident, name="alpha")["id"]
    b = create(client, ident, name="beta")["id"]
    c = create(client, ident, name="gamma", description="third")["id"]
    h = ident.headers()

    def names(**params) -> list[str]:
        r = client.get(f"{FS}/connections", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["items"]]

    assert names(property='name=="beta"') == ["beta"]
    assert names(property="name==alpha,gamma") == ["alpha", "gamma"]
    assert names(property="name!=beta") == ["alpha", "gamma"]
    assert names(property=f"id=={a},{c}") == ["alpha", "gamma"]
    assert names(property=["name!=alpha", "description==third"]) == ["gamma"]
    assert names(property="connectionSpec.id==" + HUBSPOT) == ["alpha", "beta", "gamma"]
    assert names(property="auth.params.clientId=={CLIENT_ID}", orderby="-name") == [
        "gamma",
        "beta",
        "alpha",
    ]
    created = client.get(f"{FS}/connections/{b}", headers=h).json()["items"][0]["createdAt"]
    assert set(names(property=f"createdAt>={created}")) >= {"beta", "gamma"}
    assert names(property=f"createdAt<={created}", orderby="+name")[-1] == "beta"
    assert names(orderby="name") == ["alpha", "beta", "gamma"]
    assert names(orderby="-createdAt") == ["gamma", "beta", "alpha"]

    r = client.get(f"{FS}/connections", params={"count": "true"}, headers=h)
    assert r.json() == {"count": 3}
    r = client.get(
        f"{FS}/connections", params={"count": "True", "property": "name==alpha"}, headers=h
    )
    assert r.json() == {"count": 1}
    assert_flow_error(
        client.get(f"{FS}/connections", params={"count": "true", "limit": 2}, headers=h),
        400,
        "1401",
    )
    assert (
        client.get(
            f"{FS}/connections", params={"count": "False", "limit": 2}, headers=h
        ).status_code
        == 200
    )

    for bad, code in [
        ("name~alp", "1440"),
        ("createdAt<=1,2", "1443"),
        ("id>=x", "1448"),
        ("nosuchfield==1", "1449"),
        ("name!>1", "1450"),
        ("createdAt==", "1453"),
    ]:
        assert_flow_error(
            client.get(f"{FS}/connections", params={"property": bad}, headers=h), 400, code
        )
    assert_flow_error(
        client.get(f"{FS}/connections", params={"orderby": "*name"}, headers=h), 400, "1432"
    )
    assert_flow_error(
        client.get(f"{FS}/connections", params={"orderby": "bogus"}, headers=h), 400, "1433"
    )
    assert_flow_error(
        client.get(f"{FS}/connections", params={"limit": "abc"}, headers=h), 400, "1451"
    )
    assert_flow_error(
        client.get(f"{FS}/connections", params={"continuationToken": "!!!"}, headers=h), 400, "1451"
    )


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


def test_connection_specs_catalogue(client: TestClient, ident: Identity) -> None:
    h = ident.headers()
    r = client.get(f'{FS}/connectionSpecs?property=name=="hubspot"', headers=h)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["id"] for i in items] == [HUBSPOT]
    spec = items[0]
    basic = spec["authSpec"][0]
    assert basic["name"] == "Basic Authentication"
    assert basic["spec"]["required"] == ["clientId", "clientSecret", "accessToken", "refreshToken"]
    for f in ("clientSecret", "accessToken", "refreshToken"):
        assert basic["spec"]["properties"][f]["format"] == "password"
    assert "format" not in basic["spec"]["properties"]["clientId"]
    lake = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
    r = client.get(f"{FS}/connectionSpecs", params={"property": f"id=={HUBSPOT},{lake}"}, headers=h)
    assert {i["id"] for i in r.json()["items"]} == {HUBSPOT, lake}
    one = client.get(f"{FS}/connectionSpecs/{HUBSPOT}", headers=h).json()
    assert list(one) == ["items"] and one["items"][0]["name"] == "hubspot"
    assert client.get(f"{FS}/connectionSpecs/nope", headers=h).status_code == 404
    fs = client.get(f'{FS}/flowSpecs?property=name=="CRMToAEP"', headers=h).json()["items"]
    assert fs[0]["id"] == "14518937-270c-4525-bdec-c2ba7cce3860"
    assert (
        client.get(f"{FS}/flowSpecs/{fs[0]['id']}", headers=h).json()["items"][0]["name"]
        == "CRMToAEP"
    )


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "lake": "ok"}
