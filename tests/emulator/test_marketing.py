"""Marketing families: forms and submissions, marketing emails with statistics, email events,
campaigns, subscription types and the timeline, workflows, and the list-membership writes."""

from __future__ import annotations

import collections
from typing import Any

import httpx

from headwater.emulator.hubspot import RunningEmulator
from headwater.emulator.hubspot.marketing import GEN_END_MS, GEN_START_MS
from headwater.emulator.hubspot.values import iso_ms


def _v3_all(c: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = c.get(url, params=params).json()
    seen = set()
    while True:
        out.extend(page["results"])
        nxt = page.get("paging", {}).get("next")
        if nxt is None:
            return out
        assert nxt["after"] not in seen
        seen.add(nxt["after"])
        page = c.get(nxt["link"]).json()


def _v1_all(c: httpx.Client, url: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = None
    while True:
        page = c.get(url, params={**params, **({"offset": offset} if offset else {})}).json()
        out.extend(page[key])
        if not page["hasMore"]:
            return out
        assert page["offset"] != offset
        offset = page["offset"]


def test_forms_page_with_an_opaque_after_and_carry_their_fields(c: httpx.Client) -> None:
    forms = _v3_all(c, "/marketing/v3/forms", {"limit": 3})
    assert len(forms) == 8
    assert len({f["id"] for f in forms}) == 8
    first = forms[0]
    assert first["formType"] == "hubspot"
    email = first["fieldGroups"][0]["fields"][0]
    assert email["name"] == "email"
    # as in HubSpot's reference answer: dependent fields on every field, validation on email
    assert all("dependentFields" in f for g in first["fieldGroups"] for f in g["fields"])
    assert email["validation"] == {"blockedEmailDomains": [], "useDefaultBlockList": False}
    assert c.get(f"/marketing/v3/forms/{first['id']}").json()["name"] == first["name"]
    assert c.get("/marketing/v3/forms/nope").status_code == 404
    assert c.get("/marketing/v3/forms", params={"after": "not base64!"}).status_code == 400


def test_submissions_come_newest_first_50_at_most_and_a_submit_adds_one(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    form = c.get("/marketing/v3/forms").json()["results"][1]
    url = f"/form-integrations/v1/submissions/forms/{form['id']}"
    assert c.get(url, params={"limit": 51}).status_code == 400
    before = _v3_all(c, url, {"limit": 7})
    stamps = [s["submittedAt"] for s in before]
    assert stamps == sorted(stamps, reverse=True)
    assert all(GEN_START_MS <= t < GEN_END_MS + 86_400_000 for t in stamps)
    assert len({s["conversionId"] for s in before}) == len(before)
    r = c.post(
        f"/submissions/v3/integration/secure/submit/{emu.portal_id}/{form['id']}",
        json={
            "fields": [{"name": "email", "value": "new.person@headwater-demo.test"}],
            "context": {"pageUri": "https://www.headwater-demo.test/new"},
        },
    )
    assert r.status_code == 200 and "inlineMessage" in r.json()
    after = _v3_all(c, url, {"limit": 50})
    assert len(after) == len(before) + 1
    assert after[0]["values"] == [{"name": "email", "value": "new.person@headwater-demo.test"}]
    assert after[0]["submittedAt"] == emu.state.now_ms()
    public = f"/submissions/v3/integration/submit/{emu.portal_id}/{form['id']}"
    assert httpx.post(emu.base_url + public, json={"fields": []}).status_code == 400


def test_email_statistics_count_the_email_events(c: httpx.Client) -> None:
    emails = _v3_all(c, "/marketing/v3/emails", {"limit": 5, "includeStats": "true"})
    assert len(emails) == 12
    assert "stats" not in c.get("/marketing/v3/emails").json()["results"][0]
    events = _v1_all(c, "/email/public/v1/events", "events", {"limit": 1000})
    assert len({e["id"] for e in events}) == len(events)
    by_campaign: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for e in events:
        by_campaign[e["emailCampaignId"]][e["type"]] += 1
    sent = sum(e["stats"]["counters"]["sent"] for e in emails)
    assert sent == sum(c["SENT"] for c in by_campaign.values()) > 0
    opens = sorted(e["stats"]["counters"]["open"] for e in emails)
    assert opens == sorted(c["OPEN"] for c in by_campaign.values())


def test_email_events_window_filter_and_subtype_fields(c: httpx.Client) -> None:
    everything = _v1_all(c, "/email/public/v1/events", "events", {"limit": 1000})
    assert c.get("/email/public/v1/events", params={"limit": 1001}).status_code == 400
    mid = everything[len(everything) // 2]["created"]
    window = _v1_all(
        c,
        "/email/public/v1/events",
        "events",
        {"startTimestamp": GEN_START_MS, "endTimestamp": mid, "limit": 250},
    )
    assert window == [e for e in everything if e["created"] <= mid]
    kinds = {e["type"]: e for e in everything}
    assert {"SENT", "PROCESSED", "DELIVERED", "OPEN", "CLICK", "BOUNCE"} <= set(kinds)
    assert kinds["BOUNCE"]["category"] and kinds["BOUNCE"]["status"] == "5.1.1"
    assert kinds["CLICK"]["url"].startswith("https://")
    assert kinds["DELIVERED"]["smtpId"] and kinds["OPEN"]["sentBy"]["id"]
    clicks = _v1_all(c, "/email/public/v1/events", "events", {"eventType": "CLICK"})
    assert clicks == [e for e in everything if e["type"] == "CLICK"]
    one = everything[3]
    assert c.get(f"/email/public/v1/events/{one['created']}/{one['id']}").json() == one


def test_publishing_an_email_sends_it_to_its_lists_as_the_clock_moves(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    email = c.get("/marketing/v3/emails").json()["results"][0]
    before = c.get(f"/marketing/v3/emails/{email['id']}", params={"includeStats": True}).json()
    assert c.post(f"/marketing/v3/emails/{email['id']}/publish").status_code == 204
    now = emu.state.now_ms()
    listed = emu.state.lists[int(email["to"]["contactIlsLists"]["include"][0]) - 1]
    members = listed.members_from(0, 1000, emu.state.stores["contacts"])
    fresh = _v1_all(c, "/email/public/v1/events", "events", {"startTimestamp": now})
    assert sorted(e["recipient"] for e in fresh if e["type"] == "SENT") == sorted(
        emu.state.marketing.recipient(m) for m in members
    )
    emu.state.advance(61)
    stats = c.get(f"/marketing/v3/emails/{email['id']}", params={"includeStats": True}).json()
    counters = stats["stats"]["counters"]
    assert counters["sent"] == before["stats"]["counters"]["sent"] + len(members)
    assert counters["delivered"] == before["stats"]["counters"]["delivered"] + len(members)


def test_campaigns_return_only_the_properties_asked_for_and_can_be_created(
    c: httpx.Client,
) -> None:
    rows = _v3_all(c, "/marketing/v3/campaigns", {"limit": 4, "properties": "hs_name"})
    assert len(rows) == 6
    assert all(set(r["properties"]) == {"hs_name"} for r in rows)
    assert c.get("/marketing/v3/campaigns").json()["results"][0]["properties"] == {}
    made = c.post("/marketing/v3/campaigns", json={"properties": {"hs_name": "Launch X"}})
    assert made.status_code == 201
    got = c.get(f"/marketing/v3/campaigns/{made.json()['id']}", params={"properties": "hs_name"})
    assert got.json()["properties"] == {"hs_name": "Launch X"}


def test_subscription_definitions_timeline_and_an_unsubscribe(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    defs = c.get("/communication-preferences/v3/definitions").json()["subscriptionDefinitions"]
    assert len(defs) == 5
    timeline = _v1_all(c, "/email/public/v1/subscriptions/timeline", "timeline", {"limit": 40})
    assert len(timeline) == 150
    stamps = [t["timestamp"] for t in timeline]
    assert stamps == sorted(stamps, reverse=True)
    r = c.post(
        "/communication-preferences/v3/unsubscribe",
        json={"emailAddress": "a@b.test", "subscriptionId": defs[2]["id"]},
    )
    assert r.json()["status"] == "NOT_SUBSCRIBED"
    newest = c.get("/email/public/v1/subscriptions/timeline", params={"limit": 1}).json()
    item = newest["timeline"][0]
    assert item["recipient"] == "a@b.test" and item["timestamp"] == emu.state.now_ms()
    assert item["changes"][0]["change"] == "UNSUBSCRIBED"
    assert item["changes"][0]["subscriptionId"] == int(defs[2]["id"])


def test_workflows_list_and_read(c: httpx.Client) -> None:
    flows = _v3_all(c, "/automation/v4/flows", {"limit": 3})
    assert len(flows) == 10
    assert c.get(f"/automation/v4/flows/{flows[4]['id']}").json() == flows[4]


def test_list_members_can_be_added_and_removed_with_join_times(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    lists = c.post("/crm/v3/lists/search", json={"count": 100}).json()["lists"]
    manual = next(x for x in lists if x["processingType"] == "MANUAL")
    url = f"/crm/v3/lists/{manual['listId']}"

    def members() -> dict[str, str]:
        out = {}
        for m in _v3_all(c, f"{url}/memberships", {"limit": 250}):
            out[m["recordId"]] = m["membershipTimestamp"]
        return out

    first = members()
    outsider = next(str(r) for r in range(1, 400) if str(r) not in first)
    leaving = next(iter(first))
    r = c.put(
        f"{url}/memberships/add-and-remove",
        json={"recordIdsToAdd": [outsider, "99999"], "recordIdsToRemove": [leaving]},
    )
    assert r.json() == {
        "recordIdsMissing": ["99999"],
        "recordIdsRemoved": [leaving],
        "recordsIdsAdded": [outsider],
    }
    second = members()
    assert set(second) == (set(first) - {leaving}) | {outsider}
    assert second[outsider] == iso_ms(emu.state.now_ms())
    size = c.get(url).json()["list"]["size"]
    assert size == int(manual["additionalProperties"]["hs_list_size"])
    dynamic = next(x for x in lists if x["processingType"] == "DYNAMIC")
    filters = c.get(f"/crm/v3/lists/{dynamic['listId']}", params={"includeFilters": True})
    assert filters.json()["list"]["filterBranch"]["filterBranchType"] == "OR"
    assert (
        c.put(f"/crm/v3/lists/{dynamic['listId']}/memberships/add", json=["1"]).status_code == 400
    )
    made = c.post(
        "/crm/v3/lists",
        json={"name": "Hand-picked", "objectTypeId": "0-1", "processingType": "MANUAL"},
    ).json()["list"]
    assert made["size"] == 0 and made["updatedAt"] == iso_ms(emu.state.now_ms())
    c.put(f"/crm/v3/lists/{made['listId']}/memberships/add", json=["3", "1"])
    page = c.get(f"/crm/v3/lists/{made['listId']}/memberships").json()["results"]
    assert [m["recordId"] for m in page] == ["1", "3"]
    both = c.get("/crm/v3/lists", params={"listIds": [made["listId"], "1"]}).json()["lists"]
    assert {x["listId"] for x in both} == {made["listId"], "1"}
    assert emu.state.lists[-1].size(emu.state.stores["contacts"]) == 2


def test_legacy_email_campaigns_page_by_offset_and_count_their_events(c: httpx.Client) -> None:
    listed = _v1_all(c, "/email/public/v1/campaigns", "campaigns", {"limit": 5})
    assert len(listed) == 12
    assert set(listed[0]) == {"id", "appId", "appName", "lastUpdatedTime"}
    one = c.get(f"/email/public/v1/campaigns/{listed[0]['id']}").json()
    events = _v1_all(c, "/email/public/v1/events", "events", {"campaignId": one["id"]})
    assert one["counters"]["sent"] == sum(1 for e in events if e["type"] == "SENT")
    assert one["lastUpdatedTime"] == max(e["created"] for e in events)
    email = c.get(f"/marketing/v3/emails/{one['contentId']}").json()
    assert email["name"] == one["name"]
    assert c.get("/email/public/v1/campaigns/1").status_code == 404


def test_the_admin_prefix_counts_what_a_full_read_returns(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    counts = httpx.get(f"{emu.base_url}/_emulator/marketing").json()
    assert counts["email_events"] == len(
        _v1_all(c, "/email/public/v1/events", "events", {"limit": 1000})
    )
    assert counts["workflows"] == 10 and counts["lists"] == len(emu.state.lists)
    members = 0
    for cl in emu.state.lists:
        members += len(_v3_all(c, f"/crm/v3/lists/{cl.list_id}/memberships", {"limit": 250}))
    assert counts["list_memberships"] == members


def test_forms_and_workflows_can_be_created_archived_and_deleted(c: httpx.Client) -> None:
    made = c.post("/marketing/v3/forms", json={"name": "Trial form", "formType": "hubspot"})
    assert made.status_code == 201
    form = made.json()
    assert form["name"] == "Trial form" and form["fieldGroups"] and not form["archived"]
    url = f"/form-integrations/v1/submissions/forms/{form['id']}"
    assert c.get(url).json() == {"results": []}
    assert c.delete(f"/marketing/v3/forms/{form['id']}").status_code == 204
    live = {f["id"] for f in _v3_all(c, "/marketing/v3/forms", {})}
    archived = _v3_all(c, "/marketing/v3/forms", {"archived": "true"})
    assert form["id"] not in live and [f["id"] for f in archived] == [form["id"]]
    assert archived[0]["archivedAt"]
    flow = c.post("/automation/v4/flows", json={"name": "New flow", "objectTypeId": "0-1"})
    assert flow.status_code == 201
    ids = [f["id"] for f in _v3_all(c, "/automation/v4/flows", {})]
    assert flow.json()["id"] in ids
    assert c.delete(f"/automation/v4/flows/{ids[0]}").status_code == 204
    assert c.get(f"/automation/v4/flows/{ids[0]}").status_code == 404
