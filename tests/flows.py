"""Build HubSpot → lake dataflows through the Flow Service API, as the tutorial does (shared by the
engine, notification and observability tests)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from headwater.connectors.hubspot import SPEC_ID
from tests.conftest import Identity

FS = "/data/foundation/flowservice"
CAT = "/data/foundation/catalog"
HUBSPOT = SPEC_ID
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


def oauth_params(emu: Any) -> dict[str, str]:
    return {
        "clientId": emu.oauth_client_id,
        "clientSecret": emu.oauth_client_secret,
        "accessToken": emu.access_token,
        "refreshToken": emu.refresh_token,
    }


def revoked_params(emu: Any) -> dict[str, str]:
    """Credentials HubSpot no longer accepts: an unknown access token and a revoked refresh token."""
    return {
        "clientId": emu.oauth_client_id,
        "clientSecret": "rotated-away",
        "accessToken": "no-longer-valid",
        "refreshToken": "revoked-or-unknown",
    }


def create_connection(client: TestClient, ident: Identity, params: dict[str, str]) -> str:
    r = client.post(
        f"{FS}/connections",
        headers=ident.headers(),
        json={
            "name": "HubSpot",
            "auth": {"specName": "Basic Authentication", "params": params},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def build_flow(
    client: TestClient,
    ident: Identity,
    params: dict[str, str],
    *,
    table: str = "Hubspot.Contacts",
    frequency: str = "once",
    source_params: dict[str, Any] | None = None,
) -> dict[str, str]:
    """A flow (run once by default) from a new HubSpot connection with ``params`` into a new
    dataset, built through the Flow Service API as the tutorial does."""
    h = ident.headers()
    base = create_connection(client, ident, params)
    src = client.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "HubSpot source connection",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {"path": table, **(source_params or {})},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert src.status_code == 201, src.text
    ds = client.post(f"{CAT}/dataSets", headers=h, json={"name": f"contacts-{time.time_ns()}"})
    assert ds.status_code == 201, ds.text
    ds_id = ds.json()[0].split("/")[-1]
    tgt = client.post(
        f"{FS}/targetConnections",
        headers=h,
        json={
            "name": "lake",
            "data": {
                "format": "delta",
                "schema": {
                    "id": "https://ns.adobe.com/x/schemas/y",
                    "version": "application/vnd.adobe.xed-full+json;version=1",
                },
            },
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )
    assert tgt.status_code == 201, tgt.text
    schedule = {"startTime": str(int(time.time()) - 5), "frequency": frequency}
    if frequency != "once":
        schedule["interval"] = "15" if frequency == "minute" else "1"
    flow = client.post(
        f"{FS}/flows",
        headers=h,
        json={
            "name": f"HubSpot contacts {time.time_ns()}",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "transformations": [
                {
                    "name": "Copy",
                    "params": {
                        "deltaColumn": {
                            "name": "updatedAt",
                            "dateFormat": "YYYY-MM-DD",
                            "timezone": "UTC",
                        }
                    },
                }
            ],
            "scheduleParams": schedule,
        },
    )
    assert flow.status_code == 201, flow.text
    return {"flow": flow.json()["id"], "dataset": ds_id, "base": base, "source": src.json()["id"]}


def runs_of(client: TestClient, ident: Identity, flow_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{FS}/runs", params={"property": f"flowId=={flow_id}"}, headers=ident.headers())
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
