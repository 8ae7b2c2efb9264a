"""Reading a stored request's body: a JSON object or a form, flattened to dotted field names.

A website form posts ``application/x-www-form-urlencoded`` (a repeated key, a multi-select,
becomes a list); a tool posts a JSON object, whose nested objects become dotted names
(``{"utm": {"source": "x"}}`` → ``utm.source``) so a mapping names them like any field.
Anything else is refused at the door (400), so a stored body that does not parse is an
accident (a row written by hand, a change of content type) that becomes a record's error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

FORM_TYPE = "application/x-www-form-urlencoded"


class BodyError(ValueError):
    """The body is neither a JSON object nor a form; the message is safe to show the sender."""


def media_type(content_type: str | None) -> str:
    """``application/json`` of ``application/json; charset=utf-8`` (lower case, '' if none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body's fields, flattened; BodyError saying why when it is neither JSON nor a form."""
    kind = media_type(content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("the body is not UTF-8 text") from None
    if kind == FORM_TYPE:
        return _form(text)
    try:
        data = json.loads(text)
    except ValueError:
        raise BodyError(
            "the body is neither a JSON object nor a form (send application/json, or "
            f"{FORM_TYPE} with that Content-Type)"
        ) from None
    if not isinstance(data, dict):
        raise BodyError(f"the body is JSON but not an object (a {_json_type(data)})")
    return flatten(data)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys; lists and scalars stay as they are."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _form(text: str) -> dict[str, Any]:
    try:
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text.strip()),
                          max_num_fields=1000)
    except ValueError:
        raise BodyError(f"the body is not a valid {FORM_TYPE} form") from None
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _json_type(value: Any) -> str:
    names = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
