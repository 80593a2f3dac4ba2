"""What ``headwater doctor`` checks below the command line, one part at a time: the database,
its migrations, the secret key and the secrets it must open, the lake, and a
source's connections. Each function takes plain values (the command reads the settings), so a part can be
checked while the others are still broken, before a :class:`ServiceContext` could be built."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from headwater.errors import ConfigurationError
from headwater.lake.storage import (
    is_local_uri,
    local_path,
    round_trips,
    storage_options_from_env,
)
from headwater.services import connections
from headwater.services.context import ServiceContext, Tenant
from headwater.store import migrate, resources
from headwater.store.db import create_engine, ping
from headwater.store.secrets import SecretBox, load_key_material

__all__ = [
    "Migrations",
    "box_round_trips",
    "connections_of_spec",
    "lake_round_trips",
    "missing_lake_root",
    "missing_sqlite_file",
    "open_database",
    "open_secret_box",
    "read_migrations",
    "unreadable_secrets",
    "upgrade",
]


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet (else ``None``)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database or ""
    return Path(path) if path and not Path(path).exists() else None


def open_database(url: str) -> Engine:
    """An engine for ``url`` that has answered a round trip (its SQLite directory is created)."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        missing.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        ping(engine)
    except Exception:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True, slots=True)
class Migrations:
    current: str | None
    head: str | None

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def read_migrations(engine: Engine) -> Migrations:
    return Migrations(migrate.current_revision(engine), migrate.head_revision())


def upgrade(engine: Engine) -> Migrations:
    """Apply every pending migration; where the database is afterwards."""
    migrate.upgrade(engine)
    return read_migrations(engine)


def open_secret_box(configured: str | None, key_file: Path) -> SecretBox:
    """The box of the configured key(s), else of the key file (created, mode 0600, if missing)."""
    return SecretBox(load_key_material(configured=configured, key_file=key_file))


def box_round_trips(box: SecretBox) -> bool:
    """Whether a random probe sealed by ``box`` opens to the same value."""
    probe = {"probe": secrets.token_hex(8)}
    return box.decrypt(box.encrypt(probe, context=b"doctor"), context=b"doctor") == probe


def unreadable_secrets(engine: Engine, box: SecretBox) -> tuple[int, list[tuple[str, Exception]]]:
    """How many stored connections hold secrets, and those ``box`` cannot open, each with why."""
    ctx = ServiceContext(engine=engine, box=box)
    with engine.connect() as conn:
        rows = [
            r for r in resources.read_all_with_secrets(conn, kind=connections.KIND) if r.secrets
        ]
    unreadable: list[tuple[str, Exception]] = []
    for res in rows:
        tenant = Tenant(res.org_id, res.sandbox_name, sandbox_id="", client_id="doctor")
        try:
            connections.read_credentials(ctx, tenant, res.id)
        except (ConfigurationError, InvalidTag, ValueError) as exc:
            unreadable.append((res.id, exc))
    return len(rows), unreadable


def connections_of_spec(engine: Engine, spec_id: str) -> list[str]:
    """The ids of the stored base connections of connection spec ``spec_id``."""
    with engine.connect() as conn:
        rows = resources.read_all_with_secrets(conn, kind=connections.KIND)
    return [r.id for r in rows if (r.doc.get("connectionSpec") or {}).get("id") == spec_id]


def missing_lake_root(uri: str) -> Path | None:
    """The directory of a local lake URI when it does not exist yet (else ``None``)."""
    if not is_local_uri(uri):
        return None
    root = local_path(uri).expanduser()
    return None if root.exists() else root


def lake_round_trips(uri: str, name: str, env: Mapping[str, str]) -> bool:
    """Whether a random probe file written under ``uri`` reads back the same (and is deleted);
    an object store is reached with the options of ``env``'s AWS variables."""
    return round_trips(uri, name, secrets.token_bytes(32), storage_options_from_env(env))
