"""Associations: v4 and v3 batch reads, per-object listings and labels, and the v4 writes (create
with or without labels, delete, and their batch forms), on their v3, v4 and dated paths.

Writes change no record's ``hs_lastmodifieddate``, as at HubSpot, and HubSpot's API exposes no
timestamp of an association change (its v4 responses carry none; only webhook events do), so the
emulator keeps none either."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from headwater.emulator.hubspot.associations import Link
from headwater.emulator.hubspot.http import HttpError, Response, json_response
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.routing import (
    Ctx,
    Handler,
    Route,
    RouteTable,
    error,
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
PER_PAIR = (
    "/crm/v4/objects/{type}/{id}/associations/{to}/{toId}",
    "/crm/objects/{version:YYYY-MM}/{type}/{id}/associations/{to}/{toId}",
)
PER_PAIR_DEFAULT = (
    "/crm/v4/objects/{type}/{id}/associations/default/{to}/{toId}",
    "/crm/objects/{version:YYYY-MM}/{type}/{id}/associations/default/{to}/{toId}",
)
LABELS = (
    "/crm/{version:v3|v4}/associations/" + PAIR + "/labels",
    "/crm/associations/{version:v4|YYYY-MM}/" + PAIR + "/labels",
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


def _batch_body(ctx: Ctx) -> tuple[ObjectType, ObjectType, list[Any]]:
    """The two object types of a batch path and the request's ``inputs``."""
    src = ctx.state.resolve(ctx.args["from"])
    dst = ctx.state.resolve(ctx.args["to"])
    inputs = ctx.req.json().get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("inputs is required")
    if len(inputs) > ASSOC_BATCH_MAX:
        raise validation_error(
            f"Batch input limit of {ASSOC_BATCH_MAX} exceeded: {len(inputs)} inputs"
        )
    return src, dst, inputs


def _batch_inputs(ctx: Ctx) -> tuple[ObjectType, ObjectType, list[tuple[str, int]]]:
    src, dst, inputs = _batch_body(ctx)
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


# --------------------------------------------------------------------------- writes


def invalid_associations(detail: str) -> HttpError:
    return error(
        400,
        "VALIDATION_ERROR",
        "One or more associations are invalid",
        context={"associationSpec": [detail]},
    )


def _record(ctx: Ctx, t: ObjectType, raw: Any) -> int | None:
    """The live record ``raw`` names (a merged-away id names the merged record)."""
    store = ctx.state.stores[t.name]
    rid = lookup(t, store, str(raw if raw is not None else ""), None)
    return None if rid is None or store.is_archived(rid) else rid


def _type_ids(specs: Any) -> list[int]:
    """``[{"associationCategory", "associationTypeId"}]`` -> type ids."""
    if not isinstance(specs, list) or not specs:
        raise invalid_associations("a non-empty list of association types is required")
    out = []
    for spec in specs:
        if not isinstance(spec, dict) or "associationTypeId" not in spec:
            raise invalid_associations(f"{spec!r} has no associationTypeId")
        try:
            out.append(int(spec["associationTypeId"]))
        except (TypeError, ValueError) as exc:
            raise invalid_associations(f"{spec['associationTypeId']!r} is not a type id") from exc
    return out


def _check_types(ctx: Ctx, src: ObjectType, dst: ObjectType, specs: Any) -> list[int]:
    ids = _type_ids(specs)
    known = {t.type_id: t.category for t in ctx.state.graph.labels(src.name, dst.name)}
    for spec, type_id in zip(specs, ids, strict=True):
        category = spec.get("associationCategory")
        if type_id not in known or (category is not None and category != known[type_id]):
            raise invalid_associations(
                f"{category} {type_id} is not an association type from {src.name} to {dst.name}"
            )
    return ids


def _check_pair(ctx: Ctx, src: ObjectType, dst: ObjectType) -> None:
    if not ctx.state.graph.has(src.name, dst.name):
        raise invalid_associations(f"{src.name} and {dst.name} cannot be associated")


def _labels_between(ctx: Ctx, src: ObjectType, a: int, dst: ObjectType, b: int) -> dict[str, Any]:
    """``LabelsBetweenObjectPair``; ids are JSON numbers, as in HubSpot's own examples."""
    types = ctx.state.graph.types_between(src.name, dst.name, a, b)
    return {
        "fromObjectTypeId": src.type_id,
        "fromObjectId": a,
        "toObjectTypeId": dst.type_id,
        "toObjectId": b,
        "labels": [t.label for t in types if t.label is not None],
    }


def _default_pairs(ctx: Ctx, src: ObjectType, a: int, dst: ObjectType, b: int) -> list[Any]:
    """``PublicDefaultAssociation`` for both directions of a new default association."""
    graph = ctx.state.graph
    out = []
    for (x, xid), (y, yid) in (((src, a), (dst, b)), ((dst, b), (src, a))):
        spec = graph.default_type(x.name, y.name)
        out.append(
            {
                "from": {"id": str(xid)},
                "to": {"id": str(yid)},
                "associationSpec": {
                    "associationCategory": spec.category,
                    "associationTypeId": spec.type_id,
                },
            }
        )
    return out


def _pair_args(ctx: Ctx) -> tuple[ObjectType, int, ObjectType, int]:
    src, _ = ctx.object_type()
    dst = ctx.state.resolve(ctx.args["to"])
    _check_pair(ctx, src, dst)
    a = _record(ctx, src, ctx.args["id"])
    if a is None:
        raise not_found(ctx.args["id"])
    b = _record(ctx, dst, ctx.args["toId"])
    if b is None:
        raise not_found(ctx.args["toId"])
    return src, a, dst, b


def _batch_result(
    ctx: Ctx, started: str, results: list[Any], missing: list[str], status: int
) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_ms(ctx.state.now_ms()),
    }
    if missing:
        body["numErrors"] = len(missing)
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Some records could not be found.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        ]
        status = 207
    return json_response(body, status)


def _write_inputs(ctx: Ctx) -> tuple[ObjectType, ObjectType, list[Any]]:
    src, dst, inputs = _batch_body(ctx)
    _check_pair(ctx, src, dst)
    if not all(isinstance(i, dict) and isinstance(i.get("from"), dict) for i in inputs):
        raise validation_error("each input needs a from object")
    return src, dst, inputs


def h_create_default(ctx: Ctx) -> Response:
    """``PUT .../associations/default/{to}/{toId}``: the unlabeled association, both ways."""
    src, a, dst, b = _pair_args(ctx)
    started = iso_ms(ctx.state.now_ms())
    ctx.state.associate(src.name, a, dst.name, b)
    return _batch_result(ctx, started, _default_pairs(ctx, src, a, dst, b), [], 200)


def h_create_labelled(ctx: Ctx) -> Response:
    """``PUT .../associations/{to}/{toId}`` with a list of association types: adds them."""
    src, a, dst, b = _pair_args(ctx)
    ids = _check_types(ctx, src, dst, ctx.req.json())
    ctx.state.associate(src.name, a, dst.name, b, ids)
    return json_response(_labels_between(ctx, src, a, dst, b), 201)


def h_delete(ctx: Ctx) -> Response:
    """``DELETE .../associations/{to}/{toId}``: every type between the two records."""
    src, _ = ctx.object_type()
    dst = ctx.state.resolve(ctx.args["to"])
    _check_pair(ctx, src, dst)
    a, b = _record(ctx, src, ctx.args["id"]), _record(ctx, dst, ctx.args["toId"])
    if a is not None and b is not None:
        ctx.state.dissociate(src.name, a, dst.name, b)
    return Response(204, b"", None)


def h_batch_create(ctx: Ctx) -> Response:
    src, dst, inputs = _write_inputs(ctx)
    started = iso_ms(ctx.state.now_ms())
    checked = [(i, _check_types(ctx, src, dst, i.get("types"))) for i in inputs]
    results, missing = [], []
    for item, ids in checked:
        a, b = _record(ctx, src, item["from"].get("id")), _record(ctx, dst, _to_id(item))
        if a is None or b is None:
            missing.append(str(item["from"].get("id") if a is None else _to_id(item)))
            continue
        ctx.state.associate(src.name, a, dst.name, b, ids)
        results.append(_labels_between(ctx, src, a, dst, b))
    return _batch_result(ctx, started, results, missing, 201)


def h_batch_default(ctx: Ctx) -> Response:
    src, dst, inputs = _write_inputs(ctx)
    started = iso_ms(ctx.state.now_ms())
    results, missing = [], []
    for item in inputs:
        a, b = _record(ctx, src, item["from"].get("id")), _record(ctx, dst, _to_id(item))
        if a is None or b is None:
            missing.append(str(item["from"].get("id") if a is None else _to_id(item)))
            continue
        ctx.state.associate(src.name, a, dst.name, b)
        results.extend(_default_pairs(ctx, src, a, dst, b))
    return _batch_result(ctx, started, results, missing, 200)


def h_batch_archive(ctx: Ctx) -> Response:
    """``POST .../batch/archive``: ``{"from": {"id"}, "to": [{"id"}, ...]}`` per input."""
    src, dst, inputs = _write_inputs(ctx)
    for item in inputs:
        a = _record(ctx, src, item["from"].get("id"))
        targets = item.get("to") if isinstance(item.get("to"), list) else []
        for target in targets:
            b = _record(ctx, dst, target.get("id") if isinstance(target, dict) else None)
            if a is not None and b is not None:
                ctx.state.dissociate(src.name, a, dst.name, b)
    return Response(204, b"", None)


def h_batch_archive_labels(ctx: Ctx) -> Response:
    """``POST .../batch/labels/archive``: remove some types, keep the association."""
    src, dst, inputs = _write_inputs(ctx)
    checked = [(i, _check_types(ctx, src, dst, i.get("types"))) for i in inputs]
    for item, ids in checked:
        a, b = _record(ctx, src, item["from"].get("id")), _record(ctx, dst, _to_id(item))
        if a is not None and b is not None:
            ctx.state.dissociate(src.name, a, dst.name, b, ids)
    return Response(204, b"", None)


def _to_id(item: dict[str, Any]) -> Any:
    to = item.get("to")
    return to.get("id") if isinstance(to, dict) else None


def _write(path: tuple[str, ...], method: str, handler: Handler, endpoint: str, key: str) -> Route:
    return Route(method, path, handler, endpoint, scope_type=key, write=True)


ROUTES: RouteTable = (
    Route(
        "POST",
        under(V4_PAIR, "/batch/read"),
        h_assoc_batch_v4,
        "associations.v4.batch_read",
        scope_type="from",
        burst_exempt=True,
    ),
    Route(
        "POST",
        "/crm/v3/associations/" + PAIR + "/batch/read",
        h_assoc_batch_v3,
        "associations.v3.batch_read",
        scope_type="from",
        burst_exempt=True,
    ),
    Route("GET", PER_OBJECT, h_assoc_list, "associations.list", scope_type="type"),
    Route(
        "GET",
        LABELS,
        h_assoc_labels,
        "associations.labels",
        scope_type="from",
        burst_exempt=True,
    ),
    _write(PER_PAIR_DEFAULT, "PUT", h_create_default, "associations.create_default", "type"),
    _write(PER_PAIR, "PUT", h_create_labelled, "associations.create", "type"),
    _write(PER_PAIR, "DELETE", h_delete, "associations.archive", "type"),
    _write(
        under(V4_PAIR, "/batch/create"), "POST", h_batch_create, "associations.batch_create", "from"
    ),
    _write(
        under(V4_PAIR, "/batch/associate/default"),
        "POST",
        h_batch_default,
        "associations.batch_create_default",
        "from",
    ),
    _write(
        under(V4_PAIR, "/batch/archive"),
        "POST",
        h_batch_archive,
        "associations.batch_archive",
        "from",
    ),
    _write(
        under(V4_PAIR, "/batch/labels/archive"),
        "POST",
        h_batch_archive_labels,
        "associations.batch_archive_labels",
        "from",
    ),
)
