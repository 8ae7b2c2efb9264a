"""The to_remote phase: push hub changes since the cursor to the remote, in batches.

Each page goes fetch → plan → apply: the links, ``ref`` translations and match lookups the page
needs are read in batches, the pure :class:`~jobs.plan.push.PushPlanner` turns them into one
typed action per hub record, the mass-change brake looks at the whole plan, and then the writes
go out in one batch and their results are recorded, with the cursor, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from connectors.base import Op, OutboundRecord, WriteResult, WriteStatus
from connectors.errors import ConnectorError, ErrorKind
from core.models import HUB_MODELS, HubRecord, Link
from core.sequence import changes_since
from jobs.compare import canon
from jobs.cycle import Brake, Cycle, changed_since, count_links, get_cursor, set_cursor
from jobs.failures import (
    Failure,
    FailureLog,
    due_retries,
    open_refusals,
    refused_field,
    waiting_retries,
)
from jobs.history import Journal
from jobs.links import LinkIndex, RefResolver, claim
from jobs.matching import find_remote_matches
from jobs.plan import actions as act
from jobs.plan.push import PushPage, PushPlanner, writes
from jobs.references import push_exclusions, wake_waiting
from jobs.refusals import write_dropping_refused
from jobs.remote_lookups import RemoteLookups
from jobs.report import PlannedAction
from mappings.hints import fit_hint_to_mapping

DIRECTION = "to_remote"


class PushPhase:
    """Pushes hub changes; remote writes are batched, results committed with the cursor."""

    #: A record through ends its record-level errors: it synced whole (a backfill's does not).
    settles_records = True
    #: What a progress bar calls this phase.
    label = DIRECTION

    def __init__(self, cycle: Cycle) -> None:
        self.cycle = cycle
        self.mapping = cycle.mapping
        self.model = HUB_MODELS[self.mapping.hub_object]
        self.brake: Brake | None = None
        self.handled = 0
        self.planner = PushPlanner(self.mapping, cycle.schema, cycle.mappings,
                                   updates=cycle.connector.capabilities.update)
        #: Made on the first page with a ``lookup:`` row; its hits last the cycle.
        self.lookups: RemoteLookups | None = None

    def run(self) -> None:
        """Retry due records, then push every hub change since the cursor.

        Records retried here, and records whose retry is not due yet, are left out of the
        changes that follow: each record is attempted at most once a cycle, and never before
        its backoff allows.
        """
        cycle = self.cycle
        with cycle.transaction() as session:
            cursor = int(get_cursor(session, self.mapping.name, DIRECTION) or 0)
            self.brake = Brake(
                self.mapping, count_links(cycle.engine, self.mapping), allow=cycle.allow_mass_change
            )
            due = due_retries(session, self.mapping.name, DIRECTION, cycle.now)
            retry_ids = {e.hub_id for e in due if e.hub_id}
            # Most cycles have nothing due: no query for them on this hot path.
            retry_rows = (
                list(session.exec(select(self.model).where(col(self.model.id).in_(retry_ids))))
                if retry_ids
                else []
            )
            gone = retry_ids - {row.id for row in retry_rows}
            if gone:  # the hub record itself is gone: nothing is left to retry
                cycle.failures(session, DIRECTION).resolve(hub_ids=gone)
            held = waiting_retries(session, self.mapping.name, DIRECTION, cycle.now) | retry_ids
        if retry_rows:
            self._push(retry_rows, cursor=None)
        while not cycle.stop_requested():
            with cycle.transaction() as session:
                rows = changes_since(session, self.model, cursor, self.mapping.page_size)
            if not rows:
                break
            cursor = rows[-1].change_seq
            self._push([row for row in rows if row.id not in held], cursor=cursor)
        with cycle.transaction() as session:
            cycle.report.backlog = changed_since(session, self.model, cursor)

    # -- one page ---------------------------------------------------------------------------

    def _push(self, hubs: Sequence[HubRecord], *, cursor: int | None) -> None:
        cycle = self.cycle
        with cycle.transaction() as session:
            actions = self._plan_page(session, hubs)
        assert self.brake is not None
        self.brake.check(act.destructive_count(actions), DIRECTION)
        outgoing = [a for a in actions if writes(a)]
        self._declare_intent(outgoing)
        results = self._write(outgoing)
        with cycle.transaction() as session:
            self._record(session, hubs, actions, results)
            if cursor is not None:
                set_cursor(session, self.mapping.name, DIRECTION, str(cursor), cycle.now)
        self.handled += len(hubs)
        cycle.tick(self.label, self.handled)

    def _plan_page(self, session: Session, hubs: Sequence[HubRecord]) -> list[act.Action]:
        """Fetch what the page needs in batches and plan it (reads only, remote lookups too)."""
        planner = self.planner
        links = LinkIndex(session, self.mapping).by_hub(h.id for h in hubs)
        decided = planner.triage(hubs, links)
        unlinked = [h for h in hubs if decided[h.id] is None and h.id not in links]
        page = PushPage(list(hubs), links, refs=self._refs(session, hubs),
                        refused=open_refusals(session, self.mapping.name, links))
        if unlinked:
            page.taken_over = self._taken_over(session, unlinked)
            looked_up = [h for h in unlinked if h.id not in page.taken_over]
            if looked_up and planner.needs_lookup():
                wanted, page.match_keys = planner.lookups(looked_up)
                if wanted:
                    page.matches = find_remote_matches(
                        self.cycle.connector,
                        session,
                        self.mapping,
                        [(w.hub_field, w.key, w.remote_value) for w in wanted],
                    )
        actions = planner.plan_page(page, decided)
        waits = planner.waits(actions)
        if waits:
            exclusions = {
                parent_id: found
                for refs, parent_id in waits
                if (found := push_exclusions(
                    session, self.cycle.mappings, self.cycle.schema, refs, parent_id
                ))
            }
            planner.explain_waits(actions, exclusions)
        return actions

    def _refs(self, session: Session, hubs: Sequence[HubRecord]) -> dict[str, dict[str, str]]:
        """Hub value → remote id for every ``ref`` and ``lookup`` row's values on this page.

        A ref translates through the links (a query a row); a lookup asks the remote, once per
        value and cycle.
        """
        resolver = RefResolver(session, self.cycle.mappings)
        found: dict[str, dict[str, str]] = {}
        for row in self.planner.rows:
            if not row.hub or not (row.ref or row.lookup):
                continue
            values = [str(getattr(h, row.hub)) for h in hubs if getattr(h, row.hub, None)]
            target = row.lookup_target
            if target is not None:
                if self.lookups is None:
                    self.lookups = RemoteLookups(self.cycle.connector)
                found[row.remote] = self.lookups.resolve(*target, values)
            elif row.ref:
                found[row.remote] = resolver.to_remote(row.ref, values)
        return found

    def _taken_over(self, session: Session, hubs: list[HubRecord]) -> set[str]:
        """Hub records linked to an object named in ``create.unless_linked_to``."""
        objects = self.mapping.create.unless_linked_to
        if not objects:
            return set()
        return set(
            session.exec(
                select(Link.hub_id).where(
                    Link.hub_object == self.mapping.hub_object,
                    Link.connection == self.mapping.connection,
                    col(Link.remote_object).in_(objects),
                    col(Link.hub_id).in_([h.id for h in hubs]),
                )
            )
        )

    def _declare_intent(self, actions: list[act.Action]) -> None:
        """Commit what we are about to write onto each link before writing it (Link.pending)."""
        updates = [a for a in actions if isinstance(a, act.Update) and a.moves.to_remote]
        if not updates:
            return
        with self.cycle.transaction() as session:
            links = LinkIndex(session, self.mapping).by_hub(a.key for a in updates)
            for action in updates:
                link = links.get(action.key)
                if link is not None:
                    link.pending = dict(action.moves.to_remote)
                    session.add(link)

    def _write(self, actions: list[act.Action]) -> dict[str, WriteResult]:
        if not actions:
            return {}
        records = [self._outbound(a) for a in actions]
        results = write_dropping_refused(
            self.cycle.connector,
            self.mapping.remote_object,
            records,
            on_field_error=self.mapping.on_field_error,
        )
        if len(results) != len(records):  # the contract, checked: never mis-attribute a result
            raise ConnectorError(
                ErrorKind.SYSTEM,
                f"connector returned {len(results)} results for {len(records)} records",
            )
        return {r.ref: r for r in results}

    def _outbound(self, action: act.Action) -> OutboundRecord:
        if isinstance(action, act.Delete):
            return OutboundRecord(
                ref=action.key, key=action.link.remote_id, fields={}, op=Op.DELETE
            )
        assert isinstance(action, act.Write)
        payload = action.moves.to_remote
        if isinstance(action, act.Create):
            ext = self.mapping.identity.external_id
            return OutboundRecord(
                ref=action.key, key=None, fields=payload,
                external_id=(ext, action.key) if ext else None,
            )
        if isinstance(action, act.Link):
            assert action.matched is not None
            return OutboundRecord(ref=action.key, key=action.matched.key, fields=payload)
        link = action.link
        assert link is not None
        return OutboundRecord(
            ref=action.key,
            key=link.remote_id,
            fields=payload,
            if_match=link.remote_version,
            # What the remote held when we last synced, for a foreign change in the same
            # second as the version (see OutboundRecord.expected).
            expected={k: link.snapshot[k] for k in payload if k in link.snapshot},
        )

    # -- results ----------------------------------------------------------------------------

    def _record(
        self,
        session: Session,
        hubs: Sequence[HubRecord],
        actions: list[act.Action],
        results: dict[str, WriteResult],
    ) -> None:
        cycle, report = self.cycle, self.cycle.report
        log = cycle.failures(session, DIRECTION)
        journal = Journal(self.mapping, cycle.run_id)
        by_id = {h.id: h for h in hubs}
        links = LinkIndex(session, self.mapping).by_hub(by_id)
        # Every record of the page ends either failed (recorded) or through: its errors here
        # are over. Unchanged records count as through: nothing of them is left to retry, and
        # a due retry that ended so must not stay due forever.
        ok: list[str] = []
        held: list[str] = []  # through, but a field conflict of theirs may still wait for an edit
        settled: list[str] = []
        clean: dict[str, list[str]] = {}  # hub id → fields that synced: their refusals are over
        gone: list[str] = []  # hub ids whose remote record went with them
        clashes = self._claim_links(session, actions, links, results)
        for action in actions:
            hub = by_id[action.key]
            link = links.get(hub.id)
            email = getattr(hub, "email", None)
            if link is not None and link.pending is not None:  # the write has an outcome now
                link.pending = None
                session.add(link)
            if isinstance(action, act.Fail):
                self._fail(log, hub, action.failure, email, link)
                continue
            if isinstance(action, act.Skip):
                report.skipped += action.counted
                (held if action.counted else ok).append(hub.id)
                if hub.deleted_at is not None:  # deleted before it ever linked here
                    gone.append(hub.id)
                continue
            if isinstance(action, act.Unlink):
                if link is not None:
                    session.delete(link)
                    cycle.plan(PlannedAction(DIRECTION, "unlink", hub.id, link.remote_id, email))
                ok.append(hub.id)
                continue
            result = results.get(hub.id)
            payload = action.moves.to_remote if isinstance(action, act.Write) else None
            if result is not None and not result.ok:
                # A stale version (the remote changed while we wrote) is recorded like any other
                # failure: the next pull merges the remote change and the record is pushed again,
                # which resolves the row. Silently skipping it could hide a connector bug forever.
                assert result.error is not None
                error = fit_hint_to_mapping(result.error, self.mapping)
                self._fail(log, hub, Failure.from_error(error), email, link, result.key, payload)
                continue
            if hub.id in clashes:
                remote_id = result.key if result is not None else None
                self._fail(log, hub, clashes[hub.id], email, link, remote_id, payload)
                continue
            if result is not None:
                link = self._apply_result(session, action, link, result, journal)
            if isinstance(action, act.Delete):
                ok.append(hub.id)
                gone.append(hub.id)
                continue
            assert isinstance(action, act.Write)
            moves = action.moves
            refused = self._record_refused(log, action, result, link, email)
            clean[hub.id] = [f for f in moves.clean if f not in refused]
            report.failed += bool(refused)
            if isinstance(action, act.Link) and action.matched is not None and link is not None:
                matched = action.matched
                found = {k: canon(v) for k, v in matched.fields.items()}
                link.snapshot = {**found, **link.snapshot}
                link.remote_version = link.remote_version or matched.version
                taken = self._take_remote_values(session, hub, moves.to_hub)
                journal.to_hub(hub.id, taken, moves, new=False)
                cycle.plan(PlannedAction(DIRECTION, "link", hub.id, matched.key, email))
            journal.kept(hub.id, moves.kept)
            for conflict in moves.conflicts:
                log.record(
                    conflict.failure,
                    hub_object=self.mapping.hub_object,
                    hub_id=hub.id,
                    remote_object=self.mapping.remote_object,
                    remote_id=link.remote_id if link else None,
                    email=email,
                    payload=payload,
                )
            if moves.settled and link is not None:  # settled by agreement: no write carried it
                link.held = {k: v for k, v in link.held.items() if k not in moves.settled}
                session.add(link)
            if moves.conflicts or moves.waiting:
                report.failed += bool(moves.conflicts)
                held.append(hub.id)
            else:
                ok.append(hub.id)
                settled += [hub.id] if moves.settled else []
        if self.settles_records:
            log.resolve(hub_ids=ok)
            log.resolve(hub_ids=held, conflicts=False)
        log.resolve_conflicts(hub_ids=settled)
        log.resolve_fields(clean)
        log.resolve_gone(gone)
        journal.flush(session)

    def _apply_result(
        self,
        session: Session,
        action: act.Action,
        link: Link | None,
        result: WriteResult,
        journal: Journal,
    ) -> Link | None:
        cycle, report = self.cycle, self.cycle.report
        hub_id = action.key
        email = getattr(action, "hub", None) and getattr(action.hub, "email", None)
        if result.status is WriteStatus.DELETED or isinstance(action, act.Delete):
            if link is not None:
                session.delete(link)
            report.deleted += result.status is WriteStatus.DELETED
            cycle.plan(PlannedAction(DIRECTION, "delete", hub_id, result.key, email))
            return None
        assert isinstance(action, act.Write)
        payload = action.moves.to_remote
        if result.status is WriteStatus.CREATED:
            report.created_remote += 1
        elif result.status is WriteStatus.UPDATED:
            report.updated_remote += 1
        if result.status is not WriteStatus.UNCHANGED:
            before = link.snapshot if link else {}
            cycle.plan(
                PlannedAction(
                    DIRECTION,
                    "create" if isinstance(action, act.Create) else "update",
                    hub_id,
                    result.key,
                    email,
                    {k: [before.get(k), v] for k, v in payload.items()},
                )
            )
        assert link is not None, "a new link is claimed before the results are recorded"
        # A field the remote refused keeps what it last synced: it goes again once fixed.
        sent = {k: v for k, v in payload.items() if k not in result.refused_fields}
        if result.status is not WriteStatus.UNCHANGED:
            held = action.matched.fields if isinstance(action, act.Link) and action.matched else {}
            journal.to_remote(hub_id, sent, {**held, **link.snapshot}, action.moves)
        link.snapshot = {**link.snapshot, **sent}
        # A value we pushed settles any conflict held on that field.
        link.held = {k: v for k, v in link.held.items() if k not in sent}
        link.remote_version = result.version
        link.synced_at = cycle.now
        session.add(link)
        return link

    def _claim_links(
        self,
        session: Session,
        actions: list[act.Action],
        links: dict[str, Link],
        results: dict[str, WriteResult],
    ) -> dict[str, Failure]:
        """Claim the links this page's creates and matches make; add them to ``links``.

        Another cycle may have linked either record meanwhile (the pull of a mapping sharing
        this remote object, a conversion moving a person here). The same pair is simply
        linked already; anything else is a duplicate, returned as the record's failure.
        """
        wanted: list[tuple[str, Link]] = []
        for action in actions:
            if not isinstance(action, act.Create | act.Link) or action.key in links:
                continue
            result = results.get(action.key)
            if result is not None:
                if not result.ok or result.status is WriteStatus.DELETED:
                    continue
                remote_id = result.key or ""
            elif isinstance(action, act.Link) and action.matched is not None:
                remote_id = action.matched.key
            else:
                continue
            wanted.append((action.key, self._link(action.key, remote_id)))
        clashes: dict[str, Failure] = {}
        taken = claim(session, [link for _, link in wanted])
        made = [link for (_, link), other in zip(wanted, taken, strict=True) if other is None]
        wake_waiting(session, self.cycle.mappings, made, self.cycle.now)
        obj, hub_object = self.mapping.remote_object, self.mapping.hub_object
        for (hub_id, link), other in zip(wanted, taken, strict=True):
            if other is None or (other.remote_id, other.hub_id) == (link.remote_id, link.hub_id):
                links[hub_id] = other or link
            elif other.remote_id == link.remote_id:
                clashes[hub_id] = Failure(
                    ErrorKind.DUPLICATE,
                    f"{obj} {link.remote_id} is synced to hub record {other.hub_id} already; "
                    f"two hub records are that one {obj}",
                    code="DUPLICATE_HUB_RECORD",
                    hint="merge the duplicate hub records, then retry",
                )
            else:
                clashes[hub_id] = Failure(
                    ErrorKind.DUPLICATE,
                    f"this {hub_object} is synced to {obj} {other.remote_id} already; "
                    f"{obj} {link.remote_id} is a second one",
                    code="DUPLICATE_REMOTE_RECORD",
                    hint=f"merge the duplicate {obj} records in {self.mapping.connection}, "
                    "then retry",
                )
        return clashes

    def _record_refused(
        self,
        log: FailureLog,
        action: act.Write,
        result: WriteResult | None,
        link: Link | None,
        email: str | None,
    ) -> set[str]:
        """A field-level error per value left out (by us or the remote); their field names."""
        failures = dict(action.moves.refused)
        for refusal in result.refused if result is not None else ():
            failures[refusal.field] = refused_field(self.mapping, refusal)
        remote_id = (result.key if result is not None else None) or (
            link.remote_id if link else None
        )
        for name, failure in failures.items():
            log.record(
                failure,
                hub_object=self.mapping.hub_object,
                hub_id=action.key,
                remote_object=self.mapping.remote_object,
                remote_id=remote_id,
                email=email,
                payload=dict(failure.detail or {name: None}),
            )
        return set(failures)

    def _link(self, hub_id: str, remote_id: str) -> Link:
        return Link(
            hub_object=self.mapping.hub_object,
            hub_id=hub_id,
            connection=self.mapping.connection,
            remote_object=self.mapping.remote_object,
            remote_id=remote_id,
            mapping=self.mapping.name,
            synced_at=self.cycle.now,
        )

    def _take_remote_values(
        self, session: Session, hub: HubRecord, values: dict[str, Any]
    ) -> dict[str, list[Any]]:
        """A matched record's values the hub takes; hub field → [old, new] of those it changed."""
        if not values:
            return {}
        row = session.get(self.model, hub.id)
        if row is None:
            return {}
        schema = self.cycle.schema
        before = {name: schema.get(row, name) for name in values}
        changed = {
            name: [before[name], value]
            for name, value in values.items()
            if schema.set(row, name, value)
        }
        if changed:
            session.add(row)
            self.cycle.report.updated_hub += 1
        return changed

    def _fail(
        self,
        log: FailureLog,
        hub: HubRecord,
        failure: Failure,
        email: str | None,
        link: Link | None,
        remote_id: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        log.record(
            failure,
            hub_object=self.mapping.hub_object,
            hub_id=hub.id,
            remote_object=self.mapping.remote_object,
            remote_id=remote_id or (link.remote_id if link else None),
            email=email,
            payload=payload or None,
        )
        self.cycle.report.failed += 1
        self.cycle.plan(
            PlannedAction(DIRECTION, "fail", hub.id, remote_id, email, note=failure.message)
        )
