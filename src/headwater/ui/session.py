"""The UI's session: an encrypted, HttpOnly, SameSite=Strict cookie holding an IMS access token.

The cookie is sealed with the service's secret box, so it can be neither read nor forged, and it
carries no state the server must remember: every request authenticates the token through the same
gateway as the API, and signing out revokes the token, which ends every copy of the cookie.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag

from headwater.errors import ConfigurationError


class SecretBox(Protocol):
    """The service's secret box (``ServiceContext.box``): AES-GCM sealing of small documents."""

    def encrypt(self, values: dict[str, Any], *, context: bytes = b"") -> bytes: ...
    def decrypt(self, blob: bytes, *, context: bytes = b"") -> dict[str, Any]: ...


SESSION_COOKIE = "hw_session"
#: Before signing in there is no session: the sign-in form is protected by a double-submit token.
PRE_SESSION_COOKIE = "hw_presession"
#: A source's OAuth round trip in progress (app credentials and the state nonce), sealed too.
OAUTH_COOKIE = "hw_oauth"
FLASH_COOKIE = "hw_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/ui"
_SESSION_AAD = b"headwater-ui:session"
_OAUTH_AAD = b"headwater-ui:oauth"


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    client_id: str
    org_id: str
    sandbox: str
    csrf: str
    expires_at: int

    def with_sandbox(self, name: str) -> Session:
        return replace(self, sandbox=name)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(box: SecretBox, values: dict[str, Any], aad: bytes) -> str:
    return _b64(box.encrypt(values, context=aad))


def unseal(box: SecretBox, text: str | None, aad: bytes) -> dict[str, Any] | None:
    """The sealed values, or None for anything missing, tampered with or sealed by another key."""
    if not text or len(text) > 4096:
        return None
    try:
        return box.decrypt(_unb64(text), context=aad)
    except (ValueError, binascii.Error, InvalidTag, ConfigurationError, json.JSONDecodeError):
        return None


def encode_session(box: SecretBox, session: Session) -> str:
    return seal(box, asdict(session), _SESSION_AAD)


def decode_session(box: SecretBox, text: str | None) -> Session | None:
    values = unseal(box, text, _SESSION_AAD)
    if values is None:
        return None
    try:
        return Session(
            token=str(values["token"]),
            client_id=str(values["client_id"]),
            org_id=str(values["org_id"]),
            sandbox=str(values["sandbox"]),
            csrf=str(values["csrf"]),
            expires_at=int(values["expires_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def encode_oauth(box: SecretBox, values: dict[str, Any]) -> str:
    return seal(box, values, _OAUTH_AAD)


def decode_oauth(box: SecretBox, text: str | None) -> dict[str, Any] | None:
    return unseal(box, text, _OAUTH_AAD)
