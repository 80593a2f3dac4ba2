"""bench/ui.py runs end to end on tiny sizes (``make bench`` runs it in full)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ui.py"


def test_ui_benchmark_runs() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--flows",
            "3",
            "--runs",
            "30",
            "--requests",
            "2",
            "--no-write",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "run history + chart" in out.stdout
    assert "slowest page without HubSpot calls" in out.stdout
