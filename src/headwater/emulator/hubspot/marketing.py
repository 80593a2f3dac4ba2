"""The portal's marketing data: forms and their submissions, marketing emails and the email events
their sends produce, campaigns, subscription types and the subscription timeline, workflows.

All of it is generated from the seed when the portal starts (a few thousand small items, between
:data:`GEN_START_MS` and :data:`GEN_END_MS`, before the default clock's 2026-01-01), then changed
only by the write APIs (a form submission, publishing an email, a subscribe or unsubscribe, a new
campaign). Every collection is kept in the order its endpoint pages it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.emulator.hubspot.marketing_words import (
    BOUNCE_CATEGORIES,
    BROWSERS,
    CAMPAIGN_NAMES,
    CITIES,
    DROP_REASONS,
    EMAIL_NAMES,
    FORM_FIELDS,
    FORM_NAMES,
    SUBSCRIPTION_TYPES,
    WORKFLOW_NAMES,
)
from headwater.emulator.hubspot.values import iso_ms, mix, parse_time_ms, salt

GEN_START_MS = 1_740_787_200_000  # 2025-03-01T00:00:00Z
GEN_END_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
DAY_MS = 86_400_000
APP_ID = 113
APP_NAME = "BatchEmail"

SENDS = 400
# HubSpot's forms API answers every field with its dependent fields (none here) and email fields
# with their validation (its reference response for GET /marketing/v3/forms)
_FIELD_VALIDATION: dict[str, dict[str, object]] = {
    "email": {"validation": {"blockedEmailDomains": [], "useDefaultBlockList": False}}
}


def uuid_for(*parts: str | int) -> str:
    a, b = mix(salt(*parts)), mix(salt(*parts, "b"))
    h = f"{a:016x}{b:016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def ms_of(iso: str) -> int:
    return parse_time_ms(iso) or GEN_START_MS


def _span(i: int, n: int) -> int:
    """Evenly spread times for ``i`` of ``n`` over the generated range."""
    return GEN_START_MS + (GEN_END_MS - GEN_START_MS) * i // max(1, n)


@dataclass(slots=True)
class Submission:
    conversion_id: str
    form_id: str
    submitted_ms: int
    page_url: str
    values: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "conversionId": self.conversion_id,
            "submittedAt": self.submitted_ms,
            "values": self.values,
            "pageUrl": self.page_url,
        }


@dataclass(slots=True)
class MarketingData:
    """Every marketing collection of one portal. ``email_of`` gives a contact id's address;
    ``contacts`` is how many contacts recipients are drawn from."""

    seed: int
    portal_id: int
    contacts: int
    email_of: Callable[[int], str]
    lock: threading.RLock = field(default_factory=threading.RLock)
    forms: list[dict[str, Any]] = field(default_factory=list)
    submissions: dict[str, list[Submission]] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    definitions: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[dict[str, Any]] = field(default_factory=list)
    _sends: int = 0

    def __post_init__(self) -> None:
        self._build_campaigns()
        self._build_forms()
        self._build_emails()
        self._build_definitions()
        self._build_workflows()
        for j in range(SENDS):
            h = mix(salt(self.seed, "send", j))
            email = self.emails[j % len(self.emails)]
            rid = 1 + h % max(1, self.contacts)
            self._send(email, rid, _span(j, SENDS), h, f"g{j}")
        self.events.sort(key=lambda e: (e["created"], e["id"]))
        self._build_timeline()

    # ------------------------------------------------------------------ generation

    def recipient(self, rid: int) -> str:
        if self.contacts <= 0:
            return f"recipient{rid}@headwater-demo.test"
        return self.email_of(rid)

    def _build_campaigns(self) -> None:
        for i, name in enumerate(CAMPAIGN_NAMES):
            created = _span(i, len(CAMPAIGN_NAMES)) - 30 * DAY_MS
            start = created + 7 * DAY_MS
            self.campaigns.append(
                {
                    "id": uuid_for(self.seed, "campaign", i),
                    "createdAt": iso_ms(created),
                    "updatedAt": iso_ms(created + (mix(salt(self.seed, "cu", i)) % 20) * DAY_MS),
                    "businessUnits": [{"id": 0}],
                    "properties": {
                        "hs_name": name,
                        "hs_start_date": iso_ms(start)[:10],
                        "hs_end_date": iso_ms(start + 60 * DAY_MS)[:10],
                        "hs_campaign_status": ("in_progress", "completed", "planned")[i % 3],
                        "hs_notes": f"{name}: demo campaign",
                        "hs_audience": ("Customers", "Prospects", "Partners")[i % 3],
                        "hs_currency_code": "USD",
                        "hs_utm": name.lower().replace(" ", "-"),
                        "hs_owner": str(1 + i % 5),
                    },
                }
            )

    def _build_forms(self) -> None:
        for i, name in enumerate(FORM_NAMES):
            form_id = uuid_for(self.seed, "form", i)
            created = _span(i, len(FORM_NAMES)) - 60 * DAY_MS
            self.forms.append(
                {
                    "formType": "hubspot",
                    "id": form_id,
                    "name": name,
                    "createdAt": iso_ms(created),
                    "updatedAt": iso_ms(created + (1 + i) * DAY_MS),
                    "archived": False,
                    "fieldGroups": [
                        {
                            "groupType": "default_group",
                            "richTextType": "text",
                            "fields": [
                                {
                                    "objectTypeId": "0-1",
                                    "name": fname,
                                    "label": label,
                                    "required": fname == "email",
                                    "hidden": False,
                                    "fieldType": ftype,
                                    "dependentFields": [],
                                    **_FIELD_VALIDATION.get(ftype, {}),
                                }
                            ],
                        }
                        for fname, label, ftype in FORM_FIELDS[: 2 + i % 3]
                    ],
                    "configuration": {
                        "language": "en",
                        "cloneable": True,
                        "postSubmitAction": {"type": "thank_you", "value": "Thanks!"},
                        "editable": True,
                        "archivable": True,
                        "recaptchaEnabled": False,
                        "notifyContactOwner": False,
                        "notifyRecipients": [],
                        "createNewContactForNewEmail": False,
                        "prePopulateKnownValues": True,
                        "allowLinkToResetKnownValues": False,
                        "lifecycleStages": [],
                    },
                    "displayOptions": {
                        "renderRawHtml": False,
                        "theme": "default_style",
                        "submitButtonText": "Submit",
                        "style": {},
                    },
                    "legalConsentOptions": {"type": "none"},
                }
            )
            n = 20 + mix(salt(self.seed, "form-n", i)) % 40
            subs = []
            for k in range(n):
                h = mix(salt(self.seed, "sub", i, k))
                rid = 1 + h % max(1, self.contacts)
                subs.append(
                    Submission(
                        conversion_id=uuid_for(self.seed, "conversion", i, k),
                        form_id=form_id,
                        submitted_ms=_span(k, n) + (h >> 20) % DAY_MS,
                        page_url=f"https://www.headwater-demo.test/{name.lower().replace(' ', '-')}",
                        values=self._values(i, rid),
                    )
                )
            subs.sort(key=lambda s: (s.submitted_ms, s.conversion_id), reverse=True)
            self.submissions[form_id] = subs

    def _values(self, form: int, rid: int) -> list[dict[str, str]]:
        email = self.recipient(rid)
        first, _, rest = email.partition(".")
        out = [{"name": "email", "value": email}, {"name": "firstname", "value": first.title()}]
        if 2 + form % 3 > 2:
            out.append({"name": "lastname", "value": rest.split("@")[0].rstrip("0123456789")})
        if 2 + form % 3 > 3:
            out.append({"name": "message", "value": "Please get in touch."})
        return out

    def _build_emails(self) -> None:
        for i, name in enumerate(EMAIL_NAMES):
            created = GEN_START_MS - (40 - i) * DAY_MS
            campaign = self.campaigns[i % len(self.campaigns)]
            automated = i % 4 == 3
            published = created + 5 * DAY_MS
            self.emails.append(
                {
                    "id": str(100_000_000 + i * 1_111),
                    "name": name,
                    "subject": f"{name} | Headwater demo",
                    "state": "AUTOMATED" if automated else "PUBLISHED",
                    "type": "AUTOMATED_EMAIL" if automated else "BATCH_EMAIL",
                    "subcategory": "automated" if automated else "batch",
                    "language": "en",
                    "archived": False,
                    "isPublished": True,
                    "isTransactional": False,
                    "sendOnPublish": not automated,
                    "createdAt": iso_ms(created),
                    "updatedAt": iso_ms(published),
                    "publishedAt": iso_ms(published),
                    "publishDate": iso_ms(published),
                    "campaign": campaign["id"],
                    "campaignName": campaign["properties"]["hs_name"],
                    "activeDomain": "www.headwater-demo.test",
                    "from": {"fromName": "Headwater demo", "replyTo": "hello@headwater-demo.test"},
                    "to": {
                        "contactIlsLists": {"include": [str(1 + i % 30)], "exclude": []},
                        "limitSendFrequency": False,
                        "suppressGraymail": False,
                    },
                    "content": {"templatePath": "@hubspot/email/dnd/welcome.html"},
                    "emailCampaignId": 700_000 + i,
                }
            )

    def _build_definitions(self) -> None:
        for i, (name, desc, purpose, default) in enumerate(SUBSCRIPTION_TYPES):
            created = GEN_START_MS - (400 - 30 * i) * DAY_MS
            self.definitions.append(
                {
                    "id": str(2_849 + i * 101),
                    "name": name,
                    "description": desc,
                    "purpose": purpose,
                    "communicationMethod": "Email",
                    "isActive": True,
                    "isDefault": default,
                    "isInternal": False,
                    "createdAt": iso_ms(created),
                    "updatedAt": iso_ms(created + DAY_MS),
                }
            )

    def _build_workflows(self) -> None:
        for i, name in enumerate(WORKFLOW_NAMES):
            created = _span(i, len(WORKFLOW_NAMES)) - 90 * DAY_MS
            self.workflows.append(
                {
                    "id": str(1_600_000 + i),
                    "uuid": uuid_for(self.seed, "flow", i),
                    "name": name,
                    "isEnabled": i % 4 != 2,
                    "flowType": "WORKFLOW",
                    "objectTypeId": ("0-1", "0-3", "0-5")[i % 3],
                    "revisionId": str(1 + i % 6),
                    "createdAt": iso_ms(created),
                    "updatedAt": iso_ms(created + (1 + i) * 3 * DAY_MS),
                }
            )

    def _build_timeline(self) -> None:
        n = 150
        for k in range(n):
            h = mix(salt(self.seed, "timeline", k))
            rid = 1 + h % max(1, self.contacts)
            ts = _span(k, n) + (h >> 24) % DAY_MS
            definition = self.definitions[(h >> 8) % len(self.definitions)]
            change = "UNSUBSCRIBED" if (h >> 16) % 3 else "SUBSCRIBED"
            self.timeline.append(
                self._timeline_item(self.recipient(rid), ts, definition["id"], change, h)
            )
        self.timeline.sort(key=lambda t: (t["timestamp"], t["recipient"]), reverse=True)

    def _timeline_item(
        self, recipient: str, ts: int, subscription_id: str, change: str, h: int
    ) -> dict[str, Any]:
        cause = {"id": uuid_for(self.seed, "cause", recipient, ts, h), "created": ts}
        changes: list[dict[str, Any]] = [
            {
                "change": change,
                "source": "SOURCE_RECIPIENT" if h % 2 else "SOURCE_HUBSPOT_CUSTOMER",
                "portalId": self.portal_id,
                "subscriptionId": int(subscription_id),
                "changeType": "SUBSCRIPTION_STATUS",
                "causedByEvent": cause,
            }
        ]
        if change == "SUBSCRIBED" and h % 5 == 0:
            changes.append(
                {
                    "change": "SUBSCRIBED",
                    "source": changes[0]["source"],
                    "portalId": self.portal_id,
                    "changeType": "PORTAL_STATUS",
                    "causedByEvent": cause,
                }
            )
        return {
            "timestamp": ts,
            "portalId": self.portal_id,
            "recipient": recipient,
            "changes": changes,
        }

    # ------------------------------------------------------------------ email events

    def _event(
        self, email: dict[str, Any], kind: str, recipient: str, ts: int, key: str, **extra: Any
    ) -> dict[str, Any]:
        event = {
            "id": uuid_for(self.seed, "event", key, kind),
            "created": ts,
            "type": kind,
            "recipient": recipient,
            "portalId": self.portal_id,
            "appId": APP_ID,
            "appName": APP_NAME,
            "emailCampaignId": email["emailCampaignId"],
            **extra,
        }
        self.events.append(event)
        return event

    def _send(self, email: dict[str, Any], rid: int, ts: int, h: int, key: str) -> None:
        """The events of one send of ``email`` to contact ``rid`` at ``ts``."""
        to = self.recipient(rid)
        r = h % 100
        head = {
            "subject": email["subject"],
            "from": f"{email['from']['fromName']} <{email['from']['replyTo']}>",
            "replyTo": [email["from"]["replyTo"]],
            "cc": [],
            "bcc": [],
        }
        if r < 3:
            reason = DROP_REASONS[(h >> 4) % len(DROP_REASONS)]
            self._event(email, "DROPPED", to, ts, key, dropReason=reason, dropMessage="", **head)
            return
        sent = self._event(email, "SENT", to, ts, key, **head)
        by = {"id": sent["id"], "created": sent["created"]}
        self._event(email, "PROCESSED", to, ts + 1_000, key, sentBy=by)
        if r < 8:
            self._event(
                email,
                "BOUNCE",
                to,
                ts + 30_000,
                key,
                sentBy=by,
                category=BOUNCE_CATEGORIES[(h >> 6) % len(BOUNCE_CATEGORIES)],
                status="5.1.1",
                response="550 5.1.1 The email account that you tried to reach does not exist",
            )
            return
        if r < 12:
            self._event(
                email,
                "DEFERRED",
                to,
                ts + 20_000,
                key,
                sentBy=by,
                attempt=1,
                response="421 4.7.0 Try again later",
            )
        smtp = f"<{uuid_for(self.seed, 'smtp', key)}@headwater-demo.test>"
        self._event(
            email, "DELIVERED", to, ts + 60_000, key, sentBy=by, response="250 OK", smtpId=smtp
        )
        browser, producer = BROWSERS[(h >> 10) % len(BROWSERS)]
        country, state, city = CITIES[(h >> 12) % len(CITIES)]
        seen = {
            "sentBy": by,
            "userAgent": f"Mozilla/5.0 ({browser})",
            "browser": {
                "name": browser,
                "family": browser,
                "producer": producer,
                "producerUrl": "",
                "type": "Browser",
                "url": "",
                "version": ["120.0"],
            },
            "location": {"country": country, "state": state, "city": city},
        }
        opened = (h >> 16) % 100 < 55
        if opened:
            self._event(
                email,
                "OPEN",
                to,
                ts + 3_600_000 + (h >> 20) % DAY_MS,
                key,
                duration=int((h >> 28) % 30_000),
                filteredEvent=False,
                **seen,
            )
        if opened and (h >> 34) % 100 < 40:
            self._event(
                email,
                "CLICK",
                to,
                ts + 3_700_000 + (h >> 20) % DAY_MS,
                key,
                url=f"https://www.headwater-demo.test/offer/{(h >> 40) % 5}",
                referer="",
                linkId=int((h >> 44) % 8),
                filteredEvent=False,
                **seen,
            )
        tail = (h >> 48) % 100
        later = ts + 2 * DAY_MS
        if tail < 3:
            self._event(email, "SPAMREPORT", to, later, key, sentBy=by, userAgent=seen["userAgent"])
        elif tail < 6:
            sub = self.definitions[(h >> 52) % len(self.definitions)]["id"]
            self._event(
                email,
                "STATUSCHANGE",
                to,
                later,
                key,
                sentBy=by,
                source="SOURCE_RECIPIENT",
                requestedBy=to,
                portalSubscriptionStatus="SUBSCRIBED",
                subscriptions=[{"id": int(sub), "status": "UNSUBSCRIBED"}],
                bounced=False,
            )
        elif tail < 8:
            self._event(email, "FORWARD", to, later, key, **seen)
        elif tail < 9:
            self._event(email, "PRINT", to, later, key, **seen)

    # ------------------------------------------------------------------ reads

    def events_between(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Index range of the events created in ``[start_ms, end_ms]``."""
        keys = [e["created"] for e in self.events]
        return bisect.bisect_left(keys, start_ms), bisect.bisect_right(keys, end_ms)

    def counts(self, now_ms: int) -> dict[str, int]:
        """Rows each marketing table has as of ``now_ms`` (what a full read returns)."""
        with self.lock:
            return {
                "forms": len(self.forms),
                "form_submissions": sum(
                    1
                    for subs in self.submissions.values()
                    for s in subs
                    if s.submitted_ms <= now_ms
                ),
                "marketing_emails": len(self.emails),
                "email_events": sum(1 for e in self.events if e["created"] <= now_ms),
                "email_campaigns": len(self.emails),
                "campaigns": len(self.campaigns),
                "subscription_types": len(self.definitions),
                "subscription_changes": sum(
                    len(t["changes"]) for t in self.timeline if t["timestamp"] <= now_ms
                ),
                "workflows": len(self.workflows),
            }

    def form(self, form_id: str) -> dict[str, Any] | None:
        return next((f for f in self.forms if f["id"] == form_id), None)

    def email(self, email_id: str) -> dict[str, Any] | None:
        return next((e for e in self.emails if e["id"] == email_id), None)

    # ------------------------------------------------------------------ writes

    def submit(
        self, form_id: str, values: list[dict[str, str]], now_ms: int, page_url: str
    ) -> Submission:
        with self.lock:
            subs = self.submissions[form_id]
            sub = Submission(
                conversion_id=uuid_for(self.seed, "conversion", form_id, now_ms, len(subs)),
                form_id=form_id,
                submitted_ms=now_ms,
                page_url=page_url,
                values=values,
            )
            subs.insert(0, sub)
            subs.sort(key=lambda s: (s.submitted_ms, s.conversion_id), reverse=True)
            return sub

    def publish(self, email: dict[str, Any], recipients: list[int], now_ms: int) -> int:
        """Send ``email`` to ``recipients`` now; the number of events it produced."""
        with self.lock:
            before = len(self.events)
            email["isPublished"] = True
            email["state"] = "PUBLISHED" if email["type"] != "AUTOMATED_EMAIL" else "AUTOMATED"
            email["publishedAt"] = email["updatedAt"] = iso_ms(now_ms)
            for rid in recipients:
                self._sends += 1
                h = mix(salt(self.seed, "live-send", self._sends))
                # a live send is delivered, and opened later only through the clock's future
                self._send(email, rid, now_ms, (h // 100) * 100 + 50, f"l{self._sends}")
            self.events.sort(key=lambda e: (e["created"], e["id"]))
            return len(self.events) - before

    def change_subscription(
        self, recipient: str, subscription_id: str, subscribed: bool, now_ms: int
    ) -> None:
        with self.lock:
            h = mix(salt(self.seed, "live-change", recipient, now_ms))
            item = self._timeline_item(
                recipient,
                now_ms,
                subscription_id,
                "SUBSCRIBED" if subscribed else "UNSUBSCRIBED",
                (h // 10) * 10 + 1,
            )
            self.timeline.insert(0, item)
            self.timeline.sort(key=lambda t: (t["timestamp"], t["recipient"]), reverse=True)

    def create_form(self, body: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """A new ``hubspot`` form from a create request, HubSpot's defaults filling the rest."""
        with self.lock:
            template = self.forms[0]
            form = {
                **{k: v for k, v in template.items() if k not in ("id", "name")},
                "id": uuid_for(self.seed, "form", "new", len(self.forms), now_ms),
                "name": str(body["name"]),
                "formType": str(body.get("formType") or "hubspot"),
                "createdAt": iso_ms(now_ms),
                "updatedAt": iso_ms(now_ms),
                "archived": False,
            }
            for key in ("fieldGroups", "configuration", "displayOptions", "legalConsentOptions"):
                if isinstance(body.get(key), dict | list):
                    form[key] = body[key]
            self.forms.append(form)
            self.submissions[form["id"]] = []
            return form

    def archive_form(self, form: dict[str, Any], now_ms: int) -> None:
        with self.lock:
            form["archived"] = True
            form["archivedAt"] = iso_ms(now_ms)

    def create_flow(self, body: dict[str, Any], now_ms: int) -> dict[str, Any]:
        with self.lock:
            flow = {
                "id": str(1_600_000 + len(self.workflows)),
                "uuid": uuid_for(self.seed, "flow", "new", len(self.workflows), now_ms),
                "name": str(body["name"]),
                "isEnabled": bool(body.get("isEnabled", False)),
                "flowType": str(body.get("flowType") or "WORKFLOW"),
                "objectTypeId": str(body.get("objectTypeId") or "0-1"),
                "revisionId": "1",
                "createdAt": iso_ms(now_ms),
                "updatedAt": iso_ms(now_ms),
            }
            self.workflows.append(flow)
            return flow

    def delete_flow(self, flow_id: str) -> bool:
        with self.lock:
            kept = [f for f in self.workflows if f["id"] != flow_id]
            gone = len(kept) < len(self.workflows)
            self.workflows[:] = kept
            return gone

    def create_campaign(self, properties: dict[str, Any], now_ms: int) -> dict[str, Any]:
        with self.lock:
            campaign = {
                "id": uuid_for(self.seed, "campaign", "new", len(self.campaigns), now_ms),
                "createdAt": iso_ms(now_ms),
                "updatedAt": iso_ms(now_ms),
                "businessUnits": [{"id": 0}],
                "properties": {
                    str(k): None if v is None else str(v) for k, v in properties.items()
                },
            }
            self.campaigns.append(campaign)
            return campaign
