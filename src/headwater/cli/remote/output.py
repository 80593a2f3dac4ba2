"""Rendering: one JSON document on stdout for scripts, rich tables for people."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")


def dig(doc: Any, *path: str | int, default: Any = None) -> Any:
    """``doc[path[0]][path[1]]...``, or ``default`` when any step is missing."""
    cur = doc
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return default
        elif not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    return default if cur is None else cur


def when(ms: Any) -> str:
    """An epoch-milliseconds timestamp as ``2026-11-23 01:14:56Z``."""
    if isinstance(ms, str) and ms.isdigit():
        ms = int(ms)
    if not isinstance(ms, int | float) or isinstance(ms, bool) or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(ms: Any) -> str:
    if not isinstance(ms, int | float) or ms < 0:
        return ""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def cell(value: Any) -> Text:
    """Data as plain text (never parsed as rich markup); a :class:`Text` passes through."""
    if isinstance(value, Text):
        return value
    if value is None:
        return Text("")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, default=str))
    return Text(str(value))


#: Columns of ids: never wrapped or cut, since people copy them into the next command.
ID_COLUMNS = frozenset({"ID", "RUN", "BATCH"})


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> Table:
    cells = [[cell(v) for v in row] for row in rows]
    specs = []
    for i, name in enumerate(columns):
        if name in ID_COLUMNS:
            width = max([len(name), *(r[i].cell_len for r in cells)])
            specs.append(Column(name, no_wrap=True, min_width=width))
        else:
            specs.append(Column(name))
    out = Table(*specs, title=title, title_justify="left")
    for row in cells:
        out.add_row(*row)
    return out


def details(pairs: Iterable[tuple[str, Any]], *, title: str | None = None) -> Table:
    """A two-column key/value table; empty values are left out."""
    out = Table(show_header=False, title=title, title_justify="left", box=None, padding=(0, 2))
    out.add_column(style="bold")
    out.add_column(overflow="fold")
    for key, value in pairs:
        text = cell(value)
        if text.plain:
            out.add_row(key, text)
    return out


def state_text(state: Any) -> Text:
    styles = {
        "success": "green",
        "enabled": "green",
        "failed": "red",
        "cancelled": "red",
        "partialSuccess": "yellow",
        "inProgress": "cyan",
        "scheduled": "blue",
        "disabled": "dim",
    }
    name = "" if state is None else str(state)
    return Text(name, style=styles.get(name, ""))


def say(*parts: Any) -> None:
    """A message line, never hard-wrapped (scripts read it whole); strings are plain text,
    :class:`Text` parts carry their own style."""
    console.print(*(Text(p) if isinstance(p, str) else p for p in parts), sep="", soft_wrap=True)


def print_rows(rows: list[dict[str, Any]], *, title: str, max_columns: int = 8) -> None:
    """Rows as a table when they are narrow, else one key/value block per row."""
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    if len(names) <= max_columns:
        console.print(table(names, [[row.get(k) for k in names] for row in rows], title=title))
        return
    console.print(title, style="italic", soft_wrap=True)
    for i, row in enumerate(rows, 1):
        console.print(details([(k, row.get(k)) for k in names], title=f"row {i}"))


def executable() -> str:
    """How to type ``headwater`` here: the bare name when it is on ``PATH``, else the path of the
    console script beside this interpreter (relative when under the working directory, as
    ``.venv/bin/headwater`` after ``make quickstart``), else ``python -m headwater``."""
    script = Path(sys.executable).with_name("headwater")
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m headwater"
    found = shutil.which("headwater")
    if found and Path(found).resolve() == script.resolve():
        return "headwater"
    try:
        return shlex.quote(str(script.absolute().relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(script.absolute()))


def shell_command(args: Sequence[str], *, home: Path | None = None) -> str:
    """A ``headwater`` command line that works when pasted into a shell here: quoted, and with
    ``HEADWATER_HOME=...`` in front when ``home`` is given and is not the default home."""
    from headwater.settings import default_home

    prefix = ""
    if home is not None and home.expanduser().absolute() != default_home().absolute():
        prefix = f"HEADWATER_HOME={shlex.quote(str(home))} "
    return prefix + " ".join([executable(), *(shlex.quote(a) for a in args)])
