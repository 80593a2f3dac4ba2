"""The lists and marketing tables: what each one reads, its columns, key and sync strategy.

A column is the JSON path of a value in HubSpot's record (``("stats", "counters", "sent")``), its
name is the path flattened the Adobe way, camelCase split into words (``Stats_Counters_Sent``,
``Email_Campaign_Id``; see ``schema.column_name``), and nested objects are kept as JSON text. Every table's key is ``Id``; where HubSpot identifies a
row by several values, ``Id`` joins them (a membership is ``<listId>-<recordId>``, an email event
``<created>-<id>``) and the parts are columns of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headwater.connectors.hubspot.schema import Column, ColumnKind, Origin, TableLayout, column_name
from headwater.connectors.hubspot.tables import TableDef, TableKind

__all__ = [
    "FULL_EVERY_RUN",
    "MARKETING_TABLES",
    "MarketingTable",
    "marketing_layout",
    "marketing_table",
]

S, L, B, T, D, DB = (
    ColumnKind.STRING,
    ColumnKind.LONG,
    ColumnKind.BOOLEAN,
    ColumnKind.DATETIME,
    ColumnKind.DATE,
    ColumnKind.DOUBLE,
)
J = "json"  # a nested value kept as JSON text

#: why a table without a HubSpot cursor is read whole
FULL_EVERY_RUN = "HubSpot has no modification cursor for this table: full read"


@dataclass(frozen=True, slots=True)
class MarketingTable:
    """One table: its table entry, its columns as ``(path, kind)``, and how it syncs.

    ``cursor`` names the time a row's incremental window is decided on (``None``: every read is
    full); ``append`` tables only ever gain rows (events); ``scope`` is the OAuth scope needed.
    """

    table: TableDef
    fields: tuple[tuple[tuple[str, ...], ColumnKind | str], ...]
    scope: str
    append: bool = False
    reason: str = FULL_EVERY_RUN


def _t(
    name: str,
    stream: str,
    scope: str,
    fields: tuple[tuple[tuple[str, ...], ColumnKind | str], ...],
    *,
    cursor: str | None = None,
    append: bool = False,
    reason: str = FULL_EVERY_RUN,
) -> MarketingTable:
    return MarketingTable(
        table=TableDef(
            name=f"Hubspot.{name}",
            kind=TableKind.MARKETING,
            object_type=stream,
            cursor_property=cursor,
            label=name.replace("_", " "),
        ),
        fields=fields,
        scope=scope,
        append=append,
        reason=reason,
    )


def _f(*spec: tuple[str, ColumnKind | str]) -> tuple[tuple[tuple[str, ...], ColumnKind | str], ...]:
    return tuple((tuple(path.split(".")), kind) for path, kind in spec)


_STATS = tuple(
    (f"stats.counters.{k}", L)
    for k in (
        "sent",
        "delivered",
        "open",
        "click",
        "bounce",
        "hardbounced",
        "softbounced",
        "dropped",
        "unsubscribed",
        "spamreport",
    )
) + tuple(
    (f"stats.ratios.{k}", DB)
    for k in ("deliveredratio", "openratio", "clickratio", "clickthroughratio", "bounceratio")
)

MARKETING_TABLES: tuple[MarketingTable, ...] = (
    _t(
        "Lists",
        "lists",
        "crm.lists.read",
        _f(
            ("name", S),
            ("objectTypeId", S),
            ("processingType", S),
            ("processingStatus", S),
            ("listVersion", L),
            ("size", L),
            ("createdAt", T),
            ("updatedAt", T),
            ("filtersUpdatedAt", T),
            ("createdById", S),
            ("updatedById", S),
            ("filterBranch", J),
        ),
        reason=(
            "a list's size moves with its memberships, which HubSpot does not document as moving "
            "its updatedAt, and a deleted list only drops out of a full listing: every read is "
            "full (2 calls per 500 lists)"
        ),
    ),
    _t(
        "List_Memberships",
        "list_memberships",
        "crm.lists.read",
        _f(("listId", S), ("recordId", S), ("membershipTimestamp", T), ("removedAt", T)),
        reason=(
            "HubSpot's memberships have no change cursor: every list is listed, and only "
            "memberships added, re-added or removed since the dataset's rows are written"
        ),
    ),
    _t(
        "Forms",
        "forms",
        "forms",
        _f(
            ("id", S),
            ("name", S),
            ("formType", S),
            ("createdAt", T),
            ("updatedAt", T),
            ("archived", B),
            ("archivedAt", T),
            ("fieldGroups", J),
            ("configuration", J),
            ("displayOptions", J),
            ("legalConsentOptions", J),
        ),
    ),
    _t(
        "Form_Submissions",
        "form_submissions",
        "forms",
        _f(
            ("conversionId", S),
            ("formId", S),
            ("submittedAt", T),
            ("pageUrl", S),
            ("email", S),
            ("values", J),
        ),
        cursor="submittedAt",
        append=True,
    ),
    _t(
        "Marketing_Emails",
        "marketing_emails",
        "content",
        _f(
            ("id", S),
            ("name", S),
            ("subject", S),
            ("state", S),
            ("type", S),
            ("subcategory", S),
            ("campaign", S),
            ("campaignName", S),
            ("language", S),
            ("isPublished", B),
            ("isTransactional", B),
            ("publishDate", T),
            ("publishedAt", T),
            ("createdAt", T),
            ("updatedAt", T),
            ("archived", B),
            ("from.fromName", S),
            ("from.replyTo", S),
            ("to", J),
            *_STATS,
            ("stats", J),
        ),
        reason=(
            "statistics change without the email's updatedAt moving: every read is full "
            "(one call per 100 emails)"
        ),
    ),
    _t(
        "Email_Events",
        "email_events",
        "content",
        _f(
            ("eventId", S),
            ("created", T),
            ("type", S),
            ("recipient", S),
            ("portalId", L),
            ("appId", L),
            ("appName", S),
            ("emailCampaignId", L),
            ("sentBy.id", S),
            ("sentBy.created", T),
            ("obsoletedBy.id", S),
            ("causedBy.id", S),
            ("smtpId", S),
            ("response", S),
            ("attempt", L),
            ("category", S),
            ("status", S),
            ("dropReason", S),
            ("dropMessage", S),
            ("subject", S),
            ("from", S),
            ("replyTo", J),
            ("cc", J),
            ("bcc", J),
            ("url", S),
            ("referer", S),
            ("linkId", L),
            ("duration", L),
            ("filteredEvent", B),
            ("userAgent", S),
            ("browser", J),
            ("location.country", S),
            ("location.state", S),
            ("location.city", S),
            ("source", S),
            ("requestedBy", S),
            ("portalSubscriptionStatus", S),
            ("subscriptions", J),
            ("bounced", B),
        ),
        cursor="created",
        append=True,
    ),
    _t(
        "Email_Campaigns",
        "email_campaigns",
        "content",
        _f(
            ("id", L),
            ("appId", L),
            ("appName", S),
            ("contentId", L),
            ("name", S),
            ("subject", S),
            ("type", S),
            ("subType", S),
            ("numIncluded", L),
            ("numQueued", L),
            ("processingState", S),
            ("lastProcessingStartedAt", T),
            ("lastProcessingFinishedAt", T),
            ("lastProcessingStateChangeAt", T),
            ("lastUpdatedTime", T),
            *(
                (f"counters.{k}", L)
                for k in (
                    "sent",
                    "processed",
                    "delivered",
                    "open",
                    "click",
                    "bounce",
                    "deferred",
                    "dropped",
                    "spamreport",
                    "statuschange",
                )
            ),
            ("counters", J),
        ),
        reason=(
            "HubSpot's email campaigns have no cursor and their counters keep moving: every read "
            "lists them and reads each one (1 + one call per campaign)"
        ),
    ),
    _t(
        "Campaigns",
        "campaigns",
        "marketing.campaigns.read",
        _f(
            ("id", S),
            ("createdAt", T),
            ("updatedAt", T),
            ("properties.hs_name", S),
            ("properties.hs_start_date", D),
            ("properties.hs_end_date", D),
            ("properties.hs_campaign_status", S),
            ("properties.hs_notes", S),
            ("properties.hs_audience", S),
            ("properties.hs_currency_code", S),
            ("properties.hs_utm", S),
            ("properties.hs_owner", S),
            ("businessUnits", J),
        ),
    ),
    _t(
        "Subscription_Types",
        "subscription_types",
        "communication_preferences.read",
        _f(
            ("id", S),
            ("name", S),
            ("description", S),
            ("purpose", S),
            ("communicationMethod", S),
            ("isActive", B),
            ("isDefault", B),
            ("isInternal", B),
            ("businessUnitId", L),
            ("createdAt", T),
            ("updatedAt", T),
        ),
    ),
    _t(
        "Subscription_Changes",
        "subscription_changes",
        "content",
        _f(
            ("timestamp", T),
            ("recipient", S),
            ("portalId", L),
            ("change", S),
            ("changeType", S),
            ("source", S),
            ("subscriptionId", L),
            ("causedByEvent.id", S),
            ("causedByEvent.created", T),
        ),
        cursor="timestamp",
        append=True,
    ),
    _t(
        "Workflows",
        "workflows",
        "automation",
        _f(
            ("id", S),
            ("uuid", S),
            ("name", S),
            ("isEnabled", B),
            ("flowType", S),
            ("objectTypeId", S),
            ("revisionId", S),
            ("createdAt", T),
            ("updatedAt", T),
        ),
    ),
)

_BY_STREAM = {t.table.object_type: t for t in MARKETING_TABLES}


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def field_column(path: tuple[str, ...]) -> str:
    """``("sentBy", "created")`` → ``Sent_By_Created``."""
    return column_name(*(_CAMEL.sub("_", part) for part in path))


def marketing_table(table: TableDef) -> MarketingTable:
    return _BY_STREAM[table.object_type]


def marketing_layout(table: TableDef) -> TableLayout:
    """``Id`` first, then a column per field, then ``Is_Deleted``."""
    spec = marketing_table(table)
    columns = [Column("Id", "id", Origin.FIELD, ColumnKind.STRING, "the row's key")]
    for path, kind in spec.fields:
        name = field_column(path)
        if name == "Id":  # the record's own id is the key
            continue
        source = ".".join(path)
        if kind == J:
            columns.append(Column(name, source, Origin.JSON, ColumnKind.STRING, "JSON"))
        else:
            assert isinstance(kind, ColumnKind)
            columns.append(Column(name, source, Origin.FIELD, kind))
    columns.append(
        Column(
            "Is_Deleted",
            "",
            Origin.DELETED,
            ColumnKind.BOOLEAN,
            "true when HubSpot archived or removed the row",
        )
    )
    return TableLayout(table, tuple(columns))
