"""OAuth apps, access/refresh tokens, private-app tokens, service keys and scope checks.

Service keys are HubSpot's account-level keys for system-to-system integrations (the successor of
private apps): static bearer tokens with their own scopes and the limits of a privately distributed
app. HubSpot publishes no format for them, so the emulator's (``sk-na1-<uuid>``) is its own and
clients must treat the value as opaque.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from headwater.emulator.hubspot.crm_objects import EXTRA_SCOPES
from headwater.emulator.hubspot.values import mix, salt

ALL_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "tickets",
    "e-commerce",
    "sales-email-read",
    "crm.objects.owners.read",
    "crm.schemas.custom.read",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.lists.read",
    "crm.lists.write",
    "forms",
    "content",
    "marketing.campaigns.read",
    "marketing.campaigns.write",
    "communication_preferences.read",
    "communication_preferences.write",
    "automation",
    "settings.users.read",
    "settings.users.write",
    "settings.users.teams.read",
    *EXTRA_SCOPES,
)

#: Token kinds that never expire or refresh, and get the private-app rate budget.
STATIC_KINDS = frozenset({"private", "service_key"})

APP_ID = 456789
USER_ID = 123
USER_EMAIL = "admin@headwater-demo.test"


def _hex(x: int, n: int) -> str:
    return f"{x:016x}"[:n]


def _uuid_from(seed: int, name: str) -> str:
    a, b = mix(salt(seed, name)), mix(salt(seed, name, 2))
    h = f"{a:016x}{b:016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


@dataclass(slots=True)
class AccessToken:
    token: str
    scopes: tuple[str, ...]
    issued_ms: int
    expires_ms: int
    refresh_token: str | None  # None for private-app tokens
    kind: str  # "oauth" | "private" | "service_key"
    app_key: str  # rate-limit bucket
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    token: str
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    issued_ms: int
    used: bool = False


@dataclass
class AuthRegistry:
    """All credentials the emulated portal knows about."""

    seed: int
    portal_id: int
    token_ttl_s: int
    scopes: tuple[str, ...] = ALL_SCOPES
    client_id: str = ""
    client_secret: str = ""
    private_app_token: str = ""
    refresh_token: str = ""
    service_key: str = ""
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client_id = self.client_id or _uuid_from(self.seed, "client_id")
        self.client_secret = self.client_secret or _uuid_from(self.seed, "client_secret")
        self.refresh_token = self.refresh_token or "na1-" + _uuid_from(self.seed, "refresh")[4:]
        self.refresh[self.refresh_token] = RefreshToken(
            self.refresh_token, self.client_id, self.scopes
        )
        self.private_app_token = self.private_app_token or "pat-na1-" + _uuid_from(self.seed, "pat")
        self.add_private_token(self.private_app_token, self.scopes)
        self.service_key = self.service_key or "sk-na1-" + _uuid_from(self.seed, "service-key")
        self.add_service_key(self.scopes, self.service_key)

    def _next(self, kind: str) -> int:
        with self._lock:
            self._counter += 1
            return mix(salt(self.seed, kind, self._counter))

    def add_private_token(self, token: str, scopes: tuple[str, ...] | list[str]) -> AccessToken:
        """Register a static private-app token (no expiry) with the given scopes."""
        at = AccessToken(token, tuple(scopes), 0, 2**62, None, "private", "private:" + token)
        self.access[token] = at
        return at

    def add_service_key(
        self, scopes: tuple[str, ...] | list[str], token: str | None = None
    ) -> AccessToken:
        """Issue a service key (static, no expiry) with the given scopes."""
        value = token or "sk-na1-" + _uuid_from(self.seed, f"service-key{self._next('sk')}")
        at = AccessToken(value, tuple(scopes), 0, 2**62, None, "service_key", "service:" + value)
        self.access[value] = at
        return at

    def add_refresh_token(self, scopes: tuple[str, ...] | list[str]) -> str:
        """Register a new refresh token for the OAuth app (as an install with other scopes would)."""
        token = (
            "na1-"
            + _hex(self._next("rt"), 4)
            + "-"
            + _hex(self._next("rt"), 4)
            + "-"
            + _hex(self._next("rt"), 12)
        )
        self.refresh[token] = RefreshToken(token, self.client_id, tuple(scopes))
        return token

    def issue_access(self, refresh: RefreshToken, now_ms: int) -> AccessToken:
        body = "".join(f"{self._next('at'):016x}" for _ in range(10))
        token = "CKDZ" + body[:150]
        at = AccessToken(
            token,
            refresh.scopes,
            now_ms,
            now_ms + self.token_ttl_s * 1000,
            refresh.token,
            "oauth",
            "oauth:" + refresh.client_id,
        )
        self.access[token] = at
        return at

    def issue_code(
        self, client_id: str, redirect_uri: str, scopes: tuple[str, ...], now_ms: int
    ) -> str:
        code = _uuid_from(self.seed, f"code{self._next('code')}")
        self.codes[code] = AuthCode(code, client_id, redirect_uri, scopes, now_ms)
        return code
