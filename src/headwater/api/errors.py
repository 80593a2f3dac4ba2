"""One table that turns every Headwater error into Adobe's wire shapes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from headwater.api.responses import json_response
from headwater.errors import (
    ContentTypeError,
    FieldError,
    GatewayError,
    ImsError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RetriableSyncError,
    ServiceError,
    SyncError,
    TooManyAttemptsError,
    ValidationError,
)
from headwater.services.sources import sync_error_body

log = logging.getLogger("headwater.api")

ERROR_TYPE_BASE = "https://ns.adobe.com/aep/errors/"


def request_id_of(scope_state: Any) -> str:
    rid = getattr(scope_state, "request_id", None)
    return rid if isinstance(rid, str) else ""


def service_error_body(exc: ServiceError, request_id: str) -> dict[str, Any]:
    code = exc.instance_code or exc.code
    status = exc.http_status
    report: dict[str, Any] = {"detailed-message": exc.message, "request-id": request_id}
    if exc.resource_id:
        report["id"] = exc.resource_id
    if exc.resource_type:
        report["type"] = exc.resource_type
    if exc.details:
        report["details"] = [dict(d) for d in exc.details]
    if exc.error_prefix != "FLOW":
        # Schema Registry shape: http:// type base, registryRequestId, sub-errors, detail
        report = {
            "registryRequestId": request_id,
            "detailed-message": exc.message,
            "sub-errors": [dict(d) for d in exc.details],
        }
        return {
            "type": f"http://ns.adobe.com/aep/errors/{exc.error_prefix}-{code}-{status}",
            "title": exc.title,
            "status": status,
            "report": report,
            "detail": exc.message,
        }
    return {
        "type": f"{ERROR_TYPE_BASE}FLOW-{code}-{status}",
        "title": exc.title,
        "status": status,
        "report": report,
        "errorMessage": exc.message,
        "errorDetails": exc.message,
    }


def gateway_error_response(exc: GatewayError) -> Response:
    if isinstance(exc, ContentTypeError):
        body: dict[str, Any] = {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": exc.message,
        }
        return json_response(body, 400)
    if isinstance(exc, ImsError):
        headers = (
            {"Retry-After": str(exc.retry_after_seconds)}
            if isinstance(exc, TooManyAttemptsError)
            else None
        )
        return json_response(
            {"error": exc.error, "error_description": exc.message}, exc.status, headers=headers
        )
    return json_response({"error_code": exc.error_code, "message": exc.message}, exc.http_status)


def service_error_response(exc: ServiceError, request_id: str) -> Response:
    return json_response(service_error_body(exc, request_id), exc.http_status)


def _validation_to_service_error(exc: RequestValidationError) -> ServiceError:
    details: list[FieldError] = []
    body_missing = False
    invalid_json = None
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        kind = err.get("type", "")
        if kind == "json_invalid":
            ctx = err.get("ctx") or {}
            invalid_json = str(ctx.get("error", "invalid JSON"))
            continue
        if loc[:1] == ["body"] and len(loc) == 1 and kind == "missing":
            body_missing = True
            continue
        field = ".".join(loc[1:]) if loc and loc[0] in {"body", "query", "path"} else ".".join(loc)
        msg = err.get("msg", "is invalid")
        if kind == "extra_forbidden":
            msg = "is not a known field"
        details.append(FieldError(field or "body", msg))
    if invalid_json is not None:
        return InvalidRequestError(f"The request body is not valid JSON: {invalid_json}")
    if body_missing:
        return InvalidRequestError("The request body is null or empty", instance_code="1405")
    listing = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return ValidationError(f"Invalid request: {listing}", details=details)


def install(app: FastAPI) -> None:
    """Register the exception-handler table."""

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return service_error_response(exc, request_id_of(request.state))

    async def on_gateway_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return gateway_error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return service_error_response(
            _validation_to_service_error(exc), request_id_of(request.state)
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            err: ServiceError = NotFoundError(f"No route for {request.method} {request.url.path}")
        elif exc.status_code == 405:
            err = InvalidRequestError(
                f"Method {request.method} is not allowed on {request.url.path}",
                instance_code="1451",
            )
            body = service_error_body(err, request_id_of(request.state))
            body["status"] = 405
            body["type"] = f"{ERROR_TYPE_BASE}FLOW-1451-405"
            return json_response(body, 405)
        else:
            err = InvalidRequestError(str(exc.detail))
        return service_error_response(err, request_id_of(request.state))

    async def on_unexpected(request: Request, _exc: Exception) -> Response:
        log.exception("unexpected error", extra={"request_id": request_id_of(request.state)})
        return service_error_response(
            InternalError("An internal error has occurred. Please try again."),
            request_id_of(request.state),
        )

    async def on_sync_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SyncError)
        # The source (not Headwater) failed: 424 Failed Dependency when it is unavailable or
        # throttling (retry later), 400 when it refused the request or the credentials.
        status = 424 if isinstance(exc, RetriableSyncError) else 400
        body = sync_error_body(exc, request_id_of(request.state))
        body["status"] = status
        return json_response(body, status)

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(SyncError, on_sync_error)
    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
