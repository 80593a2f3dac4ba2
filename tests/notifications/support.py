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

from tests.flows import (
    CAT,
    CRM_TO_AEP,
    FS,
    HUBSPOT,
    LAKE_SPEC,
    build_flow,
    create_connection,
    oauth_params,
    revoked_params,
    runs_of,
)

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
    """Answers ``fail_first`` requests with ``fail_status`` (after ``delay_s``), then 204; while
    ``hold`` is given and not set, each request waits for it before answering."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    hold: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            failing = len(self.received) < self.fail_first
            status = self.fail_status if failing else 204
            self.received.append(Received(path, headers, body, status))
        self.arrived.set()
        if self.hold is not None:
            self.hold.wait(30)
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


__all__ = [
    "CAT",
    "CRM_TO_AEP",
    "FS",
    "HUBSPOT",
    "LAKE_SPEC",
    "RUN_EVENTS",
    "Received",
    "Receiver",
    "build_flow",
    "create_connection",
    "oauth_params",
    "revoked_params",
    "runs_of",
    "serve_receiver",
]
