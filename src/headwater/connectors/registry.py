"""Every source connector Headwater ships, by connection-spec id.

To add a source, add its package under ``connectors/`` (code, ``connection_spec.json`` and a
``ConnectorType``) and list the type in ``TYPES`` below; see ``docs/architecture-run-path.md``.
"""

from __future__ import annotations

from headwater.connectors.base import ConnectorType, JsonObject
from headwater.connectors.hubspot.spec import CONNECTOR_TYPE as HUBSPOT

__all__ = ["TYPES", "connection_specs", "connector_type"]

TYPES: tuple[ConnectorType, ...] = (HUBSPOT,)
_BY_SPEC_ID = {t.spec_id: t for t in TYPES}


def connector_type(spec_id: str) -> ConnectorType | None:
    return _BY_SPEC_ID.get(spec_id)


def connection_specs() -> list[JsonObject]:
    """The connection specs of the sources, in ``TYPES`` order (deep copies)."""
    return [t.connection_spec() for t in TYPES]
