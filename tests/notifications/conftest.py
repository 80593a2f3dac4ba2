from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.services import metrics, webhooks
from headwater.services.context import ServiceContext


@pytest.fixture
def wired(ctx: ServiceContext) -> ServiceContext:
    """The test context with the listeners ``build_context`` installs."""
    webhooks.install(ctx)
    metrics.install(ctx)
    return ctx


@pytest.fixture
def client(wired: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(wired), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def emu() -> Iterator:
    with serve_in_thread(
        EmulatorConfig(seed=7, contacts=300, companies=20, deals=10, tickets=5, rate_limit="none")
    ) as running:
        yield running
