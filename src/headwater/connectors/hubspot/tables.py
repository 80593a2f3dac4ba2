"""Which tables the HubSpot source offers, and how each maps onto HubSpot's API.

Table names follow Adobe's ``Hubspot.<Name>`` convention (``Hubspot.Contacts``,
``Hubspot.All_Deals``). Every CRM object table reads ``/crm/v3/objects/{type}``; owners and
pipelines have their own endpoints and no server-side cursor, so they are always read in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "STANDARD_TABLES",
    "TableDef",
    "TableKind",
    "custom_table",
    "custom_table_name",
]


class TableKind(StrEnum):
    CRM = "crm"
    OWNERS = "owners"
    PIPELINES = "pipelines"
    MARKETING = "marketing"  # lists and marketing tables (marketing_tables.py)
    PIPELINE_STAGES = "pipeline_stages"
    OWNER_TEAMS = "owner_teams"
    USERS = "users"
    TEAMS = "teams"
    ASSOCIATIONS = "associations"  # one row per association (join table)
    PROPERTY_HISTORY = "property_history"  # one row per property version
    MERGES = "merges"  # one row per merged-away record


@dataclass(frozen=True, slots=True, kw_only=True)
class TableDef:
    name: str
    kind: TableKind
    object_type: str  # path segment: "contacts", "2-7232155", pipelines of "deals"
    cursor_property: str | None = None  # the search filter for incremental reads
    associations: tuple[str, ...] = ()  # association targets, read with v4 batch read
    label: str = ""
    singular: str = ""  # a custom object's singular label (derived table names)

    @property
    def incremental(self) -> bool:
        return self.cursor_property is not None


_ENGAGEMENT_ASSOCIATIONS = ("contacts", "companies", "deals", "tickets")


def _crm(name: str, object_type: str, associations: tuple[str, ...], cursor: str) -> TableDef:
    return TableDef(
        name=f"Hubspot.{name}",
        kind=TableKind.CRM,
        object_type=object_type,
        cursor_property=cursor,
        associations=associations,
        label=name.replace("_", " "),
    )


STANDARD_TABLES: tuple[TableDef, ...] = (
    _crm("Contacts", "contacts", ("companies", "deals", "tickets"), "lastmodifieddate"),
    _crm("Companies", "companies", ("contacts", "deals", "tickets"), "hs_lastmodifieddate"),
    _crm("Deals", "deals", ("contacts", "companies", "line_items"), "hs_lastmodifieddate"),
    # Adobe's documented name for the deals table; the same data.
    _crm("All_Deals", "deals", ("contacts", "companies", "line_items"), "hs_lastmodifieddate"),
    _crm("Tickets", "tickets", ("contacts", "companies", "deals"), "hs_lastmodifieddate"),
    _crm("Products", "products", (), "hs_lastmodifieddate"),
    _crm("Line_Items", "line_items", ("deals",), "hs_lastmodifieddate"),
    TableDef(name="Hubspot.Owners", kind=TableKind.OWNERS, object_type="owners", label="Owners"),
    _crm("Calls", "calls", _ENGAGEMENT_ASSOCIATIONS, "hs_lastmodifieddate"),
    _crm("Emails", "emails", _ENGAGEMENT_ASSOCIATIONS, "hs_lastmodifieddate"),
    _crm("Meetings", "meetings", _ENGAGEMENT_ASSOCIATIONS, "hs_lastmodifieddate"),
    _crm("Notes", "notes", _ENGAGEMENT_ASSOCIATIONS, "hs_lastmodifieddate"),
    _crm("Tasks", "tasks", _ENGAGEMENT_ASSOCIATIONS, "hs_lastmodifieddate"),
    TableDef(
        name="Hubspot.Deal_Pipelines",
        kind=TableKind.PIPELINES,
        object_type="deals",
        label="Deal pipelines",
    ),
    TableDef(
        name="Hubspot.Ticket_Pipelines",
        kind=TableKind.PIPELINES,
        object_type="tickets",
        label="Ticket pipelines",
    ),
    # the other standard objects, read like contacts
    _crm("Quotes", "quotes", (), "hs_lastmodifieddate"),
    _crm("Leads", "leads", (), "hs_lastmodifieddate"),
    _crm("Goals", "goal_targets", (), "hs_lastmodifieddate"),
    _crm("Feedback_Submissions", "feedback_submissions", (), "hs_lastmodifieddate"),
    _crm("Communications", "communications", (), "hs_lastmodifieddate"),
    _crm("Postal_Mail", "postal_mail", (), "hs_lastmodifieddate"),
    _crm("Deal_Splits", "deal_splits", (), "hs_lastmodifieddate"),
    _crm("Invoices", "invoices", (), "hs_lastmodifieddate"),
    _crm("Orders", "orders", (), "hs_lastmodifieddate"),
    _crm("Carts", "carts", (), "hs_lastmodifieddate"),
    TableDef(
        name="Hubspot.Deal_Pipeline_Stages",
        kind=TableKind.PIPELINE_STAGES,
        object_type="deals",
        label="Deal pipeline stages",
    ),
    TableDef(
        name="Hubspot.Ticket_Pipeline_Stages",
        kind=TableKind.PIPELINE_STAGES,
        object_type="tickets",
        label="Ticket pipeline stages",
    ),
    TableDef(
        name="Hubspot.Owner_Teams",
        kind=TableKind.OWNER_TEAMS,
        object_type="owners",
        label="Owner teams",
    ),
    TableDef(name="Hubspot.Users", kind=TableKind.USERS, object_type="users", label="Users"),
    TableDef(name="Hubspot.Teams", kind=TableKind.TEAMS, object_type="teams", label="Teams"),
)

_STANDARD_NAMES = {t.name.lower() for t in STANDARD_TABLES}

#: objectTypeId of the standard objects a custom object can be associated with.
STANDARD_TYPE_IDS = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-5": "tickets",
    "0-7": "products",
    "0-8": "line_items",
}


def custom_table_name(name: str) -> str:
    """``Hubspot.<Name>`` for a custom object's ``name`` (``pets`` → ``Hubspot.Pets``).

    A name that would shadow a standard table gets a ``Custom_`` prefix.
    """
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    title = "_".join(p[:1].upper() + p[1:] for p in parts) or "Object"
    table = f"Hubspot.{title}"
    if table.lower() in _STANDARD_NAMES:
        table = f"Hubspot.Custom_{title}"
    return table


def custom_table(schema: dict[str, object]) -> TableDef | None:
    """A table for one entry of ``/crm/v3/schemas``; ``None`` when the entry is unusable."""
    type_id = schema.get("objectTypeId")
    name = schema.get("name")
    if not isinstance(type_id, str) or not isinstance(name, str) or schema.get("archived"):
        return None
    targets: list[str] = []
    for assoc in schema.get("associations") or []:  # type: ignore[attr-defined]
        if not isinstance(assoc, dict):
            continue
        other = assoc.get("toObjectTypeId")
        if other == type_id:
            other = assoc.get("fromObjectTypeId")
        target = STANDARD_TYPE_IDS.get(str(other))
        if target and target not in targets:
            targets.append(target)
    labels = schema.get("labels")
    label = labels.get("plural", name) if isinstance(labels, dict) else name
    singular = labels.get("singular", "") if isinstance(labels, dict) else ""
    return TableDef(
        name=custom_table_name(name),
        kind=TableKind.CRM,
        object_type=type_id,
        cursor_property="hs_lastmodifieddate",
        associations=tuple(targets),
        label=str(label),
        singular=str(singular or ""),
    )
