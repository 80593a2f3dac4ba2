"""A small client of Headwater's public API: IMS tokens, gateway headers, Adobe errors, paging."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from headwater.cli.remote.profiles import CachedToken, Profile, cached_token, store_token
from headwater.domain.paths import CATALOG_PATH, FLOW_SERVICE_PATH, IMS_TOKEN_PATH
from headwater.errors import RemoteError

FLOW = FLOW_SERVICE_PATH
CATALOG = CATALOG_PATH
INVALID_TOKEN = "401013"


def error_code(body: Any) -> tuple[str, str]:
    """``(code, message)`` of an Adobe error body: the Flow Service envelope, the gateway shape
    (``error_code``/``message``) or IMS (``error``/``error_description``); empty when neither."""
    if not isinstance(body, dict):
        return "", ""
    if isinstance(body.get("type"), str) and ("errorMessage" in body or "title" in body):
        code = body["type"].rstrip("/").rsplit("/", 1)[-1]
        report = body["report"] if isinstance(body.get("report"), dict) else {}
        message = body.get("errorMessage") or report.get("detailed-message") or body.get("title")
        return code, str(message or "")
    if "error_code" in body:
        return str(body["error_code"]), str(body.get("message") or "")
    if "error" in body and isinstance(body["error"], str):
        return body["error"], str(body.get("error_description") or "")
    if "detail" in body:
        return "", str(body["detail"])
    return "", ""


def raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = error_code(body)
    if not message:
        text = response.text.strip().replace("\n", " ")[:200]
        message = f"HTTP {response.status_code} from {response.request.url.path}" + (
            f": {text}" if text else ""
        )
    raise RemoteError(message, code=code or str(response.status_code), status=response.status_code)


def fetch_token(http: httpx.Client, profile: Profile) -> CachedToken:
    """A new token for the profile's client (client credentials)."""
    return client_credentials(http, profile.client_id, profile.client_secret)


def client_credentials(http: httpx.Client, client_id: str, client_secret: str) -> CachedToken:
    """A new token from ``POST /ims/token/v3`` (client-credentials grant)."""
    started = time.time()
    r = send(
        http,
        "POST",
        IMS_TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    raise_for(r)
    body = r.json()
    return CachedToken(str(body["access_token"]), started + float(body["expires_in"]))


def send(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; a network failure becomes a one-line :class:`RemoteError`."""
    try:
        return http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise RemoteError(f"{http.base_url} did not answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach {http.base_url}: {exc}") from exc


class ApiClient:
    """Calls the API as a profile: cached token (refreshed when it expires or is refused with
    401013), ``x-api-key``, ``x-gw-ims-org-id`` and ``x-sandbox-name`` on every request."""

    def __init__(
        self, profile: Profile, home: Path, *, timeout: float = 60.0, persist: bool = True
    ) -> None:
        self.profile = profile
        self.home = home
        self.persist = persist  # False: keep tokens in memory only (login, until it succeeds)
        self.http = httpx.Client(base_url=profile.endpoint.rstrip("/"), timeout=timeout)
        self._token: CachedToken | None = None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def token(self, *, renew: bool = False) -> str:
        if not renew and self._token is None and self.persist:
            self._token = cached_token(self.home, self.profile)
        if renew or self._token is None or not self._token.fresh(time.time()):
            self._token = fetch_token(self.http, self.profile)
            if self.persist:
                self.save_token()
        return self._token.access_token

    def save_token(self) -> None:
        """Cache the token in use for the next command."""
        store_token(self.home, self.profile, self._token)

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.profile.client_id,
            "x-gw-ims-org-id": self.profile.org,
            "x-sandbox-name": self.profile.sandbox,
            "Accept": "application/json",
        }

    def response(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with the gateway headers (plus any ``headers=`` given), retrying once with a new
        token when the server refuses the cached one with 401013."""
        extra = kwargs.pop("headers", None) or {}
        r = send(self.http, method, url, headers=self._headers(self.token()) | extra, **kwargs)
        if r.status_code == 401 and _gateway_code(r) == INVALID_TOKEN:
            headers = self._headers(self.token(renew=True)) | extra
            r = send(self.http, method, url, headers=headers, **kwargs)
        return r

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send (see :meth:`response`); the JSON body, or None when empty; an error answer
        raises :class:`RemoteError`."""
        r = self.response(method, url, **kwargs)
        raise_for(r)
        return r.json() if r.content else None

    def exists(self, url: str) -> bool:
        """Whether ``GET url`` finds the resource (404 is False; any other error raises)."""
        r = self.response("GET", url)
        if r.status_code == 404:
            return False
        raise_for(r)
        return True

    def get(self, url: str, **params: Any) -> Any:
        return self.request("GET", url, params={k: v for k, v in params.items() if v is not None})

    def post(self, url: str, **params: Any) -> Any:
        return self.request("POST", url, params={k: v for k, v in params.items() if v is not None})

    def one(self, collection: str, res_id: str) -> dict[str, Any]:
        """``GET /{collection}/{id}`` (Flow Service wraps a single resource in ``items``)."""
        body = self.get(f"{FLOW}/{collection}/{segment(res_id)}")
        items = body.get("items") if isinstance(body, dict) else None
        if not items:
            raise RemoteError(f"{collection} {res_id} is not found", code="FLOW-1101-404")
        item: dict[str, Any] = items[0]
        return item

    def pages(
        self,
        collection: str,
        *,
        properties: list[str] | None = None,
        orderby: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a Flow Service list, following ``_links.next.href``, up to ``limit``."""
        params: dict[str, Any] = {"limit": min(page_size, limit) if limit else page_size}
        if properties:
            params["property"] = properties
        if orderby:
            params["orderby"] = orderby
        url: str | None = f"{FLOW}/{collection}"
        seen = 0
        while url:
            body = self.request("GET", url, params=params)
            for item in body.get("items", []):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            href = (body.get("_links") or {}).get("next", {}).get("href")
            url, params = _next_url(href), {}


def _next_url(href: str | None) -> str | None:
    """Headwater's ``next.href`` is relative to the service (``/flows?continuationToken=...``);
    Adobe's may be absolute or carry the full path."""
    if not href:
        return None
    if href.startswith(("http://", "https://", FLOW + "/")):
        return href
    return FLOW + href


def segment(res_id: str) -> str:
    """An id as one URL path segment."""
    return quote(res_id, safe="")


def _gateway_code(r: httpx.Response) -> str:
    try:
        return error_code(r.json())[0]
    except ValueError:
        return ""
