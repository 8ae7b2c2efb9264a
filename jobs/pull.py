"""The to_hub phase: read remote changes since the cursor and merge them into the hub.

Each page goes fetch → plan → apply: every read the page needs is made in batches first
(:meth:`PullPhase.fetch`), the pure :class:`~jobs.plan.pull.PullPlanner` turns it into one typed
action per record, the mass-change brake looks at the whole plan, and only then is anything
written, all of the page in one transaction with its cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from connectors.base import Change, Op
from core.models import HUB_MODELS, HubRecord, Link
from core.sequence import touch
from core.values import normalise_email
from jobs.compare import canon
from jobs.cycle import Brake, Cycle, count_links, get_cursor, set_cursor
from jobs.failures import FailureLog, due_retries, open_refusals, waiting_retries
from jobs.history import Journal
from jobs.links import LinkIndex, RefResolver, claim
from jobs.matching import find_hub_matches, find_own_records, remote_match_keys
from jobs.plan import actions as act
from jobs.plan.pull import PullPage, PullPlanner, PullRules, unique_key
from jobs.pushdown import pull_filter
from jobs.references import pull_exclusions, wake_waiting
from jobs.report import PlannedAction
from jobs.successors import Relink, apply_relinks, plan_successors
from mappings.spec import Mapping
from touches.activity import record_activity

DIRECTION = "to_hub"


@dataclass(slots=True)
class PagePlan:
    """A planned page: what was read, the actions, and the successor moves to make first."""

    page: PullPage
    actions: list[act.Action]
    relinks: list[Relink]


class PullPhase:
    """Applies remote changes to the hub; commits hub rows, links, errors and cursor per page."""

    #: A record through ends its record-level errors: it synced whole (a backfill's does not).
    settles_records = True

    def __init__(self, cycle: Cycle) -> None:
        self.cycle = cycle
        self.mapping = cycle.mapping
        self.model = HUB_MODELS[self.mapping.hub_object]
        self.brake: Brake | None = None
        self.handled = 0
        self.planner = PullPlanner(
            PullRules(
                self.mapping,
                cycle.schema,
                self.model,
                cycle.mappings,
                cycle.connector.capabilities.row_versions,
            )
        )
        self._defaults: dict[str, object] | None = None

    def run(self) -> None:
        """Retry due records, then stream every page since the cursor.

        Records retried here, and records whose retry is not due yet, are left out of the
        pages that follow (an inclusive cursor re-reads its last record every cycle): each
        record is attempted at most once a cycle, and never before its backoff allows.
        """
        cycle = self.cycle
        with cycle.transaction() as session:
            cursor = get_cursor(session, self.mapping.name, DIRECTION)
            self.brake = Brake(
                self.mapping, count_links(cycle.engine, self.mapping), allow=cycle.allow_mass_change
            )
            due = due_retries(session, self.mapping.name, DIRECTION, cycle.now)
            retry_ids = list(dict.fromkeys(e.remote_id for e in due if e.remote_id))
            held = waiting_retries(session, self.mapping.name, DIRECTION, cycle.now)
            pushed = pull_filter(session, cycle.connector, self.mapping)
        cycle.report.pushdown = list(pushed.lines)
        if retry_ids:
            self._retry(retry_ids)
        held.update(retry_ids)
        fields = self.mapping.remote_read_fields()
        for page in cycle.connector.read_changes(
            self.mapping.remote_object, cursor, fields=fields, where=pushed.where
        ):
            cycle.report.read += len(page.changes)
            with cycle.transaction() as session:
                self.apply(session, [c for c in page.changes if c.key not in held])
                if page.cursor is not None:
                    set_cursor(session, self.mapping.name, DIRECTION, page.cursor, cycle.now)
            self.handled += len(page.changes)
            cycle.tick(DIRECTION, self.handled)
            if cycle.stop_requested():
                return

    def _retry(self, remote_ids: list[str]) -> None:
        """Re-read records whose earlier sync failed and apply them (the cursor stays put)."""
        name = self.mapping.remote_object
        info = self.cycle.connector.describe([name])[name]
        changes = self.cycle.connector.lookup(
            name, info.key_field, remote_ids, fields=self.mapping.remote_read_fields()
        )
        found = {c.key for c in changes}
        # A record gone from the remote since it failed is a delete as far as we are concerned.
        changes += [Change(key=k, op=Op.DELETE) for k in remote_ids if k not in found]
        self.cycle.report.read += len(changes)
        with self.cycle.transaction() as session:
            self.apply(session, changes)

    def apply(self, session: Session, changes: Sequence[Change]) -> None:
        """Plan a page of changes, check the brake on the whole plan, then write the page."""
        if self.mapping.identity.events:
            for run in self._event_runs(changes):
                self._apply_once(session, run)
            return
        self._apply_once(session, changes)

    def _apply_once(self, session: Session, changes: Sequence[Change]) -> None:
        plan = self._plan_page(session, changes)
        assert self.brake is not None
        self.brake.check(act.destructive_count(plan.actions), DIRECTION)
        self._apply(session, plan)
        if self.mapping.identity.events:
            # An event is applied once and kept by nobody: the next one names its hub record
            # by its match key again, and a retry reads the event again by its key.
            for action in plan.actions:
                if isinstance(action, act.Write) and action.link is not None:
                    session.delete(action.link)
            session.flush()

    def _event_runs(self, changes: Sequence[Change]) -> list[list[Change]]:
        """Events cut where one names the same hub record as an earlier one of its run.

        Each run is planned once its predecessor is written, so a person's second submission
        in a page finds the person the first one made.
        """
        runs: list[list[Change]] = [[]]
        seen: set[tuple[str, str]] = set()
        for change in changes:
            keys = set(remote_match_keys(self.mapping, change.fields))
            if keys & seen:
                runs.append([])
                seen = set()
            runs[-1].append(change)
            seen |= keys
        return [run for run in runs if run]

    # -- fetch and plan ---------------------------------------------------------------------

    def _plan_page(self, session: Session, changes: Sequence[Change]) -> PagePlan:
        """Everything the page needs, read in batches, and the plan made of it (no writes)."""
        latest: dict[str, Change] = {}
        for change in changes:  # a page may repeat a record (inclusive cursors): last one wins
            latest.pop(change.key, None)
            if change.op is Op.UPSERT:
                change = replace(change, fields=self.mapping.read_fallbacks(change.fields))
            latest[change.key] = change
        links = LinkIndex(session, self.mapping).by_remote(latest)
        rest, relinks, moved = plan_successors(
            list(latest.values()), links, self.mapping.remote_object
        )
        page = self.fetch(session, rest, links, moved)
        planner = self.planner
        actions = planner.plan_page(page)
        keys = planner.natural_keys(actions)
        if keys:
            existing, linked = self._fetch_natural_keys(session, keys)
            actions = planner.join_natural_keys(page, actions, existing, linked)
        waits = planner.waits(actions)
        if waits:
            exclusions = pull_exclusions(
                self.cycle.connector, session, self.cycle.mappings, self.mapping.connection, waits
            )
            planner.explain_waits(actions, exclusions)
        return PagePlan(page, actions, relinks)

    def fetch(
        self, session: Session, changes: list[Change], links: dict[str, Link], moved: set[str]
    ) -> PullPage:
        """The batched reads a page's plan depends on: a handful of queries, whatever its size."""
        hubs = self._load_hubs(session, [link.hub_id for link in links.values()])
        unlinked = [c for c in changes if c.op is Op.UPSERT and c.key not in links]
        match_keys = {c.key: remote_match_keys(self.mapping, c.fields) for c in unlinked}
        matches, taken = find_hub_matches(
            session, self.mapping, [k for keys in match_keys.values() for k in keys]
        )
        own = find_own_records(session, self.mapping, unlinked)
        page = PullPage(
            changes, links, hubs, moved, match_keys, matches, taken, own,
            remote_defaults=self._remote_defaults() if own else {},
            refused=open_refusals(session, self.mapping.name, hubs),
        )
        resolver = RefResolver(session, self.cycle.mappings)
        records = [*hubs.values(), *matches.values(), *own.values()]
        for row in self.mapping.fields:
            if not row.ref or row.hub is None:
                continue
            remote_ids = [str(c.fields[row.remote]) for c in changes if c.fields.get(row.remote)]
            hub_ids = [str(getattr(h, row.hub)) for h in records if getattr(h, row.hub, None)]
            # A row that only pushes (a registrant's person.first_name) names nobody here.
            pulls = row.pulls(self.mapping.direction)
            page.refs_to_hub[row.remote] = resolver.to_hub(row.ref, remote_ids) if pulls else {}
            page.refs_to_remote[row.remote] = resolver.to_remote(row.ref, hub_ids)
        return page

    def _load_hubs(self, session: Session, ids: list[str]) -> dict[str, HubRecord]:
        if not ids:
            return {}
        rows = session.exec(select(self.model).where(col(self.model.id).in_(ids)))
        return {row.id: row for row in rows}

    def _fetch_natural_keys(
        self, session: Session, keys: list[tuple[object, ...]]
    ) -> tuple[dict[tuple[object, ...], HubRecord], set[str]]:
        """Hub records holding these unique keys (one query), and which of them are linked."""
        names = unique_key(self.model)
        columns = [getattr(self.model, n) for n in names]
        rows = session.exec(select(self.model).where(tuple_(*columns).in_(keys))).all()
        existing = {tuple(getattr(r, n) for n in names): r for r in rows}
        linked = set(LinkIndex(session, self.mapping).by_hub(r.id for r in rows))
        return existing, linked

    def _remote_defaults(self) -> dict[str, object]:
        """Values the remote fills in on create, by field (from describe; cached per cycle)."""
        if self._defaults is None:
            name = self.mapping.remote_object
            info = self.cycle.connector.describe([name])[name]
            self._defaults = {
                f.name: f.default for f in info.fields.values() if f.default is not None
            }
        return self._defaults

    # -- apply ------------------------------------------------------------------------------

    def _apply(self, session: Session, plan: PagePlan) -> None:
        """Successor moves, new links claimed, then every action of the page written."""
        refused = apply_relinks(session, self.cycle, plan.relinks)
        actions = [self._after_refused_move(session, plan.page, a, refused) for a in plan.actions]
        actions = self._claim_links(session, plan.page, actions)
        log = self.cycle.failures(session, DIRECTION)
        journal = Journal(self.mapping, self.cycle.run_id)
        changes = {c.key: c for c in plan.page.changes}
        # Every change ends either failed (recorded) or through, and then its errors here are
        # over; a held field conflict still waits for an edit unless this change settled it.
        ok: list[str] = []
        held: list[str] = []
        settled: list[str] = []
        clean: dict[str, list[str]] = {}  # remote id → fields that synced: refusals over
        gone: list[str] = []  # hub ids deleted: all their errors here end
        for action in actions:
            change = changes[action.key]
            if isinstance(action, act.Fail):
                self._fail(log, action, change)
            elif isinstance(action, act.Skip):
                # Nothing of it is left to do here: a due retry that ended so is over too.
                self.cycle.report.skipped += action.counted
                held.append(action.key)
            elif isinstance(action, act.Unlink | act.Delete):
                self._unlink(session, action)
                ok.append(action.key)
                if isinstance(action, act.Delete):
                    gone.append(action.link.hub_id)
            else:
                self._write(session, action, change, journal)
                if not self._record_activity(session, log, action, change):
                    continue  # its error stays open: a retry or replay records it again
                self._record_conflicts(log, action, change)
                moves = action.moves
                self._record_refused(log, action)
                clean[action.key] = moves.clean
                settled += [action.key] if moves.settled else []
                self.cycle.report.failed += bool(moves.conflicts or moves.refused)
                (held if moves.conflicts or moves.waiting else ok).append(action.key)
        if self.settles_records:
            log.resolve(remote_ids=ok)
            log.resolve(remote_ids=held, conflicts=False)
        log.resolve_conflicts(remote_ids=settled)
        log.resolve_fields(clean)
        log.resolve_gone(gone)
        journal.flush(session)

    def _record_activity(
        self, session: Session, log: FailureLog, action: act.Write, change: Change
    ) -> bool:
        """The touches and membership the record stands for; False when one had a problem.

        The record itself went through; the problem is a record-level error holding the raw
        record, and the link keeps no version, so a retry (a replay) reads it in full again.
        """
        hub = action.hub
        if self.mapping.activity is None or hub is None or action.link is None:
            return True
        failures = record_activity(session, self.mapping, hub, change.fields,
                                   programs=self.cycle.programs,
                                   read_at=change.modified_at or self.cycle.now)
        for failure in failures:
            log.record(failure, hub_object=self.mapping.hub_object, hub_id=hub.id,
                       remote_object=self.mapping.remote_object, remote_id=action.key,
                       email=_email(hub), payload=dict(change.fields))
        if failures:
            action.link.remote_version = None
            self.cycle.report.failed += 1
        return not failures

    def _after_refused_move(
        self, session: Session, page: PullPage, action: act.Action, refused: dict[str, Link]
    ) -> act.Action:
        """A merge's master planned against the moved link, whose move was refused after all.

        Another cycle linked the master meanwhile: plan it against that link instead.
        """
        taken = refused.get(action.key)
        if taken is None or action.key not in page.moved:
            return action
        return self._replan(session, page, action.key, taken)

    def _replan(self, session: Session, page: PullPage, key: str, other: Link) -> act.Action:
        """Plan a change again against the link another cycle made meanwhile."""
        if other.remote_id != key:
            # Only a hub record that exists can hold another link, never a new one.
            return act.Fail(key, self.planner.duplicate(key, "hub record", other.remote_id))
        change = next(c for c in page.changes if c.key == key)
        return self.planner.plan_linked(page, change, other, session.get(self.model, other.hub_id))

    def _claim_links(
        self, session: Session, page: PullPage, actions: list[act.Action]
    ) -> list[act.Action]:
        """Claim this page's new links; where another cycle linked first, decide with its link.

        The remote record linked meanwhile (the conversion moved a person here): the change is
        planned again against that link. The hub record linked to another remote record of
        this object meanwhile: this one is a duplicate over there.
        """
        new = [a for a in actions if isinstance(a, act.Create | act.Link)]
        for action in new:
            if action.hub is None:  # a new hub record: its id is known before it is written
                action.hub = self.model()
            action.link = Link(
                hub_object=self.mapping.hub_object,
                hub_id=action.hub.id,
                connection=self.mapping.connection,
                remote_object=self.mapping.remote_object,
                remote_id=action.key,
                mapping=self.mapping.name,
            )
        wanted = [a.link for a in new if a.link is not None]
        taken = claim(session, wanted)
        wake_waiting(
            session,
            self.cycle.mappings,
            [link for link, other in zip(wanted, taken, strict=True) if other is None],
            self.cycle.now,
        )
        replanned = {
            id(action): self._replan(session, page, action.key, other)
            for action, other in zip(new, taken, strict=True)
            if other is not None
        }
        return [replanned.get(id(a), a) for a in actions]

    def _unlink(self, session: Session, action: act.Unlink | act.Delete) -> None:
        cycle = self.cycle
        hub = action.hub
        how = "unlink"
        if isinstance(action, act.Delete):
            how = "delete_hub"
            if hub is not None and hub.deleted_at is None:
                hub.deleted_at = cycle.now
                session.add(hub)
                cycle.report.deleted += 1
        session.delete(action.link)
        cycle.plan(PlannedAction(DIRECTION, how, action.link.hub_id, action.key))

    def _write(
        self, session: Session, action: act.Write, change: Change, journal: Journal
    ) -> None:
        cycle, schema = self.cycle, self.cycle.schema
        hub = action.hub
        assert hub is not None and action.link is not None, "claimed before the page is written"
        to_hub = action.moves.to_hub
        if isinstance(action, act.Create):
            for name, value in to_hub.items():
                schema.set(hub, name, value)
            session.add(hub)
            cycle.report.created_hub += 1
            changes = {k: [None, canon(v)] for k, v in to_hub.items()}
            cycle.plan(PlannedAction(DIRECTION, "create", hub.id, action.key, _email(hub), changes))
            journal.to_hub(hub.id, changes, action.moves, new=True)
        else:
            before = {name: schema.get(hub, name) for name in to_hub}
            changed = {
                name: [canon(before[name]), canon(value)]
                for name, value in to_hub.items()
                if schema.set(hub, name, value)
            }
            journal.to_hub(hub.id, changed, action.moves, new=False)
            journal.kept(hub.id, action.moves.kept)
            if changed:
                session.add(hub)
                cycle.report.updated_hub += 1
                cycle.plan(
                    PlannedAction(DIRECTION, "update", hub.id, action.key, _email(hub), changed)
                )
            elif action.moves.to_remote:
                self._correct_remote(session, hub)
            if isinstance(action, act.Link):
                cycle.plan(PlannedAction(DIRECTION, "link", hub.id, action.key, _email(hub)))
        link = action.link
        link.snapshot = action.snapshot
        link.held = action.held
        link.pending = None  # whatever write was in flight, this read is its outcome
        # A reference still pending: no version, so its retry re-reads the record in full
        # instead of skipping it as unchanged.
        link.remote_version = None if action.moves.pending else change.version
        link.synced_at = cycle.now
        link.mapping = self.mapping.name
        session.add(link)

    def _correct_remote(self, session: Session, hub: HubRecord) -> None:
        """The remote must be corrected: make the push phase look at this record."""
        touch(session, hub)

    def _record_conflicts(self, log: FailureLog, action: act.Write, change: Change) -> None:
        hub = action.hub
        for conflict in action.moves.conflicts:
            log.record(
                conflict.failure,
                hub_object=self.mapping.hub_object,
                hub_id=hub.id if hub else None,
                remote_object=self.mapping.remote_object,
                remote_id=action.key,
                email=_email(hub),
                payload=dict(change.fields),
            )
            self.cycle.plan(
                PlannedAction(
                    DIRECTION,
                    "conflict",
                    hub.id if hub else None,
                    action.key,
                    _email(hub),
                    note=conflict.failure.message,
                )
            )

    def _record_refused(self, log: FailureLog, action: act.Write) -> None:
        """A field-level error for each value left out of a record that went through."""
        hub = action.hub
        for remote_field, failure in action.moves.refused.items():
            log.record(
                failure,
                hub_object=self.mapping.hub_object,
                hub_id=hub.id if hub else None,
                remote_object=self.mapping.remote_object,
                remote_id=action.key,
                email=_email(hub),
                payload=dict(failure.detail or {remote_field: None}),
            )

    def _fail(self, log: FailureLog, action: act.Fail, change: Change) -> None:
        hub = action.hub
        log.record(
            action.failure,
            hub_object=self.mapping.hub_object,
            hub_id=hub.id if hub else None,
            remote_object=self.mapping.remote_object,
            remote_id=action.key,
            email=_email(hub) or _remote_email(self.mapping, change),
            payload=dict(change.fields),
        )
        self.cycle.plan(
            PlannedAction(
                DIRECTION, "fail", hub.id if hub else None, action.key, note=action.failure.message
            )
        )
        self.cycle.report.failed += 1


def _email(hub: HubRecord | None) -> str | None:
    return getattr(hub, "email", None) if hub is not None else None


def _remote_email(mapping: Mapping, change: Change) -> str | None:
    for hub_field, row in mapping.match_fields():
        if hub_field == "email":
            return normalise_email(change.fields.get(row.remote))
    return None
