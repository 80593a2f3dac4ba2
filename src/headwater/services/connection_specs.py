"""The connection specs Headwater answers to: every registered source connector's, then the
destinations' (the order ``GET /connectionSpecs`` lists them in)."""

from __future__ import annotations

from typing import Any

from headwater.connectors import registry
from headwater.domain import specs

__all__ = ["connection_spec", "connection_specs"]


def connection_specs() -> list[dict[str, Any]]:
    return [*registry.connection_specs(), *specs.destination_specs()]


def connection_spec(spec_id: str) -> dict[str, Any] | None:
    source = registry.connector_type(spec_id)
    if source is not None:
        return source.connection_spec()
    return specs.destination_spec(spec_id)
