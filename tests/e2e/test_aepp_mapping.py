"""Adobe's ``aepp`` 0.6.0, unmodified, against the API served by uvicorn on a local port: its
Schema Registry and Data Prep modules create the tutorial's schema and HubSpot contacts mapping
set, read them back and preview a mapping, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from headwater.api.app import create_app
from tests.api.test_dataprep import _contacts_input_schema, _tutorial_mapping_set
from tests.api.test_schemaregistry import TUTORIAL_SCHEMA
from tests.e2e.conftest import free_port

aepp = pytest.importorskip("aepp", reason="aepp is a dev dependency")


@pytest.fixture
def configured(ctx: Any, ident: Any) -> Iterator[Any]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    aepp.configure(
        org_id=ident.org_id,
        client_id=ident.client_id,
        secret="unused",
        sandbox="prod",
        environment="support",
        endpoint=f"http://127.0.0.1:{port}",
        accesstoken=ident.token,
    )
    aepp.config.config_object["connectionType"] = "support"
    aepp.config.config_object["date_limit"] = 2**41
    try:
        yield ident
    finally:
        server.should_exit = True
        thread.join(timeout=30)


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
