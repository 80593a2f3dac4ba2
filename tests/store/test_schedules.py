"""The scheduler's read: enabled flows of every tenant, the state read inside the stored JSON."""

from __future__ import annotations

from headwater.domain.ids import new_etag, new_id
from headwater.services.context import ServiceContext
from headwater.store import resources
from headwater.store.resources import StoredResource
from headwater.store.schedules import read_enabled_flows


def _flow(
    org: str, sandbox: str, state: str, *, nested_state: str | None = None
) -> tuple[str, StoredResource]:
    res_id = new_id()
    doc: dict[str, object] = {"id": res_id, "name": f"f-{state}", "state": state}
    if nested_state is not None:  # a nested "state" must not count as the flow's
        doc["lastOperation"] = {"state": nested_state}
    res = StoredResource(
        kind="flows",
        id=res_id,
        org_id=org,
        sandbox_name=sandbox,
        doc=doc,
        secrets=None,
        etag=new_etag(),
        created_at=1,
        updated_at=1,
    )
    return res_id, res


def test_only_enabled_flows_of_every_tenant_are_read(ctx: ServiceContext) -> None:
    org_a, org_b = f"A{new_id()[:8]}@AdobeOrg", f"B{new_id()[:8]}@AdobeOrg"
    made = {
        "on-a": _flow(org_a, "prod", "enabled"),
        "on-b": _flow(org_b, "dev", "enabled", nested_state="disabled"),
        "off": _flow(org_a, "prod", "disabled", nested_state="enabled"),
    }
    with ctx.engine.begin() as conn:
        for _, res in made.values():
            resources.insert_resource(conn, res=res)
        # another kind with state "enabled" is not a flow
        other_id, other = _flow(org_a, "prod", "enabled")
        other.kind = "webhooks"
        resources.insert_resource(conn, res=other)
    with ctx.engine.connect() as conn:
        got = {f.doc["id"]: f for f in read_enabled_flows(conn) if f.org_id in (org_a, org_b)}
    assert set(got) == {made["on-a"][0], made["on-b"][0]}
    assert (got[made["on-b"][0]].org_id, got[made["on-b"][0]].sandbox_name) == (org_b, "dev")
    assert got[made["on-a"][0]].doc["state"] == "enabled"
    assert other_id not in got
