"""Connection specs and flow specs: built-in data, the same for every org."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from headwater.api.deps import TenantDep
from headwater.api.responses import json_response
from headwater.domain import specs
from headwater.errors import NotFoundError
from headwater.services import connection_specs
from headwater.services.listing import filter_specs

router = APIRouter(tags=["Catalogue"])

PropertyQuery = Annotated[list[str] | None, Query(description='Filter, e.g. name=="hubspot"')]


@router.get("/connectionSpecs")
def list_connection_specs(_tenant: TenantDep, property: PropertyQuery = None) -> Response:  # noqa: A002
    return json_response(
        {"items": filter_specs(connection_specs.connection_specs(), property or [])}
    )


def _one(kind: str, spec_id: str, spec: dict[str, Any] | None) -> Response:
    if spec is None:
        raise NotFoundError(
            f"The requested {kind} resource {spec_id} is not found.",
            resource_id=spec_id,
            resource_type=kind,
        )
    return json_response({"items": [spec]})


@router.get("/connectionSpecs/{spec_id}")
def get_connection_spec(spec_id: str, _tenant: TenantDep) -> Response:
    return _one("connectionSpecs", spec_id, connection_specs.connection_spec(spec_id))


@router.get("/flowSpecs")
def list_flow_specs(_tenant: TenantDep, property: PropertyQuery = None) -> Response:  # noqa: A002
    return json_response({"items": filter_specs(specs.flow_specs(), property or [])})


@router.get("/flowSpecs/{spec_id}")
def get_flow_spec(spec_id: str, _tenant: TenantDep) -> Response:
    return _one("flowSpecs", spec_id, specs.flow_spec(spec_id))
