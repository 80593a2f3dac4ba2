"""Liveness and readiness (``/health/live``, ``/health/ready``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.lake import Lake
from headwater.services.context import ServiceContext
from headwater.store.db import create_engine
from headwater.store.secrets import SecretBox, generate_key


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "lake": "ok"}


def test_not_ready_when_the_database_and_the_lake_do_not_answer() -> None:
    # nothing listens on port 1, neither a database nor an object store
    unreachable_s3 = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_REGION": "us-east-1",
        "max_retries": "0",
    }
    down = ServiceContext(
        engine=create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"),
        box=SecretBox(generate_key()),
        lake=Lake("s3://nowhere/lake", unreachable_s3),
    )
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
    down.engine.dispose()
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error: OperationalError"
    assert body["checks"]["lake"].startswith("error: ")
