"""Adobe's ``aepp`` 0.6.0, unmodified, against ``headwater serve``: its Schema Registry and Data
Prep modules create the tutorial's schema and HubSpot contacts mapping set, read them back and
preview a mapping, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_dataprep import _contacts_input_schema, _tutorial_mapping_set
from tests.api.test_schemaregistry import TUTORIAL_SCHEMA

aepp = pytest.importorskip("aepp", reason="aepp is a dev dependency")


@pytest.fixture
def configured(live: Any) -> Any:
    aepp.configure(
        org_id=live.org_id,
        client_id=live.client_id,
        secret="unused",
        sandbox="prod",
        environment="support",
        endpoint=live.base_url,
        accesstoken=live.token,
    )
    aepp.config.config_object["connectionType"] = "support"
    aepp.config.config_object["date_limit"] = 2**41
    return live


@pytest.mark.e2e
def test_aepp_schema_and_dataprep_modules(configured: Any) -> None:
    from aepp import dataprep, schema

    reg = schema.Schema()
    created = reg.createSchema(TUTORIAL_SCHEMA)
    sid = created["$id"]
    full = reg.getSchema(sid)  # Accept: application/vnd.adobe.xdm-full+json; version=1
    assert (
        full["properties"]["person"]["properties"]["name"]["properties"]["firstName"]["type"]
        == "string"
    )
    assert [s["$id"] for s in reg.getSchemas()] == [sid]
    patched = reg.patchSchema(
        sid, [{"op": "add", "path": "/meta:immutableTags", "value": ["union"]}]
    )
    assert patched["version"] == "1.1"
    assert reg.getTenantId()

    prep = dataprep.DataPrep()
    body = _tutorial_mapping_set(sid)
    body["inputSchema"] = _contacts_input_schema()
    ms = prep.createMappingSet(mappingSet=body)
    assert ms["version"] == 0
    assert [m["id"] for m in prep.getMappingSets()] == [ms["id"]]
    assert prep.getMappingSet(ms["id"])["xdmSchema"] == sid
    assert len(prep.getMappingSetMappings(ms["id"])) == 3
    assert any(f["function"] == "concat" for f in prep.getMappingSetFunctions())
    preview = prep.previewDataOutput(
        data=[
            {"Id": "9", "Properties_Firstname_Value": "Grace", "Created_At": "2024-01-01T00:00:00Z"}
        ],
        mappingSet=body,
    )
    assert preview[0]["data"]["person"]["name"]["firstName"] == "Grace"
    prep.deleteMappingSet(ms["id"])
    assert prep.getMappingSets() == []
    reg.deleteSchema(sid)
