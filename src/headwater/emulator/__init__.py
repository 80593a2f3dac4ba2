"""Bundled API emulators that Headwater's connectors, quickstart, tests and benchmarks run against.

The HubSpot emulator lives in :mod:`headwater.emulator.hubspot`; see ``docs/emulator.md``.
"""

from __future__ import annotations
