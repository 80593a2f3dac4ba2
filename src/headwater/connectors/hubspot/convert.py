"""HubSpot JSON records → typed Arrow record batches.

Property values arrive as strings (or null). Columns are converted with vectorised Arrow casts;
only when a cast fails (``""`` in a number, an epoch-ms string in a datetime) does a column fall
back to element-wise parsing, where unparseable values become null.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.connectors.hubspot.schema import (
    ARROW_TYPES,
    TIMESTAMP,
    Column,
    ColumnKind,
    Origin,
    TableLayout,
)

__all__ = ["Associations", "build_batch", "parse_datetime_ms", "parse_iso", "rows_for_preview"]

#: association target → from id → associated ids
Associations = Mapping[str, Mapping[str, Sequence[str]]]


def parse_datetime_ms(value: Any) -> int | None:
    """Epoch milliseconds of an ISO datetime, a date, or an epoch-ms number/string."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    parsed = parse_iso(text)
    return None if parsed is None else int(parsed.timestamp() * 1000)


def parse_iso(text: str) -> datetime | None:
    """An ISO-8601 date or datetime (``Z`` or an offset; none means UTC), or ``None``."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except ValueError:
        return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def _to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        f = _to_float(value)
        return int(f) if f is not None and f.is_integer() else None


def _to_date(value: Any) -> date | None:
    ms = parse_datetime_ms(value)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _strings(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(
            [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
            pa.string(),
        )


def _typed(kind: ColumnKind, values: list[Any]) -> pa.Array:
    target = ARROW_TYPES[kind]
    if kind is ColumnKind.STRING:
        return _strings(values)
    if kind is ColumnKind.ID_LIST:
        return pa.array(values, target)
    try:
        raw = pa.array(values)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        raw = None
    if raw is not None:
        if raw.type == target or pa.types.is_null(raw.type):
            return raw.cast(target)
        if pa.types.is_string(raw.type) or (
            kind is not ColumnKind.DATETIME and kind is not ColumnKind.DATE
        ):
            try:
                return pc.cast(raw, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                pass
    if kind is ColumnKind.DOUBLE:
        return pa.array([_to_float(v) for v in values], target)
    if kind is ColumnKind.BOOLEAN:
        return pa.array([_to_bool(v) for v in values], target)
    if kind is ColumnKind.LONG:
        return pa.array([_to_int(v) for v in values], target)
    if kind is ColumnKind.DATE:
        return pa.array([_to_date(v) for v in values], target)
    return pa.array([parse_datetime_ms(v) for v in values], pa.int64()).cast(TIMESTAMP)


_STRINGLIKE = {ColumnKind.STRING, ColumnKind.DOUBLE, ColumnKind.DATETIME, ColumnKind.DATE}
_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _from_strings(kind: ColumnKind, raw: pa.Array) -> pa.Array:
    """A string column typed by a vectorised cast; element-wise parsing only if the cast fails."""
    if kind is ColumnKind.STRING:
        return raw
    target = ARROW_TYPES[kind]
    if kind is ColumnKind.DOUBLE:
        raw = pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
    try:
        return pc.cast(raw, target)
    except _CAST_ERRORS:
        return _typed(kind, raw.to_pylist())


def _struct_columns(
    columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]
) -> dict[str, pa.Array] | None:
    """Raw columns of ``rows`` converted in one Arrow call (a struct of the wanted keys).

    Property values are strings, so each column comes out as a string array (or bool/int64 for
    top-level flags), ready for a vectorised cast. ``None`` when a value does not fit (a number
    where a string was expected): the caller then converts column by column.
    """
    if not columns:
        return {}
    fields = []
    for col in columns:
        if col.kind in _STRINGLIKE:
            fields.append(pa.field(col.source, pa.string()))
        elif col.kind is ColumnKind.BOOLEAN and col.origin is Origin.FIELD:
            fields.append(pa.field(col.source, pa.bool_()))
        else:
            fields.append(pa.field(col.source, pa.string()))
    try:
        struct = pa.array(rows, type=pa.struct(fields))
    except _CAST_ERRORS:
        return None
    if struct.null_count:
        return None
    return {f.name: struct.field(i) for i, f in enumerate(fields)}


def _values(
    col: Column,
    records: Sequence[Mapping[str, Any]],
    props: list[Mapping[str, Any]],
    associations: Associations | None,
    deleted: bool,
) -> list[Any]:
    if col.origin is Origin.PROPERTY:
        name = col.source
        return [p.get(name) for p in props]
    if col.origin is Origin.FIELD:
        key = col.source
        return [r.get(key) for r in records]
    if col.origin is Origin.DELETED:
        return [deleted] * len(records)
    if col.origin is Origin.JSON:
        key = col.source
        return [None if r.get(key) is None else json.dumps(r.get(key)) for r in records]
    found = (associations or {}).get(col.source)
    if found is None:
        return [None if deleted else [] for _ in records]
    return [list(found.get(str(r.get("id")), ())) for r in records]


def build_batch(
    layout: TableLayout,
    records: Sequence[Mapping[str, Any]],
    *,
    associations: Associations | None = None,
    deleted: bool = False,
) -> pa.RecordBatch:
    """One record batch in ``layout.schema`` from HubSpot records (ids as strings)."""
    props = [r.get("properties") or {} for r in records]
    fast: dict[tuple[Origin, str], pa.Array] = {}
    for origin, rows in ((Origin.PROPERTY, props), (Origin.FIELD, records)):
        wanted = [c for c in layout.columns if c.origin is origin and c.kind in _STRINGLIKE]
        if origin is Origin.FIELD:
            wanted += [
                c for c in layout.columns if c.origin is origin and c.kind is ColumnKind.BOOLEAN
            ]
        raw = _struct_columns(wanted, rows)
        if raw is not None:
            for col in wanted:
                fast[(origin, col.source)] = raw[col.source]
    arrays = []
    for col in layout.columns:
        raw_col = fast.get((col.origin, col.source))
        if raw_col is not None:
            arrays.append(
                raw_col
                if raw_col.type == ARROW_TYPES[col.kind]
                else _from_strings(col.kind, raw_col)
            )
        else:
            arrays.append(_typed(col.kind, _values(col, records, props, associations, deleted)))
    return pa.RecordBatch.from_arrays(arrays, schema=layout.schema)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_for_preview(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """Row objects keyed by column name with JSON values (datetimes as ISO-8601 UTC)."""
    return [{k: _jsonable(v) for k, v in row.items()} for row in batch.to_pylist()]
