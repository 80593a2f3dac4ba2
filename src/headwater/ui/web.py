"""What every UI page shares: templates, the signed-in dependency, CSRF checks, and turning
service errors into pages written for a person."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import jinja2
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from headwater import __version__
from headwater.errors import (
    DependentsExistError,
    GatewayError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from headwater.services import identity
from headwater.services.context import ServiceContext, Tenant
from headwater.ui import session as sess

log = logging.getLogger("headwater.ui")

HERE = Path(__file__).resolve().parent
PREFIX = "/ui"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _iso(ms: Any) -> str:
    if not isinstance(ms, int | float) or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_text(ms: Any) -> str:
    if not isinstance(ms, int | float) or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _duration(ms: Any) -> str:
    if not isinstance(ms, int | float) or ms < 0:
        return "—"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m} min {s} s"
    h, m = divmod(m, 60)
    return f"{h} h {m} min"


STATUS_WORDS = {
    "success": "Succeeded",
    "partialSuccess": "Partly succeeded",
    "failed": "Failed",
    "inProgress": "Running",
    "scheduled": "Queued",
    "cancelled": "Cancelled",
    "enabled": "Enabled",
    "disabled": "Disabled",
}


def _status(value: Any) -> str:
    return STATUS_WORDS.get(str(value), str(value or "—"))


env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(iso=_iso, utc=_utc_text, number=_number, duration=_duration, status=_status)
env.globals.update(version=__version__, prefix=PREFIX, quote=urllib.parse.quote)


class SignInRequired(Exception):  # noqa: N818 - control flow
    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):  # noqa: N818 - control flow
    pass


@dataclass
class Ui:
    """The signed-in person's request: service context, session, tenant, and the posted form."""

    request: Request
    ctx: ServiceContext
    session: sess.Session
    tenant: Tenant
    form: FormData | None = None
    cookies_out: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def field(self, name: str, default: str = "") -> str:
        if self.form is None:
            return default
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    def sandboxes(self) -> list[str]:
        return [s.name for s in identity.list_sandboxes(self.ctx, org_id=self.tenant.org_id)]


def ctx_of(request: Request) -> ServiceContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


def _authenticate(request: Request, s: sess.Session) -> Tenant:
    gateway = request.app.state.gateway
    kwargs = {
        "authorization": f"Bearer {s.token}",
        "api_key": s.client_id,
        "org_id": s.org_id,
        "sandbox_name": s.sandbox,
    }
    tenant = gateway.cached_authenticate(**kwargs)
    if tenant is None:
        tenant = gateway.authenticate(**kwargs)
    assert isinstance(tenant, Tenant)
    return tenant


async def signed_in(request: Request) -> Ui:
    """The dependency of every page behind sign-in; POSTs must carry the session's CSRF token."""
    ctx = ctx_of(request)
    s = sess.decode_session(ctx.box, request.cookies.get(sess.SESSION_COOKIE))
    if s is None:
        raise SignInRequired()
    try:
        tenant = await anyio.to_thread.run_sync(lambda: _authenticate(request, s))
    except (GatewayError, NotFoundError) as exc:
        raise SignInRequired("Your session has ended. Sign in again to continue.") from exc
    form = None
    if request.method == "POST":
        form = await request.form()
        given = request.headers.get(sess.CSRF_HEADER) or form.get(sess.CSRF_FIELD)
        if not sess.same_token(s.csrf, given if isinstance(given, str) else None):
            raise CsrfRefused()
    ui = Ui(request=request, ctx=ctx, session=s, tenant=tenant, form=form)
    request.state.ui = ui
    return ui


def cookie_options(request: Request, *, max_age: int | None = None) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": sess.COOKIE_PATH,
        "max_age": max_age,
    }


def set_flash(response: Response, request: Request, text: str) -> None:
    response.set_cookie(
        sess.FLASH_COOKIE, urllib.parse.quote(text[:300]), **cookie_options(request, max_age=120)
    )


def redirect(ui_or_request: Ui | Request, url: str, *, flash: str | None = None) -> Response:
    request = ui_or_request.request if isinstance(ui_or_request, Ui) else ui_or_request
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, request, flash)
    return response


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    ui: Ui | None = None,
    status: int = 200,
    nav: str = "",
) -> HTMLResponse:
    flash = request.cookies.get(sess.FLASH_COOKIE)
    values: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "nav": nav,
        "signed_in": ui is not None,
        "flash": urllib.parse.unquote(flash) if flash else "",
        "org_id": ui.tenant.org_id if ui else "",
        "sandbox": ui.tenant.sandbox_name if ui else "",
        "sandboxes": ui.sandboxes if ui else list,
        "csrf": ui.session.csrf if ui else "",
        "partial": request.headers.get("hx-request") == "true"
        and request.headers.get("hx-boosted") != "true",
        **context,
    }
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if flash:
        response.delete_cookie(sess.FLASH_COOKIE, path=sess.COOKIE_PATH)
    if ui is not None:
        for name, value, opts in ui.cookies_out:
            response.set_cookie(name, value, **opts)
    return response


def error_page(request: Request, *, status: int, title: str, message: str) -> HTMLResponse:
    ui = getattr(request.state, "ui", None)
    return render(
        request,
        "error.html",
        {"title": title, "message": message},
        ui=ui if isinstance(ui, Ui) else None,
        status=status,
    )


def person_message(exc: ServiceError) -> str:
    """A service error in words for a person, with the fields that were wrong."""
    if isinstance(exc, DependentsExistError):
        return exc.message
    if isinstance(exc, ValidationError) and exc.details:
        return "Some fields need attention: " + "; ".join(
            f"{d['field'].split('.')[-1]} {d['message']}" for d in exc.details
        )
    return exc.message


class UiRoute(APIRoute):
    """Routes whose errors become HTML pages instead of the API's JSON envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired as exc:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                url = f"{PREFIX}/sign-in?next={urllib.parse.quote(target)}"
                if request.headers.get("hx-request") == "true":
                    return Response(status_code=204, headers={"HX-Redirect": url})
                resp = RedirectResponse(url, status_code=303)
                if exc.message:
                    set_flash(resp, request, exc.message)
                resp.delete_cookie(sess.SESSION_COOKIE, path=sess.COOKIE_PATH)
                return resp
            except CsrfRefused:
                return error_page(
                    request,
                    status=403,
                    title="This form has expired",
                    message="The page was open too long or came from somewhere else, so Headwater "
                    "did not act on it. Go back, reload the page and try again.",
                )
            except NotFoundError:
                return error_page(
                    request,
                    status=404,
                    title="Not found",
                    message="There is nothing here in this sandbox. It may have been deleted, or "
                    "it belongs to another sandbox or organisation.",
                )
            except ServiceError as exc:
                return error_page(
                    request, status=400, title="That did not work", message=person_message(exc)
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handler
