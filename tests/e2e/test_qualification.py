"""A touch arrives, the score crosses the line, the person is an MQL, and the Lead shows it.

The shipped scoring and lifecycle files run as the scheduler runs them: as hub steps between
a cycle's pulls and its pushes, with the shipped salesforce-lead mapping and the sandbox org.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from core.clock import utcnow
from core.db import session
from core.models import LifecycleHistory, Person
from jobs.engine import run_all
from lifecycle.loader import load_lifecycle
from scoring.loader import load_scoring
from tests.e2e.harness import SalesforceHub
from touches.record import TouchInput, record_touch
from touches.types import Origin

LEAD = ("salesforce-lead",)


def _cycle(sf: SalesforceHub) -> None:
    reports = run_all(sf.ctx, list(LEAD))
    assert all(r.status == "success" for r in reports), [(r.status, r.message) for r in reports]


def _touch(sf: SalesforceHub, person_id: str, kind: str, days_ago: int, page: str) -> None:
    with session(sf.engine) as db:
        record_touch(db, TouchInput(person_id=person_id, touch_type=kind, origin=Origin.IMPORT,
                                    occurred_at=utcnow() - timedelta(days=days_ago),
                                    channel="Web", landing_page=page))


def _stages(sf: SalesforceHub, person_id: str) -> list[tuple[str | None, str]]:
    with Session(sf.engine) as db:
        return [(h.from_stage, h.to_stage) for h in db.exec(
            select(LifecycleHistory).where(LifecycleHistory.person_id == person_id)
            .order_by(LifecycleHistory.id))]


def test_a_touch_makes_an_mql_and_the_lead_status_follows_then_sales_accepts(
    sf: SalesforceHub,
) -> None:
    sf.ctx.scoring = load_scoring(sf.folder / "scoring.yaml", hub_schema=sf.ctx.schema)
    sf.ctx.lifecycle = load_lifecycle(sf.folder / "lifecycle.yaml", hub_schema=sf.ctx.schema)
    # A rep's lead: a decision maker in a target country, nothing done yet.
    lead_id = sf.insert("Lead", {"FirstName": "Ann", "LastName": "Lee", "Company": "Acme",
                                 "Email": "ann@acme.com", "Phone": "+14155550100",
                                 "Title": "VP Marketing", "Country": "United States"})
    _cycle(sf)
    [person] = sf.people()
    assert person.lifecycle_stage == "Known"
    assert (person.attributes["fit_score"], person.attributes["behavior_score"]) == (30, 0)
    assert person.attributes["lead_status"] == "Open"
    assert sf.get("Lead", lead_id)["Status"] == "Open - Not Contacted"

    # Some engagement, not enough: Engaged, and the Lead is left alone.
    _touch(sf, person.id, "form_fill", 0, "/demo-request")
    _cycle(sf)
    person = sf.person(person.id)
    assert (person.lifecycle_stage, person.score) == ("Engaged", 45)
    assert sf.get("Lead", lead_id)["Status"] == "Open - Not Contacted"

    # Pricing page twice and another demo request: the score crosses 60.
    _touch(sf, person.id, "web_visit", 2, "/pricing")
    _touch(sf, person.id, "web_visit", 1, "/pricing")
    _touch(sf, person.id, "form_fill", 1, "/demo-request")
    _cycle(sf)
    person = sf.person(person.id)
    assert person.lifecycle_stage == "MQL" and person.score is not None and person.score >= 60
    assert _stages(sf, person.id) == [(None, "Known"), ("Known", "Engaged"), ("Engaged", "MQL")]
    lead = sf.get("Lead", lead_id)
    assert (lead["Status"], lead["Score__c"]) == ("Marketing Qualified", person.score)

    # Sales accepts it in Salesforce: the hub reads the status and the person is SAL.
    sf.update("Lead", lead_id, {"Status": "Working - Contacted"})
    _cycle(sf)
    person = sf.person(person.id)
    assert (person.lifecycle_stage, person.attributes["lead_status"]) == ("SAL", "Working")
    assert sf.get("Lead", lead_id)["Status"] == "Working - Contacted", "sales's value stays"

    # Nothing left to do: no write either way.
    idle = run_all(sf.ctx, list(LEAD))
    assert sum(r.writes for r in idle) == 0
    with Session(sf.engine) as db:
        assert len(db.exec(select(Person)).all()) == 1
