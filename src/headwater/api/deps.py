"""Request-scoped dependencies: the service context and the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from headwater.errors import InternalError
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest


async def get_ctx(request: Request) -> ServiceContext:
    """Async on purpose: FastAPI runs sync dependencies in a thread, which costs a hop per call."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


async def get_tenant(request: Request) -> Tenant:
    tenant = getattr(request.state, "tenant", None)
    if not isinstance(tenant, Tenant):
        raise InternalError("request reached a Flow Service route without a tenant")
    return tenant


async def get_list_request(
    request: Request,
    property: Annotated[  # noqa: A002 - Adobe's parameter name
        list[str] | None, Query(description="Filter, e.g. name==x; repeat to AND")
    ] = None,
    orderby: Annotated[str | None, Query(description="Sort field, +field or -field")] = None,
    limit: Annotated[str | None, Query(description="Page size")] = None,
    continuationToken: Annotated[  # noqa: N803 - Adobe's parameter name
        str | None, Query(description="Token from _links.next.href")
    ] = None,
    count: Annotated[str | None, Query(description="true returns only {count}")] = None,
) -> ListRequest:
    qp = request.query_params
    # aepp may send a parameter twice (its own plus the one inside next.href): take the last.
    tokens = qp.getlist("continuationToken")
    limits = qp.getlist("limit")
    return ListRequest(
        properties=tuple(property or ()),
        orderby=orderby,
        limit=limits[-1] if limits else limit,
        continuation_token=tokens[-1] if tokens else continuationToken,
        count=count,
    )


CtxDep = Annotated[ServiceContext, Depends(get_ctx)]
TenantDep = Annotated[Tenant, Depends(get_tenant)]
ListDep = Annotated[ListRequest, Depends(get_list_request)]
