"""Property history and association tables read from the emulator, committed to the lake twice:
the composite keys keep re-reads from duplicating a row, and a complete association read
removes an association that is gone."""

from __future__ import annotations

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent
from headwater.emulator.hubspot import EmulatorConfig, ManualClock, serve_in_thread
from headwater.lake import DatasetRef, Lake, WriteOptions, query
from tests.connectors.conftest import connect


def _commit(lake: Lake, conn, table: str, ref: DatasetRef, run: str, state=None):  # type: ignore[no-untyped-def]
    staged = lake.stage(run)
    complete = False
    final = None
    for event in conn.read(table, state=state):
        if isinstance(event, BatchEvent):
            staged.write(event.batch)
        elif isinstance(event, CheckpointEvent):
            final = event.state
        elif isinstance(event, ProgressEvent):
            complete = complete or event.complete
    options = WriteOptions(primary_key=conn.primary_key(table), deleted_column="Is_Deleted")
    result = lake.commit(staged, ref.table, options, flow_id="f", reconcile=complete)
    return result, final


def test_history_rereads_merge_on_the_version_tuple(lake: Lake) -> None:
    config = EmulatorConfig(
        seed=4, contacts=80, companies=10, deals=10, tickets=10, engagements=2,
        custom_records=5, extra_records=2, search_index_lag_ms=0, clock=ManualClock(),
    )  # fmt: skip
    ref = DatasetRef(id="hist", name="hist", org="o", sandbox="s")
    table = "Hubspot.Contact_Property_History"
    with serve_in_thread(config) as emu, connect(emu) as conn:
        first, state = _commit(lake, conn, table, ref, "r1")
        again, _ = _commit(lake, conn, table, ref, "r2")  # a full re-read: nothing new
        emu.state.clock.advance(60)
        emu.state.update("contacts", 5, {"email": "new@x.test"})
        emu.state.clock.advance(1)
        third, _ = _commit(lake, conn, table, ref, "r3", state=state)
    assert first.rows_inserted > 0
    assert again.rows_inserted == 0
    assert third.rows_inserted == 1
    (count,) = query(lake, [ref], "SELECT COUNT(*) AS n FROM hist").to_pylist()
    assert count["n"] == first.rows_inserted + 1
    rows = query(
        lake, [ref], 'SELECT "Object_Id", "Property", "Timestamp", "Value", "Source_Id" FROM hist'
    ).to_pylist()
    email = [r for r in rows if r["Object_Id"] == "5" and r["Property"] == "email"]
    newest = max(email, key=lambda r: r["Timestamp"])
    newest = {"Value": newest["Value"], "Source_Id": newest["Source_Id"]}
    assert newest == {"Value": "new@x.test", "Source_Id": ""}


def test_a_complete_association_read_removes_a_gone_association(lake: Lake) -> None:
    config = EmulatorConfig(
        seed=4, contacts=80, companies=20, deals=10, tickets=10, engagements=2,
        custom_records=5, extra_records=2, search_index_lag_ms=0, clock=ManualClock(),
    )  # fmt: skip
    ref = DatasetRef(id="cc", name="cc", org="o", sandbox="s")
    table = "Hubspot.Contact_Company_Associations"
    with serve_in_thread(config) as emu, connect(emu) as conn:
        first, _ = _commit(lake, conn, table, ref, "r1")
        link = emu.state.graph.links("contacts", "companies", 1)[0]
        emu.state.dissociate("contacts", 1, "companies", link.to_id)
        second, _ = _commit(lake, conn, table, ref, "r2")
    removed = len(link.types)
    assert second.rows_reconciled == removed
    pairs = query(lake, [ref], 'SELECT "From_Id", "To_Id" FROM cc').to_pylist()
    left = [p for p in pairs if p == {"From_Id": "1", "To_Id": str(link.to_id)}]
    assert left == []
    assert second.rows_inserted == 0
    (count,) = query(lake, [ref], "SELECT COUNT(*) AS n FROM cc").to_pylist()
    assert count["n"] == first.rows_inserted - removed
