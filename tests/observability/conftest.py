from __future__ import annotations

from tests.notifications.conftest import client, emu, wired

__all__ = ["client", "emu", "wired"]
