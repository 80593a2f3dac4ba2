"""A Schema Registry subset (``/data/foundation/schemaregistry``): tenant schemas and field
groups, and the standard XDM classes and field groups served read-only.

Shapes follow Adobe's Schema Registry guide (``help/xdm/api/schemas.md``, ``field-groups.md``,
``getting-started.md`` for ``Accept`` and resource ids, ``appendix.md`` for list parameters,
``troubleshooting-guide.md`` for errors). Resources are stored in the ``resources`` table (kinds
``xdmSchemas`` and ``xdmFieldGroups``), scoped to the org and sandbox like every resource.

:func:`resolve_schema` turns a dataset's or mapping set's ``schemaRef`` into the resolved
properties and an Arrow schema (nested structs), for the dataset and run code.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyarrow as pa

from headwater.domain.paths import SCHEMA_REGISTRY_PATH
from headwater.domain.xdm import standard_resources
from headwater.errors import (
    XdmAcceptError,
    XdmInvalidError,
    XdmNotFoundError,
)
from headwater.mapping import schema_from_properties, walk
from headwater.mapping.types import Leaf
from headwater.services.context import ServiceContext, Tenant
from headwater.store import resources as store
from headwater.store.resources import StoredResource

SCHEMAS = "xdmSchemas"
FIELD_GROUPS = "xdmFieldGroups"
_KIND = {"schemas": SCHEMAS, "fieldgroups": FIELD_GROUPS}
_PATH_SEGMENT = {SCHEMAS: "schemas", FIELD_GROUPS: "mixins"}
_RESOURCE_TYPE = {SCHEMAS: "schemas", FIELD_GROUPS: "mixins"}
_READ_ONLY = {
    "$id",
    "meta:altId",
    "meta:resourceType",
    "meta:containerId",
    "imsOrg",
    "meta:registryMetadata",
    "meta:tenantNamespace",
    "meta:sandboxId",
    "meta:sandboxType",
    "version",
}
RECORD = "https://ns.adobe.com/xdm/data/record"
LIST_LIMIT = 300
_ACCEPT = re.compile(
    r"^application/vnd\.adobe\.(?P<base>xed|xdm)(?P<variant>(-id|-full|-notext|-desc|-deprecatefield)*)"
    r"\+json\s*(;\s*version\s*=\s*(?P<version>[0-9.]+))?\s*$",
    re.I,
)


# ------------------------------------------------------------------ ids and Accept


def tenant_id(org_id: str) -> str:
    """The org's ``TENANT_ID``: lower-case letters and digits of the org id (stable)."""
    base = "".join(ch for ch in org_id.split("@", 1)[0].lower() if ch.isalnum())
    return ("t" + base)[:24] if base[:1].isdigit() or not base else base[:24]


@dataclass(frozen=True, slots=True)
class AcceptFormat:
    ids_only: bool = False
    full: bool = False
    notext: bool = False
    version: str | None = None


def parse_accept(value: str | None, *, lookup: bool) -> AcceptFormat:
    """Adobe's ``Accept`` variants; lookups need ``version=``, lists must not have one."""
    sample = (
        "application/vnd.adobe.xed-full+json; version=1"
        if lookup
        else "application/vnd.adobe.xed-id+json"
    )
    if not value:
        raise XdmAcceptError(f"An Accept header is required, for example {sample}")
    m = _ACCEPT.match(value.split(",")[0].strip())
    if m is None:
        raise XdmAcceptError(
            f"The supplied Accept header is not valid: {value} - A valid Accept value should look "
            f"like {sample}"
        )
    variants = set(filter(None, (m.group("variant") or "").split("-")))
    version = m.group("version")
    if lookup and version is None:
        raise XdmAcceptError(f"version must be supplied in the accept header. Example: {sample}")
    if not lookup and version is not None:
        raise XdmAcceptError(
            "version must not be supplied in the accept header. Example: "
            "application/vnd.adobe.xed-id+json"
        )
    return AcceptFormat(
        ids_only="id" in variants,
        full="full" in variants,
        notext="notext" in variants,
        version=version,
    )


def _hex_of(ref: str, tenant: Tenant, kind: str) -> str | None:
    """The stored id of a tenant resource named by ``$id`` or ``meta:altId``."""
    ref = unquote(ref).strip()
    tid = tenant_id(tenant.org_id)
    seg = _PATH_SEGMENT[kind]
    for prefix in (f"https://ns.adobe.com/{tid}/{seg}/", f"_{tid}.{seg}."):
        if ref.startswith(prefix):
            rest = ref[len(prefix) :]
            return rest if re.fullmatch(r"[0-9a-f]{16,64}", rest) else None
    return None


def _not_found(what: str, ref: str, version: str | None = "1") -> XdmNotFoundError:
    tail = f" with version {version}" if version else ""
    return XdmNotFoundError(f"The requested {what} resource {unquote(ref)}{tail} is not found.")


# ------------------------------------------------------------------ rendering


def _strip_text(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip_text(v)
            for k, v in node.items()
            if k not in {"title", "description", "meta:titleId", "meta:descriptionId"}
            or not isinstance(v, str)
        }
    if isinstance(node, list):
        return [_strip_text(v) for v in node]
    return node


def _merge(into: dict[str, Any], props: dict[str, Any]) -> None:
    for k, v in props.items():
        if k in into and isinstance(into[k], dict) and isinstance(v, dict) and "properties" in v:
            into[k].setdefault("properties", {})
            _merge(into[k]["properties"], v.get("properties", {}))
        else:
            into[k] = copy.deepcopy(v)


def own_properties(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields a class or field group defines (its ``definitions`` referenced by ``allOf``)."""
    out: dict[str, Any] = {}
    defs = doc.get("definitions") or {}
    for part in doc.get("allOf") or []:
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        if ref.startswith("#/definitions/"):
            _merge(out, (defs.get(ref.split("/", 2)[2]) or {}).get("properties") or {})
    _merge(out, doc.get("properties") or {})
    return out


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("$id", "meta:altId", "version", "title") if k in doc}


def render(
    ctx: ServiceContext, tenant: Tenant, doc: dict[str, Any], fmt: AcceptFormat
) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    if fmt.full:
        if out.get("meta:resourceType") == "schemas":
            out["properties"] = resolved_properties(ctx, tenant, doc)
        else:
            out["properties"] = own_properties(doc)
        out.pop("allOf", None)
        out.pop("definitions", None)
    if fmt.notext:
        out = _strip_text(out)
    return out


# ------------------------------------------------------------------ lookups


def _tenant_doc(ctx: ServiceContext, tenant: Tenant, kind: str, ref: str) -> StoredResource | None:
    hex_id = _hex_of(ref, tenant, kind)
    if hex_id is None:
        return None
    with ctx.engine.connect() as conn:
        return store.read_resource(
            conn, kind=kind, res_id=hex_id, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )


def find_component(ctx: ServiceContext, tenant: Tenant, ref: str) -> dict[str, Any] | None:
    """A class or field group (standard or the tenant's) by ``$id`` or ``meta:altId``."""
    ref = unquote(ref).strip()
    for doc in standard_resources().values():
        if ref in {doc["$id"], doc["meta:altId"]}:
            return doc
    res = _tenant_doc(ctx, tenant, FIELD_GROUPS, ref)
    return res.doc if res else None


def resolved_properties(
    ctx: ServiceContext, tenant: Tenant, schema: dict[str, Any]
) -> dict[str, Any]:
    """A schema's fields: its class and field groups merged in ``allOf`` order."""
    props: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        ref = part.get("$ref") if isinstance(part, dict) else None
        if not isinstance(ref, str):
            continue
        comp = find_component(ctx, tenant, ref)
        if comp is not None:
            _merge(props, own_properties(comp))
    _merge(props, schema.get("properties") or {})
    return props


def get_global(
    ctx: ServiceContext, tenant: Tenant, kind: str, ref: str, accept: str | None
) -> dict[str, Any]:
    fmt = parse_accept(accept, lookup=True)
    want = "classes" if kind == "classes" else "mixins"
    for doc in standard_resources().values():
        if unquote(ref) in {doc["$id"], doc["meta:altId"]} and doc["meta:resourceType"] == want:
            if fmt.version and fmt.version.split(".")[0] != "1":
                break
            return render(ctx, tenant, doc, fmt)
    raise _not_found("class" if kind == "classes" else "field group", ref, fmt.version)


def list_global(
    ctx: ServiceContext, tenant: Tenant, kind: str, accept: str | None, query: dict[str, Any]
) -> dict[str, Any]:
    fmt = parse_accept(accept, lookup=False)
    want = "classes" if kind == "classes" else "mixins"
    docs = [d for d in standard_resources().values() if d["meta:resourceType"] == want]
    return _page(ctx, tenant, docs, fmt, query, f"global/{kind}")


def get_tenant(
    ctx: ServiceContext, tenant: Tenant, kind: str, ref: str, accept: str | None
) -> dict[str, Any]:
    fmt = parse_accept(accept, lookup=True)
    res = _tenant_doc(ctx, tenant, _KIND[kind], ref)
    if res is None or (fmt.version and fmt.version.split(".")[0] != "1"):
        raise _not_found("schema" if kind == "schemas" else "field group", ref, fmt.version)
    return render(ctx, tenant, res.doc, fmt)


def list_tenant(
    ctx: ServiceContext, tenant: Tenant, kind: str, accept: str | None, query: dict[str, Any]
) -> dict[str, Any]:
    fmt = parse_accept(accept, lookup=False)
    with ctx.engine.connect() as conn:
        rows = store.read_resources(
            conn, kind=_KIND[kind], org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    return _page(ctx, tenant, [r.doc for r in rows], fmt, query, f"tenant/{kind}")


def _matches(doc: dict[str, Any], expr: str) -> bool:
    m = re.match(r"^\s*([^=!<>]+?)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$", expr)
    if m is None:
        return expr.strip() in doc
    key, op, want = m.groups()
    have = doc.get(key)
    values = have if isinstance(have, list) else [have]
    texts = [str(v) for v in values if v is not None]
    if op == "==":
        return want in texts
    if op == "!=":
        return want not in texts
    try:
        num = [float(t) for t in texts]
        target = float(want)
    except ValueError:
        return False
    cmp = {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__}[op]
    return any(cmp(n, target) for n in num)


def _page(
    ctx: ServiceContext,
    tenant: Tenant,
    docs: list[dict[str, Any]],
    fmt: AcceptFormat,
    query: dict[str, Any],
    path: str,
) -> dict[str, Any]:
    for prop in query.get("property") or []:
        docs = [d for d in docs if _matches(d, prop)]
    orderby = (query.get("orderby") or "").split(",")[0].strip()
    key = orderby.lstrip("+-")
    desc = orderby.startswith("-")
    if key:
        docs.sort(key=lambda d: str(d.get(key, "")), reverse=desc)
        start = query.get("start")
        if start:
            docs = [
                d
                for d in docs
                if (str(d.get(key, "")) < start if desc else str(d.get(key, "")) > start)
            ]
    limit = LIST_LIMIT
    raw_limit = query.get("limit")
    if raw_limit:
        try:
            limit = max(1, min(int(raw_limit), 500))
        except ValueError:
            raise XdmInvalidError(f"limit must be an integer, not '{raw_limit}'") from None
    page, more = docs[:limit], len(docs) > limit
    nxt = str(page[-1].get(key, "")) if more and key else None
    results = [_summary(d) if fmt.ids_only else render(ctx, tenant, d, fmt) for d in page]
    base = SCHEMA_REGISTRY_PATH
    return {
        "results": results,
        "_page": {"orderby": orderby or None, "next": nxt, "count": len(results)},
        "_links": {
            "next": {"href": f"{base}/{path}?orderby={orderby}&start={nxt}"} if nxt else None,
            "global_schemas": {"href": f"{base}/global/schemas"},
        },
    }


# ------------------------------------------------------------------ resolution


@dataclass(frozen=True, slots=True)
class ResolvedSchema:
    """A schema as the lake and the mapping engine need it."""

    id: str
    title: str
    properties: dict[str, Any]
    arrow: pa.Schema

    @property
    def fields(self) -> list[Leaf]:
        """Every field, objects included (``person``, ``person.name``, ``person.name.firstName``)."""
        return list(walk(self.arrow))


def resolve_schema(ctx: ServiceContext, tenant: Tenant, ref: Any) -> ResolvedSchema:
    """Resolve a ``schemaRef`` (``{"id", "contentType"}``, or the bare ``$id``/``meta:altId``)
    of this tenant's registry into its fields and an Arrow schema; raises XDM-1010 when unknown."""
    ref_id = ref.get("id") if isinstance(ref, dict) else ref
    if not isinstance(ref_id, str) or not ref_id:
        raise XdmInvalidError("a schema reference needs an id")
    res = _tenant_doc(ctx, tenant, SCHEMAS, ref_id)
    if res is not None:
        props = resolved_properties(ctx, tenant, res.doc)
        title = str(res.doc.get("title", ""))
        sid = res.doc["$id"]
    else:
        comp = find_component(ctx, tenant, ref_id)
        if comp is None:
            raise _not_found("schema", ref_id)
        props, title, sid = own_properties(comp), str(comp.get("title", "")), comp["$id"]
    return ResolvedSchema(sid, title, props, schema_from_properties(props))
