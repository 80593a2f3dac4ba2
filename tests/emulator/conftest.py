"""Fixtures for the HubSpot emulator tests, all over real sockets.

- ``emu``: one emulator per test module, built from ``emu_config`` (a module overrides
  ``emu_config`` to get another portal);
- ``c``: an authenticated keep-alive client for ``emu``;
- ``start``: starts further emulators inside one test (``start(rate_limit="oauth-app")``), all
  stopped when the test ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread

from .helpers import api, small_config


@pytest.fixture(scope="module")
def emu_config() -> EmulatorConfig:
    return small_config()


@pytest.fixture(scope="module")
def emu(emu_config: EmulatorConfig) -> Iterator[RunningEmulator]:
    with serve_in_thread(emu_config) as running:
        yield running


@pytest.fixture
def c(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with api(emu) as client:
        yield client


@pytest.fixture
def start() -> Iterator[Callable[..., RunningEmulator]]:
    with contextlib.ExitStack() as stack:

        def _start(config: EmulatorConfig | None = None, **overrides: Any) -> RunningEmulator:
            return stack.enter_context(serve_in_thread(config or small_config(**overrides)))

        yield _start
