"""The ``headwater`` command line (typer + rich): this module composes the sub-apps into one app.

::

    headwater.cli           the root app, ``--debug`` and ``main`` (this module)
    ├── admin               local: db, orgs, sandboxes, clients, token(s), secrets, query
    ├── processes           local: serve, worker, scheduler
    ├── quickstart          the whole product on embedded defaults, driven over the API
    ├── local               the local commands' service context
    ├── remote/             over the public API: login, profiles, connections, flows, runs,
    │                       datasets; and the local doctor
    └── errors              the one error renderer: ``error: <message> [CODE]``

Arrows point down only: the modules below never import this one, ``remote`` imports nothing
above it and ``errors`` nothing of the package (``tests/cli/test_layers.py``). Commands import
the service layer (and the emulator) when they run, so ``headwater --help`` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headwater import __version__
from headwater.cli import admin, processes, quickstart
from headwater.cli.errors import CliState, OneLineErrors
from headwater.cli.remote import connections, datasets, doctor, flows, login, runs
from headwater.emulator.cli import emulator_app

app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    help="Headwater: HubSpot to Delta Lake, over Adobe's Flow Service API.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    ctx.obj = CliState(debug=debug)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# Service processes and the local admin commands (this machine's database, key and lake).
app.command()(processes.serve)
app.command()(processes.worker)
app.command()(processes.scheduler)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.orgs_app, name="orgs")
app.add_typer(admin.sandboxes_app, name="sandboxes")
app.add_typer(admin.clients_app, name="clients")
app.command()(admin.token)
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(admin.secrets_app, name="secrets")
app.command()(admin.query)
app.command()(doctor.doctor)

# Over the public API.
app.command()(login.login)
app.add_typer(login.profiles_app, name="profiles")
app.add_typer(connections.connections_app, name="connections")
app.add_typer(flows.flows_app, name="flows")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(datasets.datasets_app, name="datasets")

# Demo.
app.command()(quickstart.quickstart)
app.add_typer(emulator_app, name="emulator")


def main() -> None:
    """The ``headwater`` console script."""
    app(prog_name="headwater")
