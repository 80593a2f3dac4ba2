"""Adobe's HubSpot column names that differ from Headwater's, accepted as aliases in mappings.

Adobe's HubSpot examples flatten HubSpot's legacy v1 contact (``vid``, ``portal-id``,
``added-at``), so its tutorial mapping set reads ``Vid``, ``Added_At`` and (in the explore
example) ``Portal_Id``; Headwater's tables come from the v3 CRM API (``Id``, ``Created_At``). With
these aliases a mapping set copied from Adobe's docs (``help/sources/tutorials/api/collect/
marketing-automation.md``) applies unchanged:

* ``Vid`` → ``Id``: the v1 contact id is the v3 record id (``hs_object_id``);
* ``Added_At`` → ``Created_At``: v1 ``addedAt`` is when the contact was created;
* ``Portal_Id``: not a column; a run fills it from the connection's portal id through the
  connector's ``constants`` (null when none is given).

They apply to a table that has ``Id`` and ``Created_At`` (the CRM object tables).
"""

from __future__ import annotations

import pyarrow as pa

from headwater.connectors.base import ColumnAliases

__all__ = ["ADOBE_COLUMNS"]

ADOBE_COLUMNS = ColumnAliases(
    aliases={"Vid": "Id", "Added_At": "Created_At"},
    constants={"Portal_Id": pa.string()},
    applies_to=frozenset({"Id", "Created_At"}),
)
