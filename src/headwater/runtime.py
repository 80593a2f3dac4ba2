"""Composition root helpers: turn settings into a ready service context."""

from __future__ import annotations

import os

from headwater.connectors import registry
from headwater.connectors.base import ConnectorSettings
from headwater.lake import Lake, storage_options_from_env
from headwater.logs import configure_logging
from headwater.services import metrics, webhooks
from headwater.services.context import ServiceContext
from headwater.settings import Settings
from headwater.store import migrate
from headwater.store.db import create_engine
from headwater.store.secrets import SecretBox, key_file_reader, load_key_material


def build_context(settings: Settings, *, upgrade: bool = True) -> ServiceContext:
    """Engine (migrated to head unless ``upgrade`` is False), secret box and limits from settings."""
    configure_logging(settings.log_format, settings.log_level)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    if upgrade:
        migrate.upgrade(engine)
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    key_file = settings.secret_key_file
    material = load_key_material(configured=configured, key_file=key_file)
    # a key file is followed while running (rotation without restart); a configured key is not
    box = SecretBox(material, reload=None if configured else key_file_reader(key_file, material))
    ctx = ServiceContext(
        engine=engine,
        box=box,
        token_ttl_ms=settings.token_ttl_seconds * 1000,
        # each connector reads its own fields of the settings (``ConnectorType.settings_from``)
        connector_settings=ConnectorSettings(*registry.operator_settings(settings.model_dump())),
        lake=Lake(settings.resolved_lake_uri, storage_options_from_env(os.environ)),
    )
    webhooks.install(ctx)  # events become durable webhook deliveries
    metrics.install(ctx)  # record counters and run ids in logs
    return ctx


def upgrade_database(ctx: ServiceContext) -> str | None:
    """Apply every pending migration (``headwater db upgrade``); the revision the database is
    at afterwards."""
    migrate.upgrade(ctx.engine)
    return migrate.current_revision(ctx.engine)
