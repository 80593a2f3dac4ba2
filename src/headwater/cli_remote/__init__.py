"""The operator CLI over the public API (``login``, ``connections``, ``flows``, ``runs``,
``datasets``) and the local ``doctor``; see ``docs/cli.md``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from headwater.cli_remote.client import UsageError
from headwater.cli_remote.commands import (
    connections_app,
    datasets_app,
    flows_app,
    login,
    profiles_app,
    runs_app,
)
from headwater.cli_remote.doctor import doctor
from headwater.cli_remote.output import err_console
from headwater.errors import HeadwaterError


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a :class:`HeadwaterError` as one ``error: <message> [CODE]`` line (plain text, since
    codes such as ``[invalid_client]`` look like rich markup, and never wrapped) and exit 1 (2 for
    a usage error); with ``headwater --debug`` let it raise with its trace."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HeadwaterError as exc:
            if _debugging():
                raise
            err_console.print(
                f"error: {exc.message or type(exc).__name__}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from exc

    return run


def _debugging() -> bool:
    """Whether ``headwater --debug`` was given (the root callback records it)."""
    from headwater import cli

    return bool(cli._state["debug"])


def register(app: typer.Typer) -> None:
    """Add the operator commands to the ``headwater`` app."""
    app.command()(one_line_errors(login))
    app.command()(one_line_errors(doctor))
    for name, sub in (
        ("profiles", profiles_app),
        ("connections", connections_app),
        ("flows", flows_app),
        ("runs", runs_app),
        ("datasets", datasets_app),
    ):
        for info in sub.registered_commands:
            if info.callback is not None:
                info.callback = one_line_errors(info.callback)
        app.add_typer(sub, name=name)
