"""Data Prep's mapping language on Arrow: parse expressions, compile mapping sets once, apply them
to batches with vectorised compute kernels.

Layer: imports ``pyarrow`` (and ``lark``, ``numpy``, ``duckdb`` for hashing) but nothing of
Headwater above ``domain``/``errors``. See ``docs/mapping.md``.
"""

from __future__ import annotations

from headwater.mapping.aliases import with_constant_columns
from headwater.mapping.ast import unparse
from headwater.mapping.engine import (
    MAPPER_ERROR,
    MappingResult,
    MappingSet,
    RowError,
    check,
    compile_set,
    entries_of,
)
from headwater.mapping.errors import ExpressionError, MappingError, MappingIssue
from headwater.mapping.expressions import OPERATORS
from headwater.mapping.functions import FUNCTIONS, unique_functions
from headwater.mapping.parser import parse
from headwater.mapping.types import SchemaShapeError, arrow_type_of, schema_from_properties, walk

__all__ = [
    "FUNCTIONS",
    "MAPPER_ERROR",
    "OPERATORS",
    "ExpressionError",
    "MappingError",
    "MappingIssue",
    "MappingResult",
    "MappingSet",
    "RowError",
    "SchemaShapeError",
    "arrow_type_of",
    "check",
    "compile_set",
    "entries_of",
    "parse",
    "schema_from_properties",
    "unique_functions",
    "unparse",
    "walk",
    "with_constant_columns",
]
