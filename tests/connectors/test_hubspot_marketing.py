"""The lists and marketing tables, read from the emulator: a full read, then a change made through
the emulator's HubSpot write APIs, then the next read (incremental where HubSpot allows it)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pyarrow as pa
import pytest

from headwater.connectors.events import CheckpointEvent, KnownRows
from headwater.connectors.hubspot import AUTH_PRIVATE_APP, HubSpotConnector
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.connectors.retry import RetryPolicy
from headwater.emulator.hubspot import (
    EmulatorConfig,
    FaultRule,
    ManualClock,
    RunningEmulator,
    serve_in_thread,
)
from headwater.errors import SourceAuthError

from .conftest import Collected, collect, connect


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(contacts=400, companies=20, deals=20, clock=ManualClock())
    with serve_in_thread(config) as running:
        yield running


@pytest.fixture
def hs(emu: RunningEmulator) -> Iterator[HubSpotConnector]:
    with connect(emu) as conn:
        conn.check()  # the portal lookup (account details) is done: reads count only their own
        yield conn


@pytest.fixture
def api(emu: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.private_app_token}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=30) as client:
        yield client


def read(hs: HubSpotConnector, table: str, state: Any = None, **kw: Any) -> Collected:
    return collect(hs.read(f"Hubspot.{table}", state=state, **kw))


def final_state(out: Collected) -> dict[str, Any]:
    return out.checkpoints[-1]


def known_from(rows: list[dict[str, Any]]) -> KnownRows:
    """The dataset's live rows, as the engine hands them to a read."""

    def known(columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        live = [r for r in rows if not r.get("Is_Deleted")]
        yield pa.RecordBatch.from_pylist([{c: r[c] for c in columns} for r in live])

    return known


def test_lists_read_whole_with_filters_and_sizes_that_follow_memberships(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    first = read(hs, "Lists")
    assert first.progress[0].strategy == "full"
    assert len(first.rows) == 30 and first.progress[-1].complete
    assert first.progress[-1].requests == 2  # one search page, one multi-get of the filters
    dynamic = next(r for r in first.rows if r["Processing_Type"] == "DYNAMIC")
    assert json.loads(dynamic["Filter_Branch"])["filterBranchType"] == "OR"
    manual = next(r for r in first.rows if r["Processing_Type"] == "MANUAL")
    assert manual["Filter_Branch"] is None
    store = emu.state.stores["contacts"]
    assert manual["Size"] == emu.state.lists[int(manual["Id"]) - 1].size(store)
    made = api.post(
        "/crm/v3/lists", json={"name": "VIPs", "objectTypeId": "0-1", "processingType": "MANUAL"}
    ).json()["list"]
    listed = emu.state.lists[int(manual["Id"]) - 1]
    joining = next(
        str(r) for r in range(1, 400) if not listed.contains(r) and not store.is_archived(r)
    )
    api.put(f"/crm/v3/lists/{manual['Id']}/memberships/add", json=[joining])
    emu.state.advance(1)
    second = read(hs, "Lists", final_state(first), mode="incremental")
    assert second.progress[0].strategy == "full" and "size" in second.progress[0].reason
    rows = {r["Id"]: r for r in second.rows}
    assert len(rows) == 31 and rows[made["listId"]]["Name"] == "VIPs"
    assert rows[manual["Id"]]["Size"] == manual["Size"] + 1


def test_list_memberships_write_only_what_changed_against_the_dataset(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    first = read(hs, "List_Memberships")
    store = emu.state.stores["contacts"]
    expected = {
        f"{cl.list_id}-{rid}" for cl in emu.state.lists for rid in cl.members_from(0, 10_000, store)
    }
    assert set(first.ids) == expected and len(first.ids) == len(expected)
    manual = next(cl for cl in emu.state.lists if cl.processing_type == "MANUAL")
    members = manual.members_from(0, 10_000, store)
    leaving = str(members[0])
    joining = next(str(r) for r in range(1, 400) if r not in members and not store.is_archived(r))
    r = api.put(
        f"/crm/v3/lists/{manual.list_id}/memberships/add-and-remove",
        json={"recordIdsToAdd": [joining], "recordIdsToRemove": [leaving]},
    )
    assert r.json()["recordsIdsAdded"] == [joining]
    emu.state.advance(1)
    second = read(hs, "List_Memberships", final_state(first), known=known_from(first.rows))
    assert second.ids == [f"{manual.list_id}-{joining}"]
    assert second.rows[0]["Membership_Timestamp"].timestamp() * 1000 == emu.state.now_ms() - 1000
    assert second.deleted_ids == [f"{manual.list_id}-{leaving}"]
    gone = second.deleted[0]
    assert gone["Removed_At"] is not None and gone["Is_Deleted"] is True
    # without the dataset's rows, the read lists every membership again
    assert len(read(hs, "List_Memberships").ids) == len(expected)


def test_forms_and_a_submission_made_just_before_the_incremental_read(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    forms = read(hs, "Forms")
    assert len(forms.rows) == 8 and not forms.deleted
    assert json.loads(forms.rows[0]["Field_Groups"])[0]["fields"][0]["name"] == "email"
    first = read(hs, "Form_Submissions")
    total = sum(len(s) for s in emu.state.marketing.submissions.values())
    assert len(first.ids) == total == len(set(first.ids))
    form = forms.rows[2]["Id"]
    r = api.post(
        f"/submissions/v3/integration/secure/submit/{emu.portal_id}/{form}",
        json={"fields": [{"name": "email", "value": "fresh@headwater-demo.test"}]},
    )
    assert r.status_code == 200
    emu.state.advance(1)
    second = read(hs, "Form_Submissions", final_state(first))
    assert second.progress[0].strategy == "incremental"
    assert len(second.rows) == 1
    row = second.rows[0]
    assert row["Form_Id"] == form and row["Email"] == "fresh@headwater-demo.test"
    # one call per form: each stops at its first submission older than the window
    assert second.progress[-1].requests == 1 + 8


def test_email_events_after_a_send_and_marketing_email_statistics(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    first = read(hs, "Email_Events")
    assert len(first.ids) == len(emu.state.marketing.events) == len(set(first.ids))
    types = {r["Type"] for r in first.rows}
    assert {"SENT", "DELIVERED", "OPEN", "CLICK", "BOUNCE", "DROPPED"} <= types
    bounce = next(r for r in first.rows if r["Type"] == "BOUNCE")
    assert bounce["Category"] and bounce["Status"] == "5.1.1" and bounce["Sent_By_Id"]
    click = next(r for r in first.rows if r["Type"] == "CLICK")
    assert click["Url"].startswith("https://") and click["Location_City"]
    emails = read(hs, "Marketing_Emails")
    email = emails.rows[0]
    assert email["Stats_Counters_Sent"] == sum(
        1 for r in first.rows if r["Type"] == "SENT" and r["Email_Campaign_Id"] == 700_000
    )
    assert api.post(f"/marketing/v3/emails/{email['Id']}/publish").status_code == 204
    emu.state.advance(120)
    second = read(hs, "Email_Events", final_state(first))
    assert second.progress[0].strategy == "incremental"
    sent = [r for r in second.rows if r["Type"] == "SENT"]
    listed = emu.state.lists[0].members_from(0, 1000, emu.state.stores["contacts"])
    assert len(sent) == len(listed) > 0
    assert {r["Type"] for r in second.rows} <= {"SENT", "PROCESSED", "DELIVERED", "DEFERRED"}
    again = read(hs, "Marketing_Emails")
    row = next(r for r in again.rows if r["Id"] == email["Id"])
    assert row["Stats_Counters_Sent"] == email["Stats_Counters_Sent"] + len(listed)


def test_an_email_events_read_resumes_after_its_last_checkpoint(hs: HubSpotConnector) -> None:
    whole = read(hs, "Email_Events")
    assert whole.progress[-1].pages >= 2
    events = hs.read("Hubspot.Email_Events", state=None)
    head = Collected()
    for event in events:
        head.add(event)
        if isinstance(event, CheckpointEvent):
            break
    rest = read(hs, "Email_Events", head.checkpoints[-1])
    assert sorted(head.ids + rest.ids) == sorted(whole.ids)


def test_campaigns_subscriptions_and_workflows(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    campaigns = read(hs, "Campaigns")
    assert len(campaigns.rows) == 6
    assert campaigns.rows[0]["Properties_Hs_Name"] == "Spring launch 2025"
    api.post("/marketing/v3/campaigns", json={"properties": {"hs_name": "Autumn push"}})
    names = {r["Properties_Hs_Name"] for r in read(hs, "Campaigns").rows}
    assert "Autumn push" in names and len(names) == 7
    types = read(hs, "Subscription_Types")
    assert len(types.rows) == 5 and types.progress[-1].requests == 1
    first = read(hs, "Subscription_Changes")
    assert (
        len(first.ids)
        == len(set(first.ids))
        == sum(len(t["changes"]) for t in emu.state.marketing.timeline)
    )
    r = api.post(
        "/communication-preferences/v3/unsubscribe",
        json={"emailAddress": "gone@headwater-demo.test", "subscriptionId": types.rows[2]["Id"]},
    )
    assert r.status_code == 200
    emu.state.advance(1)
    second = read(hs, "Subscription_Changes", final_state(first))
    assert [(x["Recipient"], x["Change"]) for x in second.rows] == [
        ("gone@headwater-demo.test", "UNSUBSCRIBED")
    ]
    assert second.rows[0]["Subscription_Id"] == int(types.rows[2]["Id"])
    flows = read(hs, "Workflows")
    assert len(flows.rows) == 10 and flows.progress[-1].complete


def test_explore_says_how_each_marketing_table_syncs(hs: HubSpotConnector) -> None:
    incremental = {
        t["name"]: hs.explore_table(t["name"], preview=False)["meta:incremental"]
        for t in hs.explore_root()
    }
    assert incremental["Hubspot.Email_Events"]["cursor"] == "created"
    assert incremental["Hubspot.Form_Submissions"]["supported"] is True
    assert incremental["Hubspot.Marketing_Emails"]["supported"] is False
    assert "statistics" in incremental["Hubspot.Marketing_Emails"]["reason"]
    assert hs.primary_key("Hubspot.List_Memberships") == ("Id",)


def test_email_campaigns_join_the_events_and_count_a_new_send(
    hs: HubSpotConnector, api: httpx.Client, emu: RunningEmulator
) -> None:
    first = read(hs, "Email_Campaigns")
    assert len(first.rows) == 12 and first.progress[-1].requests == 1 + 12
    events = read(hs, "Email_Events").rows
    ids = {r["Id"] for r in first.rows}
    assert {str(e["Email_Campaign_Id"]) for e in events} <= ids
    one = first.rows[0]
    assert one["Counters_Sent"] == sum(
        1 for e in events if e["Type"] == "SENT" and str(e["Email_Campaign_Id"]) == one["Id"]
    )
    email = next(r for r in read(hs, "Marketing_Emails").rows if r["Id"] == str(one["Content_Id"]))
    assert api.post(f"/marketing/v3/emails/{email['Id']}/publish").status_code == 204
    emu.state.advance(61)
    again = next(r for r in read(hs, "Email_Campaigns").rows if r["Id"] == one["Id"])
    listed = emu.state.lists[0].members_from(0, 1000, emu.state.stores["contacts"])
    assert again["Counters_Sent"] == one["Counters_Sent"] + len(listed)


def test_marketing_reads_survive_429s_5xx_and_resets(emu: RunningEmulator) -> None:
    emu.state.faults.replace(
        [
            FaultRule("429", endpoint="email_events.list", on_requests=frozenset({1}), burst=2),
            FaultRule("503", endpoint="lists.memberships", on_requests=frozenset({3}), burst=2),
            FaultRule("reset", endpoint="forms.submissions", on_requests=frozenset({2})),
            FaultRule("502", endpoint="lists.search", on_requests=frozenset({1})),
        ]
    )
    with connect(emu, retry=RetryPolicy(base_s=0.01)) as hs:
        events = read(hs, "Email_Events")
        members = read(hs, "List_Memberships")
        subs = read(hs, "Form_Submissions")
        stats = hs.stats
    assert len(events.ids) == len(emu.state.marketing.events) == len(set(events.ids))
    store = emu.state.stores["contacts"]
    assert len(members.ids) == sum(len(cl.members_from(0, 10_000, store)) for cl in emu.state.lists)
    assert len(subs.ids) == sum(len(s) for s in emu.state.marketing.submissions.values())
    assert stats["rate_limited"] == 2 and stats["retries"] >= 6


def test_a_missing_scope_fails_the_table_that_needs_it(emu: RunningEmulator) -> None:
    token = "pat-na1-11111111-2222-3333-4444-555555555555"
    emu.state.auth.add_private_token(token, ["crm.lists.read", "crm.objects.contacts.read"])
    with HubSpotConnector(
        auth_spec_name=AUTH_PRIVATE_APP,
        params={"accessToken": token},
        base_url=emu.base_url,
        limiter_registry=LimiterRegistry(budget=100_000),
        clock_ms=emu.clock.now_ms,
    ) as hs:
        assert len(read(hs, "Lists").rows) == 30
        with pytest.raises(SourceAuthError) as missing:
            read(hs, "Email_Events")
    assert "content" in missing.value.message


def test_a_full_membership_read_writes_everything_and_is_complete(hs: HubSpotConnector) -> None:
    first = read(hs, "List_Memberships")
    again = read(hs, "List_Memberships", known=known_from(first.rows))
    assert again.ids == [] and not again.progress[-1].complete
    reset = read(hs, "List_Memberships", known=known_from(first.rows), mode="full")
    assert sorted(reset.ids) == sorted(first.ids) and reset.progress[-1].complete


def test_a_preview_reads_only_what_it_shows(hs: HubSpotConnector) -> None:
    before = hs.stats["requests"]
    preview = hs.explore_table("Hubspot.Email_Campaigns", preview=True, limit=2)
    assert len(preview["data"]) == 2
    assert hs.stats["requests"] - before == 1 + 2


def test_forms_and_workflows_after_creates_archives_and_deletes(
    hs: HubSpotConnector, api: httpx.Client
) -> None:
    forms = read(hs, "Forms")
    made = api.post("/marketing/v3/forms", json={"name": "Partner form"}).json()
    gone = forms.rows[0]["Id"]
    assert api.delete(f"/marketing/v3/forms/{gone}").status_code == 204
    again = read(hs, "Forms")
    assert {r["Id"] for r in again.rows} == {r["Id"] for r in forms.rows} - {gone} | {made["id"]}
    assert again.deleted_ids == [gone] and again.deleted[0]["Archived_At"] is not None
    flows = read(hs, "Workflows")
    new = api.post("/automation/v4/flows", json={"name": "Fresh flow", "isEnabled": True}).json()
    api.delete(f"/automation/v4/flows/{flows.rows[3]['Id']}")
    after = read(hs, "Workflows")
    assert {r["Id"] for r in after.rows} == {r["Id"] for r in flows.rows} - {
        flows.rows[3]["Id"]
    } | {new["id"]}
    # the listing is complete: a reconciling commit drops the deleted workflow
    assert after.progress[-1].complete
