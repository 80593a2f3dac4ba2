"""Tables derived from the CRM objects: association join tables, property history and merges.

* ``Hubspot.<From>_<To>_Associations`` (Fivetran's join style): one row per association type
  between two records, for every standard pair, company parent/child, deals and tickets, the
  engagements seen from the contact side, and every custom object with the standard objects its
  schema names;
* ``Hubspot.<Object>_Property_History`` for contacts, companies, deals, tickets and every custom
  object: one row per property version;
* ``Hubspot.<Object>_Merges`` for the same objects: one row per record merged into another.
"""

from __future__ import annotations

import re

from headwater.connectors.hubspot.tables import STANDARD_TABLES, TableDef, TableKind

__all__ = [
    "ASSOCIATION_PAIRS",
    "HISTORY_OBJECTS",
    "derived_tables",
    "singular_name",
]

#: (from type, to type) of the standard association tables, one direction per pair
ASSOCIATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("contacts", "companies"),
    ("deals", "contacts"),
    ("deals", "companies"),
    ("deals", "line_items"),
    ("deals", "tickets"),
    ("tickets", "contacts"),
    ("tickets", "companies"),
    ("companies", "companies"),
    ("contacts", "calls"),
    ("contacts", "emails"),
    ("contacts", "meetings"),
    ("contacts", "notes"),
    ("contacts", "tasks"),
)

#: objects with property history and merges (HubSpot merges these; custom objects too)
HISTORY_OBJECTS = ("contacts", "companies", "deals", "tickets")

_SINGULAR = {
    "contacts": "Contact",
    "companies": "Company",
    "deals": "Deal",
    "tickets": "Ticket",
    "line_items": "Line_Item",
    "products": "Product",
    "calls": "Call",
    "emails": "Email",
    "meetings": "Meeting",
    "notes": "Note",
    "tasks": "Task",
}


def _title(text: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", text) if p]
    return "_".join(p[:1].upper() + p[1:] for p in parts) or "Object"


def singular_name(table: TableDef) -> str:
    """``Contact`` for contacts, the schema's singular label (``Pet``) for a custom object."""
    known = _SINGULAR.get(table.object_type)
    if known is not None:
        return known
    if table.singular:
        return _title(table.singular)
    return table.name.removeprefix("Hubspot.").removeprefix("Custom_")


def _crm(object_type: str) -> TableDef:
    return next(
        t for t in STANDARD_TABLES if t.kind is TableKind.CRM and t.object_type == object_type
    )


def _association(source: TableDef, target: TableDef) -> TableDef:
    a, b = singular_name(source), singular_name(target)
    return TableDef(
        name=f"Hubspot.{a}_{b}_Associations",
        kind=TableKind.ASSOCIATIONS,
        object_type=source.object_type,
        associations=(target.object_type,),
        label=f"{a.replace('_', ' ')} to {b.replace('_', ' ').lower()} associations",
    )


def _history(source: TableDef) -> TableDef:
    name = singular_name(source)
    return TableDef(
        name=f"Hubspot.{name}_Property_History",
        kind=TableKind.PROPERTY_HISTORY,
        object_type=source.object_type,
        cursor_property=source.cursor_property,
        label=f"{name.replace('_', ' ')} property history",
    )


def _merges(source: TableDef) -> TableDef:
    name = singular_name(source)
    return TableDef(
        name=f"Hubspot.{name}_Merges",
        kind=TableKind.MERGES,
        object_type=source.object_type,
        cursor_property=source.cursor_property,
        label=f"{name.replace('_', ' ')} merges",
    )


def derived_tables(custom: list[TableDef]) -> list[TableDef]:
    """The derived tables of the standard objects, then those of ``custom`` objects."""
    out = [_association(_crm(a), _crm(b)) for a, b in ASSOCIATION_PAIRS]
    out += [_history(_crm(t)) for t in HISTORY_OBJECTS]
    out += [_merges(_crm(t)) for t in HISTORY_OBJECTS]
    for table in custom:
        for target in table.associations:
            out.append(_association(table, _crm(target)))
        out += [_history(table), _merges(table)]
    return out
