"""The source the bundled emulator stands in for: the quickstart creates its connections and
``doctor`` checks that it answers. The command line's one name of a source, because the emulator
it starts is that source's; here, below both the quickstart and ``doctor``, so that neither
reaches sideways for it."""

from __future__ import annotations

from headwater.errors import ConfigurationError

#: ``ConnectorType.name`` of the source ``headwater emulator`` emulates
EMULATED_SOURCE = "hubspot"


def emulated_spec_id() -> str:
    """The connection-spec id of :data:`EMULATED_SOURCE`, from the connector registry."""
    from headwater.services.sources import spec_id_named

    found = spec_id_named(EMULATED_SOURCE)
    if found is None:
        raise ConfigurationError(f"no {EMULATED_SOURCE} connector is registered")
    return found
