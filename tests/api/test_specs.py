"""Connection specs and flow specs (``/connectionSpecs``, ``/flowSpecs``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import FS, HUBSPOT
from tests.conftest import Identity


def test_connection_and_flow_specs(client: TestClient, ident: Identity) -> None:
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
