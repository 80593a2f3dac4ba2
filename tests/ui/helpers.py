"""A person's browser session over plain HTTP (cookies, CSRF tokens from the forms)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.ui.conftest import Client

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"


class Browser:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def page(self, path: str) -> str:
        r = self.http.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r.text

    def post(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        body = dict(data)
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.http.post(path, data=body)

    def sign_in(self, client: Client) -> None:
        self.page("/ui/sign-in")
        r = self.post(
            "/ui/sign-in", {"client_id": client.client_id, "client_secret": client.client_secret}
        )
        assert r.status_code == 303, r.text[:500]
        self.page("/ui/sources")

    def connect_private_app(self, name: str, token: str) -> str:
        self.page(f"/ui/sources/{HUBSPOT}/connect")
        r = self.post(
            f"/ui/sources/{HUBSPOT}/connect",
            {"auth_spec": "Private App Token", "name": name, "accessToken": token},
        )
        assert r.status_code == 303, r.text[:800]
        location = r.headers["location"]
        assert location.startswith("/ui/accounts/")
        return location.rsplit("/", 1)[-1]
