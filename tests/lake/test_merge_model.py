"""Property test: any sequence of runs leaves the table equal to a plain dict model.

Each run is a list of (id, score, archived) records, with repeats (a re-read page), staged in
arbitrary batch splits; the model applies them in order, last version wins, archived removes (or, in flag mode, keeps
the record with its flag).
Runs alternate between the rewrite MERGE and delta-rs's MERGE on the same table, and some
bring a new column halfway through (staging and the table then grow through delta-rs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.lake import DeleteMode, Lake, TableRef, WriteOptions
from tests.lake.helpers import MERGE, batch, contact, rows

FLAG = WriteOptions(primary_key=("Id",), deleted_column="Archived", on_delete=DeleteMode.FLAG)

records = st.tuples(st.integers(0, 12), st.integers(0, 3), st.booleans())
runs = st.lists(
    st.tuples(st.lists(records, max_size=15), st.integers(1, 4), st.booleans()),
    min_size=1,
    max_size=4,
)
WIDE = pa.schema(
    [("Id", pa.string()), ("Score", pa.int64()), ("Archived", pa.bool_()), ("Phone", pa.string())]
)


@pytest.mark.parametrize("flag", [False, True], ids=["delete", "flag"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(runs=runs)
def test_merge_matches_a_dict_model(
    flag: bool, runs: list[tuple[list[tuple[int, int, bool]], int, bool]]
) -> None:
    options = FLAG if flag else MERGE
    with tempfile.TemporaryDirectory() as tmp:
        table = TableRef("o", "s", "d")
        model: dict[str, tuple[int, bool]] = {}
        for n, (recs, parts, wide) in enumerate(runs):
            lake = Lake(str(Path(tmp) / "lake"), rewrite_merge=n % 2 == 0)
            staged = lake.stage(f"r{n}")
            size = max(1, len(recs) // parts)
            for k, start in enumerate(range(0, len(recs), size)):
                chunk = recs[start : start + size]
                if wide and k % 2:
                    # A new column mid-run: the staged table and then the dataset grow.
                    staged.write(
                        batch(
                            [
                                {"Id": str(i), "Score": s, "Archived": a, "Phone": f"p{s}"}
                                for i, s, a in chunk
                            ],
                            WIDE,
                        )
                    )
                else:
                    staged.write(batch([contact(i, score=s, archived=a) for i, s, a in chunk]))
            last: dict[str, tuple[int, bool]] = {}
            for i, s, a in recs:
                last[str(i)] = (s, a)
            result = lake.commit(staged, table, options, flow_id="f")
            if flag:
                deleted = 0
                updated = sum(1 for k in last if k in model)
            else:
                deleted = sum(1 for k, (_, a) in last.items() if a and k in model)
                updated = sum(1 for k, (_, a) in last.items() if not a and k in model)
            for k, (s, a) in last.items():
                if a and not flag:
                    model.pop(k, None)
                else:
                    model[k] = (s, a)
            if recs:
                assert (result.rows_deleted, result.rows_updated) == (deleted, updated)
                assert result.duplicates_dropped == len(recs) - len(last)
            if lake.table_exists(table):
                got = {r["Id"]: (r["Score"], bool(r.get("Archived"))) for r in rows(lake, table)}
                assert got == model
