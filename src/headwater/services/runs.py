"""Flow runs: enqueueing, Adobe-shaped rendering with metrics and activities, listing, ad-hoc runs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from headwater.domain import specs
from headwater.domain.filters import parse_filter
from headwater.domain.ids import new_etag, new_id
from headwater.domain.paging import decode_token
from headwater.domain.runs import RunStatus, read_run_params
from headwater.errors import (
    FieldError,
    FilterError,
    InvalidRequestError,
    InvalidTransitionError,
    ValidationError,
)
from headwater.services import documents, run_documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.dataflow_connections import SOURCE, source_params
from headwater.services.listing import ListRequest, ListResult, list_documents
from headwater.store import runs as store
from headwater.store.runs import RunRow

KIND = "runs"
FIELDS = documents.METADATA_FIELDS | {
    "id",
    "flowId",
    "flowSpec",
    "state",
    "status",
    "params",
    "metrics",
    "activities",
    "providerRefId",
    "trigger",
    "attempt",
}


def enqueue(
    ctx: ServiceContext,
    tenant: Tenant,
    flow: dict[str, Any],
    *,
    trigger: str,
    scheduled_for: int,
    window_start: int | None,
    window_end: int | None,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
) -> str | None:
    """Queue a run of ``flow``; None when the same window was queued already (idempotent)."""
    now = ctx.clock()
    run_id = new_id()
    sources = flow["inheritedAttributes"]["sourceConnections"]
    portal_key = sources[0]["baseConnection"]["id"] if sources else ""
    who = f"{tenant.client_id}@AdobeID"
    run_params = dict(params or {})
    if window_start is not None:
        run_params.setdefault("windowStartTime", str(window_start))
    if window_end is not None:
        run_params.setdefault("windowEndTime", str(window_end))
    for t in flow.get("transformations", []):
        if t["name"] == "Copy" and "deltaColumn" in t["params"]:
            run_params.setdefault("deltaColumn", {"name": t["params"]["deltaColumn"]["name"]})
    doc = {
        "createdBy": who,
        "updatedBy": who,
        "createdClient": tenant.client_id,
        "updatedClient": tenant.client_id,
        "sandboxId": tenant.sandbox_id,
        "flowSpec": flow["flowSpec"],
        "providerRefId": run_id,
        "params": run_params,
        "metrics": run_documents.empty_metrics(RunStatus.SCHEDULED),
        "activities": [],
    }
    row = RunRow(
        id=run_id,
        flow_id=flow["id"],
        org_id=tenant.org_id,
        sandbox_name=tenant.sandbox_name,
        status=RunStatus.SCHEDULED,
        dedupe_key=dedupe_key,
        portal_key=portal_key,
        trigger=trigger,
        scheduled_for=scheduled_for,
        window_start=window_start,
        window_end=window_end,
        attempt=0,
        lease_owner=None,
        lease_expires_at=None,
        started_at=None,
        completed_at=None,
        created_at=now,
        updated_at=now,
        etag=new_etag(),
        doc=doc,
        checkpoint=None,
    )
    with ctx.engine.begin() as conn:
        created = store.create_run(conn, run=row)
    return run_id if created else None


def render(row: RunRow) -> dict[str, Any]:
    return _render_owned(RunRow(**{**_fields(row), "doc": copy.deepcopy(row.doc)}))


def _fields(row: RunRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in RunRow.__slots__}


def _render_owned(row: RunRow) -> dict[str, Any]:
    """:func:`render` for a row read just for this answer: its document is used in place
    (copying every run's document dominated the cost of listing a flow's runs)."""
    doc = row.doc
    state = run_documents.wire_status(row.status)
    metrics = doc.setdefault("metrics", run_documents.empty_metrics(row.status))
    metrics.setdefault("statusSummary", {})["status"] = state
    if row.started_at is not None:
        metrics.setdefault("durationSummary", {})["startedAtUTC"] = row.started_at
    if row.completed_at is not None:
        metrics["durationSummary"]["completedAtUTC"] = row.completed_at
    return {
        "id": row.id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "createdBy": doc.pop("createdBy", None),
        "updatedBy": doc.pop("updatedBy", None),
        "createdClient": doc.pop("createdClient", None),
        "updatedClient": doc.pop("updatedClient", None),
        "sandboxId": doc.pop("sandboxId", None),
        "sandboxName": row.sandbox_name,
        "imsOrgId": row.org_id,
        "flowId": row.flow_id,
        "state": state,
        "trigger": row.trigger,
        "attempt": row.attempt,
        "scheduledAt": row.scheduled_for,
        **doc,
        "etag": row.etag,
        "version": row.etag,
    }


def _rows(
    ctx: ServiceContext, tenant: Tenant, flow_id: str | None = None, since: int | None = None
) -> list[RunRow]:
    with ctx.engine.connect() as conn:
        return store.read_runs(
            conn,
            org_id=tenant.org_id,
            sandbox_name=tenant.sandbox_name,
            flow_id=flow_id,
            created_since=since,
        )


def _narrowing(request: ListRequest) -> tuple[str | None, int | None]:
    """``flowId==<id>`` and ``createdAt>=<ms>`` (or ``>``) filters, also inside a continuation
    token, so the query reads only those runs instead of every run of the sandbox. The filters
    are still applied to what it reads."""
    raw = decode_token(request.continuation_token).filters if request.continuation_token else None
    flow_id, since = None, None
    for text in raw if raw is not None else request.properties:
        try:
            f = parse_filter(text, fields=FIELDS)
        except FilterError:
            return None, None  # list_documents reports it
        if len(f.values) != 1:
            continue
        if f.path == "flowId" and f.op == "==":
            flow_id = f.values[0]
        elif f.path == "createdAt" and f.op in (">=", ">") and f.values[0].isdigit():
            since = max(since or 0, int(f.values[0]))
    return flow_id, since


def get_run(ctx: ServiceContext, tenant: Tenant, run_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = store.read_run(conn, run_id=run_id)
    if row is None or row.org_id != tenant.org_id or row.sandbox_name != tenant.sandbox_name:
        raise documents.not_found(KIND, run_id)
    return _render_owned(row)


def list_runs(ctx: ServiceContext, tenant: Tenant, request: ListRequest) -> ListResult:
    return list_documents(
        ctx,
        tenant,
        kind=KIND,
        request=request,
        fields=FIELDS,
        render=documents.plain_render,
        loader=lambda: [_render_owned(r) for r in _rows(ctx, tenant, *_narrowing(request))],
    )


def create_adhoc_run(ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /runs``. Adobe allows it only for flows scheduled with frequency ``once``; beyond
    Adobe, a run whose ``params.mode`` is given (``full``: a reset; ``incremental``) may be
    queued for any enabled flow, for every table or for those in ``params.tables``."""
    flow_id = body.get("flowId")
    if not isinstance(flow_id, str) or not flow_id:
        raise ValidationError("flowId is required", details=[FieldError("flowId", "is required")])
    params = body.get("params") or {}
    wanted = read_run_params(params)
    flow = documents.load(ctx, tenant, "flows", flow_id).doc
    if flow.get("scheduleParams", {}).get("frequency") != "once" and "mode" not in params:
        raise InvalidRequestError(
            "ad-hoc runs are allowed only for flows scheduled with frequency 'once'; "
            "use POST /flows/{id}/action?op=run to run any enabled flow now, or give "
            'params.mode ("full" re-reads every row)'
        )
    if flow.get("state") != "enabled":
        raise InvalidRequestError(f"flow {flow_id} is {flow.get('state')}; enable it first")
    if wanted.tables is not None:
        have = set(flow_tables(ctx, tenant, flow))
        missing = sorted(wanted.tables - have)
        if missing:
            raise ValidationError(
                f"flow {flow_id} does not read {', '.join(missing)}; it reads "
                f"{', '.join(sorted(have))}",
                details=[
                    FieldError("params.tables", f"{t} is not a table of the flow") for t in missing
                ],
            )
    flow_spec = specs.flow_spec(flow["flowSpec"]["id"])
    assert flow_spec is not None
    run_id = enqueue(
        ctx,
        tenant,
        flow,
        trigger="adhoc",
        scheduled_for=ctx.clock(),
        window_start=None,
        window_end=None,
        dedupe_key=f"{flow_id}:adhoc:{new_id()}",
        params=params,
    )
    assert run_id is not None
    return get_run(ctx, tenant, run_id)


def flow_tables(ctx: ServiceContext, tenant: Tenant, flow: dict[str, Any]) -> list[str]:
    """The source tables a flow reads (one per source connection)."""
    tables = []
    for sid in flow.get("sourceConnectionIds", []):
        src = documents.load(ctx, tenant, SOURCE, sid).doc
        tables.append(source_params(src).table)
    return tables


@dataclass(slots=True)
class RecentRuns:
    """A dataflow's runs since some time, summed for an overview."""

    read: int = 0
    written: int = 0
    finished: int = 0
    #: the newest run in progress: (id, updated at)
    running: tuple[str, int] | None = None
    #: when the queued runs are due
    queued: list[int] = field(default_factory=list)


def recent_runs(
    ctx: ServiceContext, tenant: Tenant, flow_ids: list[str], *, since_ms: int
) -> dict[str, RecentRuns]:
    """Per dataflow, its runs created since ``since_ms`` summed (records read and written,
    finished runs, the run in progress, the queued ones), in one query for all of them."""
    with ctx.engine.connect() as conn:
        facts = store.read_run_facts(
            conn,
            org_id=tenant.org_id,
            sandbox_name=tenant.sandbox_name,
            flow_ids=flow_ids,
            created_since=since_ms,
        )
    out = {f: RecentRuns() for f in flow_ids}
    for fact in facts:
        summary = out[fact.flow_id]
        summary.read += fact.records_in
        summary.written += fact.records_out
        if fact.status.terminal:
            summary.finished += 1
        elif fact.status is RunStatus.IN_PROGRESS and summary.running is None:
            summary.running = (fact.id, fact.updated_at)
        elif fact.status is RunStatus.SCHEDULED:
            summary.queued.append(fact.scheduled_for)
    return out


def act(ctx: ServiceContext, tenant: Tenant, run_id: str, op: str | None) -> dict[str, Any]:
    """``POST /runs/{id}/action?op=RE_TRIGGER``: run a failed run's flow again over the same
    window (a new run, which reads on from the flow's committed cursor); the new run."""
    if (op or "").strip().upper() != "RE_TRIGGER":
        raise InvalidRequestError(f"op must be RE_TRIGGER, not '{op}'")
    with ctx.engine.connect() as conn:
        row = store.read_run(conn, run_id=run_id)
    if row is None or row.org_id != tenant.org_id or row.sandbox_name != tenant.sandbox_name:
        raise documents.not_found(KIND, run_id)
    if row.status is not RunStatus.FAILED:
        raise InvalidTransitionError(
            f"action RE_TRIGGER cannot be applied on the current state "
            f"{run_documents.wire_status(row.status)}; only failed runs are re-triggered"
        )
    flow = documents.load(ctx, tenant, "flows", row.flow_id).doc
    if flow.get("state") != "enabled":
        raise InvalidTransitionError(f"flow {row.flow_id} is {flow.get('state')}; enable it first")
    new_run = enqueue(
        ctx,
        tenant,
        flow,
        trigger="retrigger",
        scheduled_for=ctx.clock(),
        window_start=row.window_start,
        window_end=row.window_end,
        dedupe_key=f"{row.flow_id}:retrigger:{run_id}:{new_id()}",
        params=dict(row.doc.get("params") or {}),
    )
    assert new_run is not None
    return get_run(ctx, tenant, new_run)
