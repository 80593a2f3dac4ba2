"""HubSpot credentials: static private-app tokens and service keys, and OAuth tokens that refresh
themselves.

OAuth access tokens live 30 minutes. :class:`OAuthAuth` learns the expiry, portal and scopes (from
token introspection, ``POST /oauth/2026-03/token/introspect``, or ``expires_in`` of a refresh;
never the deprecated ``/oauth/v1/access-tokens``), renews the token ``refresh_margin_s`` before it runs
out, and renews it once more when an API call still answers 401. Every renewal hands the new
values to ``on_tokens_refreshed`` so that the caller can store them (the connector itself never
persists anything).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from headwater.connectors.hubspot.convert import parse_iso
from headwater.connectors.hubspot.errors import error_body
from headwater.connectors.retry import RetryPolicy, parse_retry_after
from headwater.errors import RetriableSourceError, SourceAuthError

__all__ = ["Authenticator", "OAuthAuth", "PrivateAppAuth", "ServiceKeyAuth", "TokensCallback"]

TokensCallback = Callable[[dict[str, str]], None]

#: HubSpot's burst budgets per 10 s: public (OAuth) apps 110, private apps at least 100.
OAUTH_BUDGET = 110
PRIVATE_APP_BUDGET = 100


class Authenticator(Protocol):
    default_budget: int

    def bearer(self) -> str:
        """A token valid for the next call, renewed first when it is about to expire."""
        ...

    def handle_unauthorized(self, used_token: str, category: str) -> bool:
        """After a 401 with ``used_token``: True when a retry with a fresh token makes sense."""
        ...

    def account_key(self) -> str:
        """The key of the rate budget this credential spends (portal or token)."""
        ...


def _token_key(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class PrivateAppAuth:
    """A private-app token: static, never refreshed."""

    default_budget = PRIVATE_APP_BUDGET
    kind = "private-app token"

    def __init__(self, access_token: str) -> None:
        if not access_token:
            raise SourceAuthError(f"HubSpot {self.kind} is empty")
        self._token = access_token

    def bearer(self) -> str:
        return self._token

    def handle_unauthorized(self, used_token: str, category: str) -> bool:  # noqa: ARG002
        return False

    def account_key(self) -> str:
        return _token_key(self._token)


class ServiceKeyAuth(PrivateAppAuth):
    """A service key (HubSpot's account-level key for system-to-system integrations): a static
    bearer token with its own scopes and the limits of a privately distributed app. Its value is
    opaque; nothing depends on its format."""

    kind = "service key"


def _iso(epoch_s: float) -> str:
    return (
        datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def parse_expiry(value: str | None) -> float | None:
    """An expiry given as ISO-8601 or epoch seconds/milliseconds, as epoch seconds."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        number = int(text)
        return number / 1000 if number > 10**11 else float(number)
    parsed = parse_iso(text)
    return None if parsed is None else parsed.timestamp()


class OAuthAuth:
    """OAuth access + refresh token of a HubSpot public app, renewed before and after expiry."""

    default_budget = OAUTH_BUDGET

    def __init__(
        self,
        *,
        http: httpx.Client,
        client_id: str,
        client_secret: str,
        access_token: str,
        refresh_token: str,
        expires_at: float | None = None,
        on_tokens_refreshed: TokensCallback | None = None,
        refresh_margin_s: float = 300.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        legacy: bool = False,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("clientId", client_id),
                ("clientSecret", client_secret),
                ("refreshToken", refresh_token),
            )
            if not value
        ]
        if missing:
            raise SourceAuthError(f"HubSpot OAuth credentials lack {', '.join(missing)}")
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._expires_at = expires_at
        self._on_tokens_refreshed = on_tokens_refreshed
        self._margin = refresh_margin_s
        self._retry = retry or RetryPolicy(max_attempts=5)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        # The dated OAuth API; a legacy connection keeps v1 for the token and v3 for introspection
        # (v1 token metadata is deprecated, and both v1 endpoints go on 2027-02-16).
        self._token_path = "/oauth/v1/token" if legacy else "/oauth/2026-03/token"
        self._introspect_path = (
            "/oauth/v3/token/introspect" if legacy else "/oauth/2026-03/token/introspect"
        )
        self._reactive_for: str | None = None
        self.hub_id: int | None = None
        self.scopes: list[str] = []
        self.refreshes = 0

    # ------------------------------------------------------------------ public

    @property
    def access_token(self) -> str:
        return self._access_token

    @property
    def expires_at(self) -> float | None:
        return self._expires_at

    def install(self) -> str:
        """What names the app's install in one portal: the client id and refresh token."""
        with self._lock:
            return f"{self._client_id}\n{self._refresh_token}"

    def bearer(self) -> str:
        with self._lock:
            if not self._access_token:
                self.refresh()
            elif self._expires_at is None or self.hub_id is None:
                self._learn_metadata()
            if self._expires_at is not None and self._clock() >= self._expires_at - self._margin:
                self.refresh()
            return self._access_token

    def handle_unauthorized(self, used_token: str, category: str) -> bool:  # noqa: ARG002
        # Any 401 earns one renewal: an expired token (EXPIRED_AUTHENTICATION) obviously, and an
        # unknown one too, since the refresh token may still be good.
        with self._lock:
            if used_token != self._access_token:
                return True  # another thread renewed it meanwhile
            if self._reactive_for == used_token:
                return False  # the renewed token was refused too: give up
            self.refresh()
            self._reactive_for = self._access_token
            return True

    def account_key(self) -> str:
        with self._lock:
            if self.hub_id is None:
                self._learn_metadata()
            return f"hub:{self.hub_id}" if self.hub_id is not None else _token_key(self._client_id)

    # ------------------------------------------------------------------ token endpoints

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A token-endpoint call, retried on 429, 5xx and transport errors."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self._retry.max_attempts:
                    raise RetriableSourceError(
                        f"HubSpot token endpoint unreachable: {exc!r}"
                    ) from exc
                self._sleep(self._retry.delay(attempt))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt >= self._retry.max_attempts:
                    raise RetriableSourceError(
                        f"HubSpot token endpoint kept answering {response.status_code}"
                    )
                wait = parse_retry_after(response.headers.get("retry-after"))
                self._sleep(wait if wait is not None else self._retry.delay(attempt))
                continue
            return response

    def _introspect(self) -> dict[str, Any] | None:
        """Token introspection of the current access token; ``None`` when it is not active."""
        response = self._call(
            "POST",
            self._introspect_path,
            data={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "token": self._access_token,
                "token_type_hint": "access_token",
            },
        )
        if response.status_code == 400:
            raise self._refresh_error(response)
        if response.status_code != 200:
            return None
        body = response.json()
        return body if isinstance(body, dict) and body.get("active") is True else None

    def _learn_metadata(self) -> None:
        """Expiry, portal and scopes of the current access token, by token introspection."""
        body = self._introspect()
        if body is None:
            # Unknown or expired access token: a refresh gives a fresh one and its metadata.
            self.refresh()
            if self.hub_id is not None:
                return
            body = self._introspect()
            if body is None:
                raise SourceAuthError(
                    "HubSpot token introspection says the renewed token is not active"
                )
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float):
            self._expires_at = self._clock() + float(expires_in)
        if isinstance(body.get("hub_id"), int):
            self.hub_id = body["hub_id"]
        if isinstance(body.get("scopes"), list):
            self.scopes = [str(s) for s in body["scopes"]]

    def refresh(self) -> None:
        """Exchange the refresh token for a new access token (``POST /oauth/2026-03/token``)."""
        with self._lock:
            response = self._call(
                "POST",
                self._token_path,
                data={
                    "grant_type": "refresh_token",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "refresh_token": self._refresh_token,
                },
            )
            if response.status_code != 200:
                raise self._refresh_error(response)
            body = response.json()
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                raise SourceAuthError("HubSpot token endpoint returned no access_token")
            self._access_token = token
            if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
                self._refresh_token = body["refresh_token"]
            expires_in = body.get("expires_in")
            self._expires_at = (
                self._clock() + float(expires_in) if isinstance(expires_in, int | float) else None
            )
            if isinstance(body.get("hub_id"), int):
                self.hub_id = body["hub_id"]
            if isinstance(body.get("scopes"), list):
                self.scopes = [str(s) for s in body["scopes"]]
            self.refreshes += 1
            if self._on_tokens_refreshed is not None:
                tokens = {"accessToken": self._access_token, "refreshToken": self._refresh_token}
                if self._expires_at is not None:
                    tokens["expiresAt"] = _iso(self._expires_at)
                self._on_tokens_refreshed(tokens)

    @staticmethod
    def _refresh_error(response: httpx.Response) -> SourceAuthError:
        body = error_body(response)
        status = str(body.get("status") or body.get("error") or body.get("category") or "")
        message = str(body.get("message") or body.get("error_description") or "").strip()
        if status in {"BAD_REFRESH_TOKEN", "invalid_grant"}:
            return SourceAuthError(
                f"HubSpot refresh token is invalid or revoked ({status}: {message}); "
                "reconnect the HubSpot app to get a new one"
            )
        if status in {"BAD_CLIENT_ID", "BAD_CLIENT_SECRET", "invalid_client"}:
            return SourceAuthError(
                f"HubSpot rejected the OAuth client id or secret ({status}: {message})"
            )
        return SourceAuthError(
            f"HubSpot refused to renew the access token ({response.status_code} {status}: {message})"
        )
