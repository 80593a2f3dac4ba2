"""Workers: claim due runs with a lease, heartbeat while running, record the outcome, give the
runs back at their last checkpoint when the process stops, and take over at once the runs of a
dead worker of the same host.

A worker's id is ``host:pid:node-start``: ``node`` identifies this kernel boot and pid namespace
(a hash of ``/proc/sys/kernel/random/boot_id`` and ``/proc/self/ns/pid``), ``start`` is the
process's start time in clock ticks, so a pid reused by another process is not mistaken for the
worker. A lease holder with this host's name and node whose process is gone is provably dead;
any other holder (another host, or no ``/proc``) keeps its lease until it expires."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from functools import cache
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from headwater.domain.runs import RunStatus
from headwater.engine.executor import OpenConnector, RunControl, run_one
from headwater.engine.stopping import pause_point
from headwater.logs import log_context
from headwater.services import run_outcomes
from headwater.services.context import ServiceContext
from headwater.store import runs as store
from headwater.store.runs import RunRow

log = logging.getLogger("headwater.worker")

#: The default lease, in seconds (``--lease-seconds``, ``HEADWATER_WORKER_LEASE_SECONDS``).
DEFAULT_LEASE_S = 30
#: How often a running worker looks for dead workers' runs on its host (besides at start).
RECLAIM_EVERY_S = 10.0


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except OSError:
        return None


@cache
def node_key() -> str:
    """This kernel boot and pid namespace; random (never matching) without ``/proc``."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        ns = str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        ns = None
    if boot is None or ns is None:
        return "x" + uuid.uuid4().hex[:9]
    return hashlib.sha256(f"{boot}|{ns}".encode()).hexdigest()[:10]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks (``/proc/PID/stat``), None if gone."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def worker_id(pid: int | None = None) -> str:
    """The id of the worker in process ``pid`` (this one by default) of this host."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{node_key()}-{process_start(pid) or '0'}"


def holder_is_dead(owner: str, *, me: str) -> bool:
    """Whether the worker ``owner`` is provably dead: it ran on this host, kernel boot and pid
    namespace, and its process is gone (or the pid is another process now)."""
    if owner == me:
        return False
    parts = owner.rsplit(":", 2)
    mine = me.rsplit(":", 2)
    if len(parts) != 3 or len(mine) != 3 or parts[0] != mine[0] or not parts[1].isdigit():
        return False
    node, _, start = parts[2].partition("-")
    if node != mine[2].partition("-")[0] or node.startswith("x"):
        return False
    return process_start(int(parts[1])) != start


class Worker:
    """``concurrency`` runs at a time in this process, at most ``portal_limit`` per source
    account (base connection) across every worker sharing the database."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        open_connector: OpenConnector,
        concurrency: int = 2,
        lease_ms: int = DEFAULT_LEASE_S * 1000,
        portal_limit: int = 2,
        poll_s: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.open_connector = open_connector
        self.concurrency = concurrency
        self.lease_ms = lease_ms
        self.portal_limit = portal_limit
        self.poll_s = poll_s
        self.id = name or worker_id()
        self.stop = threading.Event()
        self._controls: dict[str, RunControl] = {}
        self._lock = threading.Lock()

    def claim(self) -> RunRow | None:
        run = store.claim_next_run(
            self.ctx.engine,
            worker_id=self.id,
            now=self.ctx.clock(),
            lease_ms=self.lease_ms,
            portal_limit=self.portal_limit,
        )
        if run is None:
            pause_point("idle")
        else:
            pause_point("claimed", until=self.stop)
        return run

    def release(self, run_id: str) -> bool:
        """Give a run this worker holds back to the queue, due now, keeping its checkpoint."""
        now = self.ctx.clock()
        return store.set_run_state(
            self.ctx.engine,
            run_id=run_id,
            worker_id=self.id,
            now=now,
            status=RunStatus.SCHEDULED,
            retry_at=now,
        )

    def reclaim_dead(self) -> int:
        """Release at once the runs held by dead workers of this host (see the module's
        docstring); they are due now and resume from their checkpoints."""
        host = self.id.rsplit(":", 2)[0]
        n = 0
        for run_id, owner in store.held_runs(self.ctx.engine, owner_prefix=host + ":"):
            if not holder_is_dead(owner, me=self.id):
                continue
            now = self.ctx.clock()
            if store.set_run_state(
                self.ctx.engine,
                run_id=run_id,
                worker_id=owner,
                now=now,
                status=RunStatus.SCHEDULED,
                retry_at=now,
            ):
                log.info("run %s: its worker %s is gone; taking it over", run_id, owner)
                n += 1
        return n

    def _heartbeat(self, run: RunRow, control: RunControl, done: threading.Event) -> None:
        while not done.wait(self.lease_ms / 3000):
            try:
                ok = store.set_run_state(
                    self.ctx.engine,
                    run_id=run.id,
                    worker_id=self.id,
                    now=self.ctx.clock(),
                    status=RunStatus.IN_PROGRESS,
                    lease_ms=self.lease_ms,
                )
            except SQLAlchemyError as exc:
                # the database is away (restarting?): beat again soon; if the lease runs out
                # meanwhile, the next beat finds it lost
                log.warning("heartbeat of run %s failed: %s", run.id, exc.__class__.__name__)
                continue
            if not ok:
                control.lease_lost.set()
                return

    def execute(self, run: RunRow) -> RunStatus | None:
        """Execute a claimed run; every log line inside carries its run id."""
        with log_context(run_id=run.id):
            return self._execute(run)

    def _execute(self, run: RunRow) -> RunStatus | None:
        control = RunControl()
        with self._lock:  # shutdown() sets stop, then takes the lock: no run misses it
            if self.stop.is_set():
                control.stop.set()
            self._controls[run.id] = control
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run, control, done), daemon=True)
        beat.start()
        try:
            run_outcomes.record_start(self.ctx, run)
            try:
                log.info("worker %s runs %s (attempt %d)", self.id, run.id, run.attempt)
                outcome = run_one(
                    self.ctx,
                    run,
                    worker_id=self.id,
                    open_connector=self.open_connector,
                    control=control,
                )
            finally:
                done.set()
                beat.join(self.lease_ms / 1000)
            run_outcomes.record_outcome(self.ctx, run, worker_id=self.id, outcome=outcome)
        finally:
            with self._lock:  # only now: a stop waits for the outcome to be written
                self._controls.pop(run.id, None)
        if outcome.status is None:
            ended = "lost"
        elif outcome.status is RunStatus.SCHEDULED:
            ended = "released"
        else:
            ended = outcome.status.value
        log.info("run %s ended: %s", run.id, ended)
        return outcome.status

    def run_until_idle(self, *, max_runs: int | None = None) -> int:
        """Claim and execute runs until none is due (tests and ``headwater run``)."""
        n = 0
        while max_runs is None or n < max_runs:
            run = self.claim()
            if run is None:
                return n
            self.execute(run)
            n += 1
        return n

    def running(self) -> int:
        """How many runs this worker holds and has not recorded the end of."""
        with self._lock:
            return len(self._controls)

    def _execute_quietly(self, run: RunRow) -> None:
        try:
            self.execute(run)
        except Exception:
            log.exception("run %s: the worker failed to record its end", run.id)

    def run_forever(self) -> None:
        """Claim and execute runs, each on a daemon thread, until :meth:`shutdown`; returns at
        once then (the runs end by themselves, or :meth:`release_held` gives them back)."""
        next_reclaim: float = self.ctx.clock()
        while not self.stop.is_set():
            if self.ctx.clock() >= next_reclaim:
                next_reclaim = self.ctx.clock() + RECLAIM_EVERY_S * 1000
                try:
                    self.reclaim_dead()
                except SQLAlchemyError as exc:  # the database is away: next time
                    log.warning("reclaiming dead workers' runs failed (%s)", exc.__class__.__name__)
            if self.running() < self.concurrency:
                try:
                    run = self.claim()
                except SQLAlchemyError as exc:
                    # the database is away (restarting?): keep the worker, try again
                    log.warning("claiming a run failed (%s); retrying", exc.__class__.__name__)
                    self.stop.wait(max(self.poll_s, 1.0))
                    continue
                if run is not None:
                    if self.stop.is_set():  # claimed while the stop came: give it back
                        self.release(run.id)
                        break
                    with self._lock:
                        self._controls.setdefault(run.id, RunControl())
                    threading.Thread(
                        target=self._execute_quietly,
                        args=(run,),
                        name=f"run-{run.id[:8]}",
                        daemon=True,
                    ).start()
                    continue
            self.stop.wait(self.poll_s)

    def shutdown(self) -> None:
        """Stop claiming; running runs checkpoint and go back to the queue."""
        self.stop.set()
        with self._lock:
            for control in self._controls.values():
                control.stop.set()

    def release_held(self) -> int:
        """Release every run still held (the stop is forced); how many were released."""
        with self._lock:
            held = list(self._controls)
        released = sum(1 for run_id in held if self.release(run_id))
        if released:
            log.warning("released %d run(s) still running when the stop was forced", released)
        return released
