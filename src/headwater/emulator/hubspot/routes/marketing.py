"""Marketing families: forms (v3) and form submissions (form-integrations v1, plus the submit
endpoint), marketing emails (v3, with statistics, and publishing), the email events API (v1),
campaigns (v3) and the legacy email campaigns (v1) the events refer to, subscription types (communication preferences v3) and the subscriptions
timeline (v1), and workflows (automation v4).

Paging follows each API: the v3 families page with an opaque ``after`` token (base64 of an
offset, as in HubSpot's examples) and ``paging.next``; form submissions page newest first with an
``after`` token; the v1 events and timeline APIs page with an opaque ``offset`` and ``hasMore``
inside a ``startTimestamp``/``endTimestamp`` window. Nothing dated after the portal's clock is
served: events of a send appear as the clock reaches them.
"""

from __future__ import annotations

import base64
from typing import Any

from headwater.emulator.hubspot.http import Response, json_response
from headwater.emulator.hubspot.marketing import MarketingData, Submission
from headwater.emulator.hubspot.marketing_stats import email_campaign, email_stats
from headwater.emulator.hubspot.routing import (
    Ctx,
    Route,
    RouteTable,
    error,
    int_param,
    validation_error,
)

FORMS_SCOPE = "forms"
CONTENT_SCOPE = "content"
CAMPAIGNS_READ = "marketing.campaigns.read"
CAMPAIGNS_WRITE = "marketing.campaigns.write"
PREFERENCES_READ = "communication_preferences.read"
PREFERENCES_WRITE = "communication_preferences.write"
AUTOMATION_SCOPE = "automation"
MAX_PUBLISH_RECIPIENTS = 1_000


def _data(ctx: Ctx) -> MarketingData:
    return ctx.state.marketing


def _token(n: int) -> str:
    return base64.b64encode(str(n).encode()).decode()


def _untoken(value: str | None, name: str = "after") -> int:
    if not value:
        return 0
    try:
        return int(base64.b64decode(value.encode(), validate=True).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error(f"{name} is not a paging token of this endpoint") from exc


def _limit(ctx: Ctx, default: int, top: int) -> int:
    limit = int_param(ctx.req.param("limit"), default, "limit")
    if limit < 1 or limit > top:
        raise validation_error(f"limit must be between 1 and {top}")
    return limit


def _v3_page(ctx: Ctx, items: list[dict[str, Any]], default: int, top: int) -> dict[str, Any]:
    """``{"results", "paging"?}`` of an offset list behind an opaque ``after`` token."""
    limit = _limit(ctx, default, top)
    start = _untoken(ctx.req.param("after"))
    page = items[start : start + limit]
    body: dict[str, Any] = {"results": page}
    if start + limit < len(items):
        nxt = _token(start + limit)
        body["paging"] = {"next": {"after": nxt, "link": ctx.req.link_with("after", nxt)}}
    return body


def _window(ctx: Ctx) -> tuple[int, int]:
    now = ctx.state.now_ms()
    start = int_param(ctx.req.param("startTimestamp"), 0, "startTimestamp")
    end = int_param(ctx.req.param("endTimestamp"), now, "endTimestamp")
    return start, min(end, now)


# --------------------------------------------------------------------------- forms


def h_forms(ctx: Ctx) -> Response:
    archived = ctx.req.flag("archived")
    forms = [f for f in _data(ctx).forms if bool(f["archived"]) == archived]
    types = ctx.req.params("formTypes")
    if types and "all" not in types:
        forms = [f for f in forms if f["formType"] in types]
    return json_response(_v3_page(ctx, forms, 20, 500))


def h_form(ctx: Ctx) -> Response:
    form = _data(ctx).form(ctx.args["id"])
    if form is None:
        raise error(404, "OBJECT_NOT_FOUND", f"Form {ctx.args['id']} does not exist")
    return json_response(form)


def h_form_create(ctx: Ctx) -> Response:
    body = ctx.req.json()
    if not isinstance(body, dict) or not body.get("name"):
        raise validation_error("name is required")
    if str(body.get("formType") or "hubspot") != "hubspot":
        raise validation_error("only hubspot forms can be created")
    return json_response(_data(ctx).create_form(body, ctx.state.now_ms()), 201)


def h_form_archive(ctx: Ctx) -> Response:
    data = _data(ctx)
    form = data.form(ctx.args["id"])
    if form is None or form["archived"]:
        raise error(404, "OBJECT_NOT_FOUND", f"Form {ctx.args['id']} does not exist")
    data.archive_form(form, ctx.state.now_ms())
    return Response(204, b"", None)


def h_submissions(ctx: Ctx) -> Response:
    data = _data(ctx)
    subs = data.submissions.get(ctx.args["id"])
    if subs is None:
        raise error(404, "OBJECT_NOT_FOUND", f"Form {ctx.args['id']} does not exist")
    limit = _limit(ctx, 20, 50)
    now = ctx.state.now_ms()
    after = ctx.req.param("after")
    floor: tuple[int, str] | None = None
    if after:
        try:
            ms, _, cid = base64.b64decode(after.encode(), validate=True).decode().partition(":")
            floor = (int(ms), cid)
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_error("after is not a paging token of this endpoint") from exc
    with data.lock:
        older = [
            s
            for s in subs
            if s.submitted_ms <= now
            and (floor is None or (s.submitted_ms, s.conversion_id) < floor)
        ]
    page: list[Submission] = older[:limit]
    body: dict[str, Any] = {"results": [s.to_json() for s in page]}
    if len(older) > limit:
        last = page[-1]
        nxt = base64.b64encode(f"{last.submitted_ms}:{last.conversion_id}".encode()).decode()
        body["paging"] = {"next": {"after": nxt, "link": ctx.req.link_with("after", nxt)}}
    return json_response(body)


def h_submit(ctx: Ctx) -> Response:
    """The Forms API's submit endpoint (``api.hsforms.com`` at HubSpot, the same host here)."""
    data = _data(ctx)
    if ctx.args["portal"] != str(ctx.state.portal_id):
        raise error(404, "NOT_FOUND", f"Portal {ctx.args['portal']} not found")
    form = data.form(ctx.args["id"])
    if form is None:
        raise error(404, "FORM_NOT_FOUND", f"Form {ctx.args['id']} does not exist")
    body = ctx.req.json()
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields:
        raise validation_error("fields is required: a list of {name, value}")
    values = [{"name": str(f["name"]), "value": str(f.get("value", ""))} for f in fields]
    context = body.get("context") or {}
    submitted = int_param(str(body.get("submittedAt") or ""), ctx.state.now_ms(), "submittedAt")
    page = str(context.get("pageUri") or "https://www.headwater-demo.test/")
    data.submit(form["id"], values, submitted, page)
    action = form["configuration"]["postSubmitAction"]
    return json_response({"inlineMessage": str(action["value"])})


# --------------------------------------------------------------------------- marketing emails


def _render_email(ctx: Ctx, email: dict[str, Any], stats: bool) -> dict[str, Any]:
    out = {k: v for k, v in email.items() if k != "emailCampaignId"}
    if stats:
        out["stats"] = email_stats(_data(ctx), email, ctx.state.now_ms())
    return out


def h_emails(ctx: Ctx) -> Response:
    archived = ctx.req.flag("archived")
    stats = ctx.req.flag("includeStats")
    emails = [e for e in _data(ctx).emails if bool(e["archived"]) == archived]
    body = _v3_page(ctx, emails, 10, 500)
    body["results"] = [_render_email(ctx, e, stats) for e in body["results"]]
    body["total"] = len(emails)
    return json_response(body)


def _email(ctx: Ctx) -> dict[str, Any]:
    email = _data(ctx).email(ctx.args["id"])
    if email is None:
        raise error(404, "OBJECT_NOT_FOUND", f"Email {ctx.args['id']} does not exist")
    return email


def h_email(ctx: Ctx) -> Response:
    return json_response(_render_email(ctx, _email(ctx), ctx.req.flag("includeStats")))


def h_email_publish(ctx: Ctx) -> Response:
    """Publish (send) a batch email to the members of its included lists: 204."""
    email = _email(ctx)
    store = ctx.state.stores["contacts"]
    wanted = set(email["to"]["contactIlsLists"]["include"])
    recipients: list[int] = []
    for cl in ctx.state.lists:
        if str(cl.list_id) in wanted:
            recipients.extend(cl.members_from(0, MAX_PUBLISH_RECIPIENTS, store))
    unique = sorted(set(recipients))[:MAX_PUBLISH_RECIPIENTS]
    _data(ctx).publish(email, unique, ctx.state.now_ms())
    return Response(204, b"", None)


# --------------------------------------------------------------------------- email events


def h_events(ctx: Ctx) -> Response:
    data = _data(ctx)
    limit = _limit(ctx, 100, 1000)
    start, end = _window(ctx)
    kind = ctx.req.param("eventType")
    campaign = ctx.req.param("campaignId")
    recipient = ctx.req.param("recipient")
    skip_filtered = ctx.req.flag("excludeFilteredEvents")
    with data.lock:
        lo, hi = data.events_between(start, end)
        matching = [
            e
            for e in data.events[lo:hi]
            if (kind is None or e["type"] == kind)
            and (campaign is None or str(e["emailCampaignId"]) == campaign)
            and (recipient is None or e["recipient"] == recipient)
            and not (skip_filtered and e.get("filteredEvent"))
        ]
    at = _untoken(ctx.req.param("offset"), "offset")
    page = matching[at : at + limit]
    return json_response(
        {"hasMore": at + limit < len(matching), "offset": _token(at + len(page)), "events": page}
    )


def h_event(ctx: Ctx) -> Response:
    created = int_param(ctx.args["created"], 0, "created")
    for e in _data(ctx).events:
        if e["id"] == ctx.args["id"] and e["created"] == created:
            return json_response(e)
    raise error(404, "OBJECT_NOT_FOUND", f"Event {ctx.args['id']} does not exist")


# --------------------------------------------------------------------------- email campaigns (v1)


def h_email_campaigns(ctx: Ctx) -> Response:
    """``{"campaigns": [{id, appId, appName, lastUpdatedTime}], "hasMore", "offset"}``."""
    data = _data(ctx)
    limit = _limit(ctx, 10, 1000)
    now = ctx.state.now_ms()
    rows = [email_campaign(data, e, now) for e in data.emails]
    at = _untoken(ctx.req.param("offset"), "offset")
    page = [
        {k: r[k] for k in ("id", "appId", "appName", "lastUpdatedTime")}
        for r in rows[at : at + limit]
    ]
    return json_response(
        {"campaigns": page, "hasMore": at + limit < len(rows), "offset": _token(at + len(page))}
    )


def h_email_campaign(ctx: Ctx) -> Response:
    data = _data(ctx)
    for e in data.emails:
        if str(e["emailCampaignId"]) == ctx.args["id"]:
            return json_response(email_campaign(data, e, ctx.state.now_ms()))
    raise error(404, "OBJECT_NOT_FOUND", f"Campaign {ctx.args['id']} does not exist")


# --------------------------------------------------------------------------- campaigns


def _render_campaign(campaign: dict[str, Any], names: list[str]) -> dict[str, Any]:
    props = campaign["properties"]
    return {
        **{k: v for k, v in campaign.items() if k != "properties"},
        "properties": {n: props[n] for n in names if props.get(n) not in (None, "")},
    }


def _property_names(ctx: Ctx) -> list[str]:
    return [n for v in ctx.req.params("properties") for n in v.split(",") if n]


def h_campaigns(ctx: Ctx) -> Response:
    names = _property_names(ctx)
    body = _v3_page(ctx, _data(ctx).campaigns, 50, 100)
    body["results"] = [_render_campaign(c, names) for c in body["results"]]
    return json_response(body)


def h_campaign(ctx: Ctx) -> Response:
    for c in _data(ctx).campaigns:
        if c["id"] == ctx.args["id"]:
            return json_response(_render_campaign(c, _property_names(ctx)))
    raise error(404, "OBJECT_NOT_FOUND", f"Campaign {ctx.args['id']} does not exist")


def h_campaign_create(ctx: Ctx) -> Response:
    props = ctx.req.json().get("properties")
    if not isinstance(props, dict) or not props.get("hs_name"):
        raise validation_error("properties.hs_name is required")
    campaign = _data(ctx).create_campaign(props, ctx.state.now_ms())
    return json_response(_render_campaign(campaign, list(campaign["properties"])), 201)


# --------------------------------------------------------------------------- subscriptions


def h_definitions(ctx: Ctx) -> Response:
    return json_response({"subscriptionDefinitions": _data(ctx).definitions})


def _subscribe(ctx: Ctx, subscribed: bool) -> Response:
    body = ctx.req.json()
    address = str(body.get("emailAddress") or "")
    sid = str(body.get("subscriptionId") or "")
    data = _data(ctx)
    definition = next((d for d in data.definitions if d["id"] == sid), None)
    if not address or definition is None:
        raise validation_error("emailAddress and a known subscriptionId are required")
    data.change_subscription(address, sid, subscribed, ctx.state.now_ms())
    return json_response(
        {
            "id": sid,
            "name": definition["name"],
            "description": definition["description"],
            "status": "SUBSCRIBED" if subscribed else "NOT_SUBSCRIBED",
            "sourceOfStatus": "SUBSCRIPTION_STATUS",
            "legalBasis": body.get("legalBasis"),
            "legalBasisExplanation": body.get("legalBasisExplanation"),
        }
    )


def h_subscribe(ctx: Ctx) -> Response:
    return _subscribe(ctx, True)


def h_unsubscribe(ctx: Ctx) -> Response:
    return _subscribe(ctx, False)


def h_timeline(ctx: Ctx) -> Response:
    data = _data(ctx)
    limit = _limit(ctx, 100, 1000)
    start, end = _window(ctx)
    with data.lock:
        items = [t for t in data.timeline if start <= t["timestamp"] <= end]
    at = _untoken(ctx.req.param("offset"), "offset")
    page = items[at : at + limit]
    return json_response(
        {"hasMore": at + limit < len(items), "offset": _token(at + len(page)), "timeline": page}
    )


# --------------------------------------------------------------------------- workflows


def h_flows(ctx: Ctx) -> Response:
    return json_response(_v3_page(ctx, _data(ctx).workflows, 100, 100))


def h_flow_create(ctx: Ctx) -> Response:
    body = ctx.req.json()
    if not isinstance(body, dict) or not body.get("name"):
        raise validation_error("name is required")
    return json_response(_data(ctx).create_flow(body, ctx.state.now_ms()), 201)


def h_flow_delete(ctx: Ctx) -> Response:
    if not _data(ctx).delete_flow(ctx.args["id"]):
        raise error(404, "OBJECT_NOT_FOUND", f"Flow {ctx.args['id']} does not exist")
    return Response(204, b"", None)


def h_flow(ctx: Ctx) -> Response:
    for f in _data(ctx).workflows:
        if f["id"] == ctx.args["id"]:
            return json_response(f)
    raise error(404, "OBJECT_NOT_FOUND", f"Flow {ctx.args['id']} does not exist")


SUBMIT = "/submissions/v3/integration/secure/submit/{portal}/{id}"

ROUTES: RouteTable = (
    Route("GET", "/marketing/v3/forms", h_forms, "forms.list", scope=FORMS_SCOPE),
    Route("GET", "/marketing/v3/forms/{id}", h_form, "forms.read", scope=FORMS_SCOPE),
    Route("POST", "/marketing/v3/forms", h_form_create, "forms.create", scope=FORMS_SCOPE),
    Route("DELETE", "/marketing/v3/forms/{id}", h_form_archive, "forms.archive", scope=FORMS_SCOPE),
    Route(
        "GET",
        "/form-integrations/v1/submissions/forms/{id}",
        h_submissions,
        "forms.submissions",
        scope=FORMS_SCOPE,
    ),
    Route("POST", SUBMIT, h_submit, "forms.submit", scope=FORMS_SCOPE),
    Route(
        "POST",
        "/submissions/v3/integration/submit/{portal}/{id}",
        h_submit,
        "forms.submit.public",
        auth=False,
    ),
    Route("GET", "/marketing/v3/emails", h_emails, "emails.list", scope=CONTENT_SCOPE),
    Route("GET", "/marketing/v3/emails/{id}", h_email, "emails.read", scope=CONTENT_SCOPE),
    Route(
        "POST",
        "/marketing/v3/emails/{id}/publish",
        h_email_publish,
        "emails.publish",
        scope=CONTENT_SCOPE,
    ),
    Route("GET", "/email/public/v1/events", h_events, "email_events.list", scope=CONTENT_SCOPE),
    Route(
        "GET",
        "/email/public/v1/events/{created}/{id}",
        h_event,
        "email_events.read",
        scope=CONTENT_SCOPE,
    ),
    Route(
        "GET",
        "/email/public/v1/subscriptions/timeline",
        h_timeline,
        "subscriptions.timeline",
        scope=CONTENT_SCOPE,
    ),
    Route(
        "GET",
        "/email/public/v1/campaigns",
        h_email_campaigns,
        "email_campaigns.list",
        scope=CONTENT_SCOPE,
    ),
    Route(
        "GET",
        "/email/public/v1/campaigns/{id}",
        h_email_campaign,
        "email_campaigns.read",
        scope=CONTENT_SCOPE,
    ),
    Route("GET", "/marketing/v3/campaigns", h_campaigns, "campaigns.list", scope=CAMPAIGNS_READ),
    Route(
        "GET", "/marketing/v3/campaigns/{id}", h_campaign, "campaigns.read", scope=CAMPAIGNS_READ
    ),
    Route(
        "POST",
        "/marketing/v3/campaigns",
        h_campaign_create,
        "campaigns.create",
        scope=CAMPAIGNS_WRITE,
    ),
    Route(
        "GET",
        "/communication-preferences/v3/definitions",
        h_definitions,
        "subscriptions.definitions",
        scope=PREFERENCES_READ,
    ),
    Route(
        "POST",
        "/communication-preferences/v3/subscribe",
        h_subscribe,
        "subscriptions.subscribe",
        scope=PREFERENCES_WRITE,
    ),
    Route(
        "POST",
        "/communication-preferences/v3/unsubscribe",
        h_unsubscribe,
        "subscriptions.unsubscribe",
        scope=PREFERENCES_WRITE,
    ),
    Route("GET", "/automation/v4/flows", h_flows, "workflows.list", scope=AUTOMATION_SCOPE),
    Route("GET", "/automation/v4/flows/{id}", h_flow, "workflows.read", scope=AUTOMATION_SCOPE),
    Route(
        "POST", "/automation/v4/flows", h_flow_create, "workflows.create", scope=AUTOMATION_SCOPE
    ),
    Route(
        "DELETE",
        "/automation/v4/flows/{id}",
        h_flow_delete,
        "workflows.delete",
        scope=AUTOMATION_SCOPE,
    ),
)
