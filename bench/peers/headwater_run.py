"""Headwater's side of the peer benchmark: the real dataflow (services, engine worker, staging,
Delta merge) for HubSpot contacts with every column, in its own process.

    .venv/bin/python bench/peers/headwater_run.py HOME BASE_URL TOKEN

The first call in ``HOME`` creates the connection, source, dataset, target and a flow and runs it
(a full read); later calls run the same flow again (incremental). Prints one JSON line: rows in
the dataset, the run's status and its wall time. Rate limits are HubSpot's own: the connector
starts at the private-app default and follows the emulator's ``X-HubSpot-RateLimit-*`` headers.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# headwater first: it picks Arrow's allocator before pyarrow is imported, as `headwater serve` does
import headwater  # noqa: E402, F401, I001
import pyarrow as pa  # noqa: E402
from headwater.connectors.base import ConnectorSettings  # noqa: E402
from headwater.connectors.hubspot import SPEC_ID, HubSpotSettings  # noqa: E402
from headwater.connectors.ratelimit import LimiterRegistry  # noqa: E402
from headwater.engine.worker import Worker  # noqa: E402
from headwater.lake import Lake, TableRef  # noqa: E402
from headwater.services import (  # noqa: E402
    connections,
    dataflow_connections,
    datasets,
    flows,
    identity,
    sources,
)
from headwater.services import runs as run_service  # noqa: E402
from headwater.services.context import ServiceContext, Tenant  # noqa: E402
from headwater.services.listing import ListRequest  # noqa: E402
from headwater.store import identity as id_store  # noqa: E402
from headwater.store import migrate  # noqa: E402
from headwater.store.db import create_engine  # noqa: E402
from headwater.store.secrets import SecretBox, generate_key  # noqa: E402

LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
ORG = "PEERS0001@AdobeOrg"


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    home, base_url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    first = not (home / "flow.json").exists()
    home.mkdir(parents=True, exist_ok=True)
    key_file = home / "key"
    if first:
        key_file.write_text(generate_key())
    engine = create_engine(f"sqlite:///{home / 'hw.db'}")
    migrate.upgrade(engine)
    ctx = ServiceContext(
        engine=engine,
        box=SecretBox(key_file.read_text()),
        lake=Lake(str(home / "lake")),
        connector_settings=ConnectorSettings(
            HubSpotSettings(base_url=base_url, limiters=LimiterRegistry())
        ),
    )
    if first:
        identity.create_org(ctx, org_id=ORG)
        client, _ = identity.create_client(ctx, org_id=ORG, name="peers")
        client_id = client.client_id
    else:
        client_id = json.loads((home / "flow.json").read_text())["client"]
    with engine.connect() as conn:
        sandbox = id_store.read_sandbox(conn, org_id=ORG, name="prod")
    assert sandbox is not None
    tenant = Tenant(org_id=ORG, sandbox_name="prod", sandbox_id=sandbox.id, client_id=client_id)
    if first:
        base_id, _ = connections.create_connection(
            ctx,
            tenant,
            {
                "name": "hubspot",
                "auth": {"specName": "Private App Token", "params": {"accessToken": token}},
                "connectionSpec": {"id": SPEC_ID, "version": "1.0"},
            },
        )
        src, _ = dataflow_connections.create_source(
            ctx,
            tenant,
            {
                "name": "contacts",
                "baseConnectionId": base_id,
                "params": {"tableName": "Hubspot.Contacts"},
                "connectionSpec": {"id": SPEC_ID, "version": "1.0"},
            },
        )
        ds = datasets.create_dataset(ctx, tenant, {"name": "contacts"})
        tgt, _ = dataflow_connections.create_target(
            ctx,
            tenant,
            {"params": {"dataSetId": ds}, "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"}},
        )
        flow_id, _ = flows.create_flow(
            ctx,
            tenant,
            {
                "name": "peers",
                "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
                "sourceConnectionIds": [src],
                "targetConnectionIds": [tgt],
                "scheduleParams": {"startTime": int(time.time()) - 1, "frequency": "once"},
            },
        )
        (home / "flow.json").write_text(
            json.dumps({"client": client_id, "flow": flow_id, "dataset": ds})
        )
    else:
        saved = json.loads((home / "flow.json").read_text())
        flow_id, ds = saved["flow"], saved["dataset"]
        flows.act(ctx, tenant, flow_id, "run")
    worker = Worker(ctx, open_connector=sources.open_connector, name="peers")
    t = time.perf_counter()
    ran = worker.run_until_idle()
    elapsed = time.perf_counter() - t
    run = run_service.list_runs(ctx, tenant, ListRequest()).items[-1]
    status = run["metrics"]["statusSummary"]["status"]
    assert ctx.lake is not None
    live: list[str] = []
    updated: dict[str, int] = {}
    # merge mode removes deleted records from the table: every row is a live record
    for batch in ctx.lake.scan(TableRef(ORG, "prod", ds), ["Id", "Updated_At"]):
        ids = batch.column("Id").to_pylist()
        stamps = (
            batch.column("Updated_At").cast(pa.timestamp("ms", tz="UTC")).cast("int64").to_pylist()
        )
        for rid, at in zip(ids, stamps, strict=True):
            live.append(rid)
            updated[rid] = at or 0
    out = {"ran": ran, "status": status, "elapsed_s": elapsed, "ids": live, "updated_ms": updated}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
