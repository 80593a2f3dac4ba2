"""The emulated portal: records, credentials, limits, faults, clock and request counters.

Tests reach it as ``emu.state``; the admin prefix ``/_emulator`` exposes the same operations over
HTTP for out-of-process use.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from headwater.emulator.clock import Clock, ManualClock, OffsetClock
from headwater.emulator.hubspot.associations import AssociationGraph
from headwater.emulator.hubspot.auth import AuthRegistry
from headwater.emulator.hubspot.config import EmulatorConfig
from headwater.emulator.hubspot.crm_objects import extra_object_types
from headwater.emulator.hubspot.data import ObjectStore
from headwater.emulator.hubspot.faults import FaultPlan
from headwater.emulator.hubspot.limits import RateLimiter
from headwater.emulator.hubspot.lists import build_lists
from headwater.emulator.hubspot.marketing import MarketingData
from headwater.emulator.hubspot.portal_metadata import (
    MERGED_IDS,
    PIPELINES,
    TEAMS,
    ObjectType,
    Owner,
    Pipeline,
    build_object_types,
    build_owners,
)
from headwater.emulator.hubspot.values import mix, salt


class UnknownObjectTypeError(LookupError):
    """Raised for an object type name the portal does not know."""


class PortalState:
    """One portal. Thread-safe for the operations tests call while the server runs."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock: Clock = config.clock if config.clock is not None else OffsetClock()
        self.portal_id = config.portal_id
        self.lock = threading.RLock()
        types = [*build_object_types(config.portal_id), *extra_object_types()]
        self.types: dict[str, ObjectType] = {t.name: t for t in types}
        self._aliases: dict[str, str] = {}
        for t in types:
            for alias in (t.name, t.singular, t.type_id):
                self._aliases[alias.lower()] = t.name
            if t.fully_qualified_name:
                self._aliases[t.fully_qualified_name.lower()] = t.name
                self._aliases[f"p_{t.name}".lower()] = t.name
        counts = config.counts()
        self.owners = build_owners(config.owners)
        self.user_settings: dict[int, dict[str, Any]] = {}  # users created through the API
        owner_ids = tuple(str(o.id) for o in self.owners if not o.archived and o.type == "PERSON")
        self.stores: dict[str, ObjectStore] = {
            t.name: ObjectStore(t, config.seed, counts.get(t.name, 0), owner_ids) for t in types
        }
        self.graph = AssociationGraph(self.stores, self.types, config.seed)
        self.pipelines: list[Pipeline] = list(PIPELINES)
        self._stage_seq = 0
        self.lists = build_lists(config.seed)
        self._marketing: MarketingData | None = None
        self.auth = AuthRegistry(
            config.seed, config.portal_id, config.token_ttl, tuple(config.scopes)
        )
        self.limiter = RateLimiter(
            config.rate_limit,
            burst=config.burst_limit,
            search_per_second=config.search_per_second,
            daily=config.daily_limit,
            retry_after=config.retry_after,
            portal_id=config.portal_id,
        )
        if isinstance(config.faults, FaultPlan):
            self.faults = config.faults
        else:
            self.faults = FaultPlan.parse(config.faults or "", seed=config.seed)
        self.search_lag_ms = config.search_lag_ms
        self.request_counts: collections.Counter[str] = collections.Counter()
        self.status_counts: collections.Counter[int] = collections.Counter()
        self._pick_counter = 0

    # ------------------------------------------------------------------ lookups

    def resolve(self, name: str) -> ObjectType:
        """Object type by plural, singular, ``0-N``/``2-N`` id, fully-qualified or ``p_`` name."""
        key = self._aliases.get(name.lower())
        if key is None:
            raise UnknownObjectTypeError(name)
        return self.types[key]

    @property
    def marketing(self) -> MarketingData:
        """Forms, emails, events, campaigns, subscriptions and workflows, generated on first use
        (so that a portal nobody asks for marketing data starts as fast as before)."""
        with self.lock:
            if self._marketing is None:
                contacts = self.stores["contacts"]
                self._marketing = MarketingData(
                    seed=self.config.seed,
                    portal_id=self.portal_id,
                    contacts=contacts.size,
                    email_of=lambda rid: (
                        contacts.value(rid, "email") or f"contact{rid}@headwater-demo.test"
                    ),
                )
            return self._marketing

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # ------------------------------------------------------------------ test and admin operations

    def _pick(self, store: ObjectStore, n: int, *, archived: bool) -> list[int]:
        """``n`` distinct ids with the given archived state, spread over the id range."""
        candidates = np.flatnonzero(store.archived[: store.size] == archived) + 1
        if candidates.size == 0 or n <= 0:
            return []
        self._pick_counter += 1
        start = mix(salt(self.config.seed, "pick", self._pick_counter)) % candidates.size
        step = max(candidates.size // n, 1)
        idx = (start + np.arange(min(n, candidates.size)) * step) % candidates.size
        return sorted({int(candidates[i]) for i in idx})

    def _change(
        self,
        object_type: str,
        n: int | None,
        ids: list[int] | None,
        change: Callable[[ObjectStore, int, int], None],
    ) -> list[int]:
        """Apply ``change(store, id, now)`` to ``ids`` (or to ``n`` live records) -> the ids."""
        with self.lock:
            store = self.stores[self.resolve(object_type).name]
            chosen = ids if ids is not None else self._pick(store, n or 0, archived=False)
            now = self.now_ms()
            for rid in chosen:
                if store.exists(rid):
                    change(store, rid, now)
            return list(chosen)

    def touch(
        self, object_type: str, n: int | None = None, ids: list[int] | None = None
    ) -> list[int]:
        """Bump the last-modified time of ``ids`` (or of ``n`` live records) to now."""
        delay = self.search_lag_ms
        return self._change(object_type, n, ids, lambda s, rid, now: s.touch(rid, now, delay))

    def archive(
        self, object_type: str, n: int | None = None, ids: list[int] | None = None
    ) -> list[int]:
        """Archive ``ids`` (or ``n`` live records)."""
        delay = self.search_lag_ms
        return self._change(object_type, n, ids, lambda s, rid, now: s.archive(rid, now, delay))

    def create(self, object_type: str, properties: dict[str, str | None]) -> int:
        with self.lock:
            store = self.stores[self.resolve(object_type).name]
            return store.create(properties, self.now_ms(), self.search_lag_ms)

    def update(self, object_type: str, rid: int, properties: dict[str, str | None]) -> None:
        with self.lock:
            store = self.stores[self.resolve(object_type).name]
            store.update(rid, properties, self.now_ms(), self.search_lag_ms)

    def merge(self, object_type: str, primary: int, secondary: int) -> int:
        """Merge two live records as HubSpot now does (its changelog "Updated merge functionality
        for contacts and companies"): a new record with a new id replaces both. It takes the primary record's values (the secondary's where the
        primary has none), the older create date, the associations of both, and lists both ids
        and the ids they had absorbed in ``hs_merged_object_ids``. Both old ids leave lists and
        search, and reads of them answer with the new record. Returns the new id."""
        with self.lock:
            t = self.resolve(object_type)
            store = self.stores[t.name]
            now, delay = self.now_ms(), self.search_lag_ms
            props: dict[str, str | None] = {}
            for p in t.properties:
                if p.gen in ("id", "created", "updated") or p.name == MERGED_IDS:
                    continue
                value = store.value(primary, p.name)
                props[p.name] = value if value is not None else store.value(secondary, p.name)
            absorbed = {primary, secondary}
            for rid in (primary, secondary):
                absorbed.update(
                    int(x) for x in (store.value(rid, MERGED_IDS) or "").split(";") if x
                )
            props[MERGED_IDS] = ";".join(str(i) for i in sorted(absorbed))
            merged = store.create(props, now, delay)
            store.created[merged - 1] = min(
                store.created[primary - 1], store.created[secondary - 1]
            )
            self.graph.merge(t.name, primary, secondary, merged)
            for rid in (primary, secondary):
                store.vanish(rid, now, delay, merged_into=merged)
            return merged

    def gdpr_delete(self, object_type: str, rid: int) -> None:
        """Delete a record for good: it leaves lists and search without passing through the
        archived list, its associations go with it, and reads of its id answer 404."""
        with self.lock:
            store = self.stores[self.resolve(object_type).name]
            store.vanish(rid, self.now_ms(), self.search_lag_ms)

    def associate(
        self, source: str, a: int, target: str, b: int, type_ids: list[int] | None = None
    ) -> None:
        """Add association types between ``a`` and ``b`` (the default, unlabeled type when
        ``type_ids`` is None). Records' last-modified times do not move, as at HubSpot."""
        with self.lock:
            src, dst = self.resolve(source).name, self.resolve(target).name
            ids = type_ids if type_ids is not None else [self.graph.default_type(src, dst).type_id]
            current = [t.type_id for t in self.graph.types_between(src, dst, a, b)]
            self.graph.set_types(src, dst, a, b, [*current, *ids])

    def dissociate(
        self, source: str, a: int, target: str, b: int, type_ids: list[int] | None = None
    ) -> None:
        """Remove association types between ``a`` and ``b`` (all of them when ``type_ids`` is None).
        Removing labels leaves the unlabeled association in place; removing the unlabeled type
        removes the association."""
        with self.lock:
            src, dst = self.resolve(source).name, self.resolve(target).name
            removed = set(type_ids) if type_ids is not None else None
            keep: list[int] = []
            if removed is not None and self.graph.default_type(src, dst).type_id not in removed:
                current = self.graph.types_between(src, dst, a, b)
                keep = [t.type_id for t in current if t.type_id not in removed]
            self.graph.set_types(src, dst, a, b, keep)

    def add_user(
        self, email: str, first: str, last: str, team_id: str | None, settings: dict[str, Any]
    ) -> tuple[int, Owner]:
        """A new user of the portal, and the owner HubSpot makes of it (at the end of the owner
        list); ``settings`` keeps what the generated users derive (``roleId``,
        ``secondaryTeamIds``). The user's index among the users and its owner."""
        with self.lock:
            now = self.now_ms()
            team = next((t for t in TEAMS if t[0] == team_id), None)
            if team is None and team_id is not None:
                team = (team_id, "")
            owner = Owner(
                id=max(o.id for o in self.owners) + 13,
                user_id=max(o.user_id or 0 for o in self.owners) + 1,
                email=email,
                first_name=first,
                last_name=last,
                type="PERSON",
                archived=False,
                team=team,
                created_ms=now,
                updated_ms=now,
            )
            self.owners.append(owner)
            assert owner.user_id is not None
            self.user_settings[owner.user_id] = settings
            users = [o for o in self.owners if o.type == "PERSON" and not o.archived and o.user_id]
            return len(users) - 1, owner

    def add_pipeline_stage(
        self, object_type: str, pipeline_id: str, label: str, display_order: int, extra: str
    ) -> tuple[Pipeline, int] | None:
        """Add a stage to a pipeline at ``display_order`` (stages are numbered by position, so
        the later ones move down one); the pipeline and the new stage's index, or None when the
        pipeline does not exist. Stage ids are numbers, as HubSpot gives created stages."""
        with self.lock:
            k = next(
                (
                    k
                    for k, p in enumerate(self.pipelines)
                    if p.object_type == object_type and p.id == pipeline_id
                ),
                None,
            )
            if k is None:
                return None
            p = self.pipelines[k]
            self._stage_seq += 1
            sid = str(90_000_000 + self._stage_seq)
            at = min(max(display_order, 0), len(p.stages))
            stages = (*p.stages[:at], (sid, label, extra), *p.stages[at:])
            added = (*p.added, (sid, self.now_ms()))
            self.pipelines[k] = dataclasses.replace(p, stages=stages, added=added)
            return self.pipelines[k], at

    def set_time_ms(self, value: int) -> None:
        setter = getattr(self.clock, "set_ms", None)
        if setter is None:
            raise TypeError("this emulator's clock cannot be set")
        setter(value)

    def advance(self, seconds: float) -> int:
        if isinstance(self.clock, ManualClock | OffsetClock):
            return self.clock.advance(seconds)
        raise TypeError("this emulator's clock cannot be advanced")

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.request_counts.items())),
            "statuses": {str(k): v for k, v in sorted(self.status_counts.items())},
            "total": sum(self.request_counts.values()),
            "now": self.now_ms(),
            **self.record_counts(),
        }

    def record_counts(self) -> dict[str, dict[str, int]]:
        """Live and archived records per type (merged-away and GDPR-deleted ones are neither)."""
        counts = {name: s.counts() for name, s in self.stores.items()}
        return {
            "records": {name: live for name, (live, _) in counts.items()},
            "archived": {name: archived for name, (_, archived) in counts.items()},
        }

    def reset_counters(self) -> None:
        self.request_counts.clear()
        self.status_counts.clear()
