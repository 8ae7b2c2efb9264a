"""Describe JSON → ObjectInfo, SOQL literals, and Salesforce values ↔ cursors and datetimes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote_plus

from connectors.base import FieldInfo, ObjectInfo
from connectors.errors import ConnectorError, ErrorKind

KEY_FIELD = "Id"
CURSOR_FIELD = "SystemModstamp"

#: Salesforce describe types → the connector interface's field types.
_TYPES: dict[str, str] = {
    "id": "id", "string": "string", "textarea": "text", "email": "email", "phone": "phone",
    "url": "url", "picklist": "picklist", "multipicklist": "multipicklist",
    "combobox": "picklist", "boolean": "boolean", "int": "integer", "long": "integer",
    "double": "number", "currency": "number", "percent": "number", "date": "date",
    "datetime": "datetime", "reference": "reference", "encryptedstring": "string",
}


#: Picklists whose values belong to each parent record, not to the field: a campaign's own
#: member statuses (CampaignMemberStatus), which the connector creates as members use them.
#: Their describe lists only the org's defaults, which say nothing about what a campaign has.
PER_RECORD_VALUES = frozenset({("CampaignMember", "Status")})


def object_info(describe: Mapping[str, Any]) -> ObjectInfo:
    """One object's describe JSON as an ObjectInfo (key ``Id``, cursor ``SystemModstamp``)."""
    fields = {f["name"]: field_info(f) for f in describe.get("fields", [])}
    for obj, name in PER_RECORD_VALUES:
        if describe.get("name") == obj and name in fields:
            fields[name] = replace(fields[name], picklist_values=())
    return ObjectInfo(
        name=describe["name"],
        key_field=KEY_FIELD,
        cursor_field=CURSOR_FIELD,
        fields=fields,
        label=describe.get("label", ""),
    )


def field_info(field: Mapping[str, Any]) -> FieldInfo:
    """One describe field entry as a FieldInfo."""
    sf_type = field.get("type", "string")
    createable = bool(field.get("createable", False))
    nillable = bool(field.get("nillable", True))
    # Booleans are never nillable in Salesforce but always default to false: not "required".
    required = createable and not nillable and not field.get("defaultedOnCreate", False) and (
        sf_type != "boolean")
    values = tuple(
        str(p["value"]) for p in field.get("picklistValues") or () if p.get("active", True)
    )
    return FieldInfo(
        name=field["name"],
        type=_TYPES.get(sf_type, "string"),
        label=field.get("label", ""),
        length=field.get("length") or None,
        required=required,
        nillable=nillable,
        createable=createable,
        updateable=bool(field.get("updateable", False)),
        picklist_values=values,
        restricted_picklist=bool(field.get("restrictedPicklist", False)),
        external_id=bool(field.get("externalId", False)),
        unique=bool(field.get("unique", False)),
        reference_to=tuple(field.get("referenceTo") or ()),
        default=next(
            (item.get("value") for item in field.get("picklistValues") or []
             if item.get("defaultValue") and item.get("active", True)),
            field.get("defaultValue"),
        ),
    )


# -- SOQL literals --------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f", '"': '\\"'}


def quote(value: Any) -> str:
    """A SOQL literal for a comparison value: strings quoted and escaped, the rest as SOQL."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return soql_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return "'" + "".join(_ESCAPES.get(c, c) for c in str(value)) + "'"


#: Salesforce refuses a request whose URI and headers exceed 16,384 bytes (414/431), and a
#: query travels in the URI. Leave room for the rest of the URI and the headers.
IN_LIST_BYTES = 12_000


def in_lists(values: Iterable[Any], *, max_items: int) -> Iterator[list[str]]:
    """Quoted SOQL literals, distinct, in lists that keep the encoded query URI under the limit."""
    chunk: list[str] = []
    size = 0
    for value in dict.fromkeys(values):
        literal = quote(value)
        cost = len(quote_plus(literal)) + len(quote_plus(", "))
        if chunk and (len(chunk) >= max_items or size + cost > IN_LIST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(literal)
        size += cost
    if chunk:
        yield chunk


def soql_datetime(moment: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC with milliseconds (``2024-05-01T10:22:31.000Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- datetimes ------------------------------------------------------------------------------


def parse_datetime(text: str) -> datetime:
    """A Salesforce datetime (``2024-05-01T10:22:31.000+0000`` or ``...Z``) as aware UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]  # +0000 → +00:00 for fromisoformat on 3.11
    return datetime.fromisoformat(value).astimezone(UTC)


def cursor_of(modstamp: str) -> str:
    """A SystemModstamp as a cursor: sortable ISO UTC text with milliseconds."""
    return soql_datetime(parse_datetime(modstamp))


def parse_cursor(cursor: str) -> datetime:
    """A stored cursor back to a datetime; anything else is CONFIG (a cursor from elsewhere)."""
    try:
        return parse_datetime(cursor)
    except ValueError:
        raise ConnectorError(
            ErrorKind.CONFIG, f"cursor {cursor!r} is not a Salesforce SystemModstamp"
        ) from None


def outbound_value(value: Any) -> Any:
    """A value as the REST API takes it: datetimes and dates as ISO text, the rest unchanged."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


#: The type names Salesforce's JSON deserializer gives in JSON_PARSER_ERROR messages.
_JSON_TYPES = {"integer": "int", "number": "double", "date": "date", "datetime": "datetime",
               "boolean": "boolean"}
_BOOLEAN_TEXT = frozenset({"true", "false"})


def unreadable_as(info: FieldInfo | None, value: Any) -> str | None:
    """The type Salesforce's JSON reader cannot read ``value`` as, for this field; None if it can.

    A text that is no number for a number field, no ISO date for a date field: the REST API
    refuses the whole request (400 JSON_PARSER_ERROR, "Cannot deserialize instance of double
    from VALUE_STRING value ...") rather than the one record, so the writer looks for them.
    """
    if info is None or not isinstance(value, str) or info.type not in _JSON_TYPES:
        return None
    text = value.strip()
    try:
        if info.type in ("integer", "number"):
            number = float(text)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(text)
        elif info.type == "date":
            date.fromisoformat(text)
        elif info.type == "datetime":
            if text[10:11] != "T":  # "2024-05-01 10:00:00" is refused: ISO 8601 needs the T
                raise ValueError(text)
            parse_datetime(text)
        elif text.lower() not in _BOOLEAN_TEXT:
            raise ValueError(text)
    except ValueError:
        return _JSON_TYPES[info.type]
    return None
