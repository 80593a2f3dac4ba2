"""Workers: claim due runs with a lease, heartbeat while running, record the outcome, and give the
run back at its last checkpoint on SIGTERM."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from headwater.domain.runs import RunStatus
from headwater.engine.executor import OpenConnector, RunControl, run_one
from headwater.logs import log_context
from headwater.services import run_outcomes
from headwater.services.context import ServiceContext
from headwater.store import runs as store
from headwater.store.runs import RunRow

log = logging.getLogger("headwater.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """``concurrency`` runs at a time in this process, at most ``portal_limit`` per HubSpot
    portal across every worker sharing the database."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        open_connector: OpenConnector,
        concurrency: int = 2,
        lease_ms: int = 30_000,
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
        return store.claim_next_run(
            self.ctx.engine,
            worker_id=self.id,
            now=self.ctx.clock(),
            lease_ms=self.lease_ms,
            portal_limit=self.portal_limit,
        )

    def _heartbeat(self, run: RunRow, control: RunControl, done: threading.Event) -> None:
        while not done.wait(self.lease_ms / 3000):
            ok = store.set_run_state(
                self.ctx.engine,
                run_id=run.id,
                worker_id=self.id,
                now=self.ctx.clock(),
                status=RunStatus.IN_PROGRESS,
                lease_ms=self.lease_ms,
            )
            if not ok:
                control.lease_lost.set()
                return

    def execute(self, run: RunRow) -> RunStatus | None:
        """Execute a claimed run; every log line inside carries its run id."""
        with log_context(run_id=run.id):
            return self._execute(run)

    def _execute(self, run: RunRow) -> RunStatus | None:
        control = RunControl()
        if self.stop.is_set():
            control.stop.set()
        with self._lock:
            self._controls[run.id] = control
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run, control, done), daemon=True)
        beat.start()
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
            beat.join()
            with self._lock:
                self._controls.pop(run.id, None)
        run_outcomes.record_outcome(self.ctx, run, worker_id=self.id, outcome=outcome)
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

    def run_forever(self) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="run") as pool:
            active: set[Future[RunStatus | None]] = set()
            while not self.stop.is_set():
                active = {f for f in active if not f.done()}
                if len(active) < self.concurrency:
                    run = self.claim()
                    if run is not None:
                        active.add(pool.submit(self.execute, run))
                        continue
                self.stop.wait(self.poll_s)
            self.shutdown()

    def shutdown(self) -> None:
        """Stop claiming; running runs checkpoint and go back to the queue."""
        self.stop.set()
        with self._lock:
            for control in self._controls.values():
                control.stop.set()
