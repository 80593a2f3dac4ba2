"""Server time of every web UI page with 100 dataflows and 10,000 runs.

Seeds an org through the service layer (the same calls the API makes): one HubSpot account
(the bundled emulator), 100 datasets, source and target connections and dataflows, and 100 runs
per dataflow spread over the last 50 hours (a few failed or partly failed), plus one real run that
writes a Delta table. Then requests every page in-process through the ASGI app (sign-in cookie,
templates, middleware; no network) and prints p50/p95 per page next to ``GET /health/live`` (no
database) measured in the same run. Writes a section into docs/benchmarks.md.

    .venv/bin/python bench/ui.py [--flows 100] [--runs 10000] [--requests 40] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HEADWATER = str(Path(sys.executable).with_name("headwater"))
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
#: pages that read HubSpot on every request
SOURCE_PAGES = {"select data, read again", "preview grid"}
#: pages that show the account's table listing, read from HubSpot at most every 2 minutes
CACHED_PAGES = {"select data", "wizard, tables step"}


NOTES = """\
The monitoring pages read every row's runs of the last 24 h in one query, with the record counts
extracted from the stored documents by the database (`store.runs.read_run_facts`). Select data
and the wizard's tables step show the account's table listing and a table's columns as HubSpot
gave them at most two minutes before (per account version: an edit reads again; "Read them
again" on the page does too): without that, each click on a table's Preview read HubSpot's
portal info, schemas and one scope probe per object, 29 calls. "Select data, read again" is that
uncached page. The preview grid is a live read of one list page (and the table's properties);
its time is mostly the round trips to the emulator, a process on the same two cores.
"""


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [HEADWATER, "emulator", "hubspot", "--port", "0", "--json", "--contacts", "300",
         "--companies", "20", "--deals", "20", "--tickets", "5", "--products", "5",
         "--line-items", "5", "--engagements", "5", "--custom-records", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def seed(ctx: Any, tenant: Any, emu: dict[str, Any], flows_n: int, runs_n: int) -> dict[str, str]:
    from headwater.domain.runs import RunStatus
    from headwater.services import connections, datasets, flows, run_documents
    from headwater.services import dataflow_connections as conns
    from headwater.services import runs as run_service
    from headwater.store import runs as run_store

    real_clock = ctx.clock
    conn_id, _ = connections.create_connection(
        ctx,
        tenant,
        {
            "name": "Bench portal",
            "auth": {
                "specName": "Private App Token",
                "params": {"accessToken": emu["private_app_token"]},
            },
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    now = real_clock()
    flow_docs = []
    for i in range(flows_n):
        ds = datasets.create_dataset(ctx, tenant, {"name": f"bench_{i:03d}"})
        src, _ = conns.create_source(
            ctx, tenant,
            {"name": f"src {i}", "baseConnectionId": conn_id, "params": {"tableName": "Hubspot.Contacts"},
             "connectionSpec": {"id": HUBSPOT, "version": "1.0"}},
        )  # fmt: skip
        tgt, _ = conns.create_target(
            ctx, tenant,
            {"name": f"tgt {i}", "params": {"dataSetId": ds}, "connectionSpec": {"id": LAKE, "version": "1.0"}},
        )  # fmt: skip
        start = (now - 3 * 86_400_000) // 1000
        fid, _ = flows.create_flow(
            ctx, tenant,
            {"name": f"Bench dataflow {i:03d}", "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
             "sourceConnectionIds": [src], "targetConnectionIds": [tgt],
             "scheduleParams": {"startTime": start, "frequency": "minute", "interval": 30}},
        )  # fmt: skip
        flow_docs.append(flows.get_flow(ctx, tenant, fid))
    per_flow = max(1, runs_n // max(1, flows_n))
    slots = []
    for j in range(per_flow):
        for i, flow in enumerate(flow_docs):
            slots.append((now - (per_flow - j) * 1_800_000 + i * 10, flow))
    slots.sort(key=lambda s: s[0])
    last_run = ""
    for k, (t, flow) in enumerate(slots):
        ctx.clock = lambda t=t: t
        run_id = run_service.enqueue(
            ctx, tenant, flow, trigger="schedule", scheduled_for=t, window_start=t,
            window_end=t + 1_800_000, dedupe_key=f"{flow['id']}:{t}",
        )  # fmt: skip
        claimed = run_store.claim_next_run(
            ctx.engine, worker_id="bench", now=t, lease_ms=60_000, portal_limit=1000
        )
        assert claimed is not None
        assert claimed.id == run_id
        status = "failed" if k % 37 == 0 else ("partialSuccess" if k % 53 == 0 else "success")
        doc = dict(claimed.doc)
        read = 50 + k % 200
        metrics = run_documents.empty_metrics(RunStatus(status))
        metrics["durationSummary"] = {"startedAtUTC": t, "completedAtUTC": t + 4000 + k % 3000}
        metrics["recordSummary"].update(
            inputRecordCount=read, outputRecordCount=read - (k % 53 == 0)
        )
        if status != "success":
            metrics["statusSummary"]["errors"] = [
                {"code": "CONNECTOR-2503-503" if status == "failed" else "INGEST-1212-400",
                 "message": "HubSpot unavailable after retries" if status == "failed" else "1 record had no primary key"}
            ]  # fmt: skip
        doc["metrics"] = metrics
        doc["activities"] = [
            {"id": "copyActivity", "statusSummary": {"status": status, "extensions": {"strategy": "incremental", "reason": "cursor", "pages": 1}},
             "recordSummary": {"inputRecordCount": read}}
        ]  # fmt: skip
        run_store.set_run_state(
            ctx.engine,
            run_id=run_id,
            worker_id="bench",
            now=t + 4000,
            status=RunStatus(status),
            doc=doc,
        )
        last_run = run_id
    ctx.clock = real_clock
    return {"account": conn_id, "flow": flow_docs[-1]["id"], "run": last_run,
            "dataset": flow_docs[-1]["targetConnectionIds"][0]}  # fmt: skip


def real_run(ctx: Any, tenant: Any, ids: dict[str, str]) -> str:
    """One real run of the last dataflow, so its dataset has a Delta table to describe."""
    from headwater.engine.worker import Worker
    from headwater.services import dataflow_connections as conns
    from headwater.services import flows
    from headwater.services.sources import open_connector

    flows.act(ctx, tenant, ids["flow"], "run")
    Worker(ctx, open_connector=open_connector).run_until_idle(max_runs=1)
    target = conns.get(ctx, tenant, conns.TARGET, ids["dataset"])
    return str(target["params"]["dataSetId"])


def measure(client: Any, path: str, n: int, headers: dict[str, str] | None = None) -> list[float]:
    for _ in range(3):
        r = client.get(path, headers=headers or {})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers or {})
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from headwater.api.app import create_app
    from headwater.runtime import build_context
    from headwater.services import identity
    from headwater.services.context import Tenant
    from headwater.settings import Settings
    from headwater.store import identity as id_store

    emu_proc, emu = start_emulator()
    home = Path(tempfile.mkdtemp(prefix="hw-bench-ui-"))
    try:
        settings = Settings(
            home=home, hubspot_base_url=emu["base_url"], hubspot_deletes_every_seconds=0,
            hubspot_burst_budget=100_000, hubspot_search_per_second=100, log_level="WARNING",
        )  # fmt: skip
        ctx = build_context(settings)
        org = "BENCHUI@AdobeOrg"
        identity.create_org(ctx, org_id=org)
        client, secret = identity.create_client(ctx, org_id=org, name="bench")
        with ctx.engine.connect() as conn:
            sandbox = id_store.read_sandbox(conn, org_id=org, name="prod")
        assert sandbox is not None
        tenant = Tenant(
            org_id=org, sandbox_name="prod", sandbox_id=sandbox.id, client_id=client.client_id
        )
        t0 = time.perf_counter()
        ids = seed(ctx, tenant, emu, args.flows, args.runs)
        seeded_s = time.perf_counter() - t0
        dataset = real_run(ctx, tenant, ids)
        print(
            f"seeded {args.flows} dataflows and {args.runs:,} runs in {seeded_s:.1f} s", flush=True
        )

        app = create_app(ctx)
        with TestClient(app, follow_redirects=False) as http:
            html = http.get("/ui/sign-in").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
            r = http.post(
                "/ui/sign-in",
                data={"client_id": client.client_id, "client_secret": secret, "csrf_token": token},
            )
            assert r.status_code == 303
            second = http.get("/ui/monitoring").text
            page2 = re.search(r'href="(/ui/monitoring\?page=[^"]+)"', second)
            pages = [
                ("baseline: GET /health/live", "/health/live"),
                ("sign in", "/ui/sign-in"),
                ("sources", "/ui/sources"),
                ("account form", f"/ui/sources/{HUBSPOT}/connect"),
                ("accounts", "/ui/accounts"),
                ("account", f"/ui/accounts/{ids['account']}"),
                ("account edit", f"/ui/accounts/{ids['account']}/edit"),
                ("select data", f"/ui/accounts/{ids['account']}/data?table=Hubspot.Contacts"),
                (
                    "select data, read again",
                    f"/ui/accounts/{ids['account']}/data?table=Hubspot.Contacts&refresh=1",
                ),
                (
                    "preview grid",
                    f"/ui/accounts/{ids['account']}/data/preview?table=Hubspot.Contacts",
                ),
                ("dataflows", "/ui/dataflows"),
                (
                    "wizard, tables step",
                    f"/ui/dataflows/new?account={ids['account']}&table=Hubspot.Contacts",
                ),
                ("monitoring", "/ui/monitoring"),
                (
                    "monitoring, page 2",
                    page2.group(1).replace("&amp;", "&") if page2 else "/ui/monitoring",
                ),
                ("run history + chart", f"/ui/monitoring/{ids['flow']}"),
                ("run detail", f"/ui/runs/{ids['run']}"),
                ("run progress (htmx)", f"/ui/runs/{ids['run']}/progress"),
                ("datasets", "/ui/datasets"),
                ("dataset", f"/ui/datasets/{dataset}"),
            ]
            results = []
            for label, path in pages:
                hx = {"hx-request": "true"} if "htmx" in label or label == "preview grid" else None
                times = measure(http, path, args.requests, hx)
                results.append((label, statistics.median(times), pct(times, 0.95)))
                print(
                    f"{label:28s} p50 {results[-1][1]:7.1f} ms  p95 {results[-1][2]:7.1f} ms",
                    flush=True,
                )
        base = results[0][1]
        lines = [
            "| Page | p50 ms | p95 ms | p50 / baseline |",
            "|---|---:|---:|---:|",
        ]
        for label, p50, p95 in results:
            note = " (calls HubSpot)" if label in SOURCE_PAGES else ""
            note = " (HubSpot's listing, kept 2 min)" if label in CACHED_PAGES else note
            lines.append(f"| {label}{note} | {p50:.1f} | {p95:.1f} | {p50 / base:.1f} x |")
        worst = max(p95 for label, _, p95 in results[1:] if label not in SOURCE_PAGES)
        print(f"slowest page without HubSpot calls: p95 {worst:.1f} ms")
        if not args.no_write:
            section = (
                "## Web UI page times (`bench/ui.py`)\n\n"
                f"`.venv/bin/python bench/ui.py --flows {args.flows} --runs {args.runs} --requests {args.requests}` "
                f"on {os.cpu_count()} cores, Python {platform.python_version()}, SQLite. One org with "
                f"{args.flows} dataflows and {args.runs:,} runs (seeded through the services in "
                f"{seeded_s:.0f} s); each page requested {args.requests} times in-process through the ASGI "
                'app (session cookie, middleware, templates; no network). Pages marked "calls HubSpot" '
                "include live round trips to the bundled emulator.\n\n"
                + "\n".join(lines)
                + f"\n\nSlowest page without HubSpot calls: p95 {worst:.1f} ms (target: under 100 ms). "
                f"Load average at the end of the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.\n\n"
                + NOTES
            )
            from bench.api import write_section

            write_section(ROOT / "docs" / "benchmarks.md", "## Web UI page times", section)
        ctx.engine.dispose()
    finally:
        emu_proc.terminate()
        emu_proc.wait(timeout=15)
        if emu_proc.stdout:
            emu_proc.stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
