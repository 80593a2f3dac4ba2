"""The IMS-compatible token endpoint (``/ims/token/v3``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import FS
from tests.conftest import Identity


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
