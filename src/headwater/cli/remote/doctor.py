"""``headwater doctor``: is this installation ready? Database, migrations, secret key, lake, the
HubSpot its connections use and (when a profile exists) the API, each ✓ or ✗ with the reason,
and for each ✗ the fix (with the command to run, when one command fixes it)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

import typer
from rich.text import Text

from headwater.cli.remote.output import console, emit_json, say, shell_command, table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from headwater.settings import Settings

Status = Literal["ok", "fail", "skip"]
MARKS = {"ok": ("✓", "green"), "fail": ("✗", "red"), "skip": ("-", "dim")}


@dataclass(slots=True)
class Check:
    name: str
    status: Status
    detail: str
    #: What to do about a failure; empty when the check passed.
    fix: str = ""
    #: The one shell command that fixes it, when there is one (also quoted in ``fix``).
    command: str | None = None


def ok(detail: str) -> Check:
    return Check("", "ok", detail)


def skip(detail: str) -> Check:
    return Check("", "skip", detail)


def fail(detail: str, fix: str, command: str | None = None) -> Check:
    """A failed check; ``command`` is appended to ``fix``, or replaces ``{command}`` in it."""
    if command and "{command}" in fix:
        fix = fix.replace("{command}", command)
    elif command:
        fix = f"{fix}: {command}"
    return Check("", "fail", detail, fix, command)


#: The fix of a check that failed with an exception its code did not foresee.
FALLBACK_FIXES = {
    "database": "check HEADWATER_DATABASE_URL and that the database server is running",
    "migrations": "run headwater db upgrade",
    "secret key": "check HEADWATER_SECRET_KEY, or the key file in HEADWATER_HOME",
    "lake": "check HEADWATER_LAKE_URI and its credentials (AWS_* variables for s3://)",
    "hubspot": "check hubspot_base_url (HEADWATER_HUBSPOT_BASE_URL or the home's settings.toml)",
    "api": "check the profile (headwater profiles list) or store it again (headwater login)",
}


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
        steps: list[tuple[str, Callable[[], Check]]] = [
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
                    check = step()
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    detail = f"{type(exc).__name__}: {_one_line(exc)}"
                    check = fail(detail, FALLBACK_FIXES[name])
                check.name = name
                self.checks.append(check)
        finally:
            if self.engine is not None:
                self.engine.dispose()
        return self.checks

    @property
    def home(self) -> Path:
        return self.settings.home

    # ------------------------------------------------------------------ checks

    def database(self) -> Check:
        from headwater.services import diagnostics

        url = self.settings.resolved_database_url
        shown = _masked(url)
        if diagnostics.missing_sqlite_file(url) is not None and not self.upgrade:
            return fail(
                f"{shown}: no database file yet",
                "create it",
                shell_command(["db", "upgrade"], home=self.home),
            )
        self.engine = engine = diagnostics.open_database(url)
        return ok(f"{shown} reachable ({engine.dialect.name})")

    def migrations(self) -> Check:
        from headwater.services import diagnostics

        upgrade = shell_command(["db", "upgrade"], home=self.home)
        if self.engine is None:
            return fail("database unreachable", "fix the database check first")
        state = diagnostics.read_migrations(self.engine)
        before, head = state.current, state.head
        if not state.at_head and self.upgrade:
            after = diagnostics.upgrade(self.engine).current
            self.at_head = after == head
            if self.at_head:
                return ok(f"upgraded from {before or 'an empty database'} to head {head}")
            return fail(
                f"upgrade left the database at {after}, head is {head}",
                "run the upgrade again and read its error",
                upgrade,
            )
        self.at_head = before == head
        if self.at_head:
            return ok(f"at head {head}")
        return fail(f"at {before or 'no revision'}, head is {head}", "upgrade it", upgrade)

    def secret_key(self) -> Check:
        from headwater.services import diagnostics

        configured = self.settings.secret_key
        key_file = self.settings.secret_key_file
        if configured is None and not key_file.exists() and not self.upgrade:
            return fail(
                f"HEADWATER_SECRET_KEY is unset and {key_file} does not exist",
                "set HEADWATER_SECRET_KEY, or create the key file",
                shell_command(["doctor"], home=self.home),
            )
        box = diagnostics.open_secret_box(
            configured.get_secret_value() if configured else None, key_file
        )
        if not diagnostics.box_round_trips(box):
            return fail(
                "encrypting and decrypting a probe gave a different value",
                "check that HEADWATER_SECRET_KEY (or the key file) holds the whole key",
            )
        source = "HEADWATER_SECRET_KEY" if configured else str(key_file)
        if self.engine is None or not self.at_head:
            return ok(f"key {box.primary_key_id} from {source} encrypts and decrypts")
        stored, failures = diagnostics.unreadable_secrets(self.engine, box)
        unreadable = [f"{cid} ({_one_line(exc) or type(exc).__name__})" for cid, exc in failures]
        if unreadable:
            return fail(
                f"{len(unreadable)} of {stored} stored connection secret(s) do not decrypt "
                f"with the configured key(s), e.g. connection {unreadable[0]}",
                "set HEADWATER_SECRET_KEY to the key that sealed them (new,old while rotating), "
                "or restore the key file they were sealed with",
            )
        return ok(f"key {box.primary_key_id} from {source}; {stored} stored secret(s) decrypt")

    def lake(self) -> Check:
        from headwater.services import diagnostics

        uri = self.settings.resolved_lake_uri
        root = diagnostics.missing_lake_root(uri)
        if root is not None and not self.upgrade:
            return fail(
                f"{root} does not exist",
                "create it (or set HEADWATER_LAKE_URI)",
                shell_command(["doctor"], home=self.home),
            )
        name = f".headwater-doctor-{os.getpid()}-{secrets.token_hex(4)}"
        if not diagnostics.lake_round_trips(uri, name, os.environ):
            return fail(
                f"{uri}: a probe file read back different bytes",
                "check the storage behind HEADWATER_LAKE_URI",
            )
        return ok(f"{uri} writable and readable")

    def hubspot(self) -> Check:
        """The HubSpot every stored HubSpot connection reads from (the one new connections will
        use when there is none), reached over HTTP; the bundled emulator is named as such."""
        users = self._hubspot_connections()
        urls = sorted({url for url, _ in users}) or [self._hubspot_url()]
        findings = [self._reach_hubspot(url, [c for u, c in users if u == url]) for url in urls]
        failed = [f for f in findings if f.status == "fail"]
        if not failed:
            return ok("; ".join(f.detail for f in findings))
        if len(failed) == 1:
            return failed[0]
        return Check(
            "", "fail", "; ".join(f.detail for f in failed), "; ".join(f.fix for f in failed)
        )

    def _hubspot_url(self) -> str:
        # Every HubSpot connection of a deployment reads from the configured base URL (the
        # connector is opened with it in services/sources.py).
        return self.settings.hubspot_base_url.rstrip("/")

    def _hubspot_connections(self) -> list[tuple[str, str]]:
        """``(base URL, connection id)`` of every stored HubSpot connection, when the database
        can say (else none)."""
        if self.engine is None or not self.at_head:
            return []
        from headwater.cli.remote.emulated import emulated_spec_id
        from headwater.services import diagnostics

        ids = diagnostics.connections_of_spec(self.engine, emulated_spec_id())
        return [(self._hubspot_url(), cid) for cid in ids]

    def _reach_hubspot(self, url: str, connection_ids: list[str]) -> Check:
        import httpx

        who = (
            f"used by {len(connection_ids)} connection(s)"
            if connection_ids
            else "no HubSpot connection yet"
        )
        emulator = self.settings.hubspot_emulator
        if emulator is not None and emulator.base_url != url:
            emulator = None
        what = "the bundled HubSpot emulator" if emulator else "HubSpot"
        try:
            r = httpx.get(url + "/", timeout=10)
        except httpx.HTTPError as exc:
            if emulator is not None:
                return fail(
                    f"{what} at {url} is not running ({who})",
                    f"start it again with seed {emulator.seed} on port {emulator.port}",
                    shell_command(emulator.args()),
                )
            return fail(
                f"{url} unreachable ({who}): {_one_line(exc) or type(exc).__name__}",
                "check the network, or hubspot_base_url "
                f"(HEADWATER_HUBSPOT_BASE_URL or {self.settings.settings_file})",
            )
        return ok(f"{what} at {url} reachable (HTTP {r.status_code}); {who}")

    def api(self) -> Check:
        import httpx

        from headwater.cli.remote.client import fetch_token
        from headwater.cli.remote.profiles import load_book, select

        book = load_book(self.home)
        if not book.profiles and self.profile is None:
            return skip("no profile yet (headwater login)")
        try:
            prof = select(book, self.profile)
        except Exception as exc:  # noqa: BLE001 - reported with its fix
            return fail(
                _one_line(exc),
                "pick a stored profile (headwater profiles list), or store one (headwater login)",
            )
        with httpx.Client(base_url=prof.endpoint, timeout=10) as http:
            try:
                ready = http.get("/health/ready")
            except httpx.HTTPError as exc:
                return fail(
                    f"{prof.endpoint} (profile {prof.name}) unreachable: {_one_line(exc)}",
                    *self._start_server(prof.endpoint, prof.name),
                )
            if ready.status_code != 200:
                return fail(
                    f"{prof.endpoint}/health/ready answered {ready.status_code}: "
                    f"{_one_line(ready.text)[:200]}",
                    f"run headwater doctor where {prof.endpoint} is served; it names the part "
                    "that is not ready",
                )
            try:
                fetch_token(http, prof)
            except Exception as exc:  # noqa: BLE001 - reported with its fix
                login = ["login", "--profile", prof.name, "--endpoint", prof.endpoint]
                login += ["--org", prof.org, "--client-id", prof.client_id]
                return fail(
                    f"{prof.endpoint} refused profile {prof.name}'s client: {_one_line(exc)}",
                    "store the client's current secret (prompted for)",
                    shell_command(login, home=self.home),
                )
        return ok(f"{prof.endpoint} ready; profile {prof.name} gets a token for {prof.org}")

    def _start_server(self, endpoint: str, profile: str) -> tuple[str, str | None]:
        """The fix of an unreachable endpoint: start a server there when it is on this machine."""
        parts = urlsplit(endpoint)
        other = f"or point profile {profile} at a running server (headwater login)"
        if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
            return f"start the server at {endpoint}, {other}", None
        args = ["serve", "--port", str(parts.port)]
        if parts.hostname != "127.0.0.1":
            args[1:1] = ["--host", parts.hostname]
        return f"start it in this home ({{command}}), {other}", shell_command(args, home=self.home)


def _one_line(exc: BaseException | str) -> str:
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
    healthy = all(c.status != "fail" for c in checks)
    if as_json:
        emit_json({"ok": healthy, "checks": [asdict(c) for c in checks]})
    else:
        console.print(
            table(
                ["", "CHECK", "DETAIL"],
                [[Text(*MARKS[c.status]), c.name, c.detail] for c in checks],
            )
        )
        for c in checks:
            if c.status == "fail":
                say(Text("fix ", style="bold"), f"{c.name}: {c.fix}")
    if not healthy:
        raise typer.Exit(1)
