"""SDK 12 strict mode on the date-versioned paths.

The official SDK (hubspot-api-client 12) still calls the v3/v4 paths, so the dated answers are
fetched over real sockets and handed to each package's own deserialiser with client-side
validation on: a dated response must satisfy the same models as its legacy twin."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from headwater.emulator.hubspot import RunningEmulator

from .helpers import api


@dataclass
class _Raw:
    """What an SDK ``ApiClient.deserialize`` reads: the response bytes in ``data``."""

    data: bytes


def _deserialize(package: str, model: str, body: bytes) -> Any:
    module = importlib.import_module(f"hubspot.{package}")
    configuration = module.Configuration()
    configuration.client_side_validation = True
    client = module.ApiClient(configuration=configuration)
    return client.deserialize(_Raw(body), model)


CASES: list[tuple[str, str, str, str, dict[str, Any] | None]] = [
    (
        "crm.objects",
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
        "GET",
        "/crm/objects/2026-03/contacts?limit=5&associations=companies",
        None,
    ),
    (
        "crm.objects",
        "SimplePublicObjectWithAssociations",
        "GET",
        "/crm/objects/2026-03/deals/1",
        None,
    ),
    (
        "crm.objects",
        "CollectionResponseWithTotalSimplePublicObjectForwardPaging",
        "POST",
        "/crm/objects/2026-03/tickets/search",
        {"limit": 5},
    ),
    (
        "crm.properties",
        "CollectionResponsePropertyNoPaging",
        "GET",
        "/crm/properties/2026-03/companies",
        None,
    ),
    (
        "crm.owners",
        "CollectionResponsePublicOwnerForwardPaging",
        "GET",
        "/crm/owners/2026-03?limit=3",
        None,
    ),
    (
        "crm.pipelines",
        "CollectionResponsePipelineNoPaging",
        "GET",
        "/crm/pipelines/2026-03/deals",
        None,
    ),
    (
        "crm.pipelines",
        "CollectionResponsePipelineNoPaging",
        "GET",
        "/crm/pipelines/2026-03/tickets",
        None,
    ),
    (
        "crm.schemas",
        "CollectionResponseObjectSchemaNoPaging",
        "GET",
        "/crm-object-schemas/2026-03/schemas",
        None,
    ),
    (
        "crm.associations.v4",
        "BatchResponsePublicAssociationMultiWithLabel",
        "POST",
        "/crm/associations/2026-03/contacts/companies/batch/read",
        {"inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}]},
    ),
    (
        "crm.associations.v4.schema",
        "CollectionResponseAssociationSpecWithLabelNoPaging",
        "GET",
        "/crm/associations/2026-03/contacts/companies/labels",
        None,
    ),
    ("crm.lists", "ListSearchResponse", "POST", "/crm/lists/2026-03/search", {"count": 5}),
]


@pytest.mark.parametrize(("package", "model", "method", "path", "body"), CASES)
def test_dated_answers_deserialise_in_strict_mode(
    emu: RunningEmulator, package: str, model: str, method: str, path: str, body: Any
) -> None:
    with api(emu) as c:
        response = c.request(method, path, json=body)
    assert response.status_code == 200, response.text[:300]
    parsed = _deserialize(package, model, response.content)
    assert parsed is not None
    assert type(parsed).__name__ == model


def test_dated_list_memberships_deserialise(emu: RunningEmulator) -> None:
    with api(emu) as c:
        lists = c.post("/crm/lists/2026-03/search", json={"count": 1}).json()["lists"]
        page = c.get(f"/crm/lists/2026-03/{lists[0]['listId']}/memberships", params={"limit": 5})
    parsed = _deserialize("crm.lists", "ApiCollectionResponseJoinTimeAndRecordId", page.content)
    assert parsed.results is not None


def test_strict_mode_rejects_a_broken_dated_answer(emu: RunningEmulator) -> None:
    """The check can fail: a pipeline without its required ``displayOrder`` is refused."""
    with api(emu) as c:
        body = c.get("/crm/pipelines/2026-03/deals").json()
    body["results"][0].pop("displayOrder")
    with pytest.raises(ValueError, match="display_order"):
        _deserialize(
            "crm.pipelines",
            "CollectionResponsePipelineNoPaging",
            httpx.Response(200, json=body).content,
        )
