"""The dataflow wizard's steps, as data: each reads its fields into the wizard state.

A step can be inserted (the mapping step does when mapping sets exist) by adding a :class:`Step`
with an ``applies`` predicate; the pages, the step list and back/next follow the list."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.domain import specs
from headwater.errors import NotFoundError, SyncError, ValidationError
from headwater.services import connection_specs, connections, datasets, flows, sources
from headwater.services.listing import ListRequest
from headwater.ui import forms
from headwater.ui.web import Ui

State = dict[str, Any]
FREQUENCIES = (
    ("once", "Once"),
    ("minute", "Every N minutes"),
    ("hour", "Every N hours"),
    ("day", "Every N days"),
    ("week", "Every N weeks"),
)
UNITS = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}
ALERT_EVENTS = ["flow.run.failed", "flow.run.partially_succeeded"]


def _always(_ui: Ui, _state: State) -> bool:
    return True


def _nothing(_ui: Ui, _state: State) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    template: str
    read: Callable[[Ui, State], dict[str, str]]
    prepare: Callable[[Ui, State], dict[str, Any]] = _nothing
    applies: Callable[[Ui, State], bool] = _always


def new_state(ui: Ui, account: str, tables: list[str]) -> State:
    return {
        "org": ui.tenant.org_id,
        "sandbox": ui.tenant.sandbox_name,
        "step": "source",
        "account": account,
        "tables": tables,
        "name": "",
        "datasets": {},
        "schedule": {
            "frequency": "once",
            "interval": "1",
            "start": "",
            "offset": "0",
            "backfill": True,
        },
        "options": {"diagnostics": False, "partial": False, "threshold": "5"},
        "webhook": "",
    }


def short(table: str) -> str:
    return table.split(".", 1)[-1]


def default_dataset_name(table: str) -> str:
    prefix, _, rest = table.partition(".")
    return f"{prefix}_{rest}".lower() if rest else table.lower()


# ---------------------------------------------------------------- step 1: account and tables


def _accounts(ui: Ui) -> list[dict[str, Any]]:
    result = connections.list_connections(
        ui.ctx, ui.tenant, ListRequest(orderby="-createdAt", limit="100")
    )
    out = []
    for doc in result.items:
        spec = connection_specs.connection_spec(doc["connectionSpec"]["id"]) or {}
        if spec.get("sourceSpec"):
            out.append(
                {
                    "id": doc["id"],
                    "name": doc.get("name") or doc["id"],
                    "source": forms.display_name(spec),
                }
            )
    return out


def _prepare_source(ui: Ui, state: State) -> dict[str, Any]:
    tables: list[dict[str, Any]] = []
    error = ""
    if state["account"]:
        try:
            tables = list(
                sources.explore_cached(ui.ctx, ui.tenant, state["account"], object_type="root")
            )
        except SyncError as exc:
            error = f"Headwater could not list this account's tables: {exc.message}"
    return {"accounts": _accounts(ui), "tables": tables, "explore_error": error}


def _read_source(ui: Ui, state: State) -> dict[str, str]:
    account = ui.field("account")
    if account != state["account"]:
        state["account"] = account
        state["tables"] = []
        state["datasets"] = {}
        return (
            {"tables": "Now pick the tables to bring in."}
            if account
            else {"account": "Choose an account."}
        )
    state["tables"] = ui.fields("table")
    if not account:
        return {"account": "Choose an account."}
    if not state["tables"]:
        return {"tables": "Tick at least one table."}
    connections.get_connection(ui.ctx, ui.tenant, account)  # 404 page when it is gone
    return {}


# ---------------------------------------------------------------- step 2: name and datasets


def _existing(ui: Ui) -> list[dict[str, Any]]:
    docs = datasets.list_datasets(ui.ctx, ui.tenant, limit=100, start=0, name=None)
    return [
        {
            "id": d["id"],
            "name": d["name"],
            "mode": (d.get("headwater") or {}).get("writeMode", "merge"),
        }
        for d in docs.values()
    ]


def _prepare_datasets(ui: Ui, state: State) -> dict[str, Any]:
    for table in state["tables"]:
        state["datasets"].setdefault(
            table,
            {
                "choice": "new",
                "name": default_dataset_name(table),
                "id": "",
                "writeMode": "merge",
                "deletedRecords": "delete",
            },
        )
    if not state["name"]:
        names = ", ".join(short(t) for t in state["tables"])
        state["name"] = f"{_source(ui, state)[1]} {names.lower()}"[:120]
    return {"existing": _existing(ui), "short": short}


def _read_datasets(ui: Ui, state: State) -> dict[str, str]:
    errors: dict[str, str] = {}
    state["name"] = ui.field("name")
    if not state["name"]:
        errors["name"] = "Give the dataflow a name."
    existing = {d["id"]: d for d in _existing(ui)}
    taken = {d["name"] for d in existing.values()}
    chosen_names: set[str] = set()
    for i, table in enumerate(state["tables"]):
        entry = {
            "choice": ui.field(f"ds{i}_choice", "new"),
            "name": ui.field(f"ds{i}_name"),
            "id": ui.field(f"ds{i}_id"),
            "writeMode": ui.field(f"ds{i}_mode", "merge"),
            "deletedRecords": ui.field(f"ds{i}_deletes", "delete"),
        }
        if entry["writeMode"] not in datasets.WRITE_MODES:
            entry["writeMode"] = "merge"
        if entry["deletedRecords"] not in datasets.DELETE_MODES:
            entry["deletedRecords"] = "delete"
        state["datasets"][table] = entry
        if entry["choice"] == "existing":
            if entry["id"] not in existing:
                errors[f"ds{i}_id"] = "Choose one of the existing datasets."
        elif not entry["name"]:
            errors[f"ds{i}_name"] = "Name the new dataset."
        elif entry["name"] in taken or entry["name"] in chosen_names:
            errors[f"ds{i}_name"] = (
                f"A dataset named “{entry['name']}” exists already: pick another name or choose it as an existing dataset."
            )
        chosen_names.add(entry["name"])
    return errors


# ---------------------------------------------------------------- step 3: schedule


def start_epoch(schedule: dict[str, Any], now_ms: int) -> int:
    """The start as epoch seconds: the browser's local time and its UTC offset, or now."""
    text = str(schedule.get("start") or "").strip()
    if not text:
        return now_ms // 1000
    local = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    offset = int(str(schedule.get("offset") or "0"))
    return int((local - timedelta(minutes=offset)).timestamp())


def schedule_params(schedule: dict[str, Any], now_ms: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "startTime": start_epoch(schedule, now_ms),
        "frequency": schedule["frequency"],
    }
    if schedule["frequency"] != "once":
        params["interval"] = schedule.get("interval") or "1"
        params["backfill"] = bool(schedule.get("backfill"))
    return params


def _source(ui: Ui, state: State) -> tuple[str, str]:
    """The chosen account's connection-spec id and the source's title (``""`` and ``Source``
    when the account is gone: the last step says so)."""
    try:
        account = connections.get_connection(ui.ctx, ui.tenant, state["account"])
    except NotFoundError:
        return "", "Source"
    spec_id = str(account["connectionSpec"]["id"])
    return spec_id, sources.source_title(spec_id) or "Source"


def flow_spec_for(source_spec_id: str) -> dict[str, Any]:
    for f in specs.flow_specs():
        if (
            source_spec_id in f["sourceConnectionSpecIds"]
            and specs.DATA_LAKE_SPEC_ID in f["targetConnectionSpecIds"]
        ):
            return f
    raise ValidationError("no flow spec moves this source into the lake")


def _read_schedule(ui: Ui, state: State) -> dict[str, str]:
    s = state["schedule"]
    s["frequency"] = ui.field("frequency", "once")
    if s["frequency"] not in dict(FREQUENCIES):
        s["frequency"] = "once"
    s["interval"] = ui.field("interval", "1")
    s["start"] = ui.field("start")
    s["offset"] = ui.field("tz_offset", "0") or "0"
    s["backfill"] = ui.field("backfill") == "on"
    errors: dict[str, str] = {}
    try:
        params = schedule_params(s, ui.ctx.clock())
    except ValueError:
        return {"start": "Enter a date and time, or leave it empty to start now."}
    try:
        flows.normalize_schedule(flow_spec_for(_source(ui, state)[0]), params)
    except ValidationError as exc:
        for d in exc.details:
            key = d["field"].rsplit(".", 1)[-1]
            errors["start" if key == "startTime" else key] = d["message"]
    return errors


# ---------------------------------------------------------------- step 4: errors and alerts


def _read_alerts(ui: Ui, state: State) -> dict[str, str]:
    o = state["options"]
    o["diagnostics"] = ui.field("diagnostics") == "on"
    o["partial"] = ui.field("partial") == "on"
    o["threshold"] = ui.field("threshold", "5")
    state["webhook"] = ui.field("webhook")
    errors: dict[str, str] = {}
    if o["partial"]:
        try:
            value = float(o["threshold"])
        except ValueError:
            value = -1
        if not 0 < value <= 100:
            errors["threshold"] = "Enter a percentage above 0 and at most 100."
    if state["webhook"]:
        parts = urllib.parse.urlsplit(state["webhook"])
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            errors["webhook"] = "Enter a full http:// or https:// address, or leave it empty."
    return errors


# ---------------------------------------------------------------- step 5: review


def _read_review(_ui: Ui, _state: State) -> dict[str, str]:
    return {}


def describe_schedule(schedule: dict[str, Any]) -> str:
    freq = schedule.get("frequency")
    if freq == "once":
        return "Once"
    n = schedule.get("interval") or "1"
    unit = UNITS.get(str(freq), str(freq))
    return f"Every {n} {unit[:-1] if str(n) == '1' else unit}"


def _prepare_review(ui: Ui, state: State) -> dict[str, Any]:
    return {
        "start_ms": start_epoch(state["schedule"], ui.ctx.clock()) * 1000,
        "schedule_text": describe_schedule(state["schedule"]),
        "short": short,
        "existing": {d["id"]: d for d in _existing(ui)},
    }


STEPS: list[Step] = [
    Step("source", "Account and tables", "wizard_source.html", _read_source, _prepare_source),
    Step(
        "datasets", "Name and datasets", "wizard_datasets.html", _read_datasets, _prepare_datasets
    ),
    Step("schedule", "Schedule", "wizard_schedule.html", _read_schedule),
    Step("alerts", "Errors and alerts", "wizard_alerts.html", _read_alerts),
    Step("review", "Review", "wizard_review.html", _read_review, _prepare_review),
]


def steps_for(ui: Ui, state: State) -> list[Step]:
    return [s for s in STEPS if s.applies(ui, state)]


def step_named(ui: Ui, state: State, key: str) -> Step:
    active = steps_for(ui, state)
    return next((s for s in active if s.key == key), active[0])


def neighbour(ui: Ui, state: State, key: str, delta: int) -> Step:
    active = steps_for(ui, state)
    keys = [s.key for s in active]
    i = keys.index(key) if key in keys else 0
    return active[max(0, min(len(active) - 1, i + delta))]
