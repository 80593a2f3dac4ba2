"""``headwater quickstart`` in a fresh HEADWATER_HOME, twice: the second run reuses everything."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from deltalake import DeltaTable

from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from tests.connectors.conftest import live_ids
from tests.e2e.conftest import HEADWATER

CONTACTS = 3_000


def _quickstart(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [HEADWATER, "quickstart", "--exit", "--contacts", str(CONTACTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.e2e
def test_quickstart_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _quickstart(home)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "POST /data/foundation/flowservice/connections → 201" in out
    assert '{"result": true}' in out
    assert "Hubspot.Contacts" in out
    assert "run " in out and "— success" in out
    assert "headwater query" in out and "curl -s" in out

    state = json.loads((home / "quickstart.json").read_text())
    with serve_in_thread(
        EmulatorConfig(seed=42, contacts=CONTACTS, companies=2000, deals=3000)
    ) as emu:
        expected = live_ids(emu, "contacts")
    ids = (
        DeltaTable(str(home / "lake" / "QUICKSTART@AdobeOrg" / "prod" / state["datasetId"]))
        .to_pyarrow_table(columns=["Id"])
        .column("Id")
        .to_pylist()
    )
    assert sorted(ids, key=int) == expected

    second = _quickstart(home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reused base connection" in second.stdout
    assert "reused flow" in second.stdout
    assert "incremental" in second.stdout
    again = json.loads((home / "quickstart.json").read_text())
    assert {k: again[k] for k in ("connectionId", "flowId", "datasetId", "clientId")} == {
        k: state[k] for k in ("connectionId", "flowId", "datasetId", "clientId")
    }
    assert again["runs"] == 2
    ids = (
        DeltaTable(str(home / "lake" / "QUICKSTART@AdobeOrg" / "prod" / state["datasetId"]))
        .to_pyarrow_table(columns=["Id"])
        .column("Id")
        .to_pylist()
    )
    assert len(ids) == len(set(ids)) == len(expected)

    q = subprocess.run(
        [HEADWATER, "query", "SELECT count(*) AS n FROM hubspot_contacts", "--json"],
        env={**os.environ, "HEADWATER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout) == [{"n": len(expected)}]
