"""Leads deleted for good in Salesforce (Recycle Bin emptied, Bulk hardDelete) meet the policy.

``queryAll`` never shows such a record again: the shipped lead mapping's cycles find it in
``sobjects/Lead/deleted/`` (at most every 10 minutes, on a cursor of their own) and unlink or
delete the hub person as the mapping says, through the brake and the dry-run plan; a mapping
that ignores remote deletes asks nothing. Everything here runs on one clock the test moves:
the hub's, the connector's ``now`` and the org's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

import core.clock
from jobs.hard_deletes import CURSOR
from tests.e2e.harness import SalesforceHub
from tests.sandboxes.salesforce.test_bulk import Bulk

LEADS = "salesforce-lead"


class Shifted:
    """Real time plus an offset the test moves: stamps still differ, minutes pass on demand."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch) -> Shifted:
    shifted = Shifted()
    monkeypatch.setattr(core.clock, "clock", shifted)
    sf.sandbox.org._clock = shifted  # the org is fresh per test (the sandbox fixture resets it)
    return shifted


def qualified(sf: SalesforceHub, n: int) -> list[str]:
    """People the shipped lead mapping lets out, pushed as Leads and linked by one cycle."""
    people = [sf.add_person(email=f"p{i}@acme.com", first_name=f"P{i}", last_name="Lee",
                            company="Acme", score=70, aql=True) for i in range(n)]
    assert sf.run().created_remote == n
    return people


def policy(sf: SalesforceHub, from_remote: str, **brake: Any) -> None:
    sf.edit_mapping(LEADS, lambda data: data["deletes"].update(from_remote=from_remote, **brake))


def rep_purges(sf: SalesforceHub, lead_id: str) -> None:
    """A rep deletes the Lead, then an admin empties it from the Recycle Bin."""
    base = f"{sf.sandbox.url}/__sandbox__"
    assert requests.delete(f"{base}/records/Lead/{lead_id}").status_code == 204
    emptied = requests.post(f"{base}/recycle-bin/empty", json={"ids": [lead_id]})
    assert emptied.json() == {"purged": [lead_id]}


@pytest.mark.parametrize(("from_remote", "people_after", "deleted"),
                         [("unlink", 1, 0), ("delete_hub", 0, 1)])
def test_a_lead_emptied_from_the_recycle_bin_meets_the_mappings_policy(
    sf: SalesforceHub, clock: Shifted, from_remote: str, people_after: int, deleted: int
) -> None:
    policy(sf, from_remote)
    [person] = qualified(sf, 1)
    lead_id = sf.remote_ids(person)["Lead"]
    rep_purges(sf, lead_id)
    feed_only = sf.run()
    assert sf.remote_ids(person) == {"Lead": lead_id}, "queryAll never shows it again"
    assert feed_only.api_calls == 1

    clock.advance(minutes=11)
    report = sf.run()

    assert sf.remote_ids(person) == {}
    assert len(sf.people()) == people_after
    assert (report.status, report.deleted, report.read) == ("success", deleted, 1)
    assert sf.leads() == [], "an unlinked person is not pushed again as a new Lead"
    clock.advance(minutes=11)
    quiet = sf.run()
    assert (quiet.writes, quiet.deleted, quiet.api_calls) == (0, 0, 2), "read and poll"


def test_a_mapping_that_ignores_remote_deletes_asks_nothing(
    sf: SalesforceHub, clock: Shifted
) -> None:
    policy(sf, "ignore")
    [person] = qualified(sf, 1)
    lead_id = sf.remote_ids(person)["Lead"]
    rep_purges(sf, lead_id)
    clock.advance(minutes=11)

    ignored = sf.run()

    assert ignored.api_calls == 1, "one read: no poll of deleted records"
    assert sf.remote_ids(person) == {"Lead": lead_id} and sf.cursor(LEADS, CURSOR) == "no row"
    policy(sf, "unlink")
    sf.run()
    clock.advance(minutes=11)
    sf.run()
    assert sf.remote_ids(person) == {}, "once the policy cares, the purged Lead is found"


def test_the_dry_run_shows_the_unlink_and_does_nothing(sf: SalesforceHub, clock: Shifted) -> None:
    [person] = qualified(sf, 1)
    lead_id = sf.remote_ids(person)["Lead"]
    rep_purges(sf, lead_id)
    clock.advance(minutes=11)
    cursor = sf.cursor(LEADS, CURSOR)

    plan = sf.run(dry_run=True)

    assert [(a.direction, a.action, a.hub_id, a.remote_id) for a in plan.planned] == [
        ("to_hub", "unlink", person, lead_id)]
    assert sf.remote_ids(person) == {"Lead": lead_id} and sf.cursor(LEADS, CURSOR) == cursor
    sf.run()
    assert sf.remote_ids(person) == {}


def test_the_brake_stops_a_mass_bulk_hard_delete(sf: SalesforceHub, clock: Shifted) -> None:
    policy(sf, "delete_hub", max_fraction=0.05, brake_floor=2)
    people = qualified(sf, 6)
    ids = [sf.remote_ids(person)["Lead"] for person in people[:4]]
    _, job = Bulk(sf.sandbox).run_ingest("Id\n" + "\n".join(ids) + "\n",
                                         object="Lead", operation="hardDelete")
    assert (job["state"], job["numberRecordsProcessed"]) == ("JobComplete", 4)
    clock.advance(minutes=11)

    braked = sf.run()

    assert braked.status == "braked" and "4 of 6" in (braked.message or "")
    assert len(sf.people()) == 6 and len(sf.links()) == 6
    [error] = sf.errors("open")
    assert (error.level, error.code) == ("job", "MASS_CHANGE_BRAKE")
    released = sf.run(allow_mass_change=True)
    assert (released.status, released.deleted) == ("success", 4)
    assert sorted(p.id for p in sf.people()) == sorted(people[4:])


def test_a_cursor_older_than_salesforce_keeps_is_a_warning_kept_until_seen(
    sf: SalesforceHub, clock: Shifted
) -> None:
    [ann, bo] = qualified(sf, 2)
    clock.advance(minutes=11)
    assert sf.run().status == "success"  # the first poll: the cursor is now
    clock.advance(days=31)  # no cycle ran for longer than Salesforce lists deletes
    rep_purges(sf, sf.remote_ids(bo)["Lead"])
    clock.advance(minutes=3)

    report = sf.run()

    assert report.status == "success", "a warning, not a failed cycle"
    assert sf.remote_ids(bo) == {} and sf.remote_ids(ann) != {}, "the window's deletes apply"
    [warning] = sf.errors("open")
    assert (warning.level, warning.code, warning.kind) == ("job", "HARD_DELETE_GAP", "not_found")
    assert "no longer lists the Lead records deleted from" in warning.message
    assert "fails with NOT_FOUND" in (warning.hint or "")
    clock.advance(minutes=11)
    assert sf.run().status == "success"
    assert [e.code for e in sf.errors("open")] == ["HARD_DELETE_GAP"], "kept until seen"
