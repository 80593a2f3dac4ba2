"""Date parsing and formatting with Java-style patterns (``yyyy-MM-dd HH:mm:ss``), vectorised.

Data Prep's ``date()`` takes ``java.time`` format patterns (``help/data-prep/data-handling.md``):
each is translated once to a ``strptime`` format that ``pyarrow.compute.strptime`` applies to a
whole column. Supported letters: ``y`` (``yy``: two digits), ``M`` (``MMM``/``MMMM``: names),
``d``, ``H``, ``h`` with ``a``, ``m``, ``s``, ``S`` (fraction after the seconds), ``E``, ``Z``/``X``
(offsets, ``Z`` for UTC) and quoted literals. A value that does not match fails on its own row.

Without a format, the formats Adobe lists for string → date conversion are tried in order and the
first that matches wins; ISO-8601 with fractions and offsets is accepted too.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

TIMESTAMP = pa.timestamp("ms", tz="UTC")

#: Adobe's fallback formats, in Adobe's order (``help/data-prep/data-handling.md``).
DEFAULT_FORMATS = (
    "yyyy-MM-dd HH:mm:ssZ",
    "yyyy-MM-dd HH:mm:ss.SSSZ",
    "yyyy-MM-dd HH:mm:ss.SSS",
    "yyyy-MM-dd'T'HH:mm:ss.SSSX",
    "yyyy-MM-dd'T'HH:mm:ss'Z'",
    "yyyy-MM-dd",
    "yyyy/MM/dd",
    "yyyy.MM.dd",
    "yyyy-MMM-dd",
    "yyyyMMdd",
    "MM-dd-yyyy",
    "MMddyyyy",
    "M/dd/yyyy",
    "dd.M.yyyy",
    "M/dd/yyyy hh:mm:ss a",
    "dd.M.yyyy hh:mm:ss a",
    "dd.MMM.yyyy",
    "dd-MMM-yyyy",
)
#: Extra ISO-8601 shapes Headwater accepts without a format (CRM APIs send these).
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")

_LETTERS = {
    "y": {1: "%Y", 2: "%y", 3: "%Y", 4: "%Y"},
    "M": {1: "%m", 2: "%m", 3: "%b", 4: "%B"},
    "d": {1: "%d", 2: "%d"},
    "H": {1: "%H", 2: "%H"},
    "h": {1: "%I", 2: "%I"},
    "m": {1: "%M", 2: "%M"},
    "s": {1: "%S", 2: "%S"},
    "a": {1: "%p"},
    "E": {1: "%a", 2: "%a", 3: "%a", 4: "%A"},
    "Z": {1: "%z", 2: "%z", 3: "%z"},
    "X": {1: "%z", 2: "%z", 3: "%z"},
}
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.S)
_FRACTION = r"^(?P<head>.*\d\d)[.,](?P<frac>\d{1,9})(?P<tail>(?:\D.*)?)$"


class DateFormatError(ValueError):
    """A pattern uses a letter Headwater does not support."""


@lru_cache(maxsize=256)
def translate(pattern: str) -> tuple[str, bool]:
    """``(strptime format, has_fraction)`` of a Java-style pattern."""
    out: list[str] = []
    fraction = False
    for m in _TOKEN.finditer(pattern):
        tok = m.group(0)
        if tok.startswith("'"):
            body = tok[1:-1] if len(tok) > 1 else ""
            out.append(body.replace("''", "'").replace("%", "%%") if body else "'")
            continue
        letter = tok[0]
        if letter == "S":
            if not out or out[-1] not in {".", ","} or len(out) < 2 or out[-2] != "%S":
                raise DateFormatError("S (fraction) is supported only right after ss. or ss,")
            out.pop()
            fraction = True
            continue
        if letter.isalpha():
            table = _LETTERS.get(letter)
            if table is None or len(tok) not in table:
                raise DateFormatError(f"the pattern letter {tok!r} is not supported")
            out.append(table[len(tok)])
            continue
        out.append("%%" if tok == "%" else tok)
    return "".join(out), fraction


def _strip_fraction(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Values without their ``.SSS`` part, and the fraction as milliseconds (0 when absent)."""
    parts = pc.extract_regex(arr, _FRACTION)
    head = pc.struct_field(parts, [0])
    digits = pc.struct_field(parts, [1])
    tail = pc.struct_field(parts, [2])
    stripped = pc.coalesce(pc.binary_join_element_wise(head, tail, ""), arr)
    ms_text = pc.utf8_slice_codeunits(pc.utf8_rpad(digits, width=3, padding="0"), 0, 3)
    ms = pc.fill_null(pc.cast(ms_text, pa.int64()), 0)
    return stripped, ms


def _as_utc(ts: pa.Array) -> pa.Array:
    if ts.type.tz is None:
        return pc.cast(pc.cast(ts, pa.timestamp("ms")), TIMESTAMP)
    return pc.cast(ts, TIMESTAMP)


def parse_with(arr: pa.Array, pattern: str) -> tuple[pa.Array, pa.Array]:
    """``(timestamps, failed)`` for ``arr`` read with one Java-style pattern."""
    fmt, fraction = translate(pattern)
    values = arr
    ms: pa.Array | None = None
    if fraction:
        values, ms = _strip_fraction(arr)
    ts = _as_utc(pc.strptime(values, format=fmt, unit="ms", error_is_null=True))
    if ms is not None:
        ms_dur = pc.cast(ms, pa.duration("ms"))
        ts = pc.add(ts, ms_dur)
    failed = pc.and_kleene(pc.is_valid(arr), pc.is_null(ts))
    return ts, failed


def parse_any(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(timestamps, failed)`` trying ISO-8601 and then Adobe's fallback formats in order."""
    if pa.types.is_timestamp(arr.type):
        return _as_utc(arr), pc.is_null(pc.is_valid(arr))
    if pa.types.is_date(arr.type):
        return pc.cast(arr, TIMESTAMP), pc.is_null(pc.is_valid(arr))
    candidates: list[pa.Array] = []
    stripped, ms = _strip_fraction(arr)
    ms_dur = pc.cast(ms, pa.duration("ms"))
    for fmt in _ISO_FORMATS:
        parsed = _as_utc(pc.strptime(stripped, format=fmt, unit="ms", error_is_null=True))
        candidates.append(pc.add(parsed, ms_dur))
    for pattern in DEFAULT_FORMATS:
        candidates.append(parse_with(arr, pattern)[0])
    ts = pc.coalesce(*candidates)
    return ts, pc.and_kleene(pc.is_valid(arr), pc.is_null(ts))


def format_with(ts: pa.Array, pattern: str) -> pa.Array:
    """Timestamps rendered with a Java-style pattern (``format`` / ``dformat``)."""
    fmt, fraction = translate(pattern)
    # Arrow's %S prints the fraction of the unit (``05.123`` for ms): keep it only when asked.
    unit = "ms" if fraction else "s"
    return pc.strftime(pc.cast(_as_utc(ts), pa.timestamp(unit, tz="UTC"), safe=False), format=fmt)
