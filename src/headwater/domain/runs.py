"""The life of a flow run: its states and the transitions between them.

::

    SCHEDULED ──claim──▶ IN_PROGRESS ──finish──▶ SUCCESS | PARTIAL_SUCCESS | FAILED
        ▲                 │    ▲  │
        └────release──────┘    └──┘ progress, checkpoint, heartbeat (or a claim after the lease
                                    expired)
    SCHEDULED ──cancel──▶ CANCELLED

``RunStatus`` is the internal vocabulary. Its values are the codes kept in the database (they
happen to be the strings Adobe shows, which the existing rows hold); Adobe's strings are produced
only by the document builders (``headwater.services.run_documents``), so code never compares a
run's state with a wire string.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ACTIVE", "TERMINAL", "TRANSITIONS", "RunStatus", "can_transition"]


class RunStatus(Enum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "inProgress"
    SUCCESS = "success"
    PARTIAL_SUCCESS = "partialSuccess"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {RunStatus.SUCCESS, RunStatus.PARTIAL_SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED}
)
ACTIVE = frozenset({RunStatus.SCHEDULED, RunStatus.IN_PROGRESS})

#: Every allowed change of state; anything else is a bug in the caller.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.SCHEDULED: frozenset({RunStatus.IN_PROGRESS, RunStatus.CANCELLED}),
    RunStatus.IN_PROGRESS: frozenset(
        {
            RunStatus.IN_PROGRESS,
            RunStatus.SCHEDULED,
            RunStatus.SUCCESS,
            RunStatus.PARTIAL_SUCCESS,
            RunStatus.FAILED,
        }
    ),
}


def can_transition(current: RunStatus, proposed: RunStatus) -> bool:
    return proposed in TRANSITIONS.get(current, frozenset())
