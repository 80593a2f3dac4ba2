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
    "ConnectorSettings",
    "ConnectorType",
    "Credentials",
    "CursorState",
    "JsonObject",
    "ReadMode",
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
        """Values the source supplies to mappings as per-run constants (HubSpot: ``Portal_Id``,
        known once a request was made); empty when there are none."""
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
    #: the source's name in messages (``HubSpot``)
    title: str
    #: the package holding ``spec_file`` (the connector's own package)
    package: str
    open: Callable[[Credentials, ConnectorSettings], SourceConnector]
    #: validates a source connection's ``params`` (raising ``ValidationError``) and reads them
    read_source_params: Callable[[object], SourceParams]
    spec_file: str = "connection_spec.json"
    _spec: dict[str, JsonObject] = field(default_factory=dict, repr=False, compare=False)

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
