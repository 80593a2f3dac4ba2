"""Webhook subscriptions per org and sandbox, and the outbox that turns events into deliveries.

Events come from :meth:`ServiceContext.emit` (the worker's ``flow.run.*`` events and
``connection.credentials.failed`` from connection tests). :func:`install` registers a listener
that queues one delivery per matching subscription in the emitting process (SQL in
:mod:`headwater.store.webhooks`); :mod:`headwater.engine.deliverer` signs and sends them.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from headwater.domain.ids import new_id
from headwater.domain.paging import decode_cursor, encode_cursor
from headwater.errors import FieldError, ValidationError
from headwater.services import documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest, ListResult, list_documents, parse_limit
from headwater.store import resources as store
from headwater.store import webhooks as outbox
from headwater.store.resources import StoredResource

log = logging.getLogger("headwater.notifications")

KIND = "webhooks"

#: Our event types and the Adobe I/O ``eventCode`` each is sent with (Adobe documents
#: ``sources_flow_run_success`` and ``sources_flow_run_failure``; the others follow their pattern).
EVENT_CODES: dict[str, str] = {
    "flow.run.started": "sources_flow_run_start",
    "flow.run.succeeded": "sources_flow_run_success",
    "flow.run.partially_succeeded": "sources_flow_run_partial_success",
    "flow.run.failed": "sources_flow_run_failure",
    "connection.credentials.failed": "sources_connection_credentials_failure",
}
PROVIDER_METADATA = "platform_notifications"

SIGNATURE_HEADER = "x-headwater-signature"
EVENT_HEADER = "x-headwater-event"
DELIVERY_HEADER = "x-headwater-delivery"
TIMESTAMP_HEADER = "x-headwater-timestamp"

FIELDS = documents.METADATA_FIELDS | {"id", "name", "description", "url", "events", "state"}
MIN_SECRET = 16
MAX_DELIVERY_PAGE = 1000


# ------------------------------------------------------------------------------- subscriptions


def _aad(res_id: str) -> bytes:
    return f"{KIND}:{res_id}".encode()


#: The associated data a stored secret of this kind is sealed with (secret-key rotation).
secret_context = _aad


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        host = None
    if host is None or parts.scheme not in {"http", "https"}:
        raise ValidationError(
            "url must be an absolute http or https URL",
            details=[FieldError("url", "expected http(s)://host/path")],
        )
    return url.strip()


def _check_events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_CODES]
    if not events or unknown:
        raise ValidationError(
            f"unknown event types {unknown}; use any of {sorted(EVENT_CODES)}"
            if unknown
            else "events must name at least one event type",
            details=[FieldError("events", f"allowed: {', '.join(sorted(EVENT_CODES))}")],
        )
    return list(dict.fromkeys(events))


def create_webhook(
    ctx: ServiceContext, tenant: Tenant, body: dict[str, Any]
) -> tuple[str, str, str | None]:
    """Store a subscription; returns ``(id, etag, secret)`` where ``secret`` is the generated
    signing secret (``None`` when the caller chose one)."""
    url = _check_url(str(body.get("url", "")))
    events = _check_events(list(body.get("events") or []))
    given = body.get("secret")
    if given is not None and len(given) < MIN_SECRET:
        raise ValidationError(
            f"secret must be at least {MIN_SECRET} characters",
            details=[FieldError("secret", f"at least {MIN_SECRET} characters")],
        )
    secret = given if given is not None else secrets.token_urlsafe(32)
    res_id = new_id()
    now = ctx.clock()
    doc: dict[str, Any] = {
        **documents.audit_fields(tenant, now, res_id),
        "name": body.get("name") or "",
        "description": body.get("description") or "",
        "url": url,
        "events": events,
        "state": "enabled",
        "signature": {"header": SIGNATURE_HEADER, "algorithm": "HMAC-SHA256"},
    }
    sealed = ctx.box.encrypt({"secret": secret}, context=_aad(res_id))
    _, etag = documents.insert(ctx, tenant, KIND, doc, secrets=sealed)
    log.info("webhook %s created for %s", res_id, ", ".join(events), extra={"webhook_id": res_id})
    return res_id, etag, (secret if given is None else None)


def render(res: StoredResource) -> dict[str, Any]:
    return documents.plain_render(res)


def get_webhook(ctx: ServiceContext, tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    return render(documents.load(ctx, tenant, KIND, webhook_id))


def list_webhooks(ctx: ServiceContext, tenant: Tenant, request: ListRequest) -> ListResult:
    return list_documents(ctx, tenant, kind=KIND, request=request, fields=FIELDS, render=render)


def delete_webhook(ctx: ServiceContext, tenant: Tenant, webhook_id: str) -> None:
    """Remove the subscription, its queued deliveries and its delivery log."""
    documents.delete_document(ctx, tenant, KIND, webhook_id)
    with ctx.engine.begin() as conn:
        outbox.delete_for_webhook(conn, webhook_id=webhook_id)


def delivery_target(
    ctx: ServiceContext, *, webhook_id: str, org_id: str, sandbox_name: str
) -> tuple[str, str] | None:
    """``(url, signing secret)`` of an enabled webhook; None once it is deleted or disabled."""
    with ctx.engine.connect() as conn:
        res = store.read_resource(
            conn, kind=KIND, res_id=webhook_id, org_id=org_id, sandbox_name=sandbox_name
        )
    if res is None or res.doc.get("state") != "enabled" or res.secrets is None:
        return None
    secret = ctx.box.decrypt(res.secrets, context=_aad(res.id))["secret"]
    return str(res.doc["url"]), str(secret)


# --------------------------------------------------------------------------------------- outbox


def envelope(
    event_type: str, payload: dict[str, Any], *, event_id: str, now: int
) -> dict[str, Any]:
    """The body of a notification, in Adobe I/O Events' platform-notification shape: an
    ``_adobeio`` header with the org and event code, and the flow run (or connection) as the
    ``xdmEntity``."""
    entity = dict(payload)
    if "flowRunId" in payload:
        entity.setdefault("id", payload["flowRunId"])
    elif "connectionId" in payload:
        entity.setdefault("id", payload["connectionId"])
    entity["eventType"] = event_type
    return {
        "event_id": event_id,
        "event": {
            "header": {
                "_adobeio": {
                    "imsOrgId": payload.get("imsOrgId"),
                    "providerMetadata": PROVIDER_METADATA,
                    "eventCode": EVENT_CODES[event_type],
                },
                "eventType": event_type,
                "sandboxName": payload.get("sandboxName"),
                "createdAt": now,
            },
            "body": {"xdmEntity": entity},
        },
    }


def enqueue(ctx: ServiceContext, event_type: str, payload: dict[str, Any]) -> list[str]:
    """Queue ``payload`` for every enabled subscription of its org and sandbox that wants
    ``event_type``; returns the delivery ids."""
    org, sandbox = payload.get("imsOrgId"), payload.get("sandboxName")
    if event_type not in EVENT_CODES or not isinstance(org, str) or not isinstance(sandbox, str):
        return []
    with ctx.engine.connect() as conn:
        hooks = store.read_resources(conn, kind=KIND, org_id=org, sandbox_name=sandbox)
    wanted = [h for h in hooks if h.doc.get("state") == "enabled" and event_type in h.doc["events"]]
    if not wanted:
        return []
    now = ctx.clock()
    event_id = str(uuid.uuid4())
    body = json.dumps(
        envelope(event_type, payload, event_id=event_id, now=now), separators=(",", ":")
    )
    with ctx.engine.begin() as conn:
        return outbox.insert_deliveries(
            conn,
            webhook_ids=[h.id for h in wanted],
            org_id=org,
            sandbox_name=sandbox,
            event_id=event_id,
            event_type=event_type,
            payload=body,
            now=now,
        )


class Enqueuer:
    """The ``ServiceContext`` listener that writes the outbox."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def __call__(self, event_type: str, payload: dict[str, Any]) -> None:
        enqueue(self.ctx, event_type, payload)


def install(ctx: ServiceContext) -> None:
    """Register the outbox listener on ``ctx`` (once)."""
    if not any(isinstance(listener, Enqueuer) for listener in ctx.listeners):
        ctx.listeners.append(Enqueuer(ctx))


# ---------------------------------------------------------------------------------- delivery log


def list_deliveries(
    ctx: ServiceContext,
    tenant: Tenant,
    webhook_id: str,
    *,
    limit: str | None = None,
    status: str | None = None,
    continuation_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A webhook's delivery log, newest first, each with its attempts."""
    documents.load(ctx, tenant, KIND, webhook_id)
    size = min(parse_limit(limit) or 100, MAX_DELIVERY_PAGE)
    before = decode_cursor(continuation_token) if continuation_token else None
    with ctx.engine.connect() as conn:
        rows, attempts = outbox.read_delivery_page(
            conn,
            webhook_id=webhook_id,
            org_id=tenant.org_id,
            sandbox_name=tenant.sandbox_name,
            status=status,
            before=before,
            limit=size + 1,
        )
    page, more = rows[:size], len(rows) > size
    items = [
        {
            "id": r.id,
            "webhookId": r.webhook_id,
            "eventId": r.event_id,
            "eventType": r.event_type,
            "eventCode": EVENT_CODES.get(r.event_type),
            "status": r.status,
            "attemptCount": r.attempts,
            "responseCode": r.response_code,
            "lastError": r.last_error,
            "createdAt": r.created_at,
            "updatedAt": r.updated_at,
            "deliveredAt": r.delivered_at,
            "nextAttemptAt": r.next_attempt_at if r.status in outbox.DUE else None,
            "attempts": [
                {
                    "attempt": a.attempt,
                    "startedAt": a.started_at,
                    "durationMs": a.duration_ms,
                    "responseCode": a.response_code,
                    "error": a.error,
                }
                for a in attempts.get(r.id, [])
            ],
        }
        for r in page
    ]
    next_token = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return items, next_token
