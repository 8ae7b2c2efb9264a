"""The shipped forms mapping on stored submissions: people, form_fill touches, memberships.

Submissions are stored as the route stores them, then the mapping runs as the scheduler (or
the web process's worker) runs it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.config import Connections
from core.hubschema import HubSchema
from core.models import Campaign, CampaignMember, Person, SyncError, Touch
from jobs.engine import SyncContext, run_mapping
from jobs.triage import ErrorFilter, retry
from mappings.loader import load_mappings
from tests.inbound.forms import SOURCE, source_settings, submit
from touches.programs import load_programs

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
SUBMITTED = "2026-12-01T10:15:30Z"


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path) -> SyncContext:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name in ("hub.yaml", "programs.yaml", "forms-website.yaml"):
        shutil.copyfile(SHIPPED / name, folder / name)
    connections = Connections.from_dict({SOURCE: {**source_settings(), "engine": engine}})
    schema = HubSchema.load(folder / "hub.yaml")
    mappings = load_mappings(folder, hub_schema=schema,
                             connections={SOURCE: connections.get(SOURCE)})
    return SyncContext(engine, mappings, schema, connections.build,
                       programs=load_programs(folder / "programs.yaml"))


def form(**fields: Any) -> dict[str, Any]:
    return {"email": "Ann@Example.com", "first_name": "Ann", "last_name": "Archer",
            "company": "Acme", "form_id": "pricing-demo", "submitted_at": SUBMITTED,
            "page_url": "https://www.example.com/pricing",
            "utm": {"source": "LinkedIn", "medium": "paid_social", "campaign": "q4-pricing"},
            **fields}


def _touches(engine: Engine) -> list[Touch]:
    with Session(engine) as db:
        query = select(Touch).where(col(Touch.deleted_at).is_(None)).order_by(Touch.occurred_at)
        return list(db.exec(query))


def _open_errors(engine: Engine) -> list[SyncError]:
    with Session(engine) as db:
        return list(db.exec(select(SyncError).where(SyncError.status != "resolved")))


def test_a_form_fill_is_a_person_a_touch_and_a_membership(
    ctx: SyncContext, engine: Engine
) -> None:
    with Session(engine, expire_on_commit=False) as db:
        demo = Campaign(name="Website Demo Requests", type="Web Form")
        db.add(demo)
        db.commit()
    submit(engine, form(), event_id="msg_1")
    report = run_mapping(ctx, "forms-website")
    assert report.status == "success", [e.message for e in _open_errors(engine)]
    with Session(engine) as db:
        ann = db.exec(select(Person).where(Person.email == "ann@example.com")).one()
        assert (ann.first_name, ann.company) == ("Ann", "Acme")
        member = db.exec(select(CampaignMember)).one()
    (touch,) = _touches(engine)
    assert (touch.person_id, touch.touch_type, touch.campaign_id) == (ann.id, "form_fill",
                                                                       demo.id)
    assert touch.occurred_at.replace(tzinfo=UTC) == datetime(2026, 12, 1, 10, 15, 30,
                                                             tzinfo=UTC)
    assert (touch.source, touch.medium, touch.utm_campaign) == ("linkedin", "paid_social",
                                                               "q4-pricing")
    assert touch.landing_page == "https://www.example.com/pricing"
    assert touch.detail == {"form": "pricing-demo"}
    assert (member.person_id, member.campaign_id, member.status) == (ann.id, demo.id,
                                                                      "filled_out")

    # She comes back a week later with another form: news about her, not a duplicate.
    submit(engine, form(form_id="contact-us", submitted_at="2026-12-08T09:00:00Z",
                        first_name="Annie", utm={}), event_id="msg_2")
    report = run_mapping(ctx, "forms-website")
    assert report.status == "success", [e.message for e in _open_errors(engine)]
    with Session(engine) as db:
        assert len(db.exec(select(Person)).all()) == 1
        assert db.get(Person, ann.id).first_name == "Ann"  # what she typed fills blanks only
    assert [t.detail.get("form") for t in _touches(engine)] == ["pricing-demo", "contact-us"]


def test_one_page_with_two_submissions_of_one_new_person(ctx: SyncContext, engine: Engine) -> None:
    submit(engine, form(email="bo@beta.example", form_id="x"), event_id="a")
    submit(engine, form(email="BO@beta.example", form_id="y", submitted_at="2026-12-02T08:00:00Z"),
           event_id="b")
    assert run_mapping(ctx, "forms-website").status == "success"
    with Session(engine) as db:
        assert [p.email for p in db.exec(select(Person))] == ["bo@beta.example"]
    assert len(_touches(engine)) == 2


def test_a_submission_without_email_is_an_error_holding_it(
    ctx: SyncContext, engine: Engine
) -> None:
    key = submit(engine, form(email=""), event_id="nameless")
    report = run_mapping(ctx, "forms-website")
    assert report.failed == 1
    (error,) = _open_errors(engine)
    assert error.code == "MISSING_MATCH_KEY" and error.remote_id == str(key)
    assert "has no email" in error.message
    assert error.payload["first_name"] == "Ann" and error.payload["utm.source"] == "LinkedIn"
    with Session(engine) as db:
        assert db.exec(select(Person)).all() == []


def test_an_unknown_campaign_waits_for_its_replay(ctx: SyncContext, engine: Engine) -> None:
    submit(engine, form(form_id="webinar-signup", campaign="Spring Launch Webinar"),
           event_id="spring")
    run_mapping(ctx, "forms-website")
    (error,) = _open_errors(engine)
    assert error.code == "CAMPAIGN_UNKNOWN" and "'Spring Launch Webinar'" in error.message
    assert _touches(engine) == []
    with Session(engine) as db:
        db.add(Campaign(name="Spring Launch Webinar", type="Webinar"))
        db.commit()
    assert retry(engine, ErrorFilter(ids=[error.id]), "admin@example.com") == 1
    assert run_mapping(ctx, "forms-website").status == "success"
    assert _open_errors(engine) == []
    (touch,) = _touches(engine)
    with Session(engine) as db:
        member = db.exec(select(CampaignMember)).one()
    # A webinar's sign-up: registered (status_by_channel), not just filled out.
    assert member.status == "registered" and touch.campaign_id == member.campaign_id


def test_a_webinar_sign_up_form_registers(ctx: SyncContext, engine: Engine) -> None:
    """The membership of a Webinar campaign is Registered (what the Zoom mapping sends on)."""
    with Session(engine) as db:
        db.add(Campaign(name="Scoring in the Open", type="Webinar"))
        db.commit()
    submit(engine, form(form_id="webinar-signup", campaign="scoring in the  open"),
           event_id="signup")
    assert run_mapping(ctx, "forms-website").status == "success"
    with Session(engine) as db:
        member = db.exec(select(CampaignMember)).one()
    assert (member.status, member.responded) == ("registered", False)
    (touch,) = _touches(engine)
    assert touch.touch_type == "form_fill" and touch.campaign_id == member.campaign_id
