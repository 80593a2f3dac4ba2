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

from dataclasses import dataclass
from enum import Enum

from headwater.errors import FieldError, ValidationError

__all__ = [
    "ACTIVE",
    "RUN_MODES",
    "RUN_PARAMS",
    "TERMINAL",
    "TRANSITIONS",
    "RunParams",
    "RunStatus",
    "can_transition",
    "read_run_params",
]


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


# ---------------------------------------------------------------------- run params

#: The ``params`` a run accepts: Adobe's ad-hoc run fields, plus ``mode`` and ``tables``.
RUN_PARAMS = frozenset(
    {"startTime", "windowStartTime", "windowEndTime", "deltaColumn", "mode", "tables"}
)
#: ``auto`` lets the connector choose; ``full`` re-reads every row (a reset), ``incremental``
#: reads what changed since the flow's cursor.
RUN_MODES = ("auto", "full", "incremental")


@dataclass(frozen=True, slots=True)
class RunParams:
    """What a run's ``params`` ask of the read."""

    mode: str = "auto"
    #: the tables ``mode`` applies to; ``None``: every table of the flow
    tables: frozenset[str] | None = None

    def mode_for(self, table: str) -> str:
        """The read mode of ``table`` in this run."""
        if self.tables is not None and table not in self.tables:
            return "auto"
        return self.mode


def read_run_params(params: object) -> RunParams:
    """Validate a run's ``params`` (``ValidationError`` naming each bad field) and read them."""
    if params is None:
        return RunParams()
    if not isinstance(params, dict):
        raise ValidationError(
            "params must be an object", details=[FieldError("params", "must be an object")]
        )
    unknown = sorted(k for k in params if k not in RUN_PARAMS)
    if unknown:
        names = ", ".join(unknown)
        raise ValidationError(
            f"unknown run params: {names}; a run accepts {', '.join(sorted(RUN_PARAMS))}",
            details=[FieldError(f"params.{k}", "is not a run parameter") for k in unknown],
        )
    errors: list[FieldError] = []
    mode = params.get("mode", "auto")
    if mode not in RUN_MODES:
        errors.append(FieldError("params.mode", f"must be one of {', '.join(RUN_MODES)}"))
    tables = params.get("tables")
    if tables is not None and (
        not isinstance(tables, list)
        or not tables
        or not all(isinstance(t, str) and t for t in tables)
    ):
        errors.append(FieldError("params.tables", "must be a non-empty list of table names"))
    for key in ("startTime", "windowStartTime", "windowEndTime"):
        value = params.get(key)
        if value is not None and not str(value).isdigit():
            errors.append(FieldError(f"params.{key}", "must be an epoch time (digits)"))
    delta = params.get("deltaColumn")
    if delta is not None and not (isinstance(delta, dict) and isinstance(delta.get("name"), str)):
        errors.append(FieldError("params.deltaColumn", "must be an object with a name"))
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']} {e['message']}" for e in errors), details=errors
        )
    return RunParams(mode=str(mode), tables=frozenset(tables) if tables is not None else None)
