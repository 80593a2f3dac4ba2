"""Account settings: the portal's users and teams (the user provisioning API).

Users are the people behind the portal's owners: every active ``PERSON`` owner is a user with the
owner's ``userId``, names and email, and the owner's team as its primary team; every fourth user
also belongs to the next team as a secondary member. The first user is the super admin.
"""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot.http import Response, json_response
from headwater.emulator.hubspot.portal_metadata import TEAMS, Owner
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    error,
    int_param,
    validation_error,
)

USERS_SCOPE = "settings.users.read"
TEAMS_SCOPE = "settings.users.teams.read"
ROLE_IDS = ("100", "101")


def portal_users(owners: list[Owner]) -> list[Owner]:
    """The owners that are users of the portal: active people, in owner order."""
    return [o for o in owners if o.type == "PERSON" and not o.archived and o.user_id is not None]


def _secondary_team(index: int, owner: Owner) -> str | None:
    if index % 4 != 1 or owner.team is None:
        return None
    ids = [t for t, _ in TEAMS]
    return ids[(ids.index(owner.team[0]) + 1) % len(ids)]


def _user(index: int, owner: Owner) -> dict[str, Any]:
    secondary = _secondary_team(index, owner)
    role = ROLE_IDS[index % len(ROLE_IDS)]
    body: dict[str, Any] = {
        "id": str(owner.user_id),
        "email": owner.email,
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "roleId": role,
        "roleIds": [role],
        "secondaryTeamIds": [secondary] if secondary else [],
        "superAdmin": index == 0,
        "sendWelcomeEmail": False,
    }
    if owner.team is not None:
        body["primaryTeamId"] = owner.team[0]
    return body


def h_users(ctx: Ctx) -> Response:
    req = ctx.req
    limit = int_param(req.param("limit"), 100, "limit")
    if limit < 1 or limit > 100:
        raise validation_error("limit must be between 1 and 100")
    start = int_param(req.param("after"), 0, "after")
    users = [_user(i, o) for i, o in enumerate(portal_users(ctx.state.owners))]
    body: dict[str, Any] = {"results": users[start : start + limit]}
    if start + limit < len(users):
        nxt = str(start + limit)
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


def h_user(ctx: Ctx) -> Response:
    for i, o in enumerate(portal_users(ctx.state.owners)):
        if str(o.user_id) == ctx.args["id"]:
            return json_response(_user(i, o))
    raise error(404, "OBJECT_NOT_FOUND", f"User {ctx.args['id']} not found")


def h_teams(ctx: Ctx) -> Response:
    users = portal_users(ctx.state.owners)
    teams = []
    for team_id, name in TEAMS:
        primary = [str(o.user_id) for o in users if o.team is not None and o.team[0] == team_id]
        secondary = [
            str(o.user_id) for i, o in enumerate(users) if _secondary_team(i, o) == team_id
        ]
        teams.append(
            {"id": team_id, "name": name, "userIds": primary, "secondaryUserIds": secondary}
        )
    return json_response({"results": teams})


USERS = ("/settings/v3/users", "/settings/users/{version:YYYY-MM}")
ROUTES: RouteTable = (
    Route("GET", USERS, h_users, "settings.users", scope=USERS_SCOPE),
    Route(
        "GET",
        ("/settings/v3/users/teams", "/settings/users/{version:YYYY-MM}/teams"),
        h_teams,
        "settings.teams",
        scope=TEAMS_SCOPE,
    ),
    Route(
        "GET",
        ("/settings/v3/users/{id}", "/settings/users/{version:YYYY-MM}/{id}"),
        h_user,
        "settings.user",
        scope=USERS_SCOPE,
    ),
)
