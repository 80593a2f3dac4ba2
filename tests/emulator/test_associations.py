"""Associations: v4/v3/dated batch reads, per-record paging, inline associations and labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from headwater.emulator.hubspot import RunningEmulator

from .helpers import api


def test_associations_v4_batch_limits_and_consistency(c: httpx.Client) -> None:
    fwd = c.post(
        "/crm/v4/associations/deals/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(1, 81)]},
    ).json()
    pairs = {(int(r["from"]["id"]), t["toObjectId"]) for r in fwd["results"] for t in r["to"]}
    assert pairs
    contacts = sorted({b for _, b in pairs})
    back = c.post(
        "/crm/v4/associations/contacts/deals/batch/read",
        json={"inputs": [{"id": str(x)} for x in contacts]},
    ).json()
    reverse = {(t["toObjectId"], int(r["from"]["id"])) for r in back["results"] for t in r["to"]}
    assert pairs == reverse
    assert all(isinstance(t["toObjectId"], int) for r in fwd["results"] for t in r["to"])
    assert all(
        a["category"] in ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED")
        for r in fwd["results"]
        for t in r["to"]
        for a in t["associationTypes"]
    )
    too_many = c.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(1001)]},
    )
    assert too_many.status_code == 400
    dated = c.post(
        "/crm/associations/2026-03/deals/contacts/batch/read", json={"inputs": [{"id": "1"}]}
    ).json()
    assert dated["results"] == [r for r in fwd["results"] if r["from"]["id"] == "1"]
    v3 = c.post(
        "/crm/v3/associations/company/contact/batch/read", json={"inputs": [{"id": "1"}]}
    ).json()
    assert v3["results"][0]["to"][0]["type"].startswith("company_to_contact")
    labels = c.get("/crm/v4/associations/contacts/companies/labels").json()["results"]
    assert {x["typeId"] for x in labels} == {1, 279}


def test_v4_batch_pages_each_source_record_and_inline_associations_truncate(
    start: Callable[..., RunningEmulator],
) -> None:
    # two companies for 2,400 contacts: company 1 has more than a batch page of associations
    emu = start(companies=2, contacts=2_400, deals=5, tickets=5, engagements=2)
    with api(emu) as c:
        expected = [link.to_id for link in emu.state.graph.links("companies", "contacts", 1)]
        assert len(expected) > 1000
        seen: list[int] = []
        item: dict[str, Any] = {"id": "1"}
        while True:
            body = c.post(
                "/crm/v4/associations/companies/contacts/batch/read", json={"inputs": [item]}
            ).json()
            (result,) = body["results"]
            seen.extend(t["toObjectId"] for t in result["to"])
            if "paging" not in result:
                break
            item = {"id": "1", "after": result["paging"]["next"]["after"]}
        assert seen == expected
        inline = c.get("/crm/v3/objects/companies/1", params={"associations": "contacts"}).json()[
            "associations"
        ]["contacts"]
        assert len({x["id"] for x in inline["results"]}) == 100
        more = c.get(inline["paging"]["next"]["link"]).json()
        assert more["results"]
        assert int(more["results"][0]["id"]) == expected[100]
