"""The other standard CRM objects of the portal: quotes, leads, goals, feedback submissions,
communications, postal mail, deal splits, invoices, orders and carts.

They are served by the same object endpoints as contacts (``/crm/v3/objects/{type}``, search,
batch read, history), each under its own read scope, with a few of HubSpot's standard properties
filled by the generators of :mod:`values`. The property sets are a representative subset of
HubSpot's (the names are HubSpot's own); a portal has ``EmulatorConfig.extra_records`` live
records of each.
"""

from __future__ import annotations

from headwater.emulator.hubspot.portal_metadata import (
    ObjectType,
    PropDef,
    Relation,
    _opts,
    _system,
)

__all__ = ["EXTRA_RELATIONS", "EXTRA_SCOPES", "EXTRA_TYPE_NAMES", "extra_object_types"]

_QUOTE_STATUS = _opts("DRAFT", "APPROVAL_NOT_NEEDED", "PENDING_APPROVAL", "APPROVED", "REJECTED")
_LEAD_STAGE = _opts("new-stage-id", "attempting-stage-id", "connected-stage-id", "qualified")
_LEAD_TYPE = _opts("NEW_BUSINESS", "UPSELL", "RE_ATTEMPT")
_GOAL_STATUS = _opts("in_progress", "achieved", "missed")
_CHANNELS = _opts("WHATS_APP", "LINKEDIN_MESSAGE", "SMS")
_SURVEY = _opts("NPS", "CSAT", "CES", "CUSTOM")
_SENTIMENT = _opts("PROMOTER", "PASSIVE", "DETRACTOR")
_INVOICE_STATUS = _opts("draft", "open", "paid", "voided")
_ORDER_STAGE = _opts("open", "processed", "shipped", "delivered", "cancelled")
_CART_STATUS = _opts("ACTIVE", "ABANDONED", "CHECKED_OUT")
_CURRENCY = _opts("USD", "EUR", "GBP")


def _p(
    name: str,
    label: str,
    ptype: str,
    field: str,
    gen: str,
    null_pct: int = 0,
    options: tuple[tuple[str, str], ...] = (),
    history: bool = False,
) -> PropDef:
    return PropDef(name, label, ptype, field, "information", gen, null_pct, options, history)


def _money(name: str, label: str, null_pct: int = 0) -> PropDef:
    return _p(name, label, "number", "number", "money", null_pct)


def _enum(
    name: str, label: str, options: tuple[tuple[str, str], ...], null_pct: int = 0
) -> PropDef:
    return _p(name, label, "enumeration", "select", "enum", null_pct, options, history=True)


# (name, singular, objectTypeId, read scope, write scope, properties, default properties)
_SPECS: tuple[tuple[str, str, str, str, str, tuple[PropDef, ...], tuple[str, ...]], ...] = (
    (
        "quotes",
        "quote",
        "0-14",
        "crm.objects.quotes.read",
        "crm.objects.quotes.write",
        (
            _p("hs_title", "Quote name", "string", "text", "deal_name"),
            _p("hs_expiration_date", "Expiration date", "datetime", "date", "datetime"),
            _enum("hs_status", "Quote approval status", _QUOTE_STATUS),
            _money("hs_quote_amount", "Amount"),
            _enum("hs_currency", "Currency", _CURRENCY),
            _p("hs_public_url_key", "Public URL key", "string", "text", "sku", 30),
        ),
        ("hs_title", "hs_expiration_date", "hs_status"),
    ),
    (
        "leads",
        "lead",
        "0-136",
        "crm.objects.leads.read",
        "crm.objects.leads.write",
        (
            _p("hs_lead_name", "Lead name", "string", "text", "deal_name"),
            _enum("hs_pipeline_stage", "Lead stage", _LEAD_STAGE),
            _enum("hs_lead_type", "Lead type", _LEAD_TYPE, 20),
            _p("hs_pipeline", "Lead pipeline", "enumeration", "select", "const:lead-pipeline-id"),
        ),
        ("hs_lead_name", "hs_pipeline_stage"),
    ),
    (
        "goal_targets",
        "goal_target",
        "0-74",
        "crm.objects.goals.read",
        "crm.objects.goals.write",
        (
            _p("hs_goal_name", "Goal name", "string", "text", "sentence"),
            _money("hs_target_amount", "Target"),
            _p("hs_start_datetime", "Start date", "datetime", "date", "datetime"),
            _p("hs_end_datetime", "End date", "datetime", "date", "datetime"),
            _enum("hs_status", "Status", _GOAL_STATUS),
            _p("hs_assignee_user_id", "Assignee", "number", "number", "int:9586504:9586528"),
        ),
        ("hs_goal_name", "hs_target_amount"),
    ),
    (
        "feedback_submissions",
        "feedback_submission",
        "0-19",
        "crm.objects.feedback_submissions.read",
        "crm.objects.feedback_submissions.read",
        (
            _p("hs_content", "Response", "string", "textarea", "sentence", 20),
            _enum("hs_survey_type", "Survey type", _SURVEY),
            _p("hs_response_value", "Rating", "number", "number", "int:0:10"),
            _enum("hs_sentiment", "Sentiment", _SENTIMENT),
            _p("hs_submission_timestamp", "Submitted at", "datetime", "date", "datetime"),
        ),
        ("hs_content", "hs_survey_type"),
    ),
    (
        "communications",
        "communication",
        "0-18",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        (
            _p("hs_timestamp", "Activity date", "datetime", "date", "created"),
            _enum("hs_communication_channel_type", "Channel type", _CHANNELS),
            _p("hs_communication_body", "Body", "string", "textarea", "sentence"),
            _p("hs_communication_logged_from", "Logged from", "string", "text", "const:CRM"),
        ),
        ("hs_communication_channel_type", "hs_communication_body", "hs_timestamp"),
    ),
    (
        "postal_mail",
        "postal_mail",
        "0-116",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        (
            _p("hs_timestamp", "Activity date", "datetime", "date", "created"),
            _p("hs_postal_mail_body", "Body", "string", "textarea", "sentence"),
        ),
        ("hs_postal_mail_body", "hs_timestamp"),
    ),
    (
        "deal_splits",
        "deal_split",
        "0-82",
        "crm.dealsplits.read_write",
        "crm.dealsplits.read_write",
        (
            _p("hs_split_percentage", "Split percentage", "number", "number", "decimal"),
            _p("hs_deal_id", "Deal ID", "number", "number", "int:1:5000"),
        ),
        ("hs_split_percentage",),
    ),
    (
        "invoices",
        "invoice",
        "0-53",
        "crm.objects.invoices.read",
        "crm.objects.invoices.write",
        (
            _p("hs_number", "Invoice number", "string", "text", "sku"),
            _enum("hs_invoice_status", "Status", _INVOICE_STATUS),
            _money("hs_amount_billed", "Amount billed"),
            _enum("hs_currency", "Currency", _CURRENCY),
            _p("hs_due_date", "Due date", "date", "date", "date"),
        ),
        ("hs_number", "hs_invoice_status"),
    ),
    (
        "orders",
        "order",
        "0-123",
        "crm.objects.orders.read",
        "crm.objects.orders.write",
        (
            _p("hs_order_name", "Order name", "string", "text", "deal_name"),
            _enum("hs_pipeline_stage", "Order stage", _ORDER_STAGE),
            _money("hs_total_price", "Total price"),
            _enum("hs_currency_code", "Currency", _CURRENCY),
        ),
        ("hs_order_name", "hs_pipeline_stage"),
    ),
    (
        "carts",
        "cart",
        "0-142",
        "crm.objects.carts.read",
        "crm.objects.carts.write",
        (
            _p("hs_cart_name", "Cart name", "string", "text", "product_name"),
            _enum("hs_cart_status", "Status", _CART_STATUS),
            _money("hs_total_price", "Total price"),
            _enum("hs_currency_code", "Currency", _CURRENCY),
        ),
        ("hs_cart_name", "hs_cart_status"),
    ),
)

EXTRA_TYPE_NAMES: tuple[str, ...] = tuple(spec[0] for spec in _SPECS)
#: the read and write scopes of these types (added to the portal's scopes)
EXTRA_SCOPES: tuple[str, ...] = tuple(
    dict.fromkeys(s for spec in _SPECS for s in (spec[3], spec[4]))
)


def extra_object_types() -> list[ObjectType]:
    """The object types of this module, with their system properties."""
    out = []
    for name, singular, type_id, scope, write_scope, props, defaults in _SPECS:
        created = "hs_createdate"
        out.append(
            ObjectType(
                name,
                singular,
                type_id,
                singular.replace("_", " ").title(),
                name.replace("_", " ").title(),
                scope,
                write_scope,
                created,
                "hs_lastmodifieddate",
                (*defaults, created, "hs_lastmodifieddate"),
                (*_system(created, "hs_lastmodifieddate"), *props),
                searchable=tuple(p.name for p in props if p.type == "string")[:1],
            )
        )
    return out


#: The generated associations of these objects, with HubSpot's HUBSPOT_DEFINED type ids (forward =
#: from the first object, reverse = from the second). Every id is in the "Association type ID
#: values" tables of HubSpot's associations guide (developers.hubspot.com/docs/api-reference/
#: legacy/crm/associations/associate-records/guide, last modified 2026-03-30); most are also in its
#: earlier version (developers.hubspot.com/docs/api/crm/associations#association-type-id-values) and
#: in public client code; docs/emulator.md lists the source of each.
EXTRA_RELATIONS: tuple[Relation, ...] = (
    Relation("quotes", "contacts", 2, 69, 70),
    Relation("quotes", "companies", 1, 71, 72),
    Relation("quotes", "deals", 1, 64, 63),
    Relation("quotes", "line_items", 3, 67, 68),
    Relation("invoices", "contacts", 1, 177, 178),
    Relation("invoices", "companies", 1, 179, 180),
    Relation("invoices", "deals", 1, 175, 176),
    Relation("invoices", "line_items", 3, 409, 410),
    Relation("orders", "contacts", 1, 507, 508),
    # 934 / 935 unlabeled, 509 / 510 the primary company (the 2026 guide; earlier ones had only
    # 509 / 510)
    Relation("orders", "companies", 1, 934, 935, 509, 510),
    Relation("orders", "deals", 1, 512, 511),
    Relation("orders", "line_items", 3, 513, 514),
    Relation("carts", "contacts", 1, 586, 587),
    Relation("carts", "deals", 1, 1347, 1346, present_pct=50),
    Relation("carts", "line_items", 3, 590, 591),
    # a lead's primary contact / company (578 / 580) has no documented type from the other side
    Relation("leads", "contacts", 1, 608, 609, 578),
    Relation("leads", "companies", 1, 610, 611, 580, present_pct=70),
    Relation("communications", "contacts", 1, 81, 82),
    Relation("postal_mail", "contacts", 1, 453, 454),
    Relation("feedback_submissions", "contacts", 1, 98, 97),
    Relation("feedback_submissions", "tickets", 1, 100, 99, present_pct=50),
)
