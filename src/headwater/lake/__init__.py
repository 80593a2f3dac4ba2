"""The Delta Lake destination: staging, one-transaction commits per run, and SQL over the lake.

The lake imports neither FastAPI nor SQLAlchemy; it takes a root URI and object-store options
(built by the composition root with :func:`storage_options_from_env`). See ``docs/lake.md``.
"""

from __future__ import annotations

from headwater.lake.core import Lake, run_app_id
from headwater.lake.model import (
    RUN_ID_COLUMN,
    VALID_FROM_COLUMN,
    CommitResult,
    DatasetRef,
    DeleteMode,
    TableRef,
    WriteMode,
    WriteOptions,
)
from headwater.lake.query import QueryCatalog, connect, json_rows, preview, query
from headwater.lake.staging import SEQ_COLUMN, StagedRun
from headwater.lake.storage import storage_options_from_env

__all__ = [
    "RUN_ID_COLUMN",
    "SEQ_COLUMN",
    "VALID_FROM_COLUMN",
    "CommitResult",
    "DatasetRef",
    "DeleteMode",
    "Lake",
    "QueryCatalog",
    "StagedRun",
    "TableRef",
    "WriteMode",
    "WriteOptions",
    "connect",
    "json_rows",
    "preview",
    "query",
    "run_app_id",
    "storage_options_from_env",
]
