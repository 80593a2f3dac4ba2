"""Contact lists (``/crm/v3/lists``): a fixed set of lists whose memberships follow id strides, so
sizes and membership pages are computed, never stored, plus what the API writes on top of them
(lists created, records added to or removed from a ``MANUAL`` or ``SNAPSHOT`` list)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from headwater.emulator.hubspot.data import ObjectStore
from headwater.emulator.hubspot.portal_metadata import METADATA_CREATED_MS
from headwater.emulator.hubspot.values import iso_ms, mix, salt

PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
LIST_NAMES = (
    "Newsletter subscribers",
    "Webinar attendees",
    "Trial sign-ups",
    "Customers EMEA",
    "Customers AMER",
    "Churn risk",
    "Event leads",
    "Partners",
    "Product updates",
    "Beta testers",
    "VIP accounts",
    "Re-engagement",
    "Open opportunities",
    "Support escalations",
    "Holiday campaign",
)
#: (property, value) of the filter of each generated DYNAMIC or SNAPSHOT list
_FILTER_VALUES = (
    ("lifecyclestage", "customer"),
    ("lifecyclestage", "lead"),
    ("hs_lead_status", "OPEN"),
    ("hw_favorite_color", "blue"),
    ("hw_tier", "gold"),
)


@dataclass(slots=True)
class ContactList:
    """One list. Generated members are the ids ``rid % stride == remainder`` (none when
    ``stride`` is 0); ``added`` (id → join time) and ``removed`` are the API's writes."""

    list_id: int
    name: str
    processing_type: str
    stride: int
    remainder: int
    created_ms: int
    updated_ms: int
    added: dict[int, int] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)

    def _generated(self, rid: int) -> bool:
        return self.stride > 0 and rid % self.stride == self.remainder

    def contains(self, rid: int) -> bool:
        if rid in self.added:
            return True
        return self._generated(rid) and rid not in self.removed

    def joined_ms(self, rid: int) -> int:
        """When ``rid`` joined the list (generated members: between creation and last update)."""
        if rid in self.added:
            return self.added[rid]
        span = max(1, self.updated_ms - self.created_ms)
        return self.created_ms + mix(salt(self.list_id, rid)) % span

    def size(self, store: ObjectStore) -> int:
        n = store.size
        generated = 0
        if self.stride > 0:
            first = self.remainder if self.remainder > 0 else self.stride
            generated = 0 if first > n else (n - first) // self.stride + 1
        gone = sum(1 for rid in self.removed if rid <= n and self._generated(rid))
        extra = sum(1 for rid in self.added if not self._generated(rid) or rid in self.removed)
        return generated - gone + extra

    def members_from(self, after: int, limit: int, store: ObjectStore) -> list[int]:
        """Member ids greater than ``after``, ascending, skipping archived records."""
        extra = sorted(r for r in self.added if after < r <= store.size)
        out: list[int] = []
        last = after
        for rid in heapq.merge(self._stride_from(after, store.size), extra):
            if rid == last or not self.contains(rid) or store.archived[rid - 1]:
                continue
            last = rid
            out.append(rid)
            if len(out) >= limit:
                break
        return out

    def _stride_from(self, after: int, n: int) -> Iterator[int]:
        if self.stride <= 0:
            return
        rid = after + 1
        rid += (self.remainder - rid) % self.stride
        while rid <= n:
            yield rid
            rid += self.stride

    def add(self, rid: int, now_ms: int) -> bool:
        """Add ``rid``; false when it already is a member."""
        if self.contains(rid):
            return False
        self.added[rid] = now_ms
        return True

    def remove(self, rid: int) -> bool:
        """Remove ``rid``; false when it is not a member."""
        if not self.contains(rid):
            return False
        self.added.pop(rid, None)
        if self._generated(rid):
            self.removed.add(rid)
        return True

    def filter_branch(self) -> dict[str, Any] | None:
        """The list's filters (``includeFilters=true``); ``None`` for a ``MANUAL`` list."""
        if self.processing_type == "MANUAL":
            return None
        prop, value = _FILTER_VALUES[self.list_id % len(_FILTER_VALUES)]
        return {
            "filterBranchType": "OR",
            "filterBranchOperator": "OR",
            "filters": [],
            "filterBranches": [
                {
                    "filterBranchType": "AND",
                    "filterBranchOperator": "AND",
                    "filterBranches": [],
                    "filters": [
                        {
                            "filterType": "PROPERTY",
                            "property": prop,
                            "operation": {
                                "operationType": "MULTISTRING",
                                "operator": "IS_EQUAL_TO",
                                "values": [value],
                                "includeObjectsWithNoValueSet": False,
                            },
                        }
                    ],
                }
            ],
        }

    def to_json(
        self, store: ObjectStore, *, include_filters: bool = False, size: bool = False
    ) -> dict[str, object]:
        body: dict[str, object] = {
            "listId": str(self.list_id),
            "name": self.name,
            "objectTypeId": "0-1",
            "processingType": self.processing_type,
            "processingStatus": "COMPLETE",
            "listVersion": 1 + self.list_id % 7,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "filtersUpdatedAt": iso_ms(self.updated_ms),
            "additionalProperties": {
                "hs_list_size": str(self.size(store)),
                "hs_list_reference_count": "0",
            },
        }
        if size:
            body["size"] = self.size(store)
        if include_filters:
            branch = self.filter_branch()
            if branch is not None:
                body["filterBranch"] = branch
        return body


def build_lists(seed: int, count: int = 30) -> list[ContactList]:
    out = []
    for i in range(count):
        h = mix(salt(seed, "list", i))
        stride = 2 + h % 48
        created = METADATA_CREATED_MS + i * 3 * 86_400_000
        out.append(
            ContactList(
                list_id=i + 1,
                name=f"{LIST_NAMES[i % len(LIST_NAMES)]}{'' if i < len(LIST_NAMES) else f' {i // len(LIST_NAMES) + 1}'}",
                processing_type=PROCESSING_TYPES[i % 3],
                stride=stride,
                remainder=int((h >> 8) % stride),
                created_ms=created,
                updated_ms=created + int((h >> 16) % (400 * 86_400_000)),
            )
        )
    return out
