"""Lake write path: records/s and peak RSS of staging + one-transaction commit.

Each scenario runs in a fresh subprocess (so peak RSS is its own) over the same synthetic
HubSpot-like contacts (20 columns, pages of 100 rows generated on the fly, never held in
memory). The baseline is the same stream written to one Parquet file with pyarrow, measured in
the same run; ratios are scenario time / baseline time.

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

    lake = Lake(root)
    table = TableRef("BENCH@AdobeOrg", "prod", "contacts")
    options = WriteOptions(primary_key=("Id",), deleted_column="Archived")
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    written = rows
    if name == "baseline":
        import pyarrow.parquet as pq

        writer = None
        for batch in pages(rows, version=1):
            if writer is None:
                writer = pq.ParquetWriter(str(Path(root) / "baseline.parquet"), batch.schema)  # type: ignore[attr-defined]
            writer.write_batch(batch)
        assert writer is not None
        writer.close()
        result: dict[str, object] = {}
    else:
        version, count = {
            "create": (1, rows),
            "merge-all": (2, rows),
            "merge-10pct": (3, rows // 10),
        }[name]
        written = count
        staged = lake.stage(f"run-{name}")
        for i, batch in enumerate(pages(count, version=version)):
            staged.write(batch, state={"page": i})  # type: ignore[arg-type]
        committed = lake.commit(staged, table, options, flow_id="bench")
        result = committed.metrics()
    seconds = time.perf_counter() - started
    return {
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
        for name in ("baseline", "create", "merge-all", "merge-10pct"):
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
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            reports.append(json.loads(out.strip().splitlines()[-1]))
    base = float(reports[0]["seconds"]) / int(reports[0]["rows"])  # type: ignore[arg-type]
    print(
        f"{'scenario':<12} {'rows':>8} {'s':>7} {'rows/s':>9} {'x baseline/row':>15} {'rss0 MB':>8} {'peak MB':>8}"
    )
    for r in reports:
        per_row = float(r["seconds"]) / int(r["rows"])  # type: ignore[arg-type]
        print(
            f"{r['scenario']:<12} {r['rows']:>8} {r['seconds']:>7} {r['rows_per_s']:>9} "
            f"{per_row / base:>15.2f} {r['rss_after_imports_mb']:>8} {r['peak_rss_mb']:>8}"
        )


if __name__ == "__main__":
    main()
