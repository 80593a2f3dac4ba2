"""HubSpot API emulator: faithful shapes, deterministic data, rate limits and faults on purpose.

Public in-process API (stable; documented in ``docs/emulator.md``)::

    from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread

    with serve_in_thread(EmulatorConfig(seed=42, contacts=20_000, rate_limit="none")) as emu:
        emu.base_url, emu.access_token, emu.private_app_token
        emu.state.touch("contacts", 10)
"""

from __future__ import annotations

from headwater.emulator.clock import Clock, ManualClock, OffsetClock, SystemClock
from headwater.emulator.hubspot.app import ADMIN_PREFIX, HubSpotEmulatorApp, create_app
from headwater.emulator.hubspot.config import EmulatorConfig
from headwater.emulator.hubspot.faults import FaultPlan, FaultRule, parse_fault_spec
from headwater.emulator.hubspot.server import RunningEmulator, serve_in_thread
from headwater.emulator.hubspot.state import PortalState

__all__ = [
    "ADMIN_PREFIX",
    "Clock",
    "EmulatorConfig",
    "FaultPlan",
    "FaultRule",
    "HubSpotEmulatorApp",
    "ManualClock",
    "OffsetClock",
    "PortalState",
    "RunningEmulator",
    "SystemClock",
    "create_app",
    "parse_fault_spec",
    "serve_in_thread",
]
