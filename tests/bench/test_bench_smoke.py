"""The short version of the benchmarks: each script runs end to end on tiny sizes (no numbers are
asserted; ``make bench`` runs them in full and records the results)."""

from __future__ import annotations

import json
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


def test_peer_benchmark_runs_headwater_cells() -> None:
    """The peer benchmark end to end on a tiny portal, Headwater only (the peers need PyPI and
    minutes; ``make bench-peers`` runs them): every scenario, correctness checked."""
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "peers" / "run.py"),
            "--contacts",
            "300",
            "--big",
            "600",
            "--tools",
            "headwater",
            "--limit",
            "300",
            "--no-write",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    cells = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert {c["scenario"] for c in cells} == {
        "full",
        "full_110",
        "full_190",
        "incr_1pct",
        "incr_30k",
    }
    assert all(c["status"] == "ok" and c["correct"] == "exact" for c in cells), cells
