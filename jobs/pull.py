"""The to_hub phase: read remote changes since the cursor and merge them into the hub."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Session, col, select

from connectors.base import Change, Op
from connectors.errors import ErrorKind
from core.hubschema import HubField
from core.models import HUB_MODELS, HubRecord, Link
from core.sequence import touch
from core.values import normalise_email
from jobs.compare import MISSING, blank, canon, same
from jobs.cycle import Brake, Cycle, get_cursor, set_cursor
from jobs.failures import (
    CONFLICT_CODE,
    Failure,
    due_retries,
    rule_failure,
    unresolved_reference,
    value_failure,
    waiting_retries,
)
from jobs.links import LinkIndex, RefResolver, claim
from jobs.matching import find_hub_matches, find_own_records, remote_match_keys
from jobs.merge import (
    conflict_key,
    reconcile_pending,
)
from jobs.plan.field import FieldInput, Move, plan_field
from jobs.references import excluded_failure, pull_exclusions, wake_waiting
from jobs.report import PlannedAction
from jobs.successors import follow_successors
from jobs.versions import version_settles
from mappings.expressions import ExpressionError
from mappings.transforms import TransformError

DIRECTION = "to_hub"


@dataclass
class _Plan:
    """What applying one remote change will do to the hub."""

    change: Change
    hub: HubRecord | None = None  # None with create=True: a new hub record
    link: Link | None = None
    create: bool = False
    sets: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    push_needed: bool = False
    destructive: bool = False
    conflicts: list[Failure] = field(default_factory=list)
    failure: Failure | None = None
    delete: str | None = None  # "unlink" | "delete_hub"
    skip: bool = False  # counted as skipped (rule, policy)
    noop: bool = False  # nothing to do (an echo of our own write)
    pending_conflict: bool = False  # a held conflict still waits for a decision
    settled: bool = False  # a held conflict was decided by this change
    adopted: bool = False  # an unlinked record we created ourselves (see matching)
    waiting_on: tuple[str, str] | None = None  # (remote ref field, remote id) not linked yet
    claimed: Link | None = None  # the new link this change makes, claimed before it is written


class PullPhase:
    """Applies remote changes to the hub; commits hub rows, links, errors and cursor per page."""

    def __init__(self, cycle: Cycle) -> None:
        self.cycle = cycle
        self.mapping = cycle.mapping
        self.model = HUB_MODELS[self.mapping.hub_object]
        self.hub_fields: dict[str, HubField] = cycle.schema.fields(self.mapping.hub_object)
        self.direction = self.mapping.direction
        self.brake: Brake | None = None
        self.handled = 0
        # Per page, for ``ref`` rows: remote id → hub id and hub id → remote id.
        self._refs_to_hub: dict[str, dict[str, str]] = {}
        self._refs_to_remote: dict[str, dict[str, str]] = {}
        self._defaults: dict[str, Any] | None = None

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
                self.mapping,
                LinkIndex(session, self.mapping).count(),
                allow=cycle.allow_mass_change,
            )
            due = due_retries(session, self.mapping.name, DIRECTION, cycle.now)
            retry_ids = list(dict.fromkeys(e.remote_id for e in due if e.remote_id))
            held = waiting_retries(session, self.mapping.name, DIRECTION, cycle.now)
        if retry_ids:
            self._retry(retry_ids)
        held.update(retry_ids)
        fields = self.mapping.remote_read_fields()
        for page in cycle.connector.read_changes(self.mapping.remote_object, cursor, fields=fields):
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
        info = self.cycle.connector.describe([self.mapping.remote_object])[
            self.mapping.remote_object
        ]
        changes = self.cycle.connector.lookup(
            self.mapping.remote_object,
            info.key_field,
            remote_ids,
            fields=self.mapping.remote_read_fields(),
        )
        found = {c.key for c in changes}
        # A record gone from the remote since it failed is a delete as far as we are concerned.
        changes += [Change(key=k, op=Op.DELETE) for k in remote_ids if k not in found]
        self.cycle.report.read += len(changes)
        with self.cycle.transaction() as session:
            self.apply(session, changes)

    # -- one page ---------------------------------------------------------------------------

    def apply(self, session: Session, changes: Sequence[Change]) -> None:
        """Plan every change of a page, check the brake, then write the page."""
        latest: dict[str, Change] = {}
        for change in changes:  # a page may repeat a record (inclusive cursors): last one wins
            latest.pop(change.key, None)
            latest[change.key] = change
        links = LinkIndex(session, self.mapping).by_remote(latest)
        changes = follow_successors(session, self.cycle, list(latest.values()), links)
        hubs = self._load_hubs(session, [link.hub_id for link in links.values()])
        plans = self._plan_page(session, changes, links, hubs)
        assert self.brake is not None
        self.brake.check(sum(p.destructive for p in plans), DIRECTION)
        plans = self._claim_links(session, plans)
        log = self.cycle.failures(session, DIRECTION)
        # Every change ends either failed (recorded) or through, and then its errors here are
        # over; a held field conflict still waits for an edit unless this change settled it.
        ok_ids: list[str] = []
        held_ids: list[str] = []
        for plan in plans:
            if plan.failure is not None:
                self._fail(log, plan)
                continue
            if plan.skip or plan.noop:
                # Nothing of it is left to do here: a due retry that ended so is over too.
                self.cycle.report.skipped += plan.skip
                held_ids.append(plan.change.key)
                continue
            self._apply_plan(session, plan)
            for conflict in plan.conflicts:
                log.record(
                    conflict,
                    hub_object=self.mapping.hub_object,
                    hub_id=plan.hub.id if plan.hub else None,
                    remote_object=self.mapping.remote_object,
                    remote_id=plan.change.key,
                    email=_email(plan.hub),
                    payload=dict(plan.change.fields),
                )
                self.cycle.plan(
                    PlannedAction(
                        DIRECTION,
                        "conflict",
                        plan.hub.id if plan.hub else None,
                        plan.change.key,
                        _email(plan.hub),
                        note=conflict.message,
                    )
                )
            if plan.conflicts or plan.pending_conflict:
                self.cycle.report.failed += bool(plan.conflicts)
                held_ids.append(plan.change.key)
            else:
                ok_ids.append(plan.change.key)
        log.resolve(remote_ids=ok_ids)
        log.resolve(remote_ids=held_ids, conflicts=False)
        log.resolve_conflicts(
            remote_ids=[p.change.key for p in plans if p.settled and p.failure is None]
        )

    def _load_hubs(self, session: Session, ids: list[str]) -> dict[str, HubRecord]:
        if not ids:
            return {}
        rows = session.exec(select(self.model).where(col(self.model.id).in_(ids)))
        return {row.id: row for row in rows}

    def _plan_page(
        self,
        session: Session,
        changes: list[Change],
        links: dict[str, Link],
        hubs: dict[str, HubRecord],
    ) -> list[_Plan]:
        unlinked = [c for c in changes if c.op is Op.UPSERT and c.key not in links]
        wanted = {c.key: remote_match_keys(self.mapping, c.fields) for c in unlinked}
        matches, taken = find_hub_matches(
            session, self.mapping, [k for keys in wanted.values() for k in keys]
        )
        own = find_own_records(session, self.mapping, unlinked)
        self._resolve_refs(session, changes, [*hubs.values(), *matches.values(), *own.values()])
        claimed: dict[str, str] = {}  # hub id (or new-record match key) → remote id that took it
        plans: list[_Plan] = []
        for change in changes:
            plan = _Plan(change)
            plans.append(plan)
            link = links.get(change.key)
            plan.link = link
            if change.op is Op.DELETE:
                self._plan_delete(plan, hubs)
                continue
            try:
                allowed = self.mapping.allows_pull(change.fields)
            except ExpressionError as exc:
                plan.failure = rule_failure("pull_rule", exc)
                continue
            if not allowed:
                plan.skip = True
                continue
            if link is not None:
                hub = hubs.get(link.hub_id)
                if hub is None or hub.deleted_at is not None:
                    plan.skip = True  # deleted in the hub: from_hub policy decides, not this change
                    continue
                row_versions = self.cycle.connector.capabilities.row_versions
                if version_settles(row_versions, link.remote_version, change.version):
                    plan.noop = True  # our own write coming back, or nothing new
                    continue
                plan.hub = hub
            else:
                keys = wanted.get(change.key, [])
                hub = own.get(change.key)
                plan.adopted = hub is not None
                if hub is None:
                    hub = next((matches[k] for k in keys if k in matches), None)
                # Whoever first claims a hub record (or, for a new one, a match key) gets it;
                # a later remote record with the same key is a duplicate over there.
                claim = (
                    hub.id if hub is not None else (f"{keys[0][0]}:{keys[0][1]}" if keys else None)
                )
                other = claimed.get(claim) if claim else None
                if hub is None and other is None:
                    other = next((taken[k] for k in keys if k in taken), None)
                if other is not None and other != change.key:
                    plan.failure = self._duplicate(
                        change.key, keys[0][0] if keys else "identity", other
                    )
                    continue
                if claim is not None:
                    claimed[claim] = change.key
                if hub is None:
                    if not self.mapping.create.hub:
                        plan.skip = True
                        continue
                    plan.create = True
                plan.hub = hub
            self._plan_fields(plan)
            plan.noop = _moves_nothing(plan)
        self._match_natural_keys(session, plans)
        self._explain_waits(session, [p for p in plans if p.waiting_on and p.failure])
        return plans

    def _explain_waits(self, session: Session, plans: list[_Plan]) -> None:
        """A reference its own mappings keep out will never resolve: fail it, do not retry it."""
        if not plans:
            return
        refs = {row.remote: row.refs for row in self.mapping.fields if row.ref}
        waits = [p.waiting_on for p in plans if p.waiting_on is not None]
        found = pull_exclusions(
            self.cycle.connector,
            session,
            self.cycle.mappings,
            self.mapping.connection,
            [(refs[field], remote_id) for field, remote_id in waits],
        )
        for plan in plans:
            assert plan.waiting_on is not None
            field_name, remote_id = plan.waiting_on
            exclusions = found.get(remote_id)
            if exclusions:
                parent = self.cycle.mappings[exclusions[0].mapping].remote_object
                plan.failure = excluded_failure(
                    field_name, f"{parent} {remote_id}", exclusions, follows=False
                )

    def _duplicate(self, key: str, same: str, other: str) -> Failure:
        """Remote record ``key`` is the hub record that ``other`` is synced to already."""
        return Failure(
            ErrorKind.DUPLICATE,
            f"{self.mapping.remote_object} {key} has the same {same} as {other}, which is "
            "already synced to that hub record",
            code="DUPLICATE_REMOTE_RECORD",
            hint=f"merge the duplicate {self.mapping.remote_object} records in "
            f"{self.mapping.connection}, then retry",
        )

    def _claim_links(self, session: Session, plans: list[_Plan]) -> list[_Plan]:
        """Claim this page's new links; where another cycle linked first, decide with its link.

        The remote record linked meanwhile (the conversion moved a person here): the change is
        planned again against that link. The hub record linked to another remote record of
        this object meanwhile: this one is a duplicate over there.
        """
        new = [
            p for p in plans
            if p.failure is None and not (p.skip or p.noop) and p.delete is None and p.link is None
        ]
        wanted: list[Link] = []
        for plan in new:
            if plan.hub is None:  # a new hub record: its id is known before it is written
                plan.hub = self.model()
            plan.claimed = Link(
                hub_object=self.mapping.hub_object,
                hub_id=plan.hub.id,
                connection=self.mapping.connection,
                remote_object=self.mapping.remote_object,
                remote_id=plan.change.key,
                mapping=self.mapping.name,
            )
            wanted.append(plan.claimed)
        taken = claim(session, wanted)
        made = [link for link, other in zip(wanted, taken, strict=True) if other is None]
        wake_waiting(session, self.cycle.mappings, made, self.cycle.now)
        replanned = {}
        for plan, other in zip(new, taken, strict=True):
            if other is None:
                continue
            plan.claimed = None
            if other.remote_id != plan.change.key:
                # Only a hub record that exists can hold another link, never a new one.
                plan.failure = self._duplicate(plan.change.key, "hub record", other.remote_id)
                continue
            hub = session.get(self.model, other.hub_id)
            again = _Plan(plan.change, hub=hub, link=other)
            if hub is None or hub.deleted_at is not None:
                again.skip = True
            else:
                self._plan_fields(again)
            replanned[id(plan)] = again
        return [replanned.get(id(p), p) for p in plans]

    def _match_natural_keys(self, session: Session, plans: list[_Plan]) -> None:
        """A new hub record whose unique key (a member's person + campaign) is taken joins it.

        Campaign membership is one row per person and campaign: a response recorded in a CRM
        for an existing member updates that membership instead of failing the page on the
        unique constraint. A second remote record for the same membership is skipped.
        """
        names = _unique_key(self.model)
        if not names:
            return
        claimed: set[tuple[Any, ...]] = set()
        for plan in plans:
            if not plan.create or plan.failure is not None:
                continue
            key = tuple(plan.sets.get(name) for name in names)
            if None in key:
                continue
            if key in claimed:
                plan.create, plan.skip = False, True
                continue
            claimed.add(key)
            existing = session.exec(
                select(self.model).where(
                    *(getattr(self.model, n) == v for n, v in zip(names, key, strict=True))
                )
            ).first()
            if existing is None or existing.deleted_at is not None:
                continue
            if LinkIndex(session, self.mapping).by_hub([existing.id]):
                plan.create, plan.skip = False, True  # already synced from another record
                continue
            plan.create, plan.hub, plan.sets, plan.snapshot = False, existing, {}, {}
            self._plan_fields(plan)

    def _plan_delete(self, plan: _Plan, hubs: dict[str, HubRecord]) -> None:
        policy = self.mapping.deletes.from_remote
        if plan.link is None:
            plan.noop = True  # never linked, or unlinked already (an inclusive cursor re-reads)
            return
        if policy == "ignore":
            plan.skip = True
            return
        plan.delete = policy
        hub = hubs.get(plan.link.hub_id)
        plan.hub = hub
        plan.destructive = policy == "delete_hub" and hub is not None and hub.deleted_at is None

    def _resolve_refs(
        self, session: Session, changes: list[Change], hubs: Iterable[HubRecord]
    ) -> None:
        """Translate the ids of every ``ref`` row on this page, both ways, in one query each."""
        resolver = RefResolver(session, self.cycle.mappings)
        hubs = list(hubs)
        for row in self.mapping.fields:
            if not row.ref or row.hub is None:
                continue
            remote_ids = [str(c.fields[row.remote]) for c in changes if c.fields.get(row.remote)]
            hub_ids = [str(getattr(h, row.hub)) for h in hubs if getattr(h, row.hub, None)]
            self._refs_to_hub[row.remote] = resolver.to_hub(row.ref, remote_ids)
            self._refs_to_remote[row.remote] = resolver.to_remote(row.ref, hub_ids)

    def _plan_fields(self, plan: _Plan) -> None:
        """The per-field three-way merge of one remote record against its hub record."""
        change, hub = plan.change, plan.hub
        hub_values = self.cycle.schema.values(hub) if hub is not None else {}
        base = reconcile_pending(plan.link.snapshot, dict(change.fields)) if plan.link else {}
        if plan.adopted:  # its values are our own earlier write: the base, not news...
            defaults = self._remote_defaults()
            # ...except a value the remote fills in itself (Lead Status's default): merged as
            # on a first link, never taken for "our value" that a blank hub must push back out.
            base = {
                name: canon(v)
                for name, v in change.fields.items()
                if defaults.get(name) is None or not same(v, defaults[name])
            }
        plan.snapshot = dict(base)
        remote_newer = _remote_is_newer(change, hub)
        current = ""
        waiting: dict[str, str] = {}  # hub ref field → a remote field naming an unlinked record
        try:
            for row in self.mapping.fields:
                current = row.remote
                if row.remote not in change.fields:
                    continue
                remote_now = change.fields[row.remote]
                ref_id: str | None = None
                hub_side_remote: Any = None
                if row.ref:
                    # Ids only mean something once the referenced record is linked; until then
                    # leave the field alone on both sides rather than blank it.
                    ref_id = (
                        self._refs_to_hub[row.remote].get(str(remote_now)) if remote_now else None
                    )
                    if remote_now and ref_id is None:
                        waiting.setdefault(row.hub or "", row.remote)
                        continue
                    hub_ref = hub_values.get(row.hub or "")
                    hub_side_remote = (
                        self._refs_to_remote[row.remote].get(hub_ref) if hub_ref else None
                    )
                    if hub_ref and hub_side_remote is None and hub is not None:
                        continue
                plan.snapshot[row.remote] = canon(remote_now)
                if plan.create:
                    if row.pulls(self.direction) and not blank(remote_now):
                        plan.sets[row.hub or ""] = (
                            ref_id if row.ref else self._to_hub(row, remote_now)
                        )
                    continue
                hub_now = hub_side_remote if row.ref else row.to_remote(hub_values)
                marker = conflict_key(row.remote)
                decision = plan_field(
                    FieldInput.of_row(
                        row,
                        self.mapping,
                        base=base.get(row.remote, MISSING),
                        hub=hub_now,
                        remote=remote_now,
                        held=base.get(marker, MISSING),
                        remote_is_newer=remote_newer,
                    )
                )
                if decision.move is Move.HELD:
                    plan.pending_conflict = True
                    continue
                if decision.settled:
                    del plan.snapshot[marker]
                    plan.settled = True
                if decision.move is Move.TO_HUB:
                    plan.sets[row.hub or ""] = ref_id if row.ref else self._to_hub(row, remote_now)
                    plan.destructive |= decision.destructive
                elif decision.move is Move.TO_REMOTE:
                    plan.push_needed = True
                elif decision.move is Move.CONFLICT:
                    # Hold it: remember the hub's value so both phases leave the field alone
                    # until an edit on either side decides (see merge.settle_held_conflict).
                    plan.snapshot[marker] = canon(hub_now)
                    plan.conflicts.append(
                        Failure(
                            ErrorKind.CONFLICT,
                            f"both sides changed {row.remote} since the last sync: hub "
                            f"{canon(hub_now)!r}, {self.mapping.connection} {canon(remote_now)!r}",
                            code=CONFLICT_CODE,
                            field=row.remote,
                            hint="edit one side to the value you want (the next cycle syncs it), "
                            "or give this field a rule such as hub_wins",
                        )
                    )
        except (TransformError, ValueError) as exc:
            plan.failure = value_failure(exc, current, self.mapping.connection)
            return
        columns = self.model.__table__.columns  # type: ignore[attr-defined]
        for hub_field, remote in waiting.items():
            required = hub_field in columns and not columns[hub_field].nullable
            if plan.create and hub_field not in plan.sets and required:
                plan.failure = unresolved_reference(
                    self.mapping, remote, f"{change.fields[remote]} is not synced to the hub yet"
                )
                plan.waiting_on = (remote, str(change.fields[remote]))
                return

    def _remote_defaults(self) -> dict[str, Any]:
        """Values the remote fills in on create, by field (from describe; cached per cycle)."""
        if self._defaults is None:
            name = self.mapping.remote_object
            info = self.cycle.connector.describe([name])[name]
            self._defaults = {f.name: f.default for f in info.fields.values()
                              if f.default is not None}
        return self._defaults

    def _to_hub(self, row: Any, remote_value: Any) -> Any:
        value = row.to_hub(remote_value)
        return self.hub_fields[row.hub].coerce(value)

    # -- writing ----------------------------------------------------------------------------

    def _apply_plan(self, session: Session, plan: _Plan) -> None:
        cycle, change = self.cycle, plan.change
        if plan.delete is not None:
            assert plan.link is not None
            if plan.delete == "delete_hub" and plan.hub is not None and plan.hub.deleted_at is None:
                plan.hub.deleted_at = cycle.now
                session.add(plan.hub)
                cycle.report.deleted += 1
            session.delete(plan.link)
            cycle.plan(PlannedAction(DIRECTION, plan.delete, plan.link.hub_id, change.key))
            return
        hub = plan.hub
        if plan.create:
            hub = plan.hub or self.model()
            for name, value in plan.sets.items():
                self.cycle.schema.set(hub, name, value)
            session.add(hub)
            plan.hub = hub
            cycle.report.created_hub += 1
            cycle.plan(
                PlannedAction(
                    DIRECTION,
                    "create",
                    hub.id,
                    change.key,
                    _email(hub),
                    {k: [None, canon(v)] for k, v in plan.sets.items()},
                )
            )
        else:
            assert hub is not None
            before = {name: self.cycle.schema.get(hub, name) for name in plan.sets}
            changed = {
                name: [canon(before[name]), canon(value)]
                for name, value in plan.sets.items()
                if self.cycle.schema.set(hub, name, value)
            }
            if changed:
                session.add(hub)
                cycle.report.updated_hub += 1
                cycle.plan(
                    PlannedAction(DIRECTION, "update", hub.id, change.key, _email(hub), changed)
                )
            elif plan.push_needed:
                touch(session, hub)  # the remote must be corrected: make the push phase look
            if plan.link is None:
                cycle.plan(PlannedAction(DIRECTION, "link", hub.id, change.key, _email(hub)))
        link = plan.link or plan.claimed
        assert link is not None, "a new link is claimed before the page is written"
        link.snapshot = plan.snapshot
        link.remote_version = change.version
        link.synced_at = cycle.now
        link.mapping = self.mapping.name
        session.add(link)

    def _fail(self, log: Any, plan: _Plan) -> None:
        assert plan.failure is not None
        log.record(
            plan.failure,
            hub_object=self.mapping.hub_object,
            hub_id=plan.hub.id if plan.hub else None,
            remote_object=self.mapping.remote_object,
            remote_id=plan.change.key,
            email=_email(plan.hub) or _remote_email(self.mapping, plan.change),
            payload=dict(plan.change.fields),
        )
        self.cycle.plan(
            PlannedAction(
                DIRECTION,
                "fail",
                plan.hub.id if plan.hub else None,
                plan.change.key,
                note=plan.failure.message,
            )
        )
        self.cycle.report.failed += 1


def _unique_key(model: type[HubRecord]) -> tuple[str, ...]:
    """The columns of a hub table's natural unique key (campaign_member: person, campaign)."""
    for constraint in model.__table__.constraints:  # type: ignore[attr-defined]
        if isinstance(constraint, UniqueConstraint):
            return tuple(column.name for column in constraint.columns)
    return ()


def _moves_nothing(plan: _Plan) -> bool:
    """Read again at the link's version, and the merge moves nothing: our echo, or no news."""
    link = plan.link
    return (
        link is not None
        and link.remote_version == plan.change.version
        and plan.failure is None
        and not (plan.sets or plan.push_needed or plan.conflicts)
        and not (plan.pending_conflict or plan.settled)
        and plan.snapshot == link.snapshot
    )


def _remote_is_newer(change: Change, hub: HubRecord | None) -> bool:
    if hub is None or hub.updated_at is None or change.modified_at is None:
        return True  # nothing to compare: the change we are looking at is the news
    return change.modified_at >= hub.updated_at


def _email(hub: HubRecord | None) -> str | None:
    return getattr(hub, "email", None) if hub is not None else None


def _remote_email(mapping: Any, change: Change) -> str | None:
    for hub_field, row in mapping.match_fields():
        if hub_field == "email":
            value = change.fields.get(row.remote)
            return normalise_email(value)
    return None
