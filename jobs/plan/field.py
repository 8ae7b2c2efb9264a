"""One field of one record: which value both sides should hold, decided the same in both phases.

The pull phase (a remote change arrived) and the push phase (a hub change is due) both describe
a field by its three values and its rule, and ask :func:`plan_field`. It needs no database and
no remote, so the whole decision table is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from jobs.compare import MISSING, blank, canon, same
from jobs.merge import FieldState, Verdict, Winner, judge, settle_held_conflict
from mappings.rules import Conflicts, FieldRule

if TYPE_CHECKING:
    from mappings.spec import FieldMap, Mapping


class Move(StrEnum):
    """What happens to one field."""

    NOTHING = "nothing"  # both sides agree, or the rule moves nothing
    TO_HUB = "to_hub"  # write the remote value into the hub
    TO_REMOTE = "to_remote"  # write the hub value to the remote
    CONFLICT = "conflict"  # both changed and an admin decides: hold it, record a conflict
    HELD = "held"  # a conflict held earlier still waits for an edit on either side


@dataclass(frozen=True, slots=True)
class FieldInput:
    """Everything one field's decision depends on, in the remote's representation."""

    rule: FieldRule
    base: Any  # the value at the last sync (MISSING: never synced, e.g. a first link)
    hub: Any  # the hub value, mapped to the remote's representation
    remote: Any  # the remote value
    pulls: bool  # may the remote value be written to the hub (row rule and mapping direction)
    pushes: bool  # may the hub value be written to the remote
    conflicts: Conflicts = Conflicts.NEWEST_WINS
    remote_is_newer: bool = False
    #: The hub value kept when a manual conflict was recorded (MISSING: no conflict held).
    held: Any = MISSING
    #: The row's ``default``: a remote holding it reads as blank, never as a typed value.
    placeholder: Any = None
    #: Who decides, for the reason in the field history: the mapping and its connection.
    mapping: str = ""
    connection: str = "the remote"
    #: Why a remote value that wins is not taken here ("" when it is).
    no_pull: str = ""
    #: A ``forward`` row's value order (see FieldState.order).
    order: tuple[tuple[Any, ...], ...] = ()

    @classmethod
    def of_row(
        cls,
        row: FieldMap,
        mapping: Mapping,
        *,
        base: Any,
        hub: Any,
        remote: Any,
        held: Any,
        remote_is_newer: bool,
        may_pull: bool = True,
    ) -> FieldInput:
        """One mapped row's field: its rule, default and flows, the mapping's conflict policy.

        ``may_pull`` narrows the pull further (the push phase takes remote values only from a
        record it has just matched).
        """
        pulls = row.pulls(mapping.direction)
        no_pull = ""
        if not pulls:
            no_pull = "the row does not sync to the hub"
        elif not may_pull:
            no_pull = (
                f"a push takes no value back from {mapping.connection}: "
                "only a change read there does"
            )
        return cls(
            row.rule,
            base,
            hub,
            remote,
            pulls=may_pull and pulls,
            pushes=row.pushes(mapping.direction),
            conflicts=mapping.conflicts,
            remote_is_newer=remote_is_newer,
            held=held,
            placeholder=row.default,
            mapping=mapping.name,
            connection=mapping.connection,
            no_pull=no_pull,
            order=row.value_order() if row.rule is FieldRule.FORWARD else (),
        )


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """The decision for one field."""

    move: Move
    #: A held conflict was decided by this look (an edit, or both sides made equal).
    settled: bool = False
    #: The move blanks a value the other side holds (counted by the mass-change brake).
    destructive: bool = False
    #: Why, in words (the rule or conflict policy that decided): kept in the field history.
    why: str = dataclass_field(default="", compare=False)
    #: The remote's value won but is not taken here (the push phase, or a row that does not
    #: pull): the hub keeps its own, which the history journals as "kept".
    remote_won: bool = dataclass_field(default=False, compare=False)


NOTHING = FieldPlan(Move.NOTHING)


def plan_field(field: FieldInput) -> FieldPlan:
    """Decide one field: the three-way merge, a held conflict, and the row's allowed flows."""
    state = FieldState(field.base, field.hub, field.remote, placeholder=field.placeholder,
                       order=field.order)
    settled = field.held is not MISSING
    verdict: Verdict | None
    if settled:
        verdict = settle_held_conflict(field.held, state)
        if verdict is None:
            return FieldPlan(Move.HELD)
    else:
        verdict = judge(
            field.rule, state, conflicts=field.conflicts, remote_is_newer=field.remote_is_newer
        )
    winner, why = verdict.winner, _worded(verdict.reason, field)
    if winner is Winner.CONFLICT:
        return FieldPlan(Move.CONFLICT, why=why)
    if winner is Winner.REMOTE and field.pulls:
        destructive = blank(field.remote) and not blank(field.hub)
        return FieldPlan(Move.TO_HUB, settled, destructive, why)
    if winner is Winner.HUB and field.pushes:
        destructive = blank(field.hub) and not blank(field.remote)
        return FieldPlan(Move.TO_REMOTE, settled, destructive, why)
    if winner is Winner.REMOTE and field.no_pull:
        why = f"{why}; {field.no_pull}"
    return FieldPlan(Move.NOTHING, settled, why=why, remote_won=winner is Winner.REMOTE)


def _worded(reason: str, field: FieldInput) -> str:
    """A verdict's reason with its connection named, and the mapping whose rule it is."""
    text = reason.replace("{remote}", field.connection)
    if not field.mapping:
        return text
    return f"{field.mapping}'s {text}" if text.startswith("rule ") else f"{field.mapping}: {text}"


def refused_again(refused: dict[str, Any] | None, remote_field: str, value: Any) -> bool:
    """The remote already refused exactly this value of this field (its error is still open).

    Sending it again would only be refused again; the field waits for a new value, a mapping
    that sends another one, or an admin's retry.
    """
    return bool(refused) and remote_field in refused and same(refused[remote_field], canon(value))
