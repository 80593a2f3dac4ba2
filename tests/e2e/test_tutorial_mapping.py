"""Adobe's dataflow tutorial with a mapping, over HTTP against real processes (``headwater serve``
with its scheduler and worker, the bundled emulator): create the XDM schema, the dataset with its
``schemaRef``, the connections, the documented HubSpot contacts mapping set and the flow with
``Mapping``; the run lands nested records DuckDB reads as ``person.name.firstName`` and
``personalEmail.address``. A second flow has bad rows: exact counts in the run and the batch, and
the failed records in the Data Access download."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from deltalake import DeltaTable

from tests.api.test_dataprep import _tutorial_mapping_set
from tests.api.test_schemaregistry import TUTORIAL_SCHEMA
from tests.e2e.bodies import hubspot_connection, hubspot_source
from tests.e2e.conftest import ENGINE_ENV, Emulator, start_server
from tests.e2e.test_dataflow_processes import (
    CAT,
    CRM_TO_AEP,
    FS,
    LAKE_SPEC,
    Api,
    wait_runs,
)

REG = "/data/foundation/schemaregistry"
PREP = "/data/foundation/conversion"
EXPORT = "/data/foundation/export"
BAD = "31/02/nineteen-ninety"


def tutorial_flow(
    api: Api, emu: Emulator, *extra: dict[str, Any], options: Any = None
) -> dict[str, str]:
    schema = api.post(
        f"{REG}/tenant/schemas", {**TUTORIAL_SCHEMA, "title": f"ma {os.urandom(3).hex()}"}
    )
    ref = {"id": schema["$id"], "contentType": "application/vnd.adobe.xed-full+json;version=1"}
    ds = api.post(f"{CAT}/dataSets", {"name": f"ds-{os.urandom(4).hex()}", "schemaRef": ref})
    ds_id = ds[0].split("/")[-1]
    base = api.post(
        f"{FS}/connections",
        hubspot_connection(emu),
    )["id"]
    src = api.post(
        f"{FS}/sourceConnections",
        hubspot_source(base, path="Hubspot.Contacts"),
    )["id"]
    tgt = api.post(
        f"{FS}/targetConnections",
        {
            "name": "Target Connection for a marketing automation connector",
            "data": {"schema": {"id": schema["$id"], "version": ref["contentType"]}},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )["id"]
    body = _tutorial_mapping_set(schema["$id"])
    body["mappings"] += [
        {
            "sourceType": "EXPRESSION",
            "source": "lower(trim(Properties_Email_Value))",
            "destination": "personalEmail.address",
        },
        *extra,
    ]
    r = api.http.post(f"{PREP}/mappingSets", json=body)
    assert r.status_code == 200, r.text
    flow = api.post(
        f"{FS}/flows",
        {
            "name": "Marketing automation dataflow",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src],
            "targetConnectionIds": [tgt],
            "transformations": [
                {"name": "Mapping", "params": {"mappingId": r.json()["id"], "mappingVersion": "0"}}
            ],
            "scheduleParams": {"startTime": str(int(time.time()) - 1), "frequency": "once"},
            **({"options": options} if options is not None else {}),
        },
    )["id"]
    return {"flow": flow, "dataset": ds_id}


def _query(home: Path, org: str, ds: str, query: str, columns: list[str]) -> list[tuple[Any, ...]]:
    t = DeltaTable(str(home / "lake" / org / "prod" / ds)).to_pyarrow_table(columns=columns)
    con = duckdb.connect()
    con.register("contacts", t)
    return con.sql(query).fetchall()


@pytest.mark.e2e
def test_tutorial_mapping_lands_nested_records_and_bad_rows_are_reported(
    tmp_path: Path, emulator_factory: Any
) -> None:
    emu = emulator_factory(300)
    home = tmp_path / "home"
    proc, base, env = start_server(
        home, extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV}
    )
    try:
        api = Api(base, env)
        made = tutorial_flow(api, emu)
        (run,) = wait_runs(api, made["flow"], 1)
        assert run["state"] == "success", run["metrics"]
        live = emu.live_contact_ids()
        rows = _query(
            home,
            api.org,
            made["dataset"],
            "SELECT _id, person.name.firstName, personalEmail.address FROM contacts",
            ["_id", "person", "personalEmail"],
        )
        assert sorted(r[0] for r in rows) == sorted(live)
        assert sum(1 for r in rows if r[1]) > len(live) // 2
        assert all(r[2] is None or (r[2] == r[2].lower() and "@" in r[2]) for r in rows)

        # some rows fail the mapping: unparseable birth dates (carried in annualrevenue)
        bad = set(live[::10])
        h = {"Authorization": f"Bearer {emu.info['private_app_token']}"}
        with httpx.Client(base_url=emu.url, headers=h, timeout=30) as c:
            for start in range(0, len(live), 100):
                inputs = [
                    {"id": i, "properties": {"annualrevenue": BAD if i in bad else "1990-05-17"}}
                    for i in live[start : start + 100]
                ]
                r = c.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
                assert r.status_code == 200, r.text
        birth = {
            "sourceType": "ATTRIBUTE",
            "source": "Properties_Annualrevenue_Value",
            "destination": "person.birthDate",
        }
        made = tutorial_flow(
            api,
            emu,
            birth,
            options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": 20},
        )
        (run,) = wait_runs(api, made["flow"], 1)
        assert run["state"] == "partialSuccess", run["metrics"]
        summary = run["metrics"]["recordSummary"]
        promotion = next(a for a in run["activities"] if a["id"] == "promotionActivity")
        batch_id = promotion["targetInfo"][0]["reference"]["ids"][0]
        batch = api.get(f"{CAT}/batches/{batch_id}")[batch_id]
        listing = api.get(f"{EXPORT}/batches/{batch_id}/failed")
        (file,) = listing["data"]
        download = api.http.get(
            f"{EXPORT}/batches/{batch_id}/failed", params={"path": file["name"]}
        )
        assert download.status_code == 200, download.text
        failed = [json.loads(line) for line in download.text.splitlines()]
        failed_ids = {str(f["Id"]) for f in failed}
        live_failed = {f for f in failed_ids if f in set(live)}
        assert live_failed == bad  # exactly the bad live rows (archived ones may fail too)
        assert summary["failedRecordCount"] == len(failed) == batch["metrics"]["failedRecordCount"]
        assert all(
            f["_errors"][0]["columnName"] == "Properties_Annualrevenue_Value" for f in failed
        )
        landed = _query(home, api.org, made["dataset"], "SELECT _id FROM contacts", ["_id"])
        assert {r[0] for r in landed} == set(live) - bad
    finally:
        proc.terminate()
        proc.wait(timeout=60)
