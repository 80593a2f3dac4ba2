"""CRM records as HubSpot's JSON (``SimplePublicObject[WithAssociations]``), assembled as strings:
the list hot path writes one f-string per record from pre-encoded property fragments."""

from __future__ import annotations

from typing import Any

import numpy as np

from headwater.emulator.hubspot.data import ObjectStore, PropPlan
from headwater.emulator.hubspot.http import Request, dumps
from headwater.emulator.hubspot.portal_metadata import IGNORED_ASSOCIATION_NAMES, ObjectType
from headwater.emulator.hubspot.state import PortalState
from headwater.emulator.hubspot.values import iso_ms

INLINE_ASSOC_MAX = 100


def records_json(
    state: PortalState,
    t: ObjectType,
    store: ObjectStore,
    ids: list[int],
    plans: list[PropPlan],
    history: list[str],
    assoc: list[ObjectType],
    req: Request | None,
) -> list[str]:
    """Records as JSON strings; properties for the whole page are generated at once."""
    times = store.page_times(ids)
    props = store.page_properties_json(ids, plans, times)
    idx = np.array(ids, dtype=np.int64) - 1
    archived_flags: list[bool] = store.archived[idx].tolist()
    if not history and not assoc and not any(archived_flags):
        # the common case: one f-string per record
        return [
            f'{{"id":"{rid}","properties":{p},"createdAt":"{c}","updatedAt":"{u}","archived":false}}'
            for rid, p, c, u in zip(ids, props, *times, strict=True)
        ]
    out = []
    for rid, props_json, created, updated, is_archived in zip(
        ids, props, *times, archived_flags, strict=True
    ):
        parts = [f'{{"id":"{rid}","properties":', props_json]
        if history:
            hist = {n: store.history_for(rid, n) for n in history if store.known(n)}
            parts.append(',"propertiesWithHistory":' + dumps(hist).decode())
        parts.append(f',"createdAt":"{created}","updatedAt":"{updated}"')
        if is_archived:
            archived_at = iso_ms(int(store.archived_at[rid - 1]))
            parts.append(f',"archived":true,"archivedAt":"{archived_at}"')
        else:
            parts.append(',"archived":false')
        if assoc:
            block = inline_associations(state, t, rid, assoc, req)
            if block:
                parts.append(',"associations":' + dumps(block).decode())
        parts.append("}")
        out.append("".join(parts))
    return out


def record_json(
    state: PortalState,
    t: ObjectType,
    store: ObjectStore,
    rid: int,
    plans: list[PropPlan],
    history: list[str] | None = None,
    assoc: list[ObjectType] | None = None,
    req: Request | None = None,
) -> str:
    return records_json(state, t, store, [rid], plans, history or [], assoc or [], req)[0]


def inline_associations(
    state: PortalState, t: ObjectType, rid: int, assoc: list[ObjectType], req: Request | None
) -> dict[str, Any]:
    """The ``associations`` block of one record, truncated at 100 per type with a ``paging`` link
    to the per-object association endpoint."""
    out: dict[str, Any] = {}
    for other in assoc:
        links = state.graph.links(t.name, other.name, rid)
        if not links:
            continue
        entries = [
            {"id": str(link.to_id), "type": at.v3_name}
            for link in links[:INLINE_ASSOC_MAX]
            for at in link.types
        ]
        block: dict[str, Any] = {"results": entries}
        if len(links) > INLINE_ASSOC_MAX and req is not None:
            after = str(INLINE_ASSOC_MAX)
            block["paging"] = {
                "next": {
                    "after": after,
                    "link": f"{req.base_url}/crm/v3/objects/{t.name}/{rid}/associations/{other.assoc_key}?after={after}",
                }
            }
        out[other.assoc_key] = block
    return out


def association_types(state: PortalState, req: Request) -> list[ObjectType]:
    """The object types named by ``associations=`` (unknown names are a 400)."""
    out: list[ObjectType] = []
    for name in req.params("associations"):
        if name.lower() in IGNORED_ASSOCIATION_NAMES:
            continue
        t = state.resolve(name)
        if t not in out:
            out.append(t)
    return out
