"""JSON Patch on Flow Service documents (``check_ops`` then ``apply_ops``, both pure): whatever a
client sends, a field outside the resource's patchable set never changes, the stored document is
never mutated in place, and every refusal is a 400."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from headwater.errors import ImmutableFieldError, InvalidRequestError, PatchError
from headwater.services.documents import apply_ops, check_ops

PATCHABLE = ("name", "description", "auth", "params")
IMMUTABLE = ("id", "connectionSpec")
OTHER = ("createdAt", "etag", "state")

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
documents = st.fixed_dictionaries(
    {
        "id": st.just("c-1"),
        "connectionSpec": st.fixed_dictionaries({"id": st.just("spec")}),
        "name": st.text(max_size=5),
        "createdAt": st.integers(0, 10**12),
        "etag": st.just('"e"'),
        "state": st.sampled_from(["enabled", "disabled"]),
    },
    optional={
        "description": st.text(max_size=5),
        "params": st.dictionaries(st.text(max_size=3), values, max_size=3),
    },
)
roots = st.sampled_from(PATCHABLE + IMMUTABLE + OTHER + ("", "~1", "missing"))
paths = st.one_of(
    roots.map(lambda r: "/" + r),
    st.tuples(roots, st.text(max_size=4)).map(lambda p: f"/{p[0]}/{p[1]}"),
    st.text(max_size=6),  # not a pointer at all
)
ops = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["add", "replace", "remove", "Replace", "ADD", "move", "test", "copy"]
        ),
        "path": paths,
    },
    optional={"value": values, "from": paths},
)
bodies = st.one_of(st.lists(ops, max_size=4), st.none(), values)


@given(documents, bodies)
def test_only_patchable_fields_ever_change_and_refusals_are_400(
    doc: dict[str, Any], body: Any
) -> None:
    before = copy.deepcopy(doc)
    try:
        checked = check_ops(body, patchable=PATCHABLE, immutable=IMMUTABLE)
        patched = apply_ops(doc, checked)
    except InvalidRequestError as exc:
        assert exc.http_status == 400  # noqa: PT017 - the status is the property
        assert doc == before
        return
    assert doc == before  # the stored document is untouched
    assert all(op["op"] in {"add", "replace", "remove"} for op in checked)
    for key in set(before) | set(patched):
        if key not in PATCHABLE:
            assert patched.get(key, KeyError) == before.get(key, KeyError), key


@given(documents, st.sampled_from(IMMUTABLE), values)
def test_an_immutable_field_is_refused_by_name(doc: dict[str, Any], field: str, value: Any) -> None:
    try:
        check_ops(
            [{"op": "replace", "path": f"/{field}", "value": value}],
            patchable=PATCHABLE,
            immutable=IMMUTABLE,
        )
    except ImmutableFieldError as exc:
        assert field in exc.message  # noqa: PT017 - the message names the field
    else:
        raise AssertionError(f"{field} was accepted")


@given(documents, st.sampled_from(PATCHABLE), values)
def test_replace_or_add_sets_the_value(doc: dict[str, Any], field: str, value: Any) -> None:
    op = "replace" if field in doc else "add"
    checked = check_ops(
        [{"op": op.upper(), "path": f"/{field}", "value": value}], patchable=PATCHABLE
    )
    assert apply_ops(doc, checked)[field] == value


@given(documents)
def test_a_patch_that_would_not_leave_an_object_is_refused(doc: dict[str, Any]) -> None:
    try:
        apply_ops(doc, [{"op": "replace", "path": "", "value": [1]}])
    except PatchError:
        return
    raise AssertionError("a patch replaced the whole document with a list")
