"""Account tables read in full from one endpoint each: pipeline stages, owners' teams, users and
teams. Each has a column layout and a function that turns one response page into rows.

* pipeline stages: ``GET /crm/v3/pipelines/{deals,tickets}``, one row per stage of every pipeline
  (key ``Pipeline_Id`` + ``Id``; stage ids are only unique within their object type);
* owners' teams: ``GET /crm/v3/owners`` (live owners), one row per team an owner belongs to (key
  ``Owner_Id`` + ``Team_Id``);
* users: ``GET /settings/v3/users/`` (``limit`` ≤ 100, ``after``), scope ``settings.users.read``;
* teams: ``GET /settings/v3/users/teams`` (one call, no paging), scope
  ``settings.users.teams.read``.
"""

from __future__ import annotations

from typing import Any

from headwater.connectors.hubspot.schema import Column, ColumnKind, Origin, TableLayout
from headwater.connectors.hubspot.tables import TableDef, TableKind

__all__ = ["SIMPLE_KINDS", "paged", "path_for", "rows_from", "simple_layout"]

S, L, B, T, IDS = (
    ColumnKind.STRING,
    ColumnKind.LONG,
    ColumnKind.BOOLEAN,
    ColumnKind.DATETIME,
    ColumnKind.ID_LIST,
)
F = Origin.FIELD
_DELETED = Column("Is_Deleted", "", Origin.DELETED, B)

_STAGE_COLUMNS = (
    Column("Pipeline_Id", "pipelineId", F, S, "the stage's pipeline"),
    Column("Pipeline_Label", "pipelineLabel", F, S),
    Column("Id", "id", F, S, "stage id"),
    Column("Label", "label", F, S),
    Column("Display_Order", "displayOrder", F, L),
    Column("Created_At", "createdAt", F, T),
    Column("Updated_At", "updatedAt", F, T),
    Column("Archived", "archived", F, B),
    Column("Probability", "probability", F, ColumnKind.DOUBLE, "deal stages: win probability"),
    Column("Is_Closed", "isClosed", F, B, "deal stages: closed won or lost"),
    Column("Ticket_State", "ticketState", F, S, "ticket stages: OPEN or CLOSED"),
    Column("Metadata", "metadata", Origin.JSON, S, "the stage's metadata as JSON"),
    _DELETED,
)

_OWNER_TEAM_COLUMNS = (
    Column("Owner_Id", "ownerId", F, S),
    Column("Team_Id", "id", F, S),
    Column("Team_Name", "name", F, S),
    Column("Primary", "primary", F, B, "the owner's primary team"),
    _DELETED,
)

_USER_COLUMNS = (
    Column("Id", "id", F, S, "user id (the userId of the user's owner)"),
    Column("Email", "email", F, S),
    Column("First_Name", "firstName", F, S),
    Column("Last_Name", "lastName", F, S),
    Column("Role_Id", "roleId", F, S),
    Column("Role_Ids", "roleIds", F, IDS),
    Column("Primary_Team_Id", "primaryTeamId", F, S),
    Column("Secondary_Team_Ids", "secondaryTeamIds", F, IDS),
    Column("Super_Admin", "superAdmin", F, B),
    _DELETED,
)

_TEAM_COLUMNS = (
    Column("Id", "id", F, S),
    Column("Name", "name", F, S),
    Column("User_Ids", "userIds", F, IDS, "primary members"),
    Column("Secondary_User_Ids", "secondaryUserIds", F, IDS, "secondary members"),
    _DELETED,
)

SIMPLE_KINDS = frozenset(
    {TableKind.PIPELINE_STAGES, TableKind.OWNER_TEAMS, TableKind.USERS, TableKind.TEAMS}
)


def simple_layout(table: TableDef) -> TableLayout:
    if table.kind is TableKind.PIPELINE_STAGES:
        return TableLayout(table, _STAGE_COLUMNS, key=("Pipeline_Id", "Id"))
    if table.kind is TableKind.OWNER_TEAMS:
        return TableLayout(table, _OWNER_TEAM_COLUMNS, key=("Owner_Id", "Team_Id"))
    if table.kind is TableKind.USERS:
        return TableLayout(table, _USER_COLUMNS)
    return TableLayout(table, _TEAM_COLUMNS)


def path_for(table: TableDef) -> str:
    if table.kind is TableKind.PIPELINE_STAGES:
        return f"/crm/v3/pipelines/{table.object_type}"
    if table.kind is TableKind.OWNER_TEAMS:
        return "/crm/v3/owners"
    if table.kind is TableKind.USERS:
        return "/settings/v3/users/"
    return "/settings/v3/users/teams"


def paged(table: TableDef) -> bool:
    """Whether the endpoint pages with ``limit``/``after``."""
    return table.kind in (TableKind.OWNER_TEAMS, TableKind.USERS)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def rows_from(table: TableDef, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table's rows in one response's ``results``."""
    if table.kind is TableKind.PIPELINE_STAGES:
        rows = []
        for pipeline in results:
            for stage in pipeline.get("stages") or []:
                meta = stage.get("metadata") or {}
                rows.append(
                    {
                        **stage,
                        "pipelineId": str(pipeline.get("id")),
                        "pipelineLabel": pipeline.get("label"),
                        "probability": _float(meta.get("probability")),
                        "isClosed": _bool(meta.get("isClosed")),
                        "ticketState": meta.get("ticketState"),
                        "metadata": meta or None,
                    }
                )
        return rows
    if table.kind is TableKind.OWNER_TEAMS:
        return [
            {**team, "id": str(team.get("id")), "ownerId": str(owner.get("id"))}
            for owner in results
            for team in owner.get("teams") or []
        ]
    if table.kind is TableKind.USERS:
        return [{**u, "superAdmin": _bool(u.get("superAdmin"))} for u in results]
    return results
