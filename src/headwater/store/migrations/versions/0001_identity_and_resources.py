"""Identity (orgs, sandboxes, API clients, tokens) and Flow Service resources.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sandboxes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "org_id",
            sa.String(128),
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_sandboxes_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),
    )
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column(
            "org_id",
            sa.String(128),
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_api_clients_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("secret_hash", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey(
                "api_clients.client_id",
                ondelete="CASCADE",
                name="fk_access_tokens_client_id_api_clients",
            ),
            nullable=False,
        ),
        sa.Column("org_id", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "resources",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(128), nullable=False),
        sa.Column("sandbox_name", sa.String(128), nullable=False),
        sa.Column("name", sa.String(512), nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("secrets", sa.LargeBinary, nullable=True),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_resources_tenant", "resources", ["kind", "org_id", "sandbox_name", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_resources_tenant", table_name="resources")
    op.drop_table("resources")
    op.drop_table("access_tokens")
    op.drop_table("api_clients")
    op.drop_table("sandboxes")
    op.drop_table("orgs")
