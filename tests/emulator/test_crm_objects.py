"""The other standard CRM objects (quotes, leads, goals, ...): records under their own scopes."""

from __future__ import annotations

import httpx
import pytest

from headwater.emulator.hubspot import RunningEmulator
from headwater.emulator.hubspot.crm_objects import EXTRA_TYPE_NAMES, extra_object_types

from .helpers import all_pages, api


@pytest.mark.parametrize("name", EXTRA_TYPE_NAMES)
def test_every_extra_type_lists_its_live_records(
    name: str, c: httpx.Client, emu: RunningEmulator
) -> None:
    expected = emu.state.record_counts()["records"][name]
    assert expected == emu.state.config.extra_records > 0
    records = all_pages(c, f"/crm/v3/objects/{name}", {"limit": 100})
    assert len(records) == expected
    first = records[0]
    assert set(first) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    otype = next(t for t in extra_object_types() if t.name == name)
    assert set(first["properties"]) >= set(otype.default_props)


def test_extra_types_are_found_by_type_id_search_and_batch_read(c: httpx.Client) -> None:
    quotes = c.get("/crm/v3/objects/0-14", params={"limit": 3, "properties": "hs_title"}).json()
    ids = [r["id"] for r in quotes["results"]]
    assert all(r["properties"]["hs_title"] for r in quotes["results"])
    found = c.post(
        "/crm/v3/objects/quotes/search",
        json={"filterGroups": [], "sorts": ["hs_object_id"], "limit": 3},
    ).json()
    assert [r["id"] for r in found["results"]] == ids
    batch = c.post(
        "/crm/v3/objects/quotes/batch/read",
        json={"inputs": [{"id": i} for i in ids], "properties": ["hs_status"]},
    ).json()
    assert sorted(r["id"] for r in batch["results"]) == sorted(ids)


def test_each_extra_type_needs_its_own_read_scope(emu: RunningEmulator) -> None:
    token = "pat-na1-00000000-0000-4000-a000-000000000015"
    emu.state.auth.add_private_token(token, ["crm.objects.contacts.read"])
    with api(emu, token) as c:
        denied = c.get("/crm/v3/objects/invoices")
        assert denied.status_code == 403
        assert denied.json()["category"] == "MISSING_SCOPES"
        assert "crm.objects.invoices.read" in denied.text
        assert c.get("/crm/v3/objects/communications").status_code == 200


def test_a_write_to_an_extra_type_moves_its_modified_date(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    emu.state.update("leads", 3, {"hs_lead_name": "Renamed lead"})
    lead = c.get("/crm/v3/objects/leads/3", params={"propertiesWithHistory": "hs_lead_name"})
    body = lead.json()
    assert body["propertiesWithHistory"]["hs_lead_name"][0]["value"] == "Renamed lead"
    assert body["updatedAt"] == body["propertiesWithHistory"]["hs_lead_name"][0]["timestamp"]
