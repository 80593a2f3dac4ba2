"""Every function the API lists evaluates its own example to the listed result."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from headwater.mapping import compile_set, unique_functions

NOT_DETERMINISTIC = {"now", "timestamp", "uuid"}
NEEDS_FIELDS = {"decode"}


def _listed():
    return [f for f in unique_functions() if f.name not in NOT_DETERMINISTIC | NEEDS_FIELDS]


@pytest.mark.parametrize("fn", _listed(), ids=lambda f: f.name)
def test_example_gives_the_listed_result(fn):
    table = pa.table({"x": [1]})
    out = compile_set(
        [{"sourceType": "EXPRESSION", "source": fn.example, "destination": "v"}],
        input_schema=table.schema,
    ).apply(table)
    assert out.errors == []
    value = out.table.column("v")[0].as_py()
    expected = fn.result
    if expected.startswith(("[", '"')) or expected in {"true", "false", "null"}:
        assert value == json.loads(expected)
    elif isinstance(value, str) and not expected.startswith('"'):
        assert value == expected
    elif isinstance(value, float):
        assert value == pytest.approx(float(expected))
    elif isinstance(value, int):
        assert value == int(expected)
    else:
        assert value.isoformat().replace("+00:00", "Z") == expected


def test_every_listing_has_adobes_fields():
    for fn in unique_functions():
        item = fn.listing()
        assert set(item) == {
            "category",
            "function",
            "description",
            "syntax",
            "returns",
            "returnType",
            "example",
            "result",
            "params",
            "since",
        }
