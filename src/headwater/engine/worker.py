"""Workers: claim due runs with a lease, heartbeat while running, record the outcome, and give the
run back at its last checkpoint on SIGTERM."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from headwater.engine.executor import OpenConnector, RunControl, run_one
from headwater.errors import SourceAuthError
from headwater.logs import log_context
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
            ok = store.heartbeat(
                self.ctx.engine,
                run_id=run.id,
                worker_id=self.id,
                now=self.ctx.clock(),
                lease_ms=self.lease_ms,
            )
            if not ok:
                control.lease_lost.set()
                return

    def execute(self, run: RunRow) -> str:
        """Execute a claimed run; every log line inside carries its run id."""
        with log_context(run_id=run.id):
            return self._execute(run)

    def _execute(self, run: RunRow) -> str:
        control = RunControl()
        if self.stop.is_set():
            control.stop.set()
        with self._lock:
            self._controls[run.id] = control
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run, control, done), daemon=True)
        beat.start()
        if run.attempt == 1:
            self.ctx.emit("flow.run.started", self._event(run, "inProgress", run.doc))
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
        now = self.ctx.clock()
        if outcome.status == "released":
            store.release_run(
                self.ctx.engine,
                run_id=run.id,
                worker_id=self.id,
                now=now,
                retry_at=now + int(outcome.retry_in_s * 1000),
                doc=outcome.doc,
            )
        elif outcome.status != "lost":
            store.finish_run(
                self.ctx.engine,
                run_id=run.id,
                worker_id=self.id,
                now=now,
                status=outcome.status,
                doc=outcome.doc,
            )
            self._update_flow(run, outcome.status, now)
            kind = {
                "success": "flow.run.succeeded",
                "partialSuccess": "flow.run.partially_succeeded",
            }.get(outcome.status, "flow.run.failed")
            self.ctx.emit(kind, self._event(run, outcome.status, outcome.doc))
            auth_errors = [
                e
                for e in outcome.doc.get("metrics", {}).get("statusSummary", {}).get("errors", [])
                if e.get("code") == SourceAuthError.run_code
            ]
            if outcome.status == "failed" and auth_errors and run.portal_key:
                # the run's portal key is its base connection: tell whoever watches credentials
                self.ctx.emit(
                    "connection.credentials.failed",
                    {
                        "imsOrgId": run.org_id,
                        "sandboxName": run.sandbox_name,
                        "connectionId": run.portal_key,
                        "flowId": run.flow_id,
                        "flowRunId": run.id,
                        "status": "failed",
                        "errors": auth_errors,
                    },
                )
        log.info("run %s ended: %s", run.id, outcome.status)
        return outcome.status

    def _event(self, run: RunRow, status: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A payload shaped like Adobe's flow-run events."""
        metrics = doc.get("metrics", {})
        return {
            "imsOrgId": run.org_id,
            "sandboxName": run.sandbox_name,
            "flowId": run.flow_id,
            "flowRunId": run.id,
            "status": status,
            "attempt": run.attempt,
            "metrics": metrics,
            "errors": metrics.get("statusSummary", {}).get("errors", []),
        }

    def _update_flow(self, run: RunRow, status: str, now: int) -> None:
        from headwater.store import resources as resource_store

        with self.ctx.engine.begin() as conn:
            res = resource_store.read_resource(
                conn,
                kind="flows",
                res_id=run.flow_id,
                org_id=run.org_id,
                sandbox_name=run.sandbox_name,
            )
            if res is None:
                return
            res.doc["lastRunDetails"] = {
                "id": run.id,
                "state": status,
                "startedAtUTC": run.started_at,
                "completedAtUTC": now,
            }
            old = res.etag
            from headwater.domain.ids import new_etag

            res.etag = new_etag()
            resource_store.update_resource(conn, res=res, expected_etag=old)

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
            active: set[object] = set()
            while not self.stop.is_set():
                active = {f for f in active if not f.done()}  # type: ignore[attr-defined]
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
