"""Portal metadata: property definitions, custom-object schemas, owners and pipelines, on their v3,
dated and legacy paths."""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot import render
from headwater.emulator.hubspot.http import Response, json_response
from headwater.emulator.hubspot.portal_metadata import (
    LEGACY_ONLY_PROPERTY_SETS,
    ObjectType,
    Pipeline,
)
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    error,
    int_param,
    under,
    validation_error,
)
from headwater.emulator.hubspot.state import PortalState
from headwater.emulator.hubspot.values import iso_ms

SCHEMAS_SCOPE = "crm.schemas.custom.read"
OWNERS_SCOPE = "crm.objects.owners.read"

PROPERTIES = ("/crm/v3/properties/{type}", "/crm/properties/{version:YYYY-MM}/{type}")
SCHEMAS = ("/crm/v3/schemas", "/crm-object-schemas/{version:v3|YYYY-MM}/schemas")
OWNERS = ("/crm/v3/owners", "/crm/owners/{version:YYYY-MM}")
PIPELINES = ("/crm/v3/pipelines/{type}", "/crm/pipelines/{version:YYYY-MM}/{type}")
LEGACY_SETS = "|".join(LEGACY_ONLY_PROPERTY_SETS)

# --------------------------------------------------------------------------- properties


def h_properties(ctx: Ctx) -> Response:
    t, _ = ctx.object_type()
    if ctx.req.flag("archived"):
        return json_response({"results": []})
    return json_response(
        {"results": [render.property_v3(p, i) for i, p in enumerate(t.properties)]}
    )


def h_property(ctx: Ctx) -> Response:
    t, _ = ctx.object_type()
    name = ctx.args["name"]
    p = t.prop(name)
    if p is None:
        raise error(
            404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {t.type_id}"
        )
    return json_response(render.property_v3(p, t.prop_index[name]))


def h_property_groups(ctx: Ctx) -> Response:
    t, _ = ctx.object_type()
    return json_response({"results": render.property_groups(t)})


def h_properties_batch(ctx: Ctx) -> Response:
    t, _ = ctx.object_type()
    inputs = ctx.req.json().get("inputs", [])
    names = [str(i.get("name")) for i in inputs if isinstance(i, dict)]
    started = iso_ms(ctx.state.now_ms())
    results = [
        render.property_v3(p, t.prop_index[p.name]) for n in names if (p := t.prop(n)) is not None
    ]
    return json_response(
        {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": started}
    )


def h_legacy_only_properties(ctx: Ctx) -> Response:
    defs = LEGACY_ONLY_PROPERTY_SETS[ctx.args["set"].lower()]
    return json_response([render.property_legacy(p, i) for i, p in enumerate(defs)])


def h_properties_legacy(ctx: Ctx) -> Response:
    t, _ = ctx.object_type()
    return json_response([render.property_legacy(p, i) for i, p in enumerate(t.properties)])


# --------------------------------------------------------------------------- schemas


def custom_types(state: PortalState) -> list[ObjectType]:
    return [t for t in state.types.values() if t.custom]


def h_schemas(ctx: Ctx) -> Response:
    if ctx.req.flag("archived"):
        return json_response({"results": []})
    state = ctx.state
    return json_response(
        {
            "results": [
                render.schema(t, state.graph, state.types, state.portal_id)
                for t in custom_types(state)
            ]
        }
    )


def h_schema(ctx: Ctx) -> Response:
    state = ctx.state
    t = state.resolve(ctx.args["id"])
    if not t.custom:
        raise error(404, "OBJECT_NOT_FOUND", f"Unable to find schema {ctx.args['id']}")
    return json_response(render.schema(t, state.graph, state.types, state.portal_id))


# --------------------------------------------------------------------------- owners


def h_owners(ctx: Ctx) -> Response:
    req = ctx.req
    archived = req.flag("archived")
    email = req.param("email")
    limit = int_param(req.param("limit"), 100, "limit")
    if limit < 1 or limit > 500:
        raise validation_error("limit must be between 1 and 500")
    after = int_param(req.param("after"), 0, "after")
    owners = [
        o
        for o in ctx.state.owners
        if o.archived == archived and (email is None or o.email == email) and o.id >= after
    ]
    body: dict[str, Any] = {"results": [render.owner(o) for o in owners[:limit]]}
    if len(owners) > limit:
        nxt = str(owners[limit].id)
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


def h_owner(ctx: Ctx) -> Response:
    req = ctx.req
    key = ctx.args["id"]
    by_user = req.param("idProperty") == "userId"
    archived = req.flag("archived")
    for o in ctx.state.owners:
        if (str(o.user_id) if by_user else str(o.id)) == key and o.archived == archived:
            return json_response(render.owner(o))
    raise error(404, "OBJECT_NOT_FOUND", f"Owner {key} not found")


# --------------------------------------------------------------------------- pipelines


def _pipelines_for(ctx: Ctx) -> tuple[ObjectType, list[Pipeline]]:
    t = ctx.state.resolve(ctx.args["type"])
    return t, [p for p in ctx.state.pipelines if p.object_type == t.name]


def _pipeline(ctx: Ctx) -> Pipeline:
    _, pipes = _pipelines_for(ctx)
    for p in pipes:
        if p.id == ctx.args["pipeline"]:
            return p
    raise error(404, "OBJECT_NOT_FOUND", f"Pipeline {ctx.args['pipeline']} not found")


def h_pipelines(ctx: Ctx) -> Response:
    _, pipes = _pipelines_for(ctx)
    return json_response({"results": [render.pipeline_v3(p) for p in pipes]})


def h_pipeline(ctx: Ctx) -> Response:
    return json_response(render.pipeline_v3(_pipeline(ctx)))


def h_pipeline_stages(ctx: Ctx) -> Response:
    p = _pipeline(ctx)
    return json_response(
        {"results": [render.pipeline_stage_v3(p, i) for i in range(len(p.stages))]}
    )


def h_pipeline_stage_create(ctx: Ctx) -> Response:
    """``POST .../pipelines/{type}/{pipeline}/stages`` with ``label``, ``displayOrder`` and
    ``metadata`` (a deal stage's ``probability``, a ticket stage's ``ticketState``): 201 and the
    stage, as HubSpot answers."""
    t = ctx.state.resolve(ctx.args["type"])
    body = ctx.req.json()
    if not isinstance(body, dict):
        raise validation_error("the body must be a stage object")
    label, order, meta = body.get("label"), body.get("displayOrder"), body.get("metadata") or {}
    if not isinstance(label, str) or not label or not isinstance(order, int):
        raise validation_error("label and displayOrder are required")
    key = "ticketState" if t.name == "tickets" else "probability"
    extra = meta.get(key) if isinstance(meta, dict) else None
    if t.name == "tickets" and extra not in ("OPEN", "CLOSED"):
        raise validation_error("metadata.ticketState must be OPEN or CLOSED")
    if t.name != "tickets":
        try:
            probability = float(str(extra))
        except ValueError:
            raise validation_error(
                "metadata.probability must be a number from 0.0 to 1.0"
            ) from None
        if not 0.0 <= probability <= 1.0:
            raise validation_error("metadata.probability must be a number from 0.0 to 1.0")
        extra = str(probability)
    added = ctx.state.add_pipeline_stage(t.name, ctx.args["pipeline"], label, order, str(extra))
    if added is None:
        raise error(404, "OBJECT_NOT_FOUND", f"Pipeline {ctx.args['pipeline']} not found")
    pipeline, index = added
    return json_response(render.pipeline_stage_v3(pipeline, index), 201)


def h_pipelines_legacy(ctx: Ctx) -> Response:
    t, pipes = _pipelines_for(ctx)
    items = [render.pipeline_legacy(p, t.type_id) for p in pipes]
    return json_response({"results": items} if ctx.args.get("wrap") else items)


def h_account_details(ctx: Ctx) -> Response:
    """The portal's account details (any valid token; HubSpot lists the ``oauth`` scope, which
    static tokens do not carry)."""
    return json_response(
        {
            "accountType": "STANDARD",
            "additionalCurrencies": [],
            "companyCurrency": "USD",
            "dataHostingLocation": "na1",
            "portalId": ctx.state.portal_id,
            "timeZone": "UTC",
            "uiDomain": "app.hubspot.com",
            "utcOffset": "+00:00",
            "utcOffsetMilliseconds": 0,
        }
    )


ROUTES: RouteTable = (
    Route("GET", PROPERTIES, h_properties, "properties.list", scope_type="type"),
    Route(
        "GET",
        under(PROPERTIES, "/groups"),
        h_property_groups,
        "properties.groups",
        scope_type="type",
    ),
    Route("GET", under(PROPERTIES, "/{name}"), h_property, "properties.read", scope_type="type"),
    Route(
        "POST",
        under(PROPERTIES, "/batch/read"),
        h_properties_batch,
        "properties.batch_read",
        scope_type="type",
    ),
    # Airbyte and singer-io discover with the legacy bare-list endpoints
    Route(
        "GET",
        "/properties/{version:v1|v2}/{set:" + LEGACY_SETS + "}/properties",
        h_legacy_only_properties,
        "properties.legacy",
    ),
    Route(
        "GET",
        "/properties/{version:v1|v2}/{type}/properties",
        h_properties_legacy,
        "properties.legacy",
        scope_type="type",
    ),
    Route(
        "GET",
        "/companies/v2/properties",
        h_properties_legacy,
        "properties.legacy",
        scope_type="type",
        defaults=(("type", "companies"),),
    ),
    Route("GET", SCHEMAS, h_schemas, "schemas.list", scope=SCHEMAS_SCOPE),
    Route("GET", under(SCHEMAS, "/{id}"), h_schema, "schemas.read", scope=SCHEMAS_SCOPE),
    Route("GET", OWNERS, h_owners, "owners.list", scope=OWNERS_SCOPE),
    Route("GET", under(OWNERS, "/{id}"), h_owner, "owners.read", scope=OWNERS_SCOPE),
    Route("GET", PIPELINES, h_pipelines, "pipelines.list", scope_type="type"),
    Route("GET", under(PIPELINES, "/{pipeline}"), h_pipeline, "pipelines.read", scope_type="type"),
    Route(
        "GET",
        under(PIPELINES, "/{pipeline}/stages"),
        h_pipeline_stages,
        "pipelines.stages",
        scope_type="type",
    ),
    Route(
        "POST",
        under(PIPELINES, "/{pipeline}/stages"),
        h_pipeline_stage_create,
        "pipelines.stages.create",
        scope_type="type",
        write=True,
    ),
    Route(
        "GET",
        "/crm-pipelines/v1/pipelines/{type}",
        h_pipelines_legacy,
        "pipelines.legacy",
        scope_type="type",
        defaults=(("wrap", "1"),),
        sunset=True,
    ),
    Route(
        "GET",
        "/deals/v1/pipelines",
        h_pipelines_legacy,
        "pipelines.legacy",
        scope_type="type",
        defaults=(("type", "deals"),),
        sunset=True,
    ),
    Route(
        "GET", "/account-info/{version:v3|YYYY-MM}/details", h_account_details, "account.details"
    ),
)
