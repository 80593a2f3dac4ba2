"""The whole UI in a real browser against real processes: sign in, connect HubSpot with OAuth
(the emulator's consent page), select contacts and preview them, create a dataflow with the
wizard, run it, watch it succeed in Monitoring with its chart, and open the dataset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import Stack

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def snap(page: Any, shots: Path, name: str) -> None:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000, f"screenshot {name} is empty"


def test_set_up_hubspot_and_watch_a_dataflow(stack: Stack, browser: Any, shots: Path) -> None:
    client = stack.new_client()
    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Failed loads are checked by status below (the emulator's consent page has no favicon).
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    # Sign in
    page.goto(stack.base_url + "/ui")
    page.get_by_label("Client ID").fill(client.client_id)
    page.get_by_label("Client secret").fill(client.client_secret)
    snap(page, shots, "01-sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Sources", exact=True).click()

    # Sources catalogue → account wizard
    assert page.get_by_role("heading", name="HubSpot").is_visible()
    snap(page, shots, "02-sources")
    page.get_by_role("link", name="Set up HubSpot").click()
    oauth = page.get_by_role("group", name=re.compile("^OAuth"))
    oauth.get_by_label("Account name").fill("Demo portal")
    oauth.get_by_label("Client ID").fill(stack.emulator["oauth_client_id"])
    oauth.get_by_label("Client secret").fill(stack.emulator["oauth_client_secret"])
    assert oauth.get_by_label("Client secret").get_attribute("type") == "password"
    snap(page, shots, "03-account-wizard")
    oauth.get_by_role("button", name="Connect with HubSpot").click()

    # The emulator's consent page, then back to Headwater with the tokens stored
    page.get_by_role("button", name="Grant access").click()
    page.wait_for_url(re.compile(r"/ui/accounts/[^/]+$"))
    assert "Connection test passed" in page.locator(".notice").inner_text()
    assert page.get_by_text("Passed").first.is_visible()
    snap(page, shots, "04-account")

    # Select data: search, typed columns and a preview grid of contacts
    page.get_by_role("link", name="Select data").click()
    page.get_by_label("Search tables").fill("hubspot.contacts")
    page.get_by_role("link", name="Preview columns and rows of Hubspot.Contacts").click()
    grid = page.get_by_role("region", name="Sample rows of Hubspot.Contacts")
    grid.wait_for()
    headers = grid.locator("thead th").all_inner_texts()
    assert "Id" in headers and any(h.startswith("Properties_Email") for h in headers)
    assert grid.locator("tbody tr").count() == 10
    snap(page, shots, "05-select-data")
    page.get_by_label("Contacts", exact=True).check()
    page.get_by_role("button", name="Create dataflow").click()

    # The wizard
    assert page.get_by_label("Contacts", exact=True).is_checked()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Dataflow name").fill("Contacts to the lake")
    page.get_by_label("New dataset name").fill("ui_contacts")
    snap(page, shots, "06-wizard-datasets")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Frequency").select_option("once")
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Start").fill(tomorrow)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Partial ingestion: let a run succeed").check()
    page.get_by_label("Partial ingestion threshold (%)").fill("5")
    page.get_by_role("button", name="Next").click()
    assert page.get_by_text("new dataset ui_contacts").is_visible()
    snap(page, shots, "07-wizard-review")
    page.get_by_role("button", name="Finish").click()

    # Run it and watch it live
    page.wait_for_url(re.compile(r"/ui/monitoring/[^/]+$"))
    assert "was created" in page.locator(".notice").inner_text()
    page.get_by_role("button", name="Run now").click()
    page.locator("table a[href*='/ui/runs/']").first.click()  # the queued run
    page.wait_for_url(re.compile(r"/ui/runs/"))
    page.locator(".section-head .badge.success").wait_for(timeout=120_000)
    metrics = page.get_by_role("region", name="Metrics")
    assert "120" in metrics.inner_text()
    snap(page, shots, "08-run")

    # Monitoring: last status, records in 24 h; the history page has the chart
    page.get_by_role("link", name="Monitoring", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Contacts to the lake"))
    assert "Succeeded" in row.inner_text() and "120" in row.inner_text()
    snap(page, shots, "09-monitoring")
    row.get_by_role("link", name="Contacts to the lake").click()
    touched = httpx.post(
        stack.emulator["base_url"] + "/_emulator/touch",
        json={"objectType": "contacts", "count": 15},
    )
    assert touched.status_code == 200
    page.wait_for_timeout(1_500)  # a change made a moment ago, once HubSpot's search has it (1 s)
    with page.expect_navigation():  # the form posts and comes back here with a notice
        page.get_by_role("button", name="Run now").click()
    for _ in range(120):
        if page.locator("tbody .badge.success").count() >= 2:
            break
        page.wait_for_timeout(500)
        page.reload()
    latest = page.locator("tbody tr").filter(has=page.locator(".badge.success")).first
    assert latest.locator("td").nth(3).inner_text() == "15", latest.inner_text()
    chart = page.get_by_role("img", name="Runs of Contacts to the lake")
    assert chart.locator("rect").count() == 4  # two runs, read and written
    snap(page, shots, "10-run-history")

    # Full refresh: a reset that re-reads every row
    history = page.url
    page.get_by_role("button", name="Full refresh").click()
    page.wait_for_url(re.compile(r"/ui/runs/"))
    assert "full refresh was queued" in page.locator(".notice").inner_text().lower()
    page.locator(".section-head .badge.success").wait_for(timeout=120_000)
    page.reload()
    assert "(full refresh)" in page.get_by_text("Trigger").locator("xpath=..").inner_text()
    tables = page.get_by_role("region", name="Per table").inner_text()
    assert "full:" in tables and "deletes" in tables, tables
    snap(page, shots, "10b-full-refresh")
    page.goto(history)

    # The dataset page
    page.get_by_role("link", name=re.compile("^dataset ")).click()
    assert page.get_by_role("heading", name="ui_contacts").is_visible()
    about = page.get_by_role("region", name="Table")
    assert re.search(r"Rows\s+120", about.inner_text())
    assert (
        page.get_by_role("region", name="First rows of ui_contacts").locator("tbody tr").count()
        == 20
    )
    assert "duckdb" in page.locator("#snippet-duckdb").inner_text()
    snap(page, shots, "11-dataset")

    # Phone width
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Monitoring", exact=True).click()
    snap(page, shots, "12-monitoring-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    assert errors == [], errors
    context.close()
