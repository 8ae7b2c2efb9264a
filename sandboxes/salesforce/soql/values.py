"""How SOQL compares values of each field type: comparison keys, literal checks, date literals."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandboxes.salesforce.errors import SoqlError
from sandboxes.salesforce.soql.query import Literal, Query

# Describe `type` → the family that decides comparison rules.
_FAMILIES = {
    "id": "id",
    "reference": "id",
    "boolean": "boolean",
    "int": "number",
    "long": "number",
    "double": "number",
    "currency": "number",
    "percent": "number",
    "date": "date",
    "datetime": "datetime",
}
# The type names Salesforce's filter errors use ("must be of type dateTime ...").
_ERROR_TYPE_NAMES = {
    "boolean": "boolean",
    "int": "integer",
    "long": "long",
    "date": "date",
    "datetime": "dateTime",
}
_ID_PATTERN = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_CANONICAL_UTC_LENGTH = len("2024-05-01T10:22:31.000+0000")


def family_of(field_type: str) -> str:
    """The comparison family of a describe field type (text for strings, picklists, emails...)."""
    return _FAMILIES.get(field_type, "text")


def canonical_instant(text: str) -> str:
    """A datetime string as `YYYY-MM-DDTHH:MM:SS.mmm+0000` in UTC.

    In that form plain string comparison is instant comparison, so stored values (already in
    it) are compared without parsing; only other offsets and literals pay for a parse.
    """
    if len(text) == _CANONICAL_UTC_LENGTH and text.endswith("+0000"):
        return text
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _casefolded(value: Any) -> str:
    return str(value).casefold()


def _identity(value: Any) -> Any:
    return value


def _instant_key(value: Any) -> str:
    # canonical_instant's fast path inlined: this runs once per row when filtering or sorting.
    if type(value) is str and len(value) == _CANONICAL_UTC_LENGTH and value.endswith("+0000"):
        return value
    return canonical_instant(str(value))


def comparison_key(family: str) -> Callable[[Any], Any]:
    """Maps a non-null stored value to what comparisons and ORDER BY use for `family`.

    Text compares case-insensitively like Salesforce; ids exactly (they are case-sensitive).
    """
    if family == "text":
        return _casefolded
    if family == "datetime":
        return _instant_key
    return _identity


@dataclass(frozen=True)
class Range:
    """A half-open interval [low, high) of comparison keys: what TODAY or LAST_N_DAYS:n mean."""

    low: Any
    high: Any


def literal_key(
    query: Query, field_name: str, field_type: str, literal: Literal, now: datetime
) -> Any:
    """The comparison key of a literal for this field, or a Range; SoqlError when it doesn't fit.

    A null literal returns None.
    """
    family = family_of(field_type)
    kind = literal.kind
    if kind == "null":
        return None
    if kind == "date_literal":
        return _date_literal_range(query, field_name, field_type, literal, now)
    if family in ("text", "id"):
        if kind != "string":
            raise _type_error(query, literal, field_name, "string", quoted=True)
        if family == "id":
            if literal.value and not _ID_PATTERN.fullmatch(literal.value):
                raise query.error_at(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    literal.position,
                    f"invalid ID field: {literal.value}",
                )
            return literal.value
        return literal.value.casefold()
    expected = _ERROR_TYPE_NAMES.get(field_type, "double")
    if family == "boolean":
        if kind != "boolean":
            raise _type_error(query, literal, field_name, expected, quoted=False)
        return literal.value
    if family == "number":
        if kind != "number":
            raise _type_error(query, literal, field_name, expected, quoted=False)
        return literal.value
    if family == "date":
        if kind != "date":
            raise _type_error(query, literal, field_name, expected, quoted=False)
        return _valid_date(query, literal).isoformat()
    # datetime
    if kind != "datetime":
        raise _type_error(query, literal, field_name, expected, quoted=False)
    try:
        # The grammar accepts `t`/`z` in any case; fromisoformat wants them upper-case.
        return canonical_instant(literal.value.upper())
    except ValueError:
        raise query.error_at(
            "MALFORMED_QUERY", literal.position, f"Invalid datetime: {literal.raw}"
        ) from None


def _valid_date(query: Query, literal: Literal) -> date:
    try:
        return date.fromisoformat(literal.value)
    except ValueError:
        raise query.error_at(
            "MALFORMED_QUERY", literal.position, f"Invalid date: {literal.raw}"
        ) from None


def _type_error(
    query: Query, literal: Literal, field_name: str, expected: str, *, quoted: bool
) -> SoqlError:
    advice = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return query.error_at(
        "INVALID_FIELD",
        literal.position,
        f"value of filter criterion for field '{field_name}' must be of type {expected} "
        f"and {advice}",
    )


def _day_bounds(first: date, last_exclusive: date, family: str) -> Range:
    if family == "date":
        return Range(first.isoformat(), last_exclusive.isoformat())
    return Range(
        f"{first.isoformat()}T00:00:00.000+0000", f"{last_exclusive.isoformat()}T00:00:00.000+0000"
    )


def _date_literal_range(
    query: Query, field_name: str, field_type: str, literal: Literal, now: datetime
) -> Range:
    """TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n as day ranges (org time = UTC)."""
    family = family_of(field_type)
    name, amount = literal.value
    known = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}
    if name not in known:
        raise query.error_at(
            "MALFORMED_QUERY", literal.position, f"unexpected token: '{literal.raw}'"
        )
    if family not in ("date", "datetime"):
        raise _type_error(
            query, literal, field_name, _ERROR_TYPE_NAMES.get(field_type, "string"), quoted=True
        )
    takes_amount = name.endswith("_N_DAYS")
    if takes_amount != (amount is not None) or (amount is not None and amount < 0):
        raise query.error_at(
            "MALFORMED_QUERY", literal.position, f"unexpected token: '{literal.raw}'"
        )
    today = now.astimezone(UTC).date()
    day = timedelta(days=1)
    if name == "TODAY":
        return _day_bounds(today, today + day, family)
    if name == "YESTERDAY":
        return _day_bounds(today - day, today, family)
    if name == "TOMORROW":
        return _day_bounds(today + day, today + 2 * day, family)
    if name == "LAST_N_DAYS":
        # Salesforce counts today plus the n days before it.
        return _day_bounds(today - amount * day, today + day, family)
    return _day_bounds(today + day, today + (amount + 1) * day, family)
