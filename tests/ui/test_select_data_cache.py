"""Select data reads HubSpot's table list once per account version, not on every click: the list
and a table's columns are kept for a short while, "Read them again" and an edit of the account
read HubSpot again, and previews stay live."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.ui.conftest import Stack
from tests.ui.helpers import Browser

pytestmark = pytest.mark.e2e


@pytest.fixture
def me(stack: Stack) -> Iterator[Browser]:
    browser = Browser(stack.base_url)
    browser.sign_in(stack.new_client("cache"))
    yield browser
    browser.close()


def _hubspot_requests(stack: Stack) -> int:
    stats = httpx.get(stack.emulator["base_url"] + "/_emulator/stats").json()
    return sum(n for name, n in stats["requests"].items() if not name.startswith("admin."))


def test_table_list_and_columns_are_read_once_per_account_version(
    stack: Stack, me: Browser
) -> None:
    conn_id = me.connect_private_app("Cached portal", stack.emulator["private_app_token"])
    data = f"/ui/accounts/{conn_id}/data"

    before = _hubspot_requests(stack)
    first = me.page(data + "?table=Hubspot.Contacts")
    cold = _hubspot_requests(stack) - before
    assert "Hubspot.Contacts" in first and "typed columns" in first
    assert cold > 10  # the portal's info, schemas and a scope probe per object

    before = _hubspot_requests(stack)
    again = me.page(data + "?table=Hubspot.Contacts")
    assert _hubspot_requests(stack) == before, "a second visit read HubSpot again"
    assert again.count('type="checkbox" name="table"') == first.count(
        'type="checkbox" name="table"'
    )
    wizard = me.page("/ui/dataflows/new?account=" + conn_id)  # the wizard's table step
    assert "Hubspot.Deal_Pipelines" in wizard
    assert _hubspot_requests(stack) == before

    # Previews are rows read live
    before = _hubspot_requests(stack)
    preview = me.get(data + "/preview?table=Hubspot.Contacts", headers={"hx-request": "true"})
    assert preview.status_code == 200
    assert _hubspot_requests(stack) > before

    # "Read them again" asks HubSpot
    assert "Read them again" in again
    before = _hubspot_requests(stack)
    me.page(data + "?refresh=1&table=Hubspot.Contacts")
    assert _hubspot_requests(stack) - before >= cold - 1

    # An edit of the account (a new version) misses what was kept for the old one
    me.page(f"/ui/accounts/{conn_id}/edit")
    edited = me.post(f"/ui/accounts/{conn_id}/edit", {"name": "Cached portal, renamed"})
    assert edited.status_code == 303, edited.text[:500]
    before = _hubspot_requests(stack)
    me.page(data)
    assert _hubspot_requests(stack) > before
