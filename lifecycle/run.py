"""Moving the hub's people through their lifecycle stages, and keeping ``aql`` up to date.

Runs after scoring (its thresholds read the scores): the people whose fields, touches,
account or deals changed since its cursor (change sequence), or everyone with ``full`` or a
changed file. Time-triggered rules (``idle_days``) need no change: each run keeps in
``stage_due_at`` when such a rule can next move the person (core.due_times: bookkeeping, no
change_seq) and adds the people whose time has come. Each stage change sets
``lifecycle_stage``, records when the person first entered that stage (``stage_entered_at``)
and writes a ``lifecycle_history`` row with the rule and the reason. AQL is the rule's four
parts: ``aql`` says whether all pass, ``aql_at`` since when. Only what moves is written, so a
quiet run writes nothing; every write is an ordinary hub change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from core import due_times, sequence
from core.clock import as_utc, utcnow
from core.db import session as db_session
from core.hub_cursor import read_cursor, write_cursor
from core.hubschema import HubSchema
from core.models import (
    Account,
    LifecycleHistory,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
)
from core.people_changes import changed_people
from lifecycle.engine import Facts, next_stage, qualify
from lifecycle.spec import Lifecycle

#: The run's cursor (core.hub_cursor): the change sequence seen, the file's fingerprint.
CURSOR_NAME = "lifecycle:people"
#: Where each person's next idle timer is kept (core.due_times).
DUE = "stage_due_at"
#: What a stage or AQL depends on: a change to any of these may move one.
WATCHED = (Person, Touch, Account, Opportunity, OpportunityContactRole)
PAGE_SIZE = 500


@dataclass
class LifecycleReport:
    """What one run did."""

    mode: str = "incremental"
    people: int = 0
    moved: int = 0
    aql_changed: int = 0
    #: Of ``people``, those looked at because an idle timer of theirs had run out.
    people_due: int = 0

    def as_json(self) -> dict[str, object]:
        """The report for ``--json``."""
        return asdict(self)


def fingerprint(lifecycle: Lifecycle) -> str:
    """What the file says, as a hash: a changed file re-runs everyone."""
    text = json.dumps([repr(lifecycle.stages), repr(lifecycle.transitions), repr(lifecycle.aql)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_lifecycle(
    engine: Engine, lifecycle: Lifecycle, schema: HubSchema, *, full: bool = False,
    now: datetime | None = None, page_size: int = PAGE_SIZE,
) -> LifecycleReport:
    """Move the people whose facts changed or whose idle timer ran out, and set their AQL.

    Everyone with ``full`` or a changed file.
    """
    now = as_utc(now or utcnow())
    mark = fingerprint(lifecycle)
    with db_session(engine) as db:
        cursor = read_cursor(db, CURSOR_NAME)
        if (not full and cursor.get("fingerprint") == mark
                and not sequence.changed_after(db, WATCHED, int(cursor.get("seq", 0)))
                and not due_times.any_due(db, DUE, now)):
            return LifecycleReport()  # idle: a few indexed reads, no lock and no write
    due: set[str] = set()
    with db_session(engine) as db:
        sequence.hold(db)
        cursor = read_cursor(db, CURSOR_NAME)
        full = full or cursor.get("fingerprint") != mark
        top = sequence.current_seq(db)
        if full:
            people = sorted(db.exec(select(Person.id).where(col(Person.deleted_at).is_(None))))
        else:
            due = due_times.due_people(db, DUE, now)
            people = sorted(set(_dirty(db, int(cursor.get("seq", 0)))) | due)
    report = LifecycleReport(mode="full" if full else "incremental", people_due=len(due))
    for start in range(0, len(people), page_size):
        with db_session(engine) as db:
            batch = people[start:start + page_size]
            report.people += len(batch)
            moved, aql = _run_page(db, lifecycle, schema, batch, now)
            report.moved += moved
            report.aql_changed += aql
    with db_session(engine) as db:
        write_cursor(db, CURSOR_NAME, {"seq": top, "fingerprint": mark})
    return report


def _dirty(db: Session, seq: int) -> list[str]:
    """People whose fields, touches, account or deals changed after ``seq``."""
    people = changed_people(db, seq)
    people |= set(db.exec(select(OpportunityContactRole.person_id).where(
        col(OpportunityContactRole.change_seq) > seq)))
    # A join, not a list of ids: a list may pass the driver's parameter limit.
    people |= set(db.exec(select(OpportunityContactRole.person_id).join(
        Opportunity, col(Opportunity.id) == OpportunityContactRole.opportunity_id).where(
        col(Opportunity.change_seq) > seq)))
    return sorted(people)


def idle_due_at(lifecycle: Lifecycle, facts: Facts, now: datetime) -> datetime | None:
    """When an ``idle_days`` rule can next move this person (after ``now``), or None.

    An idle timer runs from the last touch or from entering the current stage (first or last
    time), so it can only run out at one of those plus a rule's ``idle_days``; the engine
    itself says which of those moments moves the person (its other rules do not read the
    clock, and called for no move at ``now``). A rule that fires but moves no one (its stage
    is the current one) is no due time, so nobody is picked up again at every run.
    """
    days = sorted({rule.idle_days for rule in lifecycle.transitions if rule.idle_days})
    current = lifecycle.stage(facts.stage)
    starts = {facts.last_touch_at, facts.stage_since,
              facts.stage_entered_at.get(current.name) if current else None}
    moments = sorted(start + timedelta(days=n) for start in starts if start for n in days)
    return next((at for at in moments if at > now and next_stage(lifecycle, facts, at) is not None),
                None)


def _store_idle_due(
    db: Session, people: list[Person], due: dict[str, datetime | None]
) -> None:
    """Write the due times that moved, after the page's hub writes (core.due_times)."""
    moved = {p.id: due[p.id] for p in people
             if due[p.id] != (as_utc(p.stage_due_at) if p.stage_due_at else None)}
    db.flush()
    due_times.store_due(db, DUE, moved)


def _deals(db: Session, ids: Iterable[str]) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Person → (first deal created, first deal won) among the deals they are a role on."""
    found: dict[str, tuple[datetime | None, datetime | None]] = {}
    rows = db.exec(select(OpportunityContactRole.person_id, Opportunity.created_on,
                          Opportunity.created_at, Opportunity.is_won, Opportunity.close_date)
                   .join(Opportunity, col(Opportunity.id) == OpportunityContactRole.opportunity_id)
                   .where(col(OpportunityContactRole.person_id).in_(list(ids)),
                          col(OpportunityContactRole.deleted_at).is_(None),
                          col(Opportunity.deleted_at).is_(None)))
    for person_id, created_on, created_at, won, close_date in rows:
        opened = as_utc(created_on or created_at)
        won_at = opened if won else None
        if won and close_date is not None:
            won_at = max(opened, as_utc(datetime(close_date.year, close_date.month,
                                                 close_date.day)))
        first, first_won = found.get(person_id, (None, None))
        found[person_id] = (min(filter(None, (first, opened)), default=None),
                            min(filter(None, (first_won, won_at)), default=None))
    return found


def _run_page(
    db: Session, lifecycle: Lifecycle, schema: HubSchema, ids: list[str], now: datetime
) -> tuple[int, int]:
    people = list(db.exec(select(Person).where(col(Person.id).in_(ids),
                                               col(Person.deleted_at).is_(None))))
    accounts = {a.id: a for a in db.exec(select(Account).where(
        col(Account.id).in_([p.account_id for p in people if p.account_id])))}
    latest = (select(Touch.person_id, func.max(Touch.occurred_at))
              .where(col(Touch.person_id).in_(ids), col(Touch.deleted_at).is_(None))
              .group_by(Touch.person_id))
    last_touch = {person_id: at for person_id, at in db.execute(latest).all()}
    deals = _deals(db, ids)
    # The last move of each person is the one into its current stage.
    since = {person_id: at for person_id, at in db.execute(
        select(LifecycleHistory.person_id, func.max(LifecycleHistory.at))
        .where(col(LifecycleHistory.person_id).in_(ids))
        .group_by(LifecycleHistory.person_id)).all()}
    moved = aql_changed = 0
    due: dict[str, datetime | None] = {}
    for person in people:
        account = accounts.get(person.account_id or "")
        account_values = schema.values(account) if account is not None else {}
        changed = False
        # AQL first: a stage rule may read it (an automatically qualified lead is an MQL).
        if lifecycle.aql is not None:
            passed = qualify(lifecycle.aql, Facts(fields=schema.values(person),
                                                   account=account_values)).passed
            if passed != bool(person.aql):
                person.aql = passed
                person.aql_at = now if passed else None
                aql_changed += 1
                changed = True
        entered = {k: datetime.fromisoformat(v) for k, v in (person.stage_entered_at or {}).items()}
        created, won = deals.get(person.id, (None, None))
        touched = last_touch.get(person.id)
        facts = Facts(fields=schema.values(person),
                      account=account_values,
                      stage=person.lifecycle_stage, stage_entered_at=entered,
                      opportunity_created_at=created, opportunity_won_at=won,
                      last_touch_at=as_utc(touched) if touched else None,
                      stage_since=as_utc(since[person.id]) if person.id in since else None)
        # Step by step, each a history row: someone new is Known, then Engaged, then MQL in
        # one run, as a funnel report expects to count them (bounded: a rule cycle stops).
        for _ in range(len(lifecycle.stages)):
            move = next_stage(lifecycle, facts, now)
            if move is None:
                break
            person.lifecycle_stage = move.to_stage
            stages: dict[str, Any] = dict(person.stage_entered_at or {})
            stages.setdefault(move.to_stage, now.isoformat())
            person.stage_entered_at = stages
            target = lifecycle.stage(move.to_stage)
            if target is not None and not move.from_crm:
                for name, value in target.sets.items():
                    schema.set(person, name, value)
            db.add(LifecycleHistory(person_id=person.id, from_stage=move.from_stage,
                                    to_stage=move.to_stage, at=now, rule=move.rule,
                                    reason=move.reason[:2000]))
            facts = replace(facts, stage=move.to_stage, fields=schema.values(person),
                            stage_entered_at={**facts.stage_entered_at, move.to_stage: now},
                            stage_since=now)
            moved += 1
            changed = True
        if changed:
            db.add(person)
        due[person.id] = idle_due_at(lifecycle, facts, now)
    _store_idle_due(db, people, due)
    return moved, aql_changed
