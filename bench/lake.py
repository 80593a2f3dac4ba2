"""Lake write path: records/s and peak RSS of staging + one-transaction commit.

Each scenario runs in a fresh subprocess (so peak RSS is its own) over the same synthetic
HubSpot-like contacts (20 columns, pages of 100 rows generated on the fly, never held in
memory). The baseline is the same stream written to one Parquet file with pyarrow, measured in
the same run; ratios ("x base") are per-row wall time and per-row CPU time (all threads) over the
baseline's. CPU time moves less than wall time when other work shares the machine. ``merge-all`` uses the lake's
rewrite MERGE, ``merge-all-delta-rs`` the same run through delta-rs's MERGE
(``Lake(rewrite_merge=False)``). ``generate`` only builds the pages: subtract it to get the
lake's own cost.

    .venv/bin/python bench/lake.py                 # 200,000 contacts
    .venv/bin/python bench/lake.py --rows 50000    # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PAGE = 100
STRING_COLUMNS = 14


def pages(rows: int, *, version: int, start: int = 0) -> Iterator[object]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    base_ts = 1_767_225_600_000  # 2026-01-01 in ms
    for first in range(start, start + rows, PAGE):
        n = min(PAGE, start + rows - first)
        ids = np.arange(first, first + n, dtype=np.int64)
        id_strings = pc.cast(pa.array(ids), pa.string())
        columns: dict[str, object] = {"Id": id_strings}
        for c in range(STRING_COLUMNS):
            columns[f"Properties_P{c}"] = pc.binary_join_element_wise(
                f"v{version}-{c}-", id_strings, ""
            )
        columns["Properties_Score"] = pa.array(ids * version, pa.int64())
        columns["Properties_Amount"] = pa.array(ids.astype(np.float64) / 3.0)
        columns["Created_At"] = pa.array(base_ts + ids, pa.timestamp("ms", tz="UTC"))
        columns["Updated_At"] = pa.array(base_ts + ids + version, pa.timestamp("ms", tz="UTC"))
        columns["Archived"] = pa.array(np.zeros(n, dtype=bool))
        yield pa.RecordBatch.from_pydict(columns)


def _scenario(name: str, root: str, rows: int) -> dict[str, object]:
    import pyarrow as pa  # noqa: F401  (import cost is part of the baseline RSS)

    from headwater.lake import Lake, TableRef, WriteOptions

    lake = Lake(root, rewrite_merge=not name.endswith("delta-rs"))
    table = TableRef("BENCH@AdobeOrg", "prod", "contacts")
    options = WriteOptions(primary_key=("Id",), deleted_column="Archived")
    # Build one page first: its lazy imports (numpy conversion pulls in pandas) are not
    # part of any scenario's cost.
    next(iter(pages(PAGE, version=0)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_start = usage.ru_maxrss / 1024
    cpu_start = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    written = rows
    if name == "generate":
        for _ in pages(rows, version=1):
            pass
        result: dict[str, object] = {}
    elif name == "baseline":
        import pyarrow.parquet as pq

        writer = None
        for batch in pages(rows, version=1):
            if writer is None:
                writer = pq.ParquetWriter(str(Path(root) / "baseline.parquet"), batch.schema)  # type: ignore[attr-defined]
            writer.write_batch(batch)
        assert writer is not None
        writer.close()
        result = {}
    else:
        version, count = {
            "create": (1, rows),
            "merge-all": (2, rows),
            "merge-10pct": (3, rows // 10),
            "merge-all-delta-rs": (4, rows),
        }[name]
        written = count
        staged = lake.stage(f"run-{name}")
        for i, batch in enumerate(pages(count, version=version)):
            staged.write(batch, state={"page": i})  # type: ignore[arg-type]
        committed = lake.commit(staged, table, options, flow_id="bench")
        result = committed.metrics()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    return {
        "cpu_seconds": round(cpu, 3),
        "scenario": name,
        "rows": written,
        "seconds": round(seconds, 3),
        "rows_per_s": round(written / seconds),
        "rss_after_imports_mb": round(rss_start),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(_scenario(args.scenario, args.root, args.rows)))
        return
    with tempfile.TemporaryDirectory(prefix="hw-bench-lake-") as tmp:
        root = str(Path(tmp) / "lake")
        Path(root).mkdir()
        reports = []
        for name in (
            "baseline",
            "generate",
            "create",
            "merge-all",
            "merge-10pct",
            "merge-all-delta-rs",
        ):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--scenario",
                    name,
                    "--root",
                    root,
                    "--rows",
                    str(args.rows),
                ],
                check=False,
                capture_output=True,
                text=True,
            )
            if out.returncode:
                sys.exit(f"scenario {name} failed:\n{out.stderr}")
            stdout = out.stdout
            reports.append(json.loads(stdout.strip().splitlines()[-1]))
    base = float(reports[0]["seconds"]) / int(reports[0]["rows"])  # type: ignore[arg-type]
    base_cpu = float(reports[0]["cpu_seconds"]) / int(reports[0]["rows"])  # type: ignore[arg-type]
    print(
        f"{'scenario':<19} {'rows':>7} {'wall s':>7} {'rows/s':>7} {'x base':>6} "
        f"{'cpu s':>6} {'x base':>6} {'rss0 MB':>7} {'peak MB':>7}"
    )
    for r in reports:
        rows = int(r["rows"])  # type: ignore[call-overload]
        per_row = float(r["seconds"]) / rows  # type: ignore[arg-type]
        cpu_row = float(r["cpu_seconds"]) / rows  # type: ignore[arg-type]
        print(
            f"{r['scenario']:<19} {rows:>7} {r['seconds']:>7} {r['rows_per_s']:>7} "
            f"{per_row / base:>6.2f} {r['cpu_seconds']:>6} {cpu_row / base_cpu:>6.2f} "
            f"{r['rss_after_imports_mb']:>7} {r['peak_rss_mb']:>7}"
        )


if __name__ == "__main__":
    main()
