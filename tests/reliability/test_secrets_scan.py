"""Secrets, hunted: a real ``headwater serve`` (API, scheduler and worker, logging at DEBUG) holds
connections with every kind of HubSpot credential (OAuth client secret and refresh token, a
private-app token, a service key) and a webhook with a signing secret. Flows run, one fails on
purpose with credentials HubSpot refuses, webhooks fire, a create is refused with a secret in
its body, and the UI pages are rendered. None of the secret strings appears in any API answer
(bodies and headers), log line, error, run error, webhook payload or UI page, nor in plaintext
in the SQLite file (raw bytes, WAL included) or a ``pg_dump`` of the PostgreSQL database."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.ui import session as sess
from tests.e2e.conftest import ENGINE_ENV, live_identity, start_server, stop_group
from tests.flows import CAT, CRM_TO_AEP, FS, HUBSPOT, LAKE_SPEC
from tests.notifications.support import serve_receiver


def _flow(c: httpx.Client, h: dict[str, str], spec: str, params: dict[str, str]) -> dict[str, str]:
    base = c.post(
        f"{FS}/connections",
        headers=h,
        json={
            "name": f"scan {spec}",
            "auth": {"specName": spec, "params": params},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert base.status_code == 201, base.text
    src = c.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "src",
            "baseConnectionId": base.json()["id"],
            "data": {"format": "tabular"},
            "params": {"path": "Hubspot.Contacts"},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert src.status_code == 201, src.text
    ds = c.post(f"{CAT}/dataSets", headers=h, json={"name": f"scan-{uuid.uuid4().hex[:8]}"})
    ds_id = ds.json()[0].split("/")[-1]
    tgt = c.post(
        f"{FS}/targetConnections",
        headers=h,
        json={
            "name": "lake",
            "data": {"format": "delta"},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )
    assert tgt.status_code == 201, tgt.text
    flow = c.post(
        f"{FS}/flows",
        headers=h,
        json={
            "name": f"scan flow {spec} {uuid.uuid4().hex[:6]}",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "scheduleParams": {"frequency": "once", "startTime": str(int(time.time()) - 5)},
        },
    )
    assert flow.status_code == 201, flow.text
    return {"base": base.json()["id"], "flow": flow.json()["id"], "dataset": ds_id}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def test_no_secret_leaks_anywhere(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, reliability_counts
) -> None:
    marker = uuid.uuid4().hex[:10]
    with (
        serve_in_thread(
            EmulatorConfig(contacts=30, companies=3, deals=3, tickets=3, rate_limit="none")
        ) as emu,
        serve_receiver() as hooks,
    ):
        bad_secret = f"HWSCAN-client-secret-{marker}"
        bad_refresh = f"HWSCAN-refresh-{marker}"
        bad_access = f"HWSCAN-access-{marker}"
        hook_secret = f"HWSCAN-webhook-signing-{marker}"
        secrets = {
            "oauth client secret": emu.oauth_client_secret,
            "oauth refresh token": emu.refresh_token,
            "private-app token": emu.private_app_token,
            "service key": emu.service_key,
            "refused client secret": bad_secret,
            "refused refresh token": bad_refresh,
            "refused access token": bad_access,
            "webhook signing secret": hook_secret,
        }
        home = tmp_path / "home"
        extra = {
            "HEADWATER_HUBSPOT_BASE_URL": emu.base_url,
            "HEADWATER_LOG_LEVEL": "DEBUG",
            "HEADWATER_LOG_FORMAT": "json",
            **ENGINE_ENV,
        }
        if backend == "postgres":
            extra["HEADWATER_DATABASE_URL"] = request.getfixturevalue("pg_url")
        proc, base, env = start_server(home, extra_env=extra)
        seen: list[tuple[str, str]] = []  # (where, text)
        try:
            live = live_identity(base, env)
            secrets["API client secret"] = live.client_secret
            h = live.headers() | {"Content-Type": "application/json"}

            def keep(where: str, r: httpx.Response) -> httpx.Response:
                seen.append((where, r.text))
                seen.append(
                    (where + " headers", "\n".join(f"{k}: {v}" for k, v in r.headers.items()))
                )
                return r

            with httpx.Client(base_url=base, timeout=60, event_hooks={}) as c:
                hook = keep(
                    "POST /webhooks",
                    c.post(
                        f"{FS}/webhooks",
                        headers=h,
                        json={
                            "name": "scan",
                            "url": hooks.url,
                            "events": ["flow.run.started", "flow.run.succeeded", "flow.run.failed"],
                            "secret": hook_secret,
                        },
                    ),
                )
                assert hook.status_code == 201, hook.text
                made = [
                    _flow(
                        c,
                        h,
                        "Basic Authentication",
                        {
                            "clientId": emu.oauth_client_id,
                            "clientSecret": emu.oauth_client_secret,
                            "accessToken": emu.access_token,
                            "refreshToken": emu.refresh_token,
                        },
                    ),
                    _flow(c, h, "Private App Token", {"accessToken": emu.private_app_token}),
                    _flow(c, h, "Service Key", {"serviceKey": emu.service_key}),
                    _flow(
                        c,
                        h,
                        "Basic Authentication",
                        {
                            "clientId": emu.oauth_client_id,
                            "clientSecret": bad_secret,
                            "accessToken": bad_access,
                            "refreshToken": bad_refresh,
                        },
                    ),
                ]
                # a refused create with secrets in its body: the error must not echo them
                keep(
                    "POST /connections refused",
                    c.post(
                        f"{FS}/connections",
                        headers=h,
                        json={
                            "name": "bad",
                            "auth": {
                                "specName": "Basic Authentication",
                                "params": {"clientSecret": bad_secret, "refreshToken": 12},
                            },
                            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
                        },
                    ),
                )
                keep(
                    "PATCH refused",
                    c.patch(
                        f"{FS}/connections/{made[0]['base']}",
                        headers=h | {"If-Match": '"stale"'},
                        json=[
                            {
                                "op": "replace",
                                "path": "/auth/params/clientSecret",
                                "value": bad_secret,
                            }
                        ],
                    ),
                )
                deadline = time.monotonic() + 180
                states: dict[str, str] = {}
                while time.monotonic() < deadline:
                    for m in made:
                        runs = c.get(
                            f"{FS}/runs", params={"property": f"flowId=={m['flow']}"}, headers=h
                        ).json()["items"]
                        if runs:
                            states[m["flow"]] = runs[0]["metrics"]["statusSummary"]["status"]
                    if len(states) == 4 and all(
                        s in ("success", "failed") for s in states.values()
                    ):
                        break
                    time.sleep(0.5)
                assert [states.get(m["flow"]) for m in made] == ["success"] * 3 + ["failed"], states
                deadline = time.monotonic() + 60
                while len(hooks.received) < 8 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert len(hooks.received) >= 8, len(hooks.received)

                # every read the API offers, over every resource made
                for path in (
                    "connections",
                    "sourceConnections",
                    "targetConnections",
                    "flows",
                    "runs",
                    "webhooks",
                ):
                    keep(f"GET /{path}", c.get(f"{FS}/{path}", headers=h))
                for m in made:
                    for url in (
                        f"{FS}/connections/{m['base']}",
                        f"{FS}/connections/{m['base']}/test",
                        f"{FS}/connections/{m['base']}/explore?objectType=root",
                        f"{FS}/flows/{m['flow']}",
                        f"{CAT}/dataSets/{m['dataset']}",
                        f"{CAT}/batches?dataSet={m['dataset']}",
                    ):
                        keep(f"GET {url}", c.get(url, headers=h))
                    for run in c.get(
                        f"{FS}/runs", params={"property": f"flowId=={m['flow']}"}, headers=h
                    ).json()["items"]:
                        keep("GET run", c.get(f"{FS}/runs/{run['id']}", headers=h))
                keep("GET webhook", c.get(f"{FS}/webhooks/{hook.json()['id']}", headers=h))
                keep(
                    "GET deliveries",
                    c.get(f"{FS}/webhooks/{hook.json()['id']}/deliveries", headers=h),
                )
                keep("GET /metrics", c.get("/metrics"))

            # the UI, signed in
            with httpx.Client(base_url=base, timeout=60) as ui:
                form = ui.get("/ui/sign-in")
                r = ui.post(
                    "/ui/sign-in",
                    data={
                        "client_id": live.client_id,
                        "client_secret": live.client_secret,
                        "csrf_token": form.cookies.get(sess.PRE_SESSION_COOKIE, ""),
                    },
                    follow_redirects=False,
                )
                assert r.status_code == 303, r.text
                pages = [
                    "/ui/sources",
                    "/ui/accounts",
                    "/ui/dataflows",
                    "/ui/monitoring",
                    "/ui/datasets",
                ]
                for m in made:
                    pages += [
                        f"/ui/accounts/{m['base']}",
                        f"/ui/accounts/{m['base']}/edit",
                        f"/ui/accounts/{m['base']}/data",
                        f"/ui/monitoring/{m['flow']}",
                        f"/ui/datasets/{m['dataset']}",
                    ]
                failed_runs = c_runs(base, h, made[3]["flow"])
                pages += [f"/ui/runs/{run}" for run in failed_runs]
                for page in pages:
                    r = ui.get(page)
                    assert r.status_code == 200, (page, r.status_code)
                    keep(f"UI {page}", r)
        finally:
            stop_group(proc)

        for received in hooks.received:
            seen.append(("webhook payload", received.body.decode("utf-8", "replace")))
            seen.append(
                ("webhook headers", "\n".join(f"{k}: {v}" for k, v in received.headers.items()))
            )
        log = (home / "serve.log").read_text(errors="replace")
        assert log.count("\n") > 50 and '"level":"DEBUG"' in log.replace(" ", ""), log[-2000:]
        seen.append(("serve log", log))

        if backend == "sqlite":
            blobs = [p.read_bytes() for p in home.glob("headwater.db*")]
            stored = b"".join(blobs)
            where = "SQLite file"
        else:
            url = make_url(extra["HEADWATER_DATABASE_URL"])
            pg_dump = shutil.which("pg_dump")
            if pg_dump is None:
                pytest.skip("pg_dump not installed")
            dump = subprocess.run(
                [
                    pg_dump,
                    "-h",
                    url.host or "127.0.0.1",
                    "-p",
                    str(url.port or 5432),
                    "-U",
                    url.username or "postgres",
                    "--data-only",
                    url.database or "",
                ],
                capture_output=True,
                timeout=120,
                check=True,
            )
            stored = dump.stdout
            where = "pg_dump"
        # the scans see real data: the public half of the credentials is stored and logged
        assert emu.oauth_client_id.encode() in stored, f"the {where} holds no connection"
        assert failed_runs and failed_runs[0] in log, "the serve log never names the failed run"

    leaks = []
    for name, value in secrets.items():
        assert len(value) >= 12, name
        for place, text in seen:
            if value in text:
                leaks.append(f"{name} in {place}")
        if value.encode() in stored:
            leaks.append(f"{name} in the {where} in plaintext")
    reliability_counts(
        f"secrets scan ({backend})",
        secrets=len(secrets),
        places=len(seen) + 1,
        log_lines=log.count("\n"),
        failures=len(leaks),
    )
    assert not leaks, leaks


def c_runs(base: str, h: dict[str, str], flow_id: str) -> list[str]:
    r = httpx.get(f"{base}{FS}/runs", params={"property": f"flowId=={flow_id}"}, headers=h)
    return [run["id"] for run in r.json()["items"]]
