"""Settings, read only at the composition roots (``create_app``, the CLI) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Headwater's settings; every field can be set as ``HEADWATER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".headwater")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    lake_uri: str | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    #: Incremental windows end when a sync starts and re-read this much before the saved cursor,
    #: covering HubSpot's search-index lag (a source connection's ``lookbackSeconds`` wins).
    hubspot_lookback_seconds: int = 300
    #: How often an incremental run lists archived records (deletions); unset = by what the
    #: list costs (a few pages: every run), 0 = every run.
    hubspot_deletes_every_seconds: int | None = None
    #: How often an incremental run compares association lists with HubSpot's; unset = by cost.
    hubspot_associations_every_seconds: int | None = None
    #: Requests per rolling 10 s per HubSpot portal; unset = HubSpot's limit for the credential
    #: (110 OAuth app, 190 private app). Raise it for an API limit increase (or an emulator).
    hubspot_burst_budget: int | None = None
    #: CRM search requests per second per portal (HubSpot allows 5).
    hubspot_search_per_second: int = 5
    token_ttl_seconds: int = 24 * 3600
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    #: ``json`` prints one JSON object per log line; anything else plain text.
    log_format: str = "text"

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'headwater.db'}"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def resolved_lake_uri(self) -> str:
        return self.lake_uri or str(self.home / "lake")


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
