"""The ``headwater`` command line."""

from __future__ import annotations

import typer

from headwater import __version__

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Headwater: HubSpot to Delta Lake, over Adobe's Flow Service API.",
)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
