"""Values a field's type cannot hold, refused where Salesforce's readers refuse them.

The REST API reads a JSON body into typed sObjects before anything is saved: a text that is
no number in a number field (no date in a date field, no boolean in a checkbox) fails the
whole request with 400 ``JSON_PARSER_ERROR`` ("Cannot deserialize instance of double from
VALUE_STRING value abc or request may be missing a required field at [line:1, column:38]"),
naming the value and its place but no field, as the REST API returns it and restforce's
issue tracker quotes it. Bulk API 2.0 reads CSV cells per row: such a row alone fails with
``INVALID_FIELD:Failed to deserialize field at col 4. Due to, 'abc' is not a valid value for
the type xsd:double:NumberOfEmployees --`` in failedResults, as Data Loader users quote it.
Numbers out of range and texts too long are no reading errors: the record's own checks
report those per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sandboxes.salesforce.errors import SalesforceError
from sandboxes.salesforce.standard_objects import FieldMeta
from sandboxes.salesforce.validation import FieldTypeError, coerce

#: Field types whose JSON and CSV values are read as something other than text.
_READ_AS = {
    "int": ("int", "xsd:int"), "double": ("double", "xsd:double"),
    "currency": ("double", "xsd:double"), "percent": ("double", "xsd:double"),
    "date": ("date", "xsd:date"), "datetime": ("datetime", "xsd:dateTime"),
    "boolean": ("boolean", "xsd:boolean"),
}


def unreadable(meta: FieldMeta | None, value: Any) -> bool:
    """Whether a text value cannot be read as ``meta``'s type at all."""
    if meta is None or meta.type not in _READ_AS or not isinstance(value, str) or value == "":
        return False
    try:
        coerce(meta, value)
    except FieldTypeError as problem:
        return problem.code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    return False


def check_json_records(object_meta: Any, records: Iterable[Mapping[str, Any]], raw: str) -> None:
    """Refuse the whole request at the first value (in body order) its field cannot hold.

    ``object_meta(record)`` gives a record's ObjectMeta (None when its type is unknown: that
    record fails on its own later); ``raw`` is the body as sent, for the line and column.
    """
    seen: dict[tuple[str, str], int] = {}
    for record in records:
        meta = object_meta(record)
        for name, value in record.items():
            if isinstance(value, str):
                key = (name, value)
                seen[key] = seen.get(key, 0) + 1
            field = meta.field(name) if meta is not None else None
            if unreadable(field, value):
                assert field is not None
                line, column = _place(raw, name, value, seen[(name, value)])
                raise SalesforceError(
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {_READ_AS[field.type][0]} from VALUE_STRING "
                    f"value {value} or request may be missing a required field at "
                    f"[line:{line}, column:{column}]",
                )


def csv_problem(meta: FieldMeta | None, raw: str, column: int) -> SalesforceError | None:
    """The Bulk error for CSV cell ``raw`` of 1-based column ``column``; None if readable."""
    if meta is None or not unreadable(meta, raw):
        return None
    return SalesforceError(
        "INVALID_FIELD",
        f"Failed to deserialize field at col {column}. Due to, '{raw}' is not a valid value "
        f"for the type {_READ_AS[meta.type][1]}",
        [meta.name],
    )


def _place(raw: str, name: str, value: str, occurrence: int) -> tuple[int, int]:
    """Line and column just past the ``occurrence``-th ``"name": "value"`` of the body."""
    pattern = re.compile(re.escape(json.dumps(name)) + r"\s*:\s*")
    decoder = json.JSONDecoder()
    found = 0
    for match in pattern.finditer(raw):
        try:
            decoded, end = decoder.raw_decode(raw, match.end())
        except ValueError:
            continue
        if decoded == value:
            found += 1
            if found == occurrence:
                line = raw.count("\n", 0, end) + 1
                return line, end - (raw.rfind("\n", 0, end) + 1) + 1
    return 1, 1
