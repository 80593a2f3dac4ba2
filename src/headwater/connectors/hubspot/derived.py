"""Tables derived from the CRM objects: association join tables, property history and merges.

* ``Hubspot.<From>_<To>_Associations`` (Fivetran's join style): one row per association type
  between two records, for every standard pair, company parent/child, deals and tickets, the
  engagements seen from the contact side (communications and postal mail too), quotes, invoices,
  orders and carts with contacts, companies, deals and line items (carts: no companies), leads
  with contacts and companies, feedback submissions with contacts and tickets, and every custom
  object with the standard objects its schema names;
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
    # the other standard objects; each pair's type ids come from HubSpot (none is hard-coded here)
    ("quotes", "contacts"),
    ("quotes", "companies"),
    ("quotes", "deals"),
    ("quotes", "line_items"),
    ("invoices", "contacts"),
    ("invoices", "companies"),
    ("invoices", "deals"),
    ("invoices", "line_items"),
    ("orders", "contacts"),
    ("orders", "companies"),
    ("orders", "deals"),
    ("orders", "line_items"),
    ("carts", "contacts"),
    ("carts", "deals"),
    ("carts", "line_items"),
    ("leads", "contacts"),
    ("leads", "companies"),
    ("contacts", "communications"),
    ("contacts", "postal_mail"),
    ("feedback_submissions", "contacts"),
    ("feedback_submissions", "tickets"),
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
    "quotes": "Quote",
    "invoices": "Invoice",
    "orders": "Order",
    "carts": "Cart",
    "leads": "Lead",
    "communications": "Communication",
    "postal_mail": "Postal_Mail",
    "feedback_submissions": "Feedback_Submission",
    "goal_targets": "Goal",
    "deal_splits": "Deal_Split",
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


def _sentence(name: str) -> str:
    """``Feedback_Submission`` -> ``Feedback submission``."""
    text = name.replace("_", " ")
    return text[:1] + text[1:].lower()


def _association(source: TableDef, target: TableDef) -> TableDef:
    a, b = singular_name(source), singular_name(target)
    return TableDef(
        name=f"Hubspot.{a}_{b}_Associations",
        kind=TableKind.ASSOCIATIONS,
        object_type=source.object_type,
        associations=(target.object_type,),
        label=f"{_sentence(a)} to {b.replace('_', ' ').lower()} associations",
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
