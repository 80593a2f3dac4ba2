"""Generated data: the vectorised page path agrees with per-value generation, hashing agrees
between numpy and Python, and a million-record portal is cheap to build."""

from __future__ import annotations

import json

import numpy as np

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, PortalState
from headwater.emulator.hubspot.values import iso_ms, iso_ms_array, mix, mix_array


def test_numpy_and_python_hashes_agree() -> None:
    xs = [0, 1, 2, 2**63, 2**64 - 1, 123_456_789]
    assert mix_array(np.array(xs, dtype=np.uint64)).tolist() == [mix(x) for x in xs]
    ms = [0, 1_672_531_200_000, 1_700_000_000_123, 1_767_225_600_999]
    assert iso_ms_array(np.array(ms, dtype=np.int64)) == [iso_ms(x) for x in ms]
    assert iso_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


def test_page_generation_matches_per_value_generation_for_every_type_and_property() -> None:
    state = PortalState(
        EmulatorConfig(
            contacts=800,
            companies=800,
            deals=800,
            tickets=300,
            engagements=200,
            line_items=300,
            products=100,
            custom_records=200,
            clock=ManualClock(),
        )
    )
    state.update("contacts", 5, {"firstname": 'Quote "me"', "email": None})
    for name, store in state.stores.items():
        t = state.types[name]
        plans = store.plans([p.name for p in t.properties])
        ids = list(range(1, store.size + 1))
        for rid, text in zip(ids, store.page_properties_json(ids, plans), strict=True):
            values = json.loads(text)
            assert values == {p.name: store.value(rid, p.name) for p in plans}, (name, rid)
    assert (
        json.loads(
            state.stores["contacts"].properties_json(
                5, state.stores["contacts"].plans(["firstname", "email"])
            )
        )["firstname"]
        == 'Quote "me"'
    )


def test_a_million_contacts_cost_timestamps_only() -> None:
    state = PortalState(
        EmulatorConfig(
            contacts=1_000_000,
            companies=10,
            deals=10,
            tickets=10,
            engagements=5,
            line_items=5,
            products=5,
            custom_records=5,
            clock=ManualClock(),
        )
    )
    store = state.stores["contacts"]
    per_record = (
        sum(
            a.nbytes
            for a in (
                store.created,
                store.updated,
                store.archived,
                store.archived_at,
                store.s_updated,
                store.s_archived,
            )
        )
        / store.size
    )
    assert per_record < 40
    assert not store.overrides
    assert np.all(np.diff(store.created[: store.size]) > 0)  # ids are in creation order
    assert np.all(store.updated[: store.size] >= store.created[: store.size])
    assert int(store.updated[: store.size].max()) < state.now_ms()
    last = store.value(1_000_000, "email")
    assert last is not None
    assert last.endswith("@" + last.split("@")[1])
    assert "1000000@" in last


def test_record_counts_are_live_records_and_archived_ones_come_on_top() -> None:
    for seed in (1, 42):
        state = PortalState(
            EmulatorConfig(seed=seed, contacts=5_000, companies=1, deals=0, tickets=137)
        )
        for name, wanted in (("contacts", 5_000), ("companies", 1), ("deals", 0), ("tickets", 137)):
            store = state.stores[name]
            live = int((~store.archived[: store.size]).sum())
            assert live == wanted, (seed, name)
            assert store.counts() == (wanted, store.size - wanted)
        assert state.record_counts()["records"]["contacts"] == 5_000
        assert 0 < state.record_counts()["archived"]["contacts"] < 5_000 * 2 // 100
