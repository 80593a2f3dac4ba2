"""The syntax tree of Data Prep's expression language, and its canonical text form.

Every node can be turned back into source text with :func:`unparse`; parsing that text gives an
equal tree (the property tests rely on it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TypeAlias

Value: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Literal:
    value: Value


@dataclass(frozen=True, slots=True)
class Field:
    """A source field; ``path`` holds the segments (``name.firstName`` → ``("name", "firstName")``)."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Method:
    """``target.name(args)``, e.g. ``marketing_type.equals("email")``."""

    target: Node
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "!", "~"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # canonical symbol: + - * / % == != < > <= >= && ||
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conditional:
    """``cond ? then : otherwise``."""

    cond: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class ArrayLit:
    items: tuple[Node, ...]


Node: TypeAlias = Literal | Field | Call | Method | Unary | Binary | Conditional | ArrayLit

#: Words that must be written ``${...}`` when used as field names (Data Prep's reserved list).
RESERVED = frozenset(
    [
        "new",
        "mod",
        "or",
        "break",
        "var",
        "lt",
        "for",
        "false",
        "while",
        "eq",
        "gt",
        "div",
        "not",
        "null",
        "continue",
        "else",
        "and",
        "ne",
        "true",
        "le",
        "if",
        "ge",
        "return",
        "_errors",
    ]
)
_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")

#: Binding strength of each binary operator (higher binds tighter).
PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


def _plain(name: str) -> bool:
    return bool(_PLAIN.match(name)) and name not in RESERVED


def field_text(path: tuple[str, ...]) -> str:
    if all(_plain(s) for s in path):
        return ".".join(path)
    inner = ".".join(s.replace("\\", "\\\\").replace(".", "\\.").replace("}", "\\}") for s in path)
    return "${" + inner + "}"


def _literal_text(value: Value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        text = repr(value)
        return (
            text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"
        )
    return str(value)


def unparse(node: Node, parent: int = 0) -> str:
    """Canonical source text of ``node`` (fully explicit where precedence needs it)."""
    if isinstance(node, Literal):
        text = _literal_text(node.value)
        if (
            isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
            and node.value < 0
        ):
            return f"({text})"
        return text
    if isinstance(node, Field):
        return field_text(node.path)
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, Method):
        target = unparse(node.target, 9)
        if isinstance(node.target, Unary | Binary | Conditional):
            target = f"({target})"
        return f"{target}.{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, ArrayLit):
        return f"[{', '.join(unparse(a) for a in node.items)}]"
    if isinstance(node, Unary):
        return f"{node.op}{unparse(node.operand, 8)}"
    if isinstance(node, Binary):
        prec = PRECEDENCE[node.op]
        text = f"{unparse(node.left, prec)} {node.op} {unparse(node.right, prec + 1)}"
        return f"({text})" if prec < parent else text
    text = f"{unparse(node.cond, 1)} ? {unparse(node.then)} : {unparse(node.otherwise)}"
    return f"({text})" if parent > 0 else text
