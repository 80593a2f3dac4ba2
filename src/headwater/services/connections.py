"""Base connections: create (validated against the auth spec, secrets encrypted), read, list,
patch (JSON Patch with etags), delete."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft7Validator

from headwater.domain import specs
from headwater.domain.ids import new_etag, new_id
from headwater.errors import (
    AuthSpecNotFoundError,
    DependentsExistError,
    FieldError,
    InvalidSpecError,
    MissingIfMatchError,
    PatchError,
    PreconditionFailedError,
    ValidationError,
)
from headwater.services import connection_specs, documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest, ListResult, list_documents
from headwater.store import resources as store
from headwater.store.resources import StoredResource

KIND = "connections"
MASK = "********"
FIELDS = documents.METADATA_FIELDS | {
    "id",
    "name",
    "description",
    "connectionSpec",
    "state",
    "auth",
}
_PATCHABLE_ROOTS = frozenset({"name", "description", "auth"})


def _aad(res_id: str) -> bytes:
    return f"{KIND}:{res_id}".encode()


#: The associated data a stored secret of this kind is sealed with (secret-key rotation).
secret_context = _aad


def validate_auth(
    spec: dict[str, Any], auth: Any, *, prefix: str = "auth"
) -> tuple[dict[str, Any], frozenset[str]]:
    """Check ``auth`` against the spec's auth specs; return the auth spec and its secret fields."""
    if not isinstance(auth, dict):
        raise ValidationError(
            f"{prefix} must be an object with specName and params",
            details=[FieldError(prefix, "must be an object")],
        )
    spec_name = auth.get("specName")
    if not isinstance(spec_name, str) or not spec_name:
        raise ValidationError(
            f"{prefix}.specName is required",
            details=[FieldError(f"{prefix}.specName", "is required")],
        )
    auth_spec = specs.auth_spec(spec, spec_name)
    if auth_spec is None:
        names = ", ".join(a["name"] for a in spec.get("authSpec", []))
        raise AuthSpecNotFoundError(
            f"auth spec '{spec_name}' is not defined by connection spec {spec['id']} "
            f"(available: {names})"
        )
    params = auth.get("params")
    if not isinstance(params, dict):
        raise ValidationError(
            f"{prefix}.params must be an object",
            details=[FieldError(f"{prefix}.params", "must be an object")],
        )
    schema = auth_spec["spec"]
    errors: list[FieldError] = []
    for err in sorted(Draft7Validator(schema).iter_errors(params), key=lambda e: list(e.path)):
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            errors.append(FieldError(f"{prefix}.params.{missing}", "is required"))
        else:
            where = ".".join(str(p) for p in err.path)
            field = f"{prefix}.params.{where}" if where else f"{prefix}.params"
            errors.append(FieldError(field, err.message))
    known = set(schema.get("properties", {}))
    errors.extend(
        FieldError(f"{prefix}.params.{extra}", f"is not a parameter of auth spec '{spec_name}'")
        for extra in sorted(set(params) - known)
    )
    if errors:
        listing = "; ".join(f"{e['field']} {e['message']}" for e in errors)
        raise ValidationError(f"invalid auth parameters: {listing}", details=errors)
    return auth_spec, specs.secret_fields(auth_spec)


def _split(params: dict[str, Any], secret: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    public = {k: v for k, v in params.items() if k not in secret}
    hidden = {k: v for k, v in params.items() if k in secret}
    return public, hidden


def render(res: StoredResource) -> dict[str, Any]:
    """The document clients see: secrets masked, etag attached (``res.doc`` is consumed)."""
    doc = res.doc
    doc.pop("_tokenExpiresAt", None)
    doc.pop("_learned", None)
    auth = doc.get("auth")
    if isinstance(auth, dict):
        params = auth.setdefault("params", {})
        for name in doc.pop("_secretFields", []):
            params[name] = MASK
    else:
        doc.pop("_secretFields", None)
    doc["etag"] = res.etag
    doc["version"] = res.etag
    return doc


def create_connection(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str]:
    spec_ref = body.get("connectionSpec") or {}
    spec_id = spec_ref.get("id") if isinstance(spec_ref, dict) else None
    spec = connection_specs.connection_spec(spec_id) if isinstance(spec_id, str) else None
    if spec is None:
        raise InvalidSpecError(f"invalid connection spec id '{spec_id}'")
    auth = body.get("auth")
    secret_blob = None
    secret_fields: frozenset[str] = frozenset()
    public_auth = None
    res_id = new_id()
    if auth is not None or spec.get("authSpec"):
        auth_spec, secret_fields = validate_auth(spec, auth)
        assert isinstance(auth, dict)
        public, hidden = _split(auth["params"], secret_fields)
        public_auth = {"specName": auth_spec["name"], "params": public}
        secret_blob = ctx.box.encrypt(hidden, context=_aad(res_id)) if hidden else None
    now = ctx.clock()
    doc: dict[str, Any] = documents.audit_fields(tenant, now, res_id) | {
        "name": body.get("name") or "",
        "description": body.get("description") or "",
        "connectionSpec": {"id": spec["id"], "version": spec_ref.get("version") or spec["version"]},
        "state": "enabled",
    }
    if public_auth is not None:
        doc["auth"] = public_auth
        doc["_secretFields"] = sorted(k for k in secret_fields if k in auth["params"])  # type: ignore[index]
    return documents.insert(ctx, tenant, KIND, doc, secrets=secret_blob)


def _load(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> StoredResource:
    return documents.load(ctx, tenant, KIND, conn_id)


def get_connection(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> dict[str, Any]:
    return render(_load(ctx, tenant, conn_id))


def read_credentials(
    ctx: ServiceContext, tenant: Tenant, conn_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored document and the full auth params, secrets decrypted (for connectors only)."""
    res = _load(ctx, tenant, conn_id)
    params = dict(res.doc.get("auth", {}).get("params", {}))
    if res.secrets:
        params.update(ctx.box.decrypt(res.secrets, context=_aad(res.id)))
    return res.doc, params


def list_connections(ctx: ServiceContext, tenant: Tenant, request: ListRequest) -> ListResult:
    return list_documents(ctx, tenant, kind=KIND, request=request, fields=FIELDS, render=render)


def patch_connection(
    ctx: ServiceContext, tenant: Tenant, conn_id: str, *, if_match: str | None, ops: Any
) -> tuple[str, str]:
    checked = documents.check_ops(ops, patchable=_PATCHABLE_ROOTS, immutable={"connectionSpec"})
    if not if_match:
        raise MissingIfMatchError("If-Match header is required to update a connection")
    res = _load(ctx, tenant, conn_id)
    documents.check_etag(res, if_match)
    full = copy.deepcopy(res.doc)
    secret_names = full.pop("_secretFields", [])
    token_expiry = full.pop("_tokenExpiresAt", None)
    learned = full.pop("_learned", None)
    old_secrets = ctx.box.decrypt(res.secrets, context=_aad(res.id)) if res.secrets else {}
    if isinstance(full.get("auth"), dict):
        full["auth"].setdefault("params", {}).update(old_secrets)
    patched = documents.apply_ops(full, checked)
    if not isinstance(patched.get("name", ""), str) or not isinstance(
        patched.get("description", ""), str
    ):
        raise PatchError("name and description must be strings")

    spec = connection_specs.connection_spec(res.doc["connectionSpec"]["id"])
    assert spec is not None
    secret_blob = None
    same_credentials = False
    if "auth" in patched:
        auth = patched["auth"]
        if isinstance(auth, dict) and isinstance(auth.get("params"), dict):
            # A client that echoes the masked value back keeps the stored secret.
            for name, value in list(auth["params"].items()):
                if value == MASK and name in old_secrets:
                    auth["params"][name] = old_secrets[name]
        auth_spec, secret_fields = validate_auth(spec, auth)
        public, hidden = _split(auth["params"], secret_fields)
        patched["auth"] = {"specName": auth_spec["name"], "params": public}
        patched["_secretFields"] = sorted(hidden)
        secret_blob = ctx.box.encrypt(hidden, context=_aad(res.id)) if hidden else None
        same_credentials = patched["auth"] == res.doc.get("auth") and hidden == old_secrets
    elif spec.get("authSpec"):
        raise PatchError("auth cannot be removed from a connection")
    del secret_names
    if (
        token_expiry
        and "auth" in patched
        and patched["auth"].get("params", {}).get("accessToken") == old_secrets.get("accessToken")
    ):
        patched["_tokenExpiresAt"] = token_expiry
    if learned and same_credentials:
        # the credentials are as they were: what was learned about them still holds (the
        # connector checks that anyway; other credentials are looked up again)
        patched["_learned"] = learned

    now = ctx.clock()
    patched["updatedAt"] = max(now, res.updated_at + 1)
    patched["updatedBy"] = f"{tenant.client_id}@AdobeID"
    patched["updatedClient"] = tenant.client_id
    etag = new_etag()
    new = StoredResource(
        kind=KIND,
        id=res.id,
        org_id=res.org_id,
        sandbox_name=res.sandbox_name,
        doc=patched,
        secrets=secret_blob,
        etag=etag,
        created_at=res.created_at,
        updated_at=patched["updatedAt"],
    )
    with ctx.engine.begin() as conn:
        if not store.update_resource(conn, res=new, expected_etag=res.etag):
            raise PreconditionFailedError(
                f"Supplied version=[{if_match}] does not match the current version on entity",
                resource_id=conn_id,
                resource_type=KIND,
            )
    return res.id, etag


def store_refreshed_params(
    ctx: ServiceContext, tenant: Tenant, conn_id: str, updates: dict[str, Any]
) -> None:
    """Persist rotated credentials (OAuth tokens a connector refreshed), encrypted; the token
    expiry is kept beside them so the next run knows when to refresh."""
    for _attempt in range(5):
        res = _load(ctx, tenant, conn_id)
        spec = connection_specs.connection_spec(res.doc["connectionSpec"]["id"])
        assert spec is not None
        auth_spec = specs.auth_spec(spec, res.doc["auth"]["specName"])
        assert auth_spec is not None
        secret_fields = specs.secret_fields(auth_spec)
        declared = auth_spec["spec"].get("properties", {})
        params = dict(res.doc["auth"]["params"])
        if res.secrets:
            params.update(ctx.box.decrypt(res.secrets, context=_aad(res.id)))
        params.update({k: v for k, v in updates.items() if k in declared and v})
        public, hidden = _split(params, secret_fields)
        doc = copy.deepcopy(res.doc)
        doc["auth"]["params"] = public
        doc["_secretFields"] = sorted(hidden)
        if updates.get("expiresAt"):
            doc["_tokenExpiresAt"] = updates["expiresAt"]
        updated = max(ctx.clock(), res.updated_at + 1)
        doc["updatedAt"] = updated
        new = StoredResource(
            kind=KIND,
            id=res.id,
            org_id=res.org_id,
            sandbox_name=res.sandbox_name,
            doc=doc,
            secrets=ctx.box.encrypt(hidden, context=_aad(res.id)) if hidden else None,
            etag=new_etag(),
            created_at=res.created_at,
            updated_at=updated,
        )
        with ctx.engine.begin() as conn:
            if store.update_resource(conn, res=new, expected_etag=res.etag):
                return
    raise PreconditionFailedError("connection kept changing while storing refreshed credentials")


def store_learned(ctx: ServiceContext, tenant: Tenant, conn_id: str, facts: dict[str, str]) -> None:
    """Keep what a connector learned about the connection's credentials (``_learned``, not
    shown to clients), for the next connector. Not an edit: the etag stays; a connection that
    changed meanwhile keeps what it has (its new credentials are looked up again)."""
    res = _load(ctx, tenant, conn_id)
    res.doc["_learned"] = dict(facts)
    with ctx.engine.begin() as conn:
        store.update_resource(conn, res=res, expected_etag=res.etag)


def record_test_result(
    ctx: ServiceContext, tenant: Tenant, conn_id: str, result: dict[str, Any]
) -> None:
    """Keep the last connection test on the connection (``headwater.lastTest``), so every
    client sees when it was tested and how that went. Not an edit: the etag stays."""
    res = _load(ctx, tenant, conn_id)
    error = result.get("error") or {}
    res.doc.setdefault("headwater", {})["lastTest"] = {
        "result": bool(result.get("result")),
        "testedAt": ctx.clock(),
        **({"code": str(error.get("type", "")).rsplit("/", 1)[-1]} if error else {}),
        **({"message": str(error.get("errorMessage", ""))} if error else {}),
    }
    with ctx.engine.begin() as conn:
        store.update_resource(conn, res=res, expected_etag=res.etag)


def _flows_using(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> list[str]:
    with ctx.engine.connect() as conn:
        flows = store.read_resources(
            conn, kind="flows", org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    using = []
    for flow in flows:
        inherited = flow.doc.get("inheritedAttributes", {})
        for side in ("sourceConnections", "targetConnections"):
            for item in inherited.get(side, []):
                if (item.get("baseConnection") or {}).get("id") == conn_id:
                    using.append(flow.id)
    return sorted(set(using))


def delete_connection(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> None:
    _load(ctx, tenant, conn_id)
    documents.delete_unless_used(
        ctx,
        tenant,
        KIND,
        conn_id,
        dependents=lambda: _flows_using(ctx, tenant, conn_id),
        refuse=lambda in_use: DependentsExistError(
            f"base connection {conn_id} cannot be deleted while flows use it: {', '.join(in_use)}"
        ),
    )
