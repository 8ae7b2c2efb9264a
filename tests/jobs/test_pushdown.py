"""A pull cycle sends its mapping's pull_rule with the read (memory CRM, both databases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from jobs import pushdown
from tests.jobs.harness import Harness, mapping

RULE = "LeadSource != 'Partner Referral'"


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path, mapping(pull_rule=RULE))


def lead(h: Harness, email: str, source: str = "Web") -> str:
    return h.crm.create("Lead", {"Email": email, "LastName": "Lee", "Company": "Acme",
                                 "LeadSource": source})


def test_records_the_rule_keeps_out_are_not_read(h: Harness) -> None:
    lead(h, "ann@acme.com")
    lead(h, "pat@partner.example", "Partner Referral")

    report = h.run()

    assert (report.read, report.created_hub) == (1, 1)
    assert [p.email for p in h.people()] == ["ann@acme.com"]


def test_many_open_pull_errors_make_the_cycle_read_everything_as_before(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead(h, "ann@acme.com")
    lead(h, " ann@acme.com")  # the same person twice over there: an open error
    lead(h, "pat@partner.example", "Partner Referral")
    h.run()
    assert [e.code for e in h.errors("open")] == ["DUPLICATE_REMOTE_RECORD"]
    monkeypatch.setattr(pushdown, "ALWAYS_READ_LIMIT", 0)
    lead(h, "pia@partner.example", "Partner Referral")

    report = h.run(dry_run=True)

    assert report.pushdown == [
        "pull_rule not pushed to crm this cycle: 1 record(s) with open errors must be read "
        "whatever the rule (more than 0); the rule is checked here"
    ]
    monkeypatch.setattr(pushdown, "ALWAYS_READ_LIMIT", 200)
    pushed = h.run(dry_run=True)
    assert report.read - pushed.read == 2, "the two partner leads came over, as before pushdown"
    lines = pushed.pushdown
    assert lines[0] == (
        "pull_rule pushed to crm: WHERE LeadSource != 'Partner Referral' OR LeadSource = null"
    )
    assert lines[-1] == "also read whatever the rule: 1 record(s) with open errors"


def test_a_rule_no_query_can_say_is_read_whole_and_the_dry_run_says_why(
    engine: Engine, tmp_path: Path
) -> None:
    h = Harness(engine, tmp_path, mapping(pull_rule="Company != 'Competitor'"))
    lead(h, "ann@acme.com")
    h.crm.create("Lead", {"Email": "spy@rival.com", "LastName": "Spy", "Company": "competitor"})

    report = h.run(dry_run=True)

    assert report.pushdown == [
        "pull_rule not pushed to crm: no part of it can be said in the remote's query without "
        "leaving out records the rule keeps (text there compares ignoring case); it is checked "
        "here on every record read"
    ]
    assert report.read == 2 and report.created_hub == 2, "'competitor' is not 'Competitor'"
