"""Flows, runs and datasets through the operator CLI, with the server's worker running them."""

from __future__ import annotations

from tests.cli.conftest import ONE_LINE_ERROR, Operator, Server, contacts_flow, hubspot_connection


def test_run_a_flow_watch_it_and_look_at_its_dataset(server: Server, operator: Operator) -> None:
    with server.http() as http:
        conn = hubspot_connection(http, server.emu, name="runs hubspot")
        made = contacts_flow(http, conn, name="cli contacts")
    flow, dataset = made["flow"], made["dataset"]

    flows = operator.json("flows", "list")
    assert flow in {f["id"] for f in flows}
    assert flow in operator.ok("flows", "list")
    shown = operator.json("flows", "show", flow)
    assert shown["id"] == flow and shown["state"] == "enabled" and shown["recentRuns"] == []
    human = operator.ok("flows", "show", flow)
    assert "Hubspot.Contacts" in human and dataset in human

    queued = operator.json("flows", "run", flow)
    assert queued["flowId"] == flow and queued["trigger"] == "manual"
    run_id = queued["id"]

    watched = operator.run("runs", "watch", run_id, "--interval", "0.2")
    assert watched.returncode == 0, watched.stderr
    total = server.emu.state.stores["contacts"].size  # the live contacts and the archived ones
    assert f"run {run_id} success: {total} records" in watched.stdout
    assert "records" in watched.stderr  # the progress bar is drawn on stderr

    done = operator.json("runs", "watch", run_id)
    assert done["id"] == run_id and done["state"] == "success"
    copy = next(a for a in done["activities"] if a["id"] == "copyActivity")
    assert copy["recordSummary"]["inputRecordCount"] == total
    assert copy["statusSummary"]["extensions"]["pages"] > 0

    assert [r["id"] for r in operator.json("runs", "list", "--flow", flow)] == [run_id]
    assert [r["id"] for r in operator.json("runs", "list", "--state", "success")] == [run_id]
    assert operator.json("runs", "list", "--flow", flow, "--state", "failed") == []
    assert run_id in operator.ok("runs", "list")
    assert (
        operator.json("runs", "show", run_id)["metrics"]["recordSummary"]["inputRecordCount"]
        == total
    )
    run_text = operator.ok("runs", "show", run_id)
    assert "copyActivity" in run_text and "promotionActivity" in run_text

    datasets = operator.json("datasets", "list")
    assert dataset in {d["id"] for d in datasets}
    assert [d["id"] for d in operator.json("datasets", "list", "--name", datasets[0]["name"])] == [
        datasets[0]["id"]
    ]
    ds = operator.json("datasets", "show", dataset)
    assert ds["id"] == dataset
    assert "Id" in {c["name"] for c in ds["headwater"]["columns"]}
    assert [b["relatedObjects"][1]["id"] for b in ds["batches"]] == [run_id]
    preview = operator.json("datasets", "preview", dataset, "--limit", "5")
    assert len(preview["data"]) == 5
    assert {c["name"] for c in preview["columns"]} >= set(preview["data"][0])
    assert "row 1" in operator.ok("datasets", "preview", dataset, "--limit", "2")

    assert operator.json("flows", "disable", flow)["state"] == "disabled"
    refused = operator.run("flows", "run", flow)
    assert refused.returncode == 1
    assert refused.stderr.endswith("[FLOW-1422-400]\n"), refused.stderr
    again = operator.run("flows", "disable", flow)
    assert again.returncode == 1 and ONE_LINE_ERROR.match(again.stderr)
    assert "now enabled" in operator.ok("flows", "enable", flow)


def test_watching_a_failed_run_exits_non_zero_with_its_error(
    server: Server, operator: Operator
) -> None:
    with server.http() as http:
        conn = hubspot_connection(http, server.emu, name="revoked", valid=False)
        flow = contacts_flow(http, conn, name="cli doomed")["flow"]
    out = operator.run("flows", "run", flow, "--watch", "--interval", "0.2")
    assert out.returncode == 1
    match = ONE_LINE_ERROR.match(out.stderr.splitlines(keepends=True)[-1])
    assert match, out.stderr
    assert match.group(1) == "CONNECTOR-2401-401"
    assert " failed: " in out.stderr

    run_id = operator.json("runs", "list", "--flow", flow)[0]["id"]
    again = operator.run("runs", "watch", run_id, "--json")
    assert again.returncode == 1
    assert '"state": "failed"' in again.stdout
    assert again.stderr.startswith(f"error: run {run_id} failed:")


def test_full_refresh_from_the_cli(server: Server, operator: Operator) -> None:
    with server.http() as http:
        conn = hubspot_connection(http, server.emu, name="reset hubspot")
        made = contacts_flow(http, conn, name="cli reset")
    flow = made["flow"]
    first = operator.json("flows", "run", flow)
    assert operator.json("runs", "watch", first["id"])["state"] == "success"

    queued = operator.json("flows", "run", flow, "--full", "--table", "Hubspot.Contacts")
    assert queued["params"]["mode"] == "full"
    assert queued["params"]["tables"] == ["Hubspot.Contacts"]
    done = operator.json("runs", "watch", queued["id"])
    assert done["state"] == "success"
    copy = next(a for a in done["activities"] if a["id"] == "copyActivity")
    assert copy["statusSummary"]["extensions"]["strategy"] == "full"
    assert copy["statusSummary"]["extensions"]["mode"] == "full"
    assert "queued full refresh" in operator.ok("flows", "run", flow, "--full")

    wrong = operator.run("flows", "run", flow, "--full", "--table", "Hubspot.Deals")
    assert wrong.returncode == 1 and "Hubspot.Deals" in wrong.stderr
    assert ONE_LINE_ERROR.match(wrong.stderr), wrong.stderr
    alone = operator.run("flows", "run", flow, "--table", "Hubspot.Contacts")
    assert alone.returncode != 0 and "--full" in alone.stderr
