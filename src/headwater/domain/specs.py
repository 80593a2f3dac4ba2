"""The built-in specs that are not a source connector's: the Data Lake destination's connection
spec and the flow specs, served as data files (each source connector ships its own connection
spec, see ``headwater.connectors.registry``), and helpers to read any spec."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP_FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"

_CONNECTION_SPEC_FILES = ("connection_specs_datalake.json",)
_FLOW_SPEC_FILES = ("flow_specs_crmtoaep.json",)


def _load(name: str) -> dict[str, Any]:
    text = resources.files("headwater.domain.spec_files").joinpath(name).read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError(f"{name} is not a JSON object")
    return data


@cache
def _connection_specs() -> tuple[dict[str, Any], ...]:
    return tuple(_load(n) for n in _CONNECTION_SPEC_FILES)


@cache
def _flow_specs() -> tuple[dict[str, Any], ...]:
    return tuple(_load(n) for n in _FLOW_SPEC_FILES)


def destination_specs() -> list[dict[str, Any]]:
    """The destinations' connection specs (deep copies: callers may not mutate the stored specs)."""
    return copy.deepcopy(list(_connection_specs()))


def flow_specs() -> list[dict[str, Any]]:
    return copy.deepcopy(list(_flow_specs()))


def destination_spec(spec_id: str) -> dict[str, Any] | None:
    return next((copy.deepcopy(s) for s in _connection_specs() if s["id"] == spec_id), None)


def flow_spec(spec_id: str) -> dict[str, Any] | None:
    return next((copy.deepcopy(s) for s in _flow_specs() if s["id"] == spec_id), None)


def auth_spec(spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((a for a in spec.get("authSpec", []) if a.get("name") == name), None)


def secret_fields(auth_spec_doc: dict[str, Any]) -> frozenset[str]:
    """Parameters the auth spec marks ``"format": "password"``: encrypted, never returned."""
    props = auth_spec_doc.get("spec", {}).get("properties", {})
    return frozenset(
        k for k, v in props.items() if isinstance(v, dict) and v.get("format") == "password"
    )
