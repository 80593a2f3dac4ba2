"""Webhook notifications: subscriptions per org and sandbox, a durable outbox, and a deliverer
that signs, POSTs, retries with backoff and records every attempt.

Events come from :meth:`ServiceContext.emit` (the worker's ``flow.run.*`` events and
``connection.credentials.failed`` from connection tests). :func:`install` registers a listener
that writes one ``webhook_deliveries`` row per matching subscription in the emitting process;
:func:`deliver_pending` (called by tests, and in a loop by :class:`Deliverer` in worker
processes) claims due rows with a lease, so several processes never send the same attempt twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from headwater.domain.ids import new_etag, new_id
from headwater.errors import FieldError, InvalidRequestError, ValidationError
from headwater.services import documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest, ListResult, list_documents, parse_limit
from headwater.store import resources as store
from headwater.store.resources import StoredResource
from headwater.store.tables import webhook_attempts, webhook_deliveries

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

PENDING = "pending"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
_DUE = (PENDING, RETRYING)

FIELDS = frozenset(
    {
        "id",
        "name",
        "description",
        "url",
        "events",
        "state",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "createdClient",
        "updatedClient",
        "sandboxId",
        "sandboxName",
        "imsOrgId",
        "etag",
        "version",
    }
)
MIN_SECRET = 16
MAX_DELIVERY_PAGE = 1000


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard the deliverer tries: at most ``max_attempts`` POSTs per delivery, waiting
    ``base_s * 2**(n-1)`` (+0-20 % jitter, at most ``max_backoff_s``) after the n-th failure."""

    max_attempts: int = 8
    base_s: float = 10.0
    max_backoff_s: float = 3600.0
    timeout_s: float = 10.0
    lease_s: float = 120.0
    batch: int = 100
    concurrency: int = 4

    def backoff_ms(self, failed_attempts: int) -> int:
        delay = min(self.base_s * 2 ** (failed_attempts - 1), self.max_backoff_s)
        return int(delay * 1000 * (1 + 0.2 * random.random()))


# ------------------------------------------------------------------------------- subscriptions


def _aad(res_id: str) -> bytes:
    return f"{KIND}:{res_id}".encode()


def sign(secret: str, body: bytes) -> str:
    """The ``x-headwater-signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


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
    etag = new_etag()
    res = StoredResource(
        kind=KIND,
        id=res_id,
        org_id=tenant.org_id,
        sandbox_name=tenant.sandbox_name,
        doc=doc,
        secrets=ctx.box.encrypt({"secret": secret}, context=_aad(res_id)),
        etag=etag,
        created_at=now,
        updated_at=now,
    )
    with ctx.engine.begin() as conn:
        store.insert_resource(conn, res=res)
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
        ids = sa.select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.webhook_id == webhook_id
        )
        conn.execute(sa.delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
        conn.execute(
            sa.delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
        )


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
    rows: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": h.id,
            "org_id": org,
            "sandbox_name": sandbox,
            "event_id": event_id,
            "event_type": event_type,
            "payload": body,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for h in wanted
    ]
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(webhook_deliveries), rows)
    return [str(r["id"]) for r in rows]


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


# ------------------------------------------------------------------------------------ delivery


@dataclass(slots=True)
class _Claimed:
    id: str
    webhook_id: str
    org_id: str
    sandbox_name: str
    event_type: str
    payload: str
    attempts: int


def _claim(ctx: ServiceContext, policy: DeliveryPolicy, owner: str) -> list[_Claimed]:
    now = ctx.clock()
    d = webhook_deliveries.c
    free = sa.or_(d.lease_expires_at.is_(None), d.lease_expires_at < now)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                d.id, d.webhook_id, d.org_id, d.sandbox_name, d.event_type, d.payload, d.attempts
            )
            .where(d.status.in_(_DUE), d.next_attempt_at <= now, free)
            .order_by(d.created_at, d.id)
            .limit(policy.batch)
        ).all()
    claimed: list[_Claimed] = []
    for r in rows:
        with ctx.engine.begin() as conn:
            got = conn.execute(
                sa.update(webhook_deliveries)
                .where(d.id == r.id, d.status.in_(_DUE), d.attempts == r.attempts, free)
                .values(lease_owner=owner, lease_expires_at=now + int(policy.lease_s * 1000))
            ).rowcount
        if got:
            claimed.append(_Claimed(*r))
    return claimed


def _finish(
    ctx: ServiceContext,
    item: _Claimed,
    owner: str,
    *,
    status: str,
    started: int,
    duration_ms: int,
    code: int | None,
    error: str | None,
    next_at: int,
    attempted: bool = True,
) -> None:
    now = ctx.clock()
    attempts = item.attempts + 1 if attempted else item.attempts
    d = webhook_deliveries.c
    with ctx.engine.begin() as conn:
        done = conn.execute(
            sa.update(webhook_deliveries)
            .where(d.id == item.id, d.lease_owner == owner)
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_at,
                lease_owner=None,
                lease_expires_at=None,
                response_code=code,
                last_error=error,
                updated_at=now,
                delivered_at=now if status == SUCCEEDED else None,
            )
        ).rowcount
        if done and attempted:
            conn.execute(
                sa.insert(webhook_attempts).values(
                    delivery_id=item.id,
                    attempt=attempts,
                    started_at=started,
                    duration_ms=duration_ms,
                    response_code=code,
                    error=error,
                )
            )


def _attempt(
    ctx: ServiceContext,
    client: httpx.Client,
    policy: DeliveryPolicy,
    owner: str,
    item: _Claimed,
    hook: tuple[str, str] | None,
) -> None:
    if hook is None:
        _finish(
            ctx,
            item,
            owner,
            status=CANCELLED,
            started=ctx.clock(),
            duration_ms=0,
            code=None,
            error="the webhook was deleted or disabled",
            next_at=ctx.clock(),
            attempted=False,
        )
        return
    url, secret = hook
    body = item.payload.encode()
    started = ctx.clock()
    headers = {
        "content-type": "application/json",
        "user-agent": "headwater-webhooks/1",
        EVENT_HEADER: item.event_type,
        DELIVERY_HEADER: item.id,
        TIMESTAMP_HEADER: str(started // 1000),
        SIGNATURE_HEADER: sign(secret, body),
    }
    t0 = time.monotonic()
    code: int | None = None
    error: str | None = None
    try:
        response = client.post(url, content=body, headers=headers)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - t0) * 1000)
    attempts = item.attempts + 1
    if error is None:
        status, next_at = SUCCEEDED, ctx.clock()
    elif attempts >= policy.max_attempts:
        status, next_at = FAILED, ctx.clock()
    else:
        status, next_at = RETRYING, ctx.clock() + policy.backoff_ms(attempts)
    _finish(
        ctx,
        item,
        owner,
        status=status,
        started=started,
        duration_ms=duration_ms,
        code=code,
        error=error,
        next_at=next_at,
    )
    level = logging.INFO if status == SUCCEEDED else logging.WARNING
    log.log(
        level,
        "webhook delivery %s attempt %d: %s",
        item.id,
        attempts,
        status if error is None else f"{status} ({error})",
        extra={
            "webhook_id": item.webhook_id,
            "delivery_id": item.id,
            "event_type": item.event_type,
            "attempt": attempts,
            "response_code": code,
        },
    )


def _hook(ctx: ServiceContext, item: _Claimed) -> tuple[str, str] | None:
    with ctx.engine.connect() as conn:
        res = store.read_resource(
            conn,
            kind=KIND,
            res_id=item.webhook_id,
            org_id=item.org_id,
            sandbox_name=item.sandbox_name,
        )
    if res is None or res.doc.get("state") != "enabled" or res.secrets is None:
        return None
    secret = ctx.box.decrypt(res.secrets, context=_aad(res.id))["secret"]
    return str(res.doc["url"]), str(secret)


def deliver_pending(
    ctx: ServiceContext,
    *,
    policy: DeliveryPolicy | None = None,
    client: httpx.Client | None = None,
) -> int:
    """Make one attempt for every delivery due now (a webhook's deliveries in order, webhooks in
    parallel); returns how many deliveries were handled."""
    policy = policy or DeliveryPolicy()
    owner = f"deliverer:{uuid.uuid4().hex[:12]}"
    claimed = _claim(ctx, policy, owner)
    if not claimed:
        return 0
    by_hook: dict[str, list[_Claimed]] = {}
    for item in claimed:
        by_hook.setdefault(item.webhook_id, []).append(item)
    own_client = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False)

    def run(items: list[_Claimed]) -> None:
        hook = _hook(ctx, items[0])
        for item in items:
            _attempt(ctx, http, policy, owner, item, hook)

    try:
        with ThreadPoolExecutor(
            max_workers=max(1, min(policy.concurrency, len(by_hook))),
            thread_name_prefix="webhook",
        ) as pool:
            for future in [pool.submit(run, items) for items in by_hook.values()]:
                future.result()
    finally:
        if own_client:
            http.close()
    return len(claimed)


class Deliverer:
    """The background loop of a worker process: delivers due notifications, woken at once when
    this process emits an event and otherwise every ``poll_s`` seconds."""

    def __init__(
        self, ctx: ServiceContext, *, policy: DeliveryPolicy | None = None, poll_s: float = 2.0
    ) -> None:
        self.ctx = ctx
        self.policy = policy or DeliveryPolicy()
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _on_event(self, event_type: str, payload: dict[str, Any]) -> None:  # noqa: ARG002
        if event_type in EVENT_CODES:
            self._wake.set()

    def start(self) -> Deliverer:
        install(self.ctx)
        self.ctx.listeners.append(self._on_event)
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._on_event in self.ctx.listeners:
            self.ctx.listeners.remove(self._on_event)
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        with httpx.Client(timeout=self.policy.timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                handled = 0
                try:
                    handled = deliver_pending(self.ctx, policy=self.policy, client=client)
                except Exception:
                    log.exception("webhook delivery round failed")
                if handled == 0:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()


# ---------------------------------------------------------------------------------- delivery log


def _token(created_at: int, delivery_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{delivery_id}".encode()).decode().rstrip("=")


def _untoken(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, delivery_id = raw.split(":", 1)
        return int(created), delivery_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("continuationToken is not valid") from exc


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
    size = parse_limit(limit) or 100
    d = webhook_deliveries.c
    q = sa.select(webhook_deliveries).where(
        d.webhook_id == webhook_id,
        d.org_id == tenant.org_id,
        d.sandbox_name == tenant.sandbox_name,
    )
    if status:
        q = q.where(d.status == status)
    if continuation_token:
        created, last_id = _untoken(continuation_token)
        q = q.where(
            sa.or_(d.created_at < created, sa.and_(d.created_at == created, d.id < last_id))
        )
    q = q.order_by(d.created_at.desc(), d.id.desc()).limit(min(size, MAX_DELIVERY_PAGE) + 1)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
        page, more = rows[:size], len(rows) > size
        attempts: dict[str, list[dict[str, Any]]] = {}
        if page:
            a = webhook_attempts.c
            for r in conn.execute(
                sa.select(webhook_attempts)
                .where(a.delivery_id.in_([p.id for p in page]))
                .order_by(a.delivery_id, a.attempt)
            ):
                attempts.setdefault(r.delivery_id, []).append(
                    {
                        "attempt": r.attempt,
                        "startedAt": r.started_at,
                        "durationMs": r.duration_ms,
                        "responseCode": r.response_code,
                        "error": r.error,
                    }
                )
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
            "nextAttemptAt": r.next_attempt_at if r.status in _DUE else None,
            "attempts": attempts.get(r.id, []),
        }
        for r in page
    ]
    next_token = _token(page[-1].created_at, page[-1].id) if more else None
    return items, next_token
