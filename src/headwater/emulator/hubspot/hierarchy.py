"""Company parent/child associations, the one association within a single object type.

HubSpot defines three company-to-company types: 450 (unlabeled), 14 (child to parent: seen from
the child, the other record is its parent) and 13 (parent to child). The generated hierarchy is
invertible without a scan: every fifth company ``c`` (``c % 5 == 0``) is the child of company
``c // 5``, so company ``p`` has the generated child ``5 p`` when that id exists. Writes go
through :class:`~headwater.emulator.hubspot.associations.AssociationGraph` like any other pair.
"""

from __future__ import annotations

from headwater.emulator.hubspot.portal_metadata import Relation

__all__ = ["CHILD", "HIERARCHY", "PAIR", "PARENT", "UNLABELED", "children", "mirror", "parent"]

PAIR = ("companies", "companies")
#: seen from the child: the other company is its parent
TO_PARENT_ID = 14
#: seen from the parent: the other company is its child
TO_CHILD_ID = 13
UNLABELED_ID = 450
FANOUT = 5
#: the relation entry of the pair (its type ids; the generator below replaces the generic one)
HIERARCHY = Relation("companies", "companies", 1, UNLABELED_ID, UNLABELED_ID)
PARENT = (TO_PARENT_ID, "Parent Company", "child_to_parent_company")
CHILD = (TO_CHILD_ID, "Child Company", "parent_to_child_company")
UNLABELED = (UNLABELED_ID, None, "company_to_company")


def parent(rid: int) -> int | None:
    """The generated parent of company ``rid``."""
    return rid // FANOUT if rid % FANOUT == 0 and rid >= FANOUT else None


def children(rid: int, count: int) -> list[int]:
    """The generated children of company ``rid`` among ``count`` generated companies."""
    child = rid * FANOUT
    return [child] if child <= count else []


def mirror(type_id: int) -> int:
    """The type id of the same association seen from the other company."""
    return {TO_PARENT_ID: TO_CHILD_ID, TO_CHILD_ID: TO_PARENT_ID}.get(type_id, type_id)
