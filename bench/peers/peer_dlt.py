"""Runs a dlt ``rest_api`` source for HubSpot contacts into DuckDB; executed by the peer's venv.

    python peer_dlt.py BASE_URL TOKEN WORKDIR

The resource pages ``GET /crm/v3/objects/contacts`` (100 per page, every property, the three
association types inline) by following ``paging.next.link``, keeps rows whose ``updatedAt`` moved
past the last run's (dlt's client-side incremental; the list endpoint has no filter) and merges
them on ``id`` into ``WORKDIR/contacts.duckdb``. Pipeline state lives in ``WORKDIR/dlt``.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt
import requests
from dlt.sources.rest_api import rest_api_source

base, token, work = sys.argv[1].rstrip("/"), sys.argv[2], Path(sys.argv[3])
os.environ["DLT_DATA_DIR"] = str(work / "dlt")
props = requests.get(
    f"{base}/crm/v3/properties/contacts",
    headers={"Authorization": f"Bearer {token}"},
    timeout=60,
).json()["results"]
names = ",".join(p["name"] for p in props)

source = rest_api_source(
    {
        "client": {
            "base_url": base + "/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {"type": "json_link", "next_url_path": "paging.next.link"},
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [
            {
                "name": "contacts",
                "endpoint": {
                    "path": "crm/v3/objects/contacts",
                    "params": {
                        "limit": 100,
                        "properties": names,
                        "associations": "companies,deals,tickets",
                    },
                    "data_selector": "results",
                    "incremental": {
                        "cursor_path": "updatedAt",
                        "initial_value": "2000-01-01T00:00:00Z",
                    },
                },
            }
        ],
    }
)
pipeline = dlt.pipeline(
    pipeline_name="hubspot_contacts",
    destination=dlt.destinations.duckdb(str(work / "contacts.duckdb")),
    dataset_name="hubspot",
    pipelines_dir=str(work / "dlt"),
)
info = pipeline.run(source)
print(json.dumps({"loads": len(info.loads_ids)}))
