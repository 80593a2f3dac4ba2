"""The emulator's HubSpot API families, one module each. Every module exports ``ROUTES``, a table of
:class:`~headwater.emulator.hubspot.routing.Route` whose handlers are plain ``handler(ctx)``
functions; :mod:`headwater.emulator.hubspot.app` concatenates the tables."""
