"""Salesforce edits made in the same second as our last read or write reach the hub, never lost.

SystemModstamp has whole seconds (the sandbox stamps them as Salesforce does), and the org keeps
the hub's clock: stopping it (tests.clock.frozen_clock) makes every change share one stamp, so
each tie below is certain rather than a race against the second hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from connectors.base import Connector
from connectors.salesforce.schema import parse_datetime
from tests.clock import frozen_clock
from tests.e2e.harness import SalesforceHub


def ann(sf: SalesforceHub, **values: Any) -> str:
    """A marketing-qualified hub person (the shipped lead mapping's sync_rule lets her out)."""
    fields: dict[str, Any] = {"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee",
                              "company": "Acme", "lead_source": "Webinar", "score": 70,
                              "aql": True}
    return sf.add_person(**{**fields, **values})


def synced_manager(sf: SalesforceHub) -> tuple[str, str]:
    """A hub person with a title, her Lead made and its echo read: (hub id, Lead id)."""
    person_id = ann(sf, title="Manager")
    sf.run()
    sf.run()  # the echo read: the link holds the Lead's SystemModstamp
    return person_id, sf.remote_ids(person_id)["Lead"]


def rep_edits_before_our_next_write(
    sf: SalesforceHub, lead_id: str, fields: Mapping[str, Any]
) -> None:
    """A sales rep saves the Lead after the next cycle read it and just before it writes."""

    def hook(connector: Connector) -> None:
        original = connector.write

        def write(object_name: str, records: Any) -> Any:
            connector.write = original  # type: ignore[method-assign]
            sf.update("Lead", lead_id, dict(fields))
            return original(object_name, records)

        connector.write = write  # type: ignore[method-assign]
        sf.on_connect = None

    sf.on_connect = hook  # type: ignore[assignment]


def test_edits_in_the_second_already_read_reach_the_hub(
    sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock(monkeypatch)
    ids = [sf.insert("Lead", {"LastName": f"Ng{i}", "Company": "Beta", "Email": f"bo{i}@beta.io"})
           for i in range(3)]
    assert sf.run().created_hub == 3

    # A workflow sets a field on each, in the second the cycle read them in.
    for i, lead_id in enumerate(ids):
        sf.update("Lead", lead_id, {"Title": f"Buyer {i}"})
    report = sf.run()

    assert (report.status, report.updated_hub, report.failed) == ("success", 3, 0)
    assert sorted(str(p.title) for p in sf.people()) == ["Buyer 0", "Buyer 1", "Buyer 2"]
    assert sf.run().writes == 0


def test_a_reps_edit_right_after_our_write_reaches_the_hub(
    sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock(monkeypatch)
    person_id = ann(sf)
    assert sf.run().created_remote == 1  # our create
    # Its echo (with the Status Salesforce filled in): the link now holds its SystemModstamp.
    assert sf.run().updated_remote == 0
    lead_id = sf.remote_ids(person_id)["Lead"]

    sf.update("Lead", lead_id, {"Title": "VP Marketing"})  # the rep, in that same second
    link = sf.link_of(person_id)
    assert link is not None and link.remote_version is not None
    stamp = sf.get("Lead", lead_id)["SystemModstamp"]
    assert parse_datetime(stamp) == parse_datetime(link.remote_version), "a tie"
    report = sf.run()

    assert (report.status, report.updated_hub, report.updated_remote) == ("success", 1, 0)
    assert sf.person(person_id).title == "VP Marketing"
    assert sf.run().writes == 0


def test_a_same_second_edit_before_our_write_is_not_overwritten(
    sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock(monkeypatch)
    person_id, lead_id = synced_manager(sf)

    sf.edit_person(person_id, title="Director (hub)")
    rep_edits_before_our_next_write(sf, lead_id, {"Title": "Director (sales)"})
    report = sf.run()

    assert (report.status, report.failed) == ("partial", 1)
    assert sf.get("Lead", lead_id)["Title"] == "Director (sales)", "their edit stands"
    [error] = sf.errors()
    assert (error.kind, error.code, error.field) == ("conflict", "PRECONDITION_FAILED", "Title")
    assert "'Director (sales)'" in error.message

    # The next cycle merges it: both sides changed in one second, and a tie goes to Salesforce.
    sf.run()
    assert sf.person(person_id).title == "Director (sales)"
    assert sf.get("Lead", lead_id)["Title"] == "Director (sales)"
    sf.make_retries_due()
    assert sf.run().writes == 0
    assert [e.status for e in sf.errors()] == ["resolved"]


def test_a_same_second_edit_of_another_field_lets_our_write_through(
    sf: SalesforceHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_clock(monkeypatch)
    person_id, lead_id = synced_manager(sf)

    sf.edit_person(person_id, title="Director")
    rep_edits_before_our_next_write(sf, lead_id, {"City": "Oakland"})
    report = sf.run()

    assert (report.failed, report.updated_remote) == (0, 1)
    lead = sf.get("Lead", lead_id)
    assert (lead["Title"], lead["City"]) == ("Director", "Oakland")
    sf.run()
    assert sf.person(person_id).city == "Oakland", "their edit comes in with the next read"
    assert sf.errors() == []
