"""Contact lists (v3 and dated): search, read one or several (with their filters), memberships,
and the writes HubSpot has: create a list, add and remove records of a ``MANUAL`` or ``SNAPSHOT``
list; and the v1 Contact Lists reads that HubSpot sunset on 2026-04-30 (404 since), served only
with ``legacy_v1``.

The v1 shape is the envelope clients of the v1 API read: ``{"lists": [...], "offset", "has-more"}``
with numeric ``listId``, ``name`` and ``dynamic``; timestamps are epoch milliseconds, as in every
v1 API. v1 memberships (``/contacts/v1/lists/{id}/contacts/all``) are not served."""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot.http import Response, json_response
from headwater.emulator.hubspot.lists import ContactList
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    error,
    int_param,
    under,
    validation_error,
)
from headwater.emulator.hubspot.values import iso_ms

SCOPE = "crm.lists.read"
WRITE_SCOPE = "crm.lists.write"
SEARCH_OFFSET_CAP = 10_000


def _contact_list(ctx: Ctx) -> ContactList:
    for cl in ctx.state.lists:
        if str(cl.list_id) == ctx.args["id"]:
            return cl
    raise error(404, "OBJECT_NOT_FOUND", f"List {ctx.args['id']} does not exist")


def h_lists_search(ctx: Ctx) -> Response:
    body = ctx.req.json()
    count = int(body.get("count", 20))
    offset = int(body.get("offset", 0))
    if count < 1 or count > 1000:
        raise validation_error("count must be between 1 and 1000")
    if offset >= SEARCH_OFFSET_CAP:
        raise validation_error(f"offset must be less than {SEARCH_OFFSET_CAP}")
    query = str(body.get("query") or "").lower()
    types = body.get("processingTypes") or []
    lists = [
        cl
        for cl in ctx.state.lists
        if query in cl.name.lower() and (not types or cl.processing_type in types)
    ]
    sort = str(body.get("sort") or "")
    descending = sort.startswith("-")
    if sort.lstrip("-") == "HS_UPDATED_AT":
        lists.sort(key=lambda cl: (cl.updated_ms, cl.list_id), reverse=descending)
    elif sort.lstrip("-") == "HS_CREATED_AT":
        lists.sort(key=lambda cl: (cl.created_ms, cl.list_id), reverse=descending)
    store = ctx.state.stores["contacts"]
    page = lists[offset : offset + count]
    return json_response(
        {
            "lists": [cl.to_json(store) for cl in page],
            "hasMore": offset + count < len(lists),
            "offset": offset + len(page),
            "total": len(lists),
        }
    )


def h_list_read(ctx: Ctx) -> Response:
    include = ctx.req.flag("includeFilters")
    store = ctx.state.stores["contacts"]
    return json_response(
        {"list": _contact_list(ctx).to_json(store, include_filters=include, size=True)}
    )


def h_lists_by_id(ctx: Ctx) -> Response:
    """``GET /crm/v3/lists/?listIds=1&listIds=2&includeFilters=true`` → ``{"lists": [...]}``."""
    wanted = set(ctx.req.params("listIds"))
    include = ctx.req.flag("includeFilters")
    store = ctx.state.stores["contacts"]
    found = [cl for cl in ctx.state.lists if str(cl.list_id) in wanted]
    return json_response(
        {"lists": [cl.to_json(store, include_filters=include, size=True) for cl in found]}
    )


def h_list_create(ctx: Ctx) -> Response:
    body = ctx.req.json()
    name = str(body.get("name") or "").strip()
    kind = str(body.get("processingType") or "")
    if not name:
        raise validation_error("name is required")
    if str(body.get("objectTypeId") or "0-1") != "0-1":
        raise validation_error("the emulator keeps lists of contacts (objectTypeId 0-1) only")
    if kind not in ("MANUAL", "SNAPSHOT"):
        raise validation_error("processingType must be MANUAL or SNAPSHOT in the emulator")
    with ctx.state.lock:
        if any(cl.name == name for cl in ctx.state.lists):
            raise error(409, "CONFLICT", f"A list named {name!r} already exists")
        now = ctx.state.now_ms()
        created = ContactList(
            list_id=max(cl.list_id for cl in ctx.state.lists) + 1,
            name=name,
            processing_type=kind,
            stride=0,
            remainder=0,
            created_ms=now,
            updated_ms=now,
        )
        ctx.state.lists.append(created)
    return json_response({"list": created.to_json(ctx.state.stores["contacts"], size=True)})


def _record_ids(values: Any) -> list[int]:
    if not isinstance(values, list):
        raise validation_error("the body must be a JSON array of record ids")
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise validation_error(f"record ids must be numeric: {exc}") from exc


def _change(ctx: Ctx, add: list[int], remove: list[int]) -> Response:
    cl = _contact_list(ctx)
    if cl.processing_type == "DYNAMIC":
        raise validation_error(
            f"List {cl.list_id} is a DYNAMIC list: its memberships follow its filters"
        )
    store = ctx.state.stores["contacts"]
    missing: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    with ctx.state.lock:
        now = ctx.state.now_ms()
        for rid in add:
            if not store.exists(rid) or store.is_archived(rid):
                missing.append(str(rid))
            elif cl.add(rid, now):
                added.append(str(rid))
        for rid in remove:
            if not store.exists(rid):
                missing.append(str(rid))
            elif cl.remove(rid):
                removed.append(str(rid))
    return json_response(
        {"recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": added}
    )


def h_members_add(ctx: Ctx) -> Response:
    return _change(ctx, _record_ids(ctx.req.json()), [])


def h_members_remove(ctx: Ctx) -> Response:
    return _change(ctx, [], _record_ids(ctx.req.json()))


def h_members_add_and_remove(ctx: Ctx) -> Response:
    body = ctx.req.json()
    if not isinstance(body, dict):
        raise validation_error("the body must be {recordIdsToAdd, recordIdsToRemove}")
    return _change(
        ctx,
        _record_ids(body.get("recordIdsToAdd") or []),
        _record_ids(body.get("recordIdsToRemove") or []),
    )


def h_list_memberships(ctx: Ctx) -> Response:
    req = ctx.req
    cl = _contact_list(ctx)
    limit = int_param(req.param("limit"), 100, "limit")
    if limit < 1 or limit > 250:
        raise validation_error("limit must be between 1 and 250")
    after = int_param(req.param("after"), 0, "after")
    ids = cl.members_from(after, limit + 1, ctx.state.stores["contacts"])
    page = ids[:limit]
    body: dict[str, Any] = {
        "results": [
            {"recordId": str(r), "membershipTimestamp": iso_ms(cl.joined_ms(r))} for r in page
        ]
    }
    if len(ids) > limit:
        nxt = str(page[-1])
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


def _v1(cl: ContactList) -> dict[str, Any]:
    dynamic = cl.processing_type == "DYNAMIC"
    return {
        "listId": cl.list_id,
        "name": cl.name,
        "dynamic": dynamic,
        "listType": "DYNAMIC" if dynamic else "STATIC",
        "createdAt": cl.created_ms,
        "updatedAt": cl.updated_ms,
    }


def h_v1_lists(ctx: Ctx) -> Response:
    req = ctx.req
    count = int_param(req.param("count"), 20, "count")
    offset = int_param(req.param("offset"), 0, "offset")
    if count < 1 or count > 250:
        raise validation_error("count must be between 1 and 250")
    kind = ctx.args.get("kind", "all")
    lists = [
        cl
        for cl in sorted(ctx.state.lists, key=lambda cl: cl.list_id)
        if kind == "all" or (cl.processing_type == "DYNAMIC") == (kind == "dynamic")
    ]
    page = lists[offset : offset + count]
    return json_response(
        {
            "lists": [_v1(cl) for cl in page],
            "offset": offset + len(page),
            "has-more": offset + len(page) < len(lists),
        }
    )


def h_v1_list(ctx: Ctx) -> Response:
    return json_response(_v1(_contact_list(ctx)))


LISTS = ("/crm/v3/lists", "/crm/lists/{version:YYYY-MM}")

ROUTES: RouteTable = (
    Route("POST", under(LISTS, "/search"), h_lists_search, "lists.search", scope=SCOPE),
    Route("GET", LISTS, h_lists_by_id, "lists.by_id", scope=SCOPE),
    Route("POST", LISTS, h_list_create, "lists.create", scope=WRITE_SCOPE),
    Route(
        "PUT",
        under(LISTS, "/{id}/memberships/add"),
        h_members_add,
        "lists.memberships.add",
        scope=WRITE_SCOPE,
    ),
    Route(
        "PUT",
        under(LISTS, "/{id}/memberships/remove"),
        h_members_remove,
        "lists.memberships.remove",
        scope=WRITE_SCOPE,
    ),
    Route(
        "PUT",
        under(LISTS, "/{id}/memberships/add-and-remove"),
        h_members_add_and_remove,
        "lists.memberships.change",
        scope=WRITE_SCOPE,
    ),
    Route("GET", under(LISTS, "/{id}"), h_list_read, "lists.read", scope=SCOPE),
    Route(
        "GET",
        under(LISTS, "/{id}/memberships"),
        h_list_memberships,
        "lists.memberships",
        scope=SCOPE,
    ),
    Route("GET", "/contacts/v1/lists", h_v1_lists, "lists.v1", scope=SCOPE, sunset=True),
    Route(
        "GET",
        "/contacts/v1/lists/{kind:static|dynamic}",
        h_v1_lists,
        "lists.v1",
        scope=SCOPE,
        sunset=True,
    ),
    Route("GET", "/contacts/v1/lists/{id}", h_v1_list, "lists.v1", scope=SCOPE, sunset=True),
)
