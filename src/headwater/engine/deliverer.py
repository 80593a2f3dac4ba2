"""The webhook deliverer: claims due deliveries from the outbox, signs and POSTs each one, and
records the attempt, retrying failures with exponential backoff.

:func:`deliver_pending` makes one round (tests call it, and ``headwater worker --until-idle``);
:class:`Deliverer` runs rounds on a thread in every worker process, woken at once when the process
emits an event. A webhook's deliveries go out in order, different webhooks in parallel.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from headwater.services import webhooks
from headwater.services.context import ServiceContext
from headwater.services.webhooks import (
    DELIVERY_HEADER,
    EVENT_CODES,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from headwater.store import webhooks as outbox
from headwater.store.webhooks import CANCELLED, FAILED, RETRYING, SUCCEEDED, Claimed, Outcome

log = logging.getLogger("headwater.notifications")


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


def sign(secret: str, body: bytes) -> str:
    """The ``x-headwater-signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def _post(
    client: httpx.Client, url: str, secret: str, item: Claimed, *, started: int
) -> tuple[int | None, str | None]:
    """One signed POST: ``(status code, error)``; an error for a transport failure or a non-2xx."""
    body = item.payload.encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "headwater-webhooks/1",
        EVENT_HEADER: item.event_type,
        DELIVERY_HEADER: item.id,
        TIMESTAMP_HEADER: str(started // 1000),
        SIGNATURE_HEADER: sign(secret, body),
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    code = response.status_code
    return code, None if 200 <= code < 300 else f"HTTP {code}: {response.text[:200]}"


def _attempt(
    ctx: ServiceContext,
    client: httpx.Client,
    policy: DeliveryPolicy,
    owner: str,
    item: Claimed,
    target: tuple[str, str] | None,
) -> None:
    if target is None:
        now = ctx.clock()
        cancelled = Outcome(
            status=CANCELLED,
            started=now,
            duration_ms=0,
            code=None,
            error="the webhook was deleted or disabled",
            next_at=now,
            attempted=False,
        )
        outbox.finish(ctx.engine, item, owner=owner, outcome=cancelled, now=now)
        return
    started = ctx.clock()
    t0 = time.monotonic()
    code, error = _post(client, *target, item, started=started)
    duration_ms = int((time.monotonic() - t0) * 1000)
    attempts = item.attempts + 1
    now = ctx.clock()
    if error is None:
        status, next_at = SUCCEEDED, now
    elif attempts >= policy.max_attempts:
        status, next_at = FAILED, now
    else:
        status, next_at = RETRYING, now + policy.backoff_ms(attempts)
    outcome = Outcome(status, started, duration_ms, code, error, next_at)
    outbox.finish(ctx.engine, item, owner=owner, outcome=outcome, now=ctx.clock())
    log.log(
        logging.INFO if status == SUCCEEDED else logging.WARNING,
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


def deliver_pending(
    ctx: ServiceContext,
    *,
    policy: DeliveryPolicy | None = None,
    client: httpx.Client | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Make one attempt for every delivery due now; returns how many were handled. Once ``stop``
    is set no new attempt starts: the deliveries not yet attempted are given back at once. A
    webhook whose target cannot be read (say, its secret was sealed with a key this process does
    not have) is logged and skipped; its deliveries wait for their lease to expire."""
    policy = policy or DeliveryPolicy()
    owner = f"deliverer:{uuid.uuid4().hex[:12]}"
    claimed = outbox.claim_due(
        ctx.engine,
        owner=owner,
        now=ctx.clock(),
        lease_ms=int(policy.lease_s * 1000),
        limit=policy.batch,
    )
    if not claimed:
        return 0
    by_hook: dict[str, list[Claimed]] = {}
    for item in claimed:
        by_hook.setdefault(item.webhook_id, []).append(item)
    own_client = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False)

    def run(items: list[Claimed]) -> int:
        first = items[0]
        try:
            target = webhooks.delivery_target(
                ctx,
                webhook_id=first.webhook_id,
                org_id=first.org_id,
                sandbox_name=first.sandbox_name,
            )
        except Exception:
            log.exception(
                "cannot read webhook %s; its deliveries wait",
                first.webhook_id,
                extra={"webhook_id": first.webhook_id},
            )
            return 0
        for n, item in enumerate(items):
            if stop is not None and stop.is_set():
                outbox.release(ctx.engine, [i.id for i in items[n:]], owner=owner)
                return n
            _attempt(ctx, http, policy, owner, item, target)
        return len(items)

    try:
        with ThreadPoolExecutor(
            max_workers=max(1, min(policy.concurrency, len(by_hook))),
            thread_name_prefix="webhook",
        ) as pool:
            futures = [pool.submit(run, items) for items in by_hook.values()]
            return sum(future.result() for future in futures)
    finally:
        if own_client:
            http.close()


class Deliverer:
    """The background loop of a worker process: delivers due notifications, woken at once when
    this process emits an event and otherwise every ``poll_s`` seconds. :meth:`stop` lets the
    attempts in flight finish (each bounded by the policy's timeout), gives the rest of the round
    back to the outbox, and joins the thread."""

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
        webhooks.install(self.ctx)
        self.ctx.listeners.append(self._on_event)
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Start no new attempt; the ones in flight finish (:meth:`stop` waits for them)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop after the attempts in flight; False if the thread was still busy after
        ``timeout`` seconds (it is a daemon thread and ends with the process)."""
        self.request_stop()
        if self._on_event in self.ctx.listeners:
            self.ctx.listeners.remove(self._on_event)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the webhook deliverer did not stop within %.0f s", timeout)
            return False
        return True

    def _loop(self) -> None:
        with httpx.Client(timeout=self.policy.timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                handled = 0
                try:
                    handled = deliver_pending(
                        self.ctx, policy=self.policy, client=client, stop=self._stop
                    )
                except Exception:
                    log.exception("webhook delivery round failed")
                if handled == 0:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
