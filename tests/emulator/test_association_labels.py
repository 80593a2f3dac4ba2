"""A custom (USER_DEFINED) association label: deal to contact "Decision maker" (1001 / 1002)."""

from __future__ import annotations

import httpx


def _types(c: httpx.Client, source: str, target: str, rid: int) -> dict[int, set[tuple[int, str]]]:
    body = c.post(
        f"/crm/v4/associations/{source}/{target}/batch/read", json={"inputs": [{"id": str(rid)}]}
    ).json()
    return {
        int(to["toObjectId"]): {(t["typeId"], t["category"]) for t in to["associationTypes"]}
        for result in body["results"]
        for to in result["to"]
    }


def test_the_label_is_listed_and_generated_on_some_associations(c: httpx.Client) -> None:
    labels = c.get("/crm/v4/associations/deals/contacts/labels").json()["results"]
    assert {"category": "USER_DEFINED", "typeId": 1001, "label": "Decision maker"} in labels
    reverse = c.get("/crm/v4/associations/contacts/deals/labels").json()["results"]
    assert {"category": "USER_DEFINED", "typeId": 1002, "label": "Decision maker"} in reverse
    labelled = [
        (deal, contact)
        for deal in range(1, 60)
        for contact, types in _types(c, "deals", "contacts", deal).items()
        if (1001, "USER_DEFINED") in types
    ]
    assert labelled, "about one association in four carries the label"
    deal, contact = labelled[0]
    assert _types(c, "contacts", "deals", contact)[deal] == {
        (1002, "USER_DEFINED"),
        (4, "HUBSPOT_DEFINED"),
    }


def test_writing_the_label_shows_it_from_both_sides(c: httpx.Client) -> None:
    put = c.put(
        "/crm/v4/objects/deals/2/associations/contacts/40",
        json=[{"associationCategory": "USER_DEFINED", "associationTypeId": 1001}],
    )
    assert put.status_code == 201, put.text
    assert _types(c, "deals", "contacts", 2)[40] == {(1001, "USER_DEFINED"), (3, "HUBSPOT_DEFINED")}
    assert _types(c, "contacts", "deals", 40)[2] == {(1002, "USER_DEFINED"), (4, "HUBSPOT_DEFINED")}
