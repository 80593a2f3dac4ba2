"""Freshness as a user lives it, with real processes and HTTP only: ``headwater serve`` and the
bundled emulator (its search index lagging writes by a second, as HubSpot's does), every change
made through the emulator's HubSpot write API a few seconds before "run now", and the run that
follows showing it in the Delta table.

The tests of this module share one server, one emulator and one flow, in order: each starts from
the dataset the previous one left, which is exact against the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable

from tests.e2e.conftest import ENGINE_ENV, Emulator, start_server
from tests.e2e.test_dataflow_processes import FS, HUBSPOT, Api, make_flow

pytestmark = pytest.mark.e2e

CONTACTS = 12_000
#: the emulator's search index lags writes by this much (HubSpot's usual is about a second)
INDEX_LAG_MS = 1_000
#: how long before "run now" the changes are made
SETTLE_S = 3.0
FIRSTNAME = "Properties_Firstname_Value"
COMPANIES = "Associations_Companies_Ids"


class Portal:
    """The emulator's HubSpot API, as any HubSpot client calls it (private-app token)."""

    def __init__(self, emu: Emulator) -> None:
        self.http = httpx.Client(
            base_url=emu.url,
            headers={"Authorization": f"Bearer {emu.info['private_app_token']}"},
            timeout=60,
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = self.http.request(method, path, json=body)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def rename(self, ids: list[str], tag: str) -> dict[str, str]:
        """Batch-update the first names of ``ids`` (100 per request, HubSpot's batch limit)."""
        names = {i: f"{tag}-{i}" for i in ids}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            self.call(
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                {"inputs": [{"id": i, "properties": {"firstname": names[i]}} for i in chunk]},
            )
        return names

    def live_ids(self) -> set[str]:
        ids: set[str] = set()
        after = None
        while True:
            params: dict[str, Any] = {"limit": 100, "properties": "hs_object_id"}
            if after:
                params["after"] = after
            body = self.http.get("/crm/v3/objects/contacts", params=params).json()
            ids.update(r["id"] for r in body["results"])
            if "paging" not in body:
                return ids
            after = body["paging"]["next"]["after"]

    def companies_of(self, contact: str) -> set[str]:
        body = self.call("GET", f"/crm/v4/objects/contacts/{contact}/associations/companies")
        return {str(r["toObjectId"]) for r in body["results"]}


class Setup:
    def __init__(self, api: Api, emu: Emulator, home: Path, flow: str, dataset: str) -> None:
        self.api, self.emu, self.home, self.flow, self.dataset = api, emu, home, flow, dataset
        self.portal = Portal(emu)

    def rows(self, columns: list[str]) -> dict[str, dict[str, Any]]:
        table = DeltaTable(str(self.home / "lake" / self.api.org / "prod" / self.dataset))
        return {r["Id"]: r for r in table.to_pyarrow_table(columns=columns).to_pylist()}

    def run_now(self, *, full: bool = False) -> dict[str, Any]:
        """Queue a run (through the API, as "run now" does) and wait for it to end."""
        if full:
            run_id = self.api.post(f"{FS}/runs", {"flowId": self.flow, "params": {"mode": "full"}})[
                "id"
            ]
        else:
            before = {r["id"] for r in self.runs()}
            r = self.api.http.post(f"{FS}/flows/{self.flow}/action", params={"op": "run"})
            assert r.status_code == 200, r.text
            run_id = next(r["id"] for r in self.runs() if r["id"] not in before)
        return self.wait(run_id)

    def runs(self) -> list[dict[str, Any]]:
        return list(
            self.api.get(f"{FS}/runs", property=f"flowId=={self.flow}", orderby="-createdAt")[
                "items"
            ]
        )

    def wait(self, run_id: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.api.get(f"{FS}/runs/{run_id}")["items"][0]
            if run["state"] in ("success", "failed", "partialSuccess"):
                assert run["state"] == "success", run["metrics"]
                return dict(run)
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not end in {timeout} s")

    def assert_exact(self) -> None:
        assert set(self.rows(["Id"])) == self.portal.live_ids()


def copy_ext(run: dict[str, Any]) -> dict[str, Any]:
    act = next(a for a in run["activities"] if a["id"] == "copyActivity")
    return dict(act["statusSummary"]["extensions"])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, emulator_module) -> Iterator[Setup]:
    emu: Emulator = emulator_module(CONTACTS, "--faults", "latency:2ms", lag_ms=INDEX_LAG_MS)
    home = tmp_path_factory.mktemp("fresh") / "home"
    proc, base, env = start_server(
        home, extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV}
    )
    try:
        api = Api(base, env)
        conn = api.post(
            f"{FS}/connections",
            {
                "name": "HubSpot",
                "auth": {
                    "specName": "Private App Token",
                    "params": {"accessToken": emu.info["private_app_token"]},
                },
                "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
            },
        )["id"]
        flow = make_flow(
            api,
            emu,
            base=conn,
            # association lists compared on every run (the default cadence follows the cost)
            source_params={"associationsEverySeconds": 0},
            schedule={
                "startTime": str(int(time.time()) + 86_400),
                "frequency": "day",
                "interval": "1",
            },
        )
        flow, ds = flow["flow"], flow["dataset"]
        made = Setup(api, emu, home, flow, ds)
        first = made.run_now()
        assert copy_ext(first)["strategy"] == "full"
        made.assert_exact()
        yield made
        made.portal.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_edits_and_archives_made_seconds_before_run_now(setup: Setup) -> None:
    ids = sorted(setup.rows(["Id"]), key=int)
    edited = setup.portal.rename(ids[100:150], "edit")
    archived = ids[200:205]
    for i in archived:
        setup.portal.call("DELETE", f"/crm/v3/objects/contacts/{i}", status=204)
    time.sleep(SETTLE_S)

    run = setup.run_now()

    ext = copy_ext(run)
    assert ext["strategy"] != "full", ext
    assert ext["deletesCheckedAt"] is not None
    rows = setup.rows(["Id", FIRSTNAME])
    assert {i: rows[i][FIRSTNAME] for i in edited} == edited
    assert not set(archived) & set(rows)
    assert run["metrics"]["recordSummary"]["deletedRecordCount"] == len(archived)
    setup.assert_exact()


def test_association_only_changes_show_in_the_next_run(setup: Setup) -> None:
    contact = sorted(setup.rows(["Id"]), key=int)[300]
    had = setup.portal.companies_of(contact)
    company = next(c for c in ("1", "2", "3", "4") if c not in had)
    setup.portal.call(
        "PUT",
        f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}",
    )
    removed = sorted(had)[0] if had else None
    if removed is not None:
        setup.portal.call(
            "DELETE",
            f"/crm/v4/objects/contacts/{contact}/associations/companies/{removed}",
            status=204,
        )
    time.sleep(SETTLE_S)

    run = setup.run_now()

    ext = copy_ext(run)
    assert ext["associationChanges"] >= 1 and ext["associationRequests"] >= 1, ext
    stored = {str(c) for c in setup.rows(["Id", COMPANIES])[contact][COMPANIES] or []}
    assert stored == setup.portal.companies_of(contact)
    assert company in stored and (removed is None or removed not in stored)


def test_a_merge_removes_both_records_and_lands_the_winner(setup: Setup) -> None:
    ids = sorted(setup.rows(["Id"]), key=int)
    primary, secondary = ids[400], ids[401]
    merged = setup.portal.call(
        "POST",
        "/crm/v3/objects/contacts/merge",
        {"primaryObjectId": primary, "objectIdToMerge": secondary},
    )
    time.sleep(SETTLE_S)

    run = setup.run_now()

    rows = setup.rows(["Id"])
    assert merged["id"] in rows
    assert primary not in rows and secondary not in rows
    assert copy_ext(run)["mergedRecords"] >= 2
    setup.assert_exact()


def test_a_full_run_removes_a_gdpr_deleted_record(setup: Setup) -> None:
    gone = sorted(setup.rows(["Id"]), key=int)[500]
    setup.portal.call(
        "POST", "/crm/v3/objects/contacts/gdpr-delete", {"objectId": gone}, status=204
    )
    time.sleep(SETTLE_S)
    run = setup.run_now(full=True)

    ext = copy_ext(run)
    assert ext["mode"] == "full" and ext["completeRead"] is True, ext
    promotion = next(a for a in run["activities"] if a["id"] == "promotionActivity")
    assert promotion["statusSummary"]["extensions"]["reconciledRecordCount"] == 1
    assert gone not in setup.rows(["Id"])
    setup.assert_exact()


def test_writes_during_a_read_land_by_the_next_run(setup: Setup) -> None:
    ids = sorted(setup.rows(["Id"]), key=int)
    run_id = setup.api.post(f"{FS}/runs", {"flowId": setup.flow, "params": {"mode": "full"}})["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = setup.api.get(f"{FS}/runs/{run_id}")["items"][0]
        read = run["metrics"]["recordSummary"].get("inputRecordCount", 0)
        if run["state"] == "inProgress" and read > 0:
            break
        assert run["state"] in ("scheduled", "inProgress"), run["metrics"]
        time.sleep(0.05)
    written = setup.portal.rename(ids[600:620], "during")
    assert setup.api.get(f"{FS}/runs/{run_id}")["items"][0]["state"] == "inProgress", (
        "the read ended before the writes: the test proves nothing"
    )
    setup.wait(run_id)
    time.sleep(SETTLE_S)

    setup.run_now()

    rows = setup.rows(["Id", FIRSTNAME])
    assert {i: rows[i][FIRSTNAME] for i in written} == written
    setup.assert_exact()


def test_eleven_thousand_changes_past_the_search_cap_land_in_one_run(setup: Setup) -> None:
    """Run now after 11,000 of 12,000 changed: the planner picks the cheaper read (a re-list
    here); the next test makes the same run read by search."""
    ids = sorted(setup.rows(["Id"]), key=int)[:11_000]
    assert len(ids) == 11_000
    renamed = setup.portal.rename(ids, "bulk")
    time.sleep(SETTLE_S)

    run = setup.run_now()

    rows = setup.rows(["Id", FIRSTNAME])
    assert sum(rows[i][FIRSTNAME] == renamed[i] for i in ids) == 11_000
    assert run["metrics"]["recordSummary"]["inputRecordCount"] >= 11_000
    ext = copy_ext(run)
    assert ext["strategy"] and ext["reason"], ext
    setup.assert_exact()


def test_eleven_thousand_changes_read_by_search_cross_the_cap_in_one_run(setup: Setup) -> None:
    """The same 11,000 changes read by search (``params.mode: incremental``), not re-listed: the
    keyset windows carry the read past HubSpot's 10,000-result cap without one refused page."""
    ids = sorted(setup.rows(["Id"]), key=int)[:11_000]
    renamed = setup.portal.rename(ids, "capped")
    time.sleep(SETTLE_S)
    httpx.post(setup.emu.url + "/_emulator/stats/reset").raise_for_status()

    run_id = setup.api.post(
        f"{FS}/runs", {"flowId": setup.flow, "params": {"mode": "incremental"}}
    )["id"]
    run = setup.wait(run_id)

    stats = httpx.get(setup.emu.url + "/_emulator/stats").json()
    ext = copy_ext(run)
    assert ext["mode"] == "incremental" and ext["strategy"] == "incremental", ext
    assert ext["expectedTotal"] >= 11_000
    # 200 results a page: past the cap takes more than 50 pages, and none was refused
    assert stats["requests"]["objects.search"] > 10_000 // 200, stats["requests"]
    assert stats["statuses"].get("400", 0) == 0, stats["statuses"]
    rows = setup.rows(["Id", FIRSTNAME])
    assert sum(rows[i][FIRSTNAME] == renamed[i] for i in ids) == 11_000
    setup.assert_exact()
