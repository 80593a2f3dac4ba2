"""Contact lists (``/crm/v3/lists``): a fixed set of lists whose memberships follow id strides, so
sizes and membership pages are computed, never stored."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ContactList:
    list_id: int
    name: str
    processing_type: str
    stride: int
    remainder: int
    created_ms: int
    updated_ms: int

    def contains(self, rid: int) -> bool:
        return rid % self.stride == self.remainder

    def size(self, store: ObjectStore) -> int:
        n = store.size
        first = self.remainder if self.remainder > 0 else self.stride
        if first > n:
            return 0
        return (n - first) // self.stride + 1

    def members_from(self, after: int, limit: int, store: ObjectStore) -> list[int]:
        """Member ids greater than ``after``, ascending, skipping archived records."""
        rid = after + 1
        rid += (self.remainder - rid) % self.stride
        out: list[int] = []
        while rid <= store.size and len(out) < limit:
            if not store.archived[rid - 1]:
                out.append(rid)
            rid += self.stride
        return out

    def to_json(self, store: ObjectStore) -> dict[str, object]:
        return {
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
