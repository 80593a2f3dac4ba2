"""Every source connector Headwater ships, by connection-spec id.

To add a source, add its package under ``connectors/`` (code, ``connection_spec.json`` and a
``ConnectorType``) and list the type in ``TYPES`` below: this is the one line outside the
package. See "How to add a connector" in ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.connectors.base import ColumnAliases, ConnectorType, JsonObject, OAuthFlow
from headwater.connectors.hubspot.spec import CONNECTOR_TYPE as HUBSPOT

__all__ = [
    "TYPES",
    "column_aliases",
    "connection_specs",
    "connector_named",
    "connector_type",
    "oauth_flow",
    "operator_settings",
]

TYPES: tuple[ConnectorType, ...] = (HUBSPOT,)
_BY_SPEC_ID = {t.spec_id: t for t in TYPES}
_BY_NAME = {t.name: t for t in TYPES}


def connector_type(spec_id: str) -> ConnectorType | None:
    return _BY_SPEC_ID.get(spec_id)


def connector_named(name: str) -> ConnectorType | None:
    """The connector whose short name (``ConnectorType.name``) is ``name``."""
    return _BY_NAME.get(name)


def connection_specs() -> list[JsonObject]:
    """The connection specs of the sources, in ``TYPES`` order (deep copies)."""
    return [t.connection_spec() for t in TYPES]


def oauth_flow(spec_id: str, auth_spec_name: str) -> OAuthFlow | None:
    """The OAuth sign-in a source offers for one of its auth specs, if any."""
    found = _BY_SPEC_ID.get(spec_id)
    flow = found.oauth if found is not None else None
    return flow if flow is not None and flow.auth_spec_name == auth_spec_name else None


def column_aliases(spec_id: str | None = None) -> list[ColumnAliases]:
    """The column aliases of the source ``spec_id``, or of every source when it is not known
    (a mapping set checked on its own)."""
    types = TYPES if spec_id is None else tuple(t for t in (_BY_SPEC_ID.get(spec_id),) if t)
    return [t.column_aliases for t in types if t.column_aliases is not None]


def operator_settings(values: Mapping[str, Any]) -> list[object]:
    """Each connector's operator settings object, built from Headwater's settings values."""
    return [t.settings_from(values) for t in TYPES if t.settings_from is not None]
