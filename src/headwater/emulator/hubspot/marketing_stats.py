"""Statistics of the generated marketing emails: the v3 ``stats`` and the legacy email
campaigns' counters, both counted from the email events up to a time."""

from __future__ import annotations

import collections
from typing import Any

from headwater.emulator.hubspot.marketing import APP_ID, APP_NAME, MarketingData, ms_of


def email_stats(data: MarketingData, email: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """``stats`` of a marketing email, counted from its events up to ``now_ms``."""
    ecid = email["emailCampaignId"]
    c = collections.Counter(
        e["type"] for e in data.events if e["emailCampaignId"] == ecid and e["created"] <= now_ms
    )
    sent = c["SENT"]
    delivered = c["DELIVERED"]
    counters = {
        "sent": sent,
        "delivered": delivered,
        "open": c["OPEN"],
        "click": c["CLICK"],
        "bounce": c["BOUNCE"],
        "hardbounced": c["BOUNCE"],
        "softbounced": c["DEFERRED"],
        "dropped": c["DROPPED"],
        "unsubscribed": c["STATUSCHANGE"],
        "spamreport": c["SPAMREPORT"],
        "forward": c["FORWARD"],
        "print": c["PRINT"],
    }

    def ratio(n: int, d: int) -> float:
        return round(100.0 * n / d, 2) if d else 0.0

    ratios = {
        "deliveredratio": ratio(delivered, sent),
        "openratio": ratio(c["OPEN"], delivered),
        "clickratio": ratio(c["CLICK"], delivered),
        "clickthroughratio": ratio(c["CLICK"], c["OPEN"]),
        "bounceratio": ratio(c["BOUNCE"], sent),
        "unsubscribedratio": ratio(c["STATUSCHANGE"], delivered),
        "spamreportratio": ratio(c["SPAMREPORT"], delivered),
    }
    return {"counters": counters, "ratios": ratios, "deviceBreakdown": {}, "qualifierStats": {}}


def email_campaign(data: MarketingData, email: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The legacy email campaign (``/email/public/v1/campaigns/{id}``) of a marketing email:
    one per email here, its counters counted from the events up to ``now_ms``."""
    ecid = email["emailCampaignId"]
    mine = [e for e in data.events if e["emailCampaignId"] == ecid and e["created"] <= now_ms]
    c = collections.Counter(e["type"].lower() for e in mine)
    last = max((e["created"] for e in mine), default=ms_of(email["publishedAt"]))
    return {
        "id": ecid,
        "appId": APP_ID,
        "appName": APP_NAME,
        "contentId": int(email["id"]),
        "name": email["name"],
        "subject": email["subject"],
        "type": email["type"],
        "numIncluded": c["sent"] + c["dropped"],
        "numQueued": 0,
        "processingState": "DONE",
        "lastProcessingStartedAt": ms_of(email["publishedAt"]),
        "lastProcessingFinishedAt": ms_of(email["publishedAt"]) + 60_000,
        "lastProcessingStateChangeAt": ms_of(email["publishedAt"]) + 60_000,
        "lastUpdatedTime": last,
        "counters": {
            k: c[k]
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
                "forward",
                "print",
            )
        },
    }
