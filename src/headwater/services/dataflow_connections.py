"""Source connections (a table of a base connection, its params checked by the source's connector)
and target connections (a dataset of the Data Lake)."""

from __future__ import annotations

from typing import Any

from headwater.connectors import registry
from headwater.connectors.base import ConnectorType, SourceParams
from headwater.domain.ids import new_id
from headwater.errors import (
    DependentsExistError,
    FieldError,
    InvalidSpecError,
    PatchError,
    ValidationError,
)
from headwater.services import connection_specs, documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest, ListResult, list_documents

SOURCE = "sourceConnections"
TARGET = "targetConnections"
COMMON_FIELDS = documents.METADATA_FIELDS | {
    "id",
    "name",
    "description",
    "state",
    "data",
    "params",
    "connectionSpec",
    "inheritedAttributes",
    "providerRefId",
}
SOURCE_FIELDS = COMMON_FIELDS | {"baseConnectionId"}
TARGET_FIELDS = COMMON_FIELDS | {"baseConnectionId"}
XED_VERSION = "application/vnd.adobe.xed-full+json;version=1"


def source_type(spec_id: str) -> ConnectorType:
    """The registered source connector of a source connection's connection spec."""
    kind = registry.connector_type(spec_id)
    if kind is None:
        raise InvalidSpecError(f"invalid source connection spec id '{spec_id}'")
    return kind


def source_params(doc: dict[str, Any]) -> SourceParams:
    """The table and columns a stored source connection reads (validated by its connector)."""
    return source_type(doc["connectionSpec"]["id"]).read_source_params(doc.get("params"))


def source_table(doc: dict[str, Any]) -> str | None:
    """The table a stored source connection reads, or None when its params name none."""
    try:
        return source_params(doc).table
    except (InvalidSpecError, ValidationError):
        return None


def create_source(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str]:
    spec_ref = body.get("connectionSpec") or {}
    spec = connection_specs.connection_spec(spec_ref.get("id", ""))
    if spec is None or not spec.get("sourceSpec"):
        raise InvalidSpecError(f"invalid source connection spec id '{spec_ref.get('id')}'")
    kind = source_type(spec["id"])
    base_id = body.get("baseConnectionId")
    if not isinstance(base_id, str) or not base_id:
        raise ValidationError(
            "baseConnectionId is required",
            details=[FieldError("baseConnectionId", "is required")],
        )
    base = documents.load(ctx, tenant, "connections", base_id)
    if base.doc["connectionSpec"]["id"] != spec["id"]:
        raise ValidationError(
            f"base connection {base_id} uses connection spec {base.doc['connectionSpec']['id']}, "
            f"not {spec['id']}",
            details=[FieldError("baseConnectionId", "has another connection spec")],
        )
    params = body.get("params")
    kind.read_source_params(params)
    assert isinstance(params, dict)
    data = body.get("data") or {"format": "tabular"}
    if data.get("format", "tabular") != "tabular":
        raise ValidationError(
            f"data.format must be tabular for {kind.title}",
            details=[FieldError("data.format", "must be tabular")],
        )
    now = ctx.clock()
    res_id = new_id()
    doc = documents.audit_fields(tenant, now, res_id) | {
        "name": body.get("name") or "",
        "description": body.get("description") or "",
        "baseConnectionId": base_id,
        "state": "enabled",
        "data": data,
        "params": params,
        "connectionSpec": {"id": spec["id"], "version": spec_ref.get("version") or "1.0"},
        "inheritedAttributes": {
            "baseConnection": {"id": base_id, "connectionSpec": base.doc["connectionSpec"]}
        },
    }
    return documents.insert(ctx, tenant, SOURCE, doc)


def _check_dataset(ctx: ServiceContext, tenant: Tenant, params: Any) -> dict[str, Any]:
    if not isinstance(params, dict) or not isinstance(params.get("dataSetId"), str):
        raise ValidationError(
            "params.dataSetId is required",
            details=[FieldError("params.dataSetId", "is required")],
        )
    documents.load(ctx, tenant, "dataSets", params["dataSetId"])
    return params


def create_target(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str]:
    spec_ref = body.get("connectionSpec") or {}
    spec = connection_specs.connection_spec(spec_ref.get("id", ""))
    if spec is None or not spec.get("targetSpec"):
        raise InvalidSpecError(f"invalid target connection spec id '{spec_ref.get('id')}'")
    params = _check_dataset(ctx, tenant, body.get("params"))
    data = dict(body.get("data") or {})
    schema = data.get("schema")
    if isinstance(schema, dict) and "schemaId" in schema and "id" not in schema:
        schema = {"id": schema["schemaId"], **{k: v for k, v in schema.items() if k != "schemaId"}}
        data["schema"] = schema
    data.setdefault("format", "delta")
    now = ctx.clock()
    res_id = new_id()
    doc = documents.audit_fields(tenant, now, res_id) | {
        "name": body.get("name") or "",
        "description": body.get("description") or "",
        "state": "enabled",
        "data": data,
        "params": params,
        "connectionSpec": {"id": spec["id"], "version": spec_ref.get("version") or "1.0"},
        "inheritedAttributes": {},
    }
    if body.get("baseConnectionId"):
        doc["baseConnectionId"] = body["baseConnectionId"]
    return documents.insert(ctx, tenant, TARGET, doc, requires=[("dataSets", params["dataSetId"])])


def get(ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str) -> dict[str, Any]:
    return documents.plain_render(documents.load(ctx, tenant, kind, res_id))


def list_(ctx: ServiceContext, tenant: Tenant, kind: str, request: ListRequest) -> ListResult:
    fields = SOURCE_FIELDS if kind == SOURCE else TARGET_FIELDS
    return list_documents(
        ctx, tenant, kind=kind, request=request, fields=fields, render=documents.plain_render
    )


def patch(
    ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str, *, if_match: str | None, ops: Any
) -> tuple[str, str]:
    def validate(_old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(new.get("name", ""), str):
            raise PatchError("name must be a string")
        if kind == SOURCE:
            source_params(new)
        else:
            _check_dataset(ctx, tenant, new.get("params"))
        return new

    return documents.patch_document(
        ctx,
        tenant,
        kind,
        res_id,
        if_match=if_match,
        ops=ops,
        patchable={"name", "description", "params", "data"},
        immutable={"connectionSpec", "baseConnectionId"},
        validate=validate,
    )


def flows_using(ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str) -> list[str]:
    key = "sourceConnectionIds" if kind == SOURCE else "targetConnectionIds"
    return sorted(
        f.id for f in documents.load_all(ctx, tenant, "flows") if res_id in f.doc.get(key, [])
    )


def delete(ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str) -> None:
    documents.load(ctx, tenant, kind, res_id)
    documents.delete_unless_used(
        ctx,
        tenant,
        kind,
        res_id,
        dependents=lambda: flows_using(ctx, tenant, kind, res_id),
        refuse=lambda users: DependentsExistError(
            f"{kind} {res_id} cannot be deleted while flows use it: {', '.join(users)}"
        ),
    )


__all__ = ["SOURCE", "TARGET", "XED_VERSION"]
