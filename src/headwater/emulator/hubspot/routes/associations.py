"""Associations: v4 and v3 batch reads, per-object listings and labels, on their v3, v4 and dated
paths."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from headwater.emulator.hubspot.associations import Link
from headwater.emulator.hubspot.http import Response, json_response
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    int_param,
    lookup,
    not_found,
    under,
    validation_error,
)
from headwater.emulator.hubspot.values import iso_ms

ASSOC_BATCH_MAX = 1000
ASSOC_PAGE = 500

PAIR = "{from}/{to}"
V4_PAIR = ("/crm/v4/associations/" + PAIR, "/crm/associations/{version:YYYY-MM}/" + PAIR)
PER_OBJECT = (
    "/crm/{version:v3|v4}/objects/{type}/{id}/associations/{to}",
    "/crm/objects/{version:YYYY-MM}/{type}/{id}/associations/{to}",
)
LABELS = (
    "/crm/{version:v3|v4}/associations/" + PAIR + "/labels",
    "/crm/associations/v4/" + PAIR + "/labels",
)


def v4_link(link: Link) -> dict[str, Any]:
    """One associated record as v4 reports it (``toObjectId`` is a JSON number)."""
    return {
        "toObjectId": link.to_id,
        "associationTypes": [
            {"category": a.category, "typeId": a.type_id, "label": a.label} for a in link.types
        ],
    }


def h_assoc_list(ctx: Ctx) -> Response:
    req = ctx.req
    t, store = ctx.object_type()
    other = ctx.state.resolve(ctx.args["to"])
    raw_id = ctx.args["id"]
    rid = lookup(t, store, raw_id, None)
    if rid is None:
        raise not_found(raw_id)
    limit = min(int_param(req.param("limit"), ASSOC_PAGE, "limit"), ASSOC_PAGE)
    offset = int_param(req.param("after"), 0, "after")
    links = ctx.state.graph.links(t.name, other.name, rid)
    page = links[offset : offset + limit]
    body: dict[str, Any]
    if ctx.args["version"] != "v3":
        body = {"results": [v4_link(link) for link in page]}
    else:
        body = {
            "results": [
                {"id": str(link.to_id), "type": a.v3_name} for link in page for a in link.types
            ]
        }
    if offset + limit < len(links):
        nxt = str(offset + limit)
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


def _batch_inputs(ctx: Ctx) -> tuple[ObjectType, ObjectType, list[tuple[str, int]]]:
    src = ctx.state.resolve(ctx.args["from"])
    dst = ctx.state.resolve(ctx.args["to"])
    inputs = ctx.req.json().get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("inputs is required")
    if len(inputs) > ASSOC_BATCH_MAX:
        raise validation_error(
            f"Batch input limit of {ASSOC_BATCH_MAX} exceeded: {len(inputs)} inputs"
        )
    out: list[tuple[str, int]] = []
    for item in inputs:
        if not isinstance(item, dict) or "id" not in item:
            raise validation_error("each input needs an id")
        after = 0
        if item.get("after"):
            try:
                after = int(base64.urlsafe_b64decode(str(item["after"]).encode()).decode())
            except (ValueError, UnicodeDecodeError) as exc:
                raise validation_error(f"invalid after token {item['after']!r}") from exc
        out.append((str(item["id"]), after))
    return src, dst, out


def _batch_read(ctx: Ctx, result: Callable[[str, int, list[Link]], dict[str, Any]]) -> Response:
    """A batch read: ``result(raw id, after, links)`` for every input with associations."""
    src, dst, inputs = _batch_inputs(ctx)
    store = ctx.state.stores[src.name]
    started = iso_ms(ctx.state.now_ms())
    results = []
    for raw, after in inputs:
        try:
            rid = int(raw)
        except ValueError:
            continue
        links = ctx.state.graph.links(src.name, dst.name, rid) if store.exists(rid) else []
        if links:
            results.append(result(raw, after, links))
    return json_response(
        {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_ms(ctx.state.now_ms()),
        }
    )


def _v4_result(raw: str, after: int, links: list[Link]) -> dict[str, Any]:
    page = links[after : after + ASSOC_PAGE]
    item: dict[str, Any] = {"from": {"id": raw}, "to": [v4_link(link) for link in page]}
    if after + ASSOC_PAGE < len(links):
        token = base64.urlsafe_b64encode(str(after + ASSOC_PAGE).encode()).decode()
        item["paging"] = {"next": {"after": token, "link": None}}
    return item


def _v3_result(raw: str, _after: int, links: list[Link]) -> dict[str, Any]:
    to = [{"id": str(link.to_id), "type": link.types[-1].v3_name} for link in links]
    return {"from": {"id": raw}, "to": to}


def h_assoc_batch_v4(ctx: Ctx) -> Response:
    return _batch_read(ctx, _v4_result)


def h_assoc_batch_v3(ctx: Ctx) -> Response:
    return _batch_read(ctx, _v3_result)


def h_assoc_labels(ctx: Ctx) -> Response:
    src = ctx.state.resolve(ctx.args["from"])
    dst = ctx.state.resolve(ctx.args["to"])
    labels = ctx.state.graph.labels(src.name, dst.name)
    return json_response(
        {
            "results": [
                {"category": a.category, "typeId": a.type_id, "label": a.label} for a in labels
            ]
        }
    )


ROUTES: RouteTable = (
    Route(
        "POST",
        under(V4_PAIR, "/batch/read"),
        h_assoc_batch_v4,
        "associations.v4.batch_read",
        scope_type="from",
    ),
    Route(
        "POST",
        "/crm/v3/associations/" + PAIR + "/batch/read",
        h_assoc_batch_v3,
        "associations.v3.batch_read",
        scope_type="from",
    ),
    Route("GET", PER_OBJECT, h_assoc_list, "associations.list", scope_type="type"),
    Route("GET", LABELS, h_assoc_labels, "associations.labels", scope_type="from"),
)
