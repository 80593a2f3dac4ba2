"""200,000 contacts through staging and MERGE (slow; run with ``-m slow``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from headwater.lake import DatasetRef, Lake, WriteOptions, query

N = 200_000
PAGE = 500
OPTIONS = WriteOptions(primary_key=("Id",), deleted_column="Archived")


@pytest.fixture(params=["rewrite", "delta-rs"])
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Lake:
    """A local lake, once per MERGE engine (streaming rewrite and delta-rs's MERGE)."""
    return Lake(str(tmp_path / "lake"), rewrite_merge=request.param == "rewrite")


def pages(
    start: int, stop: int, *, version: int, archived_every: int = 0
) -> Iterator[pa.RecordBatch]:
    for first in range(start, stop, PAGE):
        ids = np.arange(first, min(first + PAGE, stop), dtype=np.int64)
        id_strings = pc.cast(pa.array(ids), pa.string())
        archived = (ids % archived_every == 0) if archived_every else np.zeros(len(ids), dtype=bool)
        yield pa.RecordBatch.from_pydict(
            {
                "Id": id_strings,
                "Email": pc.binary_join_element_wise("c", id_strings, "@example.com", ""),
                "Score": pa.array(ids * version, pa.int64()),
                "Archived": pa.array(archived),
            }
        )


@pytest.mark.slow
def test_200k_contacts_full_then_overlapping_run(lake: Lake) -> None:
    ref = DatasetRef(id="big", name="contacts", org="o", sandbox="s")
    staged = lake.stage("full")
    for k, b in enumerate(pages(0, N, version=1)):
        staged.write(b, state={"page": k})
    first = lake.commit(staged, ref.table, OPTIONS, flow_id="f")
    assert first.rows_inserted == N

    # Second run: the upper half changes (every 10th archived), 20k new, and a re-read overlap.
    staged = lake.stage("incr")
    for b in pages(N // 2, N + 20_000, version=2, archived_every=10):
        staged.write(b)
    for b in pages(N - 5_000, N, version=2, archived_every=10):
        staged.write(b)
    second = lake.commit(staged, ref.table, OPTIONS, flow_id="f")

    changed = N // 2 + 20_000
    archived = changed // 10
    assert second.duplicates_dropped == 5_000
    assert second.rows_deleted == (N // 2) // 10
    assert second.rows_inserted == 20_000 - 20_000 // 10
    assert second.rows_updated == N // 2 - (N // 2) // 10
    stats = query(
        lake,
        [ref],
        'SELECT count(*) AS n, count(DISTINCT "Id") AS ids, '
        'count(*) FILTER (WHERE CAST("Id" AS BIGINT) >= 100000 AND "Score" = 2 * CAST("Id" AS BIGINT)) '
        "AS v2 FROM contacts",
    ).to_pylist()[0]
    assert stats["n"] == stats["ids"] == N + 20_000 - archived
    assert stats["v2"] == changed - archived
