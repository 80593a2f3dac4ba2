"""Sign in with an API client, switch sandbox, sign out."""

from __future__ import annotations

import secrets
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from headwater.errors import ImsError, TooManyAttemptsError
from headwater.services import identity
from headwater.ui import session as sess
from headwater.ui.web import (
    PREFIX,
    Ui,
    UiRoute,
    cookie_options,
    ctx_of,
    redirect,
    render,
    signed_in,
)

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(signed_in)]


def safe_next(target: str | None) -> str:
    """Only local UI paths: never an open redirect."""
    if (
        target
        and target.startswith(PREFIX + "/")
        and not target.startswith("//")
        and "\\" not in target
        and "://" not in target
    ):
        return target
    return f"{PREFIX}/sources"


def _sign_in_page(
    request: Request, *, error: str = "", client_id: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(sess.PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {
            "error": error,
            "client_id": client_id,
            "presession": token,
            "next": safe_next(request.query_params.get("next")),
        },
        status=status,
    )
    response.set_cookie(sess.PRE_SESSION_COOKIE, token, **cookie_options(request, max_age=3600))
    return response


@router.get(PREFIX, include_in_schema=False)
@router.get(PREFIX + "/", include_in_schema=False)
def home(request: Request) -> Response:
    s = sess.decode_session(ctx_of(request).box, request.cookies.get(sess.SESSION_COOKIE))
    return redirect(request, f"{PREFIX}/monitoring" if s else f"{PREFIX}/sign-in")


@router.get(PREFIX + "/sign-in", include_in_schema=False)
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


@router.post(PREFIX + "/sign-in", include_in_schema=False)
async def sign_in(
    request: Request,
    client_id: Annotated[str, Form()] = "",
    client_secret: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",  # noqa: A002 - the form field's name
) -> Response:
    if not sess.same_token(request.cookies.get(sess.PRE_SESSION_COOKIE) or "", csrf_token):
        return _sign_in_page(
            request,
            error="This sign-in form has expired. Please try again.",
            client_id=client_id,
            status=403,
        )
    if not client_id.strip() or not client_secret:
        return _sign_in_page(
            request,
            error="Enter both the client ID and the client secret of your API client.",
            client_id=client_id,
            status=400,
        )
    ctx = ctx_of(request)
    try:
        issued = await anyio.to_thread.run_sync(
            lambda: identity.issue_token(
                ctx,
                grant_type="client_credentials",
                client_id=client_id.strip(),
                client_secret=client_secret,
                scope="ui",
            )
        )
    except TooManyAttemptsError as exc:
        response = _sign_in_page(
            request,
            error="Too many failed sign-ins for this client ID. "
            f"Wait {exc.retry_after_seconds} seconds and try again.",
            client_id=client_id,
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except ImsError:
        return _sign_in_page(
            request,
            error="That client ID and client secret do not match an API client. "
            "Check both (headwater clients create prints them once) and try again.",
            client_id=client_id,
            status=401,
        )
    s = sess.Session(
        token=issued.access_token,
        client_id=issued.client.client_id,
        org_id=issued.client.org_id,
        sandbox="prod",
        csrf=sess.new_csrf(),
        expires_at=ctx.clock() + issued.expires_in_seconds * 1000,
    )
    response = redirect(request, safe_next(next))
    response.set_cookie(
        sess.SESSION_COOKIE,
        sess.encode_session(ctx.box, s),
        **cookie_options(request, max_age=issued.expires_in_seconds),
    )
    response.delete_cookie(sess.PRE_SESSION_COOKIE, path=sess.COOKIE_PATH)
    return response


@router.post(PREFIX + "/sign-out", include_in_schema=False)
def sign_out(ui: UiDep) -> Response:
    ui.request.app.state.gateway.revoke_token(ui.session.token)
    response = redirect(ui, f"{PREFIX}/sign-in", flash="You are signed out.")
    response.delete_cookie(sess.SESSION_COOKIE, path=sess.COOKIE_PATH)
    response.delete_cookie(sess.OAUTH_COOKIE, path=sess.COOKIE_PATH)
    return response


@router.post(PREFIX + "/sandbox", include_in_schema=False)
def switch_sandbox(ui: UiDep) -> Response:
    name = ui.field("sandbox")
    back = safe_next(ui.field("back"))
    if name not in ui.sandboxes():
        return redirect(ui, back, flash=f"There is no sandbox named '{name}' in this organisation.")
    # Pages of one sandbox mean nothing in another: land on the section's list.
    section = "/".join(back.split("/")[:3])
    response = redirect(ui, section, flash=f"Now working in sandbox {name}.")
    response.set_cookie(
        sess.SESSION_COOKIE,
        sess.encode_session(ui.ctx.box, ui.session.with_sandbox(name)),
        **cookie_options(
            ui.request, max_age=max(1, (ui.session.expires_at - ui.ctx.clock()) // 1000)
        ),
    )
    return response
