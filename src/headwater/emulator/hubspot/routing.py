"""Routing for the raw ASGI app: route tables, the path-template matcher, the request context handed
to handlers, HubSpot's error envelope and the lookups every API family shares.

A family module (``routes/*.py``) exports ``ROUTES``, a tuple of :class:`Route`; a route names its
method(s), one or more path templates, a plain ``handler(ctx)`` function and the endpoint name used
by the request counters and the fault plan. Templates are ``/``-separated segments: a literal
(``objects``), a capture (``{type}``), or a capture restricted to choices (``{version:v3|v4}``),
where the choice ``YYYY-MM`` stands for any date version (``2026-03``). The first segment is always
a literal.

Matching walks one trie per method, a dict lookup per segment: at each segment a literal (or a
listed choice) wins over a date version, which wins over a free capture.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from headwater.emulator.hubspot.auth import AccessToken
from headwater.emulator.hubspot.data import ObjectStore
from headwater.emulator.hubspot.faults import Faults
from headwater.emulator.hubspot.http import HttpError, Request, Response
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.state import PortalState

DATE_VERSION = re.compile(r"^\d{4}-\d{2}$")
DATED = "YYYY-MM"

Handler = Callable[["Ctx"], Awaitable[Response] | Response]


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of a family's route table.

    ``scope_type`` names the path capture whose object type's read (or, with ``write``, write)
    scope the token needs; ``scope`` is a fixed required scope. ``auth=False`` routes need no
    token; ``faults=False`` routes are never touched by the fault plan (the admin prefix);
    ``burst_exempt`` routes are not counted in the ten-second window.
    ``defaults`` are extra arguments handed to the handler as if they had been captured.
    ``sunset`` routes are APIs HubSpot has retired: they answer 404, as HubSpot does after the
    sunset, unless the portal is configured with ``legacy_v1``.
    """

    method: str  # "GET", or several joined with "|"
    path: str | tuple[str, ...]
    handler: Handler
    endpoint: str
    scope_type: str | None = None
    scope: str | None = None
    write: bool = False
    search: bool = False
    #: exempt from the ten-second window (``x-hubspot-rate-limit-exemptions: ["ten-secondly"]``
    #: in HubSpot's spec: association batch reads and label endpoints); still counted daily
    burst_exempt: bool = False
    auth: bool = True
    faults: bool = True
    defaults: tuple[tuple[str, str], ...] = ()
    sunset: bool = False


RouteTable = tuple[Route, ...]


def under(prefixes: tuple[str, ...], suffix: str) -> tuple[str, ...]:
    """The same suffix below each of several path prefixes."""
    return tuple(p + suffix for p in prefixes)


@dataclass(slots=True)
class Match:
    route: Route
    args: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Segment:
    literal: str | None
    name: str | None = None
    choices: frozenset[str] = frozenset()
    dated: bool = False


def _parse_segment(text: str) -> _Segment:
    if not (text.startswith("{") and text.endswith("}")):
        return _Segment(text)
    name, _, spec = text[1:-1].partition(":")
    options = spec.split("|") if spec else []
    return _Segment(None, name, frozenset(o for o in options if o != DATED), DATED in options)


class _Pattern:
    """One template of one route, and how to read its captures back out of a matched path."""

    __slots__ = ("captures", "defaults", "route", "segments", "template")

    def __init__(self, route: Route, template: str) -> None:
        self.route = route
        self.template = template
        self.segments = tuple(_parse_segment(p) for p in template.split("/") if p)
        if not self.segments or self.segments[0].literal is None:
            raise ValueError(f"route {template!r} must start with a literal segment")
        self.captures = tuple(
            (i, s.name) for i, s in enumerate(self.segments) if s.name is not None
        )
        self.defaults = route.defaults

    def args(self, seg: list[str]) -> dict[str, str]:
        out = dict(self.defaults)
        for i, name in self.captures:
            out[name] = seg[i]
        return out


class _Node:
    """A trie node: literal children (choices are expanded into literals), then a child for any
    date version, then a child for any value, tried in that order."""

    __slots__ = ("any", "dated", "literals", "pattern")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.dated: _Node | None = None
        self.any: _Node | None = None
        self.pattern: _Pattern | None = None

    def children_for(self, s: _Segment) -> list[_Node]:
        out: list[_Node] = []
        keys = [s.literal] if s.literal is not None else sorted(s.choices)
        for key in keys:
            out.append(self.literals.setdefault(key, _Node()))
        if s.dated:
            self.dated = self.dated or _Node()
            out.append(self.dated)
        if s.literal is None and not s.choices and not s.dated:
            self.any = self.any or _Node()
            out.append(self.any)
        return out

    def find(self, seg: list[str], i: int) -> _Pattern | None:
        if i == len(seg):
            return self.pattern
        value = seg[i]
        child = self.literals.get(value)
        if child is not None:
            hit = child.find(seg, i + 1)
            if hit is not None:
                return hit
        if self.dated is not None and DATE_VERSION.match(value):
            hit = self.dated.find(seg, i + 1)
            if hit is not None:
                return hit
        return self.any.find(seg, i + 1) if self.any is not None else None


class Router:
    """Matches ``(method, path)`` against the concatenated route tables of every family: one trie
    per method, most specific segment first (literal, then date version, then any value)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._roots: dict[str, _Node] = {}
        for route in routes:
            templates = (route.path,) if isinstance(route.path, str) else route.path
            for template in templates:
                pattern = _Pattern(route, template)
                for method in route.method.split("|"):
                    nodes = [self._roots.setdefault(method, _Node())]
                    for s in pattern.segments:
                        nodes = [child for node in nodes for child in node.children_for(s)]
                    for node in nodes:
                        if node.pattern is not None:
                            raise ValueError(
                                f"{method} {template} is already routed by "
                                f"{node.pattern.template} ({node.pattern.route.endpoint})"
                            )
                        node.pattern = pattern

    def match(self, method: str, path: str) -> Match | None:
        root = self._roots.get(method)
        if root is None:
            return None
        seg = [s for s in path.split("/") if s]
        if not seg:
            return None
        pattern = root.find(seg, 0)
        return None if pattern is None else Match(pattern.route, pattern.args(seg))


@dataclass(slots=True)
class Ctx:
    """What a handler gets: the portal, the request, the captured path arguments, the request's
    correlation id, the faults decided for it and the authenticated token (``None`` on routes
    without auth)."""

    state: PortalState
    req: Request
    args: dict[str, str]
    correlation: str
    faults: Faults
    token: AccessToken | None = None

    def object_type(self, key: str = "type") -> tuple[ObjectType, ObjectStore]:
        """The object type named by the path argument ``key``, and its records."""
        t = self.state.resolve(self.args[key])
        return t, self.state.stores[t.name]


# --------------------------------------------------------------------------- error envelopes


def error(
    status: int, category: str, message: str, correlation: str = "", **extra: Any
) -> HttpError:
    """HubSpot's standard error body. An empty ``correlation`` is filled in with the request's."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
    }
    body.update(extra)
    return HttpError(status, body)


def validation_error(message: str) -> HttpError:
    return error(400, "VALIDATION_ERROR", message)


def bad_type(name: str) -> HttpError:
    """HubSpot's answer to an object type it cannot infer."""
    return error(
        400,
        "VALIDATION_ERROR",
        f"Unable to infer object type from: {name}",
        subCategory="ObjectTypeIdError.UNKNOWN_OBJECT_TYPE",
        context={"objectType": [name]},
    )


def not_found(rid: str) -> HttpError:
    return error(
        404,
        "OBJECT_NOT_FOUND",
        "Object not found.  objectId are usually numeric.",
        context={"id": [rid]},
    )


# --------------------------------------------------------------------------- shared lookups


def int_param(value: str | None, default: int, name: str) -> int:
    """An integer query parameter (``default`` when absent or empty); 400 when not a number."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise validation_error(f"Invalid {name}: {value!r}") from exc


def lookup(t: ObjectType, store: ObjectStore, raw_id: str, id_property: str | None) -> int | None:
    """The record id that ``raw_id`` names: an id, or the value of a unique ``id_property``. The
    id of a merged-away record names the record it was merged into, as at HubSpot."""
    if id_property and id_property != "hs_object_id":
        prop = t.prop(id_property)
        if prop is None or not prop.unique:
            raise validation_error(f"{id_property} is not a unique property of {t.name}")
        if id_property == "email":
            m = re.search(r"(\d+)@", raw_id)
            if m and store.exists(int(m.group(1))):
                rid = int(m.group(1))
                if (store.value(rid, "email") or "").lower() == raw_id.lower():
                    return rid
        for rid, ov in store.overrides.items():
            if (ov.get(id_property) or "").lower() == raw_id.lower():
                return rid
        return None
    try:
        rid = store.canonical(int(raw_id))
    except ValueError:
        return None
    return rid if store.exists(rid) else None
