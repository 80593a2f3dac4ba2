"""Benchmark of the HubSpot connector against the emulator (served in a separate process).

Usage::

    .venv/bin/python bench/connector.py speed      [--contacts 20000]
    .venv/bin/python bench/connector.py ratelimit  [--contacts 50000]
    .venv/bin/python bench/connector.py memory     [--contacts 1000000]
    .venv/bin/python bench/connector.py all

``speed``: rate limits off, contacts with 10 properties into Arrow; prints records/s of the
connector and of a plain single-threaded httpx paging loop over the same endpoint (the ceiling),
measured in the same run, and their ratio. ``ratelimit``: the emulator's OAuth-app limit (110
requests per 10 s); prints the full-load time, the minimum the limit allows for the requests made,
their ratio, and the 429 count. ``memory``: peak RSS of the reading process for a large read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow as pa

from headwater.connectors.events import BatchEvent
from headwater.connectors.hubspot import AUTH_OAUTH, AUTH_PRIVATE_APP, HubSpotConnector
from headwater.connectors.ratelimit import LimiterRegistry

TEN_PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "city",
    "country",
    "company",
    "lifecyclestage",
    "hs_lead_status",
    "annualrevenue",
    "hw_score",
]

_SERVER = """
import json, sys
from headwater.emulator.hubspot import EmulatorConfig, create_app
from headwater.emulator.hubspot.server import _free_socket, uvicorn_config
import asyncio, uvicorn, uvloop
cfg = EmulatorConfig(**json.loads(sys.argv[1]))
app = create_app(cfg)
sock = _free_socket(cfg.host, 0)
port = sock.getsockname()[1]
info = app.info()
print(json.dumps({"port": port, **info}), flush=True)
server = uvicorn.Server(uvicorn_config(app, cfg.host, port))
with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
    runner.run(server.serve(sockets=[sock]))
"""


@dataclass
class Served:
    base_url: str
    info: dict[str, Any]


@contextmanager
def emulator(**config: Any) -> Iterator[Served]:
    """The emulator in its own process, so that it does not share the reader's interpreter."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator did not start")
        info = json.loads(line)
        base = f"http://127.0.0.1:{info['port']}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/crm/v3/owners", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield Served(base, info)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def baseline(base_url: str, token: str, properties: list[str]) -> tuple[int, float]:
    """A plain keep-alive paging loop: one thread, ``r.json()`` per page, nothing else."""
    n = 0
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        params: dict[str, str] = {"limit": "100", "properties": ",".join(properties)}
        while True:
            body = client.get("/crm/v3/objects/contacts", params=params).json()
            n += len(body["results"])
            after = body.get("paging", {}).get("next", {}).get("after")
            if after is None:
                break
            params["after"] = after
    return n, time.perf_counter() - start


def connector_read(
    connector: HubSpotConnector, columns: list[str] | None
) -> tuple[int, int, float, str]:
    rows = deleted = 0
    strategy = ""
    start = time.perf_counter()
    for event in connector.read("Hubspot.Contacts", state=None, columns=columns, mode="full"):
        if isinstance(event, BatchEvent):
            if event.deleted:
                deleted += event.batch.num_rows
            else:
                rows += event.batch.num_rows
        elif hasattr(event, "strategy"):
            strategy = event.strategy
    return rows, deleted, time.perf_counter() - start, strategy


def ten_property_columns() -> list[str]:
    from headwater.connectors.hubspot.schema import column_name

    return [column_name("properties", p, "value") for p in TEN_PROPERTIES]


def bench_speed(contacts: int) -> dict[str, Any]:
    with emulator(contacts=contacts, rate_limit="none", seed=42) as emu:
        token = emu.info["private_app_token"]
        columns = ten_property_columns()
        # Warm-up, not timed: the emulator's first pass over its data, and pyarrow's one-time
        # lazy import of pandas on the first pa.array() call of the process (~1.4 s here).
        pa.array([1])
        baseline(emu.base_url, token, TEN_PROPERTIES)
        base_runs: list[tuple[int, float]] = []
        conn_runs: list[tuple[int, float]] = []
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": token},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=1_000_000),
        ) as conn:
            conn.table_schema("Hubspot.Contacts")
            for _ in range(3):  # alternate, best of three each
                base_runs.append(baseline(emu.base_url, token, TEN_PROPERTIES))
                rows, deleted, t_conn, _ = connector_read(conn, columns)
                conn_runs.append((rows + deleted, t_conn))
        n_base, t_base = min(base_runs, key=lambda r: r[1])
        n_conn, t_conn = min(conn_runs, key=lambda r: r[1])
        base_rate = n_base / t_base
        conn_rate = n_conn / t_conn
        return {
            "contacts": contacts,
            "baseline_records": n_base,
            "baseline_s": round(t_base, 3),
            "baseline_records_per_s": round(base_rate),
            "connector_records": n_conn,
            "connector_s": round(t_conn, 3),
            "connector_records_per_s": round(conn_rate),
            "ratio_to_baseline": round(conn_rate / base_rate, 3),
        }


def bench_ratelimit(contacts: int, *, associations: bool) -> dict[str, Any]:
    with emulator(contacts=contacts, rate_limit="oauth-app", seed=42) as emu:
        info = emu.info
        params = {
            "clientId": info["oauth_client_id"],
            "clientSecret": info["oauth_client_secret"],
            "accessToken": "",
            "refreshToken": info["refresh_token"],
        }
        registry = LimiterRegistry()
        with HubSpotConnector(
            auth_spec_name=AUTH_OAUTH,
            params=params,
            base_url=emu.base_url,
            limiter_registry=registry,
        ) as conn:
            layout = conn.layout("Hubspot.Contacts")
            columns = [c.name for c in layout.columns if associations or c.origin != "association"]
            before = dict(conn.stats)
            rows, deleted, elapsed, _ = connector_read(conn, columns)
            after = conn.stats
            limiter = conn.http.limiter
        stats = httpx.get(f"{emu.base_url}/_emulator/stats", timeout=5).json()
    counted = (after["requests"] - after["search_requests"]) - (
        before["requests"] - before["search_requests"]
    )
    budget, window = limiter.budget, limiter.window_s
    # the first `budget` calls may go at once; every further `budget` calls need one more window
    minimum = max(math.ceil(counted / budget) - 1, 0) * window
    return {
        "contacts": contacts,
        "associations": associations,
        "records": rows + deleted,
        "requests_counted_in_10s_window": counted,
        "elapsed_s": round(elapsed, 2),
        "minimum_s": round(minimum, 2),
        "ratio_to_minimum": round(elapsed / minimum, 3) if minimum else None,
        "client_429s": after["rate_limited"],
        "server_statuses": stats.get("statuses"),
    }


def bench_memory(contacts: int) -> dict[str, Any]:
    with emulator(contacts=contacts, rate_limit="none", seed=42) as emu:
        token = emu.info["private_app_token"]
        pa.array([1])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": token},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=1_000_000),
        ) as conn:
            # every property column; association lists are left out because the emulator computes
            # associations at ~0.2 s per 1,000 ids, which would make this read take ~10 minutes
            columns = [
                c.name for c in conn.layout("Hubspot.Contacts").columns if c.origin != "association"
            ]
            rows, deleted, elapsed, _ = connector_read(conn, columns)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "contacts": contacts,
        "records": rows + deleted,
        "elapsed_s": round(elapsed, 1),
        "records_per_s": round((rows + deleted) / elapsed),
        "columns": len(columns),
        "rss_before_read_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("what", choices=["speed", "ratelimit", "memory", "all"])
    parser.add_argument("--contacts", type=int)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results: dict[str, Any] = {}
    if args.what in ("speed", "all"):
        results["speed"] = bench_speed(args.contacts or 20_000)
        print(json.dumps(results["speed"]), flush=True)
    if args.what in ("ratelimit", "all"):
        for associations in (False, True):
            result = bench_ratelimit(args.contacts or 50_000, associations=associations)
            results[f"ratelimit_associations_{associations}"] = result
            print(json.dumps(result), flush=True)
    if args.what in ("memory", "all"):
        results["memory"] = bench_memory(args.contacts or 1_000_000)
        print(json.dumps(results["memory"]), flush=True)


if __name__ == "__main__":
    main()
