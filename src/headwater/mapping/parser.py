"""A parser for Data Prep's expression language, built on a Lark LALR grammar.

The language is the one Adobe documents for calculated fields (``help/data-prep/functions.md``
and ``troubleshooting-guide.md`` in Adobe's Experience Platform docs):

* field names are identifiers (letters, digits, ``$``, ``_``), reached into with dots
  (``name.firstName``); other names are wrapped as ``${First Name}``, with ``\\.`` for a dot
  inside a name; the reserved words (``new, mod, or, ... _errors``) must be wrapped too;
* function calls ``concat(a, " ", b)`` and method calls ``marketing_type.equals("email")``;
* string literals in double or single quotes, numbers, ``true``, ``false``, ``null``, arrays
  ``[1, 2]``;
* the operators ``+ - * / %``, ``== != < > <= >=``, ``&& || !``, unary ``-`` and ``~``, their word
  forms (``and or not eq ne lt gt le ge div mod``), and ``cond ? a : b``.

:func:`parse` returns a :mod:`headwater.mapping.ast` tree or raises
:class:`~headwater.mapping.errors.ExpressionError` with the position of the problem; it never
raises anything else.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from headwater.mapping.ast import (
    ArrayLit,
    Binary,
    Call,
    Conditional,
    Field,
    Literal,
    Method,
    Node,
    Unary,
)
from headwater.mapping.errors import ExpressionError

MAX_LENGTH = 4096  # Adobe: "Calculated fields have a maximum length of 4096 characters."

GRAMMAR = r"""
?start: expr

?expr: or_test
     | or_test "?" expr ":" expr          -> conditional

?or_test: and_test
        | or_test OR and_test             -> binary
?and_test: equality
         | and_test AND equality          -> binary
?equality: comparison
         | equality EQOP comparison       -> binary
?comparison: additive
           | comparison RELOP additive    -> binary
?additive: multiplicative
         | additive ADDOP multiplicative  -> binary
?multiplicative: unary
               | multiplicative MULOP unary -> binary
?unary: postfix
      | UNOP unary                        -> unary
      | ADDOP unary                       -> unary
?postfix: atom
        | postfix "." IDENT "(" [args] ")" -> method

?atom: literal
     | IDENT "(" [args] ")"               -> call
     | IDENT                              -> field
     | ESCAPED                            -> escaped_field
     | "[" [args] "]"                     -> array
     | "(" expr ")"

args: expr ("," expr)*

literal: DQSTRING                          -> dq_string
       | SQSTRING                          -> sq_string
       | FLOAT                             -> float_
       | INT                               -> int_
       | TRUE                              -> true
       | FALSE                             -> false
       | NULL                              -> null

OR.2: "||" | /or\b/
AND.2: "&&" | /and\b/
EQOP.2: "==" | "!=" | /eq\b/ | /ne\b/
RELOP.2: "<=" | ">=" | "<" | ">" | /le\b/ | /ge\b/ | /lt\b/ | /gt\b/
ADDOP: "+" | "-"
MULOP.2: "*" | "/" | "%" | /div\b/ | /mod\b/
UNOP.2: "!" | "~" | /not\b/
TRUE.2: /true\b/
FALSE.2: /false\b/
NULL.2: /null\b/

IDENT: /[A-Za-z_$][A-Za-z0-9_$]*(\\\.[A-Za-z0-9_$]+)*(\.[A-Za-z_$][A-Za-z0-9_$]*(\\\.[A-Za-z0-9_$]+)*)*/
ESCAPED.3: /\$\{([^}\\]|\\.)*\}/
DQSTRING: /"([^"\\\n]|\\.)*"/
SQSTRING: /'([^'\\\n]|\\.)*'/
FLOAT.2: /\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+/
INT: /\d+/

%import common.WS
%ignore WS
"""

_OPS = {
    "or": "||",
    "and": "&&",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "not": "!",
}
_RESERVED_WORDS = frozenset(_OPS) | {"true", "false", "null"}


def _split_path(text: str) -> tuple[str, ...]:
    """Split ``a.b\\.c`` into ``("a", "b.c")``: a backslash escapes the next character."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return tuple(parts)


def _unescape_single(body: str) -> str:
    out: list[str] = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@v_args(inline=True)
class _ToAst(Transformer[Token, Node]):
    def dq_string(self, tok: Token) -> Literal:
        text = str(tok)
        try:
            return Literal(json.loads(text))
        except ValueError:
            return Literal(_unescape_single(text[1:-1]))

    def sq_string(self, tok: Token) -> Literal:
        return Literal(_unescape_single(str(tok)[1:-1]))

    def float_(self, tok: Token) -> Literal:
        return Literal(float(tok))

    def int_(self, tok: Token) -> Literal:
        return Literal(int(tok))

    def true(self, _tok: Token) -> Literal:
        return Literal(True)

    def false(self, _tok: Token) -> Literal:
        return Literal(False)

    def null(self, _tok: Token) -> Literal:
        return Literal(None)

    def args(self, *items: Node) -> tuple[Node, ...]:
        return tuple(items)

    def field(self, tok: Token) -> Field:
        path = _split_path(str(tok))
        if path[0] in _RESERVED_WORDS:
            raise ExpressionError(
                f"'{path[0]}' is a reserved word; write it as ${{{path[0]}}}", tok.start_pos or 0
            )
        return Field(path)

    def escaped_field(self, tok: Token) -> Field:
        return Field(_split_path(str(tok)[2:-1]))

    def call(self, name: Token, args: tuple[Node, ...] | None) -> Node:
        path = _split_path(str(name))
        if len(path) == 1:
            return Call(path[0], args or ())
        return Method(Field(path[:-1]), path[-1], args or ())

    def method(self, target: Node, name: Token, args: tuple[Node, ...] | None) -> Method:
        if "." in str(name):
            raise ExpressionError(f"'{name}' is not a method name", name.start_pos or 0)
        return Method(target, str(name), args or ())

    def array(self, args: tuple[Node, ...] | None) -> ArrayLit:
        return ArrayLit(args or ())

    def unary(self, op: Token, operand: Node) -> Node:
        sym = _OPS.get(str(op), str(op))
        if sym == "+":
            return operand
        if (
            sym == "-"
            and isinstance(operand, Literal)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
            and operand.value >= 0
        ):
            return Literal(-operand.value)
        return Unary(sym, operand)

    def binary(self, left: Node, op: Token, right: Node) -> Binary:
        return Binary(_OPS.get(str(op), str(op)), left, right)

    def conditional(self, cond: Node, then: Node, otherwise: Node) -> Conditional:
        return Conditional(cond, then, otherwise)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse one expression; raises :class:`ExpressionError` (with a position) on any problem."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be a string", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"an expression is limited to {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("the expression is empty", 0)
    try:
        tree: Any = _parser().parse(text)
        node: Node = _ToAst().transform(tree)
    except ExpressionError:
        raise
    except UnexpectedCharacters as exc:
        at: int = getattr(exc, "pos_in_stream", 0) or 0
        raise ExpressionError(f"unexpected character {text[at]!r} at position {at}", at) from None
    except UnexpectedEOF:
        raise ExpressionError("the expression ends too early", len(text)) from None
    except UnexpectedInput as exc:
        pos = getattr(exc, "pos_in_stream", None) or 0
        token = getattr(exc, "token", None)
        if token is None or getattr(token, "type", "") == "$END" or not str(token):
            raise ExpressionError("the expression ends too early", len(text)) from None
        raise ExpressionError(f"unexpected {str(token)!r} at position {pos}", pos) from None
    except LarkError as exc:
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, ExpressionError):
            raise inner from None
        raise ExpressionError(f"invalid expression: {exc}", 0) from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply", 0) from None
    return node
