"""The one place where HubSpot calls are sent: auth header, portal rate limit, retries, errors."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from headwater.connectors.hubspot.auth import Authenticator
from headwater.connectors.hubspot.errors import error_body, error_from_response
from headwater.connectors.hubspot.paths import ApiPaths
from headwater.connectors.ratelimit import LimiterRegistry, PortalRateLimiter, RequestKind
from headwater.connectors.retry import RetryPolicy, parse_retry_after
from headwater.errors import (
    FatalSourceError,
    MalformedSourceResponseError,
    MissingScopeError,
    RetriableSourceError,
    SourceResponseTooLargeError,
)

__all__ = ["MAX_RESPONSE_BYTES", "HubSpotHttp", "json_body", "new_httpx_client"]

log = logging.getLogger(__name__)

DAILY_RESERVE_MIN = 20
#: The largest answer read into memory. A list page of 100 records with every property of a
#: portal is a few hundred KiB; anything near this is not a HubSpot page.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


def json_body(response: httpx.Response, where: str = "") -> Any:
    """The parsed JSON of a 2xx answer; a body that is not JSON fails the read with a code of
    its own instead of an unexpected ``JSONDecodeError``."""
    try:
        return response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        what = where or f"{response.request.method} {response.request.url.path}"
        raise MalformedSourceResponseError(
            f"HubSpot answered {what} with a body that is not JSON ({len(response.content)} "
            f"bytes, {type(exc).__name__}: {exc})"
        ) from None


def new_httpx_client(
    base_url: str, *, timeout_s: float = 60.0, max_connections: int = 16
) -> httpx.Client:
    """A keep-alive HTTP/1.1 client for one HubSpot base URL."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        http1=True,
        http2=False,
        timeout=httpx.Timeout(timeout_s, connect=10.0),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": "headwater-hubspot/0.1", "Accept": "application/json"},
    )


def _route_missing(response: httpx.Response) -> bool:
    """A 404 that says the path is not served (as opposed to a record that does not exist)."""
    return str(error_body(response).get("category") or "") != "OBJECT_NOT_FOUND"


#: Skews below this are noise (the ``Date`` header's second, latency); the lookback covers them.
CLOCK_SKEW_MS = 5_000


class HubSpotHttp:
    """Sends API calls with the portal's rate limiter, retrying what HubSpot says may be retried.

    * 429: the whole portal pauses for ``Retry-After`` or an exponential delay from about 1 s;
    * 5xx, timeouts, resets: jittered exponential backoff;
    * 401: the authenticator may renew the token once, then the call is repeated;
    * 404 on a date-versioned path that is not a missing record: the family falls back to its
      legacy path for this connection and the call is repeated there;
    * 400, 403, 404, 414, 530: raised at once (:func:`error_from_response`).

    Callers name legacy paths; ``paths`` picks the dated form to send (:mod:`.paths`).
    """

    def __init__(
        self,
        *,
        client: httpx.Client,
        auth: Authenticator,
        registry: LimiterRegistry,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        daily_reserve: float = 0.01,
        paths: ApiPaths | None = None,
        portal_lookup: bool = False,
        known_portal: int | None = None,
        on_portal: Callable[[int], None] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.client = client
        self.max_response_bytes = max_response_bytes
        self.paths = paths or ApiPaths()
        self._auth = auth
        self._registry = registry
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limiter: PortalRateLimiter | None = None
        self._daily_reserve = daily_reserve
        self._lock = threading.Lock()
        self._limiter_lock = threading.RLock()
        self._portal_lookup = portal_lookup
        #: the portal an earlier connector learned for these same credentials (the caller
        #: vouches for that), so this one need not look it up again
        self._known_portal = known_portal if portal_lookup else None
        self._on_portal = on_portal
        self._looked_up = False
        self.portal_id: int | None = None
        #: HubSpot's clock minus ours, from the last ``Date`` header (``None`` before one)
        self._clock_offset_ms: int | None = None
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.stats: dict[str, int] = {
            "requests": 0,
            "search_requests": 0,
            "retries": 0,
            "rate_limited": 0,
            "server_errors": 0,
            "transport_errors": 0,
            "unauthorized": 0,
            "fallbacks": 0,
        }

    @property
    def limiter(self) -> PortalRateLimiter:
        """The portal's rate limiter, shared by every connection to the same portal.

        OAuth tokens name their portal (``hub_id``); a static token does not, so with
        ``portal_lookup`` the first call asks ``/account-info/2026-03/details`` for the
        ``portalId`` (spending the token's own budget), and every later call spends the portal's;
        ``on_portal`` is told, so that the caller can keep it with the credentials and hand it
        back as ``known_portal``, which saves the lookup. Two connections to one portal,
        whatever their credentials, then share one budget.
        """
        if self._limiter is not None:
            return self._limiter
        with self._limiter_lock:
            if self._limiter is not None:
                return self._limiter
            key = self._auth.account_key()
            if self._known_portal is not None and not key.startswith("hub:"):
                self.portal_id = self._known_portal
                self._limiter = self._registry.get(
                    f"hub:{self._known_portal}", budget=self._auth.default_budget
                )
                return self._limiter
            self._limiter = self._registry.get(key, budget=self._auth.default_budget)
            if self._portal_lookup and not key.startswith("hub:"):
                self._learn_portal()
            return self._limiter

    def learn_portal(self) -> int | None:
        """Look the static token's portal up now (one call, even when it was known), and key
        the rate budget by it; ``None`` when the account details cannot be read."""
        _ = self.limiter
        with self._limiter_lock:
            if self._looked_up:
                return self.portal_id  # the limiter has just asked
            return self._learn_portal()

    def _learn_portal(self) -> int | None:
        self._looked_up = True
        portal = self._lookup_portal()
        if portal is None:
            return None
        self.portal_id = portal
        self._limiter = self._registry.get(f"hub:{portal}", budget=self._auth.default_budget)
        if self._on_portal is not None and portal != self._known_portal:
            try:
                self._on_portal(portal)
            except Exception:  # keeping it only saves a call next time
                log.exception("could not keep the HubSpot portal id with the connection")
        return portal

    def _lookup_portal(self) -> int | None:
        try:
            body = json_body(self.send("GET", "/account-info/v3/details"))
        except (MissingScopeError, FatalSourceError) as exc:
            log.warning("HubSpot portal id unknown, the rate budget is the token's: %s", exc)
            return None
        portal = body.get("portalId") if isinstance(body, dict) else None
        return portal if isinstance(portal, int) else None

    def _check_daily(self, headers: Mapping[str, str]) -> None:
        """Stop before the daily quota runs out (private apps get the daily headers).

        Running it dry would fail every flow of the portal until midnight; stopping with a
        retriable error leaves the read's last checkpoint to resume from once the quota resets.
        """
        try:
            daily = int(headers["x-hubspot-ratelimit-daily"])
            left = int(headers["x-hubspot-ratelimit-daily-remaining"])
        except (KeyError, ValueError):
            return
        # at least a few calls per connection that may be in flight at once
        reserve = max(int(daily * self._daily_reserve), DAILY_RESERVE_MIN)
        if left < reserve:
            raise RetriableSourceError(
                f"HubSpot's daily API quota is nearly used up ({left} of {daily} calls left, "
                f"{reserve} kept in reserve); the read stops and can resume after it resets"
            )

    def source_now_ms(self, local_now_ms: int) -> int:
        """Now by HubSpot's clock when it differs from ours by more than :data:`CLOCK_SKEW_MS`
        (its ``Date`` headers); else ``local_now_ms``. Windows over HubSpot's
        timestamps then end by its clock: a clock of ours that runs ahead would skip the
        changes made until it is right again, one that runs behind would miss the newest."""
        offset = self._clock_offset_ms
        if offset is None or abs(offset) <= CLOCK_SKEW_MS:
            return local_now_ms
        return local_now_ms + offset

    def _note_date(self, headers: Mapping[str, str]) -> None:
        raw = headers.get("date")
        if not raw:
            return
        try:
            at = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return
        # the header is to the second: its end is never behind HubSpot's clock (a window that
        # ends up to a second late only re-reads a little, the lookback covers it)
        self._clock_offset_ms = int(at.timestamp() * 1000) + 999 - self._clock_ms()

    def _count(self, name: str) -> None:
        with self._lock:
            self.stats[name] += 1

    def _request(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, token: str
    ) -> httpx.Response:
        """One call, its answer read into memory only up to ``max_response_bytes``."""
        request = self.client.build_request(
            method, path, params=params, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        response = self.client.send(request, stream=True)
        limit = self.max_response_bytes
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(method, path, f"{int(declared):,} bytes declared")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._too_large(method, path, f"more than {limit:,} bytes")
                chunks.append(chunk)
            response._content = b"".join(chunks)  # what read() would have kept
        finally:
            response.close()
        return response

    def _too_large(self, method: str, path: str, what: str) -> SourceResponseTooLargeError:
        return SourceResponseTooLargeError(
            f"HubSpot answered {method} {path} with {what}; the connector reads at most "
            f"{self.max_response_bytes:,} bytes per answer"
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        kind: RequestKind = RequestKind.BURST,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """The successful response of one call, after retries; raises a ``SyncError`` otherwise.

        Statuses in ``allow`` are returned to the caller instead of raised.
        """
        attempt = 0
        while True:
            attempt += 1
            sent, family = self.paths.resolve(path)
            token = self._auth.bearer()
            limiter = self.limiter
            ticket = limiter.acquire(kind)
            try:
                response = self._request(method, sent, params, json, token)
            except SourceResponseTooLargeError:
                limiter.release(ticket)
                self._count("requests")
                raise
            except httpx.TransportError as exc:
                limiter.release(ticket)
                self._count("requests")
                self._count("transport_errors")
                if attempt >= self._retry.max_attempts:
                    raise RetriableSourceError(
                        f"HubSpot {method} {path} failed {attempt} times: {exc!r}"
                    ) from exc
                self._count("retries")
                self._sleep(self._retry.delay(attempt, self._rng))
                continue
            limiter.release(ticket, response.headers)
            self._note_date(response.headers)
            self._count("requests")
            if kind is RequestKind.SEARCH:
                self._count("search_requests")
            status = response.status_code
            if status < 300:
                self._check_daily(response.headers)
                return response
            if status == 404 and family is not None and _route_missing(response):
                self.paths.fall_back(family)
                self._count("fallbacks")
                attempt -= 1  # the legacy path is a new first attempt
                continue
            if status in allow:
                return response
            if status == 401:
                self._count("unauthorized")
                category = str(error_body(response).get("category") or "")
                if self._auth.handle_unauthorized(token, category):
                    attempt -= 1  # a renewed token is a new first attempt
                    continue
                raise error_from_response(response)
            if status == 429 and error_body(response).get("policyName") == "DAILY":
                self._count("rate_limited")
                raise RetriableSourceError(
                    "HubSpot's daily API quota is used up; the read can resume after it resets"
                )
            if status == 429 or (status >= 500 and status != 530):
                self._count("rate_limited" if status == 429 else "server_errors")
                if attempt >= self._retry.max_attempts:
                    raise error_from_response(response)
                self._count("retries")
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = (
                    retry_after
                    if retry_after is not None
                    else self._retry.delay(attempt, self._rng)
                )
                if status == 429 and kind is not RequestKind.EXEMPT:
                    limiter.penalize(kind, delay)  # every stream of the portal holds off
                else:
                    self._sleep(delay)
                continue
            raise error_from_response(response)
