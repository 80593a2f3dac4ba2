"""SQL over the lake by dataset name and id, and previews."""

from __future__ import annotations

import pytest

from headwater.errors import InvalidRequestError
from headwater.lake import DatasetRef, Lake, WriteOptions, connect, json_rows, preview, query
from tests.lake.helpers import batch, contact, run

CONTACTS = DatasetRef(
    id="65a1b2c3d4e5f60718293a4b", name="HubSpot Contacts", org="ORG1@AdobeOrg", sandbox="prod"
)
DEALS = DatasetRef(id="65a1b2c3d4e5f60718293a4c", name="deals", org="ORG1@AdobeOrg", sandbox="prod")
NEVER_RUN = DatasetRef(
    id="65a1b2c3d4e5f60718293a4d", name="tickets", org="ORG1@AdobeOrg", sandbox="prod"
)


@pytest.fixture
def filled(lake: Lake) -> Lake:
    run(lake, CONTACTS.table, "r1", batch([contact(i, score=i) for i in range(10)]))
    run(lake, DEALS.table, "r2", batch([contact(i, score=100) for i in range(3)]))
    return lake


def test_query_by_name_and_by_id_reads_the_same_table(filled: Lake) -> None:
    datasets = [CONTACTS, DEALS, NEVER_RUN]
    by_name = query(
        filled, datasets, 'SELECT count(*) AS n, sum("Score") AS s FROM "HubSpot Contacts"'
    )
    by_id = query(filled, datasets, f'SELECT count(*) AS n, sum("Score") AS s FROM "{CONTACTS.id}"')
    assert by_name.to_pylist() == by_id.to_pylist() == [{"n": 10, "s": 45}]


def test_query_joins_datasets(filled: Lake) -> None:
    result = query(
        filled,
        [CONTACTS, DEALS],
        'SELECT c."Id", d."Score" FROM "HubSpot Contacts" c JOIN deals d USING ("Id") ORDER BY 1',
    )
    assert result.to_pylist() == [
        {"Id": "0", "Score": 100},
        {"Id": "1", "Score": 100},
        {"Id": "2", "Score": 100},
    ]


def test_connect_reports_what_it_registered(filled: Lake) -> None:
    twin = DatasetRef(id="x2", name="deals", org="ORG1@AdobeOrg", sandbox="prod")
    con, catalog = connect(filled, [CONTACTS, DEALS, NEVER_RUN, twin])
    try:
        assert catalog.views["HubSpot Contacts"] == CONTACTS.id
        assert catalog.views[DEALS.id] == DEALS.id
        assert "deals" not in catalog.views
        assert catalog.ambiguous_names == ("deals",)
        assert set(catalog.empty_datasets) == {NEVER_RUN.id, "x2"}
    finally:
        con.close()


def test_bad_sql_is_an_invalid_request_with_duckdbs_message(filled: Lake) -> None:
    with pytest.raises(InvalidRequestError, match="tickets"):
        query(filled, [CONTACTS, NEVER_RUN], "SELECT * FROM tickets")
    with pytest.raises(InvalidRequestError):
        query(filled, [CONTACTS], "SELEC 1")


def test_preview_returns_at_most_limit_rows(filled: Lake) -> None:
    table = preview(filled, CONTACTS, limit=4)
    assert table.num_rows == 4
    assert table.column_names == ["Id", "Email", "Score", "Updated_At"]
    assert preview(filled, NEVER_RUN).num_rows == 0


def test_json_rows_are_json_ready(filled: Lake) -> None:
    import json
    from decimal import Decimal

    table = query(
        filled,
        [CONTACTS],
        'SELECT "Id", "Updated_At", sum("Score")::DECIMAL(10,2) AS d, '
        "'\\x01'::BLOB AS b, [1.5, 'nan'::DOUBLE] AS l FROM \"HubSpot Contacts\" GROUP BY ALL ORDER BY 1 LIMIT 1",
    )
    rows = json_rows(table)
    assert rows == [
        {
            "Id": "0",
            "Updated_At": "2026-01-01T00:00:00+00:00",
            "d": "0.00",
            "b": "AQ==",
            "l": [1.5, None],
        }
    ]
    json.dumps(rows, allow_nan=False)
    assert Decimal(rows[0]["d"]) == 0


def test_where_on_a_string_column_reads_files_of_merges_and_appends(lake: Lake) -> None:
    """A merge writes ``string_view`` files, a first write ``string`` ones; a filter on a string
    column must compare with both (DuckDB pushes it down to every file)."""
    # a two-column key: delta-rs's own merge (one-column keys may be merged by a rewrite)
    by_pair = WriteOptions(primary_key=("Id", "Email"), deleted_column="Archived")
    run(lake, CONTACTS.table, "r1", batch([contact(i) for i in range(5)]), options=by_pair)
    more = batch([contact(i, score=7) for i in (3, 4, 5)])
    run(lake, CONTACTS.table, "r2", more, options=by_pair)
    for sql, expected in [
        ('SELECT "Id" FROM "HubSpot Contacts" WHERE "Email" = \'c1@example.com\'', [["1"]]),
        ('SELECT "Id" FROM "HubSpot Contacts" WHERE "Email" = \'c5@example.com\'', [["5"]]),
        (
            'SELECT "Id" FROM "HubSpot Contacts" WHERE "Id" IN (\'0\', \'4\') ORDER BY 1',
            [["0"], ["4"]],
        ),
        ('SELECT count(*) FROM "HubSpot Contacts" WHERE "Email" LIKE \'c%\'', [[6]]),
    ]:
        got = query(lake, [CONTACTS], sql)
        assert [list(r.values()) for r in got.to_pylist()] == expected, sql
