"""HubSpot's date-versioned API paths, and which legacy path each one replaces.

Callers name the legacy path (``/crm/v3/objects/contacts``); :class:`ApiPaths` sends the dated
equivalent (``/crm/objects/2026-03/contacts``) for every family HubSpot serves on a date version,
and remembers per connection when a family answers 404 there, falling back to the legacy path
for that family from then on. A connection with ``apiVersion: "legacy"`` never uses dated paths.

The families and their dated forms are HubSpot's 2026-03 reference
(``developers.hubspot.com/docs/api-reference/2026-03``). Families without a dated form (the
marketing v1 endpoints, for example) pass through unchanged.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from headwater.errors import InvalidRequestError

__all__ = ["API_VERSION", "LEGACY", "ApiPaths", "Family", "family_of"]

#: The date version the connector uses where HubSpot serves it.
API_VERSION = "2026-03"
#: The ``apiVersion`` connection parameter that keeps a connection on the legacy v3/v4 paths.
LEGACY = "legacy"
DATE_VERSION = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    pattern: re.Pattern[str]
    dated: str  # replacement template; ``{v}`` is the date version, ``\\1`` the rest of the path

    def rewrite(self, path: str, version: str) -> str | None:
        m = self.pattern.match(path)
        if m is None:
            return None
        return self.dated.format(v=version) + m.group(1)


def _family(name: str, legacy: str, dated: str) -> Family:
    return Family(name, re.compile("^" + legacy + "((?:/.*)?)$"), dated)


FAMILIES: tuple[Family, ...] = (
    _family("objects", r"/crm/v3/objects", "/crm/objects/{v}"),
    # per-record associations moved under the dated objects path
    Family(
        "objects",
        re.compile(r"^/crm/v4/objects((?:/[^/]+){2}/associations(?:/.*)?)$"),
        "/crm/objects/{v}",
    ),
    _family("properties", r"/crm/v3/properties", "/crm/properties/{v}"),
    _family("schemas", r"/crm/v3/schemas", "/crm-object-schemas/{v}/schemas"),
    _family("schemas", r"/crm-object-schemas/v3/schemas", "/crm-object-schemas/{v}/schemas"),
    _family("owners", r"/crm/v3/owners", "/crm/owners/{v}"),
    _family("pipelines", r"/crm/v3/pipelines", "/crm/pipelines/{v}"),
    _family("associations", r"/crm/v4/associations", "/crm/associations/{v}"),
    _family("associations", r"/crm/associations/v4", "/crm/associations/{v}"),
    _family("lists", r"/crm/v3/lists", "/crm/lists/{v}"),
    _family("account", r"/account-info/v3", "/account-info/{v}"),
)


def family_of(path: str) -> tuple[Family, str] | None:
    """The family of a legacy ``path`` and its dated form, or ``None`` when it has none."""
    for family in FAMILIES:
        dated = family.rewrite(path, API_VERSION)
        if dated is not None:
            return family, dated
    return None


class ApiPaths:
    """The paths one connection sends: dated where HubSpot serves them, legacy otherwise."""

    def __init__(self, api_version: str | None = None) -> None:
        version = (api_version or "").strip()
        self.legacy_only = version.lower() == LEGACY
        if version and not self.legacy_only and not DATE_VERSION.match(version):
            raise InvalidRequestError(
                f"apiVersion must be {LEGACY!r} or a date version such as {API_VERSION!r}, "
                f"not {version!r}"
            )
        self.version = API_VERSION if self.legacy_only or not version else version
        self._fallen_back: set[str] = set()
        self._lock = threading.Lock()

    def resolve(self, path: str) -> tuple[str, str | None]:
        """The path to send for the legacy ``path``, and the family name when it is a dated one."""
        if self.legacy_only:
            return path, None
        for family in FAMILIES:
            if family.name in self._fallen_back:
                continue
            dated = family.rewrite(path, self.version)
            if dated is not None:
                return dated, family.name
        return path, None

    def fall_back(self, family: str) -> None:
        """``family`` answered 404 on its dated path: use its legacy paths from now on."""
        with self._lock:
            self._fallen_back.add(family)

    @property
    def fallen_back(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._fallen_back)
