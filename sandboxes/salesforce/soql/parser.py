"""SOQL text → `Query` through the lark grammar in grammar.lark; errors worded like Salesforce."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from sandboxes.salesforce.errors import SoqlError
from sandboxes.salesforce.soql.query import (
    Comparison,
    FieldRef,
    FieldsFunction,
    Literal,
    Logical,
    Negation,
    OrderItem,
    Position,
    Query,
    located_error,
)

MAX_OFFSET = 2000
FIELDS_KINDS = ("ALL", "STANDARD", "CUSTOM")

# Backslash escapes SOQL accepts in string literals. `\%` and `\_` only mean something to LIKE;
# elsewhere they stand for the plain character.
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t",
    "b": "\b", "B": "\b", "f": "\f", "F": "\f",
    '"': '"', "'": "'", "\\": "\\", "%": "%", "_": "_",
}  # fmt: skip


@cache
def _lark() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


def parse(text: str) -> Query:
    """Parse SOQL text into a `Query`; SoqlError (MALFORMED_QUERY, ...) when it is not valid."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "SOQL statements cannot be empty or null")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        return _QueryBuilder(text).transform(tree)
    except VisitError as error:
        # The transformer raises SoqlError for semantic slips (bad escape, COUNT() mixed with
        # fields); lark wraps those, the caller wants the original.
        if isinstance(error.orig_exc, SoqlError):
            raise error.orig_exc from None
        raise


def decode_string(raw: str, position: Position, text: str) -> str:
    """The value of a quoted SOQL string literal (quotes included in `raw`)."""
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escaped = body[index + 1]
        if escaped == "u" and len(body) >= index + 6:
            try:
                out.append(chr(int(body[index + 2 : index + 6], 16)))
            except ValueError:
                raise _bad_escape(text, position, raw, body[index : index + 6]) from None
            index += 6
            continue
        if escaped not in _ESCAPES:
            raise _bad_escape(text, position, raw, body[index : index + 2])
        out.append(_ESCAPES[escaped])
        index += 2
    return "".join(out)


def _bad_escape(text: str, position: Position, raw: str, sequence: str) -> SoqlError:
    return located_error(
        "MALFORMED_QUERY",
        text,
        position,
        f"Invalid string literal {raw}. Illegal character sequence '{sequence}' in string literal.",
    )


def _position(token: Token) -> Position:
    return Position(token.line or 1, token.column or 1)


def _end_position(text: str) -> Position:
    lines = text.split("\n")
    return Position(len(lines), len(lines[-1]) + 1)


def _syntax_error(text: str, error: UnexpectedInput) -> SoqlError:
    """MALFORMED_QUERY naming the token the parser could not place, as Salesforce does."""
    token = getattr(error, "token", None)
    if isinstance(error, UnexpectedEOF) or (token is not None and token.type == "$END"):
        return located_error(
            "MALFORMED_QUERY", text, _end_position(text), "unexpected token: '<EOF>'"
        )
    if isinstance(error, UnexpectedCharacters):
        position = Position(error.line, error.column)
        word = text[error.pos_in_stream :].split(None, 1)[0] if text[error.pos_in_stream :] else ""
        return located_error("MALFORMED_QUERY", text, position, f"unexpected token: '{word}'")
    position = _position(token) if token is not None else _end_position(text)
    return located_error("MALFORMED_QUERY", text, position, f"unexpected token: '{token}'")


@dataclass(frozen=True)
class _CountCall:
    """`COUNT()` in the select list (only meaningful alone)."""

    position: Position


class _QueryBuilder(Transformer):
    """Turns the parse tree into the frozen dataclasses of query.py."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def _malformed(self, position: Position, message: str) -> SoqlError:
        return located_error("MALFORMED_QUERY", self._text, position, message)

    def start(self, children: list) -> Query:
        select, sobject, *clauses = children
        parts: dict = {}
        for name, value in clauses:
            parts[name] = value
        counts = [item for item in select if isinstance(item, _CountCall)]
        if counts and len(select) > 1:
            raise self._malformed(
                counts[0].position, "COUNT() cannot be combined with other fields"
            )
        fields = tuple(item for item in select if not isinstance(item, _CountCall))
        offset = parts.get("offset")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        return Query(
            text=self._text,
            sobject=str(sobject),
            sobject_position=_position(sobject),
            fields=fields,
            count_only=bool(counts),
            where=parts.get("where"),
            order_by=parts.get("order_by", ()),
            limit=parts.get("limit"),
            offset=offset,
        )

    def select_list(self, items: list) -> list:
        return items

    def field_path(self, parts: list[Token]) -> FieldRef:
        return FieldRef(tuple(str(part) for part in parts), _position(parts[0]))

    def function_call(self, children: list[Token]) -> FieldsFunction | _CountCall:
        name, *argument = children
        function = str(name).upper()
        if function == "COUNT" and not argument:
            return _CountCall(_position(name))
        if function == "FIELDS" and argument and str(argument[0]).upper() in FIELDS_KINDS:
            return FieldsFunction(str(argument[0]).upper(), _position(name))
        if function == "COUNT":
            # COUNT(field) makes an AggregateResult query; the sandbox serves record queries.
            raise self._malformed(
                _position(name), "aggregate functions other than COUNT() are not supported"
            )
        raise self._malformed(_position(name), f"unexpected token: '{name}'")

    def where(self, children: list) -> tuple[str, object]:
        return ("where", children[0])

    def or_condition(self, operands: list) -> Logical:
        return Logical("OR", tuple(operands))

    def and_condition(self, operands: list) -> Logical:
        return Logical("AND", tuple(operands))

    def negation(self, children: list) -> Negation:
        return Negation(children[0])

    def compare(self, children: list) -> Comparison:
        field, operator, value = children
        operator = "!=" if str(operator) == "<>" else str(operator)
        return Comparison(field, operator, value)

    def like(self, children: list) -> Comparison:
        return Comparison(children[0], "LIKE", children[1])

    def in_list(self, children: list) -> Comparison:
        return Comparison(children[0], "IN", children[1])

    def not_in_list(self, children: list) -> Comparison:
        return Comparison(children[0], "NOT_IN", children[1])

    def value_list(self, values: list[Literal]) -> tuple[Literal, ...]:
        return tuple(values)

    @v_args(inline=True)
    def value(self, token: Token) -> Literal:
        position = _position(token)
        raw = str(token)
        if token.type == "STRING":
            return Literal("string", decode_string(raw, position, self._text), raw, position)
        if token.type == "NUMBER":
            is_integer = raw.lstrip("+-").isdigit()
            return Literal("number", int(raw) if is_integer else float(raw), raw, position)
        if token.type == "DATE":
            return Literal("date", raw, raw, position)
        if token.type == "DATETIME":
            return Literal("datetime", raw, raw, position)
        return self._word(raw, position)

    def _word(self, raw: str, position: Position) -> Literal:
        word = raw.upper()
        if word == "NULL":
            return Literal("null", None, raw, position)
        if word in ("TRUE", "FALSE"):
            return Literal("boolean", word == "TRUE", raw, position)
        name, _, amount = word.partition(":")
        # Which date literals exist (and what they mean) is decided by the evaluator's
        # vocabulary; here they are only split into name and n.
        return Literal("date_literal", (name, int(amount) if amount else None), raw, position)

    def order_by(self, items: list[OrderItem]) -> tuple[str, tuple[OrderItem, ...]]:
        return ("order_by", tuple(items))

    def order_item(self, children: list) -> OrderItem:
        field, *modifiers = children
        descending = False
        nulls_last: bool | None = None
        for token in modifiers:
            if token.type == "DIRECTION":
                descending = str(token).upper() == "DESC"
            else:
                nulls_last = str(token).upper() == "LAST"
        # Salesforce's default: nulls first when ascending, last when descending.
        return OrderItem(field, descending, descending if nulls_last is None else nulls_last)

    def limit(self, children: list[Token]) -> tuple[str, int]:
        return ("limit", int(children[0]))

    def offset(self, children: list[Token]) -> tuple[str, int]:
        return ("offset", int(children[0]))
