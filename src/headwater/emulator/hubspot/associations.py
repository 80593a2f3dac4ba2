"""Associations between object types: generated ones, invertible so both directions are cheap, and
the ones written through the API on top.

Source record ``a`` of a relation links to ``m(a)`` target ids ``((a - 1) + k * off) % N + 1``
(``k < m(a)``), where ``m(a)`` and presence come from the record hash. The reverse direction solves
the same congruence for every ``k`` with numpy, so a company's contacts are found without scanning.

A write sets the complete set of types between two records, in both directions at once (an empty
set removes the association). As at HubSpot, it changes no record's last-modified time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from headwater.emulator.hubspot import hierarchy
from headwater.emulator.hubspot.crm_objects import EXTRA_RELATIONS
from headwater.emulator.hubspot.data import ObjectStore
from headwater.emulator.hubspot.portal_metadata import RELATIONS, ObjectType, Relation
from headwater.emulator.hubspot.values import mix, mix_array, salt


@dataclass(frozen=True, slots=True)
class AssocType:
    """One association label between two types, as v4 reports it."""

    type_id: int
    category: str
    label: str | None
    v3_name: str  # ``contact_to_company`` / ``contact_to_company_unlabeled``


@dataclass(frozen=True, slots=True)
class Link:
    to_id: int
    types: tuple[AssocType, ...]


class AssociationGraph:
    """Answers "which records of type B are associated with record a of type A"."""

    def __init__(
        self, stores: dict[str, ObjectStore], types: dict[str, ObjectType], seed: int
    ) -> None:
        self._stores = stores
        self._types = types
        self._seed = seed
        self._rel: dict[tuple[str, str], tuple[Relation, bool]] = {}
        # both are pure functions of their arguments, and the hot path of every batch read
        self._salts: dict[Relation, int] = {}
        self._label_cache: dict[tuple[Relation, bool, bool, bool], tuple[AssocType, ...]] = {}
        for r in (*RELATIONS, *EXTRA_RELATIONS):
            if r.source in stores and r.target in stores:
                self._rel[(r.source, r.target)] = (r, True)
                self._rel[(r.target, r.source)] = (r, False)
        if "companies" in stores:  # parent/child companies (``hierarchy``)
            self._rel[hierarchy.PAIR] = (hierarchy.HIERARCHY, True)
        # written through the API: (source, target) -> source id -> target id -> types now
        self._written: dict[tuple[str, str], dict[int, dict[int, tuple[AssocType, ...]]]] = {}

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._rel)

    def has(self, source: str, target: str) -> bool:
        return (source, target) in self._rel

    def _params(self, r: Relation) -> tuple[int, int, int, int]:
        na = self._stores[r.source].generated
        nb = self._stores[r.target].generated
        off = max(nb // r.max_per_record, 1)
        rsalt = self._salts.get(r)
        if rsalt is None:
            rsalt = self._salts[r] = salt(self._seed, "assoc", r.source, r.target)
        return na, nb, off, rsalt

    def _fanout(self, r: Relation, a: int, rsalt: int) -> int:
        h = mix(a ^ rsalt)
        if (h >> 8) % 100 >= r.present_pct:
            return 0
        return 1 + int(h % r.max_per_record)

    def _labels(
        self, r: Relation, forward: bool, primary: bool, custom: bool = False
    ) -> tuple[AssocType, ...]:
        key = (r, forward, primary, custom)
        hit = self._label_cache.get(key)
        if hit is None:
            hit = self._label_cache[key] = self._make_labels(r, forward, primary, custom)
        return hit

    def _custom(self, r: Relation, a: int, b: int, rsalt: int) -> bool:
        """Whether the generated association of source ``a`` and target ``b`` has the custom label."""
        return r.custom_label is not None and mix(a * 1_000_003 + b ^ rsalt) % 4 == 0

    def _make_labels(
        self, r: Relation, forward: bool, primary: bool, custom: bool = False
    ) -> tuple[AssocType, ...]:
        src, dst = (r.source, r.target) if forward else (r.target, r.source)
        name = f"{self._types[src].singular}_to_{self._types[dst].singular}"
        unlabeled_id = r.forward_type_id if forward else r.reverse_type_id
        primary_id = r.forward_primary_id if forward else r.reverse_primary_id
        out: list[AssocType] = []
        if primary_id is not None and primary:
            out.append(AssocType(primary_id, r.category, "Primary", name))
        if r.custom_label is not None and custom:
            forward_id, reverse_id, label = r.custom_label
            out.append(
                AssocType(forward_id if forward else reverse_id, "USER_DEFINED", label, name)
            )
        suffix = "_unlabeled" if primary_id is not None else ""
        out.append(AssocType(unlabeled_id, r.category, None, name + suffix))
        return tuple(out)

    def labels(self, source: str, target: str) -> list[AssocType]:
        """Every label defined between two types (for the labels endpoint and schemas)."""
        if (source, target) == hierarchy.PAIR and hierarchy.PAIR in self._rel:
            category = hierarchy.HIERARCHY.category
            return [
                AssocType(type_id, category, label, name)
                for type_id, label, name in (hierarchy.PARENT, hierarchy.CHILD, hierarchy.UNLABELED)
            ]
        entry = self._rel.get((source, target))
        if entry is None:
            return []
        r, forward = entry
        return list(self._labels(r, forward, primary=True, custom=True))

    def links(self, source: str, target: str, rid: int) -> list[Link]:
        """Associations of record ``rid`` of ``source`` to ``target`` records, ascending by id."""
        generated = self._generated(source, target, rid)
        written = self._written.get((source, target))
        mine = written.get(rid) if written is not None else None
        if not mine:
            return generated
        targets = self._stores[target]
        by_id = {link.to_id: link for link in generated}
        for to_id, types in list(mine.items()):  # a test thread may be writing
            if types and not targets.archived[to_id - 1]:
                by_id[to_id] = Link(to_id, types)
            else:
                by_id.pop(to_id, None)
        return [by_id[k] for k in sorted(by_id)]

    def _hierarchy(self, rid: int) -> list[Link]:
        store = self._stores["companies"]
        to_parent, to_child, unlabeled = self.labels(*hierarchy.PAIR)
        links: dict[int, tuple[AssocType, ...]] = {}
        up = hierarchy.parent(rid) if rid <= store.generated else None
        if up is not None:
            links[up] = (to_parent, unlabeled)
        for child in hierarchy.children(rid, store.generated):
            links[child] = (to_child, unlabeled)
        return [Link(i, t) for i, t in sorted(links.items()) if not store.archived[i - 1]]

    def _generated(self, source: str, target: str, rid: int) -> list[Link]:
        if (source, target) == hierarchy.PAIR:
            return self._hierarchy(rid) if hierarchy.PAIR in self._rel else []
        entry = self._rel.get((source, target))
        if entry is None:
            return []
        r, forward = entry
        na, nb, off, rsalt = self._params(r)
        if forward:
            if rid > na or nb == 0:
                return []
            m = self._fanout(r, rid, rsalt)
            ids: dict[int, bool] = {}
            for k in range(m):
                ids.setdefault(((rid - 1) + k * off) % nb + 1, k == 0)
            targets = self._stores[r.target]
            return [
                Link(t, self._labels(r, True, primary, self._custom(r, rid, t, rsalt)))
                for t, primary in sorted(ids.items())
                if not targets.archived[t - 1]
            ]
        # reverse: which sources point at rid?
        if rid > nb or na == 0:
            return []
        found: dict[int, bool] = {}
        for k in range(r.max_per_record):
            c = ((rid - 1) - k * off) % nb
            cand = np.arange(c + 1, na + 1, nb, dtype=np.uint64)
            if cand.size == 0:
                continue
            h = mix_array(cand ^ np.uint64(rsalt))
            present = (h >> np.uint64(8)) % np.uint64(100) < np.uint64(r.present_pct)
            fan = h % np.uint64(r.max_per_record) + np.uint64(1)
            hit = cand[present & (fan > np.uint64(k))]
            for a in hit.tolist():
                found.setdefault(int(a), k == 0)
        sources = self._stores[r.source]
        return [
            Link(a, self._labels(r, False, primary, self._custom(r, a, rid, rsalt)))
            for a, primary in sorted(found.items())
            if not sources.archived[a - 1]
        ]

    # ------------------------------------------------------------------ writes

    def default_type(self, source: str, target: str) -> AssocType:
        """The most generic (unlabeled) type from ``source`` to ``target``; KeyError if none."""
        labels = self.labels(source, target)
        if not labels:
            raise KeyError((source, target))
        return labels[-1]

    def types_between(self, source: str, target: str, a: int, b: int) -> tuple[AssocType, ...]:
        for link in self.links(source, target, a):
            if link.to_id == b:
                return link.types
        return ()

    def set_types(self, source: str, target: str, a: int, b: int, type_ids: Iterable[int]) -> None:
        """Make ``a`` (of ``source``) and ``b`` (of ``target``) associated by exactly these types,
        in both directions; no types removes the association. A label always comes with the
        unlabeled type, and a record keeps one primary (e.g. one primary company per contact).
        ``KeyError`` when the two types cannot be associated or a type id is not theirs."""
        r, forward = self._rel[(source, target)]
        labels = self.labels(source, target)
        known = {t.type_id for t in labels}
        wanted = set(type_ids)
        if wanted - known:
            raise KeyError(sorted(wanted - known))
        if wanted:
            wanted.add(labels[-1].type_id)
        types = tuple(t for t in labels if t.type_id in wanted)
        self._write(source, target, a, b, types)
        if any(t.label == "Primary" for t in types):
            holder, other = (a, b) if forward else (b, a)
            for link in self.links(r.source, r.target, holder):
                if link.to_id != other and any(t.label == "Primary" for t in link.types):
                    rest = tuple(t for t in link.types if t.label != "Primary")
                    self._write(r.source, r.target, holder, link.to_id, rest)

    def _write(
        self, source: str, target: str, a: int, b: int, types: tuple[AssocType, ...]
    ) -> None:
        if (source, target) == hierarchy.PAIR:
            by_id = {t.type_id: t for t in self.labels(source, target)}
            reverse = tuple(by_id[hierarchy.mirror(t.type_id)] for t in types)
        else:
            # a label the other side has no type for (a lead's primary contact) is one-sided
            by_label = {t.label: t for t in self.labels(target, source)}
            reverse = tuple(by_label[t.label] for t in types if t.label in by_label)
        self._written.setdefault((source, target), {}).setdefault(a, {})[b] = types
        self._written.setdefault((target, source), {}).setdefault(b, {})[a] = reverse

    def merge(self, object_type: str, primary: int, secondary: int, merged: int) -> None:
        """Give the record ``merged`` the associations of both records it replaces. Those of the
        primary record come first: where it has a primary label (say, a contact's primary
        company), the secondary record's primary labels of that kind are dropped."""
        for source, target in list(self._rel):
            if source != object_type:
                continue
            _, forward = self._rel[(source, target)]
            wanted: dict[int, set[int]] = {}
            has_primary = False
            for rid in (primary, secondary):
                links = self.links(source, target, rid)
                for link in links:
                    keep = [
                        t.type_id
                        for t in link.types
                        if not (forward and has_primary and t.label == "Primary")
                    ]
                    wanted.setdefault(link.to_id, set()).update(keep)
                has_primary = any(t.label == "Primary" for link in links for t in link.types)
            for to_id, ids in wanted.items():
                self.set_types(source, target, merged, to_id, ids)
