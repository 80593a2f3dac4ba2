from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.services.context import ServiceContext
from tests.lake.test_s3 import s3_endpoint


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def emu() -> Iterator:
    with serve_in_thread(
        EmulatorConfig(
            seed=11,
            contacts=3_000,
            companies=200,
            deals=100,
            tickets=50,
            rate_limit="none",
            search_index_lag_ms=0,  # the tests set the connector's search lag to 0 too
        )
    ) as running:
        yield running


__all__ = ["s3_endpoint"]
