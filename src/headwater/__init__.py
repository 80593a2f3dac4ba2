"""Headwater: Flow-Service-compatible ingestion with a HubSpot connector and a Delta Lake destination."""

from __future__ import annotations

__version__ = "0.1.0"
