"""``serve``, ``worker`` and ``scheduler``: the long-running processes of a node.

``serve`` runs the API and, by default, one child process: ``headwater worker --scheduler``, a
worker that also runs the scheduler loop on a thread (one interpreter fewer than a scheduler
process of its own). ``worker`` and ``scheduler`` also run on their own, for deployments that
place them apart. All of them stop the same way on SIGTERM or SIGINT
(``headwater.engine.stopping``): ``serve`` forwards the signal to its child and waits for it,
and the child stops by itself when ``serve`` is gone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from headwater import __version__
from headwater.cli.local import local_context
from headwater.cli.remote.output import console
from headwater.domain.paths import FLOW_SERVICE_PATH

if TYPE_CHECKING:
    import uvicorn

    from headwater.engine.stopping import Stopping


def _stopping(name: str) -> Stopping:
    """The process's stop handling, installed first thing (see ``engine.stopping``)."""
    from headwater.engine.stopping import Stopping
    from headwater.settings import get_settings

    return Stopping.from_environment(get_settings().shutdown_grace_seconds, name=name).install()


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes for the API.")] = 1,
    engine: Annotated[
        bool, typer.Option("--engine/--no-engine", help="Also run a worker and the scheduler.")
    ] = True,
    concurrency: Annotated[int, typer.Option(help="Runs the worker executes at once.")] = 2,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the Flow Service API, and (by default) a worker process that also runs the scheduler.

    SIGTERM or SIGINT stops both within ``HEADWATER_SHUTDOWN_GRACE_SECONDS``: the signal goes to
    the worker, running runs are given back, and the API finishes its requests."""
    import uvicorn

    from headwater.engine.stopping import Children, finish

    stopping = _stopping("serve")
    local_context().engine.dispose()
    children = Children()
    stopping.on_stop(children.forward)
    stopping.on_force(children.forward)  # a second signal: the children force their stop too
    if engine:
        # one child: the scheduler is a thread of the worker, not a third interpreter (the API
        # stays free of the engine, and ``--workers N`` does not multiply the scheduler)
        children.spawn("worker", "--concurrency", str(concurrency), "--scheduler")
    console.print(
        f"[bold]Headwater[/bold] {__version__} serving the Flow Service API on "
        f"http://{host}:{port}{FLOW_SERVICE_PATH}"
        + (" with a worker and the scheduler" if engine else "")
    )
    config = uvicorn.Config(
        "headwater.api.asgi:create_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        http="httptools",
        loop="uvloop",
        access_log=False,
        timeout_graceful_shutdown=max(1, int(stopping.grace_s) - 1),
    )
    code = 1
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            supervisor = Multiprocess(config, sockets=[config.bind_socket()])
            stopping.install()  # the supervisor took the signals: they are the stop's again
            stopping.on_stop(supervisor.should_exit.set)
            supervisor.run()
        else:
            server = _server(config)
            stopping.on_stop(lambda: setattr(server, "should_exit", True))
            stopping.on_force(lambda: setattr(server, "force_exit", True))
            server.run()
        code = 0 if stopping.requested.is_set() else 1
    finally:
        stopping.request("the API server ended")
        stopping.wait_until(stopping.requested.is_set)
        # each child forces its own stop when the same grace ends; a little more, then kill
        code = children.wait(stopping.remaining() + 5.0) or code
    finish(code)


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, leaving the signals to the process's stop handling."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


def worker(
    concurrency: Annotated[int, typer.Option(help="Runs executed at once.")] = 2,
    portal_limit: Annotated[
        int,
        typer.Option(help="Running runs per source account (base connection), across all workers."),
    ] = 2,
    lease_seconds: Annotated[
        int | None,
        typer.Option(
            help="Lease length, renewed every third of it "
            "(default HEADWATER_WORKER_LEASE_SECONDS, else 30)."
        ),
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when no run is due.")
    ] = False,
    with_scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Also queue due runs from the flows' schedules, on a thread of this process "
            "(as serve runs its worker; safe beside other schedulers).",
        ),
    ] = False,
    every: Annotated[
        float, typer.Option(help="Seconds between schedule checks, with --scheduler.")
    ] = 1.0,
) -> None:
    """Claim and execute runs. SIGTERM or SIGINT stops claiming, gives the running runs back at
    their checkpoints and exits within HEADWATER_SHUTDOWN_GRACE_SECONDS."""
    import threading

    from headwater.engine import scheduler as sched
    from headwater.engine.counting import count_requests
    from headwater.engine.deliverer import Deliverer, deliver_pending
    from headwater.engine.stopping import finish, run_worker
    from headwater.engine.worker import Worker
    from headwater.services.sources import open_connector
    from headwater.settings import get_settings

    _log_as_configured()  # before anything logs: the database layer's imports already do
    stopping = _stopping("worker")
    ctx = local_context()
    lease = lease_seconds or get_settings().worker_lease_seconds
    w = Worker(
        ctx,
        open_connector=count_requests(open_connector),
        concurrency=concurrency,
        portal_limit=portal_limit,
        lease_ms=lease * 1000,
    )
    if until_idle:
        stopping.on_stop(w.shutdown)
        if with_scheduler:
            sched.tick(ctx)  # the windows due now, then drain them
        n = w.run_until_idle()
        deliver_pending(ctx)  # one delivery round for the events of these runs
        console.print(f"executed {n} run(s)")
        return
    deliverer = Deliverer(ctx).start()  # webhook notifications, from this worker process

    def tick_forever(stop: threading.Event) -> None:
        sched.run_forever(ctx, stop, every_s=every)

    finish(run_worker(w, deliverer, stopping, scheduler=tick_forever if with_scheduler else None))


def scheduler(
    every: Annotated[float, typer.Option(help="Seconds between schedule checks.")] = 1.0,
) -> None:
    """Queue due runs from every enabled flow's schedule (safe to run more than one)."""
    import threading

    from headwater.engine import scheduler as sched
    from headwater.engine.stopping import finish, run_scheduler

    _log_as_configured()
    stopping = _stopping("scheduler")
    ctx = local_context()

    def tick_forever(stop: threading.Event) -> None:
        sched.run_forever(ctx, stop, every_s=every)

    finish(run_scheduler(tick_forever, stopping))


def _log_as_configured() -> None:
    """Install the log handler of this home's settings (JSON lines off a terminal by default)."""
    from headwater.logs import configure_logging
    from headwater.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
