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


def test_a_created_stage_is_listed_on_every_pipeline_path(c: httpx.Client) -> None:
    before = c.get("/crm/v3/pipelines/deals/enterprise").json()
    made = c.post(
        "/crm/v3/pipelines/deals/enterprise/stages",
        json={"label": "Legal review", "displayOrder": 2, "metadata": {"probability": "0.7"}},
    )
    assert made.status_code == 201, made.text
    stage = made.json()
    assert stage["id"].isdigit() and stage["label"] == "Legal review"
    assert stage["displayOrder"] == 2
    assert stage["metadata"] == {"isClosed": "false", "probability": "0.7"}
    assert stage["createdAt"] == stage["updatedAt"] != before["stages"][0]["createdAt"]
    after = c.get("/crm/pipelines/2026-03/deals/enterprise").json()
    assert [s["id"] for s in after["stages"]] == [
        *(s["id"] for s in before["stages"][:2]),
        stage["id"],
        *(s["id"] for s in before["stages"][2:]),
    ]
    assert after["updatedAt"] == stage["createdAt"]
    listed = c.get("/crm/v3/pipelines/deals/enterprise/stages").json()["results"]
    assert stage in listed
    ticket = c.post(
        "/crm/v3/pipelines/tickets/0/stages",
        json={"label": "On hold", "displayOrder": 99, "metadata": {"ticketState": "OPEN"}},
    ).json()
    assert c.get("/crm/v3/pipelines/tickets/0").json()["stages"][-1] == ticket


def test_stage_writes_are_validated_like_hubspots(c: httpx.Client) -> None:
    path = "/crm/v3/pipelines/deals/default/stages"
    for body in (
        {"displayOrder": 1, "metadata": {"probability": "0.5"}},
        {"label": "No order", "metadata": {"probability": "0.5"}},
        {"label": "No probability", "displayOrder": 1, "metadata": {}},
        {"label": "Too likely", "displayOrder": 1, "metadata": {"probability": "1.5"}},
    ):
        r = c.post(path, json=body)
        assert r.status_code == 400, body
        assert r.json()["category"] == "VALIDATION_ERROR"
    bad_state = {"label": "Limbo", "displayOrder": 1, "metadata": {"ticketState": "MAYBE"}}
    assert c.post("/crm/v3/pipelines/tickets/0/stages", json=bad_state).status_code == 400
    missing = {"label": "Nowhere", "displayOrder": 0, "metadata": {"probability": "0.1"}}
    assert c.post("/crm/v3/pipelines/deals/nope/stages", json=missing).status_code == 404
