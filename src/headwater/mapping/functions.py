"""The Data Prep functions Headwater supports, each compiled to Arrow compute kernels.

Names, argument order and results follow Adobe's function reference
(``help/data-prep/functions.md``); ``GET /languages/el/functions`` lists exactly this table.
``to_bool`` and ``nvl`` are Headwater additions (Adobe's list has ``coalesce`` and automatic
boolean parsing instead) and say so in their descriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping.compiler import (
    Compiled,
    CompileError,
    Env,
    Val,
    convert,
    describe,
    join_fails,
)
from headwater.mapping.types import type_name

Builder = Callable[[list[Compiled], str], Compiled]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    category: str
    syntax: str
    description: str
    returns: str
    return_type: str
    example: str
    result: str
    params: tuple[tuple[str, str], ...]
    min_args: int
    max_args: int | None
    build: Builder
    aliases: tuple[str, ...] = ()

    def listing(self) -> dict[str, Any]:
        """Adobe's ``/languages/el/functions`` item shape."""
        return {
            "category": self.category,
            "function": self.name,
            "description": self.description,
            "syntax": self.syntax,
            "returns": self.returns,
            "returnType": self.return_type,
            "example": self.example,
            "result": self.result,
            "params": [
                {"name": n, "description": d, "position": i + 1}
                for i, (n, d) in enumerate(self.params)
            ],
            "since": 1,
        }


FUNCTIONS: dict[str, Function] = {}


def function(
    name: str,
    *,
    category: str,
    syntax: str,
    description: str,
    returns: str,
    return_type: str,
    example: str,
    result: str,
    params: tuple[tuple[str, str], ...] = (),
    args: tuple[int, int | None] = (1, 1),
    aliases: tuple[str, ...] = (),
) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        fn = Function(
            name,
            category,
            syntax,
            description,
            returns,
            return_type,
            example,
            result,
            params,
            args[0],
            args[1],
            build,
            aliases,
        )
        for key in (name, *aliases):
            FUNCTIONS[key] = fn
        return build

    return register


def lookup(name: str) -> Function | None:
    return FUNCTIONS.get(name)


def unique_functions() -> list[Function]:
    seen: dict[str, Function] = {}
    for fn in FUNCTIONS.values():
        seen.setdefault(fn.name, fn)
    return list(seen.values())


# ------------------------------------------------------------------ helpers


def as_string(env: Env, val: Val, what: str) -> Val:
    if pa.types.is_string(val.data.type):
        return val
    return convert(env, val, pa.string(), what)


def _const_str(arg: Compiled, fn: str, what: str) -> str:
    if not arg.is_const or not isinstance(arg.const, str):
        raise CompileError("type-mismatch", f"{fn}: {what} must be a string literal")
    return str(arg.const)


def _const_int(arg: Compiled, fn: str, what: str) -> int:
    if not arg.is_const or not isinstance(arg.const, int) or isinstance(arg.const, bool):
        raise CompileError("type-mismatch", f"{fn}: {what} must be an integer literal")
    return int(arg.const)


def _string_fn(kernel: Callable[[Any], Any]) -> Builder:
    def build(args: list[Compiled], text: str) -> Compiled:
        (a,) = args

        def run(env: Env) -> Val:
            v = as_string(env, a.run(env), text)
            return Val(kernel(v.data), v.fails)

        return Compiled(pa.string(), run, text=text)

    return build


def common_type(types: list[pa.DataType | None], what: str) -> pa.DataType | None:
    known = [t for t in types if t is not None and not pa.types.is_null(t)]
    if not known:
        return pa.null() if all(t is not None for t in types) else None
    first = known[0]
    for t in known[1:]:
        if t == first:
            continue
        if pa.types.is_integer(t) and pa.types.is_integer(first):
            first = pa.int64()
        elif (pa.types.is_integer(t) or pa.types.is_floating(t)) and (
            pa.types.is_integer(first) or pa.types.is_floating(first)
        ):
            first = pa.float64()
        elif pa.types.is_string(t) or pa.types.is_string(first):
            first = pa.string()
        else:
            raise CompileError(
                "type-mismatch", f"{what}: cannot mix {type_name(first)} and {type_name(t)}"
            )
    return first


def unify(env: Env, vals: list[Val], target: pa.DataType | None, what: str) -> list[Val]:
    if target is None or pa.types.is_null(target):
        return vals
    return [v if v.data.type == target else convert(env, v, target, what) for v in vals]


# ------------------------------------------------------------------ strings


@function(
    "concat",
    category="String",
    syntax="String concat(String...)",
    description="Concatenates the given strings; null arguments are left out.",
    returns="The joined string.",
    return_type="java.lang.String",
    example='concat("Hi, ", "there", "!")',
    result='"Hi, there!"',
    params=(("STRING", "The strings that will be concatenated."),),
    args=(1, None),
)
def _concat(args: list[Compiled], text: str) -> Compiled:
    def run(env: Env) -> Val:
        vals = [as_string(env, a.run(env), text) for a in args]
        data = [env.broadcast(v.data) for v in vals]
        if len(data) == 1:
            return Val(data[0], join_fails(*vals))
        joined = pc.binary_join_element_wise(
            *data, "", null_handling="replace", null_replacement=""
        )
        return Val(joined, join_fails(*vals))

    return Compiled(pa.string(), run, text=text)


@function(
    "explode",
    category="String",
    syntax="String[] explode(String, String)",
    description='Splits the string on a regular expression (default ",") into an array.',
    returns="An array of the parts.",
    return_type="java.lang.String[]",
    example='explode("Hi, there!", " ")',
    result='["Hi,", "there!"]',
    params=(("STRING", "The string to split."), ("REGEX", "Optional regular expression.")),
    args=(1, 2),
)
def _explode(args: list[Compiled], text: str) -> Compiled:
    pattern = _const_str(args[1], "explode", "REGEX") if len(args) > 1 else ","

    def run(env: Env) -> Val:
        v = as_string(env, args[0].run(env), text)
        return Val(pc.split_pattern_regex(v.data, pattern=pattern), v.fails)

    return Compiled(pa.list_(pa.string()), run, text=text)


@function(
    "split",
    category="String",
    syntax="String[] split(String, String)",
    description="Splits a string on any of the separator characters.",
    returns="An array of the parts.",
    return_type="java.lang.String[]",
    example='split("Hello world", " ")',
    result='["Hello", "world"]',
    params=(("INPUT", "The string to split."), ("SEPARATOR", "The separator characters.")),
    args=(2, 2),
)
def _split(args: list[Compiled], text: str) -> Compiled:
    sep = _const_str(args[1], "split", "SEPARATOR")
    if not sep:
        raise CompileError("type-mismatch", "split: SEPARATOR must not be empty")
    chars = sep.replace("\\\\", "\\")
    pattern = "[" + "".join("\\" + c if c in "\\]^-[" else c for c in chars) + "]"

    def run(env: Env) -> Val:
        v = as_string(env, args[0].run(env), text)
        return Val(pc.split_pattern_regex(v.data, pattern=pattern), v.fails)

    return Compiled(pa.list_(pa.string()), run, text=text)


@function(
    "join",
    category="String",
    syntax="String join(String, Object[])",
    description="Joins the elements of an array with the separator.",
    returns="The joined string.",
    return_type="java.lang.String",
    example='join(" ", split("Hello world", " "))',
    result='"Hello world"',
    params=(("SEPARATOR", "The separator."), ("OBJECTS", "The array to join.")),
    args=(2, 2),
)
def _join(args: list[Compiled], text: str) -> Compiled:
    sep_arg, arr_arg = args
    if arr_arg.type is not None and not pa.types.is_list(arr_arg.type):
        raise CompileError(
            "type-mismatch", f"join: OBJECTS must be an array, not {describe(arr_arg.type)}"
        )

    def run(env: Env) -> Val:
        sep = as_string(env, sep_arg.run(env), text)
        arr = arr_arg.run(env)
        data = arr.data
        if not pa.types.is_string(data.type.value_type):
            data = pc.cast(data, pa.list_(pa.string()))
        return Val(pc.binary_join(data, sep.data), join_fails(sep, arr))

    return Compiled(pa.string(), run, text=text)


@function(
    "substr",
    category="String",
    syntax="String substr(String, Integer, Integer)",
    description="Returns LENGTH characters starting at START_INDEX (0-based).",
    returns="The substring.",
    return_type="java.lang.String",
    example='substr("This is a substring test", 7, 8)',
    result='" a subst"',
    params=(("INPUT", "The string."), ("START_INDEX", "Start (0-based)."), ("LENGTH", "Length.")),
    args=(3, 3),
)
def _substr(args: list[Compiled], text: str) -> Compiled:
    start = _const_int(args[1], "substr", "START_INDEX")
    length = _const_int(args[2], "substr", "LENGTH")
    if start < 0 or length < 0:
        raise CompileError("type-mismatch", "substr: START_INDEX and LENGTH must be >= 0")
    return _string_fn(lambda d: pc.utf8_slice_codeunits(d, start, start + length))([args[0]], text)


@function(
    "left",
    category="String",
    syntax="String left(String, Integer)",
    description='Gets the first "n" characters of the string.',
    returns="The prefix.",
    return_type="java.lang.String",
    example='left("abcde", 2)',
    result='"ab"',
    params=(("STRING", "The string."), ("COUNT", "How many characters.")),
    args=(2, 2),
)
def _left(args: list[Compiled], text: str) -> Compiled:
    count = _const_int(args[1], "left", "COUNT")
    return _string_fn(lambda d: pc.utf8_slice_codeunits(d, 0, max(count, 0)))([args[0]], text)


@function(
    "right",
    category="String",
    syntax="String right(String, Integer)",
    description='Gets the last "n" characters of the string.',
    returns="The suffix.",
    return_type="java.lang.String",
    example='right("abcde", 2)',
    result='"de"',
    params=(("STRING", "The string."), ("COUNT", "How many characters.")),
    args=(2, 2),
)
def _right(args: list[Compiled], text: str) -> Compiled:
    count = _const_int(args[1], "right", "COUNT")
    if count <= 0:
        return _string_fn(lambda d: pc.utf8_slice_codeunits(d, 0, 0))([args[0]], text)
    return _string_fn(lambda d: pc.utf8_slice_codeunits(d, -count))([args[0]], text)


for _name, _alias, _kernel, _desc in (
    ("lower", "lcase", pc.utf8_lower, "Converts a string to lowercase."),
    ("upper", "ucase", pc.utf8_upper, "Converts a string to uppercase."),
    ("trim", None, pc.utf8_trim_whitespace, "Removes whitespace from both ends of the string."),
    ("ltrim", None, pc.utf8_ltrim_whitespace, "Removes whitespace from the start of the string."),
    ("rtrim", None, pc.utf8_rtrim_whitespace, "Removes whitespace from the end of the string."),
):
    function(
        _name,
        category="String",
        syntax=f"String {_name}(String)",
        description=_desc,
        returns="The converted string.",
        return_type="java.lang.String",
        example=f'{_name}(" HeLLo ")',
        result={
            "lower": '" hello "',
            "upper": '" HELLO "',
            "trim": '"HeLLo"',
            "ltrim": '"HeLLo "',
            "rtrim": '" HeLLo"',
        }[_name],
        params=(("INPUT", "The string."),),
        aliases=(_alias,) if _alias else (),
    )(_string_fn(_kernel))


@function(
    "replacestr",
    category="String",
    syntax="String replacestr(String, String, String)",
    description="Replaces every occurrence of TO_FIND with TO_REPLACE.",
    returns="The string with the replacements.",
    return_type="java.lang.String",
    example='replacestr("This is a string re test", "re", "replace")',
    result='"This is a string replace test"',
    params=(("INPUT", "The string."), ("TO_FIND", "Literal to find."), ("TO_REPLACE", "Literal.")),
    args=(3, 3),
)
def _replacestr(args: list[Compiled], text: str) -> Compiled:
    find = _const_str(args[1], "replacestr", "TO_FIND")
    repl = _const_str(args[2], "replacestr", "TO_REPLACE")
    return _string_fn(lambda d: pc.replace_substring(d, pattern=find, replacement=repl))(
        [args[0]], text
    )


@function(
    "matches_regex",
    category="Regular expression",
    syntax="Boolean matches_regex(String, String)",
    description="Checks whether the string matches the regular expression.",
    returns="true when it matches.",
    return_type="java.lang.Boolean",
    example='matches_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")',
    result="true",
    params=(("STRING", "The string."), ("REGEX", "The regular expression literal.")),
    args=(2, 2),
)
def _matches_regex(args: list[Compiled], text: str) -> Compiled:
    pattern = _const_str(args[1], "matches_regex", "REGEX")
    anchored = f"^(?:{pattern})$"

    def run(env: Env) -> Val:
        v = as_string(env, args[0].run(env), text)
        return Val(pc.match_substring_regex(v.data, anchored), v.fails)

    return Compiled(pa.bool_(), run, text=text)


# ------------------------------------------------------------------ hashing


def _hash_builder(sql_fn: str) -> Builder:
    def build(args: list[Compiled], text: str) -> Compiled:
        if len(args) == 2:
            charset = _const_str(args[1], sql_fn, "CHARSET")
            if charset.upper().replace("_", "-") != "UTF-8":
                raise CompileError(
                    "type-mismatch", f"{sql_fn}: only the UTF-8 charset is supported"
                )

        def run(env: Env) -> Val:
            import duckdb  # vectorised hash kernels over Arrow memory

            v = as_string(env, args[0].run(env), text)
            data = env.broadcast(v.data)
            con = duckdb.connect()
            try:
                con.register("hw_input", pa.table({"v": data}))
                out = con.sql(f"SELECT {sql_fn}(v) AS h FROM hw_input").to_arrow_table()
            finally:
                con.close()
            hashed = out.column("h")
            result = hashed.combine_chunks() if isinstance(hashed, pa.ChunkedArray) else hashed
            return Val(pc.cast(result, pa.string()), v.fails)

        return Compiled(pa.string(), run, text=text)

    return build


for _name, _example, _result in (
    (
        "sha256",
        'sha256("my text", "UTF-8")',
        "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104",
    ),
    ("md5", 'md5("my text", "UTF-8")', "d3b96ce8c9fb4e9bd0198d03ba6852c7"),
    ("sha1", 'sha1("my text", "UTF-8")', "c3599c11e47719df18a2448690840c5dfcce3c80"),
):
    function(
        _name,
        category="Hashing",
        syntax=f"String {_name}(String, String)",
        description=f"Hashes the input with {_name.upper()} (hexadecimal); CHARSET must be UTF-8.",
        returns="The hexadecimal digest.",
        return_type="java.lang.String",
        example=_example,
        result=_result,
        params=(("INPUT", "The plain text."), ("CHARSET", "Optional; UTF-8.")),
        args=(1, 2),
    )(_hash_builder(_name))
