"""Schema Registry subset over HTTP: the tutorial's target schema, lookups by $id and meta:altId
with Adobe's Accept variants, PATCH, DELETE, field groups and the documented errors."""

from __future__ import annotations

from urllib.parse import quote

import pyarrow as pa
import pytest

from headwater.services.schemas import resolve_schema

BASE = "/data/foundation/schemaregistry"
FULL = "application/vnd.adobe.xed-full+json; version=1"
RAW = "application/vnd.adobe.xed+json; version=1"

# The request body of Adobe's "Create a target XDM schema" step, verbatim
# (help/sources/tutorials/api/collect/marketing-automation.md).
TUTORIAL_SCHEMA = {
    "type": "object",
    "title": "Target schema for marketing automation",
    "description": "Target schema for marketing automation",
    "allOf": [
        {"$ref": "https://ns.adobe.com/xdm/context/profile"},
        {"$ref": "https://ns.adobe.com/xdm/context/profile-person-details"},
        {"$ref": "https://ns.adobe.com/xdm/context/profile-personal-details"},
    ],
    "meta:containerId": "tenant",
    "meta:resourceType": "schemas",
    "meta:xdmType": "object",
    "meta:class": "https://ns.adobe.com/xdm/context/profile",
}


def _h(ident, **extra):
    return {**ident.headers(), "Content-Type": "application/json", **extra}


def test_tutorial_schema_create_lookup_full_and_raw(client, ident):
    r = client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident))
    assert r.status_code == 201, r.text
    created = r.json()
    sid, alt = created["$id"], created["meta:altId"]
    tid = client.get(f"{BASE}/stats", headers=ident.headers()).json()["tenantId"]
    assert sid.startswith(f"https://ns.adobe.com/{tid}/schemas/")
    assert alt == f"_{tid}.schemas.{sid.rsplit('/', 1)[1]}"
    assert created["meta:class"] == "https://ns.adobe.com/xdm/context/profile"
    assert created["version"] == "1.0"
    assert "https://ns.adobe.com/xdm/data/record" in created["meta:extends"]
    assert all(p["meta:xdmType"] == "object" for p in created["allOf"])

    full = client.get(
        f"{BASE}/tenant/schemas/{quote(sid, safe='')}", headers=_h(ident, Accept=FULL)
    )
    assert full.status_code == 200, full.text
    props = full.json()["properties"]
    assert props["person"]["properties"]["name"]["properties"]["firstName"]["type"] == "string"
    assert props["personalEmail"]["properties"]["address"]["format"] == "email"
    assert props["_repo"]["properties"]["createDate"]["format"] == "date-time"
    assert "allOf" not in full.json()

    raw = client.get(f"{BASE}/tenant/schemas/{alt}", headers=_h(ident, Accept=RAW))
    assert raw.status_code == 200
    assert raw.json()["allOf"][0]["$ref"] == "https://ns.adobe.com/xdm/context/profile"
    assert "properties" not in raw.json()

    notext = client.get(
        f"{BASE}/tenant/schemas/{alt}",
        headers=_h(ident, Accept="application/vnd.adobe.xdm-full-notext+json; version=1"),
    ).json()
    assert "title" not in notext["properties"]["person"]

    listing = client.get(
        f"{BASE}/tenant/schemas", headers=_h(ident, Accept="application/vnd.adobe.xed-id+json")
    ).json()
    assert listing["results"] == [
        {"$id": sid, "meta:altId": alt, "version": "1.0", "title": TUTORIAL_SCHEMA["title"]}
    ]
    assert listing["_page"]["count"] == 1


def test_resolve_schema_gives_nested_arrow(client, ident, ctx, tenant_of):
    sid = client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident)).json()[
        "$id"
    ]
    resolved = resolve_schema(ctx, tenant_of(ident), {"id": sid, "contentType": FULL})
    person = resolved.arrow.field("person").type
    assert person.field("name").type.field("firstName").type == pa.string()
    assert resolved.arrow.field("_repo").type.field("createDate").type == pa.timestamp(
        "ms", tz="UTC"
    )
    assert person.field("birthYear").type == pa.int16()
    assert "personalEmail.address" in {leaf.dotted for leaf in resolved.fields}


def test_accept_header_errors_and_not_found(client, ident):
    sid = client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident)).json()[
        "$id"
    ]
    ref = quote(sid, safe="")
    r = client.get(
        f"{BASE}/tenant/schemas/{ref}", headers=_h(ident, Accept="application/vnd.adobe.xed+json")
    )
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "http://ns.adobe.com/aep/errors/XDM-1006-400"
    assert "version must be supplied" in body["detail"]
    assert body["report"]["detailed-message"] == body["detail"]
    r = client.get(f"{BASE}/tenant/schemas", headers=_h(ident, Accept=FULL))
    assert r.status_code == 400 and "must not be supplied" in r.json()["detail"]
    r = client.get(f"{BASE}/tenant/schemas/{ref}", headers=_h(ident, Accept="xed+json"))
    assert r.json()["type"].endswith("XDM-1006-400")
    missing = quote(sid[:-4] + "abcd", safe="")
    r = client.get(f"{BASE}/tenant/schemas/{missing}", headers=_h(ident, Accept=FULL))
    assert r.status_code == 404
    assert r.json()["type"] == "http://ns.adobe.com/aep/errors/XDM-1010-404"
    assert "with version 1 is not found" in r.json()["detail"]


def test_title_unique_and_bad_allof(client, ident):
    assert (
        client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident)).status_code
        == 201
    )
    r = client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident))
    assert r.status_code == 400 and r.json()["type"].endswith("XDM-1521-400")
    r = client.post(
        f"{BASE}/tenant/schemas",
        json={
            "title": "No class",
            "allOf": [{"$ref": "https://ns.adobe.com/xdm/context/profile-person-details"}],
        },
        headers=_h(ident),
    )
    assert r.status_code == 400 and "exactly one class" in r.json()["detail"]
    r = client.post(
        f"{BASE}/tenant/schemas",
        json={"title": "Unknown", "allOf": [{"$ref": "https://ns.adobe.com/xdm/context/nope"}]},
        headers=_h(ident),
    )
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]


def test_patch_adds_field_group_and_delete(client, ident):
    body = {**TUTORIAL_SCHEMA, "allOf": TUTORIAL_SCHEMA["allOf"][:2], "title": "Patch me"}
    created = client.post(f"{BASE}/tenant/schemas", json=body, headers=_h(ident)).json()
    alt = created["meta:altId"]
    ops = [
        {
            "op": "add",
            "path": "/allOf/-",
            "value": {"$ref": "https://ns.adobe.com/xdm/context/profile-personal-details"},
        },
        {"op": "add", "path": "/meta:immutableTags", "value": ["union"]},
    ]
    r = client.patch(f"{BASE}/tenant/schemas/{alt}", json=ops, headers=_h(ident))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "1.1"
    assert r.json()["meta:immutableTags"] == ["union"]
    assert "https://ns.adobe.com/xdm/context/profile-personal-details" in r.json()["meta:extends"]
    r = client.patch(
        f"{BASE}/tenant/schemas/{alt}",
        json=[{"op": "replace", "path": "/$id", "value": "x"}],
        headers=_h(ident),
    )
    assert r.status_code == 400
    assert client.delete(f"{BASE}/tenant/schemas/{alt}", headers=ident.headers()).status_code == 204
    assert (
        client.get(f"{BASE}/tenant/schemas/{alt}", headers=_h(ident, Accept=FULL)).status_code
        == 404
    )


def test_standard_classes_and_field_groups_are_read_only(client, ident):
    r = client.get(
        f"{BASE}/global/classes/{quote('https://ns.adobe.com/xdm/context/profile', safe='')}",
        headers=_h(ident, Accept=FULL),
    )
    assert r.status_code == 200 and r.json()["title"] == "XDM Individual Profile"
    assert "_id" in r.json()["properties"]
    groups = client.get(
        f"{BASE}/global/fieldgroups",
        params={"property": "meta:intendedToExtend==https://ns.adobe.com/xdm/context/profile"},
        headers=_h(ident, Accept="application/vnd.adobe.xed-id+json"),
    ).json()["results"]
    assert {g["title"] for g in groups} == {"Demographic Details", "Personal Contact Details"}
    r = client.post(f"{BASE}/global/classes", json={"title": "x"}, headers=_h(ident))
    assert r.status_code == 405
    for ref, title in (
        ("https://ns.adobe.com/xdm/context/account", "XDM Business Account"),
        ("https://ns.adobe.com/xdm/context/opportunity", "XDM Business Opportunity"),
    ):
        r = client.get(
            f"{BASE}/global/classes/{quote(ref, safe='')}", headers=_h(ident, Accept=FULL)
        )
        assert r.status_code == 200 and r.json()["title"] == title, r.text
    # neither the global paths nor the tenant ones change a standard resource
    person = quote("https://ns.adobe.com/xdm/context/profile-person-details", safe="")
    patch = [{"op": "replace", "path": "/title", "value": "Mine"}]
    assert (
        client.patch(
            f"{BASE}/global/fieldgroups/{person}", json=patch, headers=_h(ident)
        ).status_code
        == 405
    )
    assert (
        client.put(
            f"{BASE}/global/fieldgroups/{person}", json={"title": "Mine"}, headers=_h(ident)
        ).status_code
        == 405
    )
    assert (
        client.delete(f"{BASE}/global/fieldgroups/{person}", headers=_h(ident)).status_code == 405
    )
    r = client.patch(f"{BASE}/tenant/fieldgroups/{person}", json=patch, headers=_h(ident))
    assert r.status_code == 404 and r.json()["type"].endswith("XDM-1010-404")
    r = client.delete(f"{BASE}/tenant/fieldgroups/{person}", headers=_h(ident))
    assert r.status_code == 404
    r = client.get(f"{BASE}/global/fieldgroups/{person}", headers=_h(ident, Accept=FULL))
    assert r.json()["title"] == "Demographic Details"


def test_tenant_field_group_namespace_and_use(client, ident):
    tid = client.get(f"{BASE}/stats", headers=ident.headers()).json()["tenantId"]
    fg = {
        "title": "HubSpot extras",
        "type": "object",
        "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/profile"],
        "definitions": {
            "extras": {
                "properties": {
                    f"_{tid}": {
                        "type": "object",
                        "properties": {"lifecycleStage": {"type": "string", "title": "Lifecycle"}},
                    }
                }
            }
        },
        "allOf": [{"$ref": "#/definitions/extras"}],
    }
    r = client.post(f"{BASE}/tenant/fieldgroups", json=fg, headers=_h(ident))
    assert r.status_code == 201, r.text
    fg_id = r.json()["$id"]
    assert "/mixins/" in fg_id
    bad = {
        **fg,
        "title": "Bad",
        "definitions": {"extras": {"properties": {"loose": {"type": "string"}}}},
    }
    r = client.post(f"{BASE}/tenant/fieldgroups", json=bad, headers=_h(ident))
    assert r.status_code == 400 and r.json()["type"].endswith("XDM-1021-400")
    schema = {
        "title": "With extras",
        "allOf": [{"$ref": "https://ns.adobe.com/xdm/context/profile"}, {"$ref": fg_id}],
    }
    sid = client.post(f"{BASE}/tenant/schemas", json=schema, headers=_h(ident)).json()["$id"]
    full = client.get(
        f"{BASE}/tenant/schemas/{quote(sid, safe='')}", headers=_h(ident, Accept=FULL)
    ).json()
    assert full["properties"][f"_{tid}"]["properties"]["lifecycleStage"]["meta:xdmType"] == "string"
    r = client.delete(f"{BASE}/tenant/fieldgroups/{quote(fg_id, safe='')}", headers=ident.headers())
    assert r.status_code == 400


def test_registry_is_scoped_to_org_and_sandbox(client, ident, ctx):
    from tests.conftest import new_identity

    sid = client.post(f"{BASE}/tenant/schemas", json=TUTORIAL_SCHEMA, headers=_h(ident)).json()[
        "$id"
    ]
    other = new_identity(ctx)
    r = client.get(f"{BASE}/tenant/schemas/{quote(sid, safe='')}", headers=_h(other, Accept=FULL))
    assert r.status_code == 404
    r = client.get(f"{BASE}/tenant/schemas", headers={"x-api-key": "x", "Accept": FULL})
    assert r.status_code in {401, 403}


@pytest.mark.parametrize("path", ["/tenant/schemas/", "/tenant/schemas"])
def test_trailing_slash_list_and_create(client, ident, path):
    r = client.post(
        f"{BASE}{path}", json={**TUTORIAL_SCHEMA, "title": f"slash {path}"}, headers=_h(ident)
    )
    assert r.status_code == 201
    r = client.get(f"{BASE}{path}", headers=_h(ident, Accept="application/vnd.adobe.xed+json"))
    assert r.status_code == 200 and r.json()["results"][0]["allOf"]
