"""Planning a push page: from hub records and what the fetch step read to one typed action each.

Pure: no database, no remote. Planning comes in two steps because what a page must read
depends on its rules: :meth:`PushPlanner.triage` decides what it can from the records and their
links alone (deletes, rules) and names the unlinked records that need a lookup; the phase reads
those (who took them over, which remote records match) and :meth:`PushPlanner.plan_page` plans
the rest.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Change
from connectors.errors import ErrorKind
from core.hubschema import HubSchema
from core.models import HubRecord
from core.models import Link as LinkRow
from jobs.compare import MISSING, blank, canon
from jobs.failures import (
    CONFLICT_CODE,
    Failure,
    field_value_failure,
    rule_failure,
    unresolved_reference,
    value_failure,
)
from jobs.matching import match_key
from jobs.plan import actions as act
from jobs.plan.field import FieldInput, Move, plan_field, refused_again
from jobs.references import Exclusion, excluded_failure
from mappings.expressions import ExpressionError
from mappings.spec import Mapping
from mappings.transforms import TransformError

MatchKey = tuple[str, str]


@dataclass(slots=True)
class PushPage:
    """What the fetch step read for one page of changed hub records."""

    hubs: list[HubRecord]
    links: dict[str, LinkRow]  # hub id → link
    refs: dict[str, dict[str, str]] = field(default_factory=dict)  # ref field → hub→remote id
    #: Hub ids linked to an object named in ``create.unless_linked_to``.
    taken_over: set[str] = field(default_factory=set)
    #: Remote records found by match keys, and each unlinked hub record's keys in match order.
    matches: dict[MatchKey, list[Change]] = field(default_factory=dict)
    match_keys: dict[str, list[MatchKey]] = field(default_factory=dict)
    #: Hub id → {remote field: value} the remote refused and nobody fixed yet: not resent.
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One match value to look up on the remote: (hub field, match key, remote value)."""

    hub_field: str
    key: str
    remote_value: Any


class PushPlanner:
    """Plans hub records against their remote records: pure."""

    def __init__(
        self, mapping: Mapping, schema: HubSchema, mappings: MappingABC[str, Mapping],
        *, updates: bool = True,
    ) -> None:
        self.mapping = mapping
        #: Can the remote change a record once made? (Zoom keeps a registration as typed.)
        #: When not, a linked record has nothing to push: only creates and deletes go.
        self.updates = updates
        self.schema = schema
        self.mappings = mappings
        self.rows = [r for r in mapping.fields if r.pushes(mapping.direction)]
        #: Why a new remote record's values are what they are, in the field history.
        self._created = f"{mapping.name}: a new {mapping.remote_object} in {mapping.connection}"

    # -- step one: what the records and their links decide ----------------------------------

    def triage(
        self, hubs: Sequence[HubRecord], links: dict[str, LinkRow]
    ) -> dict[str, act.Action | None]:
        """Per hub id, the action decided already, or None: live, to be planned field by field."""
        decided: dict[str, act.Action | None] = {}
        for hub in hubs:
            link = links.get(hub.id)
            if hub.deleted_at is not None:
                decided[hub.id] = self._plan_delete(hub, link)
                continue
            try:
                allowed = self.mapping.allows_push(self.schema.values(hub))
            except ExpressionError as exc:
                decided[hub.id] = act.Fail(hub.id, rule_failure("sync_rule", exc), hub)
                continue
            decided[hub.id] = None if allowed else act.Skip(hub.id, hub=hub)
        return decided

    def needs_lookup(self) -> bool:
        """Will unlinked records be matched on the remote at all?

        Nothing is created over there, and the pull phase already linked (or brought in)
        every remote record it may: a lookup could only find what the mapping leaves out.
        """
        m = self.mapping
        return m.create.remote or not (m.create.hub and m.direction.pulls)

    def lookups(self, hubs: Sequence[HubRecord]) -> tuple[list[Lookup], dict[str, list[MatchKey]]]:
        """The match values to look up for unlinked hub records, and each one's keys."""
        wanted: list[Lookup] = []
        keys: dict[str, list[MatchKey]] = {}
        for hub in hubs:
            values = self.schema.values(hub)
            for hub_field, row in self.mapping.match_fields():
                try:
                    remote_value = row.to_remote(values)
                except TransformError:
                    continue
                key = match_key(hub_field, values.get(hub_field))
                if key and not blank(remote_value):
                    wanted.append(Lookup(hub_field, key, remote_value))
                    keys.setdefault(hub.id, []).append((hub_field, key))
        return wanted, keys

    def _plan_delete(self, hub: HubRecord, link: LinkRow | None) -> act.Action:
        policy = self.mapping.deletes.from_hub
        if link is None or policy == "ignore":
            return act.Skip(hub.id, counted=False, hub=hub)
        if policy == "unlink":
            return act.Unlink(hub.id, link, hub)
        return act.Delete(hub.id, link, hub)

    # -- step two: the rest, with what was looked up ----------------------------------------

    def plan_page(
        self, page: PushPage, decided: dict[str, act.Action | None]
    ) -> list[act.Action]:
        """One action per hub record of the page, in page order."""
        claimed: dict[str, str] = {}  # remote id → the hub id that matched it first
        planned: list[act.Action] = []
        for hub in page.hubs:
            action = decided.get(hub.id)
            if action is None and not self._in_scope(page, hub):
                action = act.Skip(hub.id, counted=False, hub=hub)
            if action is None:
                action = self._plan_live(page, hub, claimed)
            planned.append(action)
        return planned

    def _in_scope(self, page: PushPage, hub: HubRecord) -> bool:
        """Are the records ``push_only_linked`` names linked here? (no such fields: yes)."""
        if not self.mapping.push_only_linked:
            return True
        values = self.schema.values(hub)
        for name in self.mapping.push_only_linked:
            value = values.get(name)
            rows = [row for row in self.rows if row.hub == name and row.ref]
            if not value or not any(str(value) in page.refs.get(row.remote, {}) for row in rows):
                return False
        return True

    def _plan_live(self, page: PushPage, hub: HubRecord, claimed: dict[str, str]) -> act.Action:
        link = page.links.get(hub.id)
        if link is not None and not self.updates:
            return act.Skip(hub.id, counted=False, hub=hub)
        if link is not None:
            return self._plan_fields(page, hub, link, None)
        if hub.id in page.taken_over or not self.needs_lookup():
            return act.Skip(hub.id, hub=hub)
        keys = page.match_keys.get(hub.id, [])
        candidates = next((page.matches[k] for k in keys if k in page.matches), [])
        remote = self.mapping.remote_object
        if len(candidates) > 1:
            ids = ", ".join(c.key for c in candidates)
            return act.Fail(
                hub.id,
                Failure(
                    ErrorKind.DUPLICATE,
                    f"{len(candidates)} {remote} records match this "
                    f"{self.mapping.hub_object}: {ids}",
                    code="AMBIGUOUS_MATCH",
                    hint=f"merge the duplicates in {self.mapping.connection}, then retry",
                ),
                hub,
            )
        if candidates:
            match = candidates[0]
            if match.key in claimed:
                return act.Fail(
                    hub.id,
                    Failure(
                        ErrorKind.DUPLICATE,
                        f"{remote} {match.key} also matches hub record {claimed[match.key]}; "
                        "two hub records share its match key",
                        code="DUPLICATE_HUB_RECORD",
                        hint="merge the duplicate hub records (same email), then retry",
                    ),
                    hub,
                )
            claimed[match.key] = hub.id
            return self._plan_fields(page, hub, None, match)
        if self.mapping.create.remote:
            return self._plan_fields(page, hub, None, None)
        return act.Skip(hub.id, hub=hub)

    def _plan_fields(
        self, page: PushPage, hub: HubRecord, link: LinkRow | None, matched: Change | None
    ) -> act.Action:
        """Each pushed field of one hub record against what the remote holds (or held)."""
        create = link is None and matched is None
        values = self.schema.values(hub)
        # An intent left by a crashed write is unknown territory: compare with what we know.
        base = link.snapshot if link else {}
        held = link.held if link else {}
        remote_newer = bool(
            matched
            and matched.modified_at
            and hub.updated_at
            and matched.modified_at >= hub.updated_at
        )
        ext = self.mapping.identity.external_id
        # A remote record carrying this hub id is our own earlier write (a crash kept us from
        # linking it): its values are the base, not competing news.
        ours = matched is not None and bool(ext) and str(matched.fields.get(ext or "")) == hub.id
        moves = act.FieldMoves()
        waiting: dict[str, str] = {}  # hub ref field → a remote field it could not fill yet
        filled: set[str] = set()
        for row in self.rows:
            try:
                if (row.ref or row.lookup) and row.hub:
                    hub_ref = values.get(row.hub)
                    hub_now = page.refs[row.remote].get(str(hub_ref)) if hub_ref else None
                    if hub_ref and hub_now is None:
                        waiting.setdefault(row.hub, row.remote)
                        continue  # referenced record not linked yet: never blank the remote field
                    if hub_now:
                        filled.add(row.hub)
                else:
                    hub_now = row.to_remote(values)
                if create:
                    if not blank(hub_now):
                        moves.to_remote[row.remote] = canon(hub_now)
                        moves.reasons[row.remote] = self._created
                    moves.clean.append(row.remote)
                    continue
                if matched is not None:
                    remote_now = matched.fields.get(row.remote)
                    field_base = remote_now if ours else MISSING
                else:
                    # Not read this cycle: the remote holds what the last sync left there.
                    field_base = base.get(row.remote, MISSING)
                    remote_now = None if field_base is MISSING else field_base
                decision = plan_field(
                    FieldInput.of_row(
                        row,
                        self.mapping,
                        base=field_base,
                        hub=hub_now,
                        remote=remote_now,
                        held=held.get(row.remote, MISSING),
                        remote_is_newer=remote_newer,
                        may_pull=matched is not None,
                    )
                )
                taken = (
                    row.to_hub(matched.fields.get(row.remote))
                    if decision.move is Move.TO_HUB and matched is not None
                    else None
                )
            except (TransformError, ValueError) as exc:
                if not self.mapping.skips_failed_field(row):
                    return act.Fail(hub.id, value_failure(exc, row.remote, "the hub"), hub)
                # Left out, as it last synced: it goes once the value or the mapping is fixed.
                value = canon(values.get(row.hub or ""))
                if not refused_again(page.refused.get(hub.id), row.remote, value):
                    moves.refused[row.remote] = field_value_failure(
                        exc, row.remote, value, "the hub"
                    )
                continue
            if decision.move is Move.TO_REMOTE and refused_again(
                page.refused.get(hub.id), row.remote, hub_now
            ):
                continue  # the remote refused this very value: its error stays open
            moves.clean.append(row.remote)
            if decision.move is Move.HELD:
                moves.waiting = True
                continue
            if decision.settled:
                moves.settled.append(row.remote)
            if decision.move in (Move.TO_REMOTE, Move.TO_HUB):
                moves.reasons[row.remote] = decision.why
            elif decision.remote_won and row.hub and not row.ref:
                # The remote's value stands and differs from the hub's, which stays: a push
                # takes nothing back, so say why the two sides disagree.
                moves.kept.append(
                    act.Kept(
                        row.remote,
                        row.hub,
                        canon(values.get(row.hub)),
                        canon(remote_now),
                        decision.why,
                    )
                )
            if decision.move is Move.TO_REMOTE:
                moves.to_remote[row.remote] = canon(hub_now)
                moves.destructive |= decision.destructive
            elif decision.move is Move.TO_HUB and matched is not None:
                moves.to_hub[row.hub or ""] = taken
            elif decision.move is Move.CONFLICT:
                moves.conflicts.append(self._conflict(row.remote, hub_now, remote_now))
        unresolved = [hub_field for hub_field in waiting if hub_field not in filled]
        if create and unresolved:
            hub_field = unresolved[0]
            remote_field = waiting[hub_field]
            target = next((r.lookup_target for r in self.rows if r.remote == remote_field
                           and r.lookup), None)
            why = (f"no {target[0]} has {target[1]} {values[hub_field]!r} there" if target
                   else "the record it refers to is not synced there yet")
            return act.Fail(
                hub.id,
                unresolved_reference(self.mapping, remote_field, why),
                hub,
                waiting_on=(hub_field, str(values[hub_field])),
            )
        if create:
            if ext:
                moves.to_remote[ext] = hub.id
            return act.Create(hub.id, hub, None, moves)
        if matched is not None:
            return act.Link(hub.id, hub, None, moves, matched=matched)
        return act.Update(hub.id, hub, link, moves)

    def _conflict(self, remote_field: str, hub_now: Any, remote_now: Any) -> act.Conflict:
        failure = Failure(
            ErrorKind.CONFLICT,
            f"both sides hold different values for {remote_field}: "
            f"hub {canon(hub_now)!r}, {self.mapping.connection} {canon(remote_now)!r}",
            code=CONFLICT_CODE,
            field=remote_field,
            hint="edit one side to the value you want, or give this field a rule",
        )
        return act.Conflict(remote_field, canon(hub_now), canon(remote_now), failure)

    def waits(self, planned: list[act.Action]) -> list[tuple[list[str], str]]:
        """(ref mappings, hub id) of the references failed records wait for."""
        found = []
        for action in planned:
            if isinstance(action, act.Fail) and action.waiting_on is not None:
                hub_field, parent_id = action.waiting_on
                refs = [ref for row in self.rows if row.hub == hub_field for ref in row.refs]
                found.append((refs, parent_id))
        return found

    def explain_waits(
        self, planned: list[act.Action], exclusions: dict[str, list[Exclusion]]
    ) -> None:
        """A reference its own mappings keep out will never resolve: fail it, do not retry it."""
        for action in planned:
            if not isinstance(action, act.Fail) or action.waiting_on is None:
                continue
            hub_field, parent_id = action.waiting_on
            found = exclusions.get(parent_id)
            if found:
                parent = self.mappings[found[0].mapping].hub_object
                action.failure = excluded_failure(
                    action.failure.field or hub_field, f"{parent} {parent_id}", found, follows=True
                )


def writes(action: act.Action) -> bool:
    """Does pushing this action call the remote? (a create, a delete, or values to send)."""
    if isinstance(action, act.Create | act.Delete):
        return True
    return isinstance(action, act.Link | act.Update) and bool(action.moves.to_remote)
