"""Real processes for the UI tests: the bundled HubSpot emulator, ``headwater serve`` pointed at
it, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from headwater.services import identity
from headwater.services.context import ServiceContext
from headwater.settings import Settings
from headwater.store.db import create_engine
from headwater.store.secrets import SecretBox, generate_key
from tests.e2e.conftest import HEADWATER, start_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMULATOR_SIZES = [
    "--contacts", "120", "--companies", "30", "--deals", "30", "--tickets", "10",
    "--products", "5", "--line-items", "10", "--engagements", "5", "--custom-records", "5",
]  # fmt: skip


@dataclass
class Client:
    org_id: str
    client_id: str
    client_secret: str


@dataclass
class Stack:
    base_url: str
    emulator: dict[str, Any]
    env: dict[str, str]
    home: Path
    _ctx: ServiceContext | None = None

    def new_client(self, name: str = "ui") -> Client:
        """A new org and API client, made in the server's own database (as the CLI does)."""
        org = "UI" + os.urandom(5).hex().upper() + "@AdobeOrg"
        if self._ctx is None:
            engine = create_engine(Settings(home=self.home).resolved_database_url)
            self._ctx = ServiceContext(engine=engine, box=SecretBox(generate_key()))
        identity.create_org(self._ctx, org_id=org)
        client, secret = identity.create_client(self._ctx, org_id=org, name=name)
        return Client(org, client.client_id, secret)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    emu = subprocess.Popen(
        [HEADWATER, "emulator", "hubspot", "--port", "0", "--json", "--seed", "7", *EMULATOR_SIZES],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert emu.stdout is not None
    line = emu.stdout.readline()
    assert line, "the emulator printed nothing"
    info = json.loads(line)
    home = tmp_path_factory.mktemp("ui-home")
    proc, base, env = start_server(
        home,
        extra_env={
            "HEADWATER_HUBSPOT_BASE_URL": info["base_url"],
            "HEADWATER_HUBSPOT_DELETES_EVERY_SECONDS": "0",
            "HEADWATER_HUBSPOT_BURST_BUDGET": "100000",
            "HEADWATER_HUBSPOT_SEARCH_PER_SECOND": "100",
        },
    )
    try:
        stack = Stack(base, info, env, home)
        yield stack
    finally:
        if "stack" in locals() and stack._ctx is not None:
            stack._ctx.engine.dispose()
        for p in (proc, emu):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        emu.stdout.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/screenshots with HEADWATER_SCREENSHOTS=docs/screenshots."""
    target = os.environ.get("HEADWATER_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
