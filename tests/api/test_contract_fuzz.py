"""Property-based runs against our own OpenAPI document and Adobe's Postman collection: whatever
the input, the API answers with a 2xx or a 4xx in Adobe's envelope, never a 5xx."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.connectors.base import ConnectorSettings
from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.services.context import ServiceContext
from tests.api.fuzzing import (
    ADOBE_CHECKS,
    ADOBE_SPEC_DEVIATIONS,
    EXAMPLES,
    OWN_CHECKS,
    GenerationMode,
    fuzz_schema,
    report_failures,
    schemathesis,
    seed_resources,
)
from tests.conftest import new_identity

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs"
POSTMAN = SPECS / "flow-service.json"


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory):
    from headwater.lake import Lake
    from headwater.store import migrate
    from headwater.store.db import create_engine
    from headwater.store.secrets import SecretBox, generate_key

    home = tmp_path_factory.mktemp("fuzz")
    engine = create_engine(f"sqlite:///{home / 'h.db'}")
    migrate.upgrade(engine)
    with serve_in_thread(EmulatorConfig(contacts=50, companies=5, deals=5, tickets=5)) as emu:
        ctx = ServiceContext(
            engine=engine,
            box=SecretBox(generate_key()),
            lake=Lake(str(home / "lake")),
            connector_settings=ConnectorSettings(HubSpotSettings(base_url=emu.base_url)),
        )
        ident = new_identity(ctx)
        app = create_app(ctx)
        yield app, ident
    engine.dispose()


def test_schemathesis_finds_no_server_errors(fuzz_target, reliability_counts) -> None:
    """Our own /openapi.json, positive and negative cases: every answer is documented (status,
    content type, schema), invalid input is refused, and every error is an Adobe envelope."""
    app, ident = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with TestClient(app, raise_server_exceptions=False) as client:
        ids = seed_resources(client, ident)
        outcome = fuzz_schema(
            schema,
            client,
            ident,
            base="",
            ids=ids,
            examples=EXAMPLES,
            modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
            checks=OWN_CHECKS,
        )
    reliability_counts(
        "contract fuzz, own OpenAPI",
        operations=len(outcome.operations),
        cases=outcome.cases,
        failures=len(outcome.failures),
    )
    report_failures(outcome)
    assert outcome.cases > 100, outcome.cases
    assert "PATCH /data/foundation/flowservice/connections/{BASE_CONNECTION_ID}" in (
        outcome.operations
    )
    assert "POST /ims/token/v3" in outcome.operations


def _postman_requests() -> list[dict[str, Any]]:
    if not POSTMAN.is_file():
        return []
    data = json.loads(POSTMAN.read_text("utf-8"))
    out = []
    for folder in data["item"]:
        if folder["name"] not in {"Connections", "Connection specs"}:
            continue
        for item in folder["item"]:
            out.append(item["request"] | {"_name": item["name"]})
    return out


POSTMAN_REQUESTS = _postman_requests()


@pytest.mark.skipif(not POSTMAN_REQUESTS, reason="../shared/specs/flow-service.json is not present")
@pytest.mark.parametrize("req", POSTMAN_REQUESTS, ids=[r["_name"] for r in POSTMAN_REQUESTS])
def test_postman_requests_get_no_server_error(fuzz_target, req: dict[str, Any]) -> None:
    app, ident = fuzz_target
    url = req["url"]
    segments = [re.sub(r"^:.*", "some-unknown-id", s) for s in url["path"]]
    path = "/data/foundation/flowservice/" + "/".join(segments)
    params = [
        (q["key"], q.get("value") or "") for q in url.get("query", []) if not q.get("disabled")
    ]
    headers = {h["key"]: h["value"] for h in req.get("header", []) if not h.get("disabled")}
    headers.update(ident.headers())
    body = req.get("body") or {}
    content = body.get("raw") if body.get("mode") == "raw" else None
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.request(req["method"], path, params=params, headers=headers, content=content)
        assert resp.status_code < 500, resp.text
        if resp.status_code >= 400:
            err = resp.json()
            assert isinstance(err.get("status"), int) or "error_code" in err, err
        # and with the placeholders replaced by a real connection where the request needs one
        if ":BASE_CONNECTION_ID" in url["path"] or ":CONNECTION_SPEC_ID" in url["path"]:
            created = client.post(
                "/data/foundation/flowservice/connections",
                headers=ident.headers(),
                json={
                    "name": "pm",
                    "auth": {
                        "specName": "Basic Authentication",
                        "params": {
                            "clientId": "a",
                            "clientSecret": "b",
                            "accessToken": "c",
                            "refreshToken": "d",
                        },
                    },
                    "connectionSpec": {
                        "id": "cc6a4487-9e91-433e-a3a3-9cf6626c1806",
                        "version": "1.0",
                    },
                },
            ).json()
            real = [
                created["id"]
                if s == ":BASE_CONNECTION_ID"
                else "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
                if s == ":CONNECTION_SPEC_ID"
                else s
                for s in url["path"]
            ]
            h2 = headers | {"If-Match": created["etag"]}
            resp = client.request(
                req["method"],
                "/data/foundation/flowservice/" + "/".join(real),
                params=params,
                headers=h2,
                content=content,
            )
            assert resp.status_code < 500, resp.text


ADOBE_SPECS = {
    "flow-service.yaml": "/data/foundation/flowservice",
    "catalog.yaml": "/data/foundation/catalog",
    "data-prep.yaml": "/data/foundation/conversion",
}


def _served_by(app: Any):
    """``served(method, path)``: does a documented route of ``app`` answer this operation (with
    its parameters filled in)? Adobe's operations Headwater does not serve are left out."""
    from starlette.routing import Match

    def served(method: str, template: str) -> bool:
        path = re.sub(r"\{[^}]+\}", "some-id", template)
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        for route in app.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return True
        return False

    return served


@pytest.mark.skipif(not SPECS.is_dir(), reason="../shared/specs (Adobe's OpenAPI) is not present")
@pytest.mark.parametrize("spec_name", sorted(ADOBE_SPECS))
def test_schemathesis_against_adobe_spec(fuzz_target, reliability_counts, spec_name: str) -> None:
    """Adobe's own OpenAPI, for every operation Headwater serves: no 5xx, every answer with a
    status Adobe documents has the body Adobe documents, every error is Adobe's envelope."""
    app, ident = fuzz_target
    base = ADOBE_SPECS[spec_name]
    schema = schemathesis.openapi.from_path(SPECS / spec_name)
    with TestClient(app, raise_server_exceptions=False) as client:
        ids = seed_resources(client, ident)
        outcome = fuzz_schema(
            schema,
            client,
            ident,
            base=base,
            ids=ids,
            examples=EXAMPLES,
            modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
            checks=ADOBE_CHECKS,
            served=_served_by(app),
            deviations=ADOBE_SPEC_DEVIATIONS,
        )
    reliability_counts(
        f"contract fuzz, Adobe {spec_name}",
        operations=len(outcome.operations),
        cases=outcome.cases,
        documented_deviations=sum(outcome.deviations.values()),
        failures=len(outcome.failures),
    )
    report_failures(outcome)
    assert outcome.operations, "no operation of the spec is served"
