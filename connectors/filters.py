"""Filters a connector can send with a read: the neutral form of a pushed-down ``pull_rule``.

mappings.pushdown builds them from a rule; each connector renders them in its query language
(SOQL ``WHERE``) or evaluates them (:func:`matches`, for in-memory remotes). Their meaning is
fixed here, the same for every remote: text compares ignoring case, as SOQL and OData do, and
no comparison holds for a null field except ``= None`` (SQL's reading; a filter that wants
nulls says ``OR field = None``, so it means the same whatever the remote makes of null).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Value = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``; ``value`` None only with ``=``/``!=`` (is null / is not null).

    Never holds for a null field except ``= None``; text compares ignoring case.
    """

    field: str
    op: str  # = != < <= > >=
    value: Value


@dataclass(frozen=True, slots=True)
class In:
    """``field IN (values)`` or, ``negated``, ``NOT IN``; never holds for a null field."""

    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class All:
    """Every part holds."""

    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Filter, ...]


Filter = Compare | In | All | AnyOf


def matches(where: Filter, record: Mapping[str, Any]) -> bool:
    """Does ``record`` pass ``where``, read as a remote reads it (for in-memory remotes)."""
    if isinstance(where, All):
        return all(matches(part, record) for part in where.parts)
    if isinstance(where, AnyOf):
        return any(matches(part, record) for part in where.parts)
    value = record.get(where.field)
    if isinstance(where, In):
        if value is None:
            return False
        found = any(_equal(value, v) for v in where.values if v is not None)
        return found != where.negated
    if where.value is None:
        return (value is None) == (where.op == "=")
    if value is None:
        return False
    if where.op == "=":
        return _equal(value, where.value)
    if where.op == "!=":
        return not _equal(value, where.value)
    try:
        left, right = float(value), float(where.value)
    except (TypeError, ValueError):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
        where.op
    ]


def any_of(*parts: Filter) -> Filter:
    """``parts`` joined by OR (one part: itself; an OR among them is merged in)."""
    flat = tuple(p for part in parts for p in (part.parts if isinstance(part, AnyOf) else (part,)))
    return flat[0] if len(flat) == 1 else AnyOf(flat)


def all_of(*parts: Filter) -> Filter:
    """``parts`` joined by AND (one part: itself; an AND among them is merged in)."""
    flat = tuple(p for part in parts for p in (part.parts if isinstance(part, All) else (part,)))
    return flat[0] if len(flat) == 1 else All(flat)


def _equal(stored: Any, wanted: Value) -> bool:
    if isinstance(wanted, str) and isinstance(stored, str):
        return stored.casefold() == wanted.casefold()
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return stored is wanted
    return bool(stored == wanted)


def filter_fields(where: Filter) -> set[str]:
    """The field names ``where`` reads."""
    if isinstance(where, All | AnyOf):
        return {name for part in where.parts for name in filter_fields(part)}
    return {where.field}


def filter_text(where: Filter) -> str:
    """``where`` written out for people (a dry run, the memory connector): SOQL-like."""
    if isinstance(where, All | AnyOf):
        joiner = " AND " if isinstance(where, All) else " OR "
        return joiner.join(
            f"({filter_text(p)})" if isinstance(p, All | AnyOf) else filter_text(p)
            for p in where.parts
        )
    if isinstance(where, In):
        keyword = "NOT IN" if where.negated else "IN"
        return f"{where.field} {keyword} ({', '.join(_literal(v) for v in where.values)})"
    return f"{where.field} {where.op} {_literal(where.value)}"


def _literal(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
