"""Portal metadata: property definitions (v3 and legacy), schemas, owners and pipelines."""

from __future__ import annotations

import httpx


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
    tickets = c.get("/crm/v3/pipelines/tickets").json()["results"][0]
    assert tickets["createdAt"] == "1970-01-01T00:00:00Z"
    assert tickets["stages"][0]["metadata"]["ticketState"] == "OPEN"
