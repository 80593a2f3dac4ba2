"""A dataset's schema: taken from the source, grown additively, never retyped."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from headwater.errors import DestinationError
from headwater.lake import Lake, TableRef
from headwater.lake.schema import normalize_schema, normalize_type, plan_evolution
from tests.lake.helpers import batch, contact, rows, run


@pytest.fixture(params=["rewrite", "delta-rs"])
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Lake:
    """A local lake, once per MERGE engine (streaming rewrite and delta-rs's MERGE)."""
    return Lake(str(tmp_path / "lake"), rewrite_merge=request.param == "rewrite")


def test_new_columns_are_appended_as_nullable(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1)]))
    wider = pa.schema(
        [
            ("Id", pa.string()),
            ("Score", pa.int64()),
            ("Lifecycle", pa.string()),
            ("Tags", pa.list_(pa.string())),
        ]
    )

    result = run(
        lake,
        table,
        "r2",
        batch(
            [
                {"Id": "1", "Score": 3, "Lifecycle": "lead", "Tags": ["a", "b"]},
                {"Id": "2", "Score": 1, "Lifecycle": None, "Tags": None},
            ],
            wider,
        ),
    )

    assert result.added_columns == ("Lifecycle", "Tags")
    schema = lake.schema(table)
    assert schema is not None
    # Appended after the stored columns (delta-rs picks the order among the new ones).
    assert schema.names[:4] == ["Id", "Email", "Score", "Updated_At"]
    assert sorted(schema.names[4:]) == ["Lifecycle", "Tags"]
    assert all(f.nullable for f in schema)
    got = [(r["Id"], r["Email"], r["Score"], r["Lifecycle"], r["Tags"]) for r in rows(lake, table)]
    assert got == [("1", "c1@example.com", 3, "lead", ["a", "b"]), ("2", None, 1, None, None)]


def test_a_type_change_is_an_error_naming_the_column(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1)]))
    retyped = pa.schema([("Id", pa.string()), ("Score", pa.string())])

    with pytest.raises(DestinationError, match=r"'Score'.*int64.*string"):
        run(lake, table, "r2", batch([{"Id": "1", "Score": "high"}], retyped))

    # Nothing was written and the run is not marked applied.
    assert [r["Score"] for r in rows(lake, table)] == [0]
    assert lake.applied_commit(table, "r2") is None


def test_a_type_change_inside_one_run_fails_while_staging(lake: Lake) -> None:
    staged = lake.stage("r1")
    staged.write(batch([contact(1)]))
    with pytest.raises(DestinationError, match="'Score'"):
        staged.write(pa.RecordBatch.from_pylist([{"Id": "2", "Score": 1.5}]))


def test_narrower_integers_widen_into_the_stored_type(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1, score=1)]))
    narrow = pa.schema([("Id", pa.string()), ("Score", pa.int32())])

    run(lake, table, "r2", batch([{"Id": "2", "Score": 2}], narrow))

    schema = lake.schema(table)
    assert schema is not None
    assert schema.field("Score").type == pa.int64()
    assert [r["Score"] for r in rows(lake, table)] == [1, 2]


def test_missing_primary_key_column_is_a_destination_error(lake: Lake, table: TableRef) -> None:
    keyless = pa.schema([("Email", pa.string())])
    with pytest.raises(DestinationError, match="Id"):
        run(lake, table, "r1", batch([{"Email": "x"}], keyless))


def test_normalize_maps_arrow_types_to_what_delta_stores() -> None:
    assert normalize_type(pa.large_string()) == pa.string()
    assert normalize_type(pa.string_view()) == pa.string()
    assert normalize_type(pa.timestamp("ns", tz="Europe/Paris")) == pa.timestamp("us", tz="UTC")
    assert normalize_type(pa.timestamp("ms")) == pa.timestamp("us")
    assert normalize_type(pa.uint32()) == pa.int64()
    assert normalize_type(pa.dictionary(pa.int32(), pa.string())) == pa.string()
    assert normalize_type(pa.large_list(pa.large_string())) == pa.list_(
        pa.field("element", pa.string())
    )
    schema = normalize_schema(
        pa.schema([pa.field("a", pa.int64(), nullable=False), pa.field("n", pa.null())])
    )
    assert schema == pa.schema([pa.field("a", pa.int64(), nullable=True)])


def test_plan_evolution_reports_added_columns_and_widenings() -> None:
    stored = pa.schema([("a", pa.int64()), ("b", pa.float64())])
    plan = plan_evolution(
        stored, pa.schema([("a", pa.int16()), ("b", pa.float32()), ("c", pa.bool_())])
    )
    assert plan.added_names == ("c",)
    assert plan.casts == {"a": pa.int64(), "b": pa.float64()}
    with pytest.raises(DestinationError, match="'b'"):
        plan_evolution(stored, pa.schema([("b", pa.int64())]))


def test_naive_timestamps_and_nested_lists_round_trip(lake: Lake, table: TableRef) -> None:
    from datetime import datetime

    schema = pa.schema(
        [("Id", pa.string()), ("Seen", pa.timestamp("ns")), ("Ids", pa.large_list(pa.string()))]
    )
    row = {"Id": "1", "Seen": datetime(2026, 5, 1, 12, 30), "Ids": ["7", "8"]}
    run(lake, table, "r1", batch([row], schema))
    run(lake, table, "r2", batch([{**row, "Id": "2"}], schema))

    stored = lake.schema(table)
    assert stored is not None
    assert stored.field("Seen").type == pa.timestamp("us")
    assert [(r["Id"], r["Seen"], r["Ids"]) for r in rows(lake, table)] == [
        ("1", datetime(2026, 5, 1, 12, 30), ["7", "8"]),
        ("2", datetime(2026, 5, 1, 12, 30), ["7", "8"]),
    ]
