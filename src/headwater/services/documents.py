"""What every Flow Service resource shares: audit fields, loading with tenancy, JSON Patch with
etags, compare-and-swap saves."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import jsonpatch
import jsonpointer

from headwater.domain.ids import new_etag, normalize_etag
from headwater.errors import (
    ImmutableFieldError,
    InvalidRequestError,
    MissingIfMatchError,
    NotFoundError,
    PatchError,
    PreconditionFailedError,
    UnsupportedPatchOpError,
)
from headwater.services.context import ServiceContext, Tenant
from headwater.store import resources as store
from headwater.store.resources import StoredResource

PATCH_OPS = frozenset({"add", "replace", "remove"})
#: The audit and version keys every Flow Service resource carries (filterable and sortable).
METADATA_FIELDS = frozenset(
    {
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "imsOrgId",
        "etag",
        "version",
    }
)


def not_found(kind: str, res_id: str) -> NotFoundError:
    return NotFoundError(
        f"The requested {kind} resource {res_id} is not found. "
        "Verify the resource ID before trying again.",
        resource_id=res_id,
        resource_type=kind,
        instance_code="1439" if kind == "flows" else None,
    )


def audit_fields(tenant: Tenant, now: int, res_id: str) -> dict[str, Any]:
    who = f"{tenant.client_id}@AdobeID"
    return {
        "id": res_id,
        "createdAt": now,
        "updatedAt": now,
        "createdBy": who,
        "updatedBy": who,
        "createdClient": tenant.client_id,
        "updatedClient": tenant.client_id,
        "sandboxId": tenant.sandbox_id,
        "sandboxName": tenant.sandbox_name,
        "imsOrgId": tenant.org_id,
    }


def touch(doc: dict[str, Any], tenant: Tenant, now: int, previous: int) -> int:
    updated = max(now, previous + 1)
    doc["updatedAt"] = updated
    doc["updatedBy"] = f"{tenant.client_id}@AdobeID"
    doc["updatedClient"] = tenant.client_id
    return updated


def plain_render(res: StoredResource) -> dict[str, Any]:
    doc = res.doc
    doc["etag"] = res.etag
    doc["version"] = res.etag
    return doc


def load(ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str) -> StoredResource:
    with ctx.engine.connect() as conn:
        res = store.read_resource(
            conn, kind=kind, res_id=res_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    if res is None:
        raise not_found(kind, res_id)
    return res


def load_all(ctx: ServiceContext, tenant: Tenant, kind: str) -> list[StoredResource]:
    with ctx.engine.connect() as conn:
        return store.read_resources(
            conn, kind=kind, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )


def insert(
    ctx: ServiceContext,
    tenant: Tenant,
    kind: str,
    doc: dict[str, Any],
    *,
    requires: Iterable[tuple[str, str]] = (),
    secrets: bytes | None = None,
) -> tuple[str, str]:
    """Store a new document (and its sealed ``secrets``); ``requires`` (kind, id) pairs must
    still exist when it is written, checked under their row locks in the same transaction (a
    concurrent delete of one of them either waits for this insert, and then sees it as a
    dependent, or wins, and this is 404)."""
    etag = new_etag()
    res = StoredResource(
        kind=kind,
        id=doc["id"],
        org_id=tenant.org_id,
        sandbox_name=tenant.sandbox_name,
        doc=doc,
        secrets=secrets,
        etag=etag,
        created_at=doc["createdAt"],
        updated_at=doc["updatedAt"],
    )
    with ctx.engine.begin() as conn:
        for needed_kind, needed_id in sorted(set(requires)):
            if not store.lock_resource(
                conn,
                kind=needed_kind,
                res_id=needed_id,
                org_id=tenant.org_id,
                sandbox_name=tenant.sandbox_name,
            ):
                raise not_found(needed_kind, needed_id)
        store.insert_resource(conn, res=res)
    return doc["id"], etag


def check_ops(
    ops: Any, *, patchable: Iterable[str], immutable: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Validate a JSON Patch array against the resource's patchable top-level fields."""
    if ops is None or ops == []:
        raise InvalidRequestError("request body is null or empty", instance_code="1405")
    if not isinstance(ops, list):
        raise PatchError("a PATCH body must be a JSON Patch array")
    allowed = set(patchable)
    frozen = set(immutable)
    out: list[dict[str, Any]] = []
    for i, op in enumerate(ops):
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path"), str)
        ):
            raise PatchError(f"patch operation {i} must be an object with 'op' and 'path'")
        name = op["op"].lower()
        if name not in PATCH_OPS:
            raise UnsupportedPatchOpError(f"patch operation '{op['op']}' is not supported")
        if name in {"add", "replace"} and "value" not in op:
            raise PatchError(f"patch operation {i} ({name}) needs a value")
        path = op["path"]
        if not path.startswith("/"):
            raise PatchError(f"patch path '{path}' must start with '/'")
        root = path[1:].split("/", 1)[0]
        if root in frozen:
            raise ImmutableFieldError(f"'{root}' cannot be updated")
        if root not in allowed:
            raise PatchError(f"path '{path}' cannot be updated")
        out.append({**op, "op": name})
    return out


def check_etag(res: StoredResource, if_match: str | None) -> None:
    if not if_match:
        raise MissingIfMatchError(f"If-Match header is required to update {res.kind}")
    if normalize_etag(if_match) != normalize_etag(res.etag):
        raise PreconditionFailedError(
            f"Supplied version=[{if_match}] does not match the current version on "
            f"entity=[{res.etag}]",
            resource_id=res.id,
            resource_type=res.kind,
        )


def apply_ops(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        patched = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(doc))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchError(f"patch cannot be applied: {exc}") from exc
    if not isinstance(patched, dict):
        raise PatchError("the patched document is not an object")
    return patched


def save(
    ctx: ServiceContext,
    res: StoredResource,
    doc: dict[str, Any],
    *,
    expected_etag: str,
    updated_at: int,
    secrets: bytes | None = None,
) -> str:
    etag = new_etag()
    new = StoredResource(
        kind=res.kind,
        id=res.id,
        org_id=res.org_id,
        sandbox_name=res.sandbox_name,
        doc=doc,
        secrets=secrets if secrets is not None else res.secrets,
        etag=etag,
        created_at=res.created_at,
        updated_at=updated_at,
    )
    with ctx.engine.begin() as conn:
        if not store.update_resource(conn, res=new, expected_etag=expected_etag):
            raise PreconditionFailedError(
                "the resource changed while it was being updated; read it again and retry",
                resource_id=res.id,
                resource_type=res.kind,
            )
    return etag


def patch_document(
    ctx: ServiceContext,
    tenant: Tenant,
    kind: str,
    res_id: str,
    *,
    if_match: str | None,
    ops: Any,
    patchable: Iterable[str],
    immutable: Iterable[str] = (),
    validate: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
    record_operation: bool = False,
) -> tuple[str, str]:
    """The whole PATCH contract: ops checked, If-Match required and compared, the patched document
    re-validated by ``validate(old, new)``, then saved with a new etag (and, for resources that
    keep one, ``lastOperation`` recorded)."""
    checked = check_ops(ops, patchable=patchable, immutable=immutable)
    if not if_match:
        raise MissingIfMatchError(f"If-Match header is required to update {kind}")
    res = load(ctx, tenant, kind, res_id)
    check_etag(res, if_match)
    patched = apply_ops(res.doc, checked)
    if validate is not None:
        patched = validate(res.doc, patched)
    updated = touch(patched, tenant, ctx.clock(), res.updated_at)
    if record_operation:
        patched["lastOperation"] = last_operation(updated, "update", checked)
    etag = save(ctx, res, patched, expected_etag=res.etag, updated_at=updated)
    return res.id, etag


def last_operation(at: int, operation: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Adobe's ``lastOperation`` of a flow: what the last update or action did."""
    return {
        "started": at,
        "updated": at,
        "percentCompleted": 100.0,
        "status": {"value": "completed", "errors": []},
        "ops": [{"op": o["op"], "path": o["path"], "value": o.get("value")} for o in ops],
        "operation": operation,
    }


def delete_unless_used(
    ctx: ServiceContext,
    tenant: Tenant,
    kind: str,
    res_id: str,
    *,
    dependents: Callable[[], list[str]],
    refuse: Callable[[list[str]], Exception],
) -> None:
    """Delete a document that others refer to: its row lock is taken first, then
    ``dependents()`` is read (it sees every create that locked the row before), and the delete
    is refused with ``refuse(dependents)`` while there are any. See :func:`insert` ``requires``."""
    with ctx.engine.begin() as conn:
        if not store.lock_resource(
            conn, kind=kind, res_id=res_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        ):
            raise not_found(kind, res_id)
        users = dependents()
        if users:
            raise refuse(users)
        store.delete_resource(
            conn, kind=kind, res_id=res_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )


def delete_document(ctx: ServiceContext, tenant: Tenant, kind: str, res_id: str) -> None:
    with ctx.engine.begin() as conn:
        done = store.delete_resource(
            conn, kind=kind, res_id=res_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    if not done:
        raise not_found(kind, res_id)
