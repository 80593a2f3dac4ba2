"""The Delta log as the lake reads it back: a run's commit found by its metadata, the files and
bytes a commit added, and the staging metrics a commit records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deltalake import DeltaTable

from headwater.lake.model import CommitResult
from headwater.lake.storage import is_local_uri, local_path

__all__ = ["META_RUN", "added_files", "find_commit", "stage_metrics"]

#: The commit metadata key holding the run id.
META_RUN = "headwater.runId"


def stage_metrics(result: CommitResult) -> dict[str, Any]:
    return {
        "rowsStaged": result.rows_staged,
        "duplicatesDropped": result.duplicates_dropped,
        "rowsRejected": result.rows_rejected,
        "createdTable": result.created_table,
        "addedColumns": list(result.added_columns),
    }


def find_commit(dt: DeltaTable, run_id: str, limit: int = 1000) -> dict[str, Any] | None:
    for info in dt.history(limit):
        if info.get(META_RUN) == run_id and "version" in info:
            return info
    return None


def added_files(
    table_uri: str, version: int, storage_options: Mapping[str, str]
) -> tuple[int, int]:
    """(files, bytes) added by commit ``version``, read from its log entry."""
    name = f"{version:020d}.json"
    if is_local_uri(table_uri):
        text = (local_path(table_uri) / "_delta_log" / name).read_text(encoding="utf-8")
    else:
        from deltalake.fs import DeltaStorageHandler

        handler = DeltaStorageHandler(table_uri, dict(storage_options))
        with handler.open_input_stream(f"_delta_log/{name}") as stream:
            text = stream.read().decode("utf-8")
    files = size = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        add = action.get("add")
        if isinstance(add, dict) and add.get("dataChange", True):
            files += 1
            size += int(add.get("size", 0))
    return files, size
