"""HubSpot in the connector registry: its connection-spec id, its spec file
(``connection_spec.json``, Adobe's shape) and how a base connection opens it."""

from __future__ import annotations

from headwater.connectors.base import ConnectorSettings, ConnectorType, Credentials
from headwater.connectors.hubspot.connector import HubSpotConnector
from headwater.connectors.hubspot.params import read_source_params
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.hubspot.settings import HubSpotSettings
from headwater.domain.specs import HUBSPOT_SPEC_ID

__all__ = ["CONNECTOR_TYPE", "SPEC_ID", "open_hubspot"]

#: Adobe's connection-spec id of the HubSpot source.
SPEC_ID = HUBSPOT_SPEC_ID


def open_hubspot(credentials: Credentials, settings: ConnectorSettings) -> HubSpotConnector:
    hubspot = settings.get(HubSpotSettings)
    return HubSpotConnector(
        auth_spec_name=credentials.auth_spec_name,
        params=credentials.params,
        base_url=hubspot.base_url,
        on_tokens_refreshed=credentials.on_refreshed,
        learned=credentials.learned,
        on_learned=credentials.on_learned,
        limiter_registry=hubspot.limiters,
        read_options=ReadOptions(
            lookback_ms=hubspot.lookback_ms,
            deletes_every_ms=hubspot.deletes_every_ms,
            associations_every_ms=hubspot.associations_every_ms,
        ),
    )


CONNECTOR_TYPE = ConnectorType(
    spec_id=SPEC_ID,
    title="HubSpot",
    package=__package__ or "",
    open=open_hubspot,
    read_source_params=read_source_params,
)
