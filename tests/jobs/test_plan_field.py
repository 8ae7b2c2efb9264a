"""plan_field's decision table: every rule and conflict policy, with no database and no remote.

A readable table of the cases admins ask about, then the whole space (rules x policies x
blank/equal/changed on each side x first link/linked/held x allowed flows) checked against the
properties the rule table promises, and against its mirror image.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from jobs.compare import MISSING, blank
from jobs.plan.field import FieldInput, FieldPlan, Move, plan_field
from mappings.rules import Conflicts, FieldRule

R = FieldRule
C = Conflicts
M = MISSING
TO_HUB, TO_REMOTE, NOTHING = Move.TO_HUB, Move.TO_REMOTE, Move.NOTHING
CONFLICT, HELD = Move.CONFLICT, Move.HELD


def decide(
    rule: FieldRule, base: Any, hub: Any, remote: Any, *, conflicts: Conflicts = C.NEWEST_WINS,
    newer: bool = False, held: Any = M, pulls: bool = True, pushes: bool = True,
) -> FieldPlan:
    return plan_field(FieldInput(rule, base, hub, remote, pulls, pushes, conflicts, newer, held))


# rule, base, hub, remote, options → move (and settled/destructive where they matter)
TABLE: list[tuple[str, FieldRule, Any, Any, Any, dict[str, Any], Move]] = [
    ("equal values move nothing", R.TWO_WAY, "a", "b", "b", {}, NOTHING),
    ("a CRM edit flows to the hub", R.TWO_WAY, "a", "a", "b", {}, TO_HUB),
    ("a hub edit flows to the CRM", R.TWO_WAY, "a", "b", "a", {}, TO_REMOTE),
    ("both edited, CRM newer", R.TWO_WAY, "a", "b", "c", {"newer": True}, TO_HUB),
    ("both edited, hub newer", R.TWO_WAY, "a", "b", "c", {"newer": False}, TO_REMOTE),
    ("both edited, policy hub_wins", R.TWO_WAY, "a", "b", "c",
     {"conflicts": C.HUB_WINS, "newer": True}, TO_REMOTE),
    ("both edited, policy remote_wins", R.TWO_WAY, "a", "b", "c",
     {"conflicts": C.REMOTE_WINS}, TO_HUB),
    ("both edited, policy manual", R.TWO_WAY, "a", "b", "c", {"conflicts": C.MANUAL}, CONFLICT),
    ("rule hub_wins beats a newer CRM edit", R.HUB_WINS, "a", "b", "c", {"newer": True},
     TO_REMOTE),
    ("rule remote_wins beats a newer hub edit", R.REMOTE_WINS, "a", "b", "c", {}, TO_HUB),
    ("first link: a blank hub takes the CRM value", R.TWO_WAY, M, "", "c", {}, TO_HUB),
    ("first link: a blank CRM takes the hub value", R.TWO_WAY, M, "b", "", {}, TO_REMOTE),
    ("first link: to_remote never blanks the CRM", R.TO_REMOTE, M, "", "c", {}, NOTHING),
    ("first link: to_hub never blanks the hub", R.TO_HUB, M, "b", "", {}, NOTHING),
    ("to_remote enforces the hub value", R.TO_REMOTE, "a", "a", "c", {}, TO_REMOTE),
    ("to_hub enforces the CRM value", R.TO_HUB, "a", "b", "a", {}, TO_HUB),
    ("prefer_remote_unless_blank takes a CRM value", R.PREFER_REMOTE_UNLESS_BLANK, "a", "b",
     "c", {}, TO_HUB),
    ("prefer_remote_unless_blank keeps the hub over a blank", R.PREFER_REMOTE_UNLESS_BLANK,
     "a", "b", "", {}, TO_REMOTE),
    ("prefer_hub_unless_blank fills a blank hub", R.PREFER_HUB_UNLESS_BLANK, "a", "", "c", {},
     TO_HUB),
    ("fill_blank fills a blank hub", R.FILL_BLANK, "a", "", "c", {}, TO_HUB),
    ("fill_blank fills a blank CRM", R.FILL_BLANK, "a", "b", "", {}, TO_REMOTE),
    ("fill_blank leaves two values alone", R.FILL_BLANK, "a", "b", "c", {}, NOTHING),
    ("none moves nothing", R.NONE, "a", "a", "c", {}, NOTHING),
    ("a pull-only mapping does not push", R.TWO_WAY, "a", "b", "a", {"pushes": False}, NOTHING),
    ("a push-only mapping does not pull", R.TWO_WAY, "a", "a", "b", {"pulls": False}, NOTHING),
    ("a held conflict waits", R.TWO_WAY, "c", "b", "c", {"held": "b"}, HELD),
    ("a CRM edit settles a held conflict", R.TWO_WAY, "c", "b", "d", {"held": "b"}, TO_HUB),
    ("a hub edit settles a held conflict", R.TWO_WAY, "c", "e", "c", {"held": "b"}, TO_REMOTE),
]


@pytest.mark.parametrize(
    ("rule", "base", "hub", "remote", "options", "move"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_the_table(
    rule: FieldRule, base: Any, hub: Any, remote: Any, options: dict[str, Any], move: Move
) -> None:
    assert decide(rule, base, hub, remote, **options).move is move


def test_a_held_conflict_made_equal_is_settled_without_a_write() -> None:
    plan = decide(R.TWO_WAY, "c", "d", "d", held="b")
    assert plan == FieldPlan(NOTHING, settled=True)


def test_blanking_a_value_is_destructive_and_filling_one_is_not() -> None:
    assert decide(R.TWO_WAY, "a", "a", "").destructive, "a CRM value cleared, to the hub"
    assert decide(R.TWO_WAY, "a", "", "a").destructive, "a hub value cleared, to the CRM"
    assert not decide(R.TWO_WAY, "", "", "c").destructive, "a blank hub filled"
    assert not decide(R.FILL_BLANK, "a", "", "c").destructive


# -- the whole space --------------------------------------------------------------------------

BASES = [M, "", "a"]
VALUES = ["", "a", "b"]
HELD_VALUES = [M, "a", "b"]
CASES = list(itertools.product(
    list(R), list(C), BASES, VALUES, VALUES, [False, True], HELD_VALUES, [False, True],
    [False, True],
))
MIRROR_RULE = {
    R.HUB_WINS: R.REMOTE_WINS, R.REMOTE_WINS: R.HUB_WINS,
    R.PREFER_HUB_UNLESS_BLANK: R.PREFER_REMOTE_UNLESS_BLANK,
    R.PREFER_REMOTE_UNLESS_BLANK: R.PREFER_HUB_UNLESS_BLANK,
    R.TO_HUB: R.TO_REMOTE, R.TO_REMOTE: R.TO_HUB,
}
MIRROR_CONFLICTS = {C.HUB_WINS: C.REMOTE_WINS, C.REMOTE_WINS: C.HUB_WINS}
MIRROR_MOVE = {TO_HUB: TO_REMOTE, TO_REMOTE: TO_HUB}


def test_the_whole_space_keeps_the_rule_tables_promises() -> None:
    assert len(CASES) > 10_000
    broken: list[str] = []
    for rule, policy, base, hub, remote, newer, held, pulls, pushes in CASES:
        plan = decide(rule, base, hub, remote, conflicts=policy, newer=newer, held=held,
                      pulls=pulls, pushes=pushes)
        case = f"{rule} {policy} base={base!r} hub={hub!r} remote={remote!r} held={held!r}"
        move = plan.move
        if move is TO_HUB and not pulls or move is TO_REMOTE and not pushes:
            broken.append(f"{case}: {move} where that flow is not allowed")
        if hub == remote and move is not NOTHING:
            broken.append(f"{case}: equal values moved ({move})")
        if held is M:
            if move is HELD or plan.settled:
                broken.append(f"{case}: held/settled without a held conflict")
            if rule is R.NONE and move is not NOTHING:
                broken.append(f"{case}: rule none moved")
            if rule is R.TO_REMOTE and move is TO_HUB or rule is R.TO_HUB and move is TO_REMOTE:
                broken.append(f"{case}: a one-way rule flowed backwards")
            if base is M and plan.destructive:
                broken.append(f"{case}: a first link blanked a value")
            target = {TO_REMOTE: remote, TO_HUB: hub}.get(move, "")
            if rule is R.FILL_BLANK and not blank(target):
                broken.append(f"{case}: fill_blank wrote over a value")
            if rule is R.TO_HUB_IF_BLANK and (move is TO_REMOTE or not blank(target)):
                broken.append(f"{case}: to_hub_if_blank pushed or wrote over a value")
            if move is CONFLICT and policy is not C.MANUAL:
                broken.append(f"{case}: a conflict without the manual policy")
        elif move is CONFLICT:
            broken.append(f"{case}: a held conflict raised another")
    assert broken == [], broken[:10]


def test_the_whole_space_is_its_own_mirror_image() -> None:
    """Swapping the sides (and every side-named rule) swaps the move."""
    broken: list[str] = []
    for rule, policy, base, hub, remote, newer, held, pulls, pushes in CASES:
        if held is not M or policy is C.NEWEST_WINS and hub != base and remote != base:
            continue  # a held value is the hub's; newest_wins ties look at one side's clock
        if rule in (R.TO_HUB_IF_BLANK, R.FORWARD):
            continue  # one-sided by design: no rule of theirs ever writes the remote
        plan = decide(rule, base, hub, remote, conflicts=policy, newer=newer,
                      pulls=pulls, pushes=pushes)
        mirrored = decide(MIRROR_RULE.get(rule, rule), base, remote, hub,
                          conflicts=MIRROR_CONFLICTS.get(policy, policy), newer=not newer,
                          pulls=pushes, pushes=pulls)
        if MIRROR_MOVE.get(plan.move, plan.move) is not mirrored.move:
            broken.append(f"{rule} {policy} {base!r} {hub!r} {remote!r}: {plan.move} vs "
                          f"{mirrored.move}")
    assert broken == [], broken[:10]


def why(rule: FieldRule, base: Any, hub: Any, remote: Any, **options: Any) -> str:
    """The reason the field history keeps, for a mapping "crm-lead" on connection "crm"."""
    field = FieldInput(
        rule, base, hub, remote, options.pop("pulls", True), True,
        options.pop("conflicts", C.NEWEST_WINS), options.pop("newer", False),
        options.pop("held", M), mapping="crm-lead", connection="crm",
        no_pull=options.pop("no_pull", ""),
    )
    assert not options
    return plan_field(field).why


@pytest.mark.parametrize(("rule", "base", "hub", "remote", "options", "reason"), [
    (R.TWO_WAY, "a", "a", "b", {}, "crm-lead's rule two_way: only crm changed since the last sync"),
    (R.TWO_WAY, "a", "b", "c", {"newer": True},
     "crm-lead: both sides changed since the last sync; conflicts: newest_wins, crm's record "
     "changed last"),
    (R.TWO_WAY, "a", "b", "c", {"conflicts": C.MANUAL},
     "crm-lead: both sides changed since the last sync; conflicts: manual, held until an edit "
     "decides"),
    (R.HUB_WINS, "a", "b", "c", {},
     "crm-lead's rule hub_wins: both sides changed since the last sync, the hub wins"),
    (R.TWO_WAY, M, None, "c", {}, "crm-lead: first link: the hub was blank, crm was not"),
    (R.FILL_BLANK, "a", "b", "c", {},
     "crm-lead's rule fill_blank: both hold a value, neither is overwritten"),
    (R.PREFER_HUB_UNLESS_BLANK, "a", None, "c", {},
     "crm-lead's rule prefer_hub_unless_blank: the hub is blank, so crm's stands"),
    (R.PREFER_REMOTE_UNLESS_BLANK, "a", "b", "a",
     {"pulls": False, "no_pull": "a push takes no value back"},
     "crm-lead's rule prefer_remote_unless_blank: crm holds a value, so it stands; a push "
     "takes no value back"),
    (R.TWO_WAY, "a", "a", "c", {"held": "a"},
     "crm-lead: the held conflict was settled by an edit in crm"),
])
def test_each_decision_says_why_in_the_words_the_history_keeps(
    rule: FieldRule, base: Any, hub: Any, remote: Any, options: dict[str, Any], reason: str
) -> None:
    assert why(rule, base, hub, remote, **options) == reason


STATUSES = (("Registered",), ("No Show",), ("Attended", "Watched"))


def forward(base: Any, hub: Any, remote: Any) -> Move:
    """A ``forward`` status row as a Zoom registrant mapping has it (pull only)."""
    field = FieldInput(R.FORWARD, base, hub, remote, True, False, order=STATUSES)
    return plan_field(field).move


@pytest.mark.parametrize(("base", "hub", "remote", "move"), [
    ("Registered", "Registered", "Attended", TO_HUB),   # the report came in
    ("Registered", "Registered", "No Show", TO_HUB),
    ("No Show", "No Show", "Attended", TO_HUB),         # a late report: still forward
    ("Attended", "Attended", "No Show", NOTHING),        # an older report never moves back
    ("Registered", "Attended", "Registered", NOTHING),   # the hub is ahead (a CRM said so)
    ("Registered", "Attended", "Watched", NOTHING),      # the same step, another spelling
    (M, None, "Registered", TO_HUB),                     # a first link fills a blank
    ("Registered", "Invited", "Registered", TO_HUB),     # a value outside the order comes first
    ("Attended", "Attended", None, NOTHING),             # a blank never moves a status back
])
def test_forward_only_moves_a_value_later_in_its_order(
    base: Any, hub: Any, remote: Any, move: Move
) -> None:
    assert forward(base, hub, remote) is move
