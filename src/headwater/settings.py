"""Settings, read only at the composition roots (``create_app``, the CLI) and passed down.

Each setting comes from, in this order: an explicit override (tests, the CLI), the environment
(``HEADWATER_<NAME>``), the home's settings file (``HEADWATER_HOME/settings.toml``), the default.
The file is how a home remembers what it was set up with, e.g. the HubSpot emulator of a
``headwater quickstart`` home, so every later command in that home uses it without variables::

    hubspot_base_url = "http://127.0.0.1:41234"
    hubspot_deletes_every_seconds = 0

    [hubspot_emulator]
    port = 41234
    seed = 42
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from headwater.errors import ConfigurationError

#: The settings file inside a home.
SETTINGS_FILE = "settings.toml"


def default_home() -> Path:
    return Path.home() / ".headwater"


class HubSpotEmulatorSettings(BaseModel):
    """The bundled HubSpot emulator a home was set up with, enough to start the same portal again
    (same seed, same sizes, same port, hence the same data and credentials)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int
    seed: int = 42
    contacts: int = 20_000
    companies: int = 2_000
    deals: int = 5_000

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def args(self) -> list[str]:
        """The ``headwater`` arguments that start this emulator."""
        host = [] if self.host == "127.0.0.1" else ["--host", self.host]
        return [
            "emulator",
            "hubspot",
            *host,
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
            "--contacts",
            str(self.contacts),
            "--companies",
            str(self.companies),
            "--deals",
            str(self.deals),
        ]


class Settings(BaseSettings):
    """Headwater's settings; every field can be set as ``HEADWATER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    secret_key: SecretStr | None = None
    lake_uri: str | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    #: The bundled emulator this home's HubSpot is (written by ``headwater quickstart``).
    hubspot_emulator: HubSpotEmulatorSettings | None = None
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
    #: How long a stop (SIGTERM, SIGINT) of serve, worker or scheduler may take before it is
    #: forced; set the supervisor's own timeout (systemd TimeoutStopSec, Kubernetes
    #: terminationGracePeriodSeconds) a few seconds above it (docs/operations.md).
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=3600)
    #: A worker's lease on a run, renewed every third of it; another host takes a dead worker's
    #: run over once it expires (a worker of the same host at once).
    worker_lease_seconds: int = Field(default=30, ge=3, le=3600)
    token_ttl_seconds: int = 24 * 3600
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    #: ``json`` prints one JSON object per log line, ``text`` plain lines; ``auto`` (the
    #: default) is text when stderr is a terminal and JSON otherwise (services, containers).
    log_format: str = "auto"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            HomeSettingsFile(settings_cls),
        )

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
    def settings_file(self) -> Path:
        return self.home / SETTINGS_FILE

    @property
    def resolved_lake_uri(self) -> str:
        return self.lake_uri or str(self.home / "lake")


class HomeSettingsFile(PydanticBaseSettingsSource):
    """The settings file of the home that the sources before it chose (or the default home)."""

    def get_field_value(
        self,
        field: FieldInfo,  # noqa: ARG002 - the interface's signature
        field_name: str,
    ) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        home = self.current_state.get("home")
        return read_home_settings(Path(home) if home else default_home())


def read_home_settings(home: Path) -> dict[str, Any]:
    """The settings stored in ``home`` (empty when it has no settings file)."""
    path = home / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - (set(Settings.model_fields) - {"home"}))
    if unknown:
        raise ConfigurationError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def record_home_settings(home: Path, **values: Any) -> Path:
    """Store settings in ``home``'s settings file, keeping the others it holds; ``None`` removes
    one. Values are scalars, or a :class:`pydantic.BaseModel` / dict for a table."""
    stored = read_home_settings(home)
    for name, value in values.items():
        if name not in Settings.model_fields or name == "home":
            raise ValueError(f"{name} is not a setting a home can store")
        if value is None:
            stored.pop(name, None)
        else:
            stored[name] = value.model_dump() if isinstance(value, BaseModel) else value
    path = home / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_dumps_toml(stored))
    tmp.replace(path)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        # A JSON string without \u escapes of non-ASCII text is a valid TOML basic string.
        return json.dumps(str(value), ensure_ascii=False)
    raise TypeError(f"cannot store {type(value).__name__} in {SETTINGS_FILE}")


def _dumps_toml(data: dict[str, Any]) -> str:
    lines = [
        "# Settings of this Headwater home; HEADWATER_<NAME> environment variables override them.",
        "",
    ]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items() if k not in tables]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def get_settings(**overrides: object) -> Settings:
    """Build settings from overrides, the environment and the home's settings file."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings ({problems})") from exc
