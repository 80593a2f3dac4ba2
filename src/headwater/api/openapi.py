"""The OpenAPI document as the API really behaves, not as FastAPI guesses it.

FastAPI documents a 422 for validation, names path parameters after our Python arguments and
knows nothing of the gateway. This rewrites its document so that a client generated from it (or a
contract fuzzer) sees Adobe's names and Headwater's answers: the gateway headers on every
``/data/foundation`` operation, a 400 in Adobe's envelope as the validation error, the gateway's
401/403, the 404/412/413/415/428 the routes answer, Adobe's path parameter names, and
``x-headwater-extension: true`` on every operation Adobe does not serve.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from headwater.domain.paths import (
    CATALOG_PATH,
    DATA_PREP_PATH,
    EXPORT_PATH,
    FLOW_SERVICE_PATH,
    IMS_TOKEN_PATH,
    PROTECTED_PREFIX,
    SCHEMA_REGISTRY_PATH,
)

#: (path prefix, our parameter) -> Adobe's name for it; the first matching prefix wins.
PATH_PARAMETER_NAMES: tuple[tuple[str, str, str], ...] = (
    (f"{FLOW_SERVICE_PATH}/connectionSpecs/", "spec_id", "CONNECTION_SPEC_ID"),
    (f"{FLOW_SERVICE_PATH}/flowSpecs/", "spec_id", "FLOW_SPEC_ID"),
    (f"{FLOW_SERVICE_PATH}/connections/", "conn_id", "BASE_CONNECTION_ID"),
    (f"{FLOW_SERVICE_PATH}/sourceConnections/", "res_id", "SOURCE_CONNECTION_ID"),
    (f"{FLOW_SERVICE_PATH}/targetConnections/", "res_id", "TARGET_CONNECTION_ID"),
    (f"{FLOW_SERVICE_PATH}/flows/", "flow_id", "FLOW_ID"),
    (f"{FLOW_SERVICE_PATH}/runs/", "run_id", "RUN_ID"),
    (f"{FLOW_SERVICE_PATH}/webhooks/", "webhook_id", "WEBHOOK_ID"),
    (f"{CATALOG_PATH}/dataSets/", "ds_id", "DATASET_ID"),
    (f"{CATALOG_PATH}/batches/", "batch_id", "BATCH_ID"),
    (f"{EXPORT_PATH}/batches/", "batch_id", "BATCH_ID"),
    (f"{SCHEMA_REGISTRY_PATH}/global/classes/", "ref", "CLASS_ID"),
    (f"{SCHEMA_REGISTRY_PATH}/global/fieldgroups/", "ref", "FIELD_GROUP_ID"),
    (f"{SCHEMA_REGISTRY_PATH}/tenant/schemas/", "ref", "SCHEMA_ID"),
    (f"{SCHEMA_REGISTRY_PATH}/tenant/fieldgroups/", "ref", "FIELD_GROUP_ID"),
    (f"{DATA_PREP_PATH}/mappingSets/", "ms_id", "MAPPING_SET_ID"),
    (f"{DATA_PREP_PATH}/mappingSets/", "mapping_id", "MAPPING_ID"),
)

#: Operations Adobe's Platform APIs do not have (method, path as served).
EXTENSIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("post", IMS_TOKEN_PATH),  # Adobe's IMS lives on another host
        ("post", "/ims/revoke"),
        ("get", "/health/live"),
        ("get", "/health/ready"),
        ("get", "/metrics"),
        ("get", f"{CATALOG_PATH}/dataSets/{{ds_id}}/preview"),
        ("delete", f"{DATA_PREP_PATH}/mappingSets/{{ms_id}}"),
        ("post", f"{FLOW_SERVICE_PATH}/webhooks"),
        ("get", f"{FLOW_SERVICE_PATH}/webhooks"),
        ("get", f"{FLOW_SERVICE_PATH}/webhooks/{{webhook_id}}"),
        ("delete", f"{FLOW_SERVICE_PATH}/webhooks/{{webhook_id}}"),
        ("get", f"{FLOW_SERVICE_PATH}/webhooks/{{webhook_id}}/deliveries"),
    }
)

#: Parameters that extend an Adobe operation: (method, path, parameter) -> what they do.
EXTENSION_PARAMETERS: dict[tuple[str, str, str], str] = {
    ("post", f"{FLOW_SERVICE_PATH}/flows/{{flow_id}}/action", "op"): (
        "op=run (queue a run now) is a Headwater extension"
    ),
    ("get", f"{FLOW_SERVICE_PATH}/connections/{{conn_id}}/explore", "limit"): (
        "the number of preview rows"
    ),
}

_REF = "#/components/schemas/"

_FLOW_ERROR: dict[str, Any] = {
    "title": "FlowError",
    "description": (
        "Adobe's Flow Service (and Catalog, Data Prep) error envelope; the type names the "
        "component (FLOW, or CONNECTOR for an answer of the source)"
    ),
    "type": "object",
    "required": ["type", "title", "status", "report"],
    "properties": {
        "type": {"type": "string", "pattern": "^https://ns\\.adobe\\.com/aep/errors/[A-Z]+-"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "report": {
            "type": "object",
            "required": ["detailed-message"],
            "properties": {
                "detailed-message": {"type": "string"},
                "request-id": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "errorMessage": {"type": "string"},
        "errorDetails": {"type": "string"},
    },
}

_XDM_ERROR: dict[str, Any] = {
    "title": "RegistryError",
    "description": "The Schema Registry's error envelope.",
    "type": "object",
    "required": ["type", "title", "status", "report", "detail"],
    "properties": {
        "type": {"type": "string", "pattern": "^http://ns\\.adobe\\.com/aep/errors/XDM-"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "report": {"type": "object"},
        "detail": {"type": "string"},
    },
}

_GATEWAY_ERROR: dict[str, Any] = {
    "title": "GatewayError",
    "description": "The gateway's answer to a missing or refused token, API key or org.",
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}

_BAD_REQUEST: dict[str, Any] = {
    "title": "BadRequestError",
    "description": "The gateway's answer to a body that is not JSON (wrong Content-Type).",
    "type": "object",
    "required": ["type", "status", "title", "detail"],
    "properties": {
        "type": {"type": "string"},
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
    },
}

_IMS_ERROR: dict[str, Any] = {
    "title": "ImsError",
    "description": "IMS's OAuth error answer.",
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}

_GATEWAY_HEADERS: tuple[tuple[str, bool, str], ...] = (
    ("Authorization", True, "Bearer <access token> from POST /ims/token/v3"),
    ("x-api-key", True, "The client id the token was issued to"),
    ("x-gw-ims-org-id", True, "The organization id the token belongs to"),
    ("x-sandbox-name", False, "The sandbox (lower case); prod when absent"),
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _response(description: str, *schemas: str) -> dict[str, Any]:
    schema: dict[str, Any] = (
        _ref(schemas[0]) if len(schemas) == 1 else {"anyOf": [_ref(s) for s in schemas]}
    )
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def adobe_path(path: str) -> str:
    """``path`` with its parameters renamed as Adobe names them."""

    def rename(match: re.Match[str]) -> str:
        return "{" + parameter_name(path, match.group(1)) + "}"

    return re.sub(r"\{([^}:]+)\}", rename, path)


def parameter_name(path: str, name: str) -> str:
    for prefix, ours, adobe in PATH_PARAMETER_NAMES:
        if name == ours and path.startswith(prefix):
            return adobe
    return name


def _error_responses(path: str, method: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses.pop("422", None)
    protected = path.startswith(PROTECTED_PREFIX)
    service = "RegistryError" if path.startswith(SCHEMA_REGISTRY_PATH) else "FlowError"
    if path.startswith("/ims/"):
        responses.setdefault("400", _response("Invalid request", "ImsError"))
        responses.setdefault("401", _response("Invalid client credentials", "ImsError"))
        if path == IMS_TOKEN_PATH:
            responses.setdefault(
                "429",
                _response(
                    "Too many failed attempts for this client_id; retry after Retry-After seconds",
                    "ImsError",
                ),
            )
        return
    if not protected:
        return
    responses.setdefault(
        "400",
        _response(
            "The request is not valid: a parameter or body field fails validation "
            "(report.details lists them), the body is not JSON, or a gateway header is missing; "
            "the request checks every path shares (NUL characters, body size) answer in the "
            "Flow Service envelope",
            *dict.fromkeys((service, "FlowError")),
            "BadRequestError",
            "GatewayError",
        ),
    )
    responses.setdefault(
        "401", _response("The token is not valid, expired or revoked", "GatewayError")
    )
    responses.setdefault(
        "403",
        _response("The token, API key or org id is missing or not the token's", "GatewayError"),
    )
    responses.setdefault(
        "404", _response("The sandbox or resource does not exist for this org", service)
    )
    if method in {"post", "put", "patch"}:
        responses.setdefault("413", _response("The body is over the size limit", service))
        responses.setdefault(
            "415", _response("The body's Content-Type is not JSON", "BadRequestError", service)
        )
    if method in {"patch", "delete", "post", "put"}:
        responses.setdefault(
            "409", _response("The change conflicts with the resource's state", service)
        )
    if method == "patch" and "/flowservice/" in path:
        responses.setdefault("412", _response("If-Match names an older etag", service))
        responses.setdefault("428", _response("If-Match is required", service))
    responses.setdefault("default", _response("Any other error", service, "GatewayError"))


def _gateway_parameters(op: dict[str, Any]) -> None:
    params: list[dict[str, Any]] = op.setdefault("parameters", [])
    have = {(p["in"], p["name"].lower()) for p in params}
    declared = [
        {
            "name": name,
            "in": "header",
            "required": required,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, required, description in _GATEWAY_HEADERS
        if ("header", name.lower()) not in have
    ]
    op["parameters"] = declared + params


def honest_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.update(
        FlowError=_FLOW_ERROR,
        RegistryError=_XDM_ERROR,
        GatewayError=_GATEWAY_ERROR,
        BadRequestError=_BAD_REQUEST,
        ImsError=_IMS_ERROR,
    )
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for p in op.get("parameters", []):
                key = (method, path, p["name"])
                if p["in"] == "path":
                    p["name"] = parameter_name(path, p["name"])
                if key in EXTENSION_PARAMETERS:
                    p["x-headwater-extension"] = True
                    p["description"] = (
                        f"{p.get('description', '')} (extension: {EXTENSION_PARAMETERS[key]})"
                    ).strip()
            if path.startswith(PROTECTED_PREFIX):
                _gateway_parameters(op)
            _error_responses(path, method, op)
            if (method, path) in EXTENSIONS:
                op["x-headwater-extension"] = True
        paths[adobe_path(path)] = item
    doc["paths"] = paths
    return doc


def install(app: FastAPI) -> None:
    """Serve :func:`honest_openapi` at ``/openapi.json`` (computed once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = honest_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
