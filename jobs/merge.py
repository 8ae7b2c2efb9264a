"""The per-field three-way merge: given base, hub and remote values, which side's value stands.

Pure functions, no I/O: the pull and push phases both ask :func:`decide`, so a field behaves the
same whichever phase notices the change first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jobs.compare import MISSING, blank, same
from mappings.rules import Conflicts, FieldRule


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


def settle_held_conflict(held_hub: Any, state: FieldState) -> Winner | None:
    """Decide a field with a held conflict: None while nobody has touched either side since."""
    if same(state.hub, state.remote):
        return Winner.AGREE
    if not same(state.remote, state.base):
        return Winner.REMOTE  # someone edited the remote since: that edit is the decision
    if not same(state.hub, held_hub):
        return Winner.HUB
    return None


def decide(
    rule: FieldRule,
    state: FieldState,
    *,
    conflicts: Conflicts = Conflicts.NEWEST_WINS,
    remote_is_newer: bool = False,
) -> Winner:
    """Which side's value should both sides hold for this field?

    ``remote_is_newer`` breaks ``newest_wins`` ties in favour of the record changed last.
    The caller checks that the winning flow is allowed for the row (direction, rule sets).
    """
    if same(state.hub, state.remote):
        return Winner.AGREE
    if rule is FieldRule.NONE:
        return Winner.NONE
    first_link = state.base is MISSING
    if first_link:
        # Two records just matched (e.g. by email): a blank never erases a value, whatever
        # the rule, so linking an existing CRM record cannot wipe data on either side.
        if state.empty(state.hub):
            return Winner.REMOTE if rule is not FieldRule.TO_REMOTE else Winner.NONE
        if state.empty(state.remote):
            return Winner.HUB if rule is not FieldRule.TO_HUB else Winner.NONE
    remote_changed = first_link or not same(state.remote, state.base)
    hub_changed = first_link or not same(state.hub, state.base)

    match rule:
        case FieldRule.TO_REMOTE:
            return Winner.HUB
        case FieldRule.TO_HUB:
            return Winner.REMOTE
        case FieldRule.PREFER_REMOTE_UNLESS_BLANK:
            return Winner.HUB if state.empty(state.remote) else Winner.REMOTE
        case FieldRule.PREFER_HUB_UNLESS_BLANK:
            return Winner.REMOTE if state.empty(state.hub) else Winner.HUB
        case FieldRule.FILL_BLANK:
            if state.empty(state.hub):
                return Winner.REMOTE
            if state.empty(state.remote):
                return Winner.HUB
            return Winner.NONE
    # two_way, hub_wins, remote_wins: a change on one side flows to the other.
    if remote_changed and not hub_changed:
        return Winner.REMOTE
    if hub_changed and not remote_changed:
        return Winner.HUB
    if rule is FieldRule.HUB_WINS:
        return Winner.HUB
    if rule is FieldRule.REMOTE_WINS:
        return Winner.REMOTE
    match conflicts:
        case Conflicts.HUB_WINS:
            return Winner.HUB
        case Conflicts.REMOTE_WINS:
            return Winner.REMOTE
        case Conflicts.MANUAL:
            return Winner.CONFLICT
    return Winner.REMOTE if remote_is_newer else Winner.HUB
