"""The standard XDM classes and field groups Headwater serves read-only in its Schema Registry.

Each JSON file is one resource in Adobe's compatibility mode (no ``xdm:`` prefixes), its fields
written out under ``definitions`` (already resolved: no ``$ref`` to data types). The field names
and types follow Adobe's public XDM definitions (``adobe/xdm``: ``components/classes/
profile.schema.json``, ``components/fieldgroups/profile/profile-person-details`` and
``profile-personal-details``, the ``person``, ``person-name``, ``address``, ``emailaddress`` and
``phonenumber`` data types, and the ``record``/``auditable`` behaviours for ``_id`` and ``_repo``).
The XDM Business Account and Business Opportunity classes (``components/classes/b2b/``) carry
their scalar fields; their composite ``accountKey``/``opportunityKey`` and the source-system audit
fields are left out.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def standard_resources() -> dict[str, dict[str, Any]]:
    """Every standard resource, keyed by ``$id``."""
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".json"):
            doc = json.loads(entry.read_text(encoding="utf-8"))
            out[doc["$id"]] = doc
    return out
