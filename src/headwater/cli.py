"""The ``headwater`` command line (typer + rich)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from headwater import __version__
from headwater.cli_remote import register as register_remote_commands
from headwater.emulator.cli import emulator_app
from headwater.errors import GatewayError, HeadwaterError, ServiceError, SyncError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Headwater: HubSpot to Delta Lake, over Adobe's Flow Service API.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
orgs_app = typer.Typer(no_args_is_help=True, help="Organizations (XXXX@AdobeOrg).")
sandboxes_app = typer.Typer(no_args_is_help=True, help="Sandboxes of an org.")
clients_app = typer.Typer(no_args_is_help=True, help="API clients (x-api-key and secret).")
tokens_app = typer.Typer(no_args_is_help=True, help="Access tokens.")
secrets_app = typer.Typer(no_args_is_help=True, help="Encrypted connection secrets.")
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(sandboxes_app, name="sandboxes")
app.add_typer(clients_app, name="clients")
app.add_typer(tokens_app, name="tokens")
app.add_typer(secrets_app, name="secrets")
app.add_typer(emulator_app, name="emulator")
register_remote_commands(app)

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
_state: dict[str, bool] = {"debug": False}


def _ctx(*, upgrade: bool = True) -> Any:
    from headwater.runtime import build_context
    from headwater.settings import get_settings

    return build_context(get_settings(), upgrade=upgrade)


def _emit(data: dict[str, Any], *, as_json: bool, human: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(human)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


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


@app.command()
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

    _ctx().engine.dispose()
    children = []
    if engine:
        children = [_spawn("scheduler"), _spawn("worker", "--concurrency", str(concurrency))]
    console.print(
        f"[bold]Headwater[/bold] {__version__} serving the Flow Service API on "
        f"http://{host}:{port}/data/foundation/flowservice"
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


@app.command()
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
    ctx = _ctx()
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


@app.command()
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
    sched.run_forever(_ctx(), stop, every_s=every)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL; datasets are tables by name or id.")],
    org: Annotated[str | None, typer.Option(help="Org id (default: the only org).")] = None,
    sandbox: Annotated[str, typer.Option(help="Sandbox name.")] = "prod",
    as_json: JsonOpt = False,
) -> None:
    """Run DuckDB SQL over the Delta tables of an org's datasets."""
    from rich.table import Table

    from headwater.lake import query as lake_query
    from headwater.services import datasets, identity
    from headwater.services.context import Tenant

    ctx = _ctx()
    if org is None:
        orgs = identity.list_orgs(ctx)
        if len(orgs) != 1:
            raise typer.BadParameter("several orgs exist; pass --org", param_hint="--org")
        org = orgs[0].id
    tenant = Tenant(org_id=org, sandbox_name=sandbox, sandbox_id="", client_id="cli")
    assert ctx.lake is not None
    result = lake_query(ctx.lake, datasets.dataset_refs(ctx, tenant), sql)
    rows = result.to_pylist()
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    table = Table(*result.column_names)
    for row in rows[:200]:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
    if len(rows) > 200:
        console.print(f"... {len(rows) - 200} more rows (use --json for all)")


@app.command()
def quickstart(
    contacts: Annotated[
        int, typer.Option(help="Contacts in the emulated HubSpot portal.")
    ] = 20_000,
    wait: Annotated[
        bool, typer.Option("--wait/--exit", help="Keep the service running until Ctrl-C.")
    ] = True,
) -> None:
    """Run the whole product on embedded defaults: emulator, API, engine, a flow into the lake."""
    from headwater.quickstart import QuickstartError, run_quickstart
    from headwater.settings import get_settings

    home = get_settings().home
    console.print(f"[bold]Headwater quickstart[/bold] in {home}")
    try:
        code = run_quickstart(home, contacts=contacts, wait=wait, console=console)
    except QuickstartError as exc:
        err_console.print(f"error: {exc}")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from headwater.store import migrate

    ctx = _ctx(upgrade=False)
    migrate.upgrade(ctx.engine)
    console.print(f"database at revision {migrate.current_revision(ctx.engine)}")


@orgs_app.command("create")
def orgs_create(
    org_id: Annotated[str, typer.Argument(help="Org id, e.g. 1234ABCD@AdobeOrg")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an org (with its prod sandbox)."""
    from headwater.services import identity

    org = identity.create_org(_ctx(), org_id=org_id, name=name)
    _emit(
        {"orgId": org.id, "name": org.name, "sandboxes": ["prod"]},
        as_json=as_json,
        human=f"created org {org.id} with sandbox prod",
    )


@orgs_app.command("list")
def orgs_list(as_json: JsonOpt = False) -> None:
    """List orgs."""
    from headwater.services import identity

    orgs = identity.list_orgs(_ctx())
    if as_json:
        sys.stdout.write(json.dumps([{"orgId": o.id, "name": o.name} for o in orgs]) + "\n")
        return
    for o in orgs:
        console.print(o.id)


@sandboxes_app.command("create")
def sandboxes_create(
    name: Annotated[str, typer.Argument(help="Sandbox name (lower case).")],
    org: Annotated[str, typer.Option("--org", help="Org id.")],
    as_json: JsonOpt = False,
) -> None:
    """Create a sandbox in an org."""
    from headwater.services import identity

    sb = identity.create_sandbox(_ctx(), org_id=org, name=name)
    _emit(
        {"orgId": sb.org_id, "name": sb.name, "id": sb.id},
        as_json=as_json,
        human=f"created sandbox {sb.name} in {sb.org_id}",
    )


@sandboxes_app.command("list")
def sandboxes_list(
    org: Annotated[str, typer.Option("--org", help="Org id.")], as_json: JsonOpt = False
) -> None:
    """List the sandboxes of an org."""
    from headwater.services import identity

    sbs = identity.list_sandboxes(_ctx(), org_id=org)
    if as_json:
        sys.stdout.write(json.dumps([{"name": s.name, "id": s.id} for s in sbs]) + "\n")
        return
    for s in sbs:
        console.print(s.name)


@clients_app.command("create")
def clients_create(
    org: Annotated[str, typer.Option("--org", help="Org id.")],
    name: Annotated[str, typer.Option("--name", help="Client name.")],
    as_json: JsonOpt = False,
) -> None:
    """Create an API client; its secret is printed once and stored only as a hash."""
    from headwater.services import identity

    client, secret = identity.create_client(_ctx(), org_id=org, name=name)
    _emit(
        {"clientId": client.client_id, "clientSecret": secret, "orgId": client.org_id},
        as_json=as_json,
        human=(
            f"client id (x-api-key): {client.client_id}\n"
            f"client secret:         {secret}\n"
            "[yellow]The secret is shown only now; store it safely.[/yellow]"
        ),
    )


@app.command()
def token(
    client_id: Annotated[str, typer.Option("--client-id", help="API client id.")],
    client_secret: Annotated[str, typer.Option("--client-secret", help="API client secret.")],
    endpoint: Annotated[
        str | None,
        typer.Option(help="Ask a running server (POST {endpoint}/ims/token/v3) instead."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a bearer token for an API client (client-credentials grant)."""
    if endpoint:
        import httpx

        r = httpx.post(
            endpoint.rstrip("/") + "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
            timeout=30,
        )
        body = r.json()
        if r.status_code != 200:
            err_console.print(
                f"error: {body.get('error_description', r.text)} ({body.get('error')})"
            )
            raise typer.Exit(1)
        access, expires = body["access_token"], int(body["expires_in"])
    else:
        from headwater.services import identity

        issued = identity.issue_token(
            _ctx(),
            grant_type="client_credentials",
            client_id=client_id,
            client_secret=client_secret,
            scope=None,
        )
        access, expires = issued.access_token, issued.expires_in_seconds
    if as_json:
        payload = {"access_token": access, "token_type": "bearer", "expires_in": expires}
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        sys.stdout.write(access + "\n")


@tokens_app.command("revoke")
def tokens_revoke(token_value: Annotated[str, typer.Argument(help="The token.")]) -> None:
    """Revoke an access token."""
    from headwater.services.identity import Gateway

    done = Gateway(_ctx()).revoke_token(token_value)
    console.print("revoked" if done else "no such active token")


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt stored secrets with the first key of HEADWATER_SECRET_KEY ("new,old")."""
    from headwater.services.connections import rotate_secrets

    n = rotate_secrets(_ctx())
    console.print(f"re-encrypted {n} connection(s)")


def main() -> None:
    """Entry point: usage errors as click shows them (exit 2); Headwater errors as one line with
    the Adobe error code (exit 1); ``--debug`` shows the trace."""
    try:
        app()  # standalone mode: click renders usage errors and exits itself
    except HeadwaterError as exc:
        if _state["debug"]:
            raise
        code = ""
        if isinstance(exc, ServiceError):
            code = f" [{getattr(exc, 'instance_code', None) or exc.code}-{exc.http_status}]"
        elif isinstance(exc, GatewayError) and exc.error_code:
            code = f" [{exc.error_code}]"
        elif isinstance(exc, SyncError):
            code = f" [{exc.run_code}]"
        err_console.print(
            f"error: {exc.message or type(exc).__name__}{code}", markup=False, soft_wrap=True
        )
        sys.exit(1)
