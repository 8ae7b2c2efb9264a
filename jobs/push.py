"""The to_remote phase: push hub changes since the cursor to the remote, in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from connectors.base import Change, Op, OutboundRecord, WriteResult, WriteStatus
from connectors.errors import ConnectorError, ErrorKind
from core.models import HUB_MODELS, HubRecord, Link
from core.sequence import changes_since
from jobs.compare import MISSING, blank, canon
from jobs.cycle import Brake, Cycle, changed_since, get_cursor, set_cursor
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
from jobs.matching import find_remote_matches, match_key
from jobs.merge import (
    PENDING_KEY,
    conflict_key,
)
from jobs.plan.field import FieldInput, Move, plan_field
from jobs.references import excluded_failure, push_exclusions, wake_waiting
from jobs.report import PlannedAction
from mappings.expressions import ExpressionError
from mappings.hints import fit_hint_to_mapping
from mappings.transforms import TransformError

DIRECTION = "to_remote"


@dataclass
class _Plan:
    """What pushing one hub record will do."""

    hub: HubRecord
    link: Link | None = None
    matched: Change | None = None  # a remote record found by match keys (first link)
    payload: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, Any] = field(default_factory=dict)  # hub fields to take from a matched record
    op: Op = Op.UPSERT
    create: bool = False
    destructive: bool = False
    unlink: bool = False
    conflicts: list[Failure] = field(default_factory=list)
    failure: Failure | None = None
    skip: bool = False
    noop: bool = False
    pending_conflict: bool = False
    settled: bool = False
    settled_fields: list[str] = field(default_factory=list)
    waiting_on: tuple[str, str] | None = None  # (hub ref field, hub id) not linked there yet

    @property
    def writes(self) -> bool:
        return (
            self.failure is None
            and not (self.skip or self.noop or self.unlink)
            and (self.op is Op.DELETE or self.create or bool(self.payload))
        )


class PushPhase:
    """Pushes hub changes; remote writes are batched, results committed with the cursor."""

    def __init__(self, cycle: Cycle) -> None:
        self.cycle = cycle
        self.mapping = cycle.mapping
        self.model = HUB_MODELS[self.mapping.hub_object]
        self.direction = self.mapping.direction
        self.rows = [r for r in self.mapping.fields if r.pushes(self.direction)]
        self.brake: Brake | None = None
        self.handled = 0
        self._refs: dict[str, dict[str, str]] = {}

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
                self.mapping,
                LinkIndex(session, self.mapping).count(),
                allow=cycle.allow_mass_change,
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
            plans = self._plan_page(session, hubs)
        assert self.brake is not None
        self.brake.check(sum(p.destructive for p in plans), DIRECTION)
        outgoing = [p for p in plans if p.writes]
        self._declare_intent(outgoing)
        results = self._write(outgoing)
        with cycle.transaction() as session:
            self._record(session, plans, results)
            if cursor is not None:
                set_cursor(session, self.mapping.name, DIRECTION, str(cursor), cycle.now)
        self.handled += len(hubs)
        cycle.tick(DIRECTION, self.handled)

    def _declare_intent(self, plans: list[_Plan]) -> None:
        """Commit what we are about to write onto each link before writing it (see PENDING_KEY)."""
        updates = [p for p in plans if p.link is not None and p.payload and p.op is Op.UPSERT]
        if not updates:
            return
        with self.cycle.transaction() as session:
            links = LinkIndex(session, self.mapping).by_hub(p.hub.id for p in updates)
            for plan in updates:
                link = links.get(plan.hub.id)
                if link is not None:
                    link.snapshot = {**link.snapshot, PENDING_KEY: dict(plan.payload)}
                    session.add(link)

    def _write(self, plans: list[_Plan]) -> dict[str, WriteResult]:
        if not plans:
            return {}
        ext = self.mapping.identity.external_id
        records = [
            OutboundRecord(
                ref=p.hub.id,
                key=p.link.remote_id if p.link else (p.matched.key if p.matched else None),
                fields=p.payload,
                op=p.op,
                if_match=p.link.remote_version if p.link and p.op is Op.UPSERT else None,
                external_id=(ext, p.hub.id) if ext and p.create else None,
                # What the remote held when we last synced, for a foreign change in the same
                # second as the version (see OutboundRecord.expected).
                expected=(
                    {k: p.link.snapshot[k] for k in p.payload if k in p.link.snapshot}
                    if p.link and p.op is Op.UPSERT else None
                ),
            )
            for p in plans
        ]
        results = self.cycle.connector.write(self.mapping.remote_object, records)
        if len(results) != len(records):  # the contract, checked: never mis-attribute a result
            raise ConnectorError(
                ErrorKind.SYSTEM,
                f"connector returned {len(results)} results for {len(records)} records",
            )
        return {r.ref: r for r in results}

    def _plan_page(self, session: Session, hubs: Sequence[HubRecord]) -> list[_Plan]:
        links = LinkIndex(session, self.mapping).by_hub(h.id for h in hubs)
        self._resolve_refs(session, hubs)
        plans = [_Plan(hub, links.get(hub.id)) for hub in hubs]
        live = []
        for plan in plans:
            if plan.hub.deleted_at is not None:
                self._plan_delete(plan)
                continue
            try:
                allowed = self.mapping.allows_push(self.cycle.schema.values(plan.hub))
            except ExpressionError as exc:
                plan.failure = rule_failure("sync_rule", exc)
                continue
            if allowed:
                live.append(plan)
            else:
                plan.skip = True
        unlinked = self._taken_over(session, [p for p in live if p.link is None])
        self._match(session, unlinked)
        for plan in live:
            if plan.failure is None:
                self._plan_fields(plan)
        self._explain_waits(session, [p for p in live if p.waiting_on is not None])
        return plans

    def _explain_waits(self, session: Session, plans: list[_Plan]) -> None:
        """A reference its own mappings keep out will never resolve: fail it, do not retry it."""
        for plan in plans:
            assert plan.waiting_on is not None and plan.failure is not None
            hub_field, parent_id = plan.waiting_on
            refs = [ref for row in self.rows if row.hub == hub_field for ref in row.refs]
            exclusions = push_exclusions(
                session, self.cycle.mappings, self.cycle.schema, refs, parent_id
            )
            if exclusions:
                parent = self.cycle.mappings[exclusions[0].mapping].hub_object
                plan.failure = excluded_failure(
                    plan.failure.field or hub_field, f"{parent} {parent_id}", exclusions,
                    follows=True,
                )

    def _taken_over(self, session: Session, plans: list[_Plan]) -> list[_Plan]:
        """Skip hub records linked to an object named in ``create.unless_linked_to``."""
        objects = self.mapping.create.unless_linked_to
        if not objects or not plans:
            return plans
        taken = set(
            session.exec(
                select(Link.hub_id).where(
                    Link.hub_object == self.mapping.hub_object,
                    Link.connection == self.mapping.connection,
                    col(Link.remote_object).in_(objects),
                    col(Link.hub_id).in_([p.hub.id for p in plans]),
                )
            )
        )
        for plan in plans:
            plan.skip = plan.hub.id in taken
        return [p for p in plans if not p.skip]

    def _plan_delete(self, plan: _Plan) -> None:
        policy = self.mapping.deletes.from_hub
        if plan.link is None or policy == "ignore":
            plan.noop = True
        elif policy == "unlink":
            plan.unlink = True
        else:
            plan.op = Op.DELETE
            plan.destructive = True

    def _match(self, session: Session, plans: list[_Plan]) -> None:
        """Find remote records for unlinked hub records before creating any (one call per field)."""
        m = self.mapping
        if not m.create.remote and m.create.hub and m.direction.pulls:
            # Nothing will be created, and the pull phase already linked (or brought in) every
            # remote record it may: a lookup could only find what the mapping leaves out.
            for plan in plans:
                plan.skip = True
            return
        wanted: list[tuple[str, str, Any]] = []
        keys: dict[str, list[tuple[str, str]]] = {}
        for plan in plans:
            values = self.cycle.schema.values(plan.hub)
            for hub_field, row in self.mapping.match_fields():
                try:
                    remote_value = row.to_remote(values)
                except TransformError:
                    continue
                key = match_key(hub_field, values.get(hub_field))
                if key and not blank(remote_value):
                    wanted.append((hub_field, key, remote_value))
                    keys.setdefault(plan.hub.id, []).append((hub_field, key))
        found = (
            find_remote_matches(self.cycle.connector, session, self.mapping, wanted)
            if wanted
            else {}
        )
        claimed: dict[str, str] = {}
        for plan in plans:
            candidates = next((found[k] for k in keys.get(plan.hub.id, []) if k in found), [])
            if len(candidates) > 1:
                ids = ", ".join(c.key for c in candidates)
                plan.failure = Failure(
                    ErrorKind.DUPLICATE,
                    f"{len(candidates)} {self.mapping.remote_object} records match this "
                    f"{self.mapping.hub_object}: {ids}",
                    code="AMBIGUOUS_MATCH",
                    hint=f"merge the duplicates in {self.mapping.connection}, then retry",
                )
            elif candidates:
                match = candidates[0]
                if match.key in claimed:
                    plan.failure = Failure(
                        ErrorKind.DUPLICATE,
                        f"{self.mapping.remote_object} {match.key} also matches hub record "
                        f"{claimed[match.key]}; two hub records share its match key",
                        code="DUPLICATE_HUB_RECORD",
                        hint="merge the duplicate hub records (same email), then retry",
                    )
                else:
                    claimed[match.key] = plan.hub.id
                    plan.matched = match
            elif self.mapping.create.remote:
                plan.create = True
            else:
                plan.skip = True

    def _resolve_refs(self, session: Session, hubs: Sequence[HubRecord]) -> None:
        resolver = RefResolver(session, self.cycle.mappings)
        for row in self.rows:
            if row.ref and row.hub:
                ids = [str(getattr(h, row.hub)) for h in hubs if getattr(h, row.hub, None)]
                self._refs[row.remote] = resolver.to_remote(row.ref, ids)

    def _plan_fields(self, plan: _Plan) -> None:
        hub = plan.hub
        values = self.cycle.schema.values(hub)
        # An intent left by a crashed write is unknown territory: compare with what we know.
        base = (
            {k: v for k, v in plan.link.snapshot.items() if k != PENDING_KEY} if plan.link else {}
        )
        matched = plan.matched.fields if plan.matched else None
        remote_newer = bool(
            plan.matched
            and plan.matched.modified_at
            and hub.updated_at
            and plan.matched.modified_at >= hub.updated_at
        )
        current = ""
        waiting: dict[str, str] = {}  # hub ref field → a remote field it could not fill yet
        filled: set[str] = set()
        try:
            for row in self.rows:
                current = row.remote
                if row.ref and row.hub:
                    hub_ref = values.get(row.hub)
                    hub_now = self._refs[row.remote].get(str(hub_ref)) if hub_ref else None
                    if hub_ref and hub_now is None:
                        waiting.setdefault(row.hub, row.remote)
                        continue  # referenced record not linked yet: never blank the remote field
                    if hub_now:
                        filled.add(row.hub)
                else:
                    hub_now = row.to_remote(values)
                if plan.create:
                    if not blank(hub_now):
                        plan.payload[row.remote] = canon(hub_now)
                    continue
                if matched is not None:
                    # A remote record carrying this hub id is our own earlier write (a crash
                    # kept us from linking it): its values are the base, not competing news.
                    ext = self.mapping.identity.external_id
                    ours = bool(ext) and str(matched.get(ext or "")) == hub.id
                    remote_now = matched.get(row.remote)
                    field_base = remote_now if ours else MISSING
                else:
                    # Not read this cycle: the remote holds what the last sync left there.
                    field_base = base.get(row.remote, MISSING)
                    remote_now = None if field_base is MISSING else field_base
                marker = conflict_key(row.remote)
                decision = plan_field(
                    FieldInput.of_row(
                        row,
                        self.mapping,
                        base=field_base,
                        hub=hub_now,
                        remote=remote_now,
                        held=base.get(marker, MISSING),
                        remote_is_newer=remote_newer,
                        may_pull=matched is not None,
                    )
                )
                if decision.move is Move.HELD:
                    plan.pending_conflict = True
                    continue
                if decision.settled:
                    plan.settled = True
                    plan.settled_fields.append(row.remote)
                if decision.move is Move.TO_REMOTE:
                    plan.payload[row.remote] = canon(hub_now)
                    plan.destructive |= decision.destructive
                elif decision.move is Move.TO_HUB and matched is not None:
                    plan.sets[row.hub or ""] = row.to_hub(matched.get(row.remote))
                elif decision.move is Move.CONFLICT:
                    plan.conflicts.append(
                        Failure(
                            ErrorKind.CONFLICT,
                            f"both sides hold different values for {row.remote}: "
                            f"hub {canon(hub_now)!r}, "
                            f"{self.mapping.connection} {canon(remote_now)!r}",
                            code=CONFLICT_CODE,
                            field=row.remote,
                            hint="edit one side to the value you want, or give this field a rule",
                        )
                    )
        except (TransformError, ValueError) as exc:
            plan.failure = value_failure(exc, current, "the hub")
            return
        unresolved = [hub_field for hub_field in waiting if hub_field not in filled]
        if plan.create and unresolved:
            hub_field = unresolved[0]
            plan.failure = unresolved_reference(
                self.mapping, waiting[hub_field], "the record it refers to is not synced there yet"
            )
            plan.waiting_on = (hub_field, str(values[hub_field]))
            return
        if plan.create and self.mapping.identity.external_id:
            plan.payload[self.mapping.identity.external_id] = hub.id
        if not plan.create and not plan.payload and plan.matched is None and not plan.conflicts:
            plan.noop = True  # nothing differs from what the remote already holds: no call

    # -- results ----------------------------------------------------------------------------

    def _record(
        self, session: Session, plans: list[_Plan], results: dict[str, WriteResult]
    ) -> None:
        cycle, report = self.cycle, self.cycle.report
        log = cycle.failures(session, DIRECTION)
        links = LinkIndex(session, self.mapping).by_hub(p.hub.id for p in plans)
        # Every record of the page ends either failed (recorded) or through: its errors here
        # are over. Skipped and unchanged records count as through: nothing of them is left
        # to retry, and a due retry that ended so must not stay due forever.
        ok: list[str] = []
        held: list[str] = []  # through, but a field conflict of theirs may still wait for an edit
        clashes = self._claim_links(session, plans, links, results)
        for plan in plans:
            hub, link = plan.hub, links.get(plan.hub.id)
            email = getattr(hub, "email", None)
            if link is not None and PENDING_KEY in link.snapshot:  # the write has an outcome now
                link.snapshot = {k: v for k, v in link.snapshot.items() if k != PENDING_KEY}
                session.add(link)
            if plan.failure is not None:
                self._fail(log, plan, plan.failure, email)
                continue
            if plan.skip:
                report.skipped += 1
                held.append(hub.id)
                continue
            if plan.unlink and link is not None:
                session.delete(link)
                cycle.plan(PlannedAction(DIRECTION, "unlink", hub.id, link.remote_id, email))
                ok.append(hub.id)
                continue
            result = results.get(hub.id)
            if result is not None and not result.ok:
                # A stale version (the remote changed while we wrote) is recorded like any other
                # failure: the next pull merges the remote change and the record is pushed again,
                # which resolves the row. Silently skipping it could hide a connector bug forever.
                assert result.error is not None
                error = fit_hint_to_mapping(result.error, self.mapping)
                self._fail(log, plan, Failure.from_error(error), email, remote_id=result.key)
                continue
            if hub.id in clashes:
                remote_id = result.key if result is not None else None
                self._fail(log, plan, clashes[hub.id], email, remote_id=remote_id)
                continue
            if result is not None:
                link = self._apply_result(session, plan, link, result)
            if plan.matched is not None and link is not None:
                link.snapshot = {
                    **{k: canon(v) for k, v in plan.matched.fields.items()},
                    **link.snapshot,
                }
                link.remote_version = link.remote_version or plan.matched.version
                self._take_remote_values(session, hub, plan.sets)
                cycle.plan(PlannedAction(DIRECTION, "link", hub.id, plan.matched.key, email))
            for conflict in plan.conflicts:
                log.record(
                    conflict,
                    hub_object=self.mapping.hub_object,
                    hub_id=hub.id,
                    remote_object=self.mapping.remote_object,
                    remote_id=link.remote_id if link else None,
                    email=email,
                    payload=plan.payload,
                )
            if plan.settled and link is not None:  # settled by agreement: no write carried it
                link.snapshot = {
                    k: v
                    for k, v in link.snapshot.items()
                    if k not in {conflict_key(f) for f in plan.settled_fields}
                }
                session.add(link)
            if plan.conflicts or plan.pending_conflict:
                report.failed += bool(plan.conflicts)
                held.append(hub.id)
            else:
                ok.append(hub.id)
        log.resolve(hub_ids=ok)
        log.resolve(hub_ids=held, conflicts=False)
        log.resolve_conflicts(hub_ids=[p.hub.id for p in plans if p.settled and p.hub.id in ok])

    def _apply_result(
        self, session: Session, plan: _Plan, link: Link | None, result: WriteResult
    ) -> Link | None:
        cycle, report, hub = self.cycle, self.cycle.report, plan.hub
        email = getattr(hub, "email", None)
        if result.status is WriteStatus.DELETED or plan.op is Op.DELETE:
            if link is not None:
                session.delete(link)
            report.deleted += result.status is WriteStatus.DELETED
            cycle.plan(PlannedAction(DIRECTION, "delete", hub.id, result.key, email))
            return None
        if result.status is WriteStatus.CREATED:
            report.created_remote += 1
        elif result.status is WriteStatus.UPDATED:
            report.updated_remote += 1
        action = "create" if plan.create else "update"
        if result.status is not WriteStatus.UNCHANGED:
            before = link.snapshot if link else {}
            cycle.plan(
                PlannedAction(
                    DIRECTION,
                    action,
                    hub.id,
                    result.key,
                    email,
                    {k: [before.get(k), v] for k, v in plan.payload.items()},
                )
            )
        assert link is not None, "a new link is claimed before the results are recorded"
        snapshot = {**link.snapshot, **plan.payload}
        for name in plan.payload:  # a value we pushed settles any conflict held on that field
            snapshot.pop(conflict_key(name), None)
        link.snapshot = snapshot
        link.remote_version = result.version
        link.synced_at = cycle.now
        session.add(link)
        return link

    def _claim_links(
        self,
        session: Session,
        plans: list[_Plan],
        links: dict[str, Link],
        results: dict[str, WriteResult],
    ) -> dict[str, Failure]:
        """Claim the links this page's creates and matches make; add them to ``links``.

        Another cycle may have linked either record meanwhile (the pull of a mapping sharing
        this remote object, a conversion moving a person here). The same pair is simply
        linked already; anything else is a duplicate, returned as the record's failure.
        """
        wanted: list[tuple[_Plan, Link]] = []
        for plan in plans:
            result = results.get(plan.hub.id)
            if plan.hub.id in links or plan.failure is not None or plan.skip or plan.unlink:
                continue
            if result is not None:
                if not result.ok or plan.op is Op.DELETE or result.status is WriteStatus.DELETED:
                    continue
                remote_id = result.key or ""
            elif plan.matched is not None:
                remote_id = plan.matched.key
            else:
                continue
            wanted.append((plan, self._link(plan.hub.id, remote_id)))
        clashes: dict[str, Failure] = {}
        taken = claim(session, [link for _, link in wanted])
        made = [link for (_, link), other in zip(wanted, taken, strict=True) if other is None]
        wake_waiting(session, self.cycle.mappings, made, self.cycle.now)
        for (plan, link), other in zip(wanted, taken, strict=True):
            if other is None or (other.remote_id, other.hub_id) == (link.remote_id, link.hub_id):
                links[plan.hub.id] = other or link
                continue
            obj, hub_object = self.mapping.remote_object, self.mapping.hub_object
            if other.remote_id == link.remote_id:
                clashes[plan.hub.id] = Failure(
                    ErrorKind.DUPLICATE,
                    f"{obj} {link.remote_id} is synced to hub record {other.hub_id} already; "
                    f"two hub records are that one {obj}",
                    code="DUPLICATE_HUB_RECORD",
                    hint="merge the duplicate hub records, then retry",
                )
            else:
                clashes[plan.hub.id] = Failure(
                    ErrorKind.DUPLICATE,
                    f"this {hub_object} is synced to {obj} {other.remote_id} already; "
                    f"{obj} {link.remote_id} is a second one",
                    code="DUPLICATE_REMOTE_RECORD",
                    hint=f"merge the duplicate {obj} records in {self.mapping.connection}, "
                    "then retry",
                )
        return clashes

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

    def _take_remote_values(self, session: Session, hub: HubRecord, sets: dict[str, Any]) -> None:
        if not sets:
            return
        row = session.get(self.model, hub.id)
        if row is None:
            return
        changed = [name for name, value in sets.items() if self.cycle.schema.set(row, name, value)]
        if changed:
            session.add(row)
            self.cycle.report.updated_hub += 1

    def _fail(
        self,
        log: Any,
        plan: _Plan,
        failure: Failure,
        email: str | None,
        remote_id: str | None = None,
    ) -> None:
        log.record(
            failure,
            hub_object=self.mapping.hub_object,
            hub_id=plan.hub.id,
            remote_object=self.mapping.remote_object,
            remote_id=remote_id or (plan.link.remote_id if plan.link else None),
            email=email,
            payload=plan.payload or None,
        )
        self.cycle.report.failed += 1
        self.cycle.plan(
            PlannedAction(DIRECTION, "fail", plan.hub.id, remote_id, email, note=failure.message)
        )
