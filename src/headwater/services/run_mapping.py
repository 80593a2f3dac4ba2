"""A flow's ``Mapping`` transformation in the run: the Data Prep mapping set it names, applied to
every batch before staging, so the dataset's Delta table follows the target XDM schema.

The plan (:func:`mapping_steps`) reads the mapping set (at the flow's ``mappingVersion``) and
resolves the target schema once; the step compiles the set against the source's live columns
(``MappingRunError`` when they no longer fit) and applies it batch by batch. A record that fails
a mapping fails alone: the step returns it as a :class:`~headwater.services.run_plans.FailedRecord`
with its errors (code, message, column) and the raw row.

The target schema is the dataset's ``schemaRef``, else the target connection's ``data.schema``,
else the mapping set's output schema; a mapping set whose output schema is another schema is
refused. The merge key is the XDM field the source key maps to (``Vid``/``Id`` → ``_id``); it
must be a top-level field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from headwater import mapping
from headwater.errors import (
    FieldError,
    MappingRunError,
    MappingSetInvalidError,
    NotFoundError,
    SyncError,
    ValidationError,
)
from headwater.mapping import MappingError, MappingIssue, MappingSet
from headwater.services import documents, mappings, schemas, sources
from headwater.services.context import ServiceContext, Tenant
from headwater.services.dataflow_connections import source_params
from headwater.services.run_steps import DELETED_COLUMN, Applied, ErrorPolicy, FailedRecord

__all__ = ["MappingStep", "check_flow", "error_policy", "mapping_steps", "validate_options"]

MAPPING = "Mapping"


def _version(params: Mapping[str, Any]) -> int | None:
    raw = params.get("mappingVersion")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValidationError(
            f"mappingVersion must be a number, not '{raw}'",
            details=[FieldError("transformations.params.mappingVersion", "must be a number")],
        ) from None


class MappingStep:
    """The ``Mapping`` transformation of one run (see the module docstring)."""

    name = MAPPING

    def __init__(
        self,
        *,
        mapping_id: str,
        version: int,
        entries: Sequence[Mapping[str, Any]],
        output: pa.Schema,
        deleted_column: str = DELETED_COLUMN,
        source_spec_id: str | None = None,
    ) -> None:
        self.mapping_id = mapping_id
        #: the source's connection spec, whose column aliases apply
        self.source_spec_id = source_spec_id
        self.version = version
        self.entries = list(entries)
        self.output = output
        self.deleted_column = deleted_column
        self._compiled: tuple[pa.Schema, MappingSet] | None = None

    def compiled(self, schema: pa.Schema) -> MappingSet:
        if self._compiled is not None and self._compiled[0].equals(schema):
            return self._compiled[1]
        inp, aliases = mappings.aliases_for(schema, self.source_spec_id)
        try:
            ms = mapping.compile_set(
                self.entries, input_schema=inp, output_schema=self.output, aliases=aliases
            )
        except MappingError as exc:
            raise MappingRunError(
                f"mapping set {self.mapping_id} (version {self.version}) does not fit the "
                f"source any more: {_listing(exc.issues)}"
            ) from None
        self._compiled = (schema, ms)
        return ms

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        self.compiled(schema)
        if schema.get_field_index(self.deleted_column) >= 0:
            return self.output.append(pa.field(self.deleted_column, pa.bool_()))
        return self.output

    def output_key(self, schema: pa.Schema, key: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return key_destinations(self.compiled(schema), key)
        except ValueError as exc:
            raise MappingRunError(str(exc)) from None

    def apply(self, batch: pa.RecordBatch, constants: Mapping[str, str]) -> Applied:
        result = self.compiled(batch.schema).apply(batch, constants=constants)
        table = result.table
        failed_rows = sorted({e.row for e in result.errors})
        flag_at = batch.schema.get_field_index(self.deleted_column)
        if flag_at >= 0:
            flags = batch.column(flag_at)
            if failed_rows:
                bad = set(failed_rows)
                keep = pa.array([i for i in range(batch.num_rows) if i not in bad], pa.int64())
                flags = flags.take(keep)
            table = table.append_column(pa.field(self.deleted_column, pa.bool_()), [flags])
        out = table.combine_chunks().to_batches()
        good = out[0] if out else pa.RecordBatch.from_pylist([], schema=table.schema)
        by_row: dict[int, list[dict[str, Any]]] = {}
        raws: dict[int, dict[str, Any]] = {}
        for e in result.errors:
            raws.setdefault(e.row, e.raw)
            by_row.setdefault(e.row, []).append(
                {
                    "code": e.code,
                    "message": e.message,
                    "columnName": e.column,
                    "destination": e.destination,
                }
            )
        failed = tuple(FailedRecord(raws[r], tuple(by_row[r])) for r in failed_rows)
        return Applied(good, failed)


def _listing(issues: Sequence[MappingIssue]) -> str:
    return "; ".join(
        f"mappings[{i.index}] ({i.source} → {i.destination}): {i.message}" for i in issues
    )


def key_destinations(ms: MappingSet, key: tuple[str, ...]) -> tuple[str, ...]:
    """The output columns the source key columns are mapped to (plain attribute mappings)."""
    out = []
    for column in key:
        dests = [
            t.entry.destination
            for t in ms.targets
            if t.entry.kind == "ATTRIBUTE" and t.columns == (column,)
        ]
        if not dests:
            raise ValueError(
                f"the mapping set does not map the source key {column}; map it to a top-level "
                "field of the schema (Adobe's tutorial maps Vid to _id)"
            )
        top = [d for d in dests if "." not in d]
        if not top:
            raise ValueError(
                f"the source key {column} is mapped to {dests[0]}; the merge key must be a "
                "top-level field of the schema (such as _id)"
            )
        out.append(top[0])
    return tuple(out)


# ------------------------------------------------------------------ flow documents


def _mapping_params(
    transformations: Sequence[Mapping[str, Any]],
) -> tuple[int, Mapping[str, Any]] | None:
    for i, t in enumerate(transformations):
        if t.get("name") == MAPPING:
            return i, t.get("params") or {}
    return None


def target_ref(
    ctx: ServiceContext,
    tenant: Tenant,
    dataset: Mapping[str, Any],
    target: Mapping[str, Any],
    mapping_set: Mapping[str, Any],
) -> schemas.ResolvedSchema | None:
    """The target XDM schema (see the module docstring); ``ValidationError`` when the mapping
    set writes another schema than the dataset's."""
    ref: Any = dataset.get("schemaRef")
    where = "dataset schemaRef"
    if not (isinstance(ref, dict) and ref.get("id")):
        schema = (target.get("data") or {}).get("schema")
        ref = schema if isinstance(schema, dict) and schema.get("id") else None
        where = "target connection data.schema"
    set_ref = mappings.output_ref(dict(mapping_set))
    if ref is None:
        ref, where = set_ref, "mapping set outputSchema"
    if ref is None:
        return None
    try:
        resolved = schemas.resolve_schema(ctx, tenant, ref)
    except NotFoundError as exc:
        raise ValidationError(
            f"the {where} {ref.get('id')} is not in the Schema Registry",
            details=[FieldError("schemaRef.id", exc.message)],
        ) from None
    if set_ref is not None and where != "mapping set outputSchema":
        try:
            other = schemas.resolve_schema(ctx, tenant, set_ref).id
        except NotFoundError:
            other = str(set_ref.get("id"))
        if other != resolved.id:
            raise ValidationError(
                f"mapping set {mapping_set.get('id')} writes schema {other}, but the "
                f"{where} is {resolved.id}",
                details=[FieldError("transformations.params.mappingId", "writes another schema")],
            )
    return resolved


def _spec_id(source: Mapping[str, Any] | None) -> str | None:
    spec = (source or {}).get("connectionSpec")
    return str(spec["id"]) if isinstance(spec, dict) and spec.get("id") else None


def mapping_steps(
    ctx: ServiceContext,
    tenant: Tenant,
    flow: Mapping[str, Any],
    target: Mapping[str, Any],
    dataset: Mapping[str, Any],
    source: Mapping[str, Any] | None = None,
) -> tuple[MappingStep, ...]:
    """The run's mapping step when the flow has a ``Mapping`` transformation."""
    found = _mapping_params(flow.get("transformations") or [])
    if found is None:
        return ()
    _, params = found
    ms_id = str(params.get("mappingId", ""))
    doc = mappings.get(ctx, tenant, ms_id, version=_version(params))
    resolved = target_ref(ctx, tenant, dataset, target, doc)
    if resolved is None:
        raise MappingRunError(
            f"mapping set {ms_id} has no target schema: give the dataset a schemaRef"
        )
    return (
        MappingStep(
            mapping_id=ms_id,
            version=int(doc["version"]),
            entries=doc["mappings"],
            output=resolved.arrow,
            source_spec_id=_spec_id(source),
        ),
    )


def error_policy(flow: Mapping[str, Any]) -> ErrorPolicy:
    options = flow.get("options") or {}
    pct = options.get("partialIngestionPercent")
    return ErrorPolicy(
        diagnostics=options.get("errorDiagnosticsEnabled") is True,
        partial_percent=float(pct) if isinstance(pct, int | float) else None,
    )


def validate_options(raw: Any) -> dict[str, Any] | None:
    """A flow's ``options`` by the flow spec's ``optionSpec``: ``errorDiagnosticsEnabled``
    (boolean) and ``partialIngestionPercent`` (a number above 0, at most 100)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError(
            "options must be an object", details=[FieldError("options", "must be an object")]
        )
    errors = []
    diag = raw.get("errorDiagnosticsEnabled")
    if diag is not None and not isinstance(diag, bool):
        errors.append(FieldError("options.errorDiagnosticsEnabled", "must be true or false"))
    pct = raw.get("partialIngestionPercent")
    if pct is not None and (
        isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 < pct <= 100
    ):
        errors.append(
            FieldError("options.partialIngestionPercent", "must be a number above 0, at most 100")
        )
    if errors:
        raise ValidationError(
            "invalid options: " + "; ".join(f"{e['field']} {e['message']}" for e in errors),
            details=errors,
        )
    return dict(raw)


def _source_columns(
    ctx: ServiceContext, tenant: Tenant, src: Mapping[str, Any]
) -> tuple[pa.Schema, tuple[str, ...]] | None:
    """The selected source table's columns and key, read through its connector (``None`` when
    the source cannot be reached now: the run checks again)."""
    selected = source_params(dict(src))
    try:
        with sources.open_connector(ctx, tenant, src["baseConnectionId"]) as connector:
            schema = connector.table_schema(selected.table)
            key = connector.primary_key(selected.table)
    except SyncError:
        return None
    if selected.columns:
        keep = set(selected.columns) | set(key) | {DELETED_COLUMN}
        schema = pa.schema([f for f in schema if f.name in keep])
    return schema, key


def check_flow(
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    transformations: Sequence[Mapping[str, Any]],
    source_ids: Sequence[str],
    target_ids: Sequence[str],
) -> None:
    """Refuse (400, ``2250``) a flow whose mapping set cannot apply: an unknown source column,
    a destination that is not a field of the target schema, or a source key that is not mapped
    to a top-level field. Sources are checked when the source can be reached."""
    found = _mapping_params(transformations)
    if found is None:
        return
    index, params = found
    where = f"transformations[{index}].params"
    ms_id = str(params.get("mappingId", ""))
    try:
        doc = mappings.get(ctx, tenant, ms_id, version=_version(params))
    except NotFoundError as exc:
        raise ValidationError(
            exc.message, details=[FieldError(f"{where}.mappingId", "is not a mapping set")]
        ) from None
    src = documents.load(ctx, tenant, "sourceConnections", source_ids[0]).doc
    tgt = documents.load(ctx, tenant, "targetConnections", target_ids[0]).doc
    dataset = documents.load(ctx, tenant, "dataSets", tgt["params"]["dataSetId"]).doc
    resolved = target_ref(ctx, tenant, dataset, tgt, doc)
    if resolved is None:
        raise ValidationError(
            "a Mapping transformation needs a target XDM schema: create the dataset with a "
            "schemaRef, or give the mapping set an outputSchema",
            details=[FieldError("targetConnectionIds", "the dataset has no schemaRef")],
        )
    columns = _source_columns(ctx, tenant, src)
    inp, aliases = mappings.aliases_for(None if columns is None else columns[0], _spec_id(src))
    targets, issues = mapping.check(
        doc["mappings"], input_schema=inp, output_schema=resolved.arrow, aliases=aliases
    )
    if issues:
        raise MappingSetInvalidError(
            f"mapping set {ms_id} cannot apply to this flow: {_listing(issues)}",
            details=[
                FieldError(f"{where}.mappings[{i.index}]", f"{i.kind}: {i.message}") for i in issues
            ],
        )
    if columns is not None:
        ms = MappingSet(targets, inp, resolved.arrow, aliases)
        try:
            key_destinations(ms, columns[1])
        except ValueError as exc:
            raise MappingSetInvalidError(
                f"mapping set {ms_id} cannot apply to this flow: {exc}",
                details=[FieldError(f"{where}.mappingId", str(exc))],
            ) from None
