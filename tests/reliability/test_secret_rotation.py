"""``headwater secrets rotate --new-key`` against a running ``headwater serve``: while clients keep
editing connections (every PATCH decrypts and re-encrypts their secrets), the rotation puts a new
key first and re-encrypts every stored secret in batches; no request fails, every secret ends
under the new key, and once the old key is dropped the service still reads every secret."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from headwater.store.secrets import SecretBox
from tests.e2e.conftest import HEADWATER, live_identity, start_server, stop_group

FS = "/data/foundation/flowservice"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"


def _connection(i: int) -> dict:
    return {
        "name": f"rotate {i}",
        "auth": {
            "specName": "Basic Authentication",
            "params": {
                "clientId": f"client-{i}",
                "clientSecret": f"secret-{i}-0",
                "accessToken": f"access-{i}",
                "refreshToken": f"refresh-{i}",
            },
        },
        "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
    }


def _blobs(db: str) -> list[tuple[str, str, bytes]]:
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, kind, secrets FROM resources WHERE secrets IS NOT NULL")
        ).all()
    engine.dispose()
    return [(r[0], r[1], bytes(r[2])) for r in rows]


@pytest.fixture
def private_pg_url(pg_url: str) -> Iterator[str]:
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"hw_rotate_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def test_rotation_under_a_running_serve(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, reliability_counts
) -> None:
    home = tmp_path / "home"
    extra = {}
    if backend == "postgres":
        # a database of its own: the session's shared one holds secrets sealed by other keys
        extra["HEADWATER_DATABASE_URL"] = request.getfixturevalue("private_pg_url")
    proc, base, env = start_server(home, extra_env=extra)
    db = extra.get("HEADWATER_DATABASE_URL") or f"sqlite:///{home / 'headwater.db'}"
    try:
        live = live_identity(base, env)
        h = live.headers() | {"Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=30) as c:
            ids = []
            for i in range(60):
                r = c.post(f"{FS}/connections", json=_connection(i), headers=h)
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            for i in range(3):
                r = c.post(
                    f"{FS}/webhooks",
                    json={
                        "name": f"h{i}",
                        "url": "http://127.0.0.1:9/",
                        "events": ["flow.run.failed"],
                    },
                    headers=h,
                )
                assert r.status_code == 201, r.text
        old_key_ids = {b[3:7].hex() for _, _, b in _blobs(db)}
        assert len(old_key_ids) == 1

        statuses: Counter[int] = Counter()
        last_secret: dict[str, str] = {}
        stop = threading.Event()

        def edit(worker: int) -> None:
            mine = ids[worker:12:3]  # 12 edited; the other 48 wait for the rotation
            n = 0
            with httpx.Client(base_url=base, timeout=30) as c:
                while not stop.is_set():
                    conn_id = mine[n % len(mine)]
                    n += 1
                    got = c.get(f"{FS}/connections/{conn_id}", headers=h)
                    statuses[got.status_code] += 1
                    if got.status_code != 200:
                        continue
                    value = f"secret-{conn_id}-{n}"
                    r = c.patch(
                        f"{FS}/connections/{conn_id}",
                        json=[
                            {"op": "replace", "path": "/auth/params/clientSecret", "value": value}
                        ],
                        headers=h | {"If-Match": got.json()["items"][0]["etag"]},
                    )
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        last_secret[conn_id] = value

        threads = [threading.Thread(target=edit, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = sum(statuses.values())
        t0 = time.monotonic()
        out = subprocess.run(
            [
                HEADWATER,
                "secrets",
                "rotate",
                "--new-key",
                "--batch-size",
                "10",
                "--pause",
                "0.05",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        during = sum(statuses.values()) - before
        took = time.monotonic() - t0
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        done = json.loads(out.stdout.strip().splitlines()[-1])
        # the 48 untouched connections and the 3 webhooks at least were re-encrypted by it
        assert done["remaining"] == 0 and done["rewritten"] >= 51, done
        assert set(statuses) <= {200}, statuses  # nothing failed while the keys changed
        assert during > 20, f"only {during} requests were answered during the rotation"

        blobs = _blobs(db)
        assert {b[3:7].hex() for _, _, b in blobs} == {done["keyId"]}
        assert done["keyId"] not in old_key_ids

        drop = subprocess.run(
            [HEADWATER, "secrets", "drop-old-keys"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert drop.returncode == 0, drop.stdout + drop.stderr
        key_file = home / "secret.key"
        only = SecretBox(key_file.read_text().strip())
        assert only.key_ids == [done["keyId"]]
        for conn_id, kind, blob in blobs:
            values = only.decrypt(blob, context=f"{kind}:{conn_id}".encode())
            if conn_id in last_secret:
                assert values["clientSecret"] == last_secret[conn_id]
        time.sleep(1.5)  # serve re-reads the keyring
        with httpx.Client(base_url=base, timeout=30) as c:
            for conn_id in ids[:10]:
                got = c.get(f"{FS}/connections/{conn_id}", headers=h).json()["items"][0]
                r = c.patch(
                    f"{FS}/connections/{conn_id}",
                    json=[{"op": "replace", "path": "/auth/params/accessToken", "value": "after"}],
                    headers=h | {"If-Match": got["etag"]},
                )
                assert r.status_code == 200, r.text  # decrypts with the new key alone
        reliability_counts(
            f"secrets rotate ({backend})",
            secrets=len(blobs),
            requests_during_rotation=during,
            rotation_ms=int(took * 1000),
            failures=sum(v for k, v in statuses.items() if k != 200),
        )
    finally:
        stop_group(proc)
