"""Validate a YAML document against a pydantic model, with problems in plain English by key path.

One way for every settings file: mappings and connections are pydantic models with
``extra="forbid"`` (a misspelt key is an error), and :func:`problems` turns what pydantic
reports into ``(key path, message)`` pairs. The caller prefixes each with ``file:line`` from
its line table, so an admin reads ``connections.yaml:7 crm.retry.max_tries: must be at least 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from core.yamlsource import KeyPath

#: A caller's own wording for one pydantic error at one path, or None to use the default.
Override = Callable[[Mapping[str, Any], KeyPath], str | None]

_TYPE_MESSAGES = {
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}

_BOUNDS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}


def problems(
    model: type[BaseModel],
    data: Any,
    error: ValidationError,
    *,
    nouns: Mapping[str, str] | None = None,
    override: Override | None = None,
) -> list[tuple[KeyPath, str]]:
    """What ``error`` (from validating ``data`` as ``model``) says, one message per key path.

    ``nouns`` names what an enum-valued key holds ("'x' is not a <noun>"); ``override`` lets
    the caller word an error only it understands. Messages never quote a string value except
    a refused choice, so a secret in a settings file does not reach an error.
    """
    seen: set[KeyPath] = set()
    found: list[tuple[KeyPath, str]] = []
    for detail in error.errors(include_url=False):
        path = _real_path(data, detail["loc"], detail["type"])
        if "[key]" in detail["loc"]:
            path = path[:-1]  # name the map, not the key: YAML keys print badly as paths
        if path in seen:  # one message per place: union members repeat the same problem
            continue
        seen.add(path)
        custom = override(detail, path) if override else None
        found.append((path, custom or _message(model, detail, path, nouns or {})))
    return found


def model_at(root: type[BaseModel], path: Iterable[str | int]) -> type[BaseModel] | None:
    """Return the pydantic model validating ``path`` under ``root`` (None past the models)."""
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int):
            continue  # list index: same model (list[FieldMap] → FieldMap below)
        info = _field(model, part) if model is not None else None
        if info is None:
            return None
        model = _inner_model(info.annotation)
    return model


def _field(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    """The field a YAML key fills: by its alias when it has one (``schema`` is taken)."""
    return next((info for name, info in model.model_fields.items()
                 if (info.alias or name) == key), None)


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as written in the file."""
    return sorted(info.alias or name for name, info in model.model_fields.items())


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _allowed_values(root: type[BaseModel], path: KeyPath) -> list[str]:
    model = model_at(root, path[:-1])
    info = _field(model, path[-1]) if model is not None else None
    if info is None:
        return []
    annotation = info.annotation
    for candidate in (annotation, *get_args(annotation)):  # also inside ``X | None``
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return [str(member.value) for member in candidate]
        if get_origin(candidate) is Literal:
            return [str(arg) for arg in get_args(candidate)]
    return []


def _real_path(data: Any, loc: tuple[Any, ...], kind: str) -> KeyPath:
    """Keep the part of a pydantic ``loc`` that exists in the data (drops union-member tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
        else:
            if kind == "missing" and isinstance(part, str):
                path.append(part)
            break
        path.append(part)
    return tuple(path)


def _message(
    root: type[BaseModel], error: Mapping[str, Any], path: KeyPath, nouns: Mapping[str, str]
) -> str:
    kind = error["type"]
    if kind == "missing":
        return _required(root, path)
    if kind == "extra_forbidden":
        model = model_at(root, path[:-1])
        known = ", ".join(_keys(model)) if model else ""
        return f"unknown key {path[-1]!r} (known: {known})"
    if kind in ("enum", "literal_error"):
        allowed = ", ".join(_allowed_values(root, path))
        noun = nouns.get(str(path[-1]))
        what = f"a {noun}" if noun else "an allowed value"
        return f"{error['input']!r} is not {what} (allowed: {allowed})"
    if "[key]" in error["loc"]:
        key = error["input"]
        key = "null" if key is None else str(key).lower() if isinstance(key, bool) else key
        return f"key {key} must be text: quote it ('{key}': ...)"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    ctx = error.get("ctx") or {}
    if kind in _BOUNDS:
        # ``le=1`` on a float field reports 1.0; admins wrote 1.
        plain = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                 for k, v in ctx.items()}
        return _BOUNDS[kind].format(**plain)
    if kind == "string_too_short":
        length = ctx.get("min_length", 1)
        return "must not be empty" if length == 1 else f"must be at least {length} characters"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # a validator's own words, without pydantic's prefix
    message = str(error["msg"])
    return message[:1].lower() + message[1:]


def _required(root: type[BaseModel], path: KeyPath) -> str:
    """``required``, with the field's description when it says what to give."""
    model = model_at(root, path[:-1]) if path else None
    info = _field(model, path[-1]) if model and path else None
    return f"required ({info.description})" if info and info.description else "required"
