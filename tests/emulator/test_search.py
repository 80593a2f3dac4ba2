"""Search: the 10,000-result cap, request variants, numeric comparisons, freshness lag."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.emulator.hubspot import (
    EmulatorConfig,
    ManualClock,
    PortalState,
    RunningEmulator,
)
from headwater.emulator.hubspot.search import SearchError, run_search

from .helpers import api, small_config


@pytest.fixture(scope="module")
def emu_config() -> EmulatorConfig:
    # more contacts than one search query can page through
    return small_config(seed=3, contacts=12_500, companies=50, deals=50, tickets=50)


def _live_contacts(emu: RunningEmulator) -> int:
    store = emu.state.stores["contacts"]
    return int((~store.archived[: store.size]).sum())


def test_search_refuses_to_page_past_10000_results(emu: RunningEmulator) -> None:
    body = {"sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}], "limit": 200}
    with api(emu) as c:
        ok = c.post("/crm/v3/objects/contacts/search", json={**body, "after": "9800"})
        assert ok.status_code == 200
        page = ok.json()
        assert page["total"] == _live_contacts(emu) > 10_000  # total is never capped
        assert len(page["results"]) == 200
        assert page["paging"]["next"]["after"] == "10000"
        for after in ("10000", 9900, "12000"):
            refused = c.post("/crm/v3/objects/contacts/search", json={**body, "after": after})
            assert refused.status_code == 400, after
            err = refused.json()
            assert err["category"] == "VALIDATION_ERROR"
            assert err["correlationId"]
            assert "10000" in err["message"]


def test_id_window_restart_reads_every_record_once(emu: RunningEmulator) -> None:
    """Airbyte's workaround: top-level filters, integer after, restart at last id + 1."""
    seen: list[int] = []
    floor, after = 0, 0
    with api(emu) as c:
        while True:
            r = c.post(
                "/crm/v3/objects/contact/search",
                json={
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"},
                        {"propertyName": "hs_object_id", "operator": "GTE", "value": str(floor)},
                    ],
                    "sorts": ["hs_object_id"],
                    "limit": 200,
                    "after": after,
                },
            )
            assert r.status_code == 200, r.text
            data = r.json()
            seen.extend(int(x["id"]) for x in data["results"])
            if "paging" not in data:
                break
            after = int(data["paging"]["next"]["after"])
            if after + 200 > 10_000:
                floor, after = seen[-1] + 1, 0
    assert len(seen) == len(set(seen)) == _live_contacts(emu)
    assert seen == sorted(seen)


def test_search_request_variants_and_limits(emu: RunningEmulator) -> None:
    with api(emu) as c:
        desc = c.post(
            "/crm/v3/objects/contacts/search", json={"sorts": ["-hs_object_id"], "limit": 3}
        ).json()
        assert [int(x["id"]) for x in desc["results"]] == sorted(
            (int(x["id"]) for x in desc["results"]), reverse=True
        )
        assert set(desc["results"][0]["properties"]) == {
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        }
        assert "associations" not in desc["results"][0]
        numeric = c.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_object_id", "operator": "LT", "value": "10"}]}
                ],
                "limit": 200,
            },
        ).json()
        assert all(
            int(x["id"]) < 10 for x in numeric["results"]
        )  # numeric, not lexicographic ("100" < "9")
        assert numeric["total"] == len(numeric["results"]) >= 8
        assert c.post("/crm/v3/objects/contacts/search", json={"limit": 201}).status_code == 400
        too_many = {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "1"}] * 11}
            ]
        }
        assert c.post("/crm/v3/objects/contacts/search", json=too_many).status_code == 400
        groups = {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "1"}]}
            ]
            * 6
        }
        assert c.post("/crm/v3/objects/contacts/search", json=groups).status_code == 400
        bad_op = {"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}
        assert c.post("/crm/v3/objects/contacts/search", json=bad_op).status_code == 400
        # ORed groups, IN, CONTAINS_TOKEN with a wildcard, multi-select enumeration
        ored = c.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "hs_object_id", "operator": "IN", "values": ["5", "7"]}
                        ]
                    },
                    {
                        "filters": [
                            {"propertyName": "hs_object_id", "operator": "EQ", "value": "11"}
                        ]
                    },
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            },
        ).json()
        live = {rid for rid in (5, 7, 11) if not emu.state.stores["contacts"].is_archived(rid)}
        assert [int(x["id"]) for x in ored["results"]] == sorted(live)
        token = c.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filters": [
                    {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@gmail.com"}
                ],
                "properties": ["email"],
                "limit": 50,
            },
        ).json()
        assert token["results"]
        assert all(x["properties"]["email"].endswith("@gmail.com") for x in token["results"])
        multi = c.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filters": [{"propertyName": "hw_interests", "operator": "EQ", "value": "seo"}],
                "properties": ["hw_interests"],
                "limit": 50,
            },
        ).json()
        assert multi["results"]
        assert all("seo" in x["properties"]["hw_interests"].split(";") for x in multi["results"])


def test_search_lags_writes_by_the_configured_index_lag(
    start: Callable[..., RunningEmulator],
) -> None:
    clock = ManualClock()
    emu = start(search_index_lag_ms=30_000, clock=clock)
    with api(emu) as c:
        since = clock.now_ms()
        touched = emu.state.touch("contacts", 5)
        query = {
            "filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since)}
            ],
            "limit": 100,
        }
        assert c.post("/crm/v3/objects/contacts/search", json=query).json()["total"] == 0
        # the list endpoint sees the write immediately
        first = c.get(f"/crm/v3/objects/contacts/{touched[0]}").json()
        assert first["updatedAt"] == first["properties"]["lastmodifieddate"]
        clock.advance(30)
        found = c.post("/crm/v3/objects/contacts/search", json=query).json()
        assert sorted(int(x["id"]) for x in found["results"]) == touched


@pytest.fixture(scope="module")
def million() -> PortalState:
    return PortalState(
        EmulatorConfig(
            contacts=1_000_000,
            companies=10,
            deals=10,
            tickets=10,
            engagements=5,
            line_items=5,
            custom_records=5,
            clock=ManualClock(),
        )
    )


def test_search_over_a_million_contacts_filters_on_modified_date_and_id(
    million: PortalState,
) -> None:
    store = million.stores["contacts"]
    t = million.types["contacts"]
    lo = int(store.updated[400_000])
    hi = lo + 6 * 3_600_000
    body = {
        "filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(lo)},
            {"propertyName": "lastmodifieddate", "operator": "LTE", "value": str(hi)},
            {"propertyName": "hs_object_id", "operator": "GTE", "value": "350000"},
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "limit": 200,
    }
    page = run_search(store, t, body, million.now_ms())
    n = store.size
    ids = np.arange(1, n + 1)
    expected = ids[
        (store.updated[:n] >= lo)
        & (store.updated[:n] <= hi)
        & (ids >= 350_000)
        & ~store.archived[:n]
    ]
    assert page.total == expected.size > 0
    assert page.ids == expected[:200].tolist()


@settings(max_examples=40, deadline=None)
@given(
    lo=st.integers(0, 3_000),
    width=st.integers(0, 3_000),
    op=st.sampled_from(["GT", "GTE", "LT", "LTE", "EQ", "NEQ"]),
)
def test_array_filters_agree_with_per_record_evaluation(lo: int, width: int, op: str) -> None:
    state = _small_state()
    store = state.stores["deals"]
    t = state.types["deals"]
    created_lo = int(store.created[lo])
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "createdate", "operator": "GTE", "value": str(created_lo)},
                    {"propertyName": "hs_object_id", "operator": op, "value": str(lo + width)},
                ]
            },
            {"filters": [{"propertyName": "amount", "operator": "LT", "value": "5000"}]},
        ],
        "limit": 200,
    }
    page = run_search(store, t, body, state.now_ms())
    ops = {
        "GT": int.__gt__,
        "GTE": int.__ge__,
        "LT": int.__lt__,
        "LTE": int.__le__,
        "EQ": int.__eq__,
        "NEQ": int.__ne__,
    }
    expected = []
    for rid in range(1, store.size + 1):
        if store.is_archived(rid):
            continue
        g1 = int(store.created[rid - 1]) >= created_lo and ops[op](rid, lo + width)
        amount = store.value(rid, "amount")
        g2 = amount is not None and float(amount) < 5000
        if g1 or g2:
            expected.append(rid)
    assert page.total == len(expected)
    assert page.ids == expected[:200]


_STATE: list[PortalState] = []


def _small_state() -> PortalState:
    if not _STATE:
        _STATE.append(
            PortalState(
                EmulatorConfig(
                    contacts=10,
                    deals=4_000,
                    companies=10,
                    tickets=10,
                    engagements=5,
                    line_items=5,
                    custom_records=5,
                    clock=ManualClock(),
                )
            )
        )
    return _STATE[0]


def test_search_validation_errors_are_raised_in_process() -> None:
    state = _small_state()
    with pytest.raises(SearchError):
        run_search(
            state.stores["deals"],
            state.types["deals"],
            {"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]},
            0,
        )
    with pytest.raises(SearchError):
        run_search(state.stores["deals"], state.types["deals"], {"after": "abc"}, 0)


@settings(max_examples=25, deadline=None)
@given(
    stage=st.sampled_from(["lead", "customer", "other", "nope"]),
    interest=st.sampled_from(["seo", "crm", "email"]),
    op=st.sampled_from(["EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"]),
)
def test_pool_properties_vectorised_agree_with_per_record_evaluation(
    stage: str, interest: str, op: str
) -> None:
    state = _pool_state()
    store = state.stores["contacts"]
    t = state.types["contacts"]
    value_filter: dict[str, object] = {"propertyName": "hs_lead_status", "operator": op}
    if op in ("IN", "NOT_IN"):
        value_filter["values"] = ["NEW", "OPEN"]
    elif op in ("EQ", "NEQ"):
        value_filter["value"] = "new"
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": stage},
                    {"propertyName": "hw_interests", "operator": "EQ", "value": interest},
                ]
            },
            {
                "filters": [
                    value_filter,
                    {"propertyName": "city", "operator": "EQ", "value": "paris"},
                ]
            },
        ],
        "limit": 200,
    }
    page = run_search(store, t, body, state.now_ms())

    def lower(v: str | None) -> str | None:
        return None if v is None else v.lower()

    expected = []
    for rid in range(1, store.size + 1):
        if store.is_archived(rid):
            continue
        v = store.value
        g1 = lower(v(rid, "lifecyclestage")) == stage and interest in (
            v(rid, "hw_interests") or ""
        ).split(";")
        lead = lower(v(rid, "hs_lead_status"))
        has = lead is not None
        lead_ok = {
            "EQ": lead == "new",
            "NEQ": lead != "new",
            "IN": lead in ("new", "open"),
            "NOT_IN": lead not in ("new", "open"),
            "HAS_PROPERTY": has,
            "NOT_HAS_PROPERTY": not has,
        }[op]
        g2 = lead_ok and lower(v(rid, "city")) == "paris"
        if g1 or g2:
            expected.append(rid)
    assert page.total == len(expected)
    assert page.ids == expected[:200]


def test_email_equality_is_found_without_a_scan() -> None:
    state = _pool_state()
    store = state.stores["contacts"]
    email = store.value(1234, "email")
    assert email is not None
    page = run_search(
        store,
        state.types["contacts"],
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": email.upper()}]},
        0,
    )
    assert page.ids == ([] if store.is_archived(1234) else [1234])
    state.update("contacts", 7, {"email": "written@api.test"})
    page = run_search(
        store,
        state.types["contacts"],
        {
            "filters": [
                {"propertyName": "email", "operator": "IN", "values": ["written@api.test", email]}
            ]
        },
        0,
    )
    assert page.ids == sorted({7} | ({1234} - {r for r in (1234,) if store.is_archived(r)}))


_POOL: list[PortalState] = []


def _pool_state() -> PortalState:
    if not _POOL:
        state = PortalState(
            EmulatorConfig(
                contacts=3_000,
                deals=10,
                companies=10,
                tickets=10,
                engagements=5,
                line_items=5,
                custom_records=5,
                clock=ManualClock(),
                search_index_lag_ms=0,  # the writes below are searched at once
            )
        )
        state.update(
            "contacts",
            3,
            {
                "lifecyclestage": "customer",
                "hw_interests": "seo;crm",
                "hs_lead_status": None,
                "city": "Paris",
            },
        )
        state.update("contacts", 4, {"hs_lead_status": "NEW", "city": "PARIS"})
        _POOL.append(state)
    return _POOL[0]


def test_by_default_search_lags_writes_as_hubspot_does(
    start: Callable[..., RunningEmulator],
) -> None:
    assert 0 < EmulatorConfig().search_lag_ms <= 2_000
    assert EmulatorConfig(indexing_delay=2.5).search_lag_ms == 2_500  # the older spelling
    clock = ManualClock()
    emu = start(clock=clock)
    lag = emu.state.search_lag_ms
    with api(emu) as c:
        created = c.post(
            "/crm/v3/objects/contacts", json={"properties": {"email": "lag@headwater.test"}}
        ).json()
        query = {
            "filters": [{"propertyName": "email", "operator": "EQ", "value": "lag@headwater.test"}]
        }
        assert c.get(f"/crm/v3/objects/contacts/{created['id']}").status_code == 200  # at once
        assert c.post("/crm/v3/objects/contacts/search", json=query).json()["total"] == 0
        clock.advance((lag - 1) / 1000)
        assert c.post("/crm/v3/objects/contacts/search", json=query).json()["total"] == 0
        clock.advance(0.001)
        assert c.post("/crm/v3/objects/contacts/search", json=query).json()["total"] == 1
