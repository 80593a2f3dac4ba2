"""Flows: creation validated by the flow spec (schedule, transformations, connection specs),
JSON Patch, enable/disable/run actions, deletion."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft7Validator

from headwater.domain import specs
from headwater.domain.ids import new_etag, new_id
from headwater.errors import (
    FieldError,
    InvalidRequestError,
    InvalidSpecError,
    InvalidTransitionError,
    StateNotAllowedError,
    ValidationError,
)
from headwater.services import documents, run_mapping, runs
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest, ListResult, list_documents
from headwater.store import resources as resource_store
from headwater.store import runs as run_store

KIND = "flows"
FIELDS = documents.METADATA_FIELDS | {
    "id",
    "name",
    "description",
    "flowSpec",
    "state",
    "sourceConnectionIds",
    "targetConnectionIds",
    "inheritedAttributes",
    "scheduleParams",
    "transformations",
    "lastRunDetails",
    "lastOperation",
    "labels",
    "options",
    "policy",
    "runs",
}
SCHEDULE_KEYS = ("startTime", "endTime", "frequency", "interval", "backfill")
#: an integer as a string: ASCII digits only (``int`` also reads "٣" but not "²", which
#: ``str.isdigit`` accepts)
_DIGITS = re.compile(r"\s*-?[0-9]+\s*")
#: the latest epoch second a schedule may name (9999-12-31T23:59:59Z) and the largest interval:
#: every window then fits the run store's 64-bit milliseconds
MAX_EPOCH_S = 253_402_300_799
MAX_INTERVAL = 100_000


def _int(value: Any, field: str, errors: list[FieldError]) -> int | None:
    if isinstance(value, bool):
        errors.append(FieldError(field, "must be an integer"))
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    errors.append(FieldError(field, "must be an integer (a number or a string of digits)"))
    return None


def _bool(value: Any, field: str, errors: list[FieldError]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    errors.append(FieldError(field, "must be true or false"))
    return None


#: ``scheduleParams`` keys of destination (dataset export) flow specs, not of sources.
DESTINATION_SCHEDULE_KEYS = frozenset({"timeUnit", "exportMode"})


def normalize_schedule(flow_spec: dict[str, Any], raw: Any) -> dict[str, Any]:
    """Validate ``scheduleParams`` by the flow spec's schedule schema; accept numbers or strings,
    ignore unknown keys, and return the documented keys as strings (as Adobe returns them)."""
    if not isinstance(raw, dict):
        raise ValidationError(
            "scheduleParams is required: {startTime, frequency, interval?, backfill?}",
            details=[FieldError("scheduleParams", "is required")],
        )
    errors: list[FieldError] = []
    typed: dict[str, Any] = {}
    for key in ("startTime", "endTime", "interval"):
        if key in raw and raw[key] is not None:
            v = _int(raw[key], f"scheduleParams.{key}", errors)
            if v is not None:
                typed[key] = v
    if "backfill" in raw and raw["backfill"] is not None:
        b = _bool(raw["backfill"], "scheduleParams.backfill", errors)
        if b is not None:
            typed["backfill"] = b
    if "frequency" in raw:
        freq = raw["frequency"]
        typed["frequency"] = freq.strip().lower() if isinstance(freq, str) else freq
    if typed.get("frequency") == "once":
        # The docs' own example sends an interval with "once"; it has no meaning, so it is dropped.
        typed.pop("interval", None)
        typed.pop("backfill", None)
    schema = flow_spec["scheduleSpec"]["spec"]
    for err in Draft7Validator(schema).iter_errors(typed):
        if err.validator == "required":
            missing = err.message.split("'")[1]
            errors.append(FieldError(f"scheduleParams.{missing}", "is required"))
        elif err.path:
            errors.append(FieldError("scheduleParams." + ".".join(map(str, err.path)), err.message))
        else:
            errors.append(FieldError("scheduleParams", err.message))
    export_keys = sorted(k for k in DESTINATION_SCHEDULE_KEYS if k in raw)
    if "frequency" not in raw and export_keys:
        # aepp's createFlow(schedule_frequency="once") sends a dataset-export schedule
        errors.append(
            FieldError(
                "scheduleParams",
                f"{' and '.join(export_keys)} belong to dataset-export (destination) schedules;"
                ' a sources flow takes {"frequency": "once" | "minute" | "hour" | "day" | "week",'
                ' "startTime", "interval"}',
            )
        )
    for key, low, high in (
        ("startTime", 0, MAX_EPOCH_S),
        ("endTime", 0, MAX_EPOCH_S),
        ("interval", None, MAX_INTERVAL),
    ):
        v = typed.get(key)
        if v is not None and ((low is not None and v < low) or v > high):
            bounds = f"between {low} and {high}" if low is not None else f"at most {high}"
            errors.append(FieldError(f"scheduleParams.{key}", f"must be {bounds}"))
    if "endTime" in typed and "startTime" in typed and typed["endTime"] <= typed["startTime"]:
        errors.append(FieldError("scheduleParams.endTime", "must be after startTime"))
    if errors:
        unique: list[FieldError] = []
        for e in errors:
            if e not in unique:
                unique.append(e)
        raise ValidationError(
            "invalid scheduleParams: " + "; ".join(f"{e['field']} {e['message']}" for e in unique),
            details=unique,
        )
    out = {k: v for k, v in raw.items() if k not in SCHEDULE_KEYS}
    for k in SCHEDULE_KEYS:
        if k in typed:
            v = typed[k]
            out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    if typed["frequency"] != "once" and "backfill" not in out:
        out["backfill"] = "true"
    return out


def schedule_of(doc: dict[str, Any]) -> dict[str, Any]:
    """Typed view of a stored flow's schedule."""
    sp = doc.get("scheduleParams", {})
    return {
        "startTime": int(sp["startTime"]),
        "endTime": int(sp["endTime"]) if "endTime" in sp else None,
        "frequency": sp["frequency"],
        "interval": int(sp.get("interval", 0) or 0),
        "backfill": sp.get("backfill", "true") == "true",
    }


def _transformations(flow_spec: dict[str, Any], raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationError(
            "transformations must be a list",
            details=[FieldError("transformations", "must be a list")],
        )
    by_name = {t["name"].lower(): t for t in flow_spec.get("transformationSpecs", [])}
    out = []
    errors: list[FieldError] = []
    for i, t in enumerate(raw):
        where = f"transformations[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            errors.append(FieldError(where, "must be an object with a name"))
            continue
        spec = by_name.get(t["name"].lower())
        if spec is None:
            errors.append(FieldError(f"{where}.name", f"unknown transformation '{t['name']}'"))
            continue
        params = dict(t.get("params") or {})
        if spec["name"] == "Mapping" and "mappingVersion" in params:
            params["mappingVersion"] = str(params["mappingVersion"])
        for err in Draft7Validator(spec["spec"]).iter_errors(params):
            path = ".".join(map(str, err.path))
            errors.append(FieldError(f"{where}.params{'.' + path if path else ''}", err.message))
        out.append({"name": spec["name"], "params": params})
    if errors:
        raise ValidationError(
            "invalid transformations: " + "; ".join(f"{e['field']} {e['message']}" for e in errors),
            details=errors,
        )
    return out


def _inherited(
    ctx: ServiceContext, tenant: Tenant, flow_spec: dict[str, Any], src_ids: Any, tgt_ids: Any
) -> dict[str, Any]:
    errors: list[FieldError] = []
    if not isinstance(src_ids, list) or not src_ids or not all(isinstance(x, str) for x in src_ids):
        errors.append(FieldError("sourceConnectionIds", "must be a non-empty list of ids"))
    if not isinstance(tgt_ids, list) or not tgt_ids or not all(isinstance(x, str) for x in tgt_ids):
        errors.append(FieldError("targetConnectionIds", "must be a non-empty list of ids"))
    if errors:
        raise ValidationError("a flow needs source and target connections", details=errors)
    sources = []
    for sid in src_ids:
        src = documents.load(ctx, tenant, "sourceConnections", sid).doc
        if src["connectionSpec"]["id"] not in flow_spec["sourceConnectionSpecIds"]:
            raise InvalidRequestError(
                f"source connection {sid} (spec {src['connectionSpec']['id']}) cannot be used "
                f"with flow spec {flow_spec['name']}"
            )
        sources.append(
            {
                "id": sid,
                "connectionSpec": src["connectionSpec"],
                "baseConnection": src["inheritedAttributes"]["baseConnection"],
            }
        )
    targets = []
    for tid in tgt_ids:
        tgt = documents.load(ctx, tenant, "targetConnections", tid).doc
        if tgt["connectionSpec"]["id"] not in flow_spec["targetConnectionSpecIds"]:
            raise InvalidRequestError(
                f"target connection {tid} cannot be used with flow spec {flow_spec['name']}"
            )
        targets.append({"id": tid, "connectionSpec": tgt["connectionSpec"]})
    return {
        "sourceConnections": sources,
        "targetConnections": targets,
        "properties": {"isSourceFlow": True},
    }


def create_flow(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str]:
    if "state" in body:
        raise StateNotAllowedError("state is not allowed in a create-flow request")
    spec_ref = body.get("flowSpec") or {}
    flow_spec = specs.flow_spec(spec_ref.get("id", "")) if isinstance(spec_ref, dict) else None
    if flow_spec is None:
        raise InvalidSpecError(f"invalid flow spec id '{spec_ref.get('id')}'")
    schedule = normalize_schedule(flow_spec, body.get("scheduleParams"))
    transformations = _transformations(flow_spec, body.get("transformations"))
    options = run_mapping.validate_options(body.get("options"))
    inherited = _inherited(
        ctx, tenant, flow_spec, body.get("sourceConnectionIds"), body.get("targetConnectionIds")
    )
    run_mapping.check_flow(
        ctx,
        tenant,
        transformations=transformations,
        source_ids=body["sourceConnectionIds"],
        target_ids=body["targetConnectionIds"],
    )
    now = ctx.clock()
    flow_id = new_id()
    doc = documents.audit_fields(tenant, now, flow_id) | {
        "name": body.get("name") or "",
        "description": body.get("description") or "",
        "flowSpec": {"id": flow_spec["id"], "version": spec_ref.get("version") or "1.0"},
        "state": "enabled",
        "sourceConnectionIds": list(body["sourceConnectionIds"]),
        "targetConnectionIds": list(body["targetConnectionIds"]),
        "inheritedAttributes": inherited,
        "scheduleParams": schedule,
        "transformations": transformations,
        "runs": f"/runs?property=flowId=={flow_id}",
    }
    for key in ("labels", "policy"):
        if key in body:
            doc[key] = body[key]
    if options is not None:
        doc["options"] = options
    requires = [
        *(("sourceConnections", item["id"]) for item in inherited["sourceConnections"]),
        *(("targetConnections", item["id"]) for item in inherited["targetConnections"]),
        *(
            ("connections", item["baseConnection"]["id"])
            for item in inherited["sourceConnections"]
            if item.get("baseConnection")
        ),
    ]
    # a base, source or target connection deleted meanwhile makes this a 404, never a flow
    # pointing at nothing
    flow_id, etag = documents.insert(ctx, tenant, KIND, doc, requires=requires)
    if schedule["frequency"] == "once":
        start_ms = int(schedule["startTime"]) * 1000
        runs.enqueue(
            ctx,
            tenant,
            doc,
            trigger="schedule",
            scheduled_for=max(start_ms, now),
            window_start=None,
            window_end=None,
            dedupe_key=f"{flow_id}:once",
        )
    return flow_id, etag


def render(res: Any) -> dict[str, Any]:
    return documents.plain_render(res)


def get_flow(ctx: ServiceContext, tenant: Tenant, flow_id: str) -> dict[str, Any]:
    return render(documents.load(ctx, tenant, KIND, flow_id))


def list_flows(ctx: ServiceContext, tenant: Tenant, request: ListRequest) -> ListResult:
    return list_documents(ctx, tenant, kind=KIND, request=request, fields=FIELDS, render=render)


def search_flows(
    ctx: ServiceContext, tenant: Tenant, body: Any, *, continuation_token: str | None
) -> ListResult:
    """``POST /flows/search``: Adobe's ``FlowFilterRequest`` (``queryString``, ``limit``,
    ``orderby``, ``count``). ``queryString`` holds ``property`` filters (``name==x``), several
    joined with ``&`` as repeated ``property`` parameters are; the page is that of
    ``GET /flows``."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the search body must be an object")
    query = body.get("queryString") or ""
    if not isinstance(query, str):
        raise ValidationError(
            "queryString must be a string", details=[FieldError("queryString", "must be a string")]
        )
    limit = body.get("limit")
    count = body.get("count")
    request = ListRequest(
        properties=tuple(p.strip() for p in query.split("&") if p.strip()),
        orderby=str(body["orderby"]) if body.get("orderby") else None,
        limit=None if limit is None else str(limit),
        continuation_token=continuation_token,
        count=None if count is None else str(count).lower(),
    )
    return list_flows(ctx, tenant, request)


def patch_flow(
    ctx: ServiceContext, tenant: Tenant, flow_id: str, *, if_match: str | None, ops: Any
) -> tuple[str, str]:
    def validate(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        flow_spec = specs.flow_spec(old["flowSpec"]["id"])
        assert flow_spec is not None
        new["scheduleParams"] = normalize_schedule(flow_spec, new.get("scheduleParams"))
        new["transformations"] = _transformations(flow_spec, new.get("transformations"))
        if new.get("options") is not None:
            new["options"] = run_mapping.validate_options(new["options"])
        if new["transformations"] != old.get("transformations"):
            run_mapping.check_flow(
                ctx,
                tenant,
                transformations=new["transformations"],
                source_ids=new["sourceConnectionIds"],
                target_ids=new["targetConnectionIds"],
            )
        if not isinstance(new.get("name", ""), str):
            raise ValidationError(
                "name must be a string", details=[FieldError("name", "must be a string")]
            )
        return new

    return documents.patch_document(
        ctx,
        tenant,
        KIND,
        flow_id,
        if_match=if_match,
        ops=ops,
        patchable={
            "name",
            "description",
            "scheduleParams",
            "transformations",
            "labels",
            "policy",
            "options",
        },
        immutable={"flowSpec", "sourceConnectionIds", "targetConnectionIds", "state"},
        validate=validate,
        record_operation=True,
    )


def act(ctx: ServiceContext, tenant: Tenant, flow_id: str, op: str | None) -> tuple[str, str]:
    """``enable``, ``disable`` (Adobe) and ``run`` (run now, beyond Adobe), any case."""
    action = (op or "").strip().lower()
    if action not in {"enable", "disable", "run"}:
        raise InvalidRequestError(
            f"op must be enable, disable or run, not '{op}'", instance_code="1436"
        )
    res = documents.load(ctx, tenant, KIND, flow_id)
    state = res.doc.get("state", "enabled")
    if action == "run":
        if state != "enabled":
            raise InvalidTransitionError(
                f"action run cannot be applied on the current state {state}"
            )
        runs.enqueue(
            ctx,
            tenant,
            res.doc,
            trigger="manual",
            scheduled_for=ctx.clock(),
            window_start=None,
            window_end=None,
            dedupe_key=f"{flow_id}:manual:{new_id()}",
        )
        return res.id, res.etag
    target = "enabled" if action == "enable" else "disabled"
    if state == target:
        raise InvalidTransitionError(
            f"action {action} cannot be applied on the current state {state}"
        )
    doc = res.doc
    doc["state"] = target
    updated = documents.touch(doc, tenant, ctx.clock(), res.updated_at)
    doc["lastOperation"] = documents.last_operation(updated, action, [])
    etag = documents.save(ctx, res, doc, expected_etag=res.etag, updated_at=updated)
    if target == "disabled":
        with ctx.engine.begin() as conn:
            run_store.cancel_runs_of_flow(conn, flow_id=flow_id, now=ctx.clock())
    return res.id, etag


def record_last_run(
    ctx: ServiceContext, *, org_id: str, sandbox_name: str, flow_id: str, details: dict[str, Any]
) -> None:
    """Set the flow's ``lastRunDetails`` when one of its runs ends (a new etag; ``updatedAt``
    stays, the flow's definition did not change). A flow deleted or edited meanwhile is left as
    it is."""
    with ctx.engine.begin() as conn:
        res = resource_store.read_resource(
            conn, kind=KIND, res_id=flow_id, org_id=org_id, sandbox_name=sandbox_name
        )
        if res is None:
            return
        res.doc["lastRunDetails"] = details
        previous = res.etag
        res.etag = new_etag()
        resource_store.update_resource(conn, res=res, expected_etag=previous)


def delete_flow(ctx: ServiceContext, tenant: Tenant, flow_id: str) -> None:
    documents.load(ctx, tenant, KIND, flow_id)
    documents.delete_document(ctx, tenant, KIND, flow_id)
    with ctx.engine.begin() as conn:
        run_store.cancel_runs_of_flow(conn, flow_id=flow_id, now=ctx.clock())
        run_store.delete_flow_state(conn, flow_id=flow_id)
