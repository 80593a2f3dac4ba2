"""Fixtures and helpers for reading from the HubSpot emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot import AUTH_OAUTH, AUTH_PRIVATE_APP, HubSpotConnector
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.connectors.retry import RetryPolicy
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread


def oauth_params(emu: RunningEmulator, *, access_token: str | None = None) -> dict[str, str]:
    return {
        "clientId": emu.oauth_client_id,
        "clientSecret": emu.oauth_client_secret,
        "accessToken": emu.access_token if access_token is None else access_token,
        "refreshToken": emu.refresh_token,
    }


def connect(
    emu: RunningEmulator,
    *,
    oauth: bool = False,
    registry: LimiterRegistry | None = None,
    retry: RetryPolicy | None = None,
    **kwargs: Any,
) -> HubSpotConnector:
    """A connector for ``emu`` with its own limiter registry (the emulator runs without limits)."""
    return HubSpotConnector(
        auth_spec_name=AUTH_OAUTH if oauth else AUTH_PRIVATE_APP,
        params=oauth_params(emu) if oauth else {"accessToken": emu.private_app_token},
        base_url=emu.base_url,
        limiter_registry=registry or LimiterRegistry(budget=100_000, search_per_s=50),
        retry=retry,
        clock_ms=emu.clock.now_ms,
        **kwargs,
    )


class Collected:
    """Everything one read yielded, split by kind."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.deleted: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.progress: list[ProgressEvent] = []
        self.batches = 0

    def add(self, event: ReadEvent) -> None:
        if isinstance(event, BatchEvent):
            self.batches += 1
            (self.deleted if event.deleted else self.rows).extend(event.batch.to_pylist())
        elif isinstance(event, CheckpointEvent):
            self.checkpoints.append(event.state)
        else:
            self.progress.append(event)

    @property
    def ids(self) -> list[str]:
        return [r["Id"] for r in self.rows]

    @property
    def deleted_ids(self) -> list[str]:
        return [r["Id"] for r in self.deleted]


def collect(events: Iterable[ReadEvent]) -> Collected:
    out = Collected()
    for event in events:
        out.add(event)
    return out


def live_ids(emu: RunningEmulator, object_type: str) -> list[str]:
    store = emu.state.stores[object_type]
    return [
        str(i) for i in range(1, store.size + 1) if store.exists(i) and not store.is_archived(i)
    ]


def archived_ids(emu: RunningEmulator, object_type: str) -> list[str]:
    store = emu.state.stores[object_type]
    return [str(i) for i in range(1, store.size + 1) if store.exists(i) and store.is_archived(i)]


def expected_value(kind: str, raw: str | None) -> Any:
    """The typed value a HubSpot property string stands for, decoded independently of the reader."""
    if raw is None:
        return None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return None
    if kind == "bool":
        return {"true": True, "false": False}.get(raw)
    if kind == "datetime":
        if raw.isdigit():
            return dt.datetime.fromtimestamp(int(raw) / 1000, tz=dt.UTC)
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if kind == "date":
        return dt.date.fromisoformat(raw[:10])
    return raw


@pytest.fixture(scope="module")
def emu20k() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(seed=42, contacts=20_000, rate_limit="none")) as emu:
        yield emu
