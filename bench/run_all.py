"""``make bench``: every benchmark, in full, one after the other (each writes its own section of
docs/benchmarks.md and prints its numbers with the baseline it is compared with)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["emulator.py"],
    ["connector.py", "all"],
    ["lake.py"],
    ["flow.py"],
    ["incremental.py"],
    ["mapping.py"],
    ["api.py"],
    ["load.py"],
    ["ui.py"],
]


def main() -> int:
    failed = []
    for args in RUNS:
        print(f"\n=== bench/{' '.join(args)}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / args[0]), *args[1:]])
        if code:
            failed.append(args[0])
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
