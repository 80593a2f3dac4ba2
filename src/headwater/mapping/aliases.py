"""Columns a source supplies per run instead of in its tables, added to a schema so that a mapping
set reading them validates. Which names a source aliases and which constants it supplies is the
connector's (``ConnectorType.column_aliases``); services pass them in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa


def with_constant_columns(schema: pa.Schema, constants: Mapping[str, pa.DataType]) -> pa.Schema:
    """``schema`` plus the ``constants`` columns it does not have (for validation)."""
    out = schema
    for name, t in constants.items():
        if out.get_field_index(name) < 0:
            out = out.append(pa.field(name, t))
    return out
