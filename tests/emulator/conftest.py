"""Fixtures for the HubSpot emulator tests: one real-socket emulator shared per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=7,
        contacts=1_200,
        companies=300,
        deals=400,
        tickets=200,
        engagements=150,
        custom_records=120,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as running:
        yield running
