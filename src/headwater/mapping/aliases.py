"""Adobe's HubSpot column names that differ from Headwater's, accepted as aliases in mappings.

Adobe's HubSpot examples flatten HubSpot's legacy v1 contact (``vid``, ``portal-id``,
``added-at``), so its tutorial mapping set reads ``Vid``, ``Added_At`` and (in the explore
example) ``Portal_Id``; Headwater's tables come from the v3 CRM API (``Id``, ``Created_At``). With
these aliases a mapping set copied from Adobe's docs (``help/sources/tutorials/api/collect/
marketing-automation.md``) applies unchanged:

* ``Vid`` → ``Id``: the v1 contact id is the v3 record id (``hs_object_id``);
* ``Added_At`` → ``Created_At``: v1 ``addedAt`` is when the contact was created;
* ``Portal_Id``: not a column; a run fills it from the connection's portal id through the
  engine's ``constants`` (null when none is given).
"""

from __future__ import annotations

import pyarrow as pa

HUBSPOT_ALIASES: dict[str, str] = {"Vid": "Id", "Added_At": "Created_At"}

#: Columns Adobe documents that Headwater supplies as per-run constants.
HUBSPOT_CONSTANTS: dict[str, pa.DataType] = {"Portal_Id": pa.string()}


def with_hubspot_columns(schema: pa.Schema) -> pa.Schema:
    """``schema`` plus the constant columns Adobe's HubSpot names need (for validation)."""
    out = schema
    for name, t in HUBSPOT_CONSTANTS.items():
        if out.get_field_index(name) < 0:
            out = out.append(pa.field(name, t))
    return out
