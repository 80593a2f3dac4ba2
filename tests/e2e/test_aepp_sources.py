"""Adobe's ``aepp`` 0.6.0, unmodified, walks the whole sources path with its own helpers:
specs by name → base connection → dataset → source → Data Lake target → flow → first run →
metrics → disable → delete, against ``headwater serve`` and the bundled emulator (HTTP only)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from tests.e2e.bodies import hubspot_connection, hubspot_source
from tests.e2e.conftest import ENGINE_ENV, Emulator, live_identity, start_server

aepp = pytest.importorskip("aepp", reason="aepp is a dev dependency")

HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
CONTACTS = 400


def _guard(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        addr = args[1]
        if isinstance(addr, tuple) and addr and addr[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"blocked non-local connect {addr}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator_module: Any) -> Iterator[Any]:
    emu: Emulator = emulator_module(CONTACTS)
    home = tmp_path_factory.mktemp("aepp-home")
    proc, base, env = start_server(
        home, extra_env={"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV}
    )
    try:
        live = live_identity(base, env)
        sys.addaudithook(_guard)
        aepp.configure(
            org_id=live.org_id,
            client_id=live.client_id,
            secret="unused",
            sandbox="prod",
            environment="support",
            endpoint=live.base_url,
            accesstoken=live.token,
        )
        aepp.config.config_object["connectionType"] = "support"
        aepp.config.config_object["date_limit"] = 2**41
        yield emu, home, live
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _wait_first_run(fs: Any, flow_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = fs.getRuns(prop=f"flowId=={flow_id}")
        done = [r for r in runs if r.get("state") in ("success", "failed", "partialSuccess")]
        if done:
            (run,) = fs.getRun(done[0]["id"])  # aepp unwraps the single-GET envelope to a list
            return dict(run)
        time.sleep(0.5)
    raise AssertionError(f"no finished run of {flow_id} after {timeout} s")


@pytest.mark.e2e
def test_aepp_helpers_walk_the_sources_path(stack: Any) -> None:
    emu, home, live = stack
    from aepp import catalog, flowservice

    fs = flowservice.FlowService()
    cat = catalog.Catalog()

    # specs, looked up by the names aepp's helpers use
    assert fs.getConnectionSpecIdFromName("hubspot") == HUBSPOT
    assert fs.getConnectionSpecIdFromName("datalake") == LAKE_SPEC
    flow_spec = fs.getFlowSpecIdFromNames(
        "CRMToAEP", source_spec_name="hubspot", target_spec_name="datalake"
    )
    assert flow_spec == CRM_TO_AEP
    (lake_spec,) = fs.getConnectionSpec(LAKE_SPEC)["items"]
    assert lake_spec["attributes"]["uiAttributes"]["label"] == "Data Lake"

    base = fs.createConnection(data=hubspot_connection(emu, description="connection for HubSpot"))
    assert fs.connectionTest(base["id"]) == {"result": True}

    schema_id = "https://ns.adobe.com/acme/schemas/hubspot-contacts"
    created = cat.createDataSet(name="HubSpot contacts (aepp)", schemaId=schema_id)
    dataset_id = created[0].split("/")[-1]
    assert dataset_id in cat.getDataSets()
    # a Catalog filter, passed through by aepp as a query parameter
    assert list(cat.getDataSets(name="HubSpot contacts (aepp)")) == [dataset_id]
    assert cat.getDataSets(name="no dataset of that name") == {}

    source = fs.createSourceConnection(
        data=hubspot_source(base["id"], "HubSpot contacts", tableName="Hubspot.Contacts")
    )
    target = fs.createTargetConnectionDataLake(
        name="HubSpot contacts in the lake", datasetId=dataset_id, schemaId=schema_id
    )
    assert "id" in target, target
    stored_target = fs.getTargetConnection(target["id"])
    assert stored_target["connectionSpec"]["id"] == LAKE_SPEC
    assert stored_target["params"]["dataSetId"] == dataset_id

    flow = fs.createFlow(
        flow_spec_id=flow_spec,
        name="HubSpot contacts every 15 minutes",
        source_connection_id=source["id"],
        target_connection_id=target["id"],
        schedule_start_time=str(int(time.time()) - 1),
        schedule_frequency="minute",
        schedule_interval=15,
    )
    assert "id" in flow, flow

    run = _wait_first_run(fs, flow["id"])
    assert run["state"] == "success", run.get("metrics")
    summary = run["metrics"]["recordSummary"]
    live_ids = emu.live_contact_ids()
    assert summary["outputRecordCount"] == len(live_ids)
    lake = DeltaTable(str(Path(home) / "lake" / live.org_id / "prod" / dataset_id))
    ids = lake.to_pyarrow_table(columns=["Id"]).column("Id").to_pylist()
    assert sorted(ids, key=int) == sorted(live_ids, key=int)

    batches = cat.getBatches(dataSet=dataset_id)
    assert len(batches) == 1, batches
    (batch,) = batches.values()
    assert batch["status"] == "success"
    assert cat.getBatches(dataSet=dataset_id, status="failed") == {}

    got = fs.getFlow(flow["id"])
    assert got["state"] == "enabled"
    assert got["lastRunDetails"]["id"] == run["id"]
    fs.postFlowAction(flow["id"], "disable")
    assert fs.getFlow(flow["id"])["state"] == "disabled"

    assert fs.deleteFlow(flow["id"]) == 204
    assert fs.deleteTargetConnection(target["id"]) == 204
    assert fs.deleteSourceConnection(source["id"]) == 204
    assert fs.deleteConnection(base["id"]) == 204
    assert fs.getFlow(flow["id"]) == {}


@pytest.mark.e2e
def test_aepp_once_schedule_is_refused_as_adobe_refuses_it(stack: Any) -> None:
    """``createFlow(schedule_frequency="once")`` sends a dataset-export schedule
    (``timeUnit``/``exportMode``, no ``frequency``). Sources flow specs validate ``scheduleParams``
    against their scheduleSpec, which requires ``frequency``; Adobe refuses the body and so do we,
    naming the missing field. A one-time sources flow is ``{"frequency": "once", "startTime"}``."""
    emu, _home, _live = stack
    from aepp import catalog, flowservice

    fs = flowservice.FlowService()
    schema_id = "https://ns.adobe.com/acme/schemas/hubspot-companies"
    dataset_id = catalog.Catalog().createDataSet(name="once", schemaId=schema_id)[0].split("/")[-1]
    base = fs.createConnection(data=hubspot_connection(emu, "once"))
    source = fs.createSourceConnection(
        data=hubspot_source(base["id"], "once", tableName="Hubspot.Companies")
    )
    target = fs.createTargetConnectionDataLake(
        name="once", datasetId=dataset_id, schemaId=schema_id
    )
    refused = fs.createFlow(
        flow_spec_id=CRM_TO_AEP,
        name="once",
        source_connection_id=source["id"],
        target_connection_id=target["id"],
        schedule_frequency="once",
    )
    assert refused.get("status") == 400, refused
    assert refused["type"].endswith("-400"), refused
    message = refused["report"]["detailed-message"]
    assert "scheduleParams.frequency" in message, message
    assert "timeUnit" in message and "exportMode" in message, message

    accepted = fs.createFlow(
        flow_spec_id=CRM_TO_AEP,
        obj={
            "name": "once, as a sources flow spec wants it",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [source["id"]],
            "targetConnectionIds": [target["id"]],
            "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
        },
    )
    assert "id" in accepted, accepted


@pytest.mark.e2e
def test_aepp_dataprep_and_flow_manager_on_the_sources_path(stack: Any) -> None:
    """aepp's Schema Registry, Data Prep and Flow Service helpers build the tutorial's mapped
    flow (schema → dataset → mapping set → Data Lake target → flow with ``Mapping``); the run
    lands nested XDM records keyed by ``_id``, and ``FlowManager`` reads the flow's relations."""
    emu, home, live = stack
    from aepp import catalog, dataprep, flowservice, schema

    from tests.api.test_schemaregistry import TUTORIAL_SCHEMA

    fs = flowservice.FlowService()
    prep = dataprep.DataPrep()
    sid = schema.Schema().createSchema({**TUTORIAL_SCHEMA, "title": "aepp mapped contacts"})["$id"]
    dataset_id = (
        catalog.Catalog()
        .createDataSet(name="mapped contacts (aepp)", schemaId=sid)[0]
        .split("/")[-1]
    )
    mapping = prep.createMappingSet(
        schemaId=sid,
        mappingList=[
            {"sourceType": "ATTRIBUTE", "source": "Vid", "destination": "_id"},
            {
                "sourceType": "ATTRIBUTE",
                "source": "Properties_Firstname_Value",
                "destination": "person.name.firstName",
            },
            {
                "sourceType": "EXPRESSION",
                "source": "lower(Properties_Email_Value)",
                "destination": "personalEmail.address",
            },
        ],
    )
    assert "id" in mapping, mapping
    assert mapping["id"] in {m["id"] for m in prep.getMappingSets()}
    mappings = prep.getMappingSetMappings(mapping["id"])
    assert [m["destination"] for m in mappings] == [
        "_id",
        "person.name.firstName",
        "personalEmail.address",
    ]

    base = fs.createConnection(data=hubspot_connection(emu, "mapped HubSpot"))
    source = fs.createSourceConnection(
        data=hubspot_source(base["id"], "HubSpot contacts, mapped", tableName="Hubspot.Contacts")
    )
    target = fs.createTargetConnectionDataLake(
        name="mapped contacts in the lake", datasetId=dataset_id, schemaId=sid
    )
    flow = fs.createFlow(
        flow_spec_id=CRM_TO_AEP,
        name="HubSpot contacts, mapped",
        source_connection_id=source["id"],
        target_connection_id=target["id"],
        schedule_start_time=str(int(time.time()) - 1),
        schedule_frequency="minute",
        schedule_interval=15,
        transformation_mapping_id=mapping["id"],
        transformation_name="Mapping",
        transformation_version=0,
    )
    assert "id" in flow, flow

    run = _wait_first_run(fs, flow["id"])
    assert run["state"] == "success", run.get("metrics")
    lake = DeltaTable(str(Path(home) / "lake" / live.org_id / "prod" / dataset_id))
    table = lake.to_pyarrow_table(columns=["_id", "person"])
    assert sorted(table.column("_id").to_pylist(), key=int) == sorted(
        emu.live_contact_ids(), key=int
    )

    manager = flowservice.FlowManager(flow["id"])
    assert manager.flowType == "source"
    assert manager.flowMapping is not None and manager.flowMapping["id"] == mapping["id"]
    assert manager.datasetId == dataset_id
    assert manager.flowTargetConnection["data"]["schema"]["name"] == "aepp mapped contacts"
    assert manager.getMapping()["id"] == mapping["id"]
    assert manager.summary()["mapping"]["id"] == mapping["id"]
    assert [r["id"] for r in manager.getRuns()] == [run["id"]]
    fs.postFlowAction(flow["id"], "disable")
