"""Source connections (a HubSpot table of a base connection) and target connections (a dataset
of the Data Lake)."""

from __future__ import annotations

import re
from typing import Any

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
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z0-9_]+$")
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


def table_of(params: dict[str, Any]) -> str | None:
    """``params.tableName`` or the HubSpot tutorial's ``params.path``."""
    value = params.get("tableName") or params.get("path")
    return value if isinstance(value, str) else None


def _source_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ValidationError(
            "params must be an object with tableName or path",
            details=[FieldError("params", "must be an object")],
        )
    table = table_of(params)
    if table is None:
        raise ValidationError(
            "params.tableName (or params.path) is required, e.g. Hubspot.Contacts",
            details=[FieldError("params.tableName", "is required")],
        )
    if not TABLE_NAME.match(table):
        raise ValidationError(
            f"params.tableName '{table}' is not a table name such as Hubspot.Contacts",
            details=[FieldError("params.tableName", "must look like Hubspot.Contacts")],
        )
    columns = params.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, dict | str) for c in columns)
    ):
        raise ValidationError(
            "params.columns must be a list of column names or {name} objects",
            details=[FieldError("params.columns", "must be a list")],
        )
    if params.get("filters") is not None:
        raise ValidationError(
            "HubSpot does not support row-level filters at the source",
            details=[FieldError("params.filters", "is not supported by this source")],
        )
    return params


def column_names(params: dict[str, Any]) -> list[str] | None:
    cols = params.get("columns")
    if not cols:
        return None
    return [c if isinstance(c, str) else str(c.get("name")) for c in cols]


def create_source(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str]:
    spec_ref = body.get("connectionSpec") or {}
    spec = connection_specs.connection_spec(spec_ref.get("id", ""))
    if spec is None or not spec.get("sourceSpec"):
        raise InvalidSpecError(f"invalid source connection spec id '{spec_ref.get('id')}'")
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
    params = _source_params(body.get("params"))
    data = body.get("data") or {"format": "tabular"}
    if data.get("format", "tabular") != "tabular":
        raise ValidationError(
            "data.format must be tabular for HubSpot",
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
    return documents.insert(ctx, tenant, TARGET, doc)


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
            _source_params(new.get("params"))
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
    users = flows_using(ctx, tenant, kind, res_id)
    if users:
        raise DependentsExistError(
            f"{kind} {res_id} cannot be deleted while flows use it: {', '.join(users)}"
        )
    documents.delete_document(ctx, tenant, kind, res_id)


__all__ = ["SOURCE", "TARGET", "XED_VERSION"]
