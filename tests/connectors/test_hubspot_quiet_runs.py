"""A run when nothing changed costs at most two requests per table (the property list and one
search page), each run in a new connector as the engine opens them: the portal id of a static
token is kept with the connection, and the lookback overlap's records that the dataset already
holds at the same modification time get no association reads. The emulator counts the calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pyarrow as pa
import pytest

from headwater.connectors.hubspot import AUTH_OAUTH, AUTH_SERVICE_KEY, HubSpotConnector
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread
from headwater.errors import SourceAuthError
from tests.connectors.conftest import Collected, collect, connect, oauth_params

TABLE = "Hubspot.Contacts"
#: the archived list has its own cadence (one call per run while it is one page long); an hour
#: keeps it out of these runs, which count the rest
OPTIONS = ReadOptions(deletes_every_ms=3_600_000)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(seed=23, contacts=1_500, rate_limit="none")) as running:
        yield running


@pytest.fixture(scope="module")
def other() -> Iterator[RunningEmulator]:
    """Another portal, with its own tokens."""
    config = EmulatorConfig(seed=24, contacts=50, rate_limit="none", portal_id=99_001)
    with serve_in_thread(config) as running:
        yield running


class Dataset:
    """The destination's rows, merged on ``Id`` as the lake merges them (``known=``)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def take(self, out: Collected) -> None:
        for row in out.deleted:
            self.rows.pop(row["Id"], None)
        for row in out.rows:
            self.rows[row["Id"]] = dict(row)

    def known(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        table = pa.Table.from_pylist(list(self.rows.values()))
        yield from table.select([c for c in columns if c in table.column_names]).to_batches(700)


def calls(emu: RunningEmulator) -> Counter[str]:
    """The emulator's own request counts since the last reset, without its admin calls."""
    got = httpx.get(f"{emu.base_url}/_emulator/stats", timeout=10).json()["requests"]
    return Counter({k: v for k, v in got.items() if v and not k.startswith("admin.")})


def reset(emu: RunningEmulator) -> None:
    httpx.post(f"{emu.base_url}/_emulator/stats/reset", timeout=10).raise_for_status()


def run(
    emu: RunningEmulator,
    data: Dataset,
    state: dict[str, Any] | None,
    learned: dict[str, str],
    options: ReadOptions = OPTIONS,
) -> tuple[Collected, Counter[str], list[dict[str, str]]]:
    """One run: a new connector (as each run opens one), its read, the calls it made."""
    facts: list[dict[str, str]] = []
    reset(emu)
    with connect(emu, read_options=options, learned=learned, on_learned=facts.append) as conn:
        out = collect(conn.read(TABLE, state=state, known=data.known if state else None))
    data.take(out)
    return out, calls(emu), facts


def test_a_run_with_nothing_changed_makes_two_requests(emu: RunningEmulator) -> None:
    data = Dataset()
    first, made, facts = run(emu, data, None, {})
    assert made["account.details"] == 1  # the first run learns the token's portal
    assert [f["portalId"] for f in facts] == [str(emu.portal_id)]
    learned = facts[0]

    emu.state.advance(1)
    touched = emu.state.touch("contacts", 40)
    emu.state.advance(1)
    changed, made, facts = run(emu, data, first.checkpoints[-1], learned)
    assert {int(i) for i in changed.ids} >= set(touched)
    assert made["account.details"] == 0 and facts == []  # known: not looked up again
    assert made["associations.v4.batch_read"] > 0  # changed records get their associations

    # nothing changed since: the 40 sit in the lookback overlap, which the dataset holds already
    emu.state.advance(1)
    quiet, made, _ = run(emu, data, changed.checkpoints[-1], learned)
    assert made == Counter({"properties.list": 1, "objects.search": 1}), made
    assert sum(made.values()) <= 2
    assert quiet.rows == []
    assert quiet.progress[-1].unchanged >= 40
    assert quiet.checkpoints[-1]["cursor_ms"] > changed.checkpoints[-1]["cursor_ms"]


def test_an_overlap_record_changed_again_is_read_with_its_associations(
    emu: RunningEmulator,
) -> None:
    data = Dataset()
    first, _, facts = run(emu, data, None, {})
    emu.state.advance(1)
    touched = emu.state.touch("contacts", 20)
    emu.state.advance(1)
    changed, _, _ = run(emu, data, first.checkpoints[-1], facts[0])
    # one of them changes again, still inside the next window's lookback overlap
    again = emu.state.touch("contacts", 1, ids=[touched[0]])
    emu.state.advance(1)
    out, made, _ = run(emu, data, changed.checkpoints[-1], facts[0])
    assert [int(i) for i in out.ids] == again
    assert out.progress[-1].unchanged >= len(touched) - 1  # (and earlier tests' touches)
    assert made["associations.v4.batch_read"] > 0
    assert data.rows[str(touched[0])]["Associations_Companies_Ids"] is not None


def test_an_association_only_change_in_the_overlap_is_still_found(emu: RunningEmulator) -> None:
    data = Dataset()
    first, _, facts = run(emu, data, None, {})
    emu.state.advance(1)
    touched = emu.state.touch("contacts", 20)
    emu.state.advance(1)
    changed, _, _ = run(emu, data, first.checkpoints[-1], facts[0])
    # the dataset's association list of an overlap record differs from HubSpot's now, as
    # after an association added in HubSpot (which does not move the modification date)
    drifted = str(touched[3])
    row = data.rows[drifted]
    row["Associations_Companies_Ids"] = [*(row["Associations_Companies_Ids"] or []), "999999"]
    emu.state.advance(1)
    compare = ReadOptions(deletes_every_ms=3_600_000, associations_every_ms=0)
    out, _, _ = run(emu, data, changed.checkpoints[-1], facts[0], compare)
    assert out.ids == [drifted]  # skipped as unchanged, then found by the comparison
    assert out.progress[-1].association_changes == 1
    assert "999999" not in (data.rows[drifted]["Associations_Companies_Ids"] or [])


def test_a_known_portal_is_only_trusted_for_the_token_it_was_learned_for(
    emu: RunningEmulator, other: RunningEmulator
) -> None:
    data = Dataset()
    _, _, facts = run(emu, data, None, {})
    assert facts[0]["portalId"] == str(emu.portal_id)
    # the connection's token now belongs to another portal: looked up again, not trusted
    learned: list[dict[str, str]] = []
    registry = LimiterRegistry(budget=100_000, search_per_s=50)
    reset(other)
    with connect(other, registry=registry, learned=facts[0], on_learned=learned.append) as conn:
        conn.table_schema(TABLE)
        assert conn.http.portal_id == other.portal_id == 99_001
        assert conn.http.limiter is registry.get("hub:99001", budget=100)
    assert calls(other)["account.details"] == 1
    assert learned and learned[0]["portalId"] == "99001"
    assert learned[0]["portalCredential"] != facts[0]["portalCredential"]
    # a forged fact (another portal claimed for this token) needs the token's fingerprint too
    forged = {"portalId": "99001", "portalCredential": "0" * 32}
    reset(emu)
    with connect(emu, learned=forged) as conn:
        conn.table_schema(TABLE)
        assert conn.http.portal_id == emu.portal_id
    assert calls(emu)["account.details"] == 1


def test_the_connection_test_asks_hubspot_even_when_the_portal_is_known(
    emu: RunningEmulator,
) -> None:
    key = httpx.post(f"{emu.base_url}/_emulator/service-keys", json={}).json()["service_key"]

    def service_key(learned: dict[str, str], facts: list[dict[str, str]]) -> HubSpotConnector:
        return HubSpotConnector(
            auth_spec_name=AUTH_SERVICE_KEY,
            params={"serviceKey": key},
            base_url=emu.base_url,
            limiter_registry=LimiterRegistry(budget=100_000, search_per_s=50),
            learned=learned,
            on_learned=facts.append,
        )

    facts: list[dict[str, str]] = []
    with service_key({}, facts) as conn:
        conn.check()
    assert facts and facts[0]["portalId"] == str(emu.portal_id)
    reset(emu)
    with service_key(facts[0], []) as conn:
        conn.check()
    assert calls(emu)["account.details"] == 1  # the check is an answer from HubSpot
    httpx.post(f"{emu.base_url}/_emulator/service-keys/revoke", json={"service_key": key})
    with service_key(facts[0], []) as conn, pytest.raises(SourceAuthError):
        conn.check()


def _oauth(
    emu: RunningEmulator,
    params: dict[str, str],
    *,
    learned: dict[str, str],
    on_learned: Callable[[dict[str, str]], None] | None = None,
) -> HubSpotConnector:
    """An OAuth connector of ``emu`` that starts from ``learned`` facts."""
    return HubSpotConnector(
        auth_spec_name=AUTH_OAUTH,
        params=params,
        base_url=emu.base_url,
        limiter_registry=LimiterRegistry(budget=100_000, search_per_s=50),
        clock_ms=emu.clock.now_ms,
        learned=learned,
        on_learned=on_learned,
    )


def test_an_oauth_connection_keeps_its_portal_too(emu: RunningEmulator) -> None:
    """An OAuth token names its portal only through introspection (or a refresh): kept with the
    connection, the next connector whose token expiry is known too does not introspect."""
    params = {**oauth_params(emu), "expiresAt": str(emu.clock.now_ms() + 20 * 60_000)}
    facts: list[dict[str, str]] = []
    reset(emu)
    with connect(emu, oauth=True, on_learned=facts.append) as conn:
        conn.table_schema(TABLE)
    assert calls(emu)["oauth.introspect"] == 1
    assert [f["portalId"] for f in facts] == [str(emu.portal_id)]
    reset(emu)
    with _oauth(emu, params, learned=facts[0], on_learned=facts.append) as conn:
        conn.table_schema(TABLE)
        assert conn.constants() == {"Portal_Id": str(emu.portal_id)}
    assert calls(emu) == Counter({"properties.list": 1})
    assert len(facts) == 1  # nothing new to keep
    # another install (refresh token) of the app is not trusted with it
    other = dict(
        params, refreshToken=emu.state.auth.add_refresh_token(["crm.objects.contacts.read"])
    )
    reset(emu)
    with _oauth(emu, other, learned=facts[0]) as conn:
        conn.table_schema(TABLE)
    assert calls(emu)["oauth.introspect"] == 1
