"""XDM field types as Arrow types, and the vectorised conversions between them.

XDM types (``meta:xdmType``, Adobe's ``help/xdm/schema/field-constraints.md``): ``string``,
``number`` (double), ``long``, ``int``, ``short``, ``byte``, ``boolean``, ``date``, ``date-time``,
``object``, ``array``, ``map``. In JSON Schema terms an XDM field is ``type`` plus ``format``
(``date``, ``date-time``) and, for integers, ``meta:xdmType`` or ``minimum``/``maximum``.

Conversions never raise for bad values: :func:`coerce` returns the converted array plus a mask of
the rows that could not be converted, so one bad record fails alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping import dates

TIMESTAMP = pa.timestamp("ms", tz="UTC")

_INT_TYPES = {"long": pa.int64(), "int": pa.int32(), "short": pa.int16(), "byte": pa.int8()}


class SchemaShapeError(ValueError):
    """A JSON Schema whose properties are not objects (a client's input schema may be anything)."""


def arrow_type_of(prop: Mapping[str, Any]) -> pa.DataType:
    """The Arrow type of one resolved (``xed-full``) JSON Schema property."""
    if not isinstance(prop, Mapping):
        raise SchemaShapeError(f"a property must be an object, not {type(prop).__name__}")
    xdm = prop.get("meta:xdmType")
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or xdm == "object" or "properties" in prop:
        if xdm == "map" or ("additionalProperties" in prop and "properties" not in prop):
            extra = prop.get("additionalProperties")
            value = arrow_type_of(extra) if isinstance(extra, Mapping) else pa.string()
            return pa.map_(pa.string(), value)
        children = prop.get("properties") or {}
        if not isinstance(children, Mapping):
            raise SchemaShapeError("properties must be an object")
        if not children:
            return pa.struct([])
        return pa.struct([pa.field(k, arrow_type_of(v)) for k, v in children.items()])
    if kind == "array":
        items = prop.get("items")
        return pa.list_(arrow_type_of(items) if isinstance(items, Mapping) else pa.string())
    if kind == "boolean":
        return pa.bool_()
    if kind == "integer":
        if isinstance(xdm, str) and xdm in _INT_TYPES:
            return _INT_TYPES[xdm]
        lo, hi = prop.get("minimum"), prop.get("maximum")
        if isinstance(lo, int) and isinstance(hi, int):
            for name in ("byte", "short", "int"):
                t = _INT_TYPES[name]
                bits = t.bit_width - 1
                if lo >= -(2**bits) and hi <= 2**bits - 1:
                    return t
        return pa.int64()
    if kind == "number":
        return pa.float64()
    fmt = prop.get("format")
    if xdm == "date-time" or fmt == "date-time":
        return TIMESTAMP
    if xdm == "date" or fmt == "date":
        return pa.date32()
    return pa.string()


def schema_from_properties(properties: Mapping[str, Any]) -> pa.Schema:
    """An Arrow schema (nested structs) from the ``properties`` of a resolved XDM schema;
    :class:`SchemaShapeError` when a property is not a schema object."""
    return pa.schema([pa.field(k, arrow_type_of(v)) for k, v in properties.items()])


@dataclass(frozen=True, slots=True)
class Leaf:
    """One field of an output schema: its dotted path and Arrow type."""

    path: tuple[str, ...]
    type: pa.DataType

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def walk(schema: pa.Schema | pa.StructType) -> Iterator[Leaf]:
    """Every field of ``schema``, objects included, depth first (``person``, ``person.name``, …)."""

    def rec(fields: list[pa.Field], prefix: tuple[str, ...]) -> Iterator[Leaf]:
        for f in fields:
            path = (*prefix, f.name)
            yield Leaf(path, f.type)
            if pa.types.is_struct(f.type):
                yield from rec(list(f.type), path)

    return rec(list(schema), ())


def type_name(t: pa.DataType) -> str:
    """XDM-style name of an Arrow type, for messages."""
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return {8: "byte", 16: "short", 32: "int", 64: "long"}[t.bit_width]
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_timestamp(t):
        return "date-time"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_struct(t):
        return "object"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    if pa.types.is_map(t):
        return "map"
    return str(t)


_SCALAR_KINDS = {"string", "boolean", "byte", "short", "int", "long", "number", "date", "date-time"}
_NUMERIC = {"byte", "short", "int", "long", "number"}


def convertible(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether values of ``src`` may be mapped to a field of ``dst`` (bad values fail per row)."""
    s, d = type_name(src), type_name(dst)
    if s in {"null", d}:
        return s != d or s not in {"array", "object", "map"} or _nested_ok(src, dst)
    if d == "string":
        return s in _SCALAR_KINDS
    if s == "string":
        return d in _SCALAR_KINDS
    if d in _NUMERIC:
        return s in _NUMERIC
    if d == "date-time":
        return s == "date"
    if d == "date":
        return s == "date-time"
    return False


def _nested_ok(src: pa.DataType, dst: pa.DataType) -> bool:
    if pa.types.is_list(src) and pa.types.is_list(dst):
        return convertible(src.value_type, dst.value_type)
    if pa.types.is_struct(src) and pa.types.is_struct(dst):
        # Adobe's object copy: fields with the same name are copied (and converted)
        names = {f.name for f in src}
        return all(convertible(src.field(f.name).type, f.type) for f in dst if f.name in names)
    return bool(src == dst)


_BOOL_TRUE = ["y", "yes", "Y", "YES", "on", "ON", "true", "TRUE"]
_BOOL_FALSE = ["n", "N", "no", "NO", "off", "OFF", "false", "FALSE"]
_INT_RE = r"^\s*[+-]?\d+\s*$"
_FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|NaN|Infinity)\s*$"


@dataclass(frozen=True, slots=True)
class Converted:
    """Converted values plus the rows that failed (``None`` when none can fail)."""

    values: pa.Array
    failed: pa.Array | None
    message: str = ""


def _mask_invalid(arr: pa.Array, valid: pa.Array) -> tuple[pa.Array, pa.Array]:
    failed = pc.and_kleene(pc.is_valid(arr), pc.invert(pc.fill_null(valid, False)))
    return pc.if_else(failed, pa.scalar(None, arr.type), arr), failed


def to_boolean(arr: pa.Array) -> Converted:
    """Adobe's string → boolean rule: y/yes/on/true → true, n/no/off/false → false (any case
    listed in ``help/data-prep/data-handling.md``)."""
    s = pc.utf8_trim_whitespace(arr)
    is_true = pc.is_in(s, value_set=pa.array(_BOOL_TRUE))
    is_false = pc.is_in(s, value_set=pa.array(_BOOL_FALSE))
    failed = pc.and_kleene(pc.is_valid(arr), pc.invert(pc.or_(is_true, is_false)))
    values = pc.if_else(pc.is_valid(arr), is_true, pa.scalar(None, pa.bool_()))
    values = pc.if_else(failed, pa.scalar(None, pa.bool_()), values)
    return Converted(values, failed, "is not a boolean")


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_integer(arr: pa.Array, target: pa.DataType = pa.int64()) -> Converted:
    ok = pc.match_substring_regex(arr, _INT_RE)
    clean, failed = _mask_invalid(arr, ok)
    text = pc.utf8_trim_whitespace(clean)
    # up to 38 digits parse exactly as decimals; the int64 range is checked before the cast
    digits = pc.utf8_length(pc.replace_substring_regex(text, r"^[+-]?0*", ""))
    fits = pc.less_equal(digits, 38)
    text, too_long = _mask_invalid(text, fits)
    dec = pc.cast(pc.replace_substring(text, "+", ""), pa.decimal128(38, 0))
    in_64 = pc.and_(
        pc.greater_equal(dec, pa.scalar(_INT64_MIN, pa.decimal128(38, 0))),
        pc.less_equal(dec, pa.scalar(_INT64_MAX, pa.decimal128(38, 0))),
    )
    dec, out_64 = _mask_invalid(dec, in_64)
    failed = pc.or_kleene(pc.or_kleene(failed, too_long), out_64)
    wide = pc.cast(dec, pa.int64())
    if target != pa.int64():
        bits = target.bit_width - 1
        in_range = pc.and_(pc.greater_equal(wide, -(2**bits)), pc.less_equal(wide, 2**bits - 1))
        wide, out = _mask_invalid(wide, in_range)
        failed = pc.or_kleene(failed, pc.fill_null(out, False))
        wide = pc.cast(wide, target)
    return Converted(wide, failed, f"is not an integer ({type_name(target)})")


def parse_float(arr: pa.Array) -> Converted:
    ok = pc.match_substring_regex(arr, _FLOAT_RE)
    clean, failed = _mask_invalid(arr, ok)
    return Converted(
        pc.cast(pc.utf8_trim_whitespace(clean), pa.float64()), failed, "is not a number"
    )


def coerce(arr: pa.Array, target: pa.DataType) -> Converted:
    """``arr`` converted to ``target``; rows whose value cannot be converted are null and marked."""
    src = arr.type
    if src == target:
        return Converted(arr, None)
    if pa.types.is_null(src):
        return Converted(pa.nulls(len(arr), target), None)
    if pa.types.is_dictionary(src):
        return coerce(arr.dictionary_decode(), target)
    if pa.types.is_large_string(src):
        return coerce(pc.cast(arr, pa.string()), target)
    s, d = type_name(src), type_name(target)
    if d == "string":
        if s == "date-time":
            return Converted(
                pc.strftime(pc.cast(arr, TIMESTAMP), format="%Y-%m-%dT%H:%M:%SZ"), None
            )
        if s == "boolean":
            return Converted(pc.if_else(arr, "true", "false"), None)
        return Converted(pc.cast(arr, pa.string()), None)
    if s == "string":
        if d == "boolean":
            return to_boolean(arr)
        if d in {"byte", "short", "int", "long"}:
            return parse_integer(arr, target)
        if d == "number":
            c = parse_float(arr)
            return Converted(pc.cast(c.values, target), c.failed, c.message)
        if d in {"date-time", "date"}:
            ts, failed = dates.parse_any(arr)
            values = ts if d == "date-time" else pc.cast(ts, pa.date32())
            return Converted(pc.cast(values, target), failed, f"is not a {d}")
    if d in _NUMERIC and s in _NUMERIC:
        if pa.types.is_integer(target) and pa.types.is_floating(src):
            bits = target.bit_width - 1
            integral = pc.and_(
                pc.equal(pc.floor(arr), arr),
                pc.and_(pc.greater_equal(arr, -float(2**bits)), pc.less(arr, float(2**bits))),
            )
            arr2, failed = _mask_invalid(arr, integral)
            return Converted(pc.cast(arr2, target, safe=False), failed, "is not an integer")
        if pa.types.is_integer(target) and pa.types.is_integer(src):
            bits = target.bit_width - 1
            ok = pc.and_(pc.greater_equal(arr, -(2**bits)), pc.less_equal(arr, 2**bits - 1))
            arr2, failed = _mask_invalid(arr, ok)
            return Converted(pc.cast(arr2, target), failed, f"is out of range for {d}")
        return Converted(pc.cast(arr, target), None)
    if (s, d) in {("date", "date-time"), ("date-time", "date")}:
        return Converted(pc.cast(arr, target), None)
    if s == "date-time" and d == "date-time":
        return Converted(pc.cast(arr, target), None)
    if pa.types.is_struct(src) and pa.types.is_struct(target):
        children: list[pa.Array] = []
        failed_any: pa.Array | None = None
        messages: list[str] = []
        for f in target:
            idx = src.get_field_index(f.name)
            if idx < 0:
                children.append(pa.nulls(len(arr), f.type))
                continue
            c = coerce(pc.struct_field(arr, [idx]), f.type)
            children.append(c.values)
            if c.failed is not None:
                mask = pc.fill_null(c.failed, False)
                failed_any = mask if failed_any is None else pc.or_(failed_any, mask)
                messages.append(f"{f.name} {c.message}")
        values = pa.StructArray.from_arrays(children, fields=list(target), mask=pc.is_null(arr))
        return Converted(values, failed_any, "; ".join(messages))
    if pa.types.is_list(src) and pa.types.is_list(target):
        flat = coerce(pc.list_flatten(arr), target.value_type)
        offsets = arr.offsets
        values = pa.ListArray.from_arrays(offsets, flat.values, mask=pc.is_null(arr))
        failed = None
        if flat.failed is not None:
            parents = pc.list_parent_indices(arr)
            bad = pc.filter(parents, flat.failed)
            failed = pc.is_in(pa.array(range(len(arr)), pa.int64()), value_set=bad)
        return Converted(values, failed, flat.message)
    raise TypeError(f"cannot convert {s} to {d}")
