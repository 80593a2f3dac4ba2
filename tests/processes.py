"""The processes the test suite starts: started in their own process group and marked with this
session's id (``HWTEST_SESSION`` in their environment, inherited by their children), ended by
process group, and found again at the end of the session (``tests/conftest.py`` fails the suite
when one is still alive)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

HEADWATER = str(Path(sys.executable).with_name("headwater"))
SESSION_ENV = "HWTEST_SESSION"
#: This session's mark; set in os.environ so every process the suite starts inherits it.
SESSION = os.environ[SESSION_ENV] = uuid.uuid4().hex[:12]


def clean_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """This environment without ``HEADWATER_*`` (plus ``HEADWATER_HOME`` and ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    if home is not None:
        env["HEADWATER_HOME"] = str(home)
    env.update(extra)
    env[SESSION_ENV] = SESSION
    return env


def start(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.STDOUT,
    text: bool = False,
) -> subprocess.Popen[Any]:
    """Start ``args`` (``headwater`` when the first is not a path) in a new process group."""
    argv = [HEADWATER, *args] if not args or os.path.sep not in args[0] else list(args)
    full = dict(env if env is not None else os.environ)
    full[SESSION_ENV] = SESSION
    return subprocess.Popen(
        argv,
        env=full,
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=True,
    )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(proc: subprocess.Popen[Any], *, timeout: float = 30.0) -> int | None:
    """SIGTERM the process group of ``proc``, wait for all of it to end, SIGKILL what is left
    after ``timeout`` seconds; ``proc``'s exit status."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()
        if not group_alive(proc.pid):
            break
        time.sleep(0.05)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return code


def session_processes(session: str = SESSION) -> dict[int, str]:
    """``pid -> command line`` of the live ``headwater`` processes marked with ``session``."""
    found: dict[int, str] = {}
    mark = f"{SESSION_ENV}={session}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state == "Z" or mark not in environ.split(b"\0") or "headwater" not in cmdline:
            continue
        found[int(entry.name)] = cmdline.strip()
    return found


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (children, grandchildren, …)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if stat[0] != "Z":
                parents[int(entry.name)] = int(stat[1])
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        out += kids
        todo += kids
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to end; those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
