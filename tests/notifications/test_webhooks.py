"""Webhook notifications end to end: subscriptions through the API, events from real runs and
connection tests, signed deliveries to a real HTTP receiver, retries and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.counting import count_requests
from headwater.engine.deliverer import Deliverer, DeliveryPolicy, deliver_pending
from headwater.engine.worker import Worker
from headwater.services import sources, webhooks
from headwater.services.context import ServiceContext
from headwater.store.secrets import SecretBox, generate_key
from tests.conftest import Identity, new_identity
from tests.notifications.support import (
    FS,
    RUN_EVENTS,
    build_flow,
    create_connection,
    oauth_params,
    revoked_params,
    runs_of,
    serve_receiver,
)

SECRET = "a-receiver-chosen-secret-0123456789"


def subscribe(
    client: TestClient, ident: Identity, url: str, events: list[str], **extra: Any
) -> dict[str, Any]:
    r = client.post(
        f"{FS}/webhooks",
        headers=ident.headers(),
        json={"name": "ops hook", "url": url, "events": events, **extra},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/webhooks/{r.json()['id']}")
    return dict(r.json())


def deliveries(client: TestClient, ident: Identity, hook_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{FS}/webhooks/{hook_id}/deliveries", headers=ident.headers())
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def expect_signed(secret: str, body: bytes, header: str) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, header), "signature does not match the body"


def failed_run_payload(ident: Identity) -> dict[str, Any]:
    return {
        "imsOrgId": ident.org_id,
        "sandboxName": "prod",
        "flowId": "f-1",
        "flowRunId": "r-1",
        "status": "failed",
        "attempt": 1,
        "metrics": {
            "statusSummary": {"status": "failed", "errors": [{"code": "X", "message": "m"}]}
        },
        "errors": [{"code": "X", "message": "m"}],
    }


def test_receiver_gets_signed_events_for_a_successful_and_a_failed_run(
    client: TestClient, ident: Identity, wired: ServiceContext, emu
) -> None:
    wired.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    with serve_receiver() as receiver:
        hook = subscribe(client, ident, receiver.url, RUN_EVENTS)
        secret = hook["secret"]  # generated, shown once
        assert len(secret) >= 32
        ok = build_flow(client, ident, oauth_params(emu))
        bad = build_flow(client, ident, revoked_params(emu))
        worker = Worker(
            wired, open_connector=count_requests(sources.open_connector), name="w-hooks"
        )
        assert worker.run_until_idle() == 2
        ok_run = runs_of(client, ident, ok["flow"])[0]
        bad_run = runs_of(client, ident, bad["flow"])[0]
        assert ok_run["metrics"]["statusSummary"]["status"] == "success"
        assert bad_run["metrics"]["statusSummary"]["status"] == "failed"

        assert receiver.received == []  # nothing leaves before the deliverer runs
        assert deliver_pending(wired) == 4

        assert len(receiver.received) == 4
        for got in receiver.received:
            assert got.path == "/hooks/headwater"
            assert got.headers["content-type"] == "application/json"
            expect_signed(secret, got.body, got.headers["x-headwater-signature"])
            assert got.headers["x-headwater-timestamp"].isdigit()
            assert got.headers["x-headwater-delivery"]
        by_run: dict[str, dict[str, Any]] = {}
        for got in receiver.received:
            body = got.json()
            adobeio = body["event"]["header"]["_adobeio"]
            assert adobeio["imsOrgId"] == ident.org_id
            assert adobeio["providerMetadata"] == "platform_notifications"
            entity = body["event"]["body"]["xdmEntity"]
            assert entity["eventType"] == got.headers["x-headwater-event"]
            by_run.setdefault(entity["flowRunId"], {})[adobeio["eventCode"]] = entity
            assert body["event_id"]

        assert set(by_run) == {ok_run["id"], bad_run["id"]}
        success = by_run[ok_run["id"]]["sources_flow_run_success"]
        assert "sources_flow_run_start" in by_run[ok_run["id"]]
        assert success["flowId"] == ok["flow"] and success["status"] == "success"
        assert success["id"] == ok_run["id"]
        assert success["metrics"]["recordSummary"] == ok_run["metrics"]["recordSummary"]
        assert success["metrics"]["recordSummary"]["inputRecordCount"] > 0
        assert success["errors"] == []

        failure = by_run[bad_run["id"]]["sources_flow_run_failure"]
        assert "sources_flow_run_start" in by_run[bad_run["id"]]
        assert failure["flowId"] == bad["flow"] and failure["status"] == "failed"
        assert failure["errors"], failure
        assert failure["errors"] == bad_run["metrics"]["statusSummary"]["errors"]

        log = deliveries(client, ident, hook["id"])
        assert len(log) == 4
        assert {d["status"] for d in log} == {"succeeded"}
        assert {d["attemptCount"] for d in log} == {1}
        assert {d["responseCode"] for d in log} == {204}
        assert {d["eventType"] for d in log} == {
            "flow.run.started",
            "flow.run.succeeded",
            "flow.run.failed",
        }
        assert all(d["deliveredAt"] and len(d["attempts"]) == 1 for d in log)
        assert deliver_pending(wired) == 0  # delivered once, never again


def test_a_failing_receiver_is_retried_with_backoff_and_the_log_shows_each_attempt(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    now = [wired.clock()]
    wired.clock = lambda: now[0]
    policy = DeliveryPolicy(max_attempts=5, base_s=30)
    with serve_receiver(fail_first=2, fail_status=503) as receiver:
        hook = subscribe(client, ident, receiver.url, ["flow.run.failed"], secret=SECRET)
        assert "secret" not in hook  # the caller chose it: not echoed
        wired.emit("flow.run.failed", failed_run_payload(ident))

        assert deliver_pending(wired, policy=policy) == 1
        [first] = deliveries(client, ident, hook["id"])
        assert first["status"] == "retrying" and first["attemptCount"] == 1
        assert first["responseCode"] == 503 and first["lastError"].startswith("HTTP 503")
        wait = first["nextAttemptAt"] - first["updatedAt"]
        assert 30_000 <= wait <= 36_000

        assert deliver_pending(wired, policy=policy) == 0  # not due yet
        now[0] = first["nextAttemptAt"]
        assert deliver_pending(wired, policy=policy) == 1
        [second] = deliveries(client, ident, hook["id"])
        assert second["status"] == "retrying" and second["attemptCount"] == 2
        wait = second["nextAttemptAt"] - second["updatedAt"]
        assert 60_000 <= wait <= 72_000  # doubled

        now[0] = second["nextAttemptAt"]
        assert deliver_pending(wired, policy=policy) == 1
        [done] = deliveries(client, ident, hook["id"])
        assert done["status"] == "succeeded" and done["attemptCount"] == 3
        assert done["responseCode"] == 204 and done["lastError"] is None
        assert done["deliveredAt"] == now[0] and done["nextAttemptAt"] is None
        assert [a["responseCode"] for a in done["attempts"]] == [503, 503, 204]
        assert [a["attempt"] for a in done["attempts"]] == [1, 2, 3]
        assert done["attempts"][0]["error"].startswith("HTTP 503")

        assert [r.answered for r in receiver.received] == [503, 503, 204]
        assert len({r.headers["x-headwater-delivery"] for r in receiver.received}) == 1
        assert len({r.body for r in receiver.received}) == 1
        for r in receiver.received:
            expect_signed(SECRET, r.body, r.headers["x-headwater-signature"])
        assert r.json()["event"]["header"]["_adobeio"]["eventCode"] == "sources_flow_run_failure"


def test_delivery_gives_up_after_the_last_attempt_and_records_transport_errors(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    now = [wired.clock()]
    wired.clock = lambda: now[0]
    with serve_receiver() as receiver:
        url = receiver.url
    # the receiver is gone: connections are refused
    hook = subscribe(client, ident, url, ["flow.run.failed"])
    wired.emit("flow.run.failed", failed_run_payload(ident))
    policy = DeliveryPolicy(max_attempts=3, base_s=1)
    for _ in range(3):
        assert deliver_pending(wired, policy=policy) == 1
        now[0] += 3_600_000
    assert deliver_pending(wired, policy=policy) == 0
    [gave_up] = deliveries(client, ident, hook["id"])
    assert gave_up["status"] == "failed" and gave_up["attemptCount"] == 3
    assert gave_up["responseCode"] is None
    assert "ConnectError" in gave_up["lastError"]
    assert len(gave_up["attempts"]) == 3
    failed = client.get(
        f"{FS}/webhooks/{hook['id']}/deliveries",
        params={"status": "failed"},
        headers=ident.headers(),
    ).json()["items"]
    assert [d["id"] for d in failed] == [gave_up["id"]]


def test_a_slow_receiver_times_out_and_is_retried(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    now = [wired.clock()]
    wired.clock = lambda: now[0]
    with serve_receiver(fail_first=1, delay_s=2.0) as receiver:
        hook = subscribe(client, ident, receiver.url, ["flow.run.failed"])
        wired.emit("flow.run.failed", failed_run_payload(ident))
        policy = DeliveryPolicy(timeout_s=0.3)
        assert deliver_pending(wired, policy=policy) == 1
        [timed_out] = deliveries(client, ident, hook["id"])
        assert timed_out["status"] == "retrying"
        assert "Timeout" in timed_out["lastError"] and timed_out["responseCode"] is None
        now[0] = timed_out["nextAttemptAt"]
        assert deliver_pending(wired, policy=policy) == 1
        [done] = deliveries(client, ident, hook["id"])
        assert done["status"] == "succeeded" and done["attemptCount"] == 2


def test_revoked_credentials_notify_the_subscribers(
    client: TestClient, ident: Identity, wired: ServiceContext, emu
) -> None:
    wired.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    with serve_receiver() as receiver:
        hook = subscribe(client, ident, receiver.url, ["connection.credentials.failed"])
        good = create_connection(client, ident, oauth_params(emu))
        bad = create_connection(client, ident, revoked_params(emu))
        assert client.get(f"{FS}/connections/{good}/test", headers=ident.headers()).json() == {
            "result": True
        }
        test = client.get(f"{FS}/connections/{bad}/test", headers=ident.headers()).json()
        assert test["result"] is False
        assert deliver_pending(wired) == 1
        [got] = receiver.received
        expect_signed(hook["secret"], got.body, got.headers["x-headwater-signature"])
        assert got.headers["x-headwater-event"] == "connection.credentials.failed"
        body = got.json()
        assert (
            body["event"]["header"]["_adobeio"]["eventCode"]
            == "sources_connection_credentials_failure"
        )
        entity = body["event"]["body"]["xdmEntity"]
        assert entity["connectionId"] == bad and entity["id"] == bad
        assert entity["errors"][0]["message"] == test["error"]["errorMessage"]
        assert "revoked-or-unknown" not in got.body.decode()


def test_queued_events_survive_a_restart(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    with serve_receiver() as receiver:
        hook = subscribe(client, ident, receiver.url, ["flow.run.failed"])
        wired.emit("flow.run.failed", failed_run_payload(ident))
        # a new process: same database and key, no listeners, nothing in memory
        restarted = ServiceContext(engine=wired.engine, box=wired.box)
        assert deliver_pending(restarted) == 1
        assert len(receiver.received) == 1
        expect_signed(
            hook["secret"],
            receiver.received[0].body,
            receiver.received[0].headers["x-headwater-signature"],
        )


def test_the_background_deliverer_sends_what_the_process_emits(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    with serve_receiver() as receiver:
        subscribe(client, ident, receiver.url, ["flow.run.failed"])
        deliverer = Deliverer(wired, poll_s=30).start()
        try:
            wired.emit("flow.run.failed", failed_run_payload(ident))
            assert receiver.arrived.wait(30), "the deliverer never sent the event"
        finally:
            deliverer.stop()
        assert receiver.received[0].headers["x-headwater-event"] == "flow.run.failed"
        assert deliverer._on_event not in wired.listeners


def test_stopping_the_deliverer_lets_the_attempt_in_flight_finish_and_gives_back_the_rest(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    hold = threading.Event()
    with serve_receiver(hold=hold) as receiver:
        hook = subscribe(client, ident, receiver.url, ["flow.run.failed"])
        for _ in range(3):
            webhooks.enqueue(wired, "flow.run.failed", failed_run_payload(ident))
        deliverer = Deliverer(wired, poll_s=30).start()
        try:
            assert receiver.arrived.wait(30), "the deliverer never sent the first event"
            # the first POST is held by the receiver: the thread cannot end yet
            assert deliverer.stop(timeout=0.2) is False
        finally:
            hold.set()
        assert deliverer.stop(timeout=30) is True
        assert len(receiver.received) == 1  # no attempt started after the stop
        log = deliveries(client, ident, hook["id"])
        assert sorted(d["status"] for d in log) == ["pending", "pending", "succeeded"]
        # the two it gave back are due at once, not after a lease expires
        deliver_pending(wired)
        assert len(receiver.received) == 3
        log = deliveries(client, ident, hook["id"])
        assert [d["status"] for d in log] == ["succeeded"] * 3
        assert all(d["attemptCount"] == 1 for d in log)
        assert len({r.headers["x-headwater-delivery"] for r in receiver.received}) == 3


def test_a_webhook_that_cannot_be_read_does_not_stop_the_others(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    with serve_receiver() as receiver:
        subscribe(client, ident, receiver.url, ["flow.run.failed"])
        other = new_identity(wired)
        subscribe(client, other, receiver.url, ["flow.run.failed"])
        wired.emit("flow.run.failed", failed_run_payload(ident))
        wired.emit("flow.run.failed", failed_run_payload(other))
        # a process with another secret key can decrypt neither webhook's signing secret
        stranger = ServiceContext(engine=wired.engine, box=SecretBox(generate_key()))
        assert deliver_pending(stranger) == 0
        assert receiver.received == []
        # the deliveries are still queued; a process with the right key sends both (once the
        # stranger's leases expire)
        later = ServiceContext(
            engine=wired.engine, box=wired.box, clock=lambda: wired.clock() + 600_000
        )
        assert deliver_pending(later) >= 2
        assert len(receiver.received) == 2


def test_subscription_api_never_returns_the_secret_and_is_scoped_by_org_and_sandbox(
    client: TestClient, ident: Identity, wired: ServiceContext
) -> None:
    h = ident.headers()
    created = subscribe(client, ident, "https://hooks.example.test/in", ["flow.run.failed"])
    secret = created["secret"]
    got = client.get(f"{FS}/webhooks/{created['id']}", headers=h)
    assert got.status_code == 200
    doc = got.json()["items"][0]
    assert doc["url"] == "https://hooks.example.test/in" and doc["events"] == ["flow.run.failed"]
    assert doc["imsOrgId"] == ident.org_id and doc["sandboxName"] == "prod"
    assert doc["etag"] == created["etag"]
    assert secret not in got.text and "secret" not in doc
    listed = client.get(f"{FS}/webhooks", headers=h)
    assert [d["id"] for d in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text
    assert client.get(f"{FS}/webhooks", params={"count": "true"}, headers=h).json() == {"count": 1}

    other = new_identity(wired)
    assert client.get(f"{FS}/webhooks/{created['id']}", headers=other.headers()).status_code == 404
    assert client.get(f"{FS}/webhooks", headers=other.headers()).json()["items"] == []
    assert (
        client.get(f"{FS}/webhooks/{created['id']}/deliveries", headers=other.headers()).status_code
        == 404
    )
    # events of another org never reach this subscription
    assert webhooks.enqueue(wired, "flow.run.failed", failed_run_payload(other)) == []
    assert len(webhooks.enqueue(wired, "flow.run.failed", failed_run_payload(ident))) == 1

    assert client.delete(f"{FS}/webhooks/{created['id']}", headers=h).status_code == 204
    assert client.get(f"{FS}/webhooks/{created['id']}", headers=h).status_code == 404
    assert client.get(f"{FS}/webhooks/{created['id']}/deliveries", headers=h).status_code == 404
    assert client.delete(f"{FS}/webhooks/{created['id']}", headers=h).status_code == 404
    assert webhooks.enqueue(wired, "flow.run.failed", failed_run_payload(ident)) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "url": "ftp://example.test/", "events": ["flow.run.failed"]}, "url"),
        ({"name": "x", "url": "not a url", "events": ["flow.run.failed"]}, "url"),
        (
            {"name": "x", "url": "https://example.test/", "events": ["flow.run.exploded"]},
            "flow.run.exploded",
        ),
        ({"name": "x", "url": "https://example.test/", "events": []}, ""),
        (
            {
                "name": "x",
                "url": "https://example.test/",
                "events": ["flow.run.failed"],
                "secret": "short",
            },
            "secret",
        ),
        (
            {
                "name": "x",
                "url": "https://example.test/",
                "events": ["flow.run.failed"],
                "extra": 1,
            },
            "",
        ),
    ],
)
def test_invalid_subscriptions_are_rejected(
    client: TestClient, ident: Identity, body: dict[str, Any], fragment: str
) -> None:
    r = client.post(f"{FS}/webhooks", headers=ident.headers(), json=body)
    assert r.status_code == 400, r.text
    assert fragment in r.text
    assert client.get(f"{FS}/webhooks", headers=ident.headers()).json()["items"] == []


def test_webhooks_need_credentials(client: TestClient) -> None:
    r = client.post(f"{FS}/webhooks", json={"name": "x", "url": "https://e.test/", "events": []})
    assert r.status_code in (401, 403)


def test_a_run_failing_on_credentials_notifies_credential_subscribers(
    client: TestClient, ident: Identity, wired: ServiceContext, emu
) -> None:
    wired.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    with serve_receiver() as receiver:
        hook = subscribe(client, ident, receiver.url, ["connection.credentials.failed"])
        bad = build_flow(client, ident, revoked_params(emu))
        worker = Worker(wired, open_connector=sources.open_connector, name="w-creds")
        assert worker.run_until_idle() == 1
        run = runs_of(client, ident, bad["flow"])[0]
        assert run["metrics"]["statusSummary"]["status"] == "failed"
        assert deliver_pending(wired) == 1
        [got] = receiver.received
        expect_signed(hook["secret"], got.body, got.headers["x-headwater-signature"])
        entity = got.json()["event"]["body"]["xdmEntity"]
        assert entity["flowRunId"] == run["id"] and entity["flowId"] == bad["flow"]
        assert entity["errors"][0]["code"] == "CONNECTOR-2401-401"
