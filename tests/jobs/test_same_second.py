"""Edits made in the same second as what the engine last read or wrote: never lost.

The in-memory CRM here stamps versions in whole seconds (``versions: seconds``), as Salesforce's
SystemModstamp does, and its clock (shared with the hub's) stands still: every change made
until a test moves it carries the same version, so each tie below is certain, not a race.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.memory.connector import MemoryConnector
from jobs.versions import version_settles
from tests.clock import Clock, frozen_clock
from tests.jobs.harness import Harness


@pytest.fixture
def stopped(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """One stopped clock behind the hub and the CRM."""
    return frozen_clock(monkeypatch)


@pytest.fixture
def h(engine: Engine, tmp_path: Path, stopped: Clock) -> Harness:
    harness = Harness(engine, tmp_path)
    harness.connector_config["crm"] = {"versions": "seconds"}
    harness.crm.clock = stopped
    return harness


def rep_edits_before_our_next_write(
    monkeypatch: pytest.MonkeyPatch, h: Harness, key: str, fields: Mapping[str, Any]
) -> None:
    """A sales rep's edit that lands after the next cycle's read and just before its write."""
    original = MemoryConnector.write

    def write(self: MemoryConnector, object_name: str, records: Any) -> Any:
        monkeypatch.setattr(MemoryConnector, "write", original)
        h.crm.update("Lead", key, dict(fields))
        return original(self, object_name, records)

    monkeypatch.setattr(MemoryConnector, "write", write)


def synced_manager(h: Harness) -> tuple[str, str]:
    """A hub person with a title, synced to a Lead this second: (hub id, Lead id)."""
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme", title="Manager")
    h.run()
    return ann, h.lead_by_email("ann@acme.com")["Id"]


def test_only_a_row_version_may_stand_for_the_values() -> None:
    assert version_settles(True, "41", "41")
    assert not version_settles(True, "41", "42")
    assert not version_settles(True, None, None)
    # A timestamp: the same version may hide an edit made in the same second.
    assert not version_settles(False, "2024-05-01T10:22:31Z", "2024-05-01T10:22:31Z")


def test_edits_in_the_second_already_read_reach_the_hub(h: Harness) -> None:
    keys = [
        h.crm.create("Lead", {"Email": f"rep{i}@acme.com", "LastName": f"Ng{i}", "Company": "Acme"})
        for i in range(3)
    ]
    assert h.run().created_hub == 3

    for i, key in enumerate(keys):  # the very second the cycle read them in
        h.crm.update("Lead", key, {"Title": f"Title {i}"})
    report = h.run()

    assert (report.updated_hub, report.updated_remote, report.failed) == (3, 0, 0)
    assert [p.title for p in h.people()] == ["Title 0", "Title 1", "Title 2"]
    assert h.run().writes == 0


def test_an_edit_in_the_second_of_our_write_reaches_the_hub(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    assert h.run().created_remote == 1
    link = h.link_of(ann)
    assert link is not None

    h.crm.update("Lead", link.remote_id, {"Title": "VP Sales"})  # right after our create
    report = h.run()

    assert (report.updated_hub, report.updated_remote, report.failed) == (1, 0, 0)
    assert h.person(ann).title == "VP Sales"
    assert h.run().writes == 0


def test_our_own_write_coming_back_in_its_second_changes_nothing(
    h: Harness, stopped: Clock
) -> None:
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    h.run()
    h.edit_person(ann, company="Acme Corp")
    assert h.run().updated_remote == 1
    link, seq = h.link_of(ann), h.person(ann).change_seq
    assert link is not None
    stopped.advance(minutes=1)  # our write keeps its stamp; the next cycle runs later

    report = h.run()  # the feed returns our write, with the very version the link holds

    assert (report.read, report.writes, report.failed) == (1, 0, 0)
    assert report.api_calls == 1, "one read; nothing pushed back"
    assert h.person(ann).change_seq == seq, "an echo must not touch the hub record"
    again = h.link_of(ann)
    # nor its link: the record page's "Last synced" still names the write
    assert again is not None and again.synced_at == link.synced_at


def test_a_same_second_edit_before_our_write_is_not_overwritten(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, key = synced_manager(h)

    h.edit_person(ann, title="Director (hub)")
    rep_edits_before_our_next_write(monkeypatch, h, key, {"Title": "Director (sales)"})
    report = h.run()

    assert report.failed == 1
    assert h.lead(key)["Title"] == "Director (sales)", "their edit was not overwritten"
    [error] = h.errors()
    assert (error.kind, error.code) == ("conflict", "PRECONDITION_FAILED")
    # The next cycle merges it: both changed in one second, and a tie goes to the remote.
    h.run()
    assert h.person(ann).title == h.lead(key)["Title"] == "Director (sales)"
    h.make_retries_due()
    assert h.run().writes == 0
    assert [e.status for e in h.errors()] == ["resolved"]


def test_a_same_second_edit_of_another_field_does_not_block_our_write(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, key = synced_manager(h)

    h.edit_person(ann, title="Director")
    rep_edits_before_our_next_write(monkeypatch, h, key, {"FirstName": "Annie"})
    report = h.run()

    assert (report.failed, report.updated_remote) == (0, 1)
    assert (h.lead(key)["Title"], h.lead(key)["FirstName"]) == ("Director", "Annie")
    h.run()
    assert h.person(ann).first_name == "Annie", "their edit comes in with the next read"
    assert h.errors() == []
