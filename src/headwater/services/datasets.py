"""A Catalog subset: datasets (one Delta table each) and their batches (one per committed run, and
one per run that failed because too many of its records failed mapping)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from headwater.errors import (
    DependentsExistError,
    FieldError,
    InternalError,
    InvalidRequestError,
    ValidationError,
)
from headwater.lake import DatasetRef, DeleteMode, Lake, TableRef, WriteMode
from headwater.lake import preview as lake_preview
from headwater.lake import query as lake_query
from headwater.services import documents
from headwater.services.context import ServiceContext, Tenant

KIND = "dataSets"
BATCHES = "batches"
WRITE_MODES = {m.value for m in WriteMode}
DELETE_MODES = {m.value for m in DeleteMode}
MAX_LIMIT = 100


def new_catalog_id() -> str:
    """Catalog ids are 24 hex characters (``5ed5639d798a22191b6987b2``)."""
    return secrets.token_hex(12)


def lake_of(ctx: ServiceContext) -> Lake:
    if ctx.lake is None:
        raise InternalError("no lake is configured for this service")
    return ctx.lake


def _options(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("headwater") or {}
    if not isinstance(raw, dict):
        raise ValidationError(
            "headwater must be an object", details=[FieldError("headwater", "must be an object")]
        )
    mode = raw.get("writeMode", WriteMode.MERGE.value)
    deletes = raw.get("deletedRecords", DeleteMode.DELETE.value)
    errors = []
    if mode not in WRITE_MODES:
        errors.append(FieldError("headwater.writeMode", f"must be one of {sorted(WRITE_MODES)}"))
    if deletes not in DELETE_MODES:
        errors.append(
            FieldError("headwater.deletedRecords", f"must be one of {sorted(DELETE_MODES)}")
        )
    if errors:
        raise ValidationError(
            "invalid dataset options: " + "; ".join(f"{e['field']} {e['message']}" for e in errors),
            details=errors,
        )
    return {"writeMode": mode, "deletedRecords": deletes}


def create_dataset(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name is required", details=[FieldError("name", "is required")])
    for other in documents.load_all(ctx, tenant, KIND):
        if other.doc.get("name") == name:
            raise InvalidRequestError(f"a dataset named '{name}' already exists ({other.id})")
    options = _options(body)
    now = ctx.clock()
    ds_id = new_catalog_id()
    lake = lake_of(ctx)
    doc: dict[str, Any] = {
        "id": ds_id,
        "name": name,
        "description": body.get("description") or "",
        "imsOrg": tenant.org_id,
        "sandboxId": tenant.sandbox_id,
        "sandboxName": tenant.sandbox_name,
        "tags": body.get("tags") or {},
        "version": "1.0.0",
        "created": now,
        "updated": now,
        "createdAt": now,
        "updatedAt": now,
        "createdClient": tenant.client_id,
        "createdUser": f"{tenant.client_id}@AdobeID",
        "updatedUser": f"{tenant.client_id}@AdobeID",
        "files": f"@/dataSetFiles?dataSetId={ds_id}",
        "headwater": options
        | {"tableUri": lake.table_uri(tenant.org_id, tenant.sandbox_name, ds_id)},
    }
    if isinstance(body.get("schemaRef"), dict):
        doc["schemaRef"] = body["schemaRef"]
    documents.insert(ctx, tenant, KIND, doc)
    return ds_id


def render(res: Any) -> dict[str, Any]:
    doc = dict(res.doc)
    doc.pop("createdAt", None)
    doc.pop("updatedAt", None)
    # Catalog classifies every dataset; aepp's dataset helpers read it. A merge dataset holds
    # one row per record, a history dataset appends every version: a time series.
    history = doc.get("headwater", {}).get("writeMode") == WriteMode.HISTORY.value
    doc.setdefault(
        "classification",
        {"dataBehavior": "time-series" if history else "record", "managedBy": "CUSTOMER"},
    )
    return dict(doc)


def get_dataset(ctx: ServiceContext, tenant: Tenant, ds_id: str) -> dict[str, Any]:
    res = documents.load(ctx, tenant, KIND, ds_id)
    doc = render(res)
    schema = lake_of(ctx).schema(TableRef(tenant.org_id, tenant.sandbox_name, ds_id))
    if schema is not None:
        doc["headwater"]["columns"] = [{"name": f.name, "type": str(f.type)} for f in schema]
    return doc


def list_datasets(
    ctx: ServiceContext, tenant: Tenant, *, limit: int | None, start: int | None, name: str | None
) -> dict[str, Any]:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_LIMIT}")
    docs = [render(r) for r in documents.load_all(ctx, tenant, KIND)]
    if name is not None:
        docs = [d for d in docs if d["name"] == name]
    begin = start or 0
    page = docs[begin : begin + (limit or 50)]
    return {d["id"]: d for d in page}


def dataset_refs(ctx: ServiceContext, tenant: Tenant) -> list[DatasetRef]:
    return [
        DatasetRef(id=r.id, name=r.doc["name"], org=tenant.org_id, sandbox=tenant.sandbox_name)
        for r in documents.load_all(ctx, tenant, KIND)
    ]


def query_datasets(ctx: ServiceContext, tenant: Tenant, sql: str) -> pa.Table:
    """DuckDB ``sql`` over the tenant's datasets, each a table by name or id (``InvalidRequestError``
    with DuckDB's message when it rejects the SQL)."""
    return lake_query(lake_of(ctx), dataset_refs(ctx, tenant), sql)


def delete_dataset(ctx: ServiceContext, tenant: Tenant, ds_id: str) -> None:
    documents.load(ctx, tenant, KIND, ds_id)

    def users() -> list[str]:
        return [
            t.id
            for t in documents.load_all(ctx, tenant, "targetConnections")
            if t.doc.get("params", {}).get("dataSetId") == ds_id
        ]

    documents.delete_unless_used(
        ctx,
        tenant,
        KIND,
        ds_id,
        dependents=users,
        refuse=lambda using: DependentsExistError(
            f"dataset {ds_id} cannot be deleted while target connections use it: {', '.join(using)}"
        ),
    )
    lake_of(ctx).drop_table(TableRef(tenant.org_id, tenant.sandbox_name, ds_id))
    for batch in documents.load_all(ctx, tenant, BATCHES):
        if batch.doc.get("relatedObjects", [{}])[0].get("id") == ds_id:
            documents.delete_document(ctx, tenant, BATCHES, batch.id)


def preview_dataset(
    ctx: ServiceContext, tenant: Tenant, ds_id: str, *, limit: int
) -> dict[str, Any]:
    res = documents.load(ctx, tenant, KIND, ds_id)
    ref = DatasetRef(id=ds_id, name=res.doc["name"], org=tenant.org_id, sandbox=tenant.sandbox_name)
    lake = lake_of(ctx)
    if not lake.table_exists(ref.table):
        return {"columns": [], "data": []}
    table = lake_preview(lake, ref, limit=min(max(limit, 1), 1000))
    rows = table.to_pylist()
    for row in rows:
        for k, v in row.items():
            if v is not None and not isinstance(v, str | int | float | bool | list | dict):
                row[k] = str(v)
    return {
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "data": rows,
    }


def record_batch(
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    ds_id: str,
    run_id: str,
    flow_id: str,
    status: str,
    records: int,
    metrics: dict[str, Any],
    errors: list[dict[str, Any]] | None = None,
    tags: dict[str, Any] | None = None,
) -> str:
    now = ctx.clock()
    batch_id = new_catalog_id().upper()
    doc = {
        "id": batch_id,
        "createdAt": now,
        "updatedAt": now,
        "created": now,
        "updated": now,
        "completed": now,
        "status": status,
        "imsOrg": tenant.org_id,
        "relatedObjects": [
            {"type": "dataSet", "id": ds_id},
            {"type": "flowRun", "id": run_id},
            {"type": "flow", "id": flow_id},
        ],
        "recordCount": records,
        "metrics": metrics,
    }
    if errors:
        doc["errors"] = errors
    if tags:
        doc["tags"] = tags
    documents.insert(ctx, tenant, BATCHES, doc)
    return batch_id


def batches_of_run(ctx: ServiceContext, tenant: Tenant, run_id: str) -> list[dict[str, Any]]:
    """The batches recorded for the flow run ``run_id``."""
    tag = {"type": "flowRun", "id": run_id}
    return [
        dict(res.doc)
        for res in documents.load_all(ctx, tenant, BATCHES)
        if tag in res.doc.get("relatedObjects", [])
    ]


def get_batch(ctx: ServiceContext, tenant: Tenant, batch_id: str) -> dict[str, Any]:
    """``GET /batches/{id}``: the batch, keyed by its id (as Catalog answers)."""
    doc = dict(documents.load(ctx, tenant, BATCHES, batch_id).doc)
    doc.pop("createdAt", None)
    doc.pop("updatedAt", None)
    return {batch_id: doc}


BATCH_ORDER_FIELDS = frozenset({"created", "updated", "completed"})


@dataclass(frozen=True)
class BatchQuery:
    """Catalog's batch list parameters (``GET /batches``), as aepp's ``getBatches`` sends them."""

    dataset: str | None = None
    status: str | None = None
    created_after: int | None = None
    created_before: int | None = None
    order_by: str | None = None
    start: int = 0
    limit: int = 100


def _batch_order(order_by: str) -> tuple[str, bool]:
    """``asc:created`` / ``desc:updated`` / ``created`` → (field, descending)."""
    direction, _, field = order_by.rpartition(":")
    field = field.split(",")[0]
    if direction not in ("", "asc", "desc") or field not in BATCH_ORDER_FIELDS:
        raise InvalidRequestError(
            f"orderBy must be [asc:|desc:] followed by one of {sorted(BATCH_ORDER_FIELDS)}"
        )
    return field, direction == "desc"


def list_batches(ctx: ServiceContext, tenant: Tenant, query: BatchQuery) -> dict[str, Any]:
    docs: list[dict[str, Any]] = []
    for res in documents.load_all(ctx, tenant, BATCHES):
        doc = dict(res.doc)
        if query.dataset and doc["relatedObjects"][0]["id"] != query.dataset:
            continue
        if query.status and doc["status"] != query.status:
            continue
        if query.created_after is not None and doc["created"] <= query.created_after:
            continue
        if query.created_before is not None and doc["created"] >= query.created_before:
            continue
        doc.pop("createdAt", None)
        doc.pop("updatedAt", None)
        docs.append(doc)
    if query.order_by:
        field, descending = _batch_order(query.order_by)
        docs.sort(key=lambda d: (d[field], d["id"]), reverse=descending)
        page = docs[query.start : query.start + query.limit]
    else:
        # newest last, the newest page first (as before)
        end = len(docs) - query.start
        page = docs[max(0, end - query.limit) : max(0, end)]
    return {d["id"]: d for d in page}


def describe_table(
    ctx: ServiceContext, tenant: Tenant, ds_id: str, *, history: int = 20
) -> dict[str, Any]:
    """The dataset's Delta table at a glance: row count, current version, and its latest commits
    (newest first, with the run that wrote each one)."""
    documents.load(ctx, tenant, KIND, ds_id)
    table = lake_of(ctx).open_table(TableRef(tenant.org_id, tenant.sandbox_name, ds_id))
    if table is None:
        return {"rowCount": 0, "version": None, "history": []}
    counts = pa.table(table.get_add_actions(flatten=True)).column("num_records").to_pylist()
    commits = []
    for info in table.history(history):
        commits.append(
            {
                "version": info.get("version"),
                "timestamp": info.get("timestamp"),
                "operation": info.get("operation"),
                "metrics": info.get("operationMetrics") or {},
                "stage": info.get("headwater.stage") or {},
                "runId": info.get("headwater.runId"),
                "flowId": info.get("headwater.flowId"),
            }
        )
    return {"rowCount": sum(c or 0 for c in counts), "version": table.version(), "history": commits}
