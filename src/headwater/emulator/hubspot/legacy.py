"""Legacy v1/v2 record shapes (``/deals/v1/deal/paged``, ``/companies/v2/companies/paged``) still
used by singer-io's tap: offset paging, epoch-ms values, ``{"value", "timestamp", "versions"}``
property objects and id-list associations."""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot.associations import AssociationGraph
from headwater.emulator.hubspot.data import ObjectStore
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.values import parse_time_ms

ID_KEY = {"deals": "dealId", "companies": "companyId"}
ASSOC_KEYS = {
    "contacts": "associatedVids",
    "companies": "associatedCompanyIds",
    "deals": "associatedDealIds",
    "tickets": "associatedTicketIds",
}


def legacy_value(ptype: str, value: str) -> str:
    """v1/v2 encode dates and datetimes as epoch-ms strings."""
    if ptype in ("date", "datetime"):
        ms = parse_time_ms(value)
        return value if ms is None else str(ms)
    return value


def legacy_record(
    t: ObjectType,
    store: ObjectStore,
    graph: AssociationGraph,
    portal_id: int,
    rid: int,
    names: list[str] | None,
    *,
    associations: bool,
) -> dict[str, Any]:
    """One record in the legacy shape; ``names=None`` means every property with a value."""
    stamp = int(store.updated[rid - 1])
    props: dict[str, Any] = {}
    for p in t.properties:
        if names is not None and p.name not in names:
            continue
        value = store.value(rid, p.name)
        if value is None:
            continue
        v = legacy_value(p.type, value)
        version = {
            "name": p.name,
            "value": v,
            "timestamp": stamp,
            "source": "API",
            "sourceId": None,
            "sourceVid": [],
        }
        props[p.name] = {
            "value": v,
            "timestamp": stamp,
            "source": "API",
            "sourceId": None,
            "versions": [version],
        }
    out: dict[str, Any] = {
        "portalId": portal_id,
        ID_KEY[t.name]: rid,
        "isDeleted": False,
        "properties": props,
    }
    if associations:
        assoc: dict[str, list[int]] = {}
        for other, key in ASSOC_KEYS.items():
            assoc[key] = (
                [link.to_id for link in graph.links(t.name, other, rid)]
                if graph.has(t.name, other)
                else []
            )
        out["associations"] = assoc
    if t.name == "deals":
        out["imports"] = []
        out["stateChanges"] = []
    return out
