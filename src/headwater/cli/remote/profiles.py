"""Named connection profiles (``profiles.toml``) and the access-token cache beside them.

Both files live in the Headwater home (``HEADWATER_HOME``, default ``~/.headwater``) with mode
0600, because they hold client secrets and bearer tokens::

    default = "local"

    [profiles.local]
    endpoint = "http://127.0.0.1:8080"
    org = "1234ABCD@AdobeOrg"
    sandbox = "prod"
    client_id = "..."
    client_secret = "..."
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from headwater.errors import ConfigurationError

PROFILES_FILE = "profiles.toml"
TOKENS_FILE = "cli-tokens.json"
PROFILE_ENV = "HEADWATER_PROFILE"
_FIELDS = ("endpoint", "org", "sandbox", "client_id", "client_secret")


@dataclass(frozen=True, slots=True)
class Profile:
    """Where the API is and who calls it."""

    name: str
    endpoint: str
    org: str
    sandbox: str
    client_id: str
    client_secret: str

    def public(self) -> dict[str, str]:
        """The profile without its secret."""
        data = asdict(self)
        data["client_secret"] = "********"
        return data


@dataclass(slots=True)
class ProfileBook:
    """Every stored profile and the name of the default one."""

    profiles: dict[str, Profile]
    default: str | None = None


def home_dir() -> Path:
    from headwater.settings import get_settings

    return get_settings().home


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


def _toml_str(value: str) -> str:
    # A JSON string without \u escapes of non-ASCII text is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def dumps_toml(book: ProfileBook) -> str:
    lines: list[str] = []
    if book.default:
        lines += [f"default = {_toml_str(book.default)}", ""]
    for name in sorted(book.profiles):
        prof = book.profiles[name]
        lines.append(f"[profiles.{_toml_str(name)}]")
        lines += [f"{field} = {_toml_str(getattr(prof, field))}" for field in _FIELDS]
        lines.append("")
    return "\n".join(lines)


def load_book(home: Path) -> ProfileBook:
    """The stored profiles; an empty book when the file does not exist yet."""
    path = home / PROFILES_FILE
    if not path.exists():
        return ProfileBook(profiles={})
    _check_private(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    profiles: dict[str, Profile] = {}
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigurationError(f"{path}: [profiles] must be a table")
    for name, raw in raw_profiles.items():
        missing = [
            f for f in _FIELDS if not isinstance(raw, dict) or not isinstance(raw.get(f), str)
        ]
        if missing:
            raise ConfigurationError(f"{path}: profile {name!r} lacks {', '.join(missing)}")
        profiles[name] = Profile(name=name, **{f: raw[f] for f in _FIELDS})
    default = data.get("default")
    return ProfileBook(profiles=profiles, default=default if isinstance(default, str) else None)


def save_book(home: Path, book: ProfileBook) -> Path:
    path = home / PROFILES_FILE
    write_private(path, dumps_toml(book))
    return path


def select(book: ProfileBook, name: str | None) -> Profile:
    """The profile named by ``--profile``, else ``HEADWATER_PROFILE``, else the default."""
    wanted = name or os.environ.get(PROFILE_ENV) or book.default
    if not book.profiles:
        raise ConfigurationError("no profile yet; run `headwater login --endpoint URL ...` first")
    if wanted is None:
        if len(book.profiles) == 1:
            return next(iter(book.profiles.values()))
        raise ConfigurationError(
            f"several profiles ({', '.join(sorted(book.profiles))}); pass --profile NAME"
        )
    if wanted not in book.profiles:
        raise ConfigurationError(
            f"no profile named {wanted!r} (have: {', '.join(sorted(book.profiles))})"
        )
    return book.profiles[wanted]


# --------------------------------------------------------------------------- token cache


@dataclass(frozen=True, slots=True)
class CachedToken:
    access_token: str
    expires_at: float  # seconds since the epoch

    def fresh(self, now: float, margin_s: float = 60.0) -> bool:
        return now < self.expires_at - margin_s


def _cache_key(profile: Profile) -> str:
    return f"{profile.name}|{profile.endpoint}|{profile.client_id}"


def _load_cache(home: Path) -> dict[str, Any]:
    path = home / TOKENS_FILE
    if not path.exists():
        return {}
    _check_private(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}  # a damaged cache only costs a new token
    return data if isinstance(data, dict) else {}


def cached_token(home: Path, profile: Profile) -> CachedToken | None:
    entry = _load_cache(home).get(_cache_key(profile))
    if not isinstance(entry, dict):
        return None
    token, expires = entry.get("access_token"), entry.get("expires_at")
    if not isinstance(token, str) or not isinstance(expires, int | float):
        return None
    return CachedToken(token, float(expires))


def store_token(home: Path, profile: Profile, token: CachedToken | None) -> None:
    """Remember (or, with ``None``, forget) the profile's token."""
    cache = _load_cache(home)
    key = _cache_key(profile)
    if token is None:
        cache.pop(key, None)
    else:
        cache[key] = {"access_token": token.access_token, "expires_at": token.expires_at}
    write_private(home / TOKENS_FILE, json.dumps(cache, indent=2) + "\n")
