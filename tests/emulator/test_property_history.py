"""Property history through HubSpot's write API: every write is a new version, newest first."""

from __future__ import annotations

import httpx

from headwater.emulator.hubspot import RunningEmulator


def _history(c: httpx.Client, ids: list[str], props: list[str]) -> dict[str, dict[str, list]]:
    body = c.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": i} for i in ids], "properties": [], "propertiesWithHistory": props},
    ).json()
    return {r["id"]: r["propertiesWithHistory"] for r in body["results"]}


def test_a_patch_adds_a_version_on_top_of_the_generated_ones(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    before = _history(c, ["12"], ["lifecyclestage"])["12"]["lifecyclestage"]
    emu.state.advance(60)
    patched = c.patch(
        "/crm/v3/objects/contacts/12", json={"properties": {"lifecyclestage": "customer"}}
    )
    assert patched.status_code == 200
    emu.state.advance(60)
    c.patch("/crm/v3/objects/contacts/12", json={"properties": {"lifecyclestage": "evangelist"}})
    after = _history(c, ["12"], ["lifecyclestage"])["12"]["lifecyclestage"]
    assert [v["value"] for v in after[:2]] == ["evangelist", "customer"]
    assert {v["sourceType"] for v in after[:2]} == {"API"}
    assert after[0]["timestamp"] > after[1]["timestamp"]
    assert after[2:] == before
    record = c.get("/crm/v3/objects/contacts/12").json()
    assert record["updatedAt"] == after[0]["timestamp"]


def test_a_write_never_re_dates_the_versions_before_it(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    ids = [str(i) for i in range(30, 80)]
    emails = _history(c, ids, ["email"])
    rid = next(i for i in ids if len(emails[i]["email"]) > 1)  # generated changes to re-date
    emu.state.advance(3600)
    r = c.patch(f"/crm/v3/objects/contacts/{rid}", json={"properties": {"phone": "+1 555 0100"}})
    assert r.status_code == 200, r.text
    after = _history(c, [rid], ["email", "phone"])[rid]
    assert after["email"] == emails[rid]["email"]
    assert after["phone"][0]["value"] == "+1 555 0100"


def test_history_batch_reads_take_at_most_50_inputs(c: httpx.Client) -> None:
    too_many = c.post(
        "/crm/v3/objects/contacts/batch/read",
        json={
            "inputs": [{"id": str(i)} for i in range(1, 52)],
            "properties": [],
            "propertiesWithHistory": ["email"],
        },
    )
    assert too_many.status_code == 400
    assert len(_history(c, [str(i) for i in range(1, 51)], ["email"])) == 50


def test_a_merge_starts_the_winners_merged_ids_history_at_the_merge(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    emu.state.advance(60)
    merged = c.post(
        "/crm/v3/objects/contacts/merge", json={"primaryObjectId": "21", "objectIdToMerge": "22"}
    ).json()
    history = _history(c, [merged["id"]], ["hs_merged_object_ids"])[merged["id"]]
    (version,) = history["hs_merged_object_ids"]
    assert version["value"] == "21;22"
    assert version["timestamp"] == merged["updatedAt"]
