"""Pure logic of the HubSpot connector: naming, types, conversion, chunking, planning, state."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import httpx
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms, rows_for_preview
from headwater.connectors.hubspot.errors import error_from_response
from headwater.connectors.hubspot.paging import AFTER as _AFTER
from headwater.connectors.hubspot.paging import chunk_properties
from headwater.connectors.hubspot.planner import choose_strategy
from headwater.connectors.hubspot.schema import (
    ColumnKind,
    PropertyDef,
    column_name,
    layout_for,
    property_kind,
)
from headwater.connectors.hubspot.state import RunState, StreamState
from headwater.connectors.hubspot.tables import STANDARD_TABLES, custom_table, custom_table_name
from headwater.errors import (
    FatalSourceError,
    FatalSyncError,
    RetriableSourceError,
    SourceAuthError,
)

CONTACTS = next(t for t in STANDARD_TABLES if t.name == "Hubspot.Contacts")


def test_column_names_follow_adobes_flattening() -> None:
    assert column_name("properties", "firstname", "value") == "Properties_Firstname_Value"
    assert column_name("portal-id") == "Portal_Id"
    assert column_name("added-at") == "Added_At"
    assert column_name("properties", "hs_object_id", "value") == "Properties_Hs_Object_Id_Value"
    assert column_name("associations", "line_items", "ids") == "Associations_Line_Items_Ids"


def test_property_types_map_to_column_kinds() -> None:
    assert property_kind(PropertyDef("a", "number")) is ColumnKind.DOUBLE
    assert property_kind(PropertyDef("a", "bool")) is ColumnKind.BOOLEAN
    assert property_kind(PropertyDef("a", "datetime")) is ColumnKind.DATETIME
    assert property_kind(PropertyDef("a", "date")) is ColumnKind.DATE
    assert property_kind(PropertyDef("a", "enumeration")) is ColumnKind.STRING
    assert property_kind(PropertyDef("a", "phone_number")) is ColumnKind.STRING


def test_explore_columns_carry_xdm_types_and_enum_options() -> None:
    props = [
        PropertyDef("amount", "number"),
        PropertyDef("closed", "bool"),
        PropertyDef("closedate", "datetime"),
        PropertyDef("stage", "enumeration", options=(("a", "Appointment"), ("b", "Bought"))),
    ]
    cols = {c["name"]: c for c in layout_for(CONTACTS, props).explore_columns()}
    assert cols["Properties_Amount_Value"] == {
        "name": "Properties_Amount_Value",
        "type": "double",
        "meta:xdmType": "number",
        "xdm": {"type": "number"},
    }
    assert cols["Properties_Closed_Value"]["type"] == "boolean"
    assert cols["Properties_Closedate_Value"]["xdm"] == {"type": "string", "format": "date-time"}
    assert cols["Properties_Closedate_Value"]["meta:xdmType"] == "date-time"
    assert cols["Properties_Stage_Value"]["xdm"]["enum"] == ["a", "b"]
    assert cols["Properties_Stage_Value"]["xdm"]["meta:enum"] == {"a": "Appointment", "b": "Bought"}
    assert cols["Associations_Companies_Ids"]["xdm"]["type"] == "array"
    assert all({"name", "type", "meta:xdmType", "xdm"} <= set(c) for c in cols.values())


def test_colliding_names_are_disambiguated() -> None:
    layout = layout_for(CONTACTS, [PropertyDef("a_b", "string"), PropertyDef("a-b", "string")])
    names = [c.name for c in layout.columns if c.source in {"a_b", "a-b"}]
    assert names == ["Properties_A_B_Value", "Properties_A_B_Value_2"]
    assert len(set(layout.schema.names)) == len(layout.schema.names)


def _record(i: int, **props: str | None) -> dict[str, object]:
    return {
        "id": str(i),
        "createdAt": "2024-01-02T03:04:05.678Z",
        "updatedAt": "2024-01-02T03:04:06Z",
        "archived": False,
        "properties": {"hs_object_id": str(i), **props},
    }


def test_build_batch_types_every_value() -> None:
    props = [
        PropertyDef("n", "number"),
        PropertyDef("b", "bool"),
        PropertyDef("t", "datetime"),
        PropertyDef("d", "date"),
        PropertyDef("s", "string"),
    ]
    layout = layout_for(CONTACTS, props)
    records = [
        _record(1, n="1234.5", b="true", t="2024-05-01T12:00:00.000Z", d="2024-05-01", s="x"),
        _record(2, n="", b="false", t="1714564800000", d="2024-05-01T00:00:00Z", s=None),
        _record(3, n="N/A", b=None, t=None, d=None),
    ]
    batch = build_batch(layout, records, associations={"companies": {"1": ["7", "9"]}})
    assert batch.schema == layout.schema
    rows = batch.to_pylist()
    assert rows[0]["Properties_N_Value"] == 1234.5
    assert rows[1]["Properties_N_Value"] is None
    assert rows[2]["Properties_N_Value"] is None
    assert [r["Properties_B_Value"] for r in rows] == [True, False, None]
    utc = dt.UTC
    assert rows[0]["Properties_T_Value"] == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert rows[1]["Properties_T_Value"] == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert rows[1]["Properties_D_Value"] == dt.date(2024, 5, 1)
    assert rows[0]["Created_At"] == dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=utc)
    assert rows[0]["Associations_Companies_Ids"] == ["7", "9"]
    assert rows[1]["Associations_Companies_Ids"] == []
    assert [r["Is_Deleted"] for r in rows] == [False] * 3
    preview = rows_for_preview(batch)
    assert preview[0]["Created_At"] == "2024-01-02T03:04:05.678Z"
    json.dumps(preview)


def test_deleted_batches_keep_the_schema() -> None:
    layout = layout_for(CONTACTS, [PropertyDef("n", "number")])
    rec = _record(5) | {"archived": True, "archivedAt": "2024-02-01T00:00:00Z"}
    batch = build_batch(layout, [rec], deleted=True)
    assert batch.schema == layout.schema
    row = batch.to_pylist()[0]
    assert row["Is_Deleted"] is True
    assert row["Archived"] is True
    assert row["Archived_At"] == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def test_select_keeps_key_and_bookkeeping_columns() -> None:
    layout = layout_for(CONTACTS, [PropertyDef("email", "string"), PropertyDef("x", "number")])
    sub = layout.select(["Properties_Email_Value"])
    assert sub.properties == ("email",)
    assert sub.associations == ()
    assert "Id" in sub.schema.names
    assert "Is_Deleted" in sub.schema.names
    assert "Properties_X_Value" not in sub.schema.names
    with pytest.raises(KeyError):
        layout.select(["Nope"])


@given(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,60}", fullmatch=True), max_size=400))
def test_property_chunks_cover_every_name_once_within_the_limit(names: list[str]) -> None:
    chunks = chunk_properties(names, 500)
    assert [n for c in chunks for n in c] == names
    for chunk in chunks:
        assert len(quote(",".join(chunk), safe="")) <= 500


def test_after_cursor_is_found_in_the_raw_body() -> None:
    body = json.dumps(
        {
            "results": [{"id": "1", "properties": {"paging": "x"}}],
            "paging": {"next": {"after": "101", "link": "http://h/x?after=101"}},
        }
    ).encode()
    m = _AFTER.search(body, body.rfind(b'"paging"'))
    assert m is not None
    assert m.group(1) == b"101"


def test_datetime_parsing_tolerates_hubspot_variants() -> None:
    assert parse_datetime_ms("2024-01-01T00:00:00Z") == 1704067200000
    assert parse_datetime_ms("2024-01-01T00:00:00.123Z") == 1704067200123
    assert parse_datetime_ms("1704067200000") == 1704067200000
    assert parse_datetime_ms("2024-01-01") == 1704067200000
    assert parse_datetime_ms("") is None
    assert parse_datetime_ms("garbage") is None


def test_planner_prefers_search_for_small_changes_and_relist_for_large() -> None:
    small = choose_strategy(
        changed=25_000, table_size=60_000, list_chunks=1, burst_rate=11.0, search_rate=5.0
    )
    assert small.strategy == "incremental"
    assert "25000 of ~60000" in small.reason
    large = choose_strategy(
        changed=58_000, table_size=60_000, list_chunks=1, burst_rate=11.0, search_rate=5.0
    )
    assert large.strategy == "full"
    # many property chunks make re-listing dearer
    chunked = choose_strategy(
        changed=58_000, table_size=60_000, list_chunks=3, burst_rate=11.0, search_rate=5.0
    )
    assert chunked.strategy == "incremental"
    # without limits (a raised budget, an emulator) round trips still make re-listing cost more
    unlimited = choose_strategy(
        changed=500, table_size=3_000, list_chunks=1, burst_rate=10_000.0, search_rate=100.0
    )
    assert unlimited.strategy == "incremental"
    most = choose_strategy(
        changed=2_900, table_size=3_000, list_chunks=1, burst_rate=10_000.0, search_rate=100.0
    )
    assert most.strategy == "full"


def test_state_round_trips_through_json() -> None:
    state = StreamState(
        cursor_ms=5,
        table_size=10,
        run=RunState(strategy="incremental", reason="r", sync_start_ms=9, floor="77", pages=3),
    )
    again = StreamState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    assert StreamState.from_json(None) == StreamState()
    with pytest.raises(FatalSyncError):
        StreamState.from_json({"v": 99})


def _response(status: int, body: object, path: str = "/crm/v3/objects/contacts") -> httpx.Response:
    request = httpx.Request("GET", f"https://api.hubapi.com{path}")
    return httpx.Response(status, json=body, request=request)


def test_error_classification() -> None:
    scopes = _response(
        403,
        {
            "status": "error",
            "message": "This app hasn't been granted all required scopes",
            "category": "MISSING_SCOPES",
            "errors": [{"context": {"requiredGranularScopes": ["crm.objects.owners.read"]}}],
        },
    )
    err = error_from_response(scopes)
    assert isinstance(err, SourceAuthError)
    assert "crm.objects.owners.read" in err.message
    expired = error_from_response(_response(401, {"category": "EXPIRED_AUTHENTICATION"}))
    assert isinstance(expired, SourceAuthError)
    assert "expired" in expired.message
    assert isinstance(error_from_response(_response(429, {})), RetriableSourceError)
    assert isinstance(error_from_response(_response(503, {})), RetriableSourceError)
    assert isinstance(error_from_response(_response(530, {})), SourceAuthError)
    bad = error_from_response(_response(400, {"category": "VALIDATION_ERROR", "message": "m"}))
    assert isinstance(bad, FatalSourceError)
    assert "VALIDATION_ERROR" in bad.message


def test_custom_objects_become_tables() -> None:
    table = custom_table(
        {
            "objectTypeId": "2-7",
            "name": "pets",
            "labels": {"plural": "Pets"},
            "associations": [{"fromObjectTypeId": "2-7", "toObjectTypeId": "0-1"}],
        }
    )
    assert table is not None
    assert (table.name, table.object_type, table.associations) == (
        "Hubspot.Pets",
        "2-7",
        ("contacts",),
    )
    assert custom_table_name("contacts") == "Hubspot.Custom_Contacts"
    assert custom_table({"name": "x"}) is None


def test_standard_catalog_has_adobes_names() -> None:
    names = {t.name for t in STANDARD_TABLES}
    assert {
        "Hubspot.Contacts",
        "Hubspot.All_Deals",
        "Hubspot.Line_Items",
        "Hubspot.Owners",
    } <= names
    assert not next(t for t in STANDARD_TABLES if t.name == "Hubspot.Owners").incremental
    schema = layout_for(CONTACTS, []).schema
    assert schema.field("Id").type == pa.string()
    assert not schema.field("Id").nullable
