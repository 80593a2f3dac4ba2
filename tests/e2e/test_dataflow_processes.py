"""Dataflows with real processes and HTTP only: the bundled emulator (``headwater emulator
hubspot``), ``headwater serve`` (API + scheduler + worker) or separate ``headwater worker``s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable

from tests.e2e.bodies import hubspot_connection, hubspot_source
from tests.e2e.conftest import ENGINE_ENV, Emulator, run_cli, start_server
from tests.processes import start as start_process
from tests.processes import stop_group

FS = "/data/foundation/flowservice"
CAT = "/data/foundation/catalog"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


_OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


class Api:
    def __init__(self, base: str, env: dict[str, str]) -> None:
        org = "E2E" + os.urandom(4).hex().upper() + "@AdobeOrg"
        run_cli("orgs", "create", org, env=env)
        client = json.loads(
            run_cli("clients", "create", "--org", org, "--name", "e2e", "--json", env=env)
        )
        token = httpx.post(
            base + "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": client["clientId"],
                "client_secret": client["clientSecret"],
            },
        ).json()["access_token"]
        self.org = org
        self.http = httpx.Client(
            base_url=base,
            timeout=60,
            headers={
                "Authorization": f"Bearer {token}",
                "x-api-key": client["clientId"],
                "x-gw-ims-org-id": org,
                "x-sandbox-name": "prod",
            },
        )
        _OPEN.append(self.http)

    def post(self, path: str, body: Any, status: int = 201) -> Any:
        r = self.http.post(path, json=body)
        assert r.status_code == status, r.text
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()


def make_flow(
    api: Api,
    emu: Emulator,
    *,
    base: str | None = None,
    table: str = "Hubspot.Contacts",
    source_params: dict[str, Any] | None = None,
    schedule: dict[str, str] | None = None,
) -> dict[str, str]:
    """A flow from ``base`` (a new OAuth connection when None) into a new dataset; it runs once
    at once unless ``schedule`` says otherwise."""
    if base is None:
        base = api.post(
            f"{FS}/connections",
            hubspot_connection(emu, description="connection for HubSpot"),
        )["id"]
    src = api.post(
        f"{FS}/sourceConnections",
        hubspot_source(base, path=table, **(source_params or {})),
    )["id"]
    ds = api.post(f"{CAT}/dataSets", {"name": f"ds-{os.urandom(4).hex()}"})[0].split("/")[-1]
    tgt = api.post(
        f"{FS}/targetConnections",
        {
            "name": "Data Lake",
            "data": {
                "schema": {
                    "id": "https://ns.adobe.com/acme/schemas/contacts",
                    "version": "application/vnd.adobe.xed-full+json;version=1",
                }
            },
            "params": {"dataSetId": ds},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )["id"]
    flow = api.post(
        f"{FS}/flows",
        {
            "name": "HubSpot to the lake",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src],
            "targetConnectionIds": [tgt],
            "transformations": [],
            "scheduleParams": schedule
            or {"startTime": str(int(time.time()) - 1), "frequency": "once", "interval": "15"},
        },
    )["id"]
    return {"base": base, "flow": flow, "dataset": ds}


def wait_runs(api: Api, flow: str, n: int, timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.get(f"{FS}/runs", property=f"flowId=={flow}", orderby="createdAt")["items"]
        done = [r for r in runs if r["state"] in ("success", "failed", "partialSuccess")]
        if len(done) >= n:
            return runs
        time.sleep(0.3)
    raise AssertionError(f"flow {flow}: fewer than {n} finished runs after {timeout} s: {runs}")


def lake_ids(home: Path, org: str, ds: str) -> list[str]:
    table = DeltaTable(str(home / "lake" / org / "prod" / ds))
    return table.to_pyarrow_table(columns=["Id"]).column("Id").to_pylist()


@pytest.mark.e2e
def test_tutorial_to_dataset_with_real_processes(tmp_path: Path, emulator_factory) -> None:
    emu = emulator_factory(3_000)
    home = tmp_path / "home"
    proc, base, env = start_server(
        home, extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV}
    )
    try:
        api = Api(base, env)
        made = make_flow(api, emu)
        tables = api.get(f"{FS}/connections/{made['base']}/explore", objectType="root")
        assert "Hubspot.Contacts" in {t["name"] for t in tables}
        runs = wait_runs(api, made["flow"], 1)
        first = runs[0]
        assert first["state"] == "success", first["metrics"]
        expected = emu.live_contact_ids()
        ids = lake_ids(home, api.org, made["dataset"])
        assert sorted(ids, key=int) == sorted(expected, key=int)
        assert len(set(ids)) == len(ids)
        assert first["metrics"]["recordSummary"]["createdRecordCount"] == len(expected)

        touched = httpx.post(
            emu.url + "/_emulator/touch", json={"objectType": "contacts", "count": 500}
        ).json()
        archived = httpx.post(
            emu.url + "/_emulator/archive", json={"objectType": "contacts", "count": 20}
        ).json()
        assert len(touched["ids"]) == 500 and len(archived["ids"]) == 20
        r = api.http.post(f"{FS}/flows/{made['flow']}/action", params={"op": "run"})
        assert r.status_code == 200, r.text
        runs = wait_runs(api, made["flow"], 2)
        second = runs[-1]
        assert second["state"] == "success", second["metrics"]
        read = second["metrics"]["recordSummary"]["inputRecordCount"]
        assert 480 <= read <= 600, read  # about the 500 touched (+ the 20 archived)
        expected = emu.live_contact_ids()
        ids = lake_ids(home, api.org, made["dataset"])
        assert sorted(ids, key=int) == sorted(expected, key=int)
        assert len(ids) == 3_000 - len(archived["ids"]) - (
            3_000 - len(expected) - len(archived["ids"])
        )
        assert second["metrics"]["recordSummary"]["deletedRecordCount"] == 20
    finally:
        stop_group(proc)


def _worker(env: dict[str, str], lease: int = 3) -> subprocess.Popen[bytes]:
    return start_process(["worker", "--concurrency", "1", "--lease-seconds", str(lease)], env=env)


@pytest.mark.e2e
@pytest.mark.slow  # make test-all: kill -9 around the commit stays in make test (test_faults.py)
@pytest.mark.parametrize(("contacts", "kill_after"), [(200_000, 40_000)], ids=["200k"])
def test_kill_9_worker_mid_run_resumes_exactly(
    tmp_path: Path, emulator_factory, contacts: int, kill_after: int
) -> None:
    emu = emulator_factory(contacts)
    home = tmp_path / "home"
    api_proc, base, env = start_server(
        home,
        extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV},
        serve_args=("--no-engine",),
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        api = Api(base, env)
        made = make_flow(api, emu)
        first = _worker(env)
        workers.append(first)
        run_id = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = api.get(f"{FS}/runs", property=f"flowId=={made['flow']}")["items"]
            if (
                runs
                and runs[0]["metrics"]["recordSummary"].get("inputRecordCount", 0) >= kill_after
            ):
                run_id = runs[0]["id"]
                break
            time.sleep(0.1)
        assert run_id is not None, "the first worker made no progress"
        first.send_signal(signal.SIGKILL)
        first.wait()
        workers.append(_worker(env))
        runs = wait_runs(api, made["flow"], 1, timeout=300)
        run = runs[0]
        assert run["id"] == run_id
        assert run["state"] == "success", run["metrics"]
        assert run["attempt"] >= 2
        ids = lake_ids(home, api.org, made["dataset"])
        assert len(set(ids)) == len(ids), "duplicate ids after the resume"
        assert sorted(ids, key=int) == sorted(emu.live_contact_ids(), key=int)
    finally:
        for w in [*workers, api_proc]:
            stop_group(w)


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.slow  # make test-all: one run at a time per flow stays in make test (test_concurrency.py)
def test_three_workers_on_postgres_run_thirty_flows_exactly_once(
    tmp_path: Path, emulator_factory, pg_url: str
) -> None:
    emu = emulator_factory(50)
    home = tmp_path / "home"
    extra = {"HEADWATER_HUBSPOT_BASE_URL": emu.url, "HEADWATER_DATABASE_URL": pg_url, **ENGINE_ENV}
    api_proc, base, env = start_server(home, extra_env=extra, serve_args=("--no-engine",))
    workers: list[subprocess.Popen[bytes]] = []
    try:
        api = Api(base, env)
        first = make_flow(api, emu, table="Hubspot.Products")
        flows = [first] + [
            make_flow(api, emu, base=first["base"], table="Hubspot.Products") for _ in range(29)
        ]
        workers = [_worker(env, lease=30) for _ in range(3)]
        for f in flows:
            runs = wait_runs(api, f["flow"], 1, timeout=240)
            assert len(runs) == 1
            assert runs[0]["state"] == "success", runs[0]["metrics"]
            assert runs[0]["attempt"] == 1
            batches = api.get(f"{CAT}/batches", dataSet=f["dataset"])
            assert len(batches) == 1, batches
            table = DeltaTable(str(home / "lake" / api.org / "prod" / f["dataset"]))
            # one run, one Delta commit: the first commit creates the table with the run's rows
            assert table.version() == 0, table.history()
            assert table.to_pyarrow_table(columns=["Id"]).num_rows == 5
    finally:
        for w in [*workers, api_proc]:
            stop_group(w)


@pytest.mark.e2e
@pytest.mark.slow  # make test-all: test_stopping.py's reading worker shows the same in make test
def test_sigterm_gives_the_run_back_at_its_checkpoint(tmp_path: Path, emulator_factory) -> None:
    emu = emulator_factory(30_000)
    home = tmp_path / "home"
    api_proc, base, env = start_server(
        home,
        extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV},
        serve_args=("--no-engine",),
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        api = Api(base, env)
        made = make_flow(api, emu)
        first = _worker(env, lease=60)
        workers.append(first)
        deadline = time.monotonic() + 120
        progressed = False
        while time.monotonic() < deadline and not progressed:
            runs = api.get(f"{FS}/runs", property=f"flowId=={made['flow']}")["items"]
            progressed = (
                bool(runs)
                and runs[0]["metrics"]["recordSummary"].get("inputRecordCount", 0) >= 5_000
            )
            time.sleep(0.1)
        assert progressed, "the worker made no progress"
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 0
        run = api.get(f"{FS}/runs", property=f"flowId=={made['flow']}")["items"][0]
        # given back (not waiting for its 60 s lease to expire), with what it had read so far
        assert run["state"] == "scheduled", run["state"]
        assert run["attempt"] == 1
        workers.append(_worker(env, lease=60))
        runs = wait_runs(api, made["flow"], 1, timeout=300)
        assert runs[0]["state"] == "success", runs[0]["metrics"]
        assert runs[0]["attempt"] == 2
        ids = lake_ids(home, api.org, made["dataset"])
        assert len(set(ids)) == len(ids)
        assert sorted(ids, key=int) == sorted(emu.live_contact_ids(), key=int)
    finally:
        for w in [*workers, api_proc]:
            stop_group(w)
