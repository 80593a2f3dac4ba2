"""Compile an expression tree once into a closure over Arrow compute kernels.

A compiled expression knows its result type (``None`` when the input schema is unknown) and, per
batch, returns a :class:`Val`: the values (an array of the batch's length, or a scalar) and the
rows that failed with their messages. Nothing here loops over records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping import ast
from headwater.mapping.types import coerce, convertible, type_name

#: an Arrow array of the batch's length, or a scalar standing for every row
Data: TypeAlias = Any
Fails = tuple[tuple[pa.Array, str], ...]


class CompileError(ValueError):
    """An expression cannot apply; ``kind`` is ``unknown-source``, ``unknown-function`` or
    ``type-mismatch``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class Env:
    """One batch being mapped."""

    batch: pa.RecordBatch
    now: pa.Scalar
    constants: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.batch.num_rows)

    def full(self, value: bool) -> pa.Array:
        return pa.nulls(self.n, pa.bool_()).fill_null(value)

    def broadcast(self, data: Data) -> pa.Array:
        if isinstance(data, pa.Scalar):
            if not data.is_valid:
                return pa.nulls(self.n, data.type)
            return pa.nulls(self.n, data.type).fill_null(data)
        return data


@dataclass(frozen=True, slots=True)
class Val:
    data: Data
    fails: Fails = ()


NOT_CONST = object()


@dataclass(frozen=True, slots=True)
class Compiled:
    type: pa.DataType | None
    run: Callable[[Env], Val]
    const: Any = NOT_CONST  # the Python value when the expression is a literal
    text: str = ""

    @property
    def is_const(self) -> bool:
        return self.const is not NOT_CONST


def _scalar_fail(env: Env, failed: Any) -> pa.Array:
    if isinstance(failed, pa.Scalar):
        return env.full(bool(failed.as_py()))
    return pc.fill_null(failed, False)


def convert(env: Env, val: Val, target: pa.DataType, what: str) -> Val:
    """``val`` converted to ``target``; failures become row errors naming ``what``."""
    data = val.data
    if data.type == target:
        return val
    if not convertible(data.type, target):
        # a conversion the types rule out: every value fails (nulls stay null)
        fails = (
            *val.fails,
            (
                pc.fill_null(pc.is_valid(env.broadcast(data)), False),
                f"{what} cannot convert {type_name(data.type)} to {type_name(target)}",
            ),
        )
        return Val(pa.scalar(None, target), fails)
    if isinstance(data, pa.Scalar):
        out = coerce(pa.array([data.as_py()], data.type), target)
        value = out.values[0]
        if out.failed is not None and out.failed[0].as_py():
            return Val(
                pa.scalar(None, target), (*val.fails, (env.full(True), f"{what} {out.message}"))
            )
        return Val(value, val.fails)
    out = coerce(data, target)
    fails = val.fails
    if out.failed is not None:
        fails = (*fails, (pc.fill_null(out.failed, False), f"{what} {out.message}"))
    return Val(out.values, fails)


def mask_fails(fails: Fails, keep: pa.Array) -> Fails:
    """Only the failures on rows where ``keep`` is true (the branch of ``iif`` that was taken)."""
    return tuple((pc.and_(m, pc.fill_null(keep, False)), msg) for m, msg in fails)


def join_fails(*vals: Val) -> Fails:
    out: list[tuple[pa.Array, str]] = []
    for v in vals:
        out.extend(v.fails)
    return tuple(out)


# ------------------------------------------------------------------ fields


def resolve_field(
    schema: pa.Schema | None, path: tuple[str, ...], aliases: Mapping[str, str]
) -> tuple[tuple[str, ...], pa.DataType | None]:
    """The real path of a source field (after aliases) and its type; raises when unknown."""
    if schema is None:
        return path, None
    head = path[0]
    if schema.get_field_index(head) < 0:
        alias = aliases.get(head)
        if alias is None or schema.get_field_index(alias) < 0:
            known = ", ".join(schema.names[:20])
            raise CompileError(
                "unknown-source",
                f"source field '{'.'.join(path)}' is not in the input (columns: {known}"
                f"{', …' if len(schema.names) > 20 else ''})",
            )
        head = alias
    t: pa.DataType = schema.field(head).type
    for seg in path[1:]:
        if not pa.types.is_struct(t) or t.get_field_index(seg) < 0:
            raise CompileError(
                "unknown-source", f"source field '{'.'.join(path)}' has no part '{seg}'"
            )
        t = t.field(seg).type
    return (head, *path[1:]), t


def field_runner(path: tuple[str, ...], t: pa.DataType | None) -> Callable[[Env], Val]:
    def run(env: Env) -> Val:
        batch = env.batch
        idx = batch.schema.get_field_index(path[0])
        if idx < 0:
            value = env.constants.get(path[0])
            if value is None:
                return Val(pa.scalar(None, t or pa.null()))
            return Val(pa.scalar(value, t) if t is not None else pa.scalar(value))
        col = batch.column(idx)
        for seg in path[1:]:
            col = pc.struct_field(col, seg)
        return Val(col)

    return run


# ------------------------------------------------------------------ literals


def literal(node: ast.Literal) -> Compiled:
    value = node.value
    if value is None:
        scalar = pa.scalar(None, pa.null())
    elif isinstance(value, bool):
        scalar = pa.scalar(value, pa.bool_())
    elif isinstance(value, int):
        scalar = pa.scalar(value, pa.int64())
    elif isinstance(value, float):
        scalar = pa.scalar(value, pa.float64())
    else:
        scalar = pa.scalar(value, pa.string())
    return Compiled(scalar.type, lambda _env: Val(scalar), const=value, text=ast.unparse(node))


def describe(t: pa.DataType | None) -> str:
    return "unknown" if t is None else type_name(t)
