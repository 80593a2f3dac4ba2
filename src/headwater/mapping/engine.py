"""Mapping sets, compiled once and applied to Arrow batches.

A mapping set is Data Prep's list of ``{sourceType, source, destination}`` entries (or the older
``{sourceAttribute, destinationXdmPath}`` form of Adobe's older source tutorials). :func:`compile_set`
checks every entry against the input columns and the output (XDM) schema and returns a
:class:`MappingSet`, or raises :class:`MappingError` naming each offending entry.

:meth:`MappingSet.apply` maps a batch with Arrow compute kernels and returns the good rows as
nested records following the output schema, plus one :class:`RowError` per failed record (code,
message, column and the raw row). With ``on_error="nullify"`` a failed value is set to null and the
record kept, which is how Adobe treats transformation errors when a field is not required
(``help/data-prep/troubleshooting-guide.md``); the default fails the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from headwater.mapping import ast
from headwater.mapping.compiler import Compiled, CompileError, Env, Val, convert, describe
from headwater.mapping.errors import ExpressionError, MappingError, MappingIssue
from headwater.mapping.expressions import compile_node
from headwater.mapping.parser import parse
from headwater.mapping.types import TIMESTAMP, convertible, walk

#: Adobe's run error code for a record the mapper could not transform ("Mapper Transform Error").
MAPPER_ERROR = "MAPPER-3700-400"


@dataclass(frozen=True, slots=True)
class Entry:
    """One mapping, normalised: ``kind`` is ``ATTRIBUTE``, ``EXPRESSION`` or ``STATIC``."""

    index: int
    kind: str
    source: str
    destination: str


def entries_of(mappings: Sequence[Mapping[str, Any]]) -> tuple[list[Entry], list[MappingIssue]]:
    """Read both of Adobe's mapping shapes; issues for entries without source or destination."""
    out: list[Entry] = []
    issues: list[MappingIssue] = []
    for i, m in enumerate(mappings):
        if not isinstance(m, Mapping):
            issues.append(MappingIssue(i, "invalid", "a mapping must be an object"))
            continue
        source = m.get("source", m.get("sourceAttribute"))
        dest = m.get("destination", m.get("destinationXdmPath"))
        raw_kind = str(m.get("sourceType") or "ATTRIBUTE")
        kind = {"TEXT/X.SCHEMA-PATH": "ATTRIBUTE", "TEXT/X.CALCULATED": "EXPRESSION"}.get(
            raw_kind.upper(), raw_kind.upper()
        )
        if kind not in {"ATTRIBUTE", "EXPRESSION", "STATIC"}:
            issues.append(
                MappingIssue(
                    i, "invalid", f"sourceType '{raw_kind}' is not ATTRIBUTE, EXPRESSION or STATIC"
                )
            )
            continue
        if not isinstance(dest, str) or not dest.strip():
            issues.append(
                MappingIssue(i, "invalid", "the mapping has no destination", str(source or ""))
            )
            continue
        if kind != "STATIC" and (not isinstance(source, str) or not source.strip()):
            issues.append(MappingIssue(i, "invalid", "the mapping has no source", "", dest))
            continue
        out.append(Entry(i, kind, "" if source is None else str(source), dest.strip()))
    return out, issues


def _attribute_path(source: str) -> tuple[str, ...]:
    if source.startswith("${") and source.endswith("}"):
        node = parse(source)
        assert isinstance(node, ast.Field)
        return node.path
    parts: list[str] = []
    cur = ""
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source):
            cur += source[i + 1]
            i += 2
            continue
        if source[i] == ".":
            parts.append(cur)
            cur = ""
        else:
            cur += source[i]
        i += 1
    parts.append(cur)
    return tuple(parts)


def _node_of(entry: Entry) -> ast.Node:
    if entry.kind == "ATTRIBUTE":
        return ast.Field(_attribute_path(entry.source.strip()))
    if entry.kind == "STATIC":
        return ast.Literal(entry.source)
    return parse(entry.source)


@dataclass(frozen=True, slots=True)
class Target:
    entry: Entry
    expr: Compiled
    path: tuple[str, ...]
    type: pa.DataType | None
    #: the source columns the entry reads (aliases resolved), for error reports
    columns: tuple[str, ...] = ()


def fields_of(node: ast.Node) -> list[tuple[str, ...]]:
    """Every field an expression reads, in order of appearance."""
    out: list[tuple[str, ...]] = []

    def rec(n: ast.Node) -> None:
        if isinstance(n, ast.Field):
            if n.path not in out:
                out.append(n.path)
        elif isinstance(n, ast.Call):
            for a in n.args:
                rec(a)
        elif isinstance(n, ast.Method):
            rec(n.target)
            for a in n.args:
                rec(a)
        elif isinstance(n, ast.Unary):
            rec(n.operand)
        elif isinstance(n, ast.Binary):
            rec(n.left)
            rec(n.right)
        elif isinstance(n, ast.Conditional):
            rec(n.cond)
            rec(n.then)
            rec(n.otherwise)
        elif isinstance(n, ast.ArrayLit):
            for a in n.items:
                rec(a)

    rec(node)
    return out


@dataclass(frozen=True, slots=True)
class RowError:
    """One failed record: which row of the batch, why, and the raw input row."""

    row: int
    code: str
    message: str
    column: str
    destination: str
    raw: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "destination": self.destination,
            "raw": self.raw,
        }


@dataclass(slots=True)
class MappingResult:
    table: pa.Table
    errors: list[RowError] = field(default_factory=list)
    #: with ``on_error="nullify"``: the values that were set to null (records kept)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def failed_count(self) -> int:
        return len({e.row for e in self.errors})


def _dest_types(schema: pa.Schema | None) -> dict[tuple[str, ...], pa.DataType]:
    return {} if schema is None else {leaf.path: leaf.type for leaf in walk(schema)}


def check(
    mappings: Sequence[Mapping[str, Any]],
    *,
    input_schema: pa.Schema | None,
    output_schema: pa.Schema | None,
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[Target], list[MappingIssue]]:
    """Compile every entry; the issues list names each entry that cannot apply."""
    entries, issues = entries_of(mappings)
    dests = _dest_types(output_schema)
    targets: list[Target] = []
    seen: dict[tuple[str, ...], int] = {}
    copies: dict[tuple[str, ...], bool] = {}
    for e in entries:
        path = tuple(e.destination.split("."))
        try:
            node = _node_of(e)
            expr = compile_node(node, input_schema, aliases)
        except ExpressionError as exc:
            issues.append(MappingIssue(e.index, "syntax", exc.message, e.source, e.destination))
            continue
        except CompileError as exc:
            issues.append(MappingIssue(e.index, exc.kind, exc.message, e.source, e.destination))
            continue
        dest_type: pa.DataType | None = None
        copy_dest = False
        if output_schema is not None:
            dest_type = dests.get(path)
            if dest_type is None:
                issues.append(
                    MappingIssue(
                        e.index,
                        "unknown-destination",
                        f"destination '{e.destination}' is not a field of the output schema",
                        e.source,
                        e.destination,
                    )
                )
                continue
            copy_ok = expr.type is not None and pa.types.is_struct(expr.type)
            copy_dest = pa.types.is_struct(dest_type) and copy_ok
            if (pa.types.is_struct(dest_type) and not copy_ok) or (
                expr.type is not None and not convertible(expr.type, dest_type)
            ):
                issues.append(
                    MappingIssue(
                        e.index,
                        "type-mismatch",
                        f"'{e.source}' is {describe(expr.type)} but destination '{e.destination}' "
                        f"is {describe(dest_type)}",
                        e.source,
                        e.destination,
                    )
                )
                continue
        # a child may refine an object copied whole (Adobe's ``address -> addr`` plus
        # ``address.line1 -> addr.addrLine1``); otherwise a destination is written once
        clash = path in seen or any(
            (path[: len(p)] == p and not copies.get(p))
            or (p[: len(path)] == path and not copy_dest)
            for p in seen
        )
        if clash:
            issues.append(
                MappingIssue(
                    e.index,
                    "invalid",
                    f"destination '{e.destination}' is mapped twice",
                    e.source,
                    e.destination,
                )
            )
            continue
        seen[path] = e.index
        copies[path] = copy_dest
        cols = tuple(
            ".".join(((aliases or {}).get(p[0], p[0]), *p[1:]))
            if input_schema is not None and input_schema.get_field_index(p[0]) < 0
            else ".".join(p)
            for p in fields_of(node)
        )
        targets.append(Target(e, expr, path, dest_type, cols))
    issues.sort(key=lambda i: i.index)
    return targets, issues


def compile_set(
    mappings: Sequence[Mapping[str, Any]],
    *,
    input_schema: pa.Schema | None = None,
    output_schema: pa.Schema | None = None,
    aliases: Mapping[str, str] | None = None,
) -> MappingSet:
    targets, issues = check(
        mappings, input_schema=input_schema, output_schema=output_schema, aliases=aliases
    )
    if issues:
        raise MappingError(issues)
    return MappingSet(targets, input_schema, output_schema, dict(aliases or {}))


def _column_of(tgt: Target) -> str:
    return ", ".join(tgt.columns) if tgt.columns else tgt.entry.source


@dataclass(slots=True)
class MappingSet:
    targets: list[Target]
    input_schema: pa.Schema | None
    output_schema: pa.Schema | None
    aliases: dict[str, str]

    def apply(
        self,
        data: pa.Table | pa.RecordBatch,
        *,
        on_error: str = "fail_row",
        constants: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> MappingResult:
        batches = data.to_batches() if isinstance(data, pa.Table) else [data]
        stamp = pa.scalar(now or datetime.now(UTC), TIMESTAMP)
        tables: list[pa.Table] = []
        errors: list[RowError] = []
        warnings: list[RowError] = []
        offset = 0
        for batch in batches:
            env = Env(batch, stamp, constants or {})
            t, errs, warns = self._apply_batch(env, on_error, offset)
            tables.append(t)
            errors.extend(errs)
            warnings.extend(warns)
            offset += batch.num_rows
        if not tables:
            empty = self.output_type([])
            return MappingResult(pa.table({f.name: pa.array([], f.type) for f in empty}))
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return MappingResult(table, errors, warnings)

    def _apply_batch(
        self, env: Env, on_error: str, offset: int
    ) -> tuple[pa.Table, list[RowError], list[RowError]]:
        n = env.n
        columns: dict[tuple[str, ...], pa.Array] = {}
        problems: list[tuple[pa.Array, str, Target]] = []
        for tgt in self.targets:
            val = tgt.expr.run(env)
            if tgt.type is not None and not pa.types.is_null(val.data.type):
                val = convert(
                    env, val, tgt.type, f"'{tgt.entry.source}' → {tgt.entry.destination}:"
                )
            elif tgt.type is not None:
                val = Val(pa.scalar(None, tgt.type), val.fails)
            arr = env.broadcast(val.data)
            if val.fails:
                any_fail = val.fails[0][0]
                for mask, _msg in val.fails[1:]:
                    any_fail = pc.or_(any_fail, mask)
                if on_error == "nullify":
                    arr = pc.if_else(any_fail, pa.scalar(None, arr.type), arr)
                for mask, msg in val.fails:
                    problems.append((mask, msg, tgt))
            columns[tgt.path] = arr
        bad_rows = pa.nulls(n, pa.bool_()).fill_null(False) if n else pa.array([], pa.bool_())
        found: list[tuple[int, str, Target]] = []
        for mask, msg, tgt in problems:
            if not pc.any(mask).as_py():
                continue
            bad_rows = pc.or_(bad_rows, mask)
            for i in pc.indices_nonzero(mask).to_pylist():
                found.append((i, msg, tgt))
        out = self._assemble(columns, n)
        reports: list[RowError] = []
        if found:
            rows = sorted({i for i, _, _ in found})
            raw = dict(zip(rows, env.batch.take(pa.array(rows)).to_pylist(), strict=True))
            first: dict[tuple[int, str], bool] = {}
            for i, msg, tgt in sorted(found, key=lambda f: (f[0], f[2].entry.index)):
                key = (i, tgt.entry.destination)
                if key in first:
                    continue
                first[key] = True
                reports.append(
                    RowError(
                        row=offset + i,
                        code=MAPPER_ERROR,
                        message=msg,
                        column=_column_of(tgt),
                        destination=tgt.entry.destination,
                        raw=_jsonable(raw[i]),
                    )
                )
        if on_error == "nullify":
            return out, [], reports
        if found:
            out = out.filter(pc.invert(bad_rows))
        return out, reports, []

    def output_type(self, _cols: Iterable[Any]) -> pa.Schema:
        if self.output_schema is not None:
            return self.output_schema
        return pa.schema([])

    def _assemble(self, columns: dict[tuple[str, ...], pa.Array], n: int) -> pa.Table:
        if self.output_schema is not None:
            arrays = [self._build(f, (f.name,), columns, n) for f in self.output_schema]
            return pa.Table.from_arrays(arrays, schema=self.output_schema)
        tree: dict[str, Any] = {}
        for path, arr in columns.items():
            node = tree
            for seg in path[:-1]:
                node = node.setdefault(seg, {})
            node[path[-1]] = arr
        names = list(tree)
        return pa.Table.from_arrays([_from_tree(tree[k], n) for k in names], names=names)

    def _build(
        self,
        fld: pa.Field,
        path: tuple[str, ...],
        columns: dict[tuple[str, ...], pa.Array],
        n: int,
        base: pa.Array | None = None,
    ) -> pa.Array:
        deeper = any(len(p) > len(path) and p[: len(path)] == path for p in columns)
        if path in columns:
            if not deeper:
                return columns[path]
            base = columns[path]  # an object copy refined by child mappings
        if pa.types.is_struct(fld.type):
            if not deeper:
                return base if base is not None else pa.nulls(n, fld.type)
            children = [
                self._build(
                    c,
                    (*path, c.name),
                    columns,
                    n,
                    None if base is None else pc.struct_field(base, [i]),
                )
                for i, c in enumerate(fld.type)
            ]
            return pa.StructArray.from_arrays(children, fields=list(fld.type))
        return base if base is not None else pa.nulls(n, fld.type)


def _from_tree(node: Any, n: int) -> pa.Array:
    if isinstance(node, dict):
        names = list(node)
        return pa.StructArray.from_arrays([_from_tree(node[k], n) for k in names], names=names)
    arr: pa.Array = node
    return pa.nulls(n, pa.string()) if pa.types.is_null(arr.type) else arr


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif v is None or isinstance(v, str | int | float | bool | list | dict):
            out[k] = v
        else:
            out[k] = str(v)
    return out
