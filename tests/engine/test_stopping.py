"""The stop machinery in one process, with real signals and real processes: signal handlers that
only count, the watcher that turns a count (or a vanished parent) into a stop and a second signal
or the grace into a forced stop; and the same-host takeover of a dead worker's runs, on SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from headwater.domain.runs import RunStatus
from headwater.engine.stopping import SECOND_SIGNAL_AFTER_S, Stopping, run_worker
from headwater.engine.worker import Worker, holder_is_dead, worker_id
from headwater.services.context import ServiceContext
from headwater.services.sources import open_connector
from headwater.store import runs as store
from headwater.store.tables import runs as runs_table
from tests.store.test_run_leases import ORG, new_run, read

WAIT = 30.0  # an upper bound for things that happen within a fraction of a second


@pytest.fixture
def handlers() -> Iterator[None]:
    """This process's SIGTERM and SIGINT handlers, restored afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_signal_asks_for_the_stop_and_a_later_one_forces_it(handlers: None) -> None:
    stopping = Stopping(grace_s=3600).install()
    stopped, forced = threading.Event(), threading.Event()
    stopping.on_stop(stopped.set)
    stopping.on_force(forced.set)
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)  # at once: the same request (a process group's)
    assert stopped.wait(WAIT)
    assert stopping.reason == "signal"
    assert not forced.wait(SECOND_SIGNAL_AFTER_S + 0.5)
    os.kill(os.getpid(), signal.SIGTERM)  # a second request: forced
    assert forced.wait(WAIT)
    late = threading.Event()
    stopping.on_stop(late.set)  # registered after the fact: called at once
    assert late.is_set()


def test_the_grace_period_forces_the_stop(handlers: None) -> None:
    stopping = Stopping(grace_s=0.2).install()
    os.kill(os.getpid(), signal.SIGTERM)
    assert stopping.requested.wait(WAIT)
    assert stopping.forced.wait(WAIT)
    assert stopping.remaining() == 0.0


def test_a_vanished_parent_asks_for_the_stop() -> None:
    gone = _sleeper()
    gone.kill()
    gone.wait()
    stopping = Stopping(grace_s=0.2, parent_pid=gone.pid)  # not our parent (anymore)
    stopping._thread = threading.Thread(target=stopping._watch, daemon=True)
    stopping._thread.start()
    assert stopping.requested.wait(WAIT)
    assert stopping.reason == "parent gone"
    assert stopping.forced.wait(WAIT)


def test_a_holder_is_dead_only_when_provably_so() -> None:
    proc = _sleeper()
    try:
        live = worker_id(proc.pid)
        me = worker_id()
        assert not holder_is_dead(live, me=me)
        assert not holder_is_dead(me, me=me)
        host, pid, key = live.rsplit(":", 2)
        node, _, start = key.partition("-")
        # the pid is another process now (not the one that started then): dead
        assert holder_is_dead(f"{host}:{pid}:{node}-{int(start) + 1}", me=me)
        # another host, or another boot / pid namespace of this host: only the lease can tell
        assert not holder_is_dead(f"elsewhere:{pid}:{key}", me=me)
        assert not holder_is_dead(f"{host}:{pid}:0000000000-{start}", me=me)
        assert not holder_is_dead("w1", me=me)
    finally:
        proc.kill()
        proc.wait()
    assert holder_is_dead(live, me=me)


@pytest.fixture
def forget_runs(ctx: ServiceContext) -> Iterator[None]:
    yield
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(runs_table).where(runs_table.c.org_id == ORG))


def test_a_starting_worker_takes_over_the_runs_of_dead_workers_of_its_host(
    ctx: ServiceContext, forget_runs: None
) -> None:
    now = 1_000_000  # long before any other test's runs: only these are due
    dead_proc, live_proc = _sleeper(), _sleeper()
    try:
        dead, live = worker_id(dead_proc.pid), worker_id(live_proc.pid)
        dead_proc.kill()
        dead_proc.wait()
        held = {}
        for owner in (dead, live, f"elsewhere:{dead_proc.pid}:{dead.rsplit(':', 1)[1]}"):
            new_run(ctx, at=now - 1_000)
            claimed = store.claim_next_run(
                ctx.engine, worker_id=owner, now=now, lease_ms=600_000, portal_limit=10
            )
            assert claimed is not None
            held[owner] = claimed.id
            assert store.set_run_state(
                ctx.engine,
                run_id=claimed.id,
                worker_id=owner,
                now=now,
                status=RunStatus.IN_PROGRESS,
                checkpoint={"after": "42"},
            )
        worker = Worker(ctx, open_connector=open_connector)
        assert worker.reclaim_dead() == 1
        taken = read(ctx, held[dead])
        assert taken.status is RunStatus.SCHEDULED
        assert taken.lease_owner is None and taken.lease_expires_at is None
        assert taken.scheduled_for <= ctx.clock()
        assert taken.checkpoint == {"after": "42"} and taken.attempt == 1
        for owner in held.keys() - {dead}:
            kept = read(ctx, held[owner])
            assert kept.status is RunStatus.IN_PROGRESS and kept.lease_owner == owner
    finally:
        live_proc.kill()
        live_proc.wait()


def _watching(grace_s: float) -> Stopping:
    """A stopping with its watcher and no signal handlers (asked for with ``request``)."""
    stopping = Stopping(grace_s=grace_s)
    stopping._thread = threading.Thread(target=stopping._watch, daemon=True)
    stopping._thread.start()
    return stopping


def _worker_in_thread(
    ctx: ServiceContext, stopping: Stopping, tick_forever: Callable[[threading.Event], None]
) -> tuple[threading.Thread, list[int]]:
    # concurrency 0: this worker claims nothing of the other tests' runs
    worker = Worker(ctx, open_connector=open_connector, concurrency=0, poll_s=0.01)
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(run_worker(worker, None, stopping, scheduler=tick_forever))
    )
    thread.start()
    return thread, codes


def test_a_worker_running_the_scheduler_stops_both_on_one_request(ctx: ServiceContext) -> None:
    """``headwater worker --scheduler`` (serve's child): the scheduler loop is a thread of the
    worker, ticking on the stop's event; one stop ends the loop and the worker, status 0."""
    stopping = _watching(grace_s=WAIT)
    ticking = threading.Event()
    given: list[threading.Event] = []
    loops: list[threading.Thread] = []

    def tick_forever(stop: threading.Event) -> None:
        given.append(stop)
        loops.append(threading.current_thread())
        ticking.set()
        stop.wait()

    thread, codes = _worker_in_thread(ctx, stopping, tick_forever)
    assert ticking.wait(WAIT)
    [loop] = loops
    assert loop.daemon and loop.name == "scheduler" and loop is not thread
    stopping.request("test")
    thread.join(WAIT)
    assert codes == [0]
    assert given == [stopping.requested]
    assert not loop.is_alive(), "the scheduler loop outlived the worker's stop"
    assert not stopping.forced.is_set(), "the stop was clean: nothing waited for the grace"


def test_a_stuck_scheduler_tick_cannot_hold_the_worker_past_the_grace(
    ctx: ServiceContext,
) -> None:
    stopping = _watching(grace_s=0.3)
    stuck, release = threading.Event(), threading.Event()
    loops: list[threading.Thread] = []

    def tick_forever(stop: threading.Event) -> None:  # a tick that ignores the stop
        loops.append(threading.current_thread())
        stuck.set()
        release.wait(WAIT)

    thread, codes = _worker_in_thread(ctx, stopping, tick_forever)
    try:
        assert stuck.wait(WAIT)
        stopping.request("test")
        thread.join(WAIT)
        assert codes == [0], "the worker waited for the stuck tick"
        [loop] = loops
        assert loop.is_alive() and loop.daemon  # still stuck: a daemon, it cannot hold the exit
    finally:
        release.set()
