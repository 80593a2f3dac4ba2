"""Mixed Flow Service API load against ``headwater serve`` on PostgreSQL while flows run.

Starts the HubSpot emulator and ``headwater serve`` (API worker processes and a worker running
the scheduler) on a database of its own on PostgreSQL, creates ``--flows`` HubSpot → lake dataflows and
keeps each of them running (a new run as soon as the last one ended), then drives the API with
``--concurrency`` keep-alive clients for ``--duration`` seconds:

    GET /connections (lists, with and without a ``property`` filter), GET /connections/{id},
    GET /flows (filtered), GET /flows/{id}, GET /runs (filtered by flow), POST /connections,
    PATCH /connections/{id} (with its etag), DELETE /connections/{id}

and reports achieved requests/s, p50/p95/p99 per operation and overall, every error, the runs
that ran meanwhile, and the machine's load average (other work shares the two cores). Beside it,
as the baseline, POST /connections alone on SQLite (the same server, another home).

    .venv/bin/python bench/load.py [--duration 300] [--concurrency 32] [--flows 10]
        [--workers 2] [--baseline-seconds 20] [--pg-url postgresql+psycopg://...] [--no-write]

The load generator is a plain asyncio HTTP/1.1 client (no load tool is installed here; the client
runs on the same machine, so it takes part of the CPU the server could use).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import BODY, FS, HEADWATER, cli, free_port, write_section  # noqa: E402

CAT = "/data/foundation/catalog"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
PG_URL = os.environ.get(
    "HEADWATER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

#: operation -> share of the traffic (reads 80 %, writes 20 %)
MIX = {
    "GET /connections?limit=20": 16,
    "GET /connections?property=name==": 8,
    "GET /connections/{id}": 20,
    "GET /flows?property=state==enabled": 10,
    "GET /flows/{id}": 8,
    "GET /runs?property=flowId==": 18,
    "POST /connections": 8,
    "PATCH /connections/{id}": 8,
    "DELETE /connections/{id}": 4,
}


# --------------------------------------------------------------------------- processes


@contextlib.contextmanager
def emulator(contacts: int) -> Iterator[dict[str, Any]]:
    cmd = [
        HEADWATER,
        "emulator",
        "hubspot",
        "--port",
        "0",
        "--json",
        "--seed",
        "3",
        "--contacts",
        str(contacts),
        "--rate-limit",
        "none",
        "--search-index-lag-ms",
        "0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A database of this run's own on the PostgreSQL server, dropped afterwards."""
    name = f"headwater_load_{os.getpid()}_{random.randrange(16**6):06x}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        # serve's scheduler and worker may still be closing their connections: FORCE ends them
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Server:
    base: str
    port: int
    headers: dict[str, str]
    home: Path


@contextlib.contextmanager
def server(
    *, database_url: str | None, workers: int, engine: bool, hubspot: str | None = None
) -> Iterator[Server]:
    home = Path(tempfile.mkdtemp(prefix="hw-bench-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_HOME"] = str(home)
    env["HEADWATER_LOG_LEVEL"] = "WARNING"
    if database_url:
        env["HEADWATER_DATABASE_URL"] = database_url
    if hubspot:
        env["HEADWATER_HUBSPOT_BASE_URL"] = hubspot
        env["HEADWATER_HUBSPOT_BURST_BUDGET"] = "100000"
        env["HEADWATER_HUBSPOT_SEARCH_PER_SECOND"] = "100"
    org = "LOAD0001@AdobeOrg"
    cli(env, "orgs", "create", org)
    client = json.loads(cli(env, "clients", "create", "--org", org, "--name", "load", "--json"))
    token = cli(
        env, "token", "--client-id", client["clientId"], "--client-secret", client["clientSecret"]
    ).strip()
    port = free_port()
    args = [HEADWATER, "serve", "--port", str(port), "--workers", str(workers)]
    if not engine:
        args.append("--no-engine")
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": client["clientId"],
            "x-gw-ims-org-id": org,
            "x-sandbox-name": "prod",
        }
        yield Server(base, port, headers, home)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


# --------------------------------------------------------------------------- set-up


def create_flows(c: httpx.Client, count: int, token: str) -> list[str]:
    flows = []
    for i in range(count):
        base = c.post(
            f"{FS}/connections",
            json={
                "name": f"HubSpot {i}",
                "auth": {"specName": "Private App Token", "params": {"accessToken": token}},
                "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
            },
        )
        base.raise_for_status()
        src = c.post(
            f"{FS}/sourceConnections",
            json={
                "name": f"contacts {i}",
                "baseConnectionId": base.json()["id"],
                "data": {"format": "tabular"},
                "params": {"path": "Hubspot.Contacts"},
                "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
            },
        )
        src.raise_for_status()
        ds = c.post(f"{CAT}/dataSets", json={"name": f"load-contacts-{i}"})
        ds.raise_for_status()
        tgt = c.post(
            f"{FS}/targetConnections",
            json={
                "name": f"lake {i}",
                "data": {
                    "format": "delta",
                    "schema": {
                        "id": "https://ns.adobe.com/x/schemas/y",
                        "version": "application/vnd.adobe.xed-full+json;version=1",
                    },
                },
                "params": {"dataSetId": ds.json()[0].split("/")[-1]},
                "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
            },
        )
        tgt.raise_for_status()
        flow = c.post(
            f"{FS}/flows",
            json={
                "name": f"load flow {i}",
                "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
                "sourceConnectionIds": [src.json()["id"]],
                "targetConnectionIds": [tgt.json()["id"]],
                "transformations": [
                    {
                        "name": "Copy",
                        "params": {
                            "deltaColumn": {
                                "name": "updatedAt",
                                "dateFormat": "YYYY-MM-DD",
                                "timezone": "UTC",
                            }
                        },
                    }
                ],
                "scheduleParams": {"startTime": str(int(time.time()) - 5), "frequency": "once"},
            },
        )
        flow.raise_for_status()
        flows.append(flow.json()["id"])
    return flows


# --------------------------------------------------------------------------- the load


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


class Conn:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def call(
        self, method: str, path: str, body: Any = None, extra: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{self.head}{extra}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.writer.write((head + "\r\n").encode() + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        m = re.search(rb"(?i)content-length:\s*(\d+)", raw)
        data = await self.reader.readexactly(int(m.group(1))) if m else b""
        if re.search(rb"(?i)connection:\s*close", raw):
            self.writer.close()
            self.writer = None
        return status, data


async def client_loop(
    port: int,
    headers: dict[str, str],
    seeds: list[str],
    flows: list[str],
    deadline: float,
    stats: Stats,
    rng: random.Random,
) -> None:
    conn = Conn(port, headers)
    mine: list[tuple[str, str]] = []  # (id, etag) of connections this client created
    ops, weights = list(MIX), list(MIX.values())
    while time.perf_counter() < deadline:
        op = rng.choices(ops, weights)[0]
        if op in ("PATCH /connections/{id}", "DELETE /connections/{id}") and not mine:
            op = "POST /connections"
        if "flow" in op and not flows:
            op = "GET /connections/{id}"
        t0 = time.perf_counter()
        if op == "GET /connections?limit=20":
            status, data = await conn.call("GET", f"{FS}/connections?limit=20")
        elif op == "GET /connections?property=name==":
            status, data = await conn.call(
                "GET", f"{FS}/connections?property=name%3D%3Dload-{rng.randrange(50)}&limit=10"
            )
        elif op == "GET /connections/{id}":
            status, data = await conn.call("GET", f"{FS}/connections/{rng.choice(seeds)}")
        elif op == "GET /flows?property=state==enabled":
            status, data = await conn.call(
                "GET", f"{FS}/flows?property=state%3D%3Denabled&limit=10"
            )
        elif op == "GET /flows/{id}":
            status, data = await conn.call("GET", f"{FS}/flows/{rng.choice(flows)}")
        elif op == "GET /runs?property=flowId==":
            status, data = await conn.call(
                "GET", f"{FS}/runs?property=flowId%3D%3D{rng.choice(flows)}&limit=10"
            )
        elif op == "POST /connections":
            body = {**BODY, "name": f"load-{rng.randrange(50)}"}
            status, data = await conn.call("POST", f"{FS}/connections", body)
            if status == 201:
                doc = json.loads(data)
                mine.append((doc["id"], doc["etag"]))
        elif op == "PATCH /connections/{id}":
            i = rng.randrange(len(mine))
            cid, etag = mine[i]
            ops_body = [{"op": "replace", "path": "/description", "value": f"d{rng.random()}"}]
            status, data = await conn.call(
                "PATCH", f"{FS}/connections/{cid}", ops_body, f"If-Match: {etag}\r\n"
            )
            if status == 200:
                mine[i] = (cid, json.loads(data)["etag"])
        else:
            cid, _ = mine.pop(rng.randrange(len(mine)))
            status, data = await conn.call("DELETE", f"{FS}/connections/{cid}")
        stats.latencies[op].append(time.perf_counter() - t0)
        if status >= 400:
            stats.errors[op].append(status)


async def keep_flows_running(
    base: str, headers: dict[str, str], flows: list[str], deadline: float, outcome: dict[str, int]
) -> None:
    """A new run of every flow whose last run ended (so all of them run through the load)."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        while time.perf_counter() < deadline:
            for flow in flows:
                r = await c.get(
                    f"{FS}/runs",
                    params={"property": f"flowId=={flow}", "orderby": "-createdAt", "limit": "1"},
                )
                items = r.json().get("items", []) if r.status_code == 200 else []
                status = items[0]["metrics"]["statusSummary"]["status"] if items else None
                if status in ("success", "failed", "partialSuccess", "cancelled"):
                    key = f"{items[0]['id']}"
                    if key not in outcome:
                        outcome[key] = 1
                        outcome[f"status:{status}"] = outcome.get(f"status:{status}", 0) + 1
                        await c.post(f"{FS}/flows/{flow}/action", params={"op": "run"})
            await asyncio.sleep(1.0)


async def sample_load(deadline: float, samples: list[float]) -> None:
    while time.perf_counter() < deadline:
        samples.append(os.getloadavg()[0])
        await asyncio.sleep(5)


def drive(
    srv: Server, seeds: list[str], flows: list[str], seconds: float, concurrency: int
) -> tuple[Stats, float, dict[str, int], list[float]]:
    stats = Stats()
    outcome: dict[str, int] = {}
    load: list[float] = []

    async def main() -> float:
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        tasks = [
            client_loop(srv.port, srv.headers, seeds, flows, deadline, stats, random.Random(i))
            for i in range(concurrency)
        ]
        side = [sample_load(deadline, load)]
        if flows:
            side.append(keep_flows_running(srv.base, srv.headers, flows, deadline, outcome))
        await asyncio.gather(*tasks, *side)
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    return stats, elapsed, outcome, load


async def post_only(srv: Server, seconds: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        conn = Conn(srv.port, srv.headers)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, _ = await conn.call("POST", f"{FS}/connections", BODY)
            latencies.append(time.perf_counter() - t0)
            errors += status >= 400

    deadline = time.perf_counter() + seconds
    await asyncio.gather(*[one() for _ in range(concurrency)])
    return latencies, errors


def pct(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        v = values[0] * 1000 if values else 0.0
        return v, v, v
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--flows", type=int, default=10)
    ap.add_argument("--contacts", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=2, help="API worker processes")
    ap.add_argument("--baseline-seconds", type=float, default=20.0)
    ap.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server (admin database)")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()

    load_before = os.getloadavg()
    with (
        emulator(args.contacts) as emu,
        pg_database(args.pg_url) as db_url,
        server(
            database_url=db_url, workers=args.workers, engine=True, hubspot=emu["base_url"]
        ) as srv,
    ):
        with httpx.Client(base_url=srv.base, headers=srv.headers, timeout=60) as c:
            seeds = [
                c.post(f"{FS}/connections", json={**BODY, "name": f"load-{i % 50}"}).json()["id"]
                for i in range(200)
            ]
            flows = create_flows(c, args.flows, emu["private_app_token"])
        drive(srv, seeds, flows, args.warmup, args.concurrency)
        stats, elapsed, outcome, load = drive(srv, seeds, flows, args.duration, args.concurrency)
    with server(database_url=None, workers=args.workers, engine=False) as lite:
        asyncio.run(post_only(lite, min(args.warmup, args.baseline_seconds), args.concurrency))
        t0 = time.perf_counter()
        post_lat, post_errors = asyncio.run(
            post_only(lite, args.baseline_seconds, args.concurrency)
        )
        post_elapsed = time.perf_counter() - t0
    load_after = os.getloadavg()

    everything = [v for vs in stats.latencies.values() for v in vs]
    errors = sum(len(e) for e in stats.errors.values())
    rps = len(everything) / elapsed
    p50, p95, p99 = pct(everything)
    post_rps = len(post_lat) / post_elapsed
    bp50, bp95, bp99 = pct(post_lat)
    runs_done = sum(1 for k in outcome if not k.startswith("status:"))
    statuses = {k.split(":", 1)[1]: v for k, v in outcome.items() if k.startswith("status:")}
    mean_load = statistics.fmean(load) if load else load_after[0]

    rows = []
    print(
        f"{'operation':36} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} errors"
    )
    for op in MIX:
        lat = stats.latencies.get(op, [])
        a, b, cc = pct(lat)
        errs = stats.errors.get(op, [])
        print(
            f"{op:36} {len(lat):9} {len(lat) / elapsed:8.0f} {a:8.1f} {b:8.1f} {cc:8.1f} {len(errs)}"
            + (f" e.g. {errs[:3]}" if errs else "")
        )
        rows.append(
            f"| {op} | {len(lat):,} | {len(lat) / elapsed:,.0f} | {a:.1f} | {b:.1f} | {cc:.1f} "
            f"| {len(errs)} |"
        )
    print(
        f"{'all (PostgreSQL, flows running)':36} {len(everything):9} {rps:8.0f} {p50:8.1f} "
        f"{p95:8.1f} {p99:8.1f} {errors}"
    )
    print(
        f"{'baseline: POST /connections, SQLite':36} {len(post_lat):9} {post_rps:8.0f} "
        f"{bp50:8.1f} {bp95:8.1f} {bp99:8.1f} {post_errors}"
    )
    print(f"mixed load vs SQLite POST baseline: {rps / post_rps:.2f}x req/s")
    print(f"runs finished during the load: {runs_done} {statuses}")
    print(
        f"load average: {load_before[0]:.2f} before, {mean_load:.2f} mean during, "
        f"{load_after[0]:.2f} after ({os.cpu_count()} cores)"
    )
    target = "met" if rps >= 1000 and p99 < 100 and errors == 0 else "missed"
    print(f"target 1,000 req/s, p99 < 100 ms, 0 errors: {target}")

    if not args.no_write:
        cmd = (
            f"`.venv/bin/python bench/load.py --duration {args.duration:g} --concurrency "
            f"{args.concurrency} --flows {args.flows} --workers {args.workers}`"
        )
        section = "\n".join(
            [
                "## Mixed API load while flows run (`bench/load.py`)",
                "",
                f"Command: {cmd} (`make bench` runs it) — {platform.machine()}, "
                f"{os.cpu_count()} cores shared with other work (load average "
                f"{load_before[0]:.2f} before, {mean_load:.2f} mean during the run), "
                f"`headwater serve` with {args.workers} API worker process(es) and a worker "
                f"running the scheduler, on PostgreSQL; {args.flows} HubSpot → lake flows of "
                f"{args.contacts:,} contacts re-run as soon as each ended ({runs_done} runs "
                f"finished: {statuses}); {args.concurrency} keep-alive clients of an asyncio "
                f"load generator on the same machine, {args.duration:g} s after "
                f"{args.warmup:g} s of warm-up. Run at "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
                "",
                "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
                "|---|---:|---:|---:|---:|---:|---:|",
                *rows,
                f"| **all, PostgreSQL, flows running** | {len(everything):,} | {rps:,.0f} | "
                f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {errors} |",
                f"| baseline: POST /connections alone, SQLite, no flows | {len(post_lat):,} | "
                f"{post_rps:,.0f} | {bp50:.1f} | {bp95:.1f} | {bp99:.1f} | {post_errors} |",
                "",
                f"Target: 1,000 req/s with p99 under 100 ms and no errors: **{target}** "
                f"({rps / 1000:.0%} of the rate, p99 {p99:.0f} ms).",
                "",
            ]
        )
        write_section(ROOT / "docs" / "benchmarks.md", "## Mixed API load while flows run", section)
    return 1 if errors or post_errors else 0


if __name__ == "__main__":
    sys.exit(main())
