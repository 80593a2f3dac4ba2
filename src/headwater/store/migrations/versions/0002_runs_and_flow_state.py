"""Runs (the engine's queue, with leases and checkpoints) and committed cursor state per flow.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("flow_id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(128), nullable=False),
        sa.Column("sandbox_name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("portal_key", sa.String(200), nullable=False, server_default=""),
        sa.Column("trigger", sa.String(32), nullable=False, server_default="schedule"),
        sa.Column("scheduled_for", sa.BigInteger, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=True),
        sa.Column("window_end", sa.BigInteger, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("checkpoint", sa.Text, nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_runs_dedupe_key"),
    )
    op.create_index("ix_runs_queue", "runs", ["status", "scheduled_for"])
    op.create_index("ix_runs_flow", "runs", ["flow_id", "created_at"])
    op.create_table(
        "flow_state",
        sa.Column("flow_id", sa.String(36), primary_key=True),
        sa.Column("stream", sa.String(200), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("flow_state")
    op.drop_index("ix_runs_flow", table_name="runs")
    op.drop_index("ix_runs_queue", table_name="runs")
    op.drop_table("runs")
