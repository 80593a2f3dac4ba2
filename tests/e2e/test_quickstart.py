"""``headwater quickstart`` in a fresh HEADWATER_HOME, as a newcomer runs it: while it runs, the
next commands work in that home without ``login`` (the "Try next" lines exactly as printed);
after Ctrl-C, ``doctor`` says what stopped and prints the commands that start it again, which
do; a second run reuses everything and syncs incrementally."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable

from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from tests.connectors.conftest import live_ids
from tests.e2e.conftest import HEADWATER
from tests.processes import stop_group

CONTACTS = 3_000


def clean_env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["COLUMNS"] = "200"
    if home is not None:
        env["HEADWATER_HOME"] = str(home)
    return env


def cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HEADWATER, *args], env=clean_env(home), capture_output=True, text=True, timeout=timeout
    )


def cli_json(home: Path, *args: str) -> Any:
    out = cli(home, *args, "--json")
    assert out.returncode == 0, f"headwater {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return json.loads(out.stdout)


class Lines:
    """A process's output, read on a thread as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, proc: subprocess.Popen[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert proc.poll() is None, f"quickstart exited {proc.returncode}:\n{self.text}"
            assert time.monotonic() < deadline, f"no {needle!r} after {timeout} s:\n{self.text}"
            time.sleep(0.2)

    def join(self) -> None:
        self._thread.join(timeout=30)


def try_next(text: str) -> list[str]:
    """The command lines of the "Try next" block."""
    block = text.split("Try next", 1)[1].split("\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if not line.startswith("  "):
            break
        lines.append(line.strip())
    return lines


def command(line: str) -> list[str]:
    """The ``headwater`` arguments of a printed command line."""
    words = shlex.split(line)
    at = next(i for i, w in enumerate(words) if w.endswith("headwater"))
    return words[at + 1 :]


def answers(url: str, *statuses: int) -> bool:
    """Whether ``url`` answers (with one of ``statuses``, when given)."""
    try:
        status = httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return False
    return not statuses or status in statuses


def stop(proc: subprocess.Popen[Any]) -> None:
    stop_group(proc)


def lake_ids(home: Path, dataset: str) -> list[str]:
    table = DeltaTable(str(home / "lake" / "QUICKSTART@AdobeOrg" / "prod" / dataset))
    return table.to_pyarrow_table(columns=["Id"]).column("Id").to_pylist()


@pytest.mark.e2e
def test_quickstart_leaves_a_home_where_the_next_commands_work(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [HEADWATER, "quickstart", "--contacts", str(CONTACTS)],
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Lines(proc)
    try:
        out.wait_for("Press Ctrl-C", proc, timeout=300)
        first = out.text
        assert "POST /data/foundation/flowservice/connections → 201" in first
        assert '{"result": true}' in first
        assert "Hubspot.Contacts" in first
        assert "— success" in first
        state = json.loads((home / "quickstart.json").read_text())

        # The quickstart stored a profile (secret in a private file) and made it the default.
        profiles = home / "profiles.toml"
        assert profiles.stat().st_mode & 0o777 == 0o600
        book = tomllib.loads(profiles.read_text())
        assert book["default"] == "quickstart"
        profile = book["profiles"]["quickstart"]
        assert profile["client_id"] == state["clientId"]
        assert profile["client_secret"] == state["clientSecret"]
        base = profile["endpoint"]

        # ... and recorded the emulator as the home's HubSpot.
        settings = tomllib.loads((home / "settings.toml").read_text())
        assert f"HubSpot emulator at {settings['hubspot_base_url']} " in first
        assert settings["hubspot_emulator"]["seed"] == 42
        assert settings["hubspot_emulator"]["contacts"] == CONTACTS

        # While it runs, the next commands work in that home without login.
        assert state["flowId"] in {f["id"] for f in cli_json(home, "flows", "list")}
        assert state["lastRunId"] in {r["id"] for r in cli_json(home, "runs", "list")}
        doctor = cli_json(home, "doctor")
        assert doctor["ok"] is True, doctor
        assert {c["name"]: c["status"] for c in doctor["checks"]} == dict.fromkeys(
            ("database", "migrations", "secret key", "lake", "hubspot", "api"), "ok"
        )
        hubspot = {c["name"]: c for c in doctor["checks"]}["hubspot"]["detail"]
        assert settings["hubspot_base_url"] in hubspot and "emulator" in hubspot

        # The "Try next" lines work exactly as printed, in a shell that knows nothing of the home.
        lines = try_next(first)
        assert [command(line)[:2] for line in lines[:3]] == [
            ["flows", "list"],
            ["flows", "run"],
            ["runs", "list"],
        ]
        assert any(" query " in line for line in lines)
        for line in lines:
            if line.startswith("curl") and shutil.which("curl") is None:
                continue
            ran = subprocess.run(
                line, shell=True, env=clean_env(), capture_output=True, text=True, timeout=300
            )
            assert ran.returncode == 0, f"{line}\n{ran.stdout}\n{ran.stderr}"
            if " flows run " in line:
                assert " success: " in ran.stdout
        # The UI's address is printed exactly when the server serves one.
        serves_ui = httpx.get(base + "/ui", follow_redirects=True).status_code == 200
        assert (f"UI: {base}/ui" in first) is serves_ui
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.join()
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == 0, out.text
    assert "stopping" in out.text

    # Stopped: doctor fails the HubSpot and API checks, naming the commands that start them.
    stopped = cli(home, "doctor", "--json")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    report = json.loads(stopped.stdout)
    assert report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert all(c["fix"] for c in checks.values() if c["status"] == "fail")
    hub, api = checks["hubspot"], checks["api"]
    assert (
        hub["status"] == "fail" and "emulator" in hub["detail"] and "not running" in hub["detail"]
    )
    port = settings["hubspot_emulator"]["port"]
    assert f"emulator hubspot --port {port} --seed 42 --contacts {CONTACTS}" in hub["command"]
    assert hub["command"] in hub["fix"]
    assert api["status"] == "fail" and f"serve --port {base.rsplit(':', 1)[1]}" in api["command"]
    human = cli(home, "doctor")
    assert human.returncode == 1 and hub["command"] in human.stdout

    # Those commands, run as printed, start them again; serve and its worker find the emulator
    # in the home's settings (no variables), so a run succeeds.
    emulator = subprocess.Popen(
        hub["command"], shell=True, env=clean_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with (tmp_path / "serve-again.log").open("wb") as log:
        server = subprocess.Popen(
            api["command"], shell=True, env=clean_env(), start_new_session=True,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        for url, statuses in (
            (settings["hubspot_base_url"] + "/", ()),
            (base + "/health/ready", (200,)),
        ):
            while not answers(url, *statuses):
                assert emulator.poll() is None and server.poll() is None
                assert time.monotonic() < deadline, f"{url} did not come up"
                time.sleep(0.2)
        healthy = cli_json(home, "doctor")
        assert healthy["ok"] is True, healthy
        rerun = cli_json(home, "flows", "run", state["flowId"], "--watch", "--interval", "0.2")
        assert rerun["state"] == "success", rerun
    finally:
        stop(server)
        stop(emulator)

    with serve_in_thread(
        EmulatorConfig(seed=42, contacts=CONTACTS, companies=2000, deals=3000)
    ) as emu:
        expected = live_ids(emu, "contacts")
    # the portal it announced is the portal it landed: --contacts N means N live contacts
    assert f"({CONTACTS:,} contacts, portal " in first and len(expected) == CONTACTS
    assert sorted(lake_ids(home, state["datasetId"]), key=int) == expected

    # A second run reuses everything and syncs incrementally.
    second = cli(home, "quickstart", "--exit", "--contacts", str(CONTACTS), timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reused base connection" in second.stdout
    assert "reused flow" in second.stdout
    assert "incremental" in second.stdout
    again = json.loads((home / "quickstart.json").read_text())
    assert {k: again[k] for k in ("connectionId", "flowId", "datasetId", "clientId")} == {
        k: state[k] for k in ("connectionId", "flowId", "datasetId", "clientId")
    }
    assert again["runs"] == 2
    ids = lake_ids(home, state["datasetId"])
    assert len(ids) == len(set(ids)) == len(expected)
    # With --exit only the local commands are offered, and they work as printed.
    exit_lines = try_next(second.stdout)
    assert any(" query " in line for line in exit_lines)
    for line in exit_lines:
        if " query " in line:
            ran = subprocess.run(line, shell=True, env=clean_env(), capture_output=True, text=True)
            assert ran.returncode == 0, ran.stderr

    q = cli(home, "query", "SELECT count(*) AS n FROM hubspot_contacts", "--json")
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout) == [{"n": len(expected)}]
