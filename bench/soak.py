"""The soak: 50 flows on minute schedules against the bundled emulator with faults on, for
``SOAK_MINUTES`` (30 by default), with real processes: ``headwater serve --no-engine``, a
``headwater scheduler`` and two ``headwater worker``s, one of them killed (``kill -9``) now and
then and replaced. The emulator answers with 5xx and 429 at random and its records change every
minute. Adobe's smallest minute schedule is every 15 minutes, so each flow is also run now
(``POST /flows/{id}/action?op=run``) every minute: a run a minute per flow.

At the end (faults off, one more run of every flow): no run stuck, no lease leaked, every dataset
exact (the emulator's ids, each once), and the RSS of the processes, sampled every 10 s, first /
last / peak. ``--write`` puts the figures into ``docs/reliability.md``.

    SOAK_MINUTES=5 .venv/bin/python bench/soak.py --write
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from deltalake import DeltaTable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import ENGINE_ENV, HEADWATER, SMALL, Emulator, start_server  # noqa: E402
from tests.e2e.test_dataflow_processes import FS, Api, make_flow  # noqa: E402

from bench.api import write_section  # noqa: E402

FLOWS = 50
TABLES = {  # flow table -> emulator object type
    "Hubspot.Contacts": "contacts",
    "Hubspot.Companies": "companies",
    "Hubspot.Deals": "deals",
    "Hubspot.Tickets": "tickets",
    "Hubspot.Products": "products",
}
FAULTS = "500:0.01,503x2:0.01,429:0.02,429r:0.01"
LEASE_S = 5
KILL_EVERY_S = 120
SAMPLE_EVERY_S = 10
DOC = ROOT / "docs" / "reliability.md"
HEADING = "## Soak"


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class Soak:
    def __init__(
        self, home: Path, minutes: float, seed: int, kill_every_s: float = KILL_EVERY_S
    ) -> None:
        self.home = home
        self.minutes = minutes
        self.kill_every_s = kill_every_s
        self.rng = random.Random(seed)
        self.procs: list[subprocess.Popen[Any]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.kills = 0
        self.triggered: dict[int, int] = {}
        self.samples: list[dict[str, int]] = []

    # ------------------------------------------------------------------ processes

    def start(self) -> None:
        emu_proc = subprocess.Popen(
            [
                HEADWATER,
                "emulator",
                "hubspot",
                "--port",
                "0",
                "--json",
                "--contacts",
                "2000",
                *SMALL,
                "--search-index-lag-ms",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.procs.append(emu_proc)
        assert emu_proc.stdout is not None
        self.emu = Emulator(emu_proc, json.loads(emu_proc.stdout.readline()))
        extra = {"HEADWATER_HUBSPOT_BASE_URL": self.emu.url, **ENGINE_ENV}
        self.api_proc, self.base, self.env = start_server(
            self.home, extra_env=extra, serve_args=("--no-engine",)
        )
        self.procs.append(self.api_proc)
        self.api = Api(self.base, self.env)
        with (self.home / "scheduler.log").open("wb") as log:
            self.scheduler = subprocess.Popen(
                [HEADWATER, "scheduler"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.procs.append(self.scheduler)
        for _ in range(2):
            self.worker()

    def worker(self) -> None:
        n = len(self.workers) + 1
        with (self.home / f"worker-{n}.log").open("wb") as log:
            w = subprocess.Popen(
                [HEADWATER, "worker", "--concurrency", "2", "--lease-seconds", str(LEASE_S)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(w)

    def stop(self) -> None:
        for p in [*self.workers, *reversed(self.procs)]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, *self.procs]:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.emu.proc.stdout:
            self.emu.proc.stdout.close()
        self.api.http.close()

    # ------------------------------------------------------------------ the soak

    def admin(self, path: str, body: dict[str, Any]) -> None:
        httpx.post(self.emu.url + "/_emulator/" + path, json=body, timeout=30).raise_for_status()

    def make_flows(self) -> None:
        start = str(int(time.time()) + 5)
        schedule = {"startTime": start, "frequency": "minute", "interval": "15"}
        tables = list(TABLES)
        first = make_flow(self.api, self.emu, table=tables[0], schedule=schedule)
        self.flows = [first | {"table": tables[0]}]
        for i in range(1, FLOWS):
            table = tables[i % len(tables)]
            made = make_flow(self.api, self.emu, base=first["base"], table=table, schedule=schedule)
            self.flows.append(made | {"table": table})

    def sample(self) -> None:
        live = [w for w in self.workers if w.poll() is None]
        self.samples.append(
            {
                "t": int(time.monotonic() - self.t0),
                "api": rss_kb(self.api_proc.pid),
                "scheduler": rss_kb(self.scheduler.pid),
                "workers": sum(rss_kb(w.pid) for w in live),
                "oldest_worker": rss_kb(live[0].pid) if live else 0,
            }
        )

    def run_all_now(self) -> None:
        for f in self.flows:
            r = self.api.http.post(f"{FS}/flows/{f['flow']}/action", params={"op": "run"})
            self.triggered[r.status_code] = self.triggered.get(r.status_code, 0) + 1

    def change(self) -> None:
        for otype in TABLES.values():
            self.admin("touch", {"objectType": otype, "count": 20})
        self.admin("archive", {"objectType": "contacts", "count": 3})

    def run(self) -> dict[str, Any]:
        self.start()
        self.make_flows()
        self.admin("faults", {"spec": FAULTS})
        self.t0 = time.monotonic()
        end = self.t0 + self.minutes * 60
        next_kill = self.t0 + self.kill_every_s / 2 if self.kill_every_s else float("inf")
        next_change = self.t0 + 60
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_kill:
                live = [w for w in self.workers if w.poll() is None]
                victim = self.rng.choice(live)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                self.kills += 1
                self.worker()
                next_kill = now + self.kill_every_s * self.rng.uniform(0.5, 1.5)
            if now >= next_change:
                self.change()
                self.run_all_now()
                next_change = now + 60
            self.sample()
            time.sleep(SAMPLE_EVERY_S)
        return self.finish()

    # ------------------------------------------------------------------ the checks

    def db(self) -> sa.engine.Engine:
        return sa.create_engine(f"sqlite:///{self.home / 'headwater.db'}")

    def finish(self) -> dict[str, Any]:
        self.admin("faults", {"spec": ""})
        calm = int(time.time() * 1000)
        self.run_all_now()  # runs created after ``calm``: they read without faults
        # every flow runs once more after the last change, without faults
        deadline = time.monotonic() + 300
        pending = list(self.flows)
        while pending and time.monotonic() < deadline:
            still = []
            for f in pending:
                runs = self.api.get(f"{FS}/runs", property=f"flowId=={f['flow']}")["items"]
                if not any(r["state"] == "success" and r["createdAt"] >= calm for r in runs):
                    still.append(f)
            pending = still
            if pending:
                time.sleep(5)
        self.sample()
        eng = self.db()
        with eng.connect() as conn:
            counts = {
                str(r[0]): int(r[1])
                for r in conn.execute(sa.text("SELECT status, count(*) FROM runs GROUP BY status"))
            }
            stuck = conn.execute(
                sa.text(
                    "SELECT count(*) FROM runs WHERE status = 'inProgress' AND lease_expires_at < :t"
                ),
                {"t": int(time.time() * 1000) - 4 * LEASE_S * 1000},
            ).scalar()
            overdue = conn.execute(
                sa.text(
                    "SELECT count(*) FROM runs WHERE status = 'scheduled' AND scheduled_for < :t"
                ),
                {"t": int(time.time() * 1000) - 180_000},
            ).scalar()
            leaked = conn.execute(
                sa.text(
                    "SELECT count(*) FROM runs WHERE status NOT IN ('inProgress') "
                    "AND lease_expires_at IS NOT NULL"
                )
            ).scalar()
            attempts = conn.execute(sa.text("SELECT max(attempt) FROM runs")).scalar()
            failures = [
                json.loads(r[0]).get("metrics", {}).get("statusSummary", {}).get("errors", [])
                for r in conn.execute(sa.text("SELECT doc FROM runs WHERE status = 'failed'"))
            ]
        eng.dispose()
        inexact = [f["flow"] for f in self.flows if not self.exact(f)]
        return {
            "minutes": self.minutes,
            "flows": len(self.flows),
            "runs": counts,
            "worker_kills": self.kills,
            "run_now_answers": self.triggered,
            "not_rerun_after_faults": len(pending),
            "stuck_in_progress": int(stuck or 0),
            "overdue_scheduled": int(overdue or 0),
            "leaked_leases": int(leaked or 0),
            "max_attempt": int(attempts or 0),
            "failed_run_errors": [e[0] if e else {} for e in failures][:10],
            "inexact_datasets": len(inexact),
            "rss_kb": self.rss_summary(),
            "oldest_worker_rss_mb_by_minute": self.oldest_worker_by_minute(),
        }

    def oldest_worker_by_minute(self) -> list[tuple[int, int]]:
        """The RSS of the longest-lived worker at each minute: flat once warm, or growing."""
        out: dict[int, int] = {}
        for s in self.samples:
            if s["oldest_worker"]:
                out.setdefault(s["t"] // 60, s["oldest_worker"] // 1024)
        return sorted(out.items())

    def live_ids(self, otype: str) -> set[str]:
        h = {"Authorization": f"Bearer {self.emu.info['private_app_token']}"}
        ids: set[str] = set()
        after = None
        with httpx.Client(base_url=self.emu.url, headers=h, timeout=30) as c:
            while True:
                params: dict[str, Any] = {"limit": 100, "properties": "hs_object_id"}
                if after:
                    params["after"] = after
                body = c.get(f"/crm/v3/objects/{otype}", params=params).json()
                ids |= {r["id"] for r in body["results"]}
                if "paging" not in body:
                    return ids
                after = body["paging"]["next"]["after"]

    def exact(self, flow: dict[str, str]) -> bool:
        path = self.home / "lake" / self.api.org / "prod" / flow["dataset"]
        if not path.exists():
            return False
        ids = DeltaTable(str(path)).to_pyarrow_table(columns=["Id"]).column("Id").to_pylist()
        return len(ids) == len(set(ids)) and set(ids) == self.live_ids(TABLES[flow["table"]])

    def rss_summary(self) -> dict[str, dict[str, int]]:
        # "first" is the first sample after a minute: before it the processes are still
        # importing and the first runs warming the caches up
        warm = [s for s in self.samples if s["t"] >= 60] or self.samples
        out = {}
        for key in ("api", "scheduler", "workers"):
            series = [s[key] for s in warm if s[key]]
            if series:
                out[key] = {"first": series[0], "last": series[-1], "peak": max(series)}
        total = [s["api"] + s["scheduler"] + s["workers"] for s in warm]
        out["total"] = {"first": total[0], "last": total[-1], "peak": max(total)}
        return out


@contextmanager
def soak_home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="headwater-soak-") as d:
        yield Path(d) / "home"


def section(result: dict[str, Any], command: str) -> str:
    rss = result["rss_kb"]

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f}"

    rows = "\n".join(
        f"| {k} | {mb(v['first'])} | {mb(v['last'])} | {mb(v['peak'])} |" for k, v in rss.items()
    )
    runs = ", ".join(f"{k} {v}" for k, v in sorted(result["runs"].items()))
    return f"""{HEADING}

`{command}` (`make soak` runs 30 minutes): {result["flows"]} flows on minute schedules (contacts,
companies, deals, tickets, products) against the bundled emulator answering `{FAULTS}`, its
records touched and archived every minute, `serve --no-engine` + a scheduler + two workers with
{LEASE_S} s leases, a worker killed with `kill -9` about every {KILL_EVERY_S // 60} minutes and
replaced.

Latest: {result["minutes"]:g} minutes, runs {runs}; {result["worker_kills"]} workers killed;
highest attempt {result["max_attempt"]}; stuck runs {result["stuck_in_progress"]}, overdue
runs {result["overdue_scheduled"]}, leaked leases {result["leaked_leases"]}, flows without a
run after the faults stopped {result["not_rerun_after_faults"]}, inexact datasets
{result["inexact_datasets"]} of {result["flows"]}.

| RSS (MB) | first | last | peak |
|---|---|---|---|
{rows}

"first" is the first sample after one minute; "workers" is the sum over the live workers (a
killed worker's replacement starts small). Failed runs' errors: {json.dumps(result.get("failed_run_errors", []))[:400]}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30"))
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--kill-every",
        type=float,
        default=KILL_EVERY_S,
        help="seconds between worker kills, about (0: never, to watch one worker's memory)",
    )
    parser.add_argument("--write", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args()
    with soak_home() as home:
        soak = Soak(home, args.minutes, args.seed, args.kill_every)
        try:
            result = soak.run()
        finally:
            soak.stop()
    print(json.dumps(result, indent=2))
    if args.write:
        command = f"SOAK_MINUTES={args.minutes:g} .venv/bin/python bench/soak.py --write"
        write_section(DOC, HEADING, section(result, command))
    bad = (
        result["stuck_in_progress"]
        + result["overdue_scheduled"]
        + result["leaked_leases"]
        + result["inexact_datasets"]
        + result["not_rerun_after_faults"]
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
