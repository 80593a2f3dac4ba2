"""The account wizard renders HubSpot's Service Key auth spec as its own section (straight from
the connection spec), and a service key connects through it, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ui.conftest import Stack

pytestmark = pytest.mark.e2e


def test_the_wizard_shows_a_service_key_section_that_connects(stack: Stack, browser: Any) -> None:
    client = stack.new_client("service-key")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(stack.base_url + "/ui")
        page.get_by_label("Client ID").fill(client.client_id)
        page.get_by_label("Client secret").fill(client.client_secret)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Sources", exact=True).click()
        page.get_by_role("link", name="Set up HubSpot").click()

        legends = page.locator("fieldset legend").all_inner_texts()
        assert any(t.startswith("OAuth") for t in legends)
        assert "Private App Token" in legends and "Service Key" in legends
        section = page.get_by_role("group", name=re.compile("^Service Key"))
        key = section.get_by_label("Service key")
        assert key.get_attribute("type") == "password"
        assert key.get_attribute("required") is not None
        version = section.get_by_label("API version")
        assert version.get_attribute("required") is None  # optional: the dated API by default
        assert "legacy" in section.inner_text()  # the field's help names the fallback

        section.get_by_label("Account name").fill("Service key portal")
        key.fill(stack.emulator["service_key"])
        section.get_by_role("button", name="Connect to source").click()
        page.wait_for_url(re.compile(r"/ui/accounts/[^/]+$"))
        assert "Connection test passed" in page.locator(".notice").inner_text()
        assert stack.emulator["service_key"] not in page.content()  # the secret is never shown
    finally:
        context.close()
    assert errors == []
