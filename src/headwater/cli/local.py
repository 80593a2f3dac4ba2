"""What the local commands share: the service context of this machine's home (its database, key
and lake, from the settings of ``HEADWATER_HOME``), and their ``--json`` option."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.remote.output import console

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def local_context(*, upgrade: bool = True) -> ServiceContext:
    """The service context of this home, migrated to head unless ``upgrade`` is False.

    Imported when a command runs, so that ``headwater --help`` and the operator commands start
    without the service layer."""
    from headwater.runtime import build_context
    from headwater.settings import get_settings

    return build_context(get_settings(), upgrade=upgrade)


def emit(data: Any, *, as_json: bool, human: str) -> None:
    """``data`` as one JSON line with ``--json``, else the human sentence."""
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(human)
