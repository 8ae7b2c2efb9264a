"""The per-field three-way merge: given base, hub and remote values, which side's value stands.

Pure functions, no I/O: the pull and push phases both ask :func:`decide`, so a field behaves the
same whichever phase notices the change first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jobs.compare import MISSING, blank, same
from mappings.rules import PULL_ONLY, Conflicts, FieldRule


class Winner(StrEnum):
    """Outcome for one field."""

    AGREE = "agree"  # both sides already hold the same value
    REMOTE = "remote"  # the remote value should be written to the hub
    HUB = "hub"  # the hub value should be written to the remote
    NONE = "none"  # values differ but the rule moves nothing (fill_blank, one-way)
    CONFLICT = "conflict"  # both changed and the mapping says an admin decides


@dataclass(frozen=True, slots=True)
class FieldState:
    """One field's three values, in the remote's representation."""

    base: Any  # snapshot value (MISSING when never synced)
    hub: Any  # the hub value mapped to the remote representation
    remote: Any  # the remote value
    #: The row's ``default``: a remote holding it means "nothing here" (it reads as blank in
    #: the hub), so it must never win over a real value as if someone had typed it.
    placeholder: Any = None
    #: Values in the order a ``forward`` field moves through (remote representation); values
    #: at one position are equal steps. Empty for every other rule.
    order: tuple[tuple[Any, ...], ...] = ()

    def rank(self, value: Any) -> int:
        """Position of ``value`` in ``order``; -1 when blank or not listed (before them all)."""
        if blank(value):
            return -1
        return next((i for i, step in enumerate(self.order)
                     if any(same(value, v) for v in step)), -1)

    def empty(self, value: Any) -> bool:
        """Blank, or the placeholder a default filled in."""
        return blank(value) or (self.placeholder is not None and same(value, self.placeholder))


def reconcile_pending(
    snapshot: dict[str, Any], pending: dict[str, Any] | None, remote_fields: dict[str, Any]
) -> dict[str, Any]:
    """The snapshot with a write in flight folded in where the remote shows it landed.

    ``pending`` is what a write whose outcome we never learned was sending (``Link.pending``):
    a remote value equal to it is our own write coming back, not an edit made over there.
    """
    base = dict(snapshot)
    for name, value in (pending or {}).items():
        if name in remote_fields and same(remote_fields[name], value):
            base[name] = value
    return base


@dataclass(frozen=True, slots=True)
class Verdict:
    """A winner and why, in words an admin reads in the field history.

    ``reason`` names the remote as ``{remote}``, filled in with the connection's name by
    :func:`jobs.plan.field.plan_field` (the merge itself knows no connection).
    """

    winner: Winner
    reason: str


def settle_held_conflict(held_hub: Any, state: FieldState) -> Verdict | None:
    """Decide a field with a held conflict: None while nobody has touched either side since."""
    if same(state.hub, state.remote):
        return Verdict(Winner.AGREE, "the held conflict is over: both sides now agree")
    if not same(state.remote, state.base):
        # Someone edited the remote since: that edit is the decision.
        return Verdict(Winner.REMOTE, "the held conflict was settled by an edit in {remote}")
    if not same(state.hub, held_hub):
        return Verdict(Winner.HUB, "the held conflict was settled by an edit in the hub")
    return None


def decide(
    rule: FieldRule,
    state: FieldState,
    *,
    conflicts: Conflicts = Conflicts.NEWEST_WINS,
    remote_is_newer: bool = False,
) -> Winner:
    """Which side's value should both sides hold for this field? (see :func:`judge`)."""
    return judge(rule, state, conflicts=conflicts, remote_is_newer=remote_is_newer).winner


def judge(
    rule: FieldRule,
    state: FieldState,
    *,
    conflicts: Conflicts = Conflicts.NEWEST_WINS,
    remote_is_newer: bool = False,
) -> Verdict:
    """Which side's value should both sides hold for this field, and why?

    ``remote_is_newer`` breaks ``newest_wins`` ties in favour of the record changed last.
    The caller checks that the winning flow is allowed for the row (direction, rule sets).
    """
    if same(state.hub, state.remote):
        return Verdict(Winner.AGREE, "both sides hold the same value")
    named = f"rule {rule.value}"
    if rule is FieldRule.NONE:
        return Verdict(Winner.NONE, f"{named}: the field does not sync")
    first_link = state.base is MISSING
    if first_link:
        # Two records just matched (e.g. by email): a blank never erases a value, whatever
        # the rule, so linking an existing CRM record cannot wipe data on either side.
        if state.empty(state.hub):
            if rule is FieldRule.TO_REMOTE:
                return Verdict(Winner.NONE, f"first link, {named}: the hub is blank")
            return Verdict(Winner.REMOTE, "first link: the hub was blank, {remote} was not")
        if state.empty(state.remote):
            if rule in PULL_ONLY:
                return Verdict(Winner.NONE, f"first link, {named}: {{remote}} is blank")
            return Verdict(Winner.HUB, "first link: {remote} was blank, the hub was not")
    if rule is FieldRule.FORWARD:
        if state.rank(state.remote) > state.rank(state.hub):
            return Verdict(Winner.REMOTE, f"{named}: {{remote}}'s value comes later in the order")
        return Verdict(Winner.NONE, f"{named}: the hub's value is as far along: it never moves "
                       "back")
    remote_changed = first_link or not same(state.remote, state.base)
    hub_changed = first_link or not same(state.hub, state.base)

    match rule:
        case FieldRule.TO_REMOTE:
            return Verdict(Winner.HUB, f"{named}: the hub's value goes to {{remote}}")
        case FieldRule.TO_HUB:
            return Verdict(Winner.REMOTE, f"{named}: {{remote}}'s value goes to the hub")
        case FieldRule.PREFER_REMOTE_UNLESS_BLANK:
            if state.empty(state.remote):
                return Verdict(Winner.HUB, f"{named}: {{remote}} is blank, so the hub's stands")
            return Verdict(Winner.REMOTE, f"{named}: {{remote}} holds a value, so it stands")
        case FieldRule.PREFER_HUB_UNLESS_BLANK:
            if state.empty(state.hub):
                return Verdict(Winner.REMOTE, f"{named}: the hub is blank, so {{remote}}'s stands")
            return Verdict(Winner.HUB, f"{named}: the hub holds a value, so it stands")
        case FieldRule.TO_HUB_IF_BLANK:
            if state.empty(state.hub):
                return Verdict(Winner.REMOTE, f"{named}: the hub was blank")
            return Verdict(Winner.NONE, f"{named}: the hub holds a value, which stays")
        case FieldRule.FILL_BLANK:
            if state.empty(state.hub):
                return Verdict(Winner.REMOTE, f"{named}: the hub was blank")
            if state.empty(state.remote):
                return Verdict(Winner.HUB, f"{named}: {{remote}} was blank")
            return Verdict(Winner.NONE, f"{named}: both hold a value, neither is overwritten")
    # two_way, hub_wins, remote_wins: a change on one side flows to the other.
    if remote_changed and not hub_changed:
        return Verdict(Winner.REMOTE, f"{named}: only {{remote}} changed since the last sync")
    if hub_changed and not remote_changed:
        return Verdict(Winner.HUB, f"{named}: only the hub changed since the last sync")
    both = "both sides changed since the last sync" if not first_link else "first link"
    if rule is FieldRule.HUB_WINS:
        return Verdict(Winner.HUB, f"{named}: {both}, the hub wins")
    if rule is FieldRule.REMOTE_WINS:
        return Verdict(Winner.REMOTE, f"{named}: {both}, {{remote}} wins")
    policy = f"{both}; conflicts: {conflicts.value}"
    match conflicts:
        case Conflicts.HUB_WINS:
            return Verdict(Winner.HUB, policy)
        case Conflicts.REMOTE_WINS:
            return Verdict(Winner.REMOTE, policy)
        case Conflicts.MANUAL:
            return Verdict(Winner.CONFLICT, f"{policy}, held until an edit decides")
    if remote_is_newer:
        return Verdict(Winner.REMOTE, f"{policy}, {{remote}}'s record changed last")
    return Verdict(Winner.HUB, f"{policy}, the hub record changed last")
