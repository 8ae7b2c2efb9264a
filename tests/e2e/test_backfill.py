"""A field row added to (or changed in) a mapping reaches every linked record: the sandbox org.

Before backfills, such a row reached only the records that changed later (1 of 168 linked
Leads in the demo). Here the shipped lead mapping loses a row, records are linked, and the
row comes back: the next cycle sends (or reads) that field for every linked record, in one
Bulk job per 10,000 records, and the cycle after is idle again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from connectors.errors import ConnectorError, ErrorKind
from connectors.salesforce import SalesforceConnector
from core.models import ResyncRequest
from jobs.backfill import phases
from jobs.backfill.scope import Resync, request, resolve_fields
from tests.clock import Clock, frozen_clock
from tests.e2e.harness import SalesforceHub

LEADS = 24
DECOY = "decoy@elsewhere.com"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return frozen_clock(monkeypatch)


def _settle(sf: SalesforceHub, clock: Clock) -> None:
    """Move the pull's cursor past the linked records, as time does between real cycles.

    Records stamped in the second the cursor stands on are read again by every cycle (the
    cursor is inclusive): a later edit elsewhere moves it on, so they are not.
    """
    clock.advance(seconds=10)
    sf.insert("Lead", {"LastName": "Decoy", "Company": "Elsewhere", "Email": DECOY})
    sf.run()
    clock.advance(seconds=10)


def _leads(sf: SalesforceHub) -> list[dict[str, Any]]:
    return [lead for lead in sf.leads() if lead.get("Email") != DECOY]


def _without(sf: SalesforceHub, *hub_fields: str) -> list[dict[str, Any]]:
    """Take rows out of the copied lead mapping; the rows taken, to put back later."""
    taken: list[dict[str, Any]] = []

    def change(data: dict[str, Any]) -> None:
        taken.extend(r for r in data["fields"] if r.get("hub") in hub_fields)
        data["fields"] = [r for r in data["fields"] if r.get("hub") not in hub_fields]

    sf.edit_mapping("salesforce-lead", change)
    return taken


def _put_back(sf: SalesforceHub, rows: list[dict[str, Any]]) -> None:
    sf.edit_mapping("salesforce-lead", lambda data: data["fields"].extend(rows))


def _bulk_threshold(sf: SalesforceHub, records: int) -> None:
    """Make Bulk API 2.0 take writes from ``records`` records (the default is 2,000)."""

    def lower(connector: SalesforceConnector) -> None:
        connector.bulk_threshold = records

    sf.on_connect = lower


def _ingest_jobs(sf: SalesforceHub) -> int:
    bulk = sf.sandbox.state.bulk
    assert bulk is not None
    return len(bulk.list("ingest"))


def _link_people(sf: SalesforceHub) -> dict[str, int]:
    """Marketing-qualified people, each made a Lead by one cycle: hub id → score."""
    scores = {}
    for n in range(LEADS):
        person_id = sf.add_person(email=f"p{n}@acme.com", first_name="P", last_name=f"N{n}",
                                  company="Acme", score=50 + n, aql=True)
        scores[person_id] = 50 + n
    first = sf.run()
    assert first.created_remote == LEADS, first
    return scores


def test_a_field_row_added_after_linking_reaches_every_linked_lead_in_one_bulk_job(
    sf: SalesforceHub, clock: Clock,
) -> None:
    score_row = _without(sf, "score")
    scores = _link_people(sf)
    _settle(sf, clock)
    assert all(lead.get("Score__c") is None for lead in sf.leads()), "no score row yet"
    _bulk_threshold(sf, 10)
    jobs_before = _ingest_jobs(sf)

    _put_back(sf, score_row)
    report = sf.run()

    assert report.status == "success", report.message
    by_hub = {lead["Syncline_Id__c"]: lead for lead in sf.leads()}
    assert {hub: by_hub[hub]["Score__c"] for hub in scores} == scores, "every linked Lead"
    assert report.updated_remote == LEADS
    assert _ingest_jobs(sf) - jobs_before == 1, "one Bulk job for all of them (⌈N/10,000⌉)"
    assert report.api_calls <= 10, "a read, a describe and one Bulk job: not a call a Lead"
    # The decoy's person is linked too; it has no score, so nothing went to it.
    assert report.backfill == [f"backfill: {LEADS + 1} records × fields [Score__c] done"]

    idle = sf.run()
    assert (idle.writes, idle.api_calls, idle.backfill) == (0, 1, []), "done once, then idle"
    assert _ingest_jobs(sf) - jobs_before == 1


def test_a_changed_value_map_is_sent_to_every_linked_lead(
    sf: SalesforceHub, clock: Clock,
) -> None:
    for n in range(3):
        sf.add_person(email=f"w{n}@acme.com", last_name="W", company="Acme", score=70, aql=True,
                      lead_source="Organic Search")
    sf.run()
    _settle(sf, clock)
    assert {lead["LeadSource"] for lead in _leads(sf)} == {"Web"}

    def remap(data: dict[str, Any]) -> None:
        sf.field_row(data, "lead_source")["value_map"]["Organic Search"] = "Other"

    sf.edit_mapping("salesforce-lead", remap)
    report = sf.run()

    assert {lead["LeadSource"] for lead in _leads(sf)} == {"Other"}
    assert report.updated_remote == 3


def test_a_two_way_row_added_pulls_where_the_hub_is_blank_and_sends_where_the_crm_is(
    sf: SalesforceHub, clock: Clock,
) -> None:
    city_row = _without(sf, "city")
    with_city = sf.add_person(email="hub@acme.com", last_name="H", company="Acme", score=70,
                              aql=True, city="Leeds")
    without_city = sf.add_person(email="crm@acme.com", last_name="C", company="Acme", score=70,
                                 aql=True)
    sf.run()
    crm_lead = sf.lead_by_email("crm@acme.com")
    sf.update("Lead", crm_lead["Id"], {"City": "Oakland"})
    sf.run()
    _settle(sf, clock)
    assert sf.person(without_city).city is None, "no city row: nothing came in"
    assert not sf.lead_by_email("hub@acme.com").get("City")

    _put_back(sf, city_row)
    report = sf.run()

    assert report.status == "success", report.message
    assert sf.person(without_city).city == "Oakland", "pulled where the hub had none"
    assert sf.lead_by_email("hub@acme.com")["City"] == "Leeds", "sent where the CRM had none"
    assert sf.person(with_city).city == "Leeds"
    assert sf.run().writes == 0


def test_the_first_cycle_of_a_mapping_never_seen_backfills_nothing(sf: SalesforceHub) -> None:
    sf.add_person(email="a@acme.com", last_name="A", company="Acme", score=70, aql=True)

    report = sf.run()

    assert (report.created_remote, report.updated_remote, report.backfill) == (1, 0, [])
    again = sf.run()
    assert (again.updated_remote, again.backfill) == (0, [])


def _drift(sf: SalesforceHub, person_id: str, *, score: int, title: str, at: Any) -> None:
    """Change a hub row behind the engine's back (a database restore, a script): no change_seq."""
    with sf.engine.begin() as connection:
        connection.execute(
            text("UPDATE person SET score = :score, title = :title, updated_at = :at "
                 "WHERE id = :id"),
            {"score": score, "title": title, "at": at, "id": person_id},
        )


def test_a_resync_of_some_fields_since_a_date_repairs_only_those(
    sf: SalesforceHub, clock: Clock,
) -> None:
    ids = [sf.add_person(email=f"r{n}@acme.com", last_name="R", company="Acme", score=60, aql=True,
                         title="Analyst") for n in range(4)]
    sf.run()
    _settle(sf, clock)
    recent, old = ids[:2], ids[2:]
    for person_id in recent:
        _drift(sf, person_id, score=90, title="Boss", at=clock.now - timedelta(hours=1))
    for person_id in old:
        _drift(sf, person_id, score=90, title="Boss", at=clock.now - timedelta(days=3))
    assert sf.run().writes == 0, "nothing the engine could have seen"
    mapping = sf.mappings["salesforce-lead"]
    resync = Resync(resolve_fields(mapping, ["score"]), since=clock.now - timedelta(days=1))
    with Session(sf.engine) as session:
        request(session, mapping, resync, by="ops@example.com", now=clock.now)
        session.commit()

    report = sf.run()

    leads = {lead["Syncline_Id__c"]: lead for lead in sf.leads()}
    assert [leads[i]["Score__c"] for i in ids] == [90, 90, 60, 60], "since: only recent ones"
    assert {leads[i]["Title"] for i in ids} == {"Analyst"}, "--fields score: no Title"
    # Three records changed within the day: the two people and the decoy's (it has no score).
    assert report.backfill == ["backfill: 3 records × fields [Score__c] done"]
    with Session(sf.engine) as session:
        [done] = session.exec(select(ResyncRequest)).all()
    assert (done.requested_by, done.run_id) == ("ops@example.com", report.run_id)
    assert done.done_at is not None
    assert sf.run().backfill == [], "a request is done once"


def test_a_dry_run_shows_the_backfill_and_its_cost_and_does_nothing(
    sf: SalesforceHub, clock: Clock,
) -> None:
    score_row = _without(sf, "score")
    _link_people(sf)
    _settle(sf, clock)
    _put_back(sf, score_row)

    plan = sf.run(dry_run=True)

    # 25 linked people (the decoy too): one Collections call (Bulk jobs start at 2,000).
    assert plan.backfill == [
        f"backfill: {LEADS + 1} records × fields [Score__c] ≈ 1 API calls — "
        "field rows changed: Score__c"
    ]
    assert all(lead.get("Score__c") is None for lead in sf.leads()), "nothing written"
    assert sf.run().backfill == [f"backfill: {LEADS + 1} records × fields [Score__c] done"]


def test_a_backfill_stopped_half_way_is_done_again_by_the_next_cycle(
    sf: SalesforceHub, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    score_row = _without(sf, "score")
    scores = _link_people(sf)
    _settle(sf, clock)
    monkeypatch.setattr(phases, "PAGE", 10)  # three pages of ten linked records
    writes: list[int] = []

    def second_write_fails(connector: SalesforceConnector) -> None:
        real = connector.write

        def write(object_name: str, records: Any) -> Any:
            writes.append(len(records))
            if len(writes) == 2:
                raise ConnectorError(ErrorKind.TRANSIENT, "Service Unavailable",
                                     code="SERVER_UNAVAILABLE")
            return real(object_name, records)

        connector.write = write  # type: ignore[method-assign]

    sf.on_connect = second_write_fails
    _put_back(sf, score_row)

    broken = sf.run()

    assert broken.status == "failed" and broken.backfill == []
    sent = [lead for lead in _leads(sf) if lead.get("Score__c") is not None]
    assert len(sent) == 10, "the first page went out before Salesforce failed"
    sf.on_connect = None

    again = sf.run()

    assert again.backfill == [f"backfill: {LEADS + 1} records × fields [Score__c] done"]
    assert again.updated_remote == LEADS - 10, "the rest, not the page done already"
    by_hub = {lead["Syncline_Id__c"]: lead for lead in sf.leads()}
    assert {hub: by_hub[hub]["Score__c"] for hub in scores} == scores
    assert sf.run().backfill == []
