"""The parsed form of a SOQL query: plain frozen dataclasses the evaluator compiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandboxes.salesforce.errors import SoqlError


@dataclass(frozen=True)
class Position:
    """Where a token starts in the query text (1-based, like Salesforce's `Row:Column`)."""

    line: int
    column: int


@dataclass(frozen=True)
class FieldRef:
    """A field path as written: `Email`, `Owner.Email`, `ConvertedContact.Account.Name`."""

    path: tuple[str, ...]
    position: Position

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class FieldsFunction:
    """`FIELDS(ALL)`, `FIELDS(STANDARD)` or `FIELDS(CUSTOM)` in the select list."""

    kind: str  # upper-cased: ALL, STANDARD or CUSTOM
    position: Position


@dataclass(frozen=True)
class Literal:
    """A value in a filter.

    `kind` is one of string, number, boolean, null, date, datetime or date_literal. `value` is
    the decoded Python value (str, int/float, bool, None, the literal's text for date/datetime,
    `(NAME, n)` for date literals such as `LAST_N_DAYS:7`). `raw` keeps the source text, which
    LIKE needs to tell an escaped percent sign from a wildcard.
    """

    kind: str
    value: Any
    raw: str
    position: Position


@dataclass(frozen=True)
class Comparison:
    """`field <operator> value`; operator is one of = != < <= > >= LIKE IN NOT_IN."""

    field: FieldRef
    operator: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class Logical:
    """AND / OR over two or more conditions."""

    operator: str  # AND or OR
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    """`NOT condition`."""

    operand: Condition


Condition = Comparison | Logical | Negation


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; `nulls_last` is already resolved from the Salesforce default."""

    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SOQL query; `text` is kept so later errors can point at the offending token."""

    text: str
    sobject: str
    sobject_position: Position
    fields: tuple[FieldRef | FieldsFunction, ...]
    count_only: bool = False
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None

    def error_at(self, code: str, position: Position, message: str) -> SoqlError:
        """A SoqlError in Salesforce's caret format, pointing at `position`."""
        return located_error(code, self.text, position, message)


def located_error(code: str, text: str, position: Position, message: str) -> SoqlError:
    """Salesforce's query error layout: the offending line, a caret, `ERROR at Row:R:Column:C`."""
    lines = text.splitlines() or [""]
    line_text = lines[position.line - 1] if position.line <= len(lines) else ""
    caret = " " * (position.column - 1) + "^"
    return SoqlError(
        code,
        f"\n{line_text}\n{caret}\nERROR at Row:{position.line}:Column:{position.column}\n{message}",
    )
