"""Sources catalogue and the account wizard (form from the authSpec, "Connect with <source>" for
a source that offers an OAuth sign-in)."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from headwater.domain import specs
from headwater.errors import NotFoundError, SyncError, ValidationError
from headwater.services import connection_specs, connections, sources
from headwater.ui import forms, oauth
from headwater.ui import session as sess
from headwater.ui.web import (
    PREFIX,
    SECURITY_HEADERS,
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
OAUTH_SECONDS = 600


def source_specs() -> list[dict[str, Any]]:
    return [s for s in connection_specs.connection_specs() if s.get("sourceSpec")]


def _spec(spec_id: str) -> dict[str, Any]:
    spec = connection_specs.connection_spec(spec_id)
    if spec is None or not spec.get("sourceSpec"):
        raise NotFoundError(f"no source {spec_id}", resource_id=spec_id)
    return spec


def test_words(result: dict[str, Any]) -> str:
    if result.get("result"):
        return "Connection test passed: Headwater reached the source with these credentials."
    err = result.get("error") or {}
    return "Connection test failed: " + str(err.get("errorMessage") or "the source refused.")


@router.get(PREFIX + "/sources", include_in_schema=False)
def catalogue(ui: UiDep) -> Response:
    cards = [
        {
            "id": s["id"],
            "name": forms.display_name(s),
            "category": (s.get("attributes") or {}).get("category", "Other"),
            "description": s.get("description", ""),
        }
        for s in source_specs()
    ]
    return render(ui.request, "sources.html", {"cards": cards}, ui=ui, nav="sources")


def _wizard(
    ui: Ui,
    spec: dict[str, Any],
    *,
    active: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    sections = forms.sections(spec)
    for section in sections:
        if section.spec_name == active:
            section.fields = forms.sections(spec, values=values, errors=errors, only=active)[
                0
            ].fields
            if message:
                section.errors.append(message)
    response = render(
        ui.request,
        "account_new.html",
        {
            "spec": spec,
            "name": forms.display_name(spec),
            "sections": sections,
            "account_name": (values or {}).get("name", f"{forms.display_name(spec)} account"),
            "name_error": (errors or {}).get("name", "") if active else "",
            "active": active,
        },
        ui=ui,
        nav="sources",
        status=status,
    )
    origins = sorted(
        {
            oauth.form_action_origin(sources.oauth_endpoints(ui.ctx, flow).authorize_url)
            for section in sections
            if (flow := sources.oauth_flow(spec["id"], section.spec_name)) is not None
        }
    )
    response.headers["content-security-policy"] = SECURITY_HEADERS[
        "content-security-policy"
    ].replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))
    return response


@router.get(PREFIX + "/sources/{spec_id}/connect", include_in_schema=False)
def account_form(spec_id: str, ui: UiDep) -> Response:
    return _wizard(ui, _spec(spec_id))


def _form_values(ui: Ui) -> dict[str, str]:
    assert ui.form is not None
    return {k: v.strip() for k, v in ui.form.items() if isinstance(v, str)}


@router.post(PREFIX + "/sources/{spec_id}/connect", include_in_schema=False)
def connect(spec_id: str, ui: UiDep) -> Response:
    spec = _spec(spec_id)
    values = _form_values(ui)
    spec_name = values.get("auth_spec", "")
    if specs.auth_spec(spec, spec_name) is None:
        return _wizard(ui, spec, message="Choose one of the ways to sign in below.", status=400)
    name = values.get("name", "")
    if not name:
        return _wizard(
            ui,
            spec,
            active=spec_name,
            values=values,
            errors={"name": "Give the account a name."},
            status=400,
        )
    body = {
        "name": name,
        "description": f"Created in the Headwater UI by {ui.tenant.client_id}",
        "auth": {"specName": spec_name, "params": forms.read_params(spec, spec_name, values)},
        "connectionSpec": {"id": spec["id"], "version": spec["version"]},
    }
    try:
        conn_id, _ = connections.create_connection(ui.ctx, ui.tenant, body)
    except ValidationError as exc:
        return _wizard(
            ui,
            spec,
            active=spec_name,
            values=values,
            errors=forms.field_errors(exc.details),
            message="Some fields need attention.",
            status=400,
        )
    return _tested(ui, conn_id)


def _tested(ui: Ui, conn_id: str) -> Response:
    try:
        result = sources.test_connection(ui.ctx, ui.tenant, conn_id)
    except SyncError as exc:
        result = {"result": False, "error": {"errorMessage": exc.message}}
    return redirect(ui, f"{PREFIX}/accounts/{conn_id}", flash=test_words(result))


def _redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX + "/oauth/callback"


@router.post(PREFIX + "/sources/{spec_id}/oauth", include_in_schema=False)
def oauth_start(spec_id: str, ui: UiDep) -> Response:
    """Keep the app credentials in a sealed cookie and send the browser to the source's consent."""
    spec = _spec(spec_id)
    values = _form_values(ui)
    spec_name = values.get("auth_spec", "")
    flow = sources.oauth_flow(spec["id"], spec_name)
    if flow is None:
        return _wizard(ui, spec, message="This source has no OAuth sign-in.", status=400)
    title = forms.display_name(spec)
    errors = {}
    if not values.get("name"):
        errors["name"] = "Give the account a name."
    for prop in (flow.client_id_param, flow.client_secret_param):
        if not values.get(prop):
            errors[prop] = f"Connect with {title} needs your app's client ID and client secret."
    if errors:
        return _wizard(ui, spec, active=spec_name, values=values, errors=errors, status=400)
    state = secrets.token_urlsafe(24)
    redirect_uri = _redirect_uri(ui.request)
    pending = {
        "state": state,
        "spec": spec["id"],
        "authSpec": spec_name,
        "name": values["name"],
        "clientId": values[flow.client_id_param],
        "clientSecret": values[flow.client_secret_param],
        "redirectUri": redirect_uri,
        "org": ui.tenant.org_id,
        "sandbox": ui.tenant.sandbox_name,
        "expiresAt": ui.ctx.clock() + OAUTH_SECONDS * 1000,
    }
    url = oauth.authorize_url(
        sources.oauth_endpoints(ui.ctx, flow).authorize_url,
        scopes=flow.scopes,
        optional_scopes=flow.optional_scopes,
        client_id=values[flow.client_id_param],
        redirect_uri=redirect_uri,
        state=state,
    )
    response = redirect(ui, url)
    response.set_cookie(
        sess.OAUTH_COOKIE,
        sess.encode_oauth(ui.ctx.box, pending),
        **cookie_options(ui.request, max_age=OAUTH_SECONDS),
    )
    return response


@router.get(PREFIX + "/oauth/callback", include_in_schema=False)
def oauth_callback(request: Request) -> Response:
    """The source sends the browser back here. A SameSite=Strict cookie does not travel on a
    redirect from another site, so this page hands over to a same-site page that has it."""
    query = urllib.parse.urlencode(
        {k: v for k, v in request.query_params.items() if k in {"code", "state", "error"}}
    )
    target = f"{PREFIX}/oauth/finish?{query}"
    return render(request, "oauth_continue.html", {"target": target})


@router.get(PREFIX + "/oauth/finish", include_in_schema=False)
def oauth_finish(ui: UiDep) -> Response:
    params = ui.request.query_params
    pending = sess.decode_oauth(ui.ctx.box, ui.request.cookies.get(sess.OAUTH_COOKIE))
    if (
        pending is None
        or not sess.same_token(str(pending.get("state", "")), params.get("state"))
        or pending.get("org") != ui.tenant.org_id
        or pending.get("sandbox") != ui.tenant.sandbox_name
        or int(pending.get("expiresAt", 0)) < ui.ctx.clock()
    ):
        return _finish_failed(
            ui,
            "This sign-in did not start here or took longer than ten minutes. "
            "Start again from the source's page.",
        )
    spec = _spec(str(pending["spec"]))
    title = forms.display_name(spec)
    flow = sources.oauth_flow(spec["id"], str(pending["authSpec"]))
    if flow is None:
        return _finish_failed(ui, "This source has no OAuth sign-in.", spec)
    if params.get("error") or not params.get("code"):
        return _finish_failed(ui, f"{title} did not grant access, so nothing was connected.", spec)
    try:
        tokens = oauth.exchange_code(
            sources.oauth_endpoints(ui.ctx, flow).token_url,
            source=title,
            client_id=str(pending["clientId"]),
            client_secret=str(pending["clientSecret"]),
            redirect_uri=str(pending["redirectUri"]),
            code=str(params["code"]),
        )
    except SyncError as exc:
        return _finish_failed(ui, exc.message, spec)
    body = {
        "name": pending["name"],
        "description": f"Connected with {title} OAuth in the Headwater UI",
        "auth": {
            "specName": pending["authSpec"],
            "params": {
                flow.client_id_param: pending["clientId"],
                flow.client_secret_param: pending["clientSecret"],
                flow.access_token_param: tokens.access_token,
                flow.refresh_token_param: tokens.refresh_token,
            },
        },
        "connectionSpec": {"id": spec["id"], "version": spec["version"]},
    }
    conn_id, _ = connections.create_connection(ui.ctx, ui.tenant, body)
    response = _tested(ui, conn_id)
    response.delete_cookie(sess.OAUTH_COOKIE, path=sess.COOKIE_PATH)
    return response


def _finish_failed(ui: Ui, message: str, spec: dict[str, Any] | None = None) -> Response:
    back = f"{PREFIX}/sources/{spec['id']}/connect" if spec else f"{PREFIX}/sources"
    response = render(
        ui.request,
        "error.html",
        {
            "title": f"{forms.display_name(spec) if spec else 'The source'} is not connected",
            "message": message,
            "back": back,
            "back_label": "Back to the account form",
        },
        ui=ui,
        status=400,
        nav="sources",
    )
    response.delete_cookie(sess.OAUTH_COOKIE, path=sess.COOKIE_PATH)
    return response


__all__ = ["ctx_of", "router", "source_specs"]
