"""The HubSpot source connector (see ``docs/hubspot.md``)."""

from __future__ import annotations

from headwater.connectors.hubspot.connector import (
    AUTH_OAUTH,
    AUTH_PRIVATE_APP,
    AUTH_SERVICE_KEY,
    DEFAULT_BASE_URL,
    HubSpotConnector,
    ReadMode,
)
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.hubspot.settings import HubSpotSettings
from headwater.connectors.hubspot.spec import SPEC_ID
from headwater.connectors.hubspot.tables import STANDARD_TABLES, TableDef, TableKind

__all__ = [
    "AUTH_OAUTH",
    "AUTH_PRIVATE_APP",
    "AUTH_SERVICE_KEY",
    "DEFAULT_BASE_URL",
    "SPEC_ID",
    "STANDARD_TABLES",
    "HubSpotConnector",
    "HubSpotSettings",
    "ReadMode",
    "ReadOptions",
    "TableDef",
    "TableKind",
]
