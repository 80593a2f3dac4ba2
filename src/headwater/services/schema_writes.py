"""Schema Registry writes: create, replace, patch and delete tenant schemas and field groups.

Validation follows Adobe's guide: a schema's ``allOf`` references exactly one class and field
groups meant for it (``meta:intendedToExtend``); titles are unique across the tenant's resources
(XDM-1521); a field group's custom fields sit under ``_{TENANT_ID}`` (XDM-1021).
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from typing import Any

import jsonpatch
import jsonpointer

from headwater.domain.ids import new_etag
from headwater.errors import (
    FieldError,
    XdmInvalidError,
    XdmNamespaceError,
    XdmTitleNotUniqueError,
)
from headwater.services.context import ServiceContext, Tenant
from headwater.services.schemas import (
    _KIND,
    _READ_ONLY,
    FIELD_GROUPS,
    SCHEMAS,
    _not_found,
    _tenant_doc,
    find_component,
    own_properties,
    tenant_id,
)
from headwater.store import resources as store
from headwater.store.resources import StoredResource

# ------------------------------------------------------------------ writes


def _xdm_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    fmt = prop.get("format")
    if kind == "string" and fmt in {"date", "date-time"}:
        return str(fmt)
    if kind == "integer":
        return "long"
    if kind == "number":
        return "number"
    return str(kind or "object")


def _annotate(props: dict[str, Any], where: str) -> None:
    """Fill ``meta:xdmType`` and refuse fields Headwater cannot type (``$ref`` to data types)."""
    for name, prop in props.items():
        if not isinstance(prop, dict):
            raise XdmInvalidError(f"field {where}{name} must be an object")
        if "$ref" in prop:
            raise XdmInvalidError(
                f"field {where}{name} refers to {prop['$ref']}; data types are not served, "
                "define the fields inline"
            )
        if "properties" in prop:
            prop.setdefault("type", "object")
            _annotate(prop["properties"], f"{where}{name}.")
        if "type" not in prop:
            raise XdmInvalidError(f"field {where}{name} has no type")
        prop.setdefault("meta:xdmType", _xdm_type(prop))


def _registry_meta(tenant: Tenant, now: int, created: dict[str, Any] | None) -> dict[str, Any]:
    who = f"{tenant.client_id}@AdobeID"
    meta = {
        "repo:createdDate": now,
        "repo:lastModifiedDate": now,
        "xdm:createdClientId": tenant.client_id,
        "xdm:lastModifiedClientId": tenant.client_id,
        "xdm:createdUserId": who,
        "xdm:lastModifiedUserId": who,
    }
    if created:
        for k in ("repo:createdDate", "xdm:createdClientId", "xdm:createdUserId"):
            meta[k] = created.get(k, meta[k])
    meta["eTag"] = hashlib.sha256(new_etag().encode()).hexdigest()
    return meta


def _check_title(ctx: ServiceContext, tenant: Tenant, title: Any, own_id: str | None) -> str:
    if not isinstance(title, str) or not title.strip():
        raise XdmInvalidError("title is required", details=[FieldError("title", "is required")])
    for kind in (SCHEMAS, FIELD_GROUPS):
        with ctx.engine.connect() as conn:
            rows = store.read_resources(
                conn, kind=kind, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
            )
        for r in rows:
            if r.doc.get("title") == title and r.doc.get("$id") != own_id:
                raise XdmTitleNotUniqueError(
                    f"Object titles must be unique. An object {r.doc['$id']} already exists with "
                    "the same title"
                )
    return title


def _schema_doc(
    ctx: ServiceContext, tenant: Tenant, body: dict[str, Any], hex_id: str
) -> dict[str, Any]:
    """Validate a schema body (``allOf`` = one class + field groups) into its stored form."""
    tid = tenant_id(tenant.org_id)
    parts = body.get("allOf")
    if not isinstance(parts, list) or not parts:
        raise XdmInvalidError(
            "A schema must have an allOf array referencing the $id of its class",
            details=[FieldError("allOf", "is required")],
        )
    classes: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    all_of: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        ref = part.get("$ref") if isinstance(part, dict) else None
        if not isinstance(ref, str):
            raise XdmInvalidError(f"allOf[{i}] must be an object with a $ref")
        comp = find_component(ctx, tenant, ref)
        if comp is None:
            raise XdmInvalidError(f"allOf[{i}]: the referenced resource {ref} does not exist")
        (classes if comp["meta:resourceType"] == "classes" else groups).append(comp)
        all_of.append({"$ref": comp["$id"], "type": "object", "meta:xdmType": "object"})
    if len(classes) != 1:
        raise XdmInvalidError(
            f"A schema must reference exactly one class in allOf (found {len(classes)})"
        )
    cls = classes[0]
    for g in groups:
        intended = g.get("meta:intendedToExtend") or []
        if intended and cls["$id"] not in intended:
            raise XdmInvalidError(
                f"field group {g['$id']} cannot be used with class {cls['$id']} "
                f"(meta:intendedToExtend: {', '.join(intended)})"
            )
    extends = [g["$id"] for g in groups] + list(cls.get("meta:extends") or []) + [cls["$id"]]
    doc = {
        k: v for k, v in body.items() if k not in _READ_ONLY and k not in {"allOf", "meta:extends"}
    }
    doc.update(
        {
            "$id": f"https://ns.adobe.com/{tid}/schemas/{hex_id}",
            "meta:altId": f"_{tid}.schemas.{hex_id}",
            "meta:resourceType": "schemas",
            "type": "object",
            "allOf": all_of,
            "refs": [c["$id"] for c in [*groups, cls]],
            "imsOrg": tenant.org_id,
            "meta:extensible": False,
            "meta:abstract": False,
            "meta:extends": list(dict.fromkeys(extends)),
            "meta:xdmType": "object",
            "meta:class": cls["$id"],
            "meta:containerId": "tenant",
            "meta:sandboxId": tenant.sandbox_id,
            "meta:sandboxType": "production" if tenant.sandbox_name == "prod" else "development",
            "meta:tenantNamespace": f"_{tid}",
        }
    )
    return doc


def _field_group_doc(tenant: Tenant, body: dict[str, Any], hex_id: str) -> dict[str, Any]:
    tid = tenant_id(tenant.org_id)
    intended = body.get("meta:intendedToExtend")
    if not isinstance(intended, list) or not intended:
        raise XdmInvalidError(
            "A field group must list the classes it extends in meta:intendedToExtend",
            details=[FieldError("meta:intendedToExtend", "is required")],
        )
    doc = {k: copy.deepcopy(v) for k, v in body.items() if k not in _READ_ONLY}
    props = own_properties(doc)
    if not props:
        raise XdmInvalidError("A field group must define fields (definitions referenced by allOf)")
    for name in props:
        if name != f"_{tid}":
            raise XdmNamespaceError(
                "A custom field is defined under an invalid namespace. All custom fields must be "
                f"defined under a top-level field named _{tid}."
            )
    for definition in (doc.get("definitions") or {}).values():
        if isinstance(definition, dict):
            _annotate(definition.get("properties") or {}, "")
    doc.update(
        {
            "$id": f"https://ns.adobe.com/{tid}/mixins/{hex_id}",
            "meta:altId": f"_{tid}.mixins.{hex_id}",
            "meta:resourceType": "mixins",
            "type": "object",
            "imsOrg": tenant.org_id,
            "meta:extensible": True,
            "meta:abstract": True,
            "meta:xdmType": "object",
            "meta:containerId": "tenant",
            "meta:tenantNamespace": f"_{tid}",
        }
    )
    return doc


def _build(
    ctx: ServiceContext, tenant: Tenant, kind: str, body: dict[str, Any], hex_id: str
) -> dict[str, Any]:
    if kind == SCHEMAS:
        return _schema_doc(ctx, tenant, body, hex_id)
    return _field_group_doc(tenant, body, hex_id)


def create(ctx: ServiceContext, tenant: Tenant, kind_name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise XdmInvalidError("The request body must be a JSON object")
    kind = _KIND[kind_name]
    hex_id = secrets.token_hex(24)
    _check_title(ctx, tenant, body.get("title"), None)
    doc = _build(ctx, tenant, kind, body, hex_id)
    now = ctx.clock()
    doc["version"] = "1.0"
    doc["meta:registryMetadata"] = _registry_meta(tenant, now, None)
    res = StoredResource(
        kind, hex_id, tenant.org_id, tenant.sandbox_name, doc, None, new_etag(), now, now
    )
    with ctx.engine.begin() as conn:
        store.insert_resource(conn, res=res)
    return doc


def _bump(version: str) -> str:
    major, _, minor = version.partition(".")
    return f"{major}.{int(minor or 0) + 1}"


def _replace(
    ctx: ServiceContext, tenant: Tenant, res: StoredResource, new_body: dict[str, Any]
) -> dict[str, Any]:
    _check_title(ctx, tenant, new_body.get("title"), res.doc["$id"])
    doc = _build(ctx, tenant, res.kind, new_body, res.id)
    now = max(ctx.clock(), res.updated_at + 1)
    doc["version"] = _bump(str(res.doc.get("version", "1.0")))
    doc["meta:registryMetadata"] = _registry_meta(tenant, now, res.doc.get("meta:registryMetadata"))
    new = StoredResource(
        res.kind, res.id, res.org_id, res.sandbox_name, doc, None, new_etag(), res.created_at, now
    )
    with ctx.engine.begin() as conn:
        if not store.update_resource(conn, res=new, expected_etag=res.etag):
            raise XdmInvalidError("the resource changed while it was being updated; retry")
    return doc


def _load(ctx: ServiceContext, tenant: Tenant, kind_name: str, ref: str) -> StoredResource:
    res = _tenant_doc(ctx, tenant, _KIND[kind_name], ref)
    if res is None:
        raise _not_found("schema" if kind_name == "schemas" else "field group", ref)
    return res


def put(ctx: ServiceContext, tenant: Tenant, kind_name: str, ref: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise XdmInvalidError("The request body must be a JSON object")
    return _replace(ctx, tenant, _load(ctx, tenant, kind_name, ref), body)


def patch(
    ctx: ServiceContext, tenant: Tenant, kind_name: str, ref: str, ops: Any
) -> dict[str, Any]:
    """JSON Patch (``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``) on the resource."""
    res = _load(ctx, tenant, kind_name, ref)
    if not isinstance(ops, list) or not ops:
        raise XdmInvalidError("A PATCH body must be a non-empty JSON Patch array")
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise XdmInvalidError(f"patch operation {i} must be an object with 'op' and 'path'")
        root = op["path"].lstrip("/").split("/", 1)[0].replace("~1", "/").replace("~0", "~")
        if root in _READ_ONLY:
            raise XdmInvalidError(f"'{root}' is read-only")
        if isinstance(op.get("op"), str):
            op["op"] = op["op"].lower()
    try:
        patched = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(res.doc))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise XdmInvalidError(f"The patch cannot be applied: {exc}") from exc
    return _replace(ctx, tenant, res, patched)


def delete(ctx: ServiceContext, tenant: Tenant, kind_name: str, ref: str) -> None:
    res = _load(ctx, tenant, kind_name, ref)
    if res.kind == FIELD_GROUPS:
        with ctx.engine.connect() as conn:
            users = [
                r.doc["$id"]
                for r in store.read_resources(
                    conn, kind=SCHEMAS, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
                )
                if res.doc["$id"] in (r.doc.get("refs") or [])
            ]
        if users:
            raise XdmInvalidError(
                f"field group {res.doc['$id']} is used by schemas: {', '.join(users)}"
            )
    with ctx.engine.begin() as conn:
        store.delete_resource(
            conn,
            kind=res.kind,
            res_id=res.id,
            org_id=tenant.org_id,
            sandbox_name=tenant.sandbox_name,
        )


def stats(ctx: ServiceContext, tenant: Tenant) -> dict[str, Any]:
    counts: dict[str, int] = {}
    with ctx.engine.connect() as conn:
        for kind, name in ((SCHEMAS, "schemas"), (FIELD_GROUPS, "mixins")):
            counts[name] = store.count_resources(
                conn, kind=kind, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
            )
    counts.update({"datatypes": 0, "classes": 0, "unions": 0})
    return {"imsOrg": tenant.org_id, "tenantId": tenant_id(tenant.org_id), "counts": counts}
