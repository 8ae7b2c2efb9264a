"""The backfill's two passes over every linked record, for the backfilled fields only.

Pull (where a backfilled row takes remote values): the remote object is read again from the
start, and each linked record's backfilled fields are merged three ways against the link's
snapshot, exactly as a normal pull merges them; the rest of the record is left alone. Push
(where a backfilled row sends hub values): every linked hub record is planned against its
snapshot for those fields alone, in pages of :data:`PAGE` records, so a big backfill travels
through the remote's bulk path (a Salesforce Bulk API 2.0 job per page, Dataverse ``$batch``).

Neither pass moves a cursor, creates or links a record: what it cannot do is left to the
normal phases (a failed record is retried by the push like any other).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.base import Change, Op, OutboundRecord
from core.clock import as_utc
from core.models import HUB_MODELS, HubRecord, Link
from jobs.backfill.scope import Backfill
from jobs.cycle import Brake, Cycle, count_links
from jobs.links import LinkIndex
from jobs.plan import actions as act
from jobs.plan.pull import PullPlanner
from jobs.pull import PullPhase
from jobs.push import PushPhase

#: Linked records per backfill push page: one remote write, so one Bulk job in Salesforce.
PAGE = 10_000


class BackfillPull(PullPhase):
    """Reads the remote object again and merges the backfilled fields of its linked records."""

    #: A backfilled record synced a few fields, not all of it: its other errors stand.
    settles_records = False

    def __init__(self, cycle: Cycle, backfill: Backfill) -> None:
        super().__init__(cycle)
        self.backfill = backfill
        self.planner = PullPlanner(self.planner.rules, only=frozenset(backfill.fields))
        #: Hub ids whose remote values the hub's win over: the backfill push sends them.
        self.corrections: set[str] = set()

    def run(self) -> None:
        """Every page of the remote object, linked live records only; no cursor moves."""
        cycle, mapping = self.cycle, self.mapping
        self.brake = Brake(mapping, count_links(cycle.engine, mapping),
                           allow=cycle.allow_mass_change)
        fields = mapping.remote_read_fields()
        for page in cycle.connector.read_changes(mapping.remote_object, None, fields=fields):
            cycle.report.read += len(page.changes)
            # Deletes and moves are the normal pull's business; it has seen them already.
            changes = [c for c in page.changes if c.op is Op.UPSERT and c.successor is None
                       and _changed_since(c, self.backfill.since)]
            if changes:
                with cycle.transaction() as session:
                    linked = LinkIndex(session, mapping).by_remote(c.key for c in changes)
                    mine = [c for c in changes if c.key in linked]
                    if mine:
                        self.apply(session, mine)
            self.handled += len(page.changes)
            cycle.tick("backfill to_hub", self.handled)
            if cycle.stop_requested():
                return

    def _correct_remote(self, session: Session, hub: HubRecord) -> None:
        # Not touched: a touch would send it through the normal push, a page of 500 at a time,
        # and make every other mapping look at it; the backfill push sends it in bulk.
        self.corrections.add(hub.id)


class BackfillPush(PushPhase):
    """Sends the backfilled fields of every linked hub record whose value differs."""

    settles_records = False
    label = "backfill to_remote"

    def __init__(self, cycle: Cycle, backfill: Backfill, corrections: set[str]) -> None:
        super().__init__(cycle)
        self.backfill = backfill
        self.corrections = corrections
        self.planner.rows = [r for r in self.planner.rows if r.remote in backfill.fields]
        # Where no backfilled row takes remote values, the hub's value is sent whatever the
        # remote holds: checking versions first would cost a query per few hundred records,
        # and a write whose outcome a crash hid needs no intent to be told from an edit (the
        # next pull finds the remote holding the hub's value, which settles it either way).
        self.pulls = any(r.pulls(self.mapping.direction) for r in self.planner.rows)

    def run(self) -> None:
        """Linked hub records a page at a time (by link id), then the pull's corrections."""
        cycle, mapping = self.cycle, self.mapping
        self.brake = Brake(mapping, count_links(cycle.engine, mapping),
                           allow=cycle.allow_mass_change)
        after = 0
        done: set[str] = set()
        while not cycle.stop_requested():
            with cycle.transaction() as session:
                rows = session.exec(
                    self._linked(self.backfill.since).where(col(Link.id) > after)
                    .order_by(col(Link.id)).limit(PAGE)
                ).all()
            if not rows:
                break
            after = rows[-1][0]
            hubs = [hub for _, hub in rows]
            if self.corrections:
                done.update(h.id for h in hubs)
            self._push(hubs, cursor=None)
        left = sorted(self.corrections - done)
        for start in range(0, len(left), PAGE):
            if cycle.stop_requested():
                return
            with cycle.transaction() as session:
                hubs = list(session.exec(
                    self._linked(None).where(col(Link.hub_id).in_(left[start:start + PAGE]))
                ).all())
            if hubs:
                self._push([hub for _, hub in hubs], cursor=None)

    def _linked(self, since: datetime | None):  # type: ignore[no-untyped-def]
        """(link id, hub record) of the mapping's links to live hub records."""
        model = HUB_MODELS[self.mapping.hub_object]
        query = (
            select(Link.id, model)
            .join(model, col(model.id) == col(Link.hub_id))
            .where(
                Link.hub_object == self.mapping.hub_object,
                Link.connection == self.mapping.connection,
                Link.remote_object == self.mapping.remote_object,
                col(model.deleted_at).is_(None),
            )
        )
        if since is not None:
            query = query.where(col(model.updated_at) >= since)
        return query

    def _declare_intent(self, actions: list[act.Action]) -> None:
        if self.pulls:
            super()._declare_intent(actions)

    def _outbound(self, action: act.Action) -> OutboundRecord:
        record = super()._outbound(action)
        if self.pulls:
            return record
        return replace(record, if_match=None, expected=None)


def linked_count(session: Session, backfill: Backfill) -> int:
    """How many linked live records the backfill goes through (a dry run's figure)."""
    mapping = backfill.mapping
    model = HUB_MODELS[mapping.hub_object]
    query = (
        select(func.count())
        .select_from(Link)
        .join(model, col(model.id) == col(Link.hub_id))
        .where(
            Link.hub_object == mapping.hub_object,
            Link.connection == mapping.connection,
            Link.remote_object == mapping.remote_object,
            col(model.deleted_at).is_(None),
        )
    )
    if backfill.since is not None:
        query = query.where(col(model.updated_at) >= backfill.since)
    return int(session.exec(query).one())


def estimate(session: Session, cycle: Cycle, backfill: Backfill) -> str:
    """The dry run's line: records × fields ≈ API calls (Bulk jobs), if every one needs a write."""
    records = linked_count(session, backfill)
    connector = cycle.connector
    calls = connector.read_cost(records) if backfill.pulls else 0
    jobs = 0
    if backfill.pushes:
        for page in range(math.ceil(records / PAGE)):
            cost = connector.write_cost(min(PAGE, records - page * PAGE))
            calls, jobs = calls + cost.calls, jobs + cost.bulk_jobs
    line = (f"backfill: {records} records × fields [{', '.join(backfill.fields)}] "
            f"≈ {calls} API calls")
    if jobs:
        line += f" ({jobs} Bulk job{'s' if jobs != 1 else ''})"
    return line + f" — {describe(backfill)}"


def describe(backfill: Backfill) -> str:
    """Why this backfill runs: the rows that changed, the resyncs asked for, since when."""
    reasons = []
    if backfill.changed:
        reasons.append(f"field rows changed: {', '.join(backfill.changed)}")
    if backfill.requests or not backfill.changed:
        reasons.append("resync asked for")
    if backfill.since is not None:
        reasons.append(f"records changed since {backfill.since:%Y-%m-%d %H:%M} UTC")
    return "; ".join(reasons)


def _changed_since(change: Change, since: datetime | None) -> bool:
    if since is None or change.modified_at is None:
        return True
    return as_utc(change.modified_at) >= as_utc(since)
