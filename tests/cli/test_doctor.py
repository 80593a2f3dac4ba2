"""``headwater doctor`` on fresh homes, with and without a profile, and when checks fail."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import httpx

from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from tests.cli.conftest import (
    Operator,
    Server,
    clean_env,
    headwater,
    hubspot_connection,
)
from tests.e2e.conftest import free_port


def test_doctor_passes_on_a_fresh_home(server: Server, tmp_path) -> None:
    env = clean_env(tmp_path / "home", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url)
    out = headwater("doctor", "--json", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status == {
        "database": "ok",
        "migrations": "ok",
        "secret key": "ok",
        "lake": "ok",
        "hubspot": "ok",
        "api": "skip",
    }
    assert (tmp_path / "home" / "secret.key").stat().st_mode & 0o777 == 0o600

    human = Operator(tmp_path / "home", env).run(
        "doctor", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url
    )
    assert human.returncode == 0
    assert "✓" in human.stdout and "✗" not in human.stdout
    assert "at head" in human.stdout  # the second run found nothing to migrate


def test_doctor_checks_the_api_of_the_profile(server: Server, tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
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
        "--profile",
        "ops",
    )
    out = op.run("doctor", "--json", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url)
    assert out.returncode == 0, out.stdout
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["api"]["status"] == "ok"
    assert server.base_url in checks["api"]["detail"] and "ops" in checks["api"]["detail"]

    other = Operator(tmp_path, clean_env(tmp_path)).run(
        "doctor", "--json", "--profile", "nope", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url
    )
    assert other.returncode == 1
    api = {c["name"]: c for c in json.loads(other.stdout)["checks"]}["api"]
    assert api["status"] == "fail" and "no profile named 'nope'" in api["detail"]


def test_doctor_fails_with_reasons(server: Server, tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    closed = f"http://127.0.0.1:{free_port()}"
    out = op.run("doctor", "--check-only", "--json", HEADWATER_HUBSPOT_BASE_URL=closed)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["database"]["status"] == "fail"
    assert "no database file" in checks["database"]["detail"]
    assert checks["migrations"]["status"] == "fail"
    assert checks["secret key"]["status"] == "fail"
    assert checks["hubspot"]["status"] == "fail"
    assert closed in checks["hubspot"]["detail"]
    assert "no HubSpot connection yet" in checks["hubspot"]["detail"]
    # Every failed check names its fix; the database's is a command that works as printed.
    assert all(c["fix"] for c in checks.values() if c["status"] == "fail"), checks
    assert checks["database"]["command"].endswith("db upgrade")
    assert "HEADWATER_HUBSPOT_BASE_URL" in checks["hubspot"]["fix"]
    assert not (tmp_path / "headwater.db").exists()  # --check-only changed nothing

    human = op.run("doctor", "--check-only", HEADWATER_HUBSPOT_BASE_URL=closed)
    assert human.returncode == 1
    assert "✗" in human.stdout and "hubspot" in human.stdout

    # A stale migration state is found too: upgrade the database, then break its revision.
    assert op.run("doctor", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url).returncode == 0
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    stale = op.run(
        "doctor", "--check-only", "--json", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url
    )
    assert stale.returncode == 1
    migrations = {c["name"]: c for c in json.loads(stale.stdout)["checks"]}["migrations"]
    assert migrations["status"] == "fail" and "at 0001" in migrations["detail"]
    assert migrations["command"].endswith("db upgrade")


def test_doctor_finds_stored_secrets_the_key_cannot_open(server: Server) -> None:
    with server.http() as http:
        conn = hubspot_connection(http, server.emu, name="doctor secrets")
    on_server = Operator(server.home, server.env)
    good = on_server.run("doctor", "--json", **{"HEADWATER_HUBSPOT_BASE_URL": server.emu.base_url})
    assert good.returncode == 0, good.stdout
    key = {c["name"]: c for c in json.loads(good.stdout)["checks"]}["secret key"]
    assert key["status"] == "ok" and "stored secret(s) decrypt" in key["detail"]

    wrong = on_server.run(
        "doctor",
        "--json",
        HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url,
        HEADWATER_SECRET_KEY="an entirely different passphrase",
    )
    assert wrong.returncode == 1
    key = {c["name"]: c for c in json.loads(wrong.stdout)["checks"]}["secret key"]
    assert key["status"] == "fail"
    # Every stored secret (this one among them) fails with a key that did not seal it.
    assert re.match(r"(\d+) of \1 stored connection secret\(s\) do not decrypt", key["detail"])
    assert conn in key["detail"] or int(key["detail"].split()[0]) > 1


def test_doctor_restarts_a_stopped_emulator_with_the_command_it_prints(tmp_path) -> None:
    from headwater.settings import HubSpotEmulatorSettings, record_home_settings

    home = tmp_path / "home"
    emulator = HubSpotEmulatorSettings(port=free_port(), seed=7, contacts=50, companies=5, deals=5)
    # What the quickstart records in its home; nothing listens there now.
    record_home_settings(home, hubspot_base_url=emulator.base_url, hubspot_emulator=emulator)
    op = Operator(home, clean_env(home))
    out = op.run("doctor", "--json")
    assert out.returncode == 1
    hub = {c["name"]: c for c in json.loads(out.stdout)["checks"]}["hubspot"]
    assert hub["status"] == "fail"
    assert f"bundled HubSpot emulator at {emulator.base_url} is not running" in hub["detail"]
    assert hub["command"].endswith(
        f"emulator hubspot --port {emulator.port} --seed 7 --contacts 50 --companies 5 --deals 5"
    )
    assert hub["command"] in hub["fix"]
    human = op.run("doctor")
    assert human.returncode == 1 and "fix hubspot: " in human.stdout
    assert hub["command"] in human.stdout

    started = subprocess.Popen(
        hub["command"],
        shell=True,
        env=clean_env(home),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(emulator.base_url + "/", timeout=1)
                break
            except httpx.HTTPError:
                assert started.poll() is None, "the printed command exited"
                assert time.monotonic() < deadline, "the printed command did not start it"
                time.sleep(0.1)
        again = op.run("doctor", "--json")
        assert again.returncode == 0, again.stdout
        hub = {c["name"]: c for c in json.loads(again.stdout)["checks"]}["hubspot"]
        assert hub["status"] == "ok" and "emulator" in hub["detail"]
        # The restarted portal is the same one: same seed, so the same OAuth client.
        info = httpx.get(emulator.base_url + "/_emulator/info").json()
        with serve_in_thread(EmulatorConfig(seed=7, contacts=50, companies=5, deals=5)) as same:
            assert info["oauth_client_id"] == same.oauth_client_id
    finally:
        os.killpg(started.pid, signal.SIGTERM)
        started.wait(timeout=30)


def test_doctor_checks_the_hubspot_the_stored_connections_use(server: Server) -> None:
    with server.http() as http:
        hubspot_connection(http, server.emu, name="doctor hubspot")
    # The server's home reads the emulator from its environment, as its server does.
    out = Operator(server.home, server.env).run(
        "doctor", "--json", HEADWATER_HUBSPOT_BASE_URL=server.emu.base_url
    )
    assert out.returncode == 0, out.stdout
    hub = {c["name"]: c for c in json.loads(out.stdout)["checks"]}["hubspot"]
    assert server.emu.base_url in hub["detail"]
    assert re.search(r"used by \d+ connection\(s\)", hub["detail"]), hub["detail"]
