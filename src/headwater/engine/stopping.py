"""How ``headwater serve``, ``worker`` and ``scheduler`` stop: one path, whatever asks for it.

``serve`` spawns one child, ``headwater worker --scheduler``, which runs the scheduler loop on a
thread beside its runs; ``headwater scheduler`` runs the same loop in a process of its own.

A stop is asked for by SIGTERM or SIGINT, or, in a child of ``serve``, by the parent going away.
The signal handler only counts the signal (no lock, no I/O: a handler runs between two bytecodes
of the main thread, which may hold any lock at that moment). A daemon *watcher* thread turns the
count into the stop:

1. the first request sets :attr:`Stopping.requested` and runs the ``on_stop`` callbacks (stop
   claiming, ask running runs to checkpoint and give themselves back, stop the webhook
   deliverer after its in-flight attempt, forward the signal to the children);
2. a second signal (at least :data:`SECOND_SIGNAL_AFTER_S` after the first: the same signal sent
   to a whole process group, or by a terminal and forwarded by ``serve``, counts once), or the
   grace period running out, sets :attr:`Stopping.forced` and runs the ``on_force`` callbacks.

The command then writes what must be written (a worker releases the runs it still holds) and
leaves through :func:`finish`, which exits even if a thread is stuck. Every thread here is a
daemon or is joined with a timeout.

:func:`spawn` starts a child that stops when its parent goes: ``PR_SET_PDEATHSIG`` (Linux), a check
right after it that the parent did not go before the ``prctl`` (the race that kept a worker alive
after its ``serve``), and ``HEADWATER_PARENT_PID``, which the child's watcher compares with
its parent pid.

:func:`pause_point` is a test hook, inert unless ``HEADWATER_TEST_PAUSE_AT`` names the point.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from headwater.engine.deliverer import Deliverer
    from headwater.engine.worker import Worker

log = logging.getLogger("headwater.stopping")

#: The default grace period: how long a stop may take before it is forced.
DEFAULT_GRACE_S = 10.0
#: Set by ``serve`` in its children's environment: the pid they stop without.
PARENT_PID_ENV = "HEADWATER_PARENT_PID"
#: Signals closer than this to the first count as the same request.
SECOND_SIGNAL_AFTER_S = 1.0
#: How often the watcher looks at the signal count and the parent.
WATCH_EVERY_S = 0.05

Callback = Callable[[], None]


class Stopping:
    """The stop state of one process (see the module's docstring)."""

    def __init__(
        self,
        grace_s: float = DEFAULT_GRACE_S,
        *,
        parent_pid: int | None = None,
        name: str = "headwater",
    ) -> None:
        self.grace_s = grace_s
        self.parent_pid = parent_pid
        self.name = name
        self.requested = threading.Event()
        self.forced = threading.Event()
        self.deadline: float | None = None
        self.reason = ""
        self._signals = 0  # written by the signal handler only
        self._asked = False  # written by request() only
        self._on_stop: list[Callback] = []
        self._on_force: list[Callback] = []
        self._thread: threading.Thread | None = None

    @classmethod
    def from_environment(cls, grace_s: float, *, name: str) -> Stopping:
        """A stopping that also watches ``HEADWATER_PARENT_PID`` when ``serve`` set it."""
        raw = os.environ.get(PARENT_PID_ENV, "")
        parent = int(raw) if raw.isdigit() else None
        return cls(grace_s, parent_pid=parent, name=name)

    # ------------------------------------------------------------------ setup

    def on_stop(self, callback: Callback) -> None:
        """Call ``callback`` (on the watcher thread) when the stop is asked for; at once if it
        was already. Callbacks may run twice: they must be idempotent."""
        self._on_stop.append(callback)
        if self.requested.is_set():
            callback()

    def on_force(self, callback: Callback) -> None:
        """Call ``callback`` when the stop is forced (at once if it was)."""
        self._on_force.append(callback)
        if self.forced.is_set():
            callback()

    def install(self) -> Stopping:
        """Handle SIGTERM and SIGINT (main thread only) and start the watcher."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="stopping", daemon=True)
            self._thread.start()
        return self

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self._signals += 1  # only this: see the module's docstring

    def request(self, reason: str = "asked") -> None:
        """Ask for the stop from code (say, the API server ended by itself)."""
        self.reason = self.reason or reason
        self._asked = True

    # ------------------------------------------------------------------ the watcher

    def _parent_gone(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def _watch(self) -> None:
        first_at = 0.0
        seen = 0
        while not self.forced.is_set():
            time.sleep(WATCH_EVERY_S)
            signals = self._signals
            if not self.requested.is_set():
                if signals:
                    self.reason = self.reason or "signal"
                elif self._parent_gone():
                    self.reason = self.reason or "parent gone"
                elif not self._asked:
                    continue
                first_at = time.monotonic()
                seen = signals
                self.deadline = first_at + self.grace_s
                log.info("%s stopping (%s); grace %.0f s", self.name, self.reason, self.grace_s)
                self.requested.set()
                self._run(self._on_stop)
                continue
            now = time.monotonic()
            again = signals > seen and now - first_at >= SECOND_SIGNAL_AFTER_S
            seen = seen if now - first_at >= SECOND_SIGNAL_AFTER_S else signals
            if again or (self.deadline is not None and now >= self.deadline):
                log.warning(
                    "%s forcing the stop (%s)",
                    self.name,
                    "second signal" if again else "grace period over",
                )
                self.forced.set()
                self._run(self._on_force)

    @staticmethod
    def _run(callbacks: Sequence[Callback]) -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a stop callback failed")

    # ------------------------------------------------------------------ waiting

    def remaining(self) -> float:
        """Seconds left of the grace period (the whole of it before a stop was asked)."""
        if self.deadline is None:
            return self.grace_s
        return max(0.0, self.deadline - time.monotonic())

    def wait_until(self, done: Callable[[], bool], *, every_s: float = 0.05) -> bool:
        """Wait until ``done()`` or the stop is forced; whether ``done()`` came first."""
        while not done():
            if self.forced.wait(every_s):
                return done()
        return True


def finish(code: int) -> NoReturn:
    """Leave the process now: flush the logs and streams, then ``os._exit`` (a stuck thread, or
    an interpreter-exit hook waiting for one, cannot hold the process)."""
    with contextlib.suppress(Exception):
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


# ---------------------------------------------------------------------- children


def _die_with(parent: int) -> Callable[[], None]:
    prctl: Callable[[int, int], int] | None = None
    if sys.platform.startswith("linux"):  # loaded here: the child only calls it
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl

    def preexec() -> None:  # in the child, between fork and exec
        if prctl is not None:
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent went before the prctl: nobody will signal us
            os._exit(0)

    return preexec


def spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """``python -m headwater ARGS`` as a child that stops when this process goes."""
    env = dict(os.environ)
    env[PARENT_PID_ENV] = str(os.getpid())
    return subprocess.Popen(
        [sys.executable, "-m", "headwater", *args],
        env=env,
        preexec_fn=_die_with(os.getpid()),  # noqa: PLW1509 - only prctl and getppid
    )


class Children:
    """The child processes of ``serve``: the signal forwarded to each, then waited for."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.forwarded: set[int] = set()

    def spawn(self, *args: str) -> None:
        self.procs.append(spawn(args))

    def forward(self, signum: int = signal.SIGTERM) -> None:
        self.forwarded.add(signum)
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signum)

    def wait(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every child; kill those still running after it (a last
        resort: each child forces its own stop at the end of the same grace period). 0 when all
        ended by themselves with status 0."""
        deadline = time.monotonic() + timeout_s
        code = 0
        for proc in self.procs:
            try:
                status = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("child %d did not stop in time; killing it", proc.pid)
                proc.kill()
                status = proc.wait()
            code = code or (0 if self._stopped_cleanly(proc.pid, status) else 1)
        return code

    def _stopped_cleanly(self, pid: int, status: int) -> bool:
        """Status 0, or ended by the signal this process forwarded before the child had armed
        its own stop (it was still importing: it had claimed nothing)."""
        if status == 0:
            return True
        if -status in self.forwarded:
            log.info("child %d was still starting when the stop came; it ended at once", pid)
            return True
        return False


# ---------------------------------------------------------------------- test hooks

#: ``HEADWATER_TEST_PAUSE_AT=<point>``: the first time the process reaches ``<point>`` it writes
#: its pid to ``HEADWATER_TEST_PAUSE_FILE`` and waits ``HEADWATER_TEST_PAUSE_SECONDS`` (default
#: 60), or until ``until`` is set. Tests use it to signal a process in a given state; unset, a
#: pause point is one dictionary lookup.
PAUSE_AT_ENV = "HEADWATER_TEST_PAUSE_AT"
_paused: set[str] = set()


def pause_point(point: str, *, until: threading.Event | None = None) -> None:
    if os.environ.get(PAUSE_AT_ENV) != point or point in _paused:
        return
    _paused.add(point)
    marker = os.environ.get("HEADWATER_TEST_PAUSE_FILE")
    if marker:
        tmp = Path(marker + ".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(marker)
    seconds = float(os.environ.get("HEADWATER_TEST_PAUSE_SECONDS", "60"))
    if until is not None:
        until.wait(seconds)
    else:
        time.sleep(seconds)


# ---------------------------------------------------------------------- the three commands


def start_scheduler(
    tick_forever: Callable[[threading.Event], None], stopping: Stopping
) -> threading.Thread:
    """The scheduler loop on a daemon thread of this process, ticking until the stop is asked
    for (a tick is one short transaction; several schedulers queue each window once)."""
    thread = threading.Thread(
        target=tick_forever, args=(stopping.requested,), name="scheduler", daemon=True
    )
    thread.start()
    return thread


def run_worker(
    worker: Worker,
    deliverer: Deliverer | None,
    stopping: Stopping,
    *,
    scheduler: Callable[[threading.Event], None] | None = None,
) -> int:
    """``headwater worker``: run until the stop, then give every run back and stop the deliverer
    after its in-flight attempt; the exit status (0 when every held run was released).

    ``scheduler`` (``headwater worker --scheduler``, as ``serve`` runs it) also runs the
    scheduler loop on a thread of this process; the stop ends it with the worker, and it is
    joined within the grace."""
    stopping.on_stop(worker.shutdown)
    if deliverer is not None:
        stopping.on_stop(deliverer.request_stop)
    if not stopping.requested.is_set():
        pause_point("started", until=stopping.requested)
    ticking: threading.Thread | None = None
    if scheduler is not None and not stopping.requested.is_set():
        ticking = start_scheduler(scheduler, stopping)
    if not stopping.requested.is_set():
        worker.run_forever()
    # the runs checkpoint and release themselves at their next event; a forced stop (second
    # signal, grace over) writes the releases of those still running
    stopping.wait_until(lambda: worker.running() == 0)
    worker.shutdown()
    if worker.running():
        worker.release_held()
    if deliverer is not None and not deliverer.stop(timeout=stopping.remaining()):
        log.warning("the webhook deliverer was still busy; its deliveries will be retried")
    if ticking is not None:
        ticking.join(stopping.remaining())  # a daemon: a stuck tick cannot hold the exit
    log.info("%s stopped (%s)", stopping.name, "forced" if stopping.forced.is_set() else "clean")
    return 0


def run_scheduler(tick_forever: Callable[[threading.Event], None], stopping: Stopping) -> int:
    """``headwater scheduler``: tick until the stop (a tick is one short transaction)."""
    thread = start_scheduler(tick_forever, stopping)
    stopping.wait_until(lambda: stopping.requested.is_set() and not thread.is_alive())
    thread.join(stopping.remaining())
    return 0
