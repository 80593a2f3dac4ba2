"""Structured logs: ``HEADWATER_LOG_FORMAT=json`` gives one JSON object per line, with the
request id inside API requests and the run id inside runs, and no secret in any line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater import logs
from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.worker import Worker
from headwater.services import sources
from headwater.services.context import ServiceContext
from headwater.settings import get_settings
from tests.conftest import Identity
from tests.notifications.support import FS, build_flow, oauth_params, revoked_params, runs_of


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Headwater's handler installed as ``build_context`` does for HEADWATER_LOG_FORMAT=json."""
    settings = get_settings(log_format="json", log_level="INFO")
    root = logging.getLogger()
    level = root.level
    handler = logs.configure_logging(settings.log_format, settings.log_level)

    def lines() -> list[dict[str, Any]]:
        err = capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_lines_are_json_and_secrets_are_redacted(json_logs) -> None:
    log = logging.getLogger("headwater.test")
    log.info(
        "refreshing with token=%s for %s",
        "tok-SECRET1",
        "portal 62515",
        extra={
            "client_secret": "cs-SECRET2",
            "headers": {"Authorization": "Bearer abc-SECRET3", "x-request-id": "r-1"},
            "params": {"clientId": "public-id", "refreshToken": "SECRET7"},
            "count": 3,
        },
    )
    log.warning("calling HubSpot with Authorization: Bearer SECRET4xyz")
    log.info('body was {"refreshToken": "SECRET6", "name": "x"} and api_key=SECRET8')
    try:
        raise RuntimeError("login failed: password=SECRET5")
    except RuntimeError:
        log.exception("boom")
    lines = json_logs()
    assert len(lines) == 4
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= set(line)
        assert line["logger"] == "headwater.test"
        assert line["ts"].endswith("Z")
        assert "SECRET" not in json.dumps(line), line
    first = lines[0]
    assert first["level"] == "INFO"
    assert first["message"] == "refreshing with token=[REDACTED] for portal 62515"
    assert first["client_secret"] == "[REDACTED]"
    assert first["headers"] == {"Authorization": "[REDACTED]", "x-request-id": "r-1"}
    assert first["params"] == {"clientId": "public-id", "refreshToken": "[REDACTED]"}
    assert first["count"] == 3
    assert "request_id" not in first and "run_id" not in first
    assert lines[1]["message"] == "calling HubSpot with Authorization: [REDACTED]"
    assert '"name": "x"' in lines[2]["message"]
    assert "RuntimeError" in lines[3]["exc_info"] and lines[3]["level"] == "ERROR"


def test_request_ids_and_run_ids_are_on_the_lines(
    json_logs, client: TestClient, ident: Identity, wired: ServiceContext, emu
) -> None:
    wired.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    r = client.post(
        f"{FS}/webhooks",
        headers={**ident.headers(), "x-request-id": "req-from-the-client-1"},
        json={"name": "h", "url": "http://127.0.0.1:9/x", "events": ["flow.run.failed"]},
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == "req-from-the-client-1"
    hook_secret = r.json()["secret"]
    r2 = client.post(
        f"{FS}/webhooks",
        headers=ident.headers(),
        json={"name": "h2", "url": "http://127.0.0.1:9/y", "events": ["flow.run.failed"]},
    )
    generated = r2.headers["x-request-id"]
    ok = build_flow(client, ident, oauth_params(emu))
    bad = build_flow(client, ident, revoked_params(emu))
    worker = Worker(wired, open_connector=sources.open_connector, name="w-logs")
    assert worker.run_until_idle() == 2
    run_ids = {runs_of(client, ident, f["flow"])[0]["id"] for f in (ok, bad)}

    lines = json_logs()
    created = [ln for ln in lines if ln["logger"] == "headwater.notifications"]
    assert [ln["request_id"] for ln in created[:2]] == ["req-from-the-client-1", generated]
    assert created[0]["webhook_id"] == r.json()["id"]
    started = [
        ln for ln in lines if ln["logger"] == "headwater.worker" and " runs " in ln["message"]
    ]
    assert {ln["run_id"] for ln in started} == run_ids
    assert all(ln["run_id"] in ln["message"] for ln in started)
    assert all("request_id" not in ln for ln in started)

    text = "\n".join(json.dumps(ln) for ln in lines)
    for secret in (
        hook_secret,
        r2.json()["secret"],
        emu.oauth_client_secret,
        emu.refresh_token,
        ident.token,
        ident.client_secret,
    ):
        assert secret not in text


def test_auto_format_is_json_off_a_terminal_and_text_on_one(monkeypatch) -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert get_settings().log_format == "auto"
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert logs.resolve_format("auto") == "json"
    monkeypatch.setattr("sys.stderr", Tty())
    assert logs.resolve_format("auto") == "text"
    assert logs.resolve_format("JSON") == "json"
    assert logs.resolve_format("text") == "text"


def test_http_client_requests_are_debug_lines(json_logs) -> None:
    """httpx logs each request (each HubSpot page) at INFO: shown only at DEBUG, as DEBUG."""
    import httpx

    from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread

    with serve_in_thread(EmulatorConfig(contacts=3)) as emu:
        httpx.get(f"{emu.base_url}/crm/v3/objects/contacts", timeout=10)
        assert not [ln for ln in json_logs() if ln["logger"].startswith("httpx")]
        logging.getLogger().setLevel(logging.DEBUG)
        httpx.get(f"{emu.base_url}/crm/v3/objects/contacts", timeout=10)
        lines = [ln for ln in json_logs() if ln["logger"] == "httpx"]
    assert lines, "the request line shows at DEBUG"
    assert all(ln["level"] == "DEBUG" for ln in lines), lines


def test_text_lines_end_with_request_and_run_ids(capsys) -> None:
    root = logging.getLogger()
    level = root.level
    handler = logs.configure_logging("text", "INFO")
    try:
        with logs.log_context(request_id="req-1", run_id="run-2"):
            logging.getLogger("headwater.test").info("hello")
        logging.getLogger("headwater.test").info("bare")
        err = capsys.readouterr().err.splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert err[0].endswith("hello [request_id=req-1 run_id=run-2]"), err
    assert err[1].endswith("bare"), err


@pytest.mark.e2e
@pytest.mark.parametrize("command", [["worker", "--until-idle"], ["scheduler"]])
def test_engine_processes_write_only_json_lines_from_their_first(
    tmp_path: Any, command: list[str]
) -> None:
    """A worker's or scheduler's stderr holds JSON lines only, from start-up on (the database
    migrations' import included), so a log shipper never meets a line it cannot parse."""
    import os
    import signal
    import subprocess

    from tests.processes import start

    env = dict(os.environ) | {"HEADWATER_HOME": str(tmp_path / "home")}
    env |= {"HEADWATER_LOG_FORMAT": "json", "HEADWATER_LOG_LEVEL": "INFO"}
    env.pop("HEADWATER_DATABASE_URL", None)
    proc = start(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60 if command[-1] == "--until-idle" else 8)
    except subprocess.TimeoutExpired:  # the scheduler runs until it is stopped
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    if command[0] == "scheduler":
        assert lines, "the scheduler logged nothing"  # it logs its start and its stop
    for line in lines:
        assert line.startswith("{"), f"not a JSON line: {line!r}"
        assert json.loads(line)["level"]
