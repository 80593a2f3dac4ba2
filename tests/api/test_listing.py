"""Flow Service list semantics, on ``GET /connections``: pages, continuation tokens and their
links, ``property=`` filters, ``orderby`` and ``count``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import FS, HUBSPOT, assert_flow_error, create
from tests.conftest import Identity


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


def test_hand_made_tokens_with_bad_positions_are_400(client: TestClient, ident: Identity) -> None:
    """A token is not signed, so a client may forge one; a position that is well-formed JSON but
    not a timestamp (for an order the database sorts) is a FLOW-1451, never a 500."""
    import base64
    import json

    h = ident.headers()
    create(client, ident, name="one")

    def token(payload: object) -> str:
        raw = json.dumps(payload).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for position in (
        [[2, "x"], "id"],
        [[0, ""], "id"],
        [[1, 1.5], "id"],
        [[1, 1e300], "id"],
        [[1, -(2**70)], "id"],
    ):
        for orderby in ("createdAt", "-updatedAt"):
            t = token({"f": [], "o": orderby, "l": 2, "a": position})
            r = client.get(f"{FS}/connections", params={"continuationToken": t}, headers=h)
            assert_flow_error(r, 400, "1451")
    # the same positions are fine for an order sorted in memory (any rank compares)
    t = token({"f": [], "o": "name", "l": 2, "a": [[2, "x"], "id"]})
    r = client.get(f"{FS}/connections", params={"continuationToken": t}, headers=h)
    assert r.status_code == 200, r.text
