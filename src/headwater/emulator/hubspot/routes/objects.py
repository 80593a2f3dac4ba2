"""CRM objects: list, read, batch read, search and writes on ``/crm/v3/objects/{t}``,
``/crm/v4/objects/{t}`` and ``/crm/objects/{YYYY-MM}/{t}``, plus the legacy ``deals/v1`` and
``companies/v2`` record paths singer-io's tap reads."""

from __future__ import annotations

import json
from typing import Any

from headwater.emulator.hubspot.data import ObjectStore, PropPlan
from headwater.emulator.hubspot.http import Response, dumps, json_response, raw_json
from headwater.emulator.hubspot.legacy import legacy_record
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.records import association_types, record_json, records_json
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    error,
    int_param,
    lookup,
    not_found,
    under,
    validation_error,
)
from headwater.emulator.hubspot.search import run_search
from headwater.emulator.hubspot.values import iso_ms

LIST_MAX = 100
HISTORY_MAX = 50
BATCH_MAX = 100
BATCH_WRITE_OPS = ("create", "update", "upsert", "archive")

OBJECTS = ("/crm/{version:v3|v4}/objects/{type}", "/crm/objects/{version:YYYY-MM}/{type}")
RECORD = under(OBJECTS, "/{id}")


def h_list(ctx: Ctx) -> Response:
    req = ctx.req
    t, store = ctx.object_type()
    history = req.params("propertiesWithHistory")
    limit = int_param(req.param("limit"), 10, "limit")
    maximum = HISTORY_MAX if history else LIST_MAX
    if limit < 1 or limit > maximum:
        with_history = " when requesting propertiesWithHistory" if history else ""
        raise validation_error(f"limit must be between 1 and {maximum}{with_history}")
    after_raw = req.param("after")
    after = int_param(after_raw, 1, "after")
    archived = req.flag("archived")
    offset_raw = req.param("offset")
    if after_raw is None and offset_raw:
        # Airbyte 5.7.0 pages products/line items/goals with ``offset`` (skip N records) on
        # this endpoint; honoured here as an unconfirmed HubSpot behaviour.
        after = store.id_at_offset(int_param(offset_raw, 0, "offset"), archived=archived)
    props = req.params("properties")
    plans = store.plans(props if props else t.default_props)
    assoc = association_types(ctx.state, req)
    if ctx.faults.empty:
        return raw_json(
            f'{{"results":[],"paging":{{"next":{{"after":"{after}",'
            f'"link":{json.dumps(req.link_with("after", str(after)))}}}}}}}'
        )
    ids = store.next_ids(after, limit + 1, archived=archived)
    more = len(ids) > limit
    ids = ids[:limit]
    records = ",".join(records_json(ctx.state, t, store, ids, plans, history, assoc, req))
    if more:
        nxt = after if ctx.faults.repeat and after_raw is not None else ids[-1] + 1
        link = req.link_with("after", str(nxt))
        return raw_json(
            f'{{"results":[{records}],"paging":{{"next":{{"after":"{nxt}","link":{json.dumps(link)}}}}}}}'
        )
    return raw_json(f'{{"results":[{records}]}}')


def h_read(ctx: Ctx) -> Response:
    req = ctx.req
    t, store = ctx.object_type()
    raw_id = ctx.args["id"]
    rid = lookup(t, store, raw_id, req.param("idProperty"))
    if rid is None or store.is_archived(rid) != req.flag("archived"):
        raise not_found(raw_id)
    props = req.params("properties")
    plans = store.plans(props if props else t.default_props)
    history = req.params("propertiesWithHistory")
    assoc = association_types(ctx.state, req)
    return raw_json(record_json(ctx.state, t, store, rid, plans, history, assoc, req))


def _batch_errors(message: str, missing: list[str]) -> str:
    err = {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": message,
        "context": {"ids": missing},
        "errors": [],
        "links": {},
    }
    return f',"numErrors":{len(missing)},"errors":[{dumps(err).decode()}]}}'


def h_batch_read(ctx: Ctx) -> Response:
    req = ctx.req
    t, store = ctx.object_type()
    body = req.json()
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("inputs is required")
    history = [str(x) for x in body.get("propertiesWithHistory") or []]
    maximum = HISTORY_MAX if history else BATCH_MAX
    if len(inputs) > maximum:
        raise validation_error(f"Batch read is limited to {maximum} inputs, got {len(inputs)}")
    props = [str(x) for x in body.get("properties") or []]
    plans = store.plans(props if props else t.default_props)
    archived = req.flag("archived")
    started = iso_ms(ctx.state.now_ms())
    found: list[str] = []
    missing: list[str] = []
    seen: set[int] = set()
    for item in inputs:
        raw = str(item.get("id", "")) if isinstance(item, dict) else str(item)
        rid = lookup(t, store, raw, body.get("idProperty"))
        if rid is None or store.is_archived(rid) != archived:
            missing.append(raw)
            continue
        if rid in seen:
            continue
        seen.add(rid)
        found.append(record_json(ctx.state, t, store, rid, plans, history))
    completed = iso_ms(ctx.state.now_ms())
    head = f'{{"status":"COMPLETE","results":[{",".join(found)}],"startedAt":"{started}","completedAt":"{completed}"'
    if missing:
        message = (
            f"Could not get some {t.singular.upper()} objects, they may be deleted or not exist. "
            "Check that ids are valid."
        )
        return raw_json(head + _batch_errors(message, missing), 207)
    return raw_json(head + "}")


def h_search(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    page = run_search(store, t, ctx.req.json(), ctx.state.now_ms())
    records = []
    for rid in page.ids:
        props = dumps(store.properties_dict(rid, page.plans, search_view=True)).decode()
        created = iso_ms(int(store.created[rid - 1]))
        updated = iso_ms(int(store.s_updated[rid - 1]))
        records.append(
            f'{{"id":"{rid}","properties":{props},"createdAt":"{created}","updatedAt":"{updated}","archived":false}}'
        )
    out = f'{{"total":{page.total},"results":[{",".join(records)}]'
    if page.next_after is not None:
        out += f',"paging":{{"next":{{"after":"{page.next_after}"}}}}'
    return raw_json(out + "}")


def properties_from_body(t: ObjectType, item: Any) -> dict[str, str | None]:
    """The ``properties`` of a write, as stored strings; unknown or read-only names are a 400."""
    if not isinstance(item, dict) or not isinstance(item.get("properties", {}), dict):
        raise validation_error("properties must be an object")
    props: dict[str, str | None] = {}
    bad = []
    for k, v in item.get("properties", {}).items():
        p = t.prop(k)
        if p is None or p.read_only:
            bad.append(k)
            continue
        props[k] = (
            None if v is None or v == "" else (str(v).lower() if isinstance(v, bool) else str(v))
        )
    if bad:
        details = [
            {
                "isValid": False,
                "message": f'Property "{k}" does not exist',
                "error": "PROPERTY_DOESNT_EXIST",
                "name": k,
            }
            for k in bad
        ]
        raise error(
            400,
            "VALIDATION_ERROR",
            f"Property values were not valid: {json.dumps(details)}",
            errors=[
                {
                    "message": d["message"],
                    "code": "PROPERTY_DOESNT_EXIST",
                    "context": {"propertyName": [d["name"]]},
                }
                for d in details
            ],
        )
    return props


def _written(store: ObjectStore, t: ObjectType, props: dict[str, str | None]) -> list[PropPlan]:
    """What a write answers with: the default properties plus the ones written."""
    return store.plans([*t.default_props, *props])


def h_create(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    props = properties_from_body(t, ctx.req.json())
    with ctx.state.lock:
        rid = ctx.state.create(t.name, props)
    return raw_json(record_json(ctx.state, t, store, rid, _written(store, t, props)), 201)


def h_update(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    raw_id = ctx.args["id"]
    rid = lookup(t, store, raw_id, ctx.req.param("idProperty"))
    if rid is None or store.is_archived(rid):
        raise not_found(raw_id)
    props = properties_from_body(t, ctx.req.json())
    ctx.state.update(t.name, rid, props)
    return raw_json(record_json(ctx.state, t, store, rid, _written(store, t, props)))


def h_archive(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    rid = lookup(t, store, ctx.args["id"], None)
    if rid is not None and not store.is_archived(rid):
        ctx.state.archive(t.name, ids=[rid])
    return Response(204, b"", None)


def h_batch_write(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    op = ctx.args["op"]
    inputs = ctx.req.json().get("inputs")
    if not isinstance(inputs, list) or len(inputs) > BATCH_MAX:
        raise validation_error(f"inputs must be a list of at most {BATCH_MAX} items")
    started = iso_ms(ctx.state.now_ms())
    if op == "archive":
        ids = []
        for item in inputs:
            rid = (
                lookup(t, store, str(item.get("id", "")), None) if isinstance(item, dict) else None
            )
            if rid is not None:
                ids.append(rid)
        ctx.state.archive(t.name, ids=ids)
        return Response(204, b"", None)
    results: list[str] = []
    missing: list[str] = []
    with ctx.state.lock:
        for item in inputs:
            props = properties_from_body(t, item)
            if op == "create":
                rid = ctx.state.create(t.name, props)
            else:
                raw = str(item.get("id", ""))
                found = lookup(t, store, raw, item.get("idProperty"))
                if found is None and op == "upsert":
                    found = ctx.state.create(t.name, props)
                elif found is None or store.is_archived(found):
                    missing.append(raw)
                    continue
                else:
                    ctx.state.update(t.name, found, props)
                rid = found
            results.append(record_json(ctx.state, t, store, rid, _written(store, t, props)))
    completed = iso_ms(ctx.state.now_ms())
    head = f'{{"status":"COMPLETE","results":[{",".join(results)}],"startedAt":"{started}","completedAt":"{completed}"'
    if missing:
        return raw_json(head + _batch_errors("Some objects could not be found.", missing), 207)
    return raw_json(head + "}", 201 if op == "create" else 200)


def _live_record(
    t: ObjectType, store: ObjectStore, raw: Any, id_property: str | None = None
) -> int:
    rid = lookup(t, store, str(raw or ""), id_property)
    if rid is None or store.is_archived(rid):
        raise not_found(str(raw))
    return rid


def h_merge(ctx: Ctx) -> Response:
    """``POST .../merge``: a new record replaces both (see :meth:`PortalState.merge`)."""
    t, store = ctx.object_type()
    if not t.mergeable:
        raise validation_error(f"Records of {t.name} cannot be merged")
    body = ctx.req.json()
    if (
        not isinstance(body, dict)
        or not body.get("primaryObjectId")
        or not body.get("objectIdToMerge")
    ):
        raise validation_error("primaryObjectId and objectIdToMerge are required")
    primary = _live_record(t, store, body["primaryObjectId"])
    secondary = _live_record(t, store, body["objectIdToMerge"])
    if primary == secondary:
        raise validation_error("A record cannot be merged with itself")
    merged = ctx.state.merge(t.name, primary, secondary)
    return raw_json(record_json(ctx.state, t, store, merged, store.plans(t.default_props)))


def h_gdpr_delete(ctx: Ctx) -> Response:
    """``POST .../gdpr-delete``: the record is gone for good, without passing through the archived
    list. An email that names no record is answered 204 (HubSpot blocks it for the future)."""
    t, store = ctx.object_type()
    body = ctx.req.json()
    if not isinstance(body, dict) or not body.get("objectId"):
        raise validation_error("objectId is required")
    id_property = body.get("idProperty")
    rid = lookup(t, store, str(body["objectId"]), id_property)
    if rid is None:
        if id_property == "email":
            return Response(204, b"", None)
        raise not_found(str(body["objectId"]))
    ctx.state.gdpr_delete(t.name, rid)
    return Response(204, b"", None)


# --------------------------------------------------------------------------- legacy v1/v2 records


def h_legacy_paged(ctx: Ctx) -> Response:
    req = ctx.req
    t, store = ctx.object_type()
    limit = min(max(int_param(req.param("limit") or req.param("count"), 100, "limit"), 1), 250)
    offset = int_param(req.param("offset"), 0, "offset")
    names = None if req.flag("includeAllProperties") else req.params("properties")
    ids = store.next_ids(offset + 1, limit + 1, archived=False)
    page = ids[:limit]
    records = [
        legacy_record(
            t,
            store,
            ctx.state.graph,
            ctx.state.portal_id,
            rid,
            names,
            associations=req.flag("includeAssociations"),
        )
        for rid in page
    ]
    more = len(ids) > limit
    key = "deals" if t.name == "deals" else "companies"
    more_key = "hasMore" if t.name == "deals" else "has-more"
    return json_response({key: records, more_key: more, "offset": page[-1] if page else offset})


def h_legacy_read(ctx: Ctx) -> Response:
    t, store = ctx.object_type()
    raw_id = ctx.args["id"]
    rid = lookup(t, store, raw_id, None)
    if rid is None or store.is_archived(rid):
        raise not_found(raw_id)
    return json_response(
        legacy_record(t, store, ctx.state.graph, ctx.state.portal_id, rid, None, associations=True)
    )


def _legacy(family: str, path: str, object_type: str) -> RouteTable:
    defaults = (("type", object_type),)
    return (
        Route(
            "GET",
            f"{path}/paged",
            h_legacy_paged,
            f"{family}.legacy_paged",
            scope_type="type",
            defaults=defaults,
        ),
        Route(
            "GET",
            f"{path}/{{id}}",
            h_legacy_read,
            f"{family}.legacy_read",
            scope_type="type",
            defaults=defaults,
        ),
    )


ROUTES: RouteTable = (
    Route("GET", OBJECTS, h_list, "objects.list", scope_type="type"),
    Route("POST", OBJECTS, h_create, "objects.create", scope_type="type", write=True),
    Route(
        "POST",
        under(OBJECTS, "/search"),
        h_search,
        "objects.search",
        scope_type="type",
        search=True,
    ),
    Route(
        "POST", under(OBJECTS, "/batch/read"), h_batch_read, "objects.batch_read", scope_type="type"
    ),
    *(
        Route(
            "POST",
            under(OBJECTS, f"/batch/{op}"),
            h_batch_write,
            f"objects.batch_{op}",
            scope_type="type",
            write=True,
            defaults=(("op", op),),
        )
        for op in BATCH_WRITE_OPS
    ),
    Route(
        "POST", under(OBJECTS, "/merge"), h_merge, "objects.merge", scope_type="type", write=True
    ),
    Route(
        "POST",
        under(OBJECTS, "/gdpr-delete"),
        h_gdpr_delete,
        "objects.gdpr_delete",
        scope_type="type",
        write=True,
    ),
    Route("GET", RECORD, h_read, "objects.read", scope_type="type"),
    Route("PATCH", RECORD, h_update, "objects.update", scope_type="type", write=True),
    Route("DELETE", RECORD, h_archive, "objects.archive", scope_type="type", write=True),
    *_legacy("deals", "/deals/v1/deal", "deals"),
    *_legacy("companies", "/companies/v2/companies", "companies"),
)
