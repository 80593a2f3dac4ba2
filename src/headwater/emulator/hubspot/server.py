"""Serving the emulator: uvicorn (httptools + uvloop, keep-alive, TCP_NODELAY) in a thread or in
the foreground, plus the handle tests use."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from headwater.emulator.clock import Clock
from headwater.emulator.hubspot.app import HubSpotEmulatorApp, create_app
from headwater.emulator.hubspot.config import EmulatorConfig
from headwater.emulator.hubspot.http import TRANSPORT_KEY
from headwater.emulator.hubspot.state import PortalState


class _TransportExposingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that hands the transport to the app, so the fault plan can
    reset connections and truncate bodies for real."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = {TRANSPORT_KEY: self.transport}
        self.scope["extensions"] = extensions


def uvicorn_config(app: HubSpotEmulatorApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_TransportExposingProtocol,
        loop="uvloop",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
        date_header=False,
    )


@dataclass
class RunningEmulator:
    """A served emulator: where it is, the credentials to use, and the live state."""

    app: HubSpotEmulatorApp
    base_url: str
    port: int

    @property
    def state(self) -> PortalState:
        return self.app.state

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def portal_id(self) -> int:
        return self.state.portal_id

    @property
    def oauth_client_id(self) -> str:
        return self.state.auth.client_id

    @property
    def oauth_client_secret(self) -> str:
        return self.state.auth.client_secret

    @property
    def refresh_token(self) -> str:
        return self.state.auth.refresh_token

    @property
    def private_app_token(self) -> str:
        return self.state.auth.private_app_token

    @property
    def service_key(self) -> str:
        return self.state.auth.service_key

    @property
    def access_token(self) -> str:
        """A freshly issued OAuth access token for the default refresh token."""
        auth = self.state.auth
        return auth.issue_access(auth.refresh[auth.refresh_token], self.state.now_ms()).token

    def info(self) -> dict[str, Any]:
        return {"base_url": self.base_url, **self.app.info()}


def _free_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def serve_in_thread(
    config: EmulatorConfig | None = None, *, app: HubSpotEmulatorApp | None = None
) -> Iterator[RunningEmulator]:
    """Serve the emulator on a free port (or ``config.port``) in a daemon thread.

    >>> with serve_in_thread(EmulatorConfig(contacts=1000)) as emu:
    ...     emu.base_url
    """
    config = config or EmulatorConfig()
    app = app or create_app(config)
    sock = _free_socket(config.host, config.port)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, config.host, port))

    def run() -> None:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"hubspot-emulator-{port}", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the HubSpot emulator failed to start")
        threading.Event().wait(0.01)
    try:
        yield RunningEmulator(app, f"http://{config.host}:{port}", port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(
    app: HubSpotEmulatorApp,
    host: str,
    port: int,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn's own signal handling).

    ``on_ready`` is called with the bound port once the socket listens.
    """
    import uvloop

    sock = _free_socket(host, port)
    sock.listen(2048)
    if on_ready is not None:
        on_ready(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(app, host, sock.getsockname()[1]))
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
