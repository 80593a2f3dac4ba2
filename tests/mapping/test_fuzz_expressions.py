"""Random expressions over real functions and columns: they compile and evaluate, or are refused
with a MappingError; evaluation itself never raises."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.mapping import (
    MappingError,
    compile_set,
    schema_from_properties,
    unique_functions,
    unparse,
)
from headwater.mapping.ast import Binary, Call, Conditional, Field, Literal, Method, Unary

TABLE = pa.table(
    {
        "s": ["12", "abc", None, " 7 ", "2019-10-23"],
        "n": pa.array([1, 0, None, -5, 2**40], pa.int64()),
        "f": [1.5, 0.0, None, -2.5, 1e300],
        "b": [True, False, None, True, False],
        "t": pa.array([0, 1, None, 2, 3], pa.timestamp("ms", tz="UTC")),
    }
)
NAMES = sorted({f.name for f in unique_functions()})

_leaf = st.one_of(
    st.sampled_from(["s", "n", "f", "b", "t"]).map(lambda c: Field((c,))),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 10),
        st.floats(-3, 3, allow_nan=False),
        st.sampled_from(["", "a,b", "yyyy-MM-dd", "UTF-8", " x "]),
    ).map(Literal),
)


def _extend(children):
    return st.one_of(
        st.builds(Call, st.sampled_from(NAMES), st.lists(children, max_size=3).map(tuple)),
        st.builds(
            Method,
            children,
            st.sampled_from(["equals", "equalsIgnoreCase"]),
            children.map(lambda c: (c,)),
        ),
        st.builds(Unary, st.sampled_from(["!", "-", "~"]), children),
        st.builds(
            Binary,
            st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]),
            children,
            children,
        ),
        st.builds(Conditional, children, children, children),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_leaf, _extend, max_leaves=6))
def test_random_expressions_compile_or_are_refused_and_never_crash(tree):
    text = unparse(tree)
    try:
        ms = compile_set(
            [{"sourceType": "EXPRESSION", "source": text, "destination": "v"}],
            input_schema=TABLE.schema,
        )
    except MappingError:
        return
    result = ms.apply(TABLE)
    assert result.table.num_rows + result.failed_count == TABLE.num_rows


TYPED = schema_from_properties(
    {
        "i": {"type": "integer", "minimum": 1, "maximum": 32767},
        "num": {"type": "number"},
        "flag": {"type": "boolean"},
        "when": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "text": {"type": "string"},
        "list": {"type": "array", "items": {"type": "string"}},
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_leaf, _extend, max_leaves=5), st.sampled_from(TYPED.names))
def test_random_expressions_into_typed_destinations_never_crash(tree, dest):
    try:
        ms = compile_set(
            [{"sourceType": "EXPRESSION", "source": unparse(tree), "destination": dest}],
            input_schema=TABLE.schema,
            output_schema=TYPED,
        )
    except MappingError:
        return
    result = ms.apply(TABLE)
    assert result.table.schema == TYPED
    assert result.table.num_rows + result.failed_count == TABLE.num_rows
