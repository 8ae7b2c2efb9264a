"""Reading the field history: one record's changes newest first, and each told as a sentence.

The engine writes the rows (``jobs.history``); ``syncline history`` and the person page's
History tab read them here, so both tell a change the same way.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from core.clock import as_utc, utc_text
from core.models import FieldHistory

#: Most rows one look shows (a record's history is bounded by the retention period anyway).
MOST_SHOWN = 500


def history_of(
    session: Session, hub_id: str, field: str | None = None, limit: int = MOST_SHOWN
) -> list[FieldHistory]:
    """A hub record's field history, newest first, optionally of one hub field only."""
    query = select(FieldHistory).where(FieldHistory.hub_id == hub_id)
    if field:
        query = query.where(FieldHistory.field == field)
    query = query.order_by(col(FieldHistory.at).desc(), col(FieldHistory.id).desc()).limit(limit)
    return list(session.exec(query))


def fields_of(session: Session, hub_id: str) -> list[str]:
    """The fields a record's history mentions, for a filter to pick from."""
    query = select(FieldHistory.field).where(FieldHistory.hub_id == hub_id).distinct()
    return sorted(session.exec(query))


def shown(value: Any) -> str:
    """A value as a person reads it: quoted text, bare numbers, and "blank" for nothing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "blank"
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False, default=str)


def change_text(row: FieldHistory) -> str:
    """What happened to the value: ``'Acme' → 'Newco Group'``, or what was kept over what."""
    if row.direction == "kept":
        return f"kept {shown(row.old)}; {row.source} said {shown(row.new)}"
    return f"{shown(row.old)} → {shown(row.new)}"


def where_text(row: FieldHistory) -> str:
    """Which way it went: from a connection into the hub, or from the hub out to one."""
    if row.direction == "to_remote":
        return f"from the hub to {row.remote_field or row.field} ({row.mapping})"
    if row.direction == "kept":
        return f"in the hub ({row.mapping})"
    field = f" {row.remote_field}" if row.remote_field else ""
    return f"from {row.source}{field} ({row.mapping})"


def line(row: FieldHistory) -> str:
    """One change on one line: when, field, old → new, from where, mapping, run, reason."""
    run = f"run {row.run_id}" if row.run_id is not None else "no run"
    return (
        f"{utc_text(row.at)}  {row.field}  {change_text(row)}  {where_text(row)}  {run}: "
        f"{row.reason}"
    )


def as_json(row: FieldHistory) -> dict[str, Any]:
    """One change as ``syncline history --json`` prints it."""
    return {
        "at": as_utc(row.at).isoformat(),
        "hub_object": row.hub_table,
        "hub_id": row.hub_id,
        "field": row.field,
        "remote_field": row.remote_field,
        "old": row.old,
        "new": row.new,
        "source": row.source,
        "direction": row.direction,
        "mapping": row.mapping,
        "run_id": row.run_id,
        "reason": row.reason,
    }
