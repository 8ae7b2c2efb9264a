"""Planning a pull page: from what the fetch step read to one typed action per remote change.

Pure: no database, no remote. Everything a decision depends on arrives in a :class:`PullPage`
(links, hub records, match candidates, ``ref`` translations, the remote's defaults); the
follow-up reads a plan may need (an existing membership for a new one, why a referenced record
is kept out) are asked for by the phase and handed back to :meth:`PullPlanner.join_natural_keys`
and :meth:`PullPlanner.explain_waits`.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import UniqueConstraint

from connectors.base import Change, Op
from connectors.errors import ErrorKind
from core.hubschema import HubField, HubSchema
from core.models import HubRecord
from core.models import Link as LinkRow
from jobs.compare import MISSING, blank, canon, same
from jobs.failures import (
    CONFLICT_CODE,
    Failure,
    field_value_failure,
    pending_reference,
    rule_failure,
    unresolved_reference,
    value_failure,
)
from jobs.merge import reconcile_pending
from jobs.plan import actions as act
from jobs.plan.field import FieldInput, Move, plan_field, refused_again
from jobs.references import Exclusion, excluded_failure
from jobs.versions import version_settles
from mappings.expressions import ExpressionError
from mappings.rules import FieldRule
from mappings.spec import FieldMap, Mapping
from mappings.transforms import TransformError

#: A (hub field, match key) pair, as jobs.matching builds them.
MatchKey = tuple[str, str]


@dataclass(slots=True)
class PullPage:
    """What the fetch step read for one page of remote changes."""

    changes: list[Change]  # latest per record; successors already taken out
    links: dict[str, LinkRow]  # remote id → link
    hubs: dict[str, HubRecord]  # hub id → the linked hub records
    #: Remote ids whose link arrives by a successor move on this page: merged afresh.
    moved: set[str] = field(default_factory=set)
    match_keys: dict[str, list[MatchKey]] = field(default_factory=dict)  # unlinked remote ids
    matches: dict[MatchKey, HubRecord] = field(default_factory=dict)  # unlinked hub records
    taken: dict[MatchKey, str] = field(default_factory=dict)  # → remote id linked already
    own: dict[str, HubRecord] = field(default_factory=dict)  # remote id → our own hub record
    refs_to_hub: dict[str, dict[str, str]] = field(default_factory=dict)  # ref field → ids
    refs_to_remote: dict[str, dict[str, str]] = field(default_factory=dict)
    remote_defaults: dict[str, Any] = field(default_factory=dict)
    #: Hub id → {remote field: value} the remote refused and nobody fixed yet: not resent.
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PullRules:
    """What stays the same for every page of one mapping's pull."""

    mapping: Mapping
    schema: HubSchema
    model: type[HubRecord]
    mappings: MappingABC[str, Mapping]
    row_versions: bool  # the remote's versions are true row versions (see jobs.versions)

    @property
    def hub_fields(self) -> dict[str, HubField]:
        """The hub object's fields by name."""
        return self.schema.fields(self.mapping.hub_object)


@dataclass(slots=True)
class _Merge:
    """One remote record being merged into its hub record: the inputs, the decisions so far."""

    change: Change
    hub: HubRecord | None  # None: a new hub record
    hub_values: dict[str, Any]
    base: dict[str, Any]  # the values last synced (remote names)
    held: dict[str, Any]  # the link's held conflicts, as this look leaves them
    remote_newer: bool
    moves: act.FieldMoves = field(default_factory=act.FieldMoves)
    snapshot: dict[str, Any] = field(default_factory=dict)  # the link's next snapshot
    waiting: dict[str, str] = field(default_factory=dict)  # hub ref field → unlinked remote field

    def keep_as_synced(self, remote_field: str) -> None:
        """Leave a field out of the next snapshot as it last synced, so it is looked at again."""
        if remote_field in self.base:
            self.snapshot[remote_field] = self.base[remote_field]
        else:
            self.snapshot.pop(remote_field, None)


class PullPlanner:
    """Plans remote changes against the hub: pure, and the same for a page or one record."""

    def __init__(self, rules: PullRules, *, only: frozenset[str] | None = None) -> None:
        self.rules = rules
        self.mapping = rules.mapping
        #: A backfill's remote fields: only these are planned, and a linked record is merged
        #: even when its version says nothing changed (the mapping did). None: every field.
        self.only = only

    def plan_page(self, page: PullPage) -> list[act.Action]:
        """One action per change of the page, in page order."""
        claimed: dict[str, str] = {}  # hub id (or a new record's match key) → remote id
        return [self._plan_change(page, change, claimed) for change in page.changes]

    def _plan_change(self, page: PullPage, change: Change, claimed: dict[str, str]) -> act.Action:
        link = page.links.get(change.key)
        if change.op is Op.DELETE:
            return self._plan_delete(change, link, page.hubs)
        try:
            allowed = self.mapping.allows_pull(change.fields)
        except ExpressionError as exc:
            return act.Fail(change.key, rule_failure("pull_rule", exc))
        if not allowed:
            return act.Skip(change.key)
        if link is not None:
            return self.plan_linked(
                page, change, link, page.hubs.get(link.hub_id), fresh=change.key in page.moved
            )
        keys = page.match_keys.get(change.key, [])
        if self.mapping.identity.events and not keys:
            return act.Fail(change.key, self.nameless(change))
        hub = page.own.get(change.key)
        adopted = hub is not None
        if hub is None:
            hub = next((page.matches[k] for k in keys if k in page.matches), None)
        # Whoever first claims a hub record (or, for a new one, a match key) gets it; a later
        # remote record with the same key is a duplicate over there.
        claim = hub.id if hub is not None else (f"{keys[0][0]}:{keys[0][1]}" if keys else None)
        other = claimed.get(claim) if claim else None
        if hub is None and other is None:
            other = next((page.taken[k] for k in keys if k in page.taken), None)
        if other is not None and other != change.key:
            return act.Fail(
                change.key, self.duplicate(change.key, keys[0][0] if keys else "identity", other)
            )
        if claim is not None:
            claimed[claim] = change.key
        if hub is None:
            if not self.mapping.create.hub:
                return act.Skip(change.key)
            return self._plan_fields(page, change, None, None, adopted=False)
        return self._plan_fields(page, change, hub, None, adopted=adopted)

    def plan_linked(
        self,
        page: PullPage,
        change: Change,
        link: LinkRow,
        hub: HubRecord | None,
        *,
        fresh: bool = False,
    ) -> act.Action:
        """A change of a linked remote record; ``fresh``: the link was just moved to it."""
        if hub is None or hub.deleted_at is not None:
            return act.Skip(change.key)  # deleted in the hub: the from_hub policy decides
        version = None if fresh else link.remote_version
        settles = version_settles(self.rules.row_versions, version, change.version)
        if settles and self.only is None:
            return act.Skip(change.key, counted=False)  # our own write back, or nothing new
        planned = self._plan_fields(page, change, hub, link, fresh=fresh)
        if isinstance(planned, act.Update) and _moves_nothing(planned, change, link, fresh):
            return act.Skip(change.key, counted=False, hub=hub)
        return planned

    def _plan_delete(
        self, change: Change, link: LinkRow | None, hubs: dict[str, HubRecord]
    ) -> act.Action:
        policy = self.mapping.deletes.from_remote
        if link is None:
            return act.Skip(change.key, counted=False)  # never linked, or unlinked already
        if policy == "ignore":
            return act.Skip(change.key)
        hub = hubs.get(link.hub_id)
        if policy == "unlink":
            return act.Unlink(change.key, link, hub)
        return act.Delete(
            change.key, link, hub, destructive=hub is not None and hub.deleted_at is None
        )

    def nameless(self, change: Change) -> Failure:
        """An event naming no hub record: none of its match fields holds a value."""
        obj, fields = self.mapping.remote_object, self.mapping.match_fields()
        names = " or ".join(row.remote for _, row in fields)
        unreadable = change.fields.get("_error")
        return Failure(
            ErrorKind.VALIDATION,
            f"{obj} {change.key} has no {names}, so it names nobody"
            + (f" ({unreadable})" if unreadable else ""),
            code="MISSING_MATCH_KEY",
            field=fields[0][1].remote if fields else None,
            hint=f"the sender must include {names}; fix the source, then replay it",
        )

    def duplicate(self, key: str, same_as: str, other: str) -> Failure:
        """Remote record ``key`` is the hub record that ``other`` is synced to already."""
        obj = self.mapping.remote_object
        return Failure(
            ErrorKind.DUPLICATE,
            f"{obj} {key} has the same {same_as} as {other}, which is already synced to that "
            "hub record",
            code="DUPLICATE_REMOTE_RECORD",
            hint=f"merge the duplicate {obj} records in {self.mapping.connection}, then retry",
        )

    # -- one record's fields ----------------------------------------------------------------

    def _plan_fields(
        self,
        page: PullPage,
        change: Change,
        hub: HubRecord | None,
        link: LinkRow | None,
        *,
        adopted: bool = False,
        fresh: bool = False,
    ) -> act.Action:
        """The per-field three-way merge of one remote record against its hub record."""
        create = hub is None
        hub_values = self.rules.schema.values(hub) if hub is not None else {}
        held: dict[str, Any] = {}
        base: dict[str, Any] = {}
        if link is not None and not fresh:
            base = reconcile_pending(link.snapshot, link.pending, dict(change.fields))
            held = dict(link.held)
        if adopted:  # its values are our own earlier write: the base, not news...
            # ...except a value the remote fills in itself (Lead Status's default): merged as
            # on a first link, never taken for "our value" that a blank hub must push back out.
            defaults = page.remote_defaults
            base = {
                name: canon(v)
                for name, v in change.fields.items()
                if defaults.get(name) is None or not same(v, defaults[name])
            }
        merge = _Merge(
            change, hub, hub_values, base, held, _remote_is_newer(change, hub), snapshot=dict(base)
        )
        moves, snapshot = merge.moves, merge.snapshot
        for row in self.mapping.fields:
            if row.remote not in change.fields:
                continue
            if self.only is not None and row.remote not in self.only:
                continue  # a backfill's record: its other fields stay as they last synced
            try:
                self._plan_row(page, row, merge)
            except (TransformError, ValueError) as exc:
                failure = value_failure(exc, row.remote, self.mapping.connection)
                if not self.mapping.skips_failed_field(row):
                    return act.Fail(change.key, failure, hub)
                # Leave the field out, as it last synced: it goes once the value or the
                # mapping is fixed, and the rest of the record goes now.
                value = canon(change.fields[row.remote])
                moves.refused[row.remote] = field_value_failure(
                    exc, row.remote, value, self.mapping.connection
                )
                moves.to_hub.pop(row.hub or "", None)
                merge.keep_as_synced(row.remote)
            else:
                moves.clean.append(row.remote)
        columns = self.rules.model.__table__.columns  # type: ignore[attr-defined]
        for remote_field, failure in moves.refused.items():
            row = next(r for r in self.mapping.fields if r.remote == remote_field)
            if create and row.hub in columns and not columns[row.hub].nullable:
                return act.Fail(change.key, failure)  # no hub record can be made without it
        for hub_field, remote in merge.waiting.items():
            required = hub_field in columns and not columns[hub_field].nullable
            why = f"{change.fields[remote]} is not synced to the hub yet"
            if create and hub_field not in moves.to_hub and required:
                return act.Fail(
                    change.key,
                    unresolved_reference(self.mapping, remote, why),
                    waiting_on=(remote, str(change.fields[remote])),
                )
            # An optional reference waits on its own: the record goes now, and its retry (on
            # the usual backoff: the field stays blank, so no link can name the record to
            # wake it early) reads it again to fill the field in.
            moves.refused[remote] = pending_reference(self.mapping, remote, why)
            moves.pending[remote] = str(change.fields[remote])
            moves.clean.remove(remote)
        kind: type[act.Write]
        if create:
            kind = act.Create
        elif link is None:
            kind = act.Link
        else:
            kind = act.Update
        planned = kind(change.key, hub, link, moves, snapshot)
        planned.held = held
        if isinstance(planned, act.Link):
            planned.adopted = adopted
        return planned

    def _plan_row(self, page: PullPage, row: FieldMap, merge: _Merge) -> None:
        """One field row of a remote change, decided into the merge's moves and snapshot."""
        hub, hub_values, moves = merge.hub, merge.hub_values, merge.moves
        remote_now = merge.change.fields[row.remote]
        ref_id: str | None = None
        hub_side_remote: Any = None
        if row.ref:
            # Ids only mean something once the referenced record is linked; until then leave
            # the field alone on both sides rather than blank it.
            to_hub = page.refs_to_hub[row.remote]
            to_remote = page.refs_to_remote[row.remote]
            ref_id = to_hub.get(str(remote_now)) if remote_now else None
            if remote_now and ref_id is None and row.pulls(self.mapping.direction):
                merge.waiting.setdefault(row.hub or "", row.remote)
                # Never synced: as if it last agreed on blank, so the re-read once the named
                # record links sees the remote's value as news and takes it.
                merge.snapshot.setdefault(row.remote, None)
                return
            hub_ref = hub_values.get(row.hub or "")
            hub_side_remote = to_remote.get(hub_ref) if hub_ref else None
            if hub_ref and hub_side_remote is None and hub is not None:
                return
        merge.snapshot[row.remote] = canon(remote_now)
        if hub is None:  # a new hub record
            if row.pulls(self.mapping.direction) and not blank(remote_now):
                moves.to_hub[row.hub or ""] = self._to_hub(row, remote_now, ref_id)
            return
        try:
            hub_now = hub_side_remote if row.ref else row.to_remote(hub_values)
        except (TransformError, ValueError):
            # The hub's own value cannot be put in the remote's terms: that is the push's
            # error to report (once, as the field's), not a second one here. The field stays
            # as it last synced until the hub's value is fixed.
            merge.keep_as_synced(row.remote)
            return
        decision = plan_field(
            FieldInput.of_row(
                row,
                self.mapping,
                base=merge.base.get(row.remote, MISSING),
                hub=hub_now,
                remote=remote_now,
                held=merge.held.get(row.remote, MISSING),
                remote_is_newer=merge.remote_newer,
            )
        )
        if decision.move is Move.HELD:
            moves.waiting = True
            return
        if decision.settled:
            del merge.held[row.remote]
            moves.settled.append(row.remote)
        if decision.move in (Move.TO_HUB, Move.TO_REMOTE):
            moves.reasons[row.remote] = decision.why
        base = merge.base.get(row.remote, MISSING)
        if (
            decision.move is not Move.TO_HUB
            and row.rule is not FieldRule.NONE
            and not same(remote_now, base)
            and not same(remote_now, hub_now)
        ):
            # A change read from the remote that the rules did not take: say why.
            moves.kept.append(
                act.Kept(
                    row.remote,
                    row.hub or row.remote,  # a computed row is known by its remote field
                    canon(hub_values.get(row.hub) if row.hub else hub_now),
                    canon(remote_now),
                    decision.why,
                )
            )
        if decision.move is Move.TO_HUB:
            moves.to_hub[row.hub or ""] = self._to_hub(row, remote_now, ref_id)
            moves.destructive |= decision.destructive
        elif decision.move is Move.TO_REMOTE:
            if not refused_again(page.refused.get(hub.id), row.remote, hub_now):
                moves.to_remote[row.remote] = canon(hub_now)
        elif decision.move is Move.CONFLICT:
            # Hold it: remember the hub's value so both phases leave the field alone until
            # an edit on either side decides (see merge.settle_held_conflict).
            merge.held[row.remote] = canon(hub_now)
            moves.conflicts.append(self._conflict(row.remote, hub_now, remote_now))

    def _conflict(self, remote_field: str, hub_now: Any, remote_now: Any) -> act.Conflict:
        failure = Failure(
            ErrorKind.CONFLICT,
            f"both sides changed {remote_field} since the last sync: hub "
            f"{canon(hub_now)!r}, {self.mapping.connection} {canon(remote_now)!r}",
            code=CONFLICT_CODE,
            field=remote_field,
            hint="edit one side to the value you want (the next cycle syncs it), "
            "or give this field a rule such as hub_wins",
        )
        return act.Conflict(remote_field, canon(hub_now), canon(remote_now), failure)

    def _to_hub(self, row: FieldMap, remote_value: Any, ref_id: str | None) -> Any:
        """The hub value of a remote value (a ``ref`` row's: the hub id it translates to)."""
        if row.ref:
            return ref_id
        value = row.to_hub(remote_value)
        return self.rules.hub_fields[row.hub or ""].coerce(value)

    # -- follow-ups on what the fetch step read next ----------------------------------------

    def natural_keys(self, planned: list[act.Action]) -> list[tuple[Any, ...]]:
        """The unique keys (a member's person + campaign) of the new hub records planned."""
        names = unique_key(self.rules.model)
        if not names:
            return []
        keys = (
            tuple(a.moves.to_hub.get(name) for name in names)
            for a in planned
            if isinstance(a, act.Create)
        )
        return list(dict.fromkeys(k for k in keys if None not in k))

    def join_natural_keys(
        self,
        page: PullPage,
        planned: list[act.Action],
        existing: dict[tuple[Any, ...], HubRecord],
        linked: set[str],
    ) -> list[act.Action]:
        """A new hub record whose unique key is taken joins the record that has it.

        Campaign membership is one row per person and campaign: a response recorded in a CRM
        for an existing member updates that membership instead of failing the page on the
        unique constraint. A second remote record for the same membership is skipped, and so
        is one whose membership is synced from another record already (``linked``).
        """
        names = unique_key(self.rules.model)
        if not names:
            return planned
        claimed: set[tuple[Any, ...]] = set()
        joined: list[act.Action] = []
        for action in planned:
            key = (
                tuple(action.moves.to_hub.get(n) for n in names)
                if isinstance(action, act.Create)
                else None
            )
            if key is None or None in key:
                joined.append(action)
                continue
            if key in claimed:
                joined.append(act.Skip(action.key))
                continue
            claimed.add(key)
            hub = existing.get(key)
            if hub is None or hub.deleted_at is not None:
                joined.append(action)
            elif hub.id in linked:
                joined.append(act.Skip(action.key))
            else:
                change = next(c for c in page.changes if c.key == action.key)
                joined.append(self._plan_fields(page, change, hub, None))
        return joined

    def waits(self, planned: list[act.Action]) -> list[tuple[tuple[str, ...], str]]:
        """(ref mappings, remote id) of the references records wait for, failed or pending."""
        refs = {row.remote: row.refs for row in self.mapping.fields if row.ref}
        waits: list[tuple[tuple[str, ...], str]] = []
        for a in planned:
            if isinstance(a, act.Fail) and a.waiting_on is not None:
                waits.append((refs[a.waiting_on[0]], a.waiting_on[1]))
            elif isinstance(a, act.Write):
                waits += [(refs[name], remote_id) for name, remote_id in a.moves.pending.items()]
        return waits

    def explain_waits(
        self, planned: list[act.Action], exclusions: dict[str, list[Exclusion]]
    ) -> None:
        """A reference its own mappings keep out will never resolve: do not retry it.

        A failed record says why and waits for an admin; an optional field simply stays blank
        (it is not ours to sync), with nothing to retry.
        """
        for action in planned:
            if isinstance(action, act.Write):
                for name, remote_id in list(action.moves.pending.items()):
                    if exclusions.get(remote_id):
                        del action.moves.pending[name]
                        del action.moves.refused[name]
                continue
            if not isinstance(action, act.Fail) or action.waiting_on is None:
                continue
            field_name, remote_id = action.waiting_on
            found = exclusions.get(remote_id)
            if found:
                parent = self.rules.mappings[found[0].mapping].remote_object
                action.failure = excluded_failure(
                    field_name, f"{parent} {remote_id}", found, follows=False
                )


def unique_key(model: type[HubRecord]) -> tuple[str, ...]:
    """The columns of a hub table's natural unique key (campaign_member: person, campaign)."""
    for constraint in model.__table__.constraints:  # type: ignore[attr-defined]
        if isinstance(constraint, UniqueConstraint):
            return tuple(column.name for column in constraint.columns)
    return ()


def _moves_nothing(planned: act.Update, change: Change, link: LinkRow, fresh: bool) -> bool:
    """Read again at the link's version, and the merge moves nothing: our echo, or no news."""
    moves = planned.moves
    return (
        not fresh
        and link.remote_version == change.version
        and not (moves.to_hub or moves.to_remote or moves.conflicts)
        and not (moves.waiting or moves.settled)
        and planned.snapshot == link.snapshot
        and planned.held == link.held
        and link.pending is None
    )


def _remote_is_newer(change: Change, hub: HubRecord | None) -> bool:
    if hub is None or hub.updated_at is None or change.modified_at is None:
        return True  # nothing to compare: the change we are looking at is the news
    return change.modified_at >= hub.updated_at

