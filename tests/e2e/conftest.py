"""A real ``headwater serve`` process, set up through the real CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HEADWATER = str(Path(sys.executable).with_name("headwater"))


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


def start_server(
    home: Path, *, extra_env: dict[str, str] | None = None, serve_args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_HOME"] = str(home)
    env.update(extra_env or {})
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [HEADWATER, "serve", "--port", str(port), *serve_args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"headwater serve exited: {(home / 'serve.log').read_text()}")
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("headwater serve did not start within 60 s")
    return proc, base, env


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("hw-home")
    home.mkdir(exist_ok=True)
    proc, base, env = start_server(home)
    try:
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
        yield LiveServer(base, org, client["clientId"], client["clientSecret"], token, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
