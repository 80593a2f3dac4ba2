"""Deterministic, lazily generated CRM records.

A record's generated values are a pure function of ``(seed, object type, id)`` (see
:mod:`headwater.emulator.hubspot.values`): nothing is stored for untouched records except two
timestamp arrays (``createdAt``/``updatedAt``, 8 bytes each per record) and an archived flag, so a
million-record portal starts in well under a second. Writes, touches and archives are kept as
overrides. A second, lagging copy of the mutable parts serves search, so search freshness
(HubSpot's asynchronous indexing) can be emulated.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.values import (
    DATA_SPAN_MS,
    DATA_START_MS,
    I64,
    U64,
    BoolArray,
    Gen,
    PoolIndex,
    generator_for,
    iso_ms,
    iso_ms_array,
    mix,
    mix_array,
    pool_for,
    salt,
)

MAX_UPDATE_LAG_MS = (
    45 * 86_400_000
)  # generated records are last modified up to 45 days after creation
ARCHIVED_PER_MILLE = 8  # share of generated records that start archived

# --------------------------------------------------------------------------- the store


@dataclass(slots=True)
class PropPlan:
    """How to produce one property of a record: its JSON key prefix and its source."""

    name: str
    prefix: str  # '"name":'
    source: int  # 0 generated, 1 id, 2 created, 3 updated
    gen: Gen | None
    salt: int
    null_pct: int
    pool: list[str] | None = None  # pre-encoded fragments, the last one is ``"name":null``
    pool_index: PoolIndex | None = None
    pool_values: list[str | None] | None = None  # the raw values behind ``pool``


SOURCE_GEN, SOURCE_ID, SOURCE_CREATED, SOURCE_UPDATED = 0, 1, 2, 3


def starts_archived(h: U64) -> BoolArray:
    """Which generated records (by record hash) start archived: about 0.8 % of them."""
    flags: BoolArray = (h >> np.uint64(40)) % np.uint64(1000) < np.uint64(ARCHIVED_PER_MILLE)
    return flags


def generated_hashes(record_salt: int, live: int) -> U64:
    """The record hashes of ids ``1..n``, where ``n`` is just enough for ``live`` of them to start
    live: the archived seed records come on top of the live ones.

    Hashed 64k ids at a time into one array, stopping at the cut, so that the only allocation the
    size of the portal is the array of hashes the store needs anyway (a million-record portal
    would otherwise leave its temporaries with the allocator)."""
    h = np.empty(live + live // 64 + 64 if live > 0 else 0, dtype=np.uint64)
    seen, start, chunk = 0, 0, 1 << 16
    while seen < live:
        if start == h.size:  # more archived than planned for: grow
            grown = np.empty(h.size * 2, dtype=np.uint64)
            grown[: h.size] = h
            h = grown
        stop = min(start + chunk, h.size)
        part = mix_array(np.arange(start + 1, stop + 1, dtype=np.uint64) ^ np.uint64(record_salt))
        h[start:stop] = part
        alive = ~starts_archived(part)
        n = int(np.count_nonzero(alive))
        if seen + n >= live:
            out: U64 = h[: start + int(np.flatnonzero(alive)[live - seen - 1]) + 1]
            return out
        seen, start = seen + n, stop
    return h[:0]


class ObjectStore:
    """All records of one object type: generated ones, plus overrides from writes."""

    def __init__(
        self, otype: ObjectType, seed: int, live: int, owner_ids: tuple[str, ...] = ()
    ) -> None:
        self.type = otype
        self.seed = seed
        self.record_salt = salt(seed, otype.type_id)
        h = generated_hashes(self.record_salt, live)
        count = int(h.size)  # ids 1..count: ``live`` live ones, the rest archived
        self.generated = count
        self._plans: dict[str, PropPlan] = {}
        for p in otype.properties:
            source = {"id": SOURCE_ID, "created": SOURCE_CREATED, "updated": SOURCE_UPDATED}.get(
                p.gen, SOURCE_GEN
            )
            gen = generator_for(p, owner_ids) if source == SOURCE_GEN else None
            prefix = json.dumps(p.name) + ":"
            plan = PropPlan(p.name, prefix, source, gen, salt(p.name), p.null_pct)
            pooled = pool_for(p, owner_ids) if source == SOURCE_GEN else None
            if pooled is not None:
                values, index = pooled
                plan.pool = [f'{prefix}"{v}"' for v in values] + [prefix + "null"]
                plan.pool_index = index
                plan.pool_values = [*values, None]
            self._plans[p.name] = plan
        self._plan_cache: dict[tuple[str, ...], list[PropPlan]] = {}
        ids = np.arange(1, count + 1, dtype=np.uint64)
        step = max(DATA_SPAN_MS // max(count, 1), 1)
        base = DATA_START_MS + (ids.astype(np.int64) - 1) * step
        created = base + (h % np.uint64(step)).astype(np.int64)
        lag = ((h >> np.uint64(20)) % np.uint64(MAX_UPDATE_LAG_MS)).astype(np.int64)
        # a third of the records were never modified after creation
        lag[(h >> np.uint64(50)) % np.uint64(3) == 0] = 0
        updated = created + lag
        archived = starts_archived(h)
        archived_at = np.where(archived, updated + 86_400_000, 0).astype(np.int64)
        capacity = count + 64
        self.created: I64 = np.zeros(capacity, dtype=np.int64)
        self.updated: I64 = np.zeros(capacity, dtype=np.int64)
        self.archived: BoolArray = np.zeros(capacity, dtype=np.bool_)
        self.archived_at: I64 = np.zeros(capacity, dtype=np.int64)
        # merged-away and GDPR-deleted records: archived, but in neither list, nor found by id
        self.gone: BoolArray = np.zeros(capacity, dtype=np.bool_)
        self.merged_into: dict[int, int] = {}
        self.created[:count] = created
        self.updated[:count] = updated
        # the generated modification times, which date the generated history: a write moves
        # ``updated`` but never re-dates the versions before it
        self.generated_updated: I64 = updated
        self.archived[:count] = archived
        self.archived_at[:count] = archived_at
        self.size = count  # ids 1..size exist
        self.overrides: dict[int, dict[str, str | None]] = {}
        self.history: dict[tuple[int, str], list[tuple[str | None, int, str]]] = {}
        # search view (lags writes by the indexing delay)
        self.s_updated: I64 = self.updated.copy()
        self.s_archived: BoolArray = self.archived.copy()
        self.s_size = count
        self.s_overrides: dict[int, dict[str, str | None]] = {}
        self.pending: collections.deque[
            tuple[int, int, int, bool, dict[str, str | None] | None]
        ] = collections.deque()

    # ------------------------------------------------------------------ generation

    def record_hash(self, rid: int) -> int:
        return mix(rid ^ self.record_salt)

    def generated_value(self, rid: int, name: str) -> str | None:
        plan = self._plans.get(name)
        if plan is None or rid > self.generated:
            return None
        return self._value(plan, rid, self.record_hash(rid))

    def _value(self, plan: PropPlan, rid: int, h0: int) -> str | None:
        if plan.source == SOURCE_ID:
            return str(rid)
        if plan.source == SOURCE_CREATED:
            return iso_ms(int(self.created[rid - 1]))
        if plan.source == SOURCE_UPDATED:
            return iso_ms(int(self.updated[rid - 1]))
        if rid > self.generated:
            return None
        h = mix(h0 ^ plan.salt)
        if plan.null_pct and (h >> 56) % 100 < plan.null_pct:
            return None
        assert plan.gen is not None
        return plan.gen(h0, h >> 1, rid)

    def value(self, rid: int, name: str, *, search_view: bool = False) -> str | None:
        """Current value of one property (override first), as HubSpot serves it."""
        plan = self._plans.get(name)
        if plan is None:
            return None
        if plan.source == SOURCE_UPDATED and search_view:
            return iso_ms(int(self.s_updated[rid - 1]))
        ov = (self.s_overrides if search_view else self.overrides).get(rid)
        if ov is not None and name in ov:
            return ov[name]
        return self._value(plan, rid, self.record_hash(rid))

    def known(self, name: str) -> bool:
        return name in self._plans

    def plans(self, names: Iterable[str]) -> list[PropPlan]:
        """Plans for the requested properties (unknown names dropped, system ones added, sorted)."""
        key = tuple(names)
        cached = self._plan_cache.get(key)
        if cached is not None:
            return cached
        wanted = {n for n in key if n in self._plans}
        wanted.update(("hs_object_id", self.type.created_prop, self.type.updated_prop))
        plans = [self._plans[n] for n in sorted(wanted)]
        if len(self._plan_cache) < 512:
            self._plan_cache[key] = plans
        return plans

    def properties_json(self, rid: int, plans: list[PropPlan]) -> str:
        """The ``properties`` object of one record as a JSON string."""
        return self.page_properties_json([rid], plans)[0]

    def page_times(self, ids: list[int]) -> tuple[list[str], list[str]]:
        """ISO ``createdAt``/``updatedAt`` strings for a page of ids."""
        idx = np.array(ids, dtype=np.int64) - 1
        return iso_ms_array(self.created[idx]), iso_ms_array(self.updated[idx])

    def page_properties_json(
        self,
        ids: list[int],
        plans: list[PropPlan],
        times: tuple[list[str], list[str]] | None = None,
    ) -> list[str]:
        """``properties`` objects of a page of records as JSON strings (the list hot path).

        Hashes for the whole page are computed with numpy, one array per property; values are
        written as pre-encoded fragments (generated values never need JSON escaping).
        """
        n = len(ids)
        if n == 0:
            return []
        ids_u = np.array(ids, dtype=np.uint64)
        h0_arr = mix_array(ids_u ^ np.uint64(self.record_salt))
        h0s: list[int] = h0_arr.tolist()
        created_iso, updated_iso = times if times is not None else self.page_times(ids)
        columns: list[list[str]] = []
        generated_limit = self.generated
        for plan in plans:
            src = plan.source
            prefix = plan.prefix
            if src == SOURCE_ID:
                columns.append([f'{prefix}"{rid}"' for rid in ids])
            elif src == SOURCE_CREATED:
                columns.append([f'{prefix}"{v}"' for v in created_iso])
            elif src == SOURCE_UPDATED:
                columns.append([f'{prefix}"{v}"' for v in updated_iso])
            elif plan.pool is not None and plan.pool_index is not None:
                hp = mix_array(h0_arr ^ np.uint64(plan.salt))
                idx = plan.pool_index(h0_arr, hp >> np.uint64(1))
                null_idx = np.uint64(len(plan.pool) - 1)
                if plan.null_pct:
                    null_mask = (hp >> np.uint64(56)) % np.uint64(100) < np.uint64(plan.null_pct)
                    idx = np.where(null_mask, null_idx, idx)
                if ids[-1] > generated_limit:
                    idx = np.where(ids_u > np.uint64(generated_limit), null_idx, idx)
                pool = plan.pool
                columns.append([pool[i] for i in idx.tolist()])
            else:
                hp = mix_array(h0_arr ^ np.uint64(plan.salt))
                hs: list[int] = (hp >> np.uint64(1)).tolist()
                if plan.null_pct:
                    nulls: list[bool] = (
                        (hp >> np.uint64(56)) % np.uint64(100) < np.uint64(plan.null_pct)
                    ).tolist()
                else:
                    nulls = [False] * n
                gen = plan.gen
                assert gen is not None
                null_frag = prefix + "null"
                columns.append(
                    [
                        null_frag
                        if nulls[i] or ids[i] > generated_limit
                        else f'{prefix}"{gen(h0s[i], hs[i], ids[i])}"'
                        for i in range(n)
                    ]
                )
        out: list[str] = []
        overrides = self.overrides
        for i, (rid, row) in enumerate(zip(ids, zip(*columns, strict=True), strict=True)):
            ov = overrides.get(rid)
            if ov is None:
                out.append("{" + ",".join(row) + "}")
                continue
            parts = []
            for plan, col in zip(plans, columns, strict=True):
                if plan.name in ov:
                    v = ov[plan.name]
                    parts.append(plan.prefix + ("null" if v is None else json.dumps(v)))
                else:
                    parts.append(col[i])
            out.append("{" + ",".join(parts) + "}")
        return out

    def pool_indexes(self, plan: PropPlan, ids: U64) -> U64:
        """Pool index of ``plan``'s value for each id (the last index means ``null``)."""
        assert plan.pool is not None
        assert plan.pool_index is not None
        h0 = mix_array(ids ^ np.uint64(self.record_salt))
        hp = mix_array(h0 ^ np.uint64(plan.salt))
        idx = plan.pool_index(h0, hp >> np.uint64(1))
        null_idx = np.uint64(len(plan.pool) - 1)
        if plan.null_pct:
            idx = np.where(
                (hp >> np.uint64(56)) % np.uint64(100) < np.uint64(plan.null_pct), null_idx, idx
            )
        return np.where(ids > np.uint64(self.generated), null_idx, idx)

    def pool_truth(
        self, name: str, pred: Callable[[str | None], bool], ids: I64
    ) -> BoolArray | None:
        """``pred`` of each id's search-view value, vectorised; ``None`` if not a pool property."""
        plan = self._plans.get(name)
        if plan is None or plan.pool_values is None or plan.source != SOURCE_GEN:
            return None
        truth = np.array([pred(v) for v in plan.pool_values], dtype=np.bool_)
        out: BoolArray = truth[self.pool_indexes(plan, ids.astype(np.uint64))]
        for rid, ov in self.s_overrides.items():
            if name in ov:
                pos = int(np.searchsorted(ids, rid))
                if pos < ids.size and ids[pos] == rid:
                    out[pos] = pred(ov[name])
        return out

    def properties_dict(
        self, rid: int, plans: list[PropPlan], *, search_view: bool = False
    ) -> dict[str, str | None]:
        return {p.name: self.value(rid, p.name, search_view=search_view) for p in plans}

    def history_for(self, rid: int, name: str) -> list[dict[str, object]]:
        """Property history, newest first: writes through the API, then generated changes."""
        out: list[dict[str, object]] = []
        for value, ts, source in reversed(self.history.get((rid, name), [])):
            out.append(_history_item(value, ts, source))
        plan = self._plans.get(name)
        if plan is None or rid > self.generated:
            return out
        current = self._value(plan, rid, self.record_hash(rid))
        created = int(self.created[rid - 1])
        updated = int(self.generated_updated[rid - 1])
        h = mix(self.record_hash(rid) ^ plan.salt ^ 0x5555)
        prop = self.type.prop(name)
        versions = 1
        if prop is not None and prop.history:
            versions = 1 + h % 3
        span = max(updated - created, 1)
        # distinct instants strictly after creation (a never-modified record has one version)
        stamps = sorted(
            {created + 1 + (mix(h + k) % span) for k in range(1, versions) if span > 1},
            reverse=True,
        )
        out.append(
            _history_item(
                current, stamps[0] if stamps else created, "CRM_UI" if versions > 1 else "API"
            )
        )
        for k, ts in enumerate(stamps):
            older = self._value(plan, rid, mix(self.record_hash(rid) + k + 1))
            ts_out = ts if k + 1 < len(stamps) else created
            out.append(_history_item(older, ts_out, "IMPORT"))
        return out

    # ------------------------------------------------------------------ existence

    def exists(self, rid: int) -> bool:
        return 1 <= rid <= self.size and not self.gone[rid - 1]

    def canonical(self, rid: int) -> int:
        """The id a merged-away record now answers as (itself when it was never merged)."""
        while rid in self.merged_into:
            rid = self.merged_into[rid]
        return rid

    def counts(self) -> tuple[int, int]:
        """``(live, archived)`` records; merged-away and deleted ones are neither."""
        archived = self.archived[: self.size]
        gone = int(self.gone[: self.size].sum())
        n_archived = int(archived.sum()) - gone
        return self.size - n_archived - gone, n_archived

    def is_archived(self, rid: int) -> bool:
        return bool(self.archived[rid - 1])

    def _ensure_capacity(self, n: int) -> None:
        if n <= len(self.created):
            return
        new = max(n, len(self.created) * 2)
        for attr in (
            "created",
            "updated",
            "archived",
            "archived_at",
            "gone",
            "s_updated",
            "s_archived",
        ):
            arr = getattr(self, attr)
            grown = np.zeros(new, dtype=arr.dtype)
            grown[: len(arr)] = arr
            setattr(self, attr, grown)

    # ------------------------------------------------------------------ writes

    def create(self, props: dict[str, str | None], now_ms: int, delay_ms: int) -> int:
        self._ensure_capacity(self.size + 1)
        self.size += 1
        rid = self.size
        self.created[rid - 1] = now_ms
        self.updated[rid - 1] = now_ms
        self.overrides[rid] = dict(props)
        for k, v in props.items():
            self.history.setdefault((rid, k), []).append((v, now_ms, "API"))
        self._index(rid, now_ms, delay_ms)
        return rid

    def update(self, rid: int, props: dict[str, str | None], now_ms: int, delay_ms: int) -> None:
        ov = self.overrides.setdefault(rid, {})
        ov.update(props)
        for k, v in props.items():
            self.history.setdefault((rid, k), []).append((v, now_ms, "API"))
        self.updated[rid - 1] = max(now_ms, int(self.created[rid - 1]))
        self._index(rid, now_ms, delay_ms)

    def touch(self, rid: int, now_ms: int, delay_ms: int) -> None:
        self.updated[rid - 1] = max(now_ms, int(self.created[rid - 1]))
        self._index(rid, now_ms, delay_ms)

    def archive(self, rid: int, now_ms: int, delay_ms: int) -> None:
        self.archived[rid - 1] = True
        self.archived_at[rid - 1] = now_ms
        self._index(rid, now_ms, delay_ms)

    def vanish(self, rid: int, now_ms: int, delay_ms: int, merged_into: int | None = None) -> None:
        """Remove a record without passing through the archived list (a merge or a GDPR delete).
        With ``merged_into``, reads of ``rid`` answer with that record from now on."""
        self.gone[rid - 1] = True
        self.archived[rid - 1] = True
        if merged_into is not None:
            self.merged_into[rid] = merged_into
        self._index(rid, now_ms, delay_ms)

    def _index(self, rid: int, now_ms: int, delay_ms: int) -> None:
        ov = self.overrides.get(rid)
        event = (
            now_ms + delay_ms,
            rid,
            int(self.updated[rid - 1]),
            bool(self.archived[rid - 1]),
            dict(ov) if ov is not None else None,
        )
        if delay_ms <= 0:
            self._apply(event)
        else:
            self.pending.append(event)

    def _apply(self, event: tuple[int, int, int, bool, dict[str, str | None] | None]) -> None:
        _, rid, updated, archived, ov = event
        self.s_updated[rid - 1] = updated
        self.s_archived[rid - 1] = archived
        if ov is not None:
            self.s_overrides[rid] = ov
        self.s_size = max(self.s_size, rid)

    def refresh_search(self, now_ms: int) -> None:
        """Make writes whose indexing delay has passed visible to search."""
        while self.pending and self.pending[0][0] <= now_ms:
            self._apply(self.pending.popleft())

    # ------------------------------------------------------------------ paging

    def id_at_offset(self, offset: int, *, archived: bool) -> int:
        """The id of the ``offset``-th record (0-based) with the given archived state, or one past
        the last id when there are fewer."""
        flags = self.archived[: self.size]
        hits = np.flatnonzero(flags & ~self.gone[: self.size] if archived else ~flags)
        return int(hits[offset]) + 1 if 0 <= offset < hits.size else self.size + 1

    def next_ids(self, after: int, limit: int, *, archived: bool) -> list[int]:
        """Up to ``limit`` ids greater than or equal to ``after`` with the given archived state."""
        start = max(after, 1)
        out: list[int] = []
        flags = self.archived
        width = max(limit * 2, 256)
        while start <= self.size and len(out) < limit:
            stop = min(self.size, start + width - 1)
            width *= 2
            window = flags[start - 1 : stop]
            if archived:
                hits = np.flatnonzero(window & ~self.gone[start - 1 : stop])
            else:
                hits = np.flatnonzero(~window)
            out.extend(int(i) + start for i in hits[: limit - len(out)])
            start = stop + 1
        return out


def _history_item(value: str | None, ts: int, source: str) -> dict[str, object]:
    return {
        "value": "" if value is None else value,
        "timestamp": iso_ms(ts),
        "sourceType": source,
        "sourceId": None,
        "sourceLabel": None,
        "updatedByUserId": None,
    }
