"""Data Prep (``/data/foundation/conversion``): mapping sets, their versions and mappings,
validation and preview, and the expression language listings.

Shapes follow Adobe's Data Prep API (``../shared/specs/data-prep.yaml`` and
``help/data-prep/api/mapping-set.md``): create answers ``{id, version, createdDate, ...}``; a PUT
makes a new version (older ones stay readable with ``?version=``); lists are
``{"data": [...], "_page": {"count", "limit"}}``. Both mapping shapes are accepted: Data Prep's
``{sourceType, source, destination}`` and the older ``{sourceAttribute, destinationXdmPath}`` of
Adobe's CRM source tutorial (with ``xdmSchema`` naming the output schema).

A mapping set is checked when it is created or replaced: each entry must read a known column
(when the set gives ``inputSchema.jsonSchema``), write a field of the output schema (when
``outputSchema.schemaRef`` or ``xdmSchema`` names a registry schema), call known functions and
convert between compatible types; otherwise it is refused (``2250``) with every offending entry
named in ``report.details``.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

import pyarrow as pa

from headwater import mapping
from headwater.connectors import registry
from headwater.errors import (
    DependentsExistError,
    FieldError,
    InvalidRequestError,
    MappingSetInvalidError,
    NotFoundError,
    ValidationError,
)
from headwater.mapping import MappingIssue, MappingSet
from headwater.services import schemas
from headwater.services.context import ServiceContext, Tenant
from headwater.store import resources as store
from headwater.store.resources import StoredResource

KIND = "mappingSets"
VERSIONS = "mappingSetVersions"


def _new_id() -> str:
    return secrets.token_hex(16)


def _who(tenant: Tenant) -> str:
    return f"{tenant.client_id}@AdobeID"


def _not_found(ms_id: str, version: int | None = None) -> NotFoundError:
    what = f"{ms_id} (version {version})" if version is not None else ms_id
    return NotFoundError(
        f"The mapping set {what} is not found.", resource_id=ms_id, resource_type=KIND
    )


# ------------------------------------------------------------------ schemas


def output_ref(body: dict[str, Any]) -> dict[str, Any] | None:
    """The output schema reference: ``outputSchema.schemaRef``, ``schemaRef`` or ``xdmSchema``."""
    out = body.get("outputSchema")
    if (
        isinstance(out, dict)
        and isinstance(out.get("schemaRef"), dict)
        and out["schemaRef"].get("id")
    ):
        return dict(out["schemaRef"])
    if isinstance(body.get("schemaRef"), dict) and body["schemaRef"].get("id"):
        return dict(body["schemaRef"])
    if isinstance(body.get("xdmSchema"), str) and body["xdmSchema"]:
        return {"id": body["xdmSchema"], "contentType": str(body.get("xdmVersion") or "1.0")}
    return None


def input_arrow(body: dict[str, Any]) -> pa.Schema | None:
    """The input columns when the set gives ``inputSchema.jsonSchema`` (Data Prep's
    ``SchemaRepresentation``); ``None`` when the columns are not known yet."""
    inp = body.get("inputSchema")
    if not isinstance(inp, dict):
        return None
    js = inp.get("jsonSchema")
    if not isinstance(js, dict) or not isinstance(js.get("properties"), dict):
        return None
    try:
        return mapping.schema_from_properties(js["properties"])
    except mapping.SchemaShapeError as exc:
        raise ValidationError(
            f"inputSchema.jsonSchema is not a schema: {exc}",
            details=[FieldError("inputSchema.jsonSchema", str(exc))],
        ) from None


def aliases_for(
    schema: pa.Schema | None, spec_id: str | None = None
) -> tuple[pa.Schema | None, dict[str, str]]:
    """Adobe's column names for the source's tables (``ConnectorType.column_aliases``) as
    aliases, with the columns the source supplies per run added to ``schema``: those of the
    source ``spec_id`` (of every source when it is not known) whose tables look like ``schema``.
    With no schema every alias applies."""
    declared = registry.column_aliases(spec_id)
    if schema is None:
        merged: dict[str, str] = {}
        for d in declared:
            merged.update(d.aliases)
        return None, merged
    for d in declared:
        if set(schema.names) >= d.applies_to:
            return mapping.with_constant_columns(schema, d.constants), dict(d.aliases)
    return schema, {}


def _output_arrow(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> pa.Schema | None:
    ref = output_ref(body)
    if ref is None:
        return None
    try:
        return schemas.resolve_schema(ctx, tenant, ref).arrow
    except NotFoundError as exc:
        raise MappingSetInvalidError(
            f"The output schema {ref['id']} is not in the Schema Registry",
            details=[FieldError("outputSchema.schemaRef.id", exc.message)],
        ) from None


def _issue_detail(issue: MappingIssue) -> FieldError:
    return FieldError(f"mappings[{issue.index}]", f"{issue.kind}: {issue.message}")


def check_body(
    ctx: ServiceContext, tenant: Tenant, body: dict[str, Any], input_schema: pa.Schema | None = None
) -> tuple[list[MappingIssue], pa.Schema | None, pa.Schema | None, dict[str, str]]:
    mappings_ = body.get("mappings")
    if not isinstance(mappings_, list):
        raise MappingSetInvalidError(
            "mappings must be an array", details=[FieldError("mappings", "must be an array")]
        )
    inp, aliases = aliases_for(input_schema if input_schema is not None else input_arrow(body))
    out = _output_arrow(ctx, tenant, body)
    _, issues = mapping.check(mappings_, input_schema=inp, output_schema=out, aliases=aliases)
    return issues, inp, out, aliases


def compile_body(
    ctx: ServiceContext, tenant: Tenant, body: dict[str, Any], input_schema: pa.Schema | None = None
) -> MappingSet:
    """The compiled mapping set, or :class:`MappingSetInvalidError` naming each bad entry."""
    issues, inp, out, aliases = check_body(ctx, tenant, body, input_schema)
    if issues:
        raise _refusal(issues)
    return mapping.compile_set(
        body["mappings"], input_schema=inp, output_schema=out, aliases=aliases
    )


def _refusal(issues: list[MappingIssue]) -> MappingSetInvalidError:
    listing = "; ".join(
        f"mappings[{i.index}] ({i.source} → {i.destination}): {i.message}" for i in issues
    )
    return MappingSetInvalidError(
        f"The mapping set is invalid: {listing}", details=[_issue_detail(i) for i in issues]
    )


# ------------------------------------------------------------------ documents


def _mapping_doc(m: dict[str, Any], tenant: Tenant, now: int) -> dict[str, Any]:
    (entry,), _ = mapping.entries_of([m])
    kind = "text/x.schema-path" if entry.kind == "ATTRIBUTE" else entry.kind
    doc = {
        "id": _new_id(),
        "version": 0,
        "createdDate": now,
        "modifiedDate": now,
        "createdBy": _who(tenant),
        "modifiedBy": _who(tenant),
        "sourceType": kind,
        "source": entry.source,
        "destination": entry.destination,
        "identity": bool(m.get("identity", False)),
        "primaryIdentity": bool(m.get("primaryIdentity", False)),
        "matchScore": 0.0,
        "functionVersion": 1,
        "sourceAttribute": entry.source,
        "destinationXdmPath": entry.destination,
    }
    for key in ("name", "description", "identityGroup", "namespaceCode"):
        if m.get(key) is not None:
            doc[key] = m[key]
    return doc


def _set_doc(
    body: dict[str, Any],
    tenant: Tenant,
    now: int,
    ms_id: str,
    version: int,
    created: dict[str, Any] | None,
) -> dict[str, Any]:
    ref = output_ref(body)
    doc: dict[str, Any] = {
        "id": ms_id,
        "version": version,
        "createdDate": created["createdDate"] if created else now,
        "modifiedDate": now,
        "createdBy": created["createdBy"] if created else _who(tenant),
        "modifiedBy": _who(tenant),
        "supportVersion": "1.1",
        "mappings": [_mapping_doc(m, tenant, now) for m in body["mappings"]],
        "status": str(body.get("status") or "PUBLISHED"),
        "strictMapping": bool(body.get("strictMapping", False)),
        "allowNullValues": bool(body.get("allowNullValues", False)),
    }
    for key in ("name", "description", "tags", "inputSchema"):
        if body.get(key) is not None:
            doc[key] = copy.deepcopy(body[key])
    if ref is not None:
        doc["outputSchema"] = {"schemaRef": ref}
        doc["schemaRef"] = ref
        doc["xdmSchema"] = ref["id"]
        doc["xdmVersion"] = ref.get("contentType") or "1.0"
    return doc


def _store(tenant: Tenant, kind: str, res_id: str, doc: dict[str, Any]) -> StoredResource:
    return StoredResource(
        kind,
        res_id,
        tenant.org_id,
        tenant.sandbox_name,
        doc,
        None,
        "",
        doc["createdDate"],
        doc["modifiedDate"],
    )


def create(ctx: ServiceContext, tenant: Tenant, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a mapping set object")
    compile_body(ctx, tenant, body)
    now = ctx.clock()
    ms_id = _new_id()
    doc = _set_doc(body, tenant, now, ms_id, 0, None)
    res = _store(tenant, KIND, ms_id, doc)
    with ctx.engine.begin() as conn:
        store.insert_resource(conn, res=_with_etag(res))
    return {
        k: doc[k]
        for k in ("id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy")
    }


def _with_etag(res: StoredResource) -> StoredResource:
    from headwater.domain.ids import new_etag

    res.etag = new_etag()
    return res


def _load(ctx: ServiceContext, tenant: Tenant, ms_id: str) -> StoredResource:
    with ctx.engine.connect() as conn:
        res = store.read_resource(
            conn, kind=KIND, res_id=ms_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    if res is None:
        raise _not_found(ms_id)
    return res


def get(
    ctx: ServiceContext,
    tenant: Tenant,
    ms_id: str,
    *,
    version: int | None = None,
    expand: bool = False,
) -> dict[str, Any]:
    res = _load(ctx, tenant, ms_id)
    doc = res.doc
    if version is not None and version != doc["version"]:
        with ctx.engine.connect() as conn:
            old = store.read_resource(
                conn,
                kind=VERSIONS,
                res_id=f"{ms_id}.{version}",
                org_id=tenant.org_id,
                sandbox_name=tenant.sandbox_name,
            )
        if old is None:
            raise _not_found(ms_id, version)
        doc = old.doc
    return _expanded(ctx, tenant, doc) if expand else copy.deepcopy(doc)


def _expanded(ctx: ServiceContext, tenant: Tenant, doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    ref = output_ref(doc)
    if ref is not None:
        try:
            resolved = schemas.resolve_schema(ctx, tenant, ref)
        except NotFoundError:
            return out
        out["outputSchema"]["jsonSchema"] = {
            "title": resolved.title,
            "type": "object",
            "properties": resolved.properties,
            "$id": resolved.id,
        }
    return out


def list_sets(
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    limit: int,
    start: int,
    name: str | None,
    order_by: str | None,
    expand: bool,
) -> dict[str, Any]:
    if not 1 <= limit <= 1000 or start < 0:
        raise InvalidRequestError("limit must be 1..1000 and start >= 0")
    with ctx.engine.connect() as conn:
        rows = store.read_resources(
            conn, kind=KIND, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    docs = [r.doc for r in rows if name is None or r.doc.get("name") == name]
    order = (order_by or "-updatedDate").strip()
    field = {
        "createdDate": "createdDate",
        "updatedDate": "modifiedDate",
        "lastUpdateDate": "modifiedDate",
    }
    key = field.get(order.lstrip("+- "))
    if key is None:
        raise InvalidRequestError(f"orderBy supports createdDate and updatedDate, not '{order}'")
    docs.sort(
        key=lambda d: (d.get(key, 0), d["id"]),
        reverse=not order.startswith("+") and order.startswith("-"),
    )
    page = docs[start : start + limit]
    data = [_expanded(ctx, tenant, d) if expand else d for d in page]
    return {"data": data, "_page": {"count": len(docs), "limit": limit}}


def replace(ctx: ServiceContext, tenant: Tenant, ms_id: str, body: Any) -> dict[str, Any]:
    """PUT: a new version of the mapping set; the previous one stays readable by version."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a mapping set object")
    res = _load(ctx, tenant, ms_id)
    merged = dict(body)
    if output_ref(merged) is None and output_ref(res.doc) is not None:
        merged["outputSchema"] = {"schemaRef": output_ref(res.doc)}
    compile_body(ctx, tenant, merged)
    now = max(ctx.clock(), res.updated_at + 1)
    doc = _set_doc(merged, tenant, now, ms_id, int(res.doc["version"]) + 1, res.doc)
    old = _store(tenant, VERSIONS, f"{ms_id}.{res.doc['version']}", res.doc)
    new = _with_etag(_store(tenant, KIND, ms_id, doc))
    new.created_at = res.created_at
    with ctx.engine.begin() as conn:
        store.insert_resource(conn, res=_with_etag(old))
        if not store.update_resource(conn, res=new, expected_etag=res.etag):
            raise InvalidRequestError("the mapping set changed while it was being updated; retry")
    return copy.deepcopy(doc)


def delete(ctx: ServiceContext, tenant: Tenant, ms_id: str) -> None:
    res = _load(ctx, tenant, ms_id)
    with ctx.engine.connect() as conn:
        flows = store.read_resources(
            conn, kind="flows", org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    users = [
        f.id
        for f in flows
        for t in f.doc.get("transformations") or []
        if isinstance(t, dict) and (t.get("params") or {}).get("mappingId") == ms_id
    ]
    if users:
        raise DependentsExistError(f"mapping set {ms_id} is used by flows: {', '.join(users)}")
    with ctx.engine.begin() as conn:
        store.delete_resource(
            conn, kind=KIND, res_id=res.id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
        for old in store.read_resources(
            conn, kind=VERSIONS, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        ):
            if old.id.startswith(f"{ms_id}."):
                store.delete_resource(
                    conn,
                    kind=VERSIONS,
                    res_id=old.id,
                    org_id=tenant.org_id,
                    sandbox_name=tenant.sandbox_name,
                )


def mappings_of(ctx: ServiceContext, tenant: Tenant, ms_id: str) -> list[dict[str, Any]]:
    return list(_load(ctx, tenant, ms_id).doc["mappings"])


def mapping_of(ctx: ServiceContext, tenant: Tenant, ms_id: str, mapping_id: str) -> dict[str, Any]:
    for m in mappings_of(ctx, tenant, ms_id):
        if m["id"] == mapping_id:
            return dict(m)
    raise NotFoundError(
        f"The mapping {mapping_id} is not in mapping set {ms_id}.",
        resource_id=mapping_id,
        resource_type="mappings",
    )


def for_run(
    ctx: ServiceContext, tenant: Tenant, ms_id: str, version: int | None, input_schema: pa.Schema
) -> MappingSet:
    """The compiled mapping set a flow's ``Mapping`` transformation names, checked against the
    source's columns (for the run integration)."""
    doc = get(ctx, tenant, ms_id, version=version)
    return compile_body(ctx, tenant, doc, input_schema)


# ------------------------------------------------------------------ validate / preview


_SOURCE_TYPES = {
    "ATTRIBUTE": "ATTRIBUTE",
    "EXPRESSION": "EXPRESSION",
    "STATIC": "STATIC",
    "TEXT/X.SCHEMA-PATH": "ATTRIBUTE",
    "TEXT/X.CALCULATED": "EXPRESSION",
}


def _error_info(issue_or_error: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """Data Prep's ``TransformErrorInfo``: string fields only (an entry the client sent may hold
    anything), ``sourceType`` one of Adobe's three."""
    source = entry.get("source", entry.get("sourceAttribute"))
    info: dict[str, Any] = {
        "destination": entry.get("destination", entry.get("destinationXdmPath")),
        "exception": issue_or_error.message,
        "source": source,
        "columnName": getattr(issue_or_error, "column", None) or source,
    }
    info = {k: v for k, v in info.items() if isinstance(v, str)}
    kind = entry.get("sourceType")
    info["sourceType"] = (
        _SOURCE_TYPES.get(kind.upper(), "ATTRIBUTE") if isinstance(kind, str) else "ATTRIBUTE"
    )
    return info


def validate(ctx: ServiceContext, tenant: Tenant, body: Any) -> dict[str, Any]:
    """``{"validationResponse": [{status, errors}]}``, one item per mapping, in order."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a mapping set object")
    issues, *_ = check_body(ctx, tenant, body)
    by_index: dict[int, list[MappingIssue]] = {}
    for issue in issues:
        by_index.setdefault(issue.index, []).append(issue)
    out = []
    for i, entry in enumerate(body["mappings"]):
        errs = by_index.get(i)
        entry_d = entry if isinstance(entry, dict) else {}
        out.append(
            {
                "status": "FAILED" if errs else "SUCCESS",
                "errors": [_error_info(e, entry_d) for e in errs] if errs else None,
            }
        )
    return {"validationResponse": out}


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != {}} or None
    if isinstance(value, list):
        return [_prune(v) for v in value]
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text.replace("+00:00", "Z")
    return value


def preview(ctx: ServiceContext, tenant: Tenant, body: Any) -> Any:
    """Apply a mapping set to sample rows: ``[{"data": <nested record>, "errors": [...]|null}]``
    (a single object when ``data`` is one object). A value that fails to convert is left out of
    its record and reported in ``errors`` with its column, as Data Prep reports warnings."""
    if not isinstance(body, dict) or not isinstance(body.get("mappingSet"), dict):
        raise InvalidRequestError('preview needs {"data": [...], "mappingSet": {...}}')
    data = body.get("data")
    single = isinstance(data, dict)
    rows = [data] if single else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows) or not rows:
        raise InvalidRequestError("data must be an object or a non-empty array of objects")
    ms_body = body["mappingSet"]
    try:
        table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows))])
    except (pa.ArrowException, OverflowError) as exc:
        raise InvalidRequestError(f"the sample rows do not share column types: {exc}") from None
    declared = input_arrow(ms_body)
    compiled = compile_body(
        ctx, tenant, ms_body, declared if declared is not None else table.schema
    )
    if declared is not None:
        table = _conform(table, declared)
    result = compiled.apply(table, on_error="nullify")
    entries = {
        m.get("destination", m.get("destinationXdmPath")): m
        for m in ms_body["mappings"]
        if isinstance(m, dict)
    }
    errors: dict[int, list[dict[str, Any]]] = {}
    for w in result.warnings:
        info = _error_info(w, entries.get(w.destination, {}))
        info["columnName"] = w.column
        errors.setdefault(w.row, []).append(info)
    out = [
        {"data": _prune(rec) or {}, "errors": errors.get(i)}
        for i, rec in enumerate(result.table.to_pylist())
    ]
    return out[0] if single else out


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type, safe=False))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def validate_expression(body: Any) -> bool:
    """``POST /languages/el/validate``: true when the expression parses and its functions exist."""
    expr = body.get("expression") if isinstance(body, dict) else None
    if isinstance(expr, dict):
        expr = expr.get("expression")
    if not isinstance(expr, str):
        raise InvalidRequestError("expression must be a string")
    try:
        mapping.compile_set([{"sourceType": "EXPRESSION", "source": expr, "destination": "value"}])
    except mapping.MappingError as exc:
        raise InvalidRequestError(f"Invalid expression: {exc.issues[0].message}") from None
    return True


def functions_listing() -> list[dict[str, Any]]:
    return [fn.listing() for fn in mapping.unique_functions()]


def operators_listing() -> list[dict[str, Any]]:
    return [dict(op) for op in mapping.OPERATORS]
