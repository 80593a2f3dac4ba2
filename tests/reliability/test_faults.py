"""The fault matrix: real processes (``headwater serve --no-engine``, ``headwater worker``, the
bundled emulator, a private PostgreSQL) and real faults.

Each fault ends with the dataset exact (the ids the emulator holds, each once, one Delta commit
per run) or with the run failed with a specific error and the dataset unchanged; the next run
repairs it. Every injection is counted and printed under "reliability counts".

``HEADWATER_FAULT_KILLS`` sets how many ``kill -9`` injections run (3 by default: one before,
one during, one after the lake commit; ``-m slow`` runs a longer matrix).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

from tests.e2e.conftest import (
    ENGINE_ENV,
    HEADWATER,
    Emulator,
    emulator_factory,
    emulator_module,
    free_port,
    start_server,
)
from tests.e2e.test_dataflow_processes import CAT, FS, Api, make_flow

__all__ = ["emulator_factory", "emulator_module"]

pytestmark = pytest.mark.e2e

CONTACTS = 4_000
LEASE_S = 2


# ---------------------------------------------------------------------------- the rig


class Rig:
    """One emulator, one API process and the workers of one test, with helpers to check a
    dataset against the emulator's own records."""

    def __init__(
        self,
        home: Path,
        emu: Emulator,
        *,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.emu = emu
        env = {"HEADWATER_HUBSPOT_BASE_URL": emu.url, **ENGINE_ENV, **(extra_env or {})}
        self.api_proc, self.base, self.env = start_server(
            home, extra_env=env, serve_args=("--no-engine",)
        )
        self.api = Api(self.base, self.env)
        self.workers: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    # processes

    def worker(self, *extra: str) -> subprocess.Popen[bytes]:
        self._logs += 1
        with (self.home / f"worker-{self._logs}.log").open("wb") as log:
            proc = subprocess.Popen(
                [
                    HEADWATER,
                    "worker",
                    "--concurrency",
                    "1",
                    "--lease-seconds",
                    str(LEASE_S),
                    *extra,
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    def ensure_workers(self, n: int = 2) -> None:
        """Keep ``n`` workers alive (a spare takes a killed worker's run over)."""
        alive = [w for w in self.workers if w.poll() is None]
        for _ in range(n - len(alive)):
            self.worker()

    def db(self) -> sa.engine.Engine:
        url = self.env.get("HEADWATER_DATABASE_URL") or f"sqlite:///{self.home / 'headwater.db'}"
        return sa.create_engine(url, poolclass=sa.pool.NullPool)

    def holder(self, run_id: str, timeout: float = 60) -> subprocess.Popen[bytes]:
        """The worker process holding ``run_id``'s lease (waits for a claim)."""
        eng = self.db()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                with eng.connect() as conn:
                    owner = conn.execute(
                        sa.text("SELECT lease_owner FROM runs WHERE id = :id"), {"id": run_id}
                    ).scalar()
                if owner:
                    pid = int(str(owner).split(":")[1])
                    for w in self.workers:
                        if w.pid == pid and w.poll() is None:
                            return w
                time.sleep(0.02)
        finally:
            eng.dispose()
        raise AssertionError(f"no live worker of this test claimed run {run_id}")

    def close(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.terminate()
        for w in self.workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        self.api_proc.terminate()
        try:
            self.api_proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.api_proc.kill()
            self.api_proc.wait()
        self.api.http.close()

    # flows and runs

    def flow(self, **kwargs: Any) -> dict[str, str]:
        return make_flow(self.api, self.emu, **kwargs)

    def runs(self, flow: str) -> list[dict[str, Any]]:
        return list(
            self.api.get(f"{FS}/runs", property=f"flowId=={flow}", orderby="createdAt")["items"]
        )

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.api.get(f"{FS}/runs/{run_id}")["items"][0])

    def run_now(self, flow: str) -> str:
        before = {r["id"] for r in self.runs(flow)}
        r = self.api.http.post(f"{FS}/flows/{flow}/action", params={"op": "run"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            new = [r["id"] for r in self.runs(flow) if r["id"] not in before]
            if new:
                return str(new[0])
            time.sleep(0.1)
        raise AssertionError("run now queued no run")

    def latest_run(self, flow: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(flow)
            if runs:
                return str(runs[-1]["id"])
            time.sleep(0.1)
        raise AssertionError(f"flow {flow} has no run")

    def wait_done(self, run_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["state"] in ("success", "failed", "partialSuccess"):
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not finish within {timeout} s: {run}")

    # the dataset

    @property
    def lake(self) -> Path:
        return Path(self.env.get("HEADWATER_LAKE_URI") or self.home / "lake")

    def table_dir(self, ds: str) -> Path:
        return self.lake / self.api.org / "prod" / ds

    def ids(self, ds: str) -> list[str]:
        if not self.table_dir(ds).exists():
            return []
        table = DeltaTable(str(self.table_dir(ds)))
        return list(table.to_pyarrow_table(columns=["Id"]).column("Id").to_pylist())

    def commits_of(self, ds: str, run_id: str) -> int:
        """How many Delta commits of the dataset's table carry ``run_id``."""
        log = self.table_dir(ds) / "_delta_log"
        if not log.exists():
            return 0
        needle = f'"headwater.runId":"{run_id}"'
        return sum(
            1
            for f in log.glob("*.json")
            if needle in f.read_text(encoding="utf-8").replace(" ", "")
        )

    def assert_exact(self, ds: str) -> None:
        ids = self.ids(ds)
        assert len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} duplicate ids"
        expected = set(self.emu.live_contact_ids())
        got = set(ids)
        assert got == expected, f"missing {len(expected - got)}, extra {len(got - expected)}"

    def batches_of(self, ds: str, run_id: str) -> int:
        """How many catalog batches of the dataset name ``run_id``."""
        found = self.api.get(f"{CAT}/batches", dataSet=ds)
        tag = {"type": "flowRun", "id": run_id}
        return sum(1 for b in found.values() if tag in b.get("relatedObjects", []))


@pytest.fixture
def rig_factory(tmp_path: Path, emulator_factory) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(
        contacts: int = CONTACTS, *emu_args: str, extra_env: dict[str, str] | None = None
    ) -> Rig:
        emu = emulator_factory(contacts, *emu_args)
        rig = Rig(tmp_path / f"home{len(rigs)}", emu, extra_env=extra_env)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def emulator_post(emu: Emulator, path: str, body: dict[str, Any]) -> Any:
    r = httpx.post(emu.url + "/_emulator/" + path, json=body, timeout=30)
    r.raise_for_status()
    return r.json()


def change_source(emu: Emulator, touch: int = 300, archive: int = 10) -> None:
    """Modify and delete some contacts so the next run has work to do."""
    emulator_post(emu, "touch", {"objectType": "contacts", "count": touch})
    emulator_post(emu, "archive", {"objectType": "contacts", "count": archive})


# ---------------------------------------------------------------------------- kill -9

KILLS = int(os.environ.get("HEADWATER_FAULT_KILLS", "3"))


def _data_files(table: Path) -> set[str]:
    if not table.exists():
        return set()
    return {p.name for p in table.glob("*.parquet")}


def _log_versions(table: Path) -> int:
    log = table / "_delta_log"
    return len(list(log.glob("*.json"))) if log.exists() else 0


def _where(rig: Rig, ds: str, run_id: str, files_before: set[str]) -> str:
    """Where a stopped worker stands in the run."""
    if rig.run(run_id)["state"] in ("success", "failed", "partialSuccess"):
        return "after finish"
    if rig.commits_of(ds, run_id):
        return "after commit"
    if _data_files(rig.table_dir(ds)) - files_before:
        return "during commit"
    return "before commit"


def _stop_at(
    rig: Rig,
    ds: str,
    run_id: str,
    aim: str,
    rng: random.Random,
) -> tuple[subprocess.Popen[bytes], str]:
    """SIGSTOP the worker at the point ``aim`` (``before``: a random moment of the read,
    ``during``: when the commit's first data file appears, ``after``: when the commit lands)
    and answer it and where it stopped."""
    worker = rig.holder(run_id)
    table = rig.table_dir(ds)
    files_before = _data_files(table)
    versions_before = _log_versions(table)
    deadline = time.monotonic() + 60
    if aim == "before":
        time.sleep(rng.uniform(0.0, 0.6))
    else:
        while time.monotonic() < deadline:
            if _log_versions(table) > versions_before:
                break
            if aim == "during" and _data_files(table) - files_before:
                break
            if worker.poll() is not None:
                break
            time.sleep(0.0005)
    worker.send_signal(signal.SIGSTOP)
    return worker, _where(rig, ds, run_id, files_before)


def _kill_matrix(rig: Rig, aims: list[str], seed: int, record: Any) -> None:
    print(f"kill -9 matrix, HEADWATER_FAULT_SEED={seed}")  # shown when it fails
    rng = random.Random(seed)
    made = rig.flow()
    ds = made["dataset"]
    landed: dict[str, int] = {}
    for i, aim in enumerate(aims):
        rig.ensure_workers(2)
        if i == 0:
            run_id = rig.latest_run(made["flow"])
        else:
            change_source(rig.emu)
            run_id = rig.run_now(made["flow"])
        worker, where = _stop_at(rig, ds, run_id, aim, rng)
        worker.kill()
        worker.wait()
        landed[where] = landed.get(where, 0) + 1
        before = rig.ids(ds)
        if where in ("before commit", "during commit"):
            # nothing of the run reached the dataset
            assert rig.commits_of(ds, run_id) == 0
            assert len(before) == len(set(before))
        # the spare takes the run over once the dead worker's lease expires
        run = rig.wait_done(run_id)
        assert run["state"] == "success", (where, run["metrics"])
        if where != "after finish":
            assert run["attempt"] >= 2, where
        rig.assert_exact(ds)
        assert rig.commits_of(ds, run_id) == 1, f"{where}: the run was applied twice"
        assert rig.batches_of(ds, run_id) == 1, f"{where}: not one batch for the run"
        outcome = "exact after takeover" if where != "after finish" else "exact (ended first)"
        record(f"fault kill -9 worker {where}", injected=1, **{outcome: 1})
    assert sum(landed.values()) == len(aims), landed


SEED = int(os.environ.get("HEADWATER_FAULT_SEED", "0")) or random.randrange(1 << 30)


def test_kill_9_before_during_and_after_the_lake_commit(rig_factory, reliability_counts) -> None:
    """One kill aimed at each point (``HEADWATER_FAULT_KILLS`` for more, cycling)."""
    aims = [("before", "during", "after")[i % 3] for i in range(KILLS)]
    _kill_matrix(rig_factory(), aims, SEED, reliability_counts)


@pytest.mark.slow
def test_kill_9_at_random_points(rig_factory, reliability_counts) -> None:
    """Fifteen kills, each at a point drawn at random (``HEADWATER_FAULT_SEED`` replays)."""
    rng = random.Random(SEED)
    aims = [rng.choice(("before", "during", "after")) for _ in range(15)]
    _kill_matrix(rig_factory(), aims, SEED, reliability_counts)


# ---------------------------------------------------------------------------- shared rig


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, emulator_module) -> Iterator[Rig]:
    """One emulator and API for the faults that need nothing of their own; two workers."""
    rig = Rig(tmp_path_factory.mktemp("faults") / "home", emulator_module(CONTACTS))
    rig.ensure_workers(2)
    try:
        yield rig
    finally:
        rig.close()


def _specific(run: dict[str, Any]) -> str:
    """The error code of a failed run; a crash (an unclassified exception) fails the test."""
    errors = run["metrics"].get("statusSummary", {}).get("errors", [])
    assert errors, run
    code = str(errors[0].get("code"))
    assert code != "ENGINE-1102-500", f"the run crashed: {errors}"
    return code


def _settle(
    rig: Rig,
    flow: str,
    ds: str,
    run_id: str,
    before: list[str],
    fault: str,
    record: Any,
    end_fault: Callable[[], None] = lambda: None,
) -> None:
    """Wait for ``run_id``: exact, or failed with a specific error and the dataset unchanged,
    then one more run (the fault gone) that makes it exact."""
    try:
        run = rig.wait_done(run_id, timeout=180)
    finally:
        end_fault()
    if run["state"] == "success":
        rig.assert_exact(ds)
        record(fault, injected=1, **{"exact" if run["attempt"] == 1 else "retried, exact": 1})
        return
    code = _specific(run)
    assert sorted(rig.ids(ds)) == sorted(before), "a failed run changed the dataset"
    repair = rig.wait_done(rig.run_now(flow), timeout=180)
    assert repair["state"] == "success", repair["metrics"]
    rig.assert_exact(ds)
    record(fault, injected=1, **{f"failed {code}, next run exact": 1})


STORMS = {
    "5xx": "500:0.05,502:0.03,503x3:0.04,504:0.02",
    "429": "429:0.15,429r:0.05",
    "connection reset": "reset:0.05,truncate:0.02",
}


LATER = {"startTime": str(int(time.time()) + 86_400), "frequency": "once", "interval": "15"}


@pytest.mark.parametrize("storm", list(STORMS))
def test_emulator_storms(shared: Rig, reliability_counts, storm: str) -> None:
    """A storm of 5xx, 429 or connection resets while a full read, then an incremental one,
    runs (the storm stops when the run ends: the checks read the emulator too)."""
    rig = shared
    made = rig.flow(schedule=LATER)
    before: list[str] = []
    for _ in range(2):
        emulator_post(rig.emu, "faults", {"spec": STORMS[storm]})
        _settle(
            rig,
            made["flow"],
            made["dataset"],
            rig.run_now(made["flow"]),
            before,
            f"fault emulator {storm} storm",
            reliability_counts,
            end_fault=lambda: emulator_post(rig.emu, "faults", {"spec": ""}),
        )
        before = rig.ids(made["dataset"])
        change_source(rig.emu)


def _flow_state(rig: Rig, flow: str, value: str) -> None:
    eng = rig.db()
    with eng.begin() as conn:
        n = conn.execute(
            sa.text("UPDATE flow_state SET state = :s WHERE flow_id = :f"), {"s": value, "f": flow}
        ).rowcount
    eng.dispose()
    assert n == 1, "the flow has no committed state to corrupt"


CORRUPT_STATES = {
    "not JSON": "\x00{garbage",
    "JSON, wrong types": json.dumps({"v": 1, "cursor_ms": "yesterday", "run": "half"}),
    "JSON, not an object": json.dumps([1, 2, 3]),
    "unknown version": json.dumps({"v": 99, "cursor_ms": 5}),
}


@pytest.mark.parametrize("garbage", list(CORRUPT_STATES))
def test_corrupted_committed_cursor(shared: Rig, reliability_counts, garbage: str) -> None:
    rig = shared
    made = rig.flow()
    assert rig.wait_done(rig.latest_run(made["flow"]))["state"] == "success"
    _flow_state(rig, made["flow"], CORRUPT_STATES[garbage])
    before = rig.ids(made["dataset"])
    change_source(rig.emu)
    _settle(
        rig,
        made["flow"],
        made["dataset"],
        rig.run_now(made["flow"]),
        before,
        f"fault corrupted cursor ({garbage})",
        reliability_counts,
    )


def test_corrupted_run_checkpoint_column(shared: Rig, reliability_counts) -> None:
    """Garbage in a queued run's stored checkpoint: the queue keeps working and the run too."""
    rig = shared
    made = rig.flow(
        schedule={"startTime": str(int(time.time()) + 3600), "frequency": "once", "interval": "15"}
    )
    eng = rig.db()
    with eng.begin() as conn:
        conn.execute(
            sa.text("UPDATE runs SET checkpoint = :c, scheduled_for = :now WHERE flow_id = :f"),
            {"c": "{not json", "now": int(time.time() * 1000), "f": made["flow"]},
        )
    eng.dispose()
    run_id = rig.latest_run(made["flow"])
    _settle(
        rig,
        made["flow"],
        made["dataset"],
        run_id,
        [],
        "fault corrupted run checkpoint",
        reliability_counts,
    )
    # and the other flows' runs still run
    other = rig.flow()
    assert rig.wait_done(rig.latest_run(other["flow"]))["state"] == "success"


def test_corrupted_staged_checkpoint(shared: Rig, reliability_counts) -> None:
    """A worker dies mid-read, then its staged run's log is garbage: the next worker starts the
    read over instead of failing forever."""
    rig = shared
    made = rig.flow()
    run_id = rig.latest_run(made["flow"])
    staging = rig.lake.with_name("lake.staging") / run_id / "_delta_log"
    deadline = time.monotonic() + 60
    while not list(staging.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.005)
    holder = rig.holder(run_id)
    holder.send_signal(signal.SIGSTOP)
    if list(staging.glob("*.json")) and rig.commits_of(made["dataset"], run_id) == 0:
        for f in staging.glob("*.json"):
            f.write_bytes(b"\x00garbage{")
        injected = True
    else:
        injected = False
    holder.kill()
    holder.wait()
    rig.ensure_workers(2)
    run = rig.wait_done(run_id)
    assert run["state"] == "success" or _specific(run)
    if run["state"] != "success":
        run = rig.wait_done(rig.run_now(made["flow"]))
        assert run["state"] == "success"
    rig.assert_exact(made["dataset"])
    if injected:
        reliability_counts("fault corrupted staged checkpoint", injected=1, exact=1)


def test_emulator_clock_jumps(shared: Rig, reliability_counts) -> None:
    """HubSpot's clock jumps two hours forward, then back: incremental runs stay exact."""
    rig = shared
    made = rig.flow()
    assert rig.wait_done(rig.latest_run(made["flow"]))["state"] == "success"
    try:
        for jump in (7200, -7200):
            emulator_post(rig.emu, "clock", {"advance": jump})
            before = rig.ids(made["dataset"])
            change_source(rig.emu)
            _settle(
                rig,
                made["flow"],
                made["dataset"],
                rig.run_now(made["flow"]),
                before,
                f"fault emulator clock {'forward' if jump > 0 else 'backward'} 2 h",
                reliability_counts,
            )
    finally:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        emulator_post(rig.emu, "clock", {"now": now})


# ---------------------------------------------------------------------------- PostgreSQL


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port, to restart at will: the
    machine's shared server on 5432 is never touched."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            msg = "PostgreSQL server binaries (initdb, pg_ctl) not found"
            if os.environ.get("CI") == "true":
                pytest.fail(msg)
            pytest.skip(msg)
        self.bin = bindir
        self.user = _pg_os_user()
        # its own directory under /tmp: the server's account must reach it
        root = Path(tempfile.mkdtemp(prefix="headwater-pg-"))
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        if self.user:
            shutil.chown(root, self.user)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.ctl("start", "-w", "-l", str(root / "pg.log"), "-o", f"-p {self.port} -k {root}")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{tool} failed: {out.stderr}"

    def ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), *args)

    def restart(self) -> None:
        """A fast restart: every connection is cut."""
        self.ctl("restart", "-w", "-m", "fast", "-l", str(self.root / "pg.log"))

    def stop(self) -> None:
        with contextlib.suppress(AssertionError):
            self.ctl("stop", "-w", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def _pg_os_user() -> str | None:
    """initdb refuses root: as root, run the server as the ``postgres`` account."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root without a postgres account to run a private server")
    return "postgres"


@pytest.mark.slow  # make test-all: half a minute of processes each
def test_postgres_restarted_mid_run(tmp_path: Path, emulator_factory, reliability_counts) -> None:
    pg = PrivatePostgres()
    rig: Rig | None = None
    try:
        emu = emulator_factory(CONTACTS)
        rig = Rig(tmp_path / "home", emu, extra_env={"HEADWATER_DATABASE_URL": pg.url})
        made = rig.flow(schedule=LATER)
        rig.ensure_workers(1)
        before: list[str] = []
        for i in range(2):
            if i:
                change_source(emu)
            run_id = rig.run_now(made["flow"])
            rig.holder(run_id)  # claimed: the run is under way
            pg.restart()
            _settle(
                rig,
                made["flow"],
                made["dataset"],
                run_id,
                before,
                "fault PostgreSQL restart mid-run",
                reliability_counts,
            )
            before = rig.ids(made["dataset"])
            assert all(w.poll() is None for w in rig.workers), "a worker died with the database"
    finally:
        if rig is not None:
            rig.close()
        pg.stop()


# ---------------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs for the lake (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem for the lake here: {out.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    """Write until the filesystem is full."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb") as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
                f.flush()


@pytest.mark.slow  # make test-all: half a minute of processes each
def test_disk_full_on_the_lake(small_disk: Path, rig_factory, reliability_counts) -> None:
    lake = small_disk / "lake"
    rig = rig_factory(extra_env={"HEADWATER_LAKE_URI": str(lake)})
    made = rig.flow(schedule=LATER)
    rig.ensure_workers(1)
    assert rig.wait_done(rig.run_now(made["flow"]))["state"] == "success"
    rig.assert_exact(made["dataset"])
    filler = small_disk / "filler"
    for _ in range(2):
        before = rig.ids(made["dataset"])
        change_source(rig.emu, touch=2_000)
        _fill(filler)
        run_id = rig.run_now(made["flow"])
        # the run fails its attempt (the disk is full), the dataset stays as it was
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = rig.run(run_id)
            if run["state"] in ("failed", "success") or run["attempt"] >= 2:
                break
            time.sleep(0.2)
        assert sorted(rig.ids(made["dataset"])) == sorted(before)
        filler.unlink()
        _settle(
            rig,
            made["flow"],
            made["dataset"],
            run_id,
            before,
            "fault disk full on the lake",
            reliability_counts,
        )
