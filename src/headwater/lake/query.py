"""SQL over the lake: DuckDB with each dataset's Delta table registered by name and by id.

DuckDB's ``delta`` extension is not needed: each table is opened with ``deltalake`` and its
current snapshot registered as a PyArrow dataset, which also works for object stores. Datasets
are addressable as ``"<dataset id>"`` and as ``"<dataset name>"`` (quote names that are not
plain identifiers). A name shared by several datasets is left unregistered; use their ids.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from headwater.errors import InvalidRequestError
from headwater.lake.core import Lake
from headwater.lake.model import DatasetRef

if TYPE_CHECKING:
    import pyarrow.dataset as pds

__all__ = ["QueryCatalog", "connect", "json_rows", "preview", "query"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueryCatalog:
    """What :func:`connect` registered: view name → dataset id, and what it skipped."""

    views: dict[str, str] = field(default_factory=dict)
    ambiguous_names: tuple[str, ...] = ()
    empty_datasets: tuple[str, ...] = ()


def connect(
    lake: Lake,
    datasets: Iterable[DatasetRef],
    *,
    threads: int = 2,
    memory_limit: str = "512MB",
) -> tuple[duckdb.DuckDBPyConnection, QueryCatalog]:
    """An in-memory DuckDB connection with every committed dataset registered as a view."""
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    refs = list(datasets)
    name_count: dict[str, int] = {}
    for ref in refs:
        name_count[ref.name] = name_count.get(ref.name, 0) + 1
    views: dict[str, str] = {}
    empty: list[str] = []
    ambiguous = sorted(n for n, c in name_count.items() if c > 1)
    for ref in refs:
        dataset = lake.dataset(ref.table)
        if dataset is None:
            empty.append(ref.id)
            continue
        dataset = _strings_as_views(dataset)
        con.register(ref.id, dataset)
        views[ref.id] = ref.id
        if ref.name and ref.name != ref.id and name_count[ref.name] == 1:
            con.register(ref.name, dataset)
            views[ref.name] = ref.id
    if ambiguous:
        log.info("dataset names shared by several datasets, use ids: %s", ", ".join(ambiguous))
    return con, QueryCatalog(views, tuple(ambiguous), tuple(empty))


def _view_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.string_view()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_view_type(f.type)) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(t.value_field.with_type(_view_type(t.value_type)))
    return t


def _strings_as_views(dataset: pds.Dataset) -> pds.Dataset:
    """The dataset with its string columns read as ``string_view``.

    A Delta merge writes its files with ``string_view`` columns, other writes with ``string``;
    DuckDB pushes a ``WHERE`` on a string column down to every file, and PyArrow has no
    comparison between the two types. Reading both as views makes every file comparable."""
    import pyarrow.dataset as pds

    if not isinstance(dataset, pds.FileSystemDataset):
        return dataset
    schema = pa.schema(
        [f.with_type(_view_type(f.type)) for f in dataset.schema], metadata=dataset.schema.metadata
    )
    if schema.equals(dataset.schema):
        return dataset
    return pds.FileSystemDataset(
        list(dataset.get_fragments()),
        schema=schema,
        format=dataset.format,
        filesystem=dataset.filesystem,
    )


def query(lake: Lake, datasets: Iterable[DatasetRef], sql: str) -> pa.Table:
    """Run ``sql`` over the lake's datasets and return the result as an Arrow table.

    Raises:
        InvalidRequestError: DuckDB rejected the SQL (syntax, unknown table or column); the
            message is DuckDB's.
    """
    con, _ = connect(lake, datasets)
    try:
        relation: duckdb.DuckDBPyRelation | None = con.sql(sql)
        # Statements without a result (``SET ...``) run eagerly and return no relation.
        return pa.table({}) if relation is None else relation.to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidRequestError(str(exc).strip()) from exc
    finally:
        con.close()


def preview(lake: Lake, dataset: DatasetRef, limit: int = 100) -> pa.Table:
    """The first ``limit`` rows of a dataset (an empty table before its first commit)."""
    if limit < 0:
        msg = "limit must not be negative"
        raise ValueError(msg)
    data = lake.dataset(dataset.table)
    if data is None:
        return pa.table({})
    return data.head(limit)


def json_rows(table: pa.Table) -> list[dict[str, Any]]:
    """``table``'s rows as JSON-ready dicts (ISO-8601 times, decimals as strings, bytes base64).

    For answers such as the dataset preview endpoint and ``headwater query --json``.
    """
    return [{k: _json_value(v) for k, v in row.items()} for row in table.to_pylist()]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinities are not JSON
        return None
    return value
