"""Stopping ``headwater worker`` and ``headwater serve`` as systemd and Kubernetes do (SIGTERM), in
every state a worker can be in, with real processes, the bundled emulator and SQLite: each process
exits with status 0 within the grace period, its run is back in the queue with its lease cleared
and due now, and the next worker resumes it from its checkpoint; the dataset ends exact.

States are reached with the test hooks of ``headwater.engine.stopping.pause_point`` (a marker file
says the process is there) and the emulator's latency fault (a worker reading pages)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import ENGINE_ENV, Emulator, start_server
from tests.e2e.test_dataflow_processes import FS, Api, lake_ids, make_flow, wait_runs
from tests.notifications.support import serve_receiver
from tests.processes import descendants, stop_group, wait_gone
from tests.processes import start as start_process

pytestmark = pytest.mark.e2e

#: The grace period of every process these tests start (HEADWATER_SHUTDOWN_GRACE_SECONDS).
GRACE = 4.0
#: A lease longer than any wait below: a run resumed "at once" did not wait for it.
LEASE = 60
CONTACTS = 2_000
#: Per request while a test wants a worker caught reading (about 8 pages per partition).
LATENCY = "latency:300ms"
#: serve's worker starts later than a worker the test starts: give its read more time
SERVE_LATENCY = "latency:1000ms"
#: Once a test has caught a worker reading, every further page takes this long, so the run
#: cannot finish before the signal lands, however late the test saw its progress (below the
#: grace: the page in flight at the signal still ends inside it).
HOLD_LATENCY = "latency:2000ms"
#: ``objects.list`` requests of an uninterrupted first read of this portal.
FULL_READ_PAGES = 23


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    api: Api
    emu: Emulator
    expected: list[str]
    db: sa.Engine
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def faults(self, spec: str) -> None:
        httpx.post(self.emu.url + "/_emulator/faults", json={"spec": spec}).raise_for_status()

    def flow(self, schedule: dict[str, str] | None = None) -> dict[str, str]:
        made = make_flow(self.api, self.emu, schedule=schedule)
        made["run"] = self.wait_run(made["flow"])["id"]
        return made

    def disable(self, flow: str) -> None:
        r = self.api.http.post(f"{FS}/flows/{flow}/action", params={"op": "disable"})
        assert r.status_code == 200, r.text

    def wait_run(self, flow: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = self.api.get(f"{FS}/runs", property=f"flowId=={flow}")["items"]
            if runs:
                return dict(runs[0])
            time.sleep(0.1)
        raise AssertionError(f"flow {flow} has no run")

    def row(self, run_id: str) -> Any:
        with self.db.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT status, attempt, lease_owner, lease_expires_at, scheduled_for,"
                    " checkpoint, doc FROM runs WHERE id = :id"
                ),
                {"id": run_id},
            ).one()

    def process(self, *args: str, pause: str | None = None, seconds: float = 60) -> Started:
        marker = self.home / f"paused-{uuid.uuid4().hex[:8]}"
        env = dict(self.env)
        if pause is not None:
            env |= {
                "HEADWATER_TEST_PAUSE_AT": pause,
                "HEADWATER_TEST_PAUSE_FILE": str(marker),
                "HEADWATER_TEST_PAUSE_SECONDS": str(seconds),
            }
        log = (self.home / f"{args[0]}-{marker.name}.log").open("ab")
        proc = start_process(list(args), env=env, stdout=log)
        log.close()
        self.started.append(proc)
        return Started(proc, marker)

    def worker(self, pause: str | None = None, seconds: float = 60) -> Started:
        return self.process("worker", "--concurrency", "1", pause=pause, seconds=seconds)

    def progress(self, run_id: str, records: int, timeout: float = 60) -> None:
        """Wait until the run has read ``records`` and stored a checkpoint, then slow the
        emulator down so that the run is still reading when the test acts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.row(run_id)
            done = json.loads(row.doc)["metrics"].get("recordSummary", {})
            if row.checkpoint and done.get("inputRecordCount", 0) >= records:
                assert row.status == "inProgress", row
                self.faults(HOLD_LATENCY)
                return
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} read fewer than {records} records in {timeout} s")

    def assert_released(self, run_id: str, *, attempt: int) -> Any:
        """Back in the queue: scheduled, no lease, due now."""
        row = self.row(run_id)
        assert row.status == "scheduled", row
        assert row.lease_owner is None and row.lease_expires_at is None, row
        assert row.scheduled_for <= time.time() * 1000, "the run is not due now"
        assert row.attempt == attempt, row
        return row

    def assert_resumed_exact(self, made: dict[str, str], *, attempt: int) -> dict[str, Any]:
        """A new worker finishes the run within a few seconds, without waiting for a lease; the
        dataset holds exactly the emulator's contacts; the worker, idle then, stops at once
        when signalled (the idle state)."""
        self.faults("")
        resumer = self.worker(pause="idle", seconds=0)
        [run] = wait_runs(self.api, made["flow"], 1, timeout=LEASE - 15)
        assert run["id"] == made["run"]
        assert run["state"] == "success", run["metrics"]
        assert run["attempt"] == attempt
        ids = lake_ids(self.home, self.api.org, made["dataset"])
        assert len(set(ids)) == len(ids), "duplicate ids"
        assert sorted(ids, key=int) == self.expected
        # and then, idle, it stops at once
        resumer.reached()
        resumer.sigterm()
        return dict(run)


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    marker: Path

    def reached(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            assert self.proc.poll() is None, "the process exited before the pause point"
            assert time.monotonic() < deadline, "the process never reached the pause point"
            time.sleep(0.02)

    def sigterm(self) -> None:
        """SIGTERM (to this process only, as Kubernetes does): it and every process below it
        exit, with status 0, within the grace period (plus interpreter start-up slack)."""
        below = descendants(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=GRACE + 3)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {GRACE + 3} s after SIGTERM") from None
        assert code == 0, f"exit status {code}"
        assert not wait_gone(below, 1.0), "a child outlived the stop"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator_module) -> Iterator[Stack]:
    emu = emulator_module(CONTACTS)
    home = tmp_path_factory.mktemp("stopping") / "home"
    extra = {
        "HEADWATER_HUBSPOT_BASE_URL": emu.url,
        "HEADWATER_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "HEADWATER_WORKER_LEASE_SECONDS": str(LEASE),
        **ENGINE_ENV,
    }
    api_proc, base, env = start_server(home, extra_env=extra, serve_args=("--no-engine",))
    db = sa.create_engine(f"sqlite:///{home / 'headwater.db'}")
    api = Api(base, env)
    stack = Stack(home, env, api, emu, sorted(emu.live_contact_ids(), key=int), db)
    try:
        yield stack
    finally:
        for proc in [*stack.started, api_proc]:
            stop_group(proc)
        api.http.close()
        db.dispose()


@pytest.fixture
def s(stack: Stack) -> Iterator[Stack]:
    """The stack, with no fault and every process this test started ended afterwards."""
    stack.faults("")
    yield stack
    for proc in stack.started:
        stop_group(proc)
    stack.started.clear()


@pytest.mark.slow  # make test-all: the same stop path as the states kept in make test
def test_starting_worker_stops_and_leaves_the_run_queued(s: Stack) -> None:
    made = s.flow()
    w = s.worker(pause="started")
    w.reached()
    w.sigterm()
    s.assert_released(made["run"], attempt=0)
    s.assert_resumed_exact(made, attempt=1)


def test_claiming_worker_gives_the_claimed_run_back(s: Stack) -> None:
    made = s.flow()
    w = s.worker(pause="claimed")
    w.reached()
    assert s.row(made["run"]).lease_owner is not None, "the pause is after the claim"
    w.sigterm()
    s.assert_released(made["run"], attempt=1)
    s.assert_resumed_exact(made, attempt=2)


def test_reading_worker_checkpoints_and_the_next_resumes_from_there(s: Stack) -> None:
    s.faults(LATENCY)
    made = s.flow()
    w = s.worker()
    s.progress(made["run"], 100)
    w.sigterm()
    row = s.assert_released(made["run"], attempt=1)
    assert row.checkpoint, "released without its checkpoint"
    read = json.loads(row.doc)["metrics"]["recordSummary"]["inputRecordCount"]
    assert 100 <= read < CONTACTS
    httpx.post(s.emu.url + "/_emulator/stats/reset").raise_for_status()
    s.assert_resumed_exact(made, attempt=2)
    pages = httpx.get(s.emu.url + "/_emulator/stats").json()["requests"]["objects.list"]
    # the second attempt listed only the pages after the checkpoint: a full read of this
    # portal lists 23 pages (20 of contacts, 3 of the other lists), each page after the
    # checkpoint holds 100 contacts
    assert pages <= FULL_READ_PAGES - read // 100 + 1, pages


def test_committing_worker_is_forced_at_the_grace_and_releases_first(s: Stack) -> None:
    made = s.flow()
    w = s.worker(pause="commit", seconds=GRACE * 10)  # a commit that outlasts the grace
    w.reached()
    w.sigterm()
    s.assert_released(made["run"], attempt=1)
    s.assert_resumed_exact(made, attempt=2)


@pytest.mark.slow  # make test-all: the same stop path as the states kept in make test
def test_delivering_worker_finishes_the_attempt_then_stops(s: Stack) -> None:
    hold = threading.Event()
    with serve_receiver(hold=hold) as receiver:
        hook = s.api.post(
            f"{FS}/webhooks",
            {"name": "stops", "url": receiver.url, "events": ["flow.run.started"]},
        )
        try:
            s.faults(LATENCY)
            made = s.flow()
            w = s.worker()
            assert receiver.arrived.wait(60), "no delivery arrived"
            threading.Timer(1.0, hold.set).start()  # answered after the stop began
            w.sigterm()
            [delivery] = s.api.get(f"{FS}/webhooks/{hook['id']}/deliveries")["items"]
            assert delivery["status"] == "succeeded", delivery
            s.assert_released(made["run"], attempt=1)
            s.assert_resumed_exact(made, attempt=2)
        finally:
            hold.set()
            s.api.http.delete(f"{FS}/webhooks/{hook['id']}")


def _serve(s: Stack) -> tuple[Started, str]:
    port = str(_free_port())
    serve = s.process("serve", "--port", port, "--concurrency", "1")
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert serve.proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)
    return serve, port


def _free_port() -> int:
    from tests.e2e.conftest import free_port

    return free_port()


def _one_worker_with_the_scheduler(serve: Started) -> list[int]:
    """serve's tree: serve and one child, a worker that runs the scheduler on a thread (no
    scheduler process of its own); the child's pid."""
    children = descendants(serve.proc.pid)
    assert len(children) == 1, f"serve runs one child, not {len(children)}"
    [child] = children
    args = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
    assert b"worker" in args and b"--scheduler" in args, args
    return children


#: A daily schedule whose current window began a second ago: only a scheduler queues its run
#: (the API queues the runs of ``once`` flows itself, and the stack's API runs no engine).
def _daily() -> dict[str, str]:
    return {"startTime": str(int(time.time()) - 1), "frequency": "day", "interval": "1"}


def test_sigterm_to_serve_stops_its_children_and_hands_the_run_back(s: Stack) -> None:
    s.faults(SERVE_LATENCY)
    serve, _ = _serve(s)
    _one_worker_with_the_scheduler(serve)
    made = s.flow(_daily())  # queued by the scheduler thread of serve's worker
    try:
        s.progress(made["run"], 100)
        serve.sigterm()  # to serve alone: it forwards the signal and waits for its child
        s.assert_released(made["run"], attempt=1)
        s.assert_resumed_exact(made, attempt=2)
    finally:
        s.disable(made["flow"])


@pytest.mark.slow  # make test-all: the same stop path as the states kept in make test
def test_sigterm_to_serve_while_it_starts_or_idles_ends_it_and_its_children(s: Stack) -> None:
    starting = s.process("serve", "--port", str(_free_port()), "--concurrency", "1")
    deadline = time.monotonic() + 180
    while not descendants(starting.proc.pid):  # its stop is armed before it spawns its children
        assert starting.proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.02)
    starting.sigterm()  # before its API answers
    idle, _ = _serve(s)
    _one_worker_with_the_scheduler(idle)
    idle.sigterm()


@pytest.mark.slow  # make test-all: the same stop path as the states kept in make test
def test_children_of_a_killed_serve_stop_by_themselves_and_hand_the_run_back(s: Stack) -> None:
    s.faults(SERVE_LATENCY)
    serve, _ = _serve(s)
    children = _one_worker_with_the_scheduler(serve)
    made = s.flow(_daily())
    try:
        s.progress(made["run"], 100)
        os.kill(serve.proc.pid, signal.SIGKILL)
        serve.proc.wait()
        assert not wait_gone(children, GRACE + 3), "a child outlived its parent"
        s.assert_released(made["run"], attempt=1)
        s.assert_resumed_exact(made, attempt=2)
    finally:
        s.disable(made["flow"])


def test_kill_9_then_restart_on_the_same_host_takes_over_before_the_lease_ends(s: Stack) -> None:
    s.faults(LATENCY)
    made = s.flow()
    w = s.worker()
    s.progress(made["run"], 100)
    held = s.row(made["run"])
    os.kill(w.proc.pid, signal.SIGKILL)
    w.proc.wait()
    assert s.row(made["run"]).status == "inProgress"  # held by a dead worker
    s.assert_resumed_exact(made, attempt=2)
    assert time.time() * 1000 < held.lease_expires_at, "the takeover waited for the lease"


def test_workers_running_the_scheduler_queue_each_window_once_and_stop(s: Stack) -> None:
    """Two ``headwater worker --scheduler`` (two serve nodes on one database, say), both
    ticking every 0.1 s while the flow's window is due and its run executes: one run for the
    window, the dataset exact; then, idle, each stops on SIGTERM with its scheduler thread."""
    workers = [
        s.process(
            "worker", "--concurrency", "1", "--scheduler", "--every", "0.1", pause="idle", seconds=0
        )
        for _ in range(2)
    ]
    for w in workers:
        w.reached(timeout=180)  # both scheduler threads are ticking
    made = make_flow(s.api, s.emu, schedule=_daily())
    try:
        [run] = wait_runs(s.api, made["flow"], 1)
        assert run["state"] == "success", run["metrics"]
        ids = lake_ids(s.home, s.api.org, made["dataset"])
        assert sorted(ids, key=int) == s.expected
        assert len(s.api.get(f"{FS}/runs", property=f"flowId=={made['flow']}")["items"]) == 1
    finally:
        s.disable(made["flow"])
    for w in workers:
        w.sigterm()


def test_a_worker_until_idle_with_the_scheduler_queues_the_due_window_then_drains(
    s: Stack,
) -> None:
    made = make_flow(s.api, s.emu, schedule=_daily())
    try:
        w = s.process("worker", "--concurrency", "1", "--until-idle", "--scheduler")
        assert w.proc.wait(timeout=180) == 0
        [run] = s.api.get(f"{FS}/runs", property=f"flowId=={made['flow']}")["items"]
        assert run["state"] == "success", run["metrics"]
        assert sorted(lake_ids(s.home, s.api.org, made["dataset"]), key=int) == s.expected
    finally:
        s.disable(made["flow"])
