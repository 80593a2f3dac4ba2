"""Headwater: Flow-Service-compatible ingestion with a HubSpot connector and a Delta Lake destination."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Arrow allocates with the system allocator unless told otherwise. The wheels' default
# (mimalloc) keeps what a run's batches, staging and commit used, so a worker's RSS stays at
# every run's high-water mark; with the system allocator a 20,000-contact full run into Delta
# peaks about 75 MB lower (docs/benchmarks.md, peer benchmark). Arrow reads this variable once,
# when it is first imported, so it is set here, before any module imports pyarrow.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
