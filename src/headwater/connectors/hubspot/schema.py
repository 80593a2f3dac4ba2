"""Column naming, types and the Arrow schema of every HubSpot table.

Column names flatten the record the way Adobe's HubSpot source names them: path segments joined
with ``_``, each segment split on ``_``/``-`` and title-cased (``properties.firstname.value`` →
``Properties_Firstname_Value``). The same names are used in explore and in the Arrow batches, so a
mapping written against explore applies to the data unchanged. See ``docs/hubspot.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa

from headwater.connectors.hubspot.tables import TableDef, TableKind

__all__ = [
    "Column",
    "ColumnKind",
    "PropertyDef",
    "TableLayout",
    "column_name",
    "layout_for",
    "property_kind",
]

TIMESTAMP = pa.timestamp("ms", tz="UTC")


class ColumnKind(StrEnum):
    STRING = "string"
    DOUBLE = "double"
    LONG = "long"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    DATE = "date"
    ID_LIST = "id-list"


ARROW_TYPES: dict[ColumnKind, pa.DataType] = {
    ColumnKind.STRING: pa.string(),
    ColumnKind.DOUBLE: pa.float64(),
    ColumnKind.LONG: pa.int64(),
    ColumnKind.BOOLEAN: pa.bool_(),
    ColumnKind.DATETIME: TIMESTAMP,
    ColumnKind.DATE: pa.date32(),
    ColumnKind.ID_LIST: pa.list_(pa.string()),
}


class Origin(StrEnum):
    FIELD = "field"  # top-level key of the record (id, createdAt, ...)
    PROPERTY = "property"  # record["properties"][name]
    ASSOCIATION = "association"  # ids from v4 batch read
    DELETED = "deleted"  # the deleted flag of the archived pass
    JSON = "json"  # a nested top-level value, kept as JSON text


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """The parts of a HubSpot property definition that decide its column."""

    name: str
    type: str
    field_type: str = ""
    label: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> PropertyDef:
        options = tuple(
            (str(o.get("value")), str(o.get("label", "")))
            for o in item.get("options") or []
            if isinstance(o, dict) and o.get("value") is not None
        )
        return cls(
            name=str(item["name"]),
            type=str(item.get("type") or "string"),
            field_type=str(item.get("fieldType") or ""),
            label=str(item.get("label") or ""),
            options=options,
        )


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    source: str
    origin: Origin
    kind: ColumnKind
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def explore(self) -> dict[str, Any]:
        """Adobe's explore column: ``{name, type, meta:xdmType, xdm}``."""
        xdm: dict[str, Any]
        if self.kind is ColumnKind.DOUBLE:
            col: dict[str, Any] = {"name": self.name, "type": "double", "meta:xdmType": "number"}
            xdm = {"type": "number"}
        elif self.kind is ColumnKind.LONG:
            col = {"name": self.name, "type": "long", "meta:xdmType": "long"}
            xdm = {"type": "integer"}
        elif self.kind is ColumnKind.BOOLEAN:
            col = {"name": self.name, "type": "boolean", "meta:xdmType": "boolean"}
            xdm = {"type": "boolean"}
        elif self.kind is ColumnKind.DATETIME:
            col = {"name": self.name, "type": "string", "meta:xdmType": "date-time"}
            xdm = {"type": "string", "format": "date-time"}
        elif self.kind is ColumnKind.DATE:
            col = {"name": self.name, "type": "string", "meta:xdmType": "date"}
            xdm = {"type": "string", "format": "date"}
        elif self.kind is ColumnKind.ID_LIST:
            col = {"name": self.name, "type": "array", "meta:xdmType": "array"}
            xdm = {"type": "array", "items": {"type": "string"}}
        else:
            col = {"name": self.name, "type": "string", "meta:xdmType": "string"}
            xdm = {"type": "string"}
        if self.options:
            xdm["enum"] = [value for value, _ in self.options]
            xdm["meta:enum"] = dict(self.options)
        if self.description:
            xdm["description"] = self.description
        col["xdm"] = xdm
        return col


_SPLIT = re.compile(r"[_\-\s.]+")


def _title(segment: str) -> str:
    parts = [p for p in _SPLIT.split(segment) if p]
    return "_".join(p[:1].upper() + p[1:] for p in parts)


def column_name(*segments: str) -> str:
    """Adobe-style column name of a path (``column_name("properties", "hs_object_id", "value")``)."""
    return "_".join(t for t in (_title(s) for s in segments) if t)


def property_kind(prop: PropertyDef) -> ColumnKind:
    """HubSpot property type → column kind (number → double, bool → boolean, ...)."""
    kind = prop.type.lower()
    if kind == "number":
        return ColumnKind.DOUBLE
    if kind == "bool":
        return ColumnKind.BOOLEAN
    if kind == "datetime":
        return ColumnKind.DATETIME
    if kind == "date":
        return ColumnKind.DATE
    return ColumnKind.STRING


@dataclass(frozen=True, slots=True)
class TableLayout:
    table: TableDef
    columns: tuple[Column, ...]
    properties: tuple[str, ...] = ()  # HubSpot property names to request
    associations: tuple[str, ...] = ()  # association targets to read
    key: tuple[str, ...] = ("Id",)  # the dataset key: never null
    schema: pa.Schema = field(init=False)

    def __post_init__(self) -> None:
        fields = [
            pa.field(c.name, ARROW_TYPES[c.kind], nullable=c.name not in self.key)
            for c in self.columns
        ]
        object.__setattr__(self, "schema", pa.schema(fields))

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.key

    def explore_columns(self) -> list[dict[str, Any]]:
        return [c.explore() for c in self.columns]

    def select(self, names: Sequence[str] | None) -> TableLayout:
        """The layout restricted to ``names`` (plus the key and bookkeeping columns)."""
        if not names:
            return self
        wanted = set(names)
        known = {c.name for c in self.columns}
        unknown = sorted(wanted - known)
        if unknown:
            raise KeyError(", ".join(unknown))
        keep = tuple(
            c
            for c in self.columns
            if c.name in wanted or c.origin in _ALWAYS or c.name in _BOOK or c.name in self.key
        )
        return TableLayout(
            self.table,
            keep,
            tuple(c.source for c in keep if c.origin is Origin.PROPERTY),
            tuple(c.source for c in keep if c.origin is Origin.ASSOCIATION),
            self.key,
        )


_ALWAYS = {Origin.DELETED}
_BOOK = {"Id", "Created_At", "Updated_At", "Archived", "Archived_At"}


def _unique(columns: Iterable[Column]) -> tuple[Column, ...]:
    """Disambiguate names that collide after title-casing by suffixing ``_2``, ``_3``, ..."""
    seen: dict[str, int] = {}
    out: list[Column] = []
    for col in columns:
        key = col.name.lower()
        if key in seen:
            seen[key] += 1
            out.append(
                Column(
                    f"{col.name}_{seen[key]}",
                    col.source,
                    col.origin,
                    col.kind,
                    col.description,
                    col.options,
                )
            )
        else:
            seen[key] = 1
            out.append(col)
    return tuple(out)


def _crm_layout(table: TableDef, props: Sequence[PropertyDef]) -> TableLayout:
    base = [
        Column("Id", "id", Origin.FIELD, ColumnKind.STRING, "HubSpot record id (hs_object_id)"),
        Column("Created_At", "createdAt", Origin.FIELD, ColumnKind.DATETIME),
        Column("Updated_At", "updatedAt", Origin.FIELD, ColumnKind.DATETIME),
        Column("Archived", "archived", Origin.FIELD, ColumnKind.BOOLEAN),
        Column("Archived_At", "archivedAt", Origin.FIELD, ColumnKind.DATETIME),
        Column(
            "Is_Deleted",
            "",
            Origin.DELETED,
            ColumnKind.BOOLEAN,
            "true on rows of the archived pass: the record was deleted (archived) in HubSpot",
        ),
    ]
    prop_cols = [
        Column(
            column_name("properties", p.name, "value"),
            p.name,
            Origin.PROPERTY,
            property_kind(p),
            p.label,
            p.options if p.type.lower() == "enumeration" else (),
        )
        for p in sorted(props, key=lambda p: p.name)
    ]
    assoc_cols = [
        Column(
            column_name("associations", target, "ids"),
            target,
            Origin.ASSOCIATION,
            ColumnKind.ID_LIST,
            f"ids of associated {target}",
        )
        for target in table.associations
    ]
    columns = _unique([*base, *prop_cols, *assoc_cols])
    return TableLayout(
        table,
        columns,
        tuple(c.source for c in columns if c.origin is Origin.PROPERTY),
        table.associations,
    )


_OWNER_COLUMNS = (
    Column("Id", "id", Origin.FIELD, ColumnKind.STRING),
    Column("Email", "email", Origin.FIELD, ColumnKind.STRING),
    Column("First_Name", "firstName", Origin.FIELD, ColumnKind.STRING),
    Column("Last_Name", "lastName", Origin.FIELD, ColumnKind.STRING),
    Column("User_Id", "userId", Origin.FIELD, ColumnKind.LONG),
    Column("User_Id_Including_Inactive", "userIdIncludingInactive", Origin.FIELD, ColumnKind.LONG),
    Column("Type", "type", Origin.FIELD, ColumnKind.STRING),
    Column("Created_At", "createdAt", Origin.FIELD, ColumnKind.DATETIME),
    Column("Updated_At", "updatedAt", Origin.FIELD, ColumnKind.DATETIME),
    Column("Archived", "archived", Origin.FIELD, ColumnKind.BOOLEAN),
    Column("Teams", "teams", Origin.JSON, ColumnKind.STRING, "teams as JSON"),
    Column("Is_Deleted", "", Origin.DELETED, ColumnKind.BOOLEAN),
)

_PIPELINE_COLUMNS = (
    Column("Id", "id", Origin.FIELD, ColumnKind.STRING),
    Column("Label", "label", Origin.FIELD, ColumnKind.STRING),
    Column("Display_Order", "displayOrder", Origin.FIELD, ColumnKind.LONG),
    Column("Created_At", "createdAt", Origin.FIELD, ColumnKind.DATETIME),
    Column("Updated_At", "updatedAt", Origin.FIELD, ColumnKind.DATETIME),
    Column("Archived", "archived", Origin.FIELD, ColumnKind.BOOLEAN),
    Column("Stages", "stages", Origin.JSON, ColumnKind.STRING, "stages as JSON"),
    Column("Is_Deleted", "", Origin.DELETED, ColumnKind.BOOLEAN),
)


def layout_for(table: TableDef, props: Sequence[PropertyDef] = ()) -> TableLayout:
    """The full column layout of ``table`` (CRM tables need their property definitions)."""
    if table.kind is TableKind.OWNERS:
        return TableLayout(table, _OWNER_COLUMNS)
    if table.kind is TableKind.PIPELINES:
        return TableLayout(table, _PIPELINE_COLUMNS)
    return _crm_layout(table, props)
