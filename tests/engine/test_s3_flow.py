"""The same dataflow with the lake on an S3-compatible object store (moto's server, local)."""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.worker import Worker
from headwater.lake import Lake, storage_options_from_env
from headwater.lake import query as lake_query
from headwater.services import datasets, sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.connectors.conftest import live_ids
from tests.flows import build_flow, oauth_params
from tests.lake.test_s3 import BUCKET


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_flow_into_s3_lake_is_readable_by_duckdb(
    client: TestClient,
    ident: Identity,
    ctx: ServiceContext,
    emu,
    s3_endpoint: str,
    tenant_of,
) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }
    ctx.lake = Lake(f"s3://{BUCKET}/headwater", storage_options_from_env(env))
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    made = build_flow(client, ident, oauth_params(emu))
    assert Worker(ctx, open_connector=sources.open_connector).run_until_idle() == 1
    runs = client.get(
        "/data/foundation/flowservice/runs",
        params={"property": f"flowId=={made['flow']}"},
        headers=ident.headers(),
    ).json()["items"]
    assert runs[0]["state"] == "success", runs[0]["metrics"]
    ds = client.get(
        f"/data/foundation/catalog/dataSets/{made['dataset']}", headers=ident.headers()
    ).json()
    assert ds[made["dataset"]]["headwater"]["tableUri"].startswith(f"s3://{BUCKET}/headwater/")

    refs = datasets.dataset_refs(ctx, tenant_of(ident))
    name = next(r.name for r in refs if r.id == made["dataset"])
    result = lake_query(
        ctx.lake, refs, f'SELECT count(*) AS n, count(DISTINCT "Id") AS d FROM "{name}"'
    )
    assert result.to_pylist() == [
        {"n": len(live_ids(emu, "contacts")), "d": len(live_ids(emu, "contacts"))}
    ]
    assert duckdb.__version__
