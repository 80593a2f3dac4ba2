"""The contract-fuzzing harness shared by the runs over our OpenAPI and over Adobe's specs.

Each operation gets Hypothesis-drawn cases from schemathesis, authenticated with a real identity
(the gateway headers are real, everything else is generated), with path parameters that are
either generated or the id of a real resource of the caller's. Every answer goes through the
schemathesis checks given and through our own: no 5xx, and every error is one of Adobe's
envelopes (Flow Service, Schema Registry, gateway, IMS)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from headwater.api.openapi import (
    _BAD_REQUEST,
    _FLOW_ERROR,
    _GATEWAY_ERROR,
    _IMS_ERROR,
    _XDM_ERROR,
)
from tests.conftest import Identity

schemathesis = pytest.importorskip("schemathesis")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

__all__ = ["GenerationMode", "schemathesis"]

#: Cases per operation and generation mode; HEADWATER_FUZZ_EXAMPLES raises it for a long run.
EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "10"))

OWN_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
ADOBE_CHECKS = [not_a_server_error, response_schema_conformance]

#: Where Adobe's OpenAPI disagrees with Adobe's own examples and wire answers, Headwater answers
#: as the wire does (docs/api-compatibility.md). Response-schema pointer prefix -> why.
ADOBE_SPEC_DEVIATIONS: dict[str, str] = {
    "/components/schemas/SourceSpecDTO/properties/attributes/properties/uiAttributes/properties/": (
        "uiAttributes.category/label/icon/description are {key} objects in Adobe's answers"
    ),
    "/components/schemas/FlowSpecItemDTO/properties/transformationSpecs": (
        "transformationSpecs is an array in Adobe's answers"
    ),
    "/components/schemas/ScheduleSpecDTO/properties/": (
        "scheduleParams values come back as strings in Adobe's GET answers"
    ),
    "/components/schemas/ValidationResponse/properties/errors": (
        "errors is null for a SUCCESS item in Adobe's own example"
    ),
}

ENVELOPES = [_FLOW_ERROR, _XDM_ERROR, _GATEWAY_ERROR, _BAD_REQUEST, _IMS_ERROR]

FS = "/data/foundation/flowservice"
CAT = "/data/foundation/catalog"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


@dataclass
class Outcome:
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    deviations: dict[str, int] = field(default_factory=dict)


def is_envelope(body: Any) -> bool:
    return any(jsonschema.Draft7Validator(s).is_valid(body) for s in ENVELOPES)


def seed_resources(client: TestClient, ident: Identity) -> dict[str, str]:
    """One of each resource the Flow Service serves, by Adobe's path parameter names."""
    h = ident.headers()
    conn = client.post(
        f"{FS}/connections",
        headers=h,
        json={
            "name": "seed",
            "auth": {
                "specName": "Basic Authentication",
                "params": {
                    "clientId": "a",
                    "clientSecret": "b",
                    "accessToken": "c",
                    "refreshToken": "d",
                },
            },
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert conn.status_code == 201, conn.text
    src = client.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "seed source",
            "baseConnectionId": conn.json()["id"],
            "data": {"format": "tabular"},
            "params": {"path": "Hubspot.Contacts"},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert src.status_code == 201, src.text
    ds = client.post(f"{CAT}/dataSets", headers=h, json={"name": f"seed-{uuid.uuid4().hex[:8]}"})
    assert ds.status_code == 201, ds.text
    ds_id = ds.json()[0].split("/")[-1]
    tgt = client.post(
        f"{FS}/targetConnections",
        headers=h,
        json={
            "name": "seed target",
            "data": {"format": "delta"},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    )
    assert tgt.status_code == 201, tgt.text
    flow = client.post(
        f"{FS}/flows",
        headers=h,
        json={
            "name": "seed flow",
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src.json()["id"]],
            "targetConnectionIds": [tgt.json()["id"]],
            "scheduleParams": {"frequency": "minute", "interval": 15, "startTime": 1},
        },
    )
    assert flow.status_code == 201, flow.text
    return {
        "BASE_CONNECTION_ID": conn.json()["id"],
        "SOURCE_CONNECTION_ID": src.json()["id"],
        "TARGET_CONNECTION_ID": tgt.json()["id"],
        "FLOW_ID": flow.json()["id"],
        "DATASET_ID": ds_id,
        "CONNECTION_SPEC_ID": HUBSPOT,
        "FLOW_SPEC_ID": CRM_TO_AEP,
    }


def _send(client: TestClient, base: str, case: Any, ident: Identity) -> Any:
    """The case as schemathesis would send it (its own serializers), over ``client``."""
    kw = case.as_transport_kwargs(base_url="http://testserver" + base)
    # httpx sends str headers as ASCII; a generated header may hold any text
    headers: dict[str, Any] = {
        k: v if str(v).isascii() else str(v).encode("utf-8")
        for k, v in (kw.get("headers") or {}).items()
    }
    if base.startswith("/data/foundation") or "/data/foundation" in kw["url"]:
        # the gateway headers the case sends are real ones (the point is to reach the routes);
        # one a negative case leaves out stays out, and the gateway must refuse
        real = {k.lower(): v for k, v in ident.headers().items()}
        for k in list(headers):
            if str(k).lower() in real:
                headers[k] = real[str(k).lower()]
    request: dict[str, Any] = {"headers": headers, "params": kw.get("params")}
    if "json" in kw:
        request["json"] = kw["json"]
    data = kw.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    return client.request(kw["method"], kw["url"], **request)


def _documented_deviations(text: str, deviations: dict[str, str] | None) -> list[str]:
    """The deviations a schemathesis failure consists of, or [] if anything else is in it."""
    if not deviations:
        return []
    titles = [ln for ln in text.splitlines() if ln.startswith("- ST")]
    if not titles or not all(t.startswith("- ST108 ") for t in titles):
        return []
    pointers = re.findall(r"Schema at (\S+?):", text)
    if not pointers:
        return []
    found = []
    for ptr in pointers:
        match = next((d for d in deviations if ptr.startswith(d)), None)
        if match is None:
            return []
        found.append(match)
    return sorted(set(found))


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    name: str,
    client: TestClient,
    ident: Identity,
    base: str,
    ids: dict[str, str],
    examples: int,
    checks: list[Callable[..., Any]],
    deviations: dict[str, str] | None,
    outcome: Outcome,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case: Any, real: bool) -> None:
        if real and case.path_parameters:
            for k in case.path_parameters:
                if k in ids:
                    case.path_parameters[k] = ids[k]
        resp = _send(client, base, case, ident)
        outcome.cases += 1
        outcome.statuses[resp.status_code] = outcome.statuses.get(resp.status_code, 0) + 1
        problems: list[str] = []
        try:
            case.validate_response(resp, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:
            text = str(exc)
            known = _documented_deviations(text, deviations)
            if known:
                for k in known:
                    outcome.deviations[k] = outcome.deviations.get(k, 0) + 1
            else:
                problems.append(text[:1500])
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
            if not is_envelope(body):
                problems.append(f"not an Adobe error envelope: {str(body)[:300]}")
        if problems:
            outcome.failures.append(
                f"{name} [{mode.value}] {case.path_parameters} query={case.query} "
                f"body={str(case.body)[:200]} -> {resp.status_code}\n" + "\n".join(problems)
            )

    run()


def fuzz_schema(
    schema: Any,
    client: TestClient,
    ident: Identity,
    *,
    base: str,
    ids: dict[str, str],
    examples: int,
    modes: Iterable[GenerationMode],
    checks: list[Callable[..., Any]],
    served: Callable[[str, str], bool] = lambda _m, _p: True,
    deviations: dict[str, str] | None = None,
) -> Outcome:
    """Run every operation of ``schema`` that ``served(method, path)`` accepts."""
    outcome = Outcome()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not served(operation.method.upper(), base + operation.path):
            continue
        name = f"{operation.method.upper()} {base}{operation.path}"
        outcome.operations.add(name)
        for mode in modes:
            try:
                _fuzz_operation(
                    operation,
                    mode,
                    name,
                    client,
                    ident,
                    base,
                    ids,
                    examples,
                    checks,
                    deviations,
                    outcome,
                )
            except Unsatisfiable:
                # nothing in this operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, name
    return outcome


def report_failures(outcome: Outcome) -> None:
    """Fail with one example per distinct (operation, first problem line), and how many."""
    if not outcome.failures:
        return
    kinds: dict[str, list[str]] = {}
    for f in outcome.failures:
        head, _, rest = f.partition("\n")
        titles = [ln for ln in rest.splitlines() if ln.startswith(("- ", "not an"))]
        key = head.split(" [", 1)[0] + " :: " + ("; ".join(titles) or rest[:120])
        kinds.setdefault(key, []).append(f)
    lines = [f"{len(outcome.failures)} failing cases of {outcome.cases}, {len(kinds)} kinds:"]
    for key, fs in sorted(kinds.items()):
        lines.append(f"--- {len(fs)} x {key}\n{fs[0][:2500]}")
    pytest.fail("\n".join(lines), pytrace=False)
