"""Tables. Flow Service resources share one table: each row is an Adobe-shaped JSON document plus
the columns needed to scope, page and lock it; secrets live beside it, encrypted."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

sandboxes = sa.Table(
    "sandboxes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "org_id", sa.String(128), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column(
        "org_id", sa.String(128), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("secret_hash", sa.String(256), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "client_id",
        sa.String(64),
        sa.ForeignKey("api_clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("org_id", sa.String(128), nullable=False),
    sa.Column("scope", sa.String(512), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
)

resources = sa.Table(
    "resources",
    metadata,
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
    sa.Index("ix_resources_tenant", "kind", "org_id", "sandbox_name", "created_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("flow_id", sa.String(36), nullable=False),
    sa.Column("org_id", sa.String(128), nullable=False),
    sa.Column("sandbox_name", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
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
    sa.Index("ix_runs_queue", "status", "scheduled_for"),
    sa.Index("ix_runs_flow", "flow_id", "created_at"),
)

flow_state = sa.Table(
    "flow_state",
    metadata,
    sa.Column("flow_id", sa.String(36), primary_key=True),
    sa.Column("stream", sa.String(200), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Notifications: one row per (event, webhook) is both the durable outbox and the delivery log;
# every HTTP attempt is kept beside it. Webhook subscriptions are ``resources`` rows of kind
# ``webhooks`` (their signing secret in the encrypted blob).
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("webhook_id", sa.String(64), nullable=False),
    sa.Column("org_id", sa.String(128), nullable=False),
    sa.Column("sandbox_name", sa.String(128), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
    sa.Column("response_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("delivered_at", sa.BigInteger, nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("response_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

# Counters every process adds to and any process's ``/metrics`` reports (labels: sorted JSON).
metric_counters = sa.Table(
    "metric_counters",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("labels", sa.String(512), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
