"""Flow Service list semantics over stored documents: filters, orderby, limit, tokens, count."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.domain.filters import matches_all, parse_filters, parse_orderby, sort_key
from headwater.domain.paging import PageQuery, decode_token, encode_token
from headwater.errors import FilterError, LimitWithCountError
from headwater.services.context import ServiceContext, Tenant
from headwater.store import resources as store
from headwater.store.resources import StoredResource

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class ListRequest:
    properties: tuple[str, ...] = ()
    orderby: str | None = None
    limit: str | None = None
    continuation_token: str | None = None
    count: str | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[dict[str, Any]]
    next_token: str | None
    count: int | None = None


def parse_bool(value: str | None, *, name: str) -> bool:
    if value is None or value == "":
        return False
    v = value.strip().lower()
    if v in {"true", "1", "yes"}:
        return True
    if v in {"false", "0", "no"}:
        return False
    raise FilterError(f"invalid boolean value '{value}' for {name}", code="1451")


def parse_limit(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        text = value.strip()
        if not text.isascii():  # int() also reads other scripts' digits
            raise ValueError(text)
        n = int(text)
    except ValueError as exc:
        raise FilterError(f"invalid limit '{value}'", code="1451") from exc
    if n < 1 or n > MAX_LIMIT:
        raise FilterError(f"limit must be between 1 and {MAX_LIMIT}", code="1451")
    return n


def list_documents(
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    kind: str,
    request: ListRequest,
    fields: frozenset[str],
    render: Callable[[StoredResource], dict[str, Any]],
    loader: Callable[[], list[dict[str, Any]]] | None = None,
) -> ListResult:
    """One page (or the count) of a tenant's resources of ``kind``, as rendered documents.

    ``loader`` replaces the ``resources`` table as the source of documents (runs live in their
    own table); filters, order and tokens work the same."""
    count = parse_bool(request.count, name="count")
    limit = parse_limit(request.limit)
    if count and limit is not None:
        raise LimitWithCountError("limit and count cannot be used together")
    if request.continuation_token:
        q = decode_token(request.continuation_token)
    else:
        q = PageQuery(
            filters=tuple(request.properties),
            orderby=request.orderby,
            limit=limit or DEFAULT_LIMIT,
        )
    filters = parse_filters(q.filters, fields=fields)
    order = parse_orderby(q.orderby, fields=fields)

    def everything() -> list[dict[str, Any]]:
        if loader is not None:
            return loader()
        return _all_docs(ctx, tenant, kind=kind, render=render)

    if count:
        if not filters and loader is None:
            with ctx.engine.connect() as conn:
                n = store.count_resources(
                    conn, kind=kind, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
                )
            return ListResult(items=[], next_token=None, count=n)
        docs = everything()
        return ListResult(
            items=[], next_token=None, count=sum(matches_all(d, filters) for d in docs)
        )

    if not filters and loader is None and order.field in store.SQL_ORDER_COLUMNS:
        after = None
        if q.after is not None:
            key, last_id = q.after
            after = (_sql_position(key), last_id)
        with ctx.engine.connect() as conn:
            rows = store.read_resource_page(
                conn,
                kind=kind,
                org_id=tenant.org_id,
                sandbox_name=tenant.sandbox_name,
                order_field=order.field,
                descending=order.descending,
                after=after,
                limit=q.limit,
            )
        page = [render(r) for r in rows]
    else:
        docs = [d for d in everything() if matches_all(d, filters)]
        docs.sort(key=lambda d: (sort_key(d, order), d["id"]), reverse=order.descending)
        if q.after is not None:
            key, last_id = q.after
            cut = (tuple(key) if isinstance(key, list) else key, last_id)
            if order.descending:
                docs = [d for d in docs if (sort_key(d, order), d["id"]) < cut]
            else:
                docs = [d for d in docs if (sort_key(d, order), d["id"]) > cut]
        page = docs[: q.limit + 1]

    next_token = None
    if len(page) > q.limit:
        page = page[: q.limit]
        last = page[-1]
        next_token = encode_token(
            PageQuery(
                filters=q.filters,
                orderby=q.orderby,
                limit=q.limit,
                after=(list(sort_key(last, order)), last["id"]),
            )
        )
    return ListResult(items=page, next_token=next_token)


#: The range of the integer timestamp columns a SQL-ordered position may name.
_INT64 = 2**63


def _sql_position(key: Any) -> int:
    """The timestamp in a position of a list ordered by a SQL column. A client may hand-make a
    token (it is not signed), so anything but a finite integral number in range is a 400."""
    value = key[1] if isinstance(key, list) and len(key) == 2 and key[0] == 1 else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterError("invalid continuationToken", code="1451")
    if isinstance(value, float) and not value.is_integer():
        raise FilterError("invalid continuationToken", code="1451")
    if not -_INT64 <= value < _INT64:
        raise FilterError("invalid continuationToken", code="1451")
    return int(value)


def _all_docs(
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    kind: str,
    render: Callable[[StoredResource], dict[str, Any]],
) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = store.read_resources(
            conn, kind=kind, org_id=tenant.org_id, sandbox_name=tenant.sandbox_name
        )
    return [render(r) for r in rows]


def filter_specs(docs: Sequence[dict[str, Any]], properties: Sequence[str]) -> list[dict[str, Any]]:
    """``property=`` filters over the connection and flow specs."""
    filters = parse_filters(properties)
    return [d for d in docs if matches_all(d, filters)]
