"""Company parent/child associations: types 14 (to the parent), 13 (to a child), 450."""

from __future__ import annotations

import httpx

from headwater.emulator.hubspot import RunningEmulator


def _types(c: httpx.Client, rid: int) -> dict[int, set[int]]:
    body = c.post(
        "/crm/v4/associations/companies/companies/batch/read", json={"inputs": [{"id": str(rid)}]}
    ).json()
    return {
        int(to["toObjectId"]): {t["typeId"] for t in to["associationTypes"]}
        for result in body["results"]
        for to in result["to"]
    }


def test_every_fifth_company_is_the_child_of_another(c: httpx.Client) -> None:
    assert _types(c, 10) == {2: {14, 450}, 50: {13, 450}}
    assert _types(c, 2)[10] == {13, 450}
    labels = c.get("/crm/v4/associations/companies/companies/labels").json()["results"]
    assert {(x["typeId"], x["label"]) for x in labels} == {
        (14, "Parent Company"),
        (13, "Child Company"),
        (450, None),
    }
    assert {x["category"] for x in labels} == {"HUBSPOT_DEFINED"}


def test_a_written_parent_is_seen_from_both_sides(c: httpx.Client, emu: RunningEmulator) -> None:
    put = c.put(
        "/crm/v4/objects/companies/7/associations/companies/3",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 14}],
    )
    assert put.status_code == 201, put.text
    assert _types(c, 7)[3] == {14, 450}
    assert _types(c, 3)[7] == {13, 450}
    assert c.delete("/crm/v4/objects/companies/7/associations/companies/3").status_code == 204
    assert 3 not in _types(c, 7)
