"""What an incremental run costs: the HubSpot connector against the emulator (in its own
process), on N contacts with their association lists, after a full read.

Scenarios, each an incremental read from the full read's checkpoint with the dataset's rows
handed to the connector (as the engine does):

* nothing changed, cadences by cost (the default);
* nothing changed, association lists compared on this run (their refresh cost);
* 1% of the contacts changed (touched through the emulator) a few seconds before;
* the next run, nothing changed, with the default 5-minute lookback (the overlap);
* the same again in a new connector, as the engine opens one per run: its property list, and
  the portal id the first connector learned (kept with the connection) instead of a lookup.

The baseline, measured in the same run, is the full read itself: every scenario is reported as
requests per table by kind (the emulator's own counts per endpoint), wall time, and its ratio to
the full read.

    .venv/bin/python bench/incremental.py [--contacts 200000] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import write_section  # noqa: E402
from bench.connector import emulator  # noqa: E402
from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent  # noqa: E402
from headwater.connectors.hubspot import AUTH_PRIVATE_APP, HubSpotConnector  # noqa: E402
from headwater.connectors.hubspot.reader import ReadOptions  # noqa: E402
from headwater.connectors.ratelimit import LimiterRegistry  # noqa: E402

TABLE = "Hubspot.Contacts"


class Dataset:
    """The destination's rows, kept as the lake would (merged on Id), for ``known=``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def take(self, batch: pa.RecordBatch, deleted: bool) -> None:
        for row in batch.to_pylist():
            if deleted:
                self.rows.pop(str(row["Id"]), None)
            else:
                self.rows[str(row["Id"])] = row

    def known(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        rows = list(self.rows.values())
        for start in range(0, len(rows), 10_000):
            chunk = rows[start : start + 10_000]
            have = [c for c in columns if chunk and c in chunk[0]]
            yield pa.RecordBatch.from_pylist([{c: r.get(c) for c in have} for r in chunk])


def read(
    conn: HubSpotConnector,
    base_url: str,
    data: Dataset,
    state: dict[str, Any] | None,
    mode: str,
    columns: list[str],
) -> dict[str, Any]:
    httpx.post(f"{base_url}/_emulator/stats/reset", timeout=10)
    before = dict(conn.stats)
    start = time.perf_counter()
    last: ProgressEvent | None = None
    final = state
    records = 0
    for event in conn.read(
        TABLE,
        state=state,
        columns=columns,
        mode=mode,  # type: ignore[arg-type]
        known=data.known if state is not None else None,
    ):
        if isinstance(event, BatchEvent):
            data.take(event.batch, event.deleted)
            records += event.batch.num_rows
        elif isinstance(event, CheckpointEvent):
            final = event.state
        elif isinstance(event, ProgressEvent):
            last = event
    elapsed = time.perf_counter() - start
    by_kind = httpx.get(f"{base_url}/_emulator/stats", timeout=10).json()["requests"]
    assert last is not None
    return {
        "state": final,
        "records": records,
        "seconds": round(elapsed, 2),
        "requests": conn.stats["requests"] - before["requests"],
        "by_kind": {k: v for k, v in sorted(by_kind.items()) if v and not k.startswith("admin.")},
        "strategy": last.strategy,
        "reason": last.reason,
        "association_requests": last.association_requests,
        "association_changes": last.association_changes,
        "unchanged": last.unchanged,
        "deletes": last.deletes,
        "associations": last.associations,
    }


def bench(contacts: int) -> dict[str, Any]:
    with emulator(contacts=contacts, rate_limit="none", seed=42, search_index_lag_ms=0) as emu:
        token = emu.info["private_app_token"]
        opts = ReadOptions(lookback_ms=0)
        learned: list[dict[str, str]] = []
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": token},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=1_000_000),
            read_options=opts,
            on_learned=learned.append,
        ) as conn:
            layout = conn.layout(TABLE)
            props = {"Properties_Email_Value", "Properties_Firstname_Value"}
            columns = [
                c.name for c in layout.columns if c.origin == "association" or c.name in props
            ]
            data = Dataset()
            full = read(conn, emu.base_url, data, None, "full", columns)
            time.sleep(1.0)
            quiet = read(conn, emu.base_url, data, full["state"], "incremental", columns)
            # the association comparison forced on this run (a flow's associationsEverySeconds=0)
            conn._options = replace(opts, associations_every_ms=0)
            assoc = read(conn, emu.base_url, data, quiet["state"], "incremental", columns)
            conn._options = opts
            touched = max(1, contacts // 100)
            httpx.post(
                f"{emu.base_url}/_emulator/touch",
                json={"objectType": "contacts", "count": touched},
                timeout=60,
            ).raise_for_status()
            time.sleep(1.0)
            changed = read(conn, emu.base_url, data, assoc["state"], "incremental", columns)
            # the overlap: nothing changed since, but the default 5-minute lookback re-reads the
            # changes of the previous run's last minutes (HubSpot's indexing lag covered)
            conn._options = replace(opts, lookback_ms=ReadOptions().lookback_ms)
            overlap = read(conn, emu.base_url, data, changed["state"], "incremental", columns)
        # a new run opens a new connector: the property list again, the portal id as kept
        with HubSpotConnector(
            auth_spec_name=AUTH_PRIVATE_APP,
            params={"accessToken": token},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=1_000_000),
            read_options=ReadOptions(),
            learned=learned[0] if learned else None,
        ) as fresh:
            new_run = read(fresh, emu.base_url, data, overlap["state"], "incremental", columns)
    out: dict[str, Any] = {"contacts": contacts, "touched": touched}
    for name, measured in (
        ("full", full),
        ("nothing_changed", quiet),
        ("association_refresh", assoc),
        ("one_percent_changed", changed),
        ("lookback_overlap", overlap),
        ("new_connector", new_run),
    ):
        r = dict(measured)
        r.pop("state")
        if name != "full":
            r["requests_vs_full"] = round(r["requests"] / full["requests"], 4)
            r["time_vs_full"] = round(r["seconds"] / full["seconds"], 4)
        out[name] = r
    return out


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def commit() -> str:
    """The checked-out commit, with ``+changes`` when the tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" +changes" if dirty else "")


def render(result: dict[str, Any]) -> str:
    rows = [
        "| scenario | records read | requests | by kind | wall time | ÷ full (requests, time) |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("full", "full read (baseline)"),
        ("nothing_changed", "incremental, nothing changed (cadences by cost)"),
        ("association_refresh", "incremental, nothing changed, association lists compared"),
        ("one_percent_changed", f"incremental, {result['touched']:,} contacts (1%) changed"),
        ("lookback_overlap", "the next run, nothing changed, 5-minute lookback (the overlap)"),
        ("new_connector", "the same in a new connector (a new run, the portal id kept)"),
    ):
        r = result[name]
        kinds = ", ".join(f"{k} {v}" for k, v in r["by_kind"].items())
        ratio = "1" if name == "full" else f"{r['requests_vs_full']:.4f}, {r['time_vs_full']:.4f}"
        rows.append(
            f"| {label} | {r['records']:,} | {r['requests']:,} | {kinds} | {r['seconds']} s | {ratio} |"
        )
    quiet, assoc = result["nothing_changed"], result["association_refresh"]
    return "\n".join(
        [
            "## Incremental run cost (`bench/incremental.py`)",
            "",
            f"`.venv/bin/python bench/incremental.py --contacts {result['contacts']}` on "
            f"{platform.machine()} ({platform.python_version()}), emulator in its own process, "
            "limits off, the contacts table with e-mail, first name and every association list. "
            "Each incremental read starts from the previous read's checkpoint with the dataset's "
            f"rows handed to the connector, as the engine does. Run at {result['when']} at "
            f"commit `{result['commit']}`, load average {result['load']:.1f} at the end.",
            "",
            *rows,
            "",
            f"With nothing changed the run costs {plural(quiet['requests'], 'request')} "
            f"({quiet['deletes'] or 'deletes: -'}; {quiet['associations'] or 'associations: -'}). "
            f"Comparing every association list of {result['contacts']:,} contacts costs "
            f"{assoc['association_requests']:,} requests, which is why its default cadence "
            "grows with that cost (a flow sets `associationsEverySeconds` to choose). "
            "The other benchmark rows use no lookback; the last two are the price of the "
            "default 5-minute overlap, which finds the "
            f"{result['lookback_overlap']['unchanged']:,} records changed just before the "
            "previous run again: the dataset already holds them at the same modification time, "
            "so they are neither written again nor their associations read, and the run costs "
            f"{plural(result['lookback_overlap']['requests'], 'request')} (a run whose previous "
            "run saw no recent changes finds nothing there). A run opens a new connector, which "
            "lists the table's properties once more and takes the portal id kept with the "
            f"connection: {plural(result['new_connector']['requests'], 'request')} for the table "
            "(the last row).",
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument(
        "--no-write", action="store_true", help="print the section instead of updating the docs"
    )
    args = ap.parse_args()
    result = bench(args.contacts)
    result["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["commit"] = commit()
    result["load"] = os.getloadavg()[0]
    for name in (
        "full",
        "nothing_changed",
        "association_refresh",
        "one_percent_changed",
        "lookback_overlap",
        "new_connector",
    ):
        r = result[name]
        rate = r["records"] / r["seconds"] if r["seconds"] else 0.0
        print(
            f"{name}: {r['records']} records, {r['requests']} requests, {r['seconds']} s "
            f"({rate:,.0f} records/s) {json.dumps(r['by_kind'])}",
            flush=True,
        )
    if args.no_write:
        print(render(result))
    else:
        write_section(
            ROOT / "docs" / "benchmarks.md",
            "## Incremental run cost",
            render(result),
        )


if __name__ == "__main__":
    main()
