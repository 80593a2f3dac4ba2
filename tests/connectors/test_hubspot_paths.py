"""Which path the connector sends for each legacy HubSpot path (pure logic, no HTTP)."""

from __future__ import annotations

import pytest

from headwater.connectors.hubspot.paths import ApiPaths
from headwater.errors import InvalidRequestError

DATED = {
    "/crm/v3/objects/contacts": ("/crm/objects/2026-03/contacts", "objects"),
    "/crm/v3/objects/2-1000001/search": ("/crm/objects/2026-03/2-1000001/search", "objects"),
    "/crm/v3/objects/deals/batch/read": ("/crm/objects/2026-03/deals/batch/read", "objects"),
    "/crm/v4/objects/contacts/7/associations/companies": (
        "/crm/objects/2026-03/contacts/7/associations/companies",
        "objects",
    ),
    "/crm/v3/properties/tickets": ("/crm/properties/2026-03/tickets", "properties"),
    "/crm/v3/schemas": ("/crm-object-schemas/2026-03/schemas", "schemas"),
    "/crm-object-schemas/v3/schemas/pets": ("/crm-object-schemas/2026-03/schemas/pets", "schemas"),
    "/crm/v3/owners": ("/crm/owners/2026-03", "owners"),
    "/crm/v3/owners/17": ("/crm/owners/2026-03/17", "owners"),
    "/crm/v3/pipelines/deals": ("/crm/pipelines/2026-03/deals", "pipelines"),
    "/crm/v4/associations/deals/companies/batch/read": (
        "/crm/associations/2026-03/deals/companies/batch/read",
        "associations",
    ),
    "/crm/associations/v4/contacts/companies/labels": (
        "/crm/associations/2026-03/contacts/companies/labels",
        "associations",
    ),
    "/crm/v3/lists/search": ("/crm/lists/2026-03/search", "lists"),
    "/crm/v3/lists/12/memberships": ("/crm/lists/2026-03/12/memberships", "lists"),
    "/account-info/v3/details": ("/account-info/2026-03/details", "account"),
}
UNCHANGED = [
    "/crm/v4/objects/tickets",  # the v4 list is not an association path
    "/marketing/v3/forms",
    "/email/public/v1/events",
    "/crm/v3/objectsx",  # a prefix is not a family
    "/oauth/v1/token",  # OAuth paths are chosen by the authenticator
]


@pytest.mark.parametrize("legacy", sorted(DATED))
def test_every_moved_family_goes_to_its_dated_path(legacy: str) -> None:
    assert ApiPaths().resolve(legacy) == DATED[legacy]


@pytest.mark.parametrize("path", UNCHANGED)
def test_paths_without_a_dated_form_pass_through(path: str) -> None:
    assert ApiPaths().resolve(path) == (path, None)


def test_legacy_connections_and_other_date_versions() -> None:
    legacy = ApiPaths("legacy")
    assert all(legacy.resolve(p) == (p, None) for p in DATED)
    assert ApiPaths("LEGACY").legacy_only
    assert ApiPaths("2026-09").resolve("/crm/v3/owners") == ("/crm/owners/2026-09", "owners")
    assert ApiPaths("").resolve("/crm/v3/owners")[0] == "/crm/owners/2026-03"


def test_a_fallen_back_family_uses_its_legacy_paths_and_the_others_stay_dated() -> None:
    paths = ApiPaths()
    paths.fall_back("schemas")
    assert paths.resolve("/crm/v3/schemas") == ("/crm/v3/schemas", None)
    assert paths.resolve("/crm-object-schemas/v3/schemas") == (
        "/crm-object-schemas/v3/schemas",
        None,
    )
    assert paths.resolve("/crm/v3/owners") == ("/crm/owners/2026-03", "owners")
    assert paths.fallen_back == {"schemas"}


@pytest.mark.parametrize("bad", ["v3", "2026-3", "latest", "2026-03-01"])
def test_an_unknown_api_version_is_refused(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="apiVersion"):
        ApiPaths(bad)
