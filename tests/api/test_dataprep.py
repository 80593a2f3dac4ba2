"""Data Prep over HTTP: mapping sets (create, list, get, versions, mappings, delete), validation
naming the offending entries, preview, the expression listings, and Adobe's HubSpot tutorial
mapping set against Headwater's contacts columns."""

from __future__ import annotations

import hashlib

import pytest

from headwater.connectors.hubspot.schema import PropertyDef, layout_for
from headwater.connectors.hubspot.tables import STANDARD_TABLES
from tests.api.test_schemaregistry import TUTORIAL_SCHEMA

BASE = "/data/foundation/conversion"
REG = "/data/foundation/schemaregistry"


def _h(ident):
    return {**ident.headers(), "Content-Type": "application/json"}


def _schema(client, ident, title="Target schema for marketing automation"):
    r = client.post(
        f"{REG}/tenant/schemas", json={**TUTORIAL_SCHEMA, "title": title}, headers=_h(ident)
    )
    assert r.status_code == 201, r.text
    return r.json()["$id"]


def _tutorial_mapping_set(schema_id: str) -> dict:
    """Adobe's "Create a mapping" request body for Hubspot.Contacts, verbatim but for the schema id
    (help/sources/tutorials/api/collect/marketing-automation.md)."""
    return {
        "version": 0,
        "xdmSchema": schema_id,
        "xdmVersion": "1.0",
        "id": None,
        "mappings": [
            {
                "destinationXdmPath": "_id",
                "sourceAttribute": "Vid",
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            },
            {
                "destinationXdmPath": "person.name.firstName",
                "sourceAttribute": "Properties_Firstname_Value",
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            },
            {
                "destinationXdmPath": "_repo.createDate",
                "sourceAttribute": "Added_At",
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            },
        ],
    }


def _contacts_input_schema() -> dict:
    """Our Hubspot.Contacts explore columns as Data Prep's inputSchema.jsonSchema."""
    contacts = next(t for t in STANDARD_TABLES if t.name == "Hubspot.Contacts")
    props = [PropertyDef(n, "string") for n in ("firstname", "lastname", "email")]
    props.append(PropertyDef("createdate", "datetime"))
    layout = layout_for(contacts, props)
    return {
        "jsonSchema": {
            "type": "object",
            "properties": {c["name"]: c["xdm"] for c in layout.explore_columns()},
        }
    }


def test_tutorial_hubspot_mapping_set_validates_and_previews(client, ident):
    sid = _schema(client, ident)
    body = _tutorial_mapping_set(sid)
    body["inputSchema"] = _contacts_input_schema()
    r = client.post(f"{BASE}/mappingSets/validate", json=body, headers=_h(ident))
    assert r.status_code == 200, r.text
    assert [v["status"] for v in r.json()["validationResponse"]] == ["SUCCESS"] * 3
    r = client.post(f"{BASE}/mappingSets?validate=False", json=body, headers=_h(ident))
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == {
        "id",
        "version",
        "createdDate",
        "modifiedDate",
        "createdBy",
        "modifiedBy",
    }
    assert created["version"] == 0
    rows = [
        {"Id": "101", "Properties_Firstname_Value": "Ada", "Created_At": "2024-05-01T10:00:00Z"},
        {
            "Id": "102",
            "Properties_Firstname_Value": "Linus",
            "Created_At": "2024-05-02T11:30:00.250Z",
        },
    ]
    r = client.post(
        f"{BASE}/mappingSets/preview", json={"data": rows, "mappingSet": body}, headers=_h(ident)
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "data": {
                "_id": "101",
                "person": {"name": {"firstName": "Ada"}},
                "_repo": {"createDate": "2024-05-01T10:00:00Z"},
            },
            "errors": None,
        },
        {
            "data": {
                "_id": "102",
                "person": {"name": {"firstName": "Linus"}},
                "_repo": {"createDate": "2024-05-02T11:30:00.250000Z"},
            },
            "errors": None,
        },
    ]


def test_docs_create_get_versions_and_mappings(client, ident):
    sid = _schema(client, ident)
    body = {
        "outputSchema": {
            "schemaRef": {"id": sid, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
        },
        "mappings": [
            {
                "sourceType": "ATTRIBUTE",
                "source": "id",
                "destination": "_id",
                "name": "id",
                "description": "Identifier field",
            },
            {
                "sourceType": "ATTRIBUTE",
                "source": "firstName",
                "destination": "person.name.firstName",
            },
            {
                "sourceType": "ATTRIBUTE",
                "source": "lastName",
                "destination": "person.name.lastName",
            },
        ],
    }
    ms_id = client.post(f"{BASE}/mappingSets", json=body, headers=_h(ident)).json()["id"]
    got = client.get(f"{BASE}/mappingSets/{ms_id}", headers=ident.headers()).json()
    assert got["id"] == ms_id and got["version"] == 0
    assert got["mappings"][0]["sourceType"] == "text/x.schema-path"
    assert got["mappings"][0]["destinationXdmPath"] == "_id"
    assert got["xdmSchema"] == sid
    put = {
        **body,
        "mappings": [
            *body["mappings"],
            {
                "sourceType": "ATTRIBUTE",
                "source": "nationality",
                "destination": "person.nationality",
            },
        ],
    }
    r = client.put(f"{BASE}/mappingSets/{ms_id}", json=put, headers=_h(ident))
    assert r.status_code == 200 and r.json()["version"] == 1 and len(r.json()["mappings"]) == 4
    assert (
        len(
            client.get(f"{BASE}/mappingSets/{ms_id}?version=0", headers=ident.headers()).json()[
                "mappings"
            ]
        )
        == 3
    )
    assert (
        client.get(f"{BASE}/mappingSets/{ms_id}?version=7", headers=ident.headers()).status_code
        == 404
    )
    expanded = client.get(
        f"{BASE}/mappingSets/{ms_id}?expandSchema=true", headers=ident.headers()
    ).json()
    assert "person" in expanded["outputSchema"]["jsonSchema"]["properties"]
    listing = client.get(f"{BASE}/mappingSets?limit=2&start=0", headers=ident.headers()).json()
    assert [d["id"] for d in listing["data"]] == [ms_id] and listing["_page"] == {
        "count": 1,
        "limit": 2,
    }
    maps = client.get(f"{BASE}/mappingSets/{ms_id}/mappings", headers=ident.headers()).json()
    assert [m["destination"] for m in maps][-1] == "person.nationality"
    one = client.get(
        f"{BASE}/mappingSets/{ms_id}/mappings/{maps[1]['id']}", headers=ident.headers()
    )
    assert one.json()["sourceAttribute"] == "firstName"
    assert client.delete(f"{BASE}/mappingSets/{ms_id}", headers=ident.headers()).status_code == 204
    assert client.get(f"{BASE}/mappingSets/{ms_id}", headers=ident.headers()).status_code == 404


def test_invalid_mapping_sets_name_the_entry(client, ident):
    sid = _schema(client, ident)
    body = {
        "outputSchema": {"schemaRef": {"id": sid}},
        "inputSchema": {
            "jsonSchema": {
                "type": "object",
                "properties": {
                    "email": {"type": "string"},
                    "age": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "emial", "destination": "personalEmail.address"},
            {"sourceType": "ATTRIBUTE", "source": "email", "destination": "person.nmae.firstName"},
            {
                "sourceType": "EXPRESSION",
                "source": "lowr(email)",
                "destination": "person.name.lastName",
            },
            {"sourceType": "ATTRIBUTE", "source": "tags", "destination": "person.birthYear"},
            {
                "sourceType": "EXPRESSION",
                "source": "concat(email,",
                "destination": "person.name.middleName",
            },
            {"sourceType": "ATTRIBUTE", "source": "email", "destination": "personalEmail.address"},
        ],
    }
    r = client.post(f"{BASE}/mappingSets", json=body, headers=_h(ident))
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["type"].endswith("FLOW-2250-400")
    details = {d["field"]: d["message"] for d in err["report"]["details"]}
    assert details["mappings[0]"].startswith("unknown-source") and "emial" in details["mappings[0]"]
    assert (
        details["mappings[1]"].startswith("unknown-destination")
        and "person.nmae.firstName" in details["mappings[1]"]
    )
    assert (
        details["mappings[2]"].startswith("unknown-function") and "lowr" in details["mappings[2]"]
    )
    assert details["mappings[3]"].startswith("type-mismatch")
    assert details["mappings[4]"].startswith("syntax")
    assert "mappings[5]" not in details
    v = client.post(f"{BASE}/mappingSets/validate", json=body, headers=_h(ident)).json()[
        "validationResponse"
    ]
    assert [x["status"] for x in v] == ["FAILED"] * 5 + ["SUCCESS"]
    assert v[0]["errors"][0]["source"] == "emial"
    r = client.post(
        f"{BASE}/mappingSets",
        json={
            **body,
            "outputSchema": {"schemaRef": {"id": "https://ns.adobe.com/x/schemas/abc"}},
            "mappings": body["mappings"][5:],
        },
        headers=_h(ident),
    )
    assert r.status_code == 400 and "not in the Schema Registry" in r.json()["errorMessage"]


def test_preview_reports_row_errors_with_column(client, ident):
    sid = _schema(client, ident)
    mset = {
        "outputSchema": {"schemaRef": {"id": sid}},
        "mappings": [
            {"sourceType": "ATTRIBUTE", "source": "id", "destination": "_id"},
            {
                "sourceType": "EXPRESSION",
                "source": "to_integer(year)",
                "destination": "person.birthYear",
            },
            {
                "sourceType": "EXPRESSION",
                "source": "lower(trim(mail))",
                "destination": "personalEmail.address",
            },
            {"sourceType": "EXPRESSION", "source": "sha256(mail)", "destination": "personID"},
        ],
    }
    data = [
        {"id": 1, "year": "1990", "mail": " Ada@X.io "},
        {"id": 2, "year": "19x0", "mail": "b@y.io"},
    ]
    out = client.post(
        f"{BASE}/mappingSets/preview", json={"data": data, "mappingSet": mset}, headers=_h(ident)
    ).json()
    assert out[0]["data"]["person"] == {"birthYear": 1990}
    assert out[0]["data"]["personalEmail"] == {"address": "ada@x.io"}
    assert out[0]["data"]["personID"] == hashlib.sha256(b" Ada@X.io ").hexdigest()
    assert out[0]["errors"] is None
    assert "person" not in out[1]["data"] and out[1]["data"]["_id"] == "2"
    (err,) = out[1]["errors"]
    assert err["columnName"] == "year" and err["destination"] == "person.birthYear"
    single = client.post(
        f"{BASE}/mappingSets/preview", json={"data": data[0], "mappingSet": mset}, headers=_h(ident)
    ).json()
    assert single["data"]["_id"] == "1"


def test_language_listings_and_expression_validation(client, ident):
    fns = client.get(f"{BASE}/languages/el/functions", headers=ident.headers()).json()
    names = {f["function"] for f in fns}
    for required in (
        "concat",
        "lower",
        "upper",
        "trim",
        "substr",
        "split",
        "iif",
        "nvl",
        "to_integer",
        "to_float",
        "to_bool",
        "date",
        "now",
        "uuid",
        "sha256",
        "md5",
        "explode",
        "join",
    ):
        assert required in names
    date = next(f for f in fns if f["function"] == "date")
    assert date["category"] == "Date / Time" and date["returnType"] == "java.time.ZonedDateTime"
    ops = client.get(f"{BASE}/languages/el/operators", headers=ident.headers()).json()
    assert {"+", "/", "~", "-", "!"} <= {o["operatorSymbol"] for o in ops}
    assert all(
        set(o) == {"operatorSymbol", "methodName", "numberOfOperands", "description", "example"}
        for o in ops
    )
    r = client.post(
        f"{BASE}/languages/el/validate",
        json={"expression": 'concat("Hi", ",", "there", "!")'},
        headers=_h(ident),
    )
    assert r.status_code == 200 and r.json() is True
    r = client.post(
        f"{BASE}/languages/el/validate",
        json={"expression": {"expression": 'concat("a"'}},
        headers=_h(ident),
    )
    assert r.status_code == 400


@pytest.mark.parametrize("path", ["/mappingSets", "/languages/el/functions"])
def test_gateway_checks_apply(client, path):
    r = client.get(f"{BASE}{path}")
    assert r.status_code == 403 and r.json()["error_code"] == "403010"


def test_mapping_sets_are_tenant_scoped(client, ident, ctx):
    from tests.conftest import new_identity

    body = {"mappings": [{"sourceType": "ATTRIBUTE", "source": "a", "destination": "b"}]}
    ms_id = client.post(f"{BASE}/mappingSets", json=body, headers=_h(ident)).json()["id"]
    other = new_identity(ctx)
    assert client.get(f"{BASE}/mappingSets/{ms_id}", headers=other.headers()).status_code == 404
    assert (
        client.get(f"{BASE}/mappingSets/{ms_id}", headers=ident.headers(sandbox="prod")).status_code
        == 200
    )
