"""Scoring the hub's people and accounts: what changed, whose decay is due, or everyone.

A person is scored again when their fields, their touches or their account changed since the
run's cursor (change sequence), when their ``score_due_at`` has come, or everyone when the
scoring file changed or ``full`` is asked. An account is scored again when it or one of its
people's touches changed. A score is written only where it moves, so a quiet run writes
nothing, and every write is an ordinary hub change (the mappings send it on). Runs commit a
page at a time with the cursor: a run stopped half-way redoes at most one page. Writing scores
gives those people a new change sequence, which the next run reads as news and finds unchanged:
nothing is written twice.

Decay is time, not change: each person scored keeps in ``score_due_at`` the moment decay alone
next moves one of their rounded scores (``next_decay_at``), or the time of a touch dated in the
future if sooner. That column is bookkeeping, written without a change_seq (core.due_times), so
an idle cycle stays a few indexed reads, and a daily decay pass rescans only the people whose
time came.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from core import due_times, sequence
from core.clock import as_utc, utcnow
from core.db import session as db_session
from core.hub_cursor import read_cursor, write_cursor
from core.hubschema import HubSchema
from core.models import Account, Campaign, Person, Touch
from core.people_changes import changed_people
from scoring.engine import (
    PersonScores,
    TouchFacts,
    next_decay_of,
    score_account,
    score_person,
)
from scoring.spec import Scoring

#: The run's cursor (core.hub_cursor): the change sequence it has seen, the file's fingerprint.
CURSOR_NAME = "scoring:people"
#: Where each person's next decay step is kept (core.due_times).
DUE = "score_due_at"
#: What a score depends on: a change to any of these may move one.
WATCHED = (Person, Touch, Account)
PAGE_SIZE = 500
#: What scoring reads of a touch (TouchFacts.of).
_TOUCH_FACTS = (Touch.id, Touch.person_id, Touch.occurred_at, Touch.touch_type, Touch.channel,
                Touch.campaign_id, Touch.source, Touch.medium, Touch.utm_campaign,
                Touch.utm_content, Touch.utm_term, Touch.landing_page, Touch.origin, Touch.detail)


@dataclass
class ScoreReport:
    """What one run did."""

    mode: str = "incremental"
    people: int = 0
    people_changed: int = 0
    #: Of ``people``, those scored because their decay time had come (incremental runs).
    people_due: int = 0
    accounts: int = 0
    accounts_changed: int = 0

    def as_json(self) -> dict[str, object]:
        """The report for ``--json``."""
        return asdict(self)


def run_scoring(
    engine: Engine, rules: Scoring, schema: HubSchema, *, full: bool = False,
    now: datetime | None = None, page_size: int = PAGE_SIZE,
) -> ScoreReport:
    """Score what changed since the last run or is due (everyone with ``full`` or a new file)."""
    now = as_utc(now or utcnow())
    with db_session(engine) as db:
        cursor = read_cursor(db, CURSOR_NAME)
        if (not full and cursor.get("fingerprint") == rules.fingerprint
                and not sequence.changed_after(db, WATCHED, int(cursor.get("seq", 0)))
                and not due_times.any_due(db, DUE, now)):
            return ScoreReport()  # idle: a few indexed reads, no lock and no write
    due: set[str] = set()
    with db_session(engine) as db:
        sequence.hold(db)
        cursor = read_cursor(db, CURSOR_NAME)
        full = full or cursor.get("fingerprint") != rules.fingerprint
        top = sequence.current_seq(db)
        if full:
            people = list(db.exec(select(Person.id).where(col(Person.deleted_at).is_(None))))
            accounts = list(db.exec(select(Account.id).where(col(Account.deleted_at).is_(None))))
        else:
            people, accounts = _dirty(db, int(cursor.get("seq", 0)))
            due = due_times.due_people(db, DUE, now)
            people = sorted(set(people) | due)
    report = ScoreReport(mode="full" if full else "incremental", people_due=len(due))
    for start in range(0, len(accounts), page_size):
        with db_session(engine) as db:
            report.accounts += len(accounts[start:start + page_size])
            report.accounts_changed += _score_accounts(
                db, rules, schema, accounts[start:start + page_size], now)
    # People after accounts: a person's fit rules may read their account's score.
    for start in range(0, len(people), page_size):
        with db_session(engine) as db:
            report.people += len(people[start:start + page_size])
            report.people_changed += _score_people(
                db, rules, schema, people[start:start + page_size], now)
    with db_session(engine) as db:
        write_cursor(db, CURSOR_NAME, {"seq": top, "fingerprint": rules.fingerprint})
    return report


def _dirty(db: Session, seq: int) -> tuple[list[str], list[str]]:
    """People to score again, and accounts whose people touched something or that changed.

    The people are core.people_changes': their row, a touch or their account changed after
    ``seq``.
    """
    own = col(Person.scored_seq)
    people = changed_people(db, seq, own_writes=own)
    accounts = set(db.exec(select(Account.id).where(col(Account.change_seq) > seq)))
    # A person whose row changed may have joined an account, or left (or been deleted from)
    # the one they were counted in: both accounts' breadth rules count again. Our own score
    # writes moved neither.
    for now_in, counted_in in db.exec(
            select(Person.account_id, Person.scored_account_id)
            .where(col(Person.change_seq) > seq,
                   or_(own.is_(None), own != Person.change_seq))):
        accounts |= {a for a in (now_in, counted_in) if a}
    # A join, not a list of ids: a list may pass the driver's parameter limit.
    accounts |= {a for a in db.exec(select(Person.account_id).join(
        Touch, col(Touch.person_id) == Person.id).where(col(Touch.change_seq) > seq)) if a}
    return sorted(people), sorted(accounts)


def facts_of(db: Session, person_ids: Iterable[str]) -> dict[str, list[TouchFacts]]:
    """Each person's live touches as scoring reads them (with their campaign's name)."""
    ids = list(person_ids)
    found: dict[str, list[TouchFacts]] = {pid: [] for pid in ids}
    rows = db.execute(select(*_TOUCH_FACTS).where(
        col(Touch.person_id).in_(ids), col(Touch.deleted_at).is_(None)))
    for person_id, touches in _facts(db, list(rows)).items():
        found[person_id] = touches
    return found


def _facts(db: Session, rows: list[Any]) -> dict[str, list[TouchFacts]]:
    """Touch rows (plain rows of the columns TouchFacts.of reads) by person, with campaign names.

    Plain rows, not ORM objects: a page's few thousand touches cost more to build as objects
    than to score.
    """
    campaign_ids = list({t.campaign_id for t in rows if t.campaign_id})
    named = select(Campaign.id, Campaign.name).where(col(Campaign.id).in_(campaign_ids))
    names = {cid: name for cid, name in db.exec(named).all()} if campaign_ids else {}
    found: dict[str, list[TouchFacts]] = {}
    for touch in rows:  # a Row has the attributes TouchFacts.of reads
        found.setdefault(touch.person_id, []).append(
            TouchFacts.of(touch, names.get(touch.campaign_id or "")))  # type: ignore[arg-type]
    return found


def person_scores(
    db: Session, rules: Scoring, schema: HubSchema, person: Person, now: datetime,
    touches: Sequence[TouchFacts] | None = None,
) -> PersonScores:
    """One person's scores and their breakdown, as a run computes them."""
    account = db.get(Account, person.account_id) if person.account_id else None
    if touches is None:
        touches = facts_of(db, [person.id])[person.id]
    return score_person(rules, schema.values(person),
                        schema.values(account) if account is not None else None, touches, now)


def due_at(
    rules: Scoring, scores: PersonScores, touches: Sequence[TouchFacts], now: datetime
) -> datetime | None:
    """When this person, just scored, must be scored again though nothing changes, or None.

    Decay's next step, or a touch dated after ``now`` (it counts from its time on), whichever
    comes first.
    """
    found = [at for at in (as_utc(t.occurred_at) for t in touches if t.occurred_at is not None)
             if at > now]
    decays = next_decay_of(rules, scores, touches, now)
    return min([*found, *([decays] if decays is not None else [])], default=None)


def _score_people(
    db: Session, rules: Scoring, schema: HubSchema, ids: list[str], now: datetime
) -> int:
    people = [p for p in db.exec(select(Person).where(col(Person.id).in_(ids)))
              if p.deleted_at is None]
    # One read for the page's accounts and one for its touches: no query per person.
    account_ids = list({p.account_id for p in people if p.account_id})
    accounts = ({a.id: schema.values(a) for a in db.exec(
        select(Account).where(col(Account.id).in_(account_ids)))} if account_ids else {})
    touches = facts_of(db, ids)
    changed = 0
    written: list[Person] = []
    moved_due: dict[str, datetime | None] = {}
    for person in people:
        facts = touches.get(person.id, [])
        scores = score_person(rules, schema.values(person),
                              accounts.get(person.account_id or ""), facts, now)
        moved = False
        for name, value in scores.values.items():
            moved |= schema.set(person, name, value)
        if moved:
            db.add(person)
            written.append(person)
            changed += 1
        due = due_at(rules, scores, facts, now)
        before = as_utc(person.score_due_at) if person.score_due_at is not None else None
        if due != before:
            moved_due[person.id] = due
    db.flush()  # the scores first (change counter, then rows), then the due times
    due_times.store_due(db, DUE, moved_due)
    due_times.store_bookkeeping(db, "scored_seq", {p.id: p.change_seq for p in written})
    moved_accounts = {p.id: p.account_id for p in people if p.account_id != p.scored_account_id}
    due_times.store_bookkeeping(db, "scored_account_id", moved_accounts)
    return changed


def _score_accounts(
    db: Session, rules: Scoring, schema: HubSchema, ids: list[str], now: datetime
) -> int:
    if not rules.account:
        return 0
    accounts = list(db.exec(select(Account).where(col(Account.id).in_(ids))))
    members: dict[str, list[str]] = {}
    live = (col(Person.account_id).in_(ids), col(Person.deleted_at).is_(None))
    for person_id, account_id in db.exec(select(Person.id, Person.account_id).where(*live)):
        members.setdefault(account_id or "", []).append(person_id)
    # Only breadth rules read touches, and only those of their window: the rest of a big
    # account's history is not read at all (a join, not a list of the members' ids).
    windows = [r.touched_within_days for r in rules.account
               if r.min_people is not None and r.touched_within_days is not None]
    touches: dict[str, list[TouchFacts]] = {}
    if windows:
        since = now - timedelta(days=max(windows))
        touches = _facts(db, list(db.execute(
            select(*_TOUCH_FACTS).join(Person, col(Person.id) == Touch.person_id)
            .where(*live, col(Touch.deleted_at).is_(None),
                   col(Touch.occurred_at).between(since, now)))))
    changed = 0
    for account in accounts:
        if account.deleted_at is not None:
            continue
        people = {pid: touches.get(pid, []) for pid in members.get(account.id, [])}
        scored = score_account(rules, schema.values(account), people, now)
        moved = False
        for name, value in scored.values.items():
            moved |= schema.set(account, name, value)
        if moved:
            db.add(account)
            changed += 1
    return changed
