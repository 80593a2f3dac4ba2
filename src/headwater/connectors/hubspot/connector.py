"""The HubSpot source: check, explore and read, built from plain values (no settings)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

import pyarrow as pa

from headwater.connectors.base import ReadMode, RequestCounts
from headwater.connectors.events import KnownRows, ReadEvent
from headwater.connectors.hubspot.assoc_reader import AssociationReader, association_layout
from headwater.connectors.hubspot.auth import (
    Authenticator,
    OAuthAuth,
    PrivateAppAuth,
    ServiceKeyAuth,
    TokensCallback,
    parse_expiry,
)
from headwater.connectors.hubspot.convert import build_batch, rows_for_preview
from headwater.connectors.hubspot.derived import derived_tables
from headwater.connectors.hubspot.history import HistoryReader, history_layout, select_history
from headwater.connectors.hubspot.http import HubSpotHttp, json_body, new_httpx_client
from headwater.connectors.hubspot.marketing_reader import MarketingReader
from headwater.connectors.hubspot.marketing_tables import (
    MARKETING_TABLES,
    marketing_layout,
    marketing_table,
)
from headwater.connectors.hubspot.merges import MergeReader, merge_layout
from headwater.connectors.hubspot.paths import ApiPaths
from headwater.connectors.hubspot.reader import ReadOptions, TableReader, now_ms, require_records
from headwater.connectors.hubspot.refresh import MERGED_PROPERTY
from headwater.connectors.hubspot.schema import PropertyDef, TableLayout, layout_for
from headwater.connectors.hubspot.simple import SimpleReader
from headwater.connectors.hubspot.simple_tables import SIMPLE_KINDS, simple_layout
from headwater.connectors.hubspot.simple_tables import path_for as simple_path
from headwater.connectors.hubspot.state import StreamState
from headwater.connectors.hubspot.tables import (
    STANDARD_TABLES,
    TableDef,
    TableKind,
    custom_table,
)
from headwater.connectors.ratelimit import DEFAULT_REGISTRY, LimiterRegistry
from headwater.connectors.retry import RetryPolicy
from headwater.errors import (
    FatalSourceError,
    InvalidRequestError,
    MissingScopeError,
    RetriableSourceError,
    SourceAuthError,
    TableNotFoundError,
)

__all__ = [
    "AUTH_OAUTH",
    "AUTH_PRIVATE_APP",
    "AUTH_SERVICE_KEY",
    "DEFAULT_BASE_URL",
    "HubSpotConnector",
    "ReadMode",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
AUTH_OAUTH = "Basic Authentication"
AUTH_PRIVATE_APP = "Private App Token"
AUTH_SERVICE_KEY = "Service Key"

#: The connector's short name (``ConnectorType.name``): its request counters are named after it.
NAME = "hubspot"


_MARKETING = tuple(t.table for t in MARKETING_TABLES)


class HubSpotConnector:
    """One HubSpot connection.

    ``auth_spec_name`` is ``"Basic Authentication"`` (OAuth; params ``clientId``,
    ``clientSecret``, ``accessToken``, ``refreshToken``, optionally ``expiresAt``) or
    ``"Private App Token"`` (param ``accessToken``) or ``"Service Key"`` (param ``serviceKey``).
    Any of them takes ``apiVersion``: ``"legacy"`` keeps the connection on HubSpot's v3/v4 paths,
    a date version (``"2026-03"``, the default) picks the dated ones. ``on_tokens_refreshed`` receives
    ``{"accessToken", "refreshToken", "expiresAt"}`` after every renewal, to be stored encrypted.
    Connectors of the same portal share one rate limiter through ``limiter_registry``.

    ``learned`` is what an earlier connector of the same connection reported to ``on_learned``
    (non-secret: the portal id and a fingerprint of the credentials and base URL it belongs to:
    the static token, or the OAuth app's client id and refresh token); it saves the portal
    lookup (or the OAuth introspection) as long as the fingerprint matches, so other credentials
    (or another portal) are always looked up again.
    """

    def __init__(
        self,
        *,
        auth_spec_name: str,
        params: Mapping[str, str],
        base_url: str = DEFAULT_BASE_URL,
        on_tokens_refreshed: TokensCallback | None = None,
        limiter_registry: LimiterRegistry = DEFAULT_REGISTRY,
        retry: RetryPolicy | None = None,
        read_options: ReadOptions | None = None,
        clock_ms: Callable[[], int] = now_ms,
        max_workers: int = 8,
        timeout_s: float = 60.0,
        learned: Mapping[str, str] | None = None,
        on_learned: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = new_httpx_client(
            self.base_url, timeout_s=timeout_s, max_connections=max_workers * 2
        )
        self._retry = retry or RetryPolicy()
        self.paths = ApiPaths(params.get("apiVersion"))
        self.auth: Authenticator = self._make_auth(auth_spec_name, params, on_tokens_refreshed)
        self._on_learned = on_learned
        self._learned = dict(learned or {})
        known_portal = self._known_portal(self._learned)
        if isinstance(self.auth, OAuthAuth) and known_portal is not None:
            # saves the introspection when the token's expiry is known too
            self.auth.hub_id = known_portal
        self.http = HubSpotHttp(
            client=self._client,
            auth=self.auth,
            registry=limiter_registry,
            retry=self._retry,
            paths=self.paths,
            portal_lookup=not isinstance(self.auth, OAuthAuth),
            known_portal=known_portal,
            on_portal=self._portal_learned if on_learned is not None else None,
            clock_ms=clock_ms,
        )
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hubspot")
        self._options = read_options or ReadOptions()
        self._local_ms = clock_ms
        self._lock = threading.Lock()
        self._custom: list[TableDef] | None = None
        self._properties: dict[str, list[PropertyDef]] = {}
        self._access: dict[str, tuple[str, ...]] | None = None

    def _binding(self) -> str | None:
        """A fingerprint of the credentials (a static token, or an OAuth app's client id and
        refresh token) and of the base URL their portal id was learned at."""
        if isinstance(self.auth, OAuthAuth):
            secret = self.auth.install()
        elif isinstance(self.auth, PrivateAppAuth):
            secret = self.auth.bearer()
        else:
            return None
        seen = f"{self.base_url}\n{secret}".encode()
        return hashlib.sha256(seen).hexdigest()[:32]

    def _known_portal(self, learned: Mapping[str, str]) -> int | None:
        """The portal id in ``learned`` when it was learned for these very credentials."""
        binding = self._binding()
        portal = str(learned.get("portalId") or "")
        if binding is None or learned.get("portalCredential") != binding or not portal.isdigit():
            return None
        return int(portal)

    def _portal_learned(self, portal: int) -> None:
        binding = self._binding()
        if self._on_learned is not None and binding is not None:
            self._on_learned({"portalId": str(portal), "portalCredential": binding})

    def _clock_ms(self) -> int:
        """Now for reading windows: HubSpot's clock when ours is off (``HubSpotHttp``)."""
        return self.http.source_now_ms(self._local_ms())

    def _make_auth(
        self, name: str, params: Mapping[str, str], callback: TokensCallback | None
    ) -> Authenticator:
        if name == AUTH_PRIVATE_APP:
            return PrivateAppAuth(params.get("accessToken", ""))
        if name == AUTH_SERVICE_KEY:
            return ServiceKeyAuth(params.get("serviceKey", ""))
        if name == AUTH_OAUTH:
            return OAuthAuth(
                http=self._client,
                client_id=params.get("clientId", ""),
                client_secret=params.get("clientSecret", ""),
                access_token=params.get("accessToken", ""),
                refresh_token=params.get("refreshToken", ""),
                expires_at=parse_expiry(params.get("expiresAt")),
                on_tokens_refreshed=callback,
                retry=RetryPolicy(max_attempts=5, base_s=self._retry.base_s),
                legacy=self.paths.legacy_only,
            )
        raise InvalidRequestError(
            f"HubSpot has no auth spec {name!r}; use {AUTH_OAUTH!r}, {AUTH_PRIVATE_APP!r} "
            f"or {AUTH_SERVICE_KEY!r}"
        )

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> HubSpotConnector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        if isinstance(self.auth, OAuthAuth):
            self._oauth_learned(self.auth)

    def _oauth_learned(self, auth: OAuthAuth) -> None:
        """Report the OAuth token's portal (from introspection or a refresh) when it is new for
        these credentials, so the next connector need not introspect to learn it."""
        hub, binding = auth.hub_id, self._binding()
        if self._on_learned is None or hub is None or binding is None:
            return
        if self._learned.get("portalCredential") == binding and self._learned.get(
            "portalId"
        ) == str(hub):
            return
        try:
            self._on_learned({"portalId": str(hub), "portalCredential": binding})
        except Exception:  # keeping it only saves a call next time
            log.exception("could not keep the HubSpot portal id with the connection")

    @property
    def stats(self) -> dict[str, int]:
        return dict(self.http.stats)

    def portal(self) -> str:
        """The portal the requests count against: the one a static token's account details
        named, else the OAuth token's, else (portal unknown) the hash that names the budget."""
        looked_up = self.http.portal_id
        if looked_up is not None:
            return str(looked_up)
        auth = self.auth
        if isinstance(auth, OAuthAuth):
            return str(auth.hub_id) if auth.hub_id is not None else "unknown"
        return str(auth.account_key()).removeprefix("hub:")

    def request_counts(self) -> RequestCounts | None:
        stats = self.stats
        if not stats.get("requests"):
            return None
        return RequestCounts(
            connector=NAME,
            account=self.portal(),
            requests=int(stats.get("requests", 0)),
            rate_limited=int(stats.get("rate_limited", 0)),
        )

    # ------------------------------------------------------------------ check

    def check(self) -> None:
        """Raise unless HubSpot accepts the credentials (``SourceAuthError`` says why).

        The check asks for the account details, which need no CRM scope: a token that lacks the
        scope of some table still connects, and explore marks that table (``meta:missingScopes``).
        """
        self.auth.bearer()
        if not isinstance(self.auth, OAuthAuth):
            # a static token (re)learns its portal here, even one known from an earlier
            # connector: the check is a call that HubSpot answers
            if self.http.learn_portal() is not None:
                return
        else:
            _ = self.http.limiter
        try:
            self.http.send("GET", "/account-info/v3/details")
        except MissingScopeError as exc:
            log.info("HubSpot account details not readable, the token still works: %s", exc)

    # ------------------------------------------------------------------ tables

    def _custom_tables(self) -> list[TableDef]:
        with self._lock:
            if self._custom is None:
                body = json_body(self.http.send("GET", "/crm/v3/schemas"))
                tables = [custom_table(s) for s in require_records(body, "/crm/v3/schemas")]
                self._custom = [t for t in tables if t is not None]
            return self._custom

    def tables(self) -> list[TableDef]:
        """Every table, standard ones first; custom objects need ``crm.schemas.custom.read``."""
        try:
            custom = self._custom_tables()
        except SourceAuthError as exc:
            log.warning("HubSpot custom objects are not listed: %s", exc.message)
            custom = []
        return [*STANDARD_TABLES, *_MARKETING, *custom, *derived_tables(custom)]

    def table(self, name: str) -> TableDef:
        """The table called ``name`` (case-insensitive); ``TableNotFoundError`` otherwise."""
        wanted = name.strip().lower()
        for table in (*STANDARD_TABLES, *_MARKETING, *derived_tables([])):
            if table.name.lower() == wanted:
                return table
        custom = self._custom_tables()
        for table in [*custom, *derived_tables(custom)]:
            if table.name.lower() == wanted:
                return table
        raise TableNotFoundError(
            f"HubSpot has no table {name!r}", resource_id=name, resource_type="table"
        )

    def _props(self, object_type: str) -> list[PropertyDef]:
        with self._lock:
            cached = self._properties.get(object_type)
        if cached is not None:
            return cached
        body = json_body(self.http.send("GET", f"/crm/v3/properties/{object_type}"))
        props = [
            PropertyDef.from_api(p)
            for p in require_records(body, f"/crm/v3/properties/{object_type}")
            if p.get("name") and not p.get("archived")
        ]
        with self._lock:
            self._properties[object_type] = props
        return props

    def layout(self, name: str) -> TableLayout:
        table = self.table(name)
        if table.kind is TableKind.MARKETING:
            return marketing_layout(table)
        if table.kind in SIMPLE_KINDS:
            return simple_layout(table)
        if table.kind is TableKind.ASSOCIATIONS:
            return association_layout(table)
        if table.kind is TableKind.PROPERTY_HISTORY:
            return history_layout(table, self._props(table.object_type))
        if table.kind is TableKind.MERGES:
            return merge_layout(table)
        try:
            props = self._props(table.object_type) if table.kind is TableKind.CRM else []
        except MissingScopeError as exc:
            raise table_scope_error(table.name, exc) from exc
        return layout_for(table, props)

    def table_schema(self, name: str) -> pa.Schema:
        """The Arrow schema every batch of ``name`` has (all columns)."""
        return self.layout(name).schema

    def primary_key(self, name: str) -> tuple[str, ...]:
        return self.layout(name).primary_key

    def constants(self) -> dict[str, str]:
        """``Portal_Id`` (Adobe's HubSpot column) once the OAuth token's portal is known."""
        hub = getattr(self.auth, "hub_id", None)
        return {"Portal_Id": str(hub)} if hub is not None else {}

    # ------------------------------------------------------------------ explore

    def explore_root(self) -> list[dict[str, Any]]:
        """Adobe's root listing: a bare array of ``{type, name, path, canPreview, canFetchSchema}``.

        A table whose scope the credentials lack is listed too, with ``meta:missingScopes`` naming
        the scopes and ``canPreview``/``canFetchSchema`` false."""
        tables = self.tables()
        missing = self.missing_scopes(tables)
        out = []
        for t in tables:
            item: dict[str, Any] = {
                "type": "table",
                "name": t.name,
                "path": t.name,
                "canPreview": t.name not in missing,
                "canFetchSchema": t.name not in missing,
            }
            if t.name in missing:
                item["meta:missingScopes"] = list(missing[t.name])
            out.append(item)
        return out

    def missing_scopes(
        self, tables: Sequence[TableDef] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """The scopes each table lacks (tables that can be read are absent), found with one cheap
        call per table in parallel and kept for the connector's lifetime."""
        with self._lock:
            if self._access is not None:
                return self._access
        probes = [(t, probe) for t in tables or self.tables() if (probe := probe_path(t))]
        # tables read from the same endpoint (an object, its history, merges and associations)
        # share one probe
        paths = list(dict.fromkeys(path for _, path in probes))
        by_path = dict(zip(paths, self._pool.map(self._probe, paths), strict=True))
        found = {t.name: scopes for t, path in probes if (scopes := by_path[path])}
        with self._lock:
            self._access = found
        return found

    def _probe(self, path: str) -> tuple[str, ...] | None:
        try:
            self.http.send("GET", path, params={"limit": "1"})
        except MissingScopeError as exc:
            return exc.scopes or ("(not named by HubSpot)",)
        except (FatalSourceError, RetriableSourceError) as exc:
            # not a scope problem: the table stays listed, and reading it will say what is wrong
            log.warning("HubSpot scope probe %s failed: %s", path, exc.message)
        return None

    def explore_table(self, name: str, *, preview: bool, limit: int = 10) -> dict[str, Any]:
        """``{"format": "flat", "schema": {"columns": [...]}}`` (+ ``data`` rows with ``preview``).

        ``meta:primaryKey`` and ``meta:incremental`` tell whether reads can be incremental.
        """
        layout = self.layout(name)
        table = layout.table
        result: dict[str, Any] = {
            "format": "flat",
            "schema": {"columns": layout.explore_columns()},
            "meta:primaryKey": list(layout.primary_key),
            "meta:incremental": {
                "supported": table.incremental,
                "cursor": table.cursor_property,
                "reason": self._incremental_reason(table),
            },
        }
        if preview:
            result["data"] = self._preview(layout, limit)
        return result

    @staticmethod
    def _incremental_reason(table: TableDef) -> str:
        if table.kind is TableKind.MARKETING:
            spec = marketing_table(table)
            if table.incremental:
                kind = "appended rows" if spec.append else "changed rows"
                return f"{kind} by {table.cursor_property}, in a window from the last read"
            return spec.reason
        if table.incremental:
            return f"search on {table.cursor_property}"
        return "HubSpot has no modification cursor for this table: every read is full"

    def _marketing_reader(
        self,
        layout: TableLayout,
        state: Mapping[str, Any] | None,
        mode: ReadMode,
        known: KnownRows | None = None,
        options: Mapping[str, int] | None = None,
    ) -> MarketingReader:
        return MarketingReader(
            http=self.http,
            layout=layout,
            state=state,
            mode=mode,
            now_ms=self._clock_ms,
            lookback_ms=self._options.overridden(options or {}).lookback_ms,
            known=known,
        )

    def _preview(self, layout: TableLayout, limit: int) -> list[dict[str, Any]]:
        if layout.table.kind is TableKind.MARKETING:
            records = self._marketing_reader(layout, None, "full").preview(limit)
            return rows_for_preview(build_batch(layout, records))
        state = StreamState()
        if layout.table.kind is TableKind.ASSOCIATIONS:
            rows = self._associations(layout, state).preview(limit)
            return rows_for_preview(build_batch(layout, rows))
        if layout.table.kind is TableKind.PROPERTY_HISTORY:
            rows = self._history(layout, state, "full").preview(limit)
            return rows_for_preview(build_batch(layout, rows))
        if layout.table.kind is TableKind.MERGES:
            rows = self._merges(layout, state, "full").preview(limit)
            return rows_for_preview(build_batch(layout, rows))
        if layout.table.kind is TableKind.CRM:
            reader = TableReader(
                http=self.http,
                pool=self._pool,
                layout=layout,
                state=state,
                mode="full",
                options=self._options,
                now_ms=self._clock_ms,
            )
            records = reader.preview(limit)
            assoc = reader.page_associations(records, inline=True)
            batch = build_batch(layout, records, associations=assoc)
        else:
            simple = SimpleReader(http=self.http, layout=layout, state=state, now_ms=self._clock_ms)
            records, _ = simple.page(None, False, limit=max(1, min(limit, 100)))
            batch = build_batch(layout, records[:limit])
        return rows_for_preview(batch)

    # ------------------------------------------------------------------ read

    def read(
        self,
        table: str,
        *,
        state: Mapping[str, Any] | None,
        columns: Sequence[str] | None = None,
        mode: ReadMode = "auto",
        known: KnownRows | None = None,
        options: Mapping[str, int] | None = None,
    ) -> Iterator[ReadEvent]:
        """Batches, checkpoints and progress of one read of ``table`` (see ``docs/hubspot.md``).

        ``known`` yields the dataset's rows of this table: with it, incremental reads also find
        association-only changes (HubSpot's modification date does not move for them).
        ``options`` are the flow's (``lookbackSeconds``, ``deletesEverySeconds``,
        ``associationsEverySeconds``), overriding the server's."""
        if mode not in ("auto", "full", "incremental"):
            raise InvalidRequestError(f"read mode must be auto, full or incremental, not {mode!r}")
        full = self.layout(table)
        try:
            if full.table.kind is TableKind.PROPERTY_HISTORY:
                layout = select_history(full, columns, self._props(full.table.object_type))
            else:
                layout = full.select(columns)
        except KeyError as exc:
            raise InvalidRequestError(f"{table} has no columns {exc.args[0]}") from exc
        if layout.table.kind is TableKind.MARKETING:
            return self._marketing_reader(layout, state, mode, known, options).run()
        stream_state = StreamState.from_json(state)
        return _naming_table(
            layout.table.name, self._reader(layout, full, stream_state, mode, known, options)
        )

    def _reader(
        self,
        layout: TableLayout,
        full: TableLayout,
        stream_state: StreamState,
        mode: ReadMode,
        known: KnownRows | None,
        options: Mapping[str, int] | None,
    ) -> Iterator[ReadEvent]:
        read_options = self._options.overridden(options or {})
        if layout.table.kind is TableKind.ASSOCIATIONS:
            return self._associations(layout, stream_state).run()
        if layout.table.kind is TableKind.PROPERTY_HISTORY:
            return self._history(layout, stream_state, mode, read_options).run()
        if layout.table.kind is TableKind.MERGES:
            return self._merges(layout, stream_state, mode, read_options).run()
        if layout.table.kind is TableKind.CRM:
            return TableReader(
                http=self.http,
                pool=self._pool,
                layout=layout,
                state=stream_state,
                mode=mode,
                options=read_options,
                now_ms=self._clock_ms,
                known=known,
                merges=MERGED_PROPERTY in full.properties,
            ).run()
        return SimpleReader(
            http=self.http, layout=layout, state=stream_state, now_ms=self._clock_ms
        ).run()

    def _associations(self, layout: TableLayout, state: StreamState) -> AssociationReader:
        return AssociationReader(
            http=self.http,
            layout=layout,
            state=state,
            now_ms=self._clock_ms,
            kind=self._options.association_kind,
        )

    def _history(
        self,
        layout: TableLayout,
        state: StreamState,
        mode: str,
        options: ReadOptions | None = None,
    ) -> HistoryReader:
        opts = options or self._options
        return HistoryReader(
            http=self.http,
            layout=layout,
            state=state,
            mode=mode,
            lookback_ms=opts.lookback_ms,
            now_ms=self._clock_ms,
            max_chars=opts.max_properties_chars,
        )

    def _merges(
        self,
        layout: TableLayout,
        state: StreamState,
        mode: str,
        options: ReadOptions | None = None,
    ) -> MergeReader:
        return MergeReader(
            http=self.http,
            layout=layout,
            state=state,
            mode=mode,
            lookback_ms=(options or self._options).lookback_ms,
            now_ms=self._clock_ms,
        )


def probe_path(table: TableDef) -> str | None:
    """The cheapest call that needs exactly ``table``'s scope, or ``None`` when none is known."""
    if table.kind in (
        TableKind.CRM,
        TableKind.ASSOCIATIONS,
        TableKind.PROPERTY_HISTORY,
        TableKind.MERGES,
    ):
        return f"/crm/v3/objects/{table.object_type}"
    if table.kind in (TableKind.OWNERS, TableKind.OWNER_TEAMS):
        return "/crm/v3/owners"
    if table.kind in (TableKind.PIPELINES, TableKind.PIPELINE_STAGES):
        return f"/crm/v3/pipelines/{table.object_type}"
    if table.kind in (TableKind.USERS, TableKind.TEAMS):
        return simple_path(table)
    return None


def table_scope_error(table: str, exc: MissingScopeError) -> MissingScopeError:
    """``exc`` restated for one table: which scopes it needs, and that the others still read."""
    scopes = exc.scopes or ("(not named by HubSpot)",)
    plural = "scopes" if len(scopes) > 1 else "scope"
    return MissingScopeError(
        f"{table} needs the HubSpot {plural} {', '.join(scopes)}, which these credentials were not "
        "granted; grant it to the app, private app or service key (or leave the table out of "
        "the flow). The connection's other tables are not affected.",
        scopes=scopes,
        table=table,
    )


def _naming_table(table: str, events: Iterator[ReadEvent]) -> Iterator[ReadEvent]:
    try:
        yield from events
    except MissingScopeError as exc:
        if exc.table:
            raise
        raise table_scope_error(table, exc) from exc
