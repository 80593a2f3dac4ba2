"""Arrow schemas as the lake stores them, and additive evolution.

Delta has fewer types than Arrow, so batches are normalised before they are staged: string and
binary views or large variants become plain ``string``/``binary``, timestamps become
microseconds (a zone becomes ``UTC``, as Delta stores instants), unsigned integers widen to the
next signed type, dictionaries decode, ``float16`` widens and ``null``-typed columns (no value
to store yet) are dropped until a typed batch brings them. Every stored column is nullable.

A table's schema only grows: new columns are appended as nullable; a column whose type differs
from the stored one is an error naming the column, except a lossless widening of the incoming
data to the stored type (``int32`` into ``int64``, ``float32`` into ``float64``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

from headwater.errors import DestinationError

__all__ = [
    "SchemaPlan",
    "normalize_batch",
    "normalize_schema",
    "normalize_type",
    "plan_evolution",
]

_UNSIGNED = {
    pa.uint8(): pa.int16(),
    pa.uint16(): pa.int32(),
    pa.uint32(): pa.int64(),
    pa.uint64(): pa.int64(),
}

#: (incoming, stored) pairs that are cast losslessly instead of raising.
_WIDENINGS = {
    (pa.int8(), pa.int16()),
    (pa.int8(), pa.int32()),
    (pa.int8(), pa.int64()),
    (pa.int16(), pa.int32()),
    (pa.int16(), pa.int64()),
    (pa.int32(), pa.int64()),
    (pa.float32(), pa.float64()),
}


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type the lake stores for ``t`` (see the module docstring)."""
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if (
        pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_float16(t):
        return pa.float32()
    if t in _UNSIGNED:
        return _UNSIGNED[t]
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_fixed_size_list(t)
    ):
        # Delta names the element field ``element``; Arrow writers often say ``item``.
        return pa.list_(pa.field("element", normalize_type(t.value_type), nullable=True))
    if pa.types.is_struct(t):
        return pa.struct([_normalize_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_map(t):
        return pa.map_(normalize_type(t.key_type), _normalize_field(t.item_field))
    return t


def _normalize_field(f: pa.Field) -> pa.Field:
    return pa.field(f.name, normalize_type(f.type), nullable=True)


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with lake types, all fields nullable, ``null``-typed columns removed."""
    return _normalized(schema)


@lru_cache(maxsize=512)
def _normalized(schema: pa.Schema) -> pa.Schema:
    # Batches of a run share a handful of schemas; the cache keeps per-batch cost flat.
    return pa.schema([_normalize_field(f) for f in schema if not pa.types.is_null(f.type)])


def normalize_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cast ``batch`` to :func:`normalize_schema` of its schema (no copy when already normal)."""
    target = normalize_schema(batch.schema)
    if target.equals(batch.schema, check_metadata=False):
        return batch
    columns = []
    for f in target:
        column = batch.column(f.name)
        columns.append(column if column.type.equals(f.type) else column.cast(f.type))
    return pa.RecordBatch.from_arrays(columns, schema=target)


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    """How incoming data fits a stored schema.

    ``added`` are new columns (appended, nullable); ``casts`` maps a column to the stored type it
    must be widened to before the write.
    """

    added: tuple[pa.Field, ...]
    casts: dict[str, pa.DataType]

    @property
    def added_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.added)


def plan_evolution(
    stored: pa.Schema, incoming: pa.Schema, *, ignore: Iterable[str] = ()
) -> SchemaPlan:
    """Compare ``incoming`` with the ``stored`` table schema; raise on a type change.

    Raises:
        DestinationError: a column exists in both with incompatible types; the message names
            the column and both types.
    """
    skip = set(ignore)
    stored_types = {f.name: normalize_type(f.type) for f in stored}
    added: list[pa.Field] = []
    casts: dict[str, pa.DataType] = {}
    for f in normalize_schema(incoming):
        if f.name in skip:
            continue
        have = stored_types.get(f.name)
        if have is None:
            added.append(f)
        elif not have.equals(f.type):
            if (f.type, have) in _WIDENINGS:
                casts[f.name] = have
                continue
            msg = (
                f"column {f.name!r} changes type from {have} to {f.type}; a dataset's columns "
                "can be added but not retyped (create a new dataset, or keep the type)"
            )
            raise DestinationError(msg)
    return SchemaPlan(added=tuple(added), casts=casts)
