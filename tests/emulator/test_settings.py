"""Account settings: the portal's users and teams (``routes/settings.py``), over raw HTTP; users
created through the user provisioning API join the users, the owners and their teams."""

from __future__ import annotations

import httpx

from headwater.emulator.hubspot import RunningEmulator

from .helpers import all_pages, api


def test_users_are_the_active_person_owners_paged_by_after(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    first = c.get("/settings/v3/users", params={"limit": 3}).json()
    assert len(first["results"]) == 3
    assert first["paging"]["next"]["after"] == "3"
    users = all_pages(c, "/settings/v3/users", {"limit": 3})
    people = [
        o
        for o in emu.state.owners
        if o.type == "PERSON" and not o.archived and o.user_id is not None
    ]
    assert [u["id"] for u in users] == [str(o.user_id) for o in people]
    assert [u["email"] for u in users] == [o.email for o in people]
    assert [u["superAdmin"] for u in users].count(True) == 1 and users[0]["superAdmin"]
    one = c.get(f"/settings/v3/users/{users[1]['id']}").json()
    assert one == users[1]
    missing = c.get("/settings/v3/users/999999999")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert c.get("/settings/v3/users", params={"limit": 101}).status_code == 400
    # the dated form answers the same records, its links on the dated path
    dated = c.get("/settings/users/2026-03", params={"limit": 3}).json()
    assert dated["results"] == first["results"]
    assert "/settings/users/2026-03?" in dated["paging"]["next"]["link"]


def test_teams_list_their_primary_and_secondary_members(c: httpx.Client) -> None:
    users = all_pages(c, "/settings/v3/users", {"limit": 100})
    teams = c.get("/settings/v3/users/teams").json()["results"]
    assert [t["name"] for t in teams] == ["Sales", "Support", "Success"]
    for team in teams:
        assert team["userIds"] == [u["id"] for u in users if u.get("primaryTeamId") == team["id"]]
        assert team["secondaryUserIds"] == [
            u["id"] for u in users if team["id"] in u["secondaryTeamIds"]
        ]
    assert any(t["secondaryUserIds"] for t in teams)


def test_users_and_teams_need_their_own_scopes(emu: RunningEmulator) -> None:
    made = httpx.post(
        f"{emu.base_url}/_emulator/tokens", json={"scopes": ["settings.users.read"]}
    ).json()
    with api(emu, made["private_app_token"]) as c:
        assert c.get("/settings/v3/users").status_code == 200
        denied = c.get("/settings/v3/users/teams")
        assert denied.status_code == 403
        assert denied.json()["errors"][0]["context"]["requiredGranularScopes"] == [
            "settings.users.teams.read"
        ]


def test_a_created_user_is_listed_owned_and_on_its_teams(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    before = c.get("/settings/v3/users", params={"limit": 100}).json()["results"]
    owners_before = c.get("/crm/v3/owners", params={"limit": 500}).json()["results"]
    made = c.post(
        "/settings/v3/users",
        json={
            "email": "new.hire@headwater-demo.test",
            "sendWelcomeEmail": False,
            "firstName": "New",
            "lastName": "Hire",
            "primaryTeamId": "102",
            "secondaryTeamIds": ["103"],
            "roleId": "101",
        },
    )
    assert made.status_code == 201, made.text
    user = made.json()
    assert user["email"] == "new.hire@headwater-demo.test" and user["id"].isdigit()
    assert user["id"] not in {u["id"] for u in before}
    assert (user["primaryTeamId"], user["secondaryTeamIds"]) == ("102", ["103"])
    assert (user["roleId"], user["roleIds"], user["superAdmin"]) == ("101", ["101"], False)
    after = c.get("/settings/users/2026-03", params={"limit": 100}).json()["results"]
    assert after == [*before, user]
    assert c.get(f"/settings/v3/users/{user['id']}").json() == user
    owners = c.get("/crm/v3/owners", params={"limit": 500}).json()["results"]
    [owner] = [o for o in owners if o["email"] == user["email"]]
    assert len(owners) == len(owners_before) + 1
    assert owner["userId"] == int(user["id"])
    assert [t["id"] for t in owner["teams"]] == ["102"]
    teams = {t["id"]: t for t in c.get("/settings/v3/users/teams").json()["results"]}
    assert user["id"] in teams["102"]["userIds"]
    assert user["id"] in teams["103"]["secondaryUserIds"]


def test_user_writes_need_an_email_the_welcome_flag_and_the_write_scope(
    c: httpx.Client, emu: RunningEmulator
) -> None:
    for body in ({"sendWelcomeEmail": False}, {"email": "no.flag@headwater-demo.test"}):
        r = c.post("/settings/v3/users", json=body)
        assert r.status_code == 400, body
        assert r.json()["category"] == "VALIDATION_ERROR"
    key = httpx.post(
        f"{emu.base_url}/_emulator/service-keys", json={"scopes": ["settings.users.read"]}
    ).json()["service_key"]
    with api(emu, key) as reader:
        denied = reader.post(
            "/settings/v3/users",
            json={"email": "x@headwater-demo.test", "sendWelcomeEmail": False},
        )
    assert denied.status_code == 403
    scopes = denied.json()["errors"][0]["context"]["requiredGranularScopes"]
    assert scopes == ["settings.users.write"]
