"""``headwater doctor``: is this installation ready? Database, migrations, secret key, lake,
HubSpot and (when a profile exists) the API, each ✓ or ✗ with the reason."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from headwater.cli.remote.output import console, emit_json, table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from headwater.settings import Settings
    from headwater.store.secrets import SecretBox

Status = Literal["ok", "fail", "skip"]
MARKS = {"ok": ("✓", "green"), "fail": ("✗", "red"), "skip": ("-", "dim")}


@dataclass(slots=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass(slots=True)
class Doctor:
    """Runs the checks in order; later checks see what earlier ones found (the engine, the box)."""

    settings: Settings
    upgrade: bool
    profile: str | None
    checks: list[Check] = field(default_factory=list)
    engine: Engine | None = None
    at_head: bool = False

    def run(self) -> list[Check]:
        steps: list[tuple[str, Callable[[], tuple[Status, str]]]] = [
            ("database", self.database),
            ("migrations", self.migrations),
            ("secret key", self.secret_key),
            ("lake", self.lake),
            ("hubspot", self.hubspot),
            ("api", self.api),
        ]
        try:
            for name, step in steps:
                try:
                    status, detail = step()
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    status, detail = "fail", f"{type(exc).__name__}: {_one_line(exc)}"
                self.checks.append(Check(name, status, detail))
        finally:
            if self.engine is not None:
                self.engine.dispose()
        return self.checks

    # ------------------------------------------------------------------ checks

    def database(self) -> tuple[Status, str]:
        import sqlalchemy as sa
        from sqlalchemy.engine.url import make_url

        from headwater.store.db import create_engine

        url = self.settings.resolved_database_url
        shown = _masked(url)
        if url.startswith("sqlite"):
            path = make_url(url).database or ""
            if path and not Path(path).exists():
                if not self.upgrade:
                    return "fail", f"{shown}: no database file yet (headwater db upgrade)"
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:
            engine.dispose()
            raise
        self.engine = engine
        return "ok", f"{shown} reachable ({engine.dialect.name})"

    def migrations(self) -> tuple[Status, str]:
        from headwater.store import migrate

        if self.engine is None:
            return "fail", "database unreachable"
        head = migrate.head_revision()
        before = migrate.current_revision(self.engine)
        if before != head and self.upgrade:
            migrate.upgrade(self.engine)
            after = migrate.current_revision(self.engine)
            self.at_head = after == head
            if self.at_head:
                return "ok", f"upgraded from {before or 'an empty database'} to head {head}"
            return "fail", f"upgrade left the database at {after}, head is {head}"
        self.at_head = before == head
        if self.at_head:
            return "ok", f"at head {head}"
        return "fail", f"at {before or 'no revision'}, head is {head}: run headwater db upgrade"

    def secret_key(self) -> tuple[Status, str]:
        from headwater.store.secrets import SecretBox, load_key_material

        configured = self.settings.secret_key
        key_file = self.settings.secret_key_file
        if configured is None and not key_file.exists() and not self.upgrade:
            return "fail", f"HEADWATER_SECRET_KEY is unset and {key_file} does not exist"
        box = SecretBox(
            load_key_material(
                configured=configured.get_secret_value() if configured else None, key_file=key_file
            )
        )
        probe = {"probe": secrets.token_hex(8)}
        if box.decrypt(box.encrypt(probe, context=b"doctor"), context=b"doctor") != probe:
            return "fail", "encrypting and decrypting a probe gave a different value"
        source = "HEADWATER_SECRET_KEY" if configured else str(key_file)
        if self.engine is None or not self.at_head:
            return "ok", f"key {box.primary_key_id} from {source} encrypts and decrypts"
        stored, unreadable = self._stored_secrets(box)
        if unreadable:
            return "fail", (
                f"{len(unreadable)} of {stored} stored connection secret(s) do not decrypt "
                f"with the configured key(s), e.g. connection {unreadable[0]}"
            )
        return "ok", f"key {box.primary_key_id} from {source}; {stored} stored secret(s) decrypt"

    def _stored_secrets(self, box: SecretBox) -> tuple[int, list[str]]:
        from cryptography.exceptions import InvalidTag

        from headwater.errors import ConfigurationError
        from headwater.services import connections
        from headwater.services.context import ServiceContext, Tenant
        from headwater.store import resources

        assert self.engine is not None
        ctx = ServiceContext(engine=self.engine, box=box)
        with self.engine.connect() as conn:
            rows = [
                r for r in resources.read_all_with_secrets(conn, kind=connections.KIND) if r.secrets
            ]
        unreadable: list[str] = []
        for res in rows:
            tenant = Tenant(res.org_id, res.sandbox_name, sandbox_id="", client_id="doctor")
            try:
                connections.read_credentials(ctx, tenant, res.id)
            except (ConfigurationError, InvalidTag, ValueError) as exc:
                unreadable.append(f"{res.id} ({_one_line(exc) or type(exc).__name__})")
        return len(rows), unreadable

    def lake(self) -> tuple[Status, str]:
        from headwater.lake import storage_options_from_env
        from headwater.lake.storage import is_local_uri, local_path

        uri = self.settings.resolved_lake_uri
        name = f".headwater-doctor-{os.getpid()}-{secrets.token_hex(4)}"
        payload = secrets.token_bytes(32)
        if is_local_uri(uri):
            root = local_path(uri).expanduser()
            if not root.exists() and not self.upgrade:
                return "fail", f"{root} does not exist"
            root.mkdir(parents=True, exist_ok=True)
            probe = root / name
            try:
                probe.write_bytes(payload)
                ok = probe.read_bytes() == payload
            finally:
                probe.unlink(missing_ok=True)
        else:
            from deltalake.fs import DeltaStorageHandler
            from pyarrow.fs import PyFileSystem

            fs = PyFileSystem(DeltaStorageHandler(uri, storage_options_from_env(os.environ)))
            with fs.open_output_stream(name) as out:
                out.write(payload)
            try:
                with fs.open_input_stream(name) as inp:
                    ok = inp.read() == payload
            finally:
                fs.delete_file(name)
        if not ok:
            return "fail", f"{uri}: a probe file read back different bytes"
        return "ok", f"{uri} writable and readable"

    def hubspot(self) -> tuple[Status, str]:
        import httpx

        url = self.settings.hubspot_base_url.rstrip("/")
        try:
            r = httpx.get(url + "/", timeout=10)
        except httpx.HTTPError as exc:
            return "fail", f"{url} unreachable: {_one_line(exc) or type(exc).__name__}"
        return "ok", f"{url} reachable (HTTP {r.status_code})"

    def api(self) -> tuple[Status, str]:
        import httpx

        from headwater.cli.remote.client import fetch_token
        from headwater.cli.remote.profiles import load_book, select

        book = load_book(self.settings.home)
        if not book.profiles and self.profile is None:
            return "skip", "no profile yet (headwater login)"
        prof = select(book, self.profile)
        with httpx.Client(base_url=prof.endpoint, timeout=10) as http:
            try:
                ready = http.get("/health/ready")
            except httpx.HTTPError as exc:
                return "fail", f"{prof.endpoint} unreachable: {_one_line(exc)}"
            if ready.status_code != 200:
                return "fail", f"{prof.endpoint}/health/ready answered {ready.status_code}"
            fetch_token(http, prof)
        return "ok", f"{prof.endpoint} ready; profile {prof.name} gets a token for {prof.org}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _masked(url: str) -> str:
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def doctor(
    check_only: Annotated[
        bool,
        typer.Option(
            "--check-only",
            help="Change nothing: no migrations, no key file, no lake directory.",
        ),
    ] = False,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile whose API to check.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Check this installation: database, migrations, secret key, lake, HubSpot, API."""
    from headwater.settings import get_settings

    checks = Doctor(get_settings(), upgrade=not check_only, profile=profile).run()
    ok = all(c.status != "fail" for c in checks)
    if as_json:
        emit_json({"ok": ok, "checks": [asdict(c) for c in checks]})
    else:
        console.print(
            table(
                ["", "CHECK", "DETAIL"],
                [[Text(*MARKS[c.status]), c.name, c.detail] for c in checks],
            )
        )
    if not ok:
        raise typer.Exit(1)
