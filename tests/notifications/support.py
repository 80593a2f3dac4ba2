"""Shared by the notification and observability tests: a real webhook receiver (an HTTP server in
a thread) and a HubSpot → lake dataflow built through the Flow Service API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Identity

FS = "/data/foundation/flowservice"
CAT = "/data/foundation/catalog"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
RUN_EVENTS = [
    "flow.run.started",
    "flow.run.succeeded",
    "flow.run.partially_succeeded",
    "flow.run.failed",
]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers ``fail_first`` requests with ``fail_status`` (after ``delay_s``), then 204."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            failing = len(self.received) < self.fail_first
            status = self.fail_status if failing else 204
            self.received.append(Received(path, headers, body, status))
        self.arrived.set()
        if failing and self.delay_s:
            time.sleep(self.delay_s)
        return status

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.headers.get("x-headwater-event") == event_type]


@contextmanager
def serve_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(self.path, headers, body)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/headwater"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


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
    client: TestClient, ident: Identity, params: dict[str, str], *, table: str = "Hubspot.Contacts"
) -> dict[str, str]:
    """A run-once flow from a new HubSpot connection with ``params`` into a new dataset."""
    h = ident.headers()
    base = create_connection(client, ident, params)
    src = client.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "HubSpot source connection",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {"path": table},
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
    flow = client.post(
        f"{FS}/flows",
        headers=h,
        json={
            "name": f"HubSpot contacts {time.time_ns()}",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "scheduleParams": {"startTime": str(int(time.time()) - 5), "frequency": "once"},
        },
    )
    assert flow.status_code == 201, flow.text
    return {"flow": flow.json()["id"], "dataset": ds_id, "base": base}


def runs_of(client: TestClient, ident: Identity, flow_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{FS}/runs", params={"property": f"flowId=={flow_id}"}, headers=ident.headers())
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
