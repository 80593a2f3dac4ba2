"""Our /openapi.json describes what the API really does, in Adobe's terms: the gateway headers,
400 (not 422) as the validation error, Adobe's path parameter names, and every operation Adobe
does not have marked as an extension (checked against Adobe's own specs when present)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.conftest import SHARED

SPECS = SHARED / "specs"
#: Adobe's spec files and the base path each describes.
ADOBE_SPECS = {
    "flow-service.yaml": "/data/foundation/flowservice",
    "catalog.yaml": "/data/foundation/catalog",
    "data-prep.yaml": "/data/foundation/conversion",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def _doc(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def _adobe_operations() -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name, base in ADOBE_SPECS.items():
        spec = yaml.safe_load((SPECS / name).read_text("utf-8"))
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    out[(method, base + path.rstrip("/"))] = op
    return out


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_no_fastapi_422_and_errors_are_adobe_envelopes(client: TestClient) -> None:
    doc = _doc(client)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for method, path, op in _operations(doc):
        assert "422" not in op["responses"], (method, path)
        if path.startswith("/data/foundation"):
            bad = op["responses"]["400"]["content"]["application/json"]["schema"]
            refs = {s["$ref"].rsplit("/", 1)[1] for s in bad["anyOf"]}
            assert refs & {"FlowError", "RegistryError"}, (method, path, refs)
            assert "GatewayError" in str(op["responses"]["401"]), (method, path)


def test_gateway_headers_declared_on_every_protected_operation(client: TestClient) -> None:
    for method, path, op in _operations(_doc(client)):
        headers = {
            p["name"].lower(): p.get("required", False)
            for p in op.get("parameters", [])
            if p["in"] == "header"
        }
        if path.startswith("/data/foundation"):
            assert headers.get("authorization") is True, (method, path)
            assert headers.get("x-api-key") is True, (method, path)
            assert headers.get("x-gw-ims-org-id") is True, (method, path)
            assert "x-sandbox-name" in headers, (method, path)
        else:
            assert "x-gw-ims-org-id" not in headers, (method, path)


def test_path_parameters_are_upper_case_names_used_in_the_template(client: TestClient) -> None:
    for method, path, op in _operations(_doc(client)):
        in_template = re.findall(r"\{([^}]+)\}", path)
        declared = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
        assert sorted(in_template) == sorted(declared), (method, path)
        for name in declared:
            assert re.fullmatch(r"[A-Z][A-Z_]*", name), (method, path, name)


@pytest.mark.skipif(not SPECS.is_dir(), reason="../shared/specs (Adobe's OpenAPI) is not present")
def test_names_and_extensions_agree_with_adobe_specs(client: TestClient) -> None:
    adobe = _adobe_operations()
    by_shape = {(m, _shape(p)): p for (m, p) in adobe}
    served_adobe = 0
    for method, path, op in _operations(_doc(client)):
        key = (method, _shape(path))
        extension = op.get("x-headwater-extension") is True
        if not path.startswith(tuple(ADOBE_SPECS.values())):
            # the Schema Registry and Data Access (export) APIs have no spec here; everything
            # else outside is ours
            if not path.startswith(("/data/foundation/schemaregistry", "/data/foundation/export")):
                assert extension, f"{method} {path} is not Adobe's: mark it an extension"
            continue
        if key in by_shape:
            served_adobe += 1
            assert not extension, f"{method} {path} is Adobe's, not an extension"
            assert path == by_shape[key], f"{method} {path}: Adobe names it {by_shape[key]}"
        else:
            assert extension, f"{method} {path} is not in Adobe's spec: mark it an extension"
    assert served_adobe >= 30, served_adobe
