"""Shapes, aliases and paging rules from the reference's emulator checklist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headwater.emulator.hubspot import (
    EmulatorConfig,
    ManualClock,
    RunningEmulator,
    create_app,
    serve_in_thread,
)

from .helpers import api

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CONFIG = {
    "contacts": 450,
    "companies": 60,
    "deals": 80,
    "tickets": 40,
    "engagements": 20,
    "line_items": 30,
    "custom_records": 25,
    "products": 10,
}


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(**CONFIG, clock=ManualClock())) as running:
        yield running


@pytest.fixture
def c(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with api(emu) as client:
        yield client


def _all_pages(c: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = c.get(url, params=params).json()
    while True:
        out.extend(page["results"])
        if "paging" not in page:
            return out
        assert page["paging"], "paging must be omitted, never empty"
        page = c.get(page["paging"]["next"]["link"]).json()


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
    rows = _all_pages(
        c, "/crm/v3/objects/contacts", {"limit": 100, "properties": "email,firstname"}
    )
    store = emu.state.stores["contacts"]
    live = [i for i in range(1, store.size + 1) if not store.is_archived(i)]
    assert [int(r["id"]) for r in rows] == live
    archived = _all_pages(c, "/crm/v3/objects/contacts", {"limit": 100, "archived": "true"})
    assert [int(r["id"]) for r in archived] == [
        i for i in range(1, store.size + 1) if store.is_archived(i)
    ]
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


def test_properties_v3_and_legacy_shapes(c: httpx.Client) -> None:
    v3 = c.get("/crm/v3/properties/contacts").json()
    assert isinstance(v3, dict)
    assert all(
        {"name", "label", "type", "fieldType", "groupName", "description", "options"} <= set(p)
        for p in v3["results"]
    )
    assert {p["type"] for p in v3["results"]} >= {
        "string",
        "number",
        "bool",
        "date",
        "datetime",
        "enumeration",
        "phone_number",
    }
    for path in (
        "/properties/v2/contact/properties",
        "/properties/v1/deals/properties",
        "/companies/v2/properties",
        "/properties/v2/line_item/properties",
    ):
        legacy = c.get(path).json()
        assert isinstance(legacy, list), path
        assert isinstance(legacy[0]["createdAt"], int)
    assert c.get("/crm/properties/2026-03/contacts").json()["results"] == v3["results"]
    assert c.get("/crm/v3/properties/contacts/email").json()["name"] == "email"


def test_owners_schemas_pipelines_both_paths(c: httpx.Client) -> None:
    slash = c.get("/crm/v3/owners/").json()
    assert slash == c.get("/crm/v3/owners").json()
    assert all(o["type"] in ("PERSON", "QUEUE") for o in slash["results"])
    small = c.get("/crm/v3/owners", params={"limit": 5}).json()
    assert len(small["results"]) == 5
    assert small["paging"]["next"]["link"].startswith("http://")
    assert c.get("/crm/v3/schemas").json() == c.get("/crm-object-schemas/v3/schemas").json()
    legacy = c.get("/crm-pipelines/v1/pipelines/deals").json()
    assert legacy["results"][0]["stages"][0]["stageId"] == "appointmentscheduled"
    assert isinstance(c.get("/deals/v1/pipelines").json(), list)
    tickets = c.get("/crm/v3/pipelines/tickets").json()["results"][0]
    assert tickets["createdAt"] == "1970-01-01T00:00:00Z"
    assert tickets["stages"][0]["metadata"]["ticketState"] == "OPEN"


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


def test_uri_too_long(c: httpx.Client) -> None:
    long_props = ",".join(f"prop_{i:05d}" for i in range(1_700))
    assert c.get("/crm/v3/objects/contacts", params={"properties": long_props}).status_code == 414


def test_admin_touch_archive_and_counters(emu: RunningEmulator) -> None:
    clock = emu.clock
    with httpx.Client(base_url=emu.base_url) as admin, api(emu) as c:
        admin.post("/_emulator/stats/reset")
        since = clock.now_ms() + 1
        clock.advance(1)  # type: ignore[attr-defined]
        touched = admin.post(
            "/_emulator/touch", json={"objectType": "companies", "count": 7}
        ).json()["ids"]
        assert len(touched) == 7
        found = c.post(
            "/crm/v3/objects/companies/search",
            json={
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)}
                ],
                "limit": 100,
            },
        ).json()
        assert sorted(r["id"] for r in found["results"]) == sorted(touched)
        gone = admin.post(
            "/_emulator/archive", json={"objectType": "companies", "count": 3}
        ).json()["ids"]
        archived_ids = {
            r["id"]
            for r in _all_pages(c, "/crm/v3/objects/companies", {"archived": "true", "limit": 100})
        }
        assert set(gone) <= archived_ids
        stats = admin.get("/_emulator/stats").json()
        assert stats["requests"]["objects.search"] == 1
        assert stats["requests"]["objects.list"] >= 1
        info = admin.get("/_emulator/info").json()
        assert info["private_app_token"] == emu.private_app_token


def test_same_seed_same_bytes() -> None:
    import asyncio

    async def page(seed: int) -> bytes:
        app = create_app(EmulatorConfig(seed=seed, **CONFIG, clock=ManualClock()))
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


def test_contact_lists_search_and_memberships(c: httpx.Client, emu: RunningEmulator) -> None:
    found = c.post(
        "/crm/v3/lists/search",
        json={"count": 10, "offset": 0, "sort": "-HS_UPDATED_AT", "query": ""},
    ).json()
    assert found["total"] == 30
    assert found["hasMore"] is True
    assert found["offset"] == 10
    stamps = [x["updatedAt"] for x in found["lists"]]
    assert stamps == sorted(stamps, reverse=True)
    first = found["lists"][0]
    size = int(first["additionalProperties"]["hs_list_size"])
    members: list[int] = []
    url = f"/crm/v3/lists/{first['listId']}/memberships"
    page = c.get(url, params={"limit": 250}).json()
    while True:
        members.extend(int(m["recordId"]) for m in page["results"])
        if "paging" not in page:
            break
        page = c.get(page["paging"]["next"]["link"]).json()
    store = emu.state.stores["contacts"]
    assert members == sorted(members)
    assert len(members) == size - sum(
        1
        for m in range(1, store.size + 1)
        if store.is_archived(m) and emu.state.lists[int(first["listId"]) - 1].contains(m)
    )
    assert c.post("/crm/v3/lists/search", json={"offset": 10_000}).status_code == 400
    assert c.get("/crm/v3/lists/999").status_code == 404
    assert c.get(f"/crm/v3/lists/{first['listId']}").json()["list"]["name"] == first["name"]


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
    assert [d["dealId"] for d in deals] == [
        i for i in range(1, store.size + 1) if not store.is_archived(i)
    ]
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


def test_standard_types_without_records_are_addressable(c: httpx.Client) -> None:
    assert c.get("/crm/v3/objects/quotes").json() == {"results": []}
    assert c.get("/crm/v3/objects/0-136", params={"limit": 5}).json() == {"results": []}
    assert c.get("/crm/v3/properties/quotes").json()["results"]
    with_quotes = c.get(
        "/crm/v3/objects/contacts",
        params={"limit": 2, "associations": "deals,quotes,conversations"},
    )
    assert with_quotes.status_code == 200
    assert all("quotes" not in r.get("associations", {}) for r in with_quotes.json()["results"])


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
    store = emu.state.stores["line_items"]
    assert rows == [i for i in range(1, store.size + 1) if not store.is_archived(i)]


def test_v4_batch_pages_each_source_record_and_inline_associations_truncate() -> None:
    config = EmulatorConfig(
        contacts=2_400,
        companies=2,
        deals=5,
        tickets=5,
        engagements=2,
        line_items=2,
        custom_records=2,
        products=2,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as emu, api(emu) as c:
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
