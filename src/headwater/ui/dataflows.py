"""Dataflows: the list, the wizard (steps in :mod:`headwater.ui.wizard`), and the actions
enable, disable, run now and full refresh."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from headwater.domain import specs
from headwater.errors import ServiceError
from headwater.services import connections, datasets, flows, runs, webhooks
from headwater.services import dataflow_connections as conns
from headwater.services.listing import ListRequest
from headwater.ui import session as sess
from headwater.ui import views, wizard
from headwater.ui.auth import safe_next
from headwater.ui.web import PREFIX, Ui, UiRoute, person_message, redirect, render, signed_in

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(signed_in)]
PAGE = 25
_WIZARD_AAD = b"headwater-ui:wizard"


@router.get(PREFIX + "/dataflows", include_in_schema=False)
def dataflow_list(ui: UiDep, page: str | None = None) -> Response:
    result = flows.list_flows(
        ui.ctx,
        ui.tenant,
        ListRequest(orderby="-createdAt", limit=str(PAGE), continuation_token=page),
    )
    rows = [views.flow_row(ui, f) for f in result.items]
    return render(
        ui.request,
        "dataflows.html",
        {
            "rows": rows,
            "next_url": f"{PREFIX}/dataflows?page={result.next_token}" if result.next_token else "",
            "first_url": f"{PREFIX}/dataflows" if page else "",
        },
        ui=ui,
        nav="dataflows",
    )


# ---------------------------------------------------------------- the wizard


def _seal(ui: Ui, state: wizard.State) -> str:
    return sess.seal(ui.ctx.box, state, _WIZARD_AAD)


def _page(
    ui: Ui,
    state: wizard.State,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    step = wizard.step_named(ui, state, state["step"])
    state["step"] = step.key
    active = wizard.steps_for(ui, state)
    context = step.prepare(ui, state)
    return render(
        ui.request,
        "wizard.html",
        {
            "state": state,
            "sealed": _seal(ui, state),
            "step": step,
            "steps": active,
            "index": [s.key for s in active].index(step.key),
            "errors": errors or {},
            "message": message,
            "frequencies": wizard.FREQUENCIES,
            **context,
        },
        ui=ui,
        nav="dataflows",
        status=status,
    )


@router.get(PREFIX + "/dataflows/new", include_in_schema=False)
def wizard_start(
    ui: UiDep,
    account: str = "",
    table: Annotated[list[str] | None, Query()] = None,
) -> Response:
    state = wizard.new_state(ui, account, list(table or []))
    return _page(ui, state)


@router.post(PREFIX + "/dataflows/new", include_in_schema=False)
def wizard_step(ui: UiDep) -> Response:
    state = sess.unseal(ui.ctx.box, ui.field("wizard"), _WIZARD_AAD)
    if (
        state is None
        or state.get("org") != ui.tenant.org_id
        or state.get("sandbox") != ui.tenant.sandbox_name
    ):
        return _page(
            ui,
            wizard.new_state(ui, "", []),
            message="The wizard started over: its earlier answers were from another session or sandbox.",
        )
    step = wizard.step_named(ui, state, state["step"])
    action = ui.field("action", "next")
    errors = step.read(ui, state)
    if action == "back":
        state["step"] = wizard.neighbour(ui, state, step.key, -1).key
        return _page(ui, state)
    if errors:
        return _page(
            ui,
            state,
            errors=errors,
            status=400 if step.key != "source" or state["account"] else 200,
        )
    if action == "finish" and step.key == "review":
        return _finish(ui, state)
    if action.startswith("goto:"):
        state["step"] = wizard.step_named(ui, state, action[5:]).key
        return _page(ui, state)
    state["step"] = wizard.neighbour(ui, state, step.key, +1).key
    return _page(ui, state)


def _finish(ui: Ui, state: wizard.State) -> Response:
    """Create the datasets, source and target connections and one dataflow per table, through
    the same service calls as the API's POSTs."""
    account = connections.get_connection(ui.ctx, ui.tenant, state["account"])
    source_spec = account["connectionSpec"]["id"]
    flow_spec = wizard.flow_spec_for(source_spec)
    schedule = wizard.schedule_params(state["schedule"], ui.ctx.clock())
    options: dict[str, Any] = {"errorDiagnosticsEnabled": bool(state["options"]["diagnostics"])}
    if state["options"]["partial"]:
        options["partialIngestionPercent"] = float(state["options"]["threshold"])
    created: list[dict[str, str]] = []
    try:
        for table in state["tables"]:
            entry = state["datasets"][table]
            if entry["choice"] == "existing":
                ds_id = entry["id"]
            else:
                ds_id = datasets.create_dataset(
                    ui.ctx,
                    ui.tenant,
                    {
                        "name": entry["name"],
                        "description": f"{table} from {account.get('name')}",
                        "headwater": {
                            "writeMode": entry["writeMode"],
                            "deletedRecords": entry["deletedRecords"],
                        },
                    },
                )
            name = (
                state["name"]
                if len(state["tables"]) == 1
                else f"{state['name']}: {wizard.short(table)}"
            )
            src_id, _ = conns.create_source(
                ui.ctx,
                ui.tenant,
                {
                    "name": f"{name} (source)",
                    "baseConnectionId": account["id"],
                    "data": {"format": "tabular"},
                    "params": {"tableName": table},
                    "connectionSpec": {"id": source_spec, "version": "1.0"},
                },
            )
            tgt_id, _ = conns.create_target(
                ui.ctx,
                ui.tenant,
                {
                    "name": f"{name} (target)",
                    "data": {"format": "delta"},
                    "params": {"dataSetId": ds_id},
                    "connectionSpec": {"id": specs.DATA_LAKE_SPEC_ID, "version": "1.0"},
                },
            )
            flow_id, _ = flows.create_flow(
                ui.ctx,
                ui.tenant,
                {
                    "name": name,
                    "description": f"{table} into the lake, created in the Headwater UI",
                    "flowSpec": {"id": flow_spec["id"], "version": "1.0"},
                    "sourceConnectionIds": [src_id],
                    "targetConnectionIds": [tgt_id],
                    "transformations": [],
                    "scheduleParams": schedule,
                    "options": options,
                },
            )
            created.append({"id": flow_id, "name": name, "table": table, "dataset": ds_id})
    except ServiceError as exc:
        return _page(
            ui,
            state,
            message=("Not everything was created: " if created else "Nothing was created: ")
            + person_message(exc),
            status=400,
        )
    secret = None
    if state["webhook"]:
        _, _, secret = webhooks.create_webhook(
            ui.ctx,
            ui.tenant,
            {
                "name": f"Alerts: {state['name']}",
                "description": "Run failures in this sandbox, set up with a dataflow in the UI",
                "url": state["webhook"],
                "events": wizard.ALERT_EVENTS,
            },
        )
    if len(created) == 1 and secret is None:
        return redirect(
            ui,
            f"{PREFIX}/monitoring/{created[0]['id']}",
            flash=f"Dataflow “{created[0]['name']}” was created.",
        )
    return render(
        ui.request,
        "dataflow_created.html",
        {"created": created, "secret": secret, "webhook": state["webhook"]},
        ui=ui,
        nav="dataflows",
    )


# ---------------------------------------------------------------- actions

ACTION_WORDS = {
    "enable": "The dataflow is enabled.",
    "disable": "The dataflow is disabled; queued runs were cancelled.",
    "run": "A run was queued; it starts as soon as a worker is free.",
}


@router.post(PREFIX + "/dataflows/{flow_id}/{action}", include_in_schema=False)
def act(flow_id: str, action: str, ui: UiDep) -> Response:
    back = safe_next(ui.field("back") or f"{PREFIX}/monitoring/{flow_id}")
    try:
        if action in ACTION_WORDS:
            flows.act(ui.ctx, ui.tenant, flow_id, action)
            flash = ACTION_WORDS[action]
        elif action == "full-refresh":
            run = runs.create_adhoc_run(
                ui.ctx, ui.tenant, {"flowId": flow_id, "params": {"mode": "full"}}
            )
            return redirect(
                ui,
                f"{PREFIX}/runs/{run['id']}",
                flash="A full refresh was queued: it reads every row again.",
            )
        elif action == "delete":
            flow = flows.get_flow(ui.ctx, ui.tenant, flow_id)
            flows.delete_flow(ui.ctx, ui.tenant, flow_id)
            return redirect(
                ui, f"{PREFIX}/dataflows", flash=f"Dataflow “{flow.get('name')}” was deleted."
            )
        else:
            return redirect(ui, back, flash=f"Unknown action “{action}”.")
    except ServiceError as exc:
        if exc.http_status == 404:
            raise
        return redirect(ui, back, flash=person_message(exc))
    return redirect(ui, back, flash=flash)
