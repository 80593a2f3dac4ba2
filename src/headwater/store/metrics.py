"""Shared counters (``metric_counters``) and run counts by status (``runs``).

Counters live in the database so that the ``/metrics`` of any API process reports what every
worker did. Each counter is a name plus a label set; increments upsert, so a counter starts at 0
the first time it is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from headwater.store.tables import metric_counters, runs

#: The counters kept in ``metric_counters`` (and each source connector's request counters,
#: named by its ``ConnectorType``).
RECORDS_READ = "headwater_records_read_total"
RECORDS_WRITTEN = "headwater_records_written_total"

Increment = tuple[str, Mapping[str, str], int]
Series = list[tuple[dict[str, str], int]]


def _labels_key(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def add_counters(engine: Engine, increments: Sequence[Increment], *, now: int) -> None:
    """Add to shared counters (created at 0 on first use); one transaction for all."""
    rows = [(n, _labels_key(lb), int(v)) for n, lb, v in increments if v]
    if not rows:
        return
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        for name, labels, amount in rows:
            stmt = insert(metric_counters).values(
                name=name, labels=labels, value=amount, updated_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[metric_counters.c.name, metric_counters.c.labels],
                    set_={
                        "value": metric_counters.c.value + stmt.excluded.value,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )


def read_counters(engine: Engine) -> dict[str, Series]:
    """Every counter: name → ``[(labels, value), ...]``."""
    out: dict[str, Series] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(metric_counters.c.name, metric_counters.c.labels, metric_counters.c.value)
        ).all()
    for name, labels, value in rows:
        out.setdefault(name, []).append((json.loads(labels), int(value)))
    return out


def run_counts(engine: Engine) -> dict[str, int]:
    """How many runs are in each status (Adobe's status strings)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)).all()
    return {str(status): int(n) for status, n in rows}
