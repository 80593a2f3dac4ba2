"""Date, logic, conversion and special Data Prep functions (the rest of the library)."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping import dates
from headwater.mapping.compiler import (
    Compiled,
    CompileError,
    Env,
    Val,
    convert,
    describe,
    join_fails,
    mask_fails,
)
from headwater.mapping.functions import (
    _const_str,
    as_string,
    common_type,
    function,
    unify,
)
from headwater.mapping.types import TIMESTAMP, parse_float, parse_integer, to_boolean, type_name

# ------------------------------------------------------------------ dates


@function(
    "now",
    category="Date / Time",
    syntax="ZonedDateTime now()",
    description="The current time (one value per batch).",
    returns="The current date-time.",
    return_type="java.time.ZonedDateTime",
    example="now()",
    result="2021-10-26T10:10:24Z",
    args=(0, 0),
)
def _now(_args: list[Compiled], text: str) -> Compiled:
    return Compiled(TIMESTAMP, lambda env: Val(env.now), text=text)


@function(
    "timestamp",
    category="Date / Time",
    syntax="long timestamp()",
    description="The current Unix time in milliseconds.",
    returns="Milliseconds since the epoch.",
    return_type="java.lang.Long",
    example="timestamp()",
    result="1571850624571",
    args=(0, 0),
)
def _timestamp(_args: list[Compiled], text: str) -> Compiled:
    return Compiled(
        pa.int64(),
        lambda env: Val(pc.cast(pc.cast(env.now, pa.timestamp("ms")), pa.int64())),
        text=text,
    )


def _pattern(arg: Compiled, fn: str) -> str:
    pattern = _const_str(arg, fn, "FORMAT")
    try:
        dates.translate(pattern)
    except dates.DateFormatError as exc:
        raise CompileError("type-mismatch", f"{fn}: {exc}") from None
    return pattern


@function(
    "date",
    category="Date / Time",
    syntax="ZonedDateTime date(String, String, ZonedDateTime)",
    description=(
        "Converts a date string into a date-time, read with FORMAT (java.time letters) or, "
        "without one, Adobe's list of fallback formats; DEFAULT_DATE replaces a null input."
    ),
    returns="The date-time (UTC).",
    return_type="java.time.ZonedDateTime",
    example='date("2019-10-23 11:24", "yyyy-MM-dd HH:mm", now())',
    result="2019-10-23T11:24:00Z",
    params=(
        ("DATE", "The string."),
        ("FORMAT", "Optional pattern."),
        ("DEFAULT_DATE", "Optional."),
    ),
    args=(1, 3),
)
def _date(args: list[Compiled], text: str) -> Compiled:
    pattern = _pattern(args[1], "date") if len(args) > 1 else None
    default = args[2] if len(args) > 2 else None

    def run(env: Env) -> Val:
        v = args[0].run(env)
        data = env.broadcast(v.data)
        if pa.types.is_timestamp(data.type) or pa.types.is_date(data.type):
            ts, failed = dates.parse_any(data)
        else:
            s = as_string(env, Val(data), text)
            if pattern is None:
                ts, failed = dates.parse_any(s.data)
            else:
                ts, failed = dates.parse_with(s.data, pattern)
        fails = (*v.fails, (pc.fill_null(failed, False), f"{text}: the value is not a date"))
        if default is not None:
            d = convert(env, default.run(env), TIMESTAMP, text)
            ts = pc.if_else(pc.is_null(data), d.data, ts)
            fails = (*fails, *mask_fails(d.fails, pc.is_null(data)))
        return Val(ts, fails)

    return Compiled(TIMESTAMP, run, text=text)


@function(
    "format",
    category="Date / Time",
    syntax="String format(ZonedDateTime, String)",
    description="Formats a date-time with a pattern.",
    returns="The formatted string.",
    return_type="java.lang.String",
    example='format(date("2019-10-23 11:24:00"), "yyyy-MM-dd HH:mm:ss")',
    result='"2019-10-23 11:24:00"',
    params=(("DATE", "The date-time."), ("FORMAT", "The pattern.")),
    args=(2, 2),
)
def _format(args: list[Compiled], text: str) -> Compiled:
    pattern = _pattern(args[1], "format")

    def run(env: Env) -> Val:
        v = convert(env, args[0].run(env), TIMESTAMP, text)
        return Val(dates.format_with(env.broadcast(v.data), pattern), v.fails)

    return Compiled(pa.string(), run, text=text)


@function(
    "dformat",
    category="Date / Time",
    syntax="String dformat(long, String)",
    description="Formats a timestamp in milliseconds with a pattern.",
    returns="The formatted string.",
    return_type="java.lang.String",
    example="dformat(1571829875000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")",
    result='"2019-10-23T11:24:35.000+0000"',
    params=(("TIMESTAMP", "Milliseconds since the epoch."), ("FORMAT", "The pattern.")),
    args=(2, 2),
)
def _dformat(args: list[Compiled], text: str) -> Compiled:
    pattern = _pattern(args[1], "dformat")

    def run(env: Env) -> Val:
        v = convert(env, args[0].run(env), pa.int64(), text)
        ts = pc.cast(pc.cast(env.broadcast(v.data), pa.timestamp("ms")), TIMESTAMP)
        return Val(dates.format_with(ts, pattern), v.fails)

    return Compiled(pa.string(), run, text=text)


# ------------------------------------------------------------------ logic


def truthy(env: Env, val: Val, what: str) -> Val:
    if pa.types.is_boolean(val.data.type):
        return val
    return convert(env, val, pa.bool_(), what)


def _check_bool(arg: Compiled, fn: str) -> None:
    if arg.type is not None and type_name(arg.type) not in {"boolean", "string", "null"}:
        raise CompileError(
            "type-mismatch", f"{fn}: the condition must be a boolean, not {describe(arg.type)}"
        )


def if_else(env: Env, cond: Val, a: Val, b: Val, out_type: pa.DataType | None, what: str) -> Val:
    a, b = unify(env, [a, b], out_type, what)
    c = pc.fill_null(env.broadcast(cond.data), False)
    data = pc.if_else(c, a.data, b.data)
    fails = (*cond.fails, *mask_fails(a.fails, c), *mask_fails(b.fails, pc.invert(c)))
    return Val(data, fails)


@function(
    "iif",
    category="Logical operators",
    syntax="Object iif(Boolean, Object, Object)",
    description="Returns TRUE_VALUE when the expression is true, otherwise FALSE_VALUE.",
    returns="One of the two values.",
    return_type="java.lang.Object",
    example='iif("s".equalsIgnoreCase("S"), "True", "False")',
    result='"True"',
    params=(("EXPRESSION", "Condition."), ("TRUE_VALUE", "Value."), ("FALSE_VALUE", "Value.")),
    args=(3, 3),
)
def _iif(args: list[Compiled], text: str) -> Compiled:
    cond, a, b = args
    _check_bool(cond, "iif")
    out_type = common_type([a.type, b.type], "iif")

    def run(env: Env) -> Val:
        c = truthy(env, cond.run(env), text)
        return if_else(env, c, a.run(env), b.run(env), out_type, text)

    return Compiled(out_type, run, text=text)


@function(
    "decode",
    category="Logical operators",
    syntax="Object decode(Object, Object...)",
    description="Returns the value paired with KEY in the flat key/value list, else the default.",
    returns="The matching value or the default (null when none).",
    return_type="java.lang.Object",
    example='decode(stateCode, "ca", "California", "pa", "Pennsylvania", "N/A")',
    result='"California" for "ca"',
    params=(("KEY", "The key."), ("OPTIONS", "key, value, ..., [default].")),
    args=(3, None),
)
def _decode(args: list[Compiled], text: str) -> Compiled:
    key, rest = args[0], args[1:]
    pairs = [(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]
    default = rest[-1] if len(rest) % 2 == 1 else None
    values = [v for _, v in pairs] + ([default] if default else [])
    out_type = common_type([v.type for v in values], "decode")
    key_types = [common_type([key.type, cand.type], "decode") for cand, _ in pairs]

    def run(env: Env) -> Val:
        k = key.run(env)
        result = default.run(env) if default else Val(pa.scalar(None, out_type or pa.string()))
        for (cand, value), kt in reversed(list(zip(pairs, key_types, strict=True))):
            cv = cand.run(env)
            goal = kt if kt is not None else pa.string()
            if pa.types.is_null(goal):
                continue
            kk, cc = unify(env, [k, cv], goal, text)
            cond = Val(pc.equal(kk.data, cc.data), (*kk.fails, *cc.fails))
            result = if_else(env, cond, value.run(env), result, out_type, text)
        return result

    return Compiled(out_type, run, text=text)


def _coalesce_builder(name: str) -> object:
    def build(args: list[Compiled], text: str) -> Compiled:
        out_type = common_type([a.type for a in args], name)

        def run(env: Env) -> Val:
            vals = unify(env, [a.run(env) for a in args], out_type, text)
            data = [env.broadcast(v.data) for v in vals]
            out = pc.coalesce(*data) if len(data) > 1 else data[0]
            # a failure only matters on rows where that argument was the one used
            fails: list[tuple[pa.Array, str]] = []
            used_before = None
            for v, d in zip(vals, data, strict=True):
                picked = (
                    pc.is_valid(d)
                    if used_before is None
                    else pc.and_(pc.invert(used_before), pc.is_valid(d))
                )
                fails.extend(mask_fails(v.fails, picked))
                used_before = (
                    pc.is_valid(d) if used_before is None else pc.or_(used_before, pc.is_valid(d))
                )
            return Val(out, tuple(fails))

        return Compiled(out_type, run, text=text)

    return build


function(
    "coalesce",
    category="Hierarchies - Arrays",
    syntax="Object coalesce(Object...)",
    description="Returns the first non-null argument.",
    returns="The first non-null value.",
    return_type="java.lang.Object",
    example='coalesce(null, null, "first", "second")',
    result='"first"',
    params=(("INPUT", "The values."),),
    args=(1, None),
)(_coalesce_builder("coalesce"))  # type: ignore[arg-type]

function(
    "nvl",
    category="Logical operators",
    syntax="Object nvl(Object, Object)",
    description="Headwater addition (not in Adobe's list): VALUE, or DEFAULT when VALUE is null.",
    returns="The value or the default.",
    return_type="java.lang.Object",
    example='nvl(null, "fallback")',
    result='"fallback"',
    params=(("VALUE", "The value."), ("DEFAULT", "Used when the value is null.")),
    args=(2, 2),
)(_coalesce_builder("nvl"))  # type: ignore[arg-type]


@function(
    "nullify",
    category="Hierarchies - Objects",
    syntax="Object nullify()",
    description="Sets the value of the attribute to null.",
    returns="null",
    return_type="java.lang.Object",
    example="nullify()",
    result="null",
    args=(0, 0),
)
def _nullify(_args: list[Compiled], text: str) -> Compiled:
    return Compiled(pa.null(), lambda _env: Val(pa.scalar(None, pa.null())), const=None, text=text)


_ORDERED = {"null", "string", "byte", "short", "int", "long", "number", "date", "date-time"}

for _name, _kernel in (("min", pc.min_element_wise), ("max", pc.max_element_wise)):

    def _make(kernel: object, name: str) -> object:
        def build(args: list[Compiled], text: str) -> Compiled:
            out_type = common_type([a.type for a in args], name)
            for a in args:
                if a.type is not None and type_name(a.type) not in _ORDERED:
                    raise CompileError(
                        "type-mismatch", f"{name}: cannot compare {describe(a.type)} values"
                    )

            def run(env: Env) -> Val:
                vals = unify(env, [a.run(env) for a in args], out_type, text)
                data = [env.broadcast(v.data) for v in vals if not pa.types.is_null(v.data.type)]
                if not data:
                    return Val(pa.scalar(None, pa.null()), join_fails(*vals))
                if len({d.type for d in data}) > 1:
                    data = [pc.cast(d, pa.float64()) for d in data]
                return Val(kernel(*data), join_fails(*vals))  # type: ignore[operator]

            return Compiled(out_type, run, text=text)

        return build

    function(
        _name,
        category="Aggregation",
        syntax=f"Object {_name}(Object...)",
        description=f"Returns the {_name}imum of the arguments.",
        returns=f"The {_name}imum.",
        return_type="java.lang.Object",
        example=f"{_name}(3, 1, 4)",
        result="1" if _name == "min" else "4",
        params=(("OPTIONS", "Values to compare."),),
        args=(1, None),
    )(_make(_kernel, _name))  # type: ignore[arg-type]


# ------------------------------------------------------------------ conversions


def _conversion(kind: str) -> object:
    def build(args: list[Compiled], text: str) -> Compiled:
        (a,) = args
        target = {
            "int": pa.int32(),
            "long": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
        }[kind]

        def run(env: Env) -> Val:
            v = a.run(env)
            data = env.broadcast(v.data)
            if pa.types.is_string(data.type):
                if kind == "bool":
                    c = to_boolean(data)
                elif kind == "float":
                    c = parse_float(data)
                else:
                    c = parse_integer(data, target)
                fails = v.fails
                if c.failed is not None:
                    fails = (*fails, (pc.fill_null(c.failed, False), f"{text}: value {c.message}"))
                return Val(c.values, fails)
            return convert(env, Val(data, v.fails), target, f"{text}:")

        return Compiled(target, run, text=text)

    return build


for _name, _kind, _rtype, _ex, _res in (
    ("to_integer", "int", "java.lang.Integer", 'to_integer("12")', "12"),
    ("to_bigint", "long", "java.math.BigInteger", 'to_bigint("1000000")', "1000000"),
    ("to_float", "float", "java.lang.Float", 'to_float("12.3456")', "12.3456"),
    ("to_decimal", "float", "java.lang.Double", 'to_decimal("20.5")', "20.5"),
    ("to_bool", "bool", "java.lang.Boolean", 'to_bool("yes")', "true"),
):
    function(
        _name,
        category="Type conversions",
        syntax=f"{_rtype.rsplit('.', 1)[1]} {_name}(String)",
        description=(
            "Headwater addition: converts y/yes/on/true and n/no/off/false (Adobe's boolean "
            "parsing rule) to a boolean."
            if _name == "to_bool"
            else f"Converts a string to {_rtype.rsplit('.', 1)[1]}; a value that does not parse "
            "fails its record."
        ),
        returns="The converted value.",
        return_type=_rtype,
        example=_ex,
        result=_res,
        params=(("STRING", "The string to convert."),),
    )(_conversion(_kind))  # type: ignore[arg-type]


# ------------------------------------------------------------------ special


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_LAYOUT = [(0, 4), (4, 6), (6, 8), (8, 10), (10, 16)]


def random_uuids(n: int) -> pa.Array:
    """``n`` random version-4 UUID strings, built in one go with numpy (no per-row loop)."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = np.empty((n, 32), dtype=np.uint8)
    hexes[:, 0::2] = _HEX[raw >> 4]
    hexes[:, 1::2] = _HEX[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    pos = 0
    for start, stop in _UUID_LAYOUT:
        width = (stop - start) * 2
        out[:, pos : pos + width] = hexes[:, start * 2 : stop * 2]
        pos += width + 1
    offsets = np.arange(0, 36 * n + 1, 36, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(out.tobytes())]
    )


@function(
    "uuid",
    category="Special operations",
    syntax="String uuid()",
    description="Generates a pseudo-random ID.",
    returns="A UUID string.",
    return_type="java.lang.String",
    example="uuid()",
    result="7c0267d2-bb74-4e1a-9275-3bf4fccda5f4",
    args=(0, 0),
    aliases=("guid",),
)
def _uuid(_args: list[Compiled], text: str) -> Compiled:
    return Compiled(pa.string(), lambda env: Val(random_uuids(env.n)), text=text)


@function(
    "size_of",
    category="Hierarchies - Arrays",
    syntax="Integer size_of(Object)",
    description="The number of elements of an array.",
    returns="The size.",
    return_type="java.lang.Integer",
    example='size_of(split("a b c", " "))',
    result="3",
    params=(("INPUT", "The array."),),
)
def _size_of(args: list[Compiled], text: str) -> Compiled:
    (a,) = args
    if a.type is not None and not pa.types.is_list(a.type):
        raise CompileError(
            "type-mismatch", f"size_of: INPUT must be an array, not {describe(a.type)}"
        )

    def run(env: Env) -> Val:
        v = a.run(env)
        return Val(pc.cast(pc.list_value_length(v.data), pa.int32()), v.fails)

    return Compiled(pa.int32(), run, text=text)
