"""A flow's ``Mapping`` transformation in runs: Adobe's tutorial mapping set lands nested XDM
records keyed by ``_id``; records that fail mapping fail alone, are counted in the run, the
batch and (with ``errorDiagnosticsEnabled``) the failed-records download; above
``partialIngestionPercent`` the run fails and the dataset is unchanged. Flows whose mapping
cannot apply are refused at creation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import httpx
import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.domain.runs import RunStatus
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.engine.executor import RunControl, run_one
from headwater.engine.worker import Worker
from headwater.services import run_outcomes, sources
from headwater.services.context import ServiceContext
from tests.api.test_dataprep import _tutorial_mapping_set
from tests.api.test_schemaregistry import TUTORIAL_SCHEMA
from tests.conftest import Identity
from tests.connectors.conftest import archived_ids, live_ids
from tests.flows import CAT, CRM_TO_AEP, FS, HUBSPOT, LAKE_SPEC, create_connection, oauth_params

REG = "/data/foundation/schemaregistry"
PREP = "/data/foundation/conversion"
EXPORT = "/data/foundation/export"
GOOD_DATE = "1990-05-17"
BAD_DATE = "17th of May, nineteen-ninety"


@pytest.fixture
def emu() -> Iterator[Any]:
    with serve_in_thread(
        EmulatorConfig(
            seed=5,
            contacts=120,
            companies=5,
            deals=5,
            tickets=5,
            products=2,
            line_items=2,
            engagements=2,
            custom_records=2,
            rate_limit="none",
            search_index_lag_ms=0,
        )
    ) as running:
        yield running


def _h(ident: Identity) -> dict[str, str]:
    return {**ident.headers(), "Content-Type": "application/json"}


def set_birth_dates(emu: Any, bad_every: int) -> set[str]:
    """Give every live contact a birth date in ``annualrevenue`` (the emulator has no birth-date
    property): every ``bad_every``-th one unparseable. Returns the ids of the bad ones."""
    ids = live_ids(emu, "contacts")
    bad = {i for n, i in enumerate(ids) if n % bad_every == 0}
    h = {"Authorization": f"Bearer {emu.access_token}"}
    with httpx.Client(base_url=emu.base_url, headers=h, timeout=30) as c:
        for start in range(0, len(ids), 100):
            inputs = [
                {"id": i, "properties": {"annualrevenue": BAD_DATE if i in bad else GOOD_DATE}}
                for i in ids[start : start + 100]
            ]
            r = c.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
            assert r.status_code == 200, r.text
    return bad


def mapping_set(
    client: TestClient, ident: Identity, schema_id: str, *extra: dict, with_output: bool = True
) -> str:
    body = _tutorial_mapping_set(schema_id)
    if not with_output:  # the flow's dataset gives the schema; checked when the flow attaches it
        del body["xdmSchema"], body["xdmVersion"]
    body["mappings"] += [
        {
            "sourceType": "EXPRESSION",
            "source": "lower(trim(Properties_Email_Value))",
            "destination": "personalEmail.address",
        },
        {"sourceType": "ATTRIBUTE", "source": "Portal_Id", "destination": "personID"},
        *extra,
    ]
    r = client.post(f"{PREP}/mappingSets", json=body, headers=_h(ident))
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def tutorial_flow(
    client: TestClient,
    ident: Identity,
    emu: Any,
    *,
    extra: tuple[dict, ...] = (),
    options: dict | None = None,
    expect: int = 201,
    with_output: bool = True,
    revise: tuple[dict, ...] = (),
    version: int = 0,
) -> dict[str, Any]:
    """Adobe's dataflow tutorial: schema, dataset with its schemaRef, source and target
    connections, the contacts mapping set, the flow with ``Mapping``."""
    h = _h(ident)
    schema = client.post(
        f"{REG}/tenant/schemas",
        json={**TUTORIAL_SCHEMA, "title": f"marketing automation {time.time_ns()}"},
        headers=h,
    )
    assert schema.status_code == 201, schema.text
    sid = schema.json()["$id"]
    ref = {"id": sid, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
    ds = client.post(
        f"{CAT}/dataSets", json={"name": f"contacts-{time.time_ns()}", "schemaRef": ref}, headers=h
    )
    assert ds.status_code == 201, ds.text
    ds_id = ds.json()[0].split("/")[-1]
    base = create_connection(client, ident, oauth_params(emu))
    src = client.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "HubSpot contacts",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {"path": "Hubspot.Contacts"},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert src.status_code == 201, src.text
    tgt = client.post(
        f"{FS}/targetConnections",
        headers=h,
        json={
            "name": "lake",
            "data": {"format": "delta", "schema": {"id": sid, "version": ref["contentType"]}},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )
    assert tgt.status_code == 201, tgt.text
    ms_id = mapping_set(client, ident, sid, *extra, with_output=with_output)
    if revise:  # a second version of the set, with more mappings
        current = client.get(f"{PREP}/mappingSets/{ms_id}", headers=h).json()
        body = _tutorial_mapping_set(sid)
        body["mappings"] = [
            {"sourceAttribute": m["sourceAttribute"], "destinationXdmPath": m["destinationXdmPath"]}
            if m["sourceType"] == "text/x.schema-path"
            else {
                "sourceType": m["sourceType"],
                "source": m["source"],
                "destination": m["destination"],
            }
            for m in current["mappings"]
        ] + list(revise)
        r = client.put(f"{PREP}/mappingSets/{ms_id}", json=body, headers=h)
        assert r.status_code == 200 and r.json()["version"] == 1, r.text
    flow = client.post(
        f"{FS}/flows",
        headers=h,
        json={
            "name": f"contacts {time.time_ns()}",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "transformations": [
                {"name": "Mapping", "params": {"mappingId": ms_id, "mappingVersion": version}}
            ],
            "scheduleParams": {"startTime": str(int(time.time()) - 5), "frequency": "once"},
            **({"options": options} if options is not None else {}),
        },
    )
    assert flow.status_code == expect, flow.text
    return {"flow": flow.json().get("id"), "dataset": ds_id, "body": flow.json(), "mapping": ms_id}


def run_claimed(ctx: ServiceContext) -> Any:
    worker = Worker(ctx, open_connector=sources.open_connector, name="w-mapping")
    run = worker.claim()
    assert run is not None
    outcome = run_one(
        ctx, run, worker_id=worker.id, open_connector=sources.open_connector, control=RunControl()
    )
    run_outcomes.record_outcome(ctx, run, worker_id=worker.id, outcome=outcome)
    return run, outcome


def sql(uri: str, query: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``query`` over the top-level ``columns`` of the Delta table at ``uri`` (``FROM t``), in
    DuckDB."""
    t = DeltaTable(uri).to_pyarrow_table(columns=list(columns))
    con = duckdb.connect()
    con.register("t", t)
    return con.sql(query).fetchall()


def _table_uri(client: TestClient, ident: Identity, ds_id: str) -> str:
    r = client.get(f"{CAT}/dataSets/{ds_id}", headers=ident.headers())
    assert r.status_code == 200, r.text
    return str(r.json()[ds_id]["headwater"]["tableUri"])


BIRTH = {
    "sourceType": "ATTRIBUTE",
    "source": "Properties_Annualrevenue_Value",
    "destination": "person.birthDate",
}


@pytest.fixture
def hubspot(ctx: ServiceContext, emu: Any) -> Any:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    return emu


def test_tutorial_mapping_lands_nested_xdm_records(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    made = tutorial_flow(client, ident, hubspot)
    _, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.SUCCESS, outcome.doc["metrics"]
    uri = _table_uri(client, ident, made["dataset"])
    rows = sql(
        uri,
        "SELECT _id, person.name.firstName AS first, personalEmail.address AS email, "
        "personID AS portal, _repo.createDate IS NOT NULL AS created FROM t",
        ("_id", "person", "personalEmail", "personID", "_repo"),
    )
    ids = live_ids(hubspot, "contacts")
    assert sorted(r[0] for r in rows) == sorted(ids)
    emails = [r[2] for r in rows if r[2]]
    assert emails and all(e == e.lower().strip() and "@" in e for e in emails)
    assert any(r[1] for r in rows)
    assert {r[3] for r in rows} == {"62515"}  # the emulator's portal id, a per-run constant
    assert all(r[4] for r in rows)
    # the table follows the XDM schema (nested structs), not HubSpot's columns
    columns = set(DeltaTable(uri).schema().to_arrow().names)
    assert {"_id", "person", "personalEmail", "_repo"} <= columns
    assert "Properties_Firstname_Value" not in columns


@pytest.mark.parametrize(("version", "title"), [(0, None), (1, "Dr.")])
def test_a_flow_applies_the_mapping_version_it_names(
    client: TestClient,
    ident: Identity,
    ctx: ServiceContext,
    hubspot: Any,
    version: int,
    title: str | None,
) -> None:
    """Version 1 of the set adds a constant; a flow pinned to version 0 does not get it."""
    static = {"sourceType": "STATIC", "source": "Dr.", "destination": "person.name.courtesyTitle"}
    made = tutorial_flow(client, ident, hubspot, revise=(static,), version=version)
    _, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.SUCCESS, outcome.doc["metrics"]
    uri = _table_uri(client, ident, made["dataset"])
    titles = sql(uri, "SELECT DISTINCT person.name.courtesyTitle FROM t", ("person",))
    assert titles == [(title,)]


def test_bad_rows_under_the_threshold_are_counted_and_downloadable(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    bad = set_birth_dates(hubspot, bad_every=10)
    made = tutorial_flow(
        client,
        ident,
        hubspot,
        extra=(BIRTH,),
        options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": 25},
    )
    run, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.PARTIAL_SUCCESS, outcome.doc["metrics"]
    doc = client.get(f"{FS}/runs/{run.id}", headers=ident.headers()).json()["items"][0]
    summary = doc["metrics"]["recordSummary"]
    failed = summary["failedRecordCount"]
    archived = set(archived_ids(hubspot, "contacts"))
    assert bad <= set(_failed_ids(client, ident, doc)) <= bad | archived
    assert failed == len(_failed_ids(client, ident, doc))
    assert doc["metrics"]["statusSummary"]["status"] == "partialSuccess"
    assert any(e["code"] == "MAPPER-3700-400" for e in doc["metrics"]["statusSummary"]["errors"])

    batch_id = _batch_id(doc)
    batch = client.get(f"{CAT}/batches/{batch_id}", headers=ident.headers())
    assert batch.status_code == 200, batch.text
    b = batch.json()[batch_id]
    assert b["metrics"]["failedRecordCount"] == failed
    assert b["metrics"]["inputRecordCount"] == summary["inputRecordCount"]
    assert b["tags"] == {"acp_enableErrorDiagnostics": True, "acp_partialIngestionPercent": 25}
    codes = {e["code"]: e for e in b["errors"]}
    assert codes["MAPPER-3700-400"]["recordCount"] == failed
    assert "INGEST-1212-400" in codes

    # good rows landed; the bad ones did not
    uri = _table_uri(client, ident, made["dataset"])
    landed = {r[0] for r in sql(uri, "SELECT _id FROM t", ("_id",))}
    assert landed == set(live_ids(hubspot, "contacts")) - bad
    dates = sql(uri, "SELECT DISTINCT person.birthDate FROM t", ("person",))
    assert [str(d[0]) for d in dates] == [GOOD_DATE]


def _batch_id(doc: dict[str, Any]) -> str:
    promotion = next(a for a in doc["activities"] if a["id"] == "promotionActivity")
    return str(promotion["targetInfo"][0]["reference"]["ids"][0])


def _failed_ids(client: TestClient, ident: Identity, doc: dict[str, Any]) -> list[str]:
    batch_id = _batch_id(doc)
    listing = client.get(f"{EXPORT}/batches/{batch_id}/failed", headers=ident.headers())
    assert listing.status_code == 200, listing.text
    files = listing.json()
    assert files["_page"]["count"] == len(files["data"]) == 1
    href = files["data"][0]["_links"]["self"]["href"]
    assert href.endswith(
        f"/data/foundation/export/batches/{batch_id}/failed?path=failed_records_0.json"
    )
    body = client.get(
        f"{EXPORT}/batches/{batch_id}/failed",
        params={"path": files["data"][0]["name"]},
        headers=ident.headers(),
    )
    assert body.status_code == 200, body.text
    assert str(len(body.content)) == files["data"][0]["length"]
    records = [json.loads(line) for line in body.text.splitlines()]
    for rec in records:
        (err,) = rec["_errors"]
        assert err["code"] == "MAPPER-3700-400"
        assert err["columnName"] == "Properties_Annualrevenue_Value"
        assert err["destination"] == "person.birthDate"
        assert rec["Properties_Annualrevenue_Value"] == BAD_DATE or rec.get("Is_Deleted")
    return [str(r["Id"]) for r in records]


def test_bad_rows_over_the_threshold_fail_the_run_and_leave_the_dataset(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    set_birth_dates(hubspot, bad_every=4)  # 25 %
    made = tutorial_flow(
        client, ident, hubspot, extra=(BIRTH,), options={"partialIngestionPercent": 5}
    )
    run, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.FAILED
    doc = client.get(f"{FS}/runs/{run.id}", headers=ident.headers()).json()["items"][0]
    (error,) = doc["metrics"]["statusSummary"]["errors"]
    assert error["code"] == "INGEST-1212-400"
    assert "partialIngestionPercent allows 5%" in error["message"]
    assert (
        doc["metrics"]["recordSummary"]["failedRecordCount"]
        >= len(live_ids(hubspot, "contacts")) // 4
    )
    assert ctx.lake is not None
    from headwater.lake import TableRef

    assert not ctx.lake.table_exists(TableRef(ident.org_id, "prod", made["dataset"]))
    # the dataset is unchanged; its batch is recorded as failed, as Adobe records a failed batch
    batches = client.get(
        f"{CAT}/batches", params={"dataSet": made["dataset"]}, headers=ident.headers()
    ).json()
    ((batch_id, batch),) = batches.items()
    assert batch_id == _batch_id(doc)
    promotion = next(a for a in doc["activities"] if a["id"] == "promotionActivity")
    assert promotion["statusSummary"]["status"] == "failed"
    assert promotion["recordSummary"]["outputRecordCount"] == 0
    assert batch["status"] == "failed" and batch["recordCount"] == 0
    assert batch["metrics"]["outputRecordCount"] == 0
    assert (
        batch["metrics"]["failedRecordCount"]
        == doc["metrics"]["recordSummary"]["failedRecordCount"]
    )
    # without errorDiagnosticsEnabled: Adobe's "resend with error diagnostics" error, no files
    assert [e["code"] for e in batch["errors"]] == ["INGEST-1212-400", "INGEST-1211-400"]
    listing = client.get(f"{EXPORT}/batches/{batch_id}/failed", headers=ident.headers()).json()
    assert listing == {"data": [], "_page": {"limit": 100, "count": 0}}
    # an attempt that ends the same way again (after a crash) finds the batch it recorded
    from headwater.services.run_documents import CopyProgress
    from headwater.services.run_plans import plan_run

    again = run_outcomes.reject(
        ctx, plan_run(ctx, run), CopyProgress(run_id=run.id, attempt=2, started=0), []
    )
    assert again == batch_id
    assert (
        len(
            client.get(
                f"{CAT}/batches", params={"dataSet": made["dataset"]}, headers=ident.headers()
            ).json()
        )
        == 1
    )


YEAR = {
    "sourceType": "ATTRIBUTE",
    "source": "Properties_Jobtitle_Value",
    "destination": "person.birthYear",
}
BAD_YEAR = "nineteen ninety"


def set_bad_rows(emu: Any, every: int) -> dict[str, set[str]]:
    """Every live contact gets a birth date (in ``annualrevenue``) and a birth year (in
    ``jobtitle``, a text property); in every ``every`` contacts one has an unparseable date and
    another a year that is not a number. Returns the bad ids by the column that fails them."""
    ids = live_ids(emu, "contacts")
    dates = {i for n, i in enumerate(ids) if n % every == 0}
    years = {i for n, i in enumerate(ids) if n % every == 1}
    h = {"Authorization": f"Bearer {emu.access_token}"}
    with httpx.Client(base_url=emu.base_url, headers=h, timeout=30) as c:
        for start in range(0, len(ids), 100):
            inputs = [
                {
                    "id": i,
                    "properties": {
                        "annualrevenue": BAD_DATE if i in dates else GOOD_DATE,
                        "jobtitle": BAD_YEAR if i in years else "1990",
                    },
                }
                for i in ids[start : start + 100]
            ]
            r = c.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
            assert r.status_code == 200, r.text
    return {"Properties_Annualrevenue_Value": dates, "Properties_Jobtitle_Value": years}


@pytest.mark.parametrize(("percent", "state"), [(40, "partialSuccess"), (5, "failed")])
def test_unparseable_dates_and_text_for_numbers_fail_their_rows_with_their_column(
    client: TestClient,
    ident: Identity,
    ctx: ServiceContext,
    hubspot: Any,
    percent: int,
    state: str,
) -> None:
    """About 20 % of the rows are bad: under a 40 % threshold the run ends ``partialSuccess``,
    over a 5 % one ``failed`` with the dataset unchanged; either way the batch counts the failed
    rows and they download with each error naming its column."""
    bad = set_bad_rows(hubspot, every=10)
    made = tutorial_flow(
        client,
        ident,
        hubspot,
        extra=(BIRTH, YEAR),
        options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": percent},
    )
    run, _ = run_claimed(ctx)
    doc = client.get(f"{FS}/runs/{run.id}", headers=ident.headers()).json()["items"][0]
    assert doc["state"] == state, doc["metrics"]
    failed = doc["metrics"]["recordSummary"]["failedRecordCount"]
    batch_id = _batch_id(doc)
    batch = client.get(f"{CAT}/batches/{batch_id}", headers=ident.headers()).json()[batch_id]
    assert batch["status"] == ("success" if state == "partialSuccess" else "failed")
    assert batch["metrics"]["failedRecordCount"] == failed
    assert {e["code"]: e.get("recordCount") for e in batch["errors"]}["MAPPER-3700-400"] == failed

    listing = client.get(f"{EXPORT}/batches/{batch_id}/failed", headers=ident.headers()).json()
    (file,) = listing["data"]
    body = client.get(
        f"{EXPORT}/batches/{batch_id}/failed",
        params={"path": file["name"]},
        headers=ident.headers(),
    )
    assert body.status_code == 200, body.text
    records = [json.loads(line) for line in body.text.splitlines()]
    assert len(records) == failed
    live = set(live_ids(hubspot, "contacts"))
    by_column: dict[str, set[str]] = {column: set() for column in bad}
    destination = {BIRTH["source"]: BIRTH["destination"], YEAR["source"]: YEAR["destination"]}
    for rec in records:
        assert rec["_errors"], rec
        for err in rec["_errors"]:
            assert err["code"] == "MAPPER-3700-400"
            assert err["destination"] == destination[err["columnName"]]
            assert rec[err["columnName"]] in {BAD_DATE, BAD_YEAR} or str(rec["Id"]) not in live
            if str(rec["Id"]) in live:
                by_column[err["columnName"]].add(str(rec["Id"]))
    assert by_column == bad  # every bad live row, each failed by its own column only

    uri = _table_uri(client, ident, made["dataset"])
    if state == "partialSuccess":
        landed = {r[0] for r in sql(uri, "SELECT _id FROM t", ("_id",))}
        assert landed == live - bad["Properties_Annualrevenue_Value"] - bad[YEAR["source"]]
        years = sql(uri, "SELECT DISTINCT person.birthYear FROM t", ("person",))
        assert years == [(1990,)]
    else:
        assert ctx.lake is not None
        from headwater.lake import TableRef

        assert not ctx.lake.table_exists(TableRef(ident.org_id, "prod", made["dataset"]))


def test_any_failed_record_fails_the_run_without_partial_ingestion(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    set_birth_dates(hubspot, bad_every=50)
    tutorial_flow(client, ident, hubspot, extra=(BIRTH,))
    _, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.FAILED
    assert "no record may fail without partialIngestionPercent" in json.dumps(outcome.doc)


@pytest.mark.parametrize(
    ("entry", "field", "kind"),
    [
        (
            {
                "sourceType": "ATTRIBUTE",
                "source": "Properties_Nosuch_Value",
                "destination": "person.gender",
            },
            "mappings[5]",
            "unknown-source",
        ),
        (
            {
                "sourceType": "ATTRIBUTE",
                "source": "Properties_Lastname_Value",
                "destination": "person.name.nickname2",
            },
            "mappings[5]",
            "unknown-destination",
        ),
        (  # a date-time column into an integer field: only the source's columns tell
            {"sourceType": "ATTRIBUTE", "source": "Created_At", "destination": "person.birthYear"},
            "mappings[5]",
            "type-mismatch",
        ),
    ],
)
def test_a_flow_whose_mapping_cannot_apply_is_refused(
    client: TestClient,
    ident: Identity,
    ctx: ServiceContext,
    hubspot: Any,
    entry: dict,
    field: str,
    kind: str,
) -> None:
    made = tutorial_flow(client, ident, hubspot, extra=(entry,), expect=400, with_output=False)
    body = made["body"]
    assert body["type"].endswith("FLOW-2250-400"), body
    assert body["status"] == 400
    details = body["report"]["details"]
    assert [d["field"] for d in details] == [f"transformations[0].params.{field}"], body
    assert details[0]["message"].startswith(f"{kind}: "), body


def test_invalid_flow_options_are_refused(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    made = tutorial_flow(client, ident, hubspot, options={"partialIngestionPercent": 0}, expect=400)
    assert "options.partialIngestionPercent" in json.dumps(made["body"])


def test_re_trigger_runs_a_failed_run_again(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    bad = set_birth_dates(hubspot, bad_every=50)
    made = tutorial_flow(client, ident, hubspot, extra=(BIRTH,))
    failed, outcome = run_claimed(ctx)
    assert outcome.status is RunStatus.FAILED
    h = ident.headers()
    # fix the source, then re-trigger the failed run as Adobe's API does
    with httpx.Client(
        base_url=hubspot.base_url, headers={"Authorization": f"Bearer {hubspot.access_token}"}
    ) as c:
        inputs = [{"id": i, "properties": {"annualrevenue": GOOD_DATE}} for i in sorted(bad)]
        assert c.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).is_success
    r = client.post(f"{FS}/runs/{failed.id}/action", params={"op": "RE_TRIGGER"}, headers=h)
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["id"] != failed.id and again["flowId"] == made["flow"]
    assert again["state"] == "scheduled"
    rerun, outcome = run_claimed(ctx)
    assert rerun.id == again["id"]
    assert outcome.status is RunStatus.SUCCESS, outcome.doc["metrics"]
    # only failed runs are re-triggered
    r = client.post(f"{FS}/runs/{rerun.id}/action", params={"op": "RE_TRIGGER"}, headers=h)
    assert r.status_code == 400, r.text
    r = client.post(f"{FS}/runs/{failed.id}/action", params={"op": "RESTART"}, headers=h)
    assert r.status_code == 400, r.text


def test_flows_search_filters_by_query_string(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    made = tutorial_flow(client, ident, hubspot)
    name = client.get(f"{FS}/flows/{made['flow']}", headers=ident.headers()).json()["items"][0][
        "name"
    ]
    r = client.post(
        f"{FS}/flows/search",
        json={"queryString": f'name=="{name}"', "limit": 10},
        headers=_h(ident),
    )
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["items"]] == [made["flow"]]
    r = client.post(
        f"{FS}/flows/search", json={"queryString": "", "count": True}, headers=_h(ident)
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"count": 1}
    r = client.post(f"{FS}/flows/search", json={"queryString": "name==other"}, headers=_h(ident))
    assert r.json()["items"] == []
    # its queued run must not be left to the next test's worker
    assert client.delete(f"{FS}/flows/{made['flow']}", headers=ident.headers()).status_code == 204


def test_failed_records_survive_a_resumed_run(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any
) -> None:
    """The worker stops after the first checkpoint; the resumed run (a new attempt reading on
    from the staged checkpoint) still counts and reports every failed record once."""
    from headwater.connectors.events import CheckpointEvent

    bad = set_birth_dates(hubspot, bad_every=7)
    tutorial_flow(
        client,
        ident,
        hubspot,
        extra=(BIRTH,),
        options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": 30},
    )
    control = RunControl()
    checkpoints: list[Any] = []

    class StopAfterFirstCheckpoint:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __enter__(self) -> Any:
            self.inner.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.__exit__(*exc)

        def read(self, *args: Any, **kwargs: Any) -> Any:
            for event in self.inner.read(*args, **kwargs):
                yield event
                if isinstance(event, CheckpointEvent):
                    checkpoints.append(event.state)
                    control.stop.set()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    def stopping(c: ServiceContext, tenant: Any, conn_id: str) -> Any:
        return StopAfterFirstCheckpoint(sources.open_connector(c, tenant, conn_id))

    worker = Worker(ctx, open_connector=stopping, name="w-stop")
    run = worker.claim()
    assert run is not None
    outcome = run_one(ctx, run, worker_id=worker.id, open_connector=stopping, control=control)
    run_outcomes.record_outcome(ctx, run, worker_id=worker.id, outcome=outcome)
    assert outcome.status is RunStatus.SCHEDULED and checkpoints, outcome.doc["metrics"]
    time.sleep(0.01)
    resumed, outcome = run_claimed(ctx)
    assert resumed.id == run.id and resumed.attempt == 2
    assert outcome.status is RunStatus.PARTIAL_SUCCESS, outcome.doc["metrics"]
    doc = client.get(f"{FS}/runs/{run.id}", headers=ident.headers()).json()["items"][0]
    failed_ids = set(_failed_ids(client, ident, doc))
    archived = set(archived_ids(hubspot, "contacts"))
    assert bad <= failed_ids <= bad | archived
    assert doc["metrics"]["recordSummary"]["failedRecordCount"] == len(failed_ids)


def test_a_mapping_that_does_not_map_the_source_key_to_a_top_level_field_is_refused(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any, monkeypatch: Any
) -> None:
    import tests.engine.test_mapping_runs as this

    original = this._tutorial_mapping_set

    def keyless(schema_id: str) -> dict:
        body = original(schema_id)
        body["mappings"] = [m for m in body["mappings"] if m["sourceAttribute"] != "Vid"]
        body["mappings"].append(
            {"sourceAttribute": "Vid", "destinationXdmPath": "person.name.courtesyTitle"}
        )
        return body

    monkeypatch.setattr(this, "_tutorial_mapping_set", keyless)
    made = tutorial_flow(client, ident, hubspot, expect=400)
    body = made["body"]
    assert body["type"].endswith("FLOW-2250-400"), body
    assert "merge key must be a top-level field" in body["report"]["detailed-message"]


def test_a_mapping_set_of_another_schema_than_the_dataset_is_refused(
    client: TestClient, ident: Identity, ctx: ServiceContext, hubspot: Any, monkeypatch: Any
) -> None:
    import tests.engine.test_mapping_runs as this

    other = client.post(
        f"{REG}/tenant/schemas",
        json={**TUTORIAL_SCHEMA, "title": f"another schema {time.time_ns()}"},
        headers=_h(ident),
    ).json()["$id"]
    original = this._tutorial_mapping_set
    monkeypatch.setattr(this, "_tutorial_mapping_set", lambda _sid: original(other))
    made = tutorial_flow(client, ident, hubspot, expect=400)
    assert f"writes schema {other}" in json.dumps(made["body"])
