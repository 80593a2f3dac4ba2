"""What the API tests share: the tutorial's connection body and Adobe's error envelope."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from headwater.domain.paths import FLOW_SERVICE_PATH as FS
from tests.conftest import Identity

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


def assert_flow_error(r: Any, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"].endswith(f"FLOW-{code}-{status}"), body
    assert body["status"] == status
    assert isinstance(body["report"]["detailed-message"], str)
    assert body["errorMessage"]
    assert body["title"]
    return body


__all__ = ["FS", "HUBSPOT", "TUTORIAL_BODY", "assert_flow_error", "create"]
