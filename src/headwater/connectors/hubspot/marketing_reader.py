"""Reads of the lists and marketing tables (``marketing_tables.py``), one page fetcher per table.

Every read yields a ``ProgressEvent``, then per page a ``BatchEvent`` and a ``CheckpointEvent``
whose state resumes right after that page, and a final checkpoint. The state is
``{"v": 1, "cursor_ms": <start of the last finished read>, "run": {...} | null}``; ``run`` holds
the window, the fetcher's position (``resume``) and counts while a read is unfinished.

Tables with a cursor read the window ``[cursor - lookback, sync start)``: form submissions by
``submittedAt`` (served newest first, per form), email events and subscription changes by the
API's own ``startTimestamp``/``endTimestamp``. The others are read in full (the lists fetcher
could stop at a window's start, its search being sorted newest first, but a list's size moves
without its ``updatedAt``); forms and marketing
emails add an ``archived=true`` pass whose rows come back with ``Is_Deleted``. List memberships
are listed in full (HubSpot has no cursor for them); given the dataset's rows (``known``), only
the memberships that are new, re-added or gone are written, the gone ones with ``Removed_At``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from headwater.connectors.events import (
    BatchEvent,
    CheckpointEvent,
    KnownRows,
    ProgressEvent,
    ReadEvent,
)
from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms
from headwater.connectors.hubspot.http import HubSpotHttp, json_body
from headwater.connectors.hubspot.marketing_tables import MarketingTable, marketing_table
from headwater.connectors.hubspot.schema import TableLayout
from headwater.connectors.hubspot.state import FULL, INCREMENTAL
from headwater.errors import CheckpointError, FatalSourceError, PaginationLoopError

__all__ = ["MarketingReader", "MarketingState"]

VERSION = 1
LIST_SEARCH_COUNT = 500
LIST_SEARCH_OFFSET_CAP = 10_000


@dataclass(slots=True, kw_only=True)
class MarketingRun:
    strategy: str
    reason: str
    sync_start_ms: int
    window_start_ms: int | None = None
    resume: dict[str, Any] = field(default_factory=dict)
    records: int = 0
    deleted: int = 0
    pages: int = 0


@dataclass(slots=True)
class MarketingState:
    cursor_ms: int | None = None
    run: MarketingRun | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> MarketingState:
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise CheckpointError("the HubSpot checkpoint is not an object")
        if data.get("v", VERSION) != VERSION:
            raise CheckpointError(f"unsupported HubSpot checkpoint version {data.get('v')!r}")
        run = data.get("run")
        cursor = data.get("cursor_ms")
        try:
            return cls(
                cursor_ms=int(cursor) if cursor is not None else None,
                run=MarketingRun(**run) if isinstance(run, Mapping) else None,
            )
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the HubSpot checkpoint is damaged: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "cursor_ms": self.cursor_ms,
            "run": asdict(self.run) if self.run is not None else None,
        }


@dataclass(slots=True)
class Page:
    records: list[dict[str, Any]]
    resume: dict[str, Any]
    deleted: bool = False


def _get(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _ms(value: Any) -> int | None:
    if isinstance(value, datetime):  # a timestamp column of the dataset's rows
        return round(value.timestamp() * 1000)
    return parse_datetime_ms(value)


class MarketingReader:
    def __init__(
        self,
        *,
        http: HubSpotHttp,
        layout: TableLayout,
        state: Mapping[str, Any] | None,
        mode: str,
        now_ms: Callable[[], int],
        lookback_ms: int,
        known: KnownRows | None = None,
    ) -> None:
        self._http = http
        self._layout = layout
        self._spec: MarketingTable = marketing_table(layout.table)
        self._name = layout.table.name
        self._state = MarketingState.from_json(state)
        self._mode = mode
        self._now_ms = now_ms
        self._lookback_ms = lookback_ms
        self._known = known
        self._start_requests = http.stats["requests"]
        self._preview_limit: int | None = None  # a preview lists only what it shows

    # ------------------------------------------------------------------ the read loop

    def _plan(self) -> MarketingRun:
        now = self._now_ms()
        st = self._state
        if self._spec.table.cursor_property is None:
            return MarketingRun(strategy=FULL, reason=self._spec.reason, sync_start_ms=now)
        if self._mode == "full":
            return MarketingRun(strategy=FULL, reason="full read requested", sync_start_ms=now)
        if st.cursor_ms is None:
            return MarketingRun(
                strategy=FULL, reason="first sync: no cursor yet", sync_start_ms=now
            )
        start = st.cursor_ms - self._lookback_ms
        cursor = self._spec.table.cursor_property
        return MarketingRun(
            strategy=INCREMENTAL,
            reason=(
                f"{cursor} from {datetime.fromtimestamp(start / 1000, UTC).isoformat()} "
                f"(the last read's start minus {self._lookback_ms // 1000} s lookback)"
            ),
            sync_start_ms=now,
            window_start_ms=start,
        )

    def _progress(self, run: MarketingRun, phase: str, *, complete: bool = False) -> ProgressEvent:
        return ProgressEvent(
            table=self._name,
            strategy=run.strategy,
            reason=run.reason,
            phase=phase,
            records=run.records,
            pages=run.pages,
            requests=self._http.stats["requests"] - self._start_requests,
            complete=complete,
        )

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        if st.run is None:
            st.run = self._plan()
        run = st.run
        yield self._progress(run, "live")
        for page in self._pages(run):
            if page.records:
                batch = build_batch(self._layout, page.records, deleted=page.deleted)
                yield BatchEvent(self._name, batch, page.deleted)
            run.pages += 1
            if page.deleted:
                run.deleted += len(page.records)
            else:
                run.records += len(page.records)
            run.resume = page.resume
            yield CheckpointEvent(self._name, st.to_json())
        st.cursor_ms = run.sync_start_ms
        st.run = None
        yield CheckpointEvent(self._name, st.to_json(), final=True)
        # a full listing is complete, unless memberships were filtered against the dataset's rows
        whole = run.strategy == FULL and not self._spec.append
        filtered = (
            self._known is not None
            and self._mode != "full"
            and self._spec.table.object_type == "list_memberships"
        )
        yield self._progress(run, "done", complete=whole and not filtered)

    def preview(self, limit: int) -> list[dict[str, Any]]:
        """The first rows of a fresh full read (the first page or two, and what they need)."""
        run = MarketingRun(strategy=FULL, reason="preview", sync_start_ms=self._now_ms())
        self._preview_limit = max(1, limit)
        out: list[dict[str, Any]] = []
        for page in self._pages(run):
            out.extend(page.records)
            if len(out) >= limit:
                break
        return out[:limit]

    def _pages(self, run: MarketingRun) -> Iterator[Page]:
        stream = self._spec.table.object_type
        fetch: dict[str, Callable[[MarketingRun], Iterator[Page]]] = {
            "lists": self._lists,
            "list_memberships": self._memberships,
            "forms": lambda r: self._v3(r, "/marketing/v3/forms", {}, archived=True),
            "form_submissions": self._submissions,
            "marketing_emails": lambda r: self._v3(
                r, "/marketing/v3/emails", {"includeStats": "true"}, archived=True
            ),
            "email_events": self._events,
            "email_campaigns": self._email_campaigns,
            "campaigns": lambda r: self._v3(
                r, "/marketing/v3/campaigns", {"properties": ",".join(self._campaign_props())}
            ),
            "subscription_types": self._definitions,
            "subscription_changes": self._timeline,
            "workflows": lambda r: self._v3(r, "/automation/v4/flows", {}),
        }
        return fetch[stream](run)

    def _flat(self, record: Mapping[str, Any], key: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": key}
        for path, _kind in self._spec.fields:
            out[".".join(path)] = _get(record, path)
        return out

    # ------------------------------------------------------------------ v3 lists with after

    def _v3(
        self, run: MarketingRun, path: str, extra: dict[str, str], *, archived: bool = False
    ) -> Iterator[Page]:
        phases = ["live", "archived"] if archived else ["live"]
        phase = str(run.resume.get("phase", "live"))
        after: str | None = run.resume.get("after")
        for current in phases[phases.index(phase) :]:
            seen: set[str] = set()
            while True:
                params = {"limit": "100", **extra}
                if archived:
                    params["archived"] = "true" if current == "archived" else "false"
                if after is not None:
                    params["after"] = after
                body = json_body(self._http.send("GET", path, params=params))
                results = body.get("results") if isinstance(body, dict) else None
                if not isinstance(results, list):
                    raise FatalSourceError(f"HubSpot answered {path} without a results list")
                nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
                if nxt is not None and (nxt == after or nxt in seen):
                    raise PaginationLoopError(f"HubSpot repeated the page cursor {nxt!r} of {path}")
                records = [self._flat(r, str(r.get("id"))) for r in results]
                done = nxt is None
                resume = (
                    {"phase": current, "after": str(nxt)}
                    if not done
                    else {"phase": phases[phases.index(current) + 1], "after": None}
                    if current != phases[-1]
                    else {"phase": "done", "after": None}
                )
                yield Page(records, resume, deleted=current == "archived")
                if done:
                    break
                after = str(nxt)
                seen.add(after)
            after = None

    def _campaign_props(self) -> list[str]:
        return [p[1] for p, _ in self._spec.fields if len(p) == 2 and p[0] == "properties"]

    # ------------------------------------------------------------------ lists

    def _search_lists(self, offset: int) -> dict[str, Any]:
        if offset >= LIST_SEARCH_OFFSET_CAP:
            raise FatalSourceError(
                f"HubSpot's lists search stops at offset {LIST_SEARCH_OFFSET_CAP}: "
                "this portal has more lists than Headwater can page through"
            )
        body = json_body(
            self._http.send(
                "POST",
                "/crm/v3/lists/search",
                json={
                    "count": LIST_SEARCH_COUNT,
                    "offset": offset,
                    "sort": "-HS_UPDATED_AT",
                    "additionalProperties": ["hs_list_size"],
                },
            )
        )
        if not isinstance(body, dict) or not isinstance(body.get("lists"), list):
            raise FatalSourceError("HubSpot answered /crm/v3/lists/search without lists")
        return body

    def _lists(self, run: MarketingRun) -> Iterator[Page]:
        offset = int(run.resume.get("offset", 0))
        since = run.window_start_ms
        while True:
            body = self._search_lists(offset)
            lists = body["lists"]
            fresh = [x for x in lists if since is None or (_ms(x.get("updatedAt")) or 0) >= since]
            detail: dict[str, dict[str, Any]] = {}
            if fresh:
                got = json_body(
                    self._http.send(
                        "GET",
                        "/crm/v3/lists",
                        params={
                            "listIds": [str(x["listId"]) for x in fresh],
                            "includeFilters": "true",
                        },
                    )
                )
                detail = {str(x.get("listId")): x for x in got.get("lists") or []}
            records = []
            for x in fresh:
                merged = {**x, **detail.get(str(x["listId"]), {})}
                if merged.get("size") is None:
                    merged["size"] = (x.get("additionalProperties") or {}).get("hs_list_size")
                records.append(self._flat(merged, str(x["listId"])))
            offset = int(body.get("offset", offset + len(lists)))
            last = len(fresh) < len(lists) or not body.get("hasMore") or not lists
            yield Page(records, {"offset": offset})
            if last:
                return

    def _all_list_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            body = self._search_lists(offset)
            ids.extend(str(x["listId"]) for x in body["lists"])
            if not body.get("hasMore") or not body["lists"]:
                return sorted(set(ids), key=lambda v: (len(v), v))
            offset = int(body.get("offset", offset + len(body["lists"])))

    def _known_memberships(self) -> dict[str, dict[str, int | None]] | None:
        """The dataset's memberships by list; ``None`` without them or on a full (reset) read,
        which writes every membership and lets the commit reconcile the rest away."""
        if self._known is None or self._mode == "full":
            return None
        out: dict[str, dict[str, int | None]] = {}
        for batch in self._known(["List_Id", "Record_Id", "Membership_Timestamp"]):
            cols = batch.to_pydict()
            stamps = cols.get("Membership_Timestamp") or [None] * batch.num_rows
            for lid, rid, ts in zip(cols["List_Id"], cols["Record_Id"], stamps, strict=True):
                out.setdefault(str(lid), {})[str(rid)] = _ms(ts)
        return out

    def _memberships(self, run: MarketingRun) -> Iterator[Page]:
        known = self._known_memberships()
        lists: list[str] = run.resume.get("lists") or self._all_list_ids()
        i = int(run.resume.get("i", 0))
        # with known rows a list is compared whole, so a resumed read restarts its list
        after: str | None = None if known is not None else run.resume.get("after")
        while i < len(lists):
            lid = lists[i]
            seen: set[str] = set()
            while True:
                params = {"limit": "250", **({"after": after} if after else {})}
                path = f"/crm/v3/lists/{lid}/memberships"
                body = json_body(
                    self._http.send("GET", path, params=params, allow=frozenset({404}))
                )
                results = body.get("results") if isinstance(body, dict) else None
                results = results if isinstance(results, list) else []
                rows = []
                have = (known or {}).get(lid, {})
                for m in results:
                    rid = str(m["recordId"])
                    seen.add(rid)
                    ts = m.get("membershipTimestamp")
                    if known is not None and rid in have and have[rid] == _ms(ts):
                        continue
                    rows.append(
                        self._flat(
                            {"listId": lid, "recordId": rid, "membershipTimestamp": ts},
                            f"{lid}-{rid}",
                        )
                    )
                nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
                if nxt is not None and nxt == after:
                    raise PaginationLoopError(f"HubSpot repeated the page cursor {nxt!r} of {path}")
                after = None if nxt is None else str(nxt)
                if after is not None:
                    yield Page(rows, {"lists": lists, "i": i, "after": after})
                    continue
                i += 1
                yield Page(rows, {"lists": lists, "i": i, "after": None})
                gone = sorted(set(have) - seen)
                if gone:
                    yield Page(self._removed(lid, gone, have, run), {"lists": lists, "i": i}, True)
                break
        if known is not None:
            for lid in sorted(set(known) - set(lists)):
                have = known[lid]
                yield Page(
                    self._removed(lid, sorted(have), have, run), {"lists": lists, "i": i}, True
                )

    def _removed(
        self, lid: str, gone: list[str], have: Mapping[str, int | None], run: MarketingRun
    ) -> list[dict[str, Any]]:
        return [
            self._flat(
                {
                    "listId": lid,
                    "recordId": rid,
                    "membershipTimestamp": have.get(rid),
                    "removedAt": run.sync_start_ms,
                },
                f"{lid}-{rid}",
            )
            for rid in gone
        ]

    # ------------------------------------------------------------------ form submissions

    def _form_ids(self) -> list[str]:
        ids: list[str] = []
        after: str | None = None
        while True:
            params = {"limit": "100", **({"after": after} if after else {})}
            body = json_body(self._http.send("GET", "/marketing/v3/forms", params=params))
            ids.extend(str(f["id"]) for f in body.get("results") or [])
            nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
            if nxt is None or nxt == after:
                return ids
            after = str(nxt)

    def _submissions(self, run: MarketingRun) -> Iterator[Page]:
        forms: list[str] = run.resume.get("forms") or self._form_ids()
        i = int(run.resume.get("i", 0))
        after: str | None = run.resume.get("after")
        since, until = run.window_start_ms, run.sync_start_ms
        while i < len(forms):
            form = forms[i]
            path = f"/form-integrations/v1/submissions/forms/{form}"
            params = {"limit": "50", **({"after": after} if after else {})}
            body = json_body(self._http.send("GET", path, params=params))
            rows = []
            older = False
            for s in body.get("results") or []:
                at = _ms(s.get("submittedAt")) or 0
                if since is not None and at < since:
                    older = True
                    break
                if at >= until:
                    continue
                values = s.get("values") or []
                email = next((v.get("value") for v in values if v.get("name") == "email"), None)
                rows.append(
                    self._flat({**s, "formId": form, "email": email}, str(s["conversionId"]))
                )
            nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
            if nxt is not None and nxt == after:
                raise PaginationLoopError(f"HubSpot repeated the page cursor {nxt!r} of {path}")
            if nxt is None or older:
                i, after = i + 1, None
            else:
                after = str(nxt)
            yield Page(rows, {"forms": forms, "i": i, "after": after})

    # ------------------------------------------------------------------ v1 windows: events, timeline

    def _window(self, run: MarketingRun) -> dict[str, str]:
        params = {"endTimestamp": str(run.sync_start_ms - 1), "limit": "1000"}
        if run.window_start_ms is not None:
            params["startTimestamp"] = str(max(0, run.window_start_ms))
        return params

    def _v1(
        self, run: MarketingRun, path: str, key: str
    ) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        offset: str | None = run.resume.get("offset")
        while True:
            params = {**self._window(run), **({"offset": offset} if offset else {})}
            body = json_body(self._http.send("GET", path, params=params))
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise FatalSourceError(f"HubSpot answered {path} without {key}")
            more = bool(body.get("hasMore"))
            nxt = body.get("offset")
            if more and (nxt is None or str(nxt) == offset):
                raise PaginationLoopError(f"HubSpot repeated the offset {nxt!r} of {path}")
            offset = None if nxt is None else str(nxt)
            yield items, {"offset": offset if more else None, "done": not more}
            if not more:
                return

    def _events(self, run: MarketingRun) -> Iterator[Page]:
        if run.resume.get("done"):
            return
        for items, resume in self._v1(run, "/email/public/v1/events", "events"):
            rows = [
                self._flat({**e, "eventId": e.get("id")}, f"{e.get('created')}-{e.get('id')}")
                for e in items
            ]
            yield Page(rows, resume)

    def _timeline(self, run: MarketingRun) -> Iterator[Page]:
        if run.resume.get("done"):
            return
        for items, resume in self._v1(run, "/email/public/v1/subscriptions/timeline", "timeline"):
            rows = []
            for item in items:
                head = {k: item.get(k) for k in ("timestamp", "recipient", "portalId")}
                for n, change in enumerate(item.get("changes") or []):
                    cause = change.get("causedByEvent") or {}
                    key = (
                        f"{cause.get('id')}:{change.get('changeType')}:{change.get('subscriptionId') or ''}"
                        if cause.get("id")
                        else f"{head['timestamp']}:{head['recipient']}:{n}"
                    )
                    rows.append(self._flat({**change, **head}, key))
            yield Page(rows, resume)

    def _email_campaigns(self, run: MarketingRun) -> Iterator[Page]:
        """The v1 list (ids, ``offset``/``hasMore``), then one read per campaign."""
        if run.resume.get("done"):
            return
        offset: str | None = run.resume.get("offset")
        path = "/email/public/v1/campaigns"
        while True:
            limit = min(500, self._preview_limit or 500)
            params = {"limit": str(limit), **({"offset": offset} if offset else {})}
            body = json_body(self._http.send("GET", path, params=params))
            items = body.get("campaigns") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise FatalSourceError(f"HubSpot answered {path} without campaigns")
            rows = []
            for item in items:
                detail = self._http.send("GET", f"{path}/{item['id']}", allow=frozenset({404}))
                if detail.status_code == 404:  # deleted between the list and the read
                    continue
                rows.append(self._flat({**item, **json_body(detail)}, str(item["id"])))
            more = bool(body.get("hasMore"))
            nxt = body.get("offset")
            if more and (nxt is None or str(nxt) == offset):
                raise PaginationLoopError(f"HubSpot repeated the offset {nxt!r} of {path}")
            offset = None if nxt is None else str(nxt)
            yield Page(rows, {"offset": offset, "done": not more})
            if not more:
                return

    # ------------------------------------------------------------------ one call

    def _definitions(self, _run: MarketingRun) -> Iterator[Page]:
        body = json_body(self._http.send("GET", "/communication-preferences/v3/definitions"))
        items = body.get("subscriptionDefinitions") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FatalSourceError("HubSpot answered the subscription definitions without a list")
        yield Page([self._flat(d, str(d.get("id"))) for d in items], {"done": True})
