"""Alert state in the database: what holds since when, and which channel was told what.

A condition starting turns a row active; ending turns it inactive. Each channel's entry in
``delivered`` says what it last accepted, so "what is owed" is a comparison, not a queue:
an active alert is owed a ``firing`` message where the channel has not had one; an inactive
alert is owed ``resolved`` only where the channel was told it fired. Nothing else is ever
sent, so a condition that holds for a week sends one message, and a restart sends none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from alerts.conditions import Reading
from alerts.messages import FIRING, RESOLVED
from core.db import session as db_session
from core.models import AlertState


@dataclass(frozen=True, slots=True)
class Transition:
    """A condition that started or ended at this evaluation."""

    rule: str
    subject: str
    state: str  # FIRING | RESOLVED
    text: str


def by_rule(session: Session) -> dict[str, dict[str, AlertState]]:
    """Every stored state, by rule name and subject."""
    found: dict[str, dict[str, AlertState]] = {}
    for row in session.exec(select(AlertState)):
        found.setdefault(row.rule, {})[row.subject] = row
    return found


def forget_rules(session: Session, keep: Iterable[str]) -> int:
    """Drop the state of rules no longer in the file (or disabled): their alerts are gone."""
    names = list(keep)
    result = session.exec(  # type: ignore[call-overload]
        delete(AlertState).where(col(AlertState.rule).not_in(names))
    )
    return int(result.rowcount or 0)


def record(
    session: Session,
    rule: str,
    readings: Iterable[Reading],
    previous: Mapping[str, AlertState],
    now: datetime,
) -> list[Transition]:
    """Store this evaluation's readings of ``rule``; return the conditions that started or ended.

    A subject the rule no longer looks at (its mapping was removed) ends its alert.
    """
    transitions: list[Transition] = []
    seen: set[str] = set()
    for reading in readings:
        seen.add(reading.subject)
        row = previous.get(reading.subject) or AlertState(
            rule=rule, subject=reading.subject, created_at=now
        )
        change = _update(row, reading.holds, reading.text, reading.value, now)
        row.samples = reading.samples
        session.add(row)
        if change:
            transitions.append(Transition(rule, reading.subject, change, reading.text))
    for subject, row in previous.items():
        if subject in seen:
            continue
        gone = f"{subject} is no longer watched by this rule (removed from the mapping files?)."
        change = _update(row, False, gone, None, now)
        if change:
            transitions.append(Transition(rule, subject, change, gone))
        if owes_nothing(row):
            session.delete(row)
        else:
            session.add(row)  # kept until its "resolved" reaches the channels told it fired
    return transitions


def _update(
    row: AlertState, holds: bool, text: str, value: float | None, now: datetime
) -> str | None:
    """Apply one reading to a row; the transition it makes (FIRING, RESOLVED) or None."""
    change = None
    if holds and not row.active:
        row.active, row.since, change = True, now, FIRING
    elif not holds and row.active:
        row.active, row.resolved_at, change = False, now, RESOLVED
    row.message, row.last_value, row.evaluated_at = text, value, now
    return change


def owed(row: AlertState, channel: str) -> str | None:
    """The message ``channel`` is owed for this row: FIRING, RESOLVED or None."""
    told = row.delivered.get(channel)
    if row.active:
        return FIRING if told != FIRING else None
    return RESOLVED if told == FIRING else None


def owes_nothing(row: AlertState) -> bool:
    """True when the row is inactive and no channel still waits for its "resolved"."""
    return not row.active and FIRING not in row.delivered.values()


def mark_delivered(engine: Engine, row_id: int, channel: str, state: str, now: datetime) -> None:
    """Remember that ``channel`` accepted the ``state`` message of one alert."""
    with db_session(engine) as session:
        row = session.get(AlertState, row_id)
        if row is None:  # the rule was removed meanwhile
            return
        row.delivered = {**row.delivered, channel: state}  # a new dict: JSON is not tracked
        if state == FIRING:
            row.last_fired_at = now
        session.add(row)


def active_alerts(session: Session) -> list[AlertState]:
    """The alerts that hold right now, oldest first (the overview's list)."""
    return list(
        session.exec(
            select(AlertState)
            .where(col(AlertState.active))
            .order_by(col(AlertState.since), col(AlertState.rule), col(AlertState.subject))
        )
    )
