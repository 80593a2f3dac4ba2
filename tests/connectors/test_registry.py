"""The connector registry: every source is found by its connection-spec id, and its spec file is
a valid Adobe connection spec served first in /connectionSpecs."""

from __future__ import annotations

import pytest
from jsonschema import Draft7Validator

from headwater.connectors import registry
from headwater.connectors.base import ConnectorSettings, ConnectorType, Credentials
from headwater.connectors.hubspot import SPEC_ID, HubSpotConnector, HubSpotSettings
from headwater.domain.specs import DATA_LAKE_SPEC_ID
from headwater.services import connection_specs


@pytest.mark.parametrize("kind", registry.TYPES, ids=lambda t: t.package)
def test_each_registered_spec_is_a_valid_source_spec(kind: ConnectorType) -> None:
    spec = kind.connection_spec()
    assert spec["id"] == kind.spec_id
    assert registry.connector_type(kind.spec_id) is kind
    assert spec["sourceSpec"] and spec["authSpec"]
    for auth in spec["authSpec"]:
        Draft7Validator.check_schema(auth["spec"])
    spec["name"] = "changed"
    assert kind.connection_spec()["name"] != "changed"  # callers get copies


def test_connection_specs_list_sources_then_the_lake() -> None:
    ids = [s["id"] for s in connection_specs.connection_specs()]
    assert ids == [SPEC_ID, DATA_LAKE_SPEC_ID]
    assert connection_specs.connection_spec(SPEC_ID)["name"] == "hubspot"
    assert connection_specs.connection_spec(DATA_LAKE_SPEC_ID) is not None
    assert connection_specs.connection_spec("nope") is None
    assert registry.connector_type(DATA_LAKE_SPEC_ID) is None  # a destination, not a source


def test_hubspot_opens_with_its_settings() -> None:
    settings = ConnectorSettings()
    settings.get(HubSpotSettings).base_url = "http://127.0.0.1:9/"
    kind = registry.connector_type(SPEC_ID)
    assert kind is not None
    credentials = Credentials(auth_spec_name="Private App Token", params={"accessToken": "pat"})
    with kind.open(credentials, settings) as connector:
        assert isinstance(connector, HubSpotConnector)
        assert connector.base_url == "http://127.0.0.1:9"
    assert settings.get(HubSpotSettings) is settings.get(HubSpotSettings)


def test_what_a_connector_declares_is_found_by_its_spec_id() -> None:
    """The UI's OAuth sign-in, the mapping aliases, the request counters and the operator
    settings all come from the registry entry: nothing outside the package names them."""
    kind = registry.connector_type(SPEC_ID)
    assert kind is not None and registry.connector_named("hubspot") is kind
    flow = registry.oauth_flow(SPEC_ID, "Basic Authentication")
    assert flow is kind.oauth and flow is not None
    assert flow.provided == {"accessToken", "refreshToken"}
    assert registry.oauth_flow(SPEC_ID, "Private App Token") is None
    assert registry.oauth_flow(DATA_LAKE_SPEC_ID, "Basic Authentication") is None
    oauth_params = {flow.client_id_param, flow.client_secret_param, *flow.provided}
    auth = next(a for a in kind.connection_spec()["authSpec"] if a["name"] == flow.auth_spec_name)
    assert oauth_params <= set(auth["spec"]["properties"])  # the flow fills the spec's fields

    settings = ConnectorSettings()
    public = flow.endpoints(settings)
    assert public.authorize_url == "https://app.hubspot.com/oauth/authorize"
    assert public.token_url == "https://api.hubapi.com/oauth/v1/token"
    settings.get(HubSpotSettings).base_url = "http://127.0.0.1:9/"
    local = flow.endpoints(settings)
    assert (local.authorize_url, local.token_url) == (
        "http://127.0.0.1:9/oauth/authorize",
        "http://127.0.0.1:9/oauth/v1/token",
    )

    assert registry.column_aliases(SPEC_ID) == [kind.column_aliases]
    assert registry.column_aliases() == [kind.column_aliases]
    assert registry.column_aliases(DATA_LAKE_SPEC_ID) == []
    assert kind.column_aliases is not None and kind.column_aliases.aliases["Vid"] == "Id"
    # the counters users scrape keep their names
    assert kind.requests_metric == "headwater_hubspot_requests_total"
    assert kind.rate_limited_metric == "headwater_hubspot_429_total"
    assert kind.account_label == "portal"


def test_operator_settings_come_from_the_settings_values() -> None:
    from headwater.settings import Settings

    values = Settings(
        hubspot_base_url="http://h",
        hubspot_lookback_seconds=7,
        hubspot_deletes_every_seconds=0,
        hubspot_burst_budget=10,
    ).model_dump()
    (made,) = registry.operator_settings(values)
    assert isinstance(made, HubSpotSettings)
    assert (made.base_url, made.lookback_ms, made.deletes_every_ms) == ("http://h", 7000, 0)
    assert made.associations_every_ms is None
    assert made.limiters is not HubSpotSettings().limiters  # its own budget, its own limiters
    (default,) = registry.operator_settings(Settings().model_dump())
    assert isinstance(default, HubSpotSettings)
    assert default.limiters is HubSpotSettings().limiters and default.lookback_ms == 300_000
