"""The mapping engine on Arrow batches: functions, type conversion, nested output, row errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from headwater.mapping import (
    MAPPER_ERROR,
    MappingError,
    compile_set,
    schema_from_properties,
)

TS = pa.timestamp("ms", tz="UTC")
#: Column aliases as a source supplies them (these are Adobe's names for HubSpot's columns).
ALIASES = {"Vid": "Id", "Added_At": "Created_At"}
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

OUT = schema_from_properties(
    {
        "_id": {"type": "string"},
        "person": {
            "type": "object",
            "properties": {
                "name": {
                    "type": "object",
                    "properties": {"firstName": {"type": "string"}, "lastName": {"type": "string"}},
                },
                "birthYear": {"type": "integer", "minimum": 1, "maximum": 32767},
                "birthDate": {"type": "string", "format": "date"},
            },
        },
        "_repo": {
            "type": "object",
            "properties": {"createDate": {"type": "string", "format": "date-time"}},
        },
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
    }
)


def expr(source, dest="note"):
    return {"sourceType": "EXPRESSION", "source": source, "destination": dest}


def attr(source, dest):
    return {"sourceType": "ATTRIBUTE", "source": source, "destination": dest}


def run(mappings, table, output=OUT, **kw):
    return compile_set(
        mappings, input_schema=table.schema, output_schema=output, aliases=kw.pop("aliases", None)
    ).apply(table, now=NOW, **kw)


def values(result, *path):
    out = []
    for rec in result.table.to_pylist():
        for p in path:
            rec = rec[p] if rec is not None else None
        out.append(rec)
    return out


def test_renames_into_nested_structs_follow_the_output_schema():
    t = pa.table({"id": ["1", "2"], "first": ["Ada", None], "last": ["L", "T"]})
    r = run(
        [
            attr("id", "_id"),
            attr("first", "person.name.firstName"),
            attr("last", "person.name.lastName"),
        ],
        t,
    )
    assert r.table.schema == OUT
    assert values(r, "person", "name", "firstName") == ["Ada", None]
    assert values(r, "_repo") == [None, None]
    assert r.errors == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('concat(first, " ", last)', ["Ada Lovelace", " Torvalds"]),
        ("lower(first)", ["ada", None]),
        ("upper(last)", ["LOVELACE", "TORVALDS"]),
        ('trim("  x ")', ["x", "x"]),
        ("substr(last, 1, 3)", ["ove", "orv"]),
        ('iif(first == null, "anon", first)', ["Ada", "anon"]),
        ('nvl(first, "anon")', ["Ada", "anon"]),
        ("coalesce(first, last)", ["Ada", "Torvalds"]),
        ('join("-", split("a b", " "))', ["a-b", "a-b"]),
        ('last.equalsIgnoreCase("torvalds") ? "yes" : "no"', ["no", "yes"]),
        ('decode(last, "Lovelace", "L", "T")', ["L", "T"]),
        (
            'format(date("2019-10-23 11:24", "yyyy-MM-dd HH:mm"), "dd.MM.yyyy")',
            ["23.10.2019", "23.10.2019"],
        ),
        ('md5("my text")', ["d3b96ce8c9fb4e9bd0198d03ba6852c7"] * 2),
        ('first + "!"', ["Ada!", None]),
        ('replacestr(last, "o", "0")', ["L0velace", "T0rvalds"]),
        ("left(last, 2)", ["Lo", "To"]),
        ("right(last, 2)", ["ce", "ds"]),
    ],
)
def test_string_functions(source, expected):
    t = pa.table({"first": ["Ada", None], "last": ["Lovelace", "Torvalds"]})
    r = run([expr(source)], t)
    assert values(r, "note") == expected, r.errors


def test_numbers_booleans_dates_and_arrays():
    t = pa.table(
        {
            "y": ["1990", " 2001 "],
            "s": ["1.5", "2e3"],
            "b": ["yes", "OFF"],
            "d": ["2019-10-23", "10/23/2019"],
            "tags": ["a,b", "c"],
        }
    )
    r = run(
        [
            expr("to_integer(y)", "person.birthYear"),
            expr("to_float(s) * 2", "score"),
            expr("to_bool(b)", "active"),
            attr("d", "person.birthDate"),
            expr("explode(tags)", "tags"),
            expr("now()", "_repo.createDate"),
        ],
        t,
    )
    assert r.errors == []
    assert values(r, "person", "birthYear") == [1990, 2001]
    assert values(r, "score") == [3.0, 4000.0]
    assert values(r, "active") == [True, False]
    assert [d.isoformat() for d in values(r, "person", "birthDate")] == ["2019-10-23", "2019-10-23"]
    assert values(r, "tags") == [["a", "b"], ["c"]]
    assert values(r, "_repo", "createDate") == [NOW, NOW]


def test_uuid_is_random_per_row_and_well_formed():
    t = pa.table({"x": list(range(1000))})
    r = run([expr("uuid()")], t)
    ids = values(r, "note")
    assert len(set(ids)) == 1000
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i)
        for i in ids
    )


def test_a_bad_record_fails_alone_with_code_column_and_raw_row():
    t = pa.table(
        {
            "id": ["1", "2", "3", "4"],
            "year": ["1990", "19x0", "2000", None],
            "when": ["2020-01-01", "2020-02-02", "not a date", "2020-04-04"],
        }
    )
    r = run(
        [
            attr("id", "_id"),
            expr("to_integer(year)", "person.birthYear"),
            attr("when", "_repo.createDate"),
        ],
        t,
    )
    assert values(r, "_id") == ["1", "4"]
    assert r.failed_count == 2
    by_row = {e.row: e for e in r.errors}
    assert by_row[1].code == MAPPER_ERROR and by_row[1].column == "year"
    assert by_row[1].destination == "person.birthYear"
    assert by_row[1].raw == {"id": "2", "year": "19x0", "when": "2020-02-02"}
    assert by_row[2].column == "when" and "date-time" in by_row[2].message


def test_nullify_mode_keeps_the_record_and_reports_a_warning():
    t = pa.table({"id": ["1", "2"], "year": ["x", "1999"]})
    r = run([attr("id", "_id"), attr("year", "person.birthYear")], t, on_error="nullify")
    assert values(r, "_id") == ["1", "2"]
    assert values(r, "person", "birthYear") == [None, 1999]
    assert r.errors == [] and [w.row for w in r.warnings] == [0]


def test_iif_ignores_errors_of_the_branch_not_taken():
    t = pa.table({"kind": ["num", "text"], "v": ["12", "abc"]})
    r = run([expr('iif(kind == "num", to_integer(v), 0)', "person.birthYear")], t)
    assert r.errors == []
    assert values(r, "person", "birthYear") == [12, 0]


def test_string_columns_compare_as_numbers_like_the_docs_example():
    t = pa.table({"total_consents": ["5200", "4100"], "marketing_type": ["phone", "email"]})
    src = 'iif(total_consents > 5000, iif(marketing_type.equals("phone"), nullify(), marketing_type), "insufficient-consents")'
    r = run([expr(src)], t)
    assert values(r, "note") == [None, "insufficient-consents"]


def test_adobe_hubspot_names_are_aliases():
    t = pa.table(
        {
            "Id": ["7"],
            "Created_At": pa.array([1_700_000_000_000], TS),
            "Properties_Firstname_Value": ["Ada"],
        }
    )
    r = run(
        [
            {"sourceAttribute": "Vid", "destinationXdmPath": "_id"},
            {"sourceAttribute": "Added_At", "destinationXdmPath": "_repo.createDate"},
            {
                "sourceAttribute": "Properties_Firstname_Value",
                "destinationXdmPath": "person.name.firstName",
            },
        ],
        t,
        aliases=ALIASES,
    )
    rec = r.table.to_pylist()[0]
    assert rec["_id"] == "7" and rec["_repo"]["createDate"].year == 2023


def test_schemaless_output_builds_structs_from_destinations():
    t = pa.table({"a": [1, 2], "b": ["x", "y"]})
    ms = compile_set(
        [attr("a", "one.two"), attr("b", "one.three"), expr("a + 1", "four")], input_schema=t.schema
    )
    out = ms.apply(t).table
    assert out.to_pylist() == [
        {"one": {"two": 1, "three": "x"}, "four": 2},
        {"one": {"two": 2, "three": "y"}, "four": 3},
    ]


def test_compile_refuses_with_every_entry_named():
    t = pa.table({"email": ["a"], "tags": pa.array([["x"]])})
    with pytest.raises(MappingError) as info:
        compile_set(
            [
                attr("emial", "note"),
                attr("email", "person.nope"),
                expr("lowr(email)", "note"),
                attr("tags", "person.birthYear"),
                expr("substr(email, email, 2)", "person.name.lastName"),
                attr("email", "person"),
                expr("concat(email", "_id"),
                expr("lower(email)", "note"),
            ],
            input_schema=t.schema,
            output_schema=OUT,
        )
    kinds = [(i.index, i.kind) for i in info.value.issues]
    assert kinds == [
        (0, "unknown-source"),
        (1, "unknown-destination"),
        (2, "unknown-function"),
        (3, "type-mismatch"),
        (4, "type-mismatch"),
        (5, "type-mismatch"),
        (6, "syntax"),
    ]


def test_duplicate_destinations_are_refused():
    t = pa.table({"a": ["x"]})
    with pytest.raises(MappingError, match="mapped twice"):
        compile_set(
            [attr("a", "note"), attr("a", "note")], input_schema=t.schema, output_schema=OUT
        )


def test_many_batches_keep_row_numbers():
    t = pa.Table.from_batches(
        [pa.record_batch({"y": ["1", "x"]}), pa.record_batch({"y": ["y", "4"]})]
    )
    r = run([attr("y", "person.birthYear")], t)
    assert sorted(e.row for e in r.errors) == [1, 2]
    assert values(r, "person", "birthYear") == [1, 4]


def test_object_copy_as_adobe_documents_it():
    """``address -> addr`` copies same-named fields; ``address.line1 -> addr.addrLine1`` refines it
    (help/data-prep/functions.md, *Object copy*)."""
    out = schema_from_properties(
        {
            "addr": {
                "type": "object",
                "properties": {
                    "addrLine1": {"type": "string"},
                    "city": {"type": "string"},
                    "state": {"type": "string"},
                    "zip": {"type": "integer"},
                },
            }
        }
    )
    rows = [
        {
            "address": {
                "line1": "4191 Ridgebrook Way",
                "city": "San Jose",
                "state": "California",
                "zip": "95110",
            }
        },
        {"address": {"line1": "1 Main St", "city": "Reno", "state": "Nevada", "zip": "none"}},
    ]
    t = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows))])
    r = run([attr("address", "addr"), attr("address.line1", "addr.addrLine1")], t, output=out)
    assert r.table.to_pylist() == [
        {
            "addr": {
                "addrLine1": "4191 Ridgebrook Way",
                "city": "San Jose",
                "state": "California",
                "zip": 95110,
            }
        }
    ]
    assert [e.row for e in r.errors] == [1]
    with pytest.raises(MappingError, match="mapped twice"):
        compile_set(
            [attr("address.city", "addr.city"), attr("address.city", "addr.city")],
            input_schema=t.schema,
            output_schema=out,
        )
