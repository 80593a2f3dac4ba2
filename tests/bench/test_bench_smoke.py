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


@pytest.mark.slow  # a minute of processes; make test-all and make bench run it
def test_peer_benchmark_runs_headwater_cells() -> None:
    """The peer benchmark end to end on a tiny portal, Headwater (through a ``headwater serve``
    node) and the ceiling loop only (the peers need PyPI and minutes; ``make bench-peers`` runs
    them): every scenario, correctness checked, the serve tree's memory measured."""
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
            "ceiling",
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
    assert {(c["tool"], c["scenario"]) for c in cells} == {
        *(
            ("headwater", s)
            for s in ("full", "full_110", "full_190", "incr_1pct", "incr_none", "incr_30k")
        ),
        ("ceiling", "full"),
    }
    assert all(c["status"] == "ok" and c["correct"] == "exact" for c in cells), cells
    # the serve tree: serve and its worker (the scheduler a thread of it), each an interpreter
    served = [c for c in cells if c["tool"] == "headwater"]
    assert all(c["peak_rss_mb"] > 2 * 20 and c["peak_pss_mb"] > 0 for c in served), served


def test_peer_benchmark_scale_scenario() -> None:
    """``--scale``: Headwater's full load at a given size, its serve tree's memory reported."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "peers" / "run.py"), "--scale", "400", "--no-write"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    (cell,) = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert cell["status"] == "ok" and cell["correct"] == "exact" and cell["records"] == 400
    assert "| 400 |" in out.stdout


@pytest.mark.slow  # a minute of processes; make test-all and make bench run it
def test_load_generator_runs_against_serve_on_postgresql() -> None:
    """``bench/load.py`` end to end for a few seconds: serve on PostgreSQL, two flows kept
    running, every operation of the mix sent, the SQLite POST baseline measured; no timing is
    asserted, only that the harness works and the server answered no request with an error."""
    from tests.conftest import PG_ADMIN_URL, _pg_available

    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "load.py"),
            *("--duration", "3", "--warmup", "0.5", "--flows", "2", "--contacts", "200"),
            *("--baseline-seconds", "1", "--concurrency", "4", "--pg-url", PG_ADMIN_URL),
            "--no-write",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    sent = {
        line.split("  ")[0]: int(line[36:46])
        for line in out.stdout.splitlines()
        if line[:4] in ("GET ", "POST", "PATC", "DELE")
    }
    assert sent["GET /connections/{id}"] > 0 and sent["POST /connections"] > 0, out.stdout
    assert "req/s" in out.stdout and "baseline: POST /connections, SQLite" in out.stdout
