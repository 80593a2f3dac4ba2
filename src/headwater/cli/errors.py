"""How every ``headwater`` command reports an error: one ``error: <message> [CODE]`` line on
stderr, never wrapped, and a non-zero exit status (2 for a usage error, else 1).

``CODE`` is the code a client of the API would see for the same failure: the Flow Service code
(``FLOW-1101-404``), the gateway's (``401013``) or IMS's (``invalid_client``), or a run's
(``CONNECTOR-2401-401``). ``headwater --debug`` lets the error raise with its traceback instead.

This module is a leaf of the ``headwater.cli`` package: any command module may use it, it uses
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from headwater.errors import (
    CommandError,
    GatewayError,
    HeadwaterError,
    ImsError,
    RemoteError,
    ServiceError,
    SyncError,
)


@dataclass(slots=True)
class CliState:
    """What the root options set for every command; the root callback stores it as ``ctx.obj``."""

    debug: bool = False


def error_code(exc: HeadwaterError) -> str:
    """The Adobe code of an error, or ``""`` when it has none (settings, usage)."""
    if isinstance(exc, RemoteError):
        return exc.code
    if isinstance(exc, ServiceError):
        code = getattr(exc, "instance_code", None) or exc.code
        return f"FLOW-{code}-{exc.http_status}"
    if isinstance(exc, ImsError):
        return exc.error
    if isinstance(exc, GatewayError):
        return exc.error_code
    if isinstance(exc, SyncError):
        return exc.run_code
    return ""


def describe(exc: HeadwaterError) -> str:
    """``<message> [CODE]``: the one-line form of an error."""
    # one line even when the message has several (DuckDB's errors add a hint on a line of its own)
    message = " ".join((exc.message or type(exc).__name__).split())
    code = error_code(exc)
    return f"{message} [{code}]" if code else message


def exit_status(exc: HeadwaterError) -> int:
    return exc.exit_status if isinstance(exc, CommandError) else 1


class OneLineErrors(TyperGroup):
    """The root command group: a :class:`HeadwaterError` raised by any command below it becomes
    one ``error:`` line and an exit status, unless ``--debug`` was given."""

    # ``ctx`` is typer's (vendored) click context; typer exports no name for its base class.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except HeadwaterError as exc:
            state = ctx.find_object(CliState)
            if state is not None and state.debug:
                raise
            # Plain text (codes such as [invalid_client] look like rich markup), one line.
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(exit_status(exc)) from exc
