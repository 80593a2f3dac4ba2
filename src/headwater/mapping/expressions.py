"""Compile expression trees: fields, literals, operators, function and method calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping import ast
from headwater.mapping import library as _library  # noqa: F401 - registers the functions
from headwater.mapping.compiler import (
    Compiled,
    CompileError,
    Env,
    Val,
    convert,
    describe,
    field_runner,
    join_fails,
    literal,
    resolve_field,
)
from headwater.mapping.functions import as_string, common_type, lookup, unify
from headwater.mapping.library import if_else, truthy
from headwater.mapping.types import type_name

#: Adobe's ``/languages/el/operators`` shape for every operator the engine evaluates.
OPERATORS: list[dict[str, Any]] = [
    {
        "operatorSymbol": "+",
        "methodName": "add",
        "numberOfOperands": 2,
        "description": "Arithmetic addition; concatenation when either side is a string",
        "example": "1 + 2",
    },
    {
        "operatorSymbol": "-",
        "methodName": "subtract",
        "numberOfOperands": 2,
        "description": "Arithmetic subtraction",
        "example": "3 - 1",
    },
    {
        "operatorSymbol": "*",
        "methodName": "multiply",
        "numberOfOperands": 2,
        "description": "Arithmetic multiplication",
        "example": "2 * 3",
    },
    {
        "operatorSymbol": "/",
        "methodName": "divide",
        "numberOfOperands": 2,
        "description": "Arithmetic division (also written div)",
        "example": "1 / 2",
    },
    {
        "operatorSymbol": "%",
        "methodName": "mod",
        "numberOfOperands": 2,
        "description": "Remainder (also written mod)",
        "example": "5 % 2",
    },
    {
        "operatorSymbol": "==",
        "methodName": "equals",
        "numberOfOperands": 2,
        "description": "Equality (also written eq)",
        "example": "a == 1",
    },
    {
        "operatorSymbol": "!=",
        "methodName": "notEquals",
        "numberOfOperands": 2,
        "description": "Inequality (also written ne)",
        "example": "a != 1",
    },
    {
        "operatorSymbol": "<",
        "methodName": "lessThan",
        "numberOfOperands": 2,
        "description": "Less than (also written lt)",
        "example": "a < 1",
    },
    {
        "operatorSymbol": ">",
        "methodName": "greaterThan",
        "numberOfOperands": 2,
        "description": "Greater than (also written gt)",
        "example": "a > 1",
    },
    {
        "operatorSymbol": "<=",
        "methodName": "lessThanOrEqual",
        "numberOfOperands": 2,
        "description": "Less than or equal (also written le)",
        "example": "a <= 1",
    },
    {
        "operatorSymbol": ">=",
        "methodName": "greaterThanOrEqual",
        "numberOfOperands": 2,
        "description": "Greater than or equal (also written ge)",
        "example": "a >= 1",
    },
    {
        "operatorSymbol": "&&",
        "methodName": "and",
        "numberOfOperands": 2,
        "description": "Logical and (also written and)",
        "example": "cond1 && cond2",
    },
    {
        "operatorSymbol": "||",
        "methodName": "or",
        "numberOfOperands": 2,
        "description": "Logical or (also written or)",
        "example": "cond1 || cond2",
    },
    {
        "operatorSymbol": "!",
        "methodName": "not",
        "numberOfOperands": 1,
        "description": "The usual ! operator can be used as well as the word not",
        "example": "!cond1",
    },
    {
        "operatorSymbol": "-",
        "methodName": "negate",
        "numberOfOperands": 1,
        "description": "The unary - operator, for example -12",
        "example": "-12",
    },
    {
        "operatorSymbol": "~",
        "methodName": "complement",
        "numberOfOperands": 1,
        "description": "Bitwise complement of an integer, e.g. ~33 is -34",
        "example": "~44",
    },
    {
        "operatorSymbol": "?:",
        "methodName": "ternary",
        "numberOfOperands": 3,
        "description": "cond ? a : b",
        "example": 'a > 1 ? "big" : "small"',
    },
]

#: Methods callable as ``value.name(...)``.
METHODS = {"equals", "equalsIgnoreCase"}

_ARITH = {"+": pc.add, "-": pc.subtract, "*": pc.multiply, "/": pc.divide}
_COMPARE = {
    "==": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    ">": pc.greater,
    "<=": pc.less_equal,
    ">=": pc.greater_equal,
}


def _numeric(t: pa.DataType | None) -> bool:
    return t is not None and (pa.types.is_integer(t) or pa.types.is_floating(t))


def _is_str(t: pa.DataType | None) -> bool:
    return t is not None and pa.types.is_string(t)


def compile_node(
    node: ast.Node, schema: pa.Schema | None, aliases: Mapping[str, str] | None = None
) -> Compiled:
    aliases = aliases or {}
    text = ast.unparse(node)
    if isinstance(node, ast.Literal):
        return literal(node)
    if isinstance(node, ast.Field):
        path, t = resolve_field(schema, node.path, aliases)
        return Compiled(t, field_runner(path, t), text=text)
    if isinstance(node, ast.Call):
        fn = lookup(node.name)
        if fn is None:
            raise CompileError("unknown-function", f"unknown function '{node.name}'")
        n = len(node.args)
        if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
            want = (
                f"{fn.min_args}"
                if fn.min_args == fn.max_args
                else f"{fn.min_args}..{fn.max_args if fn.max_args is not None else 'n'}"
            )
            raise CompileError(
                "type-mismatch", f"{node.name} takes {want} arguments, not {n} ({fn.syntax})"
            )
        args = [compile_node(a, schema, aliases) for a in node.args]
        return fn.build(args, text)
    if isinstance(node, ast.Method):
        return _method(node, compile_node(node.target, schema, aliases), schema, aliases, text)
    if isinstance(node, ast.Unary):
        return _unary(node.op, compile_node(node.operand, schema, aliases), text)
    if isinstance(node, ast.Binary):
        left = compile_node(node.left, schema, aliases)
        right = compile_node(node.right, schema, aliases)
        return _binary(node.op, left, right, text)
    if isinstance(node, ast.Conditional):
        cond = compile_node(node.cond, schema, aliases)
        if cond.type is not None and type_name(cond.type) not in {"boolean", "string", "null"}:
            raise CompileError(
                "type-mismatch", f"'?:' needs a boolean condition, not {describe(cond.type)}"
            )
        a = compile_node(node.then, schema, aliases)
        b = compile_node(node.otherwise, schema, aliases)
        out_type = common_type([a.type, b.type], "?:")
        return Compiled(
            out_type,
            lambda env: if_else(
                env, truthy(env, cond.run(env), text), a.run(env), b.run(env), out_type, text
            ),
            text=text,
        )
    items = [compile_node(i, schema, aliases) for i in node.items]
    item_type = common_type([i.type for i in items], "array") or pa.string()
    if pa.types.is_null(item_type):
        item_type = pa.string()

    def run_array(env: Env) -> Val:
        vals = unify(env, [i.run(env) for i in items], item_type, text)
        cols = [env.broadcast(v.data) for v in vals]
        if not cols:
            empty = pa.ListArray.from_arrays(
                pa.array([0] * (env.n + 1), pa.int32()), pa.array([], item_type)
            )
            return Val(empty)
        # interleave the columns row by row: element j of row r is cols[j][r]
        n, k = env.n, len(cols)
        flat = pa.concat_arrays([c.cast(item_type) for c in cols])
        order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
        values = flat.take(pa.array(order))
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
        return Val(pa.ListArray.from_arrays(offsets, values), join_fails(*vals))

    return Compiled(pa.list_(item_type), run_array, text=text)


def _method(
    node: ast.Method,
    target: Compiled,
    schema: pa.Schema | None,
    aliases: Mapping[str, str],
    text: str,
) -> Compiled:
    if node.name not in METHODS:
        raise CompileError("unknown-function", f"unknown method '{node.name}'")
    if len(node.args) != 1:
        raise CompileError("type-mismatch", f"{node.name} takes 1 argument")
    other = compile_node(node.args[0], schema, aliases)
    fold = node.name == "equalsIgnoreCase"

    def run(env: Env) -> Val:
        a = as_string(env, target.run(env), text)
        b = as_string(env, other.run(env), text)
        da, db = a.data, b.data
        if fold:
            da, db = pc.utf8_lower(da), pc.utf8_lower(db)
        return Val(pc.fill_null(pc.equal(da, db), False), join_fails(a, b))

    return Compiled(pa.bool_(), run, text=text)


def _unary(op: str, operand: Compiled, text: str) -> Compiled:
    t = operand.type
    if op == "!":
        if t is not None and type_name(t) not in {"boolean", "string", "null"}:
            raise CompileError("type-mismatch", f"'!' needs a boolean, not {describe(t)}")
        return Compiled(
            pa.bool_(),
            lambda env: _apply1(pc.invert, truthy(env, operand.run(env), text)),
            text=text,
        )
    if t is not None and not _numeric(t) and not _is_str(t) and not pa.types.is_null(t):
        raise CompileError("type-mismatch", f"'{op}' needs a number, not {describe(t)}")
    target = pa.int64() if op == "~" or (t is not None and pa.types.is_integer(t)) else pa.float64()
    kernel = pc.bit_wise_not if op == "~" else pc.negate

    def run(env: Env) -> Val:
        return _apply1(kernel, convert(env, operand.run(env), target, text))

    return Compiled(target, run, text=text)


def _apply1(kernel: Any, v: Val) -> Val:
    return Val(kernel(v.data), v.fails)


def _binary(op: str, left: Compiled, right: Compiled, text: str) -> Compiled:
    lt, rt = left.type, right.type
    if op in {"&&", "||"}:
        for side in (lt, rt):
            if side is not None and type_name(side) not in {"boolean", "string", "null"}:
                raise CompileError("type-mismatch", f"'{op}' needs booleans, not {describe(side)}")
        kernel = pc.and_kleene if op == "&&" else pc.or_kleene

        def run_logic(env: Env) -> Val:
            a = truthy(env, left.run(env), text)
            b = truthy(env, right.run(env), text)
            return Val(kernel(a.data, b.data), join_fails(a, b))

        return Compiled(pa.bool_(), run_logic, text=text)
    if op == "+" and (_is_str(lt) or _is_str(rt)) and not (_numeric(lt) or _numeric(rt)):

        def run_concat(env: Env) -> Val:
            a = as_string(env, left.run(env), text)
            b = as_string(env, right.run(env), text)
            return Val(pc.binary_join_element_wise(a.data, b.data, ""), join_fails(a, b))

        return Compiled(pa.string(), run_concat, text=text)
    for side in (lt, rt):
        if side is None or pa.types.is_null(side) or _numeric(side) or _is_str(side):
            continue
        if op in _COMPARE and type_name(side) in {"boolean", "date", "date-time"}:
            continue
        raise CompileError("type-mismatch", f"'{op}' cannot apply to {describe(side)}")
    if op in {"==", "!="} and (left.const is None or right.const is None):
        other = right if left.const is None else left
        null_kernel = pc.is_null if op == "==" else pc.is_valid

        def run_null(env: Env) -> Val:
            v = other.run(env)
            return Val(null_kernel(env.broadcast(v.data)), v.fails)

        return Compiled(pa.bool_(), run_null, text=text)
    if op in _COMPARE:
        if _numeric(lt) or _numeric(rt):
            target: pa.DataType | None = pa.float64()
        elif lt is not None and rt is not None and type_name(lt) in {"date", "date-time"}:
            target = pa.timestamp("ms", tz="UTC")
        else:
            target = common_type([lt, rt], op)
        kernel = _COMPARE[op]

        def run_compare(env: Env) -> Val:
            a, b = left.run(env), right.run(env)
            goal = target
            if goal is None:
                try:
                    goal = common_type([a.data.type, b.data.type], op) or pa.string()
                except CompileError:
                    goal = pa.string()
            if (
                pa.types.is_null(goal)
                or pa.types.is_null(a.data.type)
                or pa.types.is_null(b.data.type)
            ):
                return Val(pa.scalar(None, pa.bool_()), join_fails(a, b))
            a, b = unify(env, [a, b], goal, text)
            return Val(kernel(a.data, b.data), join_fails(a, b))

        return Compiled(pa.bool_(), run_compare, text=text)
    integral = (
        lt is not None and rt is not None and pa.types.is_integer(lt) and pa.types.is_integer(rt)
    )
    out = pa.int64() if integral and op != "/" else pa.float64()

    def run_arith(env: Env) -> Val:
        a = convert(env, left.run(env), out, text)
        b = convert(env, right.run(env), out, text)
        if op == "%":
            # Java's remainder (sign of the dividend); x % 0 is null
            af = pc.cast(a.data, pa.float64())
            bf = pc.cast(b.data, pa.float64())
            bf = pc.if_else(pc.equal(bf, 0.0), pa.scalar(None, pa.float64()), bf)
            rem = pc.subtract(af, pc.multiply(bf, pc.trunc(pc.divide(af, bf))))
            if pa.types.is_integer(out):
                rem = pc.if_else(pc.is_finite(rem), rem, pa.scalar(None, pa.float64()))
                rem = pc.cast(rem, out, safe=False)
            return Val(rem, join_fails(a, b))
        if op == "/":
            zero = pc.equal(b.data, 0)
            safe_b = pc.if_else(zero, pa.scalar(None, out), b.data)
            return Val(pc.divide(a.data, safe_b), join_fails(a, b))
        return Val(_ARITH[op](a.data, b.data), join_fails(a, b))

    return Compiled(out, run_arith, text=text)
