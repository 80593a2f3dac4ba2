"""Contact lists: search, read and memberships."""

from __future__ import annotations

import httpx

from headwater.emulator.hubspot import RunningEmulator


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
