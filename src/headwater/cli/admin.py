"""The local admin commands: ``db``, ``orgs``, ``sandboxes``, ``clients``, ``token``, ``tokens``,
``secrets`` and ``query``. They open the database, the key and the lake of this machine's home
(see :mod:`headwater.cli.local`), not a server."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from headwater.cli.local import JsonOpt, emit, local_context
from headwater.cli.remote.output import console

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
orgs_app = typer.Typer(no_args_is_help=True, help="Organizations (XXXX@AdobeOrg).")
sandboxes_app = typer.Typer(no_args_is_help=True, help="Sandboxes of an org.")
clients_app = typer.Typer(no_args_is_help=True, help="API clients (x-api-key and secret).")
tokens_app = typer.Typer(no_args_is_help=True, help="Access tokens.")
secrets_app = typer.Typer(no_args_is_help=True, help="Encrypted connection secrets.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from headwater.runtime import upgrade_database

    ctx = local_context(upgrade=False)
    console.print(f"database at revision {upgrade_database(ctx)}")


@orgs_app.command("create")
def orgs_create(
    org_id: Annotated[str, typer.Argument(help="Org id, e.g. 1234ABCD@AdobeOrg")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an org (with its prod sandbox)."""
    from headwater.services import identity

    org = identity.create_org(local_context(), org_id=org_id, name=name)
    emit(
        {"orgId": org.id, "name": org.name, "sandboxes": ["prod"]},
        as_json=as_json,
        human=f"created org {org.id} with sandbox prod",
    )


@orgs_app.command("list")
def orgs_list(as_json: JsonOpt = False) -> None:
    """List orgs."""
    from headwater.services import identity

    orgs = identity.list_orgs(local_context())
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

    sb = identity.create_sandbox(local_context(), org_id=org, name=name)
    emit(
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

    sbs = identity.list_sandboxes(local_context(), org_id=org)
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

    client, secret = identity.create_client(local_context(), org_id=org, name=name)
    emit(
        {"clientId": client.client_id, "clientSecret": secret, "orgId": client.org_id},
        as_json=as_json,
        human=(
            f"client id (x-api-key): {client.client_id}\n"
            f"client secret:         {secret}\n"
            "[yellow]The secret is shown only now; store it safely.[/yellow]"
        ),
    )


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

        from headwater.cli.remote.client import raise_for, send
        from headwater.domain.paths import IMS_TOKEN_PATH

        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        with httpx.Client(base_url=endpoint.rstrip("/"), timeout=30) as http:
            answer = send(http, "POST", IMS_TOKEN_PATH, data=form)
        raise_for(answer)
        body = answer.json()
        access, expires = str(body["access_token"]), int(body["expires_in"])
    else:
        from headwater.services import identity

        issued = identity.issue_token(
            local_context(),
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

    done = Gateway(local_context()).revoke_token(token_value)
    console.print("revoked" if done else "no such active token")


@secrets_app.command("rotate")
def secrets_rotate(
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key",
            help="First put a new random key at the front of the key file (running processes "
            "pick it up within a second). Without it, the first key already configured is used.",
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    pause: Annotated[float, typer.Option(min=0, help="Seconds between batches.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Re-encrypt every stored secret (connections, webhooks) with the first key, in batches,
    while serve and the workers keep running."""
    from headwater.services import secret_keys
    from headwater.settings import get_settings

    settings = get_settings()
    if new_key:
        if settings.secret_key is not None:
            raise typer.BadParameter(
                "HEADWATER_SECRET_KEY is set: put the new key first there (new,old) and restart "
                "the processes, then run this without --new-key",
                param_hint="--new-key",
            )
        key_id = secret_keys.add_key(settings.secret_key_file)
        if not as_json:
            console.print(f"new key {key_id} is first in {settings.secret_key_file}")
    done = secret_keys.rotate(local_context(), batch_size=batch_size, pause_s=pause)
    emit(
        {
            "rewritten": done.rewritten,
            "remaining": done.remaining,
            "passes": done.passes,
            "keyId": done.key_id,
        },
        as_json=as_json,
        human=f"re-encrypted {done.rewritten} secret(s) with key {done.key_id}"
        + (
            f"; {done.remaining} still under an older key: run it again"
            if done.remaining
            else "; no secret needs an older key now (headwater secrets drop-old-keys)"
        ),
    )
    if done.remaining:
        raise typer.Exit(1)


@secrets_app.command("drop-old-keys")
def secrets_drop_old_keys() -> None:
    """Keep only the first key in the key file, once no stored secret needs another one."""
    from headwater.services import secret_keys
    from headwater.settings import get_settings

    settings = get_settings()
    if settings.secret_key is not None:
        raise typer.BadParameter(
            "HEADWATER_SECRET_KEY is set: keep only its first key there and restart the processes"
        )
    ctx = local_context()
    dropped = secret_keys.drop_old_keys(ctx, settings.secret_key_file)
    console.print(f"kept key {ctx.box.primary_key_id}; dropped {dropped} older key(s)")


def query(
    sql: Annotated[str, typer.Argument(help="SQL; datasets are tables by name or id.")],
    org: Annotated[str | None, typer.Option(help="Org id (default: the only org).")] = None,
    sandbox: Annotated[str, typer.Option(help="Sandbox name.")] = "prod",
    as_json: JsonOpt = False,
) -> None:
    """Run DuckDB SQL over the Delta tables of an org's datasets."""
    from rich.table import Table

    from headwater.services import datasets, identity
    from headwater.services.context import Tenant

    ctx = local_context()
    if org is None:
        orgs = identity.list_orgs(ctx)
        if len(orgs) != 1:
            raise typer.BadParameter("several orgs exist; pass --org", param_hint="--org")
        org = orgs[0].id
    tenant = Tenant(org_id=org, sandbox_name=sandbox, sandbox_id="", client_id="cli")
    result = datasets.query_datasets(ctx, tenant, sql)
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
