"""The lake on an S3-compatible object store: moto's server started on a free port.

moto runs in its own process: delta-rs holds the GIL while it waits on the network, so an
in-process (threaded) server would never get to answer.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pyarrow as pa
import pytest

from headwater.lake import DatasetRef, Lake, query, storage_options_from_env
from tests.lake.helpers import MERGE, batch, contact, run

pytest.importorskip("moto.server", reason="moto[server] is not installed; the S3 test needs it")
boto3 = pytest.importorskip("boto3", reason="boto3 (installed with moto) is missing")

BUCKET = "headwater-lake"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, "moto server exited"
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def _env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }


def test_flow_into_s3_produces_a_table_duckdb_reads(s3_endpoint: str) -> None:
    lake = Lake(f"s3://{BUCKET}/lake", storage_options_from_env(_env(s3_endpoint)))
    ref = DatasetRef(id="ds-s3", name="contacts", org="ORG1@AdobeOrg", sandbox="prod")

    first = run(
        lake, ref.table, "r1", batch([contact(i, score=1) for i in range(100)]), state={"p": 1}
    )
    assert lake.staged_runs() == []
    staged = lake.stage("r2", part_rows=30)
    for start in range(50, 150, 25):
        staged.write(
            batch([contact(i, score=2) for i in range(start, start + 25)]), state={"p": start}
        )
    assert staged.resume_state is not None
    assert lake.stage("r2").durable_rows == staged.durable_rows > 0
    second = lake.commit(staged, ref.table, MERGE, flow_id="flow-1")
    again = lake.commit("r2", ref.table, MERGE, flow_id="flow-1")

    assert first.created_table
    assert first.rows_inserted == 100
    assert first.bytes_written > 0
    assert (second.rows_inserted, second.rows_updated) == (50, 50)
    assert again.already_applied
    assert again.table_version == second.table_version

    result = query(
        lake,
        [ref],
        'SELECT count(*) AS n, count(DISTINCT "Id") AS ids, sum("Score") AS s FROM contacts',
    )
    assert result.to_pylist() == [{"n": 150, "ids": 150, "s": 50 * 1 + 100 * 2}]

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="lake/")["Contents"]]
    assert any(k.startswith("lake/ORG1@AdobeOrg/prod/ds-s3/_delta_log/") for k in keys)
    assert not any(k.startswith("lake/_staging/") for k in keys)


def test_s3_schema_evolution_and_history(s3_endpoint: str) -> None:
    from headwater.lake import WriteMode, WriteOptions

    lake = Lake(f"s3://{BUCKET}/evolve", storage_options_from_env(_env(s3_endpoint)))
    ref = DatasetRef(id="hist", name="hist", org="o", sandbox="s")
    options = WriteOptions(primary_key=("Id",), mode=WriteMode.HISTORY)
    run(lake, ref.table, "h1", batch([contact(1)]), options=options)
    wider = pa.schema([("Id", pa.string()), ("Phone", pa.string())])
    result = run(lake, ref.table, "h2", batch([{"Id": "1", "Phone": "5"}], wider), options=options)
    assert result.added_columns == ("Phone",)
    got = query(lake, [ref], 'SELECT "Phone", _run_id FROM hist ORDER BY _run_id').to_pylist()
    assert got == [{"Phone": None, "_run_id": "h1"}, {"Phone": "5", "_run_id": "h2"}]


def test_unreachable_storage_is_a_retriable_error() -> None:
    from headwater.errors import RetriableSyncError
    from headwater.lake import TableRef

    env = _env(f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    options = {**storage_options_from_env(env), "max_retries": "0", "connect_timeout": "1s"}
    lake = Lake(f"s3://{BUCKET}/gone", options)
    with pytest.raises(RetriableSyncError, match="unavailable"):
        lake.stage("r1")
    with pytest.raises(RetriableSyncError, match="unavailable"):
        lake.open_table(TableRef("o", "s", "d"))
