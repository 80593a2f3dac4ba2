"""``login`` and ``profiles``: store, list and choose the profiles the operator commands use."""

from __future__ import annotations

from typing import Annotated

import typer

from headwater.cli.remote.client import FLOW, ApiClient
from headwater.cli.remote.options import JsonOpt
from headwater.cli.remote.output import console, emit_json, say, table
from headwater.cli.remote.profiles import Profile, home_dir, load_book, save_book, select

profiles_app = typer.Typer(no_args_is_help=True, help="Stored API profiles.")


def login(
    endpoint: Annotated[str, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080.")],
    org: Annotated[str, typer.Option(help="IMS org id (XXXX@AdobeOrg).")],
    client_id: Annotated[str, typer.Option("--client-id", help="API client id (x-api-key).")],
    client_secret: Annotated[
        str,
        typer.Option(
            "--client-secret",
            help="API client secret (else $HEADWATER_CLIENT_SECRET, else prompted).",
            envvar="HEADWATER_CLIENT_SECRET",
            prompt=True,
            hide_input=True,
            show_envvar=False,
        ),
    ],
    sandbox: Annotated[str, typer.Option(help="Sandbox name.")] = "prod",
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name.")] = "default",
    make_default: Annotated[
        bool, typer.Option("--default", help="Make it the default profile.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store a profile, after checking it: get a token and list one connection with it."""
    home = home_dir()
    prof = Profile(
        name=profile,
        endpoint=endpoint.rstrip("/"),
        org=org,
        sandbox=sandbox,
        client_id=client_id,
        client_secret=client_secret,
    )
    book = load_book(home)
    with ApiClient(prof, home, persist=False) as client:
        client.get(f"{FLOW}/connections", limit=1)
        book.profiles[profile] = prof
        if make_default or book.default not in book.profiles:
            book.default = profile
        path = save_book(home, book)
        client.save_token()
    if as_json:
        emit_json(prof.public() | {"default": book.default == profile, "file": str(path)})
        return
    say(
        f"logged in to {prof.endpoint} as {client_id} for {org} (sandbox {sandbox}); "
        f"profile {profile} saved in {path}"
    )


@profiles_app.command("list")
def profiles_list(as_json: JsonOpt = False) -> None:
    """List stored profiles (secrets hidden)."""
    book = load_book(home_dir())
    rows = [p.public() | {"default": p.name == book.default} for p in book.profiles.values()]
    if as_json:
        emit_json(rows)
        return
    console.print(
        table(
            ["", "NAME", "ENDPOINT", "ORG", "SANDBOX", "CLIENT"],
            [
                [
                    "*" if r["default"] else "",
                    r["name"],
                    r["endpoint"],
                    r["org"],
                    r["sandbox"],
                    r["client_id"],
                ]
                for r in rows
            ],
        )
    )


@profiles_app.command("use")
def profiles_use(name: Annotated[str, typer.Argument(help="Profile name.")]) -> None:
    """Make a profile the default."""
    home = home_dir()
    book = load_book(home)
    select(book, name)
    book.default = name
    save_book(home, book)
    say(f"default profile: {name}")
