"""The short version of the benchmarks: each script runs end to end on tiny sizes (no numbers are
asserted; ``make bench`` runs them in full and records the results)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    "args",
    [
        ["api.py", "--duration", "0.5", "--warmup", "0.2", "--workers", "1", "--no-write"],
        ["flow.py", "--contacts", "2000", "--no-write"],
        ["mapping.py", "--rows", "20000", "--repeat", "1", "--no-write"],
        ["incremental.py", "--contacts", "2000", "--no-write"],
    ],
    ids=["api", "flow", "mapping", "incremental"],
)
def test_benchmark_runs(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert any(unit in out.stdout for unit in ("records/s", "req/s", "rows/s"))
