"""The records a run's transformations failed, kept durable beside the run's staged data so a
resumed run (another worker, after a crash) still counts and reports them.

They are staged in their own small staged run (``{run id}-failed``), flushed at every checkpoint
of the source. A record read again after a resume replaces its earlier failure (one per source
key), so counts stay exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyarrow as pa

from headwater.lake import Lake, StagedRun
from headwater.services.run_plans import FailedRecord

__all__ = ["FailedRecords"]

_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("record", pa.string())])


class FailedRecords:
    """The failed records of one run, by source key, durable at checkpoints."""

    def __init__(self, lake: Lake, run_id: str) -> None:
        self._staged: StagedRun = lake.stage(f"{run_id}-failed")
        #: the source's key columns (known once the source is open); a record is failed once
        self.key: tuple[str, ...] = ()
        self._by_key: dict[str, FailedRecord] = {}
        for batch in self._staged.read_batches(_SCHEMA):
            for k, rec in zip(
                batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
            ):
                doc = json.loads(rec)
                self._by_key[k] = FailedRecord(doc["raw"], tuple(doc["errors"]))

    def _key_of(self, record: FailedRecord) -> str:
        return json.dumps([record.raw.get(k) for k in self.key] or [record.raw], default=str)

    def add(self, records: Iterable[FailedRecord]) -> None:
        keys, docs = [], []
        for r in records:
            k = self._key_of(r)
            self._by_key[k] = r
            keys.append(k)
            docs.append(json.dumps({"raw": dict(r.raw), "errors": list(r.errors)}, default=str))
        if keys:
            self._staged.write(
                pa.RecordBatch.from_arrays([pa.array(keys), pa.array(docs)], schema=_SCHEMA)
            )

    def checkpoint(self) -> None:
        """Make the failures added so far durable (the source's checkpoint covers them)."""
        self._staged.flush()

    @property
    def records(self) -> list[FailedRecord]:
        return list(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def discard(self) -> None:
        self._staged.discard()
