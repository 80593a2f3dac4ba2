"""A real ``headwater serve`` (with its scheduler and worker) beside the HubSpot emulator, an org
and API client made with the admin CLI, and a second, empty home for the operator CLI."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from tests.e2e.conftest import HEADWATER, free_port
from tests.processes import start, stop_group

#: ``error: <message> [CODE]`` on one line; group 1 is the code.
ONE_LINE_ERROR = re.compile(r"^error: .+ \[([A-Za-z0-9_-]+)\]\n$")
FS = "/data/foundation/flowservice"
CAT = "/data/foundation/catalog"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_HOME"] = str(home)
    env["COLUMNS"] = "200"  # rich tables do not truncate ids in captured output
    env.update(extra)
    return env


def headwater(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HEADWATER, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(*args: str, env: dict[str, str]) -> str:
    out = headwater(*args, env=env)
    assert out.returncode == 0, f"headwater {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@dataclass
class Server:
    base_url: str
    home: Path
    env: dict[str, str]
    org_id: str
    client_id: str
    client_secret: str
    emu: object

    def http(self) -> httpx.Client:
        """An API client of this org, for setting up what the CLI does not create."""
        token = httpx.post(
            self.base_url + "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        ).json()["access_token"]
        return httpx.Client(
            base_url=self.base_url,
            timeout=60,
            headers={
                "Authorization": f"Bearer {token}",
                "x-api-key": self.client_id,
                "x-gw-ims-org-id": self.org_id,
                "x-sandbox-name": "prod",
            },
        )


@pytest.fixture(scope="session")
def emu() -> Iterator:
    with serve_in_thread(
        EmulatorConfig(
            seed=5,
            contacts=200,
            companies=20,
            deals=20,
            tickets=10,
            products=5,
            line_items=10,
            engagements=10,
            custom_records=5,
        )
    ) as running:
        yield running


def create_org_and_client(home: Path) -> tuple[str, str, str]:
    """What ``headwater orgs create`` and ``clients create`` do, in this process: an org and an
    API client in the server's database (migrated here, before the server starts)."""
    from headwater.runtime import build_context
    from headwater.services import identity
    from headwater.settings import get_settings

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ctx = build_context(get_settings(home=home))
    # build_context sets up the server's logging; this process is the operator's, keep it quiet.
    root.handlers[:] = handlers
    root.setLevel(level)
    try:
        org = "CLI" + os.urandom(4).hex().upper() + "@AdobeOrg"
        identity.create_org(ctx, org_id=org)
        client, secret = identity.create_client(ctx, org_id=org, name="cli")
        return org, client.client_id, secret
    finally:
        ctx.engine.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, emu) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server-home")
    org, client_id, client_secret = create_org_and_client(home)
    env = clean_env(home, HEADWATER_HUBSPOT_BASE_URL=emu.base_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (home / "serve.log").open("wb") as log:
        proc = start(["serve", "--port", str(port), "--concurrency", "1"], env=env, stdout=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"headwater serve exited: {(home / 'serve.log').read_text()}")
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("headwater serve did not start within 90 s")
            time.sleep(0.1)
        yield Server(base, home, env, org, client_id, client_secret, emu)
    finally:
        stop_group(proc)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Operator:
    """The operator's side: an empty home holding only the profile the CLI writes.

    ``run`` invokes the ``headwater`` app in this process (a new interpreter per command costs
    seconds on a shared machine); ``binary`` runs the installed ``headwater`` executable, whose
    ``main()`` adds ``--debug`` tracebacks."""

    home: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str | None) -> Result:
        from typer.testing import CliRunner

        from headwater.cli import app

        overrides: dict[str, str | None] = {
            k: None for k in os.environ if k.startswith("HEADWATER_")
        }
        overrides |= {"HEADWATER_HOME": str(self.home)} | env
        result = CliRunner().invoke(app, list(args), env=overrides, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def binary(self, *args: str) -> subprocess.CompletedProcess[str]:
        return headwater(*args, env=self.env)

    def ok(self, *args: str) -> str:
        out = self.run(*args)
        assert out.returncode == 0, f"headwater {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture(scope="session")
def operator(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Operator:
    home = tmp_path_factory.mktemp("operator-home")
    op = Operator(home, clean_env(home))
    op.ok(
        "login",
        "--endpoint",
        server.base_url,
        "--org",
        server.org_id,
        "--client-id",
        server.client_id,
        "--client-secret",
        server.client_secret,
    )
    return op


def hubspot_connection(http: httpx.Client, emu, *, name: str, valid: bool = True) -> str:
    r = http.post(
        f"{FS}/connections",
        json={
            "name": name,
            "auth": {
                "specName": "Basic Authentication",
                "params": {
                    "clientId": emu.oauth_client_id,
                    "clientSecret": emu.oauth_client_secret if valid else "wrong",
                    "accessToken": emu.access_token if valid else "bogus",
                    "refreshToken": emu.refresh_token if valid else "revoked",
                },
            },
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def contacts_flow(http: httpx.Client, base_conn: str, *, name: str) -> dict[str, str]:
    """Source (Hubspot.Contacts), dataset, lake target and a daily flow that starts tomorrow,
    so only ``flows run`` starts it."""
    src = http.post(
        f"{FS}/sourceConnections",
        json={
            "name": f"{name} source",
            "baseConnectionId": base_conn,
            "data": {"format": "tabular"},
            "params": {"path": "Hubspot.Contacts"},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert src.status_code == 201, src.text
    ds = http.post(f"{CAT}/dataSets", json={"name": f"{name}-{time.time_ns()}"})
    assert ds.status_code == 201, ds.text
    ds_id = ds.json()[0].split("/")[-1]
    tgt = http.post(
        f"{FS}/targetConnections",
        json={
            "name": f"{name} lake",
            "data": {"format": "delta"},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )
    assert tgt.status_code == 201, tgt.text
    flow = http.post(
        f"{FS}/flows",
        json={
            "name": name,
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "scheduleParams": {
                "startTime": str(int(time.time()) + 86_400),
                "frequency": "day",
                "interval": 1,
            },
        },
    )
    assert flow.status_code == 201, flow.text
    return {"flow": flow.json()["id"], "dataset": ds_id}


@pytest.fixture
def own_logging() -> Iterator[None]:
    """Local commands set up the server's logging (as ``serve`` does); run in this process, they
    must not leave it to the commands of later tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
