"""Changes HubSpot's modification cursor does not reveal: association-only changes and merges.

HubSpot does not bump ``hs_lastmodifieddate`` when only an association changes, so a search
for modified records never finds such a change. The association refresh compares the association
id lists the dataset holds (``KnownRows``) with HubSpot's, 1,000 records per v4 batch read and
association type, and re-reads, 100 per batch read, only the records whose lists differ.

A merge keeps the winner and records the loser's id in the winner's ``hs_merged_object_ids``
(``;``-separated); the winner's modification date moves, so it is read, and its merged ids are
reported deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.connectors.events import KnownRows
from headwater.connectors.hubspot.http import HubSpotHttp, json_body
from headwater.connectors.hubspot.paging import ASSOCIATION_BATCH
from headwater.connectors.hubspot.schema import Origin, TableLayout

__all__ = [
    "BATCH_READ",
    "MERGED_PROPERTY",
    "AssociationDiff",
    "batch_read",
    "changed_associations",
    "merged_ids",
    "stored_versions",
]

MERGED_PROPERTY = "hs_merged_object_ids"
BATCH_READ = 100
#: the most stored versions :func:`stored_versions` keeps in memory before giving up
STORED_VERSIONS_MAX = 200_000


def merged_ids(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids merged into ``records`` (from ``hs_merged_object_ids``), without the records' own."""
    own = {str(r.get("id")) for r in records}
    out: list[str] = []
    for record in records:
        value = (record.get("properties") or {}).get(MERGED_PROPERTY)
        if not value:
            continue
        for part in str(value).split(";"):
            merged = part.strip()
            if merged and merged not in own and merged not in out:
                out.append(merged)
    return out


@dataclass(slots=True)
class AssociationDiff:
    """One chunk of known records whose association lists differ from HubSpot's."""

    ids: list[str] = field(default_factory=list)
    current: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _known_chunks(
    known: KnownRows, layout: TableLayout
) -> Iterator[tuple[list[str], dict[str, dict[str, set[str]]]]]:
    """(ids, target → id → stored association ids) per chunk of live known rows."""
    columns = {c.source: c.name for c in layout.columns if c.origin is Origin.ASSOCIATION}
    ids: list[str] = []
    stored: dict[str, dict[str, set[str]]] = {t: {} for t in columns}
    for batch in known(["Id", "Is_Deleted", *columns.values()]):
        data = pa.Table.from_batches([batch]).to_pydict()
        deleted = data.get("Is_Deleted") or [None] * batch.num_rows
        for row, record_id in enumerate(data["Id"]):
            if record_id is None or deleted[row]:
                continue
            rid = str(record_id)
            ids.append(rid)
            for target, name in columns.items():
                values = data.get(name)
                stored[target][rid] = set(values[row] or []) if values is not None else set()
            if len(ids) >= ASSOCIATION_BATCH:
                yield ids, stored
                ids, stored = [], {t: {} for t in columns}
    if ids:
        yield ids, stored


def changed_associations(
    known: KnownRows,
    layout: TableLayout,
    fetch: Callable[[list[str]], dict[str, dict[str, list[str]]]],
) -> Iterator[AssociationDiff]:
    """Chunks of known records whose association lists changed in HubSpot.

    ``fetch(ids)`` returns ``target → id → associated ids`` (the reader's v4 batch reads)."""
    for ids, stored in _known_chunks(known, layout):
        current: dict[str, dict[str, list[str]]] = fetch(ids)
        changed = [
            i
            for i in ids
            if any(set(current.get(t, {}).get(i, [])) != stored[t].get(i, set()) for t in stored)
        ]
        if changed:
            yield AssociationDiff(
                changed, {t: {i: current.get(t, {}).get(i, []) for i in changed} for t in stored}
            )


def batch_read(
    http: HubSpotHttp,
    object_type: str,
    ids: Sequence[str],
    properties: Sequence[str],
    *,
    with_history: Sequence[str] = (),
    per_call: int = BATCH_READ,
) -> list[dict[str, Any]]:
    """Records by id through ``POST /crm/v3/objects/{type}/batch/read``, in the order of
    ``ids``, ``per_call`` ids a call (HubSpot takes fewer when ``with_history`` names properties
    whose versions to return); missing ids are left out (HubSpot answers 207 with their
    errors)."""
    records: list[dict[str, Any]] = []
    for start in range(0, len(ids), per_call):
        body = json_body(
            http.send(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                json={
                    "properties": list(properties),
                    "propertiesWithHistory": list(with_history),
                    "inputs": [{"id": i} for i in ids[start : start + per_call]],
                },
            )
        )
        records += body.get("results") or []
    order = {i: n for n, i in enumerate(ids)}
    records.sort(key=lambda r: order.get(str(r.get("id")), len(order)))
    return records


def _epoch_ms(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A timestamp (or epoch-ms integer) column as epoch milliseconds."""
    if pa.types.is_timestamp(column.type):
        ms = pc.cast(column, pa.timestamp("ms", tz=column.type.tz), safe=False)
        return pc.cast(ms, pa.int64())
    return pc.cast(column, pa.int64(), safe=False)


def stored_versions(
    known: KnownRows, since_ms: int, limit: int = STORED_VERSIONS_MAX
) -> dict[str, int] | None:
    """Id → ``Updated_At`` (epoch ms) of the dataset's live rows modified at or after
    ``since_ms``: what the lookback overlap of an incremental window may find again.

    Streamed (the id and modification columns only); ``None`` when the dataset has no
    ``Updated_At`` or more than ``limit`` such rows (then nothing is skipped)."""
    out: dict[str, int] = {}
    for batch in known(["Id", "Updated_At", "Is_Deleted"]):
        names = batch.schema.names
        if "Updated_At" not in names or "Id" not in names:
            return None
        updated = _epoch_ms(batch.column(names.index("Updated_At")))
        recent = pc.fill_null(pc.greater_equal(updated, since_ms), False)
        if "Is_Deleted" in names:
            deleted = pc.fill_null(batch.column(names.index("Is_Deleted")), False)
            recent = pc.and_(recent, pc.invert(deleted))
        if not pc.any(recent).as_py():
            continue
        ids = pc.filter(batch.column(names.index("Id")), recent).to_pylist()
        stamps = pc.filter(updated, recent).to_pylist()
        for record_id, stamp in zip(ids, stamps, strict=True):
            if record_id is not None and stamp is not None:
                out[str(record_id)] = int(stamp)
        if len(out) > limit:
            return None
    return out
