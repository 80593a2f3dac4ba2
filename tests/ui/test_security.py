"""The UI's security promises, over real HTTP against a real server: stored secrets are never
rendered, forms need their CSRF token, a session sees only its own org, signing out ends it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.ui.conftest import Stack
from tests.ui.helpers import HUBSPOT, Browser

pytestmark = pytest.mark.e2e


@pytest.fixture
def browsers(stack: Stack) -> Iterator[list[Browser]]:
    made: list[Browser] = []

    def open_one() -> Browser:
        b = Browser(stack.base_url)
        made.append(b)
        return b

    yield [open_one(), open_one()]
    for b in made:
        b.close()


def test_stored_secrets_are_never_rendered(stack: Stack, browsers: list[Browser]) -> None:
    me = browsers[0]
    me.sign_in(stack.new_client())
    secret_app = "app-secret-" + "x7" * 10
    token = stack.emulator["private_app_token"]
    # OAuth-style credentials typed by hand, with a wrong client id: the form comes back with an
    # error, and must not echo the secrets that were typed.
    me.page(f"/ui/sources/{HUBSPOT}/connect")
    refused = me.post(
        f"/ui/sources/{HUBSPOT}/connect",
        {
            "auth_spec": "Basic Authentication",
            "name": "",
            "clientId": "cid",
            "clientSecret": secret_app,
            "accessToken": "access-" + secret_app,
            "refreshToken": "refresh-" + secret_app,
        },
    )
    assert refused.status_code == 400
    assert "Give the account a name." in refused.text
    assert secret_app not in refused.text
    conn_id = me.connect_private_app("Private app", token)

    pages = [
        "/ui/accounts",
        f"/ui/accounts/{conn_id}",
        f"/ui/accounts/{conn_id}/edit",
        f"/ui/accounts/{conn_id}/data?table=Hubspot.Contacts",
        f"/ui/accounts/{conn_id}/data/preview?table=Hubspot.Contacts",
        "/ui/dataflows",
        f"/ui/dataflows/new?account={conn_id}&table=Hubspot.Contacts",
        "/ui/monitoring",
        "/ui/datasets",
    ]
    for path in pages:
        html = me.page(path)
        assert token not in html, f"{path} shows the stored token"
        assert "Passed" in html or path != f"/ui/accounts/{conn_id}"
    # Editing with the secret left blank keeps it: the connection still tests fine.
    me.page(f"/ui/accounts/{conn_id}/edit")
    saved = me.post(f"/ui/accounts/{conn_id}/edit", {"name": "Renamed", "accessToken": ""})
    assert saved.status_code == 303
    after = me.page(f"/ui/accounts/{conn_id}")
    assert "Renamed" in after and "Connection test passed" in after
    assert token not in after
    for cookie in me.http.cookies.jar:
        assert token not in (cookie.value or "")


def test_a_form_post_without_a_valid_csrf_token_is_refused(
    stack: Stack, browsers: list[Browser]
) -> None:
    me, other = browsers
    me.sign_in(stack.new_client())
    other.sign_in(stack.new_client())
    conn_id = me.connect_private_app("Keep me", stack.emulator["private_app_token"])
    attempts = [
        me.post(f"/ui/accounts/{conn_id}/delete", {}, csrf=False),
        me.post(f"/ui/accounts/{conn_id}/delete", {"csrf_token": "forged"}),
        me.post(f"/ui/accounts/{conn_id}/delete", {"csrf_token": other.csrf}),
        me.http.post(f"/ui/accounts/{conn_id}/delete", headers={"x-csrf-token": "forged"}),
    ]
    for r in attempts:
        assert r.status_code == 403
        assert "This form has expired" in r.text
    assert "Keep me" in me.page(f"/ui/accounts/{conn_id}")
    # The sign-in form is protected too, before any session exists.
    fresh = Browser(stack.base_url)
    try:
        r = fresh.post("/ui/sign-in", {"client_id": "x", "client_secret": "y"}, csrf=False)
        assert r.status_code == 403
    finally:
        fresh.close()
    # With the right token the same post works.
    me.page(f"/ui/accounts/{conn_id}")
    done = me.post(f"/ui/accounts/{conn_id}/delete", {})
    assert done.status_code == 303
    assert me.get(f"/ui/accounts/{conn_id}").status_code == 404


def test_a_session_sees_nothing_of_another_org(stack: Stack, browsers: list[Browser]) -> None:
    a, b = browsers
    a.sign_in(stack.new_client())
    b.sign_in(stack.new_client())
    conn_id = a.connect_private_app("Org A account", stack.emulator["private_app_token"])
    assert "Org A account" in a.page("/ui/accounts")
    assert "Org A account" not in b.page("/ui/accounts")
    for path in (
        f"/ui/accounts/{conn_id}",
        f"/ui/accounts/{conn_id}/edit",
        f"/ui/accounts/{conn_id}/data",
    ):
        r = b.get(path)
        assert r.status_code == 404, path
        assert "Org A account" not in r.text
    b.page("/ui/accounts")
    r = b.post(f"/ui/accounts/{conn_id}/delete", {})
    assert r.status_code == 404
    assert "Org A account" in a.page(f"/ui/accounts/{conn_id}")
    # Another org's cookie cannot be bent to this org either: the cookie is sealed.
    sealed = b.http.cookies.get("hw_session", path="/ui")
    assert sealed
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    r = httpx.get(
        stack.base_url + f"/ui/accounts/{conn_id}", cookies={"hw_session": tampered}, timeout=30
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/sign-in")


def test_signing_out_ends_the_session(stack: Stack, browsers: list[Browser]) -> None:
    me = browsers[0]
    me.sign_in(stack.new_client())
    cookie = me.http.cookies.get("hw_session", path="/ui")
    assert cookie
    assert me.get("/ui/accounts").status_code == 200
    me.page("/ui/accounts")
    out = me.post("/ui/sign-out", {})
    assert out.status_code == 303 and out.headers["location"] == "/ui/sign-in"
    assert me.http.cookies.get("hw_session", path="/ui") is None
    # The old cookie, replayed, no longer works: the token behind it was revoked.
    replay = httpx.get(stack.base_url + "/ui/accounts", cookies={"hw_session": cookie}, timeout=30)
    assert replay.status_code == 303
    assert re.match(r"/ui/sign-in\?next=", replay.headers["location"])
    # The cookie is HttpOnly, SameSite=Strict and limited to /ui.
    client = stack.new_client()
    me.page("/ui/sign-in")
    signed = me.post(
        "/ui/sign-in", {"client_id": client.client_id, "client_secret": client.client_secret}
    )
    set_cookie = next(
        v for k, v in signed.headers.multi_items() if k == "set-cookie" and "hw_session=" in v
    ).lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/ui" in set_cookie
