"""What a run will do, decided once before it starts: the typed :class:`RunPlan` the engine
executes, built by :func:`plan_run` from the flow, its source and target connections, the dataset
and the flow's committed cursor.

The engine never reads a Flow Service document: everything it needs is a field here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pyarrow as pa
from sqlalchemy.engine import Connection

from headwater.connectors.base import CursorState, ReadMode
from headwater.domain.runs import read_run_params
from headwater.errors import NotFoundError, ValidationError
from headwater.lake import DeleteMode, TableRef, WriteMode, WriteOptions
from headwater.services import run_mapping
from headwater.services.context import ServiceContext, Tenant
from headwater.services.dataflow_connections import SOURCE, TARGET, source_params
from headwater.services.datasets import KIND as DATASETS
from headwater.services.flows import KIND as FLOWS
from headwater.services.run_steps import (
    DELETED_COLUMN,
    Applied,
    ErrorPolicy,
    FailedRecord,
    Transformation,
)
from headwater.store import resources as resource_store
from headwater.store import runs as run_store
from headwater.store.resources import StoredResource
from headwater.store.runs import RunRow

__all__ = [
    "DELETED_COLUMN",
    "Applied",
    "Cursor",
    "ErrorPolicy",
    "FailedRecord",
    "RunPlan",
    "SourceTable",
    "Transformation",
    "WritePolicy",
]

#: In history mode, the source column whose value becomes ``_valid_from`` when present.
VALID_FROM_SOURCE_COLUMN = "Updated_At"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceTable:
    """The table a run reads and the base connection it reads it through."""

    base_connection_id: str
    source_connection_ids: tuple[str, ...]
    #: the source's table name (``<Source>.<Table>``); also the stream the cursor is kept under
    table: str
    #: the selected columns (``params.columns``); ``None`` reads every column
    columns: tuple[str, ...] | None = None
    #: ``full`` re-reads every row (a reset); ``auto`` lets the connector choose
    mode: ReadMode = "auto"
    #: the flow's read options (``SourceParams.options``)
    options: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class WritePolicy:
    """How the dataset takes the data (chosen by the dataset); the source adds its key."""

    mode: WriteMode
    on_delete: DeleteMode
    deleted_column: str = DELETED_COLUMN

    def options(self, *, primary_key: tuple[str, ...], schema: pa.Schema) -> WriteOptions:
        """The lake's write options for a table with this key and (staged) schema."""
        history = self.mode is WriteMode.HISTORY and VALID_FROM_SOURCE_COLUMN in schema.names
        return WriteOptions(
            primary_key=primary_key,
            mode=self.mode,
            deleted_column=self.deleted_column,
            on_delete=self.on_delete,
            valid_from_column=VALID_FROM_SOURCE_COLUMN if history else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """Where reading starts (states are the connector's own JSON, see ``CursorState``)."""

    #: the state the flow's last committed run left for this stream
    committed: CursorState | None = None
    #: the state of a first run that must not backfill (the schedule's start time)
    initial: CursorState | None = None

    @property
    def start(self) -> CursorState | None:
        return self.committed if self.committed is not None else self.initial


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPlan:
    run_id: str
    flow_id: str
    attempt: int
    tenant: Tenant
    window_start: int | None
    window_end: int | None
    source: SourceTable
    target_connection_ids: tuple[str, ...]
    dataset_id: str
    table: TableRef
    write: WritePolicy
    cursor: Cursor
    transformations: tuple[Transformation, ...] = ()
    errors: ErrorPolicy = field(default_factory=ErrorPolicy)

    @property
    def stream(self) -> str:
        """The name the cursor is committed under."""
        return self.source.table


def _read(conn: Connection, kind: str, res_id: str, run: RunRow) -> StoredResource:
    res = resource_store.read_resource(
        conn, kind=kind, res_id=res_id, org_id=run.org_id, sandbox_name=run.sandbox_name
    )
    if res is None:
        raise NotFoundError(
            f"{kind} {res_id} no longer exists", resource_id=res_id, resource_type=kind
        )
    return res


def initial_cursor(schedule: Mapping[str, Any]) -> dict[str, Any] | None:
    """A recurring flow created with ``backfill: false`` starts at its ``startTime``."""
    if schedule.get("frequency") != "once" and schedule.get("backfill") == "false":
        return {"v": 1, "cursor_ms": int(schedule["startTime"]) * 1000}
    return None


def plan_run(ctx: ServiceContext, run: RunRow) -> RunPlan:
    """Read the run's flow, source and target connections, dataset and committed cursor (in one
    database connection) and decide what the run does; ``NotFoundError`` if one is gone. A
    ``Mapping`` transformation becomes a step (its mapping set and target schema are read
    after)."""
    with ctx.engine.connect() as conn:
        flow = _read(conn, FLOWS, run.flow_id, run).doc
        source_ids = tuple(flow.get("sourceConnectionIds", []))
        target_ids = tuple(flow.get("targetConnectionIds", []))
        src = _read(conn, SOURCE, flow["sourceConnectionIds"][0], run).doc
        tgt = _read(conn, TARGET, flow["targetConnectionIds"][0], run).doc
        ds_id = tgt["params"]["dataSetId"]
        dataset = _read(conn, DATASETS, ds_id, run).doc
        selected = source_params(src)
        committed = run_store.read_flow_state(conn, flow_id=run.flow_id).get(selected.table)
    options = dataset["headwater"]
    try:
        mode = read_run_params(run.doc.get("params")).mode_for(selected.table)
    except ValidationError:  # a run queued before its params were checked reads as it may
        mode = "auto"
    tenant = Tenant(
        org_id=run.org_id,
        sandbox_name=run.sandbox_name,
        sandbox_id=flow.get("sandboxId", ""),
        client_id=flow.get("createdClient", ""),
    )
    return RunPlan(
        run_id=run.id,
        flow_id=run.flow_id,
        attempt=run.attempt,
        tenant=tenant,
        window_start=run.window_start,
        window_end=run.window_end,
        source=SourceTable(
            base_connection_id=src["baseConnectionId"],
            source_connection_ids=source_ids,
            table=selected.table,
            columns=selected.columns,
            mode=cast(ReadMode, mode),
            options=selected.options,
        ),
        target_connection_ids=target_ids,
        dataset_id=ds_id,
        table=TableRef(run.org_id, run.sandbox_name, ds_id),
        write=WritePolicy(
            mode=WriteMode(options["writeMode"]), on_delete=DeleteMode(options["deletedRecords"])
        ),
        cursor=Cursor(committed=committed, initial=initial_cursor(flow.get("scheduleParams", {}))),
        transformations=run_mapping.mapping_steps(ctx, tenant, flow, tgt, dataset, src),
        errors=run_mapping.error_policy(flow),
    )
