"""`$filter` text → a syntax tree of `Node`s through grammar.lark, with OData-worded errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from sandboxes.dynamics.errors import QUERY_ERROR, DataverseError
from sandboxes.dynamics.validation import format_datetime


@dataclass(frozen=True)
class Literal:
    """A constant; `kind` is string, guid, datetime, number, boolean or null."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Property:
    """A column reference by its Web API property name (`firstname`, `_parentcustomerid_value`)."""

    name: str


@dataclass(frozen=True)
class Comparison:
    """`left op right` with op one of eq ne gt ge lt le."""

    op: str
    left: Property | Literal
    right: Property | Literal


@dataclass(frozen=True)
class StringFunction:
    """`contains(prop,'x')`, `startswith(...)`, `endswith(...)`."""

    name: str
    property: Property
    argument: Literal


@dataclass(frozen=True)
class QueryFunction:
    """`Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=[...])` and relatives."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Logical:
    """`and` / `or` over two operands."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Negation:
    """`not operand`."""

    operand: Node


Node = Comparison | StringFunction | QueryFunction | Logical | Negation | Literal


@cache
def _lark() -> Lark:
    grammar = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def query_error(message: str) -> DataverseError:
    """A 400 for a malformed or unsupported query option."""
    return DataverseError(QUERY_ERROR, message)


def parse_tree(text: str) -> Node:
    """The syntax tree of `$filter` text; DataverseError (400) when it is not valid OData."""
    if not text or not text.strip():
        raise query_error("Expression expected at position 0 in ''.")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        return _TreeBuilder().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, DataverseError):
            raise error.orig_exc from None
        raise


def _syntax_error(text: str, error: UnexpectedInput) -> DataverseError:
    # Microsoft.OData words these "Syntax error at position 7 in 'name eq'." (0-based) and
    # "Expression expected at position N in '...'." when the text stops early.
    if isinstance(error, UnexpectedEOF):
        return query_error(f"Expression expected at position {len(text)} in '{text}'.")
    position = getattr(error, "pos_in_stream", None)
    if position is None:
        position = len(text)
    if isinstance(error, UnexpectedCharacters):
        return query_error(f"Syntax error at position {position} in '{text}'.")
    token = getattr(error, "token", None)
    if isinstance(token, Token) and token.type == "$END":
        return query_error(f"Expression expected at position {len(text)} in '{text}'.")
    return query_error(f"Syntax error at position {position} in '{text}'.")


def _literal(token: Token) -> Literal:
    raw = str(token)
    kind = token.type
    if kind == "STRING":
        return Literal("string", raw[1:-1].replace("''", "'"))
    if kind == "GUID":
        return Literal("guid", raw.lower())
    if kind in ("DATETIME", "DATE"):
        return Literal("datetime", canonical_datetime(raw))
    if kind == "NUMBER":
        body = raw.rstrip("mMlLdDfF")
        if "." in body or "e" in body.lower():
            return Literal("number", Decimal(body))
        return Literal("number", int(body))
    if kind == "BOOLEAN":
        return Literal("boolean", raw == "true")
    return Literal("null", None)


def canonical_datetime(raw: str) -> str:
    """A datetime literal in the stored form (`2024-05-01T10:22:31Z`): text order = time order."""
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment)


@v_args(inline=True)
class _TreeBuilder(Transformer):
    def or_(self, left: Node, right: Node) -> Node:
        return Logical("or", left, right)

    def and_(self, left: Node, right: Node) -> Node:
        return Logical("and", left, right)

    def not_(self, operand: Node) -> Node:
        return Negation(operand)

    def bare_boolean(self, token: Token) -> Node:
        return Literal("boolean", str(token) == "true")

    def property(self, token: Token) -> Property:
        return Property(str(token))

    def literal(self, token: Token) -> Literal:
        return _literal(token)

    def comparison(self, left: Any, op: Token, right: Any) -> Comparison:
        return Comparison(str(op), left, right)

    def string_function(self, name: Token, prop: Property, argument: Literal) -> StringFunction:
        return StringFunction(str(name), prop, argument)

    def literal_list(self, *items: Literal | None) -> list[Literal]:
        return [item for item in items if item is not None]

    def argument(self, name: Token, value: Any) -> tuple[str, Any]:
        return str(name), value

    def query_function(self, name: Token, *arguments: tuple[str, Any] | None) -> QueryFunction:
        short = str(name).rsplit(".", 1)[1]
        return QueryFunction(short, dict(argument for argument in arguments if argument))
