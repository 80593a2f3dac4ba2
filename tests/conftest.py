"""Shared fixtures: databases (SQLite and PostgreSQL), service contexts, API clients."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from headwater.domain.runs import RunStatus
from headwater.lake import Lake
from headwater.services import identity
from headwater.services.context import ServiceContext
from headwater.store import migrate, tables
from headwater.store.db import create_engine
from headwater.store.secrets import SecretBox, generate_key
from tests.processes import SESSION  # noqa: F401 - marks the processes this session starts

PG_ADMIN_URL = os.environ.get(
    "HEADWATER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_URL} is unreachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"headwater_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'headwater.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


_ENGINES: dict[str, sa.engine.Engine] = {}


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Iterator[ServiceContext]:
    """A service context on the session's database, with a secret key of its own.

    Runs this test left queued are cancelled afterwards: the database is shared, and a later
    test's worker would otherwise claim them and fail on secrets sealed with this test's key."""
    engine = _ENGINES.get(db_url)
    if engine is None:
        engine = create_engine(db_url)
        migrate.upgrade(engine)
        _ENGINES[db_url] = engine
    yield ServiceContext(
        engine=engine, box=SecretBox(generate_key()), lake=Lake(str(tmp_path / "lake"))
    )
    with engine.begin() as conn:
        conn.execute(
            sa.update(tables.runs)
            .where(tables.runs.c.status == RunStatus.SCHEDULED.value)
            .values(status=RunStatus.CANCELLED.value)
        )


@dataclass
class Identity:
    org_id: str
    client_id: str
    client_secret: str
    token: str

    def headers(self, sandbox: str | None = "prod") -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
        }
        if sandbox is not None:
            h["x-sandbox-name"] = sandbox
        return h


def new_identity(ctx: ServiceContext) -> Identity:
    org_id = uuid.uuid4().hex[:24].upper() + "@AdobeOrg"
    identity.create_org(ctx, org_id=org_id)
    client, secret = identity.create_client(ctx, org_id=org_id, name="tests")
    issued = identity.issue_token(
        ctx,
        grant_type="client_credentials",
        client_id=client.client_id,
        client_secret=secret,
        scope=None,
    )
    return Identity(org_id, client.client_id, secret, issued.access_token)


@pytest.fixture
def ident(ctx: ServiceContext) -> Identity:
    return new_identity(ctx)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _no_process_left(session)


def _no_process_left(session: pytest.Session) -> None:
    """Fail the suite when a ``headwater`` process it started is still alive (then end it)."""
    import signal

    from tests.processes import session_processes, wait_gone

    left = session_processes()
    if left:
        left = {p: c for p, c in left.items() if p in wait_gone(list(left), 5.0)}
    if not left:
        return
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    title = f"the test suite left {len(left)} headwater process(es) running (killed now)"
    if reporter is not None:
        reporter.section(title, sep="!", red=True)
    write = reporter.write_line if reporter is not None else print
    for pid, cmd in sorted(left.items()):
        write(f"  {pid}: {cmd}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def tenant_of(ctx: ServiceContext):
    """The service-level tenant of an identity (prod sandbox)."""
    from headwater.services.context import Tenant
    from headwater.store import identity as store_identity

    def make(ident: Identity, sandbox: str = "prod") -> Tenant:
        with ctx.engine.connect() as conn:
            sb = store_identity.read_sandbox(conn, org_id=ident.org_id, name=sandbox)
        assert sb is not None
        return Tenant(
            org_id=ident.org_id, sandbox_name=sandbox, sandbox_id=sb.id, client_id=ident.client_id
        )

    return make


#: Counts the reliability suites report at the end of a run: suite -> {what: n}.
RELIABILITY_COUNTS: dict[str, dict[str, int]] = {}


@pytest.fixture
def reliability_counts():
    """``record(suite, cases=…, faults=…, failures=…)`` adds to the summary printed at the end."""

    def record(suite: str, **counts: int) -> None:
        into = RELIABILITY_COUNTS.setdefault(suite, {})
        for k, v in counts.items():
            into[k] = into.get(k, 0) + v

    return record


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not RELIABILITY_COUNTS:
        return
    terminalreporter.section("reliability counts")
    for suite, counts in sorted(RELIABILITY_COUNTS.items()):
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        terminalreporter.write_line(f"{suite}: {shown}")
