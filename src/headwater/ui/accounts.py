"""Accounts (base connections): status, edit credentials, delete; and Select data (explore)."""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from headwater.errors import DependentsExistError, SyncError, ValidationError
from headwater.services import connection_specs, connections, flows, sources
from headwater.services.listing import ListRequest
from headwater.ui import forms
from headwater.ui.sources import test_words
from headwater.ui.web import PREFIX, Ui, UiRoute, redirect, render, signed_in

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(signed_in)]
PAGE = 25


def _account_view(doc: dict[str, Any]) -> dict[str, Any]:
    spec = connection_specs.connection_spec(doc["connectionSpec"]["id"]) or {"name": "unknown"}
    last = (doc.get("headwater") or {}).get("lastTest")
    return {
        "id": doc["id"],
        "name": doc.get("name") or doc["id"],
        "source": forms.display_name(spec),
        "auth": (doc.get("auth") or {}).get("specName", "—"),
        "created": doc.get("createdAt"),
        "last_test": last,
        "state": doc.get("state", "enabled"),
    }


@router.get(PREFIX + "/accounts", include_in_schema=False)
def accounts(ui: UiDep, page: str | None = None) -> Response:
    result = connections.list_connections(
        ui.ctx,
        ui.tenant,
        ListRequest(orderby="-createdAt", limit=str(PAGE), continuation_token=page),
    )
    return render(
        ui.request,
        "accounts.html",
        {
            "accounts": [_account_view(d) for d in result.items],
            "next_url": f"{PREFIX}/accounts?page={result.next_token}" if result.next_token else "",
            "first_url": f"{PREFIX}/accounts" if page else "",
        },
        ui=ui,
        nav="accounts",
    )


def dependent_flows(ui: Ui, conn_id: str) -> list[dict[str, Any]]:
    """The dataflows reading from this account, found with the API's own filter."""
    out: list[dict[str, Any]] = []
    token = None
    while True:
        result = flows.list_flows(
            ui.ctx,
            ui.tenant,
            ListRequest(
                properties=(
                    f"inheritedAttributes.sourceConnections[].baseConnection.id=={conn_id}",
                ),
                limit="100",
                continuation_token=token,
            ),
        )
        out.extend({"id": f["id"], "name": f.get("name") or f["id"]} for f in result.items)
        token = result.next_token
        if not token:
            return out


@router.get(PREFIX + "/accounts/{conn_id}", include_in_schema=False)
def account(conn_id: str, ui: UiDep) -> Response:
    doc = connections.get_connection(ui.ctx, ui.tenant, conn_id)
    return render(
        ui.request,
        "account.html",
        {"a": _account_view(doc), "flows": dependent_flows(ui, conn_id)},
        ui=ui,
        nav="accounts",
    )


@router.post(PREFIX + "/accounts/{conn_id}/test", include_in_schema=False)
def test(conn_id: str, ui: UiDep) -> Response:
    try:
        result = sources.test_connection(ui.ctx, ui.tenant, conn_id)
    except SyncError as exc:
        result = {"result": False, "error": {"errorMessage": exc.message}}
    return redirect(ui, f"{PREFIX}/accounts/{conn_id}", flash=test_words(result))


def _edit_page(
    ui: Ui,
    doc: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    spec = connection_specs.connection_spec(doc["connectionSpec"]["id"]) or {
        "id": "",
        "authSpec": [],
    }
    auth = doc.get("auth") or {}
    params = auth.get("params") or {}
    stored = frozenset(k for k, v in params.items() if v == connections.MASK)
    public = {k: str(v) for k, v in params.items() if v != connections.MASK}
    section = forms.sections(
        spec,
        values=values or public,
        errors=errors,
        only=auth.get("specName"),
        stored_secrets=stored,
    )
    return render(
        ui.request,
        "account_edit.html",
        {
            "a": _account_view(doc),
            "section": section[0] if section else None,
            "account_name": (values or {}).get("name", doc.get("name", "")),
            "name_error": (errors or {}).get("name", ""),
            "message": message,
        },
        ui=ui,
        nav="accounts",
        status=status,
    )


@router.get(PREFIX + "/accounts/{conn_id}/edit", include_in_schema=False)
def edit_form(conn_id: str, ui: UiDep) -> Response:
    return _edit_page(ui, connections.get_connection(ui.ctx, ui.tenant, conn_id))


@router.post(PREFIX + "/accounts/{conn_id}/edit", include_in_schema=False)
def edit(conn_id: str, ui: UiDep) -> Response:
    doc = connections.get_connection(ui.ctx, ui.tenant, conn_id)
    assert ui.form is not None
    values = {k: v.strip() for k, v in ui.form.items() if isinstance(v, str)}
    name = values.get("name", "")
    if not name:
        return _edit_page(ui, doc, values=values, errors={"name": "Give the account a name."})
    auth = doc.get("auth") or {}
    spec = connection_specs.connection_spec(doc["connectionSpec"]["id"])
    assert spec is not None
    params = forms.read_params(spec, auth.get("specName", ""), values)
    # A blank secret keeps the stored one: the service treats the mask as "unchanged".
    for key, value in (auth.get("params") or {}).items():
        if value == connections.MASK and key not in params:
            params[key] = connections.MASK
    ops = [
        {"op": "replace", "path": "/name", "value": name},
        {
            "op": "replace",
            "path": "/auth",
            "value": {"specName": auth["specName"], "params": params},
        },
    ]
    try:
        connections.patch_connection(ui.ctx, ui.tenant, conn_id, if_match=doc["etag"], ops=ops)
    except ValidationError as exc:
        return _edit_page(
            ui,
            doc,
            values=values,
            errors=forms.field_errors(exc.details),
            message="Some fields need attention.",
            status=400,
        )
    try:
        result = sources.test_connection(ui.ctx, ui.tenant, conn_id)
    except SyncError as exc:
        result = {"result": False, "error": {"errorMessage": exc.message}}
    return redirect(ui, f"{PREFIX}/accounts/{conn_id}", flash="Saved. " + test_words(result))


@router.post(PREFIX + "/accounts/{conn_id}/delete", include_in_schema=False)
def delete(conn_id: str, ui: UiDep) -> Response:
    doc = connections.get_connection(ui.ctx, ui.tenant, conn_id)
    try:
        connections.delete_connection(ui.ctx, ui.tenant, conn_id)
    except DependentsExistError:
        names = ", ".join(f"“{f['name']}”" for f in dependent_flows(ui, conn_id))
        return redirect(
            ui,
            f"{PREFIX}/accounts/{conn_id}",
            flash=f"This account cannot be deleted while dataflows read from it: {names}. "
            "Delete those dataflows first.",
        )
    return redirect(ui, f"{PREFIX}/accounts", flash=f"Account “{doc.get('name')}” was deleted.")


# ---------------------------------------------------------------- select data


def _explore_error(exc: SyncError) -> str:
    return f"Headwater could not read this account's tables: {exc.message}"


@router.get(PREFIX + "/accounts/{conn_id}/data", include_in_schema=False)
def select_data(
    conn_id: str, ui: UiDep, table: str = "", q: str = "", refresh: str = ""
) -> Response:
    doc = connections.get_connection(ui.ctx, ui.tenant, conn_id)
    error = ""
    tables: list[dict[str, Any]] = []
    detail: dict[str, Any] | None = None
    again = bool(refresh)
    try:
        tables = list(
            sources.explore_cached(ui.ctx, ui.tenant, conn_id, object_type="root", refresh=again)
        )
        if table:
            detail = sources.explore_cached(
                ui.ctx, ui.tenant, conn_id, object_type="table", obj=table, refresh=again
            )
    except SyncError as exc:
        error = _explore_error(exc)
    needle = q.strip().lower()
    shown = [t for t in tables if not needle or needle in t["name"].lower()]
    return render(
        ui.request,
        "select_data.html",
        {
            "a": _account_view(doc),
            "tables": shown,
            "total": len(tables),
            "table": table,
            "q": q,
            "detail": detail,
            "error": error,
            "cache_minutes": max(1, round(ui.ctx.explore_cache.ttl_ms / 60_000)),
            "preview_url": f"{PREFIX}/accounts/{conn_id}/data/preview?table="
            + urllib.parse.quote(table),
        },
        ui=ui,
        nav="accounts",
    )


@router.get(PREFIX + "/accounts/{conn_id}/data/preview", include_in_schema=False)
def preview(conn_id: str, ui: UiDep, table: str) -> Response:
    error = ""
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    try:
        result = sources.explore(
            ui.ctx, ui.tenant, conn_id, object_type="table", obj=table, preview=True, limit=10
        )
        columns = [c["name"] for c in result["schema"]["columns"]]
        rows = result.get("data", [])
    except SyncError as exc:
        error = _explore_error(exc)
    partial = ui.request.headers.get("hx-request") == "true"
    return render(
        ui.request,
        "_preview.html" if partial else "preview_page.html",
        {"columns": columns, "rows": rows, "error": error, "table": table},
        ui=ui,
        nav="accounts",
    )
