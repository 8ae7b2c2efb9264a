"""Hard deletes through the engine, on the in-memory CRM: records purged past its recycle bin.

The feed never shows them; the cycle's own poll (every 10 minutes at most, its own cursor)
applies the mapping's delete policy through the pull phase: policies, the brake, the dry-run
plan, and no extra call where the policy is ``ignore``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from jobs.hard_deletes import CURSOR
from tests.clock import Clock, frozen_clock
from tests.jobs.harness import Harness, mapping


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


def linked_people(h: Harness, n: int) -> list[str]:
    """People created in the hub, pushed out as Leads and linked by a first cycle."""
    people = [h.add_person(email=f"p{i}@acme.com", last_name=f"P{i}") for i in range(n)]
    assert h.run().created_remote == n
    return people


@pytest.mark.parametrize(("policy", "people_after", "deleted"),
                         [("unlink", 1, 0), ("delete_hub", 0, 1)])
def test_a_record_purged_in_the_crm_meets_the_delete_policy_at_the_next_poll(
    h: Harness, clock: Clock, policy: str, people_after: int, deleted: int
) -> None:
    h.set_mappings(mapping(deletes={"from_remote": policy, "brake_floor": 10}))
    [ann] = linked_people(h, 1)
    key = h.link_of(ann).remote_id
    h.crm.hard_delete("Lead", key)

    clock.advance(minutes=5)
    early = h.run()
    assert h.link_of(ann) is not None, "the feed never shows it; the poll is not due yet"
    assert early.api_calls == 1

    clock.advance(minutes=6)
    report = h.run()

    assert h.link_of(ann) is None
    assert len(h.people()) == people_after
    assert (report.status, report.deleted, report.read) == ("success", deleted, 1)
    assert report.api_calls == 3, "read, poll, and a look at the linked one"
    clock.advance(minutes=11)
    again = h.run()
    assert (again.writes, again.deleted, again.api_calls) == (0, 0, 2), "read and poll only"
    assert len(h.people()) == people_after


def test_with_ignore_nothing_is_asked_and_the_link_stays(h: Harness, clock: Clock) -> None:
    h.set_mappings(mapping(deletes={"from_remote": "ignore", "brake_floor": 10}))
    [ann] = linked_people(h, 1)
    h.crm.hard_delete("Lead", h.link_of(ann).remote_id)
    clock.advance(minutes=11)

    ignored = h.run()

    assert ignored.api_calls == 1, "no extra call: the policy does not care"
    assert h.link_of(ann) is not None and h.cursor("crm-person", CURSOR) == "no row"
    h.set_mappings(mapping(deletes={"from_remote": "unlink", "brake_floor": 10}))
    h.run()  # starts the hard-delete clock
    clock.advance(minutes=11)
    h.run()
    assert h.link_of(ann) is None, "once the policy cares, the purge is found"


def test_the_dry_run_lists_the_delete_and_changes_nothing(h: Harness, clock: Clock) -> None:
    h.set_mappings(mapping(deletes={"from_remote": "delete_hub", "brake_floor": 10}))
    [ann] = linked_people(h, 1)
    key = h.link_of(ann).remote_id
    h.crm.hard_delete("Lead", key)
    clock.advance(minutes=11)
    cursor = h.cursor("crm-person", CURSOR)

    plan = h.run(dry_run=True)

    assert [(a.direction, a.action, a.hub_id, a.remote_id) for a in plan.planned] == [
        ("to_hub", "delete_hub", ann, key)]
    assert plan.deleted == 1
    assert h.link_of(ann) is not None and len(h.people()) == 1
    assert h.cursor("crm-person", CURSOR) == cursor, "a dry run stores no cursor"
    assert h.run().deleted == 1


def test_the_brake_stops_a_mass_hard_delete(h: Harness, clock: Clock) -> None:
    h.set_mappings(mapping(deletes={"from_remote": "delete_hub", "max_fraction": 0.1,
                                    "brake_floor": 0}))
    linked_people(h, 20)
    for link in h.links()[:10]:
        h.crm.hard_delete("Lead", link.remote_id)
    clock.advance(minutes=11)
    cursor = h.cursor("crm-person", CURSOR)

    report = h.run()

    assert report.status == "braked" and "10 of 20" in (report.message or "")
    assert len(h.people()) == 20 and len(h.links()) == 20, "nothing past the brake is applied"
    assert h.cursor("crm-person", CURSOR) == cursor, "kept: the next cycle finds them again"
    assert h.run().status == "braked", "asked again at once: nothing was decided yet"
    released = h.run(allow_mass_change=True)
    assert (released.status, released.deleted) == ("success", 10)
    assert len(h.people()) == 10 and len(h.links()) == 10


def test_a_record_listed_but_live_again_keeps_its_link(
    h: Harness, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    [ann, bo] = linked_people(h, 2)
    restored, gone = h.link_of(ann).remote_id, h.link_of(bo).remote_id
    h.crm.hard_delete("Lead", gone)
    listed = h.crm.purged

    def with_restored(object_name: str, since: int) -> tuple[list[str], int]:
        keys, last = listed(object_name, since)
        return [restored, *keys], last  # deleted once, then restored from the bin

    monkeypatch.setattr(h.crm, "purged", with_restored)
    clock.advance(minutes=11)
    h.run()

    assert h.link_of(ann) is not None and h.link_of(bo) is None
