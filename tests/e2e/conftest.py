"""A real ``headwater serve`` process, set up through the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import HEADWATER, clean_env, stop_group
from tests.processes import start as start_process

__all__ = ["HEADWATER", "stop_group"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([HEADWATER, *args], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"headwater {' '.join(args)} failed: {out.stderr}"
    return out.stdout


@dataclass
class LiveServer:
    base_url: str
    org_id: str
    client_id: str
    client_secret: str
    token: str
    env: dict[str, str]

    @property
    def flow_url(self) -> str:
        return self.base_url + "/data/foundation/flowservice"

    def headers(self, sandbox: str = "prod") -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": sandbox,
        }


#: how long serve may take to answer /health/live (imports and migrations on a busy machine)
START_TIMEOUT_S = 180


def start_server(
    home: Path, *, extra_env: dict[str, str] | None = None, serve_args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    env = clean_env(home, **(extra_env or {}))
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("ab") as log:
        proc = start_process(["serve", "--port", str(port), *serve_args], env=env, stdout=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop_group(proc)
            raise RuntimeError(f"headwater serve exited: {(home / 'serve.log').read_text()}")
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        stop_group(proc)
        raise RuntimeError(
            f"headwater serve did not start within {START_TIMEOUT_S} s: "
            + (home / "serve.log").read_text()[-2000:]
        )
    return proc, base, env


def live_identity(base: str, env: dict[str, str]) -> LiveServer:
    """A new org with an API client and a token, made through the real CLI."""
    org = "E2E" + os.urandom(4).hex().upper() + "@AdobeOrg"
    run_cli("orgs", "create", org, "--json", env=env)
    client = json.loads(
        run_cli("clients", "create", "--org", org, "--name", "e2e", "--json", env=env)
    )
    token = run_cli(
        "token",
        "--client-id",
        client["clientId"],
        "--client-secret",
        client["clientSecret"],
        env=env,
    ).strip()
    return LiveServer(base, org, client["clientId"], client["clientSecret"], token, env)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("hw-home")
    home.mkdir(exist_ok=True)
    proc, base, env = start_server(home)
    try:
        yield live_identity(base, env)
    finally:
        stop_group(proc)


ENGINE_ENV = {
    # the emulator runs without rate limits
    "HEADWATER_HUBSPOT_BURST_BUDGET": "100000",
    "HEADWATER_HUBSPOT_SEARCH_PER_SECOND": "100",
}


SMALL = [
    "--companies",
    "40",
    "--deals",
    "40",
    "--tickets",
    "20",
    "--products",
    "5",
    "--line-items",
    "10",
    "--engagements",
    "10",
    "--custom-records",
    "10",
]


@dataclass
class Emulator:
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.info["base_url"])

    def access_token(self) -> str:
        r = httpx.post(
            self.url + "/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": self.info["oauth_client_id"],
                "client_secret": self.info["oauth_client_secret"],
                "refresh_token": self.info["refresh_token"],
            },
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def live_contact_ids(self) -> list[str]:
        ids: list[str] = []
        h = {"Authorization": f"Bearer {self.info['private_app_token']}"}
        after = None
        with httpx.Client(base_url=self.url, headers=h, timeout=30) as c:
            while True:
                params: dict[str, Any] = {"limit": 100, "properties": "hs_object_id"}
                if after:
                    params["after"] = after
                body = c.get("/crm/v3/objects/contacts", params=params).json()
                ids += [r["id"] for r in body["results"]]
                if "paging" not in body:
                    return ids
                after = body["paging"]["next"]["after"]


@contextlib.contextmanager
def _emulators() -> Iterator[Callable[..., Emulator]]:
    procs: list[subprocess.Popen[str]] = []

    def start(contacts: int, *extra: str, lag_ms: int = 0) -> Emulator:
        """An emulator with ``contacts`` live contacts; ``extra`` arguments go to its command
        line, ``lag_ms`` is its search indexing delay."""
        proc = start_process(
            [
                "emulator",
                "hubspot",
                "--port",
                "0",
                "--json",
                "--contacts",
                str(contacts),
                *SMALL,
                "--search-index-lag-ms",
                str(lag_ms),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the emulator printed nothing"
        return Emulator(proc, json.loads(line))

    try:
        yield start
    finally:
        for p in procs:
            stop_group(p)


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Starts emulator processes (``headwater emulator hubspot``) ended after the test."""
    with _emulators() as start:
        yield start


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[Callable[..., Emulator]]:
    """As ``emulator_factory``, ended after the module."""
    with _emulators() as start:
        yield start
