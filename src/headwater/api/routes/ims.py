"""Adobe IMS-compatible token endpoints (OAuth server-to-server, client credentials)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from headwater.api.responses import json_response
from headwater.domain.paths import IMS_TOKEN_PATH
from headwater.errors import ImsError
from headwater.services import identity

router = APIRouter(tags=["IMS"])


@router.post(IMS_TOKEN_PATH)
def token_v3(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> Response:
    """Issue a bearer token for an API client (``grant_type=client_credentials``)."""
    issued = identity.issue_token(
        request.app.state.ctx,
        grant_type=grant_type,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
    )
    return json_response(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in_seconds,
        }
    )


@router.post("/ims/revoke", response_class=Response)
def revoke(
    request: Request,
    token: Annotated[str | None, Form()] = None,
) -> Response:
    """Revoke an access token; revoking an unknown token is not an error (RFC 7009)."""
    if not token:
        raise ImsError("invalid_request", "missing token parameter")
    request.app.state.gateway.revoke_token(token)
    return Response(status_code=200)
