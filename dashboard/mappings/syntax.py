"""The editor's text syntax for transforms, value maps and defaults, both ways.

- transform: names separated by commas, an argument after a colon:
  ``strip, lower, truncate: 80`` ⇄ ``[strip, lower, {truncate: 80}]``.
- value map: one ``hub value = remote value`` per line (split at the first ``=``).
- values (value map targets, defaults, transform arguments): ``true``, ``false``, ``null`` and
  numbers are saved as such; anything else is text; double quotes keep a value as text
  (``"80"``, ``"true"``, ``" padded "``).

Rendering then parsing gives back the same value, so an untouched form saves nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"true": True, "false": False, "null": None}


class SyntaxTextError(ValueError):
    """Text in an editor box that does not follow its syntax; the message says how it should."""


# -- single values -------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Read one value: keywords and numbers typed, double-quoted or other text as a string."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return str(json.loads(text))
        except ValueError:
            raise SyntaxTextError(f"{text} is not a complete quoted value") from None
    if text in _KEYWORDS:
        return _KEYWORDS[text]
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    return text


def value_text(value: Any, extra_quote: str = "") -> str:
    """Write one value so that :func:`parse_value` reads it back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, default=str)
    needs_quotes = (
        value != value.strip()
        or not value
        or value.startswith('"')
        or parse_value(value) != value
        or any(c in value for c in extra_quote)
        or "\n" in value
    )
    return json.dumps(value, ensure_ascii=False) if needs_quotes else value


# -- transforms ----------------------------------------------------------------------------------


def transform_text(specs: Any) -> str:
    """``[strip, {truncate: 80}]`` → ``strip, truncate: 80``."""
    if not specs:
        return ""
    if not isinstance(specs, list):
        return value_text(specs)
    parts = []
    for spec in specs:
        if isinstance(spec, dict) and len(spec) == 1:
            ((name, arg),) = spec.items()
            parts.append(f"{name}: {value_text(arg, extra_quote=',')}")
        else:
            parts.append(str(spec))
    return ", ".join(parts)


def parse_transform(text: str) -> list[str | dict[str, Any]]:
    """``strip, truncate: 80`` → ``[strip, {truncate: 80}]``; names are checked by the loader."""
    specs: list[str | dict[str, Any]] = []
    for n, item in enumerate(_split_commas(text), start=1):
        name, colon, arg = item.partition(":")
        name = name.strip()
        if not _NAME.fullmatch(name):
            raise SyntaxTextError(
                f"transform {n} ({item.strip() or 'empty'}) should be a name, or name: argument "
                "(e.g. strip, truncate: 80)"
            )
        if colon:
            if not arg.strip():
                raise SyntaxTextError(f"transform {name} has a colon but no argument after it")
            specs.append({name: parse_value(arg)})
        else:
            specs.append(name)
    return specs


def _split_commas(text: str) -> list[str]:
    """Split at commas outside double quotes; blank text is no transforms."""
    if not text.strip():
        return []
    items, current, quoted, escaped = [], "", False, False
    for char in text:
        if char == "," and not quoted:
            items.append(current)
            current = ""
            continue
        current += char
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
    if quoted:
        raise SyntaxTextError("a double quote is not closed")
    items.append(current)
    return items


# -- value maps ----------------------------------------------------------------------------------


def value_map_text(value_map: Any) -> str:
    """``{Web: Web, Event: Trade Show}`` → one ``Web = Web`` line per entry."""
    if not value_map:
        return ""
    if not isinstance(value_map, dict):
        return value_text(value_map)
    lines = []
    for key, value in value_map.items():
        key_text = key if isinstance(key, str) else value_text(key)
        if key_text != key_text.strip() or "=" in key_text or key_text.startswith('"'):
            key_text = json.dumps(key_text, ensure_ascii=False)
        lines.append(f"{key_text} = {_map_value_text(value)}")
    return "\n".join(lines)


def parse_value_map(text: str, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read ``hub value = remote value`` lines into a map.

    ``keep`` (the file's map) keeps the original typed value of every line whose text did not
    change, so an untouched ``yes = true`` stays exactly what the file said.
    """
    keep = keep if isinstance(keep, dict) else {}
    unchanged = {line: key for key, line in
                 ((k, value_map_text({k: v})) for k, v in keep.items())}
    out: dict[str, Any] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line in unchanged:
            key = unchanged[line]
            value = keep[key]
        else:
            key, value = _entry(n, line)
        if key in out:
            raise SyntaxTextError(f"line {n}: {key!r} is listed twice")
        out[key] = value
    return out


def _entry(n: int, line: str) -> tuple[str, Any]:
    if line.startswith('"'):
        try:
            key, end = json.JSONDecoder().raw_decode(line)
        except ValueError:
            raise SyntaxTextError(f"line {n}: the quoted hub value is not closed") from None
        rest = line[end:].lstrip()
        if not rest.startswith("="):
            raise SyntaxTextError(f"line {n}: expected = after the quoted hub value")
        value_part = rest[1:]
        key = str(key)
    else:
        key, eq, value_part = line.partition("=")
        key = key.strip()
        if not eq:
            raise SyntaxTextError(
                f"line {n} ({line}) has no '=': write hub value = remote value"
            )
    if not key:
        raise SyntaxTextError(f"line {n}: nothing before the '='")
    if not value_part.strip():
        raise SyntaxTextError(f"line {n}: nothing after the '=' for {key!r}")
    return key, _parse_map_value(value_part)


def _map_value_text(value: Any) -> str:
    """A value_map value: one value, or a list of them as ``[Won, Lost]``."""
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item, extra_quote=",[]") for item in value) + "]"
    return value_text(value, extra_quote="[")


def _parse_map_value(text: str) -> Any:
    """Read what :func:`_map_value_text` writes: ``[Won, Lost]`` is a list of two values."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return [parse_value(item) for item in _split_commas(text[1:-1])]
    return parse_value(text)


# -- defaults ------------------------------------------------------------------------------------


def default_text(value: Any) -> str:
    """A row's ``default:`` as the editor shows it (blank: no default)."""
    return "" if value is None else value_text(value)
