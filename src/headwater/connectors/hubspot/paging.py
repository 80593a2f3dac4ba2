"""Fetching HubSpot pages: property chunks, association batch reads, and the threads that walk
page cursors ahead of the consumer (at most ``queue_pages`` pages per chain)."""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from headwater.connectors.hubspot.http import HubSpotHttp
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import MalformedSourceResponseError, PaginationLoopError

__all__ = [
    "ASSOCIATION_BATCH",
    "MAX_EMPTY_PAGES",
    "MAX_PROPERTIES_CHARS",
    "Chain",
    "Page",
    "chunk_properties",
    "fetch_associations",
    "inline_associations",
    "next_after",
    "page_records",
    "parse_body",
    "walk",
    "walk_chains",
]

#: Airbyte's empirical bound for the URL-encoded ``properties`` value (the URL limit is ~16,300).
MAX_PROPERTIES_CHARS = 15_000
ASSOCIATION_BATCH = 1_000
AFTER = re.compile(rb'"paging"\s*:\s*\{\s*"next"\s*:\s*\{[^{}]*?"after"\s*:\s*"([^"\\]*)"')
END = object()
URI_TOO_LONG = frozenset({414})
MIN_PROPERTIES_CHARS = 250


class UriTooLongError(Exception):
    """A list call's URL was too long for HubSpot (414)."""


EMPTY_PAGE_RETRIES = 3
#: Empty pages in a row, each with a new cursor, after which paging is taken for a loop: HubSpot
#: skips over a gap of deleted ids within a page, it does not hand out empty pages to walk it.
MAX_EMPTY_PAGES = 50


def parse_body(raw: bytes, where: str) -> dict[str, Any]:
    """A page's JSON object, or :class:`MalformedSourceResponseError` naming what came back."""
    try:
        body = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise MalformedSourceResponseError(
            f"HubSpot answered {where} with a body that is not JSON ({len(raw)} bytes, {exc})"
        ) from None
    if not isinstance(body, dict):
        raise MalformedSourceResponseError(
            f"HubSpot answered {where} with a JSON {type(body).__name__}, not an object"
        )
    return body


def page_records(body: Any, where: str) -> list[dict[str, Any]]:
    """``results`` of a page: a list of records that each have an ``id``, or a clear error (a
    missing or null ``results`` is not an empty page: HubSpot always sends the list)."""
    results = body.get("results", None) if isinstance(body, dict) else None
    if not isinstance(results, list):
        got = (
            "no results"
            if not isinstance(body, dict) or "results" not in body
            else (f"results of type {type(results).__name__}")
        )
        raise MalformedSourceResponseError(f"HubSpot answered {where} with {got}, not a list")
    for record in results:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str | int):
            raise MalformedSourceResponseError(
                f"HubSpot answered {where} with a record that is not an object with an id: "
                f"{json.dumps(record)[:200]}"
            )
    return results


def next_after(body: Any, where: str) -> str | None:
    """The ``paging.next.after`` cursor of a page (``None``: the last page)."""
    paging = body.get("paging") if isinstance(body, dict) else None
    if paging is None:
        return None
    nxt = paging.get("next") if isinstance(paging, dict) else "?"
    if nxt is None:
        return None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    if isinstance(after, bool) or not isinstance(after, str | int) or after == "":
        raise MalformedSourceResponseError(
            f"HubSpot answered {where} with paging that has no next cursor: "
            f"{json.dumps(paging)[:200]}"
        )
    return str(after)


def chunk_properties(
    names: Sequence[str], max_chars: int = MAX_PROPERTIES_CHARS
) -> list[list[str]]:
    """Split property names so each comma-joined, URL-encoded chunk stays within ``max_chars``."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in names:
        cost = len(quote(name, safe="")) + (3 if current else 0)  # "%2C" between names
        if current and size + cost > max_chars:
            chunks.append(current)
            current, size = [], 0
            cost = len(quote(name, safe=""))
        current.append(name)
        size += cost
    if current or not chunks:
        chunks.append(current)
    return chunks


def fetch_associations(
    http: HubSpotHttp, from_type: str, to_type: str, ids: Sequence[str], kind: RequestKind
) -> dict[str, list[str]]:
    """``from id → associated ids`` through ``POST /crm/v4/associations/.../batch/read``."""
    found: dict[str, list[str]] = {}
    pending: list[dict[str, str]] = [{"id": i} for i in ids]
    path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
    while pending:
        batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        body = parse_body(
            http.send("POST", path, kind=kind, json={"inputs": batch}).content, f"POST {path}"
        )
        results = body.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise MalformedSourceResponseError(
                f"HubSpot answered POST {path} without a results list of objects"
            )
        for result in results:
            source = str((result.get("from") or {}).get("id"))
            targets = found.setdefault(source, [])
            for to in result.get("to") or []:
                target = str(to.get("toObjectId"))
                if target not in targets:
                    targets.append(target)
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                pending.append({"id": source, "after": str(after)})
    return found


def _target(key: str) -> str:
    """The association target of an inline ``associations`` key (``"line items"`` and
    ``"line_items"`` both name ``line_items``)."""
    return key.strip().lower().replace(" ", "_")


def inline_associations(
    http: HubSpotHttp,
    from_type: str,
    targets: Sequence[str],
    records: Sequence[dict[str, Any]],
    kind: RequestKind,
) -> dict[str, dict[str, list[str]]]:
    """``target → from id → associated ids`` from list records fetched with ``associations=``.

    HubSpot returns at most 100 associations per record and type inline; a truncated block
    carries ``paging``, and only those records are completed with a v4 batch read (which the
    ten-second window exempts). Records without a block for a type have no associations of it.
    """
    found: dict[str, dict[str, list[str]]] = {t: {} for t in targets}
    truncated: dict[str, list[str]] = {t: [] for t in targets}
    for record in records:
        block = record.get("associations")
        if not block:
            continue
        rid = str(record.get("id"))
        for key, value in block.items():
            target = _target(key)
            if target not in found or not isinstance(value, dict):
                continue
            ids = [str(e.get("id")) for e in value.get("results") or []]
            found[target][rid] = list(dict.fromkeys(ids))  # one entry per label type
            if value.get("paging"):
                truncated[target].append(rid)
    for target, ids in truncated.items():
        if ids:
            found[target].update(fetch_associations(http, from_type, target, ids, kind))
    return found


@dataclass(slots=True)
class Page:
    """One fetched page: the position it was fetched at and what resumes after it."""

    bodies: list[bytes | Future[bytes]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None
    next_pos: str | None = None
    total: int | None = None
    part: int | None = None  # partition of a partitioned full read
    lo: int = 0  # ids outside [lo, hi) belong to a neighbouring partition
    hi: int | None = None
    where: str = ""  # the request, for error messages

    def materialize(self) -> list[dict[str, Any]]:
        if self.records is not None:
            return self.records
        where = self.where or "a list page"
        parsed = [parse_body(b if isinstance(b, bytes) else b.result(), where) for b in self.bodies]
        records = page_records(parsed[0], where)
        if len(parsed) > 1:
            by_id = {r["id"]: r for r in records}
            for extra in parsed[1:]:
                for r in page_records(extra, where):
                    base = by_id.get(r["id"])
                    if base is not None:
                        base.setdefault("properties", {}).update(r.get("properties") or {})
        if self.part is not None:
            lo, hi = self.lo, self.hi
            records = [
                r for r in records if lo <= int(r["id"]) and (hi is None or int(r["id"]) < hi)
            ]
        self.records = records
        self.bodies = []
        return records


#: a cursor chain: fetch(position), start position, an already fetched first page, numeric ids
Chain = tuple[Callable[[str | None], Page], str | None, Page | None, bool]


def _produce(
    name: str,
    fetch: Callable[[str | None], Page],
    start: str | None,
    first: Page | None,
    out: queue.Queue[object],
    stop: threading.Event,
    numeric: bool,
) -> None:
    """Walk one cursor chain into ``out``; ends with ``END`` or the exception that stopped it."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    pos = start
    seen: set[str] = set()
    empty_retries = EMPTY_PAGE_RETRIES
    empty_run = 0
    try:
        while not stop.is_set():
            page = first if first is not None else fetch(pos)
            first = None
            nxt = page.next_pos
            empty = nxt is not None and not page.materialize()
            if empty and nxt == pos and empty_retries > 0:
                # an empty page that points back at itself: a hiccup, ask again
                empty_retries -= 1
                continue
            empty_retries = EMPTY_PAGE_RETRIES
            empty_run = empty_run + 1 if empty else 0
            if empty_run >= MAX_EMPTY_PAGES:
                raise PaginationLoopError(
                    f"HubSpot answered {empty_run} empty pages of {name} in a row, each with a "
                    f"new cursor (the last {nxt!r}); paging does not end"
                )
            if not put(page):
                return
            if nxt is None:
                break
            if nxt == pos or nxt in seen or (numeric and pos is not None and int(nxt) <= int(pos)):
                raise PaginationLoopError(f"HubSpot repeated the page cursor {nxt!r} of {name}")
            if not numeric:
                seen.add(nxt)
            pos = nxt
        put(END)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
        put(exc)


def walk(
    name: str,
    queue_pages: int,
    fetch: Callable[[str | None], Page],
    start: str | None,
    first: Page | None,
    numeric: bool,
) -> Iterator[Page]:
    return walk_chains(name, queue_pages, [(fetch, start, first, numeric)])


def walk_chains(
    name: str,
    queue_pages: int,
    chains: Sequence[Chain],
) -> Iterator[Page]:
    """Pages of several cursor chains walked concurrently, each chain's pages in order."""
    out: queue.Queue[object] = queue.Queue(maxsize=queue_pages * len(chains))
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=_produce,
            args=(name, fetch, start, first, out, stop, numeric),
            name=f"hubspot-pages-{name}-{i}",
            daemon=True,
        )
        for i, (fetch, start, first, numeric) in enumerate(chains)
    ]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            item = out.get()
            if item is END:
                running -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Page)
            yield item
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=0.5)
