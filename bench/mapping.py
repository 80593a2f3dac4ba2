"""Mapping engine throughput: rows/s of a compiled mapping set on Arrow batches.

Input: synthetic Hubspot.Contacts-shaped rows (``Id``, ``Properties_*_Value`` strings,
``Created_At``) in batches of 65,536. Output: the tutorial's XDM schema (Individual Profile +
Demographic Details + Personal Contact Details), nested structs. Scenarios, all in this process:

* ``baseline``: the same renames into the same nested layout written by hand with pyarrow
  (``StructArray.from_arrays``), no engine;
* ``renames``: Adobe's tutorial mappings plus three more renames (6 fields) through the engine;
* ``3 functions``: the renames plus ``concat(first, " ", last)``, ``lower(trim(email))`` and
  ``to_integer(age)`` (which checks every value and would fail bad records).

Targets (issue 14): renames ≥ 1,000,000 rows/s, three functions ≥ 200,000 rows/s.

    .venv/bin/python bench/mapping.py                  # 1,000,000 rows, writes docs/benchmarks.md
    .venv/bin/python bench/mapping.py --rows 20000 --no-write
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import write_section  # noqa: E402

BATCH = 65_536
RENAMES = [
    {"sourceAttribute": "Vid", "destinationXdmPath": "_id"},
    {
        "sourceAttribute": "Properties_Firstname_Value",
        "destinationXdmPath": "person.name.firstName",
    },
    {"sourceAttribute": "Added_At", "destinationXdmPath": "_repo.createDate"},
    {"sourceAttribute": "Properties_Lastname_Value", "destinationXdmPath": "person.name.lastName"},
    {"sourceAttribute": "Properties_Email_Value", "destinationXdmPath": "personalEmail.address"},
    {"sourceAttribute": "Properties_Phone_Value", "destinationXdmPath": "mobilePhone.number"},
]
FUNCTIONS = [
    *RENAMES[:4],
    {"sourceAttribute": "Properties_Phone_Value", "destinationXdmPath": "mobilePhone.number"},
    {
        "sourceType": "EXPRESSION",
        "source": 'concat(Properties_Firstname_Value, " ", Properties_Lastname_Value)',
        "destination": "person.name.fullName",
    },
    {
        "sourceType": "EXPRESSION",
        "source": "lower(trim(Properties_Email_Value))",
        "destination": "personalEmail.address",
    },
    {
        "sourceType": "EXPRESSION",
        "source": "to_integer(Properties_Age_Value)",
        "destination": "person.birthYear",
    },
]


def contacts(rows: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    batches = []
    for first in range(0, rows, BATCH):
        n = min(BATCH, rows - first)
        ids = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.string())
        batches.append(
            pa.record_batch(
                {
                    "Id": ids,
                    "Properties_Firstname_Value": pc.binary_join_element_wise("First", ids, ""),
                    "Properties_Lastname_Value": pc.binary_join_element_wise("Last", ids, ""),
                    "Properties_Email_Value": pc.binary_join_element_wise(
                        " User", ids, "@Example.com ", ""
                    ),
                    "Properties_Phone_Value": pc.binary_join_element_wise("+1-555-", ids, ""),
                    "Properties_Age_Value": pc.cast(
                        pa.array(1950 + np.arange(n) % 60), pa.string()
                    ),
                    "Created_At": pa.array(
                        1_767_225_600_000 + np.arange(n), pa.timestamp("ms", tz="UTC")
                    ),
                }
            )
        )
    return pa.Table.from_batches(batches)


def output_schema():  # type: ignore[no-untyped-def]
    from headwater.domain.xdm import standard_resources
    from headwater.mapping import schema_from_properties

    props: dict[str, object] = {}
    for doc in standard_resources().values():
        for part in doc["allOf"]:
            name = part["$ref"].split("/")[-1]
            props.update(doc["definitions"][name]["properties"])
    return schema_from_properties(props)


def baseline(table, schema):  # type: ignore[no-untyped-def]
    """The renames by hand: every struct of the output built directly from the input columns."""
    import pyarrow as pa

    def build(field, path, cols, n):  # type: ignore[no-untyped-def]
        if path in cols:
            return cols[path]
        if pa.types.is_struct(field.type):
            if not any(p[: len(path)] == path for p in cols):
                return pa.nulls(n, field.type)
            return pa.StructArray.from_arrays(
                [build(c, (*path, c.name), cols, n) for c in field.type], fields=list(field.type)
            )
        return pa.nulls(n, field.type)

    out = []
    for batch in table.to_batches():
        cols = {
            ("_id",): batch.column("Id"),
            ("person", "name", "firstName"): batch.column("Properties_Firstname_Value"),
            ("_repo", "createDate"): batch.column("Created_At"),
            ("person", "name", "lastName"): batch.column("Properties_Lastname_Value"),
            ("personalEmail", "address"): batch.column("Properties_Email_Value"),
            ("mobilePhone", "number"): batch.column("Properties_Phone_Value"),
        }
        n = batch.num_rows
        out.append(
            pa.Table.from_arrays([build(f, (f.name,), cols, n) for f in schema], schema=schema)
        )
    return pa.concat_tables(out)


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per scenario")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()

    from headwater.connectors.hubspot.adobe_columns import ADOBE_COLUMNS
    from headwater.mapping import compile_set

    aliases = dict(ADOBE_COLUMNS.aliases)  # Adobe's HubSpot names, as a HubSpot flow applies them

    table = contacts(args.rows)
    schema = output_schema()
    renames = compile_set(RENAMES, input_schema=table.schema, output_schema=schema, aliases=aliases)
    functions = compile_set(
        FUNCTIONS, input_schema=table.schema, output_schema=schema, aliases=aliases
    )
    check = functions.apply(table)
    assert check.table.num_rows == args.rows, check.errors[:3]
    assert not check.errors, check.errors[:3]
    assert baseline(table, schema).equals(renames.apply(table).table)

    results = []
    for name, fn in (
        ("baseline: hand-written pyarrow renames", lambda: baseline(table, schema)),
        ("renames (6 fields, engine)", lambda: renames.apply(table)),
        ("3 functions + 5 renames (engine)", lambda: functions.apply(table)),
    ):
        seconds = timed(fn, args.repeat)
        results.append((name, seconds, args.rows / seconds))
    base = results[0][2]
    targets = {1: 1_000_000, 2: 200_000}
    lines = []
    for i, (name, seconds, rate) in enumerate(results):
        goal = targets.get(i)
        verdict = "" if goal is None else (" ✔" if rate >= goal else " ✘") + f" (target {goal:,}/s)"
        lines.append(
            f"| {name} | {seconds:.3f} s | {rate:,.0f} rows/s | {rate / base:.2f}x{verdict} |"
        )
        print(
            f"{name:42s} {seconds:8.3f} s {rate:14,.0f} rows/s  {rate / base:5.2f}x baseline{verdict}"
        )
    if not args.no_write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = "\n".join(
            [
                "## Mapping engine (`bench/mapping.py`)",
                "",
                f"Command: `.venv/bin/python bench/mapping.py --rows {args.rows}` — {platform.machine()}, "
                f"best of {args.repeat}, {args.rows:,} Hubspot.Contacts-shaped rows in batches of "
                f"{BATCH:,}, into the tutorial's XDM schema (nested structs). Run at {when}.",
                "",
                "| scenario | time | throughput | vs baseline |",
                "|---|---:|---:|---:|",
                *lines,
                "",
            ]
        )
        write_section(ROOT / "docs" / "benchmarks.md", "## Mapping engine", section)


if __name__ == "__main__":
    main()
