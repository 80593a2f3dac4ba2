"""Use cases: the only layer that combines store, connectors and lake. No HTTP types here."""
