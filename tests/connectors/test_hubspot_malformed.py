"""A HubSpot that answers 200 with the wrong thing: a body that is not JSON, a string or null
where the records belong, paging without a cursor or left out of a full search page, a 10 MiB
page, the same cursor forever, or new cursors to empty pages forever. Each ends the read with
its own error code and a message that names the request, never a hang or an unexpected
exception; explore and preview answer a 400 with that code; a dataflow run fails with it, the
dataset stays as it was, and the same worker and API go on serving (the next run succeeds)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, FaultRule, RunningEmulator, serve_in_thread
from headwater.engine.worker import Worker
from headwater.errors import (
    MalformedSourceResponseError,
    PaginationLoopError,
    SourceResponseTooLargeError,
    SyncError,
)
from headwater.services import sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.connectors.conftest import collect, connect, live_ids
from tests.flows import FS, build_flow, create_connection, oauth_params, runs_of

#: what a read may take before it counts as a hang (a read of 1,000 ids takes well under 5 s)
HANG_S = 120

#: fault kind on a list page -> the error it must end in
LIST_FAULTS = {
    "malformed": (MalformedSourceResponseError, "CONNECTOR-2502-502", "not JSON"),
    "wrongtype": (MalformedSourceResponseError, "CONNECTOR-2502-502", "results of type str"),
    "nullresults": (MalformedSourceResponseError, "CONNECTOR-2502-502", "NoneType"),
    "badpaging": (MalformedSourceResponseError, "CONNECTOR-2502-502", "no next cursor"),
    "huge": (SourceResponseTooLargeError, "CONNECTOR-2413-413", "at most"),
    "endless": (PaginationLoopError, "CONNECTOR-2508-508", "empty pages"),
    "repeat": (PaginationLoopError, "CONNECTOR-2508-508", "repeated the page cursor"),
}
SEARCH_FAULTS = {
    "malformed": (MalformedSourceResponseError, "CONNECTOR-2502-502", "not JSON"),
    "wrongtype": (MalformedSourceResponseError, "CONNECTOR-2502-502", "results of type str"),
    "nullresults": (MalformedSourceResponseError, "CONNECTOR-2502-502", "NoneType"),
    "badpaging": (MalformedSourceResponseError, "CONNECTOR-2502-502", "no next cursor"),
    "nopaging": (MalformedSourceResponseError, "CONNECTOR-2502-502", "no paging cursor"),
    "huge": (SourceResponseTooLargeError, "CONNECTOR-2413-413", "at most"),
}


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(seed=5, contacts=1_000, rate_limit="none", search_index_lag_ms=0)
    with serve_in_thread(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_after(emu: RunningEmulator) -> Iterator[None]:
    yield
    emu.state.faults.replace([])


def read_with_guard(emu: RunningEmulator, **read: Any) -> BaseException | None:
    """Run one read in a thread: the exception it ended with (None: it succeeded); a read that
    does not end is a hang and fails the test."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            with connect(emu) as conn:
                collect(conn.read("Hubspot.Contacts", **read))
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), f"the read did not end within {HANG_S} s"
    return outcome[0]


def assert_sync_error(exc: BaseException | None, expected: tuple[type, str, str]) -> None:
    cls, code, words = expected
    assert isinstance(exc, cls), repr(exc)
    assert isinstance(exc, SyncError) and exc.run_code == code
    assert words in str(exc), str(exc)
    assert "/crm/" in str(exc) or "Contacts" in str(exc) or "contacts" in str(exc), str(exc)


@pytest.mark.parametrize("kind", sorted(LIST_FAULTS))
def test_a_malformed_list_page_ends_the_read_with_its_code(
    emu: RunningEmulator, kind: str, reliability_counts: Any
) -> None:
    # the second list page is the bad one: the read has started and checkpointed
    on = frozenset({2}) if kind not in ("endless", "repeat") else frozenset(range(2, 10_000))
    emu.state.faults.replace([FaultRule(kind, endpoint="objects.list", on_requests=on)])
    exc = read_with_guard(emu, state=None, columns=["Id"])
    assert_sync_error(exc, LIST_FAULTS[kind])
    reliability_counts("hubspot malformed answers", cases=1, failures=0)


@pytest.mark.parametrize("kind", sorted(SEARCH_FAULTS))
def test_a_malformed_search_page_ends_the_incremental_read_with_its_code(
    emu: RunningEmulator, kind: str, reliability_counts: Any
) -> None:
    # every record changed since the cursor: the first search page is full (200 of 1,000)
    state = {"v": 1, "cursor_ms": 1, "table_size": 1_000}
    emu.state.faults.replace([FaultRule(kind, endpoint="objects.search")])
    exc = read_with_guard(emu, state=state, columns=["Id"], mode="incremental")
    assert_sync_error(exc, SEARCH_FAULTS[kind])
    reliability_counts("hubspot malformed answers", cases=1, failures=0)


def test_the_same_reads_succeed_once_hubspot_answers_properly(emu: RunningEmulator) -> None:
    """The checks do not refuse real pages (the faults above are what fails the reads)."""
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=None, columns=["Id"]))
    assert sorted(out.ids, key=int) == live_ids(emu, "contacts")
    state = {"v": 1, "cursor_ms": 1, "table_size": 1_000}
    with connect(emu) as conn:
        out = collect(
            conn.read("Hubspot.Contacts", state=state, columns=["Id"], mode="incremental")
        )
    assert sorted(out.ids, key=int) == live_ids(emu, "contacts")


@pytest.fixture
def api(ctx: ServiceContext, emu: RunningEmulator) -> Iterator[TestClient]:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("endpoint", "kind", "code"),
    [
        ("properties.list", "malformed", "CONNECTOR-2502-502"),
        ("properties.list", "wrongtype", "CONNECTOR-2502-502"),
        ("properties.list", "huge", "CONNECTOR-2413-413"),
        ("objects.list", "malformed", "CONNECTOR-2502-502"),
        ("objects.list", "nullresults", "CONNECTOR-2502-502"),
        ("objects.list", "huge", "CONNECTOR-2413-413"),
    ],
)
def test_explore_and_preview_answer_a_400_with_the_code(
    api: TestClient,
    ident: Identity,
    emu: RunningEmulator,
    endpoint: str,
    kind: str,
    code: str,
    reliability_counts: Any,
) -> None:
    h = ident.headers()
    base = create_connection(api, ident, oauth_params(emu))
    emu.state.faults.replace([FaultRule(kind, endpoint=endpoint)])
    r = api.get(
        f"{FS}/connections/{base}/explore",
        params={"objectType": "TABLE", "object": "Hubspot.Contacts", "preview": "true"},
        headers=h,
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"].endswith(code), body
    assert body["errorMessage"] and "HubSpot answered" in body["errorMessage"]
    # the service keeps answering
    assert api.get(f"{FS}/connections/{base}", headers=h).status_code == 200
    emu.state.faults.replace([])
    ok = api.get(
        f"{FS}/connections/{base}/explore",
        params={"objectType": "TABLE", "object": "Hubspot.Contacts", "preview": "true"},
        headers=h,
    )
    assert ok.status_code == 200, ok.text
    reliability_counts("hubspot malformed answers", cases=1, failures=0)


@pytest.mark.parametrize("kind", ["malformed", "endless", "huge"])
def test_a_dataflow_run_fails_with_the_code_and_the_worker_goes_on(
    api: TestClient,
    ident: Identity,
    ctx: ServiceContext,
    emu: RunningEmulator,
    kind: str,
    reliability_counts: Any,
) -> None:
    on = frozenset({2}) if kind != "endless" else frozenset(range(2, 10_000))
    emu.state.faults.replace([FaultRule(kind, endpoint="objects.list", on_requests=on)])
    made = build_flow(api, ident, oauth_params(emu))
    worker = Worker(ctx, open_connector=sources.open_connector, name="w-malformed")
    assert worker.run_until_idle() == 1
    [run] = runs_of(api, ident, made["flow"])
    summary = run["metrics"]["statusSummary"]
    assert summary["status"] == "failed", summary
    [error] = summary["errors"]
    expected = LIST_FAULTS[kind]
    assert error["code"] == expected[1], error
    assert expected[2] in error["message"], error
    # nothing half-read reached the dataset
    ds = api.get(
        f"/data/foundation/catalog/dataSets/{made['dataset']}/preview", headers=ident.headers()
    )
    assert ds.status_code in (200, 404), ds.text
    if ds.status_code == 200:
        assert ds.json().get("data", []) == []
    # HubSpot answers properly again: the same worker runs the flow to the end
    emu.state.faults.replace([])
    r = api.post(f"{FS}/flows/{made['flow']}/action", params={"op": "RUN"}, headers=ident.headers())
    assert r.status_code == 200, r.text
    assert worker.run_until_idle() == 1
    runs = sorted(runs_of(api, ident, made["flow"]), key=lambda x: x["createdAt"])
    assert runs[-1]["metrics"]["statusSummary"]["status"] == "success", runs[-1]["metrics"]
    reliability_counts("hubspot malformed answers", cases=1, failures=0)
