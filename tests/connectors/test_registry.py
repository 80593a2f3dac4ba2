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
