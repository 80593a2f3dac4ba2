"""What every source connector is: a typed protocol, its credentials, its settings, and the
registry entry that names it by connection-spec id.

A connector package (``connectors/<name>/``) ships its Adobe connection spec as JSON next to its
code and exports one :class:`ConnectorType`; ``connectors/registry.py`` lists the types. Services
open a connector only through the registry, so adding a source touches no service. After
Dispatch's ``plugins/base/v1.py`` (a slug, a config schema, a class) and meltano's
``tap_base.py`` (the config schema is data, validated before the tap runs).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar

import pyarrow as pa

from headwater.connectors.events import KnownRows, ReadEvent

__all__ = [
    "ColumnAliases",
    "ConnectorSettings",
    "ConnectorType",
    "Credentials",
    "CursorState",
    "JsonObject",
    "OAuthEndpoints",
    "OAuthFlow",
    "ReadMode",
    "RequestCounts",
    "SourceConnector",
    "SourceParams",
]

#: ``auto`` lets the connector choose (incremental when it has a cursor and a state).
ReadMode = Literal["auto", "full", "incremental"]
#: A JSON document in Adobe's shape (explore listings, connection specs): data for the API edge.
JsonObject = dict[str, Any]
#: A read's resumable state, as the connector's checkpoints produce it: JSON whose shape only the
#: connector knows (the engine stores it and hands it back).
CursorState = Mapping[str, Any]

_S = TypeVar("_S")


class SourceConnector(Protocol):
    """One open connection to a source; a context manager that frees its clients on exit."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def check(self) -> None:
        """Raise ``SourceAuthError`` (or another ``SyncError``) unless the source can be read."""
        ...

    def explore_root(self) -> list[JsonObject]:
        """The tables, as Adobe's explore root listing."""
        ...

    def explore_table(self, name: str, *, preview: bool, limit: int = 10) -> JsonObject:
        """A table's columns (and with ``preview`` its first ``limit`` rows), as Adobe's explore."""
        ...

    def table_schema(self, name: str) -> pa.Schema:
        """The Arrow schema of every batch ``read`` yields for ``name`` (all columns)."""
        ...

    def primary_key(self, name: str) -> tuple[str, ...]: ...

    def constants(self) -> Mapping[str, str]:
        """Values the source supplies to mappings as per-run constants (an account
        id, known once a request was made); empty when there are none."""
        ...

    def request_counts(self) -> RequestCounts | None:
        """The HTTP requests this connection sent so far and the account they count against, for
        the request counters; ``None`` when it sent none or does not count them."""
        ...

    def read(
        self,
        table: str,
        *,
        state: CursorState | None,
        columns: Sequence[str] | None = None,
        mode: ReadMode = "auto",
        known: KnownRows | None = None,
        options: Mapping[str, int] | None = None,
    ) -> Iterator[ReadEvent]:
        """Batches, then the checkpoint that resumes after them, plus progress reports.

        ``state`` is a checkpoint this connector produced before; ``None`` reads from the
        beginning. ``known`` yields the destination's rows of the table, for sources whose own
        cursor misses some changes; a connector that has no use for it ignores it. ``options``
        are the flow's read options (``SourceParams.options``), overriding the operator's.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCounts:
    """What :meth:`SourceConnector.request_counts` reports."""

    #: the connector's short name (``ConnectorType.name``): whose counters these are
    connector: str
    #: the source account the requests count against (such as a portal id)
    account: str
    requests: int
    #: answers that said "too many requests" (HTTP 429)
    rate_limited: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthEndpoints:
    """Where an OAuth sign-in goes: the consent page the browser visits and the token endpoint
    the code is exchanged at."""

    authorize_url: str
    token_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthFlow:
    """An OAuth 2 authorization-code sign-in the web UI can run for one auth spec of the source:
    the user gives the app's client id and secret, the source's consent page grants access, and
    the tokens from the code exchange fill the auth spec's token parameters."""

    #: the auth spec (``authSpec[].name``) whose tokens the flow obtains
    auth_spec_name: str
    #: the endpoints, from the connector's operator settings (its base URL)
    endpoints: Callable[[ConnectorSettings], OAuthEndpoints]
    scopes: tuple[str, ...]
    #: scopes asked for as ``optional_scope`` (granted when the app has them)
    optional_scopes: tuple[str, ...] = ()
    #: the auth spec's parameter names
    client_id_param: str = "clientId"
    client_secret_param: str = "clientSecret"
    access_token_param: str = "accessToken"
    refresh_token_param: str = "refreshToken"

    @property
    def provided(self) -> frozenset[str]:
        """The parameters the flow fills in (a form may leave them empty)."""
        return frozenset({self.access_token_param, self.refresh_token_param})


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnAliases:
    """Column names another product gives this source's tables (Adobe's docs for the source),
    accepted by mapping sets in place of the connector's own names."""

    #: alias → the connector's column
    aliases: Mapping[str, str]
    #: columns that are no table column but a per-run constant (``SourceConnector.constants``)
    constants: Mapping[str, pa.DataType] = field(default_factory=dict)
    #: the columns a table has when the aliases apply to it
    applies_to: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """A base connection's auth, secrets decrypted, as the connection spec's auth spec names it."""

    auth_spec_name: str
    params: Mapping[str, str]
    #: called with rotated credentials (e.g. refreshed OAuth tokens) so they can be stored
    on_refreshed: Callable[[dict[str, str]], None] | None = None
    #: non-secret facts an earlier connector of this connection learned about its credentials
    #: (HubSpot: a static token's portal id), as it passed them to ``on_learned``
    learned: Mapping[str, str] = field(default_factory=dict)
    #: called with such facts when the connector learns them, to be kept with the connection
    on_learned: Callable[[dict[str, str]], None] | None = None


class ConnectorSettings:
    """Operator settings of the connectors, one object per settings class.

    The composition root puts each connector's settings in (``put``); a connector reads its own
    with ``get(ItsSettings)``, which falls back to that class's defaults. Tests change a field of
    the object ``get`` returns.
    """

    def __init__(self, *items: object) -> None:
        self._items: dict[type, object] = {type(i): i for i in items}

    def put(self, item: object) -> None:
        self._items[type(item)] = item

    def get(self, kind: type[_S]) -> _S:
        item = self._items.get(kind)
        if not isinstance(item, kind):
            item = kind()
            self._items[kind] = item
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceParams:
    """What a source connection's ``params`` select: one table and optionally its columns."""

    table: str
    #: ``None`` reads every column
    columns: tuple[str, ...] | None = None
    #: the flow's read options (``lookbackSeconds``...), passed to ``read(options=...)``
    options: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorType:
    """A registry entry: the connection spec a source answers to and how to open it."""

    #: the connection spec's id (``connectionSpec.id`` of base and source connections)
    spec_id: str
    #: the source's name in messages and in the web UI (``HubSpot``)
    title: str
    #: a short lowercase name (``hubspot``): the request counters are
    #: ``headwater_<name>_requests_total`` and ``headwater_<name>_429_total``
    name: str
    #: the package holding ``spec_file`` (the connector's own package)
    package: str
    open: Callable[[Credentials, ConnectorSettings], SourceConnector]
    #: validates a source connection's ``params`` (raising ``ValidationError``) and reads them
    read_source_params: Callable[[object], SourceParams]
    spec_file: str = "connection_spec.json"
    #: the request counters' label naming the account (``portal`` for HubSpot)
    account_label: str = "account"
    #: the OAuth sign-in the web UI offers, if any
    oauth: OAuthFlow | None = None
    #: Adobe's column names for this source's tables, if they differ from the connector's
    column_aliases: ColumnAliases | None = None
    #: builds the connector's operator settings object from the settings' values (by field
    #: name), for the composition root; ``None`` when it has none
    settings_from: Callable[[Mapping[str, Any]], object] | None = None
    _spec: dict[str, JsonObject] = field(default_factory=dict, repr=False, compare=False)

    @property
    def requests_metric(self) -> str:
        return f"headwater_{self.name}_requests_total"

    @property
    def rate_limited_metric(self) -> str:
        return f"headwater_{self.name}_429_total"

    def connection_spec(self) -> JsonObject:
        """The Adobe connection spec, served verbatim by ``/connectionSpecs`` (a deep copy)."""
        if "spec" not in self._spec:
            text = resources.files(self.package).joinpath(self.spec_file).read_text("utf-8")
            spec = json.loads(text)
            if not isinstance(spec, dict) or spec.get("id") != self.spec_id:
                msg = f"{self.package}/{self.spec_file} is not the connection spec {self.spec_id}"
                raise TypeError(msg)
            self._spec["spec"] = spec
        return copy.deepcopy(self._spec["spec"])
