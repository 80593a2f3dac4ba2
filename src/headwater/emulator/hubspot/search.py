"""CRM search: filter groups, operators, sorts, the string offset and the 10,000-result cap.

Filters on ``hs_object_id`` and the created/updated timestamps are evaluated as numpy masks over
the whole id range, so windowed searches over a million records stay cheap; other properties are
evaluated per candidate on their (lazily generated) values.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from headwater.emulator.hubspot.data import ObjectStore, PropPlan
from headwater.emulator.hubspot.portal_metadata import ObjectType
from headwater.emulator.hubspot.values import I64, BoolArray, parse_time_ms

SEARCH_CAP = 10_000
MAX_LIMIT = 200
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)


class SearchError(ValueError):
    """The request is invalid; answered with a 400 VALIDATION_ERROR."""


@dataclass(slots=True)
class SearchPage:
    total: int
    ids: list[int]
    next_after: int | None
    plans: list[PropPlan]


_TOKEN_SPLIT = re.compile(r"[\s,;:/()\[\]\"'!?]+")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _parse_after(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    try:
        after = int(str(raw))
    except ValueError as exc:
        raise SearchError(f"Invalid after value: {raw!r}. It must be a numeric offset.") from exc
    if after < 0:
        raise SearchError("after must not be negative")
    return after


def _parse_sorts(raw: Any) -> list[tuple[str, bool]]:
    sorts: list[tuple[str, bool]] = []
    for s in _as_list(raw or []):
        if isinstance(s, str):
            desc = s.startswith("-")
            sorts.append((s.lstrip("-+"), desc))
        elif isinstance(s, dict) and isinstance(s.get("propertyName"), str):
            direction = str(s.get("direction", "ASCENDING")).upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchError(f"Invalid sort direction {direction}")
            sorts.append((s["propertyName"], direction == "DESCENDING"))
        else:
            raise SearchError(f"Invalid sort {s!r}")
    return sorts


def _typed(ptype: str, value: Any) -> float | str | None:
    """Normalise one value (from a record or a filter) for comparison."""
    if value is None:
        return None
    v = str(value)
    if v == "":
        return None
    if ptype == "number":
        try:
            return float(v)
        except ValueError:
            return None
    if ptype in ("date", "datetime"):
        ms = parse_time_ms(v)
        return None if ms is None else float(ms)
    return v.lower()


def _wildcard_match(pattern: str, value: str) -> bool:
    p = pattern.lower()
    v = value.lower()
    if "*" in p:
        return fnmatch.fnmatchcase(v, p) or any(
            fnmatch.fnmatchcase(t, p) for t in _TOKEN_SPLIT.split(v) if t
        )
    return p in _TOKEN_SPLIT.split(v) or p == v


def _predicate(ptype: str, multi: bool, f: dict[str, Any]) -> Callable[[str | None], bool]:
    op = f["operator"]
    if op == "HAS_PROPERTY":
        return lambda v: v is not None and v != ""
    if op == "NOT_HAS_PROPERTY":
        return lambda v: v is None or v == ""
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(f.get("value", ""))
        if op == "CONTAINS_TOKEN":
            return lambda v: v is not None and _wildcard_match(pattern, v)
        return lambda v: v is None or not _wildcard_match(pattern, v)

    def values_of(v: str | None) -> list[float | str | None]:
        if v is None:
            return []
        if multi:
            return [_typed(ptype, x) for x in v.split(";") if x]
        return [_typed(ptype, v)]

    if op in ("IN", "NOT_IN"):
        wanted = {_typed(ptype, x) for x in _as_list(f.get("values") or [])}
        if op == "IN":
            return lambda v: any(x in wanted for x in values_of(v))
        return lambda v: not any(x in wanted for x in values_of(v))
    target = _typed(ptype, f.get("value"))
    if op == "BETWEEN":
        high = _typed(ptype, f.get("highValue"))

        def between(v: str | None) -> bool:
            for x in values_of(v):
                if x is None or target is None or high is None:
                    continue
                if type(x) is type(target) is type(high) and target <= x <= high:  # type: ignore[operator]
                    return True
            return False

        return between
    if op == "EQ":
        return lambda v: any(x == target for x in values_of(v))
    if op == "NEQ":
        return lambda v: not any(x == target for x in values_of(v))
    cmp: dict[str, Callable[[Any, Any], bool]] = {
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }
    fn = cmp[op]

    def ordered(v: str | None) -> bool:
        for x in values_of(v):
            if x is None or target is None or type(x) is not type(target):
                continue
            if fn(x, target):
                return True
        return False

    return ordered


def _numeric_value(name: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if name == "hs_object_id":
        try:
            return int(float(str(raw)))
        except ValueError:
            return None
    return parse_time_ms(str(raw))


def _array_mask(arr: I64, op: str, f: dict[str, Any], name: str) -> BoolArray:
    if op == "HAS_PROPERTY":
        return np.ones(arr.shape, dtype=np.bool_)
    if op == "NOT_HAS_PROPERTY":
        return np.zeros(arr.shape, dtype=np.bool_)
    if op in ("IN", "NOT_IN"):
        vals = [
            v
            for v in (_numeric_value(name, x) for x in _as_list(f.get("values") or []))
            if v is not None
        ]
        m: BoolArray = np.isin(arr, np.array(vals, dtype=np.int64))
        return m if op == "IN" else ~m
    v = _numeric_value(name, f.get("value"))
    if v is None:
        raise SearchError(f"{f.get('value')!r} is not a valid value for property {name}")
    if op == "BETWEEN":
        hi = _numeric_value(name, f.get("highValue"))
        if hi is None:
            raise SearchError(f"BETWEEN on {name} needs a valid highValue")
        return (arr >= v) & (arr <= hi)
    ops: dict[str, Callable[[I64, int], BoolArray]] = {
        "EQ": lambda a, x: a == x,
        "NEQ": lambda a, x: a != x,
        "LT": lambda a, x: a < x,
        "LTE": lambda a, x: a <= x,
        "GT": lambda a, x: a > x,
        "GTE": lambda a, x: a >= x,
    }
    if op not in ops:
        raise SearchError(f"Operator {op} is not supported for property {name}")
    return ops[op](arr, v)


def run_search(
    store: ObjectStore, otype: ObjectType, body: dict[str, Any], now_ms: int
) -> SearchPage:
    """Evaluate one search request against the search view of ``store``."""
    if not isinstance(body, dict):
        raise SearchError("Request body must be a JSON object")
    limit_raw = body.get("limit", 10)
    try:
        limit = int(limit_raw)
    except (TypeError, ValueError) as exc:
        raise SearchError(f"Invalid limit {limit_raw!r}") from exc
    if limit < 1 or limit > MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    after = _parse_after(body.get("after"))
    if after + limit > SEARCH_CAP:
        raise SearchError(
            f"Cannot page past {SEARCH_CAP} results (after={after}, limit={limit}). "
            "Narrow the search with filters instead."
        )
    groups_raw = body.get("filterGroups") or []
    if not groups_raw and body.get("filters"):
        groups_raw = [{"filters": body["filters"]}]
    groups: list[list[Any]] = []
    for g in _as_list(groups_raw):
        filters = g.get("filters", []) if isinstance(g, dict) else None
        if not isinstance(filters, list):
            raise SearchError("Each filter group needs a list of filters")
        groups.append(filters)
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups ({len(groups)}); the maximum is {MAX_GROUPS}")
    if any(len(g) > MAX_FILTERS_PER_GROUP for g in groups):
        raise SearchError(f"Too many filters in a group; the maximum is {MAX_FILTERS_PER_GROUP}")
    if sum(len(g) for g in groups) > MAX_FILTERS:
        raise SearchError(f"Too many filters; the maximum is {MAX_FILTERS}")
    query = body.get("query")
    if query is not None and len(str(query)) > 3000:
        raise SearchError("query must be at most 3000 characters")
    sorts = _parse_sorts(body.get("sorts"))
    props_raw = body.get("properties")
    prop_names = [str(p) for p in _as_list(props_raw)] if props_raw else list(otype.default_props)

    store.refresh_search(now_ms)
    n = store.s_size
    ids_arr = np.arange(1, n + 1, dtype=np.int64)
    live = ~store.s_archived[:n]
    numeric = {
        "hs_object_id": ids_arr,
        otype.created_prop: store.created[:n],
        otype.updated_prop: store.s_updated[:n],
    }
    result: BoolArray = np.zeros(n, dtype=np.bool_) if groups else live.copy()
    for filters in groups:
        mask = live.copy()
        preds: list[tuple[str, Callable[[str | None], bool]]] = []
        for raw_filter in filters:
            if not isinstance(raw_filter, dict) or not isinstance(
                raw_filter.get("propertyName"), str
            ):
                raise SearchError(f"Invalid filter {raw_filter!r}")
            op = str(raw_filter.get("operator", "")).upper()
            if op not in OPERATORS:
                raise SearchError(f"Invalid operator {raw_filter.get('operator')!r}")
            f = {**raw_filter, "operator": op}
            name = f["propertyName"]
            if name in numeric and op not in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
                mask &= _array_mask(numeric[name], op, f, name)
                continue
            prop = otype.prop(name)
            if prop is None:
                raise SearchError(f"Property {name!r} does not exist on {otype.name}")
            multi = prop.field_type == "checkbox"
            if prop.gen == "email" and op in ("EQ", "IN"):
                mask &= _email_candidates(store, f, mask.shape[0])
            preds.append((name, _predicate(prop.type, multi, f)))
        if preds:
            mask = _apply_predicates(store, mask, preds)
        result |= mask
    if query:
        q = str(query).lower()
        searchable = otype.searchable or otype.default_props

        def matches_query(rid: int) -> bool:
            for p in searchable:
                v = store.value(rid, p, search_view=True)
                if v is not None and q in v.lower():
                    return True
            return str(rid) == q

        cand = np.flatnonzero(result) + 1
        result = np.zeros(n, dtype=np.bool_)
        keep = [rid for rid in cand.tolist() if matches_query(rid)]
        result[np.array(keep, dtype=np.int64) - 1] = True
    matched = np.flatnonzero(result).astype(np.int64) + 1
    total = int(matched.size)
    ordered = _sort(store, otype, matched, sorts, numeric)
    page = ordered[after : after + limit]
    next_after = after + limit if after + limit < total else None
    return SearchPage(total, [int(x) for x in page], next_after, store.plans(prop_names))


def _email_candidates(store: ObjectStore, f: dict[str, Any], n: int) -> BoolArray:
    """Generated emails embed the record id (``first.last<id>@domain``): narrow EQ/IN to those ids
    plus every record whose email was written through the API."""
    wanted = (
        [str(f.get("value", ""))]
        if f["operator"] == "EQ"
        else [str(v) for v in _as_list(f.get("values") or [])]
    )
    out = np.zeros(n, dtype=np.bool_)
    for w in wanted:
        m = re.search(r"(\d+)@", w)
        if m and 1 <= int(m.group(1)) <= n:
            out[int(m.group(1)) - 1] = True
    for rid, ov in store.s_overrides.items():
        if "email" in ov and rid <= n:
            out[rid - 1] = True
    return out


def _apply_predicates(
    store: ObjectStore, mask: BoolArray, preds: list[tuple[str, Callable[[str | None], bool]]]
) -> BoolArray:
    """Evaluate per-property predicates on the candidates in ``mask``.

    Properties drawn from a small pool are evaluated once per pool value and then looked up for
    all candidates at once; the rest are generated and tested record by record.
    """
    cand = np.flatnonzero(mask).astype(np.int64) + 1
    keep = np.ones(cand.shape, dtype=np.bool_)
    slow: list[tuple[str, Callable[[str | None], bool]]] = []
    for name, pred in preds:
        vector = store.pool_truth(name, pred, cand)
        if vector is None:
            slow.append((name, pred))
        else:
            keep &= vector
    if slow:
        survivors = cand[keep].tolist()
        ok = [
            all(pred(store.value(rid, name, search_view=True)) for name, pred in slow)
            for rid in survivors
        ]
        keep[np.flatnonzero(keep)[~np.array(ok, dtype=np.bool_)]] = False
    out = np.zeros(mask.shape, dtype=np.bool_)
    out[cand[keep] - 1] = True
    return out


def _sort(
    store: ObjectStore,
    otype: ObjectType,
    matched: I64,
    sorts: list[tuple[str, bool]],
    numeric: dict[str, I64],
) -> I64:
    if not sorts:
        return matched
    if all(name in numeric for name, _ in sorts):
        keys: list[I64] = [matched]  # id as final tie-break
        for name, desc in reversed(sorts):
            col = numeric[name][matched - 1]
            keys.append(-col if desc else col)
        order = np.lexsort(tuple(keys))
        return matched[order]
    ids = matched.tolist()
    for name, desc in reversed(sorts):
        prop = otype.prop(name)
        ptype = prop.type if prop is not None else "string"

        def key(rid: int, name: str = name, ptype: str = ptype) -> tuple[int, Any]:
            v = _typed(ptype, store.value(rid, name, search_view=True))
            return (1, "") if v is None else (0, v)

        ids.sort(key=key, reverse=desc)
    return np.array(ids, dtype=np.int64)
