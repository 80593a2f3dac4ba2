"""A HubSpot source connection's ``params``: the table (``tableName``, or the tutorial's
``path``) and an optional column subset; HubSpot has no row-level filters at the source."""

from __future__ import annotations

import re

from headwater.connectors.base import SourceParams
from headwater.errors import FieldError, ValidationError

__all__ = ["TABLE_NAME", "read_source_params"]

TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z0-9_]+$")


def read_source_params(params: object) -> SourceParams:
    """Validate ``params`` (``ValidationError`` with field details) and read them."""
    if not isinstance(params, dict):
        raise ValidationError(
            "params must be an object with tableName or path",
            details=[FieldError("params", "must be an object")],
        )
    table = params.get("tableName") or params.get("path")
    if not isinstance(table, str):
        raise ValidationError(
            "params.tableName (or params.path) is required, e.g. Hubspot.Contacts",
            details=[FieldError("params.tableName", "is required")],
        )
    if not TABLE_NAME.match(table):
        raise ValidationError(
            f"params.tableName '{table}' is not a table name such as Hubspot.Contacts",
            details=[FieldError("params.tableName", "must look like Hubspot.Contacts")],
        )
    columns = params.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, dict | str) for c in columns)
    ):
        raise ValidationError(
            "params.columns must be a list of column names or {name} objects",
            details=[FieldError("params.columns", "must be a list")],
        )
    if params.get("filters") is not None:
        raise ValidationError(
            "HubSpot does not support row-level filters at the source",
            details=[FieldError("params.filters", "is not supported by this source")],
        )
    names = tuple(c if isinstance(c, str) else str(c.get("name")) for c in columns or ())
    return SourceParams(table=table, columns=names or None, options=_read_options(params))


#: The flow's read options a source connection's params may set, in seconds.
READ_OPTIONS = ("lookbackSeconds", "deletesEverySeconds", "associationsEverySeconds")
MAX_OPTION_SECONDS = 86_400


def _read_options(params: dict[str, object]) -> dict[str, int]:
    options: dict[str, int] = {}
    errors = []
    for key in READ_OPTIONS:
        value = params.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_OPTION_SECONDS
        ):
            errors.append(
                FieldError(f"params.{key}", f"must be whole seconds from 0 to {MAX_OPTION_SECONDS}")
            )
            continue
        options[key] = value
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']} {e['message']}" for e in errors), details=errors
        )
    return options
