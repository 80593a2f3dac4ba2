"""``serve``, ``worker`` and ``scheduler``: the long-running processes of a node.

``serve`` runs the API and, by default, a scheduler and a worker as child processes that get
SIGTERM when it dies, however it dies (Linux ``prctl(PR_SET_PDEATHSIG)``)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from headwater import __version__
from headwater.cli.local import local_context
from headwater.cli.remote.output import console
from headwater.domain.paths import FLOW_SERVICE_PATH


def _signals(on_stop: Any) -> None:
    import signal

    signal.signal(signal.SIGTERM, lambda *_: on_stop())
    signal.signal(signal.SIGINT, lambda *_: on_stop())


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, however it dies (Linux prctl)."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(*args: str) -> Any:
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "headwater", *args],
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes for the API.")] = 1,
    engine: Annotated[
        bool, typer.Option("--engine/--no-engine", help="Also run the scheduler and a worker.")
    ] = True,
    concurrency: Annotated[int, typer.Option(help="Runs the worker executes at once.")] = 2,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the Flow Service API, and (by default) the scheduler and a worker beside it."""
    import uvicorn

    local_context().engine.dispose()
    children = []
    if engine:
        children = [_spawn("scheduler"), _spawn("worker", "--concurrency", str(concurrency))]
    console.print(
        f"[bold]Headwater[/bold] {__version__} serving the Flow Service API on "
        f"http://{host}:{port}{FLOW_SERVICE_PATH}"
        + (" with a scheduler and a worker" if engine else "")
    )
    try:
        uvicorn.run(
            "headwater.api.asgi:create_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            http="httptools",
            loop="uvloop",
            access_log=False,
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except Exception:  # noqa: BLE001 - last resort on shutdown
                child.kill()


def worker(
    concurrency: Annotated[int, typer.Option(help="Runs executed at once.")] = 2,
    portal_limit: Annotated[
        int, typer.Option(help="Running runs per HubSpot portal, across all workers.")
    ] = 2,
    lease_seconds: Annotated[int, typer.Option(help="Lease length; renewed every third.")] = 30,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when no run is due.")
    ] = False,
) -> None:
    """Claim and execute runs (SIGTERM checkpoints running runs and gives them back)."""
    import logging

    from headwater.engine.counting import count_hubspot_requests
    from headwater.engine.deliverer import Deliverer, deliver_pending
    from headwater.engine.worker import Worker
    from headwater.services.sources import open_connector

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ctx = local_context()
    w = Worker(
        ctx,
        open_connector=count_hubspot_requests(open_connector),
        concurrency=concurrency,
        portal_limit=portal_limit,
        lease_ms=lease_seconds * 1000,
    )
    _signals(w.shutdown)
    if until_idle:
        n = w.run_until_idle()
        deliver_pending(ctx)  # one delivery round for the events of these runs
        console.print(f"executed {n} run(s)")
        return
    deliverer = Deliverer(ctx).start()  # webhook notifications, from this worker process
    try:
        w.run_forever()
    finally:
        deliverer.stop()


def scheduler(
    every: Annotated[float, typer.Option(help="Seconds between schedule checks.")] = 1.0,
) -> None:
    """Queue due runs from every enabled flow's schedule (safe to run more than one)."""
    import logging
    import threading

    from headwater.engine import scheduler as sched

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    _signals(stop.set)
    sched.run_forever(local_context(), stop, every_s=every)
