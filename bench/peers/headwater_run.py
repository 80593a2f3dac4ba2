"""Headwater's side of the peer benchmark: a ``headwater serve`` node (the API process and
the worker process it spawns, which also runs the scheduler) running the real dataflow (engine,
staging, Delta merge) for HubSpot contacts with every column.

    .venv/bin/python bench/peers/headwater_run.py HOME BASE_URL TOKEN

The first call in ``HOME`` creates the org, connection, source, dataset, target and a flow (its
first run queued: a full read); later calls ask for another run of the same flow (incremental).
Each call then starts ``headwater serve`` in ``HOME``, samples the RSS and PSS of the serve
process tree (serve and the worker it spawns) until the run ends, and stops it.
Prints one JSON line: the run's status and time (the worker's, from the run record), the peak
memory of the serve tree and every row of the dataset (id and modification time). Rate limits
are HubSpot's own: the connector starts at the private-app default and follows the emulator's
``X-HubSpot-RateLimit-*`` headers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

# headwater first: it picks Arrow's allocator before pyarrow is imported, as `headwater serve` does
import headwater  # noqa: E402, F401, I001
import pyarrow as pa  # noqa: E402
from headwater.lake import TableRef  # noqa: E402
from headwater.runtime import build_context  # noqa: E402
from headwater.services import flows  # noqa: E402
from headwater.settings import Settings  # noqa: E402

from bench.flowsetup import (  # noqa: E402
    create_connection,
    create_contacts_flow,
    create_tenant,
    run_status,
    tenant_of,
)
from bench.peers.proctree import TreeSampler  # noqa: E402

ORG = "PEERS0001@AdobeOrg"
DONE = {"success", "partialSuccess", "failed", "cancelled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    home, base_url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    saved = home / "flow.json"
    first = not saved.exists()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")},
        "HEADWATER_HOME": str(home),
        "HEADWATER_HUBSPOT_BASE_URL": base_url,
        "HEADWATER_LOG_LEVEL": "WARNING",
        "HEADWATER_LOG_FORMAT": "text",
    }
    ctx = build_context(
        Settings(home=home, hubspot_base_url=base_url, log_level="WARNING", log_format="text")
    )
    if first:
        tenant = create_tenant(ctx, ORG, "peers")
        flow = create_contacts_flow(ctx, tenant, create_connection(ctx, tenant, token))
        saved.write_text(
            json.dumps({"client": tenant.client_id, "flow": flow.flow, "dataset": flow.dataset})
        )
        runs_before = 0
    else:
        ids = json.loads(saved.read_text())
        tenant = tenant_of(ctx, ORG, ids["client"])
        runs_before = int(ids.get("runs", 1))
        flows.act(ctx, tenant, ids["flow"], "run")
    ids = json.loads(saved.read_text())
    ctx.engine.dispose()  # the serve node's processes own the database from here

    log = (home / "serve.log").open("ab")
    serve = subprocess.Popen(
        [sys.executable, "-m", "headwater", "serve", "--port", str(free_port())],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    run: dict[str, object] = {}
    try:
        # light sampling and polling: this process shares the cores with the node it measures
        with TreeSampler(serve.pid, every_s=0.1) as sampler:
            while True:
                if serve.poll() is not None:
                    raise SystemExit(f"headwater serve exited; see {home / 'serve.log'}")
                items = _runs(ctx, tenant)
                if len(items) > runs_before and run_status(items[-1]) in DONE:
                    run = items[-1]
                    break
                time.sleep(0.25)
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    ids["runs"] = runs_before + 1
    saved.write_text(json.dumps(ids))
    duration = run["metrics"]["durationSummary"]  # type: ignore[index]
    elapsed = (duration["completedAtUTC"] - duration["startedAtUTC"]) / 1000
    assert ctx.lake is not None
    updated: dict[str, int] = {}
    # merge mode removes deleted records from the table: every row is a live record
    for batch in ctx.lake.scan(TableRef(ORG, "prod", ids["dataset"]), ["Id", "Updated_At"]):
        stamps = batch.column("Updated_At").cast(pa.timestamp("ms", tz="UTC")).cast("int64")
        for rid, at in zip(batch.column("Id").to_pylist(), stamps.to_pylist(), strict=True):
            updated[rid] = at or 0
    out = {
        "status": run_status(run),
        "elapsed_s": elapsed,
        "tree_rss_mb": sampler.peak.rss_mb,
        "tree_pss_mb": sampler.peak.pss_mb,
        "rows": len(updated),
        "updated_ms": updated,
    }
    print(json.dumps(out), flush=True)


def _runs(ctx: object, tenant: object) -> list[dict[str, object]]:
    from headwater.services import runs as run_service
    from headwater.services.listing import ListRequest

    return run_service.list_runs(ctx, tenant, ListRequest()).items  # type: ignore[arg-type, no-any-return]


if __name__ == "__main__":
    main()
