"""Headwater against its peers on one seeded HubSpot emulator (``make bench-peers``).

Peers, each installed from PyPI into its own virtual environment under ``.bench-peers/`` (they
conflict with each other and with Headwater):

* Singer's ``tap-hubspot`` 4.x, pointed at the emulator through ``tap_hubspot.BASE_URL``;
* Airbyte's ``airbyte-source-hubspot`` 5.7.0 (the last on PyPI), its fixed host redirected by the
  ``sitecustomize`` transport hook in ``bench/peers/shim``;
* dlt (``dlt[duckdb]``) with a ``rest_api`` source for the contacts list endpoint.

Headwater runs its real dataflow (engine worker, staging, Delta merge) with every column.
Scenarios, each on a freshly started emulator with the same seed:

* ``full``: full load, the server advertising a high limit (1,000,000 requests per 10 s);
* ``full_110`` / ``full_190``: full load at 110 / 190 requests per rolling 10 s, against the
  theoretical minimum for the list requests the data needs (``ceil(live / 100)`` pages: the first
  ``B`` go at once, every further ``B`` wait for another window);
* ``incr_1pct``: incremental after touching 1 % (after ``full``, same emulator);
* ``incr_30k``: incremental after touching 30,000 of 60,000 (past the 10,000 search cap).

Each cell reports wall time, records/s, requests by endpoint and 429s (the emulator's own
counters), the peak RSS of the tool's process tree (sampled from ``/proc``; the emulator is not
part of it) and correctness: the distinct live ids against the emulator's, and for incremental
runs that every touched record arrived with its new modification time. A cell that does not end
within the time limit is stopped and reported as such.

    .venv/bin/python bench/peers/run.py [--contacts 20000] [--big 60000] [--tools ...] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from bench.api import write_section  # noqa: E402
from bench.peers.proctree import TreeSampler, tree_kb  # noqa: E402

CACHE = ROOT / ".bench-peers"
PEERS: dict[str, tuple[str, str]] = {
    # name: (pip requirement, distribution to read the version of)
    # Headwater as deployed: the project with its runtime dependencies only (the development
    # group brings pandas, which pyarrow imports on first use when it is installed: ~57 MB)
    "headwater": (f"--editable={ROOT}", "headwater"),
    "singer": ("tap-hubspot>=4,<5", "tap-hubspot"),
    "airbyte": ("airbyte-source-hubspot==5.7.0", "airbyte-source-hubspot"),
    "dlt": ("dlt[duckdb]", "dlt"),
}
TOOLS = ("headwater", "singer", "dlt", "airbyte", "ceiling")
#: Tools whose destination holds every row (a merged table), not only what a run emitted.
TABLES = ("headwater", "dlt")
HIGH_LIMIT = 1_000_000
SEED = 7
PORTALS: dict[int, int] = {}  # live contacts -> archived contacts of the emulators started


# ---------------------------------------------------------------------------------------- venvs


def ensure_venv(name: str) -> tuple[Path | None, str]:
    """The peer's interpreter and version, installing it on first use; ``None`` and the reason
    when it cannot be installed."""
    requirement, dist = PEERS[name]
    venv = CACHE / "venvs" / name
    python = venv / "bin" / "python"
    uv = ROOT / ".venv" / "bin" / "uv"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        out = subprocess.run(  # noqa: PLW1510 - the return code is the answer
            [str(uv), "pip", "install", "-q", "--python", str(python), *requirement.split()],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["?"]
            return None, f"install failed: {tail[0][:120]}"
        # byte-compile once, so that no cell pays for compiling its imports (this machine sets
        # PYTHONDONTWRITEBYTECODE; compiled files are still read)
        targets = [str(p) for p in venv.glob("lib/python*/site-packages")]
        if name == "headwater":
            targets.append(str(ROOT / "src"))
        subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", *targets], check=False)
        marker.write_text(requirement)
    version = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return python, f"{dist} {version}"


# ---------------------------------------------------------------------------------------- emulator


@dataclass
class Emulator:
    proc: subprocess.Popen[str]
    base_url: str
    token: str
    live: int
    archived: int

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/_emulator/stats", timeout=30).json()  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/_emulator/stats/reset", timeout=30)

    def touch(self, count: int) -> tuple[list[str], int]:
        """Touches ``count`` live contacts; their ids and the emulator time before the touch."""
        before = int(httpx.get(f"{self.base_url}/_emulator/clock", timeout=30).json()["nowMs"])
        body = httpx.post(
            f"{self.base_url}/_emulator/touch",
            json={"objectType": "contacts", "count": count},
            timeout=120,
        ).json()
        # HubSpot's search index (and the emulator's, 1 s by default) lags writes; every tool
        # starts its incremental run after the changes are searchable
        time.sleep(2.0)
        return body["ids"], before

    def live_ids(self) -> set[str]:
        """Every live contact id: the id space minus the archived ones (a few list calls)."""
        archived: set[str] = set()
        after: str | None = None
        while True:
            params = {"archived": "true", "limit": "100", "properties": "hs_object_id"}
            if after:
                params["after"] = after
            r = httpx.get(
                f"{self.base_url}/crm/v3/objects/contacts",
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
            )
            if r.status_code == 429:
                time.sleep(1)
                continue
            body = r.json()
            archived |= {str(x["id"]) for x in body["results"]}
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        total = self.live + self.archived
        return {str(i) for i in range(1, total + 1)} - archived

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_emulator(contacts: int, burst: int) -> Emulator:
    cmd = [
        str(ROOT / ".venv" / "bin" / "headwater"),
        "emulator",
        "hubspot",
        "--port",
        "0",
        "--json",
        "--seed",
        str(SEED),
        "--contacts",
        str(contacts),
        "--rate-limit",
        "private-app",
        "--burst-limit",
        str(burst),
    ]
    for flag in ("--companies", "--deals", "--tickets"):
        cmd += [flag, "300"]
    for flag in ("--products", "--line-items", "--engagements", "--custom-records"):
        cmd += [flag, "10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    PORTALS[contacts] = int(info["archived"]["contacts"])
    return Emulator(
        proc,
        info["base_url"],
        info["private_app_token"],
        int(info["records"]["contacts"]),
        int(info["archived"]["contacts"]),
    )


# ---------------------------------------------------------------------------------------- sampling


@dataclass
class Proc:
    returncode: int | None
    wall_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    stdout: str
    stderr: str
    timed_out: bool


def run_tree(
    cmd: list[str],
    *,
    env: dict[str, str] | None,
    limit_s: float,
    cwd: Path,
    every_s: float = 0.05,
) -> Proc:
    """Runs ``cmd`` in its own session, sampling its tree's memory every ``every_s``; stops it at
    ``limit_s``."""
    out_f = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below
    err_f = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=out_f, stderr=err_f, env=env, cwd=cwd, start_new_session=True, text=True
    )
    sampler = TreeSampler(proc.pid, every_s).__enter__()
    timed_out = False
    try:
        proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    wall = time.perf_counter() - t0
    sampler.__exit__()
    out_f.seek(0)
    err_f.seek(0)
    stdout, stderr = out_f.read(), err_f.read()
    out_f.close()
    err_f.close()
    peak = sampler.peak
    return Proc(proc.returncode, wall, peak.rss_mb, peak.pss_mb, stdout, stderr, timed_out)


def iso_ms(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


# ---------------------------------------------------------------------------------------- tools


@dataclass
class Output:
    """What one run of a tool delivered: ids it wrote or emitted, with their ``updatedAt``."""

    proc: Proc
    updated_ms: dict[str, int] = field(default_factory=dict)
    run_s: float | None = None  # the tool's own timing of the run, when it reports one
    error: str = ""
    # the memory of the tree that matters when it is not the launched process's (Headwater: the
    # ``headwater serve`` tree its driver starts)
    peak_rss_mb: float | None = None
    peak_pss_mb: float | None = None


class Tool:
    name = ""
    version = ""

    def __init__(self, work: Path) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)

    def run(self, emu: Emulator, limit_s: float) -> Output:
        raise NotImplementedError


class Headwater(Tool):
    name = "headwater"

    def __init__(self, work: Path, python: Path) -> None:
        super().__init__(work)
        self.python = python

    def run(self, emu: Emulator, limit_s: float) -> Output:
        cmd = [
            str(self.python),
            str(HERE / "headwater_run.py"),
            str(self.work),
            emu.base_url,
            emu.token,
        ]
        # the driver measures the serve tree itself; this sampling only backs it up
        proc = run_tree(cmd, env=None, limit_s=limit_s, cwd=ROOT, every_s=1.0)
        out = Output(proc)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            out.error = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
            return out
        body = json.loads(lines[-1])
        if body["status"] != "success":
            out.error = f"run status {body['status']}"
        out.updated_ms = {str(k): int(v) for k, v in body["updated_ms"].items()}
        out.run_s = float(body["elapsed_s"])
        out.peak_rss_mb, out.peak_pss_mb = body["tree_rss_mb"], body["tree_pss_mb"]
        return out


class Ceiling(Tool):
    """A plain keep-alive httpx loop over the same list pages (``peer_ceiling.py``)."""

    name = "ceiling"

    def __init__(self, work: Path, python: Path) -> None:
        super().__init__(work)
        self.python = python

    def run(self, emu: Emulator, limit_s: float) -> Output:
        cmd = [str(self.python), str(HERE / "peer_ceiling.py"), emu.base_url, emu.token]
        proc = run_tree([*cmd, str(self.work)], env=None, limit_s=limit_s, cwd=self.work)
        out = Output(proc)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode == 0 and lines:
            out.run_s = float(json.loads(lines[-1])["elapsed_s"])
            records = json.loads((self.work / "records.json").read_text())
            out.updated_ms = {k: iso_ms(v) for k, v in records.items()}
        return out


class Singer(Tool):
    name = "singer"

    def __init__(self, work: Path, python: Path) -> None:
        super().__init__(work)
        self.python = python

    def run(self, emu: Emulator, limit_s: float) -> Output:
        cmd = [str(self.python), str(HERE / "peer_singer.py"), emu.base_url, emu.token]
        cmd.append(str(self.work))
        proc = run_tree(cmd, env=None, limit_s=limit_s, cwd=self.work)
        out = Output(proc)
        records = self.work / "records.jsonl"
        if records.exists():
            for line in records.read_text().splitlines():
                rec = json.loads(line)["record"]
                out.updated_ms[str(rec["id"])] = iso_ms(rec.get("updatedAt"))
        return out


class Airbyte(Tool):
    name = "airbyte"

    def __init__(self, work: Path, python: Path) -> None:
        super().__init__(work)
        self.exe = python.with_name("source-hubspot")

    def _env(self, emu: Emulator) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(HERE / "shim"), "HUBSPOT_REDIRECT": emu.base_url}

    def _config(self, emu: Emulator) -> Path:
        config = self.work / "config.json"
        config.write_text(
            json.dumps(
                {
                    "credentials": {
                        "credentials_title": "Private App Credentials",
                        "access_token": emu.token,
                    },
                    "start_date": "2000-01-01T00:00:00Z",
                }
            )
        )
        return config

    def catalog(self, emu: Emulator) -> Path:
        """The configured catalog (contacts, incremental), discovered once and cached."""
        path = CACHE / "airbyte-catalog.json"
        if path.exists():
            return path
        proc = run_tree(
            [str(self.exe), "discover", "--config", str(self._config(emu))],
            env=self._env(emu),
            limit_s=300,
            cwd=self.work,
        )
        for line in proc.stdout.splitlines():
            msg = json.loads(line) if line.startswith("{") else {}
            if msg.get("type") == "CATALOG":
                stream = next(s for s in msg["catalog"]["streams"] if s["name"] == "contacts")
                configured = {
                    "stream": stream,
                    "sync_mode": "incremental",
                    "cursor_field": ["updatedAt"],
                    "destination_sync_mode": "append_dedup",
                    "primary_key": [["id"]],
                }
                path.write_text(json.dumps({"streams": [configured]}))
                return path
        raise RuntimeError("Airbyte discover returned no catalog: " + proc.stderr[-500:])

    def run(self, emu: Emulator, limit_s: float) -> Output:
        state = self.work / "state.json"
        cmd = [str(self.exe), "read", "--config", str(self._config(emu))]
        cmd += ["--catalog", str(self.catalog(emu))]
        if state.exists():
            cmd += ["--state", str(state)]
        proc = run_tree(cmd, env=self._env(emu), limit_s=limit_s, cwd=self.work)
        out = Output(proc)
        last_state = None
        for line in proc.stdout.splitlines():
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("type") == "RECORD":
                data = msg["record"]["data"]
                out.updated_ms[str(data["id"])] = iso_ms(data.get("updatedAt"))
            elif msg.get("type") == "STATE":
                last_state = msg["state"]
            elif msg.get("type") == "TRACE" and msg["trace"].get("type") == "ERROR":
                out.error = str(msg["trace"]["error"].get("message", ""))[:200]
        if last_state is not None:
            state.write_text(json.dumps([last_state]))
        return out


class Dlt(Tool):
    name = "dlt"

    def __init__(self, work: Path, python: Path) -> None:
        super().__init__(work)
        self.python = python

    def run(self, emu: Emulator, limit_s: float) -> Output:
        cmd = [str(self.python), str(HERE / "peer_dlt.py"), emu.base_url, emu.token]
        cmd.append(str(self.work))
        proc = run_tree(cmd, env=None, limit_s=limit_s, cwd=self.work)
        out = Output(proc)
        if proc.returncode == 0:
            script = (
                "import duckdb, json, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                "print(json.dumps({str(i): int(u.timestamp() * 1000) for i, u in "
                "c.sql('select id, updated_at from hubspot.contacts').fetchall()}))"
            )
            dump = subprocess.run(
                [str(self.python), "-c", script, str(self.work / "contacts.duckdb")],
                capture_output=True,
                text=True,
                check=True,
            )
            out.updated_ms = json.loads(dump.stdout)
        return out


# ---------------------------------------------------------------------------------------- cells


@dataclass
class Cell:
    scenario: str
    tool: str
    status: str  # "ok", "wrong", "time limit", "failed", "not installed"
    wall_s: float | None = None
    run_s: float | None = None
    records: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    peak_rss_mb: float | None = None
    peak_pss_mb: float | None = None
    correct: str = ""
    minimum_s: float | None = None
    note: str = ""

    @property
    def time_s(self) -> float | None:
        """Headwater's own run time (the worker's, without interpreter start-up) when it has one,
        else the process wall time."""
        return self.run_s if self.run_s is not None else self.wall_s

    @property
    def rate(self) -> float | None:
        t = self.time_s
        return self.records / t if t and self.records else None

    @property
    def list_requests(self) -> int:
        return self.requests.get("objects.list", 0)


def measure(
    scenario: str,
    tool: Tool,
    emu: Emulator,
    limit_s: float,
    *,
    expect_live: set[str] | None,
    touched: tuple[list[str], int] | None,
    minimum_s: float | None = None,
) -> Cell:
    emu.reset_stats()
    out = tool.run(emu, limit_s)
    stats = emu.stats()
    requests = {k: v for k, v in stats["requests"].items() if not k.startswith("admin.")}
    cell = Cell(
        scenario,
        tool.name,
        "ok",
        wall_s=out.proc.wall_s,
        run_s=out.run_s,
        records=len(out.updated_ms),
        requests=requests,
        throttled=int(stats["statuses"].get("429", 0)),
        peak_rss_mb=out.peak_rss_mb if out.peak_rss_mb is not None else out.proc.peak_rss_mb,
        peak_pss_mb=out.peak_pss_mb if out.peak_pss_mb is not None else out.proc.peak_pss_mb,
        minimum_s=minimum_s,
    )
    if out.proc.timed_out:
        cell.status = "time limit"
        cell.note = f"stopped after {limit_s:.0f} s"
        return cell
    if out.proc.returncode != 0 or out.error:
        cell.status = "failed"
        tail = out.error or (out.proc.stderr.strip().splitlines() or ["?"])[-1]
        cell.note = tail[:160]
        return cell
    problems = []
    if expect_live is not None:
        got = set(out.updated_ms)
        missing, extra = len(expect_live - got), len(got - expect_live)
        if missing or extra:
            problems.append(f"{missing} ids missing, {extra} extra")
    if touched is not None:
        ids, at = touched
        stale = sum(1 for i in ids if out.updated_ms.get(str(i), 0) < at)
        if stale:
            problems.append(f"{stale} of {len(ids)} changes missing")
    cell.correct = "; ".join(problems) or "exact"
    if problems:
        cell.status = "wrong"
    return cell


def theoretical_minimum(live: int, burst: int) -> float:
    pages = math.ceil(live / 100)
    return max(math.ceil(pages / burst) - 1, 0) * 10.0


def tool_venv(name: str) -> tuple[Path | None, str]:
    """:func:`ensure_venv` for a tool; the ceiling loop runs in Headwater's venv (httpx is one of
    its dependencies)."""
    python, version = ensure_venv("headwater" if name == "ceiling" else name)
    if name == "ceiling" and python is not None:
        out = subprocess.run(
            [str(python), "-c", "import httpx; print(httpx.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        )
        version = f"httpx {out.stdout.strip()}"
    return python, version


def make_tools(names: list[str], work: Path, versions: dict[str, str]) -> dict[str, Tool | str]:
    """Tool instances by name; a string for a peer that could not be installed."""
    tools: dict[str, Tool | str] = {}
    for name in names:
        python, version = tool_venv(name)
        versions[name] = version
        if python is None:
            tools[name] = version
            continue
        cls: Callable[[Path, Path], Tool] = {
            "headwater": Headwater,
            "singer": Singer,
            "airbyte": Airbyte,
            "dlt": Dlt,
            "ceiling": Ceiling,
        }[name]
        tools[name] = cls(work / name, python)
    return tools


def fresh(tool: Tool) -> Tool:
    """The same tool with an empty working directory (no state from an earlier scenario)."""
    clone = tool.__class__.__new__(tool.__class__)
    clone.__dict__.update(tool.__dict__)
    clone.work = Path(tempfile.mkdtemp(prefix=f"{tool.name}-", dir=tool.work.parent))
    return clone


def run_all(args: argparse.Namespace) -> tuple[list[Cell], dict[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="hw-peers-"))
    versions: dict[str, str] = {}
    tools = make_tools(args.tools, work, versions)
    cells: list[Cell] = []
    scenarios = args.scenarios

    def missing(scenario: str, name: str, why: str) -> None:
        cells.append(Cell(scenario, name, "not installed", note=why))

    def log(cell: Cell) -> None:
        print(json.dumps(cell.__dict__), flush=True)

    for name, tool in tools.items():
        if isinstance(tool, str):
            for scenario in scenarios:
                missing(scenario, name, tool)
            continue
        incremental = [s for s in ("incr_1pct", "incr_none") if s in scenarios]
        if name == "ceiling":  # the ceiling of a full read only
            incremental = []
        if "full" in scenarios or incremental:
            emu = start_emulator(args.contacts, HIGH_LIMIT)
            try:
                live = emu.live_ids()
                t = fresh(tool)
                cell = measure("full", t, emu, args.limit, expect_live=live, touched=None)
                if "full" in scenarios:
                    cells.append(cell)
                    log(cell)
                if "incr_1pct" in incremental:
                    touched = emu.touch(max(1, args.contacts // 100))
                    cell = measure(
                        "incr_1pct", t, emu, args.limit, expect_live=None, touched=touched
                    )
                    cells.append(cell)
                    log(cell)
                if "incr_none" in incremental:
                    # nothing changed since the tool's last run: a table must still hold every
                    # live record
                    cell = measure(
                        "incr_none",
                        t,
                        emu,
                        args.limit,
                        expect_live=live if name in TABLES else None,
                        touched=None,
                    )
                    cells.append(cell)
                    log(cell)
            finally:
                emu.stop()
        if name == "ceiling":
            continue
        for burst in (110, 190):
            scenario = f"full_{burst}"
            if scenario not in scenarios:
                continue
            emu = start_emulator(args.contacts, burst)
            try:
                live = emu.live_ids()
                time.sleep(10.5)  # the live-id probe's calls leave the 10 s window
                cell = measure(
                    scenario,
                    fresh(tool),
                    emu,
                    args.limit,
                    expect_live=live,
                    touched=None,
                    minimum_s=theoretical_minimum(emu.live, burst),
                )
                cells.append(cell)
                log(cell)
            finally:
                emu.stop()
        if "incr_30k" in scenarios:
            emu = start_emulator(args.big, HIGH_LIMIT)
            try:
                t = fresh(tool)
                first = measure("full_big", t, emu, args.limit, expect_live=None, touched=None)
                if first.status != "ok":
                    first.scenario = "incr_30k"
                    first.note = "the full load before it did not finish: " + first.note
                    cells.append(first)
                    log(first)
                else:
                    touched = emu.touch(min(30_000, args.big // 2))
                    cell = measure(
                        "incr_30k", t, emu, args.limit, expect_live=None, touched=touched
                    )
                    cells.append(cell)
                    log(cell)
            finally:
                emu.stop()
    return cells, versions


# ---------------------------------------------------------------------------------------- report

SCENARIO_LABELS = {
    "full": "full load, high limit advertised",
    "full_110": "full load at 110 req/10 s",
    "full_190": "full load at 190 req/10 s",
    "incr_1pct": "incremental, 1 % touched",
    "incr_none": "incremental, nothing changed since the last run",
    "incr_30k": "incremental, 30,000 of {big:,} touched",
}


def describe(cell: Cell) -> str:
    if cell.status in ("not installed", "time limit", "failed"):
        return f"**{cell.status}** ({cell.note})"
    parts = [f"{cell.time_s:.1f} s"]
    if cell.scenario.startswith("incr"):
        # a merged table (Headwater, dlt) holds every row; the others emit what they found changed
        parts.append(f"{cell.records:,} rows after")
    elif cell.rate:
        parts.append(f"{cell.rate:,.0f} rec/s")
    if cell.minimum_s:
        parts.append(f"{cell.time_s / cell.minimum_s:.2f}x min")  # type: ignore[operator]
    reqs = ", ".join(
        f"{k.split('.', 1)[-1] if k.startswith('objects.') else k} {v}"
        for k, v in sorted(cell.requests.items())
    )
    parts.append(f"{sum(cell.requests.values())} req ({reqs})")
    parts.append(f"429s {cell.throttled}")
    parts.append(f"{cell.peak_rss_mb:.0f} MB RSS / {cell.peak_pss_mb or 0:.0f} MB PSS")
    parts.append(cell.correct if cell.status == "ok" else f"**{cell.correct}**")
    return "; ".join(parts)


def ratio(hw: Cell | None, peer: Cell) -> str:
    if hw is None or hw.time_s is None or peer.time_s is None or peer.status != "ok":
        return "—"
    return f"{peer.time_s / hw.time_s:.2f}x faster"


def chart(cells: list[Cell], scenarios: list[str], tools: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(tools), 1)
    for i, tool in enumerate(tools):
        times, mems = [], []
        for scenario in scenarios:
            cell = next((c for c in cells if c.scenario == scenario and c.tool == tool), None)
            ok = cell is not None and cell.status in ("ok", "wrong")
            times.append(cell.time_s if ok and cell and cell.time_s else 0)
            mems.append(cell.peak_pss_mb if ok and cell and cell.peak_pss_mb else 0)
        xs = [x + i * width for x in range(len(scenarios))]
        ax_t.bar(xs, times, width, label=tool)
        ax_m.bar(xs, mems, width, label=tool)
    for ax, title in (
        (ax_t, "time (s, lower is better; 0 = did not finish)"),
        (ax_m, "peak PSS of the process tree (MB; shared pages divided)"),
    ):
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(scenarios))])
        ax.set_xticklabels([s.replace("_", "\n") for s in scenarios], fontsize=8)
        ax.set_title(title, fontsize=9)
    ax_t.set_yscale("log")
    ax_t.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(
    cells: list[Cell], versions: dict[str, str], args: argparse.Namespace, started: float
) -> str:
    tools = [t for t in TOOLS if t in args.tools]
    lines = [
        "## Peer benchmark (`make bench-peers`)",
        "",
        f"Command: `make bench-peers` (`.venv/bin/python bench/peers/run.py --contacts "
        f"{args.contacts} --big {args.big}`), run at "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in "
        f"{(time.time() - started) / 60:.1f} minutes; {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end. Versions: "
        + ", ".join(f"`{v}`" for v in versions.values())
        + f"; Headwater at `{git_rev()}`. Emulator seed {SEED}, {args.contacts:,} live contacts "
        f"(+{PORTALS.get(args.contacts, 0)} archived), private-app token; each scenario on a fresh emulator process. "
        f"Time limit per cell {args.limit:.0f} s.",
        "",
        "Each cell: time; records/s; for the rate-limited scenarios the ratio to the theoretical "
        "minimum (the first `B` of the `ceil(live / 100)` list pages go at once, every further `B` "
        "need another 10 s window); requests by endpoint as the emulator counted them; 429s; "
        "peak memory of the tool's process tree as RSS (a page counted once per process that "
        "maps it) and PSS (shared pages divided between the processes: what the tree costs the "
        "machine; dlt forks its normalize workers); correctness (distinct live ids against the "
        "emulator's; for incremental runs, every touched record with its new modification time). "
        "Headwater runs as deployed: a `headwater serve` node (the API process and the worker "
        "process it spawns, which also runs the scheduler) started for each run, the run's flow created through the "
        "services beforehand; its time is the run's own (claimed by the worker to committed, "
        "from the run record), its memory the serve tree's. The peers' time is their process "
        "wall time, the ceiling's its loop's. Headwater runs the real dataflow into Delta with "
        "every column (properties and association lists); Singer writes its RECORD messages to a "
        "JSONL file, Airbyte's output goes to a file, dlt merges into DuckDB; the ceiling is a "
        "plain keep-alive httpx loop over the same list pages (every property, associations "
        "inline) that parses each page and keeps nothing but ids.",
        "",
        "| scenario | " + " | ".join(tools) + " |",
        "|---|" + "---|" * len(tools),
    ]
    for scenario in args.scenarios:
        label = SCENARIO_LABELS[scenario].format(big=args.big)
        row = [label]
        hw = next((c for c in cells if c.scenario == scenario and c.tool == "headwater"), None)
        for tool in tools:
            cell = next((c for c in cells if c.scenario == scenario and c.tool == tool), None)
            if cell is None:
                row.append("—")
                continue
            text = describe(cell)
            if tool == "ceiling":
                if hw is not None and hw.rate and cell.rate:
                    share = hw.rate / cell.rate
                    verdict = "met" if share >= 0.5 else "**missed**"
                    text += f"; Headwater at {share:.2f}x of it (target >= 0.5x: {verdict})"
            elif tool != "headwater":
                text += f"; Headwater {ratio(hw, cell)}" if ratio(hw, cell) != "—" else ""
            elif scenario == "incr_none":
                n = sum(cell.requests.values())
                text += (
                    f"; target <= 2 requests for its 1 table: {'met' if n <= 2 else '**missed**'}"
                )
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "![peer benchmark](benchmarks-peers.png)", ""]
    return "\n".join(lines)


def run_scale(args: argparse.Namespace) -> str:
    """Headwater's full load at each ``--scale`` size: time and the serve tree's peak memory."""
    python, version = ensure_venv("headwater")
    assert python is not None, version
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="hw-scale-"))
    rows = []
    for contacts in args.scale:
        emu = start_emulator(contacts, HIGH_LIMIT)
        try:
            live = emu.live_ids()
            tool = Headwater(work / str(contacts), python)
            cell = measure("scale", tool, emu, args.scale_limit, expect_live=live, touched=None)
            emu_mb = tree_kb(emu.proc.pid, pss=False)[0] / 1024
        finally:
            emu.stop()
        lake_mb = sum(f.stat().st_size for f in (tool.work / "lake").rglob("*") if f.is_file())
        shutil.rmtree(tool.work, ignore_errors=True)
        print(json.dumps({**cell.__dict__, "emulator_mb": emu_mb}), flush=True)
        if cell.status in ("time limit", "failed"):
            rows.append(f"| {contacts:,} | **{cell.status}** ({cell.note}) | | | | |")
            continue
        rows.append(
            f"| {contacts:,} | {cell.time_s:.1f} s ({cell.rate:,.0f} rec/s) | "
            f"{cell.peak_rss_mb:.0f} MB | {cell.peak_pss_mb:.0f} MB | "
            f"{lake_mb / 2**20:,.0f} MB | {cell.correct or cell.status} |"
        )
    sizes = " ".join(str(n) for n in args.scale)
    return "\n".join(
        [
            "## Memory at scale (`make bench-peers-scale`)",
            "",
            f"Command: `.venv/bin/python bench/peers/run.py --scale {sizes}`, run at "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in "
            f"{(time.time() - started) / 60:.1f} minutes; {platform.machine()}, "
            f"{os.cpu_count()} cores, load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; Headwater at "
            f"`{git_rev()}`. One full load of every contact column (properties and association "
            "lists) into Delta through a `headwater serve` node (an API process and a worker "
            "process running the scheduler), the emulator advertising a high limit. Memory is the peak of the serve "
            "process tree (the emulator is not part of it); the target is 400 MB at 1,000,000 "
            "contacts.",
            "",
            "| contacts | full load | serve tree peak RSS | serve tree peak PSS | Delta table "
            "| correct |",
            "|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
        ]
    )


def git_rev() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return out.stdout.strip() or "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--contacts", type=int, default=20_000)
    ap.add_argument("--big", type=int, default=60_000, help="portal of the 30k-touched scenario")
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument(
        "--scenarios",
        nargs="+",
        default=list(SCENARIO_LABELS),
        choices=list(SCENARIO_LABELS),
    )
    ap.add_argument("--limit", type=float, default=180.0, help="time limit per cell (s)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--scale",
        type=int,
        nargs="+",
        metavar="CONTACTS",
        help="instead of the peer table: Headwater's full load and serve-tree memory at each size",
    )
    ap.add_argument("--scale-limit", type=float, default=1800.0, help="time limit per size (s)")
    ap.add_argument(
        "--report-only",
        type=float,
        metavar="MINUTES",
        help="rewrite the table and chart from .bench-peers/results.json (a run of MINUTES)",
    )
    args = ap.parse_args()
    started = time.time()
    CACHE.mkdir(exist_ok=True)
    if args.scale:
        text = run_scale(args)
        print(text)
        if not args.no_write:
            write_section(ROOT / "docs" / "benchmarks.md", "## Memory at scale", text)
        return
    if args.report_only is not None:
        cells = [Cell(**c) for c in json.loads((CACHE / "results.json").read_text())]
        versions = {n: tool_venv(n)[1] for n in args.tools}
        started -= args.report_only * 60
    else:
        cells, versions = run_all(args)
        (CACHE / "results.json").write_text(json.dumps([c.__dict__ for c in cells], indent=1))
    text = report(cells, versions, args, started)
    print(text)
    if not args.no_write:
        chart(
            cells,
            args.scenarios,
            [t for t in TOOLS if t in args.tools],
            ROOT / "docs" / "benchmarks-peers.png",
        )
        write_section(ROOT / "docs" / "benchmarks.md", "## Peer benchmark", text)


if __name__ == "__main__":
    main()
