"""Associations: v4/v3/dated batch reads, per-record paging, inline associations and labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from headwater.emulator.hubspot import RunningEmulator

from .helpers import api, live_ids


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


# --------------------------------------------------------------------------- writes


def _v4_targets(c: httpx.Client, src: str, dst: str, rid: int) -> dict[int, set[int]]:
    """``to id -> type ids`` of one record, read back with the v4 batch read."""
    body = c.post(
        f"/crm/v4/associations/{src}/{dst}/batch/read", json={"inputs": [{"id": str(rid)}]}
    ).json()
    return {
        t["toObjectId"]: {a["typeId"] for a in t["associationTypes"]}
        for r in body["results"]
        for t in r["to"]
    }


def _unassociated(emu: RunningEmulator, src: str, dst: str) -> tuple[int, int]:
    """A live ``src`` record and a live ``dst`` record that are not associated."""
    graph = emu.state.graph
    for a in live_ids(emu, src):
        linked = {link.to_id for link in graph.links(src, dst, a)}
        for b in live_ids(emu, dst):
            if b not in linked:
                return a, b
    raise AssertionError("every pair is associated")


def test_default_association_is_created_both_ways_without_touching_the_records(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    contact, company = _unassociated(emu, "contacts", "companies")
    before = c.get(f"/crm/v3/objects/contacts/{contact}").json()["updatedAt"]
    emu.clock.advance(60)  # type: ignore[attr-defined]
    r = c.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "COMPLETE"
    assert {
        (x["from"]["id"], x["to"]["id"], x["associationSpec"]["associationTypeId"])
        for x in body["results"]
    } == {(str(contact), str(company), 279), (str(company), str(contact), 280)}
    assert _v4_targets(c, "contacts", "companies", contact)[company] == {279}
    assert _v4_targets(c, "companies", "contacts", company)[contact] == {280}
    inline = c.get(f"/crm/v3/objects/contacts/{contact}", params={"associations": "companies"})
    assert str(company) in {x["id"] for x in inline.json()["associations"]["companies"]["results"]}
    # an association-only change is no change of the record: its updatedAt stays, and an
    # incremental search on the last-modified date does not see it
    after = c.get(f"/crm/v3/objects/contacts/{contact}").json()
    assert after["updatedAt"] == before
    emu.clock.advance(emu.state.search_lag_ms / 1000)  # type: ignore[attr-defined]
    recent = c.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filters": [
                {
                    "propertyName": "lastmodifieddate",
                    "operator": "GTE",
                    "value": str(emu.clock.now_ms() - 60_000),
                }
            ]
        },
    ).json()
    assert str(contact) not in {x["id"] for x in recent["results"]}


def test_labelled_association_keeps_one_primary_and_delete_removes_every_type(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    contact, company = _unassociated(emu, "contacts", "companies")
    old_primary = [
        link.to_id
        for link in emu.state.graph.links("contacts", "companies", contact)
        if any(t.label == "Primary" for t in link.types)
    ]
    r = c.put(
        f"/crm/v4/objects/contact/{contact}/associations/company/{company}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
    )
    assert r.status_code == 201
    assert r.json() == {
        "fromObjectTypeId": "0-1",
        "fromObjectId": contact,
        "toObjectTypeId": "0-2",
        "toObjectId": company,
        "labels": ["Primary"],
    }
    targets = _v4_targets(c, "contacts", "companies", contact)
    assert targets[company] == {1, 279}  # a label always comes with the unlabeled type
    assert [to for to, types in targets.items() if 1 in types] == [company]
    for other in old_primary:  # the previous primary company stays associated, unlabeled
        assert targets[other] == {279}
    assert _v4_targets(c, "companies", "contacts", company)[contact] == {2, 280}
    wrong = c.put(
        f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}",
        json=[{"associationCategory": "USER_DEFINED", "associationTypeId": 1}],
    )
    assert wrong.status_code == 400
    assert wrong.json()["message"] == "One or more associations are invalid"
    unknown_pair = c.put(f"/crm/v4/objects/products/1/associations/default/companies/{company}")
    assert unknown_pair.status_code == 400
    missing = c.put(f"/crm/v4/objects/contacts/999999/associations/default/companies/{company}")
    assert missing.status_code == 404
    gone = c.delete(f"/crm/v4/objects/companies/{company}/associations/contacts/{contact}")
    assert gone.status_code == 204
    assert company not in _v4_targets(c, "contacts", "companies", contact)
    assert contact not in _v4_targets(c, "companies", "contacts", company)


def test_batch_association_writes_on_v4_and_dated_paths(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    deal_ids = live_ids(emu, "deals")[:6]
    contact = live_ids(emu, "contacts")[-1]
    created = c.post(
        "/crm/v4/associations/deals/contacts/batch/create",
        json={
            "inputs": [
                {
                    "from": {"id": str(d)},
                    "to": {"id": str(contact)},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
                }
                for d in deal_ids[:3]
            ]
        },
    )
    assert created.status_code == 201
    assert [x["fromObjectId"] for x in created.json()["results"]] == deal_ids[:3]
    defaults = c.post(
        "/crm/associations/2026-03/deals/contacts/batch/associate/default",
        json={
            "inputs": [{"from": {"id": str(d)}, "to": {"id": str(contact)}} for d in deal_ids[3:]]
        },
    )
    assert defaults.status_code == 200
    assert len(defaults.json()["results"]) == 6  # both directions of each of the three
    back = _v4_targets(c, "contacts", "deals", contact)
    assert set(deal_ids) <= set(back)
    partial = c.post(
        "/crm/v4/associations/deals/contacts/batch/create",
        json={
            "inputs": [
                {
                    "from": {"id": "999999"},
                    "to": {"id": str(contact)},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
                }
            ]
        },
    )
    assert partial.status_code == 207
    assert partial.json()["errors"][0]["context"] == {"ids": ["999999"]}
    archived = c.post(
        "/crm/v4/associations/contacts/deals/batch/archive",
        json={"inputs": [{"from": {"id": str(contact)}, "to": [{"id": str(d)} for d in deal_ids]}]},
    )
    assert archived.status_code == 204
    assert not set(deal_ids) & set(_v4_targets(c, "contacts", "deals", contact))


def test_removing_a_label_keeps_the_association(c: httpx.Client, emu: RunningEmulator) -> None:
    contact, company = _unassociated(emu, "contacts", "companies")
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
    c.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}", json=[primary])
    r = c.post(
        "/crm/v4/associations/contacts/companies/batch/labels/archive",
        json={
            "inputs": [
                {"from": {"id": str(contact)}, "to": {"id": str(company)}, "types": [primary]}
            ]
        },
    )
    assert r.status_code == 204
    assert _v4_targets(c, "contacts", "companies", contact)[company] == {279}
