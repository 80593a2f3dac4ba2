"""Flow Service ``property=`` filters and ``orderby``, parsed and evaluated over JSON documents.

Syntax (``flow-service-api.md`` §5.6): ``path op value``; repeated parameters AND together, comma
values mean IN; ``[]`` after an array name matches any element; values may be double-quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from headwater.errors import FilterError, SortError

_PATH = re.compile(
    r"^([A-Za-z_$@][A-Za-z0-9_$@:\-]*(?:\[\])?(?:\.[A-Za-z_$@][A-Za-z0-9_$@:\-]*(?:\[\])?)*)"
)
_OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
_RANGE = frozenset({">", "<", ">=", "<="})


@dataclass(frozen=True, slots=True)
class Filter:
    path: str
    op: str
    values: tuple[str, ...]
    raw: str

    @property
    def root(self) -> str:
        return self.path.split(".", 1)[0].removesuffix("[]")


def _split_values(text: str) -> list[str]:
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            buf.append(ch)
        elif ch == "," and not quoted:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    values = []
    for v in out:
        s = v.strip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
            s = s[1:-1]
        values.append(s)
    return values


def parse_filter(raw: str, *, fields: Iterable[str] | None = None) -> Filter:
    """Parse one ``property`` value; ``fields`` are the valid top-level names for the resource."""
    text = raw.strip()
    if not text:
        raise FilterError("empty property filter", code="1451")
    m = _PATH.match(text)
    if not m:
        raise FilterError(f"invalid field in filter '{raw}'", code="1449")
    path = m.group(1)
    rest = text[m.end() :]
    if rest.startswith("~"):
        raise FilterError("operator '~' (contains) is not implemented", code="1440")
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        if not rest:
            raise FilterError(f"filter '{raw}' has no operator", code="1450")
        raise FilterError(f"invalid operator in filter '{raw}'", code="1450")
    value_text = rest[len(op) :]
    if not value_text.strip():
        raise FilterError(f"empty value in filter '{raw}'", code="1453")
    values = _split_values(value_text)
    if any(v == "" for v in values):
        raise FilterError(f"invalid value list in filter '{raw}'", code="1452")
    if op in _RANGE and len(values) > 1:
        raise FilterError(f"operator '{op}' is not allowed with multiple values", code="1443")
    f = Filter(path=path, op=op, values=tuple(values), raw=raw)
    if fields is not None and f.root not in set(fields):
        raise FilterError(f"invalid field '{f.root}' in filter '{raw}'", code="1449")
    if f.root == "id" and op in _RANGE:
        raise FilterError(f"operator '{op}' is not supported for field 'id'", code="1448")
    return f


def parse_filters(raws: Sequence[str], *, fields: Iterable[str] | None = None) -> list[Filter]:
    field_set = set(fields) if fields is not None else None
    return [parse_filter(r, fields=field_set) for r in raws]


def resolve(doc: Any, path: str) -> Iterator[Any]:
    """Every value at ``path`` (dotted, ``name[]`` fans out over array elements)."""
    current: list[Any] = [doc]
    for segment in path.split("."):
        fan = segment.endswith("[]")
        key = segment[:-2] if fan else segment
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, Mapping) and key in node:
                val = node[key]
                if fan and isinstance(val, list):
                    nxt.extend(val)
                elif isinstance(val, list) and not fan:
                    nxt.append(val)
                else:
                    nxt.append(val)
        current = nxt
    for v in current:
        if isinstance(v, list):
            yield from v
        else:
            yield v


def _as_number(v: Any) -> Decimal | None:
    """A finite number, exactly (integers of any size, the float a document holds), or
    ``None``: "NaN" and "inf" compare as text, so that every value is either above a bound or
    not (NaN is neither above nor below anything)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        try:
            number = Decimal(v)
        except (ArithmeticError, ValueError):
            return None
    elif isinstance(v, str):
        try:
            number = Decimal(v.strip())
        except (ArithmeticError, ValueError):
            return None
    else:
        return None
    return number if number.is_finite() else None


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _equal(actual: Any, wanted: str) -> bool:
    a, w = _as_number(actual), _as_number(wanted)
    if a is not None and w is not None:
        return a == w
    return _as_text(actual).lower() == wanted.lower()


def _compare(actual: Any, op: str, wanted: str) -> bool:
    a, w = _as_number(actual), _as_number(wanted)
    left: Decimal | str
    right: Decimal | str
    if a is not None and w is not None:
        left, right = a, w
    else:
        left, right = _as_text(actual), wanted
    if op == ">":
        return left > right  # type: ignore[operator]
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == ">=":
        return left >= right  # type: ignore[operator]
    return left <= right  # type: ignore[operator]


def matches(doc: Mapping[str, Any], f: Filter) -> bool:
    found = [v for v in resolve(doc, f.path) if v is not None]
    if f.op == "==":
        return any(_equal(v, w) for v in found for w in f.values)
    if f.op == "!=":
        return not any(_equal(v, w) for v in found for w in f.values)
    return any(_compare(v, f.op, f.values[0]) for v in found)


def matches_all(doc: Mapping[str, Any], filters: Sequence[Filter]) -> bool:
    return all(matches(doc, f) for f in filters)


@dataclass(frozen=True, slots=True)
class OrderBy:
    field: str
    descending: bool

    def render(self) -> str:
        return ("-" if self.descending else "+") + self.field


def parse_orderby(raw: str | None, *, fields: Iterable[str], default: str = "createdAt") -> OrderBy:
    if raw is None or raw.strip() == "":
        return OrderBy(default, descending=False)
    text = raw.strip()
    descending = False
    if text[0] in "+-":
        descending = text[0] == "-"
        text = text[1:]
    elif not (text[0].isalpha() or text[0] == "_"):
        raise SortError(f"invalid sort prefix in orderby '{raw}'", code="1432")
    if text not in set(fields):
        raise SortError(f"field '{text}' cannot be used in orderby", code="1433")
    return OrderBy(text, descending=descending)


def sort_key(doc: Mapping[str, Any], order: OrderBy) -> tuple[int, Any]:
    """A key that sorts missing values first and never compares numbers with strings."""
    v = doc.get(order.field)
    if v is None:
        return (0, "")
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, int | float):
        return (1, v)
    return (2, str(v).lower())
