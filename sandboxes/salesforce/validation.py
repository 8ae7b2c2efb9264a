"""Record validation: type coercion of API JSON values, field checks, declarative rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.ids import KEY_PREFIXES, is_valid, to18
from sandboxes.salesforce.standard_objects import FieldMeta

# One error: (statusCode, message, fields).
Problem = tuple[str, str, list[str]]
# by_id(record_id) -> (sobject, row) | None, to check references.
Resolver = Callable[[str], "tuple[str, dict] | None"]

_TEXT_TYPES = frozenset(
    {"string", "email", "phone", "url", "picklist", "multipicklist", "textarea"}
)
_NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
# Salesforce's check is permissive about the local part, strict about the shape.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


class FieldTypeError(ValueError):
    """A value that cannot be read as its field's type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def format_datetime(moment: datetime) -> str:
    """The API's datetime text: UTC, milliseconds, `+0000`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """An aware datetime from ISO 8601 text (`Z`, `+hh:mm`, `+hhmm` or no offset = UTC)."""
    match = _DATETIME.match(text.strip())
    if match is None:
        raise ValueError(text)
    day, hour, minute, second, fraction, offset = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if offset in (None, "Z") else offset
    if len(zone) == 5:
        zone = zone[:3] + ":" + zone[3:]
    return datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}.{fraction}{zone}")


def coerce(meta: FieldMeta, value: Any) -> Any:
    """`value` as the API JSON value stored for `meta`'s type; FieldTypeError if it is not one."""
    if isinstance(value, dict | list) and not (
        meta.type == "multipicklist" and isinstance(value, list)
    ):
        raise FieldTypeError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {meta.type} from {type(value).__name__.upper()} "
            f"value for field {meta.name}",
        )
    if value is None or value == "":
        return False if meta.type == "boolean" else None
    kind = meta.type
    if kind in _TEXT_TYPES:
        if kind == "multipicklist" and isinstance(value, list):
            return ";".join(str(item) for item in value) or None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind in ("id", "reference"):
        if not is_valid(value):
            raise FieldTypeError(
                "MALFORMED_ID", f"{meta.label}: id value of incorrect type: {value}"
            )
        return to18(value)
    if kind == "boolean":
        return _boolean(meta, value)
    if kind in _NUMBER_TYPES:
        return _number(meta, value)
    if kind == "date":
        return _date(meta, value)
    if kind == "datetime":
        return _datetime(meta, value)
    return value


def _wrong_type(meta: FieldMeta, value: Any) -> FieldTypeError:
    return FieldTypeError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{meta.label}: value not of required type: {value}"
    )


def _boolean(meta: FieldMeta, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _wrong_type(meta, value)


def _number(meta: FieldMeta, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _wrong_type(meta, value)
    try:
        number = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise _wrong_type(meta, value) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _wrong_type(meta, value)
    if meta.type == "int":
        if isinstance(number, float) and not number.is_integer():
            raise _wrong_type(meta, value)
        number = int(number)
        if len(str(abs(number))) > (meta.digits or 9):
            raise _out_of_range(meta, value)
        return number
    # The platform rounds to the field's scale and refuses more integer digits than fit.
    number = round(float(number), meta.scale)
    if meta.precision and abs(number) >= 10 ** (meta.precision - meta.scale):
        raise _out_of_range(meta, value)
    return number


def _out_of_range(meta: FieldMeta, value: Any) -> FieldTypeError:
    return FieldTypeError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{meta.label}: value outside of valid range on numeric field: {value}",
    )


def _date(meta: FieldMeta, value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise _wrong_type(meta, value) from None


def _datetime(meta: FieldMeta, value: Any) -> str:
    if isinstance(value, datetime):
        return format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    try:
        return format_datetime(parse_datetime(str(value)))
    except ValueError:
        raise _wrong_type(meta, value) from None


def check_fields(
    object_meta: Any,
    incoming: Mapping[str, Any],
    before: dict,
    *,
    creating: bool,
    resolve: Resolver,
    system: bool = False,
) -> tuple[dict, list[Problem]]:
    """Incoming values (canonical names, coerced) and every field-level problem, in check order.

    `before` is the stored row (for a create: the blank row with defaults); required fields
    are checked on `before` merged with the incoming values. `system` writes (conversion,
    merge) may set fields the API cannot.
    """
    unknown: list[Problem] = []
    read_only: list[str] = []
    wrong_type: list[Problem] = []
    values: dict[str, Any] = {}
    for name, raw in incoming.items():
        meta = object_meta.field(name)
        if meta is None:
            unknown.append(
                ("INVALID_FIELD", f"No such column '{name}' on sobject of type "
                 f"{object_meta.name}", [])
            )  # fmt: skip
            continue
        writable = meta.createable if creating else meta.updateable
        if not writable and not system:
            read_only.append(meta.name)
            continue
        try:
            values[meta.name] = coerce(meta, raw)
        except FieldTypeError as problem:
            wrong_type.append((problem.code, problem.message, [meta.name]))
    problems = unknown
    if read_only:
        problems.append(
            (
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                read_only,
            )
        )
    problems.extend(wrong_type)
    merged = {**before, **values}
    names = (
        object_meta.required_fields
        if creating
        else [n for n in values if n in object_meta.never_null_fields]
    )
    missing = [name for name in names if merged.get(name) is None]
    if missing:
        problems.append(
            ("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
             missing)
        )  # fmt: skip
    problems.extend(_value_problems(object_meta, values, resolve))
    return values, problems


def _value_problems(object_meta: Any, values: dict, resolve: Resolver) -> list[Problem]:
    too_long: list[Problem] = []
    picklist: list[Problem] = []
    email: list[Problem] = []
    reference: list[Problem] = []
    for name, value in values.items():
        if value is None:
            continue
        meta = object_meta.fields[name]
        if meta.type in _TEXT_TYPES and meta.length and len(value) > meta.length:
            too_long.append(
                ("STRING_TOO_LONG",
                 f"{meta.label}: data value too large: {value} (max length={meta.length})",
                 [name])
            )  # fmt: skip
        elif meta.restricted_picklist and not _in_picklist(meta, value):
            picklist.append(
                ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                 f"{meta.label}: bad value for restricted picklist field: {value}", [name])
            )  # fmt: skip
        elif meta.type == "email" and not _EMAIL.match(value):
            email.append(
                ("INVALID_EMAIL_ADDRESS", f"{meta.label}: invalid email address: {value}", [name])
            )
        elif meta.type == "reference":
            problem = _reference_problem(meta, value, resolve)
            if problem is not None:
                reference.append(problem)
    return too_long + picklist + email + reference


def _in_picklist(meta: FieldMeta, value: str) -> bool:
    allowed = {item.value for item in meta.picklist_values if item.active}
    if meta.type == "multipicklist":
        return all(part in allowed for part in value.split(";"))
    return value in allowed


def _reference_problem(meta: FieldMeta, value: str, resolve: Resolver) -> Problem | None:
    prefixes = {KEY_PREFIXES[target] for target in meta.reference_to if target in KEY_PREFIXES}
    if value[:3] not in prefixes:
        return ("MALFORMED_ID", f"{meta.label}: id value of incorrect type: {value}", [meta.name])
    found = resolve(value)
    if found is None:
        return ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [meta.name])
    if found[1].get("IsDeleted"):
        return ("ENTITY_IS_DELETED", "entity is deleted", [meta.name])
    return None


def raise_problems(problems: list[Problem]) -> None:
    """Raise every problem of one record together (no-op when there are none)."""
    if not problems:
        return
    code, message, fields = problems[0]
    error = SalesforceError(code, message, fields)
    for code, message, fields in problems[1:]:
        error.add(code, message, fields)
    raise error


# ---------------------------------------------------------------------- validation rules


def condition_holds(condition: Mapping[str, Any], row: Mapping[str, Any], object_meta: Any) -> bool:
    """Whether a declarative condition (all/any/not groups of field tests) holds for `row`."""
    if "all" in condition:
        return all(condition_holds(item, row, object_meta) for item in condition["all"])
    if "any" in condition:
        return any(condition_holds(item, row, object_meta) for item in condition["any"])
    if "not" in condition:
        return not condition_holds(condition["not"], row, object_meta)
    meta = object_meta.field(condition["field"])
    actual = row.get(meta.name)
    op = condition["op"]
    expected = condition.get("value")
    if op == "blank":
        return _blank(actual)
    if op == "not_blank":
        return not _blank(actual)
    if op == "equals":
        return _same(actual, expected)
    if op == "not_equals":
        return not _same(actual, expected)
    if op == "in":
        return any(_same(actual, item) for item in expected)
    if op == "not_in":
        return not any(_same(actual, item) for item in expected)
    text = "" if actual is None else str(actual)
    if op == "starts_with":
        return text.startswith(str(expected))
    if op == "not_starts_with":
        return not text.startswith(str(expected))
    if op == "longer_than":
        return len(text) > int(expected)
    raise ValueError(f"unknown op {op}")  # config.py rejects these at load time


def _blank(value: Any) -> bool:
    # ISBLANK: null and empty text are blank; a false checkbox and 0 are not.
    return value is None or value == ""


def _same(actual: Any, expected: Any) -> bool:
    if actual is None:
        return expected is None or expected == ""
    if isinstance(actual, bool):
        return actual == (
            str(expected).lower() in _TRUE if not isinstance(expected, bool) else expected
        )
    if isinstance(actual, int | float):
        try:
            return float(actual) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(actual) == str(expected)


def rule_problems(rules: list, row: Mapping[str, Any], object_meta: Any) -> list[Problem]:
    """FIELD_CUSTOM_VALIDATION_EXCEPTION for every active rule whose condition holds."""
    return [
        (
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            rule.error_message,
            [object_meta.field(rule.error_field).name] if rule.error_field else [],
        )
        for rule in rules
        if rule.active and condition_holds(rule.when, row, object_meta)
    ]
