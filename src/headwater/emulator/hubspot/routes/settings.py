"""Account settings: the portal's users and teams (the user provisioning API).

Users are the people behind the portal's owners: every active ``PERSON`` owner is a user with the
owner's ``userId``, names and email, and the owner's team as its primary team; every fourth user
also belongs to the next team as a secondary member. The first user is the super admin. A user
created through the API is appended, with an owner of its own, and keeps the role and teams it
was given.
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
from headwater.emulator.hubspot.state import PortalState

USERS_SCOPE = "settings.users.read"
TEAMS_SCOPE = "settings.users.teams.read"
USERS_WRITE_SCOPE = "settings.users.write"
ROLE_IDS = ("100", "101")


def portal_users(owners: list[Owner]) -> list[Owner]:
    """The owners that are users of the portal: active people, in owner order."""
    return [o for o in owners if o.type == "PERSON" and not o.archived and o.user_id is not None]


def _secondary_teams(state: PortalState, index: int, owner: Owner) -> list[str]:
    made = state.user_settings.get(owner.user_id or 0)
    if made is not None:
        return list(made.get("secondaryTeamIds") or [])
    if index % 4 != 1 or owner.team is None:
        return []
    ids = [t for t, _ in TEAMS]
    return [ids[(ids.index(owner.team[0]) + 1) % len(ids)]]


def _user(state: PortalState, index: int, owner: Owner) -> dict[str, Any]:
    made = state.user_settings.get(owner.user_id or 0, {})
    role = made.get("roleId") if made else ROLE_IDS[index % len(ROLE_IDS)]
    body: dict[str, Any] = {
        "id": str(owner.user_id),
        "email": owner.email,
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "roleIds": [role] if role else [],
        "secondaryTeamIds": _secondary_teams(state, index, owner),
        "superAdmin": index == 0,
        "sendWelcomeEmail": bool(made.get("sendWelcomeEmail", False)),
    }
    if role:
        body["roleId"] = role
    if owner.team is not None:
        body["primaryTeamId"] = owner.team[0]
    return body


def h_users(ctx: Ctx) -> Response:
    req = ctx.req
    limit = int_param(req.param("limit"), 100, "limit")
    if limit < 1 or limit > 100:
        raise validation_error("limit must be between 1 and 100")
    start = int_param(req.param("after"), 0, "after")
    users = [_user(ctx.state, i, o) for i, o in enumerate(portal_users(ctx.state.owners))]
    body: dict[str, Any] = {"results": users[start : start + limit]}
    if start + limit < len(users):
        nxt = str(start + limit)
        body["paging"] = {"next": {"after": nxt, "link": req.link_with("after", nxt)}}
    return json_response(body)


def h_user(ctx: Ctx) -> Response:
    for i, o in enumerate(portal_users(ctx.state.owners)):
        if str(o.user_id) == ctx.args["id"]:
            return json_response(_user(ctx.state, i, o))
    raise error(404, "OBJECT_NOT_FOUND", f"User {ctx.args['id']} not found")


def h_teams(ctx: Ctx) -> Response:
    users = portal_users(ctx.state.owners)
    teams = []
    for team_id, name in TEAMS:
        primary = [str(o.user_id) for o in users if o.team is not None and o.team[0] == team_id]
        secondary = [
            str(o.user_id)
            for i, o in enumerate(users)
            if team_id in _secondary_teams(ctx.state, i, o)
        ]
        teams.append(
            {"id": team_id, "name": name, "userIds": primary, "secondaryUserIds": secondary}
        )
    return json_response({"results": teams})


def h_user_create(ctx: Ctx) -> Response:
    """``POST /settings/v3/users``: ``email`` and ``sendWelcomeEmail`` required, names, role and
    teams optional; 201 and the user. HubSpot makes an owner of every user, and so does the
    emulator."""
    body = ctx.req.json()
    if not isinstance(body, dict):
        raise validation_error("the body must be a user object")
    email, welcome = body.get("email"), body.get("sendWelcomeEmail")
    if not isinstance(email, str) or "@" not in email or not isinstance(welcome, bool):
        raise validation_error("email and sendWelcomeEmail are required")
    secondary = body.get("secondaryTeamIds") or []
    if not isinstance(secondary, list) or not all(isinstance(t, str) for t in secondary):
        raise validation_error("secondaryTeamIds must be a list of team ids")
    team = body.get("primaryTeamId")
    settings = {"roleId": body.get("roleId"), "secondaryTeamIds": secondary}
    settings["sendWelcomeEmail"] = welcome
    index, owner = ctx.state.add_user(
        email,
        str(body.get("firstName") or ""),
        str(body.get("lastName") or ""),
        team if isinstance(team, str) else None,
        settings,
    )
    return json_response(_user(ctx.state, index, owner), 201)


USERS = ("/settings/v3/users", "/settings/users/{version:YYYY-MM}")
ROUTES: RouteTable = (
    Route("GET", USERS, h_users, "settings.users", scope=USERS_SCOPE),
    Route("POST", USERS, h_user_create, "settings.users.create", scope=USERS_WRITE_SCOPE),
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
