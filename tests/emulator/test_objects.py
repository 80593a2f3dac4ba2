"""CRM objects: list paging, values, type aliases and path families, reads, batch reads, writes,
and the legacy v1/v2 record paths."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx

from headwater.emulator.hubspot import RunningEmulator, create_app

from .helpers import all_pages, api, archived_ids, live_ids, small_config

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_list_paging_follows_absolute_links_and_omits_paging_at_the_end(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    first = c.get(
        "/crm/v3/objects/contacts", params={"limit": 100, "properties": "email,firstname"}
    ).json()
    link = first["paging"]["next"]["link"]
    assert link.startswith(emu.base_url + "/crm/v3/objects/contacts?")
    assert "properties=email%2Cfirstname" in link
    assert link.endswith("after=" + first["paging"]["next"]["after"])
    rows = all_pages(c, "/crm/v3/objects/contacts", {"limit": 100, "properties": "email,firstname"})
    assert [int(r["id"]) for r in rows] == live_ids(emu, "contacts")
    archived = all_pages(c, "/crm/v3/objects/contacts", {"limit": 100, "archived": "true"})
    assert [int(r["id"]) for r in archived] == archived_ids(emu, "contacts")
    assert all(r["archived"] is True and ISO_MS.match(r["archivedAt"]) for r in archived)


def test_values_are_strings_or_null_with_millisecond_timestamps(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    names = [p.name for p in emu.state.types["contacts"].properties]
    page = c.get(
        "/crm/v3/objects/contacts", params=[("limit", "100"), *[("properties", n) for n in names]]
    ).json()
    kinds = {p.name: p.type for p in emu.state.types["contacts"].properties}
    seen_null = False
    for rec in page["results"]:
        assert set(rec["properties"]) == set(names)
        assert rec["properties"]["hs_object_id"] == rec["id"]
        assert rec["properties"]["createdate"] == rec["createdAt"]
        assert rec["properties"]["lastmodifieddate"] == rec["updatedAt"]
        assert ISO_MS.match(rec["createdAt"])
        for name, value in rec["properties"].items():
            assert value is None or isinstance(value, str), name
            seen_null |= value is None
            if value is None:
                continue
            if kinds[name] == "datetime":
                assert ISO_MS.match(value), (name, value)
            elif kinds[name] == "date":
                assert re.match(r"^\d{4}-\d{2}-\d{2}$", value)
            elif kinds[name] == "bool":
                assert value in ("true", "false")
            elif kinds[name] == "number":
                float(value)
    assert seen_null
    multi = [
        r["properties"]["hw_interests"] for r in page["results"] if r["properties"]["hw_interests"]
    ]
    assert any(";" in m for m in multi)


def test_object_type_aliases_and_path_families(c: httpx.Client) -> None:
    expected = c.get("/crm/v3/objects/contacts", params={"limit": 5}).json()
    for path in (
        "/crm/v3/objects/contact",
        "/crm/v3/objects/0-1",
        "/crm/v4/objects/contacts",
        "/crm/objects/2026-03/contacts",
    ):
        got = c.get(path, params={"limit": 5}).json()
        assert [r["id"] for r in got["results"]] == [r["id"] for r in expected["results"]], path
    for name in ("pets", "p_pets", "p62515_pets", "2-1000001", "pet"):
        assert c.get(f"/crm/v3/objects/{name}", params={"limit": 1}).status_code == 200, name
    bad = c.get("/crm/v3/objects/widgets")
    assert bad.status_code == 400
    assert bad.json()["message"] == "Unable to infer object type from: widgets"
    bad_assoc = c.get("/crm/v3/objects/contacts", params={"associations": "false"})
    assert bad_assoc.json()["message"] == "Unable to infer object type from: false"
    assert c.post("/crm/objects/2026-03/contacts/search", json={"limit": 1}).status_code == 200
    assert c.get("/crm/v3/objects/contacts", params={"limit": 101}).status_code == 400
    assert (
        c.get(
            "/crm/v3/objects/contacts", params={"limit": 51, "propertiesWithHistory": "email"}
        ).status_code
        == 400
    )
    hist = c.get(
        "/crm/v3/objects/contacts",
        params={"limit": 50, "propertiesWithHistory": "email,lifecyclestage"},
    ).json()
    entry = hist["results"][0]["propertiesWithHistory"]["lifecyclestage"][0]
    assert {"value", "timestamp", "sourceType"} <= set(entry)


def test_repeated_and_comma_joined_list_parameters_agree(c: httpx.Client) -> None:
    a = c.get(
        "/crm/v3/objects/deals",
        params=[
            ("properties", "dealname"),
            ("properties", "amount"),
            ("associations", "contacts"),
            ("associations", "companies"),
        ],
    ).json()
    b = c.get(
        "/crm/v3/objects/deals",
        params={"properties": "dealname,amount", "associations": "contacts,companies"},
    ).json()
    assert a["results"] == b["results"]
    assoc = a["results"][0]["associations"]
    assert set(assoc) <= {"contacts", "companies"}
    assert all(isinstance(x["id"], str) for block in assoc.values() for x in block["results"])


def test_read_by_id_and_unique_property_and_batch_partial_errors(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    one = c.get("/crm/v3/objects/contacts/3", params={"properties": "email"}).json()
    by_email = c.get(
        f"/crm/v3/objects/contacts/{one['properties']['email']}", params={"idProperty": "email"}
    ).json()
    assert by_email["id"] == "3"
    missing = c.get("/crm/v3/objects/contacts/99999")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
    batch = c.post(
        "/crm/v3/objects/contacts/batch/read",
        json={
            "inputs": [{"id": "1"}, {"id": "99999"}],
            "properties": ["email"],
            "propertiesWithHistory": [],
        },
    )
    assert batch.status_code == 207
    body = batch.json()
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"ids": ["99999"]}
    too_many = c.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(101)], "properties": []},
    )
    assert too_many.status_code == 400


def test_writes_are_visible_to_list_read_and_search(c: httpx.Client, emu: RunningEmulator) -> None:
    created = c.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "new@headwater.test", "firstname": "New", "hw_is_vip": True}},
    )
    assert created.status_code == 201
    rid = created.json()["id"]
    assert created.json()["properties"]["hw_is_vip"] == "true"
    assert (
        c.post("/crm/v3/objects/contacts", json={"properties": {"nope": "x"}}).json()["category"]
        == "VALIDATION_ERROR"
    )
    emu.clock.advance(60)  # type: ignore[attr-defined]
    patched = c.patch(
        f"/crm/v3/objects/contacts/{rid}", json={"properties": {"firstname": "Renamed"}}
    ).json()
    assert patched["properties"]["firstname"] == "Renamed"
    assert patched["updatedAt"] > patched["createdAt"]
    emu.clock.advance(emu.state.search_lag_ms / 1000)  # type: ignore[attr-defined]
    found = c.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filters": [{"propertyName": "email", "operator": "EQ", "value": "NEW@headwater.test"}],
            "properties": ["firstname"],
        },
    ).json()
    assert [r["id"] for r in found["results"]] == [rid]
    assert found["results"][0]["properties"]["firstname"] == "Renamed"
    batch = c.post(
        "/crm/v3/objects/deals/batch/update",
        json={
            "inputs": [
                {"id": "1", "properties": {"amount": "42"}},
                {"id": "2", "properties": {"dealname": "Renamed deal"}},
            ]
        },
    )
    assert batch.status_code == 200
    assert (
        c.get("/crm/v3/objects/deals/1", params={"properties": "amount"}).json()["properties"][
            "amount"
        ]
        == "42"
    )
    hist = c.get("/crm/v3/objects/deals/1", params={"propertiesWithHistory": "amount"}).json()[
        "propertiesWithHistory"
    ]["amount"]
    assert hist[0]["value"] == "42"
    assert hist[0]["sourceType"] == "API"
    assert c.delete(f"/crm/v3/objects/contacts/{rid}").status_code == 204
    assert c.get(f"/crm/v3/objects/contacts/{rid}").status_code == 404
    assert (
        c.get(f"/crm/v3/objects/contacts/{rid}", params={"archived": "true"}).json()["archived"]
        is True
    )


def test_uri_too_long(c: httpx.Client) -> None:
    long_props = ",".join(f"prop_{i:05d}" for i in range(1_700))
    assert c.get("/crm/v3/objects/contacts", params={"properties": long_props}).status_code == 414


def test_same_seed_same_bytes() -> None:
    async def page(seed: int) -> bytes:
        app = create_app(small_config(seed=seed))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
            r = await client.get(
                "/crm/v3/objects/contacts",
                params={"limit": 50, "properties": "email,hw_score,hw_tier"},
                headers={"Authorization": f"Bearer {app.state.auth.private_app_token}"},
            )
            return r.content

    assert asyncio.run(page(5)) == asyncio.run(page(5))
    assert asyncio.run(page(5)) != asyncio.run(page(6))


def test_standard_types_without_records_are_addressable(
    start: Callable[..., RunningEmulator],
) -> None:
    emu = start(extra_records=0)
    with api(emu) as c:
        assert c.get("/crm/v3/objects/quotes").json() == {"results": []}
        assert c.get("/crm/v3/objects/0-136", params={"limit": 5}).json() == {"results": []}
        assert c.get("/crm/v3/properties/quotes").json()["results"]


def test_types_with_records_are_not_in_each_others_associations(c: httpx.Client) -> None:
    """Deal splits have records but no association with contacts (HubSpot documents none)."""
    with_splits = c.get(
        "/crm/v3/objects/contacts",
        params={"limit": 2, "associations": "deals,deal_splits,conversations"},
    )
    assert with_splits.status_code == 200
    assert all(
        "deal_splits" not in r.get("associations", {}) for r in with_splits.json()["results"]
    )


def test_offset_paging_on_the_list_endpoint(c: httpx.Client, emu: RunningEmulator) -> None:
    """Airbyte 5.7.0 pages products and line items with ``offset`` until a short page."""
    rows: list[int] = []
    offset = 0
    while True:
        page = c.get(
            "/crm/v3/objects/line_item", params={"archived": "false", "limit": 7, "offset": offset}
        ).json()
        rows.extend(int(r["id"]) for r in page["results"])
        if len(page["results"]) < 7:
            break
        offset += 7
    assert rows == live_ids(emu, "line_items")


def test_legacy_deals_and_companies_offset_paging(c: httpx.Client, emu: RunningEmulator) -> None:
    deals: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = c.get(
            "/deals/v1/deal/paged",
            params={
                "limit": 25,
                "offset": offset,
                "includeAssociations": "true",
                "properties": "dealname,createdate",
            },
        ).json()
        deals.extend(page["deals"])
        if not page["hasMore"]:
            break
        offset = page["offset"]
    store = emu.state.stores["deals"]
    assert [d["dealId"] for d in deals] == live_ids(emu, "deals")
    first = deals[0]
    assert set(first["properties"]) <= {"dealname", "createdate"}
    created = first["properties"]["createdate"]
    assert created["value"] == str(int(store.created[0]))  # epoch-ms strings in v1
    assert created["versions"][0]["name"] == "createdate"
    assert "associatedVids" in first["associations"]
    companies = c.get(
        "/companies/v2/companies/paged",
        params={"limit": 250, "properties": ["createdate", "hs_lastmodifieddate"]},
    ).json()
    assert "has-more" in companies
    one = c.get(f"/companies/v2/companies/{companies['companies'][0]['companyId']}").json()
    assert one["properties"]["name"]["value"]


# --------------------------------------------------------------------------- merges and purges


def _search_ids(c: httpx.Client, object_type: str, ids: list[int]) -> set[int]:
    found = c.post(
        f"/crm/v3/objects/{object_type}/search",
        json={
            "filters": [
                {"propertyName": "hs_object_id", "operator": "IN", "values": [str(i) for i in ids]}
            ],
            "limit": 200,
        },
    ).json()
    return {int(x["id"]) for x in found["results"]}


def test_merge_replaces_both_records_with_a_new_one(c: httpx.Client, emu: RunningEmulator) -> None:
    """HubSpot's merge today: a new record with a new id, and both old ids point at it."""
    lag_s = emu.state.search_lag_ms / 1000
    primary, secondary, third = live_ids(emu, "contacts")[10:13]
    c.patch(f"/crm/v3/objects/contacts/{primary}", json={"properties": {"jobtitle": None}})
    p = c.get(f"/crm/v3/objects/contacts/{primary}", params={"properties": "email,jobtitle"})
    s = c.get(f"/crm/v3/objects/contacts/{secondary}", params={"properties": "email,jobtitle"})
    companies = {
        link.to_id
        for rid in (primary, secondary)
        for link in emu.state.graph.links("contacts", "companies", rid)
    }
    r = c.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": str(primary), "objectIdToMerge": str(secondary)},
    )
    assert r.status_code == 200
    merged = r.json()
    new_id = int(merged["id"])
    assert new_id not in (primary, secondary)
    assert {"id", "properties", "createdAt", "updatedAt", "archived"} <= set(merged)
    read = c.get(
        f"/crm/v3/objects/contacts/{new_id}",
        params={"properties": "email,jobtitle,hs_merged_object_ids", "associations": "companies"},
    ).json()
    assert read["properties"]["hs_merged_object_ids"] == f"{primary};{secondary}"
    assert read["properties"]["email"] == p.json()["properties"]["email"]  # the primary's value
    assert read["properties"]["jobtitle"] == s.json()["properties"]["jobtitle"]  # filled in
    assert read["createdAt"] == min(p.json()["createdAt"], s.json()["createdAt"])
    inline = {int(x["id"]) for x in read["associations"]["companies"]["results"]}
    assert inline == companies
    # the old ids answer with the new record, and leave every list
    for old in (primary, secondary):
        assert c.get(f"/crm/v3/objects/contacts/{old}").json()["id"] == str(new_id)
    assert (
        c.get(f"/crm/v3/objects/contacts/{primary}", params={"archived": "true"}).status_code == 404
    )
    listed = {int(x["id"]) for x in all_pages(c, "/crm/v3/objects/contacts", {"limit": 100})}
    archived = {
        int(x["id"])
        for x in all_pages(c, "/crm/v3/objects/contacts", {"limit": 100, "archived": "true"})
    }
    assert new_id in listed
    assert not {primary, secondary} & (listed | archived)
    assert _search_ids(c, "contacts", [primary, secondary, new_id]) == {primary, secondary}
    emu.clock.advance(lag_s)  # type: ignore[attr-defined]
    assert _search_ids(c, "contacts", [primary, secondary, new_id]) == {new_id}
    # merging again accumulates every absorbed id
    again = c.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": str(third), "objectIdToMerge": str(primary)},  # an old id
    ).json()
    chained = c.get(
        f"/crm/v3/objects/contacts/{again['id']}", params={"properties": "hs_merged_object_ids"}
    ).json()
    ids = sorted(int(x) for x in chained["properties"]["hs_merged_object_ids"].split(";"))
    assert ids == sorted([primary, secondary, third, new_id])
    assert c.get(f"/crm/v3/objects/contacts/{secondary}").json()["id"] == again["id"]
    batch = c.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": str(secondary)}], "properties": ["email"]},
    ).json()
    assert [x["id"] for x in batch["results"]] == [again["id"]]


def test_merge_refusals(c: httpx.Client, emu: RunningEmulator) -> None:
    one, two = live_ids(emu, "deals")[:2]
    assert (
        c.post(
            "/crm/v3/objects/deals/merge",
            json={"primaryObjectId": str(one), "objectIdToMerge": str(one)},
        ).status_code
        == 400
    )
    assert (
        c.post(
            "/crm/v3/objects/deals/merge",
            json={"primaryObjectId": str(one), "objectIdToMerge": "999999"},
        ).status_code
        == 404
    )
    assert (
        c.post("/crm/v3/objects/deals/merge", json={"primaryObjectId": str(one)}).status_code == 400
    )
    line_items = live_ids(emu, "line_items")[:2]
    refused = c.post(
        "/crm/v3/objects/line_items/merge",
        json={"primaryObjectId": str(line_items[0]), "objectIdToMerge": str(line_items[1])},
    )
    assert refused.status_code == 400
    ok = c.post(
        "/crm/objects/2026-03/deals/merge",
        json={"primaryObjectId": str(one), "objectIdToMerge": str(two)},
    )
    assert ok.status_code == 200


def test_gdpr_delete_skips_the_archived_list(c: httpx.Client, emu: RunningEmulator) -> None:
    lag_s = emu.state.search_lag_ms / 1000
    by_id, by_email = live_ids(emu, "contacts")[20:22]
    email = c.get(f"/crm/v3/objects/contacts/{by_email}", params={"properties": "email"}).json()
    companies = [link.to_id for link in emu.state.graph.links("contacts", "companies", by_id)]
    assert (
        c.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(by_id)}).status_code
        == 204
    )
    r = c.post(
        "/crm/v3/objects/contacts/gdpr-delete",
        json={"objectId": email["properties"]["email"], "idProperty": "email"},
    )
    assert r.status_code == 204
    for rid in (by_id, by_email):
        assert c.get(f"/crm/v3/objects/contacts/{rid}").status_code == 404
        assert (
            c.get(f"/crm/v3/objects/contacts/{rid}", params={"archived": "true"}).status_code == 404
        )
    listed = {int(x["id"]) for x in all_pages(c, "/crm/v3/objects/contacts", {"limit": 100})}
    archived = {
        int(x["id"])
        for x in all_pages(c, "/crm/v3/objects/contacts", {"limit": 100, "archived": "true"})
    }
    assert not {by_id, by_email} & (listed | archived)
    emu.clock.advance(lag_s)  # type: ignore[attr-defined]
    assert not _search_ids(c, "contacts", [by_id, by_email])
    for company in companies:  # its associations went with it
        back = {link.to_id for link in emu.state.graph.links("companies", "contacts", company)}
        assert by_id not in back
    unknown = c.post(
        "/crm/v3/objects/contacts/gdpr-delete",
        json={"objectId": "nobody@example.test", "idProperty": "email"},
    )
    assert unknown.status_code == 204  # HubSpot blocks an unknown address for the future
    assert (
        c.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": "999999"}).status_code
        == 404
    )
