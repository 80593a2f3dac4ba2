"""Java-style date patterns, and properties of the engine over arbitrary values."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.mapping import compile_set, schema_from_properties
from headwater.mapping.dates import DateFormatError, format_with, parse_any, parse_with, translate


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("yyyy-MM-dd HH:mm", "2019-10-23 11:24", datetime(2019, 10, 23, 11, 24, tzinfo=UTC)),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSX",
            "2019-10-23T11:24:35.120+02:00",
            datetime(2019, 10, 23, 9, 24, 35, 120000, tzinfo=UTC),
        ),
        ("dd-MMM-yyyy", "05-Oct-2019", datetime(2019, 10, 5, tzinfo=UTC)),
        (
            "M/dd/yyyy hh:mm:ss a",
            "1/05/2020 01:02:03 PM",
            datetime(2020, 1, 5, 13, 2, 3, tzinfo=UTC),
        ),
        ("yyyyMMdd", "20200105", datetime(2020, 1, 5, tzinfo=UTC)),
        ("yy-MM-dd", "99-12-31", datetime(1999, 12, 31, tzinfo=UTC)),
    ],
)
def test_patterns(pattern, value, expected):
    ts, failed = parse_with(pa.array([value, "nonsense", None]), pattern)
    assert ts.to_pylist() == [expected, None, None]
    assert failed.to_pylist() == [False, True, False]


def test_unsupported_letters_are_refused():
    with pytest.raises(DateFormatError):
        translate("yyyy-DDD")
    with pytest.raises(DateFormatError):
        translate("SSS")


def test_fallback_formats_and_iso():
    values = [
        "2024-05-05 20:39:00.005-0800",
        "2020/01/02",
        "2020.01.02",
        "12-31-2020",
        "31.12.2020",
        "2024-01-01T10:00:00Z",
    ]
    ts, failed = parse_any(pa.array(values))
    assert not any(failed.to_pylist())
    assert ts[0].as_py() == datetime(2024, 5, 6, 4, 39, 0, 5000, tzinfo=UTC)


def test_format_round_trip():
    ts = pa.array([datetime(2019, 10, 23, 11, 24, 35, tzinfo=UTC)], pa.timestamp("ms", tz="UTC"))
    assert format_with(ts, "yyyy-MM-dd HH:mm:ss").to_pylist() == ["2019-10-23 11:24:35"]


OUT = schema_from_properties(
    {
        "n": {"type": "integer"},
        "f": {"type": "number"},
        "b": {"type": "boolean"},
        "d": {"type": "string", "format": "date-time"},
        "s": {"type": "string"},
    }
)
MAPPINGS = [
    {"sourceType": "ATTRIBUTE", "source": "v", "destination": "n"},
    {"sourceType": "ATTRIBUTE", "source": "v", "destination": "f"},
    {"sourceType": "ATTRIBUTE", "source": "v", "destination": "b"},
    {"sourceType": "ATTRIBUTE", "source": "v", "destination": "d"},
    {
        "sourceType": "EXPRESSION",
        "source": 'concat(upper(trim(v)), "-", substr(v, 1, 3))',
        "destination": "s",
    },
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=20), st.integers().map(str)), min_size=1, max_size=30
    )
)
def test_any_values_split_into_good_rows_and_row_errors(values):
    table = pa.table({"v": pa.array(values, pa.string())})
    result = compile_set(MAPPINGS, input_schema=table.schema, output_schema=OUT).apply(table)
    failed_rows = {e.row for e in result.errors}
    assert result.table.num_rows + len(failed_rows) == len(values)
    assert result.table.schema == OUT
    for e in result.errors:
        assert e.raw == {"v": values[e.row]}
        assert e.column == "v"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(), st.floats(), st.integers(min_value=-(2**70), max_value=2**70).map(float)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_numbers_to_integers_fail_when_not_integral_or_out_of_range(values):
    table = pa.table({"v": pa.array(values, pa.float64())})
    out = schema_from_properties({"n": {"type": "integer"}})
    result = compile_set(
        [{"source": "v", "destination": "n"}], input_schema=table.schema, output_schema=out
    ).apply(table)
    good = [
        v for v in values if v is None or (v == v and -(2**63) <= v < 2**63 and float(int(v)) == v)
    ]
    assert result.table.column("n").to_pylist() == [None if v is None else int(v) for v in good]
