"""The local commands that reach the database and the lake through runtime and services:
``db upgrade`` and ``query``, on a fresh home (SQLite, a local lake)."""

from __future__ import annotations

import json

import pytest

from headwater.store import migrate
from tests.cli.conftest import ONE_LINE_ERROR, Operator, clean_env


@pytest.mark.usefixtures("own_logging")
def test_db_upgrade_brings_a_new_database_to_head(tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    out = op.ok("db", "upgrade")
    assert out.strip() == f"database at revision {migrate.head_revision()}"
    assert (tmp_path / "headwater.db").is_file()
    # a second upgrade has nothing left to apply and says the same
    assert op.ok("db", "upgrade") == out


@pytest.mark.usefixtures("own_logging")
def test_query_runs_sql_over_the_org_datasets(tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    op.ok("orgs", "create", "QUERY000@AdobeOrg")
    rows = json.loads(op.ok("query", "SELECT 6 * 7 AS n", "--json"))
    assert rows == [{"n": 42}]
    refused = op.run("query", "SELECT * FROM no_such_dataset")
    assert refused.returncode == 1
    # DuckDB's message has a hint on a second line; the error stays one line
    assert ONE_LINE_ERROR.match(refused.stderr), refused.stderr
    assert "no_such_dataset" in refused.stderr
    assert refused.stderr.endswith("[FLOW-1100-400]\n"), refused.stderr
