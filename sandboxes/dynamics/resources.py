"""Reading OData resource paths and headers: path segments, keys, Prefer, and row rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import request

from sandboxes.dynamics.errors import PROPERTY_NOT_FOUND, QUERY_ERROR, DataverseError
from sandboxes.dynamics.metadata import EntityMeta

GUID = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w.$]*)(?:\((?P<key>.*)\))?$", re.DOTALL)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
ACTION_PREFIX = "Microsoft.Dynamics.CRM."


@dataclass(frozen=True)
class Segment:
    """One path segment: ``leads``, ``leads(<guid>)``, ``leads(emailaddress1='a@b.com')``."""

    name: str
    key: str | None


def split_segments(path: str) -> list[Segment]:
    """The segments of a resource path, splitting on ``/`` outside quotes and parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "/" and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    segments = []
    for part in parts:
        if not part:
            continue
        match = _SEGMENT.match(part)
        if match is None:
            raise DataverseError(
                "0x8006088a", f"Resource not found for the segment '{part}'.", 404
            )
        segments.append(Segment(match["name"], match["key"]))
    return segments


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def key_literal(text: str) -> Any:
    """An OData literal in a key: ``'text'`` (``''`` escapes a quote), number, GUID, bool."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    guid = GUID.match(text)
    if guid:
        return guid[1].lower()
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    raise DataverseError(QUERY_ERROR, f"Bad key literal: {text}")


def parse_key(entity: EntityMeta, key_text: str) -> dict[str, Any]:
    """``<guid>`` → ``{primary_id: guid}``; ``a='x',b=2`` → ``{"a": "x", "b": 2}``."""
    guid = GUID.match(key_text.strip())
    if guid:
        return {entity.primary_id: guid[1].lower()}
    key: dict[str, Any] = {}
    for part in _split_outside_quotes(key_text, ","):
        name, equals, literal = part.partition("=")
        if not equals or not name.strip():
            raise DataverseError(QUERY_ERROR, f"Bad key segment: ({key_text})")
        key[name.strip()] = key_literal(literal)
    if list(key) == [entity.primary_id] and isinstance(key[entity.primary_id], str):
        key[entity.primary_id] = key[entity.primary_id].lower()
    return key


def preferences() -> dict[str, str | None]:
    """The ``Prefer`` header as ``{"odata.maxpagesize": "500", "odata.track-changes": None}``."""
    prefs: dict[str, str | None] = {}
    for header in request.headers.getlist("Prefer"):
        for item in _split_outside_quotes(header, ","):
            name, equals, value = item.strip().partition("=")
            if name:
                prefs[name.strip().lower()] = value.strip().strip('"') if equals else None
    return prefs


def wants_representation() -> bool:
    return preferences().get("return") == "representation"


def include_annotations() -> bool:
    return "odata.include-annotations" in preferences()


def parse_select(entity: EntityMeta, text: str | None) -> list[str] | None:
    """``$select`` → JSON property names (``_x_value`` for lookups); unknown → 400."""
    if text is None or not text.strip():
        return None
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        attribute = entity.attribute(name)
        if attribute is None:
            raise DataverseError(
                PROPERTY_NOT_FOUND,
                f"Could not find a property named '{name}' on type '{entity.type_name}'.",
            )
        if attribute.value_name not in names:
            names.append(attribute.value_name)
    return names


def etag(row: dict) -> str:
    return f'W/"{row["versionnumber"]}"'


def render_row(
    entity: EntityMeta, row: dict, select: list[str] | None, *, annotations: bool = False
) -> dict:
    """A row as the Web API returns it: ``@odata.etag``, the selected columns, the key."""
    out: dict[str, Any] = {"@odata.etag": etag(row)}
    names = select if select is not None else [name for name in row if "@" not in name]
    for name in names:
        out[name] = row.get(name)
        if annotations:
            for annotation in ("Microsoft.Dynamics.CRM.lookuplogicalname",
                               "OData.Community.Display.V1.FormattedValue"):
                annotated = f"{name}@{annotation}"
                if annotated in row:
                    out[annotated] = row[annotated]
            attribute = entity.attribute(name)
            if attribute is not None and attribute.options and row.get(name) is not None:
                label = attribute.option_label(row[name])
                if label is not None:
                    out[f"{name}@OData.Community.Display.V1.FormattedValue"] = label
    out[entity.primary_id] = row[entity.primary_id]
    return out


def context_suffix(entity: EntityMeta, select: list[str] | None) -> str:
    """``leads(firstname,lastname)`` or ``leads``: the part after ``$metadata#``."""
    if select:
        return f"{entity.entity_set}({','.join(select)})"
    return entity.entity_set
