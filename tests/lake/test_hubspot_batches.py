"""Batches built by the HubSpot connector's own conversion land in the lake unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from headwater.connectors.hubspot.convert import build_batch
from headwater.connectors.hubspot.schema import PropertyDef, layout_for
from headwater.connectors.hubspot.tables import STANDARD_TABLES
from headwater.lake import DatasetRef, Lake, WriteOptions, query

PROPS = [
    PropertyDef("email", "string"),
    PropertyDef("num_employees", "number"),
    PropertyDef("is_vip", "bool"),
    PropertyDef("last_seen", "datetime"),
    PropertyDef("birthday", "date"),
    PropertyDef("lifecyclestage", "enumeration", options=(("lead", "Lead"),)),
]


def record(i: int, *, email: str, archived: bool = False) -> dict[str, object]:
    return {
        "id": str(i),
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": f"2026-01-0{1 + i % 5}T10:00:00.000Z",
        "archived": archived,
        "properties": {
            "email": email,
            "num_employees": str(i * 10),
            "is_vip": "true" if i % 2 else "false",
            "last_seen": "2026-02-03T04:05:06.789Z",
            "birthday": "1990-05-17",
            "lifecyclestage": "lead",
        },
    }


def test_connector_batches_merge_and_delete_archived_records(lake: Lake) -> None:
    contacts = next(t for t in STANDARD_TABLES if t.object_type == "contacts")
    layout = layout_for(contacts, PROPS)
    options = WriteOptions(primary_key=layout.primary_key, deleted_column="Is_Deleted")
    ref = DatasetRef(id="hs-contacts", name="contacts", org="o", sandbox="s")

    staged = lake.stage("r1")
    staged.write(build_batch(layout, [record(i, email=f"c{i}@x") for i in range(1, 6)]))
    first = lake.commit(staged, ref.table, options, flow_id="f")
    staged = lake.stage("r2")
    staged.write(build_batch(layout, [record(2, email="new@x"), record(9, email="c9@x")]))
    staged.write(build_batch(layout, [record(3, email="c3@x", archived=True)], deleted=True))
    second = lake.commit(staged, ref.table, options, flow_id="f")

    assert first.rows_inserted == 5
    assert (second.rows_inserted, second.rows_updated, second.rows_deleted) == (1, 1, 1)
    schema = lake.schema(ref.table)
    assert schema is not None
    assert "Is_Deleted" not in schema.names
    assert schema.field("Created_At").type == pa.timestamp("us", tz="UTC")
    assert schema.field("Properties_Birthday_Value").type == pa.date32()
    got = query(
        lake,
        [ref],
        'SELECT "Id", "Properties_Email_Value" AS email, "Properties_Num_Employees_Value" AS n, '
        '"Properties_Is_Vip_Value" AS vip, "Properties_Last_Seen_Value" AS seen, '
        '"Properties_Birthday_Value" AS bday FROM contacts ORDER BY CAST("Id" AS INT)',
    ).to_pylist()
    assert [(r["Id"], r["email"]) for r in got] == [
        ("1", "c1@x"),
        ("2", "new@x"),
        ("4", "c4@x"),
        ("5", "c5@x"),
        ("9", "c9@x"),
    ]
    assert got[0]["n"] == 10.0
    assert got[0]["vip"] is True
    assert got[0]["seen"] == datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert got[0]["bday"] == date(1990, 5, 17)
