"""Tenant isolation, attacked: two orgs with two sandboxes each, one of every resource in each
tenant, and every route the app serves tried from every other tenant with the victim's ids.
Nothing crosses: every by-id route answers 404, no listing, filter, search, continuation token,
webhook delivery or UI page of one tenant shows an id of another, and a reference to another
tenant's resource in a create body is refused.

The matrix is generated from the app's own OpenAPI document and route table: a route that is
neither covered here nor exempted (with the reason) fails the test, so a new route is covered
or consciously exempted."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.engine.worker import Worker
from headwater.services import identity, sources, webhooks
from headwater.services.context import ServiceContext
from headwater.store import tables
from headwater.ui import session as sess
from tests.api.test_schemaregistry import FULL, TUTORIAL_SCHEMA
from tests.conftest import Identity, new_identity
from tests.flows import CAT, FS, build_flow, oauth_params

REG = "/data/foundation/schemaregistry"
CONV = "/data/foundation/conversion"
EXPORT = "/data/foundation/export"

#: Routes with no tenant data behind them, or covered by another test here; each says why.
EXEMPT: dict[tuple[str, str], str] = {
    ("POST", "/ims/token/v3"): "issues tokens; no tenant resource (tests/api/test_tokens.py)",
    ("POST", "/ims/revoke"): "revokes a token by its value; no tenant resource",
    ("GET", "/health/live"): "no tenant data",
    ("GET", "/health/ready"): "no tenant data",
    ("GET", "/metrics"): "process metrics, no tenant data",
    ("GET", FS + "/connectionSpecs"): "global catalogue, the same for every tenant",
    ("GET", FS + "/connectionSpecs/{CONNECTION_SPEC_ID}"): "global catalogue",
    ("GET", FS + "/flowSpecs"): "global catalogue",
    ("GET", FS + "/flowSpecs/{FLOW_SPEC_ID}"): "global catalogue",
    ("GET", REG + "/global/classes"): "global XDM classes",
    ("GET", REG + "/global/classes/{CLASS_ID}"): "global XDM classes",
    ("GET", REG + "/global/fieldgroups"): "global XDM field groups",
    ("GET", REG + "/global/fieldgroups/{FIELD_GROUP_ID}"): "global XDM field groups",
    ("GET", REG + "/stats"): "the caller's own tenant id only (checked in the list pass)",
    ("GET", CONV + "/languages/el/functions"): "global function catalogue",
    ("GET", CONV + "/languages/el/operators"): "global operator catalogue",
    ("POST", CONV + "/languages/el/validate"): "stateless expression check",
    (
        "POST",
        CONV + "/mappingSets/validate",
    ): "stateless; schema references: foreign-reference pass",
    ("POST", CONV + "/mappingSets/preview"): "stateless; schema references: foreign-reference pass",
    ("GET", "/ui"): "redirect to sign-in or monitoring",
    ("GET", "/ui/"): "redirect to sign-in or monitoring",
    ("GET", "/ui/sign-in"): "the sign-in form",
    ("POST", "/ui/sign-in"): "sign-in (tests/api/test_tokens.py rate limit)",
    ("POST", "/ui/sign-out"): "ends the caller's own session",
    (
        "POST",
        "/ui/sandbox",
    ): "a sandbox of the session's own org; the gateway checks it per request",
    ("GET", "/ui/sources/{spec_id}/connect"): "form for a global connection spec",
    ("POST", "/ui/sources/{spec_id}/connect"): "creates in the caller's tenant",
    ("POST", "/ui/sources/{spec_id}/oauth"): "starts OAuth for the caller's tenant",
    ("GET", "/ui/oauth/callback"): "state bound to the caller's encrypted OAuth cookie",
    ("GET", "/ui/oauth/finish"): "state bound to the caller's encrypted OAuth cookie",
    ("GET", "/ui/dataflows/new"): "wizard; its account list is checked in the list pass",
    ("POST", "/ui/dataflows/new"): "creates in the caller's tenant (foreign ids: see the test)",
}

#: Creates: checked by the foreign-reference pass (a body naming another tenant's resource).
CREATES = {
    ("POST", FS + "/connections"),
    ("POST", FS + "/sourceConnections"),
    ("POST", FS + "/targetConnections"),
    ("POST", FS + "/flows"),
    ("POST", FS + "/runs"),
    ("POST", FS + "/webhooks"),
    ("POST", CAT + "/dataSets"),
    ("POST", REG + "/tenant/schemas"),
    ("POST", REG + "/tenant/fieldgroups"),
    ("POST", CONV + "/mappingSets"),
}

PATCH_NAME = [{"op": "replace", "path": "/name", "value": "crossed"}]


@dataclass
class Tenant:
    ident: Identity
    sandbox: str
    ids: dict[str, str] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.ident.org_id[:6]}/{self.sandbox}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.ident.headers(self.sandbox), **extra}


def _seed(client: TestClient, t: Tenant, emu: Any) -> None:
    """One of every resource type, in tenant ``t``; a run that lands a batch."""
    ident = t.ident
    view = Identity(ident.org_id, ident.client_id, ident.client_secret, ident.token)
    view.headers = t.headers  # type: ignore[method-assign]
    made = build_flow(client, view, oauth_params(emu))
    h = t.headers()
    flow = client.get(f"{FS}/flows/{made['flow']}", headers=h).json()["items"][0]
    t.ids |= {
        "BASE_CONNECTION_ID": made["base"],
        "SOURCE_CONNECTION_ID": made["source"],
        "TARGET_CONNECTION_ID": flow["targetConnectionIds"][0],
        "FLOW_ID": made["flow"],
        "DATASET_ID": made["dataset"],
    }
    js = {**h, "Content-Type": "application/json"}
    schema = client.post(
        f"{REG}/tenant/schemas", json={**TUTORIAL_SCHEMA, "title": f"s {t.label}"}, headers=js
    )
    assert schema.status_code == 201, schema.text
    t.ids["SCHEMA_ID"] = schema.json()["$id"]
    tid = client.get(f"{REG}/stats", headers=h).json()["tenantId"]
    fg = client.post(
        f"{REG}/tenant/fieldgroups",
        json={
            "title": f"fg {t.label}",
            "type": "object",
            "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/profile"],
            "definitions": {
                "x": {
                    "properties": {
                        f"_{tid}": {"type": "object", "properties": {"a": {"type": "string"}}}
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/x"}],
        },
        headers=js,
    )
    assert fg.status_code == 201, fg.text
    t.ids["FIELD_GROUP_ID"] = fg.json()["$id"]
    ms = client.post(
        f"{CONV}/mappingSets",
        json={
            "outputSchema": {"schemaRef": {"id": t.ids["SCHEMA_ID"], "contentType": FULL}},
            "mappings": [{"sourceType": "ATTRIBUTE", "source": "id", "destination": "_id"}],
        },
        headers=js,
    )
    assert ms.status_code == 200, ms.text
    t.ids["MAPPING_SET_ID"] = ms.json()["id"]
    got = client.get(f"{CONV}/mappingSets/{ms.json()['id']}", headers=h).json()
    t.ids["MAPPING_ID"] = got["mappings"][0]["id"]
    hook = client.post(
        f"{FS}/webhooks",
        json={
            "name": f"hook {t.label}",
            "url": "http://127.0.0.1:9/hook",
            "events": ["flow.run.started", "flow.run.succeeded", "flow.run.failed"],
        },
        headers=js,
    )
    assert hook.status_code == 201, hook.text
    t.ids["WEBHOOK_ID"] = hook.json()["id"]


def _finish_seed(client: TestClient, t: Tenant) -> None:
    h = t.headers()
    runs = client.get(
        f"{FS}/runs", params={"property": f"flowId=={t.ids['FLOW_ID']}"}, headers=h
    ).json()["items"]
    assert len(runs) == 1 and runs[0]["metrics"]["statusSummary"]["status"] == "success", runs
    t.ids["RUN_ID"] = runs[0]["id"]
    batches = client.get(f"{CAT}/batches", params={"dataSet": t.ids["DATASET_ID"]}, headers=h)
    assert batches.status_code == 200 and len(batches.json()) == 1, batches.text
    t.ids["BATCH_ID"] = next(iter(batches.json()))
    for key, path in (
        ("BASE_CONNECTION_ID", "connections"),
        ("SOURCE_CONNECTION_ID", "sourceConnections"),
        ("TARGET_CONNECTION_ID", "targetConnections"),
        ("FLOW_ID", "flows"),
    ):
        r = client.get(f"{FS}/{path}/{t.ids[key]}", headers=h)
        t.etags[key] = r.json()["items"][0]["etag"]


@dataclass
class World:
    client: TestClient
    ctx: ServiceContext
    tenants: list[Tenant]


@pytest.fixture
def world(ctx: ServiceContext) -> Iterator[World]:
    with serve_in_thread(
        EmulatorConfig(contacts=12, companies=2, deals=2, tickets=2, rate_limit="none")
    ) as emu:
        ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
        webhooks.install(ctx)
        with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
            tenants = []
            for _org in range(2):
                ident = new_identity(ctx)
                identity.create_sandbox(ctx, org_id=ident.org_id, name="dev")
                client.app.state.gateway.forget()  # type: ignore[attr-defined]
                tenants += [Tenant(ident, "prod"), Tenant(ident, "dev")]
            for t in tenants:
                _seed(client, t, emu)
            Worker(ctx, open_connector=sources.open_connector, name="iso").run_until_idle()
            for t in tenants:
                _finish_seed(client, t)
            yield World(client, ctx, tenants)


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    doc = client.app.openapi()  # type: ignore[attr-defined]
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}


def _ui_routes(client: TestClient) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + (r.include_context.prefix or ""))
            elif hasattr(r, "path") and (prefix + r.path).startswith("/ui"):
                for m in getattr(r, "methods", None) or ():
                    if m != "HEAD":
                        found.add((m, prefix + r.path))

    walk(client.app.routes, "")  # type: ignore[attr-defined]
    return found


_PARAM = re.compile(r"\{([A-Za-z_]+)\}")

#: UI path parameter -> the resource id it takes.
UI_PARAMS = {
    "conn_id": "BASE_CONNECTION_ID",
    "flow_id": "FLOW_ID",
    "run_id": "RUN_ID",
    "ds_id": "DATASET_ID",
}


def _request_for(method: str, template: str, victim: Tenant) -> tuple[str, dict[str, Any]]:
    """The URL and request arguments that aim ``method template`` at the victim's resource."""

    def sub(m: re.Match[str]) -> str:
        return quote(victim.ids[m.group(1)], safe="")

    url = _PARAM.sub(sub, template)
    kw: dict[str, Any] = {}
    if template.startswith(REG):
        kw["headers"] = {"Accept": FULL}
        if method == "PATCH":
            kw["json"] = [{"op": "replace", "path": "/title", "value": "crossed"}]
        elif method == "PUT":
            kw["json"] = {**TUTORIAL_SCHEMA, "title": "crossed"}
    elif template.startswith(CONV) and method == "PUT":
        kw["json"] = {
            "outputSchema": {"schemaRef": {"id": victim.ids["SCHEMA_ID"], "contentType": FULL}},
            "mappings": [{"sourceType": "ATTRIBUTE", "source": "id", "destination": "_id"}],
        }
    elif method == "PATCH":
        key = _PARAM.search(template).group(1)  # type: ignore[union-attr]
        kw["json"] = PATCH_NAME
        kw["headers"] = {"If-Match": victim.etags[key]}
    elif template.endswith("/flows/{FLOW_ID}/action"):
        kw["params"] = {"op": "run"}
    elif template.endswith("/runs/{RUN_ID}/action"):
        kw["params"] = {"op": "RE_TRIGGER"}
    return url, kw


def _ui_client(world: World, t: Tenant) -> tuple[TestClient, str]:
    """A second client on the same app, signed in to the UI as ``t``'s API client."""
    c = TestClient(world.client.app, raise_server_exceptions=False)  # type: ignore[arg-type]
    form = c.get("/ui/sign-in")
    pre = form.cookies.get(sess.PRE_SESSION_COOKIE) or c.cookies.get(sess.PRE_SESSION_COOKIE)
    r = c.post(
        "/ui/sign-in",
        data={
            "client_id": t.ident.client_id,
            "client_secret": t.ident.client_secret,
            "csrf_token": pre,
            "next": "/ui/sources",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    s = sess.decode_session(world.ctx.box, c.cookies.get(sess.SESSION_COOKIE))
    assert s is not None
    return c, s.csrf


def _ids_in(text: str, tenant: Tenant, *, sent: str = "") -> list[str]:
    """The tenant's ids in ``text``, beyond those the request itself sent (echoed in errors)."""
    return [v for v in tenant.ids.values() if v and v in text and v not in sent]


@pytest.mark.timeout(600)
def test_no_route_lets_one_tenant_reach_another(world: World, reliability_counts) -> None:
    client, tenants = world.client, world.tenants
    api, ui = _api_routes(client), _ui_routes(client)
    by_id = {
        (m, p)
        for m, p in api | ui
        if _PARAM.search(p) and (m, p) not in EXEMPT and not p.startswith("/ui")
    }
    ui_by_id = {(m, p) for m, p in ui if _PARAM.search(p) and (m, p) not in EXEMPT}
    listings = {
        (m, p) for m, p in api | ui if m == "GET" and not _PARAM.search(p) and (m, p) not in EXEMPT
    }
    searches = {(m, p) for m, p in api if p.endswith("/search") and (m, p) not in EXEMPT}
    covered = by_id | ui_by_id | listings | searches | CREATES
    unknown = sorted((api | ui) - covered - set(EXEMPT))
    assert not unknown, f"routes neither covered by the isolation matrix nor exempted: {unknown}"
    stale = sorted(set(EXEMPT) - (api | ui))
    assert not stale, f"exempted routes the app no longer serves: {stale}"
    missing_params = {
        name for _, p in by_id for name in _PARAM.findall(p) if name not in tenants[0].ids
    }
    assert not missing_params, f"no seeded resource for path parameters {missing_params}"

    cases = 0
    failures: list[str] = []

    def expect(ok: bool, what: str) -> None:
        nonlocal cases
        cases += 1
        if not ok:
            failures.append(what)

    pairs = [(a, v) for a, v in itertools.permutations(tenants, 2)]
    # 1. every by-id route, every verb, with the victim's ids (deletes and actions included)
    for attacker, victim in pairs:
        for method, template in sorted(by_id):
            url, kw = _request_for(method, template, victim)
            headers = {**attacker.headers(), **kw.pop("headers", {})}
            r = client.request(method, url, headers=headers, **kw)
            expect(
                r.status_code == 404,
                f"{attacker.label} {method} {template} of {victim.label}: "
                f"{r.status_code} {r.text[:200]}",
            )
        # guessed ids: a fresh uuid in every by-id route
        for method, template in sorted(by_id):
            guess = Tenant(attacker.ident, attacker.sandbox, ids=dict(victim.ids))
            guess.ids = {k: str(uuid.uuid4()) for k in guess.ids}
            guess.etags = dict.fromkeys(victim.etags, '"0"')
            url, kw = _request_for(method, template, guess)
            headers = {**attacker.headers(), **kw.pop("headers", {})}
            r = client.request(method, url, headers=headers, **kw)
            expect(r.status_code == 404, f"guessed id {method} {template}: {r.status_code}")

    # 2. listings, filters, search and continuation tokens
    for attacker, victim in pairs:
        for _method, path in sorted(listings):
            if path.startswith("/ui"):
                continue
            headers = attacker.headers(Accept="application/vnd.adobe.xed-id+json")
            r = client.get(path, headers=headers)
            expect(
                r.status_code == 200 and not _ids_in(r.text, victim),
                f"{attacker.label} lists {path}: {r.status_code} {_ids_in(r.text, victim)}",
            )
            for key in ("FLOW_ID", "BASE_CONNECTION_ID", "DATASET_ID"):
                for prop in (f"id=={victim.ids[key]}", f"flowId=={victim.ids[key]}"):
                    r = client.get(path, params={"property": prop}, headers=headers)
                    expect(
                        r.status_code in (200, 400) and not _ids_in(r.text, victim, sent=prop),
                        f"{attacker.label} {path}?property={prop}: {r.status_code}",
                    )
            minted = client.get(path, params={"limit": "1"}, headers=victim.headers())
            for token in set(re.findall(r"continuationToken=([^&\"]+)", minted.text)):
                r = client.get(f"{path}?continuationToken={token}", headers=headers)
                expect(
                    r.status_code in (200, 400) and not _ids_in(r.text, victim),
                    f"{attacker.label} {path} with a token of {victim.label}: {r.status_code}",
                )
        for _, path in sorted(searches):
            for query in (f"id=={victim.ids['FLOW_ID']}", ""):
                r = client.post(path, json={"queryString": query}, headers=attacker.headers())
                expect(
                    r.status_code == 200 and not _ids_in(r.text, victim, sent=query),
                    f"{attacker.label} search {query!r}: {r.status_code}",
                )
        r = client.get(
            f"{FS}/runs",
            params={"property": f"flowId=={victim.ids['FLOW_ID']}"},
            headers=attacker.headers(),
        )
        expect(r.status_code == 200 and r.json()["items"] == [], "runs of a foreign flow")
        r = client.get(
            f"{CAT}/batches",
            params={"dataSet": victim.ids["DATASET_ID"]},
            headers=attacker.headers(),
        )
        expect(
            r.status_code in (200, 404)
            and not _ids_in(r.text, victim, sent=victim.ids["DATASET_ID"]),
            "foreign batches",
        )

    # 3. creates naming another tenant's resources are refused
    for attacker, victim in pairs:
        h = {**attacker.headers(), "Content-Type": "application/json"}
        bodies = [
            (
                f"{FS}/sourceConnections",
                {
                    "name": "x",
                    "baseConnectionId": victim.ids["BASE_CONNECTION_ID"],
                    "data": {"format": "tabular"},
                    "params": {"path": "Hubspot.Contacts"},
                    "connectionSpec": {"id": oauth_spec(), "version": "1.0"},
                },
            ),
            (
                f"{FS}/targetConnections",
                {
                    "name": "x",
                    "data": {"format": "delta"},
                    "params": {"dataSetId": victim.ids["DATASET_ID"]},
                    "connectionSpec": {
                        "id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c",
                        "version": "1.0",
                    },
                },
            ),
            (
                f"{FS}/flows",
                {
                    "name": "x",
                    "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
                    "sourceConnectionIds": [victim.ids["SOURCE_CONNECTION_ID"]],
                    "targetConnectionIds": [victim.ids["TARGET_CONNECTION_ID"]],
                    "scheduleParams": {"frequency": "once", "startTime": "1"},
                },
            ),
            (f"{FS}/runs", {"flowId": victim.ids["FLOW_ID"]}),
            (
                f"{CONV}/mappingSets",
                {
                    "outputSchema": {
                        "schemaRef": {"id": victim.ids["SCHEMA_ID"], "contentType": FULL}
                    },
                    "mappings": [{"sourceType": "ATTRIBUTE", "source": "id", "destination": "_id"}],
                },
            ),
            (
                f"{CONV}/mappingSets/preview",
                {
                    "outputSchema": {
                        "schemaRef": {"id": victim.ids["SCHEMA_ID"], "contentType": FULL}
                    },
                    "mappings": [{"sourceType": "ATTRIBUTE", "source": "id", "destination": "_id"}],
                    "data": {"id": "1"},
                },
            ),
            (
                f"{REG}/tenant/schemas",
                {
                    "title": f"uses {victim.label} {uuid.uuid4().hex[:6]}",
                    "allOf": [
                        {"$ref": "https://ns.adobe.com/xdm/context/profile"},
                        {"$ref": victim.ids["FIELD_GROUP_ID"]},
                    ],
                },
            ),
        ]
        for url, body in bodies:
            r = client.post(url, json=body, headers=h)
            expect(
                r.status_code in (400, 404),
                f"{attacker.label} POST {url} naming {victim.label}'s resource: {r.status_code} "
                f"{r.text[:200]}",
            )

    # 4. webhook payloads carry only the subscriber's own runs (read from the outbox itself)
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.webhook_deliveries.c.webhook_id, tables.webhook_deliveries.c.payload)
        ).all()
    for t in tenants:
        r = client.get(f"{FS}/webhooks/{t.ids['WEBHOOK_ID']}/deliveries", headers=t.headers())
        mine = [payload for hook, payload in rows if hook == t.ids["WEBHOOK_ID"]]
        expect(
            r.status_code == 200
            and len(r.json()["items"]) == len(mine) >= 2
            and all(t.ids["FLOW_ID"] in p for p in mine),
            f"{t.label} has no delivery of its own run: {r.text[:200]}",
        )
        for other in tenants:
            if other is not t:
                expect(
                    not any(_ids_in(p, other) for p in mine) and not _ids_in(r.text, other),
                    f"{t.label} deliveries name {other.label}",
                )

    # 5. the UI: a session of one tenant on the others' pages
    for attacker in tenants:
        c, csrf = _ui_client(world, attacker)
        if attacker.sandbox != "prod":
            r = c.post("/ui/sandbox", data={"sandbox": attacker.sandbox, "csrf_token": csrf})
            assert r.status_code in (200, 303), r.text
        with c:
            for victim in tenants:
                if victim is attacker:
                    continue
                for method, template in sorted(ui_by_id):
                    names = _PARAM.findall(template)
                    url = template
                    for name in names:
                        value = "run" if name == "action" else victim.ids[UI_PARAMS[name]]
                        url = url.replace("{" + name + "}", quote(value, safe=""))
                    data = {"csrf_token": csrf} if method == "POST" else None
                    params = {"table": "Hubspot.Contacts"} if method == "GET" else None
                    r = c.request(method, url, data=data, params=params, follow_redirects=False)
                    expect(
                        r.status_code == 404 and not _ids_in(r.text.replace(url, ""), victim),
                        f"UI {attacker.label} {method} {url} of {victim.label}: {r.status_code}",
                    )
                for _, path in sorted(p for p in listings if p[1].startswith("/ui")):
                    r = c.get(path)
                    expect(
                        r.status_code == 200 and not _ids_in(r.text, victim),
                        f"UI {attacker.label} {path} shows {victim.label}: {r.status_code}",
                    )
                r = c.get("/ui/dataflows/new")
                expect(not _ids_in(r.text, victim), f"UI wizard of {attacker.label}")

    # 6. after all of it, every victim's resources are intact
    for t in tenants:
        for key, path in (
            ("BASE_CONNECTION_ID", "connections"),
            ("SOURCE_CONNECTION_ID", "sourceConnections"),
            ("TARGET_CONNECTION_ID", "targetConnections"),
            ("FLOW_ID", "flows"),
        ):
            r = client.get(f"{FS}/{path}/{t.ids[key]}", headers=t.headers())
            expect(
                r.status_code == 200 and r.json()["items"][0]["etag"] == t.etags[key],
                f"{t.label} {path} changed by another tenant",
            )
        for url in (
            f"{FS}/webhooks/{t.ids['WEBHOOK_ID']}",
            f"{CAT}/dataSets/{t.ids['DATASET_ID']}",
            f"{CONV}/mappingSets/{t.ids['MAPPING_SET_ID']}",
            f"{REG}/tenant/schemas/{quote(t.ids['SCHEMA_ID'], safe='')}",
        ):
            r = client.get(url, headers=t.headers(Accept=FULL))
            expect(r.status_code == 200 and "crossed" not in r.text, f"{t.label} {url} changed")
        runs = client.get(
            f"{FS}/runs", params={"property": f"flowId=={t.ids['FLOW_ID']}"}, headers=t.headers()
        ).json()["items"]
        expect(len(runs) == 1, f"{t.label}: another tenant started a run ({len(runs)} runs)")

    reliability_counts(
        "isolation matrix",
        routes=len(covered),
        exempt=len(EXEMPT),
        cases=cases,
        failures=len(failures),
    )
    assert not failures, f"{len(failures)} of {cases} cases crossed tenants:\n" + "\n".join(
        failures[:40]
    )


def oauth_spec() -> str:
    from headwater.connectors.hubspot import SPEC_ID

    return SPEC_ID
