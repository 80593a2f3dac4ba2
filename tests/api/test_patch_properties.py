"""JSON Patch through the API, on real stored connections and flows: whatever ops a client sends,
the answer is a 200 or a 4xx in Adobe's envelope (never a 5xx); after a 200 the resource still
reads back by id and in its list, with a new etag, and what was not patched did not change."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.api.helpers import FS, create
from tests.conftest import Identity
from tests.flows import build_flow

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "x", "params", "frequency", "interval"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)
CONNECTION_ROOTS = ("name", "description", "auth", "params", "id", "state", "connectionSpec")
FLOW_ROOTS = (
    "name",
    "description",
    "scheduleParams",
    "transformations",
    "labels",
    "policy",
    "options",
    "flowSpec",
    "state",
)
SUBKEYS = (
    "",
    "/params",
    "/params/accessToken",
    "/interval",
    "/frequency",
    "/startTime",
    "/0",
    "/-",
)


def ops_for(roots: tuple[str, ...]) -> st.SearchStrategy[list[dict[str, Any]]]:
    op = st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace", "remove"]),
            "path": st.tuples(st.sampled_from(roots), st.sampled_from(SUBKEYS)).map(
                lambda p: f"/{p[0]}{p[1]}"
            ),
        },
        optional={"value": values},
    )
    plausible = st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace"]),
            "path": st.sampled_from(
                [f"/{r}" for r in roots[:3]]
                + ["/auth/params/accessToken", "/scheduleParams/interval", "/labels", "/params"]
            ),
            "value": st.one_of(
                st.text(max_size=6), st.integers(-5, 10**6), st.integers(15, 60).map(str), values
            ),
        }
    )
    return st.lists(st.one_of(plausible, plausible, op), min_size=1, max_size=3)


def check_answer(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        body = r.json()
        assert body["type"].startswith("https://ns.adobe.com/aep/errors/"), body
        assert body["status"] == r.status_code and body["title"]


def patch_and_check(
    client: TestClient, ident: Identity, path: str, list_path: str, ops: list[dict[str, Any]]
) -> None:
    h = ident.headers()
    before = client.get(path, headers=h)
    assert before.status_code == 200, before.text
    old = before.json()["items"][0]
    r = client.patch(path, headers={**h, "If-Match": old["etag"]}, json=ops)
    check_answer(r)
    after = client.get(path, headers=h)
    assert after.status_code == 200, after.text
    new = after.json()["items"][0]
    touched = {o["path"].split("/")[1] for o in ops}
    if r.status_code == 200:
        assert new["etag"] != old["etag"]
    else:
        assert new["etag"] == old["etag"]  # a refused patch changes nothing
    for key in ("id", "createdAt", "connectionSpec", "flowSpec", "state"):
        if key not in touched or r.status_code != 200:
            assert new.get(key) == old.get(key), key
    listed = client.get(list_path, headers=h, params={"property": f"id=={old['id']}"})
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [old["id"]]


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(ops=ops_for(CONNECTION_ROOTS))
@example(ops=[{"op": "replace", "path": "/name", "value": 2**70}])
def test_any_patch_of_a_connection_is_applied_or_a_4xx(
    client: TestClient, ident: Identity, ops: list[dict[str, Any]]
) -> None:
    conn = create(client, ident)
    patch_and_check(client, ident, f"{FS}/connections/{conn['id']}", f"{FS}/connections", ops)


@SETTINGS
@given(ops=ops_for(FLOW_ROOTS))
def test_any_patch_of_a_flow_is_applied_or_a_4xx(
    client: TestClient, ident: Identity, ops: list[dict[str, Any]]
) -> None:
    ids = build_flow(
        client,
        ident,
        {"clientId": "c", "clientSecret": "s", "accessToken": "a", "refreshToken": "r"},
        frequency="minute",
    )
    patch_and_check(client, ident, f"{FS}/flows/{ids['flow']}", f"{FS}/flows", ops)
