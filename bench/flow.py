"""A dataflow end to end: HubSpot emulator (limits off) → connector → staging → Delta (merge).

Measures, in one run: a full run of N contacts, then an incremental run after touching 1% of
them, and as the baseline the connector alone reading the same table into Arrow (no lake), so the
ratio shows what staging and the Delta commit cost. Reports records/s and peak RSS of this process
(the worker; the emulator runs in a thread of the same process here, so RSS includes it — the
emulator keeps generated records lazily, its share is printed separately at start-up).

    .venv/bin/python bench/flow.py [--contacts 200000] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import write_section  # noqa: E402
from bench.flowsetup import (  # noqa: E402
    create_connection,
    create_contacts_flow,
    create_tenant,
    last_run,
    run_status,
)
from headwater.connectors.base import ConnectorSettings  # noqa: E402
from headwater.connectors.hubspot import (  # noqa: E402
    AUTH_PRIVATE_APP,
    HubSpotConnector,
    HubSpotSettings,
    ReadOptions,
)
from headwater.connectors.ratelimit import LimiterRegistry  # noqa: E402
from headwater.engine.worker import Worker  # noqa: E402
from headwater.lake import Lake, TableRef  # noqa: E402
from headwater.services import flows, sources  # noqa: E402
from headwater.services.context import ServiceContext  # noqa: E402
from headwater.store import migrate  # noqa: E402
from headwater.store.db import create_engine  # noqa: E402
from headwater.store.secrets import SecretBox, generate_key  # noqa: E402


@dataclass
class Emu:
    base_url: str
    private_app_token: str


@contextlib.contextmanager
def emulator_process(contacts: int) -> Iterator[Emu]:
    cmd = [
        str(Path(sys.executable).with_name("headwater")),
        "emulator",
        "hubspot",
        "--port",
        "0",
        "--json",
        "--seed",
        "1",
        "--contacts",
        str(contacts),
        "--companies",
        "100",
        "--deals",
        "100",
        "--tickets",
        "10",
        "--products",
        "5",
        "--line-items",
        "10",
        "--engagements",
        "10",
        "--custom-records",
        "10",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        yield Emu(info["base_url"], info["private_app_token"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hw-bench-flow-"))
    engine = create_engine(f"sqlite:///{home / 'hw.db'}")
    migrate.upgrade(engine)
    ctx = ServiceContext(
        engine=engine,
        box=SecretBox(generate_key()),
        lake=Lake(str(home / "lake")),
        connector_settings=ConnectorSettings(
            HubSpotSettings(
                deletes_every_ms=0,
                # the emulator runs with rate limits off, as in bench/connector.py
                limiters=LimiterRegistry(budget=1_000_000, search_per_s=1_000),
            )
        ),
    )
    org = "BENCH0002@AdobeOrg"
    tenant = create_tenant(ctx, org)

    t0 = time.perf_counter()
    with emulator_process(args.contacts) as emu:
        emu_start = time.perf_counter() - t0
        ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url

        # baseline: the connector alone, same table, into Arrow
        t = time.perf_counter()
        n_base = 0
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": emu.private_app_token},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=1_000_000, search_per_s=1_000),
            read_options=ReadOptions(deletes_every_ms=0),
        ) as conn:
            from headwater.connectors.events import BatchEvent

            for ev in conn.read("Hubspot.Contacts", state=None):
                if isinstance(ev, BatchEvent):
                    n_base += ev.batch.num_rows
        base_s = time.perf_counter() - t

        base_id = create_connection(ctx, tenant, emu.private_app_token)
        flow = create_contacts_flow(ctx, tenant, base_id)
        ds = flow.dataset
        worker = Worker(ctx, open_connector=sources.open_connector, name="bench")
        t = time.perf_counter()
        assert worker.run_until_idle() == 1
        full_s = time.perf_counter() - t
        status = last_run(ctx, tenant)["metrics"]["statusSummary"]
        if run_status(last_run(ctx, tenant)) != "success":
            raise SystemExit(f"the full run did not succeed: {status}")
        rss_full = rss_mb()
        assert ctx.lake is not None
        rows = ctx.lake.dataset(TableRef(org, "prod", ds)).count_rows()  # type: ignore[union-attr]

        changed = max(1, args.contacts // 100)
        time.sleep(0.01)
        httpx.post(
            emu.base_url + "/_emulator/touch", json={"objectType": "contacts", "count": changed}
        )
        flows.act(ctx, tenant, flow.flow, "run")
        t = time.perf_counter()
        assert worker.run_until_idle() == 1
        inc_s = time.perf_counter() - t

        # the same full run reading 10 property columns (params.columns), no association lists
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": emu.private_app_token},
            base_url=emu.base_url,
        ) as probe:
            names = [f.name for f in probe.table_schema("Hubspot.Contacts")]
        ten = [n for n in names if n.startswith("Properties_")][:10]
        ds10 = create_contacts_flow(
            ctx, tenant, base_id, name="contacts, 10 columns", columns=ten
        ).dataset
        t = time.perf_counter()
        assert worker.run_until_idle() == 1
        ten_s = time.perf_counter() - t
        rows10 = ctx.lake.dataset(TableRef(org, "prod", ds10)).count_rows()  # type: ignore[union-attr]
        rss_end = rss_mb()

    full_rate = rows / full_s
    base_rate = n_base / base_s
    print(f"emulator start ({args.contacts:,} contacts, own process): {emu_start:.2f} s")
    print(
        f"baseline connector → Arrow:   {n_base:,} records in {base_s:.2f} s = {base_rate:,.0f} records/s"
    )
    print(
        f"full run → Delta (merge):     {rows:,} rows in {full_s:.2f} s = {full_rate:,.0f} records/s "
        f"({full_rate / base_rate:.2f}x the connector alone)"
    )
    print(f"incremental run, {changed:,} changed: {inc_s:.2f} s")
    print(
        f"full run, 10 property columns: {rows10:,} rows in {ten_s:.2f} s = "
        f"{rows10 / ten_s:,.0f} records/s"
    )
    print(f"peak RSS: {rss_full:.0f} MB after the full run, {rss_end:.0f} MB at the end")

    if not args.no_write:
        section = "\n".join(
            [
                "## Dataflow end to end (`bench/flow.py`)",
                "",
                f"Command: `.venv/bin/python bench/flow.py --contacts {args.contacts}` — "
                f"{platform.machine()}, {os.cpu_count()} cores, SQLite, local Delta lake, the emulator "
                "in its own process with rate limits off. Run at "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
                "",
                "| measurement | result |",
                "|---|---:|",
                f"| baseline: connector alone → Arrow | {base_rate:,.0f} records/s |",
                f"| full run → Delta, merge mode ({rows:,} rows) | {full_s:.1f} s, {full_rate:,.0f} records/s ({full_rate / base_rate:.2f}x baseline) |",
                f"| incremental run, {changed:,} changed (1%) | {inc_s:.2f} s |",
                f"| full run → Delta, 10 property columns (`params.columns`), no association lists | {ten_s:.1f} s, {rows10 / ten_s:,.0f} records/s |",
                f"| peak RSS of the worker process | {rss_end:.0f} MB |",
                "",
            ]
        )
        write_section(ROOT / "docs" / "benchmarks.md", "## Dataflow end to end", section)


if __name__ == "__main__":
    main()
