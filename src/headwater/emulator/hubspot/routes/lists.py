"""Contact lists (v3): search, read one, memberships."""

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
    validation_error,
)
from headwater.emulator.hubspot.values import iso_ms

SCOPE = "crm.lists.read"
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
    return json_response({"list": _contact_list(ctx).to_json(ctx.state.stores["contacts"])})


def h_list_memberships(ctx: Ctx) -> Response:
    req = ctx.req
    cl = _contact_list(ctx)
    limit = int_param(req.param("limit"), 100, "limit")
    if limit < 1 or limit > 250:
        raise validation_error("limit must be between 1 and 250")
    after = int_param(req.param("after"), 0, "after")
    ids = cl.members_from(after, limit + 1, ctx.state.stores["contacts"])
    page = ids[:limit]
    stamp = iso_ms(cl.updated_ms)
    body: dict[str, Any] = {
        "results": [{"recordId": str(r), "membershipTimestamp": stamp} for r in page]
    }
    if len(ids) > limit:
        nxt = str(page[-1])
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


ROUTES: RouteTable = (
    Route("POST", "/crm/v3/lists/search", h_lists_search, "lists.search", scope=SCOPE),
    Route("GET", "/crm/v3/lists/{id}", h_list_read, "lists.read", scope=SCOPE),
    Route(
        "GET",
        "/crm/v3/lists/{id}/memberships",
        h_list_memberships,
        "lists.memberships",
        scope=SCOPE,
    ),
)
