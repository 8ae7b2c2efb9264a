"""The record planners with no database and no remote: a page's plan from what a fetch read.

The field decision itself is plan_field's (tests/jobs/test_plan_field.py). What is checked here
is everything around it: that each record state (first link, linked, a write in flight, a held
conflict) hands plan_field the right base, in both directions, and that its decision becomes the
right typed action: which field goes where, what is held, what a page skips, fails or deletes.
Over five thousand combinations run in seconds, because nothing here touches a database.
"""

from __future__ import annotations

import functools
import itertools
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.base import Change, Op
from core.hubschema import HubSchema
from core.models import Link, Person
from jobs.compare import MISSING
from jobs.plan import actions as act
from jobs.plan.field import FieldInput, Move, plan_field
from jobs.plan.pull import PullPage, PullPlanner, PullRules
from jobs.plan.push import PushPage, PushPlanner
from mappings.loader import load_mappings
from mappings.rules import Conflicts, FieldRule
from mappings.spec import Mapping
from tests.jobs.harness import mapping

SCHEMA = HubSchema.standard()
EMAIL = "ann@acme.com"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BASE, HUB_EDIT, REMOTE_EDIT = "Base", "Hub edit", "Remote edit"
HUBS = (None, BASE, HUB_EDIT)
REMOTES = (None, BASE, REMOTE_EDIT)
STATES = ("first link", "linked", "write in flight", "held conflict")


def _mapping(rule: FieldRule, conflicts: Conflicts = Conflicts.NEWEST_WINS, **more: Any) -> Mapping:
    """The lead mapping cut to email and title, through the real loader (rows compiled)."""
    return _load(rule, conflicts, json.dumps(more, sort_keys=True))


@functools.cache
def _load(rule: FieldRule, conflicts: Conflicts, more: str) -> Mapping:
    data = mapping(conflicts=conflicts.value, **json.loads(more))
    data["fields"] = [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "title", "remote": "Title", "rule": rule.value},
    ]
    if rule is FieldRule.FORWARD:  # a forward row moves along its value_map's order
        order = ("Older", BASE, HUB_EDIT, REMOTE_EDIT)
        data["fields"][1]["value_map"] = {value: value for value in order}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "crm-person.yaml").write_text(yaml.safe_dump(data))
        return load_mappings(folder, hub_schema=SCHEMA)["crm-person"]


def _person(title: Any, **fields: Any) -> Person:
    return Person(id="h1", email=EMAIL, title=title, updated_at=T0, **fields)


def _link(state: str, *, held_hub: Any = HUB_EDIT) -> Link | None:
    if state == "first link":
        return None
    link = Link(
        hub_object="person", hub_id="h1", connection="crm", remote_object="Lead",
        remote_id="00Q1", mapping="crm-person", snapshot={"Email": EMAIL, "Title": BASE},
        remote_version="v1", held={}, pending=None,
    )
    if state == "write in flight":  # we sent the remote's value and never learned the outcome
        link.snapshot = {"Email": EMAIL, "Title": "Older"}
        link.pending = {"Title": BASE}
    if state == "held conflict":
        link.held = {"Title": held_hub}
    return link


def _pull(m: Mapping, hub: Person, link: Link | None, remote: Any, newer: bool) -> act.Action:
    change = Change(
        "00Q1", Op.UPSERT, {"Email": EMAIL, "Title": remote},
        modified_at=T0 + timedelta(seconds=1 if newer else -1), version="v2",
    )
    planner = PullPlanner(PullRules(m, SCHEMA, Person, {m.name: m}, row_versions=False))
    if link is None:
        key = ("email", EMAIL)
        page = PullPage([change], {}, {}, match_keys={"00Q1": [key]}, matches={key: hub})
    else:
        page = PullPage([change], {"00Q1": link}, {"h1": hub})
    (planned,) = planner.plan_page(page)
    return planned


def _push(m: Mapping, hub: Person, link: Link | None, remote: Any, newer: bool) -> act.Action:
    planner = PushPlanner(m, SCHEMA, {m.name: m})
    if link is None:
        found = Change(
            "00Q1", Op.UPSERT, {"Email": EMAIL, "Title": remote},
            modified_at=T0 + timedelta(seconds=1 if newer else -1), version="v2",
        )
        page = PushPage([hub], {}, matches={("email", EMAIL): [found]},
                        match_keys={"h1": [("email", EMAIL)]})
    else:
        page = PushPage([hub], {"h1": link})
    (planned,) = planner.plan_page(page, planner.triage(page.hubs, page.links))
    return planned


def _expected(m: Mapping, state: str, hub: Any, remote: Any, newer: bool, *, pulling: bool) -> Move:
    """What plan_field says, given the base the record's state should hand it."""
    row = m.fields[1]
    if not pulling and not row.pushes(m.direction):
        return Move.NOTHING  # the push phase only looks at rows that push
    base: Any = MISSING if state == "first link" else BASE
    if state == "write in flight" and pulling and remote != BASE:
        base = "Older"  # what we were sending did not land: the last agreed value stands
    if not pulling and state != "first link":
        # Not read while pushing: the remote holds what the last sync left (an intent in
        # flight is unknown territory until a read shows whether it landed).
        base = "Older" if state == "write in flight" else BASE
        remote = base
    return plan_field(
        FieldInput.of_row(
            row, m, base=base, hub=hub, remote=remote,
            held=HUB_EDIT if state == "held conflict" else MISSING,
            remote_is_newer=newer if (pulling or state == "first link") else False,
            may_pull=pulling or state == "first link",
        )
    ).move


CASES = list(itertools.product(FieldRule, Conflicts, STATES, HUBS, REMOTES, (True, False)))


@pytest.mark.parametrize("pulling", [True, False], ids=["pull", "push"])
def test_every_record_state_hands_plan_field_the_right_base(pulling: bool) -> None:
    """Rules x policies x record states x blank/equal/changed on each side x who is newer."""
    plan = _pull if pulling else _push
    for rule, conflicts, state, hub_value, remote_value, newer in CASES:
        m = _mapping(rule, conflicts)
        planned = plan(m, _person(hub_value), _link(state), remote_value, newer)
        move = _expected(m, state, hub_value, remote_value, newer, pulling=pulling)
        case = f"{rule} {conflicts} {state} hub={hub_value!r} remote={remote_value!r} {newer=}"
        if pulling and state != "first link" and move in (Move.NOTHING, Move.HELD):
            # Nothing moves and the snapshot only catches up: still written (a new version).
            assert isinstance(planned, act.Update | act.Skip), case
        else:
            want = act.Link if state == "first link" else act.Update
            assert isinstance(planned, want), case
        moves = planned.moves if isinstance(planned, act.Write) else act.FieldMoves()
        assert _move_of(moves) is move, case
        if move is Move.TO_HUB:
            assert moves.to_hub == {"title": remote_value}, case
        if move is Move.TO_REMOTE:
            assert moves.to_remote == {"Title": hub_value}, case
        if pulling and isinstance(planned, act.Write):
            assert planned.snapshot["Title"] == remote_value, case  # the next base
            if move is Move.CONFLICT:
                assert planned.held == {"Title": hub_value}, case
            elif state == "held conflict":
                assert planned.held == ({"Title": HUB_EDIT} if move is Move.HELD else {}), case


def _move_of(moves: act.FieldMoves) -> Move:
    if moves.waiting:
        return Move.HELD
    if moves.conflicts:
        return Move.CONFLICT
    if moves.to_hub:
        return Move.TO_HUB
    if moves.to_remote:
        return Move.TO_REMOTE
    return Move.NOTHING


def test_a_write_in_flight_that_landed_is_our_echo_not_an_edit() -> None:
    """The remote shows what we were sending: nothing moves, and the intent is folded in."""
    planned = _pull(_mapping(FieldRule.TWO_WAY), _person(BASE), _link("write in flight"), BASE,
                    newer=True)
    assert isinstance(planned, act.Update)
    assert _move_of(planned.moves) is Move.NOTHING
    assert planned.snapshot["Title"] == BASE


def test_a_second_read_at_the_same_version_moves_nothing() -> None:
    """The inclusive cursor reads the last record again: no action, not even a link write."""
    m = _mapping(FieldRule.TWO_WAY)
    link = _link("linked")
    assert link is not None
    link.remote_version = "v2"
    planned = _pull(m, _person(BASE), link, BASE, newer=True)
    assert planned == act.Skip("00Q1", counted=False, hub=planned.hub)


def test_a_same_second_edit_at_the_same_version_is_still_news() -> None:
    """Whole-second versions tie: the value, not the stamp, says whether something changed."""
    link = _link("linked")
    assert link is not None
    link.remote_version = "v2"
    planned = _pull(_mapping(FieldRule.TWO_WAY), _person(BASE), link, REMOTE_EDIT, newer=True)
    assert isinstance(planned, act.Update)
    assert planned.moves.to_hub == {"title": REMOTE_EDIT}


def test_pull_page_plans_deletes_rules_duplicates_and_creates() -> None:
    """One page with every record-level outcome, planned without a database."""
    m = _mapping(FieldRule.TWO_WAY, pull_rule="Title != 'Excluded'",
                 deletes={"from_remote": "delete_hub", "brake_floor": 100})
    linked = _link("linked")
    assert linked is not None
    hub = _person(BASE)
    changes = [
        Change("00Q1", Op.DELETE),
        Change("00Q2", Op.UPSERT, {"Email": "bob@acme.com", "Title": "Excluded"}),
        Change("00Q3", Op.UPSERT, {"Email": "cy@acme.com", "Title": "New"}),
        Change("00Q4", Op.UPSERT, {"Email": "cy@acme.com", "Title": "Twin"}),
        Change("00Q5", Op.DELETE),
    ]
    keys = {c.key: [("email", str(c.fields["Email"]))] for c in changes if c.fields}
    page = PullPage(changes, {"00Q1": linked}, {"h1": hub}, match_keys=keys)
    planner = PullPlanner(PullRules(m, SCHEMA, Person, {m.name: m}, row_versions=False))
    deleted, excluded, created, twin, unknown = planner.plan_page(page)
    assert isinstance(deleted, act.Delete) and deleted.hub is hub and deleted.destructive
    assert excluded == act.Skip("00Q2")
    assert isinstance(created, act.Create)
    assert created.moves.to_hub == {"email": "cy@acme.com", "title": "New"}
    assert isinstance(twin, act.Fail) and twin.failure.code == "DUPLICATE_REMOTE_RECORD"
    assert unknown == act.Skip("00Q5", counted=False)
    assert act.destructive_count([deleted, excluded, created, twin, unknown]) == 1


def test_push_page_triages_deletes_and_rules_before_any_lookup() -> None:
    """Deleted and excluded records are decided from the record alone: nothing to look up."""
    m = _mapping(FieldRule.TWO_WAY, sync_rule="title != 'Private'",
                 deletes={"from_hub": "delete_remote", "brake_floor": 100})
    gone = _person(BASE, deleted_at=T0)
    private = Person(id="h2", email="bob@acme.com", title="Private")
    new = Person(id="h3", email="cy@acme.com", title="New")
    planner = PushPlanner(m, SCHEMA, {m.name: m})
    links = {"h1": _link("linked")}
    decided = planner.triage([gone, private, new], links)  # type: ignore[arg-type]
    assert isinstance(decided["h1"], act.Delete)
    assert decided["h2"] == act.Skip("h2", hub=private)
    assert decided["h3"] is None  # live and unlinked: looked up, then planned
    wanted, keys = planner.lookups([new])
    assert [(w.hub_field, w.key) for w in wanted] == [("email", "cy@acme.com")]
    page = PushPage([gone, private, new], links, match_keys=keys)  # type: ignore[arg-type]
    planned = planner.plan_page(page, decided)
    created = planned[2]
    assert isinstance(created, act.Create)
    assert created.moves.to_remote == {
        "Email": "cy@acme.com", "Title": "New", "Syncline_Id__c": "h3"
    }
