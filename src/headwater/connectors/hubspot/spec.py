"""HubSpot in the connector registry: its connection-spec id, its spec file
(``connection_spec.json``, Adobe's shape), how a base connection opens it, the OAuth sign-in the
web UI offers, Adobe's column names for mappings and how its settings are read."""

from __future__ import annotations

from headwater.connectors.base import (
    ConnectorSettings,
    ConnectorType,
    Credentials,
    OAuthEndpoints,
    OAuthFlow,
)
from headwater.connectors.hubspot.adobe_columns import ADOBE_COLUMNS
from headwater.connectors.hubspot.connector import NAME, HubSpotConnector
from headwater.connectors.hubspot.params import read_source_params
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.hubspot.settings import HubSpotSettings, settings_from

__all__ = ["CONNECTOR_TYPE", "OAUTH", "SPEC_ID", "oauth_endpoints", "open_hubspot"]

#: Adobe's connection-spec id of the HubSpot source (the only place Headwater spells it).
SPEC_ID = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
PUBLIC_API = "https://api.hubapi.com"
PUBLIC_AUTHORIZE = "https://app.hubspot.com/oauth/authorize"


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


def oauth_endpoints(settings: ConnectorSettings) -> OAuthEndpoints:
    """HubSpot's consent page lives on app.hubspot.com; another base URL (the bundled emulator)
    serves its own. The code is exchanged at the configured base URL."""
    base = settings.get(HubSpotSettings).base_url.rstrip("/")
    return OAuthEndpoints(
        authorize_url=PUBLIC_AUTHORIZE if base == PUBLIC_API else base + "/oauth/authorize",
        token_url=base + "/oauth/v1/token",
    )


OAUTH = OAuthFlow(
    auth_spec_name="Basic Authentication",
    endpoints=oauth_endpoints,
    scopes=("oauth", "crm.objects.contacts.read"),
    optional_scopes=(
        "crm.objects.companies.read",
        "crm.objects.deals.read",
        "tickets",
        "e-commerce",
        "sales-email-read",
        "crm.objects.owners.read",
        "crm.schemas.custom.read",
        "crm.objects.custom.read",
        "crm.lists.read",
        "forms",
        "content",
        "marketing.campaigns.read",
        "communication_preferences.read",
        "automation",
    ),
)


CONNECTOR_TYPE = ConnectorType(
    spec_id=SPEC_ID,
    title="HubSpot",
    name=NAME,
    package=__package__ or "",
    open=open_hubspot,
    read_source_params=read_source_params,
    account_label="portal",
    oauth=OAUTH,
    column_aliases=ADOBE_COLUMNS,
    settings_from=settings_from,
)
