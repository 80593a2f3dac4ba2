"""The process-tree memory sampler of the peer benchmark, on real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.peers.proctree import TreeSampler, tree_kb

HOLD = 64 * 2**20
# a child that touches HOLD bytes, then a grandchild that does the same
CHILD = (
    f"import subprocess, sys, time; b = bytearray({HOLD}); b[::4096] = b'x' * len(b[::4096]); "
    "g = subprocess.Popen([sys.executable, '-c', "
    f"\"b = bytearray({HOLD}); b[::4096] = b'x' * len(b[::4096]); print('up', flush=True); "
    'import time; time.sleep(30)"], stdout=subprocess.PIPE); print(g.stdout.readline().decode(), '
    "end='', flush=True); time.sleep(30)"
)


def test_the_tree_counts_every_descendant_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        with TreeSampler(proc.pid, every_s=0.01) as sampler:
            time.sleep(0.2)
        rss, pss = tree_kb(proc.pid)
        alone, _ = tree_kb(proc.pid + 10_000_000)  # no such process: nothing
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and the grandchild
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    # both processes hold HOLD private bytes: RSS and PSS see them both
    assert rss * 1024 >= 2 * HOLD
    assert pss * 1024 >= 2 * HOLD
    assert sampler.peak.rss_mb * 2**20 >= 2 * HOLD
    assert sampler.peak.pss_mb * 2**20 >= 2 * HOLD
    assert alone == 0
