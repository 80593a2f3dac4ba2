"""Memory of a process tree from ``/proc`` (standard library only: every peer's venv imports it).

RSS counts a page once per process that maps it, so the RSS of a tree whose processes fork from
one another (dlt's normalize workers) or load the same libraries counts shared pages several
times. PSS divides each shared page between the processes that map it: the sum over a tree is
what the tree costs the machine."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for path in Path("/proc").iterdir():
        if not path.name.isdigit():
            continue
        try:
            stat = (path / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(path.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _kb(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_kb(root: int, *, pss: bool = True) -> tuple[int, int]:
    """(RSS, PSS) in kB summed over ``root`` and its descendants (PSS 0 unless ``pss``)."""
    rss = pss_kb = 0
    for pid in _tree(root):
        proc = Path("/proc") / str(pid)
        rss += _kb(proc / "status", "VmRSS:")
        if pss:
            pss_kb += _kb(proc / "smaps_rollup", "Pss:")
    return rss, pss_kb


@dataclass
class Peak:
    rss_mb: float = 0.0
    pss_mb: float = 0.0


class TreeSampler:
    """Samples a tree's RSS every ``every_s`` (and its PSS every fourth sample) in a thread."""

    def __init__(self, root: int, every_s: float = 0.05) -> None:
        self.root = root
        self.every_s = every_s
        self.peak = Peak()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            rss, pss = tree_kb(self.root, pss=n % 4 == 0)
            self.peak.rss_mb = max(self.peak.rss_mb, rss / 1024)
            self.peak.pss_mb = max(self.peak.pss_mb, pss / 1024)
            n += 1
            self._stop.wait(self.every_s)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
