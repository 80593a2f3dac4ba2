"""Associations of the other standard objects (quotes, invoices, orders, carts, leads,
communications, postal mail, feedback submissions): HubSpot's HUBSPOT_DEFINED type ids from
both sides, in the labels endpoint, the v4 batch read and the v4 writes."""

from __future__ import annotations

import httpx
import pytest

#: (from, to, unlabeled from -> to, unlabeled to -> from, primary from -> to or None,
#:  primary to -> from or None); the ids are HubSpot's (docs/emulator.md)
PAIRS = (
    ("quotes", "contacts", 69, 70, None, None),
    ("quotes", "companies", 71, 72, None, None),
    ("quotes", "deals", 64, 63, None, None),
    ("quotes", "line_items", 67, 68, None, None),
    ("invoices", "contacts", 177, 178, None, None),
    ("invoices", "companies", 179, 180, None, None),
    ("invoices", "deals", 175, 176, None, None),
    ("invoices", "line_items", 409, 410, None, None),
    ("orders", "contacts", 507, 508, None, None),
    ("orders", "companies", 934, 935, 509, 510),
    ("orders", "deals", 512, 511, None, None),
    ("orders", "line_items", 513, 514, None, None),
    ("carts", "contacts", 586, 587, None, None),
    ("carts", "deals", 1347, 1346, None, None),
    ("carts", "line_items", 590, 591, None, None),
    ("leads", "contacts", 608, 609, 578, None),
    ("leads", "companies", 610, 611, 580, None),
    ("communications", "contacts", 81, 82, None, None),
    ("postal_mail", "contacts", 453, 454, None, None),
    ("feedback_submissions", "contacts", 98, 97, None, None),
    ("feedback_submissions", "tickets", 100, 99, None, None),
)


def _labels(c: httpx.Client, source: str, target: str) -> set[tuple[str, int, str | None]]:
    response = c.get(f"/crm/v4/associations/{source}/{target}/labels")
    assert response.status_code == 200, response.text
    return {(r["category"], r["typeId"], r["label"]) for r in response.json()["results"]}


def _read(c: httpx.Client, source: str, target: str, ids: range) -> dict[int, dict[int, set[int]]]:
    response = c.post(
        f"/crm/v4/associations/{source}/{target}/batch/read",
        json={"inputs": [{"id": str(i)} for i in ids]},
    )
    assert response.status_code == 200, response.text
    out: dict[int, dict[int, set[int]]] = {}
    for result in response.json()["results"]:
        for to in result["to"]:
            assert isinstance(to["toObjectId"], int)
            types = {t["typeId"] for t in to["associationTypes"]}
            assert {t["category"] for t in to["associationTypes"]} == {"HUBSPOT_DEFINED"}
            out.setdefault(int(result["from"]["id"]), {})[to["toObjectId"]] = types
    return out


@pytest.mark.parametrize(("source", "target", "fwd", "rev", "fwd_primary", "rev_primary"), PAIRS)
def test_both_directions_are_labelled_and_read_with_hubspots_ids(
    c: httpx.Client,
    source: str,
    target: str,
    fwd: int,
    rev: int,
    fwd_primary: int | None,
    rev_primary: int | None,
) -> None:
    forward = {("HUBSPOT_DEFINED", fwd, None)}
    if fwd_primary is not None:
        forward.add(("HUBSPOT_DEFINED", fwd_primary, "Primary"))
    reverse = {("HUBSPOT_DEFINED", rev, None)}
    if rev_primary is not None:
        reverse.add(("HUBSPOT_DEFINED", rev_primary, "Primary"))
    assert _labels(c, source, target) == forward
    assert _labels(c, target, source) == reverse

    links = _read(c, source, target, range(1, 41))
    assert links, f"{source} have generated {target}"
    for types in (t for by_target in links.values() for t in by_target.values()):
        assert fwd in types and types <= {fwd, fwd_primary}
    # the same associations, seen from the other side
    a = next(iter(links))
    b = next(iter(links[a]))
    back = _read(c, target, source, range(b, b + 1))
    assert a in back[b]
    assert rev in back[b][a] and back[b][a] <= {rev, rev_primary}


@pytest.mark.parametrize(("source", "target", "fwd", "rev", "fwd_primary", "rev_primary"), PAIRS)
def test_a_written_association_shows_from_both_sides_and_a_deleted_one_is_gone(
    c: httpx.Client,
    source: str,
    target: str,
    fwd: int,
    rev: int,
    fwd_primary: int | None,
    rev_primary: int | None,
) -> None:
    a, b = 7, 9
    put = c.put(
        f"/crm/v4/objects/{source}/{a}/associations/{target}/{b}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": fwd}],
    )
    assert put.status_code == 201, put.text
    assert _read(c, source, target, range(a, a + 1))[a][b] == {fwd}
    assert _read(c, target, source, range(b, b + 1))[b][a] == {rev}
    if fwd_primary is not None:
        put = c.put(
            f"/crm/v4/objects/{source}/{a}/associations/{target}/{b}",
            json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": fwd_primary}],
        )
        assert put.status_code == 201, put.text
        assert _read(c, source, target, range(a, a + 1))[a][b] == {fwd, fwd_primary}
        expected = {rev} if rev_primary is None else {rev, rev_primary}
        assert _read(c, target, source, range(b, b + 1))[b][a] == expected
    # a type of another pair is refused
    wrong = c.put(
        f"/crm/v4/objects/{source}/{a}/associations/{target}/{b}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}],
    )
    assert wrong.status_code == 400, wrong.text
    gone = c.delete(f"/crm/v4/objects/{source}/{a}/associations/{target}/{b}")
    assert gone.status_code == 204, gone.text
    assert b not in _read(c, source, target, range(a, a + 1)).get(a, {})
    assert a not in _read(c, target, source, range(b, b + 1)).get(b, {})
