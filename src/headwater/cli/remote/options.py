"""The options every operator command shares, and the API client a command talks through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from headwater.cli.remote.client import ApiClient
from headwater.cli.remote.profiles import home_dir, load_book, select

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile to use (default: $HEADWATER_PROFILE, then the default profile).",
        show_default=False,
    ),
]
PropertyOpt = Annotated[
    list[str] | None,
    typer.Option("--property", help="Flow Service filter, e.g. name==x (repeat to AND)."),
]
IdArg = Annotated[str, typer.Argument(help="Resource id.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="At most this many.")]


@contextmanager
def api(profile: str | None) -> Iterator[ApiClient]:
    """A client of the API as the selected profile of this home."""
    home = home_dir()
    with ApiClient(select(load_book(home), profile), home) as client:
        yield client
