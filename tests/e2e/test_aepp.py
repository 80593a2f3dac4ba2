"""Adobe's Python client ``aepp`` 0.6.0, unmodified, against ``headwater serve``."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conftest import LiveServer

aepp = pytest.importorskip("aepp", reason="aepp is a dev dependency")

HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"


def _guard(event: str, args: tuple) -> None:
    if event == "socket.connect":
        addr = args[1]
        if isinstance(addr, tuple) and addr and addr[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"blocked non-local connect {addr}")


@pytest.fixture(scope="module")
def fs(live: LiveServer):
    sys.addaudithook(_guard)
    from aepp import flowservice

    aepp.configure(
        org_id=live.org_id,
        client_id=live.client_id,
        secret="unused",
        sandbox="prod",
        environment="support",
        endpoint=live.base_url,
        accesstoken=live.token,
    )
    aepp.config.config_object["connectionType"] = "support"
    aepp.config.config_object["date_limit"] = 2**41
    return flowservice.FlowService()


@pytest.mark.e2e
def test_aepp_connection_lifecycle(fs) -> None:
    specs = fs.getConnectionSpecs()
    assert any(s["id"] == HUBSPOT for s in specs)
    assert fs.getConnectionSpecIdFromName("hubspot") == HUBSPOT

    created = fs.createConnection(
        data={
            "name": "connection for HubSpot",
            "description": "connection for HubSpot",
            "auth": {
                "specName": "Basic Authentication",
                "params": {
                    "clientId": "cid",
                    "clientSecret": "csecret",
                    "accessToken": "atoken",
                    "refreshToken": "rtoken",
                },
            },
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        }
    )
    assert "id" in created and "etag" in created, created
    conn = fs.getConnection(created["id"])
    assert conn["id"] == created["id"]
    assert conn["auth"]["params"]["clientSecret"] != "csecret"

    patched = fs.patchConnection(
        created["id"], [{"op": "Replace", "path": "/name", "value": "renamed by aepp"}]
    )
    assert patched["id"] == created["id"], patched
    assert fs.getConnection(created["id"])["name"] == "renamed by aepp"

    ids = [created["id"]]
    for i in range(4):
        c = fs.createConnection(
            data={
                "name": f"c{i}",
                "auth": {
                    "specName": "Basic Authentication",
                    "params": {
                        "clientId": "a",
                        "clientSecret": "b",
                        "accessToken": "c",
                        "refreshToken": "d",
                    },
                },
                "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
            }
        )
        ids.append(c["id"])
    listed = fs.getConnections(limit=2)
    got = [c["id"] for c in listed]
    assert set(ids) <= set(got), got
    assert len(got) == len(set(got))

    assert fs.deleteConnection(created["id"]) == 204
    assert fs.getConnection(created["id"]) == {}
